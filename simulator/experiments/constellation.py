"""Snapshot geometry from a propagated constellation: the L satellites nearest a service area.

A constellation drop (issue 7, "Snapshot drops") is:

* an instant drawn uniformly in ``[start, start + window_s)`` from the drop's generator (the start
  defaults to the catalogue's median element-set epoch, the window to one day, so that drops sample
  every phase of the constellation over the area);
* every satellite propagated with SGP4 to that instant (ITRS positions and Earth-fixed velocities,
  :func:`~simulator.orbits.propagate_ecef`);
* the satellites **above the elevation mask seen from the service-area centre** kept, and of those
  the ``n_sat`` with the smallest slant range to the centre (``n_sat=None``: all of them). Fewer
  than ``n_sat`` are returned when fewer are above the mask;
* users uniform in area in a disc around the centre, drawn exactly as
  :func:`~simulator.experiments.drops.paper000_drop` draws them.

:func:`constellation_drop` returns ``(sat_pos_m, sat_vel_m_s, user_pos_m)`` like
:func:`~simulator.experiments.drops.paper000_drop`, so an experiment can use either geometry;
:func:`constellation_snapshot` returns the same plus the satellite ids and the instant, which
:func:`remaining_service_s` needs for 004's maximum-service-time RSAP.

The catalogue of a preset or Walker spec, its ``SatrecArray`` and Skyfield's built-in timescale are
built once per process (:func:`functools.lru_cache`), so a drop costs one SGP4 call over the
catalogue (about 2 ms for the 1 584 satellites of ``starlink-shell1``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from sgp4.api import SatrecArray

from ..constants import NS_PER_S, SECONDS_PER_DAY
from ..cooperation.rsap import service_time_from_elevation
from ..orbits.bounds import max_pass_duration_s
from ..errors import InputError
from ..orbits.catalog import Catalog
from ..orbits.geodesy import geodetic_to_ecef, look_angles
from ..orbits.propagate import builtin_timescale, propagate_ecef
from ..orbits.walker import WalkerSpec, walker_catalog
from ..timebase import jd_to_utc_ns, to_utc_ns, utc_ns_to_jd
from ..units import rad
from .drops import paper000_drop

__all__ = ["ConstellationSnapshot", "constellation_snapshot", "constellation_drop", "remaining_service_s",
           "cached_catalog"]

#: Sampling step of the look-ahead that gives the remaining service time, s (the mask crossing is
#: interpolated between samples; error ≤ |el''| Δt² / 8 / |el'|, well below a second at LEO rates).
SERVICE_STEP_S = 10.0


@dataclass(frozen=True)
class ConstellationSnapshot:
    """One constellation drop.

    Attributes
    ----------
    sat_pos_m : ndarray, shape (L, 3), m — ITRS (ECEF) positions of the kept satellites, nearest first
    sat_vel_m_s : ndarray, shape (L, 3), m/s — ITRS (Earth-fixed) velocities
    user_pos_m : ndarray, shape (K, 3), m — users on the ellipsoid
    sat_index : ndarray, shape (L,), int — positions of the kept satellites in the catalogue
    sat_ids : ndarray, shape (L,), int — their catalogue numbers
    time_utc_ns : int — the drawn instant, ns since 1970-01-01 UTC
    catalog : Catalog — the whole catalogue (for look-ahead propagation)
    n_above_mask : int — satellites above the mask seen from the centre (before keeping ``n_sat``)
    """

    sat_pos_m: np.ndarray
    sat_vel_m_s: np.ndarray
    user_pos_m: np.ndarray
    sat_index: np.ndarray
    sat_ids: np.ndarray
    time_utc_ns: int
    catalog: Catalog
    n_above_mask: int

    def as_drop(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(sat_pos_m, sat_vel_m_s, user_pos_m)``, the return shape of ``paper000_drop``."""
        return self.sat_pos_m, self.sat_vel_m_s, self.user_pos_m


@functools.lru_cache(maxsize=8)
def cached_catalog(spec: WalkerSpec | str) -> tuple[Catalog, SatrecArray]:
    """Catalogue and SGP4 array of a Walker preset name or spec, built once per process."""
    catalog = walker_catalog(spec)
    return catalog, SatrecArray(list(catalog.satrecs))


@functools.lru_cache(maxsize=1)
def _timescale() -> object:
    return builtin_timescale()


def _resolve(catalog_or_preset: Catalog | WalkerSpec | str) -> tuple[Catalog, SatrecArray]:
    if isinstance(catalog_or_preset, Catalog):
        return catalog_or_preset, SatrecArray(list(catalog_or_preset.satrecs))
    if isinstance(catalog_or_preset, (str, WalkerSpec)):
        return cached_catalog(catalog_or_preset)
    raise InputError(f"catalog_or_preset={catalog_or_preset!r}: give a Catalog, a WalkerSpec or a preset name")


def _propagate(catalog: Catalog, satrecs: SatrecArray, utc_ns: np.ndarray):
    jd, fr = utc_ns_to_jd(np.asarray(utc_ns, dtype=np.int64))
    return propagate_ecef(catalog, jd, fr, timescale=_timescale(), satrecs=satrecs, warn=False)


