"""Experiments that replay a scenario through the engine (sweep tasks like the Monte-Carlo drops).

They sit above :mod:`simulator.engine` and :mod:`simulator.experiments`, which stay independent of
each other: the experiment registry imports this module by name on first lookup
(``registry._EXPERIMENT_MODULES``), so a Dask worker that unpickles a task finds them registered.

- ``uc-dmimo-coverage`` — coverage time per RSAP policy from a short replay (004 Fig 5).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .constants import NS_PER_S
from .engine.run import run_scenario
from .experiments.constellation import cached_catalog
from .experiments.registry import experiment
from .experiments.ucdmimo import COVERAGE_DEFAULTS, _resolve_params, coverage_rows, coverage_scenario_toml, walker_spec
from .scenario import parse_scenario
from .timebase import format_iso8601_ms, jd_to_utc_ns

__all__ = ["uc_dmimo_coverage"]


@experiment("uc-dmimo-coverage")
def uc_dmimo_coverage(params: dict, seed: int) -> pd.DataFrame:
    """Coverage time per RSAP policy from a short engine replay (004 Fig 5).

    The replay starts at an instant drawn from ``seed`` in ``window_s`` after the constellation's
    epoch; users are drawn in the disc with the same seed. Rows: :func:`coverage_rows`.
    """
    p = _resolve_params(params, COVERAGE_DEFAULTS, "uc-dmimo-coverage")
    catalog = cached_catalog(walker_spec(str(p["constellation"]), p["n_planes"]))[0]
    rng = np.random.default_rng(seed)
    start_ns = int(jd_to_utc_ns(catalog.median_epoch_jd())) + int(round(rng.uniform(0.0, float(p["window_s"])))) * NS_PER_S
    start_utc = str(format_iso8601_ms(start_ns))
    scenario = parse_scenario(coverage_scenario_toml(p, seed, start_utc), source="<uc-dmimo-coverage>")
    with tempfile.TemporaryDirectory(prefix="leosim-coverage-") as tmp:
        # rate_workers=0: a sweep task may run in a daemonic worker, which cannot start processes
        return coverage_rows(run_scenario(scenario, output_dir=Path(tmp) / "run", rate_workers=0))


uc_dmimo_coverage.defaults = COVERAGE_DEFAULTS
