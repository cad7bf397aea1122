"""``leosim run``: a scenario replayed chunk by chunk into a run directory, with checkpoints and resume.

Each output chunk is replayed, its engine state pickled to ``checkpoints/chunk-NNNNNN.pkl``
(atomically), and only then its Parquet files are committed and listed in the manifest. A run
interrupted at any point therefore resumes from the state at the end of its last complete chunk and
produces the same rows as an uninterrupted run.
"""

from __future__ import annotations

import math
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..constants import NS_PER_S, WGS84_A
from ..cooperation.schemes import DecideContext
from ..cooperation.spotbeam import beam_weights, hex_beam_grid, max_off_nadir_rad
from ..errors import InputError, ScenarioError
from ..orbits.bounds import semi_major_axis_m
from ..scenario import Scenario
from ..timebase import to_utc_ns
from ..inputs import (
    build_catalog,
    build_users,
    radio_params,
    scenario_start_utc,
    service_centre_ecef,
)
from .manifest import write_atomic
from .rates import RateEvaluator
from .recorder import CHECKPOINTS, open_run, read_table
from .replay import Replay, ReplaySettings, ReplayTuning

__all__ = ["RunProgress", "PROGRESS_INTERVAL_S", "run_scenario", "summarise_run"]


@dataclass(frozen=True)
class RunProgress:
    """Simulated and wall time, events and reclusterings so far.

    Reported after every chunk (``in_chunk=False``, the chunk is committed) and, inside a chunk, at
    statistical-CSI refreshes at most every :data:`PROGRESS_INTERVAL_S` of wall time
    (``in_chunk=True``; ``chunk`` is then the chunk being replayed). ``wall_s`` counts from the
    start of this call of :func:`run_scenario` (a resumed run starts at its first missing chunk).
    """

    chunk: int
    n_chunks: int
    sim_s: float
    duration_s: float
    wall_s: float
    events: int
    reclusterings: int
    in_chunk: bool = False


#: s of wall time, least time between two in-chunk progress reports.
PROGRESS_INTERVAL_S = 0.5


def _ns(seconds: float) -> int:
    return int(round(seconds * NS_PER_S))


