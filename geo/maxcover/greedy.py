"""Lazy greedy with a fixed tie-break, pruning, and the 1-swap local search."""

from __future__ import annotations

import heapq

import numpy as np

from geo.maxcover.bounds import BoundSet, online_bound
from geo.maxcover.problem import (
    IntArray,
    Problem,
    cover_counts,
)

__all__ = ["heuristic", "lazy_greedy", "local_search", "pick_order", "prune_rows"]


def lazy_greedy(p: Problem, among: IntArray | None = None) -> tuple[list[int], list[float]]:
    """Pick up to ``k`` compatible candidates by largest marginal weight (Minoux 1978).

    Stale heap entries are upper bounds on the current gain because coverage is
    submodular, so a candidate whose gain was recomputed this round and is still on top
    is the true best; ties follow the rank (priority, conflicts, index). ``among``
    restricts the choice to those candidates. Stops early when no candidate adds
    positive weight. Returns the picks in order and the gain of each.
    """
    cover = p.cover
    indptr, indices = cover.indptr, cover.indices
    residual = p.weight.copy()
    if among is None:
        gains = np.asarray(cover @ residual, dtype=np.float64)
        live = np.flatnonzero(gains > p.zero_tol)
        live_gain = gains[live]
    else:
        live_gain = np.asarray(cover[among] @ residual, dtype=np.float64)
        live = among[live_gain > p.zero_tol]
        live_gain = live_gain[live_gain > p.zero_tol]
    heap = list(zip((-live_gain).tolist(), p.rank[live].tolist(), strict=True))
    heapq.heapify(heap)
    blocked = np.zeros(cover.shape[0], dtype=bool)
    # The initial gains are exact for round 0, so they count as fresh.
    fresh_round = np.zeros(cover.shape[0], dtype=np.int64)
    by_rank = p.by_rank
    picked: list[int] = []
    got: list[float] = []
    while heap and len(picked) < p.k:
        neg, r = heapq.heappop(heap)
        j = by_rank[r]
        if blocked[j]:
            continue
        cols = indices[indptr[j] : indptr[j + 1]]
        if fresh_round[j] == len(picked):
            picked.append(j)
            got.append(-neg)
            residual[cols] = 0.0
            if p.nbr is not None:
                blocked[p.nbr.indices[p.nbr.indptr[j] : p.nbr.indptr[j + 1]]] = True
            continue
        gain = float(residual[cols].sum())
        fresh_round[j] = len(picked)
        if gain > p.zero_tol:
            heapq.heappush(heap, (-gain, r))
    return picked, got


def heuristic(
    p: Problem, max_swaps: int, prune: bool, bounds: BoundSet
) -> tuple[list[int], list[int], list[float]]:
    """Run greedy, swaps and pruning; add their online bounds.

    Returns the final set and greedy's own picks and gains (the pick order of the final
    set when nothing changed it).
    """
    picked, got = lazy_greedy(p)
    bounds.add("online", online_bound(p, picked))
    rows = local_search(p, picked, max_swaps) if max_swaps else list(picked)
    rows = prune_rows(p, rows) if prune else rows
    if rows != picked:
        bounds.add("online", online_bound(p, rows))
    return rows, picked, got


def pick_order(p: Problem, rows: list[int]) -> tuple[list[int], list[float]]:
    """Order a set as greedy would pick it, best first; members adding nothing go last."""
    if not rows:
        return [], []
    members = np.array(sorted(rows), dtype=np.int64)
    order, gains = lazy_greedy(p, members)
    taken = set(order)
    rest = [j for j in members[np.argsort(p.rank[members])].tolist() if j not in taken]
    return order + rest, gains + [0.0] * len(rest)


def prune_rows(p: Problem, rows: list[int]) -> list[int]:
    """Drop rows that cover no weight alone, trying the last-listed first.

    One at a time, because two rows that each look redundant may be jointly needed.
    """
    cover = p.cover
    counts = cover_counts(cover, rows)
    kept = list(rows)
    for j in reversed(rows):
        cols = cover.indices[cover.indptr[j] : cover.indptr[j + 1]]
        if float(p.weight[cols[counts[cols] < 2]].sum()) <= p.zero_tol:
            kept.remove(j)
            counts[cols] -= 1
    return kept


def local_search(p: Problem, rows: list[int], max_moves: int) -> list[int]:
    """Improve a solution by best-improvement 1-swaps (Teitz & Bart 1968).

    Each move evaluates every (add j, drop i) pair at once: with ``c`` the number of chosen
    candidates covering each element, dropping ``i`` loses the weight it alone covers and
    adding ``j`` regains the part of that it also covers plus whatever nobody covers. A
    free slot (fewer than ``k`` rows) is filled first. With conflicts, ``j`` may come in
    only if it conflicts with no member but ``i``. Only strict improvements are
    accepted, so the value never decreases and the search stops; ``max_moves`` caps it
    regardless.
    """
    cover, weight = p.cover, p.weight
    current = list(rows)
    for _ in range(max_moves):
        counts = cover_counts(cover, current)
        add_gain = np.asarray(cover @ (weight * (counts == 0)), dtype=np.float64)
        add_gain[current] = -np.inf
        clash = None
        if p.nbr is not None:
            member = np.zeros(cover.shape[0])
            member[current] = 1.0
            clash = np.asarray(p.nbr @ member)
        if len(current) < p.k:
            free = add_gain if clash is None else np.where(clash == 0, add_gain, -np.inf)
            j = int(np.argmax(free))
            if free[j] > p.tol:
                current.append(j)
                continue
            if clash is None:
                # Nothing adds weight: everything coverable is covered.
                break
        if not current:
            break
        alone = weight * (counts == 1)
        open_rows = cover[np.asarray(current)]
        loss = open_rows @ alone
        regained = (cover @ open_rows.multiply(alone[None, :]).T).toarray()
        delta = add_gain[:, None] + regained - loss[None, :]
        if clash is not None and p.nbr is not None:
            with_slot = p.nbr[:, np.asarray(current)].toarray() > 0
            ok = (clash[:, None] == 0) | ((clash[:, None] == 1) & with_slot)
            delta = np.where(ok, delta, -np.inf)
        best_j, slot = np.unravel_index(int(np.argmax(delta)), delta.shape)
        if delta[best_j, slot] <= p.tol:
            break
        current[int(slot)] = int(best_j)
    return current
