"""The headline of a run: per scheme, the few numbers that answer "which RSAP policy, at what cost".

:func:`headline` gives one row per lane (scheme, RSAP policy):

- ``rsap_per_user_hour`` — RSAP handovers between two satellites per user-hour
  (:func:`~simulator.analysis.handover_rate`, kind ``rsap``);
- ``serving_changes_per_user_hour`` — instants at which a user's serving satellites change, per
  user-hour: the counted ``cluster_join`` / ``cluster_leave`` / ``inter_satellite`` records
  (:func:`~simulator.analysis.handovers.counted_handovers`) of one user at one instant count once;
- ``median_se_bps_hz``, ``p5_se_bps_hz`` — median and 5th percentile of the per-user-step SE
  (:func:`~simulator.analysis.se_summary`);
- ``outage_share`` — fraction of user-steps with no serving satellite (``n_serving == 0``).

:func:`headline_table` pivots it for the report: one row per scheme, and for each metric one column
per policy plus ``ratio`` = max-service-time / best-channel. ``docs/commands/report.md`` and the recipes in
``docs/outputs.md`` compute the same numbers from the Parquet tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .handovers import counted_handovers, handover_rate
from .loading import AREA, LANE, RunData, as_str, by_area
from .spectral import se_summary

__all__ = ["HEADLINE_METRICS", "RATIO_POLICIES", "headline", "headline_table", "serving_changes_rate"]

#: Metric columns of :func:`headline`, in the report's order.
HEADLINE_METRICS = ("rsap_per_user_hour", "serving_changes_per_user_hour", "median_se_bps_hz", "p5_se_bps_hz",
                    "outage_share")
#: (numerator, denominator) policies of the ``ratio`` columns of :func:`headline_table`.
RATIO_POLICIES = ("max-service-time", "best-channel")
_CHANGE_KINDS = ("cluster_join", "cluster_leave", "inter_satellite")


@by_area
def serving_changes_rate(run: RunData) -> pd.DataFrame:
    """Serving-set changes per user-hour by lane: distinct (user, instant) pairs with a counted
    ``cluster_join``, ``cluster_leave`` or ``inter_satellite`` record, over users × window hours.

    Returns
    -------
    DataFrame — ``scheme``, ``rsap_policy``, ``n_users``, ``n_changes``, ``serving_changes_per_user_hour`` (1/h)
    """
    h = counted_handovers(run)
    h = h[h["kind"].isin(_CHANGE_KINDS)]
    changes = h[[*LANE, "user_id", "time"]].drop_duplicates().groupby(LANE).size().rename("n_changes")
    users = as_str(run.rates[[*LANE, "user_id"]].drop_duplicates(), LANE).groupby(LANE).size().rename("n_users")
    out = run.lanes.merge(users.reset_index(), on=LANE, how="left").merge(changes.reset_index(), on=LANE, how="left")
    out = out.fillna({"n_users": 0, "n_changes": 0}).astype({"n_users": np.int64, "n_changes": np.int64})
    hours = run.duration_s / 3600.0
    with np.errstate(divide="ignore", invalid="ignore"):
        out["serving_changes_per_user_hour"] = np.where(out["n_users"] * hours > 0,
                                                        out["n_changes"] / (out["n_users"] * hours), np.nan)
    return out


@by_area
def headline(run: RunData) -> pd.DataFrame:
    """The headline numbers of every lane (see the module docstring), in the run's lane order.

    Returns
    -------
    DataFrame — ``scheme``, ``rsap_policy``, then :data:`HEADLINE_METRICS`
    """
    rate = handover_rate(run)
    rsap = rate[rate["kind"] == "rsap"][[*LANE, "per_user_hour"]].rename(columns={"per_user_hour": "rsap_per_user_hour"})
    se = se_summary(run).rename(columns={"outage_fraction": "outage_share"})
    out = (run.lanes.merge(rsap, on=LANE, how="left")
           .merge(serving_changes_rate(run)[[*LANE, "serving_changes_per_user_hour"]], on=LANE, how="left")
           .merge(se[[*LANE, "median_se_bps_hz", "p5_se_bps_hz", "outage_share"]], on=LANE, how="left"))
    return out[[*LANE, *HEADLINE_METRICS]].reset_index(drop=True)


def headline_table(run: RunData, lanes: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`headline` pivoted: one row per scheme, columns ``"<metric> | <policy>"`` and
    ``"<metric> | ratio"`` (max-service-time / best-channel; NaN when best-channel is 0 or either
    policy is missing from the run). ``lanes`` is a precomputed :func:`headline` (optional). With
    an ``area`` column (a multi-area run) one row per area and scheme, ``area`` first.

    >>> import pandas as pd
    >>> lanes = pd.DataFrame({"scheme": ["a", "a"], "rsap_policy": ["best-channel", "max-service-time"],
    ...     **{m: [2.0, 1.0] for m in HEADLINE_METRICS}})
    >>> float(headline_table(None, lanes).iloc[0]["rsap_per_user_hour | ratio"])
    0.5
    """
    lanes = headline(run) if lanes is None else lanes
    if AREA in lanes.columns:  # a multi-area run: one block of rows per area, with the area first
        parts = [headline_table(None, lanes[lanes[AREA] == name].drop(columns=AREA)).assign(**{AREA: name})
                 for name in dict.fromkeys(lanes[AREA])]
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({AREA: [], "scheme": []})
        return out[[AREA, *[c for c in out.columns if c != AREA]]]
    schemes = list(dict.fromkeys(lanes["scheme"]))
    policies = list(dict.fromkeys(lanes["rsap_policy"]))
    with_ratio = all(p in policies for p in RATIO_POLICIES)
    out = pd.DataFrame({"scheme": schemes})
    for metric in HEADLINE_METRICS:
        wide = lanes.pivot(index="scheme", columns="rsap_policy", values=metric).reindex(schemes)
        for policy in policies:
            out[f"{metric} | {policy}"] = wide[policy].to_numpy(float)
        if with_ratio:
            num, den = (wide[p].to_numpy(float) for p in RATIO_POLICIES)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[f"{metric} | ratio"] = np.where(den != 0, num / den, np.nan)
    return out
