"""UC-DMIMO, FC-DMIMO and NCT of 004: LMMSE estimation with pilot reuse, MR precoding, coherent joint transmission.

004's equations were lost in text extraction; they are rebuilt here from the cell-free results it
cites (Ngo et al., "Cell-Free Massive MIMO versus Small Cells", IEEE TWC 2017; Björnson &
Sanguinetti, "Scalable cell-free massive MIMO systems", IEEE TCOM 2020; the closed form of
Demir–Björnson–Sanguinetti, "Foundations of User-Centric Cell-Free Massive MIMO", 2021, Cor. 6.3;
the random-phase LOS of Özdogan–Björnson–Zhang, "Performance of Cell-Free Massive MIMO with Rician
Fading and Phase Shifts", IEEE TWC 2019).
``docs/uc-dmimo.md`` has the derivation. In short:

Channel (004 eqs 1–2). h_{k,l} = e^{jψ} √(κv) a_{l,k} + n_{k,l}, v = β/(κ + 1), with an
*unknown* LOS phase ψ ~ U[0, 2π) (it turns by 2π for every wavelength of range change, and is
known to the satellite only through positions accurate to metres), and NLOS part n ~ CN(0, v I)
(004 eq 2, i.i.d. per element; ``nlos='iid'``) or n = √v α a (000 eq 8; ``nlos='steering'``).
Then h is zero-mean with R_{k,l} = E{h h^H} = c1 a a^H + c0 I: c1 = κv, c0 = v (iid) or c1 = β,
c0 = 0 (steering). The LOS magnitude vector is √(κv) a.

Pilots (004 eqs 9–13). τ_p orthogonal pilots (||φ_t||² = τ_p); user k sends pilot t_k with power
η_k; P_t = {i : t_i = t}. Satellite l correlates with φ_t:
y_{t,l} = Σ_{i ∈ P_t} √(τ_p η_i) h_{i,l} + n, n ~ CN(0, σ_p² I), Ψ_{t,l} = Σ_{i ∈ P_t} τ_p η_i R_{i,l} + σ_p² I.

LMMSE (004 eq 14, as in B&S 2020 and Özdogan et al. 2019 for an unknown LOS phase): ĥ_{k,l} = √(τ_p η_k) R_{k,l} Ψ_{t_k,l}^{-1} y_{t_k,l}, with
E||ĥ||² = γ_{k,l} = τ_p η_k tr(R Ψ^{-1} R).

MR precoding (004 eq 17) normalised as w_{k,l} = ŝ_{l,k} ĥ_{k,l} / √γ_{k,l}, power weights p_{l,k}
(transmit power ρ_t p², Σ_k p_{l,k}² ≤ 1; zero outside the clusters D).

Asynchronous reception (004 eqs 7–8): the downlink channel of satellite l seen by user k is
s_{l,k} h_{k,l}, s = e^{−j2π f (τ_{l,k} − τ_ref,k)} relative to the user's reference satellite
(:func:`~simulator.radio.channel.delay_phase_shift`; with f = 1/T_s it is 004's symbol-timing
phase 2π Δτ / T_s). The uplink estimate does not contain s (each satellite times its own pilot
reception; the user times the downlink to its RSAP). Phase-aware precoding uses ŝ = s (or a
predicted ŝ); without compensation ŝ = 1 and the residual s^* stays in the coherent sum.

Downlink SINR (hardening bound = 000 eq 21; 004 eqs 18–21), per-satellite moments [l, k, i] of
h_{k,l}^H w_{i,l} (independent across l) fed to :func:`~simulator.cooperation.rates_cfmntn.sinr_from_moments`::

    mean = s_{l,k}^* ŝ_{l,i} [t_i = t_k] τ_p √(η_i η_k) tr(R_i Ψ^{-1} R_k) / √γ_i
    var  = (tr(R_k C_i) − [t_i = t_k] τ_p² η_i η_k |m_k^H R_i Ψ^{-1} m_k|²) / γ_i,   C_i = τ_p η_i R_i Ψ^{-1} R_i

(Ψ = Ψ_{t_i,l}, m_k the LOS magnitude vector). The last term is the exact fourth-moment
correction of a random-phase LOS against a Gaussian channel; without it this is Cor. 6.3 of Demir
et al. and, for N = 1 and κ = 0, the downlink SINR of Ngo et al. 2017 (conjugate beamforming). All traces reduce to the Gram
matrices a_i^H a_j of each satellite (Woodbury on Ψ), so nothing of size N × N is formed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import InputError
from ..radio.channel import delay_phase_shift, reference_delay_s
from ..radio.statistical_csi import StatisticalCSI
from .rates_cfmntn import sinr_from_moments, spectral_efficiency
from .single import StreamMonteCarlo, montecarlo_sinr_streams, serving_one_hot

__all__ = [
    "Pilots",
    "covariance_terms",
    "assign_pilots",
    "fc_cluster",
    "nct_cluster",
    "fractional_power",
    "async_phase_shift",
    "mr_link_moments",
    "sinr_ucdmimo",
    "rates_ucdmimo",
    "montecarlo_sinr_ucdmimo",
]

Nlos = Literal["iid", "steering"]


@dataclass(frozen=True)
class Pilots:
    """Uplink training of 004 Sec. III-B.

    Attributes
    ----------
    index : ndarray, shape (..., K), int — pilot t_k ∈ [0, n_pilots) of each user
    n_pilots : int — τ_p, orthogonal pilots of length τ_p
    power_w : float or ndarray, shape (..., K), W — pilot transmit power η_k
    noise_w : float or ndarray, shape (...,), W — satellite receiver noise σ_p²
    """

    index: np.ndarray
    n_pilots: int
    power_w: float | np.ndarray
    noise_w: float | np.ndarray

    def __post_init__(self) -> None:
        idx = np.asarray(self.index)
        if self.n_pilots < 1 or idx.size == 0 or idx.min() < 0 or idx.max() >= self.n_pilots:
            raise InputError(f"pilot index in [{idx.min() if idx.size else '-'}, {idx.max() if idx.size else '-'}] "
                             f"with n_pilots={self.n_pilots}: indices must lie in 0 … n_pilots − 1")
        if np.any(np.asarray(self.noise_w) <= 0):
            raise InputError(f"pilot noise_w={self.noise_w} W must be > 0")


def covariance_terms(csi: StatisticalCSI, nlos: Nlos = "iid") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(c_los, c1, c0) with R = c1 a a^H + c0 I and LOS magnitude vector √c_los a; each (..., L, K)."""
    v = np.where(csi.visible, csi.v, 0.0)
    c_los = csi.kappa * v
    if nlos == "iid":
        return c_los, c_los, v
    if nlos == "steering":
        return c_los, c_los + v, np.zeros_like(v)
    raise InputError(f"nlos={nlos!r} is not one of 'iid' (004 eq 2), 'steering' (000 eq 8)")


