"""The scenarios shipped in scenarios/ load and build, say what docs/scenarios.md says, and the docs
cover every field."""

from __future__ import annotations

import datetime as dt
import re
import typing
import warnings
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel

from simulator.inputs import build_catalog, build_users, radio_params, scenario_start_utc, service_centre_ecef
from simulator.orbits import geodetic_to_ecef
from simulator.radio import paper000_params
from simulator.radio.linkbudget import NoiseBelowThermalWarning
from simulator.scenario import RSAP_POLICIES, SCHEMES, Scenario, load_scenario, parse_scenario

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
DOC = REPO / "docs" / "scenarios.md"
SHIPPED = ("quickstart", "starlink-24h", "rsap-policies", "iridium-handover", "real-starlink", "paper000")
NEEDS_SHARED = {"real-starlink"}
SWEEP_FILES = {"sweep-smoke"}  # `leosim sweep` files (docs/commands/sweep.md), not replay scenarios
AREA_FILES = ("latitudes", "latitudes-24h")  # scenarios with [areas] (several service areas), tested below
BOSTON = (42.36, -71.06)


def test_the_shipped_scenarios_are_documented():
    assert {p.stem for p in SCENARIOS.glob("*.toml")} - SWEEP_FILES == set(SHIPPED) | set(AREA_FILES)
    doc = DOC.read_text()
    for name in SHIPPED + AREA_FILES:
        assert f"`{name}.toml`" in doc


@pytest.fixture
def loaded(request, monkeypatch):
    def load(name: str):
        if name in NEEDS_SHARED:
            request.getfixturevalue("shared_tle_dir")  # skips cleanly when ../shared is absent
        monkeypatch.chdir(REPO)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NoiseBelowThermalWarning)
            sc = load_scenario(SCENARIOS / f"{name}.toml")
        # Only the scenarios that reproduce a paper use a noise power below kTB, and say so once.
        below = [w for w in caught if issubclass(w.category, NoiseBelowThermalWarning)]
        assert len(below) == (sc.radio.link_budget == "paper000")
        catalog = build_catalog(sc)
        return sc, catalog, build_users(sc), radio_params(sc)

    return load


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_loads_and_builds(loaded, name):
    sc, catalog, users, params = loaded(name)
    assert sc.name == name
    assert sc.output.directory == REPO / "runs" / name  # relative to the CWD (the repo root here)
    assert len(catalog) > 0 and users.n_user == 10
    assert users.positions_m(np.array([0.0, sc.time.duration_s])).shape == (2, 10, 3)
    assert params.n_ant == sc.radio.n_h * sc.radio.n_v
    assert scenario_start_utc(sc, catalog).tzinfo == dt.timezone.utc
    # Every shipped disc is centred on Boston; users lie within its radius (great circle, 1 m).
    centre = service_centre_ecef(users)
    np.testing.assert_allclose(centre, geodetic_to_ecef(*BOSTON, 0.0), atol=1e-6)
    pos = users.positions_m(0.0)
    cos = pos @ centre / (np.linalg.norm(pos, axis=-1) * np.linalg.norm(centre))
    assert np.all(np.arccos(np.clip(cos, -1, 1)) * np.linalg.norm(centre) <= sc.users.disc.radius_km * 1e3 + 1.0)


def test_latitudes_scenario(monkeypatch):
    from simulator.areas.config import expand_areas

    monkeypatch.chdir(REPO)
    sc = load_scenario(SCENARIOS / "latitudes.toml")
    areas = expand_areas(sc)
    lats = [a.users.disc.center_lat_deg for a in areas.values()]
    assert len(areas) >= 7 and lats == sorted(lats) and lats[0] == 0.0 and lats[-1] == 60.0
    assert {a.users.disc.center_lon_deg for a in areas.values()} == {0.0}
    assert {a.users.disc.count for a in areas.values()} == {10} and sc.time.duration_s == 3600.0
    assert sc.radio.link_budget == load_scenario(SCENARIOS / "quickstart.toml").radio.link_budget
    assert {"cf-mntn-smrt", "uc-dmimo", "nct", "single-smrt"} <= set(sc.schemes.names)
    assert tuple(sc.schemes.rsap_policies) == RSAP_POLICIES
    first = next(iter(areas.values()))
    assert len(build_catalog(first)) == 1584 and sc.output.directory == REPO / "runs" / "latitudes"


def test_latitudes_24h_is_latitudes_for_a_day(monkeypatch):
    monkeypatch.chdir(REPO)
    day, hour = load_scenario(SCENARIOS / "latitudes-24h.toml"), load_scenario(SCENARIOS / "latitudes.toml")
    assert day.time.duration_s == 86400.0 and day.output.directory == REPO / "runs" / "latitudes-24h"
    same = {"name", "time", "output"}
    assert day.model_dump(exclude=same) == hour.model_dump(exclude=same)
    assert day.time.model_dump(exclude={"duration_s"}) == hour.time.model_dump(exclude={"duration_s"})


