"""leosim — a simulator of cooperative (cell-free) LEO satellite networks.

The import package is ``simulator``; the distribution and the command are ``leosim``.
"""

from __future__ import annotations

from .errors import InputError, LeosimError, ScenarioError, SolverError, TLEError

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "LeosimError",
    "InputError",
    "TLEError",
    "ScenarioError",
    "SolverError",
]
