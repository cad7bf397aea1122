"""Geometry views: a sky plot of the satellites over a user and a map of users and sub-satellite tracks.

Both are recomputed from the orbits (SGP4, :func:`~simulator.orbits.propagate_ecef`) at a few
seconds' spacing, so they need the run's constellation and users again — rebuilt from the resolved
scenario in the manifest (:func:`run_geometry`) — but no download: the map is an equirectangular
graticule with the users and tracks, without coastlines.

- :func:`sky_tracks` — azimuth and elevation of every satellite above the mask over one user;
- :func:`ground_tracks` — sub-satellite latitude and longitude of some satellites;
- :func:`serving_mask` — which samples fall in a user's serving intervals (RSAP or not);
- :func:`plot_sky` / :func:`plot_map` — the figures (``leosim report``, ``leosim passes --plot``).

``docs/commands/report.md`` ("Geometry") describes the figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from ..errors import InputError, LeosimError
from ..orbits.catalog import Catalog
from ..orbits.geodesy import ecef_to_geodetic, look_angles
from ..orbits.propagate import propagate_ecef
from ..timebase import seconds_since_epoch_to_jd
from ..units import deg

__all__ = ["RunGeometry", "run_geometry", "sky_tracks", "ground_tracks", "serving_mask", "plot_sky", "plot_map"]

_BLOCK_SAT_STEPS = 400_000  # satellite-samples propagated at once (bounds memory for long windows)
_TRACK_COLOUR = "0.72"
_RSAP_COLOUR = "#d62728"


@dataclass(frozen=True)
class RunGeometry:
    """The orbits and users of a run, rebuilt from its manifest.

    Attributes
    ----------
    catalog : Catalog — the run's satellites
    user_lat_deg, user_lon_deg : ndarray, shape (U,), deg — users at the scenario start
    user_positions_m : callable(t_s) -> ndarray (T, U, 3), m — ECEF positions (moving users move)
    epoch_utc_ns : int — the scenario start, ns since 1970 UTC
    min_elevation_deg : float, deg — the visibility mask
    """

    catalog: Catalog
    user_lat_deg: np.ndarray
    user_lon_deg: np.ndarray
    user_positions_m: object
    epoch_utc_ns: int
    min_elevation_deg: float


def run_geometry(run) -> RunGeometry:
    """Rebuild the constellation and users of ``run`` (a :class:`~simulator.analysis.RunData`).

    Raises :class:`~simulator.errors.InputError` when the run has no scenario (a synthetic log) or
    its input files (TLE, users CSV) are no longer where the manifest says.
    """
    from ..inputs import build_catalog, build_users
    from ..scenario import Scenario

    if not run.scenario:
        raise InputError("a synthetic log has no scenario: no orbits to draw")
    try:
        scenario = Scenario.model_validate(run.scenario)
        catalog, users = build_catalog(scenario), build_users(scenario)
    except (LeosimError, OSError, ValueError) as exc:
        raise InputError(f"cannot rebuild the run's constellation and users: {exc}") from None
    return RunGeometry(catalog, np.asarray(users.lat_deg), np.asarray(users.lon_deg), users.positions_m,
                       int(run.window_start.value), float(scenario.events.min_elevation_deg))


def _propagate(catalog: Catalog, epoch_utc_ns: int, t_s: np.ndarray):
    """ECEF positions and velocities (T, S, 3) in time blocks of at most ``_BLOCK_SAT_STEPS`` samples."""
    step = max(1, _BLOCK_SAT_STEPS // max(len(catalog), 1))
    for i in range(0, len(t_s), step):
        jd, fr = seconds_since_epoch_to_jd(epoch_utc_ns, t_s[i:i + step])
        eph = propagate_ecef(catalog, jd, fr, warn=False)
        yield i, eph.positions_m, eph.velocities_m_s


def sky_tracks(catalog: Catalog, ground_ecef_m: np.ndarray, epoch_utc_ns: int, t_s: np.ndarray,
               min_elevation_deg: float) -> pd.DataFrame:
    """Azimuth and elevation of every satellite above ``min_elevation_deg`` over one ground point.

    Parameters
    ----------
    catalog : Catalog of S satellites
    ground_ecef_m : ndarray, shape (3,) or (T, 3), m — the observer (per sample for a moving user)
    epoch_utc_ns : int — UTC ns of t = 0
    t_s : ndarray, shape (T,), s since the epoch
    min_elevation_deg : float, deg

    Returns
    -------
    DataFrame — ``t_s``, ``sat_id``, ``azimuth_deg`` (from north, clockwise), ``elevation_deg``;
    samples above the mask only, sorted by satellite then time
    """
    t_s = np.asarray(t_s, dtype=float)
    ground = np.broadcast_to(np.asarray(ground_ecef_m, dtype=float), (len(t_s), 3))
    parts = []
    for i, pos, vel in _propagate(catalog, epoch_utc_ns, t_s):
        for k in range(pos.shape[0]):
            look = look_angles(pos[k], vel[k], ground[i + k])
            el = deg(look.elevation_rad[:, 0])
            up = np.flatnonzero(el >= min_elevation_deg)
            parts.append(pd.DataFrame({"t_s": t_s[i + k], "sat_id": catalog.sat_ids[up],
                                       "azimuth_deg": deg(look.azimuth_rad[up, 0]), "elevation_deg": el[up]}))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["t_s", "sat_id", "azimuth_deg", "elevation_deg"])
    return out.sort_values(["sat_id", "t_s"], kind="stable").reset_index(drop=True)


def ground_tracks(catalog: Catalog, epoch_utc_ns: int, t_s: np.ndarray) -> pd.DataFrame:
    """Sub-satellite points (WGS84 geodetic latitude and longitude) of every satellite of ``catalog``.

    Returns
    -------
    DataFrame — ``t_s``, ``sat_id``, ``lat_deg``, ``lon_deg`` (in [-180, 180)), sorted by satellite then time
    """
    t_s = np.asarray(t_s, dtype=float)
    parts = []
    for i, pos, _ in _propagate(catalog, epoch_utc_ns, t_s):
        lat, lon, _h = ecef_to_geodetic(pos)
        n_t = pos.shape[0]
        parts.append(pd.DataFrame({"t_s": np.repeat(t_s[i:i + n_t], len(catalog)),
                                   "sat_id": np.tile(catalog.sat_ids, n_t), "lat_deg": lat.ravel(),
                                   "lon_deg": (lon.ravel() + 180.0) % 360.0 - 180.0}))
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["sat_id", "t_s"], kind="stable").reset_index(drop=True)


def serving_mask(samples: pd.DataFrame, timeline: pd.DataFrame, epoch: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of ``samples`` (``t_s``, ``sat_id``) lie in a serving interval of ``timeline``
    (:func:`~simulator.analysis.serving_timeline`: ``sat_id``, ``start``, ``end``, ``is_rsap``).

    Returns
    -------
    serving, rsap : ndarray of bool, shape (len(samples),) — in any interval; in an RSAP interval
    """
    serving = np.zeros(len(samples), dtype=bool)
    rsap = np.zeros(len(samples), dtype=bool)
    t = samples["t_s"].to_numpy(float)
    sat = samples["sat_id"].to_numpy(np.int64)
    for row in timeline.itertuples(index=False):
        a = (row.start - epoch).total_seconds()
        b = (row.end - epoch).total_seconds()
        hit = (sat == int(row.sat_id)) & (t >= a) & (t <= b)
        serving |= hit
        if row.is_rsap:
            rsap |= hit
    return serving, rsap


