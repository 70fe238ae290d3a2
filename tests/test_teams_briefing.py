"""The village briefing of a vanguard team, on the sample district."""

from __future__ import annotations

import dataclasses
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import TeamError
from geo.hotspots import filter_incidents
from geo.lighting import place_lamps
from geo.teams.briefing import (
    BRIEFING_LAYERS,
    ROAD_LIT_CLASSES,
    BriefingParams,
    VillageBriefing,
    village_briefing,
)
from service.night import NIGHT_HOURS, dark_road_risk, hotspots_of

#: A team of the first township's station, sent to the village of the planted lamp case
#: (宋家岗村, in the third township): a long way from base, with hot spots and dark roads.
TEAM = "VT-01"
VILLAGE = "420199102237"


def _officers(area):
    """Three auxiliary officers: two of VILLAGE (one without a point), one of another."""
    v = area.villages
    here = v.geometry[v["code"] == VILLAGE].iloc[0]
    other = v["code"][v["code"] != VILLAGE].iloc[0]
    return gpd.GeoDataFrame(
        {
            "id": ["FJ-A", "FJ-B", "FJ-C"],
            "name": ["甲", "乙", "丙"],
            "village_code": [VILLAGE, other, VILLAGE],
            "phone": ["13800000001", "13800000002", ""],
            "unit": ["PS-03", "PS-01", "PS-03"],
        },
        geometry=gpd.GeoSeries([shapely.Point(here.x + 50, here.y), here, None], crs=area.crs),
    )


@pytest.fixture(scope="module")
def area(sample_full_area):
    """The sample with every layer, officers given here (whatever the sample holds)."""
    return sample_full_area.with_layers(officers=_officers(sample_full_area))


@pytest.fixture(scope="module")
def night(area):
    """Hot spots, dark-road risk and lamps as the night-safety job computes them."""
    hot = hotspots_of(area, filter_incidents(area.incidents, hours=NIGHT_HOURS))
    risk = dark_road_risk(area)
    lamps = place_lamps(
        area.roads, risk, budget=30, spacing_m=35.0, engine=area.distances, households=area.groups
    )
    return hot, risk, lamps


@pytest.fixture(scope="module")
def briefing(area, night) -> VillageBriefing:
    hot, risk, lamps = night
    return village_briefing(area, TEAM, VILLAGE, hotspots=hot, risk=risk, lamps=lamps)


def _locate(engine, point):
    return engine.locate(np.array([point.x]), np.array([point.y]))


def _base(area, team=TEAM):
    return area.teams.geometry[area.teams["id"] == team].iloc[0]


# ---------------------------------------------------------------------- route, station


def test_route_runs_from_base_to_village_in_the_engines_time(area, briefing):
    """The route starts at the team's base and ends at the village (each end within the
    snap limit of its point), and its minutes are the engine's matrix time base -> village."""
    eng = area.engine()
    base = _base(area)
    assert briefing.route_status == "ok"
    assert briefing.base.equals(base)
    coords = shapely.get_coordinates(briefing.route_geometry)
    limit = eng.params.max_snap_m
    assert shapely.Point(coords[0]).distance(base) <= limit
    assert shapely.Point(coords[-1]).distance(briefing.village_point) <= limit
    times = eng.matrix(_locate(eng, base), _locate(eng, briefing.village_point))
    assert briefing.route_minutes == pytest.approx(float(times.minutes[0, 0]), abs=1e-6)
    assert briefing.route_minutes > 5.0  # another township: a real drive, not a zero leg
    assert briefing.route_km == pytest.approx(shapely.length(briefing.route_geometry) / 1000, 1e-6)


