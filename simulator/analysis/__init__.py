"""Metrics of a run: functions from a run directory (or a synthetic log) to tidy DataFrames.

Open a run with :func:`load_run` (or build a synthetic log with :meth:`RunData.from_frames`) and
pass the :class:`RunData` to any metric. Definitions, units, censoring and confidence intervals:
``docs/analysis.md``.
"""

from .coverage import coverage_intervals, coverage_summary, coverage_time_km, kaplan_meier, rsap_timeline
from .handovers import applicable_kinds, handover_rate, ping_pong_rate, ping_pongs
from .headline import HEADLINE_METRICS, headline, headline_table, serving_changes_rate
from .loading import RunData, load_run
from .spectral import (
    OPTIMISER_METRICS,
    cluster_size_distribution,
    cluster_size_summary,
    optimiser_distribution,
    optimiser_summary,
    se_cdf,
    se_over_time,
    se_summary,
)
from .timeline import scenario_summary, serving_timeline

__all__ = [
    "RunData", "load_run", "scenario_summary",
    "handover_rate", "applicable_kinds", "ping_pongs", "ping_pong_rate",
    "rsap_timeline", "coverage_intervals", "kaplan_meier", "coverage_time_km", "coverage_summary",
    "se_cdf", "se_over_time", "se_summary",
    "cluster_size_distribution", "cluster_size_summary",
    "OPTIMISER_METRICS", "optimiser_distribution", "optimiser_summary",
    "serving_timeline",
    "HEADLINE_METRICS", "headline", "headline_table", "serving_changes_rate",
]