def _segments(frame: pd.DataFrame, x: str, y: str, keep: np.ndarray | None, gap_s: float):
    """(x, y) arrays of each continuous piece of every satellite's track (broken at gaps and where not kept)."""
    sel = frame if keep is None else frame[keep]
    for _, one in sel.groupby("sat_id", sort=False):
        t = one["t_s"].to_numpy(float)
        cuts = np.flatnonzero(np.diff(t) > gap_s) + 1
        for piece in np.split(np.arange(len(one)), cuts):
            if len(piece):
                yield one[x].to_numpy(float)[piece], one[y].to_numpy(float)[piece]


def _draw(ax, frame: pd.DataFrame, x: str, y: str, keep: np.ndarray | None, gap_s: float, colour: str,
          width: float) -> None:
    """Every piece of the tracks as one LineCollection (thousands of pieces draw in one call)."""
    pieces = [np.column_stack([a, b]) for a, b in _segments(frame, x, y, keep, gap_s) if len(a) > 1]
    if pieces:
        ax.add_collection(LineCollection(pieces, colors=colour, linewidths=width, capstyle="butt"))


def _sky_axes(ax, min_elevation_deg: float) -> None:
    ax.set_theta_zero_location("N")
    ax.set_theta_direction(-1)
    ax.set_rlim(0.0, min(90.0, 93.0 - min_elevation_deg))
    marks = [e for e in (30.0, 60.0) if abs(e - min_elevation_deg) > 8.0]  # elevations labelled, deg
    ticks = [90.0 - e for e in marks] + ([90.0 - min_elevation_deg] if 0 < min_elevation_deg < 60 else [])
    ax.set_yticks(ticks, [f"{90 - r:g}°" for r in ticks], fontsize=6, color="0.4")
    ax.set_xticks(np.radians([0, 90, 180, 270]), ["N", "E", "S", "W"], fontsize=8)
    ax.plot(np.linspace(0, 2 * np.pi, 181), np.full(181, 90.0 - min_elevation_deg), color="0.5", linewidth=0.8,
            linestyle="--")


