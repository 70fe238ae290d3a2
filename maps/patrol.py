"""The dispatcher's patrol map: each unit's route on the roads, its numbered stops, variants.

One layer per variant of the shift's plan (the best shown, the others switched on from
the layer control), each holding, per unit, the road geometry it drives in the unit's
colour, arrowheads along it pointing the way it is driven and a numbered marker per stop
whose popup says what is there, when the unit arrives and how long it stays. Under the
routes: the hot spots the plan draws on, the unlit roads (dark, dashed) and the stations.

The arrowheads and stop markers are inline-SVG DivIcons built in the page from a
compact GeoJSON (an angle and a unit number per arrow), not one folium object each, so a
shift's thousand arrows stay a few tens of kilobytes and need no plugin from a CDN. The
bearings are computed here, vectorised, in WGS84 (clockwise from north, which is up on
the Web-Mercator map, whose angles are true).

The unit rows of the legend (km, minutes, prize) belong to a variant: they are shown
while its layer is on, so the legend always describes the routes on the screen.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from branca.element import MacroElement
from folium.template import Template

from geo.errors import CoordinateError, LayerError, MapError, Problem
from geo.patrol.results import PatrolPlan, PatrolVariants
from maps.basemap import Basemap
from maps.features import combined_bounds, feature_collection, thin_roads, to_wgs84
from maps.legend import finish_map, note_legend
from maps.offline import new_map
from maps.overview import OSM_ATTRIBUTION, ROAD_SIMPLIFY_M, add_stations
from maps.style import LIT_COLOURS, Lang, LegendEntry, check_lang, road_weight, symbol_svg

__all__ = [
    "ARROW_PANE",
    "ARROW_SPACING_M",
    "HOTSPOT_COLOUR",
    "MAX_ARROWS_PER_ROUTE",
    "ROUTE_COLOURS",
    "UNLIT_DASH",
    "add_hotspots",
    "add_patrol_routes",
    "add_road_context",
    "add_unit_legend",
    "add_unlit_roads",
    "arrow_points",
    "fan_offsets",
    "patrol_map",
    "place_name",
    "unit_rows",
    "variant_name",
]

#: Unit colours: Okabe & Ito's colour-blind-safe set without its orange and yellow
#: (the lit-road amber and too faint on the light background), then Paul Tol's muted
#: wine, teal, olive and indigo; a tenth unit takes the first colour again.
ROUTE_COLOURS: Final = (
    "#0072B2",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#882255",
    "#44AA99",
    "#999933",
    "#332288",
)
#: Hot spots: the hotspot map's "hotspot core" red, as translucent discs under the routes.
HOTSPOT_COLOUR: Final = "#b2182b"
#: Unlit roads are the overview's unlit purple, dashed so no route colour is mistaken for one.
UNLIT_DASH: Final = "6 5"
_CONTEXT_COLOUR: Final = "#bdbdbd"
#: Metres between arrowheads along a route (more apart on very long routes, see below).
ARROW_SPACING_M: Final = 500.0
#: Most arrowheads on one route: a 300 km shift on foot would otherwise draw 600.
MAX_ARROWS_PER_ROUTE: Final = 150
#: Pane of the arrowheads: above the route lines (overlay pane, z 400) and below the
#: stop numbers and stations (marker pane, z 600), which an arrow must never cover.
ARROW_PANE: Final = "pingan-arrows"
# Half the chord the bearing is measured over, in metres: short enough to follow a bend.
_PROBE_M: Final = 5.0
_STOP_PX: Final = 20
_ARROW_PX: Final = 14

#: key -> (Chinese, English); ``{}`` fields are filled with str.format.
_LABELS: Final[dict[str, tuple[str, str]]] = {
    "roads": ("道路", "Roads"),
    "route": ("路线", "Route"),
    "unlit_roads": ("无灯道路", "Unlit roads"),
    "hotspots": ("警情热点", "Hot spots"),
    "plan_best": ("方案{k}（最佳）", "Plan {k} (best)"),
    "plan": ("方案{k}（最佳奖励的{share:.0%}）", "Plan {k} ({share:.0%} of the best prize)"),
    "unit_car": ("{n}号巡逻车", "Unit {n}"),
    "unit_motorbike": ("{n}号摩托巡逻组", "Motorbike unit {n}"),
    "unit_foot": ("{n}号步巡组", "Foot patrol {n}"),
    "stays_in": ("{unit}：留所待命", "{unit}: stays in"),
    "units": ("巡逻力量", "Patrol units"),
    "units_note": (
        "箭头为行驶方向，圆内数字为停靠顺序",
        "Arrows: direction of travel; numbers: order of stops",
    ),
    "km": ("{x:.1f} 公里", "{x:.1f} km"),
    "min": ("{x:.0f} 分钟", "{x:.0f} min"),
    "m": ("{x:.0f} 米", "{x:.0f} m"),
    "prize": ("奖励 {x}", "prize {x}"),
    "stop": ("第{n}站", "stop {n}"),
    "hotspot": ("警情热点", "hot spot"),
    "road": ("无灯路段巡查", "dark road to drive"),
    "village": ("村庄走访", "village visit"),
    "kind": ("类型", "What"),
    "place": ("地点", "Where"),
    "in_village": ("所属村", "Village"),
    "arrive": ("到达", "Arrive"),
    "next_day": ("次日 {t}", "{t} next day"),
    "wait": ("等候 {x:.0f} 分钟，{t} 开始", "wait {x:.0f} min, start {t}"),
    "dwell": ("停留", "Stay"),
    "drive": ("行驶", "Drive"),
    "visit": ("第{n}次到访", "visit {n}"),
    "break": ("用餐休息", "Meal break"),
    "incidents": ("警情", "Incidents"),
    "incident_count": ("{x:.0f} 起", "{x:.0f}"),
    "name": ("名称", "Name"),
    "length": ("长度", "Length"),
    "unnamed": ("无名道路", "unnamed road"),
    "near": ("{x}附近", "area by {x}"),
    "sep": ("：", ": "),
}

_UNNAMED_RE: Final = re.compile(r"(?:unnamed )?[a-z_]+ road")
_NEAR_RE: Final = re.compile(r"area by (.+)")

# The unit-legend sections of each map: (variant layer, heading and rows as HTML), kept
# beside the map like maps.legend's rows rather than patched onto folium's object.
_SECTIONS: Final[weakref.WeakKeyDictionary[folium.Map, list[tuple[folium.FeatureGroup, str]]]] = (
    weakref.WeakKeyDictionary()
)


def _t(key: str, lang: Lang, **fields: Any) -> str:
    zh, en = _LABELS[key]
    return (zh if lang == "zh" else en).format(**fields)


def _length_text(metres: pd.Series, lang: Lang) -> pd.Series:
    v = pd.to_numeric(metres, errors="coerce").astype(float)
    km, m = _LABELS["km"][lang == "en"], _LABELS["m"][lang == "en"]
    shown = [
        "—" if not np.isfinite(x) else (km.format(x=x / 1000) if x >= 1000 else m.format(x=x))
        for x in v.tolist()
    ]
    return pd.Series(shown, index=metres.index, dtype=object)


def _prize_text(x: float) -> str:
    """Return a prize as a whole number when it is one (hot spots count incidents)."""
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def place_name(name: object, lang: Lang = "zh") -> str:
    """Return a target or road name in ``lang``, unescaped.

    The planner names a place without a name of its own in English: a hot cell "area by
    新街", an unnamed road by its OSM class ("residential road"); a Chinese page says
    "新街附近" and "无名道路" instead. Names of their own are kept as they are.

    Parameters
    ----------
    name
        The name from the targets or stops table (``None`` / NaN for none).
    lang
        Label language.

    Returns
    -------
    str
        The name to show.
    """
    text = "" if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
    text = text.strip()
    if not text:
        return _t("unnamed", lang)
    if lang == "en":
        return text
    near = _NEAR_RE.fullmatch(text)
    if near is not None:
        return _t("near", lang, x=place_name(near.group(1), lang))
    if _UNNAMED_RE.fullmatch(text):
        return _t("unnamed", lang)
    return text


def _plans(result: PatrolVariants | PatrolPlan) -> tuple[tuple[PatrolPlan, ...], np.ndarray]:
    if isinstance(result, PatrolVariants):
        return result.plans, np.asarray(result.relative, dtype=float)
    if isinstance(result, PatrolPlan):
        return (result,), np.ones(1)
    msg = (
        f"patrol_map needs a PatrolVariants or PatrolPlan, got {type(result).__name__}; "
        "pass report.variants"
    )
    raise MapError(msg)


def variant_name(k: int, share: float, lang: Lang = "zh") -> str:
    """Return the layer name of variant ``k`` (1 = the best) keeping ``share`` of its prize."""
    if k == 1:
        return _t("plan_best", check_lang(lang), k=k)
    return _t("plan", check_lang(lang), k=k, share=share)


def _unit_labels(
    plan: PatrolPlan, lang: Lang, station_names: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return unit id -> "1号巡逻车", numbered in the order of ``plan.units`` from 1.

    When the units come from more than one station, the label names the station too,
    "3号巡逻车（栗园派出所）", so the dispatcher knows whose car it is.
    """
    mode = plan.mode if plan.mode in ("car", "motorbike", "foot") else "car"
    u = plan.units
    many = u["station"].astype(str).nunique() > 1
    names = dict(station_names or {})
    out = {}
    for n, (unit, station) in enumerate(
        zip(u["unit"].astype(str), u["station"].astype(str), strict=True), start=1
    ):
        label = _t(f"unit_{mode}", lang, n=n)
        if many:
            where = names.get(station, station)
            label += f"（{where}）" if lang == "zh" else f" ({where})"
        out[unit] = label
    return out


