"""Antenna frame, AoDs, elevation and UPA steering vectors (000 eqs 2–4; REFERENCE 3.5–3.6)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from skyfield.api import wgs84

from simulator.constants import SPEED_OF_LIGHT, WGS84_A
from simulator.radio import antenna_frame, aperture, channel, csi, linkbudget, pathloss, steering, tr38811_tables
from simulator.radio.antenna_frame import (
    angles_of_departure,
    antenna_axes,
    elevation_rad,
    slant_range_m,
)
from simulator.orbits.geodesy import look_angles
from simulator.radio.csi import compute_statistical_csi
from simulator.radio.params import paper000_params, paper004_params
from simulator.radio.steering import steering_vector


def _sat_state(lat_deg: float, lon_deg: float, altitude_m: float, heading_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """ECEF position above (lat, lon) on the sphere of radius WGS84_A + h, velocity 7.6 km/s along heading."""
    lat, lon, hd = np.radians([lat_deg, lon_deg, heading_deg])
    up = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    east = np.array([-np.sin(lon), np.cos(lon), 0.0])
    north = np.cross(up, east)
    pos = (WGS84_A + altitude_m) * up
    vel = 7600.0 * (np.cos(hd) * north + np.sin(hd) * east)
    return pos, vel


def test_doctests_of_radio_modules() -> None:
    for module in (antenna_frame, aperture, channel, csi, linkbudget, pathloss, steering, tr38811_tables):
        failed, _ = doctest.testmod(module, raise_on_error=False)
        assert failed == 0, module.__name__


def test_antenna_axes_are_right_handed_nadir_along_cross() -> None:
    pos, vel = _sat_state(37.0, -20.0, 550e3, 30.0)
    vel = vel + 300.0 * pos / np.linalg.norm(pos)  # a radial component must not tilt the frame
    axes = antenna_axes(pos, vel)
    np.testing.assert_allclose(axes @ axes.T, np.eye(3), atol=1e-14)
    assert np.linalg.det(axes) == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(axes[2], -pos / np.linalg.norm(pos), atol=1e-15)  # z_b: nadir
    assert axes[0] @ vel > 0.0 and abs(axes[0] @ pos) < 1e-6  # x_b: along-track, horizontal
    normal = np.cross(pos, vel)
    assert axes[1] @ normal / np.linalg.norm(normal) == pytest.approx(-1.0, abs=1e-12)  # y_b = −orbit normal


def test_nadir_user_is_broadside() -> None:
    pos, vel = _sat_state(-12.0, 140.0, 600e3, 75.0)
    user = pos / np.linalg.norm(pos) * WGS84_A  # the geocentric sub-satellite point
    aod = angles_of_departure(pos[None], vel[None], user[None])
    assert aod.theta_rad[0, 0] == pytest.approx(np.pi / 2, abs=1e-12)
    assert aod.phi_rad[0, 0] == pytest.approx(np.pi / 2, abs=1e-12)
    assert aod.boresight_rad[0, 0] == pytest.approx(0.0, abs=1e-12)
    a = steering_vector(aod.theta_rad, aod.phi_rad, 8, 8)
    np.testing.assert_allclose(a[0, 0], np.ones(64), atol=1e-11)


def test_round_trip_of_prescribed_angles() -> None:
    """A user placed along the direction (θ, φ) of the frame is seen at exactly (θ, φ)."""
    rng = np.random.default_rng(7)
    pos, vel = _sat_state(51.0, 3.0, 780e3, -100.0)
    axes = antenna_axes(pos, vel)
    theta = rng.uniform(0.05, np.pi - 0.05, 50)
    phi = rng.uniform(0.05, np.pi - 0.05, 50)
    u_local = np.stack([np.cos(theta), np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi)], axis=-1)
    users = pos + 1.2e6 * u_local @ axes  # rows of axes are the frame axes in ECEF
    aod = angles_of_departure(pos[None], vel[None], users)
    np.testing.assert_allclose(aod.theta_rad[0], theta, atol=1e-12)
    np.testing.assert_allclose(aod.phi_rad[0], phi, atol=1e-12)
    np.testing.assert_allclose(np.cos(aod.boresight_rad[0]), np.sin(theta) * np.sin(phi), atol=1e-12)


def test_symmetric_users_have_mirrored_angles() -> None:
    """Mirror images of a user across the cross-track or the along-track plane of the satellite."""
    pos, vel = _sat_state(10.0, 10.0, 550e3, 0.0)  # heading north: along-track = north, cross-track = east
    x_b, y_b, _ = antenna_axes(pos, vel)
    user = wgs84.latlon(11.0, 11.0, 0.0).itrs_xyz.m  # ahead (north) and to the right (east)
    mirror_along = pos + (np.eye(3) - 2.0 * np.outer(x_b, x_b)) @ (user - pos)  # behind
    mirror_cross = pos + (np.eye(3) - 2.0 * np.outer(y_b, y_b)) @ (user - pos)  # to the left
    aod = angles_of_departure(pos[None], vel[None], np.array([user, mirror_along, mirror_cross]))
    th, ph, bs = aod.theta_rad[0], aod.phi_rad[0], aod.boresight_rad[0]
    assert th[0] < np.pi / 2 and ph[0] < np.pi / 2  # ahead: cos θ > 0; right: cos φ > 0
    assert th[0] + th[1] == pytest.approx(np.pi, abs=1e-12) and ph[1] == pytest.approx(ph[0], abs=1e-12)
    assert th[2] == pytest.approx(th[0], abs=1e-12) and ph[0] + ph[2] == pytest.approx(np.pi, abs=1e-12)
    np.testing.assert_allclose(bs, bs[0], atol=1e-12)  # mirror images are equally far off nadir
    a = steering_vector(th, ph, 4, 4)
    # a_v(π − θ) = conj a_v(θ) and a_h(θ, π − φ) = conj a_h(θ, φ): mirrored users see conjugate halves
    a_h0, a_v0 = a[0].reshape(4, 4)[:, 0], a[0].reshape(4, 4)[0, :]
    np.testing.assert_allclose(a[1].reshape(4, 4)[0, :], np.conj(a_v0), atol=1e-12)
    np.testing.assert_allclose(a[2].reshape(4, 4)[:, 0], np.conj(a_h0), atol=1e-12)


def test_elevation_uses_the_geodetic_vertical_of_the_orbits_layer() -> None:
    """Elevation masks in radio and pass windows in orbits must agree: same WGS84 vertical."""
    rng = np.random.default_rng(9)
    lats = np.array([-70.0, -33.0, 0.0, 12.0, 45.0, 64.0])
    lons = np.array([-120.0, 18.0, 0.0, 77.0, 5.0, -150.0])
    heights = [0.0, 20.0, 0.0, 900.0, 150.0, 3000.0]
    users = np.array([wgs84.latlon(a, o, elevation_m=h).itrs_xyz.m for a, o, h in zip(lats, lons, heights)])
    sats = rng.normal(size=(7, 3))
    sats = (WGS84_A + 600e3) * sats / np.linalg.norm(sats, axis=-1, keepdims=True)
    ours = elevation_rad(sats, users)
    theirs = look_angles(sats, np.zeros_like(sats), users).elevation_rad
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    # the vertical is the ellipsoid normal at skyfield's (lat, lon), 0.19° away from the radial at 45°
    lat, lon = np.radians(lats[4]), np.radians(lons[4])
    normal = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    assert np.degrees(np.arccos(normal @ users[4] / np.linalg.norm(users[4]))) > 0.18
    overhead = users[4] + 1e6 * normal
    assert float(elevation_rad(overhead[None], users[4:5])[0, 0]) == pytest.approx(np.pi / 2, abs=1e-12)


def test_elevation_and_slant_range_agree_with_vector_geometry() -> None:
    """At the equator the geodetic and spherical verticals coincide: compare with the analytic range."""
    user = np.array([[WGS84_A, 0.0, 0.0]])
    for h in (550e3, 600e3, 1200e3):
        for el_deg in (0.0, 10.0, 30.0, 63.0, 90.0):
            el = np.radians(el_deg)
            d = float(slant_range_m(h, el))
            sat = user + d * np.array([[np.sin(el), np.cos(el), 0.0]])
            assert np.linalg.norm(sat) == pytest.approx(WGS84_A + h, abs=1e-6)  # on the orbit sphere
            assert float(elevation_rad(sat, user)[0, 0]) == pytest.approx(el, abs=1e-12)


@pytest.mark.parametrize(
    ("altitude_km", "ranges_km"),
    [  # REFERENCE 3.6: slant range at 10° / 25° / 30° / 90° (R = 6378.137 km)
        (550, (1816, 1123, 993, 550)),
        (600, (1932, 1213, 1075, 600)),
        (780, (2325, 1526, 1364, 780)),
        (1200, (3132, 2205, 1999, 1200)),
    ],
)
def test_slant_ranges_of_reference_table(altitude_km: int, ranges_km: tuple[int, ...]) -> None:
    got = slant_range_m(altitude_km * 1e3, np.radians([10.0, 25.0, 30.0, 90.0])) / 1e3
    np.testing.assert_allclose(got, ranges_km, atol=1.0)  # the table is rounded to 1 km


def _steering_by_loops(theta: float, phi: float, n_h: int, n_v: int, d_h: float, d_v: float, f: float) -> np.ndarray:
    """000 eqs 2–4 written literally: spacings in metres, 2π f d / c, then the Kronecker product."""
    u_h = np.sin(theta) * np.cos(phi)
    a_h = np.array([np.exp(-1j * m * 2 * np.pi * f * d_h / SPEED_OF_LIGHT * u_h) for m in range(n_h)])
    a_v = np.array([np.exp(-1j * m * 2 * np.pi * f * d_v / SPEED_OF_LIGHT * np.cos(theta)) for m in range(n_v)])
    return np.kron(a_h, a_v)


def test_steering_vector_equals_literal_equations() -> None:
    rng = np.random.default_rng(3)
    f = 5.0e9
    lam = SPEED_OF_LIGHT / f
    theta = rng.uniform(0, np.pi, 6)
    phi = rng.uniform(-np.pi, np.pi, 6)
    for n_h, n_v, s_h, s_v in ((8, 8, 0.5, 0.5), (3, 5, 0.7, 0.4), (1, 4, 0.5, 0.5)):
        a = steering_vector(theta, phi, n_h, n_v, s_h, s_v)
        assert a.shape == (6, n_h * n_v)
        for i in range(6):
            ref = _steering_by_loops(theta[i], phi[i], n_h, n_v, s_h * lam, s_v * lam, f)
            np.testing.assert_allclose(a[i], ref, atol=1e-12)
        np.testing.assert_allclose(np.sum(np.abs(a) ** 2, axis=-1), n_h * n_v, rtol=1e-13)  # |a|² = N


def test_steering_broadcasts_over_leading_axes() -> None:
    rng = np.random.default_rng(4)
    theta = rng.uniform(0, np.pi, (3, 4, 5))
    phi = rng.uniform(0, np.pi, (3, 4, 5))
    block = steering_vector(theta, phi, 4, 2)
    assert block.shape == (3, 4, 5, 8)
    np.testing.assert_array_equal(block[1], steering_vector(theta[1], phi[1], 4, 2))
    np.testing.assert_array_equal(steering_vector(theta[0, 0, 0], phi[0, 0, 0], 4, 2), block[0, 0, 0])


def _walker_block(n_t: int = 4, dt: float = 30.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A few satellites on circular orbits over Europe (ECEF, no Earth rotation needed here) and users."""
    sats, vels = [], []
    for t in range(n_t):
        row_p, row_v = [], []
        for k, (lat, lon, hd) in enumerate(((45.0, 5.0, 20.0), (48.0, 9.0, 200.0), (41.0, 1.0, -30.0))):
            p, v = _sat_state(lat + 0.4 * t * dt / 30.0, lon, 550e3 + 10e3 * k, hd)
            row_p.append(p)
            row_v.append(v)
        sats.append(row_p)
        vels.append(row_v)
    users = np.array([wgs84.latlon(a, o, elevation_m=0.0).itrs_xyz.m for a, o in ((45.5, 5.5), (46.0, 7.0))])
    return np.array(sats), np.array(vels), users


