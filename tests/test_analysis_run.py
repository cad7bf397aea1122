"""simulator.analysis on a real short run, each metric recomputed independently with DuckDB SQL over
the chunk files listed in the manifest; and an interrupted run analysed on its complete chunks.

Float results are compared with a relative tolerance of 1e-12: SQL and pandas sum in different
orders, which changes the last bits of a double; counts, times and identifiers must match exactly.
"""

from __future__ import annotations

import json
import math
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import simulator.analysis as A
from simulator.engine.recorder import chunk_files
from simulator.engine.run import run_scenario, summarise_run
from simulator.scenario import parse_scenario

SCHEMES = ["cf-mntn-smrt", "single-smrt", "uc-dmimo", "nct"]
POLICIES = ["best-channel", "max-service-time"]
EVENTS = dict(min_elevation_deg=25.0, csi_period_s=2.0, min_recluster_interval_s=15.0, k_max=3, max_candidate_sats=8)
# The same small set-up as tests/test_replay.py, written with TOML inline tables.
TEXT = f"""
name = "tiny-analysis"
seed = 5
time = {{ start_utc = 2026-01-01T00:00:00Z, duration_s = 240, step_s = 2.0 }}
constellation = {{ preset = "starlink-shell1" }}
users = {{ disc = {{ center_lat_deg = 42.36, center_lon_deg = -71.06, radius_km = 150, count = 4, seed = 2 }} }}
radio = {{ n_h = 4, n_v = 4 }}
schemes = {{ names = {SCHEMES!r}, rsap_policies = {POLICIES!r} }}
output = {{ chunk_s = 60 }}
events = {{ {", ".join(f"{k} = {v}" for k, v in EVENTS.items())} }}
"""
N_USERS, DURATION_S = 4, 240.0
REL = 1e-12  # summation order only (see the module docstring)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return run_scenario(parse_scenario(TEXT.replace("'", '"')), output_dir=tmp_path_factory.mktemp("an") / "tiny")


@pytest.fixture(scope="module")
def run(run_dir):
    return A.load_run(run_dir)


def _sql(run_dir, table: str, query: str, *, rows: bool = False) -> pd.DataFrame:
    """``query`` with ``{t}`` standing for the table's complete chunk files (``rows``: with the
    columns ``filename`` and ``file_row_number``, the order in which the engine wrote the rows)."""
    files = [str(p) for p in chunk_files(run_dir, table)]
    extra = ", filename = true, file_row_number = true" if rows else ""
    return duckdb.sql(query.format(t=f"read_parquet({files}{extra})")).df()


def test_load_run_reads_the_manifest(run, run_dir):
    assert run.status == "complete" and not run.partial and run.n_chunks == 4
    assert run.window_start == pd.Timestamp("2026-01-01T00:00:00Z")
    assert run.window_end - run.window_start == pd.Timedelta(seconds=DURATION_S)
    assert run.step_s == 2.0 and run.name == "tiny-analysis" and run.scenario["seed"] == 5
    assert len(run.rates) == N_USERS * 120 * len(SCHEMES) * len(POLICIES)
    s = A.scenario_summary(run)
    assert s["status"] == "complete" and s["chunks"] == "4 complete of 4 (60 s each)"
    assert s["users"].startswith("4 in a 150 km disc") and s["schemes"] == ", ".join(SCHEMES)