def unit_rows(
    plan: PatrolPlan, lang: Lang = "zh", *, station_names: Mapping[str, str] | None = None
) -> list[str]:
    """Return one legend line per unit of ``plan``: "1号巡逻车 · 73.3 公里 · 356 分钟 · 奖励 168".

    Units are numbered in the order of ``plan.units`` from 1 (with their station's name
    when they come from several, see ``station_names``); a unit that stays in says so
    instead of its figures.

    Parameters
    ----------
    plan
        The plan.
    lang
        Label language.
    station_names
        Station id -> name, for units of several stations; ids are shown otherwise.

    Returns
    -------
    list[str]
        Plain text (not escaped), one line per unit.
    """
    lang = check_lang(lang)
    u = plan.units
    labels = _unit_labels(plan, lang, station_names)
    rows = []
    for unit, km, minutes, prize, stops in zip(
        u["unit"].astype(str), u["km"], u["minutes"], u["prize"], u["stops"], strict=True
    ):
        label = labels[unit]
        if int(stops) == 0:
            rows.append(_t("stays_in", lang, unit=label))
            continue
        rows.append(
            " · ".join(
                (
                    label,
                    _t("km", lang, x=float(km)),
                    _t("min", lang, x=float(minutes)),
                    _t("prize", lang, x=_prize_text(float(prize))),
                )
            )
        )
    return rows


