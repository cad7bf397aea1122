"""Every metric of simulator.analysis on a small synthetic log whose answers are worked out by hand.

The log (window 0–100 s, step 10 s) has two lanes:
- cf-mntn-smrt / best-channel, users 0, 1, 2:
  user 0 RSAP: 0 s ∅→100, 30 s 100→200, 35 s 200→100 (ping-pong, dwell 5 s), 60 s 100→200,
  70.5 s 200→100 (dwell 10.5 s: just outside a 10 s window); two cluster joins;
  user 1: only the first access (∅→300) — no handover at all;
  user 2: first record 20 s 400→500 (so 400 was the RSAP since the start), 50 s 500→∅ (loss),
  80 s ∅→600 (access); one cluster leave.
- nct / max-service-time, users 0, 1: user 0 700→800 at 40 s and back at 45 s (rsap and
  inter_satellite records, as the engine writes for single-serving schemes); user 1 keeps 700.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import simulator.analysis as A
from simulator.analysis import RunData
from simulator.errors import InputError

T0 = pd.Timestamp("2026-01-01T00:00:00Z")
HOURS = 100.0 / 3600.0  # observation window of every user, h
T975 = {1: 12.706204736, 2: 4.302652730}  # Student-t 0.975 quantiles (standard tables)
CF, NCT = ("cf-mntn-smrt", "best-channel"), ("nct", "max-service-time")


def at(seconds: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=seconds)


def _handovers() -> pd.DataFrame:
    na = None
    rows = [
        (0, *CF, 0, "rsap", na, 100), (30, *CF, 0, "rsap", 100, 200), (35, *CF, 0, "rsap", 200, 100),
        (60, *CF, 0, "rsap", 100, 200), (70.5, *CF, 0, "rsap", 200, 100),
        (0, *CF, 0, "cluster_join", na, 100), (30, *CF, 0, "cluster_join", na, 200),
        (0, *CF, 1, "rsap", na, 300),
        (20, *CF, 2, "rsap", 400, 500), (50, *CF, 2, "rsap", 500, na), (80, *CF, 2, "rsap", na, 600),
        (50, *CF, 2, "cluster_leave", 500, na),
    ]
    for kind in ("rsap", "inter_satellite"):
        rows += [(0, *NCT, 0, kind, na, 700), (40, *NCT, 0, kind, 700, 800), (45, *NCT, 0, kind, 800, 700),
                 (0, *NCT, 1, kind, na, 700)]
    df = pd.DataFrame(rows, columns=["t", "scheme", "rsap_policy", "user_id", "kind", "from_sat", "to_sat"])
    df["time"] = [at(t) for t in df.pop("t")]
    return df


def _rates() -> pd.DataFrame:
    steps = np.arange(10) * 10.0
    rows = []
    for k, t in enumerate(steps):
        # user 0: 2 bit/s/Hz, 3 satellites; user 1: 1 bit/s/Hz, 2 satellites, unserved at 50 s;
        # user 2: 4 bit/s/Hz, 1 satellite, unserved at 50, 60, 70 s.
        rows.append((t, *CF, 0, 2.0, 3))
        rows.append((t, *CF, 1, 0.0 if t == 50 else 1.0, 0 if t == 50 else 2))
        rows.append((t, *CF, 2, 0.0 if 50 <= t <= 70 else 4.0, 0 if 50 <= t <= 70 else 1))
        for u in (0, 1):
            rows.append((t, *NCT, u, 3.0, 1))
    df = pd.DataFrame(rows, columns=["t", "scheme", "rsap_policy", "user_id", "se_bps_hz", "n_serving"])
    df["time"] = [at(t) for t in df.pop("t")]
    with np.errstate(divide="ignore"):  # unserved: SINR 0 is -inf dB, as the engine writes it
        df["sinr_db"] = 10 * np.log10(2.0 ** df["se_bps_hz"] - 1)
    return df


def _decisions() -> pd.DataFrame:
    return pd.DataFrame({
        "time": [at(0), at(30), at(60), at(90), at(0)],
        "scheme": ["cf-mntn-smrt"] * 4 + ["nct"], "trigger": ["initial", "rise", "set", "period", "initial"],
        "n_sats": 5, "n_users": 3, "inner_iters": [5, 7, 7, 10, 2], "outer_iters": [1, 2, 2, 3, 0],
        "solve_s": [0.1, 0.2, 0.3, 0.4, 0.01], "status": "optimal",
    })


def _clusters() -> pd.DataFrame:
    rows = [(0, 0, 100), (0, 0, 101), (0, 1, 300)]
    # At 30 s two decisions take effect at one instant: the first (unchanged) snapshot is superseded.
    rows += [(30, 0, 100), (30, 0, 101), (30, 1, 300)]
    rows += [(30, 0, 101), (30, 0, 200), (30, 1, 300)]
    rows += [(60, 1, 300)]  # user 0 unserved from 60 s
    rows += [(80, 0, 100), (80, 1, 300)]
    df = pd.DataFrame(rows, columns=["t", "user_id", "sat_id"])
    df["time"] = [at(t) for t in df.pop("t")]
    return df.assign(scheme=CF[0], rsap_policy=CF[1], power_weight=0.5)


@pytest.fixture(scope="module")
def run() -> RunData:
    return RunData.from_frames(rates=_rates(), handovers=_handovers(), clusters=_clusters(), decisions=_decisions(),
                               window_start=T0, window_end=at(100), step_s=10.0)


def _lane(df: pd.DataFrame, lane) -> pd.DataFrame:
    return df[(df["scheme"] == lane[0]) & (df["rsap_policy"] == lane[1])]


def _t_interval(per_user: list[float]) -> tuple[float, float, float]:
    x = np.asarray(per_user)
    n = x.size
    half = T975[n - 1] * x.std(ddof=1) / math.sqrt(n)
    return x.mean(), max(x.mean() - half, 0.0), x.mean() + half


# ------------------------------------------------------------------------------------ loading
def test_synthetic_run_has_the_window_and_schema_dtypes(run):
    assert run.status == "synthetic" and run.partial and run.run_dir is None
    assert run.duration_s == 100.0 and run.step_s == 10.0
    assert str(run.handovers["time"].dtype) == "datetime64[ns, UTC]"
    assert str(run.handovers["to_sat"].dtype) == "Int64"
    assert list(run.events.columns) == ["time", "kind", "sat_id", "user_id"] and len(run.events) == 0
    assert run.lanes.values.tolist() == [list(CF), list(NCT)]


def test_not_a_run_directory_raises_input_error(tmp_path):
    with pytest.raises(InputError, match="not a leosim run directory"):
        A.load_run(tmp_path)
    with pytest.raises(InputError, match="no such directory"):
        A.load_run(tmp_path / "missing")


# ------------------------------------------------------------------------------------ handovers
def test_handover_rate_counts_only_between_two_satellites_with_zero_users(run):
    hr = A.handover_rate(run)
    cf = _lane(hr, CF).set_index("kind")
    # Kinds that apply to cf-mntn-smrt: rsap, cluster_join, cluster_leave (zeros would appear too).
    assert list(cf.index) == ["rsap", "cluster_join", "cluster_leave"]
    assert cf.loc["rsap", "n_handovers"] == 5  # user 0: 4, user 1: 0, user 2: 1 (20 s); loss/access not counted
    assert cf.loc["cluster_join", "n_handovers"] == 2 and cf.loc["cluster_leave", "n_handovers"] == 1
    assert (cf["n_users"] == 3).all() and np.allclose(cf["user_hours"], 3 * HOURS)
    mean, lo, hi = _t_interval([4 / HOURS, 0.0, 1 / HOURS])  # 144, 0, 36 per user-hour
    assert cf.loc["rsap", "per_user_hour"] == pytest.approx(60.0)
    assert (cf.loc["rsap", "ci_low"], cf.loc["rsap", "ci_high"]) == pytest.approx((lo, hi))
    assert lo == 0.0 and mean == pytest.approx(60.0)
    nct = _lane(hr, NCT).set_index("kind")
    assert list(nct.index) == ["rsap", "inter_satellite"]
    assert (nct["n_handovers"] == 2).all() and nct["per_user_hour"].tolist() == pytest.approx([36.0, 36.0])
    # per-user rates 72 and 0 per hour: mean 36, s = 72/√2, half-width t·s/√2 = t·36
    assert nct.loc["rsap", "ci_high"] == pytest.approx(36.0 + T975[1] * 36.0)


def test_ping_pong_inside_and_just_outside_the_window(run):
    pp = A.ping_pongs(run, window_s=10.0)
    assert len(pp) == 2
    cf = pp[pp["scheme"] == CF[0]].iloc[0]
    assert (cf["user_id"], cf["time"], cf["sat_a"], cf["sat_b"], cf["dwell_s"]) == (0, at(35), 100, 200, 5.0)
    nct = pp[pp["scheme"] == NCT[0]].iloc[0]
    assert (nct["time"], nct["sat_a"], nct["sat_b"], nct["dwell_s"]) == (at(45), 700, 800, 5.0)
    # 60 s 100→200 then 70.5 s back: dwell 10.5 s counts only with a window of 10.5 s or more.
    assert len(_lane(A.ping_pongs(run, window_s=10.5), CF)) == 2
    assert len(_lane(A.ping_pongs(run, window_s=30.0), CF)) == 3  # 35→60 (dwell 25 s) is 200→100→200
    assert len(A.ping_pongs(run, window_s=4.9)) == 0
    same = A.ping_pongs(run, window_s=10.0, kind="inter_satellite")
    assert same[["time", "sat_a", "sat_b"]].values.tolist() == [[at(45), 700, 800]]


def test_ping_pong_rate(run):
    r = A.ping_pong_rate(run, window_s=10.0).set_index("scheme")
    assert r.loc["cf-mntn-smrt", "n_handovers"] == 5 and r.loc["cf-mntn-smrt", "n_ping_pongs"] == 1
    assert r.loc["cf-mntn-smrt", "fraction"] == pytest.approx(0.2)
    assert r.loc["cf-mntn-smrt", "per_user_hour"] == pytest.approx(1 / (3 * HOURS))
    _, lo, hi = _t_interval([1 / HOURS, 0.0, 0.0])
    assert (r.loc["cf-mntn-smrt", "ci_low"], r.loc["cf-mntn-smrt", "ci_high"]) == pytest.approx((lo, hi))
    assert r.loc["nct", "fraction"] == pytest.approx(0.5)


# ------------------------------------------------------------------------------------ coverage
def test_coverage_intervals_with_censoring_at_both_ends(run):
    iv = A.coverage_intervals(run)
    got = [(r.user_id, r.sat_id, r.duration_s, r.left_censored, r.right_censored)
           for r in _lane(iv, CF).itertuples()]
    assert got == [
        (0, 100, 30.0, True, False), (0, 200, 5.0, False, False), (0, 100, 25.0, False, False),
        (0, 200, 10.5, False, False), (0, 100, 29.5, False, True),
        (1, 300, 100.0, True, True),  # the user without handovers: censored at both ends
        (2, 400, 20.0, True, False),  # RSAP before the first record, from its from_sat
        (2, 500, 30.0, False, False),  # ends with the loss of service at 50 s
        (2, 600, 20.0, False, True),  # 50–80 s without RSAP is no interval
    ]
    assert _lane(iv, CF)["start"].iloc[6] == T0 and _lane(iv, CF)["end"].iloc[7] == at(50)


def test_kaplan_meier_on_the_6mp_leukaemia_data():
    """Remission times of the 6-MP arm of Freireich et al. (1963), the classic KM example of survival
    textbooks (e.g. Kleinbaum & Klein, *Survival Analysis*): S(t) and Greenwood SEs to 3–4 decimals."""
    times = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
    cens = {3, 5, 7, 8, 11, 12, 13, 16, 17, 18, 19, 20}  # indices of 6+, 9+, 10+, 11+, 17+, 19+, 20+, 25+, 32+…
    observed = np.array([i not in cens for i in range(len(times))])
    km = A.kaplan_meier(np.array(times, float), observed).set_index("duration_s")
    expected = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}
    for t, s in expected.items():
        assert km.loc[t, "survival"] == pytest.approx(s, abs=5e-4)  # table printed to 3 decimals
    assert km.loc[6, "at_risk"] == 21 and km.loc[6, "events"] == 3 and km.loc[6, "censored"] == 1
    assert km.loc[35, "survival"] == pytest.approx(0.448, abs=5e-4) and km.loc[35, "at_risk"] == 1
    # Greenwood standard errors of the same table: 0.0764 at 6, 0.1346 at 23 (to 4 decimals).
    se = {6: 0.0764, 23: 0.1346}
    for t, ref in se.items():
        s = km.loc[t, "survival"]
        # log-log interval: S^exp(±1.96 σ/ln S) with σ = SE/S (Greenwood on the log scale)
        sigma = ref / s
        lo, hi = s ** math.exp(-1.959964 * sigma / math.log(s)), s ** math.exp(1.959964 * sigma / math.log(s))
        assert (km.loc[t, "ci_low"], km.loc[t, "ci_high"]) == pytest.approx((lo, hi), abs=2e-3)
    # By hand at 6: S = 18/21, σ² = 3/(21·18), ln S = −0.15415, exp(1.96σ/ln S) = 0.3221:
    # S^3.1044 = 0.6197, S^0.3221 = 0.9516.
    assert km.loc[6, "ci_low"] == pytest.approx(0.6197, abs=1e-4)
    assert km.loc[6, "ci_high"] == pytest.approx(0.9516, abs=1e-4)


def test_coverage_km_and_summary(run):
    km = _lane(A.coverage_time_km(run), CF).set_index("duration_s")
    # Events: 5, 25, 10.5, 30 (user 2); censored: 30 (L), 29.5 (R), 100, 20 (L), 20 (R).
    assert list(km.index) == [5.0, 10.5, 20.0, 25.0, 29.5, 30.0, 100.0]
    assert km["at_risk"].tolist() == [9, 8, 7, 5, 4, 3, 1]
    assert km["events"].tolist() == [1, 1, 0, 1, 0, 1, 0]
    s = np.cumprod([8 / 9, 7 / 8, 1, 4 / 5, 1, 2 / 3, 1])
    assert km["survival"].to_numpy() == pytest.approx(s)
    assert km["cdf"].to_numpy() == pytest.approx(1 - s)
    summary = A.coverage_summary(run).set_index("scheme")
    cf = summary.loc["cf-mntn-smrt"]
    assert (cf["n_intervals"], cf["n_censored"]) == (9, 5)
    assert cf["median_s"] == 30.0  # S(30) = 0.415 ≤ 0.5, S(29.5) = 0.622
    area = 5 * 1 + 5.5 * s[0] + 9.5 * s[1] + 5 * s[2] + 4.5 * s[3] + 0.5 * s[4] + 70 * s[5]
    assert cf["restricted_mean_s"] == pytest.approx(area)
    assert cf["mean_uncensored_s"] == pytest.approx((5 + 25 + 10.5 + 30) / 4)
    nct = summary.loc["nct"]  # user 0: 40 (L), 5, 55 (R); user 1: 100 (L, R) → S never ≤ 0.5
    assert (nct["n_intervals"], nct["n_censored"]) == (4, 3)
    assert math.isnan(nct["median_s"]) and nct["mean_uncensored_s"] == 5.0


# ------------------------------------------------------------------------------------ SE
def test_se_cdf_per_sample_and_per_user(run):
    cdf = _lane(A.se_cdf(run), CF)
    assert cdf["se_bps_hz"].tolist() == [0.0, 1.0, 2.0, 4.0]
    assert cdf["cdf"].to_numpy() == pytest.approx(np.array([4, 13, 23, 30]) / 30)
    per_user = _lane(A.se_cdf(run, per="user"), CF)
    assert per_user["se_bps_hz"].to_numpy() == pytest.approx([0.9, 2.0, 2.8])
    assert per_user["cdf"].to_numpy() == pytest.approx([1 / 3, 2 / 3, 1.0])
    thin = _lane(A.se_cdf(run, max_points=2), CF)
    assert thin["se_bps_hz"].tolist() == [0.0, 4.0] and thin["cdf"].tolist()[-1] == 1.0


def test_se_over_time_and_summary(run):
    ot = _lane(A.se_over_time(run), CF).set_index("time")
    assert ot.loc[at(0), "sum_se_bps_hz"] == 7.0 and ot.loc[at(50), "sum_se_bps_hz"] == 2.0
    assert ot.loc[at(60), ["sum_se_bps_hz", "min_se_bps_hz", "n_unserved"]].tolist() == [3.0, 0.0, 1]
    assert ot.loc[at(50), "n_unserved"] == 2 and ot.loc[at(0), "mean_se_bps_hz"] == pytest.approx(7 / 3)
    s = A.se_summary(run).set_index("scheme")
    cf = s.loc["cf-mntn-smrt"]
    assert cf["mean_se_bps_hz"] == pytest.approx(57 / 30) and cf["median_se_bps_hz"] == 2.0
    assert cf["p5_se_bps_hz"] == 0.0  # 1.45th of 30 sorted values, among the four zeros
    assert cf["mean_sum_se_bps_hz"] == pytest.approx(5.7) and cf["mean_min_se_bps_hz"] == pytest.approx(0.7)
    assert cf["outage_fraction"] == pytest.approx(4 / 30)
    assert s.loc["nct", "mean_sum_se_bps_hz"] == 6.0 and s.loc["nct", "outage_fraction"] == 0.0


# ------------------------------------------------------------------------------------ clusters
def test_cluster_size_distribution_and_summary(run):
    d = _lane(A.cluster_size_distribution(run), CF)
    assert d["n_serving"].tolist() == [0, 1, 2, 3] and d["user_steps"].tolist() == [4, 7, 9, 10]
    assert d["fraction"].to_numpy() == pytest.approx(np.array([4, 7, 9, 10]) / 30)
    n = _lane(A.cluster_size_distribution(run), NCT)
    assert n[["n_serving", "user_steps"]].values.tolist() == [[0, 0], [1, 20]]
    s = A.cluster_size_summary(run).set_index("scheme").loc["cf-mntn-smrt"]
    assert s["served_user_steps"] == 26 and s["mean_n_serving"] == pytest.approx(55 / 26)
    assert (s["median_n_serving"], s["max_n_serving"]) == (2.0, 3.0)


def test_optimiser_distribution_and_summary(run):
    d = A.optimiser_distribution(run)
    inner = d[(d["scheme"] == "cf-mntn-smrt") & (d["metric"] == "inner_iters")]
    assert inner[["value", "cdf"]].values.tolist() == [[5, 0.25], [7, 0.75], [10, 1.0]]
    total = d[(d["scheme"] == "cf-mntn-smrt") & (d["metric"] == "total_iters")]
    assert total["value"].tolist() == [6, 9, 13]
    s = A.optimiser_summary(run).set_index("scheme")
    assert s.loc["cf-mntn-smrt", "n_decisions"] == 4 and s.loc["nct", "n_decisions"] == 1
    assert s.loc["cf-mntn-smrt", "median_inner_iters"] == 7.0
    assert s.loc["cf-mntn-smrt", "p95_inner_iters"] == pytest.approx(7 + 0.85 * 3)  # linear, rank 2.85
    assert s.loc["cf-mntn-smrt", "max_solve_s"] == 0.4


# ------------------------------------------------------------------------------------ timeline
def test_serving_timeline_uses_the_last_snapshot_and_marks_the_rsap(run):
    tl = A.serving_timeline(run, user_id=0, scheme=CF[0], rsap_policy=CF[1])
    got = [(r.sat_id, r.start, r.end, r.is_rsap) for r in tl.itertuples()]
    # Serving sets: 0 s {100, 101}; 30 s {101, 200} (the last of two snapshots); 60 s none; 80 s {100}.
    # RSAP: 100 until 30 s, 200 until 35 s, 100 until 60 s, 200 until 70.5 s, 100 after.
    assert got == [
        (100, at(0), at(30), True),
        (101, at(0), at(60), False),
        (200, at(30), at(35), True),
        (200, at(35), at(60), False),
        (100, at(80), at(100), True),
    ]
    empty = A.serving_timeline(run, user_id=0, scheme=NCT[0], rsap_policy=NCT[1])
    assert list(empty.columns) == ["sat_id", "start", "end", "is_rsap"] and len(empty) == 0


def test_scenario_summary_of_a_synthetic_log(run):
    s = A.scenario_summary(run)
    assert s["status"] == "synthetic" and s["duration"] == "100 s" and s["step"] == "10 s"
    assert s["schemes"] == "cf-mntn-smrt, nct" and s["users"].startswith("3 ")
    assert "handovers 20" in s["rows"]


def test_partial_window_counts_exposure_of_complete_chunks_only():
    """A log cut at 50 s: the same handovers before the cut, half the user-hours."""
    rates = _rates()
    hand = _handovers()
    cut = RunData.from_frames(rates=rates[rates["time"] < at(50)], handovers=hand[hand["time"] < at(50)],
                              window_start=T0, window_end=at(50), step_s=10.0)
    hr = _lane(A.handover_rate(cut), CF).set_index("kind")
    assert hr.loc["rsap", "n_handovers"] == 3 and hr.loc["rsap", "user_hours"] == pytest.approx(3 * 50 / 3600)
    iv = _lane(A.coverage_intervals(cut), CF)
    last = iv[iv["user_id"] == 2].iloc[-1]
    assert (last["sat_id"], last["duration_s"], last["right_censored"]) == (500, 30.0, True)
