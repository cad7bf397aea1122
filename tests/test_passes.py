"""Exact passes: analytic overhead-pass duration, root accuracy, Skyfield agreement, edge cases."""

from __future__ import annotations

from datetime import datetime, timezone
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
from sgp4.api import Satrec, SatrecArray
from skyfield.api import EarthSatellite, wgs84

from simulator import timebase as tb
from simulator.constants import EARTH_ROTATION_RATE, WGS84_A
from simulator.errors import InputError
from simulator.orbits.catalog import Catalog
from simulator.orbits.geodesy import ecef_to_geodetic, geodetic_to_ecef, look_angles
from simulator.orbits.passes import PASS_COLUMNS, find_passes
from simulator.orbits.propagate import builtin_timescale, propagate_ecef, propagate_teme
from simulator.orbits.tle import format_tle, load_catalog, parse_tle_text
from simulator.orbits.walker import walker_catalog

TS = builtin_timescale()
MU_WGS72 = 398_600.8e9  # m^3/s^2, the SGP4 gravity model of the TLE
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def circular_catalog(altitude_m: float, inclination_deg: float) -> Catalog:
    """One circular orbit, at the ascending node at its epoch (RAAN = ω = M = 0)."""
    n = np.sqrt(MU_WGS72 / (WGS84_A + altitude_m) ** 3) * 86_400 / (2 * np.pi)  # rev/day
    l1, l2 = format_tle("CIRC", 1, EPOCH, inclination_deg, 0.0, 0.0, 0.0, 0.0, n)
    return parse_tle_text(f"CIRC\n{l1}\n{l2}\n")


def overhead_observer(altitude_m: float, inclination_deg: float):
    """A circular orbit and an observer at its sub-satellite point at the element epoch."""
    cat = circular_catalog(altitude_m, inclination_deg)
    epoch_ns = tb.to_utc_ns(EPOCH)
    eph = propagate_ecef(cat, *tb.utc_ns_to_jd(np.array([epoch_ns])), timescale=TS)
    lat, lon, _ = ecef_to_geodetic(eph.positions_m[0, 0])
    return cat, epoch_ns, geodetic_to_ecef(lat, lon, 0.0), lat


def elevation_at(cat: Catalog, sat_ids, times: pd.Series, ground) -> np.ndarray:
    """Elevation (deg) of each row's satellite at each row's instant, by direct propagation."""
    out = []
    for sid, t in zip(sat_ids, times):
        j = int(np.flatnonzero(cat.sat_ids == sid)[0])
        jd, fr = tb.utc_ns_to_jd(np.array([t.value]))
        eph = propagate_ecef(cat.subset([j]), jd, fr, timescale=TS)
        out.append(np.degrees(look_angles(eph.positions_m, eph.velocities_m_s, ground).elevation_rad[0, 0, 0]))
    return np.array(out)


@pytest.mark.parametrize("alt_km, mask_deg, table_min", [(550, 25.0, 4.5), (550, 10.0, 7.9), (1200, 25.0, 9.3)])
def test_overhead_pass_duration_matches_analytic_with_earth_rotation(alt_km, mask_deg, table_min):
    """REFERENCE.md 3.6: overhead-pass maxima for a non-rotating spherical Earth (Re = 6378.137 km).

    With Earth rotation the ground track moves relative to the observer at
    ω_rel = √(n² − 2 n ω_E cos i + ω_E² cos² φ) (docs/conventions.md, "Pass duration"), so an
    overhead pass lasts 2ψ/ω_rel instead of 2ψ/n (ψ: Earth-central half-angle above the mask).
    """
    inc = 53.0
    cat, epoch_ns, ground, lat = overhead_observer(alt_km * 1e3, inc)
    jd, fr = tb.utc_ns_to_jd(np.array([epoch_ns]))
    df = find_passes(cat, ground, epoch_ns - 900 * 10**9, 1800.0, mask_deg, timescale=TS)
    assert len(df) == 1 and not df.truncated[0]
    assert df.max_elevation_deg[0] > 89.99  # truly overhead
    assert abs((df.culmination_utc[0].value - epoch_ns) / 1e9) < 1.0  # s
    # prediction from the SGP4 state at culmination
    r_teme, v_teme, _ = propagate_teme(SatrecArray(list(cat.satrecs)), jd, fr)
    r, v = r_teme[0, 0], v_teme[0, 0]
    n = np.linalg.norm(np.cross(r, v)) / (r @ r)  # inertial angular rate, rad/s
    eps = np.radians(mask_deg)
    psi = np.arccos(np.linalg.norm(ground) * np.cos(eps) / np.linalg.norm(r)) - eps
    q = EARTH_ROTATION_RATE / n
    factor = 1.0 / np.sqrt(1 - 2 * q * np.cos(np.radians(inc)) + (q * np.cos(np.radians(lat))) ** 2)
    predicted = 2 * psi / n * factor
    assert df.duration_s[0] == pytest.approx(predicted, rel=1e-3)  # first-order relative-track model
    # and the table value scaled by the same factor (table rounds to 0.1 min; SGP4's mean
    # altitude here is ~0.9 km above nominal)
    assert abs(df.duration_s[0] / 60 - table_min * factor) < 0.08  # min
    # Earth rotation matters: the non-rotating value is off by (factor − 1) ≈ 4 %
    assert abs(df.duration_s[0] - 2 * psi / n) > 0.03 * df.duration_s[0]


