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
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from geo.errors import AllocationError, InfeasibleCoverError

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

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
Method: TypeAlias = Literal["auto", "exact", "greedy"]
SolvedBy: TypeAlias = Literal["exact", "greedy"]
Tiebreak: TypeAlias = Literal["total_time", "none"]

#: ``method="auto"`` solves exactly while the coverage matrix handed to the solver (candidates
#: x demand points still to cover, before merging duplicates) has at most this many
#: nonzeros. The size was measured, not guessed: on synthetic clustered-village instances
#: (300-600 candidates, 2,000-5,000 villages, 8-15 min thresholds) HiGHS proved MCLP and LSCP
#: optimality in 0.2-27 s up to ~30k nonzeros, but needed 37 s to over 60 s at 61k-121k.
#: Hardness depends on overlap more than size, so this is a budget, not a promise; past the
#: time limit exact mode still returns its best solution (never worse than greedy's, for
#: MCLP) with HiGHS's bound and ``optimal=False``.
EXACT_MAX_NONZEROS: Final = 50_000

_METHODS: Final = ("auto", "exact", "greedy")
_TIEBREAKS: Final = ("total_time", "none")
#: Relative slack below which a gain counts as zero: keeps float noise in sums of weights from
#: accepting a "better" swap that is not, which could otherwise cycle.
_REL_TOL: Final = 1e-9
#: Cap on the count-preserving swaps that shorten travel times in the LSCP tiebreak.
_TIME_SWAP_MAX_MOVES: Final = 200
#: The exact LSCP tiebreak has one variable and one row per (candidate, point) pair that
#: could serve a point faster than today. Fixing the count makes it a covering p-median,
#: much harder than the cover itself: HiGHS took 0.1 s at 2.5k pairs, 1.5 s at 6k and 20 s
#: at 8k, so beyond this size the swap search result is kept (unproven).
_TIEBREAK_EXACT_MAX_PAIRS: Final = 5_000
#: Never hand HiGHS less than this, so a nearly spent time limit still yields an answer.
_MIN_SOLVER_S: Final = 0.05


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class AllocationResult:
    """Sites opened by a location-allocation solver and who covers each demand point.

    Attributes
    ----------
    chosen
        Indices of the new sites opened, into the rows of ``times``, sorted ascending.
    covered
        ``(n_demand,)`` whether each demand point is reached within the threshold by an open
        site (existing or new).
    site
        Nearest open site within the threshold for each demand point, -1 when uncovered. It
        indexes the rows of ``existing`` where ``site_is_existing`` is True and the rows of
        ``times`` (candidates) otherwise. An existing station wins a tie with a new site,
        then the lowest index.
    site_is_existing
        Whether ``site`` refers to an existing station (always False when uncovered).
    site_time_min
        Travel time from ``site`` in minutes, NaN when uncovered.
    method
        Algorithm that produced ``chosen``: ``"exact"`` (HiGHS MILP) or ``"greedy"``.
    optimal
        Whether ``chosen`` is proven optimal (within HiGHS's tolerances for exact; for
        greedy, when it meets its bound).
    bound
        Proven bound on the objective: upper for MCLP, lower for LSCP.
    gap
        Relative distance between the objective and ``bound``, in [0, 1], computed by the
        same formula whatever the method so results compare: for exact, ``bound`` is
        HiGHS's dual bound (HiGHS's own ``mip_gap`` divides by the solution value instead,
        which reads the same at zero).
    solve_time_s
        Wall-clock time of the whole solve, reductions included.
    candidate_ids, demand_ids
        Ids given by the caller, or None.
    """

    chosen: IntArray
    covered: BoolArray
    site: IntArray
    site_is_existing: BoolArray
    site_time_min: FloatArray
    method: SolvedBy
    optimal: bool
    bound: float
    gap: float
    solve_time_s: float
    candidate_ids: tuple[str, ...] | None
    demand_ids: tuple[str, ...] | None

    def __post_init__(self) -> None:
        name = type(self).__name__
        for field, dtype in (
            ("chosen", np.int64),
            ("covered", np.bool_),
            ("site", np.int64),
            ("site_is_existing", np.bool_),
            ("site_time_min", np.float64),
        ):
            arr = np.array(getattr(self, field), dtype=dtype)
            if arr.ndim != 1:
                msg = f"{name}.{field} must be 1-D, got shape {arr.shape}"
                raise AllocationError(msg)
            arr.setflags(write=False)
            object.__setattr__(self, field, arr)
        n = len(self.covered)
        for field in ("site", "site_is_existing", "site_time_min"):
            if len(getattr(self, field)) != n:
                msg = f"{name}.{field} has {len(getattr(self, field))} rows, expected {n}"
                raise AllocationError(msg)
        if self.demand_ids is not None and len(self.demand_ids) != n:
            msg = f"{name}.demand_ids has {len(self.demand_ids)} ids, expected {n}"
            raise AllocationError(msg)
        if np.any(self.chosen < 0) or np.any(np.diff(self.chosen) <= 0):
            msg = f"{name}.chosen must be distinct non-negative indices in ascending order"
            raise AllocationError(msg)
        if self.candidate_ids is not None and np.any(self.chosen >= len(self.candidate_ids)):
            msg = f"{name}.chosen refers to candidates beyond candidate_ids"
            raise AllocationError(msg)
        if not np.array_equal(self.covered, self.site >= 0):
            msg = f"{name}.site must be >= 0 exactly where the point is covered"
            raise AllocationError(msg)
        if np.any(self.site_is_existing & ~self.covered):
            msg = f"{name}.site_is_existing is set on an uncovered point"
            raise AllocationError(msg)
        if not np.array_equal(np.isfinite(self.site_time_min), self.covered):
            msg = f"{name}.site_time_min must be finite exactly where the point is covered"
            raise AllocationError(msg)
        new = self.covered & ~self.site_is_existing
        if not np.all(np.isin(self.site[new], self.chosen)):
            msg = f"{name}.site names a new site that is not in chosen"
            raise AllocationError(msg)
        if self.method not in ("exact", "greedy"):
            msg = f"{name}.method must be 'exact' or 'greedy', got {self.method!r}"
            raise AllocationError(msg)
        if not (math.isfinite(self.bound) and self.bound >= 0):
            msg = f"{name}.bound must be finite and >= 0, got {self.bound}"
            raise AllocationError(msg)
        if not 0.0 <= self.gap <= 1.0:
            msg = f"{name}.gap must lie in [0, 1], got {self.gap}"
            raise AllocationError(msg)

    @property
    def n_sites(self) -> int:
        """Number of new sites opened."""
        return len(self.chosen)

    @property
    def chosen_ids(self) -> tuple[str, ...] | None:
        """Ids of the new sites opened, or None when no candidate ids were given."""
        if self.candidate_ids is None:
            return None
        return tuple(self.candidate_ids[j] for j in self.chosen)

    def to_frame(self) -> pd.DataFrame:
        """Return one row per demand point: who covers it, how far, and its id if known.

        Columns: ``demand_id`` (when ids were given), ``covered``, ``site_kind``
        (``"existing"``, ``"new"`` or None), ``site`` (index, -1 when uncovered),
        ``site_id`` (candidate id of a new site when ids were given, else None) and
        ``time_min``. Optional text columns are ``object`` holding ``str`` or None, as in
        :mod:`geo.layers`.
        """
        kind = np.where(self.site_is_existing, "existing", "new").astype(object)
        kind[~self.covered] = None
        cols: dict[str, object] = {}
        if self.demand_ids is not None:
            cols["demand_id"] = pd.Series(self.demand_ids, dtype="str")
        cols |= {
            "covered": self.covered,
            "site_kind": pd.Series(kind, dtype=object),
            "site": self.site,
        }
        if self.candidate_ids is not None:
            ids = np.array(self.candidate_ids, dtype=object)
            site_id = np.full(len(self.site), None, dtype=object)
            new = self.covered & ~self.site_is_existing
            site_id[new] = ids[self.site[new]]
            cols["site_id"] = pd.Series(site_id, dtype=object)
        cols["time_min"] = self.site_time_min
        return pd.DataFrame(cols)


