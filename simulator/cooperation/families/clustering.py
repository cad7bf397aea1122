"""000 Fig. 5's clustering benchmarks with sMRT: distance clusters (SCA or uniform power) and
Algorithm-1 clusters with uniform power (:mod:`simulator.cooperation.baselines`)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from ...radio.statistical_csi import StatisticalCSI
from ..baselines import alg1_uniform, distance_sca, distance_uniform, uniform_decision
from ..decision import DecideContext, Scheme, SchemeDecision, from_solver, no_serving, warm_start
from ..evaluate import StatisticalRates
from ..rates_cfmntn import coefficients
from .cfmntn import algorithm1_run_key

__all__ = ["SCHEMES"]


def _baseline(fn: Callable) -> Callable:
    def decide(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
               cache: dict) -> SchemeDecision:
        coeffs = ctx.for_decision(coefficients(csi, "smrt", ctx.tx_power_w, ctx.noise_w))
        extra = {"floor_share": ctx.sum_stage_floor} if fn is distance_sca else {}
        d = fn(coeffs, ctx.k_max, distance_m=csi.slant_range_m, allowed=csi.visible,
               warm_start=warm_start(prev, csi.beta.shape), tol=ctx.tolerance, **extra)
        return from_solver(d, no_serving(csi.n_user))

    return decide


def _alg1_uniform(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
                  cache: dict) -> SchemeDecision:
    """Algorithm-1 (sMRT) clusters with uniform power; reuses cf-mntn-smrt's run on the same snapshot."""
    run = cache.get(algorithm1_run_key("smrt"))
    if run is None:
        return _baseline(alg1_uniform)(csi, ctx, rsap, prev, cache)
    start = time.perf_counter()
    coeffs = ctx.for_decision(coefficients(csi, "smrt", ctx.tx_power_w, ctx.noise_w))
    uniform = uniform_decision(coeffs, run.cluster, reason=run.reason, start=start)
    return from_solver(dataclasses.replace(uniform, inner_iters=run.inner_iters, outer_iters=run.outer_iters,
                                           solve_s=run.solve_s + uniform.solve_s), no_serving(csi.n_user))


SCHEMES = (
    Scheme("distance-sca", _baseline(distance_sca), StatisticalRates(precoder="smrt"), "cluster", paper="000",
           summary="nearest-satellite clusters, SCA max-min power then max sum SE at that minimum, sMRT"),
    Scheme("distance-uniform", _baseline(distance_uniform), StatisticalRates(precoder="smrt"), "cluster",
           paper="000", summary="nearest-satellite clusters, uniform power, sMRT"),
    Scheme("alg1-uniform", _alg1_uniform, StatisticalRates(precoder="smrt"), "cluster", reuses="cf-mntn-smrt",
           paper="000", summary="Algorithm 1 clusters (cf-mntn-smrt's run), uniform power, sMRT"),
)
