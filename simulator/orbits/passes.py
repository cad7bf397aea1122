"""Exact passes: rise, culmination and set instants of satellites over ground points.

Method (all vectorised over every bracket at once):

1. Sample elevation el(t) and its rate d(el)/dt (analytic, from the ITRS state) at ``step_s`` for the
   satellites the visibility screen keeps (:func:`~simulator.orbits.visibility.visible_windows`, which
   proves the others below the mask).
2. An elevation extremum lies between two samples exactly when the rate changes sign. Each is
   root-found (rate = 0) to 1e-4 s; a maximum ≥ mask is a culmination. This catches passes shorter
   than the step: they always contain a maximum.
3. Splitting each sample interval at its extremum leaves pieces on which el is monotonic, so a
   crossing of the mask lies in a piece exactly when el − mask changes sign across it; each is
   root-found with a vectorised Illinois/bisection iteration on single-satellite SGP4 evaluations
   until |el − mask| ≤ 1e-10 rad (≈ 6e-9°) or the bracket is below 1 µs.

Assumption: at most one elevation extremum per ``step_s`` (true for LEO/MEO with steps ≤ 2 min:
extrema of one satellite's elevation are a fraction of an orbit apart).

Passes cut by the window: a satellite already above the mask at the start has ``rise_utc`` NaT, one
still above at the end has ``set_utc`` NaT; both are ``truncated``. ``max_elevation_deg`` is then the
highest elevation inside the window and ``culmination_utc`` is NaT when that highest point is a window
edge (the true culmination lies outside). ``duration_s`` is the visible time inside the window.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..constants import M_PER_KM, NS_PER_S
from ..errors import InputError
from ..timebase import seconds_since_epoch_to_jd, to_utc_ns
from ..units import deg, rad
from .catalog import Catalog
from .geodesy import ecef_to_geodetic, elevation_and_rate, enu_basis
from .propagate import builtin_timescale, earth_rotation, teme_to_itrs
from .visibility import visible_windows

__all__ = ["find_passes", "PASS_COLUMNS", "SatelliteStates"]

PASS_COLUMNS = ["sat_id", "sat_name", "ground_id", "rise_utc", "culmination_utc", "set_utc",
                "max_elevation_deg", "duration_s", "truncated"]

_CROSSING_FTOL_RAD = 1e-10  # stop when |el − mask| ≤ this (≈ 6e-9°)
_CROSSING_XTOL_S = 1e-6
_EXTREMUM_XTOL_S = 1e-4  # culmination instant to 0.1 ms
_MAX_ITER = 100
_RISE, _MAX, _SET = 0, 1, 2


class SatelliteStates:
    """ITRS state of (satellite, instant) pairs — one SGP4 call per distinct satellite.

    Parameters
    ----------
    catalog : Catalog
    epoch_utc_ns : int — origin of the float-second times passed to ``__call__``
    timescale : skyfield Timescale — UT1 source
    """

    def __init__(self, catalog: Catalog, epoch_utc_ns: int, timescale: object) -> None:
        self.satrecs = catalog.satrecs
        self.epoch = int(epoch_utc_ns)
        self.ts = timescale

    def __call__(self, sat: np.ndarray, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (N, 3) m and velocities (N, 3) m/s in ITRS; NaN where SGP4 fails."""
        jd, fr = seconds_since_epoch_to_jd(self.epoch, t_s)
        n = sat.shape[0]
        r, v = np.empty((n, 3)), np.empty((n, 3))
        err = np.zeros(n, dtype=np.uint8)
        order = np.argsort(sat, kind="stable")
        ss = sat[order]
        cuts = np.flatnonzero(np.diff(ss)) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, n]):
            idx = order[a:b]
            e, r[idx], v[idx] = self.satrecs[ss[a]].sgp4_array(jd[idx], fr[idx])
            err[idx] = e
        rot = earth_rotation(jd, fr, timescale=self.ts)
        r_i, v_i = teme_to_itrs(r[:, None, :] * M_PER_KM, v[:, None, :] * M_PER_KM, rot)
        r_i, v_i = r_i[:, 0], v_i[:, 0]
        r_i[err != 0] = np.nan
        v_i[err != 0] = np.nan
        return r_i, v_i


