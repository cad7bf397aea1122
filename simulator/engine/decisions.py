"""Where the decisions of a reclustering run: in this process, on threads, or in worker processes.

:class:`~simulator.engine.central.CentralNode` hands every decision of a reclustering (or of a
re-decision) to a decision pool at once and reads the results back in a fixed order, so the tables
do not depend on the pool (``tests/test_engine_decisions.py`` checks it row by row):

- :class:`InlineDecisions` decides at once, in the caller's thread (``decision_threads = 1``: one
  area per core on Dask stays in its process);
- :class:`ThreadDecisions` decides on threads; Clarabel and numpy's large linear algebra release the
  GIL, but the first-order solver's many small numpy operations do not, so two threads reach ~1.3
  cores at best;
- :class:`ProcessDecisions` decides in ``spawn``ed worker processes (single-threaded BLAS as set by
  the caller's environment, dying with the replay, see :mod:`~simulator.engine.lifeline`): two
  decisions really run on two cores. Each task carries its snapshot (pickled: ~1 ms per MB) and
  returns the decision with the entries it left in the decision cache, which the pool merges into
  the caller's cache when the result is read, so a scheme that ``reuses`` another one's solver run
  still finds it. Schemes added with :func:`~simulator.cooperation.schemes.register` at run time do
  not exist in a worker's registry: they are decided in this process.

:func:`decision_pool` picks one from :class:`~simulator.engine.settings.ReplayTuning`.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from ..cooperation.decision import DecideContext, SchemeDecision
from ..cooperation.families import FAMILIES
from ..cooperation.schemes import SCHEMES, decide
from .lifeline import replay_worker_pool

__all__ = ["DECISION_POOLS", "InlineDecisions", "ProcessDecisions", "ThreadDecisions", "decision_pool",
           "PROCESS_MIN_USERS"]

#: ``ReplayTuning.decision_pool`` values.
DECISION_POOLS = ("auto", "threads", "processes")

#: With ``decision_pool = "auto"``: worker processes from this many users on, threads below
#: (docs/commands/bench.md: at 10 users a decision takes ~0.1 s and the hand-over is not worth it).
PROCESS_MIN_USERS = 40


class _Done:
    """A finished result with the interface of a future (``result()``)."""

    def __init__(self, value: SchemeDecision) -> None:
        self._value = value

    def result(self) -> SchemeDecision:
        return self._value


class InlineDecisions:
    """Decides each submission at once, in the caller's thread.

    Every pool has :meth:`inline` (what a scheme that reads another's cache entries uses) and
    ``submit(name, csi, rsap, prev, cache)``, whose result has ``result()``; ``close()`` ends it.
    """

    def __init__(self, ctx: DecideContext) -> None:
        self.ctx = ctx

    def inline(self, name: str, csi, rsap, prev: SchemeDecision | None, cache: dict | None = None) -> _Done:
        """:func:`~simulator.cooperation.schemes.decide` at once, in the caller's thread."""
        return _Done(decide(name, csi, self.ctx, rsap, prev, cache))

    submit = inline

    def close(self) -> None:
        pass


class ThreadDecisions(InlineDecisions):
    """Decides on ``threads`` threads; the submissions share the caller's ``cache`` dict."""

    def __init__(self, ctx: DecideContext, threads: int) -> None:
        super().__init__(ctx)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="leosim-decide")

    def submit(self, name: str, csi, rsap, prev: SchemeDecision | None, cache: dict | None = None) -> Future:
        return self._pool.submit(decide, name, csi, self.ctx, rsap, prev, cache)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# -- worker processes -----------------------------------------------------------------------------
_CTX: DecideContext | None = None
#: Schemes whose descriptor is the one the families define: a spawned worker has the same.
_BUILT_IN = {scheme.name: scheme for family in FAMILIES for scheme in family.SCHEMES}


def _worker_init(ctx: DecideContext) -> None:
    global _CTX
    _CTX = ctx


def _worker_decide(name: str, csi, rsap, prev: SchemeDecision | None) -> tuple[SchemeDecision, dict]:
    cache: dict = {}
    return decide(name, csi, _CTX, rsap, prev, cache), cache


class _Merged:
    """A worker's decision; reading it merges the cache entries it returned into ``cache``."""

    def __init__(self, future: Future, cache: dict | None) -> None:
        self._future, self._cache = future, cache

    def result(self) -> SchemeDecision:
        decision, entries = self._future.result()
        if self._cache is not None:
            self._cache.update(entries)
        return decision


class ProcessDecisions(InlineDecisions):
    """Decides in ``workers`` spawned worker processes, each holding ``ctx``."""

    def __init__(self, ctx: DecideContext, workers: int) -> None:
        super().__init__(ctx)
        self._pool = replay_worker_pool(workers, _worker_init, (ctx,))

    def submit(self, name: str, csi, rsap, prev: SchemeDecision | None, cache: dict | None = None):
        if SCHEMES.get(name) is not _BUILT_IN.get(name):  # registered at run time: unknown to the workers
            return self.inline(name, csi, rsap, prev, cache)
        return _Merged(self._pool.submit(_worker_decide, name, csi, rsap, prev), cache)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def decision_pool(ctx: DecideContext, threads: int, kind: str, n_user: int):
    """The pool deciding a replay's schemes: ``threads`` decisions at once (1: in the caller's
    thread, whatever ``kind``), on threads or in worker processes (``kind``: one of
    :data:`DECISION_POOLS`; ``"auto"``: processes from :data:`PROCESS_MIN_USERS` users on)."""
    if kind not in DECISION_POOLS:
        raise ValueError(f"decision_pool={kind!r}: one of {', '.join(DECISION_POOLS)}")
    if threads == 1:
        return InlineDecisions(ctx)
    if kind == "processes" or (kind == "auto" and n_user >= PROCESS_MIN_USERS):
        return ProcessDecisions(ctx, threads)
    return ThreadDecisions(ctx, threads)
