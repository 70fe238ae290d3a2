"""What the location-allocation solvers return: frozen, self-checking results.

:class:`AllocationResult` holds what both models share (the sites opened and who covers
each demand point); :class:`MclpResult` and :class:`LscpResult` add each model's
objective. All are :class:`geo.results.Result` subclasses: they check themselves on
construction, hold read-only arrays, and give :meth:`~geo.results.Result.tables` (the
per-point ``"demand"`` frame) and :meth:`~geo.results.Result.to_dict`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from geo.allocation.instance import (
    REL_TOL,
    TIEBREAKS,
    BoolArray,
    FloatArray,
    IntArray,
    Tiebreak,
)
from geo.errors import AllocationError, InfeasibleCoverError
from geo.maxcover import SolvedBy
from geo.results import Result

__all__ = ["AllocationResult", "LscpResult", "MclpResult"]


@dataclass(frozen=True, eq=False)
class AllocationResult(Result):
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

    #: Array fields and their dtypes; subclasses extend it with their own.
    _arrays: ClassVar[dict[str, type]] = {
        "chosen": np.int64,
        "covered": np.bool_,
        "site": np.int64,
        "site_is_existing": np.bool_,
        "site_time_min": np.float64,
    }

    def __post_init__(self) -> None:
        # Copies in the stated dtype, so a caller's array (or list) never aliases ours;
        # Result then freezes them and runs _check.
        for field, dtype in self._arrays.items():
            arr: np.ndarray = np.array(getattr(self, field), dtype=dtype)
            arr.setflags(write=False)
            object.__setattr__(self, field, arr)
        super().__post_init__()

    def _check(self) -> None:
        name = type(self).__name__
        for field in self._arrays:
            shape = getattr(self, field).shape
            if len(shape) != 1:
                msg = f"{name}.{field} must be 1-D, got shape {shape}"
                raise AllocationError(msg)
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

    def _extra_tables(self) -> dict[str, pd.DataFrame]:
        return {"demand": self.to_frame()}

    def _extra_meta(self) -> dict[str, Any]:
        return {"n_sites": self.n_sites, "chosen_ids": self.chosen_ids}


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

    _arrays: ClassVar[dict[str, type]] = AllocationResult._arrays | {"newly_covered": np.int64}

    def _check(self) -> None:
        super()._check()
        tol = REL_TOL * max(self.total_demand, 1.0)
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

    def _extra_meta(self) -> dict[str, Any]:
        return super()._extra_meta() | {"covered_share": self.covered_share}


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

    _arrays: ClassVar[dict[str, type]] = AllocationResult._arrays | {"uncoverable": np.int64}

    def _check(self) -> None:
        super()._check()
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
        if self.tiebreak not in TIEBREAKS:
            msg = f"LscpResult.tiebreak must be one of {TIEBREAKS}, got {self.tiebreak!r}"
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
        return float(np.max(t)) if len(t) else math.nan

    def _extra_meta(self) -> dict[str, Any]:
        return super()._extra_meta() | {
            "feasible": self.feasible,
            "uncoverable_ids": self.uncoverable_ids,
            "max_time_min": self.max_time_min,
        }

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
