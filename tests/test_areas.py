"""[areas]: expansion into single-area scenarios, identical rows alone / serial / on Dask, failure and resume."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from compare_runs import VOLATILE  # the script beside this file
from simulator.areas.config import area_seed, centre_name, expand_areas, footprint_radius_m
from simulator.areas.execute import AREAS_MANIFEST, run_areas
from simulator.cli import main as cli_main
from simulator.engine.manifest import scenario_hash
from simulator.engine.recorder import read_table
from simulator.engine.replay import Replay
from simulator.engine.run import run_scenario
from simulator.errors import ScenarioError
from simulator.scenario import parse_scenario

HEAD = """
name = "small"
seed = 7
[time]
start_utc = 2026-01-01T00:00:00Z
duration_s = 120
[constellation]
walker = { planes = 12, per_plane = 12, altitude_km = 550, inclination_deg = 53, phasing = 1 }
[radio]
link_budget = "tr38821-s-band-handheld"
[schemes]
names = ["nct", "single-smrt"]
[output]
chunk_s = 60
"""
AREAS = """
[areas]
users = { disc = { radius_km = 150, count = 3 } }
meridian = { lon_deg = 10, lat_deg = [20, 50] }
[[areas.list]]
name = "quito"
lat_deg = -0.18
lon_deg = -78.47
"""
TABLES = ("rates", "handovers", "clusters", "decisions")


def _scenario(tmp_path: Path, areas: str = AREAS, head: str = HEAD):
    return parse_scenario(head + areas, source=str(tmp_path / "small.toml"), base_dir=tmp_path)


def _assert_same_rows(a: Path, b: Path) -> None:
    """Every table equal row by row, exactly; only the wall-clock columns (``VOLATILE``) are left out."""
    for table in TABLES:
        skip = list(VOLATILE.get(table, ()))
        pd.testing.assert_frame_equal(read_table(a, table).drop(columns=skip),
                                      read_table(b, table).drop(columns=skip), check_exact=True)


# ------------------------------------------------------------------------------------------ expansion
def test_expansion_is_one_ordinary_scenario_per_area(tmp_path):
    sc = _scenario(tmp_path)
    areas = expand_areas(sc, tmp_path / "run")
    assert list(areas) == ["quito", "lat20N_lon10E", "lat50N_lon10E"]
    q = areas["quito"]
    assert q.areas is None and q.name == "small.quito" and q.seed == area_seed(7, "quito")
    assert (q.users.disc.center_lat_deg, q.users.disc.center_lon_deg) == (-0.18, -78.47)
    assert q.users.disc.seed == q.seed and q.users.disc.radius_km == 150 and q.users.disc.count == 3
    assert q.output.directory == (tmp_path / "run" / "area=quito").resolve()
    assert q.constellation == sc.constellation and q.radio == sc.radio and q.schemes == sc.schemes


def test_area_seed_depends_on_name_and_seed_not_on_order(tmp_path):
    reordered = AREAS.replace("lat_deg = [20, 50]", "lat_deg = [50, 20]")
    a, b = expand_areas(_scenario(tmp_path)), expand_areas(_scenario(tmp_path, reordered))
    assert list(a) != list(b) and {n: s.seed for n, s in a.items()} == {n: s.seed for n, s in b.items()}
    assert all(a[n] == b[n] for n in a)
    seeds = {area_seed(7, n) for n in ("x", "y", "z")} | {area_seed(8, "x")}
    assert len(seeds) == 4 and all(0 <= s < 2**63 for s in seeds)


def test_generators_grid_centres_and_cities(tmp_path):
    (tmp_path / "cities.csv").write_text("name,lat_deg,lon_deg\n# a comment\nlisbon,38.72,-9.14\noslo,59.91,10.75\n")
    areas = expand_areas(_scenario(tmp_path, """
[areas]
users = { disc = { radius_km = 50, count = 2 } }
centres = [[1.0, 2.0]]
grid = { lat_deg = [0, 10], lon_deg = [-10, 10], step_deg = 5, lon_step_deg = 10 }
cities = "cities.csv"
"""))
    grid = [centre_name(la, lo) for la in (0, 5, 10) for lo in (-10, 0, 10)]
    assert list(areas) == ["lat1N_lon2E", *grid, "lisbon", "oslo"]
    assert "lat5N_lon10W" in areas and areas["oslo"].users.disc.center_lat_deg == 59.91


def test_area_overrides_and_own_users(tmp_path):
    areas = expand_areas(_scenario(tmp_path, """
