"""The hotspots map: density, Gi* cells, hot road stretches, dark roads by risk, lamps.

Each builder adds one named layer and returns the map, like :mod:`maps.overview`, and
the page is written with :func:`maps.offline.save_offline`, so it opens with no network.
The legend and the layer control come from :mod:`maps.legend`; each builder notes the
legend rows of what it drew (only the density bands some cell reaches, the Gi* classes
and road roles present, dark roads and lamps when there are any), so the legend lists
only what is on the map. The station layer is the overview map's, so stations look,
and are listed, the same on both maps.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.errors import CoordinateError, MapError
from geo.hotspots import DensityGrid
from geo.lighting import explanation_zh
from maps.basemap import Basemap
from maps.features import (
    aliases,
    combined_bounds,
    feature_collection,
    length,
    text,
    thin_roads,
    to_wgs84,
)
from maps.legend import finish_map, note_legend
from maps.offline import new_map
from maps.overview import add_stations
from maps.style import (
    DEFAULT_ROAD_WEIGHT,
    Lang,
    LegendEntry,
    check_lang,
    field_label,
    highway_label,
    road_weight,
)

__all__ = [
    "GI_COLOURS",
    "KDE_BANDS",
    "LAMP_COLOUR",
    "add_context_roads",
    "add_density",
    "add_gi_cells",
    "add_hot_roads",
    "add_lamps",
    "add_road_risk",
    "density_bands",
    "hotspots_map",
]

#: Density bands, as shares of the peak, drawn from faint to strong.
KDE_BANDS: Final = (0.2, 0.4, 0.6, 0.8)
# Greens (ColorBrewer), not the yellow-oranges they were: those sat next to the Gi* hot
# reds and peaches and a planner could not tell density from significance.
_KDE_COLOURS: Final = ("#a1d99b", "#74c476", "#31a354", "#006d2c")

#: Gi* class -> fill colour (ColorBrewer RdBu, hot red, cold blue).
GI_COLOURS: Final[dict[str, str]] = {
    "hot 99%": "#b2182b",
    "hot 95%": "#ef8a62",
    "hot 90%": "#fddbc7",
    "cold 90%": "#d1e5f0",
    "cold 95%": "#67a9cf",
    "cold 99%": "#2166ac",
}
#: Dark-road risk quartiles in purples, so they never read as Gi* hot reds.
_RISK_COLOURS: Final = ("#bcbddc", "#9e9ac8", "#6a51a3", "#3f007d")
LAMP_COLOUR: Final = "#ffd600"
#: Road stretches by evidence: a core (its own incidents, significant) is drawn strongest;
#: a stretch hot only through its neighbours is drawn light, never like a core.
ROLE_STYLES: Final[dict[str, tuple[str, float]]] = {
    "hotspot core": ("#b2182b", 8.0),
    "elevated": ("#f4a261", 6.0),
    "part of a hot area": ("#f4a582", 3.0),
}

_LABELS: Final[dict[str, tuple[str, str]]] = {
    "kde": ("警情密度", "Incident density"),
    "gi": ("热点/冷点网格 (Gi*)", "Hot & cold spots (Gi*)"),
    "hot_roads": ("热点路段", "Hot road stretches"),
    "hotspot core": ("热点核心", "Hotspot core"),
    "part of a hot area": ("热点区域的一部分", "Part of a hot area"),
    "elevated": ("偏高", "Elevated"),
    "risk": ("无灯道路风险", "Dark roads by risk"),
    "lamps": ("建议路灯", "Proposed lamps"),
    "roads": ("道路", "Roads"),
    "hot 99%": ("热点 (99% 置信)", "Hot spot, 99% confidence"),
    "hot 95%": ("热点 (95% 置信)", "Hot spot, 95% confidence"),
    "hot 90%": ("热点 (90% 置信)", "Hot spot, 90% confidence"),
    "cold 90%": ("冷点 (90% 置信)", "Cold spot, 90% confidence"),
    "cold 95%": ("冷点 (95% 置信)", "Cold spot, 95% confidence"),
    "cold 99%": ("冷点 (99% 置信)", "Cold spot, 99% confidence"),
    "not significant": ("不显著", "Not significant"),
    "n": ("警情数", "Incidents"),
    "per_km": ("每公里警情", "Incidents per km"),
    "class": ("Gi* 类别", "Gi* class"),
    "score": ("风险分", "Risk score"),
    "why": ("风险构成", "Why"),
    "band": ("密度", "Density"),
    "level": ("密度值", "Level"),
}


def _class_label(value: object, lang: Lang) -> str:
    """Return a Gi* class ("hot 95%") in the page's language; unknown ones as they are."""
    key = str(value)
    return _label(key, lang) if key in _LABELS else key


