"""Compare every table of two run directories row by row (the proof of a pure refactor).

Usage::

    python tests/compare_runs.py RUN_A RUN_B [--any-order]

Each table is read from the run's ``TABLE/chunk-*.parquet`` files in chunk order with pyarrow
alone (no import of the simulator, so the same script judges runs of two code versions). Rows are
compared **in the order they were written**: a refactor of the replay must keep the order in which
segments are closed and rows are appended, so the default is strict. ``--any-order`` sorts both
tables on every compared column first (row order in the tables carries no meaning for a reader; use
it only to see whether a difference is an order difference).

Floats agree when ``|a − b| <= 1e-12 · max(1, |a|, |b|)`` (NaN equals NaN, ±inf equal themselves);
every other column (times, ids, categories, nulls) must be equal exactly. Columns that hold wall
clock and so differ run to run (:data:`VOLATILE`) are skipped. Exit status 0 when every table
agrees, 1 otherwise; one line per table either way.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["VOLATILE", "TableDiff", "read_run_table", "run_tables", "compare_tables", "compare_runs", "main"]

#: Columns that measure wall time, not simulated behaviour: never compared.
VOLATILE = {"decisions": ("solve_s",)}
#: Relative (absolute below 1) tolerance of float columns.
FLOAT_TOL = 1e-12


@dataclass(frozen=True)
class TableDiff:
    """Outcome for one table: equal or not, row counts, and the first differences found."""

    table: str
    equal: bool
    rows_a: int
    rows_b: int
    detail: str = ""

    def line(self) -> str:
        verdict = "identical" if self.equal else "DIFFERENT"
        rows = f"{self.rows_a} rows" if self.rows_a == self.rows_b else f"{self.rows_a} vs {self.rows_b} rows"
        return f"{self.table:<10} {verdict:<10} {rows}" + (f"  {self.detail}" if self.detail else "")


def run_tables(run_dir: str | Path) -> list[str]:
    """Names of the tables with at least one chunk file in ``run_dir``."""
    root = Path(run_dir)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("chunk-*.parquet")))


def read_run_table(run_dir: str | Path, table: str) -> pa.Table:
    """Every chunk of ``table`` in chunk order, concatenated (categories decoded to strings)."""
    files = sorted((Path(run_dir) / table).glob("chunk-*.parquet"))
    parts = [pq.read_table(f) for f in files]
    if not parts:
        return pa.table({})
    parts = [_decode(p) for p in parts]
    return pa.concat_tables(parts, promote_options="default")


def _decode(t: pa.Table) -> pa.Table:
    cols = []
    for col in t.columns:
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        cols.append(col)
    return pa.table(cols, names=t.column_names)


def _columns(a: pa.Table, table: str) -> list[str]:
    skip = set(VOLATILE.get(table, ()))
    return [c for c in a.column_names if c not in skip]


def _sort(t: pa.Table, columns: list[str]) -> pa.Table:
    return t.sort_by([(c, "ascending") for c in columns]) if t.num_rows else t


def compare_tables(a: pa.Table, b: pa.Table, table: str = "", *, any_order: bool = False,
                   tol: float = FLOAT_TOL) -> TableDiff:
    """Compare two tables column by column, row by row (see the module docstring)."""
    if a.column_names != b.column_names:
        return TableDiff(table, False, a.num_rows, b.num_rows, f"columns {a.column_names} vs {b.column_names}")
    if a.num_rows != b.num_rows:
        return TableDiff(table, False, a.num_rows, b.num_rows, "row counts differ")
    columns = _columns(a, table)
    if any_order:
        a, b = _sort(a, columns), _sort(b, columns)
    problems = []
    for name in columns:
        x, y = a.column(name), b.column(name)
        bad = _mismatch(x, y, tol)
        if bad.size:
            row = int(bad[0])
            problems.append(f"{name}: {bad.size} rows differ, first at row {row} "
                            f"({x[row].as_py()!r} vs {y[row].as_py()!r})")
    return TableDiff(table, not problems, a.num_rows, b.num_rows, "; ".join(problems))


def _mismatch(x: pa.ChunkedArray, y: pa.ChunkedArray, tol: float) -> np.ndarray:
    """Row indices where two columns differ (nulls must sit on the same rows)."""
    null_x = np.asarray(x.is_null().to_numpy(zero_copy_only=False), bool)
    null_y = np.asarray(y.is_null().to_numpy(zero_copy_only=False), bool)
    bad = null_x != null_y
    if pa.types.is_floating(x.type):
        u = x.to_numpy(zero_copy_only=False).astype(float)
        v = y.to_numpy(zero_copy_only=False).astype(float)
        with np.errstate(invalid="ignore"):
            scale = np.maximum(1.0, np.maximum(np.abs(u), np.abs(v)))
            close = (np.abs(u - v) <= tol * scale) | (u == v) | (np.isnan(u) & np.isnan(v))
        bad |= ~close & ~null_x & ~null_y
    else:
        if pa.types.is_timestamp(x.type):
            x, y = x.cast(pa.int64()), y.cast(pa.int64())
        u = np.asarray(x.to_pylist(), dtype=object) if not _numeric(x.type) else x.to_numpy(zero_copy_only=False)
        v = np.asarray(y.to_pylist(), dtype=object) if not _numeric(y.type) else y.to_numpy(zero_copy_only=False)
        both = ~null_x & ~null_y
        bad |= both & (u != v)
    return np.flatnonzero(bad)


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_boolean(t)


def compare_runs(run_a: str | Path, run_b: str | Path, *, any_order: bool = False) -> list[TableDiff]:
    """One :class:`TableDiff` per table present in either run."""
    out = []
    for table in sorted(set(run_tables(run_a)) | set(run_tables(run_b))):
        out.append(compare_tables(read_run_table(run_a, table), read_run_table(run_b, table), table,
                                  any_order=any_order))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compare the tables of two leosim run directories row by row.")
    parser.add_argument("run_a")
    parser.add_argument("run_b")
    parser.add_argument("--any-order", action="store_true", help="sort both tables before comparing")
    args = parser.parse_args(argv)
    diffs = compare_runs(args.run_a, args.run_b, any_order=args.any_order)
    if not diffs:
        print("no tables in either run")
        return 1
    for d in diffs:
        print(d.line())
    return 0 if all(d.equal for d in diffs) else 1


if __name__ == "__main__":
    sys.exit(main())
