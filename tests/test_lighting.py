"""Lighting: lit km by area, dark-road risk, lamp placement and its scenario edit."""

from __future__ import annotations

import itertools
import json
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geo import layers
from geo.area import Area
from geo.errors import ScenarioError
from geo.lighting import (
    COMPONENTS,
    LampParams,
    LightingError,
    RiskParams,
    lit_km_by_area,
    place_lamps,
    road_risk,
)
from geo.network import DroppedReport, RoadNetwork, SourceInfo
from geo.scenarios import apply_edits, lamp_edit

CRS = pyproj.CRS.from_epsg(32650)  # UTM 50N, where Wuhan lies
X0, Y0 = 500_000.0, 3_400_000.0


# --------------------------------------------------------------------------- builders


def make_net(nodes, ways):
    """A two-way network from {name: (x, y)} (metres from X0, Y0) and ways.

    Each way is ``(id, a, b, highway, lit)`` or ``(id, a, b, highway, lit, [(x, y), ...])``
    with interior points.
    """
    names = list(nodes)
    idx = {n: i for i, n in enumerate(names)}
    xy = np.array([nodes[n] for n in names], dtype=float) + [X0, Y0]
    lon, lat = pyproj.Transformer.from_crs(CRS, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1])
    node_df = pd.DataFrame(
        {
            "osmid": np.arange(1, len(names) + 1),
            "x": xy[:, 0],
            "y": xy[:, 1],
            "lon": lon,
            "lat": lat,
        }
    )
    rows, coords, offsets = [], [], [0]
    for way in ways:
        wid, a, b, hw, lit, *rest = way
        pts = np.array([nodes[a], *(rest[0] if rest else []), nodes[b]], dtype=float) + [X0, Y0]
        length = float(np.hypot(*np.diff(pts, axis=0).T).sum())
        for rev, (u, v, c) in enumerate([(a, b, pts), (b, a, pts[::-1])]):
            t = length / (30 / 3.6)
            rows.append(
                {
                    "u": idx[u],
                    "v": idx[v],
                    "key": 0,
                    "osmid": wid,
                    "osm_ways": str(wid),
                    "highway": hw,
                    "name": f"way {wid}",
                    "lit": lit,
                    "lit_raw": None if lit == "unknown" else lit,
                    "surface": None,
                    "maxspeed_kmh": np.nan,
                    "oneway": False,
                    "reversed": bool(rev),
                    "length_m": length,
                    "time_car_s": t,
                    "time_motorbike_s": t,
                    "time_foot_s": length / (4.5 / 3.6),
                    "travel_time_s": t,
                }
            )
            coords.append(c)
            offsets.append(offsets[-1] + len(c))
    return RoadNetwork(
        mode="car",
        crs=CRS,
        nodes=node_df,
        edges=pd.DataFrame(rows),
        coords=np.vstack(coords),
        offsets=np.asarray(offsets),
        dropped=DroppedReport(components=0, nodes=0, edges=0, road_km=0.0),
        source=SourceInfo(path="test", sha256="", ways_read=len(ways), ways_trimmed=0),
    )


def make_villages(rows, crs=CRS):
    """Villages from (code, x, y, households, township_code) tuples."""
    return gpd.GeoDataFrame(
        {
            "code": [r[0] for r in rows],
            "name": [f"村{r[0]}" for r in rows],
            "township_code": [r[4] for r in rows],
            "township": [f"镇{r[4]}" for r in rows],
            "district_code": ["420199"] * len(rows),
            "district": ["测试区"] * len(rows),
            "households": pd.array([r[3] for r in rows], dtype="Int64"),
        },
        geometry=[shapely.Point(X0 + r[1], Y0 + r[2]) for r in rows],
        crs=crs,
    )


def make_incidents(rows, tz="Asia/Shanghai"):
    """Incidents from (id, x, y, "HH:MM") tuples, all on 2023-05-01 local time."""
    times = pd.to_datetime([f"2023-05-01 {r[3]}" for r in rows])
    return gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "time": times.tz_localize(tz) if tz else times,
            "category": ["theft"] * len(rows),
        },
        geometry=[shapely.Point(X0 + r[1], Y0 + r[2]) for r in rows],
        crs=CRS,
    )


def road_of(net, way_id):
    """Edge id of the forward (reversed == False) edge of a way."""
    e = net.edges
    return int(e.index[(e["osmid"] == way_id) & ~e["reversed"]][0])


