"""Hot spots over HTTP agree with the engine the CLI calls, on the same selection."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from geo.hotspots import HotspotParams, analyse_hotspots, filter_incidents

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def _engine(area, **filters):
    sel = filter_incidents(area.incidents, **filters)
    params = HotspotParams(kde_cell_size=250.0, keep_quiet=False)
    return sel, analyse_hotspots(sel, params=params, roads=area.roads, snap=area.distances.snap)


@pytest.fixture(scope="module")
def night(api):
    r = api.post("/hotspots", "planner", json={"hours": [19, 6], "top": 5})
    assert r.status_code == 200, r.text
    return r.json()


def test_hotspots_equal_the_engine(api, night):
    """Counts, Gi* classes, cells and the ranked roads are the engine's own."""
    sel, res = _engine(api.state.area, hours=(19, 6))
    assert night["n_selected"] == len(sel) < night["n_incidents"] == len(api.state.area.incidents)
    assert night["summary"]["cell_hotspots"] == res.cell_hotspots.to_dict()
    classes = res.cell_hotspots.class_counts()
    assert {c["class"]: c["cells"] for c in night["classes"]} == classes.to_dict()
    cells = res.cells
    significant = cells[cells["class"] != "not significant"]
    assert len(night["cells"]["features"]) == len(significant)
    assert {f["properties"]["class"] for f in night["cells"]["features"]} <= set(classes.index)
    top = res.ranked_roads().head(5)
    assert [r["rank"] for r in night["roads"]] == top["rank"].tolist()
    assert [r["count"] for r in night["roads"]] == top["count"].tolist()


def test_roads_say_where(night):
    for road in night["roads"]:
        assert 30 < road["lat"] < 32 and 113 < road["lon"] < 115
        lat, lon = (float(t) for t in road["where"].split(", "))
        assert road["name"] and lat == pytest.approx(road["lat"], abs=2e-5)
        assert lon == pytest.approx(road["lon"], abs=2e-5)


def test_categories_and_dates_filter(api):
    body = {"categories": ["theft", "burglary"], "start": "2025-03-01", "end": "2025-09-01"}
    r = api.post("/hotspots", "dispatcher", json=body)
    assert r.status_code == 200, r.text
    sel = filter_incidents(
        api.state.area.incidents,
        categories=["theft", "burglary"],
        start="2025-03-01",
        end="2025-09-01",
    )
    assert r.json()["n_selected"] == len(sel)


def test_unknown_category_is_422_naming_it(api):
    r = api.post("/hotspots", "planner", json={"categories": ["piracy"]})
    assert r.status_code == 422 and "piracy" in r.json()["detail"]


def test_uploaded_incidents_layer_gives_the_same_answer(api, sample_files, night):
    up = api.post(
        "/layers",
        "admin",
        files={"file": ("inc.gpkg", Path(sample_files.incidents).read_bytes())},
        data={"name": f"inc-{uuid.uuid4().hex[:6]}", "kind": "incidents"},
    )
    assert up.status_code == 201, up.text
    body = {"hours": [19, 6], "top": 5, "incidents_layer": up.json()["id"]}
    r = api.post("/hotspots", "planner", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["n_selected"] == night["n_selected"]
    assert got["summary"]["cell_hotspots"] == night["summary"]["cell_hotspots"]


def test_layer_of_another_kind_is_422_unknown_404(api, sample_files):
    up = api.post(
        "/layers",
        "admin",
        files={"file": ("s.geojson", Path(sample_files.stations).read_bytes())},
        data={"name": f"st-{uuid.uuid4().hex[:6]}", "kind": "stations"},
    )
    r = api.post("/hotspots", "planner", json={"incidents_layer": up.json()["id"]})
    assert r.status_code == 422 and "not incidents" in r.json()["detail"]
    assert r.json()["errors"][0]["loc"] == ["body", "incidents_layer"]
    assert api.post("/hotspots", "planner", json={"incidents_layer": "L999999"}).status_code == 404


def test_too_few_incidents_says_why(api):
    r = api.post("/hotspots", "planner", json={"start": "2025-06-01", "end": "2025-06-01T03:00"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"] is None and "at least" in body["reason"]


@pytest.mark.parametrize(
    "body",
    [
        {"cell_m": "250"},
        {"alpha": True},
        {"alpha": 1.5},
        {"cell_m": 1},
        {"hours": [19]},
        {"hours": [19, "late"]},
        {"min_count": 2.5},
        {"top": 0},
        {"start": "yesterday"},
        {"shape": "circle"},
        {"cells": 3},
    ],
)
def test_bad_values_are_422(api, body):
    assert api.post("/hotspots", "planner", json=body).status_code == 422


def test_roles(api):
    assert api.post("/hotspots", "admin", json={"top": 1}).status_code == 200
    assert api.post("/hotspots", "team_leader", json={}).status_code == 403
    assert api.post("/hotspots", None, json={}).status_code == 401
