"""``leosim compare RUN_A RUN_B [-o compare.html]``: two runs' tables side by side with differences."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare two runs: the report's tables side by side with differences",
                       description="Compute the report's tables for RUN_A and RUN_B, join them on scheme, RSAP "
                                   "policy and kind, and write one HTML file with the values, differences "
                                   "(B - A, absolute and relative) and overlaid figures, plus CSV files "
                                   "(docs/commands/compare.md).")
    p.add_argument("run_a", metavar="RUN_A", help="first run directory (A)")
    p.add_argument("run_b", metavar="RUN_B", help="second run directory (B)")
    p.add_argument("-o", "--output", metavar="FILE", help="HTML file to write (default: ./compare.html)")
    p.add_argument("--ping-pong-window-s", type=float, default=10.0, metavar="S",
                   help="a return to the previous RSAP within S seconds is a ping-pong (default 10)")
    p.set_defaults(func=_compare)


def _compare(args: argparse.Namespace) -> int:
    from ..analysis.compare import build_comparison, count_differences, scenario_differences, size_warning
    from ..analysis.loading import load_run
    from ..analysis.report import check_output, write_document

    output = check_output(args.output or "compare.html")
    a, b = load_run(args.run_a), load_run(args.run_b)
    doc = build_comparison(a, b, ping_pong_window_s=args.ping_pong_window_s)
    path = write_document(doc, output)
    differing = {t.name: count_differences(t.frame) for t in doc.tables if t.name != "scenario"}
    changed = scenario_differences(a.scenario, b.scenario)
    rows = sum(differing.values())
    print(path)
    where = ", ".join(f"{name} {n}" for name, n in differing.items() if n) or "none"
    print(f"{a.name} vs {b.name}: {len(changed)} scenario fields differ; rows with differences: {rows} ({where})")
    warning = size_warning(a, b)
    if warning:
        print(warning)
    return 0
