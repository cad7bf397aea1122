"""Results of a multi-area run by area: the headline numbers of every area and figures vs latitude.

:func:`area_headline` applies :func:`simulator.analysis.headline.headline` (RSAP handovers and
serving-set changes per user-hour, median and 5th-percentile SE, outage share) to each area's run
directory and adds the area's name and centre from ``areas.json``; :func:`plot_vs_latitude` draws
those numbers against the area latitude, one curve per scheme and one panel column per RSAP policy.
``leosim run`` writes both into the run directory (``docs/outputs.md``, "Several service areas").
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["area_headline", "plot_vs_latitude", "write_area_summary", "SUMMARY_CSV", "LATITUDE_PNG"]

#: Files :func:`write_area_summary` adds to a multi-area run directory.
SUMMARY_CSV = "areas_headline.csv"
LATITUDE_PNG = "areas_by_latitude.png"
#: (column of :func:`area_headline`, axis label) of the rows of :func:`plot_vs_latitude`.
_ROWS = (("rsap_per_user_hour", "RSAP handovers\nper user-hour"),
         ("serving_changes_per_user_hour", "serving-set changes\nper user-hour"),
         ("median_se_bps_hz", "median SE\n(bit/s/Hz)"))


def area_headline(run_dir: str | Path) -> pd.DataFrame:
    """The headline numbers of every complete area of the multi-area run in ``run_dir``.

    Returns
    -------
    DataFrame — ``area``, ``lat_deg``, ``lon_deg`` (centre of the area's users, deg), ``scheme``,
    ``rsap_policy``, then :data:`simulator.analysis.headline.HEADLINE_METRICS`; areas in the order
    of ``areas.json``, lanes in scenario order. Areas that are not complete are left out.
    """
    from ..analysis.headline import HEADLINE_METRICS, headline
    from ..analysis.loading import load_run
    from .execute import AREAS_MANIFEST

    run_dir = Path(run_dir)
    entries = json.loads((run_dir / AREAS_MANIFEST).read_text())["areas"]
    frames = []
    for e in entries:
        if e["status"] != "complete":
            continue
        table = headline(load_run(run_dir / e["directory"]))
        frames.append(table.assign(area=e["name"], lat_deg=e["lat_deg"], lon_deg=e["lon_deg"]))
    cols = ["area", "lat_deg", "lon_deg", "scheme", "rsap_policy", *HEADLINE_METRICS]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("area", "scheme", "rsap_policy") else float)
                             for c in cols})
    return pd.concat(frames, ignore_index=True)[cols]


def plot_vs_latitude(table: pd.DataFrame) -> Figure:
    """Handovers per user-hour (RSAP, serving-set changes) and median SE against area latitude.

    One row per metric, one column per RSAP policy, one curve per scheme (the report's scheme
    styles), points at the areas' latitudes sorted south to north.

    Parameters
    ----------
    table : DataFrame — :func:`area_headline`
    """
    from ..analysis.plots import _empty, _figure, _legend, _ordered, scheme_style
    from ..scenario import RSAP_POLICIES, SCHEMES

    if table.empty:
        return _empty("no complete area")
    policies = _ordered(table["rsap_policy"].unique(), RSAP_POLICIES)
    schemes = _ordered(table["scheme"].unique(), SCHEMES)
    fig, axes = _figure(len(_ROWS), len(policies), 1.0 + 2.2 * len(_ROWS), sharey="row")
    for col, policy in enumerate(policies):
        for row, (metric, label) in enumerate(_ROWS):
            ax = axes[row, col]
            for scheme in schemes:
                one = table[(table["rsap_policy"] == policy) & (table["scheme"] == scheme)].sort_values("lat_deg")
                ax.plot(one["lat_deg"].to_numpy(float), one[metric].to_numpy(float), linewidth=1.4, markersize=4,
                        **scheme_style(scheme))
            ax.grid(True, alpha=0.3)
            if row == 0:
                ax.set_title(f"RSAP policy: {policy}", fontsize=10, loc="left")
            if col == 0:
                ax.set_ylabel(label)
            if row == len(_ROWS) - 1:
                ax.set_xlabel("area latitude (deg)")
    _legend(fig, {s: scheme_style(s) for s in schemes}, [""])
    return fig


def write_area_summary(run_dir: str | Path) -> tuple[Path, Path] | None:
    """Write :data:`SUMMARY_CSV` and :data:`LATITUDE_PNG` into ``run_dir`` (atomically); None when no
    area is complete. Returns their paths."""
    from ..analysis.plots import figure_png
    from ..engine.manifest import write_atomic

    run_dir = Path(run_dir)
    table = area_headline(run_dir)
    if table.empty:
        return None
    csv_path, png_path = run_dir / SUMMARY_CSV, run_dir / LATITUDE_PNG
    text = table.to_csv(index=False, float_format="%.6g")
    write_atomic(csv_path, lambda tmp: tmp.write_text(text))
    png = figure_png(plot_vs_latitude(table.replace([np.inf, -np.inf], np.nan)))
    write_atomic(png_path, lambda tmp: tmp.write_bytes(png))
    return csv_path, png_path
