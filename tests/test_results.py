"""One results vocabulary: every analysis result is JSON-ready, read-only and copies out."""

from __future__ import annotations

import json

import numpy as np
import pytest

from geo.area import Area
from geo.coverage import candidate_sites, coverage_by_mode, isochrones, plan_new_posts
from geo.coverage import village_coverage as coverage
from geo.errors import CoverageError, LightingError
from geo.lighting import lit_km_by_area, place_lamps, road_risk
from geo.results import Result
from geo.scenarios import Edit, Scenario, compare, evaluate


@pytest.fixture(scope="module")
def results(sample_files, sample_net, sample_layers):
    from geo import layers

    villages, stations, teams = sample_layers
    incidents = layers.read_incidents(sample_files.incidents, to_crs=sample_net.crs)
    area = Area.from_network(
        sample_net, villages=villages, stations=stations, teams=teams, incidents=incidents
    )
    eng = area.engine()
    cov = coverage(eng, villages, stations)
    risk = road_risk(area.roads, villages, incidents, engine=area.distances)
    plan = place_lamps(area.roads, risk, budget=10, engine=area.distances)
    base = Scenario("base", area.spec)
    moved = Scenario("no PS-01", area.spec, edits=(Edit("remove_station", {"id": "PS-01"}),))
    ra, rb = evaluate(base, area=area), evaluate(moved, area=area)
    cands = candidate_sites(eng, "villages", villages)
    return {
        "coverage": cov,
        "by_mode": coverage_by_mode({"car": eng}, villages, stations),
        "isochrones": isochrones(eng, stations, (5, 10)),
        "risk": risk,
        "lamps": plan,
        "lit": lit_km_by_area(area.roads, villages),
        "scenario": ra,
        "comparison": compare(ra, rb),
        "travel_times": eng.matrix(eng.locate_geometries(stations.geometry), np.arange(5)),
        "snap": eng.locate_geometries(villages.geometry).snap,
        "network": sample_net.summary(),
        "mclp": plan_new_posts(eng, villages, stations, cands, k=1, threshold_min=10),
    }


def test_every_result_is_a_result_and_json_ready(results):
    for name, res in results.items():
        assert isinstance(res, Result), name
        data = json.loads(json.dumps(res.to_dict(), allow_nan=False, ensure_ascii=False))
        assert data["kind"] == type(res).__name__, name


def test_tables_and_frames_are_copies(results):
    for name, res in results.items():
        for table, frame in res.tables().items():
            if len(frame) == 0 or frame.shape[1] == 0:
                continue
            col = frame.columns[0]
            before = res.tables()[table][col].copy()
            frame[col] = frame[col].iloc[::-1].to_numpy()
            assert res.tables()[table][col].equals(before), (name, table)
    # Attribute access hands out copies too.
    v = results["coverage"].villages
    v["minutes"] = -1.0
    assert (results["coverage"].villages["minutes"].fillna(0) >= 0).all()


def test_arrays_in_results_are_read_only(results):
    tt = results["travel_times"]
    with pytest.raises(ValueError, match="read-only"):
        tt.seconds[0, 0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        results["mclp"].chosen[0] = 7
    with pytest.raises(ValueError, match="read-only"):
        results["snap"].distance_m[0] = 0.0


def test_geometric_results_export_wgs84_geojson(results):
    for name in ("isochrones", "risk", "lamps"):
        fc = results[name].to_geojson()
        assert fc["type"] == "FeatureCollection" and fc["features"], name
        xy = np.array([c for f in fc["features"] for c in _coords(f["geometry"]["coordinates"])])
        assert (xy[:, 0] > 113).all() and (xy[:, 0] < 116).all(), name  # lon near Wuhan
        assert (xy[:, 1] > 29).all() and (xy[:, 1] < 32).all(), name
    with pytest.raises(TypeError, match="no geometric table"):
        results["coverage"].to_geojson()


def _coords(c):
    if isinstance(c[0], (int, float)):
        yield c
    else:
        for part in c:
            yield from _coords(part)


def test_inconsistent_results_refuse_to_exist(results):
    import dataclasses

    cov = results["coverage"]
    with pytest.raises(CoverageError, match="one row per threshold"):
        dataclasses.replace(cov, thresholds_min=(5.0,))
    plan = results["lamps"]
    with pytest.raises(LightingError, match="more than the budget"):
        dataclasses.replace(plan, budget=1)
