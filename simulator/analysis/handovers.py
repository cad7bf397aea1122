"""Handover rates per user-hour and ping-pong handovers, from the ``handovers`` table.

Counting rule (the same as ``simulator.engine.run.summarise_run``): records of kind ``rsap`` and
``inter_satellite`` are handovers only between two satellites (``from_sat`` and ``to_sat`` both
set); the first access (``from_sat`` null) and a loss of service (``to_sat`` null) are recorded but
not counted. ``inter_beam``, ``cluster_join`` and ``cluster_leave`` records all count.

Rates are per user-hour over the observation window (every user logged in ``rates`` is observed
for the whole window), with a Student-t confidence interval over users: users are the independent
units, each contributes its own rate, zeros included. Details: ``docs/analysis.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..cooperation.schemes import SCHEMES
from ..engine.schemas import HANDOVER_KINDS
from .loading import LANE, RunData, as_str, by_area

__all__ = ["applicable_kinds", "counted_handovers", "handover_rate", "ping_pongs", "ping_pong_rate",
           "per_user_rate_ci"]

#: Kinds counted only between two satellites.
_BETWEEN_KINDS = ("rsap", "inter_satellite")


def applicable_kinds(scheme: str) -> tuple[str, ...]:
    """Handover kinds a scheme records: ``rsap`` always; ``inter_satellite`` for single-serving
    schemes (their serving satellite is the RSAP), ``cluster_join``/``cluster_leave`` for the others;
    ``inter_beam`` for schemes on spot beams (``Scheme.beams``).
    """
    spec = SCHEMES.get(scheme)
    single = spec is not None and spec.single_serving
    kinds = {"rsap"}
    kinds |= {"inter_satellite"} if single else {"cluster_join", "cluster_leave"}
    if spec is not None and spec.beams:
        kinds.add("inter_beam")
    return tuple(k for k in HANDOVER_KINDS if k in kinds)


def counted_handovers(run: RunData) -> pd.DataFrame:
    """The ``handovers`` rows that count as handovers (rsap / inter_satellite only between two
    satellites), with str ``scheme``, ``rsap_policy`` and ``kind``."""
    h = run.handovers
    between = h["from_sat"].notna() & h["to_sat"].notna()
    h = h[~h["kind"].isin(_BETWEEN_KINDS) | between]
    return as_str(h, [*LANE, "kind"])


def _lane_users(run: RunData, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """(scheme, rsap_policy, user_id) of every user observed in each lane of ``rates`` (plus any
    user of ``extra`` in those lanes)."""
    users = as_str(run.rates[[*LANE, "user_id"]].drop_duplicates(), LANE)
    if extra is not None and len(extra):
        more = extra[[*LANE, "user_id"]].drop_duplicates().merge(run.lanes, on=LANE)
        users = pd.concat([users, more], ignore_index=True).drop_duplicates()
    users["user_id"] = users["user_id"].astype(np.int64)
    return users.reset_index(drop=True)


def per_user_rate_ci(counts: pd.DataFrame, keys: list[str], hours: float, confidence: float) -> pd.DataFrame:
    """Rate per user-hour and its Student-t interval over users.

    Each user i of a group is observed for ``hours`` and has ``count`` events: its rate is
    r_i = count_i / hours. The group rate is the mean of r_i (= Σ count / (n · hours)); the interval
    is mean ± t_{n−1, (1+confidence)/2} · s / √n with s the sample standard deviation of r_i,
    clipped below at 0 (a rate is not negative). NaN when n < 2 or hours = 0 (could not compute).

    Parameters
    ----------
    counts : DataFrame — one row per user of each group, columns ``keys`` + ``count`` (zeros included)
    keys : list of str — the group columns
    hours : float, h — the observation time of each user
    confidence : float — in (0, 1)

    Returns
    -------
    DataFrame — ``keys``, ``n_users``, ``n_events``, ``user_hours``, ``per_user_hour``,
    ``ci_low``, ``ci_high``
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence} must be in (0, 1)")
    c = counts.assign(count=counts["count"].astype(float))
    g = c.groupby(keys, sort=False)["count"]
    out = pd.DataFrame({"n_users": g.size(), "n_events": g.sum(), "sd": g.std(ddof=1)}).reset_index()
    n = out["n_users"].to_numpy(dtype=float)
    out["user_hours"] = n * hours
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(hours > 0, out["n_events"].to_numpy() / (n * hours), np.nan)
        half = stats.t.ppf(0.5 + confidence / 2.0, n - 1) * out["sd"].to_numpy() / hours / np.sqrt(n)
    half = np.where((n >= 2) & (hours > 0), half, np.nan)
    out["per_user_hour"] = mean
    out["ci_low"] = np.maximum(mean - half, 0.0)
    out["ci_high"] = mean + half
    out["n_users"] = out["n_users"].astype(np.int64)
    out["n_events"] = out["n_events"].astype(np.int64)
    return out.drop(columns="sd")


