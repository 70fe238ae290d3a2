"""Hot spots of incidents: Gi* cells with FDR and hot road stretches, as ``pingan hotspots``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from geo.hotspots import HotspotParams
from service.api.deps import StateDep, requires
from service.api.errors import responses
from service.api.ops.analyses import HotspotQuery, hotspots, stored_layer
from service.api.schemas import Strict
from service.store.base import User

router = APIRouter(tags=["hotspots"])

PlannerOrDispatcher = Annotated[User, Depends(requires("planner", "dispatcher"))]
_DATE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?$"
Clock = Annotated[float, Field(ge=0, le=24)] | Annotated[str, Field(pattern=r"^\d{1,2}:\d{2}$")]


class HotspotsIn(Strict):
    """Which incidents and how to grid them; every field has ``pingan hotspots``' default."""

    start: str | None = Field(default=None, pattern=_DATE, description="first date, inclusive")
    end: str | None = Field(default=None, pattern=_DATE, description="end date, exclusive")
    hours: list[Clock] | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="hour window, may cross midnight: [19, 6] or ['19:30', '06:00']",
    )
    categories: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, min_length=1, max_length=50
    )
    village: str | None = Field(
        default=None, min_length=1, max_length=50, description="keep one village's ground (code)"
    )
    cell_m: float = Field(default=250.0, ge=50, le=5000, description="Gi* cell size, metres")
    density_cell_m: float | None = Field(default=None, ge=25, le=5000)
    shape: Literal["square", "hex"] = "square"
    bandwidth_m: float | None = Field(
        default=None, ge=10, le=20000, description="KDE bandwidth, metres"
    )
    alpha: float = Field(default=0.05, gt=0, lt=1, description="FDR level")
    min_count: int = Field(default=2, ge=1, le=1000)
    top: int = Field(default=10, ge=1, le=200, description="road stretches to list")
    incidents_layer: str | None = Field(
        default=None, min_length=1, max_length=40, description="an uploaded incidents layer's id"
    )


class HotspotsOut(BaseModel):
    """The selection, the result's metadata, Gi* class counts, top roads and hot/cold cells."""

    n_incidents: int = Field(description="incidents in the layer")
    n_selected: int = Field(description="incidents the filters kept")
    reason: str = Field(description="why nothing was analysed (too few incidents), else empty")
    summary: dict[str, Any] | None = Field(description="HotspotResult.to_dict()")
    classes: list[dict[str, Any]]
    roads: list[dict[str, Any]] = Field(description="rank, name, counts, where (lat, lon)")
    cells: dict[str, Any] | None = Field(description="GeoJSON of the significant cells")


@router.post(
    "/hotspots",
    response_model=HotspotsOut,
    responses=responses(401, 403, 404, 422),
    summary="Find incident hot spots",
)
def find_hotspots(body: HotspotsIn, _: PlannerOrDispatcher, state: StateDep) -> HotspotsOut:
    """Gi* hot and cold cells (FDR) and hot road stretches of the selected incidents."""
    if body.incidents_layer:
        incidents = stored_layer(state, body.incidents_layer, "incidents", "incidents_layer")
    else:
        incidents = state.area.require("incidents")
    params = HotspotParams(
        cell_size=body.cell_m,
        shape=body.shape,
        alpha=body.alpha,
        kde_cell_size=body.density_cell_m or body.cell_m,
        bandwidth=body.bandwidth_m if body.bandwidth_m else "scott",
        min_count=body.min_count,
        keep_quiet=False,
    )
    q = HotspotQuery(
        params=params,
        start=body.start,
        end=body.end,
        hours=(body.hours[0], body.hours[1]) if body.hours else None,
        categories=tuple(body.categories) if body.categories else None,
        village=body.village,
        top=body.top,
    )
    return HotspotsOut(**hotspots(state.area, incidents, q))