def _label(key: str, lang: Lang) -> str:
    zh, en = _LABELS[key]
    return zh if lang == "zh" else en


def hotspots_map(
    *,
    roads: gpd.GeoDataFrame,
    density: DensityGrid | None = None,
    cells: gpd.GeoDataFrame | None = None,
    hot_roads: gpd.GeoDataFrame | None = None,
    risk: gpd.GeoDataFrame | None = None,
    lamps: gpd.GeoDataFrame | None = None,
    stations: gpd.GeoDataFrame | None = None,
    title: str = "pingan hotspots",
    lang: Lang = "zh",
    attribution: str | None = None,
    base: Basemap | None = None,
) -> folium.Map:
    """Build the hotspots map from whichever layers are given.

    ``roads`` is the road network, drawn in grey as context; the other layers come
    from :mod:`geo.hotspots` and :mod:`geo.lighting` and are drawn when given.

    Parameters
    ----------
    roads
        Road edges with ``highway``, ``name`` and ``lit``, any CRS.
    density
        Kernel density grid, drawn as bands of its peak (:func:`add_density`).
    cells
        Gi* grid cells (:func:`add_gi_cells`).
    hot_roads
        Road stretches with network Gi* classes (:func:`add_hot_roads`).
    risk
        Ranked dark roads (:func:`add_road_risk`).
    lamps
        Proposed lamp points (:func:`add_lamps`).
    stations
        Police stations and posts, drawn as on the overview map.
    title
        Page title.
    lang
        ``"zh"`` for Chinese labels only, ``"en"`` for English only.
    attribution
        Credit for the road data, e.g. :data:`maps.overview.OSM_ATTRIBUTION`.
    base
        Tiles and the area's own base layer under the overlays; ``None`` for none.

    Returns
    -------
    folium.Map
        The map, fitted to the roads, with a legend and a layer control.

    Raises
    ------
    MapError
        If ``lang`` is not supported.
    LayerError
        If a layer lacks a column, or ``roads`` is empty.
    CoordinateError
        If a layer or the density grid has no CRS.
    """
    lang = check_lang(lang)
    m = new_map(_wgs84_bounds(roads), title=title, base=base, lang=lang)
    add_context_roads(m, roads, lang=lang, attribution=attribution)
    if density is not None:
        add_density(m, density, lang=lang)
    if cells is not None:
        add_gi_cells(m, cells, lang=lang)
    if hot_roads is not None:
        add_hot_roads(m, hot_roads, lang=lang)
    if risk is not None:
        add_road_risk(m, risk, lang=lang)
    if lamps is not None:
        add_lamps(m, lamps, lang=lang)
    if stations is not None:
        add_stations(m, stations, lang=lang)
    return finish_map(m, lang=lang)


def _wgs84_bounds(roads: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """Return the roads' WGS84 bounds, as :func:`maps.features.combined_bounds` does.

    A large layer's vertices are transformed as plain arrays: the same bounds without
    building a reprojected copy of a province's roads.
    """
    if not isinstance(roads, gpd.GeoDataFrame) or roads.crs is None or len(roads) < 1000:
        return combined_bounds({"roads": roads})
    xy = shapely.get_coordinates(roads.geometry.to_numpy())
    if not len(xy):
        return combined_bounds({"roads": roads})
    to = pyproj.Transformer.from_crs(roads.crs, 4326, always_xy=True)
    lon, lat = to.transform(xy[:, 0], xy[:, 1])
    return (float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat)))


