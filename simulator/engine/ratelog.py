"""The rate log: every logging step of every lane, under the decision in force, as ``rates`` rows.

When a lane's decision changes, the steps since its last change close a *segment*
(:class:`~simulator.engine.lanes.Segment`). Consecutive segments on the same satellites, serving
satellites, beams and pilots are evaluated together in one vectorised call (a *group*), with per-step
power weights where a local repair changed them and the scheme's rate model accepts them. Groups go
to the rate backend (in this process or a worker, :mod:`simulator.engine.blockrates`); their rows
are appended in the order the groups were closed, as their results come in and at the chunk's end.
A group ends at the latest at a multiple of ``max_group_steps`` steps from the chunk's start, so the
lanes that share a decision close identical groups and the backend evaluates each once.
Sets of serving satellites come every second or two in a large constellation, so most segments are
one or two steps long.
"""

from __future__ import annotations

import numpy as np

from ..constants import NS_PER_S

from ..cooperation.schemes import SchemeDecision
from ..units import lin_to_db
from .geometry import ChunkGeometry
from .lanes import Lane, Segment

__all__ = ["RateLog"]


class RateLog:
    """Segments, groups and ``rates`` rows of the current chunk.

    Parameters (keyword-only)
    ----------
    backend : LocalRates or WorkerRates — evaluates a group (``submit``) and returns a future
    evaluator : RateEvaluator — tells which rate models take per-step weights
    recorder : Recorder
    epoch_ns : int — scenario epoch, ns since 1970 UTC
    sat_ids : ndarray, shape (S_total,), int64 — NORAD number of each catalogue index
    n_user : int
    max_group_steps : int — groups end at the latest at the chunk's steps k · max_group_steps
    rates_held : int — closed groups after which the ready ones are written
    """

    def __init__(self, *, backend, evaluator, recorder, epoch_ns: int, sat_ids: np.ndarray, n_user: int,
                 max_group_steps: int, rates_held: int) -> None:
        self.backend, self.evaluator, self.recorder = backend, evaluator, recorder
        self.epoch, self.sat_ids, self.n_user = int(epoch_ns), sat_ids, n_user
        self.max_group_steps, self.rates_held = int(max_group_steps), int(rates_held)
        self.geom: ChunkGeometry | None = None
        self._out: list = []  # (future, columns) of the chunk's rates rows, in order

    def start_chunk(self, g: ChunkGeometry) -> None:
        self.geom = g
        self._out = []
        self.backend.start_chunk(dict(step_ns=g.step_ns, sat_index=g.sat_index, sat_pos_m=g.sat_pos_m,
                                      sat_vel_m_s=g.sat_vel_m_s, user_pos_m=g.user_pos_m,
                                      user_vel_m_s=g.user_vel_m_s))

    def flush(self, lane: Lane, t_end: int) -> None:
        """Log the steps in [lane.logged_until_ns, t_end) of the current chunk under the lane's decision.

        The steps become a :class:`Segment`; it is evaluated with the lane's previous segments when
        the two cannot share one call (:meth:`joins`), when ``max_group_steps`` are pending, or at the
        end of the chunk (:meth:`close_chunk`).
        """
        g = self.geom
        a = np.searchsorted(g.step_ns, lane.logged_until_ns)
        b = np.searchsorted(g.step_ns, t_end)
        lane.logged_until_ns = max(lane.logged_until_ns, t_end)
        if b <= a:
            return
        rsap, n_serving = lane.rsap.copy(), lane.serving_count()
        decided = None if lane.decision is None else lane.decided_ns
        m = self.max_group_steps
        while a < b:
            # Groups end at the latest at the chunk's step multiples of max_group_steps: lanes that
            # share a decision (the two RSAP policies of a cluster-mode scheme) then close the same
            # groups, whose rates the backend evaluates once (BlockRates remembers them by content).
            cut = min(int(b), (int(a) // m + 1) * m)
            seg = Segment(int(a), cut, lane.decision, lane.sats, rsap, n_serving, decided)
            if lane.segments and not self.joins(lane, lane.segments[-1], seg):
                self.evaluate(lane)
            lane.segments.append(seg)
            if cut % m == 0:
                self.evaluate(lane)
            a = cut

    def joins(self, lane: Lane, prev: Segment, seg: Segment) -> bool:
        """Whether ``seg`` can be evaluated in one call with ``prev``: the same satellites, serving
        satellites, beams and pilots, and either the same weights or a scheme that takes per-step
        weights (its precoders do not depend on them)."""
        p, d = prev.decision, seg.decision
        if p is None or d is None or not len(prev.sats) or not len(seg.sats):
            return (p is None or not len(prev.sats)) and (d is None or not len(seg.sats))
        if p is d:
            return True
        if not (np.array_equal(prev.sats, seg.sats) and np.array_equal(p.serving, d.serving)
                and _same(p.beam, d.beam) and _same(p.pilots, d.pilots)):
            return False
        return self.evaluator.accepts_per_step(lane.spec.rates) or (
            np.array_equal(p.power, d.power) and np.array_equal(p.mask, d.mask))

    def evaluate(self, lane: Lane) -> None:
        """Rates of the lane's pending segments in one call (handed to the rate backend; the rows are
        appended in this order, :meth:`write`)."""
        segs, lane.segments = lane.segments, []
        if not segs:
            return
        g = self.geom
        a, b = segs[0].a, segs[-1].b
        counts = np.array([seg.b - seg.a for seg in segs])
        steps = g.step_ns[a:b]
        first = segs[0].decision
        if first is not None and len(segs[0].sats):
            d = first
            if any(seg.decision is not first for seg in segs[1:]):
                power = np.stack([seg.decision.power for seg in segs])
                mask = np.stack([seg.decision.mask for seg in segs])
                if (power != power[0]).any() or (mask != mask[0]).any():
                    d = SchemeDecision(power=np.repeat(power, counts, axis=0), mask=np.repeat(mask, counts, axis=0),
                                       serving=first.serving, beam=first.beam, pilots=first.pilots)
            rates = self.backend.submit(lane.spec.rates, d, segs[0].sats, a, b)
        else:
            rates = None
        rsap = np.repeat(np.stack([seg.rsap for seg in segs]), counts, axis=0)
        n_serving = np.repeat(np.stack([seg.n_serving for seg in segs]), counts, axis=0)
        rsap_ids = np.ma.masked_array(np.where(rsap >= 0, self.sat_ids[np.maximum(rsap, 0)], 0), mask=rsap < 0)
        decided = np.repeat([-1 if seg.decided_ns is None else seg.decided_ns for seg in segs], counts)
        age = np.ma.masked_array(np.maximum(steps - decided, 0) / NS_PER_S, mask=decided < 0)[:, None]
        self._out.append((rates, dict(time=self.epoch + steps[:, None], scheme=lane.name,
                                      rsap_policy=lane.policy, user_id=np.arange(self.n_user)[None, :],
                                      n_serving=n_serving, rsap_sat=rsap_ids, decision_age_s=age)))
        if len(self._out) >= self.rates_held:
            self.write(wait=False)

    def close_chunk(self, lanes: list[Lane], t_end: int) -> None:
        """Log every lane up to ``t_end``, evaluate what is pending and write every row."""
        for lane in lanes:
            self.flush(lane, t_end)
            self.evaluate(lane)
        self.write()

    def write(self, *, wait: bool = True) -> None:
        """Append rates rows in the order their groups were closed: all of them (``wait``, at the
        chunk's end), or those at the head of the queue whose rates are ready (as the chunk goes, so
        that neither results nor rows pile up for a whole chunk)."""
        out = self._out
        n = 0
        for rates, columns in out:
            if not wait and rates is not None and not rates.done():
                break
            if rates is None:
                sinr = se = np.zeros(columns["n_serving"].shape)
            else:
                sinr, se = rates.result()
            self.recorder.append("rates", se_bps_hz=se, sinr_db=lin_to_db(sinr), **columns)
            n += 1
        del out[:n]


def _same(x: np.ndarray | None, y: np.ndarray | None) -> bool:
    return (x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y))