def test_handover_rate_matches_sql_and_summarise_run(run, run_dir):
    got = A.handover_rate(run)
    ref = _sql(run_dir, "handovers", f"""
        WITH users AS (SELECT DISTINCT scheme, rsap_policy, user_id FROM {{t}} WHERE kind = 'rsap'),
        counted AS (SELECT scheme, rsap_policy, kind, user_id, count(*) AS n FROM {{t}}
                    WHERE kind NOT IN ('rsap', 'inter_satellite') OR (from_sat IS NOT NULL AND to_sat IS NOT NULL)
                    GROUP BY ALL),
        kinds AS (SELECT DISTINCT scheme, rsap_policy, kind FROM counted),
        per_user AS (SELECT k.scheme, k.rsap_policy, k.kind, u.user_id, coalesce(c.n, 0) / {DURATION_S / 3600} AS r
                     FROM kinds k JOIN users u USING (scheme, rsap_policy)
                     LEFT JOIN counted c USING (scheme, rsap_policy, kind, user_id))
        SELECT scheme::VARCHAR AS scheme, rsap_policy::VARCHAR AS rsap_policy, kind::VARCHAR AS kind,
               count(*) AS n_users, avg(r) AS per_user_hour, stddev_samp(r) AS sd
        FROM per_user GROUP BY ALL""")
    assert (ref["n_users"] == N_USERS).all()
    m = got.merge(ref[["scheme", "rsap_policy", "kind", "sd"]], on=["scheme", "rsap_policy", "kind"], how="left")
    present = m["sd"].notna()
    assert present.sum() == len(ref) > 0  # every kind with records is reported …
    assert (m.loc[~present, "n_handovers"] == 0).all()  # … and the others appear with zeros
    m = got.merge(ref.rename(columns={"per_user_hour": "ref_rate"}), on=["scheme", "rsap_policy", "kind"])
    np.testing.assert_allclose(m["per_user_hour"], m["ref_rate"], rtol=REL)
    half = stats.t.ppf(0.975, N_USERS - 1) * m["sd"] / math.sqrt(N_USERS)
    np.testing.assert_allclose(m["ci_high"], m["ref_rate"] + half, rtol=1e-9)
    np.testing.assert_allclose(m["ci_low"], np.maximum(m["ref_rate"] - half, 0), rtol=1e-9, atol=1e-9)
    kinds = {(r.scheme, r.kind) for r in got.itertuples()}
    assert ("nct", "inter_satellite") in kinds and ("uc-dmimo", "cluster_join") in kinds
    # The engine's one-screen summary counts the same handovers.
    summary = summarise_run(run_dir)["handovers_per_user_hour"].stack().rename("rate").reset_index()
    summary = summary.astype({"scheme": str, "rsap_policy": str, "kind": str})
    both = got.merge(summary, on=["scheme", "rsap_policy", "kind"], how="right")
    # summarise_run lists every kind for every lane; those a scheme cannot record are 0 there.
    assert (both.loc[both["per_user_hour"].isna(), "rate"] == 0).all()
    both = both.dropna(subset=["per_user_hour"])
    assert len(both) == len(got)
    np.testing.assert_allclose(both["per_user_hour"], both["rate"], rtol=REL)


def test_coverage_intervals_match_sql_and_the_rates_rsap(run, run_dir):
    got = A.coverage_intervals(run)
    ref = _sql(run_dir, "handovers", f"""
        SELECT scheme::VARCHAR AS scheme, rsap_policy::VARCHAR AS rsap_policy, user_id, to_sat AS sat_id,
               (epoch_ns(coalesce(lead(time) OVER w, make_timestamp({run.window_end.value // 1000})))
                - epoch_ns(time)) / 1e9 AS duration_s,
               epoch_ns(time) = {run.window_start.value} AS left_censored,
               lead(time) OVER w IS NULL AS right_censored
        FROM {{t}} WHERE kind = 'rsap'
        WINDOW w AS (PARTITION BY scheme, rsap_policy, user_id ORDER BY time, filename, file_row_number)
        QUALIFY to_sat IS NOT NULL AND duration_s > 0""", rows=True)
    keys = ["scheme", "rsap_policy", "user_id", "duration_s", "sat_id"]
    a = got[keys + ["left_censored", "right_censored"]].astype({"sat_id": "int64", "user_id": "int64"})
    b = ref[keys + ["left_censored", "right_censored"]].astype({"sat_id": "int64", "user_id": "int64"})
    a, b = (x.sort_values(keys).reset_index(drop=True) for x in (a, b))
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert a["right_censored"].sum() > 0 and (~(a["left_censored"] | a["right_censored"])).sum() > 0
    # The RSAP timeline reproduces rates.rsap_sat at every step of every lane and user.
    tl = A.rsap_timeline(run)
    rates = run.rates.astype({"scheme": str, "rsap_policy": str})
    for (scheme, policy, user), r in rates.groupby(["scheme", "rsap_policy", "user_id"]):
        t = tl[(tl["scheme"] == scheme) & (tl["rsap_policy"] == policy) & (tl["user_id"] == user)]
        k = np.searchsorted(t["start"].to_numpy(), r["time"].to_numpy(), side="right") - 1
        expected = np.where(k >= 0, t["sat_id"].to_numpy(dtype=float, na_value=np.nan)[np.maximum(k, 0)], np.nan)
        np.testing.assert_array_equal(r["rsap_sat"].to_numpy(dtype=float, na_value=np.nan), expected)


def _km_by_hand(durations: np.ndarray, observed: np.ndarray) -> dict[float, float]:
    s, out = 1.0, {}
    for t in sorted(set(durations)):
        n = int((durations >= t).sum())
        d = int(((durations == t) & observed).sum())
        s *= 1 - d / n
        out[float(t)] = s
    return out


