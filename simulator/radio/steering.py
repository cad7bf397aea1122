"""UPA array response a(θ, φ) = a_h(θ, φ) ⊗ a_v(θ) of 000 eqs 2–4.

Element (i_h, i_v) of the N_h × N_v array sits at index n = i_h · N_v + i_v of a (Kronecker order of
eq 2: the vertical index runs fastest) and carries

    a_n = exp(−j 2π (i_h d_h sin θ cos φ + i_v d_v cos θ)),

with spacings d_h, d_v in wavelengths (000 writes 2π f d / c; d / λ = f d / c). |a_n| = 1, so
‖a‖² = N = N_h N_v: the array gain is in the steering vector, not in β. The angles are those of
:mod:`simulator.radio.antenna_frame` (θ from the vertical, along-track array axis).

>>> a = steering_vector(np.pi / 2, np.pi / 2, 2, 2)
>>> np.allclose(a, 1.0)
True
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["steering_vector"]


def steering_vector(
    theta: ArrayLike,
    phi: ArrayLike,
    n_h: int,
    n_v: int,
    spacing_h: float = 0.5,
    spacing_v: float = 0.5,
) -> np.ndarray:
    """UPA response a = a_h ⊗ a_v (000, eqs 2–4).

    Parameters
    ----------
    theta, phi : ndarray, shape (...), rad — elevation and azimuth AoD in the antenna frame
    n_h, n_v : int — elements along the horizontal (cross-track) and vertical (along-track) axes
    spacing_h, spacing_v : float — element spacings d_h, d_v in wavelengths (default λ/2)

    Returns
    -------
    ndarray, shape (..., n_h * n_v), complex128
    """
    th = np.asarray(theta, dtype=float)
    ph = np.asarray(phi, dtype=float)
    th, ph = np.broadcast_arrays(th, ph)
    u_h = float(spacing_h) * np.sin(th) * np.cos(ph)  # cycles per element along the horizontal axis
    u_v = float(spacing_v) * np.cos(th)  # cycles per element along the vertical axis
    a_h = np.exp(-2j * np.pi * u_h[..., np.newaxis] * np.arange(n_h))  # eq 3, shape (..., n_h)
    a_v = np.exp(-2j * np.pi * u_v[..., np.newaxis] * np.arange(n_v))  # eq 4, shape (..., n_v)
    # Kronecker product of eq 2: index i_h * n_v + i_v
    return (a_h[..., :, np.newaxis] * a_v[..., np.newaxis, :]).reshape(th.shape + (n_h * n_v,))
