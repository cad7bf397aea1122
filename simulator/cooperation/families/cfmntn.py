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


#: ``algorithm1``'s ``warm_margin`` per precoder. sMRT: on the phase-averaged decisions of a replay
#: the previous decision's point is 1.2–2× below the cold start point, and taking it anyway halves
#: the CPU per decision (40 reclusterings of starlink-24h's first 600 s: 3.60 → 1.82 s) at min rates
#: within −0.66 … +0.52 % (median −0.03 %). sZF: 12 % less CPU but −9.6 % and −5.5 % on two of the
#: 40, so sZF keeps the plain rule (docs/algorithm1.md, "Warm start").
WARM_MARGIN = {"smrt": 2.5, "szf": 1.0}


def _cf_mntn(precoder: str) -> Callable:
    def decide(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
               cache: dict) -> SchemeDecision:
        coeffs = ctx.for_decision(coefficients(csi, precoder, ctx.tx_power_w, ctx.noise_w))
        d = algorithm1(coeffs, ctx.k_max, allowed=csi.visible, warm_start=warm_start(prev, csi.beta.shape),
                       tol=ctx.tolerance, warm_margin=WARM_MARGIN[precoder])
        cache[algorithm1_run_key(precoder)] = d
        return from_solver(d, no_serving(csi.n_user))

    return decide


SCHEMES = (
    Scheme("cf-mntn-smrt", _cf_mntn("smrt"), StatisticalRates(precoder="smrt"), "cluster", paper="000",
           summary="Algorithm 1 clusters and max-min power, sMRT precoders"),
    Scheme("cf-mntn-szf", _cf_mntn("szf"), StatisticalRates(precoder="szf"), "cluster", paper="000",
           summary="Algorithm 1 clusters and max-min power, sZF precoders"),
)
