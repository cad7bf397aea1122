"""Spectral efficiency, serving-cluster size and optimiser effort from the ``rates`` and ``decisions`` tables.

- SE per user and over time: the achievable SE ``log2(1 + SINR)`` of every user at every logging
  step (000 eq 22 / Theorem 1 for the CF-mNTN schemes, 004's rate for UC-DMIMO; ``docs/rates.md``),
  as an empirical CDF (000 Figs 3–9, 004 Figs 2–3), summed and minimised over users per step.
- Serving-cluster size: ``rates.n_serving`` at every user-step (004 Fig 4).
- Optimiser iterations and solve time per decision (000 Fig 10).

Definitions, units and examples: ``docs/analysis.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .loading import LANE, RunData, as_str, ecdf, by_area

__all__ = [
    "se_cdf",
    "se_over_time",
    "se_summary",
    "cluster_size_distribution",
    "cluster_size_summary",
    "OPTIMISER_METRICS",
    "optimiser_distribution",
    "optimiser_summary",
]

#: Metrics of :func:`optimiser_distribution`: SCA iterations (summed over outer iterations),
#: reweighted-l2 iterations, their sum, and wall-clock seconds per decision.
OPTIMISER_METRICS = ("inner_iters", "outer_iters", "total_iters", "solve_s")


def _in_lane_order(run: RunData, frame: pd.DataFrame, extra: list[str] | None = None) -> pd.DataFrame:
    """``frame`` (str lane columns) sorted in the run's lane order, then by ``extra``."""
    order = run.lanes.reset_index().rename(columns={"index": "_lane"})
    out = frame.merge(order, on=LANE, how="left", validate="many_to_one")
    out = out.sort_values(["_lane", *(extra or [])], kind="stable").drop(columns="_lane")
    return out.reset_index(drop=True)


