"""Scenario files: TOML validated into frozen models at the edge, then passed in explicitly.

A scenario names the time span, the constellation, the users, the radio set-up, the schemes and RSAP
policies to run, the event parameters and where to write. Every field is documented, with unit and
default, in ``docs/scenarios.md``. Validation happens here, before anything is written: an invalid
file raises :class:`~simulator.errors.ScenarioError` naming the file, the line (where it can be
found), the field, the value and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, Strict, ValidationError, ValidationInfo,
                      field_validator, model_serializer, model_validator)

from .areas.config import AreasConfig, expand_areas
from .cooperation.rsap import POLICIES
from .cooperation.schemes import SCHEMES as _REGISTRY
from .cooperation.schemes import scheme_names
from .errors import ScenarioError
from .inputs import check_inputs
from .orbits.walker import PRESETS
from .radio.linkbudget import warn_noise_below_thermal
from .radio.presets import DEFAULT_LINK_BUDGET, resolve_link_budget

__all__ = [
    "BAND_SPLIT_GHZ",
    "SCHEMES",
    "RSAP_POLICIES",
    "WALKER_PRESETS",
    "Scenario",
    "load_scenario",
    "parse_scenario",
    "locate_error",
]

#: Registry names of the built-in schemes, in registry order (:mod:`simulator.cooperation.schemes`;
#: the ``[schemes] names`` validator reads the live registry, so schemes registered later are accepted).
SCHEMES = scheme_names()
#: RSAP policy names (:data:`simulator.cooperation.rsap.POLICIES`, read live by the validator).
RSAP_POLICIES = tuple(POLICIES)
WALKER_PRESETS = tuple(PRESETS)


class _Model(BaseModel):
    # Strict: TOML already types its values, so a quoted number, a quoted date or true/false where a
    # number belongs is a mistake to report, not to coerce; inf and nan are never physical here.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


#: Physical upper bounds (docs/scenarios.md "Limits"): one year of simulated time, periods of a day.
MAX_DURATION_S = 366 * 86_400.0
MAX_PERIOD_S = 86_400.0
#: At most this many output chunks and logging steps per run.
MAX_CHUNKS = 100_000
MAX_STEPS = 100_000_000
#: A scenario ``name`` becomes a folder name: letters, digits, ``.``, ``_``, ``+``, ``-``.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

PositiveSeconds = Annotated[float, Field(gt=0.0, le=MAX_PERIOD_S)]
#: Paths are TOML strings: the one field type converted from a string.
FilePath = Annotated[Path, Strict(False)]


class TimeConfig(_Model):
    """``[time]``: when the replay starts, how long it lasts and how often rates are logged."""

    start_utc: Annotated[dt.datetime, Strict(False)] | None = None  # a string only from JSON (a manifest)
    duration_s: float = Field(gt=0.0, le=MAX_DURATION_S)
    step_s: PositiveSeconds = 1.0

    @field_validator("start_utc", mode="before")
    @classmethod
    def _toml_datetime(cls, v: Any, info: ValidationInfo) -> Any:
        if isinstance(v, str) and (info.context or {}).get("toml"):
            raise ValueError("expected a TOML date-time without quotes, e.g. 2026-02-24T00:00:00Z")
        return v

    @field_validator("start_utc")
    @classmethod
    def _utc(cls, v: dt.datetime | None) -> dt.datetime | None:
        if v is None:
            return None
        if v.tzinfo is None:
            raise ValueError("give an explicit UTC offset, e.g. 2026-02-24T00:00:00Z")
        return v.astimezone(dt.timezone.utc)

    @model_validator(mode="after")
    def _step_fits(self) -> "TimeConfig":
        if self.step_s > self.duration_s:
            raise ValueError(f"step_s={self.step_s} s is longer than duration_s={self.duration_s} s")
        if round(self.step_s * 1e9) < 1:
            raise ValueError(f"step_s={self.step_s} s is below the 1 ns time resolution")
        if self.duration_s / self.step_s > MAX_STEPS:
            raise ValueError(f"duration_s / step_s = {self.duration_s / self.step_s:.3g} logging steps; at most "
                             f"{MAX_STEPS:.0e} per run (shorten duration_s or lengthen step_s)")
        return self


class WalkerConfig(_Model):
    """Walker delta (``i: t/p/f``) or star parameters."""

    planes: int = Field(ge=1)
    per_plane: int = Field(ge=1)
    altitude_km: float = Field(gt=100.0, lt=40_000.0)
    inclination_deg: float = Field(ge=0.0, le=180.0)
    phasing: int = Field(ge=0, default=0)
    star: bool = False

    @model_validator(mode="after")
    def _phasing(self) -> "WalkerConfig":
        if self.phasing >= self.planes:
            raise ValueError(f"phasing={self.phasing} must be in [0, planes={self.planes})")
        return self


class ConstellationConfig(_Model):
    """``[constellation]``: exactly one of ``preset``, ``walker`` or ``tle``."""

    preset: Literal["starlink-shell1", "kuiper-630", "oneweb", "iridium"] | None = None
    walker: WalkerConfig | None = None
    tle: list[FilePath] | None = None
    skip_invalid: bool = False

    @field_validator("tle", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _exactly_one(self) -> "ConstellationConfig":
        given = [k for k in ("preset", "walker", "tle") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of preset, walker or tle (got {', '.join(given) or 'none'})"
            )
        if self.tle is not None and not self.tle:
            raise ValueError("tle is an empty list; name at least one TLE/OMM file")
        return self


class UserPoint(_Model):
    name: str = Field(min_length=1, max_length=128)
    lat_deg: float = Field(ge=-90.0, le=90.0)
    lon_deg: float = Field(ge=-180.0, lt=360.0)
    height_m: float = Field(ge=-500.0, le=20_000.0, default=0.0)


class UserDisc(_Model):
    """``count`` users drawn uniformly (in area) in a disc of ``radius_km`` around a centre."""

    center_lat_deg: float = Field(ge=-90.0, le=90.0)
    center_lon_deg: float = Field(ge=-180.0, lt=360.0)
    radius_km: float = Field(gt=0.0, le=2_000.0)
    count: int = Field(ge=1, le=100_000)
    seed: int = Field(ge=0, lt=2**63, default=0)


class UsersConfig(_Model):
    """``[users]``: exactly one of ``points``, ``disc`` or ``csv``; optional great-circle motion."""

    points: list[UserPoint] | None = None
    disc: UserDisc | None = None
    csv: FilePath | None = None
    speed_m_s: float = Field(ge=0.0, le=400.0, default=0.0)
    heading_deg: float = Field(ge=0.0, lt=360.0, default=90.0)

    @model_validator(mode="after")
    def _exactly_one(self) -> "UsersConfig":
        given = [k for k in ("points", "disc", "csv") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of points, disc or csv (got {', '.join(given) or 'none'})")
        if self.points is not None:
            if not self.points:
                raise ValueError("points is an empty list")
            names = [p.name for p in self.points]
            if len(set(names)) != len(names):
                raise ValueError("user names in points must be unique")
        return self


#: Carrier frequency below which ``radio.band`` defaults to "S" (TR 38.811 S-band column), GHz;
#: at and above it the Ka-band column applies (TR 38.811 tabulates only these two bands).
BAND_SPLIT_GHZ = 10.0
#: Default Rician K-factor range of the uniform model, dB (000 Section VI).
DEFAULT_KAPPA_RANGE_DB = (15.0, 20.0)


class RadioConfig(_Model):
    """``[radio]``: carrier, powers, antennas and the channel model. Defaults are 000's Section VI.

    Edge units (GHz, MHz, dBm, dBi); :func:`simulator.inputs.radio_params` maps them to the
    SI :class:`~simulator.radio.RadioParams`. ``link_budget`` names a preset
    (:data:`simulator.radio.presets.LINK_BUDGETS`) that fills the fields not given, and the model
    holds the resolved values (so the manifest records them). ``band`` defaults from the frequency
    (< 10 GHz: S, else Ka) and ``kappa_model`` from the shape of ``kappa_db`` (a number: constant, a
    pair: uniform). A noise power below kT₀B (290 K) without a noise figure gets one warning.
    """

    link_budget: str = DEFAULT_LINK_BUDGET
    noise_figure_db: float | None = Field(ge=0.0, le=30.0, default=None)
    antenna_temperature_k: float | None = Field(gt=0.0, le=10_000.0, default=None)
    frequency_ghz: float = Field(gt=0.1, le=100.0, default=5.0)
    bandwidth_mhz: float = Field(gt=0.0, le=5_000.0, default=20.0)
    tx_power_dbm: float = Field(ge=-30.0, le=90.0, default=40.0)
    ue_tx_power_dbm: float = Field(ge=-30.0, le=60.0, default=30.0)
    noise_dbm: float = Field(ge=-250.0, le=0.0, default=-140.0)
    n_h: int = Field(ge=1, le=256, default=8)
    n_v: int = Field(ge=1, le=256, default=8)
    spacing_wavelengths: float = Field(gt=0.0, le=10.0, default=0.5)
    sat_gain_dbi: float = Field(ge=-20.0, le=70.0, default=3.0)
    ue_gain_dbi: float = Field(ge=-20.0, le=60.0, default=0.0)
    aperture_radius_m: float | None = Field(gt=0.0, le=50.0, default=None)
    beam_pointing: Literal["nadir", "service-centre"] = "nadir"
    kappa_model: Literal["constant", "uniform", "tr38811"] = "uniform"
    kappa_db: float | Annotated[tuple[float, float], Strict(False)] | None = None
    environment: Literal["dense_urban", "urban", "suburban", "rural"] = "rural"
    band: Literal["S", "Ka"] = "S"
    los_model: Literal["always", "tr38811"] = "always"
    shadowing: bool = False
    shadowing_sigma_db: float | None = Field(ge=0.0, le=30.0, default=None)
    scintillation: bool = False
    zenith_attenuation_db: float | None = Field(ge=0.0, le=100.0, default=None)
    other_losses_db: float = Field(ge=0.0, le=100.0, default=0.0)
    n_pilots: int = Field(ge=1, le=4096, default=4)
    n_beams: int = Field(ge=1, le=1024, default=64)

    @model_validator(mode="before")
    @classmethod
    def _derived_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = resolve_link_budget(data)  # the radio layer owns the preset values
        freq = data.get("frequency_ghz", 5.0)
        if "band" not in data and isinstance(freq, (int, float)) and not isinstance(freq, bool):
            data["band"] = "S" if freq < BAND_SPLIT_GHZ else "Ka"
        kappa = data.get("kappa_db")
        if "kappa_model" not in data:
            data["kappa_model"] = "constant" if isinstance(kappa, (int, float)) else "uniform"
        if kappa is None and data["kappa_model"] == "uniform":
            data["kappa_db"] = DEFAULT_KAPPA_RANGE_DB
        return data

    @model_validator(mode="after")
    def _consistent(self) -> "RadioConfig":
        if self.kappa_model == "uniform":
            if not isinstance(self.kappa_db, tuple) or self.kappa_db[0] > self.kappa_db[1]:
                raise ValueError("kappa_model='uniform' needs kappa_db = [low, high] with low <= high")
        if self.kappa_model == "constant" and not isinstance(self.kappa_db, float):
            raise ValueError("kappa_model='constant' needs a single kappa_db value")
        if self.kappa_model == "tr38811" and self.kappa_db is not None:
            raise ValueError("kappa_db is not used with kappa_model='tr38811' (TR 38.811 tables); remove it")
        if self.shadowing_sigma_db is not None and not self.shadowing:
            raise ValueError("shadowing_sigma_db is set but shadowing = false; set shadowing = true or remove it")
        if self.beam_pointing == "service-centre" and self.aperture_radius_m is None:
            raise ValueError(
                "beam_pointing='service-centre' steers the aperture pattern; set aperture_radius_m as well"
            )
        if self.antenna_temperature_k is not None and self.noise_figure_db is None:
            raise ValueError(
                "antenna_temperature_k is used with noise_figure_db only; set it or remove antenna_temperature_k"
            )
        if self.noise_figure_db is None:
            warn_noise_below_thermal(self.noise_dbm, self.bandwidth_mhz, self.link_budget)
        return self


class SchemesConfig(_Model):
    """``[schemes]``: which schemes and RSAP policies run (all on the same geometry and draws)."""

    names: list[str] = Field(default_factory=lambda: list(SCHEMES))
    rsap_policies: list[str] = Field(default_factory=lambda: list(RSAP_POLICIES))

    @field_validator("names")
    @classmethod
    def _known_schemes(cls, v: list[str]) -> list[str]:
        return _known(v, tuple(_REGISTRY), "scheme")

    @field_validator("rsap_policies")
    @classmethod
    def _known_policies(cls, v: list[str]) -> list[str]:
        return _known(v, tuple(POLICIES), "RSAP policy")


def _known(values: list[str], allowed: tuple[str, ...], what: str) -> list[str]:
    if not values:
        raise ValueError(f"name at least one {what}")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(f"unknown {what} {unknown[0]!r}; allowed: {', '.join(allowed)}")
    if len(set(values)) != len(values):
        raise ValueError(f"{what} names repeat")
    return values


class EventsConfig(_Model):
    """``[events]``: visibility mask and the triggers of CSI refresh, reclustering and handover."""

    min_elevation_deg: float = Field(ge=0.0, lt=90.0, default=25.0)
    csi_period_s: PositiveSeconds = 1.0
    min_recluster_interval_s: float = Field(ge=0.0, le=MAX_PERIOD_S, default=15.0)
    recluster_period_s: float | None = Field(gt=0.0, le=MAX_PERIOD_S, default=None)
    backhaul_delay_s: float = Field(ge=0.0, le=10.0, default=0.0)
    hysteresis_db: float = Field(ge=0.0, le=40.0, default=3.0)
    time_to_trigger_s: float = Field(ge=0.0, le=MAX_PERIOD_S, default=0.0)
    k_max: int = Field(ge=1, le=1024, default=8)
    max_candidate_sats: int = Field(ge=1, le=100_000, default=20)
    cluster_min_elevation_deg: float = Field(ge=0.0, lt=90.0, default=40.0)
    precoder_tracking: Literal["tracked", "snapshot"] = "tracked"
    decision_interference: Literal["phase-averaged", "instantaneous"] = "phase-averaged"
    decision_tolerance: float = Field(gt=0.0, le=0.1, default=0.01)
    sum_stage_floor: float = Field(gt=0.0, le=1.0, default=0.9)  # docs/scenarios.md; 1: Pareto (minimum kept)
    make_before_break: bool = True  # docs/scenarios.md [events]; false: the papers' literal behaviour


class OutputConfig(_Model):
    """``[output]``: the run directory and how results are chunked.

    A relative ``directory`` resolves against the current working directory (where ``leosim run``
    is started), not the scenario file's folder; the default is ``./runs/<scenario name>``.
    """

    directory: FilePath | None = None
    chunk_s: PositiveSeconds = 600.0
    record_csi: bool = False


class Scenario(_Model):
    """A validated scenario with absolute paths.

    Input files (``constellation.tle``, ``users.csv``) resolve against the scenario file's folder;
    ``output.directory`` resolves against the current working directory (default ``runs/<name>``).
    """

    name: str = ""
    seed: int = Field(ge=0, lt=2**63, default=0)
    time: TimeConfig
    constellation: ConstellationConfig
    users: UsersConfig | None = None
    radio: RadioConfig = Field(default_factory=RadioConfig)
    schemes: SchemesConfig = SchemesConfig()
    events: EventsConfig = EventsConfig()
    output: OutputConfig = OutputConfig()
    #: Several service areas (``simulator.areas``); left out of the dump when None, so single-area
    #: dumps and hashes do not change, and dumped otherwise, so a multi-area scenario round-trips.
    areas: AreasConfig | None = None

    @model_serializer(mode="wrap")
    def _dump_areas_only_if_given(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if self.areas is None:
            data.pop("areas", None)
        return data

    @model_validator(mode="after")
    def _users_or_areas(self) -> "Scenario":
        if (self.users is None) == (self.areas is None):
            raise ValueError("give [users] (one service area) or [areas] (several), not "
                             + ("both" if self.users is not None else "neither"))
        return self

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not SAFE_NAME.fullmatch(v):
            raise ValueError("must be 1-128 letters, digits, '.', '_', '+' or '-', starting with a letter or "
                             "digit (it names the run folder)")
        return v

    @model_validator(mode="after")
    def _chunk_count(self) -> "Scenario":
        n = self.time.duration_s / self.output.chunk_s
        if n > MAX_CHUNKS:
            raise ValueError(f"time.duration_s / output.chunk_s = {n:.3g} chunks; at most {MAX_CHUNKS} per run "
                             f"(lengthen output.chunk_s)")
        return self


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file; raises ScenarioError on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: scenario file not found") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file") from None
    return parse_scenario(text, source=str(path), base_dir=path.parent)


def parse_scenario(text: str, *, source: str = "<string>", base_dir: str | Path = ".") -> Scenario:
    """Validate scenario TOML ``text``.

    Relative input paths (TLE/OMM files, users CSV) resolve against ``base_dir``; a relative
    ``output.directory`` (default ``runs/<name>``) against the current working directory. The radio
    set-up and Walker parameters are also checked as the kernels will see them.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: invalid TOML: {exc}") from None
    _check_strings(raw, text, source)
    stem = re.sub(r"[^A-Za-z0-9._+-]", "-", Path(source).stem).lstrip("._+-") if source != "<string>" else ""
    raw.setdefault("name", stem or "scenario")
    try:
        scenario = Scenario.model_validate(raw, context={"toml": True})
    except ValidationError as exc:
        raise ScenarioError(_describe(exc, text, source)) from None
    scenario = _resolve_paths(scenario, Path(base_dir), text, source)
    _check_inputs(scenario, text, source)
    if scenario.areas is not None:
        try:
            expand_areas(scenario)  # every area's users are validated now, before anything runs
        except ScenarioError as exc:
            line = _find_line(text, tuple(exc.field.split("."))) if exc.field else None
            raise ScenarioError(f"{source}:{line}: {exc}" if line else f"{source}: {exc}", field=exc.field) from None
    return scenario


