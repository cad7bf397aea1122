"""TLE reading, validation, formatting and writing; Alpha-5; OMM CSV/JSON against the same TLEs."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import datetime, timedelta, timezone
from importlib import resources

import numpy as np
import pytest
from sgp4 import alpha5 as sgp4_alpha5
from sgp4.api import Satrec

from simulator.errors import InputError, TLEError
from simulator.orbits.alpha5 import from_alpha5, to_alpha5
from simulator.orbits.elements import OrbitElements, elements_from_satrec
from simulator.orbits.tle import (
    checksum,
    format_tle,
    format_tle_text,
    load_catalog,
    parse_tle_text,
    write_tle,
)

# ISS record of the sgp4 documentation (Vallado et al. 2006 test set style).
ISS = (
    "ISS (ZARYA)",
    "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927",
    "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537",
)
# Vallado's verification set deliberately breaks the checksums of these three records.
VALLADO_BAD_CHECKSUM = {"33333", "33334", "33335"}


def fix(line: str) -> str:
    """The line with its checksum column recomputed (independently of simulator.checksum)."""
    body = line[:68]
    total = sum(int(c) for c in body if c.isdigit()) + body.count("-")
    return body + str(total % 10)


def record(name: str, line1: str, line2: str) -> str:
    return f"{name}\n{line1}\n{line2}\n"


def vallado_lines() -> list[tuple[str, str]]:
    """Line pairs of sgp4's SGP4-VER.TLE, cut to 69 columns (the file appends start/stop/step)."""
    text = resources.files("sgp4").joinpath("SGP4-VER.TLE").read_text()
    lines = [line[:69] for line in text.splitlines() if line.startswith(("1 ", "2 "))]
    return list(zip(lines[0::2], lines[1::2]))


def tcppver_first_rows() -> dict[int, np.ndarray]:
    """Satellite → TEME position (km) at tsince = 0 from Vallado's tcppver.out."""
    text = resources.files("sgp4").joinpath("tcppver.out").read_text()
    rows, current = {}, None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == "xx":
            current = int(parts[0])
        elif current is not None and parts and float(parts[0]) == 0.0 and current not in rows:
            rows[current] = np.array([float(v) for v in parts[1:4]])
    return rows


# ---------------------------------------------------------------- known records and checksums


def test_checksums_of_vallado_set_match_printed_ones():
    pairs = vallado_lines()
    assert len(pairs) == 33
    for line1, line2 in pairs:
        for line in (line1, line2):
            if line1[2:7] in VALLADO_BAD_CHECKSUM:
                continue
            assert checksum(line) == int(line[68]), line
    bad = [line1 for line1, _ in pairs if line1[2:7] in VALLADO_BAD_CHECKSUM]
    assert bad and all(checksum(line) != int(line[68]) for line in bad)


def test_checksum_counts_minus_as_one():
    line = "1 00000U          00001.00000000 -.00000000  00000-0  00000-0 0     "
    assert checksum(line) == 5  # line number 1, day 001, and three '-' signs


def test_vallado_set_parses_and_reproduces_tcppver_at_epoch():
    pairs = [p for p in vallado_lines() if p[0][2:7] not in VALLADO_BAD_CHECKSUM]
    text = "".join(f"{a}\n{b}\n" for a, b in pairs)
    catalog = parse_tle_text(text, "SGP4-VER.TLE", skip_invalid=True)
    # the only rejection is 20413, listed twice in Vallado's set with different start/stop times
    assert len(catalog.skipped) == 1 and "catalogue number 20413" in catalog.skipped[0]
    assert len(catalog) == len(pairs) - 1
    reference = tcppver_first_rows()
    checked = 0
    for sat_id, satrec in zip(catalog.sat_ids, catalog.satrecs):
        if int(sat_id) in reference:
            _, r, _ = satrec.sgp4_tsince(0.0)
            # tcppver.out prints 8 decimals of km: agreement to 1e-7 km means the lines arrived intact
            assert np.max(np.abs(np.array(r) - reference[int(sat_id)])) < 1e-7
            checked += 1
    assert checked >= 25


