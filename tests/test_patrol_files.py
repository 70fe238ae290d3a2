"""The patrol plan's files: GPX valid against the official schema, GeoJSON, shift sheet."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from copy import deepcopy

import numpy as np
import pandas as pd
import pyproj
import pytest
from lxml import etree

from service.patrol_files import GPX_NS, SHEET_COLUMNS, plan_geojson, plan_gpx, shift_sheet
from tests.conftest import TEST_DATA

XSD = TEST_DATA / "gpx" / "gpx.xsd"
NS = {"g": GPX_NS}
XS = "{http://www.w3.org/2001/XMLSchema}"
# Coordinates are written to 7 decimals; allow that much slack against the bounds.
EPS = 1e-6


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    from geo.area import sample_area

    return sample_area(tmp_path_factory.mktemp("patrol_files"))


@pytest.fixture(scope="module")
def plan(area):
    from geo.hotspots import HotspotParams, analyse_hotspots, filter_incidents
    from geo.patrol import PatrolParams, Shift, Units, patrol_targets, plan_patrols
    from service.night import NIGHT_HOURS, dark_road_risk

    night = filter_incidents(area.incidents, hours=NIGHT_HOURS)
    h = analyse_hotspots(
        night, params=HotspotParams(bandwidth=200.0), roads=area.roads, snap=area.distances.snap
    )
    tg = patrol_targets(area, hotspots=h, risk=dark_road_risk(area))
    units = [Units(station="PS-01", count=3, shift=Shift.parse("20:00-02:00"), break_min=30)]
    return plan_patrols(area, units, tg, PatrolParams(seconds=3, iterations=1500))


@pytest.fixture(scope="module")
def schema():
    # no_network: a schema that imported anything from the web would fail here, offline.
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(XSD), parser))


@pytest.fixture(scope="module")
def gpx(plan):
    return plan_gpx(plan)


@pytest.fixture(scope="module")
def gpx_doc(gpx):
    return etree.fromstring(gpx.encode("utf-8"))


@pytest.fixture(scope="module")
def bounds(area):
    w, s, e, n = area.extent
    return w - EPS, s - EPS, e + EPS, n + EPS


def _out_stops(plan):
    s = plan.stops
    return s[s["unit"].isin(plan.routes["unit"])].sort_values(["unit", "seq"], kind="stable")


def _inside(lon, lat, bounds):
    w, s, e, n = bounds
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    return bool(((lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)).all())


# --------------------------------------------------------------------------- GPX


def test_schema_is_the_complete_offline_gpx_1_1_schema():
    """The schema is Topografix's GPX 1.1 (its namespace, every type) and imports nothing."""
    doc = etree.parse(str(XSD))
    root = doc.getroot()
    assert root.tag == f"{XS}schema"
    assert root.get("targetNamespace") == "http://www.topografix.com/GPX/1/1"
    for ref in ("import", "include", "redefine"):
        assert not root.findall(f".//{XS}{ref}")
    types = {el.get("name") for el in root.iter(f"{XS}complexType", f"{XS}simpleType")}
    assert types == {
        "gpxType", "metadataType", "wptType", "rteType", "trkType", "extensionsType",
        "trksegType", "copyrightType", "linkType", "emailType", "personType", "ptType",
        "ptsegType", "boundsType", "latitudeType", "longitudeType", "degreesType", "fixType",
        "dgpsStationType",
    }  # fmt: skip


def test_gpx_validates_against_the_schema(schema, gpx_doc):
    """The plan's GPX is valid GPX 1.1 (element order, types, required attributes)."""
    ok = schema.validate(gpx_doc)
    assert ok, schema.error_log


def test_gpx_with_a_waypoint_after_a_track_is_invalid(schema, gpx_doc):
    """The validation can fail: a wpt after a trk breaks gpxType's sequence."""
    bad = deepcopy(gpx_doc)
    wpt = bad.find("g:wpt", NS)
    bad.remove(wpt)
    bad.append(wpt)
    assert not schema.validate(bad)
    assert "wpt" in str(schema.error_log)


