"""``leosim bench NAME [--json]``: benchmarks that measure their own baseline in the same run.

Each benchmark is a module ``simulator.bench.NAME`` exposing ``DESCRIPTION``, ``add_arguments(parser)``
and ``run(args) -> list[dict]`` (rows of a table). Rows print as an aligned table, or as JSON.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil

from .. import bench


def _benchmarks() -> dict[str, object]:
    mods = {}
    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{bench.__name__}.{info.name}")
        if hasattr(module, "run"):
            mods[info.name] = module
    return dict(sorted(mods.items()))


def format_table(rows: list[dict]) -> str:
    """Rows of dicts as an aligned text table (columns in first-seen order)."""
    if not rows:
        return "(no rows)"
    cols: list[str] = []
    for row in rows:
        cols.extend(c for c in row if c not in cols)

    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return "" if v is None else str(v)

    table = [[cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(v.ljust(w) for v, w in zip(t, widths)) for t in table)
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    rows = args.bench_module.run(args)
    if args.json:
        print(json.dumps(rows, indent=2, default=float))
    else:
        print(format_table(rows))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="run a benchmark and print a table of measurements")
    bsub = parser.add_subparsers(dest="bench", metavar="NAME")
    for name, module in _benchmarks().items():
        p = bsub.add_parser(name, help=getattr(module, "DESCRIPTION", ""))
        p.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
        module.add_arguments(p)
        p.set_defaults(func=_run, bench_module=module)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
