"""The map flags every result command shares: ``--map``, ``--tiles``, ``--lang``.

One place turns them into what the map builders take (a :class:`maps.basemap.Basemap`
and a language), so every command's map is drawn over the same base the same way.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maps.basemap import Basemap, parse_tiles
from maps.style import Lang, check_lang

if TYPE_CHECKING:
    from geo.area import Area

__all__ = [
    "TIANDITU_ENV",
    "MapSettings",
    "add_map_flags",
    "credit",
    "map_settings",
    "settings_for",
    "write_coverage_map",
    "write_officers_map",
]

#: Environment variable holding the Tianditu key (``tk``) for ``--tiles tianditu``.
TIANDITU_ENV = "TIANDITU_KEY"


@dataclass(frozen=True)
class MapSettings:
    """Whether to write a map, over which base, in which language."""

    write: bool
    base: Basemap
    lang: Lang


def add_map_flags(p: argparse.ArgumentParser, *, default_write: bool = False) -> None:
    """Add ``--map`` / ``--no-map``, ``--tiles`` and ``--lang`` to a command's parser."""
    g = p.add_argument_group("map")
    g.add_argument(
        "--map",
        action=argparse.BooleanOptionalAction,
        default=default_write,
        help="also write the result's map (HTML that opens offline)",
    )
    g.add_argument(
        "--tiles",
        default="none",
        metavar="none|osm|tianditu|amap|DIR",
        help="map background: none (default, offline), online tiles, or a local XYZ "
        f"folder / .mbtiles file; tianditu needs ${TIANDITU_ENV}",
    )
    if not any(a.dest == "lang" for a in p._actions):
        g.add_argument("--lang", choices=("zh", "en"), default="zh", help="map language")


def map_settings(args: argparse.Namespace, area: Area | None = None) -> MapSettings:
    """Return the map settings the flags ask for, with the area's own base layer.

    Raises
    ------
    MapError
        If ``--tiles`` names no known source, folder or MBTiles file.
    """
    return settings_for(
        area,
        tiles=getattr(args, "tiles", "none"),
        lang=getattr(args, "lang", "zh"),
        write=bool(getattr(args, "map", False)),
    )


def settings_for(
    area: Area | None, *, tiles: str = "none", lang: str = "zh", write: bool = True
) -> MapSettings:
    """Return the settings of maps over ``area``: ``tiles`` under its own OSM base layer.

    The Tianditu key comes from ``$TIANDITU_KEY``: a key is the user's, not an option
    to leave in a shell history or a run manifest.
    """
    source = parse_tiles(tiles, tianditu_key=os.environ.get(TIANDITU_ENV))
    vector = None
    if area is not None:
        from geo.basemap import area_base_layers

        vector = area_base_layers(area)
    return MapSettings(write, Basemap(tiles=source, vector=vector), check_lang(lang))


def credit(area: Area, lang: str = "zh") -> str:
    """Return the maps' data credit in ``lang``: OpenStreetMap's, the road layer's, or the sample's.

    Roads from an office's own line layer are that office's data, not OpenStreetMap's;
    the credit names the file so a printed map says where its roads came from.
    """
    from maps.overview import OSM_ATTRIBUTION

    if area.spec.synthetic:
        return "合成示例数据" if lang == "zh" else "synthetic sample data"
    if area.spec.lines is not None:
        name = Path(area.spec.osm).name
        return f"道路数据：{name}" if lang == "zh" else f"roads: {name}"
    return OSM_ATTRIBUTION


def write_coverage_map(out: Any, area: Area, cov: Any, settings: MapSettings) -> Any:
    """Write ``coverage.html``: villages by travel time over the stations' isochrones."""
    from geo.coverage import isochrones
    from maps.coverage import coverage_map
    from maps.style import page_title

    iso = isochrones(area.engine(cov.mode), area.require("stations"), cov.thresholds_min)
    m = coverage_map(
        cov,
        iso,
        roads=area.roads.frame(),
        villages=area.require("villages"),
        stations=area.require("stations"),
        title=page_title("coverage", area.name, settings.lang),
        lang=settings.lang,
        attribution=credit(area, settings.lang),
        base=settings.base,
    )
    return out.map("coverage.html", m)


def write_officers_map(out: Any, area: Area, check: Any, settings: MapSettings) -> Any:
    """Write ``officers.html``: committees by auxiliary-officer status, proposed moves."""
    import geopandas as gpd

    from maps.officers import officers_map
    from maps.style import page_title

    stations = area.stations
    if stations is None:
        stations = gpd.GeoDataFrame({"id": [], "name": [], "kind": []}, geometry=[], crs=area.crs)
    m = officers_map(
        check,
        roads=area.roads.frame(),
        villages=area.require("villages"),
        stations=stations,
        officers=area.officers,
        title=page_title("officers", area.name, settings.lang),
        lang=settings.lang,
        attribution=credit(area, settings.lang),
        base=settings.base,
    )
    return out.map("officers.html", m)