def test_rise_and_set_elevations_equal_the_mask_and_culmination_is_a_maximum():
    cat = walker_catalog("starlink-shell1").subset(np.arange(0, 1584, 7))
    ground = geodetic_to_ecef(42.36, -71.06, 30.0)
    start = tb.jd_to_utc_ns(cat.median_epoch_jd())
    df = find_passes(cat, ground, start, 4 * 3600, 25.0, timescale=TS)
    full = df[~df.truncated]
    assert len(full) >= 10
    rows = full.head(12)
    for col in ("rise_utc", "set_utc"):
        el = elevation_at(cat, rows.sat_id, rows[col], ground)
        assert np.abs(el - 25.0).max() < 1e-6  # deg
    el_c = elevation_at(cat, rows.sat_id, rows.culmination_utc, ground)
    np.testing.assert_allclose(el_c, rows.max_elevation_deg, rtol=0, atol=1e-9)
    for dt_s in (-1.0, 1.0):
        el_n = elevation_at(cat, rows.sat_id, rows.culmination_utc + pd.Timedelta(seconds=dt_s), ground)
        assert np.all(el_n < el_c)
    # durations from the instants; culmination between rise and set
    np.testing.assert_allclose((full.set_utc - full.rise_utc).dt.total_seconds(), full.duration_s, atol=1e-6)
    assert ((full.rise_utc < full.culmination_utc) & (full.culmination_utc < full.set_utc)).all()
    assert list(df.columns) == PASS_COLUMNS


def _skyfield_events(sat: Satrec, lat, lon, start_ns, hours, mask):
    jd, fr = tb.utc_ns_to_jd(np.array([start_ns, start_ns + int(hours * 3600e9)]))
    t0, t1 = tb.skyfield_time(TS, jd, fr)
    t, ev = EarthSatellite.from_satrec(sat, TS).find_events(wgs84.latlon(lat, lon), t0, t1, altitude_degrees=mask)
    ns = tb.jd_to_utc_ns(t.whole, t.tai_fraction - t._leap_seconds() / 86_400) if len(t) else np.array([], int)
    return ns, ev


def _check_against_skyfield(cat: Catalog, lat, lon, start_ns, hours, mask):
    df = find_passes(cat, geodetic_to_ecef(lat, lon, 0.0), start_ns, hours * 3600, mask, timescale=TS)
    n_events = 0
    for j, sat in enumerate(cat.satrecs):
        sky, ev = _skyfield_events(sat, lat, lon, start_ns, hours, mask)
        mine = df[df.sat_id == cat.sat_ids[j]]
        for kind, col in ((0, "rise_utc"), (1, "culmination_utc"), (2, "set_utc")):
            ours = np.sort(np.array([t.value for t in mine[col].dropna()], dtype=np.int64))
            theirs = np.sort(sky[ev == kind])
            assert ours.shape == theirs.shape, (cat.sat_ids[j], col)
            if ours.size:
                assert np.abs(ours - theirs).max() < 1e9  # ns: Skyfield's own search is good to ~0.4 s
            n_events += ours.size
    return n_events


def test_events_match_skyfield_find_events_for_vallado_sats():
    lines = (files("sgp4") / "SGP4-VER.TLE").read_text().splitlines()
    sats = [Satrec.twoline2rv(l1, lines[i + 1]) for i, l1 in enumerate(lines) if l1.startswith("1 ")]
    chosen = [s for s in sats if s.satnum in (5, 6251, 28057, 29238)]
    n = 0
    for s in chosen:  # each around its own epoch
        cat = Catalog(names=(str(s.satnum),), sat_ids=np.array([s.satnum]), satrecs=(s,))
        n += _check_against_skyfield(cat, 40.0, -105.0, int(tb.jd_to_utc_ns(s.jdsatepoch, s.jdsatepochF)), 12.0, 10.0)
    assert n >= 12


