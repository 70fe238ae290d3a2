"""Array graph algorithms of the engine: bridges, cut weights, length engines, near()."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from geo.engine import Engine, EngineError, bridge_cut, bridges


def _random_multigraph(rng, n_max=40, m_max=60):
    n = int(rng.integers(2, n_max))
    m = int(rng.integers(0, m_max))
    return n, rng.integers(0, n, m), rng.integers(0, n, m)


def test_bridges_agree_with_networkx_on_random_multigraphs():
    """An edge is a bridge exactly when networkx says so and it has no parallel twin."""
    rng = np.random.default_rng(7)
    for _ in range(300):
        n, a, b = _random_multigraph(rng)
        got = bridges(a, b, n)
        g = nx.MultiGraph()
        g.add_nodes_from(range(n))
        g.add_edges_from(zip(a.tolist(), b.tolist(), strict=True))
        ref = {
            (min(x, y), max(x, y))
            for x, y in nx.bridges(nx.Graph(g))
            if g.number_of_edges(x, y) == 1
        }
        want = [x != y and (min(x, y), max(x, y)) in ref for x, y in zip(a, b, strict=True)]
        assert got.tolist() == want


def test_bridge_cut_is_the_smaller_side_weight():
    """Removing a bridge splits its component; the cut is the lighter side's weight."""
    rng = np.random.default_rng(11)
    for _ in range(150):
        n, a, b = _random_multigraph(rng)
        w = rng.integers(0, 10, n).astype(float)
        is_bridge, cut = bridge_cut(a, b, n, w)
        assert (cut[~is_bridge] == 0).all()
        g = nx.MultiGraph()
        g.add_nodes_from(range(n))
        g.add_edges_from(zip(a.tolist(), b.tolist(), strict=True))
        for i in np.flatnonzero(is_bridge):
            h = g.copy()
            h.remove_edge(int(a[i]), int(b[i]))
            side_a = w[list(nx.node_connected_component(h, int(a[i])))].sum()
            side_b = w[list(nx.node_connected_component(h, int(b[i])))].sum()
            assert cut[i] == pytest.approx(min(side_a, side_b))


def test_a_chain_is_all_bridges_and_a_ring_none():
    assert bridges(np.array([0, 1, 2]), np.array([1, 2, 3]), 4).all()
    assert not bridges(np.array([0, 1, 2, 3]), np.array([1, 2, 3, 0]), 4).any()
    # Two roads between the same nodes back each other up; a loop is never a bridge.
    assert bridges(np.array([0, 0, 1]), np.array([1, 1, 1]), 2).tolist() == [False] * 3


def test_length_engine_matches_undirected_networkx(sample_net):
    """An undirected length engine gives networkx's undirected shortest distances."""
    eng = Engine(sample_net, weight="length_m", undirected=True)
    g = nx.Graph()
    e = sample_net.edges
    for u, v, length in zip(e["u"], e["v"], e["length_m"], strict=True):
        if u != v and (not g.has_edge(u, v) or g[u][v]["w"] > length):
            g.add_edge(int(u), int(v), w=float(length))
    ref = nx.single_source_dijkstra_path_length(g, 0, weight="w")
    got = eng.one_to_all(0)
    nodes = np.array(list(ref))
    assert np.allclose(got[nodes], [ref[k] for k in nodes], atol=1e-6)


def test_near_lists_each_source_nodes_within_the_limit(sample_net):
    """near() equals a per-source bounded search, and never exceeds the limit."""
    eng = Engine(sample_net, weight="length_m", undirected=True)
    sources = np.array([0, 5, 17])
    res = eng.near(sources, 800.0)
    assert (res.cost <= 800.0 + 1e-6).all()
    for k, s in enumerate(sources):
        d = eng.one_to_all(int(s))
        want = np.flatnonzero(d <= 800.0)
        got = res.node[res.source == k]
        assert np.array_equal(np.sort(got), want)
        assert np.allclose(res.cost[res.source == k], d[got])


def test_points_on_edges_and_engine_bridges(sample_net):
    eng = Engine(sample_net, weight="length_m", undirected=True)
    loc = eng.at_edges(np.array([0]), np.array([sample_net.edges["length_m"].iloc[0] / 2]))
    res = eng.near(loc, 1.0e9)
    half = sample_net.edges["length_m"].iloc[0] / 2
    u, v = int(sample_net.edges["u"].iloc[0]), int(sample_net.edges["v"].iloc[0])
    assert res.cost[res.node == u][0] == pytest.approx(half)
    assert res.cost[res.node == v][0] == pytest.approx(half)
    is_bridge, cut = eng.bridges(np.ones(len(sample_net.nodes)))
    tw = sample_net.twin
    has = tw >= 0
    # Both directions of a road agree, and only bridges cut anything off.
    assert (is_bridge[has] == is_bridge[tw[has]]).all() and (cut[~is_bridge] == 0).all()
    with pytest.raises(EngineError, match="directed engine"):
        eng.path(np.array([0]), np.array([1]))
    with pytest.raises(EngineError, match="edge rows outside"):
        eng.at_edges(np.array([-1]), np.array([0.0]))
    with pytest.raises(EngineError, match="one value per node"):
        eng.bridges(np.ones(3))


@pytest.mark.parametrize("limit", [50.0, 300.0, 2_000.0])
def test_bounded_reach_by_tiles_equals_the_full_search(sample_net, limit):
    """Searching each tile of seeds on the nodes near it gives the full search's answer."""
    from geo.engine.graph import bounded_reach

    eng = Engine(sample_net, weight="length_m", undirected=True)
    rng = np.random.default_rng(7)
    n = len(sample_net.nodes)
    seed_node = rng.integers(-1, n, (500, 2))
    seed_cost = rng.uniform(0, limit, (500, 2))
    xy = sample_net.nodes[["x", "y"]].to_numpy()
    full = bounded_reach(eng.graph, seed_node, seed_cost, limit, tol=1e-9)
    tiled = bounded_reach(eng.graph, seed_node, seed_cost, limit, tol=1e-9, xy=xy)
    assert len(full[0]) > 1000
    for a, b in zip(full, tiled, strict=True):
        np.testing.assert_array_equal(a, b)
