"""The proposed-posts map: the district with the new posts and the villages they newly cover."""

from __future__ import annotations

from html import escape

import folium
import geopandas as gpd
import pandas as pd

from maps.basemap import Basemap
from maps.features import feature_collection, text, to_wgs84
from maps.legend import MARKER_PX, finish_map, note_legend, point_symbols
from maps.overview import OSM_ATTRIBUTION, district_map
from maps.style import (
    MISSING,
    PROPOSED_COLOUR,
    Lang,
    LegendEntry,
    check_lang,
    field_label,
    highway_label,
    layer_label,
)

__all__ = ["COVERED_COLOUR", "add_newly_covered", "add_proposed_posts", "posts_map"]

#: Villages a new post brings within the threshold: the posts' own magenta, lighter.
COVERED_COLOUR = "#f48fb1"

_WORDS = {
    "covered": ("新覆盖的村庄", "Villages newly covered"),
    "post": ("覆盖它的新警务室", "Covered by new post"),
    "near": ("{v}附近路口", "junction near {v}"),
    "unnamed": ("无名{c}", "an unnamed {c}"),
}


def _word(key: str, lang: Lang) -> str:
    zh, en = _WORDS[key]
    return zh if lang == "zh" else en


def _road_text(posts: gpd.GeoDataFrame, lang: Lang) -> pd.Series:
    """Name each post's road in ``lang`` from the raw name and class, when the table has them."""
    if not {"road_name", "road_class"} <= set(posts.columns):
        return posts["road"]
    rows = []
    for name, cls in zip(posts["road_name"], posts["road_class"], strict=True):
        label = highway_label(cls if isinstance(cls, str) else None, lang)
        if isinstance(name, str) and name.strip():
            rows.append(f"{name}（{label}）" if lang == "zh" else f"{name} ({label})")
        else:
            rows.append(_word("unnamed", lang).format(c=label))
    return pd.Series(rows, index=posts.index, dtype=object)


def _name_text(posts: gpd.GeoDataFrame, lang: Lang) -> pd.Series:
    """Name each post; a junction site is named by its nearest village, in ``lang``."""
    if not {"at_junction", "village_name"} <= set(posts.columns):
        return posts["name"]
    near = posts["village_name"].astype(str).map(lambda v: _word("near", lang).format(v=v))
    return posts["name"].where(~posts["at_junction"].astype(bool), near)


def add_proposed_posts(m: folium.Map, posts: gpd.GeoDataFrame, *, lang: Lang = "zh") -> folium.Map:
    """Add proposed posts as one layer: a large triangle each, popup with where and why.

    Parameters
    ----------
    m
        Map to add to.
    posts
        Points with ``id``, ``name``, ``nearest_village``, ``road`` and
        ``villages_gained`` (``road_name``, ``road_class``, ``village_name`` and
        ``at_junction`` when present, to name them in ``lang``), any CRS.
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
        shown = gdf.assign(name=_name_text(gdf, lang), road=_road_text(gdf, lang))
        props = {c: text(shown[c]) for c in cols}
        data = feature_collection(gdf, props)
        point_symbols(
            data, "triangle", PROPOSED_COLOUR, list(cols), lang, size=MARKER_PX + 6
        ).add_to(group)
        label = layer_label("proposed_posts", lang)
        note_legend(m, [LegendEntry(label, PROPOSED_COLOUR, "triangle")])
    group.add_to(m)
    return m


def add_newly_covered(
    m: folium.Map, villages: gpd.GeoDataFrame, *, lang: Lang = "zh"
) -> folium.Map:
    """Ring the villages the new posts bring within the threshold, naming the post.

    Parameters
    ----------
    m
        Map to add to.
    villages
        Villages with ``code``, ``name`` and ``post`` (the new post's id), any CRS, as
        :func:`service.reports.newly_covered` gives them.
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.
    """
    lang = check_lang(lang)
    gdf = to_wgs84(villages, "covered villages", ("code", "name", "post"))
    group = folium.FeatureGroup(name=_word("covered", lang))
    if len(gdf):
        fields = ("name", "code", "post")
        props = {"name": text(gdf["name"]), "code": text(gdf["code"]), "post": text(gdf["post"])}
        pts = gdf.set_geometry(gdf.geometry.representative_point())
        folium.GeoJson(
            feature_collection(pts, props),
            control=False,
            marker=folium.CircleMarker(
                radius=9, color=PROPOSED_COLOUR, weight=3, fill=True, fill_opacity=0.25
            ),
            style_function=lambda f: {"fillColor": COVERED_COLOUR},
            popup=folium.GeoJsonPopup(
                fields=list(fields),
                aliases=[_alias(f, lang) for f in fields],
            ),
        ).add_to(group)
        note_legend(m, [LegendEntry(_word("covered", lang), PROPOSED_COLOUR, "circle")])
    group.add_to(m)
    return m


def _alias(field: str, lang: Lang) -> str:
    return escape(_word("post", lang) if field == "post" else field_label(field, lang) or MISSING)


def posts_map(
    roads: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    posts: gpd.GeoDataFrame,
    *,
    covered: gpd.GeoDataFrame | None = None,
    title: str = "拟建警务室",
    lang: Lang = "zh",
    attribution: str | None = OSM_ATTRIBUTION,
    base: Basemap | None = None,
) -> folium.Map:
    """Build the map of a post plan: roads, villages, units, new posts, what they cover.

    ``covered`` are the villages the posts newly bring within the plan's threshold
    (:func:`service.reports.newly_covered`); drawn as rings over their dots.
    """
    lang = check_lang(lang)
    m = district_map(
        roads,
        villages,
        stations,
        fit={"posts": posts},
        title=title,
        lang=lang,
        attribution=attribution,
        base=base,
    )
    if covered is not None:
        add_newly_covered(m, covered, lang=lang)
    add_proposed_posts(m, posts, lang=lang)
    return finish_map(m, lang=lang)
