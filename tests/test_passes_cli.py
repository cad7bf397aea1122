"""``leosim passes``: output files, argument validation and the default start."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from simulator import cli
from simulator import timebase as tb
from simulator.orbits.geodesy import geodetic_to_ecef
from simulator.orbits.passes import find_passes
from simulator.orbits.tle import load_catalog, write_tle
from simulator.orbits.walker import walker_catalog

COLUMNS = ["sat_id", "sat_name", "rise_utc", "culmination_utc", "set_utc", "max_elevation_deg", "duration_s"]
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def run(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse errors exit through the parser
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def tle_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tle") / "iridium.tle"
    write_tle(path, walker_catalog("iridium"))
    return path


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_writes_exact_columns_and_ms_iso_strings(tle_file, tmp_path, capsys, suffix):
    out_path = tmp_path / f"passes.{suffix}"
    argv = ["passes", "--tle", str(tle_file), "--lat", "42.36", "--lon", "-71.06", "--start",
            "2026-01-01T00:00:00Z", "--hours", "3", "--min-elevation-deg", "8.2", "-o", str(out_path)]
    code, out, err = run(argv, capsys)
    assert code == 0 and err == ""
    table = pd.read_csv(out_path, keep_default_na=False) if suffix == "csv" else pd.read_parquet(out_path)
    assert list(table.columns) == COLUMNS
    assert len(table) > 10
    for col in ("rise_utc", "culmination_utc", "set_utc"):
        values = [v for v in table[col] if not pd.isna(v) and v != ""]
        assert values and all(ISO_MS.match(v) for v in values)
    # same passes as the library call, instants rounded to the millisecond
    ref = find_passes(load_catalog(tle_file), geodetic_to_ecef(42.36, -71.06, 0.0), "2026-01-01T00:00:00Z",
                      3 * 3600, 8.2)
    assert len(ref) == len(table)
    np.testing.assert_array_equal(table.sat_id.to_numpy(), ref.sat_id.to_numpy())
    full = ~ref.truncated.to_numpy()
    rise = pd.to_datetime(table.rise_utc[full], utc=True)
    assert (rise - ref.rise_utc[full]).abs().max() <= pd.Timedelta(microseconds=500)
    np.testing.assert_allclose(table.duration_s, ref.duration_s, atol=1e-6)
    assert "passes" in out and f"wrote {len(table)} passes" in out
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # temp file renamed away


def test_summary_line_and_table(tle_file, capsys):
    code, out, _ = run(["passes", "--tle", str(tle_file), "--lat", "0", "--lon", "0", "--start",
                        "2026-01-01T00:00:00Z", "--hours", "2"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert re.match(r"^\d+ passes, \d+ satellites, duration median [\d.]+ s, max [\d.]+ s", lines[-1])
    n = int(lines[-1].split()[0])
    assert len(lines) == n + 4  # header, column titles, rule, one row per pass, summary
    assert len({len(line) for line in lines[1:-1]}) == 1  # aligned rows


def test_default_start_is_the_median_epoch(shared_tle_dir, capsys):
    path = shared_tle_dir / "iridium_next_2026-01-03.tle"
    code, out, _ = run(["passes", "--tle", str(path), "--lat", "42.36", "--lon", "-71.06", "--hours", "1"], capsys)
    assert code == 0
    median = tb.format_iso8601_ms(tb.jd_to_utc_ns(load_catalog(path).median_epoch_jd()))
    assert median == "2026-01-03T14:16:23.011Z"  # the data README: median 2026-01-03 14:18 (rounded)
    assert f"; {median} …" in out.splitlines()[0]


def test_preset_instead_of_tle(capsys):
    code, out, _ = run(["passes", "--preset", "starlink-shell1", "--lat", "53", "--lon", "350",
                        "--hours", "0.5", "--min-elevation-deg", "25"], capsys)
    assert code == 0 and "STARLINK-SHELL1" in out and "2026-01-01T00:00:00.000Z" in out


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--lat", "91", "--lon", "0"], "--lat=91"),
        (["--lat", "0", "--lon", "360"], "--lon=360"),
        (["--lat", "0", "--lon", "-181"], "--lon=-181"),
        (["--lat", "0", "--lon", "0", "--hours", "0"], "--hours=0"),
        (["--lat", "0", "--lon", "0", "--min-elevation-deg", "90"], "--min-elevation-deg=90"),
        (["--lat", "0", "--lon", "0", "--min-elevation-deg", "-1"], "--min-elevation-deg=-1"),
        (["--lat", "0", "--lon", "0", "-o", "out.xlsx"], ".csv or .parquet"),
        (["--lat", "0", "--lon", "0", "--start", "noon"], "ISO 8601"),
        (["--lat", "north", "--lon", "0"], "invalid float"),
        (["--lon", "0"], "--lat"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(tle_file, capsys, extra, needle):
    code, out, err = run(["passes", "--tle", str(tle_file), *extra], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err
    assert "Traceback" not in err and err.startswith("leosim: error:")


def test_source_must_be_exactly_one(tle_file, capsys):
    code, _, err = run(["passes", "--lat", "0", "--lon", "0"], capsys)
    assert code == 2 and "--tle" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(["passes", "--tle", str(tle_file), "--preset", "iridium", "--lat", "0", "--lon", "0"], capsys)
    assert code == 2 and "exactly one" in err
    code, _, err = run(["passes", "--tle", str(tle_file) + ".missing", "--lat", "0", "--lon", "0"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
