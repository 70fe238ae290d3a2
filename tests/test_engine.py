"""Travel-time engine: agreement with networkx, point anchoring, statuses, paths."""

from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np
import pytest
import shapely

from geo.engine import Engine, EngineError, EngineParams
from geo.network import BuildOptions, build_network


def nx_graph(net, weight="travel_time_s"):
    """A plain DiGraph on node rows with the cheapest parallel edge (what Dijkstra sees)."""
    G = nx.DiGraph()
    G.add_nodes_from(range(len(net.nodes)))
    e = net.edges
    for u, v, w in zip(e["u"], e["v"], e[weight], strict=True):
        if np.isfinite(w) and (not G.has_edge(u, v) or G[u][v]["w"] > w):
            G.add_edge(int(u), int(v), w=float(w))
    return G


def check_one_to_all(net, sources):
    eng = Engine(net)
    G = nx_graph(net)
    for s in sources:
        ours = eng.one_to_all(int(s))
        ref = nx.single_source_dijkstra_path_length(G, int(s), weight="w")
        ref_arr = np.full(len(net.nodes), np.inf)
        ref_arr[list(ref)] = list(ref.values())
        assert np.array_equal(np.isfinite(ours), np.isfinite(ref_arr))
        fin = np.isfinite(ref_arr)
        np.testing.assert_allclose(ours[fin], ref_arr[fin], rtol=1e-6)


def test_one_to_all_agrees_with_networkx_on_sample(sample_net):
    rng = np.random.default_rng(1)
    check_one_to_all(sample_net, rng.choice(len(sample_net.nodes), 8, replace=False))


@pytest.mark.shared
def test_one_to_all_agrees_with_networkx_on_guixi(shared_path):
    net = build_network(shared_path("nonwuhan_guixi_jiangxi_cn.osm.bz2"))
    rng = np.random.default_rng(2)
    check_one_to_all(net, rng.choice(len(net.nodes), 8, replace=False))
    foot = build_network(
        shared_path("nonwuhan_guixi_jiangxi_cn.osm.bz2"), BuildOptions(mode="foot")
    )
    check_one_to_all(foot, rng.choice(len(foot.nodes), 4, replace=False))


def test_matrix_with_node_ids_and_limit(sample_net):
    eng = Engine(sample_net)
    G = nx_graph(sample_net)
    rng = np.random.default_rng(3)
    o = rng.choice(len(sample_net.nodes), 12, replace=False)
    d = rng.choice(len(sample_net.nodes), 15, replace=False)
    tt = eng.matrix(o, d)
    for i, a in enumerate(o):
        ref = nx.single_source_dijkstra_path_length(G, int(a), weight="w")
        for j, b in enumerate(d):
            assert tt.seconds[i, j] == pytest.approx(ref[int(b)], rel=1e-6)
    assert (tt.status == 0).all()
    limit = float(np.nanmedian(tt.seconds))
    lim = eng.matrix(o, d, limit=limit)
    within = tt.seconds <= limit
    np.testing.assert_allclose(lim.seconds[within], tt.seconds[within])
    assert (lim.status_names()[~within] == "beyond_limit").all()
    assert np.isnan(lim.seconds[~within]).all()


def split_graph(net, eng, loc, weight="travel_time_s"):
    """Reference: insert each located point into a networkx graph by splitting its edge."""
    G = nx_graph(net, weight)
    walk = np.nan_to_num(loc.snap.distance_m) / (eng.offroad_kmh / 3.6)
    names = []
    for i in range(len(loc)):
        name = ("p", i)
        names.append(name)
        e = int(loc.edge[i])
        if e < 0:
            continue
        f = loc.along_frac[i]
        u, v, t = int(eng.u[e]), int(eng.v[e]), eng.time[e]
        G.add_edge(("in", i), name, w=walk[i])
        G.add_edge(name, ("out", i), w=walk[i])
        G.add_edge(u, ("in", i), w=f * t)
        G.add_edge(("out", i), v, w=(1 - f) * t)
        tw = int(eng.twin[e])
        if tw >= 0:
            G.add_edge(v, ("in", i), w=(1 - f) * eng.time[tw])
            G.add_edge(("out", i), u, w=f * eng.time[tw])
    return G, names


