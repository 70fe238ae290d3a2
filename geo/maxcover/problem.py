"""The max-cover instance: validated matrix, weights, conflicts, tie-break priority."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy import sparse

from geo import validate
from geo.errors import AllocationError

__all__ = [
    "EXACT_MAX_NONZEROS",
    "LP_MAX_NONZEROS",
    "METHODS",
    "MIN_SOLVER_S",
    "REL_TOL",
    "ZERO_TOL",
    "BoolArray",
    "FloatArray",
    "IntArray",
    "Method",
    "Problem",
    "SolvedBy",
    "check_choice",
    "cover_counts",
    "make_problem",
    "value_of",
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

METHODS: Final = ("auto", "exact", "greedy")
#: Relative slack below which a gain counts as zero: keeps float noise in sums of weights from
#: accepting a "better" swap that is not, which could otherwise cycle; also the slack of the
#: optimality test and of the result's own checks.
REL_TOL: Final = 1e-9
#: Relative size below which a marginal gain is no gain at all: greedy stops, and a chosen
#: candidate covering no more than this alone is redundant. Tighter than ``REL_TOL`` so
#: slivers of real weight (a lamp lighting the last centimetres of a road) still count.
ZERO_TOL: Final = 1e-12
#: Never hand HiGHS less than this, so a nearly spent time limit still yields an answer.
MIN_SOLVER_S: Final = 0.05


@dataclass(frozen=True, eq=False)
class Problem:
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


def make_problem(
    cover: Any, weight: npt.ArrayLike, k: int, conflicts: Any, priority: Any
) -> Problem:
    """Validate the inputs of :func:`geo.maxcover.solve_max_cover` into a problem."""
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
    return Problem(
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
        zero_tol=ZERO_TOL * max(total, 1.0),
        tol=REL_TOL * max(total, 1.0),
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
    return validate.weights("weight", weight, n, AllocationError, against="the columns of cover")


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


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    """Raise unless ``value`` is one of ``allowed``, naming the parameter."""
    validate.choice(name, value, allowed, AllocationError)


def cover_counts(cover: sparse.csr_array, rows: list[int] | IntArray) -> FloatArray:
    """Return how many of ``rows`` cover each column."""
    if len(rows) == 0:
        return np.zeros(cover.shape[1])
    return np.asarray(cover[np.asarray(rows)].sum(axis=0), dtype=np.float64).ravel()


def value_of(p: Problem, rows: list[int]) -> float:
    """Return the weight covered by ``rows``."""
    return float(p.weight[cover_counts(p.cover, rows) > 0].sum())
