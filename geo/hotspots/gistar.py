"""Getis-Ord Gi* hot spots with Benjamini-Hochberg FDR control, on grid cells.

:func:`getis_ord_gi_star`, :func:`fdr_bh` and :func:`classify` are the pieces;
:func:`gi_star_hotspots` chains them on the cells of :func:`~geo.hotspots.grid_counts`.
The road and time-series analyses reuse the same pieces.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse, special

from geo.errors import HotspotError
from geo.hotspots._checks import (
    AreaLike,
    BoolArray,
    FloatArray,
    IntArray,
    area_geometry,
    check_alpha,
    check_incidents,
    incident_xy,
    require_columns,
)
from geo.hotspots.budget import DEFAULT_MAX_MEMORY_GB
from geo.hotspots.evidence import (
    DEFAULT_MIN_COUNT,
    ROLES,
    check_evidence_columns,
    check_min_count,
    evidence_arrays,
    evidence_order,
    put_columns,
    ranked_table,
)
from geo.hotspots.lattice import (
    CellCounts,
    CellShape,
    cells_frame,
    lattice_and_index,
    neighbourhood_sums,
)
from geo.results import Result
from geo.validate import metric_crs, positive

__all__ = [
    "CLASSES",
    "CONFIDENCE_LEVELS",
    "FDRResult",
    "GiStar",
    "GiStarCells",
    "classify",
    "fdr_bh",
    "getis_ord_gi_star",
    "gi_bin",
    "gi_star_hotspots",
]

#: Confidence levels of the hot/cold classes, strongest first (``gi_bin`` 3, 2, 1).
CONFIDENCE_LEVELS: Final = (0.99, 0.95, 0.90)

#: Every value of the ``class`` column, from hottest to coldest.
CLASSES: Final = (
    "hot 99%",
    "hot 95%",
    "hot 90%",
    "not significant",
    "cold 90%",
    "cold 95%",
    "cold 99%",
)

#: The Gi* columns :func:`add_gi_columns` adds to a table of cells or roads.
GI_COLUMNS: Final = ("z", "p", "p_fdr", "significant", "class", "gi_bin")

# (gi_bin code, largest p_fdr) of each level of CONFIDENCE_LEVELS.
_BIN_LEVELS: Final = ((3, 0.01), (2, 0.05), (1, 0.10))
# Label of each gi_bin code, from -3 (cold 99%) to 3 (hot 99%).
_BIN_LABELS: Final = np.array(CLASSES[::-1], dtype=object)


@dataclass(frozen=True, eq=False)
class GiStar(Result):
    """Gi* z-scores and their two-sided normal p-values, one per value."""

    z: FloatArray
    p: FloatArray

    def _check(self) -> None:
        """Raise unless z and p have one shape."""
        if self.z.shape != self.p.shape:
            msg = f"GiStar z and p disagree in shape: {self.z.shape} and {self.p.shape}"
            raise HotspotError(msg)


@dataclass(frozen=True, eq=False)
class FDRResult(Result):
    """Benjamini-Hochberg adjusted p-values and the rejections at level ``alpha``."""

    p_adj: FloatArray
    reject: BoolArray
    alpha: float

    def _check(self) -> None:
        """Raise unless ``reject`` is exactly ``p_adj <= alpha``."""
        if self.p_adj.shape != self.reject.shape:
            shapes = f"{self.p_adj.shape} and {self.reject.shape}"
            msg = f"FDRResult p_adj and reject disagree in shape: {shapes}"
            raise HotspotError(msg)
        if not np.array_equal(self.reject, self.p_adj <= self.alpha):
            msg = f"FDRResult reject is not p_adj <= alpha ({self.alpha:g})"
            raise HotspotError(msg)


def check_gi_columns(frame: pd.DataFrame, alpha: float, what: str) -> None:
    """Raise unless ``frame``'s Gi* columns agree with each other and with ``alpha``."""
    require_columns(frame, GI_COLUMNS, what)
    check_alpha(alpha)
    z = frame["z"].to_numpy(np.float64)
    p_fdr = frame["p_fdr"].to_numpy(np.float64)
    if not np.array_equal(frame["significant"].to_numpy(bool), p_fdr <= alpha):
        msg = f"{what}: 'significant' is not p_fdr <= alpha ({alpha:g})"
        raise HotspotError(msg)
    bins = gi_bin(z, p_fdr)
    if not np.array_equal(frame["gi_bin"].to_numpy(np.int64), bins):
        msg = f"{what}: 'gi_bin' does not follow from z and p_fdr"
        raise HotspotError(msg)
    if not np.array_equal(frame["class"].to_numpy(object), _BIN_LABELS[bins + 3]):
        msg = f"{what}: 'class' does not follow from z and p_fdr"
        raise HotspotError(msg)


