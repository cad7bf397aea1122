"""Coverage time (004 Fig 5): how long a user keeps one RSAP, with censoring at the window's ends.

The RSAP timeline of each user, scheme and policy is rebuilt from the ``rsap`` records of the
``handovers`` table (for single-serving schemes the RSAP is the serving satellite, so this is also
their serving-satellite timeline). A *coverage interval* is a spell with one RSAP: it starts at an
access or RSAP handover and ends at the next RSAP record (a handover or a loss of service).
Intervals cut by the observation window are censored: the true duration is at least the observed
one. Their distribution is estimated with the Kaplan–Meier product-limit estimator, treating every
cut interval as right-censored at its observed length, with Greenwood's variance and a log-log
(Kalbfleisch–Prentice) confidence interval. Caveats and examples: ``docs/analysis.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .loading import LANE, RunData, as_str, by_area

__all__ = ["rsap_timeline", "rsap_spells", "coverage_intervals", "kaplan_meier", "coverage_time_km", "coverage_summary"]

_KEYS = [*LANE, "user_id"]
_KM_COLS = ["duration_s", "at_risk", "events", "censored", "survival", "cdf", "ci_low", "ci_high"]


@by_area
def rsap_timeline(run: RunData) -> pd.DataFrame:
    """Spells of constant RSAP per scheme, policy and user, from the ``rsap`` handover records.

    Each record starts a spell with RSAP ``to_sat`` (null = no RSAP) that lasts until the user's next
    record, or the end of the window. If the user's first record has a ``from_sat`` and lies after
    the window start, ``from_sat`` was the RSAP since the window start. Spells of zero length (two
    records at one instant) are left out.

    Returns
    -------
    DataFrame — ``scheme``, ``rsap_policy``, ``user_id``, ``sat_id`` (Int64, <NA> = no RSAP),
    ``start``, ``end`` (UTC), sorted by lane, user and start
    """
    return rsap_spells(run.handovers, run.window_start, run.window_end)


def rsap_spells(handovers: pd.DataFrame, window_start: pd.Timestamp, window_end: pd.Timestamp) -> pd.DataFrame:
    """:func:`rsap_timeline` of a ``handovers`` frame (any subset of lanes and users) and a window."""
    h = handovers
    h = h[(h["kind"] == "rsap") & (h["time"] >= window_start) & (h["time"] <= window_end)]
    h = as_str(h[[*_KEYS, "time", "from_sat", "to_sat"]], LANE).sort_values([*_KEYS, "time"], kind="stable")
    g = h.groupby(_KEYS, sort=False)
    end = g["time"].shift(-1).fillna(window_end)
    spells = pd.DataFrame({**{k: h[k] for k in _KEYS}, "sat_id": h["to_sat"], "start": h["time"], "end": end})
    first = g.head(1)
    before = first[first["from_sat"].notna() & (first["time"] > window_start)]
    prefix = pd.DataFrame({**{k: before[k] for k in _KEYS}, "sat_id": before["from_sat"],
                           "start": pd.Series(window_start, index=before.index, dtype="datetime64[ns, UTC]"),
                           "end": before["time"]})
    out = pd.concat([prefix, spells], ignore_index=True) if len(prefix) else spells.reset_index(drop=True)
    out = out[out["end"] > out["start"]]
    out = out.astype({"user_id": np.int64, "sat_id": "Int64"})
    return out.sort_values([*_KEYS, "start"], kind="stable").reset_index(drop=True)


@by_area
def coverage_intervals(run: RunData) -> pd.DataFrame:
    """Coverage intervals: spells of the RSAP timeline with an RSAP (004 Fig 5).

    Returns
    -------
    DataFrame — ``scheme``, ``rsap_policy``, ``user_id``, ``sat_id`` (the RSAP), ``start``, ``end``
    (UTC), ``duration_s`` (s), ``left_censored`` (starts at the window start: the RSAP may have
    been held before), ``right_censored`` (ends at the window end: no later record)
    """
    t = rsap_timeline(run)
    t = t[t["sat_id"].notna()].copy()
    t["duration_s"] = (t["end"] - t["start"]).dt.total_seconds().astype(float)
    t["left_censored"] = (t["start"] <= run.window_start).astype(bool)
    t["right_censored"] = (t["end"] >= run.window_end).astype(bool)
    return _lane_order(run, t, ["user_id", "start"])


def _lane_order(run: RunData, frame: pd.DataFrame, then: list[str]) -> pd.DataFrame:
    lane = run.lanes.reset_index().rename(columns={"index": "_lane"})
    out = frame.merge(lane, on=LANE, how="left").sort_values(["_lane", *LANE, *then], kind="stable")
    return out.drop(columns="_lane").reset_index(drop=True)


def kaplan_meier(duration_s: np.ndarray, observed: np.ndarray, *, confidence: float = 0.95) -> pd.DataFrame:
    """Kaplan–Meier estimate of the survival S(t) = P(duration > t) from right-censored data.

    At each distinct duration t_j: n_j at risk (durations ≥ t_j; censoring at t_j is counted after
    the events at t_j), d_j events, S(t_j) = Π_{i≤j} (1 − d_i/n_i). Greenwood:
    σ²_j = Σ_{i≤j} d_i / (n_i (n_i − d_i)); log-log interval S^{exp(±z σ_j / ln S)} with
    z = Φ⁻¹((1 + confidence)/2). S = 1 (no event yet) gives the interval [1, 1]; S = 0 cannot be
    transformed and gives NaN (could not compute).

    Parameters
    ----------
    duration_s : ndarray, shape (n,), s — observed durations
    observed : ndarray, shape (n,), bool — True: the interval ended (event); False: censored
    confidence : float — in (0, 1)

    Returns
    -------
    DataFrame — one row per distinct duration: ``duration_s``, ``at_risk``, ``events``,
    ``censored``, ``survival``, ``cdf`` (1 − survival), ``ci_low``, ``ci_high`` (of the survival);
    S = 1 before the first row

    Examples
    --------
    >>> km = kaplan_meier(np.array([1.0, 2.0, 2.0, 3.0]), np.array([True, True, False, True]))
    >>> km["survival"].round(4).tolist()
    [0.75, 0.5, 0.0]
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence} must be in (0, 1)")
    d = np.asarray(duration_s, dtype=float)
    e = np.asarray(observed, dtype=bool)
    if d.shape != e.shape or d.ndim != 1:
        raise ValueError(f"duration_s {d.shape} and observed {e.shape} must be 1-D of one length")
    if np.isnan(d).any() or (d < 0).any():
        raise ValueError("duration_s must be finite and >= 0")
    times, inverse = np.unique(d, return_inverse=True)
    events = np.bincount(inverse, weights=e, minlength=times.size).astype(np.int64)
    total = np.bincount(inverse, minlength=times.size).astype(np.int64)
    at_risk = d.size - np.r_[0, np.cumsum(total)[:-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1.0 - events / at_risk)
        greenwood = np.cumsum(np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0))
        z = stats.norm.ppf(0.5 + confidence / 2.0)
        log_s = np.log(survival)
        spread = z * np.sqrt(greenwood) / log_s  # negative where 0 < S < 1
        ci_low = survival ** np.exp(-spread)
        ci_high = survival ** np.exp(spread)
    one = survival >= 1.0
    ci_low[one], ci_high[one] = 1.0, 1.0
    zero = survival <= 0.0
    ci_low[zero], ci_high[zero] = np.nan, np.nan
    return pd.DataFrame({"duration_s": times, "at_risk": at_risk.astype(np.int64), "events": events,
                         "censored": total - events, "survival": survival, "cdf": 1.0 - survival,
                         "ci_low": ci_low, "ci_high": ci_high})


