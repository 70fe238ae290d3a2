"""Tests of the route pool and its recombination (geo/patrol/pool.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import pyvrp
from pyvrp import Model, Route

from geo.patrol.pool import PoolRoute, RoutePool, best_plan, pack


def line_data(n_clients: int, vehicles: int, limit: int, required: tuple[int, ...] = ()):  # noqa: ANN201
    """PyVRP data: a depot at 0 and clients at 1..n on a line, prize 10 + i each."""
    m = Model()
    depot = m.add_depot(m.add_location(0, 0))
    for i in range(n_clients):
        m.add_client(m.add_location(i + 1, 0), prize=10 + i, required=i in required)
    m.add_vehicle_type(
        num_available=vehicles, start_depot=depot, end_depot=depot, max_distance=limit
    )
    x = np.arange(n_clients + 1)
    dist = np.abs(x[:, None] - x[None, :]).astype(np.int64)
    return m.data().replace(distance_matrices=[dist], duration_matrices=[dist * 0])  # type: ignore[list-item]


def brute(member, weight, distance, vehicles, required):  # noqa: ANN001, ANN201
    """Best prize of the union minus the routes' lengths over every ordered-by-index plan."""
    best = None
    for size in range(1, vehicles + 1):
        for combo in itertools.combinations(range(len(member)), size):
            union = member[list(combo)].max(axis=0) > 0
            if not union[required].all():
                continue
            value = float(weight[union].sum() - distance[list(combo)].sum())
            best = value if best is None else max(best, value)
    return best


def random_case(seed: int, n_routes: int, n_clients: int = 12):  # noqa: ANN201
    rng = np.random.default_rng(seed)
    member = (rng.random((n_routes, n_clients)) < 0.25).astype(float)
    weight = rng.integers(1, 60, n_clients).astype(float)
    distance = rng.integers(0, 80, n_routes).astype(float)
    return member, weight, distance


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("vehicles", [1, 2])
def test_best_plan_is_exact_for_one_and_two_vehicles(seed: int, vehicles: int) -> None:
    member, weight, distance = random_case(seed, 40)
    none = np.zeros(member.shape[1], bool)
    got = best_plan(member, weight, distance, vehicles, none)
    assert got is not None
    assert got[1] == pytest.approx(brute(member, weight, distance, vehicles, none))
    assert len(got[0]) <= vehicles and list(got[0]) == sorted(got[0])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("required", [(), (4,), (1, 7)])
def test_best_plan_with_three_vehicles_matches_brute_force_when_the_beam_holds_all(
    seed: int, required: tuple[int, ...]
) -> None:
    member, weight, distance = random_case(100 + seed, 16, 10)
    mask = np.zeros(10, bool)
    mask[list(required)] = True
    got = best_plan(member, weight, distance, 3, mask, beam=10_000)
    expected = brute(member, weight, distance, 3, mask)
    assert (got is None) == (expected is None)
    if got is not None:
        assert got[1] == pytest.approx(expected)


def test_pack_shortens_overlapping_routes_into_a_feasible_disjoint_plan() -> None:
    """Two routes sharing client 2: the second keeps only what the first lacks."""
    data = line_data(5, 2, limit=10)
    routes = [
        PoolRoute(0, (0, 1, 2), 6, 33),  # clients at 1, 2, 3: length 6
        PoolRoute(0, (2, 3, 4), 10, 42),  # at 3, 4, 5: length 10
    ]
    sol = pack(data, routes)
    assert sol is not None and sol.is_feasible()
    visits = sorted(a.idx for r in sol.routes() for a in r if a.is_client())
    assert visits == [0, 1, 2, 3, 4]  # every client once
    assert sol.prizes() == sum(10 + i for i in range(5))


def test_pack_serves_required_clients_or_gives_none() -> None:
    data = line_data(4, 1, limit=100, required=(3,))
    routes = [PoolRoute(0, (0, 1, 2), 6, 33), PoolRoute(0, (3,), 8, 13)]
    sol = pack(data, routes)
    assert sol is not None
    assert [a.idx for r in sol.routes() for a in r if a.is_client()] == [3]
    assert pack(line_data(4, 1, limit=100, required=(0, 3)), routes) is None


def test_pool_keeps_the_shortest_order_of_each_visit_set_and_bounds_its_size() -> None:
    pool = RoutePool(capacity=4)
    pool.merge([PoolRoute(0, (1, 2), 30, 10), PoolRoute(0, (2, 1), 20, 10)])
    assert [r.visits for r in pool.best(5)] == [(2, 1)]
    pool.merge([PoolRoute(0, (3,), 1, 5), PoolRoute(0, (4,), 1, 50), PoolRoute(0, (5,), 1, 7)])
    assert sorted(r.prize for r in pool.best(5)) == [5, 7, 10, 50]
    assert RoutePool().best(3) == []

    # Past its capacity, add() keeps the best half by prize and each client's best.
    data = line_data(3, 1, limit=100)
    pool = RoutePool(capacity=2, per_client=1)
    for visits in ([0], [1], [0, 1]):
        pool.add(pyvrp.Solution(data, [Route(data, visits, 0)]))
    assert [r.visits for r in pool.routes.values()] == [(0, 1)]
    pool.add(pyvrp.Solution(data, [Route(data, [2], 0)]))
    assert sorted(r.visits for r in pool.routes.values()) == [(0, 1), (2,)]


def test_pool_offers_every_clients_best_routes_not_only_the_richest() -> None:
    # The routes through clients 0-2 are rich, those through client 9 poor: chosen by
    # prize alone (100, 99, 98), a plan could never serve client 9.
    pool = RoutePool(per_client=1)
    sets = [(0, 1, 2), (0, 1), (1, 2), (0, 2), (0,)]
    rich = [PoolRoute(0, v, 10 + i, 100 - i) for i, v in enumerate(sets)]
    pool.merge([*rich, PoolRoute(0, (9,), 4, 3), PoolRoute(0, (9, 8), 6, 5)])
    assert [r.prize for r in pool.best(3)] == [100, 99, 5]
    assert [r.prize for r in pool.best(1)] == [100]
