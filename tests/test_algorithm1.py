"""Algorithm 1 of 000 (clustering + max-min power), its cone programs and fallbacks.

Certificates rather than stored numbers: constraints of every decision, monotone SCA, agreement of
SCA and Dinkelbach with the exact bisection optimum of P3, Algorithm 1 against exhaustive search on
small instances, and the documented fallbacks.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from simulator.cooperation import algorithm1 as a1
from simulator.cooperation import ipm, socp
from simulator.cooperation.algorithm1 import algorithm1, p3_bisection, sca_power, solve_p3, uniform_power
from simulator.cooperation.coefficients import SinrCoefficients, sinr
from simulator.errors import InputError, SolverError

NOISE_W = 1e-17  # −140 dBm, 000 Sec. VI-A


def synthetic_coefficients(
    rng: np.random.Generator, n_sat: int, n_user: int, *, n_ant: int = 16, phases: bool = True
) -> SinrCoefficients:
    """sMRT-structured coefficients (000 eq 28) from random UPA-like steering vectors.

    Per-link SNR b^2/noise uniform in 0–40 dB (b spans 20 dB in amplitude), κ uniform 15–20 dB;
    G[k, j] holds the diagonal self/cross terms c_{l,k,j} and, with ``phases``, the rank-2 rows
    Re/Im d_{l,k,j} of the coherent inter-user interference (j ≠ k).
    """
    L, K, N = n_sat, n_user, n_ant
    rho = 10.0  # W, 40 dBm
    snr = 10 ** (rng.uniform(0.0, 40.0, size=(L, K)) / 10)
    kappa = 10 ** (rng.uniform(15.0, 20.0, size=(L, K)) / 10)
    v = snr * NOISE_W / (rho * N * kappa)  # so that b^2 = ρ N κ v = snr · noise
    common = rng.uniform(0, 2 * np.pi, size=(L, 1, N))
    a = np.exp(1j * (common + 0.5 * rng.uniform(0, 2 * np.pi, size=(L, K, N))))  # correlated users
    corr = np.einsum("lkn,ljn->lkj", a.conj(), a)  # a_{l,k}^H a_{l,j}
    phase = rng.uniform(-np.pi, np.pi, size=(L, K))
    G = np.zeros((K, K, L + 2, L))
    diag = np.arange(L)
    for k in range(K):
        for j in range(K):
            G[k, j, diag, diag] = np.sqrt(rho * v[:, k] / N) * np.abs(corr[:, k, j])
            if phases and j != k:
                d = np.sqrt(rho * kappa[:, k] * v[:, k] / N) * np.exp(1j * (phase[:, j] - phase[:, k])) * corr[:, k, j]
                G[k, j, L], G[k, j, L + 1] = d.real, d.imag
    return SinrCoefficients(b=np.sqrt(rho * N * kappa * v), G=G, noise=NOISE_W)


def assert_valid(d, coeffs, k_max=None, allowed=None):
    """Power (37d–e, 1e-6 for solver round-off), K_max (23b), clusters and SINR bookkeeping."""
    assert np.all(np.isfinite(d.power)) and np.all(np.isfinite(d.sinr)) and np.isfinite(d.min_sinr)
    assert np.all(d.power >= 0.0)
    assert np.all(np.sum(d.power**2, axis=1) <= 1.0 + 1e-6)
    assert np.all(d.power[~d.cluster] == 0.0)
    if k_max is not None:
        assert np.all(d.cluster.sum(axis=1) <= k_max)
    if allowed is not None:
        assert not np.any(d.cluster & ~allowed)
    np.testing.assert_allclose(d.sinr, sinr(coeffs, d.power), rtol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_decisions_satisfy_power_kmax_and_mask(seed):
    rng = np.random.default_rng(seed)
    coeffs = synthetic_coefficients(rng, 8, 5)
    allowed = rng.random((8, 5)) < 0.8
    allowed[0] = True  # every user keeps a link
    for k_max in (2, 3):
        d = algorithm1(coeffs, k_max, allowed=allowed)
        assert d.status == "optimal"
        assert_valid(d, coeffs, k_max, allowed)
        assert d.min_sinr == pytest.approx(d.sinr.min())
        assert d.outer_iters >= 1 and d.inner_iters >= d.outer_iters
        # Better than the feasible start it was run from (uniform power on the allowed links).
        assert d.min_sinr > sinr(coeffs, uniform_power(allowed)).min()
    fixed = sca_power(coeffs, allowed)
    assert_valid(fixed, coeffs, allowed=allowed)


@pytest.mark.parametrize("method", ["sca", "dinkelbach"])
def test_inner_objective_never_decreases(method):
    coeffs = synthetic_coefficients(np.random.default_rng(3), 8, 4)
    omega = 1.0 / (np.random.default_rng(4).uniform(0.05, 1.0, size=(8, 4)) ** 2 + a1.EPSILON)
    d = solve_p3(coeffs, omega, 3, method=method, tol=1e-6)
    history = np.array(d.history)
    assert np.all(np.diff(history) >= 0.0)
    assert history[-1] > 1.5 * history[0]  # the steps do progress (here from uniform power)
    assert d.min_sinr == pytest.approx(history[-1])


def test_sca_step_certificate():
    """P4 at a P3-feasible point: t >= t_prev, and eq 36 under-estimates, so min SINR(p) >= t."""
    coeffs = synthetic_coefficients(np.random.default_rng(5), 6, 4)
    mask = np.ones((6, 4), dtype=bool)
    omega = np.full((6, 4), 2.0)  # 37c: Σ_k 2 p^2 <= 3, binding for some satellites
    problem = socp.ScaProblem(coeffs, mask, k_max=3)
    p = uniform_power(mask) * 0.8
    t = sinr(coeffs, p).min()
    for _ in range(4):
        p_new, t_new = problem.step(p, t, omega=omega)
        assert t_new >= t * (1 - 1e-7)
        assert sinr(coeffs, p_new).min() >= t_new * (1 - 1e-6)
        assert np.all(np.sum(p_new**2, axis=1) <= 1 + 1e-6)
        assert np.all(np.sum(omega * p_new**2, axis=1) <= 3 * (1 + 1e-6))
        p, t = p_new, sinr(coeffs, p_new).min()


@pytest.mark.parametrize("seed", [6, 7])
def test_sca_and_dinkelbach_reach_the_bisection_optimum_of_p3(seed):
    # P3 is quasi-convex for fixed ω, so bisection (tolerance 1e-6 on the bracket) gives its optimum;
    # both iterative solvers must reach it to 1e-3 relative (the brief's agreement target).
    rng = np.random.default_rng(seed)
    coeffs = synthetic_coefficients(rng, 8, 4)
    p_rough = sca_power(coeffs, np.ones((8, 4), dtype=bool)).power
    omega = 1.0 / (p_rough**2 + a1.EPSILON)  # one reweighting step (eq 30): some links pinned
    exact = p3_bisection(coeffs, omega, 3, tol=1e-6)
    assert_valid(exact, coeffs)
    assert np.all(np.sum(omega * exact.power**2, axis=1) <= 3 * (1 + 1e-6))
    for method in ("sca", "dinkelbach"):
        d = solve_p3(coeffs, omega, 3, method=method, tol=1e-8, max_iter=400)
        assert d.min_sinr == pytest.approx(exact.min_sinr, rel=1e-3), method


def test_leakage_start_beats_uniform_power_and_saves_cone_programs():
    # With coherent interference, uniform power sits at ~5 % of the P3 optimum; the leakage-based
    # start (per-user SLNR weights, balanced) at 15–70 %. Both runs must reach the same optimum.
    programs = {"leakage": 0, "uniform": 0}
    for seed in range(50, 55):
        coeffs = synthetic_coefficients(np.random.default_rng(seed), 10, 5)
        full = np.ones((10, 5), dtype=bool)
        leak = sca_power(coeffs, full, tol=1e-6)  # cold start: the leakage point
        unif = solve_p3(coeffs, np.ones((10, 5)), 5, method="dinkelbach", tol=1e-6)  # from uniform power
        assert_valid(leak, coeffs)
        assert leak.history[0] >= 2.0 * sinr(coeffs, uniform_power(full)).min()
        assert leak.min_sinr == pytest.approx(unif.min_sinr, rel=1e-4)  # both at the P3 optimum (tol 1e-6)
        programs["leakage"] += leak.inner_iters
        programs["uniform"] += unif.inner_iters
    assert programs["leakage"] < programs["uniform"]


@pytest.mark.parametrize("cls", [socp.RatioProblem, socp.ScaProblem])
def test_loose_solver_accuracy_stays_within_it_and_can_be_tightened_again(cls):
    # The optimisers solve early steps loosely (problem.accuracy); the same Clarabel solver, updated
    # in place, must return the loose optimum within its tolerance and the exact one afterwards.
    coeffs = synthetic_coefficients(np.random.default_rng(8), 6, 4)
    mask = np.ones((6, 4), dtype=bool)
    p = uniform_power(mask)
    t = sinr(coeffs, p).min()

    def run(problem):
        return problem.solve(np.sqrt(t), p)[1] if cls is socp.RatioProblem else problem.step(p, t)[1] / t

    problem = cls(coeffs, mask)
    problem.accuracy = 1e-2
    loose = run(problem)
    problem.accuracy = socp.TOLERANCE
    tight = run(problem)
    reference = run(cls(coeffs, mask))  # a fresh solver at the default tolerance
    assert tight == pytest.approx(reference, rel=1e-9)  # same data, same settings: same iterates
    assert loose == pytest.approx(tight, rel=2e-2, abs=2e-2)  # objectives O(1): within the 1e-2 gap
    assert loose != pytest.approx(tight, rel=1e-6)  # and the loose solve did stop early (~1e-3 off)
    assert problem.n_solves == 2


def _exhaustive_best(coeffs, k_max):
    """Best min SINR over every cluster set with |K_l| <= k_max and every user served (max-min power)."""
    L, K = coeffs.b.shape
    options = [()] + [c for r in range(1, k_max + 1) for c in itertools.combinations(range(K), r)]
    best = 0.0
    for choice in itertools.product(options, repeat=L):
        mask = np.zeros((L, K), dtype=bool)
        for l, users in enumerate(choice):
            mask[l, list(users)] = True
        if mask.any(axis=0).all():
            best = max(best, sca_power(coeffs, mask, tol=1e-6).min_sinr)
    return best


@pytest.mark.parametrize("seed", range(10, 22))
def test_algorithm1_within_5_percent_of_exhaustive_search(seed):
    # L = 4, K = 2, K_max = 1: each satellite serves one user or none (50 valid cluster sets).
    coeffs = synthetic_coefficients(np.random.default_rng(seed), 4, 2)
    best = _exhaustive_best(coeffs, 1)
    d = algorithm1(coeffs, 1)
    assert_valid(d, coeffs, 1)
    assert np.log2(1 + d.min_sinr) >= 0.95 * np.log2(1 + best)  # min rate, bit/s/Hz
    assert d.min_sinr <= best * (1 + 1e-4)  # nothing beats the exhaustive optimum


def test_user_without_satellite_gets_zero_and_is_reported():
    coeffs = synthetic_coefficients(np.random.default_rng(20), 6, 4)
    allowed = np.ones((6, 4), dtype=bool)
    allowed[:, 2] = False
    for d in (algorithm1(coeffs, 2, allowed=allowed), sca_power(coeffs, allowed)):
        assert_valid(d, coeffs, allowed=allowed)
        assert d.status == "optimal"
        assert np.all(d.power[:, 2] == 0.0) and d.sinr[2] == 0.0
        assert "users [2]" in d.reason
        assert d.min_sinr == pytest.approx(np.delete(d.sinr, 2).min())  # over served users (000 fn. 2)


def test_all_links_below_the_mask_give_a_zero_decision():
    coeffs = synthetic_coefficients(np.random.default_rng(21), 5, 3)
    dead = SinrCoefficients(b=np.zeros_like(coeffs.b), G=np.zeros_like(coeffs.G), noise=coeffs.noise)
    for d in (algorithm1(dead, 2), sca_power(dead, np.ones((5, 3), dtype=bool))):
        assert d.status == "fallback:no-link" and d.reason
        assert np.all(d.power == 0.0) and np.all(d.sinr == 0.0) and d.min_sinr == 0.0


def test_nonfinite_coefficients_and_bad_noise_are_fallbacks():
    coeffs = synthetic_coefficients(np.random.default_rng(22), 5, 3)
    b = coeffs.b.copy()
    b[1, 0] = np.nan
    G = coeffs.G.copy()
    G[2, 1, 0, 3] = np.inf  # link (3, 1) disturbs user 2 by an unknown amount
    d = algorithm1(SinrCoefficients(b=b, G=G, noise=coeffs.noise), 2)
    assert d.status == "optimal" and "non-finite" in d.reason
    assert not d.cluster[1, 0] and not d.cluster[3, 1]
    assert np.all(np.isfinite(d.sinr))
    silent = algorithm1(SinrCoefficients(b=coeffs.b, G=coeffs.G, noise=0.0), 2)
    assert silent.status == "fallback:invalid-noise" and np.all(silent.power == 0.0)


def test_solver_failure_is_a_fallback(monkeypatch):
    coeffs = synthetic_coefficients(np.random.default_rng(23), 6, 4)

    def fail(*args, **kwargs):
        raise SolverError("Clarabel status NumericalError (injected)")

    monkeypatch.setattr(socp.RatioProblem, "solve", fail)
    monkeypatch.setattr(socp.ScaProblem, "step", fail)
    d = algorithm1(coeffs, 2)
    assert d.status == "fallback:solver" and "injected" in d.reason
    assert_valid(d, coeffs, 2)
    assert d.min_sinr > 0.0  # the feasible start, pruned to K_max, still serves everyone
    f = sca_power(coeffs, np.ones((6, 4), dtype=bool))
    assert f.status == "fallback:solver"
    np.testing.assert_allclose(f.power, uniform_power(np.ones((6, 4), dtype=bool)))


def test_solver_error_carries_status_sizes_and_ranges(monkeypatch):
    coeffs = synthetic_coefficients(np.random.default_rng(24), 4, 3)
    original = socp.clarabel.DefaultSettings

    def one_iteration():
        settings = original()
        settings.max_iter = 1
        return settings

    monkeypatch.setattr(socp.clarabel, "DefaultSettings", one_iteration)
    monkeypatch.setattr(ipm, "MAX_ITER", 1)  # the dense method gives up first and hands over to Clarabel
    problem = socp.ScaProblem(coeffs, np.ones((4, 3), dtype=bool), backend="ipm")
    p = uniform_power(np.ones((4, 3), dtype=bool))
    with pytest.raises(SolverError, match=r"status MaxIterations .* 13 variables, .* \|A\| in \[.*interior-point"):
        problem.step(p, sinr(coeffs, p).min())
    assert problem.n_fallbacks == 1
    d = algorithm1(coeffs, 2)  # the same failure inside the algorithm is a fallback
    assert d.status == "fallback:solver" and "MaxIterations" in d.reason


def test_warm_start_reuses_the_previous_decision():
    # Without the coherent d-terms (as for sZF) a small change of the coefficients keeps the
    # decision nearly optimal: the warm start must need fewer cone programs and lose < 1 % min rate.
    rng = np.random.default_rng(30)
    coeffs = synthetic_coefficients(rng, 10, 5, phases=False)
    d = algorithm1(coeffs, 3)
    moved = SinrCoefficients(b=coeffs.b * (1 + 1e-3 * rng.standard_normal(coeffs.b.shape)), G=coeffs.G, noise=coeffs.noise)
    warm = algorithm1(moved, 3, warm_start=d)
    cold = algorithm1(moved, 3)
    assert_valid(warm, moved, 3)
    assert "started cold" not in warm.reason
    assert warm.inner_iters < cold.inner_iters
    assert np.log2(1 + warm.min_sinr) >= 0.99 * np.log2(1 + cold.min_sinr)
    # A previous decision worse than uniform power on new coefficients is not used.
    other = synthetic_coefficients(np.random.default_rng(31), 10, 5)
    stale = algorithm1(other, 3, warm_start=algorithm1(synthetic_coefficients(np.random.default_rng(32), 10, 5), 3))
    assert "started cold" in stale.reason
    assert stale.min_sinr == pytest.approx(algorithm1(other, 3).min_sinr)


def test_malformed_arguments_raise_input_error():
    coeffs = synthetic_coefficients(np.random.default_rng(40), 4, 3)
    with pytest.raises(InputError, match="k_max=0"):
        algorithm1(coeffs, 0)
    with pytest.raises(InputError, match="mask shape"):
        sca_power(coeffs, np.ones((3, 4), dtype=bool))
    with pytest.raises(InputError, match="inner="):
        algorithm1(coeffs, 2, inner="newton")


def test_doctests():
    import doctest

    assert doctest.testmod(a1).failed == 0


def test_degenerate_program_stops_with_a_certified_bound():
    """No clustering can lift the weakest user above DEGENERATE_SINR: stop early, say so, serve every user."""
    from simulator.cooperation.algorithm1 import DEGENERATE_SINR

    rng = np.random.default_rng(3)
    n_sat, n_user = 4, 12
    # noise-only bound: (Σ_l b_lk)² / σ² < 1e-6 for the weakest user (user 0)
    b = rng.uniform(0.5, 1.0, (n_sat, n_user))
    b[:, 0] = 1e-4
    G = np.zeros((n_user, n_user, 1, n_sat))
    c = SinrCoefficients(b=b, G=G, noise=1.0)
    d = algorithm1(c, k_max=4)
    assert d.status == "degenerate" and "noise-only bound" in d.reason
    assert d.min_sinr <= (n_sat * 1e-4) ** 2 < DEGENERATE_SINR
    assert d.cluster.sum(axis=1).max() <= 4 and d.cluster.any(axis=0).all()
    assert np.all(np.sum(d.power**2, axis=1) <= 1.0 + 1e-9) and np.isfinite(d.certificate)
    # interference-limited: the noise bound is large, the dual bound after the first P3 is not
    b2 = np.full((2, 2), 4e-4)
    G2 = np.zeros((2, 2, 1, 2))
    G2[0, 1, 0, :] = G2[1, 0, 0, :] = 1.0  # each user's power reaches the other through both satellites
    d2 = algorithm1(SinrCoefficients(b=b2, G=G2, noise=1e-12), k_max=2)
    assert d2.status == "degenerate" and "dual bound" in d2.reason
    assert d2.min_sinr < DEGENERATE_SINR and d2.min_sinr * (1.0 + d2.certificate) < DEGENERATE_SINR
    # the same data scaled out of degeneracy are optimised as before
    d3 = algorithm1(SinrCoefficients(b=b2 * 10.0, G=G2, noise=1e-12), k_max=2)
    assert d3.status == "optimal" and d3.min_sinr > DEGENERATE_SINR


def test_warm_margin_lets_a_clustered_predecessor_through():
    """The cold start point spreads power over every usable link; a K_max-clustered predecessor sits
    below it even when it is a good start. warm_margin > 1 takes it, and the result is still valid."""
    rng = np.random.default_rng(33)
    coeffs = synthetic_coefficients(rng, 10, 6, phases=False)
    d = algorithm1(coeffs, 2)
    moved = SinrCoefficients(b=coeffs.b * (1 + 1e-2 * rng.standard_normal(coeffs.b.shape)), G=coeffs.G, noise=coeffs.noise)
    plain = algorithm1(moved, 2, warm_start=d)
    taken = algorithm1(moved, 2, warm_start=d, warm_margin=1e6)
    assert_valid(taken, moved, 2)
    assert "started cold" not in taken.reason
    refused = algorithm1(moved, 2, warm_start=d, warm_margin=1e-6)
    assert "started cold" in refused.reason and "/ 1e-06" in refused.reason
    assert taken.inner_iters <= refused.inner_iters
    assert plain.min_sinr > 0 and np.log2(1 + taken.min_sinr) >= 0.97 * np.log2(1 + refused.min_sinr)


def test_leakage_start_with_a_user_without_signal_keeps_uniform_power_without_warnings():
    # A user whose links carry no signal has SINR 0 at every point: there is no balance to strike
    # (the balancing weights would all be 0, then 0/0), and uniform power is kept.
    import warnings

    from simulator.cooperation.firstorder import LinkSinr

    coeffs = synthetic_coefficients(np.random.default_rng(3), 6, 4)
    b = np.array(coeffs.b, dtype=float)
    b[:, 2] = 0.0
    coeffs = SinrCoefficients(b=b, G=coeffs.G, noise=coeffs.noise)
    usable = np.ones((6, 4), dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        p = a1._leakage_start(LinkSinr(coeffs, usable), usable, np.arange(4))
    np.testing.assert_array_equal(p, uniform_power(usable))
