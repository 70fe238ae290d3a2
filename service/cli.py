"""The ``pingan`` command line: thin wrappers that parse arguments and call :mod:`geo`.

Errors from the engine (bad files, bad parameters) are printed as one clear message
and exit with status 2; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from geo.errors import PinganError
from geo.network import MODES, BuildOptions, NetworkSummary, load_network


class Progress:
    """Print each step with the time since the command started, on stderr."""

    def __init__(self, quiet: bool = False) -> None:
        self.t0 = time.perf_counter()
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        """Print one progress line."""
        if not self.quiet:
            print(f"[{time.perf_counter() - self.t0:6.1f}s] {message}", file=sys.stderr)


def default_cache_dir() -> Path:
    """Return ``$PINGAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/pingan``, else ``~/.cache/pingan``."""
    if env := os.environ.get("PINGAN_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pingan"


def _bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.replace(" ", "").split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        msg = f"--bbox must be WEST,SOUTH,EAST,NORTH in degrees, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return values  # type: ignore[return-value]


def format_network_summary(s: NetworkSummary) -> str:
    """Return the human-readable network report printed by ``pingan network build``."""
    lines = [
        f"source        {s.source.path}",
        f"sha256        {s.source.sha256[:16]}…{' (from cache)' if s.source.from_cache else ''}",
        f"mode          {s.mode}",
        f"working CRS   {s.crs}",
        f"nodes         {s.nodes:,}",
        f"edges         {s.edges:,} (directed)",
        f"road km       {s.road_km:,.2f} ({s.directed_km:,.2f} km of directed edges)",
        f"lit km        yes {s.lit_km['yes']:,.2f} | no {s.lit_km['no']:,.2f} | "
        f"unknown {s.lit_km['unknown']:,.2f}",
        f"ways          {s.source.ways_read:,} read, {s.source.ways_trimmed:,} trimmed at the "
        "extract edge or clip",
        f"dropped       {s.dropped.components:,} component(s) not strongly connected to the "
        f"main network: {s.dropped.nodes:,} nodes, {s.dropped.edges:,} edges, "
        f"{s.dropped.road_km:,.2f} km",
    ]
    for c in s.dropped.largest[:5]:
        lines.append(
            f"  - {c.nodes} node(s), {c.edges} edge(s), {c.road_km:.2f} km near "
            f"{c.lon:.5f}, {c.lat:.5f}"
        )
    lines.append("road km by class  " + ", ".join(f"{k} {v:.1f}" for k, v in s.highway_km.items()))
    return "\n".join(lines)


def cmd_network_build(args: argparse.Namespace) -> int:
    """Build or load a network and print its summary."""
    polygon = Path(args.polygon).read_text(encoding="utf-8") if args.polygon else None
    opts = BuildOptions(mode=args.mode, bbox=args.bbox, polygon_wkt=polygon)
    cache = None if args.no_cache else (args.cache_dir or default_cache_dir())
    net = load_network(args.osm, opts, cache_dir=cache, progress=Progress(args.quiet))
    s = net.summary()
    if args.json:
        print(json.dumps(s.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_network_summary(s))
    return 0


def cmd_network_fetch(args: argparse.Namespace) -> int:
    """Download a named place's roads as an OSM file (needs internet)."""
    from service.fetch import download_osm_by_place

    try:
        path = download_osm_by_place(args.place, args.out)
    except OSError as exc:  # requests' connection errors are OSErrors
        msg = f"could not download {args.place!r} (is this machine online?): {exc}"
        raise PinganError(msg) from exc
    print(f"wrote {path}; build it with: pingan network build --osm {path}")
    return 0


