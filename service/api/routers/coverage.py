"""Coverage: travel time from the nearest station to every village; where new posts go."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from geo.coverage import CoverageParams
from geo.network.tags import Mode
from service.api.deps import Planner, StateDep
from service.api.errors import responses
from service.api.ops.analyses import coverage, posts, stored_layer
from service.api.ops.files import frame_records
from service.api.ops.scenarios import with_places
from service.api.schemas import Strict

router = APIRouter(prefix="/coverage", tags=["coverage"])

Minutes = Annotated[float, Field(gt=0, le=600)]


class CoverageIn(Strict):
    """Thresholds in minutes, the travel mode, the demand weight, optionally uploaded stations."""

    thresholds_min: list[Minutes] = Field(
        default=[5.0, 10.0, 15.0, 30.0], min_length=1, max_length=12
    )
    mode: Mode | None = Field(default=None, description="default: the area's primary mode")
    weight: Literal["population", "households"] | None = None
    stations_layer: str | None = Field(
        default=None, min_length=1, max_length=40, description="an uploaded stations layer's id"
    )


class CoverageOut(BaseModel):
    """Per-village travel times and coverage, and one summary row per threshold."""

    mode: str
    weight: str
    thresholds_min: list[float]
    summary: list[dict[str, Any]] = Field(description="villages and weight covered per threshold")
    villages: list[dict[str, Any]] = Field(
        description="code, name, township, lat, lon, facility, minutes, status, covered_<T>"
    )


class PostsIn(Strict):
    """MCLP with ``k`` (K new posts covering the most demand), else LSCP (fewest covering all)."""

    k: int | None = Field(default=None, ge=1, le=200, description="MCLP: new posts to place")
    threshold_min: float = Field(default=15.0, gt=0, le=600)
    candidates: Literal["villages", "junctions"] = "villages"
    method: Literal["auto", "exact", "greedy"] = "auto"


class PostsOut(BaseModel):
    """The proposed posts with where they are and what each adds."""

    problem: Literal["MCLP", "LSCP"]
    summary: dict[str, Any] = Field(description="covered demand, method, optimality, gap")
    posts: list[dict[str, Any]] = Field(description="id, name, lat, lon, road, villages_gained")
    uncoverable: list[str] = Field(description="villages no site reaches in time (LSCP)")
    candidates: int


@router.post(
    "",
    response_model=CoverageOut,
    responses=responses(401, 403, 404, 422),
    summary="Village coverage from the stations",
)
def village_coverage(body: CoverageIn, _: Planner, state: StateDep) -> CoverageOut:
    """Travel time from the nearest station to each village, covered at each threshold."""
    if body.stations_layer:
        stations = stored_layer(state, body.stations_layer, "stations", "stations_layer")
    else:
        stations = state.area.require("stations")
    params = CoverageParams(thresholds_min=tuple(body.thresholds_min), weight=body.weight)
    res = coverage(state.area, stations, mode=body.mode or state.area.mode, params=params)
    return CoverageOut(
        mode=res.mode,
        weight=res.weight_name,
        thresholds_min=list(res.thresholds_min),
        summary=frame_records(res.summary),
        villages=frame_records(with_places(state, res.villages)),
    )


@router.post(
    "/posts",
    response_model=PostsOut,
    responses=responses(401, 403, 422),
    summary="Propose new posts (MCLP or LSCP)",
)
def new_posts(body: PostsIn, _: Planner, state: StateDep) -> PostsOut:
    """Place ``k`` new posts, or the fewest that cover every coverable village."""
    out = posts(
        state.area,
        k=body.k,
        threshold_min=body.threshold_min,
        candidates=body.candidates,
        method=body.method,
    )
    return PostsOut(**out)
