"""Jobs over HTTP: progress goes up, cancel stops a running job, a restart fails the unfinished.

Test jobs are submitted straight to the app's runner with a function that loops calling
``ctx.progress``, as the engine's long steps do.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from service.api.jobs import JobContext

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def _looping(steps: int, pause_s: float, started: threading.Event | None = None):
    def run(ctx: JobContext) -> dict:
        for i in range(steps):
            if started is not None:
                started.set()
            ctx.progress(100 * i / steps, f"step {i}")
            time.sleep(pause_s)
        return {"steps": steps}

    return run


def _submit(api, role: str, fn, key: str | None = None):
    return api.state.jobs.submit(
        "test-loop", {"n": 1}, fn, user=api.users[role], idempotency_key=key
    )


def test_progress_goes_up_then_done(api):
    job, created = _submit(api, "planner", _looping(30, 0.06))
    assert created
    seen = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        body = api.get(f"/jobs/{job.id}", "planner").json()
        seen.append(body["progress"])
        if body["status"] == "done":
            break
        time.sleep(0.05)
    assert body["status"] == "done" and body["result"] == {"steps": 30}
    assert body["progress"] == 100.0
    assert seen == sorted(seen), "progress never goes back"
    assert any(0 < p < 100 for p in seen), f"no progress seen between 0 and 100: {seen}"
    assert body["href"] == f"/jobs/{job.id}" and body["finished"] is not None


def test_cancel_a_running_job(api):
    started = threading.Event()
    job, _ = _submit(api, "dispatcher", _looping(2000, 0.02, started))
    assert started.wait(30)
    r = api.post(f"/jobs/{job.id}/cancel", "dispatcher")
    assert r.status_code == 200, r.text
    assert r.json()["status"] in ("running", "cancelled")
    final = api.wait(job.id, "dispatcher", timeout_s=30)
    assert final["status"] == "cancelled" and final["result"] is None
    # Cancelling a finished job leaves it as it is.
    again = api.post(f"/jobs/{job.id}/cancel", "dispatcher").json()
    assert again["status"] == "cancelled"
    assert any(
        e.action == "job.cancel" and e.target == f"job:{job.id}"
        for e in api.state.store.audit_log(limit=50)
    )


def test_idempotency_key_runs_once(api):
    key = uuid.uuid4().hex
    calls = []

    def once(ctx: JobContext) -> dict:
        calls.append(1)
        return {"ok": True}

    first, created = _submit(api, "planner", once, key)
    second, again = _submit(api, "planner", once, key)
    assert created and not again and first.id == second.id
    api.wait(first.id, "planner")
    assert len(calls) == 1


def test_only_owner_or_admin_sees_a_job(api):
    job, _ = _submit(api, "planner", _looping(1, 0.0))
    api.wait(job.id, "planner")
    assert api.get(f"/jobs/{job.id}", "admin").status_code == 200
    assert api.get(f"/jobs/{job.id}", "dispatcher").status_code == 403
    assert api.post(f"/jobs/{job.id}/cancel", "team_leader").status_code == 403
    mine = {j["id"] for j in api.get("/jobs", "planner").json()}
    theirs = {j["id"] for j in api.get("/jobs", "team_leader").json()}
    everyone = {j["id"] for j in api.get("/jobs", "admin").json()}
    assert job.id in mine and job.id not in theirs and job.id in everyone
    listed = api.get("/jobs", "planner").json()
    assert [j["created"] for j in listed] == sorted((j["created"] for j in listed), reverse=True)


def test_unknown_job_is_404_and_signed_out_401(api):
    assert api.get("/jobs/J999999", "admin").status_code == 404
    assert api.post("/jobs/J999999/cancel", "admin").status_code == 404
    assert api.get("/jobs").status_code == 401
    assert api.get("/jobs/J1").status_code == 401
    assert api.post("/jobs/J1/cancel").status_code == 401


def test_restart_reports_unfinished_jobs_failed(sample_full_area, tmp_path):
    """A job the last run left running or queued is failed by the next start, not lost."""
    from fastapi.testclient import TestClient

    from service.api import ApiConfig, create_app
    from service.store import open_store

    store = open_store(tmp_path / "pingan.gpkg")
    user = store.create_user("restart-admin", "admin", "pw-restart")
    token = store.issue_token(user.id)
    running, _ = store.create_job("test-loop", {}, user_id=user.id)
    store.update_job(running.id, status="running", progress=40.0)
    queued, _ = store.create_job("test-loop", {}, user_id=user.id)
    store.close()  # the service "crashed" here

    config = ApiConfig(data_dir=tmp_path, first_users=False)
    with TestClient(create_app(config, area=sample_full_area)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        for job in (running, queued):
            body = client.get(f"/jobs/{job.id}", headers=headers).json()
            assert body["status"] == "failed"
            assert "restart" in body["error"] or "interrupted" in body["error"]
