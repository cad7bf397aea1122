"""Fig. 5 baselines of 000 (distance clustering, uniform power), the drop geometry, and Algorithm 1 on
000's set-up against distance clustering."""

from __future__ import annotations

import numpy as np
import pytest
from test_algorithm1 import assert_valid, synthetic_coefficients

from simulator.constants import EARTH_ROTATION_RATE, SGP4_MU, WGS84_A
from simulator.cooperation.algorithm1 import algorithm1, sca_power
from simulator.cooperation.baselines import (
    BASELINES,
    alg1_uniform,
    distance_clusters,
    distance_sca,
    distance_uniform,
    uniform_decision,
)
from simulator.cooperation.coefficients import SinrCoefficients
from simulator.cooperation.rates_cfmntn import coefficients
from simulator.errors import InputError
from simulator.experiments.drops import advance, paper000_drop
from simulator.orbits.geodesy import ecef_to_geodetic
from simulator.radio.csi import compute_statistical_csi
from simulator.radio.params import paper000_params

K_MAX = 8  # 000 Sec. VI-A


def test_distance_clusters_respect_kmax_mask_and_nearest_first():
    rng = np.random.default_rng(0)
    dist = rng.uniform(550e3, 1200e3, size=(12, 7))
    allowed = rng.random((12, 7)) < 0.7
    allowed[:, 3] = False
    for k_max in (1, 3, 7):
        c = distance_clusters(dist, k_max, allowed)
        assert np.all(c.sum(axis=1) <= k_max)
        assert not np.any(c & ~allowed) and not c[:, 3].any()
    # Without a binding K_max every user gets all its allowed satellites, with n_per_user = 1 its nearest.
    np.testing.assert_array_equal(distance_clusters(dist, 7, allowed), allowed)
    one = distance_clusters(dist, 7, allowed, n_per_user=1)
    nearest = np.argmin(np.where(allowed, dist, np.inf), axis=0)
    served = allowed.any(axis=0)
    np.testing.assert_array_equal(one[:, served].argmax(axis=0), nearest[served])
    assert np.all(one.sum(axis=0) == served)
    # With K_max = 1 a satellite wanted by several users in round 1 takes the nearest of them.
    c = distance_clusters(np.array([[1.0, 2.0], [5.0, 9.0]]), 1)
    assert c.tolist() == [[True, False], [False, True]]


def test_uniform_power_and_fixed_cluster_power():
    coeffs = synthetic_coefficients(np.random.default_rng(1), 8, 5)
    dist = np.random.default_rng(2).uniform(5e5, 1e6, size=(8, 5))
    u = distance_uniform(coeffs, 3, distance_m=dist)
    assert u.status == "uniform"
    assert_valid(u, coeffs, 3)
    loads = u.cluster.sum(axis=1)
    np.testing.assert_allclose(np.sum(u.power**2, axis=1)[loads > 0], 1.0)  # 000 eq 14 with equality
    np.testing.assert_allclose(u.power[u.cluster], np.repeat(1 / np.sqrt(loads), loads)[np.argsort(np.argsort(np.nonzero(u.cluster)[0], kind="stable"))])
    s = distance_sca(coeffs, 3, distance_m=dist)
    assert s.status == "optimal"
    assert_valid(s, coeffs, 3)
    np.testing.assert_array_equal(s.cluster, u.cluster)
    assert s.min_sinr >= u.min_sinr  # max-min power beats uniform power on the same clusters
    with pytest.raises(InputError, match="distance_m"):
        distance_sca(coeffs, 3)


def test_alg1_uniform_uses_algorithm1_clusters():
    coeffs = synthetic_coefficients(np.random.default_rng(3), 8, 5)
    d = algorithm1(coeffs, 3)
    u = alg1_uniform(coeffs, 3)
    np.testing.assert_array_equal(u.cluster, d.cluster)
    assert_valid(u, coeffs, 3)
    assert u.min_sinr <= d.min_sinr * (1 + 1e-9)
    assert (u.inner_iters, u.outer_iters) == (d.inner_iters, d.outer_iters)
    assert set(BASELINES) == {"distance-sca", "distance-uniform", "alg1-uniform"}


