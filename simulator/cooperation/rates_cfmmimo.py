"""CF-mMIMO with instantaneous CSI: uplink pilots, MMSE estimates and iMRT rates (000 Sec. V, eqs 38–53).

Pilots (000 eq 38): ``pilots`` is a (τ_p, K) matrix whose column k is ψ_k, ||ψ_k|| = 1. Only the
Gram matrix ψ_j^H ψ_k enters the rates. :func:`pilot_book` builds τ_p orthonormal pilots (the unit
vectors of C^{τ_p}) and gives user k pilot k mod τ_p, or a balanced random assignment; users that
share a pilot contaminate each other's estimates (000 Remark 1).

Estimation (000 eqs 39–44): satellite l projects its received pilots on ψ_k,
ỹ_{l,k} = Y_l ψ_k / √η = Σ_j (ψ_j^H ψ_k) h_{l,j} + ñ_{l,k} / √η. The MMSE estimate assumes, as 000
eq 42 does, that the satellite knows the statistical CSI including the LOS phase φ_{l,k} (from the
positions), so E{h_{l,k}} = m_{l,k} a_{l,k} is known, h is Gaussian given it, and the linear MMSE
estimate is the MMSE estimate::

    ĥ_{l,k} = m_{l,k} a_{l,k} + v_{l,k} a_{l,k} a_{l,k}^H V_{l,k}^{-1} (ỹ_{l,k} − Σ_j ψ_j^H ψ_k m_{l,j} a_{l,j})
    V_{l,k} = Σ_j |ψ_j^H ψ_k|² v_{l,j} a_{l,j} a_{l,j}^H + (σ_p² / η) I_N

The estimate is of the same channel that carries the downlink (TDD reciprocity, no channel aging).

Rates (000 Theorem 2, eq 51, corrected — ``docs/paper-notes.md``), with
x_{l,j,k} = v_{l,k} ψ_k^H ψ_j a_{l,j}^H V_{l,j}^{-1} a_{l,k}::

    E{h_{l,k}^H w_{l,j}} = a_{l,k}^H a_{l,j} (e^{j(φ_{l,j}−φ_{l,k})} √(κ_{l,k} κ_{l,j} v_{l,k}) + √v_{l,j} x_{l,j,k})
                           / √(N (κ_{l,j} + x_{l,j,j}))                                    (000 eq 68)
    V{h_{l,k}^H w_{l,j}} = (v_{l,k} / N) |a_{l,k}^H a_{l,j}|² (1 + κ_{l,k} x_{l,j,j} / (κ_{l,j} + x_{l,j,j}))   (eq 79)

and the SINR of 000 eq 47 follows as in :mod:`~simulator.cooperation.rates_cfmntn`. The SINR is a
ratio of a squared linear form to a sum of squared norms of p, so it has an exact coefficient form
(:func:`coefficients_imrt`). Links with v_{l,j} = 0 (no channel) carry no iMRT precoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..radio.statistical_csi import StatisticalCSI
from .coefficients import SinrCoefficients
from .rates_cfmntn import coefficients_from_moments, sinr_from_moments, spectral_efficiency

__all__ = [
    "PilotStatistics",
    "pilot_book",
    "pilot_statistics",
    "mmse_estimate",
    "imrt_link_moments",
    "sinr_closed_form_imrt",
    "coefficients_imrt",
    "rates_imrt",
    "sinr_large_n_imrt",
    "theorem3_margin",
]


@dataclass(frozen=True)
class PilotStatistics:
    """Second-order statistics of the pilot observations (000 eqs 43–46).

    Attributes
    ----------
    pilots : ndarray, shape (τ_p, K), complex — the pilots ψ_k (columns)
    gram : ndarray, shape (K, K), complex — gram[j, k] = ψ_j^H ψ_k
    v_inv_a : ndarray, shape (..., L, K, N), complex — V_{l,k}^{-1} a_{l,k}
    x : ndarray, shape (..., L, K, K), complex — x[..., l, j, k] = x_{l,j,k} (Theorem 2); the
        diagonal x_{l,k,k} is real in [0, 1)
    """

    pilots: np.ndarray
    gram: np.ndarray
    v_inv_a: np.ndarray
    x: np.ndarray

    @property
    def x_self(self) -> np.ndarray:
        """x_{l,k,k}, shape (..., L, K), float (000 eq 46)."""
        return np.real(np.diagonal(self.x, axis1=-2, axis2=-1))


def pilot_book(n_user: int, n_pilot: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """τ_p orthonormal pilots assigned to K users (000 eq 38); shape (n_pilot, n_user), complex.

    User k gets pilot k mod τ_p, or with ``rng`` a random permutation of that balanced assignment.

    >>> pilot_book(3, 2).real
    array([[1., 0., 1.],
           [0., 1., 0.]])
    """
    if n_pilot < 1 or n_user < 1:
        raise InputError(f"n_pilot={n_pilot}, n_user={n_user}: both must be >= 1")
    index = np.arange(n_user) % n_pilot
    if rng is not None:
        index = rng.permutation(index)
    return np.eye(n_pilot, dtype=complex)[:, index]


def _check_pilots(pilots: np.ndarray, n_user: int) -> np.ndarray:
    pilots = np.asarray(pilots, dtype=complex)
    if pilots.ndim != 2 or pilots.shape[1] != n_user:
        raise InputError(f"pilots has shape {pilots.shape}; expected (tau_p, {n_user}), one column per user")
    norms = np.linalg.norm(pilots, axis=0)
    if not np.allclose(norms, 1.0, rtol=1e-9, atol=0.0):
        raise InputError(f"pilot columns must have unit norm (000 eq 38); norms range "
                         f"{norms.min():.6g}..{norms.max():.6g}")
    return pilots


def pilot_statistics(csi: StatisticalCSI, pilots: np.ndarray, pilot_power_w: float,
                     pilot_noise_w: float) -> PilotStatistics:
    """V_{l,k}^{-1} a_{l,k} and x_{l,j,k} of the pilot observations (000 eqs 43–44, Theorem 2).

    Parameters
    ----------
    csi : StatisticalCSI — arrays (..., L, K), steering (..., L, K, N)
    pilots : ndarray, shape (τ_p, K), complex — unit-norm pilots ψ_k (see :func:`pilot_book`)
    pilot_power_w : float, W — uplink pilot power η_t
    pilot_noise_w : float, W — uplink noise power per antenna σ_n²

    Returns
    -------
    PilotStatistics
    """
    pilots = _check_pilots(pilots, csi.n_user)
    gram = np.conj(pilots.T) @ pilots
    a = csi.steering
    v = csi.v
    # V_{l,k} = c I + Σ_j w_{k,j} a_{l,j} a_{l,j}^H (000 eq 44, divided by η_t), c = σ_n²/η_t,
    # w_{k,j} = |ψ_j^H ψ_k|² v_{l,j}. With B = [a_{l,1} … a_{l,K}] (N × K) and D_k = diag(w_{k,·}),
    # V B = B (c I + D_k B^H B), so V^{-1} a_{l,k} = B (c I + D_k B^H B)^{-1} e_k: a K × K system per
    # (l, k) instead of an N × N one (N = 64 antennas, K = 10 users: ~30× less work).
    # Users whose pilots overlap every pilot alike (the users of one pilot of an orthonormal book)
    # share V_{l,k}: one system per group and satellite, K × K or N × N whichever is cheaper.
    c = pilot_noise_w / pilot_power_w
    n_user, n_ant = csi.n_user, csi.n_ant
    overlap = np.abs(gram.T) ** 2                                 # [k, j] = |ψ_j^H ψ_k|²
    _, first, group = np.unique(np.round(overlap, 12), axis=0, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    weight = v[..., None, :] * overlap[first]                     # [l, g, j] = w_{k,j} of group g at satellite l
    users = np.arange(n_user)
    if n_user <= n_ant:
        b_gram = np.conj(a) @ np.swapaxes(a, -1, -2)              # [l, j, i] = a_{l,j}^H a_{l,i}
        system = c * np.eye(n_user) + weight[..., :, :, None] * b_gram[..., None, :, :]   # (..., L, g, j, i)
        coef = np.linalg.solve(system, np.broadcast_to(np.eye(n_user), system.shape))   # column k: e_k
        coef = np.moveaxis(coef[..., group, :, users], 0, -2)    # (..., L, k, j): V^{-1} a_k = Σ_j coef a_j
        v_inv_a = coef @ a                                        # (..., L, K, N)
    else:
        cov = c * np.eye(n_ant) + np.einsum("...gj,...jn,...jm->...gnm", weight, a, np.conj(a))   # V per group
        sol = np.linalg.solve(cov, np.broadcast_to(np.swapaxes(a, -1, -2)[..., None, :, :],
                                                   cov.shape[:-1] + (n_user,)))                    # (..., L, g, N, K)
        v_inv_a = np.moveaxis(sol[..., group, :, users], 0, -2)  # (..., L, K, N)
    # x_{l,j,k} = v_{l,k} ψ_k^H ψ_j (V_{l,j}^{-1} a_{l,j})^H a_{l,k}  (V is Hermitian)
    x = (np.conj(v_inv_a) @ np.swapaxes(a, -1, -2)) * gram.T * v[..., None, :]
    return PilotStatistics(pilots=pilots, gram=gram, v_inv_a=v_inv_a, x=x)


def mmse_estimate(csi: StatisticalCSI, y_tilde: np.ndarray, stats: PilotStatistics) -> np.ndarray:
    """MMSE channel estimate ĥ_{l,k} from the projected pilots ỹ_{l,k} (000 eqs 41–42).

    Parameters
    ----------
    csi : StatisticalCSI — arrays (..., L, K)
    y_tilde : ndarray, shape (B, ..., L, K, N) or (..., L, K, N), complex — ỹ_{l,k} = Y_l ψ_k / √η (eq 39)
    stats : PilotStatistics — from :func:`pilot_statistics`

    Returns
    -------
    ndarray, same shape as ``y_tilde``, complex
    """
    a = csi.steering
    mean_h = (np.sqrt(csi.kappa * csi.v) * np.exp(1j * csi.phase_rad))[..., None] * a      # m_{l,k} a_{l,k}
    mean_y = np.einsum("jk,...ljn->...lkn", stats.gram, mean_h)                             # E{ỹ_{l,k}}
    inner = np.einsum("...n,...n->...", np.conj(stats.v_inv_a), y_tilde - mean_y)          # a^H V^{-1} (ỹ − E ỹ)
    return mean_h + (csi.v * inner)[..., None] * a


def imrt_link_moments(csi: StatisticalCSI, stats: PilotStatistics) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of h_{l,k}^H w^iMRT_{l,j} (000 eqs 68, 79); index [..., l, k, j].

    Returns
    -------
    mean : ndarray, shape (..., L, K, K), complex
    var : ndarray, shape (..., L, K, K), float
    """
    a = csi.steering
    n_ant = a.shape[-1]
    v, kappa = csi.v, csi.kappa
    x_self = stats.x_self
    cross = np.conj(a) @ np.swapaxes(a, -1, -2)                              # a_{l,k}^H a_{l,j}
    denom = np.sqrt(n_ant * (kappa + x_self))[..., None, :]                 # √(N (κ_{l,j} + x_{l,j,j}))
    phase = np.exp(1j * (csi.phase_rad[..., None, :] - csi.phase_rad[..., :, None]))
    los = phase * np.sqrt(kappa * v)[..., :, None] * np.sqrt(kappa)[..., None, :]
    est = np.sqrt(v)[..., None, :] * np.swapaxes(stats.x, -1, -2)           # √v_{l,j} x_{l,j,k} at [k, j]
    link = (v > 0)[..., None, :]                                             # w_{l,j} = 0 where v_{l,j} = 0
    mean = np.where(link, cross * (los + est) / denom, 0.0)
    spread = 1.0 + kappa[..., :, None] * (x_self / (kappa + x_self))[..., None, :]
    var = np.where(link, v[..., :, None] / n_ant * np.abs(cross) ** 2 * spread, 0.0)
    return mean, var


