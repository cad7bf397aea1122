"""A run directory (or a synthetic log) as one object: scenario, observation window and tables.

Every metric of :mod:`simulator.analysis` takes a :class:`RunData`. It is built from a run
directory with :func:`load_run` (tables read lazily, complete chunks only) or from DataFrames with
:meth:`RunData.from_frames` (synthetic logs, tests). The *observation window* is the simulated time
the tables cover: from the scenario start to the end of the last complete chunk, so a run still in
progress or interrupted is analysed on its completed chunks only (``docs/analysis.md``).

A multi-area run (``<run>/areas.json`` and ``<run>/area=<name>/``, ``docs/outputs.md``) opens as one
:class:`RunData` whose :attr:`RunData.areas` holds each area's own RunData; its tables carry an
``area`` column first. Every metric decorated with :func:`by_area` then computes per area and
returns its rows with that ``area`` column: the grouping is by (area, scheme, RSAP policy). A
synthetic log whose frames have an ``area`` column is split the same way.
"""

from __future__ import annotations

import functools
import json
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..constants import NS_PER_S
from ..cooperation.schemes import SCHEMES
from ..engine.manifest import Manifest
from ..engine.recorder import read_table
from ..engine.schemas import COLUMNS, schema
from ..errors import InputError

__all__ = ["ANALYSED_TABLES", "RunData", "load_run", "empty_table", "lane_keys", "as_str", "ecdf", "read_areas_table",
           "by_area", "AREA"]

#: Tables a :class:`RunData` exposes (``csi`` is opt-in and not used by the metrics).
ANALYSED_TABLES = ("rates", "handovers", "clusters", "decisions", "events")
#: The columns that identify a lane: one scheme run under one RSAP policy.
LANE = ["scheme", "rsap_policy"]
#: The column naming the service area of a multi-area run's rows.
AREA = "area"
_NULLABLE_INT = {pa.int16(): "Int16", pa.int32(): "Int32", pa.int64(): "Int64"}


def empty_table(table: str) -> pd.DataFrame:
    """An empty frame of ``table`` with the columns and dtypes :func:`read_table` returns."""
    sch = schema(table)
    frame = sch.empty_table().to_pandas()
    for field in sch:
        if field.nullable and field.type in _NULLABLE_INT:
            frame[field.name] = frame[field.name].astype(_NULLABLE_INT[field.type])
    return frame


