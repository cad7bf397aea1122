"""One record per change: every kind and reason of the handovers table on hand-made timelines.

Each test drives a :class:`RowWriter` with the changes the central node makes at one or several
instants (a repair, an RSAP step, a decision taking effect) and checks the rows it writes: the
difference between the links before the first change of an instant and after its last one, with the
reasons of docs/analysis.md "Handover kinds and reasons".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.cooperation.schemes import SchemeDecision
from simulator.engine.lanes import Lane
from simulator.engine.records import RowWriter

NORAD = np.array([100, 101, 102, 103])  # catalogue index i is NORAD 100 + i


class Tables:
    """A recorder that keeps what is appended, as one DataFrame per table."""

    def __init__(self) -> None:
        self.parts: dict[str, list[pd.DataFrame]] = {}

    def append(self, table: str, **columns) -> None:
        n = max(np.size(v) for v in columns.values() if not isinstance(v, str))
        frame = {}
        for name, value in columns.items():
            if isinstance(value, np.ma.MaskedArray):
                value = np.where(np.ma.getmaskarray(value), None, value.data.astype(object))
            frame[name] = np.broadcast_to(np.asarray(value, dtype=object), (n,))
        self.parts.setdefault(table, []).append(pd.DataFrame(frame))

    def __getitem__(self, table: str) -> pd.DataFrame:
        parts = self.parts.get(table, [])
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def writer(n_user: int = 2) -> tuple[RowWriter, Tables]:
    tables = Tables()
    return RowWriter(recorder=tables, epoch_ns=0, sat_ids=NORAD, n_user=n_user, rows_held=10**6), tables


def decide(lane: Lane, sats, mask, serving=None, beam=None) -> None:
    """Give ``lane`` a decision on catalogue satellites ``sats`` with serving ``mask`` (S, U)."""
    mask = np.asarray(mask, bool)
    serving = np.full(mask.shape[1], -1) if serving is None else np.asarray(serving)
    lane.sats = np.asarray(sats, np.int64)
    lane.decision = SchemeDecision(power=mask * 0.5, mask=mask, serving=serving,
                                   beam=None if beam is None else np.asarray(beam))


def rsap_change(rows: RowWriter, lane: Lane, t: int, new_rsap, reason) -> None:
    """The RSAP rule moves the lane's RSAPs to ``new_rsap`` (catalogue indices) at ``t``."""
    old = lane.links()
    lane.rsap = np.asarray(new_rsap, np.int64)
    rows.handovers(lane, t, old, "rsap", masks_changed=False, rsap_reason=reason)


def rows_of(tables: Tables, kind: str) -> list[tuple]:
    h = tables["handovers"]
    if not len(h):
        return []
    h = h[h["kind"] == kind]
    return [(int(r.time), int(r.user_id), None if r.from_sat is None else int(r.from_sat),
             None if r.to_sat is None else int(r.to_sat), r.reason) for r in h.itertuples()]


def test_rsap_set_and_a_second_change_at_one_instant_is_one_record_with_reason_set():
    rows, tables = writer()
    lane = Lane("cf-mntn-smrt", "best-channel", 2)
    lane.rsap = np.array([0, 1])
    rows.note_sets(5, np.array([0]), np.array([0]))  # satellite 0 sets for user 0 at t = 5
    rsap_change(rows, lane, 5, [1, 1], "rsap_ineligible")  # the rule hands over at once ...
    rsap_change(rows, lane, 5, [2, 1], "better_channel")  # ... and the decision taking effect moves it again
    rows.flush()
    assert rows_of(tables, "rsap") == [(5, 0, 100, 102, "set")]


def test_a_loss_and_a_reacquisition_at_one_instant_are_one_handover():
    rows, tables = writer()
    lane = Lane("cf-mntn-smrt", "best-channel", 2)
    lane.rsap = np.array([0, 1])
    rsap_change(rows, lane, 7, [-1, 1], "no_eligible")
    rsap_change(rows, lane, 7, [3, 1], "acquire")
    rows.flush()
    # satellite 0 did not set: it was left because it was no longer eligible
    assert rows_of(tables, "rsap") == [(7, 0, 100, 103, "rsap_ineligible")]


def test_an_outage_is_a_record_without_successor_and_the_reacquisition_comes_later():
    rows, tables = writer()
    lane = Lane("cf-mntn-smrt", "best-channel", 2)
    lane.rsap = np.array([0, 1])
    rows.note_sets(3, np.array([0]), np.array([0]))
    rsap_change(rows, lane, 3, [-1, 1], "no_eligible")
    rsap_change(rows, lane, 9, [2, 1], "acquire")
    rows.flush()
    assert rows_of(tables, "rsap") == [(3, 0, 100, None, "no_eligible"), (9, 0, None, 102, "acquire")]


