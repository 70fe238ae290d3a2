"""Background jobs: a user's own jobs (an admin's: everyone's), their progress, cancel."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import JobsDep, SignedIn, StoreDep
from service.api.errors import ApiError, responses
from service.api.schemas import JobOut, job_out
from service.store.base import JobRecord, Store, User

router = APIRouter(prefix="/jobs", tags=["jobs"])


def own_job(store: Store, job_id: str, user: User) -> JobRecord:
    """Return the job when ``user`` submitted it or is an admin; 404 / 403 otherwise."""
    job = store.get_job(job_id)
    if user.role != "admin" and job.created_by != user.id:
        raise ApiError(403, f"job {job_id} was submitted by another user")
    return job


@router.get("", response_model=list[JobOut], responses=responses(401, 403), summary="List jobs")
def list_jobs(user: SignedIn, store: StoreDep) -> list[JobOut]:
    """Return your jobs, newest first (an admin sees everyone's)."""
    who = None if user.role == "admin" else user.id
    return [job_out(j) for j in store.list_jobs(user_id=who)]


@router.get(
    "/{job_id}",
    response_model=JobOut,
    responses=responses(401, 403, 404, 422),
    summary="A job's status, progress and result",
)
def get_job(job_id: str, user: SignedIn, store: StoreDep) -> JobOut:
    """Poll a job until its status is done, failed or cancelled."""
    return job_out(own_job(store, job_id, user))


@router.post(
    "/{job_id}/cancel",
    response_model=JobOut,
    responses=responses(401, 403, 404, 422),
    summary="Cancel a job",
)
def cancel_job(job_id: str, user: SignedIn, store: StoreDep, jobs: JobsDep) -> JobOut:
    """Ask a job to stop: a queued one is cancelled at once, a running one at its next step."""
    own_job(store, job_id, user)
    job = jobs.cancel(job_id)
    store.audit(user, "job.cancel", f"job:{job_id}", {"status": job.status})
    return job_out(job)
