"""The CCH backend (geo.engine.cch) against Dijkstra on the CSR.

RoutingKit weighs arcs in integer milliseconds, so on integer weights it must agree
exactly with scipy's Dijkstra, and on real seconds within half a millisecond per arc of
the path; every check below uses one of those two bounds.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import replace

import numpy as np
import pytest
from scipy.sparse import csgraph, csr_matrix

from geo.engine import Engine, EngineError, cch
from geo.network.build import file_sha256

pytest.importorskip("routingkit_cch")

HALF_UNIT = 0.5 / cch.SCALE


def random_graph(rng, n=400, m=1600):
    xy = rng.random((n, 2))
    tail = rng.integers(0, n, m)
    head = rng.integers(0, n, m)
    keep = tail != head
    tail, head = tail[keep], head[keep]
    w = rng.integers(1, 5000, len(tail)).astype(float) / cch.SCALE
    return xy, tail, head, w


def scipy_all(n, tail, head, w):
    # Parallel arcs: the cheapest counts, as in both searches.
    order = np.lexsort((w, head, tail))
    t, h, c = tail[order], head[order], w[order]
    first = np.ones(len(t), bool)
    first[1:] = (t[1:] != t[:-1]) | (h[1:] != h[:-1])
    g = csr_matrix((c[first], (t[first], h[first])), shape=(n, n))
    return csgraph.dijkstra(g)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_integer_weights_agree_exactly_with_dijkstra(seed):
    rng = np.random.default_rng(seed)
    xy, tail, head, w = random_graph(rng)
    order = cch.order_for(tail, head, xy[:, 1], xy[:, 0])
    closed = rng.random(len(w)) < 0.1
    cost = np.where(closed, np.inf, w)
    got = cch.CCHMetric(order, cost).many_to_many(np.arange(400), np.arange(400))
    ref = scipy_all(400, tail[~closed], head[~closed], w[~closed])
    assert np.array_equal(np.isinf(got), np.isinf(ref))
    fin = np.isfinite(ref)
    assert np.abs(got[fin] - ref[fin]).max() < 1e-9


def engines(net, **kw):
    return Engine(net, backend="dijkstra", **kw), Engine(net, backend="cch", **kw)


def assert_close(a, b, hops):
    assert np.array_equal(np.isnan(a), np.isnan(b))
    fin = ~np.isnan(a)
    assert (np.abs(a[fin] - b[fin]) <= HALF_UNIT * hops + 1e-9).all()


def located(eng, rng, k):
    x0, y0, x1, y1 = (
        eng.net.nodes["x"].min(),
        eng.net.nodes["y"].min(),
        eng.net.nodes["x"].max(),
        eng.net.nodes["y"].max(),
    )
    return eng.locate(rng.uniform(x0, x1, k), rng.uniform(y0, y1, k))


def check_network(net, seed=0, k=60):
    rng = np.random.default_rng(seed)
    dj, ch = engines(net)
    assert (dj.matrix_backend, ch.matrix_backend) == ("dijkstra", "cch")
    # Node rows.
    nodes = rng.choice(len(net.nodes), k, replace=False)
    a = dj.matrix(nodes, nodes).seconds
    b = ch.matrix(nodes, nodes).seconds
    assert_close(a, b, hops=len(net.nodes))
    # A route has at most as many arcs as it has seconds / the fastest arc; the bound
    # that matters in practice is far tighter: check it against 1,000 arcs too.
    assert np.nanmax(np.abs(a - b)) <= HALF_UNIT * 1000
    # Located points through both anchors, with the same statuses.
    pts = located(dj, rng, k)
    ta, tb = dj.matrix(pts, pts), ch.matrix(pts, pts)
    assert np.array_equal(ta.status, tb.status)
    assert np.nanmax(np.abs(ta.seconds - tb.seconds)) <= HALF_UNIT * 1000
    # A limit cuts both the same way (away from the rounding band at the limit).
    lim = float(np.nanmedian(ta.seconds))
    la, lb = dj.matrix(pts, pts, limit=lim), ch.matrix(pts, pts, limit=lim)
    band = np.abs(ta.seconds - lim) < 1.0
    assert np.array_equal(la.status[~band], lb.status[~band])


def test_sample_agrees_with_dijkstra(sample_net):
    check_network(sample_net)


@pytest.mark.parametrize(
    "name", ["nonwuhan_guixi_jiangxi_cn.osm.bz2", "wuhan_optics_valley_gaoxin_cn.osm.bz2"]
)
def test_real_networks_agree_with_dijkstra(shared_path, name):
    from geo.network import build_network

    check_network(build_network(shared_path(name)), seed=1)


def test_undirected_length_engine_agrees(sample_net):
    rng = np.random.default_rng(3)
    dj, ch = engines(sample_net, weight="length_m", undirected=True)
    nodes = rng.choice(len(sample_net.nodes), 50, replace=False)
    a, b = dj.matrix(nodes, nodes).seconds, ch.matrix(nodes, nodes).seconds
    assert np.nanmax(np.abs(a - b)) <= HALF_UNIT * 1000


def test_a_scenario_edit_is_a_customisation_equal_to_a_fresh_build(sample_net):
    rng = np.random.default_rng(4)
    e = sample_net.edges.copy()
    shut = rng.random(len(e)) < 0.05
    e.loc[shut, "travel_time_s"] = np.nan
    e["travel_time_s"] *= np.where(rng.random(len(e)) < 0.2, 1.5, 1.0)
    edited = replace(sample_net, edges=e)
    nodes = rng.choice(len(sample_net.nodes), 60, replace=False)
    Engine(sample_net, backend="cch").matrix(nodes, nodes)  # the base's order, in memory
    shared = Engine(edited, backend="cch").matrix(nodes, nodes).seconds
    cch.forget_orders()
    fresh = Engine(edited, backend="cch").matrix(nodes, nodes).seconds
    ref = Engine(edited, backend="dijkstra").matrix(nodes, nodes).seconds
    assert np.array_equal(shared, fresh, equal_nan=True)
    assert np.nanmax(np.abs(shared - ref)) <= HALF_UNIT * 1000
    assert np.array_equal(np.isnan(shared), np.isnan(ref))


def test_the_order_is_saved_and_a_damaged_or_stale_one_rebuilt(sample_net, tmp_path):
    nodes = np.arange(0, len(sample_net.nodes), 97)
    cch.forget_orders()
    first = Engine(sample_net, backend="cch", order_dir=tmp_path).matrix(nodes, nodes).seconds
    (saved,) = tmp_path.glob("cch-*")
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["nodes"] == len(sample_net.nodes) and manifest["files"]

    def load_again(messages):
        cch.forget_orders()
        eng = Engine(sample_net, backend="cch", order_dir=tmp_path)
        import logging

        class Catch(logging.Handler):
            def emit(self, record):
                messages.append(record.getMessage())

        h = Catch()
        logging.getLogger("pingan.engine").addHandler(h)
        logging.getLogger("pingan.engine").setLevel(logging.INFO)
        try:
            return eng.matrix(nodes, nodes).seconds
        finally:
            logging.getLogger("pingan.engine").removeHandler(h)

    msgs: list[str] = []
    assert np.array_equal(load_again(msgs), first, equal_nan=True)
    assert not any("ordering" in m for m in msgs)  # loaded, not built
    # Damage one saved file: detected by its checksum, rebuilt, saved again.
    victim = saved / "order.npy"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    msgs = []
    assert np.array_equal(load_again(msgs), first, equal_nan=True)
    assert any("damaged or stale" in m for m in msgs)
    # A manifest saved for another graph shape is stale.
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["arcs"] += 1
    (saved / "manifest.json").write_text(json.dumps(manifest))
    msgs = []
    assert np.array_equal(load_again(msgs), first, equal_nan=True)
    assert any("damaged or stale" in m for m in msgs)
    # An order that is no permutation of the nodes, under a matching checksum, is
    # caught before RoutingKit reads it.
    rank = np.load(victim)
    rank[0] = rank[1]
    np.save(victim, rank)
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["files"]["order.npy"] = file_sha256(victim)
    (saved / "manifest.json").write_text(json.dumps(manifest))
    msgs = []
    assert np.array_equal(load_again(msgs), first, equal_nan=True)
    assert any("damaged or stale" in m for m in msgs)
    msgs = []
    load_again(msgs)
    assert not any("ordering" in m for m in msgs)


def test_backend_choice_and_pickling(sample_net):
    assert Engine(sample_net).matrix_backend == "dijkstra"  # small: auto keeps Dijkstra
    with pytest.raises(EngineError, match="backend must be"):
        Engine(sample_net, backend="fast")
    eng = Engine(sample_net, backend="cch")
    nodes = np.arange(10)
    before = eng.matrix(nodes, nodes).seconds
    again = pickle.loads(pickle.dumps(eng))
    assert again.matrix_backend == "cch"
    assert np.array_equal(again.matrix(nodes, nodes).seconds, before, equal_nan=True)


def test_paths_through_the_cch_are_fastest_and_their_time_is_their_arcs(sample_net):
    rng = np.random.default_rng(5)
    dj, ch = engines(sample_net)
    nodes = sample_net.nodes
    x = rng.uniform(nodes["x"].min(), nodes["x"].max(), 40)
    y = rng.uniform(nodes["y"].min(), nodes["y"].max(), 40)
    for i in range(0, 40, 2):
        o, d = dj.locate(x[[i]], y[[i]]), dj.locate(x[[i + 1]], y[[i + 1]])
        ra, rb = dj.path(o, d), ch.path(o, d)
        assert ra.status == rb.status
        if not rb.found:
            continue
        assert abs(ra.seconds - rb.seconds) <= ch.rounding_s(len(rb.edges))
        if len(rb.edges):
            # Consecutive arcs, from the first node to the last.
            assert (ch.v[rb.edges[:-1]] == ch.u[rb.edges[1:]]).all()
            assert ch.u[rb.edges[0]] == rb.nodes[0] and ch.v[rb.edges[-1]] == rb.nodes[-1]
            inner = ch.time[rb.edges].sum()
            assert inner <= rb.seconds + 1e-9


def test_threads_answer_one_block_together_and_concurrent_callers_alike(monkeypatch):
    """A block cut into chunks over 3 threads equals one thread's answer and scipy's,
    while 12 callers ask at once; a search failing mid-block fails that call alone."""
    import threading

    import routingkit_cch

    rng = np.random.default_rng(11)
    xy, tail, head, w = random_graph(rng, n=500, m=2200)
    order = cch.order_for(tail, head, xy[:, 1], xy[:, 0])
    one = cch.CCHMetric(order, w, threads=1)
    three = cch.CCHMetric(order, w, threads=3)
    monkeypatch.setattr(cch, "_PARALLEL_PAIRS", 1)
    ref = scipy_all(500, tail, head, w)
    asks = [rng.choice(500, size=(int(rng.integers(1, 120)), 2)) for _ in range(12)]
    got: dict[int, np.ndarray] = {}

    def ask(i):
        src, dst = asks[i][:, 0], asks[i][:, 1]
        got[i] = three.many_to_many(src, dst)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(asks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, a in enumerate(asks):
        src, dst = a[:, 0], a[:, 1]
        assert np.array_equal(got[i], one.many_to_many(src, dst))
        sub = ref[np.ix_(src, dst)]
        fin = np.isfinite(sub)
        assert np.array_equal(np.isinf(got[i]), ~fin)
        assert np.abs(got[i][fin] - sub[fin]).max(initial=0) < 1e-9

    real = routingkit_cch.CCHOneToMany
    calls = {"n": 0}

    class Breaks:
        def __init__(self, metric, targets):
            self.q = real(metric, targets)

        def distances_from_multi(self, starts):
            calls["n"] += 1
            if calls["n"] == 37:
                raise RuntimeError("search broke")
            return self.q.distances_from_multi(starts)

    monkeypatch.setattr(routingkit_cch, "CCHOneToMany", Breaks)
    with pytest.raises(RuntimeError, match="search broke"):
        three.many_to_many(np.arange(200), np.arange(200))
    # The metric is untouched by the failure: the next call is whole and right.
    assert np.array_equal(
        three.many_to_many(np.arange(50), np.arange(50)),
        one.many_to_many(np.arange(50), np.arange(50)),
    )


def test_located_rows_start_from_both_anchors_at_once(sample_net, monkeypatch):
    """On the CCH a located matrix makes one search per point (not per anchor node),
    and equals the anchor-node answer within the rounding."""
    dj, ch = engines(sample_net)
    rng = np.random.default_rng(8)
    pts = located(dj, rng, 40)
    metric = ch._metric()
    seen = {"points": 0, "nodes": 0}
    real_points, real_nodes = metric.from_points, metric.many_to_many

    def points(n, c, t):
        seen["points"] += len(n)
        return real_points(n, c, t)

    def nodes(s, t):
        seen["nodes"] += len(s)
        return real_nodes(s, t)

    monkeypatch.setattr(metric, "from_points", points)
    monkeypatch.setattr(metric, "many_to_many", nodes)
    got = ch.matrix(pts, pts).seconds
    assert seen == {"points": 40, "nodes": 0}
    ref = dj.matrix(pts, pts).seconds
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    assert np.nanmax(np.abs(got - ref)) <= ch.rounding_s(400)


def test_the_number_of_threads_is_a_parameter_and_a_bad_one_is_named(sample_net):
    from geo.engine import EngineParams

    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(EngineError, match="cch_threads"):
            EngineParams(cch_threads=bad)
    eng = Engine(sample_net, EngineParams(cch_threads=3), backend="cch")
    assert eng._metric().threads == 3
    assert Engine(sample_net, backend="cch")._metric().threads == cch.default_threads()


def test_the_backend_is_reported_in_the_result_and_the_log(sample_net, caplog):
    import logging

    dj, ch = engines(sample_net)
    rng = np.random.default_rng(4)
    pts = located(dj, rng, 5)
    assert dj.matrix(pts, pts).to_dict()["backend"] == "dijkstra"
    with caplog.at_level(logging.INFO, logger="pingan.engine"):
        res = ch.matrix(pts, pts)
    assert res.backend == "cch" and res.to_dict()["backend"] == "cch"
    assert any("through the CCH" in r.getMessage() for r in caplog.records)
