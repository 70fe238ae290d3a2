"""Admins: the users who sign in, and the audit log of who changed or exported what."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from service.api.deps import Admin, AreaDep, StoreDep
from service.api.errors import ApiError, FieldProblem, responses
from service.api.schemas import Strict, UserOut, user_out
from service.store.base import AuditEntry, Role

router = APIRouter(tags=["users"])


class UserIn(Strict):
    """A new user; a team leader names their vanguard team (an id of the area's teams)."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")
    role: Role
    password: str = Field(min_length=8, max_length=200)
    team: str | None = Field(default=None, min_length=1, max_length=100)


class AuditOut(BaseModel):
    """One line of the audit log."""

    id: int
    at: str
    user_id: str | None
    user_name: str | None
    action: str
    target: str
    detail: dict[str, Any]


def audit_out(e: AuditEntry) -> AuditOut:
    """Return the schema of an audit entry."""
    return AuditOut(
        id=e.id,
        at=e.at,
        user_id=e.user_id,
        user_name=e.user_name,
        action=e.action,
        target=e.target,
        detail=dict(e.detail),
    )


def _team_problem(msg: str) -> ApiError:
    return ApiError(422, msg, errors=[FieldProblem(loc=["body", "team"], msg=msg)])


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    responses=responses(401, 403, 409, 422),
    summary="Create a user",
)
def create_user(body: UserIn, user: Admin, store: StoreDep, area: AreaDep) -> UserOut:
    """Add a user; a team leader's ``team`` must be one of the area's teams (422 otherwise)."""
    if body.role == "team_leader":
        teams = area.teams
        known = set() if teams is None else set(teams["id"].astype(str))
        if body.team is None:
            raise _team_problem(
                "a team leader needs a team: give the id of one of the area's teams"
            )
        if body.team not in known:
            shown = ", ".join(sorted(known)[:10]) or "none"
            raise _team_problem(f"team {body.team!r} is not one of the area's teams ({shown})")
    elif body.team is not None:
        raise _team_problem(f"only a team leader has a team, not a {body.role}")
    made = store.create_user(body.name, body.role, body.password, team=body.team)
    store.audit(user, "user.create", f"user:{made.id}", {"name": made.name, "role": made.role})
    return user_out(made)


@router.get(
    "/users", response_model=list[UserOut], responses=responses(401, 403), summary="List users"
)
def list_users(_: Admin, store: StoreDep) -> list[UserOut]:
    """Return every user, oldest first."""
    return [user_out(u) for u in store.list_users()]


@router.delete(
    "/users/{user_id}",
    status_code=204,
    responses=responses(401, 403, 404, 409, 422),
    summary="Delete a user",
)
def delete_user(user_id: str, user: Admin, store: StoreDep) -> None:
    """Delete a user and revoke their tokens; an admin cannot delete themself (409)."""
    gone = store.get_user(user_id)
    if gone.id == user.id:
        raise ApiError(409, "you cannot delete yourself: ask another admin")
    store.delete_user(user_id)
    store.audit(user, "user.delete", f"user:{user_id}", {"name": gone.name})


@router.get(
    "/audit",
    response_model=list[AuditOut],
    responses=responses(401, 403, 422),
    summary="The audit log, newest first",
)
def audit_log(
    _: Admin,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    """Return who changed or exported what, and when."""
    return [audit_out(e) for e in store.audit_log(limit=limit)]
