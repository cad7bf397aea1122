"""Figures 3–10 of paper 000 (CF-mNTN) from the rows of the ``cf-mntn-drop`` sweeps.

Each figure reads the sweep(s) shipped in ``scenarios/figures/cf-mntn-fig*.toml`` and plots, per
grid point and scheme, the mean over drops of a drop-level metric — 000's sum-rate
R_tot = Σ_k R_k or minimum rate R_min = min_k R_k, both in bit/s/Hz (R_k = log2(1 + SINR_k), 000
eq 22) — with its 95 % confidence interval (Student t over drops). Fig. 10 plots empirical CDFs of
the iteration counts of Algorithm 1. The returned frames are what the CSV files hold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .plotting import new_axes, save_axes
from .registry import Figure, register_figure

__all__ = ["SWEEP_DIR", "summarise", "plot_lines", "plot_iterations"]

#: Folder of the shipped sweep files behind the figures.
SWEEP_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "figures"

LABELS = {
    "cf-mntn-smrt": "CF-mNTN, sMRT", "cf-mntn-szf": "CF-mNTN, sZF", "cf-mmimo-imrt": "CF-mMIMO, iMRT",
    "single-slnr": "single satellite, SLNR", "single-smrt": "single satellite, sMRT", "spot-beam": "spot beams (64)",
    "distance-sca": "distance clusters + SCA", "distance-uniform": "distance clusters + uniform",
    "alg1-uniform": "Alg. 1 clusters + uniform",
}
MARKERS = dict(zip(LABELS, "osD^v<>px"))
BENCHMARKS = ("cf-mntn-smrt", "cf-mntn-szf", "cf-mmimo-imrt", "single-slnr", "single-smrt", "spot-beam")
CLUSTERING = ("cf-mntn-smrt", "distance-sca", "distance-uniform", "alg1-uniform")
METRICS = {"sum_se_bps_hz": "sum-rate R_tot (bit/s/Hz)", "min_se_bps_hz": "minimum rate R_min (bit/s/Hz)"}
SNR_AXIS = ("SNR = ρ_t β_ref / σ_n², β_ref the large-scale gain (G^sat G^ue, free space, zenith absorption) "
            "of a user at the sub-satellite point from 550 km; set through ρ_t, σ_n² = −140 dBm "
            "(000's ρ_t = 40 dBm is SNR 21.7 dB); no array gain included")
RATE_AXIS = "rates in bit/s/Hz, R_k = log2(1 + SINR_k) of 000 eq 22 with fresh statistical CSI"


def _ci95(values: np.ndarray) -> float:
    """Half width of the 95 % Student-t confidence interval of the mean (NaN for one drop)."""
    from scipy import stats

    n = values.size
    if n < 2:
        return float("nan")
    return float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n))


def summarise(rows: pd.DataFrame, x: str, metric: str, schemes: tuple[str, ...], series: str = "scheme"
              ) -> pd.DataFrame:
    """Mean and 95 % CI over drops of a drop-level ``metric`` per (``series``, ``x``).

    Parameters
    ----------
    rows : DataFrame — rows of a ``cf-mntn-drop`` sweep with columns ``seed``, ``scheme``, ``x``, ``metric``
    x : str — grid column on the horizontal axis
    metric : str — ``sum_se_bps_hz`` or ``min_se_bps_hz``
    schemes : tuple of str — schemes kept, in legend order

    Returns
    -------
    DataFrame with columns series, x, ``<metric>_mean``, ``<metric>_ci95``, ``n_drops``
    """
    missing = {"seed", "scheme", x, metric} - set(rows.columns)
    if missing:
        raise InputError(f"rows lack column(s) {', '.join(sorted(missing))} needed to plot {metric} against {x}")
    keep = rows[rows["scheme"].isin(schemes)]
    drops = keep.groupby([series, x, "seed"], sort=False)[metric].first().reset_index()
    out = drops.groupby([series, x])[metric].agg(
        **{f"{metric}_mean": "mean", f"{metric}_ci95": lambda v: _ci95(v.to_numpy()), "n_drops": "size"}
    ).reset_index()
    if series == "scheme":
        out["_order"] = out["scheme"].map({s: i for i, s in enumerate(schemes)})
        out = out.sort_values(["_order", x]).drop(columns="_order")
    return out.reset_index(drop=True)


def plot_lines(rows: pd.DataFrame, png_path: Path, *, x: str, metric: str, schemes: tuple[str, ...],
               xlabel: str, title: str) -> pd.DataFrame:
    """Mean ``metric`` against ``x`` per scheme with 95 % CI bars; writes ``png_path``, returns the numbers."""
    table = summarise(rows, x, metric, schemes)
    plt, fig, ax = new_axes()
    for scheme, part in table.groupby("scheme", sort=False):
        ax.errorbar(part[x], part[f"{metric}_mean"], yerr=part[f"{metric}_ci95"].fillna(0.0), capsize=3,
                    marker=MARKERS.get(scheme, "o"), label=LABELS.get(scheme, scheme))
    save_axes(plt, fig, ax, png_path, xlabel, METRICS[metric], title)
    return table


def _one(rows: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    if name not in rows:
        raise InputError(f"no rows for sweep {name!r}; have: {', '.join(sorted(rows)) or 'none'}")
    return rows[name]


def _line_figure(number: str, title: str, x: str, metric: str, schemes: tuple[str, ...], xlabel: str, axes: str
                 ) -> Figure:
    name = f"cf-mntn-fig{number}"

    def plot(rows: dict[str, pd.DataFrame], png_path: Path) -> pd.DataFrame:
        return plot_lines(_one(rows, name), Path(png_path), x=x, metric=metric, schemes=schemes, xlabel=xlabel,
                          title=f"000 Fig. {number}: {title}")

    return register_figure(Figure("cf-mntn", number, title, (SWEEP_DIR / f"{name}.toml",), plot,
                                  f"{axes}; {RATE_AXIS}; mean over drops with 95 % CI"))


FIG9_ENVIRONMENTS = (("dense", "(L, K, N) = (30, 14, 96 = 12 × 8)"), ("moderate", "(20, 10, 64 = 8 × 8)"),
                     ("sparse", "(10, 6, 32 = 8 × 4)"))


def plot_fig9(rows: dict[str, pd.DataFrame], png_path: Path) -> pd.DataFrame:
    """000 Fig. 9: CF-mNTN minimum rate against SNR in the dense, moderate and sparse environments."""
    parts = []
    for env, _ in FIG9_ENVIRONMENTS:
        part = summarise(_one(rows, f"cf-mntn-fig9-{env}"), "snr_db", "min_se_bps_hz",
                         ("cf-mntn-smrt", "cf-mntn-szf"))
        part.insert(0, "environment", env)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    plt, fig, ax = new_axes()
    for (env, scheme), part in table.groupby(["environment", "scheme"], sort=False):
        ax.errorbar(part["snr_db"], part["min_se_bps_hz_mean"], yerr=part["min_se_bps_hz_ci95"].fillna(0.0),
                    capsize=3, marker=MARKERS[scheme], linestyle="-" if scheme.endswith("smrt") else "--",
                    color=f"C{[e for e, _ in FIG9_ENVIRONMENTS].index(env)}",
                    label=f"{env}, {LABELS[scheme]}")
    save_axes(plt, fig, ax, Path(png_path), "SNR (dB)", METRICS["min_se_bps_hz"],
          "000 Fig. 9: minimum rate vs SNR, dense / moderate / sparse")
    return table


ITERATION_KINDS = (("inner", "inner_iters"), ("outer", "outer_iters"), ("total", None))


def plot_iterations(rows: dict[str, pd.DataFrame], png_path: Path) -> pd.DataFrame:
    """000 Fig. 10: empirical CDFs of Algorithm 1's inner, outer and total iterations per drop."""
    frame = _one(rows, "cf-mntn-fig10")
    keep = frame[frame["scheme"].isin(("cf-mntn-smrt", "cf-mntn-szf"))]
    drops = keep.groupby(["scheme", "seed"], sort=False)[["inner_iters", "outer_iters"]].first().reset_index()
    drops["total_iters"] = drops["inner_iters"] + drops["outer_iters"]
    plt, fig, ax = new_axes()
    parts = []
    for scheme, part in drops.groupby("scheme", sort=False):
        for (kind, column), colour in zip(ITERATION_KINDS, ("C0", "C1", "C2")):
            values = np.sort(part[column or "total_iters"].to_numpy())
            counts, cdf = np.unique(values, return_counts=True)
            cdf = np.cumsum(cdf) / values.size
            parts.append(pd.DataFrame({"scheme": scheme, "kind": kind, "iterations": counts, "cdf": cdf}))
            ax.step(np.r_[0, counts], np.r_[0.0, cdf], where="post", color=colour, marker=MARKERS[scheme],
                    linestyle="--" if scheme.endswith("szf") else "-", markersize=4, label=f"{kind}, {LABELS[scheme]}")
    save_axes(plt, fig, ax, Path(png_path), "iterations to converge", "CDF over drops",
          "000 Fig. 10: iterations of Algorithm 1")
    return pd.concat(parts, ignore_index=True)


