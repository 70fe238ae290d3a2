"""Hot spots, dark roads, lamps, coverage and posts on the served area, for the routers.

Each function calls the same :mod:`geo` and :mod:`service` functions as the matching
``pingan`` command (``cmd_hotspots``, ``cmd_unlit``, ``cmd_lamps``, ``cmd_coverage``,
``cmd_posts``) and returns JSON-ready parts: the result's own ``to_dict``, tables as
rows, geometry as WGS84 GeoJSON. An uploaded layer named by id replaces the area's
(incidents for hot spots, stations for coverage) after a check of its kind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import pandas as pd

from geo.area import Area, LayerName
from geo.coverage import (
    CoverageParams,
    CoverageResult,
    candidate_sites,
    fewest_posts,
    plan_new_posts,
    village_coverage,
)
from geo.hotspots import HotspotParams, analyse_hotspots, filter_incidents
from geo.hotspots.pipeline import MIN_INCIDENTS
from geo.lighting import LampParams, RoadRisk, lit_km_by_area, place_lamps
from service.api.deps import AppState
from service.api.errors import ApiError, FieldProblem
from service.api.ops.files import frame_records
from service.night import dark_road_risk
from service.reports import lamp_runs, places, post_table, road_names, road_place

__all__ = [
    "HotspotQuery",
    "coverage",
    "dark_risk",
    "geojson",
    "hotspots",
    "lamps",
    "posts",
    "stored_layer",
    "unlit",
]


def geojson(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """Return a frame as a WGS84 GeoJSON FeatureCollection (NaN as null, times as ISO text)."""
    out = frame.to_crs(4326) if frame.crs is not None else frame.copy()
    geom = out.geometry.name
    for col in out.columns:
        # GeoJSON has no time type, and the JSON encoder knows none: ISO 8601 with offset.
        if col != geom and pd.api.types.is_datetime64_any_dtype(out[col]):
            iso = out[col].map(lambda t: None if pd.isna(t) else t.isoformat())
            out[col] = iso.astype(object)
    data: dict[str, Any] = json.loads(out.to_json(drop_id=True, na="null"))
    return data


def _where(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return ``frame`` without geometry, with the lat/lon of each row's place."""
    if not len(frame):
        return pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    ll = places(frame)
    return pd.DataFrame(frame.drop(columns="geometry")).assign(
        lat=ll.y.round(6).to_numpy(), lon=ll.x.round(6).to_numpy()
    )


def stored_layer(state: AppState, layer_id: str, kind: LayerName, field: str) -> gpd.GeoDataFrame:
    """Return an uploaded layer of ``kind`` in the area's CRS; 422 naming ``field`` otherwise."""
    rec = state.store.get_layer(layer_id)
    if rec.kind != kind:
        msg = f"layer {layer_id} ({rec.name!r}) is a {rec.kind} layer, not {kind}"
        raise ApiError(422, msg, errors=[FieldProblem(loc=["body", field], msg=msg)])
    return state.store.read_layer(layer_id).to_crs(state.area.crs)


# --------------------------------------------------------------------------- hot spots


@dataclass(frozen=True)
class HotspotQuery:
    """Which incidents (``pingan hotspots``' filters) and the analysis' parameters."""

    params: HotspotParams
    start: str | None = None
    end: str | None = None
    hours: tuple[float | str, float | str] | None = None
    categories: tuple[str, ...] | None = None
    village: str | None = None
    top: int = 10


