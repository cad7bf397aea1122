"""Spot beams (000 Sec. II-C.1): the best fixed beam of the serving satellite (the RSAP)."""

from __future__ import annotations

import numpy as np

from ...radio.statistical_csi import StatisticalCSI
from ..decision import DecideContext, Scheme, SchemeDecision, empty_decision
from ..evaluate import SpotRates, spotbeam_allocation
from ..spotbeam import select_beams

__all__ = ["SCHEMES"]


def _spot_beam(csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray, prev: SchemeDecision | None,
               cache: dict) -> SchemeDecision:
    """Best beam of the serving satellite (the RSAP); ρ_t split equally over each satellite's active beams."""
    serving = np.asarray(rsap, dtype=np.int64)
    if ctx.beam_weights is None or csi.n_sat == 0:
        return empty_decision(csi, "fallback:no-beams" if ctx.beam_weights is None else "fallback:no-link")
    _, _, rx = select_beams(csi, ctx.beam_weights)  # (L, K, B)
    k = np.arange(csi.n_user)
    safe = np.where(serving >= 0, serving, 0)
    beam = np.where(serving >= 0, np.argmax(rx[safe, k, :], axis=-1), -1)
    served = (serving >= 0) & (csi.beta[safe, k] > 0)
    alloc = spotbeam_allocation(serving, beam, csi.n_sat, served=served)
    return SchemeDecision(power=alloc.power, mask=alloc.mask, serving=alloc.serving, beam=alloc.beam, status="rule")


SCHEMES = (
    Scheme("spot-beam", _spot_beam, SpotRates(), "serving", single_serving=True, paper="000",
           summary="the RSAP's best fixed beam, power split equally over its active beams"),
)
