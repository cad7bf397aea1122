"""Monte-Carlo estimators of the downlink SINR of CF-mNTN (000 eq 21) and CF-mMIMO (000 eq 47).

They check the closed forms independently: channels are drawn explicitly,
h_{l,k} = √v_{l,k} (√κ_{l,k} e^{jφ_{l,k}} + α_{l,k}) a_{l,k} with α ~ CN(0, 1) i.i.d. per
(draw, l, k) (000 eq 8); for CF-mMIMO the uplink pilot signal Y_l (eq 38), its projections (eq 39),
the MMSE estimates (eq 42) and the iMRT precoders (eq 46) are built per draw as well. The effective
gains γ_{k,j} = Σ_l p_{l,j} h_{l,k}^H w_{l,j} (000 eq 61) then give the sample versions of the
terms of eq 21: ρ|E γ_{k,k}|², ρ V{γ_{k,k}} and ρ E|γ_{k,j}|².

Draws are processed in batches whose size bounds memory, and split into ``n_groups`` equal groups
whose SINRs give a standard error (the spread of group estimates / √n_groups). Randomness comes only
from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..constants import SPEED_OF_LIGHT
from ..errors import InputError
from ..radio.statistical_csi import StatisticalCSI
from ..radio.steering import steering_vector
from ..units import db_to_lin, rad
from .precoders import imrt_precoders
from .rates_cfmmimo import mmse_estimate, pilot_statistics
from .rates_cfmntn import Precoder, ZfUsers, statistical_precoders

__all__ = [
    "MonteCarloSinr",
    "draw_channels",
    "grouped_estimate",
    "montecarlo_sinr_statistical",
    "montecarlo_sinr_cfmntn",
    "montecarlo_sinr_imrt",
    "synthetic_csi",
    "random_power_weights",
]

#: Default cap on the complex elements of one batch of channel draws (16 MiB per array).
MAX_BATCH_ELEMENTS = 1 << 20


@dataclass(frozen=True)
class MonteCarloSinr:
    """Sample estimate of the terms of 000 eq 21 / eq 47, all in W except ``sinr``.

    Attributes
    ----------
    sinr : ndarray, shape (..., K), linear
    sinr_stderr : ndarray, shape (..., K), linear — standard error from the group estimates
    signal_w : ndarray, shape (..., K) — ρ |E{γ_{k,k}}|²
    uncertainty_w : ndarray, shape (..., K) — ρ V{γ_{k,k}} (beamforming uncertainty, eq 19)
    interference_w : ndarray, shape (..., K, K) — [k, j] = ρ E|γ_{k,j}|² for j ≠ k, 0 on the diagonal
    n_draws : int
    """

    sinr: np.ndarray
    sinr_stderr: np.ndarray
    signal_w: np.ndarray
    uncertainty_w: np.ndarray
    interference_w: np.ndarray
    n_draws: int


def draw_channels(csi: StatisticalCSI, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Channel draws h_{l,k} = √v (√κ e^{jφ} + α) a, α ~ CN(0, 1) (000 eq 8); shape (n_draws, ..., L, K, N)."""
    shape = (n_draws,) + csi.beta.shape
    alpha = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2.0)
    gain = np.sqrt(csi.v) * (np.sqrt(csi.kappa) * np.exp(1j * csi.phase_rad) + alpha)
    return gain[..., None] * csi.steering


def _gains(h: np.ndarray, w: np.ndarray, p: np.ndarray) -> np.ndarray:
    """γ[..., k, j] = Σ_l p_{l,j} h_{l,k}^H w_{l,j} (000 eq 61) for draws h (B, ..., L, K, N)."""
    hw = np.conj(h) @ np.swapaxes(w, -1, -2)                   # [..., l, k, j] = h_{l,k}^H w_{l,j}
    return np.sum(hw * p[..., :, None, :], axis=-3)


def _sinr_from_sums(s1, s2_self, s2, n, tx_power_w, noise_w):
    mean = s1 / n
    var = (s2_self - n * np.abs(mean) ** 2) / (n - 1)
    interference = tx_power_w * s2 / n
    diag = np.arange(s2.shape[-1])
    interference[..., diag, diag] = 0.0
    signal = tx_power_w * np.abs(mean) ** 2
    uncertainty = tx_power_w * var
    noise = np.asarray(noise_w, dtype=float)[..., None]
    sinr = signal / (uncertainty + interference.sum(axis=-1) + noise)
    return sinr, signal, uncertainty, interference


