"""Corruption suite: damaged element sets and invalid scenarios given to ``leosim run``.

Every case is generated here and run through the CLI in-process. Each must exit 2 with at most
three lines on stderr naming the file (and the line or the field), no traceback, and must leave
nothing behind: the output directory is never created.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from simulator.cli import main
from simulator.orbits.elements import OrbitElements
from simulator.orbits.tle import format_tle_text

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
SATS = [OrbitElements(f"SAT-{i}", 70001 + i, EPOCH, 53.0, 10.0 * i, 0.0001, 0.0, 30.0 * i, 15.06, bstar=1e-4,
                      intl_designator="26001A") for i in range(3)]
GOOD_TLE = format_tle_text(SATS)
LINES = GOOD_TLE.splitlines()  # name, line 1, line 2 for each of 3 satellites; SAT-1 is lines 4-6

SCENARIO = """
name = "corrupt"
[time]
start_utc = 2026-01-01T00:00:00Z
duration_s = 20
step_s = 2.0
[constellation]
{constellation}
[users]
points = [ { name = "a", lat_deg = 40.0, lon_deg = -70.0 } ]
[schemes]
names = ["single-smrt"]
rsap_policies = ["best-channel"]
[events]
csi_period_s = 2.0
[output]
directory = "{out}"
chunk_s = 10
"""


def _with(line_no: int, column: int, text: str) -> str:
    """GOOD_TLE with ``text`` written over ``line_no`` (1-based) from ``column`` (1-based)."""
    lines = list(LINES)
    line = lines[line_no - 1]
    lines[line_no - 1] = line[: column - 1] + text + line[column - 1 + len(text):]
    return "\n".join(lines) + "\n"


# TLE fields of SAT-1 (line 5 = its line 1, line 6 = its line 2): (line, first column, replacement)
_FIELD_CASES = {
    "l1-number": (5, 1, "7"), "l1-sep2": (5, 2, "x"), "l1-satnum": (5, 3, "I0002"), "l1-class": (5, 8, "X"),
    "l1-sep9": (5, 9, "#"), "l1-designator": (5, 10, "é"), "l1-sep18": (5, 18, "0"), "l1-year": (5, 19, "2X"),
    "l1-day": (5, 21, "ABC"), "l1-day-dot": (5, 24, ","), "l1-sep33": (5, 33, "5"), "l1-ndot": (5, 34, "?"),
    "l1-ndot-digits": (5, 36, "ab"), "l1-sep44": (5, 44, "-"), "l1-nddot": (5, 45, "+12a4"),
    "l1-nddot-exp": (5, 51, "*"), "l1-sep53": (5, 53, "1"), "l1-bstar": (5, 54, " 1.345"), "l1-bstar-exp": (5, 60, "q"),
    "l1-sep62": (5, 62, "7"), "l1-ephemeris": (5, 63, "E"), "l1-sep64": (5, 64, "9"), "l1-elset": (5, 65, "x"),
    "l1-checksum-char": (5, 69, "C"), "l1-checksum": (5, 69, "0" if LINES[4][68] != "0" else "1"),
    "l2-number": (6, 1, "3"), "l2-satnum": (6, 3, "7000?"), "l2-sep8": (6, 8, "U"), "l2-incl": (6, 9, "5x.0000"),
    "l2-incl-range": (6, 9, "190.0000"), "l2-raan": (6, 18, "1O.0000"), "l2-ecc": (6, 27, "00o1000"),
    "l2-argp": (6, 35, "  0,0000"), "l2-ma": (6, 44, "abc"), "l2-mm": (6, 53, "1S.06"), "l2-mm-zero": (6, 53, " 0.00000000"),
    "l2-rev": (6, 64, "abcde"), "l2-checksum": (6, 69, "0" if LINES[5][68] != "0" else "1"),
    "l2-other-satnum": (6, 3, "70009"), "l1-day-400": (5, 21, "400"),
}


def _structure_cases() -> dict[str, str | bytes]:
    body = "\n".join(LINES)
    return {
        "truncated-l1": "\n".join(LINES[:4] + [LINES[4][:50]] + LINES[5:]) + "\n",
        "truncated-l2": "\n".join(LINES[:5] + [LINES[5][:60]] + LINES[6:]) + "\n",
        "long-l1": "\n".join(LINES[:4] + [LINES[4] + "99"] + LINES[5:]) + "\n",
        "missing-l2": "\n".join(LINES[:5] + LINES[6:]) + "\n",
        "missing-l1": "\n".join(LINES[:4] + LINES[5:]) + "\n",
        "swapped": "\n".join(LINES[:4] + [LINES[5], LINES[4]] + LINES[6:]) + "\n",
        "file-ends-early": "\n".join(LINES[:8]) + "\n",
        "duplicate-sat": body + "\n" + "\n".join(LINES[3:6]) + "\n",
        "empty": "",
        "only-comments": "# nothing\n# here\n",
        "blank-lines": "\n\n   \n",
        "nul-byte": body[:100] + "\x00" + body[100:],
        "latin1": (body.replace("SAT-1", "SAT-\xe9") + "\n").encode("latin-1"),
        "random-binary": bytes(range(256)) * 4,
        "tab-inside": _with(6, 9, "\t"),
        "name-only": "JUST A NAME\n",
        "prose": "These are not element sets.\nAt all.\n",
        "omm-json-broken": '[{"OBJECT_NAME": "X", ',
        "omm-json-object": '{"OBJECT_NAME": "X"}',
        "omm-json-missing-keys": json.dumps([{"OBJECT_NAME": "X", "NORAD_CAT_ID": 1}]),
        "omm-json-string-number": json.dumps([{**_omm(), "MEAN_MOTION": "fifteen"}]),
        "omm-json-nan": json.dumps([{**_omm(), "ECCENTRICITY": float("nan")}]),
        "omm-json-empty-list": "[]",
        "omm-csv-missing-column": "OBJECT_NAME,NORAD_CAT_ID\nX,1\n",
        "omm-csv-bad-number": _omm_csv(MEAN_MOTION="1x.2"),
        "omm-csv-bad-epoch": _omm_csv(EPOCH="yesterday"),
        "omm-xml": '<?xml version="1.0"?>\n<ndm><omm></omm></ndm>\n',
    }


def _omm() -> dict:
    return {"OBJECT_NAME": "X", "OBJECT_ID": "2026-001A", "EPOCH": "2026-01-01T00:00:00.000000",
            "MEAN_MOTION": 15.06, "ECCENTRICITY": 0.0001, "INCLINATION": 53.0, "RA_OF_ASC_NODE": 10.0,
            "ARG_OF_PERICENTER": 0.0, "MEAN_ANOMALY": 0.0, "EPHEMERIS_TYPE": 0, "CLASSIFICATION_TYPE": "U",
            "NORAD_CAT_ID": 70100, "ELEMENT_SET_NO": 999, "REV_AT_EPOCH": 1, "BSTAR": 0.0001,
            "MEAN_MOTION_DOT": 0.0, "MEAN_MOTION_DDOT": 0.0}


def _omm_csv(**change) -> str:
    row = {**_omm(), **change}
    return ",".join(row) + "\n" + ",".join(str(v) for v in row.values()) + "\n"


ELEMENT_CASES = {**{k: _with(*v) for k, v in _FIELD_CASES.items()}, **_structure_cases()}


def test_the_suite_is_large_and_every_case_distinct():
    assert len(ELEMENT_CASES) >= 60
    assert len(SCENARIO_CASES) >= 40
    contents = [c if isinstance(c, bytes) else c.encode() for c in ELEMENT_CASES.values()]
    assert len(set(contents)) == len(contents)


def _run(tmp_path, capsys, scenario_text: str, name: str = "s.toml", extra: list[str] | None = None):
    out = tmp_path / "out"
    path = tmp_path / name
    path.write_text(scenario_text.replace("{out}", str(out)), encoding="utf-8")
    status = main(["run", str(path), *(extra or [])])
    err = capsys.readouterr().err
    return status, err, out, path


def _assert_refused(status, err, out, *names):
    lines = err.strip().splitlines()
    assert status == 2, err
    assert 1 <= len(lines) <= 3, err
    assert "Traceback" not in err
    for name in names:
        assert name in err, (name, err)
    assert not out.exists(), "a refused run left its output directory behind"


@pytest.mark.parametrize("case", sorted(ELEMENT_CASES))
def test_corrupted_element_set_is_refused_before_anything_is_written(tmp_path, capsys, case):
    content = ELEMENT_CASES[case]
    tle = tmp_path / f"bad-{case}.tle"
    (tle.write_bytes if isinstance(content, bytes) else tle.write_text)(content)
    text = SCENARIO.replace("{constellation}", f'tle = "{tle.name}"')
    status, err, out, _ = _run(tmp_path, capsys, text)
    _assert_refused(status, err, out, tle.name, "constellation.tle")


BASE = SCENARIO.replace("{constellation}", "walker = { planes = 2, per_plane = 3, altitude_km = 550, "
                                            "inclination_deg = 53, phasing = 1 }")


def _set(section: str | None, key: str, value: str, text: str = BASE) -> str:
    """``text`` with ``key = value`` replacing (or added to) ``[section]`` (None: the top level)."""
    lines = text.splitlines()
    start = 0 if section is None else lines.index(f"[{section}]") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
    for i in range(start, end):
        if lines[i].split("=")[0].strip() == key:
            lines[i] = f"{key} = {value}"
            break
    else:
        lines.insert(start if section is None else end, f"{key} = {value}")
    return "\n".join(lines) + "\n"


USERS_CSV = {
    "csv-header": "who,lat,lon\nx,1,2\n",
    "csv-number": "name,lat_deg,lon_deg\nx,north,2\n",
    "csv-empty-name": "name,lat_deg,lon_deg\n,1,2\n",
    "csv-columns": "name,lat_deg,lon_deg\nx,1\n",
    "csv-latitude": "name,lat_deg,lon_deg\nx,95,2\n",
    "csv-repeat": "name,lat_deg,lon_deg\nx,1,2\nx,3,4\n",
    "csv-no-users": "name,lat_deg,lon_deg\n",
}

# case -> (scenario text, substring naming the field)
SCENARIO_CASES = {
    "duration-inf": (_set("time", "duration_s", "inf"), "time.duration_s"),
    "duration-huge": (_set("time", "duration_s", "1e300"), "time.duration_s"),
    "duration-1e12": (_set("time", "duration_s", "1e12"), "time.duration_s"),
    "duration-nan": (_set("time", "duration_s", "nan"), "time.duration_s"),
    "duration-bool": (_set("time", "duration_s", "true"), "time.duration_s"),
    "duration-string": (_set("time", "duration_s", '"120"'), "time.duration_s"),
    "duration-negative": (_set("time", "duration_s", "-5"), "time.duration_s"),
    "step-zero": (_set("time", "step_s", "0"), "time.step_s"),
    "step-inf": (_set("time", "step_s", "inf"), "time.step_s"),
    "step-too-fine": (_set("time", "step_s", "1e-7", _set("time", "duration_s", "100000")), "time"),
    "start-quoted": (_set("time", "start_utc", '"2026-01-01T00:00:00Z"'), "time.start_utc"),
    "start-naive": (_set("time", "start_utc", "2026-01-01T00:00:00"), "time.start_utc"),
    "start-beyond-tle-years": (_set("time", "start_utc", "2090-01-01T00:00:00Z"), "constellation.walker"),
    "recluster-interval-inf": (_set("events", "min_recluster_interval_s", "inf"), "events.min_recluster_interval_s"),
    "recluster-period-inf": (_set("events", "recluster_period_s", "inf"), "events.recluster_period_s"),
    "time-to-trigger-inf": (_set("events", "time_to_trigger_s", "inf"), "events.time_to_trigger_s"),
    "csi-period-not-steps": (_set("events", "csi_period_s", "3.0"), "events.csi_period_s"),
    "k-max-bool": (_set("events", "k_max", "true"), "events.k_max"),
    "chunk-inf": (_set("output", "chunk_s", "inf"), "output.chunk_s"),
    "chunk-count": (_set("output", "chunk_s", "0.01", _set("time", "duration_s", "20000")), "output.chunk_s"),
    "frequency-string": (_set("radio", "frequency_ghz", '"5"', BASE + "[radio]\n"), "radio.frequency_ghz"),
    "shadowing-string": (_set("radio", "shadowing", '"yes"', BASE + "[radio]\n"), "radio.shadowing"),
    "kappa-strings": (_set("radio", "kappa_db", '["15", 20]', BASE + "[radio]\n"), "radio.kappa_db"),
    "n-h-zero": (_set("radio", "n_h", "0", BASE + "[radio]\n"), "radio.n_h"),
    "directory-nul": (_set("output", "directory", '"a\\u0000b"'), "output.directory"),
    "name-traversal": (_set(None, "name", '"../../x"'), "name"),
    "name-empty": (_set(None, "name", '""'), "name"),
    "name-slash": (_set(None, "name", '"a/b"'), "name"),
    "name-control": (_set(None, "name", '"run\\u0007"'), "name"),
    "user-name-empty": (BASE.replace('name = "a"', 'name = ""'), "users.points.0.name"),
    "user-name-tab": (BASE.replace('name = "a"', 'name = "a\\tb"'), "users.points.0.name"),
    "user-latitude": (BASE.replace("lat_deg = 40.0", "lat_deg = 91.0"), "users.points.0.lat_deg"),
    "seed-negative": (_set(None, "seed", "-1"), "seed"),
    "seed-float": (_set(None, "seed", "1.5"), "seed"),
    "unknown-field": (_set("time", "durration_s", "20"), "time.durration_s"),
    "unknown-scheme": (_set("schemes", "names", '["warp-drive"]'), "schemes.names"),
    "no-schemes": (_set("schemes", "names", "[]"), "schemes.names"),
    "missing-time": (BASE.replace("[time]", "[timing]"), "time"),
    "toml-syntax": (BASE.replace("duration_s = 20", "duration_s = = 20"), "invalid TOML"),
    "walker-phasing": (BASE.replace("phasing = 1", "phasing = 2"), "constellation.walker"),
    "two-constellations": (_set("constellation", "preset", '"oneweb"'), "constellation"),
    "tle-missing": (SCENARIO.replace("{constellation}", 'tle = "nowhere.tle"'), "constellation.tle"),
    **{name: (BASE.replace('points = [ { name = "a", lat_deg = 40.0, lon_deg = -70.0 } ]', f'csv = "{name}.csv"'),
              "users.csv") for name in USERS_CSV},
}


@pytest.mark.parametrize("case", sorted(SCENARIO_CASES))
def test_invalid_scenario_is_refused_before_anything_is_written(tmp_path, capsys, case):
    text, field = SCENARIO_CASES[case]
    for name, content in USERS_CSV.items():
        (tmp_path / f"{name}.csv").write_text(content)
    status, err, out, path = _run(tmp_path, capsys, text, name=f"{case}.toml")
    _assert_refused(status, err, out, path.name, field)
    if case.startswith("csv-"):
        assert f"{case}.csv" in err and f"{case}.csv:" in err  # the CSV file and its line


def test_accepted_oddities_are_read(tmp_path, capsys):
    """CRLF line ends, a BOM, trailing tabs and blanks, Alpha-5 numbers: documented in docs/formats.md."""
    alpha = format_tle_text([SATS[0]._replace(sat_id=100001, name="ALPHA")])
    odd = "\ufeff" + GOOD_TLE.replace("\n", "\t \r\n") + alpha.replace("\n", "\r\n")
    tle = tmp_path / "odd.tle"
    tle.write_bytes(odd.encode("utf-8"))
    from simulator.orbits.tle import load_catalog

    catalog = load_catalog(tle)
    assert catalog.sat_ids.tolist() == [70001, 70002, 70003, 100001]


@pytest.mark.parametrize("first_name", ["[DECAYED] IRIDIUM 106", "<UNKNOWN>", "{PLACEHOLDER}"])
def test_format_is_detected_by_line_structure_not_first_character(tmp_path, first_name):
    from simulator.orbits.tle import detect_format, load_catalog

    text = GOOD_TLE.replace("SAT-0", first_name, 1)
    assert detect_format(text) == "tle"
    path = tmp_path / "x.tle"
    path.write_text(text)
    assert load_catalog(path).names[0] == first_name


def test_each_format_failure_names_the_format_tried(tmp_path):
    from simulator.errors import TLEError
    from simulator.orbits.tle import load_catalog

    for content, label in ((ELEMENT_CASES["l2-checksum"], "TLE"), ('[{"OBJECT_NAME": 1}]', "OMM JSON"),
                           (_omm_csv(MEAN_MOTION="x"), "OMM CSV"), ("garbage\n", "TLE")):
        path = tmp_path / "f"
        path.write_text(content)
        with pytest.raises(TLEError, match=label):
            load_catalog(path)
