"""Read a GIS line layer of roads (Shapefile, GeoPackage, GeoJSON) as OSM-like ways.

Many offices keep their roads as a line layer with a class column and no OSM file. The
reader turns such a layer into the same :class:`~geo.network.osm.Ways` arrays the OSM
reader produces, so trimming, one-way rules, simplification and the routing core are the
one shared build, and a layer converted from an OSM file builds the OSM file's graph.

Topology comes from coordinates, the way a GIS layer stores it:

- vertices at the same coordinate (rounded to 1e-7 degree, OSM's own precision) are one
  node, so lines that share a vertex meet there and lines that cross without one (a
  bridge over a road) do not;
- a line's end that misses another line's vertex by at most ``snap_m`` metres (a
  near-miss left by digitising or by a coordinate conversion) is joined to it;
- features running along exactly the same nodes with the same attributes (one feature
  per direction of a two-way road, or a duplicate) become one road carrying the union
  of their directions, so they give the edges one two-way feature would.

Class names are mapped to OSM ``highway`` values (``classes``); values that already are
OSM classes pass through, anything else is an error naming the values, since a road
class the build does not know would silently drop those roads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.coords import WGS84, parse_crs, to_wgs84, utm_crs_for
from geo.errors import CoordinateError, NetworkError
from geo.network.osm import TAG_KEYS, Ways
from geo.network.tags import NOT_ROADS, SPEEDS_KMH

__all__ = [
    "ATTRIBUTE_KEYS",
    "CLASS_COLUMNS",
    "DEFAULT_SNAP_M",
    "LINE_SUFFIXES",
    "OSM_CLASSES",
    "LineLayer",
    "read_line_ways",
]

#: File types read as road line layers (a ``.zip`` holds a shapefile or another layer).
LINE_SUFFIXES = (".shp", ".shp.zip", ".zip", ".gpkg", ".geojson", ".json")

#: Columns tried, in order, for the road class when ``class_column`` is not given:
#: OSM's own key, Geofabrik's shapefile column, then names common in office layers.
CLASS_COLUMNS = ("highway", "fclass", "class", "type", "road_class", "kind")

#: Optional attribute columns (found by name, case-insensitively, or via ``columns``).
ATTRIBUTE_KEYS = ("id", "name", "lit", "maxspeed", "oneway", "surface", "access", "junction")

#: Near-miss tolerance for line ends. Conversion noise (reprojection, float32 storage,
#: shapefile precision) is millimetres and a missed snap while digitising at 1:10,000 is
#: well under a metre, while two road ends that are meant to stay apart (a dead end by
#: another road, the two carriageways of a dual road) are metres apart: half a metre
#: joins the first kind and never the second.
DEFAULT_SNAP_M = 0.5

#: The ``highway`` values the build knows: routable by some mode, or never routable.
OSM_CLASSES = frozenset().union(*SPEEDS_KMH.values()) | NOT_ROADS | {"busway", "escape"}

#: The classes named in messages: the common ones, not all of :data:`OSM_CLASSES`.
_CLASS_EXAMPLES = "motorway, trunk, primary, secondary, tertiary, unclassified, residential, track"

#: Geofabrik's shapefile classes that are not OSM values themselves.
_ALIASES = {
    **{f"track_grade{g}": "track" for g in range(1, 6)},
    "unknown": "road",  # OSM's own "class not known" value
}

_YES = frozenset({"yes", "true", "t", "y", "1", "是", "有"})
_NO = frozenset({"no", "false", "f", "n", "0", "否", "无"})
# oneway: OSM values plus Geofabrik's F (forward), T (against drawing), B (both ways).
_ONEWAY = {
    "yes": "yes",
    "true": "yes",
    "1": "yes",
    "f": "yes",
    "-1": "-1",
    "reverse": "-1",
    "t": "-1",
    "no": "no",
    "false": "no",
    "0": "no",
    "b": "no",
    # Time-dependent directions: two-way for planning, as osmnx reads them.
    "reversible": "no",
    "alternating": "no",
}

#: Degrees are stored as integers of 1e-7 degree in OSM; nodes are keyed the same way.
_SCALE = 1e7
_LON_OFFSET = 1_800_000_000
_LAT_SPAN = 1 << 31
_LAT_OFFSET = 900_000_000
#: Values and rows listed in one error message.
_SHOWN = 5
#: The command-line flag of each option, for messages (the area file's keys are the names).
_FLAGS = {
    "classes": "--road-classes",
    "columns": "--road-columns",
    "class_column": "--road-class-column",
}

ProgressFn = Callable[[str], None]


@dataclass(frozen=True)
class LineLayer:
    """How to read a road line layer; part of the network cache key.

    Parameters
    ----------
    layer
        Layer to read in a file of several (a GeoPackage, a zip of shapefiles); by default
        the file's only layer, or its only line layer.
    class_column
        Column holding the road class; by default the first of :data:`CLASS_COLUMNS`
        present.
    classes
        Class value -> OSM ``highway`` value, e.g. ``{"县道": "secondary"}``; map a class
        to ``"no"`` to leave its roads out. Values that already are OSM classes need no
        entry.
    columns
        Attribute -> column name for attributes not under their own name, e.g.
        ``{"name": "ROAD_NAME", "lit": "LIGHTING"}``; keys from :data:`ATTRIBUTE_KEYS`.
    encoding
        Text encoding of the attributes when the file does not declare it (a shapefile
        without ``.cpg`` written in GBK, say).
    crs
        CRS of the coordinates when the file declares none (see
        :func:`geo.coords.parse_crs`: ``"gcj02"``, ``"cgcs2000"``, ``"EPSG:4547"``, ...).
        A file that declares another CRS is an error; without either, coordinates in
        degree range are read as WGS84.
    snap_m
        Join a line's end to a vertex of another line at most this far away (metres);
        0 joins only vertices at the same coordinate.
    directed
        Every feature without a ``oneway`` value is one direction of travel, as drawn
        (layers exported from a directed graph, one feature per direction); by default
        such a feature is a two-way road.
    """

    layer: str | None = None
    class_column: str | None = None
    classes: Mapping[str, str] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)
    encoding: str | None = None
    crs: str | None = None
    snap_m: float = DEFAULT_SNAP_M
    directed: bool = False

    def __post_init__(self) -> None:
        for name in ("classes", "columns"):
            value = getattr(self, name)
            if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                msg = f"{_FLAGS.get(name, name)} must map text to text, got {value!r}"
                raise NetworkError(msg)
            # A read-only copy: the options are part of a cache key and must not change.
            object.__setattr__(self, name, MappingProxyType(dict(value)))
        bad = {k: v for k, v in self.classes.items() if v not in OSM_CLASSES}
        if bad:
            shown = ", ".join(f"{k!r}: {v!r}" for k, v in list(bad.items())[:_SHOWN])
            msg = (
                f"--road-classes gives {len(bad)} value(s) that are not OSM highway "
                f"classes: {shown}; use one of {_CLASS_EXAMPLES} (or 'no' to leave a "
                "class out)"
            )
            raise NetworkError(msg)
        unknown = sorted(set(self.columns) - set(ATTRIBUTE_KEYS))
        if unknown:
            msg = (
                f"--road-columns has unknown key(s) {', '.join(map(repr, unknown))}; "
                f"expected some of {', '.join(ATTRIBUTE_KEYS)} (the class column is "
                "'class_column')"
            )
            raise NetworkError(msg)
        snap = self.snap_m
        if isinstance(snap, bool) or not isinstance(snap, int | float) or not math.isfinite(snap):
            msg = f"--road-snap-m must be a number of metres, got {snap!r}"
            raise NetworkError(msg)
        if not 0 <= snap <= 50:
            msg = f"--road-snap-m must be between 0 and 50 metres, got {snap}"
            raise NetworkError(msg)
        if self.crs is not None:
            try:
                parse_crs(self.crs)
            except CoordinateError as exc:
                msg = f"--road-crs: {exc}"
                raise NetworkError(msg) from exc

    def __hash__(self) -> int:
        return hash(self.key())

    def key(self) -> str:
        """Return a stable text form of the options for the cache key."""
        return json.dumps(
            {
                "layer": self.layer,
                "class_column": self.class_column,
                "classes": dict(self.classes),
                "columns": dict(self.columns),
                "encoding": self.encoding,
                "crs": self.crs,
                "snap_m": float(self.snap_m),
                "directed": self.directed,
            },
            sort_keys=True,
            ensure_ascii=False,
        )


# --------------------------------------------------------------------------- reading


def read_line_ways(
    path: Path, spec: LineLayer | None = None, *, progress: ProgressFn | None = None
) -> Ways:
    """Read a road line layer as ways with shared nodes, like :func:`read_osm_ways`.

    Parameters
    ----------
    path
        ``.shp`` (or a zipped shapefile), ``.gpkg``, ``.geojson`` or ``.json``.
    spec
        Which layer and columns, the class mapping, CRS and near-miss tolerance.
    progress
        Called with each warning (features without geometry, a layer without a CRS read
        as WGS84) and with what topology repair did.

    Raises
    ------
    NetworkError
        If the file or layer cannot be read, a geometry is not a line, the coordinates
        have no usable CRS, the class column is missing or holds classes that are not
        OSM classes and have no mapping, or an attribute column is missing or unreadable.
    """
    spec = spec or LineLayer()
    say = progress or (lambda _msg: None)
    gdf, layer = _read_layer(path, spec)
    where = f"{path}" if layer is None else f"{path} (layer {layer!r})"
    cols = _resolve_columns(where, list(gdf.columns[gdf.columns != gdf.geometry.name]), spec)
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    rows = np.arange(len(gdf))
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        say(f"warning: {where}: {int(missing.sum())} feature(s) without geometry left out")
    _check_lines(where, geoms, missing)
    keep = np.flatnonzero(~missing)
    if not len(keep):
        msg = f"{where}: no road lines (the layer has {len(gdf)} feature(s), none with geometry)"
        raise NetworkError(msg)
    table = gdf.iloc[keep]
    rows = rows[keep]
    tags = _tags(where, table, cols, spec)
    ids = _feature_ids(where, table, cols.get("id"), rows, explicit="id" in spec.columns, say=say)

    parts, part_of = shapely.get_parts(geoms[keep], return_index=True)
    xy, vertex_part = shapely.get_coordinates(parts, return_index=True)
    lon, lat = _to_wgs84(where, xy, gdf.crs, spec, say)
    _check_range(where, lon, lat, rows[part_of[vertex_part]])
    ref, node_lon, node_lat = _nodes(lon, lat, vertex_part, spec.snap_m, where, say)

    part_tags = tags.iloc[part_of].reset_index(drop=True)
    part_ids = ids[part_of]
    keep_part, oneway = _merge_twins(ref, vertex_part, len(parts), part_tags)
    if (~keep_part).any():
        say(
            f"{where}: {int((~keep_part).sum())} feature(s) along the same vertices as "
            "another (one per direction, or duplicates) merged into one road each"
        )
    part_tags["oneway"] = oneway
    kept_vertex = keep_part[vertex_part]
    new_part = np.cumsum(keep_part) - 1
    return Ways(
        way_id=part_ids[keep_part],
        tags=part_tags[keep_part].reset_index(drop=True),
        node_way=new_part[vertex_part[kept_vertex]].astype(np.int64),
        node_ref=ref[kept_vertex],
        node_lon=node_lon[kept_vertex],
        node_lat=node_lat[kept_vertex],
        node_valid=np.ones(int(kept_vertex.sum()), dtype=bool),
    )


def _read_layer(path: Path, spec: LineLayer) -> tuple[Any, str | None]:
    """Read the chosen layer of ``path`` as a GeoDataFrame; return it and the layer name."""
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        listed = pyogrio.list_layers(path)
    except (DataSourceError, DataLayerError, OSError) as exc:
        msg = f"{path}: not a readable GIS layer ({exc})"
        raise NetworkError(msg) from exc
    names = [str(name) for name in listed[:, 0]]
    kinds = [str(kind) for kind in listed[:, 1]]
    described = ", ".join(f"{n!r} ({k})" for n, k in zip(names, kinds, strict=True))
    if spec.layer is not None:
        if spec.layer not in names:
            msg = f"{path} has no layer {spec.layer!r}; its layers: {described or 'none'}"
            raise NetworkError(msg)
        layer: str | None = spec.layer
    elif len(names) == 1:
        layer = names[0]
    else:
        lines = [n for n, k in zip(names, kinds, strict=True) if "LineString" in k]
        if len(lines) != 1:
            msg = (
                f"{path} holds {len(names)} layers, {len(lines)} of them lines: {described}; "
                "say which to read (--road-layer)"
            )
            raise NetworkError(msg)
        layer = lines[0]
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer, encoding=spec.encoding)
    except (DataSourceError, DataLayerError, OSError, LookupError, ValueError) as exc:
        msg = f"{path}: cannot read layer {layer!r} ({exc})"
        raise NetworkError(msg) from exc
    if not hasattr(gdf, "geometry"):
        msg = f"{path}: layer {layer!r} has no geometry (an attribute table, not road lines)"
        raise NetworkError(msg)
    return gdf, (layer if len(names) > 1 else None)


def _check_lines(where: str, geoms: np.ndarray, missing: np.ndarray) -> None:
    kind = shapely.get_type_id(geoms)
    # 1 LineString, 2 LinearRing, 5 MultiLineString.
    bad = np.flatnonzero(~missing & ~np.isin(kind, [1, 2, 5]))
    if not len(bad):
        return
    shown = ", ".join(f"row {i + 1} is a {geoms[i].geom_type}" for i in bad[:_SHOWN])
    more = f" and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
    msg = (
        f"{where}: {len(bad)} feature(s) are not lines: {shown}{more}; a road layer holds "
        "LineStrings (roads drawn as polygons or points cannot be routed)"
    )
    raise NetworkError(msg)


def _resolve_columns(where: str, fields: list[str], spec: LineLayer) -> dict[str, str]:
    """Return attribute -> actual column name ("class" for the road class)."""
    lower: dict[str, str] = {}
    for f in fields:
        lower.setdefault(f.lower(), f)
    listed = ", ".join(fields) or "none"

    def find(name: str, option: str) -> str:
        actual = lower.get(name.lower())
        if actual is None:
            msg = f"{where} has no column {name!r} (given by {option}); columns: {listed}"
            raise NetworkError(msg)
        return actual

    cols: dict[str, str] = {}
    if spec.class_column is not None:
        cols["class"] = find(spec.class_column, "--road-class-column")
    else:
        found = [lower[c] for c in CLASS_COLUMNS if c in lower]
        if not found:
            msg = (
                f"{where} has no road class column: none of {', '.join(CLASS_COLUMNS)}; "
                f"columns: {listed}; name it with --road-class-column"
            )
            raise NetworkError(msg)
        cols["class"] = found[0]
    for key in ATTRIBUTE_KEYS:
        if key in spec.columns:
            cols[key] = find(spec.columns[key], f"--road-columns {key}=")
        elif key == "id":
            if "osm_id" in lower:
                cols[key] = lower["osm_id"]
        elif key in lower and lower[key] != cols["class"]:
            cols[key] = lower[key]
    return cols


def _text(values: pd.Series) -> np.ndarray:
    """Return values as stripped text, None where missing or blank; whole numbers as ints."""
    s = values
    if s.dtype.kind == "f":
        # A DBF number column reads as float: 60.0 is the speed limit "60", not "60.0".
        whole = s.notna() & np.isfinite(s) & (s == np.round(s))
        fixed = s.astype(object).where(s.notna(), None)
        fixed[whole] = s[whole].astype(np.int64).astype(str)
        s = fixed
    elif s.dtype.kind == "b":
        s = s.map({True: "yes", False: "no"})
    text = s.astype("string").str.strip().fillna("")
    out = text.to_numpy(dtype=object)
    out[text.eq("").to_numpy()] = None
    return out


def _tags(where: str, table: Any, cols: dict[str, str], spec: LineLayer) -> pd.DataFrame:
    """Return the OSM tag table (:data:`TAG_KEYS` columns) of the features."""
    n = len(table)
    tags = pd.DataFrame({k: np.full(n, None, dtype=object) for k in TAG_KEYS})
    tags["highway"] = _classes(where, _text(table[cols["class"]]), cols["class"], spec)
    for key in ("name", "surface", "access", "junction"):
        if key in cols:
            tags[key] = _text(table[cols[key]])
    if "lit" in cols:
        lit = _text(table[cols["lit"]])
        low = pd.Series(lit, dtype="string").str.lower()
        lit = np.where(low.isin(_YES), "yes", np.where(low.isin(_NO), "no", lit))
        tags["lit"] = pd.Series(lit, dtype=object).where(pd.notna(lit), None).to_numpy()
    if "maxspeed" in cols:
        speed = _text(table[cols["maxspeed"]])
        # Geofabrik writes 0 for "no maxspeed tag".
        speed[np.isin(speed.astype(str), ["0", "0.0"])] = None
        tags["maxspeed"] = speed
    oneway = None
    if "oneway" in cols:
        oneway = _oneway(where, _text(table[cols["oneway"]]), cols["oneway"])
    if spec.directed:
        drawn = np.full(n, "yes", dtype=object)
        oneway = drawn if oneway is None else np.where(pd.isna(oneway), drawn, oneway)
    if oneway is not None:
        tags["oneway"] = oneway
    return tags


def _count_values(values: np.ndarray) -> str:
    uniq, times = np.unique(values.astype(str), return_counts=True)
    order = np.argsort(-times, kind="stable")
    shown = ", ".join(
        f"{str(uniq[i])!r} ({times[i]} feature{'s' if times[i] != 1 else ''})"
        for i in order[: _SHOWN * 2]
    )
    more = f" and {len(uniq) - _SHOWN * 2} more" if len(uniq) > _SHOWN * 2 else ""
    return shown + more


def _classes(where: str, raw: np.ndarray, column: str, spec: LineLayer) -> np.ndarray:
    """Map class values to OSM highway values; raise naming the values it cannot map."""
    text = np.where(pd.isna(raw), "", raw).astype(object)
    mapped = pd.Series(text, dtype=object).map(dict(spec.classes)).to_numpy(dtype=object)
    low = pd.Series(text, dtype="string").str.lower().to_numpy(dtype=object)
    own = np.isin(low, list(OSM_CLASSES))
    alias = pd.Series(low, dtype=object).map(_ALIASES).to_numpy(dtype=object)
    out = np.where(pd.notna(mapped), mapped, np.where(own, low, alias))
    unknown = pd.isna(out)
    if unknown.any():
        vals = text[unknown]
        hint = ""
        if any(any("\x80" <= ch <= "\xff" for ch in str(v)) for v in vals):
            hint = (
                " (the text looks mis-decoded: a shapefile without .cpg written in GBK? "
                "give --road-encoding GBK)"
            )
        example = ", ".join(f"{v}=tertiary" for v in np.unique(vals.astype(str))[:2])
        msg = (
            f"{where}: column {column!r} has {int(unknown.sum())} feature(s) whose road class "
            f"is not an OSM highway class: {_count_values(vals)}{hint}; map each class to one "
            f"of {_CLASS_EXAMPLES} with --road-classes (e.g. {example}), or to "
            "'no' to leave those roads out"
        )
        raise NetworkError(msg)
    return out


def _oneway(where: str, raw: np.ndarray, column: str) -> np.ndarray:
    """Normalise a oneway column to OSM's yes / -1 / no, None where blank."""
    low = pd.Series(raw, dtype="string").str.lower()
    out = low.map(_ONEWAY).astype(object)
    bad = low.notna().to_numpy() & out.isna().to_numpy()
    if bad.any():
        msg = (
            f"{where}: column {column!r} has {int(bad.sum())} feature(s) with a oneway value "
            f"not understood: {_count_values(raw[bad])}; use yes/no/-1 (also true/false/1/0) "
            "or Geofabrik's F (one-way as drawn), T (one-way against the drawing), B (both)"
        )
        raise NetworkError(msg)
    return np.asarray(out.where(out.notna(), None), dtype=object)


