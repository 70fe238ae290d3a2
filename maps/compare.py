"""The planner's scenario comparison: one map of what scenario B changes against A.

One map with a difference layer rather than two synchronised maps (which would need a
plugin): each village is coloured by what B does to its coverage within one threshold
(gained, lost, covered in both, covered in neither), the isochrones of both scenarios
are drawn as outlines (A and B in two colours, each threshold its own dash), the
stations of both are marked (those B adds, removes or moves stand out), and the
comparison's summary (per threshold: villages covered in A and B, gained, lost, weight)
is a table on the map.

Colours are Okabe & Ito's colour-blind-safe set: bluish green for gained, vermillion for
lost, sky blue for covered in both, grey for neither; blue and orange isochrones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any, Final, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from geo.coverage import Isochrones
from geo.errors import LayerError, MapError, Problem
from geo.scenarios import Comparison
from maps.basemap import Basemap
from maps.features import combined_bounds, feature_collection, text, to_wgs84
from maps.hotspots import add_context_roads
from maps.legend import MARKER_PX, finish_map, note_legend, point_symbols
from maps.offline import new_map
from maps.overview import OSM_ATTRIBUTION
from maps.style import (
    MISSING,
    PROPOSED_COLOUR,
    STATION_COLOURS,
    STATION_SYMBOLS,
    TEAM_COLOUR,
    TEAM_SYMBOL,
    Lang,
    LegendEntry,
    Symbol,
    check_lang,
)

__all__ = [
    "CHANGE_COLOURS",
    "ISO_COLOURS",
    "ISO_DASHES",
    "ISO_PANES",
    "ISO_SIMPLIFY_M",
    "add_isochrones",
    "add_station_changes",
    "add_summary_table",
    "add_village_changes",
    "compare_map",
    "station_changes",
    "village_changes",
]

Side = Literal["a", "b"]

#: Village coverage change -> colour (Okabe & Ito), in legend order.
CHANGE_COLOURS: Final[dict[str, str]] = {
    "gained": "#009E73",
    "lost": "#D55E00",
    "both": "#56B4E9",
    "neither": "#9e9e9e",
}
#: Isochrone outline colour of each scenario.
ISO_COLOURS: Final[dict[str, str]] = {"a": "#0072B2", "b": "#E69F00"}
#: Dash of each threshold's outline, shortest threshold first (solid); a fifth and later
#: threshold take the last dash.
ISO_DASHES: Final = ("", "10 5", "4 4", "1 5")
#: Panes of the isochrone outlines, below Leaflet's overlay pane (z-index 400) where the
#: villages are: B's under A's.
ISO_PANES: Final[dict[str, str]] = {"a": "pingan-iso-a", "b": "pingan-iso-b"}
_PANE_Z: Final[dict[str, int]] = {"a": 360, "b": 355}
_ISO_WEIGHTS: Final[dict[str, float]] = {"a": 2.0, "b": 4.5}
#: Isochrone outlines are simplified by this many metres before export: a tenth of the
#: 150 m strip each side of a reached road, and the page shrinks several times over.
ISO_SIMPLIFY_M: Final = 15.0
#: Colour of a station B removes (and of a moved station's old place).
REMOVED_COLOUR: Final = "#757575"
#: A station within this many metres of its place in A has not moved.
_MOVED_M: Final = 1.0

#: key -> (Chinese, English); ``{}`` fields are filled with str.format.
_LABELS: Final[dict[str, tuple[str, str]]] = {
    "villages_layer": ("覆盖变化（{t}）", "Coverage change ({t})"),
    "gained": ("新增覆盖", "Gained coverage"),
    "lost": ("失去覆盖", "Lost coverage"),
    "both": ("两方案均覆盖", "Covered in both"),
    "neither": ("两方案均未覆盖", "Covered in neither"),
    "iso_layer": ("方案{side}等时圈", "Scenario {side} isochrones"),
    "iso_row": ("方案{side}等时圈：{name}", "Scenario {side} isochrones: {name}"),
    "iso_key": ("等时圈", "Isochrones"),
    "side": ("方案{side}", "Scenario {side}"),
    "stations_layer": ("派出所与警务室（方案对比）", "Police stations & posts (compared)"),
    "teams_layer": ("先锋队驻地（方案对比）", "Team bases (compared)"),
    "same_place": ("两方案相同", "In both"),
    "added": ("方案B新增", "Added in B"),
    "removed": ("方案B撤销", "Removed in B"),
    "moved": ("方案B迁址（新址）", "Moved in B (new place)"),
    "moved_from": ("方案B迁址（原址）", "Moved in B (old place)"),
    "station": ("派出所", "Police station"),
    "post": ("警务室", "Police post"),
    "team": ("先锋队驻地", "Team base"),
    "row": ("{what}：{kind}", "{kind}: {what}"),
    "min": ("{x:g} 分钟", "{x:g} min"),
    "minutes": ("{x:.1f} 分钟", "{x:.1f} min"),
    "unreached": ("不可达", "not reached"),
    "summary": ("方案对比：A {a} → B {b}", "Scenarios: A {a} → B {b}"),
    "threshold": ("时限", "Within"),
    "covered_a": ("A覆盖村数", "Covered in A"),
    "covered_b": ("B覆盖村数", "Covered in B"),
    "gained_n": ("新增", "Gained"),
    "lost_n": ("失去", "Lost"),
    "weight_gained": ("新增权重", "Weight gained"),
    "weight_lost": ("失去权重", "Weight lost"),
    "share_a": ("A权重覆盖率", "Weight share A"),
    "share_b": ("B权重覆盖率", "Weight share B"),
    "shown": ("地图着色按 {t}", "Villages coloured at {t}"),
    # popup fields
    "name": ("名称", "Name"),
    "code": ("区划代码", "Code"),
    "change": ("变化", "Change"),
    "minutes_a": ("方案A车程", "Minutes in A"),
    "minutes_b": ("方案B车程", "Minutes in B"),
    "facility_a": ("方案A最近站点", "Nearest in A"),
    "facility_b": ("方案B最近站点", "Nearest in B"),
    "id": ("编号", "ID"),
    "kind": ("类型", "Kind"),
    "status": ("对比", "Comparison"),
}


def _t(key: str, lang: Lang, **fields: Any) -> str:
    zh, en = _LABELS[key]
    return (zh if lang == "zh" else en).format(**fields)


def _side(side: Side) -> str:
    return side.upper()


# ---------------------------------------------------------------------- the data


def village_changes(comparison: Comparison, threshold_min: float) -> pd.Series:
    """Return each village's change within ``threshold_min``: gained, lost, both, neither.

    ``same`` in the comparison is split by whether A (and so B) covers the village.

    Parameters
    ----------
    comparison
        The comparison (:func:`geo.scenarios.compare`).
    threshold_min
        One of the comparison's thresholds, in minutes.

    Returns
    -------
    pandas.Series
        Indexed like ``comparison.villages``.

    Raises
    ------
    MapError
        If the comparison has no such threshold.
    """
    v = comparison.villages
    col = f"change_{float(threshold_min):g}"
    if col not in v.columns:
        have = [float(t) for t in comparison.summary["threshold_min"]]
        msg = f"threshold_min={threshold_min!r} is not a threshold of the comparison ({have})"
        raise MapError(msg)
    change = v[col].astype(str)
    covered = np.nan_to_num(pd.to_numeric(v["minutes_a"]).to_numpy(float), nan=np.inf)
    same_state = np.where(covered <= float(threshold_min), "both", "neither")
    return pd.Series(np.where(change == "same", same_state, change), index=v.index, dtype=object)


def station_changes(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the stations of A and B, each with what B does to it.

    ``status``: ``same_place`` (in both, where it was), ``added`` (only in B),
    ``removed`` (only in A), ``moved`` (B's new place) and ``moved_from`` (its place in
    A); ids are compared as text. The columns are ``id``, ``name``, ``kind`` (None
    without one) and ``status``, in B's CRS, B's rows first.

    Raises
    ------
    LayerError
        If a layer is not a GeoDataFrame or lacks ``id``.
    MapError
        If the layers' CRSs differ or one has none.
    """
    for name, gdf in (("a_stations", a), ("b_stations", b)):
        if not isinstance(gdf, gpd.GeoDataFrame):
            msg = f"expected a GeoDataFrame, got {type(gdf).__name__}"
            raise LayerError(Problem(file=name, message=msg))
        if "id" not in gdf.columns:
            raise LayerError(Problem(file=name, message="column is missing", column="id"))
    if a.crs is None or b.crs is None or a.crs != b.crs:
        msg = f"a_stations and b_stations must share one CRS, got {a.crs} and {b.crs}"
        raise MapError(msg)
    ida, idb = a["id"].astype(str), b["id"].astype(str)
    where_a = dict(zip(ida, a.geometry, strict=True))
    rows: list[dict[str, Any]] = []
    for frame, ids, in_other, side in ((b, idb, set(ida), "b"), (a, ida, set(idb), "a")):
        for k, ident in enumerate(ids):
            row = frame.iloc[k]
            if side == "b":
                if ident not in in_other:
                    status = "added"
                else:
                    old = where_a[ident]
                    moved = old is not None and row.geometry is not None
                    moved = moved and float(old.distance(row.geometry)) > _MOVED_M
                    status = "moved" if moved else "same_place"
            elif ident not in in_other:
                status = "removed"
            else:
                new = b.geometry[idb == ident].iloc[0]
                if new is None or row.geometry is None:
                    continue
                if float(row.geometry.distance(new)) <= _MOVED_M:
                    continue
                status = "moved_from"
            rows.append(
                {
                    "id": ident,
                    "name": row.get("name"),
                    "kind": row.get("kind"),
                    "status": status,
                    "geometry": row.geometry,
                }
            )
    if not rows:
        return gpd.GeoDataFrame(
            {"id": [], "name": [], "kind": [], "status": []}, geometry=[], crs=b.crs
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=b.crs)


