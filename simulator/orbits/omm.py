"""CCSDS Orbit Mean-Elements Messages (OMM) as CelesTrak serves them: CSV and JSON.

Both carry the TLE's mean elements under CCSDS keywords (CCSDS 502.0-B-3, section 4; CelesTrak
"A New Way to Obtain GP Data"), with catalogue numbers beyond five digits and no column limits.
Records are validated here and handed to ``sgp4.omm.initialize`` — the same unit conversions as
``twoline2rv`` — so an OMM and a TLE of the same element set give the same ``Satrec``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime

from sgp4 import omm as sgp4_omm
from sgp4.api import Satrec

from ..errors import TLEError
from .alpha5 import ALPHA5_MAX
from .catalog import Catalog
from .elements import CatalogBuilder, as_utc, element_range_problem, sgp4_init_problem

__all__ = ["OMM_REQUIRED", "OMM_OPTIONAL", "parse_omm_csv", "parse_omm_json", "satrec_from_omm"]

OMM_REQUIRED = (
    "NORAD_CAT_ID",
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "BSTAR",
)
# Fields SGP4 does not propagate with, and the value used when a record leaves them out.
OMM_OPTIONAL = {
    "OBJECT_NAME": "",
    "OBJECT_ID": "",
    "CLASSIFICATION_TYPE": "U",
    "EPHEMERIS_TYPE": "0",
    "ELEMENT_SET_NO": "999",
    "REV_AT_EPOCH": "0",
    "MEAN_MOTION_DOT": "0",
    "MEAN_MOTION_DDOT": "0",
}
_FLOATS = OMM_REQUIRED[2:] + ("MEAN_MOTION_DOT", "MEAN_MOTION_DDOT")
_INTS = ("NORAD_CAT_ID", "EPHEMERIS_TYPE", "ELEMENT_SET_NO", "REV_AT_EPOCH")
_MIN_YEAR, _MAX_YEAR = 1957, 2100


class _BadField(Exception):
    pass


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _BadField(f"{value!r} is a {type(value).__name__}, expected a number or a string")
    return str(value).strip()


def _number(key: str, value: object) -> float:
    text = _text(value)
    try:
        number = float(text)
    except ValueError:
        raise _BadField(f"{key} {text!r} is not a number") from None
    if not math.isfinite(number):
        raise _BadField(f"{key} {text!r} is not a finite number")
    return number


def _integer(key: str, value: object) -> int:
    text = _text(value)
    if not (text.isascii() and text.isdigit()):
        raise _BadField(f"{key} {text!r}, expected a non-negative integer")
    return int(text)


def _epoch(value: object) -> datetime:
    text = _text(value)
    try:
        epoch = as_utc(datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text))
    except ValueError:
        raise _BadField(f"EPOCH {text!r}, expected ISO 8601 UTC such as '2026-02-24T03:43:12.345678'") from None
    if not _MIN_YEAR <= epoch.year <= _MAX_YEAR:
        raise _BadField(f"EPOCH {text!r} outside {_MIN_YEAR}-{_MAX_YEAR}")
    return epoch


def satrec_from_omm(fields: Mapping[str, object]) -> tuple[str, int, Satrec]:
    """Validate one OMM record (CelesTrak keys) and build its ``Satrec``.

    Parameters
    ----------
    fields : mapping — keyword → value (strings from CSV, numbers or strings from JSON)

    Returns
    -------
    (name, sat_id, satrec)

    Raises
    ------
    TLEError — a missing, non-numeric or out-of-range field, or an SGP4 initialisation error
    """
    try:
        return _satrec_from_omm(fields)
    except _BadField as exc:
        raise TLEError(str(exc)) from None


def _satrec_from_omm(fields: Mapping[str, object]) -> tuple[str, int, Satrec]:
    missing = [key for key in OMM_REQUIRED if _text(fields.get(key)) == ""]
    if missing:
        raise _BadField(f"missing {', '.join(missing)}")
    clean = {key: _text(fields.get(key)) or default for key, default in OMM_OPTIONAL.items()}
    clean.update({key: _text(fields[key]) for key in OMM_REQUIRED})
    values = {key: _number(key, clean[key]) for key in _FLOATS}
    ints = {key: _integer(key, clean[key]) for key in _INTS}
    if ints["NORAD_CAT_ID"] > ALPHA5_MAX:
        raise _BadField(f"NORAD_CAT_ID {ints['NORAD_CAT_ID']} above {ALPHA5_MAX}, the largest SGP4 can carry")
    if clean["CLASSIFICATION_TYPE"] not in ("U", "C", "S"):
        raise _BadField(f"CLASSIFICATION_TYPE {clean['CLASSIFICATION_TYPE']!r}, expected U, C or S")
    problem = element_range_problem(
        values["INCLINATION"],
        values["RA_OF_ASC_NODE"],
        values["ECCENTRICITY"],
        values["ARG_OF_PERICENTER"],
        values["MEAN_ANOMALY"],
        values["MEAN_MOTION"],
    )
    if problem:
        raise _BadField(problem)
    clean["EPOCH"] = _epoch(clean["EPOCH"]).strftime("%Y-%m-%dT%H:%M:%S.%f")
    clean.update({key: str(value) for key, value in ints.items()})
    satrec = Satrec()
    sgp4_omm.initialize(satrec, clean)
    problem = sgp4_init_problem(satrec)
    if problem:
        raise _BadField(problem)
    return clean["OBJECT_NAME"], ints["NORAD_CAT_ID"], satrec


def _label(fields: Mapping[str, object]) -> str:
    """The object's name for messages, or its catalogue number, whatever the record holds."""
    name, number = fields.get("OBJECT_NAME"), fields.get("NORAD_CAT_ID")
    if isinstance(name, str) and name.strip():
        return name.strip()
    if isinstance(number, (str, int)) and not isinstance(number, bool):
        return f"NORAD {number}"
    return "unnamed object"


