"""Plain-text and Markdown renderings of engine results, shared by the CLI and the jobs.

Every row a planner reads says where it is: village code and name, or, for a road, its
name, class and the WGS84 point halfway along it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.allocation import AllocationResult
from geo.area import Area
from geo.coverage import Candidates, CoverageResult
from geo.scenarios import Comparison

__all__ = [
    "newly_covered",
    "comparison_markdown",
    "coverage_markdown",
    "markdown_table",
    "places",
    "post_table",
    "road_label",
    "road_names",
    "road_place",
]


def places(gdf: gpd.GeoDataFrame, *, wgs84: bool = True) -> gpd.GeoSeries:
    """Return one point per row: the point itself, a line's midpoint, a point in an area.

    In WGS84 for output (``wgs84=True``), else in the layer's own (metric) CRS.
    """
    geom = gdf.geometry.to_numpy()
    kinds = shapely.get_type_id(geom)
    pts = np.asarray(shapely.point_on_surface(geom), dtype=object)
    lines = np.isin(kinds, (1, 2, 5))
    if lines.any():
        pts[lines] = shapely.line_interpolate_point(geom[lines], 0.5, normalized=True)
    out = gpd.GeoSeries(pts, crs=gdf.crs, index=gdf.index)
    return out.to_crs(4326) if wgs84 else out


def road_label(names: pd.Series, highway: pd.Series, *, with_class: bool = False) -> np.ndarray:
    """Return each road's name, or "unnamed <class>" ("unnamed farm track").

    ``with_class`` adds the class to named roads too: "任湖路 (village road)".
    """
    from geo.lighting import ROAD_CLASS_LABELS

    named = names.astype("string").fillna("").str.strip().to_numpy()
    label = (
        highway.astype(str)
        .map(lambda h: ROAD_CLASS_LABELS.get(h, f"{h} road"))
        .to_numpy(dtype=object)
    )
    shown = named + " (" + label + ")" if with_class else named
    return np.where(named != "", shown, "unnamed " + label).astype(object)


def road_names(roads: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None) -> pd.Series:
    """Return each road's name, or for an unnamed road its class and nearest village.

    "unnamed farm track near 江庙村" says where to go; a blank cell does not.
    """
    blank = pd.Series([""] * len(roads), index=roads.index)
    names = roads["name"] if "name" in roads.columns else blank
    hw = roads["highway"] if "highway" in roads.columns else blank
    label = road_label(names, hw)
    near = np.full(len(roads), "", dtype=object)
    if "village_name" in roads.columns:
        # A table that already names each road's village (the risk tables) is followed,
        # so the label and the village column never disagree.
        given = roads["village_name"].astype("string").fillna("").to_numpy(dtype=object)
        near = np.where(given != "", " near " + given, "").astype(object)
    elif villages is not None and len(villages) and len(roads):
        mid = places(roads, wgs84=False).to_numpy()
        pts = villages.to_crs(roads.crs).geometry.representative_point().to_numpy()
        idx = shapely.STRtree(pts).query_nearest(mid, all_matches=False)
        near[idx[0]] = " near " + villages["name"].astype(str).to_numpy()[idx[1]]
    unnamed = names.astype("string").fillna("").str.strip().to_numpy() == ""
    out = np.where(unnamed, label + near, label)
    return pd.Series(out.astype(object), index=roads.index)


def road_place(roads: gpd.GeoDataFrame) -> pd.Series:
    """Return "lat, lon" (WGS84, 5 decimals: about a metre) of each row's place."""
    if not isinstance(roads, gpd.GeoDataFrame) or roads.crs is None or len(roads) == 0:
        return pd.Series([""] * len(roads), index=roads.index, dtype=object)
    ll = places(roads)
    text = np.char.add(
        np.char.add(np.char.mod("%.5f", ll.y.to_numpy()), ", "),
        np.char.mod("%.5f", ll.x.to_numpy()),
    )
    return pd.Series(text.astype(object), index=roads.index)


