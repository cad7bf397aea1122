"""Results of a multi-area run by area: the headline of every area, figures against the area
latitude, and the report of the whole run.

A multi-area run opens with :func:`~simulator.analysis.load_run` as one
:class:`~simulator.analysis.RunData` whose metrics group by (area, scheme, RSAP policy)
(:func:`~simulator.analysis.loading.by_area`). On top of that:

- :func:`area_headline` — :func:`~simulator.analysis.headline` of every area with its centre;
- :func:`plot_vs_latitude` — chosen headline numbers against the area latitude, one curve per
  scheme, one panel column per RSAP policy (one line style per run when a ``run`` column is given);
- :func:`build_areas_report` — the ``leosim report`` document of a multi-area run
  (``docs/commands/report.md``, "Several service areas").
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .headline import HEADLINE_METRICS, headline, headline_table
from .loading import AREA, RunData

__all__ = ["area_headline", "plot_vs_latitude", "build_areas_report", "HANDOVER_ROWS", "SE_ROWS"]

#: (column of :func:`area_headline`, axis label) of the handover figure against latitude.
HANDOVER_ROWS = (("rsap_per_user_hour", "RSAP handovers\nper user-hour"),
                 ("serving_changes_per_user_hour", "serving-set changes\nper user-hour"))
#: (column, axis label) of the spectral-efficiency figure against latitude.
SE_ROWS = (("median_se_bps_hz", "median SE\n(bit/s/Hz)"), ("p5_se_bps_hz", "5th-percentile SE\n(bit/s/Hz)"))


def area_headline(run: RunData, *, complete_only: bool = False) -> pd.DataFrame:
    """The headline numbers of every area of a multi-area ``run``, with the area's centre.

    Parameters
    ----------
    run : RunData — a multi-area run (:attr:`RunData.areas` set)
    complete_only : bool — keep only the areas whose run is complete

    Returns
    -------
    DataFrame — ``area``, ``lat_deg``, ``lon_deg`` (centre of the area's users, deg), ``scheme``,
    ``rsap_policy``, then :data:`~simulator.analysis.headline.HEADLINE_METRICS`; areas in the run's
    order, lanes in scenario order.
    """
    from ..errors import InputError

    if run.areas is None:
        raise InputError(f"{run.name}: not a multi-area run (no areas.json); use headline(run)")
    cols = [AREA, "lat_deg", "lon_deg", "scheme", "rsap_policy", *HEADLINE_METRICS]
    # Area by area, each area's tables released before the next is read: the memory of one area
    # (stacking every area's rates took 3.9 GB for latitudes-24h.toml, 7 areas x 24 h).
    parts = []
    for name, area in run.areas.items():
        if complete_only and area.status != "complete":
            continue
        parts.append(headline(area).assign(**{AREA: name}))
        area.release_tables()
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if table.empty:
        return pd.DataFrame({c: pd.Series(dtype=object if c in (AREA, "scheme", "rsap_policy") else float)
                             for c in cols})
    table = table.merge(run.area_info[[AREA, "lat_deg", "lon_deg"]], on=AREA, how="left", sort=False)
    return table[cols].reset_index(drop=True)


def plot_vs_latitude(table: pd.DataFrame, rows: tuple[tuple[str, str], ...] = HANDOVER_ROWS + SE_ROWS[:1]) -> Figure:
    """Headline numbers against the area latitude.

    One row of panels per metric of ``rows``, one column per RSAP policy, one curve per scheme (the
    report's scheme styles), points at the areas' latitudes sorted south to north. With a ``run``
    column (``leosim compare``), one line style per run.

    Parameters
    ----------
    table : DataFrame — :func:`area_headline` (optionally stacked with a ``run`` column)
    rows : tuple of (column, axis label)
    """
    from ..scenario import RSAP_POLICIES, SCHEMES
    from .plots import _RUN_STYLES, _empty, _figure, _legend, _ordered, _runs, _run_rows, scheme_style

    table = table.replace([np.inf, -np.inf], np.nan)
    if table.empty:
        return _empty("no area with a complete chunk")
    policies = _ordered(table["rsap_policy"].unique(), RSAP_POLICIES)
    schemes = _ordered(table["scheme"].unique(), SCHEMES)
    runs = _runs(table)
    fig, axes = _figure(len(rows), len(policies), 1.0 + 2.2 * len(rows), sharey="row")
    for col, policy in enumerate(policies):
        for row, (metric, label) in enumerate(rows):
            ax = axes[row, col]
            for i, run in enumerate(runs):
                mine = _run_rows(table, run)
                for scheme in schemes:
                    one = mine[(mine["rsap_policy"] == policy) & (mine["scheme"] == scheme)].sort_values("lat_deg")
                    style = {**scheme_style(scheme), **({"linestyle": _RUN_STYLES[i % len(_RUN_STYLES)]}
                                                         if len(runs) > 1 else {})}
                    ax.plot(one["lat_deg"].to_numpy(float), one[metric].to_numpy(float), linewidth=1.4,
                            markersize=4, **style)
            ax.grid(True, alpha=0.3)
            if row == 0:
                ax.set_title(f"RSAP policy: {policy}", fontsize=10, loc="left")
            if col == 0:
                ax.set_ylabel(label)
            if row == len(rows) - 1:
                ax.set_xlabel("area latitude (deg)")
    _legend(fig, {s: scheme_style(s) for s in schemes}, runs)
    return fig


def _area_title(info: pd.Series) -> str:
    lat, lon = info["lat_deg"], info["lon_deg"]
    where = "" if pd.isna(lat) else f" ({abs(lat):.2f}° {'S' if lat < 0 else 'N'}, {abs(lon):.2f}° {'W' if lon < 0 else 'E'})"
    return f"Area {info[AREA]}{where}"


def build_areas_report(run: RunData, *, output: str | Path | None = None, ping_pong_window_s: float = 10.0):
    """The ``leosim report`` document of a multi-area run (``docs/commands/report.md``).

    Sections: the headline by area (area, scheme, RSAP policy); handovers per user-hour against
    the area latitude (RSAP handovers and serving-set changes, per scheme and policy) with the
    handover-rate table by area; spectral efficiency against latitude (median and 5th percentile)
    with the SE summary by area; the areas and the scenario; then one section per area with its
    headline and a link to its own report (``<run>/area=<name>/report.html``, written by
    ``leosim report <run>/area=<name>``) when that file exists. ``output`` (the HTML file) makes
    those links relative to it.
    """
    from . import coverage_summary, handover_rate, ping_pong_rate, scenario_summary, se_summary
    from .plots import figure_png
    from .report import Document, FigureItem, Section, Table, _link_budget_line, _utc, check_window, partial_banner

    check_window(ping_pong_window_s)
    lanes = area_headline(run)
    wide = headline_table(None, lanes.drop(columns=["lat_deg", "lon_deg"]))
    wide = wide.merge(run.area_info[[AREA, "lat_deg"]], on=AREA, how="left", sort=False)
    wide = wide[[AREA, "lat_deg", *[c for c in wide.columns if c not in (AREA, "lat_deg")]]]
    rate = handover_rate(run)
    summary = scenario_summary(run)
    n_users = run.area_info["n_users"].dropna()
    summary["users"] = (f"{int(n_users.iloc[0])} per area" if len(set(n_users)) == 1 else
                        "per area: " + ", ".join(f"{a} {int(n)}" for a, n in zip(run.area_info[AREA], n_users))) \
        if len(n_users) else summary["users"]
    chunk_s, planned = (run.scenario.get("output") or {}).get("chunk_s"), (run.scenario.get("time") or {}).get("duration_s")
    per_area = f", {int(np.ceil(float(planned) / float(chunk_s) - 1e-9))} per area" if chunk_s and planned else ""
    summary["chunks"] = f"{run.n_chunks} complete in all{per_area} ({chunk_s:g} s each)" if chunk_s else \
        f"{run.n_chunks} complete in all"
    summary = pd.DataFrame(list(summary.items()), columns=["field", "value"])
    info = run.area_info.copy()
    info["window_s"] = [run.areas[a].duration_s if a in run.areas else 0.0 for a in info[AREA]]
    info["report"] = [_area_report(run, a, output)[1] for a in info[AREA]]
    n_areas = len(run.areas)
    sections = [
        Section("headline", "At a glance, by area",
                f"{n_areas} service areas replayed independently. Per area and scheme, under each RSAP policy: RSAP "
                "handovers between two satellites and serving-set changes per user-hour, median and 5th-percentile "
                "spectral efficiency (bit/s/Hz), share of user-steps without service; ratio = max-service-time / "
                "best-channel. lat_deg: centre of the area's users.",
                tables=[Table("headline_by_area", "Headline by area", wide),
                        Table("headline_lanes_by_area", "Headline, one row per area, scheme and policy", lanes,
                              shown=False)]),
        Section("handovers-by-latitude", "Handovers against latitude",
                "Handovers per user-hour of each area against its latitude: RSAP handovers between two satellites "
                "(top) and changes of the serving set (bottom), one curve per scheme, one column per RSAP policy.",
                tables=[Table("handover_rate_by_area", "Handover rate by area, scheme, policy and kind", rate,
                              "ci_low / ci_high: confidence interval over the area's users.", shown=False),
                        Table("ping_pong_by_area", f"Ping-pong RSAP handovers by area (within {ping_pong_window_s:g} s)",
                              ping_pong_rate(run, window_s=ping_pong_window_s), shown=False)],
                figures=[FigureItem("handovers-vs-latitude", "Handovers per user-hour against area latitude",
                                    figure_png(plot_vs_latitude(lanes, HANDOVER_ROWS)))]),
        Section("se-by-latitude", "Spectral efficiency against latitude",
                "Median and 5th percentile of the per-user-step spectral efficiency of each area (0 when unserved) "
                "against its latitude, one curve per scheme, one column per RSAP policy.",
                tables=[Table("se_summary_by_area", "Spectral efficiency by area", se_summary(run), shown=False),
                        Table("coverage_summary_by_area", "Coverage time by area", coverage_summary(run), shown=False)],
                figures=[FigureItem("se-vs-latitude", "Spectral efficiency against area latitude",
                                    figure_png(plot_vs_latitude(lanes, SE_ROWS)))]),
        Section("areas", "Areas and scenario",
                "Every area of the run (areas.json): centre of its users, users, status, simulated time covered, "
                "and its own report when one was written. The scenario below is shared by all areas.",
                tables=[Table("areas", "Areas", info), Table("scenario", "Scenario summary", summary)]),
    ]
    for _, row in run.area_info.iterrows():
        name = row[AREA]
        if name not in run.areas:
            sections.append(Section(f"area-{name}", _area_title(row), f"Not started (status {row['status']})."))
            continue
        area = run.areas[name]
        own, href = _area_report(run, name, output)
        intro = (f"{area.status}, {area.n_chunks} chunk{'' if area.n_chunks == 1 else 's'}, "
                 f"{area.duration_s:g} s simulated. "
                 + (f"Its full report: {href}." if href else
                    f"Its full report (handovers, coverage, SE, geometry, serving timeline): leosim report {own.parent}"))
        sections.append(Section(f"area-{name}", _area_title(row), intro,
                                tables=[Table(f"headline_{name}", f"Headline of {name}",
                                              headline_table(None, lanes[lanes[AREA] == name]
                                                             .drop(columns=[AREA, "lat_deg", "lon_deg"])))],
                                links=[("report of this area", href)] if href else []))
    subtitle = (f"{run.status}, {n_areas} areas, {run.n_chunks} chunks in all, {_utc(run.window_start)} to "
                f"{_utc(run.window_end)}. {_link_budget_line(run)}")
    banner = partial_banner(run) if run.partial else None
    if banner:
        banner = (f"This multi-area run is {run.status}: areas not complete are reported from their complete "
                  "chunks (see the areas table).")
    return Document(f"leosim report: {run.name} ({n_areas} areas)", subtitle, sections, banner=banner)


def _area_report(run: RunData, name: str, output: str | Path | None) -> tuple[Path, str]:
    """An area's own report file, and its link (relative to ``output``; empty when not written)."""
    own = Path(run.run_dir or ".") / f"area={name}" / "report.html"
    if run.run_dir is None or not own.is_file():
        return own, ""
    start = Path(output).resolve().parent if output is not None else Path(run.run_dir).resolve()
    return own, Path(os.path.relpath(own.resolve(), start)).as_posix()