# A hand-made network: a western triangle (N0 N1 N2) with a spur to N6, one road east
# (w4) to N3, then a road to N4 and a dead-end track to N7.
#
#        N6 (150,400)                 N7 (900,200)
#        |  w6                        |  w7
#        N2 (150,200)                 |
#   w3  /    \  w2                    |
#      /      \                       |
#   N0 -- w1 -- N1 ------- w4 ------- N3 -- w5 -- N4 (1100,0)
#  (0,0)      (300,0)               (900,0)
HAND_NODES = {
    "N0": (0, 0),
    "N1": (300, 0),
    "N2": (150, 200),
    "N3": (900, 0),
    "N4": (1100, 0),
    "N6": (150, 400),
    "N7": (900, 200),
}
HAND_WAYS = [
    (1, "N0", "N1", "residential", "yes"),  # 300 m, lit
    (2, "N1", "N2", "unclassified", "no"),  # 250 m
    (3, "N2", "N0", "track", "unknown"),  # 250 m
    (4, "N1", "N3", "unclassified", "no"),  # 600 m, the only link west-east
    (5, "N3", "N4", "residential", "no"),  # 200 m, the only way to village E
    (6, "N2", "N6", "track", "no"),  # 200 m, the only way to village N
    (7, "N3", "N7", "track", "unknown"),  # 200 m, dead end, nobody lives beyond
]
# Village W snaps to w1 near N0, village E to N4, village N to N6.
HAND_VILLAGES = [("W", 100, -50, 60, "T1"), ("E", 1100, -50, 30, "T2"), ("N", 200, 350, 10, "T1")]
HAND_INCIDENTS = [
    ("A", 155, 300, "23:00"),  # on w6, 100 m from N2, 5 m off the road
    ("B", 210, 120, "02:30"),  # on w2, 100 m from N2 (night past midnight)
    ("C", 30, 40, "19:30"),  # on w3, 200 m from N2 (night starts 19:00)
    ("D", 155, 300, "12:00"),  # where A is, at noon: not night
    ("E", 450, 0, "21:00"),  # on w4, 150 m from N1: 400 m from w6 along roads
    ("F", 155, 350, "06:00"),  # on w6 at 06:00: night has ended
    ("G", 1000, 5, "20:00"),  # on w5, 100 m from N3, 5 m off the road
    ("H", 598, 5, "22:00"),  # on w4, 298 m from N1 and 302 m from N3, 5 m off the road
]


@pytest.fixture(scope="module")
def hand():
    net = make_net(HAND_NODES, HAND_WAYS)
    villages = make_villages(HAND_VILLAGES)
    incidents = make_incidents(HAND_INCIDENTS)
    risk = road_risk(net, villages, incidents)
    return net, villages, incidents, risk


def row(risk, net, way_id):
    r = risk.roads
    return r.loc[r["edge"] == road_of(net, way_id)].iloc[0]


# --------------------------------------------------------------------------- km by area


def test_lit_km_by_area_sums_to_the_network_totals(sample_net, sample_layers):
    """Village, township and district km add up to the network's km per lit class."""
    villages = sample_layers[0]
    res = lit_km_by_area(sample_net, villages)
    summary = sample_net.summary()
    assert len(res.village) == len(villages)
    for table in res.by_level().values():
        for c in ("yes", "no", "unknown"):
            assert table[f"{c}_km"].sum() == pytest.approx(summary.lit_km[c], abs=1e-3)
            assert table[f"{c}_km"].sum() == pytest.approx(res.total[c], rel=1e-9)
        assert table["road_km"].sum() == pytest.approx(summary.road_km, abs=1e-3)
    assert res.township["villages"].sum() == len(villages)
    assert res.district["villages"].sum() == len(villages)
    # Each road's pieces add up to its length.
    per_edge = res.pieces.groupby("edge")["length_m"].sum()
    lengths = sample_net.edges.loc[per_edge.index, "length_m"]
    np.testing.assert_allclose(per_edge.to_numpy(), lengths.to_numpy(), rtol=1e-9)


