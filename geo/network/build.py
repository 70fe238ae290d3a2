"""Build a routable road network from OSM ways, vectorised end to end.

The ways come from an OSM file (:mod:`~geo.network.osm`) or a GIS line layer of roads
(:mod:`~geo.network.lines`), read into the same arrays; everything below is shared, so
a layer converted from an OSM file builds the same network as the file.

1. trim ways at the extract's edge (nodes missing from the file) and at an optional clip
   bbox/polygon, splitting a way into runs of present nodes;
2. turn runs into directed segments (one-way rules as osmnx applies them) with per-mode
   travel times;
3. simplify the topology with osmnx's endpoint rules, but also keep a node wherever the
   road class or the ``lit`` status changes, so lighting survives simplification;
4. keep the largest strongly connected component (the routing core) and report what
   was dropped, or keep every road (``component="all"``) for counting and drawing.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from geo.coords import utm_crs_for
from geo.errors import NetworkError
from geo.network.lines import LINE_SUFFIXES, LineLayer, read_line_ways
from geo.network.model import DroppedComponent, DroppedReport, RoadNetwork, SourceInfo
from geo.network.osm import Ways, access_mask, read_osm_ways
from geo.network.tags import (
    MODES,
    ONEWAY_VALUES,
    REVERSED_VALUES,
    SPEEDS_KMH,
    Mode,
    check_mode,
    mode_speeds_kmh,
    normalise_lit,
    parse_maxspeed,
)

__all__ = [
    "CACHE_VERSION",
    "LINE_SUFFIXES",
    "OSM_SUFFIXES",
    "BuildOptions",
    "Component",
    "ProgressFn",
    "build_network",
    "build_networks",
    "check_source",
    "file_sha256",
    "is_line_layer",
    "source_sha256",
]

#: Bump when the cached arrays change meaning, so stale caches are rebuilt, not misread.
CACHE_VERSION = 4

ProgressFn = Callable[[str], None]
Component = Literal["largest", "all"]


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


def _segments(ways: Ways, keep_way: np.ndarray, keep_node: np.ndarray, mode: Mode):
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
        is_oneway = np.isin(oneway_tag, list(ONEWAY_VALUES)) | (junction == "roundabout")
    is_rev = is_oneway & np.isin(oneway_tag, list(REVERSED_VALUES))

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
        k = int(np.max(vals)) + 1 if len(vals) else 1
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
    """How to turn an OSM file into a network; part of the cache key.

    ``component="largest"`` keeps the largest strongly connected component, the routing
    core where every node reaches every other; ``"all"`` keeps every road of the mode,
    connected or not, for counting and drawing: a dark road is dark whether or not a car
    can drive a loop around it.
    """

    mode: Mode = "car"
    bbox: tuple[float, float, float, float] | None = None
    polygon_wkt: str | None = None
    simplify: bool = True
    crs: str | None = None
    component: Component = "largest"

    def __post_init__(self) -> None:
        check_mode(self.mode)
        if self.component not in ("largest", "all"):
            msg = f"component must be 'largest' or 'all', got {self.component!r}"
            raise NetworkError(msg)
        if self.bbox is not None:
            numeric = all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) for v in self.bbox
            )
            if len(self.bbox) != 4 or not numeric or not all(np.isfinite(self.bbox)):
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
            if not poly.is_valid:
                msg = (
                    f"clip polygon is not valid ({shapely.is_valid_reason(poly)}); repair it, "
                    "e.g. with shapely.make_valid or QGIS's Fix geometries"
                )
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
                "component": self.component,
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


OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf", ".xml", ".xml.bz2")

#: The files a shapefile is made of, hashed together: its attributes live in ``.dbf``
#: and its CRS in ``.prj``, so editing either must rebuild although the ``.shp`` is
#: unchanged.
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def is_line_layer(path: str | Path) -> bool:
    """Whether ``path`` names a GIS line layer (by suffix) rather than an OSM file."""
    name = Path(path).name.lower()
    return name.endswith(LINE_SUFFIXES) and not name.endswith(OSM_SUFFIXES)


def check_source(path: str | Path, *, lines: LineLayer | None = None) -> Path:
    """Return ``path`` if it is an existing OSM file or road line layer, else raise.

    ``lines`` (how to read a line layer) given with an OSM file is an error too: the
    class mapping or layer name meant for a layer would silently do nothing.
    """
    p = Path(path)
    line = is_line_layer(p)
    what = "road layer" if line else "OSM file"
    if p.is_dir():
        msg = (
            f"{p} is a folder, not an OSM file or road layer; give the .osm, .osm.pbf, .shp "
            "or .gpkg file in it"
        )
        raise NetworkError(msg)
    if not p.is_file():
        msg = f"{what} {p} does not exist" if not p.exists() else f"{p} is not a regular file"
        raise NetworkError(msg)
    if not line and not p.name.lower().endswith(OSM_SUFFIXES):
        msg = (
            f"{p}: unsupported OSM file type or road layer; expected an OSM file "
            f"({', '.join(OSM_SUFFIXES)}) or a road line layer ({', '.join(LINE_SUFFIXES)})"
        )
        raise NetworkError(msg)
    if lines is not None and not line:
        msg = (
            f"{p} is an OSM file; road layer options (layer, class mapping, columns) "
            "apply to GIS line layers only"
        )
        raise NetworkError(msg)
    return p


def source_sha256(path: Path) -> str:
    """Return the SHA-256 identifying a source's content, a shapefile's sidecars included."""
    if not path.name.lower().endswith(".shp"):
        return file_sha256(path)
    h = hashlib.sha256()
    siblings = {p.suffix.lower(): p for p in path.parent.glob(f"{path.stem}.*")}
    siblings[".shp"] = path
    for suffix in _SHAPEFILE_PARTS:
        part = siblings.get(suffix)
        if part is not None and part.is_file():
            h.update(f"{suffix}:{file_sha256(part)};".encode())
    return h.hexdigest()


def build_network(
    path: str | Path,
    options: BuildOptions | None = None,
    *,
    progress: ProgressFn | None = None,
    sha256: str | None = None,
    lines: LineLayer | None = None,
) -> RoadNetwork:
    """Build the road network of one travel mode from an OSM file or a road line layer.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file, or a road line layer
        (``.shp``, zipped shapefile, ``.gpkg``, ``.geojson``).
    options
        Mode, optional clip (bbox in WGS84 degrees or polygon WKT), simplification and
        working CRS (default: the UTM zone of the data).
    progress
        Called with a short message as each step starts.
    sha256
        The source's hash (:func:`source_sha256`) if the caller already computed it.
    lines
        How to read a line layer (default :class:`LineLayer`); only for line layers.
    """
    opts = options or BuildOptions()
    return build_networks(path, [opts], progress=progress, sha256=sha256, lines=lines)[0]


def build_networks(
    path: str | Path,
    options: Sequence[BuildOptions],
    *,
    progress: ProgressFn | None = None,
    sha256: str | None = None,
    lines: LineLayer | None = None,
) -> list[RoadNetwork]:
    """Build several networks (modes, components) from one file, reading it once.

    Reading the file is most of a build's time, so an area that needs three modes and
    the all-roads view parses its file once, not four times. A line layer (by suffix,
    see :data:`LINE_SUFFIXES`) is read with ``lines`` and then built like OSM ways.
    """
    src = check_source(path, lines=lines)
    say = progress or (lambda _msg: None)
    if is_line_layer(src):
        say(f"reading road lines from {src.name}")
        ways = read_line_ways(src, lines or LineLayer(), progress=say)
        kind = "lines"
    else:
        say(f"reading highway ways from {src.name}")
        ways = read_osm_ways(src)
        kind = "osm"
    if len(ways.way_id) == 0:
        msg = f"{src}: no highway ways found"
        raise NetworkError(msg)
    sha = sha256 or source_sha256(src)
    return [_build(ways, src, sha, opts, say, kind=kind) for opts in options]


def _build(
    ways: Ways, src: Path, sha: str, opts: BuildOptions, say: ProgressFn, *, kind: str = "osm"
) -> RoadNetwork:
    """Build one network from ways already read."""
    say(f"trimming and splitting {len(ways.way_id):,} ways")
    keep_way = access_mask(ways.tags, opts.mode)
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
    # A node left without any edge (e.g. a node only on dropped pieces) is not routable.
    touched = np.zeros(n, dtype=bool)
    touched[eu] = True
    touched[ev] = True
    if opts.component == "all":
        keep_node_mask = touched
        dropped = DroppedReport(components=0, nodes=0, edges=0, road_km=0.0)
    else:
        say("keeping the largest strongly connected component")
        keep_node_mask, labels = _largest_scc(n, eu, ev)
        dropped = _dropped_report(labels, keep_node_mask, touched, eu, ev, e_len, e_rev, lon, lat)
    keep_edge = keep_node_mask[eu] & keep_node_mask[ev]

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
        sha256=sha,
        ways_read=len(ways.way_id),
        ways_trimmed=n_trimmed,
        kind=kind,
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
