"""CF-mMIMO with iMRT (000 Sec. VI): every visible satellite serves every user, SCA power."""

from __future__ import annotations

import numpy as np

from ...radio.statistical_csi import StatisticalCSI
from ..algorithm1 import sca_power
from ..decision import DecideContext, Scheme, SchemeDecision, from_solver, no_serving, warm_start
from ..evaluate import ImrtRates
from ..rates_cfmmimo import coefficients_imrt, pilot_book

__all__ = ["SCHEMES"]


def _cf_mmimo(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
              cache: dict) -> SchemeDecision:
    """CF-mMIMO with iMRT: all visible satellites serve every user, SCA power (000 Sec. VI)."""
    pilots = np.arange(csi.n_user) % ctx.n_pilots
    book = pilot_book(csi.n_user, ctx.n_pilots)
    cluster = np.asarray(csi.visible, bool) & (csi.beta > 0)
    coeffs = ctx.for_decision(coefficients_imrt(csi, ctx.tx_power_w, ctx.noise_w, book, ctx.pilot_power_w,
                                                cluster_mask=cluster))
    d = sca_power(coeffs, cluster, warm_start=warm_start(prev, csi.beta.shape), tol=ctx.tolerance)
    return from_solver(d, no_serving(csi.n_user), pilots=pilots)


SCHEMES = (
    Scheme("cf-mmimo-imrt", _cf_mmimo, ImrtRates(), "cluster", paper="000",
           summary="all visible satellites, SCA max-min power, iMRT from shared pilots"),
)