def grouped_estimate(batch_sums: Callable[[int], tuple[tuple[np.ndarray, ...], int]], n_draws: int,
                     n_groups: int, batch: int,
                     estimate: Callable[[tuple[np.ndarray, ...], int], np.ndarray]) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Sample sums over ``n_draws`` draws in ``n_groups`` groups, and the standard error of ``estimate``.

    ``batch_sums(n)`` draws n realisations and returns (their per-quantity sums, n); groups are filled
    in batches of at most ``batch`` draws (memory bounded). ``estimate(sums, n)`` turns sums of n
    draws into the estimated quantity; its spread over the groups / sqrt(n_groups) is the standard
    error. Returns the sums over all draws and that standard error.
    """
    if n_groups < 2 or n_draws < 2 * n_groups:
        raise InputError(f"n_draws={n_draws}, n_groups={n_groups}: need n_groups >= 2 and n_draws >= 2 * n_groups")
    sizes = np.full(n_groups, n_draws // n_groups)
    sizes[: n_draws % n_groups] += 1
    totals, group_values = None, []
    for size in sizes:
        sums, done = None, 0
        while done < size:
            part, drawn = batch_sums(int(min(batch, size - done)))
            sums = part if sums is None else tuple(a + b for a, b in zip(sums, part))
            done += drawn
        group_values.append(estimate(sums, int(size)))
        totals = sums if totals is None else tuple(a + b for a, b in zip(totals, sums))
    return totals, np.std(np.stack(group_values), axis=0, ddof=1) / np.sqrt(n_groups)


def _estimate(draw_gains: Callable[[int], np.ndarray], n_draws: int, per_draw: int, tx_power_w: float,
              noise_w: float | np.ndarray, n_groups: int, max_batch_elements: int) -> MonteCarloSinr:
    """Accumulate γ over groups of batches and form the eq-21 terms and the group standard error."""
    def batch_sums(n: int) -> tuple[tuple[np.ndarray, ...], int]:
        gamma = draw_gains(n)
        diag = np.diagonal(gamma, axis1=-2, axis2=-1)
        return (diag.sum(0), (np.abs(diag) ** 2).sum(0), (np.abs(gamma) ** 2).sum(0)), gamma.shape[0]

    totals, stderr = grouped_estimate(
        batch_sums, n_draws, n_groups, max(1, max_batch_elements // per_draw),
        lambda sums, n: _sinr_from_sums(*sums, n, tx_power_w, noise_w)[0])
    sinr, signal, uncertainty, interference = _sinr_from_sums(*totals, n_draws, tx_power_w, noise_w)
    return MonteCarloSinr(sinr=sinr, sinr_stderr=stderr, signal_w=signal, uncertainty_w=uncertainty,
                          interference_w=interference, n_draws=n_draws)


def montecarlo_sinr_statistical(csi: StatisticalCSI, w: np.ndarray, p: np.ndarray, tx_power_w: float,
                                noise_w: float | np.ndarray, n_draws: int, rng: np.random.Generator,
                                n_groups: int = 16, max_batch_elements: int = MAX_BATCH_ELEMENTS) -> MonteCarloSinr:
    """Monte-Carlo SINR (000 eq 21) for deterministic precoders ``w`` (..., L, K, N) and weights p (..., L, K).

    ``n_draws`` channel realisations (≥ 2 per group); see the module docstring.
    """
    p = np.asarray(p, dtype=float)
    per_draw = csi.beta.size * max(csi.n_ant, csi.n_user)
    return _estimate(lambda b: _gains(draw_channels(csi, b, rng), w, p), n_draws, per_draw,
                     tx_power_w, noise_w, n_groups, max_batch_elements)


def montecarlo_sinr_cfmntn(csi: StatisticalCSI, precoder: Precoder, p: np.ndarray, tx_power_w: float,
                           noise_w: float | np.ndarray, n_draws: int, rng: np.random.Generator,
                           zf_users: ZfUsers = "all", **kwargs) -> MonteCarloSinr:
    """Monte-Carlo SINR of CF-mNTN with sMRT or sZF (000 eq 21); the counterpart of
    :func:`~simulator.cooperation.rates_cfmntn.sinr_closed_form` (same arguments, plus the draws)."""
    mask = np.asarray(p) > 0 if zf_users == "cluster" else None
    w = statistical_precoders(csi, precoder, mask, zf_users)
    return montecarlo_sinr_statistical(csi, w, p, tx_power_w, noise_w, n_draws, rng, **kwargs)


def montecarlo_sinr_imrt(csi: StatisticalCSI, p: np.ndarray, tx_power_w: float, noise_w: float | np.ndarray,
                         pilots: np.ndarray, pilot_power_w: float, n_draws: int, rng: np.random.Generator,
                         pilot_noise_w: float | None = None, n_groups: int = 16,
                         max_batch_elements: int = MAX_BATCH_ELEMENTS,
                         estimator_csi: StatisticalCSI | None = None) -> MonteCarloSinr:
    """Monte-Carlo SINR of CF-mMIMO with iMRT (000 eq 47), pilots and MMSE estimates drawn per realisation.

    Per draw: h (eq 8); Y_l = √η Σ_j h_{l,j} ψ_j^H + N_l with N_l ~ CN(0, σ_p² I) (eq 38);
    ỹ_{l,k} = Y_l ψ_k / √η (eq 39); ĥ (eq 42); w = ĥ / √E||ĥ||² (eq 46); then γ as in eq 61.
    Arguments as :func:`~simulator.cooperation.rates_cfmmimo.sinr_closed_form_imrt`, plus the draws.
    ``estimator_csi`` (same shape as ``csi``): the statistics the MMSE estimator and the precoder
    normalisation use (stale statistics); None: those of ``csi``, which always draws the channels.
    """
    p = np.asarray(p, dtype=float)
    sigma_p = noise_w if pilot_noise_w is None else pilot_noise_w
    est_csi = csi if estimator_csi is None else estimator_csi
    stats = pilot_statistics(est_csi, pilots, pilot_power_w, sigma_p)
    pilots = stats.pilots
    x_self = stats.x_self
    n_ant, n_pilot = csi.n_ant, pilots.shape[0]

    def draw_gains(b: int) -> np.ndarray:
        h = draw_channels(csi, b, rng)
        shape = (b,) + csi.beta.shape[:-1] + (n_ant, n_pilot)
        noise = np.sqrt(sigma_p / 2.0) * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
        y = np.sqrt(pilot_power_w) * (np.swapaxes(h, -1, -2) @ np.conj(pilots.T)) + noise      # Y_l (N, τ_p)
        y_tilde = np.swapaxes(y @ pilots, -1, -2) / np.sqrt(pilot_power_w)                    # ỹ_{l,k}
        w = imrt_precoders(mmse_estimate(est_csi, y_tilde, stats), est_csi.v, est_csi.kappa, x_self)
        return _gains(h, w, p)

    per_draw = csi.beta.size * max(n_ant, csi.n_user, n_pilot)
    return _estimate(draw_gains, n_draws, per_draw, tx_power_w, noise_w, n_groups, max_batch_elements)


def synthetic_csi(rng: np.random.Generator, n_sat: int, n_user: int, n_h: int, n_v: int,
                  lead: tuple[int, ...] = (), beta_db: tuple[float, float] = (-170.0, -155.0),
                  kappa_db: tuple[float, float] = (15.0, 20.0), spacing: float = 0.5,
                  theta_rad: np.ndarray | None = None, phi_rad: np.ndarray | None = None) -> StatisticalCSI:
    """A random statistical-CSI drop for Monte-Carlo checks of the rate formulas (no orbits involved).

    AoDs θ ~ U(0, π/2), φ ~ U(0, 2π) unless given; β and κ uniform in dB over the given ranges
    (000 Sec. VI: κ of 15–20 dB); LOS phases uniform; UPA steering of 000 eqs 2–4
    (:func:`~simulator.radio.steering.steering_vector`). Ranges, delays, Doppler and elevations are
    random placeholders the rate formulas do not use.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_sat, n_user : int — L and K
    n_h, n_v : int — UPA size, N = n_h n_v
    lead : tuple of int — leading axes, e.g. (T,) for a block of steps
    beta_db, kappa_db : (low, high), dB
    spacing : float, wavelengths — element spacing d / λ
    theta_rad, phi_rad : ndarray, shape (*lead, L, K), rad, optional — fixed AoDs

    Returns
    -------
    StatisticalCSI
    """
    shape = tuple(lead) + (n_sat, n_user)
    theta = rng.uniform(0.0, np.pi / 2, shape) if theta_rad is None else np.asarray(theta_rad, dtype=float)
    phi = rng.uniform(0.0, 2 * np.pi, shape) if phi_rad is None else np.asarray(phi_rad, dtype=float)
    slant_range_m = rng.uniform(550e3, 1500e3, shape)
    return StatisticalCSI(
        beta=db_to_lin(rng.uniform(*beta_db, shape)),
        kappa=db_to_lin(rng.uniform(*kappa_db, shape)),
        steering=steering_vector(theta, phi, n_h, n_v, spacing, spacing),
        phase_rad=rng.uniform(-np.pi, np.pi, shape),
        delay_s=slant_range_m / SPEED_OF_LIGHT,
        doppler_hz=rng.uniform(-1e5, 1e5, shape),
        theta_rad=theta,
        phi_rad=phi,
        elevation_rad=rng.uniform(rad(25.0), np.pi / 2, shape),
        slant_range_m=slant_range_m,
        visible=np.ones(shape, dtype=bool),
    )


def random_power_weights(rng: np.random.Generator, shape: tuple[int, ...],
                         density: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Random clusters and power weights for Monte-Carlo drops; meets 000 eq 23c with equality.

    Each link (l, k) joins the cluster with probability ``density``, and every user gets at least
    one satellite; weights are uniform in [0.1, 1] on the clusters, scaled so that
    Σ_k p_{l,k}² = 1 for every satellite that serves someone.

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : tuple of int — (..., L, K)
    density : float — probability that a link is in the clusters

    Returns
    -------
    cluster_mask : ndarray, shape (..., L, K), bool
    p : ndarray, shape (..., L, K), float — zero outside the clusters
    """
    mask = rng.random(shape) < density
    anchor = rng.integers(0, shape[-2], shape[:-2] + (1, shape[-1]))
    mask |= np.arange(shape[-2])[:, None] == anchor
    p = rng.uniform(0.1, 1.0, shape) * mask
    norm = np.sqrt(np.sum(p**2, axis=-1, keepdims=True))
    return mask, np.divide(p, norm, out=np.zeros(shape), where=norm > 0)
