"""Read the base map of an area from its own OSM file: water, land use, buildings, names.

The same extract the road network comes from holds what a reader needs to see where
things are: rivers and ponds, fields and woods, buildings, the names of villages and
towns, and the names of roads. :func:`read_base_layers` reads them with pyosmium (XML,
``.osm.bz2``/``.gz`` or PBF), areas assembled from closed ways and multipolygon
relations by libosmium, into a frozen :class:`BaseLayers` in EPSG:4326 for
:mod:`maps.basemap` to draw under the overlays.

Memory stays bounded on a large file: geometries are converted and clipped chunk by
chunk, and at most :data:`MAX_BUILDINGS` buildings are kept (the largest by area; a
building is a few square metres of grey on a base map, the large ones carry the
picture), each simplified. Node locations take 16 bytes per node of the file, as for
the road network (:mod:`geo.network.osm`).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import CoordinateError, NetworkError

if TYPE_CHECKING:
    from geo.area import Area

__all__ = [
    "LANDUSE_CLASSES",
    "MAX_BUILDINGS",
    "OSM_CREDIT",
    "PLACE_KINDS",
    "ROAD_NAME_CLASSES",
    "BaseLayers",
    "area_base_layers",
    "read_base_layers",
]

#: OpenStreetMap's data credit, which its licence (ODbL) asks for wherever it is shown.
OSM_CREDIT: Final = "© OpenStreetMap contributors"
#: Most buildings kept from one file (the largest by area): a province holds millions.
MAX_BUILDINGS: Final = 100_000
#: ``place=*`` values read as place names, from the largest to the smallest.
PLACE_KINDS: Final = (
    "city", "town", "suburb", "village", "quarter", "neighbourhood", "hamlet",
    "isolated_dwelling",
)  # fmt: skip
#: Highway classes whose names are read for road labels.
ROAD_NAME_CLASSES: Final = (
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
)  # fmt: skip

#: OSM ``(key, value)`` -> land-use class drawn on the base map.
LANDUSE_CLASSES: Final[dict[tuple[str, str], str]] = {
    **{("landuse", v): "residential" for v in ("residential", "village_green")},
    **{
        ("landuse", v): "farmland"
        for v in (
            "farmland",
            "farmyard",
            "paddy",
            "orchard",
            "vineyard",
            "allotments",
            "plant_nursery",
            "greenhouse_horticulture",
            "aquaculture",
        )
    },  # fmt: skip
    **{("landuse", v): "forest" for v in ("forest",)},
    **{("natural", v): "forest" for v in ("wood", "scrub")},
    **{("landuse", v): "grass" for v in ("grass", "meadow", "recreation_ground", "cemetery")},
    **{("natural", v): "grass" for v in ("grassland", "heath")},
    **{("leisure", v): "grass" for v in ("park", "garden", "pitch", "golf_course", "common")},
    **{
        ("landuse", v): "industrial"
        for v in (
            "industrial",
            "commercial",
            "retail",
            "construction",
            "railway",
            "quarry",
            "brownfield",
            "landfill",
            "military",
            "port",
            "depot",
        )
    },  # fmt: skip
}
_WATER_AREAS: Final = frozenset(
    {("natural", "water"), ("waterway", "riverbank"), ("landuse", "reservoir"),
     ("landuse", "basin"), ("waterway", "dock")}
)  # fmt: skip
#: ``waterway=*`` values drawn as lines.
_WATER_LINES: Final = frozenset({"river", "stream", "canal", "drain", "ditch"})
_KEYS: Final = ("natural", "waterway", "landuse", "leisure", "building", "place", "highway")

#: Objects converted and clipped at a time: bounds memory on a province-size file.
_CHUNK: Final = 50_000
#: Vertices of a building closer than this to a straight line are dropped.
_BUILDING_SIMPLIFY_M: Final = 0.5
# A tolerance in degrees, for simplifying in lon/lat: metres per degree of latitude.
# A degree of longitude is shorter, so the tolerance is smaller there: only ever finer.
_M_PER_DEG: Final = 111_320.0

_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "water": ("kind", "name"),
    "landuse": ("kind", "name"),
    "buildings": (),
    "places": ("name", "name_zh", "name_en", "place"),
    "road_names": ("name", "name_zh", "name_en", "highway"),
}


@dataclass(frozen=True)
class BaseLayers:
    """The base features of one OSM file, in EPSG:4326.

    Attributes
    ----------
    water
        Water areas (``kind="water"``, Polygon/MultiPolygon) and waterway lines
        (``kind`` river/stream/canal/drain/ditch), with ``name`` (may be empty).
    landuse
        Land-use areas with ``kind`` residential/farmland/forest/grass/industrial and
        ``name``.
    buildings
        Building footprints, simplified; at most :data:`MAX_BUILDINGS`.
    places
        Place points with ``name``, ``name_zh`` (``name:zh``), ``name_en``
        (``name:en``) and ``place`` (one of :data:`PLACE_KINDS`).
    road_names
        Named roads of :data:`ROAD_NAME_CLASSES`, one (Multi)LineString per name and
        class, with ``name``, ``name_zh``, ``name_en`` and ``highway``.
    source
        The file read.
    credit
        The data's credit for the map's corner: OpenStreetMap's, or None for a file
        whose header calls it synthetic (the sample district).
    buildings_dropped
        Buildings left out beyond :data:`MAX_BUILDINGS` (the smallest).
    """

    water: gpd.GeoDataFrame
    landuse: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    road_names: gpd.GeoDataFrame
    source: str = ""
    buildings_dropped: int = 0
    credit: str | None = OSM_CREDIT
    bounds: tuple[float, float, float, float] | None = field(default=None)

    def __post_init__(self) -> None:
        for name, columns in _COLUMNS.items():
            gdf = getattr(self, name)
            missing = [c for c in columns if c not in gdf.columns]
            if missing or gdf.crs is None or gdf.crs.to_epsg() != 4326:
                msg = f"base layer {name} must be in EPSG:4326 with columns {columns}"
                raise CoordinateError(msg)

    @property
    def empty(self) -> bool:
        """Whether the file held no base feature at all (a roads-only extract)."""
        return not any(len(getattr(self, n)) for n in _COLUMNS)

    def counts(self) -> dict[str, int]:
        """Return the number of features of each layer."""
        return {n: len(getattr(self, n)) for n in _COLUMNS}


def read_base_layers(
    path: str | os.PathLike[str],
    *,
    bounds: tuple[float, float, float, float] | None = None,
    max_buildings: int = MAX_BUILDINGS,
) -> BaseLayers:
    """Read the water, land use, buildings, place and road names of an OSM file.

    Parameters
    ----------
    path
        OSM XML (plain, ``.bz2``, ``.gz``) or PBF file.
    bounds
        ``(west, south, east, north)`` in WGS84 degrees to clip every layer to;
        ``None`` keeps the whole file.
    max_buildings
        Most buildings kept, the largest by area.

    Returns
    -------
    BaseLayers
        Every layer in EPSG:4326 (empty layers when the file holds none).

    Raises
    ------
    NetworkError
        If the file is missing or not a readable OSM file.
    CoordinateError
        If ``bounds`` are not finite WGS84 ``(west, south, east, north)``.
    """
    import osmium

    box = _check_bounds(bounds)
    if isinstance(max_buildings, bool) or not isinstance(max_buildings, int) or max_buildings < 0:
        msg = f"max_buildings must be a whole number >= 0, got {max_buildings!r}"
        raise CoordinateError(msg)
    src = Path(path)
    if not src.is_file():
        msg = f"{src}: OSM file not found"
        raise NetworkError(msg)
    acc = _Accumulator(box, max_buildings)
    wkb = osmium.geom.WKBFactory()
    try:
        fp = (
            osmium.FileProcessor(str(src))
            .with_locations("sparse_mem_array")
            .with_areas()
            .with_filter(osmium.filter.KeyFilter(*_KEYS))
        )
        generator = str(fp.header.get("generator", ""))
        for obj in fp:
            if isinstance(obj, osmium.osm.Area):
                _area(obj, wkb, acc)
            elif isinstance(obj, osmium.osm.Way):
                _way(obj, wkb, acc)
            elif isinstance(obj, osmium.osm.Node):
                _node(obj, acc)
            if acc.pending >= _CHUNK:
                acc.flush()
    except RuntimeError as exc:  # libosmium reports format errors as RuntimeError
        msg = f"{src}: not a readable OSM file ({exc})"
        raise NetworkError(msg) from exc
    acc.flush()
    # A synthetic file (the sample district) is nobody's OpenStreetMap data to credit.
    return acc.result(str(src), None if "synthetic" in generator else OSM_CREDIT)


#: Base layers read per (file, mtime, size, bounds): seven maps of one job read once.
_CACHE: Final[OrderedDict[tuple[Any, ...], BaseLayers]] = OrderedDict()
_CACHE_SIZE: Final = 4


def area_base_layers(area: Area) -> BaseLayers | None:
    """Return the base layers of ``area``'s OSM file, clipped to its roads' extent.

    Read once per file version: the result is cached by resolved path, modification
    time, size and extent in a small LRU, so a service or a job drawing several maps
    of one area reads the file once.

    Returns
    -------
    BaseLayers or None
        None when the area's roads come from a line layer (no OSM file to read).

    Raises
    ------
    NetworkError
        If the OSM file cannot be read.
    """
    if area.spec.lines is not None:
        return None
    path = area.spec.resolve(area.spec.osm).resolve()
    try:
        st = path.stat()
    except OSError as exc:
        msg = f"{path}: OSM file not found ({exc.strerror})"
        raise NetworkError(msg) from exc
    extent = area.extent
    key = (str(path), st.st_mtime_ns, st.st_size, extent)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    layers = read_base_layers(path, bounds=extent)
    _CACHE[key] = layers
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return layers


# --------------------------------------------------------------------------- reading


@dataclass
class _Accumulator:
    """Rows waiting to be converted, and the converted chunks of every layer."""

    box: tuple[float, float, float, float] | None
    max_buildings: int
    pending: int = 0
    raw: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {n: [] for n in _COLUMNS})
    done: dict[str, list[gpd.GeoDataFrame]] = field(
        default_factory=lambda: {n: [] for n in _COLUMNS}
    )
    buildings_seen: int = 0

    def add(self, layer: str, row: tuple[Any, ...]) -> None:
        self.raw[layer].append(row)
        self.pending += 1

    def flush(self) -> None:
        """Convert the pending rows (WKB or lon/lat) to geometry, clipped to the box."""
        for name, rows in self.raw.items():
            if not rows:
                continue
            columns = _COLUMNS[name]
            table = pd.DataFrame(rows, columns=[*columns, "_geom"])
            if name == "places":
                lonlat = np.array(table["_geom"].tolist(), dtype=np.float64)
                geom = np.asarray(shapely.points(lonlat), dtype=object)
            else:
                geom = np.asarray(shapely.from_wkb(table["_geom"].to_numpy()), dtype=object)
            table = table.drop(columns="_geom")
            if self.box is not None:
                geom = _clip(geom, self.box)
            keep = ~shapely.is_empty(geom)
            gdf = gpd.GeoDataFrame(
                table[keep].reset_index(drop=True), geometry=geom[keep], crs=4326
            )
            if name == "buildings":
                self.buildings_seen += len(gdf)
                gdf = _largest([*self.done[name], _simplified(gdf)], self.max_buildings)
                self.done[name] = [gdf]
            else:
                self.done[name].append(gdf)
            rows.clear()
        self.pending = 0

    def result(self, source: str, credit: str | None) -> BaseLayers:
        out = {n: _concat(self.done[n], _COLUMNS[n]) for n in _COLUMNS}
        out["places"] = _dedupe_places(out["places"])
        out["road_names"] = _merge_roads(out["road_names"])
        return BaseLayers(
            **out,
            source=source,
            buildings_dropped=self.buildings_seen - len(out["buildings"]),
            bounds=self.box,
            credit=credit,
        )


def _name_tags(tags: Any) -> tuple[str | None, str | None, str | None]:
    return tags.get("name"), tags.get("name:zh"), tags.get("name:en")


def _node(obj: Any, acc: _Accumulator) -> None:
    tags = obj.tags
    kind = tags.get("place")
    if kind not in PLACE_KINDS or not obj.location.valid():
        return
    name, zh, en = _name_tags(tags)
    if name or zh or en:
        acc.add("places", (name, zh, en, kind, (obj.location.lon, obj.location.lat)))


def _way(obj: Any, wkb: Any, acc: _Accumulator) -> None:
    tags = obj.tags
    waterway = tags.get("waterway")
    highway = tags.get("highway")
    is_water = waterway in _WATER_LINES
    is_road = highway in ROAD_NAME_CLASSES and "name" in tags
    if not (is_water or is_road):
        return
    line = _linestring(obj, wkb)
    if line is None:
        return
    if is_water:
        acc.add("water", (waterway, tags.get("name"), line))
    if is_road:
        acc.add("road_names", (*_name_tags(tags), highway, line))


def _linestring(obj: Any, wkb: Any) -> bytes | str | None:
    """Return the way's WKB, over the nodes the extract holds (it may be cut at its edge)."""
    try:
        return wkb.create_linestring(obj)  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - libosmium's invalid-location error has no Python type
        pts = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
        if len(pts) < 2:
            return None
        return shapely.to_wkb(shapely.linestrings(pts))  # type: ignore[no-any-return]


