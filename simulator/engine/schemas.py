"""Explicit Arrow schemas of the output tables of a run (``docs/outputs.md`` documents them).

Every table is declared here once, column by column: Arrow type, whether null is allowed, unit,
meaning, and (for categorical strings) the allowed values. The recorder validates appended rows
against these declarations and writes the Arrow schema into every Parquet file, with each column's
unit and meaning in the field metadata, so a file describes itself.

Conventions
-----------
- Times are ``timestamp[ns, UTC]``: integer nanoseconds since 1970-01-01T00:00:00 UTC (the
  ``simulator.timebase`` convention; leap seconds not counted).
- Units are part of the column name (``se_bps_hz``, ``sinr_db``, ``delay_s``).
- Repetitive strings (scheme, policy, kind, trigger, status, reason) are
  ``dictionary<int32, string>``: stored once per file, read as ``category`` by pandas and as
  ``VARCHAR`` by DuckDB.
- Satellites are identified by their NORAD catalogue number (``int64``), users by their index in
  the scenario's user list (``int32``). Identifiers are never negative: "none" is null, not −1.
- "No service" is ``se_bps_hz = 0.0`` and ``sinr_db = -inf`` (10·log10 of a zero SINR), never a
  finite sentinel; NaN means only "could not compute".
"""

from __future__ import annotations

from typing import NamedTuple

import pyarrow as pa

from ..cooperation.rsap import HANDOVER_KINDS, POLICIES
from ..cooperation.schemes import SCHEMES

__all__ = [
    "TIME",
    "CATEGORY",
    "HANDOVER_KINDS",
    "EVENT_KINDS",
    "Column",
    "COLUMNS",
    "SCHEMAS",
    "TABLES",
    "schema",
]

TIME = pa.timestamp("ns", tz="UTC")
CATEGORY = pa.dictionary(pa.int32(), pa.string())

#: Values of ``events.kind``: a satellite rises above or sets below the elevation mask for a user
#: (reclusterings are ``decisions`` rows, repairs ``handovers`` rows with reason ``repair``).
EVENT_KINDS = ("rise", "set")


class Column(NamedTuple):
    """One column of an output table.

    Attributes
    ----------
    name : str — column name, unit suffix included
    type : pyarrow.DataType
    nullable : bool — whether null ("none", "not applicable") is allowed; nullable columns may be
        left out of an append and are then null
    unit : str — physical unit, ``"1"`` for dimensionless numbers, ``""`` for ids and labels
    description : str — meaning, for users (also stored in the Parquet field metadata)
    allowed : tuple of str or mapping, optional — the closed set of values of a categorical column
        (a mapping: its keys, read when a row is validated)
    non_negative : bool — values must be >= 0 (ids, counts, durations)
    """

    name: str
    type: pa.DataType
    nullable: bool
    unit: str
    description: str
    allowed: tuple[str, ...] | None = None
    non_negative: bool = False


def _time(meaning: str) -> Column:
    return Column("time", TIME, False, "ns, UTC", meaning)


#: The scheme column accepts every registered scheme (the registry is live: ``allowed`` is the
#: registry itself, so a scheme registered after import is accepted; the Parquet metadata lists the
#: built-in ones).
_SCHEME = Column("scheme", CATEGORY, False, "", "cooperation scheme (registry name)", SCHEMES)
_POLICY = Column("rsap_policy", CATEGORY, False, "", "RSAP selection policy", POLICIES)
_USER = Column("user_id", pa.int32(), False, "", "user index in the scenario's user list", non_negative=True)
_SAT = Column("sat_id", pa.int64(), False, "", "satellite NORAD catalogue number", non_negative=True)


def _opt_sat(name: str, meaning: str) -> Column:
    return Column(name, pa.int64(), True, "", meaning, non_negative=True)


def _opt_beam(name: str, meaning: str) -> Column:
    return Column(name, pa.int32(), True, "", meaning, non_negative=True)


