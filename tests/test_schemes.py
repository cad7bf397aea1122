"""The decision side of the scheme registry on 000's snapshot set-up, and its degenerate cases."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.cooperation.schemes import SCHEMES, DecideContext, decide
from simulator.cooperation.spotbeam import beam_weights, hex_beam_grid, max_off_nadir_rad
from simulator.experiments.drops import paper000_drop
from simulator.radio import compute_statistical_csi, paper000_params
from simulator.scenario import SCHEMES as SCENARIO_SCHEMES


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(4)
    params = paper000_params(n_h=4, n_v=4)
    sat, vel, users = paper000_drop(rng, n_sat=8, n_user=5)
    csi = compute_statistical_csi(sat, vel, users, params=params, rng=rng, min_elevation_deg=10.0)
    weights = beam_weights(hex_beam_grid(16, max_off_nadir_rad(550e3, np.radians(10.0))), 4, 4)
    ctx = DecideContext(tx_power_w=params.tx_power_w, noise_w=params.noise_power_w, k_max=3, n_pilots=2,
                        pilot_power_w=1.0, beam_weights=weights, cluster_min_elevation_rad=np.radians(60.0))
    return csi, ctx


def test_registry_covers_every_scenario_scheme():
    assert tuple(SCHEMES) == SCENARIO_SCHEMES


@pytest.mark.parametrize("name", list(SCHEMES))
def test_every_decision_is_feasible(setup, name):
    csi, ctx = setup
    rsap = np.argmax(csi.beta, axis=0)
    d = decide(name, csi, ctx, rsap)
    assert d.power.shape == d.mask.shape == csi.beta.shape
    assert np.all(np.isfinite(d.power)) and np.all(d.power >= 0)
    assert np.all((d.power ** 2).sum(axis=1) <= 1 + 1e-6)  # 000 eq 14 per satellite
    assert not np.any(d.power[~d.mask] > 0)  # no power outside the clusters
    assert d.mask.any(axis=0).all()  # every user served (all links visible in this drop)
    if SCHEMES[name].single_serving:
        assert (d.mask.sum(axis=0) == 1).all()
        np.testing.assert_array_equal(np.argmax(d.mask, axis=0), d.serving)
    if name in ("cf-mntn-smrt", "cf-mntn-szf", "distance-sca", "distance-uniform", "alg1-uniform"):
        assert (d.mask.sum(axis=1) <= ctx.k_max).all()  # K_max users per satellite (23b)
    if name == "spot-beam":
        assert ((d.beam >= 0) & (d.beam < 16)).all()
    if name == "uc-dmimo":
        fc = decide("fc-dmimo", csi, ctx, rsap)
        assert d.mask.sum() < fc.mask.sum() and not (d.mask & ~fc.mask).any()  # UC ⊂ FC (004 Fig 4)
        assert d.mask[rsap, np.arange(csi.n_user)].all()  # the RSAP always serves


def test_alg1_uniform_reuses_the_cf_mntn_smrt_run(setup):
    csi, ctx = setup
    rsap = np.argmax(csi.beta, axis=0)
    alone = decide("alg1-uniform", csi, ctx, rsap)
    cache: dict = {}
    smrt = decide("cf-mntn-smrt", csi, ctx, rsap, cache=cache)
    shared = decide("alg1-uniform", csi, ctx, rsap, cache=cache)
    np.testing.assert_array_equal(shared.mask, smrt.mask)
    np.testing.assert_array_equal(shared.mask, alone.mask)
    np.testing.assert_allclose(shared.power, alone.power)


@pytest.mark.parametrize("name", list(SCHEMES))
def test_degenerate_snapshots_fall_back_without_nan(setup, name):
    csi, ctx = setup
    # A user with no visible satellite and no RSAP.
    hidden = type(csi)(**{f: getattr(csi, f).copy() for f in csi.__dataclass_fields__})
    hidden.beta[:, 0] = 0.0
    hidden.visible[:, 0] = False
    rsap = np.argmax(hidden.beta, axis=0)
    rsap[0] = -1
    d = decide(name, hidden, ctx, rsap)
    assert np.all(np.isfinite(d.power)) and not d.mask[:, 0].any()
    assert d.mask[:, 1:].any(axis=0).all()
    # No satellite at all.
    empty = type(csi)(**{f: getattr(csi, f)[:0] for f in csi.__dataclass_fields__})
    e = decide(name, empty, ctx, np.full(csi.n_user, -1))
    assert e.status.startswith("fallback") and e.power.shape == (0, csi.n_user)


def test_phase_averaged_interference_is_the_mean_over_independent_satellite_phases():
    """phase_averaged(G) equals a Monte-Carlo average of eq 27's interference over random phases."""
    from simulator.cooperation.coefficients import SinrCoefficients, phase_averaged, signal_and_interference

    rng = np.random.default_rng(4)
    n_sat, n_user = 3, 2
    c = rng.uniform(0.1, 1.0, (n_user, n_user, n_sat))          # per-satellite (diagonal) rows, eq 28
    d = rng.normal(size=(n_user, n_user, n_sat)) + 1j * rng.normal(size=(n_user, n_user, n_sat))
    d[np.arange(n_user), np.arange(n_user)] = 0.0               # no mean row for j = k
    p = rng.uniform(0.2, 1.0, (n_sat, n_user))

    def coeffs(phase):  # the (Re, Im) rows of d rotated by one phase per satellite
        rot = d * np.exp(1j * phase)[None, None, :]
        G = np.zeros((n_user, n_user, n_sat + 2, n_sat))
        G[:, :, np.arange(n_sat), np.arange(n_sat)] = c
        G[:, :, n_sat], G[:, :, n_sat + 1] = rot.real, rot.imag
        return SinrCoefficients(b=rng.uniform(size=(n_sat, n_user)), G=G, noise=0.3)

    draws = rng.uniform(0.0, 2 * np.pi, (20000, n_sat))
    mc = np.mean([signal_and_interference(coeffs(th), p)[1] for th in draws], axis=0)
    base = coeffs(np.zeros(n_sat))
    exact = signal_and_interference(phase_averaged(base), p)[1]
    # Monte-Carlo over 20 000 phase draws: the standard error is ~0.5 % of the interference.
    np.testing.assert_allclose(mc, exact, rtol=0.02)
    # The coherent (instantaneous) value differs; b and the noise are kept.
    assert not np.allclose(signal_and_interference(base, p)[1], exact, rtol=0.02)
    assert phase_averaged(base).b is base.b and phase_averaged(base).noise == base.noise


