"""The LSCP tiebreak: among covers with the fewest sites, one of least total travel time.

Package-internal, used by :func:`geo.allocation.solve_lscp`: a swap search that keeps
the count and full coverage (:func:`time_swaps`), then, while small enough, a covering
p-median MILP that proves the least total time (:func:`lscp_tiebreak`).
"""

from __future__ import annotations

import time
from typing import Final

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from geo.allocation.instance import REL_TOL, FloatArray, Instance, IntArray, assign, remaining

__all__ = ["lscp_tiebreak", "time_swaps"]

#: Cap on the count-preserving swaps that shorten travel times in the LSCP tiebreak.
_TIME_SWAP_MAX_MOVES: Final = 200
#: The exact LSCP tiebreak has one variable and one row per (candidate, point) pair that
#: could serve a point faster than today. Fixing the count makes it a covering p-median,
#: much harder than the cover itself: HiGHS took 0.1 s at 2.5k pairs, 1.5 s at 6k and 20 s
#: at 8k, so beyond this size the swap search result is kept (unproven).
_TIEBREAK_EXACT_MAX_PAIRS: Final = 5_000


def _nearest_existing(inst: Instance) -> FloatArray:
    """Return the time from the nearest existing station within the threshold (inf if none)."""
    if inst.existing.shape[0] == 0:
        return np.full(inst.times.shape[1], np.inf)
    return np.min(np.where(inst.existing <= inst.threshold, inst.existing, np.inf), axis=0)


def time_swaps(inst: Instance, picked: list[int], deadline: float) -> list[int]:
    """Cut the total travel time of a cover by 1-swaps that keep its size and full coverage.

    A Teitz & Bart interchange on the p-median objective, restricted to covers. With ``d1``
    and ``d2`` the nearest and second-nearest open times of each point (existing stations
    included, never dropped), swapping candidate ``j`` in for open site ``i`` changes the
    total by ``sum_q min(t_jq, d1_q) - d1_q`` plus, over the points ``i`` serves,
    ``min(t_jq, d2_q) - min(t_jq, d1_q)``; that term is +inf when dropping ``i`` would
    uncover a point ``j`` does not reach, so coverage can never be lost. Best improvement
    per move, until none improves, :data:`_TIME_SWAP_MAX_MOVES` or the deadline.
    """
    if not picked:
        return picked
    points = inst.reach.any(axis=0) | inst.existing_covered
    sites = np.flatnonzero(inst.reach[:, points].any(axis=1))
    tt = np.where(inst.reach[sites][:, points], inst.times[sites][:, points], np.inf)
    t_exist = _nearest_existing(inst)[points]
    cur = np.searchsorted(sites, picked)
    cols = np.arange(tt.shape[1])
    # Every covered point contributes at most the threshold, which bounds the total.
    tol = REL_TOL * max(inst.threshold * tt.shape[1], 1.0)
    for _ in range(_TIME_SWAP_MAX_MOVES):
        if time.perf_counter() > deadline:
            break
        stack = np.vstack([t_exist[None, :], tt[cur]])
        owner = np.argmin(stack, axis=0)
        d1 = stack[owner, cols]
        stack[owner, cols] = np.inf
        d2 = stack.min(axis=0)
        near1 = np.minimum(tt, d1[None, :])
        swing = np.minimum(tt, d2[None, :]) - near1
        delta = np.repeat((near1 - d1[None, :]).sum(axis=1)[:, None], len(cur), axis=1)
        for s in range(len(cur)):
            # Row 0 of the stack is the existing stations, so open site ``s`` is row s + 1.
            delta[:, s] += swing[:, owner == s + 1].sum(axis=1)
        delta[cur, :] = np.inf
        best_j, slot = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if not delta[best_j, slot] < -tol:
            break
        cur[slot] = best_j
    return sites[cur].tolist()


