"""Two-line element sets: read and validate, format and write; ``load_catalog`` for every format.

Reading accepts 3-line sets (name line + line 1 + line 2), bare 2-line sets, or a mix; blank lines
and lines starting with ``#`` are ignored, a Space-Track ``0 `` prefix on a name line is dropped.
Every line is checked column by column against the fixed TLE layout (CelesTrak, "NORAD Two-Line
Element Set Format"; Vallado et al., AIAA 2006-6753, appendix) before ``Satrec.twoline2rv`` — which
accepts almost anything — sees it. Problems raise :class:`~simulator.errors.TLEError` naming
file, line, satellite and what was expected::

    starlink.tle:1207: checksum 7, expected 3 (line 2 of STARLINK-3051)
"""

from __future__ import annotations

import math
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from sgp4.api import Satrec

from ..errors import InputError, TLEError
from .alpha5 import from_alpha5, to_alpha5
from .catalog import Catalog
from .elements import (
    CatalogBuilder,
    OrbitElements,
    element_range_problem,
    elements_from_satrec,
    epoch_from_tle_field,
    sgp4_init_problem,
    tle_epoch_field,
)
from .omm import parse_omm_csv, parse_omm_json

__all__ = [
    "load_catalog",
    "parse_tle_text",
    "detect_format",
    "checksum",
    "format_tle",
    "format_tle_text",
    "write_tle",
    "read_text",
    "OrbitElements",
]

TLE_LINE_LENGTH = 69

_SATNUM = r"(?:[A-HJ-NP-Z0-9][0-9]{4}| {4}[0-9]| {3}[0-9]{2}| {2}[0-9]{3}| [0-9]{4})"  # 5 columns
_EXP = r"[ +-][0-9]{5}[+-][0-9]"
_ANGLE = r"[ 0-9]{2}[0-9]\.[0-9]{4}"
_EXP_HINT = "a signed 5-digit mantissa and exponent such as ' 12345-3' (0.12345e-3)"
_ANGLE_HINT = "degrees as DDD.DDDD"
_SATNUM_HINT = "5 digits or Alpha-5 (letter + 4 digits)"

# (first column, last column (1-based, inclusive), pattern, label, what is expected); a None label
# is a blank separator column.
_LINE1_LAYOUT = (
    (1, 1, "1", "line number", "'1'"),
    (2, 2, " ", None, None),
    (3, 7, _SATNUM, "catalogue number", _SATNUM_HINT),
    (8, 8, "[UCS]", "classification", "U, C or S"),
    (9, 9, " ", None, None),
    (10, 17, "[ -~]{8}", "international designator", "8 printable ASCII characters"),
    (18, 18, " ", None, None),
    (19, 20, "[0-9]{2}", "epoch year", "2 digits"),
    (21, 32, r"[ 0-9]{2}[0-9]\.[0-9]{8}", "epoch day", "day of year as DDD.DDDDDDDD"),
    (33, 33, " ", None, None),
    (34, 43, r"[ +-]\.[0-9]{8}", "mean motion derivative", "a signed decimal such as ' .00012345'"),
    (44, 44, " ", None, None),
    (45, 52, _EXP, "mean motion second derivative", _EXP_HINT),
    (53, 53, " ", None, None),
    (54, 61, _EXP, "BSTAR", _EXP_HINT),
    (62, 62, " ", None, None),
    (63, 63, "[ 0-9]", "ephemeris type", "a digit"),
    (64, 64, " ", None, None),
    (65, 68, "[ 0-9]{3}[0-9 ]", "element set number", "up to 4 digits"),
    (69, 69, "[0-9]", "checksum", "a digit"),
)
_LINE2_LAYOUT = (
    (1, 1, "2", "line number", "'2'"),
    (2, 2, " ", None, None),
    (3, 7, _SATNUM, "catalogue number", _SATNUM_HINT),
    (8, 8, " ", None, None),
    (9, 16, _ANGLE, "inclination", _ANGLE_HINT),
    (17, 17, " ", None, None),
    (18, 25, _ANGLE, "right ascension of the ascending node", _ANGLE_HINT),
    (26, 26, " ", None, None),
    (27, 33, "[0-9]{7}", "eccentricity", "7 digits (leading '0.' implied)"),
    (34, 34, " ", None, None),
    (35, 42, _ANGLE, "argument of perigee", _ANGLE_HINT),
    (43, 43, " ", None, None),
    (44, 51, _ANGLE, "mean anomaly", _ANGLE_HINT),
    (52, 52, " ", None, None),
    (53, 63, r"[ 0-9][0-9]\.[0-9]{8}", "mean motion", "rev/day as DD.DDDDDDDD"),
    (64, 68, "[ 0-9]{4}[0-9 ]", "revolution number", "up to 5 digits"),
    (69, 69, "[0-9]", "checksum", "a digit"),
)


