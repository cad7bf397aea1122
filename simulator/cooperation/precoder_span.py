"""Statistical precoders written in the span of the steering vectors they were built from.

Every statistical precoder of 000 on satellite l is a linear combination of the steering vectors
â_{l,i} of the CSI snapshot it was built from (the hat marks that snapshot, possibly stale)::

    w_{l,j} = e^{jφ̂_{l,j}} Σ_i â_{l,i} C_{l,i,j}

- sMRT (000 eq 9): C = I / √N.
- sZF (000 eq 11): u_j = (Â_l^H)^+ e_j = Â_l (Â_l^H Â_l)^+ e_j. With the SVD Â_l^H = U Σ V^H,
  Â_l U Σ^{-2} U^H = V Σ^{-1} U^H = (Â_l^H)^+, so C = U Σ^{-2} U^H with the singular values cut
  exactly as :func:`~simulator.cooperation.precoders.szf_precoders` cuts them, and
  ||u_j||² = C_{jj}.
- Statistical SLNR (You et al. 2020; :mod:`~simulator.cooperation.single`):
  u_j = (I + Â D Â^H)^{-1} â_j = Â (I + D Ĝ)^{-1} e_j by the push-through identity
  (I + Â D Â^H)^{-1} Â = Â (I + D Â^H Â)^{-1}, with D = diag(β̂_i / (σ²/ρ)) over the leakage users
  and Ĝ = Â^H Â; ||u_j||² = c_j^H Ĝ c_j.

Hence a_{l,k}^H w_{l,j} = e^{jφ̂_{l,j}} Σ_i (a_{l,k}^H â_{l,i}) C_{l,i,j}: a K × K Gram matrix of
steering vectors (closed form, :func:`~simulator.radio.steering.gram_matrix`) times C, instead
of K² inner products of length N per satellite and step.

Only the precoders that carry power enter a rate (000 eq 21 weighs w_{l,j} by p_{l,j}), and a
satellite serves at most K_max users, so :func:`span_projections` can form the columns j of
:class:`ServedColumns` alone: (..., L, K, J) with J ≤ K_max instead of (..., L, K, K). For sMRT
(diagonal C) that also shrinks the Gram matrix to K × J per satellite, which makes the
projections linear in the users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..radio.statistical_csi import StatisticalCSI
from ..radio.steering import SteeringFactors, gram_matrix
from .precoders import ZF_RCOND
from .single import DEFAULT_LEAKAGE

__all__ = ["PrecoderSpan", "ServedColumns", "served_columns", "smrt_span", "szf_span", "slnr_span",
           "span_projections"]


@dataclass(frozen=True)
class PrecoderSpan:
    """Precoders w_{l,j} = e^{jφ̂_{l,j}} Σ_i â_{l,i} C_{l,i,j} (module docstring).

    Attributes
    ----------
    factors : SteeringFactors, arrays (..., L, K) — the spanning steering vectors â_{l,i}
    coef : ndarray, shape (..., L, K, K), complex — C[l, i, j]; a zero column is "no precoder"
        (for ``diagonal`` spans only the diagonal C[l, j, j], shape (..., L, K)); with ``right``
        the left factor (..., L, K, r) of C = coef @ right
    phase_rad : ndarray, shape (..., L, K), rad — φ̂_{l,j}, the LOS phase the precoder compensates
    diagonal : bool — C is diagonal (sMRT): projections need no K × K product
    right : ndarray, shape (..., L, r, K), complex, optional — right factor of a low-rank C (sZF):
        only the columns in use are multiplied out (:meth:`coefficients`)
    """

    factors: SteeringFactors
    coef: np.ndarray
    phase_rad: np.ndarray
    diagonal: bool
    right: np.ndarray | None = None

    def coefficients(self, columns: "ServedColumns | None" = None) -> np.ndarray:
        """C (..., L, K, K) — or its columns j = columns.index[l, m], (..., L, K, J) — (diagonal
        spans: (..., L, K) or (..., L, J))."""
        if self.diagonal:
            return self.coef if columns is None else columns.take(self.coef)
        right = self.right
        if right is None:
            return self.coef if columns is None else columns.take_last(self.coef)
        return self.coef @ (right if columns is None else columns.take_last(right))


@dataclass(frozen=True)
class ServedColumns:
    """The users each satellite serves, padded to a common count: column m of satellite l is user
    ``index[l, m]``; ``valid[l, m]`` is False on padding (which repeats a served user, or user 0).

    Attributes
    ----------
    index : ndarray, shape (L, J), int — served user of each (satellite, column)
    valid : ndarray, shape (L, J), bool — the column is a served user, not padding
    n_user : int — K, the users of the full problem
    """

    index: np.ndarray
    valid: np.ndarray
    n_user: int

    @property
    def width(self) -> int:
        """J, the columns per satellite (the most users any satellite serves)."""
        return int(self.index.shape[-1])

    def take(self, x: np.ndarray) -> np.ndarray:
        """x[..., l, index[l, m]] for x of shape (..., L, K): shape (..., L, J)."""
        x = np.asarray(x)
        return np.take_along_axis(x, np.broadcast_to(self.index, x.shape[:-1] + (self.width,)), axis=-1)

    def take_last(self, x: np.ndarray) -> np.ndarray:
        """x[..., l, i, index[l, m]] for x of shape (..., L, K', K): shape (..., L, K', J)."""
        index = np.broadcast_to(self.index[:, None, :], x.shape[:-1] + (self.width,))
        return np.take_along_axis(x, index, axis=-1)


def served_columns(mask: np.ndarray) -> ServedColumns:
    """:class:`ServedColumns` of a link mask (L, K), or (T, L, K) (the union over the steps is kept).

    Users are listed in increasing order per satellite; padding repeats the satellite's first
    served user (user 0 when it serves nobody) and is marked invalid.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim == 3:
        mask = mask.any(axis=0)
    n_sat, n_user = mask.shape
    count = mask.sum(axis=-1)
    width = max(1, int(count.max(initial=0)))
    order = np.argsort(~mask, axis=-1, kind="stable")[:, :width]           # served users first, in order
    valid = np.arange(width)[None, :] < count[:, None]
    index = np.where(valid, order, order[:, :1])
    return ServedColumns(index=index.astype(np.int64), valid=valid, n_user=int(n_user))


