"""The scenario edge: a validated :class:`~simulator.scenario.Scenario` → kernel inputs.

- :func:`build_catalog` — the satellites (Walker preset, Walker parameters or TLE/OMM files);
- :func:`scenario_start_utc` — the replay start (``time.start_utc`` or the median element epoch);
- :func:`build_users` — the ground users as a :class:`~simulator.orbits.ground.UserSet` (fixed, or
  moving along great circles);
- :func:`radio_params` — ``[radio]`` in edge units (GHz, MHz, dBm, dBi) → SI :class:`RadioParams`;
- :func:`service_centre_ecef` — the service-area centre the beams point at with
  ``radio.beam_pointing = "service-centre"``;
- :func:`check_inputs` — what the scenario loader runs after validating the fields.

Every problem raises :class:`~simulator.errors.ScenarioError` naming the scenario field
(``constellation.tle``, ``users.csv``, ``radio.<field>``, …) in its message and in its ``field``.
This module reads the scenario models it is given and imports none of them, so the scenario loader
can call it without an import loop. ``docs/scenarios.md`` documents the fields.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from .constants import M_PER_KM
from .errors import InputError, LeosimError, ScenarioError
from .orbits import Catalog, WalkerSpec, load_catalog, walker_catalog
from .orbits.ground import UserSet, area_centre_ecef, disc_users
from .radio import RadioParams
from .timebase import jd_to_utc_ns, utc_ns_to_datetime
from .units import dbm_to_w

if TYPE_CHECKING:
    from .scenario import Scenario, WalkerConfig

__all__ = [
    "build_catalog",
    "scenario_start_utc",
    "build_users",
    "radio_params",
    "service_centre_ecef",
    "check_inputs",
]

_CSV_COLUMNS = ("name", "lat_deg", "lon_deg", "height_m")


# --------------------------------------------------------------------------------------------- catalog


def build_catalog(scenario: "Scenario") -> Catalog:
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
        return _walker(cfg.preset, epoch, f"constellation.preset = {cfg.preset!r}", "constellation.preset")
    if cfg.walker is not None:
        return _walker(_walker_spec(cfg.walker), epoch, "constellation.walker", "constellation.walker")
    catalogs = []
    for path in cfg.tle or []:
        try:
            catalogs.append(load_catalog(path, skip_invalid=cfg.skip_invalid))
        except LeosimError as exc:
            raise ScenarioError(f"constellation.tle: {exc}", field="constellation.tle") from None
    return _concatenate(catalogs)


def _walker(spec: WalkerSpec | str, epoch: datetime | None, what: str, field: str) -> Catalog:
    try:
        return walker_catalog(spec, epoch=epoch)
    except LeosimError as exc:
        raise ScenarioError(f"{what}: {exc}", field=field) from None


def _walker_spec(cfg: "WalkerConfig") -> WalkerSpec:
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
        raise ScenarioError(f"constellation.walker: {exc}", field="constellation.walker") from None


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
                    " one file only",
                    field="constellation.tle",
                )
    return Catalog(
        names=tuple(n for c in catalogs for n in c.names),
        sat_ids=np.concatenate([c.sat_ids for c in catalogs]),
        satrecs=tuple(s for c in catalogs for s in c.satrecs),
        source="; ".join(c.source for c in catalogs),
        skipped=tuple(s for c in catalogs for s in c.skipped),
    )


def scenario_start_utc(scenario: "Scenario", catalog: Catalog) -> datetime:
    """Replay start (UTC): ``time.start_utc``, else the catalogue's median element epoch.

    The median epoch (to the microsecond) is where real element sets are most accurate; for Walker
    constellations it is the generator epoch 2026-01-01T00:00:00Z.
    """
    if scenario.time.start_utc is not None:
        return scenario.time.start_utc
    return utc_ns_to_datetime(int(jd_to_utc_ns(catalog.median_epoch_jd())))


# ----------------------------------------------------------------------------------------------- users


def build_users(scenario: "Scenario") -> UserSet:
    """The users of ``[users]``: listed points, a random disc or a CSV file; moving if ``speed_m_s > 0``.

    Raises
    ------
    ScenarioError — ``users.csv`` problems, with file:line
    """
    cfg = scenario.users
    motion = {"speed_m_s": cfg.speed_m_s, "heading_deg": cfg.heading_deg}
    if cfg.disc is not None:
        disc = cfg.disc
        return disc_users(disc.center_lat_deg, disc.center_lon_deg, disc.radius_km * M_PER_KM, disc.count,
                          disc.seed, **motion)
    points = cfg.points if cfg.points is not None else _read_users_csv(Path(cfg.csv), type(cfg))
    return UserSet(
        names=tuple(p.name for p in points),
        lat_deg=np.array([p.lat_deg for p in points]),
        lon_deg=np.array([p.lon_deg for p in points]),
        height_m=np.array([p.height_m for p in points]),
        **motion,
    )


def _read_users_csv(path: Path, users_model) -> list:
    """Rows of ``name,lat_deg,lon_deg[,height_m]`` after a header line; ``#`` lines are comments.

    Each row is validated as a listed user of ``users_model`` (the scenario's ``[users]`` model)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(
                f"users.csv: cannot read {path} ({exc})",
                field="users.csv") from None
    header: tuple[str, ...] | None = None
    points: list = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in next(csv.reader([line]))]
        where = f"{path}:{number}: users.csv"
        if header is None:
            if tuple(cells) not in (_CSV_COLUMNS[:3], _CSV_COLUMNS):
                raise ScenarioError(
                        f"{where}: header {','.join(cells)!r}; expected name,lat_deg,lon_deg[,height_m]",
                        field="users.csv")
            header = tuple(cells)
            continue
        if len(cells) != len(header):
            raise ScenarioError(
                    f"{where}: {len(cells)} columns, expected {len(header)} ({','.join(header)})",
                    field="users.csv")
        row = dict(zip(header, cells))
        if not row["name"]:
            raise ScenarioError(
                    f"{where}: name is empty; give every user a name",
                    field="users.csv")
        for key in header[1:]:
            try:
                float(row[key])
            except ValueError:
                raise ScenarioError(
                        f"{where}: {key} = {row[key]!r}: not a number",
                        field="users.csv") from None
        try:
            point = users_model.model_validate(
                {"points": [{k: (v if k == "name" else float(v)) for k, v in row.items()}]}).points[0]
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ScenarioError(f"{where}: {err['loc'][-1]} = {err['input']!r}: {err['msg']}",
                                field="users.csv") from None
        if point.name in seen:
            raise ScenarioError(f"{where}: name {point.name!r} repeats line {seen[point.name]}; names must be unique",
                                field="users.csv")
        seen[point.name] = number
        points.append(point)
    if not points:
        raise ScenarioError(
                f"{path}: users.csv: no users (expected a header name,lat_deg,lon_deg[,height_m] and rows)",
                field="users.csv")
    return points