def _iso_areas(iso: Isochrones | gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    areas = iso.areas if isinstance(iso, Isochrones) else iso
    if not isinstance(areas, gpd.GeoDataFrame):
        msg = f"expected Isochrones or a GeoDataFrame, got {type(iso).__name__}"
        raise LayerError(Problem(file=name, message=msg))
    if "threshold_min" not in areas.columns:
        raise LayerError(Problem(file=name, message="column is missing", column="threshold_min"))
    return areas


# ---------------------------------------------------------------------- the map


def compare_map(
    comparison: Comparison,
    *,
    villages: gpd.GeoDataFrame,
    a_stations: gpd.GeoDataFrame,
    b_stations: gpd.GeoDataFrame,
    a_iso: Isochrones | gpd.GeoDataFrame,
    b_iso: Isochrones | gpd.GeoDataFrame,
    threshold_min: float,
    roads: gpd.GeoDataFrame | None = None,
    title: str,
    base: Basemap | None = None,
    lang: Lang = "zh",
    attribution: str | None = OSM_ATTRIBUTION,
) -> folium.Map:
    """Build the map comparing scenario B with A, ready for :func:`maps.offline.save_offline`.

    Parameters
    ----------
    comparison
        The comparison of B with A (:func:`geo.scenarios.compare`).
    villages
        The villages layer (``code``, ``name``, geometry), any CRS: where to draw each
        village of the comparison.
    a_stations, b_stations
        The facilities of A and B after their edits (stations and posts with ``id``,
        ``name``, ``kind``; or team bases, without ``kind``), in one CRS.
    a_iso, b_iso
        The isochrones of A's and B's facilities (:func:`geo.coverage.isochrones`, or
        its ``areas``: ``threshold_min`` and a polygon per threshold).
    threshold_min
        The threshold the villages are coloured at; one of the comparison's.
    roads
        Road edges (``highway``, ``name``, ``lit``) drawn in grey under the rest.
    title
        Page title.
    base
        Tiles and the vector base layer under the overlays; ``None`` for none.
    lang
        ``"zh"`` for a Chinese page, ``"en"`` for an English one.
    attribution
        Credit for the road data; ``None`` for roads not from OpenStreetMap.

    Returns
    -------
    folium.Map
        The map with its legend, isochrone key, summary table and layer control.

    Raises
    ------
    MapError
        If ``comparison`` is not a comparison, the threshold is not one of its, the
        title is empty, the station layers differ in CRS or ``lang`` is unsupported.
    LayerError
        If a layer lacks a column, or a village of the comparison is not in
        ``villages``.
    CoordinateError
        If a layer has no CRS.
    """
    lang = check_lang(lang)
    if not isinstance(comparison, Comparison):
        msg = f"comparison must be a Comparison, got {type(comparison).__name__}"
        raise MapError(msg)
    if not isinstance(title, str) or not title.strip():
        msg = f"title must be non-empty text, got {title!r}"
        raise MapError(msg)
    village_changes(comparison, threshold_min)  # check the threshold before drawing
    areas_a, areas_b = _iso_areas(a_iso, "a_iso"), _iso_areas(b_iso, "b_iso")
    fit = {"villages": villages, "a_stations": a_stations, "b_stations": b_stations}
    m = new_map(combined_bounds(fit), title=title, base=base, lang=lang)
    if roads is not None:
        add_context_roads(m, roads, lang=lang, attribution=attribution)
    add_isochrones(m, areas_a, side="a", threshold_min=threshold_min, lang=lang)
    add_isochrones(m, areas_b, side="b", threshold_min=threshold_min, lang=lang)
    add_village_changes(m, comparison, villages, threshold_min=threshold_min, lang=lang)
    add_station_changes(m, a_stations, b_stations, lang=lang)
    add_summary_table(m, comparison, threshold_min=threshold_min, lang=lang)
    thresholds = sorted(
        {float(t) for t in areas_a["threshold_min"]} | {float(t) for t in areas_b["threshold_min"]}
    )
    _IsoKey(_iso_key_html(thresholds, lang)).add_to(m)
    return finish_map(m, lang=lang)


def _dash(thresholds: Sequence[float], t: float) -> str:
    k = sorted(thresholds).index(t)
    return ISO_DASHES[min(k, len(ISO_DASHES) - 1)]


def add_isochrones(
    m: folium.Map,
    iso: Isochrones | gpd.GeoDataFrame,
    *,
    side: Side,
    threshold_min: float | None = None,
    lang: Lang = "zh",
) -> folium.Map:
    """Add one scenario's isochrones as outlines: its colour, each threshold its dash.

    The dash follows the threshold's place among this scenario's thresholds (the
    shortest solid), so A's and B's outlines of one threshold look alike but for colour.
    B's outlines are wider and lie under A's, so where both scenarios reach the same
    ground the blue line runs inside the orange one; outlines of thresholds other than
    ``threshold_min`` are drawn faint.

    Parameters
    ----------
    m
        Map to add to.
    iso
        The isochrones, or their areas (``threshold_min`` and a polygon), any CRS.
    side
        ``"a"`` or ``"b"``: which scenario's.
    threshold_min
        The threshold shown strongest (the villages' colouring); ``None``: all alike.
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``side`` is neither ``"a"`` nor ``"b"`` or ``lang`` is not supported.
    LayerError
        If ``iso`` lacks ``threshold_min``.
    """
    lang = check_lang(lang)
    if side not in ISO_COLOURS:
        msg = f"side must be 'a' or 'b', got {side!r}"
        raise MapError(msg)
    areas = to_wgs84(
        _iso_areas(iso, f"{side}_iso"), f"{side}_iso", ("threshold_min",), simplify_m=ISO_SIMPLIFY_M
    )
    colour = ISO_COLOURS[side]
    name = _t("iso_layer", lang, side=_side(side))
    group = folium.FeatureGroup(name=name)
    if len(areas):
        # Longest first, so the short, small ones are drawn on top and stay clickable.
        areas = areas.sort_values("threshold_min", ascending=False, kind="stable")
        t = areas["threshold_min"].astype(float)
        ths = sorted(set(t))
        label = t.map(lambda x: _t("min", lang, x=x))
        props = {
            "name": label.map(lambda s: escape(_t("iso_row", lang, side=_side(side), name=s))),
            "dash": t.map(lambda x: _dash(ths, x)),
            "opacity": t.map(
                lambda x: 0.95 if threshold_min is None or x == float(threshold_min) else 0.45
            ),
        }
        folium.GeoJson(
            feature_collection(areas, props),
            control=False,
            style_function=lambda f: {
                "color": colour,
                "weight": _ISO_WEIGHTS[side],
                "opacity": f["properties"]["opacity"],
                "dashArray": f["properties"]["dash"] or None,
                "fill": False,
            },
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False, sticky=True),
            pane=ISO_PANES[side],
        ).add_to(group)
        folium.map.CustomPane(ISO_PANES[side], z_index=_PANE_Z[side], pointer_events=True).add_to(m)
        note_legend(m, [LegendEntry(name, colour, "line", weight=3.0)])
    group.add_to(m)
    return m


