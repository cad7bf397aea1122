"""Rates of a lane's decision over a block of a chunk's steps — in the replay's process or in a worker.

The replay closes a group of segments (:meth:`~simulator.engine.ratelog.RateLog.flush`) and needs its
rates only when the chunk's rows are written. :class:`BlockRates` computes them: the true statistical
CSI of the block's steps (000 eqs 1–6, the same link draws as every other part of the run), the
precoder CSI of the last refresh at or before each step, and the scheme's closed form
(:class:`~simulator.engine.rates.RateEvaluator`). Nothing it computes feeds back into events or
decisions, so it can run beside the event loop:

- :class:`LocalRates` evaluates at once, in the replay's process (``rate_workers=0``);
- :class:`WorkerRates` hands each block to one worker process (``rate_workers=1``, the default on a
  machine with two or more cores), while the event loop goes on deciding; the chunk's rows are
  collected in submission order at its end. The worker runs the same code on the same inputs, so
  the output is identical either way (``tests/test_replay.py``).
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import Future

import numpy as np

from ..cooperation.evaluate import RateModel
from ..cooperation.schemes import SchemeDecision
from ..radio.csi import LinkDraws, compute_statistical_csi
from ..radio.params import RadioParams
from .geometry import to_local
from .lifeline import replay_worker_pool
from .rates import RateEvaluator

__all__ = ["BlockRates", "LocalRates", "WorkerRates", "rate_backend"]


class BlockRates:
    """Rates of decisions over blocks of the current chunk's logging steps.

    Parameters
    ----------
    evaluator : RateEvaluator — the scenario's closed forms
    params : RadioParams
    draws : LinkDraws — per-link random draws of the whole catalogue (S_total, U)
    min_elevation_deg : float — elevation mask
    beam_target_m : ndarray, shape (3,), optional — spot-beam boresight target
    static_users : bool — users do not move (no user velocity in the Doppler)
    csi_period_ns : int — CSI refresh period; the precoders of a step use the last refresh
    """

    #: Results remembered by content (:meth:`rates`): enough for every lane of a replay between two
    #: flushes of the two lanes sharing a decision (a few MB at 100 users).
    RATES_HELD = 64

    def __init__(self, evaluator: RateEvaluator, params: RadioParams, draws: LinkDraws, min_elevation_deg: float,
                 beam_target_m: np.ndarray | None, static_users: bool, csi_period_ns: int) -> None:
        self.evaluator, self.params, self.draws = evaluator, params, draws
        self.min_elevation_deg, self.beam_target = float(min_elevation_deg), beam_target_m
        self.static_users, self.csi_period_ns = bool(static_users), int(csi_period_ns)
        self.geom: dict | None = None
        self._rates_memo: dict = {}
        self._block_memo: dict = {}

    def start_chunk(self, geom: dict) -> None:
        """Use the chunk geometry ``geom`` (step_ns, sat_index, sat_pos_m, sat_vel_m_s, user_pos_m,
        user_vel_m_s of :class:`~simulator.engine.geometry.ChunkGeometry`) from now on."""
        self.geom = geom
        self._rates_memo = {}
        self._block_memo = {}

    def csi(self, spos, svel, upos, uvel, sats: np.ndarray, *, with_steering: bool = True):
        """Statistical CSI (..., len(sats), U) of satellite and user states (000 eqs 1–6);
        ``with_steering=False`` for callers that read only β, κ or the geometry."""
        d = self.draws
        draws = LinkDraws(d.kappa_uniform[sats], d.kappa_normal[sats], d.shadow_normal[sats], d.los_uniform[sats])
        return compute_statistical_csi(spos, svel, upos, None if self.static_users else uvel, params=self.params,
                                       link_draws=draws, min_elevation_deg=self.min_elevation_deg,
                                       beam_target_m=self.beam_target, with_steering=with_steering)

    def rates(self, model: RateModel, d: SchemeDecision, sats: np.ndarray, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """SINR and SE (b − a, U) of decision ``d`` on the satellites ``sats`` over the chunk's steps
        a … b−1 (``d.power`` and ``d.mask`` either (S, U) or per step (b − a, S, U)).

        The last :data:`RATES_HELD` results are remembered by content: both RSAP policies of a scheme
        whose decision does not depend on the policy evaluate the same decision over the same steps
        (their groups end on the same grid, :class:`~simulator.engine.ratelog.RateLog`).
        """
        key = (model, a, b, sats.tobytes(), d.power.tobytes(), d.mask.tobytes(), d.serving.tobytes(),
               None if d.beam is None else d.beam.tobytes(), None if d.pilots is None else d.pilots.tobytes())
        if key in self._rates_memo:
            return self._rates_memo[key]
        g = self.geom
        steps = g["step_ns"][a:b]
        cols = to_local(sats, g["sat_index"])
        ok = cols >= 0
        # The precoder snapshot of each step is the CSI of the last refresh at or before it.
        period = self.csi_period_ns
        refresh = (steps // period) * period
        r0 = np.searchsorted(g["step_ns"], refresh[0])
        idx = np.arange(r0, b)
        # Lanes closed at the same event share the steps and, after a common reclustering, the
        # satellites: their CSI block is computed once (two entries: blocks can be large).
        block_key = (r0, b, sats[ok].tobytes())
        block = self._block_memo.get(block_key)
        if block is None:
            block = self.csi(g["sat_pos_m"][idx][:, cols[ok]], g["sat_vel_m_s"][idx][:, cols[ok]],
                             g["user_pos_m"][idx], g["user_vel_m_s"][idx], sats[ok])
            if len(self._block_memo) >= 2:
                self._block_memo.pop(next(iter(self._block_memo)))
            self._block_memo[block_key] = block
        true = block.steps(slice(a - r0, b - r0))
        prec = block.steps(np.searchsorted(g["step_ns"][idx], refresh))
        result = self.evaluator(model, true, prec, restrict(d, ok))
        if len(self._rates_memo) >= self.RATES_HELD:
            self._rates_memo.pop(next(iter(self._rates_memo)))
        self._rates_memo[key] = result
        return result


def restrict(d: SchemeDecision, keep: np.ndarray) -> SchemeDecision:
    """The decision on the satellites ``keep`` only (satellites missing from the chunk carry no power)."""
    if keep.all():
        return d
    old = np.flatnonzero(keep)
    remap = np.full(keep.shape[0], -1, np.int64)
    remap[old] = np.arange(old.size)
    serving = np.where(d.serving >= 0, remap[np.maximum(d.serving, 0)], -1)
    return SchemeDecision(power=d.power[..., keep, :], mask=d.mask[..., keep, :], serving=serving, beam=d.beam,
                          pilots=d.pilots, status=d.status, reason=d.reason)


class LocalRates:
    """Evaluates each block at once in this process; ``submit`` returns a finished future."""

    def __init__(self, block: BlockRates) -> None:
        self.block = block

    def start_chunk(self, geom: dict) -> None:
        self.block.start_chunk(geom)

    def submit(self, model: RateModel, d: SchemeDecision, sats: np.ndarray, a: int, b: int) -> Future:
        future: Future = Future()
        future.set_result(self.block.rates(model, d, sats, a, b))
        return future

    def close(self) -> None:
        pass


# -- the worker process: one BlockRates, fed in submission order ----------------------------------
#: Niceness added to the worker: its results are needed only at the chunk's end, so it yields the
#: cores to the event loop and the decision threads when they are busy.
WORKER_NICENESS = 10
_WORKER: BlockRates | None = None


def _worker_init(block: BlockRates) -> None:
    global _WORKER
    if hasattr(os, "nice"):  # POSIX
        os.nice(WORKER_NICENESS)
    _WORKER = block


def _worker_start_chunk(geom: dict) -> None:
    _WORKER.start_chunk(geom)


def _worker_rates(tasks: list[tuple]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [_WORKER.rates(*task) for task in tasks]


class _Handle:
    """The result of one block evaluated in a batch: ``result()`` like a future's."""

    def __init__(self, owner: WorkerRates, batch: list, index: int) -> None:
        self._owner, self._batch, self._index = owner, batch, index

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        return self._owner._result(self._batch, self._index)

    def done(self) -> bool:
        """The batch has been sent and evaluated (``result()`` will not wait)."""
        entry = self._owner._futures.get(id(self._batch))
        return entry is not None and entry[0] is self._batch and entry[1].done()