@dataclass(frozen=True, eq=False)
class MclpResult(AllocationResult):
    """Solution of a maximal covering location problem (see :func:`solve_mclp`).

    The objective is ``gain``, the demand newly covered by the new sites; ``bound`` and
    ``gap = (bound - gain) / bound`` refer to it, not to the total, so demand that existing
    stations already cover cannot make a weak solution look close to optimal.

    Attributes
    ----------
    k
        Number of new sites requested. ``n_sites`` is smaller only when fewer sites already
        cover every coverable demand point with positive weight: sites adding nothing are
        not opened.
    total_demand
        Sum of all demand weights.
    existing_demand
        Demand covered by the existing stations alone.
    covered_demand
        Demand covered by existing and new sites together.
    gain
        ``covered_demand - existing_demand``, what the new sites add.
    newly_covered
        Indices of the demand points covered by a new site and by no existing station
        (zero-weight points included).
    """

    k: int
    total_demand: float
    existing_demand: float
    covered_demand: float
    gain: float
    newly_covered: IntArray

    def __post_init__(self) -> None:
        super().__post_init__()
        arr = np.array(self.newly_covered, dtype=np.int64)
        arr.setflags(write=False)
        object.__setattr__(self, "newly_covered", arr)
        tol = _REL_TOL * max(self.total_demand, 1.0)
        if self.n_sites > self.k:
            msg = f"MclpResult opens {self.n_sites} sites but k is {self.k}"
            raise AllocationError(msg)
        if not -tol <= self.existing_demand <= self.covered_demand <= self.total_demand + tol:
            msg = (
                "MclpResult needs 0 <= existing_demand <= covered_demand <= total_demand, got "
                f"{self.existing_demand}, {self.covered_demand}, {self.total_demand}"
            )
            raise AllocationError(msg)
        if abs(self.covered_demand - self.existing_demand - self.gain) > tol:
            msg = "MclpResult.gain must equal covered_demand - existing_demand"
            raise AllocationError(msg)
        if self.gain > self.bound + tol:
            msg = f"MclpResult.gain {self.gain} exceeds its upper bound {self.bound}"
            raise AllocationError(msg)
        if not np.all(
            self.covered[self.newly_covered] & ~self.site_is_existing[self.newly_covered]
        ):
            msg = "MclpResult.newly_covered lists a point not covered by a new site alone"
            raise AllocationError(msg)

    @property
    def covered_share(self) -> float:
        """Share of the total demand covered, in [0, 1] (1 when there is no demand)."""
        return self.covered_demand / self.total_demand if self.total_demand > 0 else 1.0


