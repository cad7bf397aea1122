"""``leosim tle walker`` and ``leosim tle check``: outputs, one-line errors with exit 2, shipped presets."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from test_tle import BAD_TLES, ISS, omm_fields

from simulator.cli import main
from simulator.orbits.tle import format_tle_text, load_catalog
from simulator.orbits.walker import PRESETS, WalkerSpec, walker_elements

REPO = Path(__file__).resolve().parents[1]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str) -> str:
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("leosim: error: "), err
    assert "Traceback" not in err
    return err.strip()


@pytest.mark.parametrize("case", sorted(BAD_TLES))
def test_check_bad_file_is_one_line_and_exit_2(tmp_path, capsys, case):
    text, line, words = BAD_TLES[case]
    path = tmp_path / "bad.tle"
    path.write_text(text)
    code, out, err = run(capsys, "tle", "check", path)
    message = assert_one_line_error(code, err)
    assert f"{path}:{line}: " in message and words in message
    assert out == ""


@pytest.mark.parametrize(
    "content, words",
    [(b"", "no element sets found in"), (b"\x00\x01\x02", "binary file (NUL byte at offset 0)"),
     (b"\xff\xfeS\x00", "binary file"), (b"caf\xe9\n", "not UTF-8 text (byte 0xe9 at offset 3)")],
)
def test_check_unreadable_content(tmp_path, capsys, content, words):
    path = tmp_path / "odd.tle"
    path.write_bytes(content)
    message = assert_one_line_error(*run(capsys, "tle", "check", path)[::2])
    assert str(path) in message and words in message


def test_check_missing_file(tmp_path, capsys):
    message = assert_one_line_error(*run(capsys, "tle", "check", tmp_path / "nope.tle")[::2])
    assert "nope.tle: cannot read (No such file or directory)" in message


def test_check_summary_and_skip_invalid(tmp_path, capsys):
    name, line1, line2 = ISS
    path = tmp_path / "mixed.tle"
    path.write_text(f"{name}\n{line1}\n{line2}\nBROKEN\n{line1[:60]}\n{line2}\n")
    code, out, err = run(capsys, "tle", "check", path, "--skip-invalid")
    assert code == 0 and err == ""
    assert f"{path}: 1 satellites (TLE)" in out
    assert "epochs: 2008-09-20T12:25:40Z … 2008-09-20T12:25:40Z" in out
    assert "catalogue numbers: 25544 … 25544" in out
    assert "skipped: 1\n" in out and f"{path}:5: line has 60 characters" in out


def test_check_reads_omm_json(tmp_path, capsys):
    path = tmp_path / "gp.json"
    path.write_text(json.dumps([omm_fields(*ISS)]))
    code, out, _ = run(capsys, "tle", "check", path)
    assert code == 0 and "1 satellites (OMM JSON)" in out


def test_walker_unknown_preset_lists_valid_ones(tmp_path, capsys):
    target = tmp_path / "x.tle"
    message = assert_one_line_error(*run(capsys, "tle", "walker", "globalstar", "-o", target)[::2])
    assert message == (
        "leosim: error: unknown Walker preset 'globalstar'; valid presets: "
        "starlink-shell1, kuiper-630, oneweb, iridium"
    )
    assert not target.exists()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--planes", "6", "--per-plane", "11", "--altitude-km", "780", "--inclination-deg", "86.4",
          "--phasing", "6"], "phasing=6 outside 0 … n_planes-1 = 5"),
        (["--planes", "6"], "missing --per-plane, --altitude-km, --inclination-deg, --phasing"),
        (["iridium", "--planes", "6"], "not both"),
        (["iridium", "--epoch", "next tuesday"], "--epoch 'next tuesday' is not ISO 8601"),
        (["--planes", "6", "--per-plane", "11", "--altitude-km", "50", "--inclination-deg", "86.4",
          "--phasing", "1"], "altitude_m=50000.0 outside"),
    ],
)
def test_walker_bad_parameters(tmp_path, capsys, argv, words):
    target = tmp_path / "x.tle"
    message = assert_one_line_error(*run(capsys, "tle", "walker", *argv, "-o", target)[::2])
    assert words in message
    assert list(tmp_path.iterdir()) == []


def test_walker_into_missing_directory_is_one_line(tmp_path, capsys):
    target = tmp_path / "no" / "such" / "dir.tle"
    message = assert_one_line_error(*run(capsys, "tle", "walker", "iridium", "-o", target)[::2])
    assert f"{target}: cannot write (No such file or directory)" in message


def test_custom_walker_matches_the_api(tmp_path, capsys):
    target = tmp_path / "custom.tle"
    code, out, _ = run(capsys, "tle", "walker", "--planes", "4", "--per-plane", "5", "--altitude-km", "1000",
                       "--inclination-deg", "60", "--phasing", "2", "--star", "--name", "demo",
                       "--epoch", "2026-06-01T12:00:00+02:00", "--first-id", "120000", "-o", target)
    assert code == 0 and "wrote 20 satellites (60°: 20/4/2 star, 1000 km, ids 120000-120019" in out
    spec = WalkerSpec("demo", 4, 5, 1000e3, 60.0, 2, "star", 120_000)
    expected = format_tle_text(walker_elements(spec, datetime(2026, 6, 1, 10, tzinfo=timezone.utc)))
    assert target.read_text() == expected
    catalog = load_catalog(target)
    assert catalog.names[0] == "DEMO-P01-S01" and catalog.sat_ids[-1] == 120019
    assert target.read_text().splitlines()[1][2:7] == "C0000"  # Alpha-5 in the file


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_shipped_preset_files_are_regenerated_byte_for_byte(tmp_path, capsys, name):
    target = tmp_path / f"{name}.tle"
    code, _, err = run(capsys, "tle", "walker", name, "-o", target)
    assert code == 0 and err == ""
    shipped = REPO / "tle" / f"{name}.tle"
    assert shipped.read_bytes() == target.read_bytes(), f"tle/{name}.tle differs: regenerate it (tle/README.md)"
