"""Walker delta and star constellations, written as TLEs so files and memory agree exactly.

Walker notation i: t/p/f (Walker 1984, "Satellite constellations", JBIS 37): t satellites in p
equally populated circular orbit planes at inclination i; f (0 … p−1) sets the relative phasing.
With S = t/p satellites per plane, plane k (0-based) and slot j (0-based) get

- RAAN      Ω_k = k · Δ/p, with Δ = 360° (delta pattern) or 180° (star pattern: ascending nodes
  spread over a half circle, so neighbouring planes of the first and last plane counter-rotate);
- anomaly   M_kj = j · 360°/S + k · f · 360°/t (argument of latitude at epoch, perigee at 0°).

Orbits are circular: eccentricity 0, which SGP4 accepts (it floors the perturbed eccentricity at
1e-6 internally). The altitude is the time-averaged SGP4 geocentric distance over one orbit minus
the WGS-72 equatorial radius; :func:`mean_motion_for_altitude` finds the TLE (Kozai) mean motion
that gives it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
from scipy.optimize import brentq
from sgp4.api import WGS72, Satrec

from ..constants import SECONDS_PER_DAY, SGP4_J2, SGP4_MU, SGP4_RADIUS
from ..errors import InputError, SolverError
from .alpha5 import ALPHA5_MAX
from .catalog import Catalog
from .elements import OrbitElements, as_utc
from .tle import format_tle_text, parse_tle_text

__all__ = [
    "DEFAULT_EPOCH",
    "DEFAULT_FIRST_SAT_ID",
    "WalkerSpec",
    "PRESETS",
    "preset",
    "kepler_mean_motion",
    "mean_motion_for_altitude",
    "mean_altitude_m",
    "walker_elements",
    "walker_catalog",
]

DEFAULT_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)  # epoch of generated files (reproducible)
DEFAULT_FIRST_SAT_ID = 90_000  # synthetic catalogue numbers start here (Alpha-5 past 99 999)
_MIN_ALTITUDE_M, _MAX_ALTITUDE_M = 100e3, 50_000e3
_SAMPLES_PER_ORBIT = 64  # equally spaced in time; the cos 2u short-period term sums to zero exactly
_EPOCH_1950 = datetime(1949, 12, 31, tzinfo=timezone.utc)  # SGP4's epoch origin (days)


@dataclass(frozen=True)
class WalkerSpec:
    """A Walker constellation i: t/p/f.

    Attributes
    ----------
    name : str — constellation name; satellite names are ``NAME-Pkk-Sjj`` (upper case, 1-based)
    n_planes : int — p, number of orbit planes
    sats_per_plane : int — S = t/p
    altitude_m : float, m — orbit-averaged geocentric distance minus WGS-72 equatorial radius
    inclination_deg : float, deg — 0 … 180
    phasing : int — f, 0 … p−1; adjacent planes are offset by f · 360°/t in anomaly
    pattern : str — ``'delta'`` (nodes over 360°) or ``'star'`` (nodes over 180°)
    first_sat_id : int — catalogue number of P01-S01; the rest follow plane by plane
    raan_spread_deg : float, deg — derived: 360 (delta) or 180 (star)
    """

    name: str
    n_planes: int
    sats_per_plane: int
    altitude_m: float
    inclination_deg: float
    phasing: int
    pattern: str = "delta"
    first_sat_id: int = DEFAULT_FIRST_SAT_ID
    raan_spread_deg: float = field(init=False)

    def __post_init__(self) -> None:
        problems = []
        if not (self.name and self.name.isascii() and self.name.isprintable() and " " not in self.name):
            problems.append(f"name {self.name!r} must be non-empty printable ASCII without blanks")
        for label, value in (("n_planes", self.n_planes), ("sats_per_plane", self.sats_per_plane)):
            if int(value) != value or value < 1:
                problems.append(f"{label}={value!r} must be a positive integer")
        if not _MIN_ALTITUDE_M <= self.altitude_m <= _MAX_ALTITUDE_M:
            problems.append(f"altitude_m={self.altitude_m!r} outside [{_MIN_ALTITUDE_M:g}, {_MAX_ALTITUDE_M:g}] m")
        if not 0.0 <= self.inclination_deg <= 180.0:
            problems.append(f"inclination_deg={self.inclination_deg!r} outside [0, 180]")
        if self.pattern not in ("delta", "star"):
            problems.append(f"pattern={self.pattern!r}, expected 'delta' or 'star'")
        if int(self.phasing) != self.phasing or not 0 <= self.phasing < max(int(self.n_planes), 1):
            problems.append(f"phasing={self.phasing!r} outside 0 … n_planes-1 = {int(self.n_planes) - 1}")
        last = self.first_sat_id + int(self.n_planes) * int(self.sats_per_plane) - 1
        if int(self.first_sat_id) != self.first_sat_id or self.first_sat_id < 1 or last > ALPHA5_MAX:
            problems.append(f"catalogue numbers {self.first_sat_id}…{last} outside [1, {ALPHA5_MAX}]")
        if problems:
            raise InputError(f"Walker constellation {self.name!r}: " + "; ".join(problems))
        object.__setattr__(self, "raan_spread_deg", 360.0 if self.pattern == "delta" else 180.0)

    @property
    def n_sats(self) -> int:
        """t, the number of satellites."""
        return self.n_planes * self.sats_per_plane

    @property
    def raan_spacing_deg(self) -> float:
        """Node spacing of adjacent planes, deg: 360/p (delta) or 180/p (star)."""
        return self.raan_spread_deg / self.n_planes

    @property
    def phase_offset_deg(self) -> float:
        """Anomaly offset of plane k+1 with respect to plane k, deg: f · 360/t."""
        return self.phasing * 360.0 / self.n_sats

    def notation(self) -> str:
        """Walker notation, e.g. ``'53.0°: 1584/72/1 delta, 550 km'``."""
        return (
            f"{self.inclination_deg:g}°: {self.n_sats}/{self.n_planes}/{self.phasing} {self.pattern},"
            f" {self.altitude_m / 1e3:g} km"
        )


# Geometry of each shell from its operator's filings; the phasing f is not published by the
# operators and is leosim's choice: f = 1 for the delta shells, f = p/2 (adjacent planes offset by
# half the in-plane spacing, as Iridium flies) for the star shells. Catalogue numbers of different
# presets do not overlap, so presets can be combined in one scenario.
PRESETS: dict[str, WalkerSpec] = {
    "starlink-shell1": WalkerSpec("starlink-shell1", 72, 22, 550e3, 53.0, 1, "delta", 90_000),
    "kuiper-630": WalkerSpec("kuiper-630", 34, 34, 630e3, 51.9, 1, "delta", 92_000),
    "oneweb": WalkerSpec("oneweb", 12, 49, 1200e3, 87.9, 6, "star", 94_000),
    "iridium": WalkerSpec("iridium", 6, 11, 780e3, 86.4, 3, "star", 95_000),
}


def preset(name: str) -> WalkerSpec:
    """The preset called ``name``; an unknown name raises one line listing the valid ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown Walker preset {name!r}; valid presets: {', '.join(PRESETS)}") from None