def sinr_closed_form_imrt(csi: StatisticalCSI, p: np.ndarray, tx_power_w: float, noise_w: float | np.ndarray,
                          pilots: np.ndarray, pilot_power_w: float, pilot_noise_w: float | None = None) -> np.ndarray:
    """Closed-form SINR of CF-mMIMO with iMRT (000 Theorem 2, eq 51 corrected).

    Parameters
    ----------
    csi : StatisticalCSI — arrays (..., L, K)
    p : ndarray, shape (..., L, K) — power weights (000 uses all satellites: L_k = L)
    tx_power_w : float, W — downlink ρ_t
    noise_w : float or ndarray, shape (...,), W — downlink σ_n²
    pilots : ndarray, shape (τ_p, K), complex — see :func:`pilot_book`
    pilot_power_w : float, W — uplink η_t
    pilot_noise_w : float, W, optional — uplink noise per antenna; defaults to ``noise_w`` (as in 000)

    Returns
    -------
    ndarray, shape (..., K), linear SINR
    """
    stats = pilot_statistics(csi, pilots, pilot_power_w, noise_w if pilot_noise_w is None else pilot_noise_w)
    mean, var = imrt_link_moments(csi, stats)
    return sinr_from_moments(mean, var, p, tx_power_w, noise_w)


