"""Single-satellite service (000 Sec. VI): the RSAP serves alone, SCA power, SLNR or sMRT precoder."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...radio.statistical_csi import StatisticalCSI
from ..algorithm1 import sca_power
from ..decision import DecideContext, Scheme, SchemeDecision, from_solver, one_hot, warm_start
from ..evaluate import StatisticalRates
from ..single import coefficients_single

__all__ = ["SCHEMES"]


def _single(precoder: str) -> Callable:
    def decide(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
               cache: dict) -> SchemeDecision:
        serving = np.asarray(rsap, dtype=np.int64)
        cluster = one_hot(serving, csi.n_sat) & (csi.beta > 0)
        safe = np.where(serving >= 0, serving, 0)
        coeffs = ctx.for_decision(coefficients_single(csi, safe, precoder, ctx.tx_power_w, ctx.noise_w))
        d = sca_power(coeffs, cluster, warm_start=warm_start(prev, csi.beta.shape), tol=ctx.tolerance)
        return from_solver(d, serving)

    return decide


SCHEMES = (
    Scheme("single-slnr", _single("slnr"), StatisticalRates(links="serving", precoder="slnr"), "serving",
           single_serving=True, paper="000", summary="the RSAP alone, SCA power, SLNR precoder"),
    Scheme("single-smrt", _single("smrt"), StatisticalRates(links="serving", precoder="smrt"), "serving",
           single_serving=True, paper="000", summary="the RSAP alone, SCA power, sMRT precoder"),
)
