"""One user's serving satellites over time, and the key facts of a run in words.

The ``clusters`` table holds, at every instant a lane's decision takes effect, every serving link
(user, satellite, power weight) of that decision: a full snapshot, written whenever the decision
changes. A snapshot is in force until the next one of the same scheme and RSAP policy (or the end
of the window); a user without rows in a snapshot is unserved. ``docs/analysis.md``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .coverage import rsap_spells
from .loading import ANALYSED_TABLES, RunData, by_area

__all__ = ["serving_timeline", "scenario_summary"]


@by_area
def serving_timeline(run: RunData, *, user_id: int, scheme: str, rsap_policy: str) -> pd.DataFrame:
    """Intervals during which each satellite serves ``user_id`` under one scheme and policy.

    Serving sets come from the ``clusters`` snapshots; each interval is cut where the satellite
    stops or starts being the user's RSAP (:func:`~simulator.analysis.coverage.rsap_timeline`), so
    ``is_rsap`` is constant over it. Touching intervals of one satellite with the same ``is_rsap``
    are merged.

    Returns
    -------
    DataFrame — ``sat_id`` (int64), ``start``, ``end`` (UTC), ``is_rsap`` (bool), sorted by start
    then satellite
    """
    cols = {"sat_id": pd.Series(dtype=np.int64), "start": pd.Series(dtype="datetime64[ns, UTC]"),
            "end": pd.Series(dtype="datetime64[ns, UTC]"), "is_rsap": pd.Series(dtype=bool)}
    c = run.clusters
    c = _last_snapshots(c[(c["scheme"] == scheme) & (c["rsap_policy"] == rsap_policy) & (c["time"] <= run.window_end)])
    if not len(c):
        return pd.DataFrame(cols)
    snaps = np.unique(c["time"].to_numpy(dtype="datetime64[ns]").astype(np.int64))
    mine = c[c["user_id"] == user_id]
    h = run.handovers
    h = h[(h["scheme"] == scheme) & (h["rsap_policy"] == rsap_policy) & (h["user_id"] == user_id)]
    spells = rsap_spells(h, run.window_start, run.window_end)
    sp_start = spells["start"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    sp_end = spells["end"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    end_ns = run.window_end.value
    cuts = np.unique(np.r_[snaps, sp_start, sp_end, end_ns])
    cuts = cuts[(cuts >= snaps[0]) & (cuts <= end_ns)]
    seg = pd.DataFrame({"start": cuts[:-1], "end": cuts[1:]})
    seg["snap"] = snaps[np.searchsorted(snaps, seg["start"].to_numpy(), side="right") - 1]
    links = pd.DataFrame({"snap": mine["time"].to_numpy(dtype="datetime64[ns]").astype(np.int64),
                          "sat_id": mine["sat_id"].to_numpy(dtype=np.int64)})
    rows = seg.merge(links, on="snap")
    if not len(rows):
        return pd.DataFrame(cols)
    k = np.searchsorted(sp_start, rows["start"].to_numpy(), side="right") - 1
    inside = (k >= 0) & (rows["start"].to_numpy() < sp_end[np.maximum(k, 0)])
    rsap = spells["sat_id"].to_numpy(dtype="float", na_value=np.nan)[np.maximum(k, 0)] if len(spells) else \
        np.full(len(rows), np.nan)
    rows["is_rsap"] = inside & (rsap == rows["sat_id"].to_numpy(dtype=float))
    rows = rows.sort_values(["sat_id", "start"], kind="stable")
    prev_end = rows.groupby("sat_id")["end"].shift(1)
    prev_rsap = rows.groupby("sat_id")["is_rsap"].shift(1)
    new = (prev_end != rows["start"]) | (prev_rsap != rows["is_rsap"])
    rows["run"] = new.cumsum()
    out = rows.groupby("run").agg(sat_id=("sat_id", "first"), start=("start", "first"), end=("end", "last"),
                                  is_rsap=("is_rsap", "first"))
    out["start"] = pd.to_datetime(out["start"], unit="ns", utc=True)
    out["end"] = pd.to_datetime(out["end"], unit="ns", utc=True)
    out["is_rsap"] = out["is_rsap"].astype(bool)
    return out.sort_values(["start", "sat_id"]).reset_index(drop=True)[list(cols)]


def _last_snapshots(c: pd.DataFrame) -> pd.DataFrame:
    """Rows of the last snapshot at each instant of one lane's ``clusters`` rows (in file order).

    The engine writes one snapshot per lane and instant; a table holding several at one instant (a
    hand-made or merged table) is still read correctly. A snapshot lists each (user, satellite) link
    once, so a link seen twice at one instant marks an instant with several snapshots. There, the
    engine writes each snapshot's links in increasing (satellite, user) order — satellites in
    catalogue order, NORAD order for presets and Walker constellations — so a row whose
    (sat_id, user_id) does not increase starts the next snapshot, and the last one is in force.
    """
    if not len(c):
        return c
    c = c.reset_index(drop=True)
    time = c["time"]
    repeated = c.groupby(["time", "user_id", "sat_id"], sort=False).cumcount() > 0
    multi = repeated.groupby(time).transform("any")
    sat, user = c["sat_id"].to_numpy(np.int64), c["user_id"].to_numpy(np.int64)
    same_time = np.r_[False, time.to_numpy()[1:] == time.to_numpy()[:-1]]
    not_up = np.r_[False, (sat[1:] < sat[:-1]) | ((sat[1:] == sat[:-1]) & (user[1:] <= user[:-1]))]
    starts = pd.Series(same_time & not_up & multi.to_numpy(), index=c.index)
    snap = starts.groupby(time).cumsum()
    return c[snap == snap.groupby(time).transform("max")]


def _constellation(scenario: dict) -> str:
    c = scenario.get("constellation") or {}
    if c.get("preset"):
        return f"preset {c['preset']}"
    if c.get("walker"):
        w = c["walker"]
        parts = ", ".join(f"{k}={v}" for k, v in w.items() if v is not None)
        return f"Walker ({parts})"
    if c.get("tle"):
        files = c["tle"] if isinstance(c["tle"], list) else [c["tle"]]
        return "TLE " + ", ".join(str(f) for f in files)
    return "unknown"


def _users(run: RunData) -> str:
    u = run.scenario.get("users") or {}
    if u.get("disc"):
        d = u["disc"]
        return (f"{d['count']} in a {d['radius_km']:g} km disc around ({d['center_lat_deg']:g}°, "
                f"{d['center_lon_deg']:g}°)")
    if u.get("points"):
        return f"{len(u['points'])} points"
    if u.get("csv"):
        return f"from {u['csv']}"
    return f"{run.rates['user_id'].nunique()} (in the rates table)"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:g} s"
    if seconds < 7200:
        return f"{seconds:g} s ({seconds / 60:.1f} min)"
    return f"{seconds:g} s ({seconds / 3600:.2f} h)"


def scenario_summary(run: RunData) -> dict[str, str]:
    """Key facts of a run as human-readable strings (for reports).

    Keys: ``name``, ``status`` (with a note when partial), ``window``, ``duration``, ``step``,
    ``constellation``, ``users``, ``schemes``, ``rsap_policies``, ``seed``, ``chunks``, ``rows``.
    """
    sc = run.scenario
    planned = (sc.get("time") or {}).get("duration_s")
    status = run.status
    if run.partial and run.status != "synthetic":
        status += " — partial: analysed on its complete chunks only"
        if planned:
            status += f" ({_duration(run.duration_s)} of {_duration(float(planned))})"
        if run.message:
            status += f"; {run.message}"
    schemes = list(dict.fromkeys(run.lanes["scheme"])) or (sc.get("schemes") or {}).get("names", [])
    policies = list(dict.fromkeys(run.lanes["rsap_policy"])) or (sc.get("schemes") or {}).get("rsap_policies", [])
    chunk_s = (sc.get("output") or {}).get("chunk_s")
    chunks = f"{run.n_chunks} complete"
    if planned and chunk_s:
        chunks += f" of {math.ceil(float(planned) / float(chunk_s) - 1e-9)} ({chunk_s:g} s each)"
    fmt = "%Y-%m-%d %H:%M:%S UTC"
    window = "none (no complete chunk)" if pd.isna(run.window_start) else (
        f"{run.window_start.strftime(fmt)} – {run.window_end.strftime(fmt)}")
    rows = ", ".join(f"{t} {len(getattr(run, t)):,}" for t in ANALYSED_TABLES)
    return {
        "name": run.name,
        "status": status,
        "window": window,
        "duration": _duration(run.duration_s),
        "step": f"{run.step_s:g} s",
        "constellation": _constellation(sc) if sc else "unknown (synthetic log)",
        "users": _users(run),
        "schemes": ", ".join(schemes),
        "rsap_policies": ", ".join(policies),
        "seed": str(sc.get("seed", "unknown")),
        "chunks": chunks,
        "rows": rows,
    }