@pytest.mark.parametrize(
    "params",
    [
        paper000_params(),
        paper004_params(),
        paper004_params(los_model="tr38811", kappa_model="tr38811", shadowing_sigma_db=None),
    ],
)
def test_block_equals_stack_of_snapshots(params) -> None:
    sats, vels, users = _walker_block()
    block = compute_statistical_csi(sats, vels, users, params=params, rng=np.random.default_rng(11), t_s=0.3)
    user_block = np.broadcast_to(users, (sats.shape[0],) + users.shape)
    block_u = compute_statistical_csi(sats, vels, user_block, params=params, rng=np.random.default_rng(11), t_s=0.3)
    for t in range(sats.shape[0]):
        snap = compute_statistical_csi(sats[t], vels[t], users, params=params, rng=np.random.default_rng(11), t_s=0.3)
        for name in ("beta", "kappa", "steering", "phase_rad", "delay_s", "doppler_hz", "theta_rad", "phi_rad",
                     "elevation_rad", "slant_range_m", "visible"):
            np.testing.assert_array_equal(getattr(block, name)[t], getattr(snap, name), err_msg=name)
            np.testing.assert_array_equal(getattr(block_u, name)[t], getattr(snap, name), err_msg=name)
    assert block.beta.shape == (4, 3, 2) and block.steering.shape == (4, 3, 2, 64)
