"""Planners' scenarios: create, list, edit (optimistic versions), delete, evaluate, compare.

A scenario is the service's area plus edits (:mod:`geo.scenarios`); the work is in
:mod:`service.api.ops.scenarios`, here are the request checks and the answers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path
from pydantic import BaseModel, Field

from geo.errors import ScenarioError
from geo.scenarios import Comparison, ScenarioResult
from service.api.deps import JobsDep, Planner, StateDep
from service.api.errors import ApiError, FieldProblem, responses
from service.api.jobs import JobContext
from service.api.ops import scenarios as ops
from service.api.schemas import JobOut, Strict, job_out
from service.store.base import ScenarioRecord

router = APIRouter(prefix="/scenarios", tags=["scenarios"])

ScenarioId = Annotated[str, Path(min_length=1, max_length=40, description="a scenario's id")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Edits = Annotated[
    list[dict[str, Any]],
    Field(
        max_length=500,
        description="edits as geo.scenarios reads them: {'op': 'add_station', 'id': ..., "
        "'lon': ..., 'lat': ...}, close_road, set_speed, mark_lit, move_team ...",
    ),
]
Thresholds = Annotated[list[float], Field(min_length=1, max_length=12)]


class ScenarioIn(Strict):
    """A new scenario (its base is always the service's area)."""

    name: Name
    description: Annotated[str, Field(max_length=2000)] = ""
    edits: Edits = Field(default_factory=list)
    thresholds_min: Thresholds | None = None


class ScenarioReplace(ScenarioIn):
    """The whole scenario again, naming the version it replaces."""

    version: int = Field(ge=1, description="the version this edit was made on")


class ScenarioPatch(Strict):
    """The fields to change, naming the version they were changed on."""

    version: int = Field(ge=1, description="the version this edit was made on")
    name: Name | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    edits: Edits | None = None
    thresholds_min: Thresholds | None = None


class ScenarioOut(BaseModel):
    """A stored scenario."""

    id: str
    name: str
    description: str
    edits: list[dict[str, Any]]
    thresholds_min: list[float] | None
    version: int
    created: str
    updated: str
    created_by: str


class CoverageRow(BaseModel):
    """Coverage within one threshold."""

    threshold_min: float
    figures: dict[str, float] = Field(description="villages and weight covered, and shares")


class VillageCoverage(BaseModel):
    """One village's nearest facility and travel time in a scenario."""

    code: str
    name: str
    township: str
    lat: float | None
    lon: float | None
    facility: str | None
    facility_name: str | None
    minutes: float | None
    status: str
    covered: dict[str, bool] = Field(description="per threshold (minutes): covered or not")


class EvaluationOut(BaseModel):
    """A scenario evaluated on the area: coverage by stations and posts, lit roads."""

    scenario: str
    name: str
    n_stations: int
    n_teams: int
    lit_km: dict[str, float]
    closed_km: float
    summary: list[CoverageRow]
    villages: list[VillageCoverage]


class CompareIn(Strict):
    """Two scenarios (ids, or "base" for the area as it is) and the facilities compared."""

    a: Annotated[str, Field(min_length=1, max_length=40)]
    b: Annotated[str, Field(min_length=1, max_length=40)]
    by: Literal["stations", "teams"] = "stations"


class ThresholdChange(BaseModel):
    """Villages and weight gained and lost within one threshold (B against A)."""

    threshold_min: float
    covered_a: int
    covered_b: int
    gained: int
    lost: int
    weight_gained: float
    weight_lost: float
    weight_share_a: float
    weight_share_b: float


class VillageChange(BaseModel):
    """One village in both scenarios, and where it is."""

    code: str
    name: str
    township: str
    lat: float | None
    lon: float | None
    weight: float
    facility_a: str | None
    facility_b: str | None
    minutes_a: float | None
    minutes_b: float | None
    delta_min: float | None
    change: dict[str, Literal["gained", "lost", "same"]] = Field(
        description="per threshold (minutes)"
    )


class ComparisonOut(BaseModel):
    """Scenario B compared with A, village by village."""

    a: str
    b: str
    by: str
    summary: list[ThresholdChange]
    lit_km: dict[str, dict[str, float]] = Field(description="per lighting class: a, b, delta")
    villages: list[VillageChange]


class BatchIn(Strict):
    """Scenarios to evaluate in the background."""

    scenarios: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=40)]], Field(min_length=1, max_length=50)
    ]


# --------------------------------------------------------------------------- helpers


def _num(x: Any) -> float | None:
    if x is None:
        return None
    f = float(x)
    return None if math.isnan(f) else f


def _text(x: Any) -> str | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else str(x)


