"""Statistical CSI (delay, Doppler, phase, β, κ), channel draws (000 eq 8) and 004's delay phase shifts."""

from __future__ import annotations

from decimal import Decimal, getcontext
from fractions import Fraction

import numpy as np
import pytest
from skyfield.api import wgs84

from simulator.constants import EARTH_ROTATION_RATE, SGP4_MU, SPEED_OF_LIGHT, WGS84_A
from simulator.errors import InputError
from simulator.radio.antenna_frame import slant_range_m
from simulator.radio.aperture import aperture_gain
from simulator.radio.channel import (
    delay_phase_shift,
    draw_channel,
    draw_link_coefficients,
    los_mean,
    reference_delay_s,
    timing_offset,
)
from simulator.radio.csi import LinkDraws, carrier_phase_cycles, compute_statistical_csi, los_phase_rad
from simulator.radio.params import paper000_params, paper004_params
from simulator.radio.statistical_csi import StatisticalCSI
from simulator.radio.steering import steering_vector
from simulator.units import db_to_lin, lin_to_db

USERS_LATLON = ((40.0, -3.0), (41.5, 0.5), (38.0, -6.0))


def _orbit_ecef(t_s: np.ndarray, altitude_m: float, incl_deg: float, raan_deg: float, u0_deg: float):
    """Circular Keplerian orbit seen from the rotating Earth: ECEF position (T, 3) and exact velocity."""
    r = WGS84_A + altitude_m
    n = np.sqrt(SGP4_MU / r**3)
    i, raan, u0 = np.radians([incl_deg, raan_deg, u0_deg])
    u = u0 + n * t_s
    p_orb = np.stack([np.cos(u), np.sin(u), np.zeros_like(u)], axis=-1) * r
    v_orb = np.stack([-np.sin(u), np.cos(u), np.zeros_like(u)], axis=-1) * r * n
    rot_i = np.array([[1, 0, 0], [0, np.cos(i), -np.sin(i)], [0, np.sin(i), np.cos(i)]])
    rot_o = np.array([[np.cos(raan), -np.sin(raan), 0], [np.sin(raan), np.cos(raan), 0], [0, 0, 1]])
    p_in = p_orb @ (rot_o @ rot_i).T
    v_in = v_orb @ (rot_o @ rot_i).T
    g = EARTH_ROTATION_RATE * t_s
    c, s = np.cos(g), np.sin(g)
    zero, one = np.zeros_like(c), np.ones_like(c)
    to_ecef = np.stack([np.stack([c, s, zero], -1), np.stack([-s, c, zero], -1), np.stack([zero, zero, one], -1)], -2)
    omega = np.array([0.0, 0.0, EARTH_ROTATION_RATE])
    pos = np.einsum("tij,tj->ti", to_ecef, p_in)
    vel = np.einsum("tij,tj->ti", to_ecef, v_in - np.cross(omega, p_in))
    return pos, vel


def _constellation(t_s: np.ndarray):
    """Three satellites passing over Iberia, positions and velocities (T, 3, 3)."""
    orbits = [(550e3, 53.0, 340.0, 45.0), (560e3, 53.0, 350.0, 40.0), (1200e3, 87.9, 355.0, 38.0)]
    states = [_orbit_ecef(t_s, *o) for o in orbits]
    return np.stack([s[0] for s in states], axis=-2), np.stack([s[1] for s in states], axis=-2)


@pytest.fixture(scope="module")
def users() -> np.ndarray:
    return np.array([wgs84.latlon(a, o, elevation_m=0.0).itrs_xyz.m for a, o in USERS_LATLON])


def test_delay_and_doppler_match_finite_differences_of_range(users: np.ndarray) -> None:
    t = np.array([100.0])
    dt = 0.01
    pos, vel = _constellation(t)
    params = paper000_params()
    csi = compute_statistical_csi(pos[0], vel[0], users, params=params, rng=np.random.default_rng(0))
    p_plus, _ = _constellation(t + dt)
    p_minus, _ = _constellation(t - dt)
    d_plus = np.linalg.norm(users[None] - p_plus[0][:, None], axis=-1)
    d_minus = np.linalg.norm(users[None] - p_minus[0][:, None], axis=-1)
    range_rate = (d_plus - d_minus) / (2 * dt)
    np.testing.assert_allclose(csi.slant_range_m, np.linalg.norm(users[None] - pos[0][:, None], axis=-1), rtol=1e-15)
    np.testing.assert_allclose(csi.delay_s, csi.slant_range_m / SPEED_OF_LIGHT, rtol=1e-15)
    # central difference: truncation d''' dt²/6 ~ 1e-6 m/s, rounding 1e-10 m / 0.02 s; allow 1e-4 m/s
    np.testing.assert_allclose(-csi.doppler_hz * SPEED_OF_LIGHT / params.frequency_hz, range_rate, atol=1e-4)
    assert np.abs(csi.doppler_hz).max() > 1e4  # LEO Doppler at 5 GHz is tens of kHz


