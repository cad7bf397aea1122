"""The one exception family of leosim.

Every error a user can cause (a bad TLE, an invalid scenario, a bad CLI flag, a missing file) is a
:class:`LeosimError`. The CLI turns it into one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

__all__ = ["LeosimError", "InputError", "TLEError", "ScenarioError", "SolverError"]


class LeosimError(Exception):
    """Base class of every error leosim raises on purpose."""


class InputError(LeosimError):
    """Bad user input: a file, a flag or a value outside what is allowed."""


class TLEError(InputError):
    """An element set that fails validation; the message names file, line, satellite and what was expected."""


class ScenarioError(InputError):
    """A scenario field that fails validation; the message names the field, the value and what is allowed.

    ``field`` (e.g. ``"radio.tx_power_dbm"``), when known, is the dotted scenario field at fault, so
    the scenario loader can point at its line without reading the message.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SolverError(LeosimError):
    """A convex solver returned a status other than optimal; the message carries status, sizes and input ranges."""
