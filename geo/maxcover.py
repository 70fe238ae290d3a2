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

import heapq
import math
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from geo import validate
from geo.errors import AllocationError
from geo.results import Result

__all__ = [
    "EXACT_MAX_NONZEROS",
    "LP_MAX_NONZEROS",
    "MaxCoverResult",
    "Method",
    "SolvedBy",
    "prune",
    "solve_max_cover",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
Method: TypeAlias = Literal["auto", "exact", "greedy"]
SolvedBy: TypeAlias = Literal["exact", "greedy"]

#: ``method="auto"`` solves exactly while the coverage matrix handed to the solver (candidates
#: x demand points still to cover, before merging duplicates) has at most this many
#: nonzeros. The size was measured, not guessed: on synthetic clustered-village instances
#: (300-600 candidates, 2,000-5,000 villages, 8-15 min thresholds) HiGHS proved MCLP and LSCP
#: optimality in 0.2-27 s up to ~30k nonzeros, but needed 37 s to over 60 s at 61k-121k.
#: Hardness depends on overlap more than size, so this is a budget, not a promise; past the
#: time limit exact mode still returns its best solution (never worse than greedy's) with
#: HiGHS's bound and ``optimal=False``. Conflict rows were not part of the measurement.
EXACT_MAX_NONZEROS: Final = 50_000

#: Greedy adds the LP relaxation to its bound while the coverage matrix has at most this
#: many nonzeros (``lp_max_nonzeros``), unless its cheap bounds already prove it optimal.
#: Measured with HiGHS's interior point on unreduced clustered-village coverage matrices
#: (k = 10-40): 0.15-0.3 s at 13k-29k nonzeros, 0.5-0.6 s at 46k, 1-3 s at 72k-105k, 6-8 s
#: at 280k, while greedy itself takes 5-40 ms; past this size the LP would dominate.
LP_MAX_NONZEROS: Final = 50_000

_METHODS: Final = ("auto", "exact", "greedy")
#: Relative slack below which a gain counts as zero: keeps float noise in sums of weights from
#: accepting a "better" swap that is not, which could otherwise cycle; also the slack of the
#: optimality test and of the result's own checks.
_REL_TOL: Final = 1e-9
#: Relative size below which a marginal gain is no gain at all: greedy stops, and a chosen
#: candidate covering no more than this alone is redundant. Tighter than ``_REL_TOL`` so
#: slivers of real weight (a lamp lighting the last centimetres of a road) still count.
_ZERO_TOL: Final = 1e-12
#: Never hand HiGHS less than this, so a nearly spent time limit still yields an answer.
_MIN_SOLVER_S: Final = 0.05


# --------------------------------------------------------------------------- result


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
        Proven upper bound on the best value of any feasible set, ``>= value``; the
        smallest of the bounds in ``bound_source``'s vocabulary that were computed.
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
        tol = _REL_TOL * max(abs(self.value), 1.0)
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


# --------------------------------------------------------------------------- entry points


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
    p = _problem(cover, weight, k, conflicts, priority)
    _check_choice("method", method, _METHODS)
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
        return _result(p, [], [], used, 0.0, "total weight", True, start, nothing=True)

    bounds = _Bounds()
    bounds.add("total weight", p.coverable)
    bounds.add("top-k singletons", float(np.sort(p.single)[::-1][: p.k].sum()))
    greedy_order: list[int] | None = None
    greedy_gains: list[float] = []
    timed_out = False
    if used == "exact":
        rows, proven, dual = _exact(p, deadline)
        bounds.add("HiGHS dual bound", dual)
        if rows is not None:
            rows = _prune(p, rows) if prune else rows
            bounds.add("online", _online_bound(p, rows))
        if proven and rows is not None:
            final = rows
        else:
            timed_out = True
            # Stopped by the time limit: greedy may beat the incumbent (or stand in for a
            # missing one).
            fallback, greedy_order, greedy_gains = _heuristic(p, max_swaps, prune, bounds)
            _lp_bound(p, bounds, deadline, lp_limit, _value(p, fallback))
            if rows is None or _value(p, fallback) > _value(p, rows):
                final, used = fallback, "greedy"
            else:
                final = rows
    else:
        final, greedy_order, greedy_gains = _heuristic(p, max_swaps, prune, bounds)
        _lp_bound(p, bounds, deadline, lp_limit, _value(p, final))

    if final == greedy_order:
        order, gains = final, greedy_gains
    else:
        order, gains = _pick_order(p, final)
    value = _value(p, order)
    bound, source = bounds.best()
    if used == "exact" or timed_out:
        optimal = not timed_out
    else:
        optimal = value >= bound - _REL_TOL * max(bound, 1.0)
    return _result(p, order, gains, used, bound, source, optimal, start, timed_out=timed_out)


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
    p = _problem(cover, weight, 0, None, None)
    rows = np.asarray(chosen)
    if rows.ndim != 1 or (rows.size and not np.issubdtype(rows.dtype, np.integer)):
        msg = f"chosen must be a 1-D array of candidate indices, got {rows.dtype} {rows.shape}"
        raise AllocationError(msg)
    n = p.cover.shape[0]
    if np.any((rows < 0) | (rows >= n)) or len(np.unique(rows)) != len(rows):
        msg = f"chosen must hold distinct candidate indices in [0, {n})"
        raise AllocationError(msg)
    return np.asarray(_prune(p, rows.astype(np.int64).tolist()), dtype=np.int64)


# --------------------------------------------------------------------------- instance


@dataclass(frozen=True, eq=False)
class _Problem:
    """A validated instance plus what every stage reads from it."""

    cover: sparse.csr_array  # (m, n) float64 0/1, canonical
    weight: FloatArray  # (n,)
    k: int
    pairs: IntArray  # (n_pairs, 2), i < j, unique
    nbr: sparse.csr_array | None  # (m, m) conflict adjacency, None without conflicts
    rank: IntArray  # (m,) tie-break rank, 0 best; unique
    by_rank: list[int]  # candidate of each rank
    single: FloatArray  # (m,) value of each candidate alone
    useful: IntArray  # candidates covering an element with weight
    coverable: float  # weight of the elements some candidate covers
    zero_tol: float  # absolute gain below which nothing is gained
    tol: float  # absolute slack of improvements and comparisons


def _problem(cover: Any, weight: npt.ArrayLike, k: int, conflicts: Any, priority: Any) -> _Problem:
    a = _matrix(cover)
    m, n = a.shape
    w = _weights(weight, n)
    k = validate.count("k", k, AllocationError)
    pairs = _pairs(conflicts, m)
    nbr = None
    if len(pairs):
        i, j = pairs[:, 0], pairs[:, 1]
        nbr = sparse.csr_array(
            (np.ones(2 * len(pairs)), (np.concatenate([i, j]), np.concatenate([j, i]))),
            shape=(m, m),
        )
    degree = np.zeros(m, dtype=np.int64) if nbr is None else np.diff(nbr.indptr)
    keys = _priority(priority, m)
    # lexsort takes its primary key last: higher priority (first column first), then
    # fewer conflicts, then the lowest index. Ranks are unique, so heap entries
    # (-gain, rank) compare exactly like (-gain, -priority..., degree, index).
    order = np.lexsort(
        (np.arange(m), degree, *(-keys[:, c] for c in reversed(range(keys.shape[1]))))
    )
    rank = np.empty(m, dtype=np.int64)
    rank[order] = np.arange(m)
    single = np.asarray(a @ w, dtype=np.float64)
    counts = np.bincount(a.indices, minlength=n)
    useful = np.flatnonzero(np.asarray(a @ (w > 0).astype(np.float64)) > 0)
    total = float(w.sum())
    return _Problem(
        cover=a,
        weight=w,
        k=k,
        pairs=pairs,
        nbr=nbr,
        rank=rank,
        by_rank=order.tolist(),
        single=single,
        useful=useful.astype(np.int64),
        coverable=float(w[counts > 0].sum()),
        zero_tol=_ZERO_TOL * max(total, 1.0),
        tol=_REL_TOL * max(total, 1.0),
    )


def _matrix(cover: Any) -> sparse.csr_array:
    try:
        raw = cover if sparse.issparse(cover) else np.asarray(cover, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"cover must be a numeric 0/1 matrix (n_candidates, n_elements): {exc}"
        raise AllocationError(msg) from exc
    if raw.ndim != 2:
        msg = f"cover must be a 2-D matrix (n_candidates, n_elements), got shape {raw.shape}"
        raise AllocationError(msg)
    # A copy in canonical form: the loops below read indptr / indices directly.
    a = sparse.csr_array(raw, dtype=np.float64, copy=True)
    a.sum_duplicates()
    a.eliminate_zeros()
    if np.any(a.data != 1.0):
        bad = a.data[a.data != 1.0][0]
        msg = f"cover must hold only 0 and 1, found {bad:g}"
        raise AllocationError(msg)
    a.sort_indices()
    return a


def _weights(weight: npt.ArrayLike, n: int) -> FloatArray:
    try:
        w = np.array(weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"weight must be a numeric array of shape (n_elements,): {exc}"
        raise AllocationError(msg) from exc
    if w.shape != (n,):
        msg = f"weight must have shape ({n},) to match the columns of cover, got {w.shape}"
        raise AllocationError(msg)
    if not np.all(np.isfinite(w)):
        msg = "weight must be finite (no NaN or inf)"
        raise AllocationError(msg)
    if np.any(w < 0):
        msg = f"weight must be >= 0, got min {w.min():g} at index {int(np.argmin(w))}"
        raise AllocationError(msg)
    return w


def _pairs(conflicts: Any, m: int) -> IntArray:
    if conflicts is None:
        return np.zeros((0, 2), dtype=np.int64)
    raw = np.asarray(conflicts)
    if raw.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if raw.ndim != 2 or raw.shape[1] != 2 or not np.issubdtype(raw.dtype, np.integer):
        msg = (
            f"conflicts must be an integer array of shape (n_pairs, 2), got {raw.dtype} {raw.shape}"
        )
        raise AllocationError(msg)
    if np.any((raw < 0) | (raw >= m)):
        msg = f"conflicts must hold candidate indices in [0, {m})"
        raise AllocationError(msg)
    if np.any(raw[:, 0] == raw[:, 1]):
        first = int(raw[raw[:, 0] == raw[:, 1]][0, 0])
        msg = f"conflicts pairs candidate {first} with itself"
        raise AllocationError(msg)
    lo, hi = raw.min(axis=1).astype(np.int64), raw.max(axis=1).astype(np.int64)
    key = np.unique(lo * m + hi)
    return np.column_stack([key // m, key % m])


def _priority(priority: Any, m: int) -> FloatArray:
    if priority is None:
        return np.zeros((m, 0))
    try:
        keys = np.asarray(priority, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"priority must be numeric, shape (n_candidates,) or (n_candidates, n_keys): {exc}"
        raise AllocationError(msg) from exc
    if keys.ndim == 1:
        keys = keys[:, None]
    if keys.ndim != 2 or keys.shape[0] != m:
        msg = f"priority must have shape ({m},) or ({m}, n_keys), got {np.shape(priority)}"
        raise AllocationError(msg)
    if not np.all(np.isfinite(keys)):
        msg = "priority must be finite (no NaN or inf)"
        raise AllocationError(msg)
    return keys


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        msg = f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}"
        raise AllocationError(msg)


# --------------------------------------------------------------------------- greedy


def _lazy_greedy(p: _Problem, among: IntArray | None = None) -> tuple[list[int], list[float]]:
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


def _heuristic(
    p: _Problem, max_swaps: int, prune: bool, bounds: _Bounds
) -> tuple[list[int], list[int], list[float]]:
    """Run greedy, swaps and pruning; add their online bounds.

    Returns the final set and greedy's own picks and gains (the pick order of the final
    set when nothing changed it).
    """
    picked, got = _lazy_greedy(p)
    bounds.add("online", _online_bound(p, picked))
    rows = _local_search(p, picked, max_swaps) if max_swaps else list(picked)
    rows = _prune(p, rows) if prune else rows
    if rows != picked:
        bounds.add("online", _online_bound(p, rows))
    return rows, picked, got


def _pick_order(p: _Problem, rows: list[int]) -> tuple[list[int], list[float]]:
    """Order a set as greedy would pick it, best first; members adding nothing go last."""
    if not rows:
        return [], []
    members = np.array(sorted(rows), dtype=np.int64)
    order, gains = _lazy_greedy(p, members)
    taken = set(order)
    rest = [j for j in members[np.argsort(p.rank[members])].tolist() if j not in taken]
    return order + rest, gains + [0.0] * len(rest)


def _cover_counts(cover: sparse.csr_array, rows: list[int] | IntArray) -> FloatArray:
    """Return how many of ``rows`` cover each column."""
    if len(rows) == 0:
        return np.zeros(cover.shape[1])
    return np.asarray(cover[np.asarray(rows)].sum(axis=0), dtype=np.float64).ravel()


def _value(p: _Problem, rows: list[int]) -> float:
    return float(p.weight[_cover_counts(p.cover, rows) > 0].sum())


def _prune(p: _Problem, rows: list[int]) -> list[int]:
    """Drop rows that cover no weight alone, trying the last-listed first.

    One at a time, because two rows that each look redundant may be jointly needed.
    """
    cover = p.cover
    counts = _cover_counts(cover, rows)
    kept = list(rows)
    for j in reversed(rows):
        cols = cover.indices[cover.indptr[j] : cover.indptr[j + 1]]
        if float(p.weight[cols[counts[cols] < 2]].sum()) <= p.zero_tol:
            kept.remove(j)
            counts[cols] -= 1
    return kept


def _local_search(p: _Problem, rows: list[int], max_moves: int) -> list[int]:
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
        counts = _cover_counts(cover, current)
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


# --------------------------------------------------------------------------- bounds


class _Bounds:
    """The smallest upper bound seen so far, and which kind it is."""

    def __init__(self) -> None:
        self.value = math.inf
        self.source = "total weight"

    def add(self, source: str, value: float) -> None:
        if value < self.value:
            self.value, self.source = value, source

    def best(self) -> tuple[float, str]:
        return self.value, self.source


def _online_bound(p: _Problem, rows: list[int]) -> float:
    """Upper-bound the best k-candidate value (Minoux 1978; Leskovec et al. 2007).

    By submodularity OPT <= f(S) + the sum of the k largest marginal gains w.r.t. S, for
    any set S; conflicts can only lower OPT.
    """
    counts = _cover_counts(p.cover, rows)
    value = float(p.weight[counts > 0].sum())
    add_gain = np.asarray(p.cover @ (p.weight * (counts == 0)), dtype=np.float64)
    top = np.sort(add_gain)[::-1][: p.k]
    return value + float(top.sum())


def _remaining(deadline: float) -> float:
    return max(deadline - time.perf_counter(), _MIN_SOLVER_S)


def _model(p: _Problem) -> tuple[FloatArray, LinearConstraint, IntArray]:
    """Return the objective, constraints and candidates of the MILP / LP.

    Variables ``[x (useful candidates), y (elements with weight)]``: ``y_e <= sum of x
    over candidates covering e``, ``sum x <= k`` and ``x_i + x_j <= 1`` per conflict.
    ``<= k`` rather than ``== k``: coverage is monotone, so the optimum is the same, and
    a candidate adding nothing need not be forced in. Candidates covering no weight and
    elements without weight cannot change the optimum and stay out.
    """
    cand = p.useful
    cols = np.flatnonzero(p.weight > 0)
    sub = p.cover[cand][:, cols]
    m, g = sub.shape
    link = sparse.hstack([-sub.T, sparse.eye_array(g)])
    budget = sparse.hstack(
        [sparse.csr_array(np.ones((1, m))), sparse.csr_array((1, g), dtype=np.float64)]
    )
    blocks = [link, budget]
    ub: list[FloatArray] = [np.zeros(g), np.array([float(p.k)])]
    if len(p.pairs):
        pos = np.full(p.cover.shape[0], -1, dtype=np.int64)
        pos[cand] = np.arange(m)
        pairs = pos[p.pairs]
        pairs = pairs[(pairs >= 0).all(axis=1)]
        nc = len(pairs)
        if nc:
            blocks.append(
                sparse.csr_array(
                    (np.ones(2 * nc), (np.repeat(np.arange(nc), 2), pairs.ravel())),
                    shape=(nc, m + g),
                )
            )
            ub.append(np.ones(nc))
    a = sparse.vstack(blocks).tocsr()
    c = np.concatenate([np.zeros(m), -p.weight[cols]])
    return c, LinearConstraint(a, -np.inf, np.concatenate(ub)), cand


def _exact(p: _Problem, deadline: float) -> tuple[list[int] | None, bool, float]:
    """Solve the MILP; return its incumbent (None if none), proven optimal, its bound."""
    c, cons, cand = _model(p)
    m = len(cand)
    res = milp(
        c,
        constraints=cons,
        integrality=np.concatenate([np.ones(m), np.zeros(len(c) - m)]),
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": _remaining(deadline), "mip_rel_gap": 0.0},
    )
    dual = getattr(res, "mip_dual_bound", None)
    bound = -float(dual) if dual is not None and math.isfinite(dual) else math.inf
    if res.x is None:
        return None, False, bound
    rows = cand[np.flatnonzero(res.x[:m] > 0.5)]
    # A numerically sloppy incumbent must still be feasible to be used.
    if len(rows) > p.k or (p.nbr is not None and p.nbr[rows][:, rows].nnz > 0):
        return None, False, bound
    return rows.tolist(), bool(res.status == 0), bound


def _lp_bound(
    p: _Problem, bounds: _Bounds, deadline: float, limit: int | None, value: float
) -> None:
    """Add the LP relaxation's value to ``bounds``, if small enough and still of use.

    ``value`` is the best value found: once a bound meets it, none can be tighter.

    Interior point: on the coverage LPs measured (15k-60k nonzeros) it ran 2-4.5x faster
    than HiGHS's dual simplex, and crossover still returns an exact vertex value.
    """
    if (limit is not None and p.cover.nnz > limit) or value >= bounds.value - p.tol:
        return
    c, cons, _ = _model(p)
    res = linprog(
        c,
        A_ub=cons.A,
        b_ub=cons.ub,
        bounds=(0.0, 1.0),
        method="highs-ipm",
        options={"time_limit": _remaining(deadline)},
    )
    if res.status == 0:
        bounds.add("LP relaxation", -float(res.fun))


# --------------------------------------------------------------------------- guarantee


def _guarantee(p: _Problem, proven: bool) -> tuple[str, float]:
    """Return the worst-case guarantee of greedy on this instance (or the MILP's proof)."""
    if proven:
        return "optimal (MILP solved to proven optimality by HiGHS)", 1.0
    positive = p.weight > 0
    per_element = np.bincount(p.cover.indices, minlength=len(p.weight))
    modular = bool(not positive.any() or per_element[positive].max() <= 1)
    d = 0
    if len(p.pairs):
        # Only candidates with value can be chosen, so only their conflicts shape the system.
        valued = np.zeros(p.cover.shape[0], dtype=bool)
        valued[p.useful] = True
        inner = p.pairs[valued[p.pairs].all(axis=1)]
        if len(inner):
            d = int(np.bincount(inner.ravel()).max())
    if d == 0:
        if modular:
            return "optimal (modular coverage, no conflicts: greedy takes the top k)", 1.0
        return "1 - 1/e of optimal (monotone submodular coverage, Nemhauser et al. 1978)", (
            1.0 - 1.0 / math.e
        )
    if modular and d == 1:
        return "optimal (modular coverage on a 1-system, a matroid: Jenkyns 1976)", 1.0
    if modular:
        return f"1/{d} of optimal (modular coverage on a {d}-system, Jenkyns 1976)", 1.0 / d
    return (
        f"1/{d + 1} of optimal (submodular coverage on a {d}-system, Fisher et al. 1978)",
        1.0 / (d + 1),
    )


def _result(
    p: _Problem,
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
    value = _value(p, order)
    if nothing:
        guarantee, ratio = (
            "optimal (nothing to choose: k is 0 or no candidate covers any weight)",
            1.0,
        )
    else:
        guarantee, ratio = _guarantee(p, proven=used == "exact" and optimal)
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
