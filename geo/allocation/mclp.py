"""MCLP: open ``k`` new sites to maximise the demand covered within a threshold.

The location model lives here (existing stations, thresholds, reductions, the per-point
assignment); the max-cover search itself, greedy, swaps, bounds and the MILP, is
:func:`geo.maxcover.solve_max_cover`, the product's one max-cover solver.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from geo import validate
from geo.allocation.instance import (
    METHODS,
    FloatArray,
    assign,
    check_choice,
    check_count,
    check_positive,
    make_instance,
    merge_duplicates,
    nnz,
    remaining,
    resolve,
)
from geo.allocation.results import MclpResult
from geo.errors import AllocationError
from geo.maxcover import EXACT_MAX_NONZEROS, Method, solve_max_cover

__all__ = ["solve_mclp"]


def solve_mclp(
    times: npt.ArrayLike,
    demand: npt.ArrayLike | None,
    k: int,
    threshold_min: float,
    *,
    existing: npt.ArrayLike | None = None,
    candidate_ids: Sequence[str] | None = None,
    demand_ids: Sequence[str] | None = None,
    method: Method = "auto",
    time_limit_s: float = 60.0,
    max_swaps: int = 200,
    exact_max_nonzeros: int = EXACT_MAX_NONZEROS,
    progress: Callable[[str], None] | None = None,
) -> MclpResult:
    """Open ``k`` new sites that maximise the demand covered within a travel-time threshold.

    Maximal covering location problem (Church & ReVelle 1974) with the existing stations
    fixed open: demand they already cover counts as covered but gains nothing.

    Parameters
    ----------
    times
        ``(n_candidates, n_demand)`` travel times in minutes from each candidate site to
        each demand point; NaN or +inf where unreachable.
    demand
        ``(n_demand,)`` non-negative weights (population, households); None for all ones.
    k
        Number of new sites, 0 <= k <= n_candidates. Sites adding no covered demand are not
        opened, so fewer than k are when fewer already cover every coverable point with
        positive weight (not necessarily the fewest possible: that is :func:`solve_lscp`).
    threshold_min
        Coverage threshold T in minutes; a point is covered when an open site reaches it
        in at most T.
    existing
        ``(n_existing, n_demand)`` travel times from the existing stations, kept open; None
        or zero rows for none.
    candidate_ids, demand_ids
        Optional ids carried into the result.
    method
        ``"exact"``: MILP with binary site variables solved by HiGHS to proven optimality
        (coverage variables are continuous in [0, 1]: with integral sites the optimum sets
        them to 0/1 anyway, and it saves HiGHS from branching on them). If the time limit
        stops it first, the better of its incumbent and the greedy solution is returned
        with ``optimal=False`` and HiGHS's dual bound. ``"greedy"``: lazy greedy, whose
        value is at least (1 - 1/e) ~ 63% of the optimum because coverage is monotone
        submodular (Nemhauser, Wolsey & Fisher 1978), then 1-swap local search; the bound
        is the smallest of the LP relaxation, the submodular online bound and the sum of
        the k largest single-site gains (:func:`geo.maxcover.solve_max_cover`). ``"auto"``:
        exact while the coverage matrix of the points left to cover has at most
        ``exact_max_nonzeros`` nonzeros, else greedy.
    time_limit_s
        Wall-clock limit for HiGHS (the MILP, or the LP bound of greedy).
    max_swaps
        Cap on local-search moves after greedy.
    exact_max_nonzeros
        Size limit for ``method="auto"``; see :data:`geo.maxcover.EXACT_MAX_NONZEROS`.
    progress
        Called with a line of text when the instance is built and reduced, and when it
        is solved (with the seconds each took).

    Returns
    -------
    MclpResult
        Sites, coverage, assignment of each point to its nearest open site, and bound/gap.

    Raises
    ------
    AllocationError
        Naming the offending parameter: inconsistent shapes, empty inputs, negative times
        or demand, k outside [0, n_candidates], a non-positive or non-finite threshold, a
        bad method or limit.
    """
    start = time.perf_counter()
    say = progress or _quiet
    inst = make_instance(times, existing, threshold_min, candidate_ids, demand_ids)
    n_cand, n_dem = inst.times.shape
    w = _demand_weights(demand, n_dem)
    k = check_count("k", k, n_cand)
    check_choice("method", method, METHODS)
    deadline = start + check_positive("time_limit_s", time_limit_s)
    max_swaps = check_count("max_swaps", max_swaps)
    limit = check_count("exact_max_nonzeros", exact_max_nonzeros)

    # Only points with weight, not yet covered, and reachable by some candidate can gain.
    open_points = (w > 0) & ~inst.existing_covered & inst.reach.any(axis=0)
    used = resolve(method, nnz(inst.reach, open_points), limit)
    picked: list[int] = []
    optimal, bound = True, 0.0
    if k > 0 and open_points.any():
        red = merge_duplicates(inst.reach[:, open_points], w[open_points])
        say(
            f"MCLP instance: {n_cand:,} candidates x {n_dem:,} demand points, "
            f"{int(open_points.sum()):,} left to cover; reduced to {red.cover.shape[0]:,} x "
            f"{red.cover.shape[1]:,} ({red.cover.nnz:,} nonzeros) in "
            f"{time.perf_counter() - start:.2f} s; solving by {used}"
        )
        # No size cap on the LP bound: the time limit is the budget here, as it always was.
        res = solve_max_cover(
            red.cover,
            red.weight,
            k,
            method=used,
            max_swaps=max_swaps,
            time_limit_s=remaining(deadline),
            lp_max_nonzeros=None,
        )
        picked = red.cand[res.chosen].tolist()
        optimal, bound, used = res.optimal, res.bound, res.method
    chosen = np.array(sorted(picked), dtype=np.int64)

    covered, site, is_existing, site_time = assign(inst, chosen)
    elapsed = time.perf_counter() - start
    say(f"MCLP solved by {used} in {elapsed:.2f} s: {len(chosen)} new site(s)")
    total = float(w.sum())
    existing_demand = float(w[inst.existing_covered].sum())
    covered_demand = float(w[covered].sum())
    gain = float(w[covered & ~inst.existing_covered].sum())
    bound = max(bound, gain)
    return MclpResult(
        chosen=chosen,
        covered=covered,
        site=site,
        site_is_existing=is_existing,
        site_time_min=site_time,
        method=used,
        optimal=optimal,
        bound=bound,
        gap=(bound - gain) / bound if bound > 0 else 0.0,
        solve_time_s=elapsed,
        candidate_ids=inst.candidate_ids,
        demand_ids=inst.demand_ids,
        k=k,
        total_demand=total,
        existing_demand=existing_demand,
        covered_demand=covered_demand,
        gain=gain,
        newly_covered=np.flatnonzero(covered & ~inst.existing_covered),
    )


def _demand_weights(demand: npt.ArrayLike | None, n_dem: int) -> FloatArray:
    if demand is None:
        return np.ones(n_dem)
    return validate.weights("demand", demand, n_dem, AllocationError, against="times")


def _quiet(_message: str) -> None:
    """Say nothing: the default progress callback."""
