"""Match vanguard teams to villages one-to-one, or name why no match exists.

The caller hands over the travel minutes of every (team, village) pair and a mask of the
pairs it allows; this module never computes a travel time. A pair is *usable* when its
minutes are finite, the mask allows it and it is within the cap. Every team gets its own
village when teams are no more than villages; otherwise every village gets its own team.

Method
------
The default minimises the total minutes (Hungarian method, in scipy's shortest
augmenting path form, :func:`scipy.optimize.linear_sum_assignment`). ``min_max``
minimises the longest trip first: the smallest threshold ``t`` among the usable minutes
for which pairs ``<= t`` still admit a full matching is found by binary search, one
Hopcroft-Karp matching (:func:`scipy.sparse.csgraph.maximum_bipartite_matching`) per
step; then the total is minimised among the pairs ``<= t``.

Forbidden pairs cost ``inf``, which scipy's solver treats as absent (it never picks one
and fails rather than return an infeasible assignment), so no big-M constant can leak
into a total. Feasibility is checked before solving, and every chosen pair is checked
after. When no full matching exists, Hall's theorem guarantees a set ``S`` of the side
that must be matched whose usable partners ``N(S)`` are fewer than ``S``; König's
alternating search from an unmatched vertex finds one (:func:`blocking_set`), and the
error names it, so a planner sees which teams compete for too few villages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_array
from scipy.sparse.csgraph import maximum_bipartite_matching

from geo import validate
from geo.errors import TeamError
from geo.results import Result

__all__ = ["AssignParams", "Matching", "assign", "blocking_set"]

# Names shown in an infeasibility message; the side that must be matched is at most the
# smaller side of the matrix, but a list of 40 names no longer reads as a sentence.
_MAX_NAMES = 20


@dataclass(frozen=True)
class AssignParams:
    """Options of :func:`assign`.

    Parameters
    ----------
    cap_min
        Longest trip allowed, in minutes (> 0); pairs with more minutes are not used.
        None for no cap.
    min_max
        Minimise the longest trip first, then the total among the assignments with that
        longest trip (bottleneck assignment). False minimises the total alone.
    """

    cap_min: float | None = None
    min_max: bool = False

    def __post_init__(self) -> None:
        if self.cap_min is not None:
            cap = validate.positive("cap_min", self.cap_min, TeamError, unit="minutes")
            object.__setattr__(self, "cap_min", cap)
        if not isinstance(self.min_max, bool | np.bool_):
            msg = f"min_max must be True or False, got {self.min_max!r}"
            raise TeamError(msg)
        object.__setattr__(self, "min_max", bool(self.min_max))


@dataclass(frozen=True, eq=False)
class Matching(Result):
    """A one-to-one assignment of teams (rows) to villages (columns).

    Attributes
    ----------
    team
        Row index of each assigned pair, strictly increasing.
    village
        Column index of each pair, no village twice.
    minutes
        Travel minutes of each pair.
    total_min
        Sum of ``minutes``.
    longest_min
        Largest of ``minutes`` (0 for no pairs).
    min_max
        Whether the longest trip was minimised first (see :class:`AssignParams`).
    """

    team: np.ndarray
    village: np.ndarray
    minutes: np.ndarray
    total_min: float
    longest_min: float
    min_max: bool

    def _check(self) -> None:
        name = type(self).__name__
        team, village, minutes = self.team, self.village, self.minutes
        if not all(isinstance(a, np.ndarray) and a.ndim == 1 for a in (team, village, minutes)):
            msg = f"{name}.team, village and minutes must be 1-D arrays"
            raise TeamError(msg)
        if not (len(team) == len(village) == len(minutes)):
            msg = f"{name}.team, village and minutes differ in length: "
            msg += f"{len(team)}, {len(village)}, {len(minutes)}"
            raise TeamError(msg)
        if team.dtype != np.int64 or village.dtype != np.int64:
            msg = f"{name}.team and village must be int64, got {team.dtype}, {village.dtype}"
            raise TeamError(msg)
        if np.any(team < 0) or np.any(village < 0):
            msg = f"{name}.team and village must be indices >= 0"
            raise TeamError(msg)
        if np.any(np.diff(team) <= 0):
            msg = f"{name}.team must be strictly increasing (one pair per team, sorted)"
            raise TeamError(msg)
        if len(np.unique(village)) != len(village):
            msg = f"{name}.village repeats a village"
            raise TeamError(msg)
        if not (np.all(np.isfinite(minutes)) and np.all(minutes >= 0)):
            msg = f"{name}.minutes must be finite and >= 0"
            raise TeamError(msg)
        total = float(minutes.sum())
        if not np.isclose(self.total_min, total, rtol=1e-12, atol=1e-9):
            msg = f"{name}.total_min is {self.total_min}, but the minutes sum to {total}"
            raise TeamError(msg)
        longest = float(minutes.max(initial=0.0))
        if self.longest_min != longest:
            msg = f"{name}.longest_min is {self.longest_min}, but the longest trip is {longest}"
            raise TeamError(msg)


def assign(
    minutes: npt.ArrayLike,
    allowed: npt.ArrayLike | None = None,
    *,
    params: AssignParams = AssignParams(),
    team_names: Sequence[str] | None = None,
    village_names: Sequence[str] | None = None,
) -> Matching:
    """Assign teams to villages one-to-one at the least total (or longest) travel time.

    If there are no more teams than villages, every team gets exactly one village of its
    own and the remaining villages get none; if there are fewer villages than teams,
    every village gets exactly one team of its own and the remaining teams get none.

    Parameters
    ----------
    minutes
        ``(n_teams, n_villages)`` travel minutes, >= 0; NaN or inf where no route exists.
    allowed
        ``(n_teams, n_villages)`` boolean mask, True where the pair may be chosen; None
        allows every pair.
    params
        The cap and the objective (:class:`AssignParams`).
    team_names, village_names
        Names used in error messages (``n_teams`` and ``n_villages`` of them); default
        ``"team 0"``, ``"village 0"``, ...

    Returns
    -------
    Matching
        The pairs sorted by team. Every pair is usable: finite minutes, allowed, within
        the cap. ``total_min`` is the least possible total; with ``min_max``,
        ``longest_min`` is the least possible longest trip and ``total_min`` the least
        total among the assignments with that longest trip.

    Raises
    ------
    TeamError
        If an input is malformed (naming the parameter), or if no full one-to-one
        assignment exists within the limits. The message then names a set of teams
        that can reach fewer villages than there are teams in the set (or, with fewer
        villages than teams, villages reachable by fewer teams), or the teams
        (villages) with no usable pair at all.
    """
    cost = _minutes_matrix(minutes)
    usable = np.isfinite(cost)
    if allowed is not None:
        usable &= _bool_matrix("allowed", allowed, shape=cost.shape)
    if params.cap_min is not None:
        # NaN compares False, so no-route pairs stay unusable whatever the cap.
        usable &= cost <= params.cap_min
    teams = _names("team_names", team_names, cost.shape[0], "team")
    villages = _names("village_names", village_names, cost.shape[1], "village")

    blocked = _blocking(usable)
    if blocked is not None:
        msg = _infeasible_message(*blocked, usable.shape, teams, villages, params.cap_min)
        raise TeamError(msg)

    if params.min_max:
        usable &= cost <= _bottleneck(cost, usable)
    row, col = linear_sum_assignment(np.where(usable, cost, np.inf))
    row = row.astype(np.int64)
    col = col.astype(np.int64)
    # The solver sorts by row; with teams as rows that is already "sorted by team".
    if len(row) != min(cost.shape) or not np.all(usable[row, col]):
        msg = "linear_sum_assignment returned an incomplete or unusable assignment"
        raise RuntimeError(msg)
    chosen = cost[row, col]
    return Matching(
        team=row,
        village=col,
        minutes=chosen,
        total_min=float(chosen.sum()),
        longest_min=float(chosen.max()),
        min_max=params.min_max,
    )


def blocking_set(usable: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray] | None:
    """Return a set violating Hall's condition, or None if a full matching exists.

    The side that must be matched is the rows when the matrix has no more rows than
    columns, else the columns. The answer is ``(rows, columns)``, sorted int64 indices:

    - rows <= columns: ``rows`` is the set ``S`` and ``columns`` is ``N(S)``, every column
      usable from some row of ``S``, with ``len(columns) < len(rows)``;
    - rows > columns: ``columns`` is ``S`` and ``rows`` is ``N(S)``, every row usable
      from some column of ``S``, with ``len(rows) < len(columns)``.

    If some vertices of the side to match have no usable pair at all, ``S`` is all of
    them and ``N(S)`` is empty. Otherwise ``S`` is the alternating reach (König) from the
    unmatched vertex of a maximum matching whose reach is smallest: ``|N(S)| = |S| - 1``.

    Parameters
    ----------
    usable
        2-D boolean matrix, True where the pair may be matched.

    Returns
    -------
    tuple of numpy.ndarray, or None
        ``(rows, columns)`` as above; None when every vertex of the side to match can be
        matched.

    Raises
    ------
    TeamError
        If ``usable`` is not a 2-D boolean matrix.
    """
    found = _blocking(_bool_matrix("usable", usable))
    return None if found is None else found[:2]


# --------------------------------------------------------------------------- solving


def _blocking(usable: np.ndarray) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Return :func:`blocking_set`'s ``(rows, columns)`` and the maximum matching size."""
    flip = usable.shape[0] > usable.shape[1]
    found = _hall_violator(usable.T if flip else usable)
    if found is None:
        return None
    s, n, size = found
    return (n, s, size) if flip else (s, n, size)


