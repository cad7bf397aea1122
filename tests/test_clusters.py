"""Serving clusters: candidates, 004 Algorithms 1–2 (reconstructed), decision diffs → handover records."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from simulator.cooperation import clusters as clusters_module
from simulator.cooperation.clusters import (
    ClusterDecision,
    candidate_mask,
    diff_decisions,
    diff_masks,
    form_clusters,
    serving_mask,
    update_clusters,
)
from simulator.cooperation.rsap import select_rsap
from simulator.errors import InputError


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


def random_geometry(rng, n_sat, n_user):
    el = rng.uniform(-0.6, 1.4, (n_sat, n_user))
    gain = rng.exponential(size=(n_sat, n_user)) * (el > 0)
    service = rng.uniform(0.0, 600.0, (n_sat, n_user))
    return el, gain, service


def test_candidates_by_elevation_and_cap():
    el = np.array([[0.5, np.nan], [0.2, 0.3], [0.1, 0.9], [0.25, 0.2]])
    gain = np.array([[1.0, 5.0], [3.0, 1.0], [9.0, 2.0], [2.0, 4.0]])
    np.testing.assert_array_equal(candidate_mask(el, 0.2), [[1, 0], [1, 1], [0, 1], [1, 1]])
    capped = candidate_mask(el, 0.2, gain=gain, max_candidate_sats=2)
    np.testing.assert_array_equal(capped, [[0, 0], [1, 0], [0, 1], [1, 1]])  # 2 strongest per user
    assert candidate_mask(el, 0.2, visible=np.zeros((4, 2), bool)).sum() == 0
    block = candidate_mask(np.stack([el, el]), 0.2, gain=np.stack([gain, gain]), max_candidate_sats=2)
    np.testing.assert_array_equal(block[1], capped)
    with pytest.raises(InputError, match="max_candidate_sats"):
        candidate_mask(el, 0.2, gain=gain, max_candidate_sats=0)


def test_initial_formation_follows_the_policies():
    rng = np.random.default_rng(7)
    el, gain, service = random_geometry(rng, 12, 6)
    cand = candidate_mask(el, 0.0)
    for policy in ("best-channel", "max-service-time"):
        d = form_clusters(cand, gain, service, policy)
        np.testing.assert_array_equal(d.mask, cand)  # no caps: the serving cluster is S_k
        for k in range(6):
            members = np.flatnonzero(cand[:, k])
            if policy == "best-channel":
                assert d.rsap[k] == members[np.argmax(gain[members, k])]
            else:
                assert d.rsap[k] == members[np.argmax(service[members, k])]
        assert d.trigger == "initial" and set(d.reason) <= {"acquire", "no_eligible"}


def test_caps_keep_the_rsap_and_the_strongest_links():
    rng = np.random.default_rng(11)
    el, gain, service = random_geometry(rng, 15, 20)
    cand = candidate_mask(el, 0.0)
    d = form_clusters(cand, gain, service, "max-service-time", max_cluster_size=3, k_max=4)
    users = np.arange(20)
    has = d.rsap >= 0
    assert np.all(d.mask[d.rsap[has], users[has]])  # the RSAP is always a member
    assert np.all(d.mask.sum(axis=0) <= 3)
    rsap_links = serving_mask(d.rsap, 15).sum(axis=1)
    assert np.all(d.mask.sum(axis=1) <= np.maximum(4, rsap_links))  # K_max unless RSAP links exceed it
    assert np.all(d.mask <= cand)
    # per user (before the satellite cap) the non-RSAP members are the strongest non-RSAP candidates
    per_user = form_clusters(cand, gain, service, "max-service-time", max_cluster_size=np.full(20, 3))
    for k in np.flatnonzero(has):
        others = np.flatnonzero(cand[:, k] & (np.arange(15) != per_user.rsap[k]))
        want = set(others[np.argsort(-gain[others, k], kind="stable")][:2]) | {per_user.rsap[k]}
        assert set(np.flatnonzero(per_user.mask[:, k])) == want


def test_user_without_candidates_gets_empty_cluster():
    cand = np.array([[True, False], [True, False]])
    d = form_clusters(cand, np.ones((2, 2)), np.ones((2, 2)))
    assert d.rsap.tolist() == [0, -1] and d.mask[:, 1].sum() == 0 and d.reason[1] == "no_eligible"


def test_empty_inputs():
    for n_sat, n_user in ((0, 4), (4, 0), (0, 0)):
        z = np.zeros((n_sat, n_user))
        d = form_clusters(z > 0, z, z, max_cluster_size=2, k_max=2)
        assert d.mask.shape == (n_sat, n_user) and d.rsap.tolist() == [-1] * n_user
        d2, rec = update_clusters(d, 1.0, z > 0, z, z, "max-service-time", k_max=1)
        assert len(rec) == 0 and d2.cluster_size.tolist() == [0] * n_user


def test_update_records_exactly_transform_previous_decision():
    rng = np.random.default_rng(2024)
    n_sat, n_user = 18, 9
    prev = ClusterDecision.empty(n_sat, n_user)
    n_rsap = n_join = n_leave = 0
    for step in range(60):
        el, gain, service = random_geometry(rng, n_sat, n_user)
        cand = candidate_mask(el, 0.3)
        new, rec = update_clusters(prev, float(step), cand, gain, service, "best-channel",
                                   hysteresis_db=1.0, time_to_trigger_s=2.0, max_cluster_size=4, k_max=5,
                                   cluster_hysteresis_db=1.0)
        mask, rsap = apply_records(prev.mask, prev.rsap, rec)
        np.testing.assert_array_equal(mask, new.mask)
        np.testing.assert_array_equal(rsap, new.rsap)
        rsap_users = rec.user_id[rec.kind == "rsap"]
        assert sorted(rsap_users) == list(np.flatnonzero(prev.rsap != new.rsap))  # one-to-one
        assert len(set(rsap_users)) == len(rsap_users)
        np.testing.assert_array_equal(rec.reason[rec.kind == "rsap"], new.reason[rsap_users])
        assert np.all(new.mask <= cand) and np.all(new.mask.sum(axis=0) <= 4)
        n_rsap += len(rsap_users)
        n_join += int(np.sum(rec.kind == "cluster_join"))
        n_leave += int(np.sum(rec.kind == "cluster_leave"))
        prev = new
    assert n_rsap > 0 and n_join > 0 and n_leave > 0  # the sequence exercised every kind


def test_incumbent_members_survive_a_binding_cap_with_cluster_hysteresis():
    cand = np.ones((3, 1), bool)
    service = np.ones((3, 1))
    prev = form_clusters(cand, np.array([[10.0], [2.0], [1.9]]), service, max_cluster_size=2)
    assert prev.mask[:, 0].tolist() == [True, True, False]
    newcomer_slightly_better = np.array([[10.0], [2.0], [2.2]])  # +0.41 dB over the incumbent
    sticky, rec = update_clusters(prev, 1.0, cand, newcomer_slightly_better, service,
                                  max_cluster_size=2, cluster_hysteresis_db=1.0)
    assert sticky.mask[:, 0].tolist() == [True, True, False] and len(rec) == 0
    greedy, rec = update_clusters(prev, 1.0, cand, newcomer_slightly_better, service, max_cluster_size=2)
    assert greedy.mask[:, 0].tolist() == [True, False, True]
    assert rec.kind.tolist() == ["cluster_leave", "cluster_join"]


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
    multi = diff_decisions(
        ClusterDecision(serving_mask(prev_rsap, 3), prev_rsap, np.full(4, "ok")),
        ClusterDecision(serving_mask(new_rsap, 3), new_rsap, np.full(4, "ok"), trigger="update"),
    )
    assert "inter_satellite" not in multi.kind and set(multi.reason[multi.kind != "rsap"]) == {"update"}


def test_max_service_time_decision_matches_select_rsap():
    rng = np.random.default_rng(5)
    el, gain, service = random_geometry(rng, 10, 30)
    cand = candidate_mask(el, 0.0)
    d = form_clusters(cand, gain, service, "max-service-time")
    np.testing.assert_array_equal(d.rsap, select_rsap(gain, service, cand, "max-service-time"))


def test_shape_mismatch_raises():
    d = ClusterDecision.empty(3, 2)
    z = np.zeros((4, 2))
    with pytest.raises(InputError, match="previous decision"):
        update_clusters(d, 0.0, z > 0, z, z)


def test_all_satellites_exactly_at_the_mask():
    el = np.full((4, 2), 0.3)
    gain = np.array([[1.0, 2.0], [3.0, 2.0], [2.0, 1.0], [3.0, 0.5]])
    service = np.zeros((4, 2))  # all about to set
    cand = candidate_mask(el, 0.3)
    assert cand.all()  # the mask is inclusive
    for policy in ("best-channel", "max-service-time"):
        d = form_clusters(cand, gain, service, policy, max_cluster_size=2)
        assert d.rsap.tolist() == [1, 0]  # ties → larger β → lower index
        assert d.cluster_size.tolist() == [2, 2] and set(d.reason) == {"acquire"}
