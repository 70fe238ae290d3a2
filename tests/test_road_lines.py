"""Road networks from GIS line layers: same graph as OSM, class mapping, topology, errors."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geo.errors import NetworkError
from geo.network import (
    BuildOptions,
    LineLayer,
    RoadNetwork,
    build_network,
    build_networks,
    file_sha256,
    load_network,
    read_line_ways,
    source_sha256,
)
from geo.network.osm import TAG_KEYS, read_osm_ways

# --------------------------------------------------------------------------- helpers

#: A spot of rural Wuhan, in UTM 50N metres; hand-built layers are drawn in metres here.
UTM = pyproj.CRS.from_epsg(32650)
X0, Y0 = 240_000.0, 3_420_000.0
_TO_LONLAT = pyproj.Transformer.from_crs(UTM, 4326, always_xy=True)

MODES_AND_VIEWS = [
    BuildOptions(mode=m, component=c) for m in ("car", "foot") for c in ("largest", "all")
]


def line(*xy: tuple[float, float]) -> shapely.LineString:
    """A WGS84 line through points given in metres east/north of (X0, Y0)."""
    lon, lat = _TO_LONLAT.transform([X0 + x for x, _ in xy], [Y0 + y for _, y in xy])
    return shapely.LineString(np.column_stack([lon, lat]))


def write_layer(path: Path, rows: list[dict], geoms: list, crs=4326, **kw) -> Path:
    gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=crs).to_file(path, **kw)
    return path


def osm_to_layer(osm: Path, out: Path) -> Path:
    """Write one line feature per OSM way (split where nodes are missing), OSM tags as columns."""
    w = read_osm_ways(osm)
    v = w.node_valid
    start = np.ones(len(v), dtype=bool)
    start[1:] = (w.node_way[1:] != w.node_way[:-1]) | (v[1:] != v[:-1])
    run = np.cumsum(start) - 1
    sel = v & (np.bincount(run)[run] >= 2)
    _, part = np.unique(run[sel], return_inverse=True)
    geoms = shapely.linestrings(np.column_stack([w.node_lon[sel], w.node_lat[sel]]), indices=part)
    first = np.r_[0, np.flatnonzero(np.diff(part)) + 1]
    way = w.node_way[sel][first]
    table = w.tags.iloc[way].reset_index(drop=True)
    table.insert(0, "osm_id", w.way_id[way])
    gpd.GeoDataFrame(table, geometry=geoms, crs=4326).to_file(out)
    return out


def edge_table(net: RoadNetwork) -> pd.DataFrame:
    """Every edge by its end coordinates, with what routing and lighting read from it."""
    e, n = net.edges, net.nodes
    table = pd.DataFrame(
        {
            "u_lon": n["lon"].to_numpy()[e["u"]],
            "u_lat": n["lat"].to_numpy()[e["u"]],
            "v_lon": n["lon"].to_numpy()[e["v"]],
            "v_lat": n["lat"].to_numpy()[e["v"]],
            "length_m": e["length_m"].to_numpy(),
            "travel_time_s": e["travel_time_s"].to_numpy(),
            "lit": e["lit"].to_numpy(),
            "highway": e["highway"].to_numpy(),
            "oneway": e["oneway"].to_numpy(),
            "reversed": e["reversed"].to_numpy(),
            "osm_ways": e["osm_ways"].to_numpy(),
        }
    )
    return table.sort_values(list(table.columns[:5])).reset_index(drop=True)


def assert_same_network(a: RoadNetwork, b: RoadNetwork, *, way_ids: bool = False) -> None:
    assert len(a.nodes) == len(b.nodes)
    assert len(a.edges) == len(b.edges)
    ta, tb = edge_table(a), edge_table(b)
    ends = ["u_lon", "u_lat", "v_lon", "v_lat"]
    assert set(map(tuple, ta[ends].to_numpy())) == set(map(tuple, tb[ends].to_numpy()))
    np.testing.assert_allclose(ta["length_m"], tb["length_m"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(ta["travel_time_s"], tb["travel_time_s"], rtol=0, atol=1e-6)
    for col in ("lit", "highway", "oneway", "reversed", *(("osm_ways",) if way_ids else ())):
        assert (ta[col].to_numpy() == tb[col].to_numpy()).all(), col
    np.testing.assert_allclose(a.summary().road_km, b.summary().road_km, atol=1e-9)


def build_all(path, spec=None, **kw):
    return build_network(path, BuildOptions(component="all", **kw), lines=spec)


# --------------------------------------------------------------------------- same graph as OSM


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_sample_converted_to_a_layer_builds_the_osm_network(sample_files, tmp_path, suffix):
    """A layer converted from the sample's OSM file gives the OSM network, edge for edge."""
    layer = osm_to_layer(sample_files.roads, tmp_path / f"roads{suffix}")
    osm_nets = build_networks(sample_files.roads, MODES_AND_VIEWS)
    layer_nets = build_networks(layer, MODES_AND_VIEWS)
    for a, b in zip(osm_nets, layer_nets, strict=True):
        assert_same_network(a, b, way_ids=True)
    assert (osm_nets[0].edges["lit"] == "yes").any()  # lighting really was compared
    assert layer_nets[0].source.kind == "lines" and osm_nets[0].source.kind == "osm"