@dataclass(frozen=True, eq=False)
class LscpResult(AllocationResult):
    """Solution of a location set covering problem (see :func:`solve_lscp`).

    The objective is ``n_sites``; ``bound`` is a lower bound on it and
    ``gap = (n_sites - bound) / n_sites``.

    Attributes
    ----------
    threshold_min
        The coverage threshold the cover was solved for.
    uncoverable
        Indices of demand points no candidate or existing station reaches within the
        threshold. They are left out of the cover, never silently: ``feasible`` is False
        and :meth:`raise_if_infeasible` names them.
    tiebreak
        Secondary objective among covers of the same size: ``"total_time"`` or ``"none"``.
    tiebreak_proven
        Whether ``total_time_min`` is proven least among covers with ``n_sites`` sites
        (only the exact tiebreak model can prove it; see :func:`solve_lscp`).
    total_time_min
        Sum over covered points of the travel time from their nearest open site.
    """

    threshold_min: float
    uncoverable: IntArray
    tiebreak: Tiebreak
    tiebreak_proven: bool
    total_time_min: float

    def __post_init__(self) -> None:
        super().__post_init__()
        arr = np.array(self.uncoverable, dtype=np.int64)
        arr.setflags(write=False)
        object.__setattr__(self, "uncoverable", arr)
        if np.any((self.uncoverable < 0) | (self.uncoverable >= len(self.covered))):
            msg = "LscpResult.uncoverable holds indices outside the demand points"
            raise AllocationError(msg)
        expected = np.ones(len(self.covered), dtype=bool)
        expected[self.uncoverable] = False
        if not np.array_equal(self.covered, expected):
            msg = "LscpResult must cover every demand point except the uncoverable ones"
            raise AllocationError(msg)
        if self.bound > self.n_sites:
            msg = f"LscpResult.bound {self.bound} exceeds the {self.n_sites} sites opened"
            raise AllocationError(msg)
        if self.tiebreak not in _TIEBREAKS:
            msg = f"LscpResult.tiebreak must be one of {_TIEBREAKS}, got {self.tiebreak!r}"
            raise AllocationError(msg)

    @property
    def feasible(self) -> bool:
        """Whether every demand point is covered (no point is uncoverable)."""
        return len(self.uncoverable) == 0

    @property
    def uncoverable_ids(self) -> tuple[str, ...]:
        """Ids of the uncoverable demand points (their indices as text without ids)."""
        if self.demand_ids is None:
            return tuple(str(i) for i in self.uncoverable)
        return tuple(self.demand_ids[i] for i in self.uncoverable)

    @property
    def max_time_min(self) -> float:
        """Longest travel time from a covered point to its nearest open site (NaN if none)."""
        t = self.site_time_min[self.covered]
        return float(t.max()) if len(t) else math.nan

    def raise_if_infeasible(self) -> None:
        """Raise if some demand point cannot be covered at all.

        Raises
        ------
        InfeasibleCoverError
            Naming the uncoverable demand points by id (by index without ids); the message
            lists the first 20, the exception's ``uncoverable_ids`` holds them all.
        """
        if not self.feasible:
            raise InfeasibleCoverError(
                self.uncoverable.tolist(), self.uncoverable_ids, self.threshold_min
            )


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class _Instance:
    """Validated inputs plus the coverage masks both problems start from."""

    times: FloatArray  # (n_candidates, n_demand)
    existing: FloatArray  # (n_existing, n_demand)
    threshold: float
    reach: BoolArray  # (n_candidates, n_demand): candidate covers point
    existing_covered: BoolArray  # (n_demand,)
    candidate_ids: tuple[str, ...] | None
    demand_ids: tuple[str, ...] | None


