"""The vanguard-teams overview map: bases, the villages they are sent to, and why.

Layers, bottom to top: roads (grey), every scored village coloured by its need score
(graduated, 0-100 in five bins), the road route from each team's base to its village,
the assigned villages (the need colour, with their need rank written in), the stations
and the team bases as stars, each with one popup: the team, its leader and members, its
village, the trip, the village's need score and the sentence that explains it.

Team bases often sit at a police station (the sample's all do). A star drawn on a
station would hide it, so stars live in a pane under the stations' markers, and a star
within :data:`STATION_SNAP_M` of a station is drawn beside it (a fixed offset in pixels,
several stars fanned around it), so both stay visible at every zoom.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any, Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from geo.errors import LayerError, MapError, Problem
from geo.teams.plan import TeamAssignment
from geo.teams.score import NeedScores
from maps.basemap import Basemap
from maps.features import combined_bounds, feature_collection, to_wgs84
from maps.legend import MARKER_PX, finish_map, note_legend
from maps.offline import new_map
from maps.overview import OSM_ATTRIBUTION, add_stations
from maps.patrol import add_road_context, fan_offsets
from maps.style import TEAM_COLOUR, TEAM_SYMBOL, Lang, LegendEntry, check_lang, symbol_svg

__all__ = [
    "SCORE_BINS",
    "SCORE_COLOURS",
    "STAR_PANE",
    "STATION_SNAP_M",
    "add_assigned_villages",
    "add_need_scores",
    "add_team_bases",
    "add_team_routes",
    "score_bin",
    "teams_map",
]

#: Need-score bins (0-100); the last bin includes 100.
SCORE_BINS: Final = (0.0, 20.0, 40.0, 60.0, 80.0, 100.0)
#: One colour per bin: ColorBrewer YlOrRd, sequential and colour-blind safe.
SCORE_COLOURS: Final = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
#: A base this close to a station (metres) shares its place on the map: drawn beside it.
STATION_SNAP_M: Final = 150.0
#: Pane of the team stars: under Leaflet's marker pane (z 600) and the stations above it.
STAR_PANE: Final = "pingan-stars"
#: Routes in slate: a red line would read as one of the need colours.
_ROUTE_COLOUR: Final = "#455a64"
_RING_PX: Final = 22
_STAR_PX: Final = MARKER_PX + 2

_LABELS: Final[dict[str, tuple[str, str]]] = {
    "need": ("村庄需求评分", "Village need scores"),
    "routes": ("先锋队派驻路线", "Team routes to their villages"),
    "assigned": ("派驻村（数字为需求排名）", "Assigned villages (need rank)"),
    "teams": ("先锋队驻地", "Vanguard team bases"),
    "bin": ("需求分 {lo:.0f}–{hi:.0f}", "Need score {lo:.0f}–{hi:.0f}"),
    "name": ("名称", "Name"),
    "code": ("区划代码", "Code"),
    "township": ("乡镇/街道", "Township"),
    "score": ("需求分", "Need score"),
    "rank": ("需求排名", "Need rank"),
    "why": ("评分说明", "Why"),
    "team": ("派驻先锋队", "Team sent"),
    "leader": ("队长", "Leader"),
    "members": ("队员", "Members"),
    "members_n": ("{n} 人", "{n}"),
    "home_unit": ("所属单位", "Home unit"),
    "skills": ("技能", "Skills"),
    "village": ("派驻村", "Village"),
    "trip": ("车程", "Trip"),
    "trip_v": ("{m:.0f} 分钟 · {km:.1f} 公里", "{m:.0f} min · {km:.1f} km"),
    "trip_min": ("{m:.0f} 分钟", "{m:.0f} min"),
    "score_v": ("{s:.0f}（排名第{r}）", "{s:.0f} (rank {r})"),
    "no_village": ("未派驻（队多于村）", "not sent (more teams than villages)"),
    "to": ("{team} → {village}", "{team} → {village}"),
    "sep": ("：", ": "),
}
# Skills as the teams layer spells them -> (Chinese, English); others are shown as given.
_SKILLS: Final[dict[str, tuple[str, str]]] = {
    "patrol": ("巡逻", "patrol"),
    "first_aid": ("急救", "first aid"),
    "mediation": ("调解", "mediation"),
    "fire": ("消防", "fire"),
    "traffic": ("交通疏导", "traffic"),
    "search": ("搜救", "search"),
    "flood": ("防汛", "flood"),
}


def _t(key: str, lang: Lang, **fields: Any) -> str:
    zh, en = _LABELS[key]
    return (zh if lang == "zh" else en).format(**fields)


def score_bin(score: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Return each score's bin in :data:`SCORE_BINS` (0 = lowest), 100 in the top bin.

    Scores outside 0-100 are clipped; a missing score gets -1.
    """
    s = np.asarray(score, dtype=float)
    k = np.clip(np.searchsorted(SCORE_BINS, np.clip(s, 0, 100), side="right") - 1, 0, 4)
    return np.where(np.isnan(s), -1, k)


