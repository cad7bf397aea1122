"""Sweep files, their tasks and the dataset they write (``leosim sweep``, docs/commands/sweep.md).

A sweep file (TOML) names an experiment of :mod:`~simulator.experiments.registry`, the parameters
common to every grid point (``[base]``), a grid of overrides whose cartesian product gives the
points (``[grid]``, keys in file order, the last varying fastest) and the seeds::

    name = "fig3"                 # dataset name (default: the file's stem)
    description = "..."           # optional free text
    experiment = "cf-mntn-drop"
    seeds = 20                    # n -> seeds 0..n-1, or an explicit list [3, 7, 11]
    [base]
    n_sat = 20
    [grid]
    snr_db = [-10, 0, 10, 20, 30]

One **task** per (grid point, seed). Its id ``p0003-s000007-1a2b3c4d5e`` joins the point index, the
seed and the first 10 hex digits of the SHA-256 of the experiment name and the point's full
parameters (base and grid), so editing the base or the grid never reuses a stale result.

Output directory layout (one Hive-partitioned Parquet dataset)::

    OUT/sweep.json                                    the manifest (spec, tasks, status, failures, versions)
    OUT/data/point=0003/seed-000007-1a2b3c4d5e.parquet   one file per task
    OUT/stale/<UTC time>/...                          files of an earlier, edited spec (moved aside)

Each partition file holds the experiment's rows with the grid parameters and ``seed`` prepended as
columns (``point`` comes from the directory name); it is written by the worker that computed it,
atomically (``<file>.tmp``, fsync, rename), so a file that exists is complete and a rerun skips its
task. :func:`read_sweep` returns every row of the current spec with ``point``, the grid parameters
and ``seed`` as typed columns.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import os
import re
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from .registry import EXPERIMENTS, get_experiment

__all__ = ["SweepSpec", "Task", "load_sweep", "parse_sweep", "read_sweep", "execute_task", "params_hash",
           "manifest_document", "write_manifest", "read_manifest", "prepare_output", "MANIFEST_NAME", "DATA_DIR",
           "STALE_DIR"]

FORMAT = "leosim-sweep"
FORMAT_VERSION = 1
MANIFEST_NAME = "sweep.json"
DATA_DIR = "data"
STALE_DIR = "stale"
TOP_LEVEL_KEYS = ("name", "description", "experiment", "seeds", "base", "grid")
HASH_DIGITS = 10
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SCALARS = (bool, int, float, str)


@dataclass(frozen=True)
class Task:
    """One (grid point, seed) of a sweep.

    Attributes
    ----------
    point : int — index of the grid point (cartesian product order)
    seed : int — seed handed to the experiment
    grid : dict — the point's grid parameters (written as columns)
    params : dict — base parameters updated with ``grid`` (what the experiment receives)
    params_hash : str — first hex digits of SHA-256 over the experiment name and ``params``
    """

    point: int
    seed: int
    grid: dict[str, Any]
    params: dict[str, Any]
    params_hash: str

    @property
    def task_id(self) -> str:
        return f"p{self.point:04d}-s{self.seed:06d}-{self.params_hash}"

    @property
    def relpath(self) -> str:
        """Path of the task's partition file relative to the output directory."""
        return f"{DATA_DIR}/point={self.point:04d}/seed-{self.seed:06d}-{self.params_hash}.parquet"


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file (build with :func:`load_sweep` or :func:`parse_sweep`).

    Attributes
    ----------
    name : str — dataset name (default output directory ``sweeps/<name>``)
    experiment : str — registry name of the experiment
    seeds : tuple of int — the seeds run at every grid point
    base : dict — parameters common to every point
    grid : dict of str to tuple — the values of each grid key, in file order
    description : str
    source : str or None — the file the spec was read from
    """

    name: str
    experiment: str
    seeds: tuple[int, ...]
    base: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, tuple] = field(default_factory=dict)
    description: str = ""
    source: str | None = None

    def points(self) -> list[dict[str, Any]]:
        """Grid parameters of every point, in point-index order (one empty point without a grid)."""
        keys = list(self.grid)
        return [dict(zip(keys, values)) for values in itertools.product(*(self.grid[k] for k in keys))]

    def tasks(self) -> list[Task]:
        """Every (point, seed) task, point-major."""
        out = []
        for index, grid in enumerate(self.points()):
            params = {**self.base, **grid}
            digest = params_hash(self.experiment, params)
            out.extend(Task(index, seed, grid, params, digest) for seed in self.seeds)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "experiment": self.experiment,
                "seeds": list(self.seeds), "base": self.base, "grid": {k: list(v) for k, v in self.grid.items()},
                "source": self.source}


def params_hash(experiment: str, params: Mapping[str, Any]) -> str:
    """Hex digest identifying an experiment's full parameter set (key order does not matter).

    >>> params_hash("x", {"a": 1, "b": 2.0}) == params_hash("x", {"b": 2.0, "a": 1})
    True
    """
    text = json.dumps({"experiment": experiment, "params": params}, sort_keys=True, separators=(",", ":"),
                      allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_DIGITS]


# -- parsing -----------------------------------------------------------------------------------------
def load_sweep(path: str | os.PathLike, drops: int | None = None) -> SweepSpec:
    """Read and validate the sweep file ``path``; ``drops`` (``--drops``) replaces the seeds by 0..drops-1."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text file") from None
    return parse_sweep(text, source=str(path), drops=drops)