def test_coverage_km_and_summary_match_a_direct_product_limit(run):
    iv = A.coverage_intervals(run)
    km = A.coverage_time_km(run)
    summary = A.coverage_summary(run).set_index(["scheme", "rsap_policy"])
    for (scheme, policy), g in iv.groupby(["scheme", "rsap_policy"]):
        obs = ~(g["left_censored"] | g["right_censored"]).to_numpy()
        ref = _km_by_hand(g["duration_s"].to_numpy(), obs)
        lane = km[(km["scheme"] == scheme) & (km["rsap_policy"] == policy)]
        assert lane["duration_s"].tolist() == list(ref)
        np.testing.assert_allclose(lane["survival"], list(ref.values()), rtol=REL)
        row = summary.loc[(scheme, policy)]
        assert row["n_intervals"] == len(g) and row["n_censored"] == (~obs).sum()
        below = [t for t, s in ref.items() if s <= 0.5]
        assert (row["median_s"] == below[0]) if below else math.isnan(row["median_s"])


def test_ping_pongs_match_sql(run, run_dir):
    for window_s in (10.0, 60.0):
        got = A.ping_pongs(run, window_s=window_s)
        ref = _sql(run_dir, "handovers", f"""
            SELECT * FROM (
                SELECT scheme::VARCHAR AS scheme, rsap_policy::VARCHAR AS rsap_policy, user_id,
                       from_sat AS a, to_sat AS b, lead(from_sat) OVER w AS a2, lead(to_sat) OVER w AS b2,
                       lead(time) OVER w AS t2, (epoch_ns(lead(time) OVER w) - epoch_ns(time)) / 1e9 AS dwell_s
                FROM {{t}} WHERE kind = 'rsap'
                WINDOW w AS (PARTITION BY scheme, rsap_policy, user_id ORDER BY time, filename, file_row_number))
            WHERE a IS NOT NULL AND b IS NOT NULL AND a <> b AND a2 = b AND b2 = a AND dwell_s <= {window_s}""",
                   rows=True)
        assert len(got) == len(ref)
        a = sorted(zip(got["scheme"], got["user_id"], got["time"].astype("int64"), got["dwell_s"]))
        b = sorted(zip(ref["scheme"], ref["user_id"], ref["t2"].astype("int64"), ref["dwell_s"]))
        assert a == b
    rate = A.ping_pong_rate(run, window_s=60.0)
    assert rate["n_ping_pongs"].sum() == len(A.ping_pongs(run, window_s=60.0))


def test_se_metrics_match_sql(run, run_dir):
    ref = _sql(run_dir, "rates", """
        WITH steps AS (SELECT time, scheme, rsap_policy, sum(se_bps_hz) AS s, min(se_bps_hz) AS m
                       FROM {t} GROUP BY ALL)
        SELECT r.scheme::VARCHAR AS scheme, r.rsap_policy::VARCHAR AS rsap_policy, avg(se_bps_hz) AS mean_se,
               median(se_bps_hz) AS median_se, quantile_cont(se_bps_hz, 0.05) AS p5_se,
               avg((n_serving = 0)::INT) AS outage,
               (SELECT avg(s) FROM steps x WHERE x.scheme = r.scheme AND x.rsap_policy = r.rsap_policy) AS sum_se,
               (SELECT avg(m) FROM steps x WHERE x.scheme = r.scheme AND x.rsap_policy = r.rsap_policy) AS min_se
        FROM {t} r GROUP BY ALL""")
    got = A.se_summary(run).merge(ref, on=["scheme", "rsap_policy"])
    assert len(got) == len(SCHEMES) * len(POLICIES)
    for ours, theirs in [("mean_se_bps_hz", "mean_se"), ("median_se_bps_hz", "median_se"), ("p5_se_bps_hz", "p5_se"),
                         ("outage_fraction", "outage"), ("mean_sum_se_bps_hz", "sum_se"),
                         ("mean_min_se_bps_hz", "min_se")]:
        np.testing.assert_allclose(got[ours], got[theirs], rtol=REL, err_msg=ours)
    over = A.se_over_time(run)
    assert len(over) == 120 * len(SCHEMES) * len(POLICIES)
    cdf = A.se_cdf(run)
    last = cdf.groupby(["scheme", "rsap_policy"])["cdf"].last()
    assert (last == 1.0).all()
    counts = _sql(run_dir, "rates", """SELECT scheme::VARCHAR AS scheme, rsap_policy::VARCHAR AS rsap_policy,
        count(DISTINCT se_bps_hz) AS n FROM {t} GROUP BY ALL""")
    assert dict(zip(zip(counts["scheme"], counts["rsap_policy"]), counts["n"])) == \
        cdf.groupby(["scheme", "rsap_policy"]).size().to_dict()


