"""CF-mNTN closed forms (000 Theorem 1, eqs 22, 27–28, 52) against Monte-Carlo, the seam and limits.

Monte-Carlo precision: each comparison uses 64 000 channel draws in 32 groups; the group spread
gives the standard error of each user's SINR estimate. The tests require that standard error to be
below 0.5 % of the SINR (so the 2 % tolerance is ≥ 4 standard errors), the relative error to be
below 2 %, and the error to be below 5 standard errors (a sharper check of the same formula).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from simulator.cooperation.coefficients import sinr
from simulator.cooperation.montecarlo import (
    montecarlo_sinr_cfmntn,
    montecarlo_sinr_statistical,
    random_power_weights,
    synthetic_csi,
)
from simulator.cooperation.precoders import szf_precoders
from simulator.cooperation.rates_cfmntn import (
    coefficients,
    rates,
    sinr_closed_form,
    sinr_large_n,
    spectral_efficiency,
)
from simulator.errors import InputError

TX_POWER_W = 10.0   # ρ_t = 40 dBm (000 Sec. VI)
NOISE_W = 1e-17     # σ_n² = −140 dBm (000 Sec. VI)
N_DRAWS = 64_000
N_GROUPS = 32


def drop(seed: int, n_sat: int, n_user: int, n_h: int, n_v: int, lead: tuple[int, ...] = ()):
    rng = np.random.default_rng(seed)
    csi = synthetic_csi(rng, n_sat, n_user, n_h, n_v, lead=lead)
    mask, p = random_power_weights(rng, lead + (n_sat, n_user))
    return csi, mask, p


def check_agreement(closed: np.ndarray, mc) -> None:
    rel_se = mc.sinr_stderr / mc.sinr
    assert rel_se.max() < 0.005, rel_se                  # MC precise enough for a 2 % comparison
    rel_err = np.abs(closed / mc.sinr - 1.0)
    assert rel_err.max() < 0.02, rel_err                 # the brief's per-user tolerance
    z = np.abs(closed - mc.sinr) / mc.sinr_stderr
    assert z.max() < 5.0, z                              # and statistically consistent


# (L, K, n_h, n_v): N = 4, 16, 64; the third has K = 6 > N = 4 (sZF rank deficient, partial nulling)
CONFIGS = [(4, 3, 2, 2), (6, 5, 4, 4), (3, 6, 2, 2), (5, 4, 8, 8)]


@pytest.mark.parametrize("precoder", ["smrt", "szf"])
@pytest.mark.parametrize("config", CONFIGS)
def test_closed_form_matches_montecarlo(precoder, config):
    csi, _, p = drop(11, *config)
    closed = sinr_closed_form(csi, precoder, p, TX_POWER_W, NOISE_W)
    mc = montecarlo_sinr_cfmntn(csi, precoder, p, TX_POWER_W, NOISE_W, N_DRAWS, np.random.default_rng(5),
                                n_groups=N_GROUPS)
    check_agreement(closed, mc)


def test_szf_cluster_users_matches_montecarlo():
    csi, _, p = drop(12, 5, 6, 2, 2)                     # K_l may exceed N = 4 here as well
    closed = sinr_closed_form(csi, "szf", p, TX_POWER_W, NOISE_W, zf_users="cluster")
    mc = montecarlo_sinr_cfmntn(csi, "szf", p, TX_POWER_W, NOISE_W, N_DRAWS, np.random.default_rng(6),
                                zf_users="cluster", n_groups=N_GROUPS)
    check_agreement(closed, mc)


def eq22_smrt(csi, p, rho, noise, as_printed=False):
    """000 eq 22 (sMRT) written term by term, with ρ/N on the IUI term (docs/paper-notes.md).

    ``as_printed`` drops that ρ/N, as the printed equation does.
    """
    n_sat, n_user = p.shape
    n_ant = csi.steering.shape[-1]
    v, kappa, phase, a = csi.v, csi.kappa, csi.phase_rad, csi.steering
    out = np.zeros(n_user)
    for k in range(n_user):
        num = rho * n_ant * sum(p[l, k] * np.sqrt(kappa[l, k] * v[l, k]) for l in range(n_sat)) ** 2
        spread = sum(p[l, j] ** 2 * v[l, k] * abs(np.vdot(a[l, k], a[l, j])) ** 2
                     for j in range(n_user) for l in range(n_sat))
        iui = sum(abs(sum(p[l, j] * np.exp(1j * (phase[l, j] - phase[l, k])) * np.sqrt(kappa[l, k] * v[l, k])
                          * np.vdot(a[l, k], a[l, j]) for l in range(n_sat))) ** 2
                  for j in range(n_user) if j != k)
        out[k] = num / (rho / n_ant * spread + (1.0 if as_printed else rho / n_ant) * iui + noise)
    return out


def eq22_szf(csi, p, rho, noise):
    """000 eq 22 (sZF), all K users in A_l, full column rank."""
    n_sat, n_user = p.shape
    v, kappa = csi.v, csi.kappa
    out = np.zeros(n_user)
    for k in range(n_user):
        inv_norm = []
        for l in range(n_sat):
            a_mat = csi.steering[l].T                                     # A_l, (N, K)
            inv_norm.append(1.0 / np.linalg.norm(a_mat @ np.linalg.inv(a_mat.conj().T @ a_mat)[:, k]))
        num = rho * sum(p[l, k] * np.sqrt(kappa[l, k] * v[l, k]) * inv_norm[l] for l in range(n_sat)) ** 2
        den = rho * sum(p[l, k] ** 2 * v[l, k] * inv_norm[l] ** 2 for l in range(n_sat)) + noise
        out[k] = num / den
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_closed_form_equals_eq22_term_by_term(seed):
    csi, _, p = drop(seed, 5, 4, 4, 4)
    np.testing.assert_allclose(sinr_closed_form(csi, "smrt", p, TX_POWER_W, NOISE_W),
                               eq22_smrt(csi, p, TX_POWER_W, NOISE_W), rtol=1e-10)
    np.testing.assert_allclose(sinr_closed_form(csi, "szf", p, TX_POWER_W, NOISE_W),
                               eq22_szf(csi, p, TX_POWER_W, NOISE_W), rtol=1e-10)


@pytest.mark.parametrize("precoder,zf_users", [("smrt", "all"), ("szf", "all"), ("szf", "cluster")])
@pytest.mark.parametrize("config", [(6, 5, 4, 4), (3, 6, 2, 2)])
def test_coefficients_reproduce_theorem1(precoder, zf_users, config):
    """The seam: sinr(coefficients(...), p) is the Theorem-1 SINR for any p in the clusters."""
    csi, mask, _ = drop(21, *config)
    coeffs = coefficients(csi, precoder, TX_POWER_W, NOISE_W, cluster_mask=mask, zf_users=zf_users)
    rng = np.random.default_rng(3)
    for _ in range(5):
        p = rng.uniform(0.0, 1.0, mask.shape)            # also outside the clusters: masked by the coefficients
        closed = sinr_closed_form(csi, precoder, p * mask, TX_POWER_W, NOISE_W, zf_users=zf_users)
        np.testing.assert_allclose(sinr(coeffs, p), closed, rtol=1e-10)
    assert coeffs.G.shape == (config[1], config[1], config[0] + 2, config[0])
    assert np.all(coeffs.b >= 0.0)


def test_smrt_coefficients_match_eq28_corrected():
    csi, _, _ = drop(4, 3, 4, 4, 4)
    coeffs = coefficients(csi, "smrt", TX_POWER_W, NOISE_W)
    n_ant = 16
    np.testing.assert_allclose(coeffs.b, np.sqrt(TX_POWER_W * n_ant * csi.kappa * csi.v), rtol=1e-12)
    l, k, j = 1, 2, 0
    cross = np.vdot(csi.steering[l, k], csi.steering[l, j])
    c = np.sqrt(TX_POWER_W / n_ant * csi.v[l, k]) * abs(cross)
    d = (np.sqrt(TX_POWER_W / n_ant * csi.kappa[l, k] * csi.v[l, k])
         * np.exp(1j * (csi.phase_rad[l, j] - csi.phase_rad[l, k])) * cross)
    np.testing.assert_allclose(coeffs.G[k, j, l, l], c, rtol=1e-12)
    np.testing.assert_allclose(coeffs.G[k, j, 3:, l], [d.real, d.imag], rtol=1e-10)


def test_szf_nulls_interference():
    """sZF over all K users (K ≤ N): E|Υ_{k,j}|² = 0 for every pair k ≠ j (000 eq 12)."""
    csi, _, p = drop(31, 6, 5, 4, 4)
    rng = np.random.default_rng(8)
    zf = montecarlo_sinr_cfmntn(csi, "szf", p, TX_POWER_W, NOISE_W, 2_000, rng)
    mrt = montecarlo_sinr_cfmntn(csi, "smrt", p, TX_POWER_W, NOISE_W, 2_000, rng)
    off = ~np.eye(5, dtype=bool)
    assert zf.interference_w[off].max() < 1e-20 * mrt.interference_w[off].min()   # float round-off only


def test_szf_cluster_users_nulls_only_inside_clusters():
    """sZF over K_l: user k gets no interference from user j's signal iff every satellite serving j also serves k."""
    csi, mask, p = drop(32, 6, 5, 4, 4)
    mc = montecarlo_sinr_cfmntn(csi, "szf", p, TX_POWER_W, NOISE_W, 2_000, np.random.default_rng(9),
                                zf_users="cluster")
    for k in range(5):
        for j in range(5):
            if j == k:
                continue
            nulled = np.all(mask[:, k] | ~mask[:, j])
            if nulled:
                assert mc.interference_w[k, j] < 1e-20 * mc.signal_w[k]
            else:
                assert mc.interference_w[k, j] > 1e-12 * mc.signal_w[k]