def post_table(area: Area, result: AllocationResult, candidates: Candidates) -> gpd.GeoDataFrame:
    """Return one row per proposed post: where it is, its road and village, what it adds."""
    villages = area.require("villages")
    chosen = list(result.chosen_ids or ())
    rows = [candidates.ids.index(c) for c in chosen]
    geom = candidates.geometry.iloc[rows].representative_point().to_numpy()
    snap = area.engine().snap
    assert snap is not None
    placed = snap.snap(shapely.get_x(geom), shapely.get_y(geom), max_distance_m=np.inf)
    e = area.net.edges.iloc[placed.edge]
    road = road_label(e["name"], e["highway"], with_class=True)
    vpts = villages.geometry.representative_point()
    near, dist = shapely.STRtree(vpts.to_numpy()).query_nearest(
        geom, return_distance=True, all_matches=False
    )
    near_name = np.empty(len(geom), dtype=object)
    near_name[near[0]] = villages["name"].astype(str).to_numpy()[near[1]]
    near_code = np.empty(len(geom), dtype=object)
    near_code[near[0]] = villages["code"].astype(str).to_numpy()[near[1]]
    gained = [
        int(((result.site == j) & result.covered & ~result.site_is_existing).sum()) for j in rows
    ]
    names = dict(zip(villages["code"].astype(str), villages["name"].astype(str), strict=True))
    ll = gpd.GeoSeries(geom, crs=area.crs).to_crs(4326)
    return gpd.GeoDataFrame(
        {
            "id": chosen,
            # A junction has no name of its own: say which village it is by.
            "name": [
                names.get(c) or f"junction near {n}" for c, n in zip(chosen, near_name, strict=True)
            ],
            "lat": ll.y.round(6).to_numpy(),
            "lon": ll.x.round(6).to_numpy(),
            "road": ["an " + r if r.startswith("unnamed") else r for r in road],
            "nearest_village": [f"{n} ({c})" for n, c in zip(near_name, near_code, strict=True)],
            "distance_m": np.round(dist, 1),
            "villages_gained": gained,
            # Raw parts of the text above, for a page in another language.
            "road_name": e["name"].to_numpy(),
            "road_class": e["highway"].to_numpy(),
            "village_name": near_name,
            "village_code": near_code,
            "at_junction": [c not in names for c in chosen],
        },
        geometry=geom,
        crs=area.crs,
    )


