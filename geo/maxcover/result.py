"""What a max-cover solve returns: the picks, their gains, the bound and the guarantee."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from geo.errors import AllocationError
from geo.maxcover.bounds import guarantee as instance_guarantee
from geo.maxcover.problem import REL_TOL, FloatArray, IntArray, Problem, SolvedBy, value_of
from geo.results import Result

__all__ = ["MaxCoverResult", "make_result"]


@dataclass(frozen=True, eq=False)
class MaxCoverResult(Result):
    """Candidates chosen by :func:`solve_max_cover` and what is proven about them.

    Attributes
    ----------
    chosen
        Indices of the chosen candidates (rows of ``cover``) in pick order: each next
        one is the candidate adding the most weight to those before it (the greedy
        order, also for sets found by swaps or the MILP), so the list reads best-first.
    gains
        Weight each pick adds to the picks before it; non-increasing, and they sum to
        ``value``.
    value
        Weight of the elements the chosen candidates cover.
    bound
        Proven upper bound on the best value of any feasible set, ``>= value``: the
        smallest of the bounds computed (see ``bound_source`` and the Notes of
        :func:`solve_max_cover`).
    gap
        ``(bound - value) / bound`` in [0, 1] (0 when ``bound`` is 0).
    optimal
        Whether ``value`` is proven optimal: HiGHS finished (exact), or greedy's value
        meets its bound. False whenever the time limit stopped the MILP.
    method
        What produced ``chosen``: ``"exact"`` (the MILP's solution) or ``"greedy"``
        (greedy, plus swaps if asked; also when it beat a time-limited MILP).
    guarantee, ratio
        The worst-case guarantee that holds for this instance and method, in words and
        as a fraction of the optimum that ``value`` is sure to reach.
    bound_source
        Which bound is ``bound``: ``"total weight"`` (all coverable weight), ``"top-k
        singletons"`` (the ``k`` largest single-candidate values), ``"online"``
        (``f(S)`` plus the ``k`` largest marginal gains on top of a set ``S`` found),
        ``"LP relaxation"`` or ``"HiGHS dual bound"``.
    k
        Most candidates allowed. Fewer are chosen when no other candidate adds weight
        (or every other one conflicts with a chosen one).
    n_candidates, n_conflicts
        Rows of ``cover``, and distinct conflicting pairs given.
    solve_time_s
        Wall-clock time of the whole solve, validation included.
    """

    chosen: IntArray
    gains: FloatArray
    value: float
    bound: float
    gap: float
    optimal: bool
    method: SolvedBy
    guarantee: str
    ratio: float
    bound_source: str
    k: int
    n_candidates: int
    n_conflicts: int
    solve_time_s: float

    _BOUND_SOURCES: ClassVar[tuple[str, ...]] = (
        "total weight",
        "top-k singletons",
        "online",
        "LP relaxation",
        "HiGHS dual bound",
    )

    def __post_init__(self) -> None:
        # Copies, so the caller's arrays stay theirs and ours cannot change under us.
        for name, dtype in (("chosen", np.int64), ("gains", np.float64)):
            arr = np.array(getattr(self, name), dtype=dtype)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        super().__post_init__()

    def _check(self) -> None:
        name = type(self).__name__
        chosen, gains = self.chosen, self.gains
        if chosen.ndim != 1 or gains.shape != chosen.shape:
            msg = f"{name}.chosen and gains must be 1-D of one length, got {chosen.shape}, "
            msg += f"{gains.shape}"
            raise AllocationError(msg)
        if len(chosen) > self.k:
            msg = f"{name} chooses {len(chosen)} candidates but k is {self.k}"
            raise AllocationError(msg)
        if np.any((chosen < 0) | (chosen >= self.n_candidates)):
            msg = f"{name}.chosen holds indices outside the {self.n_candidates} candidates"
            raise AllocationError(msg)
        if len(np.unique(chosen)) != len(chosen):
            msg = f"{name}.chosen repeats a candidate"
            raise AllocationError(msg)
        tol = REL_TOL * max(abs(self.value), 1.0)
        if not (np.all(np.isfinite(gains)) and np.all(gains >= -tol)):
            msg = f"{name}.gains must be finite and >= 0"
            raise AllocationError(msg)
        if np.any(np.diff(gains) > tol):
            msg = f"{name}.gains must be non-increasing (chosen in pick order)"
            raise AllocationError(msg)
        if abs(float(gains.sum()) - self.value) > tol:
            msg = f"{name}.gains sum to {gains.sum()}, not to value {self.value}"
            raise AllocationError(msg)
        if not (math.isfinite(self.bound) and -tol <= self.value <= self.bound + tol):
            msg = f"{name} needs 0 <= value <= bound, got {self.value} and {self.bound}"
            raise AllocationError(msg)
        expected = (self.bound - self.value) / self.bound if self.bound > 0 else 0.0
        if not (0.0 <= self.gap <= 1.0 and abs(self.gap - max(expected, 0.0)) <= 1e-12):
            msg = f"{name}.gap {self.gap} must be (bound - value) / bound in [0, 1]"
            raise AllocationError(msg)
        if self.method not in ("exact", "greedy"):
            msg = f"{name}.method must be 'exact' or 'greedy', got {self.method!r}"
            raise AllocationError(msg)
        if not (0.0 < self.ratio <= 1.0 and self.guarantee):
            msg = f"{name} needs a guarantee and a ratio in (0, 1], got {self.ratio}"
            raise AllocationError(msg)
        if self.bound_source not in self._BOUND_SOURCES:
            msg = f"{name}.bound_source must be one of {self._BOUND_SOURCES}"
            raise AllocationError(msg)
        if self.n_conflicts < 0:
            msg = f"{name}.n_conflicts must be >= 0, got {self.n_conflicts}"
            raise AllocationError(msg)

    @property
    def n_chosen(self) -> int:
        """Number of candidates chosen."""
        return len(self.chosen)

    def to_frame(self) -> pd.DataFrame:
        """Return one row per pick: ``pick`` (1..n), ``candidate``, ``gain``, ``cumulative``."""
        return pd.DataFrame(
            {
                "pick": np.arange(1, len(self.chosen) + 1, dtype=np.int64),
                "candidate": self.chosen,
                "gain": self.gains,
                "cumulative": np.cumsum(self.gains),
            }
        )

    def _extra_tables(self) -> dict[str, pd.DataFrame]:
        return {"picks": self.to_frame()}


def make_result(
    p: Problem,
    order: list[int],
    gains: list[float],
    used: SolvedBy,
    bound: float,
    source: str,
    optimal: bool,
    start: float,
    *,
    nothing: bool = False,
    timed_out: bool = False,
) -> MaxCoverResult:
    """Assemble the result of a solve: value, bound, gap and the guarantee that applies."""
    value = value_of(p, order)
    if nothing:
        guarantee, ratio = (
            "optimal (nothing to choose: k is 0 or no candidate covers any weight)",
            1.0,
        )
    else:
        guarantee, ratio = instance_guarantee(p, proven=used == "exact" and optimal)
        if timed_out:
            guarantee += (
                "; HiGHS stopped before proving optimality, the answer is no worse than greedy's"
            )
    # Float noise can put a dual bound a hair below the value it proves optimal.
    bound = max(bound, value)
    return MaxCoverResult(
        chosen=np.asarray(order, dtype=np.int64),
        gains=np.asarray(gains, dtype=np.float64),
        value=value,
        bound=bound,
        gap=(bound - value) / bound if bound > 0 else 0.0,
        optimal=optimal,
        method=used,
        guarantee=guarantee,
        ratio=ratio,
        bound_source=source,
        k=p.k,
        n_candidates=p.cover.shape[0],
        n_conflicts=len(p.pairs),
        solve_time_s=time.perf_counter() - start,
    )
