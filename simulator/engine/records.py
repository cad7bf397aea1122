"""Writing the replay's rows: handovers, cluster snapshots, decisions, events and (opt-in) CSI.

:class:`RowWriter` turns what the central node does into rows of the small tables; it is given the
recorder, the scenario epoch (ns since 1970 UTC), the NORAD number of each catalogue index and the
number of users, and knows nothing else of the replay. Table layouts: :mod:`simulator.engine.schemas`
and docs/outputs.md.

The small tables (handovers, clusters, decisions, events) get thousands of few-row appends per
simulated hour; each :meth:`Recorder.append` validates and converts its columns, which costs more
than the rows. Their rows are therefore collected in a :class:`RowBuffer` and handed to the
recorder when the chunk ends (:meth:`RowWriter.flush`) or when ``rows_held`` rows of a table are
waiting: one append per table and lane, rows in the order they were produced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cooperation.clusters import diff_masks
from ..cooperation.schemes import SchemeDecision
from ..units import lin_to_db
from .lanes import Lane, Links

__all__ = ["RowWriter", "RowBuffer", "SMALL_TABLES"]

#: The tables whose rows are collected in a RowBuffer (rates are appended by the rate log).
SMALL_TABLES = ("events", "decisions", "handovers", "clusters")


class RowBuffer:
    """Rows of one table, collected cheaply and appended to the recorder once per chunk.

    ``add(**columns)`` takes scalars and 1-D arrays of one length; a nullable column may be given as
    a pair ``(data, null)`` of such arrays (cheaper than a ``numpy.ma.MaskedArray`` per call). Rows are grouped by their scalar string labels (scheme, policy, trigger):
    ``drain(recorder, table)`` makes one :meth:`Recorder.append` per group, with the labels as
    scalars (no per-row string encoding), rows in the order they were added within each group.
    """

    def __init__(self) -> None:
        self._groups: dict[tuple, list[tuple[int, dict]]] = {}
        self.n_rows = 0

    def add(self, **columns) -> None:
        n, key = None, []
        for name, value in columns.items():
            if isinstance(value, str):
                key.append((name, value))
                continue
            if isinstance(value, tuple):
                value = value[0]
            if np.ndim(value):
                if np.ndim(value) != 1 or (n is not None and len(value) != n):
                    shapes = {k: np.shape(v) for k, v in columns.items()}
                    raise ValueError(f"RowBuffer.add takes scalars and 1-D arrays of one length, got {shapes}")
                n = len(value)
        if n == 0:
            return
        n = 1 if n is None else n
        self._groups.setdefault(tuple(key), []).append((n, columns))
        self.n_rows += n

    def drain(self, recorder, table: str) -> None:
        groups, self._groups = self._groups, {}
        self.n_rows = 0
        for key, parts in groups.items():
            labels = dict(key)
            counts = np.array([n for n, _ in parts])
            columns = {}
            for name in parts[0][1]:
                if name in labels:
                    columns[name] = labels[name]
                    continue
                columns[name] = _concat([c[name] for _, c in parts], counts)
            recorder.append(table, **columns)


def _concat(values: list, counts: np.ndarray):
    """One column of many parts: scalars repeated, arrays joined, (data, null) pairs masked."""
    first = values[0]
    if isinstance(first, tuple) and all(isinstance(v, tuple) and np.ndim(v[0]) == 1 for v in values):
        return np.ma.masked_array(np.concatenate([v[0] for v in values]), mask=np.concatenate([v[1] for v in values]))
    if isinstance(first, np.ndarray) and first.ndim == 1 and all(
            isinstance(v, np.ndarray) and v.ndim == 1 and not isinstance(v, np.ma.MaskedArray) for v in values):
        return np.concatenate(values)
    if all(np.ndim(v) == 0 and not isinstance(v, tuple) for v in values):
        return np.repeat(np.asarray(values), counts)
    # mixed forms (a scalar in one part, an array in another): expand part by part
    data, nulls, masked = [], [], False
    for n, v in zip(counts, values):
        if isinstance(v, tuple):
            d, null = v
            masked = True
        elif isinstance(v, np.ma.MaskedArray):
            d, null = v.data, np.ma.getmaskarray(v)
            masked = True
        else:
            d, null = v, False
        data.append(np.broadcast_to(d, n))
        nulls.append(np.broadcast_to(null, n))
    out = np.concatenate(data)
    return np.ma.masked_array(out, mask=np.concatenate(nulls)) if masked else out


@dataclass
class _Instant:
    """The changes of one lane at one instant ``t``, held until the instant is over: the links
    before the first change (``old``) and after the last (``new``), the reason of each user's last
    RSAP or beam change (``why``, "" = none) and the trigger of the last change of the masks."""

    t: int
    old: Links
    new: Links
    why: np.ndarray
    trigger: str
    single_serving: bool


class RowWriter:
    """Rows of the ``handovers``, ``clusters``, ``decisions``, ``events`` and ``csi`` tables.

    Parameters (keyword-only)
    ----------
    recorder : Recorder — where rows go
    epoch_ns : int — scenario epoch, ns since 1970 UTC (table times are epoch + simulated ns)
    sat_ids : ndarray, shape (S_total,), int64 — NORAD number of each catalogue index
    n_user : int
    rows_held : int — rows of one table held before they are appended (memory bound)
    """

    def __init__(self, *, recorder, epoch_ns: int, sat_ids: np.ndarray, n_user: int, rows_held: int) -> None:
        self.recorder, self.epoch, self.sat_ids = recorder, int(epoch_ns), sat_ids
        self.n_user, self.rows_held = n_user, int(rows_held)
        self._rows = {table: RowBuffer() for table in SMALL_TABLES}
        self._pending_clusters: dict = {}  # (scheme, policy) -> the last serving-link snapshot, not yet written
        self._open: dict[tuple[str, str], _Instant] = {}  # (scheme, policy) -> changes of one instant, not yet written
        self._sets: dict[int, list] = {}  # instant -> (satellites, users) pairs that set at it

    def start_chunk(self) -> None:
        """Drop rows collected but not flushed (rows of an interrupted chunk are not kept)."""
        self._rows = {table: RowBuffer() for table in SMALL_TABLES}
        self._open, self._sets = {}, {}

    def handovers(self, lane: Lane, t: int, old: Links, trigger: str, *, masks_changed: bool = True,
                  rsap_reason: np.ndarray | str | None = None) -> None:
        """Note one change of the lane at ``t``: from the links ``old`` to the lane's links now.

        Nothing is written yet: every change of one lane at one instant (a repair, an RSAP step, a
        decision taking effect, …) is folded into one :class:`_Instant`, and the rows are the
        difference between the links before the first change and after the last one, written when
        the lane changes at a later instant or the chunk ends (:meth:`flush`). A user's RSAP therefore
        changes at most once per instant and lane in the ``handovers`` table, as in ``rates``.

        ``trigger`` is the reason of the join/leave rows (the last change of the masks at ``t``
        wins); ``rsap_reason`` (str or (U,)) the reason of the users' RSAP and beam changes (default
        ``trigger``; the last change of each user wins, then the rules of :meth:`_close` apply).
        ``masks_changed=False``: only RSAPs and beams changed in this call."""
        key = (lane.name, lane.policy)
        held = self._open.get(key)
        if held is not None and held.t != t:
            self._close(key)
            held = None
        new = lane.links()
        if held is None:
            held = self._open[key] = _Instant(t, old, new, np.full(self.n_user, "", dtype=object), trigger,
                                              lane.spec.single_serving)
        why = np.broadcast_to(np.asarray(trigger if rsap_reason is None else rsap_reason, dtype=object),
                              (self.n_user,))
        moved = old.rsap != new.rsap
        if old.beam is not None and new.beam is not None:
            moved |= old.beam != new.beam
        held.why[moved] = why[moved]
        if masks_changed:
            held.trigger = trigger
        held.new = new

    def note_sets(self, t: int, sats: np.ndarray, users: np.ndarray) -> None:
        """Satellites ``sats`` set for ``users`` at ``t`` (catalogue indices, pairwise): an RSAP
        that sets at the instant it is left gets the reason ``set``."""
        self._sets.setdefault(t, []).append((np.asarray(sats, np.int64), np.asarray(users, np.int64)))

    def _close(self, key: tuple[str, str]) -> None:
        """Write the rows of the lane's held instant (see :meth:`handovers`).

        RSAP reasons, by rule (``docs/analysis.md`` "Handover kinds and reasons"): ``acquire`` when
        the user had no RSAP; else ``set`` when the old RSAP set for the user at this instant and a
        new one was taken; else the reason of the user's last change at the instant, except that a
        loss and a re-acquisition within it are ``rsap_ineligible`` (a loss keeps ``no_eligible`` /
        ``no_capacity``)."""
        held = self._open.pop(key)
        t, old, new = held.t, held.old, held.new
        why = np.where(held.why == "", held.trigger, held.why).astype(object)
        between = (old.rsap >= 0) & (new.rsap >= 0) & (old.rsap != new.rsap)
        why[between & (why == "acquire")] = "rsap_ineligible"  # lost and re-acquired within the instant
        gone = np.zeros(self.n_user, bool)
        for sats, users in self._sets.get(t, ()):
            gone[users[sats == old.rsap[users]]] = True
        if gone.any():
            why[gone & between] = "set"
        why[(old.rsap < 0) & (new.rsap >= 0)] = "acquire"
        if old.mask is not None and new.mask is not None and np.array_equal(old.sats, new.sats):
            axis, old_mask, new_mask = new.sats, old.mask, new.mask  # a repair: same satellites
        else:
            axis = np.union1d(old.sats, new.sats)
            old_mask, new_mask = old.mask_on(axis), new.mask_on(axis)
        beams = old.beam is not None and new.beam is not None
        rec = diff_masks(old_mask, old.rsap, new_mask, new.rsap, rsap_reason=why.astype(str),
                         join_leave_reason=held.trigger, prev_beam=old.beam if beams else None,
                         new_beam=new.beam if beams else None, single_serving=held.single_serving, sat_index=axis)
        if not len(rec):
            return

        def ids(idx):  # (NORAD number, null) pairs: −1 = none
            return np.where(idx >= 0, self.sat_ids[np.maximum(idx, 0)], 0), idx < 0

        def beam(b):
            return np.maximum(b, 0), b < 0

        self._add("handovers", time=self.epoch + t, scheme=key[0], rsap_policy=key[1],
                  user_id=rec.user_id, kind=rec.kind, from_sat=ids(rec.from_sat), to_sat=ids(rec.to_sat),
                  from_beam=beam(rec.from_beam), to_beam=beam(rec.to_beam), reason=rec.reason)

    def close_instants(self) -> None:
        """Write every held instant (the chunk ends: no later change can join them)."""
        for key in list(self._open):
            self._close(key)
        self._sets.clear()

    def clusters(self, lane: Lane, t: int) -> None:
        """Hold the lane's serving links at ``t``; written when a later instant comes (or the chunk ends).

        A lane can change its decision several times at one instant (a reclustering and a re-decision
        around a new RSAP at t0, a repair at a set): only the last one is in force, so only its
        snapshot is written and each (lane, time) has at most one complete snapshot in ``clusters``.
        """
        key = (lane.name, lane.policy)
        held = self._pending_clusters.get(key)
        if held is not None and held[0] != t:
            self.write_clusters(key)
        d = lane.decision
        if d is None or not d.mask.any():
            self._pending_clusters.pop(key, None)
            return
        sat, user = np.nonzero(d.mask)
        self._pending_clusters[key] = (t, user, self.sat_ids[lane.sats[sat]], d.power[sat, user])

    def write_clusters(self, key: tuple[str, str] | None = None) -> None:
        """Append the held snapshot of one lane (``key``), or of every lane."""
        for k in [key] if key is not None else list(self._pending_clusters):
            t, user, sat_id, power = self._pending_clusters.pop(k)
            self._add("clusters", time=self.epoch + t, scheme=k[0], rsap_policy=k[1], user_id=user,
                      sat_id=sat_id, power_weight=power)

    def decision(self, t: int, scheme: str, trigger: str, d: SchemeDecision) -> None:
        self._add("decisions", time=self.epoch + t, scheme=scheme, trigger=trigger,
                  n_sats=d.mask.shape[0], n_users=d.mask.shape[1], inner_iters=d.inner_iters,
                  outer_iters=d.outer_iters, solve_s=d.solve_s,
                  min_sinr_db=float(lin_to_db(max(d.min_sinr, 0.0))), status=d.status,
                  certificate=(np.array([d.certificate]), np.array([not np.isfinite(d.certificate)])),
                  n_unadmitted=d.n_unadmitted)

    def events(self, t: int, kinds, sats, users) -> None:
        self._add("events", time=self.epoch + t, kind=kinds, sat_id=self.sat_ids[sats], user_id=users)

    def _add(self, table: str, **columns) -> None:
        """Collect rows; hand them to the recorder early when ``rows_held`` are waiting (memory bound)."""
        rows = self._rows[table]
        rows.add(**columns)
        if rows.n_rows >= self.rows_held:
            rows.drain(self.recorder, table)

    def flush(self) -> None:
        """Append the collected rows of the small tables to the recorder (at the end of a chunk)."""
        self.close_instants()
        for table, rows in self._rows.items():
            rows.drain(self.recorder, table)

    def csi(self, g, csi_of) -> None:
        """Rows of the opt-in ``csi`` table: every visible link at every step of the chunk geometry
        ``g``; ``csi_of(spos, svel, upos, uvel, sats)`` is the statistical CSI of those states."""
        if not len(g.sat_index) or not len(g.step_ns):
            return
        csi = csi_of(g.sat_pos_m, g.sat_vel_m_s, g.user_pos_m, g.user_vel_m_s, g.sat_index)
        t, s, u = np.nonzero(csi.visible)
        self.recorder.append("csi", time=self.epoch + g.step_ns[t], sat_id=self.sat_ids[g.sat_index[s]], user_id=u,
                             elevation_deg=np.degrees(csi.elevation_rad[t, s, u]), theta_rad=csi.theta_rad[t, s, u],
                             phi_rad=csi.phi_rad[t, s, u], beta_db=lin_to_db(csi.beta[t, s, u]),
                             kappa_db=lin_to_db(csi.kappa[t, s, u]), delay_s=csi.delay_s[t, s, u],
                             doppler_hz=csi.doppler_hz[t, s, u])
