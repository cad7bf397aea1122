"""``[areas]``: several service areas sharing the constellation, the radio and the schemes.

:class:`AreasConfig` is the validated ``[areas]`` table (fields in ``docs/scenarios.md``). Areas
come from an explicit list and from generators (a list of centres, a latitude sweep along a
meridian, a lat/lon grid over a box, a CSV of cities); :func:`area_specs` lists them in that order
and :func:`expand_areas` turns a scenario with ``[areas]`` into one ordinary single-area
:class:`~simulator.scenario.Scenario` per area — a pure function: nothing is read but the cities
CSV and nothing is written.

Each area's seed is :func:`area_seed` of the scenario seed and the area's name (a stable hash), so
an area's rows do not depend on which other areas are listed, on their order or on where the area
runs. Areas are replayed independently (``docs/design.md``); :func:`shared_satellite_pairs` finds
the pairs whose user discs are close enough to be served by the same satellites.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..constants import WGS84_A
from ..errors import ScenarioError

if TYPE_CHECKING:
    from ..scenario import Scenario

__all__ = ["AreasConfig", "AreaSpec", "area_seed", "area_specs", "expand_areas", "footprint_radius_m",
           "shared_satellite_pairs", "AREA_DIR_PREFIX"]

#: An area's run directory is ``<run>/area=<name>`` (a hive partition key, docs/outputs.md).
AREA_DIR_PREFIX = "area="
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
Environment = Literal["dense_urban", "urban", "suburban", "rural"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AreaOverrides(_Model):
    """What an area may change: its users, its seed, its propagation environment and elevation mask.

    ``users`` takes the form of the top-level ``[users]`` table; a ``disc`` without a centre is
    centred on the area, and without a ``seed`` takes the area's seed.
    """

    users: dict[str, Any] | None = None
    seed: int | None = Field(ge=0, default=None)
    environment: Environment | None = None
    min_elevation_deg: float | None = Field(ge=0.0, lt=90.0, default=None)


class AreaEntry(AreaOverrides):
    """One area of ``[[areas.list]]``: a name, a centre and optional overrides."""

    name: str
    lat_deg: float = Field(ge=-90.0, le=90.0)
    lon_deg: float = Field(ge=-180.0, lt=360.0)


class Meridian(_Model):
    """A latitude sweep along one meridian: one area per latitude."""

    lon_deg: float = Field(ge=-180.0, lt=360.0, default=0.0)
    lat_deg: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _range(self) -> "Meridian":
        bad = [v for v in self.lat_deg if not -90.0 <= v <= 90.0]
        if bad:
            raise ValueError(f"lat_deg {bad[0]} is outside [-90, 90]")
        return self


class Grid(_Model):
    """A lat/lon grid over a box, corners included: ``lat_deg = [south, north]``, ``lon_deg = [west, east]``."""

    lat_deg: tuple[float, float]
    lon_deg: tuple[float, float]
    step_deg: float = Field(gt=0.0, le=180.0)
    lon_step_deg: float | None = Field(gt=0.0, le=360.0, default=None)

    @model_validator(mode="after")
    def _box(self) -> "Grid":
        (s, n), (w, e) = self.lat_deg, self.lon_deg
        if not -90.0 <= s <= n <= 90.0:
            raise ValueError(f"lat_deg = [{s}, {n}] must be [south, north] within [-90, 90]")
        if not -180.0 <= w <= e < 360.0:
            raise ValueError(f"lon_deg = [{w}, {e}] must be [west, east] within [-180, 360)")
        if _count(s, n, self.step_deg) * _count(w, e, self.lon_step_deg or self.step_deg) > MAX_AREAS:
            raise ValueError(f"the grid has more than {MAX_AREAS} areas; use a larger step_deg")
        return self


#: Most areas one scenario may declare (a guard against a grid step typed in the wrong unit).
MAX_AREAS = 10_000


class AreasConfig(_Model):
    """``[areas]``: the service areas of a scenario (``docs/scenarios.md``).

    Attributes
    ----------
    users : dict or None — default users of every area, in the form of ``[users]`` (a disc without a
        centre is centred on each area)
    list : list of AreaEntry — explicit areas
    centres : list of [lat_deg, lon_deg] — areas named from their centre
    meridian : Meridian or None — one area per latitude along a meridian
    grid : Grid or None — one area per node of a lat/lon grid
    cities : Path or None — CSV ``name,lat_deg,lon_deg``, one area per row
    """

    users: dict[str, Any] | None = None
    list: tuple[AreaEntry, ...] = ()
    centres: tuple[tuple[float, float], ...] = ()
    meridian: Meridian | None = None
    grid: Grid | None = None
    cities: Path | None = None

    @model_validator(mode="after")
    def _some(self) -> "AreasConfig":
        if not (self.list or self.centres or self.meridian or self.grid or self.cities):
            raise ValueError("declare at least one area: list, centres, meridian, grid or cities")
        for lat, lon in self.centres:
            if not (-90.0 <= lat <= 90.0 and -180.0 <= lon < 360.0):
                raise ValueError(f"centre [{lat}, {lon}] is outside lat [-90, 90], lon [-180, 360)")
        return self

    def resolved(self, resolve: Callable[[Path], Path]) -> "AreasConfig":
        """A copy with the cities CSV and every area's users CSV resolved by ``resolve``."""
        entries = tuple(e.model_copy(update={"users": _resolve_users(e.users, resolve)}) for e in self.list)
        return self.model_copy(update={"cities": None if self.cities is None else resolve(self.cities),
                                       "users": _resolve_users(self.users, resolve), "list": entries})