class _Layout:
    """One line's column layout: a whole-line regex for the fast path, fields for the diagnosis."""

    def __init__(self, layout: tuple) -> None:
        self.whole = re.compile("".join(f"(?:{pattern})" for _, _, pattern, _, _ in layout))
        self.fields = tuple((a, b, re.compile(pattern), label, hint) for a, b, pattern, label, hint in layout)

    def problem(self, line: str) -> str | None:
        """First layout problem of ``line`` (its length, then field by field), or None."""
        if self.whole.fullmatch(line):
            return None
        if len(line) != TLE_LINE_LENGTH:  # a lost or extra character shifts every later field
            hint = " (truncated?)" if len(line) < TLE_LINE_LENGTH else ""
            return f"line has {len(line)} characters, expected {TLE_LINE_LENGTH}{hint}"
        for first, last, regex, label, hint in self.fields:
            value = line[first - 1 : last]
            if not regex.fullmatch(value):
                if label is None:
                    return f"{value!r} in column {first}, expected a blank"
                columns = f"column {first}" if first == last else f"columns {first}-{last}"
                return f"{label} {value!r} in {columns}, expected {hint}"
        return "line does not follow the TLE column layout"  # not reached: fields are fixed-width


_LINE1 = _Layout(_LINE1_LAYOUT)
_LINE2 = _Layout(_LINE2_LAYOUT)

# byte value -> checksum weight: digits count their value, '-' counts 1, anything else 0
_CHECKSUM_TABLE = bytes((c - 48) if 48 <= c <= 57 else (1 if c == 45 else 0) for c in range(256))


def checksum(line: str) -> int:
    """TLE mod-10 checksum of the first 68 columns: digits count their value, '-' counts 1.

    >>> checksum('1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  292')
    7
    """
    return sum(line[:68].encode("utf-8", "replace").translate(_CHECKSUM_TABLE)) % 10


class _BadRecord(Exception):
    """A record problem found in line ``which`` (1 or 2; 0 = the record as a whole)."""

    def __init__(self, which: int, message: str) -> None:
        super().__init__(message)
        self.which = which


def _check_record(line1: str, line2: str) -> tuple[int, Satrec]:
    """Validate one record's two lines; ``(sat_id, satrec)`` or raise :class:`_BadRecord`."""
    for which, line, layout in ((1, line1, _LINE1), (2, line2, _LINE2)):
        problem = layout.problem(line)
        if problem:
            raise _BadRecord(which, problem)
    for which, line in ((1, line1), (2, line2)):
        if checksum(line) != int(line[68]):
            raise _BadRecord(which, f"checksum {line[68]}, expected {checksum(line)}")
    if line1[2:7] != line2[2:7]:
        raise _BadRecord(2, f"catalogue number {line2[2:7]!r} differs from {line1[2:7]!r} on line 1")
    try:
        epoch_from_tle_field(int(line1[18:20]), int(line1[20:23]), int(line1[24:32]))
    except ValueError as exc:
        raise _BadRecord(1, f"epoch {line1[18:32]!r}: {exc}") from None
    problem = element_range_problem(
        float(line2[8:16]),
        float(line2[17:25]),
        int(line2[26:33]) * 1e-7,
        float(line2[34:42]),
        float(line2[43:51]),
        float(line2[52:63]),
    )
    if problem:
        raise _BadRecord(2, problem)
    satrec = Satrec.twoline2rv(line1, line2)
    problem = sgp4_init_problem(satrec)
    if problem:
        raise _BadRecord(0, problem)
    return from_alpha5(line1[2:7]), satrec