@pytest.mark.shared
@pytest.mark.parametrize(
    "name", ["nonwuhan_guixi_jiangxi_cn.osm.bz2", "wuhan_optics_valley_gaoxin_cn.osm.bz2"]
)
@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_real_extract_converted_to_a_layer_builds_the_osm_network(
    shared_path, tmp_path, name, suffix
):
    """Real OSM extracts, converted to line layers, build their OSM networks exactly."""
    osm = shared_path(name)
    layer = osm_to_layer(osm, tmp_path / f"roads{suffix}")
    for a, b in zip(
        build_networks(osm, MODES_AND_VIEWS), build_networks(layer, MODES_AND_VIEWS), strict=True
    ):
        assert_same_network(a, b, way_ids=True)


def test_shapefile_and_zipped_shapefile_build_the_osm_network(tmp_path):
    """A shapefile (and the same zipped) of a small OSM file builds the OSM network."""
    osm = tmp_path / "t.osm"
    nodes = {1: (0, 0), 2: (100, 0), 3: (100, 100), 4: (0, 100), 5: (-50, 150)}
    lonlat = {k: _TO_LONLAT.transform(X0 + x, Y0 + y) for k, (x, y) in nodes.items()}
    ways = [
        (10, [1, 2, 3], {"highway": "tertiary", "lit": "yes", "maxspeed": "30"}),
        (11, [3, 4, 1], {"highway": "residential", "oneway": "yes", "name": "东街"}),
        (12, [4, 5], {"highway": "track", "lit": "no"}),
    ]
    xml = ['<osm version="0.6">']
    xml += [f'<node id="{k}" lat="{la:.7f}" lon="{lo:.7f}"/>' for k, (lo, la) in lonlat.items()]
    for wid, refs, tags in ways:
        xml.append(f'<way id="{wid}">')
        xml += [f'<nd ref="{r}"/>' for r in refs]
        xml += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        xml.append("</way>")
    osm.write_text("\n".join([*xml, "</osm>"]), encoding="utf-8")
    shp = osm_to_layer(osm, tmp_path / "roads.shp")
    zipped = tmp_path / "roads.shp.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for part in tmp_path.glob("roads.*"):
            if part.suffix != ".zip":
                z.write(part, part.name)
    want = build_all(osm)
    for layer in (shp, zipped):
        got = build_all(layer)
        assert_same_network(want, got)
        assert set(got.edges["name"].dropna()) == {"东街"}


# --------------------------------------------------------------------------- attributes


def test_chinese_class_names_are_mapped(tmp_path):
    """Office class names map to OSM classes; OSM classes pass through; speeds follow."""
    path = write_layer(
        tmp_path / "roads.geojson",
        [{"dj": "县道"}, {"dj": "村道"}, {"dj": "residential"}, {"dj": "机耕路"}],
        [
            line((0, 0), (500, 0)),
            line((500, 0), (500, 500)),
            line((500, 500), (0, 0)),
            line((0, 0), (-300, 0)),
        ],
    )
    spec = LineLayer(
        class_column="DJ",  # found case-insensitively
        classes={"县道": "secondary", "村道": "unclassified", "机耕路": "track"},
    )
    net = build_all(path, spec)
    by_class = net.edges.groupby("highway")["length_m"].first()
    assert sorted(by_class.index) == ["residential", "secondary", "track", "unclassified"]
    e = net.edges.set_index("highway")
    assert e.loc["secondary", "travel_time_s"].iloc[0] == pytest.approx(500 / (45 / 3.6), rel=1e-3)


def test_class_mapped_to_no_leaves_those_roads_out(tmp_path):
    """Mapping a class to 'no' drops its roads instead of raising."""
    path = write_layer(
        tmp_path / "roads.geojson",
        [{"class": "县道"}, {"class": "规划路"}],
        [line((0, 0), (500, 0)), line((500, 0), (900, 0))],
    )
    net = build_all(path, LineLayer(classes={"县道": "secondary", "规划路": "no"}))
    assert set(net.edges["highway"]) == {"secondary"}


