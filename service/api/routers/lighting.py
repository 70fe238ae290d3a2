"""Dark roads and street lamps: ``pingan unlit`` and ``pingan lamps`` over HTTP."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from service.api.deps import StateDep, requires
from service.api.errors import responses
from service.api.ops.analyses import lamps, unlit
from service.api.schemas import Strict
from service.store.base import User

router = APIRouter(tags=["lighting"])

PlannerOrDispatcher = Annotated[User, Depends(requires("planner", "dispatcher"))]


class UnlitIn(Strict):
    """How many of the riskiest dark roads to list."""

    top: int = Field(default=10, ge=1, le=500)


class UnlitOut(BaseModel):
    """Lit, unlit and unknown km by village, township and district; the riskiest dark roads."""

    villages: list[dict[str, Any]] = Field(description="yes_km, no_km, unknown_km, lit_share")
    townships: list[dict[str, Any]]
    districts: list[dict[str, Any]]
    total_km: dict[str, float]
    dark_roads: list[dict[str, Any]] = Field(
        description="rank, name, village_name, score, explanation, where and lat/lon"
    )
    dark_roads_total: int


class LampsIn(Strict):
    """A budget of lamps, their spacing and the placement method (``pingan lamps``)."""

    budget: int = Field(default=30, ge=1, le=500, description="number of lamps")
    spacing_m: float = Field(default=35.0, ge=10, le=500, description="metres between lamps")
    method: Literal["exact", "greedy"] = "exact"


class LampsOut(BaseModel):
    """The lamp plan: its summary, its runs and the lamps as GeoJSON points."""

    summary: dict[str, Any]
    runs: list[dict[str, Any]]
    lamps: dict[str, Any] = Field(description="GeoJSON FeatureCollection of the lamps (WGS84)")


@router.post(
    "/unlit",
    response_model=UnlitOut,
    responses=responses(401, 403, 422),
    summary="Km of lit and unlit road; the riskiest dark roads",
)
def unlit_roads(body: UnlitIn, _: PlannerOrDispatcher, state: StateDep) -> UnlitOut:
    """Report lighting by area and rank dark roads by night risk."""
    return UnlitOut(**unlit(state, top=body.top))


@router.post(
    "/lamps",
    response_model=LampsOut,
    responses=responses(401, 403, 422),
    summary="Place a budget of street lamps",
)
def place(body: LampsIn, _: PlannerOrDispatcher, state: StateDep) -> LampsOut:
    """Place lamps along the riskiest dark roads, where households and night incidents are."""
    return LampsOut(
        **lamps(state, budget=body.budget, spacing_m=body.spacing_m, method=body.method)
    )
