"""Analysis of multi-area runs: metrics grouped by area, the report by area and latitude, compare by area."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import simulator.analysis as A
from simulator.analysis import RunData, load_run
from simulator.analysis.areas import area_headline, plot_vs_latitude
from simulator.analysis.report import write_report
from simulator.areas.execute import AREAS_MANIFEST, run_areas
from simulator.cli import main as cli_main
from simulator.errors import InputError

from test_analysis_metrics import CF, HOURS, NCT, T0, _clusters, _decisions, _handovers, _rates, at
from test_areas import AREAS, HEAD, _scenario

#: Every metric that takes a run and groups by lane, with the keyword arguments it needs.
METRICS = [(A.handover_rate, {}), (A.ping_pongs, {}), (A.ping_pong_rate, {}), (A.rsap_timeline, {}),
           (A.coverage_intervals, {}), (A.coverage_time_km, {}), (A.coverage_summary, {}), (A.se_cdf, {}),
           (A.se_over_time, {}), (A.se_summary, {}), (A.cluster_size_distribution, {}),
           (A.cluster_size_summary, {}), (A.optimiser_distribution, {}), (A.optimiser_summary, {}),
           (A.headline, {}), (A.serving_changes_rate, {}),
           (A.serving_timeline, {"user_id": 0, "scheme": CF[0], "rsap_policy": CF[1]})]


# ------------------------------------------------------------------------------------ synthetic
def _two_areas():
    """Area "north": the hand-worked log of test_analysis_metrics; area "south": its nct lane only,
    with user 0's handovers removed (so its handover rates are 0)."""
    frames = {"rates": _rates(), "handovers": _handovers(), "clusters": _clusters(), "decisions": _decisions()}
    south = {t: f[f["scheme"] == NCT[0]] for t, f in frames.items()}
    south["handovers"] = south["handovers"][south["handovers"]["from_sat"].isna()]
    multi = {t: pd.concat([f.assign(area="north"), south[t].assign(area="south")], ignore_index=True)
             for t, f in frames.items()}
    window = {"window_start": T0, "window_end": at(100), "step_s": 10.0}
    return (RunData.from_frames(**multi, **window), RunData.from_frames(**frames, **window),
            RunData.from_frames(**south, **window))


@pytest.mark.parametrize("metric, kwargs", METRICS, ids=[m.__name__ for m, _ in METRICS])
def test_every_metric_groups_by_area_when_the_tables_have_an_area_column(metric, kwargs):
    multi, north, south = _two_areas()
    assert list(multi.areas) == ["north", "south"] and list(multi.rates.columns)[0] == "area"
    out = metric(multi, **kwargs)
    assert list(out.columns)[0] == "area" and list(dict.fromkeys(out["area"])) in (["north", "south"], ["north"], [])
    for name, alone in (("north", north), ("south", south)):
        mine = out[out["area"] == name].drop(columns="area").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, metric(alone, **kwargs).reset_index(drop=True), check_dtype=False,
                                      check_categorical=False)


def test_rates_by_area_are_each_areas_own():
    multi, _, _ = _two_areas()
    rate = A.handover_rate(multi)
    rsap = rate[(rate["kind"] == "rsap") & (rate["scheme"] == NCT[0])].set_index("area")
    # north: user 0 700→800→700 (2 handovers), user 1 none: 2 / (2 users · 100 s); south: none
    assert rsap.loc["north", "per_user_hour"] == pytest.approx(2 / (2 * HOURS))
    assert rsap.loc["south", "per_user_hour"] == 0.0 and rsap.loc["south", "n_users"] == 2
    wide = A.headline_table(multi)
    assert wide[["area", "scheme"]].values.tolist() == [["north", CF[0]], ["north", NCT[0]], ["south", NCT[0]]]


def test_a_synthetic_log_needs_the_area_column_in_every_table():
    with pytest.raises(InputError, match="synthetic handovers table: no 'area' column"):
        RunData.from_frames(rates=_rates().assign(area="x"), handovers=_handovers(), window_start=T0,
                            window_end=at(100), step_s=10.0)


def test_the_latitude_figure_draws_one_curve_per_scheme_and_run():
    multi, _, _ = _two_areas()
    table = A.headline(multi).assign(lat_deg=lambda f: f["area"].map({"north": 50.0, "south": -10.0}), lon_deg=0.0)
    fig = plot_vs_latitude(table)
    axes = fig.axes[:6]
    assert len(fig.axes) == 6  # 3 metrics × 2 policies present (best-channel for CF, max-service-time for NCT)
    nct_line = [line for line in axes[1].get_lines() if len(line.get_xdata())][0]
    assert list(nct_line.get_xdata()) == [-10.0, 50.0]  # sorted south to north
    both = pd.concat([table.assign(run="A"), table.assign(run="B")])
    styles = {line.get_linestyle() for line in plot_vs_latitude(both).axes[1].get_lines() if len(line.get_xdata())}
    assert styles == {"-", "--"}


