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

import numpy as np
from numpy.typing import ArrayLike

from ..constants import BOLTZMANN
from ..units import db_to_lin, lin_to_db
from .pathloss import free_space_path_loss

__all__ = [
    "REFERENCE_TEMPERATURE_K",
    "large_scale_gain",
    "noise_power_w",
    "cnr_db",
]

#: Reference temperature T0 = 290 K of the noise-figure definition (IEEE Std 161; ITU-R P.372).
REFERENCE_TEMPERATURE_K = 290.0


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
