"""Proven optima of small Team Orienteering instances, to read the Chao misses against.

Where ours stays below Chao et al.'s score on a small instance, is the solver short, or
is the score out of reach at the limit the file gives? This enumerates every elementary
route that fits the limit (by size, keeping the shortest length of each set of visits
per last node: a route's feasibility depends only on its set and its best order), then
solves the set packing "at most m routes, each client at most once, most prize" exactly
with HiGHS (``scipy.optimize.milp``). It is exact, and practical only while routes stay
short (a few million labels at most).

    .venv/bin/python benchmarks/top_exact.py [p1.3.h p1.3.o ...] [--chao-tmax]

With no names it takes the small instances (n <= 66) where ``patrol_top.py`` measured
ours below Chao. Each line prints the optimum at the file's limit, Chao's score and,
with ``--chao-tmax``, the optimum at the unrounded limit too.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix

sys.path.insert(0, str(Path(__file__).resolve().parent))
from patrol_top import TOP, read_csv, read_instance, unrounded  # noqa: E402

from geo.patrol.problem import EPS  # noqa: E402

MISSES = ["p1.3.h", "p1.3.o", "p2.3.h", "p5.3.e", "p6.4.k"]
LABEL_CAP = 5_000_000


def read(path: Path) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Return the distance matrix, scores (depots' 0 included), m and tmax of an instance."""
    problem, tmax = read_instance(path)
    score = np.concatenate([[0.0], problem.prize, [0.0]])
    return problem.duration, score, len(problem.fleet), tmax


def routes(dist: np.ndarray, tmax: float) -> list[int]:
    """Return the visit sets (bit masks over clients 1..n-2) of every route within tmax."""
    n = len(dist)
    end = n - 1
    clients = [c for c in range(1, end) if dist[0, c] + dist[c, end] <= tmax + EPS]
    level: dict[tuple[int, int], float] = {(1 << c, c): dist[0, c] for c in clients}
    found = {mask for mask, _ in level}
    total = len(level)
    while level:
        nxt: dict[tuple[int, int], float] = {}
        for (mask, last), length in level.items():
            for c in clients:
                if mask >> c & 1:
                    continue
                grown = length + dist[last, c]
                if grown + dist[c, end] > tmax + EPS:
                    continue
                key = (mask | 1 << c, c)
                if grown < nxt.get(key, np.inf):
                    nxt[key] = grown
        total += len(nxt)
        if total > LABEL_CAP:
            msg = f"more than {LABEL_CAP} labels: routes too long for enumeration"
            raise RuntimeError(msg)
        found.update(mask for mask, _ in nxt)
        level = nxt
    return sorted(found)


def optimum(dist: np.ndarray, score: np.ndarray, m: int, tmax: float) -> tuple[int, int]:
    """Return the best total score of at most m disjoint routes, and the number of routes."""
    sets = routes(dist, tmax)
    if not sets:
        return 0, 0
    n = len(dist)
    rows, cols = [], []
    for j, mask in enumerate(sets):
        for c in range(1, n - 1):
            if mask >> c & 1:
                rows.append(c - 1)
                cols.append(j)
    a = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n - 2, len(sets)))
    value = np.asarray(a.T @ score[1 : n - 1]).ravel()
    cons = [
        LinearConstraint(a, -np.inf, 1),
        LinearConstraint(np.ones((1, len(sets))), -np.inf, m),
    ]
    res = milp(-value, constraints=cons, integrality=np.ones(len(sets)), bounds=Bounds(0, 1))
    if not res.success:
        msg = f"HiGHS did not prove an optimum: {res.message}"
        raise RuntimeError(msg)
    return round(-res.fun), len(sets)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="instances (default: the small Chao misses)")
    ap.add_argument("--chao-tmax", action="store_true", help="also at the unrounded limit")
    args = ap.parse_args()
    if not (TOP / "chao1996_results.csv").is_file():
        print(f"skipped: the TOP benchmark folder {TOP} is absent")
        return
    chao = read_csv("chao1996_results.csv", "chao_score")
    for name in args.names or MISSES:
        dist, score, m, tmax = read(TOP / "instances" / f"{name}.txt")
        t0 = time.perf_counter()
        best, count = optimum(dist, score, m, tmax)
        secs = time.perf_counter() - t0
        line = f"{name}: optimum {best} at tmax {tmax} ({count} routes, {secs:.1f} s)"
        line += f"; Chao {chao[name]}"
        if args.chao_tmax:
            full = unrounded(tmax, m)
            best2, _ = optimum(dist, score, m, full)
            line += f"; optimum {best2} at tmax {full:.4f}"
        verdict = "out of reach at the file's tmax" if chao[name] > best else "reachable"
        print(f"{line}: Chao's score {verdict}", flush=True)


if __name__ == "__main__":
    main()
