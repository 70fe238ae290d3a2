"""Choosing the lamps: the product's one max-cover solver, with spacing conflicts.

The lamp problem is a weighted max-cover (:mod:`geo.maxcover`): candidates cover pieces
of dark road weighted by length x risk, at most ``budget`` are chosen, and two closer
than the spacing conflict. Ties go to the candidate with more night incidents near its
stretch, so lamps go where the incidents are along a long road.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from geo.lighting.candidates import Instance
from geo.maxcover import solve_max_cover

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
    """Choose the lamps with :func:`geo.maxcover.solve_max_cover` and state its guarantee.

    Picks are kept as chosen (``prune=False``): a lamp whose stretch later picks overlap
    still lights what it lights, and the plan lists every lamp the budget pays for.
    """
    conflicts = (
        np.column_stack([inst.conflict_i, inst.conflict_j]) if len(inst.conflict_i) else None
    )
    res = solve_max_cover(
        inst.cover,
        inst.weight,
        budget,
        conflicts=conflicts,
        priority=inst.tiebreak,
        method=p.method,
        time_limit_s=p.time_limit_s,
        prune=False,
    )
    pick = res.chosen
    proven = "exact" if res.optimal else "exact-timeout"
    method = proven if p.method == "exact" else "greedy"
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
        gain=np.asarray(res.gains, dtype=float),
        near=inst.tiebreak[pick],
        upper=max(res.bound, float(res.value)),
        guarantee=res.guarantee,
        ratio=float(res.ratio),
        n_candidates=len(inst.road),
        n_conflicts=len(inst.conflict_i),
        method=method,
        reason=reason,
    )
