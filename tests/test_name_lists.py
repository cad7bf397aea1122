"""Every name list has one source; where a copy must exist (a scenario field's Literal, which the
scenario models keep for their error messages), a test keeps it in step with the source."""

from __future__ import annotations

import typing

import pytest

from simulator import scenario as scenario_module
from simulator.cooperation import rsap
from simulator.cooperation.decision import INTERFERENCE_MODELS
from simulator.cooperation.schemes import SCHEMES
from simulator.engine import schemas
from simulator.engine.rates import PRECODER_MODELS
from simulator.orbits.walker import PRESETS
from simulator.radio.params import BANDS, ENVIRONMENTS, KAPPA_MODELS, LOS_MODELS


def _literal(model, field: str) -> tuple:
    """The values of a field annotated ``Literal[...]`` (or ``Literal[...] | None``)."""
    annotation = model.model_fields[field].annotation
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) is typing.Literal:
            return typing.get_args(arg)
    raise AssertionError(f"{model.__name__}.{field} is not a Literal")


@pytest.mark.parametrize("model, field, source", [
    (scenario_module.ConstellationConfig, "preset", tuple(PRESETS)),
    (scenario_module.RadioConfig, "kappa_model", KAPPA_MODELS),
    (scenario_module.RadioConfig, "environment", ENVIRONMENTS),
    (scenario_module.RadioConfig, "band", BANDS),
    (scenario_module.RadioConfig, "los_model", LOS_MODELS),
    (scenario_module.EventsConfig, "precoder_tracking", PRECODER_MODELS),
    (scenario_module.EventsConfig, "decision_interference", INTERFERENCE_MODELS),
])
def test_scenario_literals_match_their_source(model, field, source):
    assert set(_literal(model, field)) == set(source)


def test_derived_lists_are_the_sources():
    assert scenario_module.SCHEMES == tuple(SCHEMES)
    assert scenario_module.RSAP_POLICIES == tuple(rsap.POLICIES)
    assert scenario_module.WALKER_PRESETS == tuple(PRESETS)
    assert schemas.HANDOVER_KINDS is rsap.HANDOVER_KINDS
    column = {c.name: c for c in schemas.COLUMNS["rates"]}
    assert column["scheme"].allowed is SCHEMES and column["rsap_policy"].allowed is rsap.POLICIES


def test_experiment_scheme_selections_are_registry_names():
    from simulator.experiments import cfmntn, figures_cfmntn, figures_ucdmimo, ucdmimo

    for names in (cfmntn.SCHEMES_000, ucdmimo.SCHEMES_004, figures_cfmntn.BENCHMARKS, figures_cfmntn.CLUSTERING,
                  tuple(figures_cfmntn.LABELS), tuple(figures_ucdmimo.LABELS), tuple(figures_ucdmimo.COLOURS)):
        assert set(names) <= set(SCHEMES), names


def test_analysis_reads_every_table_the_replay_writes():
    from simulator.analysis.loading import ANALYSED_TABLES

    assert set(ANALYSED_TABLES) == set(schemas.TABLES) - {"csi"}