def _check_matrix(name: str, value: npt.ArrayLike, shape: str) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be a numeric array {shape}: {exc}"
        raise AllocationError(msg) from exc
    if arr.ndim != 2:
        msg = f"{name} must be a 2-D array {shape}, got shape {arr.shape}"
        raise AllocationError(msg)
    if np.any(arr < 0):
        # NaN compares False, so unreachable pairs pass; -inf does not.
        msg = f"{name} has negative travel times (min {np.nanmin(arr):g})"
        raise AllocationError(msg)
    return arr


def _check_ids(name: str, ids: Sequence[str] | None, n: int) -> tuple[str, ...] | None:
    if ids is None:
        return None
    if isinstance(ids, str):
        msg = f"{name} must be a sequence of str, not a single str"
        raise AllocationError(msg)
    out = tuple(ids)
    if len(out) != n:
        msg = f"{name} has {len(out)} ids but there are {n} rows/columns in times"
        raise AllocationError(msg)
    if not all(isinstance(i, str) for i in out):
        msg = f"{name} must hold str ids"
        raise AllocationError(msg)
    if len(set(out)) != n:
        msg = f"{name} has duplicate ids"
        raise AllocationError(msg)
    return out


def _check_positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        msg = f"{name} must be a number, got {type(value).__name__}"
        raise AllocationError(msg)
    if not (math.isfinite(value) and value > 0):
        msg = f"{name} must be finite and > 0, got {value}"
        raise AllocationError(msg)
    return float(value)


def _check_count(name: str, value: int, upper: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        msg = f"{name} must be an integer, got {type(value).__name__}"
        raise AllocationError(msg)
    if value < 0 or (upper is not None and value > upper):
        bounds = f"between 0 and {upper}" if upper is not None else ">= 0"
        msg = f"{name} must be {bounds}, got {value}"
        raise AllocationError(msg)
    return int(value)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        msg = f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}"
        raise AllocationError(msg)


def _instance(
    times: npt.ArrayLike,
    existing: npt.ArrayLike | None,
    threshold_min: float,
    candidate_ids: Sequence[str] | None,
    demand_ids: Sequence[str] | None,
) -> _Instance:
    t = _check_matrix("times", times, "(n_candidates, n_demand)")
    n_cand, n_dem = t.shape
    if n_cand == 0 or n_dem == 0:
        msg = f"times must have at least one candidate and one demand point, got shape {t.shape}"
        raise AllocationError(msg)
    if existing is None:
        e = np.empty((0, n_dem))
    else:
        e = _check_matrix("existing", existing, "(n_existing, n_demand)")
        if e.shape[1] != n_dem and not (e.size == 0 and e.shape[0] == 0):
            msg = (
                f"existing has {e.shape[1]} demand columns but times has {n_dem} "
                f"(shapes {e.shape} and {t.shape})"
            )
            raise AllocationError(msg)
        e = e.reshape(e.shape[0], n_dem)
    threshold = _check_positive("threshold_min", threshold_min)
    return _Instance(
        times=t,
        existing=e,
        threshold=threshold,
        reach=t <= threshold,
        existing_covered=np.any(e <= threshold, axis=0),
        candidate_ids=_check_ids("candidate_ids", candidate_ids, n_cand),
        demand_ids=_check_ids("demand_ids", demand_ids, n_dem),
    )


# --------------------------------------------------------------------------- reduction


@dataclass(frozen=True)
class _Reduced:
    """An instance with duplicate candidates and demand points merged.

    ``cover[r, g]`` is 1 when candidate ``cand[r]`` covers demand group ``g``; ``weight[g]``
    is the summed weight of the points in the group and ``members[p]`` the group of the
    ``p``-th point handed to :func:`_reduce`.
    """

    cover: sparse.csr_array  # (m, g) float64 0/1
    weight: FloatArray  # (g,)
    cand: IntArray  # (m,) ascending original candidate indices
    members: IntArray  # (n_points,) group of each point


def _unique_rows(bits: BoolArray) -> tuple[IntArray, IntArray]:
    """Return (index of first occurrence, group of each row) of a boolean matrix's rows."""
    packed = np.packbits(bits, axis=1)
    _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    # np.unique orders groups by value; renumber them by first occurrence so the lowest
    # index represents its group and group numbers do not depend on the bit patterns.
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order].astype(np.int64), rank[np.ravel(inverse)].astype(np.int64)


def _reduce(reach: BoolArray, weight: FloatArray) -> _Reduced:
    """Merge identical candidates (keeping the lowest index) and identical demand points.

    ``reach`` is (n_candidates, n_points) over the points still to cover; every point must
    be covered by at least one candidate.
    """
    useful = np.flatnonzero(reach.any(axis=1))
    first, _ = _unique_rows(reach[useful])
    cand = np.sort(useful[first])
    sub = reach[cand]
    col_first, members = _unique_rows(np.ascontiguousarray(sub.T))
    return _Reduced(
        cover=sparse.csr_array(sub[:, col_first].astype(np.float64)),
        weight=np.bincount(members, weights=weight, minlength=len(col_first)).astype(np.float64),
        cand=cand.astype(np.int64),
        members=members,
    )