def cmd_layers_check(args: argparse.Namespace) -> int:
    """Validate a layer file; exit 1 when it has problems."""
    from geo.layers import check_layer

    kw: dict[str, object] = {}
    if args.crs:
        kw["crs"] = args.crs
    if args.encoding:
        kw["encoding"] = args.encoding
    if args.layer:
        kw["layer"] = args.layer
    if args.kind == "villages" and args.attributes_only:
        kw["require_geometry"] = False
    problems = check_layer(args.file, args.kind, **kw)
    if not problems:
        print(f"{args.file}: OK, a valid {args.kind} layer")
        return 0
    for p in problems:
        print(str(p))
    print(f"{len(problems)} problem(s) found", file=sys.stderr)
    return 1


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo job on the sample district."""
    from service.demo import run_demo

    out = Path(args.out)
    progress = Progress(args.quiet)
    cache = None if args.no_cache else (args.cache_dir or default_cache_dir())
    result = run_demo(
        out, seed=args.seed, mode=args.mode, cache_dir=cache, lang=args.lang, progress=progress
    )
    net = result["network"]
    assert isinstance(net, dict)
    progress("done")
    print(f"wrote {out / 'summary.md'}, {out / 'summary.json'} and {out / 'overview.html'}")
    print(
        f"network: {net['nodes']:,} nodes, {net['edges']:,} edges, {net['road_km']:.1f} km of road "
        f"(lit {net['lit_km']['yes']:.1f} / unlit {net['lit_km']['no']:.1f} / "
        f"unknown {net['lit_km']['unknown']:.1f} km)"
    )
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """Write the sample district's files."""
    from geo.sample import generate_sample

    files = generate_sample(Path(args.out), seed=args.seed)
    print(f"wrote the synthetic sample district to {Path(args.out)} ({files.roads.name}, ...)")
    return 0