def test_doppler_includes_user_motion(users: np.ndarray) -> None:
    pos, vel = _constellation(np.array([100.0]))
    params = paper000_params()
    still = compute_statistical_csi(pos[0], vel[0], users, params=params, rng=np.random.default_rng(0))
    user_vel = np.zeros_like(users)
    user_vel[0] = [0.0, 0.0, 250.0]  # an aircraft climbing through z
    moving = compute_statistical_csi(pos[0], vel[0], users, user_vel, params=params, rng=np.random.default_rng(0))
    unit = (users[0] - pos[0]) / np.linalg.norm(users[0] - pos[0], axis=-1, keepdims=True)
    expected = -(params.frequency_hz / SPEED_OF_LIGHT) * unit @ user_vel[0]
    np.testing.assert_allclose(moving.doppler_hz[:, 0] - still.doppler_hz[:, 0], expected, atol=1e-6)
    np.testing.assert_array_equal(moving.doppler_hz[:, 1:], still.doppler_hz[:, 1:])


def test_phase_of_eq5_extrapolates_the_carrier_phase(users: np.ndarray) -> None:
    """φ(t0; t = δ) of eq 5 equals the geometric phase −2π f τ(t0 + δ): fixes the sign of ν."""
    params = paper000_params()
    t0, delta = 100.0, 1e-3
    pos0, vel0 = _constellation(np.array([t0]))
    pos1, vel1 = _constellation(np.array([t0 + delta]))
    ahead = compute_statistical_csi(pos0[0], vel0[0], users, t_s=delta, params=params, rng=np.random.default_rng(0))
    later = compute_statistical_csi(pos1[0], vel1[0], users, t_s=0.0, params=params, rng=np.random.default_rng(0))
    err = np.angle(np.exp(1j * (ahead.phase_rad - later.phase_rad)))
    # second-order term π f d'' δ² / c with d'' ≲ 60 m/s² ⇒ ≲ 3e-3 rad; the opposite sign of ν would
    # leave 4π f ḋ δ / c ~ 10³ rad, i.e. a random error
    assert np.abs(err).max() < 0.02
    assert np.all((ahead.phase_rad >= -np.pi) & (ahead.phase_rad < np.pi))


