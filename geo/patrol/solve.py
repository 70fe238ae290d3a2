"""Solve a patrol :class:`~geo.patrol.problem.Problem` with PyVRP's iterated local search.

The instance becomes a prize-collecting VRP in integers: times in ``ticks`` per unit,
each prize unit worth more than any fleet's total tie-break cost, so that the search
maximises prize first and breaks ties on cost. Rounding is one-sided (legs, dwells and
window opens up, window closes and limits down), so a route that fits in integers fits
in floats; every route is nevertheless replayed with :meth:`Problem.schedule` before a
:class:`~geo.patrol.problem.Solution` is made, and repaired if it does not fit.

Two formulations:

- *distance*: with no binding time windows and cost equal to duration, a route is only
  limited by its length, so the limit is PyVRP's ``max_distance`` on a matrix that folds
  each client's dwell into its outgoing legs, and the same matrix is the cost. This
  measured clearly better than the shift formulation on the Team Orienteering benchmark;
- *duration*: in general, durations with time windows and the shift as the vehicle's
  window (it leaves at ``early``), and ``_given(problem.cost)`` as the distance PyVRP minimises.

Around PyVRP's search this module adds restarts from a partly destroyed best solution,
a repair of each new best of the distance formulation (:class:`_Repair`: intra-route
2-opt and or-opt, prize-aware insertion and exchange, which PyVRP's granular operators
lack), a pool of the routes met, recombined by set packing within and across workers
(:mod:`geo.patrol.pool`), and a portfolio over processes whose other workers restart
afresh when stuck (see :class:`SolverParams`).
"""

from __future__ import annotations

import atexit
import math
import multiprocessing
import time
import warnings
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyvrp
from pyvrp import ClientGroup, Model, ProblemData, RandomNumberGenerator, Route
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.PenaltyManager import PenaltyManager, PenaltyParams
from pyvrp.RingBuffer import RingBuffer
from pyvrp.search import (
    OPERATORS,
    LocalSearch,
    NeighbourhoodParams,
    PerturbationManager,
    PerturbationParams,
    compute_neighbours,
)

from geo.errors import PatrolError
from geo.patrol.pool import PoolRoute, RoutePool, pack, visits_of
from geo.patrol.problem import Problem, Solution

__all__ = ["SolverParams", "make_pool", "solve"]

#: Largest matrix entry or time we hand PyVRP (its own ``MAX_VALUE``, 2**44).
_MAX_TICKS = 1 << 44
#: Largest objective we let PyVRP form: far from int64's 2**63 so that penalties added
#: on top of it (penalty x violation, computed in doubles) cannot overflow either.
_MAX_OBJECTIVE = 1 << 56