def test_unknown_class_values_are_an_error_naming_them(tmp_path):
    """Unmapped class names raise, naming file, column, values with counts and the fix."""
    path = write_layer(
        tmp_path / "roads.geojson",
        [{"fclass": "县道"}, {"fclass": "县道"}, {"fclass": "乡道"}, {"fclass": "primary"}],
        [
            line((0, 0), (10, 0)),
            line((10, 0), (20, 0)),
            line((20, 0), (30, 0)),
            line((30, 0), (40, 0)),
        ],
    )
    with pytest.raises(NetworkError, match=r"roads\.geojson: column 'fclass' has 3") as err:
        build_all(path)
    text = str(err.value)
    assert "'县道' (2 features)" in text and "'乡道' (1 feature)" in text
    assert "primary" not in text.split("OSM highway class:")[1].split(";")[0]
    assert "县道=tertiary" in text and "'no'" in text


def test_gbk_shapefile_without_cpg_needs_its_encoding(tmp_path):
    """Mis-decoded class names get a hint; the encoding option reads them right."""
    path = write_layer(
        tmp_path / "roads.shp",
        [{"class": "县道", "name": "东路"}],
        [line((0, 0), (300, 0))],
        encoding="GBK",
    )
    path.with_suffix(".cpg").unlink()
    with pytest.raises(NetworkError, match=r"mis-decoded.*--road-encoding GBK"):
        build_all(path)
    net = build_all(path, LineLayer(encoding="GBK", classes={"县道": "secondary"}))
    assert set(net.edges["highway"]) == {"secondary"} and set(net.edges["name"]) == {"东路"}


def test_class_column_is_found_or_named(tmp_path):
    """Without a known class column the error lists the columns and the option to use."""
    path = write_layer(tmp_path / "roads.geojson", [{"lx": "县道"}], [line((0, 0), (10, 0))])
    with pytest.raises(
        NetworkError, match=r"no road class column.*columns: lx.*--road-class-column"
    ):
        build_all(path)
    with pytest.raises(NetworkError, match=r"has no column 'grade' \(given by --road-class-column"):
        build_all(path, LineLayer(class_column="grade"))


def test_geofabrik_classes_and_columns(tmp_path):
    """Geofabrik shapefile columns read as is: fclass, track_gradeN, maxspeed 0 = untagged."""
    path = write_layer(
        tmp_path / "gis_osm_roads_free_1.shp",
        [
            {"osm_id": "101", "fclass": "track_grade2", "maxspeed": 0, "oneway": "B"},
            {"osm_id": "102", "fclass": "unknown", "maxspeed": 20, "oneway": "B"},
        ],
        [line((0, 0), (300, 0)), line((300, 0), (300, 300))],
    )
    net = build_all(path)
    e = net.edges.set_index("highway")
    assert sorted(set(net.edges["highway"])) == ["road", "track"]
    assert np.isnan(e.loc["track", "maxspeed_kmh"]).all()
    assert (e.loc["road", "maxspeed_kmh"] == 20).all()
    assert set(net.edges["osmid"]) == {101, 102}


def test_attribute_columns_by_mapping_and_case(tmp_path):
    """`columns` names attribute columns; others are found case-insensitively."""
    path = write_layer(
        tmp_path / "roads.gpkg",
        [
            {"highway": "tertiary", "ROAD_NAME": "桂花路", "LIGHTING": "是", "MaxSpeed": 40.0},
            {"highway": "tertiary", "ROAD_NAME": "桂花路", "LIGHTING": "否", "MaxSpeed": None},
            {"highway": "tertiary", "ROAD_NAME": None, "LIGHTING": None, "MaxSpeed": None},
        ],
        [line((0, 0), (300, 0)), line((300, 0), (600, 0)), line((600, 0), (900, 0))],
    )
    spec = LineLayer(columns={"name": "road_name", "lit": "LIGHTING"})
    net = build_all(path, spec)
    e = net.edges[~net.edges["reversed"]].sort_values("length_m")
    by_lit = net.edges.groupby("lit")["maxspeed_kmh"].max()
    assert set(net.edges["lit"]) == {"yes", "no", "unknown"}
    assert by_lit["yes"] == 40 and np.isnan(by_lit["no"])
    assert set(e["name"].dropna()) == {"桂花路"}
    with pytest.raises(NetworkError, match=r"has no column 'LAMPS' \(given by --road-columns lit="):
        build_all(path, LineLayer(columns={"lit": "LAMPS"}))