def _nnz(reach: BoolArray, points: BoolArray) -> int:
    return int(np.count_nonzero(reach[:, points]))


def _resolve(method: Method, nnz: int, limit: int) -> SolvedBy:
    if method == "greedy" or (method == "auto" and nnz > limit):
        return "greedy"
    return "exact"


# --------------------------------------------------------------------------- heuristics


def _lazy_greedy(cover: sparse.csr_array, weight: FloatArray, k_max: int) -> list[int]:
    """Pick up to ``k_max`` rows of ``cover`` by largest marginal weight (Minoux 1978).

    Stale heap entries are upper bounds on the current gain because coverage is
    submodular, so a row whose gain was recomputed this round and is still on top is the
    true best; ties go to the lowest row because heap entries compare ``(-gain, row)``.
    Stops early when no row adds positive weight. Returns rows in the order picked.
    """
    indptr, indices = cover.indptr, cover.indices
    residual = weight.astype(np.float64, copy=True)
    tol = _REL_TOL * max(float(residual.sum()), 1.0)
    gains = cover @ residual
    rows = np.flatnonzero(gains > tol)
    heap = list(zip((-gains[rows]).tolist(), rows.tolist(), strict=True))
    heapq.heapify(heap)
    # The initial gains are exact for round 0, so they count as fresh.
    fresh_round = np.zeros(cover.shape[0], dtype=np.int64)
    picked: list[int] = []
    while heap and len(picked) < k_max:
        _, j = heapq.heappop(heap)
        cols = indices[indptr[j] : indptr[j + 1]]
        if fresh_round[j] == len(picked):
            picked.append(j)
            residual[cols] = 0.0
            continue
        gain = float(residual[cols].sum())
        fresh_round[j] = len(picked)
        if gain > tol:
            heapq.heappush(heap, (-gain, j))
    return picked


def _cover_counts(cover: sparse.csr_array, rows: Sequence[int]) -> FloatArray:
    """Return how many of ``rows`` cover each column."""
    if len(rows) == 0:
        return np.zeros(cover.shape[1])
    return np.asarray(cover[np.asarray(rows)].sum(axis=0)).ravel()


def _prune(cover: sparse.csr_array, rows: list[int]) -> list[int]:
    """Drop rows that cover no column alone, trying the last-listed first.

    One at a time, because two sites that each look redundant may be jointly needed.
    """
    counts = _cover_counts(cover, rows)
    kept = list(rows)
    for j in reversed(rows):
        cols = cover.indices[cover.indptr[j] : cover.indptr[j + 1]]
        if np.all(counts[cols] >= 2):
            kept.remove(j)
            counts[cols] -= 1
    return kept


def _local_search(
    cover: sparse.csr_array, weight: FloatArray, rows: list[int], k: int, max_moves: int
) -> list[int]:
    """Improve an MCLP solution by best-improvement 1-swaps (Teitz & Bart 1968).

    Each move evaluates every (add j, drop i) pair at once: with ``c`` the number of open
    sites covering each point, dropping ``i`` loses the weight it alone covers and adding
    ``j`` regains the part of that it also covers plus whatever nobody covers. A free slot
    (fewer than ``k`` rows) is filled first. Only strict improvements are accepted, so the
    value never decreases and the search stops; ``max_moves`` caps it regardless.
    """
    current = list(rows)
    tol = _REL_TOL * max(float(weight.sum()), 1.0)
    for _ in range(max_moves):
        counts = _cover_counts(cover, current)
        add_gain = cover @ (weight * (counts == 0))
        add_gain[current] = -np.inf
        if len(current) < k:
            j = int(np.argmax(add_gain))
            if add_gain[j] <= tol:
                break
            current.append(j)
            continue
        if not current:
            break
        alone = weight * (counts == 1)
        open_rows = cover[np.asarray(current)]
        loss = open_rows @ alone
        regained = (cover @ open_rows.multiply(alone[None, :]).T).toarray()
        delta = add_gain[:, None] + regained - loss[None, :]
        best_j, slot = np.unravel_index(int(np.argmax(delta)), delta.shape)
        if delta[best_j, slot] <= tol:
            break
        current[int(slot)] = int(best_j)
    return current


def _online_bound(cover: sparse.csr_array, weight: FloatArray, rows: list[int], k: int) -> float:
    """Upper-bound the best k-site gain from any solution (Minoux 1978; Leskovec et al. 2007).

    By submodularity OPT <= f(S) + the sum of the k largest marginal gains w.r.t. S.
    """
    counts = _cover_counts(cover, rows)
    value = float(weight[counts > 0].sum())
    add_gain = cover @ (weight * (counts == 0))
    top = np.sort(add_gain)[::-1][:k]
    return value + float(top.sum())


