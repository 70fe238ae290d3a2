"""The proposed-posts map: the overview with the new posts a plan proposes on top."""

from __future__ import annotations

import folium
import geopandas as gpd

from maps.features import feature_collection, text, to_wgs84
from maps.legend import MARKER_PX, finish_map, note_legend, point_symbols
from maps.overview import OSM_ATTRIBUTION, district_map
from maps.style import PROPOSED_COLOUR, Lang, LegendEntry, check_lang, layer_label

__all__ = ["add_proposed_posts", "posts_map"]


def add_proposed_posts(m: folium.Map, posts: gpd.GeoDataFrame, *, lang: Lang = "zh") -> folium.Map:
    """Add proposed posts as one layer: a large triangle each, popup with where and why.

    Parameters
    ----------
    m
        Map to add to.
    posts
        Points with ``id``, ``name``, ``nearest_village``, ``road`` and
        ``villages_gained``, any CRS.
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.
    """
    lang = check_lang(lang)
    cols = ("id", "name", "nearest_village", "road", "villages_gained")
    gdf = to_wgs84(posts, "posts", cols)
    group = folium.FeatureGroup(name=layer_label("proposed_posts", lang))
    if len(gdf):
        props = {c: text(gdf[c]) for c in cols}
        data = feature_collection(gdf, props)
        point_symbols(
            data, "triangle", PROPOSED_COLOUR, list(cols), lang, size=MARKER_PX + 6
        ).add_to(group)
        label = layer_label("proposed_posts", lang)
        note_legend(m, [LegendEntry(label, PROPOSED_COLOUR, "triangle")])
    group.add_to(m)
    return m


def posts_map(
    roads: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    posts: gpd.GeoDataFrame,
    *,
    title: str = "pingan — proposed posts",
    lang: Lang = "zh",
    attribution: str | None = OSM_ATTRIBUTION,
) -> folium.Map:
    """Build the map of a post plan: roads, villages, existing units and the new posts."""
    lang = check_lang(lang)
    m = district_map(
        roads,
        villages,
        stations,
        fit={"posts": posts},
        title=title,
        lang=lang,
        attribution=attribution,
    )
    add_proposed_posts(m, posts, lang=lang)
    return finish_map(m, lang=lang)
