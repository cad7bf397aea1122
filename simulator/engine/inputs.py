"""Moved: the scenario edge is :mod:`simulator.inputs`, the ground users :mod:`simulator.orbits.ground`.

The names stay importable from here for callers written against the old place.
"""

from __future__ import annotations

from ..inputs import build_catalog, build_users, check_inputs, radio_params, scenario_start_utc, service_centre_ecef
from ..orbits.ground import UserSet

__all__ = ["UserSet", "build_catalog", "scenario_start_utc", "build_users", "radio_params", "service_centre_ecef",
           "check_inputs"]
