"""Time conventions: UTC instants as integer nanoseconds, split Julian dates for SGP4.

Conventions (see ``docs/conventions.md``):

- An absolute instant is an ``int64`` count of nanoseconds since 1970-01-01T00:00:00 UTC on the
  UTC clock (POSIX / ``numpy.datetime64[ns]`` convention: leap seconds are not counted). The
  simulation clock (SimPy time) is an integer nanosecond count since the scenario epoch, i.e.
  ``utc_ns - epoch_utc_ns``.
- SGP4 takes a Julian date (UTC) split in two floats ``(jd, fr)``: ``jd`` is a midnight Julian date
  (integer + 0.5) and ``fr`` the fraction of the day in ``[0, 1)``. Splitting at an integer day keeps
  ``fr`` exact to ~1e-11 s; adding 1e9-scale nanosecond floats to a 2.46e6 JD would not.
- Leap seconds: everything here is UTC. When Skyfield needs TT or UT1 (Earth rotation),
  :func:`skyfield_time` builds a Skyfield ``Time`` from UTC with its built-in leap-second table and
  its built-in IERS ΔUT1 table (``load.timescale(builtin=True)``, no download).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import numpy as np
from numpy.typing import ArrayLike

from .constants import NS_PER_S, SECONDS_PER_DAY
from .errors import InputError

__all__ = [
    "UNIX_EPOCH_JD",
    "NS_PER_DAY",
    "parse_iso8601",
    "to_utc_ns",
    "utc_ns_to_datetime64",
    "utc_ns_to_datetime",
    "datetime_to_jd",
    "utc_ns_to_jd",
    "jd_to_utc_ns",
    "ns_since_epoch_to_jd",
    "jd_to_ns_since_epoch",
    "seconds_since_epoch_to_jd",
    "format_iso8601_ms",
    "skyfield_time",
]

UNIX_EPOCH_JD = 2_440_587.5  # Julian date of 1970-01-01T00:00:00 UTC
NS_PER_DAY = int(SECONDS_PER_DAY) * NS_PER_S  # ns per UTC day (86 400 s, leap seconds not counted)

_ISO_RE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?\s*$"
)


def parse_iso8601(text: str) -> datetime:
    """Parse an ISO 8601 date or date-time to a timezone-aware UTC ``datetime``.

    Accepts ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM[:SS[.fff…]]`` with ``Z``, ``±HH:MM`` or ``±HHMM``.
    A string without an offset is taken as UTC. Fractions beyond microseconds are rounded to µs
    (use :func:`to_utc_ns` to keep nanoseconds).

    >>> parse_iso8601("2026-02-24T03:43:00.5+01:00").isoformat()
    '2026-02-24T02:43:00.500000+00:00'
    """
    ns = _parse_iso8601_ns(text)
    return utc_ns_to_datetime(ns)


def _parse_iso8601_ns(text: str) -> int:
    match = _ISO_RE.match(str(text))
    if not match:
        raise InputError(
            f"time {text!r} is not ISO 8601; use e.g. 2026-02-24T03:43:00Z or 2026-02-24T03:43:00+01:00"
        )
    year, month, day, hour, minute, second, frac, offset = match.groups()
    try:
        base = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                        int(second or 0), tzinfo=timezone.utc)
    except ValueError as exc:
        raise InputError(f"time {text!r}: {exc}") from None
    ns = _datetime_utc_ns(base) + (int(frac.ljust(9, "0")) if frac else 0)
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        ns -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * NS_PER_S
    return ns


def _datetime_utc_ns(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    delta = dt - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000


def to_utc_ns(value: object) -> int:
    """Any UTC instant (ISO string, ``datetime``, ``numpy.datetime64``, pandas ``Timestamp``, int ns)
    as an integer nanosecond count since 1970-01-01 UTC.

    Naive ``datetime`` / ``datetime64`` values are taken as UTC.

    >>> to_utc_ns("1970-01-01T00:00:01.000000001Z")
    1000000001
    """
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"time {value!r} is not an instant")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str):
        return _parse_iso8601_ns(value)
    if hasattr(value, "value") and hasattr(value, "tz_convert"):  # pandas Timestamp
        return int(value.value)
    if isinstance(value, datetime):
        return _datetime_utc_ns(value)
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    raise InputError(f"time {value!r} of type {type(value).__name__} is not a UTC instant")


def utc_ns_to_datetime64(utc_ns: ArrayLike) -> np.ndarray:
    """Integer ns since 1970 UTC → ``datetime64[ns]`` (same integers, UTC by convention)."""
    return np.asarray(utc_ns, dtype=np.int64).astype("datetime64[ns]")


def utc_ns_to_datetime(utc_ns: int) -> datetime:
    """Integer ns since 1970 UTC → timezone-aware ``datetime`` (rounded to the nearest µs)."""
    us = (int(utc_ns) + 500) // 1000
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=us)


def datetime_to_jd(dt: datetime) -> tuple[float, float]:
    """UTC ``datetime`` → split Julian date ``(jd, fr)`` with ``jd`` at midnight (… .5).

    >>> datetime_to_jd(datetime(2000, 1, 1, 12, tzinfo=timezone.utc))
    (2451544.5, 0.5)
    """
    jd, fr = utc_ns_to_jd(_datetime_utc_ns(dt))
    return float(jd), float(fr)


def utc_ns_to_jd(utc_ns: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Integer ns since 1970 UTC, shape (...) → split Julian date ``(jd, fr)``, shape (...).

    The day split is done in integers, so ``fr`` carries the full nanosecond resolution.
    """
    ns = np.asarray(utc_ns, dtype=np.int64)
    days, rem = np.divmod(ns, NS_PER_DAY)
    return UNIX_EPOCH_JD + days.astype(float), rem / float(NS_PER_DAY)


