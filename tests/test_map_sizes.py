"""Map pages stay within the issue's size budgets on a city-sized area.

A page of 2,000 villages and 20,000 road segments must stay under 8 MB: the roads are
simplified in metres, coordinates rounded, each layer one GeoJSON object and each
two-way road drawn once.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from maps.offline import render_offline
from maps.overview import overview_map

UTM = "EPSG:32650"
X0, Y0 = 240_000.0, 3_380_000.0
MB = 1_000_000


def _city(n_roads: int = 20_000, n_villages: int = 2_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    # Road segments of 5 vertices each, wiggling, ~300 m long, over a 40 x 40 km area.
    start = rng.uniform(0, 40_000, size=(n_roads, 1, 2))
    steps = rng.normal(0, 40, size=(n_roads, 4, 2)) + rng.uniform(30, 70, size=(n_roads, 1, 2))
    xy = np.concatenate([start, start + np.cumsum(steps, axis=1)], axis=1) + [X0, Y0]
    lines = shapely.linestrings(xy)
    classes = np.array(["residential", "unclassified", "track", "tertiary", "secondary"])
    roads = gpd.GeoDataFrame(
        {
            "lit": rng.choice(["yes", "no", "unknown"], n_roads),
            "highway": rng.choice(classes, n_roads),
            "name": [f"{k % 500}号路" if k % 3 else None for k in range(n_roads)],
            "length_m": shapely.length(lines),
        },
        geometry=lines,
        crs=UTM,
    )
    pts = shapely.points(rng.uniform(0, 40_000, size=(n_villages, 2)) + [X0, Y0])
    villages = gpd.GeoDataFrame(
        {
            "code": [f"420115{k:06d}" for k in range(n_villages)],
            "name": [f"第{k}村" for k in range(n_villages)],
            "households": rng.integers(50, 900, n_villages),
            "kind": "village",
            "township": [f"{k % 40}镇" for k in range(n_villages)],
        },
        geometry=pts,
        crs=UTM,
    )
    st = shapely.points(rng.uniform(0, 40_000, size=(40, 2)) + [X0, Y0])
    stations = gpd.GeoDataFrame(
        {
            "id": [f"S{k}" for k in range(40)],
            "name": [f"{k}派出所" for k in range(40)],
            "kind": "station",
        },
        geometry=st,
        crs=UTM,
    )
    teams = gpd.GeoDataFrame(
        {"id": [], "name": [], "home_unit": [], "members": [], "skills": []},
        geometry=[],
        crs=UTM,
    )
    return roads, villages, stations, teams


def test_a_city_overview_of_2000_villages_and_20000_roads_is_under_8_mb():
    roads, villages, stations, teams = _city()
    html = render_offline(overview_map(roads, villages, stations, teams, title="城市"))
    size = len(html.encode("utf-8"))
    assert size <= 8 * MB, f"{size / MB:.2f} MB"
    # Every road and village is on the page: the budget is kept by encoding, not by
    # leaving data out.
    assert html.count('"type": "LineString"') + html.count('"type":"LineString"') == 20_000