def _out(r: ScenarioRecord) -> ScenarioOut:
    d = r.data
    th = d.get("thresholds_min")
    return ScenarioOut(
        id=r.id,
        name=r.name,
        description=str(d.get("description", "")),
        edits=[dict(e) for e in d.get("edits", [])],
        thresholds_min=[float(t) for t in th] if th is not None else None,
        version=r.version,
        created=r.created,
        updated=r.updated,
        created_by=r.created_by,
    )


def _data(name: str, description: str, edits: list[Any], th: list[float] | None) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "description": description, "edits": edits}
    if th is not None:
        data["thresholds_min"] = th
    return data


def _checked(state: StateDep, data: Mapping[str, Any]) -> None:
    """Answer 422 naming the edit and field that geo.scenarios refuses."""
    try:
        ops.check_data(state, data)
    except ScenarioError as exc:
        raise ApiError(
            422,
            f"the scenario is not valid: {exc}",
            errors=[FieldProblem(loc=["body"], msg=str(exc))],
        ) from exc


def _evaluation(state: StateDep, sid: str, res: ScenarioResult) -> EvaluationOut:
    cov = res.stations
    summary = [
        CoverageRow(
            threshold_min=float(row["threshold_min"]),
            figures={str(k): float(v) for k, v in row.items() if k != "threshold_min"},
        )
        for row in cov.summary.to_dict("records")
    ]
    cols = {t: f"covered_{t:g}" for t in cov.thresholds_min}
    v = ops.with_places(state, cov.villages)
    villages = [
        VillageCoverage(
            code=str(r["code"]),
            name=str(r["name"]),
            township=str(r["township"]) if _text(r["township"]) else "",
            lat=_num(r["lat"]),
            lon=_num(r["lon"]),
            facility=_text(r["facility"]),
            facility_name=_text(r.get("facility_name")),
            minutes=_num(r["minutes"]),
            status=str(r["status"]),
            covered={f"{t:g}": bool(r[c]) for t, c in cols.items() if c in r},
        )
        for r in v.to_dict("records")
    ]
    return EvaluationOut(
        scenario=sid,
        name=res.name,
        n_stations=res.n_stations,
        n_teams=res.n_teams,
        lit_km={k: float(x) for k, x in res.lit_km.items()},
        closed_km=res.closed_km,
        summary=summary,
        villages=villages,
    )


def comparison_out(state: StateDep, cmp: Comparison, a: str, b: str, by: str) -> ComparisonOut:
    """Return the schema of a comparison (also used by the pages)."""
    table = ops.compare_table(state, cmp)
    changes = [c for c in table.columns if c.startswith("change_")]
    villages = [
        VillageChange(
            code=str(r["code"]),
            name=str(r["name"]),
            township=str(r["township"]) if _text(r["township"]) else "",
            lat=_num(r["lat"]),
            lon=_num(r["lon"]),
            weight=float(r["weight"]),
            facility_a=_text(r["facility_a"]),
            facility_b=_text(r["facility_b"]),
            minutes_a=_num(r["minutes_a"]),
            minutes_b=_num(r["minutes_b"]),
            delta_min=_num(r["delta_min"]),
            change={c.removeprefix("change_"): r[c] for c in changes},
        )
        for r in table.to_dict("records")
    ]
    lit = {
        str(k): {str(c): float(x) for c, x in row.items()}
        for k, row in cmp.lit_km.to_dict("index").items()
    }
    return ComparisonOut(
        a=a,
        b=b,
        by=by,
        summary=[
            ThresholdChange(**{str(k): v for k, v in r.items()})
            for r in cmp.summary.to_dict("records")
        ],
        lit_km=lit,
        villages=villages,
    )


# --------------------------------------------------------------------------- routes


@router.post(
    "",
    status_code=201,
    response_model=ScenarioOut,
    responses=responses(401, 403, 409, 422),
    summary="Create a scenario (the area plus edits)",
)
def create(body: ScenarioIn, user: Planner, state: StateDep) -> ScenarioOut:
    """Check the edits on the area (422 names the edit and field), then store it."""
    data = _data(body.name, body.description, body.edits, body.thresholds_min)
    _checked(state, data)
    rec = state.store.put_scenario(body.name, data, user_id=user.id)
    state.store.audit(user, "scenario.create", f"scenario:{rec.id}", {"name": rec.name})
    return _out(rec)


@router.get(
    "",
    response_model=list[ScenarioOut],
    responses=responses(401, 403),
    summary="List the scenarios",
)
def list_all(user: Planner, state: StateDep) -> list[ScenarioOut]:
    """Every stored scenario, oldest first."""
    return [_out(r) for r in state.store.list_scenarios()]