def jd_to_utc_ns(jd: ArrayLike, fr: ArrayLike = 0.0) -> np.ndarray:
    """Split Julian date (UTC) → integer ns since 1970 UTC, rounded to the nearest ns.

    ``jd`` need not be midnight-aligned; its whole days are separated before scaling to ns.
    """
    days = np.asarray(jd, dtype=float) - UNIX_EPOCH_JD
    whole = np.floor(days)
    frac = (days - whole) + np.asarray(fr, dtype=float)
    extra = np.floor(frac)
    ns_of_day = np.rint((frac - extra) * NS_PER_DAY).astype(np.int64)
    return (whole + extra).astype(np.int64) * NS_PER_DAY + ns_of_day


def ns_since_epoch_to_jd(epoch_utc_ns: int, t_ns: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Simulation time (int ns since the epoch), shape (T,) → split Julian date (UTC), shape (T,)."""
    return utc_ns_to_jd(np.asarray(t_ns, dtype=np.int64) + np.int64(epoch_utc_ns))


def jd_to_ns_since_epoch(epoch_utc_ns: int, jd: ArrayLike, fr: ArrayLike = 0.0) -> np.ndarray:
    """Split Julian date (UTC) → simulation time, int ns since the epoch."""
    return jd_to_utc_ns(jd, fr) - np.int64(epoch_utc_ns)


def seconds_since_epoch_to_jd(epoch_utc_ns: int, t_s: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Float seconds since the epoch (root-finding iterates), shape (...) → split JD (UTC).

    The epoch is split in integers first; the float offset only touches ``fr`` (|t_s| ≲ 1e7 s keeps
    ~1e-9 s resolution).
    """
    jd0, fr0 = utc_ns_to_jd(epoch_utc_ns)
    fr = fr0 + np.asarray(t_s, dtype=float) / SECONDS_PER_DAY
    whole = np.floor(fr)
    return jd0 + whole, fr - whole


def format_iso8601_ms(utc_ns: ArrayLike) -> np.ndarray | str:
    """UTC instants (int ns since 1970, or ``datetime64``) → ISO 8601 strings with milliseconds and
    ``Z``, rounded to the nearest ms; NaT gives ``""``.

    >>> format_iso8601_ms(np.int64(1_771_904_580_123_456_789))
    '2026-02-24T03:43:00.123Z'
    """
    arr = np.asarray(utc_ns)
    scalar = arr.ndim == 0
    if np.issubdtype(arr.dtype, np.datetime64):
        arr = arr.astype("datetime64[ns]")
    else:
        arr = arr.astype(np.int64).astype("datetime64[ns]")
    nat = np.isnat(arr)
    ms = (arr.astype(np.int64) + 500_000) // 1_000_000
    text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms")
    out = np.char.add(text.astype(str), "Z")
    out = np.where(nat, "", out)
    return str(out[()]) if scalar else out


def skyfield_time(ts: object, jd: ArrayLike, fr: ArrayLike) -> object:
    """Split Julian date (UTC) → Skyfield ``Time`` (TT and UT1 from the timescale's tables).

    Built through ``Timescale.utc`` so Skyfield applies its leap-second table (UTC → TAI → TT)
    and its ΔUT1 table (``t.ut1_fraction``) exactly as it does for its own satellites.
    """
    jd = np.asarray(jd, dtype=float)
    fr = np.asarray(fr, dtype=float)
    whole = np.floor(jd - UNIX_EPOCH_JD)  # days since 1970-01-01 at UTC midnight
    seconds = ((jd - UNIX_EPOCH_JD - whole) + fr) * SECONDS_PER_DAY
    return ts.utc(1970, 1, 1 + whole, 0, 0, seconds)
