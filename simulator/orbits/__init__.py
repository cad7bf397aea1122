"""Orbits: element sets (TLE/OMM), Walker constellations, vectorised SGP4, geometry and exact passes."""
