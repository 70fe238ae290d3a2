"""Plan one shift: build the problem, solve it, lay the routes on the roads.

:func:`plan_patrols` is the planner's entry: targets and units in, a checked
:class:`~geo.patrol.results.PatrolPlan` out. Every time it reports is the engine's
travel time of the leg plus the dwell (and any wait for a window or the break), and
every leg's geometry is the engine's fastest path, so what a unit is told to drive is
what was timed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.area import Area
from geo.errors import PatrolError
from geo.patrol.build import NOT_CHOSEN, Instance, build_instance
from geo.patrol.model import PatrolParams, Shift, Units
from geo.patrol.problem import EPS, Problem, Solution, Vehicle
from geo.patrol.results import PastShift, PatrolPlan
from geo.patrol.solve import SolverParams, solve

__all__ = ["network_key", "plan_patrols", "recent_edges", "solve_instance"]

# Balance: bisection steps on the longest route, each a short search.
_BALANCE_STEPS = 6


def _solver_params(p: PatrolParams, share: float = 1.0) -> SolverParams:
    it = None if p.iterations is None else max(200, int(p.iterations * share))
    return SolverParams(
        seconds=max(0.1, p.seconds * share), iterations=it, seed=p.seed, workers=p.workers
    )


def _balance(inst: Instance, sol: Solution, p: PatrolParams) -> Solution:
    """Return the same visits with the longest route as short as the search finds.

    The visited clients become required and the units' maximum duration is bisected
    between the longest single trip and the plan's longest route; each step is a short
    search, and the shortest longest-route found wins.
    """
    prob = inst.problem
    keep = np.flatnonzero(sol.visited)
    if not len(keep):
        return sol
    durations = [s.duration for s in sol.schedules() if np.isfinite(s.duration)]
    hi = max(d for d, r in zip(durations, sol.routes, strict=True) if len(r))
    lo = 0.0
    best = sol
    sub_group = prob.group[keep]
    # Groups keep their numbering among the kept clients; each stays required.
    gids, sub_group = np.unique(sub_group, return_inverse=True)
    sub_group = np.where(prob.group[keep] >= 0, sub_group - int((gids < 0).any()), -1)
    n_groups = int(sub_group.max()) + 1 if len(sub_group) and sub_group.max() >= 0 else 0
    for _ in range(_BALANCE_STEPS):
        mid = (lo + hi) / 2
        fleet = tuple(
            dataclasses.replace(v, max_duration=min(v.max_duration, mid)) for v in prob.fleet
        )
        sub = Problem(
            duration=prob.duration,
            client_loc=prob.client_loc[keep],
            prize=prob.prize[keep],
            fleet=fleet,
            service=prob.service[keep],
            early=prob.early[keep],
            late=prob.late[keep],
            group=sub_group,
            group_required=np.ones(n_groups, bool),
            required=sub_group < 0,
            cost=prob.cost,
            names=tuple(prob.names[i] for i in keep) if prob.names else (),
        )
        try:
            got = solve(sub, _solver_params(p, 1 / _BALANCE_STEPS))
        except PatrolError:
            lo = mid
            continue
        routes = tuple(keep[r] for r in got.routes)
        cand = Solution(prob, routes, seed=sol.seed, iterations=sol.iterations)
        longest = max((s.duration for s, r in zip(cand.schedules(), routes, strict=True) if len(r)))
        if longest < hi - EPS:
            best, hi = cand, longest
        else:
            hi = mid
    return best


def solve_instance(inst: Instance, params: PatrolParams) -> Solution:
    """Solve a built instance (balanced when asked)."""
    sol = solve(inst.problem, _solver_params(params))
    return _balance(inst, sol, params) if params.balance else sol


def _replay(
    prob: Problem, k: int, route: np.ndarray, brk: float, window: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int]:
    """Return arrive, start, depart, back and the stop after which the break is taken.

    The break goes after the first stop whose departure falls in its window and after
    which every later window still holds; failing that, after the last stop (the unit
    had the break's time reserved, so it is still back in time).
    """
    v: Vehicle = prob.fleet[k]
    locs = np.concatenate([[v.start], prob.client_loc[route], [v.end]])
    legs = prob.duration[locs[:-1], locs[1:]]
    n = len(route)

    def run(at: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, bool]:
        arrive, start, depart = np.empty(n), np.empty(n), np.empty(n)
        t, ok = v.early, True
        for i in range(n):  # each step waits on the one before
            t += legs[i]
            arrive[i] = t
            t = max(t, prob.early[route[i]])
            start[i] = t
            ok &= bool(t <= prob.late[route[i]] + EPS)
            t += prob.service[route[i]]
            if i == at:
                t += brk
            depart[i] = t
        back = t + legs[n] + (brk if at == n else 0.0)
        return arrive, start, depart, float(back), ok

    if brk > 0 and n:
        plain = run(-1)
        for at in range(n):
            if window[0] <= plain[2][at] <= window[1]:
                got = run(at)
                if got[4] and got[3] <= v.late + EPS:
                    return got[0], got[1], got[2], got[3], at
        a, s, d, back, _ = run(n)
        return a, s, d, back, n
    a, s, d, back, _ = run(-1)
    return a, s, d, back, -1


def _clock(shift: Shift, seconds: pd.Series) -> list[str]:
    """Return ISO 8601 local times to the second (what a sheet and a GPX file show)."""
    return [x.replace(microsecond=0).isoformat() for x in shift.at(np.round(seconds.to_numpy()))]


def _lonlat(geom: np.ndarray, crs: object) -> tuple[np.ndarray, np.ndarray]:
    pts = gpd.GeoSeries(geom, crs=crs).to_crs(4326)
    return pts.x.to_numpy(), pts.y.to_numpy()


def _decode(inst: Instance, sol: Solution, params: PatrolParams, network: str) -> PatrolPlan:
    prob, eng, net, t = inst.problem, inst.engine, inst.engine.net, inst.targets
    shift = inst.shift
    coords, offsets = net.coords, net.offsets
    twin = np.asarray(eng.twin)
    stop_rows: list[dict[str, object]] = []
    unit_rows, route_rows, edges_per_unit = [], [], []
    st_names = inst.stations["name"].astype(str).to_numpy() if "name" in inst.stations else None
    for k, route in enumerate(sol.routes):
        station = int(inst.vehicle_station[k])
        st_id = str(inst.stations["id"].iloc[station])
        st_geom = inst.stations.geometry.iloc[station]
        st_label = st_id if st_names is None else f"{st_id} {st_names[station]}"
        span = (float(inst.vehicle_break_span[k, 0]), float(inst.vehicle_break_span[k, 1]))
        brk = float(inst.vehicle_break_s[k])
        arrive, start, depart, back, brk_at = _replay(prob, k, route, brk, span)
        locs = np.concatenate([[station], prob.client_loc[route], [station]])
        parts: list[np.ndarray] = []
        driven: list[int] = []
        leg_km, leg_s = [], []
        for i in range(len(locs) - 1):
            a, b = int(locs[i]), int(locs[i + 1])
            if a == b:  # a revisit at the same place, or a unit that stays in
                leg_km.append(0.0)
                leg_s.append(0.0)
                continue
            r = eng.path(inst.places.leave(eng, a), inst.places.arrive(eng, b))  # type: ignore[arg-type]
            # The matrix may come from the CCH, rounded per arc; the path is exact.
            tol = 1e-6 * max(1.0, r.seconds) + eng.rounding_s(len(r.edges))
            if not r.found or abs(r.seconds - prob.duration[a, b]) > tol:
                msg = (
                    f"internal: leg {a}->{b} timed {r.seconds} s by its path and "
                    f"{prob.duration[a, b]} s by the matrix"
                )
                raise PatrolError(msg)
            leg_s.append(float(r.seconds))
            leg_km.append(float(r.length_m) / 1000)
            driven.extend(int(e) for e in r.edges)
            if r.geometry is not None:
                parts.append(np.asarray(r.geometry.coords))
            if i < len(route):
                e = int(inst.client_edge[route[i]])
                if e >= 0:  # a road to drive: along it, end to end
                    parts.append(coords[offsets[e] : offsets[e + 1]])
                    driven.append(e)
        road_keys = np.asarray(driven, dtype=np.int64)
        road_keys = (
            np.where(twin[road_keys] >= 0, np.minimum(road_keys, twin[road_keys]), road_keys)
            if len(road_keys)
            else road_keys
        )
        edges_per_unit.append(road_keys)
        drive_km = [
            float(eng.length[int(inst.client_edge[c])]) / 1000 if inst.client_edge[c] >= 0 else 0.0
            for c in route
        ]
        km = float(np.sum(leg_km) + np.sum(drive_km))
        prize = 0.0
        base = dict(unit=inst.vehicle_name[k], station=st_id)
        stop_rows.append(
            {
                **base,
                "seq": 0,
                "target": st_id,
                "kind": "station",
                "name": st_label,
                "village": "",
                "visit": 0,
                "arrive_s": 0.0,
                "start_s": 0.0,
                "depart_s": 0.0,
                "travel_s": 0.0,
                "wait_min": 0.0,
                "dwell_min": 0.0,
                "break_min": 0.0,
                "km": 0.0,
                "prize": 0.0,
                "check": "leave the station",
                "geometry": st_geom,
            }
        )
        for i, c in enumerate(route):
            row = int(inst.client_target[c])
            e = int(inst.client_edge[c])
            tp = float(t["prize"].iloc[row])
            prize += tp
            geom = t.geometry.iloc[row] if e < 0 else shapely.Point(coords[offsets[e]])
            stop_rows.append(
                {
                    **base,
                    "seq": i + 1,
                    "target": str(t["id"].iloc[row]),
                    "kind": str(t["kind"].iloc[row]),
                    "name": str(t["name"].iloc[row]),
                    "village": str(t["village"].iloc[row]),
                    "visit": int(inst.client_visit[c]) + 1,
                    "arrive_s": arrive[i],
                    "start_s": start[i],
                    "depart_s": depart[i],
                    "travel_s": leg_s[i],
                    "wait_min": (start[i] - arrive[i]) / 60,
                    "dwell_min": float(prob.service[c]) / 60,
                    "break_min": brk / 60 if i == brk_at else 0.0,
                    "km": leg_km[i] + drive_km[i],
                    "prize": tp,
                    "check": str(t["check"].iloc[row]),
                    "geometry": geom,
                }
            )
        end_brk = brk if brk_at == len(route) and len(route) else 0.0
        stop_rows.append(
            {
                **base,
                "seq": len(route) + 1,
                "target": st_id,
                "kind": "station",
                "name": st_label,
                "village": "",
                "visit": 0,
                # A break left to the end is taken back at the station.
                "arrive_s": back - end_brk,
                "start_s": back - end_brk,
                "depart_s": back,
                "travel_s": leg_s[-1],
                "wait_min": 0.0,
                "dwell_min": 0.0,
                "break_min": end_brk / 60,
                "km": leg_km[-1],
                "prize": 0.0,
                "check": "back at the station",
                "geometry": st_geom,
            }
        )
        out_min = back / 60 if len(route) else 0.0
        unit_rows.append(
            {
                **base,
                "leave_s": 0.0,
                "back_s": back if len(route) else 0.0,
                "minutes": out_min,
                "km": km,
                "prize": prize,
                "stops": len(route),
                "break_at": ""
                if brk_at < 0 or not len(route)
                else ("before returning" if brk_at == len(route) else f"stop {brk_at + 1}"),
            }
        )
        if len(route):
            line = shapely.LineString(np.concatenate(parts)) if parts else None
            route_rows.append(
                {
                    "unit": inst.vehicle_name[k],
                    "station": st_id,
                    "km": km,
                    "minutes": out_min,
                    "geometry": line,
                }
            )
    stops = gpd.GeoDataFrame(
        stop_rows, geometry="geometry", crs=t.crs if len(t) else inst.stations.crs
    )
    # Visits are numbered per target in time order, whichever copy the search used.
    is_t = stops["kind"].to_numpy() != "station"
    order = stops[is_t].sort_values(["target", "start_s"], kind="stable")
    stops.loc[order.index, "visit"] = order.groupby("target").cumcount().to_numpy() + 1
    for col in ("arrive", "start", "depart"):
        stops.insert(stops.columns.get_loc(f"{col}_s"), col, _clock(shift, stops[f"{col}_s"]))
    lon, lat = _lonlat(stops.geometry.to_numpy(), stops.crs)
    stops.insert(len(stops.columns) - 1, "lon", lon)
    stops.insert(len(stops.columns) - 1, "lat", lat)
    units = pd.DataFrame(unit_rows)
    units.insert(2, "leave", _clock(shift, units["leave_s"]))
    units.insert(3, "back", _clock(shift, units["back_s"]))
    routes = gpd.GeoDataFrame(
        route_rows,
        columns=["unit", "station", "km", "minutes", "geometry"],
        geometry="geometry",
        crs=stops.crs,
    )
    visited = np.zeros(len(t), bool)
    visited[inst.client_target[sol.visited]] = True
    pre = dict(zip(inst.left_out["target"], inst.left_out["reason"], strict=True))
    reasons = [pre.get(i, NOT_CHOSEN) for i in range(len(t)) if not visited[i]]
    rows = np.flatnonzero(~visited)
    left = pd.DataFrame(
        {
            "target": t["id"].astype(str).to_numpy()[rows],
            "kind": t["kind"].astype(str).to_numpy()[rows],
            "name": t["name"].astype(str).to_numpy()[rows],
            "village": t["village"].astype(str).to_numpy()[rows],
            "prize": t["prize"].to_numpy(float)[rows],
            "reason": reasons,
        }
    )
    return PatrolPlan(
        shift=shift,
        mode=inst.units[0].mode,
        params=params,
        units=units,
        stops=stops,
        routes=routes,
        left_out=left,
        edges=tuple(edges_per_unit),
        prize=float(stops["prize"].sum()),
        prize_available=float(t["prize"].to_numpy(float)[inst.client_target].sum()),
        seed=params.seed,
        iterations=sol.iterations,
        solve_seconds=sol.seconds,
        network=network,
    )


def network_key(inst: Instance) -> str:
    """Return the name of the routing network a plan's road keys belong to."""
    net = inst.engine.net
    return f"{net.mode}:{net.source.sha256[:16]}:{len(net.nodes)}:{len(net.edges)}"


def recent_edges(shifts: Sequence[PastShift]) -> np.ndarray:
    """Return every road driven in earlier ``shifts``, once."""
    parts = [np.asarray(s.roads, dtype=np.int64) for s in shifts]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def _recent_weights(
    inst_engine_twin: np.ndarray, n_edges: int, recent: np.ndarray, pen: float
) -> np.ndarray:
    w = np.ones(n_edges)
    r = np.asarray(recent, dtype=np.int64)
    r = r[(r >= 0) & (r < n_edges)]
    w[r] = 1 + pen
    tw = inst_engine_twin[r]
    w[tw[tw >= 0]] = 1 + pen
    return w


def plan_patrols(
    area: Area,
    units: Sequence[Units],
    targets: gpd.GeoDataFrame,
    params: PatrolParams | None = None,
    *,
    recent: Sequence[PastShift] = (),
    prize_scale: np.ndarray | None = None,
    avoid: Sequence[PatrolPlan] = (),
) -> PatrolPlan:
    """Plan the routes of one shift.

    Parameters
    ----------
    area
        The area; its routing network of the units' mode carries the routes.
    units
        Units per station (one shift and mode for all).
    targets
        What to call at (:func:`~geo.patrol.targets.patrol_targets`).
    params
        Search budget, seed, balance, the recent-shift penalty.
    recent
        The last shifts (:meth:`PatrolPlan.as_past`, saved with each plan): their
        roads cost ``params.recent_penalty`` more of their travel time and their hot
        spots earn that share less, so tonight differs.
    prize_scale
        Per target, a factor on its prize for the search (the plan reports the targets'
        own prizes).
    avoid
        Plans whose roads cost more, as for ``recent``, without touching prizes (the
        variants already found).

    Raises
    ------
    PatrolError
        A station is off the network, a required target cannot be served, or the shift
        is too short for any target.
    """
    p = params or PatrolParams()
    engine = area.engine(units[0].mode if units else None)
    scale = np.ones(len(targets)) if prize_scale is None else np.asarray(prize_scale, float)
    weight = None
    past = [*recent, *(a.as_past() for a in avoid)]
    if past:
        roads = recent_edges(past)
        weight = _recent_weights(np.asarray(engine.twin), len(engine.u), roads, p.recent_penalty)
    if recent:
        seen = {h for r in recent for h in r.hotspots}
        hit = targets["id"].astype(str).isin(seen).to_numpy()
        scale = scale * np.where(hit, 1 - p.recent_penalty, 1.0)
    inst = build_instance(area, units, targets, cost_weight=weight, prize_scale=scale)
    key = network_key(inst)
    for r in past:
        if r.network != key:
            msg = (
                f"the earlier shift {r.label or '?'} was planned on another road network "
                f"({r.network}, not {key}): its roads cannot be avoided on this one"
            )
            raise PatrolError(msg)
    sol = solve_instance(inst, p)
    return _decode(inst, sol, p, key)