# --------------------------------------------------------------------------- HiGHS


def _remaining(deadline: float) -> float:
    return max(deadline - time.perf_counter(), _MIN_SOLVER_S)


def _mclp_model(red: _Reduced, k: int) -> tuple[FloatArray, LinearConstraint]:
    """Return the objective and constraints over ``[x (m sites), y (g groups)]``.

    ``y_g <= sum of x over sites covering g`` and ``sum x <= k``. ``<= k`` rather than
    ``== k``: coverage is monotone, so the optimum is the same, and a site adding nothing
    need not be forced open (it is pruned afterwards).
    """
    m, g = red.cover.shape
    link = sparse.hstack([-red.cover.T, sparse.eye_array(g)])
    budget = sparse.hstack(
        [sparse.csr_array(np.ones((1, m))), sparse.csr_array((1, g), dtype=np.float64)]
    )
    a = sparse.vstack([link, budget]).tocsr()
    ub = np.concatenate([np.zeros(g), [float(k)]])
    c = np.concatenate([np.zeros(m), -red.weight])
    return c, LinearConstraint(a, -np.inf, ub)


def _solve(
    c: FloatArray, constraints: LinearConstraint, integrality: FloatArray, deadline: float
) -> Any:
    """Run HiGHS branch-and-bound to proven optimality (zero relative gap) or the deadline."""
    return milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": _remaining(deadline), "mip_rel_gap": 0.0},
    )


def _lp_value(c: FloatArray, a_ub: sparse.csr_array, b_ub: FloatArray, deadline: float) -> float:
    """Return the LP optimum ``min c x, a_ub x <= b_ub, 0 <= x <= 1``, or NaN if unsolved.

    Interior point: on the coverage LPs measured (15k-60k nonzeros) it ran 2-4.5x faster
    than HiGHS's dual simplex, and crossover still returns an exact vertex value.
    """
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=b_ub,
        bounds=(0.0, 1.0),
        method="highs-ipm",
        options={"time_limit": _remaining(deadline)},
    )
    return float(res.fun) if res.status == 0 else math.nan


def _mclp_lp_bound(red: _Reduced, k: int, deadline: float) -> float:
    """Upper-bound the reduced MCLP by its LP relaxation (inf when the LP is not solved)."""
    c, cons = _mclp_model(red, k)
    value = -_lp_value(c, cons.A, cons.ub, deadline)
    return value if math.isfinite(value) else math.inf


def _lscp_lp_bound(red: _Reduced, deadline: float) -> float:
    """Lower-bound the reduced set cover by its LP relaxation (0 when the LP is not solved)."""
    m, g = red.cover.shape
    value = _lp_value(np.ones(m), -red.cover.T.tocsr(), -np.ones(g), deadline)
    return value if math.isfinite(value) else 0.0


# --------------------------------------------------------------------------- assignment


def _assign(inst: _Instance, chosen: IntArray) -> tuple[BoolArray, IntArray, BoolArray, FloatArray]:
    """Return covered, site, site_is_existing and time of the nearest open site per point."""
    n_exist = inst.existing.shape[0]
    n_dem = inst.times.shape[1]
    stack = np.vstack([inst.existing, inst.times[chosen]])
    if stack.shape[0] == 0:
        return (
            np.zeros(n_dem, dtype=bool),
            np.full(n_dem, -1, dtype=np.int64),
            np.zeros(n_dem, dtype=bool),
            np.full(n_dem, np.nan),
        )
    within = np.where(stack <= inst.threshold, stack, np.inf)
    # argmin takes the first minimum: existing rows come first, then chosen ascending.
    best = np.argmin(within, axis=0)
    best_time = within[best, np.arange(n_dem)]
    covered = np.isfinite(best_time)
    is_existing = covered & (best < n_exist)
    labels = np.concatenate([np.arange(n_exist, dtype=np.int64), chosen])
    site = np.where(covered, labels[best], -1).astype(np.int64)
    return covered, site, is_existing, np.where(covered, best_time, np.nan)