def parse_sweep(text: str, *, source: str = "<string>", drops: int | None = None) -> SweepSpec:
    """Validate sweep TOML ``text`` (module docstring); errors name ``source:line``, the key and the rule."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: invalid TOML: {exc}") from None

    def fail(table: str | None, key: str | None, message: str) -> InputError:
        line = _line_of(text, table, key)
        where = f"{source}:{line}" if line else source
        field_name = ".".join(k for k in (table, key) if k)
        return InputError(f"{where}: {field_name + ': ' if field_name else ''}{message}")

    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise fail(None, key, f"unknown key; a sweep file has {', '.join(TOP_LEVEL_KEYS)}")
    default_name = Path(source).stem if source != "<string>" else "sweep"
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail(None, "name", f"{name!r} must be letters, digits, '.', '_' or '-' (it names the output folder)")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise fail(None, "description", "must be a string")
    if "experiment" not in raw:
        raise fail(None, None, "experiment is missing: name a registered experiment, e.g. experiment = \"cf-mntn-drop\"")
    exp_name = raw["experiment"]
    if not isinstance(exp_name, str):
        raise fail(None, "experiment", f"{exp_name!r} must be a string")
    try:
        fn = get_experiment(exp_name)
    except InputError as exc:
        raise fail(None, "experiment", str(exc)) from None

    seeds = _seeds(raw, drops, fail)
    base = raw.get("base", {})
    if not isinstance(base, dict):
        raise fail(None, "base", "must be a table of parameters ([base])")
    for key, value in base.items():
        if not _json_value(value):
            raise fail("base", key, f"{value!r}: dates and times are not supported; give numbers, strings, "
                                    "booleans, lists or tables")
    grid = raw.get("grid", {})
    if not isinstance(grid, dict):
        raise fail(None, "grid", "must be a table of lists ([grid])")
    checked_grid = {}
    for key, values in grid.items():
        if key in base:
            raise fail("grid", key, "is also in [base]; a parameter is either common or swept, not both")
        checked_grid[key] = _grid_values(values, lambda msg, key=key: fail("grid", key, msg))

    allowed = _allowed_params(fn)
    if allowed is not None:
        for table, keys in (("base", base), ("grid", grid)):
            for key in keys:
                if key not in allowed:
                    raise fail(table, key, f"unknown parameter of {exp_name}; allowed: {', '.join(allowed)}")
    return SweepSpec(name=name, experiment=exp_name, seeds=seeds, base=dict(base), grid=checked_grid,
                     description=description, source=source if source != "<string>" else None)


def _seeds(raw: dict, drops: int | None, fail) -> tuple[int, ...]:
    if drops is not None:
        if isinstance(drops, bool) or not isinstance(drops, int) or drops < 1:
            raise InputError(f"--drops={drops!r} must be an integer >= 1")
        return tuple(range(drops))
    if "seeds" not in raw:
        raise fail(None, None, "seeds is missing: give a count (seeds = 20 runs seeds 0..19) or a list of seeds")
    seeds = raw["seeds"]
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise fail(None, "seeds", f"{seeds} must be >= 1 (the number of seeds 0..n-1)")
        return tuple(range(seeds))
    if isinstance(seeds, list) and seeds:
        bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int) or s < 0]
        if bad:
            raise fail(None, "seeds", f"{bad[0]!r} is not a non-negative integer")
        if len(set(seeds)) != len(seeds):
            raise fail(None, "seeds", "lists a seed twice")
        return tuple(seeds)
    raise fail(None, "seeds", f"{seeds!r} must be a positive integer n (seeds 0..n-1) or a non-empty list of integers")


def _grid_values(values: Any, fail) -> tuple:
    if not isinstance(values, list):
        raise fail(f"{values!r} must be a list of values, e.g. [{values!r}] (or move it to [base])")
    if not values:
        raise fail("is an empty list; give at least one value")
    if not all(isinstance(v, _SCALARS) for v in values):
        raise fail(f"{values!r}: grid values must be numbers, strings or booleans (put lists in [base])")
    kinds = {bool if isinstance(v, bool) else (float if isinstance(v, (int, float)) else str) for v in values}
    if len(kinds) > 1:
        raise fail(f"{values!r} mixes types; one column needs one type")
    if kinds == {float} and any(isinstance(v, float) for v in values):
        values = [float(v) for v in values]  # [0, 2.5] -> one float64 column
    if len(set(values)) != len(values):
        raise fail(f"{values!r} lists a value twice")
    return tuple(values)


def _json_value(value: Any) -> bool:
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, list):
        return all(_json_value(v) for v in value)
    if isinstance(value, dict):
        return all(_json_value(v) for v in value.values())
    return False


def _allowed_params(fn) -> tuple[str, ...] | None:
    """Parameter names an experiment declares, or None when it declares none.

    An experiment declares them with a ``defaults`` mapping attribute, or with a module-level
    ``DEFAULTS`` mapping when its module registers no other experiment. Undeclared experiments
    still reject unknown keys themselves (InputError at run time, reported as a failed task).
    """
    declared = getattr(fn, "defaults", None)
    if isinstance(declared, Mapping):
        return tuple(declared)
    module = inspect.getmodule(fn)
    siblings = [f for f in EXPERIMENTS.values() if getattr(f, "__module__", None) == fn.__module__]
    declared = getattr(module, "DEFAULTS", None)
    if len(siblings) == 1 and isinstance(declared, Mapping):
        return tuple(declared)
    return None


def _line_of(text: str, table: str | None, key: str | None) -> int | None:
    """1-based line of ``key`` in ``[table]`` (None: top level), of the table header, or None."""
    header = re.compile(r"^\s*\[\s*([^\]\s]+)\s*\]")
    current: str | None = None
    header_line = None
    for number, line in enumerate(text.splitlines(), start=1):
        m = header.match(line)
        if m:
            current = m.group(1)
            if current == table:
                header_line = number
            continue
        if key is None:
            continue
        if current == table and re.match(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
            return number
        if current is None and table is not None and re.match(rf"^\s*{re.escape(table)}\s*\.\s*{re.escape(key)}\s*=", line):
            return number
        if current is None and table is not None and re.match(rf"^\s*{re.escape(table)}\s*=.*\b{re.escape(key)}\s*=", line):
            return number
    return header_line


# -- one task: run, add columns, write ---------------------------------------------------------------
def execute_task(experiment: str, task: Task, out_dir: str) -> dict[str, Any]:
    """Run one task where it is called (a Dask worker or the serial loop) and write its partition file.

    The experiment is looked up in the registry here, so a worker process imports it itself. Returns
    a small summary (id, rows, wall and CPU seconds, host and process id, BLAS thread setting); the rows stay
    in the file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..fileio import write_atomic

    start, cpu_start = time.perf_counter(), time.process_time()
    rows = get_experiment(experiment)(dict(task.params), task.seed)
    if not isinstance(rows, pd.DataFrame):
        raise InputError(f"experiment {experiment} returned {type(rows).__name__}, not a pandas DataFrame")
    front = {**task.grid, "seed": task.seed}
    rows = rows.drop(columns=[c for c in front if c in rows.columns])
    front_columns = pd.DataFrame({k: pd.Series(v, index=rows.index) for k, v in front.items()}, index=rows.index)
    rows = pd.concat([front_columns, rows], axis=1)
    rows["seed"] = rows["seed"].astype("int64")
    table = pa.Table.from_pandas(rows, preserve_index=False)
    meta = {b"leosim.task_id": task.task_id.encode(), b"leosim.experiment": experiment.encode(),
            b"leosim.params": json.dumps(task.params, sort_keys=True).encode()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    path = Path(out_dir) / task.relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: pq.write_table(table, tmp))
    return {"id": task.task_id, "rows": len(rows), "wall_s": time.perf_counter() - start,
            "cpu_s": time.process_time() - cpu_start, "host": os.uname().nodename, "pid": os.getpid(),
            "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS")}


