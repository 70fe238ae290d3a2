"""Dark-road risk: a transparent score per unlit or unsurveyed road, with its reasons.

A weighted sum of four components, each normalised to [0, 1] and shown with its raw
value, weight and contribution, plus a sentence per road saying why. Scores are
relative to the study area (each component is divided by its largest value among the
dark roads), so compare them within one run, not across areas.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from geo.engine import Engine, Nearby
from geo.errors import LightingError
from geo.lighting.inputs import (
    NightIncidents,
    as_roads,
    distance_engine,
    households,
    night_incidents,
    village_points,
    villages_layer,
)
from geo.network import DARK_CLASSES, RoadNetwork, Roads
from geo.network.tags import HIGHWAY_NAMES
from geo.results import Result

__all__ = [
    "COMPONENTS",
    "ROAD_CLASS_EXPOSURE",
    "ROAD_CLASS_LABELS",
    "explanation_zh",
    "RiskParams",
    "RoadRisk",
    "road_risk",
]

#: Distances within this of a limit count as equal to it (metres).
_TOL_M: Final = 1e-6
#: The slack :meth:`geo.engine.Engine.near` allows at its limit; incidents reach nodes
#: through it with exactly its rule, so counts do not depend on how they are searched.
_NEAR_TOL: Final = 1e-9
#: About this many (incident, road) pairs are formed at a time (a few tens of bytes each)
#: before they are summed per road: the memory of the incident count, whatever the
#: number of incidents.
_PAIR_BUDGET: Final = 2_000_000
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
class RoadRisk(Result):
    """Risk score of every dark road, with each component laid open.

    Attributes
    ----------
    roads
        GeoDataFrame (network CRS), one row per dark road sorted by ``rank``:
        ``road`` (row of the road view), ``edge`` (its representative edge), ``twin``
        (its backward edge, -1 if one-way), ``routable`` (part of the routing core), ``osmid``,
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
        The night incidents counted (night, category filter, within
        ``incident_distance_m`` of a road): ``id``, ``time``, ``category``, ``road``,
        ``edge`` (road they snap to), ``along_m``, ``offroad_m``, ``geometry``.
    villages
        ``code``, ``name``, ``households`` and point ``geometry`` of the villages used.
    household_basis
        How households were placed: "village polygons" (a village is near a road when
        any of its polygon is) or "village points" (its point must be), or both.
    n_night, n_unsnapped
        Night incidents selected, and those farther than ``incident_distance_m`` from
        every road: they cannot be within that distance of any road, so they count for
        none, and the number is reported rather than hidden.
    n_edges, n_roads, crs
        Size and CRS of the network scored, to refuse a plan on another network.
    """

    roads: gpd.GeoDataFrame
    params: RiskParams
    scale: Mapping[str, float]
    night_incidents: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    n_night: int
    n_unsnapped: int
    household_basis: str
    n_edges: int
    n_roads: int
    crs: pyproj.CRS
    _geometry_table: ClassVar[str | None] = "roads"

    def _check(self) -> None:
        r = self._frame("roads")
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

        if self.n_unsnapped > self.n_night or len(self._frame("night_incidents")) != (
            self.n_night - self.n_unsnapped
        ):
            msg = "night incident counts do not add up"
            raise LightingError(msg)

    def top(self, n: int = 10) -> gpd.GeoDataFrame:
        """Return the ``n`` highest-scoring dark road pieces (edges of the road view)."""
        return self._frame("roads").head(n).copy()

    def by_road(self, *, join_m: float = 30.0) -> gpd.GeoDataFrame:
        """Rank whole roads: the pieces of one road, and both carriageways, as one row.

        A road as a planner names it is several pieces of the road view (it is cut at
        every junction) and, on a dual carriageway, two parallel one-way roads. First
        pieces join into chains when they carry the same name (or, unnamed, the same
        first OSM way) and lie within ``join_m`` of each other. Then two chains join as
        the carriageways of one road when they run alongside each other the opposite
        way: over at least 65 % of the shorter chain's length (sampled every 10 m), the
        nearest piece of the other chain is within ``join_m``, one-way like it, of the
        same highway class and runs within 30° of the opposite direction. Each chain
        joins at most one longer partner (the one it runs along the most), so a short
        slip road or junction piece between two roads cannot glue them together; a
        link or a cross street never runs opposite along a carriageway and stays itself.
        The road takes the score of its riskiest piece (ties: more risk-metres, score x
        length), its total length, and the name carried by most of its named length.

        Parameters
        ----------
        join_m
            Largest gap (metres) between pieces of one chain, and between a
            carriageway and the other one along it.

        Returns
        -------
        geopandas.GeoDataFrame
            One row per road, ranked: ``rank``, ``name`` (missing when unnamed), ``osmid``,
            ``highway`` (the class of most of its length), ``lit``, ``length_m``,
            ``pieces``, ``score`` (of the riskiest piece), ``risk_m``, ``village_code``,
            ``village_name``, ``explanation`` (of the riskiest piece), ``roads`` (its
            pieces: values of the ``road`` column of :attr:`roads`, ``;``-separated)
            and the merged geometry.

        Raises
        ------
        LightingError
            If ``join_m`` is not a positive number of metres.
        """
        if not (np.isfinite(join_m) and join_m > 0):
            msg = f"join_m must be a positive number of metres, got {join_m}"
            raise LightingError(msg)
        r = self._frame("roads")
        crs = r.crs
        if len(r) == 0:
            return gpd.GeoDataFrame(r.head(0), crs=crs)
        names = r["name"].astype("string").fillna("").str.strip().to_numpy(dtype=object)
        group = _road_groups(r, names, join_m)
        geoms = r.geometry.to_numpy()
        n = len(r)
        length = r["length_m"].to_numpy(dtype=float)
        score = r["score"].to_numpy(dtype=float)
        frame = pd.DataFrame(
            {
                "group": group,
                "score": score,
                "risk_m": score * length,
                "length_m": length,
                "row": np.arange(n),
            }
        )
        g = frame.groupby("group")
        # The riskiest piece of each road speaks for it (ties: the first piece).
        firsts = frame.sort_values(["score", "row"], ascending=[False, True]).drop_duplicates(
            "group"
        )
        best = firsts.set_index("group")["row"]
        named = names != ""
        by_name = _by_length(group[named], names[named], length[named])
        by_class = _by_length(group, r["highway"].astype(str).to_numpy(), length)
        lits = (
            pd.DataFrame({"group": group, "lit": r["lit"].to_numpy()})
            .groupby("group")["lit"]
            .agg(lambda v: "/".join(sorted(set(v))))
        )
        idx = best.index.to_numpy()
        top = r.iloc[best.to_numpy()]
        merged = gpd.GeoDataFrame(
            {
                "name": by_name.reindex(idx).to_numpy(dtype=object),
                "osmid": top["osmid"].to_numpy(),
                "highway": by_class.reindex(idx).to_numpy(),
                "lit": lits.reindex(idx).to_numpy(),
                "length_m": g["length_m"].sum().reindex(idx).to_numpy(),
                "pieces": g.size().reindex(idx).to_numpy(),
                "score": top["score"].to_numpy(),
                "risk_m": g["risk_m"].sum().reindex(idx).to_numpy(),
                "village_code": top["village_code"].to_numpy(),
                "village_name": top["village_name"].to_numpy(),
                "explanation": top["explanation"].to_numpy(),
                "roads": pd.Series(r["road"].to_numpy())
                .groupby(group)
                .agg(lambda v: ";".join(str(x) for x in sorted(v)))
                .reindex(idx)
                .to_numpy(),
            },
            geometry=_gather(geoms, group).reindex(idx).to_numpy(),
            crs=crs,
        )
        merged = merged.sort_values(["score", "risk_m"], ascending=[False, False], kind="stable")
        merged.insert(0, "rank", np.arange(1, len(merged) + 1))
        return merged.reset_index(drop=True)

    def pieces(self, ranked: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
        """Return the detail table: every piece, with the rank of the whole road it is in.

        ``ranked`` is :meth:`by_road`'s table (computed when not given); each piece gets
        ``road_rank``, the rank of its whole road there, so a planner can go from a
        ranked road to its pieces and back.
        """
        ranked = self.by_road() if ranked is None else ranked
        ids = ranked[["rank", "roads"]].assign(road=ranked["roads"].str.split(";"))
        ids = ids.explode("road")
        rank_of = pd.Series(ids["rank"].to_numpy(), index=ids["road"].astype(np.int64).to_numpy())
        table = self._frame("roads")
        col = rank_of.reindex(table["road"].to_numpy(dtype=np.int64)).to_numpy()
        # Copy-on-write keeps the stored table as it is; a deep copy of every piece's
        # columns would only double them on the way to a file.
        out = table.copy(deep=False)
        out.insert(1, "road_rank", col)
        return out


def road_risk(
    roads: Roads | RoadNetwork,
    villages: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame | None = None,
    params: RiskParams | None = None,
    *,
    engine: Engine | None = None,
    groups: gpd.GeoDataFrame | None = None,
) -> RoadRisk:
    """Score every dark road (``lit`` no or unknown) by four visible components.

    Parameters
    ----------
    roads
        The area's road view (every road of the file, :attr:`geo.area.Area.roads`), or a
        network, viewed whole.
    villages
        Villages with ``code``, ``name``, ``households`` and a geometry, in the
        roads' CRS (polygons are represented by a point inside them).
    incidents
        Incidents with ``id``, a time-zone aware ``time`` and a geometry, in the
        roads' CRS; ``None`` leaves the incident component at zero.
    params
        Weights, distances, night window and road class table.
    engine
        The distance engine of ``roads`` (:attr:`geo.area.Area.distances`); built when
        not given.
    groups
        Village groups (村民小组) with ``village_code``, ``households`` and a Point where
        their houses are (:attr:`geo.area.Area.groups`). A village with groups has its
        households counted where the groups live, not at its own point or polygon.

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
        ``incident_distance_m``. Each incident is snapped to its nearest road (the
        product's one snapper, :class:`geo.network.SnapIndex`) if it lies within
        ``incident_distance_m`` of one (a farther one cannot be that close to any road
        and is reported as unsnapped); the straight leg to the road counts toward the
        distance. From there it may go either way along its road to the road's ends,
        then along the roads in metres, both ways (one-way rules do not bind walkers),
        to an end of the road scored: :meth:`geo.engine.Engine.near` on an undirected
        length engine. Exact on the network; the only modelling step is snapping.
    ``road_class``
        Exposure of the road's users at night, from :data:`ROAD_CLASS_EXPOSURE`.
    ``households``
        Households within ``household_distance_m`` of the road (straight line): those of
        each village group whose houses are that near, and of each village without
        groups whose polygon (or else point) is, counting whole or not at all.
    ``bridge``
        Whether the road is the only link between parts of the network that both hold
        households: a bridge of the undirected road graph (:meth:`geo.engine.Engine.bridges`;
        two roads between the same nodes are not bridges) valued by the households on the
        smaller side (villages sit at the nearer end of the road they snap to). A dead
        end with no village beyond scores 0.
    """
    p = params or RiskParams()
    view = as_roads(roads)
    eng = distance_engine(view, engine)
    vil = villages_layer(villages, view, ("code", "name", "households"))
    hh = households(vil)
    vx, vy = village_points(vil)
    n_roads = len(view)
    night = night_incidents(
        incidents,
        view,
        eng,
        hours=(p.night_start_hour, p.night_end_hour),
        categories=p.categories,
        max_snap_m=p.incident_distance_m,
    )
    inc_count, inc_close = _incidents_near_roads(view, eng, night, p.incident_distance_m)

    assert eng.snap is not None
    v_pts = np.asarray(shapely.points(vx, vy), dtype=object)
    # A village drawn as a polygon is near a road when any of it is: a road 300 m from
    # a community's centre may still run along its houses. A point stands for itself.
    v_geom = vil.geometry.to_numpy()
    areas = np.isin(shapely.get_type_id(v_geom), (3, 6))
    near_geom = np.where(areas, v_geom, v_pts)
    basis = (
        "village polygons"
        if areas.all()
        else "village points"
        if not areas.any()
        else f"village polygons ({int(areas.sum())}) and points ({int((~areas).sum())})"
    )
    # Villages with groups are counted through their groups, where the houses are.
    g_xy, g_hh = _group_households(groups, view)
    own = np.ones(len(vil), dtype=bool)
    g_codes = np.zeros(0, dtype=object)
    if g_hh is not None and groups is not None:
        g_codes = groups["village_code"].astype(str).to_numpy(dtype=object)
        own = ~np.isin(vil["code"].astype(str).to_numpy(), g_codes)
        n_g = len(g_hh)
        basis = (
            f"village groups ({n_g})"
            if own.sum() == 0
            else f"village groups ({n_g}); {basis} for the {int(own.sum())} villages or "
            "communities without groups"
        )
    pairs = eng.snap.strtree.query(
        near_geom[own], predicate="dwithin", distance=p.household_distance_m
    )
    # In floats: with no pair at all bincount answers in integers, whatever the weights.
    hh_w = np.asarray(hh, dtype=np.float64)[own]
    hh_near = np.bincount(pairs[1], weights=hh_w[pairs[0]], minlength=n_roads).astype(float)
    hx, hy, hw = vx[own], vy[own], hh[own]
    if g_hh is not None:
        g_pairs = eng.snap.strtree.query(
            shapely.points(g_xy), predicate="dwithin", distance=p.household_distance_m
        )
        hh_near += np.bincount(g_pairs[1], weights=g_hh[g_pairs[0]], minlength=n_roads)
        hx, hy = np.concatenate([hx, g_xy[:, 0]]), np.concatenate([hy, g_xy[:, 1]])
        hw = np.concatenate([hw, g_hh])

    # Households hang on the nearer end of their nearest road, however far it is: a
    # village 600 m from any mapped road still lives beyond that road.
    v_snap = eng.snap.snap(hx, hy, max_distance_m=np.inf)
    node_hh = np.bincount(v_snap.node, weights=hw, minlength=len(view.net.nodes))
    edge_bridge, edge_cut = eng.bridges(node_hh)
    is_bridge, cut = edge_bridge[view.edge], edge_cut[view.edge]

    table = pd.Series(view.highway, dtype=object).astype(str).map(dict(p.road_class))
    exposure = table.astype(float).fillna(p.road_class_default).to_numpy(dtype=float)

    lit_all = view.lit
    dark = np.isin(lit_all, DARK_CLASSES)
    raw = {
        "incidents": inc_close[dark],
        "road_class": exposure[dark],
        "households": hh_near[dark],
        "bridge": cut[dark],
    }
    scale = {c: float(raw[c].max()) if len(raw[c]) and raw[c].max() > 0 else 1.0 for c in raw}
    scale["road_class"] = 1.0

    rows = np.flatnonzero(dark)
    edges = view.edge[rows]
    e = view.net.edges
    mid = shapely.line_interpolate_point(view.geometry[rows], 0.5, normalized=True)
    near_v, d_v = shapely.STRtree(v_pts).query_nearest(mid, all_matches=False, return_distance=True)
    serving = np.zeros(len(rows), dtype=np.int64)
    serving[near_v[0]] = near_v[1]
    if g_hh is not None and len(g_hh):
        # A road among a village's groups belongs to that village, though its committee's
        # point may be nearer to the next village's.
        code_row = pd.Series(np.arange(len(vil)), index=vil["code"].astype(str).to_numpy())
        g_row = code_row.reindex(g_codes).to_numpy()
        g_pts = np.asarray(shapely.points(g_xy), dtype=object)
        near_g, d_g = shapely.STRtree(g_pts).query_nearest(
            mid, all_matches=False, return_distance=True
        )
        dist_v = np.full(len(rows), np.inf)
        dist_v[near_v[0]] = d_v
        closer = d_g < dist_v[near_g[0]]
        serving[near_g[0][closer]] = g_row[near_g[1][closer]].astype(np.int64)
    cols: dict[str, np.ndarray] = {
        "road": rows,
        "edge": edges,
        "twin": view.twin[rows],
        "routable": view.routable[rows],
        "osmid": e["osmid"].to_numpy()[edges],
        "osm_ways": e["osm_ways"].astype(str).to_numpy()[edges],
        "name": e["name"].to_numpy(dtype=object)[edges],
        "highway": e["highway"].astype(str).to_numpy()[edges],
        "lit": lit_all[rows],
        "length_m": view.length_m[rows],
        "village_code": vil["code"].astype(str).to_numpy()[serving],
        "village_name": vil["name"].astype(str).to_numpy()[serving],
        "incidents_n": inc_count[dark],
    }
    weights = p.weights
    score = np.zeros(len(rows))
    for c in COMPONENTS:
        norm = np.clip(raw[c] / scale[c], 0.0, 1.0)
        cols[f"{c}_raw"] = raw[c]
        cols[f"{c}_norm"] = norm
        cols[f"{c}_weight"] = np.full(len(rows), float(weights[c]))
        cols[f"{c}_contrib"] = norm * weights[c]
        score = score + norm * weights[c]
    cols["is_bridge"] = is_bridge[dark]
    cols["score"] = score
    # Riskiest first (ties: the lower edge). Each column is put in that order once and
    # the table built once: sorting, re-indexing and wrapping a frame of 300,000 pieces
    # copied all of it three times over.
    order = np.lexsort((edges, -score))
    cols = {k: v[order] for k, v in cols.items()}
    rank = pd.Series(cols["score"]).rank(method="min", ascending=False)
    cols["rank"] = rank.to_numpy(dtype=np.int64)
    cols["explanation"] = _explain(cols, p)
    geometry = view.geometry[rows][order]
    crs = view.net.crs
    return RoadRisk(
        roads=gpd.GeoDataFrame(cols, geometry=geometry, crs=crs),
        params=p,
        scale=MappingProxyType(scale),
        night_incidents=night.table,
        villages=gpd.GeoDataFrame(
            {
                "code": vil["code"].astype(str).to_numpy(),
                "name": vil["name"].astype(str).to_numpy(),
                "households": hh,
            },
            geometry=near_geom,
            crs=crs,
        ),
        n_night=night.n_night,
        n_unsnapped=night.n_unsnapped,
        household_basis=basis,
        n_edges=len(e),
        n_roads=n_roads,
        crs=crs,
    )


def _group_households(
    groups: gpd.GeoDataFrame | None, view: Roads
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the groups' points and households, checked, or (empty, None) without."""
    if groups is None:
        return np.zeros((0, 2)), None
    if groups.crs is None or not groups.crs.equals(view.net.crs):
        msg = "groups must be in the roads' CRS (read them through the area)"
        raise LightingError(msg)
    for col in ("village_code", "households"):
        if col not in groups.columns:
            msg = f"groups lack column {col!r}"
            raise LightingError(msg)
    if len(groups) and not (shapely.get_type_id(groups.geometry.to_numpy()) == 0).all():
        msg = "groups must be points (where each group's houses are)"
        raise LightingError(msg)
    hh = pd.to_numeric(groups["households"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(hh).any() or (hh < 0).any():
        msg = "groups need a households count of 0 or more on every row"
        raise LightingError(msg)
    xy = shapely.get_coordinates(groups.geometry.to_numpy())
    return xy, hh


def _incidents_near_roads(
    roads: Roads,
    engine: Engine,
    night: NightIncidents,
    limit: float,
    *,
    pair_budget: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return, per road, the night incidents within ``limit`` metres of it along roads.

    Returns the count and the closeness-weighted count: each incident counts
    ``1 - d / limit`` at network distance ``d``, so the road a cluster sits on
    outweighs a lane 250 m away that merely reaches it.

    The node-to-node distances within ``limit`` are searched once, from each node an
    incident enters the network at; the (incident, road) pairs they give are then
    formed for a block of incidents at a time, about ``pair_budget`` of them (default
    :data:`_PAIR_BUDGET`), and summed into the two per-road totals. Memory follows the
    block, not the number of incidents, and the sums add the same numbers in the same
    order whatever the block size (incidents in table order), so the result does not
    depend on it.
    """
    budget = _PAIR_BUDGET if pair_budget is None else int(pair_budget)
    n_roads = len(roads)
    count = np.zeros(n_roads, dtype=np.int64)
    close = np.zeros(n_roads)
    loc = night.located
    if loc is None:
        return count, close
    # Each incident enters at up to two nodes (its road's ends), after its access leg.
    seed = loc.out_node
    seed_cost = loc.out_cost
    live = (seed >= 0) & (seed_cost <= limit + _NEAR_TOL)
    anchors = np.unique(seed[live])
    reach = engine.near(anchors, limit)  # sources are rows of ``anchors``
    ptr = np.searchsorted(reach.source, np.arange(len(anchors) + 1))
    inc = roads.incidence()
    node_roads = np.diff(inc.indptr)
    # Pairs each anchor's search yields, and so each incident: the block sizes.
    per_anchor = np.bincount(reach.source, weights=node_roads[reach.node], minlength=len(anchors))
    slot = np.where(live, np.searchsorted(anchors, np.where(live, seed, 0)), -1)
    per_incident = np.where(live, per_anchor[np.maximum(slot, 0)], 0.0).sum(axis=1) + 1
    total = np.cumsum(per_incident)
    cuts = np.searchsorted(total, np.arange(budget, total[-1], budget), side="right")
    edges = np.unique(np.concatenate([[0], cuts, [len(seed)]]))
    own_road = night.table["road"].to_numpy(dtype=np.int64)
    gap = night.table["offroad_m"].to_numpy(dtype=float)
    for lo, hi in itertools.pairwise(edges.tolist()):
        road, weight = _block_pairs(
            lo, hi, slot, seed_cost, ptr, reach, inc, own_road, gap, limit, n_roads
        )
        count += np.bincount(road, minlength=n_roads)
        # Start each road's sum from its running total: the additions happen in the same
        # order as one bincount over every pair would make them.
        close = np.bincount(
            np.concatenate([np.arange(n_roads), road]),
            weights=np.concatenate([close, weight]),
            minlength=n_roads,
        ).astype(np.float64, copy=False)
    return count, close


def _block_pairs(
    lo: int,
    hi: int,
    slot: np.ndarray,
    seed_cost: np.ndarray,
    ptr: np.ndarray,
    reach: Nearby,
    inc: sparse.csr_array,
    own_road: np.ndarray,
    gap: np.ndarray,
    limit: float,
    n_roads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Return road and closeness of each (incident, road) pair of incidents ``lo:hi``.

    One pair per incident and road, at the incident's least distance to it, sorted by
    incident then road.
    """
    parts_p, parts_r, parts_c = [], [], []
    for b in range(slot.shape[1]):
        s = slot[lo:hi, b]
        ok = np.flatnonzero(s >= 0)
        start, stop = ptr[s[ok]], ptr[s[ok] + 1]
        n = stop - start
        rep = np.repeat(ok, n)
        k = np.repeat(start - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
        cost = seed_cost[lo + rep, b] + reach.cost[k]
        keep = cost <= limit + _NEAR_TOL
        rep, node, cost = rep[keep], reach.node[k[keep]], cost[keep]
        # A road is reached where a path reaches either of its ends.
        m = inc.indptr[node + 1] - inc.indptr[node]
        at = np.repeat(inc.indptr[node] - np.cumsum(m) + m, m) + np.arange(int(m.sum()))
        parts_p.append(np.repeat(rep, m))
        parts_r.append(inc.indices[at].astype(np.int64))
        parts_c.append(np.repeat(cost, m))
    # ... or the point sits on it.
    g = gap[lo:hi]
    own = np.flatnonzero(g <= limit + _TOL_M)
    parts_p.append(own)
    parts_r.append(own_road[lo:hi][own])
    parts_c.append(g[own])
    key = np.concatenate(parts_p) * n_roads + np.concatenate(parts_r)
    cost = np.concatenate(parts_c)
    order = np.lexsort((cost, key))
    key, cost = key[order], cost[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    key, cost = key[first], cost[first]  # each incident once per road, at its least distance
    return key % n_roads, np.clip(1.0 - cost / limit, 0.0, 1.0)


_EXPLAIN_BLOCK: Final = 16_384


def _explain(t: Mapping[str, np.ndarray], p: RiskParams) -> np.ndarray:
    """Write one sentence per road: each component's value, norm x weight = share."""
    # One f-string per row: concatenating whole arrays of strings made a dozen strings
    # per road on the way to each sentence (on 280,000 roads a 340 MB peak for 90 MB of
    # sentences), and much of that memory never went back to the system.
    cols = {
        c: [np.asarray(t[f"{c}_{k}"], dtype=float) for k in ("norm", "weight", "contrib")]
        for c in COMPONENTS
    }
    hw = np.asarray(t["highway"], dtype=object)
    label = pd.Series(hw).map(dict(ROAD_CLASS_LABELS)).fillna(pd.Series(hw)).to_numpy(object)
    d_inc, d_hh = f"{p.incident_distance_m:g}", f"{p.household_distance_m:g}"
    columns = [
        np.asarray(t["incidents_n"], dtype=np.int64),
        np.asarray(t["incidents_raw"], dtype=float),
        label,
        np.asarray(t["households_raw"], dtype=float).round().astype(np.int64),
        np.asarray(t["is_bridge"], dtype=bool),
        np.asarray(t["bridge_raw"], dtype=float).round().astype(np.int64),
        np.asarray(t["score"], dtype=float),
        *(a for c in COMPONENTS for a in cols[c]),
    ]
    n = len(t["score"])
    out = np.empty(n, dtype=object)
    # In blocks, so the Python numbers the sentences are written from exist a block at
    # a time rather than all at once.
    for lo in range(0, n, _EXPLAIN_BLOCK):
        block = zip(*(a[lo : lo + _EXPLAIN_BLOCK].tolist() for a in columns), strict=True)
        for i, (n_inc, close, lab, hh, is_bridge, cut, total, *f) in enumerate(block, lo):
            noun = "night incident" if n_inc == 1 else "night incidents"
            if not is_bridge:
                bridge = "not the only link"
            elif cut > 0:
                bridge = f"only link to {cut} households"
            else:
                bridge = "only link, no households beyond"
            out[i] = (
                f"{n_inc} {noun} within {d_inc} m (weighted by closeness: {close:.1f})"
                f" ({f[0]:.2f}×{f[1]:.2f}={f[2]:.2f}) + {lab} ({f[3]:.2f}×{f[4]:.2f}={f[5]:.2f})"
                f" + {hh} households within {d_hh} m ({f[6]:.2f}×{f[7]:.2f}={f[8]:.2f})"
                f" + {bridge} ({f[9]:.2f}×{f[10]:.2f}={f[11]:.2f}) = {total:.2f}"
            )
    return out


_EXPLAIN_RE: Final = re.compile(
    r"(?P<n>\d+) night incidents? within (?P<d>[\d.]+) m \(weighted by closeness: (?P<w>[\d.]+)\)"
    r" (?P<f1>\([^)]*\)) \+ (?P<lab>.+?) (?P<f2>\([^)]*\))"
    r" \+ (?P<hh>\d+) households within (?P<dh>[\d.]+) m (?P<f3>\([^)]*\))"
    r" \+ (?P<bridge>.+?) (?P<f4>\([^)]*\)) = (?P<total>[\d.]+)$"
)
_CUT_RE: Final = re.compile(r"only link to (\d+) households")


def explanation_zh(sentences: Iterable[str]) -> list[str]:
    """Return the Chinese of :func:`_explain`'s sentences, the same figures in the same order.

    Written from the English so that a risk table keeps one explanation column (a
    province's dark roads hold hundreds of thousands of them) and only what is shown to
    a Chinese reader, a map's top roads or a report's, is translated. A sentence not in
    that form is returned unchanged.
    """
    en_zh = {en: HIGHWAY_NAMES[hw][0] for hw, en in ROAD_CLASS_LABELS.items()}
    en_zh.update({hw: zh for hw, (zh, _en) in HIGHWAY_NAMES.items()})
    out = []
    for text in sentences:
        m = _EXPLAIN_RE.match(str(text))
        if m is None:
            out.append(str(text))
            continue
        g = m.groupdict()
        cut = _CUT_RE.fullmatch(g["bridge"])
        if cut:
            bridge = f"通往 {cut.group(1)} 户的唯一道路"
        elif g["bridge"] == "not the only link":
            bridge = "不是唯一通道"
        else:
            bridge = "唯一通道，其后无住户"
        out.append(
            f"{g['d']} 米内夜间警情 {g['n']} 起（按距离加权 {g['w']}）{g['f1']}"
            f" + {en_zh.get(g['lab'], g['lab'])} {g['f2']}"
            f" + {g['dh']} 米内 {g['hh']} 户 {g['f3']}"
            f" + {bridge} {g['f4']} = {g['total']}"
        )
    return out


# Two chains are the carriageways of one road when the shorter runs alongside the other
# the opposite way over this share of its length, sampled every _ALONG_STEP_M; "the
# opposite way" is a tangent within 30 degrees of the reverse of the other's.
_ALONG_SHARE: Final = 0.65
_ALONG_STEP_M: Final = 10.0
_OPPOSITE_COS: Final = -float(np.cos(np.radians(30.0)))


def _road_groups(r: gpd.GeoDataFrame, names: np.ndarray, join_m: float) -> np.ndarray:
    """Return the road of each piece: chains of one name or way, carriageways paired.

    Chains are pieces of the same name (unnamed: the same first OSM way) within
    ``join_m`` of each other; two chains then join when :func:`_carriageway_pairs`
    finds them to be the two carriageways of one road.
    """
    geoms = r.geometry.to_numpy()
    key = np.where(names != "", "n:" + names.astype(str), "w:" + r["osmid"].astype(str)).astype(str)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="dwithin", distance=join_m)
    same = key[a] == key[b]
    n_chain, chain = _components(len(r), a[same], b[same])
    pairs = _carriageway_pairs(r, chain, tree, (a, b), join_m)
    _, road = _components(n_chain, pairs[:, 0], pairs[:, 1])
    return road[chain]


def _carriageway_pairs(
    r: gpd.GeoDataFrame,
    chain: np.ndarray,
    tree: shapely.STRtree,
    near: tuple[np.ndarray, np.ndarray],
    join_m: float,
) -> np.ndarray:
    """Return pairs of chains (rows of two chain ids) that are two carriageways of a road.

    Each one-way piece with a one-way piece of another chain and the same class within
    ``join_m`` (``near`` holds the piece pairs within ``join_m``) is sampled along its
    length. A sample runs alongside a chain when that chain's nearest piece is within
    ``join_m``, one-way, of the sample's class, and runs the opposite way. Only the
    nearest piece counts: a chain holding both carriageways of a named road always has
    one of them running against a slip road beside the other.
    """
    geoms = r.geometry.to_numpy()
    oneway = r["twin"].to_numpy() < 0
    hw = r["highway"].astype(str).to_numpy()
    length = r["length_m"].to_numpy(dtype=float)
    a, b = near
    cand = (chain[a] != chain[b]) & oneway[a] & oneway[b] & (hw[a] == hw[b])
    src = np.unique(a[cand])
    if len(src) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    own, pos, weight = _samples(geoms[src], length[src])
    owner = src[own]
    xy, heading = _on_lines(geoms, owner, pos)
    pts = np.asarray(shapely.points(xy), dtype=object)
    s, p = tree.query(pts, predicate="dwithin", distance=join_m)
    other = chain[p] != chain[owner[s]]
    s, p = s[other], p[other]
    # The nearest piece of each other chain: sort by sample, chain, distance; keep firsts.
    order = np.lexsort((shapely.distance(pts[s], geoms[p]), chain[p], s))
    s, p = s[order], p[order]
    first = np.ones(len(s), dtype=bool)
    first[1:] = (s[1:] != s[:-1]) | (chain[p][1:] != chain[p][:-1])
    s, p = s[first], p[first]
    at = np.asarray(shapely.line_locate_point(geoms[p], pts[s]), dtype=float)
    dot = np.einsum("ij,ij->i", heading[s], _on_lines(geoms, p, at)[1])
    ok = oneway[p] & (hw[p] == hw[owner[s]]) & (dot <= _OPPOSITE_COS)
    s, p = s[ok], p[ok]
    covered = (
        pd.DataFrame({"a": chain[owner[s]], "b": chain[p], "m": weight[s]})
        .groupby(["a", "b"], as_index=False)["m"]
        .sum()
    )
    chain_m = np.bincount(chain, weights=length)
    la, lb = chain_m[covered["a"].to_numpy()], chain_m[covered["b"].to_numpy()]
    # Measured on the shorter chain; each chain joins only the partner it runs along most.
    keep = (la <= lb) & (covered["m"].to_numpy() >= _ALONG_SHARE * la)
    best = covered[keep].sort_values(["a", "m"], ascending=[True, False]).drop_duplicates("a")
    return best[["a", "b"]].to_numpy(dtype=np.int64)


def _gather(geoms: np.ndarray, group: np.ndarray) -> pd.Series:
    """Return each group's pieces as one geometry (a piece alone stays a LineString).

    One vectorised MultiLineString build instead of a union per road: the pieces of a
    road only touch at junctions, so there is nothing to dissolve.
    """
    ug, inv, counts = np.unique(group, return_inverse=True, return_counts=True)
    order = np.argsort(inv, kind="stable")
    multi = np.asarray(shapely.multilinestrings(geoms[order], indices=inv[order]), dtype=object)
    single = counts == 1
    multi[single] = shapely.get_geometry(multi[single], 0)
    return pd.Series(multi, index=ug)


def _samples(geoms: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return points every ~``_ALONG_STEP_M`` along lines: owner, position, metres stood for.

    Each line is cut into equal steps of at most ``_ALONG_STEP_M``; a sample sits at the
    middle of each step (position along the drawn line) and stands for the step's share
    of ``length``.
    """
    drawn = shapely.length(geoms)
    k = np.maximum(1, np.ceil(drawn / _ALONG_STEP_M)).astype(np.int64)
    owner = np.repeat(np.arange(len(geoms)), k)
    i = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
    pos = (i + 0.5) / k[owner] * drawn[owner]
    return owner, pos, (length / k)[owner]


def _on_lines(
    lines: np.ndarray, which: np.ndarray, pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the point ``pos`` metres along each ``lines[which]`` and its unit direction.

    The direction is that of the straight segment holding the point (zero on a segment
    of no length). Both come from the lines' vertices for all points at once.
    """
    xy, owner = shapely.get_coordinates(lines, return_index=True)
    step = np.diff(xy, axis=0)
    seg = np.hypot(step[:, 0], step[:, 1])
    seg[owner[1:] != owner[:-1]] = 0.0  # from one line's last vertex to the next's first
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    ids = np.arange(len(lines))
    first = np.searchsorted(owner, ids)[which]
    last = np.searchsorted(owner, ids, side="right")[which] - 1
    at = cum[first] + np.clip(pos, 0.0, cum[last] - cum[first])
    k = np.clip(np.searchsorted(cum, at, side="right") - 1, first, last - 1)
    unit = np.divide(step[k], seg[k][:, None], out=np.zeros((len(k), 2)), where=seg[k][:, None] > 0)
    return xy[k] + unit * (at - cum[k])[:, None], unit


def _components(n: int, i: np.ndarray, j: np.ndarray) -> tuple[int, np.ndarray]:
    """Return the number of connected components of ``n`` items linked ``i``-``j``, and labels."""
    link = sparse.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    n_comp, label = csgraph.connected_components(link, directed=False)
    return int(n_comp), label


def _by_length(group: np.ndarray, value: np.ndarray, length: np.ndarray) -> pd.Series:
    """Return, per group, the value carried by most of its length (ties: the first value)."""
    return (
        pd.DataFrame({"group": group, "value": value, "m": length})
        .groupby(["group", "value"], sort=True)["m"]
        .sum()
        .reset_index()
        .sort_values(["group", "m"], ascending=[True, False], kind="stable")
        .drop_duplicates("group")
        .set_index("group")["value"]
    )
