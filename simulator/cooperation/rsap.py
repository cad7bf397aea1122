"""Reference-satellite (RSAP) selection: policies, hysteresis/time-to-trigger, remaining service time.

Every user is anchored to one reference satellite access point, the RSAP (004 Sec. III-A): it
serves the user, assigns its pilot and forwards its data to the other members of its serving
cluster. For single-satellite schemes the RSAP *is* the serving satellite. Two policies choose it
(004 Sec. III-A, criteria a and b):

- ``best-channel`` — the eligible satellite with the largest average channel gain β (linear);
- ``max-service-time`` — the eligible satellite that stays above the elevation mask longest
  (largest remaining service time, known in advance from the ephemeris); ties go to the larger β.

:func:`rsap_step` is the per-event rule (DESIGN "Event model"): a user whose RSAP leaves the eligible
set (sets, or leaves the cluster) is handed over at once by the policy; under ``best-channel`` a user
is also handed over when another eligible satellite is better by more than ``hysteresis_db``
continuously for ``time_to_trigger_s`` (3GPP TS 38.331 event A3 semantics: strict inequality, one
timer per neighbour). ``max-service-time`` keeps its RSAP until it is no longer eligible.

Every function is pure: the previous decision comes in as a frozen :class:`RsapState`, a new one
goes out. Handover records are :class:`HandoverRecords` (columns of the ``handovers`` table).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..units import db_to_lin

__all__ = [
    "POLICIES",
    "RsapPolicy",
    "register_policy",
    "HANDOVER_KINDS",
    "TIME_TOLERANCE_S",
    "HandoverRecords",
    "RsapState",
    "check_policy",
    "usable_links",
    "prefer_lasting",
    "rsap_is_eligible",
    "select_rsap",
    "rsap_step",
    "remaining_service_time_s",
    "set_times_from_elevation",
    "service_time_from_elevation",
    "remaining_service_time_from_passes",
]

BEST_CHANNEL = "best-channel"
MAX_SERVICE_TIME = "max-service-time"
HANDOVER_KINDS = ("rsap", "inter_satellite", "inter_beam", "cluster_join", "cluster_leave")
TIME_TOLERANCE_S = 1e-9  # s: the engine's time resolution (1 ns); absorbs float rounding of ns → s
_STR = "<U24"  # dtype of kind/reason columns


@dataclass(frozen=True)
class HandoverRecords:
    """Handover events as columns (the ``handovers`` table without time/scheme/policy).

    Attributes
    ----------
    kind : ndarray, shape (N,), str — one of :data:`HANDOVER_KINDS`
    user_id : ndarray, shape (N,), int64 — user index
    from_sat, to_sat : ndarray, shape (N,), int64 — satellite index, −1 for "none" (an access has
        ``from_sat = -1``, a loss of service ``to_sat = -1``; ``cluster_join`` has ``from_sat = -1``,
        ``cluster_leave`` has ``to_sat = -1``)
    from_beam, to_beam : ndarray, shape (N,), int64 — beam index, −1 where beams do not apply
    reason : ndarray, shape (N,), str — why: ``acquire``, ``rsap_ineligible``, ``better_channel``,
        ``no_eligible``, ``rescued`` for RSAP changes; the decision trigger for join/leave
    """

    kind: np.ndarray
    user_id: np.ndarray
    from_sat: np.ndarray
    to_sat: np.ndarray
    from_beam: np.ndarray
    to_beam: np.ndarray
    reason: np.ndarray

    @classmethod
    def build(cls, kind: str, user_id: ArrayLike, from_sat: ArrayLike, to_sat: ArrayLike, *,
              from_beam: ArrayLike | None = None, to_beam: ArrayLike | None = None,
              reason: ArrayLike | str = "") -> "HandoverRecords":
        """Records of one kind; beams default to −1, a scalar reason is broadcast."""
        user = np.asarray(user_id, dtype=np.int64).ravel()
        n = user.size

        def col(x: ArrayLike | None) -> np.ndarray:
            a = np.asarray(-1 if x is None else x, dtype=np.int64)
            return a.ravel() if a.ndim else np.full(n, a, np.int64)

        why = np.full(n, reason, _STR) if isinstance(reason, str) else np.asarray(reason, _STR).ravel()
        return cls(np.full(n, kind, _STR), user, col(from_sat), col(to_sat), col(from_beam), col(to_beam), why)

    @classmethod
    def empty(cls) -> "HandoverRecords":
        return cls.build("rsap", [], [], [])

    @classmethod
    def concat(cls, parts: "list[HandoverRecords]") -> "HandoverRecords":
        """All records of ``parts``, in order."""
        parts = [p for p in parts if len(p)] or parts[:1]
        if len(parts) <= 1:
            return parts[0] if parts else cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__))

    def __len__(self) -> int:
        return int(self.user_id.size)

    def columns(self) -> dict[str, np.ndarray]:
        """Column name → array, ready for ``pandas.DataFrame`` or ``pyarrow.table``."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True)
