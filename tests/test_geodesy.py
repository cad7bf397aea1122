"""WGS84 geodesy and look angles against Skyfield, analytic geometry and broadcasting rules."""

from __future__ import annotations

import doctest
from importlib.resources import files

import numpy as np
import pytest
from sgp4.api import Satrec
from skyfield.api import EarthSatellite, wgs84

from simulator import timebase as tb
from simulator.constants import WGS84_A, WGS84_F
from simulator.orbits import geodesy
from simulator.orbits.catalog import Catalog
from simulator.orbits.geodesy import (
    ecef_to_geodetic, elevation, elevation_and_rate, enu_basis, geodetic_to_ecef, look_angles,
)
from simulator.orbits.propagate import builtin_timescale, propagate_ecef

TS = builtin_timescale()
RNG = np.random.default_rng(20260224)


def test_doctests():
    result = doctest.testmod(geodesy)
    assert result.failed == 0 and result.attempted > 0


def test_geodetic_to_ecef_matches_skyfield_and_round_trips():
    lat = RNG.uniform(-90, 90, 50)
    lon = RNG.uniform(-180, 180, 50)
    h = RNG.uniform(-400, 9000, 50)
    xyz = geodetic_to_ecef(lat, lon, h)
    ref = wgs84.latlon(lat, lon, elevation_m=h).itrs_xyz.m.T
    assert np.abs(xyz - ref).max() < 1e-6  # m: same closed form
    lat2, lon2, h2 = ecef_to_geodetic(xyz)
    assert np.abs(lat2 - lat).max() < 1e-9 and np.abs(h2 - h).max() < 1e-6  # deg, m
    assert np.abs((lon2 - lon + 180) % 360 - 180).max() < 1e-9
    # poles and equator: (a, 0, 0) and (0, 0, b)
    np.testing.assert_allclose(geodetic_to_ecef(0, 0, 0), [WGS84_A, 0, 0], atol=1e-9)
    np.testing.assert_allclose(geodetic_to_ecef(90, 0, 0), [0, 0, WGS84_A * (1 - WGS84_F)], atol=1e-6)


def test_ecef_to_geodetic_far_from_surface():
    # Satellite altitudes up to GEO: compare with Skyfield's subpoint computation.
    xyz = RNG.normal(size=(30, 3))
    xyz *= (6.6e6 + RNG.uniform(0, 3.6e7, 30) / 1.0)[:, None] / np.linalg.norm(xyz, axis=1)[:, None]
    lat, lon, h = ecef_to_geodetic(xyz)
    np.testing.assert_allclose(geodetic_to_ecef(lat, lon, h), xyz, rtol=0, atol=1e-6)  # m


def test_enu_basis_is_orthonormal_and_up_is_ellipsoid_normal():
    lat, lon = RNG.uniform(-89, 89, 20), RNG.uniform(-180, 180, 20)
    b = enu_basis(lat, lon)
    np.testing.assert_allclose(b @ np.swapaxes(b, -1, -2), np.broadcast_to(np.eye(3), b.shape), atol=1e-15)
    np.testing.assert_allclose(np.linalg.det(b), 1.0)  # right-handed (east × north = up)
    p = geodetic_to_ecef(lat, lon, 0.0)
    grad = p / np.array([WGS84_A**2, WGS84_A**2, (WGS84_A * (1 - WGS84_F)) ** 2])
    np.testing.assert_allclose(b[:, 2], grad / np.linalg.norm(grad, axis=1)[:, None], atol=1e-14)


def test_slant_range_matches_reference_table_in_equatorial_plane():
    # REFERENCE.md 3.6: 550 km orbit, Re = 6378.137 km: slant range 1816 km at 10°, 1123 km at 25°,
    # 993 km at 30°, 550 km at 90°. In the equatorial plane the WGS84 ellipsoid is that sphere.
    ground = geodetic_to_ecef(0.0, 0.0, 0.0)
    r = WGS84_A + 550e3
    for el_deg, rng_km in ((10, 1816), (25, 1123), (30, 993), (90, 550)):
        eps = np.radians(el_deg)
        psi = np.arccos(WGS84_A * np.cos(eps) / r) - eps  # Earth-central angle
        sat = np.array([[r * np.cos(psi), r * np.sin(psi), 0.0]])
        la = look_angles(sat, np.zeros_like(sat), ground)
        assert np.degrees(la.elevation_rad[0, 0]) == pytest.approx(el_deg, abs=1e-9)
        assert la.slant_range_m[0, 0] / 1e3 == pytest.approx(rng_km, abs=0.5)  # table rounds to 1 km
        if el_deg < 90:
            assert np.degrees(la.azimuth_rad[0, 0]) == pytest.approx(90.0, abs=1e-9)  # due east


