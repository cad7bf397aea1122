"""Per-(scheme, RSAP policy) state of a replay — plain data, so it can be checkpointed and resumed.

A *lane* is one scheme run under one RSAP policy. All lanes see the same geometry and the same
per-link random draws (common random numbers, DESIGN.md "Event model"). The decision of a lane is
kept over its own candidate satellites (catalogue indices ``sats``); RSAP timers are kept over the
satellites currently visible to any user (``vis_sats`` of the replay), remapped when that set changes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..cooperation.rsap import RsapState
from ..cooperation.schemes import Scheme, SchemeDecision, get_scheme
from ..radio.statistical_csi import StatisticalCSI
from .geometry import to_local

__all__ = ["Lane", "Links", "PendingDecision", "Segment", "carry_decision", "remap_rsap_state"]


@dataclass
class PendingDecision:
    """A decision taken at ``decided_ns`` that takes effect at ``apply_ns`` (backhaul delay)."""

    apply_ns: int
    decided_ns: int
    sats: np.ndarray
    decision: SchemeDecision
    csi: StatisticalCSI
    trigger: str


@dataclass(frozen=True)
class Segment:
    """Steps a … b−1 of a chunk, logged under one decision with the RSAP ``rsap`` (catalogue index per
    user, −1 none) and ``n_serving`` serving satellites per user; evaluated later with its neighbours.
    ``decided_ns``: when the decision was taken (None without one)."""

    a: int
    b: int
    decision: SchemeDecision | None
    sats: np.ndarray
    rsap: np.ndarray
    n_serving: np.ndarray
    decided_ns: int | None = None


@dataclass(frozen=True)
class Links:
    """A lane's serving links at one instant: the mask (len(sats), U) on its satellites ``sats``
    (None without a decision), the RSAP (catalogue index per user, −1 none) and the beam per user."""

    sats: np.ndarray
    mask: np.ndarray | None
    rsap: np.ndarray
    beam: np.ndarray | None
    n_user: int

    def mask_on(self, axis: np.ndarray) -> np.ndarray:
        """Serving mask (len(axis), U) on the satellite axis ``axis`` (catalogue indices)."""
        return _mask_on(self.mask, self.sats, axis, self.n_user)


def _mask_on(mask: np.ndarray | None, sats: np.ndarray, axis: np.ndarray, n_user: int) -> np.ndarray:
    out = np.zeros((len(axis), n_user), bool)
    if mask is not None and len(sats):
        pos = to_local(axis, sats)
        ok = pos >= 0
        out[ok] = mask[pos[ok]]
    return out


@dataclass
class Lane:
    """Mutable state of one (scheme, policy) pair between events."""

    scheme: str
    policy: str
    n_user: int
    sats: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    decision: SchemeDecision | None = None
    csi: StatisticalCSI | None = None  # snapshot the decision was taken on
    rsap: np.ndarray | None = None  # (U,) catalogue index, −1 = none
    rsap_state: RsapState | None = None  # over the replay's vis_sats
    pending: list[PendingDecision] = field(default_factory=list)
    logged_until_ns: int = 0  # rates are recorded for every step < this instant
    decided_ns: int | None = None  # when the decision in force was taken (before its backhaul delay)
    #: steps logged but not yet evaluated (RateLog.flush); always empty between chunks
    segments: list[Segment] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.rsap is None:
            self.rsap = np.full(self.n_user, -1, np.int64)

    @property
    def name(self) -> str:
        return self.scheme

    @property
    def spec(self) -> Scheme:
        """The scheme's descriptor (looked up, not stored, so lanes pickle without code objects)."""
        return get_scheme(self.scheme)

    def mask_on(self, axis: np.ndarray) -> np.ndarray:
        """Serving mask (len(axis), U) on the satellite axis ``axis`` (catalogue indices)."""
        return _mask_on(None if self.decision is None else self.decision.mask, self.sats, axis, self.n_user)

    def links(self) -> "Links":
        """The serving links, RSAPs and beams in force, kept to compare with a later decision."""
        d = self.decision
        return Links(self.sats, None if d is None else d.mask, self.rsap.copy(),
                     None if d is None or d.beam is None else d.beam.copy(), self.n_user)

    def serving_count(self) -> np.ndarray:
        """Serving satellites per user (U,)."""
        if self.decision is None:
            return np.zeros(self.n_user, np.int64)
        return self.decision.mask.sum(axis=0).astype(np.int64)


def remap_rsap_state(state: RsapState | None, old_sats: np.ndarray, new_sats: np.ndarray,
                     rsap: np.ndarray) -> RsapState:
    """Carry RSAP timers from the satellite axis ``old_sats`` to ``new_sats`` (catalogue indices).

    Timers of satellites that stay are kept, new satellites start without a timer; ``rsap`` is the
    RSAP in force as catalogue indices.
    """
    timers = np.full((len(new_sats), len(rsap)), np.inf)
    if state is not None:
        pos = to_local(new_sats, old_sats)
        kept = pos >= 0
        timers[kept] = state.better_since_s[pos[kept]]
    return RsapState(to_local(rsap, new_sats), timers)


def carry_decision(prev: SchemeDecision | None, old_sats: np.ndarray, new_sats: np.ndarray) -> SchemeDecision | None:
    """The previous decision laid onto a new candidate set, as a warm start for the next one.

    The optimiser's power, ω and allowed links of satellites in both sets are kept; satellites new to
    the set start with power 0, ω = 1 and "not allowed before" (so :func:`~simulator.cooperation.
    algorithm1.algorithm1` treats their links as fresh, eq 30); satellites that left are dropped.
    Returns None when there is no optimiser state to carry (rule-based schemes, no decision yet).
    """
    if prev is None or prev.solver is None:
        return None
    if np.array_equal(old_sats, new_sats):
        return prev
    d = prev.solver
    pos = to_local(new_sats, old_sats)
    kept = pos >= 0
    n_user = d.power.shape[1]

    def rows(a: np.ndarray | None, fill) -> np.ndarray | None:
        if a is None:
            return None
        out = np.full((len(new_sats), n_user), fill, dtype=a.dtype)
        out[kept] = a[pos[kept]]
        return out

    solver = dataclasses.replace(d, power=rows(d.power, 0.0), cluster=rows(d.cluster, False),
                                 omega=rows(d.omega, 1.0), allowed=rows(d.allowed, False))
    return dataclasses.replace(prev, power=rows(prev.power, 0.0), mask=rows(prev.mask, False),
                               serving=np.full(n_user, -1, np.int64), solver=solver)
