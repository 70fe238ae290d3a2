"""Choosing the lamps: a max-cover with spacing conflicts, and what can be proved."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from geo.lighting.candidates import Instance

if TYPE_CHECKING:
    from geo.lighting.lamps import LampParams

__all__ = ["Outcome", "solve"]


@dataclass(frozen=True, eq=False)
class Outcome:
    """The chosen candidates (in pick order) and what can be proved about them."""

    road: np.ndarray  # row of the risk table
    pos: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    gain: np.ndarray
    near: np.ndarray  # night incidents near each lamp's stretch
    upper: float
    guarantee: str
    ratio: float
    n_candidates: int
    n_conflicts: int
    method: str
    reason: str

    @staticmethod
    def nothing(reason: str, method: str) -> Outcome:
        """Return the outcome of placing nothing, with the reason."""
        none = np.zeros(0)
        return Outcome(
            road=np.zeros(0, np.int64),
            pos=none,
            lo=none,
            hi=none,
            gain=none,
            near=np.zeros(0, np.int64),
            upper=0.0,
            guarantee="optimal (nothing to place)",
            ratio=1.0,
            n_candidates=0,
            n_conflicts=0,
            method=method,
            reason=reason,
        )


def solve(inst: Instance, budget: int, p: LampParams) -> Outcome:
    """Run greedy (and the MILP if asked); bound the optimum from this instance."""
    pick, gain = _lazy_greedy(inst, budget)
    method = "greedy"
    # Submodularity bounds any feasible set by the sum of its members' values, both
    # alone and on top of the greedy set; neither bound looks at the spacing.
    single = np.asarray(inst.cover @ inst.weight).ravel()
    bound = float(np.sort(single)[::-1][:budget].sum())
    residual = inst.weight.copy()
    if len(pick):
        residual[np.unique(inst.cover[pick].indices)] = 0.0
    remaining = np.asarray(inst.cover @ residual).ravel()
    bound = min(bound, float(gain.sum()) + float(np.sort(remaining)[::-1][:budget].sum()))
    if p.method == "exact":
        x_pick, optimal, dual = _exact(inst, budget, p.time_limit_s)
        if x_pick is not None:
            x_gain = _sequential_gains(inst, x_pick)
            if x_gain.sum() >= gain.sum() - 1e-9:
                pick, gain = x_pick, x_gain
        method = "exact" if optimal else "exact-timeout"
        bound = min(bound, dual)
    guarantee, ratio = _guarantee(inst, method)
    reason = ""
    if len(pick) < budget:
        reason = (
            f"only {len(pick)} of {budget} lamps light any risk: every other candidate "
            "is closer than spacing_m to a chosen lamp or lights only zero-risk road"
        )
    return Outcome(
        road=inst.road[pick],
        pos=inst.pos[pick],
        lo=inst.lo[pick],
        hi=inst.hi[pick],
        gain=gain,
        near=inst.tiebreak[pick],
        upper=max(bound, float(gain.sum())),
        guarantee=guarantee,
        ratio=ratio,
        n_candidates=len(inst.road),
        n_conflicts=len(inst.conflict_i),
        method=method,
        reason=reason,
    )


def _lazy_greedy(inst: Instance, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Pick up to ``budget`` compatible candidates by largest marginal covered risk.

    Ties: more night incidents near, then fewer conflicts, then lowest index. Stale heap
    entries over-estimate the gain (submodularity), so an entry whose gain
    was recomputed this round and is still on top is the true best (Minoux 1978).
    """
    cover = inst.cover
    indptr, indices = cover.indptr, cover.indices
    residual = inst.weight.astype(float, copy=True)
    tol = 1e-12 * max(float(residual.sum()), 1.0)
    gains = np.asarray(cover @ residual).ravel()
    m = len(gains)
    nbr = sparse.csr_array(
        (
            np.ones(2 * len(inst.conflict_i)),
            (
                np.concatenate([inst.conflict_i, inst.conflict_j]),
                np.concatenate([inst.conflict_j, inst.conflict_i]),
            ),
        ),
        shape=(m, m),
    )
    degree = np.diff(nbr.indptr)
    blocked = np.zeros(m, dtype=bool)
    live = np.flatnonzero(gains > tol)
    heap = list(
        zip(
            (-gains[live]).tolist(),
            (-inst.tiebreak[live]).tolist(),
            degree[live].tolist(),
            live.tolist(),
            strict=True,
        )
    )
    heapq.heapify(heap)
    fresh = np.zeros(m, dtype=np.int64)
    picked: list[int] = []
    got: list[float] = []
    while heap and len(picked) < budget:
        neg, tb, deg, j = heapq.heappop(heap)
        if blocked[j]:
            continue
        cols = indices[indptr[j] : indptr[j + 1]]
        if fresh[j] == len(picked):
            picked.append(j)
            got.append(-neg)
            residual[cols] = 0.0
            blocked[j] = True
            blocked[nbr.indices[nbr.indptr[j] : nbr.indptr[j + 1]]] = True
            continue
        gain = float(residual[cols].sum())
        fresh[j] = len(picked)
        if gain > tol:
            heapq.heappush(heap, (-gain, tb, deg, j))
    return np.asarray(picked, dtype=np.int64), np.asarray(got, dtype=float)