@dataclass(frozen=True, eq=False)
class GiStarCells(CellCounts):
    """Hot and cold grid cells: :class:`CellCounts` plus the Gi* and evidence columns.

    ``cells`` adds ``z``, ``p``, ``p_fdr``, ``significant`` (``p_fdr <= alpha``),
    ``class`` and ``gi_bin`` (see :mod:`geo.hotspots`), then the evidence of each cell's
    own count: ``expected``, ``rate_ratio``, ``p_own``, ``p_own_fdr``, ``core`` and
    ``role`` (see :func:`gi_star_hotspots`). ``class`` describes hot *areas*; the cells
    to act on are the ``"hotspot core"`` ones, first in :meth:`ranked`.
    """

    alpha: float
    min_count: int = DEFAULT_MIN_COUNT
    n_quiet: int = 0

    def _check(self) -> None:
        """Raise unless the counts add up and the Gi* and evidence columns agree."""
        super()._check()
        what = f"{type(self).__name__}.cells"
        cells = self._frame("cells")
        check_gi_columns(cells, self.alpha, what)
        if self.n_quiet < 0:
            msg = f"{what}: n_quiet must be >= 0, got {self.n_quiet}"
            raise HotspotError(msg)
        check_evidence_columns(cells, self.alpha, self.min_count, what, complete=self.n_quiet == 0)

    @property
    def n_cells(self) -> int:
        """Cells of the analysis, the quiet ones left out of :attr:`cells` included."""
        return len(self._frame("cells")) + self.n_quiet

    def class_counts(self) -> pd.Series:
        """Return the number of cells of each ``class`` present, most first (quiet included)."""
        counts = self._frame("cells")["class"].value_counts()
        if self.n_quiet:
            counts["not significant"] = counts.get("not significant", 0) + self.n_quiet
            counts = counts.sort_values(ascending=False, kind="stable")
        return counts.rename_axis("class").rename("cells")

    @property
    def hot(self) -> gpd.GeoDataFrame:
        """Cells classed hot at any confidence level, in evidence order (:meth:`ranked`)."""
        c = self._frame("cells")
        return evidence_order(c[c["gi_bin"] > 0])

    def ranked(self, *, everything: bool = False) -> gpd.GeoDataFrame:
        """Return the cells with a ``role``, ranked by the evidence of their own incidents.

        Cores (enough incidents of their own, :func:`gi_star_hotspots`) come first, then
        by own ``count``, then Gi* ``z``; a first column ``rank`` numbers them from 1.
        A cell without incidents is never a core, so it never ranks among them.
        ``everything=True`` ranks every cell, not only those with a role.
        """
        return cast(gpd.GeoDataFrame, ranked_table(self._frame("cells"), None, everything))

    def _extra_meta(self) -> dict[str, Any]:
        cells = self._frame("cells")
        bins = cells["gi_bin"].to_numpy()
        roles = cells["role"].value_counts()
        return {
            **super()._extra_meta(),
            "n_cells": self.n_cells,
            "n_quiet": self.n_quiet,
            "n_hot": int((bins > 0).sum()),
            "n_cold": int((bins < 0).sum()),
            "n_cores": int(cells["core"].sum()),
            "roles": {r: int(roles.get(r, 0)) for r in ROLES if r},
        }


def _binary_with_self(neighbours: Any, n: int) -> sparse.csr_array:
    if not sparse.issparse(neighbours):
        neighbours = sparse.csr_array(np.asarray(neighbours))
    if neighbours.shape != (n, n):
        msg = f"neighbours must be {n} x {n} to match the values, got {neighbours.shape}"
        raise HotspotError(msg)
    w = sparse.csr_array(neighbours, dtype=np.float64, copy=True)
    w.data = (w.data != 0).astype(np.float64)
    w.setdiag(1.0)
    w.eliminate_zeros()
    return w


