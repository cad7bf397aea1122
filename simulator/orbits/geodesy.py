"""WGS84 ground geometry: geodetic ↔ ECEF, local ENU frames and look angles.

All positions are ITRS (ECEF) metres. Elevation is measured from the local horizon plane normal to
the WGS84 ellipsoid (geodetic vertical), azimuth clockwise from geodetic north. Look-angle arrays are
shaped ``(..., S, G)``: any leading axes of the satellite arrays (time), then satellite, then ground
point, matching the project order (time, satellite, user).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..constants import WGS84_A, WGS84_E2, WGS84_F
from ..units import deg, rad

__all__ = [
    "LookAngles",
    "geodetic_to_ecef",
    "ecef_to_geodetic",
    "enu_basis",
    "look_angles",
    "elevation",
    "elevation_and_rate",
]


class LookAngles(NamedTuple):
    """Topocentric geometry of satellites seen from ground points, each shaped (..., S, G)."""

    elevation_rad: np.ndarray
    azimuth_rad: np.ndarray
    slant_range_m: np.ndarray
    range_rate_m_s: np.ndarray


def geodetic_to_ecef(lat_deg: ArrayLike, lon_deg: ArrayLike, height_m: ArrayLike = 0.0) -> np.ndarray:
    """WGS84 geodetic coordinates → ECEF position (NIMA TR8350.2 eq. 4-14).

    x = (N + h) cos φ cos λ,  y = (N + h) cos φ sin λ,  z = (N (1 − e²) + h) sin φ,
    N = a / √(1 − e² sin² φ).

    Parameters
    ----------
    lat_deg, lon_deg : array_like, shape (...), deg — geodetic latitude and longitude
    height_m : array_like, shape (...), m — height above the ellipsoid

    Returns
    -------
    ndarray, shape (..., 3), m

    >>> geodetic_to_ecef(0.0, 90.0, 0.0).round(3).tolist()
    [0.0, 6378137.0, 0.0]
    """
    phi, lam = rad(lat_deg), rad(lon_deg)
    h = np.asarray(height_m, dtype=float)
    phi, lam, h = np.broadcast_arrays(phi, lam, h)
    sphi = np.sin(phi)
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sphi**2)
    return np.stack(
        [(n + h) * np.cos(phi) * np.cos(lam), (n + h) * np.cos(phi) * np.sin(lam),
         (n * (1.0 - WGS84_E2) + h) * sphi],
        axis=-1,
    )


def ecef_to_geodetic(xyz_m: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ECEF position → WGS84 geodetic latitude, longitude (deg) and height (m).

    Bowring's parametric-latitude iteration (Bowring 1976), three passes: better than 1e-9 m from
    the ground to GEO.

    Parameters
    ----------
    xyz_m : array_like, shape (..., 3), m

    Returns
    -------
    lat_deg, lon_deg, height_m : ndarray, shape (...)
    """
    xyz = np.asarray(xyz_m, dtype=float)
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    p = np.hypot(x, y)
    b = WGS84_A * (1.0 - WGS84_F)
    ep2 = WGS84_E2 / (1.0 - WGS84_E2)
    beta = np.arctan2(z, (1.0 - WGS84_F) * p)
    for _ in range(3):
        phi = np.arctan2(z + ep2 * b * np.sin(beta) ** 3, p - WGS84_E2 * WGS84_A * np.cos(beta) ** 3)
        beta = np.arctan2((1.0 - WGS84_F) * np.sin(phi), np.cos(phi))
    sphi = np.sin(phi)
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sphi**2)
    # Height along the normal, stable at all latitudes: h = p cos φ + z sin φ − a²/N
    h = p * np.cos(phi) + z * sphi - WGS84_A**2 / n
    return deg(phi), deg(np.arctan2(y, x)), h


def enu_basis(lat_deg: ArrayLike, lon_deg: ArrayLike) -> np.ndarray:
    """Local east, north, up unit vectors (rows) in ECEF at geodetic (lat, lon).

    Returns
    -------
    ndarray, shape (..., 3, 3) — ``[..., 0, :]`` east, ``[..., 1, :]`` north, ``[..., 2, :]`` up
    (up is the ellipsoid normal); ``basis @ d`` gives ENU components of an ECEF vector ``d``.
    """
    phi, lam = rad(lat_deg), rad(lon_deg)
    phi, lam = np.broadcast_arrays(phi, lam)
    sp, cp, sl, cl = np.sin(phi), np.cos(phi), np.sin(lam), np.cos(lam)
    z = np.zeros_like(sp)
    east = np.stack([-sl, cl, z], -1)
    north = np.stack([-sp * cl, -sp * sl, cp], -1)
    up = np.stack([cp * cl, cp * sl, sp], -1)
    return np.stack([east, north, up], -2)


