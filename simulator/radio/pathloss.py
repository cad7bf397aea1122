"""Path-loss components of 3GPP TR 38.811 §6.6 (V15.4.0) and 000's free-space and absorption terms.

All functions are vectorised over leading axes and return losses in dB (positive = loss) or
probabilities, except :func:`free_space_path_loss` which gives the linear loss of 000 Sec. II-B.
Elevation-indexed tables (Tables 6.6.1-1, 6.6.2-x, 6.6.6.2.1-1, 6.7.2-x) are interpolated linearly in
elevation between their 10° grid points; below 10° the 10° value is used (the TR gives no row there).

>>> round(float(free_space_path_loss_db(1_075_000.0, 2.0e9)), 1)
159.1
>>> round(float(ionospheric_scintillation_db(2.0e9)), 2)
2.2
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..constants import SPEED_OF_LIGHT, WGS84_A
from ..errors import InputError
from ..units import deg, lin_to_db
from . import tr38811_tables as tables

__all__ = [
    "ATMOSPHERE_EQUIVALENT_HEIGHT_M",
    "free_space_path_loss",
    "free_space_path_loss_db",
    "zenith_attenuation_db",
    "gaseous_absorption_db",
    "ionospheric_scintillation_db",
    "tropospheric_scintillation_db",
    "los_probability",
    "shadow_fading_sigma_db",
    "clutter_loss_db",
    "ricean_k_factor_db",
]

#: Equivalent height (m) of the absorbing atmosphere used by :func:`gaseous_absorption_db`: the
#: oxygen equivalent height of ITU-R P.676 Annex 2 (≈ 5–6 km at sea level, the dominant absorber
#: below 10 GHz). Above 10° elevation the result differs from the plain cosecant law by < 1.5 %.
ATMOSPHERE_EQUIVALENT_HEIGHT_M = 6_000.0


def _interp_elevation(elevation_rad: ArrayLike, row: tuple[float, ...]) -> np.ndarray:
    """Linear interpolation of a TR 38.811 row over the 10°…90° grid; held at the 10° value below."""
    el_deg = deg(elevation_rad)
    return np.interp(el_deg, tables.ELEVATION_GRID_DEG, row)


def free_space_path_loss(distance_m: ArrayLike, frequency_hz: ArrayLike) -> np.ndarray:
    """Linear free-space path loss L = (4π f d / c)² (000 Sec. II-B, L^free; TR 38.811 eq 6.6-2).

    Parameters
    ----------
    distance_m : ndarray, shape (...), m — slant range
    frequency_hz : float or ndarray, Hz — carrier frequency

    Returns
    -------
    ndarray, shape (...), linear (≥ 1 for d ≥ λ/4π)
    """
    d = np.asarray(distance_m, dtype=float)
    return (4.0 * np.pi * np.asarray(frequency_hz, dtype=float) * d / SPEED_OF_LIGHT) ** 2


def free_space_path_loss_db(distance_m: ArrayLike, frequency_hz: ArrayLike) -> np.ndarray:
    """FSPL in dB, 20 log10(4π f d / c) (TR 38.811 §6.6.2: 32.45 + 20 log10 f_GHz + 20 log10 d_m).

    The TR's constant 32.45 is 20 log10(4π 10⁹ / c) = 32.4478 rounded; this function uses the exact
    value, so it is 0.0022 dB below the rounded formula.

    Parameters
    ----------
    distance_m : ndarray, shape (...), m
    frequency_hz : float or ndarray, Hz

    Returns
    -------
    ndarray, shape (...), dB
    """
    return lin_to_db(free_space_path_loss(distance_m, frequency_hz))


def zenith_attenuation_db(frequency_hz: float) -> float:
    """Zenith gaseous attenuation L_zenith(f) (dB) of ITU-R P.676 at sea level (000 Sec. II-B).

    Interpolates the table :data:`~simulator.radio.tr38811_tables.P676_ZENITH_ATTENUATION_DB`
    log-linearly (ln of the attenuation linear in frequency) between 2 and 30 GHz.

    Raises
    ------
    InputError
        Outside 2–30 GHz, where no value is tabulated: give ``zenith_attenuation_db`` explicitly.
    """
    f_tab = np.array([f for f, _ in tables.P676_ZENITH_ATTENUATION_DB])
    a_tab = np.array([a for _, a in tables.P676_ZENITH_ATTENUATION_DB])
    f = float(frequency_hz)
    if not f_tab[0] <= f <= f_tab[-1]:
        raise InputError(
            f"frequency_hz={f:g} Hz is outside the tabulated 2–30 GHz of the P.676 zenith attenuation; "
            "set zenith_attenuation_db explicitly (ITU-R P.676 gives the value for your frequency)"
        )
    return float(np.exp(np.interp(f, f_tab, np.log(a_tab))))


def gaseous_absorption_db(
    elevation_rad: ArrayLike,
    zenith_attenuation_db: ArrayLike,
    *,
    equivalent_height_m: float = ATMOSPHERE_EQUIVALENT_HEIGHT_M,
    earth_radius_m: float = WGS84_A,
) -> np.ndarray:
    """Gaseous absorption along the slant path, A_zenith · ℓ(el) / h (TR 38.811 §6.6.4; 000 L^abs).

    The TR and 000 use the cosecant law A_zenith / sin(el), valid above 10°. This function uses the
    path length ℓ through a spherical shell of thickness h = ``equivalent_height_m`` on a sphere of
    radius R, ℓ = √((R+h)² − R² cos² el) − R sin el, which tends to h / sin(el) as R → ∞, agrees with
    the cosecant law within 1.5 % above 10° and stays finite at the horizon (46 · A_zenith at 0°
    for h = 6 km). ``equivalent_height_m=numpy.inf`` gives the plain cosecant law.

    Parameters
    ----------
    elevation_rad : ndarray, shape (...), rad — elevation of the satellite seen from the user
    zenith_attenuation_db : float or ndarray, dB — attenuation at 90° elevation
    equivalent_height_m : float, m — thickness of the absorbing layer
    earth_radius_m : float, m

    Returns
    -------
    ndarray, shape (...), dB
    """
    el = np.asarray(elevation_rad, dtype=float)
    a_z = np.asarray(zenith_attenuation_db, dtype=float)
    if np.isinf(equivalent_height_m):
        with np.errstate(divide="ignore"):
            return a_z / np.sin(el)
    r, h = earth_radius_m, equivalent_height_m
    path = np.sqrt((r + h) ** 2 - (r * np.cos(el)) ** 2) - r * np.sin(el)
    return a_z * path / h


def ionospheric_scintillation_db(frequency_hz: ArrayLike) -> np.ndarray:
    """Ionospheric scintillation loss 6.22 / f_GHz^1.5 dB (TR 38.811 §6.6.6.1.4, S band; 2.2 dB at 2 GHz)."""
    f_ghz = np.asarray(frequency_hz, dtype=float) / 1e9
    return 6.22 / f_ghz**1.5


def tropospheric_scintillation_db(elevation_rad: ArrayLike) -> np.ndarray:
    """Tropospheric scintillation loss (dB) of TR 38.811 Table 6.6.6.2.1-1 (Ka band), by elevation."""
    return _interp_elevation(elevation_rad, tables.TROPOSPHERIC_SCINTILLATION_DB)


def los_probability(elevation_rad: ArrayLike, environment: str) -> np.ndarray:
    """Probability (0…1) that a link is LOS, TR 38.811 Table 6.6.1-1, by elevation and environment.

    Parameters
    ----------
    elevation_rad : ndarray, shape (...), rad
    environment : {'dense_urban', 'urban', 'suburban', 'rural'}
    """
    row = tables.LOS_PROBABILITY_PCT[tables.table_environment(environment)]
    return _interp_elevation(elevation_rad, row) / 100.0


def shadow_fading_sigma_db(elevation_rad: ArrayLike, environment: str, band: str, los: ArrayLike) -> np.ndarray:
    """Shadow-fading standard deviation σ_SF (dB), TR 38.811 Tables 6.6.2-1/2/3.

    Parameters
    ----------
    elevation_rad : ndarray, shape (...), rad
    environment : {'dense_urban', 'urban', 'suburban', 'rural'}
    band : {'S', 'Ka'}
    los : bool or ndarray of bool, broadcastable to elevation — LOS state of each link
    """
    rows = tables.SHADOW_FADING_SIGMA_DB[tables.table_environment(environment)][band]
    return np.where(los, _interp_elevation(elevation_rad, rows["LOS"]), _interp_elevation(elevation_rad, rows["NLOS"]))


def clutter_loss_db(elevation_rad: ArrayLike, environment: str, band: str, los: ArrayLike) -> np.ndarray:
    """Clutter loss CL (dB), TR 38.811 Tables 6.6.2-1/2/3: the NLOS value, 0 dB for LOS links."""
    row = tables.CLUTTER_LOSS_DB[tables.table_environment(environment)][band]
    return np.where(los, 0.0, _interp_elevation(elevation_rad, row))


def ricean_k_factor_db(elevation_rad: ArrayLike, environment: str, band: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean μ_K and standard deviation σ_K (dB) of the LOS Ricean K-factor, TR 38.811 Tables 6.7.2-xa/xb.

    Returns
    -------
    mu_db, sigma_db : ndarray, shape (...), dB
    """
    mu, sigma = tables.RICEAN_K_DB[(environment, band)]
    return _interp_elevation(elevation_rad, mu), _interp_elevation(elevation_rad, sigma)