def _sequential_gains(inst: Instance, pick: np.ndarray) -> np.ndarray:
    """Return each pick's marginal risk given the picks before it."""
    residual = inst.weight.copy()
    out = np.zeros(len(pick))
    cover = inst.cover
    for k, j in enumerate(pick):  # at most `budget` lamps
        cols = cover.indices[cover.indptr[j] : cover.indptr[j + 1]]
        out[k] = residual[cols].sum()
        residual[cols] = 0.0
    return out


def _exact(
    inst: Instance, budget: int, time_limit_s: float
) -> tuple[np.ndarray | None, bool, float]:
    """Solve the lamp problem as a MILP; return (picks, proven optimal, upper bound)."""
    m, n_el = inst.cover.shape
    # y_e <= sum of the x_j lighting e; sum x <= budget; x_i + x_j <= 1 per conflict.
    a_cover = sparse.hstack([-inst.cover.T, sparse.eye_array(n_el)], format="csr")
    rows = [LinearConstraint(a_cover, -np.inf, 0.0)]
    rows.append(
        LinearConstraint(
            sparse.hstack(
                [sparse.csr_array(np.ones((1, m))), sparse.csr_array((1, n_el))], format="csr"
            ),
            -np.inf,
            budget,
        )
    )
    nc = len(inst.conflict_i)
    if nc:
        a_conf = sparse.csr_array(
            (
                np.ones(2 * nc),
                (
                    np.repeat(np.arange(nc), 2),
                    np.column_stack([inst.conflict_i, inst.conflict_j]).ravel(),
                ),
            ),
            shape=(nc, m + n_el),
        )
        rows.append(LinearConstraint(a_conf, -np.inf, 1.0))
    res = milp(
        c=np.concatenate([np.zeros(m), -inst.weight]),
        constraints=rows,
        integrality=np.concatenate([np.ones(m), np.zeros(n_el)]),
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": float(time_limit_s), "disp": False},
    )
    dual = getattr(res, "mip_dual_bound", None)
    bound = -float(dual) if dual is not None and np.isfinite(dual) else np.inf
    if res.x is None:
        return None, False, bound
    chosen = np.flatnonzero(res.x[:m] > 0.5)
    # Order the lamps as greedy would, so the per-lamp risk reads best-first.
    single = np.asarray(inst.cover @ inst.weight).ravel()[chosen]
    chosen = chosen[np.lexsort((chosen, -single))]
    return chosen, bool(res.status == 0), bound


def _guarantee(inst: Instance, method: str) -> tuple[str, float]:
    """Return the worst-case guarantee that holds for this instance and method."""
    if method == "exact":
        return "optimal (MILP solved to proven optimality by HiGHS)", 1.0
    modular = bool(len(inst.cover.indices) == 0 or np.bincount(inst.cover.indices).max() <= 1)
    if len(inst.conflict_i) == 0:
        if modular:
            return "optimal (disjoint stretches, no spacing conflicts: top-N choice)", 1.0
        return "1 - 1/e of optimal (monotone submodular coverage, Nemhauser et al. 1978)", (
            1.0 - 1.0 / np.e
        )
    k = int(
        np.bincount(
            np.concatenate([inst.conflict_i, inst.conflict_j]), minlength=len(inst.road)
        ).max()
    )
    if modular:
        return f"1/{k} of optimal (modular objective on a {k}-system, Jenkyns 1976)", 1.0 / k
    return (
        f"1/{k + 1} of optimal (submodular objective on a {k}-system, Fisher et al. 1978)",
        1.0 / (k + 1),
    )
