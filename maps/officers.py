"""The auxiliary-officer map: "one village, one auxiliary officer", where it holds and not.

Villagers' committees with an officer are small green dots, gaps an officer is proposed
for are orange with a line from where that officer comes from, and gaps no officer can
fill are red, so a station chief sees the holes and the moves in one look.
"""

from __future__ import annotations

from html import escape
from typing import Final

import folium
import geopandas as gpd
import pandas as pd
import shapely

from geo.teams.officers import OfficerCheck
from maps.basemap import Basemap
from maps.features import feature_collection, text, to_wgs84
from maps.legend import finish_map, note_legend
from maps.overview import OSM_ATTRIBUTION, district_map
from maps.style import Lang, LegendEntry, check_lang

__all__ = ["OFFICER_COLOURS", "add_officer_gaps", "officers_map"]

#: Status -> colour: served, gap with a proposal, gap nobody can fill.
OFFICER_COLOURS: Final = {"served": "#2e7d32", "proposed": "#ef6c00", "unfilled": "#c62828"}

_WORDS: Final = {
    "served": ("有辅警的村", "Village with an officer"),
    "proposed": ("缺辅警，建议调派", "Gap, officer proposed"),
    "unfilled": ("缺辅警，无人可派", "Gap, no officer can move"),
    "moves": ("建议调派路线", "Proposed moves"),
    "layer": ("一村一辅警", "One village, one auxiliary officer"),
    "name": ("名称", "Name"),
    "code": ("区划代码", "Code"),
    "status": ("状态", "Status"),
    "officer": ("建议辅警", "Officer proposed"),
    "from": ("调出村", "Moves from"),
    "trip": ("车程", "Trip"),
    "reason": ("说明", "Note"),
    "unplaced": ("尚未派驻", "not yet placed"),
}


def _w(key: str, lang: Lang) -> str:
    zh, en = _WORDS[key]
    return zh if lang == "zh" else en


def add_officer_gaps(
    m: folium.Map,
    check: OfficerCheck,
    villages: gpd.GeoDataFrame,
    *,
    officers: gpd.GeoDataFrame | None = None,
    lang: Lang = "zh",
) -> folium.Map:
    """Add the committees by officer status, and a line per proposed move.

    Parameters
    ----------
    m
        Map to add to.
    check
        :func:`geo.teams.officers.check_officers`'s result.
    villages
        The villages layer (``code``, ``name``, ``kind``), any CRS; only villagers'
        committees (``kind == "village"``, or every row without ``kind``) are drawn.
    officers
        The officers layer (``id`` and a point), to start an unplaced officer's line.
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.
    """
    lang = check_lang(lang)
    v = to_wgs84(villages, "villages", ("code", "name"))
    if "kind" in v.columns:
        v = v[v["kind"].astype(str) == "village"]
    v = v.set_geometry(v.geometry.representative_point())
    code = v["code"].astype(str)
    props_of = check.proposals.set_index(check.proposals["code"].astype(str))
    status = pd.Series("served", index=v.index)
    status[code.isin(set(check.gaps["code"].astype(str)))] = "unfilled"
    status[code.isin(set(props_of.index))] = "proposed"
    minutes = code.map(props_of["minutes"]) if len(props_of) else pd.Series(index=v.index)
    km = code.map(props_of["km"]) if len(props_of) else pd.Series(index=v.index)
    unit = ("分钟", "公里") if lang == "zh" else ("min", "km")
    empty = pd.Series(index=v.index, dtype=object)
    trip = [
        "" if pd.isna(a) else f"{a:.0f} {unit[0]} · {b:.1f} {unit[1]}"
        for a, b in zip(minutes, km, strict=True)
    ]
    reasons = dict(zip(check.unfilled["code"].astype(str), check.unfilled["reason"], strict=True))
    props = {
        "name": text(v["name"]),
        "code": text(code),
        "status": text(status.map(lambda s: _w(s, lang))),
        "officer": text(code.map(props_of["officer_name"]) if len(props_of) else empty),
        "from": text(_from_names(code, props_of, lang)),
        "trip": text(pd.Series(trip, index=v.index)),
        "reason": text(code.map(reasons)),
        "colour": status.map(OFFICER_COLOURS),
        "radius": status.map({"served": 4, "proposed": 7, "unfilled": 7}).astype(str),
    }
    group = folium.FeatureGroup(name=_w("layer", lang))
    if len(v):
        fields = ["name", "code", "status", "officer", "from", "trip", "reason"]
        folium.GeoJson(
            feature_collection(v, props),
            control=False,
            marker=folium.CircleMarker(radius=5),
            style_function=lambda f: {
                "radius": float(f["properties"]["radius"]),
                "color": "#ffffff",
                "weight": 1,
                "fillColor": f["properties"]["colour"],
                "fill": True,
                "fillOpacity": 0.95,
            },
            popup=folium.GeoJsonPopup(fields=fields, aliases=[escape(_w(f, lang)) for f in fields]),
            tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=[""], labels=False),
        ).add_to(group)
    group.add_to(m)
    _add_moves(m, check, v, officers, lang)
    drawn = set(status)
    return note_legend(
        m,
        [LegendEntry(_w(s, lang), c, "circle") for s, c in OFFICER_COLOURS.items() if s in drawn],
    )


