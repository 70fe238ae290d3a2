"""How much memory a hot-spot run will allocate, and the refusal when it is too much.

Grids grow with the square of the extent over the cell size: a 0.3 m cell over a
county is a trillion cells. :func:`lattice_memory` and :func:`density_memory` estimate
the bytes the Gi* lattice (with its trends) and the density grid will hold at their
peak, from the extent alone, before anything is allocated; :func:`check_memory` refuses
a need beyond the limit, saying what was asked, what it needs and what would fit.
The bytes per cell are measured on this implementation (numpy arrays and shapely
polygons), rounded up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from geo.errors import HotspotError

__all__ = [
    "DEFAULT_MAX_MEMORY_GB",
    "MemoryNeed",
    "check_memory",
    "density_memory",
    "lattice_memory",
]

#: Memory a hot-spot run may allocate for its grids unless told otherwise.
DEFAULT_MAX_MEMORY_GB: Final = 8.0

_SQRT3: Final = math.sqrt(3.0)
# Peak bytes per cell of the full lattice rectangle (row, column, lookup and mask
# arrays, then the statistics of each kept cell: counts, Gi*, FDR, own-count test).
_LATTICE_BYTES: Final = 260.0
# Bytes per row of a cell table: 19 columns and a shapely polygon.
_ROW_BYTES: Final = 650.0
# Bytes per cell and period of a trend analysis (space-time cube, Gi* per period with
# its FDR, Mann-Kendall).
_PERIOD_BYTES: Final = 170.0
# Bytes per node of the fine density grid (binned counts, FFT buffers, output).
_FINE_BYTES: Final = 72.0
# Cell sizes suggested when a grid is too large, in metres.
_NICE_SIZES: Final = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000)
# Kernel reach and binning steps of the density grid (see geo.hotspots.density).
_KERNEL_SIGMAS: Final = 4.0
_BIN_STEPS_PER_BANDWIDTH: Final = 6.0


@dataclass(frozen=True)
class MemoryNeed:
    """The memory a grid of one cell size over one extent needs, against a limit.

    ``what`` names the grid (``"Gi* cells"``, ``"density grid"``); ``cells`` counts its
    cells (fine nodes for the density), ``bytes`` its estimated peak allocation, and
    ``fits_from`` is the smallest of a few round cell sizes at which it would fit
    (None when none up to the extent does).
    """

    what: str
    cell_size: float
    width: float
    height: float
    cells: float
    bytes: float
    limit_gb: float
    fits_from: float | None

    @property
    def fits(self) -> bool:
        """True when the need is within the limit."""
        return self.bytes <= self.limit_gb * 1e9

    def describe(self) -> str:
        """Return "X cells (about Y GB)" for messages."""
        return f"{_count_text(self.cells)} cells (about {_gb_text(self.bytes)})"

    def message(
        self, option: str | None = None, remedy: str = "a smaller study area", limit: str = ""
    ) -> str:
        """Return the refusal: extent, cells, bytes, the limit and what would fit.

        ``option`` names the cell size as the caller's user sets it (``"--cell"``);
        ``remedy`` is the other way out, ``limit`` how the limit is set.
        """
        over = f"{self.width / 1000:.1f} x {self.height / 1000:.1f} km"
        if option:
            asked, bigger = f"{option} {self.cell_size:g} m", f"{option} {self.fits_from or 0:g}"
        else:
            asked = f"a cell size of {self.cell_size:g} m"
            bigger = f"cells of {self.fits_from or 0:g} m"
        fix = f"use {bigger} or larger, or {remedy}" if self.fits_from is not None else remedy
        where = f" ({limit})" if limit else ""
        return (
            f"{asked} over {over} needs {self.describe()} for the {self.what}; the limit is "
            f"{self.limit_gb:g} GB{where}: {fix}"
        )


def _count_text(n: float) -> str:
    for size, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if n >= size:
            return f"{n / size:.3g} {word}"
    return f"{n:,.0f}"


def _gb_text(b: float) -> str:
    gb = b / 1e9
    return f"{gb:,.0f} GB" if gb >= 10 else f"{gb:.2g} GB"


def _check_limit(limit_gb: float) -> float:
    if not (isinstance(limit_gb, int | float) and math.isfinite(limit_gb) and limit_gb > 0):
        msg = f"max_memory_gb must be a positive number of GB, got {limit_gb!r}"
        raise HotspotError(msg)
    return float(limit_gb)


def _lattice_shape(width: float, height: float, cell: float, shape: str) -> tuple[float, float]:
    if shape == "square":
        return max(1.0, math.ceil(width / cell - 1e-9)), max(1.0, math.ceil(height / cell - 1e-9))
    return math.floor(width / cell) + 2.0, math.floor(height / (cell * _SQRT3 / 2)) + 2.0


def _lattice_bytes(
    width: float,
    height: float,
    cell: float,
    shape: str,
    n_points: int,
    keep_quiet: bool,
    n_periods: int,
) -> tuple[float, float]:
    ncols, nrows = _lattice_shape(width, height, cell, shape)
    n = ncols * nrows
    # Without quiet cells a table holds at most the cells with incidents and their
    # neighbourhoods, hot or cold.
    rows = n if keep_quiet else min(n, 9.0 * n_points)
    return n, n * (_LATTICE_BYTES + n_periods * _PERIOD_BYTES) + rows * _ROW_BYTES


def lattice_memory(
    width: float,
    height: float,
    cell_size: float,
    shape: str = "square",
    *,
    n_points: int,
    keep_quiet: bool = True,
    n_periods: int = 0,
    limit_gb: float = DEFAULT_MAX_MEMORY_GB,
) -> MemoryNeed:
    """Estimate the memory of a Gi* lattice (and its trends) over a ``width x height`` box.

    Parameters
    ----------
    width, height
        Extent of the study region in metres.
    cell_size, shape
        The cells (see :func:`~geo.hotspots.grid_counts`).
    n_points
        Incidents analysed (they bound the rows kept without quiet cells).
    keep_quiet
        Whether the table keeps every cell (see :func:`~geo.hotspots.gi_star_hotspots`).
    n_periods
        Periods of a trend analysis (0: none).
    limit_gb
        The limit to compare with and to find a cell size that fits.
    """
    limit = _check_limit(limit_gb)
    n, need = _lattice_bytes(width, height, cell_size, shape, n_points, keep_quiet, n_periods)
    fits_from = next(
        (
            float(s)
            for s in _NICE_SIZES
            if s > cell_size
            and s <= max(width, height)
            and _lattice_bytes(width, height, s, shape, n_points, keep_quiet, n_periods)[1]
            <= limit * 1e9
        ),
        None,
    )
    what = "Gi* cells" + (f" and their {n_periods} periods" if n_periods else "")
    return MemoryNeed(what, cell_size, width, height, n, need, limit, fits_from)


def _density_bytes(width: float, height: float, cell: float, bandwidth: float) -> float:
    nx = max(1, math.ceil(width / cell - 1e-9))
    ny = max(1, math.ceil(height / cell - 1e-9))
    m = max(1, math.ceil(_BIN_STEPS_PER_BANDWIDTH * cell / bandwidth))
    m += 1 - m % 2
    radius = math.ceil(_KERNEL_SIGMAS * bandwidth / (cell / m))
    # The FFT pads the fine grid by the kernel's width once more.
    fnx, fny = nx * m + 4 * radius + 1, ny * m + 4 * radius + 1
    return float(fnx) * fny * _FINE_BYTES


def density_memory(
    width: float,
    height: float,
    cell_size: float,
    bandwidth: float,
    *,
    limit_gb: float = DEFAULT_MAX_MEMORY_GB,
) -> MemoryNeed:
    """Estimate the memory of a kernel density grid over a ``width x height`` box.

    ``width`` and ``height`` are the grid's own extent (the incidents' box grown by
    three bandwidths when no bounds are given, as :func:`~geo.hotspots.kde_grid` does).
    """
    limit = _check_limit(limit_gb)
    need = _density_bytes(width, height, cell_size, bandwidth)
    fits_from = next(
        (
            float(s)
            for s in _NICE_SIZES
            if s > cell_size
            and s <= max(width, height)
            and _density_bytes(width, height, s, bandwidth) <= limit * 1e9
        ),
        None,
    )
    return MemoryNeed(
        "density grid", cell_size, width, height, need / _FINE_BYTES, need, limit, fits_from
    )


def check_memory(need: MemoryNeed) -> None:
    """Raise :class:`~geo.errors.HotspotError` with :meth:`MemoryNeed.message` unless it fits."""
    if not need.fits:
        raise HotspotError(need.message())
