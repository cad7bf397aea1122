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

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..fileio import write_atomic
from ..errors import InputError
from . import document_html, plots
from . import (cluster_size_distribution, cluster_size_summary, coverage_summary, coverage_time_km, handover_rate,
               optimiser_distribution, optimiser_summary, ping_pong_rate, scenario_summary, se_cdf, se_over_time,
               se_summary, serving_timeline)
from .decision_age import decision_age_summary, plot_decision_age
from .handovers import counted_handovers
from .headline import headline, headline_table
from .loading import RunData

__all__ = ["Table", "FigureItem", "Section", "Document", "build_report", "default_timeline_choice", "satellite_label",
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
    """A section of a document (``<section id="...">``), with an introduction in plain text and
    ``links``: (text, relative href) pairs shown at its end (e.g. the report of each area)."""

    id: str
    title: str
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[FigureItem] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)


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


def _link_budget_line(run: RunData) -> str:
    """The run's link budget in one sentence (preset, carrier, EIRP, noise, reference CNR)."""
    from ..radio.linkbudget import describe_link_budget

    try:
        line = describe_link_budget(run.scenario.get("radio"))
        return line[0].upper() + line[1:] + "."
    except (KeyError, TypeError, ValueError):  # a manifest without a complete [radio] table
        return "Link budget: not recorded in the manifest."


def satellite_label(run: RunData) -> str:
    """What a run's satellite ids are: NORAD catalogue numbers for real element sets (a TLE/OMM
    constellation), otherwise the generator's ids (Walker presets and parameters)."""
    constellation = run.scenario.get("constellation") or {}
    return "NORAD catalogue number" if constellation.get("tle") else "satellite id (Walker)"


#: s, windows of the geometry views from the run's start: the sky plot, and the map (shorter: tracks are long).
SKY_WINDOW_S, MAP_WINDOW_S, GEOMETRY_STEP_S = 1800.0, 600.0, 10.0


def _geometry_section(run: RunData, user_id: int, scheme: str) -> Section:
    """Sky plot of ``user_id`` (one panel per scheme) and map of the users and the tracks of the
    satellites serving ``user_id`` under ``scheme`` (first RSAP policy of the run)."""
    from . import geometry_views as gv

    policy = str(run.lanes.loc[run.lanes["scheme"] == scheme, "rsap_policy"].iloc[0])
    intro = (f"Where the satellites are. Sky plot: every satellite above the {{mask:g}}° mask over user {user_id} "
             f"during the first {{sky:g}} min (grey), thick where it serves the user under each scheme "
             f"({policy}), red while it is the RSAP. Map: the users (black, user {user_id} starred) and the "
             f"sub-satellite tracks of the satellites serving user {user_id} under {scheme} during the first "
             "{map:g} min, while they are above the mask over the user, thick while they serve; equirectangular, true lengths along the users' mean latitude.")
    try:
        geo = gv.run_geometry(run)
    except InputError as exc:
        return Section("geometry", "Geometry: sky plot and map", f"Not drawn: {exc}")
    epoch = run.window_start
    sky_s, map_s = min(SKY_WINDOW_S, run.duration_s), min(MAP_WINDOW_S, run.duration_s)
    run = _first(run, sky_s)
    t_sky = np.arange(0.0, sky_s + 1e-9, GEOMETRY_STEP_S)
    ground = geo.user_positions_m(t_sky)[:, user_id, :]
    sky = gv.sky_tracks(geo.catalog, ground, geo.epoch_utc_ns, t_sky, geo.min_elevation_deg)
    panels = []
    for name in dict.fromkeys(run.lanes["scheme"]):
        timeline = serving_timeline(run, user_id=user_id, scheme=name, rsap_policy=policy)
        serving, rsap = gv.serving_mask(sky, timeline, epoch)
        panels.append((name, serving, rsap, plots.scheme_colour(name)))
    sky_fig = gv.plot_sky(sky, panels, title=f"user {user_id}: sky over the first {sky_s / 60:g} min, {policy}",
                          min_elevation_deg=geo.min_elevation_deg, step_s=GEOMETRY_STEP_S)
    t_map = np.arange(0.0, map_s + 1e-9, GEOMETRY_STEP_S)
    timeline = serving_timeline(run, user_id=user_id, scheme=scheme, rsap_policy=policy)
    timeline = timeline[timeline["start"] < epoch + pd.Timedelta(seconds=map_s)]
    ids = np.isin(geo.catalog.sat_ids, timeline["sat_id"].to_numpy(np.int64))
    tracks = gv.ground_tracks(geo.catalog.subset(ids), geo.epoch_utc_ns, t_map)
    tracks = tracks.merge(sky[["t_s", "sat_id"]], on=["t_s", "sat_id"])  # while above the mask over the user
    serving, rsap = gv.serving_mask(tracks, timeline, epoch)
    users = pd.DataFrame({"user_id": np.arange(len(geo.user_lat_deg)), "lat_deg": geo.user_lat_deg,
                          "lon_deg": geo.user_lon_deg})
    map_fig = gv.plot_map(tracks, users, title=f"users and the satellites serving user {user_id} under {scheme} "
                          f"({policy}), first {map_s / 60:g} min", serving=serving, rsap=rsap,
                          colour=plots.scheme_colour(scheme), step_s=GEOMETRY_STEP_S, highlight_user=user_id)
    sky_table = sky.assign(time=epoch + pd.to_timedelta(sky["t_s"], unit="s")).drop(columns="t_s")
    return Section("geometry", "Geometry: sky plot and map",
                   intro.format(mask=geo.min_elevation_deg, sky=sky_s / 60, map=map_s / 60),
                   tables=[Table("sky_tracks", "Sky tracks", sky_table[["time", "sat_id", "azimuth_deg",
                                                                         "elevation_deg"]], shown=False)],
                   figures=[FigureItem("sky", f"Sky plot of user {user_id}", plots.figure_png(sky_fig),
                                       "Azimuth clockwise from north, zenith at the centre, the mask dashed."),
                            FigureItem("map", "Users and sub-satellite tracks", plots.figure_png(map_fig),
                                       "Arrow heads: direction of flight at the end of the window.")])


