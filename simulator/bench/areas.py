"""``leosim bench areas``: one multi-area scenario serially and on 1- and 2-worker LocalClusters.

The first ``--areas`` areas of ``--scenario`` (default ``scenarios/latitudes.toml``), shortened to
``--duration-s`` of simulated time, run through :func:`~simulator.areas.execute.run_areas` into
temporary run directories, in this order:

- ``serial``: in this process as ``leosim run --workers 0`` runs them (rates in a worker process on
  a machine with two or more cores, two decision threads): the default serial run, ~1.2 cores busy;
- ``serial, 1 core``: in a fresh process with single-threaded BLAS, rates evaluated in that process
  and one decision thread — each area on one core, as a Dask worker runs it (the matched baseline);
- on a LocalCluster of each size in ``--workers``, as ``leosim run --workers N`` starts it (thread
  workers in this process, one thread each, each area in a child process of its worker with BLAS
  single-threaded and one decision thread; areas submitted costliest first);
- with ``--declared-order``, the largest cluster again with the areas submitted in declaration order.

Per mode: the end-to-end wall time (cluster start included), the speed-up over the default serial
run (``speedup``) and over the one-core serial run (``speedup_1core``), the CPU seconds of the
areas (summed over the processes that ran them), the CPU seconds of the whole mode
(``cpu_s_all``: this process, with the scheduler and the worker threads, and every process it started),
the peak resident memory of each process that ran areas (the largest, MiB), whether every table equals the serial run's row by row
(``decisions.solve_s``, a wall-clock measurement, left out), and the 1-minute load average at the
end (other jobs on the machine slow the wall times; the CPU seconds are less affected).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

DESCRIPTION = "a multi-area scenario serially vs on 1- and 2-worker LocalClusters: speed-up, memory per worker"
#: Columns of the engine's tables that hold wall-clock time, not simulated behaviour.
VOLATILE = {"decisions": ("solve_s",)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", default="scenarios/latitudes.toml", help="a scenario with [areas] "
                        "(default scenarios/latitudes.toml, from the repository root)")
    parser.add_argument("--areas", type=int, default=4, help="run the first N areas (default 4)")
    parser.add_argument("--duration-s", type=float, default=300.0, help="simulated time per area, s (default 300)")
    parser.add_argument("--workers", default="1,2", help="comma-separated LocalCluster sizes (default 1,2)")
    parser.add_argument("--declared-order", action="store_true",
                        help="also run the largest cluster with the areas submitted in declaration order")


def run(args: argparse.Namespace) -> list[dict]:
    from ..areas.config import expand_areas
    from ..areas.execute import run_areas
    from ..errors import InputError
    from ..scenario import load_scenario

    scenario = load_scenario(args.scenario)
    if scenario.areas is None:
        raise InputError(f"{args.scenario} has no [areas]; give a multi-area scenario")
    if args.areas < 1 or args.duration_s <= 0:
        raise InputError("--areas must be >= 1 and --duration-s > 0")
    time_cfg = scenario.time.model_copy(update={"duration_s": min(args.duration_s, scenario.time.duration_s)})
    scenario = scenario.model_copy(update={"time": time_cfg})
    names = list(expand_areas(scenario))[: args.areas]
    sizes = [int(w) for w in args.workers.split(",") if w.strip()]
    common = {"progress": False, "only": names, "retries": 0}
    modes = [("serial", lambda out: run_areas(scenario, output_dir=out, workers=0, rate_workers=None, **common)),
             ("serial, 1 core", lambda out: _one_core(scenario, out, common))]
    modes += [(f"{n} worker{'s' if n > 1 else ''}", lambda out, n=n: run_areas(scenario, output_dir=out, workers=n,
                                                                                 **common)) for n in sizes]
    if getattr(args, "declared_order", False) and sizes:
        n = max(sizes)
        modes.append((f"{n} workers, declared order",
                      lambda out: run_areas(scenario, output_dir=out, workers=n, order="declared", **common)))
    rows: list[dict] = []
    walls: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="leosim-bench-areas-") as tmp:
        for label, call in modes:
            out = Path(tmp) / label.replace(" ", "-").replace(",", "")
            t0, cpu0 = time.perf_counter(), _cpu_all_s()
            result = call(out)
            walls[label] = wall = time.perf_counter() - t0
            cpu_all = _cpu_all_s() - cpu0
            ran = [a for a in result.areas if a.name in names]
            if not all(a.status == "complete" for a in ran):
                bad = next(a for a in ran if a.status != "complete")
                raise RuntimeError(f"{label}: area {bad.name} {bad.status}: {bad.error}")
            rows.append({
                "mode": label, "areas": len(ran), "sim_s_per_area": time_cfg.duration_s, "wall_s": wall,
                "speedup": walls["serial"] / wall, "speedup_1core": walls.get("serial, 1 core", wall) / wall,
                "cpu_s": sum(a.cpu_s or 0.0 for a in ran), "cpu_s_all": cpu_all,
                "processes": len({(a.host, a.pid) for a in ran}),
                "peak_rss_mb_per_process": max(a.peak_rss_mb or 0.0 for a in ran),
                "rows_identical": _same_rows(Path(tmp) / "serial", out, names), "load_1min": os.getloadavg()[0],
            })
    return rows


def _cpu_all_s() -> float:
    """User + system CPU seconds of this process and of every process it started and waited for
    (the areas' processes, rate workers; the local Dask scheduler and workers are threads here), s."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _one_core(scenario, out: Path, common: dict):
    """The areas one after another in a fresh process on one core (see the module docstring)."""
    from ..areas.execute import run_areas
    from ..experiments.dask_runner import single_threaded_blas

    with single_threaded_blas(), ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(run_areas, scenario, output_dir=out, workers=0, rate_workers=0, decision_threads=1,
                           **common).result()


def _same_rows(a: Path, b: Path, names: list[str]) -> bool:
    """Every table of every area equal row by row, exactly, but for the wall-clock columns."""
    from ..engine.recorder import read_table
    from ..engine.schemas import TABLES

    for name in names:
        for table in TABLES:
            skip = list(VOLATILE.get(table, ()))
            x = read_table(a / f"area={name}", table).drop(columns=skip)
            y = read_table(b / f"area={name}", table).drop(columns=skip)
            if not x.equals(y):
                return False
    return True