# -- the output directory ----------------------------------------------------------------------------
def prepare_output(out_dir: Path, tasks: list[Task]) -> tuple[list[Task], list[Task], list[str]]:
    """Create ``out_dir``; return (tasks to run, tasks already done, partition files moved aside).

    Leftover ``*.tmp`` files of an interrupted write are removed; partition files that belong to no
    task of the current spec (the grid or base was edited) move to ``stale/<UTC time>/``.
    """
    data = out_dir / DATA_DIR
    data.mkdir(parents=True, exist_ok=True)
    for tmp in data.rglob("*.tmp"):
        tmp.unlink()
    wanted = {t.relpath for t in tasks}
    moved = []
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for file in sorted(data.rglob("*.parquet")):
        rel = file.relative_to(out_dir).as_posix()
        if rel not in wanted:
            target = out_dir / STALE_DIR / stamp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(file, target)
            moved.append(rel)
    done = [t for t in tasks if (out_dir / t.relpath).is_file()]
    done_ids = {t.task_id for t in done}
    return [t for t in tasks if t.task_id not in done_ids], done, moved


def write_manifest(out_dir: Path, document: dict[str, Any]) -> None:
    """Write ``out_dir/sweep.json`` atomically (fields in docs/commands/sweep.md)."""
    from ..fileio import write_atomic

    text = json.dumps(document, indent=1, allow_nan=False, default=str)
    write_atomic(Path(out_dir) / MANIFEST_NAME, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def read_manifest(out_dir: str | os.PathLike) -> dict[str, Any]:
    """The parsed ``sweep.json`` of a sweep output directory."""
    path = Path(out_dir) / MANIFEST_NAME
    if not path.is_file():
        raise InputError(f"{out_dir}: no {MANIFEST_NAME}; not a sweep output directory (run `leosim sweep` first)")
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("format") != FORMAT:
        raise InputError(f"{path}: format {document.get('format')!r} is not {FORMAT!r}")
    return document


def manifest_document(spec: SweepSpec, tasks: list[Task], status: str, **extra: Any) -> dict[str, Any]:
    """The JSON document of ``sweep.json`` (status and per-task entries filled by the runner)."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "name": spec.name, "experiment": spec.experiment,
            "status": status, "spec": spec.to_json(),
            "layout": f"{DATA_DIR}/point=NNNN/seed-SSSSSS-HASH.parquet",
            "tasks": [{"id": t.task_id, "point": t.point, "seed": t.seed, "grid": t.grid, "params_hash": t.params_hash,
                       "path": t.relpath} for t in tasks], **extra}


def read_sweep(out_dir: str | os.PathLike, *, allow_missing: bool = False) -> pd.DataFrame:
    """Every row of a sweep output directory, with ``point``, the grid parameters and ``seed`` as columns.

    Reads exactly the partition files of the tasks listed in ``sweep.json`` (files of an earlier spec
    are never mixed in). Column dtypes are those the experiment wrote (``point`` and ``seed`` int64;
    grid columns int64, float64, bool or str as in the sweep file).

    Parameters
    ----------
    out_dir : path — the sweep's output directory
    allow_missing : bool — return the rows of the finished tasks when some are missing (failed or not
        yet run) instead of raising InputError
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out_dir)
    document = read_manifest(out)
    tables, missing = [], []
    for entry in document["tasks"]:
        path = out / entry["path"]
        if not path.is_file():
            missing.append(entry["id"])
            continue
        table = pq.read_table(path)
        tables.append(table.add_column(0, "point", pa.array([entry["point"]] * table.num_rows, pa.int64())))
    if missing and not allow_missing:
        raise InputError(f"{out}: {len(missing)} of {len(document['tasks'])} tasks have no results "
                         f"(first: {missing[0]}); rerun `leosim sweep` to complete them, or pass allow_missing=True")
    if not tables:
        return pd.DataFrame({"point": pd.Series(dtype="int64"), "seed": pd.Series(dtype="int64")})
    return pa.concat_tables(tables, promote_options="default").to_pandas()