def test_bad_oneway_value_is_an_error(tmp_path):
    """A oneway value that is neither OSM's nor Geofabrik's raises, naming it."""
    path = write_layer(
        tmp_path / "roads.geojson",
        [{"highway": "residential", "oneway": "单行"}],
        [line((0, 0), (100, 0))],
    )
    with pytest.raises(NetworkError, match=r"column 'oneway' has 1 .*'单行' \(1 feature\)"):
        build_all(path)


# --------------------------------------------------------------------------- directions


def directed_pairs(net: RoadNetwork) -> set[tuple[tuple[float, float], tuple[float, float]]]:
    t = edge_table(net)
    return {((a, b), (c, d)) for a, b, c, d in t[["u_lon", "u_lat", "v_lon", "v_lat"]].to_numpy()}


def test_geofabrik_oneway_f_t_b(tmp_path):
    """F is one-way as drawn, T one-way against the drawing, B both ways."""
    path = write_layer(
        tmp_path / "roads.geojson",
        [
            {"fclass": "residential", "oneway": "F"},
            {"fclass": "residential", "oneway": "T"},
            {"fclass": "residential", "oneway": "B"},
        ],
        [line((0, 0), (100, 0)), line((0, 100), (100, 100)), line((0, 200), (100, 200))],
    )
    net = build_all(path)
    pairs = directed_pairs(net)
    a0, a1 = line((0, 0), (100, 0)).coords
    b0, b1 = line((0, 100), (100, 100)).coords
    c0, c1 = line((0, 200), (100, 200)).coords

    def has(p, q):
        return any(
            np.allclose(u, p, rtol=0, atol=1e-7) and np.allclose(v, q, rtol=0, atol=1e-7)
            for u, v in pairs
        )

    assert has(a0, a1) and not has(a1, a0)
    assert has(b1, b0) and not has(b0, b1)
    assert has(c0, c1) and has(c1, c0)
    assert len(net.edges) == 4


@pytest.mark.parametrize("mode", ["car", "foot"])
def test_one_feature_per_direction_equals_one_two_way_feature(tmp_path, mode):
    """Two opposite one-way features along the same vertices are one two-way road."""
    pts = [(0, 0), (200, 10), (400, 0)]
    tags = {"highway": "tertiary", "lit": "yes", "name": "环路"}
    # A residential loop back makes a strongly connected core with junctions at both ends.
    loop = {"highway": "residential"}
    back = line((400, 0), (400, 300), (0, 300), (0, 0))
    two_way = write_layer(tmp_path / "two_way.geojson", [tags, loop], [line(*pts), back])
    per_direction = write_layer(
        tmp_path / "per_direction.geojson",
        [{**tags, "oneway": "yes"}, {**tags, "oneway": "yes"}, loop],
        [line(*pts), line(*pts[::-1]), back],
    )
    reverse_tagged = write_layer(  # the second drawn the same way, tagged -1
        tmp_path / "reverse_tagged.geojson",
        [{**tags, "oneway": "yes"}, {**tags, "oneway": "-1"}, loop],
        [line(*pts), line(*pts), back],
    )
    want = build_network(two_way, BuildOptions(mode=mode))
    for layer in (per_direction, reverse_tagged):
        got = build_network(layer, BuildOptions(mode=mode))
        assert_same_network(want, got)
    assert len(want.edges) == 4 and want.summary().road_km == pytest.approx(
        (400.25 + 1000) / 1000, rel=1e-3
    )


def test_duplicate_feature_counts_once(tmp_path):
    """A road drawn twice (same vertices, same attributes) is one road, not two."""
    tags = {"highway": "residential"}
    once = write_layer(tmp_path / "once.geojson", [tags], [line((0, 0), (100, 0), (200, 0))])
    twice = write_layer(
        tmp_path / "twice.geojson",
        [tags, tags],
        [line((0, 0), (100, 0), (200, 0)), line((200, 0), (100, 0), (0, 0))],
    )
    assert_same_network(build_all(once), build_all(twice))


def test_opposite_features_with_different_attributes_stay_apart(tmp_path):
    """Per-direction features that differ (a lower limit one way) are kept as two one-ways."""
    path = write_layer(
        tmp_path / "roads.geojson",
        [
            {"highway": "secondary", "oneway": "yes", "maxspeed": "60"},
            {"highway": "secondary", "oneway": "yes", "maxspeed": "40"},
        ],
        [line((0, 0), (1000, 0)), line((1000, 0), (0, 0))],
    )
    net = build_all(path)
    assert sorted(net.edges["maxspeed_kmh"]) == [40, 60]
    assert net.edges["oneway"].all()


