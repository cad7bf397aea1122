"""Pilot-based precoders whose estimator statistics are stale: iMRT (000) and MR on LMMSE (004).

The pilots are sent and the channel estimated in every coherence block, but the estimator and the
precoder normalisation use the second-order statistics of the last CSI refresh (hatted: â, β̂, κ̂,
φ̂), while the channels follow the true statistics (a, β, κ, φ). Both closed forms below reduce to
000 Theorem 2 (:mod:`~simulator.cooperation.rates_cfmmimo`) and to the 004 rebuild
(:mod:`~simulator.cooperation.ucdmimo`) when the two statistics coincide. Gains of different
satellites stay independent, so the moments feed
:func:`~simulator.cooperation.rates_cfmntn.sinr_from_moments`. Everything reduces to K × K Gram
matrices of steering vectors: Ĝ = Â^H Â (refresh), G_ts[k, i] = a_k^H â_i and G_tt = A^H A (true).

**iMRT with a mismatched MMSE estimator** (000 eqs 38–46, model h = g a, g ~ CN(m, v),
m = √(κv) e^{jφ}). With pilot Gram P[i, j] = ψ_i^H ψ_j and c = σ_p²/η, the estimate is
ĥ_j = â_j z_j, z_j = m̂_j + v̂_j b_j^H (ỹ_j − Σ_i P[i, j] m̂_i â_i), b_j = V̂_j^{-1} â_j,
V̂_j = Σ_i |P[i, j]|² v̂_i â_i â_i^H + c I, and w_j = ĥ_j / n_j, n_j = √(N (κ̂_j + x̂_jj) v̂_j).
By the push-through identity b_j = Â (c I + D_j Ĝ)^{-1} e_j, D_j = diag(|P[i, j]|² v̂_i). With
e_{ji} = v̂_j P[i, j] b_j^H a_i and ê_{ji} = v̂_j P[i, j] b_j^H â_i, z_j is Gaussian with
mean μ_j = m̂_j + Σ_i e_{ji} m_i − Σ_i ê_{ji} m̂_i, fluctuation power
E|z̃_j|² = Σ_i |e_{ji}|² v_i + v̂_j² c ||b_j||², and E{g̃_k^* z̃_j} = e_{jk} v_k. For jointly
circular Gaussian g_k, z_j (the fourth moment by Isserlis' theorem)::

    E{h_k^H w_j} = (a_k^H â_j / n_j) (m_k^* μ_j + e_{jk} v_k)
    V{h_k^H w_j} = (|a_k^H â_j|² / n_j²) (β_k E|z̃_j|² + v_k |μ_j|²)

**MR on a mismatched LMMSE estimate** (004 rebuild, random LOS phase, R = c1 a a^H + c0 I).
ĥ_i = A_i y_{t_i} with A_i = √q_i R̂_i B_{t_i}, B_t = Ψ̂_t^{-1}, q = τ_p η, and w_i = ŝ_i ĥ_i / √γ̂_i,
γ̂_i = q_i tr(R̂_i B R̂_i) (the satellite's own estimate power). As in the docs of ``ucdmimo``,
E{h_k^H ĥ_i} = [t_i = t_k] √q_k tr(A_i R_k) and, with the true Ψ_t,
E|h_k^H ĥ_i|² = tr(A_i Ψ A_i^H R_k) + [t_i = t_k] q_k (|tr(A_i R_k)|² − |m_k^H A_i m_k|²), so::

    mean[k, i] = [t_i = t_k] √(q_i q_k) tr(R̂_i B R_k) / √γ̂_i
    var[k, i]  = (q_i tr(R̂_i B Ψ B R̂_i R_k) − [t_i = t_k] q_i q_k |m_k^H R̂_i B m_k|²) / γ̂_i

B_t = (I − Â_t X_t Â_t^H) / ŝ_t with X_t = F M_t^{-1} F (Woodbury over the users of pilot t) and
Ψ_t = s_t I + Σ_{j ∈ P_t} q_j c1_j a_j a_j^H, so every bilinear form of B and B Ψ B between â's and
a's is a combination of Ĝ, G_st = Â^H A and G_tt (:func:`mr_moments`).

Users without a pilot (index −1) are given a private extra pilot here: they contaminate nobody,
and the caller gives them no power.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..radio.statistical_csi import StatisticalCSI
from .rates_cfmmimo import pilot_statistics
from .ucdmimo import covariance_terms

__all__ = [
    "extended_pilots",
    "pilot_blocks",
    "ImrtEstimator",
    "imrt_estimator",
    "imrt_moments",
    "MrEstimator",
    "mr_estimator",
    "mr_moments",
    "mr_sinr",
]


def extended_pilots(index: np.ndarray, n_pilots: int) -> tuple[np.ndarray, int]:
    """Pilot indices with a private extra pilot n_pilots, n_pilots + 1, … for each user without one (−1).

    >>> extended_pilots(np.array([0, -1, 1, -1]), 2)
    (array([0, 2, 1, 3]), 4)
    """
    index = np.asarray(index, dtype=np.int64).copy()
    missing = np.flatnonzero(index < 0)
    index[missing] = n_pilots + np.arange(missing.size)
    return index, int(n_pilots + missing.size)


def pilot_blocks(index: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The users of each pilot, grouped by how many share it: one (pilots, members) pair per block
    size s, pilots (n_b,) and members (n_b, s) in pilot order (stable), so that the blocks of one
    size are handled in one batched operation.

    >>> [(p.tolist(), m.tolist()) for p, m in pilot_blocks(np.array([0, 2, 1, 0, 3]))]
    [([1, 2, 3], [[2], [1], [4]]), ([0], [[0, 3]])]
    """
    index = np.asarray(index, dtype=np.int64)
    order = np.argsort(index, kind="stable")
    count = np.bincount(index)
    used = np.flatnonzero(count)
    starts = np.cumsum(count) - count
    return tuple((pilots, order[starts[pilots][:, None] + np.arange(size)])
                 for size in np.unique(count[used]) for pilots in [used[count[used] == size]])


