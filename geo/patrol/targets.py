"""What a patrol calls at: hot spots, dark roads to drive, villages that asked for a visit.

Targets are one table (:data:`TARGET_COLUMNS`), built from the area's own analyses by
:func:`patrol_targets` or read from a user's file by :func:`read_targets`, so that a
dispatcher can add or drop a row before planning.

- A **hot spot** is a hot road piece or Gi* cell whose own incidents are significant (a
  "core" of the hot-spot analysis of the shift's hours); its prize is the number of
  incidents there, its dwell
  15 minutes, and the hottest ones may be revisited after a gap.
- A **dark road** is one of the riskiest unlit roads of the dark-road risk; it is to be
  driven end to end (``required``), in either direction.
- A **village** visit is required: the village asked for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.area import Area
from geo.errors import PatrolError
from geo.hotspots import HotspotResult
from geo.lighting import RoadRisk
from geo.patrol.model import Units, clock_window

__all__ = ["KINDS", "TARGET_COLUMNS", "TargetParams", "patrol_targets", "read_targets"]

#: The kinds of target.
KINDS = ("hotspot", "road", "village")

#: Columns of a target table (plus ``geometry``: a point, or the road's line).
TARGET_COLUMNS = (
    "id",
    "kind",
    "name",
    "village",
    "prize",
    "dwell_min",
    "window",
    "revisit_min",
    "required",
    "check",
    "edge",
)


@dataclass(frozen=True)
class TargetParams:
    """How targets are drawn from the analyses.

    ``hotspots`` hot spots at most, the ``revisit`` hottest of them collectable again
    every ``revisit_min`` minutes; ``dark_roads`` of the riskiest routable dark roads to
    drive; ``window`` (``HH:MM-HH:MM``) when hot spots may be visited, None: any time.
    """

    hotspots: int = 30
    dwell_min: float = 15.0
    revisit: int = 5
    revisit_min: float = 120.0
    dark_roads: int = 3
    village_dwell_min: float = 20.0
    window: str | None = None

    def __post_init__(self) -> None:
        for name in ("hotspots", "revisit", "dark_roads"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                msg = f"{name} must be a whole number >= 0, got {v!r}"
                raise PatrolError(msg)
        for name in ("dwell_min", "revisit_min", "village_dwell_min"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                msg = f"{name} must be a positive number of minutes, got {v}"
                raise PatrolError(msg)
        if self.window is not None:
            clock_window(self.window, "hot spot window")


def _road_name(name: pd.Series, highway: pd.Series, blank: str = "") -> np.ndarray:
    """Return each road's name, or ``blank`` + its class + " road" where it has none."""
    text = name.astype("string").fillna("").to_numpy(dtype=object)
    return np.where(text == "", blank + highway.astype(str).to_numpy() + " road", text)


def _first_row(bad: np.ndarray) -> int:
    """Return the file row (header = 1) of the first True in ``bad``."""
    return int(np.flatnonzero(bad)[0]) + 2


def _nearest_village(points: np.ndarray, villages: gpd.GeoDataFrame | None) -> np.ndarray:
    out = np.full(len(points), "", dtype=object)
    if villages is None or not len(villages) or not len(points):
        return out
    vp = villages.geometry.representative_point().to_numpy()
    idx = shapely.STRtree(vp).query_nearest(points, all_matches=False)
    out[idx[0]] = villages["name"].astype(str).to_numpy()[idx[1]]
    return out


def _cell_names(area: Area, pts: np.ndarray) -> np.ndarray:
    """Name a hot cell by the road nearest its centre: "area by 新街", not "hot cell"."""
    if not len(pts):
        return np.zeros(0, dtype=object)
    snap = area.distances.snap.snap(shapely.get_x(pts), shapely.get_y(pts), max_distance_m=np.inf)
    e = area.roads.net.edges.iloc[snap.edge]
    label = _road_name(e["name"], e["highway"])
    return np.asarray(["area by " + str(x) for x in label], dtype=object)


