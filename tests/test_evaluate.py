"""Rate evaluation of every scheme under a decision in force (``simulator.cooperation.evaluate``).

- Fresh CSI (precoder CSI = true CSI): each evaluator equals the existing closed form of its scheme
  to 1e-10 (relative; both are exact formulas evaluated in double precision).
- Gram path = explicit path to 1e-9 (relative) on stale blocks.
- Stale precoders: the closed forms (true statistics, stale precoders / estimator statistics) agree
  with the existing Monte-Carlo estimators run with the stale precoders on the true CSI. Precision
  as in the other rate tests: standard error < 0.5 % of the SINR, error < 2 % and < 5 standard errors.
- Users without service get exactly 0, never NaN; a block equals its snapshots.
"""

from __future__ import annotations

import doctest
from dataclasses import fields, replace

import numpy as np
import pytest
from leo_snapshot import snapshot

from simulator.cooperation import evaluate, mismatched
from simulator.cooperation.schemes import SCHEME_RATES, SCHEMES
from simulator.cooperation.evaluate import Allocation, RateContext, evaluate_rates, spotbeam_allocation
from simulator.cooperation.mismatched import imrt_estimator, imrt_moments, mr_estimator, mr_moments, mr_sinr
from simulator.cooperation.montecarlo import (
    montecarlo_sinr_imrt,
    montecarlo_sinr_statistical,
    random_power_weights,
)
from simulator.cooperation.rates_cfmmimo import imrt_link_moments, pilot_statistics, sinr_closed_form_imrt
from simulator.cooperation.rates_cfmntn import sinr_closed_form, sinr_from_moments, smrt_precoders
from simulator.cooperation.single import serving_one_hot, sinr_single, slnr_precoders, strongest_satellite
from simulator.cooperation.spotbeam import beam_weights, hex_beam_grid, spotbeam_rates
from simulator.cooperation.ucdmimo import (
    Pilots,
    async_phase_shift,
    montecarlo_sinr_ucdmimo,
    mr_link_moments,
    sinr_ucdmimo,
)
from simulator.errors import InputError
from simulator.radio.params import paper000_params, paper004_params
from simulator.radio.statistical_csi import StatisticalCSI
from simulator.radio.steering import gram_matrix, steering_factors

NAMES = ["cf-mntn-smrt", "cf-mntn-szf", "cf-mmimo-imrt", "single-slnr", "single-smrt", "spot-beam",
         "distance-sca", "distance-uniform", "alg1-uniform", "uc-dmimo", "fc-dmimo", "nct"]
P000 = paper000_params(n_h=4, n_v=4)
P004 = paper004_params(n_h=4, n_v=4, aperture_radius_m=None)   # no 10 λ aperture at nadir (docs/uc-dmimo.md)
N_PILOTS = 3
PILOT_POWER_W = 0.2          # η = 23 dBm for 004; 000 uses η_t = 30 dBm (P000.ue_tx_power_w)
GRID = hex_beam_grid(16, 1.0)
N_DRAWS = 96_000


def block(seed: int, params, n_sat: int = 6, n_user: int = 6, times_s=(0.0, 2.0, 4.0)):
    """Statistical CSI of moving satellites at the given times (T, S, U) (tests/leo_snapshot.py)."""
    return snapshot(seed, n_sat, n_user, params, times_s=np.asarray(times_s))


def decision(csi, seed: int) -> dict[str, Allocation]:
    """One allocation per scheme family, made from the (precoder) snapshot ``csi``."""
    rng = np.random.default_rng(seed)
    n_sat, n_user = csi.beta.shape
    mask, p = random_power_weights(rng, (n_sat, n_user), density=0.7)
    serving = strongest_satellite(csi)
    pilots = np.arange(n_user) % N_PILOTS                    # τ_p < K: pilot contamination
    cluster = Allocation(p, mask, serving, pilots=pilots, n_pilots=N_PILOTS)
    onehot = serving_one_hot(serving, n_sat)
    single = Allocation(np.where(onehot, rng.uniform(0.5, 1.0, p.shape), 0.0), onehot, serving)
    res = spotbeam_rates(csi, beam_weights(GRID, 4, 4), P000.tx_power_w, P000.noise_power_w)
    spot = spotbeam_allocation(res.serving_sat, res.beam, n_sat, res.served)
    return {"cluster": cluster, "single": single, "spot": spot}


