"""The self-contained HTML report of one run (``leosim report``), and the document writer it shares
with ``leosim compare``.

A report is a :class:`Document`: a title, an optional banner (run in progress or interrupted) and
sections with stable ``id`` attributes, each holding tables (DataFrames) and figures (PNG bytes).
:func:`write_document` renders it to one HTML file — inline CSS, figures embedded as base64
``data:`` URIs, every text escaped — and writes each table as a CSV file in the folder
``<stem>_tables/`` beside it (``report.html`` → ``report_tables/handover_rate.csv``). Every file is
written atomically (``*.tmp`` then rename). ``docs/commands/report.md`` describes the sections.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.manifest import write_atomic
from ..errors import InputError
from . import plots
from . import (cluster_size_distribution, cluster_size_summary, coverage_summary, coverage_time_km, handover_rate,
               optimiser_distribution, optimiser_summary, ping_pong_rate, scenario_summary, se_cdf, se_over_time,
               se_summary, serving_timeline)
from .handovers import counted_handovers
from .loading import RunData

__all__ = ["Table", "FigureItem", "Section", "Document", "build_report", "default_timeline_choice",
           "partial_banner", "check_window", "check_output", "render_html", "write_document", "tables_dir", "write_report"]


@dataclass(frozen=True)
class Table:
    """A table of a document: shown as HTML (unless ``shown`` is False) and written as ``<name>.csv``.

    Attributes
    ----------
    name : str — file stem of the CSV and ``id`` of the HTML table (``table-<name>``); unique per document
    title : str
    frame : DataFrame
    caption : str — how to read it
    shown : bool — False for the data behind a figure: CSV only, linked from the section
    """

    name: str
    title: str
    frame: pd.DataFrame
    caption: str = ""
    shown: bool = True


@dataclass(frozen=True)
class FigureItem:
    """A figure of a document: PNG bytes embedded in the HTML with ``id="fig-<name>"``."""

    name: str
    title: str
    png: bytes
    caption: str = ""


@dataclass(frozen=True)
class Section:
    """A section of a document (``<section id="...">``), with an introduction in plain text."""

    id: str
    title: str
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[FigureItem] = field(default_factory=list)


@dataclass(frozen=True)
class Document:
    """A whole report: title, subtitle, optional banner (``id="banner"``), notes and sections.

    ``notes`` are (id, text) pairs shown under the title (e.g. ``scenario-differences``).
    """

    title: str
    subtitle: str
    sections: list[Section]
    banner: str | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]


# ---------------------------------------------------------------------- building a report
def partial_banner(run: RunData) -> str | None:
    """Why the report covers only part of the run, or None for a complete run."""
    if not run.partial:
        return None
    state = {"running": "in progress", "interrupted": "interrupted", "failed": "failed"}.get(run.status, run.status)
    planned = run.scenario.get("time", {}).get("duration_s")
    of = f" of {float(planned):g} s planned" if planned else ""
    reason = f" ({run.message})" if run.message else ""
    return (f"This run is {state}{reason}: reported from {run.n_chunks} completed chunk"
            f"{'' if run.n_chunks == 1 else 's'}, up to {_utc(run.window_end)} "
            f"({run.duration_s:g} s simulated{of}).")


def _utc(t: pd.Timestamp) -> str:
    return "—" if pd.isna(t) else t.strftime("%Y-%m-%d %H:%M:%S UTC")


def default_timeline_choice(run: RunData, user_id: int | None = None, scheme: str | None = None) -> tuple[int, str]:
    """The user and scheme whose serving satellites the report draws.

    Default user: the one with the most RSAP handovers between two satellites (all schemes and
    policies); default scheme: the one with the most such handovers for that user. Ties go to the
    lowest user id and the first scheme of the scenario. Without any RSAP handover: user 0 (or the
    lowest id in the rates table) and the first scheme.
    """
    lanes = [str(s) for s in dict.fromkeys(run.lanes["scheme"])]
    users = sorted(int(u) for u in run.rates["user_id"].unique())
    if not lanes or not users:
        raise InputError(f"{run.run_dir}: the run has no rates yet (no complete chunk); nothing to report")
    if scheme is not None and scheme not in lanes:
        raise InputError(f"--scheme {scheme!r} is not in this run; schemes: {', '.join(lanes)}")
    if user_id is not None and user_id not in users:
        raise InputError(f"--user {user_id} is not in this run; users: {users[0]}..{users[-1]}")
    hand = counted_handovers(run)
    hand = hand[hand["kind"] == "rsap"]
    if user_id is None:
        counts = hand if scheme is None else hand[hand["scheme"].astype(str) == scheme]
        per_user = counts.groupby("user_id", observed=True).size().reindex(users, fill_value=0)
        user_id = int(per_user.idxmax()) if per_user.max() > 0 else users[0]
    if scheme is None:
        mine = hand[hand["user_id"] == user_id]
        per_scheme = mine.groupby(mine["scheme"].astype(str)).size().reindex(lanes, fill_value=0)
        scheme = str(per_scheme.idxmax()) if per_scheme.max() > 0 else lanes[0]
    return user_id, scheme


def _timeline(run: RunData, user_id: int, scheme: str) -> pd.DataFrame:
    """Serving intervals of one user and scheme under every policy of the run (``rsap_policy`` column)."""
    policies = [str(p) for p in run.lanes.loc[run.lanes["scheme"] == scheme, "rsap_policy"]]
    parts = [serving_timeline(run, user_id=user_id, scheme=scheme, rsap_policy=p).assign(rsap_policy=p)
             for p in policies]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["sat_id", "start", "end", "is_rsap", "rsap_policy"])


def check_window(ping_pong_window_s: float) -> None:
    """Raise InputError unless the ping-pong window is a finite number of seconds > 0."""
    if not (ping_pong_window_s > 0 and math.isfinite(ping_pong_window_s)):
        raise InputError(f"--ping-pong-window-s={ping_pong_window_s} s must be a finite number > 0")


def check_output(output: str | Path) -> Path:
    """``output`` as a Path if it can take a document (an .html file in an existing folder), else InputError."""
    output = Path(output)
    if output.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"-o {output}: the report must be an .html file")
    if not output.parent.is_dir():
        raise InputError(f"-o {output}: folder {output.parent} does not exist")
    return output


def build_report(run: RunData, *, user_id: int | None = None, scheme: str | None = None,
                 ping_pong_window_s: float = 10.0) -> Document:
    """Every table and figure of ``leosim report`` for ``run`` (see ``docs/commands/report.md``).

    Parameters
    ----------
    run : RunData — :func:`simulator.analysis.load_run`
    user_id : int, optional — user of the serving-satellite timeline (default: most RSAP handovers)
    scheme : str, optional — scheme of that timeline (default: most RSAP handovers of the user)
    ping_pong_window_s : float, s — a return to the previous RSAP within this time is a ping-pong
    """
    check_window(ping_pong_window_s)
    user_id, scheme = default_timeline_choice(run, user_id, scheme)
    summary = pd.DataFrame(list(scenario_summary(run).items()), columns=["field", "value"])

    rate = handover_rate(run)
    ping = ping_pong_rate(run, window_s=ping_pong_window_s)
    km = coverage_time_km(run)
    cov = coverage_summary(run)
    cdf = se_cdf(run, per="sample")
    sot = se_over_time(run)
    sizes = cluster_size_distribution(run)
    opt = optimiser_distribution(run)
    timeline = _timeline(run, user_id, scheme)

    sections = [
        Section("scenario", "Scenario and run", "What was simulated and how much of it the report covers.",
                tables=[Table("scenario", "Scenario summary", summary)]),
        Section("handovers", "Handovers",
                "Handovers per user-hour of observed time, by scheme, RSAP policy and kind. RSAP and "
                "inter-satellite records count only between two satellites (a first access or a loss of "
                "service is not a handover); cluster joins and leaves all count. Whiskers and ci_low / "
                "ci_high: confidence interval over users.",
                tables=[Table("handover_rate", "Handover rate", rate),
                        Table("ping_pong", f"Ping-pong RSAP handovers (return within {ping_pong_window_s:g} s)", ping,
                              "A ping-pong is an RSAP handover back to the RSAP the user left, within the window.")],
                figures=[FigureItem("handover-rate", "Handovers per user-hour", plots.figure_png(plots.plot_handover_rate(rate)),
                                    "One panel per kind; bars coloured by scheme, hatched for max-service-time.")]),
        Section("coverage", "Coverage time",
                "Coverage time (004 Fig 5): how long a user keeps its RSAP, between consecutive RSAP handovers. "
                "Intervals cut by the start or the end of the run are censored observations, handled with the "
                "Kaplan–Meier estimator (ticks | on the curves mark censored durations).",
                tables=[Table("coverage_summary", "Coverage time summary", cov),
                        Table("coverage_km", "Kaplan–Meier curve", km, shown=False)],
                figures=[FigureItem("coverage-cdf", "Coverage-time CDF per RSAP policy",
                                    plots.figure_png(plots.plot_coverage_cdf(km)))]),
        Section("spectral-efficiency", "Spectral efficiency",
                "Achievable spectral efficiency log2(1 + SINR) of each user at each logging step; 0 when unserved.",
                tables=[Table("se_summary", "Spectral efficiency summary", se_summary(run)),
                        Table("se_over_time", "Sum and minimum SE over time", sot, shown=False)],
                figures=[FigureItem("se-cdf", "SE CDF per scheme (all users and steps)",
                                    plots.figure_png(plots.plot_se_cdf(cdf))),
                         FigureItem("se-over-time", "Sum and minimum SE over the users, against time",
                                    plots.figure_png(plots.plot_se_over_time(sot)))]),
        Section("clusters", "Serving-cluster size",
                "Number of satellites serving a user (004 Fig 4), as a fraction of user-steps; 0 = unserved.",
                tables=[Table("cluster_size_summary", "Cluster size summary", cluster_size_summary(run)),
                        Table("cluster_size_distribution", "Cluster size distribution", sizes, shown=False)],
                figures=[FigureItem("cluster-size", "Cluster-size distribution per scheme",
                                    plots.figure_png(plots.plot_cluster_sizes(sizes)))]),
        Section("serving-timeline", "Serving satellites of one user",
                f"User {user_id} under {scheme}: every satellite that serves it, the RSAP in red. Choose another "
                "with --user N (and --scheme NAME).",
                tables=[Table("serving_timeline", "Serving intervals", timeline, shown=False)],
                figures=[FigureItem("serving-timeline", f"User {user_id}, {scheme}",
                                    plots.figure_png(plots.plot_serving_timeline(
                                        timeline, title=f"user {user_id}, scheme {scheme}")))]),
        Section("optimiser", "Central-node optimiser",
                "Iterations and wall-clock solve time per decision (000 Fig 10); solve time depends on the machine.",
                tables=[Table("optimiser_summary", "Optimiser summary", optimiser_summary(run)),
                        Table("optimiser_distribution", "Optimiser CDFs", opt, shown=False)],
                figures=[FigureItem("optimiser-cdf", "Optimiser iterations and solve time",
                                    plots.figure_png(plots.plot_optimiser_cdf(opt)))]),
    ]
    subtitle = (f"{run.status}, {run.n_chunks} chunks, {_utc(run.window_start)} to {_utc(run.window_end)} "
                f"({run.duration_s:g} s simulated)")
    return Document(f"leosim report: {run.name}", subtitle, sections, banner=partial_banner(run))


# ---------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1180px;padding:1em 2em;
color:#222;line-height:1.45}
h1{margin-bottom:.1em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
.subtitle{color:#555;margin-top:0}
#banner{background:#fff3cd;border:1px solid #e0b84c;padding:.7em 1em;border-radius:4px;font-weight:600}
.note{background:#eef4fb;border:1px solid #9ec1e6;padding:.6em 1em;border-radius:4px}
nav ul{columns:3;list-style:none;padding-left:0}
table{border-collapse:collapse;font-size:12.5px;margin:.5em 0 1.2em}
th,td{border:1px solid #ddd;padding:2px 7px;text-align:right;white-space:nowrap}
th{background:#f3f3f3;position:sticky;top:0}td.text,th.text{text-align:left}
tr:nth-child(even) td{background:#fafafa}
.scroll{max-height:32em;overflow:auto;display:inline-block;max-width:100%}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption,.caption{color:#555;font-size:13px}
.files{font-size:13px}
"""


