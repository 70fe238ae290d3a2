"""Dispatchers' patrol plans: plan a shift in the background, read it, export its files.

The planning and the files are :func:`service.api.ops.patrol.plan_patrol`'s (the same
as ``pingan patrol``'s); a plan's GPX, GeoJSON and shift sheets are served as stored.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from service.api.deps import Dispatcher, JobsDep, StateDep
from service.api.errors import ApiError, responses
from service.api.jobs import JobContext
from service.api.ops.patrol import (
    DETAIL,
    PatrolRequest,
    check_request,
    plan_patrol,
    variant_files,
)
from service.api.schemas import JobOut, job_out
from service.store.base import NotFound, PlanRecord, Store

router = APIRouter(prefix="/patrol", tags=["patrol"])

PlanId = Annotated[str, Path(min_length=1, max_length=40, description="a patrol plan's id")]
#: What each export format serves of variant K.
FORMATS: dict[str, tuple[str, str]] = {
    "gpx": ("application/gpx+xml", "gpx"),
    "geojson": ("application/geo+json", "geojson"),
    "csv": ("text/csv; charset=utf-8", "csv"),
}


class PlanHead(BaseModel):
    """A stored patrol plan's headline figures."""

    id: str
    created: str
    created_by: str
    job_id: str | None
    summary: dict[str, Any] = Field(
        description="shift, date, mode, units, stops, hotspots, km, longest_min, prize, ..."
    )
    files: list[str]
    href: str


class UnitOut(BaseModel):
    """One unit's route: when it leaves and is back, how far, how many stops."""

    model_config = ConfigDict(extra="allow")

    unit: str
    station: str
    leave: str
    back: str
    minutes: float
    km: float
    stops: int


class StopOut(BaseModel):
    """One stop of a unit's route, in order (the station first and last)."""

    model_config = ConfigDict(extra="allow")

    unit: str
    seq: int
    target: str
    kind: str = Field(description="station, hotspot, road or village")
    name: str | None
    arrive: str
    depart: str
    lon: float
    lat: float


class PlanOut(PlanHead):
    """A patrol plan: its figures, its units and every stop of the best plan."""

    units: list[UnitOut]
    stops: list[StopOut]
    left_out: list[dict[str, Any]]


class VariantOut(BaseModel):
    """One of the plan's diverse variants (1 is the best) and its files."""

    variant: int
    summary: dict[str, Any]
    gpx: str
    csv: str


class VariantsOut(BaseModel):
    """The variants of a plan and how much they overlap."""

    plan: str
    variants: list[VariantOut]
    table: list[dict[str, Any]] = Field(description="share of the best prize, Jaccard distances")


def _plan(store: Store, plan_id: str) -> PlanRecord:
    plan = store.get_plan(plan_id)
    if plan.kind != "patrol":
        msg = f"no patrol plan {plan_id} (it is a {plan.kind} plan)"
        raise NotFound(msg)
    return plan


def _head(plan: PlanRecord) -> PlanHead:
    return PlanHead(
        id=plan.id,
        created=plan.created,
        created_by=plan.created_by,
        job_id=plan.job_id,
        summary=dict(plan.summary),
        files=list(plan.artifacts),
        href=f"/patrol/plans/{plan.id}",
    )


def _detail(store: Store, plan: PlanRecord) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(store.artifact(f"plan:{plan.id}", DETAIL).data)
    return data


