"""Make folium pages work without internet: inline vendored assets, drop the rest.

A stock folium page loads Leaflet, jQuery, Bootstrap and font-awesome from CDNs and
is blank on a police laptop without internet. :func:`render_offline` renders the
page and replaces every external ``<script src>`` / ``<link href>`` with the vendored
file inlined, removes the assets none of our builders use, and refuses anything
else, so a new plugin can never ship a CDN link unnoticed.

To vendor a plugin (say ``leaflet-heat.js``): drop its files under ``maps/assets/``
and add one line to :data:`VENDORED_ASSETS`.
"""

from __future__ import annotations

import base64
import copy
import math
import mimetypes
import os
import re
from fnmatch import fnmatch
from functools import cache
from html import escape
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import folium
from branca.element import MacroElement
from folium.template import Template

from geo.atomic import write_text
from geo.errors import CoordinateError, OfflineAssetError
from maps.basemap import Basemap, add_basemap, map_crs
from maps.style import BACKGROUND, Lang

__all__ = [
    "ASSETS_DIR",
    "NOT_NEEDED",
    "VENDORED_ASSETS",
    "new_map",
    "render_offline",
    "save_offline",
]

ASSETS_DIR: Final = Path(__file__).resolve().parent / "assets"
_LEAFLET: Final = ASSETS_DIR / "leaflet-1.9.4"

#: File name of an asset a page asks for -> vendored file inlined in its place.
#: Matched on the URL's file name so folium's pinned CDN version does not matter.
VENDORED_ASSETS: Final[dict[str, Path]] = {
    "leaflet.js": _LEAFLET / "leaflet.js",
    "leaflet.css": _LEAFLET / "leaflet.css",
}

#: URL patterns (fnmatch, version wildcarded) of assets folium adds to every page that
#: our builders do not use; they are removed. Listed one by one, never by host, so an
#: unexpected asset from the same CDN still fails loudly.
NOT_NEEDED: Final[frozenset[str]] = frozenset(
    {
        "*/jquery-*.js",
        "*/bootstrap@*/dist/js/bootstrap.bundle.min.js",
        "*/bootstrap@*/dist/css/bootstrap.min.css",
        "*/bootstrap/*/css/bootstrap-glyphicons.css",
        "*/@fortawesome/fontawesome-free@*/css/all.min.css",
        "*/Leaflet.awesome-markers/*/leaflet.awesome-markers.js",
        "*/Leaflet.awesome-markers/*/leaflet.awesome-markers.css",
        "*/leaflet.awesome.rotate.min.css",
    }
)

#: Code that proves a dropped asset *is* needed after all -> what to do instead.
#: Checked before dropping, so a builder using them fails here, not in the browser.
_NEEDS_DROPPED: Final[dict[str, str]] = {
    "L.AwesomeMarkers": "folium.Icon needs Leaflet.awesome-markers and font-awesome; "
    "use folium.CircleMarker or folium.DivIcon with inline SVG instead",
    "$.ajax(": "GeoJson(embed=False) fetches data with jQuery; embed the data instead",
}

