"""leosim — a simulator of cooperative (cell-free) LEO satellite networks.

The import package is ``simulator``; the distribution and the command are ``leosim``. The public
names below (``__all__``) are imported on first use, so ``import simulator`` (and the CLI) stays
fast. ``docs/python.md`` walks through them::

    import simulator as sim
    scenario = sim.load_scenario("scenarios/quickstart.toml")
    run_dir = sim.run_scenario(scenario, output_dir="runs/quickstart")
    run = sim.load_run(run_dir)
    sim.headline(run)              # RSAP handovers per user-hour, SE, outage per scheme and policy
    rates = sim.read_table(run_dir, "rates")
"""

from __future__ import annotations

import importlib

from .errors import InputError, LeosimError, ScenarioError, SolverError, TLEError

__version__ = "0.1.0"

#: Public name -> module that defines it (imported lazily, PEP 562).
_LAZY = {
    # orbits
    "Catalog": "simulator.orbits",
    "load_catalog": "simulator.orbits",
    "write_tle": "simulator.orbits",
    "walker_catalog": "simulator.orbits",
    "WalkerSpec": "simulator.orbits",
    "PRESETS": "simulator.orbits",
    "propagate_ecef": "simulator.orbits",
    "geodetic_to_ecef": "simulator.orbits",
    "look_angles": "simulator.orbits",
    "visible_windows": "simulator.orbits",
    "find_passes": "simulator.orbits",
    "find_shells": "simulator.orbits.shells",
    # radio
    "RadioParams": "simulator.radio",
    "StatisticalCSI": "simulator.radio",
    "compute_statistical_csi": "simulator.radio",
    "paper000_params": "simulator.radio",
    "paper004_params": "simulator.radio",
    "steering_vector": "simulator.radio",
    # cooperation
    "SinrCoefficients": "simulator.cooperation.coefficients",
    "algorithm1": "simulator.cooperation.algorithm1",
    "sca_power": "simulator.cooperation.algorithm1",
    "SCHEMES": "simulator.cooperation.schemes",
    "decide": "simulator.cooperation.schemes",
    "SCHEME_RATES": "simulator.cooperation.evaluate",
    "evaluate_rates": "simulator.cooperation.evaluate",
    # scenario, engine
    "Scenario": "simulator.scenario",
    "load_scenario": "simulator.scenario",
    "parse_scenario": "simulator.scenario",
    "run_scenario": "simulator.engine.run",
    "RunProgress": "simulator.engine.run",
    "summarise_run": "simulator.engine.run",
    "read_table": "simulator.engine.recorder",
    # analysis: metrics of a run (docs/analysis.md)
    "RunData": "simulator.analysis",
    "load_run": "simulator.analysis",
    "headline": "simulator.analysis",
    "headline_table": "simulator.analysis",
    "handover_rate": "simulator.analysis",
    "ping_pong_rate": "simulator.analysis",
    "coverage_time_km": "simulator.analysis",
    "coverage_summary": "simulator.analysis",
    "se_cdf": "simulator.analysis",
    "se_over_time": "simulator.analysis",
    "se_summary": "simulator.analysis",
    "cluster_size_distribution": "simulator.analysis",
    "serving_timeline": "simulator.analysis",
    # analysis: figures and the HTML report
    "plot_handover_rate": "simulator.analysis.plots",
    "plot_coverage_cdf": "simulator.analysis.plots",
    "plot_se_cdf": "simulator.analysis.plots",
    "plot_se_over_time": "simulator.analysis.plots",
    "write_report": "simulator.analysis.report",
}

__all__ = ["__version__", "LeosimError", "InputError", "TLEError", "ScenarioError", "SolverError", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
