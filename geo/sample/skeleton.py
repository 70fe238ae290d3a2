"""Road skeleton: which settlements a road joins directly, and by what class of road.

See :mod:`geo.sample.roads` for how the skeleton becomes curved ways.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree
from scipy.spatial import Delaunay

from geo.sample.geometry import FloatArray, IntArray
from geo.sample.terrain import Terrain

__all__ = ["Road", "Skeleton", "build_skeleton"]

_ROAD_CHARS = "河湖港山桥畈冲店"


@dataclass(frozen=True)
class Road:
    """A named road spanning several ways (county road, township road)."""

    name: str
    ref: str


@dataclass
class Skeleton:
    """Planar graph of settlements; ``kind`` 0 none, 1 track .. 5 primary."""

    pts: FloatArray
    edges: IntArray
    kind: IntArray
    road: IntArray
    extra: NDArray[np.bool_]
    head: IntArray  # way direction: from head to tail
    tail: IntArray
    roads: list[Road]


def build_skeleton(
    rng: np.random.Generator,
    pts: FloatArray,
    n_seats: int,
    n_settle: int,
    township: IntArray,
    population: IntArray,
    stems: list[str],
    town_stems: list[str],
    terrain: Terrain,
) -> Skeleton:
    """Decide which settlements a road joins directly, and the class of each road.

    Points are seats first, then villages, then the four gateways on the district edge.
    """
    tri = Delaunay(pts)
    s = tri.simplices
    e = np.concatenate([s[:, [0, 1]], s[:, [1, 2]], s[:, [2, 0]]])
    e.sort(axis=1)
    edges = np.unique(e, axis=0).astype(np.int64)
    n_pts = len(pts)
    vec = pts[edges[:, 1]] - pts[edges[:, 0]]
    length = np.hypot(vec[:, 0], vec[:, 1])
    hill_mid = terrain.hill(0.5 * (pts[edges[:, 0]] + pts[edges[:, 1]]))
    weight = length * (1.0 + 0.8 * hill_mid)
    is_gate = edges >= n_settle
    settle_edge: NDArray[np.bool_] = np.asarray(~is_gate.any(axis=1), dtype=bool)
    gate_pair = is_gate.all(axis=1)
    edge_index = {(int(a), int(b)): k for k, (a, b) in enumerate(edges)}

    kind = np.zeros(len(edges), dtype=np.int64)
    road = np.full(len(edges), -1, dtype=np.int64)
    head, tail = edges[:, 0].copy(), edges[:, 1].copy()
    roads: list[Road] = []

    def graph(mask: NDArray[np.bool_], w: FloatArray) -> csr_matrix:
        i, j = edges[mask, 0], edges[mask, 1]
        return csr_matrix((w[mask], (i, j)), shape=(n_pts, n_pts))

    def path(g: csr_matrix, src: int, dst: int) -> list[int]:
        _, pred = dijkstra(g, directed=False, indices=src, return_predecessors=True)
        out = [dst]
        while out[-1] != src:
            prev = int(pred[out[-1]])
            if prev < 0:
                msg = f"internal: settlement {dst} unreachable from {src}"
                raise RuntimeError(msg)
            out.append(prev)
        return out[::-1]

    def assign(nodes: list[int], k: int, road_id: int) -> None:
        for u, v in zip(nodes[:-1], nodes[1:], strict=True):
            idx = edge_index[(min(u, v), max(u, v))]
            if k > kind[idx]:
                kind[idx], road[idx], head[idx], tail[idx] = k, road_id, u, v

    base = settle_edge & (length <= 4500.0)
    g_settle = graph(base, weight)

    def gate_graph(gate: int) -> csr_matrix:
        touches = (edges == gate).any(axis=1) & ~gate_pair
        return graph(base | touches, weight)

    # County road (primary) through the three seats, out to both district edges.
    ref_no = int(rng.integers(10, 100))
    roads.append(Road(f"{town_stems[0]}大道", f"X{ref_no:03d}"))
    g_a, g_c = n_settle, n_settle + 1
    assign(path(gate_graph(g_a), g_a, 1), 5, 0)
    assign(path(g_settle, 1, 0), 5, 0)
    assign(path(g_settle, 0, 2), 5, 0)
    assign(path(gate_graph(g_c), 2, g_c), 5, 0)

    # Two more county roads (secondary) from seats towards neighbouring townships.
    for seat, gate in ((0, n_settle + 2), (1, n_settle + 3)):
        ref_no += int(rng.integers(3, 40))
        char = _ROAD_CHARS[int(rng.integers(0, len(_ROAD_CHARS)))]
        roads.append(Road(f"{town_stems[seat][0]}{char}公路", f"X{ref_no:03d}"))
        assign(path(gate_graph(gate), seat, gate), 4, len(roads) - 1)

    # Township roads (tertiary) from each seat to its larger villages. Edges already on
    # a township road are cheaper, so the roads share trunks like real ones do.
    y_no = int(rng.integers(1, 30))
    for seat in range(n_seats):
        members = np.flatnonzero(township[n_seats:n_settle] == seat) + n_seats
        on_county = np.zeros(n_pts, dtype=bool)
        on_county[edges[kind >= 4].ravel()] = True
        members = members[~on_county[members]]
        members = members[np.argsort(-population[members - n_seats], kind="stable")]
        for v in members[: max(1, round(0.12 * len(members)))]:
            w = weight * np.where(kind >= 3, 0.6, 1.0)
            y_no += int(rng.integers(1, 6))
            roads.append(Road(f"{stems[v - n_seats]}路", f"Y{y_no:03d}"))
            assign(path(graph(base, w), seat, int(v)), 3, len(roads) - 1)

    # Minimum spanning tree: an unclassified village road reaches every village.
    mst = minimum_spanning_tree(graph(settle_edge, length)).tocoo()
    pairs = np.sort(np.column_stack([mst.row, mst.col]), axis=1)
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    for u, v in pairs:
        idx = edge_index[(int(u), int(v))]
        kind[idx] = max(int(kind[idx]), 2)

    # Thinned extras: a few more village roads and field tracks between neighbours,
    # skipping edges that would leave a settlement at a sharp angle to a kept road.
    extra = np.zeros(len(edges), dtype=bool)
    want_unc, want_trk = round(0.12 * (n_settle - n_seats)), round(0.35 * (n_settle - n_seats))
    cand = np.flatnonzero(settle_edge & (kind == 0) & (length <= 2300.0))
    cand = cand[np.argsort(length[cand] * rng.uniform(0.85, 1.15, len(cand)), kind="stable")]
    ang = np.arctan2(vec[:, 1], vec[:, 0])
    draws = rng.random((len(cand), 2))
    for k, e_idx in enumerate(cand):
        idx = int(e_idx)
        if want_unc <= 0 and want_trk <= 0:
            break
        if draws[k, 0] > 0.55:
            continue
        ok = True
        for end, a in ((edges[idx, 0], ang[idx]), (edges[idx, 1], ang[idx] + np.pi)):
            at = np.flatnonzero((kind > 0) & (edges == end).any(axis=1))
            other = np.where(edges[at, 0] == end, ang[at], ang[at] + np.pi)
            diff = np.abs((other - a + np.pi) % (2 * np.pi) - np.pi)
            if diff.size and diff.min() < np.radians(35.0):
                ok = False
        if not ok:
            continue
        as_unc = (draws[k, 1] < 0.3 and want_unc > 0) or want_trk <= 0
        kind[idx] = 2 if as_unc else 1
        extra[idx] = True
        want_unc, want_trk = (want_unc - 1, want_trk) if as_unc else (want_unc, want_trk - 1)

    return Skeleton(pts, edges, kind, road, extra, head, tail, roads)