def add_village_changes(
    m: folium.Map,
    comparison: Comparison,
    villages: gpd.GeoDataFrame,
    *,
    threshold_min: float,
    lang: Lang = "zh",
) -> folium.Map:
    """Add every village coloured by what B does to its coverage within the threshold.

    Points are dots, polygons filled; the popup gives minutes and the nearest facility
    in A and in B.

    Parameters
    ----------
    m
        Map to add to.
    comparison
        The comparison.
    villages
        The villages layer (``code``, ``name``), any CRS.
    threshold_min
        One of the comparison's thresholds.
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If the threshold is not one of the comparison's.
    LayerError
        If ``villages`` lacks ``code`` or a village of the comparison.
    """
    lang = check_lang(lang)
    change = village_changes(comparison, threshold_min)
    gdf = to_wgs84(villages, "villages", ("code",))
    v = comparison.villages
    codes = gdf["code"].astype(str)
    absent = sorted(set(v["code"].astype(str)) - set(codes))
    if absent:
        shown = ", ".join(absent[:5]) + (" ..." if len(absent) > 5 else "")
        msg = f"{len(absent)} village(s) of the comparison are not in the layer: {shown}"
        raise LayerError(Problem(file="villages", column="code", message=msg))
    pos = pd.Series(np.arange(len(v)), index=v["code"].astype(str))
    gdf = gdf[codes.isin(pos.index).to_numpy()]
    at = pos[gdf["code"].astype(str)].to_numpy()
    rows = v.iloc[at]
    ch = change.iloc[at].reset_index(drop=True)
    t_text = _t("min", lang, x=float(threshold_min))
    group = folium.FeatureGroup(name=_t("villages_layer", lang, t=t_text))

    def minutes(col: str) -> pd.Series:
        x = pd.to_numeric(rows[col], errors="coerce").reset_index(drop=True)
        return x.map(
            lambda y: _t("unreached", lang) if pd.isna(y) else _t("minutes", lang, x=y)
        ).astype(object)

    def facility(col: str) -> pd.Series:
        return text(rows[col].reset_index(drop=True))

    if len(gdf):
        props = {
            "name": text(rows["name"].reset_index(drop=True)),
            "code": text(rows["code"].reset_index(drop=True)),
            "change": ch.map(lambda c: escape(_t(c, lang))).astype(object),
            "minutes_a": minutes("minutes_a"),
            "minutes_b": minutes("minutes_b"),
            "facility_a": facility("facility_a"),
            "facility_b": facility("facility_b"),
            "colour": ch.map(CHANGE_COLOURS),
        }
        gdf = gdf.reset_index(drop=True)
        popup_keys = [k for k in props if k != "colour"]

        def style(f: dict[str, Any]) -> dict[str, Any]:
            colour = f["properties"]["colour"]
            if f["geometry"]["type"] in ("Point", "MultiPoint"):
                return {
                    "radius": 6,
                    "color": "#ffffff",
                    "weight": 1.2,
                    "fillColor": colour,
                    "fill": True,
                    "fillOpacity": 0.95,
                }
            return {"color": colour, "weight": 1.5, "fillColor": colour, "fillOpacity": 0.45}

        folium.GeoJson(
            feature_collection(gdf, props),
            control=False,
            marker=folium.CircleMarker(radius=6),
            style_function=style,
            popup=folium.GeoJsonPopup(
                fields=popup_keys, aliases=[escape(_t(k, lang)) for k in popup_keys]
            ),
            tooltip=folium.GeoJsonTooltip(fields=["name", "change"], labels=False),
        ).add_to(group)
    group.add_to(m)
    drawn = set(ch)
    return note_legend(
        m,
        [
            LegendEntry(_t(c, lang), colour, "circle")
            for c, colour in CHANGE_COLOURS.items()
            if c in drawn
        ],
    )