@by_area
def handover_rate(run: RunData, *, confidence: float = 0.95) -> pd.DataFrame:
    """Handovers per user-hour by scheme, RSAP policy and kind, with a t-interval over users.

    Every (scheme, policy) of ``rates`` appears with every kind it can record
    (:func:`applicable_kinds`, plus any other kind present), zeros included.

    Returns
    -------
    DataFrame — ``scheme``, ``rsap_policy``, ``kind``, ``n_users``, ``n_handovers``, ``user_hours``
    (h), ``per_user_hour`` (1/h), ``ci_low``, ``ci_high`` (1/h; see :func:`per_user_rate_ci`)
    """
    h = counted_handovers(run)
    users = _lane_users(run, h)
    present = h[[*LANE, "kind"]].drop_duplicates()
    kinds = [(s, k) for s in run.lanes["scheme"].unique() for k in applicable_kinds(s)]
    kinds = pd.concat([pd.DataFrame(kinds, columns=["scheme", "kind"]), present[["scheme", "kind"]]])
    grid = users.merge(kinds.drop_duplicates(), on="scheme")
    per_user = h.groupby([*LANE, "kind", "user_id"]).size().rename("count").reset_index()
    per_user["user_id"] = per_user["user_id"].astype(np.int64)
    grid = grid.merge(per_user, on=[*LANE, "kind", "user_id"], how="left").fillna({"count": 0})
    keys = [*LANE, "kind"]
    cols = ["scheme", "rsap_policy", "kind", "n_users", "n_handovers", "user_hours", "per_user_hour", "ci_low",
            "ci_high"]
    if not len(grid):
        return pd.DataFrame({c: pd.Series(dtype=object if c in keys else float) for c in cols})
    out = per_user_rate_ci(grid, keys, run.duration_s / 3600.0, confidence).rename(columns={"n_events": "n_handovers"})
    return _order(run, out, {"kind": list(HANDOVER_KINDS)})[cols]


def _order(run: RunData, frame: pd.DataFrame, categories: dict[str, list[str]] | None = None) -> pd.DataFrame:
    lane = run.lanes.reset_index().rename(columns={"index": "_lane"})
    out = frame.merge(lane, on=LANE, how="left")
    by = ["_lane"]
    for col, values in (categories or {}).items():
        out[f"_{col}"] = out[col].map({v: i for i, v in enumerate(values)})
        by.append(f"_{col}")
    return out.sort_values(by, kind="stable").drop(columns=by).reset_index(drop=True)


