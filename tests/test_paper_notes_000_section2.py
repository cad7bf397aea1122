"""000 Section II (eqs 1–8) as printed against the implementation: one test per departure in docs/paper-notes.md."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.constants import WGS84_A
from simulator.radio import compute_statistical_csi, draw_channel, los_mean, paper000_params
from simulator.radio.antenna_frame import angles_of_departure, elevation_rad, slant_range_m
from simulator.radio.linkbudget import large_scale_gain
from simulator.radio.pathloss import free_space_path_loss, gaseous_absorption_db, zenith_attenuation_db
from simulator.units import db_to_lin, lin_to_db

F_HZ = 5.0e9  # 000 Sec. VI
G_SAT_DBI = 3.0
ELEVATIONS_DEG = np.array([90.0, 60.0, 30.0, 10.0])


def _satellite_at(elevation_deg: float, altitude_m: float,
                  along_track: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A user on the equator at lon 0 and a satellite at ``elevation_deg`` due east of it.

    The satellite moves north (a cross-track user) or west, towards the user (an along-track user
    ahead of it), at 7.5 km/s.
    Returns (sat (1, 3), vel (1, 3), user (1, 3)), ECEF m.
    """
    el = np.radians(elevation_deg)
    user = np.array([WGS84_A, 0.0, 0.0])
    d = float(slant_range_m(altitude_m, el))
    sat = user + d * np.array([np.sin(el), np.cos(el), 0.0])  # up = +x, east = +y at (0°, 0°)
    east = np.array([-sat[1], sat[0], 0.0]) / np.hypot(sat[0], sat[1])
    vel = 7.5e3 * (-east if along_track else np.array([0.0, 0.0, 1.0]))
    return sat[None], vel[None], user[None]


def test_large_scale_gain_divides_by_the_losses():
    """Printed β = G^sat G^ue L^free L^abs multiplies by the losses; β = G^sat G^ue / (L^free L^abs)."""
    a_z = zenith_attenuation_db(F_HZ)
    for el_deg in (90.0, 30.0):
        el = np.radians(el_deg)
        d = slant_range_m(550e3, el)
        l_free = free_space_path_loss(d, F_HZ)
        l_abs = db_to_lin(gaseous_absorption_db(el, a_z))
        printed = db_to_lin(G_SAT_DBI) * l_free * l_abs
        implemented = large_scale_gain(d, F_HZ, tx_gain_dbi=G_SAT_DBI, loss_db=gaseous_absorption_db(el, a_z))
        assert printed > 1e16 and implemented < 1e-15  # the printed gain exceeds 1: more power out than in
        np.testing.assert_allclose(printed / implemented, (l_free * l_abs) ** 2, rtol=1e-12)
        assert float(lin_to_db(implemented)) == pytest.approx(
            G_SAT_DBI - float(lin_to_db(l_free)) - float(gaseous_absorption_db(el, a_z)), abs=1e-9)
    # 000's sub-satellite reference gain at 550 km (docs/reproduction.md): −158.3 dB
    nadir = large_scale_gain(550e3, F_HZ, tx_gain_dbi=G_SAT_DBI, loss_db=a_z)
    assert float(lin_to_db(nadir)) == pytest.approx(-158.27, abs=0.01)


def test_absorption_cosecant_law_applies_in_db_not_to_the_linear_loss():
    """Printed L^abs = L_zenith(f) / sin θ read in linear terms vs the dB cosecant law (TR 38.811 §6.6.4).

    The printed linear form loses 10 log10(1/sin θ) dB even without an atmosphere (3.0 dB at 30°);
    the implemented one scales the zenith dB value by the path length (0.080 dB at 30°).
    """
    a_z = zenith_attenuation_db(F_HZ)
    assert a_z == pytest.approx(0.040)
    el = np.radians(ELEVATIONS_DEG)
    printed_db = lin_to_db(db_to_lin(a_z) / np.sin(el))
    implemented_db = gaseous_absorption_db(el, a_z)
    np.testing.assert_allclose(printed_db, [0.040, 0.665, 3.050, 7.643], atol=1e-3)
    np.testing.assert_allclose(implemented_db, [0.040, 0.0462, 0.0799, 0.2270], atol=1e-4)
    no_air_db = lin_to_db(db_to_lin(0.0) / np.sin(el))  # the printed form without an atmosphere: still a loss
    np.testing.assert_allclose(no_air_db, 10 * np.log10(1 / np.sin(el)))
    # The shell path agrees with the plain dB cosecant law within 1.5 % above 10° (docs/radio.md)
    np.testing.assert_allclose(implemented_db, a_z / np.sin(el), rtol=0.015)


