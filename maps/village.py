"""The team leader's village briefing map, with a print view for one A4 page.

A vanguard-team leader (先锋队队长) takes the village briefing
(:class:`~geo.teams.briefing.VillageBriefing`) to the village, often printed. The map
shows the village's boundary and its village groups, the roads within the briefing's
radius by lighting class, the hot spots and recent incidents, the nearest police station
and the village's auxiliary officers, the route from the team's base labelled with its
minutes and km, the neighbouring villages and the lamps proposed near it.

Each ``add_*`` builder takes a map and the briefing, adds one named layer (the roads
builder one per lighting class, as the overview does) and notes its legend rows, so the
legend lists exactly what is drawn. :func:`add_print_view` makes the page print on one
A4 sheet: title and date above the map, the legend, the scale bar and a north arrow on
it, no zoom buttons or layer switcher, and the map refitted to the village before the
browser lays out the page (Leaflet cannot see a resize made by the print layout itself).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from geo.errors import MapError
from geo.teams.briefing import VillageBriefing
from maps.basemap import Basemap
from maps.features import combined_bounds, feature_collection, text, to_wgs84
from maps.hotspots import LAMP_COLOUR, ROLE_STYLES
from maps.legend import MARKER_PX, finish_map, note_legend, point_symbols
from maps.offline import new_map
from maps.overview import AREA_PANE, ROAD_SIMPLIFY_M
from maps.style import (
    LIT_COLOURS,
    MISSING,
    STATION_COLOURS,
    STATION_SYMBOLS,
    TEAM_COLOUR,
    TEAM_SYMBOL,
    VILLAGE_COLOURS,
    Lang,
    LegendEntry,
    Symbol,
    check_lang,
    highway_label,
    layer_label,
    road_weight,
)

__all__ = [
    "GROUP_COLOUR",
    "INCIDENT_COLOURS",
    "NEIGHBOUR_COLOUR",
    "OFFICER_COLOUR",
    "ROUTE_COLOUR",
    "add_ground",
    "add_hotspots",
    "add_incidents",
    "add_lamps",
    "add_neighbours",
    "add_print_view",
    "add_roads",
    "add_route",
    "add_station_and_officers",
    "minutes_km",
    "village_map",
]

#: The team's route: the patrol map's first unit colour (Okabe & Ito blue).
ROUTE_COLOUR: Final = "#0072B2"
GROUP_COLOUR: Final = VILLAGE_COLOURS["village"]
OFFICER_COLOUR: Final = "#00897b"
NEIGHBOUR_COLOUR: Final = "#757575"
_RADIUS_COLOUR: Final = "#616161"
_STATION_ROUTE_DASH: Final = "6 6"
#: Incident categories, most frequent first, take these (Paul Tol's muted set, which
#: keeps clear of the lit-road amber and the hot-spot reds); the rest are "other".
INCIDENT_COLOURS: Final = (
    "#332288",
    "#117733",
    "#CC6677",
    "#88CCEE",
    "#882255",
    "#44AA99",
    "#999933",
    "#AA4499",
)
_OTHER_COLOUR: Final = "#8d8d8d"
_INCIDENT_RADIUS: Final = 4
# The briefing's lighting classes and the overview's lit colours and layer keys.
_LIT_CLASSES: Final = (("lit", "yes"), ("unlit", "no"), ("unknown", "unknown"))
# The print page: A4 portrait less 10 mm margins, 1 mm short in height so rounding
# never spills a sliver onto a second sheet.
_PAGE_W_MM: Final = 190
_PAGE_H_MM: Final = 276
_HEAD_MM: Final = 17

#: key -> (Chinese, English); ``{}`` fields are filled with str.format.
_LABELS: Final[dict[str, tuple[str, str]]] = {
    "title": ("{village} · {team}驻村简报图", "Village briefing — {team} at {village}"),
    "printed": ("制图日期：{d}", "Printed {d}"),
    "window": ("警情统计：{a} 至 {b}", "Incidents {a} to {b}"),
    "from_base": ("驻地至村：{x}", "From base: {x}"),
    "no_route": ("驻地至村：无道路可达", "From base: no road route"),
    "nearest": ("最近{kind}：{name} {x}", "Nearest {kind}: {name}, {x}"),
    "min": ("{x:.0f} 分钟", "{x:.0f} min"),
    "km": ("{x:.1f} 公里", "{x:.1f} km"),
    "m": ("{x:.0f} 米", "{x:.0f} m"),
    "dot": (" · ", " · "),
    "sep": ("；", "; "),
    "north": ("北", "N"),
    # layers
    "ground": ("村界与村民小组", "Village boundary & groups"),
    "boundary": ("村界", "Village boundary"),
    "cell": ("村域（按最近村点划分）", "Village area (nearest village point)"),
    "radius": ("周边{x}范围", "Within {x}"),
    "village_point": ("村委会", "Village centre"),
    "groups": ("村民小组", "Village groups"),
    "hotspots": ("警情热点", "Hot spots"),
    "hot_road": ("{role}路段", "{role} (road)"),
    "hot_cell": ("{role}网格", "{role} (area)"),
    "hotspot core": ("热点核心", "Hotspot core"),
    "part of a hot area": ("热点区域", "Part of a hot area"),
    "elevated": ("警情偏高", "Elevated"),
    "incidents": ("近{days}天警情", "Incidents, last {days} days"),
    "incident_row": ("{cat}（{n} 起）", "{cat} ({n})"),
    "station_layer": ("最近派出所与辅警", "Nearest station & auxiliary officers"),
    "station_route": ("派出所至村路线", "Station's route to the village"),
    "officers": ("驻村辅警", "Auxiliary officers"),
    "route_layer": ("驻地至村路线", "Route from the base"),
    "route": ("驻地至村路线", "Route from the base"),
    "base": ("先锋队驻地", "Team base"),
    "neighbours": ("相邻村庄", "Neighbouring villages"),
    "lamps": ("建议路灯", "Proposed lamps"),
    # fields
    "name": ("名称", "Name"),
    "households": ("户数", "Households"),
    "code": ("区划代码", "Code"),
    "road_class": ("道路等级", "Road class"),
    "lighting": ("照明", "Lighting"),
    "length_in": ("范围内长度", "Length within range"),
    "what": ("类型", "What"),
    "incidents_n": ("警情数", "Incidents"),
    "per_km": ("每公里警情", "Incidents per km"),
    "time": ("时间", "Time"),
    "category": ("类别", "Category"),
    "severity": ("严重程度", "Severity"),
    "description": ("简要情况", "Description"),
    "distance": ("距村", "From the village"),
    "kind": ("类型", "Kind"),
    "minutes": ("车程", "Travel time"),
    "distance_road": ("里程", "Road distance"),
    "phone": ("电话", "Phone"),
    "unit": ("所属单位", "Unit"),
    "located": ("位置", "Location"),
    "located_own": ("登记位置", "as registered"),
    "located_village": ("按村委会标注", "shown at the village centre"),
    "leader": ("队长", "Leader"),
    "members": ("队员人数", "Members"),
    "township": ("乡镇/街道", "Township"),
    "straight": ("直线距离", "Straight-line distance"),
    "lamp": ("路灯编号", "Lamp"),
    "road": ("道路", "Road"),
    "run": ("组", "Run"),
    "near_households": ("附近户数", "Households near"),
    "night_incidents": ("附近夜间警情", "Night incidents near"),
    "unnamed": ("无名道路", "unnamed road"),
    # values
    "yes": ("有路灯", "lit"),
    "no": ("无路灯", "unlit"),
    "unknown": ("未知", "unknown"),
    "station": ("派出所", "police station"),
    "post": ("警务室", "police post"),
    "other": ("其他", "other"),
    # incident categories
    "theft": ("盗窃", "theft"),
    "burglary": ("入室盗窃", "burglary"),
    "fraud": ("诈骗", "fraud"),
    "dispute": ("纠纷", "dispute"),
    "traffic": ("交通事故", "traffic"),
    "lost_property": ("遗失物品", "lost property"),
    "robbery": ("抢劫", "robbery"),
    "assault": ("伤害", "assault"),
    "vandalism": ("损毁财物", "vandalism"),
    "domestic": ("家庭纠纷", "domestic"),
    "drunk_driving": ("酒驾", "drunk driving"),
    "gambling": ("赌博", "gambling"),
    "fire": ("火情", "fire"),
}


def _t(key: str, lang: Lang, **fields: Any) -> str:
    zh, en = _LABELS[key]
    return (zh if lang == "zh" else en).format(**fields)


def _value(value: object, lang: Lang) -> str:
    """Return a category value in ``lang``.

    On a Chinese page an unknown English code reads "其他" rather than leaking the
    code; a Chinese value stays as it is.
    """
    s = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    s = s.strip()
    if not s:
        return MISSING
    if s in _LABELS:
        return _t(s, lang)
    if lang == "zh" and s.isascii():
        return _t("other", lang)
    return s


def _capital(label: str) -> str:
    """Return a legend label with its first letter capitalised (English values)."""
    return label[:1].upper() + label[1:]


def minutes_km(minutes: float, km: float, lang: Lang = "zh") -> str:
    """Return a trip as the map labels it: "32 分钟 · 18.4 公里" / "32 min · 18.4 km".

    Parameters
    ----------
    minutes, km
        The trip's travel time and road distance.
    lang
        Label language.

    Returns
    -------
    str
        Whole minutes and km to one decimal; "—" for a trip without numbers.
    """
    lang = check_lang(lang)
    if not (math.isfinite(minutes) and math.isfinite(km)):
        return MISSING
    return _t("min", lang, x=minutes) + _t("dot", lang) + _t("km", lang, x=km)


def _distance_text(metres: pd.Series, lang: Lang) -> pd.Series:
    v = pd.to_numeric(metres, errors="coerce").astype(float)
    shown = [
        MISSING
        if not math.isfinite(x)
        else (_t("km", lang, x=x / 1000) if x >= 1000 else _t("m", lang, x=x))
        for x in v.tolist()
    ]
    return pd.Series(shown, index=metres.index, dtype=object)


def _popup(props: Mapping[str, pd.Series], lang: Lang) -> folium.GeoJsonPopup:
    keys = list(props)
    return folium.GeoJsonPopup(fields=keys, aliases=[escape(_t(k, lang)) for k in keys])


def _names(values: pd.Series, lang: Lang) -> pd.Series:
    """Return display names, escaped; a road without one is "无名道路"."""
    s = values.astype("string").str.strip()
    return text(s.mask(s.isna() | (s == ""), _t("unnamed", lang)))


def _check(briefing: object) -> VillageBriefing:
    if not isinstance(briefing, VillageBriefing):
        msg = f"briefing must be a VillageBriefing, got {type(briefing).__name__}"
        raise MapError(msg)
    return briefing


def _layer(b: VillageBriefing, name: str) -> gpd.GeoDataFrame | None:
    return b.map_layers().get(name)


# ---------------------------------------------------------------------- the map


def village_map(
    briefing: VillageBriefing,
    *,
    title: str | None = None,
    base: Basemap | None = None,
    lang: Lang = "zh",
    printed_on: dt.date | None = None,
    attribution: str | None = None,
) -> folium.Map:
    """Build a team's village briefing map, ready for :func:`maps.offline.save_offline`.

    On screen it is fitted to everything drawn (the route from the base included);
    printed, it fills one A4 page fitted to the village and the briefing's radius.

    Parameters
    ----------
    briefing
        The briefing (:func:`geo.teams.briefing.village_briefing`).
    title
        Page and sheet title; default "<village> · <team>驻村简报图".
    base
        Tiles and the vector base layer under the overlays; ``None`` for none.
    lang
        ``"zh"`` for a Chinese page, ``"en"`` for an English one.
    printed_on
        Date printed under the title; default today.
    attribution
        Credit for the road data shown on the map (plain text); ``None`` for none.

    Returns
    -------
    folium.Map
        The map with its legend, layer control and print view.

    Raises
    ------
    MapError
        If ``briefing`` is not a briefing, ``lang`` is not supported, ``title`` is
        empty or ``printed_on`` is not a date.
    """
    lang = check_lang(lang)
    b = _check(briefing)
    if printed_on is None:
        printed_on = dt.date.today()
    if not isinstance(printed_on, dt.date):
        msg = f"printed_on must be a datetime.date, got {type(printed_on).__name__}"
        raise MapError(msg)
    if title is None:
        title = _t("title", lang, village=b.village_name or b.village_code, team=b.team_name)
    if not isinstance(title, str) or not title.strip():
        msg = f"title must be non-empty text, got {title!r}"
        raise MapError(msg)
    layers = b.map_layers()
    m = new_map(combined_bounds(layers), title=title, base=base, lang=lang)
    add_ground(m, b, lang=lang)
    add_roads(m, b, lang=lang, attribution=attribution)
    add_hotspots(m, b, lang=lang)
    add_incidents(m, b, lang=lang)
    add_lamps(m, b, lang=lang)
    add_neighbours(m, b, lang=lang)
    add_station_and_officers(m, b, lang=lang)
    add_route(m, b, lang=lang)
    radius = layers["ground"]
    disc = radius[radius["part"] == "radius"]
    paper = combined_bounds({"ground": disc})
    add_print_view(m, title=title, lines=_head_lines(b, printed_on, lang), bounds=paper, lang=lang)
    return finish_map(m, lang=lang)


def _head_lines(b: VillageBriefing, printed_on: dt.date, lang: Lang) -> list[str]:
    """Return the lines under the sheet's title: date, trip, station, incident window."""
    first = [_t("printed", lang, d=printed_on.isoformat())]
    if b.as_of is not None and b.since is not None:
        first.append(_t("window", lang, a=f"{b.since:%Y-%m-%d}", b=f"{b.as_of:%Y-%m-%d}"))
    second = [
        _t("from_base", lang, x=minutes_km(b.route_minutes, b.route_km, lang))
        if b.found_route
        else _t("no_route", lang)
    ]
    if b.station_id:
        second.append(
            _t(
                "nearest",
                lang,
                kind=_value(b.station_kind or "station", lang),
                name=b.station_name or b.station_id,
                x=minutes_km(b.station_minutes, b.station_km, lang),
            )
        )
    sep = _t("sep", lang)
    return [sep.join(first), sep.join(second)]


