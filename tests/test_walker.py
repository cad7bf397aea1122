"""Walker delta/star geometry, altitude → mean motion, and the TLE write-through of the generator."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest
from sgp4.api import SatrecArray

from simulator.constants import SGP4_J2, SGP4_MU, SGP4_RADIUS
from simulator.errors import InputError
from simulator.orbits.tle import format_tle_text, load_catalog, parse_tle_text, write_tle
from simulator.orbits.walker import (
    DEFAULT_EPOCH,
    PRESETS,
    WalkerSpec,
    kepler_mean_motion,
    mean_altitude_m,
    mean_motion_for_altitude,
    walker_catalog,
    walker_elements,
)

TLE_ANGLE_DEG = 1e-4  # angles are written with 4 decimals; one rounding each side of a difference


def catalog_angles(spec: WalkerSpec, catalog) -> tuple[np.ndarray, np.ndarray]:
    """RAAN and mean anomaly (deg) as read back from the TLE lines, shape (planes, per plane)."""
    shape = (spec.n_planes, spec.sats_per_plane)
    raan = np.degrees([s.nodeo for s in catalog.satrecs]).reshape(shape)
    anomaly = np.degrees([s.mo for s in catalog.satrecs]).reshape(shape)
    return raan, anomaly


def wrapped(delta_deg: np.ndarray) -> np.ndarray:
    """Angle differences into (−180, 180]."""
    return (np.asarray(delta_deg) + 180.0) % 360.0 - 180.0


def test_presets_are_the_named_shells():
    expected = {
        "starlink-shell1": (550e3, 53.0, 72, 22, "delta"),
        "kuiper-630": (630e3, 51.9, 34, 34, "delta"),
        "oneweb": (1200e3, 87.9, 12, 49, "star"),
        "iridium": (780e3, 86.4, 6, 11, "star"),
    }
    assert list(PRESETS) == list(expected)
    for name, (alt, inc, planes, per_plane, pattern) in expected.items():
        spec = PRESETS[name]
        assert (spec.altitude_m, spec.inclination_deg, spec.n_planes, spec.sats_per_plane, spec.pattern) == (
            alt, inc, planes, per_plane, pattern)
        assert spec.raan_spread_deg == (360.0 if pattern == "delta" else 180.0)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_walker_geometry_read_back_from_tle(name):
    spec = PRESETS[name]
    catalog = walker_catalog(name)
    t, p, s, f = spec.n_sats, spec.n_planes, spec.sats_per_plane, spec.phasing
    assert len(catalog) == t
    assert catalog.sat_ids.tolist() == list(range(spec.first_sat_id, spec.first_sat_id + t))
    assert catalog.names[0] == f"{name.upper()}-P01-S01"
    assert catalog.names[-1] == f"{name.upper()}-P{p:02d}-S{s:02d}"
    raan, anomaly = catalog_angles(spec, catalog)
    spread = 360.0 if spec.pattern == "delta" else 180.0
    # planes: every satellite of plane k at Ω = k·spread/p
    assert np.all(np.abs(raan - raan[:, :1]) < TLE_ANGLE_DEG)
    assert np.allclose(wrapped(np.diff(raan[:, 0])), spread / p, atol=2 * TLE_ANGLE_DEG)
    assert raan[0, 0] == 0.0
    # in-plane spacing 360/S, inter-plane phase offset f·360/t
    assert np.allclose(wrapped(np.diff(anomaly, axis=1)), 360.0 / s, atol=2 * TLE_ANGLE_DEG)
    assert np.allclose(wrapped(np.diff(anomaly[:, 0])), f * 360.0 / t, atol=2 * TLE_ANGLE_DEG)
    incl = np.degrees([sat.inclo for sat in catalog.satrecs])
    assert np.allclose(incl, spec.inclination_deg, atol=TLE_ANGLE_DEG / 2)
    assert all(sat.ecco == 0.0 and sat.argpo == 0.0 and sat.bstar == 0.0 for sat in catalog.satrecs)
    epochs = catalog.epochs_jd
    assert np.all(epochs == 2461041.5)  # 2026-01-01T00:00:00Z, the documented default epoch


def test_star_pattern_spreads_nodes_over_half_a_circle():
    spec = WalkerSpec("s", 5, 3, 800e3, 90.0, 0, "star")
    raan = sorted({round(e.raan_deg, 6) for e in walker_elements(spec)})
    assert raan == [0.0, 36.0, 72.0, 108.0, 144.0]
    delta = WalkerSpec("d", 5, 3, 800e3, 90.0, 0, "delta")
    assert sorted({round(e.raan_deg, 6) for e in walker_elements(delta)}) == [0.0, 72.0, 144.0, 216.0, 288.0]


def test_preset_id_ranges_do_not_overlap():
    ranges = sorted((s.first_sat_id, s.first_sat_id + s.n_sats - 1) for s in PRESETS.values())
    assert all(hi < next_lo for (_, hi), (next_lo, _) in zip(ranges, ranges[1:]))
    assert ranges[-1][1] <= 99_999  # presets stay in plain 5-digit numbers


def test_catalog_is_built_from_the_same_lines_as_the_file(tmp_path):
    spec = PRESETS["iridium"]
    epoch = datetime(2026, 5, 17, 3, 25, 45, 123_456, tzinfo=timezone.utc)
    memory = walker_catalog(spec, epoch)
    path = write_tle(tmp_path / "iridium.tle", walker_elements(spec, epoch))
    disk = load_catalog(path)
    assert disk.names == memory.names and disk.sat_ids.tolist() == memory.sat_ids.tolist()
    for a, b in zip(memory.satrecs, disk.satrecs):
        assert (a.jdsatepoch, a.jdsatepochF, a.no_kozai, a.nodeo, a.mo, a.inclo) == (
            b.jdsatepoch, b.jdsatepochF, b.no_kozai, b.nodeo, b.mo, b.inclo)
    # the epoch in the TLE is the requested one rounded to the 1e-8 day field (≤ 0.432 ms away)
    jd = 2440587.5 + (epoch - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds() / 86400.0
    assert abs(memory.epochs_jd[0] - jd) * 86400.0 < 0.000433


@pytest.mark.parametrize("altitude_m", [300e3, 550e3, 1200e3, 8000e3])
@pytest.mark.parametrize("inclination_deg", [0.0, 30.0, 53.0, 86.4, 90.0, 120.0])
def test_mean_motion_matches_first_order_j2_theory(altitude_m, inclination_deg):
    """Independent check: Kozai→Brouwer plus the short-period radius term (Hoots & Roehrich 1980)
    give n = n_Kepler (1 − (3/8) J2 (R/a)² (3cos²i − 1)) to first order in J2; the propagated
    solution may differ by O(J2²) ≈ 1e-6 relative (measured ≤ 4.2e-6 at 300 km)."""
    n = mean_motion_for_altitude(altitude_m, inclination_deg)
    a = SGP4_RADIUS + altitude_m
    x = 3.0 * math.cos(math.radians(inclination_deg)) ** 2 - 1.0
    first_order = kepler_mean_motion(altitude_m) * (1.0 - 0.375 * SGP4_J2 * (SGP4_RADIUS / a) ** 2 * x)
    assert abs(n / first_order - 1.0) < 5e-6
    # Kepler period 2π √(a³/μ) differs from the TLE period by the J2 term above: at most
    # (3/8)·J2·(R/a)²·2 of a period (4.0 s at 300 km equatorial), plus the O(J2²) rest (< 0.03 s)
    period_s = 86400.0 / n
    kepler_s = 2.0 * math.pi * math.sqrt(a**3 / SGP4_MU)
    assert kepler_s == pytest.approx(86400.0 / kepler_mean_motion(altitude_m), rel=1e-14)
    j2_term_s = 0.375 * SGP4_J2 * (SGP4_RADIUS / a) ** 2 * abs(x) * kepler_s
    assert abs(abs(period_s - kepler_s) - j2_term_s) < 0.03
    assert abs(period_s - kepler_s) < 4.1


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_constellation_mean_altitude_is_nominal(name):
    """Time-and-constellation average of SGP4 geocentric distance over one day, from the TLE lines."""
    spec = PRESETS[name]
    catalog = walker_catalog(name)
    satrecs = SatrecArray(list(catalog.satrecs))
    hours = np.arange(24.0)
    jd = np.full(hours.shape, catalog.satrecs[0].jdsatepoch)
    error, r_km, _ = satrecs.sgp4(jd, catalog.satrecs[0].jdsatepochF + hours / 24.0)
    assert not error.any()
    mean_altitude_km = np.linalg.norm(r_km, axis=-1).mean() - SGP4_RADIUS / 1e3
    # measured within 0.006 m of nominal (8-decimal mean motion ≈ 2 mm); 10 m allows for nothing else
    assert abs(mean_altitude_km - spec.altitude_m / 1e3) < 0.010
    # the two-body mean motion would miss by 0.13-1.5 km at these inclinations (docs/formats.md)
    naive = walker_elements(spec)[0]._replace(mean_motion_rev_per_day=kepler_mean_motion(spec.altitude_m))
    naive_sat = parse_tle_text(format_tle_text([naive])).satrecs[0]
    assert abs(mean_altitude_m(naive_sat) - spec.altitude_m) > 100.0


def test_single_orbit_mean_altitude_of_each_satellite():
    spec = PRESETS["starlink-shell1"]
    catalog = walker_catalog(spec)
    for sat in catalog.satrecs[::97]:
        # one draconic orbit of each satellite: solver tolerance plus the 1e-8 rev/day rounding (≈ 2 mm)
        assert abs(mean_altitude_m(sat) - spec.altitude_m) < 0.01


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"n_planes": 0}, "n_planes=0"),
        ({"sats_per_plane": 2.5}, "sats_per_plane=2.5"),
        ({"altitude_m": 50e3}, "altitude_m=50000.0"),
        ({"inclination_deg": 181.0}, "inclination_deg=181.0"),
        ({"phasing": 6}, "phasing=6 outside 0 … n_planes-1 = 5"),
        ({"pattern": "rosette"}, "pattern='rosette'"),
        ({"name": "two words"}, "without blanks"),
        ({"first_sat_id": 339_990}, "outside [1, 339999]"),
    ],
)
def test_walker_spec_validation(kwargs, words):
    args = dict(name="x", n_planes=6, sats_per_plane=11, altitude_m=780e3, inclination_deg=86.4, phasing=3)
    args.update(kwargs)
    with pytest.raises(InputError, match="Walker constellation") as info:
        WalkerSpec(**args)
    assert words in str(info.value)


def test_unknown_preset_and_default_epoch():
    with pytest.raises(InputError, match="valid presets: starlink-shell1, kuiper-630, oneweb, iridium"):
        walker_catalog("telesat")
    assert DEFAULT_EPOCH == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert walker_elements(PRESETS["iridium"])[0].epoch == DEFAULT_EPOCH


def test_large_constellations_switch_to_alpha5():
    spec = WalkerSpec("big", 40, 30, 600e3, 60.0, 1, first_sat_id=99_500)
    catalog = walker_catalog(spec)
    assert catalog.sat_ids[-1] == 100_699 and catalog.sat_ids.dtype == np.int64
    assert catalog.satrecs[-1].satnum_str == "A0699"