def test_cluster_and_optimiser_metrics_match_sql(run, run_dir):
    ref = _sql(run_dir, "rates", """SELECT scheme::VARCHAR AS scheme, rsap_policy::VARCHAR AS rsap_policy,
        n_serving::BIGINT AS n_serving, count(*) AS user_steps FROM {t} GROUP BY ALL""")
    got = A.cluster_size_distribution(run)
    m = got.merge(ref, on=["scheme", "rsap_policy", "n_serving"], how="left")
    np.testing.assert_array_equal(m["user_steps_x"], m["user_steps_y"].fillna(0))
    assert (got.groupby(["scheme", "rsap_policy"])["fraction"].sum() - 1).abs().max() < 1e-12
    assert got[got["scheme"] == "uc-dmimo"]["n_serving"].max() > 1  # a cluster, not one satellite
    opt = _sql(run_dir, "decisions", """SELECT scheme::VARCHAR AS scheme, count(*) AS n,
        median(inner_iters) AS med_inner, quantile_cont(inner_iters + outer_iters, 0.95) AS p95_total,
        max(solve_s) AS max_solve FROM {t} GROUP BY ALL""")
    s = A.optimiser_summary(run).merge(opt, on="scheme")
    assert len(s) == len(SCHEMES)
    np.testing.assert_array_equal(s["n_decisions"], s["n"])
    np.testing.assert_allclose(s["median_inner_iters"], s["med_inner"], rtol=REL)
    np.testing.assert_allclose(s["p95_total_iters"], s["p95_total"], rtol=REL)
    np.testing.assert_array_equal(s["max_solve_s"], s["max_solve"])


def test_serving_timeline_matches_n_serving_and_rsap_at_every_step(run):
    rates = run.rates.astype({"scheme": str, "rsap_policy": str})
    checked = 0
    for (scheme, policy, user), r in rates.groupby(["scheme", "rsap_policy", "user_id"]):
        tl = A.serving_timeline(run, user_id=user, scheme=scheme, rsap_policy=policy)
        t = r["time"].to_numpy()[:, None]
        inside = (tl["start"].to_numpy()[None, :] <= t) & (t < tl["end"].to_numpy()[None, :])
        np.testing.assert_array_equal(inside.sum(axis=1), r["n_serving"].to_numpy())
        # Where the RSAP is serving, the timeline marks exactly that satellite.
        rsap_serving = (inside & tl["is_rsap"].to_numpy()[None, :])
        sats = tl["sat_id"].to_numpy()
        marked = np.where(rsap_serving.any(axis=1), sats[rsap_serving.argmax(axis=1)], -1)
        assert (rsap_serving.sum(axis=1) <= 1).all()
        rsap = r["rsap_sat"].to_numpy(dtype=float, na_value=-1)
        in_set = (inside & (sats[None, :] == rsap[:, None])).any(axis=1)
        np.testing.assert_array_equal(np.where(in_set, rsap, -1), marked)
        checked += 1
    assert checked == N_USERS * len(SCHEMES) * len(POLICIES)


def test_interrupted_run_is_analysed_on_its_complete_chunks(run_dir, tmp_path):
    cut = tmp_path / "cut"
    shutil.copytree(run_dir, cut)
    manifest = json.loads((cut / "manifest.json").read_text())
    manifest["chunks"] = manifest["chunks"][:2]  # chunk 2 and 3 files stay on disk, unlisted
    manifest["status"], manifest["message"] = "interrupted", "interrupted by the user (KeyboardInterrupt)"
    (cut / "manifest.json").write_text(json.dumps(manifest))
    part = A.load_run(cut)
    assert part.partial and part.status == "interrupted" and part.n_chunks == 2
    assert part.duration_s == 120.0 and part.rates["time"].max() < part.window_end
    assert len(part.rates) == N_USERS * 60 * len(SCHEMES) * len(POLICIES)
    hr = A.handover_rate(part)
    assert np.allclose(hr["user_hours"], N_USERS * 120.0 / 3600.0)
    counted = _sql(cut, "handovers", """SELECT scheme::VARCHAR AS scheme, rsap_policy::VARCHAR AS rsap_policy,
        kind::VARCHAR AS kind, count(*) AS n FROM {t}
        WHERE kind NOT IN ('rsap', 'inter_satellite') OR (from_sat IS NOT NULL AND to_sat IS NOT NULL)
        GROUP BY ALL""")
    m = hr.merge(counted, on=["scheme", "rsap_policy", "kind"], how="left")
    np.testing.assert_array_equal(m["n_handovers"], m["n"].fillna(0))
    iv = A.coverage_intervals(part)
    assert iv["end"].max() == part.window_end and iv.loc[iv["right_censored"], "end"].eq(part.window_end).all()
    s = A.scenario_summary(part)
    assert "partial" in s["status"] and "120 s (2.0 min) of 240 s (4.0 min)" in s["status"]
    assert s["chunks"].startswith("2 complete of 4")
