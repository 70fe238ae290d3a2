"""Plain-text and Markdown renderings of engine results, shared by the CLI and the jobs.

Every row a planner reads says where it is: village code and name, or, for a road, its
name, class and the WGS84 point halfway along it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coverage import CoverageResult
from geo.scenarios import Comparison

__all__ = [
    "comparison_markdown",
    "coverage_markdown",
    "markdown_table",
    "road_names",
    "road_place",
]


def road_names(roads: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None) -> pd.Series:
    """Return each road's name, or for an unnamed road its class and nearest village.

    "unnamed farm track near 江庙村" says where to go; a blank cell does not.
    """
    from geo.lighting import ROAD_CLASS_LABELS

    names = roads["name"] if "name" in roads.columns else pd.Series([None] * len(roads))
    named = names.astype("string").fillna("").str.strip().to_numpy()
    hw = (
        roads["highway"].astype(str) if "highway" in roads.columns else pd.Series([""] * len(roads))
    )
    label = hw.map(lambda h: ROAD_CLASS_LABELS.get(h, f"{h} road")).to_numpy(dtype=object)
    near = np.full(len(roads), "", dtype=object)
    if villages is not None and len(villages) and len(roads):
        mid = shapely.line_interpolate_point(roads.geometry.to_numpy(), 0.5, normalized=True)
        pts = villages.to_crs(roads.crs).geometry.representative_point().to_numpy()
        idx = shapely.STRtree(pts).query_nearest(mid, all_matches=False)
        near[idx[0]] = " near " + villages["name"].astype(str).to_numpy()[idx[1]]
    out = np.where(named != "", named, "unnamed " + label + near)
    return pd.Series(out.astype(object), index=roads.index)


def road_place(roads: gpd.GeoDataFrame) -> pd.Series:
    """Return "lat, lon" (WGS84, 5 decimals: about a metre) of each road's midpoint."""
    if not isinstance(roads, gpd.GeoDataFrame) or roads.crs is None or len(roads) == 0:
        return pd.Series([""] * len(roads), index=roads.index, dtype=object)
    mid = shapely.line_interpolate_point(roads.geometry.to_numpy(), 0.5, normalized=True)
    ll = gpd.GeoSeries(mid, crs=roads.crs).to_crs(4326)
    text = np.char.add(
        np.char.add(np.char.mod("%.5f", ll.y.to_numpy()), ", "),
        np.char.mod("%.5f", ll.x.to_numpy()),
    )
    return pd.Series(text.astype(object), index=roads.index)


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
