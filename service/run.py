"""The main job: an area in, its full report and both maps out.

``pingan run`` runs it on a user's own area (an area file, or files given one by one);
``pingan demo`` runs it on the built-in sample district. Both write the same files under
the same names (:data:`service.output.FILES`): the summary, the overview map, coverage
(by mode where several are loaded), isochrones, a first scenario compared with the base,
and the night-safety outputs. A step whose layer the area lacks is skipped and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from geo.area import LAYERS, Area
from geo.coverage import (
    CoverageParams,
    CoverageResult,
    coverage_by_mode,
    isochrones,
    village_coverage,
)
from geo.lighting import LampParams
from geo.network import NetworkSummary, ProgressFn, source_sha256
from geo.sample import SYNTHETIC_LABEL
from geo.scenarios import (
    Edit,
    Scenario,
    ScenarioResult,
    compare,
    evaluate,
    propose_post_and_lamps,
    save_scenario,
)
from maps.style import Lang, page_title
from service.index_page import index_html
from service.map_cli import write_overview_map
from service.map_options import MapSettings, credit, settings_for, write_coverage_map
from service.night import NightReport, run_night_job, write_night_outputs
from service.output import Output
from service.reports import comparison_markdown, coverage_markdown, markdown_table
from service.runs import RunOutput

__all__ = [
    "SnapReport",
    "credit",
    "run_area",
    "snap_report",
    "summary_markdown",
    "write_posts",
]

#: The shift the main job plans patrols for.
DEMO_SHIFT = "20:00-02:00"


@dataclass(frozen=True)
class SnapReport:
    """How far each layer's points lie from the road network."""

    layer: str
    points: int
    flagged: int
    median_m: float
    max_m: float
    flagged_names: tuple[str, ...]


def snap_report(area: Area, name: str, gdf: gpd.GeoDataFrame, label: str) -> SnapReport:
    """Snap a layer to the routing network with the area's own snapper and summarise."""
    engine = area.engine()
    res = engine.locate_geometries(gdf.geometry).snap
    assert res is not None
    d = res.distance_m[np.isfinite(res.distance_m)]
    flagged = gdf[label].astype(str).to_numpy()[res.flagged]
    return SnapReport(
        layer=name,
        points=len(gdf),
        flagged=int(res.flagged.sum()),
        median_m=round(float(np.median(d)), 1) if len(d) else float("nan"),
        max_m=round(float(d.max()), 1) if len(d) else float("nan"),
        flagged_names=tuple(flagged[:20]),
    )


def summary_markdown(
    area: Area, s: NetworkSummary, snaps: list[SnapReport], skipped: list[str]
) -> str:
    """Render the summary for people."""
    roads = area.roads
    all_km = roads.lit_km()
    routable = roads.lit_km(roads.routable)
    lines = [f"# pingan — {area.name}", ""]
    if area.spec.synthetic:
        lines += [f"> {SYNTHETIC_LABEL}", ""]
    lines += [
        "## Roads",
        "",
        f"- every road of the file ({s.mode}): {sum(all_km.values()):.1f} km; "
        f"lit: {all_km['yes']:.1f} km; unlit: {all_km['no']:.1f} km; "
        f"unknown: {all_km['unknown']:.1f} km",
        f"- routing network (largest strongly connected component): {s.nodes:,} nodes, "
        f"{s.edges:,} directed edges, {s.road_km:.1f} km; lit: {routable['yes']:.1f} km; "
        f"unlit: {routable['no']:.1f} km; unknown: {routable['unknown']:.1f} km",
        f"- not routable (cut off from the main network): {s.dropped.components} "
        f"piece(s), {s.dropped.road_km:.2f} km — counted and drawn, but no route uses them",
        f"- working CRS: {s.crs}; ways read: {s.source.ways_read:,}; trimmed at the extract "
        f"edge: {s.source.ways_trimmed:,}",
        "",
        "## Layers",
        "",
    ]
    v = area.villages
    if v is not None:
        kinds = v["kind"].value_counts() if "kind" in v.columns else {}
        hh = int(v["households"].sum()) if "households" in v.columns else 0
        lines.append(
            f"- villages: {len(v)} ({int(kinds.get('village', 0))} villages, "
            f"{int(kinds.get('community', 0))} communities), {hh:,} households"
        )
    if area.stations is not None:
        lines.append(f"- stations and posts: {len(area.stations)}")
    if area.teams is not None:
        lines.append(
            f"- vanguard teams: {len(area.teams)} ({int(area.teams['members'].sum())} members)"
        )
    if area.officers is not None:
        placed = int(area.officers["village_code"].fillna("").astype(str).ne("").sum())
        lines.append(
            f"- auxiliary officers (辅警): {len(area.officers)}, {placed} placed in a village"
        )
    if area.incidents is not None:
        lines.append(f"- incidents: {len(area.incidents):,}")
    if area.groups is not None:
        lines.append(
            f"- village groups: {len(area.groups)}, {int(area.groups['households'].sum()):,} "
            "households"
        )
    if area.boundaries is not None:
        lines.append(f"- village boundaries: {len(area.boundaries)}")
    lines += [f"- note: {n}" for n in area.notes]
    lines += [
        "",
        "## Distance to the nearest road",
        "",
        "| layer | points | flagged | median m | max m | flagged (first 20) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    lines += [
        f"| {r.layer} | {r.points} | {r.flagged} | {r.median_m} | {r.max_m} | "
        f"{', '.join(r.flagged_names)} |"
        for r in snaps
    ]
    if skipped:
        lines += ["", "## Not computed", ""] + [f"- {why}" for why in skipped]
    return "\n".join(lines) + "\n"