def test_carrier_phase_is_exact_for_float64_inputs() -> None:
    """frac(f d / c) against exact rational arithmetic on the same float64 values."""
    rng = np.random.default_rng(5)
    ranges = np.concatenate([rng.uniform(5e5, 3e6, 40), rng.uniform(3.5e7, 4.2e7, 10)])  # LEO and GEO
    worst, worst_naive = 0.0, 0.0
    for f in (1.6e9, 2e9, 5e9, 12e9, 20e9, 30e9):
        got = carrier_phase_cycles(ranges, f)
        naive = (f * ranges / SPEED_OF_LIGHT) % 1.0
        for d, g, nv in zip(ranges, got, naive):
            exact = Fraction(f) * Fraction(float(d)) / Fraction(int(SPEED_OF_LIGHT))
            frac = exact - (exact.numerator // exact.denominator)
            worst = max(worst, abs(float(((Fraction(float(g)) - frac) + Fraction(1, 2)) % 1 - Fraction(1, 2))))
            worst_naive = max(worst_naive, abs(float(((Fraction(float(nv)) - frac) + Fraction(1, 2)) % 1 - Fraction(1, 2))))
    assert worst < 1e-14  # cycles: TwoProduct keeps the fractional part exact to rounding of ~1
    assert worst_naive > 100 * worst  # the plain product loses digits (~1e-7 cycle at GEO, 30 GHz)


def test_phase_from_ecef_vectors_against_decimal_arithmetic(users: np.ndarray) -> None:
    """End to end: the LOS phase from float64 ECEF positions vs a 50-digit computation of the same."""
    getcontext().prec = 50
    pos, vel = _constellation(np.array([100.0]))
    params = paper000_params(frequency_hz=30e9)
    csi = compute_statistical_csi(pos[0], vel[0], users, params=params, rng=np.random.default_rng(0))
    f = Decimal(params.frequency_hz)
    c = Decimal(int(SPEED_OF_LIGHT))
    for s in range(pos.shape[1]):
        for u in range(users.shape[0]):
            d = sum((Decimal(float(users[u, i])) - Decimal(float(pos[0, s, i]))) ** 2 for i in range(3)).sqrt()
            cycles = -(f * d / c)
            frac = cycles - cycles.to_integral_value(rounding="ROUND_FLOOR")
            err = (float(frac) - csi.phase_rad[s, u] / (2 * np.pi) + 0.5) % 1.0 - 0.5
            assert abs(err) * 2 * np.pi < 1e-6  # rad; ranges of ~1e6 m carry ~1e-10 m of rounding


def _csi_at_elevations(params, elevations_deg, altitude_m=600e3, link_draws=None, rng=None, mask=0.0):
    """One user on the equator, one satellite per elevation in its east-up plane (exact elevations)."""
    user = np.array([[WGS84_A, 0.0, 0.0]])
    el = np.radians(elevations_deg)
    d = slant_range_m(altitude_m, el)
    sats = user + d[:, None] * np.stack([np.sin(el), np.cos(el), 0 * el], axis=-1)
    vel = np.cross(np.array([0.0, 0.0, 1.0]), sats)
    vel = 7.6e3 * vel / np.linalg.norm(vel, axis=-1, keepdims=True)
    return compute_statistical_csi(sats, vel, user, params=params, link_draws=link_draws, rng=rng, min_elevation_deg=mask)


def test_tr38811_kappa_hits_table_values_at_grid_elevations() -> None:
    grid = np.arange(10.0, 91.0, 10.0)
    zeros = np.zeros((grid.size, 1))
    draws = LinkDraws(zeros + 0.5, zeros, zeros, zeros)
    for env, band, mu in (("dense_urban", "S", (4.4, 9.0, 9.3, 7.9, 7.4, 7.0, 6.9, 6.5, 6.8)),
                          ("rural", "Ka", (25.43, 12.72, 8.4, 6.52, 5.24, 4.57, 4.02, 3.7, 3.62))):
        csi = _csi_at_elevations(paper000_params(kappa_model="tr38811", environment=env, band=band), grid, link_draws=draws)
        np.testing.assert_allclose(csi.elevation_rad[:, 0], np.radians(grid), atol=1e-12)
        np.testing.assert_allclose(lin_to_db(csi.kappa[:, 0]), mu, atol=1e-9)  # Tables 6.7.2-1a, 6.7.2-4b
    # draws of z = 1 shift κ by exactly σ_K
    ones = LinkDraws(zeros + 0.5, zeros + 1.0, zeros, zeros)
    csi = _csi_at_elevations(paper000_params(kappa_model="tr38811", environment="dense_urban"), grid, link_draws=ones)
    np.testing.assert_allclose(lin_to_db(csi.kappa[:, 0]), np.add((4.4, 9.0, 9.3, 7.9, 7.4, 7.0, 6.9, 6.5, 6.8),
                                                                   (3.3, 6.6, 6.1, 4.0, 3.0, 2.6, 2.2, 2.1, 1.9)), atol=1e-9)


def test_uniform_kappa_of_000_stays_in_range(users: np.ndarray) -> None:
    rng = np.random.default_rng(8)
    pos = rng.normal(size=(60, 3))
    pos = (WGS84_A + 550e3) * pos / np.linalg.norm(pos, axis=-1, keepdims=True)
    vel = np.cross(pos, rng.normal(size=(60, 3)))
    many_users = np.concatenate([users] * 10)
    csi = compute_statistical_csi(pos, vel, many_users, params=paper000_params(), rng=rng)
    k_db = lin_to_db(csi.kappa)
    assert k_db.min() >= 15.0 and k_db.max() <= 20.0
    # 1800 U(15, 20) draws: mean 17.5 ± 3·1.44/√1800 = 0.10 dB; the extremes come within 0.05 dB of the ends
    assert k_db.mean() == pytest.approx(17.5, abs=0.11)
    assert k_db.min() < 15.05 and k_db.max() > 19.95


def test_visibility_mask_and_beta(users: np.ndarray) -> None:
    params = paper000_params()
    csi = _csi_at_elevations(params, [5.0, 20.0, 60.0], mask=10.0, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(csi.visible[:, 0], [False, True, True])
    assert csi.beta[0, 0] == 0.0 and np.all(csi.v[0] == 0.0)
    # β = G^sat G^ue / (L^free L^abs) of 000 Sec. II-B, recomputed here from its definition
    d = csi.slant_range_m[1:, 0]
    l_free = (4 * np.pi * params.frequency_hz * d / SPEED_OF_LIGHT) ** 2
    l_abs_db = 0.040 / np.sin(np.radians([20.0, 60.0]))
    expected = db_to_lin(3.0 - l_abs_db) / l_free
    np.testing.assert_allclose(csi.beta[1:, 0], expected, rtol=0.002)  # the shell path differs from csc by < 0.2 %
    np.testing.assert_allclose(csi.v, csi.beta / (csi.kappa + 1.0))


def test_aperture_pattern_enters_beta_at_the_off_nadir_angle() -> None:
    params = paper004_params(shadowing=False)
    csi = _csi_at_elevations(params, [89.0, 88.0, 85.0])
    ref = _csi_at_elevations(params.replace(aperture_radius_m=None), [89.0, 88.0, 85.0])
    off_nadir = np.arccos(np.sin(csi.theta_rad) * np.sin(csi.phi_rad))
    np.testing.assert_allclose(csi.beta / ref.beta, aperture_gain(off_nadir, params.aperture_radius_m, 2e9), rtol=1e-12)
    assert csi.beta[0, 0] / ref.beta[0, 0] < 0.99  # the 10 λ aperture is narrow: 1° off nadir loses gain


def test_beam_pointed_at_a_target_gives_full_gain_there_and_minus_3db_at_half_beamwidth(users) -> None:
    from scipy.optimize import brentq

    from simulator.radio.aperture import beamwidth_3db_rad

    params = paper004_params(shadowing=False)
    pos, vel = _constellation(np.array([100.0]))
    target = users[0]
    half_bw = beamwidth_3db_rad(params.aperture_radius_m, params.frequency_hz) / 2.0
    sat = pos[0, 0]
    # A ground point along the meridian whose direction is exactly half a beamwidth off the beam axis.
    axis = (target - sat) / np.linalg.norm(target - sat)

    def ground(dlat):
        return wgs84.latlon(USERS_LATLON[0][0] + dlat, USERS_LATLON[0][1]).itrs_xyz.m

    def off_axis(dlat):
        d = ground(dlat) - sat
        return np.arccos(d @ axis / np.linalg.norm(d)) - half_bw

    edge = ground(brentq(off_axis, 0.0, 5.0, xtol=1e-12))
    pts = np.stack([target, edge])
    kw = dict(params=params, min_elevation_deg=0.0)
    pointed = compute_statistical_csi(pos[0, :1], vel[0, :1], pts, beam_target_m=target, **kw)
    ref = compute_statistical_csi(pos[0, :1], vel[0, :1], pts, **dict(kw, params=params.replace(aperture_radius_m=None)))
    gain_db = lin_to_db(pointed.beta / ref.beta)[0]
    assert abs(gain_db[0]) < 1e-9  # on the beam axis: the peak
    assert abs(gain_db[1] + 3.0) < 1e-3  # half a 3-dB beamwidth off the axis (TR 38.811 §6.4.1)
    # A per-satellite target array (S, 3) gives the same numbers as a shared (3,) target.
    per_sat = compute_statistical_csi(pos[0, :1], vel[0, :1], pts, beam_target_m=target[None], **kw)
    np.testing.assert_array_equal(per_sat.beta, pointed.beta)


def test_random_models_need_a_generator_and_draws_are_shared(users: np.ndarray) -> None:
    pos, vel = _constellation(np.array([100.0]))
    with pytest.raises(InputError, match="rng"):
        compute_statistical_csi(pos[0], vel[0], users, params=paper000_params())
    constant = compute_statistical_csi(pos[0], vel[0], users, params=paper000_params(kappa_model="constant", kappa_db=12.0))
    np.testing.assert_allclose(lin_to_db(constant.kappa), 12.0)
    # switching shadowing on must not change the κ draws (fixed draw order)
    a = compute_statistical_csi(pos[0], vel[0], users, params=paper000_params(), rng=np.random.default_rng(3))
    b = compute_statistical_csi(pos[0], vel[0], users, params=paper000_params(shadowing=True), rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.kappa, b.kappa)
    assert not np.allclose(a.beta[a.visible], b.beta[a.visible], rtol=1e-3, atol=0.0)


def test_tr38811_los_state_and_shadowing_statistics() -> None:
    """LOS share follows Table 6.6.1-1; NLOS links are Rayleigh (κ = 0) with clutter loss; SF has σ_SF."""
    n = 4000
    el = np.full(n, 30.0)
    params = paper000_params(los_model="tr38811", kappa_model="tr38811", environment="urban", band="S", shadowing=True)
    csi = _csi_at_elevations(params, el, rng=np.random.default_rng(21))
    los = csi.kappa[:, 0] > 0
    # P_LOS(30°) = 0.493 (urban); binomial std √(p(1−p)/n) = 0.008
    assert los.mean() == pytest.approx(0.493, abs=0.03)
    ref = _csi_at_elevations(paper000_params(), el, rng=np.random.default_rng(21))
    excess_db = lin_to_db(ref.beta[:, 0] / csi.beta[:, 0])
    # LOS: shadowing N(0, 4 dB); NLOS: CL 29.0 dB + N(0, 6 dB) (Table 6.6.2-2); 4-σ sampling bounds
    assert excess_db[los].mean() == pytest.approx(0.0, abs=4 * 4.0 / np.sqrt(los.sum()))
    assert excess_db[los].std() == pytest.approx(4.0, rel=0.08)
    assert excess_db[~los].mean() == pytest.approx(29.0, abs=4 * 6.0 / np.sqrt((~los).sum()))
    assert excess_db[~los].std() == pytest.approx(6.0, rel=0.08)


def _small_csi() -> StatisticalCSI:
    theta = np.array([[1.2, 1.7], [1.5, 2.0]])
    phi = np.array([[1.4, 0.9], [1.6, 2.2]])
    shape = theta.shape
    beta = np.array([[2e-16, 5e-17], [1e-16, 0.0]])
    return StatisticalCSI(
        beta=beta, kappa=np.array([[3.0, 30.0], [0.5, 10.0]]), steering=steering_vector(theta, phi, 2, 2),
        phase_rad=np.array([[0.3, -2.9], [1.7, 0.0]]), delay_s=np.full(shape, 2e-3), doppler_hz=np.zeros(shape),
        theta_rad=theta, phi_rad=phi, elevation_rad=np.full(shape, 0.8), slant_range_m=np.full(shape, 6e5),
        visible=beta > 0,
    )


def test_channel_draws_have_the_mean_and_covariance_of_eq8() -> None:
    csi = _small_csi()
    n = 20_000
    h = draw_channel(csi, n, np.random.default_rng(12))
    assert h.shape == (n, 2, 2, 4)
    mean = los_mean(csi)
    v = csi.v[..., None]
    # per element the sample mean has std √(v / n): allow 4.5 σ
    scale = np.sqrt(np.where(v > 0, v, 1.0) / n)
    assert np.all(np.abs(h.mean(axis=0) - mean) <= 4.5 * scale)
    centred = h - mean
    cov = np.einsum("n...i,n...j->...ij", centred, centred.conj()) / n
    a = csi.steering
    expected = csi.v[..., None, None] * a[..., :, None] * a[..., None, :].conj()  # v a a^H
    tol = 4.5 * csi.v[..., None, None] / np.sqrt(n)  # each entry is a mean of n terms of std v
    assert np.all(np.abs(cov - expected) <= tol + 1e-300)
    # total power E‖h‖² = β N  (v (κ + 1) = β, |a|² = N)
    power = np.mean(np.sum(np.abs(h) ** 2, axis=-1), axis=0)
    # relative std of the sample mean of |g|² is √(1 + 2κ)/(κ + 1)/√n ≤ 1/√n: allow 4.5 of it
    np.testing.assert_allclose(power, 4 * csi.beta, rtol=4.5 / np.sqrt(n), atol=1e-300)
    assert np.all(h[:, 1, 1] == 0.0)  # β = 0: no channel


def test_link_coefficients_and_vectors_share_draws() -> None:
    csi = _small_csi()
    g = draw_link_coefficients(csi, 5, np.random.default_rng(2))
    h = draw_channel(csi, 5, np.random.default_rng(2))
    np.testing.assert_array_equal(h, g[..., None] * csi.steering)


def test_delay_phase_shift_matches_los_phase_differences(users: np.ndarray) -> None:
    """004 eqs 7–8: e^{−j2πfΔτ} equals the ratio of the LOS phases of eq 5 (at t = 0) of the two links."""
    pos, vel = _constellation(np.array([100.0]))
    params = paper000_params(frequency_hz=2e9)
    csi = compute_statistical_csi(pos[0], vel[0], users, params=params, rng=np.random.default_rng(0))
    ref = reference_delay_s(csi.delay_s, csi.visible)
    assert ref.shape == (1, users.shape[0])
    shift = delay_phase_shift(csi.delay_s, ref, params.frequency_hz)
    earliest = np.argmin(np.where(csi.visible, csi.delay_s, np.inf), axis=0)
    phase_ref = np.take_along_axis(csi.phase_rad, earliest[None], axis=0)
    # float delays of ~2e-3 s differ from the exact ones by ~4e-19 s: 5e-9 rad at 2 GHz
    np.testing.assert_allclose(shift, np.exp(1j * (csi.phase_rad - phase_ref)), atol=1e-7)
    np.testing.assert_allclose(np.abs(shift), 1.0, atol=1e-15)
    np.testing.assert_allclose(np.take_along_axis(shift, earliest[None], axis=0), 1.0)
    # compensation: the precoder multiplied by the predicted shift cancels the conjugate in h̃^H
    np.testing.assert_allclose(np.conj(shift) * shift, 1.0, atol=1e-15)
    rsap = np.array([2, 0, 1])
    ref_rsap = reference_delay_s(csi.delay_s, rsap_index=rsap)
    np.testing.assert_array_equal(ref_rsap[0], csi.delay_s[rsap, np.arange(3)])
    offset = timing_offset(csi.delay_s, ref_rsap, 1 / 30e3)
    range_diff = csi.slant_range_m - csi.slant_range_m[rsap, np.arange(3)]
    np.testing.assert_allclose(offset, range_diff / SPEED_OF_LIGHT * 30e3, rtol=1e-9)


def test_los_phase_wraps_large_doppler_times_time() -> None:
    """t ν of ~10⁶ cycles keeps full precision: φ(t) − φ(0) = 2π frac(t ν)."""
    d = np.array([7.3e5, 1.1e6])
    nu = np.array([43_211.125, -12_345.5])
    t = 37.25
    got = los_phase_rad(d, nu, t, 5e9) - los_phase_rad(d, nu, 0.0, 5e9)
    expected = 2 * np.pi * np.array([float(Fraction(t) * Fraction(x) % 1) for x in nu])
    np.testing.assert_allclose(np.angle(np.exp(1j * (got - expected))), 0.0, atol=1e-9)


def test_without_steering_everything_else_is_unchanged(users: np.ndarray) -> None:
    params = paper000_params(n_h=4, n_v=4)
    rng = np.random.default_rng(5)
    sat = np.array([[7.0e6, 0.0, 0.0], [6.9e6, 4.0e5, 3.0e5]])
    vel = np.array([[0.0, 7.5e3, 0.0], [0.0, 0.0, 7.5e3]])
    draws = LinkDraws(*(rng.uniform(size=(2, len(users))) for _ in range(4)))
    full = compute_statistical_csi(sat, vel, users, params=params, link_draws=draws)
    lean = compute_statistical_csi(sat, vel, users, params=params, link_draws=draws, with_steering=False)
    for name in ("beta", "kappa", "phase_rad", "delay_s", "doppler_hz", "theta_rad", "phi_rad", "elevation_rad"):
        np.testing.assert_array_equal(getattr(lean, name), getattr(full, name), err_msg=name)
    assert lean.steering.shape == full.steering.shape and not lean.steering.any()
    assert np.abs(full.steering).min() > 0.0
