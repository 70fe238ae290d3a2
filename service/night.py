"""Hotspots, unlit roads and lamps: one job shared by the CLI and the demo.

It calls :mod:`geo.hotspots` and :mod:`geo.lighting`, writes their tables and the
offline ``hotspots.html`` map, and renders a Markdown report. No analysis lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.atomic import write_text
from geo.hotspots import (
    EmergingHotspots,
    HotspotParams,
    HotspotResult,
    analyse_hotspots,
    emerging_hotspots,
)
from geo.lighting import (
    LampParams,
    LampPlan,
    LightingError,
    LitKmByArea,
    RoadRisk,
    lit_km_by_area,
    place_lamps,
    road_risk,
)
from geo.network import RoadNetwork
from geo.scenarios import Edit
from maps.hotspots import hotspots_map
from maps.offline import save_offline
from maps.style import Lang
from service.reports import markdown_table


@dataclass(frozen=True, eq=False)
class NightReport:
    """Everything the night-safety job computed."""

    hotspots: HotspotResult
    trends: EmergingHotspots | None
    lit: LitKmByArea
    risk: RoadRisk
    lamps: LampPlan
    lamp_edit: Edit | None


def run_night_job(
    net: RoadNetwork,
    villages: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    *,
    params: HotspotParams | None = None,
    budget: int = 30,
    spacing_m: float = 35.0,
    lamp_params: LampParams | None = None,
    trend_period: str | None = "Q",
) -> NightReport:
    """Run hotspots, lit-km tables, dark-road risk and lamp placement on one area."""
    p = params or HotspotParams(bandwidth=200.0)
    hot = analyse_hotspots(incidents, params=p, net=net)
    trends = (
        emerging_hotspots(incidents, cell_size=p.cell_size, period=trend_period)
        if trend_period
        else None
    )
    risk = road_risk(net, villages, incidents)
    plan = place_lamps(net, risk, budget=budget, spacing_m=spacing_m, params=lamp_params)
    try:
        edit: Edit | None = plan.to_edit()
    except LightingError:
        # No road is lit over enough of its length for its status to change; the plan
        # still stands, but there is nothing to mark lit in a scenario.
        edit = None
    return NightReport(
        hotspots=hot,
        trends=trends,
        lit=lit_km_by_area(net, villages),
        risk=risk,
        lamps=plan,
        lamp_edit=edit,
    )


def night_markdown(r: NightReport, *, top: int = 10) -> str:
    """Render the night-safety report."""
    h = r.hotspots
    cls = h.cells["class"].value_counts().rename_axis("class").reset_index(name="cells")
    parts = [
        "# Hotspots, unlit roads and lamps",
        "",
        f"{h.n_incidents:,} incidents; Gi* on {h.params.cell_size:g} m {h.params.shape} cells "
        f"with Benjamini–Hochberg FDR at {h.params.alpha:g}; kernel density bandwidth "
        f"{h.density.bandwidth:.0f} m ({h.density.bandwidth_rule}).",
        "",
        "## Gi* cells by class",
        "",
        markdown_table(cls),
        "",
    ]
    if h.edges is not None:
        e = h.edges.sort_values("z", ascending=False).head(top)
        cols = [
            c
            for c in ("name", "highway", "lit", "length_m", "count", "per_km", "z", "class")
            if c in e.columns
        ]
        parts += [f"## The {top} hottest road stretches", "", markdown_table(e[cols]), ""]
    if r.trends is not None:
        pat = (
            r.trends.cells["pattern"]
            .value_counts()
            .rename_axis("pattern")
            .reset_index(name="cells")
        )
        parts += ["## Emerging hot spots (quarterly)", "", markdown_table(pat), ""]
    parts += [
        "## Road lighting by township (km)",
        "",
        markdown_table(r.lit.township),
        "",
        f"## The {top} riskiest dark roads",
        "",
        markdown_table(
            r.risk.top(top)[["rank", "name", "highway", "lit", "length_m", "score", "explanation"]]
        ),
        "",
        "## Lamp plan",
        "",
        markdown_table(
            pd.DataFrame([r.lamps.summary()])
            .T.reset_index(names="figure")
            .rename(columns={0: "value"})
        ),
        "",
    ]
    return "\n".join(parts)


def write_night_outputs(
    out: Path,
    r: NightReport,
    net: RoadNetwork,
    *,
    stations: gpd.GeoDataFrame | None = None,
    lang: Lang = "zh",
    attribution: str | None = None,
) -> dict[str, Any]:
    """Write the report, tables, GeoJSON layers and ``hotspots.html`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    h = r.hotspots
    sig = h.cells[h.cells["class"] != "not significant"]
    write_text(out / "hotspots.md", night_markdown(r))
    write_text(out / "hotspot_cells.geojson", sig.to_crs(4326).to_json(drop_id=True))
    if h.edges is not None:
        write_text(out / "hotspot_roads.csv", h.edges.drop(columns="geometry").to_csv(index=False))
    for level in ("village", "township", "district"):
        write_text(out / f"lit_km_by_{level}.csv", r.lit.tables[level].to_csv(index=False))
    write_text(
        out / "unlit_roads_risk.csv", r.risk.roads.drop(columns="geometry").to_csv(index=False)
    )
    write_text(out / "lamps.geojson", r.lamps.lamps.to_crs(4326).to_json(drop_id=True))
    m = hotspots_map(
        roads=net.edges_gdf(),
        density=h.density,
        cells=h.cells,
        hot_roads=h.edges,
        risk=r.risk.roads,
        lamps=r.lamps.lamps,
        stations=stations,
        title="pingan — hotspots, dark roads and lamps",
        lang=lang,
        attribution=attribution,
    )
    save_offline(m, out / "hotspots.html")
    return {
        "incidents": h.n_incidents,
        "hot_cells": int(sig["class"].str.startswith("hot").sum()),
        "cold_cells": int(sig["class"].str.startswith("cold").sum()),
        "dark_roads_ranked": len(r.risk.roads),
        "lamps": r.lamps.summary(),
    }