def test_directed_layer_reads_untagged_features_as_one_way(tmp_path):
    """directed=True: a feature without oneway is one direction; opposite pairs two-way."""
    path = write_layer(
        tmp_path / "roads.geojson",
        [{"highway": "primary"}, {"highway": "primary"}, {"highway": "primary"}],
        [line((0, 0), (100, 0)), line((100, 0), (0, 0)), line((100, 0), (200, 0))],
    )
    plain = build_all(path)
    directed = build_all(path, LineLayer(directed=True))
    assert len(plain.edges) == 2 and not plain.edges["oneway"].any()
    assert len(directed.edges) == 3
    assert directed.edges["oneway"].sum() == 1


# --------------------------------------------------------------------------- topology


def test_shared_vertex_is_one_node_and_ids_come_from_coordinates(tmp_path):
    """Lines meeting at a vertex share a node; a node's id is the same in any layer."""
    path = write_layer(
        tmp_path / "roads.geojson",
        [{"highway": "residential"}] * 3,
        [line((0, 0), (100, 0)), line((100, 0), (100, 100)), line((100, 0), (200, -50))],
    )
    net = build_all(path)
    assert len(net.nodes) == 4
    other = write_layer(
        tmp_path / "other.geojson", [{"highway": "residential"}], [line((100, 0), (0, 0))]
    )
    shared = set(net.nodes["osmid"]) & set(build_all(other).nodes["osmid"])
    assert len(shared) == 2


@pytest.mark.parametrize(
    ("gap_m", "snap_m", "joined"),
    [(0.3, None, True), (0.8, None, False), (0.8, 1.0, True), (0.3, 0.0, False)],
)
def test_near_miss_line_ends_join_within_the_tolerance_only(tmp_path, gap_m, snap_m, joined):
    """A line end within snap_m (default 0.5 m) of another line's vertex joins it."""
    path = write_layer(
        tmp_path / "roads.geojson",
        [{"highway": "residential"}] * 2,
        # The second line ends near the first one's middle vertex (a T junction).
        [line((0, 0), (100, 0), (200, 0)), line((100, 100), (100, gap_m))],
    )
    spec = LineLayer() if snap_m is None else LineLayer(snap_m=snap_m)
    net = build_all(path, spec, simplify=False)
    assert len(net.nodes) == (4 if joined else 5)
    if joined:  # the joined end moved onto the vertex it missed, not the other way round
        middle = _TO_LONLAT.transform(X0 + 100, Y0)
        assert np.isclose(net.nodes["lon"], middle[0], atol=2e-7).any()
        assert np.isclose(net.nodes["lat"], middle[1], atol=2e-7).any()


def test_line_ends_near_each_other_join(tmp_path):
    """Two lines whose ends miss by 20 cm are one road through a shared node."""
    path = write_layer(
        tmp_path / "roads.geojson",
        [{"highway": "tertiary"}] * 2,
        [line((0, 0), (100, 0)), line((100.2, 0), (200, 0))],
    )
    net = build_all(path)
    assert len(net.nodes) == 2 and len(net.edges) == 2  # simplified into one road
    assert net.summary().road_km == pytest.approx(0.2, abs=1e-3)


def test_crossing_lines_without_a_shared_vertex_do_not_join(tmp_path):
    """Lines that cross between vertices (a bridge) stay apart; with a vertex they meet."""
    bridge = write_layer(
        tmp_path / "bridge.geojson",
        [{"highway": "primary"}, {"highway": "residential"}],
        [line((-100, 0), (100, 0)), line((0, -100), (0, 100))],
    )
    net = build_all(bridge)
    assert len(net.nodes) == 4 and len(net.edges) == 4
    crossing = write_layer(
        tmp_path / "crossing.geojson",
        [{"highway": "primary"}, {"highway": "residential"}],
        [line((-100, 0), (0, 0), (100, 0)), line((0, -100), (0, 0), (0, 100))],
    )
    assert len(build_all(crossing).nodes) == 5


def test_multilines_are_split_into_parts_and_empty_geometries_dropped(tmp_path):
    """A MultiLineString is several lines; features without geometry are left out, said so."""
    multi = shapely.MultiLineString(
        [line((0, 0), (100, 0)).coords, line((0, 50), (100, 50)).coords]
    )
    path = write_layer(
        tmp_path / "roads.gpkg",
        [{"highway": "residential"}, {"highway": "residential"}],
        [multi, None],
    )
    said: list[str] = []
    ways = read_line_ways(path, progress=said.append)
    assert len(ways.way_id) == 2 and set(ways.way_id) == {1}
    assert list(ways.tags.columns) == list(TAG_KEYS)
    assert any("1 feature(s) without geometry left out" in s for s in said)


