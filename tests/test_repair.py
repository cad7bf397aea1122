"""Local repair: drop set satellites, keep constraints (000 eqs 23b–c), hand the RSAP over, rescue."""

from __future__ import annotations

import numpy as np

from simulator.cooperation.clusters import ClusterDecision, serving_mask
from simulator.cooperation.repair import RepairResult, repair
from simulator.cooperation.rsap import select_rsap

POWER_TOL = 1e-12  # Σ p² ≤ 1 up to rounding of the square roots


def feasible_power(mask, rng):
    """Random weights on the mask scaled so Σ_k p² = 1 on every loaded satellite (a full budget)."""
    p = rng.random(mask.shape) * mask
    load = (p**2).sum(axis=1, keepdims=True)
    return p / np.sqrt(np.where(load > 0, load, 1.0))


def scenario(seed, n_sat=30, n_user=10, k_max=5):
    rng = np.random.default_rng(seed)
    el = rng.uniform(-0.3, 1.3, (n_sat, n_user))
    gain = rng.exponential(size=(n_sat, n_user))
    service = rng.uniform(0.0, 600.0, (n_sat, n_user))
    cand = el > 0.0
    d = greedy_clusters(cand, gain, max_cluster_size=4, k_max=k_max)
    return rng, cand, gain, service, d, feasible_power(d.mask, rng)


def greedy_clusters(cand, gain, max_cluster_size, k_max):
    """Users in turn take their strongest candidates with room (≤ k_max users per satellite), up to
    ``max_cluster_size``; the RSAP is each user's strongest member."""
    n_sat, n_user = cand.shape
    mask = np.zeros((n_sat, n_user), bool)
    for k in range(n_user):
        for sat in np.argsort(-np.where(cand[:, k], gain[:, k], -np.inf), kind="stable"):
            if cand[sat, k] and mask[:, k].sum() < max_cluster_size and mask[sat].sum() < k_max:
                mask[sat, k] = True
    rsap = np.where(mask.any(axis=0), np.argmax(np.where(mask, gain, -np.inf), axis=0), -1)
    return ClusterDecision(mask, rsap, np.full(n_user, "acquire"), "initial")


def check_invariants(res: RepairResult, old_mask, old_power, eligible, k_max):
    assert np.all((res.power**2).sum(axis=1) <= 1.0 + POWER_TOL)  # 000 eq 23c
    assert np.all(res.mask.sum(axis=1) <= k_max)  # 000 eq 23b
    assert np.all(res.power[~res.mask] == 0.0) and np.all(res.power[res.mask] > 0.0)
    assert np.all(res.mask <= eligible)
    assert not np.isnan(res.power).any()
    users = np.arange(res.rsap.size)
    has = res.rsap >= 0
    assert np.all(res.mask[res.rsap[has], users[has]])
    assert np.all(res.mask.any(axis=0) == has)
    replay = old_mask.copy()
    for kind, u, f, t in zip(res.records.kind, res.records.user_id, res.records.from_sat, res.records.to_sat):
        if kind == "cluster_leave":
            replay[f, u] = False
        elif kind == "cluster_join":
            replay[t, u] = True
    np.testing.assert_array_equal(replay, res.mask)


def test_setting_satellite_is_dropped_and_rsap_handed_over():
    for seed in range(25):
        rng, cand, gain, service, d, p = scenario(seed)
        gone = d.rsap[rng.integers(0, 10)]
        elig = cand.copy()
        elig[gone] = False  # the satellite sets for every user
        res = repair(p, d.mask, d.rsap, elig, gain, service, k_max=5, policy="best-channel")
        check_invariants(res, d.mask, p, elig, 5)
        assert not res.mask[gone].any() and np.all(res.power[gone] == 0.0)
        moved = np.flatnonzero(d.rsap == gone)
        for k in moved:
            remaining = d.mask[:, k] & elig[:, k]
            if remaining.any():  # handed over to the best remaining member, links unchanged
                assert res.rsap[k] == np.flatnonzero(remaining)[np.argmax(gain[remaining, k])]
                assert res.reason[k] == "rsap_ineligible"
                np.testing.assert_array_equal(res.mask[:, k], remaining)
        rsap_rec = res.records.user_id[res.records.kind == "rsap"]
        assert sorted(rsap_rec) == list(np.flatnonzero(res.rsap != d.rsap))
        untouched = ~np.isin(np.arange(d.mask.shape[0]), res.records.to_sat)  # no rescue joined these
        np.testing.assert_array_equal(res.power[untouched & (np.arange(30) != gone)],
                                      p[untouched & (np.arange(30) != gone)])


