"""Weighted maximum coverage: choose at most ``k`` candidates to cover the most weight.

One solver for every "pick k of n" problem in the product: new police posts (MCLP, via
:mod:`geo.allocation`), street lamps (:mod:`geo.lighting`), and the greedy set cover of
LSCP (``k`` = every candidate). The instance is a 0/1 matrix ``cover[j, e]`` (candidate
``j`` covers element ``e``), non-negative element weights, and optionally pairs of
candidates that conflict (two lamps closer than the spacing): a feasible set has at most
``k`` candidates and no conflicting pair. The objective, the weight of the union of the
chosen candidates' elements, is monotone submodular; it is *modular* (a plain sum) when
no element with weight is covered by two candidates.

Methods
-------
``"greedy"`` is lazy greedy (Minoux 1978) with a deterministic tie-break, optionally
followed by a 1-swap local search (Teitz & Bart 1968). ``"exact"`` is a HiGHS MILP
(:func:`scipy.optimize.milp`). ``"auto"`` picks exact while the coverage matrix has at
most :data:`EXACT_MAX_NONZEROS` nonzeros. Whatever the method, the result carries a
proven upper bound on the optimum, the gap to it, and the worst-case guarantee that
holds for the instance, so a heuristic answer is never presented without its quality.

Everything is deterministic: ties follow a fixed order and HiGHS's branch-and-bound is
deterministic for a given model, so the same input gives the same result.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
from scipy import sparse

from geo import validate
from geo.errors import AllocationError
from geo.maxcover.bounds import BoundSet, lp_bound, online_bound, solve_exact
from geo.maxcover.greedy import heuristic, pick_order, prune_rows
from geo.maxcover.problem import (
    EXACT_MAX_NONZEROS,
    LP_MAX_NONZEROS,
    METHODS,
    REL_TOL,
    IntArray,
    Method,
    SolvedBy,
    check_choice,
    make_problem,
    value_of,
)
from geo.maxcover.result import MaxCoverResult, make_result

__all__ = [
    "EXACT_MAX_NONZEROS",
    "LP_MAX_NONZEROS",
    "MaxCoverResult",
    "Method",
    "SolvedBy",
    "prune",
    "solve_max_cover",
]


def solve_max_cover(
    cover: sparse.sparray | sparse.spmatrix | npt.ArrayLike,
    weight: npt.ArrayLike,
    k: int,
    *,
    conflicts: npt.ArrayLike | None = None,
    priority: npt.ArrayLike | None = None,
    method: Method = "greedy",
    max_swaps: int = 0,
    prune: bool = True,
    time_limit_s: float = 60.0,
    exact_max_nonzeros: int = EXACT_MAX_NONZEROS,
    lp_max_nonzeros: int | None = LP_MAX_NONZEROS,
) -> MaxCoverResult:
    """Choose at most ``k`` pairwise compatible candidates covering the most weight.

    Parameters
    ----------
    cover
        ``(n_candidates, n_elements)`` 0/1 matrix, best a :class:`scipy.sparse.csr_array`
        (any scipy sparse matrix or dense array is converted): 1 where the candidate
        covers the element.
    weight
        ``(n_elements,)`` finite weights >= 0. An element counts once however many
        chosen candidates cover it.
    k
        Most candidates to choose, >= 0 (may exceed ``n_candidates``).
    conflicts
        ``(n_pairs, 2)`` candidate index pairs that cannot both be chosen (order and
        repeats do not matter); None or empty for none.
    priority
        ``(n_candidates,)`` or ``(n_candidates, n_keys)`` finite numbers breaking ties
        between candidates of equal marginal gain: higher wins, the columns compared in
        order; then fewer conflicts wins, then the lowest index. Without it ties go to
        fewer conflicts, then the lowest index. The tie-break decides between exactly
        equal gains only, so it never lowers the guarantees.
    method
        ``"greedy"``: lazy greedy (Minoux 1978): stale priority-queue entries
        over-estimate a candidate's gain (submodularity), so one recomputed this round
        and still on top is the true best; a candidate conflicting with a chosen one is
        skipped. ``"exact"``: MILP solved by HiGHS (candidates binary; element coverage
        continuous in [0, 1], which is 0/1 at the optimum once candidates are integral,
        and saves HiGHS from branching on it; ``sum x <= k``; ``x_i + x_j <= 1`` per
        conflict). If the time limit stops HiGHS, the better of its incumbent and the
        greedy answer (with swaps) is returned, ``optimal=False``. ``"auto"``: exact
        while ``cover`` has at most ``exact_max_nonzeros`` nonzeros, else greedy.
    max_swaps
        Cap on 1-swap local-search moves after greedy (0 for none): best improvement
        over every (add, drop) pair at once (Teitz & Bart 1968), a free slot filled
        first; with conflicts only swaps keeping the set conflict-free. Only strict
        improvements are taken, so the value never drops and the search ends.
    prune
        Drop chosen candidates that cover no weight alone (the last picked first): the
        value is unchanged and each candidate kept adds something. Greedy can pick such
        a candidate when later picks together cover what it did. False keeps the set
        as found.
    time_limit_s
        Wall-clock limit of the solve (the MILP, or greedy's LP bound).
    exact_max_nonzeros
        Size limit for ``method="auto"``; see :data:`EXACT_MAX_NONZEROS`.
    lp_max_nonzeros
        Greedy adds the LP relaxation to its bound while ``cover`` has at most this many
        nonzeros (None: always, within the time limit); see :data:`LP_MAX_NONZEROS`.

    Returns
    -------
    MaxCoverResult
        The picks in order with their gains, the value, a proven bound and the gap, and
        the guarantee that applies.

    Raises
    ------
    AllocationError
        Naming the offending parameter: a matrix that is not 2-D 0/1, weights of the
        wrong shape, negative or not finite, a negative ``k``, conflict pairs out of
        range or pairing a candidate with itself, a priority of the wrong shape, or a
        bad method or limit.

    Notes
    -----
    *Bound.* The smallest of: the total coverable weight; the sum of the ``k`` largest
    single-candidate values; for every set ``S`` found, ``f(S)`` plus the ``k`` largest
    marginal gains on top of it (submodularity; Minoux 1978, Leskovec et al. 2007);
    the LP relaxation (greedy, while cheap); HiGHS's dual bound (exact). None but the
    last two looks at conflicts, which can only lower the optimum.

    *Guarantee* of greedy on this instance (swaps and pruning never lower the value):

    - no conflicts: at least ``1 - 1/e`` of the optimum (monotone submodular coverage,
      Nemhauser, Wolsey & Fisher 1978); optimal when the coverage is modular (no
      element with weight covered by two candidates): greedy takes the ``k`` best;
    - conflicts: the feasible sets form a ``d``-system, ``d`` the most conflicts of
      one candidate among those with value, and greedy gets ``1/(d + 1)`` of the
      optimum (Fisher, Nemhauser & Wolsey 1978, part II), ``1/d`` when the coverage is
      modular (Jenkyns 1976): optimal when ``d = 1`` (a matroid).

    Exact proved optimal reports "optimal (MILP ...)"; stopped by the time limit, it
    returns an answer at least as good as greedy's and so keeps greedy's guarantee.
    """
    start = time.perf_counter()
    p = make_problem(cover, weight, k, conflicts, priority)
    check_choice("method", method, METHODS)
    max_swaps = validate.count("max_swaps", max_swaps, AllocationError)
    if not isinstance(prune, bool | np.bool_):
        msg = f"prune must be True or False, got {prune!r}"
        raise AllocationError(msg)
    deadline = start + validate.positive("time_limit_s", time_limit_s, AllocationError, unit="s")
    exact_limit = validate.count("exact_max_nonzeros", exact_max_nonzeros, AllocationError)
    lp_limit = (
        None
        if lp_max_nonzeros is None
        else validate.count("lp_max_nonzeros", lp_max_nonzeros, AllocationError)
    )
    nnz = int(p.cover.nnz)
    used: SolvedBy = (
        "greedy" if method == "greedy" or (method == "auto" and nnz > exact_limit) else "exact"
    )

    if p.k == 0 or len(p.useful) == 0:
        return make_result(p, [], [], used, 0.0, "total weight", True, start, nothing=True)

    bounds = BoundSet()
    bounds.add("total weight", p.coverable)
    bounds.add("top-k singletons", float(np.sort(p.single)[::-1][: p.k].sum()))
    greedy_order: list[int] | None = None
    greedy_gains: list[float] = []
    timed_out = False
    if used == "exact":
        rows, proven, dual = solve_exact(p, deadline)
        bounds.add("HiGHS dual bound", dual)
        if rows is not None:
            rows = prune_rows(p, rows) if prune else rows
            bounds.add("online", online_bound(p, rows))
        if proven and rows is not None:
            final = rows
        else:
            timed_out = True
            # Stopped by the time limit: greedy may beat the incumbent (or stand in for a
            # missing one).
            fallback, greedy_order, greedy_gains = heuristic(p, max_swaps, prune, bounds)
            lp_bound(p, bounds, deadline, lp_limit, value_of(p, fallback))
            if rows is None or value_of(p, fallback) > value_of(p, rows):
                final, used = fallback, "greedy"
            else:
                final = rows
    else:
        final, greedy_order, greedy_gains = heuristic(p, max_swaps, prune, bounds)
        lp_bound(p, bounds, deadline, lp_limit, value_of(p, final))

    if final == greedy_order:
        order, gains = final, greedy_gains
    else:
        order, gains = pick_order(p, final)
    value = value_of(p, order)
    bound, source = bounds.best()
    if used == "exact" or timed_out:
        optimal = not timed_out
    else:
        optimal = value >= bound - REL_TOL * max(bound, 1.0)
    return make_result(p, order, gains, used, bound, source, optimal, start, timed_out=timed_out)


def prune(
    cover: sparse.sparray | sparse.spmatrix | npt.ArrayLike,
    weight: npt.ArrayLike,
    chosen: npt.ArrayLike,
) -> IntArray:
    """Drop chosen candidates that cover no weight alone, trying the last-listed first.

    One at a time, because two candidates that each look redundant may be jointly needed.
    The covered weight does not change.

    Parameters
    ----------
    cover, weight
        The instance, as for :func:`solve_max_cover`.
    chosen
        Distinct candidate indices, in the order they were chosen.

    Returns
    -------
    numpy.ndarray
        The candidates kept, in their order in ``chosen``.

    Raises
    ------
    AllocationError
        On a bad matrix or weights, or ``chosen`` not distinct indices of candidates.
    """
    p = make_problem(cover, weight, 0, None, None)
    rows = np.asarray(chosen)
    if rows.ndim != 1 or (rows.size and not np.issubdtype(rows.dtype, np.integer)):
        msg = f"chosen must be a 1-D array of candidate indices, got {rows.dtype} {rows.shape}"
        raise AllocationError(msg)
    n = p.cover.shape[0]
    if np.any((rows < 0) | (rows >= n)) or len(np.unique(rows)) != len(rows):
        msg = f"chosen must hold distinct candidate indices in [0, {n})"
        raise AllocationError(msg)
    return np.asarray(prune_rows(p, rows.astype(np.int64).tolist()), dtype=np.int64)
