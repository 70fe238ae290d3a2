"""The scenarios router: CRUD with versions, evaluation, comparison, the batch job, roles."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def far_village(api):
    """The village farthest by road from any station, and its WGS84 point."""
    r = api.post("/scenarios/base/evaluate", "planner")
    assert r.status_code == 200, r.text
    ok = [v for v in r.json()["villages"] if v["minutes"] is not None]
    far = max(ok, key=lambda v: v["minutes"])
    return far


@pytest.fixture(scope="module")
def post_scenario(api, far_village):
    """A stored scenario adding a post at the farthest village."""
    edit = {
        "op": "add_station",
        "id": "P-TEST",
        "name": "test post",
        "kind": "post",
        "lon": far_village["lon"],
        "lat": far_village["lat"],
    }
    r = api.post("/scenarios", "planner", json={"name": _name("post"), "edits": [edit]})
    assert r.status_code == 201, r.text
    return r.json()


def test_create_returns_version_one_and_is_listed_and_audited(api, post_scenario):
    """A new scenario is version 1, appears in the list and in the audit log."""
    assert post_scenario["version"] == 1
    assert post_scenario["edits"][0]["op"] == "add_station"
    ids = [s["id"] for s in api.get("/scenarios", "planner").json()]
    assert post_scenario["id"] in ids
    got = api.get(f"/scenarios/{post_scenario['id']}", "planner").json()
    assert got == post_scenario
    log = api.state.store.audit_log(limit=500)
    assert any(
        e.action == "scenario.create" and e.target == f"scenario:{post_scenario['id']}" for e in log
    )


def test_a_wrong_edit_is_422_naming_the_edit_and_the_field(api):
    """An add_station without lon is refused, saying which edit lacks which field."""
    bad = {"name": _name("bad"), "edits": [{"op": "add_station", "id": "X", "lat": 31.0}]}
    r = api.post("/scenarios", "planner", json=bad)
    assert r.status_code == 422
    assert "edit 0" in r.json()["detail"] and "lon" in r.json()["detail"]


def test_an_edit_naming_a_station_the_area_lacks_is_422(api):
    """Applying the edits to the area finds a station to move that does not exist."""
    bad = {"op": "move_station", "id": "NO-SUCH", "lon": 114.3, "lat": 31.0}
    r = api.post("/scenarios", "planner", json={"name": _name("bad"), "edits": [bad]})
    assert r.status_code == 422
    assert "NO-SUCH" in r.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": 5},
        {"name": "x", "edits": "close"},
        {"name": "x", "thresholds_min": [False]},
        {"name": "x", "base": {"osm": "/etc/passwd"}},
    ],
)
def test_strict_types_and_unknown_fields_are_422(api, body):
    """No coercion (a number is not a name, false is not minutes) and no unknown keys."""
    r = api.post("/scenarios", "planner", json=body)
    assert r.status_code == 422, r.text


def test_a_taken_name_is_409(api, post_scenario):
    """Two scenarios cannot share a name."""
    r = api.post("/scenarios", "planner", json={"name": post_scenario["name"]})
    assert r.status_code == 409


def test_edits_bump_the_version_and_a_stale_version_is_409(api):
    """PUT and PATCH name the version they edit; the old version is refused afterwards."""
    r = api.post("/scenarios", "planner", json={"name": _name("ver")})
    sid = r.json()["id"]
    body = {"name": _name("ver2"), "description": "moved", "edits": [], "version": 1}
    r = api.put(f"/scenarios/{sid}", "planner", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["description"] == "moved"
    r = api.put(f"/scenarios/{sid}", "planner", json=body)
    assert r.status_code == 409
    assert "version 2" in r.json()["detail"]
    r = api.patch(f"/scenarios/{sid}", "planner", json={"version": 2, "description": "again"})
    assert r.status_code == 200
    assert r.json()["version"] == 3 and r.json()["name"] == body["name"]
    r = api.patch(f"/scenarios/{sid}", "planner", json={"version": 2, "description": "late"})
    assert r.status_code == 409
    assert api.get(f"/scenarios/{sid}", "planner").json()["description"] == "again"
    actions = [
        e.action for e in api.state.store.audit_log(limit=500) if e.target == f"scenario:{sid}"
    ]
    assert actions.count("scenario.edit") == 2


def test_delete_then_404(api):
    """A deleted scenario is gone: get, edit, evaluate and delete answer 404."""
    sid = api.post("/scenarios", "planner", json={"name": _name("del")}).json()["id"]
    assert api.delete(f"/scenarios/{sid}", "planner").status_code == 204
    assert api.get(f"/scenarios/{sid}", "planner").status_code == 404
    assert api.patch(f"/scenarios/{sid}", "planner", json={"version": 1}).status_code == 404
    assert api.post(f"/scenarios/{sid}/evaluate", "planner").status_code == 404
    assert api.delete(f"/scenarios/{sid}", "planner").status_code == 404
    assert any(e.action == "scenario.delete" for e in api.state.store.audit_log(limit=500))


def test_evaluate_base_agrees_with_the_engine(api):
    """The base's coverage is geo.coverage's on the area, village by village."""
    from geo.coverage import village_coverage

    area = api.state.area
    cov = village_coverage(area.engine(), area.require("villages"), area.require("stations"))
    body = api.post("/scenarios/base/evaluate", "planner").json()
    assert body["n_stations"] == len(area.stations)
    assert len(body["villages"]) == len(cov.villages)
    got = np.array([np.nan if v["minutes"] is None else v["minutes"] for v in body["villages"]])
    np.testing.assert_allclose(got, cov.villages["minutes"].to_numpy(float), equal_nan=True)
    assert [r["threshold_min"] for r in body["summary"]] == list(cov.thresholds_min)


def test_compare_base_with_base_changes_nothing(api):
    """Base against base: no village gained or lost, every delta 0."""
    r = api.post("/scenarios/compare", "planner", json={"a": "base", "b": "base"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert all(s["gained"] == 0 and s["lost"] == 0 for s in body["summary"])
    assert all(set(v["change"].values()) == {"same"} for v in body["villages"])
    assert all(v["delta_min"] in (0, None) for v in body["villages"])


def test_a_new_post_gains_villages_and_loses_none(api, post_scenario, far_village):
    """A post at the farthest village brings it (and maybe more) within the first threshold."""
    r = api.post("/scenarios/compare", "planner", json={"a": "base", "b": post_scenario["id"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert sum(s["gained"] for s in body["summary"]) >= 1
    assert all(s["lost"] == 0 for s in body["summary"])
    row = next(v for v in body["villages"] if v["code"] == far_village["code"])
    assert row["facility_b"] == "P-TEST"
    assert row["minutes_b"] < row["minutes_a"]
    first = f"{body['summary'][0]['threshold_min']:g}"
    assert row["change"][first] == "gained"


def test_every_compared_village_says_where_it_is(api):
    """Each row has the village's code, name, township and its WGS84 point."""
    body = api.post("/scenarios/compare", "planner", json={"a": "base", "b": "base"}).json()
    v = api.state.area.villages.to_crs(4326).set_index(api.state.area.villages["code"].astype(str))
    for row in body["villages"]:
        ref = v.loc[row["code"]]
        assert row["name"] == ref["name"]
        assert row["township"] == str(ref["township"])
        assert abs(row["lat"] - ref.geometry.y) < 1e-4 and abs(row["lon"] - ref.geometry.x) < 1e-4


