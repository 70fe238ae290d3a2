"""How a village briefing reads: its headline text and the layers of its map."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import pyproj
import shapely

from geo.results import jsonable
from geo.teams._tables import BRIEFING_LAYERS, QUAD_SEGS, frame_of, one_row

if TYPE_CHECKING:
    from geo.teams.briefing import VillageBriefing

# The map layers that are one of the briefing's tables, and the table's name.
_TABLE_LAYERS = {
    "group": "groups",
    "road": "roads",
    "hotspot": "hotspots",
    "incident": "incidents",
    "officer": "officers",
    "neighbour": "neighbours",
    "dark_road": "dark_roads",
    "lamp": "lamps",
}


def summary(b: VillageBriefing) -> dict[str, Any]:
    """Return the headline numbers of ``b`` (:meth:`VillageBriefing.summary`)."""
    inc = b.incidents
    hot = b.hotspots
    km = {k: float(v) for k, v in b.road_km.items()}
    return {
        "team": b.team_id,
        "team_name": b.team_name,
        "leader": b.leader,
        "village": b.village_code,
        "village_name": b.village_name,
        "township": b.township,
        "district": b.district,
        "households": b.households,
        "groups": len(b.groups),
        "radius_m": float(b.params.radius_m),
        "road_km": {**km, "total": float(sum(km.values()))},
        "hotspots": len(hot),
        "hotspot_cores": _cores(hot),
        "incident_days": int(b.params.incident_days),
        "since": jsonable(b.since),
        "as_of": jsonable(b.as_of),
        "incidents": len(inc),
        "incidents_by_category": category_counts(inc),
        "station": b.station_id,
        "station_name": b.station_name,
        "station_minutes": jsonable(b.station_minutes),
        "station_km": jsonable(b.station_km),
        "route_minutes": jsonable(b.route_minutes),
        "route_km": jsonable(b.route_km),
        "route_status": b.route_status,
        "officers": [str(n) for n in b.officers["name"]],
        "neighbours": len(b.neighbours),
        "dark_roads": len(b.dark_roads),
        "lamps": len(b.lamps),
        "text": b.text(),
    }


def text(b: VillageBriefing) -> str:
    """Return the headline of ``b`` in a few lines (:meth:`VillageBriefing.text`)."""
    leader = f", leader {b.leader}" if b.leader else ""
    hh = f": {b.households} households" if b.households is not None else ""
    n_groups = len(b.groups)
    groups = f" in {n_groups} village groups" if n_groups and hh else ""
    lines = [
        ", ".join(
            p
            for p in (
                f"{b.team_name} ({b.team_id}{leader}) -> {b.village_name} ({b.village_code})",
                b.township,
                b.district,
            )
            if p
        )
        + f"{hh}{groups}."
    ]
    if b.found_route:
        lines.append(f"From base: {b.route_minutes:.1f} min, {b.route_km:.1f} km by {b.mode}.")
    else:
        lines.append(f"From base: no route ({b.route_status}).")
    if b.station_id:
        lines.append(
            f"Nearest station: {b.station_name} ({b.station_id}), "
            f"{b.station_minutes:.1f} min, {b.station_km:.1f} km."
        )
    km = b.road_km
    lines.append(
        f"Roads within {b.params.radius_m / 1000:.1f} km: "
        f"{sum(km.values()):.1f} km ({km['lit']:.1f} lit, {km['unlit']:.1f} unlit, "
        f"{km['unknown']:.1f} unknown)."
    )
    inc = b.incidents
    if b.as_of is not None:
        cats = ", ".join(f"{c} {n}" for c, n in category_counts(inc).items())
        lines.append(
            f"Last {b.params.incident_days} days to {b.as_of:%Y-%m-%d}: "
            f"{len(inc)} incidents" + (f" ({cats})." if cats else ".")
        )
    hot = b.hotspots
    lines.append(
        f"Near it: {len(hot)} hot spots ({_cores(hot)} cores), "
        f"the {len(b.dark_roads)} riskiest dark roads, "
        f"{len(b.lamps)} proposed lamps."
    )
    names = [str(n) for n in b.officers["name"]]
    lines.append("Auxiliary officer(s): " + (", ".join(names) if names else "none listed") + ".")
    return "\n".join(lines)


def map_layers(b: VillageBriefing) -> dict[str, gpd.GeoDataFrame]:
    """Return the layers of the map of ``b`` (:meth:`VillageBriefing.map_layers`)."""
    crs = b.crs
    ground_parts = [
        ("boundary" if b.ground_kind == "boundary" else "cell", b.cell),
        ("point", b.village_point),
        ("radius", shapely.buffer(b.ground, b.params.radius_m, quad_segs=QUAD_SEGS)),
    ]
    out: dict[str, gpd.GeoDataFrame] = {
        "ground": frame_of(
            {
                "code": [b.village_code] * 3,
                "name": [b.village_name] * 3,
                "part": [p for p, _ in ground_parts],
            },
            [g for _, g in ground_parts],
            crs,
        )
    }
    for layer, name in _TABLE_LAYERS.items():
        out[layer] = gpd.GeoDataFrame(getattr(b, name), crs=crs)
    if b.station_point is not None:
        out["station"] = one_row(
            b.station_point,
            crs,
            id=b.station_id,
            name=b.station_name,
            kind=b.station_kind,
            minutes=b.station_minutes,
            km=b.station_km,
        )
    legs = [
        ("base", b.route_geometry, b.route_minutes, b.route_km),
        ("station", b.station_route, b.station_minutes, b.station_km),
    ]
    drawn = [leg for leg in legs if leg[1] is not None]
    out["route"] = frame_of(
        {
            "leg": [leg[0] for leg in drawn],
            "minutes": [leg[2] for leg in drawn],
            "km": [leg[3] for leg in drawn],
        },
        [leg[1] for leg in drawn],
        crs,
    )
    if b.base is not None:
        out["base"] = one_row(
            b.base, crs, id=b.team_id, name=b.team_name, leader=b.leader, members=b.members
        )
    layers = {}
    for layer in BRIEFING_LAYERS:
        gdf = out.get(layer)
        if gdf is None or not len(gdf):
            continue
        gdf.insert(0, "layer", layer)
        layers[layer] = gdf
    return layers


def geojson_features(layers: dict[str, gpd.GeoDataFrame]) -> list[dict[str, Any]]:
    """Return the features of ``layers`` in WGS84, times as ISO 8601 text."""
    out: list[dict[str, Any]] = []
    for gdf in layers.values():
        wgs = gdf.to_crs(4326)
        for col in wgs.columns:
            if col != "geometry" and pd.api.types.is_datetime64_any_dtype(wgs[col]):
                wgs[col] = wgs[col].map(lambda t: None if pd.isna(t) else t.isoformat())
        data = json.loads(wgs.to_json(drop_id=True, na="null"))
        out.extend(data["features"])
    return out


def _cores(hotspots: pd.DataFrame) -> int:
    """Return how many of the hot spots listed are cores."""
    return int(hotspots["core"].astype(bool).sum()) if len(hotspots) else 0


def category_counts(incidents: pd.DataFrame) -> dict[str, int]:
    """Return incidents per category, most first (ties by name)."""
    if not len(incidents):
        return {}
    counts = incidents["category"].astype(str).value_counts()
    order = sorted(counts.items(), key=lambda kv: (-int(kv[1]), kv[0]))
    return {str(k): int(n) for k, n in order}


def wgs84_geometry(geom: shapely.Geometry | None, crs: pyproj.CRS) -> dict[str, Any] | None:
    """Return ``geom`` as a GeoJSON geometry in WGS84 (None for none)."""
    if geom is None:
        return None
    out = gpd.GeoSeries([geom], crs=crs).to_crs(4326).iloc[0]
    data: dict[str, Any] = json.loads(shapely.to_geojson(out))
    return data
