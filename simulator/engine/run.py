"""``leosim run``: a scenario replayed chunk by chunk into a run directory, with checkpoints and resume.

Each output chunk is replayed, its engine state pickled to ``checkpoints/chunk-NNNNNN.pkl``
(atomically, with the checkpoint format version and the leosim version), and only then its Parquet
files are committed and listed in the manifest with their SHA-256. A run interrupted at any point
therefore resumes from the state at the end of its last complete chunk and produces the same rows as
an uninterrupted run. The run directory is locked for the whole run (:mod:`simulator.engine.lock`);
everything is validated before it is created.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import math
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..constants import NS_PER_S, WGS84_A
from ..cooperation.schemes import DecideContext
from ..cooperation.spotbeam import beam_weights, hex_beam_grid, max_off_nadir_rad
from ..errors import InputError, ScenarioError
from ..orbits.bounds import semi_major_axis_m
from ..orbits.catalog import Catalog
from ..orbits.ground import UserSet
from ..orbits.propagate import ServiceReport, service_screen
from ..scenario import Scenario
from ..timebase import to_utc_ns
from ..inputs import (
    build_catalog,
    build_users,
    radio_params,
    scenario_start_utc,
    service_centre_ecef,
)
from .lock import RunLock
from .manifest import CHECKPOINT_FORMAT_VERSION, MANIFEST_NAME, Manifest, checkpoint_path, write_atomic
from .footprint import check_memory
from .rates import RateEvaluator
from .recorder import open_run, read_table
from .replay import Replay, ReplaySettings, ReplayTuning

__all__ = ["RunProgress", "PROGRESS_INTERVAL_S", "RunInterrupted", "ReplayInputs", "prepare_inputs", "build_replay",
           "run_scenario", "summarise_run"]

#: ``format`` of a checkpoint payload (with ``format_version``, ``leosim`` and ``state``).
CHECKPOINT_FORMAT = "leosim-checkpoint"


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


@dataclass(frozen=True)
class ReplayInputs:
    """Everything a replay is built from, checked before any file is written (:func:`prepare_inputs`)."""

    catalog: Catalog
    users: UserSet
    params: object
    settings: ReplaySettings
    epoch_ns: int
    service: ServiceReport


def prepare_inputs(scenario: Scenario, tuning: ReplayTuning | None = None) -> ReplayInputs:
    """Read and check every input of ``scenario`` (element sets, users, epoch, radio) without writing.

    Also screens every satellite over the run for SGP4 failures and re-entry below
    :data:`~simulator.orbits.propagate.ALTITUDE_FLOOR_M`; those are removed from service from their
    first failing instant (``Catalog.retired_utc_ns``) and listed in the manifest. ``tuning``:
    :class:`ReplayTuning` of the replay settings (defaults when None).

    Raises
    ------
    ScenarioError — naming the field (and file:line for element sets and user files)
    """
    settings = settings_from(scenario, tuning)
    catalog = build_catalog(scenario)
    users = build_users(scenario)
    params = radio_params(scenario)
    try:
        epoch = to_utc_ns(scenario_start_utc(scenario, catalog))
    except (ValueError, OverflowError) as exc:
        raise ScenarioError(f"time.start_utc: {exc}") from None
    service = service_screen(catalog, epoch, settings.duration_ns)
    catalog = dataclasses.replace(catalog, retired_utc_ns=service.retired_utc_ns)
    return ReplayInputs(catalog, users, params, settings, epoch, service)


def build_replay(scenario: Scenario, recorder, rate_workers: int = 0, inputs: ReplayInputs | None = None, *,
                 tuning: ReplayTuning | None = None) -> tuple[Replay, int]:
    """The replay of ``scenario`` writing to ``recorder``; returns it and the epoch (ns since 1970 UTC).

    ``rate_workers``: 0 evaluates rates in this process, 1 in one worker process
    (:mod:`simulator.engine.blockrates`); call ``replay.close()`` when done. ``inputs``: from
    :func:`prepare_inputs` (read here when not given); ``tuning``: :class:`ReplayTuning` (defaults
    when None; replaces the one in ``inputs`` when both are given).
    """
    inputs = inputs if inputs is not None else prepare_inputs(scenario, tuning)
    catalog, users, params, settings, epoch = (inputs.catalog, inputs.users, inputs.params, inputs.settings,
                                               inputs.epoch_ns)
    if tuning is not None:
        settings = dataclasses.replace(settings, tuning=tuning)
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
        sum_stage_floor=scenario.events.sum_stage_floor,
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


class RunInterrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP during a run: handled like Ctrl-C (status ``interrupted``, chunks kept)."""

    def __init__(self, signum: int) -> None:
        # args must rebuild the exception: SimPy re-raises an exception from a process as
        # ``type(exc)(*exc.args)``, so the signal number, not its name, is the argument
        super().__init__(int(signum))
        self.signum = int(signum)

    def __str__(self) -> str:
        return signal.Signals(self.signum).name


@contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`RunInterrupted` in the main thread (once) while the run is on."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = []

    def handler(signum: int, frame: object) -> None:
        if not fired:
            fired.append(signum)
            raise RunInterrupted(signum)

    wanted = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]
    previous = {s: signal.signal(s, handler) for s in wanted}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run_scenario(scenario: Scenario, *, output_dir: str | Path | None = None, resume: bool = False,
                 overwrite: bool = False, progress: Callable[[RunProgress], None] | None = None,
                 max_chunks: int | None = None, rate_workers: int | None = 0, repair: bool = False,
                 notice: Callable[[str], None] | None = None, tuning: ReplayTuning | None = None) -> Path:
    """Replay ``scenario`` into its run directory; returns the directory.

    ``rate_workers``: 1 evaluates the logged rates in a worker process beside the event loop, 0 (the
    default) in this process; None: 1 on a machine with two or more cores (what ``leosim run``
    does). The output is the same. The worker is started with ``spawn``, which re-imports the
    calling script: from a script, use 1 or None only under ``if __name__ == "__main__":``.

    Every input is read and checked, and the peak memory estimated, before the run directory is
    created, so a rejected scenario writes nothing. The directory is locked (:class:`RunLock`) for
    the whole call. ``resume`` verifies the chunk files' checksums and refuses a damaged run unless
    ``repair``, which drops the first damaged chunk and everything after it and runs them again
    from the last good checkpoint; a checkpoint that does not load falls back to the one before.
    ``notice(message)`` receives those fall-backs (one line each).

    ``max_chunks`` stops after that many chunks in this call (the run stays resumable), for tests
    and for splitting long runs. ``tuning`` (:class:`ReplayTuning`) changes speed and memory, never
    the tables. Ctrl-C, SIGTERM and SIGHUP leave every completed chunk readable (status
    ``interrupted``); any other error marks the run ``failed`` with the message.
    """
    if getattr(scenario, "areas", None) is not None:
        raise InputError("the scenario declares [areas]: run it with `leosim run` or "
                         "simulator.areas.execute.run_areas (one replay per area)")
    run_dir = Path(output_dir) if output_dir is not None else Path(scenario.output.directory)
    if resume and overwrite:
        raise InputError(f"{run_dir}: give --resume or --overwrite, not both")
    if repair and not resume:
        raise InputError("--repair works with --resume (it repairs an existing run)")
    if rate_workers is None:
        rate_workers = 1 if (os.cpu_count() or 1) >= 2 else 0
    if rate_workers not in (0, 1):
        raise InputError(f"rate_workers={rate_workers!r}: 0 (rates in this process) or 1 (one worker process)")
    inputs = prepare_inputs(scenario, tuning)
    check_memory(scenario, inputs)
    notice = notice or (lambda message: None)
    if inputs.service.removed:
        first = inputs.service.removed[0]
        notice(f"{len(inputs.service.removed)} satellite(s) fail SGP4 or re-enter during the run and leave service "
               f"from that instant (first: {first['sat_id']} {first['name'] or '?'} at {first['first_failing_utc']}, "
               f"{first['reason']}); listed in manifest.json \"service\"")
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"{run_dir} exists and is not a directory; choose another output directory")
    if resume and not (run_dir / MANIFEST_NAME).is_file():
        raise InputError(f"{run_dir}: nothing to resume (no {MANIFEST_NAME}); run without --resume")
    created = _make_dirs(run_dir)
    lock = RunLock(run_dir)
    lock.acquire()
    try:
        with _signals_as_interrupt():
            return _run_locked(scenario, run_dir, inputs, created, resume=resume, overwrite=overwrite,
                               repair=repair, progress=progress, max_chunks=max_chunks,
                               rate_workers=rate_workers, notice=notice)
    finally:
        lock.release()