def getis_ord_gi_star(values: npt.ArrayLike, neighbours: Any) -> GiStar:
    """Compute Getis-Ord Gi* z-scores with binary weights that include each cell itself.

    Parameters
    ----------
    values
        ``(n,)`` values per cell (e.g. incident counts), or ``(n, k)`` for ``k``
        independent analyses at once (one per column, e.g. one per time period).
    neighbours
        ``n x n`` matrix (scipy sparse or dense) whose non-zero entries mark neighbours.
        Weights are binary: any non-zero entry counts 1, and the diagonal is set to 1
        whatever it holds (the "star" in Gi*).

    Returns
    -------
    GiStar
        ``z`` and ``p`` with the shape of ``values``.

    Raises
    ------
    HotspotError
        If the shapes disagree, values are not finite or there are fewer than 3 cells.

    Notes
    -----
    Getis & Ord (1992) and Ord & Getis (1995), as ESRI's Hot Spot Analysis and
    ``esda.G_Local(y, w, star=True, transform="B")`` compute it: with ``W_i = sum_j
    w_ij``, ``xbar`` the mean and ``S`` the population standard deviation of all ``n``
    values,

    ``z_i = (sum_j w_ij x_j - xbar W_i) / (S sqrt((n W_i - W_i²) / (n - 1)))``.

    ``p = 2 * (1 - Phi(|z|))`` is two-sided: esda's ``p_norm`` is the one-sided
    ``1 - Phi(|z|)``, so ``p == 2 * p_norm``. Where the statistic is undefined (all
    values equal, or a cell neighbouring every cell) z is 0 and p is 1: nothing stands
    out.
    """
    x = _check_values(values)
    n = x.shape[0]
    w = _binary_with_self(neighbours, n)
    return _gi_star(x, w @ x, np.asarray(w.sum(axis=1)).ravel())


def _check_values(values: npt.ArrayLike) -> FloatArray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim not in (1, 2):
        msg = f"values must be 1-D (cells) or 2-D (cells x analyses), got shape {x.shape}"
        raise HotspotError(msg)
    n = x.shape[0]
    if n < 3:
        msg = f"Gi* needs at least 3 cells, got {n}"
        raise HotspotError(msg)
    if not np.isfinite(x).all():
        msg = "Gi* values must be finite"
        raise HotspotError(msg)
    return x


def _gi_star(x: FloatArray, wx: FloatArray, wi: FloatArray) -> GiStar:
    """Return Gi* from the values, their neighbourhood sums and the neighbourhood sizes."""
    n = x.shape[0]
    if x.ndim == 2:
        wi = wi[:, None]
    mean = x.mean(axis=0)
    std = np.sqrt(np.maximum((x**2).mean(axis=0) - mean**2, 0.0))
    num = wx - mean * wi
    den = std * np.sqrt((n * wi - wi**2) / (n - 1))
    ok = den > 1e-12 * np.maximum(np.abs(mean), 1.0) * np.sqrt(np.maximum(wi, 1.0))
    z = np.divide(num, den, out=np.zeros(np.broadcast_shapes(num.shape, den.shape)), where=ok)
    p = special.erfc(np.abs(z) / math.sqrt(2.0))
    return GiStar(z=z, p=p)


def lattice_gi_star(
    row: IntArray, col: IntArray, shape: CellShape, values: npt.ArrayLike
) -> GiStar:
    """Return :func:`getis_ord_gi_star` of lattice cells with their contiguity.

    The same numbers as ``getis_ord_gi_star(values, lattice_neighbours(row, col,
    shape))``, from :func:`~geo.hotspots.lattice.neighbourhood_sums`: no ``n x n``
    matrix is built, so a million cells cost a few arrays of a million values.
    """
    x = _check_values(values)
    wx, wi = neighbourhood_sums(row, col, shape, x)
    return _gi_star(x, wx, wi)


def fdr_bh(p: npt.ArrayLike, alpha: float = 0.05) -> FDRResult:
    """Adjust p-values for the false discovery rate (Benjamini & Hochberg 1995).

    Parameters
    ----------
    p
        ``(m,)`` p-values, or ``(m, k)`` for ``k`` independent families (one per column).
    alpha
        FDR level for the rejection mask.

    Returns
    -------
    FDRResult
        ``p_adj`` (the BH "q-values", as R's ``p.adjust(method="BH")`` and
        ``scipy.stats.false_discovery_control``) and ``reject = p_adj <= alpha``, which
        rejects exactly the hypotheses of the BH step-up procedure at level ``alpha``.

    Raises
    ------
    HotspotError
        If ``p`` is empty or holds values outside [0, 1] or NaN, or ``alpha`` is not in
        (0, 1).
    """
    a = check_alpha(alpha)
    ps = np.asarray(p, dtype=np.float64)
    if ps.ndim not in (1, 2) or ps.shape[0] == 0:
        msg = f"p must be a non-empty 1-D or 2-D array, got shape {ps.shape}"
        raise HotspotError(msg)
    if not (np.all(ps >= 0) and np.all(ps <= 1)):  # also rejects NaN
        msg = "p-values must lie in [0, 1]"
        raise HotspotError(msg)
    m = ps.shape[0]
    order = np.argsort(ps, axis=0, kind="stable")
    ranked = np.take_along_axis(ps, order, axis=0)
    rank = np.arange(1, m + 1, dtype=np.float64).reshape((m,) + (1,) * (ps.ndim - 1))
    scaled = ranked * m / rank
    # Step-up: each adjusted value is the smallest scaled value at its rank or above.
    adj_sorted = np.minimum(np.minimum.accumulate(scaled[::-1], axis=0)[::-1], 1.0)
    adj = np.empty_like(ps)
    np.put_along_axis(adj, order, adj_sorted, axis=0)
    return FDRResult(p_adj=adj, reject=adj <= a, alpha=a)


