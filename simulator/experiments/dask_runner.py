"""Run a sweep's tasks on Dask distributed (or serially in-process) and keep ``sweep.json`` current.

:func:`run_sweep` submits only the tasks whose partition file is missing (see
:mod:`~simulator.experiments.sweep` for the layout). Each task travels as (experiment name, task,
output directory); the worker resolves the experiment in the registry, runs it, writes the
partition file itself and returns a summary of a few numbers, so rows never pass through the
scheduler. A task that raises is retried ``retries`` times (Dask's ``retries``; the serial loop does
the same), then recorded as failed in ``sweep.json`` and in the result, never dropped.

Workers of the default ``LocalCluster`` are processes with one thread each and single-threaded BLAS
(``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` = 1, set before the worker
processes start, overriding the caller's environment), so n workers use n cores without
oversubscription.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from ..constants import THREAD_VARIABLES
from ..errors import InputError
from .sweep import (MANIFEST_NAME, SweepSpec, Task, execute_task, manifest_document, prepare_output, read_manifest,
                    write_manifest)

__all__ = ["run_sweep", "SweepResult", "TaskFailure", "THREAD_VARIABLES", "available_cores", "local_client", "dask_client",
           "single_threaded_blas",
           "finished_on_dask"]

SAVE_INTERVAL_S = 2.0       # s, least time between two rewrites of sweep.json while tasks finish
PLAIN_PROGRESS_S = 10.0     # s, least time between two progress lines when stderr is not a terminal


@dataclass(frozen=True)
class TaskFailure:
    """A task that still raised after its retries."""

    task_id: str
    point: int
    seed: int
    params: dict[str, Any]
    error: str
    traceback: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.task_id, "point": self.point, "seed": self.seed, "params": self.params,
                "error": self.error, "traceback": self.traceback}


@dataclass(frozen=True)
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    out_dir : Path
    n_tasks : int — tasks of the spec
    ran : tuple of dict — summaries of the tasks computed in this call (id, rows, wall_s, host, pid, ...)
    skipped : tuple of str — ids of tasks whose partition file already existed
    failures : tuple of TaskFailure — tasks that raised after their retries
    rows : int — rows in the dataset for the spec's finished tasks
    wall_s : float, s — wall time of the call (cluster start included)
    stale : tuple of str — partition files of an earlier spec moved to ``stale/``
    """

    out_dir: Path
    n_tasks: int
    ran: tuple[dict[str, Any], ...]
    skipped: tuple[str, ...]
    failures: tuple[TaskFailure, ...]
    rows: int
    wall_s: float
    stale: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_sweep(spec: SweepSpec, out_dir: str | os.PathLike, *, scheduler: Any = None, workers: int | None = None,
              threads_per_worker: int = 1, progress: bool = True, retries: int = 1) -> SweepResult:
    """Run every task of ``spec`` whose partition file is missing in ``out_dir``.

    Parameters
    ----------
    spec : SweepSpec
    out_dir : path — output directory (created); layout in :mod:`~simulator.experiments.sweep`
    scheduler : None, "serial", str or distributed.Client — None: a new ``LocalCluster``;
        ``"serial"``: in this process, one task after another; an address such as
        ``"tcp://10.0.0.5:8786"``: an existing cluster (its workers must see ``out_dir``); a Client:
        use it as it is (not closed afterwards)
    workers : int or None — LocalCluster worker processes (default: the available cores); 0 = serial
    threads_per_worker : int — threads per LocalCluster worker
    progress : bool — tasks done / total, rate and ETA on stderr
    retries : int — extra attempts of a task that raised

    Returns
    -------
    SweepResult — failures are listed there and in ``sweep.json``; KeyboardInterrupt propagates after
    the finished partitions are recorded (a rerun continues from them)
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise InputError(f"workers={workers!r} must be an integer >= 0 (0 runs serially in this process)")
    if isinstance(threads_per_worker, bool) or not isinstance(threads_per_worker, int) or threads_per_worker < 1:
        raise InputError(f"threads_per_worker={threads_per_worker!r} must be an integer >= 1")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InputError(f"retries={retries!r} must be an integer >= 0")
    start = time.perf_counter()
    out = Path(out_dir).resolve()
    tasks = spec.tasks()
    todo, done, stale = prepare_output(out, tasks)
    serial = scheduler == "serial" or workers == 0
    where = "serial" if serial else (scheduler if isinstance(scheduler, str) else
                                     "client" if scheduler is not None else "LocalCluster")
    ledger = _Ledger(out, spec, tasks, done, retries=retries, scheduler=str(where))
    if stale and progress:
        print(f"leosim sweep: moved {len(stale)} partition file(s) of an earlier spec to {out / 'stale'}",
              file=sys.stderr)
    reporter = _Progress(len(todo), len(done), enabled=progress)
    try:
        with reporter:
            if todo and serial:
                _run_serial(spec.experiment, todo, out, retries, ledger, reporter)
            elif todo:
                with dask_client(scheduler, workers, threads_per_worker) as client:
                    _run_dask(client, spec.experiment, todo, out, retries, ledger, reporter)
    except KeyboardInterrupt:
        ledger.finish("interrupted", time.perf_counter() - start)
        raise
    except BaseException:
        ledger.finish("failed", time.perf_counter() - start)
        raise
    wall = time.perf_counter() - start
    ledger.finish("failed" if ledger.failures else "complete", wall)
    return SweepResult(out_dir=out, n_tasks=len(tasks), ran=tuple(ledger.ran), skipped=tuple(t.task_id for t in done),
                       failures=tuple(ledger.failures), rows=ledger.total_rows(), wall_s=wall, stale=tuple(stale))


# -- execution -------------------------------------------------------------------------------------
def _run_serial(experiment: str, todo: list[Task], out: Path, retries: int, ledger: "_Ledger",
                reporter: "_Progress") -> None:
    for task in todo:
        for attempt in range(retries + 1):
            try:
                summary = execute_task(experiment, task, str(out))
            except Exception as exc:  # any error of the experiment: retried, then reported
                if attempt == retries:
                    ledger.failed(task, exc, traceback.format_exc())
            else:
                ledger.succeeded(task, summary)
                break
        reporter.advance(failed=len(ledger.failures))


def _run_dask(client, experiment: str, todo: list[Task], out: Path, retries: int, ledger: "_Ledger",
              reporter: "_Progress") -> None:
    def submit(task: Task, key: str):
        return client.submit(execute_task, experiment, task, str(out), key=key, retries=retries, pure=False)

    for task, summary, error in finished_on_dask(client, todo, submit, lambda task: f"sweep-{task.task_id}"):
        if error is None:
            ledger.succeeded(task, summary)
        else:
            ledger.failed(task, *error)
        reporter.advance(failed=len(ledger.failures))


def finished_on_dask(client, items: list, submit, name) -> Iterator[tuple[Any, Any, tuple | None]]:
    """Submit every item and yield ``(item, result, error)`` as each finishes, in finishing order.

    ``submit(item, key)`` submits one task under the Dask key ``key`` (``name(item)`` plus a token of
    this call, so reruns never collide with results the scheduler still holds) and returns its
    future. ``error`` is None, or ``(exception, traceback text)`` when the task failed after its
    retries; each future is released once yielded. If the caller stops with an exception (Ctrl-C
    included), every task not yet finished is cancelled.
    """
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    by_key, futures = {}, []
    for item in items:
        fut = submit(item, f"{name(item)}-{token}")
        by_key[fut.key] = item
        futures.append(fut)
    try:
        for fut in as_completed(futures):
            item = by_key[fut.key]
            if fut.status == "finished":
                result, error = fut.result(), None
            else:
                exc = fut.exception()
                result, error = None, (exc, "".join(traceback.format_exception(type(exc), exc, fut.traceback())))
            fut.release()
            yield item, result, error
    except BaseException:
        client.cancel(futures)
        raise


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Force the BLAS/OpenMP thread variables to 1 while worker processes are configured or started.

    Dask's nanny copies ``distributed.nanny.pre-spawn-environ`` into each worker before it starts,
    but lets an existing environment variable of this process win; both are set here and the
    process environment is restored afterwards.
    """
    import dask

    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: "1" for name in THREAD_VARIABLES})
    try:
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{name}": 1 for name in THREAD_VARIABLES}):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def dask_client(scheduler: Any, workers: int | None, threads_per_worker: int, *,
                processes: bool = True) -> Iterator[Any]:
    """A distributed Client: the one given, one connected to an address, or one on a new LocalCluster
    (``processes`` as :func:`local_client`)."""
    from distributed import Client

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if isinstance(scheduler, str):
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"could not connect to the Dask scheduler at {scheduler}: {exc}; start one with "
                             "`dask scheduler` and `dask worker ADDRESS`, or omit --scheduler") from None
        with client:
            yield client
        return
    if scheduler is not None:
        raise InputError(f"scheduler={scheduler!r} must be None, 'serial', an address or a distributed.Client")
    with local_client(workers, threads_per_worker, processes=processes) as client:
        yield client


