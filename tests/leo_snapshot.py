"""Synthetic LEO snapshots for the rate tests of the baselines and UC-DMIMO (no orbits, no TLEs).

Satellites at a fixed altitude above random sub-satellite points within ±``spread_deg`` of
(0°, 0°), flying north; users uniform in a ground disk of radius ``user_radius_m`` around (0°, 0°)
(000 Sec. VI: a 200 km service area). The statistical CSI comes from the radio layer
(:func:`simulator.radio.csi.compute_statistical_csi`), so AoDs, steering vectors, β, κ and delays
are those the simulator uses. ``times_s`` gives a block (T, S, U) with the satellites moved along
their velocity for each time.
"""

from __future__ import annotations

import numpy as np

from simulator.constants import WGS84_A
from simulator.radio.csi import compute_statistical_csi
from simulator.radio.params import RadioParams
from simulator.radio.statistical_csi import StatisticalCSI

ORBIT_SPEED_M_S = 7.6e3  # m/s, circular speed at 550 km (rounded)


def _unit(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def _north(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)], axis=-1)


def user_positions(rng: np.random.Generator, n_user: int, user_radius_m: float = 200e3) -> np.ndarray:
    """ECEF positions (U, 3) of users uniform in a disk around (0°, 0°) on the equatorial surface."""
    r = user_radius_m * np.sqrt(rng.uniform(0.0, 1.0, n_user))
    a = rng.uniform(0.0, 2.0 * np.pi, n_user)
    return WGS84_A * _unit(np.degrees(r * np.sin(a) / WGS84_A), np.degrees(r * np.cos(a) / WGS84_A))


def _satellite_lat_lon(rng: np.random.Generator, n_sat: int, spread_deg: float) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(-spread_deg, spread_deg, n_sat), rng.uniform(-spread_deg, spread_deg, n_sat)


def subsatellite_points(seed: int, n_sat: int, spread_deg: float = 6.0) -> np.ndarray:
    """ECEF ground points (S, 3) right below the satellites of ``snapshot(seed, n_sat, ...)``."""
    lat, lon = _satellite_lat_lon(np.random.default_rng(seed), n_sat, spread_deg)
    return WGS84_A * _unit(lat, lon)


def snapshot(seed: int, n_sat: int, n_user: int, params: RadioParams, *, spread_deg: float = 6.0,
             altitude_m: float = 550e3, min_elevation_deg: float = 10.0, users_m: np.ndarray | None = None,
             times_s: np.ndarray | None = None) -> StatisticalCSI:
    """Statistical CSI of one random snapshot (S, U), or of a block (T, S, U) when ``times_s`` is given."""
    rng = np.random.default_rng(seed)
    lat, lon = _satellite_lat_lon(rng, n_sat, spread_deg)
    sat = (WGS84_A + altitude_m) * _unit(lat, lon)
    vel = ORBIT_SPEED_M_S * _north(lat, lon)
    users = user_positions(rng, n_user) if users_m is None else np.asarray(users_m, dtype=float)
    if times_s is not None:
        t = np.asarray(times_s, dtype=float)[:, None, None]
        sat = sat + t * vel                  # straight-line motion: fine for a few seconds
        vel = np.broadcast_to(vel, sat.shape)
    return compute_statistical_csi(sat, vel, users, params=params, rng=np.random.default_rng(seed + 1),
                                   min_elevation_deg=min_elevation_deg)
