"""Vanguard-team assignment and village briefings, stored and served.

The scoring, choice and matching are :func:`service.teams.run_teams_job`'s, the files
:func:`service.teams.write_teams_outputs`', the briefing :mod:`geo.teams.briefing`'s and
its printable map :func:`service.teams.write_briefing_map`'s, as ``pingan teams`` runs
them. A team's village is the latest stored assignment's, else the assignment of the
area with the default limits, computed once per app.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from geo.errors import TeamError
from service.api.ops.files import frame_records, read_folder
from service.api.ops.patrol import map_settings
from service.api.schemas import Strict
from service.store.base import NotFound, PlanRecord, User

if TYPE_CHECKING:
    from geo.teams.briefing import VillageBriefing
    from service.api.deps import AppState
    from service.night import NightReport
    from service.teams import TeamsReport

__all__ = [
    "AssignmentRequest",
    "assignment",
    "briefing",
    "briefing_html",
    "latest_assignment",
    "night_report",
    "team_ids",
    "team_village",
]

Code = Annotated[str, Field(min_length=1, max_length=20)]


class AssignmentRequest(Strict):
    """The limits of an assignment, as ``pingan teams assign``'s flags give them."""

    select: int | None = Field(default=None, ge=1, le=1000, description="villages to choose")
    villages: list[Code] = Field(default_factory=list, max_length=1000, description="exactly these")
    pins: list[Code] = Field(default_factory=list, max_length=1000, description="always these")
    excludes: list[Code] = Field(default_factory=list, max_length=1000, description="never these")
    per_township: int | None = Field(
        default=None, ge=1, le=1000, description="at most per township"
    )
    per_district: int | None = Field(
        default=None, ge=1, le=1000, description="at most per district"
    )
    communities: bool = Field(default=False, description="communities may be chosen too")
    cap_min: float | None = Field(default=None, gt=0, le=1440, description="longest trip, minutes")
    min_max: bool = Field(default=False, description="minimise the longest trip first")
    same_district: bool = Field(default=False, description="keep teams in their district")
    days: int = Field(default=365, ge=1, le=3650, description="incident period of the need score")
    lang: str = Field(default="zh", pattern="^(zh|en)$", description="headers of the XLSX and CSV")


def team_ids(state: AppState) -> list[str]:
    """Return the ids of the area's teams, in the layer's order."""
    return [str(t) for t in state.area.require("teams")["id"]]


def _check_team(state: AppState, team_id: str) -> None:
    known = team_ids(state)
    if team_id not in known:
        msg = f"no team {team_id!r} in the area (teams: {', '.join(known)})"
        raise NotFound(msg)


def _run(state: AppState, req: AssignmentRequest) -> TeamsReport:
    from geo.teams.measures import MeasureParams
    from geo.teams.plan import TeamParams
    from geo.teams.select import SelectParams
    from service.teams import run_teams_job

    select = SelectParams(
        n=req.select,
        villages=tuple(req.villages),
        pins=tuple(req.pins),
        excludes=tuple(req.excludes),
        per_township=req.per_township,
        per_district=req.per_district,
        kinds=("village", "community") if req.communities else ("village",),
    )
    team = TeamParams(cap_min=req.cap_min, min_max=req.min_max, same_district=req.same_district)
    return run_teams_job(state.area, select=select, team=team, measure=MeasureParams(days=req.days))


def assignment(state: AppState, user: User, params: AssignmentRequest) -> PlanRecord:
    """Assign the teams, store the table (``summary["assignment"]``) and its files.

    The files are ``teams_assignment.xlsx`` (with the village need sheet), the same as
    CSV, ``teams_villages.csv``, ``teams_routes.geojson`` and ``teams.md``.
    """
    from service.output import Output
    from service.teams import write_teams_outputs

    report = _run(state, params)
    with tempfile.TemporaryDirectory(prefix="pingan-teams-") as tmp:
        figures = write_teams_outputs(Output(tmp), report, lang=params.lang)  # type: ignore[arg-type]
        artifacts = read_folder(Path(tmp))
    a = report.assignment
    summary: dict[str, Any] = {
        **figures,
        "assignment": frame_records(a.table),
        "unmatched": frame_records(a.unmatched),
        "request": params.model_dump(),
    }
    plan = state.store.put_plan("teams", summary, artifacts, user_id=user.id)
    state.store.audit(user, "teams.assign", f"plan:{plan.id}", {"teams": figures["teams"]})
    return plan


def latest_assignment(state: AppState) -> PlanRecord | None:
    """Return the newest stored assignment, or None."""
    plans = state.store.list_plans("teams")
    return plans[0] if plans else None


def _default_villages(state: AppState) -> dict[str, str]:
    def make() -> dict[str, str]:
        table = _run(state, AssignmentRequest()).assignment.table
        return dict(zip(table["team"].astype(str), table["village_code"].astype(str), strict=True))

    return state.memo("ops.teams.default_villages", make)


def team_village(state: AppState, team_id: str) -> str:
    """Return the code of the village ``team_id`` is sent to.

    Raises
    ------
    NotFound
        No such team in the area.
    TeamError
        The assignment left the team without a village.
    """
    _check_team(state, team_id)
    latest = latest_assignment(state)
    if latest is not None:
        where = {str(r["team"]): str(r["village_code"]) for r in latest.summary["assignment"]}
        origin = f"assignment {latest.id}"
    else:
        where = _default_villages(state)
        origin = "the default assignment"
    if team_id not in where:
        msg = f"team {team_id} got no village in {origin} (more teams than villages chosen)"
        raise TeamError(msg)
    return where[team_id]


def night_report(state: AppState) -> NightReport:
    """Return the area's night-safety report (hot spots, dark-road risk, lamps), once."""
    from service.night import run_night_job

    return state.memo("ops.night", lambda: run_night_job(state.area))


def briefing(state: AppState, team_id: str) -> VillageBriefing:
    """Return the briefing of ``team_id`` at its village (memoised per team and village)."""
    from geo.teams.briefing import village_briefing

    village = team_village(state, team_id)

    # AppState.memo holds one lock while it computes: whatever a memoised function
    # needs that is memoised too is fetched first, never inside.
    night = night_report(state)

    def make() -> VillageBriefing:
        return village_briefing(
            state.area,
            team_id,
            village,
            hotspots=night.hotspots,
            risk=night.risk,
            lamps=night.lamps,
        )

    return state.memo(f"ops.briefing:{team_id}:{village}", make)


def briefing_html(state: AppState, team_id: str, lang: str) -> str:
    """Return the briefing's map page in ``lang``: it prints on one A4 sheet, dated today."""
    from service.output import Output
    from service.teams import write_briefing_map

    b = briefing(state, team_id)
    settings = map_settings(state, lang)
    today = dt.date.today()

    def make() -> str:
        with tempfile.TemporaryDirectory(prefix="pingan-briefing-") as tmp:
            path = write_briefing_map(Output(tmp), state.area, b, settings, printed_on=today)
            return path.read_text(encoding="utf-8")

    return state.memo(f"ops.briefing_html:{team_id}:{b.village_code}:{lang}:{today}", make)
