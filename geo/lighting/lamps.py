"""Lamp placement: where a budget of street lamps lights the most dark-road risk.

Candidates every ``step_m`` along dark roads (:mod:`~geo.lighting.candidates`), a lazy
greedy max-cover with spacing conflicts and a proven bound (:mod:`~geo.lighting.solve`),
and the plan: lamps, lit stretches, the roads that count as lit afterwards, villages and
night incidents reached, and the km of dark road before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.engine import Engine
from geo.errors import LightingError
from geo.lighting.candidates import build_instance
from geo.lighting.inputs import as_roads, distance_engine
from geo.lighting.risk import RoadRisk
from geo.lighting.solve import Outcome, solve
from geo.network import DARK_CLASSES, RoadNetwork, Roads
from geo.results import Result
from geo.validate import positive

__all__ = ["LampParams", "LampPlan", "place_lamps"]

#: Distances within this of a limit count as equal to it (metres).
_TOL_M = 1e-6


@dataclass(frozen=True)
class LampParams:
    """Secondary options of :func:`place_lamps` (budget and spacing are its arguments).

    Parameters
    ----------
    step_m
        Distance between candidate points along a road; ``None`` uses ``spacing_m``
        (then candidates on one road never conflict).
    lit_share
        A road counts as lit after installation (and goes into the scenario edit of
        :func:`geo.scenarios.lamp_edit`) when lamps light at least this share of its
        length. Half by default, for ``pingan lamps`` and the main job alike.
    serve_m
        A village is served when it (its polygon where it has one, else its point) lies
        within this distance of a lamp.
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
    lit_share: float = 0.5
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
class LampPlan(Result):
    """Where the lamps go, what they light, and what that changes.

    Attributes
    ----------
    lamps
        GeoDataFrame of Points (network CRS), in the order chosen: ``lamp`` (1..n),
        ``road`` (row of the road view), ``edge`` (its representative edge), ``twin``,
        ``osm_ways``, ``name``, ``highway``, ``lit``
        (before), ``position_m`` (from the road's ``u`` end), ``covered_from_m``,
        ``covered_to_m``, ``score`` (the road's risk per metre), ``risk_covered`` (risk-
        metres this lamp adds to those chosen before it; they sum to ``covered_risk``),
        ``night_incidents_near`` (night incidents snapped to this road within ``reach_m``
        of the lamp's stretch), ``lon``, ``lat``.
    stretches
        GeoDataFrame of LineStrings: the lit stretches, merged per road: ``edge``,
        ``from_m``, ``to_m``, ``length_m``, ``lamps``, ``risk`` (length x score).
    roads
        One row per road with a lamp: ``road``, ``edge``, ``twin``, ``length_m``,
        ``lit_before``,
        ``covered_m``, ``covered_share``, ``lit_after`` (``"yes"`` once ``covered_share``
        reaches ``lit_share``, else unchanged).
    lit_roads
        Roads (rows of the road view) that count as lit after installation: those
        reaching ``lit_share``. :func:`geo.scenarios.lamp_edit` turns them into a
        ``mark_lit`` edit, so the plan can be compared like any other scenario.
    lit_edges
        The directed edges of those roads (both directions) in the network analysed.
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
        ``lit_share``): exactly what marking ``lit_roads`` lit moves to ``lit = yes``.
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
    lit_roads: tuple[int, ...]
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
    _geometry_table: ClassVar[str | None] = "lamps"

    def _check(self) -> None:
        lamps = self._frame("lamps")
        if len(lamps) > self.budget:
            msg = f"plan has {len(lamps)} lamps, more than the budget {self.budget}"
            raise LightingError(msg)
        got = float(lamps["risk_covered"].sum()) if len(lamps) else 0.0
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
        if len(set(self.lit_roads)) != len(self.lit_roads):
            msg = "lit_roads has duplicates"
            raise LightingError(msg)
        if len(lamps) < self.budget and not self.reason:
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
        return int(self._frame("villages_served")["households"].sum())

    @property
    def gap_bound(self) -> float:
        """Largest possible shortfall from the optimum, as a share of the upper bound."""
        if self.upper_bound <= 0:
            return 0.0
        return max(0.0, 1.0 - self.covered_risk / self.upper_bound)

    def summary(self) -> dict[str, Any]:
        """Return the headline numbers as a JSON-ready dict."""
        return {
            "lamps": len(self._frame("lamps")),
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
            "villages_served": len(self._frame("villages_served")),
            "households_served": self.households_served,
            "night_incidents_reached": len(self._frame("incidents_reached")),
            "lit_roads": len(self.lit_roads),
            "lit_edges": len(self.lit_edges),
            "reason": self.reason,
        }

    def _extra_meta(self) -> dict[str, Any]:
        return {"summary": self.summary()}


def place_lamps(
    roads: Roads | RoadNetwork,
    risk: RoadRisk,
    *,
    budget: int = 30,
    spacing_m: float = 35.0,
    coverage_m: float | None = None,
    params: LampParams | None = None,
    engine: Engine | None = None,
) -> LampPlan:
    """Choose up to ``budget`` lamp points on dark roads to light the most risk.

    Parameters
    ----------
    roads
        The road view (or network) ``risk`` was computed on (same roads and CRS).
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
    engine
        The distance engine of ``roads`` (:attr:`geo.area.Area.distances`); built when
        not given.

    Returns
    -------
    LampPlan
        Lamps, lit stretches, the roads they light and before/after numbers.

    Raises
    ------
    LightingError
        On a bad budget, spacing or coverage, or a risk table from another network.

    Notes
    -----
    *Candidates.* Every ``step_m`` along each road whose ``lit`` is no or unknown in
    ``roads`` (never on a lit road): ``floor(L / step)`` points ``step`` apart, centred on
    the road (the leftover shared by both ends), or one at the middle of a road shorter
    than ``step``. A lamp lights
    ``[p - coverage_m, p + coverage_m]`` of its own road; light spilling round a corner
    onto another road is not credited (conservative).

    *Spacing.* Two lamps conflict when their network distance (undirected, any road,
    lit or not) is below ``spacing_m``: along one road, through a shared junction, or
    through a short third road. Distances come from the distance engine's bounded
    searches (:meth:`geo.engine.Engine.near`), as for risk.

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
    view = as_roads(roads)
    _check_risk(view, risk)
    eng = distance_engine(view, engine)
    lit_now = view.lit
    rows = risk.roads.reset_index(drop=True)
    rows = rows[np.isin(lit_now[rows["road"].to_numpy(dtype=np.int64)], DARK_CLASSES)]
    rows = rows.reset_index(drop=True)

    if budget == 0:
        out = Outcome.nothing("budget is 0", p.method)
    elif len(rows) == 0:
        out = Outcome.nothing(
            "no road is unlit or of unknown lighting: there is nowhere to put a lamp", p.method
        )
    else:
        inst = build_instance(
            view, eng, rows, risk, step=step, spacing=spacing, cover_m=cover_m, p=p
        )
        out = solve(inst, budget, p)
    return _plan(view, risk, rows, out, budget=budget, spacing=spacing, cover_m=cover_m, params=p)