def test_decide_context_routes_the_interference_model(setup):
    """Under "phase-averaged", Algorithm 1 maximises the averaged SINR: its decision is better on
    that model than the decision taken on the instantaneous one (and the reverse on eq 27)."""
    import dataclasses

    from simulator.cooperation.coefficients import phase_averaged, sinr
    from simulator.cooperation.rates_cfmntn import coefficients

    csi, ctx = setup
    avg_ctx = dataclasses.replace(ctx, interference="phase-averaged")
    rsap = np.argmax(csi.beta, axis=0)
    inst, avg = decide("cf-mntn-smrt", csi, ctx, rsap), decide("cf-mntn-smrt", csi, avg_ctx, rsap)
    coeffs = coefficients(csi, "smrt", ctx.tx_power_w, ctx.noise_w)
    # Each decision is at least as good as the other on the model it maximised (1 % for the
    # solver tolerances of the SCA steps).
    assert sinr(phase_averaged(coeffs), avg.power).min() >= 0.99 * sinr(phase_averaged(coeffs), inst.power).min()
    assert sinr(coeffs, inst.power).min() >= 0.99 * sinr(coeffs, avg.power).min()
    assert not np.allclose(inst.power, avg.power)
    with pytest.raises(ValueError, match="interference='coherent'"):
        DecideContext(tx_power_w=1.0, noise_w=1.0, interference="coherent")


@pytest.mark.parametrize("name", ["cf-mntn-smrt", "cf-mmimo-imrt", "distance-sca", "single-slnr", "alg1-uniform"])
def test_decide_context_tolerance_reaches_the_optimisers(setup, name, monkeypatch):
    """``DecideContext.tolerance`` is the ``tol`` of every optimiser a scheme runs."""
    import dataclasses

    from simulator.cooperation import algorithm1 as alg1_module

    seen = []
    for fn in ("algorithm1", "sca_power"):
        original = getattr(alg1_module, fn)

        def spy(*args, _original=original, **kwargs):
            seen.append(kwargs.get("tol"))
            return _original(*args, **kwargs)

        monkeypatch.setattr(alg1_module, fn, spy)
        for module in ("simulator.cooperation.families.cfmntn", "simulator.cooperation.families.cfmmimo",
                       "simulator.cooperation.families.single", "simulator.cooperation.baselines"):
            monkeypatch.setattr(f"{module}.{fn}", spy, raising=False)
    csi, ctx = setup
    d = decide(name, csi, dataclasses.replace(ctx, tolerance=0.02), np.argmax(csi.beta, axis=0))
    assert seen and set(seen) == {0.02} and d.status != "fallback:solver"


def test_replay_takes_the_decision_tolerance_from_the_scenario():
    from pathlib import Path

    from simulator.engine.run import build_replay
    from simulator.scenario import load_scenario

    scenario = load_scenario(Path(__file__).parents[1] / "scenarios" / "quickstart.toml")
    assert scenario.events.decision_tolerance == 0.01  # the default
    events = scenario.events.model_copy(update={"decision_tolerance": 0.003})
    replay, _ = build_replay(scenario.model_copy(update={"events": events}), recorder=None)
    try:
        assert replay.ctx.tolerance == 0.003
    finally:
        replay.close()
