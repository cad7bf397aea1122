"""The coefficient form of a downlink SINR: the seam between rate formulas and optimisers.

Every scheme whose SINR is a ratio of a squared linear form to a sum of squared norms of the power
weights can be written as (000 eq 27, with the user index of the C term corrected to j — see
docs/paper-notes.md)::

    SINR_k(p) = (b_k^T p_k)^2 / (sum_j ||G_{k,j} p_j||_2^2 + noise)

where ``p_j`` (length L) holds the power weights p_{l,j} of user j over satellites l. For sMRT,
``G_{k,j}`` stacks diag(c_{·,k,j}) over the rows Re/Im of d_{·,k,j} (000 eq 28); for sZF only the
diagonal part of j = k remains. The optimisers of ``cooperation`` only ever see this form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SinrCoefficients", "signal_and_interference", "sinr", "phase_averaged"]


@dataclass(frozen=True)
class SinrCoefficients:
    """Coefficients of SINR_k(p) = (b_k^T p_k)^2 / (sum_j ||G[k, j] p_j||^2 + noise) (000 eq 27).

    Attributes
    ----------
    b : ndarray, shape (..., L, K), float — b[l, k] = b_{l,k}, desired-signal amplitude coefficients
    G : ndarray, shape (..., K, K, M, L), float — G[k, j] multiplies user j's power weights in user k's
        denominator (self-interference/beamforming uncertainty for j = k, inter-user interference else)
    noise : float or ndarray, shape (...,) — noise power in the same (linear) unit as b**2
    """

    b: np.ndarray
    G: np.ndarray
    noise: float | np.ndarray

    @property
    def n_sat(self) -> int:
        return int(self.b.shape[-2])

    @property
    def n_user(self) -> int:
        return int(self.b.shape[-1])


def signal_and_interference(coeffs: SinrCoefficients, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numerator (b_k^T p_k)^2 and denominator of SINR_k for power weights ``p``.

    Parameters
    ----------
    coeffs : SinrCoefficients
    p : ndarray, shape (..., L, K) — power weights p[l, k] >= 0 (zero outside the clusters)

    Returns
    -------
    signal, interference_plus_noise : ndarray, shape (..., K)
    """
    p = np.asarray(p, dtype=float)
    amp = np.einsum("...lk,...lk->...k", coeffs.b, p)
    proj = np.einsum("...kjml,...lj->...kjm", coeffs.G, p)
    interf = np.einsum("...kjm,...kjm->...k", proj, proj)
    return amp**2, interf + np.asarray(coeffs.noise, dtype=float)[..., None]


def sinr(coeffs: SinrCoefficients, p: np.ndarray) -> np.ndarray:
    """SINR_k (linear) of every user for power weights ``p`` (000 eq 27); shape (..., K).

    >>> c = SinrCoefficients(b=np.ones((1, 1)), G=np.zeros((1, 1, 1, 1)), noise=0.5)
    >>> sinr(c, np.ones((1, 1)))
    array([2.])
    """
    num, den = signal_and_interference(coeffs, p)
    return num / den


def phase_averaged(coeffs: SinrCoefficients) -> SinrCoefficients:
    """The same SINR with the interference averaged over independent per-satellite phases.

    Column l of ``G[k, j]`` is what satellite l contributes to user k's interference from user j's
    stream; its (Re, Im) rows add up coherently across satellites in 000 eq 27. When the carrier
    phase of each satellite's contribution rotates independently and uniformly — as it does within
    milliseconds in a replay, where the phase differences between satellites follow the delay
    differences at 5 GHz — the expected squared norm is E||Σ_l G[:, l] p_l e^{jθ_l}||² =
    Σ_l ||G[:, l]||² p_l²: the cross-satellite terms average out. The result is diagonal,
    ``G'[k, j] = diag(||G[k, j, :, l]||)``, shape (..., K, K, L, L); b and the noise are unchanged
    (the desired signal is phase-compensated, 000 eq 11). Terms that were already per satellite (the
    beamforming-uncertainty rows diag(c) of eq 28, single-satellite schemes) are unchanged.

    >>> c = SinrCoefficients(b=np.ones((2, 1)), G=np.array([[[[3.0, 4.0]]]]), noise=1.0)
    >>> phase_averaged(c).G[0, 0]
    array([[3., 0.],
           [0., 4.]])
    """
    if hasattr(coeffs, "phase_averaged"):  # a compact form averages itself (rates_cfmntn.MomentCoefficients)
        return coeffs.phase_averaged()
    norms = np.sqrt(np.sum(np.asarray(coeffs.G, dtype=float) ** 2, axis=-2))  # (..., K, K, L)
    n_sat = norms.shape[-1]
    G = np.zeros(norms.shape + (n_sat,))
    idx = np.arange(n_sat)
    G[..., idx, idx] = norms
    return SinrCoefficients(b=coeffs.b, G=G, noise=coeffs.noise)
