"""Vanguard teams: the assignment (planners), each team's village briefing (its leader).

The work is :mod:`service.api.ops.teams`' (``pingan teams``' job functions); a team
leader sees their own team's village only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from service.api.deps import Planner, StateDep, requires
from service.api.errors import ApiError, responses
from service.api.ops import teams as ops
from service.store.base import NotFound, PlanRecord, User

router = APIRouter(prefix="/teams", tags=["teams"])

TeamId = Annotated[str, Path(min_length=1, max_length=40, description="a team's id")]
AssignmentId = Annotated[str, Path(min_length=1, max_length=40, description="an assignment's id")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class AssignmentRow(BaseModel):
    """One team, the village it is sent to, how far, and the village's need score."""

    model_config = {"extra": "allow"}

    team: str
    team_name: str | None
    village_code: str
    village: str | None
    township: str | None
    minutes: float | None
    km: float | None
    score: float | None = Field(description="the village's need score (0-100)")
    reason: str | None


class AssignmentOut(BaseModel):
    """A stored assignment."""

    id: str
    created: str
    created_by: str
    teams: int
    total_min: float
    longest_min: float
    unmatched: list[dict[str, Any]]
    assignment: list[AssignmentRow]
    files: list[str]
    xlsx: str = Field(description="where its XLSX is")


class BriefingOut(BaseModel):
    """A team's village briefing: the headline numbers and text (geo.teams.briefing)."""

    team: str
    village_code: str
    summary: dict[str, Any]
    map: str = Field(description="the printable briefing map page")
    geojson: str


def _out(plan: PlanRecord) -> AssignmentOut:
    s = plan.summary
    return AssignmentOut(
        id=plan.id,
        created=plan.created,
        created_by=plan.created_by,
        teams=int(s["teams"]),
        total_min=float(s["total_min"]),
        longest_min=float(s["longest_min"]),
        unmatched=list(s["unmatched"]),
        assignment=[AssignmentRow(**r) for r in s["assignment"]],
        files=list(plan.artifacts),
        xlsx=f"/teams/assignment/{plan.id}/xlsx",
    )


def own_team(
    state: StateDep,
    team: TeamId,
    user: Annotated[User, Depends(requires("team_leader", "planner"))],
) -> str:
    """Let a planner see any team, a team leader only their own (403 otherwise)."""
    if user.role == "team_leader" and user.team != team:
        raise ApiError(
            403,
            f"{user.name} leads team {user.team or '(none)'}, not {team}: a team "
            "leader sees their own team's village only",
        )
    if team not in ops.team_ids(state):
        raise NotFound(f"no team {team!r} in the area (teams: {', '.join(ops.team_ids(state))})")
    return team


OwnTeam = Annotated[str, Depends(own_team)]


@router.post(
    "/assignment",
    status_code=201,
    response_model=AssignmentOut,
    responses=responses(401, 403, 422),
    summary="Assign the vanguard teams to the neediest villages",
)
def assign(body: ops.AssignmentRequest, user: Planner, state: StateDep) -> AssignmentOut:
    """Score every village's need, choose, match; store the table and its XLSX."""
    return _out(ops.assignment(state, user, body))


@router.get(
    "/assignment/latest",
    response_model=AssignmentOut,
    responses=responses(401, 403, 404),
    summary="The latest stored assignment",
)
def latest(user: Planner, state: StateDep) -> AssignmentOut:
    """Return the newest assignment (404 before the first)."""
    plan = ops.latest_assignment(state)
    if plan is None:
        raise ApiError(404, "no assignment stored yet: POST /teams/assignment makes one")
    return _out(plan)


@router.get(
    "/assignment/{assignment_id}/xlsx",
    response_class=Response,
    responses={
        200: {"description": "The XLSX workbook.", "content": {XLSX: {}}},
        **responses(401, 403, 404, 422),
    },
    summary="Download an assignment as XLSX (assignment and village need sheets)",
)
def xlsx(assignment_id: AssignmentId, user: Planner, state: StateDep) -> Response:
    """Serve the stored workbook; the download is in the audit log."""
    plan = state.store.get_plan(assignment_id)
    if plan.kind != "teams":
        raise NotFound(f"no assignment {assignment_id} (it is a {plan.kind} plan)")
    art = state.store.artifact(f"plan:{plan.id}", "teams_assignment.xlsx")
    state.store.audit(user, "teams.export", f"plan:{plan.id}/teams_assignment.xlsx")
    return Response(
        art.data,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{plan.id}_teams_assignment.xlsx"'},
    )


@router.get(
    "/{team}/briefing",
    response_model=BriefingOut,
    responses=responses(401, 403, 404, 422),
    summary="A team's village briefing (its leader, or a planner)",
)
def briefing(team: OwnTeam, state: StateDep) -> BriefingOut:
    """Return the village the team is sent to: its roads, dark roads, hot spots, neighbours."""
    b = ops.briefing(state, team)
    return BriefingOut(
        team=team,
        village_code=str(b.village_code),
        summary=b.summary(),
        map=f"/maps/briefing/{team}",
        geojson=f"/teams/{team}/briefing.geojson",
    )


@router.get(
    "/{team}/briefing.geojson",
    response_class=JSONResponse,
    responses={
        200: {"description": "Every briefing layer.", "content": {"application/geo+json": {}}},
        **responses(401, 403, 404, 422),
    },
    summary="A team's village briefing as GeoJSON (every layer, WGS84)",
)
def briefing_geojson(team: OwnTeam, state: StateDep) -> JSONResponse:
    """One FeatureCollection; each feature's ``layer`` says which part it is."""
    b = ops.briefing(state, team)
    return JSONResponse(b.to_geojson(), media_type="application/geo+json")
