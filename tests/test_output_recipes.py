"""The pandas and DuckDB recipes of docs/outputs.md give the report's numbers, on a real run."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.analysis import coverage_intervals, handover_rate, headline, load_run
from simulator.engine.run import run_scenario
from simulator.scenario import parse_scenario

DOCS = Path(__file__).resolve().parents[1] / "docs" / "outputs.md"
TEXT = """
name = "recipes"
seed = 5
[time]
start_utc = 2026-01-01T00:00:00Z
duration_s = 180
step_s = 2.0
[constellation]
preset = "starlink-shell1"
[users]
disc = { center_lat_deg = 42.36, center_lon_deg = -71.06, radius_km = 150, count = 4, seed = 2 }
[radio]
n_h = 4
n_v = 4
n_beams = 16
[schemes]
names = ["cf-mntn-szf", "single-smrt", "spot-beam", "uc-dmimo"]
rsap_policies = ["best-channel", "max-service-time"]
[events]
csi_period_s = 2.0
k_max = 3
max_candidate_sats = 8
[output]
chunk_s = 60
"""
LANE = ["scheme", "rsap_policy"]


@pytest.fixture(scope="module")
def recipes(tmp_path_factory):
    run_dir = run_scenario(parse_scenario(TEXT), output_dir=tmp_path_factory.mktemp("run") / "recipes")
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S):
        exec(compile(block.replace('"runs/demo"', repr(str(run_dir))), str(DOCS), "exec"), namespace)
    return load_run(run_dir), namespace


def _keyed(frame: pd.DataFrame, keys: list[str], value: str) -> pd.Series:
    out = frame.assign(**{k: frame[k].astype(str) for k in keys}).set_index(keys)[value]
    return out.sort_index()


@pytest.mark.parametrize("name", ["per_hour", "per_hour_sql"])
def test_handover_rate_recipes_equal_the_report(recipes, name):
    run, ns = recipes
    report = _keyed(handover_rate(run), [*LANE, "kind"], "per_user_hour")
    got = _keyed(ns[name], [*LANE, "kind"], "per_user_hour")
    assert len(got)
    np.testing.assert_allclose(report.loc[got.index].to_numpy(float), got.to_numpy(float), rtol=1e-12)
    missing = report.index.difference(got.index)
    assert (report.loc[missing] == 0.0).all()  # kinds without records: 0 in the report, absent in the recipe
    rsap = report.xs("rsap", level="kind")
    assert (rsap > 0).any()


def test_headline_recipe_equals_the_report_headline(recipes):
    run, ns = recipes
    want = headline(run).set_index(LANE).sort_index()
    got = ns["headline"].assign(**{k: ns["headline"][k].astype(str) for k in LANE}).set_index(LANE).sort_index()
    assert list(got.index) == list(want.index)
    for col in want.columns:
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-12, err_msg=col)
    assert (want["serving_changes_per_user_hour"] > 0).any()


def test_sql_se_statistics_equal_the_report(recipes):
    run, ns = recipes
    want = headline(run).set_index(LANE).sort_index()
    got = ns["median_se_sql"].assign(**{k: ns["median_se_sql"][k].astype(str) for k in LANE})
    got = got.set_index(LANE).sort_index()
    for col in ("median_se_bps_hz", "p5_se_bps_hz", "outage_share"):
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-12, err_msg=col)


def test_coverage_recipes_are_the_reports_complete_intervals(recipes):
    run, ns = recipes
    iv = coverage_intervals(run)
    complete = np.sort(iv.loc[~iv["left_censored"] & ~iv["right_censored"], "duration_s"].to_numpy())
    assert len(complete) > 0
    np.testing.assert_array_equal(np.sort(ns["coverage_s"].to_numpy()), complete)
    np.testing.assert_array_equal(np.sort(ns["coverage_sql"]["held_ns"].to_numpy() / 1e9), complete)
