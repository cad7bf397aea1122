"""Bounds from the element sets alone: semi-major axes and the longest pass above a mask."""

from __future__ import annotations

import numpy as np

from ..constants import SGP4_MU, WGS84_A
from .catalog import Catalog

__all__ = ["semi_major_axis_m", "max_pass_duration_s"]


def semi_major_axis_m(catalog: Catalog) -> np.ndarray:
    """Two-body semi-major axis (S,) of each element set from its mean motion, m (a = (μ/n²)^(1/3))."""
    n_rad_s = np.array([s.no_kozai for s in catalog.satrecs]) / 60.0  # rad/min -> rad/s
    return (SGP4_MU / n_rad_s**2) ** (1.0 / 3.0)


def max_pass_duration_s(catalog: Catalog, min_elevation_deg: float) -> float:
    """Upper bound of a pass above the mask for the highest satellite of ``catalog``, s.

    Overhead pass of a circular orbit at the largest apogee radius, on a non-rotating sphere of the
    WGS84 equatorial radius, lengthened by 50 % to cover Earth rotation (a few %) and ellipticity.
    """
    ecc = np.array([s.ecco for s in catalog.satrecs])
    r = float(np.max(semi_major_axis_m(catalog) * (1.0 + ecc)))
    eps = np.radians(min_elevation_deg)
    psi = np.arccos(WGS84_A * np.cos(eps) / r) - eps  # Earth-central half-angle of the visible cap
    period = 2.0 * np.pi * np.sqrt(r**3 / SGP4_MU)
    return 1.5 * period * (2.0 * psi) / (2.0 * np.pi)