def smrt_span(csi: StatisticalCSI, factors: SteeringFactors, served: np.ndarray | None = None) -> PrecoderSpan:
    """sMRT w = e^{jφ} a / √N (000 eq 9) as a span; ``served`` (..., L, K) bool zeroes the other links."""
    coef = np.full(csi.beta.shape, 1.0 / np.sqrt(csi.n_ant))
    if served is not None:
        coef = coef * np.asarray(served, dtype=bool)
    return PrecoderSpan(factors, coef.astype(complex), csi.phase_rad, diagonal=True)


def szf_span(csi: StatisticalCSI, factors: SteeringFactors, stacked: np.ndarray | None = None,
             rcond: float = ZF_RCOND) -> PrecoderSpan:
    """sZF u_j = (Â^H)^+ e_j (000 eq 11) as a span: C = U Σ^{-2} U^H / √C_jj from the SVD of Â^H.

    C is kept as its factors U Σ^{-2} and U^H / √C_jj (C_jj = Σ_r |U_jr|² σ_r^{-2}): forming the
    K × K product costs L K² r, while the rates need only the columns of the served users
    (:meth:`PrecoderSpan.coefficients`).

    Parameters
    ----------
    csi : StatisticalCSI — steering (..., L, K, N), phase_rad
    factors : SteeringFactors, arrays (..., L, K) — of ``csi``'s steering vectors
    stacked : ndarray, shape (..., L, K), bool, optional — users stacked in A_l (None: all, 000 eq 11)
    rcond : float — relative singular-value cut-off, as in :func:`~simulator.cooperation.precoders.szf_precoders`

    Returns
    -------
    PrecoderSpan
    """
    a_h = np.conj(csi.steering)                                   # Â^H per satellite: (..., L, K, N)
    if stacked is not None:
        a_h = a_h * np.asarray(stacked, dtype=bool)[..., None]
    u, s, _ = np.linalg.svd(a_h, full_matrices=False)             # u (..., L, K, r), s (..., L, r)
    keep = s > rcond * s.max(axis=-1, keepdims=True)
    inv_sq = np.divide(1.0, s**2, out=np.zeros(s.shape), where=keep)
    left = u * inv_sq[..., None, :]                                           # U Σ^{-2}
    norm_sq = np.einsum("...jr,...r->...j", u.real**2 + u.imag**2, inv_sq)    # ||u_j||² = C_jj
    scale = np.divide(1.0, np.sqrt(norm_sq), out=np.zeros(norm_sq.shape), where=norm_sq > 0)
    right = np.conj(np.swapaxes(u, -1, -2)) * scale[..., None, :]             # U^H / √C_jj
    return PrecoderSpan(factors, left, csi.phase_rad, diagonal=False, right=right)


