"""Tests of the PyVRP-based patrol solver (geo/patrol/solve.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from geo.errors import PatrolError
from geo.patrol.problem import Problem, Vehicle
from geo.patrol.solve import SolverParams, make_pool, solve

FAST = SolverParams(seconds=5.0, iterations=1500, seed=3)


def euclid(xy: np.ndarray) -> np.ndarray:
    return np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))


def tiny(cost_offset: float | None = None) -> Problem:
    """7 clients around one depot (location 0), 2 vehicles with a shift of 9."""
    rng = np.random.default_rng(7)
    xy = np.vstack([[0.0, 0.0], rng.uniform(-3, 3, (7, 2))])
    d = euclid(xy)
    cost = None if cost_offset is None else d + cost_offset * (d > 0)
    prize = rng.integers(1, 20, 7).astype(float)
    fleet = (Vehicle(0, 0, max_duration=9.0), Vehicle(0, 0, max_duration=9.0))
    return Problem(d, np.arange(1, 8), prize, fleet, cost=cost)


def brute_force_prize(problem: Problem) -> float:
    """Best prize over all pairs of disjoint client sets that each fit one shift."""
    n, d, limit = problem.n_clients, problem.duration, problem.fleet[0].limit
    loc = problem.client_loc
    fits = {}
    for mask in range(1 << n):
        members = [i for i in range(n) if mask >> i & 1]
        best = np.inf
        for order in itertools.permutations(members):
            path = [0, *loc[list(order)], 0]
            best = min(best, float(d[path[:-1], path[1:]].sum()))
            if best <= limit:
                break
        fits[mask] = best <= limit + 1e-9
    ok = [m for m, f in fits.items() if f]
    prize = problem.prize
    return max(
        float(sum(prize[i] for i in range(n) if (a | b) >> i & 1))
        for a in ok
        for b in ok
        if not a & b
    )


@pytest.mark.parametrize("cost_offset", [None, 0.5], ids=["distance", "duration"])
def test_tiny_instance_reaches_brute_force_optimum(cost_offset: float | None) -> None:
    """On 7 clients and 2 vehicles, solve collects the enumerated optimum prize.

    With cost equal to duration the length-limited (distance) formulation is used; with
    a different cost the shift (duration) formulation: both must be exact here.
    """
    problem = tiny(cost_offset)
    sol = solve(problem, replace_params(ticks=1000))
    assert sol.prize == pytest.approx(brute_force_prize(problem))


def replace_params(**kw: object) -> SolverParams:
    fields = {**FAST.__dict__, **kw}
    return SolverParams(**fields)  # type: ignore[arg-type]


def test_same_seed_and_iterations_give_same_routes() -> None:
    """Two solves with the same seed and iteration cap return identical routes."""
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 10, (40, 2))
    fleet = (Vehicle(0, 0, max_duration=20.0), Vehicle(0, 39, max_duration=18.0))
    problem = Problem(euclid(xy), np.arange(1, 39), rng.uniform(1, 5, 38), fleet)
    params = replace_params(iterations=800, seed=5)
    a, b = solve(problem, params), solve(problem, params)
    assert all(np.array_equal(x, y) for x, y in zip(a.routes, b.routes, strict=True))
    assert a.prize == b.prize


def test_portfolio_is_deterministic_and_no_worse_than_its_first_worker() -> None:
    """With workers=2 and an iteration cap, repeated solves agree, and the chosen
    solution collects at least what worker 0 alone (the same seed, workers=1) does."""
    rng = np.random.default_rng(12)
    xy = rng.uniform(0, 10, (30, 2))
    fleet = (Vehicle(0, 0, max_duration=15.0),)
    problem = Problem(euclid(xy), np.arange(1, 30), rng.uniform(1, 5, 29), fleet)
    params = replace_params(iterations=500, workers=2, seconds=30.0)
    pool = make_pool(2)
    try:
        a, b = solve(problem, params, pool=pool), solve(problem, params, pool=pool)
    finally:
        pool.shutdown()
    single = solve(problem, replace_params(iterations=500, seconds=30.0))
    assert all(np.array_equal(x, y) for x, y in zip(a.routes, b.routes, strict=True))
    assert a.prize >= single.prize


def test_time_windows_are_respected_and_waiting_is_allowed() -> None:
    """A client whose window opens after the vehicle can arrive is served at its opening
    (the vehicle waits); one whose window closes before it can be reached is left out."""
    d = np.array(
        [
            [0.0, 10.0, 10.0, 50.0],
            [10.0, 0.0, 5.0, 50.0],
            [10.0, 5.0, 0.0, 50.0],
            [50.0, 50.0, 50.0, 0.0],
        ]
    )
    problem = Problem(
        d,
        client_loc=np.array([1, 2, 3]),
        prize=np.array([5.0, 5.0, 100.0]),
        fleet=(Vehicle(0, 0, early=100.0, late=400.0),),
        service=np.array([30.0, 30.0, 0.0]),
        early=np.array([200.0, 0.0, 0.0]),
        late=np.array([260.0, np.inf, 120.0]),  # client 2 cannot be reached by 120
        names=("wait", "free", "too-late"),
    )
    sol = solve(problem, FAST)
    assert set(sol.routes[0].tolist()) == {0, 1}
    sched = sol.schedules()[0]
    k = int(np.flatnonzero(sol.routes[0] == 0)[0])
    assert sched.start[k] == pytest.approx(200.0)
    assert sched.start[k] > sched.arrive[k]
    assert sched.feasible


def test_required_group_of_two_directions_visits_exactly_one() -> None:
    """Of a required group (the two directions of a road, asymmetric times), exactly one
    client is visited, even with no prize, and the cheaper direction is the one chosen."""
    # Locations: 0 depot, 1 road entered at A (ends at B), 2 road entered at B.
    d = np.array([[0.0, 2.0, 9.0], [3.0, 0.0, 1.0], [9.0, 1.0, 0.0]])
    problem = Problem(
        d,
        client_loc=np.array([1, 2]),
        prize=np.array([0.0, 0.0]),
        fleet=(Vehicle(0, 0, max_duration=100.0),),
        group=np.array([0, 0]),
        group_required=np.array([True]),
        names=("road A->B", "road B->A"),
    )
    sol = solve(problem, FAST)
    assert sol.visited.sum() == 1
    assert sol.visited[0]


def test_multi_depot_vehicles_start_and_end_at_their_own_depots() -> None:
    """Two units with their own depots and shifts each serve the clients near their own
    depot (the only feasible split), every route replayed from its own depot."""
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [1, 1], [-1, 1], [1, -1], [101, 1], [99, -1]])
    d = euclid(xy)
    fleet = (
        Vehicle(0, 0, early=0.0, late=10.0, name="west"),
        Vehicle(1, 1, early=50.0, late=60.0, name="east"),
    )
    problem = Problem(d, np.arange(2, 7), np.ones(5), fleet)
    sol = solve(problem, FAST)
    assert set(sol.routes[0].tolist()) == {0, 1, 2}
    assert set(sol.routes[1].tolist()) == {3, 4}
    for k, s in enumerate(sol.schedules()):
        assert s.leave == fleet[k].early
        assert s.feasible


def test_unreachable_required_client_raises_naming_it() -> None:
    """A required client too far for any shift raises PatrolError naming the client."""
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [50.0, 0.0]])
    problem = Problem(
        euclid(xy),
        client_loc=np.array([1, 2]),
        prize=np.array([1.0, 1.0]),
        fleet=(Vehicle(0, 0, max_duration=10.0),),
        required=np.array([False, True]),
        names=("near", "far farm"),
    )
    with pytest.raises(PatrolError, match="far farm"):
        solve(problem, FAST)


def test_required_clients_that_cannot_share_the_fleet_raise() -> None:
    """Two required clients, each reachable alone but not together by the one vehicle,
    raise PatrolError naming the required visits."""
    xy = np.array([[0.0, 0.0], [4.0, 0.0], [-4.0, 0.0]])
    problem = Problem(
        euclid(xy),
        client_loc=np.array([1, 2]),
        prize=np.array([1.0, 1.0]),
        fleet=(Vehicle(0, 0, max_duration=10.0),),
        required=np.array([True, True]),
        names=("east post", "west post"),
    )
    with pytest.raises(PatrolError, match="cannot fit all required visits.*post"):
        solve(problem, FAST)


def test_rounding_never_makes_an_infeasible_route_look_feasible() -> None:
    """Legs of 0.34 and a limit of 1.0 at 10 ticks per unit: rounding to nearest would
    give a 3 + 3 + 3 = 9 <= 10 tick tour of both clients, yet the tour is 1.02 long.
    solve must return one client only, every route fitting in floating point."""
    d = np.array([[0.0, 0.34, 0.34], [0.34, 0.0, 0.34], [0.34, 0.34, 0.0]])
    for cost in (None, d * 2):  # both formulations
        problem = Problem(
            d,
            client_loc=np.array([1, 2]),
            prize=np.array([1.0, 1.0]),
            fleet=(Vehicle(0, 0, max_duration=1.0),),
            cost=cost,
        )
        sol = solve(problem, replace_params(ticks=10.0))
        assert sol.visited.sum() == 1
        assert all(s.feasible for s in sol.schedules())
