"""Corrupted element sets either load or raise TLEError — never another exception."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tle import ISS, fix, omm_fields

from simulator.errors import TLEError
from simulator.orbits.tle import load_catalog

NAME, L1, L2 = ISS
ALPHA1, ALPHA2 = fix(L1.replace("25544", "Z9999")), fix(L2.replace("25544", "Z9999"))
TLE_TEXT = (
    f"{NAME}\n{L1}\n{L2}\n"
    f"{fix(L1.replace('25544', '25545'))}\n{fix(L2.replace('25544', '25545'))}\n"
    f"ALPHA\n{ALPHA1}\n{ALPHA2}\n"
)
_OMM = [omm_fields(NAME, L1, L2), omm_fields("ALPHA", ALPHA1, ALPHA2)]
OMM_CSV = ",".join(_OMM[0]) + "\n" + "".join(",".join(row.values()) + "\n" for row in _OMM)
OMM_JSON = json.dumps(_OMM, indent=1)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# characters that matter to the readers, then anything
CHARS = st.one_of(st.sampled_from(list("0123456789 .-+AIOUZ\r\n\t\x0b\x00,\"[]{}:#")), st.characters())


@st.composite
def corrupted(draw, base: str) -> str:
    """``base`` after 1-4 random edits: replace, delete, insert, swap lines, truncate, repeat a line."""
    text = base
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["replace", "delete", "insert", "swap", "truncate", "repeat"]))
        pos = draw(st.integers(0, max(len(text) - 1, 0)))
        if op == "replace" and text:
            text = text[:pos] + draw(CHARS) + text[pos + 1 :]
        elif op == "delete":
            text = text[:pos] + text[pos + 1 :]
        elif op == "insert":
            text = text[:pos] + draw(st.text(CHARS, min_size=1, max_size=5)) + text[pos:]
        elif op == "truncate":
            text = text[:pos]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if op == "swap":
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines.insert(j, lines[i])
            text = "\n".join(lines)
    return text


def load_or_tle_error(text: str, skip_invalid: bool) -> None:
    try:
        catalog = load_catalog("fuzz.txt", text=text, skip_invalid=skip_invalid)
    except TLEError as exc:
        assert str(exc).isprintable()  # one line on the CLI, whatever the input held
        return
    assert len(catalog) == len(catalog.names) == len(catalog.sat_ids) > 0
    assert all(sat.error == 0 for sat in catalog.satrecs)
    assert skip_invalid or catalog.skipped == ()


@FUZZ
@given(corrupted(TLE_TEXT), st.booleans())
def test_corrupted_tle(text, skip_invalid):
    load_or_tle_error(text, skip_invalid)


@FUZZ
@given(corrupted(OMM_CSV), st.booleans())
def test_corrupted_omm_csv(text, skip_invalid):
    load_or_tle_error(text, skip_invalid)


@FUZZ
@given(corrupted(OMM_JSON), st.booleans())
def test_corrupted_omm_json(text, skip_invalid):
    load_or_tle_error(text, skip_invalid)


@FUZZ
@given(st.one_of(st.binary(max_size=300), corrupted(TLE_TEXT).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_random_bytes_from_a_file(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.tle"
        path.write_bytes(data)
        try:
            load_catalog(path)
        except TLEError as exc:
            assert str(path) in str(exc) or "no element sets" in str(exc) or "no valid" in str(exc)
