"""Square and hexagonal cells over a study region: counts per cell and their neighbours.

:func:`grid_counts` counts incidents per cell (a :class:`CellCounts`);
:func:`lattice_neighbours` gives the cells' contiguity for Gi*. Hexagons are
pointy-topped in "odd-r" offset coordinates; squares use queen contiguity.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal, TypeAlias, cast, get_args

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from scipy import sparse

from geo.errors import HotspotError
from geo.hotspots._checks import (
    AreaLike,
    Bounds,
    FloatArray,
    IntArray,
    area_geometry,
    check_bounds,
    incident_xy,
    require_columns,
)
from geo.hotspots.budget import DEFAULT_MAX_MEMORY_GB, check_memory, lattice_memory
from geo.results import Result
from geo.validate import metric_crs, positive

__all__ = [
    "CellCounts",
    "CellShape",
    "grid_counts",
    "lattice_neighbours",
    "neighbourhood_sums",
]

CellShape: TypeAlias = Literal["square", "hex"]

_SQRT3: Final = math.sqrt(3.0)
_SQUARE_OFFSETS: Final = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]
# Axial neighbour offsets (dq, dr) of a hexagon.
_HEX_AXIAL: Final = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)]
# Cells whose polygons are built at a time when testing them against a study area.
_POLYGON_BLOCK: Final = 100_000
#: Columns every cell table has (see :func:`grid_counts`).
CELL_COLUMNS: Final = ("cell", "row", "col", "x", "y", "count", "geometry")


@dataclass(frozen=True, eq=False)
class CellCounts(Result):
    """Incidents counted per square or hexagonal cell of a study region.

    ``cells`` has one row per cell, empty cells included: ``cell`` (0..n-1), ``row``,
    ``col`` (lattice coordinates for :func:`lattice_neighbours`), ``x``, ``y`` (centre),
    ``count`` and the cell polygon, in the incidents' CRS. Of ``n_points`` incidents,
    ``n_outside`` fell in no kept cell (outside the bounds or area); the rest are counted.
    """

    cells: gpd.GeoDataFrame
    shape: CellShape
    cell_size: float
    n_points: int
    n_outside: int

    _geometry_table: ClassVar[str | None] = "cells"

    def _check(self) -> None:
        """Raise unless the cells are a cell table whose counts add up to ``n_points``."""
        name = type(self).__name__
        cells = self._frame("cells")
        if not isinstance(cells, gpd.GeoDataFrame):
            msg = f"{name}.cells must be a GeoDataFrame, got {type(cells).__name__}"
            raise HotspotError(msg)
        require_columns(cells, CELL_COLUMNS, f"{name}.cells")
        check_shape(self.shape)
        positive("cell_size", self.cell_size, HotspotError)
        counts = cells["count"].to_numpy()
        if (counts < 0).any() or self.n_outside < 0:
            msg = f"{name} has negative counts"
            raise HotspotError(msg)
        counted = int(counts.sum())
        if counted + self.n_outside != self.n_points:
            msg = (
                f"{name} counts disagree: {counted} in cells + {self.n_outside} outside, "
                f"but {self.n_points} points"
            )
            raise HotspotError(msg)

    @property
    def n_in_cells(self) -> int:
        """Incidents counted in a cell."""
        return self.n_points - self.n_outside

    def _extra_meta(self) -> dict[str, Any]:
        return {"n_cells": len(self._frame("cells")), "n_in_cells": self.n_in_cells}


@dataclass(frozen=True, eq=False)
class _Lattice:
    """Cells of a square or hexagonal tessellation kept inside a study region.

    Square cell (row, col) spans ``[x0 + col * s, x0 + (col + 1) * s)`` and likewise in y.
    Hexagons are pointy-topped, ``s`` apart centre to centre (flat-to-flat width), rows
    ``s * sqrt(3) / 2`` apart with odd rows shifted right by ``s / 2`` ("odd-r" offset
    coordinates); hexagon (0, 0) is centred on ``(x0, y0)``.
    """

    shape: CellShape
    cell_size: float
    x0: float
    y0: float
    nrows: int
    ncols: int
    row: IntArray
    col: IntArray
    lookup: IntArray  # (nrows, ncols) -> cell index or -1

    def centres(self, rows: IntArray | None = None) -> tuple[FloatArray, FloatArray]:
        """Return the centres of the kept cells (of ``rows`` of them, when given)."""
        row, col = (self.row, self.col) if rows is None else (self.row[rows], self.col[rows])
        return _centres(self.shape, self.cell_size, self.x0, self.y0, row, col)

    def polygons(self, rows: IntArray | None = None) -> npt.NDArray[np.object_]:
        """Return the polygons of the kept cells (of ``rows`` of them, when given)."""
        cx, cy = self.centres(rows)
        return _polygons(self.shape, self.cell_size, cx, cy)

    def assign(self, x: FloatArray, y: FloatArray) -> IntArray:
        """Return the cell index of each point, -1 where it is in no kept cell."""
        row, col = _lattice_index(self.shape, self.cell_size, self.x0, self.y0, x, y)
        if self.shape == "square":
            # Points on the far edge of the region belong to the last row/column.
            col = np.where(
                (col == self.ncols) & (x <= self.x0 + self.ncols * self.cell_size), col - 1, col
            )
            row = np.where(
                (row == self.nrows) & (y <= self.y0 + self.nrows * self.cell_size), row - 1, row
            )
        ok = (row >= 0) & (row < self.nrows) & (col >= 0) & (col < self.ncols)
        out = np.full(len(x), -1, dtype=np.int64)
        out[ok] = self.lookup[row[ok], col[ok]]
        return out


def _hexagons(cx: FloatArray, cy: FloatArray, spacing: float) -> npt.NDArray[np.object_]:
    r = spacing / _SQRT3  # circumradius
    ang = np.deg2rad(30.0 + 60.0 * np.arange(6))
    ring = np.stack(
        [cx[:, None] + r * np.cos(ang)[None], cy[:, None] + r * np.sin(ang)[None]], axis=-1
    )
    return np.asarray(shapely.polygons(ring))


def _centres(
    shape: str, s: float, x0: float, y0: float, row: IntArray, col: IntArray
) -> tuple[FloatArray, FloatArray]:
    if shape == "square":
        cx = x0 + (col + 0.5) * s
        cy = y0 + (row + 0.5) * s
    else:
        cx = x0 + (col + 0.5 * (row & 1)) * s
        cy = y0 + row * (s * _SQRT3 / 2)
    return cx.astype(np.float64), cy.astype(np.float64)


def _polygons(shape: str, s: float, cx: FloatArray, cy: FloatArray) -> npt.NDArray[np.object_]:
    if shape == "square":
        return np.asarray(shapely.box(cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2))
    return _hexagons(cx, cy, s)


def _lattice_index(
    shape: str, s: float, x0: float, y0: float, x: FloatArray, y: FloatArray
) -> tuple[IntArray, IntArray]:
    if shape == "square":
        return (
            np.floor((y - y0) / s).astype(np.int64),
            np.floor((x - x0) / s).astype(np.int64),
        )
    # Pointy-top axial coordinates and cube rounding (Patel, "Hexagonal Grids",
    # redblobgames.com), then odd-r offset coordinates.
    r_hex = s / _SQRT3
    px, py = x - x0, y - y0
    q = (_SQRT3 / 3 * px - py / 3) / r_hex
    r = (2.0 / 3.0 * py) / r_hex
    cz = -q - r
    rq, rr, rz = np.round(q), np.round(r), np.round(cz)
    dq, dr, dz = np.abs(rq - q), np.abs(rr - r), np.abs(rz - cz)
    fix_q = (dq > dr) & (dq > dz)
    fix_r = ~fix_q & (dr > dz)
    rq = np.where(fix_q, -rr - rz, rq)
    rr = np.where(fix_r, -rq - rz, rr)
    row = rr.astype(np.int64)
    col = rq.astype(np.int64) + (row - (row & 1)) // 2
    return row, col


def _region(
    x: FloatArray, y: FloatArray, bounds: Sequence[float] | None, area: shapely.Geometry | None
) -> tuple[Bounds, shapely.Geometry]:
    """Return the study region's bounding box and polygon."""
    if area is None:
        box = (
            check_bounds(bounds)
            if bounds is not None
            else (float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y)))
        )
        return box, shapely.box(*box)
    region = (
        area if bounds is None else shapely.intersection(area, shapely.box(*check_bounds(bounds)))
    )
    if shapely.is_empty(region) or shapely.area(region) <= 0:
        msg = "area and bounds do not overlap"
        raise HotspotError(msg)
    b = shapely.bounds(region)
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3])), region


