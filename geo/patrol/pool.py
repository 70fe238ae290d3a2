"""Recombine routes met during the search: a set-packing step over a pool of routes.

Every feasible route a worker's local search produces is kept (the shortest order per
set of visits). Routes of different solutions, or of different workers, can combine
into a better plan than any one solution held: the best combination of disjoint routes,
at most the fleet's vehicles of each type, is a small set-packing programme that HiGHS
solves in a fraction of a second (:func:`scipy.optimize.milp`). A route alone is
feasible whatever the others do (routes share no resource), so any packing is a
feasible solution. Mutually exclusive client groups become one row each.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import pyvrp
from pyvrp import ProblemData, Route

__all__ = ["PoolRoute", "RoutePool", "pack"]


@dataclass(frozen=True)
class PoolRoute:
    """A feasible route: vehicle type, visits in order, PyVRP distance and prize."""

    vehicle_type: int
    visits: tuple[int, ...]
    distance: int
    prize: int


class RoutePool:
    """The feasible routes seen so far, the shortest order kept for each set of visits.

    ``capacity`` bounds memory: past it, the pool keeps its best half by prize.
    """

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self.routes: dict[tuple[int, frozenset[int]], PoolRoute] = {}
        # Most candidates repeat routes already seen, and reading a route's visits
        # costs more than a search move: a cheap fingerprint skips the repeats.
        self.seen: set[tuple[int, int, int, int]] = set()

    def add(self, sol: pyvrp.Solution) -> None:
        """Keep the feasible routes of ``sol``."""
        for r in sol.routes():
            if not r.is_feasible():
                continue
            mark = (r.vehicle_type(), r.distance(), r.prizes(), r.num_clients())
            if mark in self.seen:
                continue
            self.seen.add(mark)
            visits = tuple(a.idx for a in r if a.is_client())
            key = (r.vehicle_type(), frozenset(visits))
            old = self.routes.get(key)
            dist = r.distance()
            if old is None or dist < old.distance:
                self.routes[key] = PoolRoute(r.vehicle_type(), visits, dist, r.prizes())
        if len(self.routes) > self.capacity:
            self.routes = dict(self.best(self.capacity // 2, keyed=True))
            self.seen.clear()

    def best(self, k: int, *, keyed: bool = False) -> list:
        """Return the ``k`` routes of most prize, shortest first among equals."""
        items = heapq.nsmallest(
            k, self.routes.items(), key=lambda kv: (-kv[1].prize, kv[1].distance)
        )
        return items if keyed else [v for _, v in items]

    def merge(self, routes: list[PoolRoute]) -> None:
        """Keep ``routes`` (another pool's), the shorter of two equal visit sets."""
        for r in routes:
            key = (r.vehicle_type, frozenset(r.visits))
            old = self.routes.get(key)
            if old is None or r.distance < old.distance:
                self.routes[key] = r


def pack(data: ProblemData, routes: list[PoolRoute], beam: int = 200) -> pyvrp.Solution | None:
    """Return the best combination of disjoint ``routes`` found, or None.

    None when the pool is empty, when the fleet has more than one vehicle type or the
    data has client groups (neither is handled), or when no combination serves every
    required client. Every pair is tried (exact for two vehicles), then a beam of the
    best ``beam`` partial plans grows one route at a time. Plans are ranked as PyVRP
    ranks them: prize minus distance.
    """
    if not routes or data.num_vehicle_types != 1 or data.num_groups:
        return None
    m = data.vehicle_type(0).num_available
    k = len(routes)
    member = np.zeros((k, data.num_clients), np.float32)
    for j, r in enumerate(routes):
        member[j, list(r.visits)] = 1.0
    required = [c for c in range(data.num_clients) if data.client(c).required]
    need = len(required)
    served = member[:, required].sum(axis=1).astype(np.int64)
    value = np.array([r.prize - r.distance for r in routes], float)
    index = np.arange(k)

    def covering(chosen: np.ndarray) -> np.ndarray:
        """Rows of ``chosen`` (plans as route indices) that serve every required client."""
        return served[chosen].sum(axis=1) == need

    # Plans of one route, then every disjoint pair (an overlap is a product of 0/1
    # membership rows), then a beam grown one route at a time; each plan's routes are
    # in increasing index order, so each combination is met once.
    plans, worth = index[:, None], value.copy()
    ok = covering(plans)
    best = (plans[np.argmax(np.where(ok, worth, -np.inf))], worth[ok].max()) if ok.any() else None
    for size in range(2, min(m, k) + 1):
        held = np.zeros((len(plans), data.num_clients), np.float32)
        for col in range(plans.shape[1]):
            held += member[plans[:, col]]
        total = worth[:, None] + value[None, :]
        total[(held @ member.T) > 0.5] = -np.inf
        total[plans[:, -1][:, None] >= index[None, :]] = -np.inf
        if size == m:  # the last route must complete the required visits
            total[served[plans].sum(axis=1)[:, None] + served[None, :] < need] = -np.inf
        flat = total.ravel()
        top = np.argpartition(-flat, beam)[:beam] if len(flat) > beam else np.arange(len(flat))
        top = top[np.isfinite(flat[top])]
        if not len(top):
            break
        plans = np.column_stack([plans[top // k], top % k])
        worth = flat[top]
        ok = covering(plans)
        if ok.any():
            j = int(np.argmax(np.where(ok, worth, -np.inf)))
            if best is None or worth[j] > best[1]:
                best = (plans[j], worth[j])
    if best is None:
        return None
    return pyvrp.Solution(
        data,
        [Route(data, list(routes[j].visits), routes[j].vehicle_type) for j in best[0].tolist()],
    )