@router.post(
    "/plans",
    status_code=202,
    response_model=JobOut,
    responses=responses(401, 403, 422),
    summary="Plan a shift's patrols (a background job)",
)
def create_plan(
    body: PatrolRequest,
    user: Dispatcher,
    state: StateDep,
    jobs: JobsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobOut:
    """Start planning; poll the job, whose result names the plan (``plan_id``).

    The same Idempotency-Key header again returns the first job and plans nothing.
    """
    check_request(state, body)

    def run(ctx: JobContext) -> dict[str, Any]:
        plan = plan_patrol(state, ctx.user, body, ctx)
        return {"plan_id": plan.id, "href": f"/patrol/plans/{plan.id}", **plan.summary}

    job, _ = jobs.submit(
        "patrol.plan", body.model_dump(), run, user=user, idempotency_key=idempotency_key
    )
    return job_out(job)


@router.get(
    "/plans",
    response_model=list[PlanHead],
    responses=responses(401, 403),
    summary="List the patrol plans, newest first",
)
def list_plans(user: Dispatcher, state: StateDep) -> list[PlanHead]:
    """Every stored patrol plan's headline figures."""
    return [_head(p) for p in state.store.list_plans("patrol")]


@router.get(
    "/plans/{plan_id}",
    response_model=PlanOut,
    responses=responses(401, 403, 404, 422),
    summary="One patrol plan: figures, units and stops",
)
def get_plan(plan_id: PlanId, user: Dispatcher, state: StateDep) -> PlanOut:
    """Return the best plan's units and stops in route order."""
    plan = _plan(state.store, plan_id)
    d = _detail(state.store, plan)
    return PlanOut(
        **_head(plan).model_dump(),
        units=[UnitOut(**u) for u in d["units"]],
        stops=[StopOut(**s) for s in d["stops"]],
        left_out=d["left_out"],
    )


@router.get(
    "/plans/{plan_id}/variants",
    response_model=VariantsOut,
    responses=responses(401, 403, 404, 422),
    summary="The diverse variants of a patrol plan",
)
def get_variants(plan_id: PlanId, user: Dispatcher, state: StateDep) -> VariantsOut:
    """Return each variant's figures and where its GPX and shift sheet are."""
    plan = _plan(state.store, plan_id)
    d = _detail(state.store, plan)
    base = f"/patrol/plans/{plan.id}/export"
    return VariantsOut(
        plan=plan.id,
        variants=[
            VariantOut(
                variant=int(v["variant"]),
                summary=v,
                gpx=f"{base}/gpx?variant={v['variant']}",
                csv=f"{base}/csv?variant={v['variant']}",
            )
            for v in d["variant_plans"]
        ],
        table=d["variants"],
    )


@router.get(
    "/plans/{plan_id}/export/{fmt}",
    response_class=Response,
    responses={
        200: {
            "description": "The file, as an attachment.",
            "content": {media: {} for media, _ in FORMATS.values()},
        },
        **responses(401, 403, 404, 422),
    },
    summary="Download a plan's GPX, GeoJSON routes or shift sheet (CSV)",
)
def export(
    plan_id: PlanId,
    fmt: Annotated[Literal["gpx", "geojson", "csv"], Path(description="gpx, geojson or csv")],
    user: Dispatcher,
    state: StateDep,
    variant: Annotated[int, Query(ge=1, le=5, description="1: the best plan")] = 1,
) -> Response:
    """Serve the stored file; each download is in the audit log."""
    plan = _plan(state.store, plan_id)
    n = int(plan.summary.get("variants", 1))
    if variant > n:
        raise ApiError(404, f"plan {plan.id} has {n} variant(s), not {variant}")
    gpx, csv = variant_files(variant)
    if fmt == "geojson":
        if variant != 1:
            msg = "GeoJSON routes are stored for the best plan only; ask variant 1 or gpx/csv"
            raise ApiError(404, msg)
        name = "patrol_routes.geojson"
    else:
        name = gpx if fmt == "gpx" else csv
    art = state.store.artifact(f"plan:{plan.id}", name)
    download = f"{plan.id}_{name}"
    state.store.audit(user, "plan.export", f"plan:{plan.id}/{name}", {"format": fmt})
    return Response(
        content=art.data,
        media_type=FORMATS[fmt][0],
        headers={"Content-Disposition": f'attachment; filename="{download}"'},
    )