def _check_strings(raw: Any, text: str, source: str, loc: tuple[str, ...] = ()) -> None:
    """Reject NUL and other control characters in any string value (and key), naming the field."""
    items = raw.items() if isinstance(raw, dict) else enumerate(raw) if isinstance(raw, list) else ()
    for key, value in items:
        here = (*loc, str(key))
        field = ".".join(here)
        for what, s in (("key", key), ("value", value)):
            if isinstance(s, str) and _CONTROL.search(s):
                char = _CONTROL.search(s).group()
                line = _find_line(text, here)
                where = f"{source}:{line}" if line else source
                raise ScenarioError(f"{where}: {field}: {what} contains the control character U+{ord(char):04X}; "
                                    f"remove it")
        _check_strings(value, text, source, here)


def _check_inputs(sc: Scenario, text: str, source: str) -> None:
    """Build what the kernels will receive (radio parameters, Walker spec) and locate any problem."""
    try:
        check_inputs(sc)
    except ScenarioError as exc:
        line = _find_line(text, tuple(exc.field.split("."))) if exc.field else None
        where = f"{source}:{line}" if line else source
        raise ScenarioError(f"{where}: {exc}", field=exc.field) from None


def _locate(message: str, text: str, source: str) -> ScenarioError:
    """``message`` (starting with a dotted field name) prefixed with ``source:line`` of that field."""
    field = re.match(r"^([\w.]+)", message)
    line = _find_line(text, tuple(field.group(1).split("."))) if field else None
    where = f"{source}:{line}" if line else source
    return ScenarioError(f"{where}: {message}", field=field.group(1) if field else None)


