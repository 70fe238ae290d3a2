"""What a lamp is worth where it stands: its road's risk, and the people near it.

A lamp lights metres of its road. A metre is worth the road's risk score (so roads
nobody lives on still rank by risk) plus the households and night incidents near the
lamp, each weighted by its distance to the lamp (:func:`per_metre`). Households are
points with a count (:func:`homes`): the village groups (村民小组) when given, else a
village polygon's households spread evenly over the polygon, else the village point.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree

from geo.errors import LightingError
from geo.validate import point_xy, same_crs

__all__ = ["Homes", "Nearby", "People", "homes", "per_metre", "served", "worth_scale"]

#: A village polygon's households are spread over at most about this many grid points.
_MAX_POINTS = 400
_KINDS = ("groups", "polygon", "point")
_BASIS = {"groups": "village groups", "polygon": "village polygons", "point": "village points"}


@dataclass(frozen=True, eq=False)
class Homes:
    """Households as weighted points, the village each belongs to, and how they were placed.

    ``x``, ``y``, ``households`` and ``village`` (row of the villages table) are per
    point; ``kind`` (``"groups"``, ``"polygon"`` or ``"point"``) and ``area`` (the
    polygon, or None) are per village; ``basis`` says in words which way was used.
    """

    x: np.ndarray
    y: np.ndarray
    households: np.ndarray
    village: np.ndarray
    kind: np.ndarray
    area: np.ndarray
    basis: str


def homes(
    villages: gpd.GeoDataFrame,
    groups: gpd.GeoDataFrame | None,
    crs: pyproj.CRS,
    *,
    grid_m: float,
) -> Homes:
    """Place every village's households as points.

    Parameters
    ----------
    villages
        ``code``, ``households`` and geometry (polygon or point) per village, as
        :attr:`geo.lighting.RoadRisk.villages` holds them.
    groups
        Village groups: points (or areas, read at a point inside) with ``households``,
        in ``crs``. With a ``village_code`` column each group belongs to the village of
        that code; without, to the village whose polygon holds it (else the nearest).
        A village with at least one group is represented by its groups only.
    crs
        The roads' CRS.
    grid_m
        Spacing of the grid spreading a polygon's households (coarser for polygons so
        large that the grid would exceed about 400 points).

    Returns
    -------
    Homes
        The points, their villages, and the basis in words.

    Raises
    ------
    LightingError
        On a groups layer in another CRS, without or with bad ``households``, naming
        unknown village codes, or with rows without geometry.
    """
    n_v = len(villages)
    v_geom = villages.geometry.to_numpy()
    v_hh = villages["households"].to_numpy(dtype=float)
    # A degenerate polygon (no area) stands for a point.
    is_area = np.isin(shapely.get_type_id(v_geom), (3, 6)) & (shapely.area(v_geom) > 0)
    kind = np.where(is_area, "polygon", "point").astype(object)
    parts_x, parts_y, parts_h, parts_v = [], [], [], []
    if groups is not None:
        gx, gy, gh, gv = _groups(groups, villages, crs)
        kind[np.unique(gv)] = "groups"
        parts_x.append(gx)
        parts_y.append(gy)
        parts_h.append(gh)
        parts_v.append(gv)
    poly = np.flatnonzero(kind == "polygon")
    if len(poly):
        px, py, ph, pv = _spread(v_geom[poly], v_hh[poly], grid_m)
        parts_x.append(px)
        parts_y.append(py)
        parts_h.append(ph)
        parts_v.append(poly[pv])
    pts = np.flatnonzero(kind == "point")
    if len(pts):
        vx, vy = point_xy(v_geom[pts], "villages", LightingError)
        parts_x.append(vx)
        parts_y.append(vy)
        parts_h.append(v_hh[pts])
        parts_v.append(pts)
    counts = {k: int((kind == k).sum()) for k in _KINDS}
    used = [k for k in _KINDS if counts[k]]
    if len(used) == 1:
        basis = _BASIS[used[0]]
    else:
        words = [f"{_BASIS[k]} ({counts[k]} village{'s' if counts[k] != 1 else ''})" for k in used]
        basis = ", ".join(words[:-1]) + " and " + words[-1]
    area = np.full(n_v, None, dtype=object)
    area[is_area] = v_geom[is_area]
    return Homes(
        x=np.concatenate(parts_x),
        y=np.concatenate(parts_y),
        households=np.concatenate(parts_h),
        village=np.concatenate(parts_v).astype(np.int64),
        kind=kind,
        area=area,
        basis=basis,
    )


def _groups(
    groups: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, crs: pyproj.CRS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check the village-groups layer; return its points, households and villages."""
    same_crs(groups, crs, "village groups", LightingError)
    if "households" not in groups.columns:
        msg = "village groups layer lacks column 'households'"
        raise LightingError(msg)
    if len(groups) == 0:
        msg = "village groups layer is empty; pass None to use the villages layer"
        raise LightingError(msg)
    hh = pd.to_numeric(groups["households"], errors="coerce")
    bad = (hh.isna() | (hh < 0)).to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        msg = f"village groups column 'households' is missing or negative in rows {rows}"
        raise LightingError(msg)
    x, y = point_xy(groups.geometry, "village groups", LightingError)
    if "village_code" in groups.columns:
        codes = groups["village_code"].astype(str).str.strip().to_numpy()
        village = pd.Index(villages["code"].astype(str)).get_indexer(codes)
        if (village < 0).any():
            unknown = sorted(set(codes[village < 0]))[:5]
            msg = f"village groups name village code(s) {unknown} not in the villages layer"
            raise LightingError(msg)
    else:
        # The village whose polygon holds the group (distance 0), else the nearest one.
        found = shapely.STRtree(villages.geometry.to_numpy()).query_nearest(
            shapely.points(x, y), all_matches=False
        )
        village = np.zeros(len(x), dtype=np.int64)
        village[found[0]] = found[1]
    return x, y, hh.to_numpy(dtype=float), village.astype(np.int64)


