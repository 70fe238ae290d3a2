"""Coverage: nearest station per village, catchments, isochrones, new posts."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.coverage import (
    CoverageError,
    CoverageParams,
    candidate_sites,
    covered_column,
    fewest_posts,
    isochrones,
    plan_new_posts,
    village_coverage,
)
from geo.engine import Engine


@pytest.fixture(scope="module")
def engine(sample_net):
    return Engine(sample_net)


@pytest.fixture(scope="module")
def coverage(engine, sample_layers):
    villages, stations, _ = sample_layers
    return village_coverage(engine, villages, stations)


def test_nearest_station_matches_the_full_matrix(engine, sample_layers, coverage):
    villages, stations, _ = sample_layers
    tt = engine.matrix(
        engine.locate_geometries(stations.geometry), engine.locate_geometries(villages.geometry)
    )
    best = np.nanmin(tt.minutes, axis=0)
    np.testing.assert_allclose(coverage.villages["minutes"], np.round(best, 3), atol=1e-3)
    arg = stations["id"].to_numpy()[np.nanargmin(tt.minutes, axis=0)]
    assert (coverage.villages["facility"].to_numpy() == arg).all()


def test_threshold_flags_and_weighted_summary(coverage, sample_layers):
    villages = sample_layers[0]
    v = coverage.villages
    assert coverage.weight_name == "population"
    np.testing.assert_array_equal(v["weight"], villages["population"].to_numpy(dtype=float))
    for t in coverage.thresholds_min:
        assert (v[covered_column(t)] == (v["minutes"] <= t)).all()
    s = coverage.summary
    assert list(s["threshold_min"]) == [5, 10, 15, 30]
    assert (np.diff(s["villages_covered"]) >= 0).all()  # wider thresholds cover more
    row = s[s["threshold_min"] == 15].iloc[0]
    covered = v[v["covered_15"]]
    assert row["villages_covered"] == len(covered)
    assert row["weight_covered"] == pytest.approx(covered["weight"].sum())
    assert row["weight_share"] == pytest.approx(
        covered["weight"].sum() / v["weight"].sum(), abs=1e-4
    )


def test_households_weight_and_custom_thresholds(engine, sample_layers):
    villages, stations, _ = sample_layers
    res = village_coverage(
        engine, villages, stations, CoverageParams(thresholds_min=(3, 12), weight="households")
    )
    assert res.weight_name == "households"
    assert {"covered_3", "covered_12"} <= set(res.villages.columns)


def test_unreachable_villages_are_listed_with_reasons(engine, sample_layers):
    villages, stations, _ = sample_layers
    far = villages.iloc[[0]].copy()
    far["code"] = "420199100399"
    far["geometry"] = far.geometry.translate(xoff=40000)
    res = village_coverage(engine, pd.concat([villages, far], ignore_index=True), stations)
    un = res.unreachable
    assert list(un["code"]) == ["420199100399"]
    assert un["status"].item() == "destination_off_network"
    assert "snap limit" in un["reason"].item()
    assert not res.villages.iloc[-1][["covered_5", "covered_30"]].any()


def test_catchments_partition_the_reachable_villages(coverage, sample_layers):
    stations = sample_layers[1]
    c = coverage.catchments()
    assert list(c["facility"]) == list(stations["id"])
    ok = coverage.villages["status"] == "ok"
    assert c["villages"].sum() == ok.sum()
    assert c["weight"].sum() == pytest.approx(coverage.villages.loc[ok, "weight"].sum())
    codes = ";".join(c["codes"]).split(";")
    assert sorted(x for x in codes if x) == sorted(coverage.villages.loc[ok, "code"])


def test_isochrones_nest_and_follow_roads(engine, sample_layers):
    stations = sample_layers[1]
    iso = isochrones(engine, stations, (5, 10, 15)).areas
    assert list(iso["threshold_min"]) == [5, 10, 15]
    assert (np.diff(iso["area_km2"]) > 0).all()
    # Nested: nothing of the 5-minute area lies outside the 10-minute one (compared by
    # area, since two unions of buffers can differ by rounding along shared edges).
    outside = shapely.difference(iso.geometry.iloc[0], iso.geometry.iloc[1])
    assert outside.area <= 1e-9 * iso.geometry.iloc[0].area
    # Built from reachable roads, so much smaller than the hull a convex method claims.
    for geom in iso.geometry:
        assert geom.area < 0.8 * shapely.convex_hull(geom).area
    # Every node reached within 10 minutes lies inside the 10-minute isochrone, and no
    # node beyond 15 minutes that is far from every reached road does.
    reach = engine.reachable(engine.locate_geometries(stations.geometry), 600)
    nodes = shapely.points(sample_net_xy(engine))
    inside = shapely.contains(iso.geometry.iloc[1].buffer(1.0), nodes)
    assert inside[np.nan_to_num(reach.node_seconds, nan=np.inf) <= 600].all()
    far_reach = engine.reachable(engine.locate_geometries(stations.geometry), 15 * 60)
    touched = shapely.union_all(engine.net.edge_geometry[far_reach.edge_fraction > 0])
    away = shapely.distance(nodes, touched) > 150 + 1  # beyond the buffer of any reached road
    assert away.sum() > 0
    assert not shapely.contains(iso.geometry.iloc[2], nodes[away]).any()


def sample_net_xy(engine):
    return engine.net.nodes[["x", "y"]].to_numpy()


def test_new_posts_and_fewest_posts(engine, sample_layers, coverage):
    villages, stations, _ = sample_layers
    cands = candidate_sites(engine, "villages", villages)
    res = plan_new_posts(engine, villages, stations, cands, k=2, threshold_min=10)
    base = coverage.summary.set_index("threshold_min").loc[10.0, "weight_covered"]
    assert res.covered_demand >= base - 1e-6
    assert len(res.chosen) <= 2
    cover = fewest_posts(engine, villages, stations, cands, threshold_min=10)
    # Every village is itself a candidate, so every reachable village can be covered.
    assert len(cover.uncoverable) == 0
    assert cover.covered.all()
    junctions = candidate_sites(engine, "junctions")
    assert all(i.startswith("node-") for i in junctions.ids)


def test_coverage_errors(engine, sample_layers):
    villages, stations, _ = sample_layers
    with pytest.raises(CoverageError, match="strictly increasing"):
        CoverageParams(thresholds_min=(10, 5))
    with pytest.raises(CoverageError, match="positive minutes"):
        CoverageParams(thresholds_min=(0,))
    with pytest.raises(CoverageError, match="facilities layer is empty"):
        village_coverage(engine, villages, stations.iloc[:0])
    with pytest.raises(CoverageError, match="no 'population' column|missing values"):
        village_coverage(
            engine, villages.assign(population=pd.NA), stations, CoverageParams(weight="population")
        )
    with pytest.raises(CoverageError, match="unknown candidate kind"):
        candidate_sites(engine, "rivers")  # type: ignore[arg-type]
    with pytest.raises(CoverageError, match="buffer_m"):
        isochrones(engine, stations, (5,), buffer_m=0)
    nocrs = gpd.GeoDataFrame(stations.drop(columns="geometry"), geometry=list(stations.geometry))
    with pytest.raises(CoverageError, match="no CRS"):
        village_coverage(engine, villages, nocrs)