def run_area(
    area: Area,
    out: str | Path,
    *,
    lang: Lang = "zh",
    tiles: str = "none",
    lamp_params: LampParams | None = None,
    progress: ProgressFn | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the full report and every map of ``area`` into ``out``; return the summary.

    ``tiles`` is the maps' background (:func:`maps.basemap.parse_tiles`); every map also
    draws the area's own OSM base layer (water, land use, places, road names).

    The summary (also ``summary.json``) holds every headline figure: network, layers,
    snapping, coverage, the scenario comparison and the night-safety figures. The run is
    staged and swapped in whole (:class:`service.runs.RunOutput`): ``out`` ends with
    this run's files and a ``pingan-run.json`` saying ``complete``, or keeps the earlier
    run. ``extra`` goes into the manifest's options (the sample's seed, say).
    """
    say = progress or (lambda _msg: None)
    settings = settings_for(area, tiles=tiles, lang=lang)  # bad --tiles fails before any work
    w = RunOutput(out, run_info(area, lang=lang, extra={"tiles": tiles, **(extra or {})}))
    try:
        result = _run(area, w, settings=settings, lamp_params=lamp_params, say=say)
    except BaseException:
        w.abort()  # the earlier run in ``out`` stays whole
        raise
    say("swapping the new run in")
    w.commit()
    return result


def run_info(area: Area, *, lang: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return what a run manifest records: version, area, inputs with hashes, options."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("pingan")
    except PackageNotFoundError:
        ver = "unknown"
    spec = area.spec
    roads = _hashed(spec.resolve(spec.osm))
    inputs: dict[str, Any] = (
        {"roads": {**roads, "kind": "line layer"}} if spec.lines is not None else {"osm": roads}
    )
    for name in LAYERS:
        src = spec.source(name)
        if src is not None:
            # How a file was read changes what it says: its options sit by its hash.
            written = src.to_dict()
            read = (
                {k: v for k, v in written.items() if k != "path"}
                if isinstance(written, dict)
                else {}
            )
            inputs[name] = {**_hashed(spec.resolve(src.path)), **read}
    options: dict[str, Any] = {"mode": spec.mode, "modes": list(area.modes), "tz": spec.tz}
    if spec.columns:
        options["columns"] = dict(spec.columns)
    return {
        "version": ver,
        "area": area.name,
        "synthetic": bool(spec.synthetic),
        "inputs": inputs,
        "options": {**options, "lang": lang, **(extra or {})},
    }


def _hashed(path: Path) -> dict[str, Any]:
    try:
        digest: str | None = source_sha256(path)
    except OSError:
        digest = None
    return {"path": str(path), "sha256": digest}


def _run(
    area: Area,
    w: RunOutput,
    *,
    settings: MapSettings,
    lamp_params: LampParams | None,
    say: ProgressFn,
) -> dict[str, Any]:
    lang = settings.lang
    attribution = credit(area, lang)
    s = area.net.summary()
    skipped: list[str] = []
    say("snapping villages, stations and team bases to the road network")
    snaps = [
        snap_report(area, name, gdf, "name")
        for name, gdf in (
            ("villages", area.villages),
            ("stations", area.stations),
            ("team bases", area.teams),
        )
        if gdf is not None and len(gdf) and "name" in gdf.columns
    ]
    result: dict[str, Any] = {
        "area": area.name,
        "network": s.to_dict(),
        "roads": {
            "all_km": round(float(area.roads.length_m.sum() / 1000), 3),
            "routable_km": round(float(area.roads.length_m[area.roads.routable].sum() / 1000), 3),
            "lit_km": {k: round(v, 3) for k, v in area.roads.lit_km().items()},
        },
        "layers": {name: len(gdf) for name in LAYERS if (gdf := getattr(area, name)) is not None},
        "snapping": [r.__dict__ for r in snaps],
        "notes": list(area.notes),
    }
    if area.spec.synthetic:
        result["synthetic"] = SYNTHETIC_LABEL

    say("drawing the overview map")
    write_overview_map(w, area, settings)

    cov = base_result = None
    if area.villages is not None and area.stations is not None and len(area.stations):
        cov = _coverage(area, w, result, say)
        write_coverage_map(w, area, cov, settings)
        base_result = _scenarios(area, cov, w, result, say, settings)
        write_posts(area, w, result, settings, say)
    else:
        skipped.append("coverage and scenarios need villages and stations (--villages, --stations)")

    night: NightReport | None = None
    if area.villages is not None:
        say("hotspots, unlit roads and lamp placement")
        # The same lamp defaults as `pingan lamps`: one plan, one result, wherever it runs.
        night = run_night_job(area, lamp_params=lamp_params)
        result["night"] = write_night_outputs(
            w, night, area, lang=lang, attribution=attribution, base=settings.base
        )
        if area.incidents is None:
            skipped.append("hot spots need an incidents layer (--incidents)")
        if night.lamp_edit is not None and cov is not None and base_result is not None:
            _lamp_scenario(area, cov, base_result, night.lamp_edit, w, result)
    else:
        skipped.append("road lighting by village, risk and lamps need villages (--villages)")
    if area.stations is not None and len(area.stations):
        say("planning tonight's patrols (20:00-02:00)")
        _patrol(area, night, w, result, skipped, settings)
    else:
        skipped.append("patrol routes need stations (--stations)")
    if area.teams is not None and area.villages is not None and area.stations is not None:
        say("sending the vanguard teams to the neediest villages, with their briefings")
        _teams(area, night, w, result, skipped, settings)
    else:
        skipped.append("vanguard-team assignment needs teams, villages and stations (--teams)")
    w.text("summary.md", summary_markdown(area, s, snaps, skipped))
    result["skipped"] = skipped
    names = [p.relative_to(w.folder).as_posix() for p in w.written]
    files = sorted({*names, "summary.json", "pingan-run.json", "index.html"})
    w.text("index.html", index_html(area.name, files, lang=lang, note=_index_note(area, lang)))
    result["files"] = files
    w.json("summary.json", result)
    return result


#: New posts the main job proposes, and within how many minutes they must reach a village.
DEMO_POSTS = 2
DEMO_POST_MIN = 15.0


def write_posts(
    area: Area, w: Output, result: dict[str, Any], settings: MapSettings, say: ProgressFn
) -> None:
    """Propose two new posts (MCLP, 15 min); write their table and the posts map."""
    from geo.coverage import candidate_sites, plan_new_posts
    from maps.posts import posts_map
    from service.reports import newly_covered, post_table

    say(f"proposing {DEMO_POSTS} new posts (within {DEMO_POST_MIN:g} min)")
    villages, stations = area.require("villages"), area.require("stations")
    engine = area.engine()
    cands = candidate_sites(engine, "villages", villages)
    res = plan_new_posts(
        engine, villages, stations, cands, k=DEMO_POSTS, threshold_min=DEMO_POST_MIN
    )
    table = post_table(area, res, cands)
    w.csv("posts.csv", table)
    w.geojson("posts.geojson", table)
    m = posts_map(
        area.roads.frame(),
        villages,
        stations,
        table,
        covered=newly_covered(area, res, table),
        title=page_title("posts", area.name, settings.lang),
        lang=settings.lang,
        attribution=credit(area, settings.lang),
        base=settings.base,
    )
    w.map("posts.html", m)
    result["posts"] = {
        "k": DEMO_POSTS,
        "threshold_min": DEMO_POST_MIN,
        "covered_share": round(float(res.covered_share), 4),
        "posts": table.drop(columns="geometry").to_dict("records"),
    }


def _index_note(area: Area, lang: Lang) -> str:
    import datetime as dt

    today = dt.date.today().isoformat()
    if lang == "zh":
        return f"{today} 运行。地图可离线打开；报告为 Markdown 文本。"
    return f"Run on {today}. The maps open offline; the reports are Markdown text."


def _patrol(
    area: Area,
    night: NightReport | None,
    w: Output,
    result: dict[str, Any],
    skipped: list[str],
    settings: MapSettings,
) -> None:
    """Plan tonight's shift from the first station: three units, three variants."""
    import datetime as dt

    from geo.errors import PatrolError
    from geo.patrol import PatrolParams, Shift, Units
    from service.patrol import (
        default_station,
        run_patrol_job,
        write_patrol_map,
        write_patrol_outputs,
    )

    shift = Shift.parse(DEMO_SHIFT, date=dt.date.today(), tz=area.spec.tz)
    units = [Units(station=default_station(area), count=3, mode=area.mode, shift=shift)]
    try:
        report = run_patrol_job(
            area,
            units,
            params=PatrolParams(seconds=5, iterations=3000),
            variants=3,
            hotspots=None if night is None else night.hotspots,
            risk=None if night is None else night.risk,
        )
    except PatrolError as exc:
        skipped.append(f"patrol routes: {exc}")
        return
    result["patrol"] = write_patrol_outputs(w, report)
    write_patrol_map(w, report, area, settings)


