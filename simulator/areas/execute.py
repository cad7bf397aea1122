"""Run the areas of a scenario as tasks: serially in this process or on Dask, with retries and resume.

Each area is an ordinary run directory ``<run>/area=<name>`` written by
:func:`~simulator.engine.run.run_scenario` (chunks, checkpoints, per-area ``manifest.json``), so
an area resumes from its last complete chunk exactly as a single run does, and the tables of all
areas read as one dataset with an ``area`` column (``docs/outputs.md``). ``<run>/areas.json`` lists
every area and its status; it is rewritten as areas finish.

A task travels as (area scenario, options); on Dask the worker runs the area in a plain child
process (:mod:`simulator.areas.child`), which writes the area's files itself and returns a few
numbers, so rows never pass through the scheduler. A LocalCluster started here (``workers``, no
``scheduler``) has *thread* workers of this process, one thread each: they only start the areas'
processes and wait for them, so they need no process of their own; a cluster given by address or
Client runs the same task in its workers, whatever they are. A task reopens its area directory with
resume when it holds a manifest, so a retry (``retries``) or a rerun with ``--resume`` continues
from the area's last complete chunk, and an area already complete is not run again. The local
cluster comes from :mod:`simulator.experiments.dask_runner`; the area's process has single-threaded
BLAS whatever its worker's. Serial runs (``workers=0``) replay each area in this process.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.manifest import MANIFEST_NAME, package_versions, write_atomic
from ..engine.run import _signals_as_interrupt
from ..errors import InputError
from ..scenario import Scenario
from .config import AREA_DIR_PREFIX, expand_areas, shared_satellite_pairs
from .summary import LATITUDE_PNG, SUMMARY_CSV

__all__ = ["AREAS_MANIFEST", "AreaOutcome", "AreasResult", "run_areas", "run_area", "areas_warning",
           "costliest_first"]

#: The top-level manifest of a multi-area run directory.
AREAS_MANIFEST = "areas.json"
#: Folder of the running areas' progress files (``<name>.json``: simulated and wall time).
PROGRESS_DIR = ".progress"
PROGRESS_WRITE_S = 2.0   # s of wall time, least time between two progress-file writes of one area
PROGRESS_PRINT_S = 5.0   # s of wall time, least time between two progress lines


@dataclass(frozen=True)
class AreaOutcome:
    """One area after :func:`run_areas`: ``status`` is the area manifest's (``complete``, ``failed``, …);
    wall and CPU time (s), peak resident memory (MiB), host and pid of the process that ran it in this
    call (None for an area not run in this call)."""

    name: str
    status: str
    error: str | None = None
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_rss_mb: float | None = None
    host: str | None = None
    pid: int | None = None


@dataclass(frozen=True)
class AreasResult:
    """What :func:`run_areas` did: the run directory, every area's outcome, wall time of the call (s)."""

    run_dir: Path
    areas: tuple[AreaOutcome, ...]
    wall_s: float

    @property
    def ok(self) -> bool:
        return all(a.status == "complete" for a in self.areas)

    @property
    def failed(self) -> tuple[AreaOutcome, ...]:
        return tuple(a for a in self.areas if a.status != "complete")


def run_area(scenario: Scenario, *, progress_file: str | None = None, rate_workers: int = 0,
             max_chunks: int | None = None, repair: bool = False,
             decision_threads: int | None = None) -> dict[str, Any]:
    """Replay one area into ``scenario.output.directory``; the task of :func:`run_areas`.

    Resumes from the last complete chunk when the directory holds a manifest (a retry or a rerun);
    does nothing when that run is complete and its chunk files check. A damaged or missing chunk
    file fails the area with one line, unless ``repair`` (``leosim run --resume --repair`` for the
    area): then the first damaged chunk and those after it are run again. ``decision_threads``
    (default: :class:`~simulator.engine.settings.ReplayTuning`'s) threads decide the schemes of one
    reclustering at once; 1 with ``rate_workers=0`` keeps the area on one core. Returns wall and
    CPU time (s), peak resident memory of this process (MiB), host and pid.
    """
    from ..engine.run import run_scenario
    from ..engine.settings import ReplayTuning

    run_dir = Path(scenario.output.directory)
    manifest = run_dir / MANIFEST_NAME
    wall0, cpu0 = time.perf_counter(), time.process_time()
    if not (_area_status(run_dir) == "complete" and not _damage(run_dir)):
        writer = _ProgressWriter(Path(progress_file)) if progress_file else None
        resume = manifest.is_file()
        run_scenario(scenario, resume=resume, progress=writer, max_chunks=max_chunks,
                     rate_workers=rate_workers, repair=repair and resume,
                     tuning=None if decision_threads is None else ReplayTuning(decision_threads=decision_threads),
                     notice=lambda message: print(f"area {run_dir.name.removeprefix(AREA_DIR_PREFIX)}: {message}",
                                                  file=sys.stderr, flush=True))
    return {"wall_s": time.perf_counter() - wall0, "cpu_s": time.process_time() - cpu0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            "host": socket.gethostname(), "pid": os.getpid()}