def test_located_points_match_split_edge_reference(sample_net):
    eng = Engine(sample_net)
    rng = np.random.default_rng(4)
    xs = rng.uniform(sample_net.nodes["x"].min(), sample_net.nodes["x"].max(), 40)
    ys = rng.uniform(sample_net.nodes["y"].min(), sample_net.nodes["y"].max(), 40)
    loc = eng.locate(xs, ys)
    ok = ~loc.off_network
    assert ok.sum() >= 10
    # Distinct edges keep the reference simple (points on one edge are tested below).
    _, first = np.unique(loc.edge[ok], return_index=True)
    idx = np.flatnonzero(ok)[first][:12]
    sub = eng.locate(xs[idx], ys[idx])
    tt = eng.matrix(sub, sub)
    G, names = split_graph(sample_net, eng, sub)
    for i in range(len(idx)):
        ref = nx.single_source_dijkstra_path_length(G, names[i], weight="w")
        for j in range(len(idx)):
            if i == j:
                continue
            assert tt.seconds[i, j] == pytest.approx(ref[names[j]], rel=1e-6), (i, j)


def test_points_on_one_road_go_straight_along_it(tmp_path):
    osm = tmp_path / "line.osm"
    osm.write_text(
        '<osm version="0.6">'
        '<node id="1" version="1" lat="30.9" lon="114.30"/>'
        '<node id="2" version="1" lat="30.9" lon="114.32"/>'
        '<node id="3" version="1" lat="30.9" lon="114.34"/>'
        '<node id="4" version="1" lat="30.92" lon="114.32"/>'
        '<way id="1" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>'
        '<tag k="highway" v="unclassified"/></way>'
        '<way id="2" version="1"><nd ref="2"/><nd ref="4"/><tag k="highway" v="track"/></way>'
        "</osm>",
        encoding="utf-8",
    )
    net = build_network(osm)
    eng = Engine(net, EngineParams(offroad_kmh=None))
    x0, y0 = net.nodes.loc[net.nodes["osmid"] == 1, ["x", "y"]].to_numpy()[0]
    x1, _ = net.nodes.loc[net.nodes["osmid"] == 2, ["x", "y"]].to_numpy()[0]
    # Two points on the 1-2 stretch, 30% and 70% along.
    a = eng.locate(np.array([x0 + 0.3 * (x1 - x0)]), np.array([y0]))
    b = eng.locate(np.array([x0 + 0.7 * (x1 - x0)]), np.array([y0]))
    tt = eng.matrix(a, b)
    expected = 0.4 * (x1 - x0) / (30 / 3.6)
    assert tt.seconds[0, 0] == pytest.approx(expected, rel=1e-3)
    back = eng.matrix(b, a)
    assert back.seconds[0, 0] == pytest.approx(expected, rel=1e-3)
    route = eng.path(a, b)
    assert route.found and route.length_m == pytest.approx(0.4 * (x1 - x0), rel=1e-3)
    assert route.geometry.length == pytest.approx(route.length_m, rel=1e-6)


def test_off_network_and_no_route_are_explicit(sample_net):
    eng = Engine(sample_net)
    far = eng.locate(
        np.array([sample_net.nodes["x"].max() + 5000.0]), np.array([sample_net.nodes["y"].mean()])
    )
    assert far.off_network.all()
    tt = eng.matrix(far, np.array([0, 1]))
    assert (tt.status_names() == "origin_off_network").all() and np.isnan(tt.seconds).all()
    tt = eng.matrix(np.array([0, 1]), far)
    assert (tt.status_names() == "destination_off_network").all()
    nf = eng.nearest_facility(far, np.array([0]))
    assert nf.status_names()[0] == "destination_off_network" and nf.facility[0] == -1
    # Close every edge into node 5: nothing can reach it any more.
    edges = sample_net.edges.copy()
    edges.loc[edges["v"] == 5, "travel_time_s"] = np.nan
    closed = dataclasses.replace(sample_net, edges=edges)
    eng2 = Engine(closed)
    tt = eng2.matrix(np.array([0]), np.array([5]))
    assert tt.status_names()[0, 0] == "no_route" and np.isnan(tt.seconds[0, 0])


