"""The routing instance the patrol solver sees, and the check of every route it returns.

A :class:`Problem` is a prize-collecting vehicle routing instance in plain numbers:
locations, a travel-time matrix between them (asymmetric: a required road is entered at
one end and left at the other), clients with a prize, a dwell and a time window, groups
of mutually exclusive clients, and a fleet of vehicles with their depots and shifts. It
knows nothing of roads or hot spots: the Team Orienteering benchmarks are Problems too.

:meth:`Problem.schedule` replays a route in floating point, as the road engine timed
it, so that no rounding inside the solver can make an infeasible route pass:
:class:`Solution` refuses to exist unless every route it holds fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geo.errors import PatrolError
from geo.results import Result

__all__ = ["EPS", "Problem", "Schedule", "Solution", "Vehicle"]

#: Slack allowed against a limit in floating point (the benchmarks' convention, 1e-9).
EPS = 1e-9


@dataclass(frozen=True)
class Vehicle:
    """One unit: where it starts and ends, when it may work, and for how long.

    Times are in the problem's unit (seconds for patrols), from the horizon's origin.
    The vehicle leaves its start at ``early`` and must be back by ``late``, within
    ``max_duration`` of leaving.
    """

    start: int
    end: int
    early: float = 0.0
    late: float = np.inf
    max_duration: float = np.inf
    name: str = ""

    def __post_init__(self) -> None:
        if not (np.isfinite(self.early) and self.late >= self.early):
            msg = f"vehicle {self.name or '?'}: its shift ends before it starts"
            raise PatrolError(msg)
        if not self.max_duration > 0:
            msg = f"vehicle {self.name or '?'}: max_duration must be positive"
            raise PatrolError(msg)

    @property
    def limit(self) -> float:
        """The longest the vehicle may be out: its shift or its maximum duration."""
        return float(min(self.late - self.early, self.max_duration))


def _array(value: object, dtype: type, n: int, name: str) -> np.ndarray:
    a: np.ndarray = np.asarray(value, dtype=dtype)
    if a.shape != (n,):
        msg = f"Problem.{name} must have one value per client ({n}), got shape {a.shape}"
        raise PatrolError(msg)
    return a


@dataclass(frozen=True, eq=False)
class Problem:
    """A prize-collecting routing instance (see the module notes).

    Parameters
    ----------
    duration
        (L, L) travel times between locations; inf where there is no route.
    client_loc
        Location of each client (C,).
    prize, service, early, late
        Per client: what a visit earns, its dwell, and the window in which the dwell
        must start (waiting for ``early`` is allowed).
    fleet
        The vehicles.
    group
        Per client, its group (-1: none). Exactly one client of a required group is
        visited (the two directions of a required road); at most one of any other.
    group_required
        Per group, whether one of its clients must be visited.
    required
        Per client outside groups, whether it must be visited.
    cost
        (L, L) the tie-breaking cost of a leg (default the duration): prizes always
        outweigh it; a penalty on recently driven roads is added here, not to the times.
    """

    duration: np.ndarray
    client_loc: np.ndarray
    prize: np.ndarray
    fleet: tuple[Vehicle, ...]
    # None is filled in by __post_init__ (no window, no group, the durations as cost),
    # so every field holds an array once the problem exists.
    service: np.ndarray = None  # type: ignore[assignment]
    early: np.ndarray = None  # type: ignore[assignment]
    late: np.ndarray = None  # type: ignore[assignment]
    group: np.ndarray = None  # type: ignore[assignment]
    group_required: np.ndarray = None  # type: ignore[assignment]
    required: np.ndarray = None  # type: ignore[assignment]
    cost: np.ndarray = None  # type: ignore[assignment]
    names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        d = np.asarray(self.duration, dtype=float)
        if d.ndim != 2 or d.shape[0] != d.shape[1]:
            msg = f"Problem.duration must be a square matrix, got shape {d.shape}"
            raise PatrolError(msg)
        n_loc = d.shape[0]
        if np.isnan(d).any() or (d < 0).any():
            msg = "Problem.duration must be >= 0 (inf where there is no route), never NaN"
            raise PatrolError(msg)
        loc = np.asarray(self.client_loc, dtype=np.int64)
        n = len(loc)
        if loc.ndim != 1 or ((loc < 0) | (loc >= n_loc)).any():
            msg = f"Problem.client_loc must hold location indices in 0..{n_loc - 1}"
            raise PatrolError(msg)
        set_ = object.__setattr__
        set_(self, "duration", d)
        set_(self, "client_loc", loc)
        set_(self, "prize", _array(self.prize, float, n, "prize"))
        zeros, inf = np.zeros(n), np.full(n, np.inf)
        set_(
            self,
            "service",
            _array(zeros if self.service is None else self.service, float, n, "service"),
        )
        set_(self, "early", _array(zeros if self.early is None else self.early, float, n, "early"))
        set_(self, "late", _array(inf if self.late is None else self.late, float, n, "late"))
        grp = np.full(n, -1) if self.group is None else self.group
        set_(self, "group", _array(grp, np.int64, n, "group"))
        n_groups = int(self.group.max()) + 1 if n and self.group.max() >= 0 else 0
        greq = np.zeros(n_groups, bool) if self.group_required is None else self.group_required
        greq = np.asarray(greq, dtype=bool)
        if greq.shape != (n_groups,):
            msg = f"Problem.group_required must have one value per group ({n_groups})"
            raise PatrolError(msg)
        set_(self, "group_required", greq)
        req = np.zeros(n, bool) if self.required is None else self.required
        set_(self, "required", _array(req, bool, n, "required"))
        if (self.required & (self.group >= 0)).any():
            msg = "a client in a group cannot be required on its own: require its group"
            raise PatrolError(msg)
        if bool((self.prize < 0).any()) or not np.isfinite(self.prize).all():
            msg = "Problem.prize must be finite and >= 0"
            raise PatrolError(msg)
        if (self.service < 0).any() or not np.isfinite(self.service).all():
            msg = "Problem.service must be finite and >= 0"
            raise PatrolError(msg)
        if (self.late < self.early).any():
            msg = "a client's time window closes before it opens"
            raise PatrolError(msg)
        c = d if self.cost is None else np.asarray(self.cost, dtype=float)
        if c.shape != d.shape or (np.isfinite(d) & ~np.isfinite(c)).any() or (c < 0).any():
            msg = "Problem.cost must be a matrix like duration, finite wherever it is"
            raise PatrolError(msg)
        set_(self, "cost", c)
        if not self.fleet:
            msg = "the problem has no vehicle"
            raise PatrolError(msg)
        for v in self.fleet:
            if not (0 <= v.start < n_loc and 0 <= v.end < n_loc):
                msg = f"vehicle {v.name or '?'}: its depot is not a location of the problem"
                raise PatrolError(msg)
        for a in (self.duration, self.client_loc, self.prize, self.service, self.early):
            a.setflags(write=False)
        for a in (self.late, self.group, self.group_required, self.required, self.cost):
            a.setflags(write=False)

    @property
    def n_clients(self) -> int:
        """Number of clients."""
        return len(self.client_loc)

    def schedule(self, vehicle: int, clients: np.ndarray) -> Schedule:
        """Replay one route in floating point: arrivals, starts of dwell, departures.

        The vehicle leaves at its ``early``; at each client it waits for the window to
        open if it is early. :attr:`Schedule.feasible` says whether every window, the
        shift end and the maximum duration hold (within :data:`EPS`).
        """
        v = self.fleet[vehicle]
        c = np.asarray(clients, dtype=np.int64)
        locs = np.concatenate([[v.start], self.client_loc[c], [v.end]])
        legs = self.duration[locs[:-1], locs[1:]]
        n = len(c)
        arrive, start, depart = np.empty(n), np.empty(n), np.empty(n)
        t = v.early
        for k in range(n):  # a chain of waits: each step depends on the last
            t += legs[k]
            arrive[k] = t
            t = max(t, self.early[c[k]])
            start[k] = t
            t += self.service[c[k]]
            depart[k] = t
        back = t + legs[n]
        late_ok = bool((start <= self.late[c] + EPS).all())
        feasible = (
            bool(np.isfinite(legs).all())
            and late_ok
            and back <= v.late + EPS
            and back - v.early <= v.max_duration + EPS
        )
        return Schedule(arrive, start, depart, float(v.early), float(back), legs, feasible)

    def route_cost(self, vehicle: int, clients: np.ndarray) -> float:
        """Return the tie-breaking cost of one route."""
        v = self.fleet[vehicle]
        locs = np.concatenate([[v.start], self.client_loc[np.asarray(clients, np.int64)], [v.end]])
        return float(self.cost[locs[:-1], locs[1:]].sum())


@dataclass(frozen=True, eq=False)
class Schedule:
    """A route replayed in floating point (see :meth:`Problem.schedule`)."""

    arrive: np.ndarray
    start: np.ndarray
    depart: np.ndarray
    leave: float
    back: float
    legs: np.ndarray
    feasible: bool

    @property
    def duration(self) -> float:
        """Time from leaving the depot to being back."""
        return self.back - self.leave


@dataclass(frozen=True, eq=False)
class Solution(Result):
    """Routes of a :class:`Problem`, every one checked in floating point.

    ``routes[k]`` is the ordered clients of vehicle ``k`` of the fleet (empty: the
    vehicle stays in). ``prize`` is what they collect, ``cost`` their tie-breaking cost;
    ``iterations`` and ``seconds`` what the search spent, ``seed`` what it started from.
    """

    problem: Problem
    routes: tuple[np.ndarray, ...]
    seed: int = 0
    iterations: int = 0
    seconds: float = 0.0
    prize: float = field(init=False)
    cost: float = field(init=False)

    def __post_init__(self) -> None:
        p = self.problem
        routes = tuple(np.asarray(r, dtype=np.int64) for r in self.routes)
        object.__setattr__(self, "routes", routes)
        if len(routes) != len(p.fleet):
            msg = f"a solution needs one route per vehicle ({len(p.fleet)}), got {len(routes)}"
            raise PatrolError(msg)
        seen = np.concatenate([np.zeros(0, np.int64), *routes])
        if len(np.unique(seen)) != len(seen) or ((seen < 0) | (seen >= p.n_clients)).any():
            msg = "a solution visits a client twice, or one the problem does not have"
            raise PatrolError(msg)
        for k, r in enumerate(routes):
            if len(r) and not p.schedule(k, r).feasible:
                name = p.fleet[k].name or str(k)
                msg = f"route of vehicle {name} breaks its shift or a time window"
                raise PatrolError(msg)
        grp = p.group[seen]
        counts = np.bincount(grp[grp >= 0], minlength=len(p.group_required))
        if (counts > 1).any():
            msg = "a solution visits two clients of one group (both directions of a road)"
            raise PatrolError(msg)
        missing = p.group_required & (counts == 0)
        visited = np.zeros(p.n_clients, bool)
        visited[seen] = True
        if missing.any() or (p.required & ~visited).any():
            msg = "a solution leaves out a required visit"
            raise PatrolError(msg)
        object.__setattr__(self, "prize", float(p.prize[seen].sum()))
        object.__setattr__(
            self, "cost", sum(p.route_cost(k, r) for k, r in enumerate(routes) if len(r))
        )
        super().__post_init__()

    @property
    def visited(self) -> np.ndarray:
        """Boolean mask of the clients visited."""
        out = np.zeros(self.problem.n_clients, bool)
        for r in self.routes:
            out[r] = True
        return out

    def schedules(self) -> list[Schedule]:
        """Return every route replayed in floating point."""
        return [self.problem.schedule(k, r) for k, r in enumerate(self.routes)]
