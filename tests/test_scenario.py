"""Scenario validation: good files load into frozen models; bad ones name file, line, field and value."""

from __future__ import annotations

import datetime as dt

import pytest

from simulator.errors import ScenarioError
from simulator.scenario import SCHEMES, load_scenario, parse_scenario

GOOD = """
name = "demo"
seed = 7
[time]
start_utc = 2026-01-01T00:00:00Z
duration_s = 3600
step_s = 1.0

[constellation]
preset = "starlink-shell1"

[users]
disc = { center_lat_deg = 42.36, center_lon_deg = -71.06, radius_km = 200, count = 10, seed = 3 }

[schemes]
names = ["cf-mntn-smrt", "nct"]
rsap_policies = ["best-channel", "max-service-time"]

[events]
min_elevation_deg = 25
k_max = 8
"""


def test_good_scenario_loads_with_defaults(tmp_path, monkeypatch):
    (tmp_path / "scenarios").mkdir()
    path = tmp_path / "scenarios" / "demo.toml"
    path.write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    sc = load_scenario(path)
    assert sc.time.start_utc == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert sc.radio.tx_power_dbm == 40.0 and sc.radio.noise_dbm == -140.0  # 000 Sec. VI defaults
    assert sc.events.min_recluster_interval_s == 15.0
    assert sc.output.directory == (tmp_path / "runs" / "demo").resolve()  # ./runs/<name> of the CWD
    assert sc.radio.band == "S" and sc.radio.kappa_model == "uniform" and sc.radio.beam_pointing == "nadir"
    assert sc.schemes.names == ["cf-mntn-smrt", "nct"]
    with pytest.raises(Exception):
        sc.seed = 3  # frozen


def test_default_schemes_are_the_whole_registry():
    sc = parse_scenario(GOOD.replace('names = ["cf-mntn-smrt", "nct"]', ""))
    assert tuple(sc.schemes.names) == SCHEMES


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("duration_s = 3600", "duration_s = 0", ":6: time.duration_s = 0: Input should be greater than 0"),
        ("duration_s = 3600", 'duration_s = "long"', "time.duration_s = 'long'"),
        ("min_elevation_deg = 25", "min_elevation_deg = 90", ":20: events.min_elevation_deg = 90"),
        ('names = ["cf-mntn-smrt", "nct"]', 'names = ["cf-mntn-magic"]', "unknown scheme 'cf-mntn-magic'"),
        ('rsap_policies = ["best-channel", "max-service-time"]', 'rsap_policies = ["random"]',
         "unknown RSAP policy 'random'"),
        ("k_max = 8", "k_max = 8\nkmax = 3", ":22: events.kmax = 3: unknown field"),
        ("seed = 7", "seed = 7\n[radio]\ntx_power_dbm = 400", "radio.tx_power_dbm = 400"),
        ('preset = "starlink-shell1"', 'preset = "starlink-shell1"\ntle = "missing.tle"',
         "give exactly one of preset, walker or tle"),
        ('preset = "starlink-shell1"', 'tle = "missing.tle"', "constellation.tle: file 'missing.tle' not found"),
        ("start_utc = 2026-01-01T00:00:00Z", "start_utc = 2026-01-01T00:00:00", "explicit UTC offset"),
    ],
)
def test_invalid_scenarios_name_line_field_and_value(tmp_path, old, new, expected):
    assert old in GOOD
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert expected in message
    assert message.startswith(str(path))
    assert not (tmp_path / "runs").exists()  # nothing written


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="invalid TOML"):
        parse_scenario("[time\nduration_s = 1")
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "nope.toml")


def test_relative_output_directory_resolves_against_cwd_and_inputs_against_the_file(tmp_path, monkeypatch):
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "users.csv").write_text("name,lat_deg,lon_deg\na,1,2\n")
    text = GOOD.replace("disc = {", 'csv = "users.csv"\n# disc = {') + '\n[output]\ndirectory = "out/here"\n'
    path = tmp_path / "scenarios" / "demo.toml"
    path.write_text(text)
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    sc = load_scenario(path)
    assert sc.output.directory == (work / "out" / "here").resolve()
    assert sc.users.csv == (tmp_path / "scenarios" / "users.csv").resolve()


@pytest.mark.parametrize(
    "radio, field, value",
    [
        ("frequency_ghz = 20", "band", "Ka"),  # >= 10 GHz: TR 38.811 Ka column
        ("frequency_ghz = 9.99", "band", "S"),
        ("frequency_ghz = 20\nband = 'S'", "band", "S"),  # explicit wins
        ("kappa_db = 12", "kappa_model", "constant"),  # a number: constant
        ("kappa_db = [10, 12]", "kappa_model", "uniform"),  # a pair: uniform
        ("kappa_model = 'tr38811'", "kappa_model", "tr38811"),
    ],
)
def test_radio_derived_defaults(radio, field, value):
    sc = parse_scenario(GOOD + "\n[radio]\n" + radio + "\n")
    assert getattr(sc.radio, field) == value


@pytest.mark.parametrize(
    "radio, expected",
    [
        ("kappa_model = 'tr38811'\nkappa_db = 10", ":23: radio: kappa_db is not used with kappa_model='tr38811'"),
        ("kappa_model = 'constant'\nkappa_db = [1, 2]", "needs a single kappa_db value"),
        ("shadowing_sigma_db = 4", "shadowing_sigma_db is set but shadowing = false"),
        ("beam_pointing = 'service-centre'", "set aperture_radius_m as well"),
        ("los_model = 'sometimes'", ":24: radio.los_model = 'sometimes'"),
        ("band = 'Ku'", "radio.band = 'Ku'"),
        # RadioParams' own checks, located on the line of the field they concern:
        ("frequency_ghz = 1.6", ":24: radio.frequency_ghz = 1.6: frequency_hz=1.6e+09 Hz is outside the tabulated"),
    ],
)
def test_invalid_radio_names_field(tmp_path, radio, expected):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD + "\n[radio]\n" + radio + "\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(str(path))
    assert expected in str(info.value)


def test_radio_literals_match_radio_params():
    from simulator.radio.params import BANDS, ENVIRONMENTS, KAPPA_MODELS, LOS_MODELS
    from simulator.scenario import RadioConfig

    def options(name):
        return set(RadioConfig.model_fields[name].annotation.__args__)

    assert options("band") == set(BANDS) and options("los_model") == set(LOS_MODELS)
    assert options("environment") == set(ENVIRONMENTS) and options("kappa_model") == set(KAPPA_MODELS)


def test_walker_parameters_checked_at_load(tmp_path):
    text = GOOD.replace('preset = "starlink-shell1"',
                        "walker = { planes = 400, per_plane = 700, altitude_km = 550, inclination_deg = 53 }")
    path = tmp_path / "w.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=r":10: constellation.walker: .*catalogue numbers"):
        load_scenario(path)


@pytest.mark.parametrize("radio", ["", "kappa_model = 'tr38811'", "kappa_db = 7", "kappa_db = [1, 2]\nshadowing = true"])
def test_resolved_scenario_round_trips_through_its_dump(radio):
    from simulator.scenario import Scenario

    sc = parse_scenario(GOOD + "\n[radio]\n" + radio + "\n")
    assert Scenario.model_validate(sc.model_dump(mode="json")) == sc  # e.g. manifest.json, Dask tasks
