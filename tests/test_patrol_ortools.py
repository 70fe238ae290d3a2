"""The road benchmark's OR-Tools baseline (benchmarks/patrol_roads.py) against ours."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

from geo.patrol.problem import Problem, Vehicle
from geo.patrol.solve import SolverParams, solve

pytest.importorskip("ortools")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not installed
from benchmarks.patrol_roads import ortools_solve  # noqa: E402

TICKS = 1000.0


def windowed() -> Problem:
    """6 clients around a depot, dwell 1, one window; 2 vehicles, shifts of 12 and 9."""
    rng = np.random.default_rng(11)
    xy = np.vstack([[0.0, 0.0], rng.uniform(-3, 3, (6, 2))])
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    prize = np.array([9.0, 4.0, 7.0, 3.0, 8.0, 5.0])
    early = np.zeros(6)
    late = np.full(6, np.inf)
    early[4], late[4] = 6.0, 7.0  # it costs 4 of the prize: see the first test
    fleet = (Vehicle(0, 0, max_duration=12.0), Vehicle(0, 0, max_duration=9.0))
    return Problem(d, np.arange(1, 7), prize, fleet, service=np.ones(6), early=early, late=late)


def brute_force_prize(problem: Problem) -> float:
    """Best prize over disjoint client sets, each in some order feasible for its vehicle."""
    n = problem.n_clients
    fits = np.zeros((len(problem.fleet), 1 << n), bool)
    for k in range(len(problem.fleet)):
        for mask in range(1 << n):
            members = [i for i in range(n) if mask >> i & 1]
            fits[k, mask] = any(
                problem.schedule(k, np.array(order, np.int64)).feasible
                for order in itertools.permutations(members)
            )
    prize = [sum(problem.prize[i] for i in range(n) if m >> i & 1) for m in range(1 << n)]
    return max(
        prize[a] + prize[b]
        for a in range(1 << n)
        if fits[0, a]
        for b in range(1 << n)
        if fits[1, b] and not a & b
    )


@pytest.fixture(scope="module")
def problem() -> Problem:
    return windowed()


def test_instance_is_a_real_choice(problem):
    """Not every client fits, and the window lowers the best prize: a real selection."""
    free = Problem(
        problem.duration, problem.client_loc, problem.prize, problem.fleet, problem.service
    )
    assert brute_force_prize(problem) < brute_force_prize(free) < problem.prize.sum()


def test_ortools_and_ours_reach_the_brute_force_prize(problem):
    """OR-Tools' GLS and our solver both collect the best prize, every route fitting in floats."""
    best = brute_force_prize(problem)
    ort = ortools_solve(problem, 0.5, ticks=TICKS)
    ours = solve(problem, SolverParams(seconds=2, iterations=500, seed=0, ticks=TICKS))
    assert ort.prize == pytest.approx(best)
    assert ours.prize == pytest.approx(best)
    for sol in (ort, ours):
        for k, r in enumerate(sol.routes):
            assert not len(r) or problem.schedule(k, r).feasible


def test_ortools_keeps_required_visits_and_groups():
    """A required client is always visited, and at most one client of a group."""
    p = windowed()
    group = np.array([-1, -1, -1, 0, 0, -1])
    required = np.array([False, True, False, False, False, False])
    q = Problem(
        p.duration,
        p.client_loc,
        p.prize,
        p.fleet,
        service=p.service,
        early=p.early,
        late=p.late,
        group=group,
        group_required=np.array([True]),
        required=required,
    )
    sol = ortools_solve(q, 0.5, ticks=TICKS)  # Solution checks the rest itself
    assert sol.visited[1]
    assert sol.visited[3] != sol.visited[4]
