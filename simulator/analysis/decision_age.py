"""Staleness of decisions: SINR against the age of the decision in force (``rates.decision_age_s``).

A decision is taken on a snapshot of the geometry and held until the next one (a reclustering, a
re-decision around a new RSAP); a local repair keeps its age. :func:`decision_age_summary` bins the
user-steps of each scheme by that age and gives the SINR and the share of user-steps under 0 dB per
bin; :func:`plot_decision_age` draws both against the age. Runs written before the column existed
give an empty table. Details: ``docs/analysis.md`` "Decision age".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..cooperation.schemes import SCHEMES
from . import plots
from .loading import RunData, as_str, by_area

__all__ = ["AGE_BINS_S", "decision_age_summary", "plot_decision_age"]

#: Edges of the age bins, s (the last bin is open).
AGE_BINS_S = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, np.inf)

_COLUMNS = ["scheme", "age_low_s", "age_high_s", "n_user_steps", "median_sinr_db", "p10_sinr_db",
            "under_0db_share"]


@by_area
def decision_age_summary(run: RunData, bins_s: tuple[float, ...] = AGE_BINS_S) -> pd.DataFrame:
    """SINR per scheme and bin of decision age (both RSAP policies pooled).

    Parameters
    ----------
    run : RunData
    bins_s : increasing edges, s; a user-step of age a falls in [low, high)

    Returns
    -------
    DataFrame ``scheme, age_low_s, age_high_s, n_user_steps, median_sinr_db, p10_sinr_db,
    under_0db_share`` — one row per non-empty bin, schemes in registry order; ``under_0db_share`` is
    the fraction (0–1) of the bin's user-steps with SINR < 0 dB (unserved steps, SINR −∞, included).
    User-steps without a decision (null age) are left out.
    """
    edges = np.asarray(bins_s, float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] < 0:
        raise ValueError(f"bins_s must be increasing non-negative edges, got {bins_s!r}")
    r = run.rates
    if "decision_age_s" not in r.columns or not r["decision_age_s"].notna().any():
        return pd.DataFrame(columns=_COLUMNS)
    r = as_str(r.loc[r["decision_age_s"].notna(), ["scheme", "decision_age_s", "sinr_db"]], ["scheme"])
    age = r["decision_age_s"].to_numpy(float)
    which = np.searchsorted(edges, age, side="right") - 1
    r = r.assign(_bin=np.clip(which, 0, edges.size - 2), _under=r["sinr_db"].to_numpy(float) < 0.0)
    g = r.groupby(["scheme", "_bin"], sort=False)
    out = g.agg(n_user_steps=("sinr_db", "size"), median_sinr_db=("sinr_db", "median"),
                p10_sinr_db=("sinr_db", lambda x: _quantile(x.to_numpy(float), 0.1)),
                under_0db_share=("_under", "mean")).reset_index()
    out["age_low_s"] = edges[out["_bin"]]
    out["age_high_s"] = edges[out["_bin"] + 1]
    order = {s: i for i, s in enumerate(SCHEMES)}
    out = out.assign(_order=out["scheme"].map(order).fillna(len(order))).sort_values(["_order", "scheme", "_bin"])
    return out[_COLUMNS].reset_index(drop=True)


def _quantile(values: np.ndarray, q: float) -> float:
    """``np.quantile(values, q)`` (linear interpolation) where an unserved step's SINR of −∞ may fall at
    or below the quantile: then it is −∞ (numpy's interpolation would give NaN and a warning)."""
    v = np.sort(values)
    if v[int(np.floor(q * (v.size - 1)))] == -np.inf:
        return -np.inf
    return float(np.quantile(v, q))


def plot_decision_age(summary: pd.DataFrame) -> Figure:
    """Share of user-steps under 0 dB (left) and the 10th percentile of SINR (right) against decision age, one curve
    per scheme; each bin is drawn at its middle (an open last bin at its low edge), x on a log scale."""
    if summary.empty:
        return plots._empty("no decision ages recorded (a run written before rates.decision_age_s)")
    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    for scheme, one in summary.groupby("scheme", sort=False):
        low, high = one["age_low_s"].to_numpy(float), one["age_high_s"].to_numpy(float)
        mid = np.where(np.isfinite(high), (low + high) / 2.0, low)
        style = plots.scheme_style(str(scheme))
        left.plot(mid, 100.0 * one["under_0db_share"].to_numpy(float), label=str(scheme), **style)
        right.plot(mid, one["p10_sinr_db"].to_numpy(float), **style)
    for ax, label in ((left, "user-steps under 0 dB SINR (%)"), (right, "10th percentile of SINR (dB)")):
        ax.set_xscale("log")
        ax.set_xlabel("age of the decision in force (s)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    fig.legend(loc="outside right upper", fontsize=8)
    return fig