[areas]
[[areas.list]]
name = "city"
lat_deg = 48.85
lon_deg = 2.35
seed = 5
environment = "urban"
min_elevation_deg = 30
users = { points = [ { name = "a", lat_deg = 48.8, lon_deg = 2.3 } ] }
"""))
    city = areas["city"]
    assert city.seed == 5 and city.radio.environment == "urban" and city.events.min_elevation_deg == 30
    assert [p.name for p in city.users.points] == ["a"]


@pytest.mark.parametrize("areas, message", [
    ("", "give [users] (one service area) or [areas] (several), not neither"),
    ("[areas]\nusers = { disc = { radius_km = 9, count = 1 } }\n", "declare at least one area"),
    ("[areas]\ncentres = [[1, 2]]\n", "area 'lat1N_lon2E' has no users"),
    ("[areas]\nusers = { disc = { radius_km = 9, count = 1 } }\ncentres = [[1, 2], [1, 2]]\n", "repeats"),
    ("[areas]\nusers = { disc = { radius_km = -9, count = 1 } }\ncentres = [[1, 2]]\n", "areas.users.disc.radius_km"),
    ("[areas]\nusers = { disc = { radius_km = 9, count = 1 } }\ncities = \"nope.csv\"\n", "areas.cities: file 'nope.csv'"),
    ("[[areas.list]]\nname = \"a b\"\nlat_deg = 0\nlon_deg = 0\nusers = { disc = { radius_km = 9, count = 1 } }\n",
     "area name 'a b'"),
])
def test_bad_areas_are_one_line_errors(tmp_path, areas, message):
    with pytest.raises(ScenarioError, match=re.escape(message)):
        _scenario(tmp_path, areas)


def test_users_and_areas_together_are_refused(tmp_path):
    users = "[users]\ndisc = { center_lat_deg = 1, center_lon_deg = 2, radius_km = 9, count = 1 }\n"
    with pytest.raises(ScenarioError, match="not both"):
        _scenario(tmp_path, users + AREAS)


def test_a_single_area_scenario_dumps_and_hashes_as_before(tmp_path):
    users = "[users]\ndisc = { center_lat_deg = 1, center_lon_deg = 2, radius_km = 9, count = 1 }\n"
    sc = _scenario(tmp_path, users)
    assert "areas" not in sc.model_dump() and sc.areas is None
    area = expand_areas(_scenario(tmp_path))["quito"]
    assert "areas" not in area.model_dump()
    assert scenario_hash(area) == scenario_hash(area.model_copy(update={"areas": None}))


def test_a_multi_area_scenario_round_trips_through_its_dump(tmp_path):
    (tmp_path / "cities.csv").write_text("name,lat_deg,lon_deg\nlisbon,38.72,-9.14\n")
    more = 'cities = "cities.csv"\ncentres = [[1.0, 2.0]]\ngrid = { lat_deg = [0, 5], lon_deg = [0, 5], step_deg = 5 }\n'
    sc = _scenario(tmp_path, AREAS.replace("[[areas.list]]", more + "[[areas.list]]") +
                   "[[areas.list]]\nname = \"own\"\nlat_deg = 5\nlon_deg = 6\nseed = 3\nenvironment = \"urban\"\n"
                   "users = { points = [ { name = \"a\", lat_deg = 5, lon_deg = 6 } ] }\n")
    for mode in ("python", "json"):
        dumped = sc.model_dump(mode=mode)
        assert dumped["users"] is None and dumped["areas"]["meridian"]["lat_deg"] == [20.0, 50.0]
        again = type(sc).model_validate(dumped)
        assert again == sc and again.areas == sc.areas
        assert {n: s.model_dump() for n, s in expand_areas(again).items()} == \
            {n: s.model_dump() for n, s in expand_areas(sc).items()}
    assert type(sc).model_validate_json(sc.model_dump_json()) == sc


def test_footprint_radius_against_the_slant_range_triangle():
    # At the footprint edge the satellite is seen at the mask elevation ε. In the triangle (Earth
    # centre, user, satellite) the angle at the user is 90° + ε and at the centre λ, so the law of
    # sines gives slant · cos ε = (R + h) · sin λ, with the slant range from the law of cosines.
    import math

    R, h, eps = 6_378_137.0, 550e3, math.radians(25.0)
    lam = footprint_radius_m(h, 25.0) / R
    slant = math.sqrt((R + h) ** 2 - (R * math.cos(eps)) ** 2) - R * math.sin(eps)
    assert math.isclose(slant * math.cos(eps), (R + h) * math.sin(lam), rel_tol=1e-12)
    assert footprint_radius_m(h, 89.999) < 20.0


# ------------------------------------------------------------------------------------------ execution
@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Each area replayed alone with run_scenario (in its own directory), and a serial multi-area run."""
    base = tmp_path_factory.mktemp("areas")
    sc = _scenario(base)
    alone = {}
    for name, area in expand_areas(sc, base / "alone").items():
        alone[name] = run_scenario(area)
    result = run_areas(sc, output_dir=base / "serial", workers=0, progress=False, rate_workers=0)
    return sc, alone, result


