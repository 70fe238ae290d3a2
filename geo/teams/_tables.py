"""The tables of a village briefing: their columns, and the few ways they are built.

Every table of :class:`~geo.teams.briefing.VillageBriefing` has the columns named here
(and ``geometry``), whether or not the layer it is taken from has them all: a column the
layer lacks is None.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: The ``layer`` property of every feature of :meth:`VillageBriefing.to_geojson`.
BRIEFING_LAYERS: Final = (
    "ground",
    "group",
    "road",
    "hotspot",
    "incident",
    "station",
    "officer",
    "route",
    "neighbour",
    "dark_road",
    "lamp",
    "base",
)

#: The briefing's words for the road inventory's lighting classes (yes / no / unknown).
ROAD_LIT_CLASSES: Final[Mapping[str, str]] = MappingProxyType(
    {"yes": "lit", "no": "unlit", "unknown": "unknown"}
)

# Columns of each table (geometry besides).
GROUP_COLUMNS: Final = ("code", "name", "households", "lon", "lat")
ROAD_COLUMNS: Final = (
    "road",
    "name",
    "highway",
    "lit",
    "lit_class",
    "length_m",
    "road_length_m",
    "routable",
)
HOTSPOT_COLUMNS: Final = (
    "kind",
    "rank",
    "role",
    "class",
    "count",
    "per_km",
    "z",
    "p_fdr",
    "core",
    "name",
    "highway",
    "lit",
    "distance_m",
)
INCIDENT_COLUMNS: Final = (
    "id",
    "time",
    "category",
    "severity",
    "description",
    "distance_m",
    "lon",
    "lat",
)
OFFICER_COLUMNS: Final = ("id", "name", "phone", "unit", "located")
NEIGHBOUR_COLUMNS: Final = ("code", "name", "township", "km", "touches")
DARK_ROAD_COLUMNS: Final = (
    "rank",
    "road",
    "name",
    "highway",
    "lit",
    "length_m",
    "score",
    "incidents_n",
    "households_raw",
    "is_bridge",
    "village_code",
    "village_name",
    "explanation",
    "distance_m",
)
LAMP_COLUMNS: Final = (
    "lamp",
    "run",
    "road",
    "name",
    "highway",
    "position_m",
    "lit_m",
    "households_near",
    "night_incidents_near",
    "lon",
    "lat",
)

# The disc of the radius is a polygon inscribed in the circle: with 64 segments per
# quarter it falls short of the circle by at most 0.008 % of the radius (0.15 m at 2 km).
QUAD_SEGS: Final = 64


def missing(geom: object) -> bool:
    """Return whether ``geom`` is no geometry, or an empty one."""
    return not isinstance(geom, shapely.Geometry) or bool(shapely.is_empty(geom))


def as_text(value: Any) -> str:
    """Return ``value`` as text, "" for None or NaN."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def empty(columns: tuple[str, ...], crs: Any) -> gpd.GeoDataFrame:
    """Return a table with ``columns`` and no rows."""
    return gpd.GeoDataFrame(
        {c: pd.Series([], dtype=object) for c in columns},
        geometry=gpd.GeoSeries([], crs=crs),
    )


def frame_of(data: Mapping[str, list[Any]], geometry: list[Any], crs: Any) -> gpd.GeoDataFrame:
    """Return a table of the columns ``data`` at ``geometry``."""
    return gpd.GeoDataFrame(
        pd.DataFrame(dict(data)), geometry=gpd.GeoSeries(geometry, crs=crs), crs=crs
    )


def one_row(geometry: shapely.Geometry, crs: Any, **row: Any) -> gpd.GeoDataFrame:
    """Return a table of one feature: the values ``row`` (in order) at ``geometry``."""
    return frame_of({k: [v] for k, v in row.items()}, [geometry], crs)


def take(gdf: gpd.GeoDataFrame, rows: np.ndarray, columns: tuple[str, ...]) -> pd.DataFrame:
    """Return ``columns`` of ``rows`` (positions), None where the layer lacks a column."""
    sub = gdf.iloc[rows]
    return pd.DataFrame(
        {c: sub[c].to_numpy() if c in sub.columns else [None] * len(sub) for c in columns}
    )


def within(gdf: gpd.GeoDataFrame, ground: shapely.Geometry, radius: float) -> np.ndarray:
    """Return the sorted positions of the features within ``radius`` of ``ground``."""
    geom = gdf.geometry.to_numpy()
    return np.flatnonzero(np.asarray(shapely.dwithin(geom, ground, radius)))


def features(
    gdf: gpd.GeoDataFrame,
    rows: np.ndarray,
    columns: tuple[str, ...],
    crs: Any,
    ground: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """Return ``columns`` of ``rows`` with their geometry (and distance from ``ground``).

    With ``ground`` the ``distance_m`` column is each feature's distance from it.
    """
    table = take(gdf, rows, columns)
    geom = gdf.geometry.to_numpy()[rows]
    if ground is not None:
        table["distance_m"] = np.asarray(shapely.distance(geom, ground), dtype=float)
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geom, crs=crs), crs=crs)
