"""The run directory under stress: locks, signals, kill -9, damaged files, other versions, full disks,
satellites that fail SGP4 or re-enter, and runs too large for memory.

Resumed and repaired runs are compared row for row with one uninterrupted run of the same scenario.
Subprocesses are used only where a real signal or a second process is the point.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from simulator.cli import main
from simulator.engine.lock import RunLock
from simulator.engine.manifest import Manifest, checkpoint_path, chunk_path
from simulator.engine.recorder import read_table
from simulator.engine.run import prepare_inputs, run_scenario
from simulator.errors import InputError
from simulator.scenario import load_scenario

TABLES = ("rates", "handovers", "clusters", "decisions", "events")
N_CHUNKS = 16
SCENARIO = f"""
name = "sturdy"
seed = 5
[time]
start_utc = 2026-01-01T00:00:00Z
duration_s = {10 * N_CHUNKS}
step_s = 2.0
[constellation]
walker = {{ planes = 6, per_plane = 8, altitude_km = 550, inclination_deg = 53, phasing = 1 }}
[users]
points = [ {{ name = "a", lat_deg = 40.0, lon_deg = -70.0 }}, {{ name = "b", lat_deg = 41.0, lon_deg = -71.0 }} ]
[radio]
n_h = 2
n_v = 2
n_beams = 4
[schemes]
names = ["single-smrt", "cf-mntn-smrt"]
rsap_policies = ["best-channel"]
[events]
min_elevation_deg = 10.0
csi_period_s = 2.0
k_max = 2
max_candidate_sats = 4
[output]
chunk_s = 10
"""


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "sturdy.toml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory, scenario_file) -> Path:
    """One uninterrupted run, the yardstick of every resumed or repaired run."""
    return run_scenario(load_scenario(scenario_file), output_dir=tmp_path_factory.mktemp("ref") / "run")


def _frames(run_dir: Path) -> dict[str, pd.DataFrame]:
    frames = {t: read_table(run_dir, t) for t in TABLES}
    frames["decisions"] = frames["decisions"].drop(columns="solve_s")  # wall-clock time
    return frames


def assert_same_rows(run_dir: Path, reference: Path) -> None:
    got, want = _frames(run_dir), _frames(reference)
    for table in TABLES:
        assert len(want[table]) > 0 or table in ("events",), table
        pd.testing.assert_frame_equal(got[table], want[table], check_exact=True, obj=table)


def _cli(capsys, *args: str) -> tuple[int, str]:
    status = main(list(args))
    return status, capsys.readouterr().err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 3 and "Traceback" not in err, err
    return err


def _leosim(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "simulator.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_chunks(run_dir: Path, proc: subprocess.Popen, n: int = 1, timeout_s: float = 120.0) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            if len(json.loads((run_dir / "manifest.json").read_text())["chunks"]) >= n:
                return
        except (OSError, ValueError, KeyError):
            pass
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"no {n} chunk(s) in {timeout_s} s")


def _gone(pids: list[int], timeout_s: float = 10.0) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return True
        time.sleep(0.1)
    return False


# ------------------------------------------------------------------------------------------ the lock
def test_a_locked_run_directory_is_refused_naming_the_holder(tmp_path, capsys, scenario_file):
    out = tmp_path / "run"
    out.mkdir()
    with RunLock(out):
        status, err = _cli(capsys, "run", str(scenario_file), "-o", str(out))
    assert status == 2
    assert f"leosim process {os.getpid()}" in _one_line(err)
    assert list(out.iterdir()) == []  # found empty, left empty


def test_sigterm_is_an_interruption_and_a_live_run_cannot_be_resumed_or_rerun(tmp_path, capsys, scenario_file,
                                                                             reference):
    out = tmp_path / "run"
    proc = _leosim("run", str(scenario_file), "-o", str(out), "--rate-workers", "1")
    try:
        _wait_for_chunks(out, proc)
        children = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        status, err = _cli(capsys, "run", str(scenario_file), "-o", str(out), "--resume")
        assert status == 2 and f"leosim process {proc.pid}" in _one_line(err)
        status, err = _cli(capsys, "run", str(scenario_file), "-o", str(out), "--overwrite")
        assert status == 2 and f"leosim process {proc.pid}" in _one_line(err)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    if proc.returncode == 0:
        pytest.skip("the run finished before SIGTERM arrived (machine too fast for this scenario)")
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    manifest = Manifest.load(out)
    assert manifest.status == "interrupted" and "SIGTERM" in manifest.data["message"]
    assert len(manifest.chunks) >= 1
    assert _gone(children), "worker processes outlived the run"
    run_scenario(load_scenario(scenario_file), output_dir=out, resume=True)
    assert_same_rows(out, reference)


def test_two_runs_started_at_once_into_one_new_directory(tmp_path, scenario_file, reference):
    out = tmp_path / "new" / "run"
    procs = [_leosim("run", str(scenario_file), "-o", str(out), "--rate-workers", "0") for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], results
    winner, loser = (0, 1) if procs[0].returncode == 0 else (1, 0)
    err = results[loser][1]
    lines = [line for line in err.strip().splitlines() if not line.startswith("leosim: warning:")]
    assert "Traceback" not in err and len(lines) == 1, err
    # refused by the lock (naming the winner) or, if it came after the winner's end, as not empty
    assert f"leosim process {procs[winner].pid}" in err or "already exists and is not empty" in err, err
    assert Manifest.load(out).status == "complete"
    assert_same_rows(out, reference)


def test_kill_9_leaves_no_orphans_and_resume_gives_the_same_rows(tmp_path, scenario_file, reference):
    out = tmp_path / "run"
    proc = _leosim("run", str(scenario_file), "-o", str(out), "--rate-workers", "1")
    try:
        _wait_for_chunks(out, proc, n=2)
        children = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        assert children, "expected a rate worker"
        proc.kill()
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert _gone(children), "the rate worker (or the resource tracker) outlived a killed run"
    assert Manifest.load(out).status == "running"  # as kill -9 left it
    run_scenario(load_scenario(scenario_file), output_dir=out, resume=True)
    assert_same_rows(out, reference)


# ------------------------------------------------------------------------------------------ damage
def _copy(reference: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    return out


@pytest.mark.parametrize("damage", ["garbage", "truncated", "deleted"])
def test_a_damaged_chunk_is_named_and_repaired(tmp_path, capsys, scenario_file, reference, damage):
    out = _copy(reference, tmp_path)
    victim = chunk_path(out, "rates", 5)
    data = victim.read_bytes()
    if damage == "garbage":
        middle = len(data) // 2
        victim.write_bytes(data[:middle] + os.urandom(1024) + data[middle + 1024:])
    elif damage == "truncated":
        victim.write_bytes(data[: len(data) // 2])
    else:
        victim.unlink()
    status, err = _cli(capsys, "report", str(out), "-o", str(tmp_path / "r.html"))
    assert status == 2 and str(victim) in _one_line(err)
    with pytest.raises(InputError, match="chunk-000005"):
        from simulator.analysis.loading import load_run

        load_run(out)  # what `leosim compare` reads
    status, err = _cli(capsys, "run", str(scenario_file), "-o", str(out), "--resume")
    assert status == 2 and str(victim) in _one_line(err) and "--repair" in err
    status, err = _cli(capsys, "run", str(scenario_file), "-o", str(out), "--resume", "--repair")
    assert status == 0, err
    assert "chunk-000005" in err  # the note says what was run again
    assert_same_rows(out, reference)
    assert Manifest.load(out).damage(checkpoints=True) is None


@pytest.mark.parametrize("damage", ["garbage", "deleted"])
def test_a_checkpoint_that_does_not_load_falls_back_to_the_one_before(tmp_path, scenario_file, reference, damage):
    out = tmp_path / "run"
    scenario = load_scenario(scenario_file)
    run_scenario(scenario, output_dir=out, max_chunks=4)
    last = checkpoint_path(out, 3)
    if damage == "garbage":
        last.write_bytes(b"\x80\x05garbage" * 10)
    else:
        last.unlink()
    notes = []
    run_scenario(scenario, output_dir=out, resume=True, notice=notes.append)
    assert any("chunk-000003.pkl" in n for n in notes), notes
    assert_same_rows(out, reference)


def test_a_checkpoint_of_another_version_is_refused_in_one_line(tmp_path, capsys, scenario_file):
    out = tmp_path / "run"
    scenario = load_scenario(scenario_file)
    run_scenario(scenario, output_dir=out, max_chunks=2)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["versions"]["leosim"] = "0.0.1"
    (out / "manifest.json").write_text(json.dumps(manifest))
    status, err = _cli(capsys, "run", str(scenario_file), "-o", str(out), "--resume")
    assert status == 2 and "leosim 0.0.1" in _one_line(err) and "checkpoint format" in err

    other = tmp_path / "other"
    run_scenario(scenario, output_dir=other, max_chunks=2)
    path = checkpoint_path(other, 1)
    path.write_bytes(pickle.dumps(pickle.loads(path.read_bytes())["state"]))  # as written before versions
    data = json.loads((other / "manifest.json").read_text())
    data["chunks"][1]["sha256"]["checkpoint"] = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    (other / "manifest.json").write_text(json.dumps(data))
    status, err = _cli(capsys, "run", str(scenario_file), "-o", str(other), "--resume")
    assert status == 2 and "no checkpoint format version" in _one_line(err)


def test_overwrite_replaces_a_run_whose_manifest_is_damaged(tmp_path, capsys, scenario_file):
    out = tmp_path / "run"
    run_scenario(load_scenario(scenario_file), output_dir=out, max_chunks=1)
    text = (out / "manifest.json").read_text()
    (out / "manifest.json").write_text(text[: len(text) // 2])
    status, err = _cli(capsys, "run", str(scenario_file), "-o", str(out), "--resume")
    assert status == 2 and "manifest" in _one_line(err)
    status, err = _cli(capsys, "run", str(scenario_file), "-o", str(out), "--overwrite")
    assert status == 0, err
    assert Manifest.load(out).status == "complete"


def test_a_full_disk_names_the_file(tmp_path, capsys, scenario_file, monkeypatch):
    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    out = tmp_path / "run"
    status, err = _cli(capsys, "run", str(scenario_file), "-o", str(out), "--rate-workers", "0")
    assert status == 2
    assert "No space left on device" in _one_line(err) and str(checkpoint_path(out, 0)) in err
    monkeypatch.undo()
    assert Manifest.load(out).status == "failed"


# ------------------------------------------------------------------------------------------ SGP4
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _falling_tle(tmp_path: Path) -> Path:
    """A satellite at ~190 km with a huge drag term (re-enters about 3 h after its epoch) and a healthy one."""
    from simulator.orbits.elements import OrbitElements
    from simulator.orbits.tle import format_tle_text

    falling = OrbitElements("FALLING", 90001, EPOCH, 53.0, 10.0, 0.0001, 0.0, 0.0, 16.2, bstar=0.05)
    healthy = OrbitElements("HEALTHY", 90002, EPOCH, 53.0, 200.0, 0.0001, 0.0, 0.0, 15.06, bstar=1e-4)
    path = tmp_path / "falling.tle"
    path.write_text(format_tle_text([falling, healthy]))
    return path


def test_sgp4_failures_and_reentries_are_found_with_their_instant(tmp_path):
    from simulator.orbits.propagate import ALTITUDE_FLOOR_M, service_screen
    from simulator.orbits.tle import load_catalog
    from simulator.timebase import to_utc_ns

    catalog = load_catalog(_falling_tle(tmp_path))
    epoch = to_utc_ns(EPOCH)
    report = service_screen(catalog, epoch, int(6 * 3600e9))
    assert [r["sat_id"] for r in report.removed] == [90001]
    record = report.removed[0]
    assert record["code"] is None and "floor" in record["reason"]
    retired = int(report.retired_utc_ns[0])
    assert report.retired_utc_ns[1] == np.iinfo(np.int64).max
    # the instant is where the height crosses the floor, to the millisecond
    from simulator.orbits.propagate import _failure
    from sgp4.api import SatrecArray

    arr = SatrecArray([catalog.satrecs[0]])
    _, h = _failure(arr, epoch, np.array([retired - epoch - 2_000_000, retired - epoch], dtype=np.int64))
    assert h[0, 0] >= ALTITUDE_FLOOR_M > h[0, 1]
    # days later SGP4 itself fails: an error code is recorded, from the first instant
    late = service_screen(catalog, epoch + int(2 * 86400e9), int(60e9))
    assert late.removed[0]["code"] in range(1, 7) and late.removed[0]["first_failing_utc"].startswith("2026-01-03")


def test_a_reentering_satellite_leaves_service_at_the_floor_instant(tmp_path, capsys):
    from simulator.orbits.geodesy import ecef_to_geodetic
    from simulator.orbits.propagate import propagate_ecef, service_screen
    from simulator.orbits.tle import load_catalog
    from simulator.timebase import format_iso8601_ms, ns_since_epoch_to_jd, to_utc_ns

    tle = _falling_tle(tmp_path)
    catalog = load_catalog(tle)
    epoch = to_utc_ns(EPOCH)
    retired = int(service_screen(catalog, epoch, int(6 * 3600e9)).retired_utc_ns[0])
    start = retired - int(20e9)
    jd, fr = ns_since_epoch_to_jd(start, np.array([int(10e9)]))
    lat, lon, _ = ecef_to_geodetic(propagate_ecef(catalog.subset([0]), jd, fr).positions_m[0, 0])
    scenario = tmp_path / "fall.toml"
    scenario.write_text(SCENARIO.replace(
        'walker = { planes = 6, per_plane = 8, altitude_km = 550, inclination_deg = 53, phasing = 1 }',
        f'tle = "{tle.name}"').replace("start_utc = 2026-01-01T00:00:00Z",
                                        f"start_utc = {format_iso8601_ms(start)}").replace(
        f"duration_s = {10 * N_CHUNKS}", "duration_s = 40").replace(
        '{ name = "a", lat_deg = 40.0, lon_deg = -70.0 }, { name = "b", lat_deg = 41.0, lon_deg = -71.0 }',
        f'{{ name = "under", lat_deg = {float(lat):.4f}, lon_deg = {float(lon):.4f} }}'))
    out = tmp_path / "run"
    status = main(["run", str(scenario), "-o", str(out), "--rate-workers", "0"])
    captured = capsys.readouterr()
    printed = captured.out
    assert status == 0
    assert "1 satellite(s) fail SGP4 or re-enter" in captured.err and "90001 FALLING" in captured.err
    assert "1 satellite(s) removed from service" in printed and "90001 FALLING" in printed
    service = Manifest.load(out).data["service"]
    assert service["n_removed"] == 1 and service["removed_from_service"][0]["sat_id"] == 90001
    rates = read_table(out, "rates")
    t_ns = rates["time"].astype("int64").to_numpy()
    served = rates["rsap_sat"].to_numpy(dtype=float, na_value=np.nan) == 90001
    assert served[t_ns < retired].any(), "the falling satellite should serve the user under it before re-entry"
    assert not served[t_ns >= retired].any(), "a re-entered satellite kept serving"


# ------------------------------------------------------------------------------------------ memory
def test_memory_estimate_refuses_with_the_estimate_and_the_knob(tmp_path, capsys):
    from simulator.engine.footprint import check_memory
    from simulator.scenario import parse_scenario

    text = SCENARIO.replace(
        'walker = { planes = 6, per_plane = 8, altitude_km = 550, inclination_deg = 53, phasing = 1 }',
        'preset = "starlink-shell1"').replace(
        'points = [ { name = "a", lat_deg = 40.0, lon_deg = -70.0 }, { name = "b", lat_deg = 41.0, lon_deg = -71.0 } ]',
        "disc = { center_lat_deg = 42.0, center_lon_deg = -71.0, radius_km = 300, count = 100000 }").replace(
        "chunk_s = 10", "chunk_s = 600").replace("step_s = 2.0", "step_s = 1.0").replace("csi_period_s = 2.0", "")
    scenario = parse_scenario(text)
    inputs = prepare_inputs(scenario)
    with pytest.raises(InputError, match=r"estimated peak memory .* GiB .*users\.disc\.count.*output\.chunk_s"):
        check_memory(scenario, inputs, limit_bytes=24 * 2**30)
    from simulator.engine.footprint import candidate_satellites, estimate_peak_bytes

    # the measurements the model was fitted to (starlink-shell1, 150 km disc, 60 s chunks)
    c = candidate_satellites(1584, 550e3, 25.0, 150e3, 60.0)
    assert 0.6e9 < estimate_peak_bytes(200, c, 60) < 1.0e9  # measured 0.67 GB
    assert estimate_peak_bytes(600, c, 60) > 3.16e9 and estimate_peak_bytes(2000, c, 60) > 19.6e9  # lower bounds
    small = parse_scenario(text.replace("count = 100000", "count = 100"))
    assert check_memory(small, prepare_inputs(small), limit_bytes=24 * 2**30) < 4 * 2**30
    # through the CLI, on this machine: nothing is written
    path = tmp_path / "big.toml"
    path.write_text(text)
    status, err = _cli(capsys, "run", str(path), "-o", str(tmp_path / "out"))
    from simulator.engine.footprint import machine_memory_bytes

    if machine_memory_bytes() and check_memory(scenario, inputs, limit_bytes=2**62) > machine_memory_bytes():
        assert status == 2 and "estimated peak memory" in _one_line(err)
        assert not (tmp_path / "out").exists()


def test_a_signal_interruption_survives_being_rebuilt_from_its_args():
    # SimPy re-raises an exception escaping a process as type(exc)(*exc.args)
    from simulator.engine.run import RunInterrupted

    exc = RunInterrupted(signal.SIGTERM)
    again = type(exc)(*exc.args)
    assert again.signum == signal.SIGTERM and str(again) == "SIGTERM" and isinstance(again, KeyboardInterrupt)