def _resolve_users(users: dict[str, Any] | None, resolve: Callable[[Path], Path]) -> dict[str, Any] | None:
    if users is None or not isinstance(users.get("csv"), (str, Path)):
        return users
    return {**users, "csv": resolve(Path(users["csv"]))}


def _count(lo: float, hi: float, step: float) -> int:
    return int(math.floor((hi - lo) / step + 1e-9)) + 1


@dataclass(frozen=True)
class AreaSpec:
    """One area before expansion: name, centre (deg) and overrides; ``field`` names where it was declared."""

    name: str
    lat_deg: float
    lon_deg: float
    overrides: AreaOverrides
    field: str


def centre_name(lat_deg: float, lon_deg: float) -> str:
    """A generated area's name from its centre, e.g. ``lat10N_lon0E`` (``%g`` of the absolute values).

    >>> centre_name(10.0, 0.0), centre_name(-33.5, -70.25)
    ('lat10N_lon0E', 'lat33.5S_lon70.25W')
    """
    lon = (lon_deg + 180.0) % 360.0 - 180.0
    return f"lat{abs(lat_deg):g}{'S' if lat_deg < 0 else 'N'}_lon{abs(lon):g}{'W' if lon < 0 else 'E'}"


def area_specs(areas: AreasConfig) -> list[AreaSpec]:
    """Every area of ``areas`` in declaration order: list, centres, meridian, grid, cities.

    Raises ScenarioError for a name that is not a plain file name or that repeats, a cities CSV that
    cannot be read, and more than :data:`MAX_AREAS` areas.
    """
    none = AreaOverrides()
    specs = [AreaSpec(e.name, e.lat_deg, e.lon_deg, AreaOverrides(**e.model_dump(exclude={"name", "lat_deg", "lon_deg"})),
                      f"areas.list.{i}") for i, e in enumerate(areas.list)]
    specs += [AreaSpec(centre_name(lat, lon), lat, lon, none, f"areas.centres.{i}")
              for i, (lat, lon) in enumerate(areas.centres)]
    if areas.meridian is not None:
        specs += [AreaSpec(centre_name(lat, areas.meridian.lon_deg), lat, areas.meridian.lon_deg, none,
                           "areas.meridian") for lat in areas.meridian.lat_deg]
    if areas.grid is not None:
        g = areas.grid
        lon_step = g.lon_step_deg or g.step_deg
        lats = g.lat_deg[0] + g.step_deg * np.arange(_count(*g.lat_deg, g.step_deg))
        lons = g.lon_deg[0] + lon_step * np.arange(_count(*g.lon_deg, lon_step))
        specs += [AreaSpec(centre_name(round(float(la), 9), round(float(lo), 9)), round(float(la), 9),
                           round(float(lo), 9), none, "areas.grid") for la in lats for lo in lons]
    if areas.cities is not None:
        specs += _read_cities(Path(areas.cities))
    if len(specs) > MAX_AREAS:
        raise ScenarioError(f"areas: {len(specs)} areas, more than {MAX_AREAS}", field="areas")
    seen: dict[str, str] = {}
    for spec in specs:
        if not _NAME_RE.match(spec.name):
            raise ScenarioError(f"{spec.field}: area name {spec.name!r} must be 1-64 letters, digits, '_', '.' or "
                                "'-', starting with a letter or digit (it names a directory)", field=spec.field)
        if spec.name in seen:
            raise ScenarioError(f"{spec.field}: area name {spec.name!r} repeats (also in {seen[spec.name]}); "
                                "area names must be unique", field=spec.field)
        seen[spec.name] = spec.field
    return specs


