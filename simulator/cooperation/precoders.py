"""Downlink precoders of CF-mNTN (sMRT, sZF; 000 eqs 9–12) and CF-mMIMO (iMRT; 000 eqs 45–46).

Every function is vectorised over the leading axes ``(..., S, U)`` of a
:class:`~simulator.radio.statistical_csi.StatisticalCSI` snapshot or block and returns precoding
vectors ``w[..., l, k, :]`` of unit norm (000 eq 13), or the zero vector where satellite ``l`` has
no precoder for user ``k`` (not served, or no channel to estimate).

Conventions (see ``docs/rates.md``):

- sMRT and sZF carry the LOS phase compensation e^{jφ_{l,k}} (000 eq 9). 000's printed sZF
  (eq 11) omits it, but its closed form (eq 22) adds the satellites' mean gains coherently, which
  only holds with the compensation; it does not change the nulling (docs/paper-notes.md).
- sZF nulls towards the users stacked in A_l. 000 eq 11 stacks **all K users**
  (``served=None``), so every satellite nulls towards every other user whether it serves them or
  not, and the precoders do not depend on the clusters. With ``served`` only the users of K_l are
  stacked (the precoders then change with the clusters, and users outside K_l still receive
  interference from satellite l).
- When the stacked steering vectors are rank deficient (|K_l| > N, or collinear users) A(A^H A)^{-1}
  does not exist; the Moore–Penrose pseudo-inverse (A^H)^+ is used instead, which equals
  A(A^H A)^{-1} at full column rank. Nulling is then partial: a_{l,j}^H w_{l,k} ∝ [A^H (A^H)^+]_{j,k},
  the (j, k) entry of the projector onto the range of A^H. The closed forms in
  :mod:`~simulator.cooperation.rates_cfmntn` use the actual precoders, so they stay exact.
"""

from __future__ import annotations

import numpy as np

from ..radio.statistical_csi import StatisticalCSI

__all__ = ["smrt_precoders", "szf_precoders", "imrt_precoders", "ZF_RCOND"]

#: Singular values of A_l^H below ZF_RCOND × the largest one are treated as zero in the sZF
#: pseudo-inverse: the stacked steering vectors then count as rank deficient (collinear users).
ZF_RCOND = 1e-10


def smrt_precoders(csi: StatisticalCSI) -> np.ndarray:
    """Statistical MRT w_{l,k} = e^{jφ_{l,k}} a_{l,k} / √N (000 eq 9).

    Parameters
    ----------
    csi : StatisticalCSI — steering (..., S, U, N), phase_rad (..., S, U)

    Returns
    -------
    ndarray, shape (..., S, U, N), complex — unit-norm precoders (UPA entries have unit modulus)
    """
    n_ant = csi.steering.shape[-1]
    return np.exp(1j * csi.phase_rad)[..., None] * csi.steering / np.sqrt(n_ant)


def szf_precoders(csi: StatisticalCSI, served: np.ndarray | None = None,
                  rcond: float = ZF_RCOND) -> np.ndarray:
    """Statistical ZF w_{l,k} = e^{jφ_{l,k}} u_{l,k} / ||u_{l,k}||, u_{l,k} = A_l (A_l^H A_l)^{-1} e_k (000 eq 11).

    Parameters
    ----------
    csi : StatisticalCSI — steering (..., S, U, N), phase_rad (..., S, U)
    served : ndarray, shape (..., S, U), bool, optional — users stacked in A_l of each satellite
        (K_l). None stacks all K users, as 000 eq 11 does. Users not served get the zero vector.
    rcond : float — relative singular-value cut-off of the pseudo-inverse (A_l^H)^+ (module doc)

    Returns
    -------
    ndarray, shape (..., S, U, N), complex — unit-norm precoders, zero where not served

    Notes
    -----
    With full column rank, a_{l,j}^H w_{l,k} = δ_{jk} / ||u_{l,k}|| for every stacked user j
    (000 eq 12): satellite l puts no LOS-direction power towards the other stacked users.
    """
    a = csi.steering
    if served is not None:
        a = a * np.asarray(served, dtype=bool)[..., None]
    u = np.linalg.pinv(np.conj(a), rcond=rcond)          # (A^H)^+ per satellite: (..., S, N, U)
    u = np.swapaxes(u, -1, -2)                             # u[..., l, k, :] = (A_l^H)^+ e_k
    norm = np.linalg.norm(u, axis=-1)
    scale = np.divide(np.exp(1j * csi.phase_rad), norm, out=np.zeros(norm.shape, complex), where=norm > 0)
    return scale[..., None] * u


def imrt_precoders(h_hat: np.ndarray, v: np.ndarray, kappa: np.ndarray, x_self: np.ndarray) -> np.ndarray:
    """Instantaneous MRT w_{l,k} = ĥ_{l,k} / √E||ĥ_{l,k}||² = ĥ_{l,k} / √(N (κ + x_{l,k,k}) v) (000 eqs 45–46).

    Parameters
    ----------
    h_hat : ndarray, shape (..., S, U, N), complex — MMSE channel estimates (000 eq 42)
    v : ndarray, shape (..., S, U), linear — v_{l,k} = β_{l,k} / (κ_{l,k} + 1) (000 eq 6)
    kappa : ndarray, shape (..., S, U), linear — Rician K-factor
    x_self : ndarray, shape (..., S, U), linear — x_{l,k,k} = v_{l,k} a^H V_{l,k}^{-1} a (000 eq 46)

    Returns
    -------
    ndarray, shape (..., S, U, N), complex — E||w||² = 1; zero where v = 0 (no link, nothing estimated)
    """
    n_ant = h_hat.shape[-1]
    power = n_ant * (kappa + x_self) * v
    scale = np.divide(1.0, np.sqrt(power), out=np.zeros(np.shape(power)), where=power > 0)
    return scale[..., None] * h_hat