def test_nearest_facility_is_one_search_matching_the_matrix(sample_net):
    eng = Engine(sample_net)
    rng = np.random.default_rng(5)
    fac = rng.choice(len(sample_net.nodes), 6, replace=False)
    xs = rng.uniform(sample_net.nodes["x"].min(), sample_net.nodes["x"].max(), 60)
    ys = rng.uniform(sample_net.nodes["y"].min(), sample_net.nodes["y"].max(), 60)
    pts = eng.locate(xs, ys)
    nf = eng.nearest_facility(pts, fac)
    tt = eng.matrix(fac, pts)
    ok = ~pts.off_network
    np.testing.assert_allclose(nf.seconds[ok], np.nanmin(tt.seconds[:, ok], axis=0), rtol=1e-9)
    # The facility named is one that achieves the minimum.
    chosen = tt.seconds[nf.facility[ok], np.flatnonzero(ok)]
    np.testing.assert_allclose(chosen, nf.seconds[ok], rtol=1e-9)
    # Facilities given as points too.
    fpts = eng.locate(
        sample_net.nodes["x"].to_numpy()[fac] + 3, sample_net.nodes["y"].to_numpy()[fac]
    )
    nf2 = eng.nearest_facility(pts, fpts)
    tt2 = eng.matrix(fpts, pts)
    np.testing.assert_allclose(nf2.seconds[ok], np.nanmin(tt2.seconds[:, ok], axis=0), rtol=1e-9)


def test_reachable_matches_one_to_all(sample_net):
    eng = Engine(sample_net)
    src = np.array([3, 40])
    limit = 600.0
    reach = eng.reachable(src, limit)
    d = np.minimum(eng.one_to_all(3), eng.one_to_all(40))
    inside = d <= limit
    np.testing.assert_allclose(reach.node_seconds[inside], d[inside], rtol=1e-9)
    assert np.isnan(reach.node_seconds[~inside]).all()
    # An edge whose far end is reached through its start within the limit is whole.
    full = d[eng.u] + eng.time <= limit
    assert (reach.edge_fraction[full] == 1).all()
    unreached = ~np.isfinite(np.where(d[eng.u] <= limit, 1, np.inf))
    assert (reach.edge_fraction[unreached] == 0).all()


def test_path_geometry_and_time(sample_net):
    eng = Engine(sample_net)
    rng = np.random.default_rng(6)
    xs = rng.uniform(sample_net.nodes["x"].min(), sample_net.nodes["x"].max(), 30)
    ys = rng.uniform(sample_net.nodes["y"].min(), sample_net.nodes["y"].max(), 30)
    loc = eng.locate(xs, ys)
    ok = np.flatnonzero(~loc.off_network)[:6]
    pts = eng.locate(xs[ok], ys[ok])
    tt = eng.matrix(pts, pts)
    for i in range(len(ok)):
        for j in range(len(ok)):
            if i == j:
                continue
            a = eng.locate(xs[ok[i] : ok[i] + 1], ys[ok[i] : ok[i] + 1])
            b = eng.locate(xs[ok[j] : ok[j] + 1], ys[ok[j] : ok[j] + 1])
            r = eng.path(a, b)
            assert r.found
            assert r.seconds == pytest.approx(tt.seconds[i, j], rel=1e-9)
            assert r.geometry.length == pytest.approx(r.length_m, rel=1e-6)
            start = shapely.Point(a.snap.snapped_x[0], a.snap.snapped_y[0])
            end = shapely.Point(b.snap.snapped_x[0], b.snap.snapped_y[0])
            assert shapely.Point(r.geometry.coords[0]).distance(start) < 0.01
            assert shapely.Point(r.geometry.coords[-1]).distance(end) < 0.01
            # Node path consistent with the edges used.
            if len(r.edges) > 1:
                assert (eng.v[r.edges[:-1]] == eng.u[r.edges[1:]]).all()


def test_engine_errors(sample_net):
    eng = Engine(sample_net)
    with pytest.raises(EngineError, match="outside 0"):
        eng.matrix(np.array([0, 10**7]), np.array([1]))
    with pytest.raises(EngineError, match="limit must be a positive"):
        eng.matrix(np.array([0]), np.array([1]), limit=-5)
    with pytest.raises(EngineError, match="no facilities"):
        eng.nearest_facility(np.array([0]), np.array([], dtype=np.int64))
    with pytest.raises(EngineError, match="exactly one origin"):
        eng.path(np.array([0, 1]), np.array([2]))
    with pytest.raises(EngineError, match="1-D array of node rows"):
        eng.matrix(np.array([0.5]), np.array([1]))
    with pytest.raises(EngineError, match="offroad_kmh"):
        EngineParams(offroad_kmh=0)
    with pytest.raises(EngineError, match="offroad_kmh must be a positive number, 'mode'"):
        EngineParams(offroad_kmh="fast")
    with pytest.raises(EngineError, match="not in the network"):
        Engine(sample_net, weight="nope")