def test_iss_record_fields():
    catalog = parse_tle_text(record(*ISS))
    sat = catalog.satrecs[0]
    assert catalog.names == ("ISS (ZARYA)",) and catalog.sat_ids.tolist() == [25544]
    assert catalog.sat_ids.dtype == np.int64
    assert math.degrees(sat.inclo) == pytest.approx(51.6416, abs=1e-12)
    assert sat.ecco == pytest.approx(0.0006703, abs=1e-15)
    assert sat.bstar == pytest.approx(-0.11606e-4, rel=1e-12)
    assert sat.jdsatepoch + sat.jdsatepochF == pytest.approx(2454729.5 + 0.51782528, abs=1e-9)


# ---------------------------------------------------------------- round trips


def _same_elements(a: Satrec, b: Satrec) -> None:
    for name in ("inclo", "nodeo", "ecco", "argpo", "mo", "no_kozai", "bstar", "ndot", "nddot"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-12, abs=1e-15), name
    assert (a.jdsatepoch, a.jdsatepochF) == pytest.approx((b.jdsatepoch, b.jdsatepochF), abs=1e-11)
    assert a.satnum == b.satnum


def test_parse_write_parse_keeps_every_element(tmp_path):
    pairs = [p for p in vallado_lines() if p[0][2:7] not in VALLADO_BAD_CHECKSUM]
    first = parse_tle_text("".join(f"{a}\n{b}\n" for a, b in pairs), skip_invalid=True)
    path = write_tle(tmp_path / "out.tle", first)
    second = load_catalog(path)
    assert second.sat_ids.tolist() == first.sat_ids.tolist()
    for a, b in zip(first.satrecs, second.satrecs):
        _same_elements(a, b)
    # writing again gives the very same text: formatting is a fixed point
    assert format_tle_text(second) == path.read_text()


def test_format_tle_columns_and_reparse():
    epoch = datetime(2024, 2, 29, 12, 0, 0, 432_000, tzinfo=timezone.utc)  # leap day, 0.432 s = 500e-8 day
    line1, line2 = format_tle("SAT", 123456, epoch, 97.5, 359.99996, 0.0012345, 90.0, -10.0, 15.2, -2.5e-4,
                              mean_motion_dot=-1.2e-5, mean_motion_ddot=3.4e-12, intl_designator="24001A")
    assert len(line1) == len(line2) == 69
    assert line1[2:7] == line2[2:7] == "C3456"  # Alpha-5: C = 12 → 12 × 10 000 + 3456
    assert line1[18:32] == "24060.50000500"
    assert line1[33:43] == "-.00001200"
    assert line1[53:61] == "-25000-3"
    assert line2[17:25] == "  0.0000"  # 359.99996° rounds to 360.0000 and wraps to 0
    assert line2[43:51] == "350.0000"
    assert line2[26:33] == "0012345"
    assert checksum(line1) == int(line1[68]) and checksum(line2) == int(line2[68])
    sat = parse_tle_text(f"{line1}\n{line2}\n").satrecs[0]
    el = elements_from_satrec(sat, "SAT", 123456)
    assert el.epoch == epoch
    assert el.mean_motion_rev_per_day == pytest.approx(15.2, abs=1e-12)
    assert el.bstar == pytest.approx(-2.5e-4, rel=1e-12)


def test_mean_motion_ddot_below_exponent_range_still_written():
    line1, _ = format_tle("", 1, datetime(2026, 1, 1), 0, 0, 0, 0, 0, 1.0, mean_motion_ddot=3.4e-12)
    assert line1[44:52] == " 00340-9"  # 0.00340e-9


@pytest.mark.parametrize(
    "value, field",
    [(0.0, " 00000+0"), (0.5, " 50000+0"), (1.0, " 10000+1"), (-1.1606e-5, "-11606-4"),
     (9.999996e-5, " 10000-3"), (2.3e-15, " 00000+0")],
)
def test_bstar_exponent_field(value, field):
    line1, _ = format_tle("", 1, datetime(2026, 1, 1), 0, 0, 0, 0, 0, 1.0, bstar=value)
    assert line1[53:61] == field


def test_epoch_rounding_crosses_into_next_year():
    just_before = datetime(2025, 12, 31, 23, 59, 59, 999_900, tzinfo=timezone.utc)
    line1, _ = format_tle("", 1, just_before, 0, 0, 0, 0, 0, 1.0)
    assert line1[18:32] == "26001.00000000"