def test_nearest_station_is_the_fastest_by_brute_force(area, briefing):
    """The station listed is the one with the least travel time to the village over
    every station of the area (matrix), at that time."""
    eng = area.engine()
    st = area.stations
    loc = eng.locate(st.geometry.x.to_numpy(), st.geometry.y.to_numpy())
    minutes = eng.matrix(loc, _locate(eng, briefing.village_point)).minutes[:, 0]
    best = int(np.nanargmin(minutes))
    assert briefing.station_id == st["id"].iloc[best]
    assert briefing.station_minutes == pytest.approx(float(minutes[best]), abs=1e-6)
    assert briefing.station_point.equals(st.geometry.iloc[best])
    assert briefing.station_km > 0


def test_base_off_the_roads_gives_an_empty_route_and_a_note(area):
    """A team whose base is beyond the snap limit of every road is briefed anyway: no
    route, NaN minutes, status origin_off_network, and a note saying why."""
    teams = area.teams.copy()
    x0, _, _, y1 = shapely.total_bounds(area.roads.geometry)
    far = shapely.Point(x0 - 1000.0, y1 + 1000.0)  # 1 km beyond the last road, in the margin
    i = int(np.flatnonzero(teams["id"] == TEAM)[0])
    geom = teams.geometry.to_numpy().copy()
    geom[i] = far
    teams = teams.set_geometry(gpd.GeoSeries(geom, crs=area.crs, index=teams.index))
    lonlat = gpd.GeoSeries([far], crs=area.crs).to_crs(4326).iloc[0]
    teams.loc[teams.index[i], ["lon", "lat"]] = [lonlat.x, lonlat.y]
    moved = area.with_layers(teams=teams)
    b = village_briefing(moved, TEAM, VILLAGE)
    assert b.route_status == "origin_off_network"
    assert b.route_geometry is None
    assert np.isnan(b.route_minutes) and np.isnan(b.route_km)
    assert any(TEAM in n and "snap limit" in n for n in b.notes)
    assert "route" not in {f["properties"]["layer"] for f in b.to_geojson()["features"]} or all(
        f["properties"]["leg"] == "station"
        for f in b.to_geojson()["features"]
        if f["properties"]["layer"] == "route"
    )


# ---------------------------------------------------------------------- what lies near


def test_roads_listed_lie_within_radius_and_none_is_left_out(area, briefing):
    """Every road listed lies (clipped) within the radius of the ground, and every road
    of the area nearer the ground than the radius (less the disc's 0.15 m chord) is listed."""
    r = briefing.params.radius_m
    ground = briefing.ground
    coords = shapely.get_coordinates(briefing.roads.geometry.to_numpy())
    d = shapely.distance(shapely.points(coords), ground)
    assert d.max() <= r + 1e-6
    dist = shapely.distance(area.roads.geometry, ground)
    must = set(np.flatnonzero(dist < r - 0.5).tolist())
    listed = set(briefing.roads["road"].tolist())
    assert must <= listed
    assert listed <= set(np.flatnonzero(dist <= r).tolist())
    assert len(listed) == len(briefing.roads)  # each road once


def test_km_by_lit_class_sum_to_the_roads_listed(area, briefing):
    """Km by lit class (lit / unlit / unknown) sum to the length of the roads listed, each
    class is the inventory's lit tag of the road, and each class's km is its roads' km."""
    roads = briefing.roads
    assert sum(briefing.road_km.values()) == pytest.approx(roads["length_m"].sum() / 1000, 1e-12)
    assert list(roads["lit"]) == list(np.asarray(area.roads.lit)[roads["road"].to_numpy()])
    assert list(roads["lit_class"]) == [ROAD_LIT_CLASSES[c] for c in roads["lit"]]
    per_class = roads.groupby("lit_class")["length_m"].sum() / 1000
    for c, km in briefing.road_km.items():
        assert km == pytest.approx(float(per_class.get(c, 0.0)), abs=1e-9)
    assert briefing.road_km["unlit"] > 0 and briefing.road_km["lit"] > 0
    assert (roads["length_m"] <= roads["road_length_m"] + 1e-6).all()


