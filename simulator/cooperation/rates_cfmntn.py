"""Closed-form downlink rates of CF-mNTN with sMRT and sZF (000 Theorem 1, eqs 21–22, 27–28, 52).

Every scheme here (and iMRT in :mod:`~simulator.cooperation.rates_cfmmimo`) is reduced to the
*link moments* of the effective gains h_{l,k}^H w_{l,j}::

    mean[..., l, k, j] = E{h_{l,k}^H w_{l,j}},   var[..., l, k, j] = V{h_{l,k}^H w_{l,j}}

Gains of different satellites are independent, so with power weights p (..., L, K) the SINR of the
use-and-then-forget bound 000 eq 21 is::

    SINR_k = ρ |Σ_l p_{l,k} mean_{l,k,k}|² /
             (ρ Σ_j Σ_l p_{l,j}² var_{l,k,j} + ρ Σ_{j≠k} |Σ_l p_{l,j} mean_{l,k,j}|² + σ²)

For a deterministic precoder w and h_{l,k} = g_{l,k} a_{l,k}, g ~ CN(m, v), m = √(κv) e^{jφ}
(000 eqs 8, 59–60): mean = m_{l,k}^* a_{l,k}^H w_{l,j}, var = v_{l,k} |a_{l,k}^H w_{l,j}|²
(000 eqs 65–66). Substituting sMRT/sZF gives 000 eq 22 with the corrections listed in
``docs/paper-notes.md`` (the missing ρ/N on the sMRT interference term, among others).

Spectral efficiency is ``log2(1 + SINR)`` in bit/s/Hz.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import InputError
from ..radio.statistical_csi import StatisticalCSI
from .coefficients import SinrCoefficients
from .precoders import smrt_precoders, szf_precoders

if TYPE_CHECKING:
    from .precoder_span import ServedColumns

__all__ = [
    "link_moments",
    "moments_from_projections",
    "sinr_from_moments",
    "sinr_from_column_moments",
    "coefficients_from_moments",
    "MomentCoefficients",
    "dense_g",
    "statistical_precoders",
    "sinr_closed_form",
    "coefficients",
    "rates",
    "sinr_large_n",
    "spectral_efficiency",
]

Precoder = Literal["smrt", "szf"]
ZfUsers = Literal["all", "cluster"]


def spectral_efficiency(sinr: np.ndarray) -> np.ndarray:
    """Spectral efficiency log2(1 + SINR) in bit/s/Hz (000 eq 21).

    >>> float(spectral_efficiency(np.array(3.0)))
    2.0
    """
    return np.log2(1.0 + np.asarray(sinr, dtype=float))


def link_moments(csi: StatisticalCSI, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of h_{l,k}^H w_{l,j} for deterministic precoders (000 eqs 65–66).

    Parameters
    ----------
    csi : StatisticalCSI — arrays (..., L, K), steering (..., L, K, N)
    w : ndarray, shape (..., L, K, N), complex — precoder of satellite l for user j

    Returns
    -------
    mean : ndarray, shape (..., L, K, K), complex — mean[l, k, j] = m_{l,k}^* a_{l,k}^H w_{l,j}
    var : ndarray, shape (..., L, K, K), float — var[l, k, j] = v_{l,k} |a_{l,k}^H w_{l,j}|²
    """
    return moments_from_projections(csi, np.conj(csi.steering) @ np.swapaxes(w, -1, -2))