def hotspots(area: Area, incidents: gpd.GeoDataFrame, q: HotspotQuery) -> dict[str, Any]:
    """Select incidents and find their hot spots, as ``pingan hotspots`` does (no trends).

    Returns the selection's counts, the result's ``to_dict``, the Gi* class counts, the
    ``top`` road stretches with the strongest evidence and the significant cells.
    """
    where = area.village_area(q.village) if q.village else None
    sel = filter_incidents(
        incidents,
        start=q.start,
        end=q.end,
        hours=q.hours,
        categories=list(q.categories) if q.categories else None,
        area=where,
    )
    base = {"n_incidents": len(incidents), "n_selected": len(sel)}
    if len(sel) < MIN_INCIDENTS:
        reason = f"{len(sel)} incidents selected; hot spots need at least {MIN_INCIDENTS}"
        return base | {"reason": reason, "summary": None, "classes": [], "roads": [], "cells": None}
    res = analyse_hotspots(sel, params=q.params, roads=area.roads, snap=area.distances.snap)
    classes = res.cell_hotspots.class_counts().reset_index()
    roads: list[dict[str, Any]] = []
    ranked = res.ranked_roads()
    if ranked is not None and len(ranked):
        top = ranked.head(q.top)
        cols = ["rank", "name", "highway", "lit", "count", "per_km", "expected", "role", "z"]
        table = top[[*cols, "geometry"]].assign(
            name=road_names(top, area.villages).to_numpy(), where=road_place(top).to_numpy()
        )
        roads = frame_records(_where(table))
    cells = res.cells
    return base | {
        "reason": "",
        "summary": res.to_dict(),
        "classes": frame_records(classes),
        "roads": roads,
        "cells": geojson(cells[cells["class"] != "not significant"]),
    }


# --------------------------------------------------------------------------- lighting


def dark_risk(state: AppState) -> RoadRisk:
    """Return the area's dark-road risk, scored once per service (the area is read-only)."""
    return state.memo("lighting:risk", lambda: dark_road_risk(state.area))


def unlit(state: AppState, *, top: int) -> dict[str, Any]:
    """Return lit/unlit km per village, township and district and the riskiest dark roads."""
    area = state.area
    villages = area.require("villages")
    lit = lit_km_by_area(area.roads, villages)
    ranked = dark_risk(state).by_road()
    head = ranked.head(top)
    cols = ["rank", "name", "highway", "lit", "length_m", "pieces", "village_code"]
    cols += ["village_name", "score", "explanation", "geometry"]
    table = head[cols].assign(
        name=road_names(head, villages).to_numpy(), where=road_place(head).to_numpy()
    )
    return {
        "villages": frame_records(lit.village),
        "townships": frame_records(lit.township),
        "districts": frame_records(lit.district),
        "total_km": {k: float(v) for k, v in lit.total.items()},
        "dark_roads": frame_records(_where(table)),
        "dark_roads_total": len(ranked),
    }


def lamps(
    state: AppState, *, budget: int, spacing_m: float, method: Literal["exact", "greedy"]
) -> dict[str, Any]:
    """Place a budget of lamps along the riskiest dark roads, as ``pingan lamps`` does."""
    area = state.area
    risk = dark_risk(state)
    plan = place_lamps(
        area.roads,
        risk,
        budget=budget,
        spacing_m=spacing_m,
        households=area.groups,
        params=LampParams(method=method),
        engine=area.distances,
    )
    runs = lamp_runs(plan.lamps, risk.roads, area.villages)
    return {
        "summary": plan.summary(),
        "runs": frame_records(runs),
        "lamps": geojson(plan.lamps),
    }


# --------------------------------------------------------------------------- coverage


def coverage(
    area: Area, stations: gpd.GeoDataFrame, *, mode: str, params: CoverageParams
) -> CoverageResult:
    """Return village coverage from ``stations`` by ``mode``, as ``pingan coverage``."""
    return village_coverage(area.engine(mode), area.require("villages"), stations, params)


def posts(
    area: Area,
    *,
    k: int | None,
    threshold_min: float,
    candidates: Literal["villages", "junctions"],
    method: Literal["auto", "exact", "greedy"],
) -> dict[str, Any]:
    """Propose new posts: ``k`` covering the most (MCLP) or, without ``k``, the fewest (LSCP)."""
    villages, stations = area.require("villages"), area.require("stations")
    engine = area.engine()
    cands = candidate_sites(engine, candidates, villages)
    res: Any
    uncoverable: list[str] = []
    if k is not None:
        res = plan_new_posts(
            engine, villages, stations, cands, k=k, threshold_min=threshold_min, method=method
        )
    else:
        res = fewest_posts(
            engine, villages, stations, cands, threshold_min=threshold_min, method=method
        )
        uncoverable = [str(v) for v in res.uncoverable_ids]
    table = post_table(area, res, cands)
    return {
        "problem": "MCLP" if k is not None else "LSCP",
        "summary": res.to_dict(),
        "posts": frame_records(pd.DataFrame(table.drop(columns="geometry"))),
        "uncoverable": uncoverable,
        "candidates": len(cands.ids),
    }
