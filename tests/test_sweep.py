"""Sweeps: sweep-file validation, Dask vs serial equality, rerun/resume, retries and failures, dtypes.

The real ``cf-mntn-drop`` experiment runs on tiny drops (4 satellites, 2–3 users, 2 × 2 arrays). One
2-worker LocalCluster serves the whole module.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from simulator.cli import main as cli_main
from simulator.errors import InputError
from simulator.experiments import registry
from simulator.experiments.dask_runner import local_client, run_sweep
from simulator.experiments.sweep import load_sweep, parse_sweep, read_manifest, read_sweep

REPO = Path(__file__).resolve().parents[1]
TINY = """\
name = "tiny"
experiment = "cf-mntn-drop"
seeds = 2
[base]
n_sat = 4
n_h = 2
n_v = 2
schemes = ["cf-mntn-szf", "single-smrt", "spot-beam"]
[grid]
n_user = [2, 3]
snr_db = [0, 12.5]
geometry = ["box"]
"""
#: solve_s is the optimiser's measured wall time: it differs between any two runs by construction.
TIMING_COLUMNS = ["solve_s"]


@pytest.fixture(scope="module")
def client():
    with local_client(2) as c:
        yield c


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["point", "seed", "scheme", "user_id"]
    return frame.drop(columns=TIMING_COLUMNS).sort_values(keys).reset_index(drop=True)


# -- parsing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ('experiment = "cf-mntn-drop"\nseeds = 2\ncolour = "red"\n', ["<string>:3", "colour", "unknown key"]),
    ('experiment = "cf-mntn-drop"\nseeds = 2\n[grid]\nn_sat = []\n', ["<string>:4", "grid.n_sat", "empty list"]),
    ('experiment = "cf-mntn-drop"\nseeds = 2\n[grid]\nn_sat = 20\n', ["<string>:4", "grid.n_sat", "must be a list"]),
    ('experiment = "no-such"\nseeds = 2\n', ["<string>:1", "unknown experiment 'no-such'", "cf-mntn-drop"]),
    ('experiment = "cf-mntn-drop"\nseeds = 0\n', ["<string>:2", "seeds", ">= 1"]),
    ('experiment = "cf-mntn-drop"\nseeds = 2.5\n', ["<string>:2", "seeds", "positive integer"]),
    ('experiment = "cf-mntn-drop"\nseeds = true\n', ["<string>:2", "seeds"]),
    ('experiment = "cf-mntn-drop"\nseeds = [1, -2]\n', ["<string>:2", "-2", "non-negative integer"]),
    ('experiment = "cf-mntn-drop"\nseeds = [1, 1]\n', ["<string>:2", "twice"]),
    ('experiment = "cf-mntn-drop"\n', ["seeds is missing"]),
    ('seeds = 2\n', ["experiment is missing"]),
    ('experiment = "cf-mntn-drop"\nseeds = 2\n[base]\nn_sat = 20\n[grid]\nn_sat = [10, 20]\n',
     ["<string>:6", "grid.n_sat", "also in [base]"]),
    ('experiment = "cf-mntn-drop"\nseeds = 2\n[base]\nn_sats = 20\n', ["<string>:4", "base.n_sats", "allowed: n_sat"]),
    ('experiment = "cf-mntn-drop"\nseeds = 2\n[grid]\nk_max = [8, "8K/10"]\n', ["<string>:4", "mixes types"]),
    ('experiment = "cf-mntn-drop"\nseeds = 2\n[grid]\nn_sat = [10, 10]\n', ["<string>:4", "twice"]),
    ('experiment = "cf-mntn-drop"\nseeds = 2\n[grid]\nschemes = [["spot-beam"]]\n', ["<string>:4", "[base]"]),
    ('name = "a b"\nexperiment = "cf-mntn-drop"\nseeds = 2\n', ["<string>:1", "name"]),
    ('experiment = "cf-mntn-drop"\nseeds = 2\n[grid\n', ["invalid TOML", "line 3"]),
])
def test_parse_errors_name_line_key_and_rule(text, expected):
    with pytest.raises(InputError) as err:
        parse_sweep(text)
    for part in expected:
        assert part in str(err.value)


def test_drops_override_and_its_validation():
    assert parse_sweep(TINY, drops=5).seeds == (0, 1, 2, 3, 4)
    with pytest.raises(InputError, match="--drops=0"):
        parse_sweep(TINY, drops=0)


def test_tasks_are_the_cartesian_product_with_ids_that_follow_the_parameters():
    spec = parse_sweep(TINY)
    tasks = spec.tasks()
    assert len(tasks) == 2 * 2 * 1 * 2
    # file order of the grid keys, the last one fastest; a mixed int/float list becomes floats
    assert [t.grid for t in tasks[::2]] == [
        {"n_user": 2, "snr_db": 0.0, "geometry": "box"}, {"n_user": 2, "snr_db": 12.5, "geometry": "box"},
        {"n_user": 3, "snr_db": 0.0, "geometry": "box"}, {"n_user": 3, "snr_db": 12.5, "geometry": "box"}]
    assert [(t.point, t.seed) for t in tasks[:3]] == [(0, 0), (0, 1), (1, 0)]
    assert tasks[0].params == {"n_sat": 4, "n_h": 2, "n_v": 2, "schemes": ["cf-mntn-szf", "single-smrt", "spot-beam"],
                               "n_user": 2, "snr_db": 0.0, "geometry": "box"}
    assert parse_sweep(TINY).tasks() == tasks  # stable
    edited = parse_sweep(TINY.replace("n_sat = 4", "n_sat = 5")).tasks()
    assert all(a.task_id != b.task_id and a.point == b.point and a.seed == b.seed for a, b in zip(tasks, edited))
    assert len({t.task_id for t in tasks}) == len(tasks)


# -- running ---------------------------------------------------------------------------------------
def test_two_worker_cluster_equals_serial_run(tmp_path, client):
    spec = parse_sweep(TINY)
    serial = run_sweep(spec, tmp_path / "serial", scheduler="serial", progress=False)
    dask = run_sweep(spec, tmp_path / "dask", scheduler=client, progress=False)
    assert serial.ok and dask.ok and len(serial.ran) == len(dask.ran) == 8
    assert len({s["pid"] for s in dask.ran}) == 2          # both workers took tasks
    assert {s["blas_threads"] for s in dask.ran} == {"1"}  # no BLAS oversubscription in workers
    a, b = read_sweep(tmp_path / "serial"), read_sweep(tmp_path / "dask")
    assert len(a) == serial.rows == dask.rows == 2 * (2 + 3) * 2 * 3  # seeds × users × snr × schemes
    pd.testing.assert_frame_equal(_sorted(a), _sorted(b))
    assert set(a.groupby("point")["snr_db"].first()) == {0.0, 12.5}


def test_an_existing_cluster_is_used_through_its_address(tmp_path, client):
    """``--scheduler ADDRESS``: the sweep connects to a running scheduler instead of starting one."""
    address = client.scheduler.address
    assert address.startswith("tcp://")
    result = run_sweep(parse_sweep(TINY), tmp_path / "api", scheduler=address, progress=False)
    assert result.ok and len(result.ran) == 8
    assert {s["pid"] for s in result.ran} <= set(client.run(os.getpid).values())  # the cluster's workers
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    assert cli_main(["sweep", str(path), "--scheduler", address, "-o", str(tmp_path / "cli"), "--quiet"]) == 0
    pd.testing.assert_frame_equal(_sorted(read_sweep(tmp_path / "cli")), _sorted(read_sweep(tmp_path / "api")))


def test_rerun_recomputes_only_the_deleted_partition(tmp_path, client):
    spec = parse_sweep(TINY)
    out = tmp_path / "out"
    first = run_sweep(spec, out, scheduler=client, progress=False)
    files = {t.task_id: out / t.relpath for t in spec.tasks()}
    victim = spec.tasks()[5]
    before = {k: p.stat().st_mtime_ns for k, p in files.items()}
    files[victim.task_id].unlink()
    second = run_sweep(spec, out, scheduler=client, progress=False)
    assert [s["id"] for s in second.ran] == [victim.task_id]
    assert len(second.skipped) == 7 and second.ok and second.rows == first.rows
    for key, path in files.items():
        if key != victim.task_id:
            assert path.stat().st_mtime_ns == before[key]
    assert files[victim.task_id].is_file()
    third = run_sweep(spec, out, scheduler=client, progress=False)
    assert third.ran == () and len(third.skipped) == 8
    assert read_manifest(out)["status"] == "complete"


def test_failing_task_is_retried_once_then_reported_and_others_complete(tmp_path, client):
    text = TINY.replace("n_user = [2, 3]", "n_user = [2, 0]")  # n_user = 0: the experiment raises InputError
    spec = parse_sweep(text)
    out = tmp_path / "out"
    result = run_sweep(spec, out, scheduler=client, progress=False, retries=1)
    bad = [t for t in spec.tasks() if t.grid["n_user"] == 0]
    assert sorted(f.task_id for f in result.failures) == sorted(t.task_id for t in bad)
    assert all("InputError" in f.error and "n_user" in f.error for f in result.failures)
    assert len(result.ran) == 4 and not result.ok
    for task in bad:  # the scheduler sent each failing task to a worker twice: the attempt and its retry
        story = client.run_on_scheduler(lambda dask_scheduler, prefix=f"sweep-{task.task_id}-": [
            s for s in dask_scheduler.transition_log if str(s[0]).startswith(prefix)])
        assert sum(1 for s in story if s[2] == "processing") == 2
    manifest = read_manifest(out)
    assert manifest["status"] == "failed"
    assert sorted(f["id"] for f in manifest["failures"]) == sorted(t.task_id for t in bad)
    assert all(f["params"]["n_user"] == 0 and "Traceback" in f["traceback"] for f in manifest["failures"])
    with pytest.raises(InputError, match="4 of 8 tasks have no results"):
        read_sweep(out)
    assert set(read_sweep(out, allow_missing=True)["n_user"]) == {2}


def test_serial_retry_counts_attempts(tmp_path, monkeypatch):
    calls = []

    def flaky(params, seed):
        key = (params["fail_times"], seed)
        calls.append(key)
        if params["fail_times"] >= calls.count(key):
            raise InputError(f"failing on attempt {calls.count(key)}")
        return pd.DataFrame({"value": [float(seed)]})

    monkeypatch.setitem(registry.EXPERIMENTS, "test-flaky", flaky)
    spec = parse_sweep('experiment = "test-flaky"\nseeds = 2\n[grid]\nfail_times = [0, 1, 2]\n')
    result = run_sweep(spec, tmp_path, scheduler="serial", progress=False, retries=1)
    # fail_times 0: one call; 1: fails, retried, succeeds; 2: fails twice, reported
    assert len(calls) == 2 * (1 + 2 + 2)
    assert [f.task_id for f in result.failures] == [t.task_id for t in spec.tasks() if t.grid["fail_times"] == 2]
    assert result.failures[0].error == "InputError: failing on attempt 2"


def test_read_sweep_dtypes(tmp_path):
    spec = parse_sweep(TINY)
    run_sweep(spec, tmp_path, scheduler="serial", progress=False)
    rows = read_sweep(tmp_path)
    assert list(rows.columns[:5]) == ["point", "n_user", "snr_db", "geometry", "seed"]
    assert rows["point"].dtype == "int64" and rows["seed"].dtype == "int64"
    assert rows["n_user"].dtype == "int64" and rows["snr_db"].dtype == "float64"
    assert pd.api.types.is_string_dtype(rows["geometry"]) and set(rows["geometry"]) == {"box"}
    assert rows["se_bps_hz"].dtype == "float64" and rows["user_id"].dtype == "int64"
    # each row carries the parameters of its point
    for task in spec.tasks():
        part = rows[(rows["point"] == task.point) & (rows["seed"] == task.seed)]
        assert (part["n_user"] == task.grid["n_user"]).all() and part["user_id"].max() == task.grid["n_user"] - 1


def test_edited_spec_moves_stale_partitions_aside(tmp_path):
    out = tmp_path / "out"
    run_sweep(parse_sweep(TINY), out, scheduler="serial", progress=False)
    edited = parse_sweep(TINY.replace("snr_db = [0, 12.5]", "snr_db = [0, 20.5]"))
    result = run_sweep(edited, out, scheduler="serial", progress=False)
    assert len(result.ran) == 4 and len(result.skipped) == 4 and len(result.stale) == 4
    assert len(list((out / "stale").rglob("*.parquet"))) == 4
    assert len(list((out / "data").rglob("*.parquet"))) == 8
    assert set(read_sweep(out)["snr_db"]) == {0.0, 20.5}


def test_cli_summary_and_exit_status(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text(TINY.replace("seeds = 2", "seeds = [4]"))
    assert cli_main(["sweep", str(good), "--workers", "0", "--quiet", "-o", str(tmp_path / "g")]) == 0
    text = capsys.readouterr().out
    assert "4 tasks — 4 run, 0 skipped (already done), 0 failed" in text and str(tmp_path / "g") in text
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY.replace("n_user = [2, 3]", "n_user = [0, 3]"))
    assert cli_main(["sweep", str(bad), "--workers", "0", "--quiet", "--drops", "1", "-o", str(tmp_path / "b")]) == 1
    text = capsys.readouterr().out
    assert text.count("FAILED p000") == 2 and "n_user" in text
    bad.write_text("experiment = 'cf-mntn-drop'\nseeds = 1\nfoo = 1\n")
    assert cli_main(["sweep", str(bad), "--workers", "0"]) == 2  # user error: one line, no traceback
    assert f"{bad}:3" in capsys.readouterr().err
    assert json.loads((tmp_path / "g" / "sweep.json").read_text())["spec"]["seeds"] == [4]
    assert os.path.isdir(tmp_path / "g" / "data" / "point=0000")


def test_load_sweep_reads_files(tmp_path):
    path = tmp_path / "fig.toml"
    path.write_text(TINY.replace('name = "tiny"\n', ""))
    spec = load_sweep(path)
    assert spec.name == "fig" and spec.source == str(path)


def test_shipped_smoke_sweep_parses():
    spec = load_sweep(REPO / "scenarios" / "sweep-smoke.toml")
    assert spec.experiment == "cf-mntn-drop" and len(spec.tasks()) == 3 * 80
    assert spec.base == {"n_sat": 20, "n_user": 10} and spec.grid == {"snr_db": (0.0, 15.0, 30.0)}
