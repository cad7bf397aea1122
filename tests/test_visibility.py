"""The coarse visibility screen never misses a visible sample and propagates far fewer satellites."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import timebase as tb
from simulator.bench.orbits import disc_points
from simulator.errors import InputError
from simulator.orbits.geodesy import geodetic_to_ecef
from simulator.orbits.propagate import SGP4Warning, builtin_timescale, propagate_ecef
from simulator.orbits.tle import load_catalog
from simulator.orbits.visibility import screen_geometry, time_grid_ns, visible_windows
from simulator.orbits.walker import walker_catalog

TS = builtin_timescale()


def visible_set(chunks, fine_only=False):
    out = set()
    steps = 0
    for ch in chunks:
        t, s, g = np.nonzero(ch.visible)
        out.update(zip(ch.times_ns[t].tolist(), ch.sat_index[s].tolist(), g.tolist()))
        steps += ch.fine_sat_steps + (0 if fine_only else ch.screen_sat_steps)
    return out, steps


def reference_set(cat, ground, start_ns, duration_s, step_s, mask_deg):
    """Brute force: every satellite at every fine step, elevation from the same geometry."""
    from simulator.orbits.geodesy import elevation

    grid = time_grid_ns(duration_s, step_s)
    eph = propagate_ecef(cat, *tb.ns_since_epoch_to_jd(start_ns, grid), timescale=TS, warn=False)
    t, s, g = np.nonzero(elevation(eph.positions_m, ground) >= np.radians(mask_deg))
    return set(zip(grid[t].tolist(), s.tolist(), g.tolist())), grid.size * len(cat)


@pytest.mark.parametrize("mask_deg, coarse_s", [(25.0, 60.0), (0.0, 120.0)])
def test_screen_is_exact_on_shell1_preset(mask_deg, coarse_s):
    cat = walker_catalog("starlink-shell1")
    ground = disc_points(42.36, -71.06, 100e3, 10)  # 10 points in a 200 km disc around Boston
    start = int(tb.jd_to_utc_ns(cat.median_epoch_jd()))
    ref, ref_steps = reference_set(cat, ground, start, 2 * 3600, 10.0, mask_deg)
    got, steps = visible_set(visible_windows(cat, ground, start, 2 * 3600, 10.0, mask_deg,
                                             coarse_step_s=coarse_s, chunk_s=1200, timescale=TS))
    assert len(ref) > 1000
    assert got == ref  # not one (time, satellite, ground point) sample missed or added
    assert steps < 0.25 * ref_steps  # the screen propagates far fewer satellite-steps


def test_screen_is_exact_on_real_starlink(shared_tle_dir):
    cat = load_catalog(shared_tle_dir / "starlink_celestrak_2026-02-24.tle")
    ground = disc_points(42.36, -71.06, 100e3, 10)
    start = int(tb.jd_to_utc_ns(cat.median_epoch_jd()))
    ref, ref_steps = reference_set(cat, ground, start, 2 * 3600, 20.0, 25.0)
    chunks = list(visible_windows(cat, ground, start, 2 * 3600, 20.0, 25.0, coarse_step_s=120.0,
                                  timescale=TS))
    got, steps = visible_set(chunks)
    assert len(ref) > 10_000
    assert got == ref
    assert steps < 0.3 * ref_steps  # screen (every satellite every 2 min) + fine steps
    assert sum(c.fine_sat_steps for c in chunks) < 0.05 * ref_steps
    assert max(c.sat_index.size for c in chunks) < 0.1 * len(cat)  # satellites kept per chunk


def test_screen_with_scattered_points_and_coarse_step_far_above_fine():
    # A wide cap (points 3000 km apart) and a 5-minute coarse step stress the bound's margins.
    cat = walker_catalog("oneweb")
    ground = geodetic_to_ecef([0.0, 20.0, -25.0, 10.0], [0.0, 15.0, -10.0, -20.0], [0.0, 2000.0, 0.0, 0.0])
    start = int(tb.jd_to_utc_ns(cat.median_epoch_jd()))
    ref, _ = reference_set(cat, ground, start, 3 * 3600, 15.0, 5.0)
    got, _ = visible_set(visible_windows(cat, ground, start, 3 * 3600, 15.0, 5.0, coarse_step_s=300,
                                         chunk_s=1800, timescale=TS))
    assert len(ref) > 1000 and got == ref


def test_chunks_cover_the_grid_and_do_not_change_results():
    cat = walker_catalog("iridium")
    ground = geodetic_to_ecef(42.36, -71.06, 0.0)
    start = "2026-01-01T00:00:00Z"
    grid = time_grid_ns(5000.5, 10.0)
    assert grid[-1] == 5000.5e9 and np.all(np.diff(grid) > 0)  # the end instant is the last sample
    runs = {}
    for chunk_s in (600.0, 3600.0):
        chunks = list(visible_windows(cat, ground, start, 5000.5, 10.0, 8.2, chunk_s=chunk_s, timescale=TS))
        np.testing.assert_array_equal(np.concatenate([c.times_ns for c in chunks]), grid)
        for c in chunks:
            assert c.positions_m.shape == (c.times_ns.size, c.sat_index.size, 3)
            assert c.elevation_rad.shape == (c.times_ns.size, c.sat_index.size, 1)
            assert np.isnan(c.elevation_rad[~c.computed]).all()
            assert np.isfinite(c.elevation_rad[c.computed]).all()
            assert not c.visible[~c.computed].any()
            jd, fr = tb.ns_since_epoch_to_jd(tb.to_utc_ns(start), c.times_ns)
            np.testing.assert_array_equal(c.jd + c.fr, jd + fr)
        runs[chunk_s] = visible_set(chunks)[0]
    assert runs[600.0] == runs[3600.0] and len(runs[600.0]) > 0
    # overlap mode: each chunk also holds the next chunk's first sample
    chunks = list(visible_windows(cat, ground, start, 5000.5, 10.0, 8.2, chunk_s=600, overlap=True,
                                  timescale=TS))
    for a, b in zip(chunks[:-1], chunks[1:]):
        assert a.times_ns[-1] == b.times_ns[0]


def test_screen_geometry_bounds():
    cat = walker_catalog("starlink-shell1")
    ground = disc_points(0.0, 0.0, 100e3, 10)
    geo = screen_geometry(cat, ground, 25.0)
    # the cap around the points' mean direction is at most the set's diameter (100 km radius ≈ 0.9°)
    assert np.radians(0.5) < geo.cap_rad < np.radians(1.8)
    assert np.radians(25.0 - 0.2) < geo.mask_rad < np.radians(25.0)  # vertical deflection ≤ 0.193°
    # ψ at 550 km, 25°: REFERENCE 3.6 slant range 1123 km ⇒ Earth-central angle ≈ 8.4°
    psi = geo.max_central_angle(np.array([6_378_137.0 + 550e3]))
    assert np.degrees(psi[0]) == pytest.approx(8.45, abs=0.1)
    assert np.all(geo.rate_bound_rad_s > 2 * np.pi / (96 * 60))  # faster than the mean motion


def test_sgp4_failures_in_a_window_are_reported_once(shared_tle_dir):
    cat = load_catalog(shared_tle_dir / "starlink_celestrak_2026-02-24.tle")
    med = int(tb.jd_to_utc_ns(cat.median_epoch_jd()))
    later = med + 86_400 * 10**9
    eph = propagate_ecef(cat, *tb.utc_ns_to_jd(np.array([later])), timescale=TS, warn=False)
    failing = np.flatnonzero(~eph.valid[0])
    assert failing.size >= 1
    sub = cat.subset(np.r_[failing, np.arange(0, len(cat), 97)])
    ground = disc_points(42.36, -71.06, 100e3, 3)
    with pytest.warns(SGP4Warning) as record:
        chunks = list(visible_windows(sub, ground, later, 1800, 10.0, 10.0, chunk_s=600, timescale=TS))
    reported = [f.sat_id for c in chunks for f in c.failures]
    assert set(reported) == set(cat.sat_ids[failing].tolist())
    assert len(reported) == len(set(reported))  # once each, not once per chunk
    assert len(record) == 1
    for c in chunks:  # failing satellites are never "computed"
        cols = np.isin(c.sat_index, np.arange(failing.size))
        assert not c.computed[:, cols].any()


def test_bad_arguments():
    cat = walker_catalog("iridium")
    with pytest.raises(InputError, match="step_s"):
        next(visible_windows(cat, geodetic_to_ecef(0, 0, 0), "2026-01-01T00:00:00Z", 60, 0.0, 10.0))
    with pytest.raises(InputError, match="ISO 8601"):
        next(visible_windows(cat, geodetic_to_ecef(0, 0, 0), "tomorrow", 60, 1.0, 10.0))
