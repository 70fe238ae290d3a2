"""The vanguard-team job: score the villages, choose, assign, write the tables and briefings.

Shared by ``pingan teams ...``, ``pingan run`` and the demo. The scoring and matching are
:mod:`geo.teams`'s; here are the files (CSV with a byte-order mark so Excel shows the
Chinese, XLSX with Chinese headers by default) and the Markdown.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from geo.area import Area
from geo.teams.measures import MeasureParams, measure_villages
from geo.teams.plan import TeamAssignment, TeamParams, assign_teams
from geo.teams.score import NeedScores, NeedWeights, score_needs
from geo.teams.select import Selection, SelectParams, select_villages
from service.output import Output
from service.reports import markdown_table

if TYPE_CHECKING:
    from service.map_options import MapSettings

__all__ = [
    "ASSIGNMENT_HEADERS",
    "OFFICER_HEADERS",
    "SCORE_HEADERS",
    "TeamOptions",
    "TeamsReport",
    "briefing_markdown",
    "headed",
    "officers_markdown",
    "run_teams_job",
    "teams_markdown",
    "write_briefing",
    "write_briefing_map",
    "write_officer_outputs",
    "write_teams_map",
    "write_teams_outputs",
]

Lang = Literal["zh", "en"]

#: The assignment table's columns and their Chinese headers, in the order offices read.
ASSIGNMENT_HEADERS: Mapping[str, str] = {
    "team": "队编号",
    "team_name": "先锋队",
    "leader": "队长",
    "home_unit": "所属单位",
    "village": "派驻村",
    "village_code": "统计用区划代码",
    "township": "乡镇街道",
    "district": "区县",
    "minutes": "车程（分钟）",
    "km": "里程（公里）",
    "score": "需求分",
    "needs": "所需技能",
    "reason": "入选理由",
}
#: The village need table's columns and their Chinese headers.
SCORE_HEADERS: Mapping[str, str] = {
    "rank": "排名",
    "code": "统计用区划代码",
    "name": "村名",
    "township": "乡镇街道",
    "district": "区县",
    "score": "需求分",
    "station_min": "最近派出所车程（分钟）",
    "station_name": "最近派出所",
    "seat_min": "乡镇驻地车程（分钟）",
    "road_km": "道路（公里）",
    "dark_km": "未确认亮灯道路（公里）",
    "unlit_km": "确认无路灯道路（公里）",
    "incidents": "警情数",
    "disputes": "纠纷数",
    "residents": "人口",
    "rate": "每千人警情",
    "has_officer": "有辅警",
    "border_exact": "边界缓冲内精确",
    "why": "评分说明",
    "lon": "经度",
    "lat": "纬度",
}


@dataclass(frozen=True)
class TeamOptions:
    """The choice, limits and scoring a teams job is given."""

    select: SelectParams
    team: TeamParams
    measure: MeasureParams
    weights: NeedWeights | None = None


@dataclass(frozen=True, eq=False)
class TeamsReport:
    """What the teams job found: every village's need, the choice and the match."""

    area: str
    scores: NeedScores
    selection: Selection
    assignment: TeamAssignment
    days: int


def run_teams_job(
    area: Area,
    *,
    select: SelectParams | None = None,
    team: TeamParams | None = None,
    measure: MeasureParams | None = None,
    weights: NeedWeights | None = None,
) -> TeamsReport:
    """Score the area's villages, choose as many as there are teams, and assign them."""
    mp = measure or MeasureParams()
    teams = area.require("teams")
    scores = score_needs(measure_villages(area, mp), weights)
    selection = select_villages(scores, select or SelectParams(), len(teams))
    assignment = assign_teams(area, selection, team)
    return TeamsReport(area.name, scores, selection, assignment, mp.days)


