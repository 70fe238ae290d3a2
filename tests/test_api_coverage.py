"""Coverage and new posts over HTTP agree with :mod:`geo.coverage` on the same area."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from geo.coverage import (
    CoverageParams,
    candidate_sites,
    fewest_posts,
    plan_new_posts,
    village_coverage,
)

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def test_coverage_equals_village_coverage(api):
    r = api.post("/coverage", "planner", json={"thresholds_min": [5, 12.5], "weight": "households"})
    assert r.status_code == 200, r.text
    body = r.json()
    a = api.state.area
    ref = village_coverage(
        a.engine(), a.villages, a.stations, CoverageParams((5.0, 12.5), weight="households")
    )
    assert body["weight"] == "households" and body["mode"] == a.mode
    assert body["summary"] == ref.summary.to_dict("records")
    got = {v["code"]: v for v in body["villages"]}
    flags = [c for c in ref.villages.columns if c.startswith("covered_")]
    assert len(flags) == 2
    for row in ref.villages.to_dict("records"):
        mine = got[row["code"]]
        assert mine["facility"] == row["facility"]
        assert mine["minutes"] == pytest.approx(row["minutes"])
        assert all(mine[c] == bool(row[c]) for c in flags)


def test_uploaded_stations_layer(api, sample_files):
    """Two of the stations, uploaded, cover less than all four."""
    import json

    src = json.loads(Path(sample_files.stations).read_text(encoding="utf-8"))
    src["features"] = src["features"][:2]
    up = api.post(
        "/layers",
        "admin",
        files={"file": ("two.geojson", json.dumps(src).encode())},
        data={"name": f"two-{uuid.uuid4().hex[:6]}", "kind": "stations"},
    )
    assert up.status_code == 201, up.text
    two = api.post("/coverage", "planner", json={"stations_layer": up.json()["id"]}).json()
    four = api.post("/coverage", "planner", json={}).json()
    assert {v["facility"] for v in two["villages"]} <= {
        f["properties"]["id"] for f in src["features"]
    }
    share = [
        (s["weight_share"], t["weight_share"])
        for s, t in zip(two["summary"], four["summary"], strict=True)
    ]
    assert all(a <= b for a, b in share) and any(a < b for a, b in share)
    assert api.post("/coverage", "planner", json={"stations_layer": "L999999"}).status_code == 404


def test_posts_mclp_equals_the_engine(api):
    r = api.post("/coverage/posts", "planner", json={"k": 3, "threshold_min": 10})
    assert r.status_code == 200, r.text
    body = r.json()
    a = api.state.area
    cands = candidate_sites(a.engine(), "villages", a.villages)
    ref = plan_new_posts(a.engine(), a.villages, a.stations, cands, k=3, threshold_min=10.0)
    assert body["problem"] == "MCLP" and body["candidates"] == len(cands.ids)
    assert [p["id"] for p in body["posts"]] == list(ref.chosen_ids)
    assert body["summary"]["covered_demand"] == ref.covered_demand
    for p in body["posts"]:
        assert 30 < p["lat"] < 32 and 113 < p["lon"] < 115 and p["road"]


def test_posts_lscp_equals_the_engine(api):
    r = api.post(
        "/coverage/posts", "planner", json={"threshold_min": 10, "candidates": "junctions"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    a = api.state.area
    cands = candidate_sites(a.engine(), "junctions", a.villages)
    ref = fewest_posts(a.engine(), a.villages, a.stations, cands, threshold_min=10.0)
    assert body["problem"] == "LSCP"
    assert len(body["posts"]) == len(ref.chosen)
    assert body["uncoverable"] == list(ref.uncoverable_ids)


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/coverage", {"thresholds_min": [10, 5]}),  # not increasing: the engine says so
        ("/coverage", {"thresholds_min": []}),
        ("/coverage", {"thresholds_min": ["5"]}),
        ("/coverage", {"threshold_min": False}),
        ("/coverage", {"mode": "boat"}),
        ("/coverage", {"weight": "area"}),
        ("/coverage/posts", {"k": "3"}),
        ("/coverage/posts", {"k": 0}),
        ("/coverage/posts", {"threshold_min": False}),
        ("/coverage/posts", {"candidates": "roofs"}),
    ],
)
def test_bad_values_are_422(api, url, body):
    assert api.post(url, "planner", json=body).status_code == 422


@pytest.mark.parametrize("url", ["/coverage", "/coverage/posts"])
@pytest.mark.parametrize("role", ["dispatcher", "team_leader"])
def test_only_planners(api, url, role):
    assert api.post(url, role, json={}).status_code == 403


@pytest.mark.parametrize("url", ["/coverage", "/coverage/posts"])
def test_signed_out_401_admin_ok(api, url):
    assert api.post(url, None, json={}).status_code == 401
    assert api.post(url, "admin", json={"k": 1} if "posts" in url else {}).status_code == 200


def test_every_coverage_row_says_where_the_village_is(api):
    r = api.post("/coverage", "planner", json={})
    assert r.status_code == 200, r.text
    villages = api.state.area.require("villages").to_crs(4326).set_index("code")
    for row in r.json()["villages"]:
        v = villages.loc[row["code"]]
        assert row["township"] == v["township"]
        pt = v.geometry.representative_point() if v.geometry.geom_type != "Point" else v.geometry
        assert abs(row["lat"] - pt.y) < 1e-5 and abs(row["lon"] - pt.x) < 1e-5
