"""``leosim sweep SWEEP.toml [--scheduler ADDRESS] [--workers N] [--drops D] [-o DIR]``: run a parameter sweep.

The grid × seeds of the sweep file run on Dask distributed (a LocalCluster by default) into one
partitioned Parquet dataset (docs/commands/sweep.md). Finished tasks are skipped on rerun; a task
that fails after its retry is listed and the command exits with status 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_FAILED_TASKS = 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a grid of experiment parameters x seeds on Dask into one Parquet dataset",
                       description="Run every (grid point, seed) task of SWEEP (a TOML file, see "
                                   "docs/commands/sweep.md) whose result is missing in the output directory.")
    p.add_argument("sweep", metavar="SWEEP.toml", help="sweep file")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786); default: a new LocalCluster")
    p.add_argument("--workers", type=int, metavar="N",
                   help="LocalCluster worker processes (default: available cores); 0 runs serially in this process")
    p.add_argument("--drops", type=int, metavar="D", help="run seeds 0..D-1 instead of the file's seeds")
    p.add_argument("-o", "--output", metavar="DIR", help="output directory (default: ./sweeps/<name>)")
    p.add_argument("--retries", type=int, default=1, metavar="R", help="extra attempts of a failing task (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..experiments.dask_runner import run_sweep
    from ..experiments.sweep import load_sweep

    if args.scheduler and args.workers is not None:
        raise InputError("--workers applies to the LocalCluster; with --scheduler the cluster's workers are used")
    spec = load_sweep(args.sweep, drops=args.drops)
    out = Path(args.output) if args.output else Path("sweeps") / spec.name
    result = run_sweep(spec, out, scheduler=args.scheduler, workers=args.workers, progress=not args.quiet,
                       retries=args.retries)
    ran_rows = sum(s["rows"] for s in result.ran)
    print(f"sweep {spec.name} ({spec.experiment}): {result.n_tasks} tasks — {len(result.ran)} run, "
          f"{len(result.skipped)} skipped (already done), {len(result.failures)} failed")
    print(f"rows: {result.rows} in the dataset ({ran_rows} written now); wall time {result.wall_s:.1f} s")
    if result.stale:
        print(f"moved {len(result.stale)} file(s) of an earlier spec to {result.out_dir / 'stale'}")
    print(f"dataset: {result.out_dir} (read it with simulator.experiments.sweep.read_sweep)")
    for failure in result.failures:
        grid = ", ".join(f"{k}={v!r}" for k, v in failure.params.items())
        print(f"FAILED {failure.task_id} (seed {failure.seed}; {grid}): {failure.error}")
    if result.failures:
        print(f"{len(result.failures)} task(s) failed after {args.retries} retr{'y' if args.retries == 1 else 'ies'}; "
              f"tracebacks in {result.out_dir / 'sweep.json'}; rerun the same command to retry only them")
        return EXIT_FAILED_TASKS
    return 0
