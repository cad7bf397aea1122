"""Matplotlib figures of a run's metrics (``leosim report`` and ``leosim compare``).

Every function takes the tidy DataFrame of one metric function of :mod:`simulator.analysis` and
returns a :class:`matplotlib.figure.Figure`; :func:`figure_png` renders it to PNG bytes and
releases it. Figures are built with the object-oriented API (``Figure()``, never ``pyplot``), so
they need no display, leave no global figure state behind and do not change the backend of an
interactive session that imports this module.

Conventions shared by all figures:

- one colour per scheme, the same in every figure (:func:`scheme_colour`);
- one panel per RSAP policy where curves are compared across schemes;
- an optional ``run`` column (added by :mod:`simulator.analysis.compare`) overlays several runs:
  the first run is drawn solid, the next ones dashed / dotted (lines) or hatched lighter (bars);
- schemes whose curves are identical within a panel share one legend entry;
- axes carry units: seconds, bit/s/Hz, handovers per user-hour.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..scenario import RSAP_POLICIES, SCHEMES

__all__ = [
    "scheme_colour",
    "scheme_style",
    "figure_png",
    "plot_coverage_cdf",
    "plot_se_cdf",
    "plot_handover_rate",
    "plot_cluster_sizes",
    "plot_serving_timeline",
    "plot_se_over_time",
    "plot_optimiser_cdf",
]

# Twelve colours, one per scheme in the registry order of ``scenario.SCHEMES``; with the line style of
# the scheme's family (three schemes each: CF-mNTN, single-satellite, Fig-5 baselines, UC-DMIMO) and
# a marker per scheme, every pair of the twelve differs in at least two of colour, dashes and marker.
# No scheme is red: red marks the RSAP in the timeline, sky plot and map.
_PALETTE = ("#1f77b4", "#01665e", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
            "#e377c2", "#4d4d4d", "#17becf", "#000000", "#bcbd22", "#0b3d91")
_FAMILY_DASHES = ("-", (0, (6, 2)), (0, (6, 2, 1.5, 2)), (0, (1.5, 1.5)))
_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">", "h", "p")
_RUN_STYLES = ("-", "--", ":", "-.")
_POLICY_STYLE = {"best-channel": "-", "max-service-time": "--"}
_POLICY_COLOUR = {"best-channel": "#1f4e9c", "max-service-time": "#e08214"}
_POLICY_HATCH = {"best-channel": "", "max-service-time": "///"}
_RSAP_COLOUR = "#d62728"
_SERVING_COLOUR = "#9ecae1"
_MAX_LINE_POINTS = 2000  # points drawn per curve; longer curves are thinned (the CSV keeps every point)
_TIMELINE_SATS = 14  # satellites drawn per panel of the serving timeline (those serving longest)
_WIDTH_IN = 11.0
_DPI = 100


def scheme_colour(scheme: str) -> str:
    """The colour of ``scheme`` in every figure (registry order; unknown names cycle the palette).

    >>> scheme_colour(SCHEMES[0])
    '#1f77b4'
    """
    return _PALETTE[_scheme_index(scheme) % len(_PALETTE)]


def _scheme_index(scheme: str) -> int:
    return SCHEMES.index(scheme) if scheme in SCHEMES else sum(map(ord, scheme))


def scheme_style(scheme: str) -> dict:
    """Colour, dashes and marker of ``scheme`` (matplotlib ``color``, ``linestyle``, ``marker``).

    >>> scheme_style(SCHEMES[3])["linestyle"] == scheme_style(SCHEMES[4])["linestyle"]  # one family
    True
    """
    i = _scheme_index(scheme)
    return {"color": _PALETTE[i % len(_PALETTE)], "linestyle": _FAMILY_DASHES[(i // 3) % len(_FAMILY_DASHES)],
            "marker": _MARKERS[i % len(_MARKERS)]}


def figure_png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes (Agg renderer) and release its artists."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    fig.clear()
    return buf.getvalue()


def _ordered(values: Sequence[str], reference: Sequence[str]) -> list[str]:
    """Distinct ``values`` in the order of ``reference``, unknown ones after, alphabetically."""
    present = set(str(v) for v in values)
    return [r for r in reference if r in present] + sorted(present - set(reference))


def _runs(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(df["run"].astype(str))) if "run" in df.columns else [""]


def _run_rows(df: pd.DataFrame, run: str) -> pd.DataFrame:
    return df[df["run"].astype(str) == run] if "run" in df.columns else df


def _figure(n_rows: int, n_cols: int, height_in: float, *, sharex: bool = True, sharey: bool = True):
    fig = Figure(figsize=(_WIDTH_IN, height_in), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, sharex=sharex, sharey=sharey, squeeze=False)
    return fig, axes


def _empty(message: str) -> Figure:
    """A small figure saying why there is nothing to draw (keeps every report section complete)."""
    fig = Figure(figsize=(_WIDTH_IN, 1.2), layout="constrained")
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11)
    return fig


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most ``_MAX_LINE_POINTS`` evenly spaced points of a monotone curve, ends kept."""
    if len(x) <= _MAX_LINE_POINTS:
        return x, y
    idx = np.unique(np.linspace(0, len(x) - 1, _MAX_LINE_POINTS).round().astype(int))
    return x[idx], y[idx]


