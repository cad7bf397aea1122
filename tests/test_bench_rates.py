"""``leosim bench rates`` options (simulator/bench/rates.py): K_max of the CF-mNTN allocations and per-step precoders."""

from __future__ import annotations

import argparse

import numpy as np

from simulator.bench import rates as bench


def arguments(**changes) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--steps", "3", "--sats", "6", "--users", "8", "--repeats", "1", "--no-mc"])
    for name, value in changes.items():
        setattr(args, name, value)
    return args


def test_k_max_caps_the_users_of_each_satellite() -> None:
    csi000, csi004, p000, p004 = bench.scenario(arguments())
    for k_max in (2, 5):
        rows = {name: alloc for name, _, alloc, _ in bench.allocations(csi000, csi004, p000, p004, k_max)}
        per_sat = rows["cf-mntn-smrt"].mask.sum(axis=1)
        assert per_sat.max() == k_max                      # 6 satellites see all 8 users in the 200 km disc
        assert np.all(per_sat <= k_max)


def test_per_step_precoders_run_every_scheme_with_equal_paths() -> None:
    rows = bench.measure(arguments(precoders="per-step", k_max=3))
    assert [row["scheme"] for row in rows][:2] == ["cf-mntn-smrt", "cf-mntn-szf"] and len(rows) == 12
    for row in rows:
        assert row["gram_us"] > 0 and row["explicit_us"] > 0
        assert row["gram_vs_explicit"] < 1e-8, row           # 8 users < N = 64: sZF well conditioned