class RsapState:
    """The RSAP decision in force and the time-to-trigger timers.

    Attributes
    ----------
    rsap : ndarray, shape (U,), int64 — RSAP satellite index per user, −1 = none
    better_since_s : ndarray, shape (S, U), s — start of the current uninterrupted run during which
        satellite l has been better than user k's RSAP by more than the hysteresis; +inf = not
        better now (only ``best-channel`` uses it)
    """

    rsap: np.ndarray
    better_since_s: np.ndarray

    @classmethod
    def initial(cls, n_sat: int, n_user: int) -> "RsapState":
        """No RSAP for anybody, no timer running."""
        return cls(np.full(n_user, -1, np.int64), np.full((n_sat, n_user), np.inf))

    @property
    def pending(self) -> np.ndarray:
        """(U,) int — the candidate whose timer started first (−1 if none is running)."""
        if self.better_since_s.shape[0] == 0:
            return np.full(self.rsap.shape, -1, np.int64)
        first = np.argmin(self.better_since_s, axis=0)
        running = np.isfinite(self.better_since_s).any(axis=0)
        return np.where(running, first, -1).astype(np.int64)

    @property
    def pending_since_s(self) -> np.ndarray:
        """(U,) s — when the pending candidate started to be better; +inf where none is pending."""
        if self.better_since_s.shape[0] == 0:
            return np.full(self.rsap.shape, np.inf)
        return self.better_since_s.min(axis=0)

    def with_rsap(self, rsap: ArrayLike) -> "RsapState":
        """The state after an RSAP change made elsewhere (e.g. local repair): timers of users whose
        RSAP changed restart at the next :func:`rsap_step`."""
        rsap = np.asarray(rsap, dtype=np.int64)
        changed = rsap != self.rsap
        return RsapState(rsap.copy(), np.where(changed[None, :], np.inf, self.better_since_s))


@dataclass(frozen=True)
class RsapPolicy:
    """An RSAP policy: how it chooses among eligible satellites, and whether it hands over to a
    better channel while its RSAP is still eligible (``docs/contributing.md``, "Add an RSAP policy").

    Attributes
    ----------
    name : str — registry name (scenario ``[schemes] rsap_policies``, the ``rsap_policy`` column)
    candidates : callable ``(gain, service_time_s, eligible) -> eligible`` — the satellites the
        choice is made among, each array (..., S, U); the strongest of them (largest β) is taken,
        remaining ties to the lower index
    hands_over_to_better : bool — hysteresis/time-to-trigger handover to a better channel
        (:func:`rsap_step` rule 2); otherwise the RSAP is kept until it is no longer eligible
    """

    name: str
    candidates: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    hands_over_to_better: bool = False


def _every_eligible(gain: np.ndarray, st: np.ndarray, elig: np.ndarray) -> np.ndarray:
    return elig


def _longest_service(gain: np.ndarray, st: np.ndarray, elig: np.ndarray) -> np.ndarray:
    """The eligible satellites with the largest remaining service time (within 1 ns)."""
    s = np.where(elig, st, -np.inf)
    return elig & (s >= s.max(axis=-2, keepdims=True) - TIME_TOLERANCE_S)


#: Every RSAP policy by name (004 Sec. III-A criteria a and b); :func:`register_policy` adds one.
POLICIES: dict[str, RsapPolicy] = {
    p.name: p for p in (RsapPolicy(BEST_CHANNEL, _every_eligible, hands_over_to_better=True),
                        RsapPolicy(MAX_SERVICE_TIME, _longest_service))
}


def register_policy(policy: RsapPolicy, *, replace: bool = False) -> RsapPolicy:
    """Add ``policy`` to :data:`POLICIES` (``replace=True`` to redefine a name); returns it."""
    if not isinstance(policy, RsapPolicy):
        raise InputError(f"register_policy takes an RsapPolicy, got {type(policy).__name__}")
    if policy.name in POLICIES and not replace:
        raise InputError(f"RSAP policy {policy.name!r} is already registered; pass replace=True to redefine it")
    POLICIES[policy.name] = policy
    return policy


