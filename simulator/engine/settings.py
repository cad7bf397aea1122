"""What a replay is told: the scenario's event parameters and the engine's tuning knobs.

:class:`ReplaySettings` come from the scenario (:func:`~simulator.engine.run.settings_from`);
:class:`ReplayTuning` holds the knobs that trade memory and calls for speed without changing any
number in the output (tests set them to prove that: one rate call per segment, β step by step).
Both are passed in; nothing reads module constants.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ReplaySettings", "ReplayTuning"]


@dataclass(frozen=True)
class ReplayTuning:
    """Engine knobs that change speed and memory, never the tables.

    Attributes
    ----------
    max_group_steps : int — logging steps of a lane evaluated at most in one rate call; groups end at
        the latest at the chunk's steps k · max_group_steps (bounds the CSI block's memory, and lanes
        sharing a decision share the call; :class:`~simulator.engine.ratelog.RateLog`)
    gain_block_steps : int — logging steps whose β the RSAP rule gets from one vectorised CSI call
        (:meth:`~simulator.engine.instant.InstantView.gain_now`)
    rates_held : int — closed rate blocks after which the ready ones are written (in order)
    rows_held : int — rows of one small table held before they are appended to the recorder (the
        clusters table gets ~4 million rows per simulated hour in starlink-24h.toml; held for a
        whole chunk they cost ~300 MB at its end)
    trim_every_reclusterings : int — reclusterings between two releases of the allocator's free
        memory (:func:`~simulator.engine.memory.release_free_memory`)
    decision_threads : int — decisions of one reclustering taken at once (1: one after another, in
        the replay's thread)
    decision_pool : str — where they run when ``decision_threads`` > 1: ``"threads"``,
        ``"processes"`` (spawned workers, :mod:`~simulator.engine.decisions`) or ``"auto"``
        (processes from :data:`~simulator.engine.decisions.PROCESS_MIN_USERS` users on)
    """

    max_group_steps: int = 120
    gain_block_steps: int = 60
    rates_held: int = 64
    rows_held: int = 200_000
    trim_every_reclusterings: int = 20
    decision_threads: int = 2
    decision_pool: str = "auto"

    def __post_init__(self) -> None:
        for name in ("max_group_steps", "gain_block_steps", "rates_held", "rows_held", "trim_every_reclusterings",
                     "decision_threads"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ValueError(f"ReplayTuning.{name}={getattr(self, name)!r}: a positive integer")
        if self.decision_pool not in ("auto", "threads", "processes"):
            raise ValueError(f"ReplayTuning.decision_pool={self.decision_pool!r}: auto, threads or processes")


@dataclass(frozen=True)
class ReplaySettings:
    """Event parameters of a replay, in integer nanoseconds where they are instants or periods."""

    duration_ns: int
    step_ns: int
    chunk_ns: int
    csi_period_ns: int
    min_recluster_interval_ns: int
    recluster_period_ns: int | None
    backhaul_delay_ns: int
    min_elevation_deg: float
    hysteresis_db: float
    time_to_trigger_s: float
    k_max: int
    max_candidate_sats: int
    record_csi: bool = False
    #: decisions and RSAPs avoid links that set within :attr:`horizon_ns` (``[events]
    #: make_before_break``); a reclustering is due ahead of a serving link's set
    make_before_break: bool = True
    tuning: ReplayTuning = field(default_factory=ReplayTuning)

    @property
    def horizon_ns(self) -> int:
        """How long a decision stays in force at least: the reclustering debounce plus the backhaul
        delay (a later decision cannot take effect sooner); 0 without make-before-break."""
        return self.min_recluster_interval_ns + self.backhaul_delay_ns if self.make_before_break else 0