def context(name: str, **changes) -> RateContext:
    if name in ("uc-dmimo", "fc-dmimo", "nct"):
        return RateContext.from_params(P004, pilot_power_w=PILOT_POWER_W, **changes)
    return RateContext.from_params(P000, beam_directions=GRID, **changes)


def allocation_of(name: str, allocs: dict[str, Allocation]) -> Allocation:
    return allocs["single" if name.startswith("single") else "spot" if name == "spot-beam" else "cluster"]


def reference(name: str, csi, alloc: Allocation, ctx: RateContext) -> np.ndarray:
    """The existing closed form of ``name`` with fresh CSI."""
    rho, noise = ctx.tx_power_w, ctx.noise_w
    p = np.where(alloc.mask, alloc.power, 0.0)
    if name in ("cf-mntn-smrt", "distance-sca", "distance-uniform", "alg1-uniform"):
        return sinr_closed_form(csi, "smrt", p, rho, noise)
    if name == "cf-mntn-szf":
        return sinr_closed_form(csi, "szf", p, rho, noise, zf_users=ctx.zf_users)
    if name == "cf-mmimo-imrt":
        book = np.eye(alloc.n_pilots, dtype=complex)[:, alloc.pilots]
        return sinr_closed_form_imrt(csi, p, rho, noise, book, ctx.pilot_power_w)
    if name.startswith("single"):
        return sinr_single(csi, alloc.serving, name.split("-")[1], alloc.power, rho, noise, ctx.slnr_leakage)
    if name == "spot-beam":
        return spotbeam_rates(csi, beam_weights(GRID, 4, 4), rho, noise).sinr
    pilots = Pilots(index=alloc.pilots, n_pilots=alloc.n_pilots, power_w=ctx.pilot_power_w, noise_w=ctx.sigma_p_w)
    shift = None if ctx.async_frequency_hz is None else async_phase_shift(csi, alloc.serving, ctx.async_frequency_hz)
    return sinr_ucdmimo(csi, alloc.mask, p, pilots, rho, noise, phase_shift=shift, phase_aware=ctx.phase_aware,
                        nlos=ctx.nlos)


def test_registry_holds_every_scheme() -> None:
    assert list(SCHEME_RATES) == NAMES
    assert all(SCHEME_RATES[name] is SCHEMES[name].rates for name in NAMES)
    with pytest.raises(InputError, match="not one of"):
        evaluate_rates("cf-mntn-zf", None, None, None, None)


VARIANTS = [(name, {}) for name in NAMES] + [
    ("cf-mntn-szf", {"zf_users": "cluster"}),
    ("single-slnr", {"slnr_leakage": "all"}),
    ("uc-dmimo", {"nlos": "steering"}),
    ("uc-dmimo", {"phase_aware": False}),
    ("uc-dmimo", {"async_frequency_hz": None}),
    ("uc-dmimo", {"orthogonal_pilots": True}),
    ("fc-dmimo", {"orthogonal_pilots": True, "nlos": "steering"}),
]


@pytest.mark.parametrize("method", ["gram", "explicit"])
@pytest.mark.parametrize("name,changes", VARIANTS)
def test_fresh_csi_equals_existing_closed_forms(name: str, changes: dict, method: str) -> None:
    params = P004 if name in ("uc-dmimo", "fc-dmimo", "nct") else P000
    csi = block(3, params).steps(1)
    alloc = allocation_of(name, decision(csi, 4))
    changes = dict(changes)
    if changes.pop("orthogonal_pilots", False):                # τ_p = K: the elementwise pilot path
        alloc = replace(alloc, pilots=np.arange(alloc.n_user), n_pilots=alloc.n_user)
    ctx = context(name, method=method, **changes)
    got = SCHEME_RATES[name](csi, csi, alloc, ctx)
    ref = reference(name, csi, alloc, ctx)
    assert np.any(ref > 0)
    np.testing.assert_allclose(got.sinr, ref, rtol=1e-10, atol=0.0)
    if name == "spot-beam":                     # time sharing of beams
        res = spotbeam_rates(csi, beam_weights(GRID, 4, 4), ctx.tx_power_w, ctx.noise_w)
        assert res.n_share.max() >= 2
        np.testing.assert_allclose(got.se_bps_hz, res.se_bps_hz, rtol=1e-10, atol=0.0)