def _build(
    records: Iterable[tuple[str, Mapping[str, object], str | None]], source: str, skip_invalid: bool
) -> Catalog:
    """Catalogue from ``(where, fields, shape problem or None)`` records."""
    builder = CatalogBuilder(source, skip_invalid)
    for where, fields, shape_problem in records:
        try:
            if shape_problem:
                raise _BadField(shape_problem)
            name, sat_id, satrec = _satrec_from_omm(fields)
        except _BadField as exc:
            builder.reject(where, f"{exc} ({_label(fields)})")
            continue
        builder.add(where, name, sat_id, satrec)
    return builder.build()


def parse_omm_csv(text: str, source: str = "<string>", *, skip_invalid: bool = False) -> Catalog:
    """Satellites from CelesTrak OMM CSV (a header row of keywords, then one row per object).

    Messages name the file and the row's line number. See :func:`satrec_from_omm` for the fields.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [key.strip() for key in next(reader, [])]
        missing = [key for key in OMM_REQUIRED if key not in header]
        if missing:
            raise TLEError(f"{source}:1: OMM CSV header lacks {', '.join(missing)}")
        rows = []
        for row in reader:
            if not row:
                continue
            where = str(reader.line_num)
            problem = None if len(row) == len(header) else f"row has {len(row)} fields, the header {len(header)}"
            rows.append((where, dict(zip(header, row)), problem))
    except csv.Error as exc:
        raise TLEError(f"{source}:{reader.line_num}: not valid CSV ({exc})") from None
    return _build(rows, source, skip_invalid)


def parse_omm_json(text: str, source: str = "<string>", *, skip_invalid: bool = False) -> Catalog:
    """Satellites from CelesTrak OMM JSON (a list of objects; a single object is also read).

    JSON carries no line numbers per object, so messages name the record's position (1-based).
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TLEError(f"{source}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})") from None
    except RecursionError:
        raise TLEError(f"{source}: JSON nested too deeply to be OMM") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise TLEError(f"{source}: OMM JSON must be a list of objects, found a {type(data).__name__}")
    records = [
        (f"record {index}", item, None)
        if isinstance(item, dict)
        else (f"record {index}", {}, f"a {type(item).__name__}, expected an object of OMM keywords")
        for index, item in enumerate(data, start=1)
    ]
    return _build(records, source, skip_invalid)