@pytest.mark.parametrize("as_of", [None, "2025-06-30 12:00"])
def test_incidents_are_exactly_those_near_and_in_the_window(area, night, as_of):
    """The incidents listed are exactly those of the whole layer within the radius of the
    ground and in (as_of - days, as_of] (brute force), newest first; as_of defaults to the
    latest incident and a naive time is the area's local time."""
    b = village_briefing(area, TEAM, VILLAGE, as_of=as_of)
    inc = area.incidents
    end = inc["time"].max() if as_of is None else pd.Timestamp(as_of).tz_localize(area.spec.tz)
    assert b.as_of == end
    start = end - pd.Timedelta(days=b.params.incident_days)
    assert b.since == start
    near = shapely.distance(inc.geometry.to_numpy(), b.ground) <= b.params.radius_m
    in_window = ((inc["time"] > start) & (inc["time"] <= end)).to_numpy()
    expected = set(inc["id"][near & in_window])
    assert set(b.incidents["id"]) == expected
    assert len(expected) > 10
    assert b.incidents["time"].is_monotonic_decreasing
    assert (b.incidents["distance_m"] <= b.params.radius_m).all()


def test_hotspots_listed_are_those_within_radius(briefing, night):
    """Every hot road stretch and cell listed lies within the radius, and every ranked
    one within it is listed (brute force over the analysis' ranked tables)."""
    hot = night[0]
    r = briefing.params.radius_m
    listed = briefing.hotspots
    assert len(listed) > 0 and listed["core"].any()
    assert (shapely.distance(listed.geometry.to_numpy(), briefing.ground) <= r).all()
    for kind, frame in (("road", hot.ranked_roads()), ("cell", hot.ranked_cells())):
        near = frame[shapely.distance(frame.geometry.to_numpy(), briefing.ground) <= r]
        mine = listed[listed["kind"] == kind]
        assert sorted(mine["rank"]) == sorted(near["rank"])


def test_dark_roads_are_the_riskiest_within_radius(briefing, night):
    """The dark roads listed are the top-ranked pieces of the dark-road risk within the
    radius (brute force), in rank order; the lamps listed are the plan's within it."""
    _, risk, lamps = night
    r = briefing.params.radius_m
    roads = risk.roads
    near = roads[shapely.distance(roads.geometry.to_numpy(), briefing.ground) <= r]
    top = near.sort_values("rank", kind="stable").head(briefing.params.dark_roads)
    assert len(briefing.dark_roads) == briefing.params.dark_roads
    assert list(briefing.dark_roads["road"]) == list(top["road"])
    assert briefing.dark_roads["rank"].iloc[0] == 1  # the planted dark road is the riskiest
    plan = lamps.lamps
    lit = plan[shapely.distance(plan.geometry.to_numpy(), briefing.ground) <= r]
    assert len(lit) > 0
    assert sorted(briefing.lamps["lamp"]) == sorted(lit["lamp"])


def test_without_analyses_their_tables_are_empty_with_columns(area, briefing):
    """A briefing without hot spots, risk or lamps has those tables empty, with the same
    columns as when they are given."""
    b = village_briefing(area, TEAM, VILLAGE)
    for name in ("hotspots", "dark_roads", "lamps"):
        table = getattr(b, name)
        assert len(table) == 0
        assert list(table.columns) == list(getattr(briefing, name).columns)


def test_groups_are_the_villages_own(area, briefing):
    """The groups listed are exactly the groups layer's rows of this village."""
    own = area.groups[area.groups["village_code"] == VILLAGE]
    assert sorted(briefing.groups["code"]) == sorted(own["code"])
    assert len(own) > 0


def test_neighbours_are_the_villages_whose_ground_touches(area, briefing):
    """With boundaries, the neighbours are exactly the other villages whose polygon
    touches (within touch_m) this one's polygon, nearest first."""
    b = area.boundaries
    mine = b.geometry[b["code"] == VILLAGE].iloc[0]
    assert briefing.ground_kind == "boundary" and briefing.ground.equals(mine)
    d = shapely.distance(b.geometry.to_numpy(), mine)
    touching = set(b["code"][(d <= briefing.params.touch_m) & (b["code"] != VILLAGE).to_numpy()])
    assert set(briefing.neighbours["code"]) == touching
    assert len(touching) >= 2
    assert briefing.neighbours["touches"].all()
    assert briefing.neighbours["km"].is_monotonic_increasing