# --------------------------------------------------------------------------- files, CRS, errors


def test_projected_layer_is_reprojected(tmp_path):
    """A layer in CGCS2000 Gauss-Kruger builds the network of the same roads in WGS84."""
    geoms = [line((0, 0), (300, 0), (300, 300)), line((300, 300), (0, 0))]
    rows = [{"highway": "tertiary"}, {"highway": "residential"}]
    wgs = write_layer(tmp_path / "wgs.gpkg", rows, geoms)
    gk = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=4326).to_crs(4547)
    gk.to_file(tmp_path / "gk.gpkg")
    a, b = build_all(wgs), build_all(tmp_path / "gk.gpkg")
    assert len(a.edges) == len(b.edges)
    np.testing.assert_allclose(
        np.sort(a.edges["length_m"]), np.sort(b.edges["length_m"]), atol=0.02
    )


def test_layer_without_crs(tmp_path):
    """No CRS: degrees are read as WGS84 with a warning, metres need the crs option."""
    geoms = [line((0, 0), (300, 0))]
    path = tmp_path / "nocrs.shp"
    gpd.GeoDataFrame({"highway": ["tertiary"]}, geometry=geoms, crs=4326).to_file(path)
    path.with_suffix(".prj").unlink()
    said: list[str] = []
    build_network(path, BuildOptions(component="all"), progress=said.append)
    assert any("has no CRS" in s and "read as WGS84" in s for s in said)
    metres = tmp_path / "metres.shp"
    gk = gpd.GeoDataFrame({"highway": ["tertiary"]}, geometry=geoms, crs=4326).to_crs(4547)
    gk.to_file(metres)
    metres.with_suffix(".prj").unlink()
    with pytest.raises(NetworkError, match=r"metres\.shp has no CRS .*not degrees.*crs"):
        build_all(metres)
    net = build_all(metres, LineLayer(crs="EPSG:4547"))
    assert net.edges["length_m"].max() == pytest.approx(300, abs=0.05)
    wgs = write_layer(tmp_path / "wgs.geojson", [{"highway": "tertiary"}], geoms)
    with pytest.raises(NetworkError, match=r"file's CRS EPSG:4326 disagrees .*crs='EPSG:4547'"):
        build_all(wgs, LineLayer(crs="EPSG:4547"))


def test_wrong_layer_lists_the_layers(tmp_path):
    """A GeoPackage layer that does not exist is named with the file's layers."""
    path = tmp_path / "roads.gpkg"
    write_layer(path, [{"highway": "primary"}], [line((0, 0), (100, 0))], layer="道路")
    write_layer(path, [{"highway": "primary"}], [line((0, 0), (100, 0))], layer="roads2")
    with pytest.raises(NetworkError, match=r"roads\.gpkg has no layer 'road'; its layers: '道路'"):
        build_all(path, LineLayer(layer="road"))
    with pytest.raises(NetworkError, match=r"holds 2 layers, 2 of them lines.*--road-layer"):
        build_all(path)
    assert len(build_all(path, LineLayer(layer="道路")).edges) == 2


def test_only_line_layer_of_several_is_chosen(tmp_path):
    """A file with one line layer and a point layer reads the line layer."""
    path = tmp_path / "roads.gpkg"
    write_layer(path, [{"highway": "primary"}], [line((0, 0), (100, 0))], layer="edges")
    write_layer(path, [{"id": 1}], [shapely.Point(114.3, 30.9)], layer="nodes")
    assert len(build_all(path).edges) == 2


def test_non_line_geometry_is_an_error_naming_row_and_type(tmp_path):
    """A polygon in a road layer raises, naming the file, the row and the type."""
    path = write_layer(
        tmp_path / "roads.geojson",
        [{"highway": "primary"}, {"highway": "primary"}],
        [line((0, 0), (100, 0)), shapely.box(114.3, 30.9, 114.31, 30.91)],
    )
    with pytest.raises(
        NetworkError, match=r"roads\.geojson: 1 feature\(s\) are not lines: row 2 is a Polygon"
    ):
        build_all(path)


def test_unreadable_and_unsupported_files(tmp_path):
    """Bad files raise NetworkError naming them; suffix errors list both kinds of source."""
    bad = tmp_path / "roads.gpkg"
    bad.write_text("not a geopackage")
    with pytest.raises(NetworkError, match=r"roads\.gpkg: not a readable GIS layer"):
        build_all(bad)
    with pytest.raises(NetworkError, match=r"road layer .*missing\.shp does not exist"):
        build_all(tmp_path / "missing.shp")
    odd = tmp_path / "roads.csv"
    odd.write_text("x")
    with pytest.raises(NetworkError, match=r"unsupported OSM file type.*\.osm\.pbf.*\.gpkg"):
        build_all(odd)