def add_context_roads(
    m: folium.Map, roads: gpd.GeoDataFrame, *, lang: Lang = "zh", attribution: str | None = None
) -> folium.Map:
    """Add every road in neutral grey, as the backdrop the analysis layers sit on.

    Parameters
    ----------
    m
        Map to add to.
    roads
        Road edges with ``highway``, ``name`` and ``lit``, any CRS.
    lang
        Label language.
    attribution
        Data credit shown while the layer is on. Plain text.

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
    gdf = to_wgs84(roads, "roads", ("highway", "name", "lit"), simplify_m=0.5)
    name = _label("roads", lang) + (f" ({note})" if note else "")
    group = folium.FeatureGroup(name=name)
    if len(gdf):
        hw = gdf["highway"].astype("string")
        weights = {highway_label(h, lang): road_weight(h) * 0.7 for h in hw.dropna().unique()}
        lit = gdf["lit"].astype("string")
        lit = lit.where(lit.isin(["yes", "no"]), "unknown").fillna("unknown")
        props = {
            "name": text(gdf["name"]),
            "highway": text(hw.map(lambda h: highway_label(h, lang), na_action="ignore")),
            "lit": text(lit.map(lambda v: field_label(v, lang))),
        }
        folium.GeoJson(
            feature_collection(gdf, props),
            control=False,
            style_function=lambda f: {
                "color": "#9e9e9e",
                "weight": weights.get(f["properties"]["highway"], DEFAULT_ROAD_WEIGHT * 0.7),
                "opacity": 0.8,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "highway", "lit"],
                aliases=aliases(["name", "highway", "lit"], lang),
            ),
            attribution=escape(attribution) if attribution else None,
        ).add_to(group)
    group.add_to(m)
    return m


def density_bands(
    density: DensityGrid, bands: Sequence[float] = KDE_BANDS, *, max_cells: int = 250_000
) -> gpd.GeoDataFrame:
    """Turn a density grid into nested polygons: cells at or above each share of the peak.

    Polygons follow the grid cells exactly (no contouring library, no image overlay
    that would be skewed when reprojected from UTM to web coordinates). A grid of more
    than ``max_cells`` cells (a whole province at 100 m) is drawn on blocks of cells,
    each as high as its highest cell, so the peak and every band keep their place; the
    analysis itself keeps the fine grid.

    Parameters
    ----------
    density
        Kernel density grid, in a metric CRS.
    bands
        Shares of the peak, each in (0, 1]; a band is left out when no cell reaches it.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per band with ``share``, ``level`` (density at the band's floor) and
        the union of its cells, in ``density``'s CRS.

    Raises
    ------
    CoordinateError
        If ``density`` has no CRS.
    MapError
        If a share in ``bands`` is not in (0, 1].
    """
    if density.crs is None:
        msg = "density grid has no CRS (density.crs is None); set it before mapping"
        raise CoordinateError(msg)
    bad = [b for b in bands if not 0 < b <= 1]
    if bad:
        msg = f"bands must be shares of the peak in (0, 1], got {bad}"
        raise MapError(msg)
    peak = float(np.max(density.density)) if density.density.size else 0.0
    grid, x, y, cell = _coarse(density, max_cells)
    half = cell / 2
    xx, yy = np.meshgrid(x, y)
    rows = []
    for share in bands:
        mask = grid >= share * peak if peak > 0 else np.zeros_like(xx, dtype=bool)
        if not mask.any():
            continue
        boxes = shapely.box(xx[mask] - half, yy[mask] - half, xx[mask] + half, yy[mask] + half)
        rows.append(
            {
                "share": share,
                "level": share * peak,
                "geometry": shapely.coverage_union_all(boxes),
            }
        )
    return (
        gpd.GeoDataFrame(rows, geometry="geometry", crs=density.crs)
        if rows
        else (gpd.GeoDataFrame({"share": [], "level": []}, geometry=[], crs=density.crs))
    )


def _coarse(
    density: DensityGrid, max_cells: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Return the grid (block maxima when too fine to draw), its x, y and cell size."""
    grid = np.asarray(density.density)
    ny, nx = grid.shape
    f = int(np.ceil(np.sqrt(ny * nx / max_cells))) if ny * nx > max_cells else 1
    if f == 1:
        return grid, np.asarray(density.x), np.asarray(density.y), float(density.cell_size)
    py, px = (-ny) % f, (-nx) % f
    padded = np.pad(grid, ((0, py), (0, px)), constant_values=0.0)
    blocks = padded.reshape((ny + py) // f, f, (nx + px) // f, f).max(axis=(1, 3))
    cell = float(density.cell_size) * f
    x0 = float(density.x[0]) - density.cell_size / 2
    y0 = float(density.y[0]) - density.cell_size / 2
    x = x0 + (np.arange(blocks.shape[1]) + 0.5) * cell
    y = y0 + (np.arange(blocks.shape[0]) + 0.5) * cell
    return blocks, x, y, cell


def add_density(m: folium.Map, density: DensityGrid, *, lang: Lang = "zh") -> folium.Map:
    """Add the kernel density surface as nested bands of its peak (:data:`KDE_BANDS`).

    Parameters
    ----------
    m
        Map to add to.
    density
        Kernel density grid, in a metric CRS.
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
    CoordinateError
        If ``density`` has no CRS.
    """
    lang = check_lang(lang)
    bands = density_bands(density)
    group = folium.FeatureGroup(name=_label("kde", lang))
    if len(bands):
        gdf = to_wgs84(bands, "density", ("share", "level"))
        colours = dict(zip(KDE_BANDS, _KDE_COLOURS, strict=True))
        per_km2 = "/km²"
        props = {
            "band": pd.Series(
                [
                    f"≥ 峰值的 {int(s * 100)}%" if lang == "zh" else f"≥ {int(s * 100)}% of peak"
                    for s in gdf["share"]
                ]
            ),
            "level": pd.Series(
                [f"{v:.1f} {'起/平方公里' if lang == 'zh' else per_km2}" for v in gdf["level"]]
            ),
            "colour": pd.Series([colours[s] for s in gdf["share"]]),
        }
        folium.GeoJson(
            feature_collection(gdf, props),
            control=False,
            style_function=lambda f: {
                "color": f["properties"]["colour"],
                "weight": 0,
                "fillColor": f["properties"]["colour"],
                "fillOpacity": 0.45,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["band", "level"],
                aliases=[_label("band", lang), _label("level", lang)],
                labels=False,
            ),
        ).add_to(group)
    group.add_to(m)
    zh = lang == "zh"
    drawn = set(bands["share"])
    return note_legend(
        m,
        [
            LegendEntry(
                f"{'密度' if zh else 'density'} ≥ {int(b * 100)}% {'峰值' if zh else 'of peak'}",
                c,
                "square",
            )
            for b, c in zip(KDE_BANDS, _KDE_COLOURS, strict=True)
            if b in drawn
        ],
    )


def add_gi_cells(m: folium.Map, cells: gpd.GeoDataFrame, *, lang: Lang = "zh") -> folium.Map:
    """Add significant Gi* cells coloured by class (after FDR); others are left out.

    Parameters
    ----------
    m
        Map to add to.
    cells
        Grid cells with ``count``, ``z``, ``p_fdr`` and ``class``, any CRS.
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
        If ``cells`` has no CRS.
    """
    lang = check_lang(lang)
    # Only the classed cells are drawn: reproject those, not a province's million.
    shown = cells[cells["class"].isin(list(GI_COLOURS))] if "class" in cells.columns else cells
    gdf = to_wgs84(shown, "cells", ("count", "z", "p_fdr", "class"))
    group = folium.FeatureGroup(name=_label("gi", lang))
    if len(gdf):
        props = {
            "class": gdf["class"].map(lambda c: _class_label(c, lang)),
            "count": gdf["count"].astype(int).astype(str),
            "z": gdf["z"].map("{:.2f}".format),
            "p_fdr": gdf["p_fdr"].map("{:.2g}".format),
            "colour": gdf["class"].map(GI_COLOURS),
        }
        folium.GeoJson(
            feature_collection(gdf, props),
            control=False,
            style_function=lambda f: {
                "color": f["properties"]["colour"],
                "weight": 0.5,
                "fillColor": f["properties"]["colour"],
                "fillOpacity": 0.55,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["class", "count", "z", "p_fdr"],
                aliases=[_label("class", lang), _label("n", lang), "z", "p (FDR)"],
            ),
        ).add_to(group)
    group.add_to(m)
    drawn = set(gdf["class"])
    return note_legend(
        m,
        [
            LegendEntry("Gi* " + _label(k, lang), c, "square")
            for k, c in GI_COLOURS.items()
            if k in drawn
        ],
    )


def add_hot_roads(m: folium.Map, roads: gpd.GeoDataFrame, *, lang: Lang = "zh") -> folium.Map:
    """Add road stretches classed hot by network Gi*; cold and plain ones are left out.

    Parameters
    ----------
    m
        Map to add to.
    roads
        Road stretches with ``count``, ``per_km``, ``z`` and ``class`` (``name`` when
        present), any CRS.
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
        If ``roads`` has no CRS.
    """
    lang = check_lang(lang)
    has_role = "role" in roads.columns
    cols = ("count", "per_km", "z", "class", *(("role",) if has_role else ()))
    # Only the stretches drawn are reprojected, not every piece of the network.
    if has_role:
        shown = roads[roads["role"].isin(list(ROLE_STYLES))]
    elif "class" in roads.columns:
        shown = roads[roads["class"].astype(str).str.startswith("hot")]
    else:
        shown = roads
    gdf = to_wgs84(shown, "hot roads", cols)
    role = gdf["role"].astype(str) if has_role else pd.Series("hotspot core", index=gdf.index)
    group = folium.FeatureGroup(name=_label("hot_roads", lang))
    if len(gdf):
        props = {
            "name": text(gdf["name"]) if "name" in gdf else pd.Series(["—"] * len(gdf)),
            "role": role.map(lambda r: _label(r, lang)),
            "class": gdf["class"].map(lambda c: _class_label(c, lang)),
            "count": gdf["count"].astype(int).astype(str),
            "per_km": gdf["per_km"].map("{:.1f}".format),
            "z": gdf["z"].map("{:.2f}".format),
            "colour": role.map(lambda r: ROLE_STYLES[r][0]),
            "weight": role.map(lambda r: ROLE_STYLES[r][1]),
        }
        folium.GeoJson(
            feature_collection(gdf, props),
            control=False,
            style_function=lambda f: {
                "color": f["properties"]["colour"],
                "weight": f["properties"]["weight"],
                "opacity": 0.85,
                "lineCap": "round",
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "role", "count", "per_km", "class", "z"],
                aliases=[
                    *aliases(["name"], lang),
                    "",
                    *(_label(k, lang) for k in ("n", "per_km", "class")),
                    "z",
                ],
            ),
        ).add_to(group)
    group.add_to(m)
    drawn = set(role)
    return note_legend(
        m,
        [
            LegendEntry(_label(r, lang), colour, "line", weight=width)
            for r, (colour, width) in ROLE_STYLES.items()
            if r in drawn
        ],
    )


def add_road_risk(
    m: folium.Map, risk: gpd.GeoDataFrame, *, lang: Lang = "zh", top: int | None = 25
) -> folium.Map:
    """Add the ``top`` riskiest unlit and unknown roads, by risk quartile, with the why.

    Showing every dark road would paint the whole district; planners act on the top.

    Parameters
    ----------
    m
        Map to add to.
    risk
        Ranked roads with ``score``, ``rank`` (1 = riskiest), ``explanation`` and
        ``length_m`` (``name`` when present), any CRS.
    lang
        Label language.
    top
        How many of the riskiest roads to draw; ``None`` draws them all.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    MapError
        If ``lang`` is not supported or ``top`` is less than 1.
    LayerError
        If a column is missing.
    CoordinateError
        If ``risk`` has no CRS.
    """
    lang = check_lang(lang)
    if top is not None and top < 1:
        msg = f"top must be at least 1 (or None for every road), got {top!r}"
        raise MapError(msg)
    gdf = to_wgs84(risk, "risk", ("score", "rank", "explanation", "length_m"))
    if top is not None:
        gdf = gdf[gdf["rank"] <= top]
    group = folium.FeatureGroup(name=_label("risk", lang))
    if len(gdf):
        q = np.quantile(gdf["score"], [0.25, 0.5, 0.75]) if len(gdf) > 3 else [0, 0, 0]
        band = np.searchsorted(np.asarray(q), gdf["score"].to_numpy(), side="right")
        props = {
            "rank": gdf["rank"].astype(int).astype(str),
            "name": text(gdf["name"]) if "name" in gdf else pd.Series(["—"] * len(gdf)),
            "score": gdf["score"].map("{:.3f}".format),
            "length": length(gdf["length_m"]),
            "why": pd.Series(
                explanation_zh(gdf["explanation"]) if lang == "zh" else list(gdf["explanation"]),
                dtype=object,
            ).map(lambda t: escape(str(t))),
            "colour": pd.Series([_RISK_COLOURS[b] for b in band]),
            "weight": pd.Series([2.5 + 1.5 * b for b in band]),
        }
        folium.GeoJson(
            feature_collection(gdf, props),
            control=False,
            style_function=lambda f: {
                "color": f["properties"]["colour"],
                "weight": f["properties"]["weight"],
                "opacity": 0.9,
            },
            popup=folium.GeoJsonPopup(
                fields=["rank", "name", "score", "length", "why"],
                aliases=[
                    "#",
                    *aliases(["name"], lang),
                    _label("score", lang),
                    *aliases(["length"], lang),
                    _label("why", lang),
                ],
            ),
        ).add_to(group)
        shown = "" if top is None else (f" (前 {top} 条)" if lang == "zh" else f" (top {top})")
        label = _label("risk", lang) + shown
        note_legend(m, [LegendEntry(label, _RISK_COLOURS[-1], "line", weight=5)])
    group.add_to(m)
    return m


def add_lamps(m: folium.Map, lamps: gpd.GeoDataFrame, *, lang: Lang = "zh") -> folium.Map:
    """Add proposed lamp points, with the risk each one covers when known.

    Parameters
    ----------
    m
        Map to add to.
    lamps
        Points with ``lamp`` (its number); ``name`` and ``risk_covered`` when
        present, any CRS.
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
        If ``lamps`` has no CRS.
    """
    lang = check_lang(lang)
    gdf = to_wgs84(lamps, "lamps", ("lamp",))
    group = folium.FeatureGroup(name=_label("lamps", lang))
    if len(gdf):
        props = {
            "lamp": gdf["lamp"].astype(int).astype(str),
            "name": text(gdf["name"]) if "name" in gdf else pd.Series(["—"] * len(gdf)),
            "risk": gdf["risk_covered"].map("{:.3f}".format)
            if "risk_covered" in gdf
            else pd.Series(["—"] * len(gdf)),
        }
        folium.GeoJson(
            feature_collection(gdf, props),
            control=False,
            marker=folium.CircleMarker(
                radius=4,
                color="#5d4037",
                weight=1,
                fill=True,
                fill_color=LAMP_COLOUR,
                fill_opacity=1.0,
            ),
            tooltip=folium.GeoJsonTooltip(
                fields=["lamp", "name", "risk"],
                aliases=["#", *aliases(["name"], lang), _label("score", lang)],
            ),
        ).add_to(group)
        note_legend(m, [LegendEntry(_label("lamps", lang), LAMP_COLOUR, "circle")])
    group.add_to(m)
    return m
