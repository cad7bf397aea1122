"""The discrete-event replay: SimPy processes that wire orbits, radio and cooperation together.

Simulated time is an integer nanosecond count since the scenario epoch. The run is cut into output
chunks; each chunk is replayed in a fresh :class:`simpy.Environment` rebuilt from plain state
(:class:`~simulator.engine.lanes.Lane` objects and a few instants), so a run resumed from a
checkpoint replays exactly the events, in exactly the order, of an uninterrupted run.

Processes of a chunk (DESIGN.md "Event model"), thin generators over the parts that do the work:

- **visibility** — rise and set of satellite *l* for user *k* at their exact instants (from the
  orbit layer's root-found passes). A set of a serving satellite triggers a local repair of the
  lanes it served (or an immediate re-decision for single-serving schemes); a rise requests a
  reclustering.
- **CSI refresh** — every ``csi_period_s`` on the step grid: precoders are rebuilt from the
  statistical CSI of that instant (used for every step until the next refresh), and the RSAP rule
  (hysteresis, time-to-trigger) is evaluated.
- **central node** — reclustering on request, debounced by ``min_recluster_interval_s``, plus an
  optional period; decisions take effect ``backhaul_delay_s`` after they are taken.

The parts: :class:`~simulator.engine.instant.InstantView` (the geometry at one instant),
:class:`~simulator.engine.central.CentralNode` (decisions, threads, RSAP, repair),
:class:`~simulator.engine.ratelog.RateLog` (rates at every step under the decision in force:
segments, groups, rows) and :class:`~simulator.engine.records.RowWriter` (the other tables).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simpy

from ..cooperation.schemes import DecideContext
from ..orbits.bounds import max_pass_duration_s
from ..orbits.catalog import Catalog
from ..orbits.propagate import builtin_timescale
from ..radio.csi import LinkDraws, draw_link_variates
from ..radio.params import RadioParams
from .blockrates import BlockRates, rate_backend
from .central import CentralNode
from .geometry import RISE, SET, chunk_geometry
from .instant import InstantView
from .lanes import Lane
from .memory import release_free_memory
from .ratelog import RateLog
from .rates import RateEvaluator
from .records import RowWriter
from .settings import ReplaySettings, ReplayTuning

__all__ = ["ReplaySettings", "ReplayTuning", "Replay"]


class Replay:
    """One replay: geometry, lanes and the recorder; :meth:`run_chunk` advances one output chunk.

    Every argument is keyword-only:

    settings : ReplaySettings — event parameters and tuning
    catalog : Catalog
    user_positions : callable ``t_s (T,) -> (positions (T, U, 3) m, velocities (T, U, 3) m/s)``
    n_user : int
    static_users : bool — users do not move
    params : RadioParams
    ctx : DecideContext — what every decision needs besides the snapshot
    evaluator : RateEvaluator — the scenario's closed forms
    schemes, policies : list of str — one lane per (scheme, policy)
    seed : int — seed of the per-link draws (common random numbers)
    epoch_utc_ns : int — scenario epoch, ns since 1970 UTC
    recorder : Recorder
    beam_target_m : ndarray, shape (3,), optional — spot-beam boresight target
    rate_workers : int — 0: rates in this process; 1: in one worker process
    """

    def __init__(self, *, settings: ReplaySettings, catalog: Catalog, user_positions: Callable, n_user: int,
                 static_users: bool, params: RadioParams, ctx: DecideContext, evaluator: RateEvaluator,
                 schemes: list[str], policies: list[str], seed: int, epoch_utc_ns: int, recorder,
                 beam_target_m: np.ndarray | None = None, rate_workers: int = 0) -> None:
        self.s = settings
        tuning = settings.tuning
        self.catalog = catalog
        self.sat_ids = np.asarray(catalog.sat_ids, dtype=np.int64)
        self.n_user = n_user
        self.user_positions = user_positions
        self.static_users = static_users
        self.ctx = ctx
        self.epoch = int(epoch_utc_ns)
        self.recorder = recorder
        self.ts = builtin_timescale()
        # Common random numbers: one draw per (satellite, user) link for the whole run.
        draws: LinkDraws = draw_link_variates(np.random.default_rng(seed), (len(catalog), n_user))
        block = BlockRates(evaluator, params, draws, settings.min_elevation_deg, beam_target_m, static_users,
                           settings.csi_period_ns)
        self.rates = rate_backend(block, rate_workers)  # close() when the run ends
        self.lookahead_s = max_pass_duration_s(catalog, settings.min_elevation_deg) if len(catalog) else 0.0
        self.view = InstantView(catalog=catalog, epoch_ns=self.epoch, user_positions=user_positions, n_user=n_user,
                                block=block, timescale=self.ts, gain_block_steps=tuning.gain_block_steps)
        self.log = RateLog(backend=self.rates, evaluator=evaluator, recorder=recorder, epoch_ns=self.epoch,
                           sat_ids=self.sat_ids, n_user=n_user, max_group_steps=tuning.max_group_steps,
                           rates_held=tuning.rates_held)
        self.rows = RowWriter(recorder=recorder, epoch_ns=self.epoch, sat_ids=self.sat_ids, n_user=n_user,
                              rows_held=tuning.rows_held)
        lanes = [Lane(name, policy, n_user) for name in schemes for policy in policies]
        self.central = CentralNode(lanes=lanes, settings=settings, ctx=ctx, view=self.view, log=self.log,
                                   rows=self.rows)
        self.central.wake = self._poke
        self.events_processed = 0
        self.geom = None
        self._wake: simpy.Event | None = None

    @property
    def lanes(self) -> list[Lane]:
        return self.central.lanes

    @property
    def reclusterings(self) -> int:
        return self.central.reclusterings

    # ----------------------------------------------------------------- state for checkpoints
    def state(self) -> dict:
        """Everything that carries from one chunk to the next (picklable; caches are not state)."""
        state = {key: getattr(self.central, key) for key in CentralNode.STATE}
        state["events_processed"] = self.events_processed
        return state

    def restore(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self if key == "events_processed" else self.central, key, value)

    def close(self) -> None:
        """Stop the rate worker, if any, and the decision threads (call when the run ends, however)."""
        self.rates.close()
        self.central.close()

    # ----------------------------------------------------------------- chunk driver
    def run_chunk(self, t0: int, *, on_progress: Callable[[int], None] | None = None) -> None:
        """Replay [t0, min(t0 + chunk, duration)) and append its rows to the recorder.

        ``on_progress(t_ns)`` (simulated ns since the epoch, non-decreasing) is called at every
        statistical-CSI refresh of the chunk and once at its end.
        """
        t1 = min(t0 + self.s.chunk_ns, self.s.duration_ns)
        self.rows.start_chunk()
        self.geom = g = chunk_geometry(self.catalog, self.epoch, t0, t1, self.s.step_ns, self.user_positions,
                                       self.s.min_elevation_deg, lookahead_s=self.lookahead_s,
                                       static_users=self.static_users, timescale=self.ts)
        self.view.start_chunk(g)
        self.log.start_chunk(g)
        env = simpy.Environment(initial_time=t0)
        self._wake = env.event()
        if t0 == 0:
            self.central.update_visible(0)
            self.central.recluster(0, "initial")
        env.process(self._visibility(env))
        env.process(self._csi_refresh(env, t0, t1, on_progress))
        env.process(self._central_node(env, t1))
        env.run(until=t1)
        self.log.close_chunk(self.lanes, t1)
        self.rows.write_clusters()
        release_free_memory()
        self.rows.flush()
        if self.s.record_csi:
            self.rows.csi(g, self.view.csi)
        if on_progress is not None:
            on_progress(t1)

    def _poke(self) -> None:
        """Wake the central-node process (a reclustering or a delayed decision is due)."""
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    # ----------------------------------------------------------------- processes
    def _visibility(self, env: simpy.Environment):
        ev = self.geom.events
        central = self.central
        i = 0
        while i < len(ev):
            t = int(ev.t_ns[i])
            yield env.timeout(t - env.now)
            j = i
            while j < len(ev) and ev.t_ns[j] == t:
                j += 1
            kinds, sats, users = ev.kind[i:j], ev.sat[i:j], ev.user[i:j]
            self.rows.events(t, np.where(kinds == RISE, "rise", "set"), sats, users)
            central.update_visible(t)
            sets = kinds == SET
            if sets.any():
                central.handle_sets(t, sats[sets], users[sets])
            if (kinds == RISE).any():
                central.request_recluster(t)
            self.events_processed += j - i
            i = j

    def _csi_refresh(self, env: simpy.Environment, t0: int, t1: int, on_progress: Callable[[int], None] | None):
        period = self.s.csi_period_ns
        t = -(-t0 // period) * period
        while t < t1:
            yield env.timeout(t - env.now)
            self.central.rsap_tick(t)
            self.events_processed += 1
            if on_progress is not None:
                on_progress(t)
            t += period

    def _central_node(self, env: simpy.Environment, t1: int):
        central = self.central
        while True:
            due = [t for t in (central.recluster_due_ns, self._next_period(env.now)) if t is not None]
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
                    central.apply(lane, now, p.sats, p.decision, p.csi, p.trigger, p.decided_ns)
            if central.recluster_due_ns is not None and central.recluster_due_ns <= now:
                central.recluster_due_ns = None
                central.recluster(now, "visibility")
            elif self._next_period(now - 1) == now:
                central.recluster(now, "period")

    def _next_period(self, now: int) -> int | None:
        p = self.s.recluster_period_ns
        return None if p is None else (now // p + 1) * p