def _area_files(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """Return (osm, villages, stations): the user's files, or the sample district's."""
    given = [args.osm, args.villages, args.stations]
    if all(given):
        return Path(args.osm), Path(args.villages), Path(args.stations)
    if any(given):
        msg = "give all of --osm, --villages and --stations, or none for the sample district"
        raise PinganError(msg)
    from geo.sample import generate_sample

    files = generate_sample(Path(args.sample_dir))
    return files.roads, files.villages, files.stations


def cmd_coverage(args: argparse.Namespace) -> int:
    """Print (and optionally write) village coverage from stations and posts."""
    from geo import layers
    from geo.coverage import CoverageParams, coverage_by_mode, village_coverage
    from geo.engine import Engine, EngineParams
    from service.reports import coverage_markdown, markdown_table

    osm, villages_path, stations_path = _area_files(args)
    cache = None if args.no_cache else (args.cache_dir or default_cache_dir())
    progress = Progress(args.quiet)
    modes = list(MODES) if args.mode == "all" else [args.mode]
    engines = {}
    for mode in modes:
        net = load_network(osm, BuildOptions(mode=mode), cache_dir=cache, progress=progress)
        engines[mode] = Engine(net, EngineParams(max_snap_m=args.max_snap_m))
    crs = engines[modes[0]].net.crs
    villages = layers.read_villages(villages_path, to_crs=crs, crs=args.crs)
    stations = layers.read_stations(stations_path, to_crs=crs, crs=args.crs)
    progress("computing coverage")
    params = CoverageParams(thresholds_min=tuple(args.threshold), weight=args.weight)
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    if len(modes) == 1:
        res = village_coverage(engines[modes[0]], villages, stations, params)
        text = coverage_markdown(res, title=f"Coverage ({args.mode})")
        table = res.villages
    else:
        table, summary = coverage_by_mode(engines, villages, stations, params)
        text = "# Coverage by travel mode\n\n" + markdown_table(summary) + "\n"
    print(text)
    if out:
        (out / f"coverage_{args.mode}.md").write_text(text, encoding="utf-8")
        table.to_csv(out / f"coverage_{args.mode}_villages.csv", index=False)
        print(f"wrote {out / f'coverage_{args.mode}.md'} and the per-village CSV")
    return 0


def cmd_posts(args: argparse.Namespace) -> int:
    """Propose new posts: K posts covering the most (MCLP) or the fewest covering all (LSCP)."""
    from geo import layers
    from geo.allocation import AllocationResult
    from geo.coverage import candidate_sites, fewest_posts, plan_new_posts
    from geo.engine import Engine

    osm, villages_path, stations_path = _area_files(args)
    cache = None if args.no_cache else (args.cache_dir or default_cache_dir())
    progress = Progress(args.quiet)
    net = load_network(osm, BuildOptions(mode=args.mode), cache_dir=cache, progress=progress)
    villages = layers.read_villages(villages_path, to_crs=net.crs, crs=args.crs)
    stations = layers.read_stations(stations_path, to_crs=net.crs, crs=args.crs)
    engine = Engine(net)
    if args.candidates in ("villages", "junctions"):
        cands = candidate_sites(engine, args.candidates, villages)
    else:
        layer = layers.read_stations(args.candidates, to_crs=net.crs, crs=args.crs)
        cands = candidate_sites(engine, layer)
    progress(f"solving over {len(cands.ids)} candidate sites")
    res: AllocationResult
    if args.k is not None:
        res = plan_new_posts(
            engine,
            villages,
            stations,
            cands,
            k=args.k,
            threshold_min=args.threshold,
            method=args.method,
        )
        print(
            f"MCLP, {args.mode}, within {args.threshold:g} min: {len(res.chosen)} new post(s) "
            f"raise covered demand from {res.existing_demand:,.0f} to {res.covered_demand:,.0f} "
            f"of {res.total_demand:,.0f} ({100 * res.covered_share:.1f} %)"
        )
    else:
        cover = fewest_posts(
            engine, villages, stations, cands, threshold_min=args.threshold, method=args.method
        )
        print(
            f"LSCP, {args.mode}, within {args.threshold:g} min: {len(cover.chosen)} new post(s) "
            "cover every coverable village"
        )
        if len(cover.uncoverable):
            print(f"no site reaches these villages in time: {', '.join(cover.uncoverable_ids)}")
        res = cover
    names = dict(zip(villages["code"], villages["name"], strict=True))
    for cid in res.chosen_ids or ():
        print(f"  - {cid} {names.get(cid, '')}".rstrip())
    print(
        f"solved by {res.method} in {res.solve_time_s:.2f} s; "
        + ("proven optimal" if res.optimal else f"gap to the LP bound {100 * res.gap:.2f} %")
    )
    return 0


def cmd_scenario_compare(args: argparse.Namespace) -> int:
    """Evaluate two scenario files and print how villages gain or lose."""
    from geo.scenarios import compare, evaluate, load_inputs, load_scenario
    from service.reports import comparison_markdown

    a, b = load_scenario(args.a), load_scenario(args.b)
    cache = None if args.no_cache else (args.cache_dir or default_cache_dir())
    progress = Progress(args.quiet)
    progress(f"evaluating {a.name!r}")
    inputs_a = load_inputs(a, cache_dir=cache)
    # Scenarios on the same base share one load; edits never change the base objects.
    same = a.resolve(a.base.osm) == b.resolve(b.base.osm) and a.base == b.base
    inputs_b = inputs_a if same and a.folder == b.folder else load_inputs(b, cache_dir=cache)
    ra = evaluate(a, inputs=inputs_a)
    progress(f"evaluating {b.name!r}")
    rb = evaluate(b, inputs=inputs_b)
    cmp = compare(ra, rb, by=args.by)
    print(comparison_markdown(cmp))
    if args.out:
        cmp.villages.to_csv(args.out, index=False)
        print(f"wrote per-village changes to {args.out}")
    return 0


def _night_area(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    """Load (network, villages, incidents, stations) from the user's files or the sample."""
    from geo import layers

    given = [args.osm, args.villages, args.incidents]
    if any(given) and not all(given):
        msg = "give all of --osm, --villages and --incidents, or none for the sample district"
        raise PinganError(msg)
    if all(given):
        osm, vil, inc = Path(args.osm), Path(args.villages), Path(args.incidents)
        sta = Path(args.stations) if args.stations else None
    else:
        from geo.sample import generate_sample

        files = generate_sample(Path(args.sample_dir))
        osm, vil, inc, sta = files.roads, files.villages, files.incidents, files.stations
    cache = None if args.no_cache else (args.cache_dir or default_cache_dir())
    net = load_network(
        osm, BuildOptions(mode="car"), cache_dir=cache, progress=Progress(args.quiet)
    )
    return (
        net,
        layers.read_villages(vil, to_crs=net.crs, crs=args.crs),
        layers.read_incidents(inc, to_crs=net.crs, crs=args.crs),
        layers.read_stations(sta, to_crs=net.crs, crs=args.crs) if sta else None,
    )


def cmd_hotspots(args: argparse.Namespace) -> int:
    """Find hot and cold spots of incidents (KDE, Gi* with FDR, hot roads, trends)."""
    from geo.hotspots import HotspotParams, analyse_hotspots, emerging_hotspots, filter_incidents
    from maps.hotspots import hotspots_map
    from maps.offline import save_offline
    from service.reports import markdown_table

    net, _, incidents, stations = _night_area(args)
    sel = filter_incidents(
        incidents,
        start=args.start,
        end=args.end,
        hours=tuple(args.hours) if args.hours else None,
        categories=args.category,
    )
    params = HotspotParams(
        cell_size=args.cell,
        shape=args.shape,
        alpha=args.alpha,
        bandwidth=args.bandwidth if args.bandwidth else "scott",
    )
    res = analyse_hotspots(sel, params=params, net=net)
    print(f"{res.n_incidents:,} incidents selected of {len(incidents):,}")
    cls = res.cells["class"].value_counts().rename_axis("class").reset_index(name="cells")
    print(markdown_table(cls))
    if res.edges is not None:
        top = res.edges.sort_values("z", ascending=False).head(args.top)
        print(f"\nThe {args.top} hottest road stretches:")
        print(markdown_table(top[["name", "highway", "lit", "count", "per_km", "z", "class"]]))
    trends = None
    if args.trend_period:
        trends = emerging_hotspots(sel, cell_size=args.cell, period=args.trend_period)
        pat = (
            trends.cells["pattern"].value_counts().rename_axis("pattern").reset_index(name="cells")
        )
        print("\nEmerging hot spots:")
        print(markdown_table(pat))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        sig = res.cells[res.cells["class"] != "not significant"]
        sig.to_crs(4326).to_file(out / "hotspot_cells.geojson", driver="GeoJSON")
        if res.edges is not None:
            res.edges.drop(columns="geometry").to_csv(out / "hotspot_roads.csv", index=False)
        if trends is not None:
            trends.cells.drop(columns="geometry").to_csv(out / "hotspot_trends.csv", index=False)
        m = hotspots_map(
            roads=net.edges_gdf(),
            density=res.density,
            cells=res.cells,
            hot_roads=res.edges,
            stations=stations,
            title="pingan — hotspots",
        )
        save_offline(m, out / "hotspots.html")
        print(f"wrote {out / 'hotspots.html'} and the tables")
    return 0


def cmd_unlit(args: argparse.Namespace) -> int:
    """Report km of lit, unlit and unknown road by area and rank dark roads by risk."""
    from geo.lighting import lit_km_by_area, road_risk
    from service.reports import markdown_table

    net, villages, incidents, _ = _night_area(args)
    lit = lit_km_by_area(net, villages)
    risk = road_risk(net, villages, incidents)
    print("Road lighting by district (km):")
    print(markdown_table(lit.district))
    print("\nBy township (km):")
    print(markdown_table(lit.township))
    print(f"\nThe {args.top} riskiest dark roads:")
    print(
        markdown_table(
            risk.top(args.top)[
                ["rank", "name", "highway", "lit", "length_m", "score", "explanation"]
            ]
        )
    )
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for level, table in lit.tables.items():
            table.to_csv(out / f"lit_km_by_{level}.csv", index=False)
        risk.roads.drop(columns="geometry").to_csv(out / "unlit_roads_risk.csv", index=False)
        print(f"wrote lit km tables and unlit_roads_risk.csv to {out}")
    return 0


def cmd_lamps(args: argparse.Namespace) -> int:
    """Propose where a budget of street lamps goes along the riskiest dark roads."""
    from geo.lighting import LampParams, LightingError, place_lamps, road_risk
    from geo.scenarios import BaseData, Scenario, save_scenario
    from service.reports import markdown_table

    net, villages, incidents, _ = _night_area(args)
    risk = road_risk(net, villages, incidents)
    plan = place_lamps(
        net,
        risk,
        budget=args.budget,
        spacing_m=args.spacing,
        params=LampParams(method=args.method),
    )
    s = plan.summary()
    print(
        f"{s['lamps']} lamps every {s['spacing_m']:g} m light {s['covered_km']:.2f} km of dark "
        f"road, serve {s['households_served']:,} households in {s['villages_served']} "
        f"village(s) and reach {s['night_incidents_reached']} night incidents."
    )
    print(f"placement: {s['method']}; {s['guarantee']}; gap to bound {100 * s['gap_bound']:.2f} %")
    print(
        f"unlit or unknown km: {s['dark_km_before']:.2f} before, "
        f"{plan.dark_km_uncovered:.2f} after counting the stretches the lamps light "
        f"({s['newly_lit_km']:.2f} km of whole roads become lit)"
    )
    cols = ["lamp", "name", "highway", "position_m", "risk_covered", "night_incidents_near"]
    shown = plan.lamps[cols].assign(
        lon=plan.lamps["lon"].map("{:.6f}".format), lat=plan.lamps["lat"].map("{:.6f}".format)
    )
    print(markdown_table(shown))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        plan.lamps.to_crs(4326).to_file(out / "lamps.geojson", driver="GeoJSON")
        print(f"wrote {out / 'lamps.geojson'}")
        try:
            edit = plan.to_edit()
        except LightingError as exc:
            print(f"no scenario written: {exc}")
        else:
            if args.osm:
                base = BaseData(
                    osm=str(Path(args.osm).resolve()),
                    villages=str(Path(args.villages).resolve()),
                    stations=str(Path(args.stations).resolve()) if args.stations else "",
                )
                save_scenario(Scenario("lamps", base, edits=(edit,)), out / "lamps_scenario.json")
                print(f"wrote {out / 'lamps_scenario.json'}")
    return 0


def _add_night_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--osm", help="OSM file (default: the sample district)")
    p.add_argument("--villages", help="villages layer file")
    p.add_argument("--incidents", help="incidents layer file")
    p.add_argument("--stations", help="stations layer file (optional, for the map)")
    p.add_argument("--crs", help="CRS of the layers' coordinates (e.g. gcj02)")
    p.add_argument("--sample-dir", default="out/sample")
    p.add_argument("--out", help="output folder")
    p.add_argument("--top", type=int, default=10, help="rows to list")
    p.add_argument("--cache-dir", type=Path)
    p.add_argument("--no-cache", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``pingan`` command."""
    p = argparse.ArgumentParser(
        prog="pingan", description="Geospatial planning for rural police work."
    )
    p.add_argument("-q", "--quiet", action="store_true", help="do not print progress")
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the main job on the built-in sample district")
    demo.add_argument("--out", default="out", help="output folder (default: out)")
    demo.add_argument("--seed", type=int, default=2023, help="sample district seed")
    demo.add_argument("--mode", choices=MODES, default="car")
    demo.add_argument("--lang", choices=("zh", "en"), default="zh", help="map language")
    demo.add_argument("--cache-dir", type=Path, help="network cache folder")
    demo.add_argument("--no-cache", action="store_true", help="always rebuild the network")
    demo.set_defaults(func=cmd_demo)

    smp = sub.add_parser("sample", help="write the synthetic sample district's files")
    smp.add_argument("--out", default="out/sample")
    smp.add_argument("--seed", type=int, default=2023)
    smp.set_defaults(func=cmd_sample)

    net = sub.add_parser("network", help="road network commands")
    net_sub = net.add_subparsers(dest="network_command", required=True)
    build = net_sub.add_parser("build", help="build (or load from cache) a road network")
    build.add_argument("--osm", required=True, help=".osm, .osm.bz2, .osm.gz or .osm.pbf file")
    build.add_argument("--mode", choices=MODES, default="car")
    build.add_argument("--bbox", type=_bbox, help="clip: WEST,SOUTH,EAST,NORTH (degrees)")
    build.add_argument("--polygon", help="clip: a file holding one WKT polygon in WGS84")
    build.add_argument("--cache-dir", type=Path, help="network cache folder")
    build.add_argument("--no-cache", action="store_true")
    build.add_argument("--json", action="store_true", help="print the summary as JSON")
    build.set_defaults(func=cmd_network_build)

    cov = sub.add_parser("coverage", help="travel time from the nearest station to each village")
    cov.add_argument("--mode", choices=(*MODES, "all"), default="car")
    cov.add_argument(
        "--threshold",
        type=float,
        nargs="+",
        default=[5.0, 10.0, 15.0, 30.0],
        help="coverage thresholds in minutes (default: 5 10 15 30)",
    )
    cov.add_argument("--weight", choices=("population", "households"), help="demand weight")
    cov.add_argument("--osm", help="OSM file (default: the sample district)")
    cov.add_argument("--villages", help="villages layer file")
    cov.add_argument("--stations", help="stations layer file")
    cov.add_argument("--crs", help="CRS of the layers' coordinates (e.g. gcj02)")
    cov.add_argument("--max-snap-m", type=float, default=500.0, help="snap limit in metres")
    cov.add_argument("--sample-dir", default="out/sample", help="where the sample is written")
    cov.add_argument("--out", help="folder for the report and the per-village CSV")
    cov.add_argument("--cache-dir", type=Path)
    cov.add_argument("--no-cache", action="store_true")
    cov.set_defaults(func=cmd_coverage)

    posts = sub.add_parser("posts", help="propose where new posts should go")
    what = posts.add_mutually_exclusive_group(required=True)
    what.add_argument("--k", type=int, help="MCLP: place K new posts to cover the most demand")
    what.add_argument(
        "--cover-all",
        action="store_true",
        help="LSCP: fewest new posts so every village is covered",
    )
    posts.add_argument("--threshold", type=float, default=15.0, help="minutes (default 15)")
    posts.add_argument("--mode", choices=MODES, default="car")
    posts.add_argument(
        "--candidates",
        default="villages",
        help="'villages', 'junctions', or a stations-style layer file of candidate sites",
    )
    posts.add_argument("--method", choices=("auto", "exact", "greedy"), default="auto")
    posts.add_argument("--osm")
    posts.add_argument("--villages")
    posts.add_argument("--stations")
    posts.add_argument("--crs")
    posts.add_argument("--sample-dir", default="out/sample")
    posts.add_argument("--cache-dir", type=Path)
    posts.add_argument("--no-cache", action="store_true")
    posts.set_defaults(func=cmd_posts)

    hot = sub.add_parser("hotspots", help="incident hot spots: density, Gi*, hot roads, trends")
    _add_night_inputs(hot)
    hot.add_argument("--start", help="first date (inclusive), e.g. 2025-01-01")
    hot.add_argument("--end", help="end date (exclusive)")
    hot.add_argument(
        "--hours",
        nargs=2,
        metavar=("FROM", "TO"),
        help="hour window, may cross midnight, e.g. --hours 19 6 or 19:30 06:00",
    )
    hot.add_argument("--category", nargs="+", help="keep only these categories")
    hot.add_argument("--cell", type=float, default=250.0, help="Gi* cell size in m (250)")
    hot.add_argument("--shape", choices=("square", "hex"), default="square")
    hot.add_argument("--bandwidth", type=float, help="KDE bandwidth in m (default: Scott's rule)")
    hot.add_argument("--alpha", type=float, default=0.05, help="FDR level (0.05)")
    hot.add_argument("--trend-period", default="Q", help="period for trends: M, Q, ... ('' off)")
    hot.set_defaults(func=cmd_hotspots)

    unlit = sub.add_parser("unlit", help="km of lit/unlit road by area; dark roads by risk")
    _add_night_inputs(unlit)
    unlit.set_defaults(func=cmd_unlit)

    lamps = sub.add_parser("lamps", help="place a budget of street lamps on risky dark roads")
    _add_night_inputs(lamps)
    lamps.add_argument("--budget", type=int, default=30, help="number of lamps (30)")
    lamps.add_argument("--spacing", type=float, default=35.0, help="metres between lamps (35)")
    lamps.add_argument("--method", choices=("greedy", "exact"), default="greedy")
    lamps.set_defaults(func=cmd_lamps)

    scen = sub.add_parser("scenario", help="scenario commands")
    scen_sub = scen.add_subparsers(dest="scenario_command", required=True)
    sc = scen_sub.add_parser("compare", help="compare two scenario JSON files village by village")
    sc.add_argument("a", help="scenario A (the reference)")
    sc.add_argument("b", help="scenario B")
    sc.add_argument("--by", choices=("stations", "teams"), default="stations")
    sc.add_argument("--out", help="CSV of per-village changes")
    sc.add_argument("--cache-dir", type=Path)
    sc.add_argument("--no-cache", action="store_true")
    sc.set_defaults(func=cmd_scenario_compare)

    fetch = net_sub.add_parser(
        "fetch", help="download a place's roads as an OSM file (online users only)"
    )
    fetch.add_argument("--place", required=True, help='e.g. "黄陂区, 武汉市, 湖北省"')
    fetch.add_argument("--out", required=True, help="the .osm file to write")
    fetch.set_defaults(func=cmd_network_fetch)

    lay = sub.add_parser("layers", help="layer commands")
    lay_sub = lay.add_subparsers(dest="layers_command", required=True)
    check = lay_sub.add_parser("check", help="validate a layer file and list what is wrong")
    check.add_argument("file")
    check.add_argument(
        "--kind", required=True, choices=("villages", "incidents", "stations", "teams")
    )
    check.add_argument("--crs", help="CRS of the coordinates: wgs84, cgcs2000, gcj02, bd09, EPSG")
    check.add_argument("--encoding", help="CSV text encoding (default: detect)")
    check.add_argument("--layer", help="layer name inside a GeoPackage")
    check.add_argument(
        "--attributes-only",
        action="store_true",
        help="villages: accept a list without coordinates",
    )
    check.set_defaults(func=cmd_layers_check)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pingan`` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PinganError as exc:
        print(f"pingan: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"pingan: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