COLUMNS: dict[str, tuple[Column, ...]] = {
    "rates": (
        _time("logging step at which the rate is evaluated"),
        _SCHEME,
        _POLICY,
        _USER,
        Column("se_bps_hz", pa.float64(), False, "bit/s/Hz",
               "achievable spectral efficiency log2(1 + SINR) under the decision in force; 0 when unserved"),
        Column("sinr_db", pa.float64(), False, "dB", "SINR of the user; -inf when unserved (SINR 0)"),
        Column("n_serving", pa.int16(), False, "1", "satellites serving the user (cluster size)",
               non_negative=True),
        _opt_sat("rsap_sat", "NORAD number of the user's RSAP; null when the user has none"),
        Column("decision_age_s", pa.float64(), True, "s",
               "time since the decision in force was taken (repairs keep its age); null without a decision",
               non_negative=True),
    ),
    "handovers": (
        _time("instant the handover takes effect"),
        _SCHEME,
        _POLICY,
        _USER,
        Column("kind", CATEGORY, False, "", "what changed", HANDOVER_KINDS),
        _opt_sat("from_sat", "satellite left (NORAD); null for an access or a cluster_join"),
        _opt_sat("to_sat", "satellite taken (NORAD); null for a loss of service or a cluster_leave"),
        _opt_beam("from_beam", "beam left (spot-beam schemes); null where beams do not apply"),
        _opt_beam("to_beam", "beam taken (spot-beam schemes); null where beams do not apply"),
        Column("reason", CATEGORY, True, "",
               "why, e.g. acquire, rsap_ineligible, better_channel, no_eligible, or the decision trigger"),
    ),
    "clusters": (
        _time("instant the decision takes effect"),
        _SCHEME,
        _POLICY,
        _USER,
        _SAT,
        Column("power_weight", pa.float64(), False, "1",
               "power weight p_{l,k} of satellite l for user k, Σ_k p_{l,k}² <= 1 (000 eq 14)",
               non_negative=True),
    ),
    "decisions": (
        _time("instant the decision is taken (it takes effect after the backhaul delay)"),
        _SCHEME,
        Column("trigger", CATEGORY, False, "", "what caused it, e.g. initial, rise, set, period, repair"),
        Column("n_sats", pa.int32(), False, "1", "satellites in the problem", non_negative=True),
        Column("n_users", pa.int32(), False, "1", "users in the problem", non_negative=True),
        Column("inner_iters", pa.int32(), False, "1", "SCA iterations, summed over outer iterations",
               non_negative=True),
        Column("outer_iters", pa.int32(), False, "1", "reweighted-l2 (clustering) iterations",
               non_negative=True),
        Column("solve_s", pa.float64(), False, "s", "wall-clock time of the decision", non_negative=True),
        Column("min_sinr_db", pa.float64(), True, "dB",
               "minimum SINR over the users of the decision; -inf if one is unserved; null if n_users = 0"),
        Column("status", CATEGORY, False, "", "solver outcome, e.g. optimal, optimal_inaccurate, uniform"),
        Column("certificate", pa.float64(), True, "1",
               "relative duality gap of the power allocation (upper bound / min SINR - 1); null if not optimised"),
        Column("n_unadmitted", pa.int32(), True, "1", "users left out by the capacity rule (SE 0)",
               non_negative=True),
    ),
    "csi": (
        _time("statistical-CSI refresh instant"),
        _SAT,
        _USER,
        Column("elevation_deg", pa.float64(), False, "deg", "elevation of the satellite seen by the user"),
        Column("theta_rad", pa.float64(), False, "rad", "elevation angle of departure in the antenna frame"),
        Column("phi_rad", pa.float64(), False, "rad", "azimuth angle of departure in the antenna frame"),
        Column("beta_db", pa.float64(), False, "dB", "large-scale channel gain β (000 eq 6)"),
        Column("kappa_db", pa.float64(), False, "dB", "Rician factor κ (000 eq 1)"),
        Column("delay_s", pa.float64(), False, "s", "propagation delay τ (000 eq 5)", non_negative=True),
        Column("doppler_hz", pa.float64(), False, "Hz", "Doppler shift ν (000 eq 5)"),
    ),
    "events": (
        _time("event instant (rise/set are root-found, not rounded to a step)"),
        Column("kind", CATEGORY, False, "", "event kind", EVENT_KINDS),
        _opt_sat("sat_id", "satellite (NORAD) that rises or sets"),
        Column("user_id", pa.int32(), True, "", "user it rises or sets for", non_negative=True),
    ),
}

#: Table names, in the order they are written.
TABLES: tuple[str, ...] = tuple(COLUMNS)


def _build(table: str, columns: tuple[Column, ...]) -> pa.Schema:
    fields = []
    for c in columns:
        meta = {"unit": c.unit, "description": c.description}
        if c.allowed is not None:
            meta["allowed"] = ",".join(c.allowed)
        fields.append(pa.field(c.name, c.type, nullable=c.nullable, metadata=meta))
    return pa.schema(fields, metadata={"leosim.table": table, "leosim.format_version": "1"})


#: Arrow schema of every table, with units and meanings in the field metadata.
SCHEMAS: dict[str, pa.Schema] = {name: _build(name, cols) for name, cols in COLUMNS.items()}


def schema(table: str) -> pa.Schema:
    """The Arrow schema of ``table``; an unknown name raises ``ValueError`` listing the tables.

    >>> schema("rates").field("sinr_db").type
    DataType(double)
    """
    try:
        return SCHEMAS[table]
    except KeyError:
        raise ValueError(f"unknown table {table!r}; tables are: {', '.join(TABLES)}") from None
