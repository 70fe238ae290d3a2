"""Location-allocation on a precomputed travel-time matrix: where to put new police posts.

Two classic models, both with the existing stations kept open:

* **MCLP**, the maximal covering location problem (Church & ReVelle 1974): open ``k`` new
  sites among the candidates to maximise the demand (population, households) reached
  within ``threshold_min`` minutes — :func:`solve_mclp`.
* **LSCP**, the location set covering problem (Toregas, Swain, ReVelle & Bergman 1971):
  open the fewest new sites so that *every* demand point is reached within the
  threshold — :func:`solve_lscp`.

No road network is touched here: the caller (the coverage module) computes travel times
with the routing engine and passes plain arrays. ``times[j, i]`` is the travel time in
minutes from candidate ``j`` to demand point ``i`` and ``existing[e, i]`` the same from
existing station ``e``; NaN (or +inf) means unreachable. A point is *covered* when some
open site reaches it in at most ``threshold_min`` minutes (inclusive).

Methods
-------
``"exact"`` solves a mixed-integer programme with HiGHS (:func:`scipy.optimize.milp`) and
reports HiGHS's own dual bound. ``"greedy"`` runs a heuristic with a worst-case
guarantee and reports an upper (MCLP) or lower (LSCP) bound from the LP relaxation, so
every result carries a ``gap`` whichever method produced it. ``"auto"`` picks exact while
the coverage matrix that reaches the solver has at most :data:`EXACT_MAX_NONZEROS`
nonzeros, greedy above that.

Before either method runs, the instance is reduced without changing its optimum: demand
already covered by existing stations, uncoverable demand and (for MCLP) zero-weight
demand leave the model; candidates that cover nothing left are dropped; candidates with
identical coverage sets collapse onto the lowest index; demand points with identical
coverage sets merge into one weighted point (the row and column reductions of Toregas &
ReVelle 1973, without their dominance tests).

Everything is deterministic: ties are broken by lowest candidate index and HiGHS's
branch-and-bound is deterministic for a given model, so the same input gives the same
result.

Layout
------
The max-cover search (greedy, swaps, bounds, MILP) is :mod:`geo.maxcover`, shared with
the lamp planner; here :mod:`~geo.allocation.instance` validates and reduces,
:mod:`~geo.allocation.mclp` and :mod:`~geo.allocation.lscp` solve the two models,
:mod:`~geo.allocation.tiebreak` shortens LSCP travel times and
:mod:`~geo.allocation.results` holds what they return.
"""

from __future__ import annotations

from geo.allocation.instance import Tiebreak
from geo.allocation.lscp import solve_lscp
from geo.allocation.mclp import solve_mclp
from geo.allocation.results import AllocationResult, LscpResult, MclpResult
from geo.errors import AllocationError, InfeasibleCoverError
from geo.maxcover import EXACT_MAX_NONZEROS, Method

__all__ = [
    "EXACT_MAX_NONZEROS",
    "AllocationError",
    "AllocationResult",
    "InfeasibleCoverError",
    "LscpResult",
    "MclpResult",
    "Method",
    "Tiebreak",
    "solve_lscp",
    "solve_mclp",
]
