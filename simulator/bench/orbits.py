"""``leosim bench orbits``: SGP4 → ITRS throughput against raw SGP4, and the visibility screen's cost.

Rows (all measured in the same run):

- raw ``SatrecArray.sgp4`` satellite-steps/s (TEME, km; the floor), and ``propagate_ecef``
  (ITRS, m, (T, S, 3)) satellite-steps/s with its ratio to raw (target ≥ 0.7);
- wall time and peak traced memory (``tracemalloc``: numpy buffers included) of a full-span 1-s
  visibility run for 10 ground points in a disc of 200 km diameter, over the ``starlink-shell1``
  preset and the real 9 594-satellite Starlink file, with the screen; without the screen the same
  run is measured over a shorter span and scaled linearly (stated in the row).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import numpy as np

from ..timebase import jd_to_utc_ns, utc_ns_to_jd
from ..units import deg, rad

DESCRIPTION = "SGP4 → ITRS throughput vs raw SatrecArray; visibility screen wall time and memory"
DEFAULT_TLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tle" / "starlink_celestrak_2026-02-24.tle"
BOSTON = (42.36, -71.06)
_MEAN_EARTH_RADIUS_M = 6_371_000.0  # m, IUGG mean radius (only to lay out the disc of points)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hours", type=float, default=24.0, help="visibility span with the screen, h (default 24)")
    parser.add_argument("--step-s", type=float, default=1.0, help="fine step, s (default 1)")
    parser.add_argument("--no-screen-minutes", type=float, default=10.0,
                        help="span measured without the screen, min (scaled to --hours; default 10)")
    parser.add_argument("--min-elevation-deg", type=float, default=25.0, help="mask, deg (default 25)")
    parser.add_argument("--raw-steps", type=int, default=600, help="time steps in the throughput rows (default 600)")
    parser.add_argument("--tle", type=Path, default=DEFAULT_TLE, help="real catalogue (default: shared Starlink file)")


def disc_points(lat_deg: float, lon_deg: float, radius_m: float, n: int) -> np.ndarray:
    """n ground points (ECEF, m) on a sunflower spiral filling a disc of ``radius_m``."""
    from ..orbits.geodesy import geodetic_to_ecef

    k = np.arange(n) + 0.5
    r = radius_m * np.sqrt(k / n)
    a = k * np.pi * (3.0 - np.sqrt(5.0))
    lat = lat_deg + deg(r * np.cos(a) / _MEAN_EARTH_RADIUS_M)
    lon = lon_deg + deg(r * np.sin(a) / (_MEAN_EARTH_RADIUS_M * np.cos(rad(lat_deg))))
    return geodetic_to_ecef(lat, lon, 0.0)


def _throughput(catalog, n_steps: int, ts) -> list[dict]:
    from sgp4.api import SatrecArray

    from ..orbits.propagate import propagate_ecef

    arr = SatrecArray(list(catalog.satrecs))
    start = int(jd_to_utc_ns(catalog.median_epoch_jd()))
    jd, fr = utc_ns_to_jd(start + np.arange(n_steps, dtype=np.int64) * 1_000_000_000)
    n = len(catalog) * n_steps
    best_raw = best_ours = np.inf
    for _ in range(3):  # interleaved, best of three: the machine is shared
        t0 = time.perf_counter()
        arr.sgp4(jd, fr)
        best_raw = min(best_raw, time.perf_counter() - t0)
        t0 = time.perf_counter()
        propagate_ecef(catalog, jd, fr, satrecs=arr, timescale=ts, warn=False)
        best_ours = min(best_ours, time.perf_counter() - t0)
    raw, ours = n / best_raw, n / best_ours
    label = f"{len(catalog)} sats × {n_steps} steps"
    name = Path(catalog.source).name
    return [
        {"case": "raw SatrecArray.sgp4 (TEME km)", "catalog": name, "size": label,
         "wall_s": best_raw, "Msat_steps_per_s": raw / 1e6},
        {"case": "propagate_ecef (ITRS m, (T,S,3))", "catalog": name, "size": label,
         "wall_s": best_ours, "Msat_steps_per_s": ours / 1e6, "ratio": ours / raw,
         "target": "ratio ≥ 0.7", "note": "best of 3, interleaved"},
    ]


def _visibility(catalog, ground, hours, step_s, mask, screen, ts, chunk_s) -> dict:
    from ..orbits.visibility import visible_windows

    start = int(jd_to_utc_ns(catalog.median_epoch_jd()))
    tracemalloc.start()
    t0 = time.perf_counter()
    visible = steps = 0
    for chunk in visible_windows(catalog, ground, start, hours * 3600.0, step_s, mask, screen=screen,
                                 chunk_s=chunk_s, timescale=ts, warn=False):
        visible += int(chunk.visible.sum())
        steps += chunk.screen_sat_steps + chunk.fine_sat_steps
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"wall_s": wall, "peak_MiB": peak / 2**20, "sat_steps": steps, "visible_samples": visible}


def _visibility_rows(catalog, name, args, ts) -> list[dict]:
    ground = disc_points(*BOSTON, 100e3, 10)
    on = _visibility(catalog, ground, args.hours, args.step_s, args.min_elevation_deg, True, ts, 600.0)
    short_h = args.no_screen_minutes / 60.0
    # Without the screen every satellite is in every chunk: 60-s chunks keep memory comparable.
    off = _visibility(catalog, ground, short_h, args.step_s, args.min_elevation_deg, False, ts, 60.0)
    scale = args.hours / short_h
    size = f"{len(catalog)} sats, {args.hours:g} h @ {args.step_s:g} s, 10 pts"
    rows = [
        {"case": "visibility, screen", "catalog": name, "size": size, "wall_s": on["wall_s"],
         "Msat_steps_per_s": on["sat_steps"] / on["wall_s"] / 1e6, "peak_MiB": on["peak_MiB"],
         "sat_steps": on["sat_steps"],
         "target": "< 60 s (real file)" if name != "starlink-shell1" else "",
         "note": f"{on['visible_samples']} visible samples, mask {args.min_elevation_deg:g}°"},
        {"case": "visibility, no screen (est.)", "catalog": name, "size": size,
         "wall_s": off["wall_s"] * scale, "Msat_steps_per_s": off["sat_steps"] / off["wall_s"] / 1e6,
         "peak_MiB": off["peak_MiB"], "sat_steps": int(off["sat_steps"] * scale),
         "ratio": off["wall_s"] * scale / on["wall_s"], "target": "ratio ≥ 10 (real file)",
         "note": f"measured {args.no_screen_minutes:g} min ({off['wall_s']:.1f} s) × {scale:g}, 60-s chunks; "
                 f"ratio = no-screen / screen wall"},
    ]
    return rows


def run(args: argparse.Namespace) -> list[dict]:
    from ..orbits.propagate import builtin_timescale
    from ..orbits.walker import walker_catalog

    ts = builtin_timescale()
    shell1 = walker_catalog("starlink-shell1")
    real = None
    note = ""
    if args.tle.is_file():
        from ..orbits.tle import load_catalog

        real = load_catalog(args.tle)
    else:
        note = f"{args.tle} absent: real-file rows skipped"
    rows = _throughput(real if real is not None else shell1, args.raw_steps, ts)
    rows += _visibility_rows(shell1, "starlink-shell1", args, ts)
    if real is not None:
        rows += _visibility_rows(real, args.tle.name, args, ts)
    else:
        rows.append({"case": "visibility (real file)", "catalog": str(args.tle), "note": note})
    return rows
