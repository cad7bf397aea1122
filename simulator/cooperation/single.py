"""Single-satellite benchmarks of 000 Sec. VI: each user served by one satellite, SLNR or sMRT precoding.

Each user k is served by exactly one satellite s_k — by default the one with the largest
large-scale gain β (the "highest received signal power" of 000 Sec. VI), or any given assignment
(an RSAP) — with a statistical precoder w_{s_k,k}; every other satellite carries no precoder for k.
All satellites reuse the same band, so user k also hears every other satellite's users
(inter-satellite interference) besides the other users of its own satellite.

Precoders (unit norm, 000 eq 13), both from the statistical CSI only:

- sMRT, w = e^{jφ} a / √N (000 eq 9);
- statistical SLNR (You et al., "Massive MIMO transmission for LEO satellite communications",
  IEEE JSAC 2020 — ref. [45] of 000). With the 000 channel h = g a, g ~ CN(√(κv) e^{jφ}, v)
  (eqs 8, 59–60), the statistical covariance is R_{l,k} = E{h h^H} = v(κ + 1) a a^H = β a a^H. The
  precoder maximising the statistical signal-to-leakage-plus-noise ratio
  SLNR_k = w^H R_{l,k} w / (w^H Σ_{j ∈ J_{l,k}} R_{l,j} w + σ²/ρ) over unit-norm w is the principal
  generalised eigenvector, which for a rank-one R_{l,k} is::

      w_{l,k} = e^{jφ_{l,k}} u / ||u||,   u = (Σ_{j ∈ J_l} β_{l,j} a_{l,j} a_{l,j}^H + (σ²/ρ) I)^{-1} a_{l,k}

  with J_l all users (``leakage='all'``, the default: the standard statistical SLNR, which counts
  the leakage a satellite's beam puts on every user, including the users of other satellites at
  full frequency reuse) or the users of satellite l only (``'served'``, You et al.'s
  single-satellite setting, blind to inter-satellite leakage: on 000's drops it is 6.5 times
  weaker, see docs/reproduction.md, Fig. 8). Including j = k in the sum only rescales u (Sherman–Morrison), so one
  matrix per satellite serves all its users. σ²/ρ uses the full transmit power ρ_t, so the
  precoder does not depend on the power weights (the SCA power allocation of 000 Sec. VI can be
  applied on top). e^{jφ} aligns the mean gain like sMRT; it does not change the SLNR.

Rates: the precoders are deterministic, so the closed form is 000 eq 21 with the link moments of
eqs 65–66 (:mod:`~simulator.cooperation.rates_cfmntn`), evaluated with power weights p that are
zero except at (s_k, k). The coefficient form (000 eq 27) follows from the same moments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NamedTuple

import numpy as np

from ..errors import InputError
from ..radio.statistical_csi import StatisticalCSI
from .coefficients import SinrCoefficients
from .montecarlo import MonteCarloSinr, grouped_estimate, montecarlo_sinr_statistical
from .precoders import smrt_precoders
from .rates_cfmntn import coefficients_from_moments, link_moments, sinr_from_moments, spectral_efficiency

__all__ = [
    "strongest_satellite",
    "serving_one_hot",
    "equal_power_single",
    "slnr_precoders",
    "slnr_precoders_from_mask",
    "single_precoders",
    "sinr_single",
    "rates_single",
    "coefficients_single",
    "statistical_slnr",
    "montecarlo_sinr_single",
    "StreamMonteCarlo",
    "montecarlo_sinr_streams",
    "DEFAULT_LEAKAGE",
]

SinglePrecoder = Literal["slnr", "smrt"]
Leakage = Literal["served", "all"]
#: Leakage users of the statistical SLNR precoder by default: every user (the standard SLNR).
DEFAULT_LEAKAGE: Leakage = "all"


def strongest_satellite(csi: StatisticalCSI) -> np.ndarray:
    """Serving satellite of each user: argmax_l β_{l,k} (000 Sec. VI), shape (..., K), int.

    A user that sees no satellite (β = 0 everywhere) gets satellite 0 and a zero SINR.
    """
    return np.argmax(np.where(csi.visible, csi.beta, 0.0), axis=-2)


def serving_one_hot(serving_sat: np.ndarray, n_sat: int) -> np.ndarray:
    """Mask (..., L, K) of the links l = s_k, from serving satellites (..., K) int.

    >>> serving_one_hot(np.array([1, 0]), 2).astype(int).tolist()
    [[0, 1], [1, 0]]
    """
    s = np.asarray(serving_sat)
    if s.size and (s.min() < 0 or s.max() >= n_sat):
        raise InputError(f"serving_sat has values in [{s.min()}, {s.max()}], allowed 0 … {n_sat - 1} "
                         f"(n_sat={n_sat}); pass one satellite index per user")
    return np.arange(n_sat)[:, None] == s[..., None, :]


def equal_power_single(serving_sat: np.ndarray, n_sat: int) -> np.ndarray:
    """Equal power split over each satellite's users: p_{s_k,k} = 1/√|K_{s_k}|, 0 elsewhere; (..., L, K).

    Meets 000 eq 14 with equality for every satellite that serves someone.
    """
    mask = serving_one_hot(serving_sat, n_sat)
    count = mask.sum(axis=-1, keepdims=True)
    return np.where(mask, 1.0 / np.sqrt(np.maximum(count, 1)), 0.0)


def slnr_precoders(csi: StatisticalCSI, serving_sat: np.ndarray, tx_power_w: float,
                   noise_w: float | np.ndarray, leakage: Leakage = DEFAULT_LEAKAGE) -> np.ndarray:
    """Statistical SLNR precoders w_{s_k,k} ∝ e^{jφ} (Σ_j β_j a_j a_j^H + σ²/ρ I)^{-1} a_k (You et al. 2020).

    Parameters
    ----------
    csi : StatisticalCSI — beta, steering (..., L, K, N), phase_rad
    serving_sat : ndarray, shape (..., K), int — s_k
    tx_power_w : float, W — ρ_t
    noise_w : float or ndarray, shape (...,), W — σ_n²
    leakage : 'all' (leakage to every user, default) or 'served' (to the other users of the same satellite)

    Returns
    -------
    ndarray, shape (..., L, K, N), complex — unit norm at (s_k, k), zero elsewhere
    """
    return slnr_precoders_from_mask(csi, serving_one_hot(serving_sat, csi.n_sat), tx_power_w, noise_w, leakage)


def slnr_precoders_from_mask(csi: StatisticalCSI, served: np.ndarray, tx_power_w: float,
                             noise_w: float | np.ndarray, leakage: Leakage = DEFAULT_LEAKAGE) -> np.ndarray:
    """:func:`slnr_precoders` with the serving links given as a mask (..., L, K) bool, at most one per user.

    Users without a serving link (a column of False) get no precoder and, with ``leakage='served'``,
    no leakage weight.
    """
    if leakage not in ("served", "all"):
        raise InputError(f"leakage={leakage!r} is not one of 'served', 'all'")
    n_ant = csi.n_ant
    served = np.asarray(served, dtype=bool)
    alpha = np.asarray(noise_w, dtype=float) / float(tx_power_w)              # σ²/ρ, shape (...)
    weight = csi.beta if leakage == "all" else csi.beta * served             # β_{l,j} 1{j ∈ J_l}
    weight = weight / alpha[..., None, None]                                  # normalise by σ²/ρ
    a = csi.steering
    cov = np.swapaxes(weight[..., None] * a, -1, -2) @ np.conj(a)           # Σ_j (β/α) a a^H (transposed)
    cov = cov + np.eye(n_ant)
    u = np.linalg.solve(cov, np.swapaxes(a, -1, -2))                          # (..., L, N, K)
    u = np.swapaxes(u, -1, -2)
    norm = np.linalg.norm(u, axis=-1)
    scale = np.divide(np.exp(1j * csi.phase_rad), norm, out=np.zeros(norm.shape, complex),
                      where=served & (norm > 0))
    return scale[..., None] * u


def single_precoders(csi: StatisticalCSI, serving_sat: np.ndarray, precoder: SinglePrecoder | np.ndarray,
                     tx_power_w: float, noise_w: float | np.ndarray, leakage: Leakage = DEFAULT_LEAKAGE) -> np.ndarray:
    """Precoders of a single-satellite scheme, shape (..., L, K, N), zero except at (s_k, k).

    ``precoder`` is 'slnr', 'smrt' (000 eq 9) or an array (..., L, K, N) of fixed precoders (e.g.
    spot-beam weights, :func:`~simulator.cooperation.spotbeam.spotbeam_precoders`), which is
    masked to the serving links.
    """
    mask = serving_one_hot(serving_sat, csi.n_sat)[..., None]
    if isinstance(precoder, np.ndarray):
        return np.where(mask, precoder, 0.0)
    if precoder == "slnr":
        return slnr_precoders(csi, serving_sat, tx_power_w, noise_w, leakage)
    if precoder == "smrt":
        return np.where(mask, smrt_precoders(csi), 0.0)
    raise InputError(f"precoder={precoder!r} is not one of 'slnr', 'smrt' or an array (..., L, K, N)")


def sinr_single(csi: StatisticalCSI, serving_sat: np.ndarray, precoder: SinglePrecoder | np.ndarray,
                p: np.ndarray, tx_power_w: float, noise_w: float | np.ndarray,
                leakage: Leakage = DEFAULT_LEAKAGE) -> np.ndarray:
    """Closed-form SINR of a single-satellite scheme (000 eq 21 with eqs 65–66), shape (..., K).

    SINR_k = ρ p_{s_k,k}² |m_{s_k,k}|² |a^H w_{s_k,k}|² /
             (ρ Σ_j p_{s_j,j}² (v_{s_j,k} |a_{s_j,k}^H w_{s_j,j}|² + [j≠k] |m_{s_j,k}|² |a_{s_j,k}^H w_{s_j,j}|²) + σ²),
    i.e. beamforming uncertainty, intra- and inter-satellite interference with full frequency reuse.

    Parameters
    ----------
    csi : StatisticalCSI
    serving_sat : ndarray, shape (..., K), int
    precoder : 'slnr', 'smrt' or ndarray (..., L, K, N) — see :func:`single_precoders`
    p : ndarray, shape (..., L, K) — power weights; only p[s_k, k] is used (Σ_k p_{l,k}² ≤ 1)
    tx_power_w : float, W
    noise_w : float or ndarray, shape (...,), W
    leakage : see :func:`slnr_precoders`

    Returns
    -------
    ndarray, shape (..., K), linear
    """
    w = single_precoders(csi, serving_sat, precoder, tx_power_w, noise_w, leakage)
    mean, var = link_moments(csi, w)
    p_served = np.where(serving_one_hot(serving_sat, csi.n_sat), np.asarray(p, dtype=float), 0.0)
    return sinr_from_moments(mean, var, p_served, tx_power_w, noise_w)


def rates_single(csi: StatisticalCSI, serving_sat: np.ndarray, precoder: SinglePrecoder | np.ndarray,
                 p: np.ndarray, tx_power_w: float, noise_w: float | np.ndarray,
                 leakage: Leakage = DEFAULT_LEAKAGE) -> np.ndarray:
    """Spectral efficiency log2(1 + SINR_k) in bit/s/Hz of :func:`sinr_single`; shape (..., K)."""
    return spectral_efficiency(sinr_single(csi, serving_sat, precoder, p, tx_power_w, noise_w, leakage))


def coefficients_single(csi: StatisticalCSI, serving_sat: np.ndarray, precoder: SinglePrecoder | np.ndarray,
                        tx_power_w: float, noise_w: float | np.ndarray,
                        leakage: Leakage = DEFAULT_LEAKAGE) -> SinrCoefficients:
    """Coefficient form (000 eq 27) of :func:`sinr_single` for the SCA power allocation.

    ``sinr(coefficients_single(...), p)`` equals ``sinr_single(..., p, ...)`` for every p; entries
    of p off the serving links are ignored (their coefficients are zero). b_{s_k,k} =
    √ρ |m| |a^H w| is real and non-negative because every precoder here is phase-aligned
    (or, for fixed beams, enters only through |·|: a fixed beam's mean gain is rotated to be real).

    Returns
    -------
    SinrCoefficients — b (..., L, K), G (..., K, K, L + 2, L), noise = σ_n²
    """
    w = single_precoders(csi, serving_sat, precoder, tx_power_w, noise_w, leakage)
    mean, var = link_moments(csi, w)
    # a fixed precoder has an arbitrary phase on its own link: rotate user j's stream so that its
    # mean gain at user j is real and non-negative (a common phase per stream changes no |·|).
    own = np.diagonal(mean, axis1=-2, axis2=-1)                                # (..., L, K) = mean[l, j, j]
    rot = np.divide(np.conj(own), np.abs(own), out=np.ones(own.shape, complex), where=np.abs(own) > 0)
    mean = mean * rot[..., None, :]
    return coefficients_from_moments(mean, var, tx_power_w, noise_w, serving_one_hot(serving_sat, csi.n_sat))


def statistical_slnr(csi: StatisticalCSI, serving_sat: np.ndarray, w: np.ndarray, tx_power_w: float,
                     noise_w: float | np.ndarray, leakage: Leakage = DEFAULT_LEAKAGE) -> np.ndarray:
    """Statistical SLNR_k = ρ w^H R_k w / (ρ Σ_{j∈J, j≠k} w^H R_j w + σ²) at the serving satellite (You et al. 2020).

    R_{l,j} = β_{l,j} a_{l,j} a_{l,j}^H (000 eq 8); the precoder w_{s_k,k} is taken at full power
    (p = 1). This is the objective :func:`slnr_precoders` maximises.

    Returns
    -------
    ndarray, shape (..., K), linear
    """
    served = serving_one_hot(serving_sat, csi.n_sat)
    proj = np.abs(np.conj(csi.steering) @ np.swapaxes(w, -1, -2)) ** 2    # [l, j, k] = |a_{l,j}^H w_{l,k}|²
    power = csi.beta[..., None] * proj                                        # E|h_{l,j}^H w_{l,k}|²
    weight = np.ones_like(csi.beta) if leakage == "all" else served.astype(float)
    n_user = csi.n_user
    off = 1.0 - np.eye(n_user)
    leak = np.einsum("...lj,...ljk,jk->...lk", weight, power, off)          # Σ_{j ∈ J_l, j ≠ k}
    signal = np.diagonal(power, axis1=-2, axis2=-1)                           # [l, k]
    num = np.sum(served * signal, axis=-2)
    den = np.sum(served * leak, axis=-2)
    return tx_power_w * num / (tx_power_w * den + np.asarray(noise_w, dtype=float)[..., None])


def montecarlo_sinr_single(csi: StatisticalCSI, serving_sat: np.ndarray, precoder: SinglePrecoder | np.ndarray,
                           p: np.ndarray, tx_power_w: float, noise_w: float | np.ndarray, n_draws: int,
                           rng: np.random.Generator, leakage: Leakage = DEFAULT_LEAKAGE, **kwargs) -> MonteCarloSinr:
    """Monte-Carlo counterpart of :func:`sinr_single`: explicit channel draws (000 eq 8), sample terms of eq 21.

    Arguments as :func:`sinr_single`, plus ``n_draws`` and ``rng``; further keyword arguments go to
    :func:`~simulator.cooperation.montecarlo.montecarlo_sinr_statistical`.
    """
    w = single_precoders(csi, serving_sat, precoder, tx_power_w, noise_w, leakage)
    p_served = np.where(serving_one_hot(serving_sat, csi.n_sat), np.asarray(p, dtype=float), 0.0)
    return montecarlo_sinr_statistical(csi, w, p_served, tx_power_w, noise_w, n_draws, rng, **kwargs)


class StreamMonteCarlo(NamedTuple):
    """Monte-Carlo estimate of a statistical-decoding SINR (000 eq 21) from sampled stream gains.

    Attributes
    ----------
    sinr : ndarray, shape (..., K), linear
    sinr_stderr : ndarray, shape (..., K), linear — spread of the group estimates / √n_groups
    n_draws : int
    """

    sinr: np.ndarray
    sinr_stderr: np.ndarray
    n_draws: int


def _group_sinr(sums: tuple[np.ndarray, np.ndarray], n: int, tx_power_w: float,
                noise_w: float | np.ndarray) -> np.ndarray:
    own_sum, total_sq = sums
    signal = np.abs(own_sum / n) ** 2
    spread = total_sq / n - signal                      # V{γ_own} + Σ_{j ≠ own} E|γ_j|²
    noise = np.asarray(noise_w, dtype=float)[..., None]
    return tx_power_w * signal / (tx_power_w * spread + noise)


def montecarlo_sinr_streams(draw_gains: Callable[[int], np.ndarray], n_draws: int, tx_power_w: float,
                            noise_w: float | np.ndarray, own: np.ndarray | None = None,
                            n_groups: int = 16, batch_draws: int = 1000) -> StreamMonteCarlo:
    """SINR of 000 eq 21 estimated from sampled gains of every data stream at every user.

    SINR_k = ρ |E γ_{k,o_k}|² / (ρ (Σ_j E|γ_{k,j}|² − |E γ_{k,o_k}|²) + σ²), with o_k the stream
    carrying user k's data: desired mean, its fluctuation (beamforming uncertainty, eq 19) and
    every other stream as interference (eq 20), all replaced by sample means.

    Parameters
    ----------
    draw_gains : callable n -> ndarray, shape (n, ..., K, J), complex — n independent draws of the
        effective gains γ_{k,j} = Σ_l p_{l,j} h_{l,k}^H w_{l,j} of stream j at user k (power
        weights included, ρ excluded)
    n_draws : int — total draws, split into ``n_groups`` groups for the standard error
    tx_power_w : float, W — ρ_t
    noise_w : float or ndarray, shape (...,), W — σ_n²
    own : ndarray, shape (..., K), int, optional — o_k; None means stream k (J = K)
    n_groups : int — groups (≥ 2) for the standard error
    batch_draws : int — draws per call of ``draw_gains`` (bounds memory)

    Returns
    -------
    StreamMonteCarlo
    """
    def batch_sums(n: int) -> tuple[tuple[np.ndarray, ...], int]:
        g = draw_gains(n)
        idx = np.arange(g.shape[-2]) if own is None else np.asarray(own)
        idx = np.broadcast_to(idx, g.shape[1:-1])[None, ..., None]
        g_own = np.take_along_axis(g, np.broadcast_to(idx, g.shape[:-1] + (1,)), axis=-1)[..., 0]
        return (g_own.sum(axis=0), np.sum(np.abs(g) ** 2, axis=(0, -1))), g.shape[0]

    def estimate(sums: tuple[np.ndarray, ...], n: int) -> np.ndarray:
        return _group_sinr(sums, n, tx_power_w, noise_w)

    totals, stderr = grouped_estimate(batch_sums, n_draws, n_groups, batch_draws, estimate)
    sinr = estimate(totals, n_draws)
    return StreamMonteCarlo(sinr=sinr, sinr_stderr=stderr, n_draws=int(n_draws))