@pytest.mark.parametrize("name", NAMES + ["orthogonal uc-dmimo"])
def test_gram_path_equals_explicit_path_on_stale_blocks(name: str) -> None:
    orthogonal = name.startswith("orthogonal")
    name = name.split()[-1]
    params = P004 if name in ("uc-dmimo", "fc-dmimo", "nct") else P000
    csi = block(7, params)
    prec = csi.steps(0)
    alloc = allocation_of(name, decision(prec, 8))
    if orthogonal:
        alloc = replace(alloc, pilots=np.arange(alloc.n_user), n_pilots=alloc.n_user)
    for source in ("precoder", "true"):
        gram = SCHEME_RATES[name](csi, prec, alloc, context(name, phase_source=source))
        expl = SCHEME_RATES[name](csi, prec, alloc, context(name, phase_source=source, method="explicit"))
        np.testing.assert_allclose(gram.sinr, expl.sinr, rtol=1e-9, atol=0.0)
        assert np.array_equal(gram.n_serving, expl.n_serving)


def check_agreement(closed: np.ndarray, mc) -> None:
    served = closed > 0
    rel_se = mc.sinr_stderr[served] / mc.sinr[served]
    assert rel_se.max() < 0.005, rel_se                         # MC precise enough for a 2 % comparison
    rel_err = np.abs(closed[served] / mc.sinr[served] - 1.0)
    assert rel_err.max() < 0.02, rel_err
    assert (np.abs(closed - mc.sinr)[served] / mc.sinr_stderr[served]).max() < 5.0


def stale_pair(seed: int, params, n_sat: int = 5, n_user: int = 6):
    csi = block(seed, params, n_sat, n_user, times_s=(0.0, 3.0))
    return csi.steps(0), csi.steps(1)


@pytest.mark.parametrize("source", ["precoder", "true"])
def test_stale_smrt_matches_montecarlo(source: str) -> None:
    prec, true = stale_pair(21, P000)
    alloc = decision(prec, 22)["cluster"]
    ctx = context("cf-mntn-smrt", phase_source=source)
    closed = SCHEME_RATES["cf-mntn-smrt"](true, prec, alloc, ctx).sinr
    w = smrt_precoders(prec)
    if source == "true":                      # the precoders follow the true LOS phase between refreshes
        w = w * np.exp(1j * (true.phase_rad - prec.phase_rad))[..., None]
    p = np.where(alloc.mask, alloc.power, 0.0)
    mc = montecarlo_sinr_statistical(true, w, p, ctx.tx_power_w, ctx.noise_w, N_DRAWS, np.random.default_rng(23))
    check_agreement(closed, mc)


def test_stale_slnr_matches_montecarlo() -> None:
    prec, true = stale_pair(24, P000)
    alloc = decision(prec, 25)["single"]
    ctx = context("single-slnr")
    closed = SCHEME_RATES["single-slnr"](true, prec, alloc, ctx).sinr
    w = slnr_precoders(prec, alloc.serving, ctx.tx_power_w, ctx.noise_w)
    mc = montecarlo_sinr_statistical(true, w, alloc.power, ctx.tx_power_w, ctx.noise_w, N_DRAWS,
                                     np.random.default_rng(26))
    check_agreement(closed, mc)


