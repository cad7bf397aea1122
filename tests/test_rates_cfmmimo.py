"""CF-mMIMO with iMRT (000 Sec. V): MMSE estimates, Theorem 2 against Monte-Carlo, the seam, and limits.

Monte-Carlo precision as in test_rates_cfmntn.py: 64 000 draws in 32 groups, standard error
< 0.5 % of the SINR, relative error < 2 %, error < 5 standard errors.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from simulator.cooperation.coefficients import sinr
from simulator.cooperation.montecarlo import (
    draw_channels,
    montecarlo_sinr_imrt,
    random_power_weights,
    synthetic_csi,
)
from simulator.cooperation.rates_cfmmimo import (
    coefficients_imrt,
    mmse_estimate,
    pilot_book,
    pilot_statistics,
    rates_imrt,
    sinr_closed_form_imrt,
    sinr_large_n_imrt,
    theorem3_margin,
)
from simulator.cooperation.rates_cfmntn import rates, sinr_large_n, spectral_efficiency
from simulator.errors import InputError
from simulator.units import db_to_lin

TX_POWER_W = 10.0      # ρ_t = 40 dBm (000 Sec. VI)
PILOT_POWER_W = 1.0    # η_t = 30 dBm (000 Sec. VI)
NOISE_W = 1e-17        # σ_n² = −140 dBm (000 Sec. VI)
N_DRAWS = 64_000
N_GROUPS = 32


def drop(seed, n_sat, n_user, n_h, n_v, lead=(), **kwargs):
    rng = np.random.default_rng(seed)
    csi = synthetic_csi(rng, n_sat, n_user, n_h, n_v, lead=lead, **kwargs)
    mask, p = random_power_weights(rng, lead + (n_sat, n_user))
    return csi, mask, p


def random_pilots(rng, n_pilot, n_user):
    """Non-orthogonal unit-norm pilots (general Gram matrix)."""
    z = rng.standard_normal((n_pilot, n_user)) + 1j * rng.standard_normal((n_pilot, n_user))
    return z / np.linalg.norm(z, axis=0)


# (L, K, n_h, n_v, τ_p, pilots): orthonormal k mod τ_p, random assignment, K > N, N = 36, non-orthogonal
CONFIGS = [
    (4, 3, 2, 2, 2, "mod"),
    (6, 5, 4, 4, 2, "random"),
    (3, 6, 2, 2, 4, "mod"),
    (5, 4, 6, 6, 3, "mod"),
    (4, 5, 3, 3, 3, "nonorthogonal"),
]


def make_pilots(kind, n_pilot, n_user, rng):
    if kind == "mod":
        return pilot_book(n_user, n_pilot)
    if kind == "random":
        return pilot_book(n_user, n_pilot, rng)
    return random_pilots(rng, n_pilot, n_user)


@pytest.mark.parametrize("config", CONFIGS)
def test_imrt_closed_form_matches_montecarlo(config):
    n_sat, n_user, n_h, n_v, n_pilot, kind = config
    csi, _, p = drop(13, n_sat, n_user, n_h, n_v)
    pilots = make_pilots(kind, n_pilot, n_user, np.random.default_rng(2))
    closed = sinr_closed_form_imrt(csi, p, TX_POWER_W, NOISE_W, pilots, PILOT_POWER_W)
    mc = montecarlo_sinr_imrt(csi, p, TX_POWER_W, NOISE_W, pilots, PILOT_POWER_W, N_DRAWS,
                              np.random.default_rng(7), n_groups=N_GROUPS)
    assert (mc.sinr_stderr / mc.sinr).max() < 0.005          # MC precise enough for a 2 % comparison
    rel_err = np.abs(closed / mc.sinr - 1.0)
    assert rel_err.max() < 0.02, rel_err
    assert (np.abs(closed - mc.sinr) / mc.sinr_stderr).max() < 5.0


def test_mmse_estimate_statistics():
    """ĥ of 000 eq 42 is unbiased, its error is orthogonal to the observation (eq 41), E||ĥ||² = N(κ + x)v (eq 46)."""
    csi, _, _ = drop(14, 2, 3, 2, 2)
    pilots = pilot_book(3, 2)                                  # users 0 and 2 share a pilot
    stats = pilot_statistics(csi, pilots, PILOT_POWER_W, NOISE_W)
    rng = np.random.default_rng(15)
    n = 40_000
    h = draw_channels(csi, n, rng)                             # (n, L, K, N)
    noise = np.sqrt(NOISE_W / 2) * (rng.standard_normal((n, 2, 4, 2)) + 1j * rng.standard_normal((n, 2, 4, 2)))
    y = np.einsum("blkn,tk->blnt", h, pilots.conj()) + noise / np.sqrt(PILOT_POWER_W)   # Y_l / √η
    y_tilde = np.einsum("blnt,tk->blkn", y, pilots)
    h_hat = mmse_estimate(csi, y_tilde, stats)
    err = h - h_hat
    mean_h = (np.sqrt(csi.kappa * csi.v) * np.exp(1j * csi.phase_rad))[..., None] * csi.steering
    scale = np.sqrt(csi.v)[..., None]                          # std of each entry of h
    assert np.abs(h_hat.mean(0) - mean_h).max() < (0.03 * scale).min()
    centred = y_tilde - y_tilde.mean(0)
    corr = np.einsum("blkn,blkm->lknm", err, centred.conj()) / n
    err_power = np.mean(np.abs(err) ** 2, axis=0)
    obs_power = np.mean(np.abs(centred) ** 2, axis=0)
    norm = np.sqrt(err_power[..., :, None] * obs_power[..., None, :])
    assert np.abs(corr / norm).max() < 0.03                   # uncorrelated to MC accuracy (1/√n ≈ 0.005)
    power = np.mean(np.sum(np.abs(h_hat) ** 2, axis=-1), axis=0)
    np.testing.assert_allclose(power, 4 * (csi.kappa + stats.x_self) * csi.v, rtol=0.01)
    mse = np.mean(np.sum(np.abs(err) ** 2, axis=-1), axis=0)
    np.testing.assert_allclose(mse, 4 * csi.v * (1 - stats.x_self), rtol=0.03)


def eq51(csi, p, rho, noise, stats, as_printed=False):
    """000 eq 51 term by term, corrected (docs/paper-notes.md); ``as_printed`` keeps the printed typos."""
    n_sat, n_user = p.shape
    n_ant = csi.steering.shape[-1]
    v, kappa, phase, a, x = csi.v, csi.kappa, csi.phase_rad, csi.steering, stats.x
    xs = stats.x_self
    out = np.zeros(n_user)
    for k in range(n_user):
        num = rho * n_ant * sum(p[l, k] * np.sqrt((kappa[l, k] + xs[l, k]) * v[l, k]) for l in range(n_sat)) ** 2
        den = noise
        for j in range(n_user):
            for l in range(n_sat):
                vv = v[l, j] if as_printed else v[l, k]
                den += (rho / n_ant * p[l, j] ** 2 * vv * (1 + kappa[l, k] * xs[l, j] / (kappa[l, j] + xs[l, j]))
                        * abs(np.vdot(a[l, k], a[l, j])) ** 2)
            if j == k:
                continue
            total = 0.0
            for l in range(n_sat):
                los = np.exp(1j * (phase[l, j] - phase[l, k])) * np.sqrt(kappa[l, k] * kappa[l, j])
                if as_printed:
                    term = los * v[l, k] + np.sqrt(v[l, j] * x[l, j, k])
                else:
                    term = los * np.sqrt(v[l, k]) + np.sqrt(v[l, j]) * x[l, j, k]
                total += p[l, j] * term / np.sqrt(kappa[l, j] + xs[l, j]) * np.vdot(a[l, k], a[l, j])
            den += rho / n_ant * abs(total) ** 2
        out[k] = num / den
    return out


def test_closed_form_equals_eq51_term_by_term_and_printed_form_is_off():
    csi, _, p = drop(16, 5, 4, 4, 4)
    pilots = pilot_book(4, 2)
    stats = pilot_statistics(csi, pilots, PILOT_POWER_W, NOISE_W)
    closed = sinr_closed_form_imrt(csi, p, TX_POWER_W, NOISE_W, pilots, PILOT_POWER_W)
    np.testing.assert_allclose(closed, eq51(csi, p, TX_POWER_W, NOISE_W, stats), rtol=1e-10)
    mc = montecarlo_sinr_imrt(csi, p, TX_POWER_W, NOISE_W, pilots, PILOT_POWER_W, 16_000, np.random.default_rng(17))
    printed = eq51(csi, p, TX_POWER_W, NOISE_W, stats, as_printed=True)
    assert np.abs(closed / mc.sinr - 1).max() < 0.02
    assert np.abs(printed / mc.sinr - 1).min() > 0.2


@pytest.mark.parametrize("config", CONFIGS[1:4])
def test_coefficients_imrt_reproduce_theorem2(config):
    n_sat, n_user, n_h, n_v, n_pilot, kind = config
    csi, mask, _ = drop(22, n_sat, n_user, n_h, n_v)
    pilots = make_pilots(kind, n_pilot, n_user, np.random.default_rng(4))
    coeffs = coefficients_imrt(csi, TX_POWER_W, NOISE_W, pilots, PILOT_POWER_W, cluster_mask=mask)
    rng = np.random.default_rng(5)
    for _ in range(5):
        p = rng.uniform(0.0, 1.0, mask.shape)
        closed = sinr_closed_form_imrt(csi, p * mask, TX_POWER_W, NOISE_W, pilots, PILOT_POWER_W)
        np.testing.assert_allclose(sinr(coeffs, p), closed, rtol=1e-10)
    np.testing.assert_allclose(coeffs.b, np.sqrt(TX_POWER_W * n_h * n_v * (csi.kappa + pilot_statistics(
        csi, pilots, PILOT_POWER_W, NOISE_W).x_self) * csi.v) * mask, rtol=1e-12)


def separated_angles(rng, shape, delta=0.1):
    """AoDs whose UPA spatial frequencies (½ sinθ cosφ, ½ cosθ) differ by ≥ delta in one axis for every pair."""
    theta, phi = rng.uniform(0, np.pi / 2, shape), rng.uniform(0, 2 * np.pi, shape)
    while True:
        u, w = 0.5 * np.sin(theta) * np.cos(phi), 0.5 * np.cos(theta)
        sep = np.maximum(np.abs(u[..., :, None] - u[..., None, :]), np.abs(w[..., :, None] - w[..., None, :]))
        bad = (sep + np.eye(shape[-1])).min(-1) < delta
        if not bad.any():
            return theta, phi
        theta[bad], phi[bad] = rng.uniform(0, np.pi / 2, bad.sum()), rng.uniform(0, 2 * np.pi, bad.sum())


def test_rates_approach_large_n_forms():
    """000 Proposition 1: with distinct AoDs, eq 22 → eq 52 and eq 51 → eq 53 as N grows (4 drops × 4 users)."""
    rng = np.random.default_rng(0)
    shape = (4, 6, 4)
    theta, phi = separated_angles(rng, shape)
    _, p = random_power_weights(rng, shape)
    pilots = pilot_book(4, 2)
    gaps = []
    for n in (4, 8, 16):                                      # N = 16, 64, 256
        csi = synthetic_csi(np.random.default_rng(1), 6, 4, n, n, lead=(4,), theta_rad=theta, phi_rad=phi)
        se52 = spectral_efficiency(sinr_large_n(csi, p, TX_POWER_W, NOISE_W))
        se53 = spectral_efficiency(sinr_large_n_imrt(csi, p, TX_POWER_W, NOISE_W, PILOT_POWER_W))
        stats = pilot_statistics(csi, pilots, PILOT_POWER_W, NOISE_W)
        snr = PILOT_POWER_W * n * n * csi.v / NOISE_W
        gaps.append([
            np.abs(rates(csi, "smrt", p, TX_POWER_W, NOISE_W) / se52 - 1).max(),
            np.abs(rates(csi, "szf", p, TX_POWER_W, NOISE_W) / se52 - 1).max(),
            np.abs(rates_imrt(csi, p, TX_POWER_W, NOISE_W, pilots, PILOT_POWER_W) / se53 - 1).max(),
            np.abs(stats.x_self / (snr / (snr + 1)) - 1).max(),                       # eq 84
            (np.abs(stats.x) * (1 - np.eye(4))).max() / stats.x_self.min(),           # contamination → 0
        ])
    gaps = np.array(gaps)
    assert np.all(np.diff(gaps, axis=0) < 0), gaps
    # at N = 256 the residual is the LOS inter-user leakage |a_k^H a_j / N|² ~ 1/N times a SINR of ~20 dB
    assert gaps[-1, 0] < 0.20 and gaps[-1, 2] < 0.15
    assert gaps[-1, 1] < 0.002                                 # sZF: only ||u|| → 1/√N remains
    assert gaps[-1, 3] < 0.01 and gaps[-1, 4] < 0.02


def test_imrt_approaches_smrt_as_kappa_grows():
    """000 Fig 7 remark: for κ → ∞ the NLOS part vanishes and iMRT and sMRT give the same rates."""
    csi, _, p = drop(18, 6, 5, 4, 4, lead=(10,))
    pilots = pilot_book(5, 2)
    gaps = []
    for kappa_db in (10.0, 20.0, 30.0, 40.0):
        hi = replace(csi, kappa=np.full(csi.kappa.shape, db_to_lin(kappa_db)))
        gaps.append(np.abs(rates_imrt(hi, p, TX_POWER_W, NOISE_W, pilots, PILOT_POWER_W)
                           / rates(hi, "smrt", p, TX_POWER_W, NOISE_W) - 1).max())
    assert np.all(np.diff(gaps) < 0), gaps
    assert gaps[2] < 0.01 and gaps[3] < 1e-3, gaps


def test_theorem3_cfmntn_beats_cfmmimo_under_its_condition():
    """000 Theorem 3: (κ_min − 3) α_min ≥ 1 and high SNR ⇒ eq 52 ≥ eq 53 for every user (200 drops)."""
    rng = np.random.default_rng(19)
    csi = synthetic_csi(rng, 6, 5, 8, 8, lead=(200,), beta_db=(-165.0, -155.0))
    mask, p = random_power_weights(rng, (200, 6, 5))
    assert theorem3_margin(csi, mask, PILOT_POWER_W, NOISE_W).min() >= 1.0
    assert (TX_POWER_W * 64 * csi.v / NOISE_W).min() > 10.0  # downlink SNR per link > 10 dB
    ntn = sinr_large_n(csi, p, TX_POWER_W, NOISE_W)
    mimo = sinr_large_n_imrt(csi, p, TX_POWER_W, NOISE_W, PILOT_POWER_W)
    assert np.all(ntn >= mimo)
    # at low downlink SNR the larger iMRT signal wins for some users: the SNR premise matters
    low = 1e-4 * TX_POWER_W
    assert np.any(sinr_large_n(csi, p, low, NOISE_W) < sinr_large_n_imrt(csi, p, low, NOISE_W, PILOT_POWER_W))


def test_snapshot_and_block_agree():
    csi, mask, p = drop(52, 4, 3, 2, 3, lead=(3,))
    pilots = pilot_book(3, 2)
    block = sinr_closed_form_imrt(csi, p, TX_POWER_W, NOISE_W, pilots, PILOT_POWER_W)
    coeffs = coefficients_imrt(csi, TX_POWER_W, NOISE_W, pilots, PILOT_POWER_W, cluster_mask=mask)
    large = sinr_large_n_imrt(csi, p, TX_POWER_W, NOISE_W, PILOT_POWER_W)
    margin = theorem3_margin(csi, mask, PILOT_POWER_W, NOISE_W)
    for t in range(3):
        snap = type(csi)(**{f: getattr(csi, f)[t] for f in csi.__dataclass_fields__})
        np.testing.assert_allclose(block[t], sinr_closed_form_imrt(snap, p[t], TX_POWER_W, NOISE_W, pilots,
                                                                   PILOT_POWER_W), rtol=1e-12)
        snap_coeffs = coefficients_imrt(snap, TX_POWER_W, NOISE_W, pilots, PILOT_POWER_W, cluster_mask=mask[t])
        np.testing.assert_allclose(coeffs.G[t], snap_coeffs.G, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(large[t], sinr_large_n_imrt(snap, p[t], TX_POWER_W, NOISE_W, PILOT_POWER_W),
                                   rtol=1e-12)
        assert margin[t] == theorem3_margin(snap, mask[t], PILOT_POWER_W, NOISE_W)


def test_pilot_book_and_validation():
    book = pilot_book(7, 3)
    np.testing.assert_allclose(book.conj().T @ book, (np.arange(7)[:, None] % 3 == np.arange(7) % 3).astype(float))
    shuffled = pilot_book(7, 3, np.random.default_rng(0))
    assert sorted(np.argmax(np.abs(shuffled), axis=0).tolist()) == sorted((np.arange(7) % 3).tolist())
    csi, _, p = drop(53, 2, 3, 2, 2)
    with pytest.raises(InputError, match="unit norm"):
        sinr_closed_form_imrt(csi, p, TX_POWER_W, NOISE_W, 2.0 * pilot_book(3, 2), PILOT_POWER_W)
    with pytest.raises(InputError, match="shape"):
        sinr_closed_form_imrt(csi, p, TX_POWER_W, NOISE_W, pilot_book(4, 2), PILOT_POWER_W)
    with pytest.raises(InputError):
        pilot_book(3, 0)


def test_no_link_carries_no_imrt_precoder():
    """β = 0 (not visible): nothing to estimate, w = 0; closed form and Monte-Carlo agree on the rest."""
    csi, _, p = drop(54, 4, 3, 2, 2)
    beta = csi.beta.copy()
    beta[1, 2] = 0.0
    csi = replace(csi, beta=beta)
    pilots = pilot_book(3, 2)
    closed = sinr_closed_form_imrt(csi, p, TX_POWER_W, NOISE_W, pilots, PILOT_POWER_W)
    mc = montecarlo_sinr_imrt(csi, p, TX_POWER_W, NOISE_W, pilots, PILOT_POWER_W, N_DRAWS,
                              np.random.default_rng(20), n_groups=N_GROUPS)
    assert np.abs(closed / mc.sinr - 1).max() < 0.02


def test_pilot_statistics_equal_the_explicit_covariance_solve():
    """V^{-1} a by the K × K push-through identity equals solving 000 eq 44's N × N covariance."""
    csi, _, _ = drop(21, 3, 5, 4, 4)
    pilots = pilot_book(5, 3)                                  # contamination: users share pilots
    stats = pilot_statistics(csi, pilots, PILOT_POWER_W, NOISE_W)
    gram = np.conj(pilots.T) @ pilots
    a = csi.steering
    n_ant = a.shape[-1]
    for l in range(a.shape[0]):
        for k in range(a.shape[1]):
            w = csi.v[l] * np.abs(gram[:, k]) ** 2
            cov = (a[l].T * w) @ np.conj(a[l]) + (NOISE_W / PILOT_POWER_W) * np.eye(n_ant)
            direct = np.linalg.solve(cov, a[l, k])
            np.testing.assert_allclose(stats.v_inv_a[l, k], direct, rtol=1e-9, atol=1e-12 * np.abs(direct).max())
