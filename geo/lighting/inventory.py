"""Road lighting inventory: km of road lit, unlit and unsurveyed per village and up.

Each road is cut by the Voronoi cells of the village points, so every metre of road goes
to the village point nearest to it (exact km, no whole-edge rounding). Every road of the
file counts, connected to the routing core or not: a dark road is dark whether or not a
car can drive a loop around it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import LightingError
from geo.lighting.inputs import as_roads, village_points, villages_layer
from geo.network import LIT_CLASSES, RoadNetwork, Roads
from geo.results import Result

__all__ = ["AREA_COLUMNS", "LitKmByArea", "lit_km_by_area"]

#: Columns a villages layer needs for km by area.
AREA_COLUMNS: Final = ("code", "name", "township_code", "township", "district_code", "district")


@dataclass(frozen=True, eq=False)
class LitKmByArea(Result):
    """Km of road by lighting class in each village, township and district.

    Attributes
    ----------
    village
        One row per village (input order): ``code``, ``name``, ``township_code``,
        ``township``, ``district_code``, ``district``, then ``yes_km``, ``no_km``,
        ``unknown_km``, ``road_km`` (their sum), ``dark_km`` (no + unknown) and
        ``lit_share`` (yes / road, 0 where a village has no road).
    township
        One row per ``township_code``: ``township``, ``district_code``, ``district``,
        ``villages`` and the same km columns.
    district
        One row per ``district_code``: ``district``, ``villages`` and the km columns.
    total
        Km per lighting class over the whole network (equal to each table's sum).
    pieces
        One row per piece of road in one village's cell: ``road`` (row of the road
        view), ``edge`` (its representative edge), ``village`` (row of the villages
        layer), ``lit``, ``length_m``.
    """

    village: pd.DataFrame
    township: pd.DataFrame
    district: pd.DataFrame
    total: Mapping[str, float]
    pieces: pd.DataFrame

    def _check(self) -> None:
        for level in ("village", "township", "district"):
            table = self._frame(level)
            for c in LIT_CLASSES:
                got = float(table[f"{c}_km"].sum())
                if abs(got - self.total[c]) > 1e-6 * max(1.0, self.total[c]):
                    msg = f"{level} {c}_km sums to {got:.6f}, not the network's {self.total[c]}"
                    raise LightingError(msg)

    def by_level(self) -> dict[str, pd.DataFrame]:
        """Return the three tables keyed ``"village"``, ``"township"``, ``"district"``."""
        return {"village": self.village, "township": self.township, "district": self.district}

    def _extra_meta(self) -> dict[str, object]:
        return {"road_km": float(sum(self.total.values()))}


def lit_km_by_area(roads: Roads | RoadNetwork, villages: gpd.GeoDataFrame) -> LitKmByArea:
    """Report km of road lit ``yes`` / ``no`` / ``unknown`` per village, township, district.

    Parameters
    ----------
    roads
        The area's road view (every road of the file, :attr:`geo.area.Area.roads`), or a
        network, viewed whole.
    villages
        Villages layer in the roads' CRS with the columns of :data:`AREA_COLUMNS`
        (as :func:`geo.layers.read_villages` gives them). Polygons are represented by a
        point inside them.

    Returns
    -------
    LitKmByArea
        The three tables, the network totals and the road pieces behind them.

    Raises
    ------
    LightingError
        If the layer has no CRS, another CRS than the network, lacks a column, has rows
        without geometry, or is empty.

    Notes
    -----
    Every road (each two-way road once) is clipped to the Voronoi cells of the village
    points, so each metre of road is assigned to the village point nearest to it in a
    straight line: a road running between two villages is split where it crosses the
    perpendicular bisector, not given whole to one of them. Piece lengths are rescaled
    per road to sum to ``length_m`` exactly (clipping loses only rounding, but the sums
    must match the network's totals). Villages sharing one point share its cell's km
    equally. A township or district is the sum of its villages (by their codes).
    """
    view = as_roads(roads)
    vil = villages_layer(villages, view, AREA_COLUMNS)
    x, y = village_points(vil)
    length = view.length_m
    lit = view.lit
    road_i, village_i, piece_m = _voronoi_pieces(view.geometry, length, x, y)
    pieces = pd.DataFrame(
        {
            "road": road_i,
            "edge": view.edge[road_i],
            "village": village_i,
            "lit": lit[road_i],
            "length_m": piece_m,
        }
    )
    km = (
        pieces.groupby(["village", "lit"])["length_m"]
        .sum()
        .unstack(fill_value=0)
        .reindex(index=np.arange(len(vil)), columns=list(LIT_CLASSES), fill_value=0.0)
        / 1000.0
    )
    base = pd.DataFrame({c: vil[c].to_numpy() for c in AREA_COLUMNS})
    base["code"] = base["code"].astype(str)
    for c in LIT_CLASSES:
        base[f"{c}_km"] = km[c].to_numpy(dtype=float)
    village = _km_columns(base)
    km_cols = [f"{c}_km" for c in LIT_CLASSES]
    town = village.groupby("township_code", sort=True, dropna=False).agg(
        township=("township", "first"),
        district_code=("district_code", "first"),
        district=("district", "first"),
        villages=("code", "size"),
        **{c: (c, "sum") for c in km_cols},
    )
    dist = village.groupby("district_code", sort=True, dropna=False).agg(
        district=("district", "first"),
        villages=("code", "size"),
        **{c: (c, "sum") for c in km_cols},
    )
    total: dict[str, float] = {c: float(length[lit == c].sum()) / 1000.0 for c in LIT_CLASSES}
    return LitKmByArea(
        village=village,
        township=_km_columns(town.reset_index()),
        district=_km_columns(dist.reset_index()),
        total=MappingProxyType(total),
        pieces=pieces,
    )


def _km_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Add road, dark and lit-share columns after the per-class km."""
    out = table.copy()
    out["road_km"] = out[[f"{c}_km" for c in LIT_CLASSES]].sum(axis=1)
    out["dark_km"] = out["no_km"] + out["unknown_km"]
    road = out["road_km"].to_numpy(dtype=float)
    yes = out["yes_km"].to_numpy(dtype=float)
    out["lit_share"] = np.divide(yes, road, out=np.zeros_like(road), where=road > 0)
    return out


def _voronoi_pieces(
    geoms: np.ndarray, length: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split roads by the Voronoi cells of points; return (road, point row, metres)."""
    xy = np.column_stack([x, y])
    uniq, inv = np.unique(xy, axis=0, return_inverse=True)
    inv = inv.ravel()
    pts = np.asarray(shapely.points(uniq), dtype=object)
    n_roads = len(geoms)
    if len(uniq) == 1:
        road_i = np.arange(n_roads)
        owner = np.zeros(n_roads, dtype=np.int64)
        piece = length.copy()
    else:
        lo = np.minimum(shapely.total_bounds(geoms)[:2], uniq.min(axis=0)) - 1000.0
        hi = np.maximum(shapely.total_bounds(geoms)[2:], uniq.max(axis=0)) + 1000.0
        if not n_roads:
            lo, hi = uniq.min(axis=0) - 1000.0, uniq.max(axis=0) + 1000.0
        frame = shapely.box(lo[0], lo[1], hi[0], hi[1])
        cells = np.asarray(
            shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=frame)),
            dtype=object,
        )
        tree = shapely.STRtree(cells)
        # A generator lies strictly inside its own cell, which names the cell's owner.
        p_of, c_of = tree.query(pts, predicate="within")
        cell_owner = np.full(len(cells), -1, dtype=np.int64)
        cell_owner[c_of] = p_of
        road_i, cell_i = tree.query(geoms, predicate="intersects")
        piece = np.asarray(shapely.length(shapely.intersection(geoms[road_i], cells[cell_i])))
        owner = cell_owner[cell_i]
        keep = (piece > 0) & (owner >= 0)
        road_i, owner, piece = road_i[keep], owner[keep], piece[keep]
        got = np.bincount(road_i, weights=piece, minlength=n_roads)
        # Roads on a cell boundary are counted in both cells; rescaling splits them evenly.
        piece = piece * (length[road_i] / got[road_i])
        lost = np.flatnonzero((got <= 0) & (length > 0))
        if len(lost):
            near = shapely.STRtree(pts).query_nearest(geoms[lost], all_matches=False)
            road_i = np.concatenate([road_i, lost[near[0]]])
            owner = np.concatenate([owner, near[1]])
            piece = np.concatenate([piece, length[lost[near[0]]]])
    # Villages sharing a point share its km equally.
    share = 1.0 / np.bincount(inv, minlength=len(uniq))
    members = pd.DataFrame({"point": inv, "village": np.arange(len(inv))})
    parts = pd.DataFrame({"road": road_i, "point": owner, "m": piece}).merge(members, on="point")
    return (
        parts["road"].to_numpy(dtype=np.int64),
        parts["village"].to_numpy(dtype=np.int64),
        parts["m"].to_numpy(dtype=float) * share[parts["point"].to_numpy()],
    )