def _thin(values: np.ndarray, cdf: np.ndarray, max_points: int | None) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points of an ECDF, evenly spaced in rank, first and last kept."""
    if max_points is None or values.size <= max_points:
        return values, cdf
    if max_points < 2:
        raise ValueError(f"max_points={max_points} must be >= 2")
    keep = np.unique(np.linspace(0, values.size - 1, max_points).round().astype(np.int64))
    return values[keep], cdf[keep]


# ---------------------------------------------------------------------------- spectral efficiency
@by_area
def se_cdf(run: RunData, *, per: str = "sample", max_points: int | None = None) -> pd.DataFrame:
    """Empirical CDF of the per-user spectral efficiency, per scheme and RSAP policy.

    Parameters
    ----------
    run : RunData
    per : {"sample", "user"} — ``sample``: every user-step is one sample (unserved steps count as
        0 bit/s/Hz); ``user``: each user's SE averaged over the steps of the window is one sample
    max_points : int, optional — keep at most this many points per lane, evenly spaced in rank
        (each kept point is an exact point of the ECDF); default all distinct values

    Returns
    -------
    DataFrame — ``scheme``, ``rsap_policy``, ``se_bps_hz`` (bit/s/Hz, distinct values, increasing),
    ``cdf`` (fraction of samples ≤ ``se_bps_hz``)
    """
    if per not in ("sample", "user"):
        raise ValueError(f"per={per!r} must be 'sample' or 'user'")
    rates = run.rates
    parts = []
    for (scheme, policy), g in rates.groupby(LANE, observed=True, sort=False):
        se = g["se_bps_hz"] if per == "sample" else g.groupby("user_id", observed=True)["se_bps_hz"].mean()
        values, cdf = _thin(*ecdf(se.to_numpy()), max_points)
        parts.append(pd.DataFrame({"scheme": str(scheme), "rsap_policy": str(policy), "se_bps_hz": values,
                                   "cdf": cdf}))
    if not parts:
        return _empty(["scheme", "rsap_policy"], ["se_bps_hz", "cdf"])
    return _in_lane_order(run, pd.concat(parts, ignore_index=True))


@by_area
def se_over_time(run: RunData) -> pd.DataFrame:
    """Sum, minimum and mean of the users' SE at every logging step, per scheme and policy.

    Returns
    -------
    DataFrame — ``time`` (UTC), ``scheme``, ``rsap_policy``, ``sum_se_bps_hz``, ``min_se_bps_hz``,
    ``mean_se_bps_hz`` (bit/s/Hz, over the users logged at that step; unserved users count as 0),
    ``n_unserved`` (users with ``n_serving == 0``)
    """
    rates = run.rates
    cols = ["time", "scheme", "rsap_policy", "sum_se_bps_hz", "min_se_bps_hz", "mean_se_bps_hz", "n_unserved"]
    if not len(rates):
        return _empty(["scheme", "rsap_policy"], cols[3:6], ["n_unserved"], time=True)[cols]
    frame = rates[["time", *LANE, "se_bps_hz"]].assign(unserved=(rates["n_serving"] == 0).astype(np.int64))
    g = frame.groupby(["time", *LANE], observed=True, sort=False)
    out = g.agg(sum_se_bps_hz=("se_bps_hz", "sum"), min_se_bps_hz=("se_bps_hz", "min"),
                mean_se_bps_hz=("se_bps_hz", "mean"), n_unserved=("unserved", "sum")).reset_index()
    out = as_str(out, LANE)
    return _in_lane_order(run, out, ["time"])[cols]


@by_area
def se_summary(run: RunData) -> pd.DataFrame:
    """Per scheme and policy: mean, median and 5th percentile of the per-user-step SE, the time
    averages of the sum and minimum SE over users, and the outage fraction.

    Returns
    -------
    DataFrame — ``scheme``, ``rsap_policy``, ``mean_se_bps_hz``, ``median_se_bps_hz``,
    ``p5_se_bps_hz`` (numpy's linear-interpolation percentile), ``mean_sum_se_bps_hz``,
    ``mean_min_se_bps_hz`` (bit/s/Hz), ``outage_fraction`` (fraction of user-steps with
    ``n_serving == 0``)
    """
    rates = run.rates
    stats = ["mean_se_bps_hz", "median_se_bps_hz", "p5_se_bps_hz", "mean_sum_se_bps_hz", "mean_min_se_bps_hz",
             "outage_fraction"]
    if not len(rates):
        return _empty(["scheme", "rsap_policy"], stats)
    frame = rates[[*LANE, "se_bps_hz"]].assign(unserved=(rates["n_serving"] == 0).astype(float))
    g = frame.groupby(LANE, observed=True)
    per_sample = pd.DataFrame({
        "mean_se_bps_hz": g["se_bps_hz"].mean(),
        "median_se_bps_hz": g["se_bps_hz"].median(),
        "p5_se_bps_hz": g["se_bps_hz"].quantile(0.05),
        "outage_fraction": g["unserved"].mean(),
    }).reset_index()
    over_time = se_over_time(run).groupby(LANE)[["sum_se_bps_hz", "min_se_bps_hz"]].mean()
    over_time = over_time.rename(columns=lambda c: f"mean_{c}").reset_index()
    out = as_str(per_sample, LANE).merge(over_time, on=LANE, validate="one_to_one")
    return _in_lane_order(run, out)[["scheme", "rsap_policy", *stats]]


# ---------------------------------------------------------------------------- cluster size
@by_area
def cluster_size_distribution(run: RunData) -> pd.DataFrame:
    """Distribution of the serving-cluster size over user-steps (004 Fig 4), per scheme and policy.

    Every logged user-step counts once, unserved steps as size 0 (a row with ``n_serving = 0`` is
    always present, possibly with 0 user-steps).

    Returns
    -------
    DataFrame — ``scheme``, ``rsap_policy``, ``n_serving`` (satellites serving the user),
    ``user_steps`` (count), ``fraction`` (of the lane's user-steps)
    """
    rates = run.rates
    if not len(rates):
        return _empty(["scheme", "rsap_policy"], ["fraction"], ["n_serving", "user_steps"])[
            ["scheme", "rsap_policy", "n_serving", "user_steps", "fraction"]]
    counts = rates.groupby([*LANE, "n_serving"], observed=True).size().rename("user_steps").reset_index()
    counts = as_str(counts, LANE)
    zeros = run.lanes.assign(n_serving=0, user_steps=0)
    counts = pd.concat([counts, zeros], ignore_index=True)
    counts["n_serving"] = counts["n_serving"].astype(np.int64)
    counts = counts.groupby([*LANE, "n_serving"], as_index=False)["user_steps"].sum()
    counts["user_steps"] = counts["user_steps"].astype(np.int64)
    counts["fraction"] = counts["user_steps"] / counts.groupby(LANE)["user_steps"].transform("sum")
    return _in_lane_order(run, counts, ["n_serving"])


@by_area
def cluster_size_summary(run: RunData) -> pd.DataFrame:
    """Mean, median and maximum serving-cluster size over the *served* user-steps (n_serving ≥ 1).

    Returns
    -------
    DataFrame — ``scheme``, ``rsap_policy``, ``served_user_steps``, ``mean_n_serving``,
    ``median_n_serving``, ``max_n_serving`` (NaN for a lane that never serves anyone)
    """
    rates = run.rates
    stats = ["mean_n_serving", "median_n_serving", "max_n_serving"]
    served = rates[rates["n_serving"] > 0]
    g = served.assign(n=served["n_serving"].astype(float)).groupby(LANE, observed=True)["n"]
    out = pd.DataFrame({"served_user_steps": g.size(), "mean_n_serving": g.mean(), "median_n_serving": g.median(),
                        "max_n_serving": g.max()}).reset_index()
    out = run.lanes.merge(as_str(out, LANE), on=LANE, how="left")
    out["served_user_steps"] = out["served_user_steps"].fillna(0).astype(np.int64)
    out[stats] = out[stats].astype(float)
    return out[["scheme", "rsap_policy", "served_user_steps", *stats]].reset_index(drop=True)


# ---------------------------------------------------------------------------- optimiser
def _decision_metrics(run: RunData) -> pd.DataFrame:
    d = run.decisions
    out = pd.DataFrame({
        "scheme": d["scheme"].astype(str) if len(d) else pd.Series(dtype=object),
        "inner_iters": d["inner_iters"].astype(np.int64),
        "outer_iters": d["outer_iters"].astype(np.int64),
        "solve_s": d["solve_s"].astype(float),
    })
    out["total_iters"] = out["inner_iters"] + out["outer_iters"]
    return out


def _scheme_order(run: RunData, schemes) -> list[str]:
    order = list(dict.fromkeys(run.lanes["scheme"]))
    return [s for s in order if s in set(schemes)] + sorted(set(schemes) - set(order))


@by_area
def optimiser_distribution(run: RunData) -> pd.DataFrame:
    """Empirical CDFs of the optimiser's effort per decision (000 Fig 10), per scheme.

    Every row of the ``decisions`` table is one sample (both RSAP policies' decisions, every
    trigger). Metrics: ``inner_iters`` (SCA iterations summed over the outer iterations),
    ``outer_iters`` (reweighted-l2 iterations), ``total_iters`` = inner + outer, ``solve_s``
    (wall-clock seconds of the decision).

    Returns
    -------
    DataFrame — ``scheme``, ``metric``, ``value`` (iterations, or s for ``solve_s``), ``cdf``
    """
    m = _decision_metrics(run)
    parts = []
    for scheme in _scheme_order(run, m["scheme"].unique()):
        g = m[m["scheme"] == scheme]
        for metric in OPTIMISER_METRICS:
            values, cdf = ecdf(g[metric].to_numpy())
            parts.append(pd.DataFrame({"scheme": scheme, "metric": metric, "value": values, "cdf": cdf}))
    if not parts:
        return pd.DataFrame({"scheme": pd.Series(dtype=object), "metric": pd.Series(dtype=object),
                             "value": pd.Series(dtype=float), "cdf": pd.Series(dtype=float)})
    return pd.concat(parts, ignore_index=True)


@by_area
def optimiser_summary(run: RunData) -> pd.DataFrame:
    """Per scheme: number of decisions and the median, 95th percentile (linear interpolation) and
    maximum of each of :data:`OPTIMISER_METRICS`.

    Returns
    -------
    DataFrame — ``scheme``, ``n_decisions``, then ``median_<metric>``, ``p95_<metric>``,
    ``max_<metric>`` for each metric (``median_solve_s`` … in s)
    """
    m = _decision_metrics(run)
    g = m.groupby("scheme")
    out = pd.DataFrame({"n_decisions": g.size()})
    for metric in OPTIMISER_METRICS:
        out[f"median_{metric}"] = g[metric].median().astype(float)
        out[f"p95_{metric}"] = g[metric].quantile(0.95).astype(float)
        out[f"max_{metric}"] = g[metric].max().astype(float)
    out = out.reset_index()
    order = {s: i for i, s in enumerate(_scheme_order(run, out["scheme"]))}
    out = out.sort_values("scheme", key=lambda s: s.map(order)).reset_index(drop=True)
    out["n_decisions"] = out["n_decisions"].astype(np.int64)
    return out


def _empty(labels: list[str], floats: list[str], ints: list[str] = (), *, time: bool = False) -> pd.DataFrame:
    cols: dict[str, pd.Series] = {}
    if time:
        cols["time"] = pd.Series(dtype="datetime64[ns, UTC]")
    cols.update({c: pd.Series(dtype=object) for c in labels})
    cols.update({c: pd.Series(dtype=np.int64) for c in ints})
    cols.update({c: pd.Series(dtype=float) for c in floats})
    return pd.DataFrame(cols)