def _tiebreak_model(
    inst: Instance, p: int
) -> tuple[FloatArray, LinearConstraint, FloatArray, FloatArray] | None:
    """Build the MILP minimising total travel time over covers with exactly ``p`` sites.

    Variables: ``x_j`` (site open, binary) then ``z`` (assignment of a point to one of its
    options, continuous: with integral x the assignment has integral optima). A point's
    options are the candidates covering it plus, if an existing station covers it, that
    station as one always-open option; candidates no faster than the station are left
    out, and points no candidate can improve leave the model. Exactly ``p`` sites and
    one option per point force a cover. Returns None when the model would exceed
    :data:`_TIEBREAK_EXACT_MAX_PAIRS` (or has nothing to decide).
    """
    n_cand = inst.times.shape[0]
    t_exist = _nearest_existing(inst)
    options = inst.reach & (inst.times < t_exist[None, :])
    points = np.flatnonzero(options.any(axis=0))
    j_idx, pt = np.nonzero(options[:, points])
    if len(points) == 0 or len(j_idx) > _TIEBREAK_EXACT_MAX_PAIRS:
        return None
    e_pt = np.flatnonzero(np.isfinite(t_exist[points]))
    n_pairs, n_e, n_pts = len(j_idx), len(e_pt), len(points)
    n_var = n_cand + n_pairs + n_e
    z = n_cand + np.arange(n_pairs + n_e)
    one_option = sparse.csr_array(
        (np.ones(n_pairs + n_e), (np.concatenate([pt, e_pt]), z)), shape=(n_pts, n_var)
    )
    link = sparse.csr_array(
        (
            np.concatenate([np.ones(n_pairs), -np.ones(n_pairs)]),
            (np.tile(np.arange(n_pairs), 2), np.concatenate([z[:n_pairs], j_idx])),
        ),
        shape=(n_pairs, n_var),
    )
    count = sparse.csr_array(
        (np.ones(n_cand), (np.zeros(n_cand, dtype=np.int64), np.arange(n_cand))),
        shape=(1, n_var),
    )
    a = sparse.vstack([one_option, link, count]).tocsr()
    lb = np.concatenate([np.ones(n_pts), np.full(n_pairs, -np.inf), [p]])
    ub = np.concatenate([np.ones(n_pts), np.zeros(n_pairs), [p]])
    c = np.concatenate([np.zeros(n_cand), inst.times[j_idx, points[pt]], t_exist[points[e_pt]]])
    integrality = np.concatenate([np.ones(n_cand), np.zeros(n_pairs + n_e)])
    # Candidates covering nothing are fixed shut: they could only pad the count.
    upper = np.ones(n_var)
    upper[:n_cand][~inst.reach.any(axis=1)] = 0.0
    return c, LinearConstraint(a, lb, ub), integrality, upper


def lscp_tiebreak(inst: Instance, picked: list[int], deadline: float) -> tuple[list[int], bool]:
    """Among covers with ``len(picked)`` sites, find one of least total travel time.

    Returns the sites and whether their total time is proven minimal. The swap search
    always runs; the exact model only while small enough, and its answer is kept only
    when it is a valid cover of the same size that is no slower.
    """
    if not picked:
        return picked, True
    best = time_swaps(inst, picked, deadline)
    model = _tiebreak_model(inst, len(picked))
    if model is None:
        return best, False
    c, cons, integrality, upper = model
    res = milp(
        c,
        constraints=cons,
        integrality=integrality,
        bounds=Bounds(0.0, upper),
        options={"time_limit": remaining(deadline), "mip_rel_gap": 0.0},
    )
    if res.x is None:
        return best, False
    found = np.flatnonzero(res.x[: inst.times.shape[0]] > 0.5)
    need = inst.reach.any(axis=0) & ~inst.existing_covered
    # A numerically sloppy incumbent must still be a cover of the same size to be used.
    if len(found) != len(picked) or not np.all(inst.reach[found][:, need].any(axis=0)):
        return best, False
    tol = REL_TOL * max(abs(float(res.fun)), 1.0)
    if _total_time(inst, found) <= _total_time(inst, np.array(sorted(best))) + tol:
        return found.tolist(), res.status == 0
    return best, False


def _total_time(inst: Instance, chosen: IntArray) -> float:
    covered, _, _, site_time = assign(inst, chosen)
    return float(site_time[covered].sum())
