"""UC-DMIMO (004) and its baselines FC-DMIMO and NCT: clusters around the RSAP, fractional power,
MR precoding from pilot estimates with asynchronous reception."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...radio.statistical_csi import StatisticalCSI
from ..decision import DecideContext, Scheme, SchemeDecision, one_hot
from ..evaluate import MrRates
from ..ucdmimo import assign_pilots, fractional_power

__all__ = ["SCHEMES"]


def _uc_family(clusters: Callable) -> Callable:
    def decide(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
               cache: dict) -> SchemeDecision:
        serving = np.asarray(rsap, dtype=np.int64)
        usable = np.asarray(csi.visible, bool) & (csi.beta > 0)
        cluster = clusters(csi, ctx, serving, usable)
        pilots = assign_pilots(csi.beta, np.where(serving >= 0, serving, 0), ctx.n_pilots)
        power = fractional_power(csi.beta, cluster)
        return SchemeDecision(power=power, mask=cluster & (power > 0), serving=serving, pilots=pilots, status="rule")

    return decide


def _user_centric(csi: StatisticalCSI, ctx: DecideContext, serving: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """S_k = satellites above the cluster elevation, plus the RSAP (004 Sec. III-A)."""
    return (usable & (csi.elevation_rad >= ctx.cluster_min_elevation_rad)) | (one_hot(serving, csi.n_sat) & usable)


def _full(csi: StatisticalCSI, ctx: DecideContext, serving: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Every usable link (FC-DMIMO)."""
    return usable


def _rsap_only(csi: StatisticalCSI, ctx: DecideContext, serving: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """The RSAP alone (NCT: no cooperative transmission)."""
    return one_hot(serving, csi.n_sat) & usable


SCHEMES = (
    Scheme("uc-dmimo", _uc_family(_user_centric), MrRates(), "serving", paper="004",
           summary="RSAP plus satellites above the cluster elevation, fractional power, MR"),
    Scheme("fc-dmimo", _uc_family(_full), MrRates(), "serving", paper="004",
           summary="every visible satellite, fractional power, MR"),
    Scheme("nct", _uc_family(_rsap_only), MrRates(), "serving", single_serving=True, paper="004",
           summary="the RSAP alone, MR"),
)
