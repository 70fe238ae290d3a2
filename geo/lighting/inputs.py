"""What the lighting analyses read: roads, villages, night incidents, checked once.

Every lighting function accepts the area's road view (:class:`~geo.network.Roads`, every
road of the file) or, for small checks, a bare network (viewed whole). Layers must be in
the roads' CRS: :mod:`geo.area` reprojects on purpose, nothing here does it silently.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.engine import Engine, Located
from geo.errors import HotspotError, LightingError
from geo.hotspots import in_hour_window
from geo.network import LIT_CLASSES, RoadNetwork, Roads, SnapIndex
from geo.validate import metric_crs, point_xy, same_crs

__all__ = [
    "NightIncidents",
    "as_roads",
    "distance_engine",
    "households",
    "night_incidents",
    "village_points",
    "villages_layer",
]


def as_roads(where: Roads | RoadNetwork) -> Roads:
    """Return the road view to analyse: the one given, or a whole network's."""
    roads = where if isinstance(where, Roads) else Roads.of(where)
    net = roads.net
    metric_crs(net.crs, "the road network", LightingError)
    for col in ("u", "v", "lit", "reversed", "length_m", "highway"):
        if col not in net.edges.columns:
            msg = f"network edges lack column {col!r}"
            raise LightingError(msg)
    unknown = sorted(set(net.edges["lit"].to_numpy(dtype=object)) - set(LIT_CLASSES))
    if unknown:
        msg = f"network 'lit' has values {unknown[:5]}; expected yes, no or unknown"
        raise LightingError(msg)
    if len(roads) == 0:
        msg = "the network has no roads to score"
        raise LightingError(msg)
    return roads


def distance_engine(roads: Roads, engine: Engine | None = None) -> Engine:
    """Return an engine measuring metres along ``roads`` both ways (built if not given)."""
    if engine is None:
        return Engine(roads.net, weight="length_m", undirected=True, snap_index=SnapIndex.of(roads))
    if engine.net is not roads.net or engine.weight != "length_m" or not engine.undirected:
        msg = "the distance engine must be an undirected length_m engine on the same roads"
        raise LightingError(msg)
    return engine


def villages_layer(
    villages: gpd.GeoDataFrame, roads: Roads, columns: tuple[str, ...]
) -> gpd.GeoDataFrame:
    """Check the villages layer (CRS, columns, geometry) and return it re-indexed."""
    if isinstance(villages, gpd.GeoDataFrame) and villages.crs is None:
        msg = "villages layer has no CRS; read it through the area (or with to_crs=net.crs)"
        raise LightingError(msg)
    same_crs(villages, roads.net.crs, "villages", LightingError)
    missing = [c for c in columns if c not in villages.columns]
    if missing:
        msg = f"villages layer lacks column(s) {', '.join(map(repr, missing))}"
        raise LightingError(msg)
    if len(villages) == 0:
        msg = "villages layer is empty"
        raise LightingError(msg)
    return villages.reset_index(drop=True)


def village_points(villages: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return each village's point (a point inside a polygon)."""
    return point_xy(villages.geometry, "villages", LightingError)


def households(vil: gpd.GeoDataFrame) -> np.ndarray:
    """Return the households column as floats, refusing missing or negative counts."""
    hh = pd.to_numeric(vil["households"], errors="coerce")
    bad = (hh.isna() | (hh < 0)).to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        msg = f"villages column 'households' is missing or negative in rows {rows}"
        raise LightingError(msg)
    return hh.to_numpy(dtype=float)


class NightIncidents:
    """Night incidents snapped to roads: the table, their placement, what was left out.

    ``table`` has ``id``, ``time``, ``category``, ``road``, ``edge``, ``along_m``,
    ``offroad_m`` and the point ``geometry``, one row per snapped night incident;
    ``located`` places the same rows on the distance engine; ``n_night`` counts every
    night incident selected and ``n_unsnapped`` those farther than the snap limit from
    every road, which count for no road.
    """

    def __init__(
        self, table: gpd.GeoDataFrame, located: Located | None, n_night: int, n_unsnapped: int
    ) -> None:
        self.table = table
        self.located = located
        self.n_night = n_night
        self.n_unsnapped = n_unsnapped


def night_incidents(
    incidents: gpd.GeoDataFrame | None,
    roads: Roads,
    engine: Engine,
    *,
    hours: tuple[float, float],
    categories: tuple[str, ...] | None,
    max_snap_m: float,
) -> NightIncidents:
    """Select night incidents (and categories) and snap them to roads, within a limit."""
    cols = ["id", "time", "category", "road", "edge", "along_m", "offroad_m"]
    crs = roads.net.crs
    if incidents is None:
        empty = gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=crs)
        return NightIncidents(empty, None, 0, 0)
    if isinstance(incidents, gpd.GeoDataFrame) and incidents.crs is None:
        msg = "incidents layer has no CRS; read it through the area (or with to_crs=net.crs)"
        raise LightingError(msg)
    same_crs(incidents, crs, "incidents", LightingError)
    for c in ("id", "time"):
        if c not in incidents.columns:
            msg = f"incidents layer lacks column {c!r}"
            raise LightingError(msg)
    t = incidents["time"]
    if not isinstance(t.dtype, pd.DatetimeTZDtype):
        msg = (
            f"incident times must be time-zone aware datetimes (got {t.dtype}); read them "
            "with geo.layers.read_incidents or localise them (Asia/Shanghai)"
        )
        raise LightingError(msg)
    if t.isna().any():
        rows = np.flatnonzero(t.isna().to_numpy())[:5].tolist()
        msg = f"incidents have missing times (rows {rows})"
        raise LightingError(msg)
    geom = incidents.geometry
    bad = (geom.isna() | geom.is_empty).to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        msg = f"incidents have no geometry (rows {rows})"
        raise LightingError(msg)
    try:
        keep = in_hour_window(t, hours)
    except HotspotError as exc:
        msg = f"night window: {exc}"
        raise LightingError(msg) from exc
    category = (
        incidents["category"].astype(str).str.strip().str.lower().to_numpy(dtype=object)
        if "category" in incidents.columns
        else np.full(len(incidents), "", dtype=object)
    )
    if categories is not None:
        keep &= np.isin(category, categories)
    sel = incidents.loc[keep]
    x, y = point_xy(sel.geometry, "incidents", LightingError)
    assert engine.snap is not None
    snap = engine.snap.snap(x, y, max_distance_m=max_snap_m)
    ok = ~snap.flagged
    assert snap.road is not None
    table = gpd.GeoDataFrame(
        {
            "id": sel["id"].astype(str).to_numpy()[ok],
            "time": sel["time"].to_numpy()[ok],
            "category": category[keep][ok],
            "road": snap.road[ok],
            "edge": snap.edge[ok],
            "along_m": snap.along_m[ok],
            "offroad_m": snap.distance_m[ok],
        },
        geometry=np.asarray(shapely.points(x[ok], y[ok]), dtype=object),
        crs=crs,
    )
    located = (
        engine.at_edges(snap.edge[ok], snap.along_m[ok], snap.distance_m[ok]) if ok.any() else None
    )
    return NightIncidents(table, located, int(len(sel)), int((~ok).sum()))