def test_a_road_between_two_villages_is_split_at_the_bisector():
    """Voronoi clipping gives each village the half of the road nearer to it."""
    net = make_net(
        {"a": (0, 0), "b": (1000, 0), "c": (1000, 400)},
        [(1, "a", "b", "unclassified", "no"), (2, "b", "c", "track", "yes")],
    )
    villages = make_villages([("V1", 0, 50, 10, "T1"), ("V2", 1000, 50, 10, "T2")])
    res = lit_km_by_area(net, villages)
    v = res.village.set_index("code")
    # The bisector is x = 500: 0.5 km of w1 each; w2 (x = 1000) lies wholly in V2's cell.
    assert v.loc["V1", "no_km"] == pytest.approx(0.5)
    assert v.loc["V2", "no_km"] == pytest.approx(0.5)
    assert v.loc["V2", "yes_km"] == pytest.approx(0.4)
    assert v.loc["V1", "yes_km"] == pytest.approx(0.0)
    assert v.loc["V2", "lit_share"] == pytest.approx(0.4 / 0.9)
    t = res.township.set_index("township_code")
    assert t.loc["T2", "road_km"] == pytest.approx(0.9)
    assert res.district["road_km"].item() == pytest.approx(1.4)


def test_villages_sharing_a_point_share_its_roads():
    """Two villages at one point split the km of their cell equally."""
    net = make_net({"a": (0, 0), "b": (600, 0)}, [(1, "a", "b", "track", "no")])
    villages = make_villages([("V1", 300, 20, 5, "T1"), ("V2", 300, 20, 5, "T1")])
    v = lit_km_by_area(net, villages).village
    np.testing.assert_allclose(v["no_km"].to_numpy(), [0.3, 0.3])


# --------------------------------------------------------------------------- risk


def test_night_incidents_are_counted_by_network_distance(hand):
    """Hand counts: night window 19:00-06:00 and a 300 m network distance."""
    net, _, _, risk = hand
    # w6: A (5 m), B (100 m via N2), C (200 m via N2); D at noon and F at 06:00 are out
    # of the window, E is 150 + 250 = 400 m away along roads.
    assert row(risk, net, 6)["incidents_raw"] == 3
    # w4: B (150 m to N1), E and H (on it), G (5 + 100 m to N3); A is 5 + 100 + 250 m.
    assert row(risk, net, 4)["incidents_raw"] == 4
    # w2: A (105 to N2), B (on it), C (200 to N2), E (150 to N1); G is 705 m away and H
    # 298 m along roads plus 5 m off them: 303 m.
    assert row(risk, net, 2)["incidents_raw"] == 4
    # w3: A, B, C; E is 400 m from N2 and 450 m from N0.
    assert row(risk, net, 3)["incidents_raw"] == 3
    # w5 and w7: only G (E is 450 m from N3, H 5 + 302 m).
    assert row(risk, net, 5)["incidents_raw"] == 1
    assert row(risk, net, 7)["incidents_raw"] == 1
    assert risk.scale["incidents"] == 4
    assert set(risk.night_incidents["id"]) == {"A", "B", "C", "E", "G", "H"}


def test_households_road_class_and_score_by_hand(hand):
    """Households within 200 m, the class table, and the weighted sum, by hand."""
    net, _, _, risk = hand
    w2, w4, w5, w6 = (row(risk, net, w) for w in (2, 4, 5, 6))
    # Village W is 190 m from w2 (foot of the perpendicular at (252, 64)); village N is
    # 158 m from N2. Village E is 50 m from w5; village N 50 m from w6.
    assert w2["households_raw"] == 70
    assert w4["households_raw"] == 0  # W and E are both 206 m from w4's ends
    assert w5["households_raw"] == 30
    assert w6["households_raw"] == 10
    assert risk.scale["households"] == 70
    assert w2["road_class_raw"] == 0.9 and w6["road_class_raw"] == 0.6
    # w6: 3/4 incidents, track 0.6, 10/70 households, cuts off 10 of the 30 most.
    expected = 0.40 * 0.75 + 0.20 * 0.6 + 0.25 * (10 / 70) + 0.15 * (10 / 30)
    assert w6["score"] == pytest.approx(expected)
    assert w2["score"] == pytest.approx(0.40 + 0.20 * 0.9 + 0.25)
    for c in COMPONENTS:
        assert w6[f"{c}_contrib"] == pytest.approx(w6[f"{c}_norm"] * w6[f"{c}_weight"])
    assert w6["explanation"].startswith("3 night incidents within 300 m (0.75×0.40=0.30)")
    assert "farm track (0.60×0.20=0.12)" in w6["explanation"]
    assert "only link to 10 households" in w6["explanation"]
    assert risk.roads["rank"].iloc[0] == 1 and risk.roads["edge"].iloc[0] == road_of(net, 2)
    assert road_of(net, 1) not in set(risk.roads["edge"])  # lit roads are not scored