def _ground_basis(ground_ecef_m: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    g = np.asarray(ground_ecef_m, dtype=float).reshape(-1, 3)
    lat, lon, _ = ecef_to_geodetic(g)
    return g, enu_basis(lat, lon)


def look_angles(sat_pos_m: ArrayLike, sat_vel_m_s: ArrayLike, ground_ecef_m: ArrayLike) -> LookAngles:
    """Elevation, azimuth, slant range and range rate of every satellite from every ground point.

    With d = r_sat − r_ground and (e, n, u) = ENU components of d (geodetic vertical):
    elevation = atan2(u, √(e² + n²)), azimuth = atan2(e, n) ∈ [0, 2π), ρ = |d|,
    ρ̇ = d · v_sat / ρ (ground fixed in ITRS, so v_sat is the ITRS velocity).

    Parameters
    ----------
    sat_pos_m : array_like, shape (..., S, 3), m — ITRS positions (e.g. (T, S, 3) or (S, 3))
    sat_vel_m_s : array_like, shape (..., S, 3), m/s — ITRS velocities
    ground_ecef_m : array_like, shape (G, 3) or (3,), m

    Returns
    -------
    LookAngles of arrays shaped (..., S, G): rad, rad, m, m/s (NaN where the satellite state is NaN)
    """
    g, basis = _ground_basis(ground_ecef_m)
    r = np.asarray(sat_pos_m, dtype=float)[..., :, None, :]
    v = np.asarray(sat_vel_m_s, dtype=float)[..., :, None, :]
    d = r - g
    enu = np.einsum("gij,...gj->...gi", basis, d)
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    rng = np.sqrt(e * e + n * n + u * u)
    el = np.arctan2(u, np.hypot(e, n))
    az = np.mod(np.arctan2(e, n), 2.0 * np.pi)
    rdot = np.einsum("...j,...j->...", d, v) / rng
    return LookAngles(el, az, rng, rdot)


def elevation(sat_pos_m: ArrayLike, ground_ecef_m: ArrayLike) -> np.ndarray:
    """Elevation of every satellite from every ground point, via matrix products (fast path).

    sin(el) = (r · û − g · û) / ρ with ρ² = |r|² − 2 r·g + |g|²; equals :func:`look_angles`
    elevation without forming the (…, S, G, 3) difference array (to ~1e-12 rad at low elevation,
    ~1e-8 rad near the zenith where arcsin is ill-conditioned).

    Parameters
    ----------
    sat_pos_m : array_like, shape (..., S, 3), m — ITRS positions
    ground_ecef_m : array_like, shape (G, 3) or (3,), m

    Returns
    -------
    ndarray, shape (..., S, G), rad
    """
    g, basis = _ground_basis(ground_ecef_m)
    up = basis[:, 2, :]  # (G, 3)
    r = np.asarray(sat_pos_m, dtype=float)
    u = r @ up.T  # (..., S, G); in-place below: two (..., S, G) buffers in all
    u -= np.einsum("gj,gj->g", g, up)
    rho = r @ (-2.0 * g.T)
    rho += np.einsum("...j,...j->...", r, r)[..., None]
    rho += np.einsum("gj,gj->g", g, g)
    np.sqrt(rho, out=rho)
    np.divide(u, rho, out=u)
    np.clip(u, -1.0, 1.0, out=u)
    return np.arcsin(u, out=u)


def elevation_and_rate(
    sat_pos_m: ArrayLike, sat_vel_m_s: ArrayLike, ground_ecef_m: ArrayLike, up: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Elevation and its time derivative, element-wise (broadcasting) over satellites and grounds.

    With d = r − g, u = d·û, h = |d − u û| (horizontal part), ρ² = u² + h²: el = atan2(u, h) and
    d(el)/dt = (ρ² v·û − u d·v) / (ρ² h)  (derivative of sin el = u/ρ; û fixed in ITRS).

    Parameters
    ----------
    sat_pos_m, sat_vel_m_s : array_like, shape (..., 3) — ITRS state (m, m/s)
    ground_ecef_m : array_like, shape (..., 3), m — broadcast against the satellite arrays
    up : array_like, shape (..., 3), optional — geodetic up unit vectors of the ground points
        (computed from ``ground_ecef_m`` when omitted)

    Returns
    -------
    elevation_rad, elevation_rate_rad_s : ndarray, shape (...)
    """
    r = np.asarray(sat_pos_m, dtype=float)
    v = np.asarray(sat_vel_m_s, dtype=float)
    g = np.asarray(ground_ecef_m, dtype=float)
    if up is None:
        lat, lon, _ = ecef_to_geodetic(g)
        up = enu_basis(lat, lon)[..., 2, :]
    up = np.asarray(up, dtype=float)
    d = r - g
    u = np.sum(d * up, axis=-1)
    horizontal = d - u[..., None] * up
    h = np.sqrt(np.sum(horizontal * horizontal, axis=-1))
    rho2 = u * u + h * h
    el = np.arctan2(u, h)
    num = np.sum(v * up, axis=-1) * rho2 - u * np.sum(d * v, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(h > 0.0, num / (rho2 * h), 0.0)  # exactly at the zenith: the maximum, rate 0
    return el, rate