_L1, _L2, _NAME = "1", "2", "name"


def _kind(text: str) -> str:
    if text.startswith("1 ") or text == "1":
        return _L1
    if text.startswith("2 ") or text == "2":
        return _L2
    return _NAME


def _label(name: str, line1: str | None) -> str:
    if name:
        return name
    if line1 is not None and len(line1) >= 7:
        return f"satellite {line1[2:7].strip()}"
    return "an unnamed satellite"


class _Record(NamedTuple):
    name: str
    lines: tuple[tuple[int, str], ...]  # (line number, text) of line 1 and line 2
    problem: tuple[int, str] | None  # (line number, message) when the lines are out of order


def _records(lines: list[tuple[int, str]]) -> Iterator[_Record]:
    """Group ``(line number, text)`` lines into ``[name] line1 line2`` records.

    When the order is broken (a missing, extra or swapped line) one record carries the problem and
    reading resumes at the next place a record can start, so one bad record costs one message.
    """
    kinds = [_kind(text) for _, text in lines]
    n = len(lines)

    def can_start(j: int) -> bool:
        return j + 1 < n and (kinds[j], kinds[j + 1]) in ((_NAME, _L1), (_L1, _L2))

    i = 0
    while i < n:
        start, name = i, ""
        if kinds[i] == _NAME:
            text = lines[i][1]
            name = (text[2:] if text.startswith("0 ") else text).strip()
            i += 1
        found: list[tuple[int, str]] = []
        for want, label in ((_L1, "line 1"), (_L2, "line 2")):
            owner = _label(name, found[0][1] if found else None)
            if i >= n:
                yield _Record(name, (), (lines[-1][0], f"file ends before {label} of {owner}"))
                return
            if kinds[i] != want:
                number, text = lines[i]
                what = {_L1: "line 1", _L2: "line 2"}.get(kinds[i], repr(text[:24]))
                hint = " (lines swapped?)" if want == _L1 and kinds[i] == _L2 else ""
                yield _Record(name, (), (number, f"expected {label} of {owner}, found {what}{hint}"))
                i = start + 1
                while i < n and not can_start(i):
                    i += 1
                break
            found.append(lines[i])
            i += 1
        else:
            yield _Record(name, tuple(found), None)


def parse_tle_text(text: str, source: str = "<string>", *, skip_invalid: bool = False) -> Catalog:
    """Parse and validate 2- or 3-line element sets from a string.

    Parameters
    ----------
    text : str — the file contents
    source : str — name used in messages and stored as ``Catalog.source``
    skip_invalid : bool — keep valid records and list the others in ``Catalog.skipped``

    Returns
    -------
    Catalog — satellites in file order, ``sat_ids`` Alpha-5 decoded

    Raises
    ------
    TLEError — the first problem (file:line, what, which line of which satellite) and how many
    more invalid records follow; also for an empty input, and for a catalogue number seen twice.
    """
    lines = [
        (number, raw.rstrip())
        for number, raw in enumerate(text.splitlines(), start=1)
        if raw.strip() and not raw.startswith("#")
    ]
    builder = CatalogBuilder(source, skip_invalid)
    for record in _records(lines):
        if record.problem is not None:
            builder.reject(str(record.problem[0]), record.problem[1])
            continue
        (number1, line1), (number2, line2) = record.lines
        try:
            sat_id, satrec = _check_record(line1, line2)
        except _BadRecord as bad:
            where = number2 if bad.which == 2 else number1
            part = f"line {bad.which} of " if bad.which else ""
            builder.reject(str(where), f"{bad} ({part}{_label(record.name, line1)})")
            continue
        builder.add(str(number1), record.name, sat_id, satrec)
    return builder.build()


