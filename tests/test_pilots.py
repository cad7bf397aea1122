"""Pilot assignment: least contamination (Björnson & Sanguinetti 2020 Sec. V-A, as 004 cites it)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from simulator.cooperation import pilots as pilots_module
from simulator.cooperation.pilots import assign_pilots, one_user_per_pilot, pilot_contamination
from simulator.errors import InputError


def test_doctests():
    result = doctest.testmod(pilots_module)
    assert result.failed == 0 and result.attempted > 0


def line_geometry(n_user: int, reach: int = 4):
    """Users and satellites alternating on a line: satellite l above user l, gain 10^(−|l−k|)
    within ``reach`` positions (0 beyond), cluster = the 3 nearest satellites."""
    pos = np.arange(n_user)
    dist = np.abs(pos[:, None] - pos[None, :]).astype(float)
    gain = np.where(dist <= reach, 10.0 ** (-dist), 0.0)
    return gain, dist <= 1


def test_co_pilot_users_are_as_far_apart_as_possible_on_a_line():
    n_user, n_pilots = 12, 3
    gain, mask = line_geometry(n_user)
    pilot = assign_pilots(gain, mask, n_pilots)
    assert pilot.tolist() == [0, 1, 2] * 4  # reuse distance 3
    spacing = min(abs(i - j) for i in range(n_user) for j in range(i) if pilot[i] == pilot[j])
    assert spacing == n_pilots  # 12 users on 3 pilots: no assignment can keep co-pilot users further apart


def test_first_users_get_orthogonal_pilots_and_each_choice_minimises_contamination():
    rng = np.random.default_rng(9)
    n_sat, n_user, n_pilots = 20, 40, 6
    gain = rng.exponential(size=(n_sat, n_user)) * (rng.random((n_sat, n_user)) < 0.4)
    mask = gain > np.quantile(gain[gain > 0], 0.5)
    mask[np.argmax(gain, axis=0), np.arange(n_user)] = True
    order = rng.permutation(n_user)
    pilot = assign_pilots(gain, mask, n_pilots, order=order)
    assert len(set(pilot[order[:n_pilots]])) == n_pilots
    for step, k in enumerate(order):  # replay with the batch formula of pilot_contamination
        partial = np.full(n_user, -1)
        partial[order[:step]] = pilot[order[:step]]
        c = pilot_contamination(gain, mask, partial, n_pilots)[k]
        assert c[pilot[k]] <= c.min() * (1 + 1e-12)  # relative: sums of the same terms in another order


def test_no_shared_pilot_within_overlapping_clusters_when_pilots_suffice():
    rng = np.random.default_rng(4)
    for _ in range(20):
        n_sat, n_user = 30, 25
        visible = rng.random((n_sat, n_user)) < 0.12
        gain = rng.exponential(size=(n_sat, n_user)) * visible
        mask = visible.copy()
        # users k hears: i contaminates k iff some serving satellite of k hears i
        hears = (mask.T.astype(int) @ visible.astype(int)) > 0
        np.fill_diagonal(hears, False)
        n_pilots = int(hears.sum(axis=1).max()) + 1  # greedy colouring bound
        pilot = assign_pilots(gain, mask, n_pilots)
        overlap = (mask.T.astype(int) @ mask.astype(int)) > 0
        np.fill_diagonal(overlap, False)
        same = pilot[:, None] == pilot[None, :]
        served = mask.any(axis=0)
        assert not np.any(overlap & same & served[:, None] & served[None, :])
        assert np.all(pilot[~served] == -1)


def test_kept_pilots_scope_rsap_and_ties():
    gain, mask = line_geometry(6)
    prev = np.array([2, -1, -1, -1, -1, 0])
    pilot = assign_pilots(gain, mask, 3, prev_pilot=prev)
    assert pilot[0] == 2 and pilot[5] == 0 and np.all(pilot >= 0)
    rsap = np.arange(6)
    by_rsap = assign_pilots(gain, mask, 2, rsap=rsap, scope="rsap")
    assert by_rsap.tolist() == [0, 1, 0, 1, 0, 1]
    isolated = np.eye(4)  # nobody contaminates anybody: every pilot ties
    a = assign_pilots(isolated, isolated > 0, 4, rng=np.random.default_rng(1))
    b = assign_pilots(isolated, isolated > 0, 4, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert len(set(a)) == 4  # ties go to the least-used pilot first
    with pytest.raises(InputError, match="n_pilots"):
        assign_pilots(gain, mask, 0)
    with pytest.raises(InputError, match="rsap"):
        assign_pilots(gain, mask, 2, scope="rsap")


def test_one_user_per_pilot_keeps_the_strongest():
    rng = np.random.default_rng(12)
    n_sat, n_user = 8, 30
    gain = rng.exponential(size=(n_sat, n_user))
    mask = rng.random((n_sat, n_user)) < 0.6
    pilot = rng.integers(0, 4, n_user)
    kept = one_user_per_pilot(mask, gain, pilot)
    assert np.all(kept <= mask)
    for l in range(n_sat):
        for t in range(4):
            users = np.flatnonzero(mask[l] & (pilot == t))
            assert kept[l, pilot == t].sum() == min(1, users.size)
            if users.size:
                assert kept[l, users[np.argmax(gain[l, users])]]
    rsap = np.argmax(np.where(mask, gain, -1), axis=0)
    rsap[~mask.any(axis=0)] = -1
    with_rsap = one_user_per_pilot(mask, gain, pilot, rsap)
    has = rsap >= 0
    assert np.all(with_rsap[rsap[has], np.flatnonzero(has)])


def test_empty_inputs():
    assert assign_pilots(np.zeros((0, 3)), np.zeros((0, 3), bool), 2).tolist() == [-1, -1, -1]
    assert assign_pilots(np.zeros((3, 0)), np.zeros((3, 0), bool), 2).tolist() == []
    assert one_user_per_pilot(np.zeros((0, 2), bool), np.zeros((0, 2)), np.array([0, 1])).shape == (0, 2)