def test_uniform_decision_leaves_out_dead_links():
    coeffs = synthetic_coefficients(np.random.default_rng(4), 4, 3)
    b = coeffs.b.copy()
    b[:, 1] = 0.0
    d = uniform_decision(SinrCoefficients(b=b, G=coeffs.G, noise=coeffs.noise), np.ones((4, 3), dtype=bool))
    assert not d.cluster[:, 1].any() and d.sinr[1] == 0.0
    np.testing.assert_allclose(d.power[:, [0, 2]], 1 / np.sqrt(2))


def test_paper000_drop_geometry():
    rng = np.random.default_rng(5)
    sat, vel, user = paper000_drop(rng)
    assert sat.shape == vel.shape == (20, 3) and user.shape == (10, 3)
    _, _, h = ecef_to_geodetic(sat)
    np.testing.assert_allclose(h, 550e3, atol=1e-3)  # m: placed at the altitude exactly
    _, _, hu = ecef_to_geodetic(user)
    np.testing.assert_allclose(hu, 0.0, atol=1e-3)
    centre = np.array([1.0, 0.0, 0.0])  # (0°, 0°)
    ground = WGS84_A * np.arccos(user @ centre / np.linalg.norm(user, axis=1))
    assert ground.max() <= 200e3 * (1 + 1e-9)
    sub = WGS84_A * np.arccos(sat @ centre / np.linalg.norm(sat, axis=1))
    assert sub.max() <= 350e3 * np.sqrt(2) * (1 + 1e-9)
    inertial = vel + np.cross([0.0, 0.0, EARTH_ROTATION_RATE], sat)
    np.testing.assert_allclose(np.linalg.norm(inertial, axis=1), np.sqrt(SGP4_MU / (WGS84_A + 550e3)), rtol=1e-12)
    np.testing.assert_allclose(np.sum(inertial * sat, axis=1), 0.0, atol=1e-3 * 7.6e3 * 7e6)  # horizontal
    sat2, vel2 = advance(sat, vel, 1.0)
    np.testing.assert_allclose(np.linalg.norm(sat2, axis=1), np.linalg.norm(sat, axis=1), rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(sat2 - sat, axis=1), np.linalg.norm(vel, axis=1) * 1.0, rtol=1e-6)


@pytest.fixture(scope="module")
def paper000_runs():
    """Algorithm 1 and distance-SCA on three drops of 000's set-up (sMRT, K_max = 8)."""
    params = paper000_params()
    runs = []
    for seed in range(3):
        rng = np.random.default_rng(100 + seed)
        sat, vel, user = paper000_drop(rng)
        csi = compute_statistical_csi(sat, vel, user, params=params, rng=rng)
        coeffs = coefficients(csi, "smrt", params.tx_power_w, params.noise_power_w)
        runs.append((coeffs, algorithm1(coeffs, K_MAX), distance_sca(coeffs, K_MAX, distance_m=csi.slant_range_m)))
    return runs


def test_algorithm1_beats_distance_clustering_on_paper000(paper000_runs):
    alg = [np.log2(1 + a.min_sinr) for _, a, _ in paper000_runs]
    dist = [np.log2(1 + d.min_sinr) for _, _, d in paper000_runs]
    for coeffs, a, d in paper000_runs:
        assert a.status == "optimal" and d.status == "optimal"
        assert_valid(a, coeffs, K_MAX)
        assert_valid(d, coeffs, K_MAX)
    assert np.mean(alg) > np.mean(dist)  # 000 Fig. 5: Algorithm 1 above distance + SCA


def test_algorithm1_converges_within_35_iterations_on_paper000(paper000_runs):
    totals = [a.total_iters for _, a, _ in paper000_runs]  # 000 Fig. 10: within 35
    assert sum(t <= 35 for t in totals) >= 2, totals


def test_sca_power_is_the_optimum_for_the_distance_clusters(paper000_runs):
    coeffs, _, d = paper000_runs[0]
    tight = sca_power(coeffs, d.cluster, tol=1e-7, inner="dinkelbach")
    assert d.min_sinr == pytest.approx(tight.min_sinr, rel=2e-3)  # default tol 1e-3 per step


def test_doctests():
    import doctest

    from simulator.cooperation import baselines
    from simulator.experiments import drops

    for module in (baselines, drops):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0
