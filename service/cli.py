"""The ``pingan`` command line: parse, call a job or a :mod:`geo` function, print.

Every analysis command takes the same area options (:mod:`service.options`): none for
the built-in sample district, ``--area FILE``, or ``--osm`` with the layer files. Files
are written through the one :class:`~service.output.Output` under the same names as
``pingan run`` writes them. Errors from the engine (bad files, bad parameters) are
printed as one clear message and exit with status 2; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from geo.area import parse_columns
from geo.errors import MapError, NetworkError, PinganError
from geo.network import MODES, BuildOptions, NetworkSummary, load_network
from maps.style import page_title
from service.map_cli import add_map_parser
from service.map_options import add_map_flags, map_settings
from service.options import (
    add_area_options,
    add_road_options,
    area_from_args,
    default_cache_dir,
    roads_from_args,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from geo.area import Area, LayerName
    from geo.lighting import RoadRisk

__all__ = ["Progress", "build_parser", "format_network_summary", "main"]


class Progress:
    """Print each step with the time since the command started, on stderr."""

    def __init__(self, quiet: bool = False) -> None:
        self.t0 = time.perf_counter()
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        """Print one progress line; a "warning: ..." line even when quiet."""
        if message.startswith("warning: "):
            print(f"pingan: {message}", file=sys.stderr)
        elif not self.quiet:
            print(f"[{time.perf_counter() - self.t0:6.1f}s] {message}", file=sys.stderr)


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


def _cache(args: argparse.Namespace) -> Path | None:
    return None if args.no_cache else (args.cache_dir or default_cache_dir())


# --------------------------------------------------------------------------- jobs


def cmd_run(args: argparse.Namespace) -> int:
    """Run the main job on an area: the full report and both maps."""
    from service.run import run_area

    progress = Progress(args.quiet)
    modes = [args.mode or "car", *[m for m in MODES if m != (args.mode or "car")]]
    area = area_from_args(args, modes=modes, command="run", progress=progress)
    result = run_area(area, args.out, lang=args.lang, tiles=args.tiles, progress=progress)
    progress("done")
    _print_run(Path(args.out), result)
    return 0


def _trend_period(value: str | None) -> str:
    """Return the trend period option checked: "auto", "" (off) or a pandas period alias."""
    import pandas as pd

    from geo.errors import HotspotError

    text = (value or "").strip()
    if text.lower() in ("", "none", "off", "no"):
        return ""
    if text.lower() == "auto":
        return "auto"
    try:
        pd.tseries.frequencies.to_offset(text)
    except ValueError:
        msg = (
            f"--trend-period {text!r} is not a period: use auto, Q (quarters), M (months), "
            "W (weeks), D (days), or none to skip trends"
        )
        raise HotspotError(msg) from None
    return text


def _read_wkt(path: str) -> str:
    """Return the WKT text of a ``--polygon`` file, or raise naming the file and why."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except IsADirectoryError:
        msg = f"--polygon {path}: is a folder, not a file holding one WKT polygon"
        raise NetworkError(msg) from None
    except OSError as exc:
        msg = f"--polygon {path}: cannot read it ({exc.strerror or exc})"
        raise NetworkError(msg) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        kind = "UTF-16 text" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "not UTF-8 text"
        msg = (
            f"--polygon {path}: the file is {kind}; save it as UTF-8 text holding one WKT "
            "polygon, e.g. POLYGON ((114.2 30.9, 114.5 30.9, 114.5 31.1, 114.2 30.9))"
        )
        raise NetworkError(msg) from None
    if "\x00" in text:
        msg = f"--polygon {path}: the file holds NUL bytes (binary, or UTF-16): not WKT text"
        raise NetworkError(msg)
    return text


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the main job on the built-in sample district."""
    from geo.area import sample_area
    from service.run import run_area

    out = Path(args.out)
    progress = Progress(args.quiet)
    modes = [args.mode, *[m for m in MODES if m != args.mode]]
    area = sample_area(
        out / "sample", seed=args.seed, modes=modes, cache_dir=_cache(args), progress=progress
    )
    result = run_area(
        area, out, lang=args.lang, tiles=args.tiles, progress=progress, extra={"seed": args.seed}
    )
    progress("done")
    _print_run(out, result)
    return 0


def _print_run(out: Path, result: dict[str, object]) -> None:
    from service.output import FILES

    net = result["network"]
    roads = result["roads"]
    files = result.get("files") or []
    assert isinstance(net, dict) and isinstance(roads, dict) and isinstance(files, list)
    print(f"wrote {out / 'index.html'}, {out / 'summary.md'} and every map and table:")
    width = max((len(str(f)) for f in files), default=0)
    for name in files:
        what = FILES.get(Path(name).name, "")
        if not what and str(name).startswith("briefings/") and str(name).endswith(".html"):
            what = FILES["<TEAM>.html"]
        print(f"  {name:<{width}}  {what}".rstrip())
    print(f"open {out / 'index.html'} first (any browser, no internet needed)")
    lit = roads["lit_km"]
    print(
        f"roads: {roads['all_km']:.1f} km in the file (lit {lit['yes']:.1f} / unlit "
        f"{lit['no']:.1f} / unknown {lit['unknown']:.1f} km); routing network "
        f"{net['nodes']:,} nodes, {net['edges']:,} edges, {net['road_km']:.1f} km"
    )
    skipped = result.get("skipped") or []
    assert isinstance(skipped, list)
    for why in skipped:
        print(f"not computed: {why}")


def cmd_sample(args: argparse.Namespace) -> int:
    """Write the sample district's files."""
    from geo.sample import generate_sample

    files = generate_sample(Path(args.out), seed=args.seed)
    print(f"wrote the synthetic sample district to {Path(args.out)} ({files.roads.name}, ...)")
    return 0


