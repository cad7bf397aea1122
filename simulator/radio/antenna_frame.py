"""Geometry of each link: elevation at the user and angles of departure in the satellite antenna frame.

Antenna frame (nadir-pointing UPA). For satellite position r and Earth-fixed velocity v (ECEF):

- z_b = −r / |r|: nadir, towards the Earth's centre — the array boresight (broadside);
- x_b = v − (v·z_b) z_b, normalised: along-track, the velocity projected orthogonal to z_b;
- y_b = z_b × x_b: cross-track (to the right of the ground track); (x_b, y_b, z_b) is right-handed.

The array lies in the x_b–y_b plane. Its *vertical* axis (000 eq 4, N_v elements, spacing d_v) is
x_b (along-track), its *horizontal* axis (000 eq 3, N_h elements, spacing d_h) is y_b (cross-track).
For the unit vector u from the satellite to the user, 000's AoDs are the spherical angles of u about
the vertical array axis:

    cos θ = u · x_b,   sin θ cos φ = u · y_b,   sin θ sin φ = u · z_b,

i.e. θ ∈ [0, π] is measured from the along-track axis and φ ∈ (−π, π] from the cross-track axis
towards nadir. This is exactly the geometry that makes a_v depend on cos θ and a_h on sin θ cos φ
(eqs 3–4). Earth-facing users have u · z_b > 0, so φ ∈ (0, π). Special cases: the sub-satellite
(nadir) user has θ = π/2, φ = π/2 and a steering vector of all ones (broadside); θ = π/2 means the
user lies in the cross-track plane (no along-track offset); θ → 0 or π (a user straight ahead or
behind, only at the horizon) leaves φ undefined and it is returned as atan2(0, 0) = 0. The angle
from boresight (off-nadir angle) is ψ = arccos(u · z_b) = arccos(sin θ sin φ); it feeds the aperture
pattern (TR 38.811 §6.4.1, 004 eq 6). 000 writes the same transformation as rotations R_y⁻¹ R_z⁻¹ of
the relative position into the satellite's frame followed by spherical coordinates.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..constants import WGS84_A
from ..orbits.geodesy import ecef_to_geodetic, enu_basis

__all__ = ["AoD", "antenna_axes", "angles_of_departure", "elevation_rad", "slant_range_m"]

class AoD(NamedTuple):
    """Angles of departure of every (satellite, user) link, each shape (..., S, U), rad."""

    theta_rad: np.ndarray  #: "elevation" AoD of 000, from the along-track (vertical-array) axis, [0, π]
    phi_rad: np.ndarray  #: "azimuth" AoD of 000, from the cross-track axis towards nadir, (−π, π]
    boresight_rad: np.ndarray  #: angle from the nadir boresight (off-nadir angle), [0, π]


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _link_vectors(sat_pos_m: ArrayLike, user_pos_m: ArrayLike) -> np.ndarray:
    """Satellite→user vectors, shape (..., S, U, 3), m."""
    sat = np.asarray(sat_pos_m, dtype=float)
    user = np.asarray(user_pos_m, dtype=float)
    return user[..., np.newaxis, :, :] - sat[..., :, np.newaxis, :]


def antenna_axes(sat_pos_m: ArrayLike, sat_vel_m_s: ArrayLike) -> np.ndarray:
    """Axes of each satellite's antenna frame in ECEF: rows x_b (along), y_b (cross), z_b (nadir).

    Parameters
    ----------
    sat_pos_m : ndarray, shape (..., S, 3), m — ECEF positions
    sat_vel_m_s : ndarray, shape (..., S, 3), m/s — ECEF velocities

    Returns
    -------
    ndarray, shape (..., S, 3, 3) — rotation matrix R with R @ w giving ECEF vector w in the frame
    """
    r = np.asarray(sat_pos_m, dtype=float)
    v = np.asarray(sat_vel_m_s, dtype=float)
    z_b = -_unit(r)
    x_b = _unit(v - np.sum(v * z_b, axis=-1, keepdims=True) * z_b)
    y_b = np.cross(z_b, x_b)
    return np.stack([x_b, y_b, z_b], axis=-2)


def angles_of_departure(sat_pos_m: ArrayLike, sat_vel_m_s: ArrayLike, user_pos_m: ArrayLike) -> AoD:
    """AoDs (θ, φ) of 000 eqs 3–4 and the off-nadir angle of each link (see the module docstring).

    Parameters
    ----------
    sat_pos_m : ndarray, shape (..., S, 3), m — ECEF
    sat_vel_m_s : ndarray, shape (..., S, 3), m/s — ECEF (defines the along-track axis)
    user_pos_m : ndarray, shape (..., U, 3), m — ECEF

    Returns
    -------
    AoD of arrays shape (..., S, U), rad
    """
    axes = antenna_axes(sat_pos_m, sat_vel_m_s)
    u = _unit(_link_vectors(sat_pos_m, user_pos_m))
    # components in the antenna frame: (..., S, U, 3) = axes (..., S, 1, 3, 3) @ u
    local = np.einsum("...sij,...suj->...sui", axes, u)
    ux, uy, uz = local[..., 0], local[..., 1], local[..., 2]
    theta = np.arctan2(np.hypot(uy, uz), ux)
    phi = np.arctan2(uz, uy)
    boresight = np.arctan2(np.hypot(ux, uy), uz)
    return AoD(theta, phi, boresight)


def elevation_rad(sat_pos_m: ArrayLike, user_pos_m: ArrayLike) -> np.ndarray:
    """Elevation of each satellite above each user's geodetic (WGS84) horizon.

    el = atan2(d·û, |d − (d·û) û|) with d the user→satellite vector and û the ellipsoid normal
    (the vertical of :mod:`simulator.orbits.geodesy`, so radio masks and pass windows agree).

    Parameters
    ----------
    sat_pos_m : ndarray, shape (..., S, 3), m — ECEF
    user_pos_m : ndarray, shape (..., U, 3), m — ECEF

    Returns
    -------
    ndarray, shape (..., S, U), rad, in [−π/2, π/2]
    """
    user = np.asarray(user_pos_m, dtype=float)
    lat_deg, lon_deg, _ = ecef_to_geodetic(user)
    up = enu_basis(lat_deg, lon_deg)[..., 2, :][..., np.newaxis, :, :]
    to_sat = -_link_vectors(sat_pos_m, user)
    vertical = np.sum(to_sat * up, axis=-1)
    horizontal = np.linalg.norm(to_sat - vertical[..., np.newaxis] * up, axis=-1)
    return np.arctan2(vertical, horizontal)


def slant_range_m(altitude_m: ArrayLike, elevation_rad: ArrayLike, earth_radius_m: float = WGS84_A) -> np.ndarray:
    """Slant range to a satellite at ``altitude_m`` seen at ``elevation_rad`` over a spherical Earth.

    d = √(R² sin² el + h² + 2 R h) − R sin el (law of cosines in the Earth-centre/user/satellite
    triangle; REFERENCE 3.5–3.6 use R = 6378.137 km).

    >>> round(float(slant_range_m(600e3, np.radians(30.0))) / 1e3)
    1075
    """
    h = np.asarray(altitude_m, dtype=float)
    s = np.sin(np.asarray(elevation_rad, dtype=float))
    r = float(earth_radius_m)
    return np.sqrt((r * s) ** 2 + h * h + 2.0 * r * h) - r * s
