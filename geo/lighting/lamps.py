"""Lamp placement: where a budget of street lamps lights continuous runs where people walk.

Slots every ``spacing_m`` along dark roads (:mod:`~geo.lighting.candidates`), each worth
its metres lit times the road's risk plus the households and night incidents near it
(:mod:`~geo.lighting.benefit`), and runs of consecutive slots chosen exactly or greedily
(:mod:`~geo.lighting.solve`). The plan: lamps, the stretches they light, the households
and night incidents they reach, and the km of dark road before and after.
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
from geo.lighting.benefit import Homes, People, homes, per_metre, served, worth_scale
from geo.lighting.candidates import Slots, build_slots, slot_geometries
from geo.lighting.inputs import as_roads, distance_engine
from geo.lighting.risk import RoadRisk
from geo.lighting.solve import NEAR_LEVELS, Outcome, solve
from geo.network import DARK_CLASSES, RoadNetwork, Roads
from geo.results import Result
from geo.validate import positive

__all__ = ["LampParams", "LampPlan", "place_lamps"]

#: Distances within this of a limit count as equal to it (metres).
_TOL_M = 1e-6
#: Lamp slots measured against the people at a time (their points and pairs per block).
_SLOT_BLOCK = 200_000
#: Network coordinates whose running length is summed at a time.
_COORDS = 1_000_000
#: Columns of the risk table the plan reads.
_ROW_COLUMNS = ("road", "length_m", "score", "osm_ways", "name", "highway", "lit")


@dataclass(frozen=True)
class LampParams:
    """Secondary options of :func:`place_lamps` (budget and spacing are its arguments).

    Parameters
    ----------
    lit_share
        A road is reported as lit as a whole (``lit_after``, ``lit_roads``) when lamps
        light at least this share of its length. Half by default, for ``pingan lamps``
        and the main job alike. It labels roads only: the scenario edit and
        ``newly_lit_km`` count the metres actually lit.
    serve_m
        Households within this distance of a lamp count for it (weighted by distance),
        and within this distance of a lit stretch are served.
    reach_m
        Night incidents within this distance of a lamp count for it (weighted by
        distance), and within this distance of a lit stretch are reached.
    households_weight, incidents_weight
        Worth of a lit metre at the spot with the most households (night incidents)
        near it, on top of the road's risk score (at most 1). Households weigh most: a
        lamp is for the people walking home to their houses.
    min_run
        Fewest lamps in a run (consecutive slots on one road); a road with fewer slots
        is lit whole or not at all.
    min_gap
        Fewest empty slots between two runs on one road: a gap of one or two lamps in
        a lit stretch is a dark hole, so it is either filled or wide.
    method
        ``"exact"`` (dynamic programme, optimal; fast at any realistic size) or
        ``"greedy"`` (grows runs by the best worth per lamp, with a proven bound).
    """

    lit_share: float = 0.5
    serve_m: float = 200.0
    reach_m: float = 50.0
    households_weight: float = 1.0
    incidents_weight: float = 0.5
    min_run: int = 3
    min_gap: int = 3
    method: Literal["greedy", "exact"] = "exact"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.lit_share) and 0 < self.lit_share <= 1):
            msg = f"lit_share must be in (0, 1], got {self.lit_share}"
            raise LightingError(msg)
        for name in ("serve_m", "reach_m"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                msg = f"{name} must be a positive number, got {value}"
                raise LightingError(msg)
        for name in ("households_weight", "incidents_weight"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                msg = f"{name} must be a non-negative number, got {value}"
                raise LightingError(msg)
        for name in ("min_run", "min_gap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                msg = f"{name} must be a whole number of lamp slots, at least 1, got {value!r}"
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
        GeoDataFrame of Points (network CRS), along each road in road order: ``lamp``
        (1..n), ``run`` (its stretch, 1..), ``road`` (row of the road view), ``edge``
        (its representative edge), ``twin``, ``osm_ways``, ``name``, ``highway``,
        ``lit`` (before), ``position_m`` (from the road's ``u`` end),
        ``covered_from_m``, ``covered_to_m`` (the part of the stretch nearest this
        lamp), ``lit_m`` (their difference), ``score`` (the road's risk per metre),
        ``households_near`` (households within ``serve_m``), ``households_term``,
        ``night_incidents_near`` (night incidents within ``reach_m``),
        ``incidents_term``, ``worth_per_m`` (score plus the two terms, see
        :func:`place_lamps`), ``risk_covered`` (``lit_m`` x ``worth_per_m``; they sum
        to ``covered_risk``), ``lon``, ``lat``.
    stretches
        GeoDataFrame of LineStrings, one per run: ``run``, ``road``, ``edge``,
        ``from_m``, ``to_m``, ``length_m``, ``lamps``, ``risk`` (the worth of its lamps).
    roads
        One row per road with a lamp: ``road``, ``edge``, ``twin``, ``length_m``,
        ``lit_before``, ``covered_m``, ``covered_share``, ``lit_after`` (``"yes"`` once
        ``covered_share`` reaches ``lit_share``, else unchanged).
    lit_roads
        Roads (rows of the road view) lit over at least ``lit_share`` of their length.
    lit_edges
        The directed edges of those roads (both directions) in the network analysed.
    villages_served
        Villages with households within ``serve_m`` of a lit stretch: ``code``,
        ``name``, ``households`` (those served: see ``household_basis``),
        ``village_households``, ``share`` and ``distance_m`` (from its nearest
        household point, or polygon, to a lit stretch).
    incidents_reached
        Night incidents within ``reach_m`` of a lit stretch: ``id``, ``time``,
        ``category``, ``distance_m``.
    household_basis
        Where households were placed, for the worth of a lamp and for those served:
        "village groups", "village polygons" (spread evenly over each polygon),
        "village points", or a mix naming how many villages each.
    dark_km_before
        Km of road with ``lit`` no or unknown before installation.
    covered_km
        Km of dark road the lamps light (the stretches' length).
    newly_lit_km
        Km of road that is lit after installation: the stretches, exactly what the
        scenario edit of :func:`geo.scenarios.lamp_edit` moves to lit (equal to
        ``covered_km``).
    lit_roads_km
        Km of the roads in ``lit_roads``, counted whole.
    covered_risk, upper_bound
        Worth lit (see :func:`place_lamps`), and a proven upper bound on what any plan
        within the budget could light.
    guarantee, ratio_bound
        What is proven about the plan, in words and as a fraction of the optimum.
    budget, spacing_m, coverage_m, params
        The settings used.
    n_candidates, n_conflicts
        Lamp slots considered, and pairs of them closer than ``spacing_m`` (only a road
        shorter than the spacing can cause one; its slot is then dropped).
    method
        ``"exact"`` or ``"greedy"``.
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
    household_basis: str
    dark_km_before: float
    covered_km: float
    newly_lit_km: float
    lit_roads_km: float
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
        if abs(self.newly_lit_km - self.covered_km) > 1e-9:
            msg = "newly lit km must be the km the stretches light"
            raise LightingError(msg)
        if len(lamps):
            # A run is one continuous stretch: its lamps stand exactly spacing_m apart.
            pos = lamps["position_m"].to_numpy(dtype=float)
            same = lamps["run"].to_numpy()[1:] == lamps["run"].to_numpy()[:-1]
            if (np.abs(np.diff(pos)[same] - self.spacing_m) > 1e-6).any():
                msg = "lamps of one run are not spacing_m apart"
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
        """Km of dark road after installation (the lit stretches no longer count)."""
        return self.dark_km_before - self.newly_lit_km

    @property
    def dark_km_uncovered(self) -> float:
        """Km of dark road no lamp lights (the same as :attr:`dark_km_after`)."""
        return self.dark_km_before - self.covered_km

    @property
    def households_served(self) -> int:
        """Households within ``serve_m`` of a lit stretch (rounded to whole households)."""
        return int(round(float(self._frame("villages_served")["households"].sum())))

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
            "runs": len(self._frame("stretches")),
            "covered_risk": round(self.covered_risk, 3),
            "upper_bound": round(self.upper_bound, 3),
            "gap_bound": round(self.gap_bound, 4),
            "guarantee": self.guarantee,
            "ratio_bound": round(self.ratio_bound, 4),
            "dark_km_before": round(self.dark_km_before, 3),
            "covered_km": round(self.covered_km, 3),
            "newly_lit_km": round(self.newly_lit_km, 3),
            "dark_km_after": round(self.dark_km_after, 3),
            "household_basis": self.household_basis,
            "villages_served": len(self._frame("villages_served")),
            "households_served": self.households_served,
            "night_incidents_reached": len(self._frame("incidents_reached")),
            "lit_roads": len(self.lit_roads),
            "lit_roads_km": round(self.lit_roads_km, 3),
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
    households: gpd.GeoDataFrame | None = None,
    params: LampParams | None = None,
    engine: Engine | None = None,
) -> LampPlan:
    """Choose up to ``budget`` lamps, in continuous runs, where they are worth most.

    Parameters
    ----------
    roads
        The road view (or network) ``risk`` was computed on (same roads and CRS).
    risk
        Dark-road scores from :func:`road_risk`: each road's ``score`` is the base worth
        of a lit metre of it; its villages and night incidents place the people.
    budget
        Number of lamps (0 gives an empty plan).
    spacing_m
        Distance between consecutive lamps of a run, and least distance between any
        two lamps along the network.
    coverage_m
        Length lit on each side of a lamp, along its own road; ``None`` uses
        ``spacing_m / 2`` (a run of ``n`` lamps lights ``n x spacing_m``). At least
        ``spacing_m / 2`` (or a run would have dark holes) and at most
        ``(min_gap + 1) x spacing_m / 2`` (or two runs would light the same metres).
    households
        Village groups (村民小组): points with a ``households`` column in the roads'
        CRS, and optionally ``village_code``. Villages with groups are represented by
        them; the others by their polygon or point (``household_basis`` says which).
    params
        Lit share, distances, weights, run rules and method.
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
        On a bad budget, spacing or coverage, a bad households layer, or a risk table
        from another network.

    Notes
    -----
    *Slots.* ``floor(L / spacing)`` slots ``spacing`` apart along each dark road (``lit``
    no or unknown), centred on it, the leftover shared by both ends; every slot is then
    at least ``spacing / 2`` from its road's ends, so lamps on roads meeting at a junction
    are at least ``spacing`` apart and roads can be planned independently. A road shorter
    than the spacing has one slot at its middle lighting all of it; if that slot is
    closer than ``spacing`` along the network (the distance engine's bounded search) to
    another slot, it is dropped.

    *Runs.* A plan is runs of consecutive slots, each of at least ``min_run`` lamps (all
    of a road's slots when it has fewer), at least ``min_gap`` empty slots apart on one
    road. A run of lamps ``i..j`` lights ``[p_i - c, p_j + c]`` of its road (``c`` =
    ``coverage_m``, clipped to the road): one continuous stretch.

    *Worth.* Each lamp is credited with the part of its stretch nearest to it (``spacing``
    metres inside a run, plus what the first and last lamp light beyond) at the worth of
    a metre where it stands:

    ::

        worth per metre = s_r + w_h * H / H_max + w_i * I / I_max
        H = sum_j h_j * max(0, 1 - d_j / R_h)      I = sum_k max(0, 1 - d_k / R_i)

    with ``s_r`` the road's risk score (so roads with nobody near still order by risk),
    ``h_j`` the households of household point ``j`` at straight-line distance ``d_j``
    from the lamp, ``R_h = serve_m``, ``R_i = reach_m``, the sums over night incidents
    ``k``, ``H_max`` and ``I_max`` the largest sums over all slots, ``w_h`` and ``w_i``
    :attr:`LampParams.households_weight` and ``incidents_weight``. Household points are
    the village groups when given, else each village polygon's households spread evenly
    over a grid inside it (``serve_m / 4`` apart), else the village point.

    *Exact.* Roads being independent, a dynamic programme over each road's slots gives
    the best worth for every number of lamps on it (states: free, in a gap of fewer than
    ``min_gap`` slots, in a run of fewer than or at least ``min_run`` lamps), and a
    knapsack over roads merges them; ``O(slots x budget x (min_run + min_gap))``,
    vectorised over roads and lamp counts.

    *Ties.* Worths are compared in integer units of ``1 / 2**k`` of the most a single
    lamp can be worth (``k`` up to 32, smaller for budgets in the thousands), so sums
    are exact and equal plans are equal. A tie goes to the plan whose lamps are nearer
    the houses (each lamp adds ``1023 R_h / (R_h + d)``, rounded, ``d`` the distance to
    the nearest household point, at any distance), then to lower road ids and slots
    nearer the roads' ``u`` ends. Plans worth more by a unit are never decided by ties,
    and the order of the input roads does not matter.

    *Greedy.* Repeatedly take the move adding most worth per lamp (open a run, extend
    one by a lamp, or fill the gap between two): no a priori guarantee, but the bound
    (the ``budget`` best lamps alone: no lamp adds more than it is worth alone) is
    proven on each instance.
    """
    p = params or LampParams()
    _check_budget(budget)
    spacing = _positive("spacing_m", spacing_m)
    cover_m = spacing / 2 if coverage_m is None else _positive("coverage_m", coverage_m)
    if cover_m < spacing / 2 - _TOL_M:
        msg = (
            f"coverage_m {cover_m:g} is less than half the spacing ({spacing / 2:g} m): "
            "a run of lamps would leave dark holes between them"
        )
        raise LightingError(msg)
    if cover_m > (p.min_gap + 1) * spacing / 2 + _TOL_M:
        msg = (
            f"coverage_m {cover_m:g} exceeds (min_gap + 1) x spacing / 2 = "
            f"{(p.min_gap + 1) * spacing / 2:g} m: two runs on one road would light the "
            "same metres; raise min_gap or lower coverage_m"
        )
        raise LightingError(msg)
    view = as_roads(roads)
    _check_risk(view, risk)
    eng = distance_engine(view, engine)
    where = homes(risk.villages, households, view.net.crs, grid_m=p.serve_m / 4)
    lit_now = view.lit
    # The risk table as stored (``risk.roads`` is a copy, explanations and all), and of
    # it only the dark roads and the columns the plan reads.
    table = risk._frame("roads")
    dark = np.isin(lit_now[table["road"].to_numpy(dtype=np.int64)], DARK_CLASSES)
    rows = table[[c for c in _ROW_COLUMNS if c in table.columns]].iloc[np.flatnonzero(dark)]
    # Road id order: the plan must not depend on the order of the risk table.
    rows = rows.sort_values("road", kind="stable").reset_index(drop=True)

    slots: Slots | None = None
    scale: tuple[float, float] | None = None
    if budget == 0:
        out = Outcome.nothing("budget is 0", p.method)
    elif len(rows) == 0:
        out = Outcome.nothing(
            "no road is unlit or of unknown lighting: there is nowhere to put a lamp", p.method
        )
    else:
        slots = build_slots(view, eng, rows, spacing=spacing, cover_m=cover_m)
        # As stored: ``risk.night_incidents`` is a copy of every column.
        night = risk._frame("night_incidents").geometry.to_numpy()
        per_m, nearness, scale = _worth(view, rows, slots, where, night, p)
        if len(slots) == 0:
            out = Outcome.nothing(
                "every dark road is shorter than spacing_m and too close to another slot",
                p.method,
            )
        else:
            out = solve(slots, per_m, nearness, budget, p)
            del per_m, nearness
    return _plan(
        view,
        risk,
        rows,
        slots,
        out,
        scale=scale,
        where=where,
        budget=budget,
        spacing=spacing,
        cover_m=cover_m,
        params=p,
    )


def _worth(
    view: Roads,
    rows: pd.DataFrame,
    slots: Slots,
    where: Homes,
    incidents: np.ndarray,
    p: LampParams,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Return per slot the worth of a lit metre and the nearness to the houses, and the scale.

    The scale is ``(H_max, I_max)`` over all slots (:func:`~geo.lighting.benefit.worth_scale`);
    ``incidents`` are the night incidents' point geometries.

    Millions of slots: their points and the people near them are measured a block at
    a time, and only the two weighted sums are kept until the largest are known, where
    they are not 0 (most slots have no household near, and most no night incident).
    What the plan reports of the few lamps chosen (households and incidents near, the
    two terms) is measured again for them (:func:`_plan`), to the bit: a position's
    sums do not depend on which others are measured with it.
    """
    n = len(slots)
    # Nearness comes in whole steps 0..NEAR_LEVELS: two bytes a slot hold it exactly.
    nearness = np.empty(n, dtype=np.int16)
    people = People.of(where, incidents)
    found: tuple[list[np.ndarray], ...] = ([], [], [], [])  # slots and sums, h then i
    for lo in range(0, n, _SLOT_BLOCK):
        part = slice(lo, lo + _SLOT_BLOCK)
        # The slots' own points: making them again from their x, y cost as much as
        # finding them on the roads.
        lamps = slot_geometries(view, rows, slots.row[part], slots.pos[part])
        near = people.near(lamps, serve_m=p.serve_m, reach_m=p.reach_m)
        nearness[part] = np.rint(NEAR_LEVELS * p.serve_m / (p.serve_m + near.home_m))
        for k, sums in enumerate((near.households_weighted, near.incidents_weighted)):
            some = np.flatnonzero(sums)
            found[2 * k].append(lo + some)
            found[2 * k + 1].append(sums[some])
    del people
    h_at, h_sum, i_at, i_sum = (np.concatenate(f) if f else np.zeros(0) for f in found)
    scale = worth_scale(h_sum, i_sum)
    score = rows["score"].to_numpy(dtype=float)
    per_m = np.empty(n)
    for lo in range(0, n, _SLOT_BLOCK):
        hi = min(lo + _SLOT_BLOCK, n)
        h, i = np.zeros(hi - lo), np.zeros(hi - lo)
        for at, sums, dense in ((h_at, h_sum, h), (i_at, i_sum, i)):
            a, b = np.searchsorted(at, [lo, hi])
            dense[at[a:b].astype(np.int64) - lo] = sums[a:b]
        per_m[lo:hi] = per_metre(
            score[slots.row[lo:hi]],
            h,
            i,
            households_weight=p.households_weight,
            incidents_weight=p.incidents_weight,
            scale=scale,
        )[0]
    return per_m, nearness, scale


def _plan(
    view: Roads,
    risk: RoadRisk,
    rows: pd.DataFrame,
    slots: Slots | None,
    out: Outcome,
    *,
    scale: tuple[float, float] | None,
    where: Homes,
    budget: int,
    spacing: float,
    cover_m: float,
    params: LampParams,
) -> LampPlan:
    """Assemble the plan's tables from the lit slots.

    ``scale`` is :func:`~geo.lighting.benefit.worth_scale` over all slots (None when
    there are none): the people near each lamp are measured here, for the lamps only.
    """
    net = view.net
    crs = net.crs
    idx = out.lit
    if slots is None:
        row = pos = np.zeros(0, np.int64)
        lo = hi = np.zeros(0)
    else:
        row, pos = slots.row[idx], slots.pos[idx]
        run = out.run
        starts = np.ones(len(idx), dtype=bool)
        starts[1:] = run[1:] != run[:-1]
        ends = np.ones(len(idx), dtype=bool)
        ends[:-1] = run[1:] != run[:-1]
        mid_m, head_m, tail_m = slots.metres(idx)
        own = 0.5 * mid_m
        lo = pos - own - np.where(starts, head_m, 0.0)
        hi = pos + own + np.where(ends, tail_m, 0.0)
    road_id = rows["road"].to_numpy(dtype=np.int64)[row] if len(row) else np.zeros(0, np.int64)
    edge = view.edge[road_id]
    pts = slot_geometries(view, rows, row, pos)
    lonlat = gpd.GeoSeries(pts, crs=crs).to_crs(4326)
    score = rows["score"].to_numpy(dtype=float)[row] if len(row) else np.zeros(0)
    per_m = h_term = i_term = households = np.zeros(0)
    incidents = np.zeros(0, np.int64)
    if len(row) and scale is not None:
        # Only the people near these few lamps: trees over all of them cost more than
        # the lamps' whole plan.
        people = People.of(
            where,
            risk._frame("night_incidents").geometry.to_numpy(),
            only_near=(pts, params.serve_m, params.reach_m),
        )
        near = people.near(pts, serve_m=params.serve_m, reach_m=params.reach_m)
        per_m, h_term, i_term = per_metre(
            score,
            near.households_weighted,
            near.incidents_weighted,
            households_weight=params.households_weight,
            incidents_weight=params.incidents_weight,
            scale=scale,
        )
        households, incidents = near.households, near.incidents.astype(np.int64)

    def col(name: str) -> np.ndarray:
        return rows[name].to_numpy(dtype=object)[row] if len(row) else np.zeros(0, object)

    lamps = gpd.GeoDataFrame(
        {
            "lamp": np.arange(1, len(row) + 1),
            "run": out.run + 1,
            "road": road_id,
            "edge": edge,
            "twin": view.twin[road_id],
            "osm_ways": col("osm_ways"),
            "name": col("name"),
            "highway": col("highway"),
            "lit": col("lit"),
            "position_m": pos.astype(float),
            "covered_from_m": lo,
            "covered_to_m": hi,
            "lit_m": hi - lo,
            "score": score,
            "households_near": households,
            "households_term": h_term,
            "night_incidents_near": incidents,
            "incidents_term": i_term,
            "worth_per_m": per_m,
            "risk_covered": out.value,
            "lon": lonlat.x.to_numpy(),
            "lat": lonlat.y.to_numpy(),
        },
        geometry=pts,
        crs=crs,
    )

    # One stretch per run.
    st = (
        pd.DataFrame(
            {
                "run": out.run + 1,
                "road": road_id,
                "edge": edge,
                "from_m": lo,
                "to_m": hi,
                "risk": out.value,
            }
        )
        .groupby("run", sort=True)
        .agg(
            road=("road", "first"),
            edge=("edge", "first"),
            from_m=("from_m", "min"),
            to_m=("to_m", "max"),
            lamps=("road", "size"),
            risk=("risk", "sum"),
        )
        .reset_index()
    )
    st["length_m"] = st["to_m"] - st["from_m"]
    st_geom = _substrings(
        net, st["edge"].to_numpy(dtype=np.int64), st["from_m"].to_numpy(), st["to_m"].to_numpy()
    )
    stretches = gpd.GeoDataFrame(
        st[["run", "road", "edge", "from_m", "to_m", "length_m", "lamps", "risk"]],
        geometry=st_geom,
        crs=crs,
    )

    lit_now = net.edges["lit"].to_numpy(dtype=object)
    dark_km = float(view.length_m[np.isin(view.lit, DARK_CLASSES)].sum()) / 1000.0
    covered = stretches.groupby("road")["length_m"].sum()
    r_road = covered.index.to_numpy(dtype=np.int64)
    r_edge = view.edge[r_road]
    r_len = view.length_m[r_road]
    share = np.divide(covered.to_numpy(), r_len, out=np.ones(len(r_road)), where=r_len > 0)
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
    lit_roads = tuple(int(r) for r in r_road[lit_after])
    lit_edges = tuple(int(i) for i in view.directed_edges(list(lit_roads)))

    vil = risk.villages
    hh_served, dist = served(where, stretches.geometry.to_numpy(), params.serve_m)
    ok = hh_served > 0
    village_hh = vil["households"].to_numpy(dtype=float)
    villages_served = pd.DataFrame(
        {
            "code": vil["code"].to_numpy()[ok],
            "name": vil["name"].to_numpy()[ok],
            "households": hh_served[ok],
            "village_households": village_hh[ok],
            "share": np.divide(
                hh_served[ok], village_hh[ok], out=np.ones(int(ok.sum())), where=village_hh[ok] > 0
            ),
            "distance_m": dist[ok],
        }
    )
    reached = pd.DataFrame(columns=["id", "time", "category", "distance_m"])
    night = risk.night_incidents
    if len(stretches) and len(night):
        d_i = _nearest_distance(stretches.geometry.to_numpy(), night.geometry.to_numpy())
        hit = d_i <= params.reach_m
        # The rows reached, then their values: a time column of a million night
        # incidents is a million timestamp objects as an array.
        reached = pd.DataFrame(
            {
                "id": night["id"].iloc[hit].to_numpy(),
                "time": night["time"].iloc[hit].to_numpy(),
                "category": night["category"].iloc[hit].to_numpy(),
                "distance_m": d_i[hit],
            }
        )
    covered_km = float(stretches["length_m"].sum()) / 1000.0
    return LampPlan(
        lamps=lamps,
        stretches=stretches,
        roads=roads,
        lit_roads=lit_roads,
        lit_edges=lit_edges,
        villages_served=villages_served,
        incidents_reached=reached,
        household_basis=where.basis,
        dark_km_before=dark_km,
        covered_km=covered_km,
        newly_lit_km=covered_km,
        lit_roads_km=float(r_len[lit_after].sum()) / 1000.0,
        covered_risk=float(out.value.sum()),
        upper_bound=out.upper,
        guarantee=out.guarantee,
        ratio_bound=float(out.ratio),
        budget=int(budget),
        spacing_m=spacing,
        coverage_m=cover_m,
        params=params,
        n_candidates=0 if slots is None else len(slots),
        n_conflicts=0 if slots is None else slots.n_conflicts,
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
    counts = off[edge + 1] - off[edge]
    rep = np.repeat(np.arange(len(edge)), counts)
    vi = off[edge][rep] + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    # Metres from each vertex's edge start: a difference of the running length.
    run = _running_length(c, off, np.concatenate([vi, off[edge][rep]]))
    cum_vi = run[: len(vi)] - run[len(vi) :]
    inner = (cum_vi > start[rep]) & (cum_vi < end[rep])
    xy, owner = net.edge_coords(edge)
    geoms = np.asarray(shapely.linestrings(xy, indices=owner), dtype=object)
    a = shapely.get_coordinates(shapely.line_interpolate_point(geoms, start))
    b = shapely.get_coordinates(shapely.line_interpolate_point(geoms, end))
    piece = np.concatenate([np.arange(len(edge)), rep[inner], np.arange(len(edge))])
    at = np.concatenate([start, cum_vi[inner], end])
    xy = np.vstack([a, c[vi][inner], b])
    order = np.lexsort((at, piece))
    return np.asarray(shapely.linestrings(xy[order], indices=piece[order]), dtype=object)


def _running_length(c: np.ndarray, off: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Return at coordinate rows ``at`` the network's running length over all its edges.

    That is the sum of the segments before each row in coordinate order, segments
    between two edges counted 0, as one cumulative sum over every coordinate gives it.
    On a county's network that is arrays of millions of rows; the sum is carried from
    block to block instead, exactly as the one sum adds (it rounds, so a sum per edge
    would not be the same).
    """
    out = np.zeros(len(at))
    carry = 0.0
    for lo in range(0, len(c) - 1, _COORDS):
        hi = min(lo + _COORDS, len(c) - 1)  # segments lo..hi-1, running lengths lo..hi
        seg = np.hypot(*np.diff(c[lo : hi + 1], axis=0).T)
        owner = np.searchsorted(off, np.arange(lo, hi + 1), side="right") - 1
        seg[owner[1:] != owner[:-1]] = 0.0
        run = np.cumsum(np.concatenate([[carry], seg]))
        here = (at >= lo) & (at <= hi)
        out[here] = run[at[here] - lo]
        carry = float(run[-1])
    return out


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
