"""3GPP TR 38.811 V15.4.0 large-scale tables and ITU-R P.676 zenith attenuations, typed in as constants.

Every row is indexed by the elevation grid :data:`ELEVATION_GRID_DEG` (10°, 20°, …, 90°). Sources:

- LOS probability: TR 38.811 V15.4.0 Table 6.6.1-1 (percent).
- Shadow-fading standard deviation σ_SF and NLOS clutter loss CL: Tables 6.6.2-1 (dense urban),
  6.6.2-2 (urban), 6.6.2-3 (suburban and rural), in dB, for S band and Ka band.
- Ricean K-factor of LOS links, mean μ_K and standard deviation σ_K in dB: Tables 6.7.2-1a/b
  (dense urban), 6.7.2-2a/b (urban), 6.7.2-3a/b (suburban), 6.7.2-4a/b (rural), S band ("a" tables
  give the mean over the fast-fading clusters as printed) and Ka band. NLOS links have no K-factor.
- Tropospheric scintillation loss: Table 6.6.6.2.1-1 (20 GHz, Toulouse, 99 %), dB.
- Zenith gaseous attenuation at sea level, standard atmosphere (1013.25 hPa, 15 °C, 7.5 g/m³):
  ITU-R P.676 (values of the exact line-by-line method), dB.

The test ``tests/test_radio_budget.py`` checks every value against the machine-readable copy in
``../shared/data/reference/tr38811_reference_tables.json``.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "ELEVATION_GRID_DEG",
    "LOS_PROBABILITY_PCT",
    "SHADOW_FADING_SIGMA_DB",
    "CLUTTER_LOSS_DB",
    "RICEAN_K_DB",
    "TROPOSPHERIC_SCINTILLATION_DB",
    "P676_ZENITH_ATTENUATION_DB",
    "table_environment",
]

#: Elevation angles (deg) at which every TR 38.811 table is given.
ELEVATION_GRID_DEG = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0)

#: TR 38.811 Table 6.6.1-1, LOS probability in percent, keyed by table environment.
LOS_PROBABILITY_PCT = MappingProxyType(
    {
        "dense_urban": (28.2, 33.1, 39.8, 46.8, 53.7, 61.2, 73.8, 82.0, 98.1),
        "urban": (24.6, 38.6, 49.3, 61.3, 72.6, 80.5, 91.9, 96.8, 99.2),
        "suburban_rural": (78.2, 86.9, 91.9, 92.9, 93.5, 94.0, 94.9, 95.2, 99.8),
    }
)

_DU_S_NLOS_CL = (34.3, 30.9, 29.0, 27.7, 26.8, 26.2, 25.8, 25.5, 25.5)
_DU_KA_NLOS_CL = (44.3, 39.9, 37.5, 35.8, 34.6, 33.8, 33.3, 33.0, 32.9)

#: TR 38.811 Tables 6.6.2-1/2/3, shadow-fading σ_SF (dB): [environment][band][LOS state].
SHADOW_FADING_SIGMA_DB = MappingProxyType(
    {
        "dense_urban": MappingProxyType(
            {
                "S": MappingProxyType(
                    {
                        "LOS": (3.5, 3.4, 2.9, 3.0, 3.1, 2.7, 2.5, 2.3, 1.2),
                        "NLOS": (15.5, 13.9, 12.4, 11.7, 10.6, 10.5, 10.1, 9.2, 9.2),
                    }
                ),
                "Ka": MappingProxyType(
                    {
                        "LOS": (2.9, 2.4, 2.7, 2.4, 2.4, 2.7, 2.6, 2.8, 0.6),
                        "NLOS": (17.1, 17.1, 15.6, 14.6, 14.2, 12.6, 12.1, 12.3, 12.3),
                    }
                ),
            }
        ),
        "urban": MappingProxyType(
            {
                "S": MappingProxyType({"LOS": (4.0,) * 9, "NLOS": (6.0,) * 9}),
                "Ka": MappingProxyType({"LOS": (4.0,) * 9, "NLOS": (6.0,) * 9}),
            }
        ),
        "suburban_rural": MappingProxyType(
            {
                "S": MappingProxyType(
                    {
                        "LOS": (1.79, 1.14, 1.14, 0.92, 1.42, 1.56, 0.85, 0.72, 0.72),
                        "NLOS": (8.93, 9.08, 8.78, 10.25, 10.56, 10.74, 10.17, 11.52, 11.52),
                    }
                ),
                "Ka": MappingProxyType(
                    {
                        "LOS": (1.9, 1.6, 1.9, 2.3, 2.7, 3.1, 3.0, 3.6, 0.4),
                        "NLOS": (10.7, 10.0, 11.2, 11.6, 11.8, 10.8, 10.8, 10.8, 10.8),
                    }
                ),
            }
        ),
    }
)

#: TR 38.811 Tables 6.6.2-1/2/3, clutter loss CL of NLOS links (dB): [environment][band]. LOS links: 0 dB.
CLUTTER_LOSS_DB = MappingProxyType(
    {
        "dense_urban": MappingProxyType({"S": _DU_S_NLOS_CL, "Ka": _DU_KA_NLOS_CL}),
        "urban": MappingProxyType({"S": _DU_S_NLOS_CL, "Ka": _DU_KA_NLOS_CL}),
        "suburban_rural": MappingProxyType(
            {
                "S": (19.52, 18.17, 18.42, 18.28, 18.63, 17.68, 16.5, 16.3, 16.3),
                "Ka": (29.5, 24.6, 21.9, 20.0, 18.7, 17.8, 17.2, 16.9, 16.8),
            }
        ),
    }
)

#: TR 38.811 Tables 6.7.2-1a … 6.7.2-4b, LOS Ricean K-factor (dB): [(environment, band)] -> (μ_K, σ_K).
RICEAN_K_DB = MappingProxyType(
    {
        ("dense_urban", "S"): (
            (4.4, 9.0, 9.3, 7.9, 7.4, 7.0, 6.9, 6.5, 6.8),
            (3.3, 6.6, 6.1, 4.0, 3.0, 2.6, 2.2, 2.1, 1.9),
        ),
        ("dense_urban", "Ka"): (
            (6.1, 13.7, 12.9, 10.3, 9.2, 8.4, 8.0, 7.4, 7.6),
            (2.6, 6.8, 6.0, 3.3, 2.2, 1.9, 1.5, 1.6, 1.3),
        ),
        ("urban", "S"): (
            (31.83, 18.78, 10.49, 7.46, 6.52, 5.47, 4.54, 4.03, 3.68),
            (13.84, 13.78, 10.42, 8.01, 8.27, 7.26, 5.53, 4.49, 3.14),
        ),
        ("urban", "Ka"): (
            (40.18, 23.62, 12.48, 8.56, 7.42, 5.97, 4.88, 4.22, 3.81),
            (16.99, 18.96, 14.23, 11.06, 11.21, 9.47, 7.24, 5.79, 4.25),
        ),
        ("suburban", "S"): (
            (11.4, 19.45, 20.8, 21.2, 21.6, 19.75, 12.0, 12.85, 12.85),
            (6.26, 10.32, 16.34, 15.63, 14.22, 14.19, 5.7, 9.91, 9.91),
        ),
        ("suburban", "Ka"): (
            (8.9, 14.0, 11.3, 9.0, 7.5, 6.6, 5.9, 5.5, 5.4),
            (4.4, 4.6, 3.7, 3.5, 3.0, 2.6, 1.7, 0.7, 0.3),
        ),
        ("rural", "S"): (
            (24.72, 12.31, 8.05, 6.21, 5.04, 4.42, 3.92, 3.65, 3.59),
            (5.07, 5.75, 5.46, 5.23, 3.95, 3.75, 2.56, 1.77, 1.77),
        ),
        ("rural", "Ka"): (
            (25.43, 12.72, 8.4, 6.52, 5.24, 4.57, 4.02, 3.7, 3.62),
            (7.04, 7.47, 7.18, 6.88, 5.28, 4.92, 3.4, 2.22, 2.28),
        ),
    }
)

#: TR 38.811 Table 6.6.6.2.1-1, tropospheric scintillation loss (dB), 20 GHz, Toulouse, 99 %.
TROPOSPHERIC_SCINTILLATION_DB = (1.08, 0.48, 0.30, 0.22, 0.17, 0.13, 0.12, 0.12, 0.12)

#: ITU-R P.676 zenith gaseous attenuation at sea level, standard atmosphere: (frequency_hz, dB) pairs.
P676_ZENITH_ATTENUATION_DB = (
    (2.0e9, 0.035),
    (5.0e9, 0.040),
    (12.0e9, 0.060),
    (20.0e9, 0.253),
    (22.235e9, 0.522),
    (30.0e9, 0.232),
)

#: The environments users name, and the key of the LOS-probability / shadow-fading tables for each.
_TABLE_ENVIRONMENT = MappingProxyType(
    {"dense_urban": "dense_urban", "urban": "urban", "suburban": "suburban_rural", "rural": "suburban_rural"}
)


def table_environment(environment: str) -> str:
    """Key of Tables 6.6.1-1 and 6.6.2-x for a user environment (suburban and rural share one table).

    >>> table_environment("rural")
    'suburban_rural'
    """
    return _TABLE_ENVIRONMENT[environment]
