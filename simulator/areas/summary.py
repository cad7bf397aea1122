"""The files ``leosim run`` adds to a multi-area run directory: the headline numbers by area and a
figure of them against latitude.

:func:`write_area_summary` writes :data:`SUMMARY_CSV` (:func:`simulator.analysis.areas.area_headline`
of the complete areas whose files check) and :data:`LATITUDE_PNG` (:func:`simulator.analysis.areas.plot_vs_latitude`:
RSAP handovers and serving-set changes per user-hour and median SE against the area latitude).
``docs/outputs.md``, "Several service areas"; ``leosim report`` on the run directory draws more.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["write_area_summary", "SUMMARY_CSV", "LATITUDE_PNG"]

#: Files :func:`write_area_summary` adds to a multi-area run directory.
SUMMARY_CSV = "areas_headline.csv"
LATITUDE_PNG = "areas_by_latitude.png"


def write_area_summary(run_dir: str | Path, damaged: dict[str, str] | None = None) -> tuple[Path, Path] | None:
    """Write :data:`SUMMARY_CSV` and :data:`LATITUDE_PNG` into ``run_dir`` (atomically) from the
    complete areas whose files check; None when there is none. Returns their paths.

    An area with a damaged chunk file is left out; with a ``damaged`` dict its one-line error is
    put there under the area's name (``leosim run`` prints it).
    """
    from ..analysis.areas import area_headline, plot_vs_latitude
    from ..analysis.loading import RunData
    from ..analysis.plots import figure_png
    from ..engine.manifest import write_atomic
    from ..errors import InputError

    run_dir = Path(run_dir)
    found: dict[str, str] = {} if damaged is None else damaged
    try:
        table = area_headline(RunData.from_areas_dir(run_dir, damaged=found), complete_only=True)
    except InputError:  # no area has started, or none opens
        return None
    if table.empty:
        return None
    csv_path, png_path = run_dir / SUMMARY_CSV, run_dir / LATITUDE_PNG
    text = table.to_csv(index=False, float_format="%.6g")
    write_atomic(csv_path, lambda tmp: tmp.write_text(text))
    png = figure_png(plot_vs_latitude(table))
    write_atomic(png_path, lambda tmp: tmp.write_bytes(png))
    return csv_path, png_path
