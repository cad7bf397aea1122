"""``leosim tle walker`` (generate Walker constellations as TLE files) and ``leosim tle check``."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from datetime import datetime, timedelta, timezone

import numpy as np

from ..errors import InputError
from ..orbits.elements import as_utc
from ..orbits.tle import detect_format, format_tle_text, load_catalog, read_text, write_tle
from ..orbits.walker import DEFAULT_EPOCH, DEFAULT_FIRST_SAT_ID, PRESETS, WalkerSpec, preset, walker_elements

_CUSTOM = ("planes", "per_plane", "altitude_km", "inclination_deg", "phasing")
_FORMAT_NAMES = {"tle": "TLE", "omm-csv": "OMM CSV", "omm-json": "OMM JSON", "omm-xml": "OMM XML"}
_JD_UNIX_EPOCH = 2_440_587.5  # Julian date of 1970-01-01T00:00:00Z


def _parse_epoch(text: str, flag: str = "--epoch") -> datetime:
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise InputError(f"{flag} {text!r} is not ISO 8601, e.g. 2026-01-01T00:00:00Z") from None


def _spec(args: argparse.Namespace) -> WalkerSpec:
    given = [name for name in _CUSTOM if getattr(args, name) is not None]
    if args.preset is not None:
        extra = given + (["star"] if args.star else []) + (["name"] if args.name else [])
        if extra:
            flags = ", ".join("--" + e.replace("_", "-") for e in extra)
            raise InputError(f"give a preset or custom parameters, not both (preset {args.preset!r} with {flags})")
        spec = preset(args.preset)
        if args.first_id is not None:
            spec = dataclasses.replace(spec, first_sat_id=args.first_id)
        return spec
    missing = [name for name in _CUSTOM if getattr(args, name) is None]
    if missing:
        flags = ", ".join("--" + m.replace("_", "-") for m in missing)
        raise InputError(f"give a preset ({', '.join(PRESETS)}) or all of the custom parameters; missing {flags}")
    return WalkerSpec(
        name=args.name or "walker",
        n_planes=args.planes,
        sats_per_plane=args.per_plane,
        altitude_m=args.altitude_km * 1e3,
        inclination_deg=args.inclination_deg,
        phasing=args.phasing,
        pattern="star" if args.star else "delta",
        first_sat_id=DEFAULT_FIRST_SAT_ID if args.first_id is None else args.first_id,
    )


def _walker(args: argparse.Namespace) -> int:
    spec = _spec(args)
    epoch = DEFAULT_EPOCH if args.epoch is None else _parse_epoch(args.epoch)
    rows = walker_elements(spec, epoch)
    what = (f"{len(rows)} satellites ({spec.notation()}, ids {rows[0].sat_id}-{rows[-1].sat_id},"
            f" epoch {epoch.isoformat().replace('+00:00', 'Z')})")
    if args.output in (None, "-"):  # the element sets on stdout (pipe them on), the summary on stderr
        sys.stdout.write(format_tle_text(rows))
        print(f"wrote {what} to stdout", file=sys.stderr)
        return 0
    path = write_tle(args.output, rows)
    print(f"wrote {what} to {path}")
    return 0


def _iso(jd: float) -> str:
    moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(days=jd - _JD_UNIX_EPOCH)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


#: Records listed per kind of problem before "... and N more".
_MAX_LISTED = 20


def _check(args: argparse.Namespace) -> int:
    from ..orbits.shells import epoch_offsets_days, find_shells, sgp4_errors

    if not args.max_age_days > 0:
        raise InputError(f"--max-age-days={args.max_age_days:g} days must be > 0")
    start = None if args.start is None else _parse_epoch(args.start, "--start")
    text = read_text(args.file)
    catalog = load_catalog(args.file, skip_invalid=args.skip_invalid, text=text)
    epochs = catalog.epochs_jd
    print(f"{args.file}: {len(catalog)} satellites ({_FORMAT_NAMES[detect_format(text)]})")
    if not len(catalog):
        return 0
    print(f"catalogue numbers: {catalog.sat_ids.min()} … {catalog.sat_ids.max()}")
    print(f"epochs: {_iso(epochs.min())} … {_iso(epochs.max())} (median {_iso(float(np.median(epochs)))}; "
          f"spread {epochs.max() - epochs.min():.2f} days)")
    shells, shell_of = find_shells(catalog)
    print(f"shells ({len(shells)}; mean altitude a − R over the WGS-72 equatorial radius, bands of 5 km holding "
          f"≥ {max(5, int(np.ceil(0.01 * len(catalog))))} satellites):")
    if len(shells):
        print("  inclination  mean altitude     altitude range  satellites")
        for r in shells.itertuples():
            print(f"  {r.inclination_deg:10.2f}°  {r.mean_altitude_km:10.1f} km  {r.min_altitude_km:6.1f}–"
                  f"{r.max_altitude_km:6.1f} km  {r.n_sats:10d}")
    outside = int((shell_of < 0).sum())
    if outside:
        print(f"  not in a shell: {outside} satellites (orbit raising or lowering, or lone)")
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    references = ([("the start", start)] if start is not None else []) + [("today", today)]
    for what, moment in references:
        ref_jd = _JD_UNIX_EPOCH + moment.timestamp() / 86_400.0
        age = epoch_offsets_days(catalog, ref_jd)
        far = np.abs(age) > args.max_age_days
        if far.any():
            print(f"warning: {int(far.sum())} of {len(catalog)} element sets are more than {args.max_age_days:g} days "
                  f"from {what} ({moment:%Y-%m-%d %H:%M} UTC; epochs {age.min():+.1f} … {age.max():+.1f} days): "
                  "SGP4 position errors grow by about 1–3 km per day from the epoch")
        failing = sgp4_errors(catalog, ref_jd)
        if len(failing):
            print(f"SGP4 fails at {what} ({moment:%Y-%m-%d %H:%M} UTC) for {len(failing)} satellites "
                  "(code 6: decayed):")
            for r in failing.head(_MAX_LISTED).itertuples():
                print(f"  {r.sat_id} {r.name or '(no name)'}: {r.error} (code {r.error_code})")
            if len(failing) > _MAX_LISTED:
                print(f"  … and {len(failing) - _MAX_LISTED} more")
    print(f"skipped: {len(catalog.skipped)}")
    for message in catalog.skipped:
        print(f"  {message}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("tle", help="generate Walker constellations as TLE files; validate element-set files")
    tsub = parser.add_subparsers(dest="tle_command", metavar="ACTION")

    walker = tsub.add_parser(
        "walker",
        help="write a Walker delta/star constellation as a 3-line TLE file",
        description=f"Write a Walker constellation as 3-line TLEs. Presets: {', '.join(PRESETS)}; "
        "or give --planes, --per-plane, --altitude-km, --inclination-deg and --phasing.",
    )
    walker.add_argument("preset", nargs="?", metavar="PRESET", help=f"one of: {', '.join(PRESETS)}")
    walker.add_argument("-o", "--output", metavar="FILE",
                        help="TLE file to write (replaced atomically); '-' or none: standard output")
    walker.add_argument("--planes", type=int, help="number of orbit planes p")
    walker.add_argument("--per-plane", type=int, help="satellites per plane S = t/p")
    walker.add_argument("--altitude-km", type=float, help="mean altitude above the WGS-72 equatorial radius, km")
    walker.add_argument("--inclination-deg", type=float, help="inclination, deg")
    walker.add_argument("--phasing", type=int, help="Walker phasing factor f (0 … p-1)")
    walker.add_argument("--star", action="store_true", help="star pattern: nodes over 180° (default delta: 360°)")
    walker.add_argument("--epoch", help="element epoch, ISO 8601 UTC (default 2026-01-01T00:00:00Z)")
    walker.add_argument("--name", help="constellation name, prefix of satellite names (default 'walker')")
    walker.add_argument("--first-id", type=int, help="catalogue number of the first satellite")
    walker.set_defaults(func=_walker)

    check = tsub.add_parser("check", help="validate a TLE / OMM file and summarise it")
    check.add_argument("file", metavar="FILE")
    check.add_argument("--skip-invalid", action="store_true", help="load the valid records and list the others")
    check.add_argument("--start", metavar="ISO8601",
                       help="scenario start: warn about epochs far from it and list satellites SGP4 cannot "
                            "propagate there (today's date is always checked)")
    check.add_argument("--max-age-days", type=float, default=3.0, metavar="D",
                       help="warn when epochs are more than D days from the start or today (default 3)")
    check.set_defaults(func=_check)

    parser.set_defaults(func=lambda args: parser.print_help() or 2)
