"""Run directory: Parquet round trip (pandas, DuckDB), atomic chunks, crash + resume, refusals, memory."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from simulator.constants import NS_PER_S
from simulator.engine import recorder as recorder_module
from simulator.engine.manifest import run_status
from simulator.engine.recorder import chunk_files, open_run, read_table
from simulator.engine.schemas import COLUMNS, HANDOVER_KINDS, SCHEMAS, TABLES, TIME
from simulator.errors import InputError
from simulator.scenario import parse_scenario

SCENARIO = """
name = "recorder-test"
seed = 11
[time]
start_utc = 2026-02-24T03:43:00Z
duration_s = 60
step_s = 1.0
[constellation]
preset = "iridium"
[users]
disc = { center_lat_deg = 42.36, center_lon_deg = -71.06, radius_km = 50, count = 4 }
[schemes]
names = ["cf-mntn-smrt", "nct"]
rsap_policies = ["best-channel"]
[output]
chunk_s = 10
"""
T0 = 1_771_904_580_000_000_000  # 2026-02-24T03:43:00Z in ns since 1970 UTC
CHUNK_NS = 10 * NS_PER_S
N_STEP, N_USER = 3, 4
DOCS = Path(__file__).resolve().parents[1] / "docs" / "outputs.md"


@pytest.fixture()
def scenario():
    return parse_scenario(SCENARIO)


@pytest.fixture()
def run_dir(tmp_path):
    return tmp_path / "run"


def fill_chunk(rec, index: int) -> dict[str, dict[str, np.ndarray]]:
    """Append known rows for chunk ``index`` to every table; return them as flat expected columns."""
    t = T0 + index * CHUNK_NS + np.arange(N_STEP, dtype=np.int64) * NS_PER_S
    users = np.arange(N_USER, dtype=np.int32)
    se = (index + 1) * np.arange(1, N_STEP * N_USER + 1, dtype=float).reshape(N_STEP, N_USER) / 7.0
    served = users % 2 == 0  # odd users have no service
    se[:, ~served] = 0.0
    with np.errstate(divide="ignore"):
        sinr = 10.0 * np.log10(np.exp2(se) - 1.0)  # -inf where unserved (SINR 0)
    sats = np.array([25_001, 25_002, 25_003, 25_004], dtype=np.int64)
    rec.append("rates", time=t[:, None], scheme="nct", rsap_policy="best-channel", user_id=users[None, :],
               se_bps_hz=se, sinr_db=sinr, n_serving=np.where(served, 1, 0)[None, :],
               rsap_sat=np.ma.masked_array(np.broadcast_to(sats, se.shape), mask=np.broadcast_to(~served, se.shape)))
    rec.append("handovers", time=t[1], scheme="nct", rsap_policy="best-channel", user_id=np.array([0, 2]),
               kind=np.array(["rsap", "cluster_join"]), from_sat=np.ma.masked_array([25_001, 0], mask=[False, True]),
               to_sat=np.array([25_002, 25_004]), reason=np.array(["better_channel", "update"]))
    rec.append("clusters", time=t[1], scheme="nct", rsap_policy="best-channel", user_id=np.array([0, 2]),
               sat_id=np.array([25_002, 25_004]), power_weight=np.array([1.0, 0.5]))
    rec.append("decisions", time=t[1], scheme="nct", trigger="set", n_sats=2, n_users=N_USER, inner_iters=0,
               outer_iters=0, solve_s=0.25, min_sinr_db=-np.inf, status="optimal")
    rec.append("events", time=np.array([t[0], t[2]]), kind=np.array(["set", "rise"]),
               sat_id=np.ma.masked_array([25_001, 0], mask=[False, True]))
    rates = {"time": np.repeat(t, N_USER), "user_id": np.tile(users, N_STEP), "se_bps_hz": se.ravel(),
             "sinr_db": sinr.ravel(), "rsap_sat": np.where(np.tile(served, N_STEP), np.tile(sats, N_STEP), -1)}
    events = {"time": np.array([t[0], t[2]]), "kind": np.array(["set", "rise"])}
    return {"rates": rates, "events": events}


def write_chunks(rec, indices) -> list[dict]:
    expected = []
    for i in indices:
        expected.append(fill_chunk(rec, i))
        rec.close_chunk(i, T0 + (i + 1) * CHUNK_NS, t_start_ns=T0 + i * CHUNK_NS)
    return expected


def concat(expected: list[dict], table: str, column: str) -> np.ndarray:
    return np.concatenate([e[table][column] for e in expected])


def chunk_names(run_dir: Path, table: str) -> list[str]:
    return sorted(p.name for p in (run_dir / table).iterdir()) if (run_dir / table).is_dir() else []


# ------------------------------------------------------------------------ round trip
def test_pandas_round_trip_values_and_dtypes(scenario, run_dir):
    rec, first = open_run(run_dir, scenario)
    assert first == 0
    expected = write_chunks(rec, [0, 1])
    rec.finish("complete")
    rates = read_table(run_dir, "rates")
    assert len(rates) == 2 * N_STEP * N_USER
    assert str(rates["time"].dtype) == "datetime64[ns, UTC]"
    np.testing.assert_array_equal(rates["time"].array.asi8, concat(expected, "rates", "time"))
    np.testing.assert_array_equal(rates["user_id"].to_numpy(), concat(expected, "rates", "user_id"))
    np.testing.assert_array_equal(rates["se_bps_hz"].to_numpy(), concat(expected, "rates", "se_bps_hz"))
    np.testing.assert_array_equal(rates["sinr_db"].to_numpy(), concat(expected, "rates", "sinr_db"))  # -inf kept
    rsap = rates["rsap_sat"].to_numpy(dtype=float, na_value=-1.0)
    np.testing.assert_array_equal(rsap, concat(expected, "rates", "rsap_sat"))
    assert rates["rsap_sat"].isna().sum() == 2 * N_STEP * N_USER // 2  # unserved users: null, not -1
    assert (rates.loc[rates["rsap_sat"].isna(), "n_serving"] == 0).all()
    dtypes = {c: str(t) for c, t in rates.dtypes.items()}
    assert dtypes == {"time": "datetime64[ns, UTC]", "scheme": "category", "rsap_policy": "category",
                      "user_id": "int32", "se_bps_hz": "float64", "sinr_db": "float64", "n_serving": "int16",
                      "rsap_sat": "Int64", "decision_age_s": "float64"}
    hand = read_table(run_dir, "handovers")
    assert hand["kind"].tolist() == ["rsap", "cluster_join"] * 2
    assert hand["from_sat"].isna().tolist() == [False, True] * 2
    assert hand["from_beam"].isna().all() and str(hand["from_beam"].dtype) == "Int32"  # omitted → null
    events = read_table(run_dir, "events")
    np.testing.assert_array_equal(events["time"].array.asi8, concat(expected, "events", "time"))
    assert events["kind"].tolist() == concat(expected, "events", "kind").tolist()
    assert events["user_id"].isna().all()


def test_duckdb_reads_the_same_values(scenario, run_dir):
    rec, _ = open_run(run_dir, scenario)
    expected = write_chunks(rec, [0, 1, 2])
    rec.finish("complete")
    con = duckdb.connect()
    glob = str(run_dir / "rates" / "*.parquet")
    rows = con.sql(
        f"SELECT epoch_ns(time) AS ns, typeof(time) AS ttype, scheme, user_id, se_bps_hz, sinr_db, rsap_sat "
        f"FROM read_parquet('{glob}') ORDER BY ns, user_id"
    ).fetchall()
    ns, ttype, scheme, user, se, sinr, rsap = map(list, zip(*rows))
    assert set(ttype) == {"TIMESTAMP WITH TIME ZONE"} or set(ttype) == {"TIMESTAMPTZ_NS"}
    np.testing.assert_array_equal(ns, concat(expected, "rates", "time"))  # exact to the nanosecond
    assert set(scheme) == {"nct"}
    np.testing.assert_array_equal(user, concat(expected, "rates", "user_id"))
    np.testing.assert_array_equal(se, concat(expected, "rates", "se_bps_hz"))
    np.testing.assert_array_equal(sinr, concat(expected, "rates", "sinr_db"))
    np.testing.assert_array_equal([-1 if r is None else r for r in rsap], concat(expected, "rates", "rsap_sat"))
    files = [str(p) for p in chunk_files(run_dir, "rates")]
    assert con.sql(f"SELECT count(*) FROM read_parquet({files})").fetchall() == [(len(ns),)]


def test_every_parquet_file_carries_the_declared_schema(scenario, run_dir):
    rec, _ = open_run(run_dir, scenario)
    write_chunks(rec, [0])
    rec.finish("complete")
    for table in ("rates", "handovers", "clusters", "decisions", "events"):
        stored = pq.read_schema(run_dir / table / "chunk-000000.parquet")
        assert stored.equals(SCHEMAS[table], check_metadata=False), table
        assert stored.field("time").type == TIME and stored.field("time").type.tz == "UTC"
        assert stored.field("time").metadata[b"unit"] == b"ns, UTC"
    assert not (run_dir / "csi").exists()  # no rows in a chunk → no file


def test_empty_tables_and_empty_files_read_with_their_columns(scenario, run_dir):
    rec, _ = open_run(run_dir, scenario)
    write_chunks(rec, [0])
    rec.finish("complete")
    csi = read_table(run_dir, "csi")
    assert csi.empty and list(csi.columns) == SCHEMAS["csi"].names
    full_dtypes = read_table(run_dir, "events").dtypes.astype(str)
    # A writer that stores an empty file for an empty table must read the same way.
    pq.write_table(SCHEMAS["events"].empty_table(), run_dir / "events" / "chunk-000000.parquet")
    empty = read_table(run_dir, "events")
    assert empty.empty and empty.dtypes.astype(str).equals(full_dtypes)
    assert list(read_table(run_dir, "rates", columns=["user_id"]).columns) == ["user_id"]


def test_rows_stream_in_row_groups_and_round_trip(scenario, run_dir):
    rec, _ = open_run(run_dir, scenario)
    rec.row_group_rows = 100
    for step in range(25):  # 25 appends of 10 rows → streamed every 100 rows
        rec.append("events", time=T0 + step, kind="rise", sat_id=np.arange(10) + 1)
        assert rec.buffered_rows()["events"] < 100
    assert not (run_dir / "events" / "chunk-000000.parquet").exists()  # only the *.tmp until close
    assert (run_dir / "events" / "chunk-000000.parquet.tmp").exists()
    rec.close_chunk(0, T0 + CHUNK_NS, t_start_ns=T0)
    assert pq.ParquetFile(run_dir / "events" / "chunk-000000.parquet").num_row_groups == 3
    events = read_table(run_dir, "events")
    np.testing.assert_array_equal(events["sat_id"].to_numpy(dtype=np.int64), np.tile(np.arange(10) + 1, 25))
    np.testing.assert_array_equal(events["time"].array.asi8, np.repeat(T0 + np.arange(25), 10))


def test_appended_rows_are_copied(scenario, run_dir):
    rec, _ = open_run(run_dir, scenario)
    sat = np.ma.masked_array([7, 8], mask=[False, True])
    times = np.array([T0, T0 + 1])
    rec.append("events", time=times, kind="rise", sat_id=sat)
    sat[:] = 9  # the engine reuses its arrays; the recorded rows must not change
    sat.mask[:] = [True, False]
    times += 5
    rec.close_chunk(0, T0 + CHUNK_NS, t_start_ns=T0)
    events = read_table(run_dir, "events")
    assert events["sat_id"].tolist() == [7, pd.NA] and events["time"].array.asi8.tolist() == [T0, T0 + 1]


# ------------------------------------------------------------------------ crash and resume
def test_crash_between_files_then_resume(scenario, run_dir, monkeypatch):
    rec, _ = open_run(run_dir, scenario)
    expected = write_chunks(rec, [0])
    fill_chunk(rec, 1)
    real_commit, calls = recorder_module.commit_tmp, []

    def crash_on_second(tmp, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk unplugged")
        real_commit(tmp, path)

    monkeypatch.setattr(recorder_module, "commit_tmp", crash_on_second)
    with pytest.raises(OSError, match="disk unplugged"):
        rec.close_chunk(1, T0 + 2 * CHUNK_NS)
    monkeypatch.undo()
    # Process dies here (no finish): rates/chunk-1 renamed, handovers/chunk-1 still *.tmp, manifest lists chunk 0.
    assert "chunk-000001.parquet" in chunk_names(run_dir, "rates")
    assert "chunk-000001.parquet.tmp" in chunk_names(run_dir, "handovers")
    assert run_status(run_dir).n_chunks == 1 and run_status(run_dir).status == "running"
    assert len(read_table(run_dir, "rates")) == N_STEP * N_USER  # readers see only the complete chunk
    assert len(read_table(run_dir, "rates", complete_only=False)) == 2 * N_STEP * N_USER

    rec, first = open_run(run_dir, scenario, resume=True)
    assert first == 1
    assert chunk_names(run_dir, "rates") == ["chunk-000000.parquet"]
    assert chunk_names(run_dir, "handovers") == ["chunk-000000.parquet"]
    expected += write_chunks(rec, [1, 2])
    rec.finish("complete")
    rates = read_table(run_dir, "rates")
    np.testing.assert_array_equal(rates["time"].array.asi8, concat(expected, "rates", "time"))  # no duplicates
    status = run_status(run_dir)
    assert (status.status, status.n_chunks, status.t_end_ns) == ("complete", 3, T0 + 3 * CHUNK_NS)
    assert status.rows["rates"] == 3 * N_STEP * N_USER and status.rows["csi"] == 0


def test_leftover_tmp_files_are_ignored_and_cleaned_on_resume(scenario, run_dir):
    rec, _ = open_run(run_dir, scenario)
    write_chunks(rec, [0, 1])
    stray = [run_dir / "rates" / "chunk-000002.parquet.tmp", run_dir / "manifest.json.tmp",
             run_dir / "events" / "chunk-000002.parquet"]
    for p in stray:
        p.write_bytes(b"half a file")
    assert len(read_table(run_dir, "rates")) == 2 * N_STEP * N_USER
    assert len(read_table(run_dir, "events")) == 4
    rec, first = open_run(run_dir, scenario, resume=True)
    assert first == 2 and not any(p.exists() for p in stray)
    assert run_status(run_dir).status == "running"


def test_finish_failed_and_context_manager_discard_the_partial_chunk(scenario, run_dir):
    rec, _ = open_run(run_dir, scenario)
    write_chunks(rec, [0])
    rec.row_group_rows = 1  # force a *.tmp file for the partial chunk
    fill_chunk(rec, 1)
    rec.finish("failed", "SolverError: infeasible")
    assert all(not name.startswith("chunk-000001") for t in TABLES for name in chunk_names(run_dir, t))
    status = run_status(run_dir)
    assert (status.status, status.message, status.n_chunks) == ("failed", "SolverError: infeasible", 1)
    rec, first = open_run(run_dir, scenario, resume=True)
    with pytest.raises(KeyboardInterrupt):
        with rec:
            fill_chunk(rec, first)
            raise KeyboardInterrupt
    assert run_status(run_dir).status == "interrupted"
    rec, first = open_run(run_dir, scenario, resume=True)
    with rec:
        write_chunks(rec, [first])
    assert run_status(run_dir).status == "complete" and run_status(run_dir).n_chunks == 2


# ------------------------------------------------------------------------ refusals
def test_existing_run_is_refused_without_a_flag(scenario, run_dir):
    rec, _ = open_run(run_dir, scenario)
    write_chunks(rec, [0])
    rec.finish("complete")
    with pytest.raises(InputError) as info:
        open_run(run_dir, scenario)
    message = str(info.value)
    assert str(run_dir) in message and "--resume" in message and "--overwrite" in message
    assert "\n" not in message
    with pytest.raises(InputError, match="not both"):
        open_run(run_dir, scenario, resume=True, overwrite=True)
    rec, first = open_run(run_dir, scenario, overwrite=True)
    assert first == 0 and run_status(run_dir).n_chunks == 0
    assert chunk_names(run_dir, "rates") == [] and read_table(run_dir, "rates").empty


def test_overwrite_refuses_directories_leosim_did_not_write(scenario, tmp_path):
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "chapter1.tex").write_text("precious")
    with pytest.raises(InputError, match="not a leosim run directory; refusing"):
        open_run(foreign, scenario, overwrite=True)
    assert (foreign / "chapter1.tex").read_text() == "precious"
    run = tmp_path / "run"
    rec, _ = open_run(run, scenario)
    write_chunks(rec, [0])
    (run / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"holds files leosim did not write \(notes.txt\)"):
        open_run(run, scenario, overwrite=True)
    assert (run / "notes.txt").exists() and (run / "rates" / "chunk-000000.parquet").exists()
    with pytest.raises(InputError, match="nothing to resume"):
        open_run(tmp_path / "absent", scenario, resume=True)
    with pytest.raises(InputError, match="not a directory"):
        open_run(foreign / "chapter1.tex", scenario)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert open_run(empty, scenario)[1] == 0  # an empty folder is fine without a flag


def test_resume_refuses_a_changed_scenario(scenario, run_dir, tmp_path):
    rec, _ = open_run(run_dir, scenario)
    write_chunks(rec, [0])
    changed = parse_scenario(SCENARIO.replace("seed = 11", "seed = 12"))
    with pytest.raises(InputError, match=r"seed changed\); cannot resume\. Use --overwrite"):
        open_run(run_dir, changed, resume=True)
    moved = parse_scenario(SCENARIO.replace("chunk_s = 10", f"chunk_s = 10\ndirectory = '{tmp_path / 'b'}'"))
    assert open_run(run_dir, moved, resume=True)[1] == 1  # where the output goes is not a change


# ------------------------------------------------------------------------ memory and validation
def test_buffers_are_empty_after_every_chunk_close(scenario, run_dir):
    rec, _ = open_run(run_dir, scenario)
    sats = np.arange(50, dtype=np.int64) + 1
    for i in range(200):
        t0 = T0 + i * CHUNK_NS
        rec.append("events", time=t0 + np.arange(50), kind="rise", sat_id=sats, user_id=np.int32(0))
        assert rec.buffered_rows()["events"] == 50 and rec.buffered_nbytes() > 0
        rec.close_chunk(i, t0 + CHUNK_NS, t_start_ns=t0 if i == 0 else None)
        assert set(rec.buffered_rows().values()) == {0} and rec.buffered_nbytes() == 0
    rec.finish("complete")
    assert run_status(run_dir).rows["events"] == 200 * 50
    assert len(chunk_names(run_dir, "events")) == 200


@pytest.mark.parametrize(
    "table, columns, error, match",
    [
        ("rate", {}, ValueError, r"unknown table 'rate'; tables are: rates, handovers"),
        ("events", {"kind": "rise", "satid": 3}, ValueError, r"events: unknown column\(s\) satid; columns are: time"),
        ("events", {"kind": "rise"}, ValueError, r"events: required column\(s\) missing: time"),
        ("events", {"time": 1.5, "kind": "rise"}, TypeError, r"events.time: expected datetime64 or integer ns"),
        ("events", {"time": np.datetime64("NaT"), "kind": "rise"}, ValueError, "events.time: NaT is not a time"),
        ("events", {"time": 0, "kind": "sunrise"}, ValueError, r"events.kind: value 'sunrise' is not allowed"),
        ("events", {"time": 0, "kind": 3}, TypeError, r"events.kind: expected strings, got dtype int64"),
        ("events", {"time": 0, "kind": np.array(["rise", None], dtype=object)}, TypeError,
         r"events.kind: expected strings, got \['NoneType', 'str'\]"),
        ("events", {"time": 0, "kind": "rise", "sat_id": np.array([1.0, np.nan])}, TypeError,
         r"events.sat_id: expected integers \(int64\), got dtype float64; mark nulls with a numpy masked array"),
        ("events", {"time": 0, "kind": "rise", "sat_id": -1}, ValueError,
         r"events.sat_id: negative value -1; it must be >= 0 \(mark 'none' as null"),
        ("events", {"time": 0, "kind": None}, ValueError, "events.kind is required and cannot be None"),
        ("events", {"time": [0, 1, 2], "kind": ["rise", "set"]}, ValueError,
         r"events: column shapes do not broadcast: time\(3,\), kind\(2,\)"),
        ("rates", {"time": 0, "scheme": "nct", "rsap_policy": "best-channel", "user_id": 0, "se_bps_hz": 1.0,
                   "sinr_db": 0.0, "n_serving": 40_000}, ValueError, r"rates.n_serving: values 40000..40000 do not fit in int16"),
        ("rates", {"time": 0, "scheme": "cf-mntn", "rsap_policy": "best-channel", "user_id": 0, "se_bps_hz": 1.0,
                   "sinr_db": 0.0, "n_serving": 1}, ValueError, r"rates.scheme: value 'cf-mntn' is not allowed"),
        ("rates", {"time": 0, "scheme": "nct", "rsap_policy": "best-channel", "user_id": 0, "se_bps_hz": "1",
                   "sinr_db": 0.0, "n_serving": 1}, TypeError, r"rates.se_bps_hz: expected real numbers"),
        ("rates", {"time": 0, "scheme": "nct", "rsap_policy": "best-channel", "user_id": 0, "se_bps_hz": 1.0,
                   "sinr_db": np.ma.masked_array([0.0], mask=[True]), "n_serving": 1}, ValueError,
         r"rates.sinr_db is required: it cannot hold nulls"),
    ],
)
def test_bad_rows_give_a_clear_error_and_buffer_nothing(scenario, run_dir, table, columns, error, match):
    rec, _ = open_run(run_dir, scenario)
    with pytest.raises(error, match=match):
        rec.append(table, **columns)
    assert set(rec.buffered_rows().values()) == {0}


def test_close_chunk_checks_index_window_and_finish(scenario, run_dir):
    rec, _ = open_run(run_dir, scenario)
    rec.append("events", time=T0 + 5, kind="rise")
    with pytest.raises(ValueError, match="first of the run: give t_start_ns"):
        rec.close_chunk(0, T0 + CHUNK_NS)
    with pytest.raises(ValueError, match=r"close_chunk\(3\): the chunk in progress is 0"):
        rec.close_chunk(3, T0 + CHUNK_NS, t_start_ns=T0)
    with pytest.raises(ValueError, match=r"events: rows at .* lie outside chunk 0"):
        rec.close_chunk(0, T0 + 4, t_start_ns=T0)
    with pytest.raises(ValueError, match="close chunk 0 before finish"):
        rec.finish("complete")
    rec.close_chunk(0, T0 + CHUNK_NS, t_start_ns=T0)
    with pytest.raises(ValueError, match="starts at .* but the previous chunk ends at"):
        rec.close_chunk(1, T0 + 3 * CHUNK_NS, t_start_ns=T0 + 2 * CHUNK_NS)
    rec.finish("complete")
    with pytest.raises(ValueError, match="is finished"):
        rec.append("events", time=T0, kind="rise")


# ------------------------------------------------------------------------ schemas and docs
def test_schema_conventions():
    from simulator.cooperation.rsap import HANDOVER_KINDS as KERNEL_KINDS

    assert HANDOVER_KINDS == KERNEL_KINDS  # the kernel's records and the table agree
    for table, sch in SCHEMAS.items():
        assert sch.field("time").type == pa.timestamp("ns", tz="UTC") and not sch.field("time").nullable
        for field in sch:
            if field.name.endswith("_id") or field.name.endswith("_sat"):
                assert pa.types.is_integer(field.type), (table, field.name)
            if pa.types.is_dictionary(field.type):
                assert field.type.index_type == pa.int32() and field.type.value_type == pa.string()


def test_docs_describe_every_column():
    text = DOCS.read_text(encoding="utf-8")
    for table, columns in COLUMNS.items():
        section = re.search(rf"^### `{table}`\n(.*?)(?=^##)", text, re.S | re.M)
        assert section, f"docs/outputs.md has no '### `{table}`' section"
        for col in columns:
            assert f"| `{col.name}` |" in section.group(1), f"{table}.{col.name} undocumented"


def test_docs_examples_run_on_a_real_run(scenario, run_dir, monkeypatch):
    rec, _ = open_run(run_dir, scenario)
    write_chunks(rec, [0, 1])
    rec.finish("complete")
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2
    assert '"runs/demo"' in blocks[0]
    namespace: dict = {}
    for block in blocks:
        code = block.replace('"runs/demo"', repr(str(run_dir)))
        exec(compile(code, str(DOCS), "exec"), namespace)  # the documented examples, as written
    # Fixture: per chunk one rsap (user 0) and one cluster_join (user 2); 2 chunks of 10 s; 4 users.
    user_hours = 4 * 2 * CHUNK_NS / NS_PER_S / 3600.0
    for name in ("per_hour", "per_hour_sql"):
        got = namespace[name]
        got = dict(zip(got["kind"].astype(str), got["per_user_hour"]))
        assert got == pytest.approx({"rsap": 2 / user_hours, "cluster_join": 2 / user_hours}), name
    rates = read_table(run_dir, "rates")
    for name in ("median_se", "median_se_sql"):
        got = namespace[name]
        column = [c for c in got.columns if c.startswith("median")][0]
        assert got[column].tolist() == [rates["se_bps_hz"].median()], name
    # User 0's RSAP changes at t[1] of each chunk, 10 s apart; the last RSAP is cut by the run's end.
    assert namespace["coverage_s"].tolist() == [10.0]
    assert (namespace["coverage_sql"]["held_ns"] / NS_PER_S).tolist() == [10.0]


def test_overwrite_deletes_the_default_report_but_nothing_else_foreign(scenario, tmp_path):
    run = tmp_path / "run"
    rec, _ = open_run(run, scenario)
    write_chunks(rec, [0])
    (run / "report.html").write_text("<html></html>")
    (run / "report_tables").mkdir()
    (run / "report_tables" / "se_summary.csv").write_text("a,b\n")
    (run / "report_tables" / "my-notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"did not write \(report_tables/my-notes.txt\)"):
        open_run(run, scenario, overwrite=True)
    assert (run / "report.html").exists()
    (run / "report_tables" / "my-notes.txt").unlink()
    rec, first = open_run(run, scenario, overwrite=True)
    assert first == 0 and not (run / "report.html").exists() and not (run / "report_tables").exists()


def test_a_run_killed_while_writing_its_first_manifest_starts_again(scenario, run_dir):
    """SIGKILL between the first manifest's temporary file and its rename leaves only that file: a new
    run starts in the directory (nothing was recorded); any other content is still refused."""
    from simulator.errors import InputError

    run_dir.mkdir()
    (run_dir / "manifest.json.tmp").write_text('{"half": ')
    rec, first = open_run(run_dir, scenario)
    assert first == 0 and sorted(p.name for p in run_dir.iterdir()) == ["manifest.json"]
    other = run_dir.parent / "other"
    other.mkdir()
    (other / "manifest.json.tmp").write_text("{}")
    (other / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="already exists and is not empty"):
        open_run(other, scenario)
    assert (other / "manifest.json.tmp").is_file()
