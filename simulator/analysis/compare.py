"""Two runs side by side (``leosim compare``): the report's tables with differences, overlaid figures.

Every summary table of the report is computed for run A and run B and joined on its key columns
(scheme, RSAP policy, kind; ``field`` for the scenario). For each numeric column ``c`` the joined
table has ``c_a``, ``c_b``, ``c_diff`` = B − A and ``c_rel`` = (B − A) / |A| (NaN when A is 0 or
a value is missing: could not compute), plus ``present`` (``both``, ``A only``, ``B only``).
When the two scenarios differ (other than their output directory) the document says which keys.
``docs/commands/compare.md`` describes the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from . import (cluster_size_distribution, cluster_size_summary, coverage_summary, coverage_time_km, handover_rate,
               optimiser_distribution, optimiser_summary, ping_pong_rate, scenario_summary, se_cdf, se_summary)
from . import plots
from .loading import RunData
from .headline import headline
from .report import Document, FigureItem, Section, Table, check_window, partial_banner

__all__ = ["compare_tables", "count_differences", "scenario_differences", "size_warning", "build_comparison",
           "RUN_LABELS"]

RUN_LABELS = ("A", "B")
_IGNORED_KEYS = ("output.directory",)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def scenario_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Dotted keys whose values differ between two resolved scenarios (``output.directory`` ignored).

    >>> scenario_differences({"time": {"step_s": 1.0}, "seed": 1}, {"time": {"step_s": 2.0}, "seed": 1})
    ['time.step_s']
    """
    fa, fb = _flatten(a), _flatten(b)
    return [k for k in sorted(set(fa) | set(fb)) if k not in _IGNORED_KEYS and fa.get(k) != fb.get(k)]