def headed(table: pd.DataFrame, headers: Mapping[str, str], lang: Lang) -> pd.DataFrame:
    """Return ``table``'s columns of ``headers``, in that order, headed in ``lang``."""
    cols = [c for c in headers if c in table.columns]
    out = pd.DataFrame(table[cols])
    return out.rename(columns=dict(headers)) if lang == "zh" else out


def _reason(text: pd.Series, lang: Lang) -> pd.Series:
    """Say why a village was chosen in ``lang`` ("need rank 3" -> "需求排名第3")."""
    if lang != "zh":
        return text
    zh = text.str.replace(r"^need rank (\d+)$", r"需求排名第\1", regex=True)
    return zh.replace({"pinned": "指定派驻", "listed": "名单指定"})


def _assignment_table(report: TeamsReport, lang: Lang = "en") -> pd.DataFrame:
    t = pd.DataFrame(report.assignment.table.drop(columns="geometry"))
    t["minutes"] = t["minutes"].round(1)
    t["km"] = t["km"].round(2)
    t["score"] = t["score"].round(1)
    t["reason"] = _reason(t["reason"].astype(str), lang)
    return t


def _score_table(report: TeamsReport, lang: Lang = "en") -> pd.DataFrame:
    t = report.scores.table.sort_values(["rank", "code"], kind="stable")
    for c in ("score", "station_min", "seat_min", "rate"):
        t[c] = t[c].round(1)
    for c in ("road_km", "dark_km", "unlit_km"):
        t[c] = t[c].round(2)
    for c in ("incidents", "disputes", "residents"):
        t[c] = t[c].round().astype("Int64")
    yes, no = ("是", "否") if lang == "zh" else ("yes", "no")
    t["has_officer"] = t["has_officer"].map({1.0: yes, 0.0: no}).fillna("")
    if lang == "zh":
        t["why"] = t["why_zh"]
    return t


def write_teams_outputs(out: Output, report: TeamsReport, *, lang: Lang = "zh") -> dict[str, Any]:
    """Write the assignment (CSV, XLSX), every village's need, the routes and the report."""
    assignment = headed(_assignment_table(report, lang), ASSIGNMENT_HEADERS, lang)
    scores = headed(_score_table(report, lang), SCORE_HEADERS, lang)
    out.csv("teams_assignment.csv", assignment, bom=True)
    sheets = {"派驻表" if lang == "zh" else "assignment": assignment}
    sheets["村需求评分" if lang == "zh" else "village need"] = scores
    out.xlsx("teams_assignment.xlsx", sheets)
    out.csv("teams_villages.csv", scores, bom=True)
    out.geojson("teams_routes.geojson", report.assignment)
    out.text("teams.md", teams_markdown(report))
    a = report.assignment
    return {
        "teams": len(a.table),
        "total_min": round(a.total_min, 1),
        "longest_min": round(a.longest_min, 1),
        "min_max": a.params.min_max,
        "unmatched": len(a.unmatched),
    }


def write_teams_map(out: Output, report: TeamsReport, area: Area, settings: MapSettings) -> Path:
    """Write ``teams_map.html``: bases, assigned villages, routes, need scores, popups.

    See :func:`maps.teams.teams_map`; the page opens offline.
    """
    from maps.teams import teams_map
    from service.map_options import credit

    lang = settings.lang
    m = teams_map(
        report.assignment,
        report.scores,
        teams=area.require("teams"),
        villages=area.require("villages"),
        stations=area.require("stations"),
        roads=area.roads.frame(),
        title="先锋队派驻图" if lang == "zh" else f"Vanguard teams — {report.area}",
        base=settings.base,
        lang=lang,
        attribution=credit(area, lang),
    )
    return out.map("teams_map.html", m)