def moments_from_projections(csi: StatisticalCSI, proj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Link moments (000 eqs 65–66) from the projections proj[..., l, k, j] = a_{l,k}^H w_{l,j}.

    The precoders w may come from another (stale) CSI snapshot than ``csi``, which holds the true
    statistics of the channels h_{l,k} = g_{l,k} a_{l,k}, g ~ CN(m, v) (000 eqs 8, 59–60).

    Returns
    -------
    mean : ndarray, shape (..., L, K, K), complex — m_{l,k}^* proj[l, k, j]
    var : ndarray, shape (..., L, K, K), float — v_{l,k} |proj[l, k, j]|²
    """
    v = csi.v
    m = np.sqrt(csi.kappa * v) * np.exp(1j * csi.phase_rad)         # 000 eq 60
    return np.conj(m)[..., None] * proj, v[..., None] * (proj.real**2 + proj.imag**2)


def sinr_from_moments(mean: np.ndarray, var: np.ndarray, p: np.ndarray, tx_power_w: float,
                      noise_w: float | np.ndarray) -> np.ndarray:
    """SINR_k of 000 eq 21 (and eq 47) from the link moments; see the module docstring.

    Parameters
    ----------
    mean, var : ndarray, shape (..., L, K, K) — link moments, index [l, k, j]
    p : ndarray, shape (..., L, K) — power weights p_{l,j} (zero outside the clusters)
    tx_power_w : float, W — satellite transmit power ρ_t
    noise_w : float or ndarray, shape (...,), W — noise power σ_n²

    Returns
    -------
    ndarray, shape (..., K), linear
    """
    p = np.asarray(p, dtype=float)
    amp = np.einsum("...lkj,...lj->...kj", mean, p)                 # Σ_l p_{l,j} mean_{l,k,j}
    signal = np.abs(np.diagonal(amp, axis1=-2, axis2=-1)) ** 2
    spread = np.einsum("...lkj,...lj->...k", var, p**2)
    cross = np.sum(np.abs(amp) ** 2, axis=-1) - signal
    noise = np.asarray(noise_w, dtype=float)[..., None]
    return tx_power_w * signal / (tx_power_w * (spread + cross) + noise)


def sinr_from_column_moments(mean: np.ndarray, var: np.ndarray, p: np.ndarray, columns: "ServedColumns",
                             tx_power_w: float, noise_w: float | np.ndarray) -> np.ndarray:
    """:func:`sinr_from_moments` (000 eq 21) from the moments of the served precoders only.

    Column m of satellite l holds precoder j = columns.index[l, m]
    (:func:`~simulator.cooperation.precoder_span.served_columns`); every precoder with
    p_{l,j} > 0 must be among the valid columns. The coherent sums Σ_l p_{l,j} mean_{l,k,j} are
    gathered per user j from the (l, m) columns that hold it, so the work is L·K·J with J the most
    users of a satellite (≤ K_max) instead of L·K·K; the result equals :func:`sinr_from_moments`
    to rounding.

    Parameters
    ----------
    mean, var : ndarray, shape (..., L, K, J) — link moments, index [l, k, m]
    p : ndarray, shape (..., L, K) — power weights p_{l,j} (zero outside the clusters)
    columns : ServedColumns — the (L, J) precoder index of the moments
    tx_power_w : float, W — ρ_t
    noise_w : float or ndarray, shape (...,), W — σ_n²

    Returns
    -------
    ndarray, shape (..., K), linear
    """
    n_user = mean.shape[-2]
    weight = np.where(columns.valid, columns.take(np.asarray(p, dtype=float)), 0.0)   # (..., L, J)
    spread = np.einsum("...lkm,...lm->...k", var, weight**2)
    terms = np.swapaxes(mean * weight[..., None, :], -3, -2)                  # (..., K, L, J)
    terms = terms.reshape(terms.shape[:-2] + (-1,))                           # columns (l, m) flattened
    target = np.where(columns.valid, columns.index, -1).ravel()
    order = np.argsort(target, kind="stable")
    order = order[target[order] >= 0]                                         # padding adds nothing
    if not order.size:                                                        # no precoder at all
        return np.zeros(spread.shape)
    users, starts = np.unique(target[order], return_index=True)
    amp = np.add.reduceat(terms[..., order], starts, axis=-1)                 # (..., K, U'): Σ_l p mean
    power = amp.real**2 + amp.imag**2
    signal = np.zeros(power.shape[:-2] + (n_user,))
    signal[..., users] = power[..., users, np.arange(users.size)]
    cross = np.sum(power, axis=-1) - signal
    noise = np.asarray(noise_w, dtype=float)[..., None]
    return tx_power_w * signal / (tx_power_w * (spread + cross) + noise)


def coefficients_from_moments(mean: np.ndarray, var: np.ndarray, tx_power_w: float, noise_w: float | np.ndarray,
                              cluster_mask: np.ndarray | None = None) -> SinrCoefficients:
    """Coefficient form b, G of 000 eqs 27–28 (user index of the C term corrected to j) from link moments.

    b_{l,k} = √ρ mean_{l,k,k} (real and ≥ 0 for phase-compensated precoders);
    G[k, j] = [diag(c_{·,k,j}); Re d_{·,k,j}; Im d_{·,k,j}] of shape (L + 2, L) with
    c_{l,k,j} = √(ρ var_{l,k,j}) and d_{l,k,j} = √ρ mean_{l,k,j} for j ≠ k (0 for j = k), so that
    :func:`~simulator.cooperation.coefficients.sinr` equals :func:`sinr_from_moments`.

    Parameters
    ----------
    mean, var : ndarray, shape (..., L, K, K) — link moments, index [l, k, j]
    tx_power_w : float, W
    noise_w : float or ndarray, shape (...,), W
    cluster_mask : ndarray, shape (..., L, K), bool, optional — l ∈ L_k; coefficients of (l, k)
        outside the clusters are zeroed, so any p gives the SINR of p restricted to the clusters

    Returns
    -------
    MomentCoefficients — b (..., L, K), G (..., K, K, L + 2, L) (built when read), noise
    """
    n_user = mean.shape[-1]
    amp = np.sqrt(tx_power_w) * mean
    b = np.real(np.diagonal(amp, axis1=-2, axis2=-1))               # diagonal of [l, k, k] -> (..., L, K)
    off = 1.0 - np.eye(n_user)
    c = np.moveaxis(np.sqrt(tx_power_w * var), -3, -1)             # (..., K, K, L)
    d = np.moveaxis(amp * off, -3, -1)
    if cluster_mask is not None:
        mask = np.asarray(cluster_mask, dtype=float)
        b = b * mask
        column = np.swapaxes(mask, -1, -2)[..., None, :, :]          # column l of G[k, j] times 1{l ∈ L_j}
        c, d = c * column, d * column
    return MomentCoefficients(b=b, c=c, d=d, noise=noise_w)


class MomentCoefficients(SinrCoefficients):
    """:class:`~.coefficients.SinrCoefficients` kept in the link-moment form of eq 28.

    G[k, j] = [diag(c[k, j]); Re d[k, j]; Im d[k, j]] holds (L + 2) L numbers per pair of users of
    which 3 L can be nonzero; here only c and d are stored (3 K² L numbers instead of K² (L + 2) L)
    and the dense G is built, once, when it is first read (the cone programs of :mod:`.socp`).
    The first-order path (:class:`~.firstorder.LinkSinr`) reads c and d directly.

    Attributes
    ----------
    b : ndarray, shape (..., L, K)
    c : ndarray, shape (..., K, K, L), float — c[k, j, l] = c_{l,k,j} ≥ 0
    d : ndarray, shape (..., K, K, L), complex — d[k, j, l] = d_{l,k,j}; None: no d rows (G[k, j] =
        diag(c[k, j]), shape (..., K, K, L, L), the form of :func:`~.coefficients.phase_averaged`)
    noise : float or ndarray, shape (...,)
    """

    def __init__(self, b: np.ndarray, c: np.ndarray, d: np.ndarray | None, noise: float | np.ndarray) -> None:
        for name, value in (("b", b), ("c", c), ("d", d), ("noise", noise)):
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> np.ndarray:
        if name != "G":
            raise AttributeError(name)
        G = dense_g(self.c, self.d)
        object.__setattr__(self, "G", G)
        return G

    def phase_averaged(self) -> "MomentCoefficients":
        """:func:`~.coefficients.phase_averaged` in this form: column l of G[k, j] has norm
        sqrt(c² + |d|²), which becomes the new c; d vanishes."""
        c = np.asarray(self.c, dtype=float)
        if self.d is not None:
            c = np.sqrt(c**2 + np.abs(self.d) ** 2)
        return MomentCoefficients(b=self.b, c=c, d=None, noise=self.noise)

    @property
    def g_shape(self) -> tuple[int, ...]:
        """Shape of the dense G, (..., K, K, L + 2, L), without building it."""
        n_sat = self.c.shape[-1]
        return self.c.shape[:-1] + (n_sat + (0 if self.d is None else 2), n_sat)


def dense_g(c: np.ndarray, d: np.ndarray | None) -> np.ndarray:
    """G[..., k, j] = [diag(c[k, j]); Re d[k, j]; Im d[k, j]] (000 eq 28), shape (..., K, K, L + 2, L);
    diag(c[k, j]) alone, (..., K, K, L, L), when ``d`` is None."""
    n_sat = c.shape[-1]
    G = np.zeros(c.shape[:-1] + (n_sat + (0 if d is None else 2), n_sat))
    idx = np.arange(n_sat)
    G[..., idx, idx] = c
    if d is not None:
        G[..., n_sat, :] = np.real(d)
        G[..., n_sat + 1, :] = np.imag(d)
    return G


def statistical_precoders(csi: StatisticalCSI, precoder: Precoder, cluster_mask: np.ndarray | None = None,
              zf_users: ZfUsers = "all") -> np.ndarray:
    """Statistical precoders of a scheme: sMRT (000 eq 9) or sZF (eq 11); shape (..., L, K, N).

    ``zf_users='all'`` stacks all K users in A_l (000 eq 11); ``'cluster'`` stacks only K_l, taken
    from ``cluster_mask`` (required then). sMRT ignores both.
    """
    if precoder == "smrt":
        return smrt_precoders(csi)
    if precoder != "szf":
        raise InputError(f"precoder={precoder!r} is not one of 'smrt', 'szf'")
    if zf_users == "all":
        return szf_precoders(csi)
    if zf_users != "cluster":
        raise InputError(f"zf_users={zf_users!r} is not one of 'all', 'cluster'")
    if cluster_mask is None:
        raise InputError("zf_users='cluster' needs cluster_mask (..., L, K) naming the users of each satellite")
    return szf_precoders(csi, served=cluster_mask)


def sinr_closed_form(csi: StatisticalCSI, precoder: Precoder, p: np.ndarray, tx_power_w: float,
                     noise_w: float | np.ndarray, zf_users: ZfUsers = "all") -> np.ndarray:
    """Closed-form SINR of CF-mNTN (000 Theorem 1, eq 22 corrected; general form eqs 21, 65–66).

    Parameters
    ----------
    csi : StatisticalCSI — arrays (..., L, K), steering (..., L, K, N)
    precoder : 'smrt' or 'szf'
    p : ndarray, shape (..., L, K) — power weights, zero outside the clusters (L_k = {l : p_{l,k} > 0},
        000 eq 25); Σ_k p_{l,k}² ≤ 1 is the caller's power constraint (000 eq 14)
    tx_power_w : float, W — ρ_t
    noise_w : float or ndarray, shape (...,), W — σ_n²
    zf_users : 'all' (000 eq 11) or 'cluster' (A_l holds K_l = {k : p_{l,k} > 0}); sZF only

    Returns
    -------
    ndarray, shape (..., K), linear SINR
    """
    mask = np.asarray(p) > 0 if zf_users == "cluster" else None
    mean, var = link_moments(csi, statistical_precoders(csi, precoder, mask, zf_users))
    return sinr_from_moments(mean, var, p, tx_power_w, noise_w)


def rates(csi: StatisticalCSI, precoder: Precoder, p: np.ndarray, tx_power_w: float,
          noise_w: float | np.ndarray, zf_users: ZfUsers = "all") -> np.ndarray:
    """Spectral efficiency R_k = log2(1 + SINR_k) of CF-mNTN in bit/s/Hz (000 eq 22); shape (..., K).

    Arguments as :func:`sinr_closed_form`.
    """
    return spectral_efficiency(sinr_closed_form(csi, precoder, p, tx_power_w, noise_w, zf_users))


def coefficients(csi: StatisticalCSI, precoder: Precoder, tx_power_w: float, noise_w: float | np.ndarray,
                 cluster_mask: np.ndarray | None = None, zf_users: ZfUsers = "all") -> SinrCoefficients:
    """Coefficient form of the Theorem-1 SINR for power allocation (000 eqs 27–28, corrected).

    ``sinr(coefficients(csi, precoder, ρ, σ², mask), p)`` equals
    ``sinr_closed_form(csi, precoder, p * mask, ρ, σ²)`` for every p. For sMRT,
    b_{l,k} = √(ρ N κ_{l,k} v_{l,k}), c_{l,k,j} = √(ρ v_{l,k} / N) |a_{l,k}^H a_{l,j}|,
    d_{l,k,j} = √(ρ κ_{l,k} v_{l,k} / N) e^{j(φ_{l,j} − φ_{l,k})} a_{l,k}^H a_{l,j}; for sZF with full
    rank, b_{l,k} = √(ρ κ v) / ||u_{l,k}||, c_{l,k,k} = √(ρ v) / ||u_{l,k}|| and the rest vanish.

    Parameters
    ----------
    csi : StatisticalCSI
    precoder : 'smrt' or 'szf'
    tx_power_w : float, W
    noise_w : float or ndarray, shape (...,), W
    cluster_mask : ndarray, shape (..., L, K), bool, optional — None: every satellite may serve
        every user; with ``zf_users='cluster'`` it also selects the users stacked in A_l, and the
        coefficients are then valid only for p supported in the mask
    zf_users : 'all' or 'cluster' — see :func:`statistical_precoders`

    Returns
    -------
    SinrCoefficients — b (..., L, K), G (..., K, K, L + 2, L), noise = σ_n²
    """
    mean, var = link_moments(csi, statistical_precoders(csi, precoder, cluster_mask, zf_users))
    return coefficients_from_moments(mean, var, tx_power_w, noise_w, cluster_mask)


def sinr_large_n(csi: StatisticalCSI, p: np.ndarray, tx_power_w: float, noise_w: float | np.ndarray) -> np.ndarray:
    """Large-N SINR of CF-mNTN, sMRT and sZF alike (000 Proposition 1, eq 52).

    SINR_k = ρ N (Σ_l p_{l,k} √(κ_{l,k} v_{l,k}))² / (ρ N Σ_l p_{l,k}² v_{l,k} + σ²), the limit of
    eq 22 when the steering vectors of distinct users are orthogonal, |a_{l,k}^H a_{l,j}| = N δ_{k,j}.

    Returns
    -------
    ndarray, shape (..., K), linear
    """
    p = np.asarray(p, dtype=float)
    n_ant = csi.steering.shape[-1]
    v = csi.v
    amp = np.sum(p * np.sqrt(csi.kappa * v), axis=-2)
    spread = np.sum(p**2 * v, axis=-2)
    noise = np.asarray(noise_w, dtype=float)[..., None]
    return tx_power_w * n_ant * amp**2 / (tx_power_w * n_ant * spread + noise)
