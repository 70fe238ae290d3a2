"""Response and request schemas shared by several routers.

Request models are strict (``{"lon": false}`` or ``{"k": "3"}`` is refused, not
coerced) and forbid unknown fields, so a typo is an error rather than a silent default.
A router's own schemas live beside it; these are the common ones.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.store.base import JobRecord, User

__all__ = ["JobOut", "Strict", "UserOut", "job_out", "user_out"]


class Strict(BaseModel):
    """Base of every request body: no coercion, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


class UserOut(BaseModel):
    """A user as clients see them (never a password or token)."""

    id: str
    name: str
    role: str
    team: str | None
    created: str


def user_out(u: User) -> UserOut:
    """Return the schema of a user."""
    return UserOut(id=u.id, name=u.name, role=u.role, team=u.team, created=u.created)


class JobOut(BaseModel):
    """A background job as a client polls it (``GET /jobs/{id}``)."""

    id: str
    kind: str
    status: str = Field(description="queued, running, done, failed or cancelled")
    progress: float = Field(description="percent done, 0-100")
    message: str
    result: dict[str, Any] | None
    error: str | None
    created: str
    started: str | None
    finished: str | None
    href: str = Field(description="where to poll it")


def job_out(j: JobRecord) -> JobOut:
    """Return the schema of a job."""
    return JobOut(
        id=j.id,
        kind=j.kind,
        status=j.status,
        progress=j.progress,
        message=j.message,
        result=dict(j.result) if j.result is not None else None,
        error=j.error,
        created=j.created,
        started=j.started,
        finished=j.finished,
        href=f"/jobs/{j.id}",
    )