def check_shape(shape: object) -> CellShape:
    """Return ``shape`` if it is a :data:`CellShape`, or raise."""
    if shape not in get_args(CellShape):
        msg = f"unknown cell shape {shape!r}; expected 'square' or 'hex'"
        raise HotspotError(msg)
    return cast(CellShape, shape)


def _build_lattice(
    shape: CellShape,
    cell: float,
    box: Bounds,
    region: shapely.Geometry,
    *,
    n_points: int,
    keep_quiet: bool,
    n_periods: int,
    max_memory_gb: float,
) -> _Lattice:
    xmin, ymin, xmax, ymax = box
    width, height = xmax - xmin, ymax - ymin
    if cell > width and cell > height:
        msg = (
            f"cell_size {cell:g} m is larger than the study extent "
            f"({width:.0f} m x {height:.0f} m); use smaller cells"
        )
        raise HotspotError(msg)
    if shape == "square":
        ncols = max(1, math.ceil(width / cell - 1e-9))
        nrows = max(1, math.ceil(height / cell - 1e-9))
    else:
        ncols = math.floor(width / cell) + 2
        nrows = math.floor(height / (cell * _SQRT3 / 2)) + 2
    check_memory(
        lattice_memory(
            width,
            height,
            cell,
            shape,
            n_points=n_points,
            keep_quiet=keep_quiet,
            n_periods=n_periods,
            limit_gb=max_memory_gb,
        )
    )
    rr, cc = np.divmod(np.arange(nrows * ncols, dtype=np.int64), ncols)
    is_box = shapely.equals(region, shapely.box(*box)) and shape == "square"
    if is_box:
        keep = np.ones(len(rr), dtype=bool)
    else:
        shapely.prepare(region)
        keep = np.empty(len(rr), dtype=bool)
        # In blocks, so a large lattice never holds all its polygons at once.
        for lo in range(0, len(rr), _POLYGON_BLOCK):
            part = slice(lo, lo + _POLYGON_BLOCK)
            cx, cy = _centres(shape, cell, xmin, ymin, rr[part], cc[part])
            polys = _polygons(shape, cell, cx, cy)
            # Positive-area overlap: cells that merely touch the region hold none of it.
            keep[part] = shapely.intersects(region, polys) & ~shapely.touches(region, polys)
    lookup = np.full((nrows, ncols), -1, dtype=np.int64)
    lookup[rr[keep], cc[keep]] = np.arange(int(keep.sum()))
    return _Lattice(shape, cell, xmin, ymin, nrows, ncols, rr[keep], cc[keep], lookup)


