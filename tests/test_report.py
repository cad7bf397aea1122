"""``leosim report`` and ``leosim compare`` on a tiny real run: sections, figures, CSV files, partial
runs, differences, CLI errors; plus the comparison and HTML helpers on small known inputs."""

from __future__ import annotations

import base64
import io
import json
import shutil
from html.parser import HTMLParser

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import test_replay as replay_test

from simulator.analysis import (cluster_size_distribution, cluster_size_summary, coverage_summary, coverage_time_km,
                                handover_rate, load_run, optimiser_distribution, optimiser_summary, ping_pong_rate,
                                se_over_time, se_summary, serving_timeline)
from simulator.analysis.compare import compare_tables, count_differences, scenario_differences
from simulator.analysis.plots import scheme_colour
from simulator.analysis.headline import headline, headline_table
from simulator.analysis.decision_age import decision_age_summary
from simulator.analysis.report import Document, Section, Table, default_timeline_choice, partial_banner, render_html
from simulator.cli import main
from simulator.engine.recorder import read_table
from simulator.engine.run import run_scenario
from simulator.scenario import SCHEMES, parse_scenario

RUN_SCHEMES = ["cf-mntn-szf", "uc-dmimo", "nct"]
POLICIES = replay_test.POLICIES
# The tiny scenario of test_replay.py (240 s, 4 users, 4 chunks of 60 s) with three schemes.
TEXT = replay_test.TEXT.replace(repr(replay_test.SCHEMES), repr(RUN_SCHEMES)).replace('name = "tiny"', 'name = "tiny-report"')
SECTIONS = {"headline", "geometry", "scenario", "handovers", "coverage", "spectral-efficiency", "decision-age", "clusters", "serving-timeline", "optimiser"}
FIGURES = {"decision-age", "handover-rate", "coverage-cdf", "se-cdf", "se-over-time", "cluster-size", "serving-timeline",
           "optimiser-cdf", "sky", "map"}
COMPARE_FIGURES = {"handover-rate", "coverage-cdf", "se-cdf", "cluster-size", "optimiser-cdf"}


class _Page(HTMLParser):
    """Collects what the tests look for: ids by tag, images, text of ids."""

    def __init__(self, text: str):
        super().__init__()
        self.ids: dict[str, str] = {}
        self.images: dict[str, str] = {}  # figure id -> img src
        self.tags: list[str] = []
        self._figure: str | None = None
        self._capture: str | None = None
        self.text: dict[str, str] = {}
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.ids[a["id"]] = tag
            if tag == "p":
                self._capture = a["id"]
                self.text[a["id"]] = ""
        if tag == "figure":
            self._figure = a.get("id")
        if tag == "img" and self._figure:
            self.images[self._figure] = a["src"]

    def handle_endtag(self, tag):
        if tag == "figure":
            self._figure = None
        if tag == "p":
            self._capture = None

    def handle_data(self, data):
        if self._capture:
            self.text[self._capture] += data