def kepler_mean_motion(altitude_m: float) -> float:
    """Two-body mean motion n = √(μ/a³) for a = R + h (WGS-72 μ and R), rev/day.

    >>> round(kepler_mean_motion(550e3), 6)
    15.05492
    """
    a = SGP4_RADIUS + altitude_m
    return math.sqrt(SGP4_MU / a**3) * SECONDS_PER_DAY / (2.0 * math.pi)


def _circular_satrec(mean_motion_rev_per_day: float, inclination_deg: float) -> Satrec:
    sat = Satrec()
    epoch_days = (DEFAULT_EPOCH - _EPOCH_1950).total_seconds() / SECONDS_PER_DAY
    no_kozai = mean_motion_rev_per_day * 2.0 * math.pi / 1440.0  # rad/min
    sat.sgp4init(WGS72, "i", 0, epoch_days, 0.0, 0.0, 0.0, 0.0, 0.0, math.radians(inclination_deg), 0.0, no_kozai, 0.0)
    return sat


def mean_altitude_m(satrec: Satrec) -> float:
    """Time-averaged SGP4 geocentric distance over one draconic orbit minus the WGS-72 radius, m.

    The orbit starts at the element epoch and lasts 2π/(Ṁ + ω̇) (SGP4's secular rates), so the
    short-period term in cos 2u (Hoots & Roehrich 1980, Spacetrack Report 3, eq. for r_k) averages out.
    """
    period_min = 2.0 * math.pi / (satrec.mdot + satrec.argpdot)
    t_min = np.arange(_SAMPLES_PER_ORBIT) * (period_min / _SAMPLES_PER_ORBIT)
    jd = np.full(t_min.shape, satrec.jdsatepoch)
    error, r_km, _ = satrec.sgp4_array(jd, satrec.jdsatepochF + t_min / 1440.0)
    if np.any(error):
        raise SolverError(f"SGP4 error codes {sorted(set(error.tolist()) - {0})} while averaging the altitude")
    return float(np.mean(np.linalg.norm(r_km, axis=-1))) * 1e3 - SGP4_RADIUS