#: The start of a TLE line pair: line number, catalogue number (5 digits or Alpha-5), classification.
_PAIR1 = re.compile(r"1 ([ 0-9A-Z]{4}[0-9])[A-Z ] ")
_PAIR2 = re.compile(r"2 ([ 0-9A-Z]{4}[0-9]) ")
_TLE_LINE = re.compile(r"^[12] [ 0-9A-Z]{4}[0-9]", re.MULTILINE)  # any TLE data line, however damaged after it
#: Format labels used in messages.
FORMAT_NAMES = {"tle": "TLE", "omm-json": "OMM JSON", "omm-csv": "OMM CSV", "omm-xml": "OMM XML"}


def detect_format(text: str) -> str:
    """``'tle'``, ``'omm-json'``, ``'omm-csv'`` or ``'omm-xml'`` (not read), from the text's structure.

    A TLE line pair anywhere — a line starting ``1 NNNNNC `` followed by one starting ``2 NNNNN ``
    with the same catalogue number (the checksum-bearing line layout) — makes the file TLE whatever
    its name lines look like (``[DECAYED] …``, ``<UNKNOWN>``, ``{…}``). Otherwise a leading ``[`` or
    ``{`` is OMM JSON, a first line with commas naming ``OBJECT_NAME`` or ``NORAD_CAT_ID`` is OMM
    CSV, a leading ``<`` is OMM XML, and anything else is read as TLE (whose reader says what is wrong).
    """
    previous = None
    for line in text.splitlines():
        m2 = _PAIR2.match(line)
        if previous is not None and m2 and m2.group(1) == previous:
            return "tle"
        m1 = _PAIR1.match(line)
        previous = m1.group(1) if m1 else None
    head = text.lstrip()
    if head.startswith(("[", "{")):
        return "omm-json"
    first_line = head.split("\n", 1)[0].upper()
    if "," in first_line and ("NORAD_CAT_ID" in first_line or "OBJECT_NAME" in first_line):
        return "omm-csv"
    if head.startswith("<"):
        return "omm-xml"
    return "tle"


def read_text(path: str | os.PathLike) -> str:
    """Contents of a text file of element sets, with clear errors for missing or binary files."""
    source = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TLEError(f"{source}: cannot read ({exc.strerror or exc})") from exc
    nul = data.find(b"\x00")
    if nul >= 0:
        raise TLEError(f"{source}: binary file (NUL byte at offset {nul}); expected text element sets (TLE or OMM)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TLEError(
            f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start});"
            " expected text element sets (TLE or OMM)"
        ) from exc


def load_catalog(
    source: str | os.PathLike, *, skip_invalid: bool = False, text: str | None = None
) -> Catalog:
    """Load satellites from a TLE (2- or 3-line) or CelesTrak OMM (CSV or JSON) file.

    The format is recognised from the content's structure, not the file name
    (:func:`detect_format`); an error names the format the file was read as (``[read as TLE]``).

    Parameters
    ----------
    source : str or PathLike — the file to read (or, with ``text``, the name used in messages)
    skip_invalid : bool — keep valid records; list the invalid ones in ``Catalog.skipped``
    text : str, optional — contents to parse instead of reading ``source``

    Returns
    -------
    Catalog
    """
    name = os.fspath(source)
    if text is None:
        text = read_text(source)
    elif "\x00" in text:
        raise TLEError(f"{name}: binary data (NUL character); expected text element sets (TLE or OMM)")
    text = text.removeprefix("\ufeff")
    kind = detect_format(text)
    if kind == "omm-xml":
        raise TLEError(f"{name}: looks like OMM XML, which leosim does not read; use the CSV or JSON form of OMM")
    content = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if kind == "tle" and content and not _TLE_LINE.search(text):
        raise TLEError(f"{name}: not an element-set file: no TLE data line (one starting '1 ' or '2 ' and a "
                       "catalogue number) and no OMM structure (JSON, CSV with OBJECT_NAME/NORAD_CAT_ID, XML)")
    parse = {"omm-json": parse_omm_json, "omm-csv": parse_omm_csv}.get(kind, parse_tle_text)
    try:
        return parse(text, name, skip_invalid=skip_invalid)
    except TLEError as exc:
        label = FORMAT_NAMES[kind]
        raise TLEError(str(exc) if label in str(exc) else f"{exc} [read as {label}]") from None