def newly_covered(
    area: Area, result: AllocationResult, posts: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Return the villages a plan's new posts bring within its threshold, with the post's id.

    ``posts`` is :func:`post_table`'s; the villages are the area's, in its CRS, with a
    ``post`` column naming the new post that covers each.
    """
    villages = area.require("villages")
    mask = np.asarray(result.covered, dtype=bool) & ~np.asarray(result.site_is_existing, dtype=bool)
    chosen = list(result.chosen_ids or ())
    by_site = dict(zip(np.asarray(result.chosen).tolist(), chosen, strict=True))
    posts_of = [by_site.get(int(j), "") for j in np.asarray(result.site)[mask]]
    if result.demand_ids is not None:
        # Demand rows are named by village code: match on it, not on position.
        codes = np.asarray(result.demand_ids, dtype=object)[mask]
        post = dict(zip(codes.astype(str).tolist(), posts_of, strict=True))
        out = villages[villages["code"].astype(str).isin(post)].copy()
        out["post"] = out["code"].astype(str).map(post)
        return out
    out = villages.iloc[np.flatnonzero(mask)].copy()
    out["post"] = posts_of
    return out


def markdown_table(df: pd.DataFrame) -> str:
    """Render a DataFrame as a Markdown table without extra dependencies."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for row in df.itertuples(index=False):
        cells = [_cell(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(v: object) -> str:
    # Whole numbers for populations and households, three digits for minutes and shares.
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
    return str(v)


def coverage_markdown(res: CoverageResult, *, title: str = "Coverage") -> str:
    """Summarise a coverage result: shares by threshold, catchments, unreachable villages."""
    s = res.summary.copy()
    s["village_share"] = (100 * s["village_share"]).round(1).astype(str) + " %"
    s["weight_share"] = (100 * s["weight_share"]).round(1).astype(str) + " %"
    s = s.rename(
        columns={
            "threshold_min": "within (min)",
            "villages_covered": "villages",
            "village_share": "share",
            "weight_covered": res.weight_name,
            "weight_share": f"{res.weight_name} share",
        }
    ).drop(columns=["villages"], errors="ignore")
    c = res.catchments().drop(columns=["codes"])
    v = res.villages
    slowest = v[v["status"] == "ok"].nlargest(10, "minutes")[
        ["code", "name", "facility", "minutes"]
    ]
    parts = [
        f"# {title}",
        "",
        f"Mode: {res.mode}. Travel time from the nearest station or post; "
        f"coverage weighted by {res.weight_name}.",
        "",
        markdown_table(s),
        "",
        "## Catchments (villages for which each station is the nearest)",
        "",
        markdown_table(c),
        "",
        "## The ten slowest villages to reach",
        "",
        markdown_table(slowest),
        "",
        "## Unreachable villages",
        "",
        markdown_table(res.unreachable)
        if len(res.unreachable)
        else "None: every village has a route.",
        "",
    ]
    return "\n".join(parts)


def comparison_markdown(cmp: Comparison) -> str:
    """Summarise a scenario comparison: gains and losses per threshold, changed villages."""
    v = cmp.villages
    changed = v[v["delta_min"].abs() > 1e-6].sort_values("delta_min")
    show = changed[
        ["code", "name", "facility_a", "facility_b", "minutes_a", "minutes_b", "delta_min"]
    ]
    parts = [
        f"# Scenario comparison: {cmp.a} → {cmp.b}",
        "",
        markdown_table(cmp.summary),
        "",
        "## Road lighting (km)",
        "",
        markdown_table(cmp.lit_km.reset_index(names="lit")),
        "",
        f"## Villages whose travel time changed ({len(changed)})",
        "",
        markdown_table(show.head(30)) if len(show) else "None.",
        "",
    ]
    return "\n".join(parts)


def lamp_runs(
    lamps: gpd.GeoDataFrame, risk_roads: pd.DataFrame, villages: gpd.GeoDataFrame | None
) -> pd.DataFrame:
    """Return one row per run of lamps: which road, near which village, what it lights.

    A planner orders lamps by the stretch, not by the pole: the road's name (or class
    and village), how many lamps, the metres lit, the households and night incidents
    near the run, and where its middle is.
    """
    cols = ["run", "road", "lamps", "lit_m", "households_near", "night_incidents", "where"]
    if not len(lamps):
        return pd.DataFrame(columns=cols)
    village = pd.Series(
        risk_roads["village_name"].to_numpy(), index=risk_roads["road"].to_numpy()
    ).reindex(lamps["road"].to_numpy())
    frame = lamps.assign(village_name=village.to_numpy())
    g = frame.groupby("run", sort=True)
    first = g.head(1).set_index("run")
    middle = (
        frame.sort_values(["run", "position_m"])
        .groupby("run")
        .apply(lambda r: r.iloc[len(r) // 2][["lat", "lon"]], include_groups=False)
    )
    out = pd.DataFrame(
        {
            "run": first.index.to_numpy(),
            "road": road_names(first.reset_index(), villages).to_numpy(),
            "lamps": g.size().to_numpy(),
            "lit_m": g["lit_m"].sum().round(0).to_numpy(),
            "households_near": g["households_near"].max().round(0).to_numpy(),
            "night_incidents": g["night_incidents_near"].max().to_numpy(),
            "where": (
                middle["lat"].map("{:.5f}".format) + ", " + middle["lon"].map("{:.5f}".format)
            ).to_numpy(),
        }
    )
    return out


def named_roads(ranked: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Return ranked roads with every ``name`` filled in (class and village when unnamed).

    Maps show the whole ranked roads, and a popup saying "unnamed village road near
    宋家岗村" beats a blank one.
    """
    return ranked.assign(name=road_names(ranked, villages).to_numpy())


def telling_stretches(edges: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the road stretches worth a table row: with incidents, or significant.

    A province has a million 200 m stretches and most hold nothing; listing them would
    write hundreds of megabytes of zeros. A stretch left out has no incident of its own
    and no significant Gi* score.
    """
    keep = edges["count"].to_numpy() > 0
    if "significant" in edges.columns:
        keep |= edges["significant"].fillna(False).to_numpy(dtype=bool)
    return edges[keep]