def _area_status(area_dir: Path) -> str:
    """The status in an area's manifest; ``pending`` when it has none (or it does not read)."""
    try:
        return str(json.loads((area_dir / MANIFEST_NAME).read_text())["status"])
    except (OSError, ValueError, KeyError):
        return "pending"


def _damage(area_dir: Path) -> str | None:
    """The first damaged or missing chunk file of an area run (one line), None when all check."""
    from ..engine.manifest import Manifest

    found = Manifest.load(area_dir).damage()
    return None if found is None else found[1]


class _ProgressWriter:
    """``run_scenario``'s progress callback: the simulated time so far, to a small JSON file (atomic)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = -float("inf")

    def __call__(self, p) -> None:
        now = time.monotonic()
        if now - self.written >= PROGRESS_WRITE_S or not p.in_chunk:
            self.written = now
            text = json.dumps({"sim_s": p.sim_s, "duration_s": p.duration_s})
            write_atomic(self.path, lambda tmp: tmp.write_text(text))


#: Instants (evenly spread over the run) at which :func:`costliest_first` counts the visible satellites.
COST_SAMPLES = 12


def costliest_first(areas: dict[str, Scenario], names: list[str]) -> list[str]:
    """``names`` ordered by expected cost, largest first, ties in the given order.

    The cost of an area is taken as its users times the mean number of satellites above its
    elevation mask at its centre, over :data:`COST_SAMPLES` instants of the run (one SGP4 call
    over the whole constellation): candidate sets, reclusterings and rate evaluations all grow
    with it. Submitting the long areas first keeps a short one, not a long one, for the end of a
    cluster run, when the other workers are idle.
    """
    import numpy as np

    from ..inputs import build_catalog, build_users, scenario_start_utc, service_centre_ecef
    from ..orbits.geodesy import elevation
    from ..orbits.propagate import propagate_ecef
    from ..timebase import datetime_to_jd

    if len(names) < 2:
        return list(names)
    first = areas[names[0]]
    catalog = build_catalog(first)
    if not len(catalog):
        return list(names)
    jd0, fr0 = datetime_to_jd(scenario_start_utc(first, catalog))
    t_day = np.linspace(0.0, first.time.duration_s, COST_SAMPLES) / 86400.0
    positions = propagate_ecef(catalog, np.full_like(t_day, jd0), fr0 + t_day, warn=False).positions_m
    cost = {}
    for name in names:
        users = build_users(areas[name])
        el = elevation(positions, service_centre_ecef(users))[..., 0]  # (T, S), rad
        visible = np.nansum(el >= np.radians(areas[name].events.min_elevation_deg), axis=1).mean()
        cost[name] = users.n_user * float(visible)
    return sorted(names, key=lambda n: -cost[n])


def areas_warning(areas: dict[str, Scenario]) -> str | None:
    """One line when two areas are close enough to share serving satellites, else None.

    The satellite altitude is the median of the constellation (what the beam grid also uses).
    """
    import numpy as np

    from ..constants import WGS84_A
    from ..inputs import build_catalog
    from ..orbits.bounds import semi_major_axis_m

    first = next(iter(areas.values()))
    catalog = build_catalog(first)
    if not len(catalog):
        return None
    altitude_m = float(np.median(semi_major_axis_m(catalog)) - WGS84_A)
    pairs = shared_satellite_pairs(areas, altitude_m)
    if not pairs:
        return None
    a, b, dist, limit = pairs[0]
    more = f" (and {len(pairs) - 1} more pair(s))" if len(pairs) > 1 else ""
    return (f"warning: areas {a!r} and {b!r} are {dist / 1e3:,.0f} km apart, within the {limit / 1e3:,.0f} km at "
            f"which one satellite can serve both{more}; areas are replayed independently, so such a satellite "
            f"serves each at full power (docs/design.md)")


def run_areas(scenario: Scenario, *, output_dir: str | Path | None = None, workers: int | None = None,
              scheduler: Any = None, retries: int = 1, resume: bool = False, overwrite: bool = False,
              repair: bool = False, progress: bool = True, rate_workers: int | None = None,
              decision_threads: int | None = None, max_chunks: int | None = None, only: list[str] | None = None,
              order: str = "cost") -> AreasResult:
    """Replay every area of ``scenario`` (which has ``[areas]``) into ``<run>/area=<name>``.

    Parameters
    ----------
    scenario : Scenario with ``areas``
    output_dir : path — the run directory (default: the scenario's ``output.directory``)
    workers : int or None — LocalCluster workers, threads of this process each starting its areas'
        processes (default: the available cores); 0 = serially in this process
    scheduler : None, str or distributed.Client — an address such as ``tcp://host:8786`` (its workers
        must see the run directory) or a Client; None: a new LocalCluster (or serial with workers=0)
    retries : int — extra attempts of an area that raised; each resumes from the area's last chunk
    resume : bool — continue a run: complete areas are skipped, the others resume from their last chunk
    overwrite : bool — replace an existing multi-area run directory
    repair : bool — with ``resume``: an area with a damaged or missing chunk file runs again from
        before it (``leosim run --repair``); without it such an area fails with one line. Complete
        areas' files are checked on every resume, as a single run's are
    progress : bool — areas done, running areas' simulated time and an ETA on stderr
    rate_workers : int or None — serial runs only: as :func:`~simulator.engine.run.run_scenario`
        (on Dask each area evaluates rates in its own child process)
    decision_threads : int or None — serial runs only: threads deciding one reclustering's schemes
        (default 2; Dask workers use 1, so that each area keeps to one core)
    max_chunks : int or None — stop each area after that many chunks in this call (resumable)
    only : list of str or None — run only these areas (the others are listed as they are)
    order : ``"cost"`` (the default: :func:`costliest_first`) or ``"declared"`` — the order in which
        areas are submitted to Dask (serial runs keep the declared order)

    Returns
    -------
    AreasResult — failed areas are listed there and in ``areas.json``; the others' data are kept.

    The run directory is locked (:class:`~simulator.engine.lock.RunLock`) for the whole call, so a
    second run or resume of it is refused with one line while this one goes on. SIGTERM and SIGHUP
    (in the main thread) end the call as Ctrl-C does: the cluster is closed, ``areas.json`` says
    ``interrupted`` and :class:`~simulator.engine.run.RunInterrupted` is raised.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InputError(f"--retries={retries!r} must be an integer >= 0")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise InputError(f"--workers={workers!r} must be an integer >= 0 (0 runs the areas serially in this process)")
    if repair and not resume:
        raise InputError("--repair works with --resume (it repairs an existing run)")
    if order not in ("cost", "declared"):
        raise InputError(f"order={order!r} must be 'cost' or 'declared'")
    if resume and overwrite:
        raise InputError(f"{output_dir}: give --resume or --overwrite, not both")
    start = time.perf_counter()
    run_dir = Path(output_dir if output_dir is not None else scenario.output.directory).resolve()
    areas = expand_areas(scenario, run_dir)
    unknown = sorted(set(only or ()) - set(areas))
    if unknown:
        raise InputError(f"unknown area {unknown[0]!r}; the scenario's areas: {', '.join(areas)}")
    with _locked(run_dir, create=not resume), _signals_as_interrupt():
        _prepare(run_dir, resume=resume, overwrite=overwrite)
        return _run_locked(scenario, areas, run_dir, start, workers=workers, scheduler=scheduler, retries=retries,
                           repair=repair, progress=progress, rate_workers=rate_workers,
                           decision_threads=decision_threads, max_chunks=max_chunks, only=only, order=order)


