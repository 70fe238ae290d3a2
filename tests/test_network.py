"""Road network: reading OSM, trimming, simplification, SCC, speeds, cache, snapping."""

from __future__ import annotations

import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely

from geo.errors import NetworkError
from geo.network import (
    SPEEDS_KMH,
    BuildOptions,
    build_network,
    load_network,
    normalise_lit,
    parse_maxspeed,
    snap_geometries,
    snap_points,
)
from geo.network.tags import NOT_ROADS as _NOT_ROADS
from service.fetch import overpass_query

# --------------------------------------------------------------------------- helpers

LON0, LAT0 = 114.30, 30.90  # rural Wuhan, UTM 50N
DEG = 0.001  # ~96 m east-west, ~111 m north-south here


def osm_xml(nodes: dict[int, tuple[float, float]], ways: list[tuple[int, list[int], dict]]) -> str:
    """Build a small OSM XML document; node coordinates are (dx, dy) in DEG units."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (dx, dy) in nodes.items():
        lines.append(
            f'<node id="{nid}" version="1" '
            f'lat="{LAT0 + dy * DEG:.7f}" lon="{LON0 + dx * DEG:.7f}"/>'
        )
    for wid, refs, tags in ways:
        lines.append(f'<way id="{wid}" version="1">')
        lines += [f'<nd ref="{r}"/>' for r in refs]
        lines += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("</way>")
    lines.append("</osm>")
    return "\n".join(lines)


@pytest.fixture
def write_osm(tmp_path):
    def _write(nodes, ways, name="t.osm"):
        path = tmp_path / name
        path.write_text(osm_xml(nodes, ways), encoding="utf-8")
        return path

    return _write


# A square block (1-2-3-4) with a tail 4-5-6 of residential road, two-way.
SQUARE = {1: (0, 0), 2: (10, 0), 3: (10, 10), 4: (0, 10), 5: (-5, 15), 6: (-10, 20)}


def osmnx_reference(path, mode: str):
    """Our pipeline rebuilt from osmnx's own primitives: parse, filter, simplify, SCC."""
    old = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = [*old, "lit"]
    try:
        G = ox.graph_from_xml(path, simplify=False, retain_all=True, bidirectional=mode == "foot")
    finally:
        ox.settings.useful_tags_way = old
    allowed = set(SPEEDS_KMH[mode]) - _NOT_ROADS
    drop = [
        (u, v, k)
        for u, v, k, d in G.edges(keys=True, data=True)
        if d.get("highway") not in allowed or d.get("access") == "no"
    ]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    for _, _, d in G.edges(data=True):
        d["lit_class"] = normalise_lit([d.get("lit")])[0]
    G = ox.simplify_graph(G, edge_attrs_differ=["highway", "lit_class"])
    return ox.truncate.largest_component(G, strongly=True)


# --------------------------------------------------------------------------- tags


def test_lit_normalisation_keeps_unknown_unknown():
    raw = ["yes", "24/7", "automatic", "limited", "interval", "no", None, "", "maybe", "YES "]
    assert list(normalise_lit(raw)) == [
        "yes",
        "yes",
        "yes",
        "yes",
        "yes",
        "no",
        "unknown",
        "unknown",
        "unknown",
        "yes",
    ]


def test_lit_schedule_counts_as_lit():
    assert normalise_lit(["Mo-Su 18:00-24:00"])[0] == "yes"


def test_maxspeed_parsing():
    got = parse_maxspeed(["60", "30 mph", "40;60", "none", None, "CN:rural", "0", "50 km/h"])
    np.testing.assert_allclose(
        got, [60, 30 * 1.609344, 40, np.nan, np.nan, np.nan, np.nan, 50], equal_nan=True
    )


# --------------------------------------------------------------------------- building


def test_square_with_tail_simplifies_like_osmnx(write_osm):
    path = write_osm(
        SQUARE,
        [
            (100, [1, 2, 3], {"highway": "residential"}),
            (101, [3, 4, 1], {"highway": "residential"}),
            (102, [4, 5, 6], {"highway": "residential"}),
        ],
    )
    net = build_network(path)
    # Node 2 is interstitial; 1 (ring-only, but 2 neighbours and degree 4) too: osmnx
    # keeps 3 and 4 (junctions) and 6 (dead end) and... 1 is interstitial.
    ref = osmnx_reference(path, "car")
    assert len(net.nodes) == len(ref.nodes)
    assert len(net.edges) == len(ref.edges)
    assert set(net.nodes["osmid"]) == set(ref.nodes)