def constellation_snapshot(
    rng: np.random.Generator,
    catalog_or_preset: Catalog | WalkerSpec | str,
    n_sat: int | None,
    n_user: int,
    *,
    centre_lat_deg: float,
    centre_lon_deg: float,
    disc_radius_km: float = 200.0,
    min_elevation_deg: float = 0.0,
    start_utc: object | None = None,
    window_s: float = SECONDS_PER_DAY,
) -> ConstellationSnapshot:
    """A random instant of a constellation over a service area (module docstring).

    Parameters
    ----------
    rng : numpy.random.Generator — draws the instant (first) and then the users
    catalog_or_preset : Catalog, WalkerSpec or str — a loaded catalogue or a Walker preset name
    n_sat : int or None — L, satellites kept (nearest the centre first); None: all above the mask
    n_user : int — K, users in the disc
    centre_lat_deg, centre_lon_deg : float, deg — geodetic centre of the service area
    disc_radius_km : float, km — radius of the users' disc
    min_elevation_deg : float, deg — elevation mask seen from the centre
    start_utc : str, datetime or int ns, optional — start of the window; default the catalogue's
        median element-set epoch
    window_s : float, s — length of the window the instant is drawn from

    Returns
    -------
    ConstellationSnapshot
    """
    if n_sat is not None and (int(n_sat) != n_sat or n_sat < 1):
        raise InputError(f"n_sat={n_sat!r} must be a positive integer or None (all satellites above the mask)")
    if int(n_user) != n_user or n_user < 0:
        raise InputError(f"n_user={n_user!r} must be a non-negative integer")
    if not window_s >= 0:
        raise InputError(f"window_s={window_s!r} s must be >= 0")
    if not -90.0 <= min_elevation_deg < 90.0:
        raise InputError(f"min_elevation_deg={min_elevation_deg!r} outside [-90, 90)")
    catalog, satrecs = _resolve(catalog_or_preset)
    start = int(jd_to_utc_ns(catalog.median_epoch_jd())) if start_utc is None else to_utc_ns(start_utc)
    instant = start + int(round(rng.uniform(0.0, window_s) * NS_PER_S))
    eph = _propagate(catalog, satrecs, np.array([instant]))
    pos, vel = eph.positions_m[0], eph.velocities_m_s[0]
    centre = geodetic_to_ecef(centre_lat_deg, centre_lon_deg, 0.0)
    look = look_angles(pos, vel, centre)
    elev, slant = look.elevation_rad[:, 0], look.slant_range_m[:, 0]
    above = np.flatnonzero(eph.valid[0] & (elev >= rad(min_elevation_deg)))
    order = above[np.argsort(slant[above], kind="stable")]
    keep = order if n_sat is None else order[: int(n_sat)]
    _, _, users = paper000_drop(rng, 0, int(n_user), disc_radius_km=disc_radius_km,
                                centre_lat_deg=centre_lat_deg, centre_lon_deg=centre_lon_deg)
    return ConstellationSnapshot(
        sat_pos_m=pos[keep], sat_vel_m_s=vel[keep], user_pos_m=users, sat_index=keep,
        sat_ids=np.asarray(catalog.sat_ids)[keep], time_utc_ns=instant, catalog=catalog,
        n_above_mask=int(above.size),
    )


def constellation_drop(
    rng: np.random.Generator,
    catalog_or_preset: Catalog | WalkerSpec | str,
    n_sat: int | None,
    n_user: int,
    **kwargs,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sat_pos_m (L, 3), sat_vel_m_s (L, 3), user_pos_m (K, 3))`` of :func:`constellation_snapshot`.

    Same return shape as :func:`~simulator.experiments.drops.paper000_drop` (ECEF, m and m/s,
    Earth-fixed velocities); keyword arguments as :func:`constellation_snapshot`.
    """
    return constellation_snapshot(rng, catalog_or_preset, n_sat, n_user, **kwargs).as_drop()


def remaining_service_s(snap: ConstellationSnapshot, min_elevation_deg: float = 0.0, *,
                        horizon_s: float | None = None, step_s: float = SERVICE_STEP_S) -> np.ndarray:
    """Remaining time above the mask of every kept satellite for every user, (L, K) s (004 T_{k,l}).

    The kept satellites are propagated over ``[t, t + horizon_s]`` in steps of ``step_s`` and the
    downward mask crossing of each (satellite, user) elevation is interpolated
    (:func:`~simulator.cooperation.rsap.service_time_from_elevation`); 0 where the satellite is below
    the user's mask now. The default horizon is the longest possible pass
    (:func:`~simulator.orbits.bounds.max_pass_duration_s`), so every pass in progress ends inside it.
    """
    if not step_s > 0:
        raise InputError(f"step_s={step_s!r} s must be > 0")
    sub = snap.catalog.subset(snap.sat_index)
    horizon = max_pass_duration_s(sub, min_elevation_deg) if horizon_s is None else float(horizon_s)
    n_steps = int(np.ceil(horizon / step_s)) + 1
    offsets_s = np.arange(n_steps) * step_s
    times = snap.time_utc_ns + np.round(offsets_s * NS_PER_S).astype(np.int64)
    eph = _propagate(sub, SatrecArray(list(sub.satrecs)), times)
    elev = look_angles(eph.positions_m, eph.velocities_m_s, snap.user_pos_m).elevation_rad  # (T, L, K)
    return service_time_from_elevation(offsets_s, elev, rad(min_elevation_deg))[0]