def _run_locked(scenario: Scenario, run_dir: Path, inputs: ReplayInputs, created: list[Path], *, resume: bool,
                overwrite: bool, repair: bool, progress, max_chunks: int | None, rate_workers: int,
                notice: Callable[[str], None]) -> Path:
    settings = inputs.settings
    try:
        state = _prepare_resume(run_dir, scenario, repair, notice) if resume else None
        recorder, first = open_run(run_dir, scenario, resume=resume, overwrite=overwrite)
    except BaseException:
        for folder in reversed(created):  # a refused run leaves nothing behind
            with suppress(OSError):
                folder.rmdir()
        raise
    if not resume:
        recorder.manifest.set_service(inputs.service.as_json())
    replay = None
    try:
        replay, epoch = build_replay(scenario, recorder, rate_workers, inputs)
        n_chunks = -(-settings.duration_ns // settings.chunk_ns)
        if first > 0:
            replay.restore(state)
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
            payload = {"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_FORMAT_VERSION,
                       "leosim": __version__, "state": replay.state()}
            blob = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
            path = checkpoint_path(run_dir, index)
            path.parent.mkdir(exist_ok=True)
            write_atomic(path, lambda p, b=blob: p.write_bytes(b))
            recorder.close_chunk(index, epoch + t1, t_start_ns=epoch + t0)
            done += 1
            if progress is not None:
                progress(RunProgress(index + 1, n_chunks, t1 / NS_PER_S, settings.duration_ns / NS_PER_S,
                                     time.perf_counter() - start, replay.events_processed, replay.reclusterings))
        recorder.finish("complete")
    except RunInterrupted as exc:
        recorder.finish("interrupted", f"terminated by {exc}; resume with --resume")
        raise
    except KeyboardInterrupt:
        recorder.finish("interrupted", "interrupted; resume with --resume")
        raise
    except BaseException as exc:
        if not recorder.finished:
            with suppress(OSError):  # a full disk may refuse the manifest too; the error above says why
                recorder.finish("failed", f"{type(exc).__name__}: {exc}")
        if isinstance(exc, OSError) and not exc.filename:  # e.g. ENOSPC from the Parquet writer: say where
            if exc.errno is not None:
                exc.filename = str(run_dir)
            elif "no space left" in str(exc).lower():
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(run_dir)) from exc
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


def _make_dirs(run_dir: Path) -> list[Path]:
    """Create ``run_dir`` and missing parents; returns the folders created, outermost first."""
    missing = []
    folder = run_dir.absolute()
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    created = []
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:  # another process made it first: it is not ours to remove
            continue
        created.append(folder)
    return created


class _DamagedCheckpoint(Exception):
    pass


def _load_checkpoint(path: Path, sha256: str | None) -> dict:
    """The engine state in checkpoint ``path``; InputError for another code version, _DamagedCheckpoint otherwise."""
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise _DamagedCheckpoint(f"{path}: cannot read ({exc.strerror or exc})") from None
    if sha256 is not None and hashlib.sha256(blob).hexdigest() != sha256:
        raise _DamagedCheckpoint(f"{path} is damaged (its SHA-256 differs from the manifest's)")
    try:
        payload = pickle.loads(blob)
    except Exception as exc:  # noqa: BLE001 — any unpickling failure means the file is unusable
        raise _DamagedCheckpoint(f"{path} does not load ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path} was written by an older leosim (no checkpoint format version); this is leosim "
                         f"{__version__} (checkpoint format {CHECKPOINT_FORMAT_VERSION}). Start again with --overwrite")
    if payload.get("format_version") != CHECKPOINT_FORMAT_VERSION or payload.get("leosim") != __version__:
        raise InputError(f"{path} was written by leosim {payload.get('leosim')} (checkpoint format "
                         f"{payload.get('format_version')}); this is leosim {__version__} (format "
                         f"{CHECKPOINT_FORMAT_VERSION}). Finish the run with that version or start again with --overwrite")
    return payload["state"]


def _prepare_resume(run_dir: Path, scenario: Scenario, repair: bool, notice: Callable[[str], None]) -> dict | None:
    """Check a run before resuming it (scenario, code version, checksums) and find the state to resume from.

    Damaged or missing chunk files: refused, or with ``repair`` the run is cut back to before the
    first damaged chunk. The checkpoint of the last kept chunk is loaded; when it does not load the
    one before is tried, and so on (the chunks after the loaded checkpoint are run again). Returns
    the state (None when the run restarts from its first chunk).
    """
    manifest = Manifest.load(run_dir)
    manifest.check_scenario(scenario)
    manifest.check_versions(__version__)
    found = manifest.damage()
    if found is not None:
        index, what = found
        if not repair:
            raise InputError(f"{what}; add --repair to run chunk {index} and later again from the last good checkpoint")
        notice(f"{what}; running chunk {index} and later again")
        manifest.truncate(index)
    sums = {c["index"]: (c.get("sha256") or {}).get("checkpoint") for c in manifest.data["chunks"]}
    n = manifest.next_chunk_index
    state = None
    while n > 0:
        try:
            state = _load_checkpoint(checkpoint_path(run_dir, n - 1), sums.get(n - 1))
            break
        except _DamagedCheckpoint as exc:
            notice(f"{exc}; resuming from the checkpoint before it")
            n -= 1
    if n < manifest.next_chunk_index:
        manifest.truncate(n)
    return state


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
