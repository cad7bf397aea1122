"""Large-scale gain β, noise power and carrier-to-noise ratio (000 Sec. II-B; 004 eq 4; TR 38.821 §6.1.3).

β is the linear power gain of a link *without* the transmit power and *without* the array gain
(the array gain N comes from the steering vector, |a|² = N, 000 eqs 2–4):

    β = G_tx · G_pattern(θ) · G_rx / (L_fs · L_atm · L_scint · L_SF · L_CL · L_other)

(000: β = G^sat G^ue / (L^free L^abs); 004 eq 4 adds shadowing, the beam-misalignment gain and
other losses). The received SNR of a single-antenna link with transmit power ρ_t is ρ_t β / σ².

>>> round(float(cnr_db(48.8, -31.6, 159.1 + 0.1 + 3.0 + 2.2, 30e6)), 2)
6.63
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Mapping

import numpy as np
from numpy.typing import ArrayLike

from ..constants import BOLTZMANN
from ..units import db_to_lin, lin_to_db
from .antenna_frame import slant_range_m
from .pathloss import (
    free_space_path_loss,
    free_space_path_loss_db,
    gaseous_absorption_db,
    ionospheric_scintillation_db,
    tropospheric_scintillation_db,
    zenith_attenuation_db,
)

__all__ = [
    "REFERENCE_TEMPERATURE_K",
    "REFERENCE_ALTITUDE_M",
    "REFERENCE_ELEVATION_DEG",
    "NoiseBelowThermalWarning",
    "large_scale_gain",
    "noise_power_w",
    "cnr_db",
    "thermal_noise_dbm",
    "warn_noise_below_thermal",
    "reference_cnr_db",
    "describe_link_budget",
]

#: Reference temperature T0 = 290 K of the noise-figure definition (IEEE Std 161; ITU-R P.372).
REFERENCE_TEMPERATURE_K = 290.0
#: Geometry of the TR 38.821 link-budget anchors (Table 6.1.3.3-1): LEO-600 seen at 30° elevation.
REFERENCE_ALTITUDE_M = 600.0e3
REFERENCE_ELEVATION_DEG = 30.0


#: Margin below k_B T0 B before the warning: −174 dBm/Hz (the usual rounding, 004) is 0.02 dB below.
NOISE_FLOOR_TOLERANCE_DB = 0.05


class NoiseBelowThermalWarning(UserWarning):
    """A ``[radio]`` noise power below k_B T0 B: no physical receiver (000's −140 dBm is 39 dB below)."""


_WARNING_REGISTRY: dict = {}  # the "once per location" memory of warn_noise_below_thermal


def large_scale_gain(
    distance_m: ArrayLike,
    frequency_hz: float,
    *,
    tx_gain_dbi: float = 0.0,
    rx_gain_dbi: float = 0.0,
    pattern_gain: ArrayLike = 1.0,
    loss_db: ArrayLike = 0.0,
) -> np.ndarray:
    """Large-scale gain β (linear), free-space loss (4π f d / c)² times antenna gains and extra losses.

    Parameters
    ----------
    distance_m : ndarray, shape (...), m — slant range
    frequency_hz : float, Hz
    tx_gain_dbi, rx_gain_dbi : float, dBi — peak antenna gains (000: G^sat, G^ue)
    pattern_gain : ndarray, broadcastable, linear — relative antenna pattern, e.g.
        :func:`~simulator.radio.aperture.aperture_gain` (004 eq 6); 1 for none
    loss_db : ndarray, broadcastable, dB — sum of the other losses (atmospheric absorption,
        scintillation, shadow fading, clutter loss, other), positive = loss

    Returns
    -------
    ndarray, shape (...), linear
    """
    fspl = free_space_path_loss(distance_m, frequency_hz)
    gains = db_to_lin(tx_gain_dbi + rx_gain_dbi - np.asarray(loss_db, dtype=float))
    return gains * np.asarray(pattern_gain, dtype=float) / fspl


def noise_power_w(
    bandwidth_hz: float,
    *,
    noise_temperature_k: float | None = None,
    noise_figure_db: float | None = None,
    antenna_temperature_k: float = REFERENCE_TEMPERATURE_K,
) -> float:
    """Thermal noise power σ² = k_B T_sys B (W).

    T_sys is ``noise_temperature_k`` when given; otherwise it is built from the receiver noise figure
    and the antenna temperature, T_sys = T_ant + (F − 1) · 290 K with F = 10^(NF/10) (the TR 38.821
    Table 6.1.1.1-3 UE: 290 K and NF 7 dB give T_sys = 1452 K). With neither, T_sys = T_ant.

    Parameters
    ----------
    bandwidth_hz : float, Hz
    noise_temperature_k : float, K, optional — system noise temperature
    noise_figure_db : float, dB, optional — receiver noise figure
    antenna_temperature_k : float, K — antenna noise temperature (used with the noise figure)

    Returns
    -------
    float, W

    >>> round(float(lin_to_db(noise_power_w(1.0, noise_temperature_k=290.0))) + 30.0, 2)
    -173.98
    """
    if noise_temperature_k is not None:
        t_sys = float(noise_temperature_k)
    else:
        excess = 0.0 if noise_figure_db is None else float(db_to_lin(noise_figure_db)) - 1.0
        t_sys = float(antenna_temperature_k) + excess * REFERENCE_TEMPERATURE_K
    return BOLTZMANN * t_sys * float(bandwidth_hz)


def cnr_db(
    eirp_dbw: ArrayLike, g_over_t_db_k: ArrayLike, losses_db: ArrayLike, bandwidth_hz: ArrayLike
) -> np.ndarray:
    """Carrier-to-noise ratio of a TR 38.821 link budget (§6.1.3, Table 6.1.3.3-1), dB.

    CNR = EIRP + G/T − L − 10 log10(k_B) − 10 log10(B), with −10 log10(k_B) = 228.5991 dB(K·Hz/W)
    (the TR rounds it to 228.6).

    Parameters
    ----------
    eirp_dbw : ndarray, dBW — transmit EIRP in the bandwidth
    g_over_t_db_k : ndarray, dB/K — receiver figure of merit
    losses_db : ndarray, dB — path loss plus atmospheric, shadowing, scintillation and other losses
    bandwidth_hz : ndarray, Hz

    Returns
    -------
    ndarray, dB
    """
    return (
        np.asarray(eirp_dbw, dtype=float)
        + np.asarray(g_over_t_db_k, dtype=float)
        - np.asarray(losses_db, dtype=float)
        - lin_to_db(BOLTZMANN)
        - lin_to_db(bandwidth_hz)
    )


def thermal_noise_dbm(bandwidth_mhz: float, temperature_k: float = REFERENCE_TEMPERATURE_K) -> float:
    """k_B T B in dBm (−174.0 dBm/Hz at 290 K; −101.0 dBm in 20 MHz)."""
    return 10.0 * math.log10(BOLTZMANN * temperature_k * bandwidth_mhz * 1e6) + 30.0


def warn_noise_below_thermal(noise_dbm: float, bandwidth_mhz: float, link_budget: str = "") -> None:
    """Warn (one :class:`NoiseBelowThermalWarning` line) when ``noise_dbm`` is below k_B T0 B.

    Called for noise powers given directly (``noise_dbm``); a noise figure with an antenna
    temperature is a physical receiver by construction (a cold-sky VSAT, 150 K, is below k_B T0 B).
    """
    floor = thermal_noise_dbm(bandwidth_mhz)
    if not noise_dbm < floor - NOISE_FLOOR_TOLERANCE_DB:
        return
    t_sys = REFERENCE_TEMPERATURE_K * 10.0 ** ((noise_dbm - floor) / 10.0)
    of = f" of link budget {link_budget!r}" if link_budget else ""
    message = (
        f"radio: noise {noise_dbm:.1f} dBm{of} is {floor - noise_dbm:.1f} dB below kTB = {floor:.1f} dBm "
        f"of {bandwidth_mhz:g} MHz at 290 K (system noise temperature {t_sys:.3g} K): SINRs are not those of "
        "a real receiver; for a physical link set link_budget = 'tr38821-s-band-handheld' or 'tr38821-ka-vsat', "
        "or noise_figure_db"
    )
    # An explicit location without source text: the default formatter prints the one line only
    # (no echoed source line), once per message and process under the default filter.
    warnings.warn_explicit(message, NoiseBelowThermalWarning, filename="leosim", lineno=0,
                           module=__name__, registry=_WARNING_REGISTRY)


def reference_cnr_db(radio: Mapping[str, Any], *, altitude_m: float = REFERENCE_ALTITUDE_M,
                     elevation_deg: float = REFERENCE_ELEVATION_DEG) -> float:
    """CNR (dB) of one satellite serving one user with its full power and the array's peak gain.

    ρ_t G^sat N G^ue / (L_fs L_atm L_scint L_other σ²) at ``elevation_deg`` from ``altitude_m``
    (default: the TR 38.821 anchors' 30° from 600 km), from ``[radio]`` fields in edge units (a
    resolved :class:`~simulator.scenario.RadioConfig` dumped to a dict, or the manifest's
    ``scenario.radio``). No aperture pattern (beam centre), shadowing draws or clutter (LOS, median);
    scintillation as the model applies it (S band at the carrier, Ka band by elevation).
    """
    el = math.radians(elevation_deg)
    f_hz = float(radio["frequency_ghz"]) * 1e9
    d = float(slant_range_m(altitude_m, el))
    zenith = radio.get("zenith_attenuation_db")
    zenith = zenith_attenuation_db(f_hz) if zenith is None else float(zenith)
    loss = float(free_space_path_loss_db(d, f_hz)) + float(gaseous_absorption_db(el, zenith))
    loss += float(radio.get("other_losses_db", 0.0))
    if radio.get("scintillation"):
        band = radio.get("band", "S")
        loss += float(ionospheric_scintillation_db(f_hz) if band == "S" else tropospheric_scintillation_db(el))
    n_elements = int(radio["n_h"]) * int(radio["n_v"])
    gain = float(radio["sat_gain_dbi"]) + 10.0 * math.log10(n_elements) + float(radio["ue_gain_dbi"])
    return float(radio["tx_power_dbm"]) + gain - loss - float(radio["noise_dbm"])


def describe_link_budget(radio: Any) -> str:
    """One line stating a scenario's link budget, e.g. for the top of a run report.

    Parameters
    ----------
    radio : :class:`~simulator.scenario.RadioConfig` or mapping — the resolved ``[radio]`` table
        (``scenario.radio``, or ``manifest["scenario"]["radio"]`` of a run directory; a manifest
        written before presets existed has no ``link_budget`` and is described as "unnamed")

    Returns
    -------
    str — preset name, carrier, bandwidth, EIRP (and per element power/gain), UE gain, noise (and its
    origin), and the reference CNR of :func:`reference_cnr_db` (30° elevation from 600 km)
    """
    r = radio.model_dump(mode="json") if hasattr(radio, "model_dump") else dict(radio)
    n_elements = int(r["n_h"]) * int(r["n_v"])
    array_db = 10.0 * math.log10(n_elements)
    eirp_dbw = float(r["tx_power_dbm"]) - 30.0 + float(r["sat_gain_dbi"]) + array_db
    bandwidth_mhz = float(r["bandwidth_mhz"])
    excess = float(r["noise_dbm"]) - thermal_noise_dbm(bandwidth_mhz)
    if r.get("noise_figure_db") is not None:
        t_ant = r.get("antenna_temperature_k") or REFERENCE_TEMPERATURE_K
        origin = f"NF {r['noise_figure_db']:g} dB, antenna {t_ant:g} K"
    else:
        origin = "given"
    return (
        f"link budget {r.get('link_budget', 'unnamed')}: {float(r['frequency_ghz']):g} GHz, {bandwidth_mhz:g} MHz, "
        f"EIRP {eirp_dbw:.1f} dBW ({eirp_dbw - 10.0 * math.log10(bandwidth_mhz):.1f} dBW/MHz; "
        f"{float(r['tx_power_dbm']):.1f} dBm into {r['n_h']}x{r['n_v']} elements of "
        f"{float(r['sat_gain_dbi']):.1f} dBi), "
        f"UE {float(r['ue_gain_dbi']):g} dBi, noise {float(r['noise_dbm']):.1f} dBm ({origin}; kTB {excess:+.1f} dB), "
        f"CNR {reference_cnr_db(r):.1f} dB for one user at {REFERENCE_ELEVATION_DEG:g} deg from "
        f"{REFERENCE_ALTITUDE_M / 1e3:g} km"
    )