def _conform(table: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    """A user-supplied frame of ``table`` with the schema's columns (missing nullable ones as null)
    and dtypes: ``time`` UTC, labels categorical, nullable ids as pandas nullable integers."""
    if frame is None:
        return empty_table(table)
    frame = frame.copy()
    empty = empty_table(table)
    for col in COLUMNS[table]:
        if col.name not in frame.columns:
            if not col.nullable:
                raise InputError(f"synthetic {table} table: required column {col.name!r} is missing")
            frame[col.name] = pd.Series([None] * len(frame), index=frame.index, dtype=empty[col.name].dtype)
        elif col.name == "time":
            frame["time"] = pd.to_datetime(frame["time"], utc=True).astype("datetime64[ns, UTC]")
        elif pa.types.is_dictionary(col.type):
            frame[col.name] = frame[col.name].astype("category")
        elif col.nullable and col.type in _NULLABLE_INT:
            frame[col.name] = frame[col.name].astype(_NULLABLE_INT[col.type])
        elif pa.types.is_integer(col.type):
            frame[col.name] = frame[col.name].astype(col.type.to_pandas_dtype())
        elif pa.types.is_floating(col.type):
            frame[col.name] = frame[col.name].astype("float64")
    return frame[[c.name for c in COLUMNS[table]]].reset_index(drop=True)


def _table(name: str) -> cached_property:
    """A cached property reading table ``name`` of the run on first use."""

    def read(self: RunData) -> pd.DataFrame:
        return self._read(name)

    read.__doc__ = f"The ``{name}`` table of the complete chunks (``docs/outputs.md``)."
    return cached_property(read)


def _timestamp(ns: int | None) -> pd.Timestamp:
    return pd.NaT if ns is None else pd.Timestamp(int(ns), unit="ns", tz="UTC")


class RunData:
    """One run (or synthetic log) to analyse.

    Attributes
    ----------
    run_dir : Path or None — the run directory; None for a synthetic log
    name : str — run name (scenario ``name``)
    scenario : dict — the resolved scenario from the manifest (empty for a synthetic log)
    status : str — manifest status (running, complete, interrupted, failed) or ``synthetic``
    message : str or None — why the run stopped (interrupted / failed)
    partial : bool — True unless ``status == "complete"``: the tables cover only the complete chunks
    window_start, window_end : pandas.Timestamp, UTC — the observation window: scenario start to the
        end of the last complete chunk (equal when no chunk is complete)
    step_s : float, s — logging step of the rates table
    n_chunks : int — complete chunks
    rates, handovers, clusters, decisions, events : DataFrame — the tables of the complete chunks,
        read on first use (``simulator.engine.recorder.read_table``, ``docs/outputs.md``); for a
        multi-area run, every area's rows with a categorical ``area`` column first
    areas : dict of str to RunData, or None — a multi-area run's areas that have a run directory, in
        the order of ``areas.json`` (None for a single run); their window is their own
    area_info : DataFrame or None — a multi-area run's areas as ``areas.json`` lists them: ``area``,
        ``lat_deg``, ``lon_deg`` (centre of the area's users), ``n_users``, ``status``
    """

    areas: dict[str, RunData] | None = None
    area_info: pd.DataFrame | None = None

    def __init__(self, *, run_dir: Path | None, name: str, scenario: dict[str, Any], status: str,
                 message: str | None, window_start: pd.Timestamp, window_end: pd.Timestamp, step_s: float,
                 n_chunks: int, frames: dict[str, pd.DataFrame] | None = None):
        self.run_dir = run_dir
        self.name = name
        self.scenario = scenario
        self.status = status
        self.message = message
        self.partial = status != "complete"
        self.window_start = window_start
        self.window_end = window_end
        self.step_s = float(step_s)
        self.n_chunks = int(n_chunks)
        for table, frame in (frames or {}).items():
            self.__dict__[table] = frame  # pre-fills the cached properties

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_run_dir(cls, run_dir: str | Path) -> RunData:
        """The run in ``run_dir`` (see :func:`load_run`)."""
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise InputError(f"{run_dir}: no such directory; give the output directory of `leosim run`")
        manifest = Manifest.load(run_dir)
        manifest.verify()  # a damaged chunk file is named, never read
        data = manifest.data
        scenario = data.get("scenario") or {}
        chunks = data.get("chunks", [])
        time_cfg = scenario.get("time", {})
        if chunks:
            start = _timestamp(chunks[0]["t_start_ns"])
            end = _timestamp(chunks[-1]["t_end_ns"])
        else:
            start = pd.Timestamp(time_cfg["start_utc"]).tz_convert("UTC") if time_cfg.get("start_utc") else pd.NaT
            end = start
        if "step_s" not in time_cfg:
            raise InputError(f"{run_dir / 'manifest.json'}: the scenario has no time.step_s; the manifest is damaged")
        return cls(run_dir=run_dir, name=str(data.get("name") or scenario.get("name") or run_dir.name),
                   scenario=scenario, status=str(data["status"]), message=data.get("message"),
                   window_start=start, window_end=end, step_s=float(time_cfg["step_s"]), n_chunks=len(chunks))

    @classmethod
    def from_areas_dir(cls, run_dir: str | Path, *, damaged: dict[str, str] | None = None) -> RunData:
        """The multi-area run in ``run_dir`` (``areas.json``): one RunData per area with a manifest.

        Status, name and scenario come from ``areas.json``; the window spans the areas' windows.
        With a ``damaged`` dict, an area that does not open (a damaged chunk file) is left out and
        its one-line error put there under its name, instead of raising.
        """
        from ..areas.execute import AREAS_MANIFEST

        run_dir = Path(run_dir)
        try:
            doc = json.loads((run_dir / AREAS_MANIFEST).read_text(encoding="utf-8"))
            entries = doc["areas"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{run_dir / AREAS_MANIFEST}: not a readable multi-area manifest ({exc})") from None
        areas = {}
        for e in entries:
            if (run_dir / e["directory"] / "manifest.json").is_file():
                try:
                    areas[e["name"]] = cls.from_run_dir(run_dir / e["directory"])
                except InputError as exc:
                    if damaged is None:
                        raise
                    damaged[e["name"]] = str(exc)
        if not areas:
            raise InputError(f"{run_dir}: no area has started yet (no area=<name>/manifest.json); nothing to analyse")
        info = pd.DataFrame({AREA: [e["name"] for e in entries], "lat_deg": [e.get("lat_deg") for e in entries],
                             "lon_deg": [e.get("lon_deg") for e in entries],
                             "n_users": [e.get("n_users") for e in entries],
                             "status": [e.get("status") for e in entries]}).astype({"lat_deg": float, "lon_deg": float})
        scenario = doc.get("scenario") or {}
        return cls._of_areas(areas, info, run_dir=run_dir, name=str(doc.get("name") or run_dir.name),
                             scenario=scenario, status=str(doc.get("status")), message=None)

    @classmethod
    def _of_areas(cls, areas: dict[str, RunData], info: pd.DataFrame, *, run_dir: Path | None, name: str,
                  scenario: dict[str, Any], status: str, message: str | None) -> RunData:
        starts = [a.window_start for a in areas.values() if not pd.isna(a.window_start)]
        ends = [a.window_end for a in areas.values() if not pd.isna(a.window_end)]
        first = next(iter(areas.values()))
        run = cls(run_dir=run_dir, name=name, scenario=scenario, status=status, message=message,
                  window_start=min(starts) if starts else pd.NaT, window_end=max(ends) if ends else pd.NaT,
                  step_s=first.step_s, n_chunks=sum(a.n_chunks for a in areas.values()))
        run.areas, run.area_info = areas, info.reset_index(drop=True)
        return run

    @classmethod
    def from_frames(cls, *, rates: pd.DataFrame | None = None, handovers: pd.DataFrame | None = None,
                    clusters: pd.DataFrame | None = None, decisions: pd.DataFrame | None = None,
                    events: pd.DataFrame | None = None, window_start: Any, window_end: Any, step_s: float,
                    name: str = "synthetic") -> RunData:
        """A synthetic log from DataFrames with the tables' columns (``docs/outputs.md``).

        Missing tables are empty frames with the schema's columns and dtypes; missing nullable
        columns are null. ``window_start`` / ``window_end`` are anything :class:`pandas.Timestamp`
        takes (naive values are read as UTC); ``step_s`` is the logging step in seconds.
        """
        start = pd.Timestamp(window_start)
        end = pd.Timestamp(window_end)
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
        if end < start:
            raise InputError(f"window_end={end} is before window_start={start}")
        if not step_s > 0:
            raise InputError(f"step_s={step_s} s must be > 0")
        given = {"rates": rates, "handovers": handovers, "clusters": clusters, "decisions": decisions,
                 "events": events}
        if any(f is not None and AREA in f.columns for f in given.values()):
            return cls._split_frames(given, window_start=start, window_end=end, step_s=step_s, name=name)
        frames = {t: _conform(t, f) for t, f in given.items()}
        return cls(run_dir=None, name=name, scenario={}, status="synthetic", message=None, window_start=start,
                   window_end=end, step_s=step_s, n_chunks=0, frames=frames)

    @classmethod
    def _split_frames(cls, given: dict[str, pd.DataFrame | None], *, window_start: pd.Timestamp,
                      window_end: pd.Timestamp, step_s: float, name: str) -> RunData:
        """A synthetic multi-area log: every given frame must have the ``area`` column."""
        missing = [t for t, f in given.items() if f is not None and AREA not in f.columns]
        if missing:
            raise InputError(f"synthetic {missing[0]} table: no {AREA!r} column, while other tables have one "
                             "(give it to every table of a multi-area log)")
        names: list[str] = []
        for f in given.values():
            if f is not None:
                col = f[AREA]
                seen = col.cat.categories if isinstance(col.dtype, pd.CategoricalDtype) else pd.unique(col)
                names += [str(n) for n in seen if str(n) not in names]
        areas = {n: cls.from_frames(**{t: None if f is None else f[f[AREA].astype(str) == n].drop(columns=AREA)
                                       for t, f in given.items()},
                                    window_start=window_start, window_end=window_end, step_s=step_s, name=f"{name}.{n}")
                 for n in names}
        if not areas:
            raise InputError(f"synthetic log: the {AREA!r} column names no area")
        info = pd.DataFrame({AREA: names, "lat_deg": np.nan, "lon_deg": np.nan, "n_users": None, "status": "synthetic"})
        return cls._of_areas(areas, info, run_dir=None, name=name, scenario={}, status="synthetic", message=None)

    # ------------------------------------------------------------------ tables
    def _read(self, table: str) -> pd.DataFrame:
        if self.areas is not None:
            return _with_area({n: getattr(a, table) for n, a in self.areas.items()}, table)
        if self.run_dir is None:
            return empty_table(table)
        return read_table(self.run_dir, table, complete_only=True)

    def release_tables(self) -> None:
        """Forget the tables read from disk so far (read again on next use), to keep one area's
        tables in memory at a time; tables given in memory (``frames``) are kept."""
        if self.run_dir is None:
            return
        for name in ANALYSED_TABLES:
            self.__dict__.pop(name, None)

    rates = _table("rates")
    handovers = _table("handovers")
    clusters = _table("clusters")
    decisions = _table("decisions")
    events = _table("events")

    # ------------------------------------------------------------------ derived facts
    @property
    def duration_s(self) -> float:
        """Length of the observation window, s (0 when no chunk is complete)."""
        if pd.isna(self.window_start) or pd.isna(self.window_end):
            return 0.0
        return (self.window_end - self.window_start).value / NS_PER_S

    @cached_property
    def lanes(self) -> pd.DataFrame:
        """The (scheme, rsap_policy) pairs present in ``rates``, in scenario order (str columns)."""
        pairs = lane_keys(self.rates)
        order = {name: i for i, name in enumerate(self.scenario.get("schemes", {}).get("names", []) or SCHEMES)}
        pairs["_o"] = pairs["scheme"].map(order).fillna(len(order))
        return pairs.sort_values(["_o", "scheme", "rsap_policy"]).drop(columns="_o").reset_index(drop=True)

    def __repr__(self) -> str:
        where = self.run_dir if self.run_dir is not None else "synthetic"
        return (f"RunData({self.name!r}, {where}, status={self.status}, window={self.window_start} .. "
                f"{self.window_end}, chunks={self.n_chunks})")


def lane_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """Distinct (scheme, rsap_policy) pairs of ``frame`` as str columns, sorted."""
    if not len(frame):
        return pd.DataFrame({"scheme": pd.Series(dtype=object), "rsap_policy": pd.Series(dtype=object)})
    pairs = frame[LANE].astype(str).drop_duplicates()
    return pairs.sort_values(LANE).reset_index(drop=True)


def load_run(run_dir: str | Path) -> RunData:
    """Open the run directory ``run_dir`` for analysis; tables are read on first use.

    Only the chunks the manifest lists as complete are read. The directory of a multi-area run
    (``areas.json``) opens with :meth:`RunData.from_areas_dir`; a directory with neither a leosim
    ``manifest.json`` nor an ``areas.json`` raises :class:`~simulator.errors.InputError`.
    """
    from ..areas.execute import AREAS_MANIFEST

    run_dir = Path(run_dir)
    if (run_dir / AREAS_MANIFEST).is_file() and not (run_dir / "manifest.json").is_file():
        return RunData.from_areas_dir(run_dir)
    return RunData.from_run_dir(run_dir)


def _with_area(frames: dict[str, pd.DataFrame], table: str, categories: list[str] | None = None) -> pd.DataFrame:
    """The frames of each area stacked, with a categorical ``area`` column first (categories: the
    areas in order); label columns that are categorical in every frame stay categorical."""
    names = list(frames) if categories is None else categories
    parts = [f.assign(**{AREA: n}) for n, f in frames.items()]
    out = pd.concat(parts, ignore_index=True) if parts else empty_table(table).assign(**{AREA: ""})
    for col in out.columns:  # the union of the areas' label categories stays a category
        if col != AREA and parts and all(isinstance(f[col].dtype, pd.CategoricalDtype) for f in parts):
            out[col] = out[col].astype("category")
    out[AREA] = pd.Categorical(out[AREA], categories=names)
    return out[[AREA, *[c for c in out.columns if c != AREA]]]


def by_area(metric):
    """Decorator: ``metric(run, ...)`` computed per area of a multi-area ``run``, rows stacked with
    an ``area`` column first (areas in order); on a single run it is ``metric`` unchanged.

    Frames from every area are stacked as they come (each area keeps its own lane order, its own
    observation window and its own users).
    """

    @functools.wraps(metric)
    def per_area(run: RunData, *args, **kwargs):
        if getattr(run, "areas", None) is None:
            return metric(run, *args, **kwargs)
        parts = [metric(area, *args, **kwargs).assign(**{AREA: name}) for name, area in run.areas.items()]
        out = pd.concat(parts, ignore_index=True)
        out[AREA] = out[AREA].astype(object)
        return out[[AREA, *[c for c in out.columns if c != AREA]]]

    return per_area


def as_str(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with the given label columns as plain ``str`` (object) instead of categories."""
    out = frame.copy()
    for c in columns:
        out[c] = out[c].astype(str) if len(out) else pd.Series(dtype=object)
    return out


def ecdf(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empirical CDF of ``values``: the distinct sorted values and the fraction ≤ each (NaN left out).

    >>> ecdf(np.array([2.0, 1.0, 2.0, 4.0]))
    (array([1., 2., 4.]), array([0.25, 0.75, 1.  ]))
    """
    v = np.asarray(values, dtype=float)
    v = np.sort(v[~np.isnan(v)])
    if v.size == 0:
        return v, v.copy()
    last = np.r_[v[1:] != v[:-1], True]
    return v[last], (np.flatnonzero(last) + 1) / v.size


def read_areas_table(run_dir: str | Path, table: str) -> pd.DataFrame:
    """``table`` of every area of a multi-area run (``<run>/area=<name>/``) as one frame.

    The complete chunks of each area, in the order of ``areas.json``, with a categorical ``area``
    column first (categories: every area, in that order). ``docs/outputs.md``.
    """
    from ..areas.execute import AREAS_MANIFEST

    run_dir = Path(run_dir)
    path = run_dir / AREAS_MANIFEST
    if not path.is_file():
        raise InputError(f"{run_dir}: no {AREAS_MANIFEST}; give the run directory of a scenario with [areas]")
    names = [e["name"] for e in json.loads(path.read_text())["areas"]]
    frames = {}
    for name in names:
        area_dir = run_dir / f"area={name}"
        frames[name] = read_table(area_dir, table, complete_only=True) if area_dir.is_dir() else empty_table(table)
    return _with_area(frames, table, names)