def rates_imrt(csi: StatisticalCSI, p: np.ndarray, tx_power_w: float, noise_w: float | np.ndarray,
               pilots: np.ndarray, pilot_power_w: float, pilot_noise_w: float | None = None) -> np.ndarray:
    """Spectral efficiency log2(1 + SINR_k) of CF-mMIMO with iMRT in bit/s/Hz (000 eq 51); shape (..., K)."""
    return spectral_efficiency(sinr_closed_form_imrt(csi, p, tx_power_w, noise_w, pilots, pilot_power_w,
                                                     pilot_noise_w))


def coefficients_imrt(csi: StatisticalCSI, tx_power_w: float, noise_w: float | np.ndarray, pilots: np.ndarray,
                      pilot_power_w: float, pilot_noise_w: float | None = None,
                      cluster_mask: np.ndarray | None = None) -> SinrCoefficients:
    """Coefficient form of the iMRT SINR (000 eq 51 in the form of eq 27).

    b_{l,k} = √(ρ N (κ_{l,k} + x_{l,k,k}) v_{l,k}),
    c_{l,k,j} = √(ρ v_{l,k} / N (1 + κ_{l,k} x_{l,j,j} / (κ_{l,j} + x_{l,j,j}))) |a_{l,k}^H a_{l,j}|,
    d_{l,k,j} = √ρ × (eq 68 summand without p). Exact: x depends on the pilots and η_t, not on p.

    Returns
    -------
    SinrCoefficients — b (..., L, K), G (..., K, K, L + 2, L), noise = σ_n²
    """
    stats = pilot_statistics(csi, pilots, pilot_power_w, noise_w if pilot_noise_w is None else pilot_noise_w)
    mean, var = imrt_link_moments(csi, stats)
    return coefficients_from_moments(mean, var, tx_power_w, noise_w, cluster_mask)


