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
from geo.scenarios import apply_edits, lamp_edit, lit_km

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
    """Hand counts: night window 19:00-06:00, a 300 m network distance, closeness."""
    net, _, _, risk = hand
    # w6: A (5 m), B (100 m via N2), C (200 m via N2); D at noon and F at 06:00 are out
    # of the window, E is 150 + 250 = 400 m away along roads.
    assert row(risk, net, 6)["incidents_n"] == 3
    # w4: B (150 m to N1), E and H (on it), G (5 + 100 m to N3); A is 5 + 100 + 250 m.
    assert row(risk, net, 4)["incidents_n"] == 4
    # w2: A (105 to N2), B (on it), C (200 to N2), E (150 to N1); G is 705 m away and H
    # 298 m along roads plus 5 m off them: 303 m.
    assert row(risk, net, 2)["incidents_n"] == 4
    # w3: A, B, C; E is 400 m from N2 and 450 m from N0.
    assert row(risk, net, 3)["incidents_n"] == 3
    # w5 and w7: only G (E is 450 m from N3, H 5 + 302 m).
    assert row(risk, net, 5)["incidents_n"] == 1
    assert row(risk, net, 7)["incidents_n"] == 1
    # Each counts by closeness, 1 - d / 300 m: on w6 A, B and C weigh 295, 200, 100 / 300.
    assert row(risk, net, 6)["incidents_raw"] == pytest.approx((295 + 200 + 100) / 300)
    assert row(risk, net, 5)["incidents_raw"] == pytest.approx(1 - 5 / 300)  # G, 5 m off
    assert risk.scale["incidents"] == pytest.approx(risk.roads["incidents_raw"].max())
    assert set(risk.night_incidents["id"]) == {"A", "B", "C", "E", "G", "H"}


def _brute_force_incident_counts(net, risk, limit=300.0):
    """Per road: night incidents within ``limit`` along roads, and their closeness sum.

    Every (incident, road) pair on its own, with networkx distances between all nodes:
    the incident walks its off-road leg, then along its road to either end (or stays on
    its road), then along any roads to either end of the road scored.
    """
    dist = undirected(net)
    e = net.edges
    roads = risk.roads
    ends = {
        int(r.road): (int(e.at[r.edge, "u"]), int(e.at[r.edge, "v"])) for r in roads.itertuples()
    }
    count = dict.fromkeys(ends, 0)
    close = dict.fromkeys(ends, 0.0)
    for inc in risk.night_incidents.itertuples():
        u, v = int(e.at[inc.edge, "u"]), int(e.at[inc.edge, "v"])
        length = e.at[inc.edge, "length_m"]
        legs = ((u, inc.offroad_m + inc.along_m), (v, inc.offroad_m + length - inc.along_m))
        for road, (a, b) in ends.items():
            d = inc.offroad_m if road == inc.road else np.inf
            for node, leg in legs:
                d = min(d, leg + dist[node].get(a, np.inf), leg + dist[node].get(b, np.inf))
            if d <= limit + 1e-6:
                count[road] += 1
                close[road] += max(0.0, 1.0 - d / limit)
    return count, close


