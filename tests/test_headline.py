"""The report's headline numbers on a hand-made log, and how wide tables are laid out in HTML."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulator.analysis import RunData
from simulator.analysis.document_html import column_parts
from simulator.analysis.headline import headline, headline_table
from simulator.analysis.report import Document, Section, Table, render_html

T0 = pd.Timestamp("2026-01-01T00:00:00Z")
POLICIES = ["best-channel", "max-service-time"]


def at(seconds: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=seconds)


def _log() -> RunData:
    """Two users for 1 h (steps of 900 s) of one cluster scheme under both policies."""
    rates = []
    for policy in POLICIES:
        for user in (0, 1):
            for k, t in enumerate(range(0, 3600, 900)):
                se = [1.0, 2.0, 3.0, 4.0][k] * (1 + user) * (2 if policy == "max-service-time" else 1)
                rates.append((at(t), "cf-mntn-smrt", policy, user, se, 0.0, 0 if (user, k) == (1, 3) else 2, 7))
    rates = pd.DataFrame(rates, columns=["time", "scheme", "rsap_policy", "user_id", "se_bps_hz", "sinr_db",
                                         "n_serving", "rsap_sat"])
    h = [
        # best-channel: user 0 first access (not counted), two RSAP handovers; a join + leave at one instant
        (at(0), "best-channel", 0, "rsap", None, 7), (at(100), "best-channel", 0, "rsap", 7, 8),
        (at(200), "best-channel", 0, "rsap", 8, 9), (at(300), "best-channel", 0, "cluster_join", None, 10),
        (at(300), "best-channel", 0, "cluster_leave", 7, None), (at(400), "best-channel", 1, "cluster_join", None, 11),
        # max-service-time: one RSAP handover; a loss of service (not counted)
        (at(100), "max-service-time", 1, "rsap", 7, 8), (at(3000), "max-service-time", 1, "rsap", 8, None),
    ]
    h = pd.DataFrame(h, columns=["time", "rsap_policy", "user_id", "kind", "from_sat", "to_sat"]).assign(
        scheme="cf-mntn-smrt")
    return RunData.from_frames(rates=rates, handovers=h, window_start=T0, window_end=at(3600), step_s=900.0)


def test_headline_numbers_by_hand():
    lanes = headline(_log()).set_index("rsap_policy")
    bc, mst = lanes.loc["best-channel"], lanes.loc["max-service-time"]
    assert bc["rsap_per_user_hour"] == 2 / 2 and mst["rsap_per_user_hour"] == 1 / 2  # 2 users x 1 h
    assert bc["serving_changes_per_user_hour"] == 2 / 2  # join + leave at 300 s once, the join at 400 s
    assert mst["serving_changes_per_user_hour"] == 0.0
    se_bc = np.r_[[1.0, 2, 3, 4], [2.0, 4, 6, 8]]
    assert bc["median_se_bps_hz"] == np.median(se_bc) and mst["median_se_bps_hz"] == np.median(2 * se_bc)
    assert bc["p5_se_bps_hz"] == pytest.approx(np.percentile(se_bc, 5))
    assert bc["outage_share"] == 1 / 8


def test_headline_table_puts_the_policies_side_by_side_with_their_ratio():
    table = headline_table(_log()).set_index("scheme")
    row = table.loc["cf-mntn-smrt"]
    assert row["rsap_per_user_hour | best-channel"] == 1.0 and row["rsap_per_user_hour | ratio"] == 0.5
    assert row["median_se_bps_hz | ratio"] == 2.0
    assert row["serving_changes_per_user_hour | ratio"] == 0.0
    assert list(table.columns[:3]) == ["rsap_per_user_hour | best-channel", "rsap_per_user_hour | max-service-time",
                                       "rsap_per_user_hour | ratio"]


def test_wide_tables_are_wrapped_with_their_labels_repeated():
    assert column_parts([100.0] * 5, 1, 300.0) == [[0, 1, 2], [0, 3, 4]]
    frame = pd.DataFrame({"scheme": ["a"], **{f"a_rather_long_column_name_{i}": [1.5 * i] for i in range(40)}})
    html = render_html(Document("t", "s", [Section("s", "S", tables=[Table("wide", "Wide", frame)])]), "x")
    assert html.count("<table") > 1 and html.count('id="table-wide"') == 1
    assert html.count('<th class="text">scheme</th>') == html.count("<table")


def test_grouped_columns_get_a_spanning_header():
    frame = pd.DataFrame({"scheme": ["a"], "m | best-channel": [1.0], "m | max-service-time": [2.0], "m | ratio": [2.0]})
    html = render_html(Document("t", "s", [Section("s", "S", tables=[Table("headline", "H", frame)])]), "x")
    assert '<th colspan="3" class="group">m</th>' in html
    assert 'class="num ratio">2</td>' in html


@pytest.mark.parametrize("module", ["simulator.analysis.document_html", "simulator.analysis.headline",
                                    "simulator.analysis.plots", "simulator.orbits.shells", "simulator.commands.run"])
def test_doctests(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0