def plot_sky(tracks: pd.DataFrame, panels: list[tuple[str, np.ndarray, np.ndarray, str]], *, title: str,
             min_elevation_deg: float, step_s: float, n_cols: int = 4, track_colour: str = _TRACK_COLOUR,
             fig: Figure | None = None) -> Figure:
    """Sky plots (polar: azimuth clockwise from north, zenith at the centre, the mask dashed).

    Parameters
    ----------
    tracks : DataFrame — :func:`sky_tracks`
    panels : list of (title, serving, rsap, colour) — per panel, boolean masks over ``tracks``
        (:func:`serving_mask`) and the colour of the serving pieces; RSAP pieces are red
    title : str
    min_elevation_deg : float, deg
    step_s : float, s — sample spacing (a larger gap breaks a track)
    track_colour : str — colour of the thin tracks
    fig : Figure or SubFigure, optional — draw into it (default: a new figure sized for the panels)
    """
    n_cols = min(n_cols, max(len(panels), 1))
    n_rows = -(-max(len(panels), 1) // n_cols)
    if fig is None:
        fig = Figure(figsize=(2.75 * n_cols + 0.4, 2.9 * n_rows + 0.6), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, subplot_kw={"projection": "polar"}, squeeze=False)
    az = np.radians(tracks["azimuth_deg"].to_numpy(float))
    for ax, (name, serving, rsap, colour) in zip(axes.flat, panels):
        _sky_axes(ax, min_elevation_deg)
        frame = tracks.assign(theta=az, r=90.0 - tracks["elevation_deg"].to_numpy(float))
        _draw(ax, frame, "theta", "r", None, 1.5 * step_s, track_colour, 0.6)
        for mask, c, w in ((serving & ~rsap, colour, 2.2), (rsap, _RSAP_COLOUR, 2.6)):
            _draw(ax, frame, "theta", "r", mask, 1.5 * step_s, c, w)
        ax.set_title(name, fontsize=9, pad=10)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=10)
    return fig


