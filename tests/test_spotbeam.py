"""Spot-beam benchmark (000 Sec. II-C.1, VI): beam grid, best-beam association, SINR vs Monte-Carlo.

Snapshots come from the radio layer (``leo_snapshot``) with 000's set-up (8 × 8 UPA at λ/2, 5 GHz,
550 km, 10° mask). Monte-Carlo precision: 96 000 draws of the link coefficients g (h = g a, 000
eq 8) in 16 groups; standard error < 0.5 % of the SINR, relative error < 2 % and < 5 standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from leo_snapshot import snapshot, subsatellite_points, user_positions

from simulator.cooperation.coefficients import sinr
from simulator.cooperation.single import coefficients_single
from simulator.cooperation.spotbeam import (
    beam_weights,
    beamwidth_3db,
    hex_beam_grid,
    max_off_nadir_rad,
    montecarlo_sinr_spotbeam,
    select_beams,
    spotbeam_precoders,
    spotbeam_rates,
)
from simulator.errors import InputError
from simulator.radio.params import paper000_params
from simulator.radio.steering import steering_vector

PARAMS = paper000_params()
TX_POWER_W = PARAMS.tx_power_w
NOISE_W = PARAMS.noise_power_w
FOV = max_off_nadir_rad(550e3, np.radians(10.0))


def grid_weights(n_beams: int = 64) -> np.ndarray:
    return beam_weights(hex_beam_grid(n_beams, FOV), PARAMS.n_h, PARAMS.n_v)


@pytest.mark.parametrize("n_beams", [64, 48])
def test_hexagonal_grid_covers_the_field_of_view(n_beams: int) -> None:
    centres = hex_beam_grid(n_beams, FOV)
    assert centres.shape == (n_beams, 2)
    assert np.allclose(centres[0], 0.0)                                  # first beam at nadir
    dist = np.linalg.norm(centres[:, None] - centres[None], axis=-1) + np.eye(n_beams) * 9
    nearest = dist.min(axis=1)
    assert np.allclose(nearest, nearest[0], rtol=1e-9)                   # a regular lattice
    area = n_beams * np.sqrt(3) / 2 * nearest[0] ** 2
    assert area == pytest.approx(np.pi * np.sin(FOV) ** 2, rel=1e-9)      # n hexagons = FoV disk
    # directions spread uniformly over the field of view: ≥ 85 % lie within a hexagon circumradius
    # of a beam centre (inside a cell), all within 2 circumradii (the rim beyond the last ring)
    ring = np.linspace(0, 2 * np.pi, 400)
    probe = np.sin(FOV) * np.sqrt(np.linspace(0, 1, 60))[:, None, None] * np.stack(
        [np.cos(ring), np.sin(ring)], -1)[None]
    gap = np.linalg.norm(probe.reshape(-1, 1, 2) - centres[None], axis=-1).min(axis=1)
    circumradius = nearest[0] / np.sqrt(3)
    assert np.mean(gap <= circumradius * (1 + 1e-9)) >= 0.85
    assert gap.max() < 2.0 * circumradius


def test_beamwidth_of_the_upa_beam() -> None:
    width = beamwidth_3db(PARAMS.n_h)
    assert width == pytest.approx(0.2230, abs=1e-4)
    # the beam towards nadir, evaluated with the radio layer's steering vector at ± half a width
    w = grid_weights()[0]
    for c_y, c_x in [(width / 2, 0.0), (0.0, -width / 2)]:
        theta, phi = np.arccos(c_x), np.arctan2(np.sqrt(1 - c_x**2 - c_y**2), c_y)
        a = steering_vector(theta, phi, PARAMS.n_h, PARAMS.n_v)
        gain = np.abs(np.vdot(a, w)) ** 2 / PARAMS.n_ant                 # relative to the peak N
        assert 10 * np.log10(gain) == pytest.approx(-3.0103, abs=1e-3)
    with pytest.raises(InputError):
        beam_weights(np.array([[0.8, 0.7]]), 8, 8)                       # outside the hemisphere


def test_user_picks_the_beam_of_maximum_received_power() -> None:
    rng = np.random.default_rng(3)
    users = user_positions(rng, 12)
    csi = snapshot(21, 8, 12, PARAMS, users_m=users)
    weights = grid_weights()
    serving, beam, _ = select_beams(csi, weights)
    for k in range(csi.n_user):                                          # brute force, one link at a time
        best, best_power = None, -1.0
        for sat in range(csi.n_sat):
            a = steering_vector(csi.theta_rad[sat, k], csi.phi_rad[sat, k], PARAMS.n_h, PARAMS.n_v)
            for b in range(weights.shape[0]):
                power = csi.beta[sat, k] * np.abs(np.vdot(a, weights[b])) ** 2
                if power > best_power:
                    best, best_power = (sat, b), power
        assert (serving[k], beam[k]) == best
    # a user right below satellite 0 takes that satellite's nadir beam
    csi0 = snapshot(21, 8, 1, PARAMS, users_m=subsatellite_points(21, 8)[:1])
    serving0, beam0, _ = select_beams(csi0, weights)
    assert (serving0[0], beam0[0]) == (0, 0)


def test_closed_form_matches_montecarlo() -> None:
    csi = snapshot(22, 8, 10, PARAMS)
    weights = grid_weights()
    res = spotbeam_rates(csi, weights, TX_POWER_W, NOISE_W)
    assert res.served.all() and len(set(res.serving_sat.tolist())) >= 2          # inter-satellite interference
    mc = montecarlo_sinr_spotbeam(csi, weights, res.serving_sat, res.beam, res.beam_power, TX_POWER_W, NOISE_W,
                                  96_000, np.random.default_rng(5), n_groups=16, batch_draws=2000)
    assert (mc.sinr_stderr / mc.sinr).max() < 0.005
    assert np.abs(res.sinr / mc.sinr - 1).max() < 0.02
    assert (np.abs(res.sinr - mc.sinr) / mc.sinr_stderr).max() < 5.0


def test_power_split_time_sharing_and_coefficient_form() -> None:
    rng = np.random.default_rng(7)
    users = user_positions(rng, 6)
    users = np.concatenate([users, users[:1]])                           # user 6 sits on user 0
    csi = snapshot(23, 6, 7, PARAMS, users_m=users)
    res = spotbeam_rates(csi, grid_weights(), TX_POWER_W, NOISE_W)
    assert (res.serving_sat[6], res.beam[6]) == (res.serving_sat[0], res.beam[0])
    assert res.n_share[0] == res.n_share[6] == 2                         # (κ is drawn per link: SINRs differ)
    assert np.allclose(res.se_bps_hz, np.log2(1 + res.sinr) / res.n_share)
    total = res.beam_power.sum(axis=-1)
    active_sats = np.unique(res.serving_sat)
    assert np.allclose(total[active_sats], 1.0) and np.allclose(np.delete(total, active_sats), 0.0)
    n_active = (res.beam_power > 0).sum(axis=-1)
    assert np.allclose(res.beam_power[res.beam_power > 0], 1.0 / np.repeat(n_active, n_active))
    # the same SINR through the coefficient form, for the users that do not share a beam
    keep = np.arange(6)
    sub = type(csi)(**{f: getattr(csi, f)[:, keep] for f in csi.__dataclass_fields__})
    res_sub = spotbeam_rates(sub, grid_weights(), TX_POWER_W, NOISE_W)
    assert (res_sub.n_share == 1).all()
    w = spotbeam_precoders(grid_weights(), res_sub.serving_sat, res_sub.beam, sub.n_sat)
    coeffs = coefficients_single(sub, res_sub.serving_sat, w, TX_POWER_W, NOISE_W)
    p = np.sqrt(np.take_along_axis(res_sub.beam_power, res_sub.beam[None, :], axis=-1))
    assert np.allclose(sinr(coeffs, p), res_sub.sinr, rtol=1e-10, atol=0.0)


def test_block_equals_snapshots_and_unserved_users() -> None:
    times = np.array([0.0, 20.0, 40.0])
    block = snapshot(24, 6, 5, PARAMS, times_s=times)
    res = spotbeam_rates(block, grid_weights(), TX_POWER_W, np.full(3, NOISE_W))
    for t in range(3):
        snap = type(block)(**{f: getattr(block, f)[t] for f in block.__dataclass_fields__})
        one = spotbeam_rates(snap, grid_weights(), TX_POWER_W, NOISE_W)
        for field in ("sinr", "serving_sat", "beam", "n_share", "beam_power"):
            assert np.array_equal(getattr(one, field), getattr(res, field)[t])
    # a user far away from every satellite: no beam, SINR 0, not NaN
    far = snapshot(25, 4, 1, PARAMS, spread_deg=1.0, users_m=np.array([[0.0, 6378137.0, 0.0]]))
    out = spotbeam_rates(far, grid_weights(), TX_POWER_W, NOISE_W)
    assert not out.served[0] and out.sinr[0] == 0.0 and out.se_bps_hz[0] == 0.0
