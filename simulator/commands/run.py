"""``leosim run SCENARIO [-o DIR] [--resume [--repair]] [--overwrite]``: replay a scenario into a run directory."""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError, ScenarioError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="replay a scenario and write rate and handover timelines to Parquet",
                       description="Replay SCENARIO (a TOML file, see docs/scenarios.md) and write the run "
                                   "directory of docs/outputs.md.")
    p.add_argument("scenario", metavar="SCENARIO", help="scenario TOML file")
    p.add_argument("-o", "--output", metavar="DIR", help="run directory (default: the scenario's output.directory)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last complete chunk")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    p.add_argument("--repair", action="store_true",
                   help="with --resume: run damaged or missing chunks (and the ones after them) again from the "
                        "last good checkpoint")
    p.add_argument("--rate-workers", type=int, choices=(0, 1), metavar="{0,1}",
                   help="1: evaluate the logged rates in a worker process beside the event loop; 0: in this "
                        "process (same output). Default: 1 on a machine with two or more cores")
    p.add_argument("--decision-pool", choices=("auto", "threads", "processes"), default=None,
                   help="where the decisions of a reclustering run at once: threads, worker processes, or auto "
                        "(processes from 40 users on; same output)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="scenarios with [areas]: Dask LocalCluster worker processes, one area per task "
                        "(default: the cores available); 0 runs the areas one after another in this process")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="scenarios with [areas]: run on the Dask cluster at ADDRESS (e.g. tcp://10.0.0.5:8786); "
                        "its workers must see the run directory")
    p.add_argument("--retries", type=int, metavar="N",
                   help="scenarios with [areas]: extra attempts of a failing area, each from its last chunk (default 1)")
    p.add_argument("--max-chunks", type=int, metavar="N", help=argparse.SUPPRESS)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..engine.run import run_scenario, summarise_run
    from ..engine.settings import ReplayTuning
    from ..scenario import load_scenario, locate_error

    if args.max_chunks is not None and args.max_chunks < 1:
        raise InputError(f"--max-chunks={args.max_chunks} must be >= 1")
    scenario = load_scenario(args.scenario)
    if scenario.areas is not None and args.decision_pool is not None:
        raise InputError("--decision-pool applies to scenarios without [areas] (an area decides in its own process)")
    if scenario.areas is not None:
        from ..areas.cli import run_areas_command

        return run_areas_command(scenario, args)
    given = [f"--{k}" for k in ("workers", "scheduler", "retries") if getattr(args, k) is not None]
    if given:
        raise InputError(f"{given[0]} applies to scenarios with [areas]; {args.scenario} declares one area")
    reporter = _Reporter(scenario.time.duration_s)
    try:
        with reporter:
            run_dir = run_scenario(scenario, output_dir=args.output, resume=args.resume, overwrite=args.overwrite,
                                   progress=reporter.update, max_chunks=args.max_chunks,
                                   rate_workers=args.rate_workers, repair=args.repair, notice=_notice,
                                   tuning=None if args.decision_pool is None else
                                   ReplayTuning(decision_pool=args.decision_pool))
    except ScenarioError as exc:  # found while reading the inputs: say which scenario and where
        raise locate_error(exc, args.scenario) from None
    print(f"run directory: {run_dir}")
    _print_service(run_dir)
    _print_summary(summarise_run(run_dir), list(scenario.schemes.names), list(scenario.schemes.rsap_policies))
    return 0


def _notice(message: str) -> None:
    print(f"leosim: note: {message}", file=sys.stderr)


def _print_service(run_dir) -> None:
    """Satellites removed from service (SGP4 failure, re-entry) and skipped element sets, from the manifest."""
    from ..engine.manifest import Manifest

    service = Manifest.load(run_dir).data.get("service") or {}
    removed, skipped = service.get("removed_from_service", []), service.get("skipped_records", [])
    if removed:
        print(f"\n{len(removed)} satellite(s) removed from service (listed in manifest.json \"service\")")
        for r in removed[:10]:
            code = f"SGP4 error {r['code']}: " if r["code"] else ""
            print(f"  {r['sat_id']} {r['name'] or '?'} from {r['first_failing_utc']}: {code}{r['reason']}")
        if len(removed) > 10:
            print(f"  … and {len(removed) - 10} more")
    if skipped:
        print(f"\n{len(skipped)} element set(s) skipped (skip_invalid = true)")
        for line in skipped[:10]:
            print(f"  {line}")
        if len(skipped) > 10:
            print(f"  … and {len(skipped) - 10} more")


