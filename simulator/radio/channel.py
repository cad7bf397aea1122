"""Channel realisations h = √v (√κ e^{jφ} + α) a (000 eq 8) and 004's asynchronous-reception phase.

Draws come first: realisations have shape ``(n_draws, ..., S, U)`` (scalar coefficients) or
``(n_draws, ..., S, U, N)`` (full vectors), so Monte-Carlo averages are ``mean(axis=0)``. Because the
LOS and scattered parts share the steering vector (000 Sec. II-B), h = g a with the scalar
g = √v (√κ e^{jφ} + α); estimators that only need h^H w = g* (a^H w) should draw g with
:func:`draw_link_coefficients` and avoid the N-fold memory of :func:`draw_channel`.

Asynchronous reception (004 Sec. II-C, eqs 7–8, rebuilt from Li et al. 2021 and Zheng et al. 2023
that 004 cites): a satellite whose signal reaches user k Δτ = τ_{l,k} − τ_ref,k later than the
reference satellite (the RSAP, or the earliest) adds the phase rotation s_{l,k} = e^{−j2π f Δτ}, so
the effective channel is h̃ = s h (eq 8). Uncompensated precoders ignore s and the satellites'
contributions add with random phases. *Compensated* (phase-aware) precoding multiplies each w_{l,k}
by the same factor ŝ_{l,k} computed from *predicted* delays (ephemeris): with y = h̃^H x (000 eq 15)
the received term is s* ŝ h^H w = h^H w when the prediction is exact. The timing offset in symbols
Δτ / T_s (004 eq 7) is :func:`timing_offset`; for an OFDM subcarrier n of an N_sc-point symbol of
duration T_s use ``frequency_hz = n / T_s`` for the subcarrier term e^{−j2π n Δτ / T_s}.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .statistical_csi import StatisticalCSI

__all__ = [
    "los_mean",
    "draw_link_coefficients",
    "draw_channel",
    "reference_delay_s",
    "timing_offset",
    "delay_phase_shift",
]


def los_mean(csi: StatisticalCSI) -> np.ndarray:
    """E{h} = √(v κ) e^{jφ} a, the deterministic LOS part of 000 eq 8, shape (..., S, U, N)."""
    g = np.sqrt(csi.v * csi.kappa) * np.exp(1j * csi.phase_rad)
    return g[..., np.newaxis] * csi.steering


def draw_link_coefficients(csi: StatisticalCSI, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Scalar channel coefficients g = √v (√κ e^{jφ} + α), α ~ CN(0, 1) i.i.d. (000 eqs 1, 8).

    Parameters
    ----------
    csi : StatisticalCSI with arrays (..., S, U)
    n_draws : int — number of independent small-scale realisations
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (n_draws, ..., S, U), complex128 — h = g[..., None] * csi.steering
    """
    shape = (int(n_draws),) + csi.beta.shape
    alpha = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2.0)
    los = np.sqrt(csi.kappa) * np.exp(1j * csi.phase_rad)
    return np.sqrt(csi.v) * (los + alpha)


def draw_channel(csi: StatisticalCSI, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Channel vectors h = √v (√κ e^{jφ} + α) a (000 eq 8), shape (n_draws, ..., S, U, N), complex128.

    Uses the same draws as :func:`draw_link_coefficients` with the same generator state.
    """
    return draw_link_coefficients(csi, n_draws, rng)[..., np.newaxis] * csi.steering


def reference_delay_s(
    delay_s: ArrayLike, visible: ArrayLike | None = None, rsap_index: ArrayLike | None = None
) -> np.ndarray:
    """Reference delay τ_ref per user, shape (..., 1, U), ready to broadcast against (..., S, U).

    Parameters
    ----------
    delay_s : ndarray, shape (..., S, U), s
    visible : ndarray of bool, shape (..., S, U), optional — only visible satellites may be the
        earliest; a user with no visible satellite takes the earliest of all (its links have β = 0)
    rsap_index : ndarray of int, shape (..., U), optional — the reference satellite of each user
        (004's RSAP); when None the earliest-arriving satellite is the reference

    Returns
    -------
    ndarray, shape (..., 1, U), s
    """
    d = np.asarray(delay_s, dtype=float)
    if rsap_index is not None:
        idx = np.asarray(rsap_index)[..., np.newaxis, :]
        return np.take_along_axis(d, idx, axis=-2)
    earliest = d.min(axis=-2, keepdims=True)
    if visible is None:
        return earliest
    vis = np.asarray(visible, dtype=bool)
    earliest_visible = np.where(vis, d, np.inf).min(axis=-2, keepdims=True)
    return np.where(vis.any(axis=-2, keepdims=True), earliest_visible, earliest)


def timing_offset(delay_s: ArrayLike, reference_delay_s: ArrayLike, symbol_duration_s: float) -> np.ndarray:
    """Timing offset (τ − τ_ref) / T_s in symbol durations (004 eq 7: Δd / (c T_s))."""
    return (np.asarray(delay_s, dtype=float) - np.asarray(reference_delay_s, dtype=float)) / float(symbol_duration_s)


def delay_phase_shift(delay_s: ArrayLike, reference_delay_s: ArrayLike, frequency_hz: float) -> np.ndarray:
    """Phase rotation e^{−j2π f (τ − τ_ref)} of a signal arriving τ − τ_ref late (004 eqs 7–8).

    The difference of two float64 delays of a few ms is exact to ~1e-18 s, i.e. ~1e-8 rad at 30 GHz.

    Parameters
    ----------
    delay_s : ndarray, shape (..., S, U), s
    reference_delay_s : ndarray broadcastable to delay_s, s — e.g. :func:`reference_delay_s`
    frequency_hz : float, Hz — the carrier (or subcarrier offset n / T_s for the OFDM form)

    Returns
    -------
    ndarray, complex128, |·| = 1

    >>> s = delay_phase_shift(1e-3 + 0.25e-9, 1e-3, 1e9)  # a quarter cycle late
    >>> bool(np.isclose(s, -1j))
    True
    """
    dt = np.asarray(delay_s, dtype=float) - np.asarray(reference_delay_s, dtype=float)
    cycles = float(frequency_hz) * dt
    return np.exp(-2j * np.pi * (cycles - np.round(cycles)))