def _spread(
    polys: np.ndarray, hh: np.ndarray, grid_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Spread each polygon's households evenly over a grid of points inside it.

    A polygon too small or thin to hold a grid point keeps its households at one point
    inside it.
    """
    b = shapely.bounds(polys)
    h = np.maximum(grid_m, np.sqrt(shapely.area(polys) / _MAX_POINTS))
    nx = np.maximum(np.ceil((b[:, 2] - b[:, 0]) / h), 1).astype(np.int64)
    ny = np.maximum(np.ceil((b[:, 3] - b[:, 1]) / h), 1).astype(np.int64)
    count = nx * ny
    owner = np.repeat(np.arange(len(polys)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    # The grid is centred on the bounds, so a symmetric polygon gets a symmetric grid.
    x0 = 0.5 * (b[:, 0] + b[:, 2]) - 0.5 * (nx - 1) * h
    y0 = 0.5 * (b[:, 1] + b[:, 3]) - 0.5 * (ny - 1) * h
    x = x0[owner] + (k % nx[owner]) * h[owner]
    y = y0[owner] + (k // nx[owner]) * h[owner]
    inside = shapely.contains_xy(polys[owner], x, y)
    owner, x, y = owner[inside], x[inside], y[inside]
    n_in = np.bincount(owner, minlength=len(polys))
    empty = np.flatnonzero(n_in == 0)
    if len(empty):
        rep = shapely.point_on_surface(polys[empty])
        owner = np.concatenate([owner, empty])
        x = np.concatenate([x, shapely.get_x(rep)])
        y = np.concatenate([y, shapely.get_y(rep)])
        n_in[empty] = 1
    return x, y, hh[owner] / n_in[owner], owner


@dataclass(frozen=True, eq=False)
class Nearby:
    """Per lamp position: the households and night incidents near it, raw and weighted.

    ``households`` counts the households within ``serve_m`` and ``incidents`` the night
    incidents within ``reach_m``; the ``*_weighted`` sums weigh each by ``1 - d / R``
    (``d`` its distance to the lamp, ``R`` the radius). ``home_m`` is the distance to
    the nearest household point at any distance (inf when there is none).
    """

    households: np.ndarray
    households_weighted: np.ndarray
    incidents: np.ndarray
    incidents_weighted: np.ndarray
    home_m: np.ndarray


@dataclass(frozen=True, eq=False)
class People:
    """The household points and night incidents, in search trees, for lamp positions.

    Built once (:meth:`of`) and asked for one block of positions after another
    (:meth:`near`), so the positions of millions of lamps never exist all at once.
    """

    homes: np.ndarray  # point objects of the household points with households
    households: np.ndarray  # their households
    incidents: np.ndarray  # point objects of the night incidents
    homes_tree: shapely.STRtree
    incidents_tree: shapely.STRtree
    # The nearest house of millions of lamp positions: a KD-tree answers it ten times
    # faster than the STR-tree, and homes are points.
    homes_kd: cKDTree | None

    @staticmethod
    def of(
        where: Homes,
        incidents: np.ndarray,
        *,
        only_near: tuple[np.ndarray, float, float] | None = None,
    ) -> People:
        """Index ``where`` and ``incidents`` (the night incidents' point geometries).

        ``only_near`` ``(lamps, serve_m, reach_m)`` keeps only the household points within
        ``serve_m`` and the incidents within ``reach_m`` of some of the ``lamps`` (point
        geometries): the sums of :meth:`near` for those lamps are the same, to the bit
        (the same points, in the same order), without trees over all the people, but
        ``home_m`` is then only the distance to the nearest point kept.
        """
        live = where.households > 0
        home_pts = np.asarray(shapely.points(where.x[live], where.y[live]), dtype=object)
        households = where.households[live]
        inc = np.asarray(incidents, dtype=object)
        if only_near is not None:
            lamps, serve_m, reach_m = only_near
            around = shapely.STRtree(lamps)
            # A metre to spare: the sums decide the radius again; this keeps every point
            # they can take.
            keep = np.unique(around.query(home_pts, predicate="dwithin", distance=serve_m + 1)[0])
            home_pts, households = home_pts[keep], households[keep]
            keep = np.unique(around.query(inc, predicate="dwithin", distance=reach_m + 1)[0])
            inc = inc[keep]
        return People(
            homes=home_pts,
            households=households,
            incidents=inc,
            homes_tree=shapely.STRtree(home_pts),
            incidents_tree=shapely.STRtree(inc),
            homes_kd=cKDTree(shapely.get_coordinates(home_pts)) if len(home_pts) else None,
        )

    def near(self, lamps: np.ndarray, *, serve_m: float, reach_m: float) -> Nearby:
        """Sum the households and night incidents near each lamp position (point objects).

        Give the positions a block at a time: no point object or pair outlives its block.
        """
        h_raw, h_w = _near(self.homes_tree, self.homes, self.households, lamps, serve_m)
        ones = np.ones(len(self.incidents))
        i_raw, i_w = _near(self.incidents_tree, self.incidents, ones, lamps, reach_m)
        home_m = np.full(len(lamps), np.inf)
        if self.homes_kd is not None and len(lamps):
            home_m = self.homes_kd.query(shapely.get_coordinates(lamps))[0]
        return Nearby(
            households=h_raw,
            households_weighted=h_w,
            incidents=i_raw,
            incidents_weighted=i_w,
            home_m=home_m,
        )


def _near(
    tree: shapely.STRtree, pts: np.ndarray, weight: np.ndarray, lamps: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per lamp: the weight of ``pts`` within ``radius`` and its distance-weighted sum.

    Each lamp adds its points in the order of ``pts``, so a sum does not depend on the
    block it is computed in.
    """
    lamp, src = tree.query(lamps, predicate="dwithin", distance=radius)
    order = np.lexsort((src, lamp))
    lamp, src = lamp[order], src[order]
    d = shapely.distance(pts[src], lamps[lamp])
    kernel = np.clip(1.0 - d / radius, 0.0, 1.0)
    raw = np.bincount(lamp, weights=weight[src], minlength=len(lamps))
    weighted = np.bincount(lamp, weights=weight[src] * kernel, minlength=len(lamps))
    return raw, weighted


def per_metre(
    score: np.ndarray,
    households: np.ndarray,
    incidents: np.ndarray,
    *,
    households_weight: float,
    incidents_weight: float,
    scale: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the worth of a lit metre at each lamp position, and its two people terms.

    ``score + households_weight * H / H_max + incidents_weight * I / I_max``, with ``H``
    and ``I`` the weighted sums of :class:`Nearby` (``households``, ``incidents``) and
    ``H_max``, ``I_max`` their largest values over all positions (1 where all are
    zero), so the position with the most households near it scores
    ``households_weight`` for them. ``scale`` gives ``(H_max, I_max)`` of all positions
    (:func:`worth_scale`) when these are some of them: each position's worth is then
    the same, to the bit, whichever others it is computed with.
    """
    h_max, i_max = worth_scale(households, incidents) if scale is None else scale
    h_term = households_weight * households / h_max
    i_term = incidents_weight * incidents / i_max
    return score + h_term + i_term, h_term, i_term


def worth_scale(households: np.ndarray, incidents: np.ndarray) -> tuple[float, float]:
    """Return ``(H_max, I_max)`` of :func:`per_metre`: the largest weighted sums, or 1."""
    h_max = float(households.max()) if len(households) and households.max() > 0 else 1.0
    i_max = float(incidents.max()) if len(incidents) and incidents.max() > 0 else 1.0
    return h_max, i_max


def served(where: Homes, lit: np.ndarray, serve_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Return per village the households within ``serve_m`` of the lit stretches ``lit``.

    Group and village points count whole when within ``serve_m``; a village polygon's
    households count in proportion to the share of its area within ``serve_m`` (they
    are spread evenly over it). Also returns, per village, the distance from its nearest
    household point (or polygon) to a lit stretch.
    """
    n_v = len(where.kind)
    households = np.zeros(n_v)
    distance = np.full(n_v, np.inf)
    if not len(lit):
        return households, distance
    tree = shapely.STRtree(lit)
    pts = np.asarray(shapely.points(where.x, where.y), dtype=object)
    which, d_found = tree.query_nearest(pts, return_distance=True, all_matches=False)
    d = np.full(len(pts), np.inf)
    d[which[0]] = d_found
    np.minimum.at(distance, where.village, d)
    whole = where.kind[where.village] != "polygon"
    ok = whole & (d <= serve_m)
    households += np.bincount(where.village[ok], weights=where.households[ok], minlength=n_v)
    poly = np.flatnonzero(where.kind == "polygon")
    if len(poly):
        areas = where.area[poly]
        # Fine arcs: the share is an area, and 8 segments a quarter circle lose 0.3 %.
        reach = shapely.buffer(shapely.union_all(lit), serve_m, quad_segs=64)
        total = shapely.area(areas)
        near = shapely.area(shapely.intersection(areas, reach))
        share = near / total
        village_hh = np.bincount(where.village, weights=where.households, minlength=n_v)
        households[poly] = village_hh[poly] * share
        distance[poly] = shapely.distance(areas, shapely.union_all(lit))
    return households, distance