def _hotspots(area: Area, hot: HotspotResult, p: TargetParams) -> gpd.GeoDataFrame:
    """Return the hot road pieces and cells with significant incidents of their own."""
    rows: list[pd.DataFrame] = []
    roads = hot.ranked_roads()
    if roads is not None and len(roads):
        r = roads[roads["core"].to_numpy(dtype=bool)]
        mid = shapely.line_interpolate_point(r.geometry.to_numpy(), 0.5, normalized=True)
        label = _road_name(r["name"], r["highway"])
        rows.append(
            pd.DataFrame(
                {
                    "id": [
                        f"H-R{int(x)}-{int(k)}" for x, k in zip(r["road"], r["piece"], strict=True)
                    ],
                    "name": label,
                    "count": r["count"].to_numpy(dtype=float),
                    "what": "road piece",
                    "geometry": mid,
                }
            )
        )
    cells = hot.ranked_cells()
    if len(cells):
        c = cells[cells["core"].to_numpy(dtype=bool)]
        pts = shapely.points(c["x"].to_numpy(), c["y"].to_numpy())
        # A cell around a hot road piece already chosen is the same place twice.
        if rows and len(rows[0]):
            tree = shapely.STRtree(rows[0]["geometry"].to_numpy())
            near = tree.query(c.geometry.to_numpy(), predicate="intersects")
            keep = np.ones(len(c), bool)
            keep[near[0]] = False
            c, pts = c[keep], pts[keep]
        rows.append(
            pd.DataFrame(
                {
                    "id": [f"H-C{int(x)}" for x in c["cell"]],
                    "name": _cell_names(area, pts),
                    "count": c["count"].to_numpy(dtype=float),
                    "what": "cell",
                    "geometry": pts,
                }
            )
        )
    if not rows:
        return gpd.GeoDataFrame(
            columns=[*TARGET_COLUMNS, "geometry"], geometry="geometry", crs=area.crs
        )
    t = pd.concat(rows, ignore_index=True).sort_values("count", ascending=False, kind="stable")
    t = t.head(p.hotspots).reset_index(drop=True)
    revisit = np.where(np.arange(len(t)) < p.revisit, p.revisit_min, np.nan)
    check = [
        f"{int(n)} incident(s) on this {w} at this time of day: stop {p.dwell_min:g} min, "
        "be seen, check who is about"
        for n, w in zip(t["count"], t["what"], strict=True)
    ]
    return gpd.GeoDataFrame(
        {
            "id": t["id"].to_numpy(dtype=object),
            "kind": "hotspot",
            "name": t["name"].to_numpy(dtype=object),
            "village": _nearest_village(t["geometry"].to_numpy(), area.villages),
            "prize": t["count"].to_numpy(dtype=float),
            "dwell_min": p.dwell_min,
            "window": p.window,
            "revisit_min": revisit,
            "required": False,
            "check": check,
            "edge": -1,
        },
        geometry=t["geometry"].to_numpy(),
        crs=area.crs,
    )


def _in_reach(area: Area, units: Sequence[Units], edge: np.ndarray) -> np.ndarray:
    """Return which roads a unit can drive end to end from its station and be back in time."""
    u0 = units[0]
    eng = area.engine(u0.mode)
    st = area.require("stations")
    rows = st[st["id"].astype(str).isin([u.station for u in units]).to_numpy()]
    if not len(rows) or not len(edge):
        return np.ones(len(edge), bool)
    loc = eng.locate_geometries(rows.geometry)
    go = np.nan_to_num(eng.matrix(loc, eng.u[edge]).seconds, nan=np.inf).min(axis=0)
    back = np.nan_to_num(eng.matrix(eng.v[edge], loc).seconds, nan=np.inf).min(axis=1)
    limit = max(u.limit_s - u.break_min * 60 for u in units)
    return np.asarray(go + eng.time[edge] + back <= limit)