def test_naive_and_offset_epochs_are_utc():
    naive = format_tle("", 1, datetime(2026, 3, 1, 12), 0, 0, 0, 0, 0, 1.0)[0]
    offset = format_tle("", 1, datetime(2026, 3, 1, 14, tzinfo=timezone(timedelta(hours=2))), 0, 0, 0, 0, 0, 1.0)[0]
    assert naive == offset and naive[18:32] == "26060.50000000"


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"eccentricity": 1.0}, "eccentricity"),
        ({"eccentricity": 0.99999999}, "too large"),
        ({"inclination_deg": 180.5}, "inclination"),
        ({"mean_motion_rev_per_day": 0.0}, "mean motion"),
        ({"mean_motion_rev_per_day": 100.0}, "too large"),
        ({"sat_id": 340000}, "Alpha-5"),
        ({"raan_deg": float("nan")}, "right ascension"),
        ({"bstar": 2e9}, "too large"),
        ({"mean_motion_dot": 1.5}, "mean_motion_dot"),
        ({"classification": "X"}, "classification"),
        ({"epoch": datetime(2057, 1, 1)}, "1957-2056"),
        ({"rev_number": 100000}, "rev_number"),
    ],
)
def test_format_tle_rejects_values_a_tle_cannot_hold(change, expected):
    args = dict(name="SAT", sat_id=1, epoch=datetime(2026, 1, 1), inclination_deg=53.0, raan_deg=0.0,
                eccentricity=0.0, arg_perigee_deg=0.0, mean_anomaly_deg=0.0, mean_motion_rev_per_day=15.0)
    args.update(change)
    with pytest.raises(InputError, match=expected) as info:
        format_tle(**args)
    assert "of SAT" in str(info.value)


def test_orbit_elements_round_trip_through_format_tle():
    el = OrbitElements("X-1", 99999, datetime(2026, 1, 1, 6, tzinfo=timezone.utc), 53.0, 12.5, 0.0001, 270.0,
                       45.25, 15.05447993, 1.2e-4, 3.4e-6, 0.0, "U", "26001A", 12, 345, 0)
    sat = parse_tle_text(format_tle_text([el])).satrecs[0]
    back = elements_from_satrec(sat, el.name, el.sat_id)
    for a, b in zip(back, el):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15) if isinstance(b, float) else a == b


def test_write_tle_leaves_existing_file_untouched_on_failure(tmp_path):
    path = tmp_path / "keep.tle"
    path.write_text("old contents\n")
    good = OrbitElements("A", 1, datetime(2026, 1, 1), 53.0, 0, 0, 0, 0, 15.0)
    with pytest.raises(InputError):
        write_tle(path, [good, good._replace(eccentricity=2.0)])
    assert path.read_text() == "old contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.tle"]  # no temporary file left


def test_unwritable_names_are_refused():
    el = OrbitElements("1 BAD", 1, datetime(2026, 1, 1), 53.0, 0, 0, 0, 0, 15.0)
    with pytest.raises(InputError, match="name line"):
        format_tle_text([el])


# ---------------------------------------------------------------- Alpha-5


def test_alpha5_boundaries_and_letters():
    # A..H = 10..17, I skipped, J..N = 18..22, O skipped, P..Z = 23..33
    assert [to_alpha5(n) for n in (0, 99999, 100000, 179999, 180000, 229999, 230000, 339999)] == [
        "00000", "99999", "A0000", "H9999", "J0000", "N9999", "P0000", "Z9999"]
    for n in list(range(0, 340000, 9973)) + [100000, 339999, 180000, 230000]:
        assert to_alpha5(n) == sgp4_alpha5.to_alpha5(n)
        assert from_alpha5(to_alpha5(n)) == n == sgp4_alpha5.from_alpha5(to_alpha5(n))
    assert from_alpha5("  123") == 123


@pytest.mark.parametrize("field", ["I0000", "O1234", "a0000", "12 34", "123  ", "AB123", "Z999", "     "])
def test_alpha5_rejects_malformed_fields(field):
    with pytest.raises(InputError, match="catalogue number"):
        from_alpha5(field)


@pytest.mark.parametrize("n", [-1, 340000, 1.5])
def test_alpha5_rejects_out_of_range(n):
    with pytest.raises(InputError):
        to_alpha5(n)


