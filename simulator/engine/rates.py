"""Rates of a lane's decision over a block of steps: the engine's adapter to the evaluator registry.

Two precoder models (scenario ``events.precoder_tracking``):

- ``"tracked"`` (default): precoders are rebuilt at each CSI refresh from that refresh's angles,
  β and κ, and their LOS phase 2π(tν − fτ) is predicted from the ephemeris at every step
  (positions are predictable, 000 Sec. III), so coherent joint transmission stays coherent between
  refreshes; clusters and powers are as old as the last decision.
- ``"snapshot"``: precoders are frozen at the last CSI refresh (DESIGN.md's literal reading). At
  5 GHz the LOS phase 2π(tν − fτ) of a LEO link turns through ~10⁵ rad/s, so frozen phases decohere
  within milliseconds; this mode shows that effect and is not the default.
"""

from __future__ import annotations

import numpy as np

from ..cooperation.evaluate import Allocation, RateContext, RateModel
from ..cooperation.schemes import DecideContext, SchemeDecision
from ..radio.params import RadioParams
from ..radio.statistical_csi import StatisticalCSI

__all__ = ["PRECODER_MODELS", "RateEvaluator"]

PRECODER_MODELS = ("tracked", "snapshot")


class RateEvaluator:
    """Callable ``(model, csi_true, csi_refresh, decision) -> (sinr, se_bps_hz)``, each (T, U).

    ``model`` is the scheme's rate model (``Scheme.rates``). ``decision.power`` and
    ``decision.mask`` may be (T, S, U) — the weights in force at each step — for the models of
    :meth:`accepts_per_step`.
    """

    def __init__(self, ctx: DecideContext, params: RadioParams, *, precoders: str = "tracked",
                 beam_directions: np.ndarray | None = None) -> None:
        if precoders not in PRECODER_MODELS:
            raise ValueError(f"precoders={precoders!r} is not one of {', '.join(PRECODER_MODELS)}")
        self.tracked = precoders == "tracked"
        self.n_pilots = ctx.n_pilots
        self.ctx = RateContext.from_params(
            params, pilot_power_w=ctx.pilot_power_w, beam_directions=beam_directions,
            phase_source="true" if self.tracked else "precoder",
        )

    def accepts_per_step(self, model: RateModel) -> bool:
        """Whether decisions evaluated by ``model`` may carry per-step power and mask (T, S, U)."""
        return model.accepts_per_step(self.ctx)

    def __call__(self, model: RateModel, csi_true: StatisticalCSI, csi_refresh: StatisticalCSI,
                 d: SchemeDecision) -> tuple[np.ndarray, np.ndarray]:
        alloc = Allocation(power=d.power, mask=d.mask, serving=d.serving, beam=d.beam, pilots=d.pilots,
                           n_pilots=self.n_pilots if d.pilots is not None else None)
        block = model(csi_true, csi_refresh, alloc, self.ctx)
        return block.sinr, block.se_bps_hz
