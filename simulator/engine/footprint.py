"""Peak memory of a run, estimated from users × satellites × chunk before anything starts.

peak ≈ BASE + 48 B · T · (U + C) + 2400 B · C · U + 7 KiB · U²

- BASE, 0.55 GB: interpreter, libraries, catalogue, row buffers (a 200-user run peaked at 0.67 GB);
- 48 B · T · (U + C): the chunk's ITRS positions and velocities (float64) of the U users and the
  C satellites at the T logging steps of a chunk;
- 2400 B · C · U: the block of large-scale gains β, (60 steps, C, U) float64, and the
  temporaries of its computation;
- 7 KiB · U²: what grows with the square of the users — the user-by-user gain and interference
  matrices of a 60-step rate block (complex128) and their temporaries. Fitted to peak RSS measured
  on ``starlink-shell1``, a 150 km disc, 60 s chunks, one scheme, 8 × 8 antennas: 0.67 GB at 200
  users (complete), ≥ 3.2 GB at 600 and ≥ 19.6 GB at 2000 users (both stopped while still growing;
  machine loaded by parallel work). The model gives 0.83, 3.1 and 28.5 GB.

C, the satellites a chunk handles, is the catalogue's share of the strip the users' visibility
cap sweeps in a chunk plus one pass, doubled for the latitude concentration of inclined shells. The
run is refused when the estimate exceeds the machine's physical memory (``docs/commands/run.md``).
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..constants import NS_PER_S, WGS84_A
from ..errors import InputError

__all__ = ["estimate_peak_bytes", "max_users", "machine_memory_bytes", "check_memory"]

BASE_BYTES = 0.55e9
STATE_BYTES = 48
GAIN_BYTES = 2400
PAIR_BYTES = 7 * 1024
ORBIT_SPEED_M_S = 7_500.0


def candidate_satellites(n_sat: int, altitude_m: float, min_elevation_deg: float, area_radius_m: float,
                         chunk_s: float) -> int:
    """Satellites a chunk handles, C: the catalogue's share of the swept visibility strip (≤ n_sat)."""
    eps = math.radians(min_elevation_deg)
    psi = math.acos(min(1.0, WGS84_A * math.cos(eps) / (WGS84_A + altitude_m))) - eps
    rho = psi * WGS84_A + area_radius_m
    pass_s = 2.0 * rho / ORBIT_SPEED_M_S
    area = math.pi * rho**2 + 2.0 * rho * ORBIT_SPEED_M_S * (chunk_s + pass_s)
    share = min(1.0, 2.0 * area / (4.0 * math.pi * WGS84_A**2))
    return max(1, math.ceil(n_sat * share))


def estimate_peak_bytes(n_user: int, n_sat: int, chunk_steps: int) -> float:
    """Peak resident memory of a run, bytes, for U users, C candidate satellites and T steps per chunk."""
    return (BASE_BYTES + STATE_BYTES * chunk_steps * (n_user + n_sat) + GAIN_BYTES * n_sat * n_user
            + PAIR_BYTES * float(n_user) ** 2)


def max_users(n_sat: int, chunk_steps: int, limit_bytes: float) -> int:
    """Most users whose estimate stays within ``limit_bytes`` (0 if none)."""
    a = PAIR_BYTES
    b = STATE_BYTES * chunk_steps + GAIN_BYTES * n_sat
    c = BASE_BYTES + STATE_BYTES * chunk_steps * n_sat - limit_bytes
    return max(0, int((-b + math.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)))


def machine_memory_bytes() -> int | None:
    """Physical memory of this machine, bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(scenario, inputs, limit_bytes: int | None = None) -> float:
    """Refuse (InputError, one line with the estimate and the knob) a run that would not fit in memory.

    Returns the estimate, bytes. ``limit_bytes`` defaults to the machine's physical memory.
    """
    from ..orbits.bounds import semi_major_axis_m  # noqa: PLC0415 — the orbit-bound helper

    catalog, users, settings = inputs.catalog, inputs.users, inputs.settings
    if not len(catalog):
        return BASE_BYTES
    altitude = float(np.median(semi_major_axis_m(catalog)) - WGS84_A)
    disc = scenario.users.disc
    if disc is not None:
        radius = disc.radius_km * 1e3
    else:  # listed users: the largest distance from their mean position
        pos = users.positions_m(0.0)
        radius = float(np.max(np.linalg.norm(pos - pos.mean(axis=0), axis=-1)))
    chunk_s = settings.chunk_ns / NS_PER_S
    n_sat = candidate_satellites(len(catalog), altitude, settings.min_elevation_deg,
                                 radius + scenario.users.speed_m_s * chunk_s, chunk_s)
    steps = max(1, settings.chunk_ns // settings.step_ns)
    estimate = estimate_peak_bytes(users.n_user, n_sat, steps)
    limit = limit_bytes if limit_bytes is not None else machine_memory_bytes()
    if limit is not None and estimate > limit:
        fit = max_users(n_sat, steps, limit)
        raise InputError(
            f"estimated peak memory {estimate / 2**30:.1f} GiB ({users.n_user} users, ~{n_sat} satellites, "
            f"{steps} steps per chunk) exceeds this machine's {limit / 2**30:.1f} GiB; about {fit} users fit: "
            f"use fewer users (users.disc.count), or a shorter output.chunk_s"
        )
    return estimate