@contextlib.contextmanager
def local_client(workers: int | None = None, threads_per_worker: int = 1, *,
                 processes: bool = True) -> Iterator[Any]:
    """A Client on a new ``LocalCluster`` of worker processes with single-threaded BLAS, closed on exit.

    Parameters
    ----------
    workers : int or None — workers (default: :func:`available_cores`)
    threads_per_worker : int
    processes : bool — False: the workers are threads of this process (no nanny, no worker process,
        no imports; starts in well under a second). Only for tasks that do their work in processes of
        their own, as the areas of ``leosim run`` do (:mod:`simulator.areas.child`); a task computing
        in the worker would share this interpreter's GIL.
    """
    import logging

    from distributed import Client, LocalCluster

    with single_threaded_blas() if processes else contextlib.nullcontext():
        cluster = LocalCluster(n_workers=workers or available_cores(), threads_per_worker=threads_per_worker,
                               processes=processes, dashboard_address=":0", silence_logs=logging.CRITICAL)
    with cluster, Client(cluster) as client:
        if processes:
            client.register_plugin(_IgnoreInterrupt(), name="leosim-ignore-sigint")
        yield client


class _IgnoreInterrupt(WorkerPlugin):
    """Worker plugin: local worker processes ignore SIGINT; Ctrl-C reaches them through this process.

    A terminal sends Ctrl-C to every process of the foreground group, workers included; without this
    each worker would die printing its own traceback while the client shuts the cluster down cleanly.
    """

    idempotent = True

    def setup(self, worker) -> None:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


