"""The patrol router: plans as background jobs, their units and stops, exports, roles."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from lxml import etree

from tests.conftest import TEST_DATA

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

SMALL = {"seconds": 1.0, "variants": 2, "units": 2, "date": "2026-03-01"}


@pytest.fixture(scope="module")
def planned(api):
    """One plan made through the API, with the job that made it."""
    key = {"Idempotency-Key": uuid.uuid4().hex}
    r = api.post("/patrol/plans", "dispatcher", json=SMALL, headers=key)
    assert r.status_code == 202, r.text
    again = api.post("/patrol/plans", "dispatcher", json=SMALL, headers=key)
    job = api.wait(r.json()["id"], "dispatcher")
    assert job["status"] == "done", job
    return {"job": job, "again": again.json(), "id": job["result"]["plan_id"]}


@pytest.fixture(scope="module")
def schema():
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(TEST_DATA / "gpx" / "gpx.xsd"), parser))


def test_the_same_idempotency_key_plans_once(api, planned):
    """The second request with the key returns the first job; one plan is stored."""
    assert planned["again"]["id"] == planned["job"]["id"]
    made = [p for p in api.state.store.list_plans("patrol") if p.job_id == planned["job"]["id"]]
    assert [p.id for p in made] == [planned["id"]]


def test_plan_has_units_and_stops_that_start_and_end_at_the_station(api, planned):
    """Every unit's route leaves its station and comes back; the figures add up."""
    r = api.get(f"/patrol/plans/{planned['id']}", "dispatcher")
    assert r.status_code == 200, r.text
    body = r.json()
    s = body["summary"]
    assert s["units"] == len(body["units"]) == 2
    assert s["date"] == "2026-03-01" and s["shift"] == "20:00-02:00"
    assert s["stops"] == sum(1 for x in body["stops"] if x["kind"] != "station")
    by_unit: dict[str, list[dict]] = {}
    for stop in body["stops"]:
        by_unit.setdefault(stop["unit"], []).append(stop)
    for unit in body["units"]:
        route = sorted(by_unit[unit["unit"]], key=lambda x: x["seq"])
        assert route[0]["kind"] == route[-1]["kind"] == "station"
        assert route[0]["target"] == route[-1]["target"] == unit["station"]
        assert all(a["depart"] <= b["arrive"] for a, b in zip(route, route[1:], strict=False))


def test_every_stop_is_reachable_on_the_road_network(api, planned):
    """Each leg has a finite road travel time, as the engine gives between the stops."""
    body = api.get(f"/patrol/plans/{planned['id']}", "dispatcher").json()
    moves = [x for x in body["stops"] if x["seq"] > 0]
    assert moves
    assert all(x["travel_s"] is not None and 0 <= x["travel_s"] < 6 * 3600 for x in moves)


def test_plan_is_listed(api, planned):
    """The list has the plan with its files."""
    got = {p["id"]: p for p in api.get("/patrol/plans", "dispatcher").json()}
    assert planned["id"] in got
    files = got[planned["id"]]["files"]
    for name in (
        "patrol.gpx",
        "patrol_routes.geojson",
        "patrol_shift_sheet.csv",
        "patrol_map.html",
        "patrol_map.en.html",
        "patrol_variant_2.gpx",
    ):
        assert name in files


def test_gpx_export_validates_against_the_gpx_schema(api, planned, schema):
    """The GPX download is GPX 1.1, an attachment, and the export is audited."""
    for variant in (1, 2):
        r = api.get(f"/patrol/plans/{planned['id']}/export/gpx?variant={variant}", "dispatcher")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/gpx+xml")
        assert "attachment" in r.headers["content-disposition"]
        doc = etree.fromstring(r.content, etree.XMLParser(resolve_entities=False))
        assert schema.validate(doc), schema.error_log
    log = api.state.store.audit_log(limit=500)
    assert any(
        e.action == "plan.export" and e.target == f"plan:{planned['id']}/patrol_variant_2.gpx"
        for e in log
    )


