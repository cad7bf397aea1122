"""Rates from the served precoders only (precoder_span.served_columns, rates_cfmntn.sinr_from_column_moments).

Each satellite serves a few of the K users; the column path forms the projections and moments of
those precoders alone. It must give the numbers of the full (..., L, K, K) path: to 1e-12 on random
moments, exactly the gathered entries for the projections, and to 1e-9 (relative) against the
explicit N-element path for every statistical scheme on stale blocks.
"""

from __future__ import annotations

import numpy as np
import pytest
from leo_snapshot import snapshot

from simulator.cooperation import evaluate
from simulator.cooperation.evaluate import Allocation, RateContext
from simulator.cooperation.precoder_span import served_columns, slnr_span, smrt_span, span_projections, szf_span
from simulator.cooperation.rates_cfmntn import sinr_from_column_moments, sinr_from_moments
from simulator.cooperation.schemes import SCHEME_RATES
from simulator.cooperation.single import serving_one_hot, strongest_satellite
from simulator.radio.params import paper000_params
from simulator.radio.steering import gram_matrix, steering_factors

PARAMS = paper000_params(n_h=4, n_v=4)
N_SAT, N_USER, K_MAX = 5, 14, 3


def sparse_mask(rng: np.random.Generator, shape: tuple[int, ...], k_max: int = K_MAX) -> np.ndarray:
    """Each satellite serves at most ``k_max`` users; satellite 0 serves nobody, user 0 is unserved."""
    score = rng.uniform(size=shape)
    rank = np.argsort(np.argsort(-score, axis=-1), axis=-1)
    mask = rank < rng.integers(1, k_max + 1, size=shape[:-1])[..., None]
    mask[..., 0, :] = False
    mask[..., :, 0] = False
    return mask


def test_served_columns_lists_each_satellites_users() -> None:
    mask = np.array([[False, True, False, True], [False, False, False, False], [True, False, False, False]])
    cols = served_columns(mask)
    assert cols.width == 2
    np.testing.assert_array_equal(cols.index, [[1, 3], [0, 0], [0, 0]])
    np.testing.assert_array_equal(cols.valid, [[True, True], [False, False], [True, False]])
    per_step = served_columns(np.stack([mask, np.roll(mask, 1, axis=-1)]))      # union over the steps
    assert per_step.width == 4


@pytest.mark.parametrize("per_step", [False, True])
def test_column_moments_give_the_full_sinr(per_step: bool) -> None:
    rng = np.random.default_rng(1)
    lead = (4,)
    shape = lead + (N_SAT, N_USER)
    mask = sparse_mask(rng, shape if per_step else shape[-2:])
    p = np.where(mask, rng.uniform(0.1, 1.0, mask.shape), 0.0)
    mean = rng.normal(size=shape + (N_USER,)) + 1j * rng.normal(size=shape + (N_USER,))
    var = rng.uniform(0.0, 2.0, size=shape + (N_USER,))
    noise = rng.uniform(0.5, 1.5, size=lead)
    ref = sinr_from_moments(mean, var, np.broadcast_to(p, shape), 2.0, noise)
    cols = served_columns(mask)
    got = sinr_from_column_moments(cols.take_last(mean), cols.take_last(var), p, cols, 2.0, noise)
    assert np.count_nonzero(ref) >= N_USER
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0.0)
    none = sinr_from_column_moments(cols.take_last(mean), cols.take_last(var), 0.0 * p, cols, 2.0, noise)
    assert np.all(none == 0.0)


@pytest.mark.parametrize("kind", ["smrt", "szf", "slnr"])
@pytest.mark.parametrize("steps", [False, True])
def test_span_projections_on_columns_are_the_full_ones_gathered(kind: str, steps: bool) -> None:
    csi = snapshot(2, N_SAT, N_USER, PARAMS, times_s=np.array([0.0, 2.0, 4.0]))
    prec = csi if steps else csi.steps(0)
    factors = steering_factors(prec.theta_rad, prec.phi_rad, PARAMS.n_h, PARAMS.n_v)
    if kind == "smrt":
        span = smrt_span(prec, factors)
    elif kind == "szf":
        span = szf_span(prec, factors)
    else:
        served = serving_one_hot(strongest_satellite(prec), N_SAT)
        span = slnr_span(prec, factors, served, PARAMS.tx_power_w, PARAMS.noise_power_w)
    true = steering_factors(csi.theta_rad, csi.phi_rad, PARAMS.n_h, PARAMS.n_v)
    cols = served_columns(sparse_mask(np.random.default_rng(3), (N_SAT, N_USER)))
    full = span_projections(true, span)
    got = span_projections(true, span, cols)
    # the sums over the span (sZF's ill-conditioned C cancels heavily) round differently with fewer
    # columns: bound each entry by the rounding of Σ_i |a_k^H â_i| |C_ij|
    coef = span.coefficients() if span.diagonal else np.abs(span.coefficients())
    bound = np.abs(full) if span.diagonal else np.abs(gram_matrix(true, span.factors)) @ coef
    np.testing.assert_allclose(got, cols.take_last(full), rtol=0, atol=1e-13 * bound.max() + 1e-300)
    np.testing.assert_array_less(np.abs(got - cols.take_last(full)), 1e-13 * cols.take_last(bound) + 1e-300)


