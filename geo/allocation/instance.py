"""The validated instance both location models start from, its reductions, and assignment.

Package-internal: :func:`make_instance` checks the caller's arrays (naming the parameter
in every error), :func:`merge_duplicates` applies the optimum-preserving reductions and
:func:`assign` finds each demand point's nearest open site. The public API is in
:mod:`geo.allocation`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy import sparse

from geo import validate
from geo.errors import AllocationError
from geo.maxcover import Method, SolvedBy

__all__ = [
    "BoolArray",
    "FloatArray",
    "Instance",
    "IntArray",
    "METHODS",
    "REL_TOL",
    "Reduced",
    "TIEBREAKS",
    "Tiebreak",
    "assign",
    "check_choice",
    "check_count",
    "check_positive",
    "make_instance",
    "merge_duplicates",
    "nnz",
    "remaining",
    "resolve",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
Tiebreak: TypeAlias = Literal["total_time", "none"]

METHODS: Final = ("auto", "exact", "greedy")
TIEBREAKS: Final = ("total_time", "none")
#: Relative slack below which a gain counts as zero: keeps float noise in sums of weights from
#: accepting a "better" swap that is not, which could otherwise cycle.
REL_TOL: Final = 1e-9
#: Never hand HiGHS less than this, so a nearly spent time limit still yields an answer.
_MIN_SOLVER_S: Final = 0.05


def remaining(deadline: float) -> float:
    """Return the seconds left before ``deadline``, never less than a minimal solver slice."""
    return max(deadline - time.perf_counter(), _MIN_SOLVER_S)


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class Instance:
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


def check_positive(name: str, value: float) -> float:
    """Return ``value`` as a finite float > 0, or raise naming ``name``."""
    return validate.positive(name, value, AllocationError)


def check_count(name: str, value: int, upper: int | None = None) -> int:
    """Return ``value`` as an int in ``[0, upper]``, or raise naming ``name``."""
    return validate.count(name, value, AllocationError, high=upper)


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    """Raise naming ``name`` unless ``value`` is one of ``allowed``."""
    validate.choice(name, value, allowed, AllocationError)


def make_instance(
    times: npt.ArrayLike,
    existing: npt.ArrayLike | None,
    threshold_min: float,
    candidate_ids: Sequence[str] | None,
    demand_ids: Sequence[str] | None,
) -> Instance:
    """Validate the caller's matrices, threshold and ids; derive the coverage masks."""
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
    threshold = check_positive("threshold_min", threshold_min)
    return Instance(
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
class Reduced:
    """An instance with duplicate candidates and demand points merged.

    ``cover[r, g]`` is 1 when candidate ``cand[r]`` covers demand group ``g``; ``weight[g]``
    is the summed weight of the points in the group and ``members[p]`` the group of the
    ``p``-th point handed to :func:`merge_duplicates`.
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


def merge_duplicates(reach: BoolArray, weight: FloatArray) -> Reduced:
    """Merge identical candidates (keeping the lowest index) and identical demand points.

    ``reach`` is (n_candidates, n_points) over the points still to cover; every point must
    be covered by at least one candidate.
    """
    useful = np.flatnonzero(reach.any(axis=1))
    first, _ = _unique_rows(reach[useful])
    cand = np.sort(useful[first])
    sub = reach[cand]
    col_first, members = _unique_rows(np.ascontiguousarray(sub.T))
    return Reduced(
        cover=sparse.csr_array(sub[:, col_first].astype(np.float64)),
        weight=np.bincount(members, weights=weight, minlength=len(col_first)).astype(np.float64),
        cand=cand.astype(np.int64),
        members=members,
    )


def nnz(reach: BoolArray, points: BoolArray) -> int:
    """Return the nonzeros of the coverage matrix restricted to ``points``."""
    return int(np.count_nonzero(reach[:, points]))


def resolve(method: Method, size: int, limit: int) -> SolvedBy:
    """Return the method ``"auto"`` stands for at this size (others stand for themselves)."""
    if method == "greedy" or (method == "auto" and size > limit):
        return "greedy"
    return "exact"


# --------------------------------------------------------------------------- assignment


def assign(inst: Instance, chosen: IntArray) -> tuple[BoolArray, IntArray, BoolArray, FloatArray]:
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