def test_bridges_are_only_links_between_village_groups(hand):
    """w4 alone joins west (70 households) and east (30); cycle roads are not bridges."""
    net, _, _, risk = hand
    assert row(risk, net, 4)["is_bridge"] and row(risk, net, 4)["bridge_raw"] == 30
    assert row(risk, net, 5)["bridge_raw"] == 30
    assert row(risk, net, 6)["bridge_raw"] == 10
    # A dead end with nobody beyond is a bridge that cuts off no one.
    assert row(risk, net, 7)["is_bridge"] and row(risk, net, 7)["bridge_raw"] == 0
    assert "only link, no households beyond" in row(risk, net, 7)["explanation"]
    for w in (2, 3):
        assert not row(risk, net, w)["is_bridge"] and row(risk, net, w)["bridge_raw"] == 0
        assert "not the only link" in row(risk, net, w)["explanation"]


def test_a_second_road_between_the_same_nodes_is_not_a_bridge():
    """Two parallel roads back each other up: neither is the only link."""
    ways = [*HAND_WAYS, (8, "N1", "N3", "track", "no", [(600, 120)])]
    net = make_net(HAND_NODES, ways)
    risk = road_risk(net, make_villages(HAND_VILLAGES))
    for w in (4, 8):
        assert not row(risk, net, w)["is_bridge"]
    assert row(risk, net, 5)["is_bridge"]


def test_planted_dark_road_hotspot_ranks_at_the_top(sample_files, sample_net, sample_layers):
    """The sample's planted night cluster on an unlit village road ranks in the top 3."""
    truth = json.loads(sample_files.hotspots_truth.read_text(encoding="utf-8"))["features"]
    dark = next(f["properties"] for f in truth if f["properties"]["kind"] == "dark_road")
    way = dark["osm_ref"].split("/")[1]
    incidents = layers.read_incidents(sample_files.incidents, to_crs=sample_net.crs)
    risk = road_risk(sample_net, sample_layers[0], incidents)
    on_way = risk.roads["osm_ways"].str.split(";").map(lambda ws: way in ws)
    assert on_way.any()
    assert risk.roads.loc[on_way, "rank"].min() <= 3
    assert (risk.roads["lit"] != "yes").all()
    assert risk.roads["rank"].is_monotonic_increasing


# --------------------------------------------------------------------------- lamps


@pytest.fixture(scope="module")
def sample_risk(sample_files, sample_net, sample_layers):
    incidents = layers.read_incidents(sample_files.incidents, to_crs=sample_net.crs)
    return road_risk(sample_net, sample_layers[0], incidents)


def undirected(net):
    g = nx.Graph()
    e = net.edges
    for u, v, length in zip(e["u"], e["v"], e["length_m"], strict=True):
        if u != v and (not g.has_edge(u, v) or g[u][v]["weight"] > length):
            g.add_edge(int(u), int(v), weight=float(length))
    return dict(nx.all_pairs_dijkstra_path_length(g))


def lamp_distances(net, lamps):
    """Network distance between every two lamps, computed with networkx."""
    dist = undirected(net)
    e = net.edges
    ends = []
    for edge, pos in zip(lamps["edge"], lamps["position_m"], strict=True):
        length = e.at[edge, "length_m"]
        ends.append(((int(e.at[edge, "u"]), pos), (int(e.at[edge, "v"]), length - pos)))
    n = len(lamps)
    out = np.full((n, n), np.inf)
    for i, j in itertools.combinations(range(n), 2):
        best = np.inf
        if lamps["edge"].iloc[i] == lamps["edge"].iloc[j]:
            best = abs(lamps["position_m"].iloc[i] - lamps["position_m"].iloc[j])
        for a, ca in ends[i]:
            for b, cb in ends[j]:
                best = min(best, ca + dist[a].get(b, np.inf) + cb)
        out[i, j] = out[j, i] = best
    return out


def star(lit_arm="no", arm=60):
    """Four arms round a junction, all equally risky; one arm's lighting given."""
    nodes = {"c": (0, 0), "e": (arm, 0), "n": (0, arm), "w": (-arm, 0), "s": (0, -arm)}
    ways = [(1, "c", "e", "residential", lit_arm)]
    ways += [(k, "c", t, "residential", "no") for k, t in ((2, "n"), (3, "w"), (4, "s"))]
    net = make_net(nodes, ways)
    return net, road_risk(net, make_villages([("V", 500, 500, 10, "T1")]))


