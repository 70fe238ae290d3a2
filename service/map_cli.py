"""``pingan map KIND``: one map, over any area, in either language, over any base.

Each kind but the overview is the result command that makes it, run with ``--map``
(``pingan map patrol ...`` is ``pingan patrol ... --map``), so a map and its tables are
always made by the same job from the same options; ``pingan map overview`` has no
result command and is drawn here.
"""

from __future__ import annotations

import argparse
from typing import Any, Final

from service.map_options import add_map_flags, map_settings
from service.options import add_area_options, area_from_args

__all__ = ["KINDS", "add_map_parser", "cmd_map", "write_overview_map"]

#: Map kind -> the command line of the result command that draws it.
KINDS: Final[dict[str, tuple[str, ...]]] = {
    "overview": (),
    "patrol": ("patrol",),
    "village": ("teams", "briefing"),
    "compare": ("scenario", "compare"),
    "teams": ("teams", "assign"),
    "hotspots": ("hotspots",),
    "posts": ("posts",),
}


def add_map_parser(sub: Any) -> None:
    """Add ``pingan map KIND ...`` to the top-level subparsers."""
    mp = sub.add_parser(
        "map",
        help="write one map: " + "|".join(KINDS),
        description="Write one map. Every kind takes --tiles none|osm|tianditu|amap|DIR and "
        "--lang zh|en; the options after KIND are those of the command that makes the "
        "result (pingan map patrol --help lists the patrol options).",
    )
    mp.add_argument("kind", choices=list(KINDS))
    mp.add_argument("rest", nargs=argparse.REMAINDER, help="the options of that map's command")
    mp.set_defaults(func=cmd_map)


def _overview_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pingan map overview",
        description="The overview map: roads by lighting, villages, stations, team bases.",
    )
    add_area_options(p)
    p.add_argument("--out", default="out", help="output folder (default: out)")
    add_map_flags(p, default_write=True)
    return p


def cmd_map(args: argparse.Namespace) -> int:
    """Run the command that draws the asked map, with ``--map``."""
    from service.cli import build_parser

    if args.kind == "overview":
        ov = _overview_parser().parse_args(args.rest)
        ov.quiet = args.quiet
        return cmd_overview(ov)
    argv = [*(["-q"] if args.quiet else []), *KINDS[args.kind], *args.rest, "--map"]
    inner = build_parser().parse_args(argv)
    return int(inner.func(inner))


def cmd_overview(args: argparse.Namespace) -> int:
    """Write ``overview.html`` of the area the options describe."""
    from service.cli import Progress
    from service.output import Output

    progress = Progress(args.quiet)
    area = area_from_args(args, command="map overview", progress=progress)
    settings = map_settings(args, area)
    progress("drawing the overview map")
    path = write_overview_map(Output(args.out), area, settings)
    print(f"wrote {path}")
    return 0


def write_overview_map(out: Any, area: Any, settings: Any) -> Any:
    """Draw the area's overview map into ``out`` as ``overview.html``; return its path."""
    import geopandas as gpd

    from maps.overview import overview_map
    from maps.style import page_title
    from service.map_options import credit

    def layer(name: str, columns: tuple[str, ...]) -> gpd.GeoDataFrame:
        gdf = getattr(area, name)
        if gdf is None:
            return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=area.crs)
        return gdf

    m = overview_map(
        area.roads.frame(),
        layer("villages", ("code", "name", "households")),
        layer("stations", ("id", "name", "kind")),
        layer("teams", ("id", "name", "home_unit", "members", "skills")),
        title=page_title("overview", area.name, settings.lang),
        lang=settings.lang,
        attribution=credit(area, settings.lang),
        base=settings.base,
    )
    out.map("overview.html", m)
    return out.path("overview.html")