def _real_diag(x: np.ndarray) -> np.ndarray:
    return np.real(np.diagonal(x, axis1=-2, axis2=-1))


# ---------------------------------------------------------------------------------------------
# iMRT (000 Sec. V) with stale estimator statistics
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImrtEstimator:
    """Estimator side of iMRT built from the refresh statistics (module docstring), arrays (..., L, K[, K]).

    Attributes
    ----------
    coef : ndarray, (..., L, K, K), complex, or None — b_j = Â coef[:, j] (Gram path)
    v_inv_a : ndarray, (..., L, K, N), complex, or None — b_j as N-vectors (explicit path)
    e_hat : ndarray, (..., L, K, K), complex — [j, i] = ê_{ji} = v̂_j P[i, j] b_j^H â_i
    inv_norm : ndarray, (..., L, K) — 1 / n_j, 0 where v̂_j = 0 (no precoder)
    noise_z : ndarray, (..., L, K) — v̂_j² (σ_p²/η) ||b_j||²
    m_hat_abs : ndarray, (..., L, K) — |m̂_j| = √(κ̂_j v̂_j)
    phase_rad : ndarray, (..., L, K) — φ̂_j of the refresh
    v_hat : ndarray, (..., L, K)
    pilot_gram : ndarray, (K, K) — P[i, j] = ψ_i^H ψ_j (orthonormal pilots: 1 on the same pilot)
    """

    coef: np.ndarray | None
    v_inv_a: np.ndarray | None
    e_hat: np.ndarray
    inv_norm: np.ndarray
    noise_z: np.ndarray
    m_hat_abs: np.ndarray
    phase_rad: np.ndarray
    v_hat: np.ndarray
    pilot_gram: np.ndarray


