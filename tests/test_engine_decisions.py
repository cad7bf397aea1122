"""Decisions on threads, in worker processes or in the replay's thread give the same tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from leo_snapshot import snapshot
from test_replay import TEXT  # the replay tests' short scenario (cluster, serving and reusing schemes)

from simulator.cooperation import schemes as registry
from simulator.cooperation.decision import DecideContext, Scheme
from simulator.cooperation.families.cfmntn import algorithm1_run_key
from simulator.engine import decisions
from simulator.engine.decisions import (
    InlineDecisions,
    ProcessDecisions,
    ThreadDecisions,
    decision_pool,
)
from simulator.engine.recorder import read_table
from simulator.engine.run import run_scenario
from simulator.engine.settings import ReplayTuning
from simulator.radio.params import paper000_params
from simulator.scenario import parse_scenario

TABLES = ("rates", "handovers", "clusters", "decisions", "events")


def _tables(run_dir) -> dict[str, pd.DataFrame]:
    """Every table in the order it was written, without ``decisions.solve_s`` (wall clock)."""
    return {t: read_table(run_dir, t).drop(columns=["solve_s"] if t == "decisions" else []) for t in TABLES}


def test_processes_threads_and_inline_write_the_same_tables_row_by_row(tmp_path, monkeypatch):
    scenario = parse_scenario(TEXT.replace("'", '"'))
    sent = []
    merged_init = decisions._Merged.__init__

    def counting(self, future, cache):
        sent.append(cache is not None)
        merged_init(self, future, cache)

    monkeypatch.setattr(decisions._Merged, "__init__", counting)
    runs = {kind: _tables(run_scenario(scenario, output_dir=tmp_path / kind,
                                       tuning=ReplayTuning(decision_threads=threads, decision_pool=kind)))
            for kind, threads in (("threads", 2), ("processes", 2), ("auto", 1))}
    assert sent and any(sent)  # the process run did send decisions of reclusterings to its workers
    reused = runs["processes"]["decisions"]
    assert (reused["scheme"] == "alg1-uniform").any()
    for kind in ("processes", "auto"):
        for table, df in runs["threads"].items():
            pd.testing.assert_frame_equal(df, runs[kind][table], obj=f"{kind}: {table}")


def test_the_pool_follows_the_tuning():
    ctx = DecideContext(tx_power_w=1.0, noise_w=1e-12)
    assert type(decision_pool(ctx, 1, "processes", 500)) is InlineDecisions  # one core per area: in process
    pools = [decision_pool(ctx, 2, kind, n) for kind, n in (("threads", 500), ("auto", 10))]
    assert [type(p) for p in pools] == [ThreadDecisions, ThreadDecisions]
    for p in pools:
        p.close()
    with pytest.raises(ValueError, match="decision_pool"):
        ReplayTuning(decision_pool="fork")
    with pytest.raises(ValueError, match="decision_pool"):
        decision_pool(ctx, 2, "fork", 10)


def test_workers_return_the_reused_run_and_leave_run_time_schemes_to_the_replay():
    params = paper000_params(n_h=4, n_v=4)
    csi = snapshot(7, 4, 5, params)
    ctx = DecideContext(tx_power_w=params.tx_power_w, noise_w=params.noise_w, k_max=3)
    rsap = np.full(csi.n_user, -1)
    pool = ProcessDecisions(ctx, 1)
    try:
        cache: dict = {}
        job = pool.submit("cf-mntn-smrt", csi, rsap, None, cache)
        assert not cache  # merged when read, in the caller's thread
        remote = job.result()
        assert algorithm1_run_key("smrt") in cache
        here = registry.decide("cf-mntn-smrt", csi, ctx, rsap, None, {})
        np.testing.assert_array_equal(remote.power, here.power)
        reused = pool.inline("alg1-uniform", csi, rsap, None, cache).result()
        np.testing.assert_array_equal(reused.mask, registry.decide("alg1-uniform", csi, ctx, rsap, None, {}).mask)

        called = []
        base = registry.SCHEMES["single-smrt"]

        def local(csi, ctx, rsap, prev, cache):
            called.append(True)
            return base.decide(csi, ctx, rsap, prev, cache)

        registry.register(Scheme("test-local-smrt", local, base.rates, base.rsap_mode, base.single_serving))
        try:
            pool.submit("test-local-smrt", csi, rsap, None).result()
        finally:
            registry.unregister("test-local-smrt")
        assert called  # decided in this process: the worker's registry does not have it
    finally:
        pool.close()


def test_an_interrupted_run_leaves_no_decision_worker_and_resumes_to_the_same_tables(tmp_path, monkeypatch):
    import multiprocessing

    from simulator.engine import replay as replay_module

    scenario = parse_scenario(TEXT.replace("'", '"'))
    tuning = ReplayTuning(decision_pool="processes")
    whole = _tables(run_scenario(scenario, output_dir=tmp_path / "whole", tuning=tuning))
    original = replay_module.Replay.run_chunk
    calls = {"n": 0}

    def interrupted(self, t0, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, t0, **kwargs)

    monkeypatch.setattr(replay_module.Replay, "run_chunk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scenario, output_dir=tmp_path / "cut", tuning=tuning)
    assert not multiprocessing.active_children()  # the pool was shut down with the run
    monkeypatch.setattr(replay_module.Replay, "run_chunk", original)
    resumed = _tables(run_scenario(scenario, output_dir=tmp_path / "cut", resume=True, tuning=tuning))
    for table, df in whole.items():
        pd.testing.assert_frame_equal(df, resumed[table], obj=table)