def test_incident_sums_per_road_equal_the_brute_force_over_every_pair(monkeypatch):
    """Per-road sums built block by block equal every (incident, road) pair counted alone.

    A 6 x 6 grid of 180-260 m streets with 400 incidents: the per-road totals match a
    brute force over all pairs, and blocks of a few pairs give bit for bit what one
    block does (the sums add the same numbers in the same order).
    """
    import geo.lighting.risk as risk_module

    rng = np.random.default_rng(7)
    xs, ys = np.cumsum(rng.uniform(180, 260, 6)), np.cumsum(rng.uniform(180, 260, 6))
    nodes = {f"n{i}_{j}": (xs[i], ys[j]) for i in range(6) for j in range(6)}
    ways, wid = [], 1
    for i in range(6):
        for j in range(6):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < 6 and j + dj < 6:
                    lit = ("no", "unknown", "yes")[wid % 3]
                    ways.append((wid, f"n{i}_{j}", f"n{i + di}_{j + dj}", "residential", lit))
                    wid += 1
    net = make_net(nodes, ways)
    n = 400
    pts = [
        (f"I{k}", x, y, f"{h:02d}:00")
        for k, (x, y, h) in enumerate(
            zip(
                rng.uniform(xs[0] - 50, xs[-1] + 50, n),
                rng.uniform(ys[0] - 50, ys[-1] + 50, n),
                rng.integers(0, 24, n),
                strict=True,
            )
        )
    ]
    villages = make_villages([("V", xs[2], ys[2], 50, "T1")])
    incidents = make_incidents(pts)
    whole = road_risk(net, villages, incidents)
    count, close = _brute_force_incident_counts(net, whole)
    got = whole.roads.set_index("road")
    assert len(whole.night_incidents) > 100
    assert got["incidents_n"].to_dict() == {r: count[r] for r in got.index}
    np.testing.assert_allclose(
        got["incidents_raw"].to_numpy(), [close[r] for r in got.index], rtol=1e-12, atol=1e-12
    )
    # Riskiest first, ties to the lower edge, ranks shared by equal scores.
    r = whole.roads
    key = list(zip(-r["score"], r["edge"], strict=True))
    assert key == sorted(key)
    assert (r["rank"] == r["score"].rank(method="min", ascending=False).astype(int)).all()
    monkeypatch.setattr(risk_module, "_PAIR_BUDGET", 7)
    monkeypatch.setattr(risk_module, "_EXPLAIN_BLOCK", 5)
    blocks = road_risk(net, villages, incidents)
    pd.testing.assert_frame_equal(blocks.roads, whole.roads, check_exact=True)


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
    # w6: its closeness-weighted incidents over the largest, track 0.6, 10/70
    # households, cuts off 10 of the 30 most.
    inc = risk.scale["incidents"]
    expected = 0.40 * w6["incidents_raw"] / inc + 0.20 * 0.6 + 0.25 * (10 / 70) + 0.15 * (10 / 30)
    assert w6["score"] == pytest.approx(expected)
    assert w2["score"] == pytest.approx(0.40 * w2["incidents_raw"] / inc + 0.20 * 0.9 + 0.25)
    for c in COMPONENTS:
        assert w6[f"{c}_contrib"] == pytest.approx(w6[f"{c}_norm"] * w6[f"{c}_weight"])
    norm = w6["incidents_raw"] / inc
    assert w6["explanation"].startswith(
        f"3 night incidents within 300 m (weighted by closeness: 2.0) ({norm:.2f}×0.40="
    )
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