def _legend(fig: Figure, entries: dict[str, dict], runs: list[str], title: str = "scheme") -> None:
    """One legend for the whole figure, right of the panels: a style per entry, line style per run."""
    handles = [Line2D([], [], linewidth=1.6, markersize=5, **style) for style in entries.values()]
    labels = list(entries)
    if len(runs) > 1:
        handles += [Line2D([], [], color="0.3", linestyle=_RUN_STYLES[i % len(_RUN_STYLES)]) for i in range(len(runs))]
        labels += [f"run {r}" for r in runs]
    fig.legend(handles, labels, loc="outside right upper", title=title, fontsize=8, title_fontsize=9,
               frameon=False)


def _curve_groups(df: pd.DataFrame, x: str, y: str, panel_col: str) -> list[list[str]]:
    """Schemes grouped when their curves are identical in every panel and run (registry order)."""
    by_signature: dict[tuple, list[str]] = {}
    for scheme in _ordered(df["scheme"].unique(), SCHEMES):
        one = df[df["scheme"].astype(str) == scheme]
        keys = [c for c in ("run", panel_col) if c in one.columns]
        one = one.sort_values(keys + [x, y])
        signature = tuple(one[keys].astype(str).itertuples(index=False)) + (
            one[x].to_numpy(float).tobytes(), one[y].to_numpy(float).tobytes())
        by_signature.setdefault(signature, []).append(scheme)
    return list(by_signature.values())


