"""Rate groups end on the chunk's grid of max_group_steps, so lanes sharing a decision share its rates."""

from __future__ import annotations

from simulator.engine.blockrates import BlockRates
from simulator.engine.rates import RateEvaluator
from simulator.engine.run import run_scenario
from simulator.engine.settings import ReplayTuning
from simulator.scenario import parse_scenario

TEXT = """
name = "groups"
seed = 2
[time]
start_utc = 2026-01-01T00:00:00Z
duration_s = 120
step_s = 1.0
[constellation]
preset = "starlink-shell1"
[users]
disc = { center_lat_deg = 42.36, center_lon_deg = -71.06, radius_km = 150, count = 4, seed = 3 }
[radio]
n_h = 4
n_v = 4
[schemes]
names = ["cf-mntn-smrt", "distance-uniform"]
rsap_policies = ["best-channel", "max-service-time"]
[events]
min_elevation_deg = 25.0
min_recluster_interval_s = 15.0
k_max = 3
max_candidate_sats = 8
[output]
chunk_s = 60
"""


def test_groups_end_on_the_grid_and_the_second_policy_reuses_the_rates(tmp_path, monkeypatch):
    asked, evaluated = [], []
    rates, call = BlockRates.rates, RateEvaluator.__call__

    def asking(self, model, d, sats, a, b):
        asked.append((a, b))
        return rates(self, model, d, sats, a, b)

    def evaluating(self, *args):
        evaluated.append(True)
        return call(self, *args)

    monkeypatch.setattr(BlockRates, "rates", asking)
    monkeypatch.setattr(RateEvaluator, "__call__", evaluating)
    run_scenario(parse_scenario(TEXT), output_dir=tmp_path / "run", rate_workers=0,
                 tuning=ReplayTuning(max_group_steps=20))
    assert asked and all(b - a <= 20 and (a // 20) == ((b - 1) // 20) for a, b in asked)
    # Both lanes of each cluster-mode scheme ask for the same groups; the second is remembered.
    assert len(evaluated) < len(asked)
