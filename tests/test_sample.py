"""Tests of the synthetic sample district generator (geo.sample)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Geod, Transformer
from scipy.spatial import cKDTree

import geo.sample as sample_mod
from geo.errors import PinganError
from geo.sample import (
    SAMPLE_BOUNDS,
    SAMPLE_DISTRICT_CODE,
    SYNTHETIC_LABEL,
    SampleFiles,
    generate_sample,
)

LIT_YES = {"yes", "24/7", "automatic", "sunset-sunrise"}
NIGHT_HOURS = [19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5]
GEOD = Geod(ellps="WGS84")
TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)


@dataclass(frozen=True)
class Osm:
    root: ET.Element
    node_ids: np.ndarray
    lonlat: np.ndarray  # row per node, same order as node_ids
    ways: list[tuple[int, list[int], dict[str, str]]]

    def xy(self, refs: list[int]) -> np.ndarray:
        return self.lonlat[np.searchsorted(self.node_ids, refs)]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleFiles:
    return generate_sample(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def osm(sample: SampleFiles) -> Osm:
    root = ET.parse(sample.roads).getroot()
    nodes = root.findall("node")
    ids = np.array([int(n.get("id", "0")) for n in nodes])
    lonlat = np.array([[float(n.get("lon", "nan")), float(n.get("lat", "nan"))] for n in nodes])
    order = np.argsort(ids)
    ways = [
        (
            int(w.get("id", "0")),
            [int(nd.get("ref", "0")) for nd in w.findall("nd")],
            {t.get("k", ""): t.get("v", "") for t in w.findall("tag")},
        )
        for w in root.findall("way")
        # The base map's land cover (woods, ponds) shares the file; roads are highways.
        if any(t.get("k") == "highway" for t in w.findall("tag"))
    ]
    return Osm(root, ids[order], lonlat[order], ways)


@pytest.fixture(scope="module")
def graph(sample: SampleFiles, osm: Osm) -> nx.MultiDiGraph:
    g = ox.graph_from_xml(sample.roads, simplify=False, retain_all=True)
    # osmnx reads every way; the rings of the base map's land cover are not roads.
    return g.subgraph({r for _, refs, _ in osm.ways for r in refs}).copy()


@pytest.fixture(scope="module")
def villages(sample: SampleFiles) -> pd.DataFrame:
    return pd.read_csv(sample.villages, dtype=str, encoding="utf-8")


@pytest.fixture(scope="module")
def incidents(sample: SampleFiles) -> pd.DataFrame:
    return pyogrio.read_dataframe(sample.incidents, layer="incidents")


@pytest.fixture(scope="module")
def hotspots(sample: SampleFiles) -> list[dict]:
    return json.loads(sample.hotspots_truth.read_text(encoding="utf-8"))["features"]


def planted_nodes(osm: Osm) -> set[int]:
    """Return the nodes used only by the two planted disconnected pieces."""
    planted = [refs for _, refs, tags in osm.ways if "planted" in tags.get("note", "")]
    assert len(planted) == 2
    others = {
        r for _, refs, tags in osm.ways if "planted" not in tags.get("note", "") for r in refs
    }
    return {r for refs in planted for r in refs} - others


# -- determinism -------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(sample: SampleFiles, tmp_path: Path) -> None:
    """Every file, the GeoPackage included, repeats byte for byte for the same seed."""
    again = generate_sample(tmp_path, seed=sample.seed)
    for first, second in zip(sample.paths, again.paths, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name


def test_different_seed_gives_different_district(sample: SampleFiles, tmp_path: Path) -> None:
    """Another seed lays out other roads and villages."""
    other = generate_sample(tmp_path, seed=sample.seed + 1, n_incidents=50)
    assert other.seed == sample.seed + 1
    assert other.roads.read_bytes() != sample.roads.read_bytes()
    assert other.villages.read_bytes() != sample.villages.read_bytes()


def test_written_paths_and_no_leftovers(sample: SampleFiles) -> None:
    """All ten files exist under their documented names and no temporary file remains."""
    names = sorted(p.name for p in sample.paths)
    expected = ["roads.osm", "villages.csv", "stations.geojson", "teams.csv", "officers.csv"]
    expected += ["village_groups.csv", "village_boundaries.geojson"]
    expected += ["incidents.gpkg", "hotspots_truth.geojson", "README.txt"]
    assert names == sorted(expected)
    assert sorted(p.name for p in sample.roads.parent.iterdir()) == names


def test_failed_run_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while writing leaves neither finished nor half-written files behind."""

    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(sample_mod, "_write_incidents", broken)
    with pytest.raises(OSError, match="disk full"):
        generate_sample(tmp_path / "out", n_villages=60, n_incidents=10)
    assert list((tmp_path / "out").iterdir()) == []