def teams_markdown(report: TeamsReport) -> str:
    """Return the teams report: the assignment, why those villages, what was passed over."""
    a = report.assignment
    t = _assignment_table(report)
    lines = [f"# Vanguard teams (先锋队) — {report.area}", ""]
    objective = "the longest trip, then the total" if a.params.min_max else "the total travel time"
    lines += [
        f"{len(t)} teams sent to {len(t)} villages, minimising {objective}: "
        f"{a.total_min:.0f} min in all, the longest {a.longest_min:.0f} min.",
        "",
    ]
    rows = [
        [
            r.team,
            r.team_name,
            r.leader or "—",
            r.home_unit,
            f"{r.village} ({r.village_code})",
            _text(r.township) or "—",
            f"{r.minutes:.0f}",
            f"{r.km:.1f}",
            f"{r.score:.0f}",
        ]
        for r in t.itertuples()
    ]
    head = ["team", "name", "leader", "home unit", "village", "township", "min", "km", "need"]
    lines += [markdown_table(pd.DataFrame(rows, columns=head)), ""]
    if len(a.unmatched):
        lines += ["Not matched (more on one side than the other):", ""]
        lines += [f"- {r.kind} {r.id} {r.name}" for r in a.unmatched.itertuples()]
        lines.append("")
    lines += ["## Why these villages", ""]
    why = report.scores.table.set_index(report.scores.table["code"].astype(str))["why"]
    for r in report.selection.chosen.itertuples():
        lines.append(f"- **{r.name}** ({_place(r)}; {r.reason}): {why[str(r.code)]}")
    lines.append("")
    w = report.scores.weights
    lines += [
        f"Need score weights: station {w.station}, township seat {w.seat}, dark roads {w.dark}, "
        f"incidents per 1,000 residents over {report.days} days {w.incidents}, "
        f"no auxiliary officer {w.officer}.",
    ]
    for part, reason in report.scores.missing.items():
        lines.append(f"Left out of every score: {part} ({reason}).")
    passed = report.selection.passed
    if len(passed):
        lines += ["", "## Needier villages passed over", ""]
        lines += [
            f"- {r.name} ({_place(r)}), need {r.score:.0f}: {r.reason}" for r in passed.itertuples()
        ]
    return "\n".join(lines) + "\n"


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _place(r: Any) -> str:
    """Return "code, township" of a village row, or the code where the township is unknown."""
    town = _text(getattr(r, "township", None))
    return f"{r.code}, {town}" if town else str(r.code)


def write_briefing(
    out: Output,
    area: Area,
    team: str,
    village: str,
    night: Any,
    settings: MapSettings | None = None,
) -> Path:
    """Write one team's village briefing: GeoJSON (every layer), Markdown and JSON.

    ``night`` is the night-safety report (:class:`service.night.NightReport`) whose hot
    spots, dark-road risk and lamp plan the briefing draws on, or None. With map
    ``settings`` that ask for a map, its map is written too (:func:`write_briefing_map`).
    """
    from geo.teams.briefing import village_briefing

    b = village_briefing(
        area,
        team,
        village,
        hotspots=None if night is None else night.hotspots,
        risk=None if night is None else night.risk,
        lamps=None if night is None else night.lamps,
    )
    stem = f"briefings/{team}"
    path = out.text(f"{stem}.geojson", json.dumps(b.to_geojson(), ensure_ascii=False))
    out.text(f"{stem}.md", briefing_markdown(b))
    out.json(f"{stem}.json", b.summary())
    if settings is not None and settings.write:
        write_briefing_map(out, area, b, settings)
    return path


def write_briefing_map(
    out: Output,
    area: Area,
    briefing: Any,
    settings: MapSettings,
    *,
    printed_on: datetime.date | None = None,
) -> Path:
    """Write ``briefings/<TEAM>.html``: the briefing's map, which prints on one A4 page.

    See :func:`maps.village.village_map`; ``printed_on`` (default today) is the date on
    the sheet. The page opens offline.
    """
    from maps.village import village_map
    from service.map_options import credit

    lang = settings.lang
    m = village_map(
        briefing,
        base=settings.base,
        lang=lang,
        printed_on=printed_on,
        attribution=credit(area, lang),
    )
    return out.map(f"briefings/{briefing.team_id}.html", m)


