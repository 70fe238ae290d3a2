"""The patrol job: targets from the area's analyses, K plans, their files and report.

Shared by ``pingan patrol``, ``pingan run`` and the demo. The planning is
:mod:`geo.patrol`'s; here are only the choice of inputs, the files and the Markdown.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.area import Area
from geo.errors import PatrolError
from geo.hotspots import HotspotResult, filter_incidents
from geo.lighting import RoadRisk
from geo.patrol import (
    PastShift,
    PatrolParams,
    PatrolVariants,
    Shift,
    TargetParams,
    Units,
    patrol_targets,
    plan_variants,
    read_targets,
)
from geo.patrol.build import NOT_CHOSEN
from service.output import Output
from service.reports import markdown_table

if TYPE_CHECKING:
    from service.map_options import MapSettings

__all__ = [
    "PatrolReport",
    "default_station",
    "patrol_markdown",
    "read_recent",
    "run_patrol_job",
    "write_patrol_map",
    "write_patrol_outputs",
]


@dataclass(frozen=True, eq=False)
class PatrolReport:
    """What the patrol job planned: the variants, on which targets, for which units."""

    area: str
    variants: PatrolVariants
    targets: gpd.GeoDataFrame
    units: tuple[Units, ...]
    recent: tuple[PastShift, ...] = ()


def default_station(area: Area) -> str:
    """Return the station a plan starts from when none is named: the first police station."""
    st = area.require("stations")
    kind = st["kind"].astype(str) if "kind" in st.columns else pd.Series([""] * len(st))
    first = np.flatnonzero(kind.to_numpy() == "station")
    return str(st["id"].iloc[int(first[0]) if len(first) else 0])


def read_recent(paths: Sequence[str | Path]) -> tuple[PastShift, ...]:
    """Read the saved plans (``patrol_plan.json``) of earlier shifts."""
    out = []
    for path in paths:
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            msg = f"cannot read the earlier plan {p}: {exc.strerror or exc}"
            raise PatrolError(msg) from exc
        except json.JSONDecodeError as exc:
            msg = f"{p} is not JSON (line {exc.lineno}): not a saved patrol plan"
            raise PatrolError(msg) from exc
        past = data.get("past") if isinstance(data, dict) else None
        out.append(PastShift.from_dict(past, where=str(p)))
    return tuple(out)


def _night_hotspots(area: Area, shift: Shift | None = None) -> HotspotResult | None:
    """Return the hot spots of the shift's hours (the night's, 19:00-06:00, without one)."""
    from service.night import NIGHT_HOURS, hotspots_of

    if area.incidents is None:
        return None
    hours: tuple[str, str] | tuple[int, int] = NIGHT_HOURS
    if shift is not None:
        hours = (f"{shift.start:%H:%M}", f"{shift.end:%H:%M}")
    return hotspots_of(area, filter_incidents(area.incidents, hours=hours))


def run_patrol_job(
    area: Area,
    units: Sequence[Units],
    *,
    params: PatrolParams | None = None,
    variants: int = 3,
    hotspots: HotspotResult | None = None,
    risk: RoadRisk | None = None,
    villages: Sequence[str] = (),
    targets_file: str | Path | None = None,
    target_params: TargetParams | None = None,
    recent: Sequence[PastShift] = (),
) -> PatrolReport:
    """Choose the targets and plan ``variants`` diverse plans of one shift.

    Targets come from ``targets_file`` when given, else from the hot spots of the shift's
    hours (computed here unless given) and the riskiest dark roads the units can drive
    (``risk``, computed here unless given and the area has villages), plus the
    ``villages`` that asked for a visit.
    """
    if targets_file is not None:
        targets = read_targets(targets_file, area)
        if villages:
            extra = patrol_targets(area, villages=villages, params=target_params)
            targets = gpd.GeoDataFrame(
                pd.concat([targets, extra], ignore_index=True), geometry="geometry", crs=area.crs
            )
    else:
        hot = hotspots if hotspots is not None else _night_hotspots(area, units[0].shift)
        if risk is None and area.villages is not None:
            from service.night import dark_road_risk

            risk = dark_road_risk(area)
        targets = patrol_targets(
            area, hotspots=hot, risk=risk, villages=villages, params=target_params, units=units
        )
    if not len(targets):
        msg = (
            "there is nothing to patrol: no hot spots (the area needs incidents), no dark "
            "roads (it needs villages) and no village visits; give --targets FILE or --visit"
        )
        raise PatrolError(msg)
    got = plan_variants(area, units, targets, params, variants=variants, recent=recent)
    return PatrolReport(area.name, got, targets, tuple(units), tuple(recent))


def _clock(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).strftime("%H:%M")


def patrol_markdown(report: PatrolReport) -> str:
    """Render the plans as a Markdown report a dispatcher reads before the shift."""
    v = report.variants
    best = v.plans[0]
    s = best.summary()
    u0 = report.units[0]
    stations = ", ".join(sorted({u.station for u in report.units}))
    lines = [
        f"# Patrol plan — {report.area}, {s['date']} {s['shift']}",
        "",
        f"{s['units']} {u0.mode} unit(s) from {stations}; {len(report.targets)} targets "
        f"({(report.targets['kind'] == 'hotspot').sum()} hot spots, "
        f"{(report.targets['kind'] == 'road').sum()} dark roads to drive, "
        f"{(report.targets['kind'] == 'village').sum()} village visits).",
        "",
        f"Plan 1 calls at {s['hotspots']} hot spots ({s['revisits']} revisits), drives "
        f"{s['roads_driven']} dark road(s), visits {s['villages']} village(s): "
        f"{s['km']:.1f} km, the longest unit out {s['longest_min']:.0f} min, prize "
        f"{s['prize']:.1f} of {s['prize_available']:.1f} possible.",
    ]
    if report.recent:
        lines.append(
            f"Roads and hot spots of {len(report.recent)} earlier shift(s) were made less "
            "attractive, so tonight differs."
        )
    lines += ["", "## Units", ""]
    units = best.units
    lines.append(
        markdown_table(
            units.assign(leave=units["leave"].map(_clock), back=units["back"].map(_clock))[
                ["unit", "station", "leave", "back", "minutes", "km", "stops", "prize", "break_at"]
            ].round(1)
        )
    )
    lines += [
        "",
        "## Stops (plan 1)",
        "",
        "A unit early for a revisit's or a window's time waits there (`wait`, minutes) and "
        "starts its dwell `from` then.",
        "",
    ]
    st = best.stops
    st = st[st["kind"] != "station"]
    table = pd.DataFrame(
        {
            "unit": st["unit"],
            "#": st["seq"],
            "arrive": st["arrive"].map(_clock),
            "wait": st["wait_min"].round(0),
            "from": st["start"].map(_clock),
            "dwell": st["dwell_min"].round(0),
            "kind": st["kind"],
            "name": st["name"],
            "village": st["village"],
            "visit": st["visit"],
            "lat, lon": st["lat"].map("{:.5f}".format) + ", " + st["lon"].map("{:.5f}".format),
        }
    )
    lines.append(markdown_table(table))
    if len(best.left_out):
        lines += ["", "## Left out", ""]
        lines.append(markdown_table(best.left_out.round(2)))
    if len(v.plans) > 1:
        e, h = v.mean_jaccard
        lines += [
            "",
            "## Variants",
            "",
            f"{len(v.plans)} plans, each collecting at least {v.min_share:.0%} of the best "
            f"plan's prize; mean Jaccard distance between them {e:.2f} on roads driven and "
            f"{h:.2f} on hot spots visited (0: the same, 1: nothing shared). Pick one per "
            "night: patrol_variant_K.gpx and patrol_variant_K_sheet.csv.",
            "",
            markdown_table(v.table().round(3)),
        ]
        if h == 0 and not (best.left_out["reason"].astype(str) == NOT_CHOSEN).any():
            lines += [
                "",
                "Every plan calls at every target the units can reach, so the variants differ "
                "in the roads driven and the order and times of the stops, not in the places.",
            ]
    lines += [
        "",
        "Times are the road engine's travel times plus the dwell; prize is the number of "
        "incidents at a hot spot in the shift's hours, counted again on each revisit, and a "
        "dark road's risk score.",
    ]
    return "\n".join(lines) + "\n"


def write_patrol_outputs(out: Output, report: PatrolReport) -> dict[str, Any]:
    """Write the plan files; return the headline figures for ``summary.json``."""
    from service.patrol_files import plan_geojson, plan_gpx, shift_sheet

    v = report.variants
    best = v.plans[0]
    out.json("patrol_routes.geojson", plan_geojson(best))
    out.text("patrol.gpx", plan_gpx(best))
    out.csv("patrol_shift_sheet.csv", shift_sheet(best))
    out.json("patrol_plan.json", best.to_dict())
    out.csv("patrol_targets.csv", report.targets)
    for k, plan in enumerate(v.plans[1:], start=2):
        out.text(f"patrol_variant_{k}.gpx", plan_gpx(plan))
        out.csv(f"patrol_variant_{k}_sheet.csv", shift_sheet(plan))
    if len(v.plans) > 1:
        out.csv("patrol_variants.csv", v.table())
    out.text("patrol.md", patrol_markdown(report))
    e, h = v.mean_jaccard
    return {
        **best.summary(),
        "variants": len(v.plans),
        "variant_share_of_best": [float(x) for x in v.relative],
        "mean_road_jaccard": e,
        "mean_hotspot_jaccard": h,
    }


def write_patrol_map(out: Output, report: PatrolReport, area: Area, settings: MapSettings) -> Path:
    """Write ``patrol_map.html``: every variant's routes, stops, hot spots, unlit roads.

    The best plan is shown, the other variants are layers to switch on; the page opens
    offline (see :func:`maps.patrol.patrol_map`).
    """
    from maps.patrol import patrol_map
    from service.map_options import credit

    lang = settings.lang
    s = report.variants.plans[0].shift
    head = "巡逻方案" if lang == "zh" else f"Patrol plan — {report.area},"
    m = patrol_map(
        report.variants,
        roads=area.roads.frame(),
        stations=_stations_or_empty(area),
        targets=report.targets,
        title=f"{head} {s.date.isoformat()} {s.label}",
        base=settings.base,
        lang=lang,
        attribution=credit(area, lang),
    )
    return out.map("patrol_map.html", m)


def _stations_or_empty(area: Area) -> gpd.GeoDataFrame:
    if area.stations is not None:
        return area.stations
    return gpd.GeoDataFrame({"id": [], "name": [], "kind": []}, geometry=[], crs=area.crs)
