"""The scheme registry: every :class:`~simulator.cooperation.decision.Scheme`, by name.

The entries come from the family modules (:mod:`simulator.cooperation.families`), in their order;
this is the only list of scheme names. Everything else asks the registry — the scenario which names
exist, the engine how a scheme relates to the RSAP and what it reuses, the analysis which handover
kinds it can record — and never compares names::

    scheme = SCHEMES["cf-mntn-smrt"]
    scheme.rsap_mode, scheme.single_serving, scheme.beams
    decision = decide(scheme, csi, ctx, rsap)
    block = scheme.rates(csi_true, csi_precoder, allocation, rate_ctx)

:func:`register` adds a scheme at run time (``docs/contributing.md``, "Add a scheme").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from ..errors import InputError
from ..radio.statistical_csi import StatisticalCSI
from .decision import (
    INTERFERENCE_MODELS,
    DecideContext,
    Scheme,
    SchemeDecision,
    empty_decision,
)
from .evaluate import RateModel
from .families import FAMILIES

__all__ = [
    "INTERFERENCE_MODELS",
    "DecideContext",
    "Scheme",
    "SchemeDecision",
    "SCHEMES",
    "SCHEME_RATES",
    "decide",
    "get_scheme",
    "register",
    "scheme_names",
    "unregister",
]

#: Every scheme by registry name, in family order (000's schemes, then 004's).
SCHEMES: dict[str, Scheme] = {scheme.name: scheme for family in FAMILIES for scheme in family.SCHEMES}


def scheme_names() -> tuple[str, ...]:
    """Registry names, in registry order."""
    return tuple(SCHEMES)


def get_scheme(scheme: str | Scheme) -> Scheme:
    """The descriptor of ``scheme`` (a registry name, or a descriptor, returned as is)."""
    if isinstance(scheme, Scheme):
        return scheme
    try:
        return SCHEMES[scheme]
    except KeyError:
        raise InputError(f"scheme={scheme!r} is not one of {', '.join(SCHEMES)}") from None


def register(scheme: Scheme, *, replace: bool = False) -> Scheme:
    """Add ``scheme`` to the registry (``replace=True`` to redefine a name); returns it.

    A scheme it ``reuses`` must be registered first. Rates evaluated in a worker process
    (``rate_workers=1``) need only the scheme's rate model, which crosses over by value.
    """
    if not isinstance(scheme, Scheme):
        raise InputError(f"register takes a Scheme (simulator.cooperation.decision), got {type(scheme).__name__}")
    if scheme.name in SCHEMES and not replace:
        raise InputError(f"scheme {scheme.name!r} is already registered; pass replace=True to redefine it")
    if scheme.reuses is not None and scheme.reuses not in SCHEMES:
        raise InputError(f"scheme {scheme.name!r} reuses {scheme.reuses!r}, which is not registered")
    SCHEMES[scheme.name] = scheme
    return scheme


def unregister(name: str) -> None:
    """Remove a scheme added with :func:`register` (tests clean up with it)."""
    if any(s.reuses == name for s in SCHEMES.values() if s.name != name):
        raise InputError(f"scheme {name!r} is reused by another registered scheme")
    SCHEMES.pop(name, None)


def reused_names() -> frozenset[str]:
    """Names of the schemes whose work another registered scheme reuses."""
    return frozenset(s.reuses for s in SCHEMES.values() if s.reuses is not None)


class _RatesView(Mapping):
    """Registry name → rate model (a live view of :data:`SCHEMES`)."""

    def __getitem__(self, name: str) -> RateModel:
        return SCHEMES[name].rates

    def __iter__(self) -> Iterator[str]:
        return iter(SCHEMES)

    def __len__(self) -> int:
        return len(SCHEMES)


#: Registry name → rate model of the scheme (``SCHEMES[name].rates``).
SCHEME_RATES: Mapping[str, RateModel] = _RatesView()


def decide(scheme: str | Scheme, csi: StatisticalCSI, ctx: DecideContext, rsap: np.ndarray,
           prev: SchemeDecision | None = None, cache: dict | None = None) -> SchemeDecision:
    """Decision of ``scheme`` (name or descriptor) on the snapshot ``csi`` (L, K); ``rsap`` (K,)
    local indices or −1.

    ``cache`` (a dict kept for one snapshot) lets schemes share work: a scheme that ``reuses``
    another (``alg1-uniform``) reads that scheme's solver run on the same snapshot instead of
    repeating it, when it is decided after it with the same cache.
    """
    spec = get_scheme(scheme)
    if csi.n_sat == 0 or csi.n_user == 0:
        return empty_decision(csi, "fallback:no-link")
    return spec.decide(csi, ctx, np.asarray(rsap, dtype=np.int64), prev, {} if cache is None else cache)
