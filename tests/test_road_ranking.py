"""Whole-road ranking of dark roads: pieces, way chains and dual carriageways as one road.

The hand-made networks are small OSM files built by the product's own network build, so
one-way tags, junction splitting and twins are the real ones. Coordinates are metres
from (X0, Y0) in UTM 50N (Wuhan).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geo.errors import LightingError
from geo.lighting import RoadRisk, road_risk
from geo.network import BuildOptions, build_network

CRS = pyproj.CRS.from_epsg(32650)
X0, Y0 = 500_000.0, 3_400_000.0
JOIN_M = 30.0
OPTICS_VALLEY = Path(__file__).parent / "data" / "optics_valley"

Way = tuple[int, list[tuple[float, float]], dict[str, str]]


# --------------------------------------------------------------------------- builders


def one_way(wid: int, pts: list[tuple[float, float]], highway: str = "primary", **tags: str) -> Way:
    """A one-way way along ``pts`` (metres from X0, Y0), drawn in its travel direction."""
    return (wid, pts, {"highway": highway, "oneway": "yes", **tags})


def two_way(wid: int, pts: list[tuple[float, float]], highway: str = "primary", **tags: str) -> Way:
    return (wid, pts, {"highway": highway, **tags})


def write_osm(path: Path, ways: list[Way]) -> Path:
    """Write ways as OSM XML; ways share a node wherever they share a point."""
    points = list(dict.fromkeys(p for _, pts, _ in ways for p in pts))
    ids = {p: i + 1 for i, p in enumerate(points)}
    xy = np.array(points, dtype=float) + [X0, Y0]
    lon, lat = pyproj.Transformer.from_crs(CRS, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1])
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for p, lo, la in zip(points, lon, lat, strict=True):
        lines.append(f'<node id="{ids[p]}" version="1" lat="{la:.9f}" lon="{lo:.9f}"/>')
    for wid, pts, tags in ways:
        nds = "".join(f'<nd ref="{ids[p]}"/>' for p in pts)
        tgs = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{wid}" version="1">{nds}{tgs}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def risk_of(tmp_path: Path, ways: list[Way]) -> RoadRisk:
    """Build the network of ``ways`` (every road, connected or not) and score it."""
    net = build_network(
        write_osm(tmp_path / "roads.osm", ways), BuildOptions(component="all", crs="EPSG:32650")
    )
    villages = gpd.GeoDataFrame(
        {"code": ["V1"], "name": ["村一"], "households": [50]},
        geometry=[shapely.Point(X0 + 600, Y0 + 100)],
        crs=net.crs,
    )
    return road_risk(net, villages)


def way_sets(risk: RoadRisk, ranked: gpd.GeoDataFrame) -> set[frozenset[int]]:
    """Return, per ranked road, the OSM ways its pieces run along."""
    ways = risk.roads.set_index("road")["osm_ways"].astype(str)
    return {
        frozenset(int(w) for p in str(rows).split(";") for w in ways[int(p)].split(";"))
        for rows in ranked["roads"]
    }


def pieces_of(risk: RoadRisk, entry: pd.Series) -> gpd.GeoDataFrame:
    """Return the rows of the detail table that make up one ranked road."""
    return risk.roads.set_index("road").loc[[int(p) for p in str(entry["roads"]).split(";")]]


def _headings(lines: np.ndarray, at: np.ndarray) -> np.ndarray:
    a = shapely.line_interpolate_point(lines, np.maximum(at - 1.0, 0.0))
    b = shapely.line_interpolate_point(lines, np.minimum(at + 1.0, shapely.length(lines)))
    v = shapely.get_coordinates(b) - shapely.get_coordinates(a)
    return v / np.maximum(np.hypot(v[:, 0], v[:, 1]), 1e-9)[:, None]


def opposite_share(p: gpd.GeoDataFrame, q: gpd.GeoDataFrame, join_m: float = JOIN_M) -> float:
    """Return the share of ``p``'s length whose nearest piece of ``q`` runs against it.

    Brute force, and looser than the ranking's own rule (60 degrees, not 30; every pair
    of pieces, no class test): sample ``p`` every 5 m; a sample counts when it lies on a
    one-way piece and the nearest other piece of ``q`` is one-way, within ``join_m``
    and heads the other way. With ``q`` equal to ``p`` this tells a road that holds both
    carriageways.
    """
    pg, qg = p.geometry.to_numpy(), q.geometry.to_numpy()
    drawn = shapely.length(pg)
    k = np.maximum(1, np.ceil(drawn / 5.0)).astype(int)
    own = np.repeat(np.arange(len(pg)), k)
    at = (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k) + 0.5) / k[own] * drawn[own]
    pts = shapely.line_interpolate_point(pg[own], at)
    dist = shapely.distance(pts[:, None], qg[None, :])
    dist[p.index.to_numpy()[own][:, None] == q.index.to_numpy()[None, :]] = np.inf
    near = dist.argmin(axis=1)
    along = shapely.line_locate_point(qg[near], pts)
    dot = np.einsum("ij,ij->i", _headings(pg[own], at), _headings(qg[near], along))
    counts = (
        (p["twin"].to_numpy()[own] < 0)
        & (q["twin"].to_numpy()[near] < 0)
        & (dist[np.arange(len(pts)), near] <= join_m)
        & (dot <= -0.5)
    )
    metres = (p["length_m"].to_numpy() / k)[own]
    return float(metres[counts].sum() / metres.sum())


# --------------------------------------------------------------------------- hand-made networks


def test_unnamed_dual_carriageway_ranks_as_one_road_and_its_cross_street_and_link_do_not(
    tmp_path,
):
    """Two unnamed one-way carriageways 20 m apart are one road; the one-way cross street
    of the same class and the 20 m link between them (wholly within join_m of both) stay
    roads of their own."""
    east = one_way(10, [(0, 0), (300, 0), (600, 0), (1200, 0)])
    west = one_way(11, [(1200, 20), (600, 20), (300, 20), (0, 20)])
    cross = one_way(20, [(600, -400), (600, 0), (600, 20), (600, 400)])
    link = one_way(30, [(300, 0), (300, 20)])
    risk = risk_of(tmp_path, [east, west, cross, link])
    ranked = risk.by_road(join_m=JOIN_M)
    assert way_sets(risk, ranked) == {frozenset({10, 11}), frozenset({20}), frozenset({30})}
    dual = ranked[ranked["roads"].map(lambda s: len(s.split(";"))) == 6].iloc[0]
    assert dual["length_m"] == pytest.approx(2400.0, abs=0.5)
    assert dual["highway"] == "primary" and pd.isna(dual["name"])
    assert dual["score"] == pytest.approx(pieces_of(risk, dual)["score"].max())


def test_every_piece_stays_in_the_detail_table_under_exactly_one_ranked_road(tmp_path):
    """The ranked roads' piece lists partition the detail table's ``road`` column."""
    east = one_way(10, [(0, 0), (300, 0), (600, 0), (1200, 0)])
    west = one_way(11, [(1200, 20), (600, 20), (300, 20), (0, 20)])
    cross = two_way(20, [(600, -400), (600, 0), (600, 20), (600, 400)], "residential")
    risk = risk_of(tmp_path, [east, west, cross])
    ranked = risk.by_road()
    listed = [int(p) for rows in ranked["roads"] for p in rows.split(";")]
    assert sorted(listed) == sorted(risk.roads["road"].tolist())
    assert ranked["pieces"].sum() == len(risk.roads) == 7
    assert ranked["length_m"].sum() == pytest.approx(risk.roads["length_m"].sum())


def test_a_carriageway_drawn_as_two_ways_joins_the_one_opposite(tmp_path):
    """Both halves of a carriageway split between two OSM ways join the other carriageway."""
    east_a = one_way(10, [(0, 0), (500, 0)])
    east_b = one_way(12, [(500, 0), (1000, 0)])
    west = one_way(11, [(1000, 20), (0, 20)])
    risk = risk_of(tmp_path, [east_a, east_b, west])
    assert way_sets(risk, risk.by_road()) == {frozenset({10, 11, 12})}


def test_a_slip_road_beside_a_named_dual_carriageway_stays_itself(tmp_path):
    """An unnamed slip road 10 m outside one carriageway and 25 m from the other runs
    against the far one, but the named road's nearest carriageway runs with it: apart."""
    east = one_way(10, [(0, 0), (300, 0), (1000, 0)], name="光谷大道")
    west = one_way(11, [(1000, 15), (0, 15)], name="光谷大道")
    slip = one_way(40, [(300, 0), (310, -10), (800, -10), (830, -40)])
    risk = risk_of(tmp_path, [east, west, slip])
    ranked = risk.by_road()
    assert way_sets(risk, ranked) == {frozenset({10, 11}), frozenset({40})}
    assert set(ranked["name"].dropna()) == {"光谷大道"}


