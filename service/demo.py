"""The demo job: sample district -> layers -> road network -> summary and overview map.

It is the same path a user's own area takes (see ``README.md``, "Use your own area"):
the sample is written to real files first and read back with the ordinary readers.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from geo import layers, network, sample
from geo.atomic import write_text
from geo.coverage import CoverageResult, coverage_by_mode, isochrones, village_coverage
from geo.engine import Engine
from geo.lighting import LampParams
from geo.network import BuildOptions, Mode, NetworkSummary, ProgressFn, RoadNetwork
from geo.scenarios import (
    BaseData,
    Edit,
    Scenario,
    compare,
    evaluate,
    load_inputs,
    save_scenario,
)
from maps.offline import save_offline
from maps.overview import overview_map
from maps.style import Lang
from service.night import run_night_job, write_night_outputs
from service.reports import comparison_markdown, coverage_markdown, markdown_table

SYNTHETIC_ATTRIBUTION = "synthetic sample data / 合成示例数据"


@dataclass(frozen=True)
class AreaLayers:
    """The layers of one area, all in the network's working CRS."""

    villages: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    teams: gpd.GeoDataFrame
    incidents: gpd.GeoDataFrame


@dataclass(frozen=True)
class SnapReport:
    """How far each layer's points lie from the road network."""

    layer: str
    points: int
    flagged: int
    median_m: float
    max_m: float
    flagged_names: tuple[str, ...]


def load_area(files: sample.SampleFiles, crs: pyproj.CRS) -> AreaLayers:
    """Read the sample's layer files with the user-facing readers, in ``crs``."""
    return AreaLayers(
        villages=layers.read_villages(files.villages, to_crs=crs),
        stations=layers.read_stations(files.stations, to_crs=crs),
        teams=layers.read_teams(files.teams, to_crs=crs),
        incidents=layers.read_incidents(files.incidents, to_crs=crs),
    )


def snap_report(
    net: RoadNetwork, name: str, gdf: gpd.GeoDataFrame, label: str, max_distance_m: float
) -> SnapReport:
    """Snap a layer to the network and summarise the distances."""
    res = network.snap_geometries(net, gdf.geometry, max_distance_m=max_distance_m)
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


def _write_text(path: Path, text: str) -> None:
    """Write a file atomically so a failed run never leaves half a summary behind."""
    write_text(path, text)


def summary_markdown(s: NetworkSummary, area: AreaLayers, snaps: list[SnapReport]) -> str:
    """Render the demo summary for people."""
    lines = [
        "# pingan demo — sample district",
        "",
        f"> {sample.SYNTHETIC_LABEL}",
        "",
        "## Road network",
        "",
        f"- mode: {s.mode}; working CRS: {s.crs}",
        f"- nodes: {s.nodes:,}; directed edges: {s.edges:,}",
        f"- road length: {s.road_km:.1f} km ({s.directed_km:.1f} km of directed edges)",
        f"- lit: {s.lit_km['yes']:.1f} km; unlit: {s.lit_km['no']:.1f} km; "
        f"unknown: {s.lit_km['unknown']:.1f} km",
        f"- dropped (not strongly connected to the main network): {s.dropped.components} "
        f"component(s), {s.dropped.nodes} node(s), {s.dropped.edges} edge(s), "
        f"{s.dropped.road_km:.2f} km",
        f"- ways read: {s.source.ways_read:,}; trimmed at the extract edge: "
        f"{s.source.ways_trimmed:,}",
        "",
        "## Layers",
        "",
        f"- villages: {len(area.villages)} "
        f"({int((area.villages['kind'] == 'village').sum())} villages, "
        f"{int((area.villages['kind'] == 'community').sum())} communities), "
        f"{int(area.villages['households'].sum()):,} households",
        f"- stations and posts: {len(area.stations)}",
        f"- vanguard teams: {len(area.teams)} ({int(area.teams['members'].sum())} officers)",
        f"- incidents: {len(area.incidents):,}",
        "",
        "## Distance to the nearest road",
        "",
        "| layer | points | flagged | median m | max m |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {r.layer} | {r.points} | {r.flagged} | {r.median_m} | {r.max_m} |" for r in snaps]
    return "\n".join(lines) + "\n"


