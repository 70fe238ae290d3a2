"""A briefing's village and team: finding them, the village's groups, officers, neighbours."""

from __future__ import annotations

from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.area import Area
from geo.errors import TeamError
from geo.teams._tables import (
    GROUP_COLUMNS,
    NEIGHBOUR_COLUMNS,
    OFFICER_COLUMNS,
    empty,
    features,
    missing,
    take,
)


class Found(NamedTuple):
    """A briefing's team and village, found in their layers."""

    team: pd.Series
    village: pd.Series
    row: int  # the village's position in the villages layer
    code: str
    shapes: gpd.GeoDataFrame  # every village's ground (Area.village_shapes)
    ground: shapely.Geometry  # the village's: its polygon, or its point
    kind: str  # "boundary" or "point"
    point: shapely.Point  # the village point (a point inside a polygon village)


def locate(area: Area, team_id: str, village_code: str) -> Found:
    """Return the team ``team_id`` and the village ``village_code``, or raise naming them."""
    teams = layer(area, "teams", "--teams FILE (or 'teams' in the area file)")
    villages = layer(area, "villages", "--villages FILE (or 'villages' in the area file)")
    t = find(teams, "id", team_id, "team id", "teams")
    v = find(villages, "code", village_code, "village code", "villages")
    vil = villages.iloc[v]
    code = str(vil["code"])
    shapes = area.village_shapes()
    ground = shapes.geometry.iloc[v]
    if missing(ground):
        msg = (
            f"village {code} ({vil['name']}) has no location: give the villages layer with "
            "coordinates (lon/lat or a geometry), or its polygon in a boundaries layer "
            "(--boundaries FILE)"
        )
        raise TeamError(msg)
    kind = "boundary" if shapely.get_type_id(ground) in (3, 6) else "point"
    own = villages.geometry.iloc[v]
    point = shapely.point_on_surface(ground if missing(own) else own)
    return Found(teams.iloc[t], vil, v, code, shapes, ground, kind, point)


def layer(area: Area, name: str, option: str) -> gpd.GeoDataFrame:
    """Return the area's layer ``name``, or raise naming the ``option`` that gives it."""
    gdf = getattr(area, name)
    if gdf is None or not len(gdf):
        msg = f"a briefing needs a {name} layer, and the area {area.name!r} has none: give {option}"
        raise TeamError(msg)
    assert isinstance(gdf, gpd.GeoDataFrame)
    return gdf


def find(gdf: gpd.GeoDataFrame, column: str, value: object, what: str, layer: str) -> int:
    """Return the row of ``value`` in ``column``, or raise naming it and some known ones."""
    keys = gdf[column].astype(str).to_numpy()
    hit = np.flatnonzero(keys == str(value))
    if not len(hit):
        shown = ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "")
        msg = f"no {what} {str(value)!r} in the {layer} layer: give one of its {column}s ({shown})"
        raise TeamError(msg)
    return int(hit[0])


def groups(area: Area, code: str) -> gpd.GeoDataFrame:
    """Return the village groups of village ``code``."""
    g = area.groups
    if g is None:
        return empty(GROUP_COLUMNS, area.crs)
    rows = np.flatnonzero(g["village_code"].astype(str).to_numpy() == code)
    return features(g, rows, GROUP_COLUMNS, area.crs)


def officers(area: Area, code: str, point: shapely.Point, notes: list[str]) -> gpd.GeoDataFrame:
    """Return the auxiliary officers of village ``code``, drawn at ``point`` without one."""
    off = area.officers
    if off is None:
        notes.append(
            "the area has no officers layer: the village's auxiliary officers are not known"
        )
        return empty(OFFICER_COLUMNS, area.crs)
    if "village_code" not in off.columns:
        msg = "the officers layer lacks column 'village_code'"
        raise TeamError(msg)
    rows = np.flatnonzero(off["village_code"].astype(str).to_numpy() == code)
    table = take(off, rows, OFFICER_COLUMNS)
    geom = np.asarray(off.geometry.to_numpy()[rows], dtype=object)
    own = ~np.asarray(shapely.is_missing(geom) | shapely.is_empty(geom), dtype=bool)
    table["located"] = np.where(own, "own", "village")
    geom[~own] = point
    if not len(rows):
        notes.append(f"no auxiliary officer of the officers layer serves village {code}")
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geom, crs=area.crs), crs=area.crs)


def _village_points(area: Area, shapes: gpd.GeoDataFrame) -> np.ndarray:
    """Return each village's point: the villages layer's (a point inside a polygon).

    A village located only by its boundary polygon gets a point inside that; one with
    no location at all gets None.
    """
    raw = np.asarray(area.require("villages").geometry.to_numpy(), dtype=object)
    gone = np.asarray(shapely.is_missing(raw) | shapely.is_empty(raw), dtype=bool)
    where = np.where(gone, np.asarray(shapes.geometry.to_numpy(), dtype=object), raw)
    return np.asarray(shapely.point_on_surface(where), dtype=object)


def neighbours(
    area: Area,
    shapes: gpd.GeoDataFrame,
    cells: gpd.GeoSeries,
    v: int,
    point: shapely.Point,
    touch_m: float,
    k: int,
) -> gpd.GeoDataFrame:
    """Return the villages whose cell touches village ``v``'s, else the ``k`` nearest.

    ``cells`` are every village's area (:meth:`geo.area.Area.village_cells`); two touch
    within ``touch_m``. Nearest first, by the straight line between the village points.
    """
    ground = np.asarray(cells.to_numpy(), dtype=object)
    has = np.flatnonzero(~np.asarray(shapely.is_missing(ground), dtype=bool))
    pts = _village_points(area, shapes)[has]
    others = has != v
    idx, pts = has[others], pts[others]
    if not len(idx):
        return empty(NEIGHBOUR_COLUMNS, area.crs)
    touch = np.asarray(shapely.dwithin(ground[idx], ground[v], touch_m), dtype=bool)
    km = np.asarray(shapely.distance(pts, point), dtype=float) / 1000.0
    pick = np.flatnonzero(touch)
    if not len(pick):
        pick = np.argsort(km, kind="stable")[:k]
    pick = pick[np.argsort(km[pick], kind="stable")]
    table = take(shapes, idx[pick], NEIGHBOUR_COLUMNS)
    table["code"] = table["code"].astype(str)
    table["km"] = km[pick]
    table["touches"] = touch[pick]
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(pts[pick], crs=area.crs), crs=area.crs)