def _area(obj: Any, wkb: Any, acc: _Accumulator) -> None:
    tags = obj.tags
    layer: str | None = None
    kind = ""
    if "building" in tags and tags.get("building") != "no":
        layer = "buildings"
    else:
        for key in ("natural", "waterway", "landuse", "leisure"):
            value = tags.get(key)
            if value is None:
                continue
            if (key, value) in _WATER_AREAS:
                layer, kind = "water", "water"
                break
            if (key, value) in LANDUSE_CLASSES:
                layer, kind = "landuse", LANDUSE_CLASSES[key, value]
                break
    if layer is None:
        return
    try:
        geom = wkb.create_multipolygon(obj)
    except Exception:  # noqa: BLE001 - a broken ring is skipped, as renderers do
        return
    if layer == "buildings":
        acc.add("buildings", (geom,))
    else:
        acc.add(layer, (kind, tags.get("name"), geom))


# --------------------------------------------------------------------------- helpers


def _check_bounds(
    bounds: tuple[float, float, float, float] | None,
) -> tuple[float, float, float, float] | None:
    if bounds is None:
        return None
    try:
        w, s, e, n = (float(v) for v in bounds)
    except (TypeError, ValueError) as exc:
        msg = f"bounds must be (west, south, east, north) in degrees, got {bounds!r}"
        raise CoordinateError(msg) from exc
    if not (all(np.isfinite([w, s, e, n])) and -180 <= w < e <= 180 and -90 <= s < n <= 90):
        msg = (
            "bounds must be finite (west, south, east, north) degrees with west < east "
            f"and south < north, got {bounds!r}"
        )
        raise CoordinateError(msg)
    return w, s, e, n


