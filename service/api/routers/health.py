"""Health: is the service up, on which area, with which store."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from service.api.deps import StateDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The service's state."""

    status: str
    area: str
    modes: list[str]
    villages: int
    store: str


@router.get("/health", response_model=Health, summary="Is the service up")
def health(state: StateDep) -> Health:
    """Answer without signing in: for load balancers and ``make serve``'s users."""
    a = state.area
    return Health(
        status="ok",
        area=a.name,
        modes=list(a.modes),
        villages=0 if a.villages is None else len(a.villages),
        store=state.store.url,
    )