def test_a_short_piece_running_against_two_roads_glues_neither_to_the_other(tmp_path):
    """A 100 m westbound piece midway between two eastbound roads 40 m apart runs against
    both along all its length; it joins one of them at most, never both into one road."""
    north = one_way(10, [(0, 40), (1000, 40)])
    south = one_way(11, [(0, 0), (1000, 0)])
    piece = one_way(12, [(550, 20), (450, 20)])
    risk = risk_of(tmp_path, [north, south, piece])
    roads = way_sets(risk, risk.by_road())
    assert len(roads) == 2 and not any({10, 11} <= r for r in roads)


def _pair(gap: float = 20.0) -> list[Way]:
    """An eastbound and a westbound unnamed primary road ``gap`` metres apart."""
    return [one_way(10, [(0, 0), (500, 0), (1000, 0)]), one_way(11, [(1000, gap), (0, gap)])]


EAST = _pair()[0]


@pytest.mark.parametrize(
    ("ways", "n_roads"),
    [
        pytest.param(_pair(), 1, id="carriageways"),
        pytest.param([EAST, one_way(11, [(0, 20), (1000, 20)])], 2, id="same direction"),
        pytest.param([EAST, one_way(11, [(1000, 20), (0, 20)], "secondary")], 2, id="other class"),
        pytest.param([EAST, one_way(11, [(1000, 20), (0, 20)], "primary_link")], 2, id="a link"),
        pytest.param(_pair(gap=45.0), 2, id="too far apart"),
        pytest.param(
            [two_way(10, [(0, 0), (1000, 0)]), two_way(11, [(1000, 20), (0, 20)])],
            2,
            id="two-way roads",
        ),
        # 400 m alongside, then 580 m away to the north: 41 % of the shorter road.
        pytest.param(
            [EAST, one_way(11, [(600, 20), (200, 20), (200, 600)])], 2, id="alongside for 41 %"
        ),
    ],
)
def test_chains_that_differ_from_a_carriageway_pair_in_one_respect_stay_apart(
    tmp_path, ways, n_roads
):
    """Only one-way chains of one class running opposite along each other for most of the
    shorter one's length, within join_m, are joined."""
    assert len(risk_of(tmp_path, ways).by_road()) == n_roads