def _clip(geom: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Cut geometries to ``box``; those wholly inside are kept as they are (the most)."""
    rect = shapely.box(*box)
    out = np.asarray(geom, dtype=object).copy()
    inside = shapely.contains_properly(rect, out)
    edge = ~inside & shapely.intersects(rect, out)
    out[~inside & ~edge] = shapely.Point()  # empty: dropped by the caller
    if edge.any():
        out[edge] = shapely.clip_by_rect(out[edge], *box)
    return out


def _simplified(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not len(gdf):
        return gdf
    geom = shapely.simplify(
        gdf.geometry.to_numpy(), _BUILDING_SIMPLIFY_M / _M_PER_DEG, preserve_topology=True
    )
    return gdf.set_geometry(geom)


def _largest(parts: list[gpd.GeoDataFrame], n: int) -> gpd.GeoDataFrame:
    gdf = _concat(parts, ())
    if len(gdf) <= n:
        return gdf
    order = np.argsort(-shapely.area(gdf.geometry.to_numpy()), kind="stable")[:n]
    return gdf.iloc[np.sort(order)].reset_index(drop=True)


def _concat(parts: Iterable[gpd.GeoDataFrame], columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return gpd.GeoDataFrame(
            {c: pd.Series(dtype=object) for c in columns}, geometry=[], crs=4326
        )
    if len(parts) == 1:
        return parts[0]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)


def _dedupe_places(places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    # A place mapped as a node and again as a second node (two extracts merged, or an
    # import over an older node) would print its name twice.
    key = places["name"].fillna("") + "\x00" + places["place"].astype(str)
    return places[~key.duplicated()].reset_index(drop=True)


def _merge_roads(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Merge a road's ways into one (Multi)LineString per name and class, for labels."""
    if not len(roads):
        return roads
    merged = roads.dissolve(by=["name", "highway"], aggfunc="first", sort=True).reset_index()
    merged = merged.set_geometry(shapely.line_merge(merged.geometry.to_numpy()))
    return merged[["name", "name_zh", "name_en", "highway", "geometry"]]
