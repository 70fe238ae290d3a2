"""Users and the audit log over HTTP: admins only; a team leader's team must exist."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def _name() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def test_create_sign_in_list_delete(api):
    team = str(api.state.area.teams["id"].iloc[1])
    name = _name()
    r = api.post(
        "/users",
        "admin",
        json={"name": name, "role": "team_leader", "password": "long-enough", "team": team},
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["role"] == "team_leader" and made["team"] == team
    assert "password" not in made
    tok = api.client.post("/auth/token", data={"username": name, "password": "long-enough"})
    assert tok.status_code == 200
    assert made["id"] in [u["id"] for u in api.get("/users", "admin").json()]
    assert api.delete(f"/users/{made['id']}", "admin").status_code == 204
    assert made["id"] not in [u["id"] for u in api.get("/users", "admin").json()]
    # Deleting a user revokes their tokens.
    bearer = {"Authorization": f"Bearer {tok.json()['access_token']}"}
    assert api.client.get("/auth/me", headers=bearer).status_code == 401
    assert api.delete(f"/users/{made['id']}", "admin").status_code == 404


def test_team_leader_team_must_exist(api):
    base = {"name": _name(), "role": "team_leader", "password": "long-enough"}
    r = api.post("/users", "admin", json={**base, "team": "NO-SUCH-TEAM"})
    assert r.status_code == 422
    assert "NO-SUCH-TEAM" in r.json()["detail"]
    assert r.json()["errors"][0]["loc"] == ["body", "team"]
    assert api.post("/users", "admin", json=base).status_code == 422
    planner = {"name": _name(), "role": "planner", "password": "long-enough", "team": "VT-01"}
    assert api.post("/users", "admin", json=planner).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "role": "sheriff", "password": "long-enough"},
        {"name": "x", "role": "planner", "password": "short"},
        {"name": "", "role": "planner", "password": "long-enough"},
        {"name": 5, "role": "planner", "password": "long-enough"},
        {"name": "x", "role": "planner", "password": "long-enough", "admin": True},
    ],
)
def test_bad_user_values_are_422(api, body):
    assert api.post("/users", "admin", json=body).status_code == 422


def test_taken_name_is_409_and_self_delete_409(api):
    body = {"name": _name(), "role": "planner", "password": "long-enough"}
    assert api.post("/users", "admin", json=body).status_code == 201
    assert api.post("/users", "admin", json=body).status_code == 409
    me = api.users["admin"].id
    assert api.delete(f"/users/{me}", "admin").status_code == 409


@pytest.mark.parametrize("role", ["dispatcher", "team_leader", "planner"])
def test_only_admins(api, role):
    body = {"name": _name(), "role": "planner", "password": "long-enough"}
    assert api.post("/users", role, json=body).status_code == 403
    assert api.get("/users", role).status_code == 403
    assert api.delete("/users/U1", role).status_code == 403
    assert api.get("/audit", role).status_code == 403


def test_signed_out_is_401(api):
    assert api.post("/users", json={}).status_code == 401
    assert api.get("/users").status_code == 401
    assert api.delete("/users/U1").status_code == 401
    assert api.get("/audit").status_code == 401


def test_audit_newest_first_with_limit(api):
    name = _name()
    made = api.post(
        "/users", "admin", json={"name": name, "role": "planner", "password": "long-enough"}
    ).json()
    log = api.get("/audit", "admin", params={"limit": 5}).json()
    assert len(log) <= 5
    assert log[0]["action"] == "user.create" and log[0]["target"] == f"user:{made['id']}"
    assert log[0]["user_id"] == api.users["admin"].id
    assert [e["id"] for e in log] == sorted((e["id"] for e in log), reverse=True)
    assert api.get("/audit", "admin", params={"limit": 0}).status_code == 422
    assert api.get("/audit", "admin", params={"limit": "many"}).status_code == 422
