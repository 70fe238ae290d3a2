"""Snapping points to roads: the product's one snapper.

An STR-tree over the road lines (GEOS's, through shapely) answers the true nearest road
of every point, exactly. It replaced a KD-tree over points sampled every 50 m along the
roads: on the 250k-node grid that tree held 6.4M samples (100 MB) and took longer to
build (1.1-2.9 s) than the STR-tree takes (0.1 s), for queries no faster (50,000 points
in 1.0 s either way; on the real Guixi and Optics Valley extracts the STR-tree answered
in half the time, having no unsure candidates to settle). A point farther than the
limit is *flagged*: it is reported, never silently routed from or counted on a road.
The index (:class:`SnapIndex`) is built explicitly, once, by whoever owns the network
(the :class:`~geo.area.Area` through its engines), and never changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.errors import NetworkError
from geo.network.model import RoadNetwork
from geo.network.roads import Roads
from geo.results import Result

__all__ = ["SnapIndex", "SnapResult", "snap_geometries", "snap_points"]


@dataclass(frozen=True, eq=False)
class SnapResult(Result):
    """Where each point meets the road network.

    ``road`` is the nearest road (row of :class:`Roads`), ``edge`` its representative
    edge (row in ``RoadNetwork.edges``), ``along_m`` the distance from the edge's start
    to the foot of the perpendicular, ``distance_m`` the straight distance from the point
    to the road, ``node`` the nearer end of that edge (row in ``RoadNetwork.nodes``) and
    ``node_distance_m`` the distance along the road to it. ``flagged`` marks points
    farther than ``max_distance_m`` from any road (and rows without geometry): they are
    reported, never silently routed from.
    """

    edge: np.ndarray
    along_m: np.ndarray
    distance_m: np.ndarray
    node: np.ndarray
    node_distance_m: np.ndarray
    snapped_x: np.ndarray
    snapped_y: np.ndarray
    flagged: np.ndarray
    max_distance_m: float
    road: np.ndarray | None = None
    x: np.ndarray | None = None  # the points as given (network CRS), for direct legs
    y: np.ndarray | None = None

    def _check(self) -> None:
        n = len(self.edge)
        names = ["along_m", "distance_m", "node", "node_distance_m", "flagged"]
        if self.road is not None:
            names.append("road")
        for name in names:
            if len(getattr(self, name)) != n:
                msg = f"SnapResult.{name} has {len(getattr(self, name))} rows, expected {n}"
                raise NetworkError(msg)

    @property
    def n_flagged(self) -> int:
        """Points farther than the limit from every road (or without geometry)."""
        return int(np.count_nonzero(self.flagged))

    def _extra_meta(self) -> dict[str, object]:
        d = self.distance_m[np.isfinite(self.distance_m)]
        return {
            "points": len(self.edge),
            "flagged": self.n_flagged,
            "median_m": float(np.median(d)) if len(d) else None,
            "max_m": float(d.max()) if len(d) else None,
        }

    def _extra_tables(self) -> dict[str, pd.DataFrame]:
        return {"points": self.to_frame()}

    def to_frame(self) -> pd.DataFrame:
        """Return the snap results as a DataFrame, one row per point."""
        return pd.DataFrame(
            {
                "edge": self.edge,
                "along_m": self.along_m,
                "distance_m": self.distance_m,
                "node": self.node,
                "node_distance_m": self.node_distance_m,
                "snapped_x": self.snapped_x,
                "snapped_y": self.snapped_y,
                "flagged": self.flagged,
                "road": self.road if self.road is not None else -1,
            }
        )


@dataclass(frozen=True, eq=False)
class SnapIndex:
    """The spatial index of one network's roads, built once and read-only after.

    Build it with :meth:`of`; edited copies of a network (scenarios change tags, never
    geometry) reuse their base's index through :meth:`for_network`.
    """

    roads: Roads
    strtree: shapely.STRtree

    @classmethod
    def of(cls, where: RoadNetwork | Roads) -> SnapIndex:
        """Index the roads of a network (or of a :class:`Roads` view already built)."""
        roads = where if isinstance(where, Roads) else Roads.of(where)
        if len(roads) == 0:
            msg = "cannot snap to an empty network"
            raise NetworkError(msg)
        return cls(roads=roads, strtree=shapely.STRtree(roads.geometry))

    @property
    def net(self) -> RoadNetwork:
        """The network whose roads are indexed."""
        return self.roads.net

    def for_network(self, net: RoadNetwork) -> SnapIndex:
        """Return this index for an edited copy of its network (same edges and geometry)."""
        if net is self.roads.net:
            return self
        if net.coords is not self.roads.net.coords and not (
            len(net.coords) == len(self.roads.net.coords)
            and np.array_equal(net.offsets, self.roads.net.offsets)
        ):
            msg = "the snap index was built for another network; build one for this network"
            raise NetworkError(msg)
        return SnapIndex(
            roads=self.roads.with_network(net),
            strtree=self.strtree,
        )

    def snap(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        max_distance_m: float = 500.0,
    ) -> SnapResult:
        """Snap points (in the network's CRS) to the nearest road, exactly."""
        # inf is allowed: "the nearest road, however far" (flagging nothing).
        if not max_distance_m > 0:
            msg = f"max_distance_m must be positive, got {max_distance_m}"
            raise NetworkError(msg)
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if x.shape != y.shape or x.ndim != 1:
            msg = "x and y must be 1-D arrays of the same length"
            raise NetworkError(msg)
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            msg = "cannot snap points with missing or non-finite coordinates"
            raise NetworkError(msg)
        roads, geoms = self.roads, self.roads.geometry
        n = len(x)
        pts = np.asarray(shapely.points(x, y), dtype=object)
        hit, dist = self.strtree.query_nearest(pts, return_distance=True, all_matches=True)
        # Equally near roads (a point nearest a crossing) go to the lowest-numbered one,
        # so the answer does not depend on the tree's layout.
        order = np.lexsort((hit[1], hit[0]))
        first = order[np.unique(hit[0][order], return_index=True)[1]]
        road = np.zeros(n, dtype=np.int64)
        dmin = np.full(n, np.inf)
        road[hit[0][first]] = hit[1][first]
        dmin[hit[0][first]] = dist[first]
        g = geoms[road]
        along = shapely.line_locate_point(g, pts)
        snapped = shapely.line_interpolate_point(g, along)
        edge = roads.edge[road]
        e = roads.net.edges
        length = e["length_m"].to_numpy()[edge]
        # Edge length is summed per segment, so it equals the geometry length; clip for safety.
        along = np.clip(along, 0.0, length)
        to_v = length - along
        use_u = along <= to_v
        node = np.where(use_u, e["u"].to_numpy()[edge], e["v"].to_numpy()[edge])
        return SnapResult(
            edge=edge.astype(np.int64),
            along_m=along,
            distance_m=dmin,
            node=node.astype(np.int64),
            node_distance_m=np.where(use_u, along, to_v),
            snapped_x=shapely.get_x(snapped),
            snapped_y=shapely.get_y(snapped),
            flagged=dmin > max_distance_m,
            max_distance_m=float(max_distance_m),
            road=road,
            x=x,
            y=y,
        )

    def snap_geometries(
        self, geometry: gpd.GeoSeries, *, max_distance_m: float = 500.0
    ) -> SnapResult:
        """Snap a GeoSeries in the network's CRS (polygons by a point inside them).

        Rows with no geometry are flagged with NaN distances rather than dropped, so
        results stay aligned with the input rows. A layer in another CRS is an error:
        read it through the area, which reprojects on purpose.
        """
        gs = gpd.GeoSeries(geometry)
        if gs.crs is None:
            msg = "geometries to snap have no CRS"
            raise NetworkError(msg)
        if not pyproj.CRS.from_user_input(gs.crs).equals(self.net.crs):
            msg = (
                f"geometries to snap are in {gs.crs.to_string()}, the network in "
                f"{self.net.crs.to_string()}; reproject them first"
            )
            raise NetworkError(msg)
        missing = gs.isna().to_numpy() | gs.is_empty.to_numpy()
        pts = gs[~missing].representative_point()
        res = self.snap(pts.x.to_numpy(), pts.y.to_numpy(), max_distance_m=max_distance_m)
        if not missing.any():
            return res
        n = len(gs)

        def spread(arr: np.ndarray, fill: object) -> np.ndarray:
            out = np.full(n, fill, dtype=arr.dtype if fill is not np.nan else float)
            out[~missing] = arr
            return out

        assert res.road is not None
        return SnapResult(
            edge=spread(res.edge, -1),
            along_m=spread(res.along_m, np.nan),
            distance_m=spread(res.distance_m, np.nan),
            node=spread(res.node, -1),
            node_distance_m=spread(res.node_distance_m, np.nan),
            snapped_x=spread(res.snapped_x, np.nan),
            snapped_y=spread(res.snapped_y, np.nan),
            flagged=spread(res.flagged, True),
            max_distance_m=res.max_distance_m,
            road=spread(res.road, -1),
            x=spread(res.x, np.nan) if res.x is not None else None,
            y=spread(res.y, np.nan) if res.y is not None else None,
        )


def snap_points(
    net: RoadNetwork,
    x: np.ndarray,
    y: np.ndarray,
    *,
    max_distance_m: float = 500.0,
) -> SnapResult:
    """Snap points to ``net`` with a one-off index (see :meth:`SnapIndex.snap`).

    Building the index costs more than a snap; callers that snap repeatedly keep a
    :class:`SnapIndex` (an :class:`~geo.engine.Engine` owns one).
    """
    return SnapIndex.of(net).snap(x, y, max_distance_m=max_distance_m)


def snap_geometries(
    net: RoadNetwork, geometry: gpd.GeoSeries, *, max_distance_m: float = 500.0
) -> SnapResult:
    """Snap a GeoSeries to ``net`` with a one-off index (see :meth:`SnapIndex.snap_geometries`)."""
    return SnapIndex.of(net).snap_geometries(geometry, max_distance_m=max_distance_m)
