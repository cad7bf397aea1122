"""Geometry views: sky tracks agree with the exact passes, sub-satellite points are at zenith, the
serving mask follows the intervals, and `leosim passes --plot` writes the figure."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from simulator.analysis import geometry_views as gv
from simulator.cli import main
from simulator.orbits import find_passes, geodetic_to_ecef, look_angles, propagate_ecef, walker_catalog, write_tle
from simulator.timebase import seconds_since_epoch_to_jd, to_utc_ns
from simulator.units import deg

START = "2026-01-01T00:00:00Z"
GROUND = geodetic_to_ecef(42.36, -71.06, 0.0)


@pytest.fixture(scope="module")
def iridium():
    return walker_catalog("iridium")


def test_sky_tracks_lie_inside_the_exact_passes_and_reach_their_culmination(iridium):
    epoch = to_utc_ns(START)
    t_s = np.arange(0.0, 3 * 3600.0 + 1e-9, 5.0)
    sky = gv.sky_tracks(iridium, GROUND, epoch, t_s, 10.0)
    passes = find_passes(iridium, GROUND, START, 3 * 3600.0, 10.0)
    assert len(sky) and (sky["elevation_deg"] >= 10.0).all()
    t0 = pd.Timestamp(START)
    for p in passes[~passes["truncated"] & (passes["duration_s"] > 60.0)].itertuples():  # peaks inside the window
        one = sky[sky["sat_id"] == p.sat_id]
        rise, end = (p.rise_utc - t0).total_seconds(), (p.set_utc - t0).total_seconds()
        inside = one[(one["t_s"] >= rise) & (one["t_s"] <= end)]
        assert len(inside) >= 1
        # sampled every 5 s: the highest sample is within the change of elevation over 2.5 s of the peak
        assert inside["elevation_deg"].max() == pytest.approx(p.max_elevation_deg, abs=0.3)
    # every sample above the mask belongs to a pass of its satellite (the passes cover the window)
    for sat, one in sky.groupby("sat_id"):
        mine = passes[passes["sat_id"] == sat]
        lo = (mine["rise_utc"] - t0).dt.total_seconds().fillna(0.0).to_numpy() - 1e-3  # NaT: cut by the window
        hi = (mine["set_utc"] - t0).dt.total_seconds().fillna(3 * 3600.0).to_numpy() + 1e-3
        t = one["t_s"].to_numpy()
        assert np.all(((t[:, None] >= lo) & (t[:, None] <= hi)).any(axis=1)), sat


def test_sub_satellite_point_sees_its_satellite_at_zenith(iridium):
    epoch = to_utc_ns(START)
    sub = iridium.subset(np.arange(5))
    tracks = gv.ground_tracks(sub, epoch, np.array([0.0, 600.0]))
    jd, fr = seconds_since_epoch_to_jd(epoch, np.array([0.0, 600.0]))
    eph = propagate_ecef(sub, jd, fr)
    for row in tracks.itertuples():
        k, s = int(row.t_s == 600.0), int(np.flatnonzero(sub.sat_ids == row.sat_id)[0])
        look = look_angles(eph.positions_m[k, s][None], eph.velocities_m_s[k, s][None],
                           geodetic_to_ecef(row.lat_deg, row.lon_deg, 0.0))
        assert deg(look.elevation_rad[0, 0]) == pytest.approx(90.0, abs=1e-6)  # geodetic normal through it


def test_serving_mask_follows_the_intervals():
    t0 = pd.Timestamp(START)
    samples = pd.DataFrame({"t_s": [0.0, 10.0, 20.0, 30.0, 10.0], "sat_id": [1, 1, 1, 1, 2]})
    timeline = pd.DataFrame({"sat_id": [1, 1], "start": [t0 + pd.Timedelta(seconds=5), t0 + pd.Timedelta(seconds=20)],
                             "end": [t0 + pd.Timedelta(seconds=15), t0 + pd.Timedelta(seconds=25)],
                             "is_rsap": [False, True]})
    serving, rsap = gv.serving_mask(samples, timeline, t0)
    assert serving.tolist() == [False, True, True, False, False]
    assert rsap.tolist() == [False, False, True, False, False]


def test_passes_plot_writes_a_png_and_a_file_output_does_not_print_rows(tmp_path, capsys):
    tle = tmp_path / "iridium.tle"
    write_tle(tle, walker_catalog("iridium"))
    png = tmp_path / "sky.png"
    assert main(["passes", "--tle", str(tle), "--lat", "42.36", "--lon", "-71.06", "--start", START, "--hours", "2",
                 "-o", str(tmp_path / "p.csv"), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "culmination (UTC)" not in out and f"wrote the sky plot and map to {png}" in out
    pixels = matplotlib.image.imread(png)
    assert pixels.shape[1] > 1000 and float(pixels[..., :3].var()) > 0.0
    assert main(["passes", "--tle", str(tle), "--lat", "0", "--lon", "0", "--plot", str(tmp_path / "x.jpg")]) == 2
    assert "--plot" in capsys.readouterr().err
