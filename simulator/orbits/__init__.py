"""Orbits: element sets (TLE/OMM), Walker constellations, vectorised SGP4, geometry and exact passes.

Typical use::

    from simulator.orbits import load_catalog, find_passes, geodetic_to_ecef
    catalog = load_catalog("tle/starlink-shell1.tle")
    passes = find_passes(catalog, geodetic_to_ecef(42.36, -71.06, 0.0)[None], "2026-01-01T00:00:00Z",
                         duration_s=86_400.0, min_elevation_deg=25.0)
"""

from __future__ import annotations

from .catalog import Catalog
from .geodesy import LookAngles, ecef_to_geodetic, elevation, enu_basis, geodetic_to_ecef, look_angles
from .passes import find_passes
from .propagate import Ephemeris, SGP4Failure, SGP4Warning, propagate_ecef
from .tle import checksum, format_tle, format_tle_text, load_catalog, parse_tle_text, write_tle
from .visibility import VisibilityChunk, visible_windows
from .walker import PRESETS, WalkerSpec, mean_motion_for_altitude, walker_catalog, walker_elements

__all__ = [
    "Catalog",
    "load_catalog",
    "parse_tle_text",
    "format_tle",
    "format_tle_text",
    "write_tle",
    "checksum",
    "PRESETS",
    "WalkerSpec",
    "walker_catalog",
    "walker_elements",
    "mean_motion_for_altitude",
    "propagate_ecef",
    "Ephemeris",
    "SGP4Failure",
    "SGP4Warning",
    "geodetic_to_ecef",
    "ecef_to_geodetic",
    "enu_basis",
    "look_angles",
    "elevation",
    "LookAngles",
    "visible_windows",
    "VisibilityChunk",
    "find_passes",
]
