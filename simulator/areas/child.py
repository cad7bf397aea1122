"""One area in a plain child process: how a Dask worker runs an area.

A Dask worker runs its task in a thread of a process that also holds the worker's event loop,
its communication, heartbeat and memory-monitor threads; a pure-Python replay there shares the
interpreter and the GIL with all of them and cost ~30 % more CPU than the same area in a plain
process (``leosim bench areas``, ``docs/commands/bench.md``). :func:`run_area_in_child`, the task
that :func:`~simulator.areas.execute.run_areas` submits, therefore starts
``python -m simulator.areas.child TASK_DIR`` (a :mod:`subprocess`: Dask worker processes are
daemonic and cannot have :mod:`multiprocessing` children), with BLAS/OpenMP single-threaded, and
waits for it. The area scenario and the options of
:func:`~simulator.areas.execute.run_area` travel in ``TASK_DIR/task.json``
(``Scenario.model_dump(mode="json")``); the child writes ``result.json`` (wall and CPU time, peak
resident memory, host and pid — all the child's) or ``error.json`` (the error line and the
traceback), which the task raises as :class:`AreaProcessError`, so Dask's retries and the
manifest's error work as for an area run in the worker itself. The child writes the area's files
and progress file itself, and ends within half a second when the worker dies
(:func:`~simulator.engine.lifeline.die_with_parent`), so a killed worker leaves no replay
behind and its area resumes elsewhere from the last complete chunk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

from ..constants import THREAD_VARIABLES
from ..scenario import Scenario
from .config import AREA_DIR_PREFIX

__all__ = ["AreaProcessError", "run_area_in_child", "child_command", "main"]

TASK_FILE = "task.json"
RESULT_FILE = "result.json"
ERROR_FILE = "error.json"


class AreaProcessError(RuntimeError):
    """An area failed in its child process: ``line`` is the child's error (``Type: message``),
    ``child_traceback`` its traceback text. ``str()`` is the line."""

    def __init__(self, line: str, child_traceback: str = "") -> None:
        super().__init__(line, child_traceback)  # args rebuild the exception (it is pickled by Dask)
        self.line = line
        self.child_traceback = child_traceback

    def __str__(self) -> str:
        return self.line


def child_command() -> list[str]:
    """The command that runs one area (the task folder is appended)."""
    return [sys.executable, "-m", "simulator.areas.child"]


def run_area_in_child(scenario: Scenario, **options: Any) -> dict[str, Any]:
    """:func:`~simulator.areas.execute.run_area` of ``scenario`` with ``options`` in a child process.

    Returns the child's result dict; raises :class:`AreaProcessError` with the child's error line
    and traceback when the area fails, or with the exit status when the child ends without a word
    (killed, out of memory).
    """
    env = dict(os.environ, **{name: "1" for name in THREAD_VARIABLES})
    with tempfile.TemporaryDirectory(prefix="leosim-area-") as tmp:
        folder = Path(tmp)
        task = {"scenario": scenario.model_dump(mode="json"), "options": options}
        (folder / TASK_FILE).write_text(json.dumps(task))
        code = subprocess.run([*child_command(), str(folder)], env=env, stdin=subprocess.DEVNULL).returncode
        if (folder / RESULT_FILE).is_file():
            return json.loads((folder / RESULT_FILE).read_text())
        if (folder / ERROR_FILE).is_file():
            doc = json.loads((folder / ERROR_FILE).read_text())
            raise AreaProcessError(doc["error"], doc["traceback"])
    how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
    name = Path(scenario.output.directory).name.removeprefix(AREA_DIR_PREFIX)
    raise AreaProcessError(f"the process of area {name} ended with {how} and no result")


def main(argv: list[str] | None = None) -> int:
    """Run the area of ``TASK_DIR/task.json``; write ``result.json`` (0) or ``error.json`` (1)."""
    from ..engine.lifeline import die_with_parent
    from ..engine.manifest import write_atomic
    from .execute import run_area

    die_with_parent()
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m simulator.areas.child TASK_DIR", file=sys.stderr)
        return 2
    folder = Path(args[0])
    try:
        task = json.loads((folder / TASK_FILE).read_text())
        result = run_area(Scenario.model_validate(task["scenario"]), **task["options"])
    except BaseException as exc:  # Ctrl-C included: the task reports it, the worker decides
        text = json.dumps({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
        write_atomic(folder / ERROR_FILE, lambda tmp: tmp.write_text(text))
        return 1
    text = json.dumps(result)
    write_atomic(folder / RESULT_FILE, lambda tmp: tmp.write_text(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
