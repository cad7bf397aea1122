"""User-centric serving clusters with a reference satellite (004 Sec. III-A, Algorithms 1 and 2).

004 connects each user k to the satellites in its vicinity — the candidate set S_k of satellites
above a minimum elevation — and anchors it to an RSAP chosen by best channel or maximum service
time. The bodies of 004's Algorithm 1 (initial serving-cluster formation) and Algorithm 2 (cluster
update and handover) were lost in text extraction; only their inputs and outputs survive. They are
reconstructed here from the prose and from the scalable cell-free procedure 004 builds on
(Björnson & Sanguinetti 2020, Sec. V-A: master AP by best channel, clusters from the master's
neighbourhood); ``docs/rsap-and-clusters.md`` gives the pseudo-code and every choice made.

Algorithm 1 (initial formation) is Algorithm 2 applied to an empty previous decision, so both share
one code path: RSAP by :func:`~simulator.cooperation.rsap.rsap_step`, then the members
(candidates, strongest first, optional per-user and per-satellite caps, the RSAP always kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..units import db_to_lin
from .rsap import HandoverRecords, RsapState, rsap_step, usable_links

__all__ = [
    "ClusterDecision",
    "candidate_mask",
    "form_clusters",
    "update_clusters",
    "serving_mask",
    "diff_masks",
    "diff_decisions",
]

_STR = "<U24"


@dataclass(frozen=True)
class ClusterDecision:
    """Serving clusters and RSAPs in force, as decided by the central node.

    Attributes
    ----------
    mask : ndarray, shape (S, U), bool — mask[l, k] = satellite l serves user k (004 eq 12 indicator)
    rsap : ndarray, shape (U,), int64 — RSAP per user, −1 = none (then the cluster is empty)
    reason : ndarray, shape (U,), str — per-user outcome: ``ok`` (RSAP kept), ``acquire``,
        ``rsap_ineligible``, ``better_channel`` (RSAP changed this decision, and why),
        ``no_eligible`` (no satellite above the mask: empty cluster, rsap −1)
    trigger : str — what produced the decision (``initial``, ``update``, ``repair``, …)
    better_since_s : ndarray, shape (S, U), s, optional — time-to-trigger timers of
        :class:`~simulator.cooperation.rsap.RsapState` (+inf = none running; None = all +inf)
    """

    mask: np.ndarray
    rsap: np.ndarray
    reason: np.ndarray
    trigger: str = "update"
    better_since_s: np.ndarray | None = None

    @classmethod
    def empty(cls, n_sat: int, n_user: int, trigger: str = "initial") -> "ClusterDecision":
        """Nobody served: the previous decision of Algorithm 1."""
        return cls(np.zeros((n_sat, n_user), bool), np.full(n_user, -1, np.int64),
                   np.full(n_user, "no_eligible", _STR), trigger)

    @property
    def n_sat(self) -> int:
        return int(self.mask.shape[0])

    @property
    def n_user(self) -> int:
        return int(self.mask.shape[1])

    @property
    def cluster_size(self) -> np.ndarray:
        """(U,) int — number of serving satellites per user (004 Fig 4)."""
        return self.mask.sum(axis=0)

    @property
    def rsap_state(self) -> RsapState:
        """The RSAP part of the decision, for :func:`~simulator.cooperation.rsap.rsap_step`."""
        since = self.better_since_s if self.better_since_s is not None else np.full(self.mask.shape, np.inf)
        return RsapState(np.asarray(self.rsap, np.int64), since)


def candidate_mask(
    elevation_rad: ArrayLike,
    min_elevation_rad: float,
    gain: ArrayLike | None = None,
    max_candidate_sats: int | None = None,
    visible: ArrayLike | None = None,
) -> np.ndarray:
    """Candidate serving satellites S_k = {l : el_{l,k} ≥ mask} (004 Sec. III-A).

    Parameters
    ----------
    elevation_rad : ndarray, shape (..., S, U), rad — NaN (could not compute) is never a candidate
    min_elevation_rad : float, rad — minimum elevation (a satellite exactly at the mask qualifies)
    gain : ndarray, shape (..., S, U), linear, optional — ranks candidates for ``max_candidate_sats``
    max_candidate_sats : int, optional — keep only this many strongest candidates per user
    visible : ndarray, shape (..., S, U), bool, optional — extra visibility mask (e.g. SGP4 valid)

    Returns
    -------
    ndarray, shape (..., S, U), bool

    >>> candidate_mask([[0.5], [0.1], [0.3]], 0.2, gain=[[1.0], [9.0], [2.0]], max_candidate_sats=1).ravel()
    array([False, False,  True])
    """
    el = np.asarray(elevation_rad, dtype=float)
    mask = el >= min_elevation_rad
    if visible is not None:
        mask &= np.asarray(visible, dtype=bool)
    if max_candidate_sats is None:
        return mask
    if gain is None:
        raise InputError("max_candidate_sats needs gain to rank the candidates")
    return _top_n(np.asarray(gain, dtype=float), mask, _positive_cap(max_candidate_sats, "max_candidate_sats"), axis=-2)


def _positive_cap(n: int | ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(n)
    if arr.size and (arr.min() < 1 or not np.all(np.equal(np.mod(arr, 1), 0))):
        raise InputError(f"{name}={n!r} must be a positive integer (or an array of them, one per user)")
    return arr.astype(np.int64)


def _top_n(score: np.ndarray, allowed: np.ndarray, n: np.ndarray, axis: int,
           forced: np.ndarray | None = None) -> np.ndarray:
    """Keep, along ``axis``, the ``n`` allowed entries of largest score (forced entries rank first
    and are always kept, lower index first on ties). ``n`` broadcasts against the rank array."""
    key = np.where(allowed, score, -np.inf)
    if forced is not None:
        key = np.where(forced, np.inf, key)
    rank = np.argsort(np.argsort(-key, axis=axis, kind="stable"), axis=axis, kind="stable")
    keep = allowed & (rank < n)
    return keep if forced is None else keep | forced


def _members(eligible: np.ndarray, score: np.ndarray, rsap: np.ndarray,
             max_cluster_size: int | ArrayLike | None, k_max: int | None) -> np.ndarray:
    """Serving cluster: eligible satellites, capped per user then per satellite; RSAP always in."""
    forced = serving_mask(rsap, eligible.shape[0])
    mask = eligible | forced
    if max_cluster_size is not None:
        mask = _top_n(score, mask, _positive_cap(max_cluster_size, "max_cluster_size"), axis=0, forced=forced)
    if k_max is not None:
        cap = _positive_cap(k_max, "k_max")  # scalar, or (S,) one per satellite
        mask = _top_n(score, mask, cap[:, None] if cap.ndim else cap, axis=1, forced=forced)
    return mask


def serving_mask(rsap: ArrayLike, n_sat: int) -> np.ndarray:
    """One-hot (S, U) mask of each user's RSAP (the whole cluster of single-satellite schemes).

    >>> serving_mask([1, -1], 2).astype(int).tolist()
    [[0, 0], [1, 0]]
    """
    rsap = np.asarray(rsap, dtype=np.int64)
    return (np.arange(n_sat)[:, None] == rsap[None, :]) & (rsap >= 0)[None, :]


def update_clusters(
    prev: ClusterDecision,
    now_s: float,
    candidates: ArrayLike,
    gain: ArrayLike,
    service_time_s: ArrayLike,
    policy: str = "best-channel",
    *,
    hysteresis_db: float = 0.0,
    time_to_trigger_s: float = 0.0,
    max_cluster_size: int | ArrayLike | None = None,
    k_max: int | ArrayLike | None = None,
    cluster_hysteresis_db: float = 0.0,
    trigger: str = "update",
) -> tuple[ClusterDecision, HandoverRecords]:
    """Cluster update and handover (004 Algorithm 2, reconstructed).

    For every user k, with candidate set S_k (satellites above the mask):

    1. RSAP: keep it while it is a candidate; if it left S_k (it set) hand over at once to the
       policy's choice in S_k; under ``best-channel`` also hand over to a candidate better by
       ``hysteresis_db`` for ``time_to_trigger_s`` (:func:`~simulator.cooperation.rsap.rsap_step`).
    2. Leave: members no longer in S_k leave the cluster.
    3. Join: candidates not yet members join, strongest first, while the caps allow: at most
       ``max_cluster_size`` satellites per user, then at most ``k_max`` users per satellite (the
       strongest links win; incumbent members get a ``cluster_hysteresis_db`` bonus so the cluster
       does not churn at the cap boundary). The RSAP link is never dropped by a cap, so a satellite
       that is RSAP of more than ``k_max`` users keeps all of them.

    Parameters
    ----------
    prev : ClusterDecision — decision in force (``ClusterDecision.empty`` for Algorithm 1)
    now_s : float, s — time of the update
    candidates : ndarray, shape (S, U), bool — S_k, e.g. from :func:`candidate_mask`
    gain : ndarray, shape (S, U), linear — average channel gain β
    service_time_s : ndarray, shape (S, U), s — remaining service time T_{k,l}
    policy : str — RSAP policy, ``best-channel`` or ``max-service-time``
    hysteresis_db, time_to_trigger_s : float — RSAP handover rule (``best-channel`` only)
    max_cluster_size : int or ndarray (U,), optional — per-user cluster size limit
    k_max : int or ndarray (S,), optional — users per satellite (000 eq 23b)
    cluster_hysteresis_db : float, dB — bonus of incumbent members when a cap binds
    trigger : str — recorded in the decision and as the reason of join/leave records

    Returns
    -------
    decision : ClusterDecision
    handovers : HandoverRecords — rsap, cluster_leave and cluster_join records (:func:`diff_decisions`)
    """
    gain = np.asarray(gain, dtype=float)
    st = np.asarray(service_time_s, dtype=float)
    elig = usable_links(candidates, gain, st)
    if prev.mask.shape != elig.shape:
        raise InputError(f"previous decision has (S, U) = {prev.mask.shape}, inputs have {elig.shape}")
    state, rsap_records = rsap_step(prev.rsap_state, now_s, gain, st, elig, policy, hysteresis_db, time_to_trigger_s)
    reason = np.where(state.rsap >= 0, "ok", "no_eligible").astype(_STR)
    reason[rsap_records.user_id] = rsap_records.reason
    bonus = np.where(prev.mask, db_to_lin(cluster_hysteresis_db), 1.0)
    mask = _members(elig, np.where(elig, gain, 0.0) * bonus, state.rsap, max_cluster_size, k_max)
    new = ClusterDecision(mask, state.rsap, reason, trigger, state.better_since_s)
    return new, diff_decisions(prev, new)


def form_clusters(
    candidates: ArrayLike,
    gain: ArrayLike,
    service_time_s: ArrayLike,
    policy: str = "best-channel",
    *,
    max_cluster_size: int | ArrayLike | None = None,
    k_max: int | None = None,
    now_s: float = 0.0,
) -> ClusterDecision:
    """Initial serving-cluster formation (004 Algorithm 1, reconstructed).

    For every user k: RSAP r_k = argmax_{l ∈ S_k} β_{l,k} (best channel) or argmax_{l ∈ S_k}
    T_{k,l}, ties by β (max service time); serving cluster = S_k (strongest first within the caps,
    r_k always included). A user with S_k = ∅ gets r_k = −1, an empty cluster and reason
    ``no_eligible``. Same as :func:`update_clusters` from :meth:`ClusterDecision.empty`.

    >>> d = form_clusters([[True], [True]], [[1.0], [4.0]], [[300.0], [60.0]], "max-service-time")
    >>> int(d.rsap[0]), d.mask.ravel().tolist()
    (0, [True, True])
    """
    cand = np.asarray(candidates, dtype=bool)
    empty = ClusterDecision.empty(*cand.shape)
    decision, _ = update_clusters(empty, now_s, cand, gain, service_time_s, policy,
                                  max_cluster_size=max_cluster_size, k_max=k_max, trigger="initial")
    return decision


def diff_masks(
    prev_mask: ArrayLike,
    prev_rsap: ArrayLike,
    new_mask: ArrayLike,
    new_rsap: ArrayLike,
    *,
    rsap_reason: ArrayLike | str = "",
    join_leave_reason: str = "",
    prev_beam: ArrayLike | None = None,
    new_beam: ArrayLike | None = None,
    single_serving: bool = False,
    sat_index: ArrayLike | None = None,
) -> HandoverRecords:
    """Handover records that turn (prev_mask, prev_rsap) into (new_mask, new_rsap).

    - ``rsap``: one record per user whose RSAP differs (from/to may be −1: access / loss);
    - ``single_serving=True`` (one serving satellite = the RSAP): the same users again as
      ``inter_satellite``, and no join/leave records;
    - otherwise ``cluster_leave`` for every link in prev only and ``cluster_join`` for every link in
      new only (user-major order);
    - ``inter_beam`` when beams are given: same serving satellite (RSAP), different beam.
    Beams (−1 = none) are copied onto rsap/inter_satellite records when given.

    Parameters
    ----------
    prev_mask, new_mask : ndarray, shape (S, U), bool
    prev_rsap, new_rsap : ndarray, shape (U,), int
    rsap_reason : str or ndarray (U,) — reason written on each user's rsap/inter_satellite record
    join_leave_reason : str — reason written on join/leave records
    prev_beam, new_beam : ndarray, shape (U,), int, optional — serving beam per user
    sat_index : ndarray, shape (S,), int, optional — the satellite index of each mask row, written on
        join/leave records (default: the row number). The RSAPs are satellite indices already. An
        increasing ``sat_index`` gives the records in the order of masks over all satellites.

    Returns
    -------
    HandoverRecords in the order rsap, inter_satellite, inter_beam, cluster_leave, cluster_join
    """
    pm, nm = np.asarray(prev_mask, bool), np.asarray(new_mask, bool)
    pr, nr = np.asarray(prev_rsap, np.int64), np.asarray(new_rsap, np.int64)
    n_user = pr.size
    pb = np.full(n_user, -1, np.int64) if prev_beam is None else np.asarray(prev_beam, np.int64)
    nb = np.full(n_user, -1, np.int64) if new_beam is None else np.asarray(new_beam, np.int64)
    why = np.broadcast_to(np.asarray(rsap_reason, _STR), (n_user,))
    ch = np.flatnonzero(pr != nr)
    parts = []
    if ch.size:
        kinds = ("rsap", "inter_satellite") if single_serving else ("rsap",)
        parts += [HandoverRecords.build(kind, ch, pr[ch], nr[ch], from_beam=pb[ch], to_beam=nb[ch], reason=why[ch])
                  for kind in kinds]
    if prev_beam is not None and new_beam is not None:
        b = np.flatnonzero((pr == nr) & (nr >= 0) & (pb != nb))
        if b.size:
            parts.append(HandoverRecords.build("inter_beam", b, nr[b], nr[b], from_beam=pb[b], to_beam=nb[b],
                                               reason=why[b]))
    if not single_serving:
        for kind, links in (("cluster_leave", pm & ~nm), ("cluster_join", nm & ~pm)):
            if links.any():
                user, sat = np.nonzero(links.T)
                if sat_index is not None:
                    sat = np.asarray(sat_index, np.int64)[sat]
                from_sat, to_sat = (sat, -1) if kind == "cluster_leave" else (-1, sat)
                parts.append(HandoverRecords.build(kind, user, from_sat, to_sat, reason=join_leave_reason))
    return HandoverRecords.concat(parts)


def diff_decisions(
    prev: ClusterDecision,
    new: ClusterDecision,
    *,
    prev_beam: ArrayLike | None = None,
    new_beam: ArrayLike | None = None,
    single_serving: bool = False,
) -> HandoverRecords:
    """Handover records between two decisions (:func:`diff_masks`; reasons from ``new``).

    >>> a = ClusterDecision(np.array([[True], [False]]), np.array([0]), np.array(["ok"]))
    >>> b = ClusterDecision(np.array([[False], [True]]), np.array([1]), np.array(["rsap_ineligible"]))
    >>> diff_decisions(a, b).kind.tolist()
    ['rsap', 'cluster_leave', 'cluster_join']
    """
    return diff_masks(prev.mask, prev.rsap, new.mask, new.rsap, rsap_reason=new.reason,
                      join_leave_reason=new.trigger, prev_beam=prev_beam, new_beam=new_beam,
                      single_serving=single_serving)
