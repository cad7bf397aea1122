"""``leosim run`` of a scenario with ``[areas]``: dispatch, the proximity warning and the summary by area."""

from __future__ import annotations

import argparse
import sys

from ..scenario import Scenario

__all__ = ["run_areas_command"]


def run_areas_command(scenario: Scenario, args: argparse.Namespace) -> int:
    """Run every area of ``scenario`` as ``leosim run`` was asked; 1 if an area did not complete."""
    import pandas as pd

    from ..commands.run import _in_scenario_order
    from ..engine.run import summarise_run
    from .config import expand_areas
    from .execute import areas_warning, run_areas
    from .summary import write_area_summary

    warning = areas_warning(expand_areas(scenario, args.output))
    if warning:
        print(warning, file=sys.stderr)
    result = run_areas(scenario, output_dir=args.output, workers=args.workers, scheduler=args.scheduler,
                       retries=1 if args.retries is None else args.retries, resume=args.resume,
                       overwrite=args.overwrite, repair=args.repair, rate_workers=args.rate_workers, max_chunks=args.max_chunks)
    print(f"run directory: {result.run_dir} ({len(result.areas)} areas)")
    damaged: dict[str, str] = {}
    written = write_area_summary(result.run_dir, damaged)
    if written:
        print(f"by area: {written[0]} (headline numbers), {written[1]} (vs latitude)")
    for name, error in damaged.items():
        print(f"area {name}: left out of the summary by area: {error}", file=sys.stderr)
    order = list(scenario.schemes.names), list(scenario.schemes.rsap_policies)
    summaries = {a.name: {k: _in_scenario_order(v, *order) for k, v in summarise_run(result.run_dir / f"area={a.name}").items()}
                 for a in result.areas if a.status == "complete"}
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_rows", 500,
                           "display.float_format", "{:.3f}".format):
        for key, title in (("handovers_per_user_hour", "handovers per user-hour"),
                           ("se", "spectral efficiency (bit/s/Hz)")):
            frames = {n: s[key] for n, s in summaries.items() if key in s}
            if frames:
                print(f"\n{title}")
                print(pd.concat(frames, names=["area"]).fillna(0.0).to_string())
    for area in result.failed:
        print(f"area {area.name}: {area.status}" + (f": {area.error}" if area.error else ""), file=sys.stderr)
    if result.failed:
        print(f"{len(result.failed)} of {len(result.areas)} areas did not complete; the others' data are kept. "
              f"Rerun with --resume to run only those", file=sys.stderr)
    return 0 if result.ok else 1
