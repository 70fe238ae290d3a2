"""``pingan teams assign | officers | briefing``: the vanguard-team commands.

Kept beside :mod:`service.cli` (which registers them) so the teams' options, many of
them, stay in one place; the work is :mod:`service.teams`'s and :mod:`geo.teams`'s.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from geo.errors import TeamError
from service.options import add_area_options, area_from_args

if TYPE_CHECKING:
    from geo.area import Area
    from service.teams import TeamOptions, TeamsReport

__all__ = ["add_choice_options", "add_teams_parser", "team_options"]


def _codes(values: list[str] | None) -> tuple[str, ...]:
    return tuple(c.strip() for v in values or [] for c in v.split(",") if c.strip())


def _pairs(values: list[str] | None) -> tuple[tuple[str, str], ...]:
    out = []
    for v in values or []:
        team, sep, village = v.partition(":")
        if not sep or not team.strip() or not village.strip():
            msg = f"--forbid {v!r}: write TEAM:VILLAGE_CODE, e.g. VT-03:420199100252"
            raise TeamError(msg)
        out.append((team.strip(), village.strip()))
    return tuple(out)


def _needs(values: list[str] | None) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for v in values or []:
        code, sep, skills = v.partition(":")
        if not sep or not code.strip() or not skills.strip():
            msg = f"--need {v!r}: write VILLAGE_CODE:skill;skill, e.g. 420199100252:mediation"
            raise TeamError(msg)
        out[code.strip()] = tuple(s for s in skills.replace(",", ";").split(";") if s.strip())
    return out


def team_options(args: argparse.Namespace) -> TeamOptions:
    """Return the options of :func:`add_choice_options` as the engine's parameters."""
    from geo.teams.measures import MeasureParams
    from geo.teams.plan import TeamParams
    from geo.teams.score import NeedWeights
    from geo.teams.select import SelectParams
    from service.teams import TeamOptions

    select = SelectParams(
        n=args.select,
        villages=_codes(args.villages_list),
        pins=_codes(args.pin),
        excludes=_codes(args.exclude),
        per_township=args.per_township,
        per_district=args.per_district,
        kinds=("village", "community") if args.communities else ("village",),
    )
    team = TeamParams(
        cap_min=args.cap_min,
        min_max=args.min_max,
        same_district=args.same_district,
        forbidden=_pairs(args.forbid),
        needs=_needs(args.need),
        mediation_at=args.mediation_at,
    )
    weights = NeedWeights.parse(args.weights) if args.weights else None
    return TeamOptions(select, team, MeasureParams(days=args.days), weights)


def _job(args: argparse.Namespace, area: Area) -> TeamsReport:
    from service.teams import run_teams_job

    o = team_options(args)
    return run_teams_job(area, select=o.select, team=o.team, measure=o.measure, weights=o.weights)


def cmd_assign(args: argparse.Namespace) -> int:
    """Score the villages, choose the neediest and send the teams there."""
    from service.cli import Progress
    from service.map_options import map_settings
    from service.output import Output
    from service.teams import teams_markdown, write_teams_map, write_teams_outputs

    progress = Progress(args.quiet)
    area = area_from_args(args, needs=("villages", "stations", "teams"), command="teams assign")
    progress("scoring every village's need and assigning the teams")
    report = _job(args, area)
    out = Output(args.out)
    write_teams_outputs(out, report, lang=args.lang)
    print(teams_markdown(report))
    print(f"wrote {out.path('teams_assignment.xlsx')}, teams_assignment.csv, teams_villages.csv,")
    print(f"teams_routes.geojson and teams.md to {out.folder}")
    if args.map:  # the base layers are read only for a map
        settings = map_settings(args, area)
        progress("drawing the teams map")
        print(f"wrote {write_teams_map(out, report, area, settings)}")
    return 0


def cmd_officers(args: argparse.Namespace) -> int:
    """Check "one village, one auxiliary officer" and propose officers for the gaps."""
    from geo.teams.officers import check_officers
    from service.output import Output
    from service.teams import officers_markdown, write_officer_outputs

    area = area_from_args(args, needs=("villages", "officers"), command="teams officers")
    check = check_officers(area, cap_min=args.cap_min)
    out = Output(args.out)
    write_officer_outputs(out, check, lang=args.lang)
    print(officers_markdown(check, area.name))
    out.text("officers.md", officers_markdown(check, area.name))
    if args.map:
        from service.map_options import map_settings, write_officers_map

        print(f"wrote {write_officers_map(out, area, check, map_settings(args, area))}")
    print("wrote officers.xlsx, officers_gaps.csv, officers_proposals.csv and officers.md")
    print(f"to {out.folder}")
    return 0