def test_join_m_must_be_a_positive_distance(tmp_path):
    risk = risk_of(tmp_path, _pair())
    for bad in (0.0, -5.0, float("nan")):
        with pytest.raises(LightingError, match="join_m must be a positive"):
            risk.by_road(join_m=bad)


# --------------------------------------------------------------------------- real extract


@pytest.fixture(scope="module")
def optics_valley_risk(shared_path) -> RoadRisk:
    """Dark-road risk on the real Optics Valley extract with the test tables."""
    from geo.area import AreaSpec, load_area

    osm = shared_path("wuhan_optics_valley_gaoxin_cn.osm.bz2")
    spec = dataclasses.replace(AreaSpec.from_file(OPTICS_VALLEY / "area.toml"), osm=str(osm))
    area = load_area(spec)
    return road_risk(area.roads, area.require("villages"), area.incidents, engine=area.distances)


@pytest.mark.shared
def test_no_two_of_the_top_ten_real_roads_are_the_carriageways_of_one(optics_valley_risk):
    """On the real extract (mostly dual carriageways), no two of the ten riskiest roads
    run one-way against each other along most of the shorter one; the unnamed dual
    carriageways that used to rank as two sit in one row, holding both directions."""
    risk = optics_valley_risk
    top = risk.by_road(join_m=JOIN_M).head(10)
    pieces = [pieces_of(risk, e) for _, e in top.iterrows()]
    geoms = top.geometry.to_numpy()
    for i, j in zip(*np.triu_indices(len(top), k=1), strict=True):
        if shapely.distance(geoms[i], geoms[j]) > JOIN_M:
            continue
        p, q = pieces[i], pieces[j]
        share = max(opposite_share(p, q), opposite_share(q, p))
        assert share < 0.5, (top["rank"].iloc[i], top["rank"].iloc[j], share)
    unnamed_dual = [
        k
        for k, p in enumerate(pieces)
        if pd.isna(top["name"].iloc[k]) and opposite_share(p, p) > 0.8
    ]
    assert unnamed_dual, "no unnamed dual carriageway in the top ten"
    assert top["length_m"].iloc[unnamed_dual[0]] > 4000  # both 2 km carriageways