def test_better_channel_and_changes_that_return_within_an_instant():
    rows, tables = writer()
    lane = Lane("cf-mntn-smrt", "best-channel", 2)
    lane.rsap = np.array([0, 1])
    rsap_change(rows, lane, 2, [2, 1], "better_channel")
    rsap_change(rows, lane, 4, [2, 3], "better_channel")
    rsap_change(rows, lane, 4, [2, 1], "rsap_ineligible")  # user 1 back where it was: no change at t = 4
    rows.flush()
    assert rows_of(tables, "rsap") == [(2, 0, 100, 102, "better_channel")]


def test_single_serving_records_rsap_and_inter_satellite_once():
    rows, tables = writer()
    lane = Lane("single-smrt", "best-channel", 2)
    decide(lane, [0, 1], [[1, 0], [0, 1]], serving=[0, 1])
    lane.rsap = np.array([0, 1])
    rows.note_sets(6, np.array([0]), np.array([0]))
    old = lane.links()
    decide(lane, [1, 2], [[0, 1], [1, 0]], serving=[1, 0])  # the re-decision after the set ...
    lane.rsap = np.array([2, 1])
    rows.handovers(lane, 6, old, "set")
    rsap_change(rows, lane, 6, [2, 1], "better_channel")  # ... and an RSAP step that changes nothing
    rows.flush()
    assert rows_of(tables, "rsap") == [(6, 0, 100, 102, "set")]
    assert rows_of(tables, "inter_satellite") == [(6, 0, 100, 102, "set")]
    assert rows_of(tables, "cluster_join") == rows_of(tables, "cluster_leave") == []


def test_inter_beam_is_the_net_change_of_the_beam():
    rows, tables = writer()
    lane = Lane("spot-beam", "best-channel", 2)
    decide(lane, [0, 1], [[1, 0], [0, 1]], serving=[0, 1], beam=[4, 5])
    lane.rsap = np.array([0, 1])
    for t, beams, trigger in ((8, [6, 5], "visibility"), (8, [7, 5], "rsap"), (9, [7, 2], "period"),
                              (9, [7, 5], "rsap")):
        old = lane.links()
        decide(lane, [0, 1], [[1, 0], [0, 1]], serving=[0, 1], beam=beams)
        rows.handovers(lane, t, old, trigger)
    rows.flush()
    h = tables["handovers"]
    beam = h[h["kind"] == "inter_beam"]
    # user 0: 4 -> 6 -> 7 at t = 8 is one handover 4 -> 7; user 1 went 5 -> 2 -> 5 at t = 9: none
    assert [(int(r.time), int(r.user_id), int(r.from_beam), int(r.to_beam), r.reason) for r in beam.itertuples()] \
        == [(8, 0, 4, 7, "rsap")]
    assert rows_of(tables, "rsap") == []


def test_cluster_join_and_leave_are_the_net_change_of_the_links():
    rows, tables = writer()
    lane = Lane("cf-mntn-smrt", "best-channel", 2)
    decide(lane, [0, 1, 2], [[1, 1], [1, 0], [0, 1]])
    lane.rsap = np.array([0, 0])
    rows.note_sets(10, np.array([1]), np.array([0]))
    old = lane.links()  # the repair at the set drops link (1, user 0) ...
    decide(lane, [0, 1, 2], [[1, 1], [0, 0], [0, 1]])
    rows.handovers(lane, 10, old, "repair")
    old = lane.links()  # ... the reclustering due at the same instant drops (2, user 1), adds (3, user 0)
    decide(lane, [0, 2, 3], [[1, 1], [0, 0], [1, 0]])
    rows.handovers(lane, 10, old, "visibility")
    old = lane.links()  # later: (0, user 1) leaves and comes back within one instant: nothing
    decide(lane, [0, 3], [[1, 0], [1, 0]])
    rows.handovers(lane, 12, old, "period")
    old = lane.links()
    decide(lane, [0, 3], [[1, 1], [1, 0]])
    rows.handovers(lane, 12, old, "rsap")
    rows.flush()
    assert rows_of(tables, "cluster_leave") == [(10, 0, 101, None, "visibility"), (10, 1, 102, None, "visibility")]
    assert rows_of(tables, "cluster_join") == [(10, 0, None, 103, "visibility")]
    assert rows_of(tables, "rsap") == []


def test_first_acquisition_has_reason_acquire():
    rows, tables = writer()
    lane = Lane("uc-dmimo", "max-service-time", 2)
    old = lane.links()
    decide(lane, [1, 2], [[1, 1], [0, 1]])
    lane.rsap = np.array([1, 2])
    rows.handovers(lane, 0, old, "initial", rsap_reason=np.array(["acquire", "acquire"]))
    rows.flush()
    assert rows_of(tables, "rsap") == [(0, 0, None, 101, "acquire"), (0, 1, None, 102, "acquire")]
    assert len(rows_of(tables, "cluster_join")) == 3