def assign_pilots(beta: np.ndarray, rsap: np.ndarray, n_pilots: int) -> np.ndarray:
    """Pilot assignment of B&S 2020 ("Scalable cell-free massive MIMO systems", Sec. V-A).

    Users 0 … τ_p − 1 get pilots 0 … τ_p − 1; every later user k takes the pilot with the least
    pilot contamination at its RSAP r_k: argmin_t Σ_{i < k, t_i = t} β_{r_k, i}.

    Parameters
    ----------
    beta : ndarray, shape (..., L, K) — large-scale gains
    rsap : ndarray, shape (..., K), int
    n_pilots : int — τ_p ≥ 1

    Returns
    -------
    ndarray, shape (..., K), int
    """
    if n_pilots < 1:
        raise InputError(f"n_pilots={n_pilots}: need at least one pilot")
    beta = np.asarray(beta, dtype=float)
    rsap = np.asarray(rsap)
    at_rsap = np.take_along_axis(beta, rsap[..., :, None] + np.zeros(beta.shape[-1:], int), axis=-2)
    n_user = beta.shape[-1]
    index = np.zeros(rsap.shape, dtype=np.int64)
    for k in range(n_user):
        if k < n_pilots:
            index[..., k] = k
            continue
        used = index[..., :k, None] == np.arange(n_pilots)                        # (..., k, τ_p)
        load = np.einsum("...i,...it->...t", at_rsap[..., k, :k], used)
        index[..., k] = np.argmin(load, axis=-1)
    return index


def fc_cluster(csi: StatisticalCSI) -> np.ndarray:
    """FC-DMIMO: every visible satellite serves every user (004 Sec. I, [13]); (..., L, K) bool."""
    return np.asarray(csi.visible, dtype=bool) & (csi.beta > 0)


def nct_cluster(rsap: np.ndarray, n_sat: int) -> np.ndarray:
    """NCT: each user served by its RSAP alone, no cooperation (004 Sec. IV, [19]); (..., L, K) bool."""
    return serving_one_hot(rsap, n_sat)


