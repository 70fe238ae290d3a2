"""Coverage: who reaches which village how fast, catchments, isochrones, new posts.

Everything here is a thin, vectorised layer over :class:`geo.engine.Engine`: one
multi-source search per facility set gives every village's nearest station; the
location-allocation solvers in :mod:`geo.allocation` work on engine matrices.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.allocation import LscpResult, MclpResult, solve_lscp, solve_mclp
from geo.engine import STATUS, Engine, Located
from geo.errors import CoverageError
from geo.results import Result
from geo.validate import same_crs

DEFAULT_THRESHOLDS_MIN: tuple[float, ...] = (5.0, 10.0, 15.0, 30.0)

#: Why a village has no travel time, in words a planner can act on.
REASONS = {
    "destination_off_network": "village is farther from any mapped road than the snap limit",
    "origin_off_network": "every station is farther from any mapped road than the snap limit",
    "no_route": "no road route from any station (disconnected or closed roads)",
    "beyond_limit": "beyond the search limit",
}


@dataclass(frozen=True)
class CoverageParams:
    """What counts as covered.

    ``weight`` names the demand column (``"population"`` or ``"households"``); by default
    population is used when every village has it, else households, else villages count 1.
    """

    thresholds_min: tuple[float, ...] = DEFAULT_THRESHOLDS_MIN
    weight: Literal["population", "households"] | None = None

    def __post_init__(self) -> None:
        th = tuple(float(t) for t in self.thresholds_min)
        if not th or any(not (np.isfinite(t) and t > 0) for t in th):
            msg = f"thresholds_min must be positive minutes, got {self.thresholds_min}"
            raise CoverageError(msg)
        if list(th) != sorted(set(th)):
            msg = f"thresholds_min must be strictly increasing, got {self.thresholds_min}"
            raise CoverageError(msg)
        object.__setattr__(self, "thresholds_min", th)


@dataclass(frozen=True, eq=False)
class CoverageResult(Result):
    """Village coverage by a set of facilities for one travel mode.

    ``villages`` has one row per village: ``code``, ``name``, ``township_code``,
    ``weight``, ``facility`` (id of the nearest facility by travel time, or None),
    ``facility_name``,
    ``minutes``, ``status``, ``reason``, ``snap_m`` and a boolean ``covered_<T>`` per
    threshold. ``summary`` has one row per threshold: villages, weight and shares covered.
    """

    mode: str
    thresholds_min: tuple[float, ...]
    weight_name: str
    villages: pd.DataFrame
    summary: pd.DataFrame
    facility_ids: tuple[str, ...]

    def _check(self) -> None:
        v = self._frame("villages")
        ok = (v["status"] == "ok").to_numpy()
        if (v["minutes"].notna().to_numpy() != ok).any():
            msg = "a village has minutes exactly when its status is 'ok'"
            raise CoverageError(msg)
        if list(self._frame("summary")["threshold_min"]) != list(self.thresholds_min):
            msg = "the summary must have one row per threshold"
            raise CoverageError(msg)

    @property
    def unreachable(self) -> pd.DataFrame:
        """Villages with no travel time, and why."""
        v = self._frame("villages")
        return v.loc[v["status"] != "ok", ["code", "name", "status", "reason"]].copy()

    def catchments(self) -> pd.DataFrame:
        """Per facility: the villages for which it is the nearest by travel time."""
        return _catchments(self._frame("villages"), self.facility_ids)

    def _extra_tables(self) -> dict[str, pd.DataFrame]:
        return {"catchments": self.catchments(), "unreachable": self.unreachable}

    def _extra_meta(self) -> dict[str, Any]:
        return {"summary": self._frame("summary").to_dict("records")}


@dataclass(frozen=True, eq=False)
class CoverageByMode(Result):
    """Coverage of the same villages by the same facilities in several travel modes.

    ``minutes``: per village ``code``, ``name`` and, per mode, ``minutes_<mode>``,
    ``facility_<mode>``, ``facility_name_<mode>``, ``status_<mode>`` and ``snap_m_<mode>``;
    ``summary``: the per-threshold summary of every mode stacked, with a ``mode`` column.
    """

    modes: tuple[str, ...]
    minutes: pd.DataFrame
    summary: pd.DataFrame
    by_mode: Mapping[str, CoverageResult]

    def _check(self) -> None:
        if tuple(self.by_mode) != self.modes:
            msg = "by_mode must hold one result per mode, in order"
            raise CoverageError(msg)


@dataclass(frozen=True, eq=False)
class Isochrones(Result):
    """Areas reachable within each threshold, built from the reachable roads.

    ``areas``: one row per threshold: ``threshold_min``, ``road_km`` reached, ``area_km2``
    and the polygon (the reached roads buffered by ``buffer_m``).
    """

    mode: str
    thresholds_min: tuple[float, ...]
    buffer_m: float
    areas: gpd.GeoDataFrame
    _geometry_table: ClassVar[str | None] = "areas"

    def _check(self) -> None:
        km = self._frame("areas")["road_km"].to_numpy()
        if (np.diff(km) < -1e-9).any():
            msg = "a longer time budget cannot reach fewer km of road"
            raise CoverageError(msg)


def covered_column(t: float) -> str:
    """Return the name of the coverage flag column for threshold ``t`` minutes."""
    return f"covered_{t:g}"


def demand_weights(
    villages: pd.DataFrame, weight: Literal["population", "households"] | None
) -> tuple[np.ndarray, str]:
    """Return each village's demand weight and the weight's name."""
    if weight is not None:
        if weight not in villages.columns:
            msg = f"villages have no {weight!r} column to weight coverage by"
            raise CoverageError(msg)
        col = villages[weight]
        if col.isna().any():
            rows = np.flatnonzero(col.isna().to_numpy())[:5].tolist()
            msg = f"villages column {weight!r} has missing values (rows {rows})"
            raise CoverageError(msg)
        return col.to_numpy(dtype=float), weight
    for name in ("population", "households"):
        if name in villages.columns and villages[name].notna().all() and len(villages):
            return villages[name].to_numpy(dtype=float), name
    return np.ones(len(villages)), "villages"


def _ids(gdf: pd.DataFrame, col: str) -> np.ndarray:
    if col not in gdf.columns:
        msg = f"layer lacks an {col!r} column"
        raise CoverageError(msg)
    return gdf[col].astype(str).to_numpy()


def _check_layer(gdf: gpd.GeoDataFrame, name: str, engine: Engine) -> None:
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.crs is None:
        msg = f"{name} layer has no CRS"
        raise CoverageError(msg)
    same_crs(gdf, engine.net.crs, name, CoverageError)
    if len(gdf) == 0:
        msg = f"{name} layer is empty"
        raise CoverageError(msg)


def village_coverage(
    engine: Engine,
    villages: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    params: CoverageParams | None = None,
    *,
    facility_id: str = "id",
) -> CoverageResult:
    """Travel time from the nearest facility to every village, and coverage by threshold.

    One multi-source search from all facilities answers every village at once.
    """
    p = params or CoverageParams()
    _check_layer(villages, "villages", engine)
    _check_layer(facilities, "facilities", engine)
    fac_ids = _ids(facilities, facility_id)
    # Planners know stations by name (佛祖岭派出所), not by id (PS-03): carry both.
    fac_names = (
        facilities["name"].astype(str).to_numpy() if "name" in facilities.columns else fac_ids
    )
    weight, weight_name = demand_weights(villages, p.weight)
    v_loc = engine.locate_geometries(villages.geometry)
    f_loc = engine.locate_geometries(facilities.geometry)
    nf = engine.nearest_facility(v_loc, f_loc)
    status = nf.status_names()
    table = pd.DataFrame(
        {
            "code": villages["code"].astype(str).to_numpy()
            if "code" in villages
            else np.arange(len(villages)).astype(str),
            "name": villages["name"].astype(str).to_numpy() if "name" in villages else None,
            "township_code": villages["township_code"].to_numpy()
            if "township_code" in villages
            else None,
            "weight": weight,
            "facility": np.where(nf.facility >= 0, fac_ids[np.maximum(nf.facility, 0)], None),
            "minutes": np.round(nf.minutes, 3),
            "facility_name": np.where(
                nf.facility >= 0, fac_names[np.maximum(nf.facility, 0)], None
            ),
            "status": status,
            "reason": [REASONS.get(s) for s in status],
            "snap_m": np.round(v_loc.snap.distance_m, 1) if v_loc.snap else np.nan,
        }
    )
    for t in p.thresholds_min:
        table[covered_column(t)] = np.nan_to_num(nf.minutes, nan=np.inf) <= t
    return CoverageResult(
        mode=engine.net.mode,
        thresholds_min=p.thresholds_min,
        weight_name=weight_name,
        villages=table,
        summary=_summary(table, p.thresholds_min),
        facility_ids=tuple(fac_ids),
    )


def coverage_by_mode(
    engines: Mapping[str, Engine],
    villages: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    params: CoverageParams | None = None,
) -> CoverageByMode:
    """Coverage for several travel modes at once (one engine per mode)."""
    if not engines:
        msg = "no travel modes given"
        raise CoverageError(msg)
    results = {
        mode: village_coverage(eng, villages, facilities, params) for mode, eng in engines.items()
    }
    first = next(iter(results.values()))
    minutes = first.villages[["code", "name"]].copy()
    for mode, res in results.items():
        v = res.villages
        for col in ("minutes", "facility", "facility_name", "status", "snap_m"):
            if col in v.columns:
                minutes[f"{col}_{mode}"] = v[col].to_numpy()
    summary = pd.concat([r.summary.assign(mode=m) for m, r in results.items()], ignore_index=True)
    return CoverageByMode(
        modes=tuple(results),
        minutes=minutes,
        summary=summary[["mode", *[c for c in summary.columns if c != "mode"]]],
        by_mode=results,
    )


def _summary(table: pd.DataFrame, thresholds: Sequence[float]) -> pd.DataFrame:
    w = table["weight"].to_numpy(dtype=float)
    total = float(w.sum())
    rows = []
    for t in thresholds:
        c = table[covered_column(t)].to_numpy()
        rows.append(
            {
                "threshold_min": t,
                "villages": len(table),
                "villages_covered": int(c.sum()),
                "village_share": round(float(c.mean()), 4) if len(c) else 0.0,
                "weight_covered": float(w[c].sum()),
                "weight_share": round(float(w[c].sum() / total), 4) if total > 0 else 0.0,
            }
        )
    return pd.DataFrame(rows)


def _catchments(villages: pd.DataFrame, facility_ids: tuple[str, ...]) -> pd.DataFrame:
    v = villages[villages["status"] == "ok"]
    g = v.groupby("facility")
    out = pd.DataFrame(
        {
            "villages": g.size(),
            "weight": g["weight"].sum(),
            "mean_minutes": g["minutes"].mean().round(2),
            "max_minutes": g["minutes"].max().round(2),
            "codes": g["code"].agg(lambda s: ";".join(sorted(s))),
        }
    )
    out = out.reindex(list(facility_ids)).fillna({"villages": 0, "weight": 0.0, "codes": ""})
    out.index.name = "facility"
    out["villages"] = out["villages"].astype(int)
    return out.reset_index()


def isochrones(
    engine: Engine,
    sources: gpd.GeoDataFrame | Located | np.ndarray,
    thresholds_min: Sequence[float] = DEFAULT_THRESHOLDS_MIN,
    *,
    buffer_m: float = 150.0,
) -> Isochrones:
    """Isochrone polygons: the reachable road edges within each threshold, buffered.

    Only road actually reachable counts, including the reachable part of an edge cut by
    the time budget, so land that no road reaches in time is never claimed (a convex
    hull would). ``buffer_m`` is the strip each side of a reached road counted as served.
    """
    if not (np.isfinite(buffer_m) and buffer_m > 0):
        msg = f"buffer_m must be positive, got {buffer_m}"
        raise CoverageError(msg)
    th = CoverageParams(thresholds_min=tuple(thresholds_min)).thresholds_min
    if isinstance(sources, gpd.GeoDataFrame):
        _check_layer(sources, "sources", engine)
        src: Located | np.ndarray = engine.locate_geometries(sources.geometry)
    else:
        src = sources
    geoms = engine.net.edge_geometry
    is_road = np.zeros(len(geoms), dtype=bool)
    assert engine.snap is not None
    is_road[engine.snap.roads.edge] = True
    rows = []
    for t in th:
        reach = engine.reachable(src, t * 60.0)
        frac = reach.edge_fraction
        full = frac >= 1.0
        part = np.flatnonzero((frac > 0) & ~full)
        # A two-way road reached whole in both directions is one strip: buffer it once
        # (half the union's work; the area is the same).
        twin = engine.twin
        dup = full & (twin >= 0) & full[np.maximum(twin, 0)] & (twin < np.arange(len(frac)))
        pieces = list(geoms[full & ~dup])
        if len(part):
            from shapely.ops import substring

            pieces += [substring(geoms[i], 0.0, float(frac[i]), normalized=True) for i in part]
        area = (
            shapely.union_all(shapely.buffer(np.asarray(pieces, dtype=object), buffer_m))
            if pieces
            else shapely.Polygon()
        )
        rows.append(
            {
                "threshold_min": t,
                "road_km": round(float((frac * engine.length)[is_road].sum() / 1000), 3),
                "area_km2": round(float(area.area / 1e6), 3),
                "geometry": area,
            }
        )
    return Isochrones(
        mode=engine.net.mode,
        thresholds_min=th,
        buffer_m=float(buffer_m),
        areas=gpd.GeoDataFrame(rows, geometry="geometry", crs=engine.net.crs),
    )


# --------------------------------------------------------------------------- allocation


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate sites for new posts: ids and where they sit on the network."""

    ids: tuple[str, ...]
    located: Located | np.ndarray
    geometry: gpd.GeoSeries = field(repr=False)