def _teams(
    area: Area,
    night: NightReport | None,
    w: Output,
    result: dict[str, Any],
    skipped: list[str],
    settings: MapSettings,
) -> None:
    """Assign every team to one of the neediest villages; write the tables and briefings."""
    from geo.errors import TeamError
    from service.teams import run_teams_job, write_briefing, write_teams_map, write_teams_outputs

    try:
        report = run_teams_job(area)
    except TeamError as exc:
        skipped.append(f"vanguard teams: {exc}")
        return
    result["teams"] = write_teams_outputs(w, report)
    write_teams_map(w, report, area, settings)
    for r in report.assignment.table.itertuples():
        write_briefing(w, area, str(r.team), str(r.village_code), night, settings)
    result["teams"]["briefings"] = len(report.assignment.table)


def _coverage(area: Area, w: Output, result: dict[str, Any], say: ProgressFn) -> CoverageResult:
    """Write coverage (and by mode, and isochrones); return the primary mode's result."""
    say("computing village coverage from stations and posts")
    villages, stations = area.require("villages"), area.require("stations")
    engine = area.engine()
    cov = village_coverage(engine, villages, stations)
    w.text("coverage.md", coverage_markdown(cov, title=f"Coverage — {area.name}"))
    w.csv("coverage_villages.csv", cov.villages)
    if len(area.modes) > 1:
        by_mode = coverage_by_mode(
            {m: area.engine(m) for m in area.modes},
            villages,
            stations,
            CoverageParams(thresholds_min=cov.thresholds_min),
        )
        w.text(
            "coverage_by_mode.md",
            f"# Coverage by travel mode — {area.name}\n\n" + markdown_table(by_mode.summary),
        )
        w.csv("coverage_by_mode.csv", by_mode.minutes)
    iso = isochrones(engine, stations, cov.thresholds_min)
    w.geojson("isochrones.geojson", iso)
    result["coverage"] = cov.summary.to_dict("records")
    return cov


