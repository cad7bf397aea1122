"""RSAP policies on a real constellation: best-channel against max-service-time from a TLE file.

Run from the repository root:

    python examples/rsap_policies_tle.py [TLE_FILE] [--minutes M]

TLE_FILE defaults to the Starlink snapshot in ../shared/data/tle/ when it is there, else the
generated Walker file tle/starlink-shell1.tle. The scenario starts at the element sets' median
epoch (no start_utc), so the elements are fresh. Prints, per scheme, the RSAP handovers per
user-hour under each policy and their ratio, the median SE and the outage share, and writes the
HTML report to runs/rsap-policies-tle/report.html.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import simulator as sim

REAL = Path("../shared/data/tle/starlink_celestrak_2026-02-24.tle")
SMOKE = os.environ.get("LEOSIM_EXAMPLE_SMOKE") == "1"  # set by the test suite: a one-minute run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tle", nargs="?", default=str(REAL if REAL.exists() else Path("tle/starlink-shell1.tle")))
    parser.add_argument("--minutes", type=float, default=1.0 if SMOKE else 20.0)
    args = parser.parse_args()

    schemes = ["single-smrt", "uc-dmimo"] if SMOKE else ["cf-mntn-smrt", "single-smrt", "spot-beam", "uc-dmimo", "nct"]
    toml = f"""
name = "rsap-policies-tle"
seed = 4
[time]
duration_s = {args.minutes * 60.0}
step_s = 1.0
[constellation]
tle = "{Path(args.tle).resolve()}"
skip_invalid = true
[users]
disc = {{ center_lat_deg = 42.36, center_lon_deg = -71.06, radius_km = 200, count = {3 if SMOKE else 10}, seed = 1 }}
[schemes]
names = {schemes!r}
rsap_policies = ["best-channel", "max-service-time"]
[events]
min_elevation_deg = 25.0
"""
    scenario = sim.parse_scenario(toml.replace("'", '"'), source="rsap_policies_tle.py")
    run_dir = sim.run_scenario(scenario, output_dir="runs/rsap-policies-tle", overwrite=True)
    run = sim.load_run(run_dir)
    table = sim.headline_table(run).set_index("scheme")
    print(f"{args.tle}: {args.minutes:g} min over Boston, {len(schemes)} schemes")
    for metric in ("rsap_per_user_hour", "median_se_bps_hz", "outage_share"):
        block = table[[c for c in table.columns if c.startswith(metric + " | ")]]
        print(f"\n{metric}")
        print(block.rename(columns=lambda c: c.split(" | ")[1]).round(3).to_string())
    if not SMOKE:
        path, _ = sim.write_report(run, Path(run_dir) / "report.html")
        print(f"report: {path}")


if __name__ == "__main__":
    main()