#: Status -> colour of a station's marker (its kind's colour when in both).
_STATUS_COLOURS: Final[dict[str, str | None]] = {
    "same_place": None,
    "added": PROPOSED_COLOUR,
    "moved": PROPOSED_COLOUR,
    "removed": REMOVED_COLOUR,
    "moved_from": REMOVED_COLOUR,
}


def add_station_changes(
    m: folium.Map, a_stations: gpd.GeoDataFrame, b_stations: gpd.GeoDataFrame, *, lang: Lang = "zh"
) -> folium.Map:
    """Add the stations of A and B: unchanged in their kind's colour, B's changes marked.

    A station B adds (or a moved station's new place) is magenta and larger, one B
    removes (or a moved one's old place) grey; squares are stations, triangles posts,
    stars team bases (a layer without ``kind``).

    Parameters
    ----------
    m
        Map to add to.
    a_stations, b_stations
        A's and B's facilities (``id``, ``name``; ``kind`` for stations), one CRS.
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    LayerError
        If a layer lacks ``id`` or has a ``kind`` other than station / post.
    MapError
        If the layers' CRSs differ.
    """
    lang = check_lang(lang)
    teams = "kind" not in a_stations.columns and "kind" not in b_stations.columns
    st = station_changes(a_stations, b_stations)
    gdf = to_wgs84(st, "stations", ("id", "status")).reset_index(drop=True)
    kind = (
        pd.Series("team", index=gdf.index, dtype=object)
        if teams
        else gdf["kind"].astype("string").fillna("station").astype(object)
    )
    bad = sorted(set(kind) - {"team", *STATION_SYMBOLS})
    if bad:
        msg = f"kind must be one of {sorted(STATION_SYMBOLS)}, got {bad}"
        raise LayerError(Problem(file="stations", column="kind", message=msg))
    group = folium.FeatureGroup(name=_t("teams_layer" if teams else "stations_layer", lang))
    rows: list[LegendEntry] = []
    status = gdf["status"].astype(str)
    names = gdf["name"].astype("string")
    props = {
        "name": text(names.where(names.notna() & (names != ""), gdf["id"].astype(str))),
        "id": text(gdf["id"]),
        "kind": kind.map(lambda k: escape(_t(k, lang))).astype(object),
        "status": status.map(lambda s: escape(_t(s, lang))).astype(object),
    }
    for s, colour in _STATUS_COLOURS.items():
        for k in ("station", "post", "team"):
            mask = ((status == s) & (kind == k)).to_numpy()
            if not mask.any():
                continue
            symbol: Symbol = TEAM_SYMBOL if k == "team" else STATION_SYMBOLS[k]
            c = colour or (TEAM_COLOUR if k == "team" else STATION_COLOURS[k])
            size = MARKER_PX + (6 if s in ("added", "moved") else 0)
            shown = {(key if key == "name" else _t(key, lang)): v[mask] for key, v in props.items()}
            point_symbols(
                feature_collection(gdf[mask], shown), symbol, c, list(shown), lang, size=size
            ).add_to(group)
            label = (
                _t(k, lang)
                if s == "same_place"
                else _t("row", lang, what=_t(s, lang), kind=_t(k, lang))
            )
            rows.append(LegendEntry(label, c, symbol))
    group.add_to(m)
    return note_legend(m, rows)