# --------------------------------------------------------------------------- geometry


def _metric(gdf: gpd.GeoDataFrame, layer: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` in a projected CRS (its own, or its UTM zone)."""
    if gdf.crs is None:
        msg = f"{layer} have no CRS; set it (e.g. EPSG:32650) before mapping"
        raise CoordinateError(msg)
    if gdf.crs.is_projected:
        return gdf
    return gdf.to_crs(gdf.estimate_utm_crs())


def arrow_points(
    lines: gpd.GeoSeries,
    spacing_m: float = ARROW_SPACING_M,
    *,
    max_per_line: int = MAX_ARROWS_PER_ROUTE,
) -> gpd.GeoDataFrame:
    """Return arrowhead positions along each line and the bearing it is driven at there.

    A line of length L gets ``n = min(floor(L / spacing_m), max_per_line)`` arrows (one on
    a line shorter than the spacing), evenly spaced and none at the ends, where the stops
    and the station sit. The bearing is measured over a 10 m chord around each arrow in
    WGS84, clockwise from north.

    Parameters
    ----------
    lines
        LineStrings in a projected CRS (metres), in the direction driven.
    spacing_m
        Least distance between arrows, in metres.
    max_per_line
        Most arrows on one line; a longer line spaces them wider.

    Returns
    -------
    geopandas.GeoDataFrame
        ``line`` (the line's position in ``lines``), ``bearing`` (degrees in [0, 360))
        and the arrow's point, in the CRS of ``lines``.

    Raises
    ------
    MapError
        If ``spacing_m`` is not positive or ``max_per_line`` below 1.
    CoordinateError
        If ``lines`` has no CRS or a geographic one.
    """
    if not (np.isfinite(spacing_m) and spacing_m > 0):
        msg = f"arrow spacing_m must be a positive number of metres, got {spacing_m!r}"
        raise MapError(msg)
    if max_per_line < 1:
        msg = f"max_per_line must be at least 1, got {max_per_line!r}"
        raise MapError(msg)
    if lines.crs is None or not lines.crs.is_projected:
        msg = "arrow_points needs lines in a projected CRS (metres), e.g. the area's UTM zone"
        raise CoordinateError(msg)
    geoms = lines.to_numpy()
    length = np.nan_to_num(shapely.length(geoms))
    n = np.minimum(np.floor(length / spacing_m), max_per_line).astype(np.int64)
    n = np.where((n == 0) & (length > 2 * _PROBE_M), 1, n)
    which = np.repeat(np.arange(len(geoms)), n)
    i = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    step = length[which] / n[which] if len(which) else np.zeros(0)
    d = (i + 0.5) * step
    h = np.minimum(_PROBE_M, step / 2)
    g = geoms[which]
    at = shapely.line_interpolate_point(g, d)
    a = shapely.line_interpolate_point(g, np.maximum(d - h, 0.0))
    b = shapely.line_interpolate_point(g, np.minimum(d + h, length[which]))
    to_ll = pyproj.Transformer.from_crs(lines.crs, 4326, always_xy=True)
    lon_a, lat_a = to_ll.transform(shapely.get_x(a), shapely.get_y(a))
    lon_b, lat_b = to_ll.transform(shapely.get_x(b), shapely.get_y(b))
    east = (np.asarray(lon_b) - lon_a) * np.cos(np.radians((np.asarray(lat_a) + lat_b) / 2))
    north = np.asarray(lat_b) - lat_a
    bearing = np.degrees(np.arctan2(east, north)) % 360.0
    return gpd.GeoDataFrame({"line": which, "bearing": bearing}, geometry=at, crs=lines.crs)


def fan_offsets(
    keys: Sequence[object] | np.ndarray | pd.Series,
    centre_taken: Sequence[bool] | np.ndarray | None = None,
    *,
    radius_px: float = 20.0,
    ring_px: float = 16.0,
) -> np.ndarray:
    """Return pixel offsets that spread markers sharing a place around it.

    Markers with the same key are one place: the first keeps the centre (unless
    ``centre_taken`` says something else sits there, a station under team stars), the
    next four go to the diagonals at ``radius_px``, the next four to the axes one ring
    further out, and so on, so no two overlap at any zoom (offsets are in screen pixels).

    Parameters
    ----------
    keys
        One key per marker (e.g. its rounded position, or the station it sits at).
    centre_taken
        Per marker, whether its place's centre is already drawn on; default no.
    radius_px, ring_px
        Radius of the first ring and the step to the next, in pixels.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` offsets (right, down) in pixels.
    """
    k = pd.Series(np.asarray(keys, dtype=object))
    rank = k.groupby(k.map(str), sort=False).cumcount().to_numpy()
    if centre_taken is not None:
        rank = rank + np.asarray(centre_taken, dtype=bool)
    j = rank - 1
    ring = np.maximum(j, 0) // 4
    theta = np.radians(45.0 + 90.0 * (np.maximum(j, 0) % 4) + 45.0 * (ring % 2))
    r = np.where(rank > 0, radius_px + ring_px * ring, 0.0)
    return np.column_stack([r * np.cos(theta), -r * np.sin(theta)])


def _route_lines(plan: PatrolPlan) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return the units that go out: (unit, index, LineString metric) and their stops.

    The same choice as the GeoJSON and GPX files (:mod:`service.patrol_files`): the
    routes table's road geometry, stop to stop; a route without geometry (every leg of
    zero length) joins its stops instead. The line starts and ends at the station
    itself, not at the road point the engine snapped it to, so it visibly leaves from
    and comes back to the station's marker.
    """
    routes = _metric(plan.routes, "patrol routes")
    index = {str(u): k for k, u in enumerate(plan.units["unit"].astype(str))}
    stops = plan.stops
    stops = _metric(stops, "patrol stops") if isinstance(stops, gpd.GeoDataFrame) else stops
    stops = stops[stops["unit"].astype(str).isin(set(routes["unit"].astype(str)))]
    stops = stops.sort_values(["unit", "seq"], kind="stable")
    lines = []
    for unit, geom in zip(routes["unit"].astype(str), routes.geometry, strict=True):
        own = shapely.get_coordinates(stops[stops["unit"].astype(str) == unit].geometry)
        if geom is None or shapely.is_empty(geom):
            xy = own
        else:
            xy = np.vstack([own[:1], shapely.get_coordinates(geom), own[-1:]])
        if len(xy) > 1:
            keep = np.concatenate([[True], (np.diff(xy, axis=0) != 0).any(axis=1)])
            xy = xy[keep]
        lines.append(shapely.linestrings(xy) if len(xy) > 1 else None)
    out = gpd.GeoDataFrame(
        {
            "unit": routes["unit"].astype(str).to_numpy(),
            "index": [index[u] for u in routes["unit"].astype(str)],
            "km": routes["km"].to_numpy(dtype=float),
            "minutes": routes["minutes"].to_numpy(dtype=float),
        },
        geometry=gpd.GeoSeries(lines, crs=routes.crs),
    )
    return out[out.geometry.notna()].reset_index(drop=True), stops


# --------------------------------------------------------------------------- page elements


class _Arrows(MacroElement):
    """Arrowheads along the routes, built in the page from (angle, unit) per point."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>.pingan-arrow { background: none; border: none; }</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var colours = {{ this.colours|tojson }};
            L.geoJson({{ this.data|tojson }}, {
                pointToLayer: function (f, latlng) {
                    var p = f.properties;
                    return L.marker(latlng, {
                        pane: {{ this.pane|tojson }}, interactive: false, keyboard: false,
                        icon: L.divIcon({
                            className: "pingan-arrow", iconSize: [{{ this.px }}, {{ this.px }}],
                            iconAnchor: [{{ this.px // 2 }}, {{ this.px // 2 }}],
                            html: '<svg width="{{ this.px }}" height="{{ this.px }}" '
                                + 'viewBox="0 0 14 14" style="transform: rotate(' + p.a
                                + 'deg)"><path d="M7 1 L12.5 12.5 L7 9.5 L1.5 12.5 Z" '
                                + 'fill="' + colours[p.u] + '" stroke="#fff" '
                                + 'stroke-width="1.2" stroke-linejoin="round"/></svg>'
                        })
                    });
                }
            }).addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, data: dict[str, Any], colours: Sequence[str]) -> None:
        super().__init__()
        self._name = "Arrows"
        self.data = data
        self.colours = list(colours)
        self.pane = ARROW_PANE
        self.px = _ARROW_PX


class _Stops(MacroElement):
    """Numbered stop markers in their unit's colour, each with its popup and tooltip."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .pingan-stop { background: none; border: none; }
            .pingan-stop span {
                display: block; box-sizing: border-box; width: {{ this.px }}px;
                height: {{ this.px }}px; border-radius: 50%; border: 1.5px solid #fff;
                box-shadow: 0 0 2px rgba(0, 0, 0, 0.6); color: #fff; text-align: center;
                font: bold 11px/17px system-ui, sans-serif;
            }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var colours = {{ this.colours|tojson }};
            L.geoJson({{ this.data|tojson }}, {
                pointToLayer: function (f, latlng) {
                    var p = f.properties, h = {{ this.px // 2 }};
                    return L.marker(latlng, {
                        icon: L.divIcon({
                            className: "pingan-stop", iconSize: [{{ this.px }}, {{ this.px }}],
                            iconAnchor: [h - p.dx, h - p.dy],
                            html: '<span style="background:' + colours[p.u] + '">' + p.n
                                + '</span>'
                        })
                    }).bindPopup(p.popup, {maxWidth: 320}).bindTooltip(p.tip);
                }
            }).addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, data: dict[str, Any], colours: Sequence[str]) -> None:
        super().__init__()
        self._name = "Stops"
        self.data = data
        self.colours = list(colours)
        self.px = _STOP_PX


class _UnitLegend(MacroElement):
    """The unit rows of the variants on the map, refreshed as layers are switched."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var sections = [
                {%- for layer, html in this.sections %}
                [{{ layer }}, {{ html|tojson }}]{{ "," if not loop.last }}
                {%- endfor %}
            ];
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", "pingan-legend pingan-units");
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                function refresh() {
                    var shown = sections.filter(function (s) { return map.hasLayer(s[0]); });
                    div.innerHTML = shown.length
                        ? {{ this.heading|tojson }} + shown.map(function (s) {
                            return s[1]; }).join("")
                        : "";
                    div.style.display = shown.length ? "" : "none";
                }
                // A variant's own layer coming or going, not each of its thousand arrows.
                map.on("layeradd layerremove", function (e) {
                    if (sections.some(function (s) { return s[0] === e.layer; })) refresh();
                });
                refresh();
                return div;
            };
            control.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, sections: list[tuple[str, str]], heading: str, position: str) -> None:
        super().__init__()
        self._name = "UnitLegend"
        self.sections = sections
        self.heading = heading
        self.position = position


# --------------------------------------------------------------------------- builders


def _ensure_pane(m: folium.Map, name: str, z_index: int) -> None:
    """Create Leaflet pane ``name`` once per map, however many layers draw into it."""
    for child in m._children.values():
        if isinstance(child, folium.map.CustomPane) and child.name == name:
            return
    folium.map.CustomPane(name, z_index=z_index, pointer_events=False).add_to(m)


def _stop_popups(
    stops: pd.DataFrame, plan: PatrolPlan, labels: Mapping[str, str], lang: Lang
) -> tuple[list[str], list[str]]:
    """Return each stop's popup (HTML) and tooltip (text): what, where, when, how long."""
    sep = _t("sep", lang)
    start_day = plan.shift.date
    popups, tips = [], []
    cols = ["unit", "seq", "kind", "name", "village", "visit", "arrive", "start", "wait_min"]
    cols += ["dwell_min", "break_min", "prize"]
    for r in stops[cols].to_dict("records"):
        arrive = pd.Timestamp(r["arrive"])
        clock = f"{arrive:%H:%M}"
        if arrive.date() > start_day:
            clock = _t("next_day", lang, t=clock)
        kind = str(r["kind"])
        head = f"{labels[str(r['unit'])]} · {_t('stop', lang, n=int(r['seq']))}"
        place = place_name(r["name"], lang)
        # (field, value) rows; a field of None is a line of its own.
        lines: list[tuple[str | None, str]] = [
            ("kind", _t(kind, lang) if kind in ("hotspot", "road", "village") else kind),
            ("place", place),
        ]
        village = "" if pd.isna(r["village"]) else str(r["village"]).strip()
        if village and village != str(r["name"]).strip():
            lines.append(("in_village", village))
        lines.append(("arrive", clock))
        if float(r["wait_min"]) >= 0.5:
            start = f"{pd.Timestamp(r['start']):%H:%M}"
            lines.append((None, _t("wait", lang, x=float(r["wait_min"]), t=start)))
        dwell = _t("min", lang, x=float(r["dwell_min"]))
        lines.append(("drive" if kind == "road" else "dwell", dwell))
        if int(r["visit"]) > 1:
            lines.append((None, _t("visit", lang, n=int(r["visit"]))))
        if float(r["break_min"]) > 0:
            lines.append(("break", _t("min", lang, x=float(r["break_min"]))))
        if float(r["prize"]) > 0:
            lines.append((None, _t("prize", lang, x=_prize_text(float(r["prize"])))))
        body = [
            escape(text) if key is None else f"{escape(_t(key, lang))}{sep}{escape(text)}"
            for key, text in lines
        ]
        popups.append("<br>".join([f"<b>{escape(head)}</b>", *body]))
        tips.append(f"{head} · {clock} · {place}")
    return popups, tips


def add_patrol_routes(
    m: folium.Map,
    plan: PatrolPlan,
    *,
    name: str,
    colours: Sequence[str] = ROUTE_COLOURS,
    show: bool = True,
    lang: Lang = "zh",
    spacing_m: float = ARROW_SPACING_M,
    station_names: Mapping[str, str] | None = None,
) -> folium.Map:
    """Add one plan as one layer: per unit its road route, arrowheads and numbered stops.

    The route is the road geometry the unit drives, in the unit's colour (units in the
    order of ``plan.units``); arrowheads every ``spacing_m`` point the way it is driven;
    each stop (the station excluded) has a marker with its number whose popup gives the
    unit, stop number, what is there, where, the arrival time, the dwell (the drive for a
    dark road), a revisit, a meal break and the prize. Stops at one place fan out around
    it so every number stays readable. The unit rows for :func:`add_unit_legend` are noted.

    Parameters
    ----------
    m
        Map to add to.
    plan
        The plan to draw.
    name
        Layer name (unique on the map), e.g. :func:`variant_name`.
    colours
        Unit colours, cycled.
    show
        Whether the layer is on when the page opens.
    lang
        Label language.
    spacing_m
        Metres between arrowheads.
    station_names
        Station id -> name, to name the station of each unit when there are several.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``lang`` is not supported, ``colours`` is empty or ``spacing_m`` not positive.
    CoordinateError
        If the plan's tables have no CRS.
    """
    lang = check_lang(lang)
    if not colours:
        msg = "colours is empty: give at least one unit colour"
        raise MapError(msg)
    if not (np.isfinite(spacing_m) and spacing_m > 0):
        msg = f"arrow spacing_m must be a positive number of metres, got {spacing_m!r}"
        raise MapError(msg)
    palette = [colours[k % len(colours)] for k in range(max(len(plan.units), 1))]
    labels = _unit_labels(plan, lang, station_names)
    lines, stops = _route_lines(plan)
    group = folium.FeatureGroup(name=name, show=show)
    if len(lines):
        wgs = to_wgs84(lines, "patrol routes", (), simplify_m=ROAD_SIMPLIFY_M)
        tip = [
            f"{labels[u]} · {_t('km', lang, x=km)} · {_t('min', lang, x=mn)}"
            for u, km, mn in zip(wgs["unit"], wgs["km"], wgs["minutes"], strict=True)
        ]
        props = {
            "u": wgs["index"].astype(int),
            "tip": pd.Series([escape(t) for t in tip], index=wgs.index, dtype=object),
        }
        folium.GeoJson(
            feature_collection(wgs, props),
            control=False,
            style_function=lambda f: {
                "color": palette[f["properties"]["u"]],
                "weight": 4,
                "opacity": 0.85,
                "lineCap": "round",
                "lineJoin": "round",
            },
            # Aliases the reader never sees (labels=False) still go in the page: name them.
            tooltip=folium.GeoJsonTooltip(
                fields=["tip"], aliases=[escape(_t("route", lang))], labels=False, sticky=True
            ),
        ).add_to(group)
        arrows = arrow_points(lines.geometry, spacing_m)
        arrows_wgs = arrows.to_crs(4326)
        _ensure_pane(m, ARROW_PANE, 450)
        _Arrows(
            feature_collection(
                arrows_wgs,
                {
                    "a": pd.Series(np.round(arrows["bearing"]).astype(int) % 360),
                    "u": pd.Series(lines["index"].to_numpy()[arrows["line"].to_numpy()]),
                },
            ),
            palette,
        ).add_to(group)
    visits = stops[stops["kind"].astype(str) != "station"]
    if len(visits):
        lon = visits["lon"].to_numpy(dtype=float)
        lat = visits["lat"].to_numpy(dtype=float)
        # Same place (to about a metre): a revisit, or two units at one hot spot.
        offsets = fan_offsets([f"{x:.5f},{y:.5f}" for x, y in zip(lon, lat, strict=True)])
        popups, tips = _stop_popups(visits, plan, labels, lang)
        index = {u: k for k, u in enumerate(plan.units["unit"].astype(str))}
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
        _Stops(
            feature_collection(
                points,
                {
                    "n": pd.Series(visits["seq"].astype(int).to_numpy()),
                    "u": pd.Series([index[str(u)] for u in visits["unit"]]),
                    "dx": pd.Series(np.round(offsets[:, 0], 1)),
                    "dy": pd.Series(np.round(offsets[:, 1], 1)),
                    "popup": pd.Series(popups, dtype=object),
                    "tip": pd.Series([escape(t) for t in tips], dtype=object),
                },
            ),
            palette,
        ).add_to(group)
    group.add_to(m)
    rows = unit_rows(plan, lang, station_names=station_names)
    out = set(lines["unit"])
    body = []
    for k, (u, text) in enumerate(zip(plan.units["unit"].astype(str), rows, strict=True)):
        swatch = symbol_svg("line", palette[k], weight=4.0) if u in out else ""
        body.append(f"<div>{swatch}<span>{escape(text)}</span></div>")
    html = f"<h4>{escape(name)}</h4>" + "".join(body)
    _SECTIONS.setdefault(m, []).append((group, html))
    return m


def add_unit_legend(m: folium.Map, *, lang: Lang = "zh", position: str = "topleft") -> folium.Map:
    """Add the legend of the units of the plans on the map, shown per switched-on variant.

    Each plan added with :func:`add_patrol_routes` gives a section (its name, then one
    row per unit: colour, km, minutes, prize); a section shows while its layer is on.
    Call it after the last :func:`add_patrol_routes`.

    Parameters
    ----------
    m
        Map to add to.
    lang
        Label language.
    position
        Leaflet control corner.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``lang`` is not supported or ``position`` is not a control corner.
    """
    lang = check_lang(lang)
    if position not in ("topleft", "topright", "bottomleft", "bottomright"):
        msg = f"legend position {position!r} is not a Leaflet control corner"
        raise MapError(msg)
    sections = _SECTIONS.get(m, [])
    if not sections:
        return m
    heading = f"<h4>{escape(_t('units', lang))}</h4><p>{escape(_t('units_note', lang))}</p>"
    _UnitLegend([(g.get_name(), html) for g, html in sections], heading, position).add_to(m)
    return m


def add_hotspots(m: folium.Map, targets: gpd.GeoDataFrame, *, lang: Lang = "zh") -> folium.Map:
    """Add the hot-spot targets as red discs, larger for more incidents.

    Parameters
    ----------
    m
        Map to add to.
    targets
        The patrol's target table (:data:`geo.patrol.targets.TARGET_COLUMNS`); its rows
        of kind ``hotspot`` are drawn, at their point, the prize being the incidents.
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
        If ``targets`` has no CRS.
    """
    lang = check_lang(lang)
    gdf = to_wgs84(targets, "patrol targets", ("id", "kind", "name", "village", "prize"))
    gdf = gdf[(gdf["kind"].astype(str) == "hotspot").to_numpy()]
    if len(gdf) and not gdf.geom_type.eq("Point").all():
        gdf = gdf.set_geometry(gdf.geometry.representative_point())
    group = folium.FeatureGroup(name=_t("hotspots", lang))
    if len(gdf):
        prize = pd.to_numeric(gdf["prize"], errors="coerce").fillna(0.0).to_numpy(float)
        top = max(float(prize.max()), 1.0)
        radius = np.round(5.0 + 9.0 * np.sqrt(np.clip(prize, 0, None) / top), 1)
        fields = ("name", "in_village", "incidents")
        props = {
            "name": pd.Series([escape(place_name(n, lang)) for n in gdf["name"]], dtype=object),
            "in_village": pd.Series(
                [escape(place_name(v, lang)) if str(v).strip() else "—" for v in gdf["village"]],
                dtype=object,
            ),
            "incidents": pd.Series(
                [_t("incident_count", lang, x=p) for p in prize.tolist()], dtype=object
            ),
            "r": pd.Series(radius),
        }
        folium.GeoJson(
            feature_collection(gdf, props),
            control=False,
            marker=folium.CircleMarker(radius=6),
            style_function=lambda f: {
                "radius": f["properties"]["r"],
                "color": HOTSPOT_COLOUR,
                "weight": 1.5,
                "fillColor": HOTSPOT_COLOUR,
                "fill": True,
                "fillOpacity": 0.3,
            },
            popup=folium.GeoJsonPopup(
                fields=list(fields), aliases=[escape(_t(f, lang)) for f in fields]
            ),
            tooltip=folium.GeoJsonTooltip(
                fields=["name"], aliases=[escape(_t("name", lang))], labels=False
            ),
        ).add_to(group)
        note_legend(m, [LegendEntry(_t("hotspots", lang), HOTSPOT_COLOUR, "circle")])
    group.add_to(m)
    return m


def _road_frame(roads: gpd.GeoDataFrame, columns: Sequence[str]) -> gpd.GeoDataFrame:
    if not isinstance(roads, gpd.GeoDataFrame):
        msg = f"expected a GeoDataFrame, got {type(roads).__name__}"
        raise LayerError(Problem(file="roads", message=msg))
    missing = [c for c in columns if c not in roads.columns]
    if missing:
        raise LayerError(
            [Problem(file="roads", message="column is missing", column=c) for c in missing]
        )
    return roads


def add_unlit_roads(
    m: folium.Map,
    roads: gpd.GeoDataFrame,
    *,
    lang: Lang = "zh",
    attribution: str | None = OSM_ATTRIBUTION,
) -> folium.Map:
    """Add the roads tagged unlit (OSM ``lit=no``), dark and dashed.

    Parameters
    ----------
    m
        Map to add to.
    roads
        Road edges with ``lit``, ``highway``, ``name`` and ``length_m``, any CRS (the
        area's ``roads.frame()``).
    lang
        Label language.
    attribution
        Credit for the road data, shown while the layer is on; ``None`` for none.

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
    roads = _road_frame(roads, ("lit", "highway", "name", "length_m"))
    unlit = roads[(roads["lit"].astype("string") == "no").fillna(False).to_numpy(dtype=bool)]
    unlit, _ = thin_roads(unlit)
    gdf = to_wgs84(
        unlit, "roads", ("lit", "highway", "name", "length_m"), simplify_m=ROAD_SIMPLIFY_M
    )
    group = folium.FeatureGroup(name=_t("unlit_roads", lang))
    if len(gdf):
        props = {
            "name": pd.Series([escape(place_name(n, lang)) for n in gdf["name"]], dtype=object),
            "length": _length_text(gdf["length_m"], lang),
            "w": pd.Series(
                [round(road_weight(h) * 0.4 + 0.8, 1) for h in gdf["highway"].astype(str)]
            ),
        }
        folium.GeoJson(
            feature_collection(gdf, props),
            control=False,
            style_function=lambda f: {
                "color": LIT_COLOURS["no"],
                "weight": f["properties"]["w"],
                "opacity": 0.6,
                "dashArray": UNLIT_DASH,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "length"], aliases=[escape(_t(k, lang)) for k in ("name", "length")]
            ),
            attribution=escape(attribution) if attribution else None,
        ).add_to(group)
        note_legend(
            m, [LegendEntry(_t("unlit_roads", lang), LIT_COLOURS["no"], "line", weight=2.5)]
        )
    group.add_to(m)
    return m


def add_road_context(
    m: folium.Map,
    roads: gpd.GeoDataFrame,
    *,
    lang: Lang = "zh",
    attribution: str | None = OSM_ATTRIBUTION,
) -> folium.Map:
    """Add every road in light grey, weighted by class, as the backdrop without tiles.

    The roads carry no tooltip: they are there to find one's way, and the page stays
    small. Very large areas are thinned to the most important classes.

    Parameters
    ----------
    m
        Map to add to.
    roads
        Road edges with ``highway``, any CRS.
    lang
        Label language.
    attribution
        Credit for the road data; ``None`` for none.

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
    roads = _road_frame(roads, ("highway",))
    roads, _ = thin_roads(roads)
    gdf = to_wgs84(roads, "roads", ("highway",), simplify_m=2.0)
    group = folium.FeatureGroup(name=_t("roads", lang))
    if len(gdf):
        weight = gdf["highway"].astype(str).map(lambda h: round(road_weight(h) * 0.5, 1))
        folium.GeoJson(
            feature_collection(gdf, {"w": weight}),
            control=False,
            interactive=False,
            style_function=lambda f: {
                "color": _CONTEXT_COLOUR,
                "weight": f["properties"]["w"],
                "opacity": 0.9,
            },
            attribution=escape(attribution) if attribution else None,
        ).add_to(group)
        note_legend(m, [LegendEntry(_t("roads", lang), _CONTEXT_COLOUR, "line", weight=2.0)])
    group.add_to(m)
    return m


# --------------------------------------------------------------------------- the map


def _station_names(stations: gpd.GeoDataFrame) -> dict[str, str]:
    if not {"id", "name"} <= set(stations.columns):
        return {}
    return dict(zip(stations["id"].astype(str), stations["name"].astype(str), strict=True))


def patrol_map(
    result: PatrolVariants | PatrolPlan,
    *,
    roads: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    base: Basemap | None = None,
    lang: Lang = "zh",
    attribution: str | None = OSM_ATTRIBUTION,
) -> folium.Map:
    """Build the dispatcher's patrol map of a shift, ready for :func:`maps.offline.save_offline`.

    Layers, bottom to top: the base (``base``: tiles, water, land use, names), roads in
    grey (a base map draws no roads of its own), the unlit roads (dark, dashed), the hot
    spots, one layer per plan (the best shown, the other variants switched off), the
    stations. The legend lists the drawn layers; a
    second legend the units of the plans switched on, with km, minutes and prize.

    Parameters
    ----------
    result
        The variants of the shift (``PatrolReport.variants``), or one plan.
    roads
        The area's road edges (``area.roads.frame()``): ``lit``, ``highway``, ``name``,
        ``length_m``.
    stations
        Police stations and posts with ``id``, ``name``, ``kind``.
    targets
        The target table the plans were made for (``PatrolReport.targets``); its hot
        spots are drawn. ``None`` draws none.
    title
        Page title; default "巡逻方案 <date> <shift>" / "Patrol plan <date> <shift>".
    base
        Tiles and vector base layer under the overlays.
    lang
        Label language.
    attribution
        Credit for the road data; ``None`` for roads not from OpenStreetMap.

    Returns
    -------
    folium.Map
        The map, fitted to the routes, stops, hot spots and stations.

    Raises
    ------
    MapError
        If ``result`` is neither variants nor a plan, or ``lang`` is not supported.
    LayerError
        If a layer lacks a column.
    CoordinateError
        If a layer has no CRS.
    """
    lang = check_lang(lang)
    plans, shares = _plans(result)
    best = plans[0]
    if title is None:
        head = "巡逻方案" if lang == "zh" else "Patrol plan"
        title = f"{head} {best.shift.date.isoformat()} {best.shift.label}"
    fit: dict[str, gpd.GeoDataFrame] = {"stations": stations}
    for k, plan in enumerate(plans, start=1):
        fit[f"plan {k} routes"] = plan.routes
        fit[f"plan {k} stops"] = plan.stops
    if targets is not None:
        fit["targets"] = targets
    m = new_map(combined_bounds(fit), title=title, base=base, lang=lang)
    add_road_context(m, roads, lang=lang, attribution=attribution)
    add_unlit_roads(m, roads, lang=lang, attribution=attribution)
    if targets is not None:
        add_hotspots(m, targets, lang=lang)
    names = _station_names(stations)
    for k, (plan, share) in enumerate(zip(plans, shares, strict=True), start=1):
        add_patrol_routes(
            m,
            plan,
            name=variant_name(k, float(share), lang),
            show=k == 1,
            lang=lang,
            station_names=names,
        )
    add_stations(m, stations, lang=lang)
    add_unit_legend(m, lang=lang)
    return finish_map(m, lang=lang)