def test_stranded_user_is_rescued_with_uniform_power():
    n_sat, n_user = 4, 3
    gain = np.array([[5.0, 1.0, 1.0], [1.0, 1.0, 2.0], [3.0, 9.0, 1.0], [4.0, 1.0, 1.0]])
    service = np.full((n_sat, n_user), 100.0)
    mask = np.zeros((n_sat, n_user), bool)
    mask[0, 0] = True  # user 0 only on sat 0, which sets
    mask[3, 1] = mask[3, 2] = True  # sat 3 full power on users 1, 2
    p = np.where(mask, np.sqrt(0.5), 0.0)
    p[0, 0] = 1.0
    elig = np.ones((n_sat, n_user), bool)
    elig[0] = False
    res = repair(p, mask, np.array([0, 3, 3]), elig, gain, service, k_max=3)
    assert res.rsap[0] == 3 and res.reason[0] == "rescued"  # strongest eligible with spare capacity
    np.testing.assert_allclose(res.power[3, 0] ** 2, 1.0 / 3.0)  # uniform share, 3 users on sat 3
    np.testing.assert_allclose((res.power[3] ** 2).sum(), 1.0)  # others scaled into the budget
    np.testing.assert_allclose(res.power[3, 1] / res.power[3, 2], 1.0)  # one common factor
    check_invariants(res, mask, p, elig, 3)
    full = repair(p, mask, np.array([0, 3, 3]), elig, gain, service, k_max=2)
    assert full.rsap[0] == 2 and np.isclose(full.power[2, 0], 1.0)  # sat 3 full: next choice, alone
    np.testing.assert_array_equal(full.power[3], p[3])  # sat 3 not touched
    by_time = service.copy()
    by_time[1, 0] = 500.0
    mst = repair(p, mask, np.array([0, 3, 3]), elig, gain, by_time, k_max=3, policy="max-service-time")
    assert mst.rsap[0] == 1  # rescue ranked by the RSAP policy


def test_rescue_competition_respects_capacity():
    # 5 stranded users all prefer sat 0 (capacity 2): the 2 strongest get it, the rest move on
    gain = np.array([[9.0, 8.0, 7.0, 6.0, 5.0], [1.0, 1.0, 1.0, 1.0, 1.0], [0.5, 0.5, 0.5, 0.5, 0.5]])
    mask = np.zeros((4, 5), bool)
    mask[3] = True
    gain = np.vstack([gain, np.ones(5)])
    p = np.where(mask, np.sqrt(0.2), 0.0)
    elig = np.ones_like(mask)
    elig[3] = False
    res = repair(p, mask, np.full(5, 3), elig, gain, np.ones_like(gain), k_max=2)
    assert res.rsap.tolist() == [0, 0, 1, 1, 2]
    check_invariants(res, mask, p, elig, 2)
    res = repair(p, mask, np.full(5, 3), elig & (np.arange(4) == 0)[:, None], gain, np.ones_like(gain), k_max=2)
    assert res.rsap.tolist() == [0, 0, -1, -1, -1]
    assert res.reason.tolist() == ["rescued"] * 2 + ["no_capacity"] * 3
    nobody = repair(p, mask, np.full(5, 3), np.zeros_like(mask), gain, np.ones_like(gain), k_max=2)
    assert nobody.rsap.tolist() == [-1] * 5 and set(nobody.reason) == {"no_eligible"}
    assert not nobody.mask.any() and np.all(nobody.power == 0.0)
    assert sorted(nobody.records.kind) == ["cluster_leave"] * 5 + ["rsap"] * 5


def test_nothing_to_repair_and_overfull_input():
    rng, cand, gain, service, d, p = scenario(3)
    res = repair(p, d.mask, d.rsap, cand, gain, service, k_max=5)
    assert len(res.records) == 0 and set(res.reason) == {"ok"}
    np.testing.assert_array_equal(res.power, p)
    res = repair(2.0 * p, d.mask, d.rsap, cand, gain, service, k_max=5)
    np.testing.assert_allclose(res.power, p, rtol=1e-12)  # each loaded satellite scaled back to Σ p² = 1


def test_empty_inputs_and_decision_helper():
    for n_sat, n_user in ((0, 3), (3, 0), (0, 0)):
        z = np.zeros((n_sat, n_user))
        res = repair(z, z > 0, np.full(n_user, -1), z > 0, z, z, k_max=2)
        assert res.power.shape == (n_sat, n_user) and res.rsap.tolist() == [-1] * n_user
    mask = serving_mask(np.array([0, 1]), 2)
    prev = ClusterDecision(mask, np.array([0, 1]), np.full(2, "ok"), better_since_s=np.array([[np.inf, 5.0], [3.0, np.inf]]))
    elig = np.array([[False, True], [True, True]])
    res = repair(mask * 1.0, mask, prev.rsap, elig, np.ones((2, 2)), np.ones((2, 2)))
    d = res.decision(prev)
    assert d.rsap.tolist() == [1, 1] and d.trigger == "repair"
    assert np.isinf(d.better_since_s[:, 0]).all() and d.better_since_s[0, 1] == 5.0  # user 0's timers reset
    assert select_rsap(np.ones((2, 2)), np.ones((2, 2)), d.mask, "best-channel").tolist() == [1, 1]
