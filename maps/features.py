"""GeoJSON plumbing shared by the map builders: validation, reprojection, display text.

Kept apart from any one map so every builder (overview, hotspots, later patrol and team
maps) formats features, popups and bounds the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import CoordinateError, LayerError, MapError, Problem
from maps.style import MISSING, Lang, field_label

__all__ = [
    "COORD_GRID_DEG",
    "aliases",
    "combined_bounds",
    "count",
    "feature_collection",
    "length",
    "text",
    "to_wgs84",
]

#: ~0.1 m at Wuhan's latitude: finer than any source data, and keeps the page small.
COORD_GRID_DEG: Final = 1e-6


def combined_bounds(layers: Mapping[str, gpd.GeoDataFrame]) -> tuple[float, float, float, float]:
    """Return (minlon, minlat, maxlon, maxlat) over every non-empty layer.

    Parameters
    ----------
    layers
        Layer name -> layer, any CRS; the names appear in error messages.

    Returns
    -------
    tuple[float, float, float, float]
        WGS84 bounds, ready for :func:`maps.offline.new_map`.

    Raises
    ------
    MapError
        If ``layers`` is empty.
    LayerError
        If a layer is not a GeoDataFrame, or every layer is empty.
    CoordinateError
        If a layer has no CRS.
    """
    if not layers:
        msg = "layers is empty: pass at least one layer to fit the map to"
        raise MapError(msg)
    wgs84 = [to_wgs84(gdf, name, ()) for name, gdf in layers.items()]
    boxes = [gdf.total_bounds for gdf in wgs84 if len(gdf)]
    if not boxes:
        *rest, last = layers
        names = f"{', '.join(rest)} and {last}" if rest else last
        msg = ("all empty" if rest else "empty") + ", nothing to map"
        raise LayerError(Problem(file=names, message=msg))
    b = np.vstack(boxes)
    return (
        float(b[:, 0].min()),
        float(b[:, 1].min()),
        float(b[:, 2].max()),
        float(b[:, 3].max()),
    )


def to_wgs84(
    gdf: gpd.GeoDataFrame, layer: str, required: Sequence[str], *, simplify_m: float = 0.0
) -> gpd.GeoDataFrame:
    """Validate ``gdf``, drop rows without geometry and reproject to EPSG:4326.

    Parameters
    ----------
    gdf
        The layer, any CRS.
    layer
        Its name, used in error messages.
    required
        Columns the layer must have.
    simplify_m
        Simplification tolerance in metres, applied before reprojecting when the
        layer is in a projected CRS; ``0`` keeps every vertex.

    Returns
    -------
    geopandas.GeoDataFrame
        The rows with geometry, in EPSG:4326.

    Raises
    ------
    LayerError
        If ``gdf`` is not a GeoDataFrame or lacks a required column.
    CoordinateError
        If ``gdf`` has no CRS.
    MapError
        If ``simplify_m`` is negative.
    """
    if simplify_m < 0:
        msg = f"simplify_m must be >= 0 metres, got {simplify_m!r}"
        raise MapError(msg)
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"expected a GeoDataFrame, got {type(gdf).__name__}"
        raise LayerError(Problem(file=layer, message=msg))
    missing = [c for c in required if c not in gdf.columns]
    if missing:
        raise LayerError(
            [Problem(file=layer, message="column is missing", column=c) for c in missing]
        )
    if gdf.crs is None:
        msg = f"{layer} layer has no CRS; set it (e.g. EPSG:32650) before mapping"
        raise CoordinateError(msg)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if simplify_m > 0 and gdf.crs.is_projected and len(gdf):
        # Simplify in metres, before reprojecting: a tolerance in degrees is not a distance.
        gdf = gdf.set_geometry(gdf.geometry.simplify(simplify_m, preserve_topology=True))
    return gdf.to_crs(4326)


def feature_collection(gdf: gpd.GeoDataFrame, props: Mapping[str, pd.Series]) -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection of ``props`` on ``gdf``'s geometry, rounded."""
    columns = {k: v.to_numpy() for k, v in props.items()}
    geometry = gdf.geometry.set_precision(COORD_GRID_DEG, mode="pointwise").to_numpy()
    out = gpd.GeoDataFrame(columns, geometry=geometry, crs=4326)
    # Feature ids 0..n-1 give folium a short key for its per-style switch.
    return json.loads(out.to_json(na="null"))  # type: ignore[no-any-return]


def aliases(fields: Iterable[str], lang: Lang) -> list[str]:
    """Return the escaped display names of popup/tooltip fields."""
    return [escape(field_label(f, lang)) for f in fields]


def text(values: pd.Series) -> pd.Series:
    """Return display strings: HTML-escaped (popups use innerHTML), blanks as "—"."""
    s = values.astype("string").str.strip()
    return s.mask(s.isna() | (s == ""), MISSING).map(escape).astype(object)


def count(values: pd.Series) -> pd.Series:
    """Return whole numbers as display strings, blanks as "—"."""
    n = pd.to_numeric(values, errors="coerce").round().astype("Int64")
    return n.astype("string").fillna(MISSING).astype(object)


def length(metres: pd.Series) -> pd.Series:
    """Return lengths as "850 m" / "1.25 km" display strings, blanks as "—"."""
    v = pd.to_numeric(metres, errors="coerce").astype(float)
    shown = np.where(v >= 1000, (v / 1000).map("{:.2f} km".format), v.map("{:.0f} m".format))
    return pd.Series(shown, index=metres.index, dtype=object).where(v.notna(), MISSING)


#: Most roads a map page draws: a browser draws tens of thousands of lines smoothly,
#: not the 600,000 of a province (a 130 MB page that takes minutes to write).
MAX_MAP_ROADS: int = 40_000

# Classes from the most to the least important, for thinning a large area's roads.
_CLASS_ORDER = (
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified",
    "residential", "living_street", "service", "track",
)  # fmt: skip


def thin_roads(
    roads: gpd.GeoDataFrame, max_roads: int = MAX_MAP_ROADS
) -> tuple[gpd.GeoDataFrame, str | None]:
    """Return at most ``max_roads`` roads for drawing, the most important classes first.

    Whole classes are kept while they fit (so a class is never drawn patchily), and
    within the first class that does not fit, the longest roads. Returns the roads and,
    when some were left out, a note saying how many and which classes remain, for the
    layer's name; the analyses and tables always use every road.
    """
    n = len(roads)
    if n <= max_roads or "highway" not in roads.columns:
        return roads, None
    hw = roads["highway"].astype("string").fillna("").str.removesuffix("_link")
    rank = hw.map({c: k for k, c in enumerate(_CLASS_ORDER)}).fillna(len(_CLASS_ORDER))
    counts = rank.value_counts().sort_index()
    keep_ranks = counts.index[counts.cumsum() <= max_roads]
    mask = rank.isin(keep_ranks).to_numpy().copy()
    room = max_roads - int(mask.sum())
    rest = counts.index[len(keep_ranks)] if len(keep_ranks) < len(counts) else None
    if rest is not None and room > 0:
        cand = np.flatnonzero((rank == rest).to_numpy())
        lengths = shapely.length(roads.geometry.to_numpy()[cand])
        mask[cand[np.argsort(-lengths, kind="stable")[:room]]] = True
    kept = roads[mask]
    classes = [c for k, c in enumerate(_CLASS_ORDER) if k in set(keep_ranks)]
    note = (
        f"{len(kept):,} of {n:,} roads drawn"
        + (f" ({', '.join(classes)}" + (" and the longest others)" if room > 0 else ")"))
        + "; every road is in the tables"
    )
    return kept, note