def test_serial_areas_give_the_rows_of_each_area_alone(reference):
    sc, alone, result = reference
    assert result.ok and [a.name for a in result.areas] == list(alone)
    for name, run_dir in alone.items():
        _assert_same_rows(run_dir, result.run_dir / f"area={name}")
    doc = json.loads((result.run_dir / AREAS_MANIFEST).read_text())
    assert doc["status"] == "complete" and doc["scenario"]["areas"]["meridian"]["lat_deg"] == [20.0, 50.0]
    assert [(e["name"], e["status"], e["n_users"]) for e in doc["areas"]] == [(n, "complete", 3) for n in alone]


def test_areas_on_a_two_worker_cluster_give_the_same_rows(reference, tmp_path):
    sc, alone, _ = reference
    result = run_areas(sc, output_dir=tmp_path / "dask", workers=2, progress=False)
    assert result.ok
    assert len({a.host for a in result.areas}) == 1 and all(a.peak_rss_mb > 0 for a in result.areas)
    assert len({a.pid for a in result.areas}) == len(result.areas)  # each area in its own process
    for name, run_dir in alone.items():
        _assert_same_rows(run_dir, result.run_dir / f"area={name}")


def test_area_dataset_reads_as_one_table_with_an_area_column(reference):
    from simulator.analysis.loading import read_areas_table

    sc, alone, result = reference
    rates = read_areas_table(result.run_dir, "rates")
    assert list(rates["area"].cat.categories) == list(alone)
    for name, run_dir in alone.items():
        own = rates[rates["area"] == name].drop(columns="area").reset_index(drop=True)
        pd.testing.assert_frame_equal(own, read_table(run_dir, "rates"))
    duckdb = pytest.importorskip("duckdb")
    n = duckdb.sql(f"select area, count(*) from read_parquet('{result.run_dir}/area=*/rates/chunk-*.parquet', "
                   "hive_partitioning = true) group by area order by area").fetchall()
    assert n == sorted((name, int((rates["area"] == name).sum())) for name in alone)


def test_a_failing_area_is_retried_reported_and_resumed(reference, tmp_path, monkeypatch, capsys):
    sc, alone, _ = reference
    original = Replay.run_chunk
    calls = []

    def flaky(self, t0, *args, **kwargs):
        if self.recorder.run_dir.name == "area=lat20N_lon10E" and t0 > 0:
            calls.append(t0)
            raise RuntimeError("disk on fire")
        return original(self, t0, *args, **kwargs)

    monkeypatch.setattr(Replay, "run_chunk", flaky)
    scenario_file = tmp_path / "small.toml"
    scenario_file.write_text(HEAD + AREAS)
    run = tmp_path / "run"
    code = cli_main(["run", str(scenario_file), "-o", str(run), "--workers", "0", "--retries", "2",
                     "--rate-workers", "0"])
    err = capsys.readouterr().err
    assert code == 1 and len(calls) == 3  # the first attempt and two retries, each from chunk 1
    assert "area lat20N_lon10E: failed: RuntimeError: disk on fire" in err
    doc = json.loads((run / AREAS_MANIFEST).read_text())
    assert doc["status"] == "failed"
    assert {e["name"]: e["status"] for e in doc["areas"]} == {"quito": "complete", "lat20N_lon10E": "failed",
                                                               "lat50N_lon10E": "complete"}
    failed = json.loads((run / "area=lat20N_lon10E" / "manifest.json").read_text())
    assert len(failed["chunks"]) == 1  # its first chunk is kept
    kept = {p: p.stat().st_mtime_ns for p in (run / "area=quito").rglob("*.parquet")}

    monkeypatch.setattr(Replay, "run_chunk", original)
    resumed = []
    import simulator.areas.execute as execute

    real_run_area = execute.run_area
    monkeypatch.setattr(execute, "run_area", lambda sc, **kw: resumed.append(sc.name) or real_run_area(sc, **kw))
    assert cli_main(["run", str(scenario_file), "-o", str(run), "--workers", "0", "--resume",
                     "--rate-workers", "0"]) == 0
    assert resumed == ["small.lat20N_lon10E"]
    assert {p: p.stat().st_mtime_ns for p in (run / "area=quito").rglob("*.parquet")} == kept
    for name, run_dir in alone.items():
        _assert_same_rows(run_dir, run / f"area={name}")
    assert json.loads((run / AREAS_MANIFEST).read_text())["status"] == "complete"


