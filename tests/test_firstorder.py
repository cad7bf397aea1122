"""The first-order path of the max-min power allocation (cooperation/firstorder.py) against the cone programs."""

import warnings

import numpy as np
import pytest

from simulator.bench.alg1 import _drop
from simulator.cooperation.algorithm1 import _prepare, admit, algorithm1, sca_power, uniform_power
from simulator.cooperation.coefficients import SinrCoefficients, phase_averaged, sinr
from simulator.cooperation.firstorder import LinkSinr, gap_certificate, project


def _rate(d):
    return float(np.log2(1.0 + d.min_sinr))


def test_link_layout_reproduces_the_dense_sinr():
    csi, c, _ = _drop(3, "smrt")
    clean, usable, _ = _prepare(c, csi.visible)
    rng = np.random.default_rng(0)
    p = rng.random(usable.shape) * usable
    model = LinkSinr(clean, usable)
    np.testing.assert_allclose(model.sinr(p), sinr(clean, p), rtol=1e-12)
    np.testing.assert_array_equal(model.to_p(model.to_q(p)), p)


@pytest.mark.parametrize("kind", ["smrt", "szf", "single-slnr", "imrt"])
def test_moment_form_gives_the_layout_of_the_dense_g(kind):
    """Coefficients kept as (K, K, L) moments: the same cleaning, split of rows and SINR as the dense G."""
    from simulator.cooperation.rates_cfmmimo import coefficients_imrt
    from simulator.cooperation.rates_cfmntn import MomentCoefficients, coefficients
    from simulator.cooperation.single import coefficients_single

    from simulator.radio.params import paper000_params

    params = paper000_params()
    csi, c, _ = _drop(5, "smrt")
    if kind == "single-slnr":
        c = coefficients_single(csi, np.argmax(np.where(csi.visible, csi.beta, -np.inf), axis=0), "slnr",
                                params.tx_power_w, params.noise_power_w)
    elif kind == "imrt":
        book = np.eye(4, dtype=complex)[:, np.arange(csi.n_user) % 4]
        c = coefficients_imrt(csi, params.tx_power_w, params.noise_power_w, book, params.ue_tx_power_w)
    else:
        c = coefficients(csi, kind, params.tx_power_w, params.noise_power_w)
    assert isinstance(c, MomentCoefficients) and c.g_shape == c.G.shape
    dense = SinrCoefficients(b=c.b, G=c.G, noise=c.noise)
    (cm, um, _), (cd, ud, _) = _prepare(c, csi.visible), _prepare(dense, csi.visible)
    np.testing.assert_array_equal(um, ud)
    np.testing.assert_array_equal(cm.G, cd.G)
    np.testing.assert_allclose(phase_averaged(c).G, phase_averaged(dense).G, rtol=1e-14, atol=0)
    fast, slow = LinkSinr(cm, um), LinkSinr(cd, ud)
    assert fast.coupled == slow.coupled == (kind in ("smrt", "imrt"))
    p = np.random.default_rng(0).random(um.shape) * um
    np.testing.assert_allclose(fast.sinr(p), slow.sinr(p), rtol=1e-12)
    np.testing.assert_allclose(fast.sinr(p), sinr(cd, p), rtol=1e-12)
    np.testing.assert_allclose(fast.leakage(), slow.leakage(), rtol=1e-12, atol=1e-12 * np.abs(slow.leakage()).max())
    (am, _, _), (ad, _, _) = _prepare(phase_averaged(c), csi.visible), _prepare(phase_averaged(dense), csi.visible)
    averaged = LinkSinr(am, um)
    assert not averaged.coupled
    np.testing.assert_allclose(averaged.sinr(p), LinkSinr(ad, ud).sinr(p), rtol=1e-12)


def test_projection_matches_a_cone_solver():
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(1)
    for _ in range(8):
        n_user, c, n_sat = 6, 3, 4
        sat = rng.integers(0, n_sat, (n_user, c))
        valid = rng.random((n_user, c)) < 0.8
        q = rng.normal(size=(n_user, c)) * rng.choice([0.3, 1.0, 3.0])
        wc = np.where(valid, rng.exponential(1.0, (n_user, c)) * rng.choice([0.3, 1.0, 5.0]), 0.0)
        x = project(q, sat, valid, n_sat, wc)
        X = cp.Variable((n_user, c))
        cons = [X >= 0, X[~valid] == 0]
        for sat_l in range(n_sat):
            m = (sat == sat_l) & valid
            if m.any():
                cons += [cp.sum_squares(X[m]) <= 1, cp.sum(cp.multiply(wc[m], cp.square(X[m]))) <= 1]
        cp.Problem(cp.Minimize(cp.sum_squares(X - q)), cons).solve()
        # feasible, and no farther from q than the cone solver's point (to its tolerance)
        for sat_l in range(n_sat):
            m = (sat == sat_l) & valid
            assert np.sum(x[m] ** 2) <= 1 + 1e-9 and np.sum(wc[m] * x[m] ** 2) <= 1 + 1e-9
        assert np.all(x >= 0) and np.all(x[~valid] == 0)
        assert np.sum((x - q) ** 2) <= np.sum((X.value - q) ** 2) + 1e-6