def test_lit_change_keeps_a_node(write_osm):
    nodes = {1: (0, 0), 2: (10, 0), 3: (20, 0)}
    ways = [
        (1, [1, 2], {"highway": "unclassified", "lit": "yes"}),
        (2, [2, 3], {"highway": "unclassified"}),
    ]
    net = build_network(write_osm(nodes, ways), BuildOptions(mode="foot"))
    assert sorted(net.nodes["osmid"]) == [1, 2, 3]
    assert sorted(net.edges["lit"]) == ["unknown", "unknown", "yes", "yes"]
    # Same classes on both sides: node 2 disappears, one two-way edge remains.
    ways[0][2].pop("lit")
    net = build_network(write_osm(nodes, ways, "b.osm"), BuildOptions(mode="foot"))
    assert sorted(net.nodes["osmid"]) == [1, 3]
    assert len(net.edges) == 2
    assert (np.diff(net.offsets) == 3).all()  # the merged geometry keeps node 2


def test_edge_lengths_times_and_geometry(write_osm):
    nodes = {1: (0, 0), 2: (10, 0), 3: (10, 10)}
    path = write_osm(nodes, [(1, [1, 2, 3], {"highway": "tertiary", "maxspeed": "30"})])
    net = build_network(path, BuildOptions(mode="car"))
    e = net.edges
    geom_len = shapely.length(net.edge_geometry)
    np.testing.assert_allclose(e["length_m"], geom_len, rtol=1e-9)
    # maxspeed 30 overrides the tertiary table speed for cars, not for walkers.
    np.testing.assert_allclose(e["time_car_s"], e["length_m"] / (30 / 3.6))
    np.testing.assert_allclose(e["time_foot_s"], e["length_m"] / (4.5 / 3.6))
    np.testing.assert_allclose(e["travel_time_s"], e["time_car_s"])
    # Geometry runs from u to v.
    xy = net.nodes[["x", "y"]].to_numpy()
    for i in range(len(e)):
        c = net.coords[net.offsets[i] : net.offsets[i + 1]]
        np.testing.assert_allclose(c[0], xy[e["u"][i]])
        np.testing.assert_allclose(c[-1], xy[e["v"][i]])
    assert net.crs.to_epsg() == 32650


def test_ways_cut_at_the_extract_edge_are_trimmed_not_fatal(write_osm):
    # Way 1 leaves the extract (node 99 missing) and comes back: two pieces remain.
    nodes = {1: (0, 0), 2: (10, 0), 3: (30, 0), 4: (40, 0), 5: (10, 10), 6: (30, 10)}
    ways = [
        (1, [1, 2, 99, 3, 4], {"highway": "residential"}),
        (2, [2, 5, 6, 3], {"highway": "residential"}),
    ]
    path = write_osm(nodes, ways)
    net = build_network(path, BuildOptions(simplify=False))
    assert net.source.ways_trimmed == 1
    assert net.source.ways_read == 2
    osm = net.nodes["osmid"].to_numpy()
    pairs = set(zip(osm[net.edges["u"]], osm[net.edges["v"]], strict=True))
    # No edge may jump over the missing node: 2 and 3 are linked only through 5-6.
    assert pairs == {(1, 2), (2, 1), (3, 4), (4, 3), (2, 5), (5, 2), (5, 6), (6, 5), (6, 3), (3, 6)}
    simplified = build_network(path)
    assert sorted(simplified.nodes["osmid"]) == [1, 4]
    assert (np.diff(simplified.offsets) == 6).all()  # 1-2-5-6-3-4 in one piece
    assert set(simplified.edges["osm_ways"]) == {"1;2;1"}


def test_oneway_spur_is_dropped_and_reported(write_osm):
    nodes = {**SQUARE, 7: (20, 0)}
    ways = [
        (100, [1, 2, 3, 4, 1], {"highway": "residential"}),
        (101, [4, 5, 6], {"highway": "residential"}),
        (102, [2, 7], {"highway": "residential", "oneway": "yes"}),
    ]
    net = build_network(write_osm(nodes, ways))
    assert 7 not in set(net.nodes["osmid"])
    assert net.dropped.components == 1
    assert net.dropped.nodes == 1
    assert net.dropped.edges == 1
    assert net.dropped.road_km == pytest.approx(10 * DEG * 96.0, rel=0.05)
    # Walkers may go back up a one-way street, so nothing is dropped for foot.
    foot = build_network(write_osm(nodes, ways, "f.osm"), BuildOptions(mode="foot"))
    assert 7 in set(foot.nodes["osmid"])
    assert foot.dropped.components == 0


