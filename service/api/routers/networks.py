"""Road networks: admins upload an OSM file; a background job builds its network."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, UploadFile
from pydantic import BaseModel, Field

from geo.network.tags import Mode
from service.api.deps import Admin, JobsDep, SignedIn, StateDep, StoreDep
from service.api.errors import ApiError, FieldProblem, responses
from service.api.ops.networks import KIND, build_job
from service.api.schemas import JobOut, job_out
from service.api.uploads import safe_name, save_upload
from service.store.base import JobRecord

router = APIRouter(prefix="/networks", tags=["networks"])


class NetworkOut(BaseModel):
    """A network build: its job's state and, once done, the network's summary."""

    id: str = Field(description="the build's job id")
    file: str
    mode: str
    status: str
    progress: float
    message: str
    summary: dict[str, Any] | None = Field(
        description="nodes, edges, road_km, lit_km, highway_km, dropped, extent (lon/lat)"
    )
    error: str | None
    created: str
    finished: str | None
    job: str = Field(description="where to poll or cancel it")


def network_out(j: JobRecord) -> NetworkOut:
    """Return the schema of a network build job."""
    return NetworkOut(
        id=j.id,
        file=str(j.params.get("file", "")),
        mode=str(j.params.get("mode", "")),
        status=j.status,
        progress=j.progress,
        message=j.message,
        summary=dict(j.result) if j.result is not None else None,
        error=j.error,
        created=j.created,
        finished=j.finished,
        job=f"/jobs/{j.id}",
    )


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        values = tuple(float(p) for p in text.split(","))
    except ValueError:
        values = ()
    w, s, e, n = values if len(values) == 4 else (0.0, 0.0, 0.0, 0.0)
    if len(values) != 4 or not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        msg = (
            "bbox must be WEST,SOUTH,EAST,NORTH in degrees, west < east and south < north; "
            f"got {text!r}"
        )
        raise ApiError(422, msg, errors=[FieldProblem(loc=["body", "bbox"], msg=msg)])
    return w, s, e, n


@router.post(
    "",
    status_code=202,
    response_model=JobOut,
    responses=responses(400, 401, 403, 413, 422),
    summary="Upload an OSM file and build its road network",
)
def build(
    user: Admin,
    state: StateDep,
    jobs: JobsDep,
    file: Annotated[UploadFile, File(description=".osm, .osm.pbf, .osm.bz2 or .osm.gz")],
    mode: Annotated[Mode, Form()] = "car",
    bbox: Annotated[
        str | None, Form(max_length=200, description="clip: WEST,SOUTH,EAST,NORTH (degrees)")
    ] = None,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> JobOut:
    """Queue the build; poll ``GET /networks/{id}`` or ``/jobs/{id}``. A repeated key runs once."""
    clip = _bbox(bbox)
    shown = safe_name(file.filename, "roads.osm")
    path, ftype = save_upload(file.file, state.config.data_dir / "uploads", shown)
    params = {"file": shown, "format": ftype, "mode": mode, "bbox": list(clip) if clip else None}
    fn = build_job(path, shown, mode=mode, bbox=clip, cache_dir=state.config.network_cache)
    job, created = jobs.submit(KIND, params, fn, user=user, idempotency_key=idempotency_key)
    if created:
        state.store.audit(user, "network.build", f"job:{job.id}", {"file": shown, "mode": mode})
    else:  # the first request's job: the copy sent again is not kept
        path.unlink(missing_ok=True)
    return job_out(job)


@router.get(
    "",
    response_model=list[NetworkOut],
    responses=responses(401, 403),
    summary="List the network builds",
)
def list_networks(_: SignedIn, store: StoreDep) -> list[NetworkOut]:
    """Return every network build, newest first, with its status."""
    return [network_out(j) for j in store.list_jobs() if j.kind == KIND]


@router.get(
    "/{network_id}",
    response_model=NetworkOut,
    responses=responses(401, 403, 404, 422),
    summary="A network build and its summary",
)
def get_network(network_id: str, _: SignedIn, store: StoreDep) -> NetworkOut:
    """Return one network build."""
    job = store.get_job(network_id)
    if job.kind != KIND:
        raise ApiError(404, f"job {network_id} is no network build")
    return network_out(job)
