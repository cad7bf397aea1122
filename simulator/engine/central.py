"""The central node of a replay: decisions, RSAP handovers and local repairs of every lane.

It holds the lanes (one per scheme and RSAP policy) and what carries between events: the satellites
visible to some user, the last reclustering and the one requested. Decisions are taken on the
decision threads, recorded and applied in a fixed order (so the tables are the same run to run),
after the backhaul delay; the SimPy processes (:mod:`simulator.engine.replay`) only tell it when.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace

import numpy as np

from ..constants import NS_PER_S
from ..cooperation.repair import repair
from ..cooperation.rsap import prefer_lasting
from ..cooperation.schemes import DecideContext, SchemeDecision, reused_names
from .decisions import decision_pool
from .geometry import to_local
from .instant import InstantView
from .lanes import Lane, PendingDecision, carry_decision, remap_rsap_state
from .memory import release_free_memory
from .ratelog import RateLog
from .records import RowWriter
from .rsapstep import step_rsaps
from .settings import ReplaySettings

__all__ = ["CentralNode", "ordered_for_sharing", "SNAPSHOT_AT"]

#: Where in its horizon a decision's geometry is predicted for, as a fraction of the horizon
#: (docs/design.md "Decisions for their lifetime": 0, 0.25, 0.5, 0.75 and 1 measured, 0.75 kept).
SNAPSHOT_AT = 0.75


class CentralNode:
    """Decisions of every lane at reclusterings, RSAP changes and sets (keyword-only constructor).

    ``view`` answers geometry questions at an instant, ``log`` logs rates under the decision in
    force (it must see every change first), ``rows`` writes handovers, clusters and decisions;
    ``wake()`` tells the central-node process that a decision or reclustering is due.
    """

    def __init__(self, *, lanes: list[Lane], settings: ReplaySettings, ctx: DecideContext, view: InstantView,
                 log: RateLog, rows: RowWriter) -> None:
        self.lanes, self.s, self.ctx = lanes, settings, ctx
        self.view, self.log, self.rows = view, log, rows
        self.wake: Callable[[], None] = lambda: None
        self._pool = decision_pool(ctx, settings.tuning.decision_threads, settings.tuning.decision_pool,
                                   view.n_user)
        self.vis_sats = np.zeros(0, np.int64)
        self.last_recluster_ns: int | None = None
        self.recluster_due_ns: int | None = None
        self.reclusterings = 0

    STATE = ("lanes", "vis_sats", "last_recluster_ns", "recluster_due_ns", "reclusterings")

    def close(self) -> None:
        self._pool.close()

    # ----------------------------------------------------------------- visibility
    def update_visible(self, t: int) -> None:
        """Track the satellites up for some user at ``t``; RSAP timers follow the new axis."""
        new = self.view.visible(t)
        if not np.array_equal(new, self.vis_sats):
            for lane in self.lanes:
                lane.rsap_state = remap_rsap_state(lane.rsap_state, self.vis_sats, new, lane.rsap)
            self.vis_sats = new

    def request_recluster(self, t: int) -> None:
        """A reclustering at ``t``, or as soon as ``min_recluster_interval`` allows (``t`` may be a
        future instant: make-before-break asks for one ahead of a set)."""
        last = self.last_recluster_ns
        due = t if last is None else max(t, last + self.s.min_recluster_interval_ns)
        if self.recluster_due_ns is None or due < self.recluster_due_ns:
            self.recluster_due_ns = due
        self.wake()

    # ----------------------------------------------------------------- decisions
    def candidates(self, t: int):
        """Satellites up for some user at ``t`` — each user's ``max_candidate_sats`` strongest, plus
        every lane's RSAP — and their statistical CSI at ``t`` (None when there are none)."""
        vis = self.vis_sats
        if not len(vis):
            return vis, None
        csi = self.view.csi_at(t, vis)
        score = np.where(self.view.up_links(t, vis), csi.beta, 0.0)
        n = min(self.s.max_candidate_sats, len(vis))
        top = np.argsort(-score, axis=0, kind="stable")[:n]
        keep = np.zeros(len(vis), bool)
        keep[np.unique(top[np.take_along_axis(score, top, 0) > 0])] = True
        rsaps = np.concatenate([lane.rsap for lane in self.lanes])
        keep |= np.isin(vis, rsaps[rsaps >= 0])
        return (vis[keep], csi.satellites(keep)) if keep.any() else (vis[keep], None)

    def for_decision(self, t: int, sats: np.ndarray, csi):
        """The snapshot a decision taken at ``t`` sees (``csi``: the candidates' CSI at ``t``).

        With make-before-break the decision is made for the interval it will be in force, not for
        its first instant (docs/design.md "Decisions for their lifetime"): links that set within the
        horizon are not allowed where the user has a lasting link (``visible`` False, from
        :func:`~simulator.cooperation.rsap.prefer_lasting`); β, κ, angles and steering are those
        predicted from the ephemeris for ``t + SNAPSHOT_AT · horizon``, except on the links up at
        ``t`` and gone by then, which keep the CSI of ``t`` (they interfere until they set), and for
        the users kept on such a link (all their links keep the CSI of ``t``). Without
        make-before-break: ``csi`` itself (the papers' snapshot at the decision instant).
        """
        if not self.s.horizon_ns:
            return csi
        lasting = prefer_lasting(csi.visible, self.view.service_time_s(t, sats), self.s.horizon_ns / NS_PER_S)
        ahead = self.view.csi_at(t + int(round(self.s.horizon_ns * SNAPSHOT_AT)), sats)
        gone = csi.visible & ~ahead.visible  # (L, U) up at t, set by then
        now = gone | (lasting & gone).any(axis=0)[None, :]  # (L, U) links that keep the CSI of t
        if now.any():
            mixed = {}
            for f in fields(ahead):
                a, b = getattr(ahead, f.name), getattr(csi, f.name)
                mixed[f.name] = np.where(now if a.ndim == 2 else now[..., None], b, a)
            ahead = replace(ahead, **mixed)
        return replace(ahead, visible=lasting)

    def recluster(self, t: int, trigger: str) -> None:
        """Every lane decides anew on one candidate snapshot."""
        self.last_recluster_ns = t
        self.reclusterings += 1
        if self.reclusterings % self.s.tuning.trim_every_reclusterings == 0:
            release_free_memory()
        # Serving-mode decisions are built around the RSAP: choose it first, so that the candidate
        # search (which keeps every lane's RSAP) includes it.
        self.step_rsaps([lane for lane in self.lanes if lane.spec.rsap_mode == "serving"], t)
        cand, csi = self.candidates(t)
        if csi is None:
            for lane in self.lanes:
                self.schedule(lane, t, cand, None, None, trigger)
            return
        # Decisions are pure functions of the snapshot and the lane's own state, so every decision of
        # the reclustering runs at once on the decision threads (Clarabel and numpy's linear algebra
        # release the GIL); they are recorded and applied in a fixed order, so the tables are the same
        # as in sequence. Cluster-mode schemes decide once for both policies; a scheme that reuses
        # another's solver run (Scheme.reuses) is decided after it, here, with the same cache.
        cache: dict = {}
        seen = self.for_decision(t, cand, csi)
        lanes = ordered_for_sharing(self.lanes)
        jobs: dict = {}
        # The decisions others reuse (the slowest) are submitted first, so that one thread works on
        # them while the other takes the rest (submitted last, they would start half-way through).
        reused = reused_names()
        for lane in sorted(lanes, key=lambda lane: lane.name not in reused):
            key = _decision_key(lane)
            if key not in jobs and lane.spec.reuses is None:
                jobs[key] = self._pool.submit(lane.name, seen, to_local(lane.rsap, cand),
                                              carry_decision(lane.decision, lane.sats, cand), cache)
        decided: dict = {}
        for lane in lanes:
            key = _decision_key(lane)
            if key not in decided:
                if key not in jobs:  # reuses a run read above: decided here, with the cache it left
                    jobs[key] = self._pool.inline(lane.name, seen, to_local(lane.rsap, cand),
                                                  carry_decision(lane.decision, lane.sats, cand), cache)
                decided[key] = jobs[key].result()
                self.rows.decision(t, lane.name, trigger, decided[key])
            self.schedule(lane, t, cand, decided[key], csi, trigger)

    def redecide(self, lanes: list[Lane], t: int, trigger: str) -> None:
        """Immediate re-decision of serving-mode lanes whose serving satellite changed at ``t``.

        Called once per instant after every lane's RSAP has been stepped, so all of them decide on
        one candidate set (which keeps every lane's RSAP) at once, on the decision threads.
        """
        if not lanes:
            return
        cand, csi = self.candidates(t)
        if csi is None:
            for lane in lanes:
                self.schedule(lane, t, cand, None, None, trigger)
            return
        seen = self.for_decision(t, cand, csi)
        jobs = [self._pool.submit(lane.name, seen, to_local(lane.rsap, cand),
                                  carry_decision(lane.decision, lane.sats, cand)) for lane in lanes]
        for lane, job in zip(lanes, jobs):
            decision = job.result()
            self.rows.decision(t, lane.name, trigger, decision)
            self.schedule(lane, t, cand, decision, csi, trigger)

    def schedule(self, lane: Lane, t: int, sats, decision, csi, trigger: str) -> None:
        """Apply ``decision`` now, or after the backhaul delay."""
        if self.s.backhaul_delay_ns == 0:
            self.apply(lane, t, sats, decision, csi, trigger)
        else:
            lane.pending.append(PendingDecision(t + self.s.backhaul_delay_ns, t, sats, decision, csi, trigger))
            self.wake()

    def apply(self, lane: Lane, t: int, sats, decision: SchemeDecision | None, csi, trigger: str,
              taken_ns: int | None = None) -> None:
        """Make ``decision`` (taken at ``taken_ns``, default ``t``) the one in force from ``t`` on;
        record clusters and handovers."""
        self.log.flush(lane, t)
        old = lane.links()
        if decision is not None and len(sats):
            up = self.view.up_links(t, sats)  # links that set while the decision travelled are dropped
            if not up.all():
                decision = _drop_links(decision, up)
        lane.sats, lane.decision, lane.csi = np.asarray(sats, np.int64), decision, csi
        lane.decided_ns = t if taken_ns is None else taken_ns
        why: np.ndarray | str = trigger
        if lane.spec.rsap_mode == "serving" and decision is not None:
            lane.rsap = np.where(decision.serving >= 0, lane.sats[np.maximum(decision.serving, 0)], -1)
        else:
            why = self.step_rsaps([lane], t, record=False)[0][1]
        self.rows.handovers(lane, t, old, trigger, rsap_reason=why)
        self.rows.clusters(lane, t)
        self.plan_ahead(lane, t)

    def plan_ahead(self, lane: Lane, t: int) -> None:
        """Make-before-break: ask for a reclustering whose decision takes effect one logging step
        before the first set of a link the lane serves (instead of repairing after it)."""
        if not self.s.make_before_break or lane.decision is None or not lane.decision.mask.any():
            return
        service = self.view.service_time_s(t, lane.sats)[lane.decision.mask]
        service = service[service > 0]
        if not service.size:
            return
        due = t + int(round(float(service.min()) * NS_PER_S)) - self.s.backhaul_delay_ns - self.s.step_ns
        if due > t:
            self.request_recluster(due)

    # ----------------------------------------------------------------- RSAP
    def step_rsaps(self, lanes: list[Lane], t: int, *, record: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
        """:func:`~simulator.engine.rsapstep.step_rsaps` on the visible satellites; with ``record``,
        each RSAP change is logged and written as ``rsap`` handovers."""
        return step_rsaps(lanes, t, self.vis_sats, self.view, hysteresis_db=self.s.hysteresis_db,
                          time_to_trigger_s=self.s.time_to_trigger_s, horizon_s=self.s.horizon_ns / NS_PER_S,
                          on_change=self._rsap_changed if record else None)

    def _rsap_changed(self, lane: Lane, t: int, new: np.ndarray, why: np.ndarray) -> None:
        self.log.flush(lane, t)
        old = lane.links()
        lane.rsap = new
        self.rows.handovers(lane, t, old, "rsap", masks_changed=False, rsap_reason=why)

    def rsap_tick(self, t: int) -> None:
        """The RSAP rule at a CSI refresh; serving-mode lanes whose RSAP changed decide again."""
        again = [lane for lane, (changed, _) in zip(self.lanes, self.step_rsaps(self.lanes, t))
                 if changed.size and lane.spec.rsap_mode == "serving" and lane.decision is not None]
        self.redecide(again, t, "rsap")

    # ----------------------------------------------------------------- sets: local repair
    def handle_sets(self, t: int, sats: np.ndarray, users: np.ndarray) -> None:
        """Satellites ``sats`` set for ``users`` at ``t``: repair the lanes they served, or decide again."""
        self.rows.note_sets(t, sats, users)
        again = []
        for lane in self.lanes:
            if lane.decision is None:
                continue
            local = to_local(sats, lane.sats)
            serving = local >= 0
            hit = serving & (lane.decision.mask[np.maximum(local, 0), users] | (lane.rsap[users] == sats))
            if not hit.any():
                continue
            rsap_lost = bool((lane.rsap[users] == sats).any())
            if lane.spec.rsap_mode == "serving" and (rsap_lost or lane.spec.single_serving):
                # The decision is built around the RSAP: hand it over and decide again at once.
                again.append(lane)
            else:
                self.repair(lane, t)  # drop the link, keep the rest (UC/FC: the RSAP is still up)
            self.request_recluster(t)
        self.step_rsaps(again, t)
        self.redecide(again, t, "set")

    def repair(self, lane: Lane, t: int) -> None:
        up = self.view.up_links(t, lane.sats)
        d = lane.decision
        gain = np.where(up, lane.csi.beta, 0.0)
        result = repair(d.power, d.mask, to_local(lane.rsap, lane.sats), up, gain,
                        self.view.service_time_s(t, lane.sats), k_max=self.ctx.k_max, policy=lane.policy)
        new = SchemeDecision(power=result.power, mask=result.mask, serving=d.serving, beam=d.beam, pilots=d.pilots,
                             status="repair", reason=_repair_reason(result.reason), solver=d.solver)
        self.log.flush(lane, t)
        old = lane.links()
        lane.decision = new
        lane.rsap = np.where(result.rsap >= 0, lane.sats[np.maximum(result.rsap, 0)], -1)
        lane.rsap_state = lane.rsap_state.with_rsap(to_local(lane.rsap, self.vis_sats)) if lane.rsap_state else None
        self.rows.handovers(lane, t, old, "repair", rsap_reason=result.reason)
        self.rows.clusters(lane, t)
        self.plan_ahead(lane, t)


def ordered_for_sharing(lanes: list[Lane]) -> list[Lane]:
    """Lanes in the order a reclustering applies them: every other scheme first, then the schemes
    whose solver run another one reuses (``Scheme.reuses``; the slowest decisions), then the schemes
    that reuse them. The order is fixed, so the tables are the same run to run."""
    reused = reused_names()

    def rank(lane: Lane) -> int:
        return 2 if lane.spec.reuses is not None else int(lane.name in reused)

    return sorted(lanes, key=rank)


def _decision_key(lane: Lane) -> str | tuple[str, str]:
    """Cluster-mode schemes take one decision per reclustering for both policies; serving-mode
    schemes decide per lane, around the lane's RSAP."""
    return (lane.name, lane.policy) if lane.spec.decides_per_policy else lane.name


def _repair_reason(reasons: np.ndarray) -> str:
    """The distinct per-user reasons of a repair other than ``ok`` (e.g. "links_dropped, rescued")."""
    return ", ".join(sorted(set(reasons.tolist()) - {"ok"}))


def _drop_links(d: SchemeDecision, up: np.ndarray) -> SchemeDecision:
    mask = d.mask & up
    serving = np.where((d.serving >= 0) & up[np.maximum(d.serving, 0), np.arange(up.shape[1])], d.serving, -1)
    return SchemeDecision(power=np.where(mask, d.power, 0.0), mask=mask, serving=serving, beam=d.beam,
                          pilots=d.pilots, status=d.status, reason=d.reason, inner_iters=d.inner_iters,
                          outer_iters=d.outer_iters, solve_s=d.solve_s, min_sinr=d.min_sinr, solver=d.solver)
