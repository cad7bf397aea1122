"""The second stage after max-min power: more sum SE at the same minimum SINR (cooperation.sumstage)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy.optimize import minimize

from simulator.cooperation import sumstage
from simulator.cooperation.algorithm1 import sca_power
from simulator.cooperation.baselines import distance_sca
from simulator.cooperation.coefficients import SinrCoefficients, phase_averaged, sinr
from simulator.cooperation.sumstage import max_sum_above_floor


def _random_case(seed: int, n_sat: int = 5, n_user: int = 4, rows: int = 3):
    rng = np.random.default_rng(seed)
    coeffs = SinrCoefficients(b=rng.uniform(0.2, 1.0, (n_sat, n_user)),
                              G=rng.uniform(0.0, 0.3, (n_user, n_user, rows, n_sat)), noise=0.3)
    cluster = rng.random((n_sat, n_user)) < 0.7
    cluster[0] = True  # every user has a link
    return coeffs, cluster, sca_power(coeffs, cluster, tol=1e-7, inner="dinkelbach").power


def _sum_se(coeffs: SinrCoefficients, p: np.ndarray) -> float:
    return float(np.sum(np.log2(1.0 + sinr(coeffs, p))))


def _slsqp(coeffs: SinrCoefficients, cluster: np.ndarray, p0: np.ndarray) -> float:
    """The same problem by a general nonlinear solver (numerical gradients) from the same start."""
    links = np.flatnonzero(cluster.ravel())
    floor = sinr(coeffs, p0).min()

    def power(x):
        p = np.zeros(cluster.size)
        p[links] = x
        return p.reshape(cluster.shape)

    res = minimize(lambda x: -_sum_se(coeffs, power(x)), p0.ravel()[links], method="SLSQP",
                   bounds=[(0.0, 1.0)] * links.size, options={"maxiter": 500, "ftol": 1e-10},
                   constraints=[{"type": "ineq", "fun": lambda x: sinr(coeffs, power(x)) / floor - 1.0 + 1e-9},
                                {"type": "ineq", "fun": lambda x: 1.0 - np.sum(power(x) ** 2, axis=1)}])
    return _sum_se(coeffs, power(res.x))


@pytest.mark.parametrize("seed", range(4))
def test_the_stage_keeps_every_floor_and_budget_and_gets_most_of_a_general_solvers_gain(seed):
    coeffs, cluster, p0 = _random_case(seed)
    floor = sinr(coeffs, p0).min()
    p, improved = max_sum_above_floor(coeffs, p0, cluster)
    assert improved
    assert sinr(coeffs, p).min() >= floor * (1 - sumstage.FLOOR_SLACK)  # the minimum is kept
    assert np.sum(p**2, axis=1).max() <= 1 + 1e-6 and p.min() >= 0 and not p[~cluster].any()
    start, ours, general = _sum_se(coeffs, p0), _sum_se(coeffs, p), _slsqp(coeffs, cluster, p0)
    assert ours > start
    assert ours - start >= 0.8 * (general - start)


def test_on_000s_geometry_the_minimum_is_unchanged_and_the_phase_averaged_sum_grows():
    """On a drop of 000's set-up the max-min point of the instantaneous model (000 eq 27) has every
    user at the minimum (nothing to gain); on the phase-averaged model the replays decide on, users
    have room and the sum grows."""
    from simulator.cooperation.rates_cfmntn import coefficients
    from simulator.experiments.drops import paper000_drop
    from simulator.radio.csi import compute_statistical_csi
    from simulator.radio.params import paper000_params

    params = paper000_params()
    rng = np.random.default_rng(7)
    sat, vel, user = paper000_drop(rng)
    csi = compute_statistical_csi(sat, vel, user, params=params, rng=rng)
    coeffs = coefficients(csi, "smrt", params.tx_power_w, params.noise_power_w)
    for model, grows in ((coeffs, False), (phase_averaged(coeffs), True)):
        first = distance_sca(model, 8, distance_m=csi.slant_range_m, max_sum=False)
        both = distance_sca(model, 8, distance_m=csi.slant_range_m)
        assert both.cluster.tolist() == first.cluster.tolist()
        assert sinr(model, both.power).min() >= sinr(model, first.power).min() * (1 - sumstage.FLOOR_SLACK)
        assert _sum_se(model, both.power) >= _sum_se(model, first.power)
        if grows:
            assert _sum_se(model, both.power) > _sum_se(model, first.power) + 0.05  # bit/s/Hz, 10 users
            assert "max sum SE" in both.reason


def test_nothing_to_gain_or_nothing_to_serve_returns_the_given_power():
    # one satellite, two users, no interference: the max-min point is already Pareto-optimal
    coeffs = SinrCoefficients(b=np.array([[2.0, 1.0]]), G=np.zeros((2, 2, 1, 1)), noise=1.0)
    p0 = np.sqrt([[0.2, 0.8]])
    p, improved = max_sum_above_floor(coeffs, p0, np.ones((1, 2), bool))
    assert not improved and p is not None and np.array_equal(p, p0)
    empty = np.zeros((1, 2), bool)
    assert max_sum_above_floor(coeffs, p0, empty)[1] is False
    bad = SinrCoefficients(b=coeffs.b, G=coeffs.G, noise=float("nan"))
    assert max_sum_above_floor(bad, p0, np.ones((1, 2), bool))[1] is False


def test_doctests():
    result = doctest.testmod(sumstage)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("seed", range(3))
def test_a_lower_floor_share_trades_a_bounded_minimum_for_more_sum(seed):
    coeffs, cluster, p0 = _random_case(seed)
    floor = sinr(coeffs, p0).min()
    exact, _ = max_sum_above_floor(coeffs, p0, cluster)
    relaxed, improved = max_sum_above_floor(coeffs, p0, cluster, floor_share=0.9)
    assert improved
    assert sinr(coeffs, relaxed).min() >= 0.9 * floor * (1 - sumstage.FLOOR_SLACK)
    assert _sum_se(coeffs, relaxed) >= _sum_se(coeffs, exact) - 1e-6


def test_the_floor_share_is_checked_and_reaches_distance_sca_from_replays():
    from simulator.cooperation.decision import DecideContext
    from simulator.scenario import EventsConfig

    coeffs, cluster, p0 = _random_case(0)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="floor_share"):
            max_sum_above_floor(coeffs, p0, cluster, floor_share=bad)
        with pytest.raises(ValueError, match="sum_stage_floor"):
            DecideContext(tx_power_w=1.0, noise_w=1.0, sum_stage_floor=bad)
    d = np.random.default_rng(3).uniform(5e5, 2e6, cluster.shape)
    first = distance_sca(coeffs, 3, distance_m=d, max_sum=False)
    relaxed = distance_sca(coeffs, 3, distance_m=d, floor_share=0.9)
    assert relaxed.min_sinr == pytest.approx(sinr(coeffs, relaxed.power)[relaxed.cluster.any(axis=0)].min())
    assert 0.9 * first.min_sinr * (1 - 1e-3) <= relaxed.min_sinr <= first.min_sinr * (1 + 1e-3)
    assert DecideContext(tx_power_w=1.0, noise_w=1.0).sum_stage_floor == 1.0  # figure experiments: Pareto
    assert EventsConfig().sum_stage_floor == 0.9  # replays (docs/design.md "distance-sca's second stage")
    with pytest.raises(Exception, match="sum_stage_floor"):
        EventsConfig(sum_stage_floor=0.0)


def test_distance_sca_skips_the_stage_above_its_size_limit(monkeypatch):
    """Above SUM_STAGE_MAX_TERMS user-link terms distance-sca keeps its max-min power and says why."""
    from simulator.cooperation import baselines

    rng = np.random.default_rng(3)
    n_sat, n_user = 4, 6
    coeffs = SinrCoefficients(b=rng.uniform(0.5, 2.0, (n_sat, n_user)),
                              G=rng.uniform(0.0, 0.1, (n_user, n_user, n_sat, n_sat)), noise=0.1)
    distance = rng.uniform(5e5, 1e6, (n_sat, n_user))
    full = baselines.distance_sca(coeffs, 4, distance_m=distance)
    plain = baselines.distance_sca(coeffs, 4, distance_m=distance, max_sum=False)
    terms = int(plain.cluster.any(axis=0).sum()) * int(plain.cluster.sum())
    monkeypatch.setattr(baselines, "SUM_STAGE_MAX_TERMS", terms - 1)
    skipped = baselines.distance_sca(coeffs, 4, distance_m=distance)
    np.testing.assert_array_equal(skipped.power, plain.power)
    assert "max-sum stage skipped" in skipped.reason and "max-sum stage skipped" not in full.reason
