"""manifest.json: contents, scenario hash, atomic saves, and clear errors on damaged manifests."""

from __future__ import annotations

import json
from importlib.metadata import version

import pytest

from simulator.engine.manifest import (
    FORMAT_VERSION,
    PACKAGES,
    Manifest,
    run_status,
    scenario_hash,
    write_atomic,
)
from simulator.engine.schemas import TABLES
from simulator.errors import InputError
from simulator.scenario import parse_scenario

TOML = """
name = "manifest-test"
seed = 5
[time]
duration_s = 120
[constellation]
tle = "shell.tle"
[users]
points = [{ name = "a", lat_deg = 10.0, lon_deg = 20.0 }]
[events]
k_max = 4
"""
T0 = 1_771_904_580_000_000_000  # 2026-02-24T03:43:00Z, ns since 1970 UTC


@pytest.fixture()
def scenario(tmp_path):
    (tmp_path / "shell.tle").write_text("element sets (content only hashed here)\n")
    return parse_scenario(TOML, base_dir=tmp_path)


def test_new_manifest_records_scenario_seed_versions(scenario, tmp_path):
    m = Manifest.create(tmp_path, scenario)
    data = json.loads((tmp_path / "manifest.json").read_text())
    assert data == m.data
    assert (data["format"], data["format_version"], data["status"], data["message"]) == (
        "leosim-run", FORMAT_VERSION, "running", None)
    assert data["seed"] == 5 and data["name"] == "manifest-test"
    assert data["scenario"] == scenario.model_dump(mode="json")
    assert data["scenario"]["constellation"]["tle"] == [str(tmp_path / "shell.tle")]  # resolved path
    assert set(data["versions"]) == {"python", *PACKAGES}
    assert data["versions"]["pyarrow"] == version("pyarrow") and data["versions"]["cvxpy"] == version("cvxpy")
    assert data["tables"] == list(TABLES) and data["chunks"] == []
    assert data["created_utc"].endswith("Z") and data["scenario_sha256"] == scenario_hash(scenario)


def test_scenario_hash_tracks_what_changes_results(scenario, tmp_path):
    same = parse_scenario(TOML, base_dir=tmp_path)
    assert scenario_hash(same) == scenario_hash(scenario)
    elsewhere = parse_scenario(TOML + "[output]\ndirectory = '/somewhere/else'\n", base_dir=tmp_path)
    assert scenario_hash(elsewhere) == scenario_hash(scenario)  # output location is not a change
    assert scenario_hash(parse_scenario(TOML.replace("k_max = 4", "k_max = 5"), base_dir=tmp_path)) != scenario_hash(scenario)
    (tmp_path / "run").mkdir()
    m = Manifest.create(tmp_path / "run", scenario)
    (tmp_path / "shell.tle").write_text("element sets, edited\n")
    assert scenario_hash(scenario) != m.data["scenario_sha256"]
    with pytest.raises(InputError, match=r"\(input .*shell.tle changed\); cannot resume"):
        m.check_scenario(scenario)
    (tmp_path / "shell.tle").unlink()
    with pytest.raises(InputError, match=r"scenario input file .*shell.tle not found"):
        scenario_hash(scenario)


def test_check_scenario_names_changed_fields(scenario, tmp_path):
    m = Manifest.create(tmp_path, scenario)
    m.check_scenario(scenario)  # unchanged: no error
    changed = parse_scenario(TOML.replace("k_max = 4", "k_max = 5").replace("seed = 5", "seed = 6"), base_dir=tmp_path)
    with pytest.raises(InputError) as info:
        m.check_scenario(changed)
    assert str(tmp_path) in str(info.value) and "(events.k_max, seed changed)" in str(info.value)


def test_chunks_status_and_run_status(scenario, tmp_path):
    m = Manifest.create(tmp_path, scenario)
    m.add_chunk(0, T0, T0 + 10**10, {"rates": 40, "events": 3}, wall_s=1.5)
    m.add_chunk(1, T0 + 10**10, T0 + 2 * 10**10, {"rates": 40}, wall_s=0.5)
    with pytest.raises(ValueError, match="chunk 3 cannot follow the manifest's chunks; next is 2"):
        m.add_chunk(3, T0, T0, {}, wall_s=0.0)
    with pytest.raises(ValueError, match="status 'done' is not one of running, complete"):
        m.set_status("done")
    m.set_status("failed", "SolverError: status infeasible")
    stored = Manifest.load(tmp_path)
    assert stored.next_chunk_index == 2 and stored.last_t_end_ns == T0 + 2 * 10**10
    first = stored.chunks[0]
    assert first["t_start_utc"] == "2026-02-24T03:43:00.000Z" and first["t_end_utc"] == "2026-02-24T03:43:10.000Z"
    assert first["rows"] == {"rates": 40, "handovers": 0, "clusters": 0, "decisions": 0, "csi": 0, "events": 3}
    status = run_status(tmp_path)
    assert (status.status, status.message, status.n_chunks) == ("failed", "SolverError: status infeasible", 2)
    assert status.rows["rates"] == 80 and status.rows["events"] == 3 and status.t_end_ns == T0 + 2 * 10**10
    with pytest.raises(InputError, match=r"rates/chunk-000000.parquet is missing but the manifest lists 40 rows"):
        stored.complete_files("rates")
    assert stored.complete_files("csi") == []  # chunks without rows have no file
    stored.mark_resumed()
    assert Manifest.load(tmp_path).status == "running" and len(Manifest.load(tmp_path).data["resumed_utc"]) == 1


def test_failed_save_keeps_the_previous_manifest(scenario, tmp_path):
    m = Manifest.create(tmp_path, scenario)
    before = (tmp_path / "manifest.json").read_bytes()
    m.data["chunks"].append({"index": 0, "bad": float("nan")})  # JSON without NaN refuses this
    with pytest.raises(ValueError):
        m.save()
    assert (tmp_path / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", "shell.tle"]

    def half_then_crash(tmp):
        tmp.write_text('{"format": "leosim-r')
        raise OSError("no space left on device")

    with pytest.raises(OSError, match="no space left"):
        write_atomic(tmp_path / "manifest.json", half_then_crash)
    assert (tmp_path / "manifest.json").read_bytes() == before and not (tmp_path / "manifest.json.tmp").exists()


@pytest.mark.parametrize(
    "content, match",
    [
        (None, r"no manifest.json; this is not a leosim run directory"),
        ('{"format": "leosim-r', r"manifest.json: not a valid manifest"),
        ('{"format": "something-else"}', r"not a leosim run manifest"),
        ('{"format": "leosim-run", "format_version": 99}', r"format_version 99 is newer than this leosim reads"),
        ('{"format": "leosim-run", "format_version": 1, "chunks": [{"index": 0}, {"index": 2}]}',
         r"chunk list is not contiguous \(\[0, 2\]"),
    ],
)
def test_damaged_manifests_are_reported(tmp_path, content, match):
    if content is not None:
        (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(InputError, match=match):
        Manifest.load(tmp_path)
