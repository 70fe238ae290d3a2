"""The coverage map: how long the nearest station takes to reach each village.

Villages are coloured by the first threshold that covers them (green for the nearest,
red past the last, grey where no road reaches), over the stations' isochrones drawn
faint and nested, so a planner sees at once which villages lie beyond the 15 minutes.
"""

from __future__ import annotations

from html import escape
from typing import Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from geo.coverage import CoverageResult, Isochrones
from geo.errors import MapError
from maps.basemap import Basemap
from maps.features import feature_collection, text, to_wgs84
from maps.legend import finish_map, note_legend
from maps.overview import AREA_PANE, OSM_ATTRIBUTION, district_map
from maps.style import MISSING, Lang, LegendEntry, check_lang

__all__ = ["BAND_COLOURS", "add_coverage_villages", "add_isochrone_areas", "coverage_map"]

#: Colours of the threshold bands, nearest first (ColorBrewer RdYlGn, reversed).
BAND_COLOURS: Final = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027")
UNREACHED_COLOUR: Final = "#9e9e9e"

_WORDS: Final = {
    "within": ("{t} 分钟内", "within {t} min"),
    "beyond": ("超过 {t} 分钟", "beyond {t} min"),
    "unreached": ("无路可达", "no road reaches it"),
    "villages": ("村庄到达时间", "Villages by travel time"),
    "iso": ("派出所等时圈", "Station isochrones"),
    "iso_t": ("{t} 分钟等时圈", "{t}-minute isochrone"),
    "minutes": ("车程", "Travel time"),
    "station": ("最近派出所", "Nearest station"),
    "name": ("名称", "Name"),
    "code": ("区划代码", "Code"),
}


def _w(key: str, lang: Lang, **kw: object) -> str:
    zh, en = _WORDS[key]
    return (zh if lang == "zh" else en).format(**kw)


def _bands(thresholds: tuple[float, ...], lang: Lang) -> list[tuple[str, str]]:
    """Return (label, colour) per band: one per threshold, then beyond the last."""
    if len(thresholds) + 1 > len(BAND_COLOURS):
        msg = f"a coverage map draws at most {len(BAND_COLOURS) - 1} thresholds, got {thresholds}"
        raise MapError(msg)
    # The bands keep the colour scale's ends: the nearest green, beyond the last red.
    picks = np.linspace(0, len(BAND_COLOURS) - 1, len(thresholds) + 1).round().astype(int)
    labels = [_w("within", lang, t=f"{t:g}") for t in thresholds]
    labels.append(_w("beyond", lang, t=f"{thresholds[-1]:g}"))
    return [(lab, BAND_COLOURS[k]) for lab, k in zip(labels, picks, strict=True)]


