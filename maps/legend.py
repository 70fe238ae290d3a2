"""The legend, the layer control and the point symbols that every map shares.

Legend swatches and point markers both draw from :func:`maps.style.symbol_svg`, so a
station on the map and its row in the legend always look alike, whichever map
(overview, hotspots, later patrol and team maps) they are on.

The legend lists only what is on the map: each layer builder notes the rows of what it
has drawn (:func:`note_legend`: a density band no cell reaches, an empty layer or a
station kind with no station adds none), and :func:`add_legend` lists those rows, in
the order the layers were drawn.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any, Final

import folium
from branca.element import MacroElement
from folium.template import Template

from geo.errors import MapError
from maps.features import aliases
from maps.style import Lang, LegendEntry, Symbol, check_lang, layer_label, symbol_svg

__all__ = [
    "LEGEND_POSITIONS",
    "MARKER_PX",
    "add_layer_control",
    "add_legend",
    "drawn_legend",
    "finish_map",
    "note_legend",
    "point_symbols",
]

#: Width and height of a point marker icon, in pixels.
MARKER_PX: Final = 18
#: Leaflet's control corners, where a legend can sit.
LEGEND_POSITIONS: Final = frozenset({"topleft", "topright", "bottomleft", "bottomright"})

# The legend rows of what the builders have drawn on each map, kept beside the map
# (weakly: a map that is gone takes its rows with it) rather than in an attribute
# patched onto folium's object.
_DRAWN: Final[weakref.WeakKeyDictionary[folium.Map, list[LegendEntry]]] = (
    weakref.WeakKeyDictionary()
)


class _Legend(MacroElement):
    """A Leaflet control holding the legend's HTML, stacked with the other controls."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .pingan-legend {
                background: rgba(255, 255, 255, 0.92); padding: 6px 10px;
                font: 12px/1.5 system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
                color: #222; border-radius: 4px; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3);
            }
            .pingan-legend h4 { margin: 0 0 4px; font-size: 13px; }
            .pingan-legend div { display: flex; align-items: center; gap: 6px; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
            {{ this.get_name() }}.onAdd = function () {
                var div = L.DomUtil.create("div", "pingan-legend");
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, position: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html
        self.position = position


def note_legend(m: folium.Map, entries: Iterable[LegendEntry]) -> folium.Map:
    """Note the legend rows of what a builder has just drawn on ``m``.

    Layer builders call this with rows for what they drew, and nothing for what they
    left out; a row noted twice (two layers of one kind) is listed once.

    Parameters
    ----------
    m
        Map the rows describe.
    entries
        Rows, in the order they should be listed.

    Returns
    -------
    folium.Map
        ``m``, for chaining.
    """
    rows = _DRAWN.setdefault(m, [])
    for entry in entries:
        if entry not in rows:
            rows.append(entry)
    return m


def drawn_legend(m: folium.Map) -> list[LegendEntry]:
    """Return the legend rows noted for ``m`` so far, in drawing order."""
    return list(_DRAWN.get(m, ()))


def add_legend(
    m: folium.Map,
    entries: Iterable[LegendEntry] | None = None,
    *,
    title: str | None = None,
    position: str = "bottomright",
) -> folium.Map:
    """Add a legend listing each entry's symbol and label.

    Parameters
    ----------
    m
        Map to add to.
    entries
        Rows to show, top to bottom; labels are escaped. ``None`` lists what the
        builders have drawn on ``m`` (:func:`drawn_legend`); when that is nothing,
        no legend is added.
    title
        Heading above the rows.
    position
        Leaflet control corner: ``"topleft"``, ``"topright"``, ``"bottomleft"`` or
        ``"bottomright"``.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``position`` is not a Leaflet control corner.
    """
    if position not in LEGEND_POSITIONS:
        msg = (
            f"legend position {position!r} is not a Leaflet control corner; "
            f"choose one of {sorted(LEGEND_POSITIONS)}"
        )
        raise MapError(msg)
    shown = drawn_legend(m) if entries is None else list(entries)
    if entries is None and not shown:
        return m
    rows = [
        f"<div>{symbol_svg(e.symbol, e.colour, weight=e.weight)}"
        f"<span>{escape(e.label)}</span></div>"
        for e in shown
    ]
    heading = f"<h4>{escape(title)}</h4>" if title else ""
    _Legend(heading + "".join(rows), position).add_to(m)
    return m


def finish_map(m: folium.Map, *, lang: Lang = "zh") -> folium.Map:
    """Add the legend of what is drawn on ``m`` and the layer switcher; call it last.

    Parameters
    ----------
    m
        Map whose layers are all added.
    lang
        Label language of the legend's title.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``lang`` is not supported.
    """
    add_legend(m, title=layer_label("legend", check_lang(lang)))
    return add_layer_control(m)


def add_layer_control(m: folium.Map, *, collapsed: bool = False) -> folium.Map:
    """Add the layer switcher; call it after every layer has been added.

    Parameters
    ----------
    m
        Map to add to.
    collapsed
        Whether the control starts folded into an icon.

    Returns
    -------
    folium.Map
        ``m``, for chaining.
    """
    folium.LayerControl(collapsed=collapsed).add_to(m)
    return m


def point_symbols(
    data: dict[str, Any],
    symbol: Symbol,
    colour: str,
    fields: Sequence[str],
    lang: Lang,
    *,
    size: int = MARKER_PX,
    pane: str | None = None,
) -> folium.GeoJson:
    """Return a GeoJson layer drawing every point with the same inline-SVG icon.

    Inline SVG in a ``DivIcon`` needs no icon font or image file, which an offline
    page could not load; the popup lists ``fields`` and the tooltip shows ``name``.

    Parameters
    ----------
    data
        GeoJSON FeatureCollection of points whose properties hold ``fields`` and
        ``name``, as from :func:`maps.features.feature_collection`.
    symbol
        Shape of the icon.
    colour
        CSS colour of the icon.
    fields
        Properties shown in the popup, in order.
    lang
        Label language of the popup's field names.
    size
        Icon width and height in pixels.
    pane
        Leaflet pane of the markers (created by the caller); ``None`` for the marker
        pane. Stations sit in one above it, so a team base at a station never hides it.

    Returns
    -------
    folium.GeoJson
        The layer, not yet added to a map or feature group.

    Raises
    ------
    MapError
        If ``size`` is not a positive number of pixels.
    """
    if size < 1:
        msg = f"point symbol size must be at least 1 px, got {size!r}"
        raise MapError(msg)
    icon = folium.DivIcon(
        html=symbol_svg(symbol, colour, size=size),
        icon_size=(size, size),
        icon_anchor=(size // 2, size // 2),
        class_name="pingan-icon",
    )
    return folium.GeoJson(
        data,
        control=False,
        marker=_marker(icon, pane),
        popup=folium.GeoJsonPopup(fields=list(fields), aliases=aliases(fields, lang)),
        # The alias is never shown (labels=False), but it is page text: keep it in lang.
        tooltip=folium.GeoJsonTooltip(
            fields=["name"], aliases=aliases(["name"], lang), labels=False
        ),
    )


def _marker(icon: folium.DivIcon, pane: str | None) -> folium.Marker:
    """Return the template marker of a point layer, in ``pane`` when one is given."""
    marker = folium.Marker(icon=icon)
    if pane:
        # Leaflet's own option; folium's constructor passes it through untyped.
        marker.options["pane"] = pane
    return marker
