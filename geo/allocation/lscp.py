"""LSCP: open the fewest new sites so that every demand point is covered within a threshold.

The cover is solved first (HiGHS set-covering MILP, or greedy set cover, which is
:func:`geo.maxcover.solve_max_cover` with no limit on the count); the total-time
tiebreak among covers of that size is :mod:`geo.allocation.tiebreak`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from geo.allocation.instance import (
    METHODS,
    TIEBREAKS,
    Reduced,
    Tiebreak,
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
from geo.allocation.results import LscpResult
from geo.allocation.tiebreak import lscp_tiebreak, time_swaps
from geo.maxcover import EXACT_MAX_NONZEROS, Method, SolvedBy, prune, solve_max_cover

__all__ = ["solve_lscp"]


def solve_lscp(
    times: npt.ArrayLike,
    threshold_min: float,
    *,
    existing: npt.ArrayLike | None = None,
    candidate_ids: Sequence[str] | None = None,
    demand_ids: Sequence[str] | None = None,
    method: Method = "auto",
    tiebreak: Tiebreak = "total_time",
    time_limit_s: float = 60.0,
    exact_max_nonzeros: int = EXACT_MAX_NONZEROS,
    progress: Callable[[str], None] | None = None,
) -> LscpResult:
    """Open the fewest new sites so that every demand point is covered within a threshold.

    Location set covering problem (Toregas et al. 1971) with the existing stations fixed
    open. Demand points that no candidate or existing station reaches are not dropped
    silently: they are reported in ``uncoverable`` (``feasible`` is False), the rest are
    covered, and :meth:`LscpResult.raise_if_infeasible` raises naming them.

    Parameters
    ----------
    times
        ``(n_candidates, n_demand)`` travel times in minutes; NaN or +inf where unreachable.
    threshold_min
        Coverage threshold T in minutes (inclusive).
    existing
        ``(n_existing, n_demand)`` travel times from existing stations, kept open.
    candidate_ids, demand_ids
        Optional ids carried into the result (and into the infeasibility message).
    method
        ``"exact"``: set-covering MILP solved by HiGHS. ``"greedy"``: classic greedy set
        cover (repeatedly open the site covering most uncovered points, lowest index on
        ties, then drop sites made redundant), which opens at most H(d) <= 1 + ln d times
        the minimum, d being the most points one site covers (Johnson 1974; Chvátal 1979);
        the bound is the rounded-up LP relaxation. ``"auto"``: exact while the coverage
        matrix of the points left to cover has at most ``exact_max_nonzeros`` nonzeros.
    tiebreak
        ``"total_time"``: among covers with the same number of sites, prefer one
        minimising the sum over covered points of the travel time from their nearest open
        site (existing or new). The count always comes first, by construction rather than
        by weighting: the cover is solved first, then only count-preserving moves are
        made. A swap search (1-interchange on the p-median objective, restricted to
        covers) shortens times in either method; in exact mode, while the assignment
        model has at most 5,000 (candidate, point) pairs, a second MILP then minimises
        total time subject to exactly that many sites and proves it
        (``tiebreak_proven``); beyond that size the covering p-median it becomes gets
        slow fast. This lexicographic second stage replaces the textbook epsilon weight
        ``min sites + eps * time``: eps would have to stay below 1 / (largest possible
        total time, n_demand * threshold) so no site is ever traded for time, which for
        a county pushes time differences down to HiGHS's 1e-6 absolute gap tolerance,
        and a time limit inside the combined model could return a non-minimal count.
        ``"none"`` keeps the cover as solved.
    time_limit_s
        Wall-clock limit shared by the HiGHS stages (or greedy's LP bound).
    exact_max_nonzeros
        Size limit for ``method="auto"``; see :data:`EXACT_MAX_NONZEROS`.
    progress
        Called with a line of text when the instance is built and reduced, when the
        cover is found and when the tiebreak ends (with the seconds each took).

    Returns
    -------
    LscpResult
        Sites, the uncoverable points, per-point nearest open site, and bound/gap.

    Raises
    ------
    AllocationError
        Naming the offending parameter: inconsistent shapes, empty inputs, negative times,
        a non-positive or non-finite threshold, a bad method, tiebreak or limit.
    """
    start = time.perf_counter()
    say = progress or _quiet
    inst = make_instance(times, existing, threshold_min, candidate_ids, demand_ids)
    check_choice("method", method, METHODS)
    check_choice("tiebreak", tiebreak, TIEBREAKS)
    deadline = start + check_positive("time_limit_s", time_limit_s)
    limit = check_count("exact_max_nonzeros", exact_max_nonzeros)

    by_candidate = inst.reach.any(axis=0)
    uncoverable = np.flatnonzero(~by_candidate & ~inst.existing_covered)
    need = by_candidate & ~inst.existing_covered
    used = resolve(method, nnz(inst.reach, need), limit)
    picked: list[int] = []
    optimal, bound = True, 0.0
    if need.any():
        red = merge_duplicates(inst.reach[:, need], np.ones(int(need.sum())))
        n_cand, n_dem = inst.times.shape
        say(
            f"LSCP instance: {n_cand:,} candidates x {n_dem:,} demand points, "
            f"{int(need.sum()):,} left to cover; reduced to {red.cover.shape[0]:,} x "
            f"{red.cover.shape[1]:,} ({red.cover.nnz:,} nonzeros) in "
            f"{time.perf_counter() - start:.2f} s; solving by {used}"
        )
        if used == "exact":
            rows, optimal, bound, used = _lscp_exact(red, deadline)
            picked = red.cand[rows].tolist()
        else:
            rows = _greedy_cover(red, deadline)
            lp = _lscp_lp_bound(red, deadline)
            bound = float(max(math.ceil(lp - 1e-6), 1))
            optimal = len(rows) <= bound
            picked = red.cand[rows].tolist()
    say(f"LSCP cover found by {used} in {time.perf_counter() - start:.2f} s: {len(picked)} site(s)")
    time_proven = False
    if tiebreak == "total_time":
        if used == "exact":
            picked, time_proven = lscp_tiebreak(inst, picked, deadline)
        else:
            picked = time_swaps(inst, picked, deadline)
    chosen = np.array(sorted(picked), dtype=np.int64)

    covered, site, is_existing, site_time = assign(inst, chosen)
    elapsed = time.perf_counter() - start
    if tiebreak == "total_time":
        say(f"LSCP travel-time tiebreak done in {elapsed:.2f} s in all")
    n = len(chosen)
    bound = min(bound, n)
    return LscpResult(
        chosen=chosen,
        covered=covered,
        site=site,
        site_is_existing=is_existing,
        site_time_min=site_time,
        method=used,
        optimal=optimal,
        bound=bound,
        gap=(n - bound) / n if n > 0 else 0.0,
        solve_time_s=elapsed,
        candidate_ids=inst.candidate_ids,
        demand_ids=inst.demand_ids,
        threshold_min=inst.threshold,
        uncoverable=uncoverable,
        tiebreak=tiebreak,
        tiebreak_proven=time_proven,
        total_time_min=float(site_time[covered].sum()),
    )


def _lscp_exact(red: Reduced, deadline: float) -> tuple[list[int], bool, float, SolvedBy]:
    """Solve the minimum set cover of the reduced instance.

    Returns the rows, whether their count is proven minimal, a lower bound on the count and
    the method that produced the rows.
    """
    m = red.cover.shape[0]
    cons = LinearConstraint(red.cover.T.tocsr(), 1.0, np.inf)
    res = milp(
        np.ones(m),
        constraints=cons,
        integrality=np.ones(m),
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": remaining(deadline), "mip_rel_gap": 0.0},
    )
    rows = (
        [] if res.x is None else prune(red.cover, red.weight, np.flatnonzero(res.x > 0.5)).tolist()
    )
    dual = res.mip_dual_bound
    # Counts are integers, so a fractional dual bound rounds up (minus float slack).
    bound = float(math.ceil(dual - 1e-6)) if dual is not None and math.isfinite(dual) else 0.0
    if res.status == 0:
        return rows, True, bound, "exact"
    # Stopped by the time limit: greedy always finds a cover, and may beat the incumbent.
    fallback = _greedy_cover(red, deadline)
    if res.x is None or len(fallback) < len(rows):
        return fallback, len(fallback) <= bound, bound, "greedy"
    return rows, len(rows) <= bound, bound, "exact"


def _greedy_cover(red: Reduced, deadline: float) -> list[int]:
    """Return the greedy set cover of the reduced instance, redundant sites dropped.

    Greedy max cover with no limit on the count runs until every point is covered: that
    is the greedy set cover (Johnson 1974; Chvátal 1979). Its bound is not needed here.
    """
    res = solve_max_cover(
        red.cover,
        red.weight,
        red.cover.shape[0],
        method="greedy",
        time_limit_s=remaining(deadline),
        lp_max_nonzeros=0,
    )
    return res.chosen.tolist()


def _lscp_lp_bound(red: Reduced, deadline: float) -> float:
    """Lower-bound the reduced set cover by its LP relaxation (0 when the LP is not solved).

    Interior point, as for the max-cover LP bound: on the coverage LPs measured (15k-60k
    nonzeros) it ran 2-4.5x faster than HiGHS's dual simplex.
    """
    m, g = red.cover.shape
    res = linprog(
        np.ones(m),
        A_ub=-red.cover.T.tocsr(),
        b_ub=-np.ones(g),
        bounds=(0.0, 1.0),
        method="highs-ipm",
        options={"time_limit": remaining(deadline)},
    )
    return float(res.fun) if res.status == 0 else 0.0


def _quiet(_message: str) -> None:
    """Say nothing: the default progress callback."""