def run_demo(
    out: Path,
    *,
    seed: int = 2023,
    mode: Mode = "car",
    cache_dir: Path | None = None,
    snap_max_m: float = 500.0,
    lang: Lang = "zh",
    progress: ProgressFn | None = None,
) -> dict[str, object]:
    """Generate the sample district and write the demo outputs into ``out``.

    Writes ``out/sample/`` (the synthetic input files), ``out/summary.json``,
    ``out/summary.md``, ``out/overview.html``, the coverage report
    (``coverage.md``, ``coverage_villages.csv``, ``coverage_by_mode.md``/``.csv``,
    ``isochrones.geojson``) and a sample
    scenario comparison (``scenarios/*.json``, ``scenario_comparison.md`` and ``.csv``),
    and the night-safety outputs: ``hotspots.md``, ``hotspots.html``, hot cells and
    roads, lit km by village/township/district, dark roads by risk, ``lamps.geojson``
    and the lamps scenario compared with the base (``lamps_comparison.md``).
    Returns the summary as a dict.
    """
    say = progress or (lambda _msg: None)
    out = Path(out)
    say(f"writing the synthetic sample district (seed {seed}) to {out / 'sample'}")
    files = sample.generate_sample(out / "sample", seed=seed)

    net = network.load_network(
        files.roads, BuildOptions(mode=mode), cache_dir=cache_dir, progress=say
    )
    say("reading layers")
    area = load_area(files, net.crs)

    say("snapping villages, stations and team bases to the road network")
    snaps = [
        snap_report(net, "villages", area.villages, "name", snap_max_m),
        snap_report(net, "stations", area.stations, "name", snap_max_m),
        snap_report(net, "team bases", area.teams, "name", snap_max_m),
    ]
    s = net.summary()
    result: dict[str, object] = {
        "synthetic": sample.SYNTHETIC_LABEL,
        "seed": seed,
        "network": s.to_dict(),
        "layers": {
            "villages": len(area.villages),
            "stations": len(area.stations),
            "teams": len(area.teams),
            "incidents": len(area.incidents),
        },
        "snapping": [asdict(r) for r in snaps],
    }
    _write_text(out / "summary.json", json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    _write_text(out / "summary.md", summary_markdown(s, area, snaps))

    say("drawing the overview map")
    m = overview_map(
        net.edges_gdf(),
        area.villages,
        area.stations,
        area.teams,
        title="pingan — 示例区 overview (synthetic)",
        lang=lang,
        # The sample's roads are generated, not OpenStreetMap data: credit nobody.
        attribution=SYNTHETIC_ATTRIBUTION,
    )
    save_offline(m, out / "overview.html")

    say("computing village coverage from stations and posts")
    engine = Engine(net)
    cov = village_coverage(engine, area.villages, area.stations)
    _write_text(out / "coverage.md", coverage_markdown(cov, title="Coverage — sample district"))
    _write_text(out / "coverage_villages.csv", cov.villages.to_csv(index=False))
    engines: dict[str, Engine] = {mode: engine}
    for other in network.MODES:
        if other != mode:
            other_net = network.load_network(
                files.roads, BuildOptions(mode=other), cache_dir=cache_dir
            )
            engines[other] = Engine(other_net)
    by_mode, by_mode_summary = coverage_by_mode(engines, area.villages, area.stations)
    _write_text(
        out / "coverage_by_mode.md",
        "# Coverage by travel mode — sample district\n\n" + markdown_table(by_mode_summary) + "\n",
    )
    _write_text(out / "coverage_by_mode.csv", by_mode.to_csv(index=False))
    iso = isochrones(engine, area.stations, cov.thresholds_min)
    _write_text(out / "isochrones.geojson", iso.to_crs(4326).to_json(drop_id=True))
    result["coverage"] = cov.summary.to_dict("records")

    say("writing and comparing two sample scenarios")
    base, proposal = sample_scenarios(out, cov, net)
    inputs = load_inputs(base, cache_dir=cache_dir)
    cmp = compare(evaluate(base, inputs=inputs), evaluate(proposal, inputs=inputs))
    _write_text(out / "scenario_comparison.md", comparison_markdown(cmp))
    _write_text(out / "scenario_comparison.csv", cmp.villages.to_csv(index=False))
    result["scenario_comparison"] = cmp.summary.to_dict("records")

    say("hotspots, unlit roads and lamp placement")
    # A road counts as lit in the scenario once lamps cover half of it, so the 30-lamp
    # plan can be compared as an edit (the default 75 % would mark no whole road lit).
    night = run_night_job(net, area.villages, area.incidents, lamp_params=LampParams(lit_share=0.5))
    result["night"] = write_night_outputs(
        out, night, net, stations=area.stations, lang=lang, attribution=SYNTHETIC_ATTRIBUTION
    )
    if night.lamp_edit is not None:
        lamps = Scenario(
            name="30 lamps",
            description="The lamp plan's roads marked lit.",
            base=base.base,
            edits=(night.lamp_edit,),
            thresholds_min=cov.thresholds_min,
            folder=base.folder,
        )
        save_scenario(lamps, out / "scenarios" / "lamps.json")
        lamp_cmp = compare(evaluate(base, inputs=inputs), evaluate(lamps, inputs=inputs))
        _write_text(out / "lamps_comparison.md", comparison_markdown(lamp_cmp))
        result["lamps_comparison"] = {
            "lit_km": lamp_cmp.lit_km.reset_index(names="lit").to_dict("records"),
            "villages_changed": int((lamp_cmp.villages["delta_min"].abs() > 1e-9).sum()),
        }
    _write_text(out / "summary.json", json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    return result


def sample_scenarios(out: Path, cov: CoverageResult, net: RoadNetwork) -> tuple[Scenario, Scenario]:
    """Write the demo's two scenarios: the base, and a post plus lamps for the worst village.

    The proposal puts a post at the village that is slowest to reach and lights the
    longest unlit road, the kind of change a planner would test first.
    """
    folder = out / "scenarios"
    base = Scenario(
        name="base",
        description="The sample district as it is.",
        base=BaseData(
            osm="../sample/roads.osm",
            villages="../sample/villages.csv",
            stations="../sample/stations.geojson",
            teams="../sample/teams.csv",
            mode=net.mode,
        ),
        thresholds_min=cov.thresholds_min,
        folder=str(folder),
    )
    v = cov.villages[cov.villages["status"] == "ok"]
    worst = v.iloc[int(np.argmax(v["minutes"].to_numpy()))]
    e = net.edges
    dark = e[(e["lit"] == "no") & ~e["reversed"]]
    longest_dark = int(dark["osmid"].to_numpy()[np.argmax(dark["length_m"].to_numpy())])
    files = pd.read_csv(out / "sample" / "villages.csv", dtype={"code": str})
    spot = files.loc[files["code"] == worst["code"]].iloc[0]
    proposal = Scenario(
        name=f"post at {worst['name']} + lamps",
        description=(
            f"A new post at {worst['name']} ({worst['code']}), the slowest village to reach "
            f"({worst['minutes']:.1f} min), and lamps along OSM way {longest_dark}."
        ),
        base=base.base,
        edits=(
            Edit(
                "add_station",
                {
                    "id": "POST-NEW",
                    "name": f"{worst['name']}警务室",
                    "kind": "post",
                    "lon": round(float(spot["lon"]), 6),
                    "lat": round(float(spot["lat"]), 6),
                },
            ),
            Edit("mark_lit", {"osm_ways": [longest_dark]}),
        ),
        thresholds_min=cov.thresholds_min,
        folder=str(folder),
    )
    save_scenario(base, folder / "base.json")
    save_scenario(proposal, folder / "post_and_lamps.json")
    return base, proposal
