"""The chunk's geometry seen at one instant: which links are up, for how long, and their CSI.

Every lane of a replay asks the same questions at an event (which satellites are up for whom, how
long each stays, the statistical CSI at that instant, the gains the RSAP rule compares);
:class:`InstantView` answers each once per instant and satellite set and remembers the answer until
time moves on. Answers are read-only arrays shared by every lane.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..constants import NS_PER_S
from ..orbits.catalog import Catalog
from ..orbits.propagate import propagate_ecef
from ..timebase import ns_since_epoch_to_jd
from .blockrates import BlockRates
from .geometry import ChunkGeometry, to_local

__all__ = ["InstantView"]


class InstantView:
    """Per-instant questions about the current chunk, memoised per (instant, satellite set).

    Parameters (keyword-only)
    ----------
    catalog : Catalog — the constellation
    epoch_ns : int — scenario epoch, ns since 1970 UTC
    user_positions : callable ``t_s (T,) -> (positions (T, U, 3) m, velocities (T, U, 3) m/s)``
    n_user : int
    block : BlockRates — statistical CSI of satellite and user states (the run's link draws)
    timescale : the orbit layer's timescale
    gain_block_steps : int — steps whose β is computed in one vectorised call (:meth:`gain_now`)
    """

    def __init__(self, *, catalog: Catalog, epoch_ns: int, user_positions: Callable, n_user: int,
                 block: BlockRates, timescale, gain_block_steps: int) -> None:
        self.catalog, self.epoch, self.user_positions = catalog, int(epoch_ns), user_positions
        self.n_user, self.block, self.ts = n_user, block, timescale
        self.gain_block_steps = int(gain_block_steps)
        self.geom: ChunkGeometry | None = None
        self._memo: dict = {}
        self._gain_held: tuple | None = None  # (block, satellites, β) of gain_block

    def start_chunk(self, geom: ChunkGeometry) -> None:
        self.geom = geom
        self._memo = {}
        self._gain_held = None

    def _memoised(self, kind: str, t: int, sats: np.ndarray, compute):
        """``compute(t, sats)``, remembered for the current instant (every lane asks the same questions)."""
        if self._memo.get("t") != t:
            self._memo = {"t": t}
        key = (kind, sats.tobytes())
        if key not in self._memo:
            value = compute(t, sats)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False  # shared by every lane: nobody may change it in place
            self._memo[key] = value
        return self._memo[key]

    def visible(self, t: int) -> np.ndarray:
        """Catalogue indices of the satellites up for some user at ``t`` (sorted)."""
        g = self.geom
        up = (g.rise_ns <= t) & (g.set_ns > t)
        return np.unique(g.pass_sat[up]).astype(np.int64)

    def up_links(self, t: int, sats: np.ndarray) -> np.ndarray:
        """(len(sats), U) bool: the satellite is above the mask for the user at ``t``."""
        return self._memoised("up", t, sats, self._up_links)

    def _up_links(self, t: int, sats: np.ndarray) -> np.ndarray:
        g = self.geom
        up = (g.rise_ns <= t) & (g.set_ns > t)
        out = np.zeros((len(sats), self.n_user), bool)
        cols = to_local(g.pass_sat[up], sats)
        keep = cols >= 0
        out[cols[keep], g.pass_user[up][keep]] = True
        return out

    def service_time_s(self, t: int, sats: np.ndarray) -> np.ndarray:
        """(len(sats), U) s: remaining time above the mask of each link up at ``t`` (0 elsewhere)."""
        return self._memoised("service", t, sats, self._service_time)

    def _service_time(self, t: int, sats: np.ndarray) -> np.ndarray:
        g = self.geom
        st = np.zeros((len(sats), self.n_user))
        up = (g.rise_ns <= t) & (g.set_ns > t)
        cols = to_local(g.pass_sat[up], sats)
        keep = cols >= 0
        st[cols[keep], g.pass_user[up][keep]] = (g.set_ns[up][keep] - t) / NS_PER_S
        return st

    def csi_at(self, t: int, sats: np.ndarray):
        """Statistical CSI (len(sats), U) at the exact instant ``t`` (propagated for it); remembered for
        the current instant (the lanes re-deciding at one set event all ask for it)."""
        return self._memoised("csi", t, sats, self._csi_at)

    def _csi_at(self, t: int, sats: np.ndarray):
        jd, fr = ns_since_epoch_to_jd(self.epoch, np.array([t], dtype=np.int64))
        eph = propagate_ecef(self.catalog.subset(sats), jd, fr, timescale=self.ts, warn=False)
        upos, uvel = self.user_positions(np.array([t / NS_PER_S]))
        return self.csi(eph.positions_m[0], eph.velocities_m_s[0], upos[0], uvel[0], sats)

    def csi(self, spos, svel, upos, uvel, sats, *, with_steering: bool = True):
        """Statistical CSI of satellite and user states (:meth:`BlockRates.csi`)."""
        return self.block.csi(spos, svel, upos, uvel, sats, with_steering=with_steering)

    def gain_now(self, t: int, sats: np.ndarray) -> np.ndarray:
        """Average channel gain β (len(sats), U) at ``t``, from the chunk's step states when on the grid.

        Memoised per (instant, satellite set): every lane's RSAP rule reads the same gains.
        """
        return self._memoised("gain", t, sats, self._gain)

    def _gain(self, t: int, sats: np.ndarray) -> np.ndarray:
        g = self.geom
        b = self.gain_block_steps
        k = int(np.searchsorted(g.step_ns, t))
        if not (k < len(g.step_ns) and g.step_ns[k] == t):
            return self.csi_at(t, sats).beta if len(sats) else np.zeros((0, self.n_user))
        block_sats, beta_block = self.gain_block(k // b)
        pos, cols = to_local(sats, block_sats), g.columns_of(sats)
        beta = np.zeros((len(sats), self.n_user))
        have = pos >= 0
        beta[have] = beta_block[k % b, pos[have]]
        rest = (cols >= 0) & ~have  # in the chunk without a pass in the block (not asked for by the replay)
        if rest.any():
            beta[rest] = self.csi(g.sat_pos_m[k, cols[rest]], g.sat_vel_m_s[k, cols[rest]], g.user_pos_m[k],
                                  g.user_vel_m_s[k], sats[rest], with_steering=False).beta
        return beta

    def gain_block(self, block: int) -> tuple[np.ndarray, np.ndarray]:
        """β (steps, satellites, U) on the chunk's steps block·B … (block + 1)·B − 1 (B =
        ``gain_block_steps``) of every satellite with a pass in that interval: one vectorised call
        instead of one per step (the RSAP rule reads β at every CSI refresh). Kept until another
        block is asked for."""
        held = self._gain_held
        if held is not None and held[0] == block:
            return held[1], held[2]
        g = self.geom
        a = block * self.gain_block_steps
        b = min(a + self.gain_block_steps, len(g.step_ns))
        live = (g.rise_ns <= g.step_ns[b - 1]) & (g.set_ns > g.step_ns[a])
        sats = np.unique(g.pass_sat[live]).astype(np.int64)
        cols = g.columns_of(sats)
        sats, cols = sats[cols >= 0], cols[cols >= 0]
        beta = self.csi(g.sat_pos_m[a:b][:, cols], g.sat_vel_m_s[a:b][:, cols], g.user_pos_m[a:b],
                        g.user_vel_m_s[a:b], sats, with_steering=False).beta
        self._gain_held = (block, sats, beta)
        return sats, beta