def test_point_villages_neighbour_by_voronoi_cell(area):
    """Without boundaries the ground is the village point, its cell Area.village_area's
    Voronoi cell, and the neighbours exactly the villages whose own village_area cell
    touches it (brute force, one village_area per village)."""
    bare = area.with_layers(boundaries=None)
    b = village_briefing(bare, TEAM, VILLAGE)
    assert b.ground_kind == "point" and b.ground.equals(b.village_point)
    assert b.cell.equals(bare.village_area(VILLAGE))
    codes = [c for c in bare.villages["code"] if c != VILLAGE]
    cells = np.array([bare.village_area(c) for c in codes], dtype=object)
    touching = np.asarray(shapely.dwithin(cells, b.cell, b.params.touch_m))
    assert set(b.neighbours["code"]) == set(np.asarray(codes)[touching])
    assert len(b.neighbours) >= 3 and b.neighbours["touches"].all()


def test_a_village_touching_none_lists_its_nearest(area):
    """A village whose ground touches no other lists the neighbours_k nearest villages
    by straight line between village points, touches False."""
    bounds = area.boundaries.copy()
    i = int(np.flatnonzero(bounds["code"] == VILLAGE)[0])
    geom = bounds.geometry.to_numpy().copy()
    geom[i] = shapely.buffer(geom[i], -300.0)
    bounds = bounds.set_geometry(gpd.GeoSeries(geom, crs=area.crs, index=bounds.index))
    b = village_briefing(area.with_layers(boundaries=bounds), TEAM, VILLAGE)
    v = area.villages[area.villages["code"] != VILLAGE]
    km = shapely.distance(v.geometry.to_numpy(), b.village_point) / 1000
    nearest = v["code"].to_numpy()[np.argsort(km)[: b.params.neighbours_k]]
    assert list(b.neighbours["code"]) == list(nearest)
    assert not b.neighbours["touches"].any()
    assert b.neighbours["km"].to_numpy() == pytest.approx(np.sort(km)[: b.params.neighbours_k])


def test_officers_are_the_villages_own(area, briefing):
    """The officers listed are the officers layer's rows of this village; one without a
    point of its own is drawn at the village point (located 'village')."""
    off = area.officers
    assert list(briefing.officers["id"]) == list(off["id"][off["village_code"] == VILLAGE])
    assert list(briefing.officers["located"]) == ["own", "village"]
    assert briefing.officers.geometry.iloc[1].equals(briefing.village_point)
    assert briefing.summary()["officers"] == ["甲", "丙"]
    none = village_briefing(area.with_layers(officers=None), TEAM, VILLAGE)
    assert len(none.officers) == 0 and any("officers" in n for n in none.notes)


def test_leader_comes_from_the_teams_layer(area):
    """The leader is the teams layer's ``leader`` of the team, "" without the column."""
    teams = area.teams.copy()
    teams["leader"] = [f"队长{i}" for i in range(len(teams))]
    i = int(np.flatnonzero(teams["id"] == TEAM)[0])
    b = village_briefing(area.with_layers(teams=teams), TEAM, VILLAGE)
    assert b.leader == f"队长{i}"
    bare = village_briefing(area.with_layers(teams=teams.drop(columns="leader")), TEAM, VILLAGE)
    assert bare.leader == ""


# ---------------------------------------------------------------------- output