def test_lamps_never_go_on_a_lit_road(sample_net, sample_risk):
    """No lamp, on any setting, stands on a road whose lit is yes."""
    lit = sample_net.edges["lit"].to_numpy()
    for step in (None, 7.0):
        plan = place_lamps(sample_net, sample_risk, budget=40, params=LampParams(step_m=step))
        assert len(plan.lamps) == 40
        assert (lit[plan.lamps["edge"].to_numpy()] != "yes").all()
    net, risk = star(lit_arm="yes")
    plan = place_lamps(net, risk, budget=10, params=LampParams(step_m=5.0))
    assert road_of(net, 1) not in set(plan.lamps["edge"])
    assert len(plan.lamps) > 0


def test_spacing_holds_along_roads_and_across_junctions():
    """Lamps are at least spacing_m apart along the network, also round the junction."""
    # On 20 m arms the best stretch of each arm starts at the junction, so only the
    # network check keeps lamps on different arms apart; 60 m arms hold two lamps each.
    for arm, budget in ((20, 4), (60, 12)):
        net, risk = star(arm=arm)
        plan = place_lamps(net, risk, budget=budget, params=LampParams(step_m=2.5))
        assert plan.n_conflicts > 0 and len(plan.lamps) >= 2
        d = lamp_distances(net, plan.lamps)
        assert np.min(d[np.triu_indices(len(d), 1)]) >= 35.0 - 1e-6
        for _, grp in plan.lamps.groupby("edge"):
            pos = np.sort(grp["position_m"].to_numpy())
            assert (np.diff(pos) >= 35.0 - 1e-6).all()


def test_default_grid_is_conflict_free_and_greedy_is_optimal(sample_net, sample_risk):
    """Candidates spacing apart, lighting disjoint stretches: greedy is the exact optimum."""
    plan = place_lamps(sample_net, sample_risk, budget=30)
    assert plan.n_conflicts == 0 and plan.ratio_bound == 1.0
    assert plan.covered_risk == pytest.approx(plan.upper_bound)
    assert plan.covered_risk == pytest.approx(plan.lamps["risk_covered"].sum())
    assert plan.covered_km == pytest.approx(30 * 35.0 / 1000)


# Random small instances: a random tree plus a few extra roads, each road with its own
# class whose exposure is its score (all other weights zero).


def random_instance(seed, n_nodes=6, extra=2):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 160, size=(n_nodes, 2))
    nodes = {f"n{i}": tuple(p) for i, p in enumerate(xy)}
    pairs = {(int(rng.integers(0, i)), i) for i in range(1, n_nodes)}
    while len(pairs) < n_nodes - 1 + extra:
        a, b = sorted(rng.choice(n_nodes, 2, replace=False).tolist())
        pairs.add((a, b))
    ways = [(k + 1, f"n{a}", f"n{b}", f"c{k}", "no") for k, (a, b) in enumerate(sorted(pairs))]
    exposure = {f"c{k}": float(s) for k, s in enumerate(rng.uniform(0.1, 1.0, len(ways)))}
    net = make_net(nodes, ways)
    params = RiskParams(
        incidents_weight=0,
        road_class_weight=1,
        households_weight=0,
        bridge_weight=0,
        road_class=exposure,
    )
    return net, road_risk(net, make_villages([("V", 0, 0, 1, "T1")]), params=params)