# ------------------------------------------------------------------------------------ a real run
@pytest.fixture(scope="module")
def areas_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("areas_analysis")
    sc = _scenario(base, head=HEAD.replace("duration_s = 120", "duration_s = 60"))
    result = run_areas(sc, output_dir=base / "run", workers=0, progress=False, rate_workers=0)
    assert result.ok
    return sc, result.run_dir


def test_load_run_opens_a_multi_area_directory_and_groups_by_area(areas_run):
    _, run_dir = areas_run
    run = load_run(run_dir)
    doc = json.loads((run_dir / AREAS_MANIFEST).read_text())
    assert list(run.areas) == [e["name"] for e in doc["areas"]] and run.status == "complete"
    assert run.area_info["lat_deg"].tolist() == [e["lat_deg"] for e in doc["areas"]]
    table = area_headline(run)
    # computed area by area, each area's tables released after it (one area in memory at a time)
    assert not any(t in area.__dict__ for area in run.areas.values() for t in A.loading.ANALYSED_TABLES)
    for name in run.areas:
        alone = A.headline(load_run(run_dir / f"area={name}"))
        mine = table[table["area"] == name].drop(columns=["area", "lat_deg", "lon_deg"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone)
    pd.testing.assert_frame_equal(run.rates, A.loading.read_areas_table(run_dir, "rates"))


@pytest.mark.filterwarnings("error::RuntimeWarning")  # e.g. numpy's NaN from a quantile over -inf SINR
def test_report_of_a_multi_area_run(areas_run, tmp_path, capsys):
    _, src = areas_run
    run_dir = tmp_path / "run"
    shutil.copytree(src, run_dir)
    assert cli_main(["report", str(run_dir / "area=quito")]) == 0
    assert cli_main(["report", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "3 areas" in out
    html = (run_dir / "report.html").read_text()
    for anchor in ('id="headline"', 'id="fig-handovers-vs-latitude"', 'id="fig-se-vs-latitude"',
                   'id="table-headline_by_area"', 'id="area-quito"', 'id="area-lat50N_lon10E"'):
        assert anchor in html
    assert 'href="area=quito/report.html"' in html and 'href="area=lat20N_lon10E/report.html"' not in html
    by_area = pd.read_csv(run_dir / "report_tables" / "headline_lanes_by_area.csv")
    assert list(dict.fromkeys(by_area["area"])) == ["quito", "lat20N_lon10E", "lat50N_lon10E"]
    with pytest.raises(InputError, match="--user and --scheme choose one area"):
        write_report(load_run(run_dir), run_dir / "other.html", user_id=0)
    # the report's files do not stop --overwrite of the run directory
    scenario_file = tmp_path / "small.toml"
    scenario_file.write_text(HEAD.replace("duration_s = 120", "duration_s = 60") + AREAS)
    assert cli_main(["run", str(scenario_file), "-o", str(run_dir), "--workers", "0", "--rate-workers", "0",
                     "--overwrite", "--max-chunks", "1"]) == 0
    assert not (run_dir / "report.html").exists() and not (run_dir / "report_tables").exists()


def test_compare_two_multi_area_runs_by_area(areas_run, tmp_path, capsys):
    _, run_a = areas_run
    out = tmp_path / "cmp.html"
    assert cli_main(["compare", str(run_a), str(run_a), "-o", str(out)]) == 0
    assert "rows with differences: 0" in capsys.readouterr().out
    head = pd.read_csv(tmp_path / "cmp_tables" / "headline.csv")
    assert list(head.columns[:3]) == ["area", "scheme", "rsap_policy"] and set(head["present"]) == {"both"}
    assert len(head) == 3 * 2 * 2  # areas × schemes × policies
    html = out.read_text()
    assert 'id="fig-handovers-vs-latitude"' in html and 'id="fig-se-cdf"' not in html
    assert cli_main(["compare", str(run_a), str(run_a / "area=quito"), "-o", str(out)]) == 2
    assert "is a multi-area run and" in capsys.readouterr().err


def test_a_directory_with_no_started_area_is_one_line(areas_run, tmp_path):
    _, src = areas_run
    (tmp_path / AREAS_MANIFEST).write_text((src / AREAS_MANIFEST).read_text())
    with pytest.raises(InputError, match="no area has started yet"):
        load_run(tmp_path)
    assert np.isfinite(load_run(src).duration_s)


def test_the_decision_age_quantile_is_numpys_with_unserved_steps_at_minus_infinity():
    """Against np.quantile with -inf replaced by -1e300: -inf exactly when that lands far below any
    SINR, numpy's value otherwise; no warning."""
    import warnings

    from simulator.analysis.decision_age import _quantile

    rng = np.random.default_rng(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(300):
            v = rng.normal(5.0, 10.0, rng.integers(1, 40))
            v[rng.random(v.size) < rng.random()] = -np.inf
            q = float(rng.choice([0.0, 0.1, 0.5, 0.9, rng.random()]))
            finite = np.quantile(np.where(np.isinf(v), -1e300, v), q)
            got = _quantile(v, q)
            assert got == -np.inf if finite < -1e200 else got == pytest.approx(finite, rel=1e-12, abs=1e-9)