def _solve(
    func: Callable[[np.ndarray, np.ndarray], np.ndarray],
    a: np.ndarray, b: np.ndarray, fa: np.ndarray, fb: np.ndarray, xtol: float, ftol: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised bracketed root of ``func`` (Illinois false position with bisection safeguard).

    ``func(x, idx)`` evaluates the elements ``idx`` at ``x``. Requires fa, fb of opposite sign
    (or one of them zero). Returns (root, ok); ok is False where ``func`` returned NaN.
    """
    a, b, fa, fb = (np.array(x, dtype=float) for x in (a, b, fa, fb))
    x = np.where(fa == 0.0, a, b)
    done = (fa == 0.0) | (fb == 0.0)
    ok = np.ones(a.shape, dtype=bool)
    side = np.zeros(a.shape, dtype=np.int8)  # which end was replaced last: -1 a, +1 b
    width0 = b - a
    for it in range(_MAX_ITER):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        aa, bb, faa, fbb = a[act], b[act], fa[act], fb[act]
        with np.errstate(divide="ignore", invalid="ignore"):
            xs = (aa * fbb - bb * faa) / (fbb - faa)
        bisect = ~np.isfinite(xs) | (xs <= aa) | (xs >= bb)
        if it % 3 == 2:  # every third step, bisect where the bracket has not halved since
            bisect |= (bb - aa) > 0.5 * width0[act]
            width0[act] = bb - aa
        xs = np.where(bisect, 0.5 * (aa + bb), xs)
        fx = func(xs, act)
        x[act] = xs
        bad = ~np.isfinite(fx)
        ok[act[bad]] = False
        same_a = np.signbit(fx) == np.signbit(faa)
        # replace a (Illinois: halve f(b) if a was also replaced last time), or b likewise
        ia, ib = act[same_a & ~bad], act[~same_a & ~bad]
        fb[ia] = np.where(side[ia] == -1, 0.5 * fb[ia], fb[ia])
        a[ia], fa[ia], side[ia] = xs[same_a & ~bad], fx[same_a & ~bad], -1
        fa[ib] = np.where(side[ib] == 1, 0.5 * fa[ib], fa[ib])
        b[ib], fb[ib], side[ib] = xs[~same_a & ~bad], fx[~same_a & ~bad], 1
        conv = bad | (np.abs(fx) <= ftol) | ((b[act] - a[act]) <= xtol)
        done[act[conv]] = True
    return x, ok


def find_passes(
    catalog: Catalog,
    ground_ecef_m: ArrayLike,
    start: object,
    duration_s: float,
    min_elevation_deg: float,
    *,
    step_s: float = 30.0,
    coarse_step_s: float = 120.0,
    chunk_s: float = 3600.0,
    screen: bool = True,
    ground_ids: ArrayLike | None = None,
    timescale: object | None = None,
    progress: Callable[[float, float], None] | None = None,
    warn: bool = True,
) -> pd.DataFrame:
    """Rise, culmination and set of every pass above ``min_elevation_deg`` in a time window.

    Parameters
    ----------
    catalog : Catalog of S satellites
    ground_ecef_m : array_like, shape (G, 3) or (3,), m — observers (ITRS); see
        :func:`~simulator.orbits.geodesy.geodetic_to_ecef`
    start : UTC instant (ISO string, datetime, datetime64, int ns since 1970)
    duration_s : float, s — window length (> 0)
    min_elevation_deg : float, deg — mask (geodetic elevation)
    step_s : float, s — sampling step (≤ 120 s: one elevation extremum per step at most)
    coarse_step_s, chunk_s, screen : visibility-screen settings (see ``visible_windows``)
    ground_ids : array_like of G labels, optional — default 0 … G-1
    timescale : skyfield Timescale, optional — UT1 source (default: built-in tables)
    progress : callable(done_s, total_s), optional — called after each chunk
    warn : bool — warn about satellites that fail in SGP4 (they are left out)

    Returns
    -------
    pandas.DataFrame with columns :data:`PASS_COLUMNS`; times are ``datetime64[ns, UTC]``
    (NaT for truncated ends), sorted by start of pass, ground, satellite.
    """
    if not duration_s > 0:
        raise InputError(f"duration_s={duration_s} s must be > 0")
    if not 0 < step_s <= 120:
        raise InputError(f"step_s={step_s} s outside (0, 120]")
    ts = timescale if timescale is not None else builtin_timescale()
    epoch = to_utc_ns(start)
    ground = np.asarray(ground_ecef_m, dtype=float).reshape(-1, 3)
    lat, lon, _ = ecef_to_geodetic(ground)
    up = enu_basis(lat, lon)[:, 2, :]
    mask = float(rad(min_elevation_deg))
    states = SatelliteStates(catalog, epoch, ts)
    events = []
    for ch in visible_windows(catalog, ground, epoch, duration_s, step_s, min_elevation_deg,
                              chunk_s=chunk_s, coarse_step_s=coarse_step_s, screen=screen,
                              overlap=True, timescale=ts, warn=warn):
        events.append(_chunk_events(ch, ground, up, mask, states, duration_s))
        if progress is not None:
            progress(float(ch.times_ns[-1]) / NS_PER_S, float(duration_s))
    ev = {k: np.concatenate([e[k] for e in events]) for k in events[0]}
    ids = np.arange(ground.shape[0]) if ground_ids is None else np.asarray(ground_ids)
    return _assemble(ev, catalog, ids, epoch, ground.shape[0])


def _chunk_events(ch, ground, up, mask, states, duration_s) -> dict[str, np.ndarray]:
    """Rise/set/maximum/edge events of one chunk (arrays keyed sat, g, t, kind, el, edge)."""
    t = ch.times_ns / NS_PER_S
    el, rate = elevation_and_rate(ch.positions_m[:, :, None, :], ch.velocities_m_s[:, :, None, :],
                                  ground, up)
    f = el - mask
    both = (ch.computed[:-1] & ch.computed[1:])[:, :, None]
    ti, ki, gi = np.nonzero(np.broadcast_to(both, f[:-1].shape))
    sat = ch.sat_index[ki]
    out = {k: [] for k in ("sat", "g", "t", "kind", "el", "edge")}

    def add(s, g, tt, kind, e, edge=False):
        out["sat"].append(s)
        out["g"].append(g)
        out["t"].append(tt)
        out["kind"].append(np.broadcast_to(np.asarray(kind, dtype=np.int8), s.shape))
        out["el"].append(e)
        out["edge"].append(np.full(s.shape, edge))

    def geometry(s, g, x):
        pos, vel = states(s, x)
        return elevation_and_rate(pos, vel, ground[g], up[g])

    # 2. extrema: rate changes sign between samples
    r0, r1 = rate[ti, ki, gi], rate[ti + 1, ki, gi]
    is_ext = (r0 > 0) != (r1 > 0)
    ta, tb = t[ti], t[ti + 1]
    te = np.full(ti.shape, np.nan)
    fe = np.full(ti.shape, np.nan)
    if is_ext.any():
        j = np.flatnonzero(is_ext)
        root, ok = _solve(lambda x, i: geometry(sat[j[i]], gi[j[i]], x)[1], ta[j], tb[j], r0[j], r1[j],
                          _EXTREMUM_XTOL_S, 0.0)
        e_ext, _ = geometry(sat[j], gi[j], root)
        good = ok & np.isfinite(e_ext)
        te[j[good]], fe[j[good]] = root[good], e_ext[good] - mask
        is_max = good & (r0[j] > 0) & (e_ext >= mask)
        add(sat[j[is_max]], gi[j[is_max]], root[is_max], _MAX, e_ext[is_max])
    # 3. crossings on monotonic pieces
    f0, f1 = f[ti, ki, gi], f[ti + 1, ki, gi]
    has_e = np.isfinite(te)
    pieces = [  # (selector, a, b, fa, fb)
        (~has_e & ((f0 >= 0) != (f1 >= 0)), ta, tb, f0, f1),
        (has_e & ((f0 >= 0) != (fe >= 0)), ta, te, f0, fe),
        (has_e & ((fe >= 0) != (f1 >= 0)), te, tb, fe, f1),
    ]
    sel = [np.flatnonzero(p[0]) for p in pieces]
    idx = np.concatenate(sel)
    if idx.size:
        a = np.concatenate([p[1][s] for p, s in zip(pieces, sel)])
        b = np.concatenate([p[2][s] for p, s in zip(pieces, sel)])
        fa = np.concatenate([p[3][s] for p, s in zip(pieces, sel)])
        fb = np.concatenate([p[4][s] for p, s in zip(pieces, sel)])
        root, ok = _solve(lambda x, i: geometry(sat[idx[i]], gi[idx[i]], x)[0] - mask, a, b, fa, fb,
                          _CROSSING_XTOL_S, _CROSSING_FTOL_RAD)
        add(sat[idx[ok]], gi[idx[ok]], root[ok], np.where(fa[ok] < 0, _RISE, _SET),
            np.full(int(ok.sum()), np.nan))
    # window edges: above the mask at the very start / end
    for where, t_edge, kind in ((0, 0.0, _RISE), (-1, float(duration_s), _SET)):
        if abs(t[where] - t_edge) > 1e-9:
            continue
        kk, gg = np.nonzero(ch.computed[where][:, None] & (f[where] >= 0))
        add(ch.sat_index[kk], gg, np.full(kk.shape, t[where]), kind, el[where, kk, gg], edge=True)
    return {k: (np.concatenate(v) if v else np.empty(0)) for k, v in out.items()}


def _assemble(ev, catalog: Catalog, ids: np.ndarray, epoch: int, n_g: int) -> pd.DataFrame:
    """Group sorted events into passes (one row per pass)."""
    sat, g = ev["sat"].astype(np.int64), ev["g"].astype(np.int64)
    t, kind, el, edge = ev["t"].astype(float), ev["kind"].astype(np.int8), ev["el"], ev["edge"].astype(bool)
    order = np.lexsort((kind, t, g, sat))
    sat, g, t, kind, el, edge = sat[order], g[order], t[order], kind[order], el[order], edge[order]
    n = sat.shape[0]
    if n == 0:
        return _frame({c: [] for c in PASS_COLUMNS})
    key = sat * n_g + g
    new_group = np.r_[True, key[1:] != key[:-1]]
    opens = new_group | (kind == _RISE)
    pid = np.cumsum(opens) - 1
    first = np.flatnonzero(opens)
    last = np.r_[first[1:] - 1, n - 1]
    rise_ok = (kind[first] == _RISE) & ~edge[first]
    set_ok = (kind[last] == _SET) & ~edge[last]
    t_open = np.where(kind[first] == _RISE, t[first], 0.0)
    t_close = t[last]
    # culmination: the highest maximum or edge sample of each pass
    cand = (kind == _MAX) | edge
    score = np.where(cand, el, -np.inf)
    best = np.lexsort((score, pid))
    best_row = best[np.r_[np.flatnonzero(np.diff(pid[best])), n - 1]]
    max_el = score[best_row]
    culm_ok = (kind[best_row] == _MAX) & np.isfinite(max_el)

    def to_ns(sec: np.ndarray, ok: np.ndarray) -> pd.Series:
        ns = epoch + np.rint(sec * NS_PER_S).astype(np.int64)
        return pd.to_datetime(np.where(ok, ns, np.iinfo(np.int64).min), utc=True)

    ps = sat[first]
    cols = {
        "sat_id": np.asarray(catalog.sat_ids)[ps].astype(np.int64),
        "sat_name": np.asarray(catalog.names, dtype=object)[ps],
        "ground_id": ids[g[first]],
        "rise_utc": to_ns(t_open, rise_ok),
        "culmination_utc": to_ns(t[best_row], culm_ok),
        "set_utc": to_ns(t_close, set_ok),
        "max_elevation_deg": deg(np.where(np.isfinite(max_el), max_el, np.nan)),
        "duration_s": t_close - t_open,
        "truncated": ~(rise_ok & set_ok),
    }
    frame = _frame(cols)
    start_key = frame["rise_utc"].fillna(pd.Timestamp(epoch, unit="ns", tz="UTC"))
    order = np.lexsort((frame["sat_id"].to_numpy(), np.asarray(frame["ground_id"]), start_key.to_numpy()))
    return frame.iloc[order].reset_index(drop=True)


def _frame(cols: dict) -> pd.DataFrame:
    frame = pd.DataFrame(cols, columns=PASS_COLUMNS)
    for c in ("rise_utc", "culmination_utc", "set_utc"):
        frame[c] = pd.to_datetime(frame[c], utc=True)
    return frame