@contextmanager
def _locked(run_dir: Path, *, create: bool):
    """Hold the run directory's :class:`RunLock`; a folder made here and refused stays absent."""
    from ..engine.lock import RunLock

    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"{run_dir} exists and is not a directory; choose another output directory")
    if not run_dir.is_dir():
        if not create:
            raise InputError(f"{run_dir}: nothing to resume (no {AREAS_MANIFEST}); run without --resume")
        run_dir.mkdir(parents=True)
        made = True
    else:
        made = False
    try:
        with RunLock(run_dir):
            yield
    except InputError:
        if made and not any(run_dir.iterdir()):
            run_dir.rmdir()
        raise


def _run_locked(scenario: Scenario, areas: dict[str, Scenario], run_dir: Path, start: float, *,
                workers: int | None, scheduler: Any, retries: int, repair: bool, progress: bool,
                rate_workers: int | None, decision_threads: int | None, max_chunks: int | None,
                only: list[str] | None, order: str) -> AreasResult:
    (run_dir / PROGRESS_DIR).mkdir(exist_ok=True)
    ledger = _Ledger(run_dir, scenario, areas)
    todo = [n for n in areas if (only is None or n in only)
            and (ledger.status(n) != "complete" or _damage(run_dir / f"{AREA_DIR_PREFIX}{n}"))]
    serial = workers == 0 and scheduler is None
    reporter = _Reporter(run_dir, areas, todo, ledger, enabled=progress)
    outcomes: dict[str, dict[str, Any]] = {}
    try:
        with reporter:
            if todo and serial:
                for name in todo:
                    outcomes[name] = _serial(areas[name], run_dir, retries, rate_workers, decision_threads,
                                             max_chunks, repair)
                    ledger.update(name, outcomes[name])
                    reporter.area_done(name)
            elif todo:
                import dask

                from ..experiments.dask_runner import dask_client

                # A new local cluster has thread workers: each area runs in a child process of its
                # own anyway, so worker processes would only add their start (~7 s for two, bench
                # areas); an external scheduler's workers keep whatever they are.
                # Dask's statistical profiler samples every worker thread each 10 ms; on an area (a
                # long pure-Python task) it cost ~20 % more CPU (bench areas, 2 areas x 600 s, 1
                # worker: 12.4 s with it, 10.1 s without). New local workers inherit this setting.
                with dask.config.set({"distributed.worker.profile.enabled": False}), \
                        dask_client(scheduler, workers, 1, processes=False) as client:
                    submitted = costliest_first(areas, todo) if order == "cost" else todo
                    _on_dask(client, areas, submitted, run_dir, retries, max_chunks, repair, ledger, reporter,
                             outcomes)
    except KeyboardInterrupt:
        ledger.finish("interrupted", time.perf_counter() - start)
        raise
    except BaseException:  # e.g. the cluster could not be reached: the areas run so far stay listed
        ledger.finish("failed", time.perf_counter() - start)
        raise
    wall = time.perf_counter() - start
    statuses = {ledger.status(n) for n in areas}
    ledger.finish("complete" if statuses == {"complete"} else "failed" if "failed" in statuses else "interrupted", wall)
    result = tuple(AreaOutcome(name=n, status=ledger.status(n), error=ledger.entry(n).get("error"),
                               **{k: outcomes.get(n, {}).get(k) for k in ("wall_s", "cpu_s", "peak_rss_mb", "host", "pid")})
                   for n in areas)
    return AreasResult(run_dir=run_dir, areas=result, wall_s=wall)