def test_szf_rank_deficient_interference_remains():
    """K = 6 > N = 4: no exact nulling is possible; the pseudo-inverse leaves interference."""
    csi, _, p = drop(33, 3, 6, 2, 2)
    mc = montecarlo_sinr_cfmntn(csi, "szf", p, TX_POWER_W, NOISE_W, 2_000, np.random.default_rng(10))
    assert mc.interference_w.sum(axis=-1).min() > 1e-6 * NOISE_W


def test_szf_collinear_users_use_pseudo_inverse():
    csi, _, p = drop(34, 3, 4, 4, 4)
    steering = csi.steering.copy()
    steering[:, 1] = steering[:, 0]                      # users 0 and 1 seen in the same direction
    csi = replace(csi, steering=steering)
    w = szf_precoders(csi)
    assert np.all(np.isfinite(w))
    np.testing.assert_allclose(np.linalg.norm(w, axis=-1), 1.0, rtol=1e-12)
    cross = np.abs(np.einsum("lkn,ljn->lkj", steering.conj(), w))
    assert cross[:, 2, 0].max() < 1e-8 * cross[:, 0, 0].min()       # still nulls towards user 2
    np.testing.assert_allclose(cross[:, 1, 0], cross[:, 0, 0], rtol=1e-10)   # cannot separate 0 from 1