def test_run_directory_rules(reference, tmp_path):
    sc, _, _ = reference
    run = tmp_path / "run"
    run_areas(sc, output_dir=run, workers=0, progress=False, rate_workers=0, max_chunks=1)
    assert json.loads((run / AREAS_MANIFEST).read_text())["status"] == "interrupted"
    from simulator.errors import InputError

    with pytest.raises(InputError, match="already exists and is not empty"):
        run_areas(sc, output_dir=run, workers=0, progress=False)
    (run / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="'notes.txt', which leosim did not write"):
        run_areas(sc, output_dir=run, workers=0, progress=False, overwrite=True)
    (run / "notes.txt").unlink()
    result = run_areas(sc, output_dir=run, workers=0, progress=False, rate_workers=0, overwrite=True)
    assert result.ok


def test_repair_passes_through_to_each_area_on_resume(reference, tmp_path, capsys):
    """A damaged chunk of an unfinished area fails that area until --repair; with --repair a damaged
    chunk of a complete area is found and run again too; the rows end as each area's alone."""
    from simulator.engine.recorder import chunk_path

    sc, alone, _ = reference
    scenario_file = tmp_path / "small.toml"
    scenario_file.write_text(HEAD + AREAS)
    run = tmp_path / "run"
    run_areas(sc, output_dir=run, workers=0, progress=False, rate_workers=0, max_chunks=1)
    chunk_path(run / "area=quito", "rates", 0).write_bytes(b"not parquet")
    argv = ["run", str(scenario_file), "-o", str(run), "--workers", "0", "--rate-workers", "0", "--resume"]
    assert cli_main(argv) == 1
    err = capsys.readouterr().err
    assert re.search(r"area quito: failed: InputError: .*chunk-000000.parquet is damaged.*add --repair", err)
    statuses = {e["name"]: e["status"] for e in json.loads((run / AREAS_MANIFEST).read_text())["areas"]}
    assert statuses == {"quito": "failed", "lat20N_lon10E": "complete", "lat50N_lon10E": "complete"}
    chunk_path(run / "area=lat50N_lon10E", "rates", 1).write_bytes(b"not parquet")  # a complete area
    assert cli_main(argv) == 1
    err = capsys.readouterr().err
    assert re.search(r"area lat50N_lon10E: failed: InputError: .*chunk-000001.parquet is damaged.*add --repair", err)
    assert cli_main(argv + ["--repair"]) == 0
    err = capsys.readouterr().err
    assert "area quito: " in err and "area lat50N_lon10E: " in err and "running chunk" in err
    for name, run_dir in alone.items():
        _assert_same_rows(run_dir, run / f"area={name}")


def test_the_multi_area_directory_is_locked_while_it_runs(reference, tmp_path):
    from simulator.engine.lock import RunLock
    from simulator.errors import InputError

    sc, _, _ = reference
    run = tmp_path / "run"
    run_areas(sc, output_dir=run, workers=0, progress=False, rate_workers=0, max_chunks=1, only=["quito"])
    before = json.loads((run / AREAS_MANIFEST).read_text())
    with RunLock(run):  # another process running or resuming this directory
        for kwargs in ({"resume": True}, {"overwrite": True}):
            with pytest.raises(InputError, match=r"in use by leosim process \d+ \(run directory locked\)"):
                run_areas(sc, output_dir=run, workers=0, progress=False, rate_workers=0, **kwargs)
    assert json.loads((run / AREAS_MANIFEST).read_text()) == before  # nothing was touched
    with pytest.raises(InputError, match="--repair works with --resume"):
        run_areas(sc, output_dir=tmp_path / "other", workers=0, progress=False, repair=True)
    with pytest.raises(InputError, match="nothing to resume"):
        run_areas(sc, output_dir=tmp_path / "other", workers=0, progress=False, resume=True)
    assert not (tmp_path / "other").exists()