def check_policy(policy: str) -> str:
    """Return ``policy`` if it is one of :data:`POLICIES`, else raise :class:`InputError`."""
    if policy not in POLICIES:
        raise InputError(f"rsap_policy={policy!r} is not a policy; use one of {', '.join(POLICIES)}")
    return policy


def usable_links(eligible: ArrayLike, gain: ArrayLike, service_time_s: ArrayLike) -> np.ndarray:
    """Eligible links whose gain is finite and whose service time is known (not NaN); NaN marks
    "could not compute" (e.g. an SGP4 failure) and such a link is never chosen."""
    g = np.asarray(gain, dtype=float)
    return np.asarray(eligible, dtype=bool) & np.isfinite(g) & ~np.isnan(np.asarray(service_time_s, dtype=float))


def prefer_lasting(eligible: ArrayLike, service_time_s: ArrayLike, horizon_s: float) -> np.ndarray:
    """Make-before-break: the eligible links that stay up for at least ``horizon_s`` more seconds.

    A user none of whose eligible links lasts that long keeps all of them (a short service is
    better than none). ``eligible`` (S, U) bool, ``service_time_s`` (S, U) s (remaining time above
    the mask); ``horizon_s <= 0`` returns ``eligible`` unchanged. Returns (S, U) bool.
    """
    elig = np.asarray(eligible, bool)
    if horizon_s <= 0:
        return elig
    lasting = elig & (np.asarray(service_time_s, float) >= horizon_s - TIME_TOLERANCE_S)
    return np.where(lasting.any(axis=0, keepdims=True), lasting, elig)


def rsap_is_eligible(rsap: ArrayLike, eligible: ArrayLike) -> np.ndarray:
    """(U,) bool — the user has an RSAP (≥ 0) and it is eligible[rsap, user].

    >>> rsap_is_eligible([1, -1, 0], [[True, True, False], [True, True, True]]).tolist()
    [True, False, False]
    """
    r = np.asarray(rsap, dtype=np.int64)
    elig = np.asarray(eligible, dtype=bool)
    if elig.shape[0] == 0:
        return np.zeros(r.shape, bool)
    return (r >= 0) & elig[np.where(r >= 0, r, 0), np.arange(r.size)]


def select_rsap(gain: ArrayLike, service_time_s: ArrayLike, eligible: ArrayLike, policy: str) -> np.ndarray:
    """The policy's choice among eligible satellites, ignoring any previous RSAP (004 Sec. III-A).

    ``best-channel``: argmax β; ``max-service-time``: argmax remaining service time, ties (within
    1 ns) broken by the larger β. Remaining ties go to the lower satellite index.

    Parameters
    ----------
    gain : ndarray, shape (..., S, U), linear — average channel gain β_{l,k}
    service_time_s : ndarray, shape (..., S, U), s — remaining service time (``inf`` allowed)
    eligible : ndarray, shape (..., S, U), bool
    policy : str — one of :data:`POLICIES`

    Returns
    -------
    ndarray, shape (..., U), int64 — satellite index, −1 where no satellite is eligible

    >>> select_rsap([[1.0], [2.0]], [[300.0], [100.0]], [[True], [True]], "max-service-time")
    array([0])
    """
    rule = POLICIES[check_policy(policy)]
    gain = np.asarray(gain, dtype=float)
    st = np.asarray(service_time_s, dtype=float)
    elig = usable_links(eligible, gain, st)
    if elig.shape[-2] == 0:
        return np.full(elig.shape[:-2] + elig.shape[-1:], -1, np.int64)
    elig = rule.candidates(gain, st, elig)
    pick = np.argmax(np.where(elig, gain, -np.inf), axis=-2)
    return np.where(elig.any(axis=-2), pick, -1).astype(np.int64)


def _check_step_args(hysteresis_db: float, time_to_trigger_s: float) -> None:
    if not hysteresis_db >= 0.0:
        raise InputError(f"hysteresis_db={hysteresis_db!r} must be >= 0 dB")
    if not time_to_trigger_s >= 0.0:
        raise InputError(f"time_to_trigger_s={time_to_trigger_s!r} must be >= 0 s")


