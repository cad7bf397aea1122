"""Physical constants, each with its unit and source. SI units throughout."""

from __future__ import annotations

SPEED_OF_LIGHT = 299_792_458.0  # m/s, SI definition
BOLTZMANN = 1.380_649e-23  # J/K, SI definition (2019)

# WGS84 ellipsoid (NIMA TR8350.2)
WGS84_A = 6_378_137.0  # m, semi-major axis
WGS84_F = 1.0 / 298.257_223_563  # flattening
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)  # first eccentricity squared

# Earth constants of the WGS-72 model used by SGP4 (Vallado et al., AIAA 2006-6753, "wgs72")
SGP4_MU = 398_600.8e9  # m^3/s^2
SGP4_RADIUS = 6_378_135.0  # m
SGP4_J2 = 0.001_082_616

EARTH_ROTATION_RATE = 7.292_115_146_706_979e-5  # rad/s, IERS conventions (sidereal)
SECONDS_PER_DAY = 86_400.0  # s
NS_PER_S = 1_000_000_000  # ns/s, integer: SimPy time is an integer ns count
M_PER_KM = 1_000.0  # m/km, SI prefix: SGP4 works in km and km/s

#: Environment variables that size the BLAS/OpenMP thread pools (read once, when numpy loads).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
