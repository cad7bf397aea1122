"""The run directory: chunked, atomic Parquet recording, resume, and readers.

The engine hands the :class:`Recorder` columns of rows (numpy arrays or scalars, broadcast against
each other) one simulated-time chunk at a time. :meth:`Recorder.close_chunk` writes each table's
rows of the chunk as one Parquet file ``<run_dir>/<table>/chunk-<index:06d>.parquet`` — through a
``*.tmp`` file in the same folder, fsync and ``os.replace`` — and only then lists the chunk as
complete in ``manifest.json``. Readers use only listed chunks, so an interrupted run loses at most
the chunk in progress, and :func:`open_run` with ``resume=True`` deletes its leftovers and returns
the index to continue from. Buffers are dropped at every chunk close, and rows are streamed to the
open ``*.tmp`` file in row groups of ``row_group_rows``, so memory depends neither on the simulated
time nor on the chunk length.

Layout and columns: ``docs/outputs.md``; schemas: :mod:`simulator.engine.schemas`.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..errors import InputError
from ..scenario import Scenario
from .manifest import MANIFEST_NAME, TMP_SUFFIX, Manifest, chunk_path, commit_tmp
from .schemas import CATEGORY, COLUMNS, TABLES, TIME, Column, schema

__all__ = ["Recorder", "open_run", "read_table", "chunk_files", "delete_run"]

_CHUNK_RE = re.compile(r"^chunk-(\d{6})\.parquet$")
#: Folder of the engine's end-of-chunk state, one pickle per complete chunk (for --resume).
CHECKPOINTS = "checkpoints"
_CHECKPOINT_RE = re.compile(r"^chunk-(\d{6})\.pkl$")
_PANDAS_NULLABLE_INT = {pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype()}


class _TableBuffer:
    """Rows of one table appended in the current chunk and not yet streamed to its ``*.tmp`` file."""

    def __init__(self, columns: tuple[Column, ...]):
        self.columns = columns
        self.parts: dict[str, list[np.ndarray]] = {c.name: [] for c in columns}
        self.masks: dict[str, list[np.ndarray]] = {c.name: [] for c in columns if c.nullable}
        self.codes: dict[str, dict[str, int]] = {c.name: {} for c in columns if c.type == CATEGORY}
        self.n_rows = 0  # buffered, not yet streamed
        self.nbytes = 0
        self.chunk_rows = 0  # streamed + buffered, this chunk
        self.t_min: int | None = None
        self.t_max: int | None = None
        self.writer: pq.ParquetWriter | None = None

    def drop(self) -> None:
        """Forget everything of the current chunk (the caller has closed or aborted the writer)."""
        self.__init__(self.columns)


class Recorder:
    """Buffers rows per table for the current chunk and writes each chunk atomically.

    Build it with :func:`open_run`, which creates or checks ``manifest.json``.

    Parameters
    ----------
    run_dir : path — a run directory holding a ``manifest.json``
    chunk_index_start : int — index of the next chunk; must equal the manifest's next index
    row_group_rows : int — rows buffered per table before they are streamed to the chunk's
        ``*.tmp`` file as one Parquet row group (bounds memory for long chunks)
    """

    def __init__(self, run_dir: str | Path, *, chunk_index_start: int = 0, row_group_rows: int = 1 << 20):
        self.run_dir = Path(run_dir)
        self.manifest = Manifest.load(self.run_dir)
        if chunk_index_start != self.manifest.next_chunk_index:
            raise ValueError(
                f"chunk_index_start={chunk_index_start}, but {self.run_dir / MANIFEST_NAME} lists "
                f"{self.manifest.next_chunk_index} complete chunks; the next chunk is {self.manifest.next_chunk_index}"
            )
        if row_group_rows < 1:
            raise ValueError(f"row_group_rows={row_group_rows} must be >= 1")
        self.row_group_rows = int(row_group_rows)
        self.next_chunk_index = int(chunk_index_start)
        self.finished = False
        self._buffers = {t: _TableBuffer(COLUMNS[t]) for t in TABLES}
        self._wall_start = time.perf_counter()

    # ---------------------------------------------------------------- appending
    def append(self, table: str, **columns: Any) -> int:
        """Append rows to ``table`` for the current chunk; returns the number of rows appended.

        Values are numpy arrays or scalars, broadcast against each other with numpy's rules and
        flattened in C order (so ``time=t[:, None], user_id=u[None, :], se_bps_hz=se`` with ``se``
        of shape (T, U) appends T·U rows). Times are ``datetime64`` or integer ns since 1970 UTC;
        categorical columns take strings. A nullable column may be left out (all null), given as
        ``None``, or as a ``numpy.ma.MaskedArray`` whose masked entries are null.

        Raises ``ValueError`` for an unknown table or column, a missing required column, values
        outside the allowed set or range, or shapes that do not broadcast; ``TypeError`` for a
        dtype the column cannot hold.
        """
        if self.finished:
            raise ValueError(f"the recorder of {self.run_dir} is finished; no more rows can be appended")
        schema(table)  # raises for an unknown table
        cols = COLUMNS[table]
        names = [c.name for c in cols]
        unknown = sorted(set(columns) - set(names))
        if unknown:
            raise ValueError(f"{table}: unknown column(s) {', '.join(unknown)}; columns are: {', '.join(names)}")
        missing = [c.name for c in cols if not c.nullable and c.name not in columns]
        if missing:
            raise ValueError(f"{table}: required column(s) missing: {', '.join(missing)}")
        buf = self._buffers[table]
        converted = {c.name: _convert(table, c, columns.get(c.name), buf.codes.get(c.name)) for c in cols}
        try:
            shape = np.broadcast_shapes(*(d.shape for d, _ in converted.values()),
                                        *(m.shape for _, m in converted.values() if m is not None))
        except ValueError:
            shapes = ", ".join(f"{n}{tuple(d.shape)}" for n, (d, _) in converted.items() if d.ndim)
            raise ValueError(f"{table}: column shapes do not broadcast: {shapes}") from None
        n = int(np.prod(shape))
        if n == 0:
            return 0
        for c in cols:
            data, mask = converted[c.name]
            flat = np.broadcast_to(data, shape).reshape(n) if data.shape != (n,) else data
            buf.parts[c.name].append(flat)
            buf.nbytes += flat.nbytes
            if c.nullable:
                null = np.zeros(n, bool) if mask is None else np.broadcast_to(mask, shape).reshape(n)
                buf.masks[c.name].append(null)
                buf.nbytes += null.nbytes
        times = converted["time"][0]
        lo, hi = int(times.min()), int(times.max())
        buf.t_min = lo if buf.t_min is None else min(buf.t_min, lo)
        buf.t_max = hi if buf.t_max is None else max(buf.t_max, hi)
        buf.n_rows += n
        buf.chunk_rows += n
        if buf.n_rows >= self.row_group_rows:
            self._stream(table)
        return n

    def buffered_rows(self) -> dict[str, int]:
        """Rows held in memory per table (appended, not yet streamed to a file)."""
        return {t: b.n_rows for t, b in self._buffers.items()}

    def buffered_nbytes(self) -> int:
        """Bytes of row data held in memory, over all tables."""
        return sum(b.nbytes for b in self._buffers.values())

    # ---------------------------------------------------------------- writing
    def _stream(self, table: str) -> None:
        """Write the buffered rows of ``table`` as row groups of its chunk's ``*.tmp`` file."""
        buf = self._buffers[table]
        if buf.n_rows == 0:
            return
        arrays = []
        for c in buf.columns:
            data = np.concatenate(buf.parts[c.name])
            mask = np.concatenate(buf.masks[c.name]) if c.nullable else None
            arrays.append(_to_arrow(c, data, mask, buf.codes.get(c.name)))
        batch = pa.Table.from_arrays(arrays, schema=schema(table))
        if buf.writer is None:
            tmp = _tmp_path(chunk_path(self.run_dir, table, self.next_chunk_index))
            tmp.parent.mkdir(exist_ok=True)
            buf.writer = pq.ParquetWriter(tmp, schema(table), compression="zstd")
        buf.writer.write_table(batch, row_group_size=self.row_group_rows)
        for c in buf.columns:
            buf.parts[c.name].clear()
            if c.nullable:
                buf.masks[c.name].clear()
        buf.n_rows = 0
        buf.nbytes = 0

    def close_chunk(self, chunk_index: int, t_end_ns: int, *, t_start_ns: int | None = None) -> dict[str, int]:
        """Write chunk ``chunk_index`` covering ``[t_start_ns, t_end_ns]`` and list it as complete.

        Each table with rows gets one Parquet file (atomic rename); tables without rows get no
        file. Then the chunk is appended to the manifest (atomically) and every buffer is dropped.

        Parameters
        ----------
        chunk_index : int — must be :attr:`next_chunk_index`
        t_end_ns : int — end of the chunk, ns since 1970 UTC
        t_start_ns : int, optional — start of the chunk, ns since 1970 UTC; defaults to the end of
            the previous chunk and is required for the first chunk of a run

        Returns
        -------
        dict — rows written per table
        """
        if self.finished:
            raise ValueError(f"the recorder of {self.run_dir} is finished; no more chunks can be closed")
        if chunk_index != self.next_chunk_index:
            raise ValueError(f"close_chunk({chunk_index}): the chunk in progress is {self.next_chunk_index}")
        previous_end = self.manifest.last_t_end_ns
        if t_start_ns is None:
            if previous_end is None:
                raise ValueError(f"chunk {chunk_index} is the first of the run: give t_start_ns")
            t_start_ns = previous_end
        t_start_ns, t_end_ns = int(t_start_ns), int(t_end_ns)
        if previous_end is not None and t_start_ns != previous_end:
            raise ValueError(f"chunk {chunk_index} starts at {t_start_ns} ns but the previous chunk ends at {previous_end} ns")
        if t_end_ns < t_start_ns:
            raise ValueError(f"chunk {chunk_index}: t_end_ns={t_end_ns} is before t_start_ns={t_start_ns}")
        for table, buf in self._buffers.items():
            if buf.chunk_rows and (buf.t_min < t_start_ns or buf.t_max > t_end_ns):
                raise ValueError(
                    f"{table}: rows at {buf.t_min}..{buf.t_max} ns lie outside chunk {chunk_index} "
                    f"[{t_start_ns}, {t_end_ns}] ns"
                )
        rows = {}
        for table, buf in self._buffers.items():
            rows[table] = buf.chunk_rows
            if buf.chunk_rows:
                self._stream(table)
                buf.writer.close()
                final = chunk_path(self.run_dir, table, chunk_index)
                commit_tmp(_tmp_path(final), final)
                buf.writer = None
        self.manifest.add_chunk(chunk_index, t_start_ns, t_end_ns, rows, time.perf_counter() - self._wall_start)
        self.next_chunk_index += 1  # at once: an interrupt from here on must not treat the chunk as in progress
        for buf in self._buffers.values():
            buf.drop()
        self._wall_start = time.perf_counter()
        return rows

    # ---------------------------------------------------------------- life cycle
    def finish(self, status: str, message: str | None = None) -> None:
        """End the run with ``status`` ``complete``, ``interrupted`` or ``failed`` (with a message).

        ``complete`` requires every appended row to be in a closed chunk. ``interrupted`` and
        ``failed`` discard the chunk in progress (its ``*.tmp`` files are deleted); ``--resume``
        continues from it.
        """
        if self.finished:
            raise ValueError(f"the run in {self.run_dir} is already finished ({self.manifest.status})")
        if status not in ("complete", "interrupted", "failed"):
            raise ValueError(f"finish status {status!r} must be complete, interrupted or failed")
        pending = {t: b.chunk_rows for t, b in self._buffers.items() if b.chunk_rows}
        if status == "complete" and pending:
            raise ValueError(
                f"rows appended after the last close_chunk ({pending}); close chunk "
                f"{self.next_chunk_index} before finish('complete')"
            )
        self._abort_chunk()
        self.manifest.set_status(status, message)
        self.finished = True

    def _abort_chunk(self) -> None:
        """Drop the chunk in progress: buffers, open writers, its ``*.tmp`` and unlisted files."""
        for table, buf in self._buffers.items():
            if buf.writer is not None:
                buf.writer.close()
            final = chunk_path(self.run_dir, table, self.next_chunk_index)
            _tmp_path(final).unlink(missing_ok=True)
            if self.next_chunk_index >= self.manifest.next_chunk_index:  # never delete a listed chunk's file
                final.unlink(missing_ok=True)  # renamed before a failure, never listed in the manifest
            buf.drop()

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """On an exception: ``interrupted`` (KeyboardInterrupt) or ``failed``; else ``complete``."""
        if self.finished:
            return
        if exc_type is None:
            self.finish("complete")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.finish("interrupted", "interrupted by the user (KeyboardInterrupt)")
        else:
            self.finish("failed", f"{exc_type.__name__}: {exc}")


