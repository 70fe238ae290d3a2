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

#: Incidents snapped at a time.
_SNAP_BLOCK = 100_000

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
    category = _categories(incidents)
    if categories is not None:
        keep &= np.isin(category, categories)
    # Rows, not a copy of the layer: it may hold millions of incidents and their columns.
    sel = np.flatnonzero(keep)
    pts = incidents.geometry.to_numpy()[sel]
    x, y = point_xy(pts, "incidents", LightingError)
    road, edge, along, offroad, flagged = _snap(engine, x, y, max_snap_m)
    ok = ~flagged
    rows = sel[ok]
    # Plain points keep their own objects (no copies); others stand at their x, y.
    kept = pts[ok]
    plain = (shapely.get_type_id(kept) == 0) & ~shapely.has_z(kept)
    if not plain.all():
        kept = np.where(plain, kept, shapely.points(x[ok], y[ok]))
    table = gpd.GeoDataFrame(
        {
            "id": incidents["id"].iloc[rows].astype(str).to_numpy(),
            "time": incidents["time"].iloc[rows].array,
            "category": category[rows],
            "road": road[ok],
            "edge": edge[ok],
            "along_m": along[ok],
            "offroad_m": offroad[ok],
        },
        geometry=np.asarray(kept, dtype=object),
        crs=crs,
    )
    located = engine.at_edges(edge[ok], along[ok], offroad[ok]) if ok.any() else None
    return NightIncidents(table, located, int(len(sel)), int((~ok).sum()))


def _snap(
    engine: Engine, x: np.ndarray, y: np.ndarray, max_snap_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Snap points to roads a block at a time: road, edge, along, off-road metres, flagged.

    Each point snaps on its own, so blocks change nothing but the memory: the snapper
    holds a few hundred bytes per point while it works.
    """
    assert engine.snap is not None
    parts = []
    for lo in range(0, max(len(x), 1), _SNAP_BLOCK):
        s = engine.snap.snap(
            x[lo : lo + _SNAP_BLOCK], y[lo : lo + _SNAP_BLOCK], max_distance_m=max_snap_m
        )
        assert s.road is not None
        parts.append((s.road, s.edge, s.along_m, s.distance_m, s.flagged))
    road, edge, along, offroad, flagged = (np.concatenate(c) for c in zip(*parts, strict=True))
    return road, edge, along, offroad, flagged


def _categories(incidents: gpd.GeoDataFrame) -> np.ndarray:
    """Return each incident's category, trimmed and lower-case ("" without the column).

    Worked out once per distinct category and spread to the rows: a layer of millions
    of incidents holds a handful of categories.
    """
    if "category" not in incidents.columns:
        return np.full(len(incidents), "", dtype=object)
    col = incidents["category"]
    codes, uniques = pd.factorize(col, use_na_sentinel=False)
    clean = pd.Series(uniques, dtype=col.dtype).astype(str).str.strip().str.lower()
    return np.asarray(clean.to_numpy(dtype=object)[codes], dtype=object)