def _step_panels(df: pd.DataFrame, x: str, y: str, panels: list[str], panel_col: str, xlabels: list[str],
                 ylabel: str, height_in: float, *, censored: str | None = None, sharex: bool = True,
                 log_x: Sequence[str] = ()) -> Figure:
    """Step curves ``y(x)`` per scheme (and run), one panel per value of ``panel_col``.

    Schemes with identical curves everywhere are drawn once and named together in the legend; a
    curve identical to one already drawn in the same panel only is drawn dotted on top of it.
    """
    runs = _runs(df)
    groups = _curve_groups(df, x, y, panel_col)
    fig, axes = _figure(1, len(panels), height_in, sharex=sharex)
    for ax, panel, xlabel in zip(axes[0], panels, xlabels):
        sub = df[df[panel_col].astype(str) == panel]
        for i, run in enumerate(runs):
            rows = _run_rows(sub, run)
            drawn: set[bytes] = set()
            for group in groups:
                one = rows[rows["scheme"].astype(str) == group[0]].sort_values([x, y])
                look = scheme_style(group[0])
                colour = look["color"]
                xs, ys = one[x].to_numpy(float), one[y].to_numpy(float)
                key = xs.tobytes() + ys.tobytes()
                dashes = look["linestyle"] if len(runs) == 1 else _RUN_STYLES[i % len(_RUN_STYLES)]
                style = (0, (1.5, 2.5)) if key in drawn else dashes
                drawn.add(key)
                xs, ys = _thin(xs, ys)
                ax.step(xs, ys, where="post", color=colour, linestyle=style, linewidth=1.4)
                if len(xs):  # markers at a few points, offset per scheme so they do not sit on each other
                    every = max(1, len(xs) // 5)
                    start = (_scheme_index(group[0]) * max(1, every // 4)) % every
                    ax.plot(xs[start::every], ys[start::every], linestyle="none", marker=look["marker"],
                            markersize=4.5, color=colour, markerfacecolor="white" if i else colour)
                if censored is not None:
                    cut = one[one[censored] > 0]
                    ax.plot(cut[x], cut[y], linestyle="none", marker="|", markersize=8, color=colour)
        ax.set_title(f"{panel_col.replace('_', ' ')}: {panel}", fontsize=10)
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
        if panel in log_x:
            ax.set_xscale("log")
        elif len(sub) and np.all(sub[x].to_numpy(float) == np.round(sub[x].to_numpy(float))):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0][0].set_ylabel(ylabel)
    axes[0][0].set_ylim(0.0, 1.02)
    entries = {textwrap.fill(" = ".join(g), 34): {**scheme_style(g[0]), **({} if len(runs) == 1 else {"linestyle": "-"})}
               for g in groups}
    _legend(fig, entries, runs)
    return fig


def plot_coverage_cdf(km: pd.DataFrame) -> Figure:
    """Kaplan–Meier CDF of the coverage time (004 Fig 5), one panel per RSAP policy.

    Parameters
    ----------
    km : DataFrame — :func:`simulator.analysis.coverage_time_km` (columns scheme, rsap_policy,
        duration_s, censored, cdf; optional run)

    Returns
    -------
    Figure — step curves of P(coverage time <= t) against t in s; ticks ``|`` mark durations with
    censored intervals (cut by the start or end of the run).
    """
    if km.empty:
        return _empty("no RSAP handover between two satellites: no coverage interval to show")
    km = _with_origin(km, "duration_s", "cdf")
    panels = _ordered(km["rsap_policy"].unique(), RSAP_POLICIES)
    return _step_panels(km, "duration_s", "cdf", panels, "rsap_policy", ["coverage time t (s)"] * len(panels),
                        "P(coverage time ≤ t)", 3.8, censored="censored")


def _with_origin(df: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Prepend (0, 0) to each curve so step curves start at the origin."""
    keys = [c for c in ("run", "scheme", "rsap_policy", "metric") if c in df.columns]
    first = df.groupby(keys, observed=True, sort=False).head(1).copy()
    first[x] = 0.0
    first[y] = 0.0
    for col in ("censored", "events"):
        if col in first.columns:
            first[col] = 0
    return pd.concat([first, df], ignore_index=True)


def plot_se_cdf(cdf: pd.DataFrame) -> Figure:
    """Empirical CDF of the per-user spectral efficiency, one curve per scheme, one panel per policy.

    Parameters
    ----------
    cdf : DataFrame — :func:`simulator.analysis.se_cdf` (scheme, rsap_policy, se_bps_hz, cdf)
    """
    if cdf.empty:
        return _empty("no rates recorded")
    panels = _ordered(cdf["rsap_policy"].unique(), RSAP_POLICIES)
    return _step_panels(cdf, "se_bps_hz", "cdf", panels, "rsap_policy",
                        ["spectral efficiency (bit/s/Hz)"] * len(panels), "CDF", 3.8)


def plot_optimiser_cdf(dist: pd.DataFrame) -> Figure:
    """CDF of the optimiser's iterations and solve time per decision (000 Fig 10), one panel per metric.

    Schemes whose values are all zero for a metric (no iterative solver) are left out of its panel.

    Parameters
    ----------
    dist : DataFrame — :func:`simulator.analysis.optimiser_distribution` (scheme, metric, value, cdf)
    """
    if dist.empty:
        return _empty("no central-node decisions recorded")
    nonzero = dist.groupby(["scheme", "metric"], observed=True)["value"].transform("max") > 0
    dist = dist[nonzero]
    if dist.empty:
        return _empty("no scheme of this run uses an iterative optimiser")
    metrics = list(dict.fromkeys(dist["metric"].astype(str)))
    timed = dist["metric"].astype(str).str.endswith("_s")
    dist = pd.concat([_with_origin(dist[~timed], "value", "cdf"), dist[timed]], ignore_index=True)  # no 0 on log axes
    labels = [f"{m.replace('_', ' ')} ({'s' if m.endswith('_s') else 'count'})" for m in metrics]
    return _step_panels(dist, "value", "cdf", metrics, "metric", labels, "CDF over decisions", 3.6, sharex=False,
                        log_x=[m for m in metrics if m.endswith("_s")])


def plot_handover_rate(rate: pd.DataFrame) -> Figure:
    """Handovers per user-hour by scheme, policy and kind, with confidence-interval whiskers.

    One panel per handover kind (each with its own scale); bars coloured by scheme, hatched for
    ``max-service-time``; with a ``run`` column, later runs are drawn lighter beside the first.

    Parameters
    ----------
    rate : DataFrame — :func:`simulator.analysis.handover_rate` (scheme, rsap_policy, kind,
        per_user_hour, ci_low, ci_high)
    """
    if rate.empty:
        return _empty("no handovers recorded")
    kinds = list(dict.fromkeys(rate["kind"].astype(str)))
    schemes = _ordered(rate["scheme"].unique(), SCHEMES)
    policies = _ordered(rate["rsap_policy"].unique(), RSAP_POLICIES)
    runs = _runs(rate)
    slots = [(p, r) for p in policies for r in runs]
    width = 0.8 / len(slots)
    fig, axes = _figure(len(kinds), 1, 1.2 + 2.0 * len(kinds), sharey=False)
    x = np.arange(len(schemes))
    for ax, kind in zip(axes[:, 0], kinds):
        sub = rate[rate["kind"].astype(str) == kind]
        for j, (policy, run) in enumerate(slots):
            rows = _run_rows(sub[sub["rsap_policy"].astype(str) == policy], run)
            rows = rows.set_index(rows["scheme"].astype(str)).reindex(schemes)
            value = rows["per_user_hour"].to_numpy(float)
            err = np.vstack([value - rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float) - value])
            ax.bar(x - 0.4 + width * (j + 0.5), np.nan_to_num(value), width, yerr=np.clip(np.nan_to_num(err), 0, None),
                   color=[scheme_colour(s) for s in schemes], alpha=1.0 if run == runs[0] else 0.45,
                   hatch=_POLICY_HATCH.get(policy, ".."), edgecolor="white", linewidth=0.0,
                   error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "0.2"})
        ax.set_title(f"kind: {kind}", fontsize=10, loc="left")
        ax.set_ylabel("per user-hour")
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_xticks(x, [] if ax is not axes[-1, 0] else schemes, rotation=30, ha="right", fontsize=8)
    handles = [Patch(facecolor="0.6", hatch=_POLICY_HATCH.get(p, ".."), label=p) for p in policies]
    if len(runs) > 1:
        handles += [Patch(facecolor="0.3", alpha=1.0 if i == 0 else 0.45, label=f"run {r}") for i, r in enumerate(runs)]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, title_fontsize=9, frameon=False)
    return fig


def plot_cluster_sizes(dist: pd.DataFrame) -> Figure:
    """Distribution of the serving-cluster size (004 Fig 4): one small panel per scheme.

    Bars give the fraction of user-steps served by n satellites (n = 0: unserved), one bar per
    RSAP policy (hatched: ``max-service-time``) and run.

    Parameters
    ----------
    dist : DataFrame — :func:`simulator.analysis.cluster_size_distribution` (scheme, rsap_policy,
        n_serving, fraction)
    """
    if dist.empty:
        return _empty("no rates recorded")
    schemes = _ordered(dist["scheme"].unique(), SCHEMES)
    policies = _ordered(dist["rsap_policy"].unique(), RSAP_POLICIES)
    runs = _runs(dist)
    slots = [(p, r) for p in policies for r in runs]
    n_cols = min(4, len(schemes))
    n_rows = -(-len(schemes) // n_cols)
    fig, axes = _figure(n_rows, n_cols, 0.6 + 1.9 * n_rows)
    width = 0.8 / len(slots)
    for ax, scheme in zip(axes.flat, schemes):
        sub = dist[dist["scheme"].astype(str) == scheme]
        for j, (policy, run) in enumerate(slots):
            rows = _run_rows(sub[sub["rsap_policy"].astype(str) == policy], run)
            ax.bar(rows["n_serving"].to_numpy(float) - 0.4 + width * (j + 0.5), rows["fraction"].to_numpy(float),
                   width, color=scheme_colour(scheme), hatch=_POLICY_HATCH.get(policy, ".."), edgecolor="white",
                   linewidth=0.0, alpha=1.0 if run == runs[0] else 0.45)
        ax.set_title(scheme, fontsize=9)
        ax.grid(True, axis="y", alpha=0.3)
    for ax in axes.flat[len(schemes):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("serving satellites n")
    for ax in axes[:, 0]:
        ax.set_ylabel("fraction of user-steps")
    n_max = int(dist["n_serving"].max())
    axes[0][0].set_xticks(range(0, n_max + 1, max(1, (n_max + 1) // 8)))
    handles = [Patch(facecolor="0.6", hatch=_POLICY_HATCH.get(p, ".."), label=p) for p in policies]
    if len(runs) > 1:
        handles += [Patch(facecolor="0.3", alpha=1.0 if i == 0 else 0.45, label=f"run {r}") for i, r in enumerate(runs)]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)
    return fig


def plot_serving_timeline(timeline: pd.DataFrame, *, title: str, sat_label: str = "satellite id",
                          max_sats: int = _TIMELINE_SATS) -> Figure:
    """One user's serving satellites over time: a bar per serving interval, the RSAP in red.

    Each panel shows the ``max_sats`` satellites that serve the user longest (ordered by their first
    service); the others are counted in the panel title, and the CSV keeps every interval.

    Parameters
    ----------
    timeline : DataFrame — :func:`simulator.analysis.serving_timeline` (sat_id, start, end, is_rsap)
        with a ``rsap_policy`` column added: one panel per policy
    title : str — figure title (user and scheme)
    sat_label : str — what the ids are (``NORAD catalogue number`` for real element sets)
    max_sats : int — satellites drawn per panel
    """
    if timeline.empty:
        return _empty(f"{title}: never served")
    policies = _ordered(timeline["rsap_policy"].unique(), RSAP_POLICIES)
    t0 = timeline["start"].min()
    span_s = (timeline["end"].max() - t0).total_seconds()
    scale, unit = (60.0, "min") if span_s <= 3 * 3600 else (3600.0, "h")
    shown: dict[str, list[int]] = {}
    n_all: dict[str, int] = {}
    for policy in policies:
        sub = timeline[timeline["rsap_policy"].astype(str) == policy]
        served_s = (sub["end"] - sub["start"]).dt.total_seconds().groupby(sub["sat_id"]).sum()
        top = served_s.sort_values(ascending=False, kind="stable").index[:max_sats]
        first = sub[sub["sat_id"].isin(top)].groupby("sat_id")["start"].min().sort_values(kind="stable")
        shown[policy] = [int(x) for x in first.index]
        n_all[policy] = len(served_s)
    heights = [0.55 + 0.2 * len(shown[p]) for p in policies]  # in
    fig = Figure(figsize=(_WIDTH_IN, 0.9 + sum(heights)), layout="constrained")
    axes = fig.subplots(len(policies), 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, policy in zip(axes, policies):
        sub = timeline[timeline["rsap_policy"].astype(str) == policy]
        rows = {s: i for i, s in enumerate(shown[policy])}
        sub = sub[sub["sat_id"].isin(rows)]
        start = (sub["start"] - t0).dt.total_seconds().to_numpy() / scale
        length = (sub["end"] - sub["start"]).dt.total_seconds().to_numpy() / scale
        sats = sub["sat_id"].to_numpy(np.int64)
        rsap = sub["is_rsap"].to_numpy(bool)
        for is_rsap, colour in ((False, _SERVING_COLOUR), (True, _RSAP_COLOUR)):
            for sat in np.unique(sats[rsap == is_rsap]):
                mask = (rsap == is_rsap) & (sats == sat)
                ax.broken_barh(list(zip(start[mask], length[mask])), (rows[int(sat)] - 0.38, 0.76), facecolors=colour)
        ax.set_yticks(list(rows.values()), [str(s) for s in rows], fontsize=8)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_ylabel(sat_label, fontsize=9)
        more = (f" — the {len(rows)} serving longest of {n_all[policy]} satellites"
                if n_all[policy] > len(rows) else f" — {n_all[policy]} satellites")
        ax.set_title(f"rsap policy: {policy}{more}", fontsize=10, loc="left")
        ax.grid(True, axis="x", alpha=0.3)
    axes[-1].set_xlabel(f"time since {t0:%Y-%m-%d %H:%M:%S} UTC ({unit})")
    fig.suptitle(title, fontsize=11)
    fig.legend(handles=[Patch(color=_RSAP_COLOUR, label="serving, RSAP"), Patch(color=_SERVING_COLOUR, label="serving")],
               loc="outside right upper", fontsize=8, frameon=False)
    return fig


def plot_se_over_time(sot: pd.DataFrame) -> Figure:
    """Sum and minimum spectral efficiency over the users against time: one panel per scheme.

    In each panel the thick curve is the sum over users, the thin one the minimum; the RSAP policies
    have their own colour and dashes (blue solid ``best-channel``, orange dashed
    ``max-service-time``), and a panel whose policies give identical curves says so in its title.
    All panels share the y axis. Long runs are drawn in at most ``_MAX_LINE_POINTS`` bins per curve:
    the mean of the sum and the minimum of the minimum within each bin (the figure says so).

    Parameters
    ----------
    sot : DataFrame — :func:`simulator.analysis.se_over_time` (time, scheme, rsap_policy,
        sum_se_bps_hz, min_se_bps_hz)
    """
    if sot.empty:
        return _empty("no rates recorded")
    schemes = _ordered(sot["scheme"].unique(), SCHEMES)
    policies = _ordered(sot["rsap_policy"].unique(), RSAP_POLICIES)
    t0 = sot["time"].min()
    elapsed = (sot["time"] - t0).dt.total_seconds().to_numpy()
    span_s = float(elapsed.max())
    scale, unit = (60.0, "min") if span_s <= 3 * 3600 else (3600.0, "h")
    bin_s = 0.0 if sot["time"].nunique() <= _MAX_LINE_POINTS else span_s / _MAX_LINE_POINTS
    sot = sot.assign(_t=elapsed if bin_s == 0.0 else np.floor(elapsed / bin_s) * bin_s)
    n_cols = min(3, len(schemes))
    n_rows = -(-len(schemes) // n_cols)
    fig, axes = _figure(n_rows, n_cols, 1.2 + 2.0 * n_rows)
    for ax, scheme in zip(axes.flat, schemes):
        curves = []
        for policy in policies:
            one = sot[(sot["scheme"].astype(str) == scheme) & (sot["rsap_policy"].astype(str) == policy)]
            g = one.groupby("_t")
            kw = {"color": _POLICY_COLOUR.get(policy, "0.4"), "linestyle": _POLICY_STYLE.get(policy, ":")}
            total, low = g["sum_se_bps_hz"].mean(), g["min_se_bps_hz"].min()
            ax.plot(total.index / scale, total.to_numpy(), linewidth=1.6, **kw)
            ax.plot(low.index / scale, low.to_numpy(), linewidth=0.8, **kw)
            curves.append(total.to_numpy().tobytes() + low.to_numpy().tobytes())
        same = len(curves) > 1 and len(set(curves)) == 1
        ax.set_title(scheme + (" (policies identical)" if same else ""), fontsize=9)
        ax.grid(True, alpha=0.3)
    for ax in axes.flat[len(schemes):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel(f"time since {t0:%H:%M:%S} UTC ({unit})")
    for ax in axes[:, 0]:
        ax.set_ylabel("SE (bit/s/Hz)")
    note = f"; binned to {bin_s:.0f} s (mean of the sum, minimum of the minimum)" if bin_s else ""
    fig.suptitle(f"thick: sum over users, thin: minimum over users; start {t0:%Y-%m-%d %H:%M:%S} UTC{note}",
                 fontsize=9)
    handles = [Line2D([], [], color=_POLICY_COLOUR.get(p, "0.4"), linestyle=_POLICY_STYLE.get(p, ":"),
                      linewidth=1.6, label=p) for p in policies]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9, frameon=False)
    return fig