def imrt_estimator(csi_est: StatisticalCSI, pilot_index: np.ndarray, n_pilots: int, pilot_power_w: float,
                   pilot_noise_w: float, gram_est: np.ndarray | None = None) -> ImrtEstimator:
    """Build the iMRT estimator from the refresh statistics ``csi_est`` (000 eqs 42–46, mismatched).

    Parameters
    ----------
    csi_est : StatisticalCSI — statistics the estimator uses, arrays (..., L, K)
    pilot_index : ndarray, shape (K,), int — orthonormal pilot of each user, −1 = none
    n_pilots : int — τ_p
    pilot_power_w, pilot_noise_w : float, W — η_t and σ_p²
    gram_est : ndarray, shape (..., L, K, K), optional — Ĝ[i, m] = â_i^H â_m; given: the Gram path
        (push-through, K × K systems); None: the explicit path (N × N solves of ``pilot_statistics``)

    Returns
    -------
    ImrtEstimator
    """
    index, n_ext = extended_pilots(pilot_index, n_pilots)
    book = np.eye(n_ext, dtype=complex)[:, index]
    pg = np.real(np.conj(book.T) @ book)                                  # P[i, j]
    v_hat, kappa_hat = csi_est.v, csi_est.kappa
    c = pilot_noise_w / pilot_power_w
    if gram_est is not None:
        coef = _pilot_group_coef(gram_est, v_hat, index, c)               # [m, j] = β_j[m]
        g_coef = gram_est @ coef                                           # [i, j] = â_i^H b_j
        bha_hat = np.conj(np.swapaxes(g_coef, -1, -2))                     # [j, i] = b_j^H â_i
        b_norm = np.real(np.sum(np.conj(coef) * g_coef, axis=-2))
        v_inv_a = None
    else:
        stats = pilot_statistics(csi_est, book, pilot_power_w, pilot_noise_w)
        v_inv_a = stats.v_inv_a
        bha_hat = np.conj(v_inv_a) @ np.swapaxes(csi_est.steering, -1, -2)   # [j, i] = b_j^H â_i
        b_norm = np.real(np.sum(np.conj(v_inv_a) * v_inv_a, axis=-1))
        coef = None
    x_self = v_hat * np.real(np.diagonal(bha_hat, axis1=-2, axis2=-1))    # x̂_jj = v̂_j â_j^H b_j
    power = csi_est.n_ant * (kappa_hat + x_self) * v_hat
    inv_norm = np.divide(1.0, np.sqrt(power), out=np.zeros(power.shape), where=(power > 0) & (v_hat > 0))
    e_hat = v_hat[..., :, None] * pg.T * bha_hat
    return ImrtEstimator(coef=coef, v_inv_a=v_inv_a, e_hat=e_hat, inv_norm=inv_norm,
                         noise_z=v_hat**2 * c * b_norm, m_hat_abs=np.sqrt(kappa_hat * v_hat),
                         phase_rad=csi_est.phase_rad, v_hat=v_hat, pilot_gram=pg)


def _pilot_group_coef(gram_est: np.ndarray, v_hat: np.ndarray, index: np.ndarray, c: float) -> np.ndarray:
    """β_j = (c I + D_j Ĝ)^{-1} e_j for every user j, solved per pilot group, shape (..., L, K, K), [m, j].

    The pilots are orthonormal, so D_j = diag(|P[i, j]|² v̂_i) keeps only the users i on j's pilot
    (the group S of j). Rows outside S read c β_j[i] = δ_ij = 0, so β_j vanishes outside S and on S
    solves (c I + D_S Ĝ_SS) β_j,S = e_j: one |S| × |S| system per satellite and pilot with |S|
    right-hand sides, instead of one K × K system per satellite and user (K⁴ work and memory).
    """
    coef = np.zeros(gram_est.shape, dtype=complex)
    for _, members in pilot_blocks(index):                               # (n_b, s): the groups of one size
        rows, cols = members[:, :, None], members[:, None, :]
        eye = np.eye(members.shape[1])
        system = c * eye + v_hat[..., members][..., :, None] * gram_est[..., rows, cols]
        coef[..., rows, cols] = np.linalg.solve(system, np.broadcast_to(eye, system.shape))
    return coef


