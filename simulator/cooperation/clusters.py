"""Serving clusters with a reference satellite: the decision record, RSAP masks and handover diffs.

:class:`ClusterDecision` is the clusters and RSAPs in force (what a local repair,
:func:`~simulator.cooperation.repair.repair`, takes and returns); :func:`diff_masks` turns two
decisions into the ``handovers`` rows between them. How 004's clusters are formed and updated in a
replay — the UC-DMIMO decision at each reclustering (:mod:`simulator.cooperation.families.ucdmimo`),
the RSAP rule at every CSI refresh and the local repair at a set — is in ``docs/rsap-and-clusters.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .rsap import HandoverRecords, RsapState

__all__ = [
    "ClusterDecision",
    "serving_mask",
    "diff_masks",
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


def serving_mask(rsap: ArrayLike, n_sat: int) -> np.ndarray:
    """One-hot (S, U) mask of each user's RSAP (the whole cluster of single-satellite schemes).

    >>> serving_mask([1, -1], 2).astype(int).tolist()
    [[0, 0], [1, 0]]
    """
    rsap = np.asarray(rsap, dtype=np.int64)
    return (np.arange(n_sat)[:, None] == rsap[None, :]) & (rsap >= 0)[None, :]


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