def test_reversed_oneway_runs_against_node_order(write_osm):
    nodes = {1: (0, 0), 2: (10, 0), 3: (10, 10), 4: (0, 10)}
    ways = [
        (1, [1, 2, 3, 4], {"highway": "residential", "oneway": "-1"}),
        (2, [1, 4], {"highway": "residential", "oneway": "yes"}),
    ]
    net = build_network(write_osm(nodes, ways), BuildOptions(simplify=False))
    osm = net.nodes["osmid"].to_numpy()
    pairs = set(zip(osm[net.edges["u"]], osm[net.edges["v"]], strict=True))
    assert pairs == {(2, 1), (3, 2), (4, 3), (1, 4)}


def test_mode_access(write_osm):
    nodes = {1: (0, 0), 2: (10, 0), 3: (20, 0), 4: (30, 0)}
    ways = [
        (1, [1, 2], {"highway": "motorway"}),
        (2, [2, 3], {"highway": "residential"}),
        (3, [3, 4], {"highway": "footway"}),
    ]
    got = {}
    for mode in ("car", "motorbike", "foot"):
        net = build_network(write_osm(nodes, ways, f"{mode}.osm"), BuildOptions(mode=mode))
        got[mode] = sorted(net.nodes["osmid"])
    # Nodes stay where the road class changes (2 and 3), so lighting and class survive.
    assert got == {"car": [1, 2, 3], "motorbike": [2, 3], "foot": [2, 3, 4]}


def test_bbox_and_polygon_clip(write_osm):
    nodes = {i: (10 * i, 0) for i in range(1, 7)}
    path = write_osm(nodes, [(1, list(nodes), {"highway": "residential"})])
    bbox = (LON0 + 15 * DEG, LAT0 - DEG, LON0 + 45 * DEG, LAT0 + DEG)
    net = build_network(path, BuildOptions(bbox=bbox, simplify=False))
    assert sorted(net.nodes["osmid"]) == [2, 3, 4]
    poly = shapely.box(*bbox).wkt
    net2 = build_network(path, BuildOptions(polygon_wkt=poly, simplify=False))
    assert sorted(net2.nodes["osmid"]) == [2, 3, 4]


def test_pbf_gives_the_same_network_as_xml(write_osm, tmp_path):
    import osmium

    xml = write_osm(
        SQUARE,
        [
            (100, [1, 2, 3, 4, 1], {"highway": "residential", "lit": "no"}),
            (101, [4, 5, 6], {"highway": "track"}),
        ],
    )
    pbf = tmp_path / "t.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    a, b = build_network(xml), build_network(pbf)
    pd.testing.assert_frame_equal(a.nodes, b.nodes)
    pd.testing.assert_frame_equal(a.edges, b.edges)
    np.testing.assert_array_equal(a.coords, b.coords)


def test_to_networkx_matches_arrays(write_osm):
    path = write_osm(
        SQUARE,
        [
            (100, [1, 2, 3, 4, 1], {"highway": "residential"}),
            (101, [4, 5, 6], {"highway": "track"}),
        ],
    )
    net = build_network(path)
    G = net.to_networkx()
    assert G.number_of_nodes() == len(net.nodes)
    assert G.number_of_edges() == len(net.edges)
    assert all(d["geometry"].length == pytest.approx(d["length_m"]) for *_, d in G.edges(data=True))


# --------------------------------------------------------------------------- errors