@pytest.mark.parametrize("along_track, theta_deg", [(False, 90.0), (True, 37.1)])
def test_absorption_uses_the_elevation_at_the_user_not_the_aod(along_track, theta_deg):
    """Printed L^abs uses θ_{l,k}, the elevation AoD of eqs 3–4 at the satellite; the path through the
    atmosphere is set by the elevation seen at the UE. A user at 30° elevation has θ = 90° when it is
    cross-track (printed: the zenith value) and θ ≈ 37° when it is along-track."""
    sat, vel, user = _satellite_at(30.0, 550e3, along_track)
    aod = angles_of_departure(sat, vel, user)
    el = float(elevation_rad(sat, user)[0, 0])
    assert np.degrees(el) == pytest.approx(30.0, abs=1e-9)
    assert np.degrees(float(aod.theta_rad[0, 0])) == pytest.approx(theta_deg, abs=0.1)
    a_z = zenith_attenuation_db(F_HZ)
    printed = a_z / np.sin(float(aod.theta_rad[0, 0]))
    csi = compute_statistical_csi(sat, vel, user, params=paper000_params(), rng=np.random.default_rng(0))
    atmospheric_db = G_SAT_DBI - float(lin_to_db(free_space_path_loss(csi.slant_range_m, F_HZ) * csi.beta)[0, 0])
    assert atmospheric_db == pytest.approx(float(gaseous_absorption_db(el, a_z)), abs=1e-9)  # ≈ 0.080 dB
    assert atmospheric_db == pytest.approx(0.0799, abs=1e-4)
    assert printed == pytest.approx(a_z / np.sin(np.radians(theta_deg)), rel=1e-2) and printed < atmospheric_db


def test_zenith_attenuation_does_not_depend_on_the_satellite_altitude():
    """000 says L_zenith(f) is 'determined by the satellite altitude'; it is a property of the atmosphere
    below ~20 km (ITU-R P.676), so satellites at 550 and 1200 km seen at one elevation lose the same."""
    losses = []
    for altitude in (550e3, 1200e3):
        sat, vel, user = _satellite_at(30.0, altitude, along_track=False)
        csi = compute_statistical_csi(sat, vel, user, params=paper000_params(), rng=np.random.default_rng(0))
        losses.append(G_SAT_DBI - float(lin_to_db(free_space_path_loss(csi.slant_range_m, F_HZ) * csi.beta)[0, 0]))
    assert losses[0] == pytest.approx(losses[1], abs=1e-12)


def test_scattered_part_is_a_scalar_times_the_steering_vector():
    """Eq 1 prints α_{l,k} bold (a vector) but defines it as a CN(0, 1) scalar, and 000 states that the LOS
    and NLOS parts share a(θ, φ). With a scalar α the scattered part is rank one and keeps the full
    array gain, E|a^H (h − E h)|² = v N²; an i.i.d. vector α would give v N (1/N of it)."""
    sat, vel, user = _satellite_at(60.0, 550e3, along_track=True)
    params = paper000_params(n_h=4, n_v=4)
    csi = compute_statistical_csi(sat, vel, user, params=params, rng=np.random.default_rng(1))
    h = draw_channel(csi, 20_000, np.random.default_rng(2))[:, 0, 0]          # (draws, N)
    a = csi.steering[0, 0]
    scattered = h - los_mean(csi)[0, 0]
    v = csi.beta[0, 0] / (csi.kappa[0, 0] + 1.0)
    n = params.n_ant
    gain = np.mean(np.abs(scattered @ np.conj(a)) ** 2) / v
    assert gain == pytest.approx(n**2, rel=0.05)  # 20 000 draws: 4.5 σ ≈ 3.2 %
    assert gain > 10 * n  # far from the i.i.d.-vector reading's N