def fractional_power(beta: np.ndarray, cluster: np.ndarray, exponent: float = 0.5) -> np.ndarray:
    """Distributed fractional power p_{l,k}² = β_{l,k}^υ / Σ_{i ∈ D_l} β_{l,i}^υ on the clusters; (..., L, K).

    υ = 1/2 is the distributed heuristic of B&S 2020 (TCOM), ρ_{kl} = ρ_max √β_{kl} / Σ_{i∈D_l} √β_{il};
    υ = 0 is the equal split 1/|D_l|. Meets Σ_k p_{l,k}² = 1 for every satellite serving someone.
    """
    mask = np.asarray(cluster, dtype=bool) & (np.asarray(beta) > 0)
    share = np.where(mask, np.power(np.where(mask, beta, 1.0), exponent), 0.0)
    total = share.sum(axis=-1, keepdims=True)
    return np.sqrt(np.divide(share, total, out=np.zeros(share.shape), where=total > 0))


def async_phase_shift(csi: StatisticalCSI, rsap: np.ndarray, frequency_hz: float) -> np.ndarray:
    """s_{l,k} = e^{−j2π f (τ_{l,k} − τ_{r_k,k})} relative to each user's RSAP r_k (004 eqs 7–8); (..., L, K)."""
    return delay_phase_shift(csi.delay_s, reference_delay_s(csi.delay_s, rsap_index=rsap), frequency_hz)