def test_errors(write_osm, tmp_path):
    with pytest.raises(NetworkError, match="does not exist"):
        build_network(tmp_path / "missing.osm")
    bad = tmp_path / "roads.csv"
    bad.write_text("x")
    with pytest.raises(NetworkError, match="unsupported"):
        build_network(bad)
    not_shp = tmp_path / "roads.shp"
    not_shp.write_text("x")
    with pytest.raises(NetworkError, match="roads.shp"):
        build_network(not_shp)
    garbage = tmp_path / "garbage.osm"
    garbage.write_text("this is not xml")
    with pytest.raises(NetworkError, match="garbage.osm"):
        build_network(garbage)
    empty = write_osm({1: (0, 0), 2: (1, 0)}, [(1, [1, 2], {"building": "yes"})], "nohw.osm")
    with pytest.raises(NetworkError, match="no highway ways"):
        build_network(empty)
    only_foot = write_osm({1: (0, 0), 2: (1, 0)}, [(1, [1, 2], {"highway": "footway"})], "f.osm")
    with pytest.raises(NetworkError, match="no road usable by mode 'car'"):
        build_network(only_foot)
    ring = write_osm(SQUARE, [(1, [1, 2, 3, 4, 1], {"highway": "residential"})], "ring.osm")
    with pytest.raises(NetworkError, match="no connected road network left"):
        build_network(ring)  # an isolated ring has no endpoint; osmnx drops it too
    with pytest.raises(NetworkError, match="unknown travel mode 'bus'"):
        BuildOptions(mode="bus")  # type: ignore[arg-type]
    with pytest.raises(NetworkError, match="west < east"):
        BuildOptions(bbox=(115.0, 30.0, 114.0, 31.0))
    with pytest.raises(NetworkError, match="not valid WKT"):
        BuildOptions(polygon_wkt="POLYGON((")
    with pytest.raises(NetworkError, match="Polygon"):
        BuildOptions(polygon_wkt="POINT (1 2)")


# --------------------------------------------------------------------------- cache


def test_cache_roundtrip_and_invalidation(write_osm, tmp_path):
    ways = [
        (100, [1, 2, 3, 4, 1], {"highway": "residential", "name": "环村路", "lit": "yes"}),
        (101, [4, 5, 6], {"highway": "track"}),
    ]
    path = write_osm(SQUARE, ways)
    cache = tmp_path / "cache"
    first = load_network(path, cache_dir=cache)
    second = load_network(path, cache_dir=cache)
    assert not first.source.from_cache
    assert second.source.from_cache
    pd.testing.assert_frame_equal(first.nodes, second.nodes)
    pd.testing.assert_frame_equal(first.edges, second.edges)
    np.testing.assert_array_equal(first.coords, second.coords)
    assert first.crs == second.crs
    assert first.dropped == second.dropped
    assert list(cache.glob("*.net")) and not list(cache.glob(".tmp-*"))
    # Other options or other bytes make another entry.
    foot = load_network(path, BuildOptions(mode="foot"), cache_dir=cache)
    assert not foot.source.from_cache
    path.write_text(osm_xml(SQUARE, [ways[0], (101, [4, 5], {"highway": "track"})]), "utf-8")
    changed = load_network(path, cache_dir=cache)
    assert not changed.source.from_cache
    assert sorted(changed.nodes["osmid"]) == [4, 5] != sorted(first.nodes["osmid"])
    # A corrupt cache file is rebuilt, not trusted.
    for f in cache.glob("*.net"):
        f.write_bytes(b"broken")
    again = load_network(path, cache_dir=cache)
    assert not again.source.from_cache
    assert len(again.edges) == len(changed.edges)


# --------------------------------------------------------------------------- snapping


def test_snap_matches_brute_force(write_osm):
    rng = np.random.default_rng(7)
    nodes = {i + 1: (float(x), float(y)) for i, (x, y) in enumerate(rng.uniform(0, 60, (40, 2)))}
    ways = [(i, [i, i + 1], {"highway": "residential"}) for i in range(1, 40)]
    net = build_network(write_osm(nodes, ways), BuildOptions(simplify=False))
    xmin, ymin = net.nodes[["x", "y"]].min()
    xmax, ymax = net.nodes[["x", "y"]].max()
    px = rng.uniform(xmin - 2000, xmax + 2000, 500)
    py = rng.uniform(ymin - 2000, ymax + 2000, 500)
    res = snap_points(net, px, py, max_distance_m=300)
    brute = shapely.distance(net.edge_geometry[None, :], shapely.points(px, py)[:, None]).min(
        axis=1
    )
    np.testing.assert_allclose(res.distance_m, brute, rtol=1e-9, atol=1e-6)
    assert (res.flagged == (brute > 300)).all()
    snapped = shapely.points(res.snapped_x, res.snapped_y)
    np.testing.assert_allclose(
        shapely.distance(snapped, shapely.points(px, py)), res.distance_m, atol=1e-6
    )
    # The chosen node is the nearer end of the chosen edge, measured along the road.
    length = net.edges["length_m"].to_numpy()[res.edge]
    assert (res.node_distance_m <= length / 2 + 1e-9).all()


