"""Hot and cold stretches of road: Gi* over road pieces of a network.

Every road of the area's road view (:class:`geo.network.Roads`: each two-way road once,
connected to the routing core or not) is cut into equal pieces (the "lixels" of network
density analysis) whose neighbours share an end point; incidents are placed with the
product's one snapper, and those beyond its limit are reported, not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal, cast

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from geo.errors import HotspotError
from geo.hotspots._checks import (
    FloatArray,
    IntArray,
    check_alpha,
    check_incidents,
    incident_xy,
    require_columns,
)
from geo.hotspots.evidence import (
    DEFAULT_MIN_COUNT,
    ROLES,
    check_evidence_columns,
    check_min_count,
    evidence_arrays,
    evidence_order,
    put_columns,
    ranked_table,
)
from geo.hotspots.gistar import check_gi_columns, getis_ord_gi_star, gi_arrays, quiet_units
from geo.network import RoadNetwork, Roads, SnapIndex
from geo.results import Result
from geo.validate import metric_crs, positive, same_crs

__all__ = ["RoadHotspots", "network_hotspots"]

#: Columns of :attr:`RoadHotspots.roads` besides the Gi* ones.
ROAD_COLUMNS: Final = (
    "edge",
    "piece",
    "n_pieces",
    "u",
    "v",
    "from_m",
    "to_m",
    "length_m",
    "count",
    "per_km",
    "geometry",
)


@dataclass(frozen=True, eq=False)
class RoadHotspots(Result):
    """Hot and cold stretches of road (see :func:`network_hotspots`).

    ``roads`` has one row per road piece (per road when ``segment_m`` is None). Of
    ``n_incidents``, ``n_snapped`` lay within ``max_snap_m`` of a road and are counted;
    ``n_unsnapped`` lay farther and are not. Gi* compared ``value`` (``"per_km"`` or
    ``"count"``) and ``significant`` is ``p_fdr <= alpha``. ``core`` marks pieces with
    at least ``min_count`` incidents of their own, significantly more than their length's
    share (after FDR at ``alpha``). ``class`` describes hot *areas*; the stretches to act
    on are the ``"hotspot core"`` ones, first in :meth:`ranked`.
    """

    roads: gpd.GeoDataFrame
    n_incidents: int
    n_snapped: int
    n_unsnapped: int
    max_snap_m: float
    segment_m: float | None
    value: Literal["per_km", "count"]
    alpha: float
    min_count: int = DEFAULT_MIN_COUNT
    n_quiet: int = 0

    _geometry_table: ClassVar[str | None] = "roads"

    def _check(self) -> None:
        """Raise unless the snapped incidents are the counted ones and the columns agree."""
        roads = self._frame("roads")
        if not isinstance(roads, gpd.GeoDataFrame):
            msg = f"RoadHotspots.roads must be a GeoDataFrame, got {type(roads).__name__}"
            raise HotspotError(msg)
        require_columns(roads, ROAD_COLUMNS, "RoadHotspots.roads")
        check_gi_columns(roads, self.alpha, "RoadHotspots.roads")
        if self.n_quiet < 0:
            msg = f"RoadHotspots n_quiet must be >= 0, got {self.n_quiet}"
            raise HotspotError(msg)
        check_evidence_columns(
            roads, self.alpha, self.min_count, "RoadHotspots.roads", complete=self.n_quiet == 0
        )
        if self.value not in ("per_km", "count"):
            msg = f"value must be 'per_km' or 'count', got {self.value!r}"
            raise HotspotError(msg)
        positive("max_snap_m", self.max_snap_m, HotspotError)
        if self.segment_m is not None:
            positive("segment_m", self.segment_m, HotspotError)
        counted = int(roads["count"].sum())
        if (
            min(self.n_snapped, self.n_unsnapped) < 0
            or self.n_snapped + self.n_unsnapped != self.n_incidents
            or counted != self.n_snapped
        ):
            msg = (
                f"RoadHotspots counts disagree: {self.n_snapped} snapped + "
                f"{self.n_unsnapped} unsnapped of {self.n_incidents} incidents, "
                f"{counted} counted on roads"
            )
            raise HotspotError(msg)

    @property
    def hot(self) -> gpd.GeoDataFrame:
        """Road pieces classed hot at any confidence level, in evidence order (:meth:`ranked`)."""
        r = self._frame("roads")
        return evidence_order(r[r["gi_bin"] > 0], "per_km")

    def ranked(self, *, everything: bool = False) -> gpd.GeoDataFrame:
        """Return the pieces with a ``role``, ranked by the evidence of their own incidents.

        Cores (pieces with enough incidents of their own) come first, then by own
        ``count``, then ``per_km``, then Gi* ``z``; a first column ``rank`` numbers them
        from 1. A piece without incidents is never a core, so it never ranks among
        them. ``everything=True`` ranks every piece, not only those with a role.
        """
        return cast(gpd.GeoDataFrame, ranked_table(self._frame("roads"), "per_km", everything))

    def _extra_meta(self) -> dict[str, Any]:
        roads = self._frame("roads")
        bins = roads["gi_bin"].to_numpy()
        roles = roads["role"].value_counts()
        return {
            "n_pieces": len(bins) + self.n_quiet,
            "n_quiet": self.n_quiet,
            "n_hot": int((bins > 0).sum()),
            "n_cold": int((bins < 0).sum()),
            "n_cores": int(roads["core"].sum()),
            "roles": {r: int(roles.get(r, 0)) for r in ROLES if r},
        }


def _piece_geometry(
    geoms: npt.NDArray[np.object_],
    n_pieces: IntArray,
    from_m: FloatArray,
    to_m: FloatArray,
    pieces: IntArray,
) -> npt.NDArray[np.object_]:
    """Cut roads into ``pieces``: LineStrings from ``from_m`` to ``to_m`` along their road."""
    n_roads = len(geoms)
    piece_road = np.repeat(np.arange(n_roads), n_pieces)
    first = np.concatenate([[0], np.cumsum(n_pieces)[:-1]])
    # Only the roads holding a piece wanted are read.
    wanted_road = np.zeros(n_roads, dtype=bool)
    wanted_road[piece_road[pieces]] = True
    roads = np.flatnonzero(wanted_road)
    coords = shapely.get_coordinates(geoms[roads])
    counts = shapely.get_num_coordinates(geoms[roads])
    v_road = np.repeat(roads, counts)
    step = np.zeros(len(coords))
    step[1:] = np.hypot(*np.diff(coords, axis=0).T)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    step[starts] = 0.0  # distance restarts on every road
    cum = np.cumsum(step)
    along = cum - np.repeat(cum[starts], counts)
    length = shapely.length(geoms)
    piece_len = np.where(n_pieces > 0, length / n_pieces, 0.0)
    k = np.minimum(
        np.floor(along / np.maximum(piece_len[v_road], 1e-12)), n_pieces[v_road] - 1
    ).astype(np.int64)
    # Vertices on a cut or at a road end are replaced by the interpolated cut points.
    inner = (along - k * piece_len[v_road] > 1e-9) & (along < length[v_road] - 1e-9)
    # Number the wanted pieces 0..m-1; a vertex of a piece not wanted is dropped.
    new_id = np.full(len(piece_road), -1, dtype=np.int64)
    new_id[pieces] = np.arange(len(pieces))
    v_piece = new_id[first[v_road] + k]
    inner &= v_piece >= 0
    at = geoms[piece_road[pieces]]
    start_pt = shapely.get_coordinates(shapely.line_interpolate_point(at, from_m[pieces]))
    end_pt = shapely.get_coordinates(shapely.line_interpolate_point(at, to_m[pieces]))
    m = len(pieces)
    pid = np.concatenate([np.arange(m), v_piece[inner], np.arange(m)])
    order_key = np.concatenate([np.full(m, -1.0), along[inner], np.full(m, np.inf)])
    xy = np.concatenate([start_pt, coords[inner], end_pt])
    order = np.lexsort((order_key, pid))
    return np.asarray(shapely.linestrings(xy[order], indices=pid[order]))


def network_hotspots(
    roads: Roads | RoadNetwork,
    incidents: gpd.GeoDataFrame,
    *,
    max_snap_m: float = 100.0,
    alpha: float = 0.05,
    segment_m: float | None = 200.0,
    value: Literal["per_km", "count"] = "per_km",
    snap: SnapIndex | None = None,
    min_count: int = DEFAULT_MIN_COUNT,
    keep_quiet: bool = True,
) -> RoadHotspots:
    """Find hot and cold stretches of road with Gi* over the road network.

    Parameters
    ----------
    roads
        The area's road view (:attr:`geo.area.Area.roads`), or a network, viewed whole.
    incidents
        Incident points in the network's CRS (another CRS raises: read them through
        the area, or reproject them first).
    max_snap_m
        Incidents farther than this from every road are not counted (and reported).
    alpha
        FDR level of the ``significant`` and ``core`` columns.
    segment_m
        Cut every road into equal pieces of at most this length (metres) and analyse
        the pieces; None analyses whole roads, one row per road. See Notes.
    snap
        The snap index of ``roads`` (:attr:`geo.area.Area.distances` holds one); built
        when not given.
    value
        What Gi* compares: ``"per_km"`` (the default), incidents per km of road, so a
        long piece does not look hot merely for being long; or ``"count"``.
    min_count
        Fewest incidents of its own a piece needs to be a core (default 2).
    keep_quiet
        False leaves quiet pieces (no incident of their own, no Gi* class, not
        significant) out of the table, counted in ``n_quiet``; the other rows are as
        with every piece (the FDR and the rate still run over all of them), and only
        their geometry is cut.

    Returns
    -------
    RoadHotspots
        ``roads``: one row per piece (per road when ``segment_m`` is None), in road
        order, in the network's CRS: ``edge`` (row of the road's forward edge in
        ``net.edges``), ``piece`` (0-based along the edge from ``u``), ``n_pieces``,
        ``u``, ``v``, ``osmid``, ``name``, ``highway``, ``lit``, ``from_m``, ``to_m``
        (along the edge), ``length_m``, ``count``, ``per_km``, then ``z``, ``p``,
        ``p_fdr``, ``significant``, ``class``, ``gi_bin``, the evidence of the piece's
        own count (``expected``: snapped incidents x the piece's share of the total road
        length; ``rate_ratio``: ``count / expected``; ``p_own``: exact one-sided Poisson
        p-value of the count; ``p_own_fdr``: its Benjamini-Hochberg adjustment over the
        pieces; ``core``: ``count >= min_count`` and ``p_own_fdr <= alpha``; ``role``, one
        of :data:`~geo.hotspots.ROLES`) and the piece geometry; with ``n_incidents``,
        ``n_snapped``, ``n_unsnapped`` (farther than ``max_snap_m`` from a road: not
        counted), ``max_snap_m``, ``segment_m``, ``value``, ``alpha`` and ``min_count``.

    Raises
    ------
    HotspotError
        If there are no incidents, a CRS is missing or not metric, the incidents are in
        another CRS than the network, ``max_snap_m``, ``segment_m``, ``alpha`` or
        ``min_count`` is out of range, or there are fewer than 3 pieces.

    Notes
    -----
    Neighbours are pieces sharing an end point (a node, or a cut between two pieces of
    one road), plus the piece itself: with ``segment_m=None``, roads sharing a node.
    Whole roads of a simplified network run from a hundred metres to several kilometres,
    so a cluster a few hundred metres long is diluted into a long road, and its Gi*
    neighbourhood (every road at either end) mixes in kilometres of quiet road; equal
    short pieces (the "lixels" of network density analysis, Okabe & Sugihara 2012,
    *Spatial Analysis Along Networks*) keep neighbourhoods comparable and locate the
    hot stretch itself.

    Gi* tests a piece together with its neighbours, so with sparse counts a piece with
    no incident beside a busy one is "hot 99%": ``class`` describes hot *areas*.
    ``core`` tests the piece's own count against the area's rate per km
    (:func:`~geo.hotspots.own_count_test`), and ``role`` combines the two: ``"hotspot
    core"`` (core and Gi* hot: act here), ``"part of a hot area"`` (Gi* hot, too few
    incidents of its own), ``"elevated"`` (core, Gi* not hot: an isolated excess) or
    ``""``. Pieces shorter than 1 m count as 1 m, in ``per_km`` and ``expected`` alike.
    """
    inc = check_incidents(incidents)
    snap_limit = positive("max_snap_m", max_snap_m, HotspotError)
    piece_max = None if segment_m is None else positive("segment_m", segment_m, HotspotError)
    a = check_alpha(alpha)
    k_min = check_min_count(min_count)
    if value not in ("per_km", "count"):
        msg = f"value must be 'per_km' or 'count', got {value!r}"
        raise HotspotError(msg)
    view = roads if isinstance(roads, Roads) else Roads.of(roads)
    net = view.net
    crs = metric_crs(net.crs, "road network", HotspotError)
    # Reprojecting here would hide incidents read with the wrong CRS until the hot roads
    # looked odd; the caller reprojects on purpose, or reads them through the area.
    same_crs(inc, crs, "incidents", HotspotError)
    x, y = incident_xy(inc, "incidents")
    e = net.edges.iloc[view.edge]
    geoms = view.geometry
    length = shapely.length(geoms)
    if piece_max is None:
        n_pieces = np.ones(len(view), dtype=np.int64)
    else:
        n_pieces = np.maximum(1, np.ceil(length / piece_max - 1e-9)).astype(np.int64)
    n_total = int(n_pieces.sum())
    if n_total < 3:
        msg = f"network hot spots need at least 3 road pieces, the network has {n_total}"
        raise HotspotError(msg)
    first = np.concatenate([[0], np.cumsum(n_pieces)[:-1]])
    piece_len = length / n_pieces
    piece_road = np.repeat(np.arange(len(view)), n_pieces)
    k = np.arange(n_total) - first[piece_road]
    from_m = k * piece_len[piece_road]
    to_m = np.where(
        k == n_pieces[piece_road] - 1, length[piece_road], from_m + piece_len[piece_road]
    )

    index = SnapIndex.of(view) if snap is None else snap
    if index.roads.net is not net and len(index.roads) != len(view):
        msg = "the snap index given is for another network"
        raise HotspotError(msg)
    placed = index.snap(x, y, max_distance_m=snap_limit)
    ok = ~placed.flagged
    assert placed.road is not None
    # The snapper places points on each road's own edge, so "along" runs from its u.
    road = placed.road[ok]
    along = placed.along_m[ok]
    k_inc = np.clip(
        np.floor(along / np.maximum(piece_len[road], 1e-12)), 0, n_pieces[road] - 1
    ).astype(np.int64)
    counts = np.bincount(first[road] + k_inc, minlength=n_total).astype(np.int64)
    seg_len = to_m - from_m
    per_km = counts / np.maximum(seg_len, 1.0) * 1000.0  # a 0 m edge must not divide by 0

    w = view.piece_contiguity(n_pieces)
    gi = gi_arrays(getis_ord_gi_star(per_km if value == "per_km" else counts, w), a)
    del w
    hot = gi["significant"].astype(bool) & (np.asarray(gi["z"], dtype=np.float64) > 0)
    evidence = evidence_arrays(counts, np.maximum(seg_len, 1.0), a, k_min, hot)
    quiet = quiet_units(counts, gi)
    rows = np.arange(n_total) if keep_quiet else np.flatnonzero(~quiet)
    at = piece_road[rows]
    geometry = (
        geoms[at] if piece_max is None else _piece_geometry(geoms, n_pieces, from_m, to_m, rows)
    )
    out = gpd.GeoDataFrame(
        {
            "road": at,
            "edge": view.edge[at],
            "piece": k[rows],
            "n_pieces": n_pieces[at],
            "u": e["u"].to_numpy()[at],
            "v": e["v"].to_numpy()[at],
            "osmid": e["osmid"].to_numpy()[at],
            "name": e["name"].to_numpy()[at] if "name" in e.columns else None,
            "highway": e["highway"].to_numpy()[at],
            "lit": e["lit"].to_numpy()[at],
            "from_m": from_m[rows],
            "to_m": to_m[rows],
            "length_m": seg_len[rows],
            "count": counts[rows],
            "per_km": per_km[rows],
        },
        geometry=geometry,
        crs=crs,
    )
    put_columns(out, gi, None if keep_quiet else rows)
    put_columns(out, evidence, None if keep_quiet else rows)
    return RoadHotspots(
        roads=out,
        n_incidents=len(x),
        n_snapped=int(ok.sum()),
        n_unsnapped=int((~ok).sum()),
        max_snap_m=snap_limit,
        segment_m=piece_max,
        value=value,
        alpha=a,
        min_count=k_min,
        n_quiet=0 if keep_quiet else int(quiet.sum()),
    )