def service_centre_ecef(users: UserSet) -> np.ndarray:
    """Centre of the service area at t = 0, ECEF on the ellipsoid surface, shape (3,), m
    (:func:`~simulator.orbits.ground.area_centre_ecef`).

    Raises
    ------
    ScenarioError — ``radio.beam_pointing``, when the users surround the Earth and have no centre
    """
    centre = area_centre_ecef(users)
    if centre is None:
        raise ScenarioError(
            "radio.beam_pointing = 'service-centre': the users surround the Earth and have no centre; use 'nadir'",
            field="radio.beam_pointing")
    return centre


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


def radio_params(scenario: "Scenario") -> RadioParams:
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
        name = _radio_field(str(exc), type(cfg).model_fields)
        if name is None:
            raise ScenarioError(f"radio: {exc}", field="radio") from None
        raise ScenarioError(f"radio.{name} = {getattr(cfg, name)!r}: {exc}", field=f"radio.{name}") from None


def _kappa_fields(kappa_db: float | tuple[float, float] | None) -> dict:
    """``kappa_db`` → RadioParams' ``kappa_range_db`` (a pair), ``kappa_db`` (a number) or nothing (tables)."""
    if isinstance(kappa_db, tuple):
        return {"kappa_range_db": kappa_db}
    return {} if kappa_db is None else {"kappa_db": kappa_db}


def _radio_field(message: str, radio_fields) -> str | None:
    """The ``[radio]`` field a RadioParams message is about (the RadioParams field it starts with)."""
    if "zenith attenuation" in message:  # outside the P.676 table: the frequency is the cause
        return "frequency_ghz"
    for name in RadioParams.__dataclass_fields__:
        mapped = _RADIO_FIELDS.get(name, name)
        if message.startswith(name) and mapped in radio_fields:
            return mapped
    return None


def check_inputs(scenario: "Scenario") -> None:
    """Check, without propagating or reading files, what :func:`radio_params` and the Walker
    generator will receive; called by :func:`~simulator.scenario.load_scenario`."""
    radio_params(scenario)
    if scenario.constellation.walker is not None:
        _walker_spec(scenario.constellation.walker)