def _plan(
    view: Roads,
    risk: RoadRisk,
    rows: pd.DataFrame,
    out: Outcome,
    *,
    budget: int,
    spacing: float,
    cover_m: float,
    params: LampParams,
) -> LampPlan:
    """Assemble the plan's tables from the chosen candidates."""
    net = view.net
    crs = net.crs
    road, pos, lo, hi = out.road, out.pos, out.lo, out.hi
    road_id = rows["road"].to_numpy(dtype=np.int64)[road] if len(road) else np.zeros(0, np.int64)
    edge = view.edge[road_id]
    pts = np.asarray(shapely.line_interpolate_point(view.geometry[road_id], pos), dtype=object)
    lonlat = gpd.GeoSeries(pts, crs=crs).to_crs(4326)
    score = rows["score"].to_numpy(dtype=float)[road] if len(road) else np.zeros(0)

    def col(name: str) -> np.ndarray:
        return rows[name].to_numpy(dtype=object)[road] if len(road) else np.zeros(0, object)

    lamps = gpd.GeoDataFrame(
        {
            "lamp": np.arange(1, len(road) + 1),
            "road": road_id,
            "edge": edge,
            "twin": view.twin[road_id],
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
    dark_km = float(view.length_m[np.isin(view.lit, DARK_CLASSES)].sum()) / 1000.0
    covered = stretches.groupby("edge")["length_m"].sum()
    r_edge = covered.index.to_numpy(dtype=np.int64)
    r_road = view.road_of_edge[r_edge]
    r_len = length_all[r_edge]
    share = np.divide(covered.to_numpy(), r_len, out=np.ones(len(r_edge)), where=r_len > 0)
    share = np.minimum(share, 1.0)
    lit_after = share >= params.lit_share - 1e-9
    roads = pd.DataFrame(
        {
            "road": r_road,
            "edge": r_edge,
            "twin": view.twin[r_road],
            "length_m": r_len,
            "lit_before": lit_now[r_edge],
            "covered_m": covered.to_numpy(dtype=float),
            "covered_share": share,
            "lit_after": np.where(lit_after, "yes", lit_now[r_edge]),
        }
    )
    lit_roads = tuple(int(r) for r in np.unique(r_road[lit_after]))
    lit_edges = tuple(int(i) for i in view.directed_edges(list(lit_roads)))

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
        lit_roads=lit_roads,
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
    xy, owner = net.edge_coords(edge)
    geoms = np.asarray(shapely.linestrings(xy, indices=owner), dtype=object)
    a = shapely.get_coordinates(shapely.line_interpolate_point(geoms, start))
    b = shapely.get_coordinates(shapely.line_interpolate_point(geoms, end))
    piece = np.concatenate([np.arange(len(edge)), rep[inner], np.arange(len(edge))])
    at = np.concatenate([start, cum[vi][inner], end])
    xy = np.vstack([a, c[vi][inner], b])
    order = np.lexsort((at, piece))
    return np.asarray(shapely.linestrings(xy[order], indices=piece[order]), dtype=object)


def _check_budget(budget: object) -> None:
    if isinstance(budget, bool) or not isinstance(budget, int | np.integer):
        msg = f"budget must be a whole number of lamps, got {budget!r}"
        raise LightingError(msg)
    if budget < 0:
        msg = f"budget must be 0 or more lamps, got {budget}"
        raise LightingError(msg)


def _positive(name: str, value: object) -> float:
    return positive(name, value, LightingError, unit="metres")


def _check_risk(view: Roads, risk: RoadRisk) -> None:
    if not isinstance(risk, RoadRisk):
        msg = "risk must be a RoadRisk from road_risk()"
        raise LightingError(msg)
    net = view.net
    same = risk.n_edges == len(net.edges) and risk.n_roads == len(view) and risk.crs.equals(net.crs)
    table = risk._frame("roads")
    if same and len(table):
        road = table["road"].to_numpy(dtype=np.int64)
        same = bool(
            np.array_equal(table["edge"].to_numpy(dtype=np.int64), view.edge[road])
            and np.allclose(table["length_m"].to_numpy(dtype=float), view.length_m[road])
        )
    if not same:
        msg = "the risk table was computed on another network; run road_risk on this one"
        raise LightingError(msg)
