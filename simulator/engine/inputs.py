"""The scenario edge of the replay: a validated :class:`~simulator.scenario.Scenario` → kernel inputs.

- :func:`build_catalog` — the satellites (Walker preset, Walker parameters or TLE/OMM files);
- :func:`scenario_start_utc` — the replay start (``time.start_utc`` or the median element epoch);
- :func:`build_users` — the ground users as a :class:`UserSet` with ECEF positions and velocities
  at any time (fixed, or moving along great circles);
- :func:`radio_params` — ``[radio]`` in edge units (GHz, MHz, dBm, dBi) → SI :class:`RadioParams`;
- :func:`service_centre_ecef` — the service-area centre the beams point at with
  ``radio.beam_pointing = "service-centre"``.

Every problem raises :class:`~simulator.errors.ScenarioError` naming the scenario field
(``constellation.tle``, ``users.csv``, ``radio.<field>``, …). ``docs/scenarios.md`` documents the fields.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from pydantic import ValidationError

from ..constants import M_PER_KM, WGS84_A, WGS84_F
from ..errors import InputError, LeosimError, ScenarioError
from ..orbits import Catalog, WalkerSpec, ecef_to_geodetic, geodetic_to_ecef, load_catalog, walker_catalog
from ..radio import RadioParams
from ..scenario import RadioConfig, Scenario, UserPoint, UsersConfig, WalkerConfig
from ..timebase import jd_to_utc_ns, utc_ns_to_datetime
from ..units import dbm_to_w, rad

__all__ = [
    "UserSet",
    "build_catalog",
    "scenario_start_utc",
    "build_users",
    "radio_params",
    "service_centre_ecef",
    "check_inputs",
]

_WGS84_B = WGS84_A * (1.0 - WGS84_F)  # m, semi-minor axis (NIMA TR8350.2)
_CSV_COLUMNS = ("name", "lat_deg", "lon_deg", "height_m")


# --------------------------------------------------------------------------------------------- catalog


def build_catalog(scenario: Scenario) -> Catalog:
    """The satellites of ``[constellation]``.

    A preset or Walker parameters are generated with their element epoch at ``time.start_utc``
    (default 2026-01-01T00:00:00Z, the generator epoch), so the Walker pattern holds exactly at the
    start. TLE/OMM files are read in the order given and concatenated; a NORAD id present in two
    files is an error naming both.

    Raises
    ------
    ScenarioError — naming ``constellation.preset``, ``constellation.walker`` or ``constellation.tle``
    """
    cfg = scenario.constellation
    epoch = scenario.time.start_utc
    if cfg.preset is not None:
        return _walker(cfg.preset, epoch, f"constellation.preset = {cfg.preset!r}")
    if cfg.walker is not None:
        return _walker(_walker_spec(cfg.walker), epoch, "constellation.walker")
    catalogs = []
    for path in cfg.tle or []:
        try:
            catalogs.append(load_catalog(path, skip_invalid=cfg.skip_invalid))
        except LeosimError as exc:
            raise ScenarioError(f"constellation.tle: {exc}") from None
    return _concatenate(catalogs)


def _walker(spec: WalkerSpec | str, epoch: datetime | None, what: str) -> Catalog:
    try:
        return walker_catalog(spec, epoch=epoch)
    except LeosimError as exc:
        raise ScenarioError(f"{what}: {exc}") from None


def _walker_spec(cfg: WalkerConfig) -> WalkerSpec:
    try:
        return WalkerSpec(
            name="walker",
            n_planes=cfg.planes,
            sats_per_plane=cfg.per_plane,
            altitude_m=cfg.altitude_km * M_PER_KM,
            inclination_deg=cfg.inclination_deg,
            phasing=cfg.phasing,
            pattern="star" if cfg.star else "delta",
        )
    except InputError as exc:
        raise ScenarioError(f"constellation.walker: {exc}") from None


def _concatenate(catalogs: list[Catalog]) -> Catalog:
    if len(catalogs) == 1:
        return catalogs[0]
    owner: dict[int, int] = {}
    for i, cat in enumerate(catalogs):
        for sat_id, name in zip(cat.sat_ids.tolist(), cat.names):
            j = owner.setdefault(sat_id, i)
            if j != i:
                n_dup = len(set(cat.sat_ids.tolist()) & set(catalogs[j].sat_ids.tolist()))
                raise ScenarioError(
                    f"constellation.tle: NORAD id {sat_id} ({name or 'unnamed'}) is in both {catalogs[j].source}"
                    f" and {cat.source} ({n_dup} shared id{'s' if n_dup > 1 else ''}); list each satellite in"
                    " one file only"
                )
    return Catalog(
        names=tuple(n for c in catalogs for n in c.names),
        sat_ids=np.concatenate([c.sat_ids for c in catalogs]),
        satrecs=tuple(s for c in catalogs for s in c.satrecs),
        source="; ".join(c.source for c in catalogs),
        skipped=tuple(s for c in catalogs for s in c.skipped),
    )


def scenario_start_utc(scenario: Scenario, catalog: Catalog) -> datetime:
    """Replay start (UTC): ``time.start_utc``, else the catalogue's median element epoch.

    The median epoch (to the microsecond) is where real element sets are most accurate; for Walker
    constellations it is the generator epoch 2026-01-01T00:00:00Z.
    """
    if scenario.time.start_utc is not None:
        return scenario.time.start_utc
    return utc_ns_to_datetime(int(jd_to_utc_ns(catalog.median_epoch_jd())))


# ----------------------------------------------------------------------------------------------- users


@dataclass(frozen=True, eq=False)
class UserSet:
    """Ground users, fixed or moving along great circles at constant speed.

    Motion (``speed_m_s > 0``): every user starts at its position and heads ``heading_deg``
    (clockwise from north). The direction from the Earth's centre turns along the great circle of
    the unit sphere fixed by the start point and the heading, at the constant angular rate
    ω = v / R₀ (R₀ the user's geocentric radius at t = 0); the geocentric radius follows the WGS84
    ellipsoid, ρ(t) = ρ_ell(û(t)) + (R₀ − ρ_ell(û₀)), so the height stays within 0.2 m of the
    start height (h·δ²/2, δ ≤ 0.19° the geodetic−geocentric latitude difference, h ≤ 20 km).
    This is the local-sphere approximation of an ellipsoid geodesic: the ground speed is v at
    t = 0 (within 6 ppm, the ellipsoid's slope) and ≈ v·ρ/R₀ later, off by at most 0.34 % (pole↔equator, the ellipsoid's radius range
    f = 1/298.26) and by < 0.06 % within 1000 km at mid-latitudes; the initial heading holds to
    < 1e-5 rad. Velocities are the exact time derivative of the positions. Fixed users have zero
    velocity (Earth-fixed frame).

    Attributes
    ----------
    names : tuple of str — user names, in user_id order
    lat_deg, lon_deg, height_m : ndarray, shape (U,), deg, deg, m — WGS84 geodetic position at
        t = 0 (longitude in [-180, 180))
    speed_m_s : float, m/s — ground speed of every user (0: fixed)
    heading_deg : float, deg — initial heading, clockwise from north
    cap_centre_ecef_m : ndarray, shape (3,), m, optional — centre of the disc the users were drawn
        from (None for listed users)
    user_id : ndarray, shape (U,), int64 — 0 … U−1 (derived)
    """

    names: tuple[str, ...]
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    height_m: np.ndarray
    speed_m_s: float = 0.0
    heading_deg: float = 0.0
    cap_centre_ecef_m: np.ndarray | None = None
    user_id: np.ndarray = field(init=False)
    _start_m: np.ndarray = field(init=False, repr=False)
    _dir0: np.ndarray = field(init=False, repr=False)
    _dir1: np.ndarray = field(init=False, repr=False)
    _offset_m: np.ndarray = field(init=False, repr=False)
    _omega_rad_s: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lat, lon, h = (np.array(x, dtype=float).reshape(-1) for x in (self.lat_deg, self.lon_deg, self.height_m))
        if not len(self.names) == lat.size == lon.size == h.size:
            raise InputError(f"UserSet sizes differ: {len(self.names)} names, {lat.size}/{lon.size}/{h.size} positions")
        if not (math.isfinite(self.speed_m_s) and self.speed_m_s >= 0.0 and math.isfinite(self.heading_deg)):
            raise InputError(f"speed_m_s={self.speed_m_s!r} must be >= 0 and heading_deg={self.heading_deg!r} finite")
        lon = (lon + 180.0) % 360.0 - 180.0
        start = geodetic_to_ecef(lat, lon, h)
        radius = np.linalg.norm(start, axis=-1)
        up = start / radius[:, None]
        east, north = _tangent_basis(up, lon)
        psi = float(rad(self.heading_deg))
        values = {
            "lat_deg": lat, "lon_deg": lon, "height_m": h, "user_id": np.arange(lat.size, dtype=np.int64),
            "_start_m": start, "_dir0": up, "_dir1": np.cos(psi) * north + np.sin(psi) * east,
            "_offset_m": radius - _ellipsoid_radius_m(up), "_omega_rad_s": float(self.speed_m_s) / radius,
        }
        if self.cap_centre_ecef_m is not None:
            values["cap_centre_ecef_m"] = np.array(self.cap_centre_ecef_m, dtype=float).reshape(3)
        for name, value in values.items():
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "names", tuple(self.names))

    @property
    def n_user(self) -> int:
        """Number of users U."""
        return len(self.names)

    @property
    def moving(self) -> bool:
        """True when the users move (``speed_m_s > 0``)."""
        return self.speed_m_s > 0.0

    def positions_m(self, t_s: ArrayLike) -> np.ndarray:
        """ECEF positions at ``t_s`` seconds after the start.

        Parameters
        ----------
        t_s : ndarray, shape (T,) (or any shape (...)), s

        Returns
        -------
        ndarray, shape (T, U, 3), m
        """
        t = np.asarray(t_s, dtype=float)
        if not self.moving:
            return np.broadcast_to(self._start_m, t.shape + self._start_m.shape).copy()
        u, _, rho, _ = self._path(t)
        return rho[..., None] * u

    def velocities_m_s(self, t_s: ArrayLike) -> np.ndarray:
        """ECEF (Earth-fixed) velocities at ``t_s``: the exact derivative of :meth:`positions_m`.

        d/dt [ρ û] = ρ' û + ρ û', û' = ω(−sin ωt û₀ + cos ωt ê₀), ρ' = −ρ_ell³ (û · D û'),
        D = diag(1/a², 1/a², 1/b²) (from ρ_ell = (û · D û)^(−1/2)).

        Returns
        -------
        ndarray, shape (T, U, 3), m/s — zeros for fixed users
        """
        t = np.asarray(t_s, dtype=float)
        if not self.moving:
            return np.zeros(t.shape + self._start_m.shape)
        u, du, rho, drho = self._path(t)
        return drho[..., None] * u + rho[..., None] * du

    def _path(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        theta = self._omega_rad_s * t[..., None]  # (..., U)
        c, s = np.cos(theta)[..., None], np.sin(theta)[..., None]
        u = c * self._dir0 + s * self._dir1
        du = self._omega_rad_s[:, None] * (c * self._dir1 - s * self._dir0)
        rho_ell = _ellipsoid_radius_m(u)
        d_weights = np.array([1.0 / WGS84_A**2, 1.0 / WGS84_A**2, 1.0 / _WGS84_B**2])
        drho = -(rho_ell**3) * np.sum(u * du * d_weights, axis=-1)
        return u, du, rho_ell + self._offset_m, drho


def _ellipsoid_radius_m(unit: np.ndarray) -> np.ndarray:
    """Geocentric radius of the WGS84 ellipsoid along unit vectors ``unit`` (..., 3), m."""
    return 1.0 / np.sqrt((unit[..., 0] ** 2 + unit[..., 1] ** 2) / WGS84_A**2 + unit[..., 2] ** 2 / _WGS84_B**2)


def _tangent_basis(up: np.ndarray, lon_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geocentric east and north unit vectors at unit vectors ``up`` (U, 3) of longitude ``lon_deg``.

    East is (−sin λ, cos λ, 0); north = up × east, tangent to the sphere (well defined at the poles
    because the longitude is given).
    """
    lam = rad(lon_deg)
    east = np.stack([-np.sin(lam), np.cos(lam), np.zeros_like(lam)], axis=-1)
    return east, np.cross(up, east)


def build_users(scenario: Scenario) -> UserSet:
    """The users of ``[users]``: listed points, a random disc or a CSV file; moving if ``speed_m_s > 0``.

    Raises
    ------
    ScenarioError — ``users.csv`` problems, with file:line
    """
    cfg = scenario.users
    motion = {"speed_m_s": cfg.speed_m_s, "heading_deg": cfg.heading_deg}
    if cfg.disc is not None:
        return _disc_users(cfg, motion)
    points = cfg.points if cfg.points is not None else _read_users_csv(Path(cfg.csv))
    return UserSet(
        names=tuple(p.name for p in points),
        lat_deg=np.array([p.lat_deg for p in points]),
        lon_deg=np.array([p.lon_deg for p in points]),
        height_m=np.array([p.height_m for p in points]),
        **motion,
    )


def _disc_users(cfg: UsersConfig, motion: dict) -> UserSet:
    """``count`` users uniform in area on the spherical cap of geodesic radius ``radius_km``.

    The sphere has the geocentric radius R_c of the centre (on the ellipsoid surface). Cap area
    grows as 1 − cos γ = 2 sin²(γ/2) (Archimedes), so γ = 2 arcsin(√u · sin(α/2)) with u ~ U[0, 1)
    and α = radius / R_c gives uniform area; the bearing is uniform in [0, 2π). Points are mapped
    radially onto the ellipsoid (height 0): over a 2000 km cap this changes the area density by
    < 0.25 % (the ellipsoid's radius varies by ±0.1 % across it).
    """
    disc = cfg.disc
    centre = geodetic_to_ecef(disc.center_lat_deg, disc.center_lon_deg, 0.0)
    r_c = float(np.linalg.norm(centre))
    c_hat = centre / r_c
    east, north = _tangent_basis(c_hat[None], np.array([disc.center_lon_deg]))
    rng = np.random.default_rng(disc.seed)
    u, bearing = rng.random((2, disc.count))
    bearing = 2.0 * math.pi * bearing
    alpha = disc.radius_km * M_PER_KM / r_c
    gamma = 2.0 * np.arcsin(np.sqrt(u) * math.sin(alpha / 2.0))
    tangent = np.cos(bearing)[:, None] * north + np.sin(bearing)[:, None] * east
    direction = np.cos(gamma)[:, None] * c_hat + np.sin(gamma)[:, None] * tangent
    lat, lon, _ = ecef_to_geodetic(_ellipsoid_radius_m(direction)[:, None] * direction)
    width = max(3, len(str(disc.count - 1)))
    return UserSet(
        names=tuple(f"user-{i:0{width}d}" for i in range(disc.count)),
        lat_deg=lat,
        lon_deg=lon,
        height_m=np.zeros(disc.count),
        cap_centre_ecef_m=centre,
        **motion,
    )


def _read_users_csv(path: Path) -> list[UserPoint]:
    """Rows of ``name,lat_deg,lon_deg[,height_m]`` after a header line; ``#`` lines are comments."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"users.csv: cannot read {path} ({exc})") from None
    header: tuple[str, ...] | None = None
    points: list[UserPoint] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in next(csv.reader([line]))]
        where = f"{path}:{number}: users.csv"
        if header is None:
            if tuple(cells) not in (_CSV_COLUMNS[:3], _CSV_COLUMNS):
                raise ScenarioError(f"{where}: header {','.join(cells)!r}; expected name,lat_deg,lon_deg[,height_m]")
            header = tuple(cells)
            continue
        if len(cells) != len(header):
            raise ScenarioError(f"{where}: {len(cells)} columns, expected {len(header)} ({','.join(header)})")
        row = dict(zip(header, cells))
        if not row["name"]:
            raise ScenarioError(f"{where}: name is empty; give every user a name")
        for key in header[1:]:
            try:
                float(row[key])
            except ValueError:
                raise ScenarioError(f"{where}: {key} = {row[key]!r}: not a number") from None
        try:
            point = UserPoint.model_validate({k: (v if k == "name" else float(v)) for k, v in row.items()})
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ScenarioError(f"{where}: {err['loc'][0]} = {err['input']!r}: {err['msg']}") from None
        if point.name in seen:
            raise ScenarioError(f"{where}: name {point.name!r} repeats line {seen[point.name]}; names must be unique")
        seen[point.name] = number
        points.append(point)
    if not points:
        raise ScenarioError(f"{path}: users.csv: no users (expected a header name,lat_deg,lon_deg[,height_m] and rows)")
    return points


def service_centre_ecef(users: UserSet) -> np.ndarray:
    """Centre of the service area at t = 0, ECEF on the ellipsoid surface, shape (3,), m.

    Disc users: the disc centre. Listed users: the point of the ellipsoid under the mean of the
    users' geocentric unit vectors (the centre of a cap around them).
    """
    if users.cap_centre_ecef_m is not None:
        return np.array(users.cap_centre_ecef_m, dtype=float)
    start = users.positions_m(0.0)
    mean = np.mean(start / np.linalg.norm(start, axis=-1, keepdims=True), axis=0)
    norm = float(np.linalg.norm(mean))
    if norm < 1e-6:
        raise ScenarioError(
            "radio.beam_pointing = 'service-centre': the users surround the Earth and have no centre; use 'nadir'"
        )
    return _ellipsoid_radius_m(mean / norm) * mean / norm


# ----------------------------------------------------------------------------------------------- radio

#: RadioParams field → the ``[radio]`` field a user sets.
_RADIO_FIELDS = {
    "frequency_hz": "frequency_ghz",
    "bandwidth_hz": "bandwidth_mhz",
    "tx_power_w": "tx_power_dbm",
    "noise_w": "noise_dbm",
    "ue_tx_power_w": "ue_tx_power_dbm",
    "spacing_h_wavelengths": "spacing_wavelengths",
    "spacing_v_wavelengths": "spacing_wavelengths",
    "tx_gain_dbi": "sat_gain_dbi",
    "rx_gain_dbi": "ue_gain_dbi",
    "kappa_range_db": "kappa_db",
    "zenith_attenuation_db": "zenith_attenuation_db",
}


def radio_params(scenario: Scenario) -> RadioParams:
    """``[radio]`` (GHz, MHz, dBm, dBi) → :class:`~simulator.radio.RadioParams` (SI, linear).

    f = frequency_ghz·1e9 Hz, B = bandwidth_mhz·1e6 Hz, ρ_t, σ², η_t from dBm to W; the one
    ``spacing_wavelengths`` serves both array axes; ``kappa_db`` goes to ``kappa_db`` (constant)
    or ``kappa_range_db`` (uniform). ``n_pilots``, ``n_beams`` and ``beam_pointing`` are read by
    the schemes and the engine directly.

    Raises
    ------
    ScenarioError — ``radio.<field> = value: what is allowed`` for anything RadioParams rejects
    """
    cfg = scenario.radio
    try:
        return RadioParams(
            frequency_hz=cfg.frequency_ghz * 1e9,
            bandwidth_hz=cfg.bandwidth_mhz * 1e6,
            tx_power_w=float(dbm_to_w(cfg.tx_power_dbm)),
            noise_w=float(dbm_to_w(cfg.noise_dbm)),
            n_h=cfg.n_h,
            n_v=cfg.n_v,
            spacing_h_wavelengths=cfg.spacing_wavelengths,
            spacing_v_wavelengths=cfg.spacing_wavelengths,
            tx_gain_dbi=cfg.sat_gain_dbi,
            rx_gain_dbi=cfg.ue_gain_dbi,
            aperture_radius_m=cfg.aperture_radius_m,
            zenith_attenuation_db=cfg.zenith_attenuation_db,
            kappa_model=cfg.kappa_model,
            **_kappa_fields(cfg.kappa_db),
            environment=cfg.environment,
            band=cfg.band,
            los_model=cfg.los_model,
            shadowing=cfg.shadowing,
            shadowing_sigma_db=cfg.shadowing_sigma_db,
            scintillation=cfg.scintillation,
            other_losses_db=cfg.other_losses_db,
            ue_tx_power_w=float(dbm_to_w(cfg.ue_tx_power_dbm)),
        )
    except InputError as exc:
        name = _radio_field(str(exc))
        if name is None:
            raise ScenarioError(f"radio: {exc}") from None
        raise ScenarioError(f"radio.{name} = {getattr(cfg, name)!r}: {exc}") from None


def _kappa_fields(kappa_db: float | tuple[float, float] | None) -> dict:
    """``kappa_db`` → RadioParams' ``kappa_range_db`` (a pair), ``kappa_db`` (a number) or nothing (tables)."""
    if isinstance(kappa_db, tuple):
        return {"kappa_range_db": kappa_db}
    return {} if kappa_db is None else {"kappa_db": kappa_db}


def _radio_field(message: str) -> str | None:
    """The ``[radio]`` field a RadioParams message is about (the RadioParams field it starts with)."""
    if "zenith attenuation" in message:  # outside the P.676 table: the frequency is the cause
        return "frequency_ghz"
    for name in RadioParams.__dataclass_fields__:
        mapped = _RADIO_FIELDS.get(name, name)
        if message.startswith(name) and mapped in RadioConfig.model_fields:
            return mapped
    return None


def check_inputs(scenario: Scenario) -> None:
    """Check, without propagating or reading files, what :func:`radio_params` and the Walker
    generator will receive; called by :func:`~simulator.scenario.load_scenario`."""
    radio_params(scenario)
    if scenario.constellation.walker is not None:
        _walker_spec(scenario.constellation.walker)
