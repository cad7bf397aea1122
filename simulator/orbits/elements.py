"""Mean orbital elements shared by the TLE and OMM readers and writers.

:class:`OrbitElements` is one element set in the units of a TLE (degrees, revolutions per day,
UTC epoch). :class:`CatalogBuilder` turns validated records into a :class:`Catalog` with one policy
for every format: invalid records and repeated catalogue numbers are errors, unless
``skip_invalid`` asks to keep the valid ones and list the others in ``Catalog.skipped``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import numpy as np
from sgp4.api import SGP4_ERRORS, Satrec

from ..errors import TLEError
from .catalog import Catalog

__all__ = [
    "OrbitElements",
    "CatalogBuilder",
    "as_utc",
    "elements_from_satrec",
    "element_range_problem",
    "sgp4_init_problem",
    "tle_epoch_field",
    "epoch_from_tle_field",
]

MIN_EPOCH_YEAR = 1957  # two-digit TLE years 57..99 are 1957..1999
MAX_EPOCH_YEAR = 2056  # and 00..56 are 2000..2056
_EPOCH_UNIT_US = 864  # µs in 1e-8 day, the resolution of the TLE epoch field (86 400 s × 1e-8)
_DAY_UNITS = 100_000_000  # 1e-8-day units in a day
_TWO_PI = 2.0 * math.pi
_MIN_PER_DAY = 1440.0


class OrbitElements(NamedTuple):
    """One SGP4 mean element set in TLE units (the field order of :func:`~.tle.format_tle`).

    Attributes
    ----------
    name : str — satellite name ("" if none)
    sat_id : int — NORAD catalogue number (0 … 339 999 in a TLE; Alpha-5 above 99 999)
    epoch : datetime — element epoch, timezone-aware UTC
    inclination_deg, raan_deg, arg_perigee_deg, mean_anomaly_deg : float, deg
    eccentricity : float — 0 ≤ e < 1
    mean_motion_rev_per_day : float, rev/day — Kozai mean motion, as SGP4 expects in a TLE
    bstar : float, 1/earth radii — SGP4 drag term B*
    mean_motion_dot : float, rev/day² — the TLE field ṅ/2 (not used by SGP4)
    mean_motion_ddot : float, rev/day³ — the TLE field n̈/6 (not used by SGP4)
    classification : str — 'U', 'C' or 'S'
    intl_designator : str — e.g. '98067A' (up to 8 characters)
    element_number, rev_number, ephemeris_type : int — bookkeeping fields of the TLE
    """

    name: str
    sat_id: int
    epoch: datetime
    inclination_deg: float
    raan_deg: float
    eccentricity: float
    arg_perigee_deg: float
    mean_anomaly_deg: float
    mean_motion_rev_per_day: float
    bstar: float = 0.0
    mean_motion_dot: float = 0.0
    mean_motion_ddot: float = 0.0
    classification: str = "U"
    intl_designator: str = ""
    element_number: int = 999
    rev_number: int = 0
    ephemeris_type: int = 0


def as_utc(epoch: datetime) -> datetime:
    """``epoch`` as an aware UTC datetime; a naive datetime is read as UTC (leosim's convention)."""
    if epoch.tzinfo is None:
        return epoch.replace(tzinfo=timezone.utc)
    return epoch.astimezone(timezone.utc)


def _days_in_year(year: int) -> int:
    return 366 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 365


def tle_epoch_field(epoch: datetime) -> str:
    """The 14-column TLE epoch ``YYDDD.DDDDDDDD``, rounded to the field's 1e-8 day (0.864 ms).

    >>> tle_epoch_field(datetime(2026, 1, 1, tzinfo=timezone.utc))
    '26001.00000000'
    """
    t = as_utc(epoch)
    year = t.year
    since_jan1 = t - datetime(year, 1, 1, tzinfo=timezone.utc)
    us = (since_jan1.days * 86_400 + since_jan1.seconds) * 1_000_000 + since_jan1.microseconds
    units = (2 * us + _EPOCH_UNIT_US) // (2 * _EPOCH_UNIT_US)  # round half up to 1e-8 day
    if units >= _days_in_year(year) * _DAY_UNITS:  # rounded into the next year
        units -= _days_in_year(year) * _DAY_UNITS
        year += 1
    if not MIN_EPOCH_YEAR <= year <= MAX_EPOCH_YEAR:
        raise TLEError(
            f"epoch {t.isoformat()} outside {MIN_EPOCH_YEAR}-{MAX_EPOCH_YEAR}, the years a two-digit TLE year can hold"
        )
    day, frac = divmod(units, _DAY_UNITS)
    return f"{year % 100:02d}{day + 1:03d}.{frac:08d}"


def epoch_from_tle_field(year2: int, day_of_year: int, frac_units: int) -> datetime:
    """UTC epoch of a TLE epoch field, exact to the microsecond (1e-8 day is 864 µs).

    Parameters
    ----------
    year2 : int — two-digit year (57..99 → 19xx, 00..56 → 20xx)
    day_of_year : int — 1 on January 1
    frac_units : int — fraction of the day in units of 1e-8 day

    Raises ``ValueError`` (for the caller to wrap) when the day is outside the year.
    """
    year = 1900 + year2 if year2 >= 57 else 2000 + year2
    if not 1 <= day_of_year <= _days_in_year(year):
        raise ValueError(f"day of year {day_of_year} outside [1, {_days_in_year(year)}] for {year}")
    us = (day_of_year - 1) * 86_400_000_000 + frac_units * _EPOCH_UNIT_US
    return datetime(year, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=us)


def element_range_problem(
    inclination_deg: float,
    raan_deg: float,
    eccentricity: float,
    arg_perigee_deg: float,
    mean_anomaly_deg: float,
    mean_motion_rev_per_day: float,
) -> str | None:
    """What is out of range in a set of mean elements, or None when every value is allowed."""
    checks = (
        ("inclination", inclination_deg, 0.0, 180.0, "deg"),
        ("right ascension of the ascending node", raan_deg, 0.0, 360.0, "deg"),
        ("argument of perigee", arg_perigee_deg, 0.0, 360.0, "deg"),
        ("mean anomaly", mean_anomaly_deg, 0.0, 360.0, "deg"),
    )
    for label, value, lo, hi, unit in checks:
        if not lo <= value <= hi:  # also rejects NaN
            return f"{label} {value:.10g} {unit}, expected {lo:g} to {hi:g} {unit}"
    if not 0.0 <= eccentricity < 1.0:
        return f"eccentricity {eccentricity:.10g}, expected 0 <= e < 1"
    if not 0.0 < mean_motion_rev_per_day < math.inf:
        return f"mean motion {mean_motion_rev_per_day:.10g} rev/day, expected a positive number"
    return None


def sgp4_init_problem(satrec: Satrec) -> str | None:
    """The SGP4 initialisation error of ``satrec`` as text, or None when SGP4 accepted it."""
    if satrec.error == 0:
        return None
    reason = SGP4_ERRORS.get(satrec.error, "unknown error")
    return f"SGP4 rejects the elements at epoch (error {satrec.error}: {reason})"


def elements_from_satrec(satrec: Satrec, name: str = "", sat_id: int | None = None) -> OrbitElements:
    """The TLE-unit elements held by an initialised ``Satrec`` (the inverse of reading a TLE).

    Parameters
    ----------
    satrec : sgp4.api.Satrec — from ``twoline2rv`` or ``sgp4init``
    name : str — satellite name to carry along
    sat_id : int, optional — catalogue number; defaults to ``satrec.satnum``
    """
    year = satrec.epochyr % 100
    year += 1900 if year >= 57 else 2000
    us = round((satrec.epochdays - 1.0) * 86_400_000_000)
    epoch = datetime(year, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=us)
    rad_per_min_to_rev_per_day = _MIN_PER_DAY / _TWO_PI
    return OrbitElements(
        name=name,
        sat_id=int(satrec.satnum if sat_id is None else sat_id),
        epoch=epoch,
        inclination_deg=math.degrees(satrec.inclo),
        raan_deg=math.degrees(satrec.nodeo),
        eccentricity=satrec.ecco,
        arg_perigee_deg=math.degrees(satrec.argpo),
        mean_anomaly_deg=math.degrees(satrec.mo),
        mean_motion_rev_per_day=satrec.no_kozai * rad_per_min_to_rev_per_day,
        bstar=satrec.bstar,
        mean_motion_dot=satrec.ndot * rad_per_min_to_rev_per_day * _MIN_PER_DAY,
        mean_motion_ddot=satrec.nddot * rad_per_min_to_rev_per_day * _MIN_PER_DAY**2,
        classification=(getattr(satrec, "classification", "U") or "U").strip() or "U",
        intl_designator=(getattr(satrec, "intldesg", "") or "").strip(),
        element_number=int(getattr(satrec, "elnum", 0)),
        rev_number=int(getattr(satrec, "revnum", 0)),
        ephemeris_type=int(getattr(satrec, "ephtype", 0)),
    )


class CatalogBuilder:
    """Collects records of one source and applies the invalid-record and duplicate policy.

    Parameters
    ----------
    source : str — the file name (or ``"<string>"``) that starts every message
    skip_invalid : bool — keep the valid records and list the invalid ones instead of raising
    """

    def __init__(self, source: str, skip_invalid: bool) -> None:
        self.source = source
        self.skip_invalid = skip_invalid
        self.problems: list[str] = []
        self._names: list[str] = []
        self._ids: list[int] = []
        self._satrecs: list[Satrec] = []
        self._first_seen: dict[int, str] = {}

    def reject(self, where: str, message: str) -> None:
        """Record an invalid record; ``where`` is e.g. ``'12'`` (a line) or ``'record 3'``."""
        separator = ":" if where.isdigit() else ": "
        text = f"{self.source}{separator}{where}: {message}"
        # one line whatever a name holds: control characters are shown escaped
        self.problems.append("".join(c if c.isprintable() else repr(c)[1:-1] for c in text))

    def add(self, where: str, name: str, sat_id: int, satrec: Satrec) -> None:
        """Keep a valid record unless its catalogue number was seen before in this source."""
        first = self._first_seen.get(sat_id)
        if first is not None:
            label = f" ({name})" if name else ""
            self.reject(where, f"catalogue number {sat_id}{label} repeats the element set at {first}")
            return
        self._first_seen[sat_id] = where if not where.isdigit() else f"line {where}"
        self._names.append(name)
        self._ids.append(sat_id)
        self._satrecs.append(satrec)

    def build(self) -> Catalog:
        """The catalogue, or a :class:`TLEError` naming the first problem and how many more there are."""
        if self.problems and not self.skip_invalid:
            more = len(self.problems) - 1
            tail = (
                f" (+{more} more invalid element set{'s' if more > 1 else ''};"
                " skip_invalid=True or --skip-invalid keeps the valid ones)"
                if more
                else ""
            )
            raise TLEError(self.problems[0] + tail)
        if not self._satrecs:
            if self.problems:
                raise TLEError(
                    f"no valid element sets in {self.source} ({len(self.problems)} invalid; first: {self.problems[0]})"
                )
            raise TLEError(f"no element sets found in {self.source}")
        return Catalog(
            names=tuple(self._names),
            sat_ids=np.asarray(self._ids, dtype=np.int64),
            satrecs=tuple(self._satrecs),
            source=self.source,
            skipped=tuple(self.problems),
        )