def locate_error(exc: ScenarioError, path: str | Path) -> ScenarioError:
    """A ScenarioError found after loading (element sets, users, epochs) located in scenario file ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    field = getattr(exc, "field", None)  # a ScenarioError that carries its field needs no message parsing
    message = str(exc) if not field or str(exc).startswith(field) else f"{field}: {exc}"
    return _locate(message, text, str(path))


def _resolve_paths(sc: Scenario, base: Path, text: str, source: str) -> Scenario:
    def resolve(p: Path) -> Path:
        return p if p.is_absolute() else (base / p).resolve()

    constellation = sc.constellation
    if constellation.tle is not None:
        files = [resolve(p) for p in constellation.tle]
        for given, full in zip(constellation.tle, files):
            if not full.is_file():
                line = _find_line(text, ("constellation", "tle"))
                where = f"{source}:{line}" if line else source
                raise ScenarioError(
                    f"{where}: constellation.tle: file {str(given)!r} not found (looked at {full})"
                )
        constellation = constellation.model_copy(update={"tle": files})
    users = sc.users
    areas = None if sc.areas is None else sc.areas.resolved(resolve)
    if areas is not None and areas.cities is not None and not Path(areas.cities).is_file():
        raise ScenarioError(f"{source}: areas.cities: file {str(sc.areas.cities)!r} not found (looked at {areas.cities})")
    if users is not None and users.csv is not None:
        full = resolve(users.csv)
        if not full.is_file():
            line = _find_line(text, ("users", "csv"))
            where = f"{source}:{line}" if line else source
            raise ScenarioError(f"{where}: users.csv: file {str(users.csv)!r} not found (looked at {full})")
        users = users.model_copy(update={"csv": full})
    directory = Path(sc.output.directory or Path("runs") / sc.name).resolve()  # against the CWD
    output = sc.output.model_copy(update={"directory": directory})
    return sc.model_copy(update={"constellation": constellation, "users": users, "output": output, "areas": areas})


def _describe(exc: ValidationError, text: str, source: str) -> str:
    """One line per problem: ``file:line: field = value: what is allowed``; the first problem first."""
    lines = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check its spelling in docs/scenarios.md)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] in _TYPE_HINTS and isinstance(err["input"], (str, bool)):
            msg = _TYPE_HINTS[err["type"]][isinstance(err["input"], bool)]
        elif err["type"] == "finite_number":
            msg = "must be a finite number (not inf or nan)"
        line = _find_line(text, loc)
        where = f"{source}:{line}" if line else source
        value = "" if err["type"] == "missing" or isinstance(err["input"], dict) else f" = {err['input']!r}"
        lines.append(f"{where}: {field}{value}: {msg}")
    head = lines[0]
    more = f" (and {len(lines) - 1} more: {'; '.join(lines[1:3])})" if len(lines) > 1 else ""
    return head + more


#: Strict-type errors on a string (index 0) or a boolean (index 1) input: what to write instead.
_TYPE_HINTS = {
    "float_type": ("expected a number, got a quoted string (remove the quotes)",
                   "expected a number, got true/false"),
    "int_type": ("expected an integer, got a quoted string (remove the quotes)",
                 "expected an integer, got true/false"),
    "bool_type": ("expected true or false, got a quoted string (remove the quotes)", ""),
    "datetime_type": ("expected a TOML date-time without quotes, e.g. 2026-02-24T00:00:00Z",
                      "expected a TOML date-time, e.g. 2026-02-24T00:00:00Z"),
}


def _find_line(text: str, loc: tuple[str, ...]) -> int | None:
    """Best-effort 1-based line of the key ``loc`` in TOML ``text`` (tables and inline keys)."""
    keys = [k for k in loc if not k.isdigit()]
    if not keys:
        return None
    table: str | None = None
    section = ".".join(keys[:-1])
    key = keys[-1]
    header = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
    for number, line in enumerate(text.splitlines(), start=1):
        m = header.match(line)
        if m:
            table = m.group(1)
            continue
        if re.match(rf"^\s*{re.escape(key)}\s*=", line) and (table == section or (not section and table is None)):
            return number
        if section and table is not None and section.startswith(table) and re.search(rf"\b{re.escape(key)}\s*=", line):
            return number
    if section:
        return _find_line(text, tuple(keys[:-1]))
    for number, line in enumerate(text.splitlines(), start=1):  # a whole table: its header
        m = header.match(line)
        if m and m.group(1) == key:
            return number
    return None
