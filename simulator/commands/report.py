"""``leosim report RUN_DIR [-o report.html] [--user N] [--scheme NAME] [--ping-pong-window-s S]``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write a self-contained HTML report (tables, figures, CSV files) of a run",
                       description="Analyse the run directory RUN_DIR (complete chunks only) and write one HTML "
                                   "file with the scenario summary, tables and figures, plus a CSV file of every "
                                   "table in <stem>_tables/ beside it; a multi-area run gets one report by area "
                                   "and latitude (docs/commands/report.md).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory written by `leosim run`")
    p.add_argument("-o", "--output", metavar="FILE", help="HTML file to write (default: RUN_DIR/report.html)")
    p.add_argument("--user", type=int, metavar="N",
                   help="user index of the serving-satellite timeline (default: the most RSAP handovers)")
    p.add_argument("--scheme", metavar="NAME",
                   help="scheme of the serving-satellite timeline (default: the user's most RSAP handovers)")
    p.add_argument("--ping-pong-window-s", type=float, default=10.0, metavar="S",
                   help="a return to the previous RSAP within S seconds is a ping-pong (default 10)")
    p.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> int:
    from ..analysis.loading import load_run
    from ..analysis.report import tables_dir, write_report

    run = load_run(args.run_dir)
    output = Path(args.output) if args.output else Path(args.run_dir) / "report.html"
    path, doc = write_report(run, output, user_id=args.user, scheme=args.scheme,
                             ping_pong_window_s=args.ping_pong_window_s)
    n_figures = sum(len(s.figures) for s in doc.sections)
    state = "complete" if not run.partial else f"{run.status}, partial: {run.n_chunks} complete chunks"
    print(path)
    where = f"{len(run.areas)} areas, " if run.areas is not None else ""
    print(f"{run.name}: {where}{run.duration_s:g} s simulated ({state}), {len(run.lanes)} scheme/policy lanes, "
          f"{len(doc.sections)} sections, {n_figures} figures, {len(doc.tables)} CSV files in {tables_dir(path)}")
    return 0