def _exp_field(value: float, label: str) -> str:
    """Implied-decimal exponent field: 0.12345e-3 → ' 12345-3'; zero → ' 00000+0'.

    Values below 1e-10 use the smallest exponent, -9, with leading zeros in the mantissa.
    """
    if not math.isfinite(value):
        raise InputError(f"{label} {value!r} is not a finite number")
    sign = "-" if value < 0 else " "
    mantissa, exponent = f"{abs(value):.4e}".split("e")
    exp = int(exponent) + 1
    if exp > 9:
        raise InputError(f"{label} {value:g} too large for a TLE field (at most 0.99999e9)")
    if exp >= -9:
        digits = mantissa.replace(".", "")
    else:
        digits = f"{round(abs(value) * 1e14):05d}"  # units of 0.00001e-9
        exp = -9
    if digits == "00000":
        return " 00000+0"
    return f"{sign}{digits}{'-' if exp < 0 else '+'}{abs(exp)}"


def _angle_field(value_deg: float, wrap: bool) -> str:
    """DDD.DDDD column (range already checked); wrapped angles never print as 360.0000."""
    text = f"{value_deg % 360.0 if wrap else value_deg:8.4f}"
    return "  0.0000" if wrap and text == "360.0000" else text


def format_tle(
    name: str,
    sat_id: int,
    epoch: datetime,
    inclination_deg: float,
    raan_deg: float,
    eccentricity: float,
    arg_perigee_deg: float,
    mean_anomaly_deg: float,
    mean_motion_rev_per_day: float,
    bstar: float = 0.0,
    mean_motion_dot: float = 0.0,
    mean_motion_ddot: float = 0.0,
    classification: str = "U",
    intl_designator: str = "",
    element_number: int = 999,
    rev_number: int = 0,
    ephemeris_type: int = 0,
) -> tuple[str, str]:
    """TLE line 1 and line 2 (69 columns each, mod-10 checksums) for one element set.

    Angles are rounded to 1e-4 deg, eccentricity to 1e-7, mean motion to 1e-8 rev/day, the epoch to
    1e-8 day (0.864 ms) — the precision of the TLE columns. RAAN, argument of perigee and mean
    anomaly are wrapped into [0, 360). ``format_tle(*elements)`` takes an :class:`OrbitElements`.

    Parameters
    ----------
    name : str — used only in error messages (the name line is written by :func:`write_tle`)
    sat_id : int — catalogue number 0 … 339 999 (Alpha-5 above 99 999)
    epoch : datetime — UTC (a naive datetime is read as UTC)
    inclination_deg : float, deg, 0 … 180
    raan_deg, arg_perigee_deg, mean_anomaly_deg : float, deg
    eccentricity : float, 0 ≤ e < 1
    mean_motion_rev_per_day : float, rev/day — Kozai mean motion, 0 < n < 100
    bstar : float, 1/earth radii
    mean_motion_dot, mean_motion_ddot : float — ṅ/2 (rev/day²) and n̈/6 (rev/day³)
    classification, intl_designator, element_number, rev_number, ephemeris_type — bookkeeping

    Returns
    -------
    (line1, line2) : tuple of str
    """
    who = f" of {name}" if name else ""
    try:
        satnum = to_alpha5(sat_id)
        fields = _element_fields(
            OrbitElements(name, sat_id, epoch, inclination_deg, raan_deg, eccentricity, arg_perigee_deg,
                          mean_anomaly_deg, mean_motion_rev_per_day)
        )
        head, rates = _line1_fields(mean_motion_dot, mean_motion_ddot, bstar, classification, intl_designator)
        for label, value, top in (
            ("element_number", element_number, 9999),
            ("rev_number", rev_number, 99999),
            ("ephemeris_type", ephemeris_type, 9),
        ):
            if int(value) != value or not 0 <= value <= top:
                raise InputError(f"{label} {value!r} outside [0, {top}]")
        epoch_field = tle_epoch_field(epoch)
    except InputError as exc:
        raise InputError(f"cannot write TLE{who}: {exc}") from None
    inc, raan, ecc, argp, anomaly, motion = fields
    line1 = f"1 {satnum}{head} {epoch_field} {rates} {int(ephemeris_type)} {int(element_number):4d}"
    line2 = f"2 {satnum} {inc} {raan} {ecc} {argp} {anomaly} {motion}{int(rev_number):5d}"
    return line1 + str(checksum(line1)), line2 + str(checksum(line2))


