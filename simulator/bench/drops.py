"""``leosim bench drops``: Monte-Carlo drops per minute of 000's set-up, serially and on a LocalCluster.

One drop is one task of the ``cf-mntn-drop`` experiment with 000's Sec. VI-A set-up (L = 20
satellites over the 700 × 700 km box at 550 km, K = 10 users in a 200 km disc, N = 8 × 8, K_max = 8,
every 000 scheme the experiment runs: Algorithm 1 with sMRT and sZF, CF-mMIMO iMRT, single-satellite
SLNR and sMRT, spot beams and the three Fig. 5 baselines). The same seeds 0..D-1 run, each through
:func:`~simulator.experiments.dask_runner.run_sweep` into a temporary dataset:

- serially in this process (the baseline, ``scheduler="serial"``);
- on a 1-worker and on a 2-worker ``LocalCluster`` (worker processes, one thread, BLAS single-threaded).

Each mode first runs one untimed warm-up drop (a seed outside 0..D-1) so imports are not counted;
cluster start and warm-up are reported apart (``startup_s``) and in the end-to-end rate. Per drop,
the mean wall and CPU seconds of the task itself and the drops per CPU-minute of one worker (what
each core delivers on an idle machine; its ratio between modes is the per-task overhead); the 1-minute load average of the machine at the
end of each mode tells whether other jobs competed for the cores (the rates are wall-clock rates).
Single-threaded: unless ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` are
already 1, the benchmark re-runs itself in a child process with them set to 1, so the serial
baseline uses one core like each worker.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

DESCRIPTION = "drops/min of 000's set-up (every 000 scheme): serial in-process vs 1- and 2-worker LocalCluster"
EXPERIMENT = "cf-mntn-drop"
#: 000 Sec. VI-A: L = 20, K = 10, N = 8 × 8 (the experiment's defaults, stated for the record).
SETUP = {"n_sat": 20, "n_user": 10, "n_h": 8, "n_v": 8}
WARMUP_SEED = 1_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--drops", type=int, default=40, help="drops (seeds 0..D-1) per mode (default 40)")
    parser.add_argument("--workers", default="1,2", help="comma-separated LocalCluster sizes (default 1,2)")


def run(args: argparse.Namespace) -> list[dict]:
    from ..experiments.dask_runner import THREAD_VARIABLES

    if all(os.environ.get(name) == "1" for name in THREAD_VARIABLES):
        return measure(args)
    env = dict(os.environ, **{name: "1" for name in THREAD_VARIABLES})
    argv = [sys.executable, "-m", "simulator.cli", "bench", "drops", "--json", "--drops", str(args.drops),
            "--workers", args.workers]
    child = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if child.returncode != 0:
        raise RuntimeError(f"single-threaded child run failed ({child.returncode}):\n{child.stderr}")
    return json.loads(child.stdout)


def _spec(seeds: tuple[int, ...]):
    from ..experiments.sweep import SweepSpec

    return SweepSpec(name="bench-drops", experiment=EXPERIMENT, seeds=seeds, base=dict(SETUP))


def _timed_sweep(seeds, scheduler) -> tuple[float, object]:
    from ..experiments.dask_runner import run_sweep

    with tempfile.TemporaryDirectory(prefix="leosim-bench-drops-") as tmp:
        t0 = time.perf_counter()
        result = run_sweep(_spec(seeds), tmp, scheduler=scheduler, progress=False, retries=0)
        wall = time.perf_counter() - t0
    if result.failures:
        raise RuntimeError(f"bench drops: {len(result.failures)} drop(s) failed; first: {result.failures[0].error}")
    return wall, result


def measure(args: argparse.Namespace) -> list[dict]:
    from ..errors import InputError
    from ..experiments.dask_runner import local_client

    if args.drops < 1:
        raise InputError(f"--drops={args.drops} must be >= 1")
    try:
        sizes = [int(w) for w in args.workers.split(",") if w.strip()]
    except ValueError:
        raise InputError(f"--workers={args.workers!r} must be comma-separated integers, e.g. 1,2") from None
    if not sizes or min(sizes) < 1:
        raise InputError(f"--workers={args.workers!r} must list worker counts >= 1")
    seeds = tuple(range(args.drops))
    rows = []
    t0 = time.perf_counter()
    _timed_sweep((WARMUP_SEED,), "serial")
    startup = time.perf_counter() - t0
    wall, result = _timed_sweep(seeds, "serial")
    rows.append(_row("serial (in-process)", 0, args.drops, wall, startup, result))
    for n in sizes:
        t0 = time.perf_counter()
        with local_client(n) as client:
            _timed_sweep(tuple(WARMUP_SEED + i for i in range(1, n + 1)), client)  # each worker imports once
            startup = time.perf_counter() - t0
            wall, result = _timed_sweep(seeds, client)
        rows.append(_row(f"LocalCluster {n} worker{'s' if n > 1 else ''}", n, args.drops, wall, startup, result))
    serial_rate = rows[0]["drops_per_min"]
    one = next((r["drops_per_min"] for r in rows if r["workers"] == 1), None)
    for row in rows:
        row["ratio_to_serial"] = row["drops_per_min"] / serial_rate
        row["scaling_vs_1_worker"] = row["drops_per_min"] / one if one and row["workers"] else None
    return rows


def _row(mode: str, workers: int, drops: int, wall_s: float, startup_s: float, result) -> dict:
    threads = sorted({str(s.get("blas_threads")) for s in result.ran})
    per_drop = [s["wall_s"] for s in result.ran]
    cpu = [s["cpu_s"] for s in result.ran]
    return {
        "mode": mode,
        "workers": workers,
        "drops": drops,
        "wall_s": wall_s,
        "drops_per_min": 60.0 * drops / wall_s,
        "mean_drop_s": sum(per_drop) / len(per_drop),
        "mean_drop_cpu_s": sum(cpu) / len(cpu),
        "drops_per_cpu_min": 60.0 * len(cpu) / sum(cpu),
        "startup_s": startup_s,
        "drops_per_min_with_startup": 60.0 * drops / (wall_s + startup_s),
        "blas_threads": ",".join(threads),
        "load_avg_1min": os.getloadavg()[0],
    }