# -- parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_villages": 59}, "n_villages"),
        ({"n_villages": 121}, "n_villages"),
        ({"n_villages": 90.0}, "n_villages"),
        ({"n_villages": True}, "n_villages"),
        ({"n_incidents": 0}, "n_incidents"),
        ({"n_incidents": -5}, "n_incidents"),
        ({"n_incidents": "5000"}, "n_incidents"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_parameters_raise(tmp_path: Path, kwargs: dict, match: str) -> None:
    """Out-of-range or mistyped parameters raise PinganError naming the parameter."""
    with pytest.raises(PinganError, match=match):
        generate_sample(tmp_path, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_out_dir_that_is_a_file_raises(tmp_path: Path) -> None:
    """A file where the output folder should be is an error, not an overwrite."""
    target = tmp_path / "taken"
    target.write_text("x")
    with pytest.raises(PinganError, match="out_dir"):
        generate_sample(target)


# -- villages, stations, teams -----------------------------------------------------------


def test_village_counts_and_codes(villages: pd.DataFrame) -> None:
    """Three townships, the requested villages, 1-2 communities per seat, NBS-style codes."""
    assert villages["code"].str.fullmatch(r"\d{12}").all()
    assert villages["code"].is_unique and villages["name"].is_unique
    assert (villages["district_code"] == SAMPLE_DISTRICT_CODE).all()
    towns = {f"{SAMPLE_DISTRICT_CODE}{n}" for n in (100, 101, 102)}
    assert set(villages["township_code"]) == towns
    assert villages.groupby("township_code")["township"].nunique().eq(1).all()
    assert villages["township"].nunique() == 3
    assert (villages["code"].str[:9] == villages["township_code"]).all()
    suffix = villages["code"].str[9:].astype(int)
    is_village = villages["kind"] == "village"
    assert is_village.sum() == 90
    assert suffix[is_village].between(200, 399).all()
    assert suffix[~is_village].between(1, 199).all()
    assert set(villages["kind"]) == {"village", "community"}
    per_seat = villages[~is_village].groupby("township_code").size()
    assert len(per_seat) == 3 and per_seat.between(1, 2).all()
    assert villages.loc[is_village, "name"].str.endswith("村").all()


def test_population_and_households(villages: pd.DataFrame) -> None:
    """Villages hold 300-3500 people, communities more; about 3.2 persons per household."""
    pop = villages["population"].astype(int)
    hh = villages["households"].astype(int)
    is_village = villages["kind"] == "village"
    assert pop[is_village].between(300, 3500).all()
    assert pop[~is_village].min() > pop[is_village].median()
    ratio = pop / hh
    assert ratio.between(2.7, 3.6).all() and abs(ratio.mean() - 3.2) < 0.15


def test_stations(sample: SampleFiles, villages: pd.DataFrame) -> None:
    """One station per township seat plus one or two remote posts."""
    st = json.loads(sample.stations.read_text(encoding="utf-8"))
    props = pd.DataFrame([f["properties"] for f in st["features"]])
    assert 3 <= len(props) <= 5 and props["id"].is_unique
    assert sorted(props.loc[props["kind"] == "station", "township_code"]) == sorted(
        set(villages["township_code"])
    )
    assert props["kind"].isin(["station", "post"]).all()
    assert props.loc[props["kind"] == "station", "name"].str.endswith("派出所").all()
    assert props.loc[props["kind"] == "post", "name"].str.endswith("警务室").all()


def test_teams(sample: SampleFiles) -> None:
    """6-10 vanguard teams of 8-12, each based at or right next to its home unit."""
    teams = pd.read_csv(sample.teams)
    st = json.loads(sample.stations.read_text(encoding="utf-8"))["features"]
    home = {f["properties"]["id"]: f["geometry"]["coordinates"] for f in st}
    assert 6 <= len(teams) <= 10 and teams["id"].is_unique
    assert teams["members"].between(8, 12).all()
    assert teams["name"].str.endswith("先锋队").all()
    assert set(teams["home_unit"]) == set(home)
    skills = teams["skills"].str.split(";")
    assert skills.map(
        lambda s: set(s) <= {"patrol", "mediation", "first_aid", "fire", "traffic"}
    ).all()
    base = np.array([home[h] for h in teams["home_unit"]])
    _, _, dist = GEOD.inv(base[:, 0], base[:, 1], teams["lon"], teams["lat"])
    assert dist.max() <= 100.0


def test_teams_are_named_after_their_leaders(sample: SampleFiles) -> None:
    """Each team has a leader, the person it is named after (王卫国先锋队: 王卫国)."""
    teams = pd.read_csv(sample.teams, dtype=str)
    assert teams["leader"].str.len().between(2, 4).all()
    assert (teams["leader"] + "先锋队" == teams["name"]).all()


@pytest.fixture(scope="module")
def officers(sample: SampleFiles) -> pd.DataFrame:
    return pd.read_csv(sample.officers, dtype=str, keep_default_na=False)


def test_officers_leave_a_few_villages_without_and_a_few_with_two(
    officers: pd.DataFrame, villages: pd.DataFrame
) -> None:
    """Most villages have one officer, 3-5 two, 2-3 none; 1-2 officers are unplaced."""
    assert officers["id"].is_unique and officers["name"].is_unique
    placed = officers[officers["village_code"] != ""]
    vil = villages.loc[villages["kind"] == "village", "code"]
    assert set(placed["village_code"]) <= set(vil)  # communities are not served
    per_village = placed["village_code"].value_counts().reindex(vil, fill_value=0)
    assert per_village.max() == 2
    assert 3 <= (per_village == 2).sum() <= 5
    assert 2 <= (per_village == 0).sum() <= 3
    assert 1 <= (officers["village_code"] == "").sum() <= 2
    assert officers["phone"].str.fullmatch(r"1\d{2}\*{4}\d{4}").all()


def test_officers_live_in_their_village_or_near_a_station(
    sample: SampleFiles, officers: pd.DataFrame
) -> None:
    """A placed officer lives at one of their village's groups, an unplaced one by a station."""
    groups = pd.read_csv(sample.groups, dtype={"village_code": str})
    st = json.loads(sample.stations.read_text(encoding="utf-8"))["features"]
    station = {f["properties"]["id"]: f["geometry"]["coordinates"] for f in st}
    lon, lat = officers["lon"].astype(float), officers["lat"].astype(float)
    for k in range(len(officers)):
        code = officers["village_code"].iloc[k]
        if code:
            at = groups.loc[groups["village_code"] == code, ["lon", "lat"]].to_numpy()
            limit = 45.0
        else:
            at = np.array([station[officers["unit"].iloc[k]]])
            limit = 510.0
        n = len(at)
        _, _, dist = GEOD.inv(at[:, 0], at[:, 1], np.full(n, lon[k]), np.full(n, lat[k]))
        assert dist.min() <= limit, officers["id"].iloc[k]


def test_officers_draw_from_a_generator_of_their_own(
    sample: SampleFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other officers (another generator) change no other file: the district's draws stay."""
    from geo.sample import district

    def other(rng, *args):  # type: ignore[no-untyped-def]
        return district_make(np.random.default_rng([sample.seed, 99]), *args)

    district_make = district.make_officers
    monkeypatch.setattr(district, "make_officers", other)
    again = generate_sample(tmp_path, seed=sample.seed)
    assert again.officers.read_bytes() != sample.officers.read_bytes()
    for first, second in zip(sample.paths, again.paths, strict=True):
        if first.name not in ("officers.csv", "README.txt"):
            assert first.read_bytes() == second.read_bytes(), first.name


# -- roads --------------------------------------------------------------------------------


def test_osm_header_and_ids(sample: SampleFiles, osm: Osm) -> None:
    """The OSM file is labelled synthetic, has bounds, unique positive ids, 7-decimal nodes."""
    text = sample.roads.read_text(encoding="utf-8")
    assert osm.root.get("version") == "0.6"
    assert osm.root.get("generator") == "pingan-sample (synthetic)"
    assert f"<!-- {SYNTHETIC_LABEL}" in text
    bounds = osm.root.find("bounds")
    assert bounds is not None
    west, south, east, north = SAMPLE_BOUNDS
    assert float(bounds.get("minlon", "0")) == west and float(bounds.get("maxlat", "0")) == north
    assert len(
        re.findall(r'<node id="\d+" lat="\d+\.\d{7}" lon="\d+\.\d{7}" version="1"/?>', text)
    ) == len(osm.node_ids)
    assert (osm.node_ids > 0).all() and len(np.unique(osm.node_ids)) == len(osm.node_ids)
    way_ids = [w for w, _, _ in osm.ways]
    assert min(way_ids) > 0 and len(set(way_ids)) == len(way_ids)
    lon, lat = osm.lonlat.T
    assert lon.min() >= west and lon.max() <= east and lat.min() >= south and lat.max() <= north


def test_road_classes_and_tags(osm: Osm) -> None:
    """Every class of a county road network is present, tagged like OSM China."""
    tags = [t for _, _, t in osm.ways]
    highways = {t["highway"] for t in tags}
    classes = {"primary", "secondary", "tertiary", "unclassified", "track", "residential"}
    assert classes | {"service"} <= highways
    primary = [t for t in tags if t["highway"] == "primary"]
    assert all(t.get("ref", "").startswith("X") and t.get("surface") == "asphalt" for t in primary)
    assert any("maxspeed" in t for t in primary)
    surfaces = {(t["highway"], t.get("surface")) for t in tags}
    assert {s for h, s in surfaces if h == "track"} <= {"gravel", "unpaved", "dirt", "ground"}
    assert {s for h, s in surfaces if h == "unclassified"} <= {"concrete", "asphalt"}
    assert sum(t.get("oneway") == "yes" and t["highway"] == "residential" for t in tags) >= 2
    assert any(re.fullmatch(r"\w+路", t.get("name", "")) for t in tags)


def _unnamed_village_way(t: dict[str, str]) -> bool:
    return t["highway"] in ("residential", "unclassified", "track") and "name" not in t


def test_lit_shares(osm: Osm) -> None:
    """Town streets lit, village roads mostly dark, lanes mostly untagged.

    Of the named and classed roads (leaving out the town's lanes and every unnamed lane,
    track and village road) 5-30 % are lit and 8-35 % tagged unlit; the town's lane web
    is lit throughout; of the unnamed village ways under 10 % are lit.
    """
    tags = [t for _, _, t in osm.ways]
    main = [t for t in tags if not _unnamed_village_way(t) and not t.get("name", "").endswith("巷")]
    lit = [t.get("lit") for t in main]
    yes = sum(v in LIT_YES for v in lit) / len(lit)
    no = sum(v == "no" for v in lit) / len(lit)
    assert 0.05 <= yes <= 0.30
    assert 0.08 <= no <= 0.35
    assert {"24/7", "automatic"} <= {t.get("lit") for t in tags}
    assert {t.get("lit") for t in tags} <= LIT_YES | {"no", None}
    lanes = [t for t in tags if re.fullmatch(r"[一二三四五六七八九十]+巷", t.get("name", ""))]
    assert len(lanes) >= 20 and all(t.get("lit") == "yes" for t in lanes)
    village = [t.get("lit") for t in tags if _unnamed_village_way(t)]
    assert len(village) > 2000
    assert sum(v in LIT_YES for v in village) / len(village) < 0.10
    lit_classes = {t["highway"] for t in tags if t.get("lit") in LIT_YES}
    assert lit_classes <= {"primary", "secondary", "tertiary", "residential", "service"}
    dark = [t["highway"] for t in tags if t.get("lit") == "no"]
    assert sum(h in ("unclassified", "track", "residential") for h in dark) / len(dark) > 0.9


def test_graph_parses_and_every_village_is_near_a_road_node(
    graph: nx.MultiDiGraph, villages: pd.DataFrame
) -> None:
    """osmnx reads the file, and each village centre lies within 200 m of a road node."""
    assert graph.number_of_nodes() > 1000
    nx_, ny_ = TO_UTM.transform(
        [d["x"] for _, d in graph.nodes(data=True)], [d["y"] for _, d in graph.nodes(data=True)]
    )
    vx, vy = TO_UTM.transform(villages["lon"].astype(float), villages["lat"].astype(float))
    dist, _ = cKDTree(np.column_stack([nx_, ny_])).query(np.column_stack([vx, vy]))
    assert dist.max() <= 200.0


def test_graph_is_connected_apart_from_planted_pieces(graph: nx.MultiDiGraph, osm: Osm) -> None:
    """Without the two planted pieces the network is one strongly connected component."""
    planted = planted_nodes(osm)
    core = graph.subgraph(set(graph.nodes) - planted)
    assert nx.is_strongly_connected(core)
    assert nx.number_weakly_connected_components(graph) == 2
    largest = max(nx.strongly_connected_components(graph), key=len)
    assert set(graph.nodes) - largest == planted


def test_roads_meet_only_at_shared_nodes(osm: Osm) -> None:
    """No two road segments intersect unless they share a node, and then only at it."""
    starts, ends, ka, kb = [], [], [], []
    for _, refs, _ in osm.ways:
        xy = osm.xy(refs)
        starts.append(xy[:-1])
        ends.append(xy[1:])
        ka.append(refs[:-1])
        kb.append(refs[1:])
    a, b = np.concatenate(ka), np.concatenate(kb)
    lines = shapely.linestrings(np.stack([np.concatenate(starts), np.concatenate(ends)], axis=1))
    i, j = shapely.STRtree(lines).query(lines, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    share = (a[i] == a[j]) | (a[i] == b[j]) | (b[i] == a[j]) | (b[i] == b[j])
    assert not (~share).any(), f"{int((~share).sum())} crossings without a junction"
    touch = shapely.intersection(lines[i[share]], lines[j[share]])
    assert (shapely.get_type_id(touch) == 0).all()  # a single point, never an overlap


def test_roads_are_gently_curving_polylines(osm: Osm) -> None:
    """Shape nodes come every ~100-200 m on the roads between villages, which turn gently.

    The groups' lanes and tracks and the town's lanes are short and drawn at finer steps.
    """
    lengths, turns = [], []
    for _, refs, tags in osm.ways:
        if _unnamed_village_way(tags) or tags.get("name", "").endswith(("巷", "通组路")):
            continue
        xy = np.column_stack(TO_UTM.transform(*osm.xy(refs).T))
        d = np.diff(xy, axis=0)
        lengths.append(np.hypot(*d.T))
        heading = np.arctan2(d[:, 1], d[:, 0])
        turns.append(np.abs((np.diff(heading) + np.pi) % (2 * np.pi) - np.pi))
    seg = np.concatenate(lengths)
    assert 100.0 <= np.median(seg) <= 200.0 and seg.max() <= 250.0
    turn = np.degrees(np.concatenate(turns))
    assert np.percentile(turn, 90) < 25.0
    assert (turn > 1.0).mean() > 0.5  # bent, not straight lines with extra nodes


# -- incidents ----------------------------------------------------------------------------


def test_incidents_layer(sample: SampleFiles, incidents: pd.DataFrame) -> None:
    """5000 incidents in 2025, EPSG:4326 points, ISO times with +08:00, numbered in time order."""
    assert pyogrio.list_layers(sample.incidents)[:, 0].tolist() == ["incidents"]
    assert incidents.crs.to_epsg() == 4326
    assert len(incidents) == 5000
    columns = ["id", "time", "category", "severity", "description", "geometry"]
    assert list(incidents.columns) == columns
    assert incidents["time"].str.fullmatch(r"2025-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00").all()
    assert incidents["time"].is_monotonic_increasing
    assert incidents["id"].tolist() == [f"INC-{k:06d}" for k in range(1, 5001)]
    categories = {"theft", "burglary", "fraud", "dispute", "traffic", "lost_property"}
    assert set(incidents["category"]) == categories
    assert incidents["severity"].between(1, 3).all()
    assert incidents["description"].str.len().gt(0).all()
    west, south, east, north = SAMPLE_BOUNDS
    assert incidents.geometry.x.between(west, east).all()
    assert incidents.geometry.y.between(south, north).all()


def test_incidents_peak_at_night(incidents: pd.DataFrame) -> None:
    """Well over half of non-traffic incidents happen 19:00-06:00, peaking late evening."""
    hour = incidents["time"].str[11:13].astype(int)
    non_traffic = incidents["category"] != "traffic"
    assert hour[non_traffic].isin(NIGHT_HOURS).mean() > 0.58
    assert int(np.bincount(hour[non_traffic], minlength=24).argmax()) in (20, 21, 22, 23)


def test_planted_clusters_lie_within_their_radius(
    hotspots: list[dict], incidents: pd.DataFrame
) -> None:
    """Each of the four planted clusters holds a few percent of incidents inside its radius."""
    assert len(hotspots) == 4
    by_id = incidents.set_index("id")
    for f in hotspots:
        p = f["properties"]
        ids = p["incident_ids"]
        assert len(ids) == p["n_incidents"] == sum(p["categories"].values())
        assert 0.01 <= len(ids) / len(incidents) <= 0.05
        pts = by_id.loc[ids, "geometry"]
        lon, lat = f["geometry"]["coordinates"]
        _, _, dist = GEOD.inv(np.full(len(ids), lon), np.full(len(ids), lat), pts.x, pts.y)
        assert dist.max() <= p["radius_m"], p["id"]
        assert 100.0 <= p["radius_m"] <= 250.0
        hours = by_id.loc[ids, "time"].str[11:13].astype(int)
        start, end = p["hour_start"], p["hour_end"]
        window = [(start + k) % 24 for k in range((end - start) % 24 or 24)]
        assert hours.isin(window).all(), p["id"]


def test_dark_road_cluster_is_on_an_unlit_way(hotspots: list[dict], osm: Osm) -> None:
    """The dark-road cluster sits on a way tagged lit=no, at night only."""
    dark = next(f for f in hotspots if f["properties"]["kind"] == "dark_road")
    kind, ref = dark["properties"]["osm_ref"].split("/")
    assert kind == "way"
    tags = next(t for w, _, t in osm.ways if w == int(ref))
    assert tags["lit"] == "no"
    assert set(range(6, 19)).isdisjoint(
        (dark["properties"]["hour_start"] + k) % 24 for k in range(8)
    )


def test_readme_describes_the_sample(sample: SampleFiles) -> None:
    """README.txt carries the synthetic label, the seed and every file name."""
    text = sample.readme.read_text(encoding="utf-8")
    assert text.startswith(SYNTHETIC_LABEL)
    assert f"seed={sample.seed}" in text
    for p in sample.paths:
        assert p.name in text


def test_ensure_sample_reuses_an_identical_sample_and_rewrites_a_changed_one(tmp_path, sample):
    from geo.sample import MANIFEST, ensure_sample

    first = ensure_sample(tmp_path, seed=sample.seed)
    for a, b in zip(first.paths, sample.paths, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name  # what generate_sample writes
    stamp = {p: p.stat().st_mtime_ns for p in first.paths}
    again = ensure_sample(tmp_path, seed=sample.seed)
    assert {p: p.stat().st_mtime_ns for p in again.paths} == stamp  # nothing rewritten
    first.villages.write_text("code,name\n", encoding="utf-8")  # a user edits a file
    fixed = ensure_sample(tmp_path, seed=sample.seed)
    assert fixed.villages.read_bytes() == sample.villages.read_bytes()
    # Another seed does not match the manifest's key, so it would be written anew.
    key = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))["key"]
    assert key["seed"] == sample.seed and len(key["generator"]) == 16


# ----------------------------------------------------------------- a county edge of Wuhan


@pytest.fixture(scope="module")
def groups(sample: SampleFiles):
    from geo.layers import read_groups

    return read_groups(sample.groups, to_crs="EPSG:32650")


@pytest.fixture(scope="module")
def boundaries(sample: SampleFiles):
    from geo.layers import read_boundaries

    return read_boundaries(sample.boundaries, to_crs="EPSG:32650")


@pytest.fixture(scope="module")
def road_net(sample: SampleFiles, tmp_path_factory: pytest.TempPathFactory):
    from geo.network import load_network

    return load_network(sample.roads, cache_dir=tmp_path_factory.mktemp("cache"))


def test_network_has_the_size_of_a_county_edge(road_net) -> None:
    """The routable network has 3,000-8,000 nodes: lanes inside villages, not one junction each."""
    assert 3000 <= len(road_net.nodes) <= 8000
    # Most nodes are village-group lanes and tracks: far more junctions than villages.
    assert len(road_net.nodes) > 25 * 95


def test_groups_add_up_to_their_village(groups, villages: pd.DataFrame) -> None:
    """Every village has 3+ groups, and each village's groups hold exactly its households."""
    vil = villages[villages["kind"] == "village"].set_index("code")
    hh = groups.groupby("village_code")["households"].sum()
    assert set(hh.index) == set(vil.index)
    assert (hh == vil["households"].astype(int).reindex(hh.index)).all()
    assert groups.groupby("village_code").size().min() >= 3
    assert groups["code"].is_unique
    assert groups["name"].str.fullmatch(r"\w+村[一二三四五六七八九十]+组").all()


def test_groups_lie_in_their_village_and_have_lanes(groups, boundaries, road_net) -> None:
    """Each group lies inside its own village's polygon, beside its own lanes (<= 80 m)."""
    own = boundaries.set_index("code").geometry.reindex(groups["village_code"]).to_numpy()
    assert shapely.contains(own, groups.geometry.to_numpy()).all()
    lanes = road_net.edges_gdf()
    lanes = lanes[lanes["highway"] == "residential"]
    _, d = shapely.STRtree(lanes.geometry.to_numpy()).query_nearest(
        groups.geometry.to_numpy(), return_distance=True, all_matches=False
    )
    assert d.max() <= 80.0


def test_boundaries_tile_the_district(boundaries, villages: pd.DataFrame) -> None:
    """One valid polygon per village and community, not overlapping one another."""
    assert set(boundaries["code"]) == set(villages["code"])
    geom = boundaries.geometry.to_numpy()
    assert shapely.is_valid(geom).all()
    union = shapely.union_all(geom)
    assert abs(shapely.area(union) - shapely.area(geom).sum()) < 1e-6 * shapely.area(union)


def test_town_seats_have_a_web_of_lit_streets(road_net) -> None:
    """Each seat core holds lit residential streets meeting at 3- and 4-way junctions."""
    e = road_net.edges_gdf()
    town = e[(e["lit"] == "yes") & (e["highway"] == "residential")]
    assert len(town) >= 60
    ends = np.concatenate([town["u"].to_numpy(), town["v"].to_numpy()])
    _, deg = np.unique(ends, return_counts=True)
    # Directed edges both ways: a 4-way junction of two-way streets appears 8 times.
    assert (deg >= 6).sum() >= 10


def test_planted_road_through_four_groups(osm: Osm, groups) -> None:
    """One unlit 通组路 runs past four groups of one village, about 90 households in all."""
    through = [(refs, t) for _, refs, t in osm.ways if t.get("name", "").endswith("通组路")]
    assert through and all(t.get("lit") == "no" for _, t in through)
    xy = np.vstack([np.column_stack(TO_UTM.transform(*osm.xy(r).T)) for r, _ in through])
    line = shapely.linestrings(xy)
    near = groups[shapely.dwithin(line, groups.geometry.to_numpy(), 150.0)]
    served = near[near["village_code"] == near["village_code"].mode()[0]]
    assert len(served) == 4
    assert 85 <= served["households"].sum() <= 95
    assert 600.0 <= shapely.length(line) <= 1200.0