def test_projection_warm_started_from_the_last_multipliers_is_the_same_projection():
    """A gradient method's successive projections share ``warm``: same points as cold ones, to round-off."""
    rng = np.random.default_rng(2)
    n_user, c, n_sat = 30, 5, 6
    sat = rng.integers(0, n_sat, (n_user, c))
    valid = rng.random((n_user, c)) < 0.9
    wc = np.where(valid, rng.exponential(2.0, (n_user, c)), 0.0)
    q = rng.normal(size=(n_user, c)) + 1.0
    warm: dict = {}
    for _ in range(20):
        q = q + 0.05 * rng.normal(size=q.shape)
        np.testing.assert_allclose(project(q, sat, valid, n_sat, wc, warm), project(q, sat, valid, n_sat, wc),
                                   rtol=0, atol=1e-10)
    assert "nu" in warm


def test_algorithm1_first_order_matches_the_interior_point_path():
    """000's set-up (L = 20, K = 10, N = 64, K_max = 8): min rate within 0.5 % of the IPM path's.

    Six drops here; ``leosim bench alg1`` reports the same comparison on 20 drops of each precoder.
    """
    rel = []
    for seed in range(6):
        csi, c, _ = _drop(seed, "smrt")
        ipm = algorithm1(c, 8, allowed=csi.visible, backend="ipm")
        fo = algorithm1(c, 8, allowed=csi.visible, backend="firstorder")
        assert fo.backend == "firstorder" and fo.status == "optimal"
        assert np.all(fo.cluster.sum(axis=1) <= 8)
        assert np.all(np.sum(fo.power**2, axis=1) <= 1 + 1e-9)
        rel.append(_rate(fo) / _rate(ipm) - 1.0)
    assert min(rel) > -5e-3, rel


@pytest.mark.parametrize("precoder", ["smrt", "szf"])
def test_fixed_cluster_power_within_1pc_of_clarabel_at_k20(precoder):
    """The same convex program (max-min SINR on fixed clusters) at twice 000's users."""
    from simulator.cooperation.rates_cfmntn import coefficients
    from simulator.experiments.drops import paper000_drop
    from simulator.radio.csi import compute_statistical_csi, draw_link_variates
    from simulator.radio.params import paper000_params

    params = paper000_params()
    rng = np.random.default_rng(5)
    sat, vel, user = paper000_drop(rng, n_user=20)
    draws = draw_link_variates(rng, (sat.shape[0], 20))
    csi = compute_statistical_csi(sat, vel, user, params=params, link_draws=draws)
    c = coefficients(csi, precoder, params.tx_power_w, params.noise_power_w)
    cluster = np.asarray(csi.visible, bool)
    ref = sca_power(c, cluster, backend="clarabel", tol=1e-6)
    fo = sca_power(c, cluster, backend="firstorder")
    assert fo.min_sinr >= ref.min_sinr * (1 - 1e-2)
    assert fo.min_sinr <= ref.min_sinr * (1 + ref.certificate) * (1 + 1e-9)  # nothing beats a valid bound
    # a valid bound; loose for a first-order point whose KKT residual is not small (docs/algorithm1.md)
    assert 0.0 <= fo.certificate < np.inf


def test_certificate_bounds_the_optimum():
    """The gap of a poor point (uniform power) reaches at least up to the true optimum."""
    for seed, precoder in [(0, "szf"), (1, "smrt")]:
        csi, c, _ = _drop(seed, precoder)
        clean, usable, _ = _prepare(c, csi.visible)
        users = np.flatnonzero(usable.any(axis=0))
        model = LinkSinr(clean, usable)
        best = sca_power(c, usable, backend="clarabel", tol=1e-6)
        uniform = uniform_power(usable)
        t_uniform = float(model.sinr(uniform)[users].min())
        gap = gap_certificate(model, uniform, usable, users)
        assert t_uniform * (1 + gap) >= best.min_sinr * (1 - 1e-9)
        assert gap_certificate(model, best.power, usable, users) >= 0.0
    assert best.certificate < 0.05  # tight at an accurate optimum