def test_compare_unknown_scenario_is_404_and_bad_by_is_422(api):
    """A missing id is 404; `by` is stations or teams."""
    assert (
        api.post("/scenarios/compare", "planner", json={"a": "base", "b": "S999"}).status_code
        == 404
    )
    r = api.post("/scenarios/compare", "planner", json={"a": "base", "b": "base", "by": "x"})
    assert r.status_code == 422


def test_batch_runs_once_per_idempotency_key(api, post_scenario):
    """The same key twice gives one job; its result has each scenario's coverage."""
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"scenarios": ["base", post_scenario["id"]]}
    r1 = api.post("/scenarios/batch", "planner", json=body, headers=key)
    r2 = api.post("/scenarios/batch", "planner", json=body, headers=key)
    assert r1.status_code == r2.status_code == 202
    assert r1.json()["id"] == r2.json()["id"]
    job = api.wait(r1.json()["id"], "planner")
    assert job["status"] == "done", job
    got = job["result"]["scenarios"]
    assert set(got) == {"base", post_scenario["id"]}
    assert got[post_scenario["id"]]["n_stations"] == got["base"]["n_stations"] + 1


def test_batch_with_an_unknown_scenario_is_404(api):
    """Every scenario is looked up before the job is queued."""
    assert api.post("/scenarios/batch", "planner", json={"scenarios": ["S999"]}).status_code == 404


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", "/scenarios", None),
        ("post", "/scenarios", {"name": "never"}),
        ("get", "/scenarios/S1", None),
        ("put", "/scenarios/S1", {"name": "n", "version": 1}),
        ("patch", "/scenarios/S1", {"version": 1}),
        ("delete", "/scenarios/S1", None),
        ("post", "/scenarios/S1/evaluate", None),
        ("post", "/scenarios/compare", {"a": "base", "b": "base"}),
        ("post", "/scenarios/batch", {"scenarios": ["base"]}),
    ],
)
def test_only_planners_and_admins(api, method, url, body):
    """No token: 401; a dispatcher or team leader: 403; an admin passes the role check."""
    call = getattr(api, method)
    kw = {"json": body} if body is not None else {}
    assert call(url, None, **kw).status_code == 401
    for role in ("dispatcher", "team_leader"):
        r = call(url, role, **kw)
        assert r.status_code == 403, (role, r.text)
    if method == "get" and url == "/scenarios":
        assert call(url, "admin").status_code == 200