def gi_bin(z: FloatArray, p_adj: FloatArray) -> npt.NDArray[np.int8]:
    """Return ESRI's ``Gi_Bin`` code, -3 (cold 99%) to 3 (hot 99%), of z and p_adj."""
    level = np.zeros(np.shape(z), dtype=np.int8)
    for code, cut in reversed(_BIN_LEVELS):  # weakest first, so stronger overwrite it
        level[p_adj <= cut] = code
    return (level * np.sign(z)).astype(np.int8)


def classify(z: npt.ArrayLike, p_adj: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """Label cells hot or cold at 99/95/90 % confidence from z and adjusted p-values.

    Parameters
    ----------
    z
        Gi* z-scores; the sign says hot (``> 0``) or cold (``< 0``).
    p_adj
        FDR-adjusted p-values (:func:`fdr_bh`), same shape as ``z``.

    Returns
    -------
    numpy.ndarray
        Object array of labels from :data:`CLASSES`: ``"hot 99%"`` when ``p_adj <=
        0.01``, ``"hot 95%"`` when ``p_adj <= 0.05``, ``"hot 90%"`` when ``p_adj <= 0.10``
        (``"cold ..."`` for negative z), else ``"not significant"`` (also for ``z == 0``
        and NaN).

    Raises
    ------
    HotspotError
        If the shapes differ.
    """
    zz = np.asarray(z, dtype=np.float64)
    pp = np.asarray(p_adj, dtype=np.float64)
    if zz.shape != pp.shape:
        msg = f"z and p_adj must have the same shape, got {zz.shape} and {pp.shape}"
        raise HotspotError(msg)
    bins = gi_bin(np.nan_to_num(zz), np.where(np.isnan(pp), 1.0, pp))
    return np.asarray(_BIN_LABELS[bins.astype(np.int64) + 3], dtype=object)


def gi_arrays(gi: GiStar, alpha: float) -> dict[str, npt.NDArray[np.generic]]:
    """Return the :data:`GI_COLUMNS` of every unit as arrays, in column order.

    The FDR adjustment runs over all units, so any subset of rows taken afterwards keeps
    the values of the whole analysis.
    """
    fdr = fdr_bh(gi.p, alpha)
    return {
        "z": gi.z,
        "p": gi.p,
        "p_fdr": fdr.p_adj,
        "significant": fdr.reject,
        "class": classify(gi.z, fdr.p_adj),
        "gi_bin": gi_bin(gi.z, fdr.p_adj),
    }


def quiet_units(counts: npt.ArrayLike, gi: dict[str, npt.NDArray[np.generic]]) -> BoolArray:
    """Return where a unit is quiet: no incident of its own and no Gi* class or significance.

    A quiet unit is ``"not significant"``, not ``significant``, no core and without a
    role: a table may leave such units out and count them.
    """
    return np.asarray(
        (np.asarray(counts) == 0) & ~gi["significant"].astype(bool) & (gi["gi_bin"] == 0)
    )


def add_gi_columns(frame: gpd.GeoDataFrame, values: FloatArray, w: Any, alpha: float) -> None:
    """Add the :data:`GI_COLUMNS` of Gi* on ``values`` with neighbours ``w`` to ``frame``."""
    put_columns(frame, gi_arrays(getis_ord_gi_star(values, w), alpha))


def gi_star_hotspots(
    incidents: gpd.GeoDataFrame,
    *,
    cell_size: float = 250.0,
    shape: CellShape = "square",
    alpha: float = 0.05,
    bounds: Sequence[float] | None = None,
    area: AreaLike | None = None,
    min_count: int = DEFAULT_MIN_COUNT,
    keep_quiet: bool = True,
    max_memory_gb: float = DEFAULT_MAX_MEMORY_GB,
) -> GiStarCells:
    """Find statistically significant hot and cold cells with Gi* and FDR control.

    Parameters
    ----------
    incidents
        Incident points in a projected metric CRS (filter them first with
        :func:`~geo.hotspots.filter_incidents`).
    cell_size
        Cell size in metres (see :func:`~geo.hotspots.grid_counts`).
    shape
        ``"square"`` (8 queen neighbours) or ``"hex"`` (6 neighbours).
    alpha
        FDR level of the ``significant`` and ``core`` columns; the ``class`` column
        always reports the 99/95/90 % levels.
    bounds, area
        Study region, as for :func:`~geo.hotspots.grid_counts`. Gi* compares every cell
        with the mean over all cells, so the region decides what "unusually many" means:
        the default, the incidents' bounding box, keeps empty cells inside the data
        extent and none far outside it.
    min_count
        Fewest incidents of its own a cell needs to be a core (default 2).
    keep_quiet
        False leaves the quiet cells (:func:`quiet_units`: no incident of their own, no
        Gi* class, not significant) out of the table and counts them in ``n_quiet``; the
        other rows are the same as with every cell, statistics included (the FDR still
        runs over all cells). A district's ten thousand cells are cheap; a province's
        million polygons are not.
    max_memory_gb
        Refuse, before allocating, a lattice whose arrays would need more than this
        (see :func:`~geo.hotspots.lattice_memory`).

    Returns
    -------
    GiStarCells
        The :func:`~geo.hotspots.grid_counts` columns plus ``z``, ``p``, ``p_fdr``,
        ``significant`` (``p_fdr <= alpha``), ``class`` and ``gi_bin`` (see the package
        notes), then the evidence of the cell's own count: ``expected`` (incidents in
        cells / number of cells), ``rate_ratio`` (``count / expected``), ``p_own`` (exact
        one-sided Poisson p-value of the count), ``p_own_fdr`` (its Benjamini-Hochberg
        adjustment over the cells), ``core`` (``count >= min_count`` and ``p_own_fdr <=
        alpha``) and ``role`` (:data:`~geo.hotspots.ROLES`); ``n_outside`` counts
        incidents in no cell (outside ``bounds``/``area``).

    Raises
    ------
    HotspotError
        As :func:`~geo.hotspots.grid_counts`, or for an ``alpha`` outside (0, 1), a
        ``min_count`` below 1 or fewer than 3 cells.

    Notes
    -----
    Gi* tests a cell together with its neighbours, so a cell with no incident beside a
    busy one can be "hot 99%": ``class`` describes hot *areas*. ``core`` tests the
    cell's own count (:func:`~geo.hotspots.own_count_test`); ``role`` is ``"hotspot
    core"`` where both agree, and those are the cells to act on.
    """
    a = check_alpha(alpha)
    k_min = check_min_count(min_count)
    inc = check_incidents(incidents)
    crs = metric_crs(inc.crs, "incidents", HotspotError)
    cell = positive("cell_size", cell_size, HotspotError)
    x, y = incident_xy(inc, "incidents")
    poly = area_geometry(area, crs) if area is not None else None
    lat, idx = lattice_and_index(
        x, y, cell, shape, bounds, poly, max_memory_gb=max_memory_gb, keep_quiet=keep_quiet
    )
    counts = np.bincount(idx[idx >= 0], minlength=len(lat.row)).astype(np.int64)
    gi = gi_arrays(lattice_gi_star(lat.row, lat.col, lat.shape, counts.astype(np.float64)), a)
    hot = gi["significant"].astype(bool) & (np.asarray(gi["z"], dtype=np.float64) > 0)
    # Kept cells are whole cells of one size, so each has the same share of the area.
    evidence = evidence_arrays(counts, None, a, k_min, hot)
    quiet = quiet_units(counts, gi)
    rows = None if keep_quiet else np.flatnonzero(~quiet)
    cells = cells_frame(lat, crs, rows)
    cells["count"] = counts if rows is None else counts[rows]
    put_columns(cells, gi, rows)
    put_columns(cells, evidence, rows)
    return GiStarCells(
        cells=cells,
        shape=lat.shape,
        cell_size=cell,
        n_points=len(x),
        n_outside=int((idx < 0).sum()),
        alpha=a,
        min_count=k_min,
        n_quiet=0 if keep_quiet else int(quiet.sum()),
    )
