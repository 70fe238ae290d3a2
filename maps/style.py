"""Colours, line weights, symbols and bilingual labels shared by every map.

Keeping them in one table means the legend, the layer control and the features on
the map can never disagree about what a colour or a name stands for.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Final, Literal, get_args

from geo.errors import MapError
from geo.network.tags import HIGHWAY_NAMES

__all__ = [
    "BACKGROUND",
    "DEFAULT_ROAD_WEIGHT",
    "LABELS",
    "LANGS",
    "LIT_COLOURS",
    "MISSING",
    "ROAD_WEIGHTS",
    "STATION_COLOURS",
    "STATION_SYMBOLS",
    "SYMBOLS",
    "TEAM_COLOUR",
    "TEAM_SYMBOL",
    "VILLAGE_COLOURS",
    "Lang",
    "LegendEntry",
    "Symbol",
    "check_lang",
    "field_label",
    "highway_label",
    "layer_label",
    "page_title",
    "road_weight",
    "symbol_svg",
]

Lang = Literal["zh", "en"]
Symbol = Literal["line", "circle", "square", "triangle", "star", "outline"]

LANGS: Final = frozenset(get_args(Lang))
SYMBOLS: Final[tuple[Symbol, ...]] = get_args(Symbol)

#: Page background instead of a tile layer: the maps must work without a tile server.
BACKGROUND: Final = "#eef0ec"

#: Road colour per OSM ``lit`` class; amber on light grey reads as "lit" at a glance,
#: dark purple stays visible against it without looking like a lit road.
LIT_COLOURS: Final[dict[str, str]] = {
    "yes": "#e69500",
    "no": "#3b1f5c",
    "unknown": "#9e9e9e",
}

#: Line weight (px) per OSM ``highway`` class; ``*_link`` roads use their parent's weight.
ROAD_WEIGHTS: Final[dict[str, float]] = {
    "motorway": 6.0,
    "trunk": 5.5,
    "primary": 5.0,
    "secondary": 4.0,
    "tertiary": 3.5,
    "unclassified": 2.5,
    "residential": 2.5,
    "living_street": 2.0,
    "service": 1.8,
    "track": 1.4,
    "path": 1.2,
    "footway": 1.2,
    "cycleway": 1.2,
    "bridleway": 1.2,
    "steps": 1.2,
}
DEFAULT_ROAD_WEIGHT: Final = 2.0

VILLAGE_COLOURS: Final[dict[str, str]] = {"village": "#2e7d32", "community": "#00838f"}
STATION_COLOURS: Final[dict[str, str]] = {"station": "#0d47a1", "post": "#1e88e5"}
STATION_SYMBOLS: Final[dict[str, Symbol]] = {"station": "square", "post": "triangle"}
#: A proposed post: the post's triangle in a colour no existing unit uses.
PROPOSED_COLOUR: Final = "#d81b60"
TEAM_COLOUR: Final = "#c62828"
TEAM_SYMBOL: Final[Symbol] = "star"

#: Shown in popups and tooltips where a value is missing.
MISSING: Final = "—"

#: key -> (Chinese, English). Layer names, field names and category values share it.
LABELS: Final[dict[str, tuple[str, str]]] = {
    # layers
    "lit_roads": ("亮灯道路", "Lit roads"),
    "unlit_roads": ("无灯道路", "Unlit roads"),
    "unknown_roads": ("照明未知", "Lighting unknown"),
    "villages": ("村庄与社区", "Villages & communities"),
    "stations": ("派出所与警务室", "Police stations & posts"),
    "teams": ("先锋队驻地", "Vanguard team bases"),
    "proposed_posts": ("拟建警务室", "Proposed posts"),
    "legend": ("图例", "Legend"),
    # fields
    "name": ("名称", "Name"),
    "code": ("区划代码", "Code"),
    "households": ("户数", "Households"),
    "nearest_village": ("最近村庄", "Nearest village"),
    "road": ("道路", "Road"),
    "villages_gained": ("新覆盖村庄", "Villages newly covered"),
    "population": ("人口", "Population"),
    "kind": ("类型", "Kind"),
    "township": ("乡镇/街道", "Township"),
    "id": ("编号", "ID"),
    "members": ("队员人数", "Members"),
    "home_unit": ("所属单位", "Home unit"),
    "skills": ("技能", "Skills"),
    "highway": ("道路等级", "Road class"),
    "lit": ("照明", "Lighting"),
    "length": ("长度", "Length"),
    # category values
    "village": ("村", "village"),
    "community": ("社区", "community"),
    "station": ("派出所", "police station"),
    "post": ("警务室", "police post"),
    "village_area": ("村界", "village boundary"),
    "yes": ("有路灯", "lit"),
    "no": ("无路灯", "unlit"),
    "unknown": ("未知", "unknown"),
}


#: Map kind -> (Chinese, English) page title, the place name put in by :func:`page_title`.
TITLES: Final[dict[str, tuple[str, str]]] = {
    "overview": ("{place} 概览图", "{place}: overview"),
    "hotspots": ("{place} 警情热点与道路照明", "{place}: hotspots, dark roads and lamps"),
    "hotspots_only": ("{place} 警情热点", "{place}: hotspots"),
    "unlit": ("{place} 无灯道路风险", "{place}: dark roads by risk"),
    "lamps": ("{place} 建议路灯", "{place}: proposed lamps"),
    "posts": ("{place} 拟建警务室", "{place}: proposed posts"),
    "coverage": ("{place} 村庄覆盖", "{place}: village coverage"),
    "officers": ("{place} 一村一辅警", "{place}: one village, one auxiliary officer"),
    "patrol": ("{place} 巡逻路线", "{place}: patrol routes"),
    "teams": ("{place} 先锋队派驻图", "{place}: vanguard teams"),
    "village": ("{place} 村庄简报图", "{place}: village briefing"),
    "compare": ("{place} 方案对比", "{place}: scenario comparison"),
    "index": ("{place} 平安地图与报告", "{place}: pingan maps and reports"),
}


def page_title(kind: str, place: str, lang: Lang) -> str:
    """Return a map page's title in one language ("贵溪 概览图" / "Guixi: overview").

    The place name is the user's own (often Chinese even on an English page); the
    words around it follow ``lang``.
    """
    zh, en = TITLES[kind]
    return (zh if lang == "zh" else en).format(place=place)


def check_lang(lang: str) -> Lang:
    """Return ``lang`` if it is a supported label language.

    Parameters
    ----------
    lang
        Language code asked for by the caller.

    Returns
    -------
    Lang
        The same code, narrowed for the type checker.

    Raises
    ------
    MapError
        If the language has no label column.
    """
    if lang not in LANGS:
        msg = f"unsupported map language lang={lang!r}; choose one of {sorted(LANGS)}"
        raise MapError(msg)
    return lang  # type: ignore[return-value]


def layer_label(key: str, lang: Lang) -> str:
    """Return a layer or legend name in one language: Chinese for ``"zh"``, else English.

    A Chinese page used to carry English glosses ("亮灯道路 / Lit roads"); officers read
    that as a half-translated page, so each page now speaks one language.

    Parameters
    ----------
    key
        Key in :data:`LABELS`.
    lang
        Label language.

    Returns
    -------
    str
        For example ``"亮灯道路"`` or ``"Lit roads"``.
    """
    zh, en = LABELS[key]
    return zh if lang == "zh" else en


def field_label(key: str, lang: Lang) -> str:
    """Return a short, single-language label for popup fields and category values.

    Parameters
    ----------
    key
        Key in :data:`LABELS`; unknown keys (e.g. a new category) are returned as is.
    lang
        Label language.

    Returns
    -------
    str
        The label in the requested language.
    """
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def highway_label(highway: str | None, lang: Lang) -> str:
    """Return an OSM ``highway`` class as people say it ("县道" / "county road").

    ``*_link`` roads are named as ramps of their parent class; a class with no name here
    is shown as tagged on an English page and as "道路" on a Chinese one, so a Chinese
    map never shows a raw English tag.
    """
    if not highway:
        return MISSING
    base = highway.removesuffix("_link")
    pair = HIGHWAY_NAMES.get(base)
    if pair is None:
        return "道路" if lang == "zh" else highway
    zh, en = pair
    if base != highway:
        return f"{zh}匝道" if lang == "zh" else f"{en} ramp"
    return zh if lang == "zh" else en


def road_weight(highway: str | None) -> float:
    """Return the line weight for an OSM ``highway`` value (``*_link`` as its parent).

    Parameters
    ----------
    highway
        OSM ``highway`` tag, or None.

    Returns
    -------
    float
        Line weight in pixels.
    """
    if not highway:
        return DEFAULT_ROAD_WEIGHT
    return ROAD_WEIGHTS.get(highway.removesuffix("_link"), DEFAULT_ROAD_WEIGHT)


def symbol_svg(symbol: Symbol, colour: str, *, size: int = 16, weight: float = 3.0) -> str:
    """Return an inline SVG for a legend swatch or a DivIcon marker.

    Markers and legend draw from this one function so they always look alike, and
    inline SVG needs no icon font or image file (the pages must work offline).

    Parameters
    ----------
    symbol
        Shape to draw.
    colour
        CSS colour of the shape.
    size
        Width and height in pixels.
    weight
        Stroke width of a ``"line"`` swatch, in pixels.

    Returns
    -------
    str
        An ``<svg>`` element.

    Raises
    ------
    MapError
        If ``symbol`` is not one of :data:`SYMBOLS`.
    """
    if symbol not in SYMBOLS:
        msg = f"symbol {symbol!r} is unknown; choose one of {SYMBOLS}"
        raise MapError(msg)
    c = escape(colour, quote=True)
    white = 'stroke="#fff" stroke-width="1.5"'
    shapes: dict[Symbol, str] = {
        "line": (
            f'<line x1="1" y1="8" x2="15" y2="8" stroke="{c}" '
            f'stroke-width="{min(weight, 8.0):g}" stroke-linecap="round"/>'
        ),
        "circle": f'<circle cx="8" cy="8" r="5" fill="{c}" {white}/>',
        "square": f'<rect x="2" y="2" width="12" height="12" rx="1.5" fill="{c}" {white}/>',
        "triangle": f'<path d="M8 1.5 L15 14 L1 14 Z" fill="{c}" {white}/>',
        "star": (
            '<path d="M8 0.8 L10.1 5.6 L15.3 6.1 L11.4 9.6 L12.5 14.8 L8 12.1 '
            f'L3.5 14.8 L4.6 9.6 L0.7 6.1 L5.9 5.6 Z" fill="{c}" {white}/>'
        ),
        "outline": (
            f'<rect x="2" y="3" width="12" height="10" fill="{c}" fill-opacity="0.08" '
            f'stroke="{c}" stroke-width="1.5" stroke-dasharray="3 1.5"/>'
        ),
    }
    return (
        f'<svg width="{size}" height="{size}" '
        f'viewBox="0 0 16 16" aria-hidden="true">{shapes[symbol]}</svg>'
    )


@dataclass(frozen=True)
class LegendEntry:
    """One legend row: a swatch and the text next to it.

    Raises
    ------
    MapError
        If ``label`` is empty or ``symbol`` is not one of :data:`SYMBOLS`.
    """

    label: str
    colour: str
    symbol: Symbol
    weight: float = 3.0

    def __post_init__(self) -> None:
        if not self.label:
            msg = f"legend entry label is empty (colour {self.colour!r}, symbol {self.symbol!r})"
            raise MapError(msg)
        if self.symbol not in SYMBOLS:
            msg = f"legend entry symbol {self.symbol!r} is unknown; choose one of {SYMBOLS}"
            raise MapError(msg)