def _bin_legend(bins: np.ndarray, lang: Lang) -> list[LegendEntry]:
    present = set(bins.tolist())
    return [
        LegendEntry(
            _t("bin", lang, lo=SCORE_BINS[k], hi=SCORE_BINS[k + 1]), SCORE_COLOURS[k], "circle"
        )
        for k in range(len(SCORE_COLOURS) - 1, -1, -1)
        if k in present
    ]


def _points(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``gdf`` with a point per row: polygons by a point inside them."""
    if len(gdf) and not gdf.geom_type.isin(["Point"]).all():
        return gdf.set_geometry(gdf.geometry.representative_point())
    return gdf


def _scored_villages(
    scores: NeedScores, villages: gpd.GeoDataFrame, lang: Lang
) -> gpd.GeoDataFrame:
    """Return the villages (WGS84 points) with their score, rank and sentence."""
    v = _points(to_wgs84(villages, "villages", ("code", "name")))
    t = scores.table
    missing = [c for c in ("code", "score", "rank", "why", "why_zh") if c not in t.columns]
    if missing:
        raise LayerError(
            [Problem(file="need scores", message="column is missing", column=c) for c in missing]
        )
    why = "why_zh" if lang == "zh" else "why"
    cols = ["score", "rank", why] + [c for c in ("township",) if c in t.columns]
    table = t.set_index(t["code"].astype(str))[cols].rename(columns={why: "why"})
    table = table[~table.index.duplicated()]
    v = v.assign(code=v["code"].astype(str))
    v = v[v["code"].isin(table.index).to_numpy()]
    joined = table.loc[v["code"]].reset_index(drop=True)
    if "township" in v.columns:
        joined = joined.drop(columns="township", errors="ignore")
    out = v.reset_index(drop=True).drop(columns=[c for c in joined.columns if c in v.columns])
    return gpd.GeoDataFrame(pd.concat([out, joined], axis=1), geometry="geometry", crs=4326)


class _Markers(MacroElement):
    """DivIcon markers whose HTML, pixel offset, popup and tooltip come per feature."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .{{ this.css }} { background: none; border: none; }
            .pingan-rank span {
                display: block; box-sizing: border-box; width: {{ this.px }}px;
                height: {{ this.px }}px; border-radius: 50%; border: 2px solid #333;
                text-align: center; font: bold 11px/18px system-ui, sans-serif;
            }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            L.geoJson({{ this.data|tojson }}, {
                pointToLayer: function (f, latlng) {
                    var p = f.properties, h = {{ this.px // 2 }};
                    var opts = {
                        icon: L.divIcon({
                            className: {{ this.css|tojson }},
                            iconSize: [{{ this.px }}, {{ this.px }}],
                            iconAnchor: [h - p.dx, h - p.dy], html: p.html
                        })
                    };
                    {%- if this.pane %}
                    opts.pane = {{ this.pane|tojson }};
                    {%- endif %}
                    return L.marker(latlng, opts)
                        .bindPopup(p.popup, {maxWidth: 340}).bindTooltip(p.tip);
                }
            }).addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, data: dict[str, Any], *, px: int, css: str, pane: str | None) -> None:
        super().__init__()
        self._name = "Markers"
        self.data = data
        self.px = px
        self.css = css
        self.pane = pane


def _popup(title: str, rows: Sequence[tuple[str, str]], lang: Lang, note: str = "") -> str:
    sep = _t("sep", lang)
    body = [f"<b>{escape(title)}</b>"]
    body += [f"{escape(_t(k, lang))}{sep}{escape(v)}" for k, v in rows if v]
    if note:
        body.append(f'<span style="color:#555">{escape(note)}</span>')
    return "<br>".join(body)


def add_need_scores(
    m: folium.Map, scores: NeedScores, villages: gpd.GeoDataFrame, *, lang: Lang = "zh"
) -> folium.Map:
    """Add every scored village as a dot coloured by its need score, one legend row per bin.

    Parameters
    ----------
    m
        Map to add to.
    scores
        The need scores (``table`` with ``code``, ``score``, ``rank``, ``why``, ``why_zh``).
    villages
        The villages layer (``code``, ``name``), any CRS; its villages without a score
        are not drawn.
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
    v = _scored_villages(scores, villages, lang)
    group = folium.FeatureGroup(name=_t("need", lang))
    if len(v):
        bins = score_bin(v["score"])
        fields = ("name", "township", "score", "rank", "why")
        has_township = "township" in v.columns
        props: dict[str, pd.Series] = {
            "name": pd.Series([escape(str(n)) for n in v["name"]], dtype=object),
            "township": pd.Series(
                [escape(str(x)) for x in v["township"]] if has_township else ["—"] * len(v),
                dtype=object,
            ),
            "score": pd.Series([f"{s:.0f}" for s in v["score"]], dtype=object),
            "rank": pd.Series([str(int(r)) for r in v["rank"]], dtype=object),
            "why": pd.Series([escape(str(w)) for w in v["why"]], dtype=object),
            "c": pd.Series([SCORE_COLOURS[max(k, 0)] for k in bins.tolist()], dtype=object),
        }
        folium.GeoJson(
            feature_collection(v, props),
            control=False,
            marker=folium.CircleMarker(radius=6),
            style_function=lambda f: {
                "radius": 6,
                "color": "#555",
                "weight": 1,
                "fillColor": f["properties"]["c"],
                "fill": True,
                "fillOpacity": 0.95,
            },
            popup=folium.GeoJsonPopup(
                fields=list(fields), aliases=[escape(_t(f, lang)) for f in fields], max_width=340
            ),
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "score"],
                aliases=[escape(_t(k, lang)) for k in ("name", "score")],
                labels=False,
            ),
        ).add_to(group)
        note_legend(m, _bin_legend(bins, lang))
    group.add_to(m)
    return m


def _team_table(
    assignment: TeamAssignment, teams: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, dict[str, dict[Any, Any]]]:
    """Return the bases (WGS84) and the assignment's row of each team id."""
    t = to_wgs84(teams, "teams", ("id", "name"))
    a = assignment.table
    for c in ("team", "village_code", "village", "minutes", "km", "score"):
        if c not in a.columns:
            raise LayerError(Problem(file="team assignment", message="column is missing", column=c))
    records = pd.DataFrame(a.drop(columns="geometry", errors="ignore")).to_dict("records")
    return t, {str(r["team"]): r for r in records}


def add_team_routes(
    m: folium.Map,
    assignment: TeamAssignment,
    teams: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    *,
    lang: Lang = "zh",
) -> folium.Map:
    """Add a line from each team's base to its village: the road route, else straight.

    The assignment carries each trip's fastest road route (``table.geometry``), drawn
    from the base to the village (joined to the road points they were snapped to); a
    trip the engine found no road for is drawn as a straight line, dashed.

    Parameters
    ----------
    m
        Map to add to.
    assignment
        The team assignment.
    teams
        The teams layer (``id``, ``name``), any CRS: the bases.
    villages
        The villages layer (``code``, ``name``), any CRS.
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
        If a layer has no CRS.
    """
    lang = check_lang(lang)
    bases, rows = _team_table(assignment, teams)
    base_at = dict(zip(bases["id"].astype(str), bases.geometry, strict=True))
    v = _points(to_wgs84(villages, "villages", ("code", "name")))
    village_at = dict(zip(v["code"].astype(str), v.geometry, strict=True))
    a = assignment.table
    road = (
        to_wgs84(a, "team assignment", ())
        if a.crs is not None
        else gpd.GeoDataFrame(a, geometry=[None] * len(a), crs=4326)
    )
    routed = dict(zip(a["team"].astype(str), road.geometry.reindex(a.index), strict=True))
    geoms, straight, tips = [], [], []
    for team, r in rows.items():
        code = str(r["village_code"])
        line = routed.get(team)
        start, end = base_at.get(team), village_at.get(code)
        ends = [p for p in (start, end) if p is not None]
        if line is None or shapely.is_empty(line):
            if len(ends) < 2:
                continue
            line = shapely.LineString(ends)
            straight.append(True)
        else:
            # From the base itself to the village itself, not only between the road
            # points the engine snapped them to: the line meets both markers.
            xy = shapely.get_coordinates(line)
            head = shapely.get_coordinates(start) if start is not None else xy[:0]
            tail = shapely.get_coordinates(end) if end is not None else xy[:0]
            line = shapely.LineString(np.vstack([head, xy, tail]))
            straight.append(False)
        geoms.append(line)
        tips.append(
            _t("to", lang, team=str(r.get("team_name", team)), village=str(r["village"]))
            + " · "
            + _t("trip_min", lang, m=float(r["minutes"]))
        )
    group = folium.FeatureGroup(name=_t("routes", lang))
    if geoms:
        gdf = gpd.GeoDataFrame(geometry=geoms, crs=4326)
        props: dict[str, pd.Series] = {
            "s": pd.Series(straight, dtype=bool),
            "tip": pd.Series([escape(x) for x in tips], dtype=object),
        }
        folium.GeoJson(
            feature_collection(gdf, props),
            control=False,
            style_function=lambda f: {
                "color": _ROUTE_COLOUR,
                "weight": 3,
                "opacity": 0.8,
                "dashArray": "4 6" if f["properties"]["s"] else None,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["tip"], aliases=[escape(_t("routes", lang))], labels=False, sticky=True
            ),
        ).add_to(group)
        note_legend(m, [LegendEntry(_t("routes", lang), _ROUTE_COLOUR, "line", weight=3.0)])
    group.add_to(m)
    return m


def add_assigned_villages(
    m: folium.Map,
    assignment: TeamAssignment,
    scores: NeedScores,
    villages: gpd.GeoDataFrame,
    *,
    lang: Lang = "zh",
) -> folium.Map:
    """Add the villages teams are sent to: a circle in the need colour with the rank in it.

    Parameters
    ----------
    m
        Map to add to.
    assignment
        The team assignment (``village_code``, ``team_name``, ``minutes``).
    scores
        The need scores.
    villages
        The villages layer, any CRS.
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
    v = _scored_villages(scores, villages, lang)
    a = assignment.table
    records = pd.DataFrame(a.drop(columns="geometry", errors="ignore")).to_dict("records")
    by_code = {str(r["village_code"]): r for r in records}
    v = v[v["code"].isin(list(by_code)).to_numpy()].reset_index(drop=True)
    group = folium.FeatureGroup(name=_t("assigned", lang))
    if len(v):
        bins = score_bin(v["score"])
        px = _STAR_PX + 2
        html, popups, tips = [], [], []
        for k, r in zip(bins.tolist(), v.to_dict("records"), strict=True):
            colour = SCORE_COLOURS[max(k, 0)]
            ink = "#fff" if k >= 3 else "#222"
            html.append(f'<span style="background:{colour};color:{ink}">{int(r["rank"])}</span>')
            t = by_code[str(r["code"])]
            rows = [
                ("code", str(r["code"])),
                ("township", str(r.get("township", "") or "")),
                ("score", _t("score_v", lang, s=float(r["score"]), r=int(r["rank"]))),
                ("team", str(t.get("team_name", t["team"]))),
                ("trip", _t("trip_v", lang, m=float(t["minutes"]), km=float(t["km"]))),
            ]
            popups.append(_popup(str(r["name"]), rows, lang, note=str(r["why"])))
            tips.append(f"{r['name']} · {_t('score', lang)} {float(r['score']):.0f}")
        props: dict[str, pd.Series] = {
            "html": pd.Series(html, dtype=object),
            "dx": pd.Series(np.zeros(len(v))),
            "dy": pd.Series(np.zeros(len(v))),
            "popup": pd.Series(popups, dtype=object),
            "tip": pd.Series([escape(x) for x in tips], dtype=object),
        }
        _Markers(feature_collection(v, props), px=px, css="pingan-rank", pane=None).add_to(group)
        note_legend(m, [LegendEntry(_t("assigned", lang), "#333", "circle")])
    group.add_to(m)
    return m


def _skills(text: object, lang: Lang) -> str:
    parts = [p.strip() for p in str(text or "").replace(",", ";").split(";") if p.strip()]
    shown = [_SKILLS[p][lang == "en"] if p in _SKILLS else p for p in parts]
    return ("、" if lang == "zh" else ", ").join(shown)


def _star_offsets(
    bases: gpd.GeoDataFrame, stations: gpd.GeoDataFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return each base's pixel offset and the station it sits at ("" for none)."""
    metric = bases.to_crs(bases.estimate_utm_crs()) if len(bases) else bases
    at = np.full(len(bases), "", dtype=object)
    if stations is not None and len(stations) and len(bases):
        st = stations.to_crs(metric.crs)
        st = _points(st)
        tree = shapely.STRtree(st.geometry.to_numpy())
        idx, dist = tree.query_nearest(metric.geometry.to_numpy(), return_distance=True)
        near = dist <= STATION_SNAP_M
        at[idx[0][near]] = st["id"].astype(str).to_numpy()[idx[1][near]]
    # Bases at no station share a place when within about 20 m of each other.
    xy = shapely.get_coordinates(metric.geometry.to_numpy()) if len(bases) else np.zeros((0, 2))
    keys = [
        f"station:{s}" if s else f"{x // 20:.0f},{y // 20:.0f}"
        for s, (x, y) in zip(at, xy, strict=True)
    ]
    offsets = fan_offsets(keys, at != "", radius_px=_RING_PX, ring_px=_RING_PX - 4)
    return offsets, at


def add_team_bases(
    m: folium.Map,
    assignment: TeamAssignment,
    scores: NeedScores,
    teams: gpd.GeoDataFrame,
    *,
    stations: gpd.GeoDataFrame | None = None,
    lang: Lang = "zh",
) -> folium.Map:
    """Add the team bases as stars, each with the team's one popup.

    The popup gives the team's name and id, leader, members, home unit, skills, the
    village it is sent to, the trip in minutes and km, the village's need score and rank
    and the sentence that explains the score. Stars sit under the stations; a base
    within :data:`STATION_SNAP_M` of a station is drawn beside it (several fanned round).

    Parameters
    ----------
    m
        Map to add to.
    assignment
        The team assignment.
    scores
        The need scores (for the sentence).
    teams
        The teams layer (``id``, ``name``; ``leader``, ``members``, ``home_unit``,
        ``skills`` when present), any CRS.
    stations
        The stations the stars must not hide (``id``, ``name``); ``None`` for none.
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
        If a layer has no CRS.
    """
    lang = check_lang(lang)
    bases, rows = _team_table(assignment, teams)
    st = to_wgs84(stations, "stations", ("id", "name")) if stations is not None else None
    names = (
        dict(zip(st["id"].astype(str), st["name"].astype(str), strict=True))
        if st is not None
        else {}
    )
    t = scores.table
    why_col = "why_zh" if lang == "zh" else "why"
    why = dict(zip(t["code"].astype(str), t[why_col].astype(str), strict=True))
    rank = dict(zip(t["code"].astype(str), t["rank"].astype(int), strict=True))
    group = folium.FeatureGroup(name=_t("teams", lang))
    if len(bases):
        offsets, _ = _star_offsets(bases, st)
        star = symbol_svg(TEAM_SYMBOL, TEAM_COLOUR, size=_STAR_PX)
        popups, tips = [], []
        for r in bases.to_dict("records"):
            team = str(r["id"])
            unit = str(r.get("home_unit", "") or "")
            members = r.get("members")
            rows_: list[tuple[str, str]] = [
                ("leader", str(r.get("leader", "") or "")),
                ("members", _t("members_n", lang, n=int(members)) if pd.notna(members) else ""),
                ("home_unit", names.get(unit, unit)),
                ("skills", _skills(r.get("skills"), lang)),
            ]
            note = ""
            if team in rows:
                a = rows[team]
                code = str(a["village_code"])
                town = str(a.get("township", "") or "")
                where = str(a["village"])
                if town:
                    where += f"（{town}）" if lang == "zh" else f" ({town})"
                rows_ += [
                    ("village", where),
                    ("trip", _t("trip_v", lang, m=float(a["minutes"]), km=float(a["km"]))),
                    ("score", _t("score_v", lang, s=float(a["score"]), r=rank.get(code, 0))),
                ]
                note = why.get(code, "")
                tips.append(_t("to", lang, team=str(r["name"]), village=str(a["village"])))
            else:
                rows_.append(("village", _t("no_village", lang)))
                tips.append(str(r["name"]))
            head = f"{r['name']}（{team}）" if lang == "zh" else f"{r['name']} ({team})"
            popups.append(_popup(head, rows_, lang, note=note))
        folium.map.CustomPane(STAR_PANE, z_index=590).add_to(m)
        props: dict[str, pd.Series] = {
            "html": pd.Series([star] * len(bases), dtype=object),
            "dx": pd.Series(np.round(offsets[:, 0], 1)),
            "dy": pd.Series(np.round(offsets[:, 1], 1)),
            "popup": pd.Series(popups, dtype=object),
            "tip": pd.Series([escape(x) for x in tips], dtype=object),
        }
        _Markers(
            feature_collection(bases, props), px=_STAR_PX, css="pingan-star", pane=STAR_PANE
        ).add_to(group)
        note_legend(m, [LegendEntry(_t("teams", lang), TEAM_COLOUR, TEAM_SYMBOL)])
    group.add_to(m)
    return m


def teams_map(
    assignment: TeamAssignment,
    scores: NeedScores,
    *,
    teams: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    base: Basemap | None = None,
    lang: Lang = "zh",
    attribution: str | None = OSM_ATTRIBUTION,
) -> folium.Map:
    """Build the vanguard-teams overview map, ready for :func:`maps.offline.save_offline`.

    Parameters
    ----------
    assignment
        Which team goes where (:class:`geo.teams.plan.TeamAssignment`).
    scores
        Every village's need score (:class:`geo.teams.score.NeedScores`).
    teams
        The teams layer: bases (points) with ``id``, ``name`` and, when present,
        ``leader``, ``members``, ``home_unit``, ``skills``.
    villages
        The villages layer with ``code`` and ``name``.
    stations
        Police stations and posts with ``id``, ``name``, ``kind``.
    roads
        Road edges with ``highway`` for the grey backdrop (a base map draws no roads of
        its own); ``None`` draws none.
    title
        Page title; default "先锋队派驻图" / "Vanguard teams".
    base
        Tiles and vector base layer under the overlays.
    lang
        Label language.
    attribution
        Credit for the road data; ``None`` for roads not from OpenStreetMap.

    Returns
    -------
    folium.Map
        The map, fitted to the villages, bases and stations, with legend and layer control.

    Raises
    ------
    MapError
        If ``lang`` is not supported or an argument is of the wrong kind.
    LayerError
        If a layer lacks a column, or every layer is empty.
    CoordinateError
        If a layer has no CRS.
    """
    lang = check_lang(lang)
    if not isinstance(assignment, TeamAssignment):
        msg = f"assignment must be a TeamAssignment, got {type(assignment).__name__}"
        raise MapError(msg)
    if not isinstance(scores, NeedScores):
        msg = f"scores must be NeedScores, got {type(scores).__name__}"
        raise MapError(msg)
    if title is None:
        title = "先锋队派驻图" if lang == "zh" else "Vanguard teams"
    fit = {"villages": villages, "teams": teams, "stations": stations}
    m = new_map(combined_bounds(fit), title=title, base=base, lang=lang)
    if roads is not None:
        add_road_context(m, roads, lang=lang, attribution=attribution)
    add_need_scores(m, scores, villages, lang=lang)
    add_team_routes(m, assignment, teams, villages, lang=lang)
    add_assigned_villages(m, assignment, scores, villages, lang=lang)
    add_stations(m, stations, lang=lang)
    add_team_bases(m, assignment, scores, teams, stations=stations, lang=lang)
    return finish_map(m, lang=lang)