@pytest.mark.parametrize("name, hours", [("quickstart", 1), ("starlink-24h", 24), ("paper000", 1)])
def test_quickstart_and_24h(loaded, name, hours):
    sc, catalog, users, params = loaded(name)
    assert sc.time.duration_s == hours * 3600.0 and sc.time.step_s == 1.0
    assert sc.constellation.preset == "starlink-shell1" and len(catalog) == 1584
    disc = sc.users.disc
    assert (disc.center_lat_deg, disc.center_lon_deg, disc.radius_km, disc.count) == (*BOSTON, 200.0, 10)
    assert tuple(sc.schemes.names) == SCHEMES and tuple(sc.schemes.rsap_policies) == RSAP_POLICIES
    assert (sc.events.min_elevation_deg, sc.events.k_max, sc.events.max_candidate_sats) == (25.0, 8, 20)
    if name == "paper000":
        assert params == paper000_params()  # 000's Section VI radio set-up
    else:  # the physical budget, as documented in docs/scenarios.md
        assert sc.radio.link_budget == "tr38821-s-band-handheld"
        assert params.frequency_hz == 2.0e9 and params.bandwidth_hz == 30e6 and params.scintillation
        assert params.kappa_model == "uniform" and params.kappa_range_db == (15.0, 20.0)
        ktb_dbm = 10 * np.log10(1.380649e-23 * 290.0 * params.bandwidth_hz) + 30.0
        assert 10 * np.log10(params.noise_w) + 30.0 == pytest.approx(ktb_dbm + 7.0)


def test_rsap_policies(loaded):
    sc, catalog, _, params = loaded("rsap-policies")
    assert sc.time.duration_s == 7200.0 and len(catalog) == 1584
    assert sc.schemes.names == ["cf-mntn-smrt", "single-smrt", "uc-dmimo"]
    assert tuple(sc.schemes.rsap_policies) == RSAP_POLICIES
    # the headline policy comparison runs on the physical budget, not 39 dB below kTB
    assert sc.radio.link_budget == "tr38821-s-band-handheld" and params.frequency_hz == 2.0e9
    assert sc.radio.link_budget == load_scenario(SCENARIOS / "quickstart.toml").radio.link_budget


def test_iridium_handover(loaded):
    sc, catalog, _, params = loaded("iridium-handover")
    assert sc.constellation.preset == "iridium" and len(catalog) == 66
    assert sc.radio.n_beams == 48 and sc.events.min_elevation_deg == 8.2 and sc.time.duration_s == 7200.0
    assert {"single-slnr", "single-smrt", "spot-beam"} <= set(sc.schemes.names)
    assert {"cf-mntn-smrt", "uc-dmimo"} <= set(sc.schemes.names)
    assert params.frequency_hz == 1.621e9 and params.band == "S" and params.zenith_db == 0.035
    assert sc.radio.link_budget == "tr38821-s-band-handheld"
    # The documented budget: kTB over 10.5 MHz plus the handheld's 7 dB noise figure (−96.8 dBm) and
    # the preset's 34 dBW/MHz EIRP density from a 30 dBi peak gain (44.2 dBm).
    ktb_dbm = 10 * np.log10(1.380649e-23 * 290.0 * params.bandwidth_hz) + 30.0
    assert 10 * np.log10(params.noise_w) + 30.0 == pytest.approx(ktb_dbm + 7.0)
    assert round(ktb_dbm + 7.0, 1) == -96.8 and round(sc.radio.tx_power_dbm, 1) == 44.2


def test_real_starlink_starts_at_median_epoch(loaded):
    sc, catalog, _, _ = loaded("real-starlink")
    assert len(catalog) == 9594 and sc.time.start_utc is None
    start = scenario_start_utc(sc, catalog)
    assert start.replace(microsecond=0) == dt.datetime(2026, 2, 24, 3, 43, 13, tzinfo=dt.timezone.utc)  # README


def _models(model: type[BaseModel]) -> typing.Iterator[type[BaseModel]]:
    yield model
    for info in model.model_fields.values():
        for arg in (info.annotation, *typing.get_args(info.annotation)):
            for inner in (arg, *typing.get_args(arg)):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    yield from _models(inner)


def test_docs_cover_every_field():
    doc = DOC.read_text()
    names = {name for model in _models(Scenario) for name in model.model_fields}
    missing = sorted(n for n in names if f"`{n}`" not in doc and f"`[{n}]`" not in doc)  # field or section
    assert not missing, f"fields not documented in docs/scenarios.md: {missing}"


def test_docs_annotated_example_is_valid(tmp_path, monkeypatch):
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    sc = parse_scenario(blocks[0], source="example.toml", base_dir=tmp_path)
    assert sc.output.directory == tmp_path / "results" / "two-cities"
    assert sc.radio.band == "S" and sc.radio.kappa_model == "constant"
    users = build_users(sc)
    assert users.moving and len(build_catalog(sc)) == 24 * 22
