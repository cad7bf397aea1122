"""Ground users: fixed or moving along great circles, and users drawn uniformly in a disc.

:class:`UserSet` gives ECEF positions and velocities (Earth-fixed frame) at any time;
:func:`disc_users` draws users uniform in area on a spherical cap. Angles at this boundary are
WGS84 geodetic degrees (``lat_deg``, ``lon_deg``, ``heading_deg``), like every geodetic input of
the orbit layer (docs/conventions.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from ..constants import WGS84_A, WGS84_F
from ..errors import InputError
from ..units import rad
from .geodesy import ecef_to_geodetic, geodetic_to_ecef

__all__ = ["UserSet", "disc_users", "area_centre_ecef", "ellipsoid_radius_m", "tangent_basis"]

_WGS84_B = WGS84_A * (1.0 - WGS84_F)  # m, semi-minor axis (NIMA TR8350.2)


@dataclass(frozen=True, eq=False)
class UserSet:
    """Ground users, fixed or moving along great circles at constant speed.

    Motion (``speed_m_s > 0``): every user starts at its position and heads ``heading_deg``
    (clockwise from north). The direction from the Earth's centre turns along the great circle of
    the unit sphere fixed by the start point and the heading, at the constant angular rate
    ω = v / R₀ (R₀ the user's geocentric radius at t = 0); the geocentric radius follows the WGS84
    ellipsoid, ρ(t) = ρ_ell(û(t)) + (R₀ − ρ_ell(û₀)), so the height stays within 0.2 m of the
    start height (h·δ²/2, δ ≤ 0.19° the geodetic−geocentric latitude difference, h ≤ 20 km).
    This is the local-sphere approximation of an ellipsoid geodesic: the ground speed is v at
    t = 0 (within 6 ppm, the ellipsoid's slope) and ≈ v·ρ/R₀ later, off by at most 0.34 % (pole↔equator, the ellipsoid's radius range
    f = 1/298.26) and by < 0.06 % within 1000 km at mid-latitudes; the initial heading holds to
    < 1e-5 rad. Velocities are the exact time derivative of the positions. Fixed users have zero
    velocity (Earth-fixed frame).

    Attributes
    ----------
    names : tuple of str — user names, in user_id order
    lat_deg, lon_deg, height_m : ndarray, shape (U,), deg, deg, m — WGS84 geodetic position at
        t = 0 (longitude in [-180, 180))
    speed_m_s : float, m/s — ground speed of every user (0: fixed)
    heading_deg : float, deg — initial heading, clockwise from north
    cap_centre_ecef_m : ndarray, shape (3,), m, optional — centre of the disc the users were drawn
        from (None for listed users)
    user_id : ndarray, shape (U,), int64 — 0 … U−1 (derived)
    """

    names: tuple[str, ...]
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    height_m: np.ndarray
    speed_m_s: float = 0.0
    heading_deg: float = 0.0
    cap_centre_ecef_m: np.ndarray | None = None
    user_id: np.ndarray = field(init=False)
    _start_m: np.ndarray = field(init=False, repr=False)
    _dir0: np.ndarray = field(init=False, repr=False)
    _dir1: np.ndarray = field(init=False, repr=False)
    _offset_m: np.ndarray = field(init=False, repr=False)
    _omega_rad_s: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lat, lon, h = (np.array(x, dtype=float).reshape(-1) for x in (self.lat_deg, self.lon_deg, self.height_m))
        if not len(self.names) == lat.size == lon.size == h.size:
            raise InputError(f"UserSet sizes differ: {len(self.names)} names, {lat.size}/{lon.size}/{h.size} positions")
        if not (math.isfinite(self.speed_m_s) and self.speed_m_s >= 0.0 and math.isfinite(self.heading_deg)):
            raise InputError(f"speed_m_s={self.speed_m_s!r} must be >= 0 and heading_deg={self.heading_deg!r} finite")
        lon = (lon + 180.0) % 360.0 - 180.0
        start = geodetic_to_ecef(lat, lon, h)
        radius = np.linalg.norm(start, axis=-1)
        up = start / radius[:, None]
        east, north = tangent_basis(up, lon)
        psi = float(rad(self.heading_deg))
        values = {
            "lat_deg": lat, "lon_deg": lon, "height_m": h, "user_id": np.arange(lat.size, dtype=np.int64),
            "_start_m": start, "_dir0": up, "_dir1": np.cos(psi) * north + np.sin(psi) * east,
            "_offset_m": radius - ellipsoid_radius_m(up), "_omega_rad_s": float(self.speed_m_s) / radius,
        }
        if self.cap_centre_ecef_m is not None:
            values["cap_centre_ecef_m"] = np.array(self.cap_centre_ecef_m, dtype=float).reshape(3)
        for name, value in values.items():
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "names", tuple(self.names))

    @property
    def n_user(self) -> int:
        """Number of users U."""
        return len(self.names)

    @property
    def moving(self) -> bool:
        """True when the users move (``speed_m_s > 0``)."""
        return self.speed_m_s > 0.0

    def positions_m(self, t_s: ArrayLike) -> np.ndarray:
        """ECEF positions at ``t_s`` seconds after the start.

        Parameters
        ----------
        t_s : ndarray, shape (T,) (or any shape (...)), s

        Returns
        -------
        ndarray, shape (T, U, 3), m
        """
        t = np.asarray(t_s, dtype=float)
        if not self.moving:
            return np.broadcast_to(self._start_m, t.shape + self._start_m.shape).copy()
        u, _, rho, _ = self._path(t)
        return rho[..., None] * u

    def velocities_m_s(self, t_s: ArrayLike) -> np.ndarray:
        """ECEF (Earth-fixed) velocities at ``t_s``: the exact derivative of :meth:`positions_m`.

        d/dt [ρ û] = ρ' û + ρ û', û' = ω(−sin ωt û₀ + cos ωt ê₀), ρ' = −ρ_ell³ (û · D û'),
        D = diag(1/a², 1/a², 1/b²) (from ρ_ell = (û · D û)^(−1/2)).

        Returns
        -------
        ndarray, shape (T, U, 3), m/s — zeros for fixed users
        """
        t = np.asarray(t_s, dtype=float)
        if not self.moving:
            return np.zeros(t.shape + self._start_m.shape)
        u, du, rho, drho = self._path(t)
        return drho[..., None] * u + rho[..., None] * du

    def _path(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        theta = self._omega_rad_s * t[..., None]  # (..., U)
        c, s = np.cos(theta)[..., None], np.sin(theta)[..., None]
        u = c * self._dir0 + s * self._dir1
        du = self._omega_rad_s[:, None] * (c * self._dir1 - s * self._dir0)
        rho_ell = ellipsoid_radius_m(u)
        d_weights = np.array([1.0 / WGS84_A**2, 1.0 / WGS84_A**2, 1.0 / _WGS84_B**2])
        drho = -(rho_ell**3) * np.sum(u * du * d_weights, axis=-1)
        return u, du, rho_ell + self._offset_m, drho


def ellipsoid_radius_m(unit: np.ndarray) -> np.ndarray:
    """Geocentric radius of the WGS84 ellipsoid along unit vectors ``unit`` (..., 3), m."""
    return 1.0 / np.sqrt((unit[..., 0] ** 2 + unit[..., 1] ** 2) / WGS84_A**2 + unit[..., 2] ** 2 / _WGS84_B**2)


def tangent_basis(up: np.ndarray, lon_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geocentric east and north unit vectors at unit vectors ``up`` (U, 3) of longitude ``lon_deg``.

    East is (−sin λ, cos λ, 0); north = up × east, tangent to the sphere (well defined at the poles
    because the longitude is given).
    """
    lam = rad(lon_deg)
    east = np.stack([-np.sin(lam), np.cos(lam), np.zeros_like(lam)], axis=-1)
    return east, np.cross(up, east)


def disc_users(center_lat_deg: float, center_lon_deg: float, radius_m: float, count: int, seed: int, *,
               speed_m_s: float = 0.0, heading_deg: float = 0.0) -> UserSet:
    """``count`` users uniform in area on the spherical cap of geodesic radius ``radius_m``.

    The sphere has the geocentric radius R_c of the centre (on the ellipsoid surface). Cap area
    grows as 1 − cos γ = 2 sin²(γ/2) (Archimedes), so γ = 2 arcsin(√u · sin(α/2)) with u ~ U[0, 1)
    and α = radius / R_c gives uniform area; the bearing is uniform in [0, 2π). Points are mapped
    radially onto the ellipsoid (height 0): over a 2000 km cap this changes the area density by
    < 0.25 % (the ellipsoid's radius varies by ±0.1 % across it). Users are named ``user-000`` …
    """
    centre = geodetic_to_ecef(center_lat_deg, center_lon_deg, 0.0)
    r_c = float(np.linalg.norm(centre))
    c_hat = centre / r_c
    east, north = tangent_basis(c_hat[None], np.array([center_lon_deg]))
    rng = np.random.default_rng(seed)
    u, bearing = rng.random((2, count))
    bearing = 2.0 * math.pi * bearing
    alpha = radius_m / r_c
    gamma = 2.0 * np.arcsin(np.sqrt(u) * math.sin(alpha / 2.0))
    tangent = np.cos(bearing)[:, None] * north + np.sin(bearing)[:, None] * east
    direction = np.cos(gamma)[:, None] * c_hat + np.sin(gamma)[:, None] * tangent
    lat, lon, _ = ecef_to_geodetic(ellipsoid_radius_m(direction)[:, None] * direction)
    width = max(3, len(str(count - 1)))
    return UserSet(
        names=tuple(f"user-{i:0{width}d}" for i in range(count)),
        lat_deg=lat,
        lon_deg=lon,
        height_m=np.zeros(count),
        cap_centre_ecef_m=centre,
        speed_m_s=speed_m_s,
        heading_deg=heading_deg,
    )


def area_centre_ecef(users: UserSet) -> np.ndarray | None:
    """Centre of the users' area at t = 0, ECEF on the ellipsoid surface, shape (3,), m; None when
    the users surround the Earth and have none.

    Disc users: the disc centre. Listed users: the point of the ellipsoid under the mean of the
    users' geocentric unit vectors (the centre of a cap around them).
    """
    if users.cap_centre_ecef_m is not None:
        return np.array(users.cap_centre_ecef_m, dtype=float)
    start = users.positions_m(0.0)
    mean = np.mean(start / np.linalg.norm(start, axis=-1, keepdims=True), axis=0)
    norm = float(np.linalg.norm(mean))
    if norm < 1e-6:
        return None
    return ellipsoid_radius_m(mean / norm) * mean / norm
