"""From an area, units and targets to the routing :class:`~geo.patrol.problem.Problem`.

Every place is put on the routing network of the units' mode and every travel time comes
from one :meth:`Engine.matrix` call, so the plan's times are the engine's times.

- A station or a point target is one location; a point's off-road gap to its road is
  an access leg at the mode's access speed, as everywhere in the engine.
- A road to drive is one location per direction (arc as node: Pearn, Assad and Golden;
  Longo, Poggi de Aragão and Uchoa 2006): travel *to* it ends at the road's first node,
  travel *from* it leaves its last node, its dwell is the drive along it, and the two
  directions form one group of which exactly one is driven.
- A hot spot revisited every ``g`` minutes has copies whose windows are ``w`` wide and
  ``g + w`` apart (``w`` a quarter of the gap, at least its dwell), starting when the
  nearest unit can first be there: any two visits are then at least ``g`` apart.

Targets that no unit can serve are set aside with their reason before the solver runs;
a required one (a road to drive, a village visit) raises :class:`PatrolError` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.area import Area
from geo.engine import Engine
from geo.errors import PatrolError
from geo.patrol.model import Shift, Units
from geo.patrol.problem import Problem, Vehicle
from geo.patrol.targets import TARGET_COLUMNS

__all__ = ["Instance", "Places", "build_instance"]

# Reasons a target is left out.
UNREACHABLE = "unreachable"
OUTSIDE_WINDOW = "outside its window"
NO_TIME = "no time"
#: The reason of a target the units could have served but had no time left for.
NOT_CHOSEN = f"{NO_TIME}: the units' time went to targets worth more"


@dataclass(frozen=True, eq=False)
class Places:
    """Locations as (edge, metres along, off-road metres): where trips arrive and leave."""

    in_edge: np.ndarray
    in_along: np.ndarray
    in_gap: np.ndarray
    out_edge: np.ndarray
    out_along: np.ndarray
    out_gap: np.ndarray

    def arrive(self, engine: Engine, idx: np.ndarray | None = None) -> object:
        """Return the arrival anchors (all, or rows ``idx``) as a Located set."""
        i = slice(None) if idx is None else np.atleast_1d(idx)
        return engine.at_edges(self.in_edge[i], self.in_along[i], self.in_gap[i])

    def leave(self, engine: Engine, idx: np.ndarray | None = None) -> object:
        """Return the departure anchors (all, or rows ``idx``) as a Located set."""
        i = slice(None) if idx is None else np.atleast_1d(idx)
        return engine.at_edges(self.out_edge[i], self.out_along[i], self.out_gap[i])


@dataclass(frozen=True, eq=False)
class Instance:
    """A built problem and how its pieces map back to stations and targets.

    ``client_target`` / ``client_visit`` / ``client_edge``: per client, its row in
    ``targets``, its visit number (0 first; revisits count up) and the edge driven (-1
    for a stop). ``vehicle_station``, ``vehicle_name``, ``vehicle_break_s`` and
    ``vehicle_break_span``: per vehicle, its station, name, break length and the window
    its break starts in. ``left_out``: the targets set aside before solving, with the
    reason.
    """

    problem: Problem
    places: Places
    engine: Engine
    targets: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    shift: Shift
    units: tuple[Units, ...]
    client_target: np.ndarray
    client_visit: np.ndarray
    client_edge: np.ndarray
    vehicle_station: np.ndarray
    vehicle_name: tuple[str, ...]
    vehicle_break_s: np.ndarray
    vehicle_break_span: np.ndarray
    left_out: pd.DataFrame


def _check_targets(targets: gpd.GeoDataFrame, area: Area) -> gpd.GeoDataFrame:
    missing = [c for c in TARGET_COLUMNS if c not in targets.columns]
    if missing:
        msg = f"the target table lacks column(s) {missing}"
        raise PatrolError(msg)
    if targets.crs is None or not targets.crs.equals(area.crs):
        msg = "the target table must be in the area's CRS"
        raise PatrolError(msg)
    ids = targets["id"].astype(str)
    if ids.duplicated().any():
        msg = f"target id {ids[ids.duplicated()].iloc[0]!r} appears twice"
        raise PatrolError(msg)
    return targets.reset_index(drop=True)


def _station_rows(area: Area, units: Sequence[Units]) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    st = area.require("stations")
    ids = st["id"].astype(str).to_numpy()
    rows = []
    for u in units:
        hit = np.flatnonzero(ids == u.station)
        if not len(hit):
            known = ", ".join(ids[:12])
            msg = f"station {u.station!r} is not in the stations layer (its ids: {known})"
            raise PatrolError(msg)
        rows.append(int(hit[0]))
    uniq = np.unique(rows)
    return st.iloc[uniq].reset_index(drop=True), np.searchsorted(uniq, rows)


def _window(shift: Shift, text: object, what: str) -> tuple[float, float]:
    if text is None or (isinstance(text, float) and np.isnan(text)) or not str(text).strip():
        return 0.0, shift.seconds
    return shift.window(str(text), what)


def build_instance(
    area: Area,
    units: Sequence[Units],
    targets: gpd.GeoDataFrame,
    *,
    cost_weight: np.ndarray | None = None,
    prize_scale: np.ndarray | None = None,
) -> Instance:
    """Build the routing problem of one shift.

    Parameters
    ----------
    area
        The area; its routing network of the units' mode carries every trip.
    units
        The units, per station; one shift and one mode for all.
    targets
        The target table (:data:`~geo.patrol.targets.TARGET_COLUMNS`).
    cost_weight
        Per routing edge, the factor on its travel time in the tie-breaking cost (a
        penalty on roads driven recently); the times themselves are never changed.
    prize_scale
        Per target, a factor on its prize (variants and recent shifts withhold part of
        the prize of places already patrolled).
    """
    if not units:
        msg = "a plan needs at least one group of units"
        raise PatrolError(msg)
    shift, mode = units[0].shift, units[0].mode
    for u in units[1:]:
        if u.shift != shift or u.mode != mode:
            msg = "all units of one plan share a shift and a mode: plan other shifts separately"
            raise PatrolError(msg)
    targets = _check_targets(targets, area)
    engine = area.engine(mode)
    stations, st_of_group = _station_rows(area, units)
    n_st = len(stations)

    # Stations: off the network is an error, named.
    snap = engine.snap.snap_geometries(stations.geometry, max_distance_m=engine.params.max_snap_m)
    if snap.flagged.any():
        k = int(np.flatnonzero(snap.flagged)[0])
        d = float(np.nan_to_num(snap.distance_m[k], nan=np.inf))
        msg = (
            f"station {stations['id'].iloc[k]!r} is {d:,.0f} m from the nearest {mode} road of "
            f"the network (more than {engine.params.max_snap_m:g} m): it is off the network"
        )
        raise PatrolError(msg)
    st_edge = snap.edge.astype(np.int64)
    st_along, st_gap = np.asarray(snap.along_m, float), np.asarray(snap.distance_m, float)

    kinds = targets["kind"].astype(str).to_numpy()
    is_road = kinds == "road"
    left: dict[int, str] = {}
    # Point targets.
    pt_rows = np.flatnonzero(~is_road)
    pt_geom = targets.geometry.iloc[pt_rows]
    if len(pt_rows):
        ps = engine.snap.snap_geometries(pt_geom, max_distance_m=engine.params.max_snap_m)
        pt_edge = ps.edge.astype(np.int64)
        pt_along, pt_gap = np.asarray(ps.along_m, float), np.asarray(ps.distance_m, float)
        for k in np.flatnonzero(ps.flagged).tolist():
            d = float(np.nan_to_num(ps.distance_m[k], nan=np.inf))
            left[int(pt_rows[k])] = f"{UNREACHABLE}: {d:,.0f} m from the nearest {mode} road"
        ok = ~ps.flagged
        pt_rows, pt_edge, pt_along, pt_gap = pt_rows[ok], pt_edge[ok], pt_along[ok], pt_gap[ok]
    else:
        pt_edge, pt_along, pt_gap = np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    # Road targets: one location per direction.
    rd_rows, rd_edges = [], []
    net_twin = np.asarray(engine.twin)
    for k in np.flatnonzero(is_road).tolist():
        e = int(targets["edge"].iloc[k])
        if not 0 <= e < len(engine.u) or not engine.open[e]:
            left[int(k)] = f"{UNREACHABLE}: not on the {mode} routing network"
            continue
        for d in (e, int(net_twin[e])):
            if d >= 0 and engine.open[d]:
                rd_rows.append(int(k))
                rd_edges.append(d)
    rd_rows_a = np.asarray(rd_rows, dtype=np.int64)
    rd_edge_a = np.asarray(rd_edges, dtype=np.int64)
    length = engine.length
    n_pt, n_rd = len(pt_rows), len(rd_rows_a)
    places = Places(
        in_edge=np.concatenate([st_edge, pt_edge, rd_edge_a]).astype(np.int64),
        in_along=np.concatenate([st_along, pt_along, np.zeros(n_rd)]),
        in_gap=np.concatenate([st_gap, pt_gap, np.zeros(n_rd)]),
        out_edge=np.concatenate([st_edge, pt_edge, rd_edge_a]).astype(np.int64),
        out_along=np.concatenate([st_along, pt_along, length[rd_edge_a]]),
        out_gap=np.concatenate([st_gap, pt_gap, np.zeros(n_rd)]),
    )
    tt = engine.matrix(places.leave(engine), places.arrive(engine))  # type: ignore[arg-type]
    dur = np.where(tt.reachable, tt.seconds, np.inf)
    pt_loc = n_st + np.arange(n_pt)
    rd_loc = n_st + n_pt + np.arange(n_rd)
    # Staying put takes no time; a road's own loop back (its end to its start) is never a
    # leg, since no two clients share a road's location.
    np.fill_diagonal(dur, 0.0)

    # Vehicles.
    vehicles, v_station, v_name, v_break, v_span = [], [], [], [], []
    for g, u in zip(st_of_group, units, strict=True):
        for name in u.unit_names():
            brk = u.break_min * 60
            vehicles.append(Vehicle(int(g), int(g), 0.0, shift.seconds, u.limit_s - brk, name=name))
            v_station.append(int(g))
            v_name.append(name)
            v_break.append(brk)
            v_span.append(u.break_span())
    if len(set(v_name)) != len(v_name):
        msg = "two units have the same name"
        raise PatrolError(msg)
    limit = max(v.limit for v in vehicles)
    used_st = np.unique(st_of_group)
    go = dur[np.ix_(used_st, np.arange(len(dur)))].min(axis=0)  # earliest arrival anywhere
    back = dur[np.ix_(np.arange(len(dur)), used_st)].min(axis=1)

    scale = np.ones(len(targets)) if prize_scale is None else np.asarray(prize_scale, float)
    prize_all = targets["prize"].to_numpy(dtype=float) * scale
    dwell_all = targets["dwell_min"].to_numpy(dtype=float) * 60
    revisit = targets["revisit_min"].to_numpy(dtype=float) * 60
    required = targets["required"].to_numpy(dtype=bool)
    loc, prize, service, early, late, group, req, c_t, c_v, c_e = ([] for _ in range(10))
    names: list[str] = []
    label = (targets["id"].astype(str) + " (" + targets["name"].astype(str) + ")").to_numpy()

    def add(t: int, lc: int, svc: float, a: float, b: float, grp: int, visit: int, e: int) -> None:
        loc.append(lc)
        prize.append(prize_all[t])
        service.append(svc)
        early.append(a)
        late.append(b)
        group.append(grp)
        req.append(bool(required[t]) and grp < 0)
        c_t.append(t)
        c_v.append(visit)
        c_e.append(e)
        names.append(str(label[t]))

    for lc, t in zip(pt_loc.tolist(), pt_rows.tolist(), strict=True):
        lo, hi = _window(shift, targets["window"].iloc[t], f"window of target {label[t]}")
        svc = dwell_all[t]
        first = go[lc]
        if not np.isfinite(first) or not np.isfinite(back[lc]):
            left[t] = f"{UNREACHABLE}: no road to or from it from the stations"
            continue
        if lo > hi or first > hi:
            left[t] = f"{OUTSIDE_WINDOW} ({targets['window'].iloc[t]})"
            continue
        if max(first, lo) + svc + back[lc] > limit:
            left[t] = f"{NO_TIME}: the trip there and back takes longer than the shift"
            continue
        gap = revisit[t]
        if not np.isfinite(gap) or required[t]:
            add(t, int(lc), svc, lo, hi, -1, 0, -1)
            continue
        w = max(gap / 4, svc)
        start = max(lo, first)
        k = 0
        while start + k * (gap + w) <= min(hi, limit):
            a = start + k * (gap + w)
            add(t, int(lc), svc, a, min(a + w, hi), -1, k, -1)
            k += 1
    groups_req: list[bool] = []
    for t in np.unique(rd_rows_a).tolist():
        lcs = rd_loc[rd_rows_a == t]
        dirs = [
            lc
            for lc in lcs
            if np.isfinite(go[lc])
            and go[lc] + engine.time[rd_edge_a[lc - n_st - n_pt]] + back[lc] <= limit
        ]
        if not dirs:
            fin = [lc for lc in lcs if np.isfinite(go[lc]) and np.isfinite(back[lc])]
            left[int(t)] = (
                f"{NO_TIME}: driving it from the station and back takes longer than the shift"
                if fin
                else f"{UNREACHABLE}: no road to or from it from the stations"
            )
            continue
        gid = len(groups_req)
        groups_req.append(bool(required[t]))
        for lc in dirs:
            e = int(rd_edge_a[lc - n_st - n_pt])
            add(int(t), int(lc), float(engine.time[e]), 0.0, shift.seconds, gid, 0, e)

    for t, why in sorted(left.items()):
        if required[t]:
            msg = f"required target {label[t]} cannot be served: {why}"
            if why.startswith(NO_TIME):
                msg += f" (the longest a unit may be out is {limit / 60:.0f} min)"
            raise PatrolError(msg)
    if len(targets) and not loc:
        trips = (go + back)[n_st:]
        trips = trips[np.isfinite(trips)]
        trip = (
            f"the trip to the nearest target and back takes {trips.min() / 60:.0f} min"
            if len(trips)
            else "no target can be reached from the stations"
        )
        msg = (
            f"no target can be served in the shift {shift.label} (a unit may be out "
            f"{limit / 60:.0f} min): {trip}"
        )
        raise PatrolError(msg)
    cost = dur.copy()
    if cost_weight is not None:
        w = np.asarray(cost_weight, float)
        if w.shape != (len(engine.u),) or (w < 1).any() or not np.isfinite(w).all():
            msg = "cost_weight must hold one factor >= 1 per routing edge"
            raise PatrolError(msg)
        edges = engine.net.edges.assign(_pen=engine.net.edges[engine.weight].to_numpy() * w)
        pen = engine.edited(replace(engine.net, edges=edges), weight="_pen")
        pc = pen.matrix(places.leave(pen), places.arrive(pen))  # type: ignore[arg-type]
        cost = np.where(np.isfinite(dur), np.nan_to_num(pc.seconds, nan=0.0), np.inf)
        cost = np.where(np.isfinite(dur), np.maximum(cost, dur), cost)
        np.fill_diagonal(cost, 0.0)
    problem = Problem(
        duration=dur,
        client_loc=np.asarray(loc, dtype=np.int64),
        prize=np.asarray(prize, float),
        fleet=tuple(vehicles),
        service=np.asarray(service, float),
        early=np.asarray(early, float),
        late=np.asarray(late, float),
        group=np.asarray(group, dtype=np.int64),
        group_required=np.asarray(groups_req, dtype=bool),
        required=np.asarray(req, dtype=bool),
        cost=np.where(np.isfinite(dur), cost, 0.0),
        names=tuple(names),
    )
    left_df = pd.DataFrame(
        {"target": list(left), "reason": list(left.values())}, columns=["target", "reason"]
    )
    return Instance(
        problem=problem,
        places=places,
        engine=engine,
        targets=targets,
        stations=stations,
        shift=shift,
        units=tuple(units),
        client_target=np.asarray(c_t, dtype=np.int64),
        client_visit=np.asarray(c_v, dtype=np.int64),
        client_edge=np.asarray(c_e, dtype=np.int64),
        vehicle_station=np.asarray(v_station, dtype=np.int64),
        vehicle_name=tuple(v_name),
        vehicle_break_s=np.asarray(v_break, float),
        vehicle_break_span=np.asarray(v_span, float).reshape(-1, 2),
        left_out=left_df,
    )
