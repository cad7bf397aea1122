"""``manifest.json``: what a run directory holds, how it was made and how far it got.

The manifest is the single source of truth of a run directory: a chunk's Parquet files count only
once the manifest lists the chunk as complete. It holds the resolved scenario, its hash (so
``--resume`` refuses a changed scenario), the seed, package versions, the run status and the chunk
list. It is rewritten atomically (temporary file in the same folder, fsync, ``os.replace``) on every
change, so a reader never sees a half-written manifest. Fields are documented in ``docs/outputs.md``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..scenario import Scenario
from ..fileio import PACKAGES, TMP_SUFFIX, commit_tmp, file_sha256, package_versions, write_atomic
from ..timebase import format_iso8601_ms
from .schemas import TABLES

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "CHECKPOINT_FORMAT_VERSION",
    "checkpoint_path",
    "file_sha256",
    "MANIFEST_NAME",
    "TMP_SUFFIX",
    "STATUSES",
    "PACKAGES",
    "chunk_path",
    "commit_tmp",
    "write_atomic",
    "input_digests",
    "scenario_hash",
    "package_versions",
    "Manifest",
    "RunStatus",
    "run_status",
]

FORMAT = "leosim-run"
FORMAT_VERSION = 1
#: Layout of the engine state in ``checkpoints/chunk-NNNNNN.pkl``; bump it whenever that state changes.
CHECKPOINT_FORMAT_VERSION = 1
#: Name of the checkpoint entry in a chunk's ``sha256`` map (the others are table names).
CHECKPOINT_KEY = "checkpoint"
MANIFEST_NAME = "manifest.json"
STATUSES = ("running", "complete", "interrupted", "failed")


def _now_iso() -> str:
    return str(format_iso8601_ms(time.time_ns()))


def input_digests(scenario: Scenario) -> dict[str, str]:
    """SHA-256 of every input file the scenario names (TLE/OMM files, users CSV), by absolute path."""
    paths = list(scenario.constellation.tle or [])
    if scenario.users.csv is not None:
        paths.append(scenario.users.csv)
    digests = {}
    for p in paths:
        try:
            digests[str(p)] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
        except FileNotFoundError:
            raise InputError(f"scenario input file {p} not found; restore it or change the scenario") from None
    return digests


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of what determines a run's results: the resolved scenario and its input files.

    The output directory is left out (moving a run directory does not change its results); the
    content of every TLE/OMM/CSV input is included, so an edited input file counts as a change.
    """
    dumped = scenario.model_dump(mode="json")
    dumped["output"].pop("directory", None)
    payload = {"scenario": dumped, "inputs": input_digests(scenario)}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Manifest:
    """The manifest of one run directory, kept in memory and saved atomically on every change.

    Build with :meth:`create` (new run) or :meth:`load` (existing run). ``data`` is the JSON
    document; use the methods to change it so every change is saved.
    """

    def __init__(self, run_dir: Path, data: dict[str, Any]):
        self.run_dir = Path(run_dir)
        self.data = data

    @property
    def path(self) -> Path:
        return self.run_dir / MANIFEST_NAME

    @classmethod
    def create(cls, run_dir: str | Path, scenario: Scenario) -> "Manifest":
        """A new manifest (status ``running``, no chunks), saved to ``run_dir/manifest.json``."""
        now = _now_iso()
        data = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": scenario.name,
            "status": "running",
            "message": None,
            "created_utc": now,
            "updated_utc": now,
            "resumed_utc": [],
            "seed": scenario.seed,
            "pid": os.getpid(),
            "checkpoint_format_version": CHECKPOINT_FORMAT_VERSION,
            "scenario_sha256": scenario_hash(scenario),
            "inputs": input_digests(scenario),
            "versions": package_versions(),
            "tables": list(TABLES),
            "scenario": scenario.model_dump(mode="json"),
            "chunks": [],
        }
        manifest = cls(Path(run_dir), data)
        manifest.save()
        return manifest

    @classmethod
    def load(cls, run_dir: str | Path) -> "Manifest":
        """Read ``run_dir/manifest.json``; raises InputError if it is missing or not a leosim manifest."""
        run_dir = Path(run_dir)
        path = run_dir / MANIFEST_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{run_dir}: no {MANIFEST_NAME}; this is not a leosim run directory") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not a valid manifest ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(f"{path}: not a leosim run manifest (no \"format\": \"{FORMAT}\")")
        if not isinstance(data.get("format_version"), int) or data["format_version"] > FORMAT_VERSION:
            raise InputError(
                f"{path}: format_version {data.get('format_version')!r} is newer than this leosim "
                f"reads ({FORMAT_VERSION}); upgrade leosim"
            )
        indices = [c["index"] for c in data.get("chunks", [])]
        if indices and indices != list(range(indices[0], indices[0] + len(indices))):
            raise InputError(f"{path}: chunk list is not contiguous ({indices[:8]}…); the manifest is damaged")
        return cls(run_dir, data)

    def save(self) -> None:
        """Write the manifest atomically, stamping ``updated_utc``."""
        self.data["updated_utc"] = _now_iso()
        text = json.dumps(self.data, indent=1, allow_nan=False) + "\n"
        write_atomic(self.path, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    @property
    def status(self) -> str:
        return str(self.data["status"])

    @property
    def chunks(self) -> list[dict[str, Any]]:
        """Complete chunks, in order (a copy)."""
        return copy.deepcopy(self.data["chunks"])

    @property
    def next_chunk_index(self) -> int:
        """Index of the first chunk not yet complete."""
        chunks = self.data["chunks"]
        return chunks[-1]["index"] + 1 if chunks else 0

    @property
    def last_t_end_ns(self) -> int | None:
        """End (UTC ns) of the last complete chunk, None if there is none."""
        chunks = self.data["chunks"]
        return int(chunks[-1]["t_end_ns"]) if chunks else None

    def add_chunk(self, index: int, t_start_ns: int, t_end_ns: int, rows: Mapping[str, int], wall_s: float) -> None:
        """Record chunk ``index`` as complete and save; ``index`` must be :attr:`next_chunk_index`.

        The SHA-256 of each of the chunk's files (its Parquet files and its checkpoint, whichever
        exist) is stored under ``sha256`` so damage is found later (:meth:`damage`).
        """
        if index != self.next_chunk_index:
            raise ValueError(f"chunk {index} cannot follow the manifest's chunks; next is {self.next_chunk_index}")
        files = {t: chunk_path(self.run_dir, t, index) for t in TABLES}
        files[CHECKPOINT_KEY] = checkpoint_path(self.run_dir, index)
        sums = {key: file_sha256(path) for key, path in files.items() if path.is_file()}
        self.data["chunks"].append({
            "index": int(index),
            "t_start_ns": int(t_start_ns),
            "t_end_ns": int(t_end_ns),
            "t_start_utc": str(format_iso8601_ms(t_start_ns)),
            "t_end_utc": str(format_iso8601_ms(t_end_ns)),
            "rows": {t: int(rows.get(t, 0)) for t in TABLES},
            "wall_s": round(float(wall_s), 6),
            "written_utc": _now_iso(),
            "sha256": sums,
        })
        self.save()

    def damage(self, *, checkpoints: bool = False) -> tuple[int, str] | None:
        """The first complete chunk whose files are missing or differ from their stored SHA-256.

        Returns (chunk index, one-line description naming the file) or None when every file checks.
        Checkpoints are checked only with ``checkpoints=True`` (readers do not need them).
        """
        for chunk in self.data["chunks"]:
            index, sums = chunk["index"], chunk.get("sha256") or {}
            for table in TABLES:
                path = chunk_path(self.run_dir, table, index)
                if chunk["rows"].get(table, 0) > 0 and not path.is_file():
                    return index, f"{path} is missing (chunk {index} lists {chunk['rows'][table]} {table} rows)"
                if table in sums and path.is_file() and file_sha256(path) != sums[table]:
                    return index, f"{path} is damaged (chunk {index}: its SHA-256 differs from the manifest's)"
            path = checkpoint_path(self.run_dir, index)
            if checkpoints and CHECKPOINT_KEY in sums and (not path.is_file() or file_sha256(path) != sums[CHECKPOINT_KEY]):
                state = "damaged" if path.is_file() else "missing"
                return index, f"{path} is {state} (checkpoint of chunk {index})"
        return None

    def verify(self) -> None:
        """Raise InputError naming the first damaged or missing chunk file (see :meth:`damage`)."""
        found = self.damage()
        if found is not None:
            raise InputError(f"{found[1]}; repair the run with `leosim run SCENARIO -o {self.run_dir} --resume --repair`")

    def truncate(self, n_chunks: int) -> None:
        """Keep only the first ``n_chunks`` complete chunks (the rest are run again on resume); saved."""
        self.data["chunks"] = [c for c in self.data["chunks"] if c["index"] < n_chunks]
        self.save()

    def set_service(self, service: dict[str, Any]) -> None:
        """Store the satellites removed from service and the skipped element sets (``service``); saved."""
        self.data["service"] = service
        self.save()

    def check_versions(self, leosim_version: str | None) -> None:
        """Raise InputError unless this run's checkpoints were written by this code version."""
        stored_format = self.data.get("checkpoint_format_version")
        stored_version = (self.data.get("versions") or {}).get("leosim")
        if stored_format != CHECKPOINT_FORMAT_VERSION or stored_version != leosim_version:
            raise InputError(
                f"{self.run_dir}: its checkpoints were written by leosim {stored_version} (checkpoint format "
                f"{stored_format}); this is leosim {leosim_version} (format {CHECKPOINT_FORMAT_VERSION}), which cannot "
                f"resume them. Finish it with leosim {stored_version}, or start again with --overwrite"
            )

    def set_status(self, status: str, message: str | None = None) -> None:
        """Set the run status (one of :data:`STATUSES`) with an optional message, and save."""
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        self.data["status"] = status
        self.data["message"] = message
        self.save()

    def mark_resumed(self) -> None:
        """Status back to ``running``, the resume instant appended to ``resumed_utc``; saved."""
        self.data["resumed_utc"].append(_now_iso())
        self.data["versions"] = package_versions()
        self.data["pid"] = os.getpid()
        self.set_status("running")

    def check_scenario(self, scenario: Scenario) -> None:
        """Raise InputError unless ``scenario`` hashes like the one this run was started with."""
        if scenario_hash(scenario) != self.data["scenario_sha256"]:
            changed = _changed_keys(self.data["scenario"], scenario.model_dump(mode="json"))
            stored_inputs = self.data.get("inputs", {})
            changed += [f"input {p}" for p, h in input_digests(scenario).items() if stored_inputs.get(p) != h]
            what = ", ".join(changed[:4]) or "the scenario"
            raise InputError(
                f"{self.run_dir}: the scenario differs from the one this run was started with "
                f"({what} changed); cannot resume. Use --overwrite to start again or choose another directory"
            )

    def complete_files(self, table: str) -> list[Path]:
        """Parquet files of ``table`` in complete chunks, in chunk order (chunks with 0 rows may have none)."""
        files = []
        for chunk in self.data["chunks"]:
            path = chunk_path(self.run_dir, table, chunk["index"])
            if path.is_file():
                files.append(path)
            elif chunk["rows"].get(table, 0) > 0:
                raise InputError(
                    f"{path} is missing but the manifest lists {chunk['rows'][table]} rows in it; "
                    f"the run directory is damaged"
                )
        return files


def chunk_path(run_dir: Path, table: str, index: int) -> Path:
    """``run_dir/<table>/chunk-<index:06d>.parquet``."""
    return Path(run_dir) / table / f"chunk-{index:06d}.parquet"


def checkpoint_path(run_dir: Path, index: int) -> Path:
    """``run_dir/checkpoints/chunk-<index:06d>.pkl``: the engine state at the end of chunk ``index``."""
    return Path(run_dir) / "checkpoints" / f"chunk-{index:06d}.pkl"


def _changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two JSON documents (output.directory ignored)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            name = f"{prefix}{key}"
            if name != "output.directory":
                out += _changed_keys(old.get(key), new.get(key), name + ".")
        return out
    return [] if old == new else [prefix.rstrip(".")]


@dataclass(frozen=True)
class RunStatus:
    """Summary of a run directory (from its manifest).

    Attributes
    ----------
    status : str — ``running``, ``complete``, ``interrupted`` or ``failed``
    message : str or None — why it stopped, for ``interrupted`` / ``failed``
    n_chunks : int — complete chunks
    t_end_ns : int or None — end of the last complete chunk, ns since 1970 UTC
    rows : dict — rows per table over the complete chunks
    created_utc, updated_utc : str — ISO 8601 with ``Z``
    """

    status: str
    message: str | None
    n_chunks: int
    t_end_ns: int | None
    rows: dict[str, int]
    created_utc: str
    updated_utc: str


def run_status(run_dir: str | Path) -> RunStatus:
    """Status of the run in ``run_dir``; raises InputError if it is not a leosim run directory."""
    m = Manifest.load(run_dir)
    chunks = m.data["chunks"]
    rows = {t: sum(int(c["rows"].get(t, 0)) for c in chunks) for t in TABLES}
    return RunStatus(m.status, m.data.get("message"), len(chunks), m.last_t_end_ns, rows,
                     m.data["created_utc"], m.data["updated_utc"])