def settings_from(scenario: Scenario, tuning: ReplayTuning | None = None) -> ReplaySettings:
    """Replay settings; the chunk length is rounded up to whole CSI periods and steps. ``tuning``:
    the engine's speed and memory knobs (the defaults of :class:`ReplayTuning` when None)."""
    t, ev, out = scenario.time, scenario.events, scenario.output
    step, period = _ns(t.step_s), _ns(ev.csi_period_s)
    if period % step:
        raise ScenarioError(f"events.csi_period_s = {ev.csi_period_s}: must be a whole number of time.step_s "
                            f"= {t.step_s} s (CSI refreshes happen on logging steps)")
    grid = math.lcm(step, period)
    chunk = max(grid, -(-_ns(out.chunk_s) // grid) * grid)
    return ReplaySettings(
        duration_ns=_ns(t.duration_s), step_ns=step, chunk_ns=chunk, csi_period_ns=period,
        min_recluster_interval_ns=_ns(ev.min_recluster_interval_s),
        recluster_period_ns=None if ev.recluster_period_s is None else _ns(ev.recluster_period_s),
        backhaul_delay_ns=_ns(ev.backhaul_delay_s), min_elevation_deg=ev.min_elevation_deg,
        hysteresis_db=ev.hysteresis_db, time_to_trigger_s=ev.time_to_trigger_s, k_max=ev.k_max,
        max_candidate_sats=ev.max_candidate_sats, record_csi=scenario.output.record_csi,
        make_before_break=ev.make_before_break,
        tuning=ReplayTuning() if tuning is None else tuning,
    )


def build_replay(scenario: Scenario, recorder, rate_workers: int = 0, *,
                 tuning: ReplayTuning | None = None) -> tuple[Replay, int]:
    """The replay of ``scenario`` writing to ``recorder``; returns it and the epoch (ns since 1970 UTC).

    ``rate_workers``: 0 evaluates rates in this process, 1 in one worker process
    (:mod:`simulator.engine.blockrates`); ``tuning``: :class:`ReplayTuning` (defaults when None);
    call ``replay.close()`` when done.
    """
    catalog = build_catalog(scenario)
    users = build_users(scenario)
    params = radio_params(scenario)
    settings = settings_from(scenario, tuning)
    epoch = to_utc_ns(scenario_start_utc(scenario, catalog))
    r = scenario.radio
    altitude_m = float(np.median(semi_major_axis_m(catalog)) - WGS84_A) if len(catalog) else 550e3
    directions = hex_beam_grid(r.n_beams, max_off_nadir_rad(altitude_m, np.radians(settings.min_elevation_deg)))
    ctx = DecideContext(
        tx_power_w=params.tx_power_w, noise_w=params.noise_power_w, k_max=settings.k_max, n_pilots=r.n_pilots,
        pilot_power_w=params.ue_tx_power_w,
        beam_weights=beam_weights(directions, params.n_h, params.n_v, params.spacing_h_wavelengths,
                                  params.spacing_v_wavelengths),
        cluster_min_elevation_rad=float(np.radians(scenario.events.cluster_min_elevation_deg)),
        interference=scenario.events.decision_interference,
        tolerance=scenario.events.decision_tolerance,
    )
    target = service_centre_ecef(users) if r.beam_pointing == "service-centre" else None
    evaluator = RateEvaluator(ctx, params, precoders=scenario.events.precoder_tracking, beam_directions=directions)

    def user_states(t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return users.positions_m(t_s), users.velocities_m_s(t_s)

    replay = Replay(settings=settings, catalog=catalog, user_positions=user_states, n_user=users.n_user,
                    static_users=not users.moving, params=params, ctx=ctx, evaluator=evaluator,
                    schemes=list(scenario.schemes.names), policies=list(scenario.schemes.rsap_policies),
                    seed=scenario.seed, epoch_utc_ns=epoch, recorder=recorder, beam_target_m=target,
                    rate_workers=rate_workers)
    return replay, epoch


def run_scenario(scenario: Scenario, *, output_dir: str | Path | None = None, resume: bool = False,
                 overwrite: bool = False, progress: Callable[[RunProgress], None] | None = None,
                 max_chunks: int | None = None, rate_workers: int | None = 0,
                 tuning: ReplayTuning | None = None) -> Path:
    """Replay ``scenario`` into its run directory; returns the directory.

    ``rate_workers``: 1 evaluates the logged rates in a worker process beside the event loop, 0 (the
    default) in this process; None: 1 on a machine with two or more cores (what ``leosim run``
    does). The output is the same. The worker is started with ``spawn``, which re-imports the
    calling script: from a script, use 1 or None only under ``if __name__ == "__main__":``.

    ``max_chunks`` stops after that many chunks in this call (the run stays resumable), for tests
    and for splitting long runs. ``tuning`` (:class:`ReplayTuning`) changes speed and memory, never
    the tables. Ctrl-C leaves every completed chunk readable (status
    ``interrupted``); any other error marks the run ``failed`` with the message.
    """
    run_dir = Path(output_dir) if output_dir is not None else Path(scenario.output.directory)
    settings = settings_from(scenario)
    if rate_workers is None:
        rate_workers = 1 if (os.cpu_count() or 1) >= 2 else 0
    if rate_workers not in (0, 1):
        raise InputError(f"rate_workers={rate_workers!r}: 0 (rates in this process) or 1 (one worker process)")
    recorder, first = open_run(run_dir, scenario, resume=resume, overwrite=overwrite)
    replay = None
    try:
        replay, epoch = build_replay(scenario, recorder, rate_workers, tuning=tuning)
        n_chunks = -(-settings.duration_ns // settings.chunk_ns)
        if first > 0:
            with open(_checkpoint(run_dir, first - 1), "rb") as fh:
                replay.restore(pickle.load(fh))
        start = time.perf_counter()
        done = 0
        for index in range(first, n_chunks):
            if max_chunks is not None and done >= max_chunks:
                recorder.finish("interrupted", f"stopped after {done} chunk(s) as asked; resume with --resume")
                return run_dir
            t0 = index * settings.chunk_ns
            t1 = min(t0 + settings.chunk_ns, settings.duration_ns)
            if progress is None:
                replay.run_chunk(t0)
            else:
                replay.run_chunk(t0, on_progress=_in_chunk_progress(progress, replay, index + 1, n_chunks,
                                                                    settings.duration_ns, start))
            state = pickle.dumps(replay.state(), protocol=pickle.HIGHEST_PROTOCOL)
            write_atomic(_checkpoint(run_dir, index), lambda p, b=state: p.write_bytes(b))
            recorder.close_chunk(index, epoch + t1, t_start_ns=epoch + t0)
            done += 1
            if progress is not None:
                progress(RunProgress(index + 1, n_chunks, t1 / NS_PER_S, settings.duration_ns / NS_PER_S,
                                     time.perf_counter() - start, replay.events_processed, replay.reclusterings))
        recorder.finish("complete")
    except KeyboardInterrupt:
        recorder.finish("interrupted", "interrupted; resume with --resume")
        raise
    except BaseException as exc:
        if not recorder.finished:
            recorder.finish("failed", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if replay is not None:
            replay.close()
    return run_dir


def _in_chunk_progress(progress: Callable[[RunProgress], None], replay: Replay, chunk: int, n_chunks: int,
                       duration_ns: int, start: float) -> Callable[[int], None]:
    """``Replay.run_chunk``'s ``on_progress(t_ns)`` as throttled :class:`RunProgress` reports."""
    last = [time.perf_counter()]

    def report(t_ns: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= PROGRESS_INTERVAL_S:
            last[0] = now
            progress(RunProgress(chunk, n_chunks, t_ns / NS_PER_S, duration_ns / NS_PER_S, now - start,
                                 replay.events_processed, replay.reclusterings, in_chunk=True))

    return report


def _checkpoint(run_dir: Path, index: int) -> Path:
    folder = run_dir / CHECKPOINTS
    folder.mkdir(exist_ok=True)
    return folder / f"chunk-{index:06d}.pkl"


def summarise_run(run_dir: str | Path) -> dict[str, pd.DataFrame]:
    """One-screen summary: handovers per user-hour by scheme, policy and kind; median and minimum SE.

    RSAP and inter-satellite records count only between two satellites (not first access or loss of
    service); cluster joins and leaves all count.
    """
    rates = read_table(run_dir, "rates", columns=["time", "scheme", "rsap_policy", "user_id", "se_bps_hz"])
    handovers = read_table(run_dir, "handovers",
                           columns=["time", "scheme", "rsap_policy", "user_id", "kind", "from_sat", "to_sat"])
    # A change of RSAP or serving satellite is a handover only between two satellites: first access
    # (from_sat null) and loss of service (to_sat null) are recorded but not counted here.
    between = handovers["from_sat"].notna() & handovers["to_sat"].notna()
    handovers = handovers[~handovers["kind"].isin(["rsap", "inter_satellite"]) | between]
    out: dict[str, pd.DataFrame] = {}
    if len(rates):
        keys = ["scheme", "rsap_policy"]
        g = rates.groupby(keys, observed=True)
        steps = g["time"].nunique()
        span_h = (rates["time"].max() - rates["time"].min()).total_seconds() / 3600.0
        step_h = span_h / max(int(steps.max()) - 1, 1) if steps.max() > 1 else 0.0
        user_hours = g["user_id"].nunique() * (steps * step_h)
        out["se"] = pd.DataFrame({"median_se_bps_hz": g["se_bps_hz"].median(), "min_se_bps_hz": g["se_bps_hz"].min(),
                                  "mean_se_bps_hz": g["se_bps_hz"].mean()})
        if len(handovers) and step_h > 0:
            counts = handovers.groupby(keys + ["kind"], observed=True).size().unstack("kind", fill_value=0)
            out["handovers_per_user_hour"] = counts.div(user_hours, axis=0).fillna(0.0)
    return out
