"""Background jobs: network builds, scenario batches, large patrol plans.

A job is a function of a :class:`JobContext` returning its JSON result. It runs on the
runner's thread pool; its row in the store carries status, percent and message, so a
client polls ``GET /jobs/{id}`` and a restarted service still answers for it: jobs it
did not finish are reported failed (:meth:`Store.fail_interrupted`), never lost.
Cancelling is cooperative: the context raises :class:`JobCancelled` at the next
progress call, which the engine makes at every step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from geo.errors import PinganError
from service.store.base import FINISHED, JobRecord, Store, User

__all__ = ["JobCancelled", "JobContext", "JobFn", "JobRunner", "now"]

log = logging.getLogger("pingan.jobs")


def now() -> str:
    """Return the time as stored: ISO 8601 in UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class JobCancelled(Exception):
    """Raised inside a job once its cancel was asked for."""


class JobContext:
    """What a running job sees: its id, the store, progress and cancel."""

    #: Progress rows are written at most this often (a solver reports many times a second).
    EVERY_S = 0.5

    def __init__(self, job: JobRecord, store: Store, cancel: threading.Event, user: User) -> None:
        self.job = job
        self.store = store
        self.user = user
        self._cancel = cancel
        self._last = 0.0
        self._percent = 0.0

    @property
    def owner(self) -> str:
        """The owner name of this job's stored files."""
        return f"job:{self.job.id}"

    def check(self) -> None:
        """Raise :class:`JobCancelled` if the job was cancelled."""
        if self._cancel.is_set():
            raise JobCancelled

    def progress(self, percent: float, message: str = "") -> None:
        """Report ``percent`` (0-100, never going back) and what is being done."""
        self.check()
        self._percent = max(self._percent, min(100.0, float(percent)))
        t = time.monotonic()
        if t - self._last >= self.EVERY_S or self._percent >= 100:
            self._last = t
            changes: dict[str, Any] = {"progress": round(self._percent, 1)}
            if message:
                changes["message"] = message
            self.store.update_job(self.job.id, **changes)

    def stage(self, lo: float, hi: float) -> Callable[[str], None]:
        """Return a progress function for the engine (messages) over ``lo``-``hi`` percent.

        Each message moves the bar a third of the way left to ``hi``: the engine's steps
        are not equal, but the bar never stalls or passes the stage's end.
        """
        state = {"p": float(lo)}
        self.progress(lo)

        def say(message: str) -> None:
            state["p"] += (hi - state["p"]) / 3
            self.progress(state["p"], message)

        return say


JobFn = Callable[[JobContext], Mapping[str, Any]]


class JobRunner:
    """Runs jobs on a thread pool and keeps their rows in the store up to date."""

    def __init__(self, store: Store, *, workers: int = 1) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="job")
        self._cancel: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._stopping = False

    def submit(
        self,
        kind: str,
        params: Mapping[str, Any],
        fn: JobFn,
        *,
        user: User,
        idempotency_key: str | None = None,
    ) -> tuple[JobRecord, bool]:
        """Queue ``fn``; return the job and whether it is new.

        With an ``idempotency_key`` this user already sent for this kind, the job of the
        first request is returned and nothing runs again.
        """
        job, created = self.store.create_job(
            kind, params, user_id=user.id, idempotency_key=idempotency_key
        )
        if created:
            event = threading.Event()
            with self._lock:
                self._cancel[job.id] = event
            self._pool.submit(self._run, job, fn, event, user)
        return job, created

    def cancel(self, job_id: str) -> JobRecord:
        """Ask a job to stop; a queued one is cancelled at once, a finished one is left."""
        job = self.store.get_job(job_id)
        if job.status in FINISHED:
            return job
        with self._lock:
            event = self._cancel.get(job_id)
        if event is not None:
            event.set()
        if job.status == "queued" or event is None:
            return self.store.update_job(
                job_id, status="cancelled", finished=now(), message="cancelled"
            )
        return self.store.update_job(job_id, cancel_requested=True, message="cancelling")

    def _run(self, job: JobRecord, fn: JobFn, cancel: threading.Event, user: User) -> None:
        try:
            if cancel.is_set() or self.store.get_job(job.id).status != "queued":
                return
            self.store.update_job(job.id, status="running", started=now(), message="started")
            ctx = JobContext(job, self.store, cancel, user)
            result = fn(ctx)
            ctx.check()
            self.store.update_job(
                job.id,
                status="done",
                progress=100.0,
                result=dict(result),
                finished=now(),
                message="done",
            )
        except JobCancelled:
            if self._stopping:  # nobody cancelled it: the service stopped under it
                self.store.update_job(
                    job.id,
                    status="failed",
                    error="interrupted: the service stopped while it ran; submit it again",
                    finished=now(),
                    message="interrupted",
                )
            else:
                self.store.update_job(
                    job.id, status="cancelled", finished=now(), message="cancelled"
                )
        except PinganError as exc:  # the user's input: say what is wrong
            self.store.update_job(
                job.id, status="failed", error=str(exc), finished=now(), message="failed"
            )
        except Exception as exc:  # a bug of ours: the job fails, the service goes on
            log.exception("job %s (%s) failed", job.id, job.kind)
            self.store.update_job(
                job.id,
                status="failed",
                error=f"internal error ({type(exc).__name__}): a bug in pingan, not your input",
                finished=now(),
                message="failed",
            )
        finally:
            with self._lock:
                self._cancel.pop(job.id, None)

    def shutdown(self) -> None:
        """Stop taking jobs; running ones are asked to stop (a restart reports them failed)."""
        self._stopping = True
        with self._lock:
            for event in self._cancel.values():
                event.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