def test_pieces_carry_the_rank_of_their_whole_road(sample_full_area) -> None:
    """Every piece of the detail table names the rank of the ranked road it belongs to."""
    area = sample_full_area
    risk = road_risk(
        area.roads,
        area.village_shapes(),
        area.incidents,
        engine=area.distances,
        groups=area.groups,
    )
    ranked = risk.by_road()
    pieces = risk.pieces(ranked)
    assert len(pieces) == len(risk.roads) and pieces["road_rank"].notna().all()
    for _, row in ranked.head(10).iterrows():
        members = {int(r) for r in row["roads"].split(";")}
        assert set(pieces.loc[pieces["road_rank"] == row["rank"], "road"]) == members
    # With the village groups counted, the planted unlit road through four groups is
    # the riskiest road of the sample, and says where its households come from.
    assert ranked.iloc[0]["name"].endswith("通组路")
    assert risk.household_basis.startswith("village groups")


def test_the_lamp_plan_finds_the_dark_road_through_four_groups(sample_full_area) -> None:
    """The night job's default lamp plan puts a continuous run on the planted 通组路."""
    from service.night import run_night_job

    report = run_night_job(sample_full_area)
    plan = report.lamps
    on_road = plan.lamps[plan.lamps["name"].fillna("").str.endswith("通组路")]
    assert len(on_road) >= 5
    # Runs on it are continuous: consecutive lamps one spacing apart along each piece.
    for _, run in on_road.groupby("run"):
        gaps = np.diff(np.sort(run["position_m"].to_numpy()))
        assert len(run) >= 3 and np.allclose(gaps, plan.spacing_m)
    assert plan.household_basis.startswith("village groups")
    assert plan.households_served >= 90


def test_groups_for_every_village_count_households_where_they_live(sample_full_area) -> None:
    """With groups for every village, households near a road are the groups' near it."""
    area = sample_full_area
    villages = area.villages[area.villages["kind"] == "village"]
    groups = area.groups
    risk = road_risk(area.roads, villages, None, engine=area.distances, groups=groups)
    assert risk.household_basis == f"village groups ({len(groups)})"
    r = risk.roads.iloc[:200]
    near = shapely.dwithin(
        r.geometry.to_numpy()[:, None], groups.geometry.to_numpy()[None, :], 200.0
    )
    want = (near * groups["households"].to_numpy()[None, :]).sum(axis=1)
    np.testing.assert_allclose(r["households_raw"].to_numpy(), want)