def _first(run: RunData, seconds: float) -> RunData:
    """``run`` cut to its first ``seconds`` (the tables the serving timeline reads, and the window)."""
    end = run.window_start + pd.Timedelta(seconds=seconds)
    if end >= run.window_end:
        return run
    frames = {t: getattr(run, t) for t in ("rates", "handovers", "clusters")}
    frames = {t: f[f["time"] <= end] for t, f in frames.items()}
    return RunData(run_dir=run.run_dir, name=run.name, scenario=run.scenario, status=run.status,
                   message=run.message, window_start=run.window_start, window_end=end, step_s=run.step_s,
                   n_chunks=run.n_chunks, frames=frames)


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
    age = decision_age_summary(run)
    sizes = cluster_size_distribution(run)
    opt = optimiser_distribution(run)
    timeline = _timeline(run, user_id, scheme)
    lanes = headline(run)
    policies = " and ".join(dict.fromkeys(lanes["rsap_policy"]))

    sections = [
        Section("headline", "At a glance",
                f"Per scheme under the RSAP policies {policies}: RSAP handovers between two satellites and "
                "changes of the serving satellites (instants at which a user's serving set changes), per "
                "user-hour; median and 5th-percentile spectral efficiency over user-steps (bit/s/Hz); share of "
                "user-steps with no serving satellite. ratio = max-service-time / best-channel (n/a when "
                "best-channel is 0). Details and confidence intervals in the sections below.",
                tables=[Table("headline", "Headline", headline_table(run, lanes)),
                        Table("headline_lanes", "Headline, one row per scheme and policy", lanes, shown=False)]),
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
        Section("decision-age", "Decision age",
                "How SINR degrades as the decision in force grows old: user-steps of each scheme (both RSAP "
                "policies) binned by the time since their decision was taken (a local repair keeps its age). "
                "under_0db_share: fraction of the bin's user-steps with SINR under 0 dB (unserved included); "
                "p10: 10th percentile.",
                tables=[Table("decision_age", "SINR against decision age", age)],
                figures=[FigureItem("decision-age", "SINR against the age of the decision in force",
                                    plots.figure_png(plot_decision_age(age)),
                                    "Each bin at its middle; log age axis.")]),
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
                                        timeline, title=f"user {user_id}, scheme {scheme}",
                                        sat_label=satellite_label(run))))]),
        _geometry_section(run, user_id, scheme),
        Section("optimiser", "Central-node optimiser",
                "Iterations and wall-clock solve time per decision (000 Fig 10); solve time depends on the machine.",
                tables=[Table("optimiser_summary", "Optimiser summary", optimiser_summary(run)),
                        Table("optimiser_distribution", "Optimiser CDFs", opt, shown=False)],
                figures=[FigureItem("optimiser-cdf", "Optimiser iterations and solve time",
                                    plots.figure_png(plots.plot_optimiser_cdf(opt)))]),
    ]
    subtitle = (f"{run.status}, {run.n_chunks} chunks, {_utc(run.window_start)} to {_utc(run.window_end)} "
                f"({run.duration_s:g} s simulated). {_link_budget_line(run)}")
    return Document(f"leosim report: {run.name}", subtitle, sections, banner=partial_banner(run))


# ---------------------------------------------------------------------- HTML
def tables_dir(output: Path) -> Path:
    """The folder of a document's CSV files: ``<stem>_tables`` beside the HTML file."""
    return output.with_name(output.stem + "_tables")


def render_html(doc: Document, csv_folder: str) -> str:
    """The HTML text of ``doc`` (jinja2 template of :mod:`.document_html`); CSV links point to
    ``csv_folder/<name>.csv`` (relative)."""
    return document_html.render(doc, csv_folder)


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
    """Build the report of ``run`` and write it to ``output`` (see :func:`build_report`); a
    multi-area run gets :func:`~simulator.analysis.areas.build_areas_report` (``user_id`` and
    ``scheme`` are then refused: they name one area's user)."""
    check_output(output)
    if run.areas is not None:
        from .areas import build_areas_report

        if user_id is not None or scheme is not None:
            raise InputError("--user and --scheme choose one area's timeline; give them with the area's directory: "
                             f"leosim report {run.run_dir}/area=NAME")
        doc = build_areas_report(run, output=output, ping_pong_window_s=ping_pong_window_s)
        return write_document(doc, output), doc
    doc = build_report(run, user_id=user_id, scheme=scheme, ping_pong_window_s=ping_pong_window_s)
    return write_document(doc, output), doc