def test_workers_option_needs_areas(tmp_path):
    users = "[users]\ndisc = { center_lat_deg = 1, center_lon_deg = 2, radius_km = 9, count = 1 }\n"
    path = tmp_path / "one.toml"
    path.write_text(HEAD + users)
    assert cli_main(["run", str(path), "--workers", "2", "-o", str(tmp_path / "r")]) != 0


def test_the_run_writes_the_headline_by_area_and_the_latitude_figure(reference, tmp_path, capsys):
    from simulator.analysis.headline import headline
    from simulator.analysis.loading import load_run
    from simulator.areas.summary import LATITUDE_PNG, SUMMARY_CSV

    sc, alone, _ = reference
    scenario_file = tmp_path / "small.toml"
    scenario_file.write_text(HEAD + AREAS)
    run = tmp_path / "run"
    assert cli_main(["run", str(scenario_file), "-o", str(run), "--workers", "0", "--rate-workers", "0"]) == 0
    out = capsys.readouterr()
    assert "warning: areas" not in out.err  # Quito, 20° N and 50° N are thousands of km apart
    table = pd.read_csv(run / SUMMARY_CSV)
    assert list(dict.fromkeys(table["area"])) == list(alone)
    assert (run / LATITUDE_PNG).read_bytes().startswith(b"\x89PNG")
    for name, run_dir in alone.items():
        mine = table[table["area"] == name].drop(columns=["area", "lat_deg", "lon_deg"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, headline(load_run(run_dir)), check_dtype=False, rtol=1e-5)
    lat = table.groupby("area", sort=False)["lat_deg"].first()
    assert abs(lat["lat20N_lon10E"] - 20.0) < 1.0 and abs(lat["quito"] + 0.18) < 1.0  # centroid of 3 users


def test_close_areas_get_a_one_line_warning(tmp_path, capsys):
    close = AREAS.replace("lat_deg = [20, 50]", "lat_deg = [20, 25]")
    scenario_file = tmp_path / "close.toml"
    scenario_file.write_text(HEAD.replace("duration_s = 120", "duration_s = 60") + close)
    assert cli_main(["run", str(scenario_file), "-o", str(tmp_path / "run"), "--workers", "0",
                     "--rate-workers", "0"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: areas")]
    assert len(warnings) == 1 and "'lat20N_lon10E' and 'lat25N_lon10E'" in warnings[0]


def test_bench_areas_runs_every_mode_with_identical_rows(tmp_path):
    import argparse

    from simulator.bench import areas as bench

    scenario_file = tmp_path / "small.toml"
    scenario_file.write_text(HEAD + AREAS)
    rows = bench.run(argparse.Namespace(scenario=str(scenario_file), areas=2, duration_s=60.0, workers="2",
                                        declared_order=True))
    assert [r["mode"] for r in rows] == ["serial", "serial, 1 core", "2 workers", "2 workers, declared order"]
    assert all(r["rows_identical"] and r["areas"] == 2 and r["sim_s_per_area"] == 60.0 for r in rows)
    assert rows[0]["speedup"] == 1.0 and rows[1]["speedup_1core"] == 1.0
    assert rows[1]["processes"] == 1 and rows[1]["peak_rss_mb_per_process"] > 0
    assert rows[2]["processes"] == 2 and rows[2]["peak_rss_mb_per_process"] > 0  # one process per area
    assert all(r["cpu_s_all"] >= r["cpu_s"] > 0 for r in rows)  # the areas' processes were waited for
    assert rows[2]["speedup_1core"] == pytest.approx(rows[1]["wall_s"] / rows[2]["wall_s"])


def test_areas_go_to_dask_costliest_first(tmp_path):
    """More users and more satellites in view cost more: a 53° shell shows the most satellites near
    53° latitude and none near the pole (5 users at 85° N come last, behind 2 users at 50° N)."""
    from simulator.areas.execute import costliest_first

    sc = _scenario(tmp_path, """
[areas]
users = { disc = { radius_km = 50, count = 2 } }
meridian = { lon_deg = 0, lat_deg = [0, 50] }
[[areas.list]]
name = "pole"
lat_deg = 85
lon_deg = 0
users = { disc = { radius_km = 50, count = 5 } }
[[areas.list]]
name = "many"
lat_deg = 0
lon_deg = 0
users = { disc = { radius_km = 50, count = 9 } }
""", head=HEAD.replace("planes = 12, per_plane = 12", "planes = 72, per_plane = 22"))
    areas = expand_areas(sc)
    assert list(areas) == ["pole", "many", "lat0N_lon0E", "lat50N_lon0E"]
    assert costliest_first(areas, list(areas)) == ["many", "lat50N_lon0E", "lat0N_lon0E", "pole"]
    assert costliest_first(areas, ["pole"]) == ["pole"]


def test_the_area_recipes_of_outputs_md_run(reference):
    """The ``py`` blocks of docs/outputs.md's "Several service areas" (the single-run recipes are
    ``python`` blocks, run by test_output_recipes.py on a single-area run)."""
    pytest.importorskip("duckdb")
    sc, alone, result = reference
    text = (Path(__file__).resolve().parents[1] / "docs" / "outputs.md").read_text(encoding="utf-8")
    section = text[text.index("## Several service areas"):text.index("## Writing, interruption and resume")]
    blocks = re.findall(r"```py\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block.replace("runs/latitudes", str(result.run_dir)), "docs/outputs.md", "exec"), namespace)
    assert set(namespace["rates"]["area"].unique()) == set(alone)


def test_a_killed_run_loses_no_finished_area(reference, tmp_path):
    """SIGKILL of `leosim run` once its first area is complete; --resume keeps that area's files and
    finishes the others with the rows of each area alone."""
    import os
    import signal
    import subprocess
    import sys
    import time

    sc, alone, _ = reference
    scenario_file = tmp_path / "small.toml"
    scenario_file.write_text(HEAD + AREAS)
    run = tmp_path / "run"
    argv = [sys.executable, "-m", "simulator.cli", "run", str(scenario_file), "-o", str(run), "--workers", "0",
            "--rate-workers", "0"]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = run / "area=quito" / "manifest.json"
    deadline = time.monotonic() + 300
    try:
        while not (first.is_file() and json.loads(first.read_text())["status"] == "complete"):
            assert child.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    kept = {p: p.stat().st_mtime_ns for p in (run / "area=quito").rglob("*.parquet")}
    assert kept
    assert cli_main(argv[3:] + ["--resume"]) == 0
    assert {p: p.stat().st_mtime_ns for p in (run / "area=quito").rglob("*.parquet")} == kept
    for name, run_dir in alone.items():
        _assert_same_rows(run_dir, run / f"area={name}")


def test_run_scenario_refuses_a_multi_area_scenario_in_one_line(tmp_path):
    from simulator.errors import InputError

    with pytest.raises(InputError, match=r"declares \[areas\]: run it with `leosim run`"):
        run_scenario(_scenario(tmp_path), output_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


#: What the area's process runs in the killing tests: the area, but the first time area ``area_dir``
#: starts its second chunk it waits until another area is complete, notes the Parquet files written
#: so far (with their mtimes) and its own pid in ``marker``, then SIGKILLs its parent (``"parent"``:
#: the Dask worker; it waits for the lifeline to end it) or itself (``"self"``). The marker makes it
#: happen once across restarts.
_KILLING_CHILD = """
import json, os, signal, sys, time
from pathlib import Path
from simulator.engine.replay import Replay

area_dir, others, marker, victim = json.loads(sys.argv.pop(1))
original = Replay.run_chunk

def complete(d):
    try:
        return json.loads((Path(d) / "manifest.json").read_text())["status"] == "complete"
    except (OSError, ValueError, KeyError):
        return False

def run_chunk(replay, t0, *args, **kwargs):
    if str(replay.recorder.run_dir) == area_dir and t0 > 0 and not os.path.exists(marker):
        deadline = time.monotonic() + 120
        while not any(complete(d) for d in others) and time.monotonic() < deadline:
            time.sleep(0.05)
        done = [d for d in others if complete(d)]
        files = {str(p): p.stat().st_mtime_ns for d in [area_dir, *done] for p in Path(d).rglob("*.parquet")}
        Path(marker + ".tmp").write_text(json.dumps({"complete": done, "files": files, "child": os.getpid()}))
        os.replace(marker + ".tmp", marker)
        os.kill(os.getppid() if victim == "parent" else os.getpid(), signal.SIGKILL)
        time.sleep(60)
        raise AssertionError("the area's process outlived its Dask worker")
    return original(replay, t0, *args, **kwargs)

Replay.run_chunk = run_chunk
from simulator.areas.child import main
sys.exit(main())
"""


class _KillOnceMidArea:
    """Worker plugin: the worker runs its areas' processes with :data:`_KILLING_CHILD`."""

    idempotent = True

    def __init__(self, area_dir: str, others: list[str], marker: str) -> None:
        self.config = json.dumps([area_dir, others, marker, "parent"])

    def setup(self, worker) -> None:
        import sys

        import simulator.areas.child as child

        config = self.config
        child.child_command = lambda: [sys.executable, "-c", _KILLING_CHILD, config]


def test_a_dask_worker_killed_mid_area_loses_nothing(reference, tmp_path):
    """A worker process dies (SIGKILL) while its area's process runs the area, after the area's first
    chunk and once another area is complete: the area's process ends with the worker (lifeline), Dask
    runs the area again on a worker, it resumes from its last complete chunk (its first chunk's files
    are not rewritten), the finished areas are untouched, and every area's rows equal those of the
    area replayed alone."""
    import sys
    import time

    import cloudpickle
    from distributed.diagnostics.plugin import WorkerPlugin

    from simulator.experiments.dask_runner import local_client

    sc, alone, _ = reference
    run = (tmp_path / "run").resolve()
    marker = tmp_path / "killed.json"
    names = list(alone)
    victim = names[0]
    plugin_type = type("KillOnceMidArea", (_KillOnceMidArea, WorkerPlugin), {})
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers do not import this test module
    try:
        with local_client(2, processes=True) as client:  # a worker *process* to kill
            client.register_plugin(plugin_type(str(run / f"area={victim}"),
                                               [str(run / f"area={n}") for n in names[1:]], str(marker)))
            result = run_areas(sc, output_dir=run, scheduler=client, progress=False, retries=0)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    _assert_resumed_after_the_kill(result, marker, run, victim, alone)


def test_an_area_process_killed_mid_area_on_local_workers_is_retried_and_resumes(reference, tmp_path,
                                                                                 monkeypatch):
    """The default local cluster (thread workers, each area in its own process): the area's process
    dies (SIGKILL) after its first chunk, once another area is complete; Dask runs the area again, it
    resumes from its last complete chunk, the finished areas are untouched, and every area's rows
    equal those of the area replayed alone."""
    import sys

    import simulator.areas.child as child

    sc, alone, _ = reference
    run = (tmp_path / "run").resolve()
    marker = tmp_path / "killed.json"
    names = list(alone)
    victim = names[0]
    config = json.dumps([str(run / f"area={victim}"), [str(run / f"area={n}") for n in names[1:]], str(marker),
                         "self"])
    monkeypatch.setattr(child, "child_command", lambda: [sys.executable, "-c", _KILLING_CHILD, config])
    result = run_areas(sc, output_dir=run, workers=2, progress=False, retries=1)
    _assert_resumed_after_the_kill(result, marker, run, victim, alone)


def _assert_resumed_after_the_kill(result, marker: Path, run: Path, victim: str, alone: dict) -> None:
    """What a kill by :data:`_KILLING_CHILD` must leave: the run complete, the victim's first chunk and
    the areas complete before the kill not rewritten, the victim resumed to its second chunk, its
    killed process gone, and every area's rows those of the area alone."""
    import time

    killed = json.loads(marker.read_text())
    assert result.ok and killed["complete"]  # a process did die, with an area finished before
    first_chunk = [p for p in killed["files"] if f"area={victim}" in p]
    assert first_chunk and all("chunk-000000" in p for p in first_chunk)
    for path, mtime_ns in killed["files"].items():  # kept, not written again
        assert Path(path).stat().st_mtime_ns == mtime_ns, path
    assert len(json.loads((run / f"area={victim}" / "manifest.json").read_text())["chunks"]) == 2
    deadline = time.monotonic() + 5
    while _running(killed["child"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(killed["child"]), "the area's killed process still runs"
    for name, run_dir in alone.items():
        _assert_same_rows(run_dir, run / f"area={name}")


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie not yet reaped by its new parent does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_sigterm_closes_the_cluster_and_lists_the_areas_as_interrupted(reference, tmp_path):
    """SIGTERM while an area runs on a worker: the cluster closes cleanly (no leaked-semaphore
    warning), areas.json says interrupted, one final line, exit status 128 + 15; --resume finishes."""
    import signal
    import subprocess
    import sys
    import time

    sc, alone, _ = reference
    scenario_file = tmp_path / "small.toml"
    scenario_file.write_text(HEAD + AREAS)
    run = tmp_path / "run"
    argv = [sys.executable, "-m", "simulator.cli", "run", str(scenario_file), "-o", str(run), "--workers", "1"]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    try:
        while not any(json.loads(p.read_text() or "{}").get("sim_s", 0) > 0 for p in run.glob(".progress/*.json")):
            assert child.poll() is None and time.monotonic() < deadline, "the run ended before it could be stopped"
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        err = child.communicate(timeout=120)[1]
    finally:
        child.kill()
    assert child.returncode == 128 + signal.SIGTERM, err
    assert err.rstrip().splitlines()[-1] == "leosim: interrupted (SIGTERM)" and "leaked" not in err, err
    doc = json.loads((run / AREAS_MANIFEST).read_text())
    assert doc["status"] == "interrupted" and any(e["status"] != "complete" for e in doc["areas"])
    assert cli_main(argv[3:] + ["--resume", "--workers", "0", "--rate-workers", "0"]) == 0
    for name, run_dir in alone.items():
        _assert_same_rows(run_dir, run / f"area={name}")


def test_the_summary_by_area_leaves_out_a_damaged_area_and_names_it(reference, tmp_path):
    import shutil

    from simulator.areas.summary import write_area_summary
    from simulator.engine.recorder import chunk_path

    sc, alone, result = reference
    run = tmp_path / "run"
    shutil.copytree(result.run_dir, run)
    for name in ("areas_headline.csv", "areas_by_latitude.png"):
        (run / name).unlink(missing_ok=True)
    chunk_path(run / "area=quito", "rates", 1).write_bytes(b"not parquet")
    damaged: dict[str, str] = {}
    csv_path, png_path = write_area_summary(run, damaged)
    assert list(damaged) == ["quito"] and "chunk-000001.parquet" in damaged["quito"]
    table = pd.read_csv(csv_path)
    assert list(table["area"].unique()) == [n for n in alone if n != "quito"] and png_path.stat().st_size > 0


def test_an_area_failing_in_its_process_on_dask_reports_the_childs_error(reference, tmp_path):
    """On Dask the area runs in a child process of the worker: its error line (type and message)
    reaches areas.json and the AreaOutcome as the area's own, and the other areas complete."""
    from simulator.engine.recorder import chunk_path

    sc, _, _ = reference
    run = tmp_path / "run"
    run_areas(sc, output_dir=run, workers=0, progress=False, rate_workers=0, max_chunks=1)
    chunk_path(run / "area=quito", "rates", 0).write_bytes(b"not parquet")
    result = run_areas(sc, output_dir=run, workers=1, progress=False, resume=True, retries=1)
    failed = {a.name: a.error for a in result.failed}
    assert list(failed) == ["quito"]
    assert re.fullmatch(r"InputError: .*chunk-000000\.parquet is damaged.*add --repair.*", failed["quito"])
    entry = {e["name"]: e for e in json.loads((run / AREAS_MANIFEST).read_text())["areas"]}["quito"]
    assert entry["status"] == "failed" and entry["error"] == failed["quito"]


def test_a_child_that_ends_without_a_result_is_an_error_naming_the_area(reference, monkeypatch):
    import sys

    import simulator.areas.child as child
    from simulator.areas.child import AreaProcessError, run_area_in_child

    sc, _, _ = reference
    area = next(iter(expand_areas(sc, "/nonexistent").values()))
    monkeypatch.setattr(child, "child_command", lambda: [sys.executable, "-c", "import os, signal; "
                                                         "os.kill(os.getpid(), signal.SIGKILL)"])
    with pytest.raises(AreaProcessError, match=r"process of area quito ended with signal SIGKILL"):
        run_area_in_child(area)
