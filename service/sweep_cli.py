"""``pingan sweep`` and ``pingan province``: province-scale runs.

``pingan sweep [SCENARIOS] --area province.toml [--hotspots]`` runs every scenario of a
sweep file in every district it concerns (and each district's coverage and, asked for,
hot spots: the province's report), on a local Dask cluster (``--workers``), an existing one
(``--scheduler``) or in this process (``--serial``), and writes one comparison table
(:func:`service.batch.write_sweep`). ``pingan province`` writes the synthetic province.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["add_sweep_parsers"]


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep and write its tables; status 1 when some tasks failed."""
    from geo.province import ProvinceSpec, SweepScenario, load_sweep, plan_sweep
    from service.batch import sweep_session, write_sweep
    from service.cli import Progress
    from service.options import default_cache_dir

    progress = Progress(args.quiet)
    spec = ProvinceSpec.from_file(args.area)
    scenarios: tuple[SweepScenario, ...] = ()
    if args.scenarios is None:
        from geo.coverage import CoverageParams

        thresholds = CoverageParams().thresholds_min
    else:
        thresholds, scenarios = load_sweep(args.scenarios)
    cache = None if args.no_cache else Path(args.cache_dir or default_cache_dir()).resolve()
    tasks = plan_sweep(spec, scenarios, thresholds, cache_dir=cache, hotspots=args.hotspots)
    n_sc = len(scenarios)
    progress(
        f"{n_sc} scenarios over {len(spec.districts)} districts of {spec.name}: {len(tasks)} "
        f"tasks, of which {len(spec.districts)} the districts' own coverage"
        + (f" and {len(spec.districts)} their hot spots" if args.hotspots else "")
    )
    team_steps = []
    if args.teams:
        from geo.province_teams import plan_team_measures
        from service.teams_cli import team_options

        options = team_options(args)
        team_steps = plan_team_measures(
            spec, options.measure, cache_dir=None if cache is None else str(cache)
        )
        progress(f"and the vanguard teams: {len(team_steps)} districts measured, then one match")
    t0 = time.perf_counter()
    meta: dict[str, Any] = {
        "province": spec.path,
        "sweep": None if args.scenarios is None else str(Path(args.scenarios).resolve()),
        "thresholds_min": list(thresholds),
        "scenarios": n_sc,
        "districts": [d.code for d in spec.districts],
        "buffer_km": spec.buffer_km,
        "cache_dir": None if cache is None else str(cache),
    }
    also: list[Path] = []
    with sweep_session(
        workers=args.workers,
        scheduler=args.scheduler,
        serial=args.serial,
        retries=args.retries,
        progress=progress,
    ) as run:
        outcome = run([*tasks, *team_steps])
        if args.teams:
            meta["teams"], also = _teams(spec, outcome, run, options, cache, args)
    written = [*write_sweep(outcome, args.out, meta, also), *also]
    done, n = len(outcome.rows), len(outcome.tasks)
    print(
        f"sweep: {done} of {n} tasks finished in {time.perf_counter() - t0:.1f} s "
        f"({outcome.where}); tables in {Path(args.out)}: {', '.join(p.name for p in written)}"
    )
    for f in outcome.failures:
        print(
            f"  failed: district {f.district}, scenario {f.scenario!r}: {f.error}", file=sys.stderr
        )
    team_error = meta.get("teams", {}).get("error")
    if team_error:
        print(f"  {team_error}", file=sys.stderr)
    return 1 if outcome.failures or team_error else 0


def _teams(
    spec: Any, outcome: Any, run: Any, options: Any, cache: Path | None, args: argparse.Namespace
) -> tuple[dict[str, Any], list[Path]]:
    """Assign the province's teams; return what the manifest says and the files written."""
    from geo.errors import PinganError
    from service.output import Output
    from service.province_teams import province_teams
    from service.teams import teams_markdown, write_teams_outputs

    try:
        report = province_teams(
            spec, outcome, run, options, cache_dir=None if cache is None else str(cache)
        )
    except PinganError as exc:
        return {"error": str(exc)}, []
    out = Output(args.out)
    facts = write_teams_outputs(out, report, lang=args.lang)
    print(teams_markdown(report))
    return facts, list(out.written)


def cmd_province(args: argparse.Namespace) -> int:
    """Write the synthetic province."""
    from geo.sample.province import ensure_province
    from service.cli import Progress

    files = ensure_province(
        args.out,
        seed=args.seed,
        districts=args.districts,
        tiles=(args.tiles[0], args.tiles[1]),
        per_row=args.per_row,
        n_villages=args.villages,
        progress=Progress(args.quiet),
    )
    print(f"synthetic province in {files.folder}: area file {files.province.name}")
    return 0


def add_sweep_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``sweep`` and ``province``."""
    sw = sub.add_parser(
        "sweep", help="run a sweep of scenarios over a province's districts (Dask or serial)"
    )
    sw.add_argument(
        "scenarios",
        nargs="?",
        help="sweep file (JSON: thresholds_min, scenarios); without it, the province's "
        "coverage report alone",
    )
    sw.add_argument(
        "--hotspots", action="store_true", help="add every district's hot spots to the report"
    )
    sw.add_argument(
        "--teams",
        action="store_true",
        help="assign the province's vanguard teams: every district's villages measured in "
        "parallel, one match (the options below, as 'pingan teams assign' has them)",
    )
    sw.add_argument("--lang", choices=("zh", "en"), default="zh", help="team table headers (zh)")
    sw.add_argument("--area", required=True, help="province file (TOML), e.g. province.toml")
    sw.add_argument("--out", default="out/sweep", help="folder for the tables and manifest")
    where = sw.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=2, help="local cluster size (default 2)")
    where.add_argument("--scheduler", help="an existing Dask scheduler, e.g. tcp://host:8786")
    where.add_argument("--serial", action="store_true", help="run here, one task at a time")
    sw.add_argument("--retries", type=int, default=2, help="retries of a failing task")
    sw.add_argument("--cache-dir", help="network cache (shared by every worker)")
    sw.add_argument("--no-cache", action="store_true", help="build networks, keep nothing")
    sw.add_argument("-q", "--quiet", action="store_true")
    from service.teams_cli import add_choice_options

    add_choice_options(sw)
    sw.set_defaults(func=cmd_sweep)

    pv = sub.add_parser("province", help="write the synthetic province (districts of sample tiles)")
    pv.add_argument("--out", default="out/province")
    pv.add_argument("--seed", type=int, default=2024)
    pv.add_argument("--districts", type=int, default=10)
    pv.add_argument("--tiles", type=int, nargs=2, default=[3, 2], metavar=("COLS", "ROWS"))
    pv.add_argument("--per-row", type=int, default=5, help="districts per row")
    pv.add_argument("--villages", type=int, default=36, help="villages per tile")
    pv.add_argument("-q", "--quiet", action="store_true")
    pv.set_defaults(func=cmd_province)