def _from_names(code: pd.Series, props: pd.DataFrame, lang: Lang) -> pd.Series:
    if not len(props):
        return pd.Series(index=code.index, dtype=object)
    src = code.map(props["from_name"]).astype("string")
    return src.mask(code.isin(set(props.index)) & (src.fillna("") == ""), _w("unplaced", lang))


def _add_moves(
    m: folium.Map,
    check: OfficerCheck,
    v: gpd.GeoDataFrame,
    officers: gpd.GeoDataFrame | None,
    lang: Lang,
) -> None:
    """Draw a dashed line per proposal: from the village left (or the officer) to the gap."""
    p = check.proposals
    at = dict(zip(v["code"].astype(str), v.geometry, strict=True))
    home = {}
    if officers is not None and len(officers) and "id" in officers.columns:
        o = to_wgs84(officers, "officers", ("id",))
        home = dict(zip(o["id"].astype(str), o.geometry, strict=True))
    lines, names = [], []
    for r in p.itertuples():
        end = at.get(str(r.code))
        start = at.get(str(r.from_code)) if str(r.from_code) else home.get(str(r.officer_id))
        if end is not None and start is not None:
            lines.append(shapely.LineString([start, end]))
            names.append(f"{r.officer_name} → {r.name}")
    if not lines:
        return
    gdf = gpd.GeoDataFrame({"tip": names}, geometry=lines, crs=4326)
    group = folium.FeatureGroup(name=_w("moves", lang))
    folium.GeoJson(
        feature_collection(gdf, {"tip": text(gdf["tip"])}),
        control=False,
        style_function=lambda f: {
            "color": OFFICER_COLOURS["proposed"],
            "weight": 2.5,
            "dashArray": "6 4",
        },
        tooltip=folium.GeoJsonTooltip(fields=["tip"], aliases=[""], labels=False),
    ).add_to(group)
    group.add_to(m)
    note_legend(m, [LegendEntry(_w("moves", lang), OFFICER_COLOURS["proposed"], "line")])


def officers_map(
    check: OfficerCheck,
    *,
    roads: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    officers: gpd.GeoDataFrame | None = None,
    title: str,
    lang: Lang = "zh",
    attribution: str | None = OSM_ATTRIBUTION,
    base: Basemap | None = None,
) -> folium.Map:
    """Build the officer map: the district, committees by officer status, the moves."""
    lang = check_lang(lang)
    m = district_map(
        roads,
        villages.iloc[0:0],  # drawn by officer status instead
        stations,
        fit={"villages": villages},
        title=title,
        lang=lang,
        attribution=attribution,
        base=base,
    )
    add_officer_gaps(m, check, villages, officers=officers, lang=lang)
    return finish_map(m, lang=lang)
