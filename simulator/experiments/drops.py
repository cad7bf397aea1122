"""Snapshot geometry of 000's simulations (Sec. VI-A): satellites over a box, users in a disc.

000 places L = 20 satellites at 550 km (53° inclination) "within a range of 700 × 700 km²" (from STK)
and K = 10 users at random in a disc of radius 200 km. Without the STK scenario, a drop here is:

* the disc centre at geodetic (``centre_lat_deg``, ``centre_lon_deg``);
* users uniform in area in the disc, satellites' sub-satellite points uniform in the box
  (east, north) ∈ [−box/2, box/2]², both laid on the ground along great circles from the centre
  (bearing and ground distance on a sphere of radius WGS84 a; the box is centred on the disc);
* satellites at ``altitude_m`` above the WGS84 ellipsoid, users on it;
* every satellite moving on a circular orbit of that altitude (speed √(μ/(a + h)) ≈ 7.59 km/s
  inertial) with the heading a 53°-inclined ascending pass has at its latitude,
  sin(heading) = cos(i) / cos(lat), all in the same direction ("one orbit direction"); velocities are
  Earth-fixed (inertial minus ω_E × r), as the CSI kernel expects.
"""

from __future__ import annotations

import numpy as np

from ..constants import EARTH_ROTATION_RATE, SGP4_MU, WGS84_A
from ..orbits.geodesy import enu_basis, geodetic_to_ecef
from ..units import deg, rad

__all__ = ["paper000_drop", "advance"]


def _destination(lat0_deg: float, lon0_deg: float, east_m: np.ndarray, north_m: np.ndarray):
    """Latitude and longitude (deg) reached from (lat0, lon0) along the great circle of the offset."""
    delta = np.hypot(east_m, north_m) / WGS84_A
    bearing = np.arctan2(east_m, north_m)
    phi0, lam0 = rad(lat0_deg), rad(lon0_deg)
    phi = np.arcsin(np.sin(phi0) * np.cos(delta) + np.cos(phi0) * np.sin(delta) * np.cos(bearing))
    lam = lam0 + np.arctan2(np.sin(bearing) * np.sin(delta) * np.cos(phi0), np.cos(delta) - np.sin(phi0) * np.sin(phi))
    return deg(phi), deg(lam)


def paper000_drop(
    rng: np.random.Generator,
    n_sat: int = 20,
    n_user: int = 10,
    altitude_m: float = 550e3,
    box_km: float = 700.0,
    disc_radius_km: float = 200.0,
    *,
    centre_lat_deg: float = 0.0,
    centre_lon_deg: float = 0.0,
    inclination_deg: float = 53.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One random drop of 000's set-up (Sec. VI-A): satellite and user ECEF positions, velocities.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_sat, n_user : int — L and K
    altitude_m : float, m — satellite altitude above the ellipsoid
    box_km : float, km — side of the square of sub-satellite points, centred on the disc
    disc_radius_km : float, km — radius of the users' service disc
    centre_lat_deg, centre_lon_deg : float, deg — geodetic centre of the disc
    inclination_deg : float, deg — orbit inclination giving the common heading

    Returns
    -------
    sat_pos_m : ndarray, shape (n_sat, 3), m — ECEF
    sat_vel_m_s : ndarray, shape (n_sat, 3), m/s — ECEF (Earth-fixed)
    user_pos_m : ndarray, shape (n_user, 3), m — ECEF, on the ellipsoid
    """
    half = box_km * 1e3 / 2.0
    sat_lat, sat_lon = _destination(centre_lat_deg, centre_lon_deg, *rng.uniform(-half, half, size=(2, n_sat)))
    radius = disc_radius_km * 1e3 * np.sqrt(rng.uniform(size=n_user))
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n_user)
    user_lat, user_lon = _destination(centre_lat_deg, centre_lon_deg, radius * np.sin(angle), radius * np.cos(angle))
    sat_pos = geodetic_to_ecef(sat_lat, sat_lon, altitude_m)
    user_pos = geodetic_to_ecef(user_lat, user_lon, 0.0)
    sin_heading = np.clip(np.cos(rad(inclination_deg)) / np.cos(rad(sat_lat)), -1.0, 1.0)
    heading = np.arcsin(sin_heading)
    basis = enu_basis(sat_lat, sat_lon)
    direction = np.sin(heading)[:, None] * basis[:, 0, :] + np.cos(heading)[:, None] * basis[:, 1, :]
    speed = np.sqrt(SGP4_MU / (WGS84_A + altitude_m))
    earth_spin = np.cross([0.0, 0.0, EARTH_ROTATION_RATE], sat_pos)
    return sat_pos, speed * direction - earth_spin, user_pos


def advance(sat_pos_m: np.ndarray, sat_vel_m_s: np.ndarray, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Move satellites ``dt_s`` along the great circle of their position and velocity.

    Uniform circular motion about the axis r × v at angular rate |v_t| / |r| (v_t: the part of v
    normal to r). Exact for a circular orbit in a fixed frame; for the Earth-fixed velocities of
    :func:`paper000_drop` it neglects the curvature Earth rotation adds, which is below a metre over
    the seconds the warm-start benchmark steps.

    Parameters
    ----------
    sat_pos_m : ndarray, shape (..., S, 3), m
    sat_vel_m_s : ndarray, shape (..., S, 3), m/s
    dt_s : float, s

    Returns
    -------
    positions, velocities : ndarray, shape (..., S, 3)

    >>> r, v = advance(np.array([[7e6, 0.0, 0.0]]), np.array([[0.0, 7e3, 0.0]]), 1000.0 * np.pi / 2)
    >>> np.round(r / 1e6, 9).tolist(), np.round(v / 1e3, 9).tolist()
    ([[0.0, 7.0, 0.0]], [[-7.0, 0.0, 0.0]])
    """
    r = np.asarray(sat_pos_m, dtype=float)
    v = np.asarray(sat_vel_m_s, dtype=float)
    norm_r = np.linalg.norm(r, axis=-1, keepdims=True)
    axis = np.cross(r, v)
    norm_axis = np.linalg.norm(axis, axis=-1, keepdims=True)
    axis = axis / norm_axis
    angle = (norm_axis / norm_r**2) * dt_s  # |v_t| / |r| * dt, since |r × v| = |r| |v_t|
    cos, sin = np.cos(angle), np.sin(angle)

    def rotate(x: np.ndarray) -> np.ndarray:  # Rodrigues' formula about ``axis``
        along = np.sum(axis * x, axis=-1, keepdims=True) * axis
        return along + (x - along) * cos + np.cross(axis, x) * sin

    return rotate(r), rotate(v)