def brute_force(net, risk, budget, spacing, cover, step):
    """Best covered risk over every feasible lamp set, from first principles."""
    dist = undirected(net)
    e = net.edges
    cands = []
    for edge, length, score in zip(
        risk.roads["edge"], risk.roads["length_m"], risk.roads["score"], strict=True
    ):
        n = int(length // step)
        pos = (
            [length / 2]
            if n == 0
            else [(length - n * step) / 2 + (k + 0.5) * step for k in range(n)]
        )
        cands += [(int(edge), p, float(length), float(score)) for p in pos]

    def gap(a, b):
        best = abs(a[1] - b[1]) if a[0] == b[0] else np.inf
        for ua, ca in ((e.at[a[0], "u"], a[1]), (e.at[a[0], "v"], a[2] - a[1])):
            for ub, cb in ((e.at[b[0], "u"], b[1]), (e.at[b[0], "v"], b[2] - b[1])):
                best = min(best, ca + dist[ua].get(ub, np.inf) + cb)
        return best

    ok = {
        (i, j): gap(cands[i], cands[j]) >= spacing - 1e-6
        for i, j in itertools.combinations(range(len(cands)), 2)
    }

    def value(subset):
        total = 0.0
        for edge in {cands[i][0] for i in subset}:
            iv = sorted(
                (max(cands[i][1] - cover, 0), min(cands[i][1] + cover, cands[i][2]))
                for i in subset
                if cands[i][0] == edge
            )
            lit, end = 0.0, -np.inf
            for lo, hi in iv:
                lit += max(0.0, hi - max(lo, end))
                end = max(end, hi)
            total += lit * next(cands[i][3] for i in subset if cands[i][0] == edge)
        return total

    best = 0.0
    for k in range(1, budget + 1):
        for subset in itertools.combinations(range(len(cands)), k):
            if all(ok[p] for p in itertools.combinations(subset, 2)):
                best = max(best, value(subset))
    return best, len(cands)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_exact_matches_brute_force_and_greedy_keeps_its_guarantee(seed):
    """On tiny instances the MILP equals exhaustive search; greedy meets its bound."""
    net, risk = random_instance(seed, n_nodes=4, extra=1)
    spacing, cover, step = 60.0, 40.0, 45.0
    opt, n_cand = brute_force(net, risk, 3, spacing, cover, step)
    kw = {"budget": 3, "spacing_m": spacing, "coverage_m": cover}
    exact = place_lamps(net, risk, **kw, params=LampParams(step_m=step, method="exact"))
    greedy = place_lamps(net, risk, **kw, params=LampParams(step_m=step))
    assert exact.n_candidates == n_cand
    assert exact.method == "exact"
    assert exact.covered_risk == pytest.approx(opt, rel=1e-6)
    assert greedy.covered_risk >= greedy.ratio_bound * opt - 1e-9
    assert greedy.upper_bound >= opt - 1e-6


@pytest.mark.parametrize("seed", range(10, 16))
def test_greedy_is_near_the_milp_optimum_on_random_instances(seed):
    """Greedy reaches at least 1 - 1/e of the MILP optimum, and its bound is valid."""
    net, risk = random_instance(seed)
    kw = {"budget": 6, "spacing_m": 35.0, "coverage_m": 25.0}
    exact = place_lamps(net, risk, **kw, params=LampParams(step_m=15.0, method="exact"))
    greedy = place_lamps(net, risk, **kw, params=LampParams(step_m=15.0))
    assert exact.method == "exact"
    assert greedy.n_conflicts > 0  # the finer grid makes spacing bind
    assert exact.covered_risk >= greedy.covered_risk - 1e-9
    assert greedy.covered_risk >= (1 - 1 / math.e) * exact.covered_risk
    assert greedy.covered_risk >= greedy.ratio_bound * exact.covered_risk - 1e-9
    assert greedy.upper_bound >= exact.covered_risk - 1e-6
    assert exact.upper_bound >= exact.covered_risk - 1e-9


@pytest.mark.parametrize("seed", range(20, 24))
def test_greedy_equals_the_milp_in_the_modular_case(seed):
    """Disjoint stretches and no conflicts: greedy is optimal, as the MILP confirms."""
    net, risk = random_instance(seed)
    exact = place_lamps(net, risk, budget=5, params=LampParams(method="exact"))
    greedy = place_lamps(net, risk, budget=5)
    if greedy.n_conflicts == 0:
        assert greedy.ratio_bound == 1.0
    assert greedy.covered_risk == pytest.approx(exact.covered_risk, rel=1e-9)


def test_plan_edit_changes_lit_km_by_the_reported_amount(sample_net, sample_layers, sample_risk):
    """Applying lamp_edit(plan) lights exactly newly_lit_km of road, changing no travel time."""
    plan = place_lamps(sample_net, sample_risk, budget=40)
    assert plan.newly_lit_km > 0
    edit = lamp_edit(plan)
    assert edit.op == "mark_lit"
    villages, stations, teams = sample_layers
    before = Area.from_network(sample_net, villages=villages, stations=stations, teams=teams)
    after = apply_edits(before, [edit]).net

    def km(net, lit):
        e = net.edges
        return e.loc[~e["reversed"] & (e["lit"] == lit), "length_m"].sum() / 1000

    assert km(after, "yes") - km(sample_net, "yes") == pytest.approx(plan.newly_lit_km, abs=1e-9)
    dark_after = km(after, "no") + km(after, "unknown")
    assert dark_after == pytest.approx(plan.dark_km_after, abs=1e-9)
    for col in ("travel_time_s", "time_car_s", "time_foot_s", "length_m"):
        pd.testing.assert_series_equal(after.edges[col], sample_net.edges[col])
    # Twins go into the edit too, so both directions of each road read lit.
    e = sample_net.edges
    marked = set(plan.lit_edges)
    assert all(int(t) in marked for t in plan.roads.loc[plan.roads["lit_after"] == "yes", "twin"])
    assert (after.edges.loc[list(marked), "lit"] == "yes").all()
    assert len(marked) == 2 * (~e.loc[list(marked), "reversed"]).sum()


def test_plan_reports_what_the_lamps_reach(sample_net, sample_risk):
    """Stretches, villages served and incidents reached agree with direct distances."""
    plan = place_lamps(sample_net, sample_risk, budget=30)
    assert plan.stretches["length_m"].sum() / 1000 == pytest.approx(plan.covered_km)
    np.testing.assert_allclose(
        plan.stretches.geometry.length.to_numpy(), plan.stretches["length_m"].to_numpy(), rtol=1e-6
    )
    lamps = plan.lamps.geometry.union_all()
    vil = sample_risk.villages
    d = vil.geometry.distance(lamps).to_numpy()
    assert set(plan.villages_served["code"]) == set(vil["code"][d <= 200.0])
    assert plan.households_served == int(vil["households"][d <= 200.0].sum())
    lit = plan.stretches.geometry.union_all()
    night = sample_risk.night_incidents
    di = night.geometry.distance(lit).to_numpy()
    assert set(plan.incidents_reached["id"]) == set(night["id"][di <= 50.0])
    assert len(plan.incidents_reached) > 50  # the lamps go to the planted dark-road cluster
    assert plan.summary()["lamps"] == 30


# --------------------------------------------------------------------------- errors


def test_budget_zero_gives_an_empty_plan_and_negative_is_an_error(hand):
    net, _, _, risk = hand
    plan = place_lamps(net, risk, budget=0)
    assert len(plan.lamps) == 0 and plan.reason == "budget is 0"
    assert plan.covered_km == 0 and plan.newly_lit_km == 0
    with pytest.raises(ScenarioError, match="nothing to mark lit"):
        lamp_edit(plan)
    with pytest.raises(LightingError, match="budget must be 0 or more"):
        place_lamps(net, risk, budget=-1)
    with pytest.raises(LightingError, match="budget must be a whole number"):
        place_lamps(net, risk, budget=2.5)  # type: ignore[arg-type]
    with pytest.raises(LightingError, match="budget must be a whole number"):
        place_lamps(net, risk, budget=True)


def test_bad_spacing_and_options_are_errors(hand):
    net, _, _, risk = hand
    with pytest.raises(LightingError, match="spacing_m must be a positive"):
        place_lamps(net, risk, spacing_m=0)
    with pytest.raises(LightingError, match="spacing_m must be a positive"):
        place_lamps(net, risk, spacing_m=float("nan"))
    with pytest.raises(LightingError, match="coverage_m must be a positive"):
        place_lamps(net, risk, coverage_m=-5)
    with pytest.raises(LightingError, match="step_m"):
        LampParams(step_m=0)
    with pytest.raises(LightingError, match="lit_share"):
        LampParams(lit_share=1.5)
    with pytest.raises(LightingError, match="method"):
        LampParams(method="best")  # type: ignore[arg-type]


def test_no_dark_road_gives_an_empty_plan_with_a_reason():
    net = make_net({"a": (0, 0), "b": (300, 0)}, [(1, "a", "b", "residential", "yes")])
    risk = road_risk(net, make_villages([("V", 0, 50, 10, "T1")]))
    assert len(risk.roads) == 0
    plan = place_lamps(net, risk)
    assert len(plan.lamps) == 0 and "no road is unlit" in plan.reason
    assert plan.dark_km_before == 0


def test_risk_from_another_network_is_refused(hand, sample_net):
    _, _, _, risk = hand
    with pytest.raises(LightingError, match="another network"):
        place_lamps(sample_net, risk)


def test_layers_without_or_with_another_crs_are_errors(hand):
    net, villages, incidents, _ = hand
    with pytest.raises(LightingError, match="no CRS"):
        lit_km_by_area(net, villages.set_crs(None, allow_override=True))
    with pytest.raises(LightingError, match="reproject"):
        road_risk(net, villages.to_crs(4326))
    with pytest.raises(LightingError, match="incidents layer has no CRS"):
        road_risk(net, villages, incidents.set_crs(None, allow_override=True))
    with pytest.raises(LightingError, match="lacks column"):
        lit_km_by_area(net, villages.drop(columns="township"))
    with pytest.raises(LightingError, match="households"):
        road_risk(net, villages.assign(households=pd.array([1, None, 3], dtype="Int64")))


def test_incident_times_must_be_time_zone_aware(hand):
    net, villages, _, _ = hand
    naive = make_incidents(HAND_INCIDENTS, tz=None)
    with pytest.raises(LightingError, match="time-zone aware"):
        road_risk(net, villages, naive)


def test_risk_params_are_validated():
    with pytest.raises(LightingError, match="incidents_weight"):
        RiskParams(incidents_weight=-1)
    with pytest.raises(LightingError, match="all zero"):
        RiskParams(incidents_weight=0, road_class_weight=0, households_weight=0, bridge_weight=0)
    with pytest.raises(LightingError, match="night window would be empty"):
        RiskParams(night_start_hour=6, night_end_hour=6)
    with pytest.raises(LightingError, match="night_end_hour"):
        RiskParams(night_end_hour=24)
    with pytest.raises(LightingError, match="exposure"):
        RiskParams(road_class={"track": 2.0})
    with pytest.raises(LightingError, match="incident_distance_m"):
        RiskParams(incident_distance_m=0)


def test_night_window_and_category_filter(hand):
    """A daytime window and a category filter change which incidents count."""
    net, villages, incidents, _ = hand
    day = road_risk(net, villages, incidents, RiskParams(night_start_hour=11, night_end_hour=13))
    assert set(day.night_incidents["id"]) == {"D"}
    none = road_risk(net, villages, incidents, RiskParams(categories=("burglary",)))
    assert len(none.night_incidents) == 0 and (none.roads["incidents_raw"] == 0).all()


def test_dark_roads_rank_as_whole_roads_not_pieces():
    """Pieces of one named road join into one ranked road; the same name elsewhere does not."""
    import dataclasses

    nodes = {"A": (0, 0), "B": (300, 0), "C": (600, 0), "D": (0, 500), "E": (300, 500)}
    ways = [
        (1, "A", "B", "unclassified", "no"),
        (2, "B", "C", "unclassified", "no"),
        (3, "D", "E", "unclassified", "no"),
        (4, "A", "D", "track", "unknown"),
    ]
    net = make_net(nodes, ways)
    edges = net.edges.copy()
    names = {1: "甲路", 2: "甲路", 3: "甲路", 4: None}
    edges["name"] = edges["osmid"].map(names)
    net = dataclasses.replace(net, edges=edges)
    risk = road_risk(net, make_villages([("V", 150, 20, 50, "T1")]))
    roads = risk.by_road()
    assert len(risk.roads) == 4 and len(roads) == 3
    assert list(roads["rank"]) == [1, 2, 3]
    jia = roads[roads["name"] == "甲路"].set_index("pieces")
    assert jia.loc[2, "length_m"] == pytest.approx(600.0)  # A-B-C, one road
    assert jia.loc[1, "length_m"] == pytest.approx(300.0)  # D-E, 500 m away: another road
    assert roads["length_m"].sum() == pytest.approx(risk.roads["length_m"].sum())
    piece_max = risk.roads.groupby("osmid")["score"].max()
    assert jia.loc[2, "score"] == pytest.approx(max(piece_max[1], piece_max[2]))
    assert roads["name"].isna().sum() == 1  # the unnamed track stays itself


def test_households_count_from_a_village_polygon_near_the_road():
    """A road along a village's houses counts its households although its centre is far."""
    net = make_net({"A": (0, 0), "B": (600, 0)}, [(1, "A", "B", "unclassified", "no")])
    centre_far = make_villages([("C", 300, 300, 40, "T1")])  # point 300 m from the road
    as_point = road_risk(net, centre_far)
    assert as_point.roads["households_raw"].iloc[0] == 0
    assert as_point.household_basis == "village points"
    poly = centre_far.copy()
    poly["geometry"] = [shapely.box(100, 150, 500, 450).buffer(0)]
    poly["geometry"] = poly.geometry.translate(X0, Y0)  # houses from 150 m off the road
    as_polygon = road_risk(net, poly)
    assert as_polygon.roads["households_raw"].iloc[0] == 40
    assert as_polygon.household_basis == "village polygons"


def test_lamps_use_one_default_wherever_they_run(sample_net, sample_layers):
    """The main job's night step and `pingan lamps` (defaults) mark the same roads lit."""
    from service.night import run_night_job

    villages, stations, teams = sample_layers
    area = Area.from_network(sample_net, villages=villages, stations=stations, teams=teams)
    job = run_night_job(area)
    risk = road_risk(area.roads, villages, engine=area.distances)
    cli = place_lamps(area.roads, risk, engine=area.distances)
    assert job.lamps.lit_roads == cli.lit_roads and cli.lit_roads
    assert job.lamps.newly_lit_km == pytest.approx(cli.newly_lit_km)
    assert lamp_edit(cli).fields["roads"] == list(cli.lit_roads)