def candidate_sites(
    engine: Engine,
    kind: Literal["villages", "junctions"] | gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame | None = None,
    *,
    id_column: str = "id",
) -> Candidates:
    """Return candidate sites: the villages, the road junctions, or a given layer.

    Junctions are nodes where three or more roads meet — where a post reaches several
    directions at once.
    """
    net = engine.net
    if isinstance(kind, gpd.GeoDataFrame):
        _check_layer(kind, "candidates", engine)
        return Candidates(
            ids=tuple(_ids(kind, id_column)),
            located=engine.locate_geometries(kind.geometry),
            geometry=kind.geometry.to_crs(net.crs),
        )
    if kind == "villages":
        if villages is None:
            msg = "candidate kind 'villages' needs the villages layer"
            raise CoverageError(msg)
        _check_layer(villages, "villages", engine)
        return Candidates(
            ids=tuple(_ids(villages, "code")),
            located=engine.locate_geometries(villages.geometry),
            geometry=villages.geometry.to_crs(net.crs),
        )
    if kind == "junctions":
        nb = pd.concat(
            [
                pd.DataFrame({"n": engine.u, "m": engine.v}),
                pd.DataFrame({"n": engine.v, "m": engine.u}),
            ]
        ).drop_duplicates()
        degree = nb.groupby("n").size()
        rows = degree.index[degree.to_numpy() >= 3].to_numpy()
        nodes = net.nodes.iloc[rows]
        return Candidates(
            ids=tuple(f"node-{o}" for o in nodes["osmid"]),
            located=rows.astype(np.int64),
            geometry=gpd.GeoSeries(
                shapely.points(nodes["x"].to_numpy(), nodes["y"].to_numpy()), crs=net.crs
            ),
        )
    msg = f"unknown candidate kind {kind!r}; use 'villages', 'junctions' or a layer"
    raise CoverageError(msg)


