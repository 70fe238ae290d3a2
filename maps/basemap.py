"""What lies under the overlays: a tile layer (or none) and the user's own OSM base layer.

Without a base a map shows our roads on grey and villages as unlabelled dots. Two kinds
of base can go under the overlays, alone or together:

* a **vector base** drawn from the area's own OSM file (:mod:`geo.basemap`): water,
  land use and buildings in light colours in a pane under every overlay, and place and
  road names as text labels that show from a zoom that suits them (towns from 11,
  villages from 13, hamlets from 15, main road names from 14). It needs no network.
* **tiles** (:func:`parse_tiles`): OpenStreetMap, Tianditu (Web Mercator on CGCS2000,
  which is WGS84 to within centimetres), AMap/Gaode, or a local XYZ folder or MBTiles
  file. AMap's tiles are drawn in GCJ-02, about 500 m off WGS84 around Wuhan, so a map
  over them uses a Leaflet CRS that projects every WGS84 coordinate through GCJ-02
  (:func:`map_crs`): overlays, markers and bounds all move onto the tiles with no
  change to any builder. Its formula is :func:`geo.coords.wgs84_to_gcj02`'s, written
  out in JavaScript, and its inverse is solved by the same iteration.

Online tiles are fetched by the browser when the page is viewed, by the user's choice;
``none`` (the default) keeps a page fully offline. A browser cannot read SQLite from a
``file://`` page, so an MBTiles file is unpacked once into an XYZ folder beside it
(``<name>.mbtiles.tiles/``), reused while the file is unchanged.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sqlite3
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from geo.coords import utm_crs_for
from geo.errors import MapError
from maps.style import Lang, check_lang

if TYPE_CHECKING:
    from geo.basemap import BaseLayers

__all__ = [
    "AMAP_TILES",
    "BASE_LABELS_PANE",
    "BASE_PANE",
    "GCJ02_CRS",
    "LABEL_ZOOMS",
    "NO_TILES",
    "OSM_TILES",
    "Basemap",
    "TileSource",
    "add_basemap",
    "map_crs",
    "parse_tiles",
    "tianditu_tiles",
]

Frame = Literal["wgs84", "gcj02"]

#: Leaflet pane of the vector base: above the tiles (200), below village areas (350) and
#: every overlay (400).
BASE_PANE: Final = "pingan-base"
BASE_PANE_Z: Final = 250
#: Pane of the base's text labels: above the overlay lines (400), so a road drawn over a
#: village's name does not hide it, below the markers (600), which stay clickable.
BASE_LABELS_PANE: Final = "pingan-base-labels"
BASE_LABELS_PANE_Z: Final = 450
#: Name of the Leaflet CRS that shows WGS84 data over GCJ-02 tiles.
GCJ02_CRS: Final = "PinganGCJ02"

#: Label class -> the first zoom at which it shows.
LABEL_ZOOMS: Final[dict[str, int]] = {
    "city": 9,
    "town": 11,
    "suburb": 12,
    "village": 13,
    "quarter": 14,
    "neighbourhood": 14,
    "hamlet": 15,
    "isolated_dwelling": 15,
    "road": 14,  # names of the main roads (tertiary and up)
    "street": 16,  # names of the other roads
}
_MAIN_ROADS: Final = frozenset({"motorway", "trunk", "primary", "secondary", "tertiary"})

_LABELS: Final[dict[str, tuple[str, str]]] = {
    "base": ("底图", "Base map"),
    "osm": ("OpenStreetMap", "OpenStreetMap"),
    "tianditu": ("天地图", "Tianditu"),
    "tianditu_labels": ("天地图注记", "Tianditu labels"),
    "amap": ("高德地图", "AMap"),
    "local": ("本地瓦片", "Local tiles"),
}

#: Fill / stroke colours of the base: light, so the overlays stay the picture.
_STYLES: Final[dict[str, dict[str, Any]]] = {
    "farmland": {"fillColor": "#edf1dc", "fillOpacity": 1, "stroke": False},
    "grass": {"fillColor": "#dfeccf", "fillOpacity": 1, "stroke": False},
    "forest": {"fillColor": "#d3e5c6", "fillOpacity": 1, "stroke": False},
    "residential": {"fillColor": "#e5e1db", "fillOpacity": 1, "stroke": False},
    "industrial": {"fillColor": "#e6e1e8", "fillOpacity": 1, "stroke": False},
    "water": {"fillColor": "#c4dcf0", "fillOpacity": 1, "color": "#a9cbe8", "weight": 0.6},
    "building": {"fillColor": "#dbd7d2", "fillOpacity": 1, "color": "#cdc8c2", "weight": 0.5},
    "river": {"color": "#a9cbe8", "weight": 3, "fill": False},
    "canal": {"color": "#a9cbe8", "weight": 2.5, "fill": False},
    "stream": {"color": "#b3d1ec", "weight": 1.2, "fill": False},
    "drain": {"color": "#b3d1ec", "weight": 1, "fill": False},
    "ditch": {"color": "#b3d1ec", "weight": 1, "fill": False},
}
#: Over tiles, the base's areas are see-through, so the tiles' own detail shows.
_OVER_TILES_OPACITY: Final = 0.45
_OSM_CREDIT: Final = "© OpenStreetMap contributors"

#: Most buildings drawn on one map, the largest first.
MAX_MAP_BUILDINGS: Final = 12_000
#: Most road-name labels on one map.
MAX_ROAD_LABELS: Final = 2_000
#: Base-layer bytes per km² of the view, and the floor and ceiling of that budget.
_BYTES_PER_KM2: Final = 8_000
_MIN_BYTES: Final = 250_000
_MAX_BYTES: Final = 2_500_000
#: Coordinates on a 1e-5 degree grid (about 1 m): fine enough for a base layer.
_GRID_DEG: Final = 1e-5
#: The view the base covers, beyond the map's fitted bounds on each side (share of the
#: bounds' size): enough to pan a little, not the whole province of a village map.
_VIEW_MARGIN: Final = 0.25
#: A road name repeats every this many metres along the road.
_ROAD_LABEL_SPACING_M: Final = 1500.0
_ROAD_LABEL_MIN_M: Final = 250.0


@dataclass(frozen=True)
class TileSource:
    """One tile layer: its key, URL template, credit, zoom range and coordinate frame.

    Attributes
    ----------
    key
        ``none``, ``osm``, ``tianditu``, ``amap`` or ``local``.
    url
        Leaflet URL template (``{z}/{x}/{y}``, ``{s}`` for a subdomain); None for none.
    attribution
        Credit shown in the map's corner.
    max_zoom
        Highest zoom the source has tiles for; Leaflet enlarges them beyond.
    frame
        ``"gcj02"`` for tiles drawn in GCJ-02 (AMap), else ``"wgs84"``.
    subdomains
        Values of ``{s}``.
    labels_url
        A second, transparent layer of labels drawn over the first (Tianditu's cva).
    min_zoom
        Lowest zoom the source has tiles for.
    bounds
        ``(west, south, east, north)`` the tiles cover, for a local folder (no
        requests for tiles it does not hold); None for the world.
    """

    key: str
    url: str | None = None
    attribution: str = ""
    max_zoom: int = 18
    frame: Frame = "wgs84"
    subdomains: str = "abc"
    labels_url: str | None = None
    min_zoom: int = 0
    bounds: tuple[float, float, float, float] | None = None


NO_TILES: Final = TileSource("none")
OSM_TILES: Final = TileSource(
    "osm",
    "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    attribution=_OSM_CREDIT,
    max_zoom=19,
)
AMAP_TILES: Final = TileSource(
    "amap",
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}",
    attribution="© 高德地图 AutoNavi",
    max_zoom=18,
    frame="gcj02",
    subdomains="1234",
)
_TIANDITU_URL: Final = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}"
)
_TILE_EXTS: Final = ("png", "jpg", "jpeg", "webp")
_TK_RE: Final = re.compile(r"[A-Za-z0-9]{8,64}")


def tianditu_tiles(key: str) -> TileSource:
    """Return Tianditu's vector map (``vec_w``) with its labels (``cva_w``) for key ``tk``.

    Raises
    ------
    MapError
        If ``key`` is not a Tianditu key (8 to 64 letters and digits).
    """
    if not isinstance(key, str) or _TK_RE.fullmatch(key.strip()) is None:
        msg = "the Tianditu key (tk) must be 8 to 64 letters and digits"
        raise MapError(msg)
    tk = key.strip()
    return TileSource(
        "tianditu",
        _TIANDITU_URL.replace("{layer}", "vec", 2).replace("{tk}", tk),
        attribution="© 天地图 Tianditu",
        max_zoom=18,
        subdomains="01234567",
        labels_url=_TIANDITU_URL.replace("{layer}", "cva", 2).replace("{tk}", tk),
    )


@dataclass(frozen=True)
class Basemap:
    """Tiles plus an optional vector base layer drawn from the area's own OSM file."""

    tiles: TileSource = NO_TILES
    vector: BaseLayers | None = None


def parse_tiles(value: str, *, tianditu_key: str | None = None) -> TileSource:
    """Return the tile source ``value`` names: ``none|osm|tianditu|amap|DIR|FILE.mbtiles``.

    Parameters
    ----------
    value
        ``none`` (no tiles, the default of every command), ``osm``, ``tianditu``,
        ``amap`` (also ``gaode``), the path of an XYZ tile folder
        (``{z}/{x}/{y}.png|jpg|webp``) or of an ``.mbtiles`` file.
    tianditu_key
        Tianditu's key (``tk``), needed for ``tianditu``.

    Returns
    -------
    TileSource
        The source; a local one refers to its folder by ``file://`` URL.

    Raises
    ------
    MapError
        If ``value`` names nothing known, ``tianditu`` comes without a key, the folder
        or file does not exist, holds no tiles or is not an MBTiles file.
    """
    if not isinstance(value, str) or not value.strip():
        msg = (
            f"tiles must be none, osm, tianditu, amap, a tile folder or an .mbtiles "
            f"file, got {value!r}"
        )
        raise MapError(msg)
    text = value.strip()
    key = text.lower()
    if key == "none":
        return NO_TILES
    if key == "osm":
        return OSM_TILES
    if key in ("amap", "gaode"):
        return AMAP_TILES
    if key == "tianditu":
        if not tianditu_key:
            msg = (
                "tiles 'tianditu' need a Tianditu key (tk): pass tianditu_key, or set "
                "TIANDITU_KEY for the command line"
            )
            raise MapError(msg)
        return tianditu_tiles(tianditu_key)
    path = Path(text).expanduser()
    if path.suffix.lower() == ".mbtiles":
        return _mbtiles(path)
    if path.is_dir():
        return _xyz_folder(path)
    if path.exists():
        msg = f"tiles {text!r} is a file but not an .mbtiles file"
        raise MapError(msg)
    if os.sep in text or "/" in text or path.suffix:
        msg = f"tile folder {str(path)!r} does not exist"
        raise MapError(msg)
    msg = (
        f"unknown tiles {text!r}: use none, osm, tianditu, amap, an XYZ tile folder "
        "or an .mbtiles file"
    )
    raise MapError(msg)


def map_crs(base: Basemap | None) -> str:
    """Return the Leaflet CRS name for a map over ``base`` (``"EPSG3857"`` by default).

    Over GCJ-02 tiles it is :data:`GCJ02_CRS`, which :func:`add_basemap` defines in the
    page's head, before the map is created.
    """
    if base is not None and base.tiles.frame == "gcj02":
        return GCJ02_CRS
    return "EPSG3857"


def add_basemap(m: folium.Map, base: Basemap, *, lang: Lang = "zh") -> folium.Map:
    """Add ``base``'s tiles and vector base layer to ``m``, under every overlay.

    Call it on a fresh map from :func:`maps.offline.new_map` (which does): the vector
    base covers the map's fitted bounds with a margin, simplified to a byte budget
    that grows with the area shown.

    Parameters
    ----------
    m
        The map, fitted to its bounds.
    base
        Tiles and vector base.
    lang
        Language of the labels: ``name:zh`` (else ``name``) for ``"zh"``, ``name:en``
        (else ``name``) for ``"en"``.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``base`` is not a :class:`Basemap` or ``lang`` is not supported.
    """
    lang = check_lang(lang)
    if not isinstance(base, Basemap):
        msg = f"base must be a maps.basemap.Basemap, got {type(base).__name__}"
        raise MapError(msg)
    if map_crs(base) == GCJ02_CRS:
        _GcjCrs().add_to(m)
    tiles = base.tiles
    if tiles.url is not None:
        _add_tiles(m, tiles, lang)
    vector = base.vector
    if vector is not None and not vector.empty:
        view = _view_box(m)
        group = folium.FeatureGroup(name=_label("base", lang), show=True, control=True)
        group.add_to(m)
        data = _vector_geojson(vector, view)
        labels = _labels(vector, view, lang)
        _VectorBase(
            m.get_name(),
            data,
            labels,
            opacity=_OVER_TILES_OPACITY if tiles.url is not None else 1.0,
            credit=vector.credit,
        ).add_to(group)
    return m


# --------------------------------------------------------------------------- tiles


def _label(key: str, lang: Lang) -> str:
    zh, en = _LABELS[key]
    return zh if lang == "zh" else en


def _add_tiles(m: folium.Map, tiles: TileSource, lang: Lang) -> None:
    extra: dict[str, Any] = {}
    if tiles.bounds is not None:
        w, s, e, n = tiles.bounds
        extra["bounds"] = [[s, w], [n, e]]
    folium.TileLayer(
        tiles=tiles.url,
        attr=tiles.attribution or _label(tiles.key, lang),
        name=_label(tiles.key, lang),
        min_zoom=0,
        max_zoom=19,
        max_native_zoom=tiles.max_zoom,
        min_native_zoom=tiles.min_zoom,
        subdomains=tiles.subdomains,
        overlay=False,
        control=False,
        **extra,
    ).add_to(m)
    if tiles.labels_url is not None:
        folium.TileLayer(
            tiles=tiles.labels_url,
            attr=tiles.attribution,
            name=_label("tianditu_labels", lang),
            max_zoom=19,
            max_native_zoom=tiles.max_zoom,
            subdomains=tiles.subdomains,
            overlay=True,
            control=False,
            z_index=2,
        ).add_to(m)


def _xyz_folder(folder: Path, *, attribution: str = "") -> TileSource:
    """Return a local ``{z}/{x}/{y}.ext`` folder as a source: extension, zooms, bounds."""
    root = folder.resolve()
    zooms = sorted(int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit())
    exts: Counter[str] = Counter()
    cover: dict[int, tuple[int, int, int, int]] = {}
    for z in zooms:
        xs, ys = [], []
        for xdir in (root / str(z)).iterdir():
            if not (xdir.is_dir() and xdir.name.isdigit()):
                continue
            for tile in xdir.iterdir():
                stem, _, ext = tile.name.partition(".")
                if stem.isdigit() and ext.lower() in _TILE_EXTS:
                    exts[ext] += 1
                    xs.append(int(xdir.name))
                    ys.append(int(stem))
        if xs:
            cover[z] = (min(xs), min(ys), max(xs), max(ys))
    if not cover:
        msg = f"tile folder {str(root)!r} holds no {{z}}/{{x}}/{{y}}.png|jpg|webp tiles"
        raise MapError(msg)
    ext = exts.most_common(1)[0][0]
    top = max(cover)
    x0, y0, x1, y1 = cover[top]
    west, north = _tile_corner(x0, y0, top)
    east, south = _tile_corner(x1 + 1, y1 + 1, top)
    return TileSource(
        "local",
        f"{root.as_uri()}/{{z}}/{{x}}/{{y}}.{ext}",
        attribution=attribution or escape(root.name),
        max_zoom=top,
        min_zoom=min(cover),
        bounds=(west, south, east, north),
    )


def _tile_corner(x: int, y: int, z: int) -> tuple[float, float]:
    """Return the (lon, lat) of the north-west corner of Web Mercator tile x, y at z."""
    n = 2.0**z
    lon = x / n * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    return lon, lat


_EXPORT_STAMP: Final = ".pingan-mbtiles.json"


def _mbtiles(path: Path) -> TileSource:
    """Unpack an MBTiles file into ``<name>.tiles/`` once, and return that folder."""
    src = path.resolve()
    if not src.is_file():
        msg = f"MBTiles file {str(src)!r} does not exist"
        raise MapError(msg)
    st = src.stat()
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    out = src.with_name(src.name + ".tiles")
    meta = _mbtiles_meta(src)
    attribution = escape(re.sub(r"<[^>]*>", "", meta.get("attribution", ""))) or escape(
        meta.get("name", src.stem)
    )
    try:
        recorded = json.loads((out / _EXPORT_STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = None
    if recorded != stamp:
        _export_mbtiles(src, out, meta, stamp)
    return _xyz_folder(out, attribution=attribution)


def _mbtiles_meta(src: Path) -> dict[str, str]:
    try:
        with closing(sqlite3.connect(f"{src.as_uri()}?mode=ro", uri=True)) as db:
            names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            if "tiles" not in names:
                msg = f"MBTiles file {str(src)!r} has no tiles table"
                raise MapError(msg)
            meta: dict[str, str] = {}
            if "metadata" in names:
                meta = {str(k): str(v) for k, v in db.execute("SELECT name, value FROM metadata")}
            return meta
    except sqlite3.DatabaseError as exc:
        msg = f"MBTiles file {str(src)!r} is not an SQLite database ({exc})"
        raise MapError(msg) from exc


def _tile_ext(data: bytes) -> str | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _export_mbtiles(src: Path, out: Path, meta: dict[str, str], stamp: dict[str, int]) -> None:
    """Write every tile as ``{z}/{x}/{y}.ext`` (MBTiles rows count from the south: TMS)."""
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    fmt = meta.get("format", "").lower()
    ext = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "webp": "webp"}.get(fmt)
    if fmt and ext is None:
        msg = f"MBTiles file {str(src)!r} holds {fmt!r} tiles; only png, jpg or webp can be shown"
        raise MapError(msg)
    written = 0
    try:
        with closing(sqlite3.connect(f"{src.as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles")
            for z, x, row, data in rows:
                blob = bytes(data)
                kind = ext or _tile_ext(blob)
                if kind is None:
                    msg = f"MBTiles file {str(src)!r}: tile {z}/{x}/{row} is not png, jpg or webp"
                    raise MapError(msg)
                y = (1 << int(z)) - 1 - int(row)
                target = tmp / str(int(z)) / str(int(x)) / f"{y}.{kind}"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(blob)
                written += 1
        if written == 0:
            msg = f"MBTiles file {str(src)!r} holds no tiles"
            raise MapError(msg)
        (tmp / _EXPORT_STAMP).write_text(json.dumps(stamp), encoding="utf-8")
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    except sqlite3.DatabaseError as exc:
        msg = f"MBTiles file {str(src)!r} cannot be read ({exc})"
        raise MapError(msg) from exc
    except OSError as exc:
        msg = f"cannot unpack MBTiles file {str(src)!r} into {str(out)!r} ({exc})"
        raise MapError(msg) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- GCJ-02

#: WGS84 <-> GCJ-02 in JavaScript, term for term :mod:`geo.coords`'s formula (same
#: constants, same China box, same fixed-point inverse to 1e-10 degrees).
_GCJ_JS: Final = """
(function () {
    var A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;
    function inChina(lon, lat) {
        return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
    }
    function offset(lon, lat) {
        var x = lon - 105.0, y = lat - 35.0, xpi = x * PI, ypi = y * PI;
        var common = 20.0 * Math.sin(6.0 * xpi) + 20.0 * Math.sin(2.0 * xpi);
        var dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
            + 0.2 * Math.sqrt(Math.abs(x));
        dlat += (common + 20.0 * Math.sin(ypi) + 40.0 * Math.sin(ypi / 3.0)
            + 160.0 * Math.sin(ypi / 12.0) + 320.0 * Math.sin(ypi / 30.0)) * (2.0 / 3.0);
        var dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y
            + 0.1 * Math.sqrt(Math.abs(x));
        dlon += (common + 20.0 * Math.sin(xpi) + 40.0 * Math.sin(xpi / 3.0)
            + 150.0 * Math.sin(xpi / 12.0) + 300.0 * Math.sin(xpi / 30.0)) * (2.0 / 3.0);
        var radlat = lat * (PI / 180.0), s = Math.sin(radlat);
        var magic = 1.0 - EE * s * s, sqrtMagic = Math.sqrt(magic);
        dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrtMagic) * PI);
        dlon = (dlon * 180.0) / (A / sqrtMagic * Math.cos(radlat) * PI);
        return [dlon, dlat];
    }
    function toGcj(lon, lat) {
        if (!inChina(lon, lat)) return [lon, lat];
        var d = offset(lon, lat);
        return [lon + d[0], lat + d[1]];
    }
    function toWgs(lon, lat) {
        if (!inChina(lon, lat)) return [lon, lat];
        var d = offset(lon, lat), plon = lon - d[0], plat = lat - d[1];
        for (var i = 0; i < 50; i++) {
            var f = offset(plon, plat);
            var sx = plon + f[0] - lon, sy = plat + f[1] - lat;
            plon -= sx; plat -= sy;
            if (Math.max(Math.abs(sx), Math.abs(sy)) < 1e-10) break;
        }
        return [plon, plat];
    }
    var merc = L.Projection.SphericalMercator;
    window.pinganGcj02 = {toGcj: toGcj, toWgs: toWgs};
    L.CRS.PinganGCJ02 = L.extend({}, L.CRS.EPSG3857, {
        code: "PinganGCJ02",
        projection: {
            bounds: merc.bounds,
            project: function (ll) {
                var g = toGcj(ll.lng, ll.lat);
                return merc.project(L.latLng(g[1], g[0]));
            },
            unproject: function (pt) {
                var g = merc.unproject(pt), w = toWgs(g.lng, g.lat);
                return L.latLng(w[1], w[0]);
            }
        }
    });
})();
"""


class _GcjCrs(MacroElement):
    """Defines :data:`GCJ02_CRS` in the page's head, after Leaflet, before the map."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <script>{{ this.js }}</script>
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "GcjCrs"
        self.js = _GCJ_JS


# --------------------------------------------------------------------------- vector base


class _VectorBase(MacroElement):
    """The base's areas and lines (one canvas), its labels, and the zoom classes."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .pingan-label { pointer-events: none; }
            .pingan-label span {
                position: absolute; left: 0; top: 0; white-space: nowrap;
                transform: translate(-50%, 6px);
                font: 12px/1.2 system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
                color: #4a4a4a;
                text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff, 0 0 4px #fff;
            }
            /* Above the point: a township seat's police station sits on it. */
            .pingan-label-city span, .pingan-label-town span {
                transform: translate(-50%, calc(-100% - 8px)); font-weight: 600; color: #333;
            }
            .pingan-label-city span { font-size: 16px; }
            .pingan-label-town span { font-size: 14px; }
            .pingan-label-suburb span { font-size: 13px; }
            .pingan-label-road span, .pingan-label-street span {
                transform: translate(-50%, -50%) rotate(var(--a));
                font-size: 11px; color: #6b5d4f;
            }
            /* One character a line: a steep road's Chinese name runs down the road. */
            .pingan-label span.pingan-v {
                white-space: normal; width: 1em; line-height: 1.05; text-align: center;
                word-break: break-all;
            }
            {% for cls, z in this.zooms %}
            .leaflet-container:not(.pingan-z{{ z }}) .pingan-label-{{ cls }} { display: none; }
            {% endfor %}
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function (map, group) {
            var panes = [[{{ this.pane|tojson }}, {{ this.pane_z }}],
                         [{{ this.labels_pane|tojson }}, {{ this.labels_pane_z }}]];
            panes.forEach(function (p) {
                if (!map.getPane(p[0])) {
                    var el = map.createPane(p[0]);
                    el.style.zIndex = p[1];
                    el.style.pointerEvents = "none";
                }
            });
            var styles = {{ this.styles|tojson }};
            var renderer = L.canvas({pane: {{ this.pane|tojson }}, padding: 0.5});
            L.geoJSON({{ this.data }}, {
                pane: {{ this.pane|tojson }}, renderer: renderer, interactive: false,
                style: function (f) { return styles[f.properties.k]; }
            }).addTo(group);
            var labels = {{ this.labels }};
            labels.forEach(function (l) {
                var angle = (l.length > 5 ? ' class="pingan-v"' : "")
                    + (l.length > 4 ? ' style="--a:' + l[4] + 'deg"' : "");
                L.marker([l[0], l[1]], {
                    pane: {{ this.labels_pane|tojson }}, interactive: false, keyboard: false,
                    icon: L.divIcon({className: "pingan-label pingan-label-" + l[3],
                                     html: "<span" + angle + ">" + l[2] + "</span>",
                                     iconSize: [0, 0]})
                }).addTo(group);
            });
            var steps = {{ this.steps|tojson }}, box = map.getContainer();
            function zoomed() {
                var z = map.getZoom();
                steps.forEach(function (t) {
                    if (z >= t) { L.DomUtil.addClass(box, "pingan-z" + t); }
                    else { L.DomUtil.removeClass(box, "pingan-z" + t); }
                });
            }
            map.on("zoomend viewreset load", zoomed);
            if (map._loaded) { zoomed(); }
            {% if this.credit %}
            map.attributionControl.addAttribution({{ this.credit|tojson }});
            {% endif %}
        })({{ this.map_name }}, {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        map_name: str,
        data: str,
        labels: list[list[Any]],
        *,
        opacity: float,
        credit: str | None,
    ) -> None:
        super().__init__()
        self._name = "VectorBase"
        self.map_name = map_name
        self.data = data
        self.labels = json.dumps(labels, ensure_ascii=False, separators=(",", ":"))
        styles = {}
        for k, s in _STYLES.items():
            s = dict(s)
            if "fillOpacity" in s:
                s["fillOpacity"] = s["fillOpacity"] * opacity
            styles[k] = s
        self.styles = styles
        self.zooms = sorted(LABEL_ZOOMS.items())
        self.steps = sorted(set(LABEL_ZOOMS.values()))
        self.pane, self.pane_z = BASE_PANE, BASE_PANE_Z
        self.labels_pane, self.labels_pane_z = BASE_LABELS_PANE, BASE_LABELS_PANE_Z
        self.credit = credit


def _view_box(m: folium.Map) -> tuple[float, float, float, float] | None:
    """Return the (W, S, E, N) the map is fitted to, with a margin; None when unfitted."""
    fits = [c for c in m._children.values() if isinstance(c, folium.map.FitBounds)]
    if not fits:
        return None
    (s, w), (n, e) = fits[-1].bounds
    dx = max(e - w, 0.005) * _VIEW_MARGIN
    dy = max(n - s, 0.005) * _VIEW_MARGIN
    return (max(w - dx, -180.0), max(s - dy, -90.0), min(e + dx, 180.0), min(n + dy, 90.0))


def _in_view(
    gdf: gpd.GeoDataFrame, view: tuple[float, float, float, float] | None
) -> gpd.GeoDataFrame:
    if view is None or not len(gdf):
        return gdf
    geom = gdf.geometry.to_numpy()
    rect = shapely.box(*view)
    hit = shapely.intersects(rect, geom)
    gdf = gdf[hit]
    inside = shapely.contains_properly(rect, gdf.geometry.to_numpy())
    if inside.all():
        return gdf
    clipped = gdf.geometry.to_numpy().copy()
    clipped[~inside] = shapely.clip_by_rect(clipped[~inside], *view)
    gdf = gdf.set_geometry(clipped)
    return gdf[~gdf.geometry.is_empty]


def _vector_geojson(vector: BaseLayers, view: tuple[float, float, float, float] | None) -> str:
    """Return the base's areas and lines as one compact GeoJSON, within a byte budget.

    Drawn in order: land use, water areas, buildings, waterways. Geometry is simplified
    in metres in the view's UTM zone; when the page would exceed its budget (which
    grows with the view's area), the smallest buildings go first, then the tolerance
    doubles.
    """
    land = _in_view(vector.landuse, view)
    water = _in_view(vector.water, view)
    buildings = _in_view(vector.buildings, view)
    frames = [g for g in (land, water, buildings) if len(g)]
    if not frames:
        return '{"type":"FeatureCollection","features":[]}'
    if view is None:
        b = np.vstack([g.total_bounds for g in frames])
        view = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
    w, s, e, n = (float(v) for v in view)
    utm = utm_crs_for([(w + e) / 2], [(s + n) / 2])
    xy = gpd.GeoSeries([shapely.box(w, s, e, n)], crs=4326).to_crs(utm)
    km2 = float(xy.area.iloc[0]) / 1e6
    budget = int(min(max(km2 * _BYTES_PER_KM2, _MIN_BYTES), _MAX_BYTES))
    diag_m = math.sqrt(km2) * 1000 * math.sqrt(2)
    tol = min(max(diag_m / 15_000, 1.0), 30.0)

    def metric(gdf: gpd.GeoDataFrame, kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return gdf.to_crs(utm).geometry.to_numpy(), kinds

    polys = water["kind"].to_numpy() == "water" if len(water) else np.zeros(0, bool)
    parts = [
        metric(land, land["kind"].to_numpy().astype(object)) if len(land) else None,
        metric(water[polys], np.full(int(polys.sum()), "water", dtype=object))
        if polys.any()
        else None,
    ]
    b_geom = buildings.to_crs(utm).geometry.to_numpy() if len(buildings) else np.empty(0, object)
    b_order = np.argsort(-shapely.area(b_geom), kind="stable")[:MAX_MAP_BUILDINGS]
    lines = (
        metric(water[~polys], water["kind"].to_numpy()[~polys].astype(object))
        if len(water) and (~polys).any()
        else None
    )
    n_build = len(b_order)
    for _ in range(8):
        chosen = b_geom[np.sort(b_order[:n_build])]
        layers = [
            *[p for p in parts if p is not None],
            (chosen, np.full(len(chosen), "building", dtype=object)),
            *([lines] if lines is not None else []),
        ]
        text = _encode(layers, tol, utm)
        if len(text) <= budget:
            return text
        if n_build > 0:
            n_build //= 2
        else:
            tol *= 2
    return text


def _encode(layers: list[tuple[np.ndarray, np.ndarray]], tol: float, utm: Any) -> str:
    features: list[str] = []
    for geom, kinds in layers:
        if not len(geom):
            continue
        simple = shapely.simplify(geom, tol, preserve_topology=True)
        # A field or pond smaller than a few pixels at the tolerance's zoom is noise.
        area = shapely.area(simple)
        is_poly = shapely.get_dimensions(simple) == 2
        keep = ~shapely.is_empty(simple) & (~is_poly | (area >= 4 * tol * tol))
        simple, k = simple[keep], kinds[keep]
        if not len(simple):
            continue
        lonlat = gpd.GeoSeries(simple, crs=utm).to_crs(4326).to_numpy()
        rounded = shapely.set_precision(lonlat, _GRID_DEG, mode="pointwise")
        ok = ~shapely.is_empty(rounded)
        texts = shapely.to_geojson(rounded[ok])
        features += [
            f'{{"type":"Feature","properties":{{"k":"{kind}"}},"geometry":{g}}}'
            for kind, g in zip(k[ok], texts, strict=True)
        ]
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


def _labels(
    vector: BaseLayers, view: tuple[float, float, float, float] | None, lang: Lang
) -> list[list[Any]]:
    """Return ``[lat, lon, escaped text, class(, angle)]`` for every label in view."""
    out: list[list[Any]] = []
    places = _in_view(vector.places, view)
    if len(places):
        text = _pick_name(places, lang)
        ok = text.str.len() > 0
        places, text = places[ok], text[ok]
        # Largest first: where labels overlap, Leaflet draws the later one on top.
        rank = places["place"].map({k: i for i, k in enumerate(LABEL_ZOOMS)}).to_numpy()
        order = np.argsort(-rank, kind="stable")
        xs = np.round(places.geometry.x.to_numpy()[order], 5)
        ys = np.round(places.geometry.y.to_numpy()[order], 5)
        out += [
            [float(y), float(x), escape(t), str(c)]
            for y, x, t, c in zip(
                ys, xs, text.to_numpy()[order], places["place"].to_numpy()[order], strict=True
            )
        ]
    roads = _in_view(vector.road_names, view)
    if len(roads):
        out += _road_labels(roads, lang)
    return out


def _pick_name(gdf: gpd.GeoDataFrame, lang: Lang) -> Any:
    first = "name_zh" if lang == "zh" else "name_en"
    name = gdf[first].astype("string").str.strip()
    name = name.mask(name.isna() | (name == ""), gdf["name"].astype("string").str.strip())
    return name.fillna("")


def _road_labels(roads: gpd.GeoDataFrame, lang: Lang) -> list[list[Any]]:
    """Place road names along each road every 1.5 km, turned to the road's direction."""
    text = _pick_name(roads, lang)
    roads = roads[text.str.len() > 0]
    text = text[text.str.len() > 0]
    if not len(roads):
        return []
    main = roads["highway"].isin(_MAIN_ROADS).to_numpy()
    w, s, e, n = roads.total_bounds
    utm = utm_crs_for([(w + e) / 2], [(s + n) / 2])
    geom = roads.to_crs(utm).geometry.to_numpy()
    parts, owner = shapely.get_parts(geom, return_index=True)
    lengths = shapely.length(parts)
    long_enough = lengths >= _ROAD_LABEL_MIN_M
    parts, owner, lengths = parts[long_enough], owner[long_enough], lengths[long_enough]
    if not len(parts):
        return []
    per = np.maximum(np.floor(lengths / _ROAD_LABEL_SPACING_M), 1).astype(np.int64)
    # Main roads first, so the cap drops street names before road names.
    rank = np.where(main[owner], 0, 1)
    order = np.lexsort((-lengths, rank))
    parts, owner, lengths, per = parts[order], owner[order], lengths[order], per[order]
    keep = np.cumsum(per) <= MAX_ROAD_LABELS
    parts, owner, lengths, per = parts[keep], owner[keep], lengths[keep], per[keep]
    which = np.repeat(np.arange(len(parts)), per)
    k = np.arange(len(which)) - np.repeat(np.cumsum(per) - per, per)
    at = (k + 0.5) * lengths[which] / per[which]
    line = parts[which]
    pt = shapely.line_interpolate_point(line, at)
    a = shapely.line_interpolate_point(line, np.maximum(at - 30.0, 0))
    b = shapely.line_interpolate_point(line, np.minimum(at + 30.0, lengths[which]))
    # Web Mercator keeps angles, so the UTM direction is the screen's direction; CSS
    # turns clockwise with y down, and text is kept upright.
    theta = np.degrees(
        np.arctan2(shapely.get_y(b) - shapely.get_y(a), shapely.get_x(b) - shapely.get_x(a))
    )
    theta = np.where(theta > 90, theta - 180, np.where(theta < -90, theta + 180, theta))
    css = -theta
    # Chinese reads as well top to bottom: a steep road's Chinese name (on an English
    # page too, where a road has no name:en) runs down it, upright, not on its side.
    names = text.to_numpy()[owner[which]]
    chinese = ~pd.Series(names, dtype="string").str.contains("[A-Za-z]").to_numpy(dtype=bool)
    vertical = (np.abs(css) > 55) & chinese
    css = np.where(vertical, np.where(css > 0, css - 90, css + 90), css)
    lonlat = gpd.GeoSeries(pt, crs=utm).to_crs(4326)
    cls = np.where(main[owner[which]], "road", "street")
    return [
        [round(float(y), 5), round(float(x), 5), escape(str(t)), str(c), round(float(d), 1)]
        + ([1] if v else [])
        for y, x, t, c, d, v in zip(
            lonlat.y.to_numpy(), lonlat.x.to_numpy(), names, cls, css, vertical, strict=True
        )
    ]