# --------------------------------------------------------------------------- network, layers


def cmd_network_build(args: argparse.Namespace) -> int:
    """Build or load a network and print its summary."""
    polygon = _read_wkt(args.polygon) if args.polygon else None
    opts = BuildOptions(mode=args.mode, bbox=args.bbox, polygon_wkt=polygon)
    path, lines = roads_from_args(args)
    if path is None:
        print("pingan: error: give the roads: --osm FILE or --roads FILE", file=sys.stderr)
        return 2
    net = load_network(
        path, opts, cache_dir=_cache(args), progress=Progress(args.quiet), lines=lines
    )
    s = net.summary()
    if args.json:
        print(json.dumps(s.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_network_summary(s))
    return 0


def cmd_network_fetch(args: argparse.Namespace) -> int:
    """Download a named place's roads as an OSM file (needs internet)."""
    from service.fetch import download_osm_by_place

    path = download_osm_by_place(args.place, args.out)
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
    if args.columns:
        kw["columns"] = parse_columns(args.columns)
    if args.tz:
        if args.kind != "incidents":
            print("pingan: error: --tz applies to incidents only", file=sys.stderr)
            return 2
        kw["tz"] = args.tz
    if args.kind == "villages" and args.attributes_only:
        kw["require_geometry"] = False
    problems = check_layer(args.file, args.kind, **kw)
    if not problems:
        from geo.layers import describe_layer

        d = describe_layer(args.file, args.kind, **kw)
        print(f"{args.file}: OK, a valid {args.kind} layer")
        print(f"  rows      {d.rows:,} ({d.located:,} with a location)")
        if d.extent is not None:
            w, s_, e, n = d.extent
            print(f"  extent    {w:.5f}–{e:.5f} E, {s_:.5f}–{n:.5f} N (WGS84)")
        if d.encoding is None:
            encoding = "declared by the format"
        else:
            encoding = d.encoding if args.encoding else f"{d.encoding} (detected)"
        print(f"  encoding  {encoding}")
        print(f"  CRS       {d.crs}")
        if d.kinds:
            print("  kinds     " + ", ".join(f"{k} {v:,}" for k, v in d.kinds.items()))
        return 0
    for p in problems:
        print(str(p))
    print(f"pingan: error: {args.file}: {len(problems)} problem(s) found", file=sys.stderr)
    return 1


# --------------------------------------------------------------------------- analyses


def cmd_coverage(args: argparse.Namespace) -> int:
    """Print (and optionally write) village coverage from stations and posts."""
    from geo.coverage import CoverageParams, coverage_by_mode, village_coverage
    from service.output import Output
    from service.reports import coverage_markdown, markdown_table

    modes = list(MODES) if args.mode == "all" else [args.mode]
    progress = Progress(args.quiet)
    area = area_from_args(
        args, needs=("villages", "stations"), modes=modes, command="coverage", progress=progress
    )
    villages, stations = area.require("villages"), area.require("stations")
    progress("computing coverage")
    params = CoverageParams(thresholds_min=tuple(args.threshold), weight=args.weight)
    out = Output(args.out) if args.out else None
    if len(modes) == 1:
        res = village_coverage(area.engine(modes[0]), villages, stations, params)
        text = coverage_markdown(res, title=f"Coverage ({args.mode}) — {area.name}")
        if out:
            out.text("coverage.md", text)
            out.csv("coverage_villages.csv", res.villages)
    else:
        by_mode = coverage_by_mode({m: area.engine(m) for m in modes}, villages, stations, params)
        text = f"# Coverage by travel mode — {area.name}\n\n" + markdown_table(by_mode.summary)
        if out:
            out.text("coverage_by_mode.md", text)
            out.csv("coverage_by_mode.csv", by_mode.minutes)
    if args.map:
        if len(modes) != 1:
            msg = "--map draws one travel mode's coverage; give --mode car, motorbike or foot"
            raise MapError(msg)
        from service.map_options import write_coverage_map

        out = out or Output("out")
        write_coverage_map(out, area, res, map_settings(args, area))
    # Files first, then the terminal: a reader that stops early (| head) loses nothing.
    print(text)
    if out:
        print(f"wrote {', '.join(str(p) for p in out.written)}")
    return 0


def cmd_posts(args: argparse.Namespace) -> int:
    """Propose new posts: K posts covering the most (MCLP) or the fewest covering all (LSCP)."""
    from geo.allocation import AllocationResult
    from geo.area import LayerSource
    from geo.coverage import candidate_sites, fewest_posts, plan_new_posts
    from service.map_options import credit
    from service.reports import newly_covered, post_table

    progress = Progress(args.quiet)
    area = area_from_args(args, needs=("villages", "stations"), command="posts", progress=progress)
    villages, stations = area.require("villages"), area.require("stations")
    engine = area.engine()
    if args.candidates in ("villages", "junctions"):
        cands = candidate_sites(engine, args.candidates, villages)
    else:
        source = LayerSource(str(Path(args.candidates).resolve()), crs=args.crs)
        layer = area.read_layer("stations", source)
        cands = candidate_sites(engine, layer)
    progress(f"{len(cands.ids)} candidate sites; travel times, then the solve")
    res: AllocationResult
    mode = area.mode
    t0 = time.perf_counter()
    if args.k is not None:
        res = plan_new_posts(
            engine,
            villages,
            stations,
            cands,
            k=args.k,
            threshold_min=args.threshold,
            method=args.method,
            progress=progress,
        )
        print(
            f"MCLP, {mode}, within {args.threshold:g} min: {len(res.chosen)} new post(s) "
            f"raise covered demand from {res.existing_demand:,.0f} to {res.covered_demand:,.0f} "
            f"of {res.total_demand:,.0f} ({100 * res.covered_share:.1f} %)"
        )
    else:
        cover = fewest_posts(
            engine,
            villages,
            stations,
            cands,
            threshold_min=args.threshold,
            method=args.method,
            progress=progress,
        )
        print(
            f"LSCP, {mode}, within {args.threshold:g} min: {len(cover.chosen)} new post(s) "
            "cover every coverable village"
        )
        if len(cover.uncoverable):
            print(f"no site reaches these villages in time: {', '.join(cover.uncoverable_ids)}")
        res = cover
    # The solver times itself; the rest of the call is the travel times it was given.
    before_s = max(time.perf_counter() - t0 - res.solve_time_s, 0.0)
    table = post_table(area, res, cands)
    if args.out:
        from maps.posts import posts_map
        from service.output import Output

        out = Output(args.out)
        out.csv("posts.csv", table)
        out.geojson("posts.geojson", table)
        if args.map:
            settings = map_settings(args, area)
            m = posts_map(
                area.roads.frame(),
                villages,
                stations,
                table,
                title=page_title("posts", area.name, settings.lang),
                attribution=credit(area, settings.lang),
                lang=settings.lang,
                base=settings.base,
                covered=newly_covered(area, res, table),
            )
            out.map("posts.html", m)
    for row in table.itertuples():
        print(
            f"  - {row.id} {row.name} at {row.lat:.5f}, {row.lon:.5f}: on {row.road}, "
            f"{row.distance_m:.0f} m from {row.nearest_village}; "
            f"{row.villages_gained} village(s) newly covered"
        )
    print(
        f"travel times in {before_s:.2f} s, then solved by {res.method} in "
        f"{res.solve_time_s:.2f} s; "
        + ("proven optimal" if res.optimal else f"gap to the LP bound {100 * res.gap:.2f} %")
    )
    if args.out:
        print(f"wrote {', '.join(str(p) for p in out.written)}")
    return 0


def cmd_scenario_compare(args: argparse.Namespace) -> int:
    """Evaluate two scenario files and print how villages gain or lose."""
    from geo.scenarios import compare, evaluate, load_inputs, load_scenario
    from service.reports import comparison_markdown

    a, b = load_scenario(args.a), load_scenario(args.b)
    progress = Progress(args.quiet)
    progress(f"evaluating {a.name!r}")
    area_a = load_inputs(a, cache_dir=_cache(args))
    # Scenarios on the same base share one load; edits never change the base objects.
    same = a.base.absolute() == b.base.absolute()
    area_b = area_a if same else load_inputs(b, cache_dir=_cache(args))
    ra = evaluate(a, area=area_a)
    progress(f"evaluating {b.name!r}")
    rb = evaluate(b, area=area_b)
    cmp = compare(ra, rb, by=args.by)
    print(comparison_markdown(cmp))
    if args.out:
        from geo.atomic import write_text

        write_text(args.out, cmp.villages.to_csv(index=False))
        print(f"wrote per-village changes to {args.out}")
    if args.map:
        from service.compare_map import write_compare_map
        from service.output import Output

        # Beside the CSV when there is one, else in the usual output folder.
        out = Output(Path(args.out).parent if args.out else Path("out"))
        progress("isochrones of both scenarios for the map")
        path = write_compare_map(
            out,
            cmp,
            (a, b),
            (area_a, area_b),
            map_settings(args, area_b),
            by=args.by,
            threshold_min=args.map_threshold,
        )
        print(f"wrote the comparison map to {path}")
    return 0


def cmd_hotspots(args: argparse.Namespace) -> int:
    """Find hot and cold spots of incidents (KDE, Gi* with FDR, hot roads, trends)."""
    from geo.hotspots import (
        AUTO_PERIODS,
        HotspotError,
        HotspotParams,
        TrendsSkipped,
        analyse_hotspots,
        choose_trend_period,
        emerging_hotspots,
        emerging_hotspots_auto,
        filter_incidents,
    )
    from geo.hotspots.pipeline import MIN_INCIDENTS
    from maps.hotspots import hotspots_map
    from service.map_options import credit
    from service.options import area_spec_from_args
    from service.output import Output
    from service.reports import markdown_table, road_names, road_place, telling_stretches

    args.trend_period = _trend_period(args.trend_period)  # checked before any loading
    if args.max_memory_gb is None:
        # Half the machine: the roads, the tables and the map page need the rest.
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        args.max_memory_gb = round(ram / 2e9, 1)
    params = HotspotParams(
        cell_size=args.cell,
        shape=args.shape,
        alpha=args.alpha,
        kde_cell_size=args.density_cell or args.cell,
        bandwidth=args.bandwidth if args.bandwidth else "scott",
        min_count=args.min_count,
        # The tables list what has incidents or a Gi* class; the quiet rest is counted.
        keep_quiet=False,
        max_memory_gb=args.max_memory_gb,
    )
    filters = {
        "start": args.start,
        "end": args.end,
        "hours": tuple(args.hours) if args.hours else None,
        "categories": args.category,
    }
    spec = area_spec_from_args(args, needs=("incidents",), command="hotspots")
    say = Progress(args.quiet)
    read: dict[LayerName, gpd.GeoDataFrame] = {}
    if spec is not None and not (args.within or args.village):
        # The grids' memory follows from the incidents alone: refuse a run that cannot
        # fit before the roads are loaded (a minute and gigabytes on a large area).
        # The area's own reader, into the incidents' working UTM zone.
        read["incidents"] = spec.read_layer("incidents")
        early = filter_incidents(read["incidents"], **filters)
        if len(early) >= MIN_INCIDENTS:
            n_t = 0
            if args.trend_period:
                tried = AUTO_PERIODS if args.trend_period == "auto" else (args.trend_period,)
                choice = choose_trend_period(early, periods=tried)
                n_t = choice.n_periods[choice.period] if choice.period else 0
            cells_need, density_need = params.memory(early, n_periods=n_t)
            for need, option in ((cells_need, "--cell"), (density_need, "--density-cell")):
                if not need.fits:
                    msg = need.message(option, "clip with --within", "--max-memory-gb")
                    raise HotspotError(msg)
        del early
    area = area_from_args(
        args,
        needs=("incidents",),
        command="hotspots",
        progress=say,
        read_layers=read,
    )
    del read
    incidents = area.require("incidents")
    where = None
    if args.within:
        where = area.read_polygon(args.within)
    elif args.village:
        where = area.village_area(args.village)
    sel = filter_incidents(incidents, **filters, area=where)
    res = analyse_hotspots(sel, params=params, roads=area.roads, snap=area.distances.snap)
    lines = [f"{res.n_incidents:,} incidents selected of {len(incidents):,}"]
    lines.append(markdown_table(res.cell_hotspots.class_counts().reset_index()))
    ranked = res.ranked_roads()
    if ranked is not None:
        top = ranked.head(args.top)
        cols = ["rank", "name", "highway", "lit", "count", "per_km", "expected", "role", "z"]
        lines += [
            f"\nThe {args.top} road stretches with the strongest evidence (hotspot cores "
            f"first: at least {params.min_count} incidents of their own, significant after "
            "FDR), by own count, rate per km, then Gi* z:",
            markdown_table(
                top[cols].assign(name=road_names(top, area.villages), where=road_place(top))
            )
            if len(top)
            else "No road stretch stands out.",
        ]
        if res.n_unsnapped:
            lines.append(
                f"{res.n_unsnapped:,} incidents lie farther than {params.max_snap_m:g} m from "
                "every road and are counted on no road."
            )
    trends = None
    cube = {"cell_size": args.cell, "keep_quiet": False, "max_memory_gb": args.max_memory_gb}
    if args.trend_period == "auto":
        found = emerging_hotspots_auto(sel, **cube)
        if isinstance(found, TrendsSkipped):
            lines.append(f"\ntrends skipped: {found.reason}")
        else:
            trends = found
    elif args.trend_period:
        trends = emerging_hotspots(sel, period=args.trend_period, **cube)
    if trends is not None:
        pat = trends.cells["pattern"].value_counts()
        if trends.n_quiet:  # quiet cells, left out of the table, have no pattern
            pat["no pattern"] = pat.get("no pattern", 0) + trends.n_quiet
            pat = pat.sort_values(ascending=False, kind="stable")
        pat = pat.rename_axis("pattern")
        lines += [
            f"\nEmerging hot spots ({len(trends.periods)} periods of {trends.period!r}):",
            markdown_table(pat.reset_index(name="cells")),
        ]
    if args.out:
        out = Output(args.out)
        cells = res.cells
        out.geojson("hotspot_cells.geojson", cells[cells["class"] != "not significant"])
        if res.edges is not None:
            out.csv("hotspot_roads.csv", telling_stretches(res.edges))
        if trends is not None:
            out.csv("hotspot_trends.csv", trends.cells)
        if args.map:
            settings = map_settings(args, area)
            m = hotspots_map(
                roads=area.roads.frame(),
                density=res.density,
                cells=cells,
                hot_roads=res.edges,
                stations=area.stations,
                title=page_title("hotspots_only", area.name, settings.lang),
                attribution=credit(area, settings.lang),
                lang=settings.lang,
                base=settings.base,
            )
            out.map("hotspots.html", m)
            lines.append(f"wrote {out.path('hotspots.html')} and the tables")
        else:
            lines.append(f"wrote the tables to {out.folder}")
    # Files first, then the terminal: a reader that stops early (| head) loses nothing.
    print("\n".join(lines))
    return 0


def _dark_roads(args: argparse.Namespace, command: str) -> tuple[Area, RoadRisk]:
    """Load the area of unlit or lamps and score its dark roads; return both.

    The risk counts night incidents only, so the area holds no others: millions of
    daytime incidents would only fill memory. Once scored, the area returned holds none
    at all: the risk keeps the night incidents it counted, and nothing after it reads
    the layer.
    """
    from service.night import NIGHT_HOURS, dark_road_risk

    area = area_from_args(
        args,
        needs=("villages",),
        command=command,
        progress=Progress(args.quiet),
        incident_hours=NIGHT_HOURS,
    )
    risk = dark_road_risk(area)
    return area.with_layers(incidents=None), risk


def cmd_unlit(args: argparse.Namespace) -> int:
    """Report km of lit, unlit and unknown road by area and rank dark roads by risk."""
    from geo.lighting import lit_km_by_area
    from service.map_options import credit
    from service.output import Output
    from service.reports import markdown_table, named_roads, road_names, road_place

    area, risk = _dark_roads(args, "unlit")
    villages = area.require("villages")
    lit = lit_km_by_area(area.roads, villages)
    print(f"Road lighting by district (km), every road of {area.name}:")
    print(markdown_table(lit.district))
    print("\nBy township (km):")
    print(markdown_table(lit.township))
    ranked = risk.by_road()
    print(f"\nThe {args.top} riskiest dark roads (pieces of a road and both carriageways as one):")
    top = ranked.head(args.top)
    cols = ["rank", "name", "highway", "lit", "length_m", "pieces", "village_name", "score"]
    print(markdown_table(top[cols].assign(name=road_names(top, villages), where=road_place(top))))
    print("\nWhy each scores as it does (its riskiest piece):")
    for k, why in zip(top["rank"], top["explanation"], strict=True):
        print(f"{k}. {why}")
    print(f"households near a road are counted from the {risk.household_basis}")
    if risk.n_unsnapped:
        print(
            f"{risk.n_unsnapped:,} night incidents lie farther than "
            f"{risk.params.incident_distance_m:g} m from every road and count for none."
        )
    if args.out:
        from maps.hotspots import hotspots_map

        out = Output(args.out)
        for level, table in lit.by_level().items():
            out.csv(f"lit_km_by_{level}.csv", table)
        out.csv("unlit_roads_risk.csv", risk.pieces(ranked))
        out.csv("dark_roads_ranked.csv", ranked)
        # The map draws every road: let it reuse the memory of the scored pieces and
        # the night incidents, which it does not show.
        del risk
        if args.map:
            settings = map_settings(args, area)
            m = hotspots_map(
                roads=area.roads.frame(),
                risk=named_roads(ranked, villages),
                stations=area.stations,
                title=page_title("unlit", area.name, settings.lang),
                attribution=credit(area, settings.lang),
                lang=settings.lang,
                base=settings.base,
            )
            out.map("unlit.html", m)
        made = " and unlit.html" if args.map else ""
        print(f"wrote lit km tables, unlit_roads_risk.csv{made} to {out.folder}")
    return 0


def cmd_lamps(args: argparse.Namespace) -> int:
    """Propose where a budget of street lamps goes along the riskiest dark roads."""
    from geo.errors import ScenarioError
    from geo.lighting import LampParams, place_lamps
    from geo.scenarios import Scenario, lamp_edit, save_scenario
    from service.map_options import credit
    from service.output import Output
    from service.reports import lamp_runs, markdown_table, named_roads

    # The same inputs as the main job's night step: village polygons, groups where known.
    area, risk = _dark_roads(args, "lamps")
    plan = place_lamps(
        area.roads,
        risk,
        budget=args.budget,
        spacing_m=args.spacing,
        households=area.groups,
        params=LampParams(method=args.method),
        engine=area.distances,
    )
    s = plan.summary()
    print(
        f"{s['lamps']} lamps every {s['spacing_m']:g} m light {s['covered_km']:.2f} km of dark "
        f"road, serve {s['households_served']:,} households in {s['villages_served']} "
        f"village(s) and reach {s['night_incidents_reached']} night incidents."
    )
    print(f"placement: {s['method']}; {s['guarantee']}; gap to bound {100 * s['gap_bound']:.2f} %")
    print(f"households are counted from the {plan.household_basis}")
    print(
        f"unlit or unknown km: {s['dark_km_before']:.2f} before, "
        f"{plan.dark_km_after:.2f} after, in {s['runs']} continuous stretch(es) "
        f"({s['lit_roads']} road(s) lit over at least {plan.params.lit_share:.0%} of their length)"
    )
    lamps = plan.lamps
    runs = lamp_runs(lamps, risk.roads, area.villages)
    print("\nThe lamp runs (each lamp's position and worth: lamps.csv / lamps.geojson):")
    print(markdown_table(runs))
    if args.out:
        from maps.hotspots import hotspots_map

        out = Output(args.out)
        out.geojson("lamps.geojson", lamps)
        out.csv("lamps.csv", lamps)
        out.csv("lamp_runs.csv", runs)
        ranked = risk.by_road()
        # As for unlit: the map may reuse the memory of what it does not show.
        del risk
        if args.map:
            settings = map_settings(args, area)
            m = hotspots_map(
                roads=area.roads.frame(),
                risk=named_roads(ranked, area.villages),
                lamps=lamps,
                stations=area.stations,
                title=page_title("lamps", area.name, settings.lang),
                attribution=credit(area, settings.lang),
                lang=settings.lang,
                base=settings.base,
            )
            out.map("lamps.html", m)
            print(f"wrote {out.path('lamps.geojson')} and {out.path('lamps.html')}")
        else:
            print(f"wrote {out.path('lamps.geojson')}")
        try:
            edit = lamp_edit(plan)
        except ScenarioError as exc:
            print(f"no scenario written: {exc}")
        else:
            folder = out.path("scenarios")
            spec = area.spec.relative_to(folder)
            path = save_scenario(
                Scenario("lamps", spec, edits=(edit,), folder=str(folder)), folder / "lamps.json"
            )
            print(f"wrote {path}")
    return 0


def cmd_patrol(args: argparse.Namespace) -> int:
    """Plan the patrol routes of one shift and write the GPX, GeoJSON and shift sheet."""
    import datetime as dt

    from geo.patrol import PatrolParams, Shift, TargetParams, Units
    from service.map_options import map_settings
    from service.output import Output
    from service.patrol import (
        default_station,
        patrol_markdown,
        read_recent,
        run_patrol_job,
        write_patrol_map,
        write_patrol_outputs,
    )

    progress = Progress(args.quiet)
    area = area_from_args(args, command="patrol", progress=progress)
    date = dt.date.fromisoformat(args.date) if args.date else dt.date.today()
    shift = Shift.parse(args.shift, date=date, tz=area.spec.tz)
    stations = args.station or [default_station(area)]
    units = [
        Units(
            station=s,
            count=args.units,
            mode=args.mode or area.mode,
            shift=shift,
            max_duration_min=args.max_minutes,
            break_min=args.break_min,
            break_window=args.break_window,
        )
        for s in stations
    ]
    params = PatrolParams(
        seconds=args.seconds,
        iterations=args.iterations,
        seed=args.seed_plan,
        workers=args.workers,
        balance=args.balance,
    )
    tp = TargetParams(
        hotspots=args.hotspots,
        dwell_min=args.dwell,
        revisit=args.revisit,
        revisit_min=args.revisit_min,
        dark_roads=args.dark_roads,
        window=args.window,
    )
    recent = read_recent(args.recent or [])
    progress(f"planning {args.variants} variant(s) of the {shift.label} shift")
    report = run_patrol_job(
        area,
        units,
        params=params,
        variants=args.variants,
        villages=[v for a in args.visit or [] for v in a.split(",") if v],
        targets_file=args.targets,
        target_params=tp,
        recent=recent,
    )
    out = Output(args.out)
    write_patrol_outputs(out, report)
    print(patrol_markdown(report))
    print(f"wrote {out.path('patrol.gpx')}, patrol_shift_sheet.csv, patrol_routes.geojson and")
    print(f"patrol_plan.json to {out.folder} (give it to --recent tomorrow to vary the routes)")
    if args.map:  # the base layers are read only for a map
        settings = map_settings(args, area)
        progress("drawing the patrol map")
        print(f"wrote {write_patrol_map(out, report, area, settings)}")
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``pingan`` command."""
    p = argparse.ArgumentParser(
        prog="pingan", description="Geospatial planning for rural police work."
    )
    p.add_argument("-q", "--quiet", action="store_true", help="do not print progress")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="the main job on your area: full report and both maps")
    add_area_options(run)
    run.add_argument("--out", default="out", help="output folder (default: out)")
    run.add_argument("--lang", choices=("zh", "en"), default="zh", help="map language")
    run.add_argument(
        "--tiles",
        default="none",
        metavar="none|osm|tianditu|amap|DIR",
        help="map background (default none: the area's own OSM base layer only)",
    )
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="run the main job on the built-in sample district")
    demo.add_argument("--out", default="out", help="output folder (default: out)")
    demo.add_argument("--seed", type=int, default=2023, help="sample district seed")
    demo.add_argument("--mode", choices=MODES, default="car")
    demo.add_argument("--lang", choices=("zh", "en"), default="zh", help="map language")
    demo.add_argument(
        "--tiles",
        default="none",
        metavar="none|osm|tianditu|amap|DIR",
        help="map background (default none: the area's own OSM base layer only)",
    )
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
    build.add_argument("--osm", help=".osm, .osm.bz2, .osm.gz or .osm.pbf file")
    add_road_options(build)
    build.add_argument("--mode", choices=MODES, default="car")
    build.add_argument("--bbox", type=_bbox, help="clip: WEST,SOUTH,EAST,NORTH (degrees)")
    build.add_argument("--polygon", help="clip: a file holding one WKT polygon in WGS84")
    build.add_argument("--cache-dir", type=Path, help="network cache folder")
    build.add_argument("--no-cache", action="store_true")
    build.add_argument("--json", action="store_true", help="print the summary as JSON")
    build.set_defaults(func=cmd_network_build)
    fetch = net_sub.add_parser(
        "fetch", help="download a place's roads as an OSM file (online users only)"
    )
    fetch.add_argument("--place", required=True, help='e.g. "黄陂区, 武汉市, 湖北省"')
    fetch.add_argument("--out", required=True, help="the .osm file to write")
    fetch.set_defaults(func=cmd_network_fetch)

    cov = sub.add_parser("coverage", help="travel time from the nearest station to each village")
    add_area_options(cov, mode=False)
    cov.add_argument("--mode", choices=(*MODES, "all"), default="car")
    cov.add_argument(
        "--threshold",
        type=float,
        nargs="+",
        default=[5.0, 10.0, 15.0, 30.0],
        help="coverage thresholds in minutes (default: 5 10 15 30)",
    )
    cov.add_argument("--weight", choices=("population", "households"), help="demand weight")
    cov.add_argument("--out", help="folder for the report and the per-village CSV")
    add_map_flags(cov)
    cov.set_defaults(func=cmd_coverage)

    posts = sub.add_parser("posts", help="propose where new posts should go")
    add_area_options(posts)
    what = posts.add_mutually_exclusive_group(required=True)
    what.add_argument("--k", type=int, help="MCLP: place K new posts to cover the most demand")
    what.add_argument(
        "--cover-all",
        action="store_true",
        help="LSCP: fewest new posts so every village is covered",
    )
    posts.add_argument("--threshold", type=float, default=15.0, help="minutes (default 15)")
    posts.add_argument(
        "--candidates",
        default="villages",
        help="'villages', 'junctions', or a stations-style layer file of candidate sites",
    )
    posts.add_argument("--method", choices=("auto", "exact", "greedy"), default="auto")
    posts.add_argument("--out", help="folder for posts.csv, posts.geojson and posts.html")
    add_map_flags(posts, default_write=True)
    posts.set_defaults(func=cmd_posts)

    hot = sub.add_parser("hotspots", help="incident hot spots: density, Gi*, hot roads, trends")
    add_area_options(hot)
    hot.add_argument("--out", help="output folder")
    hot.add_argument("--top", type=int, default=10, help="rows to list")
    hot.add_argument("--start", help="first date (inclusive), e.g. 2025-01-01")
    hot.add_argument("--end", help="end date (exclusive)")
    hot.add_argument(
        "--hours",
        nargs=2,
        metavar=("FROM", "TO"),
        help="hour window, may cross midnight, e.g. --hours 19 6 or 19:30 06:00",
    )
    hot.add_argument("--category", nargs="+", help="keep only these categories")
    within = hot.add_mutually_exclusive_group()
    within.add_argument("--within", help="keep incidents inside the polygons of this file")
    within.add_argument(
        "--village", help="keep incidents on one village's ground (its code): polygon or cell"
    )
    hot.add_argument(
        "--cell",
        type=float,
        default=250.0,
        help="cell size in m of the Gi* grid, the trends and (unless --density-cell) the "
        "density grid (250)",
    )
    hot.add_argument(
        "--density-cell", type=float, help="cell size in m of the density grid (default: --cell)"
    )
    hot.add_argument(
        "--max-memory-gb",
        type=float,
        help="refuse, before loading, grids that would need more memory than this "
        "(default: half the machine's memory)",
    )
    hot.add_argument("--shape", choices=("square", "hex"), default="square")
    hot.add_argument("--bandwidth", type=float, help="KDE bandwidth in m (default: Scott's rule)")
    hot.add_argument("--alpha", type=float, default=0.05, help="FDR level (0.05)")
    hot.add_argument(
        "--trend-period",
        default="auto",
        help="period for trends: auto (one that fits the span), Q, M, W, D, or none (off)",
    )
    hot.add_argument(
        "--min-count",
        type=int,
        default=2,
        help="incidents of its own a stretch or cell needs to be a hotspot core (2)",
    )
    add_map_flags(hot, default_write=True)
    hot.set_defaults(func=cmd_hotspots)

    unlit = sub.add_parser("unlit", help="km of lit/unlit road by area; dark roads by risk")
    add_area_options(unlit)
    unlit.add_argument("--out", help="output folder")
    unlit.add_argument("--top", type=int, default=10, help="rows to list")
    add_map_flags(unlit, default_write=True)
    unlit.set_defaults(func=cmd_unlit)

    lamps = sub.add_parser("lamps", help="place a budget of street lamps on risky dark roads")
    add_area_options(lamps)
    lamps.add_argument("--out", help="output folder")
    lamps.add_argument("--budget", type=int, default=30, help="number of lamps (30)")
    lamps.add_argument("--spacing", type=float, default=35.0, help="metres between lamps (35)")
    lamps.add_argument("--method", choices=("exact", "greedy"), default="exact")
    add_map_flags(lamps, default_write=True)
    lamps.set_defaults(func=cmd_lamps)

    pat = sub.add_parser("patrol", help="plan a shift's patrol routes: GPX, GeoJSON, shift sheet")
    add_area_options(pat, mode=False)
    pat.add_argument("--station", action="append", metavar="ID", help="station id (repeatable)")
    pat.add_argument("--units", type=int, default=3, help="units per station (default 3)")
    pat.add_argument("--shift", default="20:00-02:00", help="HH:MM-HH:MM (default 20:00-02:00)")
    pat.add_argument("--date", help="date the shift starts, YYYY-MM-DD (default today)")
    pat.add_argument("--mode", choices=("car", "motorbike", "foot"), help="travel mode")
    pat.add_argument("--variants", type=int, default=3, help="diverse plans (default 3)")
    pat.add_argument("--max-minutes", type=float, help="longest a unit may be out")
    pat.add_argument("--break-min", type=float, default=0.0, help="meal break in minutes")
    pat.add_argument("--break-window", help="when the break starts, HH:MM-HH:MM")
    pat.add_argument("--visit", action="append", metavar="CODE,...", help="villages to visit")
    pat.add_argument("--targets", help="your own targets file (CSV with lon/lat, or GeoJSON)")
    pat.add_argument("--hotspots", type=int, default=30, help="hot spots at most (default 30)")
    pat.add_argument("--dwell", type=float, default=15.0, help="minutes at a hot spot (15)")
    pat.add_argument("--revisit", type=int, default=5, help="hottest spots to revisit (5)")
    pat.add_argument("--revisit-min", type=float, default=120.0, help="revisit gap (120 min)")
    pat.add_argument("--dark-roads", type=int, default=3, help="riskiest dark roads to drive")
    pat.add_argument("--window", help="when hot spots may be visited, HH:MM-HH:MM")
    pat.add_argument("--recent", action="append", metavar="PLAN.json", help="earlier plans")
    pat.add_argument("--balance", action="store_true", help="minimise the longest route")
    pat.add_argument("--seconds", type=float, default=10.0, help="search budget per plan")
    pat.add_argument("--iterations", type=int, default=20_000, help="search iterations cap")
    pat.add_argument("--workers", type=int, default=1, help="parallel searches (CPU cores)")
    pat.add_argument("--plan-seed", dest="seed_plan", type=int, default=1, help="search seed")
    pat.add_argument("--out", default="out", help="output folder (default: out)")
    add_map_flags(pat)
    pat.set_defaults(func=cmd_patrol)

    from service.serve_cli import add_serve_parsers
    from service.sweep_cli import add_sweep_parsers
    from service.teams_cli import add_teams_parser

    add_teams_parser(sub)
    add_sweep_parsers(sub)
    add_map_parser(sub)
    add_serve_parsers(sub)

    scen = sub.add_parser("scenario", help="scenario commands")
    scen_sub = scen.add_subparsers(dest="scenario_command", required=True)
    sc = scen_sub.add_parser("compare", help="compare two scenario JSON files village by village")
    sc.add_argument("a", help="scenario A (the reference)")
    sc.add_argument("b", help="scenario B")
    sc.add_argument("--by", choices=("stations", "teams"), default="stations")
    sc.add_argument("--out", help="CSV of per-village changes")
    sc.add_argument("--cache-dir", type=Path)
    sc.add_argument("--no-cache", action="store_true")
    add_map_flags(sc)
    sc.add_argument(
        "--map-threshold",
        type=float,
        metavar="MIN",
        help="threshold the map colours villages at (default 15, else the middle one); "
        "the map is scenario_compare.html beside --out (or in out/)",
    )
    sc.set_defaults(func=cmd_scenario_compare)

    lay = sub.add_parser("layers", help="layer commands")
    lay_sub = lay.add_subparsers(dest="layers_command", required=True)
    check = lay_sub.add_parser("check", help="validate a layer file and list what is wrong")
    check.add_argument("file")
    check.add_argument(
        "--kind",
        required=True,
        choices=("villages", "incidents", "stations", "teams", "groups", "boundaries", "officers"),
    )
    check.add_argument("--crs", help="CRS of the coordinates: wgs84, cgcs2000, gcj02, bd09, EPSG")
    check.add_argument("--encoding", help="CSV text encoding (default: detect)")
    check.add_argument("--layer", help="layer name inside a GeoPackage")
    check.add_argument(
        "--columns", metavar="NAME=HEADER,...", help="your headers, e.g. time=occurrencedate"
    )
    check.add_argument("--tz", metavar="ZONE", help="incidents: time zone of naive times")
    check.add_argument(
        "--attributes-only",
        action="store_true",
        help="villages: accept a list without coordinates",
    )
    check.set_defaults(func=cmd_layers_check)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pingan`` command."""
    from service.memory import return_large_blocks

    return_large_blocks()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        # Ctrl-C: one line and the shell's status for SIGINT. Every file is written
        # atomically and a main-job run is swapped in only when complete, so nothing
        # already stored is lost or half-written.
        print("pingan: interrupted; nothing half-written was left behind", file=sys.stderr)
        return 128 + 2
    except BrokenPipeError:
        # The reader went away (`pingan ... | head`): stop quietly, as Unix tools do, with
        # the shell's status for SIGPIPE. Files were written before anything was printed.
        _silence_stdout()
        return 128 + 13
    except PinganError as exc:
        print(f"pingan: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"pingan: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug of ours: say so in one line, keep the trace on file
        log = _write_crash_log(argv)
        print(
            f"pingan: internal error ({type(exc).__name__}: {exc}). This is a bug in pingan, "
            f"not in your data; the details are in {log}. Please report it with that file.",
            file=sys.stderr,
        )
        return 70  # EX_SOFTWARE


def _write_crash_log(argv: Sequence[str] | None) -> str:
    """Write the traceback and the command line to a temporary file; return its path."""
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="pingan-crash-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("pingan " + " ".join(sys.argv[1:] if argv is None else argv) + "\n\n")
        f.write(traceback.format_exc())
    return path


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is not a real file (tests capture it): nothing left to flush


if __name__ == "__main__":
    sys.exit(main())