def mean_motion_for_altitude(altitude_m: float, inclination_deg: float) -> float:
    """TLE (Kozai) mean motion of a circular orbit whose SGP4 mean altitude is ``altitude_m``, rev/day.

    The altitude is the time average of SGP4's geocentric distance over one orbit minus the WGS-72
    equatorial radius (:func:`mean_altitude_m`). To first order in J2 (Hoots & Roehrich 1980:
    Kozai → Brouwer mean motion, and the short-period radius term −(3/4) J2 R²/a · (3cos²i − 1))
    that distance is a₁(1 − ε(3cos²i − 1)/4) with a₁ = (μ/n²)^(1/3) and ε = J2 (R/a)², so

        n ≈ n_Kepler(a) · (1 − (3/8) J2 (R/a)² (3cos²i − 1)),

    which starts a root search on the propagated average (converged to < 1 mm). At 53° the result
    is within 0.01 % of the two-body n = √(μ/a³); near-polar orbits need a larger n (+0.03 %).

    Parameters
    ----------
    altitude_m : float, m — mean altitude above the WGS-72 equatorial radius (100 km … 50 000 km)
    inclination_deg : float, deg — the J2 terms depend on it

    Returns
    -------
    float, rev/day
    """
    if not _MIN_ALTITUDE_M <= altitude_m <= _MAX_ALTITUDE_M or not 0.0 <= inclination_deg <= 180.0:
        raise InputError(
            f"altitude_m={altitude_m!r} or inclination_deg={inclination_deg!r} outside "
            f"[{_MIN_ALTITUDE_M:g}, {_MAX_ALTITUDE_M:g}] m / [0, 180] deg"
        )
    a = SGP4_RADIUS + altitude_m
    x = 3.0 * math.cos(math.radians(inclination_deg)) ** 2 - 1.0
    first_order = kepler_mean_motion(altitude_m) * (1.0 - 0.375 * SGP4_J2 * (SGP4_RADIUS / a) ** 2 * x)

    def excess_m(n: float) -> float:
        return mean_altitude_m(_circular_satrec(n, inclination_deg)) - altitude_m

    lo, hi = first_order * (1.0 - 1e-4), first_order * (1.0 + 1e-4)  # residual is O(J2²) ≈ 1e-6
    if excess_m(lo) * excess_m(hi) > 0.0:
        raise SolverError(f"no mean motion in [{lo:.8f}, {hi:.8f}] rev/day gives altitude {altitude_m:g} m")
    return float(brentq(excess_m, lo, hi, xtol=1e-11, rtol=1e-15))


def walker_elements(spec: WalkerSpec, epoch: datetime | None = None) -> list[OrbitElements]:
    """Element sets of every satellite, plane by plane (index = plane · S + slot).

    Parameters
    ----------
    spec : WalkerSpec
    epoch : datetime, optional — UTC; default :data:`DEFAULT_EPOCH` (2026-01-01T00:00:00Z)

    Returns
    -------
    list of OrbitElements — circular orbits, perigee 0°, B* = 0 (no drag)
    """
    when = DEFAULT_EPOCH if epoch is None else as_utc(epoch)
    n_rev_day = mean_motion_for_altitude(spec.altitude_m, spec.inclination_deg)
    prefix = spec.name.upper()
    plane_width, slot_width = max(2, len(str(spec.n_planes))), max(2, len(str(spec.sats_per_plane)))
    rows = []
    for k in range(spec.n_planes):
        for j in range(spec.sats_per_plane):
            anomaly = (j * 360.0 / spec.sats_per_plane + k * spec.phase_offset_deg) % 360.0
            rows.append(
                OrbitElements(
                    name=f"{prefix}-P{k + 1:0{plane_width}d}-S{j + 1:0{slot_width}d}",
                    sat_id=spec.first_sat_id + k * spec.sats_per_plane + j,
                    epoch=when,
                    inclination_deg=spec.inclination_deg,
                    raan_deg=k * spec.raan_spacing_deg,
                    eccentricity=0.0,
                    arg_perigee_deg=0.0,
                    mean_anomaly_deg=anomaly,
                    mean_motion_rev_per_day=n_rev_day,
                )
            )
    return rows


def walker_catalog(spec_or_preset_name: WalkerSpec | str, epoch: datetime | None = None) -> Catalog:
    """The constellation as a :class:`Catalog`, built from its formatted TLE lines.

    The satellites go through the same TLE text a file written by ``leosim tle walker`` holds, so
    a simulation of the in-memory constellation and one of the file agree to the last digit.
    """
    spec = preset(spec_or_preset_name) if isinstance(spec_or_preset_name, str) else spec_or_preset_name
    text = format_tle_text(walker_elements(spec, epoch))
    return parse_tle_text(text, source=f"walker:{spec.name}")