@by_area
def ping_pongs(run: RunData, *, window_s: float = 10.0, kind: str = "rsap") -> pd.DataFrame:
    """Ping-pong handovers: a return to the previous satellite within ``window_s``.

    A ping-pong is a pair of *consecutive* records of ``kind`` of one user, scheme and policy,
    ``A → B`` at t₁ then ``B → A`` at t₂, both between two satellites (A ≠ B, none null), with
    t₂ − t₁ ≤ ``window_s``. It is reported at the return. In A → B → A → B both returns count.
    For single-serving schemes ``rsap`` and ``inter_satellite`` records coincide, so either kind
    gives the same ping-pongs.

    Parameters
    ----------
    window_s : float, s — the largest dwell on B that counts (inclusive)
    kind : {"rsap", "inter_satellite"}

    Returns
    -------
    DataFrame — ``scheme``, ``rsap_policy``, ``user_id``, ``time`` (UTC, of the return), ``sat_a``
    (the satellite returned to), ``sat_b`` (the one visited), ``dwell_s`` (t₂ − t₁, s)
    """
    if kind not in _BETWEEN_KINDS:
        raise ValueError(f"kind={kind!r} must be one of {', '.join(_BETWEEN_KINDS)}")
    if not window_s >= 0:
        raise ValueError(f"window_s={window_s} s must be >= 0")
    h = run.handovers
    h = as_str(h[h["kind"] == kind], LANE)
    keys = [*LANE, "user_id"]
    h = h.sort_values([*keys, "time"], kind="stable")
    nxt = h.groupby(keys, sort=False)[["time", "from_sat", "to_sat"]].shift(-1)
    a, b = h["from_sat"], h["to_sat"]
    dwell_s = (nxt["time"] - h["time"]).dt.total_seconds()
    hit = (a.notna() & b.notna() & (a != b) & (nxt["from_sat"] == b) & (nxt["to_sat"] == a)
           & (dwell_s <= window_s)).fillna(False).astype(bool)
    out = pd.DataFrame({
        "scheme": h["scheme"][hit], "rsap_policy": h["rsap_policy"][hit],
        "user_id": h["user_id"][hit].astype(np.int64), "time": nxt["time"][hit],
        "sat_a": a[hit].astype("Int64"), "sat_b": b[hit].astype("Int64"), "dwell_s": dwell_s[hit].astype(float),
    })
    return _order(run, out.sort_values([*keys, "time"], kind="stable")) if len(out) else out.reset_index(drop=True)


@by_area
def ping_pong_rate(run: RunData, *, window_s: float = 10.0, confidence: float = 0.95,
                   kind: str = "rsap") -> pd.DataFrame:
    """Ping-pongs (:func:`ping_pongs`) per scheme and policy: count, fraction of the handovers of
    ``kind`` (between two satellites) and rate per user-hour with a t-interval over users.

    Returns
    -------
    DataFrame — ``scheme``, ``rsap_policy``, ``n_handovers``, ``n_ping_pongs``, ``fraction``
    (NaN without handovers), ``per_user_hour``, ``ci_low``, ``ci_high`` (1/h)
    """
    pp = ping_pongs(run, window_s=window_s, kind=kind)
    h = counted_handovers(run)
    h = h[h["kind"] == kind]
    users = _lane_users(run, h)
    per_user = pp.groupby(["scheme", "rsap_policy", "user_id"]).size().rename("count").reset_index()
    grid = users.merge(per_user, on=[*LANE, "user_id"], how="left").fillna({"count": 0})
    cols = ["scheme", "rsap_policy", "n_handovers", "n_ping_pongs", "fraction", "per_user_hour", "ci_low", "ci_high"]
    if not len(grid):
        return pd.DataFrame({c: pd.Series(dtype=object if c in LANE else float) for c in cols})
    out = per_user_rate_ci(grid, LANE, run.duration_s / 3600.0, confidence).rename(
        columns={"n_events": "n_ping_pongs"})
    n_hand = h.groupby(LANE).size().rename("n_handovers").reset_index()
    out = out.merge(n_hand, on=LANE, how="left").fillna({"n_handovers": 0})
    out["n_handovers"] = out["n_handovers"].astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["fraction"] = np.where(out["n_handovers"] > 0, out["n_ping_pongs"] / out["n_handovers"], np.nan)
    return _order(run, out)[cols]
