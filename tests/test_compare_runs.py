"""tests/compare_runs.py judges two run directories row by row: what it accepts and what it catches."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare_runs  # noqa: E402  (the script beside this file)


def _write(run: Path, table: str, columns: dict, chunk: int = 0) -> None:
    folder = run / table
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), folder / f"chunk-{chunk:06d}.parquet")


def _run(tmp_path: Path, name: str, se=(1.0, 2.0, 0.5), scheme=("a", "b", "a"), sat=(7, None, 9),
         solve=(0.1, 0.2)) -> Path:
    run = tmp_path / name
    sch = pa.array(list(scheme)).dictionary_encode()
    _write(run, "rates", {"time": pa.array([0, 0, 1], pa.timestamp("ns", tz="UTC")), "scheme": sch,
                          "se_bps_hz": pa.array(list(se), pa.float64()),
                          "rsap_sat": pa.array(list(sat), pa.int64())})
    _write(run, "rates", {"time": pa.array([2], pa.timestamp("ns", tz="UTC")),
                          "scheme": pa.array(["b"]).dictionary_encode(), "se_bps_hz": pa.array([float("-inf")]),
                          "rsap_sat": pa.array([None], pa.int64())}, chunk=1)
    _write(run, "decisions", {"status": pa.array(["ok", "ok"]), "solve_s": pa.array(list(solve))})
    return run


def test_identical_runs_agree_and_wall_clock_is_ignored(tmp_path, capsys):
    a, b = _run(tmp_path, "a"), _run(tmp_path, "b", solve=(9.0, 9.0), se=(1.0 + 1e-14, 2.0, 0.5))
    assert all(d.equal for d in compare_runs.compare_runs(a, b))
    assert compare_runs.main([str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "rates      identical  4 rows" in out and "decisions  identical" in out


def test_a_float_beyond_1e12_a_label_or_a_null_is_caught(tmp_path):
    a = _run(tmp_path, "a")
    for i, kwargs in enumerate([dict(se=(1.0 + 1e-9, 2.0, 0.5)), dict(scheme=("a", "a", "a")),
                                dict(sat=(7, 8, 9))]):
        b = _run(tmp_path, f"b{i}", **kwargs)
        diffs = {d.table: d for d in compare_runs.compare_runs(a, b)}
        assert not diffs["rates"].equal and "first at row" in diffs["rates"].detail
        assert diffs["decisions"].equal
    assert compare_runs.main([str(a), str(tmp_path / "b0")]) == 1


def test_row_order_counts_unless_any_order_is_asked(tmp_path):
    a = _run(tmp_path, "a")
    b = _run(tmp_path, "b", se=(2.0, 1.0, 0.5), scheme=("b", "a", "a"), sat=(None, 7, 9))
    assert not {d.table: d for d in compare_runs.compare_runs(a, b)}["rates"].equal
    assert all(d.equal for d in compare_runs.compare_runs(a, b, any_order=True))


def test_a_missing_table_or_rows_differ(tmp_path):
    a, b = _run(tmp_path, "a"), _run(tmp_path, "b")
    _write(b, "events", {"kind": pa.array(["rise"])})
    diffs = {d.table: d for d in compare_runs.compare_runs(a, b)}
    assert not diffs["events"].equal and diffs["events"].rows_b == 1
