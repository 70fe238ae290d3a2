"""The teams router: assignment with XLSX, briefings only for the team's own leader."""

from __future__ import annotations

import io
import json

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture(scope="module")
def assigned(api):
    r = api.post("/teams/assignment", "planner", json={"lang": "en"})
    assert r.status_code == 201, r.text
    return r.json()


def test_assignment_sends_every_team_once_with_need_scores(api, assigned):
    """One row per team, each village once, with its need score; latest is this one."""
    teams = set(api.state.area.teams["id"].astype(str))
    rows = assigned["assignment"]
    assert {r["team"] for r in rows} == teams
    assert len({r["village_code"] for r in rows}) == len(rows)
    assert all(0 <= r["score"] <= 100 for r in rows)
    assert api.get("/teams/assignment/latest", "planner").json()["id"] == assigned["id"]


def test_xlsx_has_the_assignment_and_need_sheets(api, assigned):
    """The workbook opens and its assignment sheet lists the same teams."""
    import pandas as pd

    r = api.get(assigned["xlsx"], "planner")
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    sheets = pd.read_excel(io.BytesIO(r.content), sheet_name=None)
    assert set(sheets) == {"assignment", "village need"}
    assert sorted(sheets["assignment"]["team"]) == sorted(x["team"] for x in assigned["assignment"])
    assert any(e.action == "teams.export" for e in api.state.store.audit_log(limit=500))


def test_a_team_leader_sees_their_own_village_only(api, assigned):
    """Their team's briefing is the assigned village; another team's is 403."""
    own = api.users["team_leader"].team
    r = api.get(f"/teams/{own}/briefing", "team_leader")
    assert r.status_code == 200, r.text
    want = next(x["village_code"] for x in assigned["assignment"] if x["team"] == own)
    assert r.json()["village_code"] == want
    other = next(t for t in api.state.area.teams["id"].astype(str) if t != own)
    assert api.get(f"/teams/{other}/briefing", "team_leader").status_code == 403
    assert api.get(f"/teams/{other}/briefing.geojson", "team_leader").status_code == 403
    assert api.get(f"/teams/{other}/briefing", "planner").status_code == 200


def test_briefing_geojson_is_a_feature_collection_of_layers(api, assigned):
    """Every feature says which briefing layer it belongs to; the village ground is there."""
    own = api.users["team_leader"].team
    r = api.get(f"/teams/{own}/briefing.geojson", "team_leader")
    assert r.status_code == 200
    gj = json.loads(r.content)
    assert gj["type"] == "FeatureCollection"
    layers = {f["properties"]["layer"] for f in gj["features"]}
    assert "ground" in layers


def test_unknown_team_404_and_strict_types_422(api):
    """A team the area lacks is 404; the assignment's limits are strict."""
    assert api.get("/teams/NO-TEAM/briefing", "planner").status_code == 404
    assert api.post("/teams/assignment", "planner", json={"select": "3"}).status_code == 422
    assert api.post("/teams/assignment", "planner", json={"min_max": 1}).status_code == 422
    assert api.get("/teams/assignment/P999/xlsx", "planner").status_code == 404


def test_roles(api):
    """Assignment is the planners'; briefings the leaders' and planners'; none without a token."""
    own = api.users["team_leader"].team
    assert api.post("/teams/assignment", None, json={}).status_code == 401
    for role in ("dispatcher", "team_leader"):
        assert api.post("/teams/assignment", role, json={}).status_code == 403
        assert api.get("/teams/assignment/latest", role).status_code == 403
    assert api.get(f"/teams/{own}/briefing", None).status_code == 401
    assert api.get(f"/teams/{own}/briefing", "dispatcher").status_code == 403