def test_events_match_skyfield_find_events_for_real_iridium(shared_tle_dir):
    cat = load_catalog(shared_tle_dir / "iridium_next_2026-01-03.tle")
    start = tb.jd_to_utc_ns(cat.median_epoch_jd())
    assert _check_against_skyfield(cat, 42.36, -71.06, start, 4.0, 8.2) >= 100


def test_short_pass_between_samples_is_found():
    # Mask 89.9°: the pass lasts ~1 s, far shorter than the 2-minute step.
    cat, epoch_ns, ground, _ = overhead_observer(550e3, 53.0)
    df = find_passes(cat, ground, epoch_ns - 1000 * 10**9, 2000.0, 89.9, step_s=120.0, timescale=TS)
    assert len(df) == 1 and 0.0 < df.duration_s[0] < 5.0
    el = elevation_at(cat, df.sat_id, df.rise_utc, ground)
    assert abs(el[0] - 89.9) < 1e-6


def test_truncated_passes_at_window_edges():
    cat, epoch_ns, ground, _ = overhead_observer(550e3, 53.0)
    whole = find_passes(cat, ground, epoch_ns - 900 * 10**9, 1800.0, 25.0, timescale=TS).iloc[0]
    # window starts 60 s after the culmination: rise and culmination are outside
    late = find_passes(cat, ground, epoch_ns + 60 * 10**9, 1800.0, 25.0, timescale=TS).iloc[0]
    assert late.truncated and pd.isna(late.rise_utc) and pd.isna(late.culmination_utc)
    assert abs((late.set_utc - whole.set_utc).total_seconds()) < 1e-3
    assert late.duration_s == pytest.approx((whole.set_utc.value - epoch_ns - 60e9) / 1e9, abs=1e-3)
    assert late.max_elevation_deg < whole.max_elevation_deg
    # window ends 30 s after the culmination: set is outside, culmination inside
    early = find_passes(cat, ground, epoch_ns - 900 * 10**9, 930.0, 25.0, timescale=TS).iloc[0]
    assert early.truncated and pd.isna(early.set_utc) and not pd.isna(early.culmination_utc)
    assert abs((early.rise_utc - whole.rise_utc).total_seconds()) < 1e-3
    assert early.max_elevation_deg == pytest.approx(whole.max_elevation_deg, abs=1e-9)


def test_screen_does_not_change_passes_and_ground_ids():
    cat = walker_catalog("oneweb").subset(np.arange(0, 588, 3))
    ground = geodetic_to_ecef([51.5, 48.9], [-0.1, 2.35], [0.0, 0.0])
    start = "2026-01-01T06:00:00Z"
    a = find_passes(cat, ground, start, 3 * 3600, 15.0, ground_ids=["LON", "PAR"], timescale=TS)
    b = find_passes(cat, ground, start, 3 * 3600, 15.0, ground_ids=["LON", "PAR"], screen=False, timescale=TS)
    assert len(a) > 20 and set(a.ground_id) == {"LON", "PAR"}
    # same passes; instants agree to the root finders' tolerances (BLAS rounding differs by layout)
    pd.testing.assert_frame_equal(a.drop(columns=["rise_utc", "culmination_utc", "set_utc"]),
                                  b.drop(columns=["rise_utc", "culmination_utc", "set_utc"]), atol=1e-6)
    for col, tol_s in (("rise_utc", 1e-6), ("set_utc", 1e-6), ("culmination_utc", 2e-4)):
        assert (a[col].isna() == b[col].isna()).all()
        assert ((a[col] - b[col]).dt.total_seconds().abs().max()) <= tol_s
    assert a.rise_utc.dt.tz is not None  # timezone-aware UTC


def test_invalid_arguments():
    cat = circular_catalog(550e3, 53.0)
    with pytest.raises(InputError, match="duration_s"):
        find_passes(cat, geodetic_to_ecef(0, 0, 0), EPOCH, 0.0, 10.0)
    with pytest.raises(InputError, match="step_s"):
        find_passes(cat, geodetic_to_ecef(0, 0, 0), EPOCH, 60.0, 10.0, step_s=600)