def _own_pilot_forms(gram: np.ndarray, c1: np.ndarray, c0: np.ndarray, q: np.ndarray,
                     pilots: Pilots, n_ant: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear forms of Ψ_{t_i,l}^{-1} for every stream i: a_i^H Ψ^{-1} a_k, a_k^H Ψ^{-1} a_k and tr Ψ^{-1}.

    Woodbury on the users P_t of each pilot: with f_j = √(q_j c1_j), s_t = σ_p² + Σ_{P_t} q_j c0_j
    and M = s_t I + F Γ_tt F (|P_t| × |P_t|), Ψ_t^{-1} = (I − A_t F M^{-1} F A_t^H) / s_t. For f_i > 0
    the row a_i^H Ψ_t^{-1} A = [M^{-1} F Γ_t]_i / f_i (no cancellation); otherwise
    (Γ_t − Γ_tt F M^{-1} F Γ_t)_i / s_t. Shapes: gram (..., L, K, K), c1, c0 (..., L, K), q (..., 1, K).
    """
    index = np.asarray(pilots.index)
    sigma = np.asarray(pilots.noise_w, dtype=float)
    lead = gram.shape[:-3]
    if index.ndim > 1:                       # assignment varies along the leading axes: per snapshot
        index = np.broadcast_to(index, lead + index.shape[-1:])
        sigma = np.broadcast_to(sigma, lead)
        q = np.broadcast_to(q, lead + q.shape[-2:])
        parts = [_pilot_forms_1d(gram[i], c1[i], c0[i], q[i], index[i], float(sigma[i]), pilots.n_pilots, n_ant)
                 for i in np.ndindex(lead)]
        return tuple(np.stack([part[j] for part in parts]).reshape(lead + parts[0][j].shape) for j in range(3))
    return _pilot_forms_1d(gram, c1, c0, q, index, sigma[..., None], pilots.n_pilots, n_ant)


def _pilot_forms_1d(gram: np.ndarray, c1: np.ndarray, c0: np.ndarray, q: np.ndarray, index: np.ndarray,
                    sigma: float | np.ndarray, n_pilots: int, n_ant: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_own_pilot_forms` for one pilot assignment ``index`` (K,) shared by all leading axes."""
    n_user = gram.shape[-1]
    phi_own = np.zeros(gram.shape, dtype=complex)
    diag_t = np.zeros(c1.shape[:-1] + (n_pilots, n_user))
    tr_t = np.zeros(c1.shape[:-1] + (n_pilots,))
    for t in range(n_pilots):
        idx = np.flatnonzero(index == t)
        if idx.size == 0:
            continue
        f = np.sqrt(q[..., idx] * c1[..., idx])                                 # (..., L, n_t)
        s = sigma + np.sum(q[..., idx] * c0[..., idx], axis=-1)                 # (..., L)
        fg = f[..., :, None] * gram[..., idx, :]                                # F Γ_t, (..., L, n_t, K)
        m = s[..., None, None] * np.eye(idx.size) + fg[..., idx] * f[..., None, :]
        x = np.linalg.solve(m, fg)                                              # M^{-1} F Γ_t
        cancel = (gram[..., idx, :] - np.conj(np.swapaxes(fg[..., idx], -1, -2)) @ x) / s[..., None, None]
        positive = f[..., :, None] > 0
        phi_own[..., idx, :] = np.where(positive, x / np.where(positive, f[..., :, None], 1.0), cancel)
        diag_t[..., t, :] = (n_ant - np.real(np.sum(np.conj(fg) * x, axis=-2))) / s[..., None]
        tr_t[..., t] = (n_ant - np.real(np.sum(f * x[..., np.arange(idx.size), idx], axis=-1))) / s
    return phi_own, diag_t[..., index, :], tr_t[..., index]


def mr_link_moments(csi: StatisticalCSI, pilots: Pilots, nlos: Nlos = "iid") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Moments of h_{k,l}^H ĥ_{i,l} / √γ_{i,l} for MR on LMMSE estimates, before delay phases (module docstring).

    Parameters
    ----------
    csi : StatisticalCSI — beta, kappa, steering (..., L, K, N), visible
    pilots : Pilots
    nlos : 'iid' (004 eq 2) or 'steering' (000 eq 8)

    Returns
    -------
    mean : ndarray, shape (..., L, K, K), complex — [l, k, i] = E{h_{k,l}^H w_{i,l}} with ŝ = s = 1
    var : ndarray, shape (..., L, K, K), float — [l, k, i] = V{h_{k,l}^H w_{i,l}}
    gamma : ndarray, shape (..., L, K), float — E||ĥ_{k,l}||² (0: no estimate, no precoder)
    """
    c_los, c1, c0 = covariance_terms(csi, nlos)
    q = pilots.n_pilots * np.broadcast_to(np.asarray(pilots.power_w, dtype=float), csi.beta.shape[:-2]
                                          + (csi.n_user,))[..., None, :]         # τ_p η, (..., 1, K)
    a = csi.steering
    gram = np.conj(a) @ np.swapaxes(a, -1, -2)                                  # [l, i, k] = a_i^H a_k
    phi, dkk, tr_inv = _own_pilot_forms(gram, c1, c0, q, pilots, csi.n_ant)
    c1i, c0i = c1[..., :, None], c0[..., :, None]
    c1k, c0k, closk = c1[..., None, :], c0[..., None, :], c_los[..., None, :]
    phi_ii = np.real(np.diagonal(phi, axis1=-2, axis2=-1))[..., :, None]
    g_ki = np.conj(gram)                                                        # a_k^H a_i at [i, k]
    # T[l, i, k] = tr(R_i Ψ_{t_i}^{-1} R_k)
    trace = c1i * c1k * phi * g_ki + c1i * c0k * phi_ii + c0i * c1k * dkk + c0i * c0k * tr_inv[..., :, None]
    t_ii = np.real(np.diagonal(trace, axis1=-2, axis2=-1))
    gamma = q * t_ii                                                            # γ = τ_p η tr(R Ψ^{-1} R)
    # a_k^H R_i Ψ^{-1} R_i a_k, then tr(R_k C_i) = q_i (c1_k · that + c0_k T_ii)
    quad = c1i**2 * np.abs(gram) ** 2 * phi_ii + c0i**2 * dkk + 2.0 * c1i * c0i * np.real(g_ki * phi)
    tr_rc = q[..., :, None] * (c1k * quad + c0k * t_ii[..., :, None])
    los = closk * (c1i * g_ki * phi + c0i * dkk)                                # m_k^H R_i Ψ^{-1} m_k
    index = np.asarray(pilots.index)
    same = (index[..., :, None] == index[..., None, :])[..., None, :, :]        # (..., 1, K_i, K_k)
    qi, qk = q[..., :, None], q[..., None, :]
    inv_g = np.divide(1.0, gamma, out=np.zeros(gamma.shape), where=gamma > 0)[..., :, None]
    mean = same * np.sqrt(qi * qk) * trace * np.sqrt(inv_g)
    var = (tr_rc - same * qi * qk * np.abs(los) ** 2) * inv_g
    return np.swapaxes(mean, -1, -2), np.swapaxes(var, -1, -2), gamma


def _precoder_phase(phase_shift: np.ndarray | None, phase_aware: bool,
                    predicted_shift: np.ndarray | None) -> tuple[np.ndarray | float, np.ndarray | float]:
    s = 1.0 if phase_shift is None else np.asarray(phase_shift)
    if not phase_aware:
        return s, 1.0
    return s, (s if predicted_shift is None else np.asarray(predicted_shift))


def sinr_ucdmimo(csi: StatisticalCSI, cluster: np.ndarray, p: np.ndarray, pilots: Pilots, tx_power_w: float,
                 noise_w: float | np.ndarray, phase_shift: np.ndarray | None = None, phase_aware: bool = True,
                 predicted_shift: np.ndarray | None = None, nlos: Nlos = "iid") -> np.ndarray:
    """Closed-form downlink SINR of UC-DMIMO / FC-DMIMO / NCT with MR on LMMSE estimates (004 eqs 18–21 rebuilt).

    Parameters
    ----------
    csi : StatisticalCSI — arrays (..., L, K), steering (..., L, K, N)
    cluster : ndarray, shape (..., L, K), bool — D_{k,l} (004 eq 12): UC clusters, :func:`fc_cluster`
        or :func:`nct_cluster`
    p : ndarray, shape (..., L, K) — power weights (e.g. :func:`fractional_power`); used on the cluster only
    pilots : Pilots
    tx_power_w : float, W — ρ_t per satellite
    noise_w : float or ndarray, shape (...,), W — user noise σ_n²
    phase_shift : ndarray, shape (..., L, K), complex, optional — s_{l,k} (:func:`async_phase_shift`);
        None: synchronous reception
    phase_aware : bool — precoders compensate the delay phase (ŝ = s) or not (ŝ = 1)
    predicted_shift : ndarray, shape (..., L, K), complex, optional — ŝ when phase-aware, if the
        prediction differs from the true s
    nlos : 'iid' or 'steering' — see :func:`covariance_terms`

    Returns
    -------
    ndarray, shape (..., K), linear
    """
    mean, var, gamma = mr_link_moments(csi, pilots, nlos)
    s, s_hat = _precoder_phase(phase_shift, phase_aware, predicted_shift)
    rot = np.conj(np.broadcast_to(s, gamma.shape))[..., :, None] * np.broadcast_to(s_hat, gamma.shape)[..., None, :]
    weights = np.where(np.asarray(cluster, dtype=bool) & (gamma > 0), np.asarray(p, dtype=float), 0.0)
    return sinr_from_moments(mean * rot, var, weights, tx_power_w, noise_w)


def rates_ucdmimo(csi: StatisticalCSI, cluster: np.ndarray, p: np.ndarray, pilots: Pilots, tx_power_w: float,
                  noise_w: float | np.ndarray, **kwargs) -> np.ndarray:
    """Spectral efficiency log2(1 + SINR_k) in bit/s/Hz of :func:`sinr_ucdmimo` (same arguments); (..., K).

    004's pre-log τ_d / τ_c (training overhead) is left to the caller: multiply by (1 − τ_p / τ_c).
    """
    return spectral_efficiency(sinr_ucdmimo(csi, cluster, p, pilots, tx_power_w, noise_w, **kwargs))


def montecarlo_sinr_ucdmimo(csi: StatisticalCSI, cluster: np.ndarray, p: np.ndarray, pilots: Pilots,
                            tx_power_w: float, noise_w: float | np.ndarray, n_draws: int, rng: np.random.Generator,
                            phase_shift: np.ndarray | None = None, phase_aware: bool = True,
                            predicted_shift: np.ndarray | None = None, nlos: Nlos = "iid",
                            estimator_csi: StatisticalCSI | None = None, **kwargs) -> StreamMonteCarlo:
    """Monte-Carlo SINR with explicit channels, pilot signals, LMMSE estimates and MR precoders.

    Per draw: ψ ~ U[0, 2π), h_{k,l} = e^{jψ} √(κv) a + NLOS (004 eqs 1–2); pilot matrix
    Y_l = Σ_i √η_i h_{i,l} φ_{t_i}^T + N_l with φ_t the columns of √τ_p × the unitary DFT and
    N_l ~ CN(0, σ_p² I) (004 eq 9); y_{t,l} = Y_l φ_t^* / √τ_p; ĥ = √(τ_p η) R Ψ^{-1} y with R and Ψ
    formed as N × N matrices (004 eq 14); w = ŝ ĥ / √γ (eq 17); gains
    γ_{k,i} = Σ_l p_{l,i} s_{l,k}^* h_{k,l}^H w_{i,l}. Arguments as :func:`sinr_ucdmimo`; ``kwargs``
    go to :func:`~simulator.cooperation.single.montecarlo_sinr_streams`. ``estimator_csi`` (same
    shape as ``csi``): the statistics R, Ψ of the LMMSE estimator and of γ (stale statistics);
    None: those of ``csi``, which always draws the channels.
    """
    c_los, c1, c0 = covariance_terms(csi, nlos)
    est_csi = csi if estimator_csi is None else estimator_csi
    _, c1_e, c0_e = covariance_terms(est_csi, nlos)
    a_e = est_csi.steering
    a = csi.steering
    n_ant, n_pil = csi.n_ant, pilots.n_pilots
    lead = csi.beta.shape[:-2]
    index = np.broadcast_to(np.asarray(pilots.index), lead + (csi.n_user,))
    eta = np.broadcast_to(np.asarray(pilots.power_w, dtype=float), lead + (csi.n_user,))
    eye = np.eye(n_ant)
    cov = c1_e[..., None, None] * (a_e[..., :, None] * np.conj(a_e[..., None, :])) + c0_e[..., None, None] * eye
    load = (index[..., :, None] == np.arange(n_pil)) * (n_pil * eta)[..., :, None]  # τ_p η_k [t_k = t]
    psi = np.einsum("...kt,...lkmn->...ltmn", load, cov)
    psi = psi + np.asarray(pilots.noise_w, dtype=float)[..., None, None, None, None] * eye
    psi_k = np.take_along_axis(psi, index[..., None, :, None, None], axis=-3)     # Ψ_{t_k,l}, (..., L, K, N, N)
    est = np.sqrt(n_pil * eta)[..., None, :, None, None] * np.swapaxes(
        np.conj(np.linalg.solve(psi_k, cov)), -1, -2)                             # √(τη) R Ψ^{-1}
    gamma = np.real(np.einsum("...mn,...nm->...", est @ psi_k, np.conj(np.swapaxes(est, -1, -2))))
    s, s_hat = _precoder_phase(phase_shift, phase_aware, predicted_shift)
    s = np.broadcast_to(s, gamma.shape)
    scale = np.broadcast_to(s_hat, gamma.shape) * np.divide(1.0, np.sqrt(gamma), out=np.zeros(gamma.shape),
                                                             where=gamma > 0)
    weights = np.where(np.asarray(cluster, dtype=bool) & (gamma > 0), np.asarray(p, dtype=float), 0.0)
    pilot_book = np.fft.fft(np.eye(n_pil))                                       # columns φ_t, ||φ_t||² = τ_p
    tx_pilot = pilot_book[:, index]                                               # (τ_p, ..., K)
    tx_pilot = np.moveaxis(tx_pilot, 0, -1)                                      # (..., K, τ_p) rows φ_{t_k}^T
    los_amp = np.sqrt(c_los)[..., None] * a
    nlos_amp = np.sqrt(c0) if nlos == "iid" else np.sqrt(c1 - c_los)

    def draw(n: int) -> np.ndarray:
        shape = (n,) + csi.beta.shape
        psi_los = rng.uniform(0.0, 2.0 * np.pi, shape)
        z_shape = shape + (n_ant,) if nlos == "iid" else shape + (1,)
        z = (rng.standard_normal(z_shape) + 1j * rng.standard_normal(z_shape)) * np.sqrt(0.5)
        scatter = nlos_amp[..., None] * (z if nlos == "iid" else z * a)
        h = np.exp(1j * psi_los)[..., None] * los_amp + scatter                   # (n, ..., L, K, N)
        noise_shape = (n,) + lead + (csi.n_sat, n_ant, n_pil)
        noise = (rng.standard_normal(noise_shape) + 1j * rng.standard_normal(noise_shape)) * np.sqrt(
            0.5 * np.asarray(pilots.noise_w, dtype=float))[..., None, None, None]
        y_mat = np.swapaxes(h * np.sqrt(eta)[..., None, :, None], -1, -2) @ tx_pilot[..., None, :, :] + noise
        y = y_mat @ np.conj(pilot_book) / np.sqrt(n_pil)                           # (n, ..., L, N, τ_p)
        y_k = np.take_along_axis(y, index[None, ..., None, None, :], axis=-1)      # (n, ..., L, N, K)
        h_hat = (est @ np.swapaxes(y_k, -1, -2)[..., None])[..., 0]                 # (n, ..., L, K, N)
        w = scale[..., None] * h_hat
        g = np.conj(h * s[..., None]) @ np.swapaxes(w, -1, -2)                   # [l, k, i]
        return np.sum(g * weights[..., None, :], axis=-3)                         # (n, ..., K, K)

    return montecarlo_sinr_streams(draw, n_draws, tx_power_w, noise_w, **kwargs)