def rsap_step(
    state: RsapState,
    now_s: float,
    gain: ArrayLike,
    service_time_s: ArrayLike,
    eligible: ArrayLike,
    policy: str = BEST_CHANNEL,
    hysteresis_db: float = 0.0,
    time_to_trigger_s: float = 0.0,
) -> tuple[RsapState, HandoverRecords]:
    """Advance the RSAP decision to time ``now_s`` (DESIGN "Event model", RSAP handover).

    Rules, vectorised over users:

    1. A user whose RSAP is −1 or not eligible gets the policy's choice at once (reason
       ``acquire`` if it had none, ``rsap_ineligible`` otherwise, ``no_eligible`` if nothing is).
    2. Policies that hand over to a better channel (``best-channel``): satellite l is *better* for user k when it is eligible and
       β_{l,k} > β_{rsap,k} · 10^(hysteresis_db/10). Each (l, k) keeps the time its current run of
       being better started. When some runs have lasted ≥ ``time_to_trigger_s`` at ``now_s``, the
       user hands over to the strongest of them (reason ``better_channel``). A run is broken by any
       step at which the condition fails; the engine evaluates the rule at every logging step, so
       "continuously" means "at every evaluated step". With ``time_to_trigger_s = 0`` a handover
       happens at the first step the condition holds.
    3. After an RSAP change the user's timers restart against the new RSAP.

    Parameters
    ----------
    state : RsapState — decision in force before ``now_s`` (shape (S, U) must match ``gain``)
    now_s : float, s — time of this step (non-decreasing between calls)
    gain : ndarray, shape (S, U), linear — average channel gain β
    service_time_s : ndarray, shape (S, U), s — remaining service time
    eligible : ndarray, shape (S, U), bool — satellites allowed as RSAP (above the mask / in cluster)
    policy : str — one of :data:`POLICIES`
    hysteresis_db : float, dB, ≥ 0
    time_to_trigger_s : float, s, ≥ 0

    Returns
    -------
    new_state : RsapState
    handovers : HandoverRecords — kind ``rsap``, one record per user whose RSAP changed
    """
    rule = POLICIES[check_policy(policy)]
    _check_step_args(hysteresis_db, time_to_trigger_s)
    gain = np.asarray(gain, dtype=float)
    st = np.asarray(service_time_s, dtype=float)
    elig = usable_links(eligible, gain, st)
    n_sat, n_user = elig.shape
    if state.better_since_s.shape != (n_sat, n_user):
        raise InputError(f"RsapState has shape {state.better_since_s.shape}, inputs have (S, U) = {elig.shape}")
    old = state.rsap
    users = np.arange(n_user)
    valid = rsap_is_eligible(old, elig)
    if not rule.hands_over_to_better and np.all(valid | ((old < 0) & ~elig.any(axis=0))):
        # Nothing to do: every RSAP is still eligible and users without one have no candidate (the
        # policy keeps its timers at +inf). The common case at a CSI refresh.
        return RsapState(old.copy(), np.full((n_sat, n_user), np.inf)), HandoverRecords.build(
            "rsap", users[:0], old[:0], old[:0], reason=np.zeros(0, _STR))
    new = old.copy()
    reason = np.full(n_user, "", _STR)
    since = np.full((n_sat, n_user), np.inf)
    factor = float(db_to_lin(hysteresis_db))
    if rule.hands_over_to_better and valid.any():
        better = _better(gain, elig, old, valid, factor)
        since = np.where(better, np.minimum(state.better_since_s, now_s), np.inf)
        due = better & (now_s - since >= time_to_trigger_s - TIME_TOLERANCE_S)
        fire = due.any(axis=0)
        if fire.any():
            target = np.argmax(np.where(due, gain, -np.inf), axis=0)
            new[fire] = target[fire]
            reason[fire] = "better_channel"
    need = ~valid
    if need.any():
        pick = select_rsap(gain[:, need], st[:, need], elig[:, need], policy)
        new[need] = pick
        reason[need] = np.where(pick < 0, "no_eligible", np.where(old[need] < 0, "acquire", "rsap_ineligible"))
    changed = new != old
    if rule.hands_over_to_better and changed.any():
        restart = _better(gain, elig, new, new >= 0, factor)
        since[:, changed] = np.where(restart[:, changed], now_s, np.inf)
    records = HandoverRecords.build("rsap", users[changed], old[changed], new[changed], reason=reason[changed])
    return RsapState(new, since), records


def _better(gain: np.ndarray, elig: np.ndarray, rsap: np.ndarray, valid: np.ndarray, factor: float) -> np.ndarray:
    """(S, U) bool: eligible satellites better than each valid user's RSAP by the hysteresis factor."""
    g_ref = gain[np.where(valid, rsap, 0), np.arange(rsap.size)] if gain.shape[0] else np.zeros(rsap.size)
    return elig & valid[None, :] & (gain > g_ref[None, :] * factor)