def _feature_ids(
    where: str,
    table: Any,
    column: str | None,
    rows: np.ndarray,
    *,
    explicit: bool,
    say: ProgressFn,
) -> np.ndarray:
    """Return each feature's way id: the id column's whole numbers, else its row number.

    Edits and reports name roads by these ids, so an OSM-derived layer's ``osm_id``
    keeps the OSM way ids; a layer without one numbers its features from 1.
    """
    if column is not None:
        values = pd.to_numeric(table[column], errors="coerce")
        whole = (values.notna() & (values == np.round(values))).to_numpy()
        if whole.all():
            return values.to_numpy().astype(np.int64)
        bad = np.flatnonzero(~whole)
        shown = ", ".join(f"row {rows[i] + 1}" for i in bad[:_SHOWN])
        problem = (
            f"{where}: id column {column!r} must hold whole numbers; {len(bad)} feature(s) "
            f"do not: {shown}"
        )
        if explicit:
            raise NetworkError(problem)
        say(f"warning: {problem}; numbering the features by row instead")
    return (rows + 1).astype(np.int64)


# --------------------------------------------------------------------------- geometry


def _to_wgs84(
    where: str, xy: np.ndarray, stored: Any, spec: LineLayer, say: ProgressFn
) -> tuple[np.ndarray, np.ndarray]:
    """Return the vertices in WGS84, from the file's CRS or the declared one."""
    declared = parse_crs(spec.crs) if spec.crs is not None else None
    stored_crs = pyproj.CRS.from_user_input(stored) if stored is not None else None
    x, y = xy[:, 0], xy[:, 1]
    if stored_crs is not None and declared is not None:
        same = (
            stored_crs.equals(WGS84, ignore_axis_order=True)
            if isinstance(declared, str)  # GCJ-02 / BD-09 are stored as plain EPSG:4326
            else stored_crs.equals(declared, ignore_axis_order=True)
        )
        if not same:
            msg = (
                f"{where}: the file's CRS {_label(stored_crs)} disagrees with the road layer "
                f"option crs={spec.crs!r}; drop the option or fix the file's CRS"
            )
            raise NetworkError(msg)
    source: Any = declared if declared is not None else stored_crs
    if source is None:
        inside = bool((np.abs(x) <= 180).all() and (np.abs(y) <= 90).all())
        if not inside:
            msg = (
                f"{where} has no CRS and its coordinates are not degrees (x up to "
                f"{np.nanmax(np.abs(x)):.0f}); give --road-crs, e.g. "
                "'EPSG:4547' (CGCS2000 3-degree Gauss-Kruger, 114E) or 'cgcs2000'"
            )
            raise NetworkError(msg)
        say(
            f"warning: {where} has no CRS; its coordinates are degrees and are read as "
            "WGS84 (give --road-crs, e.g. 'gcj02', if they are not)"
        )
        return x.copy(), y.copy()
    if not isinstance(source, str) and source.equals(WGS84, ignore_axis_order=True):
        return x.copy(), y.copy()
    try:
        lon, lat = to_wgs84(x, y, source)
    except CoordinateError as exc:
        msg = f"{where}: {exc}"
        raise NetworkError(msg) from exc
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _label(crs: pyproj.CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else repr(crs.name)


def _check_range(where: str, lon: np.ndarray, lat: np.ndarray, vertex_row: np.ndarray) -> None:
    bad = np.flatnonzero(~(np.abs(lon) <= 180) | ~(np.abs(lat) <= 90))
    if not len(bad):
        return
    rows = np.unique(vertex_row[bad])
    shown = ", ".join(f"row {r + 1}" for r in rows[:_SHOWN])
    k = int(bad[0])
    msg = (
        f"{where}: {len(rows)} feature(s) with vertices outside the globe ({shown}; first at "
        f"lon {lon[k]:g}, lat {lat[k]:g}); is the layer's CRS right?"
    )
    raise NetworkError(msg)


def _nodes(
    lon: np.ndarray,
    lat: np.ndarray,
    vertex_part: np.ndarray,
    snap_m: float,
    where: str,
    say: ProgressFn,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return each vertex's node id and node location, with near-miss line ends joined.

    A node id packs the node's coordinate in 1e-7 degree units, so it is the same for a
    coordinate however often and in whatever order it occurs, and stays the same when
    other roads of the layer are edited.
    """
    qx = np.round(lon * _SCALE).astype(np.int64)
    qy = np.round(lat * _SCALE).astype(np.int64)
    key = (qx + _LON_OFFSET) * _LAT_SPAN + (qy + _LAT_OFFSET)
    keys, inverse = np.unique(key, return_inverse=True)
    n = len(keys)
    rep = np.arange(n)
    if snap_m > 0 and n > 1:
        first = np.ones(len(key), dtype=bool)
        first[1:] = vertex_part[1:] != vertex_part[:-1]
        last = np.ones(len(key), dtype=bool)
        last[:-1] = vertex_part[1:] != vertex_part[:-1]
        end = np.zeros(n, dtype=bool)
        end[inverse[first | last]] = True
        rep = _snap(keys, inverse, vertex_part, end, snap_m)
        joined = int((rep != np.arange(n)).sum())
        if joined:
            say(f"{where}: {joined} line end(s) within {snap_m:g} m of another vertex joined")
    node = rep[inverse]
    node_key = keys[node]
    x = node_key // _LAT_SPAN - _LON_OFFSET
    y = node_key % _LAT_SPAN - _LAT_OFFSET
    return node_key, x / _SCALE, y / _SCALE


def _snap(
    keys: np.ndarray, inverse: np.ndarray, vertex_part: np.ndarray, end: np.ndarray, snap_m: float
) -> np.ndarray:
    """Return, per distinct coordinate, the coordinate it joins (itself if none).

    Pairs closer than ``snap_m`` where one is a line end are joined, except the two ends
    of one segment (they are connected already; joining would only delete the segment).
    The joined node lies at the member where most lines meet (lowest key on ties).
    """
    from scipy import sparse
    from scipy.sparse import csgraph
    from scipy.spatial import cKDTree

    n = len(keys)
    lon = (keys // _LAT_SPAN - _LON_OFFSET) / _SCALE
    lat = (keys % _LAT_SPAN - _LAT_OFFSET) / _SCALE
    to_xy = pyproj.Transformer.from_crs(WGS84, utm_crs_for(lon, lat), always_xy=True)
    x, y = to_xy.transform(lon, lat)
    pairs = cKDTree(np.column_stack([x, y])).query_pairs(snap_m, output_type="ndarray")
    if not len(pairs):
        return np.arange(n)
    a, b = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    same_seg = np.flatnonzero(vertex_part[1:] == vertex_part[:-1])
    s, t = inverse[same_seg], inverse[same_seg + 1]
    linked = np.unique(np.minimum(s, t) * n + np.maximum(s, t))
    pair_key = np.minimum(a, b) * n + np.maximum(a, b)
    use = (end[a] | end[b]) & ~np.isin(pair_key, linked)
    a, b = a[use], b[use]
    if not len(a):
        return np.arange(n)
    g = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, label = csgraph.connected_components(g, directed=False)
    uses = np.bincount(inverse, minlength=n)
    # Order members by (label, most uses first, key); the first of each label leads.
    order = np.lexsort((keys, -uses, label))
    lead = np.ones(n, dtype=bool)
    lead[1:] = label[order][1:] != label[order][:-1]
    head = order[np.maximum.accumulate(np.where(lead, np.arange(n), 0))]
    rep = np.empty(n, dtype=np.int64)
    rep[order] = head
    return rep


def _merge_twins(
    ref: np.ndarray, vertex_part: np.ndarray, n_parts: int, tags: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Merge parts along exactly the same nodes with the same attributes (but ``oneway``).

    Returns which parts to keep and every part's ``oneway`` value: a kept part carries
    the union of its group's directions, so two opposite one-way features are one
    two-way road, and a duplicate does not double its road.
    """
    keep = np.ones(n_parts, dtype=bool)
    oneway = tags["oneway"].to_numpy(dtype=object).copy()
    if n_parts < 2:
        return keep, oneway
    # Consecutive repeats (a vertex joined to its neighbour) do not change the road.
    repeat = np.zeros(len(ref), dtype=bool)
    repeat[1:] = (ref[1:] == ref[:-1]) & (vertex_part[1:] == vertex_part[:-1])
    r, p = ref[~repeat], vertex_part[~repeat]
    count = np.bincount(p, minlength=n_parts)
    stop = np.cumsum(count)
    start = stop - count
    head = r[np.minimum(start, len(r) - 1)]
    tail = r[np.maximum(stop - 1, 0)]
    attrs = [
        pd.factorize(tags[k].astype(object).fillna("\0"))[0] for k in TAG_KEYS if k != "oneway"
    ]
    roundabout = (tags["junction"].astype("string").fillna("") == "roundabout").to_numpy()
    group = pd.DataFrame(
        {"lo": np.minimum(head, tail), "hi": np.maximum(head, tail), "n": count}
        | {f"a{i}": a for i, a in enumerate(attrs)}
    )
    candidate = group.duplicated(keep=False).to_numpy() & (count >= 2) & ~roundabout
    if not candidate.any():
        return keep, oneway
    idx = np.flatnonzero(candidate)
    seqs = {int(i): r[start[i] : stop[i]] for i in idx}
    sub = group.iloc[idx].reset_index(drop=True)
    for members in sub.groupby(list(sub.columns), sort=False).indices.values():
        _merge_bucket([int(idx[k]) for k in members], seqs, keep, oneway)
    return keep, oneway


def _merge_bucket(
    members: list[int], seqs: dict[int, np.ndarray], keep: np.ndarray, oneway: np.ndarray
) -> None:
    """Merge the members of one candidate bucket whose node sequences match exactly."""
    left = list(members)
    while len(left) > 1:
        base = left.pop(0)
        seq = seqs[base]
        fwd, back = _directions(oneway[base], same=True)
        rest = []
        for other in left:
            o = seqs[other]
            if np.array_equal(o, seq):
                f, b = _directions(oneway[other], same=True)
            elif np.array_equal(o, seq[::-1]):
                f, b = _directions(oneway[other], same=False)
            else:
                rest.append(other)
                continue
            fwd, back = fwd or f, back or b
            keep[other] = False
        if len(rest) < len(left):
            oneway[base] = "no" if fwd and back else ("yes" if fwd else "-1")
        left = rest


def _directions(value: object, *, same: bool) -> tuple[bool, bool]:
    """Return (along, against) the base feature's drawing for a feature's oneway value."""
    if value == "yes":
        along, against = True, False
    elif value == "-1":
        along, against = False, True
    else:
        return True, True
    return (along, against) if same else (against, along)
