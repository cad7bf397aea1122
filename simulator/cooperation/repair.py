"""Local repair of a cluster decision between full reclusterings (a few tens of µs).

When a serving satellite sets (or becomes ineligible for a user) the central node does not wait
for the next full reclustering (000 Algorithm 1 or 004 Algorithm 2). :func:`repair`:

1. drops every link to an ineligible satellite (cluster_leave) and zeroes its power weight;
2. keeps every other link and its power weight unchanged: removing links only lowers the load
   Σ_k p_{l,k}² of the satellites concerned, so the per-satellite power constraint (000 eq 23c) and
   the K_max limit (000 eq 23b) still hold for everybody else;
3. hands the RSAP over where it was dropped, at once, to the policy's choice among the remaining
   members (the RSAP rule of :func:`~simulator.cooperation.rsap.rsap_step`, without time-to-trigger);
4. rescues each user left with no satellite: it takes the policy's best eligible satellite that has
   spare K_max capacity (deferred acceptance: a satellite with less spare capacity than proposals
   takes the strongest users, the others propose their next choice), with the uniform power share
   p² = 1/n_l (n_l = users of satellite l afterwards); that satellite's other weights are scaled by
   one common factor only if needed to keep Σ_k p_{l,k}² ≤ 1. The rescue satellite becomes the RSAP;
5. finally, any satellite whose load exceeds 1 (an over-full input) is scaled down to 1.

A user whose links all vanish and who finds no eligible satellite with spare capacity is left with
rsap −1 and an empty cluster (reason ``no_eligible`` or ``no_capacity``). Nothing raises, nothing is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from .clusters import ClusterDecision, diff_masks, serving_mask
from .rsap import HandoverRecords, check_policy, rsap_is_eligible, select_rsap, usable_links

__all__ = ["RepairResult", "repair"]

_STR = "<U24"
POWER_TOLERANCE = 1e-12  # relative excess of Σ p² over 1 treated as rounding (optimiser outputs)


@dataclass(frozen=True)
class RepairResult:
    """Outcome of :func:`repair`.

    Attributes
    ----------
    power : ndarray, shape (S, U) — power weights p_{l,k} ≥ 0, 0 outside the clusters
    mask : ndarray, shape (S, U), bool — serving clusters
    rsap : ndarray, shape (U,), int64 — −1 = none
    reason : ndarray, shape (U,), str — ``ok``, ``links_dropped`` (members lost, RSAP kept),
        ``rsap_ineligible`` (RSAP handed over), ``rescued``, ``no_eligible``, ``no_capacity``
    prev_mask, prev_rsap : ndarray — the mask and RSAPs that were repaired (the inputs, not copied)
    records : HandoverRecords — cluster_leave / cluster_join / rsap records (reason of join/leave:
        ``repair``); built from ``prev_*`` when first read (the replay records handovers itself)
    """

    power: np.ndarray
    mask: np.ndarray
    rsap: np.ndarray
    reason: np.ndarray
    prev_mask: np.ndarray = field(repr=False)
    prev_rsap: np.ndarray = field(repr=False)

    @cached_property
    def records(self) -> HandoverRecords:
        return diff_masks(self.prev_mask, self.prev_rsap, self.mask, self.rsap, rsap_reason=self.reason,
                          join_leave_reason="repair")

    def decision(self, prev: ClusterDecision) -> ClusterDecision:
        """The repaired decision, keeping ``prev``'s time-to-trigger timers of unchanged users."""
        state = prev.rsap_state.with_rsap(self.rsap)
        return ClusterDecision(self.mask, self.rsap, self.reason, "repair", state.better_since_s)


def _rescue(need: np.ndarray, allowed: np.ndarray, spare: np.ndarray, gain: np.ndarray,
            st: np.ndarray, policy: str) -> np.ndarray:
    """Deferred acceptance: (U,) chosen satellite for users in ``need`` (−1 where none)."""
    choice = np.full(need.size, -1, np.int64)
    pending = need.copy()
    spare = spare.copy()
    allowed = allowed.copy()
    while True:
        allowed &= (spare > 0)[:, None]
        users = np.flatnonzero(pending & allowed.any(axis=0))
        if users.size == 0:
            return choice
        prop = select_rsap(gain[:, users], st[:, users], allowed[:, users], policy)
        g = gain[prop, users]
        order = np.lexsort((-g, prop))  # by satellite, strongest first
        sat_sorted = prop[order]
        first = np.searchsorted(sat_sorted, sat_sorted, side="left")
        accept = np.zeros(users.size, bool)
        accept[order] = (np.arange(users.size) - first) < spare[sat_sorted]
        choice[users[accept]] = prop[accept]
        pending[users[accept]] = False
        spare -= np.bincount(prop[accept], minlength=spare.size)
        allowed[prop[~accept], users[~accept]] = False


