"""Dark roads and lamps over HTTP agree with what ``pingan unlit`` / ``pingan lamps`` compute."""

from __future__ import annotations

import pytest

from geo.lighting import LampParams, lit_km_by_area, place_lamps
from service.night import dark_road_risk

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture(scope="module")
def risk(api):
    return dark_road_risk(api.state.area)


def test_unlit_equals_the_engine(api, risk):
    r = api.post("/unlit", "planner", json={"top": 7})
    assert r.status_code == 200, r.text
    body = r.json()
    area = api.state.area
    lit = lit_km_by_area(area.roads, area.villages)
    assert len(body["villages"]) == len(lit.village)
    by_code = {v["code"]: v for v in body["villages"]}
    for row in lit.village.head(10).itertuples():
        assert by_code[row.code]["dark_km"] == pytest.approx(row.dark_km)
    assert body["total_km"] == pytest.approx(dict(lit.total))
    ranked = risk.by_road()
    assert body["dark_roads_total"] == len(ranked)
    assert [d["rank"] for d in body["dark_roads"]] == ranked["rank"].head(7).tolist()
    assert [d["score"] for d in body["dark_roads"]] == pytest.approx(
        ranked["score"].head(7).tolist()
    )


def test_dark_roads_say_where(api):
    body = api.post("/unlit", "dispatcher", json={"top": 3}).json()
    for road in body["dark_roads"]:
        assert road["name"] and road["explanation"]
        assert 30 < road["lat"] < 32 and 113 < road["lon"] < 115
        assert road["village_name"]


def test_lamps_equal_the_engine(api, risk):
    area = api.state.area
    r = api.post("/lamps", "planner", json={"budget": 12, "spacing_m": 40, "method": "greedy"})
    assert r.status_code == 200, r.text
    body = r.json()
    plan = place_lamps(
        area.roads,
        risk,
        budget=12,
        spacing_m=40.0,
        households=area.groups,
        params=LampParams(method="greedy"),
        engine=area.distances,
    )
    assert body["summary"] == pytest.approx(plan.summary()) or body["summary"] == plan.summary()
    feats = body["lamps"]["features"]
    assert len(feats) == len(plan.lamps) == body["summary"]["lamps"] <= 12
    assert all(f["geometry"]["type"] == "Point" for f in feats)
    lon, lat = feats[0]["geometry"]["coordinates"]
    assert lon == pytest.approx(feats[0]["properties"]["lon"], abs=1e-6)
    assert lat == pytest.approx(feats[0]["properties"]["lat"], abs=1e-6)
    assert sum(run["lamps"] for run in body["runs"]) == len(feats)


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/unlit", {"top": "3"}),
        ("/unlit", {"top": 0}),
        ("/unlit", {"n": 3}),
        ("/lamps", {"budget": "30"}),
        ("/lamps", {"budget": True}),
        ("/lamps", {"budget": 0}),
        ("/lamps", {"spacing_m": False}),
        ("/lamps", {"method": "magic"}),
    ],
)
def test_bad_values_are_422(api, url, body):
    assert api.post(url, "planner", json=body).status_code == 422


@pytest.mark.parametrize("url", ["/unlit", "/lamps"])
def test_roles(api, url):
    assert api.post(url, "admin", json={}).status_code == 200
    assert api.post(url, "team_leader", json={}).status_code == 403
    assert api.post(url, None, json={}).status_code == 401