def test_geojson_is_valid_wgs84_with_every_layer_named(area, briefing):
    """to_geojson is strict JSON (no NaN), every coordinate is a lon/lat inside the
    sample's extent, and every feature's layer is one of BRIEFING_LAYERS; a full
    briefing draws them all."""
    data = json.loads(json.dumps(briefing.to_geojson(), allow_nan=False, ensure_ascii=False))
    assert data["type"] == "FeatureCollection"
    w, s, e, n = area.extent
    layers = set()
    for f in data["features"]:
        layers.add(f["properties"]["layer"])
        xy = shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"])))
        assert ((xy[:, 0] > w - 0.1) & (xy[:, 0] < e + 0.1)).all()
        assert ((xy[:, 1] > s - 0.1) & (xy[:, 1] < n + 0.1)).all()
    assert layers == set(BRIEFING_LAYERS)
    counts = pd.Series([f["properties"]["layer"] for f in data["features"]]).value_counts()
    assert counts["road"] == len(briefing.roads)
    assert counts["incident"] == len(briefing.incidents)


def test_to_dict_is_json_with_wgs84_geometries(briefing):
    """to_dict is strict JSON; its geometries are GeoJSON in lon/lat."""
    d = json.loads(json.dumps(briefing.to_dict(), allow_nan=False, ensure_ascii=False))
    lon, lat = d["village_point"]["coordinates"]
    assert 114.0 < lon < 115.0 and 30.5 < lat < 31.5
    assert d["ground"]["type"] in ("Polygon", "MultiPolygon")
    assert d["summary"]["village"] == VILLAGE


def test_summary_agrees_with_the_tables(briefing):
    """The summary's numbers are the tables' and fields' (km, counts by category, times)."""
    s = briefing.summary()
    assert s["road_km"]["total"] == pytest.approx(briefing.roads["length_m"].sum() / 1000)
    assert sum(s["incidents_by_category"].values()) == s["incidents"] == len(briefing.incidents)
    assert s["hotspots"] == len(briefing.hotspots)
    assert s["station_minutes"] == briefing.station_minutes
    assert s["route_km"] == briefing.route_km
    assert briefing.village_name in s["text"] and briefing.station_name in s["text"]


def test_an_inconsistent_briefing_cannot_exist(briefing):
    """A briefing whose km by class disagree with its roads is refused."""
    km = dict(briefing.road_km)
    km["lit"] += 1.0
    with pytest.raises(TeamError, match="km by lit class"):
        dataclasses.replace(briefing, road_km=km)


# ---------------------------------------------------------------------- errors


def test_unknown_team_is_refused_naming_it(area):
    """An unknown team id raises TeamError naming the id and the known ones."""
    with pytest.raises(TeamError, match=r"'VT-99'.*VT-01"):
        village_briefing(area, "VT-99", VILLAGE)


def test_unknown_village_is_refused_naming_it(area):
    """An unknown village code raises TeamError naming the code."""
    with pytest.raises(TeamError, match="'420199999999'"):
        village_briefing(area, TEAM, "420199999999")


def test_area_without_teams_is_refused(area):
    """An area without a teams layer raises TeamError saying to give one."""
    with pytest.raises(TeamError, match="teams layer.*--teams"):
        village_briefing(area.with_layers(teams=None), TEAM, VILLAGE)


def test_village_without_location_is_refused(area):
    """A village with neither a point nor a boundary raises TeamError naming it."""
    v = area.villages.copy()
    geom = v.geometry.to_numpy().copy()
    geom[np.flatnonzero(v["code"] == VILLAGE)[0]] = None
    v = v.set_geometry(gpd.GeoSeries(geom, crs=area.crs, index=v.index))
    bare = area.with_layers(villages=v, boundaries=None)
    with pytest.raises(TeamError, match=f"{VILLAGE}.*no location"):
        village_briefing(bare, TEAM, VILLAGE)


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"radius_m": -1.0}, "radius_m"), ({"incident_days": 0}, "incident_days")],
)
def test_bad_params_are_refused(kw, match):
    """Parameters out of range raise TeamError naming the parameter."""
    with pytest.raises(TeamError, match=match):
        BriefingParams(**kw)