def lattice_neighbours(
    row: npt.ArrayLike, col: npt.ArrayLike, shape: CellShape = "square"
) -> sparse.csr_array:
    """Return the contiguity matrix of grid cells given by lattice row and column.

    Parameters
    ----------
    row, col
        Integer lattice coordinates of each cell (the ``row``/``col`` columns of
        :func:`grid_counts`); cells may be missing from the full rectangle.
    shape
        ``"square"``: queen contiguity, the up to 8 cells sharing an edge or a corner;
        ``"hex"``: the up to 6 hexagons sharing an edge, in odd-r offset coordinates.

    Returns
    -------
    scipy.sparse.csr_array
        Symmetric binary ``n x n`` matrix with a zero diagonal; entry ``(i, j)`` is 1 when
        cells ``i`` and ``j`` are neighbours.

    Raises
    ------
    HotspotError
        If the shape is unknown, ``row``/``col`` differ in length or repeat a cell.
    """
    r = np.asarray(row, dtype=np.int64)
    c = np.asarray(col, dtype=np.int64)
    if r.shape != c.shape or r.ndim != 1:
        msg = "row and col must be 1-D arrays of the same length"
        raise HotspotError(msg)
    check_shape(shape)
    n = len(r)
    if n == 0:
        return sparse.csr_array((0, 0), dtype=np.float64)
    if np.unique(np.column_stack([r, c]), axis=0).shape[0] < n:
        msg = "row/col repeat a cell"
        raise HotspotError(msg)
    src: list[IntArray] = []
    dst: list[IntArray] = []
    for nb in _neighbours_of(r, c, shape):
        ok = nb >= 0
        src.append(np.flatnonzero(ok))
        dst.append(nb[ok])
    i = np.concatenate(src)
    j = np.concatenate(dst)
    return sparse.csr_array((np.ones(len(i)), (i, j)), shape=(n, n))


