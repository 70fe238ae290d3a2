"""Dark roads: lit km by area, a transparent risk score per dark road, lamp placement.

Three questions a lighting programme asks, one function each:

- :func:`lit_km_by_area` — how many km of road are lit, unlit or unsurveyed in each
  village, township and district? Each road is cut by the Voronoi cells of the village
  points, so every metre of road goes to the village point nearest to it (exact km, no
  whole-edge rounding);
- :func:`road_risk` — which dark roads (``lit`` = ``"no"`` or ``"unknown"``) matter
  most? A weighted sum of four components, each normalised to [0, 1] and shown with its
  raw value, weight and contribution, plus a sentence per road saying why;
- :func:`place_lamps` — where should ``budget`` lamps go? Candidate points along dark
  roads, each lighting a stretch around it, chosen to maximise the risk they light
  (lazy greedy with a stated guarantee, or an exact MILP for village-sized problems).
  The plan converts to a ``mark_lit`` scenario edit, so its effect can be evaluated
  and compared like any other scenario.

"Road" below means one undirected road: an edge with ``reversed == False``. Its
backward twin (``reversed == True``) carries the same road and is never counted twice.
Scores are relative to the study area (each component is divided by its largest value
among the dark roads), so compare them within one run, not across areas.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csgraph

from geo.errors import LightingError
from geo.hotspots import HotspotError, in_hour_window
from geo.network import RoadNetwork, edge_twins
from geo.scenarios import Edit

#: ``lit`` classes of the network, in report order.
LIT_CLASSES: Final = ("yes", "no", "unknown")
#: Classes a lamp may go on: surveyed as unlit, or never surveyed.
DARK_CLASSES: Final = ("no", "unknown")
#: Risk components, in the order of the output columns and of the explanation.
COMPONENTS: Final = ("incidents", "road_class", "households", "bridge")

# How exposed the people using a road are when it is dark, by OSM highway class (0..1).
# At night the victims on rural roads are mostly people on foot, on e-bikes and on
# tricycles going home from fields, workshops and markets. They use residential streets,
# village roads and lanes, which have no footway, centre line or reflectors: there a
# lamp changes both what they see and what others see of them. Trunk and primary roads
# carry more traffic, but motor traffic with its own headlights on wide, marked
# carriageways, and lighting them is the highway authority's job, not a village lamp
# programme's (30 solar lamps for a few village groups). Township (tertiary) roads sit in
# between: they run through villages and mix fast traffic with walkers. Tracks lead
# mostly to fields and ponds; people do walk them at night (irrigation, fish ponds), but
# far fewer. Motorways have no pedestrians at all.
ROAD_CLASS_EXPOSURE: Final[Mapping[str, float]] = MappingProxyType(
    {
        "living_street": 1.0,
        "residential": 1.0,
        "pedestrian": 1.0,
        "unclassified": 0.9,
        "footway": 0.9,
        "road": 0.8,
        "path": 0.8,
        "steps": 0.8,
        "cycleway": 0.8,
        "tertiary": 0.7,
        "tertiary_link": 0.6,
        "service": 0.6,
        "track": 0.6,
        "secondary": 0.5,
        "secondary_link": 0.4,
        "primary": 0.4,
        "primary_link": 0.3,
        "trunk": 0.3,
        "trunk_link": 0.3,
        "motorway": 0.0,
        "motorway_link": 0.0,
    }
)

#: Words for a road class in the explanation (Chinese administrative classes as OSM
#: China maps them: trunk = national, primary = provincial, ... unclassified = village).
ROAD_CLASS_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "trunk": "national road",
        "primary": "provincial road",
        "secondary": "county road",
        "tertiary": "township road",
        "unclassified": "village road",
        "residential": "residential street",
        "living_street": "living street",
        "service": "service road",
        "track": "farm track",
    }
)

#: Columns a villages layer needs for km by area.
AREA_COLUMNS: Final = ("code", "name", "township_code", "township", "district_code", "district")

#: Upper bound on one block of the dense Dijkstra output (rows x nodes x 8 bytes).
_BLOCK_BYTES: Final = 64 * 2**20
#: Distances within this of a limit count as equal to it (metres).
_TOL_M: Final = 1e-6


# --------------------------------------------------------------------------- km by area


@dataclass(frozen=True, eq=False)
class LitKmByArea:
    """Km of road by lighting class in each village, township and district.

    Attributes
    ----------
    village
        One row per village (input order): ``code``, ``name``, ``township_code``,
        ``township``, ``district_code``, ``district``, then ``yes_km``, ``no_km``,
        ``unknown_km``, ``road_km`` (their sum), ``dark_km`` (no + unknown) and
        ``lit_share`` (yes / road, 0 where a village has no road).
    township
        One row per ``township_code``: ``township``, ``district_code``, ``district``,
        ``villages`` and the same km columns.
    district
        One row per ``district_code``: ``district``, ``villages`` and the km columns.
    total
        Km per lighting class over the whole network (equal to each table's sum).
    pieces
        One row per piece of road in one village's cell: ``edge`` (road edge id),
        ``village`` (row of the villages layer), ``lit``, ``length_m``.
    """

    village: pd.DataFrame
    township: pd.DataFrame
    district: pd.DataFrame
    total: Mapping[str, float]
    pieces: pd.DataFrame

    def __post_init__(self) -> None:
        for level in ("village", "township", "district"):
            table = getattr(self, level)
            for c in LIT_CLASSES:
                got = float(table[f"{c}_km"].sum())
                if abs(got - self.total[c]) > 1e-6 * max(1.0, self.total[c]):
                    msg = f"{level} {c}_km sums to {got:.6f}, not the network's {self.total[c]}"
                    raise LightingError(msg)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Return the three tables keyed ``"village"``, ``"township"``, ``"district"``."""
        return {"village": self.village, "township": self.township, "district": self.district}


def lit_km_by_area(net: RoadNetwork, villages: gpd.GeoDataFrame) -> LitKmByArea:
    """Report km of road lit ``yes`` / ``no`` / ``unknown`` per village, township, district.

    Parameters
    ----------
    net
        Road network (metric CRS).
    villages
        Villages layer in the network's CRS with the columns of :data:`AREA_COLUMNS`
        (as :func:`geo.layers.read_villages` gives them). Polygons are represented by a
        point inside them.

    Returns
    -------
    LitKmByArea
        The three tables, the network totals and the road pieces behind them.

    Raises
    ------
    LightingError
        If the layer has no CRS, another CRS than the network, lacks a column, has rows
        without geometry, or is empty.

    Notes
    -----
    Every road (``reversed == False``) is clipped to the Voronoi cells of the village
    points, so each metre of road is assigned to the village point nearest to it in a
    straight line: a road running between two villages is split where it crosses the
    perpendicular bisector, not given whole to one of them. Piece lengths are rescaled
    per road to sum to ``length_m`` exactly (clipping loses only rounding, but the sums
    must match the network's totals). Villages sharing one point share its cell's km
    equally. A township or district is the sum of its villages (by their codes).
    """
    _check_net(net)
    vil = _check_villages(villages, net, AREA_COLUMNS)
    x, y = _points_xy(vil.geometry)
    e = net.edges
    roads = np.flatnonzero(~e["reversed"].to_numpy(dtype=bool))
    length = e["length_m"].to_numpy(dtype=float)[roads]
    lit = e["lit"].to_numpy(dtype=object)[roads]
    road_i, village_i, piece_m = _voronoi_pieces(net.edge_geometry[roads], length, x, y)
    pieces = pd.DataFrame(
        {
            "edge": roads[road_i],
            "village": village_i,
            "lit": lit[road_i],
            "length_m": piece_m,
        }
    )
    km = (
        pieces.groupby(["village", "lit"])["length_m"]
        .sum()
        .unstack(fill_value=0)
        .reindex(index=np.arange(len(vil)), columns=list(LIT_CLASSES), fill_value=0.0)
        / 1000.0
    )
    base = pd.DataFrame({c: vil[c].to_numpy() for c in AREA_COLUMNS})
    base["code"] = base["code"].astype(str)
    for c in LIT_CLASSES:
        base[f"{c}_km"] = km[c].to_numpy(dtype=float)
    village = _km_columns(base)
    km_cols = [f"{c}_km" for c in LIT_CLASSES]
    town = village.groupby("township_code", sort=True, dropna=False).agg(
        township=("township", "first"),
        district_code=("district_code", "first"),
        district=("district", "first"),
        villages=("code", "size"),
        **{c: (c, "sum") for c in km_cols},
    )
    dist = village.groupby("district_code", sort=True, dropna=False).agg(
        district=("district", "first"),
        villages=("code", "size"),
        **{c: (c, "sum") for c in km_cols},
    )
    total = {c: float(length[lit == c].sum()) / 1000.0 for c in LIT_CLASSES}
    return LitKmByArea(
        village=village,
        township=_km_columns(town.reset_index()),
        district=_km_columns(dist.reset_index()),
        total=MappingProxyType(total),
        pieces=pieces,
    )


def _km_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Add road, dark and lit-share columns after the per-class km."""
    out = table.copy()
    out["road_km"] = out[[f"{c}_km" for c in LIT_CLASSES]].sum(axis=1)
    out["dark_km"] = out["no_km"] + out["unknown_km"]
    road = out["road_km"].to_numpy(dtype=float)
    yes = out["yes_km"].to_numpy(dtype=float)
    out["lit_share"] = np.divide(yes, road, out=np.zeros_like(road), where=road > 0)
    return out


def _voronoi_pieces(
    geoms: np.ndarray, length: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split roads by the Voronoi cells of points; return (road, point row, metres)."""
    xy = np.column_stack([x, y])
    uniq, inv = np.unique(xy, axis=0, return_inverse=True)
    inv = inv.ravel()
    pts = np.asarray(shapely.points(uniq), dtype=object)
    n_roads = len(geoms)
    if len(uniq) == 1:
        road_i = np.arange(n_roads)
        owner = np.zeros(n_roads, dtype=np.int64)
        piece = length.copy()
    else:
        lo = np.minimum(shapely.total_bounds(geoms)[:2], uniq.min(axis=0)) - 1000.0
        hi = np.maximum(shapely.total_bounds(geoms)[2:], uniq.max(axis=0)) + 1000.0
        if not n_roads:
            lo, hi = uniq.min(axis=0) - 1000.0, uniq.max(axis=0) + 1000.0
        frame = shapely.box(lo[0], lo[1], hi[0], hi[1])
        cells = np.asarray(
            shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=frame)),
            dtype=object,
        )
        tree = shapely.STRtree(cells)
        # A generator lies strictly inside its own cell, which names the cell's owner.
        p_of, c_of = tree.query(pts, predicate="within")
        cell_owner = np.full(len(cells), -1, dtype=np.int64)
        cell_owner[c_of] = p_of
        road_i, cell_i = tree.query(geoms, predicate="intersects")
        piece = np.asarray(shapely.length(shapely.intersection(geoms[road_i], cells[cell_i])))
        owner = cell_owner[cell_i]
        keep = (piece > 0) & (owner >= 0)
        road_i, owner, piece = road_i[keep], owner[keep], piece[keep]
        got = np.bincount(road_i, weights=piece, minlength=n_roads)
        # Roads on a cell boundary are counted in both cells; rescaling splits them evenly.
        piece = piece * (length[road_i] / got[road_i])
        lost = np.flatnonzero((got <= 0) & (length > 0))
        if len(lost):
            near = shapely.STRtree(pts).query_nearest(geoms[lost], all_matches=False)
            road_i = np.concatenate([road_i, lost[near[0]]])
            owner = np.concatenate([owner, near[1]])
            piece = np.concatenate([piece, length[lost[near[0]]]])
    # Villages sharing a point share its km equally.
    share = 1.0 / np.bincount(inv, minlength=len(uniq))
    members = pd.DataFrame({"point": inv, "village": np.arange(len(inv))})
    parts = pd.DataFrame({"road": road_i, "point": owner, "m": piece}).merge(members, on="point")
    return (
        parts["road"].to_numpy(dtype=np.int64),
        parts["village"].to_numpy(dtype=np.int64),
        parts["m"].to_numpy(dtype=float) * share[parts["point"].to_numpy()],
    )