def _dark_roads(
    area: Area, risk: RoadRisk, p: TargetParams, units: Sequence[Units] | None
) -> gpd.GeoDataFrame:
    """Return the riskiest dark roads a unit can drive (part of the routing core).

    With ``units``, only roads they can drive from their stations and be back within
    the shift are chosen: a road out of reach tonight is for another shift's units.
    """
    r = risk.roads
    r = r[r["routable"].to_numpy(dtype=bool) & (r["score"].to_numpy(dtype=float) > 0)]
    edge = area.roads.routing_edge[r["road"].to_numpy(dtype=np.int64)]
    r, edge = r[edge >= 0], edge[edge >= 0]
    if units:
        # The riskiest first: a bounded pool keeps the two searches small.
        pool = 50 * max(p.dark_roads, 1)
        r, edge = r.head(pool), edge[:pool]
        ok = _in_reach(area, units, edge)
        r = r[ok]
    r = r.head(p.dark_roads)
    edge = area.roads.routing_edge[r["road"].to_numpy(dtype=np.int64)]
    name = _road_name(r["name"], r["highway"], "unnamed ")
    check = [
        f"unlit road, risk rank {int(k)} (score {s:.2f}): drive it slowly, note dark stretches "
        "and hazards"
        for k, s in zip(r["rank"], r["score"], strict=True)
    ]
    return gpd.GeoDataFrame(
        {
            "id": [f"D-{int(x)}" for x in r["road"]],
            "kind": "road",
            "name": name,
            "village": r["village_name"].astype("string").fillna("").to_numpy(dtype=object),
            "prize": r["score"].to_numpy(dtype=float),
            "dwell_min": np.nan,
            "window": None,
            "revisit_min": np.nan,
            "required": True,
            "check": check,
            "edge": edge,
        },
        geometry=r.geometry.to_numpy(),
        crs=area.crs,
    )


def _villages(area: Area, codes: Sequence[str], p: TargetParams) -> gpd.GeoDataFrame:
    v = area.require("villages")
    code = v["code"].astype(str)
    missing = [c for c in codes if c not in set(code)]
    if missing:
        msg = f"village code(s) {', '.join(missing[:5])} are not in the villages layer"
        raise PatrolError(msg)
    chosen = v[code.isin(list(codes)).to_numpy()]
    return gpd.GeoDataFrame(
        {
            "id": ["V-" + str(c) for c in chosen["code"]],
            "kind": "village",
            "name": chosen["name"].astype(str).to_numpy(dtype=object),
            "village": chosen["name"].astype(str).to_numpy(dtype=object),
            "prize": 0.0,
            "dwell_min": p.village_dwell_min,
            "window": None,
            "revisit_min": np.nan,
            "required": True,
            "check": "visit asked for: meet the village's auxiliary officer, hear concerns",
            "edge": -1,
        },
        geometry=chosen.geometry.representative_point().to_numpy(),
        crs=area.crs,
    )


def patrol_targets(
    area: Area,
    *,
    hotspots: HotspotResult | None = None,
    risk: RoadRisk | None = None,
    villages: Sequence[str] = (),
    params: TargetParams | None = None,
    units: Sequence[Units] | None = None,
) -> gpd.GeoDataFrame:
    """Return the target table of a shift from the area's analyses.

    Parameters
    ----------
    area
        The area planned.
    hotspots
        A hot-spot analysis of the area's incidents (night incidents for a night shift).
    risk
        The dark-road risk of the area; its riskiest routable roads are to be driven.
    villages
        Codes of villages that asked for a visit.
    params
        How many of each, dwell times, revisits.
    units
        The units of the shift: the dark roads are then the riskiest they can drive
        from their stations and be back in time.
    """
    p = params or TargetParams()
    parts = []
    if hotspots is not None:
        parts.append(_hotspots(area, hotspots, p))
    if risk is not None and p.dark_roads:
        parts.append(_dark_roads(area, risk, p, units))
    if villages:
        parts.append(_villages(area, list(villages), p))
    parts = [x for x in parts if len(x)]
    if not parts:
        return gpd.GeoDataFrame(
            columns=[*TARGET_COLUMNS, "geometry"], geometry="geometry", crs=area.crs
        )
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=area.crs)


