"""The travel-time engine: compressed sparse rows and scipy's Dijkstra, vectorised.

One :class:`Engine` is compiled per road network (one travel mode) and answers every
"how long from here to there" question in the product:

- :meth:`Engine.matrix` — origins x destinations;
- :meth:`Engine.nearest_facility` — each point's nearest facility, in ONE multi-source
  search through a virtual super-source, whatever the number of facilities;
- :meth:`Engine.reachable` — what is reachable within a time budget (isochrones);
- :meth:`Engine.path` — the node sequence and road geometry of a fastest route.

Places are given either as node rows of the network (``np.ndarray`` of ints) or as
:class:`Located` points (from :meth:`Engine.locate`), which sit part-way along an edge.
A located point can be entered or left through both ends of its edge where the road is
two-way, and the off-road gap to the snapped road point is an access leg at the mode's
access speed (``EngineParams.offroad_kmh``), counted once at each end of a trip; two
points nearer each other than their gaps to the road go straight across.
Points whose snap is flagged (too far from any road) and pairs with no route get an
explicit status and NaN time — never a silent 0 or inf.

An engine on the ``length_m`` weight with ``undirected=True`` measures distances along
roads in metres, both ways on every road, as a walker or a lamp's light does: the
dark-road risk and the lamp spacing use it on the area's all-roads network, so
"within 300 m along the roads" is one search, here, like every other.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csgraph

from geo.engine import cch
from geo.engine.cch import CCHMetric
from geo.engine.graph import bounded_reach, bridge_cut, cheapest, csr, root_facility, super_search
from geo.engine.results import (
    BEYOND,
    DEST_OFF,
    NO_ROUTE,
    OK,
    ORIGIN_OFF,
    EngineParams,
    Located,
    Nearby,
    NearestFacility,
    Reach,
    Route,
    TravelTimes,
)
from geo.errors import EngineError
from geo.network import ACCESS_KMH, RoadNetwork, SnapIndex, SnapResult, edge_twins

__all__ = ["Engine"]

_log = logging.getLogger("pingan.engine")

#: Upper bound on the dense distance block held at once (rows x nodes x 8 bytes).
_BLOCK_BYTES = 256 * 2**20


@dataclass(eq=False)
class Engine:
    """Travel times on one road network, compiled to CSR once.

    Parameters
    ----------
    net
        The road network (one travel mode).
    params
        Snapping threshold and off-road speed.
    weight
        Edge column with the cost: seconds (``travel_time_s``, ``time_<mode>_s``) or
        metres (``length_m``); closed roads may carry NaN or inf there (they are left out
        of the graph).
    snap_index
        The snap index of ``net`` (or of the network ``net`` was edited from). When not
        given it is built on first use (:attr:`snap`), once, under a lock: a command that
        never snaps to this network (hot spots snap to every road, not to the routing
        core) does not pay its seconds and its hundreds of megabytes on a large area.
    undirected
        Search every edge both ways at its cost, ignoring one-way rules (walkers,
        distances along roads).
    backend
        What answers :meth:`matrix`: ``"dijkstra"`` (one search per origin anchor on the
        CSR), ``"cch"`` (customizable contraction hierarchies, :mod:`geo.engine.cch`) or
        ``"auto"``: the CCH from :data:`~geo.engine.cch.CCH_MIN_NODES` nodes up where
        RoutingKit is installed. :attr:`matrix_backend` says which one it is. One-to-all,
        reach, isochrones and nearest facility stay on Dijkstra, where one search
        answers them.
    order_dir
        Folder where the CCH's graph order is saved and looked for (the network cache
        folder); the order is also shared in memory by every engine of the same graph.
    """

    net: RoadNetwork
    params: EngineParams = field(default_factory=EngineParams)
    weight: str = "travel_time_s"
    snap_index: SnapIndex | None = None
    undirected: bool = False
    backend: str = "auto"
    order_dir: Path | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        # An index given is shared from the engine of the base network (edits change
        # times and tags, never geometry).
        if self.snap_index is not None:
            self.snap_index = self.snap_index.for_network(self.net)
        e = self.net.edges
        if self.weight not in e.columns:
            msg = f"edge weight column {self.weight!r} not in the network"
            raise EngineError(msg)
        t = e[self.weight].to_numpy(dtype=float)
        if (t < 0).any():
            msg = f"edge weight {self.weight!r} has negative values"
            raise EngineError(msg)
        self.n_nodes = len(self.net.nodes)
        self.u = e["u"].to_numpy(dtype=np.int64)
        self.v = e["v"].to_numpy(dtype=np.int64)
        self.length = e["length_m"].to_numpy(dtype=float)
        self.open = np.isfinite(t)
        # A sparse matrix cannot store a zero weight, so nudge zero-cost edges.
        self.time = np.where(self.open, np.maximum(t, 1e-9), np.inf)
        o = self.open
        if self.undirected:
            a = np.concatenate([self.u[o], self.v[o]])
            b = np.concatenate([self.v[o], self.u[o]])
            self.graph = csr(a, b, np.concatenate([self.time[o], self.time[o]]), self.n_nodes)
        else:
            self.graph = csr(self.u[o], self.v[o], self.time[o], self.n_nodes)
        self.twin = edge_twins(self.net)
        self.matrix_backend = self._pick_backend()
        self._cch: CCHMetric | None = None
        # The off-road leg costs its length in metres on a length engine, and its access
        # time on a time engine.
        kmh = self.params.offroad_kmh
        if isinstance(kmh, str):  # "mode", as EngineParams checked
            kmh = ACCESS_KMH.get(self.net.mode, ACCESS_KMH["foot"])
        self.offroad_kmh: float | None = None if kmh is None else float(kmh)
        if self.offroad_kmh is None:
            self.offroad_per_m = 0.0
        elif self.weight == "length_m":
            self.offroad_per_m = 1.0
        else:
            self.offroad_per_m = 3.6 / self.offroad_kmh

    def _pick_backend(self) -> str:
        if self.backend not in ("auto", "cch", "dijkstra"):
            msg = f"backend must be 'auto', 'cch' or 'dijkstra', got {self.backend!r}"
            raise EngineError(msg)
        if self.backend == "cch" and not cch.available():
            msg = "backend 'cch' needs the RoutingKit bindings: pip install routingkit_cch"
            raise EngineError(msg)
        if self.backend == "auto":
            big = self.n_nodes >= cch.CCH_MIN_NODES
            return "cch" if big and cch.available() else "dijkstra"
        return self.backend

    def _metric(self) -> CCHMetric:
        """Return the CCH customised with this engine's costs, built on first use."""
        if self._cch is None:
            with self._lock:
                if self._cch is None:
                    if self.undirected:
                        tail = np.concatenate([self.u, self.v])
                        head = np.concatenate([self.v, self.u])
                        cost = np.concatenate([self.time, self.time])
                    else:
                        tail, head, cost = self.u, self.v, self.time
                    nodes = self.net.nodes
                    order = cch.order_for(
                        tail,
                        head,
                        nodes["lat"].to_numpy(),
                        nodes["lon"].to_numpy(),
                        folder=self.order_dir,
                        progress=_log.info,
                    )
                    threads = self.params.cch_threads or cch.default_threads()
                    self._cch = CCHMetric(order, cost, threads=threads)
                    _log.info(
                        "matrices and paths on this %s-node graph through the CCH "
                        "(%d threads per matrix)",
                        f"{self.n_nodes:,}",
                        self._cch.threads,
                    )
        return self._cch

    def node_matrix(self, src: np.ndarray, dst: np.ndarray, limit: float = np.inf) -> np.ndarray:
        """Return seconds between node rows (inf where no route), on :attr:`matrix_backend`."""
        src = np.asarray(src, dtype=np.int64)
        dst = np.asarray(dst, dtype=np.int64)
        if self.matrix_backend == "cch":
            sub = self._metric().many_to_many(src, dst)
            if np.isfinite(limit):
                sub[sub > limit] = np.inf
            return sub
        rows = max(1, _BLOCK_BYTES // (8 * max(self.n_nodes, 1)))
        sub = np.empty((len(src), len(dst)))
        for start in range(0, len(src), rows):
            block = csgraph.dijkstra(self.graph, indices=src[start : start + rows], limit=limit)
            sub[start : start + rows] = np.asarray(block)[:, dst]
        return sub

    def rounding_s(self, n_arcs: int) -> float:
        """Return how far a :meth:`matrix` entry over ``n_arcs`` arcs may be from exact.

        0 on Dijkstra; on the CCH, half an integer unit per arc (and per partial edge
        at either end), see :mod:`geo.engine.cch`.
        """
        if self.matrix_backend != "cch":
            return 0.0
        return (n_arcs + 2) * 0.5 / cch.SCALE

    def edited(
        self, net: RoadNetwork, *, weight: str | None = None, params: EngineParams | None = None
    ) -> Engine:
        """Return an engine on an edited copy of this network (same geometry, new costs).

        It shares the snap index, the backend and, on a CCH, the graph order, so a
        scenario's closed road or new speed costs one customisation, not a new order.
        """
        return Engine(
            net,
            params or self.params,
            weight=weight or self.weight,
            snap_index=self.snap,
            undirected=self.undirected,
            backend=self.backend,
            order_dir=self.order_dir,
        )

    @property
    def snap(self) -> SnapIndex:
        """The snap index of the network, built on first use (once, thread-safe)."""
        if self.snap_index is None:
            with self._lock:
                if self.snap_index is None:
                    self.snap_index = SnapIndex.of(self.net)
        return self.snap_index

    def __getstate__(self) -> dict[str, object]:
        # A lock does not pickle; a Dask worker gets the engine with a lock of its own.
        state = self.__dict__.copy()
        del state["_lock"]
        state["_cch"] = None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # ------------------------------------------------------------ locating

    def locate(self, x: np.ndarray, y: np.ndarray) -> Located:
        """Snap points given in the network's CRS and anchor them to the graph."""
        snap = self.snap.snap(x, y, max_distance_m=self.params.max_snap_m)
        return self._anchor(snap)

    def locate_geometries(self, geometry: pd.Series) -> Located:
        """Snap a GeoSeries (any CRS; polygons by a point inside) and anchor it."""
        snap = self.snap.snap_geometries(geometry, max_distance_m=self.params.max_snap_m)
        return self._anchor(snap)

    def _anchor(self, snap: SnapResult) -> Located:
        off = snap.flagged.copy()
        e = np.where(off, 0, snap.edge)
        frac = np.where(off, 0.0, snap.along_m / np.maximum(self.length[e], 1e-12))
        frac = np.clip(np.nan_to_num(frac), 0.0, 1.0)
        walk = np.nan_to_num(snap.distance_m) * self.offroad_per_m
        return self._anchor_on(snap.edge, frac, off, walk, snap)

    def at_edges(
        self, edge: np.ndarray, along_m: np.ndarray, offroad_m: np.ndarray | None = None
    ) -> Located:
        """Place points given as (edge row, metres from the edge's start), with no snap.

        ``offroad_m`` is each point's gap to its road, costed like a snapped point's
        off-road leg (its length on a length engine, its walking time on a time engine).
        """
        edge = np.asarray(edge, dtype=np.int64)
        along = np.asarray(along_m, dtype=float)
        if edge.shape != along.shape or edge.ndim != 1:
            msg = "edge and along_m must be 1-D arrays of the same length"
            raise EngineError(msg)
        bad = (edge < 0) | (edge >= len(self.u))
        if bad.any():
            msg = f"edge rows outside 0..{len(self.u) - 1}: {edge[bad][:5].tolist()}"
            raise EngineError(msg)
        frac = np.clip(along / np.maximum(self.length[edge], 1e-12), 0.0, 1.0)
        n = len(edge)
        gap = np.zeros(n) if offroad_m is None else np.asarray(offroad_m, dtype=float)
        if gap.shape != (n,):
            msg = "offroad_m must have one value per point"
            raise EngineError(msg)
        walk = np.nan_to_num(gap) * self.offroad_per_m
        return self._anchor_on(edge, frac, np.zeros(n, dtype=bool), walk, None)

    def _anchor_on(
        self,
        edge: np.ndarray,
        frac: np.ndarray,
        off: np.ndarray,
        walk: np.ndarray,
        snap: SnapResult | None,
    ) -> Located:
        e = np.where(off, 0, edge)
        t = self.time[e]
        if self.undirected:
            # Every edge is its own way back.
            t_tw = np.where(self.open[e], t, np.inf)
        else:
            tw = self.twin[e]
            has_tw = (tw >= 0) & self.open[np.maximum(tw, 0)]
            t_tw = np.where(has_tw, self.time[np.maximum(tw, 0)], np.inf)
        # On a closed edge only the twin direction (if open) still carries the point.
        t = np.where(self.open[e], t, np.inf)
        out_node = np.column_stack([self.v[e], self.u[e]])
        out_cost = np.column_stack([_part(1 - frac, t), _part(frac, t_tw)]) + walk[:, None]
        in_node = np.column_stack([self.u[e], self.v[e]])
        in_cost = np.column_stack([_part(frac, t), _part(1 - frac, t_tw)]) + walk[:, None]
        out_cost[~np.isfinite(out_cost)] = np.inf
        in_cost[~np.isfinite(in_cost)] = np.inf
        out_node = np.where(np.isfinite(out_cost), out_node, -1)
        in_node = np.where(np.isfinite(in_cost), in_node, -1)
        out_node[off] = -1
        in_node[off] = -1
        out_cost[off] = np.inf
        in_cost[off] = np.inf
        return Located(
            out_node=out_node,
            out_cost=out_cost,
            in_node=in_node,
            in_cost=in_cost,
            edge=np.where(off, -1, edge),
            along_frac=frac,
            off_network=off,
            snap=snap,
        )

    def _as_located(self, where: Located | np.ndarray, name: str) -> Located:
        if isinstance(where, Located):
            return where
        nodes = np.asarray(where)
        if nodes.ndim != 1 or nodes.dtype.kind not in "iu":
            msg = f"{name} must be a Located set or a 1-D array of node rows"
            raise EngineError(msg)
        bad = (nodes < 0) | (nodes >= self.n_nodes)
        if bad.any():
            msg = f"{name} has node rows outside 0..{self.n_nodes - 1}: {nodes[bad][:5].tolist()}"
            raise EngineError(msg)
        n = len(nodes)
        anchor = np.column_stack([nodes, np.full(n, -1)]).astype(np.int64)
        cost = np.column_stack([np.zeros(n), np.full(n, np.inf)])
        return Located(
            out_node=anchor,
            out_cost=cost,
            in_node=anchor.copy(),
            in_cost=cost.copy(),
            edge=np.full(n, -1),
            along_frac=np.zeros(n),
            off_network=np.zeros(n, dtype=bool),
        )

    # ------------------------------------------------------------ searches

    def _check_limit(self, limit: float | None) -> float:
        if limit is None:
            return np.inf
        if not (np.isfinite(limit) and limit > 0):
            msg = f"limit must be a positive number of seconds, got {limit}"
            raise EngineError(msg)
        return float(limit)

    def one_to_all(self, source: int, *, limit: float | None = None) -> np.ndarray:
        """Return seconds from node row ``source`` to every node (inf where unreachable)."""
        if not 0 <= int(source) < self.n_nodes:
            msg = f"source node row {source} is outside 0..{self.n_nodes - 1}"
            raise EngineError(msg)
        lim = self._check_limit(limit)
        return np.asarray(csgraph.dijkstra(self.graph, indices=int(source), limit=lim))

    def matrix(
        self,
        origins: Located | np.ndarray,
        destinations: Located | np.ndarray,
        *,
        limit: float | None = None,
    ) -> TravelTimes:
        """Return travel times (seconds) from every origin to every destination.

        The distinct anchor nodes of the origins and of the destinations go to
        :meth:`node_matrix` once (the CCH on a large graph, else one Dijkstra per origin
        anchor node, in blocks so memory stays bounded); then a vectorised min over the
        anchor combinations.
        """
        o = self._as_located(origins, "origins")
        d = self._as_located(destinations, "destinations")
        lim = self._check_limit(limit)
        n_o, n_d = len(o), len(d)
        src = np.unique(o.out_node[o.out_node >= 0])
        dst = np.unique(d.in_node[d.in_node >= 0])
        best = np.full((n_o, n_d), np.inf)
        if len(src) and len(dst):
            dst_pos = np.searchsorted(dst, np.maximum(d.in_node, 0))
            if self.matrix_backend == "cch" and n_o < len(src):
                # One search per origin from both its anchors at once (fewer rows than
                # one per anchor node); ``from_points`` rows are already the best start.
                rows = self._metric().from_points(o.out_node, o.out_cost, dst)
                for b in range(2):
                    np.minimum(best, rows[:, dst_pos[:, b]] + d.in_cost[None, :, b], out=best)
            else:
                src_pos = np.searchsorted(src, np.maximum(o.out_node, 0))
                sub = self.node_matrix(src, dst, lim)
                for a in range(2):
                    for b in range(2):
                        cand = (
                            o.out_cost[:, a, None]
                            + sub[src_pos[:, a]][:, dst_pos[:, b]]
                            + d.in_cost[None, :, b]
                        )
                        np.minimum(best, cand, out=best)
        direct_i, direct_j, direct_t = self._same_edge(o, d)
        if len(direct_i):
            best[direct_i, direct_j] = np.minimum(best[direct_i, direct_j], direct_t)
        cross = self._across(o, d)
        if cross is not None:
            np.minimum(best, cross, out=best)
        if np.isfinite(lim):
            best[best > lim] = np.inf
        status = np.full((n_o, n_d), OK, dtype=np.int8)
        status[~np.isfinite(best)] = BEYOND if np.isfinite(lim) else NO_ROUTE
        status[:, d.off_network] = DEST_OFF
        status[o.off_network, :] = ORIGIN_OFF
        seconds = np.where(status == OK, best, np.nan)
        return TravelTimes(seconds=seconds, status=status, backend=self.matrix_backend)

    def _points(self, loc: Located) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Return (x, y, gap to the road) of snapped points, or None for node rows."""
        snap = loc.snap
        if self.offroad_per_m == 0 or snap is None or snap.x is None or snap.y is None:
            return None
        return snap.x, snap.y, np.nan_to_num(snap.distance_m, nan=np.inf)

    def _across(self, o: Located, d: Located) -> np.ndarray | None:
        """Return the times of the pairs that walk straight across, not via the roads.

        Two points closer to each other than the sum of their gaps to the road (a post
        placed at a village, both 100 m from the nearest road) would otherwise walk to
        the road and back again: for them the trip is the straight access leg.
        """
        po, pd_ = self._points(o), self._points(d)
        if po is None or pd_ is None:
            return None
        straight = np.hypot(po[0][:, None] - pd_[0][None, :], po[1][:, None] - pd_[1][None, :])
        short = straight < po[2][:, None] + pd_[2][None, :]
        short &= ~o.off_network[:, None] & ~d.off_network[None, :]
        return np.where(short, np.nan_to_num(straight, nan=np.inf) * self.offroad_per_m, np.inf)

    def _nearest_across(self, p: Located, f: Located) -> tuple[np.ndarray, np.ndarray] | None:
        """Per point, the facility reached straight across (see :meth:`_across`), if any."""
        pp, pf = self._points(p), self._points(f)
        if pp is None or pf is None:
            return None
        ok_f = np.isfinite(pf[0]) & np.isfinite(pf[1]) & ~f.off_network
        ok_p = np.isfinite(pp[0]) & np.isfinite(pp[1]) & ~p.off_network
        if not ok_f.any() or not ok_p.any():
            return None
        from scipy.spatial import cKDTree

        rows = np.flatnonzero(ok_f)
        tree = cKDTree(np.column_stack([pf[0][rows], pf[1][rows]]))
        q = np.flatnonzero(ok_p)
        dist, k = tree.query(np.column_stack([pp[0][q], pp[1][q]]))
        fac = np.full(len(p), -1, dtype=np.int64)
        t = np.full(len(p), np.inf)
        short = dist < pp[2][q] + pf[2][rows[k]]
        fac[q[short]] = rows[k[short]]
        t[q[short]] = dist[short] * self.offroad_per_m
        return fac, t

    def _same_edge(self, o: Located, d: Located) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Trips between two points on the same road that need no node at all."""
        if (o.edge < 0).all() or (d.edge < 0).all():
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        # Express both on the edge and on its twin, then match by edge.
        rows = []
        n_edges = len(self.u)
        for loc in (o, d):
            on = loc.edge >= 0
            idx = np.flatnonzero(on)
            e = loc.edge[on]
            f = loc.along_frac[on]
            # An undirected engine runs every edge backwards as a virtual twin e + E.
            tw = e + n_edges if self.undirected else self.twin[e]
            has = tw >= 0
            rows.append(
                pd.DataFrame(
                    {
                        "i": np.concatenate([idx, idx[has]]),
                        "edge": np.concatenate([e, tw[has]]),
                        "frac": np.concatenate([f, 1.0 - f[has]]),
                    }
                )
            )
        m = rows[0].merge(rows[1], on="edge", suffixes=("_o", "_d"))
        m = m[m["frac_d"] >= m["frac_o"]]
        if m.empty:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        edge = m["edge"].to_numpy() % n_edges
        # A closed edge carries no trip along it, but two points at one spot are 0 s apart.
        t = _part(m["frac_d"].to_numpy() - m["frac_o"].to_numpy(), self.time[edge])
        i = m["i_o"].to_numpy()
        j = m["i_d"].to_numpy()
        walk_o = _walk(o, self.offroad_per_m, i)
        walk_d = _walk(d, self.offroad_per_m, j)
        return i, j, t + walk_o + walk_d

    def nearest_facility(
        self,
        points: Located | np.ndarray,
        facilities: Located | np.ndarray,
        *,
        limit: float | None = None,
    ) -> NearestFacility:
        """Return, for each point, the facility that reaches it fastest.

        All facilities seed ONE Dijkstra through a virtual super-source whose edges to
        each facility's anchor nodes carry the facility's access cost; the facility of
        each node is then found by following predecessors back to the super-source.
        """
        p = self._as_located(points, "points")
        f = self._as_located(facilities, "facilities")
        lim = self._check_limit(limit)
        n = self.n_nodes
        n_p = len(p)
        if len(f) == 0:
            msg = "no facilities given"
            raise EngineError(msg)
        seed_node = f.out_node.ravel()
        seed_cost = f.out_cost.ravel()
        seed_fac = np.repeat(np.arange(len(f)), 2)
        ok = seed_node >= 0
        seed_node, seed_cost, seed_fac = seed_node[ok], seed_cost[ok], seed_fac[ok]
        # Per node, keep the cheapest seed (ties: lowest facility row).
        order = np.lexsort((seed_fac, seed_cost, seed_node))
        seed_node, seed_cost, seed_fac = seed_node[order], seed_cost[order], seed_fac[order]
        first = np.ones(len(seed_node), dtype=bool)
        first[1:] = seed_node[1:] != seed_node[:-1]
        seed_node, seed_cost, seed_fac = seed_node[first], seed_cost[first], seed_fac[first]

        best = np.full(n_p, np.inf)
        fac = np.full(n_p, -1, dtype=np.int64)
        if len(seed_node):
            dist, pred = super_search(self.graph, seed_node, seed_cost, lim)
            node_fac = root_facility(pred, n, seed_node, seed_fac)
            for b in range(2):
                nodes = p.in_node[:, b]
                has = nodes >= 0
                cand = np.full(n_p, np.inf)
                cand[has] = dist[nodes[has]] + p.in_cost[has, b]
                better = cand < best
                best[better] = cand[better]
                fac[better] = node_fac[nodes[better]]
        di, dj, dt = self._same_edge(f, p)
        if len(di):
            order = np.lexsort((di, dt, dj))
            di, dj, dt = di[order], dj[order], dt[order]
            firstj = np.ones(len(dj), dtype=bool)
            firstj[1:] = dj[1:] != dj[:-1]
            di, dj, dt = di[firstj], dj[firstj], dt[firstj]
            better = dt < best[dj]
            best[dj[better]] = dt[better]
            fac[dj[better]] = di[better]
        near = self._nearest_across(p, f)
        if near is not None:
            n_fac, n_t = near
            better = n_t < best
            best[better] = n_t[better]
            fac[better] = n_fac[better]
        if np.isfinite(lim):
            best[best > lim] = np.inf
        status = np.full(n_p, OK, dtype=np.int8)
        status[~np.isfinite(best)] = BEYOND if np.isfinite(lim) else NO_ROUTE
        status[p.off_network] = DEST_OFF
        if f.off_network.all():
            status[:] = ORIGIN_OFF
        good = status == OK
        return NearestFacility(
            facility=np.where(good, fac, -1),
            seconds=np.where(good, best, np.nan),
            status=status,
        )

    def reachable(self, sources: Located | np.ndarray, limit: float) -> Reach:
        """Return node times and the reachable share of every edge within ``limit`` s.

        Multi-source: a node's time is from whichever source reaches it first.
        """
        s = self._as_located(sources, "sources")
        lim = self._check_limit(limit)
        n = self.n_nodes
        seed = s.out_node.ravel()
        cost = s.out_cost.ravel()
        ok = (seed >= 0) & (cost <= lim)
        node_t = np.full(n, np.inf)
        if ok.any():
            node_t, _ = super_search(self.graph, *cheapest(seed[ok], cost[ok]), lim)
        # Share of each edge reachable from its start node within the remaining budget.
        t_u = node_t[self.u]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(self.open, (lim - t_u) / self.time, 0.0)
        frac = np.clip(np.nan_to_num(frac, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
        # Sources on an edge reach part of their own edge without passing a node.
        on = s.edge >= 0
        if on.any():
            e = s.edge[on]
            walk = _walk(s, self.offroad_per_m, np.flatnonzero(on))
            budget = np.maximum(lim - walk, 0.0)
            reach_to = np.minimum(1.0, s.along_frac[on] + budget / self.time[e])
            np.maximum.at(frac, e, np.where(self.open[e], reach_to, 0.0))
        node_s = np.where(np.isfinite(node_t), node_t, np.nan)
        return Reach(limit_s=lim, node_seconds=node_s, edge_fraction=frac)

    def path(self, origin: Located | np.ndarray, destination: Located | np.ndarray) -> Route:
        """Return the fastest route between one origin and one destination."""
        o = self._as_located(origin, "origin")
        d = self._as_located(destination, "destination")
        if len(o) != 1 or len(d) != 1:
            msg = "path takes exactly one origin and one destination"
            raise EngineError(msg)
        if self.undirected:
            msg = "path needs a directed engine (undirected engines measure distances only)"
            raise EngineError(msg)
        empty = np.zeros(0, np.int64)
        if o.off_network[0]:
            return Route(empty, empty, np.nan, np.nan, None, "origin_off_network")
        if d.off_network[0]:
            return Route(empty, empty, np.nan, np.nan, None, "destination_off_network")
        total, b, nodes, edges = self._node_route(o, d)
        direct = self._direct_leg(o, d)
        across = self._across(o, d)
        if across is not None and np.isfinite(across[0, 0]):
            t_across = float(across[0, 0])
            if t_across <= total and (direct is None or t_across <= direct[0]):
                po, pd_ = self._points(o), self._points(d)
                assert po is not None and pd_ is not None
                leg = np.array([[po[0][0], po[1][0]], [pd_[0][0], pd_[1][0]]])
                straight = float(np.hypot(*(leg[1] - leg[0])))
                line = shapely.LineString(leg)
                return Route(empty, empty, t_across, straight, line, "ok")
        if direct is not None and direct[0] <= total:
            t, e, fo, fd = direct
            along = _join([_coords_of(_substring(self.net, e, fo, fd))])
            length = float((fd - fo) * self.length[e])
            return Route(empty, np.array([e]), t, length, along, "ok")
        if not np.isfinite(total):
            return Route(empty, empty, np.nan, np.nan, None, "no_route")
        parts: list[np.ndarray] = []
        length = float(self.length[edges].sum()) if len(edges) else 0.0
        # Leg from the origin point to its first node, along its edge.
        if o.edge[0] >= 0:
            e0 = int(o.edge[0])
            f0 = o.along_frac[0]
            if nodes[0] == self.v[e0] and o.out_node[0, 0] == nodes[0]:
                parts.append(_coords_of(_substring(self.net, e0, f0, 1.0)))
                length += (1 - f0) * self.length[e0]
            else:
                tw = int(self.twin[e0])
                parts.append(_coords_of(_substring(self.net, tw, 1 - f0, 1.0)))
                length += f0 * self.length[e0]
        for e in edges:
            parts.append(self.net.coords[self.net.offsets[e] : self.net.offsets[e + 1]])
        if d.edge[0] >= 0:
            e1 = int(d.edge[0])
            f1 = d.along_frac[0]
            if b == 0:
                parts.append(_coords_of(_substring(self.net, e1, 0.0, f1)))
                length += f1 * self.length[e1]
            else:
                tw = int(self.twin[e1])
                parts.append(_coords_of(_substring(self.net, tw, 0.0, 1 - f1)))
                length += (1 - f1) * self.length[e1]
        geom = _join(parts)
        return Route(nodes, edges, total, length, geom, "ok")

    def near(self, sources: Located | np.ndarray, limit: float) -> Nearby:
        """Return every node within ``limit`` of each source, one source at a time.

        Unlike :meth:`reachable` (all sources together), each source keeps its own
        answer: "which roads lie within 300 m of this incident". One bounded Dijkstra
        per distinct anchor node, in blocks so memory stays bounded.
        """
        s = self._as_located(sources, "sources")
        lim = self._check_limit(limit)
        # Costs in metres along roads are never below the straight distance: the search
        # can then keep to the nodes near each seed.
        xy = self.net.nodes[["x", "y"]].to_numpy() if self.weight == "length_m" else None
        src, node, cost = bounded_reach(self.graph, s.out_node, s.out_cost, lim, tol=1e-9, xy=xy)
        return Nearby(limit=lim, source=src, node=node, cost=cost)

    def bridges(self, node_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return, per edge, whether its road is a bridge and the weight it cuts off.

        A bridge is the only link between two parts of the network (both directions
        of a road count as one link; two roads between the same nodes back each other
        up). ``node_weight`` (per node, e.g. households) gives each bridge the weight on
        its smaller side; without it the second array is zeros. Closed edges are left
        out, as in every search.
        """
        w = np.zeros(self.n_nodes) if node_weight is None else np.asarray(node_weight, float)
        if w.shape != (self.n_nodes,):
            msg = f"node_weight must have one value per node ({self.n_nodes}), got {w.shape}"
            raise EngineError(msg)
        # One link per road: a forward edge and its twin are the same road.
        e = np.arange(len(self.u))
        rep = (self.twin < 0) | (e < self.twin)
        keep = rep & self.open
        is_bridge, cut = bridge_cut(self.u[keep], self.v[keep], self.n_nodes, w)
        out_b = np.zeros(len(e), dtype=bool)
        out_c = np.zeros(len(e))
        out_b[keep], out_c[keep] = is_bridge, cut
        tw = self.twin[keep]
        has = tw >= 0
        out_b[tw[has]], out_c[tw[has]] = is_bridge[has], cut[has]
        return out_b, out_c

    def _node_route(self, o: Located, d: Located) -> tuple[float, int, np.ndarray, np.ndarray]:
        """Return (seconds, destination anchor, nodes, edges) of the fastest route via nodes.

        On the CCH the anchor pair is chosen on its (rounded) costs and the route's
        seconds are then summed exactly along its arcs; on Dijkstra, one search.
        """
        empty = np.zeros(0, np.int64)
        if self.matrix_backend == "cch":
            outs, ins = o.out_node[0], d.in_node[0]
            metric = self._metric()
            sub = metric.many_to_many(np.maximum(outs, 0), np.maximum(ins, 0))
            cand = o.out_cost[0][:, None] + sub + d.in_cost[0][None, :]
            cand[outs < 0, :] = np.inf
            cand[:, ins < 0] = np.inf
            a, b = (int(k) for k in np.unravel_index(int(np.argmin(cand)), cand.shape))
            if not np.isfinite(cand[a, b]):
                return np.inf, b, empty, empty
            nodes, edges = metric.route(int(outs[a]), int(ins[b]))
            exact = o.out_cost[0, a] + self.time[edges].sum() + d.in_cost[0, b]
            return float(exact), b, nodes, edges
        n = self.n_nodes
        dist, pred = super_search(self.graph, *cheapest(o.out_node[0], o.out_cost[0]), np.inf)
        via = np.where(d.in_node[0] >= 0, dist[np.maximum(d.in_node[0], 0)] + d.in_cost[0], np.inf)
        b = int(np.argmin(via))
        total = float(via[b])
        if not np.isfinite(total):
            return total, b, empty, empty
        chain = [int(d.in_node[0, b])]
        while pred[chain[-1]] != n and pred[chain[-1]] >= 0:
            chain.append(int(pred[chain[-1]]))
        nodes = np.array(chain[::-1], dtype=np.int64)
        return total, b, nodes, self._edges_between(nodes[:-1], nodes[1:])

    def _direct_leg(self, o: Located, d: Located) -> tuple[float, int, float, float] | None:
        """Return (seconds, edge, from, to) for a trip along one road, if there is one."""
        if o.edge[0] < 0 or d.edge[0] < 0:
            return None
        best: tuple[float, int, float, float] | None = None
        for e, fo in (
            (int(o.edge[0]), o.along_frac[0]),
            (int(self.twin[o.edge[0]]), 1 - o.along_frac[0]),
        ):
            if e < 0 or not self.open[e]:
                continue
            if d.edge[0] == e:
                fd = d.along_frac[0]
            elif self.twin[d.edge[0]] == e:
                fd = 1 - d.along_frac[0]
            else:
                continue
            if fd < fo:
                continue
            idx = np.array([0])
            t = (
                (fd - fo) * self.time[e]
                + _walk(o, self.offroad_per_m, idx)[0]
                + _walk(d, self.offroad_per_m, idx)[0]
            )
            if best is None or t < best[0]:
                best = (float(t), e, float(fo), float(fd))
        return best

    def _edges_between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Return the cheapest open edge from each ``a`` to ``b``."""
        if len(a) == 0:
            return np.zeros(0, np.int64)
        key = self.u * self.n_nodes + self.v
        t = np.where(self.open, self.time, np.inf)
        order = np.lexsort((t, key))
        sk = key[order]
        want = a * self.n_nodes + b
        pos = np.searchsorted(sk, want)
        found = (pos < len(sk)) & (sk[np.minimum(pos, len(sk) - 1)] == want)
        if not found.all():
            msg = "route uses a node pair with no edge (graph and predecessors disagree)"
            raise EngineError(msg)
        return order[pos]

    def memory_bytes(self) -> int:
        """Return the bytes of the routing core this engine allocated.

        That is the CSR graph and its own per-edge arrays (travel time, open flag, twin).
        Edge endpoints and lengths are views into the network's table, not copies; the
        network's own size (tags, geometry, snapping index) is
        :meth:`geo.network.RoadNetwork.memory_bytes`.
        """
        g = self.graph
        own = g.data.nbytes + g.indices.nbytes + g.indptr.nbytes
        own += self.time.nbytes + self.open.nbytes + self.twin.nbytes
        return int(own)


# --------------------------------------------------------------------------- helpers


def _part(share: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Return the seconds for a share of an edge.

    A point exactly at a node costs 0 even where the edge is missing or closed (it *is*
    the node), rather than 0 x inf = NaN.
    """
    with np.errstate(invalid="ignore"):
        return np.where(share == 0, 0.0, share * seconds)


def _walk(loc: Located, per_m: float, idx: np.ndarray) -> np.ndarray:
    """Cost of the off-road legs of points ``idx`` (``per_m`` per metre of gap)."""
    if per_m == 0 or loc.snap is None:
        return np.zeros(len(idx))
    return np.nan_to_num(loc.snap.distance_m[idx]) * per_m


def _substring(net: RoadNetwork, edge: int, f0: float, f1: float) -> shapely.Geometry:
    from shapely.ops import substring

    line = shapely.LineString(net.coords[net.offsets[edge] : net.offsets[edge + 1]])
    return substring(line, f0, f1, normalized=True)


def _coords_of(geom: shapely.Geometry) -> np.ndarray:
    return np.asarray(shapely.get_coordinates(geom))


def _join(parts: list[np.ndarray]) -> shapely.LineString | None:
    pts = [p for p in parts if len(p)]
    if not pts:
        return None
    allp = np.vstack(pts)
    keep = np.ones(len(allp), dtype=bool)
    keep[1:] = np.any(allp[1:] != allp[:-1], axis=1)
    allp = allp[keep]
    if len(allp) < 2:
        allp = np.vstack([allp, allp])
    return shapely.LineString(allp)
