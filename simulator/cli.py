"""The ``leosim`` command.

Sub-commands live in :mod:`simulator.commands`, one module each with a ``register(subparsers)``
function that adds its parser and sets ``func``. Any :class:`~simulator.errors.LeosimError`
(and a missing or unreadable file) becomes one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings
from collections.abc import Sequence

from . import __version__, commands
from .constants import THREAD_VARIABLES
from .errors import LeosimError

__all__ = ["main", "build_parser"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leosim",
        description="Cooperative (cell-free) LEO satellite network simulator.",
    )
    parser.add_argument("--version", action="version", version=f"leosim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """leosim's own warnings as one ``leosim: warning: ...`` line; others as Python prints them."""
    if category.__module__.startswith("simulator"):
        print(f"leosim: warning: {message}", file=sys.stderr if file is None else file)
    else:
        _PYTHON_SHOW_WARNING(message, category, filename, lineno, file, line)


_PYTHON_SHOW_WARNING = warnings.showwarning


def main(argv: Sequence[str] | None = None) -> int:
    # BLAS/OpenMP thread pools are fixed when numpy loads, i.e. in build_parser. leosim parallelises
    # itself (decision threads and a rate worker in `leosim run`, Dask workers in sweeps); BLAS
    # threads on top oversubscribe two cores (a 9 ms cone program measured at 200 ms), so they are 1
    # unless the user has set them.
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    previous, warnings.showwarning = warnings.showwarning, _show_warning
    try:
        return _main(argv)
    finally:
        warnings.showwarning = previous


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        status = args.func(args)
    except LeosimError as exc:
        print(f"leosim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # missing, unreadable or unwritable files named on the command line
        name = f": {exc.filename}" if exc.filename else ""
        print(f"leosim: error: {exc.strerror or exc}{name}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", None)  # SIGTERM / SIGHUP during `leosim run`
        print(f"leosim: interrupted{f' ({exc})' if signum else ''}", file=sys.stderr)
        return 128 + signum if signum else EXIT_INTERRUPTED
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