def read_targets(path: str | Path, area: Area) -> gpd.GeoDataFrame:
    """Read a user's target table (CSV with ``lon``/``lat``, or any vector file).

    Columns: ``id``, ``name``, ``prize`` are needed; ``kind`` (default hotspot),
    ``dwell_min`` (15), ``window`` (HH:MM-HH:MM), ``revisit_min``, ``required``
    (default false), ``check`` are optional. Points only: a road to drive comes from the
    dark-road risk.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"targets file {path} does not exist"
        raise PatrolError(msg)
    if path.suffix.lower() in (".csv", ".txt"):
        df = pd.read_csv(path, dtype={"id": str, "window": str})
        for name in ("lon", "lat"):
            if name not in df.columns:
                msg = f"{path}: a CSV of targets needs column {name!r} (WGS84 degrees)"
                raise PatrolError(msg)
        lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy()
        lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy()
        bad = ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
        if bad.any():
            row = _first_row(bad)
            msg = f"{path}, row {row}: lon/lat are not valid WGS84 degrees"
            raise PatrolError(msg)
        gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    else:
        gdf = gpd.read_file(path)
        if gdf.crs is None:
            msg = f"{path}: the file has no CRS"
            raise PatrolError(msg)
    for name in ("id", "name", "prize"):
        if name not in gdf.columns:
            msg = f"{path}: targets need column {name!r}"
            raise PatrolError(msg)
    if not (gdf.geom_type == "Point").all():
        row = _first_row((gdf.geom_type != "Point").to_numpy())
        msg = f"{path}, row {row}: targets must be points"
        raise PatrolError(msg)
    prize = pd.to_numeric(gdf["prize"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(prize) | (prize < 0)
    if bad.any():
        row = _first_row(bad)
        msg = f"{path}, row {row}, column 'prize': must be a number >= 0"
        raise PatrolError(msg)
    ids = gdf["id"].astype(str)
    if ids.duplicated().any():
        msg = f"{path}: target id {ids[ids.duplicated()].iloc[0]!r} appears twice"
        raise PatrolError(msg)
    n = len(gdf)

    def col(name: str, default: object) -> pd.Series:
        return gdf[name] if name in gdf.columns else pd.Series([default] * n, index=gdf.index)

    kind = col("kind", "hotspot").astype(str)
    if (~kind.isin(["hotspot", "village"])).any():
        row = _first_row((~kind.isin(["hotspot", "village"])).to_numpy())
        msg = f"{path}, row {row}, column 'kind': must be hotspot or village"
        raise PatrolError(msg)
    dwell = pd.to_numeric(col("dwell_min", 15.0), errors="coerce").to_numpy(dtype=float)
    revisit = pd.to_numeric(col("revisit_min", np.nan), errors="coerce").to_numpy(dtype=float)
    for name, a, ok in (
        ("dwell_min", dwell, np.isfinite(dwell) & (dwell >= 0)),
        ("revisit_min", revisit, np.isnan(revisit) | (revisit > 0)),
    ):
        if not ok.all():
            row = _first_row(~ok)
            msg = (
                f"{path}, row {row}, column {name!r}: must be a number of minutes, got {a[~ok][0]}"
            )
            raise PatrolError(msg)
    window = col("window", None).astype(object).where(col("window", None).notna(), None)
    for k, w in enumerate(window):
        if w is not None and str(w).strip():
            try:
                clock_window(str(w), "window")
            except PatrolError as exc:
                msg = f"{path}, row {k + 2}, column 'window': {exc}"
                raise PatrolError(msg) from exc
    req = col("required", False).astype(str).str.strip().str.lower()
    bad_req = (~req.isin(["true", "false", "1", "0", "yes", "no", ""])).to_numpy()
    if bad_req.any():
        msg = f"{path}, row {_first_row(bad_req)}, column 'required': must be true or false"
        raise PatrolError(msg)
    pts = gdf.to_crs(area.crs).geometry
    return gpd.GeoDataFrame(
        {
            "id": ids.to_numpy(dtype=object),
            "kind": kind.to_numpy(dtype=object),
            "name": gdf["name"].astype(str).to_numpy(dtype=object),
            "village": _nearest_village(pts.to_numpy(), area.villages),
            "prize": prize,
            "dwell_min": dwell,
            "window": [None if (w is None or not str(w).strip()) else str(w) for w in window],
            "revisit_min": revisit,
            "required": req.isin(["true", "1", "yes"]).to_numpy(),
            "check": col("check", "").astype(str).to_numpy(dtype=object),
            "edge": -1,
        },
        geometry=pts.to_numpy(),
        crs=area.crs,
    )