# -- bookkeeping -----------------------------------------------------------------------------------
class _Ledger:
    """Per-task outcomes of one call, mirrored into ``sweep.json`` (rewritten at most every 2 s)."""

    def __init__(self, out: Path, spec: SweepSpec, tasks: list[Task], done: list[Task], *, retries: int,
                 scheduler: str) -> None:
        from ..fileio import package_versions

        previous: dict[str, dict] = {}
        created = _utc()
        if (out / MANIFEST_NAME).is_file():
            with contextlib.suppress(InputError, ValueError, KeyError):  # unreadable: start a new manifest
                old_doc = read_manifest(out)
                previous = {e["id"]: e for e in old_doc["tasks"]}
                created = old_doc.get("created_utc", created)
        self.out = out
        self.ran: list[dict[str, Any]] = []
        self.failures: list[TaskFailure] = []
        versions = package_versions()
        for name in ("dask", "distributed"):
            versions[name] = _version(name)
        now = _utc()
        self.doc = manifest_document(spec, tasks, "running", versions=versions, failures=[],
                                     created_utc=created, updated_utc=now,
                                     run={"started_utc": now, "scheduler": scheduler, "retries": retries})
        done_ids = {t.task_id for t in done}
        self.entries = {e["id"]: e for e in self.doc["tasks"]}
        for entry in self.doc["tasks"]:
            old = previous.get(entry["id"], {})
            entry["status"] = "done" if entry["id"] in done_ids else "pending"
            if entry["status"] == "done":
                entry["rows"] = old.get("rows")
                if entry["rows"] is None:
                    entry["rows"] = _file_rows(out / entry["path"])
                entry["wall_s"], entry["cpu_s"] = old.get("wall_s"), old.get("cpu_s")
        self.saved_at = 0.0
        self.save(force=True)

    def succeeded(self, task: Task, summary: dict[str, Any]) -> None:
        self.ran.append(summary)
        self.entries[task.task_id].update(status="done", rows=summary["rows"], wall_s=summary["wall_s"],
                                          cpu_s=summary["cpu_s"])
        self.save()

    def failed(self, task: Task, exc: BaseException, tb: str) -> None:
        failure = TaskFailure(task.task_id, task.point, task.seed, dict(task.params),
                              f"{type(exc).__name__}: {exc}", tb)
        self.failures.append(failure)
        self.entries[task.task_id].update(status="failed", error=failure.error)
        self.doc["failures"].append(failure.to_json())
        self.save(force=True)

    def total_rows(self) -> int:
        return int(sum(e.get("rows") or 0 for e in self.doc["tasks"] if e["status"] == "done"))

    def finish(self, status: str, wall_s: float) -> None:
        for entry in self.doc["tasks"]:  # finished by a worker while this process stopped listening (Ctrl-C)
            if entry["status"] == "pending" and (self.out / entry["path"]).is_file():
                entry.update(status="done", rows=_file_rows(self.out / entry["path"]))
        self.doc["status"] = status
        self.doc["run"].update(finished_utc=_utc(), wall_s=wall_s, ran=len(self.ran), failed=len(self.failures))
        self.save(force=True)

    def save(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.saved_at >= SAVE_INTERVAL_S:
            self.doc["updated_utc"] = _utc()
            write_manifest(self.out, self.doc)
            self.saved_at = now


def _file_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.read_metadata(path).num_rows)


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class _Progress:
    """Tasks done / total, failures, rate and ETA on stderr: a rich bar on a terminal, lines otherwise."""

    def __init__(self, total: int, skipped: int, *, enabled: bool) -> None:
        self.total, self.skipped, self.enabled = total, skipped, enabled and total > 0
        self.done = 0
        self.bar = None
        self.t0 = time.perf_counter()
        self.printed_at = self.t0

    def __enter__(self) -> "_Progress":
        if not self.enabled:
            return self
        note = f" ({self.skipped} already done)" if self.skipped else ""
        print(f"leosim sweep: {self.total} task(s) to run{note}", file=sys.stderr)
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("tasks"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                                TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True))
            self.bar.__enter__()
            self.handle = self.bar.add_task("sweep", total=self.total, info="")
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def advance(self, *, failed: int) -> None:
        if not self.enabled:
            return
        self.done += 1
        elapsed = time.perf_counter() - self.t0
        rate = self.done / max(elapsed, 1e-9)
        info = f"{rate * 60:,.1f} tasks/min" + (f", {failed} failed" if failed else "")
        if self.bar is not None:
            self.bar.update(self.handle, completed=self.done, info=info)
        elif self.done == self.total or time.perf_counter() - self.printed_at >= PLAIN_PROGRESS_S:
            eta = (self.total - self.done) / rate
            print(f"tasks {self.done}/{self.total}, {info}, elapsed {elapsed:.0f} s, ETA {eta:.0f} s", file=sys.stderr)
            self.printed_at = time.perf_counter()