def plot_map(tracks: pd.DataFrame, users: pd.DataFrame, *, title: str, serving: np.ndarray | None = None,
             rsap: np.ndarray | None = None, colour: str = "#1f77b4", step_s: float = 10.0,
             highlight_user: int | None = None, track_colour: str = _TRACK_COLOUR, arrows: bool = True,
             labels: tuple[str, str] | None = None, fig: Figure | None = None) -> Figure:
    """Equirectangular map (graticule, no coastlines) of users and sub-satellite tracks.

    The aspect is 1 / cos(φ₀) with φ₀ the users' mean latitude (lengths are true along φ₀).

    Parameters
    ----------
    tracks : DataFrame — :func:`ground_tracks` (``t_s``, ``sat_id``, ``lat_deg``, ``lon_deg``)
    users : DataFrame — ``user_id``, ``lat_deg``, ``lon_deg``
    serving, rsap : ndarray of bool, optional — pieces of the tracks drawn thick in ``colour`` / red
    highlight_user : int, optional — drawn as a star
    track_colour : str — colour of the thin tracks; arrows : bool — arrow heads at the tracks' ends
    labels : (str, str), optional — legend labels of the users and of the highlighted one
    fig : Figure or SubFigure, optional — draw into it
    """
    fig = Figure(figsize=(8.5, 6.2), layout="constrained") if fig is None else fig
    ax = fig.subplots()
    lon0 = float(np.mean(users["lon_deg"]))
    # longitudes unwrapped around the users so tracks crossing ±180° stay continuous
    frame = tracks.assign(lon_deg=(tracks["lon_deg"] - lon0 + 180.0) % 360.0 - 180.0 + lon0)
    _draw(ax, frame, "lon_deg", "lat_deg", None, 1.5 * step_s, track_colour, 0.7)
    if serving is not None:
        for mask, c, w in ((serving & ~rsap, colour, 2.0), (rsap, _RSAP_COLOUR, 2.4)):
            _draw(ax, frame, "lon_deg", "lat_deg", mask, 1.5 * step_s, c, w)
    if len(frame):
        ax.update_datalim(frame[["lon_deg", "lat_deg"]].to_numpy(float))
        ax.autoscale_view()
    # arrow heads: direction of flight at the end of each track
    for _, one in frame.groupby("sat_id", sort=False) if arrows else ():
        if len(one) >= 2:
            ax.annotate("", xy=(one["lon_deg"].iloc[-1], one["lat_deg"].iloc[-1]),
                        xytext=(one["lon_deg"].iloc[-2], one["lat_deg"].iloc[-2]),
                        arrowprops={"arrowstyle": "-|>", "color": "0.55", "lw": 0.7})
    labels = labels or ("users", f"user {highlight_user}")
    if labels[0]:
        ax.scatter(users["lon_deg"], users["lat_deg"], s=22, color="black", zorder=5, label=labels[0])
    if highlight_user is not None:
        me = users[users["user_id"] == highlight_user]
        ax.scatter(me["lon_deg"], me["lat_deg"], s=170, marker="*", color="#ffbf00", edgecolor="black", zorder=6,
                   label=labels[1])
    lat0 = float(np.mean(users["lat_deg"]))
    ax.set_aspect(1.0 / max(np.cos(np.radians(lat0)), 0.05))
    span = max(np.ptp(frame["lon_deg"]) if len(frame) else 1.0, np.ptp(frame["lat_deg"]) if len(frame) else 1.0, 1.0)
    grid = next(g for g in (1, 2, 5, 10, 15, 30) if span / g <= 12)
    ax.set_xticks(np.arange(np.floor(ax.get_xlim()[0] / grid) * grid, ax.get_xlim()[1] + grid, grid))
    ax.set_yticks(np.arange(np.floor(ax.get_ylim()[0] / grid) * grid, ax.get_ylim()[1] + grid, grid))
    ax.grid(True, color="0.85", linewidth=0.6)
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("geodetic latitude (deg)")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    return fig