def _element_fields(el: OrbitElements) -> tuple[str, ...]:
    """Line-2 columns of the orbit, or InputError for a value a TLE cannot hold."""
    problem = element_range_problem(
        el.inclination_deg,
        el.raan_deg % 360.0,
        el.eccentricity,
        el.arg_perigee_deg % 360.0,
        el.mean_anomaly_deg % 360.0,
        el.mean_motion_rev_per_day,
    )
    ecc = f"{el.eccentricity:.7f}"
    motion = f"{el.mean_motion_rev_per_day:11.8f}"
    if problem is None and (ecc.startswith("1") or len(motion) != 11):
        problem = f"eccentricity {el.eccentricity!r} or mean motion {el.mean_motion_rev_per_day!r} too large for its columns"
    if problem:
        raise InputError(problem)
    wrapped = [_angle_field(v, True) for v in (el.raan_deg, el.arg_perigee_deg, el.mean_anomaly_deg)]
    return _angle_field(el.inclination_deg, False), wrapped[0], ecc[2:], wrapped[1], wrapped[2], motion


def _line1_fields(ndot: float, nddot: float, bstar: float, classification: str, designator: str) -> tuple[str, str]:
    """Line-1 columns: (classification + designator, ṅ/2 + n̈/6 + B*), or InputError."""
    if classification not in ("U", "C", "S"):
        raise InputError(f"classification {classification!r}, expected U, C or S")
    if len(designator) > 8 or not (designator.isascii() and designator.isprintable()):
        raise InputError(f"international designator {designator!r}, expected up to 8 printable ASCII characters")
    text = f"{ndot:.8f}" if math.isfinite(ndot) else "nan"
    if text == "nan" or abs(float(text)) >= 1.0:
        raise InputError(f"mean_motion_dot {ndot!r} outside (-1, 1) rev/day²")
    ndot_field = ("-" if text.startswith("-") and float(text) != 0.0 else " ") + text.lstrip("-")[1:]
    rates = f"{ndot_field} {_exp_field(nddot, 'mean_motion_ddot')} {_exp_field(bstar, 'bstar')}"
    return f"{classification} {designator:<8}", rates


def format_tle_text(records: Catalog | Iterable[OrbitElements]) -> str:
    """3-line TLE text (name, line 1, line 2; LF endings) for a catalogue or element sets.

    A record with an empty name is written as a bare 2-line set.
    """
    if isinstance(records, Catalog):
        records = (
            elements_from_satrec(s, name, int(i))
            for name, i, s in zip(records.names, records.sat_ids, records.satrecs)
        )
    out = []
    for element in records:
        line1, line2 = format_tle(*element)
        name = element.name
        if name != name.strip() or _kind(name) != _NAME or name.startswith("#") or len(name.splitlines()) > 1:
            raise InputError(
                f"cannot write name {name!r}: a name line must not start with '1 ', '2 ' or '#', "
                "nor contain line breaks or surrounding blanks"
            )
        out.append(f"{name}\n{line1}\n{line2}\n" if name else f"{line1}\n{line2}\n")
    return "".join(out)


def write_tle(path: str | os.PathLike, records: Catalog | Iterable[OrbitElements]) -> Path:
    """Write 3-line element sets atomically (a temporary file renamed over ``path``).

    A failure part-way leaves any existing file untouched and no partial file behind.

    Returns
    -------
    Path — the file written
    """
    target = Path(path)
    text = format_tle_text(records)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
    except OSError as exc:
        raise InputError(f"{target}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{target}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