def test_stale_imrt_estimator_matches_montecarlo() -> None:
    """MMSE estimates and precoder normalisation from the stale statistics, channels from the true ones."""
    prec, true = stale_pair(27, P000)
    alloc = decision(prec, 28)["cluster"]
    ctx = context("cf-mmimo-imrt")
    closed = SCHEME_RATES["cf-mmimo-imrt"](true, prec, alloc, ctx).sinr
    book = np.eye(N_PILOTS, dtype=complex)[:, alloc.pilots]
    p = np.where(alloc.mask, alloc.power, 0.0)
    mc = montecarlo_sinr_imrt(true, p, ctx.tx_power_w, ctx.noise_w, book, ctx.pilot_power_w, N_DRAWS,
                              np.random.default_rng(29), estimator_csi=prec)
    check_agreement(closed, mc)
    fresh = sinr_closed_form_imrt(true, p, ctx.tx_power_w, ctx.noise_w, book, ctx.pilot_power_w)
    assert np.max(np.abs(fresh / mc.sinr - 1.0)) > 0.05        # the mismatch matters here


def test_stale_lmmse_estimator_matches_montecarlo() -> None:
    """004's LMMSE with stale R, Ψ and γ; delay phases tracked (ŝ = s) so the sums stay coherent."""
    prec, true = stale_pair(30, P004)
    alloc = decision(prec, 31)["cluster"]
    ctx = context("uc-dmimo", phase_source="true")
    closed = SCHEME_RATES["uc-dmimo"](true, prec, alloc, ctx).sinr
    pilots = Pilots(index=alloc.pilots, n_pilots=N_PILOTS, power_w=PILOT_POWER_W, noise_w=ctx.sigma_p_w)
    p = np.where(alloc.mask, alloc.power, 0.0)
    shift = async_phase_shift(true, alloc.serving, ctx.async_frequency_hz)
    mc = montecarlo_sinr_ucdmimo(true, alloc.mask, p, pilots, ctx.tx_power_w, ctx.noise_w, N_DRAWS,
                                 np.random.default_rng(32), phase_shift=shift, estimator_csi=prec)
    check_agreement(closed, mc)
    fresh = sinr_ucdmimo(true, alloc.mask, p, pilots, ctx.tx_power_w, ctx.noise_w, phase_shift=shift)
    assert np.max(np.abs(fresh / mc.sinr - 1.0)) > 0.05


def test_moment_kernels_reduce_to_the_fresh_ones() -> None:
    """mismatched.* with equal statistics = rates_cfmmimo / ucdmimo moments; mr_sinr = moments → SINR."""
    csi = block(33, P004, times_s=(0.0,)).steps(0)
    alloc = decision(csi, 34)["cluster"]
    f = steering_factors(csi.theta_rad, csi.phi_rad, 4, 4)
    gram = gram_matrix(f, f)
    pilots = Pilots(index=alloc.pilots, n_pilots=N_PILOTS, power_w=PILOT_POWER_W, noise_w=1e-13)
    est = mr_estimator(csi, gram, alloc.pilots, N_PILOTS, PILOT_POWER_W, 1e-13)
    mean, var = mr_moments(csi, gram, gram, est, 1e-13)
    ref_mean, ref_var, ref_gamma = mr_link_moments(csi, pilots)
    assert np.allclose(est.gamma, ref_gamma, rtol=1e-10, atol=0.0)
    assert np.allclose(mean, ref_mean, rtol=1e-9, atol=1e-9 * np.abs(ref_mean).max())
    assert np.allclose(var, ref_var, rtol=1e-9, atol=1e-9 * np.abs(ref_var).max())
    p = np.where(alloc.mask & (est.gamma > 0), alloc.power, 0.0)
    np.testing.assert_allclose(mr_sinr(csi, gram, gram, est, p, 10.0, 1e-13, 1e-13),
                               sinr_from_moments(mean, var, p, 10.0, 1e-13), rtol=1e-10)
    book = np.eye(N_PILOTS, dtype=complex)[:, alloc.pilots]
    est = imrt_estimator(csi, alloc.pilots, N_PILOTS, 1.0, 1e-13, gram)
    mean, var = imrt_moments(csi, gram, est)
    ref_mean, ref_var = imrt_link_moments(csi, pilot_statistics(csi, book, 1.0, 1e-13))
    assert np.allclose(mean, ref_mean, rtol=1e-9, atol=1e-9 * np.abs(ref_mean).max())
    assert np.allclose(var, ref_var, rtol=1e-9, atol=1e-9 * np.abs(ref_var).max())