def cmd_briefing(args: argparse.Namespace) -> int:
    """Write a team's village briefing: the data its leader takes to the village."""
    from service.cli import Progress
    from service.map_options import map_settings
    from service.night import run_night_job
    from service.output import Output
    from service.teams import write_briefing

    progress = Progress(args.quiet)
    area = area_from_args(args, needs=("villages", "stations", "teams"), command="teams briefing")
    teams = [t for v in args.team for t in v.split(",") if t]
    known = set(area.require("teams")["id"].astype(str))
    bad = [t for t in teams if t not in known]
    if bad:
        msg = f"--team {', '.join(bad)}: no such team (teams: {', '.join(sorted(known))})"
        raise TeamError(msg)
    if args.village and len(teams) != 1:
        msg = "--village names one village, so give exactly one --team"
        raise TeamError(msg)
    where: dict[str, str] = {}
    if args.village:
        where[teams[0]] = args.village
    else:
        progress("assigning the teams to find their villages")
        table = _job(args, area).assignment.table
        where = dict(zip(table["team"], table["village_code"], strict=True))
        lost = [t for t in teams if t not in where]
        if lost:
            msg = f"team(s) {', '.join(lost)} got no village in the assignment; give --village"
            raise TeamError(msg)
    progress("hot spots, dark roads and lamps for the briefing")
    night = run_night_job(area)
    out = Output(args.out)
    # The base layers are read only for a map.
    settings = map_settings(args, area) if args.map else None
    for t in teams:
        path = write_briefing(out, area, t, where[t], night, settings)
        also = ".md, .json and .html" if settings is not None else ".md and .json"
        print(f"wrote {path} (and its {also}) for team {t} at village {where[t]}")
    return 0


def add_choice_options(p: argparse.ArgumentParser) -> None:
    """Add the options of :func:`team_options` (which villages, which limits) to ``p``."""
    g = p.add_argument_group("which villages, which limits")
    g.add_argument("--select", type=int, help="villages to choose (default: one per team)")
    g.add_argument("--villages-list", action="append", metavar="CODE,...", help="exactly these")
    g.add_argument("--pin", action="append", metavar="CODE,...", help="always choose these")
    g.add_argument("--exclude", action="append", metavar="CODE,...", help="never choose these")
    g.add_argument("--per-township", type=int, help="at most this many per township")
    g.add_argument("--per-district", type=int, help="at most this many per district")
    g.add_argument("--communities", action="store_true", help="communities may be chosen too")
    g.add_argument("--cap-min", type=float, help="longest trip a team may make, in minutes")
    g.add_argument("--min-max", action="store_true", help="minimise the longest trip first")
    g.add_argument("--same-district", action="store_true", help="keep teams in their district")
    g.add_argument("--forbid", action="append", metavar="TEAM:CODE", help="a pair never to make")
    g.add_argument(
        "--need", action="append", metavar="CODE:SKILL;...", help="skills a village needs"
    )
    g.add_argument(
        "--mediation-at", type=int, metavar="N", help="villages with N+ disputes need mediation"
    )
    g.add_argument("--days", type=int, default=365, help="incident period for the score (365)")
    g.add_argument(
        "--weights",
        metavar="PART=W,...",
        help="need weights, e.g. station=0.4,dark=0.3 (parts: station, seat, dark, "
        "incidents, officer; default 0.30, 0.15, 0.20, 0.25, 0.10)",
    )


def add_teams_parser(sub: Any) -> None:
    """Add ``teams assign | officers | briefing`` to the ``pingan`` subcommands."""
    from service.map_options import add_map_flags

    teams = sub.add_parser("teams", help="vanguard teams: assign, officers, briefing")
    teams_sub = teams.add_subparsers(dest="teams_command", required=True)
    a = teams_sub.add_parser("assign", help="score villages' need and send the teams")
    add_area_options(a)
    add_choice_options(a)
    a.add_argument("--lang", choices=("zh", "en"), default="zh", help="table headers and map (zh)")
    a.add_argument("--out", default="out", help="output folder (default: out)")
    add_map_flags(a)
    a.set_defaults(func=cmd_assign)

    o = teams_sub.add_parser("officers", help="one village, one auxiliary officer: gaps")
    add_area_options(o)
    o.add_argument("--cap-min", type=float, help="longest move proposed, in minutes")
    o.add_argument("--lang", choices=("zh", "en"), default="zh", help="table headers (zh)")
    o.add_argument("--out", default="out", help="output folder (default: out)")
    add_map_flags(o)
    o.set_defaults(func=cmd_officers)

    b = teams_sub.add_parser("briefing", help="a team's village briefing (GeoJSON, Markdown)")
    add_area_options(b)
    b.add_argument("--team", action="append", required=True, metavar="ID,...", help="team id")
    b.add_argument("--village", help="the village (default: the one the assignment gives)")
    add_choice_options(b)
    b.add_argument("--out", default="out", help="output folder (default: out)")
    add_map_flags(b)
    b.set_defaults(func=cmd_briefing)