def imrt_moments(csi: StatisticalCSI, gram_ts: np.ndarray, est: ImrtEstimator,
                 phase_hat_rad: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Moments of h_{l,k}^H w_{l,j} for iMRT with a mismatched estimator (module docstring).

    Parameters
    ----------
    csi : StatisticalCSI — true statistics (..., L, K); its steering is used on the explicit path
    gram_ts : ndarray, shape (..., L, K, K), complex — [k, i] = a_k^H â_i
    est : ImrtEstimator — from :func:`imrt_estimator`
    phase_hat_rad : ndarray, shape (..., L, K), optional — φ̂ of the LOS mean the estimator
        subtracts; None: the refresh phase ``est.phase_rad``

    Returns
    -------
    mean : ndarray, shape (..., L, K, K), complex — [l, k, j]
    var : ndarray, shape (..., L, K, K), float — [l, k, j]
    """
    v, beta = csi.v, csi.beta
    m = np.sqrt(csi.kappa * v) * np.exp(1j * csi.phase_rad)
    phase_hat = est.phase_rad if phase_hat_rad is None else phase_hat_rad
    m_hat = est.m_hat_abs * np.exp(1j * phase_hat)
    if est.coef is not None:
        bha = np.conj(np.swapaxes(gram_ts @ est.coef, -1, -2))           # [j, i] = b_j^H a_i
    else:
        bha = np.conj(est.v_inv_a) @ np.swapaxes(csi.steering, -1, -2)
    e = est.v_hat[..., :, None] * est.pilot_gram.T * bha                 # [j, i] = e_{ji}
    mu = m_hat + np.einsum("...ji,...i->...j", e, m) - np.einsum("...ji,...i->...j", est.e_hat, m_hat)
    fluct = np.einsum("...ji,...i->...j", e.real**2 + e.imag**2, v) + est.noise_z
    inv_norm = est.inv_norm[..., None, :]
    mean = gram_ts * inv_norm * (np.conj(m)[..., :, None] * mu[..., None, :] + np.swapaxes(e, -1, -2) * v[..., :, None])
    g_sq = gram_ts.real**2 + gram_ts.imag**2
    var = g_sq * inv_norm**2 * (beta[..., :, None] * fluct[..., None, :]
                                + v[..., :, None] * (mu.real**2 + mu.imag**2)[..., None, :])
    return mean, var


# ---------------------------------------------------------------------------------------------
# MR on LMMSE estimates (004 rebuild) with stale estimator statistics
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MrEstimator:
    """LMMSE side of 004's MR precoding built from the refresh statistics, arrays (..., L, K[, K]).

    Attributes
    ----------
    gram : ndarray, (..., L, K, K) — Ĝ[i, m] = â_i^H â_m
    coef : ndarray, (..., L, K, K) — â_i^H B_{t_i} = Σ_j coef[i, j] â_j^H (nonzero on the pilot of i)
    x : ndarray, (..., L, K, K) — X_t = F M_t^{-1} F, block diagonal by pilot
    s_hat : ndarray, (..., L, n_p) — ŝ_t = σ_p² + Σ_{P_t} q ĉ0
    tr_b, tr_b2 : ndarray, (..., L, n_p) — tr B_t, tr B_t²
    phi_self, b_sq : ndarray, (..., L, K) — â_i^H B â_i and ||B â_i||²
    gamma : ndarray, (..., L, K) — γ̂_i = q_i tr(R̂_i B R̂_i); 0: no precoder
    c1, c0 : ndarray, (..., L, K) — ĉ1, ĉ0 (R̂ = ĉ1 â â^H + ĉ0 I)
    q : ndarray, (K,) — τ_p η_k
    onehot : ndarray, (n_p, K) — pilot membership (extended pilots, module docstring)
    same : ndarray, (K, K) — [t_i = t_k]
    pilot : ndarray, (K,), int — extended pilot index
    """

    gram: np.ndarray
    coef: np.ndarray
    x: np.ndarray
    s_hat: np.ndarray
    tr_b: np.ndarray
    tr_b2: np.ndarray
    phi_self: np.ndarray
    b_sq: np.ndarray
    gamma: np.ndarray
    c1: np.ndarray
    c0: np.ndarray
    q: np.ndarray
    onehot: np.ndarray
    same: np.ndarray
    pilot: np.ndarray

    @property
    def orthogonal(self) -> bool:
        """Every user has a pilot of its own (τ_p ≥ K): the pilot blocks are 1 × 1."""
        return bool(np.array_equal(self.same, np.eye(self.same.shape[0])))

    @cached_property
    def blocks(self) -> tuple[np.ndarray, ...]:
        """Users of each pilot block, one (n_b, s) int array per block size s (:func:`pilot_blocks`)."""
        return tuple(members for _, members in pilot_blocks(self.pilot))

    @property
    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Indices (i, k) of the pairs sharing a pilot (the nonzero entries of ``same``)."""
        return np.nonzero(self.same)


def _per_pilot(onehot: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Σ over the users of each pilot: (n_p, K) @ (..., K[, M]) -> (..., n_p[, M])."""
    return onehot @ x


def mr_estimator(csi_est: StatisticalCSI, gram_est: np.ndarray, pilot_index: np.ndarray, n_pilots: int,
                 pilot_power_w: float | np.ndarray, pilot_noise_w: float, nlos: str = "iid") -> MrEstimator:
    """Build the LMMSE/MR estimator side from the refresh statistics (004 eqs 9–17; module docstring).

    Parameters
    ----------
    csi_est : StatisticalCSI — refresh statistics, arrays (..., L, K)
    gram_est : ndarray, shape (..., L, K, K) — Ĝ[i, m] = â_i^H â_m (closed form or explicit)
    pilot_index : ndarray, shape (K,), int — t_k, −1 = no pilot
    n_pilots : int — τ_p (pilot length)
    pilot_power_w : float or ndarray, shape (K,), W — η_k
    pilot_noise_w : float, W — σ_p²
    nlos : 'iid' or 'steering' — see :func:`~simulator.cooperation.ucdmimo.covariance_terms`

    Returns
    -------
    MrEstimator
    """
    index, n_ext = extended_pilots(pilot_index, n_pilots)
    n_user, n_ant = csi_est.n_user, csi_est.n_ant
    onehot = (np.arange(n_ext)[:, None] == index[None, :]).astype(float)
    same = (index[:, None] == index[None, :]).astype(float)
    q = n_pilots * np.broadcast_to(np.asarray(pilot_power_w, dtype=float), (n_user,))
    _, c1, c0 = covariance_terms(csi_est, nlos)
    f = np.sqrt(q * c1)                                                     # (..., L, K)
    lead = np.broadcast_shapes(f.shape[:-1], np.shape(gram_est)[:-2])
    f = np.broadcast_to(f, lead + (n_user,))
    qc0 = np.broadcast_to(q * c0, lead + (n_user,))
    order = np.argsort(index, kind="stable")
    count = np.bincount(index, minlength=n_ext)
    used = np.flatnonzero(count)
    s_hat = np.full(lead + (n_ext,), float(pilot_noise_w))                 # ŝ_t = σ_p² + Σ_{P_t} q ĉ0
    s_hat[..., used] += np.add.reduceat(qc0[..., order], np.cumsum(count)[used] - count[used], axis=-1)
    dtype = np.result_type(gram_est, complex)
    coef = np.zeros(lead + (n_user, n_user), dtype=dtype)
    x = np.zeros(lead + (n_user, n_user), dtype=dtype)
    phi_self, b_sq = np.zeros(lead + (n_user,)), np.zeros(lead + (n_user,))
    tr_xg, tr_xgxg = np.zeros(lead + (n_ext,)), np.zeros(lead + (n_ext,))
    # M, X and the rows â_i^H B_{t_i} are block diagonal by pilot: each pilot's block alone, the
    # blocks of one size together (sum of block size³ instead of K³ per satellite)
    for pilots, members in pilot_blocks(index):                           # (n_b,), (n_b, s)
        size = members.shape[1]
        rows, cols = members[:, :, None], members[:, None, :]
        fb = f[..., members]                                                # (..., L, n_b, s)
        gb = np.broadcast_to(gram_est, lead + (n_user, n_user))[..., rows, cols]         # Ĝ of each block
        sb = s_hat[..., pilots][..., None]                                  # (..., L, n_b, 1)
        m_inv = np.linalg.inv(sb[..., None] * np.eye(size) + fb[..., :, None] * gb * fb[..., None, :])
        xb = fb[..., :, None] * m_inv * fb[..., None, :]
        # rows â_i^H B_{t_i}: [M^{-1} F]_i / f_i (free of cancellation), or (e_i − Ĝ_i X) / ŝ when f_i = 0
        positive = fb > 0
        safe_f = np.where(positive, fb, 1.0)
        exact = m_inv * fb[..., None, :] / safe_f[..., :, None]
        cancel = (np.eye(size) - gb @ xb) / sb[..., None]
        cb = np.where(positive[..., :, None], exact, cancel)
        cg = cb @ gb
        phi_self[..., members] = _real_diag(cg)
        b_sq[..., members] = np.real(np.sum(cg * np.conj(cb), axis=-1))
        xg = xb @ gb
        tr_xg[..., pilots] = np.real(np.trace(xg, axis1=-2, axis2=-1))
        tr_xgxg[..., pilots] = np.real(np.einsum("...ab,...ba->...", xg, xg))
        coef[..., rows, cols] = cb
        x[..., rows, cols] = xb
    tr_b = (n_ant - tr_xg) / s_hat
    tr_b2 = (n_ant - 2.0 * tr_xg + tr_xgxg) / s_hat**2
    gamma = q * (c1**2 * n_ant * phi_self + 2.0 * c1 * c0 * phi_self + c0**2 * tr_b[..., index])
    return MrEstimator(gram=gram_est, coef=coef, x=x, s_hat=s_hat, tr_b=tr_b, tr_b2=tr_b2, phi_self=phi_self,
                       b_sq=b_sq, gamma=gamma, c1=c1, c0=c0, q=q, onehot=onehot, same=same, pilot=index)


def mr_moments(csi: StatisticalCSI, gram_st: np.ndarray, gram_tt: np.ndarray, est: MrEstimator,
               pilot_noise_w: float, nlos: str = "iid") -> tuple[np.ndarray, np.ndarray]:
    """Moments of h_{k,l}^H w_{i,l} for MR on a mismatched LMMSE estimate, before delay phases.

    Parameters
    ----------
    csi : StatisticalCSI — true statistics, arrays (..., L, K)
    gram_st : ndarray, shape (..., L, K, K) — [j, k] = â_j^H a_k (refresh against true vectors)
    gram_tt : ndarray, shape (..., L, K, K) — [j, k] = a_j^H a_k
    est : MrEstimator — from :func:`mr_estimator`
    pilot_noise_w : float, W — σ_p² (the true pilot noise)
    nlos : 'iid' or 'steering'

    Returns
    -------
    mean : ndarray, shape (..., L, K, K), complex — [l, k, i], with ŝ = s = 1
    var : ndarray, shape (..., L, K, K), float — [l, k, i]
    """
    n_ant = csi.n_ant
    oh, same, q, idx = est.onehot, est.same, est.q, est.pilot
    c_los, c1, c0 = covariance_terms(csi, nlos)
    s_true = pilot_noise_w + _per_pilot(oh, (q * c0)[..., None])[..., 0]     # (..., L, n_p)
    s_user, s_hat_user = s_true[..., idx], est.s_hat[..., idx]
    g_st = gram_st                                                       # [j, k] = â_j^H a_k
    g_ik = np.conj(gram_st)                                              # [i, k] = a_k^H â_i
    phi = est.coef @ g_st                                                # [i, k] = â_i^H B_{t_i} a_k
    y = est.x @ g_st                                                     # X_t Â_t^H a_k
    gy = np.real(_per_pilot(oh, np.conj(g_st) * y))                      # (..., n_p, K): g^H X g
    delta = (n_ant - gy) / est.s_hat[..., :, None]                       # a_k^H B_t a_k
    theta = (gram_tt - (np.conj(np.swapaxes(g_st, -1, -2)) * same) @ y) / s_hat_user[..., :, None]   # a_j^H B_{t_j} a_k
    ygy = np.real(_per_pilot(oh, np.conj(y) * ((est.gram * same) @ y)))
    nb = (n_ant - 2.0 * gy + ygy) / est.s_hat[..., :, None] ** 2         # ||B_t a_k||²
    qc1 = q * c1
    zeta = s_true[..., :, None] * nb + _per_pilot(oh, qc1[..., :, None] * (theta.real**2 + theta.imag**2))
    alpha = s_user * est.b_sq + np.einsum("...ij,...j->...i", (phi.real**2 + phi.imag**2) * same, qc1)
    omega = s_user[..., :, None] * (est.coef @ phi) + ((phi * same) * qc1[..., None, :]) @ theta
    nb_own = np.take_along_axis(nb, np.broadcast_to(idx, nb.shape[:-2] + (1, idx.size)), axis=-2)[..., 0, :]
    tau_q = s_true * est.tr_b2 + _per_pilot(oh, (qc1 * nb_own)[..., None])[..., 0]
    c1i, c0i = est.c1[..., :, None], est.c0[..., :, None]
    c1k, c0k, closk = c1[..., None, :], c0[..., None, :], c_los[..., None, :]
    delta_ik, zeta_ik = delta[..., idx, :], zeta[..., idx, :]
    tr_rbr = (c1i * c1k * phi * g_ik + c1i * c0k * est.phi_self[..., :, None] + c0i * c1k * delta_ik
              + c0i * c0k * est.tr_b[..., idx][..., :, None])
    a_q_a = (c1i**2 * (g_ik.real**2 + g_ik.imag**2) * alpha[..., :, None] + 2.0 * c1i * c0i * np.real(g_ik * omega)
             + c0i**2 * zeta_ik)
    tr_q = est.c1**2 * n_ant * alpha + 2.0 * est.c1 * est.c0 * alpha + est.c0**2 * tau_q[..., idx]
    tr_qr = c1k * a_q_a + c0k * tr_q[..., :, None]
    los = closk * (c1i * g_ik * phi + c0i * delta_ik)
    qi, qk = q[:, None], q[None, :]
    inv_g = np.divide(1.0, est.gamma, out=np.zeros(est.gamma.shape), where=est.gamma > 0)[..., :, None]
    mean = same * np.sqrt(qi * qk) * tr_rbr * np.sqrt(inv_g)
    var = (qi * tr_qr - same * qi * qk * (los.real**2 + los.imag**2)) * inv_g
    return np.swapaxes(mean, -1, -2), np.swapaxes(var, -1, -2)


def _same_sum(est: MrEstimator, x: np.ndarray) -> np.ndarray:
    """Σ over the users j sharing user i's pilot: (S @ x)[..., i, :], S[i, j] = [t_i = t_j].

    Summed per pilot and gathered back (n_p K M work instead of K² M). Every user has a pilot of
    its own when τ_p ≥ K: then S = I and x is returned as it is.
    """
    return x if est.orthogonal else (est.onehot @ x)[..., est.pilot, :]


def _block_product(est: MrEstimator, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """(left ∘ S) @ right: ``left`` (..., K, K) restricted to its pilot blocks (its diagonal if τ_p ≥ K).

    One batched product per block size: Σ_blocks s² M work instead of K² M.
    """
    if est.orthogonal:
        return np.diagonal(left, axis1=-2, axis2=-1)[..., :, None] * right
    lead = np.broadcast_shapes(left.shape[:-2], right.shape[:-2])
    out = np.zeros(lead + (left.shape[-2], right.shape[-1]), dtype=np.result_type(left, right))
    for members in est.blocks:
        out[..., members, :] = left[..., members[:, :, None], members[:, None, :]] @ right[..., members, :]
    return out


def mr_sinr(csi: StatisticalCSI, gram_st: np.ndarray, gram_tt: np.ndarray, est: MrEstimator, p: np.ndarray,
            tx_power_w: float, noise_w: float, pilot_noise_w: float, nlos: str = "iid",
            phase_shift: np.ndarray | None = None, predicted_shift: np.ndarray | None = None) -> np.ndarray:
    """SINR of 000 eq 21 for MR on a mismatched LMMSE estimate, contracted with the power weights.

    Equal to ``sinr_from_moments(mean · conj(s_k) ŝ_i, var, p)`` with the moments of
    :func:`mr_moments`, but faster: the variance is summed over streams without being formed per
    (k, i), the pilot sums are taken per user (S @ ·, S[i, j] = [t_i = t_j], skipped when every user
    has its own pilot), and the mean, nonzero only for pairs sharing a pilot, is formed for those.

    Parameters
    ----------
    csi, gram_st, gram_tt, est, pilot_noise_w, nlos : as :func:`mr_moments`
    p : ndarray, shape (..., L, K) — power weights (zero where est.gamma = 0)
    tx_power_w, noise_w : float, W — ρ_t and σ_n²
    phase_shift : ndarray, shape (..., L, K), complex, optional — s_{l,k} (None: 1)
    predicted_shift : ndarray, shape (..., L, K), complex, optional — ŝ_{l,i} of the precoders (None: 1)

    Returns
    -------
    ndarray, shape (..., K), linear
    """
    n_ant = csi.n_ant
    q, idx = est.q, est.pilot
    n_user = q.size
    c_los, c1, c0 = covariance_terms(csi, nlos)
    s_user = pilot_noise_w + (q * c0 if est.orthogonal else (q * c0) @ est.same)    # s_{t_i}, true
    s_hat = est.s_hat[..., idx]                                                       # ŝ_{t_i}
    g = gram_st                                                                       # [j, k] = â_j^H a_k
    g_conj = np.conj(g)
    if est.orthogonal:
        phi = np.diagonal(est.coef, axis1=-2, axis2=-1)[..., :, None] * g
        y = np.diagonal(est.x, axis1=-2, axis2=-1)[..., :, None] * g
    else:
        phi, y = _block_product(est, est.coef, g), _block_product(est, est.x, g)    # coef, X: block diagonal
    gy = _same_sum(est, np.real(g_conj * y))                    # [i, k] = g^H X_{t_i} g over P_{t_i}
    delta = (n_ant - gy) / s_hat[..., :, None]                  # a_k^H B_{t_i} a_k
    theta = (gram_tt - _block_product(est, np.swapaxes(g_conj, -1, -2), y)) / s_hat[..., :, None]
    ygy = _same_sum(est, np.real(np.conj(y) * _block_product(est, est.gram, y)))
    nb = (n_ant - 2.0 * gy + ygy) / s_hat[..., :, None] ** 2    # ||B_{t_i} a_k||²
    qc1 = q * c1
    phi_sq = phi.real**2 + phi.imag**2
    if est.orthogonal:
        alpha = s_user * est.b_sq + np.diagonal(phi_sq, axis1=-2, axis2=-1) * qc1
    else:
        alpha = s_user * est.b_sq + _block_product(est, phi_sq, qc1[..., :, None])[..., 0]
    weight = np.divide(p**2 * q, est.gamma, out=np.zeros(np.broadcast_shapes(np.shape(p), est.gamma.shape)),
                       where=est.gamma > 0)                                          # W_i = p_i² q_i / γ̂_i
    terms = (weight * est.c1**2 * alpha)[..., :, None] * (g.real**2 + g.imag**2)    # [i, k]
    if nlos == "iid":
        zeta = s_user[..., :, None] * nb + _same_sum(est, qc1[..., :, None] * (theta.real**2 + theta.imag**2))
        if est.orthogonal:
            omega = s_user[..., :, None] * np.diagonal(est.coef, axis1=-2, axis2=-1)[..., :, None] * phi
            omega = omega + (np.diagonal(phi, axis1=-2, axis2=-1) * qc1)[..., :, None] * theta
        else:
            omega = (s_user[..., :, None] * _block_product(est, est.coef, phi)
                     + _block_product(est, phi * qc1[..., None, :], theta))
        terms = terms + (2.0 * weight * est.c1 * est.c0)[..., :, None] * np.real(g_conj * omega)
        terms = terms + (weight * est.c0**2)[..., :, None] * zeta
        nb_own = np.diagonal(nb, axis1=-2, axis2=-1)
        tau_q = s_user * est.tr_b2[..., idx] + _same_sum(est, (qc1 * nb_own)[..., :, None])[..., 0]
        tr_q = est.c1**2 * n_ant * alpha + 2.0 * est.c1 * est.c0 * alpha + est.c0**2 * tau_q
        spread = c1 * terms.sum(axis=-2) + c0 * np.sum(weight * tr_q, axis=-1, keepdims=True)
    else:                                                        # c0 = 0: R = β a a^H
        spread = c1 * terms.sum(axis=-2)
    # pairs (i, k) sharing a pilot carry a mean and the random-phase LOS correction
    pi, pk = est.pairs
    g_p, phi_p, delta_p = g_conj[..., pi, pk], phi[..., pi, pk], delta[..., pi, pk]
    c1i, c0i = est.c1[..., pi], est.c0[..., pi]
    los = c_los[..., pk] * (c1i * g_p * phi_p + c0i * delta_p)
    group = (pk[:, None] == np.arange(n_user)).astype(float)                         # (P, K): pair -> user k
    spread = np.sum(spread, axis=-2) - q * (((los.real**2 + los.imag**2) * weight[..., pi]) @ group).sum(axis=-2)
    tr_rbr = (c1i * c1[..., pk] * phi_p * g_p + c1i * c0[..., pk] * est.phi_self[..., pi]
              + c0i * c1[..., pk] * delta_p + c0i * c0[..., pk] * est.tr_b[..., idx[pi]])
    inv_g = np.divide(1.0, est.gamma, out=np.zeros(est.gamma.shape), where=est.gamma > 0)
    mean = np.sqrt(q[pi] * q[pk]) * tr_rbr * np.sqrt(inv_g[..., pi])
    if phase_shift is not None:
        mean = mean * np.conj(phase_shift[..., pk])
    if predicted_shift is not None:
        mean = mean * np.broadcast_to(predicted_shift, np.shape(csi.beta))[..., pi]
    amp = np.sum(np.broadcast_to(p, np.shape(csi.beta))[..., pi] * mean, axis=-2)   # (..., P)
    power = amp.real**2 + amp.imag**2
    own = pi == pk
    signal = power[..., own] @ group[own]
    cross = power[..., ~own] @ group[~own]
    return tx_power_w * signal / (tx_power_w * (spread + cross) + noise_w)
