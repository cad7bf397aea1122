"""The worked examples of docs/contributing.md run as written: a toy scheme and a toy RSAP policy,
registered from here, with a short replay of the scheme."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulator.cooperation import rsap, schemes

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "contributing.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)


@pytest.fixture
def clean_registries():
    before_schemes, before_policies = dict(schemes.SCHEMES), dict(rsap.POLICIES)
    yield
    schemes.SCHEMES.clear()
    schemes.SCHEMES.update(before_schemes)
    rsap.POLICIES.clear()
    rsap.POLICIES.update(before_policies)


def test_the_guide_has_the_three_examples():
    assert len(_blocks()) == 3


def test_the_guides_examples_run(tmp_path, clean_registries):
    namespace = {"workdir": tmp_path}
    for block in _blocks():
        exec(compile(block, str(GUIDE), "exec"), namespace)
    assert "two-strongest" in schemes.SCHEMES and "best-lasting-60s" in rsap.POLICIES
    rates = namespace["read_table"](namespace["run_dir"], "rates")
    mine = rates[rates["scheme"] == "two-strongest"]
    assert len(mine) == 10 * 3 * 2 and (mine["se_bps_hz"] > 0).any()
    assert (mine["n_serving"] <= 2).all()


def test_register_refuses_a_taken_name_and_an_unknown_reuse(clean_registries):
    from simulator.cooperation.decision import Scheme
    from simulator.cooperation.evaluate import StatisticalRates
    from simulator.errors import InputError

    existing = schemes.SCHEMES["cf-mntn-smrt"]
    with pytest.raises(InputError, match="already registered"):
        schemes.register(existing)
    with pytest.raises(InputError, match="not registered"):
        schemes.register(Scheme("x", existing.decide, StatisticalRates(), "cluster", reuses="nothing"))
    with pytest.raises(InputError, match="rsap_mode"):
        Scheme("x", existing.decide, StatisticalRates(), "anchor")
    with pytest.raises(InputError, match="already registered"):
        rsap.register_policy(rsap.POLICIES["best-channel"])