def _allocation_times(
    engine: Engine,
    villages: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    candidates: Candidates,
    threshold_min: float,
    progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes from every candidate, and from every existing station, to every village.

    Only times within ``threshold_min`` decide coverage, so each search stops there (a
    hair past it, so that a time equal to the threshold stays whatever the rounding);
    farther pairs are NaN, as unreachable ones are.
    """
    _check_layer(villages, "villages", engine)
    say = progress or (lambda _message: None)
    limit = float(threshold_min) * 60.0 * (1.0 + 1e-9)
    v_loc = engine.locate_geometries(villages.geometry)
    t0 = time.perf_counter()
    say(
        f"travel times from {len(stations)} station(s) and {len(candidates.ids):,} candidate "
        f"site(s) to {len(villages):,} villages, searched up to {threshold_min:g} min"
    )
    existing = (
        engine.matrix(engine.locate_geometries(stations.geometry), v_loc, limit=limit).minutes
        if len(stations)
        else np.zeros((0, len(villages)))
    )
    times = engine.matrix(candidates.located, v_loc, limit=limit).minutes
    say(f"travel times done in {time.perf_counter() - t0:.1f} s")
    return times, existing


def plan_new_posts(
    engine: Engine,
    villages: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    candidates: Candidates,
    *,
    k: int,
    threshold_min: float,
    weight: Literal["population", "households"] | None = None,
    method: Literal["auto", "exact", "greedy"] = "auto",
    progress: Callable[[str], None] | None = None,
) -> MclpResult:
    """Choose ``k`` new posts maximising the demand covered within ``threshold_min`` (MCLP).

    Existing stations stay open; the village's demand weight defaults as in
    :func:`demand_weights`. ``progress`` hears of the travel times and the solve.
    """
    weights, _ = demand_weights(villages, weight)
    times, existing = _allocation_times(
        engine, villages, stations, candidates, threshold_min, progress
    )
    return solve_mclp(
        times,
        weights,
        k,
        threshold_min,
        existing=existing,
        method=method,
        candidate_ids=list(candidates.ids),
        demand_ids=list(_ids(villages, "code")),
        progress=progress,
    )


def fewest_posts(
    engine: Engine,
    villages: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    candidates: Candidates,
    *,
    threshold_min: float,
    method: Literal["auto", "exact", "greedy"] = "auto",
    progress: Callable[[str], None] | None = None,
) -> LscpResult:
    """Find the fewest new posts so every village is reached within ``threshold_min`` (LSCP).

    Villages that no candidate or station can reach in time are reported in the result
    (``uncoverable``) rather than dropped. ``progress`` hears of the travel times and
    the solve.
    """
    times, existing = _allocation_times(
        engine, villages, stations, candidates, threshold_min, progress
    )
    return solve_lscp(
        times,
        threshold_min,
        existing=existing,
        method=method,
        candidate_ids=list(candidates.ids),
        demand_ids=list(_ids(villages, "code")),
        progress=progress,
    )


__all__ = [
    "DEFAULT_THRESHOLDS_MIN",
    "STATUS",
    "Candidates",
    "CoverageByMode",
    "CoverageError",
    "CoverageParams",
    "CoverageResult",
    "Isochrones",
    "candidate_sites",
    "coverage_by_mode",
    "covered_column",
    "demand_weights",
    "fewest_posts",
    "isochrones",
    "plan_new_posts",
    "village_coverage",
]
