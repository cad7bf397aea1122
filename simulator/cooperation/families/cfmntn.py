"""CF-mNTN (000): Algorithm 1 clusters and power with statistical precoders sMRT or sZF."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...radio.statistical_csi import StatisticalCSI
from ..algorithm1 import algorithm1
from ..decision import DecideContext, Scheme, SchemeDecision, from_solver, no_serving, warm_start
from ..evaluate import StatisticalRates
from ..rates_cfmntn import coefficients

__all__ = ["SCHEMES", "algorithm1_run_key"]


def algorithm1_run_key(precoder: str) -> str:
    """The decision-cache key under which a CF-mNTN decision leaves its Algorithm-1 run."""
    return f"algorithm1-{precoder}"


def _cf_mntn(precoder: str) -> Callable:
    def decide(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
               cache: dict) -> SchemeDecision:
        coeffs = ctx.for_decision(coefficients(csi, precoder, ctx.tx_power_w, ctx.noise_w))
        d = algorithm1(coeffs, ctx.k_max, allowed=csi.visible, warm_start=warm_start(prev, csi.beta.shape),
                       tol=ctx.tolerance)
        cache[algorithm1_run_key(precoder)] = d
        return from_solver(d, no_serving(csi.n_user))

    return decide


SCHEMES = (
    Scheme("cf-mntn-smrt", _cf_mntn("smrt"), StatisticalRates(precoder="smrt"), "cluster", paper="000",
           summary="Algorithm 1 clusters and max-min power, sMRT precoders"),
    Scheme("cf-mntn-szf", _cf_mntn("szf"), StatisticalRates(precoder="szf"), "cluster", paper="000",
           summary="Algorithm 1 clusters and max-min power, sZF precoders"),
)
