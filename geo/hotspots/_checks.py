"""Input checks the hot spot analyses share: incidents, study region, grid size, alpha.

The generic checks (numbers, CRSs, point coordinates) are :mod:`geo.validate`'s; what is
here is specific to hot spots: incidents must be a non-empty point layer (a count per
cell or road needs places, not areas), and a study region is given by bounds or an area
polygon in the incidents' CRS. Package-internal: nothing here is re-exported.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TypeAlias

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely

from geo.errors import HotspotError
from geo.validate import fraction, metric_crs, point_xy

__all__ = [
    "AreaLike",
    "BoolArray",
    "Bounds",
    "FloatArray",
    "IntArray",
    "area_geometry",
    "check_alpha",
    "check_bounds",
    "check_incidents",
    "incident_xy",
    "require_columns",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
Bounds: TypeAlias = tuple[float, float, float, float]
AreaLike: TypeAlias = shapely.Geometry | gpd.GeoSeries | gpd.GeoDataFrame


def check_alpha(alpha: object) -> float:
    """Return ``alpha`` as a float strictly between 0 and 1, or raise."""
    return fraction("alpha", alpha, HotspotError, open_low=True, open_high=True)


def check_incidents(incidents: object) -> gpd.GeoDataFrame:
    """Return ``incidents`` if it is a non-empty GeoDataFrame in a metric CRS, or raise."""
    if not isinstance(incidents, gpd.GeoDataFrame):
        msg = f"incidents must be a GeoDataFrame, got {type(incidents).__name__}"
        raise HotspotError(msg)
    if len(incidents) == 0:
        msg = "no incidents to analyse (the incident set is empty)"
        raise HotspotError(msg)
    metric_crs(incidents.crs, "incidents", HotspotError)
    return incidents


def incident_xy(
    points: gpd.GeoDataFrame | gpd.GeoSeries, what: str
) -> tuple[FloatArray, FloatArray]:
    """Return x, y of a point layer; any other geometry raises, naming its first row.

    :func:`geo.validate.point_xy` would stand a polygon in for a point inside it; an
    incident buffered into a disc is a mistake upstream, so here only points count.
    """
    geom = np.asarray(points.geometry.array if isinstance(points, gpd.GeoDataFrame) else points)
    kinds = shapely.get_type_id(geom)
    other = kinds > 0  # 0 is a Point; -1 (missing) is left to point_xy's message
    if other.any():
        first = int(np.flatnonzero(other)[0])
        msg = f"{what} must all be points; row {first} holds {geom[first]!r:.60}"
        raise HotspotError(msg)
    return point_xy(geom, what, HotspotError)


def check_bounds(bounds: Sequence[float]) -> Bounds:
    """Return ``bounds`` as four finite floats ``(xmin, ymin, xmax, ymax)``, or raise."""
    try:
        b = tuple(float(v) for v in bounds)
    except (TypeError, ValueError):
        msg = f"bounds must be (xmin, ymin, xmax, ymax) in metres, got {bounds!r}"
        raise HotspotError(msg) from None
    if len(b) != 4 or not all(math.isfinite(v) for v in b):
        msg = f"bounds must be four finite numbers (xmin, ymin, xmax, ymax), got {bounds!r}"
        raise HotspotError(msg)
    if b[2] < b[0] or b[3] < b[1]:
        msg = f"bounds {bounds!r} have xmax < xmin or ymax < ymin"
        raise HotspotError(msg)
    return (b[0], b[1], b[2], b[3])


def area_geometry(area: AreaLike, crs: pyproj.CRS | None) -> shapely.Geometry:
    """Return ``area`` as one polygonal shapely geometry in ``crs``; a CRS mismatch raises."""
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is not None and crs is not None and not pyproj.CRS(area.crs).equals(crs):
            msg = f"area is in {area.crs.name}, the incidents in {crs.name}; reproject the area"
            raise HotspotError(msg)
        geom = area.geometry.union_all() if len(area) else shapely.Polygon()
    elif isinstance(area, shapely.Geometry):
        geom = area
    else:
        msg = f"area must be a shapely polygon or a GeoSeries/GeoDataFrame, got {type(area)!r}"
        raise HotspotError(msg)
    if geom is None or geom.is_empty or shapely.get_type_id(geom) not in (3, 6, 7):
        msg = f"area must be a non-empty polygon or multipolygon, got {geom!r:.60}"
        raise HotspotError(msg)
    if shapely.get_type_id(geom) == 7:
        geom = shapely.union_all(shapely.get_parts(geom)[shapely.get_dimensions(geom) == 2])
    if geom.area <= 0:
        msg = "area has no extent (zero area)"
        raise HotspotError(msg)
    return geom


def require_columns(frame: pd.DataFrame, need: Iterable[str], what: str) -> None:
    """Raise naming the columns of ``need`` that ``frame`` lacks."""
    missing = sorted(set(need) - set(frame.columns))
    if missing:
        msg = f"{what} lacks columns {missing}"
        raise HotspotError(msg)
