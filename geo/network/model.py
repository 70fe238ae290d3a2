"""The road network as arrays: nodes, directed edges, geometry, and what was dropped.

A :class:`RoadNetwork` is plain, immutable data: tables and flat coordinate arrays in a
metric CRS, everything computed when it is built, so one object can be shared by the
threads of a server or shipped to a worker. Views that cost memory (edge geometry,
snapping indexes, the per-road view) are built explicitly by their owners.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.errors import NetworkError
from geo.network.tags import LIT_CLASSES, Mode
from geo.results import Result

__all__ = [
    "DroppedComponent",
    "DroppedReport",
    "NetworkSummary",
    "RoadNetwork",
    "SourceInfo",
    "edge_twins",
    "road_edges",
]


@dataclass(frozen=True)
class DroppedComponent:
    """A piece of road cut off from the main network (not strongly connected to it)."""

    nodes: int
    edges: int
    road_km: float
    lon: float
    lat: float


@dataclass(frozen=True)
class DroppedReport:
    """What keeping the largest strongly connected component removed."""

    components: int
    nodes: int
    edges: int
    road_km: float
    largest: tuple[DroppedComponent, ...] = ()


@dataclass(frozen=True)
class SourceInfo:
    """Where a network came from, and how its reading went.

    ``kind`` is ``"osm"`` for an OSM file and ``"lines"`` for a GIS line layer of roads
    (whose data is not OpenStreetMap's unless its owner says so); ``ways_read`` counts
    the layer's line parts for the latter.
    """

    path: str
    sha256: str
    ways_read: int
    ways_trimmed: int
    from_cache: bool = False
    kind: str = "osm"


@dataclass(frozen=True, eq=False)
class NetworkSummary(Result):
    """Counts a planner reads first: size, road length by lighting, what was dropped."""

    mode: str
    crs: str
    nodes: int
    edges: int
    road_km: float
    directed_km: float
    lit_km: dict[str, float]
    highway_km: dict[str, float]
    dropped: DroppedReport
    source: SourceInfo

    def _check(self) -> None:
        if abs(sum(self.lit_km.values()) - self.road_km) > 1e-2 + 1e-6 * self.road_km:
            msg = "road km by lighting class must add up to the road km"
            raise NetworkError(msg)


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A directed road graph for one travel mode, as arrays in a metric CRS.

    ``nodes`` columns: ``osmid``, ``x``, ``y`` (working CRS, metres), ``lon``, ``lat``.
    ``edges`` columns: ``u``, ``v`` (row positions in ``nodes``), ``key``, ``osmid`` (the
    first OSM way of the edge), ``osm_ways`` (every way along it, ``;``-separated),
    ``highway``, ``name``, ``lit`` (yes/no/unknown),
    ``lit_raw``, ``surface``, ``maxspeed_kmh``, ``oneway``, ``reversed`` (the backward
    twin of a two-way road; excluded when counting road km), ``length_m``,
    ``time_car_s``, ``time_motorbike_s``, ``time_foot_s`` (NaN where that mode may not
    use the road) and ``travel_time_s`` (this network's mode). An edge's geometry is
    ``coords[offsets[i]:offsets[i + 1]]``, in road order from ``u`` to ``v``.
    """

    mode: Mode
    crs: pyproj.CRS
    nodes: pd.DataFrame
    edges: pd.DataFrame
    coords: np.ndarray
    offsets: np.ndarray
    dropped: DroppedReport
    source: SourceInfo
    twin: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        n_nodes, n_edges = len(self.nodes), len(self.edges)
        if len(self.offsets) != n_edges + 1 or (n_edges and self.offsets[-1] != len(self.coords)):
            msg = "edge geometry offsets do not match the edge table"
            raise NetworkError(msg)
        if n_edges and (self.edges["u"].max() >= n_nodes or self.edges["v"].max() >= n_nodes):
            msg = "edge endpoints refer to nodes outside the node table"
            raise NetworkError(msg)
        # Twins are fixed by the geometry, computed once here (or read from the cache)
        # rather than filled in later, so the object never changes after construction.
        if self.twin is None:
            object.__setattr__(self, "twin", _twins(self))
        twin = np.asarray(self.twin, dtype=np.int32)
        if twin.shape != (n_edges,):
            msg = f"twin has {twin.shape} entries for {n_edges} edges"
            raise NetworkError(msg)
        twin.setflags(write=False)
        object.__setattr__(self, "twin", twin)

    # ----------------------------------------------------------------- views

    @property
    def edge_geometry(self) -> np.ndarray:
        """Edge LineStrings (shapely array, working CRS), built anew on each call.

        Kept for small views and checks; analyses draw and count roads through
        :class:`geo.network.Roads`, which builds one geometry per road once.
        """
        counts = np.diff(self.offsets)
        idx = np.repeat(np.arange(len(counts)), counts)
        return np.asarray(shapely.linestrings(self.coords, indices=idx), dtype=object)

    def edge_coords(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the polylines of ``edges`` as (coordinates, owner), in ``edges`` order.

        ``owner[i]`` is the position in ``edges`` of coordinate ``i``, the ``indices`` of
        :func:`shapely.linestrings`.
        """
        edges = np.asarray(edges, dtype=np.int64)
        counts = np.diff(self.offsets)[edges]
        starts = self.offsets[:-1][edges]
        take = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
        return self.coords[take], np.repeat(np.arange(len(edges)), counts)

    def memory_bytes(self) -> int:
        """Bytes of the node and edge tables and the geometry arrays (not the caches)."""
        return int(
            self.coords.nbytes
            + self.offsets.nbytes
            + self.nodes.memory_usage(deep=True).sum()
            + self.edges.memory_usage(deep=True).sum()
        )

    def edges_gdf(self, *, wgs84: bool = False) -> pd.DataFrame:
        """Return the edges as a GeoDataFrame (working CRS, or WGS84 for output)."""
        import geopandas as gpd

        gdf = gpd.GeoDataFrame(
            self.edges.assign(edge_id=np.arange(len(self.edges))),
            geometry=self.edge_geometry,
            crs=self.crs,
        )
        return gdf.to_crs(4326) if wgs84 else gdf

    def nodes_gdf(self) -> pd.DataFrame:
        """Return the nodes as a GeoDataFrame in the working CRS."""
        import geopandas as gpd

        geom = shapely.points(self.nodes["x"].to_numpy(), self.nodes["y"].to_numpy())
        return gpd.GeoDataFrame(self.nodes.copy(), geometry=geom, crs=self.crs)

    def to_networkx(self) -> nx.MultiDiGraph:
        """Return an osmnx-style MultiDiGraph (node ids are OSM ids; projected CRS).

        Meant for small views and checks against networkx; the travel-time engine works
        on the arrays directly.
        """
        G = nx.MultiDiGraph(crs=self.crs.to_string(), mode=self.mode)
        osmid = self.nodes["osmid"].to_numpy()
        G.add_nodes_from(
            (int(o), {"x": float(x), "y": float(y), "lon": float(lo), "lat": float(la)})
            for o, x, y, lo, la in zip(
                osmid,
                self.nodes["x"].to_numpy(),
                self.nodes["y"].to_numpy(),
                self.nodes["lon"].to_numpy(),
                self.nodes["lat"].to_numpy(),
                strict=True,
            )
        )
        records = self.edges.to_dict("records")
        geoms = self.edge_geometry
        G.add_edges_from(
            (
                int(osmid[r["u"]]),
                int(osmid[r["v"]]),
                int(r["key"]),
                {**r, "edge_id": i, "geometry": geoms[i]},
            )
            for i, r in enumerate(records)
        )
        return G

    def summary(self) -> NetworkSummary:
        """Count nodes, edges and km of road by lighting class and road class."""
        e = self.edges
        road = np.zeros(len(e), dtype=bool)
        road[road_edges(self)] = True
        km = e["length_m"].to_numpy() / 1000.0
        lit_km: dict[str, float] = {
            c: round(float(km[road & (e["lit"] == c).to_numpy()].sum()), 3) for c in LIT_CLASSES
        }
        hw = pd.Series(km[road]).groupby(e["highway"].to_numpy()[road]).sum()
        return NetworkSummary(
            mode=self.mode,
            crs=self.crs.to_string(),
            nodes=len(self.nodes),
            edges=len(e),
            road_km=round(float(km[road].sum()), 3),
            directed_km=round(float(km.sum()), 3),
            lit_km=lit_km,
            highway_km={str(k): round(float(v), 3) for k, v in hw.sort_values().items()},
            dropped=self.dropped,
            source=self.source,
        )


def edge_twins(net: RoadNetwork) -> np.ndarray:
    """Return, per edge, the edge running the same road the other way (-1 if one-way)."""
    assert net.twin is not None
    return net.twin


def road_edges(net: RoadNetwork) -> np.ndarray:
    """Return the edge that stands for each road: every road once, whatever its direction.

    A two-way road is two directed edges, twins; the pair is one road, represented by its
    edge with ``reversed`` False (the build guarantees each pair has exactly one), and by
    the lower row should a pair ever have none. A one-way road is its only edge. This is
    the one definition of "a road" that counting, drawing and snapping share.
    """
    e = net.edges
    twin = edge_twins(net).astype(np.int64)
    n = len(e)
    score = e["reversed"].to_numpy(dtype=np.int64) * (n + 1) + np.arange(n)
    has = twin >= 0
    own = np.ones(n, dtype=bool)
    own[has] = score[has] < score[twin[has]]
    return np.flatnonzero(own)


def _twins(net: RoadNetwork) -> np.ndarray:
    """Pair each edge with the edge running the same road the other way (-1 if none).

    Twins have swapped end nodes, the same length and the same midpoint (which tells
    parallel roads between two nodes apart). Neither ``osmid`` nor ``reversed`` can
    pair them: a merged edge takes the way id of its first segment, so the two
    directions of a road chained from several ways may carry different ids.
    """
    e = net.edges
    mx, my = _midpoints(net.coords, net.offsets)
    key = pd.DataFrame(
        {
            "i": np.arange(len(e)),
            "u": e["u"].to_numpy(),
            "v": e["v"].to_numpy(),
            "len": np.round(e["length_m"].to_numpy(dtype=np.float64), 2),
            "mx": np.round(mx, 1),
            "my": np.round(my, 1),
        }
    )
    back = key.rename(columns={"u": "v", "v": "u", "i": "j"})
    pairs = key.merge(back, on=["u", "v", "len", "mx", "my"])
    pairs = pairs[pairs["i"] != pairs["j"]].drop_duplicates("i")
    # int32 is plenty (2 billion edges) and halves the array a province-size engine keeps.
    twin = np.full(len(e), -1, dtype=np.int32)
    twin[pairs["i"].to_numpy()] = pairs["j"].to_numpy()
    return twin


def _midpoints(coords: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the point halfway along each edge's polyline, for all edges at once."""
    n = len(offsets) - 1
    if n == 0:
        return np.zeros(0), np.zeros(0)
    seg = np.hypot(*np.diff(coords, axis=0).T) if len(coords) > 1 else np.zeros(0)
    owner = np.repeat(np.arange(n), np.diff(offsets))
    seg = np.where(owner[:-1] == owner[1:], seg, 0.0)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    start, end = offsets[:-1], offsets[1:] - 1
    half = 0.5 * (cum[start] + cum[end])
    k = np.searchsorted(cum, half, side="right") - 1
    k = np.clip(k, start, np.maximum(end - 1, start))
    nxt = np.minimum(k + 1, end)
    step = cum[nxt] - cum[k]
    t = np.divide(half - cum[k], step, out=np.zeros(n), where=step > 0)
    p = coords[k] + (coords[nxt] - coords[k]) * t[:, None]
    return p[:, 0], p[:, 1]