def grid(length, spacing=35.0):
    """Slot positions on a road: floor(L / s) slots s apart, centred (L >= s)."""
    n = int(length // spacing)
    return [(length - n * spacing) / 2 + (k + 0.5) * spacing for k in range(n)]


def assert_runs(plan, min_run=3, min_gap=3):
    """Each run is consecutive slots of one road, min_run long (or the whole road), and
    two runs of one road are min_gap empty slots apart."""
    s = plan.spacing_m
    for road, lamps in plan.lamps.groupby("road"):
        length = float(plan.roads.set_index("road").loc[road, "length_m"])
        slots = grid(length, s) or [length / 2]
        pos = lamps["position_m"].to_numpy()
        k = np.array([int(np.argmin(np.abs(np.asarray(slots) - p))) for p in pos])
        np.testing.assert_allclose(np.asarray(slots)[k], pos, atol=1e-6)  # on the grid
        runs = lamps["run"].to_numpy()
        for r in np.unique(runs):
            kr = np.sort(k[runs == r])
            assert (np.diff(kr) == 1).all(), "a run is consecutive slots"
            pr = np.sort(pos[runs == r])
            np.testing.assert_allclose(np.diff(pr), s, atol=1e-6)
            assert len(kr) >= min(min_run, len(slots)), "no run below the minimum"
        starts = sorted((k[runs == r].min(), k[runs == r].max()) for r in np.unique(runs))
        for (_, end), (start, _) in itertools.pairwise(starts):
            assert start - end - 1 >= min_gap, "runs of one road are min_gap slots apart"
    # A stretch per run, lit from its first lamp's start to its last lamp's end.
    st = plan.stretches.set_index("run")
    by_run = plan.lamps.groupby("run")
    np.testing.assert_allclose(st["from_m"], by_run["covered_from_m"].min())
    np.testing.assert_allclose(st["to_m"], by_run["covered_to_m"].max())
    np.testing.assert_allclose(st["length_m"], by_run["lit_m"].sum())


def lamp_xy(plan):
    """The lamps' points, rounded to the millimetre, in a canonical order."""
    xy = np.round(shapely.get_coordinates(plan.lamps.geometry.to_numpy()), 3)
    return sorted(map(tuple, xy.tolist()))


# A village street: one 700 m road with a group of 40 households 30 m off it at 400 m.
STREET = ({"a": (0, 0), "b": (700, 0)}, [(1, "a", "b", "unclassified", "no")])


def test_a_run_is_centred_on_the_houses_and_greedy_agrees():
    """Six lamps light one continuous run round the houses; greedy finds the same."""
    net = make_net(*STREET)
    risk = road_risk(net, make_villages([("V", 400, 30, 40, "T1")]))
    plans = [
        place_lamps(net, risk, budget=6, params=LampParams(method=m)) for m in ("exact", "greedy")
    ]
    for plan in plans:
        assert len(plan.lamps) == 6 and len(plan.stretches) == 1
        assert_runs(plan)
        pos = plan.lamps["position_m"].to_numpy()
        # Slots at 17.5 + 35 k: the six nearest 400 m are 297.5 .. 472.5 (297.5 is 102.5 m
        # from the houses' foot, 507.5 is 107.5 m: the nearer wins).
        np.testing.assert_allclose(pos, 297.5 + 35 * np.arange(6))
        assert plan.stretches["from_m"].item() == pytest.approx(280.0)
        assert plan.stretches["to_m"].item() == pytest.approx(490.0)
        assert plan.covered_km == pytest.approx(6 * 0.035)
    assert lamp_xy(plans[0]) == lamp_xy(plans[1])
    assert plans[0].method == "exact" and plans[0].ratio_bound == 1.0
    assert plans[0].covered_risk == pytest.approx(plans[0].upper_bound, rel=1e-8)


def test_worth_per_metre_is_score_plus_the_distance_weighted_people():
    """A lamp's worth: lit metres x (road score + households and incidents by distance)."""
    net = make_net(*STREET)
    villages = make_villages([("V", 400, 30, 40, "T1"), ("W", 100, -150, 20, "T1")])
    incidents = make_incidents([("A", 402.5, 10, "22:00"), ("B", 420, 0, "23:00")])
    risk = road_risk(net, villages, incidents)
    score = float(risk.roads["score"].item())
    plan = place_lamps(net, risk, budget=3)
    lamp = plan.lamps.set_index("position_m").loc[402.5]
    # Households: V at 30.1 m, W out of reach (302 m); incidents: A at 10 m, B at 17.5 m.
    h = 40 * (1 - math.hypot(2.5, 30) / 200)
    i = (1 - 10 / 50) + (1 - 17.5 / 50)
    # The lamp at 402.5 has the most of both (the largest sums over all slots).
    assert lamp["households_term"] == pytest.approx(1.0)
    assert lamp["incidents_term"] == pytest.approx(0.5)
    assert lamp["worth_per_m"] == pytest.approx(score + 1.0 + 0.5)
    assert lamp["risk_covered"] == pytest.approx(35.0 * lamp["worth_per_m"])
    assert lamp["households_near"] == 40 and lamp["night_incidents_near"] == 2
    nxt = plan.lamps.set_index("position_m").loc[437.5]
    h_next = 40 * (1 - math.hypot(37.5, 30) / 200)
    i_next = (1 - math.hypot(35, 10) / 50) + (1 - 17.5 / 50)
    assert nxt["households_term"] == pytest.approx(h_next / h)
    assert nxt["incidents_term"] == pytest.approx(0.5 * i_next / i)
    assert plan.covered_risk == pytest.approx(plan.lamps["risk_covered"].sum())


def test_ties_go_to_the_run_nearer_the_houses():
    """On a road nobody lives near, every run is worth the same: the one nearer the
    village (600 m beyond the east end) is chosen, by either method."""
    net = make_net(*STREET)
    risk = road_risk(net, make_villages([("V", 1300, 0, 50, "T1")]))
    for method in ("exact", "greedy"):
        plan = place_lamps(net, risk, budget=4, params=LampParams(method=method))
        assert (plan.lamps["households_near"] == 0).all()
        np.testing.assert_allclose(plan.lamps["position_m"], 577.5 + 35 * np.arange(4))


def test_exact_ties_follow_the_stated_rule_in_both_methods():
    """Where mirror-image plans are worth exactly the same and are as near the houses, both
    methods take the same one: the lower road id, and on it the run nearer its u end."""
    # Two parallel 210 m streets with the houses half-way between and across them: each
    # street's best three lamps are 52.5-122.5 or 87.5-157.5, on either street.
    nodes = {"a": (0, 0), "b": (210, 0), "c": (0, 400), "d": (210, 400)}
    ways = [(1, "a", "b", "unclassified", "no"), (2, "c", "d", "unclassified", "no")]
    net = make_net(nodes, ways)
    risk = road_risk(net, make_villages([("V", 105, 200, 50, "T1")]))
    for method in ("exact", "greedy"):
        plan = place_lamps(net, risk, budget=3, params=LampParams(method=method))
        assert set(plan.lamps["edge"]) == {road_of(net, 1)}
        np.testing.assert_allclose(plan.lamps["position_m"], [52.5, 87.5, 122.5])


def village_streets(order=1):
    """Three village streets off one lane, each with its own group; ways in given order."""
    nodes = {"o": (0, 0), "a": (600, 0), "b": (0, 500), "c": (-400, -300)}
    ways = [
        (1, "o", "a", "unclassified", "no"),
        (2, "o", "b", "residential", "unknown"),
        (3, "c", "o", "residential", "no"),
    ][::order]
    villages = make_villages(
        [("V1", 350, 20, 60, "T1"), ("V2", -30, 260, 35, "T1"), ("V3", -250, -180, 25, "T1")]
    )
    incidents = make_incidents([("A", 10, 300, "21:00"), ("B", -200, -160, "01:00")])
    net = make_net(nodes, ways)
    return net, road_risk(net, villages, incidents)


@pytest.mark.parametrize("budget", [3, 7, 10, 16])
def test_greedy_and_exact_agree_on_village_streets(budget):
    """Groups on separate streets: both methods light the same continuous runs."""
    net, risk = village_streets()
    exact = place_lamps(net, risk, budget=budget)
    greedy = place_lamps(net, risk, budget=budget, params=LampParams(method="greedy"))
    assert len(exact.lamps) == budget
    assert_runs(exact)
    assert_runs(greedy)
    assert lamp_xy(exact) == lamp_xy(greedy)
    assert greedy.covered_risk == pytest.approx(exact.covered_risk, rel=1e-12)


def test_the_plan_does_not_depend_on_the_order_of_the_roads():
    """Listing the ways in reverse (other road ids) or shuffling the risk table gives the
    same lamps: nothing is left to a tie-break on road ids."""
    import dataclasses

    for budget in (5, 9, 14):
        net, risk = village_streets()
        net_r, risk_r = village_streets(order=-1)
        base = place_lamps(net, risk, budget=budget)
        assert lamp_xy(place_lamps(net_r, risk_r, budget=budget)) == lamp_xy(base)
        shuffled = dataclasses.replace(risk, roads=risk.roads.iloc[::-1].reset_index(drop=True))
        again = place_lamps(net, shuffled, budget=budget)
        assert lamp_xy(again) == lamp_xy(base)
        assert list(again.lamps["road"]) == list(base.lamps["road"])


def random_streets(seed):
    """2-3 straight dark roads from one junction, random lengths, scores and houses."""
    rng = np.random.default_rng(seed)
    n_roads = int(rng.integers(2, 4))
    nodes = {"o": (0.0, 0.0)}
    ways = []
    for r in range(n_roads):
        length = float(rng.uniform(36, 330))
        angle = 2 * np.pi * r / n_roads + rng.uniform(-0.4, 0.4)
        nodes[f"e{r}"] = (length * np.cos(angle), length * np.sin(angle))
        ways.append((r + 1, "o", f"e{r}", f"c{r}", "no"))
    exposure = {f"c{r}": float(s) for r, s in enumerate(rng.uniform(0.1, 1.0, n_roads))}
    houses = [
        (f"V{j}", *rng.uniform(-250, 250, 2), int(rng.integers(5, 120)), "T1")
        for j in range(int(rng.integers(1, 4)))
    ]
    net = make_net(nodes, ways)
    params = RiskParams(
        incidents_weight=0,
        road_class_weight=1,
        households_weight=0,
        bridge_weight=0,
        road_class=exposure,
    )
    villages = make_villages(houses)
    return net, road_risk(net, villages, params=params), villages


def brute_force(net, risk, villages, budget, spacing, cover, min_run, min_gap):
    """Best worth over every valid plan, enumerated from the model's definition."""
    e, nodes = net.edges, net.nodes
    hx = villages.geometry.x.to_numpy()
    hy = villages.geometry.y.to_numpy()
    hh = villages["households"].to_numpy(dtype=float)
    roads = []
    for edge, length, score in zip(
        risk.roads["edge"], risk.roads["length_m"], risk.roads["score"], strict=True
    ):
        u, v = int(e.at[edge, "u"]), int(e.at[edge, "v"])
        a = nodes.loc[u, ["x", "y"]].to_numpy(dtype=float)
        b = nodes.loc[v, ["x", "y"]].to_numpy(dtype=float)
        pos = np.array(grid(length, spacing))
        xy = a + np.outer(pos / length, b - a)
        d = np.hypot(xy[:, [0]] - hx, xy[:, [1]] - hy)
        h = (hh * np.clip(1 - d / 200.0, 0, None)).sum(axis=1)
        head = np.maximum(np.minimum(cover, pos) - spacing / 2, 0)
        tail = np.maximum(np.minimum(cover, length - pos) - spacing / 2, 0)
        roads.append((float(score), h, head, tail))
    h_max = max(r[1].max() for r in roads) or 1.0
    per_road = []
    for score, h, head, tail in roads:
        w = score + h / h_max
        n = len(w)
        best = {0: 0.0}
        for mask in range(1, 1 << n):
            on = [(mask >> t) & 1 for t in range(n)]
            runs, t = [], 0
            while t < n:
                if on[t]:
                    s0 = t
                    while t < n and on[t]:
                        t += 1
                    runs.append((s0, t - 1))
                t += 1
            if any(j - i + 1 < min(min_run, n) for i, j in runs):
                continue
            if any(b0 - a1 - 1 < min_gap for (_, a1), (b0, _) in itertools.pairwise(runs)):
                continue
            value = sum(
                w[t] * (spacing + (head[t] if t == i else 0) + (tail[t] if t == j else 0))
                for i, j in runs
                for t in range(i, j + 1)
            )
            k = sum(on)
            best[k] = max(best.get(k, -1.0), value)
        per_road.append(best)
    top = 0.0
    for combo in itertools.product(*(list(b.items()) for b in per_road)):
        if sum(k for k, _ in combo) <= budget:
            top = max(top, sum(v for _, v in combo))
    return top


@pytest.mark.parametrize("seed", range(30))
def test_exact_matches_brute_force_on_small_random_instances(seed):
    """The dynamic programme finds the best plan an exhaustive search finds; greedy is
    never better and its bound holds."""
    rng = np.random.default_rng(1000 + seed)
    min_run, min_gap = [(3, 3), (1, 1), (2, 1), (3, 2), (1, 3), (2, 2)][seed % 6]
    spacing = 35.0
    cover = float(rng.choice([17.5, 17.5, 22.0, 35.0 * (min_gap + 1) / 2]))
    budget = int(rng.integers(1, 12))
    net, risk, villages = random_streets(seed)
    opt = brute_force(net, risk, villages, budget, spacing, cover, min_run, min_gap)
    kw = {"budget": budget, "spacing_m": spacing, "coverage_m": cover}
    exact = place_lamps(net, risk, **kw, params=LampParams(min_run=min_run, min_gap=min_gap))
    greedy = place_lamps(
        net, risk, **kw, params=LampParams(min_run=min_run, min_gap=min_gap, method="greedy")
    )
    assert exact.covered_risk == pytest.approx(opt, rel=1e-7, abs=1e-9)
    assert exact.upper_bound >= opt - 1e-9
    assert greedy.covered_risk <= opt + 1e-6
    assert greedy.upper_bound >= opt - 1e-6
    for plan in (exact, greedy):
        assert_runs(plan, min_run, min_gap)
        assert len(plan.lamps) <= budget


def test_lamps_never_go_on_a_lit_road(sample_net, sample_risk):
    """No lamp, with either method, stands on a road whose lit is yes."""
    lit = sample_net.edges["lit"].to_numpy()
    for method in ("exact", "greedy"):
        plan = place_lamps(sample_net, sample_risk, budget=40, params=LampParams(method=method))
        assert len(plan.lamps) == 40
        assert (lit[plan.lamps["edge"].to_numpy()] != "yes").all()
        assert_runs(plan)
    net = make_net(
        {"c": (0, 0), "e": (200, 0), "n": (0, 200)},
        [(1, "c", "e", "residential", "yes"), (2, "c", "n", "residential", "no")],
    )
    risk = road_risk(net, make_villages([("V", 100, 20, 10, "T1")]))
    plan = place_lamps(net, risk, budget=10)
    assert set(plan.lamps["edge"]) == {road_of(net, 2)}
    assert len(plan.lamps) == 5  # the dark road's five slots; the rest is the lit road


def star(arms):
    """Roads from a junction, one per arm length given, all dark and equally risky."""
    ends = [(a * np.cos(k * np.pi / 2), a * np.sin(k * np.pi / 2)) for k, a in enumerate(arms)]
    nodes = {"c": (0, 0), **{f"t{k}": xy for k, xy in enumerate(ends)}}
    ways = [(k + 1, "c", f"t{k}", "residential", "no") for k in range(len(arms))]
    net = make_net(nodes, ways)
    return net, road_risk(net, make_villages([("V", 5, 5, 10, "T1")]))


def test_spacing_holds_along_roads_and_across_junctions():
    """Lamps are at least spacing_m apart along the network, also round the junction; a
    road shorter than the spacing keeps its middle slot only where nothing is that near."""
    # Arms of 100 m: first slots 32.5 m from the junction; the 20 m arm's middle is 10 m
    # out, 42.5 m from them: it stays.
    net, risk = star([100, 100, 20, 100])
    plan = place_lamps(net, risk, budget=12)
    assert plan.n_conflicts == 0 and plan.n_candidates == 3 * 2 + 1
    assert road_of(net, 3) in set(plan.lamps["edge"])
    d = lamp_distances(net, plan.lamps)
    assert np.min(d[np.triu_indices(len(d), 1)]) >= 35.0 - 1e-6
    # Arms of 80 m: first slots 22.5 m out, 32.5 m from the short arm's middle: dropped.
    net, risk = star([80, 80, 80, 20])
    plan = place_lamps(net, risk, budget=12)
    assert plan.n_conflicts == 3 and plan.n_candidates == 3 * 2
    assert road_of(net, 4) not in set(plan.lamps["edge"])
    d = lamp_distances(net, plan.lamps)
    assert np.min(d[np.triu_indices(len(d), 1)]) >= 35.0 - 1e-6
    # Four 20 m arms: every middle slot is 20 m from the others; no lamp fits.
    net, risk = star([20, 20, 20, 20])
    plan = place_lamps(net, risk, budget=4)
    assert len(plan.lamps) == 0 and "shorter than spacing_m" in plan.reason


def test_households_in_a_village_polygon_count_though_its_centre_is_far():
    """A road through a village's houses serves them although its point is 300 m away;
    counted from the point, the same lamps serve nobody."""
    net = make_net({"A": (0, 0), "B": (600, 0)}, [(1, "A", "B", "unclassified", "no")])
    as_point = make_villages([("C", 300, 300, 40, "T1")])
    plan = place_lamps(net, road_risk(net, as_point), budget=6)
    assert plan.household_basis == "village points" and plan.households_served == 0
    poly = as_point.copy()
    # Houses from 100 m to 500 m along the road and 0-400 m north of it.
    poly["geometry"] = [shapely.box(X0 + 100, Y0, X0 + 500, Y0 + 400)]
    plan = place_lamps(net, road_risk(net, poly), budget=6)
    assert plan.household_basis == "village polygons"
    assert_runs(plan)
    # Spread evenly: the share of the polygon within 200 m of the lit stretch [a, b] of
    # the road along its south edge, a rectangle and two clipped quarter discs.
    a, b = plan.stretches[["from_m", "to_m"]].to_numpy()[0]

    def disc(w, r=200.0):  # area under the quarter circle from 0 to w
        return 0.5 * (w * math.sqrt(r * r - w * w) + r * r * math.asin(w / r))

    share = ((b - a) * 200 + disc(a - 100) + disc(500 - b)) / (400 * 400)
    assert 0 < share < 1
    assert plan.villages_served["households"].item() == pytest.approx(40 * share, rel=1e-4)
    assert plan.households_served == round(40 * share)
    # The run sits among the houses, not at either end of the road.
    pos = plan.lamps["position_m"]
    assert pos.min() > 100 and pos.max() < 500


def groups_layer(rows, crs=CRS):
    """Village groups from (village code, x, y, households) tuples."""
    return gpd.GeoDataFrame(
        {
            "code": [f"{r[0]}-{k}" for k, r in enumerate(rows)],
            "village_code": [r[0] for r in rows],
            "households": [r[3] for r in rows],
        },
        geometry=[shapely.Point(X0 + r[1], Y0 + r[2]) for r in rows],
        crs=crs,
    )


def test_village_groups_place_the_households_and_the_basis_says_so():
    """Given the groups, the run goes to the group's houses, not to the village point,
    and households served are the groups within serve_m of the stretch."""
    net = make_net(*STREET)
    villages = make_villages([("V", 100, 20, 80, "T1")])
    risk = road_risk(net, villages)
    by_point = place_lamps(net, risk, budget=4)
    assert by_point.household_basis == "village points"
    assert by_point.lamps["position_m"].max() < 200
    groups = groups_layer([("V", 600, 40, 50), ("V", 380, 250, 30)])
    plan = place_lamps(net, risk, budget=4, households=groups)
    assert plan.household_basis == "village groups"
    np.testing.assert_allclose(plan.lamps["position_m"], 542.5 + 35 * np.arange(4))
    # The first group (40 m off the road) is served; the second is 250 m from the road.
    assert plan.households_served == 50
    served = plan.villages_served.set_index("code").loc["V"]
    assert served["village_households"] == 80 and served["share"] == pytest.approx(50 / 80)
    # Groups without a village code join the village nearest to them.
    plan2 = place_lamps(net, risk, budget=4, households=groups.drop(columns="village_code"))
    assert lamp_xy(plan2) == lamp_xy(plan) and plan2.households_served == 50
    # Villages without groups keep their own point, and the basis names both.
    two = make_villages([("V", 100, 20, 80, "T1"), ("W", 300, -20, 10, "T1")])
    plan3 = place_lamps(net, road_risk(net, two), budget=4, households=groups)
    assert plan3.household_basis == "village groups (1 village) and village points (1 village)"


def test_bad_village_groups_are_errors():
    net = make_net(*STREET)
    risk = road_risk(net, make_villages([("V", 100, 20, 80, "T1")]))
    groups = groups_layer([("V", 600, 40, 50)])
    with pytest.raises(LightingError, match="lacks column 'households'"):
        place_lamps(net, risk, households=groups.drop(columns="households"))
    with pytest.raises(LightingError, match=r"village code\(s\) \['X'\] not in the villages"):
        place_lamps(net, risk, households=groups.assign(village_code="X"))
    with pytest.raises(LightingError, match="missing or negative in rows \\[0\\]"):
        place_lamps(net, risk, households=groups.assign(households=-1))
    with pytest.raises(LightingError, match="village groups layer is in"):
        place_lamps(net, risk, households=groups.to_crs(4326))
    with pytest.raises(LightingError, match="village groups layer is empty"):
        place_lamps(net, risk, households=groups.iloc[:0])


def test_sample_plan_is_optimal_and_greedy_keeps_its_bound(sample_net, sample_risk):
    """On the sample, the exact plan is proven optimal, runs are continuous, and greedy
    is no better than it and within its own proven bound."""
    exact = place_lamps(sample_net, sample_risk, budget=30)
    greedy = place_lamps(sample_net, sample_risk, budget=30, params=LampParams(method="greedy"))
    assert exact.covered_risk >= greedy.covered_risk - 1e-9
    assert exact.covered_risk == pytest.approx(exact.upper_bound, rel=1e-7)
    assert greedy.upper_bound >= exact.covered_risk - 1e-6
    for plan in (exact, greedy):
        assert_runs(plan)
        assert plan.covered_km == pytest.approx(30 * 35.0 / 1000)
        assert plan.newly_lit_km == pytest.approx(plan.covered_km)


def test_plans_do_not_depend_on_how_many_roads_are_solved_or_measured_at_once(
    sample_net, sample_risk, monkeypatch
):
    """Programmes a road at a time, and lamp positions a few at a time, give the same plan."""
    import geo.lighting.lamps as lamps_module
    import geo.lighting.solve as solve_module

    whole = place_lamps(sample_net, sample_risk, budget=30)
    monkeypatch.setattr(lamps_module, "_SLOT_BLOCK", 89)
    monkeypatch.setattr(solve_module, "_DP_ROADS", 1)
    blocks = place_lamps(sample_net, sample_risk, budget=30)
    assert lamp_xy(blocks) == lamp_xy(whole)
    cols = ["households_near", "night_incidents_near", "worth_per_m", "risk_covered"]
    pd.testing.assert_frame_equal(blocks.lamps[cols], whole.lamps[cols], check_exact=True)
    assert blocks.covered_risk == whole.covered_risk


def test_plan_edit_changes_lit_km_by_the_lit_metres(sample_net, sample_layers, sample_risk):
    """Applying lamp_edit(plan) lights the stretches' metres (to the cm its ends are
    written to), changing no travel time."""
    plan = place_lamps(sample_net, sample_risk, budget=40)
    edit = lamp_edit(plan)
    assert edit.op == "mark_lit" and len(edit.fields["stretches"]) == len(plan.stretches)
    villages, stations, teams = sample_layers
    before = Area.from_network(sample_net, villages=villages, stations=stations, teams=teams)
    after = apply_edits(before, [edit])
    km_before, km_after = lit_km(before.roads), lit_km(after.roads)
    tol = 0.01 * len(plan.stretches) / 1000
    assert km_after["yes"] - km_before["yes"] == pytest.approx(plan.newly_lit_km, abs=tol)
    dark_after = km_after["no"] + km_after["unknown"]
    assert dark_after == pytest.approx(plan.dark_km_after, abs=tol)
    for col in ("travel_time_s", "time_car_s", "time_foot_s", "length_m"):
        pd.testing.assert_series_equal(after.net.edges[col], sample_net.edges[col])
    # Roads lit end to end read lit = yes in both directions; the others keep their class.
    whole = plan.roads[plan.roads["covered_share"] >= 1 - 1e-9]
    e = after.roads.net.edges
    for col in ("edge", "twin"):
        ids = whole[col].to_numpy()
        assert (e.loc[ids[ids >= 0], "lit"] == "yes").all()
    part = plan.roads[plan.roads["covered_share"] < 1 - 1e-9]
    assert (e.loc[part["edge"], "lit"].to_numpy() == part["lit_before"].to_numpy()).all()


def test_plan_reports_what_the_lamps_reach(sample_net, sample_risk):
    """Stretches, villages served and incidents reached agree with direct distances."""
    plan = place_lamps(sample_net, sample_risk, budget=30)
    assert plan.stretches["length_m"].sum() / 1000 == pytest.approx(plan.covered_km)
    np.testing.assert_allclose(
        plan.stretches.geometry.length.to_numpy(), plan.stretches["length_m"].to_numpy(), rtol=1e-6
    )
    lit = plan.stretches.geometry.union_all()
    vil = sample_risk.villages
    assert plan.household_basis == "village points"  # the sample's villages layer
    d = vil.geometry.distance(lit).to_numpy()
    assert set(plan.villages_served["code"]) == set(vil["code"][d <= 200.0])
    assert plan.households_served == int(vil["households"][d <= 200.0].sum())
    night = sample_risk.night_incidents
    di = night.geometry.distance(lit).to_numpy()
    assert set(plan.incidents_reached["id"]) == set(night["id"][di <= 50.0])
    assert plan.summary()["lamps"] == 30
    assert plan.summary()["household_basis"] == plan.household_basis


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


def test_a_budget_too_small_for_a_run_says_why():
    """Two lamps cannot make a run of three on a long road: nothing, with the reason."""
    net = make_net(*STREET)
    risk = road_risk(net, make_villages([("V", 400, 30, 40, "T1")]))
    plan = place_lamps(net, risk, budget=2)
    assert len(plan.lamps) == 0 and "runs of at least 3 lamps" in plan.reason
    plan = place_lamps(net, risk, budget=2, params=LampParams(min_run=2))
    assert len(plan.lamps) == 2 and plan.reason == ""


def test_bad_spacing_and_options_are_errors(hand):
    net, _, _, risk = hand
    with pytest.raises(LightingError, match="spacing_m must be a positive"):
        place_lamps(net, risk, spacing_m=0)
    with pytest.raises(LightingError, match="spacing_m must be a positive"):
        place_lamps(net, risk, spacing_m=float("nan"))
    with pytest.raises(LightingError, match="coverage_m must be a positive"):
        place_lamps(net, risk, coverage_m=-5)
    with pytest.raises(LightingError, match="less than half the spacing"):
        place_lamps(net, risk, coverage_m=10)
    with pytest.raises(LightingError, match="two runs on one road would light the same"):
        place_lamps(net, risk, coverage_m=80)
    with pytest.raises(LightingError, match="lit_share"):
        LampParams(lit_share=1.5)
    with pytest.raises(LightingError, match="method"):
        LampParams(method="best")  # type: ignore[arg-type]
    with pytest.raises(LightingError, match="min_run must be a whole number"):
        LampParams(min_run=0)
    with pytest.raises(LightingError, match="min_gap must be a whole number"):
        LampParams(min_gap=1.5)  # type: ignore[arg-type]
    with pytest.raises(LightingError, match="households_weight must be a non-negative"):
        LampParams(households_weight=-1)


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
    assert lamp_xy(job.lamps) == lamp_xy(cli)
    assert job.lamps.newly_lit_km == pytest.approx(cli.newly_lit_km)
    assert job.lamp_edit == lamp_edit(cli)


def test_people_near_lamps_agree_with_brute_force_in_any_blocks():
    """Households and incidents near each lamp, and the nearest house at any distance,
    equal a brute force over every (lamp, point) pair, whether the lamps come in
    blocks or all at once."""
    from geo.lighting.benefit import Homes, People

    rng = np.random.default_rng(11)
    hx, hy = rng.uniform(0, 2000, 40), rng.uniform(0, 2000, 40)
    hh = rng.integers(0, 60, 40).astype(float)  # some points hold no households
    where = Homes(hx, hy, hh, np.arange(40), np.array([]), np.array([]), "points")
    inc = shapely.points(rng.uniform(0, 2000, (300, 2)))
    lx, ly = rng.uniform(-200, 2200, 500), rng.uniform(-200, 2200, 500)
    people = People.of(where, inc)
    at_once = people.near(shapely.points(lx, ly), serve_m=150.0, reach_m=200.0)
    parts = [shapely.points(lx[lo : lo + 37], ly[lo : lo + 37]) for lo in range(0, 500, 37)]
    blocks = [people.near(part, serve_m=150.0, reach_m=200.0) for part in parts]
    fields = ("households", "households_weighted", "incidents", "incidents_weighted", "home_m")
    got = type(at_once)(*(np.concatenate([getattr(b, f) for b in blocks]) for f in fields))
    for f in fields:
        np.testing.assert_array_equal(getattr(got, f), getattr(at_once, f))
    lamps = shapely.points(lx, ly)
    live = hh > 0
    d_home = shapely.distance(lamps[:, None], shapely.points(hx[live], hy[live])[None, :])
    np.testing.assert_allclose(got.home_m, d_home.min(axis=1), rtol=1e-12)
    w_home = np.where(d_home <= 150.0, 1.0, 0.0)
    np.testing.assert_allclose(got.households, w_home @ hh[live])
    k_home = np.clip(1 - d_home / 150.0, 0, 1) * w_home
    np.testing.assert_allclose(got.households_weighted, k_home @ hh[live], atol=1e-9)
    d_inc = shapely.distance(lamps[:, None], inc[None, :])
    np.testing.assert_array_equal(got.incidents, (d_inc <= 200.0).sum(axis=1))
    k_inc = np.clip(1 - d_inc / 200.0, 0, 1) * (d_inc <= 200.0)
    np.testing.assert_allclose(got.incidents_weighted, k_inc.sum(axis=1), atol=1e-9)
