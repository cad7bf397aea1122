"""``leosim passes``: rise, culmination and set of every satellite pass over one ground point."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..constants import NS_PER_S
from ..errors import InputError
from ..orbits.catalog import Catalog
from ..orbits.geodesy import geodetic_to_ecef
from ..orbits.passes import find_passes
from ..orbits.propagate import SGP4Warning
from ..timebase import format_iso8601_ms, jd_to_utc_ns, to_utc_ns

FILE_COLUMNS = ["sat_id", "sat_name", "rise_utc", "culmination_utc", "set_utc", "max_elevation_deg", "duration_s"]
_TIME_COLUMNS = ("rise_utc", "culmination_utc", "set_utc")


def _validate(args: argparse.Namespace) -> None:
    if (args.tle is None) == (args.preset is None):
        raise InputError("give exactly one of --tle FILE or --preset NAME")
    if args.lat is None or args.lon is None:
        raise InputError("--lat DEG and --lon DEG are required")
    checks = [
        ("--lat", args.lat, "deg", -90.0 <= args.lat <= 90.0, "[-90, 90]"),
        ("--lon", args.lon, "deg", -180.0 <= args.lon < 360.0, "[-180, 360)"),
        ("--height-m", args.height_m, "m", -500.0 <= args.height_m <= 100_000.0, "[-500, 100000]"),
        ("--hours", args.hours, "h", args.hours > 0.0 and np.isfinite(args.hours), "> 0"),
        ("--min-elevation-deg", args.min_elevation_deg, "deg", 0.0 <= args.min_elevation_deg < 90.0, "[0, 90)"),
        ("--step-s", args.step_s, "s", 0.0 < args.step_s <= 120.0, "(0, 120]"),
    ]
    for flag, value, unit, ok, allowed in checks:
        if not ok:
            raise InputError(f"{flag}={value:g} {unit} outside {allowed}")
    if args.output is not None and Path(args.output).suffix.lower() not in (".csv", ".parquet"):
        raise InputError(f"-o {args.output}: output must end in .csv or .parquet")
    if args.plot is not None:
        plot = Path(args.plot)
        if plot.suffix.lower() != ".png":
            raise InputError(f"--plot {args.plot}: the figure must be a .png file")
        if not (plot.parent if str(plot.parent) else Path(".")).is_dir():
            raise InputError(f"--plot {args.plot}: folder {plot.parent} does not exist")


def _catalog(args: argparse.Namespace) -> Catalog:
    if args.preset is not None:
        from ..orbits.walker import walker_catalog

        return walker_catalog(args.preset)
    from ..orbits.tle import load_catalog

    return load_catalog(args.tle)


def file_table(passes: pd.DataFrame) -> pd.DataFrame:
    """The pass table as written to files: ISO 8601 ms 'Z' strings ("" / null where truncated)."""
    out = pd.DataFrame({"sat_id": passes["sat_id"].astype(np.int64), "sat_name": passes["sat_name"].astype(str)})
    for col in _TIME_COLUMNS:
        ns = passes[col].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ns]")
        out[col] = format_iso8601_ms(ns) if len(ns) else np.array([], dtype=str)
    out["max_elevation_deg"] = passes["max_elevation_deg"].astype(float)
    out["duration_s"] = passes["duration_s"].astype(float)
    return out[FILE_COLUMNS]


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write CSV or Parquet atomically: a temporary file in the same folder, then rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        if path.suffix.lower() == ".parquet":
            frame = table.copy()
            for col in _TIME_COLUMNS:  # truncated ends are null in Parquet
                frame[col] = frame[col].where(frame[col] != "", None)
            frame.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, index=False, float_format="%.6f")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def format_passes(table: pd.DataFrame) -> str:
    """Aligned text of the file table (every row); '-' marks an instant outside the window."""
    head = ["sat_id", "sat_name", "rise (UTC)", "culmination (UTC)", "set (UTC)", "max el (deg)", "duration (s)"]
    rows = [
        [str(r.sat_id), r.sat_name, r.rise_utc or "-", r.culmination_utc or "-", r.set_utc or "-",
         f"{r.max_elevation_deg:.2f}", f"{r.duration_s:.1f}"]
        for r in table.itertuples(index=False)
    ]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]
    right = {0, 5, 6}

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(head), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def summary(passes: pd.DataFrame) -> str:
    """One line: N passes, M satellites, median/max duration, truncated count."""
    if passes.empty:
        return "0 passes"
    d = passes["duration_s"]
    n_trunc = int(passes["truncated"].sum())
    return (f"{len(passes)} passes, {passes['sat_id'].nunique()} satellites, duration median {d.median():.1f} s,"
            f" max {d.max():.1f} s ({n_trunc} cut by the window)")


def _progress_callback():
    """A rich progress bar on stderr when stderr is a terminal; otherwise nothing."""
    if not sys.stderr.isatty():
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("passes"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TimeRemainingColumn(), console=Console(stderr=True), transient=True)
    task = bar.add_task("passes", total=1.0)
    return bar, (lambda done, total: bar.update(task, completed=done / total))


def _run(args: argparse.Namespace) -> int:
    _validate(args)
    catalog = _catalog(args)
    start_ns = to_utc_ns(args.start) if args.start else int(jd_to_utc_ns(catalog.median_epoch_jd()))
    lon = args.lon - 360.0 if args.lon >= 180.0 else args.lon
    ground = geodetic_to_ecef(args.lat, lon, args.height_m)
    duration_s = args.hours * 3600.0
    bar, callback = _progress_callback()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SGP4Warning)
        if bar is not None:
            with bar:
                passes = find_passes(catalog, ground, start_ns, duration_s, args.min_elevation_deg,
                                     step_s=args.step_s, progress=callback)
        else:
            passes = find_passes(catalog, ground, start_ns, duration_s, args.min_elevation_deg, step_s=args.step_s)
    for w in caught:
        if issubclass(w.category, SGP4Warning):
            print(f"leosim: warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    table = file_table(passes)
    written = write_table(table, args.output) if args.output is not None else None
    end_ns = start_ns + int(round(duration_s * NS_PER_S))
    print(f"{len(catalog)} satellites ({catalog.source}) over lat {args.lat:g}°, lon {args.lon:g}°,"
          f" {args.height_m:g} m; {format_iso8601_ms(np.int64(start_ns))} … {format_iso8601_ms(np.int64(end_ns))};"
          f" mask {args.min_elevation_deg:g}°")
    if len(table) and written is None:
        print(format_passes(table))
    print(summary(passes))
    if written is not None:
        print(f"wrote {len(table)} passes to {written}")
    if args.plot is not None:
        path = plot_passes(catalog, passes, ground, start_ns, duration_s, args, args.plot)
        print(f"wrote the sky plot and map to {path}")
    return 0


#: s, spacing of the track samples of ``--plot``.
PLOT_STEP_S = 10.0


def plot_passes(catalog: Catalog, passes: pd.DataFrame, ground: np.ndarray, start_ns: int, duration_s: float,
                args: argparse.Namespace, path: str | os.PathLike) -> Path:
    """``--plot``: sky plot of every pass and map of the point and the sub-satellite tracks during the
    passes, side by side in one PNG (written atomically)."""
    from matplotlib.figure import Figure

    from ..analysis import geometry_views as gv
    from ..analysis.plots import figure_png

    ids = np.isin(catalog.sat_ids, passes["sat_id"].to_numpy(np.int64)) if len(passes) else np.zeros(len(catalog), bool)
    sub = catalog.subset(ids)
    t_s = np.arange(0.0, duration_s + 1e-9, PLOT_STEP_S)
    if len(sub):
        sky = gv.sky_tracks(sub, ground, start_ns, t_s, args.min_elevation_deg)
        tracks = gv.ground_tracks(sub, start_ns, t_s).merge(sky[["t_s", "sat_id"]], on=["t_s", "sat_id"])
    else:
        sky = pd.DataFrame({"t_s": [], "sat_id": [], "azimuth_deg": [], "elevation_deg": []})
        tracks = pd.DataFrame({"t_s": [], "sat_id": [], "lat_deg": [], "lon_deg": []})
    fig = Figure(figsize=(13.0, 6.0), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1.0, 1.25])
    none = np.zeros(len(sky), dtype=bool)
    window = f"{format_iso8601_ms(np.int64(start_ns))} + {duration_s / 3600:g} h"
    gv.plot_sky(sky, [(f"{len(passes)} passes above {args.min_elevation_deg:g}°", none, none, "#1f77b4")],
                title=f"sky over lat {args.lat:g}°, lon {args.lon:g}°", min_elevation_deg=args.min_elevation_deg,
                step_s=PLOT_STEP_S, track_colour="#1f77b4", fig=left)
    point = pd.DataFrame({"user_id": [0], "lat_deg": [args.lat], "lon_deg": [args.lon - 360.0 if args.lon >= 180 else args.lon]})
    gv.plot_map(tracks, point, title=f"sub-satellite points during the passes, {window}", step_s=PLOT_STEP_S,
                highlight_user=0, track_colour="#1f77b4", arrows=len(passes) <= 60,
                labels=("", "ground point"), fig=right)
    png = figure_png(fig)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        Path(tmp).write_bytes(png)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _one_line_error(parser: argparse.ArgumentParser):
    def error(message: str):
        parser.exit(2, f"leosim: error: passes: {message}\n")

    return error


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("passes", help="rise, culmination and set of satellite passes over a ground point",
                       description="List every pass above an elevation mask over one ground point, "
                                   "with rise/set instants root-found to better than 1 ms.")
    p.error = _one_line_error(p)  # one line on stderr, exit 2, like every leosim error
    src = p.add_argument_group("satellites (one of)")
    src.add_argument("--tle", metavar="FILE", help="TLE (2/3-line) or OMM file")
    src.add_argument("--preset", metavar="NAME", help="Walker preset, e.g. starlink-shell1, oneweb, iridium")
    p.add_argument("--lat", type=float, metavar="DEG", help="geodetic latitude, deg in [-90, 90]")
    p.add_argument("--lon", type=float, metavar="DEG", help="longitude, deg in [-180, 360)")
    p.add_argument("--height-m", type=float, default=0.0, metavar="M", help="height above the WGS84 ellipsoid, m")
    p.add_argument("--start", metavar="ISO8601", help="window start, e.g. 2026-02-24T00:00:00Z "
                                                      "(default: the median element-set epoch)")
    p.add_argument("--hours", type=float, default=24.0, metavar="H", help="window length, h (default 24)")
    p.add_argument("--min-elevation-deg", type=float, default=10.0, metavar="E", help="mask, deg (default 10)")
    p.add_argument("--step-s", type=float, default=30.0, metavar="S",
                   help="sampling step, s (default 30; roots are exact whatever the step)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the table to FILE.csv or FILE.parquet (instead of printing every row)")
    p.add_argument("--plot", metavar="FILE.png",
                   help="also draw a sky plot of the passes and a map of their sub-satellite tracks to FILE.png")
    p.set_defaults(func=_run)