def vallado_sat(num: int) -> Satrec:
    lines = (files("sgp4") / "SGP4-VER.TLE").read_text().splitlines()
    for i, l1 in enumerate(lines):
        if l1.startswith(f"1 {num:05d}"):
            return Satrec.twoline2rv(l1, lines[i + 1])
    raise LookupError(num)


@pytest.mark.parametrize("num, lat, lon, h", [(6251, 45.0, 40.0, 120.0), (28057, -33.9, 18.4, 0.0),
                                              (6251, 64.0, -150.0, 1500.0)])
def test_look_angles_match_skyfield_altaz(num, lat, lon, h):
    sat = vallado_sat(num)
    cat = Catalog(names=("X",), sat_ids=np.array([num]), satrecs=(sat,))
    epoch = int(tb.jd_to_utc_ns(sat.jdsatepoch, sat.jdsatepochF))
    t_ns = np.arange(0, 24 * 3600, 97) * 10**9
    jd, fr = tb.ns_since_epoch_to_jd(epoch, t_ns)
    eph = propagate_ecef(cat, jd, fr, timescale=TS)
    ground = geodetic_to_ecef(lat, lon, h)
    la = look_angles(eph.positions_m, eph.velocities_m_s, ground)
    topos = wgs84.latlon(lat, lon, elevation_m=h)
    t = tb.skyfield_time(TS, jd, fr)
    rel = (EarthSatellite.from_satrec(sat, TS) - topos).at(t)
    alt, az, dist = rel.altaz()
    _, _, _, _, _, range_rate = rel.frame_latlon_and_rates(topos)
    assert la.elevation_rad.shape == (t_ns.size, 1, 1)
    assert np.abs(np.degrees(la.elevation_rad[:, 0, 0]) - alt.degrees).max() < 1e-4  # deg
    daz = (np.degrees(la.azimuth_rad[:, 0, 0]) - az.degrees + 180) % 360 - 180
    assert np.abs(daz * np.cos(la.elevation_rad[:, 0, 0])).max() < 1e-4  # deg on the sky
    assert np.abs(la.slant_range_m[:, 0, 0] - dist.m).max() < 1.0  # m
    assert np.abs(la.range_rate_m_s[:, 0, 0] - range_rate.m_per_s).max() < 1e-2  # m/s


def _random_states(shape):
    lat, lon = RNG.uniform(-60, 60, shape), RNG.uniform(-180, 180, shape)
    pos = geodetic_to_ecef(lat, lon, RNG.uniform(400e3, 1300e3, shape))
    return pos, RNG.normal(size=pos.shape) * 5000.0


def test_broadcasting_snapshot_equals_block():
    pos, vel = _random_states((6, 11))  # (T, S)
    ground = geodetic_to_ecef([10.0, 41.0, -33.0], [20.0, -70.0, 151.0], [0.0, 50.0, 10.0])  # (G,)
    block = look_angles(pos, vel, ground)
    el_block = elevation(pos, ground)
    assert block.elevation_rad.shape == (6, 11, 3) and el_block.shape == (6, 11, 3)
    for k in range(6):
        snap = look_angles(pos[k], vel[k], ground)
        for a, b in zip(snap, block):
            np.testing.assert_array_equal(a, b[k])
        np.testing.assert_allclose(elevation(pos[k], ground), el_block[k], rtol=0, atol=1e-15)
    # single ground point given as (3,) keeps a G axis of 1
    assert look_angles(pos, vel, ground[1]).slant_range_m.shape == (6, 11, 1)


def test_fast_elevation_and_elementwise_rate_agree_with_look_angles():
    pos, vel = _random_states((4, 50))
    ground = geodetic_to_ecef([48.0, -5.0], [2.0, 100.0], [0.0, 0.0])
    la = look_angles(pos, vel, ground)
    np.testing.assert_allclose(elevation(pos, ground), la.elevation_rad, rtol=0, atol=1e-8)  # rad
    el, rate = elevation_and_rate(pos[..., None, :], vel[..., None, :], ground)
    np.testing.assert_allclose(el, la.elevation_rad, rtol=0, atol=1e-13)
    # the elevation rate is the time derivative of the elevation (central difference, 1 ms)
    h = 1e-3
    ep, _ = elevation_and_rate(pos[..., None, :] + h * vel[..., None, :], vel[..., None, :], ground)
    em, _ = elevation_and_rate(pos[..., None, :] - h * vel[..., None, :], vel[..., None, :], ground)
    np.testing.assert_allclose((ep - em) / (2 * h), rate, rtol=1e-5, atol=1e-9)
    # range rate = d|d|/dt by the same difference
    lp = look_angles(pos + h * vel, vel, ground).slant_range_m
    lm = look_angles(pos - h * vel, vel, ground).slant_range_m
    np.testing.assert_allclose((lp - lm) / (2 * h), la.range_rate_m_s, rtol=1e-6, atol=1e-4)
