"""Hotspots, unlit roads and lamps: one job shared by ``pingan run``, the demo and the CLI.

It calls :mod:`geo.hotspots` and :mod:`geo.lighting` on an :class:`~geo.area.Area`,
writes their tables and the offline ``hotspots.html`` map through the one
:class:`~service.output.Output`, and renders a Markdown report. No analysis lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.area import Area
from geo.errors import ScenarioError
from geo.hotspots import (
    EmergingHotspots,
    HotspotParams,
    HotspotResult,
    TrendsSkipped,
    analyse_hotspots,
    emerging_hotspots_auto,
    filter_incidents,
)
from geo.hotspots import emerging_hotspots as find_emerging
from geo.hotspots.pipeline import MIN_INCIDENTS
from geo.lighting import LampParams, LampPlan, LitKmByArea, RoadRisk, lit_km_by_area
from geo.lighting import place_lamps as plan_lamps
from geo.lighting import road_risk as score_roads
from geo.scenarios import Edit, lamp_edit
from maps.basemap import Basemap
from maps.hotspots import hotspots_map
from maps.style import Lang, page_title
from service.output import Output
from service.reports import (
    markdown_table,
    named_roads,
    road_names,
    road_place,
    telling_stretches,
)

#: The night of the night-safety job: the same window as the dark-road risk.
NIGHT_HOURS = (19, 6)

__all__ = [
    "NIGHT_HOURS",
    "NightReport",
    "dark_road_risk",
    "hotspots_of",
    "night_markdown",
    "run_night_job",
    "write_night_outputs",
]


@dataclass(frozen=True, eq=False)
class NightReport:
    """Everything the night-safety job computed (hot spots only with incidents)."""

    hotspots: HotspotResult | None
    trends: EmergingHotspots | None
    lit: LitKmByArea
    risk: RoadRisk
    lamps: LampPlan
    lamp_edit: Edit | None
    dark_roads: gpd.GeoDataFrame  # the risk ranked as whole roads, computed once
    trends_skipped: TrendsSkipped | None = None
    n_incidents_all: int = 0


def hotspots_of(
    area: Area, selected: gpd.GeoDataFrame, params: HotspotParams | None = None
) -> HotspotResult | None:
    """Return the hot spots of incidents already selected, on the area's roads.

    None with fewer than :data:`MIN_INCIDENTS`: there is no pattern to test.
    """
    if len(selected) < MIN_INCIDENTS:
        return None
    p = params or HotspotParams(bandwidth=200.0)
    return analyse_hotspots(selected, params=p, roads=area.roads, snap=area.distances.snap)


def run_night_job(
    area: Area,
    *,
    incidents: Any = None,
    params: HotspotParams | None = None,
    budget: int = 30,
    spacing_m: float = 35.0,
    lamp_params: LampParams | None = None,
    trend_period: str | None = "auto",
) -> NightReport:
    """Run hotspots, lit-km tables, dark-road risk and lamp placement on one area.

    ``incidents`` overrides the area's incident layer (a filtered selection, say).
    Hot spots, density and trends use the night incidents (19:00–06:00): this is the
    night-safety job, and its map must show where the night is unsafe. Without incidents
    the hot spots are skipped and the risk has no incident term.
    """
    villages = area.require("villages")
    inc = area.incidents if incidents is None else incidents
    p = params or HotspotParams(bandwidth=200.0)
    hot = trends = skipped = None
    n_all = 0 if inc is None else len(inc)
    if inc is not None and len(inc):
        night = filter_incidents(inc, hours=NIGHT_HOURS)
        hot = hotspots_of(area, night, p)
        if hot is not None:
            if trend_period == "auto":
                found = emerging_hotspots_auto(night, cell_size=p.cell_size)
                if isinstance(found, TrendsSkipped):
                    skipped = found
                else:
                    trends = found
            elif trend_period:
                trends = find_emerging(night, cell_size=p.cell_size, period=trend_period)
    risk = dark_road_risk(area, inc)
    plan = plan_lamps(
        area.roads,
        risk,
        budget=budget,
        spacing_m=spacing_m,
        params=lamp_params,
        engine=area.distances,
        households=area.groups,
    )
    try:
        edit: Edit | None = lamp_edit(plan)
    except ScenarioError:
        # No road is lit over enough of its length for its status to change; the plan
        # still stands, but there is nothing to mark lit in a scenario.
        edit = None
    return NightReport(
        hotspots=hot,
        trends=trends,
        lit=lit_km_by_area(area.roads, villages),
        risk=risk,
        lamps=plan,
        lamp_edit=edit,
        dark_roads=risk.by_road(),
        trends_skipped=skipped,
        n_incidents_all=n_all,
    )


def dark_road_risk(area: Area, incidents: Any = None) -> RoadRisk:
    """Score the area's dark roads as every command does: village polygons, groups where known.

    ``incidents`` overrides the area's incident layer.
    """
    inc = area.incidents if incidents is None else incidents
    return score_roads(
        area.roads, area.village_shapes(), inc, engine=area.distances, groups=area.groups
    )


def night_markdown(r: NightReport, *, top: int = 10, villages: Any = None) -> str:
    """Render the night-safety report."""
    parts = ["# Hotspots, unlit roads and lamps", ""]
    h = r.hotspots
    if h is None:
        parts += ["No incident layer: hot spots were not computed.", ""]
    else:
        cls = h.cells["class"].value_counts().rename_axis("class").reset_index(name="cells")
        parts += [
            f"{h.n_incidents:,} night incidents (19:00–06:00) of {r.n_incidents_all:,}; "
            f"Gi* on {h.params.cell_size:g} m {h.params.shape} "
            f"cells with Benjamini–Hochberg FDR at {h.params.alpha:g}; kernel density "
            f"bandwidth {h.density.bandwidth:.0f} m ({h.density.bandwidth_rule}).",
            "",
            "## Gi* cells by class",
            "",
            markdown_table(cls),
            "",
        ]
        ranked = h.ranked_roads()
        if ranked is not None:
            e = ranked.head(top)
            cols = ["rank", "name", "highway", "lit", "length_m", "count", "per_km"]
            cols += ["expected", "role", "z"]
            shown = e[cols].assign(name=road_names(e, villages), where=road_place(e))
            parts += [
                f"## The {top} road stretches with the strongest evidence",
                "",
                "Hotspot cores first (at least "
                f"{h.params.min_count} night incidents of their own, significant after FDR), "
                "then by own count, rate per km and Gi* z. A stretch 'part of a hot area' is "
                "hot only through its neighbours.",
                "",
                markdown_table(shown) if len(shown) else "No road stretch stands out.",
                "",
            ]
            if h.n_unsnapped:
                parts += [
                    f"{h.n_unsnapped:,} incidents lie farther than {h.params.max_snap_m:g} m "
                    "from every road and are counted on no road.",
                    "",
                ]
    if r.trends_skipped is not None:
        parts += ["## Emerging hot spots", "", f"Trends skipped: {r.trends_skipped.reason}.", ""]
    if r.trends is not None:
        pat = r.trends.cells["pattern"].value_counts()
        parts += [
            f"## Emerging hot spots ({len(r.trends.periods)} periods of {r.trends.period!r})",
            "",
            markdown_table(pat.rename_axis("pattern").reset_index(name="cells")),
            "",
        ]
    risk_cols = ["rank", "name", "highway", "lit", "length_m", "pieces", "village_name", "score"]
    top_risk = r.dark_roads.head(top)
    parts += [
        "## Road lighting by township (km)",
        "",
        markdown_table(r.lit.township),
        "",
        f"## The {top} riskiest dark roads (a road's pieces and carriageways as one)",
        "",
        markdown_table(
            top_risk[risk_cols].assign(
                name=road_names(top_risk, villages), where=road_place(top_risk)
            )
        ),
        "",
        "Why each scores as it does:",
        "",
        *[
            f"{k}. {text}"
            for k, text in zip(top_risk["rank"], top_risk["explanation"], strict=True)
        ],
        "",
        "## Lamp plan",
        "",
        f"Households are counted from the {r.lamps.household_basis}.",
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
    out: Output,
    r: NightReport,
    area: Area,
    *,
    lang: Lang = "zh",
    attribution: str | None = None,
    base: Basemap | None = None,
) -> dict[str, Any]:
    """Write the report, tables, GeoJSON layers and ``hotspots.html``; return the figures."""
    out.text("hotspots.md", night_markdown(r, villages=area.villages))
    h = r.hotspots
    figures: dict[str, Any] = {"incidents": 0, "hot_cells": 0, "cold_cells": 0}
    if h is not None:
        cells = h.cells
        sig = cells[cells["class"] != "not significant"]
        out.geojson("hotspot_cells.geojson", sig)
        if h.edges is not None:
            out.csv("hotspot_roads.csv", telling_stretches(h.edges))
        roles = h.edges["role"] if h.edges is not None and "role" in h.edges else None
        figures = {
            "incidents": h.n_incidents,
            "hotspot_core_roads": int((roles == "hotspot core").sum()) if roles is not None else 0,
            "hot_cells": int(sig["class"].str.startswith("hot").sum()),
            "cold_cells": int(sig["class"].str.startswith("cold").sum()),
            "incidents_off_road": h.n_unsnapped,
        }
    if r.trends is not None:
        out.csv("hotspot_trends.csv", r.trends.cells)
    for level, table in r.lit.by_level().items():
        out.csv(f"lit_km_by_{level}.csv", table)
    out.csv("unlit_roads_risk.csv", r.risk.pieces(r.dark_roads))
    out.csv("dark_roads_ranked.csv", r.dark_roads)
    out.geojson("lamps.geojson", r.lamps.lamps)
    m = hotspots_map(
        roads=area.roads.frame(),
        density=h.density if h is not None else None,
        cells=h.cells if h is not None else None,
        hot_roads=h.edges if h is not None else None,
        risk=named_roads(r.dark_roads, area.villages),
        lamps=r.lamps.lamps,
        stations=area.stations,
        title=page_title("hotspots", area.name, lang),
        lang=lang,
        attribution=attribution,
        base=base,
    )
    out.map("hotspots.html", m)
    return {
        **figures,
        "dark_roads_ranked": len(r.risk.roads),
        "night_incidents_off_road": r.risk.n_unsnapped,
        "lamps": r.lamps.summary(),
    }
