"""Which satellites can be above the elevation mask, chunk by chunk, without propagating them all.

A coarse screen propagates every satellite at a coarse step and keeps, for each coarse interval,
only satellites that *provably might* rise above the mask for some ground point during it; the fine
step then propagates only those, and only over the intervals where they were kept. Time is processed
in chunks so memory does not grow with the simulated span; :func:`visible_windows` is a generator the
engine pulls chunks from.

Screen bound (derivation in ``docs/conventions.md``, "Visibility screen"): let ĉ be the centre of the
smallest-cap estimate around the ground points' geocentric directions and ρ its angular radius. A
satellite at geocentric radius r is above geodetic elevation ε for a ground point at geocentric radius
R only if its Earth-central angle from the point is ≤ ψ(r) = arccos(R cos ε′ / r) − ε′ with
ε′ = ε − δ, δ the largest angle between the geodetic and geocentric verticals of the points (≤ 0.193°).
The satellite's direction in ITRS turns at most at ω_b rad/s, so over a coarse interval [t_k, t_k+1]
of length Δ its angle θ(t) from ĉ satisfies θ(t) ≥ (θ_k + θ_k+1 − ω_b Δ)/2. The satellite is dropped
for the interval only if that lower bound exceeds ρ + ψ(r_b), r_b an upper bound of its radius.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from sgp4.api import SatrecArray

from ..constants import EARTH_ROTATION_RATE, M_PER_KM, NS_PER_S
from ..errors import InputError
from ..timebase import ns_since_epoch_to_jd, to_utc_ns
from ..units import rad
from .catalog import Catalog
from .geodesy import ecef_to_geodetic, elevation, enu_basis
from .propagate import (
    EarthRotation, SGP4Failure, builtin_timescale, earth_rotation, propagate_ecef, propagate_teme,
    sgp4_failures, teme_to_itrs, warn_failures,
)

__all__ = ["VisibilityChunk", "ScreenGeometry", "screen_geometry", "time_grid_ns", "visible_windows"]

# Margins of the screen bound (conservative on purpose; see the module docstring).
_RATE_MARGIN = 1.05  # × the sampled angular rate |v_ITRS| / r
_ELEMENT_RATE_MARGIN = 1.02  # × the Keplerian perigee angular rate from the mean elements
_RADIUS_MARGIN_M = 20_000.0  # m added to radius bounds: SGP4 short-period terms are ≲ 10 km in LEO
_VERTICAL_MARGIN_RAD = 1e-6  # rad added to the geodetic-vs-geocentric vertical deflection


@dataclass(frozen=True)
class VisibilityChunk:
    """Fine-step geometry of the satellites that may be visible during one chunk of time.

    Attributes
    ----------
    epoch_utc_ns : int — the time origin (ns since 1970 UTC); ``times_ns`` count from it
    times_ns : ndarray, shape (T,), int64 — sample instants, ns since the epoch
    jd, fr : ndarray, shape (T,) — the same instants as split Julian dates (UTC)
    sat_index : ndarray, shape (K,), int — catalogue indices of the satellites kept in this chunk
    positions_m, velocities_m_s : ndarray, shape (T, K, 3) — ITRS state; NaN where not ``computed``
    computed : ndarray, shape (T, K), bool — propagated at this instant without SGP4 error. False
        where the screen proved the satellite below the mask for every ground point, or SGP4 failed
    elevation_rad : ndarray, shape (T, K, G) — NaN where not ``computed``
    visible : ndarray, shape (T, K, G), bool — elevation ≥ mask
    failures : tuple of SGP4Failure — satellites that failed in this chunk
    screen_sat_steps, fine_sat_steps : int — satellite-steps propagated by the screen and fine step
    """

    epoch_utc_ns: int
    times_ns: np.ndarray
    jd: np.ndarray
    fr: np.ndarray
    sat_index: np.ndarray
    positions_m: np.ndarray
    velocities_m_s: np.ndarray
    computed: np.ndarray
    elevation_rad: np.ndarray
    visible: np.ndarray
    failures: tuple[SGP4Failure, ...]
    screen_sat_steps: int
    fine_sat_steps: int


@dataclass(frozen=True)
class ScreenGeometry:
    """Region and per-satellite bounds used by the screen.

    Attributes
    ----------
    center : ndarray, shape (3,) — unit vector ĉ (ITRS) of the ground points' cap
    cap_rad : float — ρ, largest angle between ĉ and a ground point's geocentric direction
    min_ground_radius_m : float — R, smallest geocentric radius of the ground points
    mask_rad : float — ε′ = mask − (largest geodetic/geocentric vertical deflection)
    rate_bound_rad_s : ndarray, shape (S,) — Keplerian bound of the ITRS angular rate from elements
    radius_bound_m : ndarray, shape (S,) — apogee radius from the mean elements plus margin
    """

    center: np.ndarray
    cap_rad: float
    min_ground_radius_m: float
    mask_rad: float
    rate_bound_rad_s: np.ndarray
    radius_bound_m: np.ndarray

    def max_central_angle(self, radius_m: np.ndarray) -> np.ndarray:
        """ψ(r) = arccos(R cos ε′ / r) − ε′: largest Earth-central angle above the mask (rad)."""
        c = self.min_ground_radius_m * np.cos(self.mask_rad) / radius_m
        return np.arccos(np.clip(c, -1.0, 1.0)) - self.mask_rad


def screen_geometry(catalog: Catalog, ground_ecef_m: ArrayLike, min_elevation_deg: float) -> ScreenGeometry:
    """Cap of the ground points and the per-satellite bounds of the screen (see module docstring)."""
    g = np.asarray(ground_ecef_m, dtype=float).reshape(-1, 3)
    norm = np.linalg.norm(g, axis=1)
    ghat = g / norm[:, None]
    s = ghat.sum(axis=0)
    if np.linalg.norm(s) < 1e-9 * len(g):
        center, cap = np.array([0.0, 0.0, 1.0]), np.pi
    else:
        center = s / np.linalg.norm(s)
        cap = float(np.max(np.arccos(np.clip(ghat @ center, -1.0, 1.0))))
    lat, lon, _ = ecef_to_geodetic(g)
    up = enu_basis(lat, lon)[:, 2, :]
    deflection = float(np.max(np.arccos(np.clip(np.sum(up * ghat, axis=1), -1.0, 1.0))))
    mask = float(rad(min_elevation_deg)) - deflection - _VERTICAL_MARGIN_RAD

    sat = catalog.satrecs
    re_m = np.array([x.radiusearthkm for x in sat]) * M_PER_KM
    mu = np.array([x.mu for x in sat]) * M_PER_KM**3  # km³/s² → m³/s²
    ecc = np.clip(np.array([x.ecco for x in sat]), 0.0, 0.999)
    rp = (1.0 + np.array([x.altp for x in sat])) * re_m - _RADIUS_MARGIN_M
    ra = (1.0 + np.array([x.alta for x in sat])) * re_m + _RADIUS_MARGIN_M
    with np.errstate(invalid="ignore", divide="ignore"):
        kepler = np.sqrt(mu * (1.0 + ecc) / rp**3)
    rate = np.where(rp > 0, _ELEMENT_RATE_MARGIN * kepler + EARTH_ROTATION_RATE, np.inf)
    return ScreenGeometry(center=center, cap_rad=cap, min_ground_radius_m=float(norm.min()),
                          mask_rad=mask, rate_bound_rad_s=rate, radius_bound_m=np.nan_to_num(ra, nan=np.inf))


def time_grid_ns(duration_s: float, step_s: float) -> np.ndarray:
    """Sample instants 0, step, 2·step, … and the end ``duration`` itself (ns since the start)."""
    if not step_s > 0 or not duration_s >= 0:
        raise InputError(f"step_s={step_s} s must be > 0 and duration_s={duration_s} s ≥ 0")
    d_ns, step_ns = int(round(duration_s * NS_PER_S)), int(round(step_s * NS_PER_S))
    if step_ns <= 0:
        raise InputError(f"step_s={step_s} s is below 1 ns")
    grid = np.arange(0, d_ns + 1, step_ns, dtype=np.int64)
    return grid if grid[-1] == d_ns else np.append(grid, np.int64(d_ns))


def _keep(geo: ScreenGeometry, pos: np.ndarray, vel: np.ndarray, dt_s: np.ndarray) -> np.ndarray:
    """keep[k, s] for each coarse interval k between samples k and k+1 (pos, vel: (K+1, S, 3))."""
    r = np.linalg.norm(pos, axis=-1)
    theta = np.arccos(np.clip((pos @ geo.center) / r, -1.0, 1.0))
    w = np.linalg.norm(vel, axis=-1) / r
    rate = np.maximum(geo.rate_bound_rad_s, _RATE_MARGIN * np.maximum(w[:-1], w[1:]))
    radius = np.maximum(geo.radius_bound_m, np.maximum(r[:-1], r[1:]) + _RADIUS_MARGIN_M)
    lower = 0.5 * (theta[:-1] + theta[1:] - rate * dt_s[:, None])
    keep = lower <= geo.cap_rad + geo.max_central_angle(radius)
    return keep | ~np.isfinite(lower)  # a failed SGP4 sample cannot be screened out


def visible_windows(
    catalog: Catalog,
    ground_ecef_m: ArrayLike,
    start: object,
    duration_s: float,
    step_s: float,
    min_elevation_deg: float,
    *,
    chunk_s: float = 600.0,
    coarse_step_s: float = 90.0,
    screen: bool = True,
    overlap: bool = False,
    timescale: object | None = None,
    warn: bool = True,
) -> Iterator[VisibilityChunk]:
    """Yield, chunk by chunk, the fine-step geometry of satellites that may be above the mask.

    Parameters
    ----------
    catalog : Catalog of S satellites
    ground_ecef_m : array_like, shape (G, 3) or (3,), m — ground points (ITRS)
    start : UTC instant (ISO string, datetime, datetime64, int ns since 1970) — the time origin
    duration_s, step_s : float, s — samples at 0, step, … and at ``duration`` (see :func:`time_grid_ns`)
    min_elevation_deg : float, deg — elevation mask
    chunk_s : float, s — chunk length (rounded to whole coarse intervals); bounds memory
    coarse_step_s : float, s — screen step, rounded to a whole number of fine steps
    screen : bool — False propagates every satellite at every fine step (reference / benchmark)
    overlap : bool — also include the next chunk's first sample, so that every interval between
        consecutive samples lies inside one chunk (for root finding)
    timescale : skyfield Timescale, optional — UT1 source (default: built-in tables)
    warn : bool — emit one :class:`~simulator.orbits.propagate.SGP4Warning` per newly failing satellite

    Yields
    ------
    VisibilityChunk
    """
    ts = timescale if timescale is not None else builtin_timescale()
    epoch = to_utc_ns(start)
    grid = time_grid_ns(duration_s, step_s)
    n = grid.shape[0]
    m = max(1, int(round(coarse_step_s / step_s))) if screen else 1
    # Coarse samples: every m-th fine sample and the last one (twice the single sample if n == 1).
    coarse_idx = np.append(np.arange(0, max(n - 1, 1), m), n - 1)
    n_int = coarse_idx.shape[0] - 1
    per_chunk = max(1, int(round(chunk_s / (m * step_s)))) if screen else max(1, int(round(chunk_s / step_s)))
    ground = np.asarray(ground_ecef_m, dtype=float).reshape(-1, 3)
    mask_rad = float(rad(min_elevation_deg))
    geo = screen_geometry(catalog, ground, min_elevation_deg)
    full = SatrecArray(list(catalog.satrecs))
    reported: set[int] = set()
    carry = None  # last coarse sample of the previous chunk: (pos, vel)

    for k0 in range(0, n_int, per_chunk):
        k1 = min(n_int, k0 + per_chunk)  # coarse intervals k0 … k1-1
        last = k1 == n_int
        i0 = int(coarse_idx[k0])
        i_end = int(coarse_idx[k1])
        fine = np.arange(i0, i_end + (1 if (last or overlap) else 0))
        t_ns = grid[fine]
        jd, fr = ns_since_epoch_to_jd(epoch, t_ns)
        rot = earth_rotation(jd, fr, timescale=ts)
        failures: list[SGP4Failure] = []
        if not screen:
            eph = propagate_ecef(catalog, jd, fr, rotation=rot, satrecs=full, warn=False)
            sat_index = np.arange(len(catalog))
            pos, vel, computed = eph.positions_m, eph.velocities_m_s, eph.valid
            failures.extend(eph.failures)
            screen_steps, fine_steps = 0, pos.shape[0] * pos.shape[1]
        else:
            c_idx = coarse_idx[k0:k1 + 1]
            new = c_idx if carry is None else c_idx[1:]
            cjd, cfr = ns_since_epoch_to_jd(epoch, grid[new])
            ceph = propagate_ecef(catalog, cjd, cfr, timescale=ts, satrecs=full, warn=False)
            failures.extend(ceph.failures)
            cpos, cvel = ceph.positions_m, ceph.velocities_m_s
            if carry is not None:
                cpos = np.concatenate([carry[0], cpos])
                cvel = np.concatenate([carry[1], cvel])
            carry = (cpos[-1:], cvel[-1:])
            screen_steps = new.shape[0] * len(catalog)
            keep = _keep(geo, cpos, cvel, np.diff(grid[c_idx]) / NS_PER_S)
            pos, vel, computed, sat_index, fine_steps, fails = _fine(
                catalog, keep, c_idx - i0, fine.shape[0], jd, fr, rot)
            failures.extend(fails)
        el = elevation(pos, ground)
        visible = el >= mask_rad
        fresh = tuple(f for f in _unique(failures) if f.sat_id not in reported)
        reported.update(f.sat_id for f in fresh)
        if warn:
            warn_failures(fresh, stacklevel=2)
        yield VisibilityChunk(
            epoch_utc_ns=epoch, times_ns=t_ns, jd=jd, fr=fr, sat_index=sat_index,
            positions_m=pos, velocities_m_s=vel, computed=computed, elevation_rad=el,
            visible=visible, failures=fresh, screen_sat_steps=int(screen_steps),
            fine_sat_steps=int(fine_steps),
        )


def _unique(failures: list[SGP4Failure]) -> list[SGP4Failure]:
    seen: dict[int, SGP4Failure] = {}
    for f in failures:
        if f.sat_id not in seen or f.first_jd < seen[f.sat_id].first_jd:
            seen[f.sat_id] = f
    return list(seen.values())


def _fine(
    catalog: Catalog, keep: np.ndarray, c_local: np.ndarray, n_t: int,
    jd: np.ndarray, fr: np.ndarray, rot: EarthRotation,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, list[SGP4Failure]]:
    """Propagate kept satellites over the fine samples of their kept coarse intervals only.

    Interval k covers local fine samples c_local[k] … c_local[k+1]; its right part (c_local[k],
    c_local[k+1]] is computed for every kept satellite, its left end c_local[k] only for those not
    already computed as the right end of interval k-1.
    """
    sat_index = np.flatnonzero(keep.any(axis=0))
    col = np.full(len(catalog), -1)
    col[sat_index] = np.arange(sat_index.shape[0])
    pos = np.full((n_t, sat_index.shape[0], 3), np.nan)
    vel = np.full_like(pos, np.nan)
    codes = np.zeros((n_t, sat_index.shape[0]), dtype=np.uint8)
    computed = np.zeros((n_t, sat_index.shape[0]), dtype=bool)
    satrecs = catalog.satrecs
    steps = 0
    prev = np.zeros(len(catalog), dtype=bool)
    for k in range(keep.shape[0]):
        kept = keep[k]
        right = np.arange(c_local[k] + 1, min(c_local[k + 1] + 1, n_t))
        for sats, t_idx in ((np.flatnonzero(kept & ~prev), np.array([c_local[k]])),
                            (np.flatnonzero(kept), right)):
            if sats.size == 0 or t_idx.size == 0:
                continue
            arr = SatrecArray([satrecs[i] for i in sats])
            r, v, e = propagate_teme(arr, jd[t_idx], fr[t_idx])
            r, v = teme_to_itrs(r, v, rot.take(t_idx))
            ix = np.ix_(t_idx, col[sats])
            pos[ix], vel[ix], codes[ix], computed[ix] = r, v, e, True
            steps += sats.size * t_idx.size
        prev = kept
    failed = computed & (codes != 0)
    computed &= ~failed
    pos[failed] = np.nan
    vel[failed] = np.nan
    fails = list(sgp4_failures(catalog, codes, jd, fr, sat_index)) if failed.any() else []
    return pos, vel, computed, sat_index, steps, fails