def _read_cities(path: Path) -> list[AreaSpec]:
    """Rows ``name,lat_deg,lon_deg`` after a header line; ``#`` lines are comments."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"areas.cities: cannot read {path} ({exc})", field="areas.cities") from None
    rows = [r for r in csv.reader(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))]
    if not rows or [c.strip() for c in rows[0]] != ["name", "lat_deg", "lon_deg"]:
        raise ScenarioError(f"areas.cities: {path}: the first line must be the header name,lat_deg,lon_deg",
                            field="areas.cities")
    specs = []
    for number, row in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in row]
        try:
            entry = AreaEntry(name=cells[0], lat_deg=float(cells[1]), lon_deg=float(cells[2]))
            if len(cells) != 3:
                raise ValueError(f"{len(cells)} columns")
        except (ValueError, IndexError, ValidationError) as exc:
            raise ScenarioError(f"areas.cities: {path}: row {number} {','.join(cells)!r} is not name,lat_deg,lon_deg "
                                f"with lat in [-90, 90] and lon in [-180, 360) ({str(exc).splitlines()[0]})",
                                field="areas.cities") from None
        specs.append(AreaSpec(entry.name, entry.lat_deg, entry.lon_deg, AreaOverrides(), "areas.cities"))
    return specs


def area_seed(scenario_seed: int, name: str) -> int:
    """The seed of area ``name``: the first 63 bits of BLAKE2b(``"<scenario seed>/<name>"``).

    Stable across processes, machines and Python versions (unlike ``hash``), and independent of the
    other areas and of their order.

    >>> area_seed(1, "lat10N_lon0E") == area_seed(1, "lat10N_lon0E") != area_seed(2, "lat10N_lon0E")
    True
    """
    digest = hashlib.blake2b(f"{scenario_seed}/{name}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def expand_areas(scenario: "Scenario", run_dir: str | Path | None = None) -> dict[str, "Scenario"]:
    """One single-area scenario per area of ``scenario.areas``, by name, in declaration order.

    Each is the scenario with ``areas`` removed, ``name = "<scenario>.<area>"``, ``seed`` =
    :func:`area_seed` (or the area's own ``seed``), the area's users (its own, else ``[areas]
    users``; a disc without a centre is centred on the area and without a seed takes the area seed),
    its overrides, and ``output.directory = <run_dir>/area=<name>`` (``run_dir`` defaults to the
    scenario's ``output.directory``). Raises ScenarioError naming the area's field.
    """
    from ..scenario import UsersConfig

    if scenario.areas is None:
        raise ScenarioError(f"{scenario.name}: the scenario has no [areas]")
    root = Path(run_dir if run_dir is not None else scenario.output.directory)
    base = scenario.model_copy(update={"areas": None})
    out: dict[str, Scenario] = {}
    for spec in area_specs(scenario.areas):
        seed = spec.overrides.seed if spec.overrides.seed is not None else area_seed(scenario.seed, spec.name)
        raw = spec.overrides.users if spec.overrides.users is not None else scenario.areas.users
        where = f"{spec.field}.users" if spec.overrides.users is not None else "areas.users"
        if raw is None:
            raise ScenarioError(f"{spec.field}: area {spec.name!r} has no users; give [areas] users = {{ disc = {{ "
                                "radius_km = ..., count = ... }} }} or users in the area", field=spec.field)
        raw = dict(raw)
        if isinstance(raw.get("disc"), dict):
            raw["disc"] = {"center_lat_deg": spec.lat_deg, "center_lon_deg": spec.lon_deg, "seed": seed, **raw["disc"]}
        try:
            users = UsersConfig.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise ScenarioError(f"{where}.{loc}: {err['msg'].removeprefix('Value error, ')} (area {spec.name!r})",
                                field=where) from None
        if users.csv is not None and not Path(users.csv).is_file():
            raise ScenarioError(f"{where}.csv: file {str(users.csv)!r} not found (area {spec.name!r})", field=where)
        radio, events = base.radio, base.events
        if spec.overrides.environment is not None:
            radio = radio.model_copy(update={"environment": spec.overrides.environment})
        if spec.overrides.min_elevation_deg is not None:
            events = events.model_copy(update={"min_elevation_deg": spec.overrides.min_elevation_deg})
        output = base.output.model_copy(update={"directory": (root / f"{AREA_DIR_PREFIX}{spec.name}").resolve()})
        out[spec.name] = base.model_copy(update={"name": f"{scenario.name}.{spec.name}", "seed": seed, "users": users,
                                                 "radio": radio, "events": events, "output": output})
    return out


def footprint_radius_m(altitude_m: float, min_elevation_deg: float, earth_radius_m: float = WGS84_A) -> float:
    """Ground radius (great circle, m) within which a satellite at ``altitude_m`` is above the mask.

    Earth central angle λ = π/2 − ε − η with sin η = R cos ε / (R + h) (spherical Earth).

    >>> round(footprint_radius_m(550e3, 25.0) / 1e3)
    944
    """
    eps = math.radians(min_elevation_deg)
    eta = math.asin(earth_radius_m * math.cos(eps) / (earth_radius_m + altitude_m))
    return (math.pi / 2 - eps - eta) * earth_radius_m


def shared_satellite_pairs(areas: dict[str, "Scenario"], altitude_m: float) -> list[tuple[str, str, float, float]]:
    """Pairs of areas that one satellite can serve at once: (a, b, centre distance m, limit m).

    A satellite serves a user within :func:`footprint_radius_m` of its nadir (at the area's
    elevation mask), so two areas can share a serving satellite when their centres are closer than
    the two footprint radii plus the two areas' spreads (largest user distance from the
    centre at the start). Sorted by distance.
    """
    from ..inputs import build_users, service_centre_ecef

    names = list(areas)
    centres, reach = [], []
    for name in names:
        sc = areas[name]
        users = build_users(sc)
        centre = service_centre_ecef(users)
        spread = float(np.max(np.linalg.norm(users.positions_m(0.0) - centre, axis=-1))) if users.n_user else 0.0
        centres.append(centre / np.linalg.norm(centre))
        reach.append(footprint_radius_m(altitude_m, sc.events.min_elevation_deg) + spread)
    if len(names) < 2:
        return []
    c = np.array(centres)
    dist = np.arccos(np.clip(c @ c.T, -1.0, 1.0)) * WGS84_A
    pairs = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            limit = reach[i] + reach[j]
            if dist[i, j] < limit:
                pairs.append((names[i], names[j], float(dist[i, j]), float(limit)))
    return sorted(pairs, key=lambda p: p[2])