def test_alpha5_records_decode_to_integer_ids():
    _, line1, line2 = ISS
    text = ""
    for n in (100000, 270001, 339999):
        field = to_alpha5(n)
        text += f"{fix(line1[:2] + field + line1[7:])}\n{fix(line2[:2] + field + line2[7:])}\n"
    catalog = parse_tle_text(text)
    assert catalog.sat_ids.tolist() == [100000, 270001, 339999]
    assert [s.satnum for s in catalog.satrecs] == [100000, 270001, 339999]  # sgp4 decodes Alpha-5 too
    assert catalog.names == ("", "", "")


# ---------------------------------------------------------------- tolerated layout variants


def test_crlf_trailing_blanks_bom_comments_and_space_track_names(tmp_path):
    name, line1, line2 = ISS
    text = f"\ufeff# a comment\r\n0 {name}   \r\n{line1}  \r\n\r\n{line2}\t\r\n"
    path = tmp_path / "variants.tle"
    path.write_bytes(text.encode("utf-8"))
    catalog = load_catalog(path)
    assert catalog.names == ("ISS (ZARYA)",) and catalog.source == str(path)


def test_catalogue_number_with_leading_blanks():
    line1 = fix(L1.replace("25544", "   44"))
    line2 = fix(L2.replace("25544", "   44"))
    assert parse_tle_text(f"{line1}\n{line2}\n").sat_ids.tolist() == [44]


def test_two_and_three_line_records_mix():
    name, line1, line2 = ISS
    other1 = fix(line1.replace("25544", "25545"))
    other2 = fix(line2.replace("25544", "25545"))
    catalog = parse_tle_text(f"{line1}\n{line2}\nNEXT\n{other1}\n{other2}\n")
    assert catalog.names == ("", "NEXT") and catalog.sat_ids.tolist() == [25544, 25545]


def test_text_argument_parses_without_reading(tmp_path):
    catalog = load_catalog("nowhere.tle", text=record(*ISS))
    assert catalog.source == "nowhere.tle" and len(catalog) == 1


# ---------------------------------------------------------------- invalid input classes

NAME, L1, L2 = ISS
BAD_TLES = {
    # case: (file text, line number, words the message must contain)
    "swapped": (record(NAME, L2, L1), 2, "expected line 1 of ISS (ZARYA), found line 2 (lines swapped?)"),
    "truncated": (record(NAME, L1[:50], L2), 2, "50 characters, expected 69"),
    "too long": (record(NAME, L1, L2 + " 0.0 1440.0"), 3, "80 characters, expected 69"),
    "non-numeric": (record(NAME, L1, fix(L2.replace("51.6416", "51.6a16"))), 3, "inclination ' 51.6a16'"),
    "bad exponent": (record(NAME, fix(L1.replace("-11606-4", "-11606x4")), L2), 2, "BSTAR '-11606x4'"),
    "checksum": (record(NAME, L1, L2[:68] + "8"), 3, "checksum 8, expected 7 (line 2 of ISS (ZARYA))"),
    "catalogue mismatch": (record(NAME, L1, fix(L2.replace("25544", "25545"))), 3, "'25545' differs from '25544'"),
    "epoch day": (record(NAME, fix(L1.replace("08264.5", "08367.5")), L2), 2, "day of year 367 outside [1, 366]"),
    "non-leap day 366": (record(NAME, fix(L1.replace("08264.5", "09366.5")), L2), 2, "outside [1, 365] for 2009"),
    "classification": (record(NAME, fix(L1.replace("25544U", "25544X")), L2), 2, "classification 'X'"),
    "line number": (record(NAME, L1, "3" + L2[1:]), 3, "expected line 2 of ISS (ZARYA), found '3 25544"),
    "missing line 2": (f"{NAME}\n{L1}\n", 2, "file ends before line 2 of ISS (ZARYA)"),
    "inclination range": (record(NAME, L1, fix(L2.replace(" 51.6416", "251.6416"))), 3, "inclination 251.6416 deg, expected 0 to 180 deg"),
    "zero mean motion": (record(NAME, L1, fix(L2.replace("15.72125391", " 0.00000000"))), 3, "mean motion 0"),
    "sgp4 rejects": (record(NAME, L1, fix(L2.replace("0006703", "9999999").replace("15.72", "16.72"))), 2,
                     "SGP4 rejects"),
    "separator": (record(NAME, fix(L1[:8] + "x" + L1[9:]), L2), 2, "'x' in column 9, expected a blank"),
    "duplicate": (record(*ISS) + record(*ISS), 5, "catalogue number 25544 (ISS (ZARYA)) repeats the element set at line 2"),
}