def _tmp_path(path: Path) -> Path:
    return path.with_name(path.name + TMP_SUFFIX)


# -------------------------------------------------------------------- conversion
def _convert(table: str, col: Column, value: Any, codes: dict[str, int] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate one appended column; returns (data in storage dtype, null mask or None)."""
    where = f"{table}.{col.name}"
    if value is None:
        if not col.nullable:
            raise ValueError(f"{where} is required and cannot be None (null)")
        return np.zeros((), _storage_dtype(col)), np.ones((), bool)
    mask = None
    if isinstance(value, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(value).copy()  # the caller may reuse its array
        if not col.nullable and mask.any():
            raise ValueError(f"{where} is required: it cannot hold nulls (masked entries)")
        value = value.data
        if not mask.any():
            mask = None
    arr = np.asarray(value)
    if col.type == CATEGORY:
        data = _encode(where, col, arr, mask, codes)
    elif col.type == TIME:
        data = _times(where, arr)
    elif pa.types.is_integer(col.type):
        data = _integers(where, col, arr)
    else:
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"{where}: expected real numbers (float64), got dtype {arr.dtype}")
        data = arr.astype(np.float64, copy=True)
    if col.non_negative:
        valid = data if mask is None else data[~np.broadcast_to(mask, data.shape)]
        if np.any(valid < 0):
            raise ValueError(
                f"{where}: negative value {valid[valid < 0].min().item()!r}; it must be >= 0"
                + (" (mark 'none' as null with a numpy masked array, not -1)" if col.nullable else "")
            )
    return data, mask


def _storage_dtype(col: Column) -> np.dtype:
    if col.type == CATEGORY:
        return np.dtype(np.int32)
    if col.type == TIME:
        return np.dtype(np.int64)
    return np.dtype(col.type.to_pandas_dtype())


def _times(where: str, arr: np.ndarray) -> np.ndarray:
    if np.issubdtype(arr.dtype, np.datetime64):
        if np.isnat(arr).any():
            raise ValueError(f"{where}: NaT is not a time")
        return arr.astype("datetime64[ns]").astype(np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=True)
    raise TypeError(f"{where}: expected datetime64 or integer ns since 1970 UTC, got dtype {arr.dtype}")


def _integers(where: str, col: Column, arr: np.ndarray) -> np.ndarray:
    target = np.dtype(col.type.to_pandas_dtype())
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"{where}: expected integers ({target}), got dtype {arr.dtype}"
            + ("; mark nulls with a numpy masked array, not NaN" if col.nullable and arr.dtype.kind == "f" else "")
        )
    info = np.iinfo(target)
    if arr.size and (arr.min() < info.min or arr.max() > info.max):
        raise ValueError(f"{where}: values {arr.min()}..{arr.max()} do not fit in {target}")
    return arr.astype(target, copy=True)


def _encode(where: str, col: Column, arr: np.ndarray, mask: np.ndarray | None, codes: dict[str, int]) -> np.ndarray:
    """Strings → int32 codes into the table's per-chunk dictionary ``codes`` (value → code)."""
    if arr.dtype.kind not in "UO":
        raise TypeError(f"{where}: expected strings, got dtype {arr.dtype}")
    if arr.ndim == 0 and mask is None:  # one label for every row (scheme, policy, trigger): no np.unique
        value = arr.item()
        if not isinstance(value, str):
            raise TypeError(f"{where}: expected strings, got {type(value).__name__}")
        if col.allowed is not None and value not in col.allowed:
            raise ValueError(f"{where}: value {value!r} is not allowed; allowed: {', '.join(col.allowed)}")
        return np.array(codes.setdefault(value, len(codes)), dtype=np.int32)
    valid = (arr if mask is None else arr[~np.broadcast_to(mask, arr.shape)]).ravel()
    if arr.dtype.kind == "O" and not all(isinstance(v, str) for v in valid):
        raise TypeError(f"{where}: expected strings, got {sorted({type(v).__name__ for v in valid})}")
    values, inverse = np.unique(valid, return_inverse=True)
    if col.allowed is not None:
        bad = [str(v) for v in values if v not in col.allowed]
        if bad:
            raise ValueError(f"{where}: value {bad[0]!r} is not allowed; allowed: {', '.join(col.allowed)}")
    lookup = np.array([codes.setdefault(str(v), len(codes)) for v in values], dtype=np.int32)
    out = np.zeros(arr.shape, np.int32)
    if mask is None:
        out[...] = lookup[inverse].reshape(arr.shape)
    else:
        out[~np.broadcast_to(mask, arr.shape)] = lookup[inverse]
    return out


def _to_arrow(col: Column, data: np.ndarray, mask: np.ndarray | None, codes: dict[str, int] | None) -> pa.Array:
    if mask is not None and not mask.any():
        mask = None
    if col.type == CATEGORY:
        return pa.DictionaryArray.from_arrays(pa.array(data, pa.int32(), mask=mask), pa.array(list(codes), pa.string()))
    return pa.array(data, col.type, mask=mask)


# -------------------------------------------------------------------- run directory life cycle
def open_run(run_dir: str | Path, scenario: Scenario, *, resume: bool = False,
             overwrite: bool = False) -> tuple[Recorder, int]:
    """Open a run directory for writing; returns the recorder and the index of the first chunk to run.

    - New or empty directory (or one holding only the temporary file of a first manifest that a
      killed run never finished): a manifest with status ``running`` is written; the first chunk is 0.
    - Existing run, ``resume=True``: the scenario must hash like the stored one; stray ``*.tmp``
      files and chunk files not listed as complete are deleted; status goes back to ``running``;
      the first chunk is the one after the last complete chunk.
    - Existing run, ``overwrite=True``: the old run is deleted first — only if it is a leosim run
      directory (valid ``manifest.json``) holding nothing but what leosim writes there.
    - Anything else existing: refused. Every refusal is an InputError naming the directory and the flag.
    """
    run_dir = Path(run_dir)
    if resume and overwrite:
        raise InputError(f"{run_dir}: give --resume or --overwrite, not both")
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"{run_dir} exists and is not a directory; choose another output directory")
    if resume:
        if not (run_dir / MANIFEST_NAME).is_file():
            raise InputError(f"{run_dir}: nothing to resume (no {MANIFEST_NAME}); run without --resume")
        manifest = Manifest.load(run_dir)
        manifest.check_scenario(scenario)
        _delete_incomplete(run_dir, manifest)
        manifest.mark_resumed()
        first = manifest.next_chunk_index
        return Recorder(run_dir, chunk_index_start=first), first
    # A run killed while writing its first manifest leaves only that manifest's temporary file:
    # nothing was recorded, so the directory counts as empty.
    if _only_stray_manifest(run_dir):
        (run_dir / (MANIFEST_NAME + TMP_SUFFIX)).unlink()
    if run_dir.is_dir() and any(run_dir.iterdir()):
        if not overwrite:
            raise InputError(
                f"{run_dir} already exists and is not empty; use --resume to continue the run in it, "
                f"--overwrite to replace it, or choose another output directory"
            )
        delete_run(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    Manifest.create(run_dir, scenario)
    return Recorder(run_dir), 0


def _only_stray_manifest(run_dir: Path) -> bool:
    """``run_dir`` holds nothing but a manifest's temporary file (no ``manifest.json``)."""
    return run_dir.is_dir() and [p.name for p in run_dir.iterdir()] == [MANIFEST_NAME + TMP_SUFFIX]


def _delete_incomplete(run_dir: Path, manifest: Manifest) -> list[Path]:
    """Delete ``*.tmp`` files and chunk files not listed as complete; returns what was deleted."""
    complete = {c["index"] for c in manifest.data["chunks"]}
    removed = []
    stray_manifest = run_dir / (MANIFEST_NAME + TMP_SUFFIX)
    candidates = [stray_manifest] if stray_manifest.exists() else []
    for table in TABLES:
        if (run_dir / table).is_dir():
            candidates += sorted((run_dir / table).iterdir())
    if (run_dir / CHECKPOINTS).is_dir():
        candidates += sorted((run_dir / CHECKPOINTS).iterdir())
    for path in candidates:
        m = _CHUNK_RE.match(path.name) or _CHECKPOINT_RE.match(path.name)
        if path.name.endswith(TMP_SUFFIX) or (m and int(m.group(1)) not in complete):
            path.unlink()
            removed.append(path)
    return removed


#: What ``leosim report RUN_DIR`` writes into a run directory by default (``--overwrite`` deletes it too).
REPORT_NAME = "report.html"
REPORT_TABLES = "report_tables"


def delete_run(run_dir: Path) -> None:
    """Delete a previous run for ``--overwrite``, refusing anything that leosim did not write."""
    if not (run_dir / MANIFEST_NAME).is_file():
        raise InputError(
            f"{run_dir} is not empty and has no {MANIFEST_NAME}, so it is not a leosim run directory; "
            f"refusing to delete it with --overwrite. Choose another output directory"
        )
    # A damaged manifest does not stop --overwrite: the check below still refuses foreign files.
    ours = {MANIFEST_NAME, MANIFEST_NAME + TMP_SUFFIX, CHECKPOINTS, *TABLES, REPORT_NAME, REPORT_TABLES}
    foreign = [p for p in run_dir.iterdir() if p.name not in ours or p.is_symlink()
               or (p.name in TABLES and not p.is_dir()) or (p.name == REPORT_NAME and not p.is_file())
               or (p.name == REPORT_TABLES and not p.is_dir())]
    files = [run_dir / REPORT_NAME] if (run_dir / REPORT_NAME).is_file() else []
    report_tables = run_dir / REPORT_TABLES
    if report_tables.is_dir() and not report_tables.is_symlink():  # `leosim report RUN_DIR`'s CSV files
        for p in report_tables.iterdir():
            (files if p.is_file() and not p.is_symlink() and p.suffix in (".csv", TMP_SUFFIX) else foreign).append(p)
    for table in (*TABLES, CHECKPOINTS):
        folder = run_dir / table
        pattern = _CHECKPOINT_RE if table == CHECKPOINTS else _CHUNK_RE
        if folder.is_dir() and not folder.is_symlink():
            for p in folder.iterdir():
                name = p.name.removesuffix(TMP_SUFFIX)
                ok = p.is_file() and not p.is_symlink() and pattern.match(name)
                (files if ok else foreign).append(p)
    if foreign:
        listed = ", ".join(str(p.relative_to(run_dir)) for p in foreign[:3])
        raise InputError(
            f"{run_dir} holds files leosim did not write ({listed}); refusing to delete it with "
            f"--overwrite. Move them away or choose another output directory"
        )
    for p in files:
        p.unlink()
    for table in (*TABLES, CHECKPOINTS, REPORT_TABLES):
        if (run_dir / table).is_dir():
            (run_dir / table).rmdir()
    (run_dir / (MANIFEST_NAME + TMP_SUFFIX)).unlink(missing_ok=True)
    (run_dir / MANIFEST_NAME).unlink()  # last: an interrupted delete is still a recognisable run


# -------------------------------------------------------------------- readers
def chunk_files(run_dir: str | Path, table: str) -> list[Path]:
    """Parquet files of ``table`` in the complete chunks of a run (for DuckDB or pyarrow)."""
    schema(table)
    return Manifest.load(run_dir).complete_files(table)


def read_table(run_dir: str | Path, table: str, *, complete_only: bool = True,
               columns: list[str] | None = None) -> pd.DataFrame:
    """Read one table of a run as a pandas DataFrame.

    Parameters
    ----------
    run_dir : path — the run directory
    table : str — ``rates``, ``handovers``, ``clusters``, ``decisions``, ``csi`` or ``events``
    complete_only : bool — True: only chunks the manifest lists as complete (the default, what an
        analysis wants); False: every ``chunk-*.parquet`` on disk, including a chunk whose
        writing was interrupted before the manifest listed it
    columns : list of str, optional — read only these columns

    Returns
    -------
    DataFrame — ``time`` is ``datetime64[ns, UTC]``, categorical strings are ``category``,
    nullable integer ids are pandas ``Int32``/``Int64`` (null is ``<NA>``); with no rows, an
    empty frame with the same columns and dtypes
    """
    sch = schema(table)
    unknown = sorted(set(columns or []) - set(sch.names))
    if unknown:
        raise ValueError(f"{table}: unknown column(s) {', '.join(unknown)}; columns are: {', '.join(sch.names)}")
    if complete_only:
        files = chunk_files(run_dir, table)
    else:
        folder = Path(run_dir) / table
        files = sorted(p for p in folder.iterdir() if _CHUNK_RE.match(p.name)) if folder.is_dir() else []
    if files:
        data = ds.dataset([str(p) for p in files], schema=sch, format="parquet").to_table(columns=columns)
    else:
        data = sch.empty_table().select(columns if columns is not None else sch.names)
    frame = data.to_pandas()
    for name in data.column_names:
        field = sch.field(name)
        if field.nullable and field.type in _PANDAS_NULLABLE_INT:
            frame[name] = data.column(name).to_pandas(types_mapper=_PANDAS_NULLABLE_INT.get).array
    return frame
