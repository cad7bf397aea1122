"""Vectorised SGP4 to Earth-fixed (ITRS) positions and velocities.

SGP4 (``sgp4.api.SatrecArray``) gives TEME states, shape (S, T, 3) in km and km/s. This adapter
converts the layout once to (T, S, 3) in metres and rotates TEME → ITRS with one matrix per time
step applied to all satellites (AIAA 2006-6753, Vallado et al. 2006, Appendix C):

    r_PEF = R3(θ_GMST82) r_TEME,            r_ITRS = W r_PEF
    v_PEF = R3(θ_GMST82) v_TEME − ω × r_PEF, v_ITRS = W v_PEF

with θ_GMST82 and its rate from Skyfield's ``theta_GMST1982`` evaluated at UT1, ω = θ̇ (1 − LOD/86400 s)
and W = R1(y_p) R2(x_p) the polar-motion matrix (identity by default: Skyfield's built-in timescale
carries no polar motion; leaving it out moves positions by ≲ 20 m, see ``docs/conventions.md``).
UT1 comes from Skyfield's built-in ΔUT1 table, so results match ``EarthSatellite.at(t)`` in the
``itrs`` frame.

Satellites whose SGP4 call returns an error code are masked (NaN state, ``valid`` False) and
reported, never raised: see :class:`SGP4Failure`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from sgp4.api import SGP4_ERRORS, SatrecArray
from skyfield.sgp4lib import theta_GMST1982

from ..constants import M_PER_KM, NS_PER_S, SECONDS_PER_DAY, WGS84_A, WGS84_F
from ..timebase import format_iso8601_ms, ns_since_epoch_to_jd, skyfield_time
from .catalog import Catalog

__all__ = [
    "Ephemeris",
    "EarthRotation",
    "SGP4Failure",
    "SGP4Warning",
    "builtin_timescale",
    "earth_rotation",
    "earth_rotation_ut1",
    "teme_to_itrs",
    "propagate_teme",
    "propagate_ecef",
    "sgp4_failures",
    "warn_failures",
    "ALTITUDE_FLOOR_M",
    "ServiceReport",
    "service_screen",
]

_BLOCK_SAT_STEPS = 1 << 18  # satellite-steps per SGP4 call inside propagate_ecef (6 MB per state array)


class SGP4Warning(UserWarning):
    """Some satellites returned SGP4 error codes; they are masked in the results."""


@dataclass(frozen=True)
class SGP4Failure:
    """One satellite that SGP4 could not propagate (first failing instant)."""

    sat_id: int
    name: str
    code: int
    message: str
    first_jd: float

    def __str__(self) -> str:
        return f"{self.sat_id} {self.name or '?'}: SGP4 error {self.code} ({self.message})"


@dataclass(frozen=True)
class EarthRotation:
    """TEME → ITRS rotation per time step.

    Attributes
    ----------
    matrix : ndarray, shape (T, 3, 3) — W · R3(θ_GMST82), maps TEME vectors to ITRS
    omega_rad_s : ndarray, shape (T,) — Earth angular velocity θ̇ (1 − LOD/86400 s)
    pole : ndarray, shape (T, 3) — ITRS direction of the rotation axis, W · ẑ
    """

    matrix: np.ndarray
    omega_rad_s: np.ndarray
    pole: np.ndarray

    def take(self, index: ArrayLike) -> "EarthRotation":
        """The rotation at the given time indices."""
        return EarthRotation(self.matrix[index], self.omega_rad_s[index], self.pole[index])


@dataclass(frozen=True)
class Ephemeris:
    """Earth-fixed states of a catalogue over a time grid.

    Attributes
    ----------
    jd, fr : ndarray, shape (T,) — split Julian dates (UTC) of the samples
    positions_m : ndarray, shape (T, S, 3), m — ITRS (ECEF); NaN where ``valid`` is False
    velocities_m_s : ndarray, shape (T, S, 3), m/s — ITRS velocity (includes the −ω × r term)
    error_codes : ndarray, shape (T, S), uint8 — SGP4 error code (0 = ok; see ``sgp4.api.SGP4_ERRORS``)
    valid : ndarray, shape (T, S), bool — True where SGP4 succeeded
    failures : tuple of SGP4Failure — one entry per satellite that failed at any sample
    """

    jd: np.ndarray
    fr: np.ndarray
    positions_m: np.ndarray
    velocities_m_s: np.ndarray
    error_codes: np.ndarray
    valid: np.ndarray
    failures: tuple[SGP4Failure, ...] = ()


def builtin_timescale() -> object:
    """Skyfield's built-in timescale (leap seconds, ΔUT1); never downloads."""
    from skyfield.api import load

    return load.timescale(builtin=True)