_SCRIPT_RE: Final = re.compile(
    r"<script\b(?P<attrs>[^>]*)>(?P<body>.*?)</script\s*>", re.IGNORECASE | re.DOTALL
)
_LINK_RE: Final = re.compile(r"<link\b(?P<attrs>[^>]*?)/?>", re.IGNORECASE)
_ATTR_RE: Final = re.compile(
    r"""(?P<key>[\w:-]+)\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'>]+))"""
)
_CSS_URL_RE: Final = re.compile(r"""url\(\s*(?P<q>['"]?)(?P<url>[^'")]+)(?P=q)\s*\)""")
# Anything still able to fetch from the network once assets are inlined.
_REMOTE_LOAD_RE: Final = re.compile(
    r"""<(?:script|link|img|iframe|source|embed|object|audio|video|track|input)\b[^>]*"""
    r"""\b(?:src|href|data|srcset|poster)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)


def new_map(
    bounds: tuple[float, float, float, float],
    *,
    title: str,
    base: Basemap | None = None,
    lang: Lang = "zh",
) -> folium.Map:
    """Create an empty offline-ready map fitted to ``bounds``.

    There is no tile layer (no tile server is reachable in the field), a plain
    background colour instead, a metric scale bar and the page title set.

    Parameters
    ----------
    bounds
        ``(minlon, minlat, maxlon, maxlat)`` in WGS84 degrees, as returned by
        ``GeoDataFrame.to_crs(4326).total_bounds``.
    title
        Text of the page's ``<title>``.
    base
        Tiles and the vector base layer to draw under the overlays; ``None`` for the
        plain background.
    lang
        Label language of the base layer.

    Returns
    -------
    folium.Map
        A map ready for the layer builders and :func:`render_offline`.

    Raises
    ------
    CoordinateError
        If the bounds are not finite, out of range or inverted.
    """
    minlon, minlat, maxlon, maxlat = (float(v) for v in bounds)
    if not all(math.isfinite(v) for v in (minlon, minlat, maxlon, maxlat)):
        msg = f"map bounds must be finite, got {bounds!r}"
        raise CoordinateError(msg)
    if not (-180 <= minlon <= maxlon <= 180 and -90 <= minlat <= maxlat <= 90):
        msg = (
            f"map bounds {bounds!r} are not (minlon, minlat, maxlon, maxlat) in WGS84 "
            "degrees; reproject to EPSG:4326 first"
        )
        raise CoordinateError(msg)
    # No initial view: fitBounds from the world view jumps straight to the district,
    # where a nearby start view would play a zoom animation first.
    m = folium.Map(
        tiles=None,
        crs=map_crs(base),
        control_scale=False,  # added below, metric only
        # Without tiles there is no reason to snap to whole zoom levels, and quarter
        # steps let a district fill the window instead of a third of it.
        zoom_snap=0.25,
        zoom_delta=0.5,
    )
    m.get_root().title = escape(title)  # type: ignore[attr-defined]
    _PageBase(lang).add_to(m)
    # max_zoom keeps a single point (zero-size bounds) from zooming to street level.
    m.fit_bounds([[minlat, minlon], [maxlat, maxlon]], padding=(24, 24), max_zoom=16)
    if base is not None:
        add_basemap(m, base, lang=lang)
    return m


class _PageBase(MacroElement):
    """Background colour, metric scale bar and a link-free attribution prefix."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .leaflet-container { background: {{ this.background }}; }
            .pingan-icon { background: none; border: none; }
            /* A narrow popup wraps Chinese field names a character a line ("名/称"). */
            .leaflet-popup-content th, .leaflet-tooltip th { white-space: nowrap; }
            .leaflet-popup-content td { word-break: normal; overflow-wrap: anywhere; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            {% if this.units %}
            // Leaflet writes "km" and "m" whatever the page's language.
            L.Control.Scale.prototype._updateMetric = function (maxMeters) {
                var metres = this._getRoundNum(maxMeters);
                var label = metres < 1000
                    ? metres + {{ this.units[1]|tojson }}
                    : metres / 1000 + {{ this.units[0]|tojson }};
                this._updateScale(this._mScale, label, metres / maxMeters);
            };
            {% endif %}
            L.control.scale({imperial: false, maxWidth: 160})
                .addTo({{ this._parent.get_name() }});
            {{ this._parent.get_name() }}.attributionControl.setPrefix("Leaflet");
        {% endmacro %}
        """
    )

    def __init__(self, lang: Lang = "zh") -> None:
        super().__init__()
        self._name = "PageBase"
        self.background = BACKGROUND
        self.units = (" 公里", " 米") if lang == "zh" else None


def render_offline(m: folium.Map) -> str:
    """Render ``m`` as one self-contained HTML page that loads nothing from the network.

    Parameters
    ----------
    m
        Any folium map, usually from :func:`new_map` plus layer builders.

    Returns
    -------
    str
        The HTML page with vendored JavaScript and CSS inlined (CSS images as
        ``data:`` URIs) and unneeded default assets removed.

    Raises
    ------
    OfflineAssetError
        If the page loads an asset that is not in :data:`VENDORED_ASSETS` or
        :data:`NOT_NEEDED`, uses code that needs a dropped asset, or still refers to
        a remote resource after inlining.
    """
    # folium appends fresh "addTo" calls to the figure on every render, so render a
    # copy: the caller's map stays as built and rendering twice gives the same page.
    html = copy.deepcopy(m.get_root()).render()
    for token, advice in _NEEDS_DROPPED.items():
        if token in html:
            msg = f"the map uses {token!r}, whose asset is not shipped offline: {advice}"
            raise OfflineAssetError(msg)

    # Vendored code goes in only after the check below: it is reviewed when vendored,
    # and its own strings (Leaflet's attribution link) must not trip the check.
    placeholders: dict[str, str] = {}

    def replace(match: re.Match[str], url_attr: str) -> str:
        attrs = _attributes(match.group("attrs"))
        url = attrs.get(url_attr)
        if url is None or url.startswith("data:"):
            return match.group(0)
        if url_attr == "href" and "stylesheet" not in attrs.get("rel", "").lower():
            msg = f"<link rel={attrs.get('rel')!r}> loads {url!r}, which cannot work offline"
            raise OfflineAssetError(msg)
        name = _file_name(url)
        if name in VENDORED_ASSETS:
            key = f"\x00vendored:{name}\x00"
            if key in placeholders:
                return ""  # asked for twice (e.g. by two plugins); load it once
            placeholders[key] = name
            return key
        if any(fnmatch(url.split("?", 1)[0], pattern) for pattern in NOT_NEEDED):
            return ""
        msg = (
            f"the map loads {url!r}, which is neither vendored nor listed as not needed; "
            f"vendor it: put {name!r} under {ASSETS_DIR} and add it to "
            "maps.offline.VENDORED_ASSETS"
        )
        raise OfflineAssetError(msg)

    html = _SCRIPT_RE.sub(lambda mt: replace(mt, "src"), html)
    html = _LINK_RE.sub(lambda mt: replace(mt, "href"), html)
    _check_self_contained(html)
    for key, name in placeholders.items():
        html = html.replace(key, _inline(name))
    return html


def save_offline(m: folium.Map, path: str | os.PathLike[str]) -> Path:
    """Write :func:`render_offline`'s page to ``path`` atomically, as UTF-8.

    The page is written to a temporary file next to ``path`` and moved into place,
    so a reader (or a browser refreshing the map) never sees half a file.

    Parameters
    ----------
    m
        The map to save.
    path
        Destination ``.html`` file; its folder must exist.

    Returns
    -------
    Path
        The written path.

    Raises
    ------
    OfflineAssetError
        If the page cannot be made self-contained (see :func:`render_offline`).
    FileNotFoundError
        If the folder of ``path`` does not exist.
    """
    target = Path(path)
    html = render_offline(m)  # render first: a failed render must not leave a temp file
    if not target.parent.is_dir():
        msg = f"folder {target.parent} does not exist"
        raise FileNotFoundError(msg)
    return write_text(target, html)


def _attributes(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for a in _ATTR_RE.finditer(text):
        value = a.group("dq") if a.group("dq") is not None else a.group("sq")
        out[a.group("key").lower()] = value if value is not None else a.group("bare")
    return out


def _file_name(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


@cache
def _inline(name: str) -> str:
    """Return the ``<script>`` or ``<style>`` element that replaces asset ``name``."""
    path = VENDORED_ASSETS[name]
    if not path.is_file():
        msg = f"vendored asset {name!r} is registered but {path} is missing"
        raise OfflineAssetError(msg)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".js":
        # "</script" inside the code would end the inline element early.
        body = re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)
        extra = _leaflet_default_icon_js() if name == "leaflet.js" else ""
        return f"<script>/* vendored: {name} */\n{body}\n{extra}</script>"
    if path.suffix == ".css":
        css = _embed_css_urls(text, path.parent)
        css = re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)
        return f"<style>/* vendored: {name} */\n{css}\n</style>"
    msg = f"vendored asset {name!r} is neither .js nor .css"
    raise OfflineAssetError(msg)


def _embed_css_urls(css: str, base: Path) -> str:
    """Turn relative ``url(...)`` references into ``data:`` URIs read from ``base``."""

    def to_data_uri(match: re.Match[str]) -> str:
        url = match.group("url").strip()
        # "#default#VML" is an old-IE behaviour hook, not a file.
        if url.startswith(("data:", "#")):
            return match.group(0)
        if url.startswith(("http:", "https:", "//")):
            msg = f"vendored CSS in {base} refers to remote {url!r}; vendor that file too"
            raise OfflineAssetError(msg)
        return f'url("{_data_uri(base / url)}")'

    return _CSS_URL_RE.sub(to_data_uri, css)


def _data_uri(path: Path) -> str:
    if not path.is_file():
        msg = f"vendored asset file {path} is missing"
        raise OfflineAssetError(msg)
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _leaflet_default_icon_js() -> str:
    """Point ``L.Icon.Default`` at inlined images.

    Leaflet derives the default marker's image folder from leaflet.css, which no
    longer works once the CSS images are ``data:`` URIs; without this a plain
    ``folium.Marker`` would show a broken image.
    """
    images = _LEAFLET / "images"
    return (
        "L.Icon.Default.imagePath = '';\n"
        "L.Icon.Default.mergeOptions({"
        f"iconUrl: '{_data_uri(images / 'marker-icon.png')}', "
        f"iconRetinaUrl: '{_data_uri(images / 'marker-icon-2x.png')}', "
        f"shadowUrl: '{_data_uri(images / 'marker-shadow.png')}'}});\n"
    )


def _check_self_contained(html: str) -> None:
    hit = _REMOTE_LOAD_RE.search(html)
    if hit is not None:
        context = html[max(hit.start() - 60, 0) : hit.end() + 60]
        msg = f"the offline page still loads a remote resource near: {context!r}"
        raise OfflineAssetError(msg)