_line_figure("3", "sum-rate vs SNR", "snr_db", "sum_se_bps_hz", BENCHMARKS, "SNR (dB)", f"x: {SNR_AXIS}")
_line_figure("4", "sum-rate vs number of satellites L", "n_sat", "sum_se_bps_hz", BENCHMARKS,
             "number of LEO satellites L", "x: L satellites in the 700 × 700 km box; ρ_t = 40 dBm")
_line_figure("5", "minimum rate vs L: clustering and power allocation", "n_sat", "min_se_bps_hz", CLUSTERING,
             "number of LEO satellites L", "x: L satellites in the box; sMRT for every scheme; ρ_t = 40 dBm")
_line_figure("6", "sum-rate vs number of users K (K_max = ⌊8K/10⌋, SNR 30 dB)", "n_user", "sum_se_bps_hz",
             BENCHMARKS, "number of users K",
             f"x: K users in the 200 km disc, K_max = ⌊8K/10⌋; SNR 30 dB, {SNR_AXIS}")
_line_figure("7", "sum-rate vs Rician K-factor κ (same κ on every link)", "kappa_db", "sum_se_bps_hz", BENCHMARKS,
             "Rician K-factor κ (dB)", "x: κ of every link (dB); ρ_t = 40 dBm")
_line_figure("8", "minimum rate vs number of antennas N", "n_ant", "min_se_bps_hz", BENCHMARKS,
             "number of antennas N",
             "x: N = n_h × n_v, square UPAs (4 × 4 … 12 × 12), λ/2 spacing; ρ_t = 40 dBm")
register_figure(Figure(
    "cf-mntn", "9", "CF-mNTN minimum rate vs SNR: dense, moderate, sparse",
    tuple(SWEEP_DIR / f"cf-mntn-fig9-{env}.toml" for env, _ in FIG9_ENVIRONMENTS), plot_fig9,
    f"x: {SNR_AXIS}; environments " + "; ".join(f"{env} {desc}" for env, desc in FIG9_ENVIRONMENTS)
    + f" (UPA n_h × n_v); K_max = 8; {RATE_AXIS}; mean over drops with 95 % CI"))
register_figure(Figure(
    "cf-mntn", "10", "CDF of Algorithm 1 iterations (inner, outer, total)", (SWEEP_DIR / "cf-mntn-fig10.toml",),
    plot_iterations,
    "x: iterations per drop — inner = cone programs solved in all inner (SCA/ratio) loops, polish included; "
    "outer = reweighted-l2 iterations; total = inner + outer; y: empirical CDF over drops; 000's default set-up"))
