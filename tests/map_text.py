"""What a reader of a map page sees, read from the HTML: for one-language checks.

Collects the page title, the layer control's names, the legend, popup and tooltip field
names and the values of the GeoJSON properties (what popups and tooltips show), so a
test can assert that a Chinese page carries no English word and an English page no
Chinese, without a browser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from html import unescape

_TITLE = re.compile(r"<title>(.*?)</title>", re.S)
_LAYER_NAME = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*(?:feature_group|tile_layer)_[0-9a-f]+')
_ALIASES = re.compile(r"aliases = (\[[^\]]*\])")
_LEGEND = re.compile(r'innerHTML = ("(?:[^"\\]|\\.)*")')
_GEOJSON = re.compile(r"(geo_json_[0-9a-f]+)_add\(")
_TAG = re.compile(r"<[^>]+>")
#: Words allowed on a Chinese page: names of data sources and statistics, not prose.
ALLOWED_EN = frozenset({"openstreetmap", "contributors", "leaflet", "gi", "fdr", "km", "osm"})
_WORD = re.compile(r"[A-Za-z]{3,}")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_KEY = re.compile(r"[a-z_]+")


def _json_string(raw: str) -> str:
    return str(json.loads(raw))


def visible_strings(html: str, *, skip_props: Iterable[str] = ("name",)) -> list[str]:
    """Return the strings a reader of the page can see (user data props skipped)."""
    out: list[str] = []
    title = _TITLE.search(html)
    if title:
        out.append(unescape(title.group(1)))
    out += [_json_string(f'"{m.group(1)}"') for m in _LAYER_NAME.finditer(html)]
    for m in _ALIASES.finditer(html):
        # An alias equal to a bare field key ("name") is folium's default for a tooltip
        # drawn without labels: page code, never shown, so not the page's language.
        out += [unescape(str(a)) for a in json.loads(m.group(1)) if not _KEY.fullmatch(str(a))]
    for m in _LEGEND.finditer(html):
        out.append(unescape(_TAG.sub(" ", _json_string(m.group(1)))))
    skip = set(skip_props)
    dec = json.JSONDecoder()
    for m in _GEOJSON.finditer(html):
        try:
            obj, _ = dec.raw_decode(html, m.end())
        except json.JSONDecodeError:
            continue
        for f in obj.get("features", []):
            for k, v in (f.get("properties") or {}).items():
                # Colours, ids and numbers are not prose; names are the user's own data.
                if k in skip or not isinstance(v, str) or v.startswith("#"):
                    continue
                out.append(unescape(v))
    return out


def english_words(strings: Iterable[str], allowed: Iterable[str] = ()) -> set[str]:
    """Return the English words (3+ letters) in ``strings`` that are not allowed."""
    ok = ALLOWED_EN | {a.lower() for a in allowed}
    return {w for s in strings for w in _WORD.findall(s) if w.lower() not in ok}


def chinese_strings(strings: Iterable[str]) -> list[str]:
    """Return the strings holding a Chinese character."""
    return [s for s in strings if _HAN.search(s)]