def test_printed_forms_disagree_with_montecarlo():
    """Evidence for docs/paper-notes.md: printed eq 22 (sMRT IUI without ρ/N) and eq 11 (no phase)."""
    csi, _, p = drop(41, 6, 5, 4, 4)
    rng = np.random.default_rng(12)
    mc = montecarlo_sinr_cfmntn(csi, "smrt", p, TX_POWER_W, NOISE_W, 16_000, rng)
    corrected = eq22_smrt(csi, p, TX_POWER_W, NOISE_W)
    printed = eq22_smrt(csi, p, TX_POWER_W, NOISE_W, as_printed=True)
    assert np.abs(corrected / mc.sinr - 1).max() < 0.02
    assert np.abs(printed / mc.sinr - 1).min() > 0.2
    w_printed = szf_precoders(csi) * np.exp(-1j * csi.phase_rad)[..., None]     # eq 11 as printed
    mc_printed = montecarlo_sinr_statistical(csi, w_printed, p, TX_POWER_W, NOISE_W, 16_000, rng)
    assert np.abs(eq22_szf(csi, p, TX_POWER_W, NOISE_W) / mc_printed.sinr - 1).max() > 0.2


def test_snapshot_and_block_agree():
    csi, mask, p = drop(51, 4, 3, 4, 2, lead=(3,))
    block = {pre: sinr_closed_form(csi, pre, p, TX_POWER_W, NOISE_W) for pre in ("smrt", "szf")}
    block_coeffs = coefficients(csi, "smrt", TX_POWER_W, NOISE_W, cluster_mask=mask)
    block_large = sinr_large_n(csi, p, TX_POWER_W, NOISE_W)
    block_rates = rates(csi, "szf", p, TX_POWER_W, NOISE_W, zf_users="cluster")
    for t in range(3):
        snap = type(csi)(**{f: getattr(csi, f)[t] for f in csi.__dataclass_fields__})
        for pre in ("smrt", "szf"):
            np.testing.assert_allclose(block[pre][t], sinr_closed_form(snap, pre, p[t], TX_POWER_W, NOISE_W),
                                       rtol=1e-12)
        snap_coeffs = coefficients(snap, "smrt", TX_POWER_W, NOISE_W, cluster_mask=mask[t])
        np.testing.assert_allclose(block_coeffs.b[t], snap_coeffs.b, rtol=1e-12)
        np.testing.assert_allclose(block_coeffs.G[t], snap_coeffs.G, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(block_large[t], sinr_large_n(snap, p[t], TX_POWER_W, NOISE_W), rtol=1e-12)
        np.testing.assert_allclose(block_rates[t], rates(snap, "szf", p[t], TX_POWER_W, NOISE_W, zf_users="cluster"),
                                   rtol=1e-12)
    # power weights shared by every step broadcast against the block
    np.testing.assert_allclose(sinr_closed_form(csi, "smrt", p[0], TX_POWER_W, NOISE_W)[0], block["smrt"][0],
                               rtol=1e-12)


def test_spectral_efficiency_and_input_errors():
    assert spectral_efficiency(np.array([0.0, 1.0, 3.0])).tolist() == [0.0, 1.0, 2.0]
    csi, mask, p = drop(61, 2, 2, 2, 2)
    with pytest.raises(InputError, match="precoder"):
        sinr_closed_form(csi, "mmse", p, TX_POWER_W, NOISE_W)
    with pytest.raises(InputError, match="cluster_mask"):
        coefficients(csi, "szf", TX_POWER_W, NOISE_W, zf_users="cluster")
    with pytest.raises(InputError, match="zf_users"):
        coefficients(csi, "szf", TX_POWER_W, NOISE_W, cluster_mask=mask, zf_users="visible")
    with pytest.raises(InputError, match="n_draws"):
        montecarlo_sinr_cfmntn(csi, "smrt", p, TX_POWER_W, NOISE_W, 10, np.random.default_rng(0))