def _png(src: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    return matplotlib.image.imread(io.BytesIO(base64.b64decode(src[len(prefix):], validate=True)), format="png")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return run_scenario(parse_scenario(TEXT.replace("'", '"')), output_dir=tmp_path_factory.mktemp("run") / "tiny")


@pytest.fixture(scope="module")
def partial_dir(run_dir, tmp_path_factory):
    """A copy of the run as an interruption after two of its four chunks leaves it (the manifest
    lists two complete chunks; the files of the others stay on disk, as after a crash)."""
    out = tmp_path_factory.mktemp("partial") / "tiny"
    shutil.copytree(run_dir, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["chunks"] = manifest["chunks"][:2]
    manifest["status"], manifest["message"] = "interrupted", "interrupted; resume with --resume"
    manifest["scenario"]["seed"] = 6  # scenarios differ in one field for the comparison
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


@pytest.fixture(scope="module")
def report(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", str(run_dir), "-o", str(out)]) == 0
    return out


def test_report_has_every_section_and_a_non_blank_figure_each(report, capsys):
    page = _Page(report.read_text(encoding="utf-8"))
    assert SECTIONS <= {i for i, tag in page.ids.items() if tag == "section"}
    assert {f"fig-{f}" for f in FIGURES} == set(page.images)
    for fid, src in page.images.items():
        pixels = _png(src)
        assert pixels.ndim == 3 and pixels.shape[0] > 50 and pixels.shape[1] > 300, fid
        assert float(pixels[..., :3].var()) > 0.0, fid  # not a blank image
    assert "banner" not in page.ids  # a complete run has no partial-run banner
    assert "script" not in page.tags  # self-contained and inert


def test_csv_files_hold_the_metric_tables(report, run_dir):
    run = load_run(run_dir)
    folder = report.with_name("report_tables")
    user_id, scheme = default_timeline_choice(run)
    timeline = pd.concat([serving_timeline(run, user_id=user_id, scheme=scheme, rsap_policy=p).assign(rsap_policy=p)
                          for p in POLICIES], ignore_index=True)
    expected = {
        "handover_rate": handover_rate(run), "ping_pong": ping_pong_rate(run, window_s=10.0),
        "coverage_summary": coverage_summary(run), "coverage_km": coverage_time_km(run),
        "se_summary": se_summary(run), "se_over_time": se_over_time(run),
        "cluster_size_summary": cluster_size_summary(run), "cluster_size_distribution": cluster_size_distribution(run),
        "optimiser_summary": optimiser_summary(run), "optimiser_distribution": optimiser_distribution(run),
        "serving_timeline": timeline, "headline": headline_table(run), "headline_lanes": headline(run),
        "decision_age": decision_age_summary(run),
    }
    csv_only = {"sky_tracks"}  # checked in test_geometry_views.py
    assert {p.stem for p in folder.glob("*.csv")} == set(expected) | {"scenario"} | csv_only
    for name, frame in expected.items():
        got = pd.read_csv(folder / f"{name}.csv")
        assert list(got.columns) == list(frame.columns), name
        assert len(got) == len(frame) and len(frame) > 0, name
        for col in frame.columns:
            want = frame[col]
            if isinstance(want.dtype, pd.DatetimeTZDtype):
                pd.testing.assert_series_equal(pd.to_datetime(got[col], utc=True, format="ISO8601").astype("datetime64[ns, UTC]"),
                                               want.astype("datetime64[ns, UTC]"), check_names=False, obj=f"{name}.{col}")
            elif pd.api.types.is_bool_dtype(want) or not pd.api.types.is_numeric_dtype(want):
                assert got[col].astype(str).tolist() == want.astype(str).tolist(), (name, col)
            else:  # CSV floats are written with round-trip precision: exact agreement
                np.testing.assert_array_equal(got[col].to_numpy(float), want.to_numpy(float, na_value=np.nan),
                                              err_msg=f"{name}.{col}")
    scenario = pd.read_csv(folder / "scenario.csv")
    assert scenario.loc[scenario["field"] == "schemes", "value"].item() == ", ".join(RUN_SCHEMES)


def test_default_timeline_user_has_the_most_rsap_handovers(run_dir):
    run = load_run(run_dir)
    h = read_table(run_dir, "handovers")
    h = h[(h["kind"] == "rsap") & h["from_sat"].notna() & h["to_sat"].notna()]
    counts = h.groupby("user_id").size()
    user_id, scheme = default_timeline_choice(run)
    assert counts.loc[user_id] == counts.max()
    mine = h[h["user_id"] == user_id].groupby(h["scheme"].astype(str)).size()
    assert mine.loc[scheme] == mine.max()
    assert default_timeline_choice(run, 2, "nct") == (2, "nct")


def test_partial_run_is_reported_from_its_complete_chunks(partial_dir, tmp_path, capsys):
    out = tmp_path / "partial.html"
    assert main(["report", str(partial_dir), "-o", str(out), "--user", "1", "--scheme", "uc-dmimo"]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "partial: 2 complete chunks" in printed
    page = _Page(out.read_text(encoding="utf-8"))
    banner = page.text["banner"]
    assert "interrupted" in banner and "2 completed chunks" in banner and "2026-01-01 00:02:00 UTC" in banner
    assert {f"fig-{f}" for f in FIGURES} == set(page.images)
    sot = pd.read_csv(tmp_path / "partial_tables" / "se_over_time.csv")
    assert pd.to_datetime(sot["time"], format="ISO8601").max() <= pd.Timestamp("2026-01-01T00:02:00Z")
    timeline = pd.read_csv(tmp_path / "partial_tables" / "serving_timeline.csv")
    assert len(timeline) > 0


def test_running_run_banner_says_in_progress(partial_dir, tmp_path):
    running = tmp_path / "running"
    shutil.copytree(partial_dir, running)
    manifest = json.loads((running / "manifest.json").read_text())
    manifest["status"], manifest["message"] = "running", None
    (running / "manifest.json").write_text(json.dumps(manifest))
    assert partial_banner(load_run(running)).startswith("This run is in progress: reported from 2 completed chunks")


def test_compare_with_itself_has_no_difference(run_dir, tmp_path, capsys):
    out = tmp_path / "self.html"
    assert main(["compare", str(run_dir), str(run_dir), "-o", str(out)]) == 0
    assert "0 scenario fields differ; rows with differences: 0 (none)" in capsys.readouterr().out
    page = _Page(out.read_text(encoding="utf-8"))
    assert "banner" not in page.ids and "scenario-differences" not in page.ids and "runs" in page.ids
    assert "size-warning" not in page.ids
    folder = tmp_path / "self_tables"
    names = {"headline", "handover_rate", "ping_pong", "coverage_summary", "se_summary", "cluster_size_summary",
             "optimiser_summary"}
    assert {p.stem for p in folder.glob("*.csv")} == names | {"scenario"}
    for name in names:
        t = pd.read_csv(folder / f"{name}.csv")
        assert len(t) > 0 and (t["present"] == "both").all(), name
        assert count_differences(t) == 0, name
        diffs = t[[c for c in t.columns if c.endswith("_diff")]].to_numpy(float)
        values = t[[c for c in t.columns if c.endswith("_a")]].select_dtypes("number").to_numpy(float)
        assert np.all((diffs == 0) | np.isnan(diffs)), name
        assert np.isnan(diffs).sum() == np.isnan(values).sum(), name  # NaN only where the value itself is NaN
    assert pd.read_csv(folder / "scenario.csv")["same"].all()


def test_compare_of_two_runs_lists_their_differences(run_dir, partial_dir, tmp_path, capsys):
    out = tmp_path / "cmp.html"
    assert main(["compare", str(run_dir), str(partial_dir), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 scenario fields differ" in printed
    assert "Warning: durations differ (A 240 s, B 120 s)" in printed
    page = _Page(out.read_text(encoding="utf-8"))
    assert page.text["size-warning"].startswith("Warning: durations differ")
    assert "seed" in page.text["scenario-differences"]
    assert "Run B: This run is interrupted" in page.text["banner"]
    assert {f"fig-{f}" for f in COMPARE_FIGURES} == set(page.images)
    for src in page.images.values():
        assert float(_png(src)[..., :3].var()) > 0.0
    rates = pd.read_csv(tmp_path / "cmp_tables" / "handover_rate.csv")
    assert list(rates.columns[:8]) == ["scheme", "rsap_policy", "kind", "present", "per_user_hour_a",
                                       "per_user_hour_b", "per_user_hour_diff", "per_user_hour_rel"]
    a, b = handover_rate(load_run(run_dir)), handover_rate(load_run(partial_dir))
    merged = a.merge(b, on=["scheme", "rsap_policy", "kind"], suffixes=("_a", "_b"))
    assert len(rates) == len(merged)
    expect = (merged["per_user_hour_b"] - merged["per_user_hour_a"]).to_numpy()
    np.testing.assert_allclose(rates["per_user_hour_diff"].to_numpy(), expect, rtol=0, atol=1e-12)
    assert count_differences(rates) > 0


def test_compare_tables_known_answer():
    a = pd.DataFrame({"scheme": ["s1", "s2", "s3"], "n": [4, 0, 1], "x": [2.0, np.nan, -np.inf], "tag": ["p", "q", "r"]})
    b = pd.DataFrame({"scheme": ["s2", "s1", "s4"], "n": [3, 4, 7], "x": [np.nan, 3.0, 1.0], "tag": ["q", "p", "z"]})
    t = compare_tables(a, b, ["scheme"])
    assert t["scheme"].tolist() == ["s1", "s2", "s3", "s4"]
    assert t["present"].tolist() == ["both", "both", "A only", "B only"]
    np.testing.assert_array_equal(t["n_diff"], [0.0, 3.0, np.nan, np.nan])
    np.testing.assert_array_equal(t["n_rel"], [0.0, np.nan, np.nan, np.nan])  # A = 0: no relative difference
    np.testing.assert_array_equal(t["x_diff"], [1.0, np.nan, np.nan, np.nan])  # NaN: could not compute
    np.testing.assert_array_equal(t["x_rel"], [0.5, np.nan, np.nan, np.nan])
    assert "tag_diff" not in t.columns and t["tag_b"].tolist()[:2] == ["p", "q"]
    assert count_differences(t) == 4  # s1 (x), s2 (n; x is NaN in both: equal), s3 and s4 (one run only)
    assert count_differences(compare_tables(a, a, ["scheme"])) == 0
    assert scenario_differences({"seed": 1, "output": {"directory": "/a"}, "time": {"step_s": 1.0}},
                                {"seed": 1, "output": {"directory": "/b"}, "time": {"step_s": 2.0}}) == ["time.step_s"]


def test_html_escapes_every_text():
    nasty = "<script>alert(1)</script> & \"q\""
    doc = Document(nasty, nasty, [Section("s1", nasty, nasty, tables=[Table("t", nasty, pd.DataFrame({nasty: [nasty]}))])],
                   banner=nasty, notes=[("n", nasty)])
    text = render_html(doc, "x_tables")
    page = _Page(text)
    assert "script" not in page.tags
    assert page.text["banner"] == nasty and page.text["n"] == nasty


def test_each_scheme_has_its_own_colour():
    colours = [scheme_colour(s) for s in SCHEMES]
    assert len(set(colours)) == len(SCHEMES)


def test_cli_errors_are_one_line_with_exit_status_2(run_dir, tmp_path, capsys):
    not_a_run = tmp_path / "empty"
    not_a_run.mkdir()
    cases = [
        ["report", str(not_a_run)],
        ["report", str(tmp_path / "missing")],
        ["report", str(run_dir), "-o", str(tmp_path / "r.txt")],
        ["report", str(run_dir), "-o", str(tmp_path / "no" / "r.html")],
        ["report", str(run_dir), "--user", "99", "-o", str(tmp_path / "r.html")],
        ["report", str(run_dir), "--scheme", "spot-beam", "-o", str(tmp_path / "r.html")],
        ["report", str(run_dir), "--ping-pong-window-s", "0", "-o", str(tmp_path / "r.html")],
        ["compare", str(run_dir), str(not_a_run), "-o", str(tmp_path / "c.html")],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("leosim: error:"), (argv, err)
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "c.html").exists()


def test_the_report_states_the_link_budget_at_its_top(tmp_path):
    from simulator.analysis.report import _link_budget_line

    class Run:  # the fields the line reads
        scenario = {"radio": {"link_budget": "paper000", "n_h": 8, "n_v": 8, "tx_power_dbm": 40.0,
                              "sat_gain_dbi": 6.0, "bandwidth_mhz": 20.0, "noise_dbm": -140.0,
                              "frequency_ghz": 2.0, "ue_gain_dbi": 0.0}}

    line = _link_budget_line(Run())
    assert line.startswith("Link budget paper000") and "noise -140" in line
    Run.scenario = {}
    assert _link_budget_line(Run()) == "Link budget: not recorded in the manifest."