class _TableControl(MacroElement):
    """A Leaflet control holding escaped HTML (the summary table, the isochrone key)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .pingan-compare-table, .pingan-iso-key {
                background: rgba(255, 255, 255, 0.94); padding: 6px 8px; color: #222;
                font: 12px/1.4 system-ui, "Noto Sans CJK SC", "WenQuanYi Zen Hei",
                    "Microsoft YaHei", sans-serif;
                border-radius: 4px; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3);
            }
            .pingan-compare-table h4, .pingan-iso-key h4 { margin: 0 0 4px; font-size: 13px; }
            .pingan-compare-table table { border-collapse: collapse; }
            .pingan-compare-table th, .pingan-compare-table td {
                padding: 1px 6px; text-align: right; border-bottom: 1px solid #ddd;
            }
            .pingan-compare-table th { font-weight: 600; }
            .pingan-compare-table tr.shown td { background: #fff3c4; font-weight: 600; }
            .pingan-compare-table .note { margin-top: 3px; color: #555; }
            .pingan-iso-key td { padding: 0 4px; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
            {{ this.get_name() }}.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, css_class: str, position: str) -> None:
        super().__init__()
        self._name = "TableControl"
        self.html = html
        self.css_class = css_class
        self.position = position


def _IsoKey(html: str) -> _TableControl:  # noqa: N802 - reads as the control it makes
    return _TableControl(html, css_class="pingan-legend pingan-iso-key", position="bottomright")


def _iso_key_html(thresholds: Sequence[float], lang: Lang) -> str:
    """Return the key of the isochrone outlines: one row per threshold, A and B dashed."""
    if not thresholds:
        return ""

    def swatch(side: Side, dash: str) -> str:
        d = f' stroke-dasharray="{escape(dash, quote=True)}"' if dash else ""
        return (
            '<svg width="36" height="10" aria-hidden="true"><line x1="1" y1="5" x2="35" y2="5" '
            f'stroke="{ISO_COLOURS[side]}" stroke-width="{_ISO_WEIGHTS[side]:g}"{d}/></svg>'
        )

    head = (
        f"<tr><td></td><td>{escape(_t('side', lang, side='A'))}</td>"
        f"<td>{escape(_t('side', lang, side='B'))}</td></tr>"
    )
    body = "".join(
        f"<tr><td>{escape(_t('min', lang, x=t))}</td>"
        f"<td>{swatch('a', _dash(thresholds, t))}</td>"
        f"<td>{swatch('b', _dash(thresholds, t))}</td></tr>"
        for t in thresholds
    )
    return f"<h4>{escape(_t('iso_key', lang))}</h4><table>{head}{body}</table>"


def _share(x: object) -> str:
    v = float(x) if x is not None else math.nan  # type: ignore[arg-type]
    return MISSING if not math.isfinite(v) else f"{100 * v:.1f}%"


def _weight(x: object) -> str:
    v = float(x) if x is not None else math.nan  # type: ignore[arg-type]
    return MISSING if not math.isfinite(v) else f"{v:,.0f}"


def summary_rows(comparison: Comparison, lang: Lang = "zh") -> list[list[str]]:
    """Return the summary table's cells as shown: one row per threshold (unescaped)."""
    s = comparison.summary
    return [
        [
            _t("min", lang, x=float(r["threshold_min"])),
            f"{int(r['covered_a'])}",
            f"{int(r['covered_b'])}",
            f"{int(r['gained'])}",
            f"{int(r['lost'])}",
            _weight(r["weight_gained"]),
            _weight(r["weight_lost"]),
            _share(r["weight_share_a"]),
            _share(r["weight_share_b"]),
        ]
        for _, r in s.iterrows()
    ]