def test_equally_near_roads_go_to_the_lowest_road_whatever_the_order_asked(write_osm):
    """A point nearest a crossing is equally near every road meeting there: it goes to
    the lowest-numbered of them (brute force), the same asked alone or among others."""
    from geo.network import Roads, SnapIndex

    # A plus-shaped crossing at node 1, and a few unrelated roads around it.
    nodes = {1: (0.0, 0.0), 2: (500.0, 0.0), 3: (-500.0, 0.0), 4: (0.0, 500.0), 5: (0.0, -500.0)}
    nodes |= {6: (2000.0, 2000.0), 7: (2600.0, 2000.0), 8: (2600.0, 2700.0)}
    ways = [(1, [2, 1], {"highway": "residential"}), (2, [1, 3], {"highway": "residential"})]
    ways += [(3, [4, 1], {"highway": "residential"}), (4, [1, 5], {"highway": "residential"})]
    ways += [(5, [6, 7, 8], {"highway": "residential"})]
    net = build_network(write_osm(nodes, ways), BuildOptions(simplify=False))
    index = SnapIndex.of(net)
    roads = Roads.of(net)
    x0, y0 = net.nodes.loc[net.nodes["osmid"] == 1, ["x", "y"]].to_numpy()[0]
    rng = np.random.default_rng(5)
    # Exactly on the crossing (equally near all four roads), then anywhere.
    px = np.r_[x0, rng.uniform(x0 - 900, x0 + 2900, 200)]
    py = np.r_[y0, rng.uniform(y0 - 900, y0 + 2900, 200)]
    d = shapely.distance(roads.geometry[None, :], shapely.points(px, py)[:, None])
    best = d.min(axis=1)
    lowest = np.argmax(d <= best[:, None] + 1e-9, axis=1)
    res = index.snap(px, py, max_distance_m=np.inf)
    np.testing.assert_array_equal(res.road, lowest)
    np.testing.assert_allclose(res.distance_m, best, atol=1e-9)
    assert np.count_nonzero(d[0] <= best[0] + 1e-9) == 4
    for i in (0, 1, 2, 150):
        one = index.snap(px[i : i + 1], py[i : i + 1], max_distance_m=np.inf)
        assert one.road[0] == lowest[i]


def test_snap_geometries_handles_missing_and_polygons(write_osm):
    import geopandas as gpd

    ring_and_tail = [
        (1, [1, 2, 3, 4, 1], {"highway": "residential"}),
        (2, [4, 5, 6], {"highway": "residential"}),
    ]
    net = build_network(write_osm(SQUARE, ring_and_tail))
    pts = gpd.GeoSeries(
        [
            shapely.Point(LON0 + 5 * DEG, LAT0 + 0.0001),
            None,
            shapely.box(LON0 + 4 * DEG, LAT0 + 4 * DEG, LON0 + 6 * DEG, LAT0 + 6 * DEG),
        ],
        crs=4326,
    ).to_crs(net.crs)
    res = snap_geometries(net, pts, max_distance_m=300)
    assert res.distance_m[0] == pytest.approx(11.1, abs=0.5)
    assert res.flagged[1] and np.isnan(res.distance_m[1]) and res.edge[1] == -1
    assert 400 < res.distance_m[2] < 600 and res.flagged[2]


def test_snap_errors(write_osm):
    net = build_network(write_osm(SQUARE, [(1, [1, 2, 3, 4, 5, 6], {"highway": "residential"})]))
    with pytest.raises(NetworkError, match="max_distance_m"):
        snap_points(net, np.zeros(1), np.zeros(1), max_distance_m=0)
    with pytest.raises(NetworkError, match="non-finite"):
        snap_points(net, np.array([np.nan]), np.zeros(1))


def test_overpass_query_for_a_polygon():
    q = overpass_query(shapely.box(114.0, 30.0, 114.1, 30.1))
    assert q.startswith("[out:xml]")
    assert 'way["highway"](poly:"30.0000000 114.1000000' in q
    with pytest.raises(NetworkError, match="non-empty"):
        overpass_query(shapely.Polygon())