@by_area
def coverage_time_km(run: RunData, *, confidence: float = 0.95) -> pd.DataFrame:
    """Kaplan–Meier distribution of the coverage time per scheme and RSAP policy.

    Intervals cut by either end of the window (:func:`coverage_intervals`) are right-censored at
    their observed length; the others are events (:func:`kaplan_meier`).

    Returns
    -------
    DataFrame — ``scheme``, ``rsap_policy``, then the columns of :func:`kaplan_meier`
    """
    iv = coverage_intervals(run)
    parts = []
    for (scheme, policy), g in iv.groupby(LANE, sort=False):
        km = kaplan_meier(g["duration_s"].to_numpy(), ~(g["left_censored"] | g["right_censored"]).to_numpy(),
                          confidence=confidence)
        parts.append(km.assign(scheme=scheme, rsap_policy=policy))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object if c in LANE else float) for c in [*LANE, *_KM_COLS]})
    return _lane_order(run, pd.concat(parts, ignore_index=True), ["duration_s"])[[*LANE, *_KM_COLS]]


def _km_stats(km: pd.DataFrame) -> tuple[float, float]:
    """KM median (smallest duration with S ≤ 0.5; NaN if never) and restricted mean up to the
    longest observed duration (area under S from 0)."""
    t, s = km["duration_s"].to_numpy(), km["survival"].to_numpy()
    below = np.flatnonzero(s <= 0.5)
    median = float(t[below[0]]) if below.size else np.nan
    s_before = np.r_[1.0, s[:-1]]
    restricted = float(np.sum(s_before * np.diff(np.r_[0.0, t])))
    return median, restricted


@by_area
def coverage_summary(run: RunData) -> pd.DataFrame:
    """Per scheme and policy: intervals, censored intervals, KM median and restricted mean, and the
    plain mean of the uncensored intervals.

    Returns
    -------
    DataFrame — ``scheme``, ``rsap_policy``, ``n_intervals``, ``n_censored``, ``median_s`` (KM
    median, NaN when the survival never reaches 0.5), ``restricted_mean_s`` (area under the KM
    curve up to the longest observed interval), ``mean_uncensored_s`` (NaN when every interval is
    censored) — all in s
    """
    iv = coverage_intervals(run)
    km = coverage_time_km(run)
    rows = []
    for (scheme, policy), g in iv.groupby(LANE, sort=False):
        censored = (g["left_censored"] | g["right_censored"]).to_numpy()
        lane_km = km[(km["scheme"] == scheme) & (km["rsap_policy"] == policy)]
        median, restricted = _km_stats(lane_km)
        done = g["duration_s"].to_numpy()[~censored]
        rows.append({"scheme": scheme, "rsap_policy": policy, "n_intervals": len(g), "n_censored": int(censored.sum()),
                     "median_s": median, "restricted_mean_s": restricted,
                     "mean_uncensored_s": float(done.mean()) if done.size else np.nan})
    cols = ["scheme", "rsap_policy", "n_intervals", "n_censored", "median_s", "restricted_mean_s", "mean_uncensored_s"]
    found = pd.DataFrame(rows, columns=cols)
    out = run.lanes.merge(found, on=LANE, how="left") if len(run.lanes) else found
    out = out.fillna({"n_intervals": 0, "n_censored": 0})
    out = out.astype({"n_intervals": np.int64, "n_censored": np.int64, "median_s": float, "restricted_mean_s": float,
                      "mean_uncensored_s": float})
    return out[cols].reset_index(drop=True)