def test_line_options_with_an_osm_file_are_an_error(sample_files):
    """A class mapping given with an OSM file would do nothing, so it raises."""
    with pytest.raises(NetworkError, match="road layer options .* apply to GIS line layers"):
        build_network(sample_files.roads, lines=LineLayer(classes={"县道": "secondary"}))


def test_line_layer_option_validation():
    """Options are checked when made: targets, column keys, tolerance, CRS."""
    with pytest.raises(NetworkError, match=r"not OSM highway classes: '县道': 'county'"):
        LineLayer(classes={"县道": "county"})
    with pytest.raises(NetworkError, match=r"unknown key\(s\) 'colour'"):
        LineLayer(columns={"colour": "COLOR"})
    with pytest.raises(NetworkError, match="--road-snap-m"):
        LineLayer(snap_m=-1)
    with pytest.raises(NetworkError, match="--road-crs"):
        LineLayer(crs="EPSG:999999")
    a = LineLayer(classes={"县道": "secondary"})
    assert a == LineLayer(classes={"县道": "secondary"}) and hash(a) == hash(
        LineLayer(classes={"县道": "secondary"})
    )
    assert a.key() != LineLayer(classes={"县道": "tertiary"}).key()


# --------------------------------------------------------------------------- cache


def test_cache_key_follows_the_reading_options_and_sidecar_files(tmp_path):
    """A cached layer network is reused; a new class mapping or an edited .dbf rebuilds."""
    path = write_layer(
        tmp_path / "roads.shp",
        [{"dj": "县道"}, {"dj": "乡道"}],
        [line((0, 0), (500, 0), (500, 500)), line((500, 500), (0, 0))],
    )
    cache = tmp_path / "cache"
    spec = LineLayer(class_column="dj", classes={"县道": "secondary", "乡道": "tertiary"})
    first = load_network(path, cache_dir=cache, lines=spec)
    again = load_network(path, cache_dir=cache, lines=spec)
    assert not first.source.from_cache and again.source.from_cache
    assert again.source.kind == "lines"
    other = LineLayer(class_column="dj", classes={"县道": "primary", "乡道": "tertiary"})
    remapped = load_network(path, cache_dir=cache, lines=other)
    assert not remapped.source.from_cache and "primary" in set(remapped.edges["highway"])
    before, shp_before = source_sha256(path), file_sha256(path)
    write_layer(  # only the attributes change: the .shp is the same, the .dbf is not
        path,
        [{"dj": "乡道"}, {"dj": "县道"}],
        [line((0, 0), (500, 0), (500, 500)), line((500, 500), (0, 0))],
    )
    assert source_sha256(path) != before and file_sha256(path) == shp_before
    edited = load_network(path, cache_dir=cache, lines=spec)
    longest = edited.edges.sort_values("length_m").iloc[-1]
    assert not edited.source.from_cache and longest["highway"] == "tertiary"


# --------------------------------------------------------------------------- a real layer


@pytest.mark.shared
def test_real_directed_shapefile_zip(shared_path):
    """Jinan's directed-edge shapefile (a zip of two layers, no CRS) builds one network.

    Every feature is one direction of travel; opposite pairs along the same vertices are
    two-way roads, so road km is about half the 5,126.7 km of directed features.
    """
    path = shared_path("nonwuhan_jinan_shandong_cn_roads.shp.zip")
    said: list[str] = []
    spec = LineLayer(directed=True, columns={"id": "raw_eid"})
    net = build_network(path, BuildOptions(component="all"), lines=spec, progress=said.append)
    assert any("10479 feature(s) along the same vertices" in s for s in said)
    s = net.summary()
    assert 5100 < s.directed_km < 5127
    assert 3400 < s.road_km < 3500
    assert net.edges["osmid"].min() >= 26268935


# --------------------------------------------------------------------------- areas and CLI


def _classes_cn(src: Path, out: Path) -> Path:
    """The sample's roads as a county office's layer: Chinese classes, own headers."""
    g = gpd.read_file(src)
    cn = {"secondary": "县道", "tertiary": "乡道", "unclassified": "村道", "track": "机耕路"}
    g["DLDJ"] = g["highway"].map(cn).fillna(g["highway"])
    g = g.drop(columns=["highway"]).rename(columns={"name": "LM"})
    g.to_file(out, layer="roads")
    return out