def _rot_x(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def earth_rotation_ut1(
    jd_ut1: ArrayLike,
    fr_ut1: ArrayLike,
    *,
    xp_rad: ArrayLike = 0.0,
    yp_rad: ArrayLike = 0.0,
    lod_s: ArrayLike = 0.0,
) -> EarthRotation:
    """TEME → ITRS rotation from UT1 and Earth-orientation parameters (AIAA 2006-6753 App. C).

    Parameters
    ----------
    jd_ut1, fr_ut1 : array_like, shape (T,) — split Julian date on the UT1 scale
    xp_rad, yp_rad : array_like, shape () or (T,), rad — polar motion (0 = ignore)
    lod_s : array_like, shape () or (T,), s — excess length of day (scales ω)
    """
    jd_ut1 = np.atleast_1d(np.asarray(jd_ut1, dtype=float))
    fr_ut1 = np.atleast_1d(np.asarray(fr_ut1, dtype=float))
    theta, theta_dot = theta_GMST1982(jd_ut1, fr_ut1)  # rad, rad per UT1 day
    omega = theta_dot / SECONDS_PER_DAY * (1.0 - np.asarray(lod_s, dtype=float) / SECONDS_PER_DAY)
    c, s = np.cos(theta), np.sin(theta)
    n = theta.shape[0]
    r3 = np.zeros((n, 3, 3))
    r3[:, 0, 0], r3[:, 0, 1], r3[:, 1, 0], r3[:, 1, 1], r3[:, 2, 2] = c, s, -s, c, 1.0
    xp = np.broadcast_to(np.asarray(xp_rad, dtype=float), (n,))
    yp = np.broadcast_to(np.asarray(yp_rad, dtype=float), (n,))
    if np.any(xp) or np.any(yp):
        w = _rot_x(yp) @ _rot_y(xp)
        matrix = w @ r3
        pole = w[:, :, 2].copy()
    else:
        matrix = r3
        pole = np.zeros((n, 3))
        pole[:, 2] = 1.0
    return EarthRotation(matrix=matrix, omega_rad_s=np.broadcast_to(omega, (n,)).copy(), pole=pole)


def earth_rotation(jd: ArrayLike, fr: ArrayLike, *, timescale: object | None = None) -> EarthRotation:
    """TEME → ITRS rotation at UTC split Julian dates, UT1 from Skyfield's timescale, no polar motion.

    Parameters
    ----------
    jd, fr : array_like, shape (T,) — split Julian date (UTC)
    timescale : skyfield Timescale, optional — default :func:`builtin_timescale`
    """
    ts = timescale if timescale is not None else builtin_timescale()
    t = skyfield_time(ts, np.atleast_1d(jd), np.atleast_1d(fr))
    return earth_rotation_ut1(np.atleast_1d(t.whole), np.atleast_1d(t.ut1_fraction))


def teme_to_itrs(
    r_teme: np.ndarray, v_teme: np.ndarray, rotation: EarthRotation
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate TEME states to ITRS, one matrix per time step for all satellites.

    Parameters
    ----------
    r_teme : ndarray, shape (T, S, 3) — position (any length unit; output has the same unit)
    v_teme : ndarray, shape (T, S, 3) — velocity (same length unit per s)
    rotation : EarthRotation with T steps

    Returns
    -------
    r_itrs, v_itrs : ndarray, shape (T, S, 3) — v_ITRS = M v_TEME − ω (W ẑ) × r_ITRS
    """
    return _rotate(r_teme, v_teme, rotation, 1.0)


def _rotate(r, v, rotation: EarthRotation, scale: float, out=None) -> tuple[np.ndarray, np.ndarray]:
    m_t = np.swapaxes(rotation.matrix, 1, 2) * scale  # (T, 3, 3): row-vector form, unit scaling folded in
    r_out = np.matmul(r, m_t, out=None if out is None else out[0])
    v_out = np.matmul(v, m_t, out=None if out is None else out[1])
    w = rotation.omega_rad_s[:, None]
    x, y, z = r_out[..., 0], r_out[..., 1], r_out[..., 2]
    if np.all(rotation.pole[:, :2] == 0.0):  # W = I: ω × r = ω (−y, x, 0)
        v_out[..., 0] += w * y
        v_out[..., 1] -= w * x
    else:
        k = rotation.pole[:, None, :]
        kx, ky, kz = k[..., 0], k[..., 1], k[..., 2]
        v_out[..., 0] -= w * (ky * z - kz * y)
        v_out[..., 1] -= w * (kz * x - kx * z)
        v_out[..., 2] -= w * (kx * y - ky * x)
    return r_out, v_out


def propagate_teme(
    satrecs: SatrecArray, jd: ArrayLike, fr: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SGP4 TEME states on a (time × satellite) grid, in SI and (T, S, …) order.

    Parameters
    ----------
    satrecs : sgp4.api.SatrecArray of S satellites
    jd, fr : array_like, shape (T,) — split Julian date (UTC)

    Returns
    -------
    r_m : ndarray, shape (T, S, 3), m — TEME position (NaN where SGP4 failed)
    v_m_s : ndarray, shape (T, S, 3), m/s — TEME velocity
    error_codes : ndarray, shape (T, S), uint8
    """
    # SatrecArray needs C-contiguous time arrays; a strided view such as jd[::30] would be refused.
    jd = np.ascontiguousarray(np.atleast_1d(np.asarray(jd, float)))
    fr = np.ascontiguousarray(np.atleast_1d(np.asarray(fr, float)))
    e, r, v = satrecs.sgp4(jd, fr)
    return np.swapaxes(r, 0, 1) * M_PER_KM, np.swapaxes(v, 0, 1) * M_PER_KM, np.ascontiguousarray(e.T)


def sgp4_failures(
    catalog: Catalog, error_codes: np.ndarray, jd: np.ndarray, fr: np.ndarray,
    sat_index: np.ndarray | None = None,
) -> tuple[SGP4Failure, ...]:
    """One :class:`SGP4Failure` per satellite with a non-zero code in ``error_codes`` (T, S)."""
    bad = np.flatnonzero(error_codes.any(axis=0))
    out = []
    for j in bad:
        t = int(np.argmax(error_codes[:, j] != 0))
        code = int(error_codes[t, j])
        i = int(j if sat_index is None else sat_index[j])
        out.append(SGP4Failure(
            sat_id=int(catalog.sat_ids[i]), name=catalog.names[i], code=code,
            message=SGP4_ERRORS.get(code, "unknown SGP4 error"), first_jd=float(jd[t] + fr[t]),
        ))
    return tuple(out)


def warn_failures(failures: tuple[SGP4Failure, ...], stacklevel: int = 3) -> None:
    """Emit one :class:`SGP4Warning` summarising ``failures`` (nothing if empty)."""
    if not failures:
        return
    shown = "; ".join(str(f) for f in failures[:5])
    more = f"; and {len(failures) - 5} more" if len(failures) > 5 else ""
    warnings.warn(
        f"{len(failures)} satellite(s) failed in SGP4 and are masked: {shown}{more}",
        SGP4Warning, stacklevel=stacklevel,
    )


def propagate_ecef(
    catalog: Catalog,
    jd: ArrayLike,
    fr: ArrayLike,
    *,
    timescale: object | None = None,
    rotation: EarthRotation | None = None,
    satrecs: SatrecArray | None = None,
    warn: bool = True,
) -> Ephemeris:
    """Propagate every satellite of ``catalog`` to ITRS (ECEF) positions and velocities.

    Parameters
    ----------
    catalog : Catalog of S satellites
    jd, fr : array_like, shape (T,) — split Julian date (UTC) of the samples
    timescale : skyfield Timescale, optional — source of UT1 (default: built-in tables)
    rotation : EarthRotation, optional — precomputed TEME → ITRS rotation for these T instants
        (e.g. from :func:`earth_rotation_ut1` with measured EOP); overrides ``timescale``
    satrecs : SatrecArray, optional — prebuilt array of ``catalog.satrecs`` (saves ~0.5 µs per satellite)
    warn : bool — emit an :class:`SGP4Warning` when some satellites fail

    Returns
    -------
    Ephemeris with arrays of shape (T, S, 3) and (T, S); failing samples are NaN and masked.
    """
    jd = np.ascontiguousarray(np.atleast_1d(np.asarray(jd, dtype=float)))
    fr = np.ascontiguousarray(np.atleast_1d(np.asarray(fr, dtype=float)))
    arr = satrecs if satrecs is not None else SatrecArray(list(catalog.satrecs))
    rot = rotation if rotation is not None else earth_rotation(jd, fr, timescale=timescale)
    n_t, n_s = jd.shape[0], len(arr)
    pos = np.empty((n_t, n_s, 3))
    vel = np.empty((n_t, n_s, 3))
    codes = np.empty((n_t, n_s), dtype=np.uint8)
    # Time blocks of ~_BLOCK_SAT_STEPS keep SGP4's (S, t, 3) scratch arrays small and reused.
    step = max(1, _BLOCK_SAT_STEPS // max(n_s, 1))
    for t0 in range(0, n_t, step):
        t1 = min(n_t, t0 + step)
        e, r_km, v_km = arr.sgp4(jd[t0:t1], fr[t0:t1])
        _rotate(np.swapaxes(r_km, 0, 1), np.swapaxes(v_km, 0, 1), rot.take(slice(t0, t1)), M_PER_KM,
                out=(pos[t0:t1], vel[t0:t1]))
        codes[t0:t1] = e.T
    valid = codes == 0
    failures: tuple[SGP4Failure, ...] = ()
    if not valid.all():
        pos[~valid] = np.nan
        vel[~valid] = np.nan
        failures = sgp4_failures(catalog, codes, jd, fr)
        if warn:
            warn_failures(failures)
    return Ephemeris(jd=jd, fr=fr, positions_m=pos, velocities_m_s=vel,
                     error_codes=codes, valid=valid, failures=failures)


# -- removal from service -----------------------------------------------------------------------
#: Below this height above the WGS84 ellipsoid a satellite has re-entered for the simulator's
#: purposes (no LEO satellite keeps station there; SGP4's own decay check, error 6, fires only at
#: the Earth's surface).
ALTITUDE_FLOOR_M = 150e3
_SCREEN_GRID_S = 60.0
_RESOLUTION_NS = 1_000_000  # the first failing instant is located to 1 ms
_IN_SERVICE = np.iinfo(np.int64).max


@dataclass(frozen=True)
class ServiceReport:
    """Satellites removed from service during a run, and element sets skipped on reading.

    Attributes
    ----------
    retired_utc_ns : ndarray, shape (S,), int64 — first failing instant, ns since 1970 UTC (int64
        max for satellites in service throughout)
    removed : tuple of dict — per removed satellite: ``sat_id``, ``name``, ``first_failing_utc``,
        ``code`` (SGP4 error code, or None for the altitude floor), ``reason``
    skipped : tuple of str — element sets skipped under ``skip_invalid`` (file:line: problem)
    """

    retired_utc_ns: np.ndarray
    removed: tuple[dict, ...]
    skipped: tuple[str, ...]

    def as_json(self) -> dict:
        return {"altitude_floor_km": ALTITUDE_FLOOR_M / 1e3, "n_removed": len(self.removed),
                "removed_from_service": list(self.removed), "n_skipped_records": len(self.skipped),
                "skipped_records": list(self.skipped)}


def _failure(arr: SatrecArray, epoch_utc_ns: int, t_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SGP4 code (S, T) and height above the ellipsoid (S, T), m, of every satellite of ``arr``.

    The height uses the TEME position's geocentric latitude (TEME's z is within arcminutes of the
    Earth's axis), which is all a 150 km floor needs.
    """
    jd, fr = ns_since_epoch_to_jd(epoch_utc_ns, t_ns)
    e, r_km, _ = arr.sgp4(np.ascontiguousarray(jd), np.ascontiguousarray(fr))
    r = np.linalg.norm(r_km, axis=-1) * M_PER_KM
    with np.errstate(invalid="ignore", divide="ignore"):
        sin2 = (r_km[..., 2] * M_PER_KM / r) ** 2
    b = WGS84_A * (1.0 - WGS84_F)
    surface = 1.0 / np.sqrt((1.0 - sin2) / WGS84_A**2 + sin2 / b**2)
    return e, r - surface


def service_screen(catalog: Catalog, epoch_utc_ns: int, duration_ns: int, *,
                   floor_m: float = ALTITUDE_FLOOR_M, grid_s: float = _SCREEN_GRID_S) -> ServiceReport:
    """Find the satellites that fail SGP4 or fall below ``floor_m`` during [0, duration_ns] after the epoch.

    Every satellite is propagated on a ``grid_s`` grid (and at the end); for each one that fails,
    the first failing instant is located by bisection to 1 ms between its last good and first bad
    grid point. A failure shorter than the grid between two good points is not seen (SGP4's
    errors and re-entry persist once they start). A satellite is out of service from that instant
    for the rest of the run.
    """
    n = len(catalog)
    grid_ns = int(grid_s * NS_PER_S)
    t = np.unique(np.r_[np.arange(0, duration_ns, grid_ns, dtype=np.int64), np.int64(duration_ns)])
    retired = np.full(n, _IN_SERVICE, dtype=np.int64)
    removed = []
    block = max(1, _BLOCK_SAT_STEPS // max(len(t), 1))
    for a in range(0, n, block):
        idx = np.arange(a, min(n, a + block))
        codes, height = _failure(SatrecArray([catalog.satrecs[i] for i in idx]), epoch_utc_ns, t)
        bad = (codes != 0) | ~(height >= floor_m)
        for j in np.flatnonzero(bad.any(axis=1)):
            k = int(np.argmax(bad[j]))
            sat = SatrecArray([catalog.satrecs[idx[j]]])
            lo, hi = (int(t[k - 1]), int(t[k])) if k > 0 else (None, int(t[0]))
            while lo is not None and hi - lo > _RESOLUTION_NS:
                mid = (lo + hi) // 2
                c, h = _failure(sat, epoch_utc_ns, np.array([mid], dtype=np.int64))
                if c[0, 0] != 0 or not h[0, 0] >= floor_m:
                    hi = mid
                else:
                    lo = mid
            c, h = _failure(sat, epoch_utc_ns, np.array([hi], dtype=np.int64))
            code = int(c[0, 0])
            i = int(idx[j])
            retired[i] = epoch_utc_ns + hi
            reason = (SGP4_ERRORS.get(code, "unknown SGP4 error") if code else
                      f"altitude {h[0, 0] / 1e3:.1f} km is below the {floor_m / 1e3:.0f} km floor (re-entry)")
            removed.append({"sat_id": int(catalog.sat_ids[i]), "name": catalog.names[i],
                            "first_failing_utc": str(format_iso8601_ms(epoch_utc_ns + hi)),
                            "code": code or None, "reason": reason})
    return ServiceReport(retired_utc_ns=retired, removed=tuple(removed), skipped=tuple(catalog.skipped))