def test_geojson_and_csv_exports_match_the_plan(api, planned):
    """The routes GeoJSON has one line per unit out; the sheet one row per stop."""
    pid = planned["id"]
    body = api.get(f"/patrol/plans/{pid}", "dispatcher").json()
    r = api.get(f"/patrol/plans/{pid}/export/geojson", "dispatcher")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    gj = json.loads(r.content)
    assert gj["type"] == "FeatureCollection"
    lines = [f for f in gj["features"] if f["geometry"]["type"] == "LineString"]
    points = [f for f in gj["features"] if f["geometry"]["type"] == "Point"]
    assert len(lines) == body["summary"]["units_out"]
    out = {u["unit"] for u in body["units"] if u["stops"] > 0}
    assert len(points) == sum(1 for x in body["stops"] if x["unit"] in out)
    r = api.get(f"/patrol/plans/{pid}/export/csv", "dispatcher")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) >= body["summary"]["stops"]


def test_variants_list_each_with_its_files(api, planned):
    """Two variants were asked for; the first is the best."""
    body = api.get(f"/patrol/plans/{planned['id']}/variants", "dispatcher").json()
    assert [v["variant"] for v in body["variants"]] == [1, 2]
    assert body["variants"][0]["summary"]["prize"] >= body["variants"][1]["summary"]["prize"]
    assert api.get(body["variants"][1]["gpx"], "dispatcher").status_code == 200


def test_missing_plans_and_variants_are_404(api, planned):
    """An unknown plan, a variant past the last, GeoJSON of a variant: 404."""
    pid = planned["id"]
    assert api.get("/patrol/plans/P999", "dispatcher").status_code == 404
    assert api.get(f"/patrol/plans/{pid}/export/gpx?variant=3", "dispatcher").status_code == 404
    assert api.get(f"/patrol/plans/{pid}/export/geojson?variant=2", "dispatcher").status_code == 404
    assert api.get(f"/patrol/plans/{pid}/export/kml", "dispatcher").status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"units": "3"},
        {"units": True},
        {"units": 0},
        {"seconds": 1e9},
        {"variants": 6},
        {"shift": "25:00-01:00"},
        {"date": "01/03/2026"},
        {"mode": "plane"},
        {"dark_roads": "yes"},
        {"lamps": 3},
    ],
)
def test_wrong_requests_are_422(api, body):
    """Strict types, bounds, shifts and dates are checked before anything is queued."""
    r = api.post("/patrol/plans", "dispatcher", json=body)
    assert r.status_code == 422, r.text


def test_an_unknown_station_is_422_naming_it(api):
    """A station the area lacks is answered at once, naming it and the stations there are."""
    r = api.post("/patrol/plans", "dispatcher", json={"stations": ["PS-99"]})
    assert r.status_code == 422
    assert "PS-99" in r.json()["detail"] and "PS-01" in r.json()["detail"]


def test_a_named_shift_is_its_clock_window():
    """`day` and `evening` are clock windows; a window is taken as it is."""
    from service.api.ops.patrol import shift_window

    assert shift_window("night") == "20:00-02:00"
    assert shift_window("day") == "08:00-17:00"
    assert shift_window("06:00-14:00") == "06:00-14:00"
    from geo.errors import PatrolError

    with pytest.raises(PatrolError, match="shift"):
        shift_window("dawn")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/patrol/plans"),
        ("get", "/patrol/plans"),
        ("get", "/patrol/plans/P1"),
        ("get", "/patrol/plans/P1/variants"),
        ("get", "/patrol/plans/P1/export/gpx"),
    ],
)
def test_only_dispatchers_and_admins(api, method, url):
    """No token: 401; a planner or team leader: 403."""
    call = getattr(api, method)
    kw = {"json": SMALL} if method == "post" else {}
    assert call(url, None, **kw).status_code == 401
    for role in ("planner", "team_leader"):
        assert call(url, role, **kw).status_code == 403, role
    assert api.get("/patrol/plans", "admin").status_code == 200