CN_CLASSES = "县道=secondary,乡道=tertiary,村道=unclassified,机耕路=track"


def test_an_area_from_a_line_layer_is_the_osm_area(sample_files, tmp_path):
    """An area file naming a line layer loads the very network of the OSM area."""
    from geo.area import AreaSpec, load_area

    layer = _classes_cn(osm_to_layer(sample_files.roads, tmp_path / "l.gpkg"), tmp_path / "cn.gpkg")
    area_file = tmp_path / "area.toml"
    area_file.write_text(
        f'villages = "{sample_files.villages}"\n'
        f'[roads]\npath = "{layer}"\nlayer = "roads"\nclass_column = "DLDJ"\n'
        f'classes = "{CN_CLASSES}"\ncolumns = {{ name = "LM" }}\n',
        encoding="utf-8",
    )
    spec = AreaSpec.from_file(area_file)
    assert spec.lines is not None and spec.lines.class_column == "DLDJ"
    assert AreaSpec.from_dict(spec.to_dict(), folder=tmp_path) == spec
    area = load_area(spec, cache_dir=tmp_path / "cache")
    want = load_area(AreaSpec(osm=str(sample_files.roads), villages=str(sample_files.villages)))
    assert_same_network(area.net, want.net)
    assert area.net.source.kind == "lines"
    assert set(area.roads.net.edges["name"].dropna()) == set(want.roads.net.edges["name"].dropna())
    from service.map_options import credit
    from service.run import run_info

    assert credit(area, "en") == "roads: cn.gpkg"
    assert credit(area, "zh") == "道路数据：cn.gpkg"
    assert run_info(area, lang="en")["inputs"]["roads"]["kind"] == "line layer"


def test_cli_takes_roads_and_their_options(sample_files, tmp_path, capsys):
    from service.cli import main

    layer = _classes_cn(osm_to_layer(sample_files.roads, tmp_path / "l.gpkg"), tmp_path / "cn.gpkg")
    road = ["--roads", str(layer), "--road-layer", "roads", "--road-class-column", "DLDJ"]
    cache = ["--cache-dir", str(tmp_path / "cache")]
    assert main(["-q", "network", "build", *road, *cache]) == 2
    assert "--road-classes" in capsys.readouterr().err
    assert main(["-q", "network", "build", *road, "--road-classes", CN_CLASSES, *cache]) == 0
    lines_out = capsys.readouterr().out
    assert main(["-q", "network", "build", "--osm", str(sample_files.roads), *cache]) == 0
    osm_out = capsys.readouterr().out
    # Same graph: every line of the summary after the source and its hash agrees.
    assert lines_out.splitlines()[2:] == osm_out.splitlines()[2:]
    rc = main(
        [
            *("-q", "coverage", *road, "--road-classes", CN_CLASSES, *cache),
            *("--villages", str(sample_files.villages), "--stations", str(sample_files.stations)),
            *("--out", str(tmp_path / "cov")),
        ]
    )
    assert rc == 0 and (tmp_path / "cov" / "coverage_villages.csv").exists()
    capsys.readouterr()
    both = ["--osm", str(sample_files.roads), "--roads", str(layer)]
    assert main(["-q", "network", "build", *both, *cache]) == 2
    assert "give the roads once" in capsys.readouterr().err
    osm_classes = ["--osm", str(sample_files.roads), "--road-classes", CN_CLASSES]
    assert main(["-q", "network", "build", *osm_classes, *cache]) == 2
    assert "is an OSM file" in capsys.readouterr().err


def test_road_options_reach_the_line_layer_even_when_zero(tmp_path):
    """Every --road-* flag lands in LineLayer; 0 m of snapping is an option, not unset."""
    from geo.errors import AreaError
    from service.cli import build_parser
    from service.options import roads_from_args

    layer = tmp_path / "roads.gpkg"
    args = build_parser().parse_args(
        [
            *("coverage", "--roads", str(layer), "--road-snap-m", "0", "--road-directed"),
            *("--road-classes", "县道=secondary", "--road-columns", "name=LM"),
        ]
    )
    path, lines = roads_from_args(args)
    assert path == str(layer) and lines is not None
    assert lines.snap_m == 0.0 and lines.directed
    assert dict(lines.classes) == {"县道": "secondary"} and dict(lines.columns) == {"name": "LM"}
    osm = build_parser().parse_args(["coverage", "--osm", "x.osm", "--road-snap-m", "0"])
    with pytest.raises(AreaError, match="--road-snap-m describes a road line layer"):
        roads_from_args(osm)