def slnr_span(csi: StatisticalCSI, factors: SteeringFactors, served: np.ndarray, tx_power_w: float,
              noise_w: float | np.ndarray, leakage: str = DEFAULT_LEAKAGE) -> PrecoderSpan:
    """Statistical SLNR u_j = Â (I + D Ĝ)^{-1} e_j as a span (module docstring; You et al. 2020).

    Only the served columns are formed, through the N × N side of the push-through identity:
    with u_j = (I_N + Â D Â^H)^{-1} â_j (one N × N factorisation per satellite),
    (I + D Ĝ)^{-1} e_j = e_j − D Â^H u_j (Woodbury) and ||Â c_j||² = ||u_j||². Cost per satellite
    N³ + N² K, plus K N per served column: linear in the users but for the K × K output itself,
    where the K × K solve with K right-hand sides of every satellite cost L K³. The unserved
    columns are zero ("no precoder"), as before.

    Parameters
    ----------
    csi : StatisticalCSI — beta, phase_rad (..., L, K), steering (..., L, K, N)
    factors : SteeringFactors, arrays (..., L, K) — of ``csi``'s steering vectors
    served : ndarray, shape (..., L, K), bool — links (s_k, k); the others get no precoder
    tx_power_w : float, W — ρ_t
    noise_w : float or ndarray, shape (...,), W — σ_n²
    leakage : 'all' (D over every user, default) or 'served' (over the users of satellite l)

    Returns
    -------
    PrecoderSpan — coef (..., L, K, K)
    """
    alpha = np.asarray(noise_w, dtype=float) / float(tx_power_w)
    shape = np.broadcast_shapes(np.shape(served), csi.beta.shape)             # (..., L, K)
    served = np.broadcast_to(np.asarray(served, dtype=bool), shape)
    weight = csi.beta if leakage == "all" else csi.beta * served
    weight = np.broadcast_to(weight / alpha[..., None, None], shape)          # D = diag(β̂ / (σ²/ρ))
    n_user, n_ant = shape[-1], csi.n_ant
    a = np.broadcast_to(csi.steering, shape + (n_ant,)).reshape(-1, n_user, n_ant)   # Â^T per satellite
    coef = np.zeros(shape + (n_user,), dtype=complex)
    flat, srv = coef.reshape(-1, n_user, n_user), served.reshape(-1, n_user)
    blocks = np.flatnonzero(srv.any(axis=1))                                  # satellites (and steps) serving
    if blocks.size:
        w = weight.reshape(-1, n_user)[blocks]
        cov = np.swapaxes(w[..., None] * a[blocks], -1, -2) @ np.conj(a[blocks]) + np.eye(n_ant)   # I_N + Â D Â^H
        u = np.linalg.solve(cov, np.swapaxes(a[blocks], -1, -2))             # u_j, (B, N, K)
        for i, blk in enumerate(blocks):
            cols = np.flatnonzero(srv[blk])
            u_j = u[i][:, cols]                                              # (N, K_l)
            c = -w[i][:, None] * (np.conj(a[blk]) @ u_j)                     # −D Â^H u_j
            c[cols, np.arange(cols.size)] += 1.0                             # + e_j
            norm_sq = np.sum(u_j.real**2 + u_j.imag**2, axis=0)               # ||Â c_j||² = ||u_j||²
            scale = np.divide(1.0, np.sqrt(norm_sq), out=np.zeros(norm_sq.shape), where=norm_sq > 0)
            flat[blk][:, cols] = c * scale
    return PrecoderSpan(factors, coef, csi.phase_rad, diagonal=False)


def span_projections(true_factors: SteeringFactors, span: PrecoderSpan,
                     columns: ServedColumns | None = None) -> np.ndarray:
    """a_{l,k}^H w_{l,j} for true steering vectors a and span precoders w (module docstring).

    Parameters
    ----------
    true_factors : SteeringFactors, arrays (..., L, K) — the channels' steering vectors a_{l,k}
    span : PrecoderSpan — arrays (L, K[, K]) (one snapshot, broadcast) or (..., L, K[, K])
    columns : ServedColumns, optional — form only the precoders j = columns.index[l, m]

    Returns
    -------
    ndarray, shape (..., L, K, K), complex — index [l, k, j]; with ``columns`` (..., L, K, J),
    index [l, k, m] for j = columns.index[l, m]
    """
    phase, coef = span.phase_rad, span.coefficients(columns)
    if columns is not None:
        phase = columns.take(phase)
    phasor = np.exp(1j * phase)
    if span.diagonal:
        own = span.factors
        if columns is not None:                                             # only the served â_j
            lead = np.shape(own.cos_h)[:-1]
            index = np.broadcast_to(columns.index, lead + (columns.width,))
            own = SteeringFactors(*(np.take_along_axis(x, index, axis=-1) for x in own[:5]), own.n_h, own.n_v)
        return gram_matrix(true_factors, own) * (coef * phasor)[..., None, :]
    gram = gram_matrix(true_factors, span.factors)                          # [l, k, i] = a_k^H â_i
    return (gram @ coef) * phasor[..., None, :]