@pytest.mark.parametrize("name", NAMES)
def test_users_without_service_get_zero(name: str) -> None:
    params = P004 if name in ("uc-dmimo", "fc-dmimo", "nct") else P000
    csi = block(35, params)
    prec = csi.steps(0)
    alloc = allocation_of(name, decision(prec, 36))
    power, mask, serving = alloc.power.copy(), alloc.mask.copy(), alloc.serving.copy()
    beam = None if alloc.beam is None else alloc.beam.copy()
    pilots = None if alloc.pilots is None else alloc.pilots.copy()
    power[:, 0], mask[:, 0], serving[0] = 0.0, False, -1          # user 0: nothing at all
    if beam is not None:
        beam[0] = -1
    if pilots is not None:
        pilots[1] = -1                                              # user 1: no pilot, hence no estimate
    bare = Allocation(power, mask, serving, beam, pilots, alloc.n_pilots)
    out = SCHEME_RATES[name](csi, prec, bare, context(name))
    assert np.all(np.isfinite(out.sinr)) and np.all(np.isfinite(out.se_bps_hz))
    assert np.all(out.sinr[:, 0] == 0.0) and np.all(out.se_bps_hz[:, 0] == 0.0) and out.n_serving[0] == 0
    if name in ("cf-mmimo-imrt", "uc-dmimo", "fc-dmimo", "nct"):
        assert np.all(out.sinr[:, 1] == 0.0) and out.n_serving[1] == 0
    assert np.all(out.sinr[:, out.n_serving > 0] > 0.0)
    # a satellite that serves nobody changes nothing (the evaluator leaves it out)
    nobody = Allocation(np.zeros((csi.n_sat, csi.n_user)), np.zeros((csi.n_sat, csi.n_user), bool),
                        np.full(csi.n_user, -1), None if beam is None else np.full(csi.n_user, -1),
                        None if pilots is None else np.full(csi.n_user, -1), alloc.n_pilots)
    empty = SCHEME_RATES[name](csi, prec, nobody, context(name))
    assert np.all(empty.sinr == 0.0) and np.all(empty.se_bps_hz == 0.0)


@pytest.mark.parametrize("name", NAMES)
def test_block_equals_its_snapshots(name: str) -> None:
    params = P004 if name in ("uc-dmimo", "fc-dmimo", "nct") else P000
    csi = block(37, params, times_s=(0.0, 1.0, 2.0, 3.0))
    prec = csi.steps(0)
    alloc = allocation_of(name, decision(prec, 38))
    ctx = context(name)
    whole = SCHEME_RATES[name](csi, prec, alloc, ctx)
    one_by_one = SCHEME_RATES[name](csi, prec, alloc, replace(ctx, sub_block_steps=1))
    np.testing.assert_allclose(one_by_one.sinr, whole.sinr, rtol=1e-12, atol=0.0)
    for t in range(csi.beta.shape[0]):
        snap = SCHEME_RATES[name](csi.steps(t), prec, alloc, ctx)
        np.testing.assert_allclose(snap.sinr, whole.sinr[t], rtol=1e-12, atol=0.0)
        np.testing.assert_allclose(snap.se_bps_hz, whole.se_bps_hz[t], rtol=1e-12, atol=0.0)
    # fresh CSI given as a block (csi_precoder of the block's shape) = step-by-step fresh snapshots
    fresh = SCHEME_RATES[name](csi, csi, alloc, ctx)
    for t in range(csi.beta.shape[0]):
        snap = SCHEME_RATES[name](csi.steps(t), csi.steps(t), alloc, ctx)
        np.testing.assert_allclose(snap.sinr, fresh.sinr[t], rtol=1e-12, atol=0.0)
    # leading axes of any shape
    grid = StatisticalCSI(**{f.name: getattr(csi, f.name).reshape((2, 2) + getattr(csi, f.name).shape[1:])
                             for f in fields(StatisticalCSI)})
    assert np.array_equal(SCHEME_RATES[name](grid, prec, alloc, ctx).sinr.reshape(whole.sinr.shape), whole.sinr)