def _scenarios(
    area: Area,
    cov: CoverageResult,
    w: Output,
    result: dict[str, Any],
    say: ProgressFn,
    settings: MapSettings,
) -> ScenarioResult:
    """Write the base scenario and a first proposal, compared; return the base's result."""
    say("writing and comparing a first scenario with the base")
    # Paths in a scenario are relative to where it will stay, not to the staging folder.
    folder, final = w.path("scenarios"), w.final_path("scenarios")
    spec = area.spec.relative_to(final)
    base = Scenario(
        name="base",
        description=f"{area.name} as it is.",
        base=spec,
        thresholds_min=cov.thresholds_min,
        folder=str(final),
    )
    w.record(save_scenario(base, folder / "base.json"))
    base_result = evaluate(base, area=area)
    proposal = propose_post_and_lamps(area, cov)
    if proposal is None:
        return base_result
    scen = Scenario(
        name=proposal.name,
        description=proposal.description,
        base=spec,
        edits=proposal.edits,
        thresholds_min=cov.thresholds_min,
        folder=str(final),
    )
    w.record(save_scenario(scen, folder / "post_and_lamps.json"))
    cmp = compare(base_result, evaluate(scen, area=area))
    w.text("scenario_comparison.md", comparison_markdown(cmp))
    from service.compare_map import write_compare_map

    say("drawing the scenario comparison map")
    write_compare_map(w, cmp, (base, scen), (area, area), settings)
    w.csv("scenario_comparison.csv", cmp.villages)
    result["scenario_comparison"] = cmp.summary.to_dict("records")
    return base_result


def _lamp_scenario(
    area: Area,
    cov: CoverageResult,
    base_result: ScenarioResult,
    edit: Edit,
    w: Output,
    result: dict[str, Any],
) -> None:
    """Write the lamp plan as a scenario and compare it with the base."""
    folder, final = w.path("scenarios"), w.final_path("scenarios")
    spec = area.spec.relative_to(final)
    lamps = Scenario(
        name="lamps",
        description="The lamp plan's lit stretches marked lit.",
        base=spec,
        edits=(edit,),
        thresholds_min=cov.thresholds_min,
        folder=str(final),
    )
    w.record(save_scenario(lamps, folder / "lamps.json"))
    cmp = compare(base_result, evaluate(lamps, area=area))
    w.text("lamps_comparison.md", comparison_markdown(cmp))
    result["lamps_comparison"] = {
        "lit_km": cmp.lit_km.reset_index(names="lit").to_dict("records"),
        "villages_changed": int((cmp.villages["delta_min"].abs() > 1e-9).sum()),
    }
