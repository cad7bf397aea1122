"""The discrete-event replay: SimPy processes that wire orbits, radio and cooperation together.

Simulated time is an integer nanosecond count since the scenario epoch. The run is cut into output
chunks; each chunk is replayed in a fresh :class:`simpy.Environment` rebuilt from plain state
(:class:`~simulator.engine.lanes.Lane` objects and a few instants), so a run resumed from a
checkpoint replays exactly the events, in exactly the order, of an uninterrupted run.

Processes of a chunk (DESIGN.md "Event model"):

- **visibility** — rise and set of satellite *l* for user *k* at their exact instants (from the
  orbit layer's root-found passes). A set of a serving satellite triggers a local repair of the
  lanes it served (or an immediate re-decision for single-serving schemes); a rise requests a
  reclustering.
- **CSI refresh** — every ``csi_period_s`` on the step grid: precoders are rebuilt from the
  statistical CSI of that instant (used for every step until the next refresh), and the RSAP rule
  (hysteresis, time-to-trigger) is evaluated.
- **central node** — reclustering on request, debounced by ``min_recluster_interval_s``, plus an
  optional period; decisions take effect ``backhaul_delay_s`` after they are taken.
- **logging** — rates at every step under the decision in force, on the true geometry. Each
  decision change closes a *segment* of steps; consecutive segments on the same satellites, serving
  satellites, beams and pilots are evaluated together in one vectorised call, with per-step power
  weights where a local repair changed them (:meth:`Replay._flush`). Sets of serving satellites
  come every second or two in a large constellation, so most segments are one or two steps long.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import simpy

from ..constants import NS_PER_S
from ..cooperation.repair import repair
from ..cooperation.rsap import RsapState, rsap_step
from ..cooperation.schemes import DecideContext, SchemeDecision, decide
from ..orbits.catalog import Catalog
from ..orbits.propagate import builtin_timescale, propagate_ecef
from ..radio.csi import LinkDraws, draw_link_variates
from ..radio.params import RadioParams
from ..timebase import ns_since_epoch_to_jd
from ..units import lin_to_db
from .geometry import (
    RISE,
    SET,
    ChunkGeometry,
    chunk_geometry,
    max_pass_duration_s,
    to_local,
)
from .lanes import Lane, PendingDecision, Segment, carry_decision, remap_rsap_state
from .rates import RateEvaluator
from .blockrates import BlockRates, rate_backend
from .records import RecordsMixin, RowBuffer

__all__ = ["ReplaySettings", "Replay"]


@dataclass(frozen=True)
class ReplaySettings:
    """Event parameters of a replay, in integer nanoseconds where they are instants or periods."""

    duration_ns: int
    step_ns: int
    chunk_ns: int
    csi_period_ns: int
    min_recluster_interval_ns: int
    recluster_period_ns: int | None
    backhaul_delay_ns: int
    min_elevation_deg: float
    hysteresis_db: float
    time_to_trigger_s: float
    k_max: int
    max_candidate_sats: int
    record_csi: bool = False


class Replay(RecordsMixin):
    """One replay: geometry, lanes and the recorder; :meth:`run_chunk` advances one output chunk."""

    def __init__(self, settings: ReplaySettings, catalog: Catalog, user_positions: Callable, n_user: int,
                 static_users: bool, params: RadioParams, ctx: DecideContext, evaluator: RateEvaluator,
                 schemes: list[str], policies: list[str], seed: int, epoch_utc_ns: int, recorder,
                 beam_target_m: np.ndarray | None = None, rate_workers: int = 0) -> None:
        self.s = settings
        self.catalog = catalog
        self.sat_ids = np.asarray(catalog.sat_ids, dtype=np.int64)
        self.n_sat = len(catalog)
        self.n_user = n_user
        self.user_positions = user_positions
        self.static_users = static_users
        self.ctx = ctx
        self.evaluator = evaluator
        self.epoch = int(epoch_utc_ns)
        self.recorder = recorder
        self.ts = builtin_timescale()
        # Common random numbers: one draw per (satellite, user) link for the whole run.
        draws: LinkDraws = draw_link_variates(np.random.default_rng(seed), (self.n_sat, n_user))
        self.block = BlockRates(evaluator, params, draws, settings.min_elevation_deg, beam_target_m,
                                static_users, settings.csi_period_ns)
        self.rates = rate_backend(self.block, rate_workers)  # close() when the run ends
        self._rates_out: list = []  # (future, columns) of the chunk's rates rows, in order
        self._decide_pool = ThreadPoolExecutor(max_workers=DECISION_THREADS, thread_name_prefix="leosim-decide")
        self.lookahead_s = max_pass_duration_s(catalog, settings.min_elevation_deg) if len(catalog) else 0.0
        self.lanes = [Lane(name, policy, n_user) for name in schemes for policy in policies]
        # Central-node state (checkpointed with the lanes).
        self.vis_sats = np.zeros(0, np.int64)
        self.last_recluster_ns: int | None = None
        self.recluster_due_ns: int | None = None
        self.events_processed = 0
        self.reclusterings = 0
        self.geom: ChunkGeometry | None = None
        self._wake: simpy.Event | None = None
        self._memo: dict = {}  # per-instant values shared by all lanes; cleared when time moves on
        self._gain_held: tuple | None = None  # (block, satellites, β) of Replay._gain_block
        self._pending_clusters: dict = {}  # (scheme, policy) -> the last serving-link snapshot, not yet written
        self._rows = {table: RowBuffer() for table in ("events", "decisions", "handovers", "clusters")}

    # ----------------------------------------------------------------- state for checkpoints
    def state(self) -> dict:
        """Everything that carries from one chunk to the next (picklable; caches are not state)."""
        return {"lanes": self.lanes, "vis_sats": self.vis_sats, "last_recluster_ns": self.last_recluster_ns,
                "recluster_due_ns": self.recluster_due_ns, "events_processed": self.events_processed,
                "reclusterings": self.reclusterings}

    def restore(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)

    def close(self) -> None:
        """Stop the rate worker, if any, and the decision threads (call when the run ends, however)."""
        self.rates.close()
        self._decide_pool.shutdown(wait=True, cancel_futures=True)

    # ----------------------------------------------------------------- chunk driver
    def run_chunk(self, t0: int, *, on_progress: Callable[[int], None] | None = None) -> None:
        """Replay [t0, min(t0 + chunk, duration)) and append its rows to the recorder.

        ``on_progress(t_ns)`` (simulated ns since the epoch) is called at every statistical-CSI refresh.
        """
        t1 = min(t0 + self.s.chunk_ns, self.s.duration_ns)
        self._memo = {}
        self._gain_held = None
        self._rows = {table: RowBuffer() for table in self._rows}  # rows of an interrupted chunk are not kept
        self.geom = g = chunk_geometry(self.catalog, self.epoch, t0, t1, self.s.step_ns, self.user_positions,
                                       self.s.min_elevation_deg, lookahead_s=self.lookahead_s,
                                       static_users=self.static_users, timescale=self.ts)
        self._rates_out = []
        self.rates.start_chunk(dict(step_ns=g.step_ns, sat_index=g.sat_index, sat_pos_m=g.sat_pos_m,
                                    sat_vel_m_s=g.sat_vel_m_s, user_pos_m=g.user_pos_m, user_vel_m_s=g.user_vel_m_s))
        env = simpy.Environment(initial_time=t0)
        self._wake = env.event()
        if t0 == 0:
            self._update_visible(0)
            self._recluster(0, "initial")
        env.process(self._visibility(env))
        env.process(self._csi_refresh(env, t0, t1, on_progress))
        env.process(self._central_node(env, t1))
        env.run(until=t1)
        for lane in self.lanes:
            self._flush(lane, t1)
            self._evaluate_segments(lane)
        self._write_rates()
        self._write_clusters()
        release_free_memory()
        self._flush_rows()
        if self.s.record_csi:
            self._record_csi()

    # ----------------------------------------------------------------- processes
    def _visibility(self, env: simpy.Environment):
        ev = self.geom.events
        i = 0
        while i < len(ev):
            t = int(ev.t_ns[i])
            yield env.timeout(t - env.now)
            j = i
            while j < len(ev) and ev.t_ns[j] == t:
                j += 1
            kinds, sats, users = ev.kind[i:j], ev.sat[i:j], ev.user[i:j]
            self._record_events(t, np.where(kinds == RISE, "rise", "set"), sats, users)
            self._update_visible(t)
            sets = kinds == SET
            if sets.any():
                self._handle_sets(t, sats[sets], users[sets])
            if (kinds == RISE).any():
                self._request_recluster(t)
            self.events_processed += j - i
            i = j

    def _csi_refresh(self, env: simpy.Environment, t0: int, t1: int, on_progress=None):
        period = self.s.csi_period_ns
        t = -(-t0 // period) * period
        while t < t1:
            yield env.timeout(t - env.now)
            self._rsap_tick(t)
            self.events_processed += 1
            if on_progress is not None:
                on_progress(t)
            t += period

    def _central_node(self, env: simpy.Environment, t1: int):
        while True:
            due = [t for t in (self.recluster_due_ns, self._next_period(env.now)) if t is not None]
            due += [p.apply_ns for lane in self.lanes for p in lane.pending]
            nxt = min(due) if due else None
            if nxt is not None and nxt >= t1:
                nxt = None
            wait = env.timeout(nxt - env.now) if nxt is not None else None
            yield env.any_of([wait, self._wake]) if wait is not None else self._wake
            if self._wake.triggered:
                self._wake = env.event()
            now = env.now
            for lane in self.lanes:  # decisions whose backhaul delay has elapsed
                ready = [p for p in lane.pending if p.apply_ns <= now]
                lane.pending = [p for p in lane.pending if p.apply_ns > now]
                for p in ready:
                    self._apply(lane, now, p.sats, p.decision, p.csi, p.trigger)
            if self.recluster_due_ns is not None and self.recluster_due_ns <= now:
                self.recluster_due_ns = None
                self._recluster(now, "visibility")
            elif self._next_period(now - 1) == now:
                self._recluster(now, "period")

    def _next_period(self, now: int) -> int | None:
        p = self.s.recluster_period_ns
        return None if p is None else (now // p + 1) * p

    def _request_recluster(self, t: int) -> None:
        last = self.last_recluster_ns
        due = t if last is None else max(t, last + self.s.min_recluster_interval_ns)
        if self.recluster_due_ns is None or due < self.recluster_due_ns:
            self.recluster_due_ns = due
        if not self._wake.triggered:
            self._wake.succeed()

    # ----------------------------------------------------------------- geometry at one instant
    def _memoised(self, kind: str, t: int, sats: np.ndarray, compute):
        """``compute(t, sats)``, remembered for the current instant (every lane asks the same questions)."""
        if self._memo.get("t") != t:
            self._memo = {"t": t}
        key = (kind, sats.tobytes())
        if key not in self._memo:
            value = compute(t, sats)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False  # shared by every lane: nobody may change it in place
            self._memo[key] = value
        return self._memo[key]

    def _up_links(self, t: int, sats: np.ndarray) -> np.ndarray:
        """(len(sats), U) bool: the satellite is above the mask for the user at ``t``."""
        return self._memoised("up", t, sats, self._up_links_uncached)

    def _up_links_uncached(self, t: int, sats: np.ndarray) -> np.ndarray:
        g = self.geom
        up = (g.rise_ns <= t) & (g.set_ns > t)
        out = np.zeros((len(sats), self.n_user), bool)
        cols = to_local(g.pass_sat[up], sats)
        keep = cols >= 0
        out[cols[keep], g.pass_user[up][keep]] = True
        return out

    def _service_time_s(self, t: int, sats: np.ndarray) -> np.ndarray:
        """(len(sats), U) s: remaining time above the mask of each link up at ``t`` (0 elsewhere)."""
        return self._memoised("service", t, sats, self._service_time_uncached)

    def _service_time_uncached(self, t: int, sats: np.ndarray) -> np.ndarray:
        g = self.geom
        st = np.zeros((len(sats), self.n_user))
        up = (g.rise_ns <= t) & (g.set_ns > t)
        cols = to_local(g.pass_sat[up], sats)
        keep = cols >= 0
        st[cols[keep], g.pass_user[up][keep]] = (g.set_ns[up][keep] - t) / NS_PER_S
        return st

    def _update_visible(self, t: int) -> None:
        g = self.geom
        up = (g.rise_ns <= t) & (g.set_ns > t)
        new = np.unique(g.pass_sat[up]).astype(np.int64)
        if not np.array_equal(new, self.vis_sats):
            for lane in self.lanes:
                lane.rsap_state = remap_rsap_state(lane.rsap_state, self.vis_sats, new, lane.rsap)
            self.vis_sats = new

    def _csi_at(self, t: int, sats: np.ndarray):
        """Statistical CSI (len(sats), U) at the exact instant ``t`` (propagated for it); remembered for
        the current instant (the lanes re-deciding at one set event all ask for it)."""
        return self._memoised("csi", t, sats, self._csi_at_uncached)

    def _csi_at_uncached(self, t: int, sats: np.ndarray):
        jd, fr = ns_since_epoch_to_jd(self.epoch, np.array([t], dtype=np.int64))
        eph = propagate_ecef(self.catalog.subset(sats), jd, fr, timescale=self.ts, warn=False)
        upos, uvel = self.user_positions(np.array([t / NS_PER_S]))
        return self._csi(eph.positions_m[0], eph.velocities_m_s[0], upos[0], uvel[0], sats)

    def _csi(self, spos, svel, upos, uvel, sats, *, with_steering: bool = True):
        return self.block.csi(spos, svel, upos, uvel, sats, with_steering=with_steering)

    # ----------------------------------------------------------------- decisions
    def _candidates(self, t: int):
        """Satellites up for some user at ``t`` — each user's ``max_candidate_sats`` strongest, plus
        every lane's RSAP — and their statistical CSI at ``t`` (None when there are none)."""
        vis = self.vis_sats
        if not len(vis):
            return vis, None
        csi = self._csi_at(t, vis)
        score = np.where(self._up_links(t, vis), csi.beta, 0.0)
        n = min(self.s.max_candidate_sats, len(vis))
        top = np.argsort(-score, axis=0, kind="stable")[:n]
        keep = np.zeros(len(vis), bool)
        keep[np.unique(top[np.take_along_axis(score, top, 0) > 0])] = True
        rsaps = np.concatenate([lane.rsap for lane in self.lanes])
        keep |= np.isin(vis, rsaps[rsaps >= 0])
        return (vis[keep], csi.satellites(keep)) if keep.any() else (vis[keep], None)

    def _recluster(self, t: int, trigger: str) -> None:
        self.last_recluster_ns = t
        self.reclusterings += 1
        if self.reclusterings % TRIM_EVERY_RECLUSTERINGS == 0:
            release_free_memory()
        # Serving-mode decisions are built around the RSAP: choose it first, so that the candidate
        # search (which keeps every lane's RSAP) includes it.
        self._step_rsaps([lane for lane in self.lanes if lane.spec.rsap_mode == "serving"], t)
        cand, csi = self._candidates(t)
        if csi is None:
            for lane in self.lanes:
                self._schedule(lane, t, cand, None, None, trigger)
            return
        # Decisions are pure functions of the snapshot and the lane's own state, so every decision of
        # the reclustering runs at once on the decision threads (Clarabel and numpy's linear algebra
        # release the GIL); they are recorded and applied in a fixed order, so the tables are the same
        # as in sequence. Cluster-mode schemes decide once for both policies; alg1-uniform reuses
        # cf-mntn-smrt's Algorithm-1 run, so it is decided after it, here.
        cache: dict = {}
        lanes = ordered_for_sharing(self.lanes)
        jobs: dict = {}
        # The slowest decision is submitted first, so that one thread works on it while the other
        # takes the rest (submitted last, it would start when the others were half done).
        for lane in sorted(lanes, key=lambda lane: lane.name != SLOWEST_SCHEME):
            key = _decision_key(lane)
            if key not in jobs and lane.name != REUSES_ALGORITHM1:
                jobs[key] = self._decide_pool.submit(decide, lane.name, csi, self.ctx, to_local(lane.rsap, cand),
                                                     carry_decision(lane.decision, lane.sats, cand), cache)
        decided: dict = {}
        for lane in lanes:
            key = _decision_key(lane)
            if key not in decided:
                if key in jobs:
                    decided[key] = jobs[key].result()
                else:
                    decided[key] = decide(lane.name, csi, self.ctx, to_local(lane.rsap, cand),
                                          carry_decision(lane.decision, lane.sats, cand), cache)
                self._record_decision(t, lane.name, trigger, decided[key])
            self._schedule(lane, t, cand, decided[key], csi, trigger)

    def _schedule(self, lane: Lane, t: int, sats, decision, csi, trigger: str) -> None:
        if self.s.backhaul_delay_ns == 0:
            self._apply(lane, t, sats, decision, csi, trigger)
        else:
            lane.pending.append(PendingDecision(t + self.s.backhaul_delay_ns, t, sats, decision, csi, trigger))
            if self._wake is not None and not self._wake.triggered:
                self._wake.succeed()

    def _apply(self, lane: Lane, t: int, sats, decision: SchemeDecision | None, csi, trigger: str) -> None:
        """Make ``decision`` the one in force from ``t`` on; record clusters and handovers."""
        self._flush(lane, t)
        old = lane.links()
        if decision is not None and len(sats):
            up = self._up_links(t, sats)  # links that set while the decision travelled are dropped
            if not up.all():
                decision = _drop_links(decision, up)
        lane.sats, lane.decision, lane.csi = np.asarray(sats, np.int64), decision, csi
        lane.decided_ns = t
        why: np.ndarray | str = trigger
        if lane.spec.rsap_mode == "serving" and decision is not None:
            lane.rsap = np.where(decision.serving >= 0, lane.sats[np.maximum(decision.serving, 0)], -1)
        else:
            why = self._step_rsaps([lane], t, record=False)[0][1]
        self._record_handovers(lane, t, old, trigger, rsap_reason=why)
        self._record_clusters(lane, t)

    # ----------------------------------------------------------------- RSAP
    def _step_rsaps(self, lanes: list[Lane], t: int, *, record: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
        """Advance the RSAP rule of ``lanes`` to ``t``; per lane, the users whose RSAP changed and, per
        user, the rule's reason (``acquire``, ``rsap_ineligible``, ``better_channel``, ``no_eligible``).

        The rule treats each user on its own, so the lanes of one policy are stepped in one call with
        their users side by side: columns j·U … (j+1)·U − 1 belong to the group's j-th lane. Eligible
        RSAPs are the links up at ``t`` (serving-mode lanes) or the lane's serving links up at ``t``.
        """
        vis, n_user = self.vis_sats, self.n_user
        out: list = [None] * len(lanes)
        if not lanes:
            return out
        up = self._up_links(t, vis)
        gain, service = self._gain_now(t, vis), self._service_time_s(t, vis)
        for policy in dict.fromkeys(lane.policy for lane in lanes):
            group = [i for i, lane in enumerate(lanes) if lane.policy == policy]
            for i in group:
                lane = lanes[i]
                if lane.rsap_state is None or lane.rsap_state.better_since_s.shape[0] != len(vis):
                    lane.rsap_state = remap_rsap_state(lane.rsap_state, np.zeros(0, np.int64), vis, lane.rsap)
            eligible = np.concatenate([up if lanes[i].spec.rsap_mode == "serving" else up & lanes[i].mask_on(vis)
                                       for i in group], axis=1)
            before = RsapState(np.concatenate([lanes[i].rsap_state.rsap for i in group]),
                               np.concatenate([lanes[i].rsap_state.better_since_s for i in group], axis=1))
            n = len(group)
            state, records = rsap_step(before, t / NS_PER_S, np.tile(gain, (1, n)), np.tile(service, (1, n)),
                                       eligible, policy, self.s.hysteresis_db, self.s.time_to_trigger_s)
            new_all = np.where(state.rsap >= 0, vis[np.maximum(state.rsap, 0)], -1) if len(vis) else \
                np.full(n * n_user, -1, np.int64)
            owner = records.user_id // n_user
            for j, i in enumerate(group):
                lane, cols = lanes[i], slice(j * n_user, (j + 1) * n_user)
                mine = owner == j
                why = np.full(n_user, "rsap", dtype=object)
                why[records.user_id[mine] - j * n_user] = records.reason[mine]
                new = new_all[cols]
                changed = np.flatnonzero(new != lane.rsap)
                if record and changed.size:
                    self._flush(lane, t)
                    old = lane.links()
                    lane.rsap = new
                    self._record_handovers(lane, t, old, "rsap", masks_changed=False, rsap_reason=why)
                lane.rsap = new
                lane.rsap_state = RsapState(state.rsap[cols], state.better_since_s[:, cols])
                out[i] = (changed, why)
        return out

    def _gain_now(self, t: int, sats: np.ndarray) -> np.ndarray:
        """Average channel gain β (len(sats), U) at ``t``, from the chunk's step states when on the grid.

        Memoised per (instant, satellite set): every lane's RSAP rule reads the same gains.
        """
        return self._memoised("gain", t, sats, self._gain_uncached)

    def _gain_uncached(self, t: int, sats: np.ndarray) -> np.ndarray:
        g = self.geom
        k = int(np.searchsorted(g.step_ns, t))
        if not (k < len(g.step_ns) and g.step_ns[k] == t):
            return self._csi_at(t, sats).beta if len(sats) else np.zeros((0, self.n_user))
        block_sats, beta_block = self._gain_block(k // GAIN_BLOCK_STEPS)
        pos, cols = to_local(sats, block_sats), g.columns_of(sats)
        beta = np.zeros((len(sats), self.n_user))
        have = pos >= 0
        beta[have] = beta_block[k % GAIN_BLOCK_STEPS, pos[have]]
        rest = (cols >= 0) & ~have  # in the chunk without a pass in the block (not asked for by the replay)
        if rest.any():
            beta[rest] = self._csi(g.sat_pos_m[k, cols[rest]], g.sat_vel_m_s[k, cols[rest]], g.user_pos_m[k],
                                   g.user_vel_m_s[k], sats[rest], with_steering=False).beta
        return beta

    def _gain_block(self, block: int) -> tuple[np.ndarray, np.ndarray]:
        """β (steps, satellites, U) on the chunk's steps block·B … (block + 1)·B − 1 (B = GAIN_BLOCK_STEPS)
        of every satellite with a pass in that interval: one vectorised call instead of one per step
        (the RSAP rule reads β at every CSI refresh). Kept until another block is asked for."""
        held = self._gain_held
        if held is not None and held[0] == block:
            return held[1], held[2]
        g = self.geom
        a = block * GAIN_BLOCK_STEPS
        b = min(a + GAIN_BLOCK_STEPS, len(g.step_ns))
        live = (g.rise_ns <= g.step_ns[b - 1]) & (g.set_ns > g.step_ns[a])
        sats = np.unique(g.pass_sat[live]).astype(np.int64)
        cols = g.columns_of(sats)
        sats, cols = sats[cols >= 0], cols[cols >= 0]
        beta = self._csi(g.sat_pos_m[a:b][:, cols], g.sat_vel_m_s[a:b][:, cols], g.user_pos_m[a:b],
                         g.user_vel_m_s[a:b], sats, with_steering=False).beta
        self._gain_held = (block, sats, beta)
        return sats, beta

    def _rsap_tick(self, t: int) -> None:
        again = [lane for lane, (changed, _) in zip(self.lanes, self._step_rsaps(self.lanes, t))
                 if changed.size and lane.spec.rsap_mode == "serving" and lane.decision is not None]
        self._redecide(again, t, "rsap")

    def _redecide(self, lanes: list[Lane], t: int, trigger: str) -> None:
        """Immediate re-decision of serving-mode lanes whose serving satellite changed at ``t``.

        Called once per instant after every lane's RSAP has been stepped, so all of them decide on
        one candidate set (which keeps every lane's RSAP) at once, on the decision threads.
        """
        if not lanes:
            return
        cand, csi = self._candidates(t)
        if csi is None:
            for lane in lanes:
                self._schedule(lane, t, cand, None, None, trigger)
            return
        jobs = [self._decide_pool.submit(decide, lane.name, csi, self.ctx, to_local(lane.rsap, cand),
                                         carry_decision(lane.decision, lane.sats, cand)) for lane in lanes]
        for lane, job in zip(lanes, jobs):
            decision = job.result()
            self._record_decision(t, lane.name, trigger, decision)
            self._schedule(lane, t, cand, decision, csi, trigger)

    # ----------------------------------------------------------------- sets: local repair
    def _handle_sets(self, t: int, sats: np.ndarray, users: np.ndarray) -> None:
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
                self._repair(lane, t)  # drop the link, keep the rest (UC/FC: the RSAP is still up)
            self._request_recluster(t)
        self._step_rsaps(again, t)
        self._redecide(again, t, "set")

    def _repair(self, lane: Lane, t: int) -> None:
        up = self._up_links(t, lane.sats)
        d = lane.decision
        gain = np.where(up, lane.csi.beta, 0.0)
        result = repair(d.power, d.mask, to_local(lane.rsap, lane.sats), up, gain,
                        self._service_time_s(t, lane.sats), k_max=self.ctx.k_max, policy=lane.policy)
        new = SchemeDecision(power=result.power, mask=result.mask, serving=d.serving, beam=d.beam, pilots=d.pilots,
                             status="repair", reason=_repair_reason(result.reason), solver=d.solver)
        self._flush(lane, t)
        old = lane.links()
        lane.decision = new
        lane.rsap = np.where(result.rsap >= 0, lane.sats[np.maximum(result.rsap, 0)], -1)
        lane.rsap_state = lane.rsap_state.with_rsap(to_local(lane.rsap, self.vis_sats)) if lane.rsap_state else None
        self._record_handovers(lane, t, old, "repair")
        self._record_clusters(lane, t)

    # ----------------------------------------------------------------- logging
    def _flush(self, lane: Lane, t_end: int) -> None:
        """Log the steps in [lane.logged_until_ns, t_end) of the current chunk under the lane's decision.

        The steps become a :class:`Segment`; it is evaluated with the lane's previous segments when
        the two cannot share one call (:meth:`_joins`), when MAX_GROUP_STEPS are pending, or at the
        end of the chunk (:meth:`_evaluate_segments`).
        """
        g = self.geom
        a = np.searchsorted(g.step_ns, lane.logged_until_ns)
        b = np.searchsorted(g.step_ns, t_end)
        lane.logged_until_ns = max(lane.logged_until_ns, t_end)
        if b <= a:
            return
        seg = Segment(int(a), int(b), lane.decision, lane.sats, lane.rsap.copy(), lane.serving_count())
        if lane.segments and not self._joins(lane, lane.segments[-1], seg):
            self._evaluate_segments(lane)
        lane.segments.append(seg)
        if seg.b - lane.segments[0].a >= MAX_GROUP_STEPS:
            self._evaluate_segments(lane)

    def _joins(self, lane: Lane, prev: Segment, seg: Segment) -> bool:
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
        return self.evaluator.accepts_per_step(lane.name) or (
            np.array_equal(p.power, d.power) and np.array_equal(p.mask, d.mask))

    def _evaluate_segments(self, lane: Lane) -> None:
        """Rates of the lane's pending segments in one call (handed to the rate backend; the rows are
        appended in this order at the end of the chunk, :meth:`_write_rates`)."""
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
            rates = self.rates.submit(lane.name, d, segs[0].sats, a, b)
        else:
            rates = None
        rsap = np.repeat(np.stack([seg.rsap for seg in segs]), counts, axis=0)
        n_serving = np.repeat(np.stack([seg.n_serving for seg in segs]), counts, axis=0)
        rsap_ids = np.ma.masked_array(np.where(rsap >= 0, self.sat_ids[np.maximum(rsap, 0)], 0), mask=rsap < 0)
        self._rates_out.append((rates, dict(time=self.epoch + steps[:, None], scheme=lane.name,
                                            rsap_policy=lane.policy, user_id=np.arange(self.n_user)[None, :],
                                            n_serving=n_serving, rsap_sat=rsap_ids)))
        if len(self._rates_out) >= RATES_HELD:
            self._write_rates(wait=False)

    def _write_rates(self, *, wait: bool = True) -> None:
        """Append rates rows in the order their segments were closed: all of them (``wait``, at the
        chunk's end), or those at the head of the queue whose rates are ready (as the chunk goes, so
        that neither results nor rows pile up for a whole chunk)."""
        out = self._rates_out
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

#: Pending steps of a lane evaluated at the latest in one call (bounds the CSI block's memory).
MAX_GROUP_STEPS = 120
#: Logging steps whose β the RSAP rule gets from one vectorised CSI call (Replay._gain_block).
GAIN_BLOCK_STEPS = 60
#: Reclusterings between two releases of the allocator's free memory (release_free_memory).
TRIM_EVERY_RECLUSTERINGS = 20
#: Closed rate blocks after which the ready ones are written (they are written in order).
RATES_HELD = 64

#: The slowest decision (Algorithm 1 with sMRT): applied after the others of a reclustering.
SLOWEST_SCHEME = "cf-mntn-smrt"
#: Reuses the Algorithm-1 run of cf-mntn-smrt on the same snapshot (decided after it).
REUSES_ALGORITHM1 = "alg1-uniform"
#: Threads deciding the schemes of one reclustering at once.
DECISION_THREADS = 2


def ordered_for_sharing(lanes: list[Lane]) -> list[Lane]:
    """Lanes in the order a reclustering applies them: every other scheme first, then cf-mntn-smrt
    (the slowest), then alg1-uniform, which reuses its Algorithm-1 run. The order is fixed, so the
    tables are the same run to run."""
    last = {SLOWEST_SCHEME: 1, REUSES_ALGORITHM1: 2}
    return sorted(lanes, key=lambda lane: last.get(lane.name, 0))


def _decision_key(lane: Lane) -> str | tuple[str, str]:
    """Cluster-mode schemes take one decision per reclustering for both policies; serving-mode
    schemes decide per lane, around the lane's RSAP."""
    return lane.name if lane.spec.rsap_mode == "cluster" else (lane.name, lane.policy)


def _libc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


_MALLOC_TRIM = _libc_trim()


def release_free_memory() -> None:
    """Give the C allocator's free memory back to the system (glibc ``malloc_trim``; no-op elsewhere).

    The decision threads allocate from their own glibc arenas, which keep freed blocks: without this
    the resident size of a 24-h replay grew by ~53 MB per simulated hour while the Python heap stayed
    flat (measured on starlink-24h.toml, 3 h); trimmed at each chunk's end it stayed at 472 MB.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _same(x: np.ndarray | None, y: np.ndarray | None) -> bool:
    return (x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y))


def _repair_reason(reasons: np.ndarray) -> str:
    """The distinct per-user reasons of a repair other than ``ok`` (e.g. "links_dropped, rescued")."""
    return ", ".join(sorted(set(reasons.tolist()) - {"ok"}))


def _drop_links(d: SchemeDecision, up: np.ndarray) -> SchemeDecision:
    mask = d.mask & up
    serving = np.where((d.serving >= 0) & up[np.maximum(d.serving, 0), np.arange(up.shape[1])], d.serving, -1)
    return SchemeDecision(power=np.where(mask, d.power, 0.0), mask=mask, serving=serving, beam=d.beam,
                          pilots=d.pilots, status=d.status, reason=d.reason, inner_iters=d.inner_iters,
                          outer_iters=d.outer_iters, solve_s=d.solve_s, min_sinr=d.min_sinr, solver=d.solver)