def test_a_point_and_a_facility_at_the_same_place_are_zero_minutes_apart(sample_net, sample_layers):
    """Two points nearer each other than to the road walk straight across, once."""
    eng = Engine(sample_net)
    villages = sample_layers[0]
    snap = eng.locate_geometries(villages.geometry).snap
    k = int(np.argmax(snap.distance_m))  # the village farthest from any road
    assert snap.distance_m[k] > 100
    x = np.array([villages.geometry.x.iloc[k]])
    y = np.array([villages.geometry.y.iloc[k]])
    village, post = eng.locate(x, y), eng.locate(x, y)
    assert eng.matrix(post, village).seconds[0, 0] == pytest.approx(0.0)
    nf = eng.nearest_facility(village, post)
    assert nf.seconds[0] == pytest.approx(0.0) and nf.facility[0] == 0
    # Ten metres apart: the ten metres at the car's access speed, not twice the gap.
    beside = eng.locate(x + 10.0, y)
    assert eng.matrix(post, beside).seconds[0, 0] == pytest.approx(10.0 / (15.0 / 3.6))
    # The route says the same: one straight leg of ten metres, no road.
    route = eng.path(post, beside)
    assert route.status == "ok" and len(route.edges) == 0
    assert route.length_m == pytest.approx(10.0) and route.seconds == pytest.approx(2.4)
    assert shapely.length(route.geometry) == pytest.approx(10.0)
    # Villages far apart still travel by road: the straight leg only replaces a detour.
    other = eng.locate_geometries(villages.geometry.iloc[[(k + 40) % len(villages)]])
    by_road = Engine(sample_net, EngineParams(offroad_kmh=5.0)).matrix(post, other)
    assert by_road.seconds[0, 0] > 60


@pytest.mark.parametrize(("mode", "kmh"), [("car", 15.0), ("motorbike", 12.0), ("foot", 4.5)])
def test_access_leg_is_counted_once_per_end_at_the_mode_speed(
    sample_net, sample_layers, mode: str, kmh: float
) -> None:
    """A trip between two villages off the road pays each gap once, at the mode's speed."""
    import dataclasses

    from geo.network import ACCESS_KMH

    assert ACCESS_KMH[mode] == kmh
    net = dataclasses.replace(sample_net, mode=mode)
    villages = sample_layers[0].geometry.iloc[[3, 50]]
    with_access = Engine(net)
    without = Engine(net, EngineParams(offroad_kmh=None))
    a, b = (
        with_access.locate_geometries(villages.iloc[[0]]),
        with_access.locate_geometries(villages.iloc[[1]]),
    )
    gaps = float(a.snap.distance_m[0] + b.snap.distance_m[0])
    assert gaps > 20.0
    base = without.matrix(
        without.locate_geometries(villages.iloc[[0]]), without.locate_geometries(villages.iloc[[1]])
    ).seconds[0, 0]
    got = with_access.matrix(a, b).seconds[0, 0]
    assert with_access.offroad_kmh == kmh
    assert got - base == pytest.approx(gaps / (kmh / 3.6), rel=1e-9)


def test_the_snap_index_is_built_once_on_first_use(sample_net):
    """No index until something snaps; then one, shared by every thread; pickles."""
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    eng = Engine(sample_net)
    assert eng.snap_index is None
    with ThreadPoolExecutor(4) as pool:
        indexes = list(pool.map(lambda _: eng.snap, range(8)))
    assert all(i is indexes[0] for i in indexes)
    assert eng.snap_index is indexes[0]
    again = pickle.loads(pickle.dumps(eng))
    x, y = sample_net.nodes["x"].to_numpy()[:5], sample_net.nodes["y"].to_numpy()[:5]
    np.testing.assert_array_equal(again.locate(x, y).edge, eng.locate(x, y).edge)