def repair(
    power: ArrayLike,
    mask: ArrayLike,
    rsap: ArrayLike,
    eligible: ArrayLike,
    gain: ArrayLike,
    service_time_s: ArrayLike,
    *,
    k_max: int | ArrayLike | None = None,
    policy: str = "best-channel",
) -> RepairResult:
    """Drop ineligible links, re-anchor RSAPs and rescue stranded users (module docstring, steps 1–5).

    Parameters
    ----------
    power : ndarray, shape (S, U) — power weights p_{l,k} (Σ_k p_{l,k}² ≤ 1, 000 eq 23c)
    mask : ndarray, shape (S, U), bool — serving clusters in force
    rsap : ndarray, shape (U,), int — RSAP in force, −1 = none
    eligible : ndarray, shape (S, U), bool — links still usable (satellite above the mask)
    gain : ndarray, shape (S, U), linear — average channel gain β
    service_time_s : ndarray, shape (S, U), s — remaining service time
    k_max : int or ndarray (S,), optional — users per satellite (000 eq 23b); None = unlimited
    policy : str — RSAP policy (also ranks the rescue satellites)

    Returns
    -------
    RepairResult
    """
    check_policy(policy)
    gain = np.asarray(gain, float)
    st = np.asarray(service_time_s, float)
    elig = usable_links(eligible, gain, st)
    old_mask = np.asarray(mask, bool)
    old_rsap = np.asarray(rsap, np.int64)
    n_sat, n_user = old_mask.shape
    users = np.arange(n_user)
    keep = old_mask & elig
    p = np.where(keep, np.asarray(power, float), 0.0)
    rsap_new = old_rsap.copy()
    dropped = (old_mask & ~keep).any(axis=0)
    lost = (old_rsap >= 0) & ~rsap_is_eligible(old_rsap, keep)
    if not (dropped.any() or lost.any()) and np.all(np.einsum("lk,lk->l", p, p) <= 1.0 + POWER_TOLERANCE):
        return RepairResult(p, keep, rsap_new, np.full(n_user, "ok", _STR), old_mask, old_rsap)
    reason = np.where(dropped, "links_dropped", "ok").astype(_STR)
    if lost.any():
        rsap_new[lost] = select_rsap(gain[:, lost], st[:, lost], keep[:, lost], policy)
        reason[lost] = np.where(rsap_new[lost] >= 0, "rsap_ineligible", "no_eligible")
    stranded = old_mask.any(axis=0) & ~keep.any(axis=0)
    if stranded.any():
        count = keep.sum(axis=1)
        spare = np.full(n_sat, n_user + 1) if k_max is None else np.maximum(np.asarray(k_max) - count, 0)
        choice = _rescue(stranded, elig, spare, gain, st, policy)
        got = choice >= 0
        keep[choice[got], users[got]] = True
        rsap_new[stranded] = choice[stranded]
        reason[got] = "rescued"
        any_elig = elig.any(axis=0)
        reason[stranded & ~got] = np.where(any_elig[stranded & ~got], "no_capacity", "no_eligible")
        new_links = serving_mask(choice, n_sat)
        n_new = new_links.sum(axis=1)
        share = np.where(n_new > 0, 1.0 / np.maximum(count + n_new, 1), 0.0)  # uniform p² of a rescued user
        p = np.where(new_links, np.sqrt(share)[:, None], p)
        budget = 1.0 - n_new * share  # power left for the satellite's existing users
    else:
        new_links = np.zeros_like(keep)
        budget = np.ones(n_sat)
    load = np.sum(np.where(new_links, 0.0, p * p), axis=1)
    scale = np.where(load > budget * (1.0 + POWER_TOLERANCE), np.sqrt(budget / np.where(load > 0, load, 1.0)), 1.0)
    p = np.where(new_links, p, p * scale[:, None])
    return RepairResult(p, keep, rsap_new, reason, old_mask, old_rsap)