class _AllColumns:
    width = np.iinfo(np.int64).max          # never ≤ K / 2: the full (..., L, K, K) path


@pytest.mark.parametrize("name", ["cf-mntn-smrt", "cf-mntn-szf", "single-slnr", "single-smrt", "distance-sca"])
@pytest.mark.parametrize("precoders", ["snapshot", "per-step"])
def test_sparse_allocations_equal_the_full_path(name: str, precoders: str, monkeypatch) -> None:
    """Few users per satellite, so the Gram path takes the column form: it equals the full Gram path
    (the previous formula) and, but for sZF, the explicit N-element path, to 1e-9. 8 × 8 arrays keep
    sZF's Â^H well conditioned (with 4 × 4 and 14 users its C cancels to 1e-5 on either path)."""
    params = paper000_params(n_h=8, n_v=8)
    csi = snapshot(5, N_SAT, N_USER, params, times_s=np.array([0.0, 2.0, 4.0, 6.0]))
    prec = csi.steps(0) if precoders == "snapshot" else csi
    rng = np.random.default_rng(6)
    if name.startswith("single"):
        serving = np.arange(N_USER) % N_SAT                                   # ≤ 3 users per satellite
        mask = serving_one_hot(serving, N_SAT)
    else:
        mask = sparse_mask(rng, (N_SAT, N_USER))
        serving = np.where(mask.any(axis=0), np.argmax(mask, axis=0), -1)
    assert 2 * served_columns(mask).width <= N_USER                             # the column path is taken
    alloc = Allocation(np.where(mask, rng.uniform(0.2, 1.0, mask.shape), 0.0), mask, serving)
    for source in ("precoder", "true"):
        ctx = RateContext.from_params(params, phase_source=source)
        got = SCHEME_RATES[name](csi, prec, alloc, ctx).sinr
        assert np.count_nonzero(got) >= 4
        if name != "cf-mntn-szf":
            expl = SCHEME_RATES[name](csi, prec, alloc, RateContext.from_params(params, phase_source=source,
                                                                                 method="explicit"))
            np.testing.assert_allclose(got, expl.sinr, rtol=1e-9, atol=0.0)
        with monkeypatch.context() as patch:
            patch.setattr(evaluate, "served_columns", lambda mask: _AllColumns())
            full = SCHEME_RATES[name](csi, prec, alloc, ctx).sinr
        np.testing.assert_allclose(got, full, rtol=1e-9, atol=0.0)


def test_per_step_sparse_weights_gram_equals_explicit() -> None:
    """Per-step weights (T, S, U) on the column path: the union of the steps' users is formed."""
    csi = snapshot(8, N_SAT, N_USER, PARAMS, times_s=np.array([0.0, 2.0, 4.0]))
    rng = np.random.default_rng(9)
    mask = sparse_mask(rng, (3, N_SAT, N_USER), k_max=2)
    serving = np.where(mask[0].any(axis=0), np.argmax(mask[0], axis=0), -1)
    alloc = Allocation(np.where(mask, rng.uniform(0.2, 1.0, mask.shape), 0.0), mask, serving)
    ctx = RateContext.from_params(PARAMS, phase_source="true")
    gram = SCHEME_RATES["cf-mntn-smrt"](csi, csi.steps(0), alloc, ctx)
    expl = SCHEME_RATES["cf-mntn-smrt"](csi, csi.steps(0), alloc, RateContext.from_params(
        PARAMS, phase_source="true", method="explicit"))
    np.testing.assert_allclose(gram.sinr, expl.sinr, rtol=1e-9, atol=0.0)
