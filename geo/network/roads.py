"""The road view: every road once, whatever its direction.

A two-way road is two directed edges of a :class:`~geo.network.RoadNetwork`; counting,
drawing and snapping want it once. :class:`Roads` is that view, built once per network
by its owner (the :class:`~geo.area.Area`): the representative edge of each road
(:func:`~geo.network.model.road_edges`), its twin, one geometry per road, and, when the
view is of the all-roads network, where the road sits in the routing core (``-1`` where
a car cannot drive a loop through it). Lighting, hot roads, scenarios, maps and reports
all read roads here, so they count the same kilometres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from geo.errors import NetworkError
from geo.network.model import RoadNetwork, edge_twins, road_edges
from geo.network.tags import LIT_CLASSES

__all__ = ["Roads"]


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Roads:
    """Every road of ``net`` once, with its edges, geometry and place in the routing core.

    Attributes
    ----------
    net
        The network viewed (for the area's inventory: every road of the mode, all
        components).
    edge
        Per road, its representative edge (row of ``net.edges``): the forward direction
        of a two-way road, the only edge of a one-way road. Geometry runs from that
        edge's ``u`` to its ``v``.
    twin
        Per road, the other direction's edge, -1 for a one-way road.
    geometry
        Per road, one LineString (working CRS), shared by both directions.
    routing_edge, routing_twin
        Per road, the same two edges in the routing network (the largest strongly
        connected component), -1 where the road is not part of it. For a view of the
        routing network itself they equal ``edge`` and ``twin``.
    road_of_edge
        Per edge of ``net``, the road it belongs to.
    """

    net: RoadNetwork
    edge: np.ndarray
    twin: np.ndarray
    geometry: np.ndarray
    routing_edge: np.ndarray
    routing_twin: np.ndarray
    road_of_edge: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.edge)
        for name in ("twin", "geometry", "routing_edge", "routing_twin"):
            if len(getattr(self, name)) != n:
                msg = f"Roads.{name} has {len(getattr(self, name))} rows for {n} roads"
                raise NetworkError(msg)
        if len(self.road_of_edge) != len(self.net.edges):
            msg = "Roads.road_of_edge must have one entry per edge of the network"
            raise NetworkError(msg)

    @classmethod
    def of(cls, net: RoadNetwork, *, routing: RoadNetwork | None = None) -> Roads:
        """Build the view of ``net``; ``routing`` is the routing core it contains.

        Without ``routing`` the view is of a routing network itself. With it, each road
        is found in the core by its end nodes' OSM ids and its key (the build numbers
        parallel edges the same way in both, because an edge whose two ends are in the
        core is in the core).
        """
        edge = road_edges(net)
        twin = edge_twins(net).astype(np.int64)[edge]
        xy, owner = net.edge_coords(edge)
        geometry = np.asarray(shapely.linestrings(xy, indices=owner), dtype=object)
        road_of_edge = np.full(len(net.edges), -1, dtype=np.int64)
        road_of_edge[edge] = np.arange(len(edge))
        has = twin >= 0
        road_of_edge[twin[has]] = np.flatnonzero(has)
        if routing is None:
            r_edge, r_twin = edge, twin
        else:
            mapping = _edge_mapping(net, routing)
            r_edge = mapping[edge]
            r_twin = np.where(has, mapping[np.maximum(twin, 0)], -1)
        return cls(
            net=net,
            edge=_readonly(edge.astype(np.int64)),
            twin=_readonly(twin),
            geometry=_readonly(geometry),
            routing_edge=_readonly(r_edge.astype(np.int64)),
            routing_twin=_readonly(r_twin.astype(np.int64)),
            road_of_edge=_readonly(road_of_edge),
        )

    def with_network(self, net: RoadNetwork) -> Roads:
        """Return the same view over an edited copy of the network (same edges, new tags).

        Scenario edits change lighting or travel times, never geometry, so the geometry
        and the road/edge bookkeeping are shared.
        """
        if len(net.edges) != len(self.net.edges) or not np.array_equal(
            net.edges["u"].to_numpy(), self.net.edges["u"].to_numpy()
        ):
            msg = "Roads.with_network needs a network with the same edges"
            raise NetworkError(msg)
        return Roads(
            net=net,
            edge=self.edge,
            twin=self.twin,
            geometry=self.geometry,
            routing_edge=self.routing_edge,
            routing_twin=self.routing_twin,
            road_of_edge=self.road_of_edge,
        )

    # ------------------------------------------------------------ columns

    def __len__(self) -> int:
        return len(self.edge)

    def _column(self, name: str) -> np.ndarray:
        return _readonly(self.net.edges[name].to_numpy()[self.edge])

    @property
    def u(self) -> np.ndarray:
        """Start node of each road's representative edge."""
        return self._column("u").astype(np.int64)

    @property
    def v(self) -> np.ndarray:
        """End node of each road's representative edge."""
        return self._column("v").astype(np.int64)

    @property
    def length_m(self) -> np.ndarray:
        """Length of each road in metres."""
        return self._column("length_m").astype(float)

    @property
    def lit(self) -> np.ndarray:
        """Lighting class of each road: ``yes``, ``no`` or ``unknown``."""
        return self._column("lit")

    @property
    def highway(self) -> np.ndarray:
        """OSM ``highway`` class of each road."""
        return self._column("highway")

    @property
    def routable(self) -> np.ndarray:
        """Whether each road is part of the routing core."""
        return _readonly(self.routing_edge >= 0)

    def directed_edges(self, roads: Sequence[int] | np.ndarray) -> np.ndarray:
        """Return the edges of ``net`` (both directions) of the given roads, sorted."""
        r = np.asarray(roads, dtype=np.int64)
        tw = self.twin[r]
        return np.unique(np.concatenate([self.edge[r], tw[tw >= 0]]))

    def routing_edges(self, roads: Sequence[int] | np.ndarray) -> np.ndarray:
        """Return the routing network's edges (both directions) of the roads that have any."""
        r = np.asarray(roads, dtype=np.int64)
        both = np.concatenate([self.routing_edge[r], self.routing_twin[r]])
        return np.unique(both[both >= 0])

    def incidence(self) -> sparse.csr_array:
        """Return the node x road incidence matrix (1 where a road ends at a node)."""
        n_roads = len(self.edge)
        ends = np.concatenate([self.u, self.v])
        road = np.concatenate([np.arange(n_roads), np.arange(n_roads)])
        m = sparse.csr_array(
            (np.ones(len(ends)), (ends, road)), shape=(len(self.net.nodes), n_roads)
        )
        m.data[:] = 1.0  # a loop road touches its node once
        return m

    def piece_contiguity(self, n_pieces: np.ndarray) -> sparse.csr_array:
        """Return which road pieces touch, when each road is cut into ``n_pieces`` pieces.

        Pieces are numbered road by road from each road's ``u`` end. Two pieces are
        neighbours when they share an end point: consecutive pieces of one road, and the
        end pieces of roads meeting at a node (through a piece x node incidence matrix).
        The diagonal is 1 (each piece touches itself).
        """
        n_pieces = np.asarray(n_pieces, dtype=np.int64)
        if n_pieces.shape != (len(self.edge),) or (n_pieces < 1).any():
            msg = "n_pieces must give every road at least one piece"
            raise NetworkError(msg)
        n_total = int(n_pieces.sum())
        first = np.concatenate([[0], np.cumsum(n_pieces)[:-1]])
        last = first + n_pieces - 1
        n_roads = len(self.edge)
        inc = sparse.csr_array(
            (
                np.ones(2 * n_roads),
                (np.concatenate([first, last]), np.concatenate([self.u, self.v])),
            ),
            shape=(n_total, len(self.net.nodes)),
        )
        at_node = sparse.csr_array(inc @ inc.T)
        piece = np.arange(n_total)
        chained = np.flatnonzero(~np.isin(piece, last))  # every piece but a road's last
        chain = sparse.csr_array(
            (np.ones(len(chained)), (chained, chained + 1)), shape=(n_total, n_total)
        )
        adj = sparse.csr_array(at_node + chain + chain.T)
        adj.data[:] = 1.0
        return adj

    def lit_km(self, mask: np.ndarray | None = None) -> dict[str, float]:
        """Return km of road per lighting class (optionally of the roads in ``mask``)."""
        km = self.length_m / 1000.0
        lit = self.lit
        sel = np.ones(len(km), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        return {c: float(km[sel & (lit == c)].sum()) for c in LIT_CLASSES}

    def frame(self) -> gpd.GeoDataFrame:
        """Return one row per road (a new GeoDataFrame in the network's CRS).

        Columns: ``road``, ``edge``, ``twin``, ``routing_edge``, the edge's attributes
        (``osmid``, ``osm_ways``, ``name``, ``highway``, ``lit``, ``surface``,
        ``length_m``, ...) and ``routable``.
        """
        e = self.net.edges.iloc[self.edge].reset_index(drop=True)
        drop = [c for c in ("u", "v", "key", "reversed") if c in e.columns]
        out = pd.concat(
            [
                pd.DataFrame(
                    {
                        "road": np.arange(len(self.edge)),
                        "edge": self.edge,
                        "twin": self.twin,
                        "routing_edge": self.routing_edge,
                        "u": e["u"].to_numpy(),
                        "v": e["v"].to_numpy(),
                    }
                ),
                e.drop(columns=drop),
            ],
            axis=1,
        )
        out["routable"] = self.routing_edge >= 0
        return gpd.GeoDataFrame(out, geometry=np.asarray(self.geometry), crs=self.net.crs)


def _edge_mapping(net: RoadNetwork, routing: RoadNetwork) -> np.ndarray:
    """Return, per edge of ``net``, the same edge in ``routing`` (-1 where it is absent)."""
    if not net.crs.equals(routing.crs):
        msg = "the all-roads network and the routing network have different CRSs"
        raise NetworkError(msg)

    def keys(n: RoadNetwork) -> pd.DataFrame:
        osm = n.nodes["osmid"].to_numpy()
        return pd.DataFrame(
            {
                "a": osm[n.edges["u"].to_numpy()],
                "b": osm[n.edges["v"].to_numpy()],
                "k": n.edges["key"].to_numpy(),
            }
        )

    left = keys(net).reset_index(names="i")
    right = keys(routing).reset_index(names="j")
    m = left.merge(right, on=["a", "b", "k"], how="left")
    out = m["j"].fillna(-1).to_numpy(dtype=np.int64)
    return out[np.argsort(m["i"].to_numpy(), kind="stable")]