# --------------------------------------------------------------------------- MCLP


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
        is the smaller of the LP relaxation and the submodular online bound. ``"auto"``:
        exact while the coverage matrix of the points left to cover has at most
        ``exact_max_nonzeros`` nonzeros, else greedy.
    time_limit_s
        Wall-clock limit for HiGHS (the MILP, or the LP bound of greedy).
    max_swaps
        Cap on local-search moves after greedy.
    exact_max_nonzeros
        Size limit for ``method="auto"``; see :data:`EXACT_MAX_NONZEROS`.

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
    inst = _instance(times, existing, threshold_min, candidate_ids, demand_ids)
    n_cand, n_dem = inst.times.shape
    w = _demand_weights(demand, n_dem)
    k = _check_count("k", k, n_cand)
    _check_choice("method", method, _METHODS)
    deadline = start + _check_positive("time_limit_s", time_limit_s)
    max_swaps = _check_count("max_swaps", max_swaps)
    limit = _check_count("exact_max_nonzeros", exact_max_nonzeros)

    # Only points with weight, not yet covered, and reachable by some candidate can gain.
    open_points = (w > 0) & ~inst.existing_covered & inst.reach.any(axis=0)
    used = _resolve(method, _nnz(inst.reach, open_points), limit)
    picked: list[int] = []
    optimal, bound = True, 0.0
    if k > 0 and open_points.any():
        red = _reduce(inst.reach[:, open_points], w[open_points])
        if used == "exact":
            rows, optimal, bound, used = _mclp_exact(red, k, deadline, max_swaps)
        else:
            rows, optimal, bound = _mclp_greedy(red, k, deadline, max_swaps)
        picked = red.cand[rows].tolist()
    chosen = np.array(sorted(picked), dtype=np.int64)

    covered, site, is_existing, site_time = _assign(inst, chosen)
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
        solve_time_s=time.perf_counter() - start,
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
    try:
        w = np.asarray(demand, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"demand must be a numeric array of shape (n_demand,): {exc}"
        raise AllocationError(msg) from exc
    if w.shape != (n_dem,):
        msg = f"demand must have shape ({n_dem},) to match times, got {w.shape}"
        raise AllocationError(msg)
    if not np.all(np.isfinite(w)):
        msg = "demand must be finite (no NaN or inf weights)"
        raise AllocationError(msg)
    if np.any(w < 0):
        msg = f"demand must be >= 0, got min {w.min():g} at index {int(np.argmin(w))}"
        raise AllocationError(msg)
    return w


def _gain(red: _Reduced, rows: list[int]) -> float:
    return float(red.weight[_cover_counts(red.cover, rows) > 0].sum())


def _mclp_greedy(
    red: _Reduced, k: int, deadline: float, max_swaps: int
) -> tuple[list[int], bool, float]:
    rows = _lazy_greedy(red.cover, red.weight, k)
    rows = _prune(red.cover, _local_search(red.cover, red.weight, rows, k, max_swaps))
    value = _gain(red, rows)
    bound = min(
        _online_bound(red.cover, red.weight, rows, k),
        _mclp_lp_bound(red, k, deadline),
        float(red.weight.sum()),
    )
    return rows, value >= bound - _REL_TOL * max(bound, 1.0), bound


def _mclp_exact(
    red: _Reduced, k: int, deadline: float, max_swaps: int
) -> tuple[list[int], bool, float, SolvedBy]:
    m = red.cover.shape[0]
    c, cons = _mclp_model(red, k)
    integrality = np.concatenate([np.ones(m), np.zeros(len(c) - m)])
    res = _solve(c, cons, integrality, deadline)
    rows: list[int] = [] if res.x is None else np.flatnonzero(res.x[:m] > 0.5).tolist()
    rows = _prune(red.cover, rows)
    dual = res.mip_dual_bound
    bound = float(red.weight.sum())
    if dual is not None and math.isfinite(dual):
        bound = min(bound, -float(dual))
    if res.status == 0:
        return rows, True, bound, "exact"
    # Stopped by the time limit: greedy may beat the incumbent (or stand in for a missing one).
    fallback, _, greedy_bound = _mclp_greedy(red, k, deadline, max_swaps)
    bound = min(bound, greedy_bound)
    if _gain(red, fallback) > _gain(red, rows):
        return fallback, False, bound, "greedy"
    return rows, False, bound, "exact"


# --------------------------------------------------------------------------- LSCP


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
    inst = _instance(times, existing, threshold_min, candidate_ids, demand_ids)
    _check_choice("method", method, _METHODS)
    _check_choice("tiebreak", tiebreak, _TIEBREAKS)
    deadline = start + _check_positive("time_limit_s", time_limit_s)
    limit = _check_count("exact_max_nonzeros", exact_max_nonzeros)

    by_candidate = inst.reach.any(axis=0)
    uncoverable = np.flatnonzero(~by_candidate & ~inst.existing_covered)
    need = by_candidate & ~inst.existing_covered
    used = _resolve(method, _nnz(inst.reach, need), limit)
    picked: list[int] = []
    optimal, bound = True, 0.0
    if need.any():
        red = _reduce(inst.reach[:, need], np.ones(int(need.sum())))
        if used == "exact":
            rows, optimal, bound, used = _lscp_exact(red, deadline)
            picked = red.cand[rows].tolist()
        else:
            rows = _prune(red.cover, _lazy_greedy(red.cover, red.weight, red.cover.shape[0]))
            lp = _lscp_lp_bound(red, deadline)
            bound = float(max(math.ceil(lp - 1e-6), 1))
            optimal = len(rows) <= bound
            picked = red.cand[rows].tolist()
    time_proven = False
    if tiebreak == "total_time":
        if used == "exact":
            picked, time_proven = _lscp_tiebreak(inst, picked, deadline)
        else:
            picked = _time_swaps(inst, picked, deadline)
    chosen = np.array(sorted(picked), dtype=np.int64)

    covered, site, is_existing, site_time = _assign(inst, chosen)
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
        solve_time_s=time.perf_counter() - start,
        candidate_ids=inst.candidate_ids,
        demand_ids=inst.demand_ids,
        threshold_min=inst.threshold,
        uncoverable=uncoverable,
        tiebreak=tiebreak,
        tiebreak_proven=time_proven,
        total_time_min=float(site_time[covered].sum()),
    )


