"""Single-threaded benchmark runs: re-run a benchmark in a child process with BLAS/OpenMP threads 1."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable

from ..constants import THREAD_VARIABLES


def single_threaded(name: str, args: argparse.Namespace, measure: Callable[[argparse.Namespace], list[dict]],
                    options: tuple[str, ...], flags: tuple[str, ...] = ()) -> list[dict]:
    """``measure(args)`` here when every thread variable is 1, else in ``leosim bench NAME --json`` with them set.

    ``options`` are the argument names passed on with their values (None values left out), ``flags``
    the store-true arguments passed on when set.
    """
    if all(os.environ.get(v) == "1" for v in THREAD_VARIABLES):
        return measure(args)
    env = dict(os.environ, **{v: "1" for v in THREAD_VARIABLES})
    argv = [sys.executable, "-m", "simulator.cli", "bench", name, "--json"]
    for option in options:
        if getattr(args, option) is not None:
            argv += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    argv += [f"--{flag.replace('_', '-')}" for flag in flags if getattr(args, flag)]
    child = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if child.returncode != 0:
        raise RuntimeError(f"single-threaded child run failed ({child.returncode}):\n{child.stderr}")
    return json.loads(child.stdout)
