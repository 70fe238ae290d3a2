"""The overview map: roads by lighting, villages, police stations and team bases.

Each ``add_*`` builder takes a map and one layer's data, adds one named layer (the
roads builder adds one per lighting class) and returns the map, so later maps can
reuse any of them. Builders reproject to EPSG:4326 themselves and embed every
layer as a single GeoJSON object, so thousands of roads stay one Leaflet layer
rather than thousands of JavaScript objects. The legend, the layer control and the
point symbols come from :mod:`maps.legend`, shared with the other maps; each builder
notes legend rows for what it drew, so the legend lists only what is on the map.
:func:`district_map` draws the part the overview and the posts map share.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any, Final

import folium
import geopandas as gpd
import pandas as pd

from geo.errors import LayerError, Problem
from maps.basemap import Basemap
from maps.features import (
    aliases,
    combined_bounds,
    count,
    feature_collection,
    length,
    text,
    thin_roads,
    to_wgs84,
)
from maps.legend import MARKER_PX, finish_map, note_legend, point_symbols
from maps.offline import new_map
from maps.style import (
    DEFAULT_ROAD_WEIGHT,
    LIT_COLOURS,
    STATION_COLOURS,
    STATION_SYMBOLS,
    TEAM_COLOUR,
    TEAM_SYMBOL,
    VILLAGE_COLOURS,
    Lang,
    LegendEntry,
    check_lang,
    field_label,
    highway_label,
    layer_label,
    road_weight,
)

__all__ = [
    "AREA_PANE",
    "STATION_PANE",
    "OSM_ATTRIBUTION",
    "ROAD_SIMPLIFY_M",
    "add_roads_by_lit",
    "add_stations",
    "add_team_bases",
    "add_villages",
    "district_map",
    "overview_map",
]

#: Vertices closer than this to a straight line are dropped before export.
ROAD_SIMPLIFY_M: Final = 0.5
#: Pane below Leaflet's overlay pane (z-index 400): village areas must not cover roads.
AREA_PANE: Final = "pingan-areas"
#: Pane above Leaflet's marker pane (600) and below tooltips (650): team bases often sit
#: at a station, and the star drawn there must not hide the station's square.
STATION_PANE: Final = "pingan-stations"

#: Credit for the road layer: roads come from OpenStreetMap, whose ODbL licence asks for it.
OSM_ATTRIBUTION: Final = "© OpenStreetMap contributors"

_LIT_LAYERS: Final = (("yes", "lit_roads"), ("no", "unlit_roads"), ("unknown", "unknown_roads"))
_VILLAGE_OPTIONAL: Final = ("kind", "township", "population")


def overview_map(
    roads: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    teams: gpd.GeoDataFrame,
    *,
    title: str = "pingan overview",
    lang: Lang = "zh",
    attribution: str | None = OSM_ATTRIBUTION,
    base: Basemap | None = None,
) -> folium.Map:
    """Build the overview map of a district, ready for :func:`maps.offline.save_offline`.

    Parameters
    ----------
    roads
        Road edges (LineString) with ``lit``, ``highway``, ``name``, ``length_m``.
    villages
        Villages and communities (Point, Polygon or no geometry) with ``code``,
        ``name``, ``households``; ``kind``, ``township``, ``population`` when present.
    stations
        Police stations and posts (Point) with ``id``, ``name``, ``kind``.
    teams
        Vanguard team bases (Point) with ``id``, ``name``, ``home_unit``, ``members``,
        ``skills``.
    title
        Page title.
    lang
        ``"zh"`` for Chinese labels only, ``"en"`` for English only.
    attribution
        Credit for the road data (OpenStreetMap's by default); ``None`` for roads that
        are not from OpenStreetMap, such as the synthetic sample district.
    base
        Tiles and the area's own base layer under the overlays; ``None`` for none.

    Returns
    -------
    folium.Map
        The map, fitted to all layers, with a legend and a layer control.

    Raises
    ------
    MapError
        If ``lang`` is not supported.
    LayerError
        If a layer lacks a column, or every layer is empty.
    CoordinateError
        If a layer has no CRS.
    """
    lang = check_lang(lang)
    m = district_map(
        roads,
        villages,
        stations,
        fit={"teams": teams},
        title=title,
        lang=lang,
        attribution=attribution,
        base=base,
    )
    names = dict(zip(stations["id"].astype(str), stations["name"].astype(str), strict=True))
    add_team_bases(m, teams, lang=lang, station_names=names)
    return finish_map(m, lang=lang)


def district_map(
    roads: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    *,
    fit: Mapping[str, gpd.GeoDataFrame] | None = None,
    title: str,
    lang: Lang = "zh",
    attribution: str | None = OSM_ATTRIBUTION,
    base: Basemap | None = None,
) -> folium.Map:
    """Start a district map: roads by lighting, villages and police units.

    The overview adds team bases to it, the posts map the proposed posts; each then
    finishes it with :func:`maps.legend.finish_map`.

    Parameters
    ----------
    roads, villages, stations
        As for :func:`overview_map`.
    fit
        Further layers (name -> layer, any CRS) the caller will draw, so the view
        takes them in too; the names appear in error messages.
    title
        Page title.
    lang
        Label language.
    attribution
        Credit for the road data; ``None`` for roads not from OpenStreetMap.
    base
        Tiles and base layer under the overlays (:class:`maps.basemap.Basemap`).

    Returns
    -------
    folium.Map
        The map, fitted to every layer, without legend or layer control yet.

    Raises
    ------
    MapError
        If ``lang`` is not supported.
    LayerError
        If a layer lacks a column, or every layer is empty.
    CoordinateError
        If a layer has no CRS.
    """
    lang = check_lang(lang)
    layers = {"roads": roads, "villages": villages, "stations": stations, **(fit or {})}
    m = new_map(combined_bounds(layers), title=title, base=base, lang=lang)
    add_roads_by_lit(m, roads, lang=lang, attribution=attribution)
    add_villages(m, villages, lang=lang)
    return add_stations(m, stations, lang=lang)


def add_roads_by_lit(
    m: folium.Map,
    roads: gpd.GeoDataFrame,
    *,
    lang: Lang = "zh",
    attribution: str | None = OSM_ATTRIBUTION,
) -> folium.Map:
    """Add roads as three layers: lit, unlit and lighting unknown.

    Colour follows the OSM ``lit`` class, line weight the ``highway`` class; the
    tooltip shows name, class, lighting and length. Values of ``lit`` other than
    ``"yes"`` / ``"no"`` count as unknown.

    Parameters
    ----------
    m
        Map to add to.
    roads
        Road edges with ``lit``, ``highway``, ``name`` and ``length_m``, any CRS.
    lang
        Label language.
    attribution
        Data credit shown while a road layer is on; the roads come from
        OpenStreetMap, whose licence (ODbL) requires it. Plain text.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``lang`` is not supported.
    LayerError
        If a column is missing.
    CoordinateError
        If ``roads`` has no CRS.
    """
    lang = check_lang(lang)
    roads, note = thin_roads(roads)
    gdf = to_wgs84(
        roads, "roads", ("lit", "highway", "name", "length_m"), simplify_m=ROAD_SIMPLIFY_M
    )
    lit = gdf["lit"].astype("string")
    lit = lit.where(lit.isin(["yes", "no"]), "unknown").fillna("unknown")
    fields = ("name", "highway", "lit", "length")
    hw = gdf["highway"].astype("string")
    # Tooltips name the class as people say it; the style maps that name back to the
    # class's weight (distinct classes keep distinct names).
    weights = {highway_label(h, lang): road_weight(h) for h in hw.dropna().unique()}
    props = {
        "name": text(gdf["name"]),
        "highway": text(hw.map(lambda h: highway_label(h, lang), na_action="ignore")),
        "lit": text(lit.map(lambda v: field_label(v, lang))),
        "length": length(gdf["length_m"]),
    }
    for cls, key in _LIT_LAYERS:
        group = folium.FeatureGroup(name=layer_label(key, lang) + (f" ({note})" if note else ""))
        mask = (lit == cls).to_numpy()
        if mask.any():
            colour = LIT_COLOURS[cls]
            folium.GeoJson(
                feature_collection(gdf[mask], {k: v[mask] for k, v in props.items()}),
                name=layer_label(key, lang),
                control=False,
                # One style per road class: folium groups features by style, so the
                # page holds a handful of styles, not one per road.
                style_function=lambda f, colour=colour: {
                    "color": colour,
                    "weight": weights.get(f["properties"]["highway"], DEFAULT_ROAD_WEIGHT),
                    "opacity": 0.9,
                    "lineCap": "round",
                },
                tooltip=folium.GeoJsonTooltip(
                    fields=list(fields), aliases=aliases(fields, lang), sticky=True
                ),
                attribution=escape(attribution) if attribution else None,
            ).add_to(group)
        group.add_to(m)
    drawn = set(lit)
    return note_legend(
        m,
        [
            LegendEntry(layer_label(key, lang), LIT_COLOURS[cls], "line", weight=4.0)
            for cls, key in _LIT_LAYERS
            if cls in drawn
        ],
    )


def add_villages(m: folium.Map, villages: gpd.GeoDataFrame, *, lang: Lang = "zh") -> folium.Map:
    """Add villages and communities: points as dots, polygons as dashed outlines.

    Rows without geometry (attribute-only villages) are skipped. The popup shows
    name, code and households, plus kind, township and population when the layer
    has those columns; missing values show as "—".

    Parameters
    ----------
    m
        Map to add to.
    villages
        Villages with ``code``, ``name``, ``households``, any CRS.
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``lang`` is not supported.
    LayerError
        If a column is missing.
    CoordinateError
        If ``villages`` has no CRS.
    """
    lang = check_lang(lang)
    gdf = to_wgs84(villages, "villages", ("code", "name", "households"))
    optional = [c for c in _VILLAGE_OPTIONAL if c in gdf.columns]
    props = {"name": text(gdf["name"]), "code": text(gdf["code"])}
    if "kind" in optional:
        props["kind"] = text(gdf["kind"].map(lambda v: field_label(v, lang), na_action="ignore"))
    if "township" in optional:
        props["township"] = text(gdf["township"])
    props["households"] = count(gdf["households"])
    if "population" in optional:
        props["population"] = count(gdf["population"])
    fields = tuple(props)
    # Map the translated kind back to its colour; unknown kinds draw as villages.
    colours = {escape(field_label(k, lang)): c for k, c in VILLAGE_COLOURS.items()}
    default = VILLAGE_COLOURS["village"]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        colour = colours.get(feature["properties"].get("kind", ""), default)
        if feature["geometry"]["type"] in ("Point", "MultiPoint"):
            return {
                "radius": 5,
                "color": "#ffffff",
                "weight": 1,
                "fillColor": colour,
                "fill": True,
                "fillOpacity": 0.95,
            }
        # Outline with a faint fill: the fill keeps the whole area clickable.
        return {
            "color": colour,
            "weight": 1.5,
            "dashArray": "4 3",
            "fillColor": colour,
            "fill": True,
            "fillOpacity": 0.06,
        }

    name = layer_label("villages", lang)
    group = folium.FeatureGroup(name=name)
    if len(gdf):
        folium.map.CustomPane(AREA_PANE, z_index=350, pointer_events=True).add_to(m)
        folium.GeoJson(
            feature_collection(gdf, props),
            name=name,
            control=False,
            style_function=style,
            marker=folium.CircleMarker(radius=5),
            popup=folium.GeoJsonPopup(fields=list(fields), aliases=aliases(fields, lang)),
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
            pane=AREA_PANE,  # polygons only: points come from the marker and stay on top
        ).add_to(group)
    group.add_to(m)
    return note_legend(m, _village_legend(gdf, lang))


def _village_legend(gdf: gpd.GeoDataFrame, lang: Lang) -> list[LegendEntry]:
    """Return a dot row per village kind drawn as a point, an outline row for areas."""
    kind = (
        gdf["kind"].astype("string")
        if "kind" in gdf.columns
        else pd.Series("village", index=gdf.index, dtype="string")
    )
    kind = kind.where(kind.isin(list(VILLAGE_COLOURS)), "village").fillna("village")
    point = gdf.geometry.geom_type.isin(["Point", "MultiPoint"]).to_numpy()
    rows = [
        LegendEntry(layer_label(k, lang), colour, "circle")
        for k, colour in VILLAGE_COLOURS.items()
        if (point & (kind == k).to_numpy()).any()
    ]
    areas = [k for k in VILLAGE_COLOURS if (~point & (kind == k).to_numpy()).any()]
    if areas:
        colour = VILLAGE_COLOURS[areas[0]]
        rows.append(LegendEntry(layer_label("village_area", lang), colour, "outline"))
    return rows


def add_stations(m: folium.Map, stations: gpd.GeoDataFrame, *, lang: Lang = "zh") -> folium.Map:
    """Add police stations (squares) and police posts (triangles) as one layer.

    Parameters
    ----------
    m
        Map to add to.
    stations
        Points with ``id``, ``name`` and ``kind`` (``"station"`` or ``"post"``), any CRS.
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``lang`` is not supported.
    LayerError
        If a column is missing or ``kind`` has another value.
    CoordinateError
        If ``stations`` has no CRS.
    """
    lang = check_lang(lang)
    gdf = to_wgs84(stations, "stations", ("id", "name", "kind"))
    kind = gdf["kind"].astype("string")
    bad = sorted(set(kind.dropna()) - set(STATION_SYMBOLS)) + (
        ["<missing>"] if kind.isna().any() else []
    )
    if bad:
        msg = f"kind must be one of {sorted(STATION_SYMBOLS)}, got {bad}"
        raise LayerError(Problem(file="stations", message=msg, column="kind"))
    fields = ("name", "id", "kind")
    props = {
        "name": text(gdf["name"]),
        "id": text(gdf["id"]),
        "kind": text(kind.map(lambda v: field_label(v, lang))),
    }
    group = folium.FeatureGroup(name=layer_label("stations", lang))
    if len(gdf):
        folium.map.CustomPane(STATION_PANE, z_index=620).add_to(m)
    for k, symbol in STATION_SYMBOLS.items():
        mask = (kind == k).to_numpy()
        if mask.any():
            point_symbols(
                feature_collection(gdf[mask], {f: v[mask] for f, v in props.items()}),
                symbol,
                STATION_COLOURS[k],
                fields,
                lang,
                pane=STATION_PANE,
            ).add_to(group)
    group.add_to(m)
    drawn = set(kind.dropna())
    return note_legend(
        m,
        [
            LegendEntry(layer_label(k, lang), STATION_COLOURS[k], symbol)
            for k, symbol in STATION_SYMBOLS.items()
            if k in drawn
        ],
    )


def add_team_bases(
    m: folium.Map,
    teams: gpd.GeoDataFrame,
    *,
    lang: Lang = "zh",
    station_names: Mapping[str, str] | None = None,
) -> folium.Map:
    """Add vanguard team bases as stars, with name, members, home unit and skills.

    Parameters
    ----------
    m
        Map to add to.
    teams
        Points with ``id``, ``name``, ``home_unit``, ``members``, ``skills``
        (``;``-separated), any CRS.
    lang
        Label language.
    station_names
        Station id -> name, to show the home unit as "name (id)" instead of the id.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``lang`` is not supported.
    LayerError
        If a column is missing.
    CoordinateError
        If ``teams`` has no CRS.
    """
    lang = check_lang(lang)
    gdf = to_wgs84(teams, "teams", ("id", "name", "home_unit", "members", "skills"))
    unit = gdf["home_unit"].astype("string")
    if station_names:
        named = unit.map(dict(station_names))
        unit = (named + " (" + unit + ")").where(named.notna(), unit)
    sep = "、" if lang == "zh" else ", "
    skills = (
        gdf["skills"]
        .astype("string")
        .fillna("")
        .map(lambda s: sep.join(p.strip() for p in s.split(";") if p.strip()))
    )
    fields = ("name", "members", "home_unit", "skills")
    props = {
        "name": text(gdf["name"]),
        "members": count(gdf["members"]),
        "home_unit": text(unit),
        "skills": text(skills),
    }
    group = folium.FeatureGroup(name=layer_label("teams", lang))
    if len(gdf):
        point_symbols(
            feature_collection(gdf, props),
            TEAM_SYMBOL,
            TEAM_COLOUR,
            fields,
            lang,
            size=MARKER_PX + 2,  # stars look smaller than squares at the same size
        ).add_to(group)
        note_legend(m, [LegendEntry(layer_label("teams", lang), TEAM_COLOUR, TEAM_SYMBOL)])
    group.add_to(m)
    return m