def _lscp_exact(red: _Reduced, deadline: float) -> tuple[list[int], bool, float, SolvedBy]:
    """Solve the minimum set cover of the reduced instance.

    Returns the rows, whether their count is proven minimal, a lower bound on the count and
    the method that produced the rows.
    """
    m = red.cover.shape[0]
    cons = LinearConstraint(red.cover.T.tocsr(), 1.0, np.inf)
    res = _solve(np.ones(m), cons, np.ones(m), deadline)
    rows = [] if res.x is None else _prune(red.cover, np.flatnonzero(res.x > 0.5).tolist())
    dual = res.mip_dual_bound
    # Counts are integers, so a fractional dual bound rounds up (minus float slack).
    bound = float(math.ceil(dual - 1e-6)) if dual is not None and math.isfinite(dual) else 0.0
    if res.status == 0:
        return rows, True, bound, "exact"
    # Stopped by the time limit: greedy always finds a cover, and may beat the incumbent.
    fallback = _prune(red.cover, _lazy_greedy(red.cover, red.weight, m))
    if res.x is None or len(fallback) < len(rows):
        return fallback, len(fallback) <= bound, bound, "greedy"
    return rows, len(rows) <= bound, bound, "exact"


def _nearest_existing(inst: _Instance) -> FloatArray:
    """Return the time from the nearest existing station within the threshold (inf if none)."""
    if inst.existing.shape[0] == 0:
        return np.full(inst.times.shape[1], np.inf)
    return np.min(np.where(inst.existing <= inst.threshold, inst.existing, np.inf), axis=0)


def _time_swaps(inst: _Instance, picked: list[int], deadline: float) -> list[int]:
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
    tol = _REL_TOL * max(inst.threshold * tt.shape[1], 1.0)
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
    inst: _Instance, p: int
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
    assign = sparse.csr_array(
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
    a = sparse.vstack([assign, link, count]).tocsr()
    lb = np.concatenate([np.ones(n_pts), np.full(n_pairs, -np.inf), [p]])
    ub = np.concatenate([np.ones(n_pts), np.zeros(n_pairs), [p]])
    c = np.concatenate([np.zeros(n_cand), inst.times[j_idx, points[pt]], t_exist[points[e_pt]]])
    integrality = np.concatenate([np.ones(n_cand), np.zeros(n_pairs + n_e)])
    # Candidates covering nothing are fixed shut: they could only pad the count.
    upper = np.ones(n_var)
    upper[:n_cand][~inst.reach.any(axis=1)] = 0.0
    return c, LinearConstraint(a, lb, ub), integrality, upper


def _lscp_tiebreak(inst: _Instance, picked: list[int], deadline: float) -> tuple[list[int], bool]:
    """Among covers with ``len(picked)`` sites, find one of least total travel time.

    Returns the sites and whether their total time is proven minimal. The swap search
    always runs; the exact model only while small enough, and its answer is kept only
    when it is a valid cover of the same size that is no slower.
    """
    if not picked:
        return picked, True
    best = _time_swaps(inst, picked, deadline)
    model = _tiebreak_model(inst, len(picked))
    if model is None:
        return best, False
    c, cons, integrality, upper = model
    res = milp(
        c,
        constraints=cons,
        integrality=integrality,
        bounds=Bounds(0.0, upper),
        options={"time_limit": _remaining(deadline), "mip_rel_gap": 0.0},
    )
    if res.x is None:
        return best, False
    found = np.flatnonzero(res.x[: inst.times.shape[0]] > 0.5)
    need = inst.reach.any(axis=0) & ~inst.existing_covered
    # A numerically sloppy incumbent must still be a cover of the same size to be used.
    if len(found) != len(picked) or not np.all(inst.reach[found][:, need].any(axis=0)):
        return best, False
    tol = _REL_TOL * max(abs(float(res.fun)), 1.0)
    if _total_time(inst, found) <= _total_time(inst, np.array(sorted(best))) + tol:
        return found.tolist(), res.status == 0
    return best, False


def _total_time(inst: _Instance, chosen: IntArray) -> float:
    covered, _, _, site_time = _assign(inst, chosen)
    return float(site_time[covered].sum())