class _Reporter:
    """Progress of a run on stderr: a rich bar on a terminal, a line every ``PLAIN_S`` otherwise.

    Both show the simulated time, the wall time and an ETA: the remaining simulated time at the
    average pace since the first report of this call (so a resumed run is not credited with the
    chunks it skipped).
    """

    PLAIN_S = 5.0  # s of wall time between two lines when stderr is not a terminal

    def __init__(self, duration_s: float) -> None:
        self.duration_s = duration_s
        self.tty = sys.stderr.isatty()
        self.bar = None
        self.first: tuple[float, float] | None = None  # (wall_s, sim_s) of the first report
        self.last_line = -float("inf")

    def __enter__(self) -> "_Reporter":
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("simulated {task.fields[sim]}"), BarColumn(),
                                TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                                TextColumn("ETA {task.fields[eta]}"), TextColumn("{task.fields[rate]}"),
                                console=Console(stderr=True), transient=False)
            self.bar.__enter__()
            self.task = self.bar.add_task("run", total=self.duration_s, sim="0 s", eta="…", rate="")
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def eta_s(self, wall_s: float, sim_s: float) -> float | None:
        """Seconds of wall time left at the pace since the first report (None before any pace is known)."""
        if self.first is None:
            self.first = (wall_s, sim_s)
            return None
        wall0, sim0 = self.first
        if sim_s <= sim0 or wall_s <= wall0:
            return None
        return (self.duration_s - sim_s) * (wall_s - wall0) / (sim_s - sim0)

    def update(self, p) -> None:
        eta = self.eta_s(p.wall_s, p.sim_s)
        eta_text = "…" if eta is None else _clock(eta)
        rate = f"{p.events / max(p.wall_s, 1e-9):,.0f} events/s, {p.reclusterings} reclusterings"
        sim = f"{p.sim_s:,.0f} / {p.duration_s:,.0f} s"
        if self.bar is not None:
            self.bar.update(self.task, completed=p.sim_s, sim=sim, eta=eta_text, rate=rate)
        elif not p.in_chunk or p.wall_s - self.last_line >= self.PLAIN_S:
            self.last_line = p.wall_s
            where = f"chunk {p.chunk}/{p.n_chunks}" + (" done" if not p.in_chunk else "")
            print(f"{where}: simulated {sim}, wall {_clock(p.wall_s)}, ETA {eta_text}, {rate}", file=sys.stderr,
                  flush=True)


def _clock(seconds: float) -> str:
    """``h:mm:ss`` (or ``m:ss`` under an hour) of a duration in s.

    >>> _clock(3725.4), _clock(59.6)
    ('1:02:05', '1:00')
    """
    whole = int(round(seconds))
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _in_scenario_order(frame, schemes: list[str], policies: list[str]):
    """``frame`` (index scheme, rsap_policy) with its rows in the scenario's scheme and policy order."""
    import pandas as pd

    order = pd.MultiIndex.from_product([schemes, policies], names=["scheme", "rsap_policy"])
    present = set(frame.index)
    return frame.loc[[k for k in order if k in present] + [k for k in frame.index if k not in set(order)]]


def _print_summary(summary: dict, schemes: list[str], policies: list[str]) -> None:
    import pandas as pd

    summary = {k: _in_scenario_order(v, schemes, policies) for k, v in summary.items()}

    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.float_format", "{:.3f}".format):
        if "handovers_per_user_hour" in summary:
            print("\nhandovers per user-hour")
            print(summary["handovers_per_user_hour"].to_string())
        if "se" in summary:
            print("\nspectral efficiency (bit/s/Hz)")
            print(summary["se"].to_string())