_SUMMARY_HEADS: Final = (
    "threshold",
    "covered_a",
    "covered_b",
    "gained_n",
    "lost_n",
    "weight_gained",
    "weight_lost",
    "share_a",
    "share_b",
)


def add_summary_table(
    m: folium.Map,
    comparison: Comparison,
    *,
    threshold_min: float | None = None,
    lang: Lang = "zh",
    position: str = "topleft",
) -> folium.Map:
    """Add the comparison's summary as a table on the map: a row per threshold.

    Columns: villages covered in A and in B, gained, lost, weight gained and lost, and
    the share of weight covered in A and B; the row of ``threshold_min`` (the one the
    villages are coloured at) is highlighted. Every cell is escaped.

    Parameters
    ----------
    m
        Map to add to.
    comparison
        The comparison.
    threshold_min
        The threshold whose row to highlight; ``None`` for none.
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
        If ``position`` is not a Leaflet corner or ``lang`` is not supported.
    """
    from maps.legend import LEGEND_POSITIONS

    lang = check_lang(lang)
    if position not in LEGEND_POSITIONS:
        msg = f"position {position!r} is not a Leaflet control corner: {sorted(LEGEND_POSITIONS)}"
        raise MapError(msg)
    heads = "".join(f"<th>{escape(_t(h, lang))}</th>" for h in _SUMMARY_HEADS)
    ths = [float(t) for t in comparison.summary["threshold_min"]]
    body = []
    for t, cells in zip(ths, summary_rows(comparison, lang), strict=True):
        cls = ' class="shown"' if threshold_min is not None and t == float(threshold_min) else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    title = _t("summary", lang, a=comparison.a, b=comparison.b)
    note = ""
    if threshold_min is not None:
        shown = _t("shown", lang, t=_t("min", lang, x=float(threshold_min)))
        note = f'<div class="note">{escape(shown)}</div>'

    html = f"<h4>{escape(title)}</h4><table><tr>{heads}</tr>{''.join(body)}</table>{note}"
    _TableControl(html, css_class="pingan-compare-table", position=position).add_to(m)
    return m
