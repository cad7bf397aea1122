"""One module per scheme family; each defines ``SCHEMES``, a tuple of :class:`~..decision.Scheme`.

The registry (:mod:`simulator.cooperation.schemes`) collects them in the order of :data:`FAMILIES`.
A new scheme is one entry in a family module, or a new module listed here (``docs/contributing.md``).
"""

from __future__ import annotations

from . import cfmmimo, cfmntn, clustering, single, spotbeam, ucdmimo

__all__ = ["FAMILIES"]

#: Family modules in registry order (000's schemes, then 004's).
FAMILIES = (cfmntn, cfmmimo, single, spotbeam, clustering, ucdmimo)
