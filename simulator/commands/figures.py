"""``leosim figures {cf-mntn,uc-dmimo} [--fig N] [--drops D] [--workers N] [--scheduler ADDRESS] [-o DIR]``.

Regenerates the figures of a paper (docs/reproduction.md): for each selected figure, every sweep
behind it is run into ``DIR/data/<sweep name>/`` (a rerun skips finished tasks), its rows read back,
and the figure's plot function writes ``DIR/<paper>-fig<N>.png`` and ``DIR/<paper>-fig<N>.csv``. The
CSV starts with ``#`` comment lines (figure, title, our axis definitions, sweeps and drops); read it
with ``pandas.read_csv(path, comment="#")``.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

import pandas as pd

from ..errors import InputError, LeosimError

PAPERS = ("cf-mntn", "uc-dmimo")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("figures", help="regenerate a paper's figures (PNG + CSV) from their sweeps",
                       description="Run the sweeps behind the figures of PAPER (000 = cf-mntn, 004 = uc-dmimo) "
                                   "and write one PNG and one CSV per figure (docs/reproduction.md).")
    p.add_argument("paper", choices=PAPERS, help="cf-mntn (000, Figs 3-10) or uc-dmimo (004, Figs 2-5)")
    p.add_argument("--fig", action="append", metavar="N",
                   help="figure number as printed, e.g. 3 or 2b (repeat for several; default: all)")
    p.add_argument("--drops", type=int, metavar="D", help="drops (seeds 0..D-1) per grid point instead of the sweep's")
    p.add_argument("--workers", type=int, metavar="N",
                   help="local Dask workers (0: run in this process; default: the sweep runner's)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="address of an existing Dask scheduler")
    p.add_argument("-o", "--output", metavar="DIR", help="output folder (default ./figures/<paper>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)


def select_figures(paper: str, numbers: list[str] | None) -> list:
    """The registered figures of ``paper`` (those numbered in ``numbers``, in the order given)."""
    from ..experiments import registry

    available = registry.figures(paper)
    by_number = {f.number: f for f in available}
    if not numbers:
        return available
    unknown = [n for n in numbers if n not in by_number]
    if unknown:
        raise InputError(f"--fig {unknown[0]}: {paper} has no figure {unknown[0]!r}; "
                         f"available: {', '.join(by_number) or 'none'}")
    return [by_number[n] for n in dict.fromkeys(numbers)]


def write_csv(table: pd.DataFrame, path: Path, header: list[str]) -> None:
    """``table`` as CSV preceded by ``# `` comment lines (written to a temporary file, then renamed)."""
    from ..fileio import write_atomic

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            for line in header:
                fh.write(f"# {line}\n")
            table.to_csv(fh, index=False)

    write_atomic(path, write)


class _Cluster:
    """The scheduler handed to every sweep: the one asked for, or one LocalCluster started on first need."""

    def __init__(self, scheduler: str | None, workers: int | None) -> None:
        self.scheduler, self.workers = scheduler, workers
        self.stack = contextlib.ExitStack()
        self.client = None

    def __enter__(self) -> "_Cluster":
        return self

    def __exit__(self, *exc) -> None:
        self.stack.close()

    def get(self):
        if self.workers == 0 or self.scheduler is not None:
            return "serial" if self.workers == 0 and self.scheduler is None else self.scheduler
        if self.client is None:
            from ..experiments.dask_runner import local_client

            self.client = self.stack.enter_context(local_client(self.workers))
        return self.client


def make_figure(fig, out_dir: Path, cluster: _Cluster, *, drops: int | None = None, progress: bool = True) -> dict:
    """Run the sweeps of ``fig`` into ``out_dir/data/``, plot, and write its PNG and CSV; returns a table row."""
    from ..experiments.dask_runner import run_sweep
    from ..experiments.sweep import load_sweep, read_sweep

    start = time.perf_counter()
    rows, names, seeds = {}, [], set()
    for path in fig.sweeps:
        spec = load_sweep(path, drops=drops)
        data = out_dir / "data" / spec.name
        pending = any(not (data / t.relpath).is_file() for t in spec.tasks())
        result = run_sweep(spec, data, scheduler=cluster.get() if pending else "serial", workers=cluster.workers,
                           progress=progress)
        if not result.ok:
            first = result.failures[0]
            raise LeosimError(f"figure {fig.number}: {len(result.failures)} task(s) of sweep {spec.name} failed "
                              f"(first: {first.task_id}: {first.error}); see {data / 'sweep.json'}")
        rows[spec.name] = read_sweep(data)
        names.append(spec.name)
        seeds.add(len(spec.seeds))
    stem = f"{fig.paper}-fig{fig.number}"
    png, csv = out_dir / f"{stem}.png", out_dir / f"{stem}.csv"
    table = fig.plot(rows, png)
    header = [f"leosim figures {fig.paper} --fig {fig.number}: {fig.title}", f"axes: {fig.axes}",
              f"sweeps: {', '.join(names)}; drops per grid point: {', '.join(map(str, sorted(seeds)))}"]
    write_csv(table, csv, header)
    return {"figure": fig.number, "title": fig.title, "drops": "/".join(map(str, sorted(seeds))),
            "png": str(png), "csv": str(csv), "wall_s": time.perf_counter() - start}


def _run(args: argparse.Namespace) -> int:
    from .bench import format_table

    if args.drops is not None and args.drops < 1:
        raise InputError(f"--drops={args.drops} must be >= 1")
    if args.workers is not None and args.workers < 0:
        raise InputError(f"--workers={args.workers} must be >= 0 (0 runs in this process)")
    selected = select_figures(args.paper, args.fig)
    if not selected:
        raise InputError(f"no figures are registered for {args.paper}")
    out_dir = Path(args.output) if args.output else Path("figures") / args.paper
    out_dir.mkdir(parents=True, exist_ok=True)
    with _Cluster(args.scheduler, args.workers) as cluster:
        done = [make_figure(fig, out_dir, cluster, drops=args.drops, progress=not args.no_progress)
                for fig in selected]
    print(format_table(done))
    return 0
