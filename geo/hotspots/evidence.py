"""Does a cell or stretch of road have incidents enough of its own? The evidence test.

Gi* measures whether a unit *and its neighbours* together hold more than their share:
it describes hot **areas**. With sparse counts it lends heat from a busy neighbour to a
unit with no incident at all (a stretch with 0 incidents next to one with 50 is "hot
99 %"). :func:`own_count_test` asks the other question, of each unit alone: is its own
count more than the study area's rate would give it by chance? Together they give the
unit's ``role`` (:data:`ROLES`), and the evidence order (:func:`evidence_order`) ranks
units by their own incidents, never a unit without incidents among the cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from geo.errors import HotspotError
from geo.hotspots._checks import BoolArray, FloatArray, IntArray, check_alpha, require_columns
from geo.results import Result
from geo.validate import count

__all__ = [
    "DEFAULT_MIN_COUNT",
    "EVIDENCE_COLUMNS",
    "ROLES",
    "OwnCountTest",
    "check_min_count",
    "evidence_order",
    "own_count_test",
]

#: Fewest incidents of its own a unit needs to be a core (see :func:`own_count_test`).
DEFAULT_MIN_COUNT: Final = 2

#: Every value of the ``role`` column (``""``: no role; see :func:`add_evidence_columns`).
ROLES: Final = ("hotspot core", "part of a hot area", "elevated", "")

#: Columns :func:`add_evidence_columns` adds to a table of cells or road pieces.
EVIDENCE_COLUMNS: Final = ("expected", "rate_ratio", "p_own", "p_own_fdr", "core", "role")

# Relative slack of the checks that compare sums of floats.
_REL: Final = 1e-9


@dataclass(frozen=True, eq=False)
class OwnCountTest(Result):
    """Exact one-sided Poisson test of each unit's own count (see :func:`own_count_test`).

    ``expected`` is the count the unit would have at the area's rate, ``rate_ratio`` its
    count over that (0 where nothing is expected), ``p`` the probability of at least its
    count by chance, ``p_fdr`` the Benjamini-Hochberg adjusted ``p`` over all units and
    ``core`` is ``count >= min_count`` and ``p_fdr <= alpha``.
    """

    count: IntArray
    expected: FloatArray
    rate_ratio: FloatArray
    p: FloatArray
    p_fdr: FloatArray
    core: BoolArray
    alpha: float
    min_count: int

    def _check(self) -> None:
        """Raise unless the arrays agree in shape and ``core`` follows from the others."""
        arrays = (self.count, self.expected, self.rate_ratio, self.p, self.p_fdr, self.core)
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            msg = f"OwnCountTest arrays disagree in shape: {sorted(shapes)}"
            raise HotspotError(msg)
        check_alpha(self.alpha)
        check_min_count(self.min_count)
        _check_core(
            self.count, self.p, self.p_fdr, self.core, self.alpha, self.min_count, "OwnCountTest"
        )


def check_min_count(min_count: object) -> int:
    """Return ``min_count`` as an int >= 1, or raise."""
    return count("min_count", min_count, HotspotError, low=1)


def own_count_test(
    counts: npt.ArrayLike,
    exposure: npt.ArrayLike | None = None,
    *,
    alpha: float = 0.05,
    min_count: int = DEFAULT_MIN_COUNT,
) -> OwnCountTest:
    """Test whether each unit holds more incidents than the area's rate would give it.

    Parameters
    ----------
    counts
        ``(n,)`` incidents counted in each unit (cell or road piece).
    exposure
        ``(n,)`` positive size of each unit: road length for roads; None gives every unit
        the same size (equal cells).
    alpha
        FDR level of ``core``.
    min_count
        Fewest incidents of its own a unit needs to be a core, whatever its p-value.

    Returns
    -------
    OwnCountTest
        Per unit: ``expected = N * exposure / sum(exposure)`` with ``N = sum(counts)``;
        ``rate_ratio = count / expected``; ``p = P(X >= count)`` for ``X ~ Poisson(
        expected)``, i.e. ``scipy.stats.poisson.sf(count - 1, expected)`` (1 for a unit
        with no incident); ``p_fdr`` (Benjamini-Hochberg over the ``n`` units, as
        :func:`~geo.hotspots.fdr_bh`); and ``core = (count >= min_count) & (p_fdr <=
        alpha)``.

    Raises
    ------
    HotspotError
        If counts are not whole non-negative numbers, the exposure is not positive and
        finite or does not match, or ``alpha`` or ``min_count`` is out of range.

    Notes
    -----
    The null hypothesis is that incidents fall uniformly over the exposure (per km of
    road, or per cell) at the study area's own rate; the test is exact and one-sided
    (only excess counts), so a unit with no incident, or no more than its share, is
    never a core. Discrete p-values make it conservative. It says nothing about the
    neighbours: that is Gi*'s part.
    """
    # gistar builds its cells with this module, so its FDR is imported when first needed.
    from geo.hotspots.gistar import fdr_bh

    a = check_alpha(alpha)
    k_min = check_min_count(min_count)
    raw = np.asarray(counts)
    if raw.ndim != 1 or raw.size == 0:
        msg = f"counts must be a non-empty 1-D array, got shape {raw.shape}"
        raise HotspotError(msg)
    k = raw.astype(np.int64) if np.issubdtype(raw.dtype, np.number) else None
    if k is None or not np.array_equal(k, raw) or (k < 0).any():
        msg = "counts must be whole non-negative numbers"
        raise HotspotError(msg)
    n = len(k)
    if exposure is None:
        size = np.ones(n)
    else:
        size = np.asarray(exposure, dtype=np.float64)
        if size.shape != (n,):
            msg = f"exposure must have one value per unit ({n}), got shape {size.shape}"
            raise HotspotError(msg)
        if not (np.isfinite(size).all() and (size > 0).all()):
            msg = "exposure must be positive and finite for every unit"
            raise HotspotError(msg)
    expected = float(k.sum()) * size / size.sum()
    rate_ratio = np.divide(k, expected, out=np.zeros(n), where=expected > 0)
    p = np.ones(n)
    some = k > 0  # P(X >= 0) is 1; expected > 0 wherever a count is
    p[some] = stats.poisson.sf(k[some] - 1, expected[some])
    p = np.clip(p, 0.0, 1.0)
    p_fdr = fdr_bh(p, a).p_adj
    core = (k >= k_min) & (p_fdr <= a)
    return OwnCountTest(
        count=k,
        expected=expected,
        rate_ratio=rate_ratio,
        p=p,
        p_fdr=p_fdr,
        core=core,
        alpha=a,
        min_count=k_min,
    )


def _check_core(
    k: npt.NDArray[np.int64],
    p: FloatArray,
    p_fdr: FloatArray,
    core: BoolArray,
    alpha: float,
    min_count: int,
    what: str,
) -> None:
    if not (np.all((p >= 0) & (p <= 1)) and np.all((p_fdr >= 0) & (p_fdr <= 1))):
        msg = f"{what}: own-count p-values must lie in [0, 1]"
        raise HotspotError(msg)
    if (p_fdr < p * (1 - _REL)).any():
        msg = f"{what}: an FDR-adjusted own-count p-value is below its raw p-value"
        raise HotspotError(msg)
    if (p[k == 0] != 1).any():
        msg = f"{what}: a unit with no incident has an own-count p-value below 1"
        raise HotspotError(msg)
    if (core & (k < min_count)).any():
        msg = f"{what}: a core has fewer than min_count ({min_count}) incidents of its own"
        raise HotspotError(msg)
    if not np.array_equal(core, (k >= min_count) & (p_fdr <= alpha)):
        msg = f"{what}: 'core' is not count >= min_count ({min_count}) and p_own_fdr <= alpha"
        raise HotspotError(msg)


def _roles(core: BoolArray, gi_hot: BoolArray) -> npt.NDArray[np.object_]:
    return np.asarray(
        np.select(
            [core & gi_hot, core, gi_hot],
            ["hotspot core", "elevated", "part of a hot area"],
            default="",
        ),
        dtype=object,
    )


def gi_hot(frame: pd.DataFrame) -> BoolArray:
    """Return where Gi* calls a unit hot at the analysis level: ``significant`` and ``z > 0``."""
    return np.asarray(frame["significant"].to_numpy(bool) & (frame["z"].to_numpy() > 0))


def evidence_arrays(
    counts: IntArray,
    exposure: FloatArray | None,
    alpha: float,
    min_count: int,
    hot: BoolArray,
) -> dict[str, npt.NDArray[np.generic]]:
    """Return the :data:`EVIDENCE_COLUMNS` of every unit as arrays, in column order.

    ``hot`` is where Gi* calls the unit hot (:func:`gi_hot`); see
    :func:`add_evidence_columns`.
    """
    test = own_count_test(counts, exposure, alpha=alpha, min_count=min_count)
    return {
        "expected": test.expected,
        "rate_ratio": test.rate_ratio,
        "p_own": test.p,
        "p_own_fdr": test.p_fdr,
        "core": test.core,
        "role": _roles(test.core, hot),
    }


def put_columns(
    frame: pd.DataFrame,
    columns: dict[str, npt.NDArray[np.generic]],
    rows: IntArray | None = None,
) -> None:
    """Add ``columns`` (one value per unit) to ``frame`` (one row per unit of ``rows``).

    Object arrays of labels become pandas strings, as every table keeps them.
    """
    for name, values in columns.items():
        v = values if rows is None else values[rows]
        frame[name] = pd.array(v, dtype="str") if v.dtype == object else v


def add_evidence_columns(
    frame: pd.DataFrame, exposure: FloatArray | None, alpha: float, min_count: int
) -> None:
    """Add the :data:`EVIDENCE_COLUMNS` of ``frame["count"]`` to a table with Gi* columns.

    ``expected``, ``rate_ratio``, ``p_own``, ``p_own_fdr`` and ``core`` are
    :func:`own_count_test`'s; ``role`` combines ``core`` with Gi* "hot" (``z > 0`` and
    ``p_fdr <= alpha``, :func:`gi_hot`): ``"hotspot core"`` (both), ``"part of a hot
    area"`` (Gi* hot, own count not enough), ``"elevated"`` (own count enough, Gi* not
    hot), else ``""``.
    """
    counts = frame["count"].to_numpy()
    put_columns(frame, evidence_arrays(counts, exposure, alpha, min_count, gi_hot(frame)))


def check_evidence_columns(
    frame: pd.DataFrame, alpha: float, min_count: int, what: str, *, complete: bool = True
) -> None:
    """Raise unless the evidence columns of ``frame`` agree with each other and Gi*.

    ``complete=False``: the table leaves out quiet units (no incident, no Gi* class), so
    its ``expected`` adds up to at most the incidents counted.
    """
    require_columns(frame, ("count", "z", "significant", *EVIDENCE_COLUMNS), what)
    check_alpha(alpha)
    check_min_count(min_count)
    k = frame["count"].to_numpy(np.int64)
    expected = frame["expected"].to_numpy(np.float64)
    if not (np.isfinite(expected).all() and (expected >= 0).all()):
        msg = f"{what}: 'expected' must be finite and non-negative"
        raise HotspotError(msg)
    total = float(k.sum())
    gap = float(expected.sum()) - total
    if (gap if not complete else abs(gap)) > _REL * max(total, 1.0) * len(k):
        msg = f"{what}: 'expected' sums to {expected.sum():g}, not the {total:g} incidents counted"
        raise HotspotError(msg)
    core = frame["core"].to_numpy(bool)
    _check_core(
        k,
        frame["p_own"].to_numpy(np.float64),
        frame["p_own_fdr"].to_numpy(np.float64),
        core,
        alpha,
        min_count,
        what,
    )
    if not np.array_equal(frame["role"].to_numpy(object), _roles(core, gi_hot(frame))):
        msg = f"{what}: 'role' does not follow from 'core' and the Gi* columns"
        raise HotspotError(msg)


def evidence_order(frame: pd.DataFrame, rate: str | None = None) -> pd.DataFrame:
    """Return ``frame`` sorted by evidence: cores first, then own count, ``rate``, Gi* z.

    Ties keep their table order. ``rate`` names a column of incidents per unit size
    (``"per_km"`` for roads); None for equal cells, where it would repeat the count.
    """
    keys = ["core", "count", *([rate] if rate else []), "z"]
    return frame.sort_values(keys, ascending=False, kind="stable")


def ranked_table(frame: pd.DataFrame, rate: str | None, everything: bool) -> pd.DataFrame:
    """Return the units with a role (all with ``everything``) in evidence order, ranked."""
    chosen = frame if everything else frame[frame["role"] != ""]
    out = evidence_order(chosen, rate)
    out.insert(0, "rank", np.arange(1, len(out) + 1, dtype=np.int64))
    return out