def _large_n_x(csi: StatisticalCSI, pilot_power_w: float, pilot_noise_w: float) -> np.ndarray:
    """x_{l,k,k} = η N v / (η N v + σ²) for orthogonal steering vectors (000 eq 84)."""
    snr = pilot_power_w * csi.steering.shape[-1] * csi.v / pilot_noise_w
    return snr / (snr + 1.0)


def sinr_large_n_imrt(csi: StatisticalCSI, p: np.ndarray, tx_power_w: float, noise_w: float | np.ndarray,
                      pilot_power_w: float, pilot_noise_w: float | None = None) -> np.ndarray:
    """Large-N SINR of CF-mMIMO with iMRT (000 Proposition 1, eq 53); shape (..., K).

    SINR_k = ρ N (Σ_l p √((κ + x) v))² / (ρ N Σ_l p² (1 + κ x / (κ + x)) v + σ²), x = x_{l,k,k} of eq 84.
    """
    p = np.asarray(p, dtype=float)
    n_ant = csi.steering.shape[-1]
    x = _large_n_x(csi, pilot_power_w, noise_w if pilot_noise_w is None else pilot_noise_w)
    v, kappa = csi.v, csi.kappa
    amp = np.sum(p * np.sqrt((kappa + x) * v), axis=-2)
    spread = np.sum(p**2 * (1.0 + kappa * x / (kappa + x)) * v, axis=-2)
    noise = np.asarray(noise_w, dtype=float)[..., None]
    return tx_power_w * n_ant * amp**2 / (tx_power_w * n_ant * spread + noise)


def theorem3_margin(csi: StatisticalCSI, cluster_mask: np.ndarray, pilot_power_w: float,
                    pilot_noise_w: float) -> np.ndarray:
    """(κ_min − 3) α_min of 000 Proposition 2 / Theorem 3; the sufficient condition is margin ≥ 1.

    κ_min and α_min = min η N v_{l,k} / σ² run over the links (l, k) of the clusters.

    Parameters
    ----------
    csi : StatisticalCSI
    cluster_mask : ndarray, shape (..., L, K), bool — l ∈ L_k
    pilot_power_w, pilot_noise_w : float, W — η_t and σ_n²

    Returns
    -------
    ndarray, shape (...,)
    """
    mask = np.asarray(cluster_mask, dtype=bool)
    alpha = pilot_power_w * csi.steering.shape[-1] * csi.v / pilot_noise_w
    kappa_min = np.min(np.where(mask, csi.kappa, np.inf), axis=(-2, -1))
    alpha_min = np.min(np.where(mask, alpha, np.inf), axis=(-2, -1))
    return (kappa_min - 3.0) * alpha_min