def _neighbours_of(r: IntArray, c: IntArray, shape: str) -> Iterator[IntArray]:
    """Yield, per neighbour direction, each cell's neighbour there (its index, -1: none)."""
    n = len(r)
    # Pad the lookup by two rows and one column so every neighbour index stays in range.
    r0, c0 = int(np.min(r)) - 2, int(np.min(c)) - 1
    rr, cc = r - r0, c - c0
    lookup = np.full((int(np.max(rr)) + 3, int(np.max(cc)) + 2), -1, dtype=np.int64)
    lookup[rr, cc] = np.arange(n)
    if shape == "square":
        for dr, dc in _SQUARE_OFFSETS:
            yield lookup[rr + dr, cc + dc]
        return
    # Offset -> axial, step, -> offset; keeps parity handling in one formula.
    q = c - (r - (r & 1)) // 2
    for dq, dr in _HEX_AXIAL:
        nr = r + dr
        nc = (q + dq) + (nr - (nr & 1)) // 2
        yield lookup[nr - r0, nc - c0]


def neighbourhood_sums(
    row: IntArray, col: IntArray, shape: CellShape, values: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Return each cell's sum of ``values`` over itself and its neighbours, and how many.

    The Gi* sums ``sum_j w_ij x_j`` and ``W_i`` with binary weights and the cell itself
    included, for the contiguity of :func:`lattice_neighbours`, without building its
    matrix: one gather per neighbour direction, so memory grows with the cells, not
    with the cells times their neighbours. ``values`` is ``(n,)`` or ``(n, k)``.
    """
    r = np.asarray(row, dtype=np.int64)
    c = np.asarray(col, dtype=np.int64)
    x = np.asarray(values, dtype=np.float64)
    total = x.copy()
    count = np.ones(len(r))
    if len(r) == 0:
        return total, count
    for nb in _neighbours_of(r, c, check_shape(shape)):
        ok = np.flatnonzero(nb >= 0)
        total[ok] += x[nb[ok]]
        count[ok] += 1.0
    return total, count


def grid_counts(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    cell_size: float,
    shape: CellShape = "square",
    bounds: Sequence[float] | None = None,
    area: AreaLike | None = None,
) -> CellCounts:
    """Count points per square or hexagonal cell over the study region.

    Parameters
    ----------
    points
        Points in a projected CRS in metres.
    cell_size
        Square side, or hexagon spacing centre to centre (its flat-to-flat width; a
        hexagon's area is ``sqrt(3) / 2 * cell_size²``, 0.87 of the square's).
    shape
        ``"square"`` or ``"hex"``.
    bounds
        ``(xmin, ymin, xmax, ymax)`` of the study region; default the points' bounding
        box. Square cells start at ``(xmin, ymin)``; the first hexagon is centred there
        (pointy-topped, rows ``sqrt(3) / 2 * cell_size`` apart, odd rows shifted half a
        cell east), and only hexagons overlapping the region are kept.
    area
        Study-area polygon in the points' CRS: only cells overlapping it are kept (a
        rural district is rarely a rectangle, and empty cells outside it would bias
        Gi* towards "hot").

    Returns
    -------
    CellCounts
        ``cells``: one row per cell, empty cells included, in the points' CRS: ``cell``
        (0..n-1), ``row``, ``col`` (lattice coordinates for :func:`lattice_neighbours`),
        ``x``, ``y`` (centre), ``count`` and the cell polygon; with ``shape``,
        ``cell_size``, ``n_points`` and ``n_outside`` (points in no kept cell).

    Raises
    ------
    HotspotError
        If there are no points, the CRS is missing or not metric, ``cell_size`` is not
        positive or exceeds both extents of the region, or the grid would need more
        memory than the default limit (:mod:`~geo.hotspots.budget`).
    """
    if not isinstance(points, gpd.GeoDataFrame | gpd.GeoSeries):
        msg = f"points must be a GeoDataFrame or GeoSeries, got {type(points).__name__}"
        raise HotspotError(msg)
    if len(points) == 0:
        msg = "no incidents to analyse (the incident set is empty)"
        raise HotspotError(msg)
    crs = metric_crs(points.crs, "incidents", HotspotError)
    cell = positive("cell_size", cell_size, HotspotError)
    x, y = incident_xy(points, "incidents")
    poly = area_geometry(area, crs) if area is not None else None
    lat, idx = lattice_and_index(x, y, cell, shape, bounds, poly)
    counts = np.bincount(idx[idx >= 0], minlength=len(lat.row))
    gdf = cells_frame(lat, crs)
    gdf["count"] = counts.astype(np.int64)
    return CellCounts(
        cells=gdf,
        shape=lat.shape,
        cell_size=cell,
        n_points=len(x),
        n_outside=int((idx < 0).sum()),
    )


def lattice_and_index(
    x: FloatArray,
    y: FloatArray,
    cell: float,
    shape: str,
    bounds: Sequence[float] | None,
    area: shapely.Geometry | None,
    *,
    max_memory_gb: float = DEFAULT_MAX_MEMORY_GB,
    keep_quiet: bool = True,
    n_periods: int = 0,
) -> tuple[_Lattice, IntArray]:
    """Return the lattice over the study region and each point's cell (-1: none).

    A lattice whose arrays (with ``n_periods`` of trends, and a table of every cell
    unless ``keep_quiet`` is False) would need more than ``max_memory_gb`` is refused
    before it is built (:func:`~geo.hotspots.budget.lattice_memory`).
    """
    box, region = _region(x, y, bounds, area)
    lat = _build_lattice(
        check_shape(shape),
        cell,
        box,
        region,
        n_points=len(x),
        keep_quiet=keep_quiet,
        n_periods=n_periods,
        max_memory_gb=max_memory_gb,
    )
    if len(lat.row) == 0:
        msg = "no grid cell overlaps the study area"
        raise HotspotError(msg)
    idx = lat.assign(x, y)
    lost = np.flatnonzero(idx < 0)
    if len(lost):
        # A point on the region's edge that is also on a cell edge can round into the
        # cell outside; a nudge a hair towards the middle puts it in the inside one.
        shapely.prepare(region)
        edge = lost[shapely.intersects_xy(region, x[lost], y[lost])]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        dx, dy = cx - x[edge], cy - y[edge]
        norm = np.maximum(np.hypot(dx, dy), 1e-12)
        eps = 1e-7 * cell
        idx[edge] = lat.assign(x[edge] + eps * dx / norm, y[edge] + eps * dy / norm)
    return lat, idx


def cells_frame(lat: _Lattice, crs: pyproj.CRS, rows: IntArray | None = None) -> gpd.GeoDataFrame:
    """Return the lattice's cells as a frame: ``cell``, ``row``, ``col``, ``x``, ``y``.

    ``rows`` picks some cells (their ``cell`` numbers stay those of the whole lattice);
    only their polygons are built.
    """
    pick = np.arange(len(lat.row), dtype=np.int64) if rows is None else rows
    cx, cy = lat.centres(pick)
    return gpd.GeoDataFrame(
        {
            "cell": pick,
            "row": lat.row[pick],
            "col": lat.col[pick],
            "x": cx,
            "y": cy,
        },
        geometry=_polygons(lat.shape, lat.cell_size, cx, cy),
        crs=crs,
    )