def compare_tables(a: pd.DataFrame, b: pd.DataFrame, keys: list[str], first: Sequence[str] = ()) -> pd.DataFrame:
    """Join two tables of the same kind on ``keys`` and add differences for every numeric column.

    Parameters
    ----------
    a, b : DataFrame — the same metric for run A and run B
    keys : list of str — columns identifying a row (e.g. scheme, rsap_policy, kind)
    first : sequence of str — value columns shown first (e.g. the per-user-hour rates before counts)

    Returns
    -------
    DataFrame — ``keys``, ``present`` (``both`` / ``A only`` / ``B only``), then for each numeric
    column ``c``: ``c_a``, ``c_b``, ``c_diff`` (B − A) and ``c_rel`` ((B − A) / |A|; NaN when A is
    0 or either value is missing); other columns as ``c_a``, ``c_b``. Rows in the order of A, then
    the rows only in B.

    >>> t = compare_tables(pd.DataFrame({"k": ["x"], "v": [2.0]}), pd.DataFrame({"k": ["x"], "v": [3.0]}), ["k"])
    >>> t[["v_a", "v_b", "v_diff", "v_rel"]].iloc[0].tolist()
    [2.0, 3.0, 1.0, 0.5]
    """
    a = a.copy()
    b = b.copy()
    for frame in (a, b):
        for k in keys:
            frame[k] = frame[k].astype(str) if len(frame) else pd.Series(dtype=object)
    values = [c for c in dict.fromkeys([*a.columns, *b.columns]) if c not in keys]
    values = [c for c in first if c in values] + [c for c in values if c not in first]
    joined = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True, sort=False)
    # outer merges sort keys in some pandas versions: restore A's order, then B-only rows
    order_a = {tuple(r): i for i, r in enumerate(a[keys].itertuples(index=False, name=None))}
    order_b = {tuple(r): i for i, r in enumerate(b[keys].itertuples(index=False, name=None))}
    rank = [order_a.get(r, len(order_a) + order_b.get(r, 0)) for r in joined[keys].itertuples(index=False, name=None)]
    joined = joined.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank")
    out = joined[keys].copy()
    out["present"] = joined["_merge"].astype(str).map({"both": "both", "left_only": "A only", "right_only": "B only"})
    for c in values:
        ca = joined[f"{c}_a"] if f"{c}_a" in joined else joined.get(c, pd.Series(np.nan, index=joined.index))
        cb = joined[f"{c}_b"] if f"{c}_b" in joined else joined.get(c, pd.Series(np.nan, index=joined.index))
        out[f"{c}_a"], out[f"{c}_b"] = ca, cb
        if pd.api.types.is_numeric_dtype(ca) and pd.api.types.is_numeric_dtype(cb) and not pd.api.types.is_bool_dtype(ca):
            va, vb = ca.to_numpy(float, na_value=np.nan), cb.to_numpy(float, na_value=np.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                diff = vb - va
                same = (va == vb) | (np.isinf(va) & (va == vb))
                diff = np.where(same, 0.0, diff)
                rel = np.where(same, 0.0, np.where(va != 0, diff / np.abs(va), np.nan))
            out[f"{c}_diff"] = diff
            out[f"{c}_rel"] = rel
    return out.reset_index(drop=True)


def count_differences(table: pd.DataFrame) -> int:
    """Rows of a :func:`compare_tables` result that differ: present in one run only, a non-zero
    difference, or a label column that changed (two NaN values count as equal)."""
    if not len(table):
        return 0
    differs = np.array(table["present"] != "both", dtype=bool)
    for col in table.columns:
        if col.endswith("_diff"):
            d = np.asarray(table[col], dtype=float)
            base = col[: -len("_diff")]
            both_nan = table[f"{base}_a"].isna().to_numpy() & table[f"{base}_b"].isna().to_numpy()
            differs |= (np.isnan(d) & ~both_nan) | (np.nan_to_num(d) != 0)
        elif col.endswith("_a") and f"{col[:-2]}_diff" not in table.columns and f"{col[:-2]}_b" in table.columns:
            ca, cb = table[col].astype(str), table[f"{col[:-2]}_b"].astype(str)
            differs |= (ca != cb).to_numpy()
    return int(differs.sum())


def size_warning(a: RunData, b: RunData) -> str | None:
    """A warning when the runs differ in observed duration or number of users (counts are then not
    comparable, rates per user-hour are), else None."""
    parts = []
    if not np.isclose(a.duration_s, b.duration_s):
        parts.append(f"durations differ (A {a.duration_s:g} s, B {b.duration_s:g} s)")
    users_a, users_b = a.rates["user_id"].nunique(), b.rates["user_id"].nunique()
    if users_a != users_b:
        parts.append(f"user counts differ (A {users_a}, B {users_b})")
    if not parts:
        return None
    return ("Warning: " + " and ".join(parts) + ": compare the per-user-hour rates and the distributions; "
            "raw counts (n_handovers, n_intervals, user_hours, …) differ for that reason alone.")


def _scenario_table(a: RunData, b: RunData) -> pd.DataFrame:
    sa, sb = scenario_summary(a), scenario_summary(b)
    fields = list(dict.fromkeys([*sa, *sb]))
    return pd.DataFrame({"field": fields, "A": [sa.get(f, "") for f in fields], "B": [sb.get(f, "") for f in fields],
                         "same": [sa.get(f) == sb.get(f) for f in fields]})


def _both(fn, a: RunData, b: RunData, **kw) -> pd.DataFrame:
    """``fn`` on both runs, stacked with a ``run`` column (A, B) for overlaid figures."""
    return pd.concat([fn(a, **kw).assign(run=RUN_LABELS[0]), fn(b, **kw).assign(run=RUN_LABELS[1])],
                     ignore_index=True)


def _multi_area(a: RunData, b: RunData) -> bool:
    """True for two multi-area runs, False for two single runs; InputError for one of each."""
    kinds = [run.areas is not None for run in (a, b)]
    if kinds[0] != kinds[1]:
        multi, single = (a, b) if kinds[0] else (b, a)
        raise InputError(f"{multi.run_dir} is a multi-area run and {single.run_dir} a single run; compare two "
                         f"multi-area runs, or one area ({multi.run_dir}/area=NAME) with the single run")
    return kinds[0]


def _latitude_section(a: RunData, b: RunData) -> Section:
    """The headline numbers of both multi-area runs against the area latitude, A solid, B dashed."""
    from .areas import HANDOVER_ROWS, SE_ROWS, area_headline, plot_vs_latitude

    both = pd.concat([area_headline(a).assign(run=RUN_LABELS[0]), area_headline(b).assign(run=RUN_LABELS[1])],
                     ignore_index=True)
    return Section("by-latitude", "Against area latitude", "Each area's headline numbers against its latitude, "
                   "one curve per scheme and run (A solid, B dashed), one column per RSAP policy.",
                   figures=[FigureItem("handovers-vs-latitude", "Handovers per user-hour, A solid, B dashed",
                                       plots.figure_png(plot_vs_latitude(both, HANDOVER_ROWS))),
                            FigureItem("se-vs-latitude", "Spectral efficiency, A solid, B dashed",
                                       plots.figure_png(plot_vs_latitude(both, SE_ROWS)))])


def build_comparison(a: RunData, b: RunData, *, ping_pong_window_s: float = 10.0) -> Document:
    """The ``leosim compare`` document of runs ``a`` and ``b`` (B − A differences).

    Tables: scenario summaries, handover rate, ping-pongs, coverage time, spectral efficiency,
    cluster size and optimiser summaries, each joined by :func:`compare_tables`. Figures overlay
    both runs (A solid / B dashed, or B lighter for bars).

    Two multi-area runs are compared area by area: every table is joined on the area too, and the
    figures are the headline numbers against the area latitude, A solid and B dashed. A multi-area
    run and a single run are refused (compare one area: ``<run>/area=<name>``).
    """
    check_window(ping_pong_window_s)
    for run in (a, b):
        if not len(run.rates):
            raise InputError(f"{run.run_dir}: the run has no rates yet (no complete chunk); nothing to compare")
    multi = _multi_area(a, b)
    lane = ["area", "scheme", "rsap_policy"] if multi else ["scheme", "rsap_policy"]
    rate_a, rate_b = handover_rate(a), handover_rate(b)
    rates = pd.concat([rate_a.assign(run="A"), rate_b.assign(run="B")], ignore_index=True)

    def figure(name: str, title: str, make) -> list[FigureItem]:
        """One overlaid figure of a single-run comparison; none by area (the latitude figures instead)."""
        return [] if multi else [FigureItem(name, title, plots.figure_png(make()))]
    pp = {"window_s": ping_pong_window_s}
    diff_note = ("Numeric columns: c_a (run A), c_b (run B), c_diff = B − A, c_rel = (B − A)/|A| "
                 "(n/a when A is 0); present: rows found in both runs or in one only.")

    def table(name: str, title: str, frame: pd.DataFrame) -> Table:
        return Table(name, title, frame, diff_note)

    rates_first = ["per_user_hour", "ci_low", "ci_high"]
    sections = [
        Section("headline", "At a glance", f"The report's headline per {'area, ' if multi else ''}scheme and RSAP "
                "policy for both runs: RSAP "
                "handovers and serving-set changes per user-hour, median and 5th-percentile SE (bit/s/Hz), share "
                "of user-steps without service.",
                tables=[table("headline", "Headline, A and B", compare_tables(headline(a), headline(b), lane))]),
        Section("scenario", "Scenarios", "The two runs' scenario summaries; 'same' flags each field.",
                tables=[Table("scenario", "Scenario summaries", _scenario_table(a, b))]),
        Section("handovers", "Handovers", "Handovers per user-hour (RSAP and inter-satellite only between two "
                "satellites) and ping-pong RSAP handovers.",
                tables=[table("handover_rate", "Handover rate", compare_tables(rate_a, rate_b, [*lane, "kind"], rates_first)),
                        table("ping_pong", f"Ping-pongs (within {ping_pong_window_s:g} s)",
                              compare_tables(ping_pong_rate(a, **pp), ping_pong_rate(b, **pp), lane,
                                             [*rates_first, "fraction"]))],
                figures=figure("handover-rate", "Handovers per user-hour, A and B (lighter)",
                               lambda: plots.plot_handover_rate(rates))),
        Section("coverage", "Coverage time", "Kaplan–Meier coverage-time CDF; censored intervals marked |.",
                tables=[table("coverage_summary", "Coverage time summary",
                              compare_tables(coverage_summary(a), coverage_summary(b), lane))],
                figures=figure("coverage-cdf", "Coverage-time CDF, A solid, B dashed",
                               lambda: plots.plot_coverage_cdf(_both(coverage_time_km, a, b)))),
        Section("spectral-efficiency", "Spectral efficiency", "Per-user-step spectral efficiency.",
                tables=[table("se_summary", "Spectral efficiency summary", compare_tables(se_summary(a), se_summary(b), lane))],
                figures=figure("se-cdf", "SE CDF, A solid, B dashed",
                               lambda: plots.plot_se_cdf(_both(se_cdf, a, b, per="sample")))),
        Section("clusters", "Serving-cluster size", "Satellites serving a user, over served user-steps.",
                tables=[table("cluster_size_summary", "Cluster size summary",
                              compare_tables(cluster_size_summary(a), cluster_size_summary(b), lane))],
                figures=figure("cluster-size", "Cluster-size distribution, A and B (lighter)",
                               lambda: plots.plot_cluster_sizes(_both(cluster_size_distribution, a, b)))),
        Section("optimiser", "Central-node optimiser", "Iterations and wall-clock solve time per decision "
                "(solve time depends on the machine each run used).",
                tables=[table("optimiser_summary", "Optimiser summary",
                              compare_tables(optimiser_summary(a), optimiser_summary(b), lane[:-1]))],
                figures=figure("optimiser-cdf", "Optimiser CDFs, A solid, B dashed",
                               lambda: plots.plot_optimiser_cdf(_both(optimiser_distribution, a, b)))),
    ]
    if multi:
        sections.insert(1, _latitude_section(a, b))
    notes = [("runs", f"Run A: {a.name} ({a.run_dir}); run B: {b.name} ({b.run_dir}). Differences are B − A.")]
    warning = size_warning(a, b)
    if warning:
        notes.append(("size-warning", warning))
    changed = scenario_differences(a.scenario, b.scenario)
    if changed:
        notes.append(("scenario-differences", f"The scenarios differ in {len(changed)} field{'s' if len(changed) > 1 else ''}: "
                     + ", ".join(changed) + "."))
    banners = [f"Run {label}: {text}" for label, run in zip(RUN_LABELS, (a, b)) if (text := partial_banner(run))]
    subtitle = f"A = {a.name} ({a.status}, {a.duration_s:g} s), B = {b.name} ({b.status}, {b.duration_s:g} s)"
    return Document(f"leosim compare: {a.name} vs {b.name}", subtitle, sections,
                    banner=" ".join(banners) or None, notes=notes)
