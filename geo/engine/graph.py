"""Graph algorithms on compressed sparse rows: the searches behind the engine.

Everything here takes plain arrays and scipy CSR matrices, so the engine (and only the
engine) wraps them for road networks. Dijkstra is scipy's; bridges and the households a
bridge cuts off are array methods (spanning forest, binary-lifting LCA, level-wise
subtree sums), with no Python-level graph.
"""

from __future__ import annotations

from itertools import chain

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

__all__ = [
    "bounded_reach",
    "bridge_cut",
    "bridges",
    "cheapest",
    "csr",
    "root_facility",
    "super_search",
]

#: Upper bound on one block of the dense Dijkstra output (rows x nodes x 8 bytes).
_BLOCK_BYTES = 64 * 2**20
#: Tiles of seeds are searched together on up to about this many nodes.
_TILE_NODES = 512


def csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> sparse.csr_matrix:
    """Node x node CSR with the cheapest of any parallel edges."""
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], w[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return sparse.csr_matrix((w[first], (u[first], v[first])), shape=(n, n))


def cheapest(nodes: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the cheapest cost per node (dropping missing anchors, node -1)."""
    ok = nodes >= 0
    nodes, cost = nodes[ok], cost[ok]
    order = np.lexsort((cost, nodes))
    nodes, cost = nodes[order], cost[order]
    first = np.ones(len(nodes), dtype=bool)
    first[1:] = nodes[1:] != nodes[:-1]
    return nodes[first], cost[first]


#: Added to every super-source edge (then taken off again): a zero start cost would
#: vanish from the sparse matrix, and a uniform shift leaves every comparison intact.
_SHIFT = 1.0


def super_search(
    g: sparse.csr_matrix, seeds: np.ndarray, costs: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray]:
    """Dijkstra from a virtual node ``n`` linked to each seed with its start cost.

    Returns per-node seconds (inf where unreached) and predecessors (``n`` marks a seed
    reached directly from the super-source).
    """
    n = g.shape[0]
    aug = _with_super_source(g, seeds, costs + _SHIFT)
    dist, pred = csgraph.dijkstra(aug, indices=n, return_predecessors=True, limit=limit + _SHIFT)
    return np.asarray(dist)[:n] - _SHIFT, np.asarray(pred)[:n]


def _with_super_source(
    g: sparse.csr_matrix, seeds: np.ndarray, costs: np.ndarray
) -> sparse.csr_matrix:
    """Append node ``n`` with an edge to each seed node carrying ``costs``.

    Built directly in CSR form (one extra row) so it costs one copy of the arrays.
    """
    n = g.shape[0]
    order = np.argsort(seeds)
    indptr = np.concatenate([g.indptr, [g.indptr[-1] + len(seeds)]])
    indices = np.concatenate([g.indices, seeds[order].astype(g.indices.dtype)])
    data = np.concatenate([g.data, costs[order]])
    out = sparse.csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))
    return out


def root_facility(
    pred: np.ndarray, n: int, seed_node: np.ndarray, seed_fac: np.ndarray
) -> np.ndarray:
    """Label each node with the facility whose seed its shortest-path tree hangs from."""
    # Seed nodes have the super-source as predecessor; follow predecessors by pointer
    # jumping (doubling) until every reached node points at a seed node.
    root = np.where(pred == n, np.arange(n), pred)
    root = np.where(root < 0, -1, root)
    for _ in range(64):
        nxt = np.where(root >= 0, root[np.maximum(root, 0)], -1)
        if np.array_equal(nxt, root):
            break
        root = nxt
    fac_of_seed = np.full(n, -1, dtype=np.int64)
    fac_of_seed[seed_node] = seed_fac
    return np.where(root >= 0, fac_of_seed[np.maximum(root, 0)], -1)


def bounded_reach(
    g: sparse.csr_matrix,
    seed_node: np.ndarray,
    seed_cost: np.ndarray,
    limit: float,
    *,
    tol: float = 0.0,
    xy: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (source, node, cost) for every node within ``limit`` of each source.

    Source ``i`` enters the graph at ``seed_node[i, k]`` after ``seed_cost[i, k]``
    (node -1: no such anchor). One bounded Dijkstra per distinct seed node, in blocks so
    memory stays bounded; each source's cost to a node is the cheapest over its seeds.
    Rows are sorted by source, then node.

    ``xy`` (n, 2), the nodes' coordinates, may be given when no edge costs less than the
    straight distance between its ends (costs in metres along the road): a path within
    ``limit`` then never leaves the disc of radius ``limit`` around its seed, so each
    tile of seeds is searched on the subgraph of the nodes near it. Same answer, to the
    bit; on a large network with a short limit the full-width rows scipy fills for every
    search (most of the time) shrink to a few hundred nodes.
    """
    pts = np.repeat(np.arange(len(seed_node)), seed_node.shape[1])
    node = seed_node.ravel()
    cost = seed_cost.ravel()
    ok = (node >= 0) & (cost <= limit + tol)
    pts, node, cost = pts[ok], node[ok], cost[ok]
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if not len(pts):
        return empty
    src, inv = np.unique(node, return_inverse=True)
    if xy is not None:
        s, t, d = _reach_by_tiles(g, src, limit + tol, np.asarray(xy, dtype=float))
    else:
        s, t, d = _reach_rows(g, src, limit + tol)
    ptr = np.searchsorted(s, np.arange(len(src) + 1))
    counts = np.diff(ptr)[inv]
    rep = np.repeat(np.arange(len(pts)), counts)
    step = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    k = ptr[inv][rep] + step
    out_p, out_n, out_d = pts[rep], t[k], cost[rep] + d[k]
    keep = out_d <= limit + tol
    out_p, out_n, out_d = out_p[keep], out_n[keep], out_d[keep]
    order = np.lexsort((out_d, out_n, out_p))
    out_p, out_n, out_d = out_p[order], out_n[order], out_d[order]
    first = np.ones(len(out_p), dtype=bool)
    first[1:] = (out_p[1:] != out_p[:-1]) | (out_n[1:] != out_n[:-1])
    return out_p[first], out_n[first], out_d[first]


def _reach_rows(
    g: sparse.csr_matrix, src: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source index, node, cost) of every node within ``limit`` of each of ``src``."""
    n = g.shape[0]
    rows = max(1, _BLOCK_BYTES // (8 * max(n, 1)))
    s_parts, t_parts, d_parts = [], [], []
    for start in range(0, len(src), rows):
        block = np.atleast_2d(
            np.asarray(csgraph.dijkstra(g, indices=src[start : start + rows], limit=limit))
        )
        i, j = np.nonzero(np.isfinite(block))
        s_parts.append(i + start)
        t_parts.append(j)
        d_parts.append(block[i, j])
    return np.concatenate(s_parts), np.concatenate(t_parts), np.concatenate(d_parts)


def _reach_by_tiles(
    g: sparse.csr_matrix, src: np.ndarray, limit: float, xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As :func:`_reach_rows`, each square tile of seeds searched on the nodes near it.

    Neighbouring tiles are searched together on the union of the nodes near them, up to
    :data:`_TILE_NODES` nodes: a search on any subgraph holding the disc around a seed
    gives the same answer, and on a sparse network (a tile per seed or so) the fixed
    cost of a search and of slicing its subgraph, not the search itself, took the time.
    """
    from scipy.spatial import cKDTree

    side = 2.0 * max(limit, 100.0)
    # A metre of slack: lengths and coordinates are rounded separately.
    reach = limit * (1 + 1e-9) + 1.0
    tile = np.floor(xy[src] / side).astype(np.int64)
    _, tile_id = np.unique(tile, axis=0, return_inverse=True)
    tile_id = tile_id.ravel()
    order = np.argsort(tile_id, kind="stable")
    starts = np.concatenate([[0], np.flatnonzero(np.diff(tile_id[order])) + 1])
    ends = np.concatenate([starts[1:], [len(order)]])
    seed_xy = xy[src[order]]
    lo = np.minimum.reduceat(seed_xy, starts, axis=0)
    hi = np.maximum.reduceat(seed_xy, starts, axis=0)
    centre = (lo + hi) / 2
    radius = np.hypot(*(hi - lo).T) / 2 + reach
    tree = cKDTree(xy)
    size = np.asarray(tree.query_ball_point(centre, radius, return_length=True), dtype=np.int64)
    # Consecutive tiles (tile ids run along columns) while their nodes, counted with
    # overlaps, stay within the bound; a tile above it alone.
    batch = np.zeros(len(starts), dtype=np.int64)
    total = 0
    for i, n_near in enumerate(size.tolist()):
        if total and total + n_near > _TILE_NODES:
            batch[i] = batch[i - 1] + 1
            total = 0
        elif i:
            batch[i] = batch[i - 1]
        total += n_near
    cut = np.flatnonzero(np.diff(batch)) + 1
    where = np.full(g.shape[0], -1, dtype=np.int64)
    s_parts, t_parts, d_parts = [], [], []
    for tiles in np.split(np.arange(len(starts)), cut):
        members = order[starts[tiles[0]] : ends[tiles[-1]]]
        found = tree.query_ball_point(centre[tiles], radius[tiles])
        near = np.unique(np.fromiter(chain.from_iterable(found), dtype=np.int64))
        local = np.searchsorted(near, src[members])
        sub = _subgraph(g, near, where)
        s_loc, t_loc, d = _reach_rows(sub, local, limit)
        s_parts.append(members[s_loc])
        t_parts.append(near[t_loc])
        d_parts.append(d)
    s, t, d = np.concatenate(s_parts), np.concatenate(t_parts), np.concatenate(d_parts)
    # Back in the order of src, nodes ascending within each, as the row search gives.
    back = np.lexsort((t, s))
    return s[back], t[back], d[back]


def _subgraph(g: sparse.csr_matrix, near: np.ndarray, where: np.ndarray) -> sparse.csr_matrix:
    """Return ``g[near][:, near]`` (``near`` sorted): the same rows, entries and order.

    ``where`` (one -1 per node of ``g``, restored on return) maps a node to its row in
    ``near``; scipy's column slicing allocates and scans such an array itself, once per
    call, which on a large network cost more than the search.
    """
    m = len(near)
    where[near] = np.arange(m)
    begin = g.indptr[near].astype(np.int64)
    counts = g.indptr[near + 1] - begin
    owner = np.repeat(np.arange(m), counts)
    entry = begin[owner] + np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    col = where[g.indices[entry]]
    where[near] = -1
    keep = col >= 0
    indptr = np.concatenate([[0], np.cumsum(np.bincount(owner[keep], minlength=m))])
    return sparse.csr_matrix((g.data[entry[keep]], col[keep], indptr), shape=(m, m))


def _forest(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (BFS order, parent, depth) of a spanning forest of the undirected graph.

    A virtual root ``n`` adopts one node of every connected component, so one search
    covers the forest; the root is its own parent at depth 0.
    """
    g = sparse.csr_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    n_comp, label = csgraph.connected_components(g, directed=False)
    _, roots = np.unique(label, return_index=True)
    aug = sparse.csr_matrix(
        (
            np.ones(2 * len(a) + len(roots)),
            (np.concatenate([a, b, np.full(len(roots), n)]), np.concatenate([b, a, roots])),
        ),
        shape=(n + 1, n + 1),
    )
    order, pred = csgraph.breadth_first_order(aug, n, directed=True, return_predecessors=True)
    parent = np.where(pred < 0, n, pred).astype(np.int64)
    parent[n] = n
    # Depth by pointer doubling: each round doubles the hops every node has climbed.
    up = parent.copy()
    dist = (up != np.arange(n + 1)).astype(np.int64)
    while True:
        nxt = up[up]
        if np.array_equal(nxt, up):
            break
        dist = dist + dist[up]
        up = nxt
    return order, parent, dist


def _lca(parent: np.ndarray, depth: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Lowest common ancestors of node pairs, by binary lifting (vectorised over pairs)."""
    k_max = max(1, int(depth.max()).bit_length())
    ups = [parent]
    for _ in range(k_max):
        ups.append(ups[-1][ups[-1]])
    a = a.copy()
    b = b.copy()
    swap = depth[a] < depth[b]
    a[swap], b[swap] = b[swap], a[swap]
    diff = depth[a] - depth[b]
    for k in range(k_max + 1):
        bit = ((diff >> k) & 1).astype(bool)
        a[bit] = ups[k][a[bit]]
    for k in range(k_max, -1, -1):
        move = ups[k][a] != ups[k][b]
        a[move] = ups[k][a[move]]
        b[move] = ups[k][b[move]]
    return np.where(a == b, a, parent[a])


def _add_subtrees(
    values: np.ndarray, order: np.ndarray, parent: np.ndarray, depth: np.ndarray
) -> None:
    """Turn per-node ``values`` into subtree sums in place, over a forest from :func:`_forest`.

    Deepest level first, each node hands its total to its parent: one vectorised step per
    level, so the loop runs as many times as the forest is deep, not once per node.
    """
    nodes = order[np.argsort(-depth[order], kind="stable")]
    cuts = np.flatnonzero(np.diff(depth[nodes])) + 1
    for group in np.split(nodes, cuts):
        if len(group) == 0 or depth[group[0]] == 0:
            continue
        np.add.at(values, parent[group], values[group])


def bridges(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Return which undirected edges ``(a[i], b[i])`` are bridges of the graph on ``n`` nodes.

    A bridge is an edge on no cycle: removing it disconnects its ends. Loops are never
    bridges, and neither are two edges joining the same pair of nodes (they back each
    other up). Exact: a tree edge of a spanning forest is a bridge iff no non-tree edge's
    fundamental cycle runs through it, counted with +1 at both ends of each non-tree edge
    and -2 at their lowest common ancestor, summed over each subtree.
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    out = np.zeros(len(a), dtype=bool)
    loop = a == b
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo * n + hi
    uniq, inv, mult = np.unique(key[~loop], return_inverse=True, return_counts=True)
    if len(uniq) == 0:
        return out
    ua, ub = uniq // n, uniq % n
    order, parent, depth = _forest(ua, ub, n)
    is_tree = (parent[ub] == ua) | (parent[ua] == ub)
    # A pair can be a tree edge only once; with both endpoints' parents pointing at each
    # other impossible, each tree pair is found exactly once.
    child = np.where(parent[ub] == ua, ub, ua)
    nt_a, nt_b = ua[~is_tree], ub[~is_tree]
    score = np.zeros(n + 1, dtype=np.int64)
    if len(nt_a):
        lca = _lca(parent, depth, nt_a, nt_b)
        np.add.at(score, nt_a, 1)
        np.add.at(score, nt_b, 1)
        np.add.at(score, lca, -2)
    _add_subtrees(score, order, parent, depth)
    pair_bridge = is_tree & (score[child] == 0) & (mult == 1)
    out[np.flatnonzero(~loop)] = pair_bridge[inv]
    return out


def bridge_cut(
    a: np.ndarray, b: np.ndarray, n: int, node_weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return per undirected edge: is it a bridge, and the weight on its smaller side.

    ``node_weight`` (per node, e.g. households) is summed on each side of a bridge within
    its connected component; the smaller sum is what removing the bridge cuts off.
    Contracting the 2-edge-connected components turns the bridges into a forest, whose
    subtree sums give every side at once.
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    is_bridge = bridges(a, b, n)
    cut = np.zeros(len(a))
    if not is_bridge.any():
        return is_bridge, cut
    rest = ~is_bridge & (a != b)
    g = sparse.csr_matrix((np.ones(int(rest.sum())), (a[rest], b[rest])), shape=(n, n))
    n_comp, comp = csgraph.connected_components(g, directed=False)
    weight = np.bincount(comp, weights=np.asarray(node_weight, dtype=float), minlength=n_comp)
    ba, bb = comp[a[is_bridge]], comp[b[is_bridge]]
    order, parent, depth = _forest(ba, bb, n_comp)
    sub = np.concatenate([weight, [0.0]])
    _add_subtrees(sub, order, parent, depth)
    # The component below each bridge, and the tree (component) it is in: the ancestor
    # just below the virtual root, found by pointer doubling.
    child = np.where(parent[bb] == ba, bb, ba)
    root_of = np.where(parent == n_comp, np.arange(n_comp + 1), parent)
    root_of[n_comp] = n_comp
    while True:
        nxt = np.where(parent[root_of] == n_comp, root_of, root_of[root_of])
        nxt[n_comp] = n_comp
        if np.array_equal(nxt, root_of):
            break
        root_of = nxt
    total = sub[root_of[child]]
    side = sub[child]
    cut[is_bridge] = np.minimum(side, total - side)
    return is_bridge, cut
