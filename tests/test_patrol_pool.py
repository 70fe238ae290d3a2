"""Tests of the route pool and its recombination (geo/patrol/pool.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pyvrp import Model

from geo.patrol.pool import PoolRoute, RoutePool, pack


def data_of(n_clients: int, vehicles: int, required: tuple[int, ...] = ()):  # noqa: ANN201
    """PyVRP data with one depot, ``n_clients`` clients and one vehicle type."""
    m = Model()
    depot = m.add_depot(m.add_location(0, 0))
    for i in range(n_clients):
        m.add_client(m.add_location(i + 1, 0), prize=10, required=i in required)
    m.add_vehicle_type(num_available=vehicles, start_depot=depot, end_depot=depot)
    dist = np.zeros((n_clients + 1, n_clients + 1), np.int64)
    return m.data().replace(distance_matrices=[dist], duration_matrices=[dist.copy()])  # type: ignore[list-item]


def random_routes(rng: np.random.Generator, n_clients: int, k: int) -> list[PoolRoute]:
    """``k`` routes of distinct visit sets (as a RoutePool holds them)."""
    routes: dict[frozenset[int], PoolRoute] = {}
    while len(routes) < k:
        size = int(rng.integers(1, 5))
        visits = tuple(int(v) for v in rng.choice(n_clients, size, replace=False))
        route = PoolRoute(0, visits, int(rng.integers(0, 50)), int(rng.integers(1, 400)))
        routes.setdefault(frozenset(visits), route)
    return list(routes.values())


def brute(routes: list[PoolRoute], vehicles: int, required: set[int]) -> int | None:
    """Best prize minus distance over every set of at most ``vehicles`` disjoint routes."""
    best = None
    for size in range(1, vehicles + 1):
        for combo in itertools.combinations(routes, size):
            visits = [v for r in combo for v in r.visits]
            if len(visits) != len(set(visits)) or not required <= set(visits):
                continue
            value = sum(r.prize - r.distance for r in combo)
            best = value if best is None else max(best, value)
    return best


def value_of(sol, routes: list[PoolRoute]) -> int:  # noqa: ANN001
    by_visits = {r.visits: r for r in routes}
    chosen = [by_visits[tuple(a.idx for a in r if a.is_client())] for r in sol.routes()]
    return sum(r.prize - r.distance for r in chosen)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("vehicles", [1, 2])
def test_pack_finds_the_best_disjoint_combination(seed: int, vehicles: int) -> None:
    """With one or two vehicles every pair is tried: the enumerated optimum, exactly."""
    rng = np.random.default_rng(seed)
    routes = random_routes(rng, 12, 40)
    got = pack(data_of(12, vehicles), routes)
    assert got is not None
    assert value_of(got, routes) == brute(routes, vehicles, set())
    visits = [a.idx for r in got.routes() for a in r if a.is_client()]
    assert len(visits) == len(set(visits))  # disjoint: a feasible solution


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("required", [(), (4,)])
def test_pack_with_three_vehicles_matches_brute_force_when_the_beam_holds_all(
    seed: int, required: tuple[int, ...]
) -> None:
    rng = np.random.default_rng(100 + seed)
    routes = random_routes(rng, 10, 18)
    got = pack(data_of(10, 3, required), routes, beam=10_000)
    expected = brute(routes, 3, set(required))
    assert (got is None) == (expected is None)
    if got is not None:
        assert value_of(got, routes) == expected


def test_pack_serves_required_clients_or_gives_none() -> None:
    routes = [PoolRoute(0, (0, 1), 0, 100), PoolRoute(0, (2,), 0, 5), PoolRoute(0, (1, 2), 0, 90)]
    one = pack(data_of(3, 1, required=(2,)), routes)
    assert one is not None and value_of(one, routes) == 90  # not the better (0, 1)
    two = pack(data_of(3, 2, required=(2,)), routes)
    assert two is not None and value_of(two, routes) == 105
    assert pack(data_of(3, 2, required=(0, 2)), routes[2:]) is None


def test_pool_keeps_the_shortest_order_of_each_visit_set_and_bounds_its_size() -> None:
    pool = RoutePool(capacity=4)
    pool.merge([PoolRoute(0, (1, 2), 30, 10), PoolRoute(0, (2, 1), 20, 10)])
    assert [r.visits for r in pool.best(5)] == [(2, 1)]
    pool.merge([PoolRoute(0, (3,), 1, 5), PoolRoute(0, (4,), 1, 50), PoolRoute(0, (5,), 1, 7)])
    assert [r.prize for r in pool.best(2)] == [50, 10]
