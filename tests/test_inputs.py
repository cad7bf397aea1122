"""Scenario → kernel inputs: catalogues, users (disc sampling, great-circle motion, CSV), radio mapping."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from simulator.constants import WGS84_A
from simulator.inputs import (
    build_catalog,
    build_users,
    radio_params,
    scenario_start_utc,
    service_centre_ecef,
)
from simulator.errors import ScenarioError
from simulator.orbits.ground import UserSet
from simulator.orbits import PRESETS, ecef_to_geodetic, enu_basis, geodetic_to_ecef, walker_elements, write_tle
from simulator.radio import paper000_params
from simulator.scenario import parse_scenario

UTC = dt.timezone.utc
BASE = """
name = "t"
[time]
duration_s = 3600
{time}
[constellation]
{constellation}
[users]
{users}
{radio}
"""


def scenario(tmp_path=None, *, time="", constellation='preset = "iridium"',
             users='points = [{ name = "a", lat_deg = 1, lon_deg = 2 }]', radio=""):
    text = BASE.format(time=time, constellation=constellation, users=users, radio=radio)
    return parse_scenario(text, base_dir=tmp_path or ".")


# ------------------------------------------------------------------------------------------ disc users


def _angles_from_centre(users, lat, lon):
    centre = geodetic_to_ecef(lat, lon, 0.0)
    pos = users.positions_m(np.zeros(1))[0]
    cos = pos @ centre / (np.linalg.norm(pos, axis=-1) * np.linalg.norm(centre))
    return np.arccos(np.clip(cos, -1.0, 1.0)), float(np.linalg.norm(centre))


def test_disc_users_inside_cap_and_uniform_in_area():
    n, radius_km = 20_000, 2000.0
    sc = scenario(users=f"disc = {{ center_lat_deg = 42.36, center_lon_deg = -71.06, radius_km = {radius_km}, "
                        f"count = {n}, seed = 5 }}")
    users = build_users(sc)
    assert users.n_user == n and users.names[0] == "user-00000" and users.names[-1] == "user-19999"
    np.testing.assert_array_equal(users.user_id, np.arange(n))
    gamma, r_c = _angles_from_centre(users, 42.36, -71.06)
    alpha = radius_km * 1e3 / r_c
    assert np.all(gamma * r_c <= radius_km * 1e3 + 1e-3)  # 1 mm: float round-off of the arccos
    # Exact cap area fraction within half the radius: sin²(α/4)/sin²(α/2) (0.2512 here; 1/4 if flat).
    frac = np.mean(gamma < alpha / 2)
    expected = np.sin(alpha / 4) ** 2 / np.sin(alpha / 2) ** 2
    assert abs(frac - expected) < 4.5 * np.sqrt(expected * (1 - expected) / n)  # 4.5 σ Monte-Carlo
    # Normalised cap area sin²(γ/2)/sin²(α/2) is U[0, 1] for area-uniform points.
    assert stats.kstest(np.sin(gamma / 2) ** 2 / np.sin(alpha / 2) ** 2, "uniform").pvalue > 1e-3
    # Bearings uniform: as many users east as west of the centre's meridian plane.
    east = np.mean(users.lon_deg > -71.06)
    assert abs(east - 0.5) < 4.5 * 0.5 / np.sqrt(n)
    assert np.all(users.height_m == 0.0)
    np.testing.assert_allclose(ecef_to_geodetic(users.positions_m(0.0))[2], 0.0, atol=1e-6)


def test_disc_same_seed_same_users_other_seed_differs():
    disc = "disc = {{ center_lat_deg = 10, center_lon_deg = 20, radius_km = 200, count = 10, seed = {} }}"
    a, b, c = (build_users(scenario(users=disc.format(s))) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.lat_deg, b.lat_deg)
    np.testing.assert_array_equal(a.lon_deg, b.lon_deg)
    assert not np.allclose(a.lat_deg, c.lat_deg)
    assert a.names == tuple(f"user-{i:03d}" for i in range(10))


def test_disc_around_the_pole_and_the_antimeridian():
    users = build_users(scenario(users="disc = { center_lat_deg = 89.5, center_lon_deg = 179.9, "
                                       "radius_km = 500, count = 2000 }"))
    gamma, r_c = _angles_from_centre(users, 89.5, 179.9)
    assert np.all(gamma * r_c <= 500e3 + 1e-3)
    assert np.all((users.lon_deg >= -180.0) & (users.lon_deg < 180.0))
    assert users.lon_deg.min() < -90.0 and users.lon_deg.max() > 90.0  # the cap covers the pole


def test_service_centre_is_disc_centre_or_mean_direction():
    disc = build_users(scenario(users="disc = { center_lat_deg = 42.36, center_lon_deg = -71.06, "
                                      "radius_km = 200, count = 5 }"))
    np.testing.assert_allclose(service_centre_ecef(disc), geodetic_to_ecef(42.36, -71.06, 0.0), atol=1e-6)
    # Four points symmetric about (0°, 0°): the centre is that point of the ellipsoid.
    pts = ", ".join(f'{{ name = "{n}", lat_deg = {la}, lon_deg = {lo} }}'
                    for n, la, lo in (("n", 1, 0), ("s", -1, 0), ("e", 0, 1), ("w", 0, -1)))
    listed = build_users(scenario(users=f"points = [{pts}]"))
    np.testing.assert_allclose(service_centre_ecef(listed), [WGS84_A, 0.0, 0.0], atol=1e-6)
    world = build_users(scenario(users='points = [{ name = "a", lat_deg = 0, lon_deg = 0 },'
                                       ' { name = "b", lat_deg = 0, lon_deg = 180 }]'))
    with pytest.raises(ScenarioError, match="no centre"):
        service_centre_ecef(world)


# ------------------------------------------------------------------------------------------- motion


@pytest.mark.parametrize("lat, lon, heading, height", [(42.36, -71.06, 0.0, 0.0), (42.36, -71.06, 37.0, 10e3),
                                                      (-60.0, 170.0, 135.0, 0.0), (0.0, 0.0, 270.0, 100.0)])
def test_great_circle_motion(lat, lon, heading, height):
    speed = 250.0
    users = UserSet(names=("a",), lat_deg=[lat], lon_deg=[lon], height_m=[height], speed_m_s=speed,
                    heading_deg=heading)
    t = np.arange(0.0, 3601.0, 1.0)
    pos, vel = users.positions_m(t), users.velocities_m_s(t)
    assert pos.shape == vel.shape == (t.size, 1, 3)
    np.testing.assert_allclose(pos[0, 0], geodetic_to_ecef(lat, lon, height), atol=1e-6)
    # Constant ground speed: the local-sphere approximation keeps it within 0.06 % over 900 km.
    step = np.linalg.norm(np.diff(pos, axis=0), axis=-1)
    assert np.all(np.abs(step / 1.0 - speed) < 6e-4 * speed)
    # The height above the ellipsoid stays put (radial offset h·δ²/2 < 0.2 m at 10 km).
    _, _, h = ecef_to_geodetic(pos[:, 0])
    assert np.ptp(h) < 0.2
    # Heading at t = 0 in the geodetic ENU frame (approximation error ~3e-6 rad measured).
    e, n, u = enu_basis(lat, lon) @ vel[0, 0]
    assert abs((np.degrees(np.arctan2(e, n)) - heading + 180.0) % 360.0 - 180.0) < 1e-3
    # |v(0)| = v·√(1 + (dρ/dθ / R₀)²): the path follows the ellipsoid's slope, ≤ 6e-6 relative.
    assert abs(np.linalg.norm(vel[0, 0]) - speed) < 6e-6 * speed and abs(u) < 1e-4
    # Velocity = derivative of position: central differences (truncation ~v³/R² dt²/6 ≈ 1e-7 m/s).
    fd = (pos[2:] - pos[:-2]) / 2.0
    assert np.max(np.abs(fd - vel[1:-1])) < 1e-5
    # Directions stay on one great circle: in the plane of û₀ and the initial velocity.
    normal = np.cross(pos[0, 0], vel[0, 0])
    unit = pos[:, 0] / np.linalg.norm(pos[:, 0], axis=-1, keepdims=True)
    assert np.max(np.abs(unit @ normal / np.linalg.norm(normal))) < 1e-12


def test_half_way_round_reaches_the_antipode():
    users = UserSet(names=("a",), lat_deg=[30.0], lon_deg=[40.0], height_m=[0.0], speed_m_s=300.0, heading_deg=10.0)
    r0 = np.linalg.norm(geodetic_to_ecef(30.0, 40.0, 0.0))
    end = users.positions_m(np.array([np.pi * r0 / 300.0]))[0, 0]
    lat, lon, h = ecef_to_geodetic(end)
    assert abs(lat + 30.0) < 1e-9 and abs((lon - 40.0) % 360.0 - 180.0) < 1e-9 and abs(h) < 1e-6


def test_static_users_fixed_with_zero_velocity_and_moving_from_scenario():
    sc = scenario(users='points = [{ name = "a", lat_deg = 1, lon_deg = 200, height_m = 5 }]')
    users = build_users(sc)
    assert users.lon_deg[0] == pytest.approx(-160.0)  # longitudes in [-180, 180)
    pos = users.positions_m(np.array([0.0, 10.0, 1e5]))
    np.testing.assert_array_equal(pos, np.broadcast_to(geodetic_to_ecef(1, -160, 5), (3, 1, 3)))
    assert not users.velocities_m_s(np.arange(4.0)).any()
    moving = build_users(scenario(users='points = [{ name = "a", lat_deg = 1, lon_deg = 2 }]\n'
                                        "speed_m_s = 20\nheading_deg = 90"))
    vel = moving.velocities_m_s(np.zeros(1))[0, 0]
    np.testing.assert_allclose(enu_basis(1, 2) @ vel, [20.0, 0.0, 0.0], atol=1e-4)


# ---------------------------------------------------------------------------------------------- CSV


def _csv_scenario(tmp_path, body):
    (tmp_path / "u.csv").write_text(body)
    return scenario(tmp_path, users='csv = "u.csv"')


def test_csv_users(tmp_path):
    sc = _csv_scenario(tmp_path, "# a comment\nname,lat_deg,lon_deg,height_m\nalpha, 10.5, -20, 3\n\n\"b, c\",-1,359,0\n")
    users = build_users(sc)
    assert users.names == ("alpha", "b, c")
    np.testing.assert_allclose(users.lat_deg, [10.5, -1.0])
    np.testing.assert_allclose(users.lon_deg, [-20.0, -1.0])
    np.testing.assert_allclose(users.height_m, [3.0, 0.0])
    no_height = build_users(_csv_scenario(tmp_path, "name,lat_deg,lon_deg\nx,1,2\n"))
    assert no_height.height_m.tolist() == [0.0]


@pytest.mark.parametrize(
    "body, expected",
    [
        ("name,lat,lon\nx,1,2\n", ":1: users.csv: header 'name,lat,lon'"),
        ("name,lat_deg,lon_deg\nx,1,2\ny,north,3\n", ":3: users.csv: lat_deg = 'north': not a number"),
        ("name,lat_deg,lon_deg\nx,95,2\n", ":2: users.csv: lat_deg = 95.0: Input should be less than or equal to 90"),
        ("name,lat_deg,lon_deg\nx,1,2\n\nx,3,4\n", ":4: users.csv: name 'x' repeats line 2"),
        ("name,lat_deg,lon_deg,height_m\nx,1,2\n", ":2: users.csv: 3 columns, expected 4"),
        ("name,lat_deg,lon_deg\n,1,2\n", ":2: users.csv: name is empty"),
        ("name,lat_deg,lon_deg\nx,nan,2\n", ":2: users.csv: lat_deg = nan"),
        ("# nothing\n", "users.csv: no users"),
    ],
)
def test_csv_errors_name_file_and_line(tmp_path, body, expected):
    sc = _csv_scenario(tmp_path, body)
    with pytest.raises(ScenarioError) as info:
        build_users(sc)
    assert str(info.value).startswith(str(tmp_path / "u.csv"))
    assert expected in str(info.value)


# -------------------------------------------------------------------------------------------- catalog


def _tle_file(path, spec, sat_ids, epoch=None):
    rows = walker_elements(spec, epoch)[: len(sat_ids)]
    write_tle(path, [r._replace(sat_id=i) for r, i in zip(rows, sat_ids)])
    return path


def test_tle_files_concatenate_in_order(tmp_path):
    spec = PRESETS["iridium"]
    _tle_file(tmp_path / "a.tle", spec, [101, 102, 103])
    _tle_file(tmp_path / "b.tle", spec, [201, 202])
    catalog = build_catalog(scenario(tmp_path, constellation='tle = ["a.tle", "b.tle"]'))
    assert catalog.sat_ids.tolist() == [101, 102, 103, 201, 202]
    assert len(catalog.satrecs) == len(catalog.names) == 5
    assert str(tmp_path / "a.tle") in catalog.source and str(tmp_path / "b.tle") in catalog.source


def test_duplicate_norad_id_across_files(tmp_path):
    spec = PRESETS["iridium"]
    _tle_file(tmp_path / "a.tle", spec, [101, 102, 103])
    _tle_file(tmp_path / "b.tle", spec, [201, 102])
    with pytest.raises(ScenarioError) as info:
        build_catalog(scenario(tmp_path, constellation='tle = ["a.tle", "b.tle"]'))
    message = str(info.value)
    assert message.startswith("constellation.tle: NORAD id 102")
    assert str(tmp_path / "a.tle") in message and str(tmp_path / "b.tle") in message


def test_bad_tle_becomes_scenario_error_unless_skipped(tmp_path):
    spec = PRESETS["iridium"]
    lines = _tle_file(tmp_path / "a.tle", spec, [101, 102]).read_text().splitlines()
    lines[2] = lines[2][:-1] + str((int(lines[2][-1]) + 1) % 10)  # break the checksum of 101's line 2
    (tmp_path / "a.tle").write_text("\n".join(lines) + "\n")
    with pytest.raises(ScenarioError, match=r"^constellation\.tle: .*a\.tle:3: .*checksum"):
        build_catalog(scenario(tmp_path, constellation='tle = "a.tle"'))
    kept = build_catalog(scenario(tmp_path, constellation='tle = "a.tle"\nskip_invalid = true'))
    assert kept.sat_ids.tolist() == [102] and len(kept.skipped) == 1


def test_walker_parameters_and_presets():
    sc = scenario(constellation="walker = { planes = 3, per_plane = 4, altitude_km = 700, inclination_deg = 60,"
                                " phasing = 1, star = true }",
                  time="start_utc = 2026-03-01T06:00:00+02:00")
    catalog = build_catalog(sc)
    assert len(catalog) == 12 and catalog.names[0] == "WALKER-P01-S01"
    start = dt.datetime(2026, 3, 1, 4, tzinfo=UTC)
    assert scenario_start_utc(sc, catalog) == start
    np.testing.assert_allclose(catalog.epochs_jd, 2461100.5 + 4 / 24, atol=1e-9)  # generated at the start
    raans = sorted({round(s.nodeo * 180 / np.pi, 6) for s in catalog.satrecs})
    assert raans == [0.0, 60.0, 120.0]  # star pattern: nodes over 180°
    assert len(build_catalog(scenario(constellation='preset = "starlink-shell1"'))) == 72 * 22


# ----------------------------------------------------------------------------------------- start time


def test_start_defaults_to_median_epoch(tmp_path):
    spec = PRESETS["iridium"]
    epochs = [dt.datetime(2026, 2, d, 6, tzinfo=UTC) for d in (1, 3, 10)]
    for i, when in enumerate(epochs):
        _tle_file(tmp_path / f"{i}.tle", spec, [100 * (i + 1) + 1], when)
    sc = scenario(tmp_path, constellation='tle = ["0.tle", "1.tle", "2.tle"]')
    assert scenario_start_utc(sc, build_catalog(sc)) == epochs[1]
    walker = scenario()
    assert scenario_start_utc(walker, build_catalog(walker)) == dt.datetime(2026, 1, 1, tzinfo=UTC)
    given = scenario(time="start_utc = 2026-05-05T05:05:05Z")
    assert scenario_start_utc(given, build_catalog(given)) == dt.datetime(2026, 5, 5, 5, 5, 5, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------- radio


def test_radio_defaults_are_paper000():
    params = radio_params(scenario())
    assert params.tx_power_w == pytest.approx(10.0, rel=1e-12)  # 40 dBm
    assert params.noise_power_w == pytest.approx(1e-17, rel=1e-12)  # −140 dBm
    assert params.ue_tx_power_w == pytest.approx(1.0, rel=1e-12)  # 30 dBm
    assert params.frequency_hz == 5e9 and params.bandwidth_hz == 20e6
    assert params == paper000_params()


def test_radio_mapping_of_every_field():
    radio = """[radio]