def remaining_service_time_s(set_times_s: ArrayLike, now_s: ArrayLike) -> np.ndarray:
    """Seconds until each satellite sets for each user: max(t_set − now, 0).

    Parameters
    ----------
    set_times_s : ndarray, shape (..., S, U), s — end of the pass in progress (same time origin as
        ``now_s``); +inf = does not set within the known horizon; NaN = unknown (stays NaN)
    now_s : float or ndarray broadcastable to ``set_times_s``, s

    >>> remaining_service_time_s([[130.0, 90.0]], 100.0)
    array([[30.,  0.]])
    """
    return np.maximum(np.asarray(set_times_s, dtype=float) - np.asarray(now_s, dtype=float), 0.0)


def set_times_from_elevation(times_s: ArrayLike, elevation_rad: ArrayLike, min_elevation_rad: float) -> np.ndarray:
    """End of the pass in progress at every sample, from sampled elevations.

    The downward mask crossing between samples i and i+1 (el_i ≥ mask > el_{i+1}) is placed by
    linear interpolation: t_i + (el_i − mask)/(el_i − el_{i+1}) · (t_{i+1} − t_i). A NaN elevation
    counts as below the mask (the pass ends at the last valid sample).

    Parameters
    ----------
    times_s : ndarray, shape (T,), s — increasing sample times
    elevation_rad : ndarray, shape (T, ...), rad — e.g. (T, S, U)
    min_elevation_rad : float, rad — elevation mask

    Returns
    -------
    ndarray, shape (T, ...), s — set time where visible at the sample; the sample time itself where
    not visible (remaining service 0); ``times_s[-1]`` where the pass outlasts the series (a lower
    bound: sample a horizon longer than a pass)

    >>> set_times_from_elevation([0.0, 10.0, 20.0], [0.3, 0.2, -0.2], 0.0)
    array([15., 15., 20.])
    """
    t = np.asarray(times_s, dtype=float)
    el = np.asarray(elevation_rad, dtype=float)
    if t.size == 0:
        return np.zeros(el.shape)
    el = np.where(np.isnan(el), -np.inf, el)
    tt = t.reshape((-1,) + (1,) * (el.ndim - 1))
    up = el >= min_elevation_rad
    down = up[:-1] & ~up[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(down, (el[:-1] - min_elevation_rad) / (el[:-1] - el[1:]), 0.0)
    cross = np.where(down, tt[:-1] + frac * np.diff(tt, axis=0), np.inf)
    cross = np.concatenate([cross, np.full((1,) + el.shape[1:], np.inf)], axis=0)
    nxt = np.minimum.accumulate(cross[::-1], axis=0)[::-1]
    nxt = np.where(np.isinf(nxt), t[-1], nxt)
    return np.where(up, nxt, np.broadcast_to(tt, el.shape))


def service_time_from_elevation(times_s: ArrayLike, elevation_rad: ArrayLike, min_elevation_rad: float) -> np.ndarray:
    """Remaining service time at every sample, (T, ...) s: :func:`set_times_from_elevation` − t.

    >>> service_time_from_elevation([0.0, 10.0, 20.0], [0.3, 0.2, -0.2], 0.0)
    array([15.,  5.,  0.])
    """
    t = np.asarray(times_s, dtype=float)
    sets = set_times_from_elevation(t, elevation_rad, min_elevation_rad)
    return remaining_service_time_s(sets, t.reshape((-1,) + (1,) * (sets.ndim - 1)))


def remaining_service_time_from_passes(
    pass_sat: ArrayLike, pass_user: ArrayLike, rise_s: ArrayLike, set_s: ArrayLike,
    now_s: float, n_sat: int, n_user: int,
) -> np.ndarray:
    """Remaining service time (S, U), s, from a list of pass windows [rise, set) per (sat, user).

    Parameters
    ----------
    pass_sat, pass_user : ndarray, shape (P,), int — indices of each pass
    rise_s, set_s : ndarray, shape (P,), s — window of each pass (exact mask crossings)
    now_s : float, s
    n_sat, n_user : int — output shape

    Returns
    -------
    ndarray, shape (S, U), s — set − now for the pass in progress, 0 where none is

    >>> remaining_service_time_from_passes([1], [0], [0.0], [50.0], 20.0, 2, 1)
    array([[ 0.],
           [30.]])
    """
    sat = np.asarray(pass_sat, dtype=np.int64)
    user = np.asarray(pass_user, dtype=np.int64)
    rise = np.asarray(rise_s, dtype=float)
    end = np.asarray(set_s, dtype=float)
    out = np.zeros((n_sat, n_user))
    now = (rise <= now_s) & (now_s < end)
    np.maximum.at(out, (sat[now], user[now]), end[now] - now_s)
    return out