def _full(usable: np.ndarray) -> bool:
    """Return whether the usable pairs admit a matching of the smaller side."""
    match = maximum_bipartite_matching(csr_array(usable), perm_type="column")
    return int(np.count_nonzero(match >= 0)) == min(usable.shape)


def _bottleneck(cost: np.ndarray, usable: np.ndarray) -> float:
    """Return the least ``t`` such that the usable pairs ``<= t`` still match fully.

    The caller has checked that all usable pairs match fully, so the largest usable value
    is a feasible threshold and the search always ends on one.
    """
    values = np.unique(cost[usable])
    # Each vertex of a side that must be matched takes some pair, so t is at least its
    # cheapest one; starting there skips most of the search on dense matrices.
    masked = np.where(usable, cost, np.inf)
    floor = -np.inf
    n_rows, n_cols = cost.shape
    if n_rows <= n_cols:
        floor = max(floor, float(masked.min(axis=1).max()))
    if n_cols <= n_rows:
        floor = max(floor, float(masked.min(axis=0).max()))
    lo = int(np.searchsorted(values, floor, side="left"))
    hi = len(values) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _full(usable & (cost <= values[mid])):
            hi = mid
        else:
            lo = mid + 1
    return float(values[lo])


def _hall_violator(side: np.ndarray) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Return ``(S, N(S), matching size)`` for the rows of ``side`` (rows <= columns).

    None when every row can be matched.
    """
    col_of_row = maximum_bipartite_matching(csr_array(side), perm_type="column")
    unmatched = np.flatnonzero(col_of_row < 0)
    if unmatched.size == 0:
        return None
    size = side.shape[0] - unmatched.size
    isolated = unmatched[~side[unmatched].any(axis=1)]
    if isolated.size:
        return isolated.astype(np.int64), np.empty(0, dtype=np.int64), size
    matched = np.flatnonzero(col_of_row >= 0)
    row_of_col = np.full(side.shape[1], -1, dtype=np.int64)
    row_of_col[col_of_row[matched]] = matched
    # One search per unmatched row (at most the smaller side, 40 teams in practice):
    # the smallest set is the easiest for a planner to act on; ties go to the lowest row.
    reaches = [_alternating_reach(side, int(start), row_of_col) for start in unmatched]
    rows, cols = min(reaches, key=lambda reach: reach[0].size)
    return rows, cols, size


def _alternating_reach(
    side: np.ndarray, start: int, row_of_col: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the rows and columns reached from ``start`` by alternating paths.

    From a row every usable column is taken, from a column only its matched row. Every
    reached column is matched (an unmatched one would end an augmenting path, and the
    matching is maximum), so the reached columns are exactly the usable partners of the
    reached rows and number one fewer than them.
    """
    seen_rows = np.zeros(side.shape[0], dtype=bool)
    seen_cols = np.zeros(side.shape[1], dtype=bool)
    seen_rows[start] = True
    frontier = np.array([start])
    while frontier.size:
        new_cols = side[frontier].any(axis=0) & ~seen_cols
        seen_cols |= new_cols
        nxt = row_of_col[new_cols]
        if np.any(nxt < 0):
            msg = "maximum_bipartite_matching returned a matching that is not maximum"
            raise RuntimeError(msg)
        frontier = nxt[~seen_rows[nxt]]
        seen_rows[frontier] = True
    return np.flatnonzero(seen_rows).astype(np.int64), np.flatnonzero(seen_cols).astype(np.int64)