def tables_dir(output: Path) -> Path:
    """The folder of a document's CSV files: ``<stem>_tables`` beside the HTML file."""
    return output.with_name(output.stem + "_tables")


def _cell(value: object) -> tuple[str, bool]:
    """Escaped text of one cell and whether it is text (left-aligned)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "", True
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "n/a", False
        return html.escape(f"{value:.4g}" if abs(value) < 1e6 else f"{value:.4e}"), False
    if isinstance(value, (int, np.integer, bool, np.bool_)):
        return html.escape(str(value)), False
    if isinstance(value, pd.Timestamp):
        return html.escape(value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]), True
    return html.escape(str(value)), True


def _table_html(table: Table, csv_href: str) -> str:
    frame = table.frame
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    head = "".join(f'<th class="{"num" if n else "text"}">{html.escape(str(c))}</th>'
                   for c, n in zip(frame.columns, numeric))
    rows = []
    for values in frame.itertuples(index=False, name=None):
        cells = (_cell(v) for v in values)
        rows.append("<tr>" + "".join(f'<td class="{"text" if t else "num"}">{s}</td>' for s, t in cells) + "</tr>")
    caption = f'<p class="caption">{html.escape(table.caption)}</p>' if table.caption else ""
    return (f'<h3>{html.escape(table.title)}</h3>{caption}<div class="scroll"><table id="table-{html.escape(table.name)}">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
            f'<p class="files">CSV: <a href="{html.escape(csv_href)}">{html.escape(csv_href)}</a></p>')


def render_html(doc: Document, csv_folder: str) -> str:
    """The HTML text of ``doc``; CSV links point to ``csv_folder/<name>.csv`` (relative)."""
    esc = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{esc(doc.title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{esc(doc.title)}</h1>", f'<p class="subtitle">{esc(doc.subtitle)}</p>']
    if doc.banner:
        parts.append(f'<p id="banner" role="alert">{esc(doc.banner)}</p>')
    for note_id, note in doc.notes:
        parts.append(f'<p class="note" id="{esc(note_id)}">{esc(note)}</p>')
    parts.append("<nav><ul>" + "".join(f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a></li>' for s in doc.sections)
                 + "</ul></nav>")
    for s in doc.sections:
        parts.append(f'<section id="{esc(s.id)}"><h2>{esc(s.title)}</h2>')
        if s.intro:
            parts.append(f"<p>{esc(s.intro)}</p>")
        for t in s.tables:
            if t.shown:
                parts.append(_table_html(t, f"{csv_folder}/{t.name}.csv"))
        for f in s.figures:
            data = base64.b64encode(f.png).decode("ascii")
            caption = esc(f.title + (f" — {f.caption}" if f.caption else ""))
            parts.append(f'<figure id="fig-{esc(f.name)}"><img alt="{esc(f.title)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{caption}</figcaption></figure>")
        hidden = [t for t in s.tables if not t.shown]
        if hidden:
            links = ", ".join(f'<a href="{esc(csv_folder)}/{esc(t.name)}.csv">{esc(t.name)}.csv</a>' for t in hidden)
            parts.append(f'<p class="files">Data behind the figures: {links}</p>')
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_document(doc: Document, output: str | Path) -> Path:
    """Write ``doc`` as ``output`` (HTML) and its tables as CSV files in ``<stem>_tables/``.

    Each file is written atomically; the HTML is written last, so it never links to a missing CSV.
    Returns the path of the HTML file.
    """
    output = check_output(output)
    names = [t.name for t in doc.tables]
    if len(set(names)) != len(names):
        raise ValueError(f"table names repeat in the document: {names}")
    folder = tables_dir(output)
    folder.mkdir(exist_ok=True)
    for t in doc.tables:
        write_atomic(folder / f"{t.name}.csv", lambda tmp, t=t: t.frame.to_csv(tmp, index=False))
    text = render_html(doc, folder.name)
    write_atomic(output, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return output


def write_report(run: RunData, output: str | Path, *, user_id: int | None = None, scheme: str | None = None,
                 ping_pong_window_s: float = 10.0) -> tuple[Path, Document]:
    """Build the report of ``run`` and write it to ``output`` (see :func:`build_report`)."""
    check_output(output)
    doc = build_report(run, user_id=user_id, scheme=scheme, ping_pong_window_s=ping_pong_window_s)
    return write_document(doc, output), doc
