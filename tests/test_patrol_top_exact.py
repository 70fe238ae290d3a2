"""The exact Team Orienteering check (benchmarks/top_exact.py) and the solver against it."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not installed
from benchmarks.patrol_top import TICKS, TOP, read_csv, read_instance  # noqa: E402
from benchmarks.top_exact import optimum, read  # noqa: E402
from geo.patrol.solve import SolverParams, solve  # noqa: E402


def brute(dist: np.ndarray, score: np.ndarray, m: int, tmax: float) -> int:
    """Best score over every assignment of clients to m routes (or none), best order each."""
    n = len(dist)
    clients = range(1, n - 1)

    def fits(route: tuple[int, ...]) -> bool:
        for order in itertools.permutations(route):
            path = (0, *order, n - 1)
            if sum(dist[a, b] for a, b in itertools.pairwise(path)) <= tmax + 1e-9:
                return True
        return False

    best = 0
    for labels in itertools.product(range(m + 1), repeat=n - 2):
        routes = [
            tuple(c for c, lab in zip(clients, labels, strict=True) if lab == k)
            for k in range(1, m + 1)
        ]
        if all(fits(r) for r in routes if r):
            best = max(best, int(sum(score[c] for r in routes for c in r)))
    return best


@pytest.mark.parametrize(("seed", "extra"), [(0, 12), (0, 14), (1, 12), (1, 14)])
def test_route_enumeration_and_packing_match_brute_force(seed: int, extra: float) -> None:
    # Limits where neither every client nor a single one is the answer.
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10, (7, 2))
    dist = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    score = np.concatenate([[0], rng.integers(1, 20, 5), [0]]).astype(float)
    tmax = float(dist[0, -1] + extra)
    assert optimum(dist, score, 2, tmax)[0] == brute(dist, score, 2, tmax)


@pytest.mark.parametrize("name", ["p1.3.h", "p2.3.h", "p5.3.e"])
def test_solver_reaches_the_proven_optimum_where_chaos_score_is_out_of_reach(name: str) -> None:
    path = TOP / "instances" / f"{name}.txt"
    if not path.is_file():
        pytest.skip(f"the TOP benchmark file {path} is absent")
    dist, score, m, tmax = read(path)
    best, _ = optimum(dist, score, m, tmax)
    assert best < read_csv("chao1996_results.csv", "chao_score")[name]
    problem, _ = read_instance(path)
    sol = solve(problem, SolverParams(seconds=60, iterations=3000, ticks=TICKS, seed=0))
    assert round(sol.prize) == best