@pytest.mark.parametrize("case", sorted(BAD_TLES))
def test_bad_records_name_file_line_and_expectation(tmp_path, case):
    text, line, words = BAD_TLES[case]
    path = tmp_path / "bad.tle"
    path.write_text(text)
    with pytest.raises(TLEError) as info:
        load_catalog(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message


def test_default_reports_first_problem_and_count_skip_invalid_keeps_the_rest():
    bad1 = record("BAD-1", L1, L2[:68] + "0")
    bad2 = record("BAD-2", L1[:40], L2)
    good = [record(f"OK-{k}", fix(L1.replace("25544", f"{30000 + k}")), fix(L2.replace("25544", f"{30000 + k}")))
            for k in range(3)]
    text = good[0] + bad1 + good[1] + bad2 + good[2]
    with pytest.raises(TLEError, match=r"^f\.tle:6: checksum 0, expected 7 \(line 2 of BAD-1\) \(\+1 more invalid"):
        parse_tle_text(text, "f.tle")
    catalog = parse_tle_text(text, "f.tle", skip_invalid=True)
    assert catalog.names == ("OK-0", "OK-1", "OK-2")
    assert len(catalog.skipped) == 2
    assert catalog.skipped[0].startswith("f.tle:6: ") and catalog.skipped[1].startswith("f.tle:11: ")


def test_swapped_record_costs_one_message_and_reading_resumes():
    other = [fix(L1.replace("25544", "25545")), fix(L2.replace("25544", "25545"))]
    text = record(NAME, L2, L1) + record("NEXT", *other) + f"{other[1]}\n{other[0]}\n" + record("LAST", L1, L2)
    catalog = parse_tle_text(text, skip_invalid=True)
    assert catalog.names == ("NEXT", "LAST")
    assert len(catalog.skipped) == 2


def test_empty_and_blank_files(tmp_path):
    for content in ("", "\n\n   \n# only a comment\n"):
        path = tmp_path / "empty.tle"
        path.write_text(content)
        with pytest.raises(TLEError, match=f"^no element sets found in {re.escape(str(path))} \\[read as TLE\\]$"):
            load_catalog(path)


@pytest.mark.parametrize("content", ["CelesTrak-style 3-line element set\nhello world\n", "a,b,c\n1,2,3\n",
                                     "notes about\nsatellites\n"])
def test_text_that_is_no_element_set_file_is_named_so(tmp_path, content):
    path = tmp_path / "notes.tle"
    path.write_text(content)
    with pytest.raises(TLEError, match=f"^{re.escape(str(path))}: not an element-set file: no TLE data line"):
        load_catalog(path)


def test_all_invalid_with_skip_is_still_an_error():
    with pytest.raises(TLEError, match="no valid element sets in x.tle .1 invalid; first: x.tle:3: checksum"):
        parse_tle_text(record(NAME, L1, L2[:68] + "0"), "x.tle", skip_invalid=True)


def test_binary_undecodable_missing_and_directory(tmp_path):
    binary = tmp_path / "image.tle"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(TLEError, match=r"image\.tle: binary file \(NUL byte at offset 8\)"):
        load_catalog(binary)
    latin = tmp_path / "latin.tle"
    latin.write_bytes(b"SAT \xe9\n" + L1.encode() + b"\n" + L2.encode() + b"\n")
    with pytest.raises(TLEError, match=r"latin\.tle: not UTF-8 text \(byte 0xe9 at offset 4\)"):
        load_catalog(latin)
    with pytest.raises(TLEError, match=r"missing\.tle: cannot read \(No such file or directory\)"):
        load_catalog(tmp_path / "missing.tle")
    with pytest.raises(TLEError, match="cannot read"):
        load_catalog(tmp_path)
    with pytest.raises(TLEError, match="NUL"):
        load_catalog("given.tle", text="ab\x00c")


def test_omm_xml_gets_a_clear_refusal():
    with pytest.raises(TLEError, match="OMM XML"):
        load_catalog("g.xml", text='<?xml version="1.0"?><ndm></ndm>')


# ---------------------------------------------------------------- OMM


def omm_fields(name: str, line1: str, line2: str) -> dict[str, str]:
    """CelesTrak OMM keywords of a TLE, written from the TLE columns (no precision lost)."""
    year = int(line1[18:20])
    year += 1900 if year >= 57 else 2000
    us = (int(line1[20:23]) - 1) * 86_400_000_000 + int(line1[24:32]) * 864
    epoch = datetime(year, 1, 1) + timedelta(microseconds=us)

    def expo(field: str) -> str:
        return f"{'-' if field[0] == '-' else ''}0.{field[1:6]}e{int(field[6:8])}"

    designator = line1[9:17].strip()
    return {
        "OBJECT_NAME": name,
        "OBJECT_ID": f"{1900 + int(designator[:2]) if int(designator[:2]) >= 57 else 2000 + int(designator[:2])}"
        f"-{designator[2:]}",
        "EPOCH": epoch.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "MEAN_MOTION": line2[52:63].strip(),
        "ECCENTRICITY": "0." + line2[26:33],
        "INCLINATION": line2[8:16].strip(),
        "RA_OF_ASC_NODE": line2[17:25].strip(),
        "ARG_OF_PERICENTER": line2[34:42].strip(),
        "MEAN_ANOMALY": line2[43:51].strip(),
        "EPHEMERIS_TYPE": line1[62],
        "CLASSIFICATION_TYPE": line1[7],
        "NORAD_CAT_ID": str(from_alpha5(line1[2:7])),
        "ELEMENT_SET_NO": line1[64:68].strip(),
        "REV_AT_EPOCH": line2[63:68].strip(),
        "BSTAR": expo(line1[53:61]),
        "MEAN_MOTION_DOT": line1[33:43].strip().replace(".", "0.", 1),
        "MEAN_MOTION_DDOT": expo(line1[44:52]),
    }


def sample_records() -> list[tuple[str, str, str]]:
    """Vallado near-Earth and deep-space records plus one Alpha-5 copy of the ISS."""
    pairs = [p for p in vallado_lines() if p[0][2:7] in {"06251", "28057", "22674", "08195", "23177"}]
    records = [(f"V-{a[2:7]}", a, b) for a, b in pairs]
    records.append(("ISS ALPHA5", fix(L1.replace("25544", "B0001")), fix(L2.replace("25544", "B0001"))))
    return records


def _omm_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _omm_json(rows: list[dict[str, str]]) -> str:
    """JSON as CelesTrak writes it: numbers as JSON numbers, integers as integers."""
    integers = {"NORAD_CAT_ID", "EPHEMERIS_TYPE", "ELEMENT_SET_NO", "REV_AT_EPOCH"}
    text = {"OBJECT_NAME", "OBJECT_ID", "EPOCH", "CLASSIFICATION_TYPE"}

    def value(key: str, v: str) -> object:
        return v if key in text else int(v) if key in integers else float(v)

    return json.dumps([{k: value(k, v) for k, v in row.items()} for row in rows])


@pytest.mark.parametrize("form", ["csv", "json"])
def test_omm_propagates_like_the_tle(form):
    records = sample_records()
    tle = parse_tle_text("".join(record(*r) for r in records))
    rows = [omm_fields(*r) for r in records]
    text = _omm_csv(rows) if form == "csv" else _omm_json(rows)
    omm = load_catalog(f"sats.{form}", text=text)
    assert omm.names == tle.names and omm.sat_ids.tolist() == tle.sat_ids.tolist()
    assert 110001 in omm.sat_ids.tolist()  # B0001 read from an integer NORAD_CAT_ID above 99 999
    assert format_tle_text(omm) == format_tle_text(tle)  # OMM → TLE conversion loses nothing
    for a, b in zip(tle.satrecs, omm.satrecs):
        jd = a.jdsatepoch + np.array([0.0, 0.0, 0.5, 1.0, 3.0])
        fr = a.jdsatepochF + np.array([0.0, 0.25, 0.0, 0.0, 0.0])
        ea, ra, _ = a.sgp4_array(jd, fr)
        eb, rb, vb = b.sgp4_array(jd, fr)
        assert not ea.any() and not eb.any()
        # Same decimals and an epoch exact in OMM microseconds (1e-8 day = 864 µs), but sgp4init takes
        # the epoch as one float of days since 1949-12-31, resolved to one ulp (0.3 µs in 2000-2030):
        # the two may differ by speed × that time (≤ 2.4 mm at 7.7 km/s), and by nothing else.
        epoch_days = a.jdsatepoch + a.jdsatepochF - 2433281.5
        tolerance_km = np.linalg.norm(vb, axis=-1) * np.spacing(epoch_days) * 86400.0 + 1e-9
        assert np.all(np.linalg.norm(ra - rb, axis=-1) <= tolerance_km)


def test_omm_optional_fields_default_and_name_missing():
    row = omm_fields(*ISS)
    for key in ("OBJECT_NAME", "OBJECT_ID", "ELEMENT_SET_NO", "REV_AT_EPOCH", "MEAN_MOTION_DOT",
                "MEAN_MOTION_DDOT", "EPHEMERIS_TYPE", "CLASSIFICATION_TYPE"):
        del row[key]
    row["EPOCH"] += "Z"
    catalog = load_catalog("x.json", text=json.dumps(row))
    assert catalog.names == ("",) and catalog.sat_ids.tolist() == [25544]


@pytest.mark.parametrize(
    "change, words",
    [
        ({"MEAN_MOTION": "fast"}, "MEAN_MOTION 'fast' is not a number (ISS (ZARYA))"),
        ({"MEAN_MOTION": "nan"}, "not a finite number"),
        ({"ECCENTRICITY": "1.2"}, "eccentricity 1.2, expected 0 <= e < 1"),
        ({"EPOCH": "yesterday"}, "EPOCH 'yesterday', expected ISO 8601"),
        ({"NORAD_CAT_ID": "-5"}, "NORAD_CAT_ID '-5', expected a non-negative integer"),
        ({"NORAD_CAT_ID": "400000"}, "above 339999"),
        ({"INCLINATION": ""}, "missing INCLINATION"),
        ({"CLASSIFICATION_TYPE": "Q"}, "CLASSIFICATION_TYPE 'Q'"),
    ],
)
def test_omm_csv_field_errors_name_file_row_and_field(change, words):
    good = omm_fields(*ISS)
    bad = {**good, **change, "OBJECT_NAME": "ISS (ZARYA)"}
    other = {**good, "NORAD_CAT_ID": "25545", "OBJECT_NAME": "OTHER"}
    with pytest.raises(TLEError) as info:
        load_catalog("gp.csv", text=_omm_csv([other, bad]))
    assert str(info.value).startswith("gp.csv:3: ") and words in str(info.value)
    catalog = load_catalog("gp.csv", text=_omm_csv([other, bad]), skip_invalid=True)
    assert catalog.names == ("OTHER",) and len(catalog.skipped) == 1


def test_omm_structure_errors():
    row = omm_fields(*ISS)
    header_only = ",".join(k for k in row if k != "BSTAR") + "\n"
    with pytest.raises(TLEError, match="^h.csv:1: OMM CSV header lacks BSTAR$"):
        load_catalog("h.csv", text=header_only)
    short = _omm_csv([row]) + "ISS,1998-067A\n"
    with pytest.raises(TLEError, match="^s.csv:3: row has 2 fields, the header 17"):
        load_catalog("s.csv", text=short)
    with pytest.raises(TLEError, match=r"^j.json:1: not valid JSON"):
        load_catalog("j.json", text='[{"OBJECT_NAME": }]')
    with pytest.raises(TLEError, match="^k.json: record 2: a int, expected an object"):
        load_catalog("k.json", text=json.dumps([row, 5]))
    with pytest.raises(TLEError, match="^d.json: record 2: catalogue number 25544 .* repeats the element set at record 1"):
        load_catalog("d.json", text=json.dumps([row, row]))
    with pytest.raises(TLEError, match=r"^no element sets found in e.json \[read as OMM JSON\]$"):
        load_catalog("e.json", text="[]")