@router.get(
    "/{scenario_id}",
    response_model=ScenarioOut,
    responses=responses(401, 403, 404, 422),
    summary="One scenario",
)
def get_one(scenario_id: ScenarioId, user: Planner, state: StateDep) -> ScenarioOut:
    """Return the scenario with its edits and version."""
    return _out(state.store.get_scenario(scenario_id))


def _update(
    state: StateDep, user: Planner, scenario_id: str, data: dict[str, Any], version: int
) -> ScenarioOut:
    old = state.store.get_scenario(scenario_id)
    if version != old.version:
        raise ApiError(
            409,
            f"scenario {scenario_id} is at version {old.version}, not {version}: someone "
            "edited it since you read it; read it again and redo the edit",
        )
    _checked(state, data)
    rec = state.store.update_scenario(scenario_id, data, version=version, name=data["name"])
    state.store.audit(
        user, "scenario.edit", f"scenario:{rec.id}", {"version": rec.version, "name": rec.name}
    )
    return _out(rec)


@router.put(
    "/{scenario_id}",
    response_model=ScenarioOut,
    responses=responses(401, 403, 404, 409, 422),
    summary="Replace a scenario (stale version: 409)",
)
def replace_one(
    scenario_id: ScenarioId, body: ScenarioReplace, user: Planner, state: StateDep
) -> ScenarioOut:
    """Replace name, description, edits and thresholds of the version named."""
    data = _data(body.name, body.description, body.edits, body.thresholds_min)
    return _update(state, user, scenario_id, data, body.version)


@router.patch(
    "/{scenario_id}",
    response_model=ScenarioOut,
    responses=responses(401, 403, 404, 409, 422),
    summary="Change some fields of a scenario (stale version: 409)",
)
def patch_one(
    scenario_id: ScenarioId, body: ScenarioPatch, user: Planner, state: StateDep
) -> ScenarioOut:
    """Change the fields given; the others stay."""
    old = _out(state.store.get_scenario(scenario_id))
    data = _data(
        body.name if body.name is not None else old.name,
        body.description if body.description is not None else old.description,
        body.edits if body.edits is not None else old.edits,
        body.thresholds_min if body.thresholds_min is not None else old.thresholds_min,
    )
    return _update(state, user, scenario_id, data, body.version)


@router.delete(
    "/{scenario_id}",
    status_code=204,
    responses=responses(401, 403, 404, 422),
    summary="Delete a scenario",
)
def delete_one(scenario_id: ScenarioId, user: Planner, state: StateDep) -> None:
    """Delete it (its evaluations are not kept)."""
    state.store.delete_scenario(scenario_id)
    state.forget(f"ops.scenario:{scenario_id}:")
    state.store.audit(user, "scenario.delete", f"scenario:{scenario_id}")


@router.post(
    "/compare",
    response_model=ComparisonOut,
    responses=responses(401, 403, 404, 422),
    summary="Compare two scenarios village by village",
)
def compare(body: CompareIn, user: Planner, state: StateDep) -> ComparisonOut:
    """B against A: per threshold, villages gained and lost; per village, where it is."""
    cmp = ops.compare_records(state, body.a, body.b, body.by)
    return comparison_out(state, cmp, body.a, body.b, body.by)


@router.post(
    "/batch",
    status_code=202,
    response_model=JobOut,
    responses=responses(401, 403, 404, 422),
    summary="Evaluate several scenarios in the background",
)
def batch(
    body: BatchIn,
    user: Planner,
    state: StateDep,
    jobs: JobsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobOut:
    """Start a job evaluating each scenario; its result has every scenario's coverage summary.

    The same Idempotency-Key header again returns the first job and runs nothing.
    """
    recs = [None if s == ops.BASE else state.store.get_scenario(s) for s in body.scenarios]

    def run(ctx: JobContext) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, rec in enumerate(recs):
            sid = ops.BASE if rec is None else rec.id
            ctx.progress(100 * i / len(recs), f"evaluating {sid}")
            out[sid] = _evaluation(state, sid, ops.evaluate_scenario(state, rec)).model_dump(
                exclude={"villages"}
            )
        return {"scenarios": out}

    job, _ = jobs.submit(
        "scenario.batch",
        {"scenarios": body.scenarios},
        run,
        user=user,
        idempotency_key=idempotency_key,
    )
    return job_out(job)


@router.post(
    "/{scenario_id}/evaluate",
    response_model=EvaluationOut,
    responses=responses(401, 403, 404, 422),
    summary="Evaluate a scenario: coverage summary and per-village table",
)
def evaluate(scenario_id: ScenarioId, user: Planner, state: StateDep) -> EvaluationOut:
    """Coverage by stations and posts after the edits; "base" evaluates the area as it is."""
    rec = None if scenario_id == ops.BASE else state.store.get_scenario(scenario_id)
    return _evaluation(state, scenario_id, ops.evaluate_scenario(state, rec))