def test_admission_when_users_outnumber_the_capacity():
    """L = 1, K = 10, K_max = 8: the 8 strongest users are served, 2 get SINR 0; no warning, no fallback."""
    csi, c, _ = _drop(0, "smrt")
    G = c.G[:, :, [0, 20, 21], :1]  # satellite 0's c-row and the two d-rows
    one = SinrCoefficients(b=c.b[:1], G=G, noise=c.noise)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for backend in ("auto", "firstorder", "clarabel"):
            d = algorithm1(one, 8, allowed=csi.visible[:1], backend=backend)
            assert d.status == "optimal" and d.n_unadmitted == 2 and "not admitted" in d.reason
            assert d.cluster.sum() == 8 and (d.sinr > 0).sum() == 8
            weakest = np.argsort(c.b[0])[:2]
            assert np.all(d.sinr[weakest] == 0.0)


def test_admit_respects_each_satellite():
    usable = np.array([[True, True, True, False], [False, False, True, True]])
    b = np.array([[4.0, 3.0, 2.0, 0.0], [0.0, 0.0, 5.0, 1.0]])
    # capacity 2 x 1 < 4 users: user 2 (b 5) takes satellite 1, user 0 (b 4) satellite 0
    assert admit(usable, b, 1).tolist() == [True, False, True, False]
    assert admit(usable, b, 2).all()


def test_bench_scale_quick_reports_times_exponents_and_agreement(capsys, monkeypatch):
    import json

    from simulator.cli import main
    from simulator.constants import THREAD_VARIABLES

    for name in THREAD_VARIABLES:
        monkeypatch.setenv(name, "1")
    assert main(["bench", "scale", "--quick", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    timed = [r for r in rows if "reclustering_s" in r]
    assert {(r["K"], r["scheme"]) for r in timed} == {(k, s) for k in (10, 20) for s in ("cf-mntn-smrt", "distance-sca")}
    assert all(r["reclustering_s"] > 0 and r["peak_mb"] > 0 and r["status"] == "optimal" for r in timed)
    assert abs(next(r for r in timed if r["K"] == 10 and r["scheme"] == "cf-mntn-smrt")["agreement_pct"]) < 1.0
    assert {r["scheme"] for r in rows if "exponent" in r} == {"cf-mntn-smrt", "distance-sca"}


def test_a_solve_that_met_its_stopping_rule_gains_little_when_solved_again():
    """``converged_to``: the accuracy of a solve that stopped by its rule (inf after a budgeted step).

    Algorithm 1's P3 loop stops on it instead of re-solving to confirm; a re-solve from the point
    gains below tol (1e-3 relative SINR) there.
    """
    from simulator.cooperation.firstorder import FirstOrderProblem

    csi, c, _ = _drop(4, "smrt")
    clean, usable, _ = _prepare(c, csi.visible)
    model = LinkSinr(clean, usable)
    users = np.flatnonzero(usable.any(axis=0))
    p0 = uniform_power(usable)
    budgeted = FirstOrderProblem(model, usable)
    budgeted.step(p0, 0.0)
    assert budgeted.converged_to == np.inf  # 100 steps from uniform power do not meet the rule
    problem = FirstOrderProblem(model, usable)
    problem.accuracy = 1e-3
    p1, _ = problem.solve(0.0, p0)
    assert problem.converged_to == 1e-3
    p2, _ = problem.solve(0.0, p1)
    t1, t2 = (model.sinr(p)[users].min() for p in (p1, p2))
    assert t2 / t1 - 1.0 < 1e-3, (t1, t2)


def test_maximise_min_from_a_point_where_a_user_has_no_signal_returns():
    """A start with a user at zero amplitude is outside the log-SINR domain: the solver returns the
    start at once (it used to restart its momentum there forever)."""
    import threading

    from simulator.cooperation.firstorder import maximise_min

    csi, c, _ = _drop(4, "smrt")
    clean, usable, _ = _prepare(c, csi.visible)
    model = LinkSinr(clean, usable)
    users = np.flatnonzero(usable.any(axis=0))
    p = uniform_power(usable)
    p[:, users[0]] = 0.0
    q = model.to_q(p)
    out: list = []
    solver = threading.Thread(target=lambda: out.append(maximise_min(model, q, model.valid, users, None, 1e-3)),
                              daemon=True)
    solver.start()
    solver.join(timeout=60)
    assert not solver.is_alive(), "maximise_min did not return"
    best, steps, _ = out[0]
    np.testing.assert_array_equal(best, q)
    assert steps == 0