def briefing_markdown(b: Any) -> str:
    """Return a briefing as a page a team leader reads before setting out."""
    lines = [f"# {b.team_name} → {b.village_name} ({b.village_code})", ""]
    lines += b.text().splitlines()
    lines.append("")
    for title, name, cols in (
        (
            "Dark roads nearest the village, by risk",
            "dark_roads",
            ("rank", "name", "length_m", "score", "explanation"),
        ),
        ("Latest incidents", "incidents", ("time", "category", "description", "distance_m")),
        ("Neighbouring villages", "neighbours", ("code", "name", "township", "km")),
    ):
        t = b.tables()[name]
        if not len(t):
            continue
        t = pd.DataFrame(t[[c for c in cols if c in t.columns]]).head(10)
        lines += [f"## {title}", "", markdown_table(t.map(_fmt)), ""]
    for note in b.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value).replace("|", "/")


#: The officer tables' columns and their Chinese headers.
OFFICER_HEADERS: Mapping[str, str] = {
    "code": "统计用区划代码",
    "name": "村名",
    "township": "乡镇街道",
    "district": "区县",
    "officer_id": "辅警编号",
    "officer_name": "辅警姓名",
    "from_code": "原驻村代码",
    "from_name": "原驻村",
    "minutes": "车程（分钟）",
    "km": "里程（公里）",
    "reason": "说明",
    "lat": "纬度",
    "lon": "经度",
}


def write_officer_outputs(out: Output, check: Any, *, lang: Lang = "zh") -> dict[str, Any]:
    """Write the gaps, the proposals (CSV and one XLSX) and the officers report."""
    props = pd.DataFrame(check.proposals)
    for c, nd in (("minutes", 1), ("km", 2)):
        if c in props.columns:
            props[c] = props[c].round(nd)
    gaps = headed(pd.DataFrame(check.gaps), OFFICER_HEADERS, lang)
    proposals = headed(props, OFFICER_HEADERS, lang)
    unfilled = headed(pd.DataFrame(check.unfilled), OFFICER_HEADERS, lang)
    out.csv("officers_gaps.csv", gaps, bom=True)
    out.csv("officers_proposals.csv", proposals, bom=True)
    names = (
        ("缺辅警的村", "调配建议", "无法调配")
        if lang == "zh"
        else ("gaps", "proposals", "unfilled")
    )
    out.xlsx("officers.xlsx", dict(zip(names, (gaps, proposals, unfilled), strict=True)))
    return dict(check.counts)


def officers_markdown(check: Any, area: str) -> str:
    """Return the "one village, one auxiliary officer" report."""
    c = check.counts
    lines = [f"# One village, one auxiliary officer (一村一辅警) — {area}", ""]
    lines.append(
        f"{c['with_officer']} of {c['villages']} villagers' committees have an auxiliary "
        f"officer; {c['gaps']} have none. {c['officers']} officers are listed, "
        f"{c['unplaced']} not yet placed; {c['movable']} could move without leaving a "
        "village without one (communities are not counted)."
    )
    lines.append("")
    props = pd.DataFrame(check.proposals)
    if len(props):
        lines += [f"## Proposed ({c['filled']} gaps filled, least total travel)", ""]
        for r in props.itertuples():
            src = f"leaving {r.from_name!s} ({r.from_code!s})" if r.from_code else "not yet placed"
            lines.append(
                f"- {r.name} ({r.code}): {r.officer_name} ({r.officer_id}, {src}), "
                f"{r.minutes:.0f} min, {r.km:.1f} km by road. {r.reason}"
            )
        lines.append("")
    left = pd.DataFrame(check.unfilled)
    if len(left):
        lines += ["## Gaps no officer can fill", ""]
        lines += [f"- {r.name} ({r.code}, {r.township}): {r.reason}" for r in left.itertuples()]
    return "\n".join(lines) + "\n"
