"""Circular-aperture satellite antenna pattern of 3GPP TR 38.811 §6.4.1 (004's beam-misalignment gain).

G(θ) = 4 |J1(k a sin θ) / (k a sin θ)|², G(0) = 1, with k = 2π f / c, a the aperture radius and θ
the angle from boresight. The pattern is relative to the peak gain (multiply by the peak gain in
dBi, e.g. TR 38.821 Table 6.1.1.1-1, to get the absolute gain). 004 eq 6 uses it as the gain loss
from beam misalignment, with the aperture radius given in wavelengths (a = n λ ⇒ k a = 2π n).

>>> float(aperture_gain(0.0, 1.0, 2.0e9))
1.0
>>> import numpy as np
>>> round(float(np.degrees(beamwidth_3db_rad(1.0, 2.0e9))), 4)
4.4127
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq
from scipy.special import j1

from ..constants import SPEED_OF_LIGHT
from ..units import db_to_lin

__all__ = ["aperture_gain", "beamwidth_3db_rad"]

#: Below this k·a·sin θ the pattern is evaluated by its series 1 − u²/8 (relative error < 1e-17).
_SMALL_U = 1e-4


def aperture_gain(boresight_rad: ArrayLike, aperture_radius_m: float, frequency_hz: float) -> np.ndarray:
    """Relative gain G(θ) = 4 |J1(u)/u|², u = k a sin θ (TR 38.811 §6.4.1; 004 eq 6). G(0) = 1.

    Parameters
    ----------
    boresight_rad : ndarray, shape (...), rad — angle between the beam boresight and the user,
        0 … π/2 (the TR defines the pattern for |θ| ≤ 90°)
    aperture_radius_m : float, m — radius a of the circular aperture
    frequency_hz : float, Hz

    Returns
    -------
    ndarray, shape (...), linear, in [0, 1]
    """
    k = 2.0 * np.pi * float(frequency_hz) / SPEED_OF_LIGHT
    u = np.abs(k * float(aperture_radius_m) * np.sin(np.asarray(boresight_rad, dtype=float)))
    small = u < _SMALL_U
    u_safe = np.where(small, 1.0, u)
    full = (2.0 * j1(u_safe) / u_safe) ** 2
    return np.where(small, 1.0 - u**2 / 4.0, full)


def beamwidth_3db_rad(aperture_radius_m: float, frequency_hz: float, *, level_db: float = 3.0) -> float:
    """Full beamwidth 2θ at which :func:`aperture_gain` is ``level_db`` below the peak.

    With ``level_db = 3.0`` (exactly −3.000 dB, k a sin θ = 1.61374) this reproduces the TR 38.821
    Table 6.1.1.1-1 beamwidths: 4.4127° for a 2 m aperture at 2 GHz, 1.7647° for 0.5 m at 20 GHz.

    Parameters
    ----------
    aperture_radius_m : float, m
    frequency_hz : float, Hz
    level_db : float, dB — depth below the peak (0 < level_db < 17.5, above the first null)

    Returns
    -------
    float, rad
    """
    target = float(db_to_lin(-level_db))
    u_half = brentq(lambda u: (2.0 * j1(u) / u) ** 2 - target, 1e-9, 3.8317, xtol=1e-15, rtol=1e-15)
    k = 2.0 * np.pi * float(frequency_hz) / SPEED_OF_LIGHT
    return 2.0 * float(np.arcsin(u_half / (k * float(aperture_radius_m))))
