"""Your own users from a CSV file, moving: three aircraft flying east at 250 m/s.

Run from the repository root:

    python examples/moving_users_csv.py

Writes runs/moving-users/users.csv (columns name, lat_deg, lon_deg, height_m), replays the Walker
preset starlink-shell1 over them for 10 min with two schemes, prints each user's mean SE and
RSAP handovers, and saves the SE over time as runs/moving-users/se_over_time.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import simulator as sim

SMOKE = os.environ.get("LEOSIM_EXAMPLE_SMOKE") == "1"  # set by the test suite: a one-minute run


def main() -> None:
    out = Path("runs/moving-users")
    out.mkdir(parents=True, exist_ok=True)
    (out / "users.csv").write_text("name,lat_deg,lon_deg,height_m\n"
                                   "flight-1,42.36,-71.06,10000\n"
                                   "flight-2,40.71,-74.01,11000\n"
                                   "flight-3,45.50,-73.57,9000\n", encoding="utf-8")
    toml = f"""
name = "moving-users"
seed = 2
[time]
start_utc = 2026-01-01T00:00:00Z
duration_s = {60.0 if SMOKE else 600.0}
step_s = 1.0
[constellation]
preset = "starlink-shell1"
[users]
csv = "users.csv"          # relative to base_dir below
speed_m_s = 250.0          # great circles at this ground speed ...
heading_deg = 90.0         # ... starting due east
[schemes]
names = ["cf-mntn-smrt", "single-smrt"]
rsap_policies = ["max-service-time"]
"""
    scenario = sim.parse_scenario(toml, source="moving_users_csv.py", base_dir=out)
    run_dir = sim.run_scenario(scenario, output_dir=out / "run", overwrite=True)
    run = sim.load_run(run_dir)
    per_user = run.rates.groupby(["scheme", "user_id"], observed=True)["se_bps_hz"].mean().unstack("scheme")
    rsap = sim.read_table(run_dir, "handovers")
    rsap = rsap[(rsap["kind"] == "rsap") & rsap["from_sat"].notna() & rsap["to_sat"].notna()]
    per_user["rsap_handovers"] = rsap.groupby("user_id").size().reindex(per_user.index, fill_value=0)
    print("mean SE (bit/s/Hz) per user and scheme; RSAP handovers of both schemes:")
    print(per_user.round(3).to_string())
    fig = sim.plot_se_over_time(sim.se_over_time(run))
    fig.savefig(out / "se_over_time.png", dpi=100)
    print(f"figure: {out / 'se_over_time.png'}")


if __name__ == "__main__":
    main()