# --------------------------------------------------------------------------- inputs


def _minutes_matrix(minutes: npt.ArrayLike) -> np.ndarray:
    """Return ``minutes`` as a validated 2-D float64 matrix."""
    arr = np.asarray(minutes)
    if arr.dtype.kind not in "iuf":
        msg = f"minutes must be a numeric matrix, got dtype {arr.dtype}"
        raise TeamError(msg)
    if arr.ndim != 2:
        msg = f"minutes must be a 2-D (n_teams, n_villages) matrix, got shape {arr.shape}"
        raise TeamError(msg)
    if arr.size == 0:
        msg = f"minutes is empty (shape {arr.shape}): give at least one team and one village"
        raise TeamError(msg)
    out = arr.astype(np.float64)
    negative = np.argwhere(out < 0)
    if len(negative):
        i, j = negative[0]
        msg = f"minutes must be >= 0 (NaN or inf for no route); {len(negative)} pair(s) "
        msg += f"are negative, first team {i}, village {j}: {out[i, j]}"
        raise TeamError(msg)
    return out


def _bool_matrix(
    name: str, value: npt.ArrayLike, *, shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """Return ``value`` as a 2-D boolean matrix (of ``shape`` if given), or raise."""
    arr = np.asarray(value)
    if arr.dtype != np.bool_:
        # 0/1 numbers or minutes passed by mistake would otherwise be read as a mask.
        msg = f"{name} must be a boolean matrix, got dtype {arr.dtype}"
        raise TeamError(msg)
    if arr.ndim != 2:
        msg = f"{name} must be a 2-D matrix, got shape {arr.shape}"
        raise TeamError(msg)
    if shape is not None and arr.shape != shape:
        msg = f"{name} has shape {arr.shape}, but minutes has shape {shape}"
        raise TeamError(msg)
    return arr


def _names(name: str, names: Sequence[str] | None, n: int, kind: str) -> list[str]:
    """Return ``n`` display names, the given ones or ``"<kind> <index>"``."""
    if names is None:
        return [f"{kind} {i}" for i in range(n)]
    if isinstance(names, str):
        msg = f"{name} must be a sequence of names, not one string"
        raise TeamError(msg)
    out = [str(x) for x in names]
    if len(out) != n:
        msg = f"{name} has {len(out)} names, but minutes has {n} {kind}s"
        raise TeamError(msg)
    return out


# --------------------------------------------------------------------------- messages


def _infeasible_message(
    rows: np.ndarray,
    cols: np.ndarray,
    n_matched: int,
    shape: tuple[int, ...],
    teams: list[str],
    villages: list[str],
    cap_min: float | None,
) -> str:
    """Say in plain words which teams (or villages) cannot all be matched, and why."""
    limits = (
        f"within the cap of {cap_min:g} min and the other limits"
        if cap_min is not None
        else "with the routes and pairs allowed"
    )
    remedy = (
        "raise --cap-min, allow more pairs, or select other villages"
        if cap_min is not None
        else "allow more pairs or select other villages"
    )
    team_side = shape[0] <= shape[1]
    # The named set may be one of several; the matching size says how far off the whole
    # request is, so a planner does not fix one set and meet the next.
    whole = (
        f"at most {n_matched} of the {shape[0]} teams can each get a village of their own"
        if team_side
        else f"at most {n_matched} of the {shape[1]} villages can each get a team of their own"
    )
    if team_side:
        s_names = [teams[i] for i in rows]
        n_names = [villages[j] for j in cols]
        if not n_names:
            who = _plural(len(s_names), "team")
            blocked = f"{who} {_listed(s_names)} can reach no selected village"
        else:
            blocked = (
                f"these {_count(len(s_names), 'team')} ({_listed(s_names)}) can reach only "
                f"{_count(len(n_names), 'village')} ({_listed(n_names)})"
            )
    else:
        s_names = [villages[j] for j in cols]
        n_names = [teams[i] for i in rows]
        if not n_names:
            who = _plural(len(s_names), "village")
            blocked = f"{who} {_listed(s_names)} can be reached by no team"
        else:
            blocked = (
                f"these {_count(len(s_names), 'village')} ({_listed(s_names)}) can be "
                f"reached by only {_count(len(n_names), 'team')} ({_listed(n_names)})"
            )
    return f"no assignment: {blocked} {limits}; {whole}; {remedy}"


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"


def _count(n: int, word: str) -> str:
    return f"{n} {_plural(n, word)}"


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_NAMES])
    more = len(names) - _MAX_NAMES
    return f"{shown}, ... and {more} more" if more > 0 else shown
