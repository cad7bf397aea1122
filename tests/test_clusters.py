"""Serving clusters: decision diffs → handover records."""

from __future__ import annotations

import doctest

import numpy as np

from simulator.cooperation import clusters as clusters_module
from simulator.cooperation.clusters import diff_masks, serving_mask


def test_doctests():
    result = doctest.testmod(clusters_module)
    assert result.failed == 0 and result.attempted > 0


def apply_records(mask, rsap, records):
    """Replay join/leave/rsap records on a previous decision (independent of diff_masks)."""
    mask, rsap = mask.copy(), rsap.copy()
    for kind, user, f, t in zip(records.kind, records.user_id, records.from_sat, records.to_sat):
        if kind == "cluster_leave":
            assert mask[f, user]
            mask[f, user] = False
        elif kind == "cluster_join":
            assert not mask[t, user]
            mask[t, user] = True
        elif kind == "rsap":
            assert rsap[user] == f
            rsap[user] = t
    return mask, rsap


def test_single_serving_and_beam_records():
    prev_rsap, new_rsap = np.array([0, 1, 2, -1]), np.array([1, 1, 2, 0])
    prev_beam, new_beam = np.array([5, 7, 3, -1]), np.array([6, 8, 3, 1])
    rec = diff_masks(serving_mask(prev_rsap, 3), prev_rsap, serving_mask(new_rsap, 3), new_rsap,
                     prev_beam=prev_beam, new_beam=new_beam, single_serving=True, rsap_reason="x")
    rows = list(zip(rec.kind, rec.user_id, rec.from_sat, rec.to_sat, rec.from_beam, rec.to_beam))
    assert rows == [
        ("rsap", 0, 0, 1, 5, 6), ("rsap", 3, -1, 0, -1, 1),
        ("inter_satellite", 0, 0, 1, 5, 6), ("inter_satellite", 3, -1, 0, -1, 1),
        ("inter_beam", 1, 1, 1, 7, 8),
    ]
    multi = diff_masks(serving_mask(prev_rsap, 3), prev_rsap, serving_mask(new_rsap, 3), new_rsap,
                       join_leave_reason="update")
    assert "inter_satellite" not in multi.kind and set(multi.reason[multi.kind != "rsap"]) == {"update"}


def test_records_exactly_transform_the_previous_decision():
    """Random decisions in sequence: replaying the records on the previous masks and RSAPs gives the
    new ones, with one rsap record per user whose RSAP changed."""
    rng = np.random.default_rng(2024)
    n_sat, n_user = 18, 9
    mask, rsap = np.zeros((n_sat, n_user), bool), np.full(n_user, -1)
    counts = dict.fromkeys(("rsap", "cluster_join", "cluster_leave"), 0)
    for _ in range(60):
        new_mask = rng.random((n_sat, n_user)) < 0.2
        has = new_mask.any(axis=0)
        new_rsap = np.where(has, np.argmax(new_mask * rng.random((n_sat, n_user)), axis=0), -1)
        rec = diff_masks(mask, rsap, new_mask, new_rsap, rsap_reason="x", join_leave_reason="update")
        replayed_mask, replayed_rsap = apply_records(mask, rsap, rec)
        np.testing.assert_array_equal(replayed_mask, new_mask)
        np.testing.assert_array_equal(replayed_rsap, new_rsap)
        rsap_users = rec.user_id[rec.kind == "rsap"]
        assert sorted(rsap_users) == list(np.flatnonzero(rsap != new_rsap))
        for kind in counts:
            counts[kind] += int(np.sum(rec.kind == kind))
        mask, rsap = new_mask, new_rsap
    assert all(counts.values())


