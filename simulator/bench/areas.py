"""``leosim bench areas``: one multi-area scenario serially and on 1- and 2-worker LocalClusters.

The first ``--areas`` areas of ``--scenario`` (default ``scenarios/latitudes.toml``), shortened to
``--duration-s`` of simulated time, run through :func:`~simulator.areas.execute.run_areas` into
temporary run directories:

- serially in this process (the baseline; rates evaluated in this process, as on a worker);
- on a LocalCluster of each size in ``--workers`` (worker processes, one thread, BLAS single-threaded).

Per mode: the end-to-end wall time (cluster start included), the speed-up over the serial run, the
CPU seconds of the areas (summed over the processes that ran them), the peak resident memory of
each process that ran areas (the largest, MiB), whether every table equals the serial run's row by
row (``decisions.solve_s``, a wall-clock measurement, left out), and the 1-minute load average at
the end (other jobs on the machine slow the wall times; the CPU seconds are less affected).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
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
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="leosim-bench-areas-") as tmp:
        modes = [("serial", 0)] + [(f"{n} worker{'s' if n > 1 else ''}", n) for n in sizes]
        baseline: tuple[float, Path] | None = None
        for label, workers in modes:
            out = Path(tmp) / label.replace(" ", "-")
            t0 = time.perf_counter()
            result = run_areas(scenario, output_dir=out, workers=workers, progress=False, rate_workers=0,
                               only=names, retries=0)
            wall = time.perf_counter() - t0
            ran = [a for a in result.areas if a.name in names]
            if not all(a.status == "complete" for a in ran):
                bad = next(a for a in ran if a.status != "complete")
                raise RuntimeError(f"{label}: area {bad.name} {bad.status}: {bad.error}")
            if baseline is None:
                baseline = (wall, out)
            rows.append({
                "mode": label, "areas": len(ran), "sim_s_per_area": time_cfg.duration_s, "wall_s": wall,
                "speedup": baseline[0] / wall, "cpu_s": sum(a.cpu_s or 0.0 for a in ran),
                "processes": len({(a.host, a.pid) for a in ran}),
                "peak_rss_mb_per_process": max(a.peak_rss_mb or 0.0 for a in ran),
                "rows_identical": _same_rows(baseline[1], out, names), "load_1min": os.getloadavg()[0],
            })
    return rows


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