# ---------------------------------------------------------------------- builders


def add_ground(m: folium.Map, briefing: VillageBriefing, *, lang: Lang = "zh") -> folium.Map:
    """Add the village's boundary (or its area), the briefing's radius and its groups.

    Parameters
    ----------
    m
        Map to add to.
    briefing
        The briefing.
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``briefing`` is not a briefing or ``lang`` is not supported.
    """
    lang = check_lang(lang)
    b = _check(briefing)
    ground = to_wgs84(_layer(b, "ground"), "ground", ("part",))
    part = ground["part"].astype(str)
    group = folium.FeatureGroup(name=_t("ground", lang))
    folium.map.CustomPane(AREA_PANE, z_index=350, pointer_events=True).add_to(m)
    radius_text = _t("km", lang, x=b.params.radius_m / 1000)
    area_key = "boundary" if (part == "boundary").any() else "cell"
    rows: list[LegendEntry] = []
    disc = ground[part == "radius"]
    if len(disc):
        label = _t("radius", lang, x=radius_text)
        folium.GeoJson(
            feature_collection(disc, {"name": pd.Series([escape(label)] * len(disc))}),
            control=False,
            interactive=False,
            style_function=lambda f: {
                "color": _RADIUS_COLOUR,
                "weight": 1.2,
                "dashArray": "2 5",
                "fill": False,
            },
            pane=AREA_PANE,
        ).add_to(group)
        rows.append(LegendEntry(label, _RADIUS_COLOUR, "line", weight=1.5))
    area = ground[part == area_key]
    if len(area):
        props = {
            "name": pd.Series([escape(b.village_name or b.village_code)] * len(area)),
            "code": pd.Series([escape(b.village_code)] * len(area)),
            "households": pd.Series(
                [MISSING if b.households is None else str(b.households)] * len(area)
            ),
        }
        folium.GeoJson(
            feature_collection(area, props),
            control=False,
            style_function=lambda f: {
                "color": GROUP_COLOUR,
                "weight": 2.5,
                "dashArray": None if area_key == "boundary" else "6 4",
                "fillColor": GROUP_COLOUR,
                "fill": True,
                "fillOpacity": 0.05,
            },
            popup=_popup(props, lang),
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
            pane=AREA_PANE,
        ).add_to(group)
        rows.append(LegendEntry(_t(area_key, lang), GROUP_COLOUR, "outline"))
    point = ground[part == "point"]
    if len(point):
        props = {"name": pd.Series([escape(b.village_name or b.village_code)] * len(point))}
        point_symbols(
            feature_collection(point, props), "square", GROUP_COLOUR, ["name"], lang
        ).add_to(group)
        rows.append(LegendEntry(_t("village_point", lang), GROUP_COLOUR, "square"))
    groups = to_wgs84(b.groups, "groups", ("code", "name", "households"))
    if len(groups):
        props = {
            "name": _names(groups["name"], lang),
            "code": text(groups["code"]),
            "households": _count(groups["households"]),
        }
        folium.GeoJson(
            feature_collection(groups, props),
            control=False,
            marker=folium.CircleMarker(radius=5),
            style_function=lambda f: {
                "radius": 5,
                "color": "#ffffff",
                "weight": 1.5,
                "fillColor": GROUP_COLOUR,
                "fill": True,
                "fillOpacity": 0.95,
            },
            popup=_popup(props, lang),
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(group)
        rows.append(LegendEntry(_t("groups", lang), GROUP_COLOUR, "circle"))
    group.add_to(m)
    return note_legend(m, rows)


def _count(values: pd.Series) -> pd.Series:
    n = pd.to_numeric(values, errors="coerce").round().astype("Int64")
    return n.astype("string").fillna(MISSING).astype(object)


def add_roads(
    m: folium.Map,
    briefing: VillageBriefing,
    *,
    lang: Lang = "zh",
    attribution: str | None = None,
) -> folium.Map:
    """Add the roads within the briefing's radius as three layers: lit, unlit, unknown.

    Colours are the overview's (:data:`maps.style.LIT_COLOURS`) and so are the layer
    names; line weight follows the road class, named as people say it ("乡道").

    Parameters
    ----------
    m
        Map to add to.
    briefing
        The briefing.
    lang
        Label language.
    attribution
        Credit for the road data shown while a road layer is on (plain text).

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``briefing`` is not a briefing or ``lang`` is not supported.
    """
    lang = check_lang(lang)
    b = _check(briefing)
    gdf = to_wgs84(
        b.roads, "roads", ("name", "highway", "lit_class", "length_m"), simplify_m=ROAD_SIMPLIFY_M
    )
    cls = gdf["lit_class"].astype(str)
    hw = gdf["highway"].astype("string")
    props = {
        "name": _names(gdf["name"], lang),
        "road_class": text(hw.map(lambda h: highway_label(h, lang), na_action="ignore")),
        "lighting": cls.map({c: _t(lit, lang) for c, lit in _LIT_CLASSES}).astype(object),
        "length_in": _distance_text(gdf["length_m"], lang),
        "weight": hw.map(lambda h: road_weight(h), na_action="ignore").fillna(2.0),
    }
    rows = []
    for c, lit in _LIT_CLASSES:
        key = {"yes": "lit_roads", "no": "unlit_roads", "unknown": "unknown_roads"}[lit]
        group = folium.FeatureGroup(name=layer_label(key, lang))
        mask = (cls == c).to_numpy()
        if mask.any():
            colour = LIT_COLOURS[lit]
            folium.GeoJson(
                feature_collection(gdf[mask], {k: v[mask] for k, v in props.items()}),
                control=False,
                style_function=lambda f, colour=colour: {
                    "color": colour,
                    "weight": f["properties"]["weight"],
                    "opacity": 0.9,
                    "lineCap": "round",
                },
                tooltip=folium.GeoJsonTooltip(
                    fields=["name", "road_class", "lighting", "length_in"],
                    aliases=[escape(_t(k, lang)) for k in ("name", "road_class", "lighting")]
                    + [escape(_t("length_in", lang))],
                    sticky=True,
                ),
                attribution=escape(attribution) if attribution else None,
            ).add_to(group)
            rows.append(LegendEntry(layer_label(key, lang), colour, "line", weight=4.0))
        group.add_to(m)
    return note_legend(m, rows)


def add_hotspots(m: folium.Map, briefing: VillageBriefing, *, lang: Lang = "zh") -> folium.Map:
    """Add the hot road stretches (lines) and hot areas (cells) near the village.

    Drawn by their role in the hot-spot analysis, in the hot-spot map's colours: a core
    strongest, a stretch hot only through its neighbours light.

    Parameters
    ----------
    m
        Map to add to.
    briefing
        The briefing (its ``hotspots`` table; nothing is drawn when it is empty).
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``briefing`` is not a briefing or ``lang`` is not supported.
    """
    lang = check_lang(lang)
    b = _check(briefing)
    gdf = to_wgs84(b.hotspots, "hotspots", ("kind", "role", "count"))
    role = gdf["role"].astype(str)
    gdf = gdf[role.isin(list(ROLE_STYLES)).to_numpy()]
    role = gdf["role"].astype(str)
    kind = gdf["kind"].astype(str)
    group = folium.FeatureGroup(name=_t("hotspots", lang))
    rows = []
    if len(gdf):
        per_km = pd.to_numeric(gdf["per_km"], errors="coerce")
        props = {
            "name": _names(gdf["name"], lang).where(kind == "road", escape(_t("hotspots", lang))),
            "what": [
                _t("hot_road" if k == "road" else "hot_cell", lang, role=_t(r, lang))
                for k, r in zip(kind, role, strict=True)
            ],
            "incidents_n": _count(gdf["count"]),
            "per_km": per_km.map(lambda x: MISSING if pd.isna(x) else f"{x:.1f}").astype(object),
            "colour": role.map(lambda r: ROLE_STYLES[r][0]),
            "weight": role.map(lambda r: ROLE_STYLES[r][1]),
            "cell": (kind != "road").astype(bool),
        }
        props["what"] = pd.Series(props["what"], index=gdf.index, dtype=object).map(escape)

        def style(f: dict[str, Any]) -> dict[str, Any]:
            p = f["properties"]
            if p["cell"]:
                return {
                    "color": p["colour"],
                    "weight": 0.8,
                    "fillColor": p["colour"],
                    "fillOpacity": 0.35,
                }
            return {"color": p["colour"], "weight": p["weight"], "opacity": 0.8, "lineCap": "round"}

        # Cells first: they lie under the stretches they contain.
        order = np.argsort((kind == "road").to_numpy(), kind="stable")
        folium.GeoJson(
            feature_collection(gdf.iloc[order], {k: v.iloc[order] for k, v in props.items()}),
            control=False,
            style_function=style,
            popup=folium.GeoJsonPopup(
                fields=["name", "what", "incidents_n", "per_km"],
                aliases=[escape(_t(k, lang)) for k in ("name", "what", "incidents_n", "per_km")],
            ),
        ).add_to(group)
        drawn = set(zip(kind, role, strict=True))
        for r, (colour, width) in ROLE_STYLES.items():
            if ("road", r) in drawn:
                rows.append(
                    LegendEntry(_t("hot_road", lang, role=_t(r, lang)), colour, "line", width)
                )
            if any(k != "road" and rr == r for k, rr in drawn):
                rows.append(LegendEntry(_t("hot_cell", lang, role=_t(r, lang)), colour, "square"))
    group.add_to(m)
    return note_legend(m, rows)


def _categories(values: pd.Series, lang: Lang) -> tuple[pd.Series, dict[str, str]]:
    """Return each incident's shown category and the colour of each one shown.

    The most frequent categories get :data:`INCIDENT_COLOURS`, the rest one "other".
    """
    shown = values.map(lambda v: _value(v, lang)).astype(str)
    counts = shown.value_counts()
    order = sorted(counts.items(), key=lambda kv: (-int(kv[1]), kv[0]))
    other = _t("other", lang)
    named = [str(c) for c, _ in order if c != other]
    keep = named[: len(INCIDENT_COLOURS)]
    shown = shown.where(shown.isin(keep), other)
    colours: dict[str, str] = dict(zip(keep, INCIDENT_COLOURS, strict=False))
    if (shown == other).any():
        colours[other] = _OTHER_COLOUR
    return shown, colours


def add_incidents(m: folium.Map, briefing: VillageBriefing, *, lang: Lang = "zh") -> folium.Map:
    """Add the briefing's recent incidents as small dots coloured by category.

    The popup gives the date and time, category, severity, what happened and how far
    from the village; the legend counts each category drawn.

    Parameters
    ----------
    m
        Map to add to.
    briefing
        The briefing (its ``incidents`` table, the last ``incident_days`` days).
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``briefing`` is not a briefing or ``lang`` is not supported.
    """
    lang = check_lang(lang)
    b = _check(briefing)
    gdf = to_wgs84(b.incidents, "incidents", ("time", "category", "description", "distance_m"))
    group = folium.FeatureGroup(name=_t("incidents", lang, days=b.params.incident_days))
    rows = []
    if len(gdf):
        cat, colours = _categories(gdf["category"], lang)
        time = pd.Series(
            [MISSING if pd.isna(t) else f"{t:%Y-%m-%d %H:%M}" for t in gdf["time"]],
            index=gdf.index,
            dtype=object,
        )
        props = {
            "time": time,
            "category": cat.map(escape).astype(object),
            "severity": _count(gdf["severity"]),
            "description": text(gdf["description"]),
            "distance": _distance_text(gdf["distance_m"], lang),
            "colour": cat.map(colours),
        }
        folium.GeoJson(
            feature_collection(gdf, props),
            control=False,
            marker=folium.CircleMarker(radius=_INCIDENT_RADIUS),
            style_function=lambda f: {
                "radius": _INCIDENT_RADIUS,
                "color": "#ffffff",
                "weight": 1,
                "fillColor": f["properties"]["colour"],
                "fill": True,
                "fillOpacity": 0.9,
            },
            popup=_popup({k: v for k, v in props.items() if k != "colour"}, lang),
        ).add_to(group)
        counts = cat.value_counts()
        for c, colour in colours.items():
            rows.append(
                LegendEntry(
                    _t("incident_row", lang, cat=_capital(c), n=int(counts[c])), colour, "circle"
                )
            )
    group.add_to(m)
    return note_legend(m, rows)


def add_lamps(m: folium.Map, briefing: VillageBriefing, *, lang: Lang = "zh") -> folium.Map:
    """Add the lamps the lamp plan proposes near the village, as the lamp map draws them.

    Parameters
    ----------
    m
        Map to add to.
    briefing
        The briefing (its ``lamps`` table; empty without a lamp plan).
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``briefing`` is not a briefing or ``lang`` is not supported.
    """
    lang = check_lang(lang)
    b = _check(briefing)
    gdf = to_wgs84(b.lamps, "lamps", ("lamp", "run", "name"))
    group = folium.FeatureGroup(name=_t("lamps", lang))
    rows = []
    if len(gdf):
        props = {
            "lamp": _count(gdf["lamp"]),
            "run": _count(gdf["run"]),
            "road": _names(gdf["name"], lang),
            "near_households": _count(gdf["households_near"]),
            "night_incidents": _count(gdf["night_incidents_near"]),
        }
        folium.GeoJson(
            feature_collection(gdf, props),
            control=False,
            marker=folium.CircleMarker(radius=5),
            style_function=lambda f: {
                "radius": 5,
                "color": "#5d4037",
                "weight": 1.2,
                "fillColor": LAMP_COLOUR,
                "fill": True,
                "fillOpacity": 1.0,
            },
            popup=_popup(props, lang),
        ).add_to(group)
        rows.append(LegendEntry(_t("lamps", lang), LAMP_COLOUR, "circle"))
    group.add_to(m)
    return note_legend(m, rows)


def add_neighbours(m: folium.Map, briefing: VillageBriefing, *, lang: Lang = "zh") -> folium.Map:
    """Add the neighbouring villages as grey dots with their name and straight distance.

    Parameters
    ----------
    m
        Map to add to.
    briefing
        The briefing.
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``briefing`` is not a briefing or ``lang`` is not supported.
    """
    lang = check_lang(lang)
    b = _check(briefing)
    gdf = to_wgs84(b.neighbours, "neighbours", ("code", "name", "km"))
    group = folium.FeatureGroup(name=_t("neighbours", lang))
    rows = []
    if len(gdf):
        km = pd.to_numeric(gdf["km"], errors="coerce")
        props = {
            "name": _names(gdf["name"], lang),
            "code": text(gdf["code"]),
            "township": text(gdf["township"]),
            "straight": km.map(lambda x: MISSING if pd.isna(x) else _t("km", lang, x=x)).astype(
                object
            ),
        }
        folium.GeoJson(
            feature_collection(gdf, props),
            control=False,
            marker=folium.CircleMarker(radius=4),
            style_function=lambda f: {
                "radius": 4,
                "color": "#ffffff",
                "weight": 1,
                "fillColor": NEIGHBOUR_COLOUR,
                "fill": True,
                "fillOpacity": 0.9,
            },
            popup=_popup(props, lang),
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(group)
        rows.append(LegendEntry(_t("neighbours", lang), NEIGHBOUR_COLOUR, "circle"))
    group.add_to(m)
    return note_legend(m, rows)


def add_station_and_officers(
    m: folium.Map, briefing: VillageBriefing, *, lang: Lang = "zh"
) -> folium.Map:
    """Add the station that reaches the village fastest, its route, and the officers.

    Parameters
    ----------
    m
        Map to add to.
    briefing
        The briefing.
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``briefing`` is not a briefing or ``lang`` is not supported.
    """
    lang = check_lang(lang)
    b = _check(briefing)
    layers = b.map_layers()
    group = folium.FeatureGroup(name=_t("station_layer", lang))
    rows = []
    kind = b.station_kind if b.station_kind in STATION_SYMBOLS else "station"
    colour = STATION_COLOURS[kind]
    legs = layers.get("route")
    leg = None if legs is None else legs[legs["leg"] == "station"]
    if leg is not None and len(leg):
        wgs = to_wgs84(leg, "route", ("minutes", "km"))
        trip = minutes_km(b.station_minutes, b.station_km, lang)
        folium.GeoJson(
            feature_collection(wgs, {"name": pd.Series([escape(trip)] * len(wgs))}),
            control=False,
            style_function=lambda f: {
                "color": colour,
                "weight": 3,
                "opacity": 0.85,
                "dashArray": _STATION_ROUTE_DASH,
            },
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(group)
        rows.append(LegendEntry(_t("station_route", lang), colour, "line", weight=3.0))
    station = layers.get("station")
    if station is not None and len(station):
        wgs = to_wgs84(station, "station", ("id", "name", "minutes", "km"))
        props = {
            "name": text(wgs["name"].where(wgs["name"].astype(str) != "", wgs["id"])),
            "code": text(wgs["id"]),
            "kind": pd.Series([escape(_value(kind, lang))] * len(wgs)),
            "minutes": pd.Series([escape(_t("min", lang, x=b.station_minutes))] * len(wgs)),
            "distance_road": pd.Series([escape(_t("km", lang, x=b.station_km))] * len(wgs)),
        }
        _points(wgs, props, STATION_SYMBOLS[kind], colour, lang).add_to(group)
        rows.append(LegendEntry(_capital(_value(kind, lang)), colour, STATION_SYMBOLS[kind]))
    officers = to_wgs84(b.officers, "officers", ("id", "name", "phone", "unit", "located"))
    if len(officers):
        where = officers["located"].astype(str)
        props = {
            "name": text(officers["name"]),
            "phone": text(officers["phone"]),
            "unit": text(officers["unit"]),
            "located": where.map(
                lambda w: escape(_t("located_village" if w == "village" else "located_own", lang))
            ).astype(object),
        }
        _points(officers, props, "circle", OFFICER_COLOUR, lang).add_to(group)
        rows.append(LegendEntry(_t("officers", lang), OFFICER_COLOUR, "circle"))
    group.add_to(m)
    return note_legend(m, rows)


def _points(
    gdf: gpd.GeoDataFrame,
    props: Mapping[str, pd.Series],
    symbol: Symbol,
    colour: str,
    lang: Lang,
    *,
    size: int = MARKER_PX,
) -> folium.GeoJson:
    """Return :func:`maps.legend.point_symbols` of ``props``, fields named in ``lang``.

    The shared builder names popup fields from :mod:`maps.style`'s table, which lacks
    this map's fields ("电话", "车程"): the properties are keyed by their display names
    (``name`` stays, the tooltip shows it).
    """
    shown = {k if k == "name" else _t(k, lang): v for k, v in props.items()}
    return point_symbols(
        feature_collection(gdf, shown), symbol, colour, list(shown), lang, size=size
    )


class _RouteLabel(MacroElement):
    """A permanent label on the route: "32 分钟 · 18.4 公里" in a white box."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .pingan-route-label span {
                display: inline-block; white-space: nowrap; transform: translate(-50%, -50%);
                background: #fff; color: {{ this.colour }}; border: 2px solid {{ this.colour }};
                border-radius: 4px; padding: 1px 6px; font: bold 13px/1.4 system-ui,
                "Noto Sans CJK SC", "WenQuanYi Zen Hei", "Microsoft YaHei", sans-serif;
                box-shadow: 0 1px 3px rgba(0, 0, 0, 0.35);
            }
        </style>
        {% endmacro %}
        """
    )

    def __init__(self, colour: str) -> None:
        super().__init__()
        self._name = "RouteLabel"
        self.colour = colour


def add_route(m: folium.Map, briefing: VillageBriefing, *, lang: Lang = "zh") -> folium.Map:
    """Add the route from the team's base to the village, labelled with minutes and km.

    The label sits on the route within the briefing's radius of the village (or halfway
    along a shorter route), so the printed sheet, fitted to the village, shows it.

    Parameters
    ----------
    m
        Map to add to.
    briefing
        The briefing; without a route only the base is drawn.
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``briefing`` is not a briefing or ``lang`` is not supported.
    """
    lang = check_lang(lang)
    b = _check(briefing)
    layers = b.map_layers()
    group = folium.FeatureGroup(name=_t("route_layer", lang))
    rows = []
    if b.route_geometry is not None:
        label = minutes_km(b.route_minutes, b.route_km, lang)
        route = gpd.GeoDataFrame({"name": [escape(label)]}, geometry=[b.route_geometry], crs=b.crs)
        wgs = to_wgs84(route, "route", ())
        folium.GeoJson(
            feature_collection(wgs, {"name": wgs["name"]}),
            control=False,
            style_function=lambda f: {
                "color": ROUTE_COLOUR,
                "weight": 5,
                "opacity": 0.9,
                "lineCap": "round",
                "lineJoin": "round",
            },
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(group)
        at = gpd.GeoSeries([_label_point(b)], crs=b.crs).to_crs(4326).iloc[0]
        _RouteLabel(ROUTE_COLOUR).add_to(m)
        folium.Marker(
            [at.y, at.x],
            icon=folium.DivIcon(
                html=f"<span>{escape(label)}</span>",
                icon_size=(0, 0),
                class_name="pingan-route-label",
            ),
            interactive=False,
            keyboard=False,
        ).add_to(group)
        rows.append(LegendEntry(_t("route", lang), ROUTE_COLOUR, "line", weight=5.0))
    base = layers.get("base")
    if base is not None and len(base):
        wgs = to_wgs84(base, "base", ("id", "name", "leader", "members"))
        props = {
            "name": text(wgs["name"].where(wgs["name"].astype(str) != "", wgs["id"])),
            "code": text(wgs["id"]),
            "leader": text(wgs["leader"]),
            "members": _count(wgs["members"]),
        }
        _points(wgs, props, TEAM_SYMBOL, TEAM_COLOUR, lang, size=MARKER_PX + 4).add_to(group)
        rows.append(LegendEntry(_t("base", lang), TEAM_COLOUR, TEAM_SYMBOL))
    group.add_to(m)
    return note_legend(m, rows)


def _label_point(b: VillageBriefing) -> shapely.Point:
    """Return where the route's label goes: at most ``radius_m`` back from the village.

    Along the road is never shorter than straight, so that point lies within the
    radius, on the printed sheet.
    """
    line = shapely.line_merge(b.route_geometry)
    if not isinstance(line, shapely.LineString):
        parts = list(getattr(line, "geoms", [line]))
        line = max(parts, key=lambda g: g.length)
    n = line.length
    back = min(n / 2, float(b.params.radius_m) * 0.8)
    start, end = shapely.Point(line.coords[0]), shapely.Point(line.coords[-1])
    ends_at_village = end.distance(b.village_point) <= start.distance(b.village_point)
    return line.interpolate(n - back if ends_at_village else back)


# ---------------------------------------------------------------------- print view


class _PrintView(MacroElement):
    """Title block, north arrow and the A4 print layout, refitted before printing."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .pingan-head {
                position: absolute; top: 8px; left: 50%; transform: translateX(-50%);
                z-index: 1000; pointer-events: none; text-align: center;
                background: rgba(255, 255, 255, 0.92); border-radius: 4px;
                box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); padding: 4px 14px;
                font: 12px/1.45 system-ui, "Noto Sans CJK SC", "WenQuanYi Zen Hei",
                    "Microsoft YaHei", sans-serif; color: #222; max-width: 60%;
            }
            .pingan-head h1 { margin: 0; font-size: 17px; line-height: 1.3; }
            .pingan-north {
                background: rgba(255, 255, 255, 0.92); border-radius: 4px;
                box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); padding: 2px 4px 0;
                line-height: 0;
            }
            @page { size: A4; margin: 10mm; }
            @media print {
                html, body {
                    width: {{ this.page_w }}mm !important; height: {{ this.page_h }}mm !important;
                    margin: 0 !important; padding: 0 !important; overflow: hidden !important;
                }
                * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
                .pingan-head {
                    top: 0; left: 0; transform: none; width: {{ this.page_w }}mm;
                    max-width: none; height: {{ this.head_h - 2 }}mm; box-sizing: border-box;
                    box-shadow: none; border-radius: 0; padding: 0; background: none;
                }
                .pingan-head h1 { font-size: 18pt; }
                .folium-map {
                    position: absolute !important; top: {{ this.head_h }}mm !important;
                    left: 0 !important; width: {{ this.page_w }}mm !important;
                    height: {{ this.page_h - this.head_h }}mm !important;
                    border: 0.3mm solid #555; box-sizing: border-box;
                }
                .leaflet-control-zoom, .leaflet-control-layers { display: none !important; }
                .pingan-legend { column-count: 2; column-gap: 12px; font-size: 10px; }
                .pingan-legend h4 { column-span: all; }
            }
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <div class="pingan-head">{{ this.head_html }}</div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var paper = L.latLngBounds({{ this.paper|tojson }});
            var north = L.control({position: "topleft"});
            north.onAdd = function () {
                var div = L.DomUtil.create("div", "pingan-north");
                div.innerHTML = {{ this.north_svg|tojson }};
                div.title = {{ this.north_text|tojson }};
                return div;
            };
            north.addTo(map);
            var screen = null;
            function toPaper() {
                if (screen === null) {
                    screen = {center: map.getCenter(), zoom: map.getZoom()};
                }
                map.invalidateSize({animate: false, pan: false});
                map.fitBounds(paper, {animate: false, padding: [6, 6]});
            }
            function toScreen() {
                map.invalidateSize({animate: false, pan: false});
                if (screen !== null) {
                    map.setView(screen.center, screen.zoom, {animate: false});
                    screen = null;
                }
            }
            window.addEventListener("beforeprint", toPaper);
            window.addEventListener("afterprint", toScreen);
            // Print emulation (and some browsers' preview) changes the media without
            // the print events.
            var query = window.matchMedia("print");
            query.addEventListener("change", function (e) {
                if (e.matches) { toPaper(); } else { toScreen(); }
            });
            if (query.matches) { toPaper(); }
            map.pinganPaperBounds = paper;

        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        head_html: str,
        paper: list[list[float]],
        north_svg: str,
        north_text: str,
    ) -> None:
        super().__init__()
        self._name = "PrintView"
        self.head_html = head_html
        self.paper = paper
        self.north_svg = north_svg
        self.north_text = north_text
        self.page_w = _PAGE_W_MM
        self.page_h = _PAGE_H_MM
        self.head_h = _HEAD_MM


def _north_svg(letter: str) -> str:
    return (
        '<svg width="26" height="38" viewBox="0 0 26 38" role="img" '
        f'aria-label="{escape(letter)}">'
        '<path d="M13 12 L20 34 L13 29 Z" fill="#222"/>'
        '<path d="M13 12 L6 34 L13 29 Z" fill="#fff" stroke="#222" stroke-width="1"/>'
        '<text x="13" y="10" text-anchor="middle" font-size="11" font-weight="bold" '
        f'font-family="system-ui, sans-serif" fill="#222">{escape(letter)}</text></svg>'
    )


def add_print_view(
    m: folium.Map,
    *,
    title: str,
    lines: Sequence[str] = (),
    bounds: tuple[float, float, float, float],
    lang: Lang = "zh",
) -> folium.Map:
    """Make ``m`` print on one A4 page, and add a north arrow and a title block.

    On paper (``@page`` A4, 10 mm margins) the title and ``lines`` head the sheet and the
    map fills the rest, fitted to ``bounds``; the legend and the scale bar print with it,
    the zoom buttons and the layer switcher do not. Leaflet is resized and refitted when
    the browser is about to print (``beforeprint`` or the print media query), and the
    screen view is restored afterwards.

    Parameters
    ----------
    m
        Map to add to.
    title
        The sheet's title (plain text).
    lines
        Lines under the title: date, trip, ... (plain text).
    bounds
        ``(minlon, minlat, maxlon, maxlat)`` in WGS84 the printed map is fitted to.
    lang
        Label language of the north arrow.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``lang`` is not supported or ``bounds`` are not finite.
    """
    lang = check_lang(lang)
    minlon, minlat, maxlon, maxlat = (float(v) for v in bounds)
    if not all(math.isfinite(v) for v in (minlon, minlat, maxlon, maxlat)):
        msg = f"print bounds must be finite, got {bounds!r}"
        raise MapError(msg)
    head = f"<h1>{escape(title)}</h1>" + "".join(f"<div>{escape(s)}</div>" for s in lines)
    north = _t("north", lang)
    paper = [[minlat, minlon], [maxlat, maxlon]]
    _PrintView(head, paper, _north_svg(north), north).add_to(m)
    return m