class WorkerRates:
    """Evaluates blocks in one worker process (``spawn``ed, so no state is inherited), in order.

    Blocks are sent in batches of BATCH (one pickle and one queue round trip each: sent one by one,
    the hand-over cost ~1 ms per block, as much as the evaluation). At most AHEAD batches wait
    unevaluated: when the worker falls behind (many users: the rates cost more than the events),
    sending one more waits for the oldest, so the event loop, its progress line and ETA, and the
    memory held by queued blocks keep pace with the rates instead of running a chunk ahead and
    waiting at its end."""

    BATCH = 32
    AHEAD = 4

    def __init__(self, block: BlockRates) -> None:
        self._pool = replay_worker_pool(1, _worker_init, (block,))
        self._tasks: list[tuple] = []
        self._futures: dict[int, tuple[list, Future]] = {}  # id(batch) -> (batch, its future)

    def start_chunk(self, geom: dict) -> None:
        self._send()
        self._pool.submit(_worker_start_chunk, geom)

    def submit(self, model: RateModel, d: SchemeDecision, sats: np.ndarray, a: int, b: int) -> _Handle:
        lean = dataclasses.replace(d, solver=None, reason="")  # only what the rates read crosses over
        batch = self._tasks
        batch.append((model, lean, sats, a, b))
        handle = _Handle(self, batch, len(batch) - 1)
        if len(batch) >= self.BATCH:
            self._send()
        return handle

    def _send(self) -> None:
        if self._tasks:
            waiting = [future for _, future in self._futures.values() if not future.done()]
            if len(waiting) >= self.AHEAD:
                waiting[-self.AHEAD].result()  # back-pressure (class docstring); results are read later
            self._futures[id(self._tasks)] = (self._tasks, self._pool.submit(_worker_rates, self._tasks))
            self._tasks = []

    def _result(self, batch: list, index: int) -> tuple[np.ndarray, np.ndarray]:
        if batch is self._tasks:
            self._send()
        _, future = self._futures[id(batch)]
        out = future.result()[index]
        if index == len(batch) - 1:
            del self._futures[id(batch)]  # results are read in order: the batch is done
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def rate_backend(block: BlockRates, workers: int) -> LocalRates | WorkerRates:
    """:class:`LocalRates` for ``workers == 0``, :class:`WorkerRates` for 1."""
    if workers not in (0, 1):
        raise ValueError(f"rate_workers={workers!r}: 0 (in the replay's process) or 1 (one worker process)")
    return LocalRates(block) if workers == 0 else WorkerRates(block)
