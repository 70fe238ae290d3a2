"""What lies within a briefing's radius of its village: roads, incidents, analyses' finds.

Each function selects from the area (roads, incidents) or from an analysis' result (hot
spots, dark-road risk, lamps) the features within ``radius`` of the village's ground;
nothing is scored anew here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.area import Area
from geo.errors import HotspotError, TeamError
from geo.hotspots import HotspotResult
from geo.hotspots.filters import _as_timestamp
from geo.lighting import LampPlan, RoadRisk
from geo.teams._tables import (
    DARK_ROAD_COLUMNS,
    HOTSPOT_COLUMNS,
    INCIDENT_COLUMNS,
    LAMP_COLUMNS,
    ROAD_LIT_CLASSES,
    empty,
    features,
    within,
)
from geo.validate import same_crs


def _is_a(value: object, kind: type, what: str) -> None:
    """Raise unless the analysis' result ``value`` given as ``what`` is a ``kind``."""
    if not isinstance(value, kind):
        msg = f"{what} must be a {kind.__name__}, got {type(value).__name__}"
        raise TeamError(msg)


def roads(
    area: Area, ground: shapely.Geometry, disc: shapely.Geometry, radius: float
) -> gpd.GeoDataFrame:
    """Return the roads within ``radius`` of ``ground``, clipped to ``disc``."""
    view = area.roads
    snap = area.distances.snap
    tree = snap.strtree if snap.roads is view else shapely.STRtree(view.geometry)
    cand = np.sort(tree.query(ground, predicate="dwithin", distance=radius))
    clipped = np.asarray(shapely.intersection(view.geometry[cand], disc), dtype=object)
    # Where a road only grazes the disc the clip holds points too: keep its lines.
    mixed = np.flatnonzero(shapely.get_type_id(clipped) == 7)
    for i in mixed:
        parts = shapely.get_parts(clipped[i])
        clipped[i] = shapely.multilinestrings(parts[shapely.get_type_id(parts) == 1])
    length = np.asarray(shapely.length(clipped), dtype=float)
    keep = length > 0
    rows, clipped, length = cand[keep], clipped[keep], length[keep]
    names = view.net.edges["name"].to_numpy() if "name" in view.net.edges.columns else None
    lit = np.asarray(view.lit[rows], dtype=object)
    table = pd.DataFrame(
        {
            "road": rows.astype(np.int64),
            "name": names[view.edge[rows]] if names is not None else [None] * len(rows),
            "highway": view.highway[rows],
            "lit": lit,
            "lit_class": pd.Series(lit).map(ROAD_LIT_CLASSES).fillna("unknown").to_numpy(),
            "length_m": length,
            "road_length_m": view.length_m[rows],
            "routable": view.routable[rows],
        }
    )
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(clipped, crs=area.crs), crs=area.crs)


def road_km(table: gpd.GeoDataFrame) -> Mapping[str, float]:
    """Return the km of the roads of :func:`roads` by lighting class."""
    lit_class = table["lit_class"].to_numpy()
    km = table["length_m"].to_numpy(dtype=float) / 1000.0
    return MappingProxyType({c: float(km[lit_class == c].sum()) for c in ROAD_LIT_CLASSES.values()})


def local_time(value: pd.Timestamp | str, times: pd.Series, tz: str) -> pd.Timestamp:
    """Return ``value`` as a Timestamp comparable with ``times`` (the area's zone).

    A time without a zone is the area's local time (``tz``). Against naive incident times
    (a layer built by hand) the comparison is on the area's wall clock: a time with a
    zone is read on it, one without is taken as it is.
    """
    zone = getattr(times.dt, "tz", None)
    try:
        # UTC has no clock changes: every naive wall time exists in it, once.
        ts = _as_timestamp(value, "UTC" if zone is None else zone, "as_of")
    except HotspotError as exc:
        msg = f"{exc}; give e.g. '2025-12-31 23:59'"
        raise TeamError(msg) from None
    if zone is not None:
        return ts
    zoned = pd.Timestamp(value).tzinfo is not None
    return (ts.tz_convert(tz) if zoned else ts).tz_localize(None)