frequency_ghz = 20
bandwidth_mhz = 400
tx_power_dbm = 50
ue_tx_power_dbm = 23
noise_dbm = -100
n_h = 4
n_v = 16
spacing_wavelengths = 0.6
sat_gain_dbi = 30
ue_gain_dbi = 39.7
aperture_radius_m = 0.25
beam_pointing = "service-centre"
kappa_db = 7
environment = "urban"
los_model = "tr38811"
shadowing = true
shadowing_sigma_db = 2.5
scintillation = true
zenith_attenuation_db = 0.6
other_losses_db = 1.5
"""
    p = radio_params(scenario(radio=radio))
    assert (p.frequency_hz, p.bandwidth_hz) == (20e9, 400e6)
    assert p.tx_power_w == pytest.approx(100.0) and p.ue_tx_power_w == pytest.approx(10 ** -0.7)
    assert p.noise_w == pytest.approx(1e-13)
    assert (p.n_h, p.n_v, p.spacing_h_wavelengths, p.spacing_v_wavelengths) == (4, 16, 0.6, 0.6)
    assert (p.tx_gain_dbi, p.rx_gain_dbi, p.aperture_radius_m) == (30.0, 39.7, 0.25)
    assert (p.kappa_model, p.kappa_db, p.environment, p.band, p.los_model) == ("constant", 7.0, "urban", "Ka", "tr38811")
    assert (p.shadowing, p.shadowing_sigma_db, p.scintillation) == (True, 2.5, True)
    assert (p.zenith_attenuation_db, p.other_losses_db) == (0.6, 1.5)
    uniform = radio_params(scenario(radio="[radio]\nkappa_db = [3, 9]"))
    assert (uniform.kappa_model, uniform.kappa_range_db) == ("uniform", (3.0, 9.0))
    assert radio_params(scenario(radio="[radio]\nkappa_model = 'tr38811'")).kappa_model == "tr38811"


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"frequency_ghz": 1.6}, r"^radio\.frequency_ghz = 1\.6: .*set zenith_attenuation_db"),
        ({"bandwidth_mhz": 0.0}, r"^radio\.bandwidth_mhz = 0\.0: bandwidth_hz=0\.0 must be a positive number"),
        ({"spacing_wavelengths": -1.0}, r"^radio\.spacing_wavelengths = -1\.0: spacing_h_wavelengths=-1\.0"),
        ({"kappa_db": (5.0, 1.0)}, r"^radio\.kappa_db = \(5\.0, 1\.0\): kappa_range_db=\(5\.0, 1\.0\) dB must have"),
    ],
)
def test_radio_params_rejection_names_the_field(change, expected):
    sc = scenario()  # model_copy skips pydantic's checks, so RadioParams' own checks are reached
    bad = sc.model_copy(update={"radio": sc.radio.model_copy(update=change)})
    with pytest.raises(ScenarioError, match=expected):
        radio_params(bad)


def test_radio_params_accepts_low_frequency_with_zenith_attenuation():
    ok = radio_params(scenario(radio="[radio]\nfrequency_ghz = 1.6\nzenith_attenuation_db = 0.03"))
    assert ok.zenith_db == 0.03 and ok.band == "S"


def test_scenario_errors_carry_their_field(tmp_path):
    """A kernel-level problem is located by the field the error carries, not by parsing its message."""
    bad = tmp_path / "users.csv"
    bad.write_text("name,lat_deg,lon_deg\na,95,0\n")
    text = f"""
name = "x"
[time]
duration_s = 10
[constellation]
preset = "iridium"
[users]
csv = "{bad}"
"""
    scenario = parse_scenario(text)
    with pytest.raises(ScenarioError) as err:
        build_users(scenario)
    assert err.value.field == "users.csv" and "lat_deg = 95.0" in str(err.value)
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text + "[radio]\nfrequency_ghz = 1.6\n")
    assert err.value.field == "radio.frequency_ghz" and str(err.value).startswith("<string>:")


def test_the_scenario_loader_and_the_experiments_import_nothing_from_the_engine():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "simulator"
    for path in [root / "scenario.py", root / "inputs.py", *sorted((root / "experiments").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and "engine" in node.module.split("."):
                allowed = path.parent.name == "experiments" and node.module.endswith("manifest") \
                    or path.name == "ucdmimo.py" and node.module.endswith("run")
                assert allowed, f"{path.name} imports {node.module}"