@dataclass(frozen=True)
class SolverParams:
    """How long and how hard :func:`solve` searches.

    Parameters
    ----------
    seconds
        Wall-clock cap of the whole solve, model building and worker start-up included.
    iterations
        Per-worker cap on search iterations. With it, the same seed gives the same
        :class:`Solution` on any machine, as long as ``seconds`` does not cut first.
    seed
        Seed of the first worker; the others derive theirs from it.
    workers
        More than 1: a seed portfolio in separate processes (PyVRP's loop holds the
        GIL); the best is chosen by prize, then cost, then worker index.
    ticks
        Integer ticks per time unit inside PyVRP (patrol times are seconds: 0.1 s).
    converge
        Stop a worker once its best has not improved for this many iterations
        (None: search until ``seconds`` or ``iterations``).
    patience
        Stop a worker once its best has not improved for this many seconds, and for
        at least as long as it took to find that best (None: never). Timing-dependent,
        like ``seconds``.
    repair
        Apply :class:`_Repair` (2-opt, or-opt, prize-aware insertion and exchange) to
        each new best of a length-limited instance without groups.
    num_neighbours
        Granular neighbourhood size. 20 beat PyVRP's 50 on the TOP set 4 at 2 s
        (mean ratio to best-known 0.9875 against 0.9829, both with history 50).
    history_length
        Late-acceptance history. 50 beat PyVRP's 300 (0.9875 against 0.9796 at 2 s).
    max_perturbations
        Upper bound of the random perturbation PyVRP applies at each iteration.
    restart
        Non-improving iterations after which the search restarts from a perturbed
        copy of its best. PyVRP's default (150 000) never fires within seconds.
    destroy
        Fraction of the best solution's visits removed at a restart (a random stretch
        of one route); the search then re-inserts by prize.
    fresh
        Non-improving iterations after which a worker starts a new run from a random
        solution, keeping its overall best (None: never). This is the first
        worker's; the others use ``fresh_others``.
    fresh_others
        ``fresh`` of the portfolio's other workers: with the repair a run settles
        fast, and one that settles in a poor basin stays there (TOP p4.2.i, seed 1:
        867 and 869 at 10 s against a best-known 918), so the others diversify.
    penalty
        Largest penalty per tick of excess duration or distance, as a multiple of the
        median client's prize per tick of shift. 3000 reproduces PyVRP's default
        (1e5) on the TOP instances, where it measured best; 1e8 there was worse.
    prize_resolution
        Relative resolution of prizes in integers: a prize is rounded to a multiple
        of this fraction of the smallest positive prize (exact for integral prizes).
    pool
        Keep every feasible route the search meets and recombine them
        (:mod:`geo.patrol.pool`): every ``pack_every`` iterations the best combination
        of the ``pack_routes`` best routes replaces the run's best if better, and at the
        end each worker's ``pack_routes`` best routes and then those of all workers
        together are packed (routes of different workers combine). Applies where the
        repair does.
    """

    seconds: float = 10.0
    iterations: int | None = None
    seed: int = 0
    workers: int = 1
    ticks: float = 10.0
    converge: int | None = None
    patience: float | None = None
    repair: bool = True
    num_neighbours: int = 20
    history_length: int = 50
    max_perturbations: int = 25
    restart: int = 500
    destroy: float = 0.15
    fresh: int | None = None
    fresh_others: int | None = 3000
    penalty: float = 3000.0
    prize_resolution: float = 1e-3
    pool: bool = True
    pack_every: int = 2000
    pack_routes: int = 600

    def __post_init__(self) -> None:
        checks = {
            "seconds": self.seconds > 0,
            "iterations": self.iterations is None or self.iterations >= 1,
            "workers": self.workers >= 1,
            "ticks": self.ticks > 0 and math.isfinite(self.ticks),
            "converge": self.converge is None or self.converge >= 1,
            "patience": self.patience is None or self.patience > 0,
            "num_neighbours": self.num_neighbours >= 1,
            "history_length": self.history_length >= 1,
            "max_perturbations": self.max_perturbations >= 1,
            "restart": self.restart >= 1,
            "fresh": self.fresh is None or self.fresh >= 1,
            "fresh_others": self.fresh_others is None or self.fresh_others >= 1,
            "destroy": 0.0 <= self.destroy <= 1.0,
            "penalty": self.penalty > 0,
            "prize_resolution": 0 < self.prize_resolution <= 1,
            "pack_every": self.pack_every >= 1,
            "pack_routes": self.pack_routes >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            msg = f"SolverParams: out of range: {', '.join(bad)}"
            raise PatrolError(msg)


@dataclass(frozen=True, eq=False)
class _Model:
    """The integer model of a Problem, and how to map its answer back."""

    data: ProblemData
    clients: np.ndarray  # problem client of each PyVRP client
    type_vehicles: tuple[tuple[int, ...], ...]  # fleet indices of each vehicle type
    max_penalty: float
    formulation: str


@dataclass(frozen=True)
class _Job:
    """One worker's share of a solve: picklable, so it can cross to a process."""

    data: ProblemData
    params: SolverParams
    seed: int
    deadline: float  # time.monotonic() value; system-wide on Linux, so valid in a child
    max_penalty: float
    repair: bool  # whether _Repair applies (distance formulation, no groups)
    fresh: int | None  # this worker's SolverParams.fresh or fresh_others


@dataclass(frozen=True)
class _Outcome:
    routes: list[tuple[int, list[int]]] = field(default_factory=list)  # (type, clients)
    feasible: bool = False
    iterations: int = 0
    pool: list[PoolRoute] = field(default_factory=list)  # its best routes, to recombine


def _name(problem: Problem, client: int) -> str:
    names = problem.names
    return names[client] if client < len(names) and names[client] else f"client {client}"


def _given(a: np.ndarray | None) -> np.ndarray:
    """Return an optional array of a Problem, which its __post_init__ always fills."""
    assert a is not None
    return a


def _ceil(x: np.ndarray | float, ticks: float) -> np.ndarray:
    """Return ``x`` in ticks rounded up, inf kept as inf (in float)."""
    return np.ceil(np.asarray(x, float) * ticks)


def _floor(x: np.ndarray | float, ticks: float) -> np.ndarray:
    return np.floor(np.asarray(x, float) * ticks)


def _uses_distance(problem: Problem) -> bool:
    """Whether the instance is a pure length-limited one (see the module notes)."""
    if not np.array_equal(_given(problem.cost), problem.duration):
        return False
    starts = min(v.early for v in problem.fleet)
    ends = max(v.early + v.limit for v in problem.fleet)
    return bool((_given(problem.early) <= starts).all() and (_given(problem.late) >= ends).all())


def _prize_units(problem: Problem, keep: np.ndarray, resolution: float) -> tuple[np.ndarray, float]:
    """Return integer prize units of the kept clients and the size of a unit."""
    prize = problem.prize[keep]
    positive = prize[prize > 0]
    if not len(positive):
        return np.zeros(len(prize), np.int64), 1.0
    if np.array_equal(positive, np.round(positive)):
        unit = 1.0  # exact for integral prizes, the usual case
    else:
        unit = float(positive.min()) * resolution
    return np.round(prize / unit).astype(np.int64), unit


def _build(problem: Problem, params: SolverParams) -> _Model:
    """Turn ``problem`` into PyVRP data, dropping clients no vehicle can reach alone."""
    ticks = params.ticks
    fleet = problem.fleet
    distance_form = _uses_distance(problem)
    origin = min(v.early for v in fleet)

    # Vehicle types: one per distinct (start, end, early, late, max_duration).
    kinds: dict[tuple, list[int]] = {}
    for k, v in enumerate(fleet):
        kinds.setdefault((v.start, v.end, v.early, v.late, v.max_duration), []).append(k)
    kind_keys = list(kinds)
    depot_locs = sorted({v.start for v in fleet} | {v.end for v in fleet})
    n_dep = len(depot_locs)

    # Rows: the depots, then one per client (a client's dwell is folded into its
    # outgoing legs in the distance formulation, so clients cannot share rows).
    rows = np.concatenate([np.asarray(depot_locs, np.int64), problem.client_loc])
    dur = problem.duration[np.ix_(rows, rows)]
    service = np.concatenate([np.zeros(n_dep), _given(problem.service)])
    t_start = np.array([_ceil(k[2] - origin, ticks) for k in kind_keys])
    if distance_form:
        leg = _ceil(dur + service[:, None], ticks)  # inf stays inf
        limit = np.array([_floor(fleet[kinds[k][0]].limit, ticks) for k in kind_keys])
    else:
        leg = _ceil(dur, ticks)
        limit = np.array([_floor(min(k[3], k[2] + k[4]) - origin, ticks) for k in kind_keys])
    np.fill_diagonal(leg, 0.0)
    serv = _ceil(_given(problem.service), ticks)
    c_early = np.maximum(_ceil(_given(problem.early) - origin, ticks), 0.0)
    c_late = _floor(_given(problem.late) - origin, ticks)

    # A finite stand-in for "no limit" and for "no route": longer than any route
    # without a missing leg, so a missing leg always breaks a limit.
    finite = np.where(np.isfinite(leg), leg, 0.0)
    longest = float(
        finite.max(axis=1).sum() + serv.sum() + c_early[np.isfinite(c_early)].max(initial=0)
    )
    horizon = float(t_start.max()) + longest + 1
    limit = np.minimum(limit, horizon)
    big = horizon + 1
    if big > _MAX_TICKS:
        msg = f"SolverParams.ticks={ticks} is too fine for this problem's horizon"
        raise PatrolError(msg)
    leg = np.where(np.isfinite(leg), leg, big)
    c_late = np.minimum(c_late, big)

    # Which clients some vehicle can serve on a route of their own (in integers).
    start_idx = np.array([depot_locs.index(k[0]) for k in kind_keys])
    end_idx = np.array([depot_locs.index(k[1]) for k in kind_keys])
    out, back = leg[start_idx][:, n_dep:], leg[n_dep:, end_idx].T  # (types, clients)
    if distance_form:
        alone = out + back <= limit[:, None]
    else:
        begin = np.maximum(t_start[:, None] + out, c_early[None, :])
        alone = (begin <= c_late[None, :]) & (begin + serv[None, :] + back <= limit[:, None])
    reachable = alone.any(axis=0)

    group, greq = _given(problem.group), _given(problem.group_required)
    for i in np.flatnonzero(_given(problem.required) & ~reachable):
        msg = f"required visit {_name(problem, int(i))} cannot be reached within any shift"
        raise PatrolError(msg)
    for g in np.flatnonzero(greq):
        members = np.flatnonzero(group == g)
        if not reachable[members].any():
            names = " or ".join(_name(problem, int(i)) for i in members)
            msg = f"required visit {names} cannot be reached within any shift"
            raise PatrolError(msg)
    in_req_group = np.append(greq, False)[np.where(group >= 0, group, len(greq))]
    useful = (problem.prize > 0) | _given(problem.required) | in_req_group
    keep = np.flatnonzero(reachable & useful)

    # Objective: prize units x P, P above any fleet's total cost, so prize comes first.
    units, _unit = _prize_units(problem, keep, params.prize_resolution)
    cost_scale = ticks
    while True:
        if distance_form:
            cost = leg
            cost_bound = float(sum(limit[t] * len(kinds[k]) for t, k in enumerate(kind_keys)))
        else:
            c = _given(problem.cost)[np.ix_(rows, rows)]
            cost = np.where(np.isfinite(c), np.ceil(c * cost_scale), 0.0)
            sel = np.concatenate([np.arange(n_dep), n_dep + keep])
            sub = cost[np.ix_(sel, sel)]
            cost_bound = float(sub[n_dep:].max(axis=1, initial=0).sum())
            cost_bound += float(sub[:n_dep].max(initial=0)) * len(fleet)
        per_unit = cost_bound + 1
        total = float(units.sum()) * per_unit + cost_bound
        if total <= _MAX_OBJECTIVE and cost.max(initial=0) <= _MAX_TICKS:
            break
        if not distance_form and cost_scale > 1e-6:
            cost_scale /= 10  # the tie-break may be coarse; prizes may not, yet
            continue
        if distance_form or cost_scale <= 1e-6:
            if units.max(initial=0) <= 1:
                msg = "the problem's prizes and costs cannot be scaled to 64-bit integers"
                raise PatrolError(msg)
            units = np.round(units / 10).astype(np.int64)

    # Penalties scale with prize per tick of shift (see SolverParams.penalty).
    pos = units[units > 0]
    med_prize = float(np.median(pos)) * per_unit if len(pos) else per_unit
    density = med_prize / max(float(np.median(limit - t_start if not distance_form else limit)), 1)
    max_penalty = params.penalty * density
    max_penalty = min(max_penalty, _MAX_OBJECTIVE / (big * (len(keep) + 2)))

    model = Model()
    locs = [model.add_location(0.0, 0.0) for _ in range(n_dep + len(keep))]
    depots = [model.add_depot(locs[i]) for i in range(n_dep)]
    groups: dict[int, ClientGroup] = {}
    for j, ci in enumerate(keep.tolist()):
        gi = int(group[ci])
        members = np.intersect1d(np.flatnonzero(group == gi), keep) if gi >= 0 else keep[:0]
        grp = None
        required = bool(_given(problem.required)[ci])
        if len(members) == 1:
            required = bool(greq[gi])
        elif len(members) > 1:
            if gi not in groups:
                groups[gi] = model.add_client_group(required=bool(greq[gi]))
            grp = groups[gi]
        tw_late = (
            int(c_late[ci]) if np.isfinite(_given(problem.late)[ci]) else np.iinfo(np.int64).max
        )
        model.add_client(
            locs[n_dep + j],
            service_duration=0 if distance_form else int(serv[ci]),
            tw_early=0 if distance_form else int(c_early[ci]),
            tw_late=np.iinfo(np.int64).max if distance_form else tw_late,
            prize=int(units[j]) * int(per_unit),
            required=required,
            group=grp,
            name=_name(problem, int(ci)),
        )
    for t, key in enumerate(kind_keys):
        s = int(t_start[t])
        model.add_vehicle_type(
            num_available=len(kinds[key]),
            start_depot=depots[start_idx[t]],
            end_depot=depots[end_idx[t]],
            tw_early=0 if distance_form else s,
            start_late=0 if distance_form else s,  # it leaves at its early, as in Problem
            tw_late=np.iinfo(np.int64).max if distance_form else int(limit[t]),
            max_distance=int(limit[t]) if distance_form else np.iinfo(np.int64).max,
            unit_distance_cost=1,
        )
    sel = np.concatenate([np.arange(n_dep), n_dep + keep])
    dist_m = cost[np.ix_(sel, sel)].astype(np.int64)
    dur_m = np.zeros_like(dist_m) if distance_form else leg[np.ix_(sel, sel)].astype(np.int64)
    data = model.data().replace(distance_matrices=[dist_m], duration_matrices=[dur_m])
    return _Model(
        data=data,
        clients=keep,
        type_vehicles=tuple(tuple(kinds[k]) for k in kind_keys),
        max_penalty=float(max_penalty),
        formulation="distance" if distance_form else "duration",
    )


def _destroy(
    data: ProblemData, sol: pyvrp.Solution, fraction: float, rng: RandomNumberGenerator
) -> pyvrp.Solution:
    """Return ``sol`` without a random stretch of one route (a ``fraction`` of all visits)."""
    routes = [(r.vehicle_type(), visits_of(r)) for r in sol.routes()]
    routes = [(t, v) for t, v in routes if v]
    if not routes:
        return sol
    total = sum(len(v) for _, v in routes)
    t, visits = routes[rng.randint(len(routes))]
    k = max(1, min(len(visits), round(fraction * total)))
    at = rng.randint(len(visits) - k + 1)
    visits[at : at + k] = []
    return pyvrp.Solution(data, [Route(data, v, t) for t, v in routes if v])


class _Repair:
    """Prize-aware moves on length-limited routes, in the model's integers.

    PyVRP's operators are granular and its search has no intra-route 2-opt; a best
    solution of the *distance* formulation is therefore shortened route by route
    (2-opt, or-opt), then every unvisited client that fits anywhere is inserted (best
    prize per detour first), and a visited client is swapped for an unvisited one of
    higher prize where that fits. Only prize and route length matter here, which is
    why it is applied to the distance formulation without groups only.
    """

    def __init__(self, data: ProblemData) -> None:
        self.data = data
        self.dist = np.asarray(data.distance_matrix(0), np.int64)
        n_cli = data.num_clients
        self.loc = np.array([data.client(i).location for i in range(n_cli)], np.int64)
        self.client_of = np.full(data.num_locations, -1, np.int64)
        self.client_of[self.loc] = np.arange(n_cli)
        self.prize = np.zeros(data.num_locations, np.int64)
        self.prize[self.loc] = [data.client(i).prize for i in range(n_cli)]
        self.required = np.zeros(data.num_locations, bool)
        self.required[self.loc] = [data.client(i).required for i in range(n_cli)]
        self.types = [
            (
                data.depot(vt.start_depot).location,
                data.depot(vt.end_depot).location,
                int(vt.max_distance),
                int(vt.num_available),
            )
            for vt in data.vehicle_types()
        ]

    def _length(self, path: np.ndarray) -> int:
        return int(self.dist[path[:-1], path[1:]].sum())

    def _shorten(self, path: np.ndarray) -> np.ndarray:
        """Return ``path`` (depots included) after 2-opt and or-opt to a local optimum."""
        d = self.dist
        for _ in range(1000):
            n = len(path)
            if n < 4:
                return path
            a, b = path[:-1], path[1:]
            fwd = np.concatenate([[0], np.cumsum(d[a, b])])
            bwd = np.concatenate([[0], np.cumsum(d[b, a])])
            # 2-opt: reverse path[i+1 .. j] for 0 <= i, i + 2 <= j <= n - 2.
            i, j = np.arange(n - 1)[:, None], np.arange(n - 1)[None, :]
            valid = (j >= i + 2) & (j <= n - 2)
            jc = np.minimum(j, n - 2)
            new = d[path[i], path[jc]] + bwd[jc] - bwd[np.minimum(i + 1, n - 1)]
            new = new + d[path[np.minimum(i + 1, n - 1)], path[jc + 1]]
            delta = np.where(valid, new - (fwd[jc + 1] - fwd[i]), 0)
            k = int(np.argmin(delta))
            if delta.flat[k] < 0:
                ii, jj = divmod(k, n - 1)
                path = np.concatenate([path[: ii + 1], path[ii + 1 : jj + 1][::-1], path[jj + 1 :]])
                continue
            # or-opt: move path[s .. s + m - 1] (m <= 3) between path[q] and path[q + 1].
            best, move = 0, None
            for m in (1, 2, 3):
                s = np.arange(1, n - m)  # segments of clients only
                if not len(s):
                    break
                e = s + m - 1
                gain = (
                    d[path[s - 1], path[s]] + d[path[e], path[e + 1]] - d[path[s - 1], path[e + 1]]
                )
                q = np.arange(n - 1)[None, :]
                add = d[path[q], path[s][:, None]] + d[path[e][:, None], path[q + 1]]
                add = add - d[path[q], path[q + 1]]
                ok = (q < s[:, None] - 1) | (q > e[:, None])
                delta2 = np.where(ok, add - gain[:, None], 0)
                k = int(np.argmin(delta2))
                if delta2.flat[k] < best:
                    best, move = int(delta2.flat[k]), (int(s[k // (n - 1)]), m, k % (n - 1))
            if move is None:
                return path
            s0, m, q0 = move
            seg = path[s0 : s0 + m]
            rest = np.concatenate([path[:s0], path[s0 + m :]])
            at = q0 + 1 if q0 < s0 else q0 + 1 - m
            path = np.concatenate([rest[:at], seg, rest[at:]])
        return path

    def _insert_cost(self, path: np.ndarray, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return each candidate's cheapest insertion detour into ``path`` and its position."""
        d = self.dist
        a, b = path[:-1], path[1:]
        cost = d[a][:, cand].T + d[cand][:, b] - d[a, b][None, :]
        pos = np.argmin(cost, axis=1)
        return cost[np.arange(len(cand)), pos], pos

    def __call__(self, sol: pyvrp.Solution) -> pyvrp.Solution | None:
        """Return an improved copy of a feasible ``sol``, or None if nothing improved."""
        data = self.data
        used = [0] * len(self.types)
        paths: list[tuple[int, np.ndarray]] = []
        for r in sol.routes():
            t = r.vehicle_type()
            start, end = self.types[t][:2]
            visits = [int(self.loc[a.idx]) for a in r if a.is_client()]
            paths.append((t, np.array([start, *visits, end], np.int64)))
            used[t] += 1
        for t, (start, end, _limit, count) in enumerate(self.types):
            paths += [(t, np.array([start, end], np.int64))] * (count - used[t])
        before = [self._length(p) for _, p in paths]
        prize0 = sum(int(self.prize[p[1:-1]].sum()) for _, p in paths)
        paths = [(t, self._shorten(p)) for t, p in paths]
        visited = np.zeros(len(self.prize), bool)
        for _, p in paths:
            visited[p[1:-1]] = True
        for _ in range(len(self.loc) + 1):
            self._insert_all(paths, visited)
            if not self._exchange(paths, visited):
                break
        prize = sum(int(self.prize[p[1:-1]].sum()) for _, p in paths)
        length = sum(self._length(p) for _, p in paths)
        if prize <= prize0 and length >= sum(before):
            return None
        routes = [Route(data, self.client_of[p[1:-1]].tolist(), t) for t, p in paths if len(p) > 2]
        return pyvrp.Solution(data, routes)

    def _insert_all(self, paths: list[tuple[int, np.ndarray]], visited: np.ndarray) -> None:
        """Insert unvisited clients wherever they fit, best prize per detour first."""
        while True:
            cand = self.loc[~visited[self.loc] & (self.prize[self.loc] > 0)]
            if not len(cand):
                return
            best: tuple[float, int, int, int] | None = None
            for r, (t, p) in enumerate(paths):
                slack = self.types[t][2] - self._length(p)
                cost, pos = self._insert_cost(p, cand)
                fits = np.flatnonzero(cost <= slack)
                if not len(fits):
                    continue
                ratio = self.prize[cand[fits]] / np.maximum(cost[fits], 1)
                k = int(fits[np.argmax(ratio)])
                if best is None or ratio.max() > best[0]:
                    best = (float(ratio.max()), r, int(cand[k]), int(pos[k]))
            if best is None:
                return
            _, r, c, at = best
            t, p = paths[r]
            paths[r] = (t, self._shorten(np.insert(p, at + 1, c)))
            visited[c] = True

    def _exchange(self, paths: list[tuple[int, np.ndarray]], visited: np.ndarray) -> bool:
        """Swap one visited client for an unvisited one of higher prize (best gain)."""
        cand = self.loc[~visited[self.loc] & (self.prize[self.loc] > 0)]
        if not len(cand):
            return False
        best: tuple[int, int, int, np.ndarray] | None = None
        for r, (t, p) in enumerate(paths):
            limit = self.types[t][2]
            for k in range(1, len(p) - 1):
                v = p[k]
                if self.required[v]:
                    continue
                better = cand[self.prize[cand] > self.prize[v]]
                if not len(better):
                    continue
                rest = np.delete(p, k)
                cost, pos = self._insert_cost(rest, better)
                fits = np.flatnonzero(self._length(rest) + cost <= limit)
                if not len(fits):
                    continue
                u = int(fits[np.lexsort((cost[fits], -self.prize[better[fits]]))[0]])
                gain = int(self.prize[better[u]] - self.prize[v])
                if best is None or gain > best[0]:
                    best = (gain, r, int(better[u]), np.insert(rest, pos[u] + 1, better[u]))
        if best is None:
            return False
        _, r, u, new = best
        t, p = paths[r]
        visited[p[1:-1]] = False
        paths[r] = (t, self._shorten(new))
        visited[paths[r][1][1:-1]] = True
        return True


def _penalties(data: ProblemData, max_penalty: float) -> PenaltyManager:
    pp = PenaltyParams(min_penalty=max_penalty * 1e-6, max_penalty=max_penalty)
    return PenaltyManager(pp.midpoint_penalties(data), pp)


def _polish(
    sol: pyvrp.Solution, ls: LocalSearch, ce: pyvrp.CostEvaluator, repair: _Repair | None
) -> pyvrp.Solution:
    """Return ``sol`` after an exhaustive local search and, if feasible, the repair.

    Each step is kept only when its result is feasible and no dearer (the repair's:
    cheaper).
    """
    polished = ls(sol, ce, exhaustive=True)
    if polished.is_feasible() and ce.cost(polished) <= ce.cost(sol):
        sol = polished
    if repair is not None and sol.is_feasible():
        repaired = repair(sol)
        if repaired is not None:
            repaired = ls(repaired, ce, exhaustive=True)
            if repaired.is_feasible() and ce.cost(repaired) < ce.cost(sol):
                sol = repaired
    return sol


def _local_search(data: ProblemData, p: SolverParams, rng: RandomNumberGenerator) -> LocalSearch:
    neighbours = compute_neighbours(data, NeighbourhoodParams(num_neighbours=p.num_neighbours))
    perturb = PerturbationManager(PerturbationParams(1, p.max_perturbations))
    ls = LocalSearch(data, rng, neighbours, perturb)
    for op in OPERATORS:
        if op.supports(data):
            ls.add_operator(op(data))
    return ls


def _recombine(
    data: ProblemData,
    routes: list[PoolRoute],
    ls: LocalSearch,
    ce: pyvrp.CostEvaluator,
    repair: _Repair | None,
    best: pyvrp.Solution,
) -> pyvrp.Solution:
    """Return the best packing of ``routes``, polished, if it beats ``best``; else ``best``."""
    packed = pack(data, routes)
    if packed is None or not packed.is_feasible():
        return best
    cand = _polish(packed, ls, ce, repair)
    return cand if ce.cost(cand) < ce.cost(best) else best


def _portfolio(model: _Model, jobs: list[_Job], outcomes: list[_Outcome]) -> _Outcome | None:
    """Return the best packing of all workers' routes, if it beats every worker's best."""
    p = jobs[0].params
    merged = RoutePool(capacity=10**9)
    for o in outcomes:
        merged.merge(o.pool)
    if not merged.routes:
        return None
    data = model.data
    rng = RandomNumberGenerator(seed=jobs[0].seed)
    ls = _local_search(data, p, rng)
    ce = _penalties(data, jobs[0].max_penalty).max_cost_evaluator()
    feasible = [
        pyvrp.Solution(data, [Route(data, v, t) for t, v in o.routes if v])
        for o in outcomes
        if o.feasible
    ]
    if not feasible:
        return None
    best = min(feasible, key=ce.cost)
    combined = _recombine(data, merged.best(p.pack_routes * p.workers), ls, ce, _Repair(data), best)
    if combined is best:
        return None
    routes = [(r.vehicle_type(), visits_of(r)) for r in combined.routes()]
    return _Outcome(routes=routes, feasible=True, iterations=0)


def _search(job: _Job) -> _Outcome:
    """Run one worker's iterated local search (late acceptance, restarts from best)."""
    data, p = job.data, job.params
    rng = RandomNumberGenerator(seed=job.seed)
    ls = _local_search(data, p, rng)
    pool = RoutePool() if p.pool and job.repair else None
    pm = _penalties(data, job.max_penalty)
    cap = p.iterations if p.iterations is not None else np.iinfo(np.int64).max
    converge = p.converge if p.converge is not None else np.iinfo(np.int64).max
    patience = p.patience if p.patience is not None else math.inf
    repair = _Repair(data) if job.repair else None
    started = improved = time.monotonic()
    # Time kept for this worker's final recombination and the portfolio's (of
    # ``workers`` times as many routes: pairs cost the square), so that the pool does
    # not push the solve past its seconds.
    reserve, spare = 0.0, 2 + p.workers**2

    with warnings.catch_warnings():
        # An instance whose required visits cannot all fit drives the penalty to its
        # bound; that is reported below as a PatrolError, not as a warning.
        warnings.simplefilter("ignore", PenaltyBoundWarning)

        def fresh() -> pyvrp.Solution:
            random = pyvrp.Solution.make_random(data, rng)
            return ls(random, pm.max_cost_evaluator(), exhaustive=True)

        ce = pm.cost_evaluator()
        init = curr = best = run_best = fresh()
        best_cost = run_cost = ce.cost(best)
        history: RingBuffer[pyvrp.Solution] = RingBuffer(p.history_length)
        # stale: iterations since this run's best improved; idle: since the overall best did.
        iters = stale = idle = 0
        while iters < cap and idle < converge:
            now = time.monotonic()
            if now >= job.deadline - reserve or now - improved >= max(patience, improved - started):
                break
            iters += 1
            if pool is not None and iters % p.pack_every == 0:
                tick = time.monotonic()
                packed = _recombine(
                    data, pool.best(p.pack_routes), ls, pm.max_cost_evaluator(), repair, run_best
                )
                reserve = max(reserve, spare * (time.monotonic() - tick))
                if packed is not run_best:  # _recombine returns a better plan only
                    history.clear()
                    curr = run_best = packed
                    run_cost, stale = ce.cost(run_best), 0
                    if run_cost < best_cost:
                        best, best_cost, idle, improved = run_best, run_cost, 0, time.monotonic()
            if job.fresh is not None and stale >= job.fresh:
                history.clear()
                init = curr = run_best = fresh()
                run_cost, stale = ce.cost(run_best), 0
            elif stale and stale % p.restart == 0:
                history.clear()
                curr = _destroy(data, run_best, p.destroy, rng) if p.destroy > 0 else run_best
            ce = pm.cost_evaluator()
            cand = ls(curr, ce, exhaustive=False)
            pm.register(cand)
            if pool is not None:
                pool.add(cand)
            stale += 1
            idle += 1
            if ce.cost(cand) < run_cost:
                # The run goes on from the polished best: measured better.
                run_best, stale = _polish(cand, ls, ce, repair), 0
                run_cost = ce.cost(run_best)
                if run_cost < best_cost:
                    best, best_cost, idle, improved = run_best, run_cost, 0, time.monotonic()
            cand_cost, curr_cost = ce.penalised_cost(cand), ce.penalised_cost(curr)
            late = history.peek()
            late_cost = ce.penalised_cost(init if late is None else late)
            if cand_cost < late_cost or cand_cost < curr_cost:  # Burke & Bykov 2017, 4.2
                curr, curr_cost = cand, cand_cost
            if curr_cost < late_cost or late is None:
                history.append(curr)
            else:
                history.skip()

        kept: list[PoolRoute] = []
        if pool is not None:
            pool.add(best)
            kept = pool.best(p.pack_routes)
            ce = pm.max_cost_evaluator()
            best = _recombine(data, kept, ls, ce, repair, best)
    routes = [(r.vehicle_type(), visits_of(r)) for r in best.routes()]
    return _Outcome(routes=routes, feasible=best.is_feasible(), iterations=iters, pool=kept)


def _detour(problem: Problem, vehicle: int, route: list[int], at: int) -> float:
    """Return the time saved by skipping the visit at position ``at`` of ``route``."""
    v = problem.fleet[vehicle]
    locs = [v.start, *problem.client_loc[route], v.end]
    d = problem.duration
    a, b, c = locs[at], locs[at + 1], locs[at + 2]
    return float(d[a, b] + _given(problem.service)[route[at]] + d[b, c] - d[a, c])


def _fit(problem: Problem, vehicle: int, route: list[int], protected: set[int]) -> list[int]:
    """Drop visits by worst prize per detour until ``route`` fits in floating point."""
    route = list(route)
    while route and not problem.schedule(vehicle, np.array(route)).feasible:
        free = [k for k, c in enumerate(route) if c not in protected]
        if not free:
            names = ", ".join(_name(problem, c) for c in route)
            who = problem.fleet[vehicle].name or str(vehicle)
            msg = f"the fleet's shifts cannot fit all required visits ({names} on {who})"
            raise PatrolError(msg)
        worst = min(
            free,
            key=lambda k: problem.prize[route[k]] / max(_detour(problem, vehicle, route, k), 1e-12),
        )
        route.pop(worst)
    return route


def _to_solution(
    problem: Problem, model: _Model, outcome: _Outcome, seed: int, iterations: int, seconds: float
) -> Solution:
    """Map a worker's routes back to the fleet, replay them and repair what does not fit."""
    slots = [list(v) for v in model.type_vehicles]
    routes: list[list[int]] = [[] for _ in problem.fleet]
    for t, visits in outcome.routes:
        if visits:
            routes[slots[t].pop(0)] = [int(model.clients[c]) for c in visits]
    visited = np.concatenate([np.zeros(0, np.int64), *[np.array(r, np.int64) for r in routes]])
    greq, group = _given(problem.group_required), _given(problem.group)
    missing = [
        int(i) for i in np.flatnonzero(_given(problem.required)) if i not in set(visited.tolist())
    ]
    served = set(group[visited].tolist())
    missing += [int(np.flatnonzero(group == g)[0]) for g in np.flatnonzero(greq) if g not in served]
    if missing:
        req = [i for i in visited.tolist() if _given(problem.required)[i]] + missing
        names = ", ".join(_name(problem, int(i)) for i in sorted(set(req)))
        msg = f"the fleet's shifts cannot fit all required visits ({names}; left out: "
        msg += ", ".join(_name(problem, int(i)) for i in missing) + ")"
        raise PatrolError(msg)
    # PyVRP's best is feasible in integers, hence in floats; should it not be, dropping
    # optional visits repairs it, and a route of required visits only cannot be.
    protected = {
        int(i) for i in visited if _given(problem.required)[i] or (group[i] >= 0 and greq[group[i]])
    }
    fixed = [_fit(problem, k, r, protected) if r else r for k, r in enumerate(routes)]
    return Solution(
        problem=problem,
        routes=tuple(np.array(r, np.int64) for r in fixed),
        seed=seed,
        iterations=iterations,
        seconds=seconds,
    )


def _worker_seed(seed: int, worker: int) -> int:
    # Distinct seeds per (seed, worker), so that seed s and s + 1 share no worker.
    return (seed * 1_000_003 + worker * 7_919) % (1 << 31)


def make_pool(workers: int) -> Executor:
    """Start ``workers - 1`` worker processes to reuse over many :func:`solve` calls.

    Worker 0 always runs in the calling process. The processes are spawned (never
    forked: the caller may hold threads) and each imports PyVRP once, which costs about
    half a second: a pool passed to :func:`solve` pays it once, not per call.
    """
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=max(workers - 1, 1), mp_context=ctx)


_POOLS: dict[int, Executor] = {}


def _shared_pool(workers: int) -> Executor:
    """Return this process's pool for ``workers``, started on first use, kept till exit.

    Starting processes and importing the package in them takes seconds, which a
    solve of a few seconds cannot pay each time.
    """
    pool = _POOLS.get(workers)
    if pool is None:
        pool = _POOLS[workers] = make_pool(workers)
        atexit.register(pool.shutdown, cancel_futures=True)
    return pool


def solve(
    problem: Problem, params: SolverParams | None = None, *, pool: Executor | None = None
) -> Solution:
    """Return the routes collecting the most prize, at least cost among equals.

    Parameters
    ----------
    problem
        The instance.
    params
        Search settings (default :class:`SolverParams`).
    pool
        Worker processes from :func:`make_pool`, for ``params.workers > 1``; without
        it, a pool this module starts on first use and keeps until the process exits
        (the first call's other workers lose the seconds they take to start).

    Returns
    -------
    Solution
        Every route checked in floating point.

    Raises
    ------
    PatrolError
        When a required visit cannot be reached, or the required visits cannot all be
        fitted into the fleet's shifts.
    """
    p = params or SolverParams()
    t0 = time.monotonic()
    model = _build(problem, p)
    deadline = t0 + p.seconds
    repair = p.repair and model.formulation == "distance" and model.data.num_groups == 0
    jobs = [
        _Job(
            model.data,
            p,
            _worker_seed(p.seed, w),
            deadline,
            model.max_penalty,
            repair,
            p.fresh if w == 0 else p.fresh_others,
        )
        for w in range(p.workers)
    ]
    if p.workers == 1:
        outcomes = [_search(jobs[0])]
    else:
        executor = pool if pool is not None else _shared_pool(p.workers)
        try:
            futures = [executor.submit(_search, job) for job in jobs[1:]]
            outcomes = [_search(jobs[0])] + [f.result() for f in futures]
        except BrokenExecutor:
            if pool is None:
                _POOLS.pop(p.workers, None)  # the next call starts a fresh one
            raise
    if len(outcomes) > 1 and p.pool and repair:
        combined = _portfolio(model, jobs, outcomes)
        if combined is not None:  # reported under the first worker's seed
            outcomes.append(combined)
            jobs.append(jobs[0])
    seconds = time.monotonic() - t0
    spent = sum(o.iterations for o in outcomes)
    best: Solution | None = None
    error: PatrolError | None = None
    for w, outcome in enumerate(outcomes):
        try:
            sol = _to_solution(problem, model, outcome, jobs[w].seed, spent, seconds)
        except PatrolError as exc:  # another worker may have fitted every required visit
            error = error or exc
            continue
        if best is None or (sol.prize, -sol.cost) > (best.prize, -best.cost):
            best = sol
    if best is None:
        assert error is not None
        raise error
    return best