def test_gpx_with_a_name_before_the_time_is_invalid(schema, gpx_doc):
    """Inside a waypoint too the order matters: name after time, not before."""
    bad = deepcopy(gpx_doc)
    wpt = bad.find("g:wpt", NS)
    time = wpt.find("g:time", NS)
    wpt.remove(time)
    wpt.append(time)
    assert not schema.validate(bad)


def test_gpx_header(gpx, gpx_doc, plan):
    """GPX 1.1 in its namespace, with creator, and metadata naming the shift, in UTC."""
    assert gpx.startswith("<?xml version='1.0' encoding='UTF-8'?>")
    assert gpx_doc.tag == f"{{{GPX_NS}}}gpx"
    assert gpx_doc.get("version") == "1.1"
    assert gpx_doc.get("creator") == "pingan"
    assert plan.shift.label in gpx_doc.findtext("g:metadata/g:name", namespaces=NS)
    assert gpx_doc.findtext("g:metadata/g:time", namespaces=NS) == "2026-01-01T12:00:00Z"
    custom = etree.fromstring(plan_gpx(plan, creator="test & co").encode())
    assert custom.get("creator") == "test & co"


def test_gpx_refuses_a_naive_file_time(plan):
    """A file time without a time zone cannot be written as UTC: it is refused."""
    from geo.errors import PatrolError

    with pytest.raises(PatrolError, match="time-zone aware"):
        plan_gpx(plan, time=dt.datetime(2026, 1, 1, 20, 0))
    stamped = plan_gpx(plan, time=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    assert "<time>2026-01-02T03:04:05Z</time>" in stamped


def test_gpx_has_one_track_per_unit_out_and_one_waypoint_per_stop(gpx_doc, plan):
    """One trk per unit that goes out, named after it; one wpt per stop of those units."""
    out = plan.units.loc[plan.units["stops"] > 0, "unit"].tolist()
    assert out
    trks = gpx_doc.findall("g:trk", NS)
    assert [t.findtext("g:name", namespaces=NS) for t in trks] == out
    for t in trks:
        assert len(t.findall("g:trkseg", NS)) == 1
        assert len(t.findall("g:trkseg/g:trkpt", NS)) >= 2
    stops = _out_stops(plan)
    wpts = gpx_doc.findall("g:wpt", NS)
    assert len(wpts) == len(stops)
    names = [w.findtext("g:name", namespaces=NS) for w in wpts]
    want = [
        f"{u} #{q} {n}" for u, q, n in zip(stops["unit"], stops["seq"], stops["name"], strict=True)
    ]
    assert names == want
    assert [w.findtext("g:type", namespaces=NS) for w in wpts] == stops["kind"].tolist()


def test_gpx_trackpoints_lie_inside_the_area(gpx_doc, bounds):
    """Every trkpt is in WGS84 inside the area's roads' lon/lat bounds (lat, lon not swapped)."""
    pts = gpx_doc.findall("g:trk/g:trkseg/g:trkpt", NS)
    lat = [float(p.get("lat")) for p in pts]
    lon = [float(p.get("lon")) for p in pts]
    assert _inside(lon, lat, bounds)
    for p in pts[:50]:
        assert len(p.get("lat").split(".")[1]) == 7


def test_gpx_tracks_start_and_end_at_the_station(gpx_doc):
    """The first and last trkpt of a track are within 50 m of its station waypoint."""
    geod = pyproj.Geod(ellps="WGS84")
    wpts = gpx_doc.findall("g:wpt", NS)
    for trk in gpx_doc.findall("g:trk", NS):
        unit = trk.findtext("g:name", namespaces=NS)
        mine = [w for w in wpts if w.findtext("g:name", namespaces=NS).startswith(f"{unit} #")]
        assert mine[0].findtext("g:type", namespaces=NS) == "station"
        assert mine[-1].findtext("g:type", namespaces=NS) == "station"
        pts = trk.findall("g:trkseg/g:trkpt", NS)
        for pt, wpt in ((pts[0], mine[0]), (pts[-1], mine[-1])):
            _, _, d = geod.inv(
                float(pt.get("lon")),
                float(pt.get("lat")),
                float(wpt.get("lon")),
                float(wpt.get("lat")),
            )
            assert d < 50.0, (unit, d)


def test_gpx_chinese_names_round_trip(gpx, plan):
    """Chinese station, road and village names come back unchanged from the UTF-8 bytes."""
    doc = etree.fromstring(gpx.encode("utf-8"))
    names = {w.findtext("g:name", namespaces=NS) for w in doc.findall("g:wpt", NS)}
    chinese = [n for n in _out_stops(plan)["name"] if any("\u4e00" <= c <= "\u9fff" for c in n)]
    assert chinese
    for n in chinese:
        assert any(x.endswith(" " + n) for x in names), n
    assert "槐荫" in gpx  # written as characters, not as &#...; references


def test_gpx_waypoint_times_are_the_arrivals_in_utc(gpx_doc, plan):
    """A waypoint's time is its arrival, in UTC with Z; the desc says what to check."""
    stops = _out_stops(plan)
    wpts = gpx_doc.findall("g:wpt", NS)
    for w, arrive, check in zip(wpts, stops["arrive"], stops["check"], strict=True):
        t = w.findtext("g:time", namespaces=NS)
        assert t.endswith("Z")
        got = dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
        assert got == dt.datetime.fromisoformat(arrive)
        assert w.findtext("g:desc", namespaces=NS).startswith(check)


def test_gpx_escapes_markup_in_names(plan, schema):
    """A name holding <, & and quotes is escaped: the file stays valid and reads back."""
    stops = plan.stops
    nasty = 'Tom & Jerry\'s <"bar">'
    stops.loc[stops.index[1], "name"] = nasty
    odd = dataclasses.replace(plan, stops=stops)
    doc = etree.fromstring(plan_gpx(odd).encode("utf-8"))
    assert schema.validate(doc), schema.error_log
    names = [w.findtext("g:name", namespaces=NS) for w in doc.findall("g:wpt", NS)]
    assert any(n.endswith(nasty) for n in names)


# --------------------------------------------------------------------------- GeoJSON


def test_geojson_has_a_feature_per_route_and_per_stop(plan):
    """Features = routes + stops of the units out, routes first, kinds as in the plan."""
    fc = plan_geojson(plan)
    assert fc["type"] == "FeatureCollection"
    stops = _out_stops(plan)
    feats = fc["features"]
    assert len(feats) == len(plan.routes) + len(stops)
    lines = feats[: len(plan.routes)]
    assert all(f["geometry"]["type"] == "LineString" for f in lines)
    assert all(f["properties"]["kind"] == "route" for f in lines)
    assert [f["properties"]["unit"] for f in lines] == plan.routes["unit"].tolist()
    points = feats[len(plan.routes) :]
    assert all(f["geometry"]["type"] == "Point" for f in points)
    assert [f["properties"]["kind"] for f in points] == stops["kind"].tolist()
    labels = [f["properties"]["label"] for f in points]
    assert labels[:2] == [f"{stops['unit'].iloc[0]} #0", f"{stops['unit'].iloc[0]} #1"]


def test_geojson_coordinates_are_lon_lat_inside_the_area(plan, bounds):
    """Every coordinate is [lon, lat] in WGS84 within the area's bounds."""
    coords = []
    for f in plan_geojson(plan)["features"]:
        g = f["geometry"]
        coords.extend(g["coordinates"] if g["type"] == "LineString" else [g["coordinates"]])
    xy = np.asarray(coords, float)
    assert xy.shape[1] == 2
    assert _inside(xy[:, 0], xy[:, 1], bounds)


def test_geojson_stops_are_numbered_from_the_station_back_to_it(plan):
    """Per unit, stop seq runs 0..n+1 without gaps, station first and last."""
    points = [f["properties"] for f in plan_geojson(plan)["features"][len(plan.routes) :]]
    df = pd.DataFrame(points)
    for _, g in df.groupby("unit", sort=False):
        assert g["seq"].tolist() == list(range(len(g)))
        assert g["kind"].iloc[0] == "station"
        assert g["kind"].iloc[-1] == "station"


def test_geojson_is_strict_json(plan):
    """json.dumps(allow_nan=False) accepts it, and it survives a round trip unchanged."""
    fc = plan_geojson(plan)
    text = json.dumps(fc, allow_nan=False, ensure_ascii=False)
    assert json.loads(text) == fc


# --------------------------------------------------------------------------- shift sheet


@pytest.fixture(scope="module")
def sheet(plan):
    return shift_sheet(plan)


def test_sheet_has_a_row_per_stop_in_unit_and_stop_order(sheet, plan):
    """One row per stop (leaving and back at the station included), sorted by unit, stop."""
    assert list(sheet.columns) == list(SHEET_COLUMNS)
    assert len(sheet) == len(plan.stops)
    order = sheet.sort_values(["unit", "stop"], kind="stable")
    assert order.index.tolist() == sheet.index.tolist()
    assert sheet["lat"].round(5).equals(sheet["lat"])


def test_sheet_first_and_last_row_of_a_unit_are_the_station(sheet):
    """Each unit's sheet starts and ends at its station."""
    for _, g in sheet.groupby("unit", sort=False):
        assert g["kind"].iloc[0] == "station"
        assert g["kind"].iloc[-1] == "station"
        assert g["check"].iloc[0] == "leave the station"
        assert g["check"].iloc[-1] == "back at the station"
        assert g["stop"].tolist() == list(range(len(g)))


def _minutes(hhmm: pd.Series, day: pd.Series) -> np.ndarray:
    h = hhmm.str.slice(0, 2).astype(int).to_numpy()
    m = hhmm.str.slice(3, 5).astype(int).to_numpy()
    return (h * 60 + m + 24 * 60 * (day == "+1").to_numpy()).astype(int)


def test_sheet_times_never_run_backwards(sheet):
    """Per unit the ETAs, read with their day, never decrease; each depart is not before its ETA."""
    for _, g in sheet.groupby("unit", sort=False):
        eta = _minutes(g["eta"], g["day"])
        assert (np.diff(eta) >= 0).all()
        dep = _minutes(g["depart"], g["day"]) % (24 * 60)
        assert ((dep - eta % (24 * 60)) % (24 * 60) < 12 * 60).all()


def test_sheet_marks_exactly_the_times_after_midnight(sheet):
    """On a 20:00-02:00 shift the day is "+1" exactly for ETAs before 20:00 (after midnight)."""
    hour = sheet["eta"].str.slice(0, 2).astype(int)
    assert ((sheet["day"] == "+1") == (hour < 20)).all()
    assert set(sheet["day"]) == {"", "+1"}


def test_sheet_shows_the_break_where_the_plan_takes_it(sheet, plan):
    """break_min is the whole break at the stop the plan takes it, empty elsewhere."""
    s = plan.stops.sort_values(["unit", "seq"], kind="stable").reset_index(drop=True)
    taken = s["break_min"].to_numpy() > 0
    assert taken.any()
    assert (sheet.loc[taken, "break_min"] == 30).all()
    assert sheet.loc[~taken, "break_min"].isna().all()
    assert sheet["dwell_min"].dtype.kind == "i"


def test_sheet_writes_as_a_readable_csv(sheet, tmp_path):
    """Through Output the sheet is a UTF-8 CSV that reads back with its Chinese names."""
    from service.output import Output

    path = Output(tmp_path).csv("patrol_shift_sheet.csv", sheet)
    back = pd.read_csv(path, dtype={"eta": str, "depart": str, "day": str})
    assert list(back.columns) == list(SHEET_COLUMNS)
    assert back["name"].tolist() == sheet["name"].tolist()
    assert back["eta"].tolist() == sheet["eta"].tolist()


def test_a_unit_without_a_route_is_left_off_the_maps_but_not_the_sheet(plan, schema):
    """Only units with a route get a track, waypoints and map features; the sheet has all."""
    kept = plan.routes.iloc[:-1]
    odd = dataclasses.replace(plan, routes=kept)
    doc = etree.fromstring(plan_gpx(odd).encode("utf-8"))
    assert schema.validate(doc), schema.error_log
    assert [t.findtext("g:name", namespaces=NS) for t in doc.findall("g:trk", NS)] == kept[
        "unit"
    ].tolist()
    n_stops = int(plan.stops["unit"].isin(kept["unit"]).sum())
    assert len(doc.findall("g:wpt", NS)) == n_stops
    assert len(plan_geojson(odd)["features"]) == len(kept) + n_stops
    assert len(shift_sheet(odd)) == len(plan.stops)
