"""Routable road networks from OpenStreetMap files: the only place a graph is built.

The pipeline is vectorised end to end:

1. read highway ways with pyosmium (``.osm``, ``.osm.bz2``/``.gz`` XML and ``.osm.pbf``
   share one C++ reader), keeping node locations;
2. trim ways at the extract's edge (nodes missing from the file) and at an optional clip
   bbox/polygon, splitting a way into runs of present nodes;
3. turn runs into directed segments (one-way rules as osmnx applies them) with per-mode
   travel times;
4. simplify the topology with osmnx's endpoint rules, but also keep a node wherever the
   road class or the ``lit`` status changes, so lighting survives simplification;
5. keep the largest strongly connected component and report what was dropped.

The result, :class:`RoadNetwork`, holds plain arrays (nodes, edges, geometry as flat
coordinates) so it caches to a single ``.npz`` file and compiles straight to CSR for the
travel-time engine. ``to_networkx`` gives an osmnx-compatible MultiDiGraph for small views.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from geo.atomic import atomic_write
from geo.coords import utm_crs_for
from geo.errors import NetworkError

Mode = Literal["car", "motorbike", "foot"]
MODES: tuple[Mode, ...] = ("car", "motorbike", "foot")
LitClass = Literal["yes", "no", "unknown"]

#: Bump when the cached arrays change meaning, so stale caches are rebuilt, not misread.
CACHE_VERSION = 3

#: Highway classes that are never routable, whatever the mode.
_NOT_ROADS = frozenset(
    {
        "construction",
        "proposed",
        "planned",
        "abandoned",
        "razed",
        "disused",
        "platform",
        "raceway",
        "bus_guideway",
        "elevator",
        "escalator",
        "corridor",
        "rest_area",
        "services",
        "bus_stop",
        "no",
    }
)

# Typical free-flow speeds (km/h) of a patrol on Chinese rural roads. They sit below the
# statutory limits (Road Traffic Safety Law art. 45: 40 km/h on roads without a centre
# line, 70 km/h with one lane each way) because village roads are narrow, shared with
# tractors, pedestrians and livestock, and a patrol drives attentively. Motorbikes and
# e-bikes are one mode: e-bikes are capped at 25 km/h by GB 17761-2018, motorbikes ride
# faster, so the table is a middle ground; neither may use expressways.
SPEEDS_KMH: dict[Mode, dict[str, float]] = {
    "car": {
        "motorway": 90.0,
        "motorway_link": 50.0,
        "trunk": 60.0,
        "trunk_link": 40.0,
        "primary": 50.0,
        "primary_link": 35.0,
        "secondary": 45.0,
        "secondary_link": 30.0,
        "tertiary": 40.0,
        "tertiary_link": 30.0,
        "unclassified": 30.0,
        "residential": 25.0,
        "road": 25.0,
        "living_street": 10.0,
        "service": 15.0,
        "track": 15.0,
    },
    "motorbike": {
        "trunk": 40.0,
        "trunk_link": 30.0,
        "primary": 40.0,
        "primary_link": 30.0,
        "secondary": 35.0,
        "secondary_link": 30.0,
        "tertiary": 35.0,
        "tertiary_link": 30.0,
        "unclassified": 30.0,
        "residential": 25.0,
        "road": 25.0,
        "living_street": 10.0,
        "service": 15.0,
        "track": 20.0,
        "cycleway": 20.0,
        "path": 12.0,
    },
    "foot": {
        # Walking pace is the same on any surface worth routing; steps and rough paths slow it.
        "trunk": 4.5,
        "trunk_link": 4.5,
        "primary": 4.5,
        "primary_link": 4.5,
        "secondary": 4.5,
        "secondary_link": 4.5,
        "tertiary": 4.5,
        "tertiary_link": 4.5,
        "unclassified": 4.5,
        "residential": 4.5,
        "road": 4.5,
        "living_street": 4.5,
        "service": 4.5,
        "track": 4.0,
        "cycleway": 4.5,
        "path": 4.0,
        "footway": 4.5,
        "pedestrian": 4.5,
        "bridleway": 4.0,
        "steps": 2.0,
    },
}

#: Fastest speed a tagged maxspeed may set, per mode (a posted 120 does not make a
#: motorbike patrol faster than its cap).
_MODE_CAP_KMH: dict[Mode, float] = {"car": 100.0, "motorbike": 45.0, "foot": 5.0}

# osmnx's oneway vocabulary (graph._add_paths), mirrored so our graph matches osmnx's.
_ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
_REVERSED_VALUES = frozenset({"-1", "reverse", "T"})

# lit=* values meaning "there is street lighting", per the OSM wiki (Key:lit); the rest of
# the positive values are time-restricted lighting, which still lights a night patrol.
_LIT_YES = frozenset({"yes", "24/7", "automatic", "limited", "interval", "sunset-sunrise"})
_LIT_NO = frozenset({"no", "disused"})

#: Edge attributes whose change along a road keeps a node during simplification.
SIMPLIFY_ATTRS_DIFFER: tuple[str, ...] = ("highway", "lit")

ProgressFn = Callable[[str], None]


def normalise_lit(values: np.ndarray | pd.Series | list[object]) -> np.ndarray:
    """Map raw ``lit=*`` tag values to ``"yes"``, ``"no"`` or ``"unknown"``.

    Untagged (None/NaN/empty) and unrecognised values stay ``"unknown"``: most real roads
    carry no lit tag, and guessing would invent darkness or light that nobody surveyed.
    Times such as ``"Mo-Su 18:00-24:00"`` (lighting on a schedule) count as ``"yes"``.
    """
    raw = pd.Series(values, dtype=object).astype("string").str.strip().str.lower()
    out = np.full(len(raw), "unknown", dtype=object)
    filled = raw.fillna("")
    out[filled.isin(_LIT_YES).to_numpy()] = "yes"
    out[filled.isin(_LIT_NO).to_numpy()] = "no"
    scheduled = filled.str.contains(r"\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}", regex=True)
    out[scheduled.to_numpy() & (out == "unknown")] = "yes"
    return out


def parse_maxspeed(values: np.ndarray | pd.Series | list[object]) -> np.ndarray:
    """Parse ``maxspeed=*`` values to km/h; NaN where untagged or not a number.

    Accepts ``"60"``, ``"60 km/h"``, ``"30 mph"`` and lists such as ``"40;60"`` (the lower
    limit is taken, since a patrol must respect it). Symbolic values (``"none"``,
    ``"signals"``, ``"CN:rural"``) give NaN so the class table applies.
    """
    raw = pd.Series(values, dtype=object).astype("string").str.lower()
    parts = raw.str.extractall(r"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>mph|km/h|kmh|kph)?")
    if parts.empty:
        return np.full(len(raw), np.nan)
    num = parts["num"].astype(float)
    num = num.where(parts["unit"].fillna("") != "mph", num * 1.609344)
    per_row = num.groupby(level=0).min()
    out = np.full(len(raw), np.nan)
    out[per_row.index.to_numpy()] = per_row.to_numpy()
    out[(out <= 0) | (out > 200)] = np.nan
    return out


def mode_speeds_kmh(mode: Mode, highway: np.ndarray, maxspeed_kmh: np.ndarray) -> np.ndarray:
    """Return the speed of ``mode`` on each edge, NaN where the mode may not go.

    A tagged ``maxspeed`` replaces the class speed, clipped to the mode's cap; foot
    ignores it.
    """
    _check_mode(mode)
    table = SPEEDS_KMH[mode]
    hw = pd.Series(highway, dtype=object)
    speed = hw.map(table).to_numpy(dtype=float, copy=True)
    if mode != "foot":
        tagged = np.isfinite(maxspeed_kmh) & np.isfinite(speed)
        speed[tagged] = np.minimum(maxspeed_kmh[tagged], _MODE_CAP_KMH[mode])
    return speed


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        msg = f"unknown travel mode {mode!r}; expected one of {', '.join(MODES)}"
        raise NetworkError(msg)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DroppedComponent:
    """A piece of road cut off from the main network (not strongly connected to it)."""

    nodes: int
    edges: int
    road_km: float
    lon: float
    lat: float


@dataclass(frozen=True)
class DroppedReport:
    """What keeping the largest strongly connected component removed."""

    components: int
    nodes: int
    edges: int
    road_km: float
    largest: tuple[DroppedComponent, ...] = ()


@dataclass(frozen=True)
class SourceInfo:
    """Where a network came from, and how its reading went."""

    path: str
    sha256: str
    ways_read: int
    ways_trimmed: int
    from_cache: bool = False


@dataclass(frozen=True)
class NetworkSummary:
    """Counts a planner reads first: size, road length by lighting, what was dropped."""

    mode: str
    crs: str
    nodes: int
    edges: int
    road_km: float
    directed_km: float
    lit_km: dict[str, float]
    highway_km: dict[str, float]
    dropped: DroppedReport
    source: SourceInfo

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-serialisable dict."""
        return asdict(self)


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A directed road graph for one travel mode, as arrays in a metric CRS.

    ``nodes`` columns: ``osmid``, ``x``, ``y`` (working CRS, metres), ``lon``, ``lat``.
    ``edges`` columns: ``u``, ``v`` (row positions in ``nodes``), ``key``, ``osmid`` (the
    first OSM way of the edge), ``osm_ways`` (every way along it, ``;``-separated),
    ``highway``, ``name``, ``lit`` (yes/no/unknown),
    ``lit_raw``, ``surface``, ``maxspeed_kmh``, ``oneway``, ``reversed`` (the backward
    twin of a two-way road; excluded when counting road km), ``length_m``,
    ``time_car_s``, ``time_motorbike_s``, ``time_foot_s`` (NaN where that mode may not
    use the road) and ``travel_time_s`` (this network's mode). An edge's geometry is
    ``coords[offsets[i]:offsets[i + 1]]``, in road order from ``u`` to ``v``.
    """

    mode: Mode
    crs: pyproj.CRS
    nodes: pd.DataFrame
    edges: pd.DataFrame
    coords: np.ndarray
    offsets: np.ndarray
    dropped: DroppedReport
    source: SourceInfo
    _snap_index: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        n_nodes, n_edges = len(self.nodes), len(self.edges)
        if len(self.offsets) != n_edges + 1 or (n_edges and self.offsets[-1] != len(self.coords)):
            msg = "edge geometry offsets do not match the edge table"
            raise NetworkError(msg)
        if n_edges and (self.edges["u"].max() >= n_nodes or self.edges["v"].max() >= n_nodes):
            msg = "edge endpoints refer to nodes outside the node table"
            raise NetworkError(msg)

    # ----------------------------------------------------------------- views

    @property
    def edge_geometry(self) -> np.ndarray:
        """Edge LineStrings (shapely array, working CRS), built once and kept.

        Edits (closed roads, new speeds, lamps) never change geometry, so networks
        derived with ``dataclasses.replace`` share this cache with their base.
        """
        cached = self._snap_index.get("geoms")
        if cached is None:
            counts = np.diff(self.offsets)
            idx = np.repeat(np.arange(len(counts)), counts)
            cached = np.asarray(shapely.linestrings(self.coords, indices=idx), dtype=object)
            self._snap_index["geoms"] = cached
        return cached  # type: ignore[return-value]

    def memory_bytes(self) -> int:
        """Bytes of the node and edge tables and the geometry arrays (not the caches)."""
        return int(
            self.coords.nbytes
            + self.offsets.nbytes
            + self.nodes.memory_usage(deep=True).sum()
            + self.edges.memory_usage(deep=True).sum()
        )

    def edges_gdf(self, *, wgs84: bool = False) -> pd.DataFrame:
        """Return the edges as a GeoDataFrame (working CRS, or WGS84 for output)."""
        import geopandas as gpd

        gdf = gpd.GeoDataFrame(
            self.edges.assign(edge_id=np.arange(len(self.edges))),
            geometry=self.edge_geometry,
            crs=self.crs,
        )
        return gdf.to_crs(4326) if wgs84 else gdf

    def nodes_gdf(self) -> pd.DataFrame:
        """Return the nodes as a GeoDataFrame in the working CRS."""
        import geopandas as gpd

        geom = shapely.points(self.nodes["x"].to_numpy(), self.nodes["y"].to_numpy())
        return gpd.GeoDataFrame(self.nodes.copy(), geometry=geom, crs=self.crs)

    def to_networkx(self) -> nx.MultiDiGraph:
        """Return an osmnx-style MultiDiGraph (node ids are OSM ids; projected CRS).

        Meant for small views and checks against networkx; the travel-time engine works
        on the arrays directly.
        """
        G = nx.MultiDiGraph(crs=self.crs.to_string(), mode=self.mode)
        osmid = self.nodes["osmid"].to_numpy()
        G.add_nodes_from(
            (int(o), {"x": float(x), "y": float(y), "lon": float(lo), "lat": float(la)})
            for o, x, y, lo, la in zip(
                osmid,
                self.nodes["x"].to_numpy(),
                self.nodes["y"].to_numpy(),
                self.nodes["lon"].to_numpy(),
                self.nodes["lat"].to_numpy(),
                strict=True,
            )
        )
        records = self.edges.to_dict("records")
        geoms = self.edge_geometry
        G.add_edges_from(
            (
                int(osmid[r["u"]]),
                int(osmid[r["v"]]),
                int(r["key"]),
                {**r, "edge_id": i, "geometry": geoms[i]},
            )
            for i, r in enumerate(records)
        )
        return G

    def summary(self) -> NetworkSummary:
        """Count nodes, edges and km of road by lighting class and road class."""
        e = self.edges
        road = ~e["reversed"].to_numpy()
        km = e["length_m"].to_numpy() / 1000.0
        lit_km: dict[str, float] = {
            c: round(float(km[road & (e["lit"] == c).to_numpy()].sum()), 3) for c in _LITS
        }
        hw = pd.Series(km[road]).groupby(e["highway"].to_numpy()[road]).sum()
        return NetworkSummary(
            mode=self.mode,
            crs=self.crs.to_string(),
            nodes=len(self.nodes),
            edges=len(e),
            road_km=round(float(km[road].sum()), 3),
            directed_km=round(float(km.sum()), 3),
            lit_km=lit_km,
            highway_km={str(k): round(float(v), 3) for k, v in hw.sort_values().items()},
            dropped=self.dropped,
            source=self.source,
        )


_LITS: tuple[LitClass, ...] = ("yes", "no", "unknown")


def edge_twins(net: RoadNetwork) -> np.ndarray:
    """Return, per edge, the edge running the same road the other way (-1 if one-way).

    Twins have swapped end nodes, the same length and the same midpoint (which tells
    parallel roads between two nodes apart). Neither ``osmid`` nor ``reversed`` can
    pair them: a merged edge takes the way id of its first segment, so the two
    directions of a road chained from several ways may carry different ids. Computed
    once per geometry and cached with it, so edited copies of a network share it.
    """
    cached = net._snap_index.get("twins")
    if cached is not None:
        return cached  # type: ignore[return-value]
    e = net.edges
    mid = shapely.line_interpolate_point(net.edge_geometry, 0.5, normalized=True)
    key = pd.DataFrame(
        {
            "i": np.arange(len(e)),
            "u": e["u"].to_numpy(),
            "v": e["v"].to_numpy(),
            "len": np.round(e["length_m"].to_numpy(dtype=np.float64), 2),
            "mx": np.round(shapely.get_x(mid), 1),
            "my": np.round(shapely.get_y(mid), 1),
        }
    )
    back = key.rename(columns={"u": "v", "v": "u", "i": "j"})
    pairs = key.merge(back, on=["u", "v", "len", "mx", "my"])
    pairs = pairs[pairs["i"] != pairs["j"]].drop_duplicates("i")
    # int32 is plenty (2 billion edges) and halves the array a province-size engine keeps.
    twin = np.full(len(e), -1, dtype=np.int32)
    twin[pairs["i"].to_numpy()] = pairs["j"].to_numpy()
    net._snap_index["twins"] = twin
    return twin


# --------------------------------------------------------------------------- reading


@dataclass
class _Ways:
    """Raw highway ways as flat arrays: one row per way node, in way order."""

    way_id: np.ndarray  # per way
    tags: pd.DataFrame  # per way: highway, name, lit, surface, maxspeed, oneway, junction, access
    node_way: np.ndarray  # per way-node: index into way_id
    node_ref: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    node_valid: np.ndarray


_TAG_KEYS = ("highway", "name", "lit", "surface", "maxspeed", "oneway", "junction", "access")


def _read_osm_ways(path: Path) -> _Ways:
    """Read every highway way of an OSM file, with node locations (missing -> invalid)."""
    import osmium

    way_ids: list[int] = []
    tag_rows: list[tuple[str | None, ...]] = []
    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    valid: list[bool] = []
    counts: list[int] = []
    try:
        fp = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for obj in fp:
            if not isinstance(obj, osmium.osm.Way):
                continue
            tags = obj.tags
            way_ids.append(obj.id)
            tag_rows.append(tuple(tags.get(k) for k in _TAG_KEYS))
            n = 0
            for nd in obj.nodes:
                loc = nd.location
                ok = loc.valid()
                refs.append(nd.ref)
                valid.append(ok)
                lons.append(loc.lon if ok else np.nan)
                lats.append(loc.lat if ok else np.nan)
                n += 1
            counts.append(n)
    except RuntimeError as exc:  # libosmium reports format errors as RuntimeError
        msg = f"{path}: not a readable OSM file ({exc})"
        raise NetworkError(msg) from exc
    return _Ways(
        way_id=np.asarray(way_ids, dtype=np.int64),
        tags=pd.DataFrame(tag_rows, columns=list(_TAG_KEYS), dtype=object),
        node_way=np.repeat(np.arange(len(way_ids), dtype=np.int64), counts),
        node_ref=np.asarray(refs, dtype=np.int64),
        node_lon=np.asarray(lons, dtype=float),
        node_lat=np.asarray(lats, dtype=float),
        node_valid=np.asarray(valid, dtype=bool),
    )


def _access_mask(tags: pd.DataFrame, mode: Mode) -> np.ndarray:
    hw = tags["highway"].astype("string").fillna("")
    ok = hw.isin(SPEEDS_KMH[mode]).to_numpy() & ~hw.isin(_NOT_ROADS).to_numpy()
    ok &= (tags["access"].astype("string").fillna("") != "no").to_numpy()
    return ok


# --------------------------------------------------------------------------- building


@dataclass(frozen=True)
class _Segments:
    """Directed raw segments (one per consecutive node pair and direction)."""

    u: np.ndarray  # node positions
    v: np.ndarray
    way: np.ndarray  # index into the ways table
    reversed: np.ndarray
    oneway: np.ndarray


def _clip_mask(
    lon: np.ndarray,
    lat: np.ndarray,
    bbox: tuple[float, float, float, float] | None,
    polygon: shapely.Geometry | None,
) -> np.ndarray:
    inside = np.ones(len(lon), dtype=bool)
    if bbox is not None:
        w, s, e, n = bbox
        inside &= (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
    if polygon is not None:
        good = np.isfinite(lon)
        pts = shapely.points(np.where(good, lon, 0.0), np.where(good, lat, 0.0))
        inside &= shapely.contains_xy(polygon, lon, lat) | shapely.intersects(polygon, pts)
    return inside


def _segments(ways: _Ways, keep_way: np.ndarray, keep_node: np.ndarray, mode: Mode):
    """Split ways into runs of kept nodes and return their directed segments.

    Returns the unique node refs, their lon/lat, the segments, and how many ways were
    trimmed (lost at least one node to the extract edge or the clip).
    """
    # Drop consecutive repeats of a node (osmnx does the same) before anything else.
    same_as_prev = np.zeros(len(ways.node_ref), dtype=bool)
    same_as_prev[1:] = (ways.node_ref[1:] == ways.node_ref[:-1]) & (
        ways.node_way[1:] == ways.node_way[:-1]
    )
    sel = keep_way[ways.node_way] & ~same_as_prev
    node_way = ways.node_way[sel]
    ref = ways.node_ref[sel]
    lon = ways.node_lon[sel]
    lat = ways.node_lat[sel]
    ok = keep_node[sel]

    trimmed_ways = np.unique(node_way[~ok])
    pair = (node_way[1:] == node_way[:-1]) & ok[1:] & ok[:-1]
    a = np.flatnonzero(pair)
    b = a + 1
    seg_way = node_way[a]

    used = np.unique(np.concatenate([a, b]))
    refs, inverse = np.unique(ref[used], return_inverse=True)
    pos = np.empty(len(ref), dtype=np.int64)
    pos[used] = inverse
    first = np.empty(len(refs), dtype=np.int64)
    first[inverse[::-1]] = used[::-1]  # any occurrence has the same location
    node_lon, node_lat = lon[first], lat[first]

    tags = ways.tags
    oneway_tag = tags["oneway"].astype("string").fillna("").to_numpy(dtype=object)
    junction = tags["junction"].astype("string").fillna("").to_numpy(dtype=object)
    if mode == "foot":
        # People walk both ways along one-way streets (osmnx's bidirectional walk network).
        is_oneway = np.zeros(len(tags), dtype=bool)
    else:
        is_oneway = np.isin(oneway_tag, list(_ONEWAY_VALUES)) | (junction == "roundabout")
    is_rev = is_oneway & np.isin(oneway_tag, list(_REVERSED_VALUES))

    su, sv = pos[a], pos[b]
    w_one = is_oneway[seg_way]
    w_rev = is_rev[seg_way]
    fu = np.where(w_rev, sv, su)
    fv = np.where(w_rev, su, sv)
    back = ~w_one
    seg = _Segments(
        u=np.concatenate([fu, sv[back]]),
        v=np.concatenate([fv, su[back]]),
        way=np.concatenate([seg_way, seg_way[back]]),
        reversed=np.concatenate([np.zeros(len(fu), bool), np.ones(int(back.sum()), bool)]),
        oneway=np.concatenate([w_one, w_one[back]]),
    )
    return refs, node_lon, node_lat, seg, len(trimmed_ways)


def _codes(values: np.ndarray) -> np.ndarray:
    return pd.factorize(pd.Series(values, dtype=object).fillna("\0"), sort=False)[0]


def _endpoints(n: int, u: np.ndarray, v: np.ndarray, differ: list[np.ndarray]) -> np.ndarray:
    """Return osmnx's "true endpoint" flag per node (simplification._is_endpoint)."""
    indeg = np.bincount(v, minlength=n)
    outdeg = np.bincount(u, minlength=n)
    deg = indeg + outdeg
    selfloop = np.zeros(n, dtype=bool)
    selfloop[u[u == v]] = True
    # Unique neighbours over predecessors and successors.
    node = np.concatenate([u, v])
    other = np.concatenate([v, u])
    pairs = np.unique(node.astype(np.int64) * n + other)
    n_nb = np.bincount(pairs // n, minlength=n)
    end = selfloop | (indeg == 0) | (outdeg == 0) | ~((n_nb == 2) & ((deg == 2) | (deg == 4)))
    for attr in differ:
        vals = np.concatenate([attr, attr]).astype(np.int64)
        k = int(vals.max()) + 1 if len(vals) else 1
        uniq = np.unique(node.astype(np.int64) * k + vals)
        end |= np.bincount(uniq // k, minlength=n) > 1
    return end


def _simplify(n: int, seg: _Segments, differ: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Chain raw segments between endpoints, as osmnx.simplify_graph does.

    Returns ``(chain, rank)`` per segment: the chain (output edge) it belongs to, -1 for
    segments that disappear (isolated rings and duplicate parallel pieces between
    interstitial nodes, which osmnx collapses), and its position along the chain.
    """
    u, v = seg.u, seg.v
    m = len(u)
    end = _endpoints(n, u, v, differ)

    # For each interstitial node, its (at most two) out-segments, lowest index first.
    order = np.argsort(u, kind="stable")
    starts = np.searchsorted(u[order], np.arange(n))
    stops = np.searchsorted(u[order], np.arange(n), side="right")
    has1 = stops > starts
    has2 = stops - starts > 1
    out1 = np.where(has1, order[np.minimum(starts, m - 1)], -1) if m else np.full(n, -1)
    out2 = np.where(has2, order[np.minimum(starts + 1, m - 1)], -1) if m else np.full(n, -1)

    # Next segment after e=(a->b) when b is interstitial: b's out-segment not back to a.
    nxt = np.full(m, -1, dtype=np.int64)
    inner = ~end[v]
    b = v[inner]
    o1, o2 = out1[b], out2[b]
    pick = np.where((o1 >= 0) & (v[np.maximum(o1, 0)] != u[inner]), o1, -1)
    alt = np.where((o2 >= 0) & (v[np.maximum(o2, 0)] != u[inner]), o2, -1)
    nxt[inner] = np.where(pick >= 0, pick, alt)

    # Chains start at segments leaving an endpoint. osmnx builds one path per (endpoint,
    # successor) pair, so parallel first segments into the same interstitial node count once.
    start = np.flatnonzero(end[u])
    into_inner = ~end[v[start]]
    key = u[start].astype(np.int64) * n + v[start]
    _, first_idx = np.unique(key[into_inner], return_index=True)
    start = np.concatenate([start[~into_inner], start[into_inner][first_idx]])
    start.sort()

    chain = np.full(m, -1, dtype=np.int64)
    rank = np.zeros(m, dtype=np.int64)
    frontier = start
    ids = np.arange(len(start))
    step = 0
    while len(frontier) and step <= m:
        fresh = chain[frontier] < 0
        frontier, ids = frontier[fresh], ids[fresh]
        chain[frontier] = ids
        rank[frontier] = step
        follow = nxt[frontier]
        keep = follow >= 0
        frontier, ids = follow[keep], ids[keep]
        step += 1
    return chain, rank


def _largest_scc(n: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (keep mask, component labels) of the largest strongly connected component."""
    if n == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    g = sparse.csr_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
    _, labels = csgraph.connected_components(g, directed=True, connection="strong")
    sizes = np.bincount(labels)
    return labels == int(np.argmax(sizes)), labels


@dataclass(frozen=True)
class BuildOptions:
    """How to turn an OSM file into a network; part of the cache key."""

    mode: Mode = "car"
    bbox: tuple[float, float, float, float] | None = None
    polygon_wkt: str | None = None
    simplify: bool = True
    crs: str | None = None

    def __post_init__(self) -> None:
        _check_mode(self.mode)
        if self.bbox is not None:
            if len(self.bbox) != 4 or not all(np.isfinite(self.bbox)):
                msg = (
                    f"bbox must be four finite numbers (west, south, east, north), got {self.bbox}"
                )
                raise NetworkError(msg)
            w, s, e, n = self.bbox
            if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
                msg = f"bbox must be west < east and south < north in degrees, got {self.bbox}"
                raise NetworkError(msg)
        if self.polygon_wkt is not None:
            try:
                poly = shapely.from_wkt(self.polygon_wkt)
            except shapely.errors.GEOSException as exc:
                msg = f"clip polygon is not valid WKT: {exc}"
                raise NetworkError(msg) from exc
            if poly.geom_type not in ("Polygon", "MultiPolygon") or poly.is_empty:
                msg = f"clip polygon must be a non-empty (Multi)Polygon, got {poly.geom_type}"
                raise NetworkError(msg)

    def key(self) -> str:
        """Return a stable text form of the options for the cache key."""
        return json.dumps(
            {
                "mode": self.mode,
                "bbox": self.bbox,
                "polygon": self.polygon_wkt,
                "simplify": self.simplify,
                "crs": self.crs,
                "version": CACHE_VERSION,
                "speeds": SPEEDS_KMH[self.mode],
            },
            sort_keys=True,
        )


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf", ".xml", ".xml.bz2")


def _check_source(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        msg = f"OSM file {p} does not exist"
        raise NetworkError(msg)
    if not p.name.lower().endswith(_OSM_SUFFIXES):
        msg = f"{p}: unsupported OSM file type; expected one of {', '.join(_OSM_SUFFIXES)}"
        raise NetworkError(msg)
    return p


def build_network(
    path: str | Path,
    options: BuildOptions | None = None,
    *,
    progress: ProgressFn | None = None,
    sha256: str | None = None,
) -> RoadNetwork:
    """Build the road network of one travel mode from an OSM XML or PBF file.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file.
    options
        Mode, optional clip (bbox in WGS84 degrees or polygon WKT), simplification and
        working CRS (default: the UTM zone of the data).
    progress
        Called with a short message as each step starts.
    sha256
        The file's hash if the caller already computed it.
    """
    opts = options or BuildOptions()
    src = _check_source(path)
    say = progress or (lambda _msg: None)

    say(f"reading highway ways from {src.name}")
    ways = _read_osm_ways(src)
    if len(ways.way_id) == 0:
        msg = f"{src}: no highway ways found"
        raise NetworkError(msg)

    say(f"trimming and splitting {len(ways.way_id):,} ways")
    keep_way = _access_mask(ways.tags, opts.mode)
    polygon = shapely.from_wkt(opts.polygon_wkt) if opts.polygon_wkt else None
    keep_node = ways.node_valid & _clip_mask(ways.node_lon, ways.node_lat, opts.bbox, polygon)
    refs, lon, lat, seg, n_trimmed = _segments(ways, keep_way, keep_node, opts.mode)
    if len(seg.u) == 0:
        msg = f"{src}: no road usable by mode {opts.mode!r} inside the requested area"
        raise NetworkError(msg)

    crs = pyproj.CRS.from_user_input(opts.crs) if opts.crs else utm_crs_for(lon, lat)
    to_xy = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    x, y = to_xy.transform(lon, lat)
    x, y = np.asarray(x), np.asarray(y)

    say(f"computing lengths and travel times of {len(seg.u):,} segments")
    tags = ways.tags
    highway = tags["highway"].to_numpy(dtype=object)
    lit_raw = tags["lit"].to_numpy(dtype=object)
    lit = normalise_lit(lit_raw)
    maxspeed = parse_maxspeed(tags["maxspeed"].to_numpy(dtype=object))
    seg_len = np.hypot(x[seg.v] - x[seg.u], y[seg.v] - y[seg.u])
    times: dict[str, np.ndarray] = {}
    for m in MODES:
        kmh = mode_speeds_kmh(m, highway, maxspeed)[seg.way]
        times[m] = seg_len / (kmh / 3.6)

    n = len(refs)
    if opts.simplify:
        say("simplifying topology")
        differ = [_codes(highway)[seg.way], _codes(lit)[seg.way]]
        chain, rank = _simplify(n, seg, differ)
    else:
        chain, rank = np.arange(len(seg.u)), np.zeros(len(seg.u), dtype=np.int64)

    kept = chain >= 0
    order = np.lexsort((rank[kept], chain[kept]))
    sidx = np.flatnonzero(kept)[order]  # segments in chain order
    c = chain[sidx]
    n_chain = int(c.max()) + 1 if len(c) else 0
    first = np.ones(len(c), dtype=bool)
    first[1:] = c[1:] != c[:-1]
    last = np.ones(len(c), dtype=bool)
    last[:-1] = c[1:] != c[:-1]
    head = sidx[first]
    eu, ev = seg.u[head], seg.v[sidx[last]]
    e_len = np.bincount(c, weights=seg_len[sidx], minlength=n_chain)
    # A merged edge can run along one way as drawn and another against its drawing, so
    # its first segment does not say which of a two-way pair it is. Call an edge the
    # backward twin when most of its length is backward copies (ties: u > v); each pair
    # of twins then has exactly one forward edge, and road km count every road once.
    rev_len = np.bincount(c, weights=seg_len[sidx] * seg.reversed[sidx], minlength=n_chain)
    tie = (np.abs(2 * rev_len - e_len) <= 1e-9 * e_len) & (rev_len > 0)
    e_rev = np.where(tie, eu > ev, 2 * rev_len > e_len)
    e_time = {m: np.bincount(c, weights=t[sidx], minlength=n_chain) for m, t in times.items()}
    # Geometry: each segment's tail node, plus the head node closing each chain.
    pts_node = np.empty(len(sidx) + n_chain, dtype=np.int64)
    seg_per_chain = np.bincount(c, minlength=n_chain)
    offsets = np.zeros(n_chain + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(seg_per_chain + 1)
    slot = np.arange(len(sidx)) + c  # shift by one slot per earlier chain's closing node
    pts_node[slot] = seg.u[sidx]
    pts_node[offsets[1:] - 1] = ev

    way_of = seg.way[head]
    # Every OSM way an edge runs along, in road order, so edits can name a way that was
    # merged into the middle of a simplified edge.
    w_ids = ways.way_id[seg.way[sidx]]
    change = first.copy()
    change[1:] |= w_ids[1:] != w_ids[:-1]
    osm_ways = _join_ways(w_ids[change], c[change], n_chain)
    say("keeping the largest strongly connected component")
    keep_node_mask, labels = _largest_scc(n, eu, ev)
    keep_edge = keep_node_mask[eu] & keep_node_mask[ev]
    # A node left without any edge (e.g. a node only on dropped pieces) is not routable.
    touched = np.zeros(n, dtype=bool)
    touched[eu] = True
    touched[ev] = True
    dropped = _dropped_report(labels, keep_node_mask, touched, eu, ev, e_len, e_rev, lon, lat)

    if not keep_edge.any():
        msg = (
            f"{src}: no connected road network left for mode {opts.mode!r} "
            "(only isolated rings or one-way fragments)"
        )
        raise NetworkError(msg)
    new_id = np.cumsum(keep_node_mask) - 1
    node_sel = np.flatnonzero(keep_node_mask)
    nodes = pd.DataFrame(
        {
            "osmid": refs[node_sel],
            "x": x[node_sel],
            "y": y[node_sel],
            "lon": lon[node_sel],
            "lat": lat[node_sel],
        }
    )
    ke = np.flatnonzero(keep_edge)
    w = way_of[ke]
    edges = pd.DataFrame(
        {
            "u": new_id[eu[ke]],
            "v": new_id[ev[ke]],
            "osmid": ways.way_id[w],
            "osm_ways": osm_ways[ke],
            "highway": highway[w],
            "name": tags["name"].to_numpy(dtype=object)[w],
            "lit": lit[w],
            "lit_raw": lit_raw[w],
            "surface": tags["surface"].to_numpy(dtype=object)[w],
            "maxspeed_kmh": maxspeed[w],
            "oneway": seg.oneway[head][ke],
            "reversed": e_rev[ke],
            "length_m": e_len[ke],
            **{f"time_{m}_s": e_time[m][ke] for m in MODES},
        }
    )
    edges["travel_time_s"] = edges[f"time_{opts.mode}_s"]
    # Geometry in the kept edges' order.
    counts = seg_per_chain[ke] + 1
    new_off = np.zeros(len(ke) + 1, dtype=np.int64)
    new_off[1:] = np.cumsum(counts)
    gather = np.repeat(offsets[ke] - new_off[:-1], counts) + np.arange(new_off[-1])
    geom_nodes = pts_node[gather]
    coords = np.column_stack([x[geom_nodes], y[geom_nodes]])

    edges, coords, new_off = _sort_edges(edges, coords, new_off)
    source = SourceInfo(
        path=str(src),
        sha256=sha256 or file_sha256(src),
        ways_read=len(ways.way_id),
        ways_trimmed=n_trimmed,
    )
    return RoadNetwork(
        mode=opts.mode,
        crs=crs,
        nodes=nodes,
        edges=edges,
        coords=coords,
        offsets=new_off,
        dropped=dropped,
        source=source,
    )


def _join_ways(way_ids: np.ndarray, chain: np.ndarray, n_chain: int) -> np.ndarray:
    """Return "id;id;..." per chain from its ways in road order (``chain`` is sorted).

    Nearly every edge runs along one way, so those are formatted in one vectorised
    pass; only the few merged edges are joined one by one.
    """
    out = way_ids.astype(str).astype(object)
    counts = np.bincount(chain, minlength=n_chain)
    starts = np.cumsum(counts) - counts
    result = out[starts] if n_chain else np.zeros(0, dtype=object)
    for k in np.flatnonzero(counts > 1):
        result[k] = ";".join(out[starts[k] : starts[k] + counts[k]])
    return result


def _sort_edges(
    edges: pd.DataFrame, coords: np.ndarray, offsets: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Order edges by (u, v) and number parallel edges, so ids are stable across builds."""
    order = np.lexsort((edges["osmid"].to_numpy(), edges["v"].to_numpy(), edges["u"].to_numpy()))
    edges = edges.iloc[order].reset_index(drop=True)
    counts = np.diff(offsets)[order]
    new_off = np.zeros(len(order) + 1, dtype=np.int64)
    new_off[1:] = np.cumsum(counts)
    gather = np.repeat(offsets[:-1][order] - new_off[:-1], counts) + np.arange(new_off[-1])
    uv = edges["u"].to_numpy().astype(np.int64) * (len(edges) + 1) + edges["v"].to_numpy()
    new_group = np.ones(len(uv), dtype=bool)
    new_group[1:] = uv[1:] != uv[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(uv)), 0))
    edges.insert(2, "key", np.arange(len(uv)) - group_start)
    return edges, coords[gather], new_off


def _dropped_report(
    labels: np.ndarray,
    keep: np.ndarray,
    touched: np.ndarray,
    eu: np.ndarray,
    ev: np.ndarray,
    e_len: np.ndarray,
    e_rev: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
) -> DroppedReport:
    gone = ~keep & touched
    if not gone.any():
        return DroppedReport(components=0, nodes=0, edges=0, road_km=0.0)
    gone_edge = ~(keep[eu] & keep[ev])
    comp_labels = labels[gone]
    uniq, comp_nodes = np.unique(comp_labels, return_counts=True)
    # Attribute each dropped edge to the component of its tail (edges between components
    # belong to neither; counting them once with the tail is enough for a report).
    el = labels[eu[gone_edge]]
    road_m = np.where(e_rev[gone_edge], 0.0, e_len[gone_edge])
    comp_idx = np.searchsorted(uniq, el)
    valid = (comp_idx < len(uniq)) & (uniq[np.minimum(comp_idx, len(uniq) - 1)] == el)
    comp_edges = np.bincount(comp_idx[valid], minlength=len(uniq))
    comp_km = np.bincount(comp_idx[valid], weights=road_m[valid], minlength=len(uniq)) / 1000
    lab_idx = np.searchsorted(uniq, comp_labels)
    c_lon = np.bincount(lab_idx, weights=lon[gone], minlength=len(uniq)) / comp_nodes
    c_lat = np.bincount(lab_idx, weights=lat[gone], minlength=len(uniq)) / comp_nodes
    top = np.lexsort((-comp_km, -comp_nodes))[:10]
    largest = tuple(
        DroppedComponent(
            nodes=int(comp_nodes[i]),
            edges=int(comp_edges[i]),
            road_km=round(float(comp_km[i]), 3),
            lon=round(float(c_lon[i]), 6),
            lat=round(float(c_lat[i]), 6),
        )
        for i in top
    )
    return DroppedReport(
        components=len(uniq),
        nodes=int(gone.sum()),
        edges=int(gone_edge.sum()),
        road_km=round(float(road_m.sum() / 1000), 3),
        largest=largest,
    )


# --------------------------------------------------------------------------- cache


def _cache_path(cache_dir: Path, sha: str, opts: BuildOptions) -> Path:
    okey = hashlib.sha256(opts.key().encode()).hexdigest()[:16]
    return cache_dir / f"network-{sha[:24]}-{okey}.net"


def _save_cache(net: RoadNetwork, path: Path) -> None:
    """Write the network as a handful of packed arrays plus JSON metadata.

    Few large arrays load much faster from an ``.npz`` than many small ones, which is
    what makes a cache hit cheap even for a small district. Text columns are stored as
    integer codes with their categories in the metadata, so no pickle is ever needed.
    """
    e = net.edges
    float_cols = [c for c in e.columns if e[c].dtype.kind == "f"]
    int_cols = [c for c in e.columns if e[c].dtype.kind in "iub"]
    str_cols = [c for c in e.columns if c not in float_cols and c not in int_cols]
    categories: dict[str, list[str]] = {}
    codes = []
    for col in str_cols:
        code, cats = pd.factorize(e[col], use_na_sentinel=True)
        categories[col] = [str(c) for c in cats]
        codes.append(code.astype(np.int64))
    edge_i = np.column_stack([e[c].to_numpy(dtype=np.int64) for c in int_cols] + codes)
    crs = net.crs.to_epsg()
    meta: dict[str, object] = {
        "version": CACHE_VERSION,
        "mode": net.mode,
        "crs": f"EPSG:{crs}" if crs else net.crs.to_wkt(),
        "dropped": asdict(net.dropped),
        "source": {k: v for k, v in asdict(net.source).items() if k != "from_cache"},
        "edge_float": float_cols,
        "edge_int": int_cols,
        "edge_bool": [c for c in int_cols if e[c].dtype.kind == "b"],
        "edge_str": categories,
        "edge_order": list(e.columns),
    }
    arrays = {
        "coords": net.coords,
        "offsets": net.offsets,
        "node_f": net.nodes[["x", "y", "lon", "lat"]].to_numpy(dtype=float),
        "node_osmid": net.nodes["osmid"].to_numpy(dtype=np.int64),
        "edge_f": e[float_cols].to_numpy(dtype=float),
        "edge_i": edge_i,
    }
    with atomic_write(path, binary=True) as f:
        _write_arrays(f, meta, arrays)


_MAGIC = b"PINGAN-NETWORK\n"
_ALIGN = 64


def _write_arrays(f: IO[bytes], meta: dict[str, object], arrays: dict[str, np.ndarray]) -> None:
    """Write a JSON header and raw little-endian arrays, each 64-byte aligned.

    A flat file read in one call and viewed with ``np.frombuffer`` loads several times
    faster than an ``.npz`` (a zip archive parsed member by member), and it needs no
    pickle, so a tampered cache file cannot run code.
    """
    specs = {}
    offset = 0
    blobs = []
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        specs[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset}
        blobs.append(a.tobytes())
        offset += -(-a.nbytes // _ALIGN) * _ALIGN
    header = json.dumps({"meta": meta, "arrays": specs}, ensure_ascii=False).encode()
    start = -(-(len(_MAGIC) + 8 + len(header)) // _ALIGN) * _ALIGN
    f.write(_MAGIC + len(header).to_bytes(8, "little") + header)
    f.write(b"\0" * (start - len(_MAGIC) - 8 - len(header)))
    for blob in blobs:
        f.write(blob)
        f.write(b"\0" * (-len(blob) % _ALIGN))


def _read_arrays(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    data = path.read_bytes()
    if not data.startswith(_MAGIC):
        msg = "not a pingan network cache file"
        raise ValueError(msg)
    n = int.from_bytes(data[len(_MAGIC) : len(_MAGIC) + 8], "little")
    head = json.loads(data[len(_MAGIC) + 8 : len(_MAGIC) + 8 + n])
    base = -(-(len(_MAGIC) + 8 + n) // _ALIGN) * _ALIGN
    arrays = {}
    for name, spec in head["arrays"].items():
        dtype = np.dtype(spec["dtype"])
        count = int(np.prod(spec["shape"], dtype=np.int64))
        start = base + spec["offset"]
        if start + count * dtype.itemsize > len(data):
            msg = f"cache file is truncated (array {name!r})"
            raise ValueError(msg)
        arr = np.frombuffer(data, dtype=dtype, count=count, offset=start)
        arrays[name] = arr.reshape(spec["shape"])
    return head["meta"], arrays


def _load_cache(path: Path) -> RoadNetwork:
    meta, z = _read_arrays(path)
    if meta.get("version") != CACHE_VERSION:
        msg = f"cache version {meta.get('version')} is not {CACHE_VERSION}"
        raise ValueError(msg)
    node_f = z["node_f"]
    nodes = pd.DataFrame(
        {
            "osmid": z["node_osmid"],
            "x": node_f[:, 0],
            "y": node_f[:, 1],
            "lon": node_f[:, 2],
            "lat": node_f[:, 3],
        }
    )
    edge_f, edge_i = z["edge_f"], z["edge_i"]
    coords, offsets = z["coords"], z["offsets"]
    cols: dict[str, np.ndarray] = {}
    for j, col in enumerate(meta["edge_float"]):
        cols[col] = edge_f[:, j]
    bools = set(meta["edge_bool"])
    for j, col in enumerate(meta["edge_int"]):
        cols[col] = edge_i[:, j].astype(bool) if col in bools else edge_i[:, j]
    base = len(meta["edge_int"])
    for j, (col, cats) in enumerate(meta["edge_str"].items()):
        code = edge_i[:, base + j]
        values = np.array([*cats, None], dtype=object)  # code -1 picks the trailing None
        cols[col] = values[code]
    edges = pd.DataFrame({c: cols[c] for c in meta["edge_order"]})
    d = meta["dropped"]
    dropped = DroppedReport(
        components=d["components"],
        nodes=d["nodes"],
        edges=d["edges"],
        road_km=d["road_km"],
        largest=tuple(DroppedComponent(**c) for c in d["largest"]),
    )
    return RoadNetwork(
        mode=meta["mode"],
        crs=pyproj.CRS.from_user_input(meta["crs"]),
        nodes=nodes,
        edges=edges,
        coords=coords,
        offsets=offsets,
        dropped=dropped,
        source=SourceInfo(**meta["source"], from_cache=True),
    )


def load_network(
    path: str | Path,
    options: BuildOptions | None = None,
    *,
    cache_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> RoadNetwork:
    """Load a network from the cache, or build it and cache it.

    The cache key is the SHA-256 of the file's bytes plus the build options, so an edited
    extract (even under the same name) is rebuilt, and a renamed copy is not.
    A corrupt cache file is rebuilt rather than trusted.
    """
    opts = options or BuildOptions()
    src = _check_source(path)
    if cache_dir is None:
        return build_network(src, opts, progress=progress)
    say = progress or (lambda _msg: None)
    sha = file_sha256(src)
    cpath = _cache_path(Path(cache_dir), sha, opts)
    if cpath.is_file():
        try:
            net = _load_cache(cpath)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            say(f"ignoring unreadable cache {cpath.name} ({exc}); rebuilding")
        else:
            say(f"loaded cached network {cpath.name}")
            return net
    net = build_network(src, opts, progress=progress, sha256=sha)
    say(f"caching network as {cpath}")
    _save_cache(net, cpath)
    return net


# --------------------------------------------------------------------------- snapping


@dataclass(frozen=True)
class SnapResult:
    """Where each point meets the road network.

    ``edge`` is the nearest edge (row in ``RoadNetwork.edges``), ``along_m`` the distance
    from the edge's start to the foot of the perpendicular, ``distance_m`` the straight
    distance from the point to the road, ``node`` the nearer end of that edge (row in
    ``RoadNetwork.nodes``) and ``node_distance_m`` the distance along the road to it.
    ``flagged`` marks points farther than ``max_distance_m`` from any road: they are
    reported, never silently routed from.
    """

    edge: np.ndarray
    along_m: np.ndarray
    distance_m: np.ndarray
    node: np.ndarray
    node_distance_m: np.ndarray
    snapped_x: np.ndarray
    snapped_y: np.ndarray
    flagged: np.ndarray
    max_distance_m: float

    def __post_init__(self) -> None:
        n = len(self.edge)
        for name in ("along_m", "distance_m", "node", "node_distance_m", "flagged"):
            if len(getattr(self, name)) != n:
                msg = f"SnapResult.{name} has {len(getattr(self, name))} rows, expected {n}"
                raise NetworkError(msg)

    def to_frame(self) -> pd.DataFrame:
        """Return the snap results as a DataFrame, one row per point."""
        return pd.DataFrame(
            {
                "edge": self.edge,
                "along_m": self.along_m,
                "distance_m": self.distance_m,
                "node": self.node,
                "node_distance_m": self.node_distance_m,
                "snapped_x": self.snapped_x,
                "snapped_y": self.snapped_y,
                "flagged": self.flagged,
            }
        )


#: Spacing of the sample points the KD-tree indexes along every edge.
SNAP_SAMPLE_M = 50.0


def _snap_edges(net: RoadNetwork) -> np.ndarray:
    """Edges worth indexing for snapping: one of each two-way pair (same geometry)."""
    e = net.edges
    rev = e["reversed"].to_numpy()
    fwd = pd.DataFrame({"u": e["u"].to_numpy()[~rev], "v": e["v"].to_numpy()[~rev]})
    back = pd.DataFrame(
        {"u": e["v"].to_numpy()[rev], "v": e["u"].to_numpy()[rev], "i": np.flatnonzero(rev)}
    )
    # A backward edge whose forward twin exists adds nothing; keep any that lack one.
    m = back.merge(fwd.drop_duplicates(), on=["u", "v"], how="left", indicator=True)
    lone = m.loc[m["_merge"] == "left_only", "i"].to_numpy()
    return np.sort(np.concatenate([np.flatnonzero(~rev), lone]))


def _snap_index(net: RoadNetwork) -> tuple[cKDTree, np.ndarray]:
    cached = net._snap_index.get("kdtree")
    if cached is not None:
        return cached  # type: ignore[return-value]
    # Sample every edge at its vertices and at most SNAP_SAMPLE_M apart, so the nearest
    # sample is never more than SNAP_SAMPLE_M / 2 farther than the nearest road point.
    edges = _snap_edges(net)
    counts = np.diff(net.offsets)[edges]
    start = net.offsets[:-1][edges]
    take = np.repeat(start - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
    c = net.coords[take]
    seg_edge = np.repeat(edges.astype(np.int32), counts)
    same = seg_edge[:-1] == seg_edge[1:]
    a, b, sedge = c[:-1][same], c[1:][same], seg_edge[:-1][same]
    seg_len = np.hypot(*(b - a).T)
    k = np.maximum(1, np.ceil(seg_len / SNAP_SAMPLE_M).astype(np.int64))
    rep = np.repeat(np.arange(len(a)), k)
    t = (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)) / np.repeat(k, k)
    pts = a[rep] + (b[rep] - a[rep]) * t[:, None]
    ends = np.cumsum(counts) - 1
    pts = np.vstack([pts, c[ends]])
    owner = np.concatenate([sedge[rep], edges.astype(np.int32)])
    tree = cKDTree(pts)
    net._snap_index["kdtree"] = (tree, owner)
    return tree, owner


def snap_points(
    net: RoadNetwork,
    x: np.ndarray,
    y: np.ndarray,
    *,
    max_distance_m: float = 500.0,
    candidates: int = 8,
) -> SnapResult:
    """Snap points (in the network's CRS) to the nearest road edge.

    A KD-tree over points sampled along the edges finds candidate edges; the exact
    point-to-line distance picks among them. Where the candidates might miss a nearer
    edge (a sparse area, where the k-th sample is still within reach), those points are
    resolved exactly with an STR-tree, so the answer is always the true nearest edge.
    """
    if not max_distance_m > 0:
        msg = f"max_distance_m must be positive, got {max_distance_m}"
        raise NetworkError(msg)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        msg = "x and y must be 1-D arrays of the same length"
        raise NetworkError(msg)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        msg = "cannot snap points with missing or non-finite coordinates"
        raise NetworkError(msg)
    n_edges = len(net.edges)
    if n_edges == 0:
        msg = "cannot snap to an empty network"
        raise NetworkError(msg)
    tree, owner = _snap_index(net)
    geoms = net.edge_geometry
    pts = np.asarray(shapely.points(x, y), dtype=object)
    k = int(min(candidates, tree.n))
    d_s, i_s = tree.query(np.column_stack([x, y]), k=k)
    d_s = d_s.reshape(len(x), k)
    i_s = i_s.reshape(len(x), k)
    cand = owner[i_s]
    dist = shapely.distance(geoms[cand], pts[:, None])
    best = np.argmin(dist, axis=1)
    edge = cand[np.arange(len(x)), best]
    dmin = dist[np.arange(len(x)), best]
    unsure = d_s[:, -1] < dmin + SNAP_SAMPLE_M / 2
    if unsure.any() and k < tree.n:
        strtree = net._snap_index.get("strtree")
        indexed = _snap_edges(net)
        if strtree is None:
            strtree = shapely.STRtree(geoms[indexed])
            net._snap_index["strtree"] = strtree
        idx = np.flatnonzero(unsure)
        pairs, dd = strtree.query_nearest(  # type: ignore[attr-defined]
            pts[idx], return_distance=True, all_matches=False
        )
        edge[idx[pairs[0]]] = indexed[pairs[1]]
        dmin[idx[pairs[0]]] = dd
    g = geoms[edge]
    along = shapely.line_locate_point(g, pts)
    snapped = shapely.line_interpolate_point(g, along)
    length = net.edges["length_m"].to_numpy()[edge]
    # Edge length is summed per segment, so it equals the geometry length; clip for safety.
    along = np.clip(along, 0.0, length)
    to_u = along
    to_v = length - along
    use_u = to_u <= to_v
    node = np.where(use_u, net.edges["u"].to_numpy()[edge], net.edges["v"].to_numpy()[edge])
    return SnapResult(
        edge=edge.astype(np.int64),
        along_m=along,
        distance_m=dmin,
        node=node.astype(np.int64),
        node_distance_m=np.where(use_u, to_u, to_v),
        snapped_x=shapely.get_x(snapped),
        snapped_y=shapely.get_y(snapped),
        flagged=dmin > max_distance_m,
        max_distance_m=float(max_distance_m),
    )


def snap_geometries(
    net: RoadNetwork, geometry: pd.Series, *, max_distance_m: float = 500.0
) -> SnapResult:
    """Snap a GeoSeries (any CRS; polygons by representative point) to the network.

    Rows with no geometry are flagged with NaN distances rather than dropped, so results
    stay aligned with the input rows.
    """
    import geopandas as gpd

    gs = gpd.GeoSeries(geometry)
    if gs.crs is None:
        msg = "geometries to snap have no CRS"
        raise NetworkError(msg)
    gs = gs.to_crs(net.crs)
    missing = gs.isna().to_numpy() | gs.is_empty.to_numpy()
    pts = gs[~missing].representative_point()
    res = snap_points(net, pts.x.to_numpy(), pts.y.to_numpy(), max_distance_m=max_distance_m)
    if not missing.any():
        return res
    n = len(gs)

    def spread(arr: np.ndarray, fill: object) -> np.ndarray:
        out = np.full(n, fill, dtype=arr.dtype if fill is not np.nan else float)
        out[~missing] = arr
        return out

    return SnapResult(
        edge=spread(res.edge, -1),
        along_m=spread(res.along_m, np.nan),
        distance_m=spread(res.distance_m, np.nan),
        node=spread(res.node, -1),
        node_distance_m=spread(res.node_distance_m, np.nan),
        snapped_x=spread(res.snapped_x, np.nan),
        snapped_y=spread(res.snapped_y, np.nan),
        flagged=spread(res.flagged, True),
        max_distance_m=res.max_distance_m,
    )


# --------------------------------------------------------------------------- online extra


def overpass_query(polygon: shapely.Polygon | shapely.MultiPolygon, *, timeout_s: int = 180) -> str:
    """Return an Overpass QL query for every highway way (with its nodes) in a polygon."""
    if polygon.is_empty or polygon.geom_type not in ("Polygon", "MultiPolygon"):
        msg = "the area to download must be a non-empty (Multi)Polygon in WGS84"
        raise NetworkError(msg)
    polys = list(polygon.geoms) if isinstance(polygon, shapely.MultiPolygon) else [polygon]
    parts = []
    for p in polys:
        ring = " ".join(f"{lat:.7f} {lon:.7f}" for lon, lat in p.exterior.coords)
        parts.append(f'way["highway"](poly:"{ring}");')
    return f"[out:xml][timeout:{timeout_s}];({''.join(parts)});(._;>;);out body;"


def download_osm_by_place(place: str, path: str | Path, *, timeout_s: int = 180) -> Path:
    """Download the highway ways of a named place as an OSM XML file (needs internet).

    The place is geocoded with osmnx (Nominatim), then the ways are fetched from the
    Overpass server osmnx is configured with. The file is then built like any other
    extract, so offline users and online users share one code path.
    """
    import osmnx as ox
    import requests

    if not place.strip():
        msg = "place name is empty"
        raise NetworkError(msg)
    area = ox.geocode_to_gdf(place).to_crs(4326).geometry.union_all()
    query = overpass_query(area, timeout_s=timeout_s)
    url = ox.settings.overpass_url.rstrip("/") + "/interpreter"
    resp = requests.post(url, data={"data": query}, timeout=timeout_s + 30)
    resp.raise_for_status()
    with atomic_write(path, binary=True) as f:
        f.write(resp.content)
    return Path(path)
