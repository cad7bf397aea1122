"""Geometry of one output chunk: exact rise/set events, service times and states at the logging steps.

For each chunk [t0, t1) of simulated time the orbit layer's exact pass search
(:func:`~simulator.orbits.passes.find_passes`, root-found to the mask) is run over
[t0, t1 + lookahead) for the users' ground points. Its windows give

- the rise and set events inside the chunk, at their exact instants (not rounded to a step);
- the remaining service time of every visible (satellite, user) link, for max-service-time RSAP;
- the satellites that can be visible at all in the chunk — only those are propagated at the
  logging step, which is the visibility screen of DESIGN.md.

The lookahead is the longest possible pass of the constellation's highest satellite above the mask,
so a set instant inside it is always found; a pass still up at the end of the lookahead is given an
infinite set time (its service time is "longer than any other").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..constants import NS_PER_S
from ..orbits.bounds import max_pass_duration_s, semi_major_axis_m  # noqa: F401  (moved; kept importable)
from ..orbits.catalog import Catalog
from ..orbits.passes import find_passes
from ..orbits.propagate import propagate_ecef
from ..timebase import ns_since_epoch_to_jd

__all__ = ["ChunkGeometry", "VisibilityEvents", "chunk_geometry", "to_local"]

#: Event kinds, in the order they are applied at one instant: a set is handled before a rise.
SET, RISE = 0, 1


def to_local(global_idx: np.ndarray, sats: np.ndarray) -> np.ndarray:
    """Positions of catalogue indices in the sorted array ``sats`` (−1 where absent or −1).

    >>> to_local(np.array([7, -1, 3, 9]), np.array([3, 7, 8])).tolist()
    [1, -1, 0, -1]
    """
    g = np.asarray(global_idx, np.int64)
    if not len(sats):
        return np.full(g.shape, -1, np.int64)
    pos = np.minimum(np.searchsorted(sats, g), len(sats) - 1)  # (np.clip costs 5x more on small arrays)
    return np.where((g >= 0) & (sats[pos] == g), pos, -1).astype(np.int64, copy=False)


@dataclass(frozen=True)
class VisibilityEvents:
    """Rise and set events inside a chunk, sorted by time (sets before rises at the same instant).

    Attributes
    ----------
    t_ns : ndarray, shape (E,), int64 — ns since the scenario epoch (rounded to the nearest ns)
    kind : ndarray, shape (E,), int8 — :data:`SET` or :data:`RISE`
    sat : ndarray, shape (E,), int — catalogue index
    user : ndarray, shape (E,), int — user index
    """

    t_ns: np.ndarray
    kind: np.ndarray
    sat: np.ndarray
    user: np.ndarray

    def __len__(self) -> int:
        return int(self.t_ns.shape[0])


@dataclass(frozen=True)
class ChunkGeometry:
    """Everything the replay needs to know about positions during [t0_ns, t1_ns).

    Attributes
    ----------
    t0_ns, t1_ns : int — chunk bounds, ns since the scenario epoch
    step_ns : ndarray, shape (T,), int64 — logging instants in [t0, t1)
    sat_index : ndarray, shape (C,), int — catalogue indices of satellites visible to some user
    sat_pos_m, sat_vel_m_s : ndarray, shape (T, C, 3) — ITRS states at the logging instants
    user_pos_m, user_vel_m_s : ndarray, shape (T, U, 3)
    rise_ns, set_ns : ndarray, shape (P,), float — pass windows (ns since epoch; −inf when already up
        before the search start, +inf when still up after the lookahead)
    pass_sat, pass_user : ndarray, shape (P,), int — catalogue and user index of each pass
    events : VisibilityEvents
    """

    t0_ns: int
    t1_ns: int
    step_ns: np.ndarray
    sat_index: np.ndarray
    sat_pos_m: np.ndarray
    sat_vel_m_s: np.ndarray
    user_pos_m: np.ndarray
    user_vel_m_s: np.ndarray
    rise_ns: np.ndarray
    set_ns: np.ndarray
    pass_sat: np.ndarray
    pass_user: np.ndarray
    events: VisibilityEvents

    def columns_of(self, sats: np.ndarray) -> np.ndarray:
        """Column of each catalogue index in ``sat_index`` (−1 where the satellite is not in the chunk)."""
        return to_local(sats, self.sat_index)

    def service_end_ns(self, now_ns: int, n_sat: int, n_user: int) -> np.ndarray:
        """Set instant (S_total, U) of the pass in progress at ``now_ns`` (NaN where not visible)."""
        out = np.full((n_sat, n_user), np.nan)
        up = (self.rise_ns <= now_ns) & (self.set_ns > now_ns)
        out[self.pass_sat[up], self.pass_user[up]] = self.set_ns[up]
        return out


def chunk_geometry(
    catalog: Catalog,
    epoch_utc_ns: int,
    t0_ns: int,
    t1_ns: int,
    step_ns: int,
    user_positions,
    min_elevation_deg: float,
    *,
    lookahead_s: float,
    static_users: bool,
    timescale: object | None = None,
) -> ChunkGeometry:
    """Passes, events and states for the chunk [t0_ns, t1_ns) (ns since ``epoch_utc_ns``).

    ``user_positions(t_s) -> (pos (T, U, 3), vel (T, U, 3))`` gives the users' ITRS states.
    Static users get exact passes; moving users get the passes of their position at mid-chunk, exact
    for that point (a user at 300 m/s is within 90 km of it in a 10 min chunk; see docs/design.md).
    Rates of moving users are always evaluated at their true position at each step.
    """
    first = -(-t0_ns // step_ns) * step_ns  # first logging instant ≥ t0 on the global step grid
    steps = np.arange(first, t1_ns, step_ns, dtype=np.int64)
    upos, uvel = user_positions(steps / NS_PER_S)
    if static_users:
        ground = upos[0]
    else:
        ground = user_positions(np.array([(t0_ns + t1_ns) / 2.0 / NS_PER_S]))[0][0]
    duration_s = (t1_ns - t0_ns) / NS_PER_S + lookahead_s
    passes = find_passes(catalog, ground, epoch_utc_ns + t0_ns, duration_s, min_elevation_deg,
                         timescale=timescale, warn=False)
    index_of = pd.Series(np.arange(len(catalog)), index=np.asarray(catalog.sat_ids))
    p_sat = index_of.loc[passes["sat_id"].to_numpy()].to_numpy() if len(passes) else np.zeros(0, int)
    p_user = passes["ground_id"].to_numpy(dtype=int) if len(passes) else np.zeros(0, int)
    origin = epoch_utc_ns
    rise = _ns_or(passes["rise_utc"], origin, -np.inf)
    sett = _ns_or(passes["set_utc"], origin, np.inf)
    if catalog.retired_utc_ns is not None and len(p_sat):  # out of service from the failing instant on
        limit = (np.asarray(catalog.retired_utc_ns)[p_sat] - origin).astype(float)
        keep = rise < limit
        rise, sett, p_sat, p_user = rise[keep], np.minimum(sett[keep], limit[keep]), p_sat[keep], p_user[keep]
    # Windows found in [t0, t0 + duration): a pass cut at the search end is still up there.
    in_chunk = (rise < t1_ns) & (sett > t0_ns)
    sats = np.unique(p_sat[in_chunk])
    jd, fr = ns_since_epoch_to_jd(epoch_utc_ns, steps)
    if len(sats) and len(steps):
        eph = propagate_ecef(catalog.subset(sats), jd, fr, timescale=timescale, warn=False)
        spos, svel = eph.positions_m, eph.velocities_m_s
    else:
        spos = np.zeros((len(steps), len(sats), 3))
        svel = np.zeros_like(spos)
    events = _events(rise, sett, p_sat, p_user, t0_ns, t1_ns)
    return ChunkGeometry(
        t0_ns=t0_ns, t1_ns=t1_ns, step_ns=steps, sat_index=sats, sat_pos_m=spos, sat_vel_m_s=svel,
        user_pos_m=upos, user_vel_m_s=uvel, rise_ns=rise, set_ns=sett, pass_sat=p_sat, pass_user=p_user,
        events=events,
    )


def _ns_or(column: pd.Series, origin_ns: int, missing: float) -> np.ndarray:
    """UTC timestamps → float ns since ``origin_ns`` (``missing`` for NaT)."""
    if not len(column):
        return np.zeros(0)
    values = column.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    out = (values - origin_ns).astype(float)
    return np.where(column.isna().to_numpy(), missing, out)


def _events(rise, sett, p_sat, p_user, t0_ns, t1_ns) -> VisibilityEvents:
    rise_in = np.isfinite(rise) & (rise >= t0_ns) & (rise < t1_ns)
    set_in = np.isfinite(sett) & (sett >= t0_ns) & (sett < t1_ns)
    t = np.concatenate([np.rint(sett[set_in]), np.rint(rise[rise_in])]).astype(np.int64)
    kind = np.concatenate([np.full(set_in.sum(), SET), np.full(rise_in.sum(), RISE)]).astype(np.int8)
    sat = np.concatenate([p_sat[set_in], p_sat[rise_in]])
    user = np.concatenate([p_user[set_in], p_user[rise_in]])
    order = np.lexsort((user, sat, kind, t))
    return VisibilityEvents(t_ns=t[order], kind=kind[order], sat=sat[order], user=user[order])
