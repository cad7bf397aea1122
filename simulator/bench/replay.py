"""``leosim bench replay``: the main job at scale — wall time, events, memory over simulated time, output size.

Runs a scenario (default ``scenarios/starlink-24h.toml``) into a temporary run directory and reports
wall time, events processed, reclusterings, peak resident memory after the first simulated hour and
at the end (their ratio shows whether memory stays flat in simulated time), and the size of the
output. Targets (24 h): ≤ 15 min and ≤ 2 GB on 2 cores, memory flat.

It also times raw ``SatrecArray.sgp4`` propagating the same constellation over the same span at the
logging step (the floor any replay pays; one core, measured in the same run) and prints the
replay's wall time as a multiple of it: machines differ by 2× in wall time, the ratio much less.
Scale target (24 h, starlink-24h): ≤ 14× that floor.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

DESCRIPTION = "replay a scenario (default starlink-24h) and report wall time, events, memory and output size"

TARGET_WALL_S = 15 * 60.0  # for 24 h of simulated time
TARGET_RSS_MIB = 2048.0
TARGET_SGP4_RATIO = 14.0  # replay wall / raw SGP4 of the same constellation, span and step (24 h)
SGP4_BLOCK_STEPS = 600  # steps per SatrecArray.sgp4 call (bounds its output arrays)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", default="scenarios/starlink-24h.toml",
                        help="scenario file (default scenarios/starlink-24h.toml, relative to the working directory)")
    parser.add_argument("--hours", type=float, default=None,
                        help="simulate only this many hours (default: the scenario's duration)")
    parser.add_argument("--keep", metavar="DIR", help="write the run to DIR and keep it (default: a temporary directory)")
    parser.add_argument("--decision-pool", choices=("auto", "threads", "processes"), default="auto",
                        help="where the decisions of a reclustering run (leosim run --decision-pool; default auto)")


def _rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    """User + system CPU seconds of this process and of its waited-for children (the workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _size_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def sgp4_floor_s(scenario) -> tuple[float, int, int]:
    """Wall time of raw ``SatrecArray.sgp4`` over ``scenario``'s satellites, span and logging step.

    Returns (seconds, satellites, steps); propagated in blocks of :data:`SGP4_BLOCK_STEPS` steps.
    """
    import numpy as np
    from sgp4.api import SatrecArray

    from ..inputs import build_catalog, scenario_start_utc
    from ..timebase import to_utc_ns, utc_ns_to_jd

    catalog = build_catalog(scenario)
    arr = SatrecArray(list(catalog.satrecs))
    start = int(to_utc_ns(scenario_start_utc(scenario, catalog)))
    step_ns = int(round(scenario.time.step_s * 1e9))
    n_steps = int(scenario.time.duration_s / scenario.time.step_s)
    t0 = time.perf_counter()
    for i in range(0, n_steps, SGP4_BLOCK_STEPS):
        k = np.arange(i, min(i + SGP4_BLOCK_STEPS, n_steps), dtype=np.int64)
        jd, fr = utc_ns_to_jd(start + k * step_ns)
        arr.sgp4(jd, fr)
    return time.perf_counter() - t0, len(catalog), n_steps


def run(args: argparse.Namespace) -> list[dict]:
    from ..engine.run import run_scenario
    from ..engine.settings import ReplayTuning
    from ..errors import InputError
    from ..scenario import load_scenario

    scenario = load_scenario(args.scenario)
    if args.hours is not None:
        if not args.hours > 0:
            raise InputError(f"--hours={args.hours} must be > 0")
        time_cfg = scenario.time.model_copy(update={"duration_s": args.hours * 3600.0})
        scenario = scenario.model_copy(update={"time": time_cfg})
    hours = scenario.time.duration_s / 3600.0
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="leosim-bench-")) / "run"
    samples: dict[str, float] = {}
    last = {"events": 0, "reclusterings": 0}
    start_rss = _rss_mib()

    def progress(p) -> None:
        last.update(events=p.events, reclusterings=p.reclusterings)
        if p.sim_s >= 3600.0 and "rss_1h" not in samples:
            samples["rss_1h"] = _rss_mib()
        if p.sim_s >= scenario.time.duration_s / 2 and "rss_half" not in samples:
            samples["rss_half"] = _rss_mib()
        print(f"  {p.sim_s / 3600:.2f} h simulated, wall {p.wall_s:.0f} s, peak RSS {_rss_mib():.0f} MiB",
              file=sys.stderr)

    t0, cpu0 = time.perf_counter(), _cpu_s()
    try:
        run_dir = run_scenario(scenario, output_dir=out, overwrite=bool(args.keep), progress=progress,
                               rate_workers=None,  # as leosim run: a worker on two or more cores
                               tuning=ReplayTuning(decision_pool=getattr(args, "decision_pool", "auto")))
        wall, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
        size = _size_mib(run_dir)
    finally:
        if not args.keep:
            shutil.rmtree(out.parent, ignore_errors=True)
    end_rss = _rss_mib()
    floor_s, n_sats, n_steps = sgp4_floor_s(scenario)
    rss_1h, rss_half = samples.get("rss_1h"), samples.get("rss_half")
    scale = 24.0 / hours
    return [
        {"metric": "simulated", "value": hours, "unit": "h", "target": "", "note": scenario.name},
        {"metric": "wall time", "value": wall, "unit": "s",
         "target": f"<= {TARGET_WALL_S:.0f} s for 24 h", "note": f"x{scale:.3g} -> {wall * scale:.0f} s per 24 h"},
        {"metric": "CPU time", "value": cpu, "unit": "s", "target": "",
         "note": f"user + system, replay and its worker processes; {cpu / max(wall, 1e-9):.2f} cores on average"},
        {"metric": "raw SGP4, same span", "value": floor_s, "unit": "s", "target": "",
         "note": f"SatrecArray.sgp4, {n_sats} satellites x {n_steps} steps, one core"},
        {"metric": "wall / raw SGP4", "value": wall / floor_s, "unit": "x",
         "target": f"<= {TARGET_SGP4_RATIO:g} for 24 h", "note": "machine-independent measure of the replay's cost"},
        {"metric": "events processed", "value": float(last["events"]), "unit": "", "target": "",
         "note": f"{last['events'] / max(wall, 1e-9):.0f} events/s"},
        {"metric": "reclusterings", "value": float(last["reclusterings"]), "unit": "", "target": "", "note": ""},
        {"metric": "peak RSS at start", "value": start_rss, "unit": "MiB", "target": "", "note": "after imports"},
        {"metric": "peak RSS after 1 h", "value": rss_1h, "unit": "MiB", "target": "",
         "note": "" if rss_1h is not None else "run shorter than 1 h"},
        {"metric": "peak RSS at half time", "value": rss_half, "unit": "MiB", "target": "",
         "note": f"after {hours / 2:.3g} h simulated"},
        {"metric": "peak RSS at end", "value": end_rss, "unit": "MiB", "target": f"<= {TARGET_RSS_MIB:.0f} MiB",
         "note": "; ".join(([f"end / 1 h = {end_rss / rss_1h:.2f}"] if rss_1h else [])
                           + ([f"end / half time = {end_rss / rss_half:.2f} (flat: ~1)"] if rss_half else []))},
        {"metric": "output size", "value": size, "unit": "MiB", "target": "", "note": str(out) if args.keep else ""},
    ]
