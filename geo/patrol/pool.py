"""Recombine routes met during the search: packing a pool of routes into one plan.

Every feasible route a worker's local search produces is kept (the shortest order per
set of visits). Routes of different solutions, or of different workers, can combine
into a better plan than any one solution held. A route alone is feasible whatever the
others do (routes share no resource), and dropping visits from one does not lengthen it
where travel obeys the triangle inequality, so :func:`best_plan` lets routes overlap and
each later route keeps only the clients the earlier ones lack; :func:`pack` checks the
plan it builds. Every pair of routes is scored at once with products of 0/1 membership
rows, then a beam adds further vehicles.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import pyvrp
from pyvrp import ProblemData, Route

__all__ = ["PoolRoute", "RoutePool", "best_plan", "pack", "visits_of"]


def visits_of(route: Route) -> list[int]:
    """Return the clients a PyVRP route visits, in order."""
    return [a.idx for a in route if a.is_client()]


@dataclass(frozen=True)
class PoolRoute:
    """A feasible route: vehicle type, visits in order, PyVRP distance and prize."""

    vehicle_type: int
    visits: tuple[int, ...]
    distance: int
    prize: int


class RoutePool:
    """The feasible routes seen so far, the shortest order kept for each set of visits.

    Besides the routes of most prize, the pool tracks each client's ``per_client``
    best routes through it: the routes of a best plan rarely all rank high by prize
    (on TOP p4.2.h, after 8 s, the 600 best ran from prize 445 to 504 while the best
    plan's second route held 359), so a packing needs routes from every part of the
    map. ``capacity`` bounds memory: past it, the pool keeps its best half by prize and
    every client's best routes.
    """

    def __init__(self, capacity: int = 20_000, per_client: int = 8) -> None:
        self.capacity = capacity
        self.per_client = per_client
        self.routes: dict[tuple[int, frozenset[int]], PoolRoute] = {}
        # Min-heaps of (prize, -distance, arrival, key): each client's best routes.
        self.top: dict[int, list[tuple[int, int, int, tuple[int, frozenset[int]]]]] = {}
        self.arrivals = 0
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
            self._keep(PoolRoute(r.vehicle_type(), tuple(visits_of(r)), r.distance(), r.prizes()))
        if len(self.routes) > self.capacity:
            keep = dict(self._by_prize(self.capacity // 2))
            for heap in self.top.values():
                for *_, key in heap:
                    keep[key] = self.routes[key]
            self.routes = keep
            self.seen.clear()

    def _by_prize(self, k: int) -> list[tuple[tuple[int, frozenset[int]], PoolRoute]]:
        return heapq.nsmallest(
            k, self.routes.items(), key=lambda kv: (-kv[1].prize, kv[1].distance)
        )

    def best(self, k: int) -> list[PoolRoute]:
        """Return ``k`` routes to pack: the richest quarter, then each client's best, then more.

        After the richest quarter come every client's best routes rank by rank, then the
        next richest. The richest quarter comes first because on the long routes of two vehicles
        (TOP p4.2.h) the best pair holds two of the richest routes, which client ranks
        alone can crowd out of ``k``.
        """
        chosen: dict[tuple[int, frozenset[int]], PoolRoute] = dict(self._by_prize(k // 4))
        ranked = [sorted(heap, reverse=True) for heap in self.top.values()]
        for rank in range(self.per_client):
            for heap in ranked:
                if rank < len(heap) and len(chosen) < k:
                    key = heap[rank][-1]
                    chosen.setdefault(key, self.routes[key])
        for key, r in self._by_prize(k):
            if len(chosen) >= k:
                break
            chosen.setdefault(key, r)
        return sorted(chosen.values(), key=lambda r: (-r.prize, r.distance))

    def merge(self, routes: list[PoolRoute]) -> None:
        """Keep ``routes`` (another pool's)."""
        for r in routes:
            self._keep(r)

    def _keep(self, r: PoolRoute) -> None:
        """Keep ``r`` unless the pool holds its visits in a shorter order."""
        key = (r.vehicle_type, frozenset(r.visits))
        old = self.routes.get(key)
        if old is not None and r.distance >= old.distance:
            return
        self.routes[key] = r
        if old is not None:
            return  # its clients' heaps hold the key already
        self.arrivals += 1
        entry = (r.prize, -r.distance, -self.arrivals, key)
        for c in r.visits:
            heap = self.top.setdefault(c, [])
            if len(heap) < self.per_client:
                heapq.heappush(heap, entry)
            elif entry > heap[0]:
                heapq.heapreplace(heap, entry)


def best_plan(
    member: np.ndarray,
    weight: np.ndarray,
    distance: np.ndarray,
    vehicles: int,
    required: np.ndarray,
    beam: int = 200,
) -> tuple[np.ndarray, float] | None:
    """Return the best plan of at most ``vehicles`` routes and its value, or None.

    ``member`` is routes x clients (0/1), ``weight`` each client's prize, ``distance``
    each route's length, ``required`` a mask of the clients every plan must serve. A
    plan is a sequence of routes in increasing index; each route serves its clients not
    served by an earlier one (dropping a visit never lengthens a route where travel
    obeys the triangle inequality), so its value is the prize of the union of its
    routes minus their lengths as given (an upper bound). Every pair is scored (exact
    for two vehicles), then the best ``beam`` plans grow one route at a time.
    """
    k = len(member)
    if not k:
        return None
    member = member.astype(float)
    req = member[:, required]
    need = int(required.sum())
    index = np.arange(k)
    prize = member @ weight
    plans, held = index[:, None], member.copy()
    worth = prize - distance
    best: tuple[np.ndarray, float] | None = None
    for size in range(1, min(vehicles, k) + 1):
        if size > 1:
            # What each route adds to each plan: its prize less what the plan holds.
            total = worth[:, None] + prize[None, :] - (held * weight) @ member.T
            total -= distance[None, :]
            total[plans[:, -1][:, None] >= index[None, :]] = -np.inf
            if size == vehicles and need:  # the last route must complete the required
                have = held[:, required].sum(axis=1)
                total[
                    (have[:, None] + req.sum(axis=1)[None, :] - held[:, required] @ req.T)
                    < need - 0.5
                ] = -np.inf
            flat = total.ravel()
            top = np.argpartition(-flat, beam)[:beam] if len(flat) > beam else np.arange(len(flat))
            top = top[np.isfinite(flat[top])]
            if not len(top):
                break
            plans = np.column_stack([plans[top // k], top % k])
            held = np.maximum(held[top // k], member[top % k])
            worth = flat[top]
        ok = held[:, required].sum(axis=1) > need - 0.5
        if ok.any():
            j = int(np.argmax(np.where(ok, worth, -np.inf)))
            if best is None or worth[j] > best[1]:
                best = (plans[j], float(worth[j]))
    return best


def pack(data: ProblemData, routes: list[PoolRoute], beam: int = 200) -> pyvrp.Solution | None:
    """Return the best plan :func:`best_plan` makes of ``routes``, or None.

    None when the pool is empty, when the fleet has more than one vehicle type or the
    data has client groups (neither is handled), when no plan serves every required
    client, or when a route shortened by the plan breaks a limit (travel that does not
    obey the triangle inequality). Plans are ranked as PyVRP ranks them: prize minus
    distance.
    """
    if not routes or data.num_vehicle_types != 1 or data.num_groups:
        return None
    n = data.num_clients
    member = np.zeros((len(routes), n))
    for j, r in enumerate(routes):
        member[j, list(r.visits)] = 1.0
    weight = np.array([data.client(c).prize for c in range(n)], float)
    required = np.array([data.client(c).required for c in range(n)], bool)
    distance = np.array([r.distance for r in routes], float)
    found = best_plan(member, weight, distance, data.vehicle_type(0).num_available, required, beam)
    if found is None:
        return None
    taken: set[int] = set()
    out = []
    for j in found[0].tolist():
        visits = [c for c in routes[j].visits if c not in taken]
        taken.update(visits)
        if visits:
            out.append(Route(data, visits, routes[j].vehicle_type))
    sol = pyvrp.Solution(data, out)
    return sol if sol.is_feasible() else None