# --------------------------------------------------------------------------- risk


@dataclass(frozen=True)
class RiskParams:
    """Weights and distances of the dark-road risk score.

    The default weights sum to 1, so the score lies in [0, 1]. Incidents weigh most
    because they are the only observed harm; households measure who is exposed; road
    class is a prior on who walks there; the bridge term is about isolation (a dark road
    that is the only way in or out of a village group cannot be avoided at night).

    Parameters
    ----------
    incidents_weight, road_class_weight, households_weight, bridge_weight
        Weight of each component (non-negative, not all zero).
    incident_distance_m
        Night incidents within this network distance (along roads, plus the straight
        leg from the incident to its road) of a road count for it.
    household_distance_m
        Households of villages whose point lies within this straight-line distance of a
        road count for it.
    night_start_hour, night_end_hour
        Night is ``start <= hour < end`` in local time, wrapping past midnight when
        ``start > end`` (default 19:00-06:00). Fractional hours are allowed.
    categories
        Incident categories to count (lower-case, as :func:`geo.layers.read_incidents`
        gives them); ``None`` counts every category.
    road_class
        Exposure (0..1) per OSM ``highway`` value, default :data:`ROAD_CLASS_EXPOSURE`.
    road_class_default
        Exposure of a class missing from the table.
    """

    incidents_weight: float = 0.40
    road_class_weight: float = 0.20
    households_weight: float = 0.25
    bridge_weight: float = 0.15
    incident_distance_m: float = 300.0
    household_distance_m: float = 200.0
    night_start_hour: float = 19.0
    night_end_hour: float = 6.0
    categories: tuple[str, ...] | None = None
    road_class: Mapping[str, float] = field(default_factory=lambda: dict(ROAD_CLASS_EXPOSURE))
    road_class_default: float = 0.5

    def __post_init__(self) -> None:
        w = self.weights
        for name, value in w.items():
            if not (np.isfinite(value) and value >= 0):
                msg = f"{name}_weight must be a non-negative number, got {value}"
                raise LightingError(msg)
        if sum(w.values()) <= 0:
            msg = "risk weights are all zero; give at least one component a positive weight"
            raise LightingError(msg)
        for name in ("incident_distance_m", "household_distance_m"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                msg = f"{name} must be a positive number of metres, got {value}"
                raise LightingError(msg)
        for name in ("night_start_hour", "night_end_hour"):
            value = getattr(self, name)
            if not (np.isfinite(value) and 0 <= value < 24):
                msg = f"{name} must be in [0, 24), got {value}"
                raise LightingError(msg)
        if self.night_start_hour == self.night_end_hour:
            msg = "night_start_hour equals night_end_hour: the night window would be empty"
            raise LightingError(msg)
        bad = {k: v for k, v in self.road_class.items() if not (np.isfinite(v) and 0 <= v <= 1)}
        if bad or not (np.isfinite(self.road_class_default) and 0 <= self.road_class_default <= 1):
            msg = f"road class exposure must lie in [0, 1], got {bad or self.road_class_default}"
            raise LightingError(msg)
        if self.categories is not None:
            if isinstance(self.categories, str) or not all(
                isinstance(c, str) for c in self.categories
            ):
                msg = f"categories must be a tuple of strings, got {self.categories!r}"
                raise LightingError(msg)
            cats = tuple(c.strip().lower() for c in self.categories)
            object.__setattr__(self, "categories", cats)
        object.__setattr__(self, "road_class", MappingProxyType(dict(self.road_class)))

    @property
    def weights(self) -> dict[str, float]:
        """Return the weight of each component, keyed as :data:`COMPONENTS`."""
        return {
            "incidents": float(self.incidents_weight),
            "road_class": float(self.road_class_weight),
            "households": float(self.households_weight),
            "bridge": float(self.bridge_weight),
        }


@dataclass(frozen=True, eq=False)
class RoadRisk:
    """Risk score of every dark road, with each component laid open.

    Attributes
    ----------
    roads
        GeoDataFrame (network CRS), one row per dark road sorted by ``rank``:
        ``edge`` (road edge id), ``twin`` (its backward edge, -1 if one-way), ``osmid``,
        ``osm_ways``, ``name``, ``highway``, ``lit``, ``length_m``, ``village_code``,
        ``village_name`` (the village whose Voronoi cell holds the road's midpoint);
        per component ``c`` in :data:`COMPONENTS`: ``c_raw``, ``c_norm`` (raw divided by
        ``scale[c]``, in [0, 1]), ``c_weight`` and ``c_contrib`` (norm x weight); then
        ``is_bridge``, ``score`` (sum of contributions), ``rank`` (1 = highest; ties
        share the lower rank), ``explanation`` and ``geometry``. Raw values are: night
        incidents within ``incident_distance_m`` (count), road class exposure (0..1),
        households within ``household_distance_m``, and households cut off on the smaller
        side if the road were removed (0 unless the road is a bridge).
    params
        The parameters used.
    scale
        Divisor per component: its largest raw value among the dark roads (1 where all
        are 0; 1 for road class, whose table is already in [0, 1]).
    night_incidents
        The incidents counted (night, category filter): ``id``, ``time``, ``category``,
        ``edge`` (road they snap to), ``along_m``, ``offroad_m``, ``geometry``.
    villages
        ``code``, ``name``, ``households`` and point ``geometry`` of the villages used.
    n_edges, crs
        Size and CRS of the network scored, to refuse a plan on another network.
    """

    roads: gpd.GeoDataFrame
    params: RiskParams
    scale: Mapping[str, float]
    night_incidents: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    n_edges: int
    crs: pyproj.CRS

    def __post_init__(self) -> None:
        r = self.roads
        need = ["edge", "score", "rank", "explanation"]
        need += [f"{c}_{k}" for c in COMPONENTS for k in ("raw", "norm", "weight", "contrib")]
        missing = [c for c in need if c not in r.columns]
        if missing:
            msg = f"RoadRisk.roads lacks column(s) {missing}"
            raise LightingError(msg)
        norms = r[[f"{c}_norm" for c in COMPONENTS]].to_numpy(dtype=float)
        if len(r) and ((norms < -1e-12).any() or (norms > 1 + 1e-12).any()):
            msg = "normalised risk components must lie in [0, 1]"
            raise LightingError(msg)
        total = r[[f"{c}_contrib" for c in COMPONENTS]].to_numpy(dtype=float).sum(axis=1)
        if not np.allclose(total, r["score"].to_numpy(dtype=float), atol=1e-9):
            msg = "risk score is not the sum of its contributions"
            raise LightingError(msg)
        if len(r) and r["rank"].min() != 1:
            msg = "risk ranks must start at 1"
            raise LightingError(msg)

    def top(self, n: int = 10) -> gpd.GeoDataFrame:
        """Return the ``n`` highest-scoring dark roads."""
        return self.roads.head(n)


def road_risk(
    net: RoadNetwork,
    villages: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame | None = None,
    params: RiskParams | None = None,
) -> RoadRisk:
    """Score every dark road (``lit`` no or unknown) by four visible components.

    Parameters
    ----------
    net
        Road network (metric CRS).
    villages
        Villages with ``code``, ``name``, ``households`` and a geometry, in the
        network's CRS (polygons are represented by a point inside them).
    incidents
        Incidents with ``id``, a time-zone aware ``time`` and a geometry, in the
        network's CRS; ``None`` leaves the incident component at zero.
    params
        Weights, distances, night window and road class table.

    Returns
    -------
    RoadRisk
        One row per dark road with raw, normalised, weighted values and an explanation.

    Raises
    ------
    LightingError
        On a missing or mismatched CRS, missing columns or values, naive incident times,
        or a network without roads.

    Notes
    -----
    Components (each normalised to [0, 1] by dividing by its largest value among the
    dark roads, so ratios survive: twice the incidents, twice the component):

    ``incidents``
        Night incidents whose *network* distance to the road is at most
        ``incident_distance_m``. Each incident is snapped to its nearest road (straight
        line, the "off-road" leg, which counts toward the distance); from there it may go
        either way along its road to the road's ends, then along the undirected
        length-weighted graph (one-way rules do not bind walkers) to the nearer end of
        the road scored. Node-to-node distances come from
        :func:`scipy.sparse.csgraph.dijkstra` with ``limit`` = the distance, run from the
        incidents' anchor nodes in blocks so memory stays bounded. This is exact on the
        network; the only modelling step is snapping to the nearest road.
    ``road_class``
        Exposure of the road's users at night, from :data:`ROAD_CLASS_EXPOSURE`.
    ``households``
        Households of the villages whose point is within ``household_distance_m`` of the
        road (straight line; a village counts whole or not at all).
    ``bridge``
        Whether the road is the only link between parts of the network that both hold
        households: a bridge of the undirected simple road graph (``networkx.bridges``;
        node pairs joined by two roads are not bridges) valued by the households on the
        smaller side (villages sit at the nearer end of the road they snap to). A dead
        end with no village beyond scores 0.
    """
    p = params or RiskParams()
    _check_net(net)
    vil = _check_villages(villages, net, ("code", "name", "households"))
    households = _households(vil)
    vx, vy = _points_xy(vil.geometry)
    e = net.edges
    lit_all = e["lit"].to_numpy(dtype=object)
    unknown = sorted(set(lit_all) - set(LIT_CLASSES))
    if unknown:
        msg = f"network 'lit' has values {unknown[:5]}; expected yes, no or unknown"
        raise LightingError(msg)
    g = _RoadGraph.of(net)
    if g.n_roads == 0:
        msg = "the network has no roads to score"
        raise LightingError(msg)

    night = _night_incidents(incidents, net, p, g)
    inc_count = _incidents_near_roads(g, night, p.incident_distance_m)

    pairs = shapely.STRtree(g.geoms).query(
        np.asarray(shapely.points(vx, vy), dtype=object),
        predicate="dwithin",
        distance=p.household_distance_m,
    )
    hh_near = np.bincount(pairs[1], weights=households[pairs[0]], minlength=g.n_roads)

    v_road, v_along, _ = g.snap(vx, vy)
    v_node = np.where(v_along <= 0.5 * g.length[v_road], g.u[v_road], g.v[v_road])
    is_bridge, cut = _bridge_cut(g, v_node, households)

    table = e["highway"].astype(str).map(dict(p.road_class)).astype(float)
    exposure = table.fillna(p.road_class_default).to_numpy(dtype=float)[g.roads]

    dark = np.isin(lit_all[g.roads], DARK_CLASSES)
    raw = {
        "incidents": inc_count[dark].astype(float),
        "road_class": exposure[dark],
        "households": hh_near[dark],
        "bridge": cut[dark],
    }
    scale = {c: float(raw[c].max()) if len(raw[c]) and raw[c].max() > 0 else 1.0 for c in raw}
    scale["road_class"] = 1.0

    rows = g.roads[dark]
    mid = shapely.line_interpolate_point(g.geoms[dark], 0.5, normalized=True)
    near_v = shapely.STRtree(np.asarray(shapely.points(vx, vy), dtype=object)).query_nearest(
        mid, all_matches=False
    )
    serving = np.zeros(len(rows), dtype=np.int64)
    serving[near_v[0]] = near_v[1]
    out = pd.DataFrame(
        {
            "edge": rows,
            "twin": g.twin[rows],
            "osmid": e["osmid"].to_numpy()[rows],
            "osm_ways": e["osm_ways"].astype(str).to_numpy()[rows],
            "name": e["name"].to_numpy(dtype=object)[rows],
            "highway": e["highway"].astype(str).to_numpy()[rows],
            "lit": lit_all[rows],
            "length_m": g.length[dark],
            "village_code": vil["code"].astype(str).to_numpy()[serving],
            "village_name": vil["name"].astype(str).to_numpy()[serving],
        }
    )
    weights = p.weights
    score = np.zeros(len(rows))
    for c in COMPONENTS:
        norm = np.clip(raw[c] / scale[c], 0.0, 1.0)
        out[f"{c}_raw"] = raw[c]
        out[f"{c}_norm"] = norm
        out[f"{c}_weight"] = weights[c]
        out[f"{c}_contrib"] = norm * weights[c]
        score = score + norm * weights[c]
    out["is_bridge"] = is_bridge[dark]
    out["score"] = score
    out["rank"] = out["score"].rank(method="min", ascending=False).astype(np.int64)
    out["explanation"] = _explain(out, p)
    out["geometry"] = g.geoms[dark]
    out = out.sort_values(["score", "edge"], ascending=[False, True], kind="stable")
    roads = gpd.GeoDataFrame(out.reset_index(drop=True), geometry="geometry", crs=net.crs)
    return RoadRisk(
        roads=roads,
        params=p,
        scale=MappingProxyType(scale),
        night_incidents=night.drop(columns="edge_pos"),
        villages=gpd.GeoDataFrame(
            {
                "code": vil["code"].astype(str).to_numpy(),
                "name": vil["name"].astype(str).to_numpy(),
                "households": households,
            },
            geometry=np.asarray(shapely.points(vx, vy), dtype=object),
            crs=net.crs,
        ),
        n_edges=len(e),
        crs=net.crs,
    )


def _explain(t: pd.DataFrame, p: RiskParams) -> np.ndarray:
    """Write one sentence per road: each component's value, norm x weight = share."""

    def part(c: str) -> np.ndarray:
        n = np.char.mod("%.2f", t[f"{c}_norm"].to_numpy(dtype=float))
        w = np.char.mod("%.2f", t[f"{c}_weight"].to_numpy(dtype=float))
        s = np.char.mod("%.2f", t[f"{c}_contrib"].to_numpy(dtype=float))
        return np.asarray(" (" + n.astype(object) + "×" + w + "=" + s + ")", dtype=object)

    n_inc = t["incidents_raw"].to_numpy(dtype=float).round().astype(np.int64)
    inc = (
        n_inc.astype(str).astype(object)
        + np.where(n_inc == 1, " night incident", " night incidents")
        + f" within {p.incident_distance_m:g} m"
    )
    hw = t["highway"].to_numpy(dtype=object)
    label = pd.Series(hw).map(dict(ROAD_CLASS_LABELS)).fillna(pd.Series(hw)).to_numpy(object)
    hh = t["households_raw"].to_numpy(dtype=float).round().astype(np.int64)
    house = hh.astype(str).astype(object) + f" households within {p.household_distance_m:g} m"
    cut = t["bridge_raw"].to_numpy(dtype=float).round().astype(np.int64)
    bridge = np.where(
        t["is_bridge"].to_numpy(dtype=bool),
        np.where(
            cut > 0,
            "only link to " + cut.astype(str).astype(object) + " households",
            "only link, no households beyond",
        ),
        "not the only link",
    ).astype(object)
    total = np.char.mod("%.2f", t["score"].to_numpy(dtype=float)).astype(object)
    return np.asarray(
        inc
        + part("incidents")
        + " + "
        + label
        + part("road_class")
        + " + "
        + house
        + part("households")
        + " + "
        + bridge
        + part("bridge")
        + " = "
        + total,
        dtype=object,
    )


# --------------------------------------------------------------------------- graph helpers


@dataclass(frozen=True, eq=False)
class _RoadGraph:
    """Undirected view of a network: roads, their geometry and a length CSR."""

    roads: np.ndarray  # edge row of each road (reversed == False)
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    geoms: np.ndarray
    twin: np.ndarray  # per edge of the network
    graph: sparse.csr_matrix  # node x node, min length over both directions
    incidence_ptr: np.ndarray  # node -> roads touching it (CSR)
    incidence: np.ndarray
    tree: shapely.STRtree

    @property
    def n_roads(self) -> int:
        return len(self.roads)

    @staticmethod
    def of(net: RoadNetwork) -> _RoadGraph:
        e = net.edges
        n = len(net.nodes)
        roads = np.flatnonzero(~e["reversed"].to_numpy(dtype=bool))
        eu = e["u"].to_numpy(dtype=np.int64)
        ev = e["v"].to_numpy(dtype=np.int64)
        el = e["length_m"].to_numpy(dtype=float)
        u, v, length = eu[roads], ev[roads], el[roads]
        # Walkers and lamps ignore one-way rules: both directions at the shorter length.
        a = np.concatenate([eu, ev])
        b = np.concatenate([ev, eu])
        w = np.maximum(np.concatenate([el, el]), 1e-9)
        keep = a != b
        a, b, w = a[keep], b[keep], w[keep]
        order = np.lexsort((w, b, a))
        a, b, w = a[order], b[order], w[order]
        first = np.ones(len(a), dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        graph = sparse.csr_matrix((w[first], (a[first], b[first])), shape=(n, n))
        ends = np.concatenate([u, v])
        owner = np.concatenate([np.arange(len(roads)), np.arange(len(roads))])
        order = np.argsort(ends, kind="stable")
        ptr = np.searchsorted(ends[order], np.arange(n + 1))
        geoms = net.edge_geometry[roads]
        return _RoadGraph(
            roads=roads,
            u=u,
            v=v,
            length=length,
            geoms=geoms,
            twin=edge_twins(net),
            graph=graph,
            incidence_ptr=ptr,
            incidence=owner[order],
            tree=shapely.STRtree(geoms),
        )

    def snap(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (road, metres along it from ``u``, straight distance) per point."""
        pts = np.asarray(shapely.points(x, y), dtype=object)
        road = np.zeros(len(pts), dtype=np.int64)
        dist = np.zeros(len(pts))
        if len(pts):
            idx, d = self.tree.query_nearest(pts, return_distance=True, all_matches=False)
            road[idx[0]] = idx[1]
            dist[idx[0]] = d
        along = np.asarray(shapely.line_locate_point(self.geoms[road], pts), dtype=float)
        return road, np.clip(along, 0.0, self.length[road]), dist

    def reach(
        self, seed_node: np.ndarray, seed_cost: np.ndarray, limit: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (point, node, metres) for every node within ``limit`` of each point.

        Point ``i`` enters the graph at ``seed_node[i, k]`` after ``seed_cost[i, k]``
        metres. One bounded Dijkstra per distinct seed node, in blocks; each point's
        distances are its seed costs plus those node-to-node distances (min over seeds).
        """
        n = self.graph.shape[0]
        pts = np.repeat(np.arange(len(seed_node)), seed_node.shape[1])
        node = seed_node.ravel()
        cost = seed_cost.ravel()
        ok = (node >= 0) & (cost <= limit + _TOL_M)
        pts, node, cost = pts[ok], node[ok], cost[ok]
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        if not len(pts):
            return empty
        src, inv = np.unique(node, return_inverse=True)
        rows = max(1, _BLOCK_BYTES // (8 * max(n, 1)))
        s_parts, t_parts, d_parts = [], [], []
        for start in range(0, len(src), rows):
            block = np.atleast_2d(
                np.asarray(
                    csgraph.dijkstra(
                        self.graph, indices=src[start : start + rows], limit=limit + _TOL_M
                    )
                )
            )
            i, j = np.nonzero(np.isfinite(block))
            s_parts.append(i + start)
            t_parts.append(j)
            d_parts.append(block[i, j])
        s = np.concatenate(s_parts)
        t = np.concatenate(t_parts)
        d = np.concatenate(d_parts)
        ptr = np.searchsorted(s, np.arange(len(src) + 1))
        counts = np.diff(ptr)[inv]
        rep = np.repeat(np.arange(len(pts)), counts)
        step = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        k = ptr[inv][rep] + step
        out_p, out_n, out_d = pts[rep], t[k], cost[rep] + d[k]
        keep = out_d <= limit + _TOL_M
        out_p, out_n, out_d = out_p[keep], out_n[keep], out_d[keep]
        order = np.lexsort((out_d, out_n, out_p))
        out_p, out_n, out_d = out_p[order], out_n[order], out_d[order]
        first = np.ones(len(out_p), dtype=bool)
        first[1:] = (out_p[1:] != out_p[:-1]) | (out_n[1:] != out_n[:-1])
        return out_p[first], out_n[first], out_d[first]

    def roads_at(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (position in ``nodes``, road) for every road touching each node."""
        lo = self.incidence_ptr[nodes]
        counts = self.incidence_ptr[nodes + 1] - lo
        rep = np.repeat(np.arange(len(nodes)), counts)
        step = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return rep, self.incidence[lo[rep] + step]


def _incidents_near_roads(g: _RoadGraph, night: gpd.GeoDataFrame, limit: float) -> np.ndarray:
    """Count, per road, the incidents within ``limit`` metres of it along the network."""
    if len(night) == 0:
        return np.zeros(g.n_roads, dtype=np.int64)
    road = night["edge_pos"].to_numpy(dtype=np.int64)
    along = night["along_m"].to_numpy(dtype=float)
    off = night["offroad_m"].to_numpy(dtype=float)
    seeds = np.column_stack([g.u[road], g.v[road]])
    costs = np.column_stack([off + along, off + g.length[road] - along])
    p, node, d = g.reach(seeds, costs, limit)
    at, r = g.roads_at(node)
    # A road is reached where a path reaches either of its ends, or the point sits on it.
    own = np.flatnonzero(off <= limit + _TOL_M)
    pair_p = np.concatenate([p[at], own])
    pair_r = np.concatenate([r, road[own]])
    key = np.unique(pair_p * g.n_roads + pair_r)
    return np.bincount(key % g.n_roads, minlength=g.n_roads)


def _bridge_cut(
    g: _RoadGraph, village_node: np.ndarray, households: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return per road: is it a bridge, and the households on its smaller side."""
    n = g.graph.shape[0]
    a = np.minimum(g.u, g.v)
    b = np.maximum(g.u, g.v)
    loop = a == b
    key = a * n + b
    uniq, inv, count = np.unique(key[~loop], return_inverse=True, return_counts=True)
    inv = inv.ravel()
    simple = nx.Graph()
    simple.add_nodes_from(range(n))
    simple.add_edges_from(zip((uniq // n).tolist(), (uniq % n).tolist(), strict=True))
    ends = np.asarray(list(nx.bridges(simple)), dtype=np.int64).reshape(-1, 2)
    found = ends.min(axis=1) * n + ends.max(axis=1)
    # Two roads between the same nodes back each other up, so neither is a bridge.
    pair_bridge = np.isin(uniq, found) & (count == 1)
    is_bridge = np.zeros(g.n_roads, dtype=bool)
    is_bridge[np.flatnonzero(~loop)] = pair_bridge[inv]
    cut = np.zeros(g.n_roads)
    if not pair_bridge.any():
        return is_bridge, cut
    # Contract 2-edge-connected components; the bridges then form a forest.
    pa, pb = uniq[~pair_bridge] // n, uniq[~pair_bridge] % n
    rest = sparse.csr_matrix((np.ones(len(pa)), (pa, pb)), shape=(n, n))
    n_comp, comp = csgraph.connected_components(rest, directed=False)
    hh = np.bincount(comp[village_node], weights=households, minlength=n_comp)
    ba, bb = comp[uniq[pair_bridge] // n], comp[uniq[pair_bridge] % n]
    # A virtual root joined to one component of each tree makes the forest one tree.
    _, tree_label = csgraph.connected_components(
        sparse.csr_matrix((np.ones(len(ba)), (ba, bb)), shape=(n_comp, n_comp)), directed=False
    )
    _, first = np.unique(tree_label, return_index=True)
    root = n_comp
    fa = np.concatenate([ba, np.full(len(first), root)])
    fb = np.concatenate([bb, first])
    forest = sparse.csr_matrix((np.ones(len(fa)), (fa, fb)), shape=(n_comp + 1, n_comp + 1))
    _, pred = csgraph.breadth_first_order(forest, root, directed=False, return_predecessors=True)
    depth = np.asarray(
        csgraph.shortest_path(forest, directed=False, unweighted=True, indices=root)
    ).astype(np.int64)
    sub = np.concatenate([hh, [0.0]])
    # Sum households up the tree one depth level at a time (leaves first).
    for level in range(int(depth.max()), 0, -1):
        at = np.flatnonzero(depth == level)
        np.add.at(sub, pred[at], sub[at])
    child = np.where(pred[bb] == ba, bb, ba)
    tree_total = sub[first][tree_label[child]]
    side = sub[child]
    bridge_cut = np.minimum(side, tree_total - side)
    road_cut = np.zeros(len(uniq))
    road_cut[np.flatnonzero(pair_bridge)] = bridge_cut
    cut[np.flatnonzero(~loop)] = road_cut[inv]
    return is_bridge, cut


# --------------------------------------------------------------------------- lamp plan


@dataclass(frozen=True)
class LampParams:
    """Secondary options of :func:`place_lamps` (budget and spacing are its arguments).

    Parameters
    ----------
    step_m
        Distance between candidate points along a road; ``None`` uses ``spacing_m``
        (then candidates on one road never conflict).
    lit_share
        A road counts as lit after installation (and goes into :meth:`LampPlan.to_edit`)
        when lamps light at least this share of its length.
    serve_m
        A village is served when its point is within this distance of a lamp.
    reach_m
        A night incident is within reach when it lies within this distance of a lit
        stretch; also the tie-break radius between equally valuable candidates.
    method
        ``"greedy"`` (lazy greedy, any size) or ``"exact"`` (MILP with HiGHS; for
        village-sized problems, falls back to greedy's answer if HiGHS finds nothing
        better within ``time_limit_s``).
    time_limit_s
        Wall-clock limit of the exact method.
    """

    step_m: float | None = None
    lit_share: float = 0.75
    serve_m: float = 200.0
    reach_m: float = 50.0
    method: Literal["greedy", "exact"] = "greedy"
    time_limit_s: float = 30.0

    def __post_init__(self) -> None:
        if self.step_m is not None and not (np.isfinite(self.step_m) and self.step_m > 0):
            msg = f"step_m must be a positive number of metres or None, got {self.step_m}"
            raise LightingError(msg)
        if not (np.isfinite(self.lit_share) and 0 < self.lit_share <= 1):
            msg = f"lit_share must be in (0, 1], got {self.lit_share}"
            raise LightingError(msg)
        for name in ("serve_m", "reach_m", "time_limit_s"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                msg = f"{name} must be a positive number, got {value}"
                raise LightingError(msg)
        if self.method not in ("greedy", "exact"):
            msg = f"method must be 'greedy' or 'exact', got {self.method!r}"
            raise LightingError(msg)


@dataclass(frozen=True, eq=False)
class LampPlan:
    """Where the lamps go, what they light, and what that changes.

    Attributes
    ----------
    lamps
        GeoDataFrame of Points (network CRS), in the order chosen: ``lamp`` (1..n),
        ``edge`` (road edge id), ``twin``, ``osm_ways``, ``name``, ``highway``, ``lit``
        (before), ``position_m`` (from the road's ``u`` end), ``covered_from_m``,
        ``covered_to_m``, ``score`` (the road's risk per metre), ``risk_covered`` (risk-
        metres this lamp adds to those chosen before it; they sum to ``covered_risk``),
        ``night_incidents_near`` (night incidents snapped to this road within ``reach_m``
        of the lamp's stretch), ``lon``, ``lat``.
    stretches
        GeoDataFrame of LineStrings: the lit stretches, merged per road: ``edge``,
        ``from_m``, ``to_m``, ``length_m``, ``lamps``, ``risk`` (length x score).
    roads
        One row per road with a lamp: ``edge``, ``twin``, ``length_m``, ``lit_before``,
        ``covered_m``, ``covered_share``, ``lit_after`` (``"yes"`` once ``covered_share``
        reaches ``lit_share``, else unchanged).
    lit_edges
        Directed edge ids marked lit by :meth:`to_edit`: roads reaching ``lit_share`` and
        their twins.
    villages_served
        Villages within ``serve_m`` of a lamp: ``code``, ``name``, ``households``,
        ``distance_m`` (to the nearest lamp).
    incidents_reached
        Night incidents within ``reach_m`` of a lit stretch: ``id``, ``time``,
        ``category``, ``distance_m``.
    dark_km_before
        Km of road with ``lit`` no or unknown before installation.
    covered_km
        Km of dark road actually lit by the lamps (the stretches' length).
    newly_lit_km
        Km of road that counts as lit after installation (whole roads passing
        ``lit_share``): exactly what applying :meth:`to_edit` moves to ``lit = yes``.
    covered_risk, upper_bound
        Risk-metres lit, and a proven upper bound on what any plan within the budget
        and spacing could light (see :func:`place_lamps`).
    guarantee, ratio_bound
        The worst-case guarantee that applies to this instance, in words and as a
        fraction of the optimum.
    budget, spacing_m, coverage_m, params
        The settings used.
    n_candidates, n_conflicts
        Candidate points considered, and pairs of them closer than ``spacing_m``.
    method
        ``"greedy"``, ``"exact"`` (MILP proved optimal) or ``"exact-timeout"``.
    reason
        Why fewer lamps than the budget were placed ("" when the budget is used).
    """

    lamps: gpd.GeoDataFrame
    stretches: gpd.GeoDataFrame
    roads: pd.DataFrame
    lit_edges: tuple[int, ...]
    villages_served: pd.DataFrame
    incidents_reached: pd.DataFrame
    dark_km_before: float
    covered_km: float
    newly_lit_km: float
    covered_risk: float
    upper_bound: float
    guarantee: str
    ratio_bound: float
    budget: int
    spacing_m: float
    coverage_m: float
    params: LampParams
    n_candidates: int
    n_conflicts: int
    method: str
    reason: str = ""

    def __post_init__(self) -> None:
        if len(self.lamps) > self.budget:
            msg = f"plan has {len(self.lamps)} lamps, more than the budget {self.budget}"
            raise LightingError(msg)
        got = float(self.lamps["risk_covered"].sum()) if len(self.lamps) else 0.0
        if abs(got - self.covered_risk) > 1e-6 * max(1.0, abs(self.covered_risk)):
            msg = "per-lamp risk does not add up to the plan's covered risk"
            raise LightingError(msg)
        if self.upper_bound < self.covered_risk - 1e-6 * max(1.0, self.covered_risk):
            msg = "upper bound is below the covered risk"
            raise LightingError(msg)
        if self.covered_km > self.dark_km_before + 1e-9:
            msg = "lamps cover more km than there is dark road"
            raise LightingError(msg)
        if len(set(self.lit_edges)) != len(self.lit_edges):
            msg = "lit_edges has duplicates"
            raise LightingError(msg)
        if len(self.lamps) < self.budget and not self.reason:
            msg = "a plan with fewer lamps than its budget must say why"
            raise LightingError(msg)

    @property
    def dark_km_after(self) -> float:
        """Km of dark road after installation, counting whole roads (see ``lit_share``)."""
        return self.dark_km_before - self.newly_lit_km

    @property
    def dark_km_uncovered(self) -> float:
        """Km of dark road no lamp lights (counting lit stretches exactly)."""
        return self.dark_km_before - self.covered_km

    @property
    def households_served(self) -> int:
        """Households of the villages within ``serve_m`` of a lamp."""
        return int(self.villages_served["households"].sum())

    @property
    def gap_bound(self) -> float:
        """Largest possible shortfall from the optimum, as a share of the upper bound."""
        if self.upper_bound <= 0:
            return 0.0
        return max(0.0, 1.0 - self.covered_risk / self.upper_bound)

    def to_edit(self) -> Edit:
        """Return the ``mark_lit`` scenario edit of the roads this plan lights.

        Raises
        ------
        LightingError
            If no road reaches ``lit_share`` (there is nothing to mark).
        """
        if not self.lit_edges:
            msg = (
                f"the plan lights no road to {self.params.lit_share:.0%} of its length, "
                "so there is nothing to mark lit"
            )
            raise LightingError(msg)
        return Edit("mark_lit", {"edges": [int(i) for i in self.lit_edges]})

    def summary(self) -> dict[str, Any]:
        """Return the headline numbers as a JSON-ready dict."""
        return {
            "lamps": len(self.lamps),
            "budget": self.budget,
            "spacing_m": self.spacing_m,
            "coverage_m": self.coverage_m,
            "method": self.method,
            "covered_risk": round(self.covered_risk, 3),
            "upper_bound": round(self.upper_bound, 3),
            "gap_bound": round(self.gap_bound, 4),
            "guarantee": self.guarantee,
            "ratio_bound": round(self.ratio_bound, 4),
            "dark_km_before": round(self.dark_km_before, 3),
            "covered_km": round(self.covered_km, 3),
            "newly_lit_km": round(self.newly_lit_km, 3),
            "dark_km_after": round(self.dark_km_after, 3),
            "villages_served": len(self.villages_served),
            "households_served": self.households_served,
            "night_incidents_reached": len(self.incidents_reached),
            "lit_edges": len(self.lit_edges),
            "reason": self.reason,
        }


@dataclass(frozen=True, eq=False)
class _Instance:
    """Candidates, the road elements they light, and the spacing conflicts."""

    road: np.ndarray  # per candidate: row of the risk table
    pos: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    cover: sparse.csr_array  # candidate x element
    weight: np.ndarray  # per element: metres x score
    conflict_i: np.ndarray
    conflict_j: np.ndarray
    tiebreak: np.ndarray


def place_lamps(
    net: RoadNetwork,
    risk: RoadRisk,
    *,
    budget: int = 30,
    spacing_m: float = 35.0,
    coverage_m: float | None = None,
    params: LampParams | None = None,
) -> LampPlan:
    """Choose up to ``budget`` lamp points on dark roads to light the most risk.

    Parameters
    ----------
    net
        The network ``risk`` was computed on (same edges and CRS).
    risk
        Dark-road scores from :func:`road_risk`; a road's ``score`` is read as its risk
        per metre, so lighting ``m`` metres of it is worth ``m x score`` risk-metres.
    budget
        Number of lamps (0 gives an empty plan).
    spacing_m
        Least distance between two lamps along the network, on one road or across a
        junction.
    coverage_m
        Length lit on each side of a lamp, along its own road; ``None`` uses
        ``spacing_m / 2``.
    params
        Candidate step, lit share, service and reach distances, method.

    Returns
    -------
    LampPlan
        Lamps, lit stretches, the ``mark_lit`` edit and before/after numbers.

    Raises
    ------
    LightingError
        On a bad budget, spacing or coverage, or a risk table from another network.

    Notes
    -----
    *Candidates.* Every ``step_m`` along each road whose ``lit`` is no or unknown in
    ``net`` (never on a lit road): ``floor(L / step)`` points ``step`` apart, centred on
    the road (the leftover shared by both ends), or one at the middle of a road shorter
    than ``step``. A lamp lights
    ``[p - coverage_m, p + coverage_m]`` of its own road; light spilling round a corner
    onto another road is not credited (conservative).

    *Spacing.* Two lamps conflict when their network distance (undirected, any road,
    lit or not) is below ``spacing_m``: along one road, through a shared junction, or
    through a short third road. Distances come from a bounded Dijkstra, as for risk.

    *Objective.* Covered risk is the length-times-score of the union of lit stretches,
    a weighted coverage function: monotone and submodular. Greedy (lazy evaluation
    with a priority queue, Minoux 1978) then guarantees:

    - without conflicts, at least ``1 - 1/e`` (63 %) of the optimum for any budget
      (Nemhauser, Wolsey & Fisher 1978);
    - with the defaults (``step_m = spacing_m``, ``coverage_m = spacing_m / 2``) each
      candidate lights its own disjoint ``spacing_m`` stretch, so the objective is
      modular, and the centred grid keeps candidates ``spacing_m`` apart across
      junctions too; unless a road shorter than ``spacing_m`` puts its midpoint
      candidate too close to a neighbour, no two candidates conflict and the problem is
      "take the N most valuable candidates": greedy is optimal;
    - with conflicts, the feasible sets (at most ``budget`` lamps, pairwise
      ``spacing_m`` apart) form an independence system but not a matroid. If every
      candidate conflicts with at most ``k`` others, it is a ``k``-system and greedy
      gets at least ``1/(k+1)`` of the optimum (Fisher, Nemhauser & Wolsey 1978, part
      II), ``1/k`` when the objective is modular (Jenkyns 1976). On a single road
      ``k <= 2`` is typical; at junctions it grows. This worst case is loose, so the plan
      also reports a bound proven on this instance: by submodularity the optimum is at
      most the greedy value plus the ``budget`` largest remaining marginal gains, and at
      most the sum of the ``budget`` largest single-lamp values; the smaller bound is
      ``upper_bound``.

    Ties between equally valuable candidates (common: every full stretch of a road is
    worth the same) go to the one with more night incidents snapped to its road within
    ``reach_m`` of its stretch (so lamps go where the incidents are along a long road),
    then to the one conflicting with the fewest other candidates (so a lamp does not
    needlessly block a junction), then to the lowest candidate. Tie-breaking never
    lowers the guarantees.

    ``method="exact"`` solves the same problem as a MILP (candidates binary, elements
    of road continuous in [0, 1], one row per spacing conflict) with
    :func:`scipy.optimize.milp`; its ``upper_bound`` is HiGHS's proven bound.
    """
    p = params or LampParams()
    _check_budget(budget)
    spacing = _positive("spacing_m", spacing_m)
    cover_m = spacing / 2 if coverage_m is None else _positive("coverage_m", coverage_m)
    step = spacing if p.step_m is None else float(p.step_m)
    _check_net(net)
    _check_risk(net, risk)
    g = _RoadGraph.of(net)
    lit_now = net.edges["lit"].to_numpy(dtype=object)
    rows = risk.roads.reset_index(drop=True)
    rows = rows[np.isin(lit_now[rows["edge"].to_numpy(dtype=np.int64)], DARK_CLASSES)]
    rows = rows.reset_index(drop=True)

    if budget == 0:
        out = _Outcome.nothing("budget is 0", p.method)
    elif len(rows) == 0:
        out = _Outcome.nothing(
            "no road is unlit or of unknown lighting: there is nowhere to put a lamp", p.method
        )
    else:
        inst = _instance(g, rows, risk, step=step, spacing=spacing, cover_m=cover_m, p=p)
        out = _solve(inst, budget, p)
    return _plan(net, risk, rows, g, out, budget=budget, spacing=spacing, cover_m=cover_m, params=p)


@dataclass(frozen=True, eq=False)
class _Outcome:
    """The chosen candidates (in pick order) and what can be proved about them."""

    road: np.ndarray  # row of the risk table
    pos: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    gain: np.ndarray
    near: np.ndarray  # night incidents near each lamp's stretch
    upper: float
    guarantee: str
    ratio: float
    n_candidates: int
    n_conflicts: int
    method: str
    reason: str

    @staticmethod
    def nothing(reason: str, method: str) -> _Outcome:
        none = np.zeros(0)
        return _Outcome(
            road=np.zeros(0, np.int64),
            pos=none,
            lo=none,
            hi=none,
            gain=none,
            near=np.zeros(0, np.int64),
            upper=0.0,
            guarantee="optimal (nothing to place)",
            ratio=1.0,
            n_candidates=0,
            n_conflicts=0,
            method=method,
            reason=reason,
        )


def _solve(inst: _Instance, budget: int, p: LampParams) -> _Outcome:
    """Run greedy (and the MILP if asked); bound the optimum from this instance."""
    pick, gain = _lazy_greedy(inst, budget)
    method = "greedy"
    # Submodularity bounds any feasible set by the sum of its members' values, both
    # alone and on top of the greedy set; neither bound looks at the spacing.
    single = np.asarray(inst.cover @ inst.weight).ravel()
    bound = float(np.sort(single)[::-1][:budget].sum())
    residual = inst.weight.copy()
    if len(pick):
        residual[np.unique(inst.cover[pick].indices)] = 0.0
    remaining = np.asarray(inst.cover @ residual).ravel()
    bound = min(bound, float(gain.sum()) + float(np.sort(remaining)[::-1][:budget].sum()))
    if p.method == "exact":
        x_pick, optimal, dual = _exact(inst, budget, p.time_limit_s)
        if x_pick is not None:
            x_gain = _sequential_gains(inst, x_pick)
            if x_gain.sum() >= gain.sum() - 1e-9:
                pick, gain = x_pick, x_gain
        method = "exact" if optimal else "exact-timeout"
        bound = min(bound, dual)
    guarantee, ratio = _guarantee(inst, method)
    reason = ""
    if len(pick) < budget:
        reason = (
            f"only {len(pick)} of {budget} lamps light any risk: every other candidate "
            "is closer than spacing_m to a chosen lamp or lights only zero-risk road"
        )
    return _Outcome(
        road=inst.road[pick],
        pos=inst.pos[pick],
        lo=inst.lo[pick],
        hi=inst.hi[pick],
        gain=gain,
        near=inst.tiebreak[pick],
        upper=max(bound, float(gain.sum())),
        guarantee=guarantee,
        ratio=ratio,
        n_candidates=len(inst.road),
        n_conflicts=len(inst.conflict_i),
        method=method,
        reason=reason,
    )


def _instance(
    g: _RoadGraph,
    rows: pd.DataFrame,
    risk: RoadRisk,
    *,
    step: float,
    spacing: float,
    cover_m: float,
    p: LampParams,
) -> _Instance:
    """Build candidates, their coverage of road elements, conflicts and tie-breaks."""
    length = rows["length_m"].to_numpy(dtype=float)
    score = rows["score"].to_numpy(dtype=float)
    # A centred grid: floor(L / step) candidates step apart, the leftover split between
    # both ends, so every candidate is at least step/2 from its road's ends and two
    # candidates across a junction are at least step apart. A road shorter than step
    # gets one candidate at its middle (the only source of conflicts when step >= spacing).
    n_per = np.floor(length / step).astype(np.int64)
    short = n_per == 0
    counts = np.where(short, 1, n_per)
    road = np.repeat(np.arange(len(rows)), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    margin = 0.5 * (length - n_per * step)
    pos = np.where(short[road], 0.5 * length[road], margin[road] + (k + 0.5) * step)
    pos = np.clip(pos, 0.0, length[road])
    lo = np.maximum(pos - cover_m, 0.0)
    hi = np.minimum(pos + cover_m, length[road])

    # Lay the roads end to end on one axis (with gaps) so a sorted search finds the
    # elementary pieces between consecutive stretch ends on every road at once.
    gap = 2 * (cover_m + p.reach_m) + 1.0
    base = np.concatenate([[0.0], np.cumsum(length + gap)[:-1]])
    g_lo = np.round(base[road] + lo, 6)
    g_hi = np.round(base[road] + hi, 6)
    bp = np.unique(np.concatenate([g_lo, g_hi]))
    first = np.searchsorted(bp, g_lo)
    last = np.searchsorted(bp, g_hi)
    n_el = last - first
    cand = np.repeat(np.arange(len(pos)), n_el)
    el = np.repeat(first, n_el) + (np.arange(n_el.sum()) - np.repeat(np.cumsum(n_el) - n_el, n_el))
    used, el = np.unique(el, return_inverse=True)
    el_road = np.searchsorted(base, bp[used], side="right") - 1
    weight = (bp[used + 1] - bp[used]) * score[el_road]
    cover = sparse.csr_array((np.ones(len(cand)), (cand, el.ravel())), shape=(len(pos), len(used)))

    ci, cj = _conflicts(g, rows, road, pos, spacing)

    # Night incidents on the candidate's road, within reach of its stretch.
    night = risk.night_incidents
    edge_to_row = pd.Series(np.arange(len(rows)), index=rows["edge"].to_numpy())
    inc_edge = night["edge"].to_numpy(dtype=np.int64) if len(night) else np.zeros(0, np.int64)
    inc_row = edge_to_row.reindex(inc_edge).to_numpy()
    ok = ~np.isnan(inc_row)
    if len(night):
        ok &= night["offroad_m"].to_numpy(dtype=float) <= p.reach_m
    inc_g = np.sort(base[inc_row[ok].astype(np.int64)] + night["along_m"].to_numpy()[ok])
    tiebreak = np.searchsorted(inc_g, base[road] + hi + p.reach_m, side="right") - np.searchsorted(
        inc_g, base[road] + lo - p.reach_m, side="left"
    )
    return _Instance(
        road=road,
        pos=pos,
        lo=lo,
        hi=hi,
        cover=cover,
        weight=weight,
        conflict_i=ci,
        conflict_j=cj,
        tiebreak=tiebreak.astype(np.int64),
    )


def _conflicts(
    g: _RoadGraph, rows: pd.DataFrame, road: np.ndarray, pos: np.ndarray, spacing: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return candidate pairs (i < j) closer than ``spacing`` along the network."""
    limit = spacing - _TOL_M
    length = rows["length_m"].to_numpy(dtype=float)
    gr = pd.Series(np.arange(g.n_roads), index=g.roads).reindex(rows["edge"].to_numpy())
    grow = gr.to_numpy(dtype=np.int64)[road]
    to_u, to_v = pos, length[road] - pos
    parts_i, parts_j = [], []
    # Same road, straight along it: candidates are sorted by road, then position.
    order = np.lexsort((pos, road))
    r_s, p_s = road[order], pos[order]
    for lag in range(1, len(pos)):
        near = (r_s[lag:] == r_s[:-lag]) & (p_s[lag:] - p_s[:-lag] < limit)
        if not near.any():
            break
        parts_i.append(order[:-lag][near])
        parts_j.append(order[lag:][near])
    # Through the network: only candidates within spacing of a road end take part.
    seeds = np.column_stack([g.u[grow], g.v[grow]])
    costs = np.column_stack([to_u, to_v])
    near_end = np.flatnonzero(np.minimum(to_u, to_v) < limit)
    if len(near_end):
        pt, node, d = g.reach(seeds[near_end], costs[near_end], limit)
        ends = pd.DataFrame(
            {
                "j": np.concatenate([near_end, near_end]),
                "node": np.concatenate([seeds[near_end, 0], seeds[near_end, 1]]),
                "cj": np.concatenate([costs[near_end, 0], costs[near_end, 1]]),
            }
        )
        ends = ends[ends["cj"] < limit]
        hit = pd.DataFrame({"i": near_end[pt], "node": node, "d": d}).merge(ends, on="node")
        close = (hit["d"] + hit["cj"] < limit) & (hit["i"] != hit["j"])
        parts_i.append(hit.loc[close, "i"].to_numpy(dtype=np.int64))
        parts_j.append(hit.loc[close, "j"].to_numpy(dtype=np.int64))
    if not parts_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a = np.concatenate(parts_i)
    b = np.concatenate(parts_j)
    lo_, hi_ = np.minimum(a, b), np.maximum(a, b)
    key = np.unique(lo_ * len(pos) + hi_)
    return key // len(pos), key % len(pos)


def _lazy_greedy(inst: _Instance, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Pick up to ``budget`` compatible candidates by largest marginal covered risk.

    Ties: more night incidents near, then fewer conflicts, then lowest index. Stale heap
    entries over-estimate the gain (submodularity), so an entry whose gain
    was recomputed this round and is still on top is the true best (Minoux 1978).
    """
    cover = inst.cover
    indptr, indices = cover.indptr, cover.indices
    residual = inst.weight.astype(float, copy=True)
    tol = 1e-12 * max(float(residual.sum()), 1.0)
    gains = np.asarray(cover @ residual).ravel()
    m = len(gains)
    nbr = sparse.csr_array(
        (
            np.ones(2 * len(inst.conflict_i)),
            (
                np.concatenate([inst.conflict_i, inst.conflict_j]),
                np.concatenate([inst.conflict_j, inst.conflict_i]),
            ),
        ),
        shape=(m, m),
    )
    degree = np.diff(nbr.indptr)
    blocked = np.zeros(m, dtype=bool)
    live = np.flatnonzero(gains > tol)
    heap = list(
        zip(
            (-gains[live]).tolist(),
            (-inst.tiebreak[live]).tolist(),
            degree[live].tolist(),
            live.tolist(),
            strict=True,
        )
    )
    heapq.heapify(heap)
    fresh = np.zeros(m, dtype=np.int64)
    picked: list[int] = []
    got: list[float] = []
    while heap and len(picked) < budget:
        neg, tb, deg, j = heapq.heappop(heap)
        if blocked[j]:
            continue
        cols = indices[indptr[j] : indptr[j + 1]]
        if fresh[j] == len(picked):
            picked.append(j)
            got.append(-neg)
            residual[cols] = 0.0
            blocked[j] = True
            blocked[nbr.indices[nbr.indptr[j] : nbr.indptr[j + 1]]] = True
            continue
        gain = float(residual[cols].sum())
        fresh[j] = len(picked)
        if gain > tol:
            heapq.heappush(heap, (-gain, tb, deg, j))
    return np.asarray(picked, dtype=np.int64), np.asarray(got, dtype=float)


def _sequential_gains(inst: _Instance, pick: np.ndarray) -> np.ndarray:
    """Return each pick's marginal risk given the picks before it."""
    residual = inst.weight.copy()
    out = np.zeros(len(pick))
    cover = inst.cover
    for k, j in enumerate(pick):  # at most `budget` lamps
        cols = cover.indices[cover.indptr[j] : cover.indptr[j + 1]]
        out[k] = residual[cols].sum()
        residual[cols] = 0.0
    return out


def _exact(
    inst: _Instance, budget: int, time_limit_s: float
) -> tuple[np.ndarray | None, bool, float]:
    """Solve the lamp problem as a MILP; return (picks, proven optimal, upper bound)."""
    m, n_el = inst.cover.shape
    # y_e <= sum of the x_j lighting e; sum x <= budget; x_i + x_j <= 1 per conflict.
    a_cover = sparse.hstack([-inst.cover.T, sparse.eye_array(n_el)], format="csr")
    rows = [LinearConstraint(a_cover, -np.inf, 0.0)]
    rows.append(
        LinearConstraint(
            sparse.hstack(
                [sparse.csr_array(np.ones((1, m))), sparse.csr_array((1, n_el))], format="csr"
            ),
            -np.inf,
            budget,
        )
    )
    nc = len(inst.conflict_i)
    if nc:
        a_conf = sparse.csr_array(
            (
                np.ones(2 * nc),
                (
                    np.repeat(np.arange(nc), 2),
                    np.column_stack([inst.conflict_i, inst.conflict_j]).ravel(),
                ),
            ),
            shape=(nc, m + n_el),
        )
        rows.append(LinearConstraint(a_conf, -np.inf, 1.0))
    res = milp(
        c=np.concatenate([np.zeros(m), -inst.weight]),
        constraints=rows,
        integrality=np.concatenate([np.ones(m), np.zeros(n_el)]),
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": float(time_limit_s), "disp": False},
    )
    dual = getattr(res, "mip_dual_bound", None)
    bound = -float(dual) if dual is not None and np.isfinite(dual) else np.inf
    if res.x is None:
        return None, False, bound
    chosen = np.flatnonzero(res.x[:m] > 0.5)
    # Order the lamps as greedy would, so the per-lamp risk reads best-first.
    single = np.asarray(inst.cover @ inst.weight).ravel()[chosen]
    chosen = chosen[np.lexsort((chosen, -single))]
    return chosen, bool(res.status == 0), bound


def _guarantee(inst: _Instance, method: str) -> tuple[str, float]:
    """Return the worst-case guarantee that holds for this instance and method."""
    if method == "exact":
        return "optimal (MILP solved to proven optimality by HiGHS)", 1.0
    modular = bool(len(inst.cover.indices) == 0 or np.bincount(inst.cover.indices).max() <= 1)
    if len(inst.conflict_i) == 0:
        if modular:
            return "optimal (disjoint stretches, no spacing conflicts: top-N choice)", 1.0
        return "1 - 1/e of optimal (monotone submodular coverage, Nemhauser et al. 1978)", (
            1.0 - 1.0 / np.e
        )
    k = int(
        np.bincount(
            np.concatenate([inst.conflict_i, inst.conflict_j]), minlength=len(inst.road)
        ).max()
    )
    if modular:
        return f"1/{k} of optimal (modular objective on a {k}-system, Jenkyns 1976)", 1.0 / k
    return (
        f"1/{k + 1} of optimal (submodular objective on a {k}-system, Fisher et al. 1978)",
        1.0 / (k + 1),
    )


def _plan(
    net: RoadNetwork,
    risk: RoadRisk,
    rows: pd.DataFrame,
    g: _RoadGraph,
    out: _Outcome,
    *,
    budget: int,
    spacing: float,
    cover_m: float,
    params: LampParams,
) -> LampPlan:
    """Assemble the plan's tables from the chosen candidates."""
    crs = net.crs
    road, pos, lo, hi = out.road, out.pos, out.lo, out.hi
    edge = rows["edge"].to_numpy(dtype=np.int64)[road] if len(road) else np.zeros(0, np.int64)
    geoms = net.edge_geometry
    pts = np.asarray(shapely.line_interpolate_point(geoms[edge], pos), dtype=object)
    lonlat = gpd.GeoSeries(pts, crs=crs).to_crs(4326)
    score = rows["score"].to_numpy(dtype=float)[road] if len(road) else np.zeros(0)

    def col(name: str) -> np.ndarray:
        return rows[name].to_numpy(dtype=object)[road] if len(road) else np.zeros(0, object)

    lamps = gpd.GeoDataFrame(
        {
            "lamp": np.arange(1, len(road) + 1),
            "edge": edge,
            "twin": g.twin[edge],
            "osm_ways": col("osm_ways"),
            "name": col("name"),
            "highway": col("highway"),
            "lit": col("lit"),
            "position_m": pos,
            "covered_from_m": lo,
            "covered_to_m": hi,
            "score": score,
            "risk_covered": out.gain,
            "night_incidents_near": out.near,
            "lon": lonlat.x.to_numpy(),
            "lat": lonlat.y.to_numpy(),
        },
        geometry=pts,
        crs=crs,
    )

    # Merge each road's lit intervals into stretches.
    order = np.lexsort((lo, edge))
    e_s, lo_s, hi_s = edge[order], lo[order], hi[order]
    run_hi = pd.Series(hi_s).groupby(e_s).cummax().to_numpy() if len(e_s) else np.zeros(0)
    new = np.ones(len(e_s), dtype=bool)
    new[1:] = (e_s[1:] != e_s[:-1]) | (lo_s[1:] > run_hi[:-1] + _TOL_M)
    grp = np.cumsum(new) - 1
    st = pd.DataFrame({"edge": e_s, "from_m": lo_s, "to_m": hi_s, "grp": grp})
    st = st.groupby("grp").agg(
        edge=("edge", "first"),
        from_m=("from_m", "min"),
        to_m=("to_m", "max"),
        lamps=("edge", "size"),
    )
    st["length_m"] = st["to_m"] - st["from_m"]
    st_score = pd.Series(rows["score"].to_numpy(dtype=float), index=rows["edge"].to_numpy())
    st["risk"] = st["length_m"] * st_score.reindex(st["edge"].to_numpy()).to_numpy()
    st_geom = _substrings(
        net, st["edge"].to_numpy(dtype=np.int64), st["from_m"].to_numpy(), st["to_m"].to_numpy()
    )
    stretches = gpd.GeoDataFrame(
        st[["edge", "from_m", "to_m", "length_m", "lamps", "risk"]].reset_index(drop=True),
        geometry=st_geom,
        crs=crs,
    )

    lit_now = net.edges["lit"].to_numpy(dtype=object)
    length_all = net.edges["length_m"].to_numpy(dtype=float)
    dark_km = float(g.length[np.isin(lit_now[g.roads], DARK_CLASSES)].sum()) / 1000.0
    covered = stretches.groupby("edge")["length_m"].sum()
    r_edge = covered.index.to_numpy(dtype=np.int64)
    r_len = length_all[r_edge]
    share = np.divide(covered.to_numpy(), r_len, out=np.ones(len(r_edge)), where=r_len > 0)
    share = np.minimum(share, 1.0)
    lit_after = share >= params.lit_share - 1e-9
    roads = pd.DataFrame(
        {
            "edge": r_edge,
            "twin": g.twin[r_edge],
            "length_m": r_len,
            "lit_before": lit_now[r_edge],
            "covered_m": covered.to_numpy(dtype=float),
            "covered_share": share,
            "lit_after": np.where(lit_after, "yes", lit_now[r_edge]),
        }
    )
    newly = r_edge[lit_after]
    tw = g.twin[newly]
    lit_edges = tuple(int(i) for i in np.unique(np.concatenate([newly, tw[tw >= 0]])))

    vil = risk.villages
    served = pd.DataFrame(columns=["code", "name", "households", "distance_m"])
    reached = pd.DataFrame(columns=["id", "time", "category", "distance_m"])
    if len(lamps):
        d_v = _nearest_distance(pts, vil.geometry.to_numpy())
        ok = d_v <= params.serve_m
        served = pd.DataFrame(
            {
                "code": vil["code"].to_numpy()[ok],
                "name": vil["name"].to_numpy()[ok],
                "households": vil["households"].to_numpy()[ok],
                "distance_m": d_v[ok],
            }
        )
        night = risk.night_incidents
        if len(night):
            d_i = _nearest_distance(stretches.geometry.to_numpy(), night.geometry.to_numpy())
            ok = d_i <= params.reach_m
            reached = pd.DataFrame(
                {
                    "id": night["id"].to_numpy()[ok],
                    "time": night["time"].to_numpy()[ok],
                    "category": night["category"].to_numpy()[ok],
                    "distance_m": d_i[ok],
                }
            )
    return LampPlan(
        lamps=lamps,
        stretches=stretches,
        roads=roads,
        lit_edges=lit_edges,
        villages_served=served,
        incidents_reached=reached,
        dark_km_before=dark_km,
        covered_km=float(stretches["length_m"].sum()) / 1000.0,
        newly_lit_km=float(r_len[lit_after].sum()) / 1000.0,
        covered_risk=float(out.gain.sum()),
        upper_bound=out.upper,
        guarantee=out.guarantee,
        ratio_bound=float(out.ratio),
        budget=int(budget),
        spacing_m=spacing,
        coverage_m=cover_m,
        params=params,
        n_candidates=out.n_candidates,
        n_conflicts=out.n_conflicts,
        method=out.method,
        reason=out.reason,
    )


def _nearest_distance(targets: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Distance from each query geometry to the nearest target (inf if none)."""
    near, dist = shapely.STRtree(targets).query_nearest(
        queries, return_distance=True, all_matches=False
    )
    out = np.full(len(queries), np.inf)
    out[near[0]] = dist
    return out


def _substrings(
    net: RoadNetwork, edge: np.ndarray, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Return the pieces ``[start, end]`` metres of edges as LineStrings, vectorised."""
    if not len(edge):
        return np.zeros(0, dtype=object)
    c, off = net.coords, net.offsets
    seg = np.hypot(*np.diff(c, axis=0).T)
    owner = np.repeat(np.arange(len(off) - 1), np.diff(off))
    seg[owner[1:] != owner[:-1]] = 0.0
    cum_all = np.concatenate([[0.0], np.cumsum(seg)])
    cum = cum_all - cum_all[off[:-1]][owner]
    counts = off[edge + 1] - off[edge]
    rep = np.repeat(np.arange(len(edge)), counts)
    vi = off[edge][rep] + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    inner = (cum[vi] > start[rep]) & (cum[vi] < end[rep])
    geoms = net.edge_geometry[edge]
    a = shapely.get_coordinates(shapely.line_interpolate_point(geoms, start))
    b = shapely.get_coordinates(shapely.line_interpolate_point(geoms, end))
    piece = np.concatenate([np.arange(len(edge)), rep[inner], np.arange(len(edge))])
    at = np.concatenate([start, cum[vi][inner], end])
    xy = np.vstack([a, c[vi][inner], b])
    order = np.lexsort((at, piece))
    return np.asarray(shapely.linestrings(xy[order], indices=piece[order]), dtype=object)


# --------------------------------------------------------------------------- validation


def _check_net(net: RoadNetwork) -> None:
    if net.crs is None or not net.crs.is_projected:
        msg = "the road network needs a projected (metric) CRS"
        raise LightingError(msg)
    for col in ("u", "v", "lit", "reversed", "length_m", "highway"):
        if col not in net.edges.columns:
            msg = f"network edges lack column {col!r}"
            raise LightingError(msg)


def _check_crs(gdf: gpd.GeoDataFrame, net: RoadNetwork, name: str) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"{name} must be a GeoDataFrame"
        raise LightingError(msg)
    if gdf.crs is None:
        msg = f"{name} layer has no CRS; read it with to_crs=net.crs"
        raise LightingError(msg)
    if not pyproj.CRS.from_user_input(gdf.crs).equals(net.crs):
        msg = (
            f"{name} layer is in {gdf.crs.to_string()}, the network in "
            f"{net.crs.to_string()}; reproject it (to_crs=net.crs)"
        )
        raise LightingError(msg)


def _check_villages(
    villages: gpd.GeoDataFrame, net: RoadNetwork, columns: tuple[str, ...]
) -> gpd.GeoDataFrame:
    _check_crs(villages, net, "villages")
    missing = [c for c in columns if c not in villages.columns]
    if missing:
        msg = f"villages layer lacks column(s) {', '.join(map(repr, missing))}"
        raise LightingError(msg)
    if len(villages) == 0:
        msg = "villages layer is empty"
        raise LightingError(msg)
    geom = villages.geometry
    bad = (geom.isna() | geom.is_empty).to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        msg = f"villages layer has rows without geometry (rows {rows}); every village needs a point"
        raise LightingError(msg)
    return villages.reset_index(drop=True)


def _households(vil: gpd.GeoDataFrame) -> np.ndarray:
    hh = pd.to_numeric(vil["households"], errors="coerce")
    bad = (hh.isna() | (hh < 0)).to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        msg = f"villages column 'households' is missing or negative in rows {rows}"
        raise LightingError(msg)
    return hh.to_numpy(dtype=float)


def _points_xy(geometry: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    pts = shapely.point_on_surface(geometry.to_numpy())
    return np.asarray(shapely.get_x(pts), dtype=float), np.asarray(shapely.get_y(pts), dtype=float)


def _night_incidents(
    incidents: gpd.GeoDataFrame | None, net: RoadNetwork, p: RiskParams, g: _RoadGraph
) -> gpd.GeoDataFrame:
    """Select night incidents (and categories) and snap them to roads."""
    cols = ["id", "time", "category", "edge", "edge_pos", "along_m", "offroad_m"]
    if incidents is None:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=net.crs)
    _check_crs(incidents, net, "incidents")
    for c in ("id", "time"):
        if c not in incidents.columns:
            msg = f"incidents layer lacks column {c!r}"
            raise LightingError(msg)
    t = incidents["time"]
    if not isinstance(t.dtype, pd.DatetimeTZDtype):
        msg = (
            f"incident times must be time-zone aware datetimes (got {t.dtype}); read them "
            "with geo.layers.read_incidents or localise them (Asia/Shanghai)"
        )
        raise LightingError(msg)
    if t.isna().any():
        rows = np.flatnonzero(t.isna().to_numpy())[:5].tolist()
        msg = f"incidents have missing times (rows {rows})"
        raise LightingError(msg)
    geom = incidents.geometry
    bad = (geom.isna() | geom.is_empty).to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        msg = f"incidents have no geometry (rows {rows})"
        raise LightingError(msg)
    try:
        keep = in_hour_window(t, (p.night_start_hour, p.night_end_hour))
    except HotspotError as exc:
        msg = f"night window: {exc}"
        raise LightingError(msg) from exc
    category = (
        incidents["category"].astype(str).str.strip().str.lower().to_numpy(dtype=object)
        if "category" in incidents.columns
        else np.full(len(incidents), "", dtype=object)
    )
    if p.categories is not None:
        keep &= np.isin(category, p.categories)
    sel = incidents.loc[keep]
    x, y = _points_xy(sel.geometry)
    road, along, dist = g.snap(x, y)
    return gpd.GeoDataFrame(
        {
            "id": sel["id"].astype(str).to_numpy(),
            "time": sel["time"].to_numpy(),
            "category": category[keep],
            "edge": g.roads[road],
            "edge_pos": road,
            "along_m": along,
            "offroad_m": dist,
        },
        geometry=np.asarray(shapely.points(x, y), dtype=object),
        crs=net.crs,
    )


def _check_budget(budget: object) -> None:
    if isinstance(budget, bool) or not isinstance(budget, int | np.integer):
        msg = f"budget must be a whole number of lamps, got {budget!r}"
        raise LightingError(msg)
    if budget < 0:
        msg = f"budget must be 0 or more lamps, got {budget}"
        raise LightingError(msg)


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        msg = f"{name} must be a number of metres, got {value!r}"
        raise LightingError(msg)
    v = float(value)
    if not (np.isfinite(v) and v > 0):
        msg = f"{name} must be a positive number of metres, got {value}"
        raise LightingError(msg)
    return v


def _check_risk(net: RoadNetwork, risk: RoadRisk) -> None:
    if not isinstance(risk, RoadRisk):
        msg = "risk must be a RoadRisk from road_risk()"
        raise LightingError(msg)
    same = risk.n_edges == len(net.edges) and risk.crs.equals(net.crs)
    if same and len(risk.roads):
        edges = risk.roads["edge"].to_numpy(dtype=np.int64)
        same = bool(
            np.allclose(
                risk.roads["length_m"].to_numpy(dtype=float),
                net.edges["length_m"].to_numpy(dtype=float)[edges],
            )
        )
    if not same:
        msg = "the risk table was computed on another network; run road_risk on this one"
        raise LightingError(msg)