def _serial(sc: Scenario, run_dir: Path, retries: int, rate_workers: int | None, decision_threads: int | None,
            max_chunks: int | None, repair: bool) -> dict[str, Any]:
    name = sc.output.directory.name.removeprefix(AREA_DIR_PREFIX)
    for attempt in range(retries + 1):
        try:
            return run_area(sc, progress_file=str(run_dir / PROGRESS_DIR / f"{name}.json"),
                            rate_workers=rate_workers, max_chunks=max_chunks, repair=repair,
                            decision_threads=decision_threads)
        except Exception as exc:  # any error of the replay: retried, then reported
            if attempt == retries:
                return {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    raise AssertionError("unreachable")


def _on_dask(client, areas: dict[str, Scenario], todo: list[str], run_dir: Path, retries: int,
             max_chunks: int | None, repair: bool, ledger: "_Ledger", reporter: "_Reporter",
             outcomes: dict[str, dict[str, Any]]) -> None:
    from ..experiments.dask_runner import finished_on_dask
    from .child import AreaProcessError, run_area_in_child

    rank = {name: len(todo) - i for i, name in enumerate(todo)}  # Dask runs higher priorities first

    def submit(name: str, key: str):
        # One area per single-threaded worker, on one core, in a child process of the worker
        # (simulator.areas.child): rates in that process and one decision thread (two would compete
        # with the other workers for the cores; the tables are the same).
        return client.submit(run_area_in_child, areas[name], progress_file=str(run_dir / PROGRESS_DIR / f"{name}.json"),
                             rate_workers=0, max_chunks=max_chunks, repair=repair, decision_threads=1, key=key,
                             retries=retries, pure=False, priority=rank[name])

    for name, outcome, error in finished_on_dask(client, todo, submit, lambda name: f"area-{name}"):
        if error is not None:
            exc, tb = error
            if isinstance(exc, AreaProcessError):  # the area's own error, raised in its process
                outcome = {"error": exc.line, "traceback": exc.child_traceback}
            else:
                outcome = {"error": f"{type(exc).__name__}: {exc}", "traceback": tb}
        outcomes[name] = outcome
        ledger.update(name, outcome)
        reporter.area_done(name)


def _prepare(run_dir: Path, *, resume: bool, overwrite: bool) -> None:
    """Check (and for ``overwrite`` empty) the run directory; InputError naming the flag otherwise."""
    from ..engine.recorder import REPORT_NAME, REPORT_TABLES, delete_run

    if resume:
        if not (run_dir / AREAS_MANIFEST).is_file():
            raise InputError(f"{run_dir}: nothing to resume (no {AREAS_MANIFEST}); run without --resume")
        return
    if run_dir.is_dir() and any(run_dir.iterdir()):
        if not overwrite:
            raise InputError(f"{run_dir} already exists and is not empty; use --resume to continue the run in it, "
                             "--overwrite to replace it, or choose another output directory")
        if not (run_dir / AREAS_MANIFEST).is_file():
            raise InputError(f"{run_dir} has no {AREAS_MANIFEST}, so it is not a multi-area leosim run; refusing to "
                             "delete it with --overwrite. Choose another output directory")
        children = list(run_dir.iterdir())
        ours = (AREAS_MANIFEST, PROGRESS_DIR, SUMMARY_CSV, LATITUDE_PNG, REPORT_NAME)
        report_csv = [p for p in (run_dir / REPORT_TABLES).iterdir()] if (run_dir / REPORT_TABLES).is_dir() else []
        foreign = [p for p in children if not (p.name in ours or (p.name == REPORT_TABLES and p.is_dir())
                                               or (p.name.startswith(AREA_DIR_PREFIX) and p.is_dir()))]
        foreign += [p for p in report_csv if not (p.is_file() and p.suffix == ".csv")]  # `leosim report`'s CSV
        if foreign:
            raise InputError(f"{run_dir} holds {foreign[0].name!r}, which leosim did not write; refusing to delete "
                             "it with --overwrite. Choose another output directory")
        for p in children:
            if p.name.startswith(AREA_DIR_PREFIX):
                if any(p.iterdir()):
                    delete_run(p)  # refuses anything leosim did not write
                p.rmdir()
        shutil.rmtree(run_dir / PROGRESS_DIR, ignore_errors=True)
        for p in report_csv:
            p.unlink()
        if report_csv or (run_dir / REPORT_TABLES).is_dir():
            (run_dir / REPORT_TABLES).rmdir()
        for name in (AREAS_MANIFEST, SUMMARY_CSV, LATITUDE_PNG, REPORT_NAME):
            (run_dir / name).unlink(missing_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)


class _Ledger:
    """``areas.json``: the scenario, every area (centre, seed, directory, status, error, times)."""

    def __init__(self, run_dir: Path, scenario: Scenario, areas: dict[str, Scenario]) -> None:
        from ..inputs import build_users, service_centre_ecef
        from ..orbits.geodesy import ecef_to_geodetic

        self.run_dir = run_dir
        dumped = scenario.model_dump(mode="json")
        self.doc: dict[str, Any] = {"format": "leosim-areas", "format_version": 1, "name": scenario.name,
                                    "seed": scenario.seed, "status": "running", "versions": package_versions(),
                                    "scenario": dumped, "areas": []}
        for name, sc in areas.items():
            users = build_users(sc)
            lat, lon, _ = ecef_to_geodetic(service_centre_ecef(users))
            self.doc["areas"].append({"name": name, "directory": f"{AREA_DIR_PREFIX}{name}", "seed": sc.seed,
                                      "lat_deg": round(float(lat), 6), "lon_deg": round(float(lon), 6),
                                      "n_users": users.n_user, "status": self._disk_status(name)})
        self.entries = {e["name"]: e for e in self.doc["areas"]}
        self.save()

    def _disk_status(self, name: str) -> str:
        return _area_status(self.run_dir / f"{AREA_DIR_PREFIX}{name}")

    def entry(self, name: str) -> dict[str, Any]:
        return self.entries[name]

    def status(self, name: str) -> str:
        return self.entries[name]["status"]

    def update(self, name: str, outcome: dict[str, Any]) -> None:
        entry = self.entries[name]
        entry["status"] = self._disk_status(name)
        if "error" in outcome:
            entry.update(status="failed", error=outcome["error"])
        else:
            entry.pop("error", None)
            entry.update({k: outcome[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "host")})
        self.save()

    def finish(self, status: str, wall_s: float) -> None:
        for entry in self.doc["areas"]:  # areas finished by a worker while this process stopped listening
            if entry["status"] != "failed":
                entry["status"] = self._disk_status(entry["name"])
        self.doc["status"] = status
        self.doc["wall_s"] = wall_s
        self.save()

    def save(self) -> None:
        text = json.dumps(self.doc, indent=2, allow_nan=False)
        write_atomic(self.run_dir / AREAS_MANIFEST, lambda tmp: tmp.write_text(text))


class _Reporter:
    """Areas done / total, the running areas' simulated time and an ETA, on stderr every few seconds.

    A thread reads the areas' progress files (written by the tasks, wherever they run). The ETA is the
    simulated time left over all areas to run, at the pace (simulated s per wall s, summed over areas)
    since this call started.
    """

    def __init__(self, run_dir: Path, areas: dict[str, Scenario], todo: list[str], ledger: _Ledger, *,
                 enabled: bool) -> None:
        self.folder = run_dir / PROGRESS_DIR
        self.todo = list(todo)
        self.duration_s = {n: areas[n].time.duration_s for n in todo}
        self.ledger = ledger
        self.enabled = enabled and bool(todo)
        self.start_sim = {n: self._sim(n) for n in todo}
        self.t0 = time.perf_counter()
        self.finished: set[str] = set()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def _sim(self, name: str) -> float:
        try:
            return float(json.loads((self.folder / f"{name}.json").read_text())["sim_s"])
        except (OSError, ValueError, KeyError):
            return 0.0

    def __enter__(self) -> "_Reporter":
        if self.enabled:
            print(f"leosim run: {len(self.todo)} area(s) to run", file=sys.stderr, flush=True)
            self.thread = threading.Thread(target=self._loop, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        if self.enabled and exc[0] is None:
            print(self.line(), file=sys.stderr, flush=True)

    def _loop(self) -> None:
        while not self.stop.wait(PROGRESS_PRINT_S):
            print(self.line(), file=sys.stderr, flush=True)

    def area_done(self, name: str) -> None:
        self.finished.add(name)

    def line(self) -> str:
        sims = {n: (self.duration_s[n] if n in self.finished else min(self._sim(n), self.duration_s[n]))
                for n in self.todo}
        done = sum(self.ledger.status(n) == "complete" for n in self.finished)
        failed = len(self.finished) - done
        running = [f"{n} {sims[n]:,.0f}/{self.duration_s[n]:,.0f} s" for n in self.todo
                   if n not in self.finished and sims[n] > 0]
        from ..commands.run import _clock

        wall = time.perf_counter() - self.t0
        gained = sum(sims[n] - self.start_sim[n] for n in self.todo)
        left = sum(self.duration_s[n] - sims[n] for n in self.todo)
        eta = "…" if gained <= 0 else _clock(left * wall / gained)
        head = f"areas {done}/{len(self.todo)} done" + (f", {failed} failed" if failed else "")
        return f"{head}, wall {_clock(wall)}, ETA {eta}" + (f"; running: {', '.join(running)}" if running else "")