PER_STEP = ["cf-mntn-smrt", "cf-mntn-szf", "cf-mmimo-imrt", "distance-sca", "uc-dmimo", "fc-dmimo", "nct"]


@pytest.mark.parametrize("name", PER_STEP)
@pytest.mark.parametrize("fresh", [False, True])
def test_per_step_weights_equal_step_by_step_decisions(name: str, fresh: bool) -> None:
    """A block with per-step weights (a cluster repaired between reclusterings) gives, step for step,
    the rates of each step's decision evaluated alone — including steps where a link or a whole
    satellite is dropped and a step where a user loses every link."""
    params = P004 if name in ("uc-dmimo", "fc-dmimo", "nct") else P000
    csi = block(41, params, times_s=(0.0, 1.0, 2.0, 3.0))
    prec = csi if fresh else csi.steps(0)
    base = allocation_of(name, decision(csi.steps(0), 42))
    n_steps = csi.beta.shape[0]
    power = np.repeat(base.power[None], n_steps, axis=0)
    mask = np.repeat(base.mask[None], n_steps, axis=0)
    sat, user = np.argwhere(base.mask)[0]
    mask[1, sat, user] = False                                    # one link dropped
    mask[2, sat] = False                                          # the whole satellite sets
    power[2] *= 0.5 ** 0.5                                        # the rest rescaled
    mask[3, :, user] = False                                      # a user without any link
    ctx = context(name)
    steps = Allocation(power, mask, base.serving, base.beam, base.pilots, base.n_pilots)
    whole = SCHEME_RATES[name](csi, prec, steps, ctx)
    for t in range(n_steps):
        one = Allocation(power[t], mask[t], base.serving, base.beam, base.pilots, base.n_pilots)
        alone = SCHEME_RATES[name](csi.steps(t), prec.steps(t) if fresh else prec, one, ctx)
        np.testing.assert_allclose(whole.sinr[t], alone.sinr, rtol=1e-12, atol=0.0)
        np.testing.assert_array_equal(whole.n_serving[t], alone.n_serving)
    assert whole.sinr[3, user] == 0.0 and np.all(np.isfinite(whole.sinr))
    assert not np.allclose(whole.sinr[0], whole.sinr[2])           # the steps did differ


def test_per_step_weights_are_refused_where_precoders_depend_on_them() -> None:
    csi = block(43, P000, times_s=(0.0, 1.0))
    alloc = decision(csi.steps(0), 44)["single"]
    per_step = Allocation(np.repeat(alloc.power[None], 2, axis=0), np.repeat(alloc.mask[None], 2, axis=0),
                          alloc.serving)
    with pytest.raises(InputError, match="per-step"):
        SCHEME_RATES["single-slnr"](csi, csi.steps(0), per_step, context("single-slnr"))
    cluster = decision(csi.steps(0), 44)["cluster"]
    three = Allocation(np.repeat(cluster.power[None], 3, axis=0), np.repeat(cluster.mask[None], 3, axis=0),
                       cluster.serving)
    with pytest.raises(InputError, match="same T"):
        SCHEME_RATES["cf-mntn-smrt"](csi, csi.steps(0), three, context("cf-mntn-smrt"))