# --------------------------------------------------------------------------- real data


@pytest.mark.shared
@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("nonwuhan_guixi_jiangxi_cn.osm.bz2", "car"),
        ("nonwuhan_guixi_jiangxi_cn.osm.bz2", "foot"),
        ("wuhan_optics_valley_gaoxin_cn.osm.bz2", "car"),
    ],
)
def test_real_extract_matches_osmnx(shared_path, name, mode):
    """Our vectorised build equals osmnx's parse + simplify + SCC on real OSM files."""
    path = shared_path(name)
    net = build_network(path, BuildOptions(mode=mode))
    ref = osmnx_reference(path, mode)
    assert len(net.nodes) == len(ref.nodes)
    assert len(net.edges) == len(ref.edges)
    assert set(net.nodes["osmid"]) == set(ref.nodes)
    ours = net.edges["length_m"].sum()
    theirs = sum(d["length"] for *_, d in ref.edges(data=True))
    assert ours == pytest.approx(theirs, rel=3e-3)  # UTM plane vs great circle


@pytest.mark.shared
def test_guixi_counts(shared_path):
    """Guixi's raw facts (SOURCES.md): 176 highway ways, no lit tags, nothing cut off."""
    net = build_network(shared_path("nonwuhan_guixi_jiangxi_cn.osm.bz2"))
    s = net.summary()
    assert s.source.ways_read == 176
    assert s.source.ways_trimmed == 0
    assert s.lit_km["yes"] == 0 and s.lit_km["no"] == 0 and s.lit_km["unknown"] > 0
    assert s.crs == "EPSG:32650"


def twin_pairs_have_one_forward_edge(net):
    e = net.edges.assign(i=np.arange(len(net.edges)), L=net.edges["length_m"].round(3))
    pairs = e.merge(
        e.rename(columns={"u": "v", "v": "u", "i": "j", "reversed": "rev_j"})[
            ["u", "v", "L", "j", "rev_j"]
        ],
        on=["u", "v", "L"],
    )
    pairs = pairs[pairs["i"] < pairs["j"]]
    assert len(pairs) > 0
    assert (pairs["reversed"] != pairs["rev_j"]).all()
    twins = set(pairs["i"]) | set(pairs["j"])
    oneway = e[~e["i"].isin(twins)]
    assert not oneway["reversed"].any()


def test_every_two_way_road_counts_once(write_osm):
    # Way 2 is drawn against way 1, so the merged 1-2-3 edge mixes both directions.
    nodes = {1: (0, 0), 2: (10, 0), 3: (20, 0), 4: (20, 10), 5: (0, 10)}
    ways = [
        (1, [1, 2], {"highway": "residential"}),
        (2, [3, 2], {"highway": "residential"}),
        (3, [3, 4, 5, 1], {"highway": "residential"}),
        (4, [3, 5], {"highway": "residential"}),
    ]
    net = build_network(write_osm(nodes, ways))
    twin_pairs_have_one_forward_edge(net)
    s = net.summary()
    assert s.road_km == pytest.approx(s.directed_km / 2)


@pytest.mark.shared
def test_real_extract_twins(shared_path):
    net = build_network(shared_path("wuhan_optics_valley_gaoxin_cn.osm.bz2"))
    twin_pairs_have_one_forward_edge(net)


def test_sample_twins(sample_net):
    twin_pairs_have_one_forward_edge(sample_net)


@pytest.mark.shared
def test_edge_twins_pair_every_two_way_road(shared_path):
    """Twins are mutual, run the other way, and are found even when way ids differ."""
    from geo.network import edge_twins

    net = build_network(shared_path("wuhan_optics_valley_gaoxin_cn.osm.bz2"))
    twin = edge_twins(net).astype(np.int64)
    has = twin >= 0
    assert has.sum() > 0
    assert (twin[twin[has]] == np.flatnonzero(has)).all()
    u, v = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
    assert (u[has] == v[twin[has]]).all() and (v[has] == u[twin[has]]).all()
    # Every backward copy of a two-way road has its forward twin.
    assert has[net.edges["reversed"].to_numpy()].all()
    assert (
        net.edges["reversed"].to_numpy()[has] != net.edges["reversed"].to_numpy()[twin[has]]
    ).all()