def incidents(
    area: Area,
    ground: shapely.Geometry,
    radius: float,
    days: int,
    as_of: pd.Timestamp | str | None,
    notes: list[str],
) -> tuple[gpd.GeoDataFrame, pd.Timestamp | None, pd.Timestamp | None]:
    """Return the incidents near ``ground`` in the window, newest first, and the window."""
    inc = area.incidents
    if inc is None or not len(inc):
        notes.append("the area has no incidents: give --incidents FILE for the recent ones")
        return empty(INCIDENT_COLUMNS, area.crs), None, None
    times = inc["time"]
    if as_of is None:
        latest = times.max()
        if pd.isna(latest):
            notes.append("no incident of the area has a time: the window is empty")
            return empty(INCIDENT_COLUMNS, area.crs), None, None
        end = pd.Timestamp(latest)
    else:
        end = local_time(as_of, times, area.spec.tz)
    start = end - pd.Timedelta(days=days)
    near = np.sort(inc.sindex.query(ground, predicate="dwithin", distance=radius))
    t = times.iloc[near]
    rows = near[((t > start) & (t <= end)).to_numpy(dtype=bool)]
    out = features(inc, rows, INCIDENT_COLUMNS, area.crs, ground)
    # Newest first; equal times by id, so the order never depends on the file's.
    out = out.sort_values(["time", "id"], ascending=[False, True], na_position="last")
    return out.reset_index(drop=True), end, start


def hotspots(
    hot: HotspotResult | None, area: Area, ground: shapely.Geometry, radius: float
) -> gpd.GeoDataFrame:
    """Return the hot road stretches, then the Gi* cells, within ``radius`` of ``ground``."""
    if hot is None:
        return empty(HOTSPOT_COLUMNS, area.crs)
    _is_a(hot, HotspotResult, "hotspots")
    parts: list[gpd.GeoDataFrame] = []
    ranked = [("road", hot.ranked_roads()), ("cell", hot.ranked_cells())]
    for kind, frame in ranked:
        if frame is None:
            continue
        same_crs(frame, area.crs, f"the hot spots' {kind}s", TeamError)
        rows = within(frame, ground, radius)
        if not len(rows):
            continue
        part = features(frame, rows, HOTSPOT_COLUMNS, area.crs, ground)
        part["kind"] = kind
        parts.append(part)
    if not parts:
        return empty(HOTSPOT_COLUMNS, area.crs)
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return gpd.GeoDataFrame(out, geometry="geometry", crs=area.crs)


def dark_roads(
    risk: RoadRisk | None, area: Area, ground: shapely.Geometry, radius: float, top: int
) -> gpd.GeoDataFrame:
    """Return the ``top`` riskiest dark road pieces within ``radius`` of ``ground``."""
    if risk is None:
        return empty(DARK_ROAD_COLUMNS, area.crs)
    _is_a(risk, RoadRisk, "risk")
    if risk.n_roads != len(area.roads):
        msg = (
            f"the dark-road risk was scored on {risk.n_roads} roads, the area has "
            f"{len(area.roads)}: score the area's own roads (geo.lighting.road_risk)"
        )
        raise TeamError(msg)
    r = risk.roads
    same_crs(r, area.crs, "the dark-road risk's roads", TeamError)
    rows = within(r, ground, radius)
    rows = rows[np.argsort(r["rank"].to_numpy()[rows], kind="stable")][:top]
    return features(r, rows, DARK_ROAD_COLUMNS, area.crs, ground)


def lamps(
    plan: LampPlan | None, area: Area, ground: shapely.Geometry, radius: float
) -> gpd.GeoDataFrame:
    """Return the lamps of ``plan`` within ``radius`` of ``ground``."""
    if plan is None:
        return empty(LAMP_COLUMNS, area.crs)
    _is_a(plan, LampPlan, "lamps")
    found = plan.lamps
    if not len(found):
        return empty(LAMP_COLUMNS, area.crs)
    same_crs(found, area.crs, "the lamp plan's lamps", TeamError)
    return features(found, within(found, ground, radius), LAMP_COLUMNS, area.crs)