def test_validation_messages() -> None:
    csi = block(39, P000, times_s=(0.0,)).steps(0)
    n_sat, n_user = csi.beta.shape
    good = np.ones((n_sat, n_user))
    with pytest.raises(InputError, match="shape"):
        Allocation(good[:, :-1], good.astype(bool), np.zeros(n_user, int))
    with pytest.raises(InputError, match=">= 0"):
        Allocation(-good, good.astype(bool), np.zeros(n_user, int))
    with pytest.raises(InputError, match="serving"):
        Allocation(good, good.astype(bool), np.full(n_user, n_sat))
    with pytest.raises(InputError, match="together"):
        Allocation(good, good.astype(bool), np.zeros(n_user, int), pilots=np.zeros(n_user, int))
    with pytest.raises(InputError, match="pilots"):
        Allocation(good, good.astype(bool), np.zeros(n_user, int), pilots=np.full(n_user, 3), n_pilots=3)
    with pytest.raises(InputError, match="method"):
        RateContext.from_params(P000, method="fast")
    alloc = Allocation(good / np.sqrt(n_user), good.astype(bool), np.zeros(n_user, int))
    with pytest.raises(InputError, match="reproduce"):       # spacing differs from the CSI's
        SCHEME_RATES["cf-mntn-smrt"](csi, csi, alloc, RateContext.from_params(P000, spacing_h=0.6))
    with pytest.raises(InputError, match="elements"):
        SCHEME_RATES["cf-mntn-smrt"](csi, csi, alloc, RateContext.from_params(P000, n_h=8))
    with pytest.raises(InputError, match="csi_precoder"):
        SCHEME_RATES["cf-mntn-smrt"](csi, csi.satellites(np.arange(n_sat - 1)), alloc, RateContext.from_params(P000))
    with pytest.raises(InputError, match="pilots"):
        SCHEME_RATES["cf-mmimo-imrt"](csi, csi, alloc, RateContext.from_params(P000))
    with pytest.raises(InputError, match="beam"):
        SCHEME_RATES["spot-beam"](csi, csi, alloc, RateContext.from_params(P000))


def test_doctests() -> None:
    for module in (evaluate, mismatched):
        assert doctest.testmod(module, raise_on_error=False).failed == 0


def test_imrt_estimator_gram_path_equals_explicit_path_with_shared_and_missing_pilots() -> None:
    """The per-pilot-group solve of the Gram path (K users, 3 pilots, some without) = the N × N solves."""
    csi = block(41, P000, n_sat=5, n_user=12, times_s=(0.0,)).steps(0)
    f = steering_factors(csi.theta_rad, csi.phi_rad, 4, 4)
    gram = gram_matrix(f, f)
    pilots = np.array([0, 1, 2, 0, -1, 1, 0, 2, -1, 1, 0, 2])
    fast = imrt_estimator(csi, pilots, 3, 1.0, 1e-13, gram)
    slow = imrt_estimator(csi, pilots, 3, 1.0, 1e-13)
    for name in ("e_hat", "inv_norm", "noise_z"):
        ref = getattr(slow, name)
        np.testing.assert_allclose(getattr(fast, name), ref, rtol=1e-8, atol=1e-10 * np.abs(ref).max())
    # b_j lives on its pilot group only: the Gram coefficients vanish across groups
    index = np.array([0, 1, 2, 0, 3, 1, 0, 2, 4, 1, 0, 2])
    assert np.all(fast.coef[..., index[:, None] != index[None, :]] == 0)


@pytest.mark.parametrize("flatten", [True, False])
def test_selection_without_steering_gathers_no_steering(flatten: bool) -> None:
    """The Gram path's CSI selection: the same arrays as ``satellites``, and a zero-stride steering
    placeholder of the selected shape instead of a gathered copy."""
    csi = block(3, P000, n_sat=5, n_user=4)
    if not flatten:
        csi = csi.steps(1)
    sats = np.array([0, 2, 3])
    got = evaluate._select(csi, sats, keep_steering=False, flatten=flatten)
    ref = csi.satellites(sats)
    for f in fields(csi):
        if f.name != "steering":
            assert np.array_equal(getattr(got, f.name), getattr(ref, f.name))
    assert got.steering.shape == ref.steering.shape and not any(got.steering.strides)
    kept = evaluate._select(csi, sats, keep_steering=True, flatten=flatten)
    assert np.array_equal(kept.steering, ref.steering)
