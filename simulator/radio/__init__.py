"""Radio: geometry in each satellite's antenna frame, steering vectors, statistical CSI, TR 38.811 extras."""

from __future__ import annotations

from .channel import delay_phase_shift, draw_channel, draw_link_coefficients, los_mean, reference_delay_s, timing_offset
from .csi import LinkDraws, compute_statistical_csi, draw_link_variates
from .params import RadioParams, paper000_params, paper004_params
from .statistical_csi import StatisticalCSI
from .steering import steering_vector

__all__ = [
    "StatisticalCSI",
    "RadioParams",
    "paper000_params",
    "paper004_params",
    "compute_statistical_csi",
    "LinkDraws",
    "draw_link_variates",
    "steering_vector",
    "los_mean",
    "draw_link_coefficients",
    "draw_channel",
    "reference_delay_s",
    "timing_offset",
    "delay_phase_shift",
]