def add_coverage_villages(
    m: folium.Map, cov: CoverageResult, villages: gpd.GeoDataFrame, *, lang: Lang = "zh"
) -> folium.Map:
    """Add villages coloured by the first threshold that covers them, with a popup.

    Parameters
    ----------
    m
        Map to add to.
    cov
        The coverage result; its villages are matched to ``villages`` by ``code``.
    villages
        The villages layer (``code`` and a geometry), any CRS.
    lang
        Label language.

    Returns
    -------
    folium.Map
        ``m``, for chaining.
    """
    lang = check_lang(lang)
    gdf = to_wgs84(villages, "villages", ("code",))
    v = cov.villages.set_index(cov.villages["code"].astype(str))
    code = gdf["code"].astype(str)
    minutes = code.map(v["minutes"]).astype(float)
    bands = _bands(cov.thresholds_min, lang)
    band = np.searchsorted(np.asarray(cov.thresholds_min), minutes.to_numpy(), side="left")
    reached = minutes.notna().to_numpy()
    colour = np.where(reached, [bands[min(b, len(bands) - 1)][1] for b in band], UNREACHED_COLOUR)
    label = np.where(
        reached, [bands[min(b, len(bands) - 1)][0] for b in band], _w("unreached", lang)
    )
    shown = minutes.map(
        lambda x: MISSING if pd.isna(x) else (f"{x:.0f} 分钟" if lang == "zh" else f"{x:.0f} min")
    )
    props = {
        "name": text(code.map(v["name"])),
        "code": text(code),
        "minutes": text(shown),
        "band": text(pd.Series(label, index=gdf.index)),
        "station": text(code.map(v["facility_name"])),
        "colour": pd.Series(colour, index=gdf.index),
    }
    pts = gdf.set_geometry(gdf.geometry.representative_point())
    group = folium.FeatureGroup(name=_w("villages", lang))
    if len(pts):
        fields = ["name", "code", "minutes", "band", "station"]
        names = [_w(f, lang) if f in _WORDS else "" for f in fields]
        folium.GeoJson(
            feature_collection(pts, props),
            control=False,
            marker=folium.CircleMarker(radius=6),
            style_function=lambda f: {
                "color": "#ffffff",
                "weight": 1,
                "fillColor": f["properties"]["colour"],
                "fill": True,
                "fillOpacity": 0.95,
            },
            popup=folium.GeoJsonPopup(fields=fields, aliases=[escape(a) for a in names]),
            tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=[""], labels=False),
        ).add_to(group)
    group.add_to(m)
    drawn = set(colour.tolist())
    rows = [LegendEntry(lab, c, "circle") for lab, c in bands if c in drawn]
    if UNREACHED_COLOUR in drawn:
        rows.append(LegendEntry(_w("unreached", lang), UNREACHED_COLOUR, "circle"))
    return note_legend(m, rows)


def add_isochrone_areas(m: folium.Map, iso: Isochrones, *, lang: Lang = "zh") -> folium.Map:
    """Add the stations' isochrones as faint nested areas, the widest drawn first."""
    lang = check_lang(lang)
    areas = iso.areas.sort_values("threshold_min", ascending=False)
    gdf = to_wgs84(areas, "isochrones", ("threshold_min",), simplify_m=15.0)
    group = folium.FeatureGroup(name=_w("iso", lang))
    bands = _bands(tuple(sorted(iso.thresholds_min)), lang)
    colours = {t: bands[k][1] for k, t in enumerate(sorted(iso.thresholds_min))}
    if len(gdf):
        # The villages layer makes this pane only when it draws areas; this map draws
        # its villages as dots, so the isochrones make it themselves.
        folium.map.CustomPane(AREA_PANE, z_index=350, pointer_events=True).add_to(m)
        t = gdf["threshold_min"].astype(float)
        props = {
            "label": text(t.map(lambda x: _w("iso_t", lang, t=f"{x:g}"))),
            "colour": t.map(colours),
        }
        folium.GeoJson(
            feature_collection(gdf, props),
            control=False,
            pane=AREA_PANE,
            style_function=lambda f: {
                "color": f["properties"]["colour"],
                "weight": 1,
                "fillColor": f["properties"]["colour"],
                "fillOpacity": 0.08,
            },
            tooltip=folium.GeoJsonTooltip(fields=["label"], aliases=[""], labels=False),
        ).add_to(group)
        note_legend(m, [LegendEntry(_w("iso", lang), bands[0][1], "outline")])
    group.add_to(m)
    return m


def coverage_map(
    cov: CoverageResult,
    iso: Isochrones,
    *,
    roads: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    title: str,
    lang: Lang = "zh",
    attribution: str | None = OSM_ATTRIBUTION,
    base: Basemap | None = None,
) -> folium.Map:
    """Build the coverage map: the district, the isochrones and villages by travel time."""
    lang = check_lang(lang)
    empty = villages.iloc[0:0]
    m = district_map(
        roads,
        empty,  # the villages are drawn by travel time below, not by kind
        stations,
        fit={"villages": villages},
        title=title,
        lang=lang,
        attribution=attribution,
        base=base,
    )
    add_isochrone_areas(m, iso, lang=lang)
    add_coverage_villages(m, cov, villages, lang=lang)
    return finish_map(m, lang=lang)
