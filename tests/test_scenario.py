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


def test_good_scenario_loads_with_defaults(tmp_path):
    path = tmp_path / "demo.toml"
    path.write_text(GOOD)
    sc = load_scenario(path)
    assert sc.time.start_utc == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert sc.radio.tx_power_dbm == 40.0 and sc.radio.noise_dbm == -140.0  # 000 Sec. VI defaults
    assert sc.events.min_recluster_interval_s == 15.0
    assert sc.output.directory == (tmp_path / "runs" / "demo").resolve()
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
