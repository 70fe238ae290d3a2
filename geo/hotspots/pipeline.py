"""Density, cell hot spots and road hot spots of one incident selection, in one go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.errors import HotspotError
from geo.hotspots._checks import (
    AreaLike,
    area_geometry,
    check_alpha,
    check_incidents,
    incident_xy,
)
from geo.hotspots.budget import (
    DEFAULT_MAX_MEMORY_GB,
    MemoryNeed,
    check_memory,
    density_memory,
    lattice_memory,
)
from geo.hotspots.density import (
    BandwidthRule,
    DensityGrid,
    check_bandwidth,
    kde_grid,
    rule_bandwidth,
)
from geo.hotspots.evidence import DEFAULT_MIN_COUNT, check_min_count
from geo.hotspots.gistar import GiStarCells, gi_star_hotspots
from geo.hotspots.lattice import CellShape, check_shape
from geo.hotspots.network import RoadHotspots, network_hotspots
from geo.network import RoadNetwork, Roads, SnapIndex
from geo.results import Result
from geo.validate import positive

__all__ = ["HotspotParams", "HotspotResult", "analyse_hotspots"]


@dataclass(frozen=True)
class HotspotParams:
    """Tunables of :func:`analyse_hotspots`.

    ``cell_size``/``shape``: Gi* cells; ``alpha``: FDR level of ``significant`` and
    ``core``; ``min_count``: fewest incidents of its own a cell or road piece needs to be
    a core; ``kde_cell_size``/``bandwidth``: the density grid (``bandwidth`` in metres,
    or ``"scott"``/``"silverman"``); ``max_snap_m``, ``segment_m``, ``network_value``:
    road hot spots (see :func:`~geo.hotspots.network_hotspots`); ``keep_quiet``: False
    leaves quiet cells and road pieces out of the tables (see
    :func:`~geo.hotspots.gi_star_hotspots`); ``max_memory_gb``: the grids' memory limit,
    checked before anything is allocated (:meth:`memory`).
    """

    cell_size: float = 250.0
    shape: CellShape = "square"
    alpha: float = 0.05
    kde_cell_size: float = 100.0
    bandwidth: float | BandwidthRule = "scott"
    max_snap_m: float = 100.0
    segment_m: float | None = 200.0
    network_value: Literal["per_km", "count"] = "per_km"
    min_count: int = DEFAULT_MIN_COUNT
    keep_quiet: bool = True
    max_memory_gb: float = DEFAULT_MAX_MEMORY_GB

    def __post_init__(self) -> None:
        check_min_count(self.min_count)
        positive("max_memory_gb", self.max_memory_gb, HotspotError)
        if self.segment_m is not None:
            positive("segment_m", self.segment_m, HotspotError)
        positive("cell_size", self.cell_size, HotspotError)
        positive("kde_cell_size", self.kde_cell_size, HotspotError)
        check_alpha(self.alpha)
        positive("max_snap_m", self.max_snap_m, HotspotError)
        check_shape(self.shape)
        check_bandwidth(self.bandwidth)
        if self.network_value not in ("per_km", "count"):
            msg = f"network_value must be 'per_km' or 'count', got {self.network_value!r}"
            raise HotspotError(msg)

    def memory(
        self, incidents: gpd.GeoDataFrame, *, n_periods: int = 0
    ) -> tuple[MemoryNeed, MemoryNeed]:
        """Return what the Gi* lattice (with trends) and the density grid of a run need.

        For the default study region, the incidents' bounding box (the density grid's
        grown by three bandwidths): read from the incidents alone, so a run can be
        refused before the roads are loaded.
        """
        x, y = incident_xy(check_incidents(incidents), "incidents")
        w, h = float(np.max(x) - np.min(x)), float(np.max(y) - np.min(y))
        cells = lattice_memory(
            w,
            h,
            self.cell_size,
            self.shape,
            n_points=len(x),
            keep_quiet=self.keep_quiet,
            n_periods=n_periods,
            limit_gb=self.max_memory_gb,
        )
        if isinstance(self.bandwidth, str):
            bw = rule_bandwidth(np.column_stack([x, y]), np.ones(len(x)), self.bandwidth)
        else:
            bw = float(self.bandwidth)
        density = density_memory(
            w + 6 * bw, h + 6 * bw, self.kde_cell_size, bw, limit_gb=self.max_memory_gb
        )
        return cells, density


@dataclass(frozen=True, eq=False)
class HotspotResult(Result):
    """Density, hot cells and (optionally) hot roads of one incident selection.

    ``n_incidents`` were analysed, all of them by every part: ``density``, the Gi*
    ``cell_hotspots`` (of which :attr:`n_in_cells` fell in a cell, the rest outside the
    given bounds/area) and, with a network, the ``road_hotspots`` (:attr:`n_snapped` /
    :attr:`n_unsnapped` within / beyond ``params.max_snap_m`` of a road; None without).
    :attr:`cells` and :attr:`edges` are the parts' tables; :meth:`ranked_cells` and
    :meth:`ranked_roads` rank them by the evidence of each unit's own incidents.
    """

    params: HotspotParams
    density: DensityGrid
    cell_hotspots: GiStarCells
    n_incidents: int
    road_hotspots: RoadHotspots | None = None
    crs: pyproj.CRS | None = None

    _geometry_table: ClassVar[str | None] = "cells"

    def _check(self) -> None:
        """Raise unless every part analysed the same incidents with these parameters."""
        cells, roads, p = self.cell_hotspots, self.road_hotspots, self.params
        seen = {
            "cells": cells.n_points,
            "density": self.density.n_points,
            **({"roads": roads.n_incidents} if roads is not None else {}),
        }
        if any(n != self.n_incidents for n in seen.values()):
            parts = ", ".join(f"{k} {n}" for k, n in seen.items())
            msg = f"HotspotResult counts disagree: {self.n_incidents} incidents, but {parts}"
            raise HotspotError(msg)
        used = (cells.cell_size, cells.shape, cells.alpha, cells.min_count)
        if used != (p.cell_size, p.shape, p.alpha, p.min_count):
            msg = (
                f"HotspotResult cells used (cell_size, shape, alpha, min_count) {used}, "
                "not the params'"
            )
            raise HotspotError(msg)
        if roads is not None and (
            roads.max_snap_m,
            roads.segment_m,
            roads.value,
            roads.alpha,
            roads.min_count,
        ) != (p.max_snap_m, p.segment_m, p.network_value, p.alpha, p.min_count):
            msg = "HotspotResult roads used other max_snap_m, segment_m, value, alpha or min_count"
            raise HotspotError(msg)

    # Stored frames of the parts: the base class copies what a property returns, once.

    @property
    def cells(self) -> gpd.GeoDataFrame:
        """The Gi* cells (:attr:`GiStarCells.cells`)."""
        return cast(gpd.GeoDataFrame, self.cell_hotspots._frame("cells"))

    @property
    def edges(self) -> gpd.GeoDataFrame | None:
        """The road pieces (:attr:`RoadHotspots.roads`), None without a network."""
        roads = self.road_hotspots
        return None if roads is None else cast(gpd.GeoDataFrame, roads._frame("roads"))

    @property
    def hot_cells(self) -> gpd.GeoDataFrame:
        """Cells classed hot at any confidence level, in evidence order."""
        return self.cell_hotspots.hot

    def ranked_cells(self, *, everything: bool = False) -> gpd.GeoDataFrame:
        """Return the cells ranked by evidence (:meth:`GiStarCells.ranked`)."""
        return self.cell_hotspots.ranked(everything=everything)

    def ranked_roads(self, *, everything: bool = False) -> gpd.GeoDataFrame | None:
        """Return the road pieces ranked by evidence (:meth:`RoadHotspots.ranked`), or None."""
        roads = self.road_hotspots
        return None if roads is None else roads.ranked(everything=everything)

    @property
    def n_in_cells(self) -> int:
        """Incidents counted in a Gi* cell."""
        return self.cell_hotspots.n_in_cells

    @property
    def n_snapped(self) -> int | None:
        """Incidents within ``params.max_snap_m`` of a road; None without a network."""
        return None if self.road_hotspots is None else self.road_hotspots.n_snapped

    @property
    def n_unsnapped(self) -> int | None:
        """Incidents beyond ``params.max_snap_m`` of every road; None without a network."""
        return None if self.road_hotspots is None else self.road_hotspots.n_unsnapped

    def _extra_tables(self) -> dict[str, pd.DataFrame]:
        out = {"cells": self.cells}
        if self.road_hotspots is not None:
            out["roads"] = self.road_hotspots.roads
        return out

    def _extra_meta(self) -> dict[str, Any]:
        return {
            "n_in_cells": self.n_in_cells,
            "n_snapped": self.n_snapped,
            "n_unsnapped": self.n_unsnapped,
        }


#: Fewest incidents a hot-spot analysis runs on: below it there is no pattern to test.
MIN_INCIDENTS = 3


def analyse_hotspots(
    incidents: gpd.GeoDataFrame,
    *,
    params: HotspotParams | None = None,
    roads: Roads | RoadNetwork | None = None,
    snap: SnapIndex | None = None,
    bounds: Sequence[float] | None = None,
    area: AreaLike | None = None,
) -> HotspotResult:
    """Run density, Gi* cell hot spots and (with a network) road hot spots together.

    Parameters
    ----------
    incidents
        Incidents in a projected metric CRS, already filtered; with ``roads``, in the
        roads' CRS.
    params
        Tunables; default :class:`HotspotParams()`.
    roads
        The area's road view (or a network) for road hot spots; None skips them.
    snap
        The snap index of ``roads``, when the caller holds one.
    bounds, area
        Study region of the Gi* cells (see :func:`~geo.hotspots.grid_counts`); the
        density grid covers the same bounds when given.

    Returns
    -------
    HotspotResult
        Density grid, cells, roads and the counts of incidents used and dropped.

    Raises
    ------
    HotspotError
        As the functions it calls.
    """
    p = params or HotspotParams()
    inc = check_incidents(incidents)
    if len(inc) < MIN_INCIDENTS:
        # With one or two points the "study extent" is a few metres, and any message
        # about cell sizes would send the user the wrong way.
        msg = (
            f"too few incidents for hot spots: {len(inc)} (at least {MIN_INCIDENTS} are "
            "needed); widen the selection (dates, hours, categories or area)"
        )
        raise HotspotError(msg)
    if bounds is None and area is None:
        # Both grids are checked before either is allocated.
        for need in p.memory(inc):
            check_memory(need)
    cells = gi_star_hotspots(
        inc,
        cell_size=p.cell_size,
        shape=p.shape,
        alpha=p.alpha,
        bounds=bounds,
        area=area,
        min_count=p.min_count,
        keep_quiet=p.keep_quiet,
        max_memory_gb=p.max_memory_gb,
    )
    kde_bounds = bounds
    if kde_bounds is None and area is not None:
        kde_bounds = tuple(shapely.bounds(area_geometry(area, pyproj.CRS(inc.crs))).tolist())
    density = kde_grid(
        inc,
        cell_size=p.kde_cell_size,
        bandwidth=p.bandwidth,
        bounds=kde_bounds,
        max_memory_gb=p.max_memory_gb,
    )
    hot_roads = None
    if roads is not None:
        hot_roads = network_hotspots(
            roads,
            inc,
            max_snap_m=p.max_snap_m,
            alpha=p.alpha,
            segment_m=p.segment_m,
            value=p.network_value,
            snap=snap,
            min_count=p.min_count,
            keep_quiet=p.keep_quiet,
        )
    return HotspotResult(
        params=p,
        density=density,
        cell_hotspots=cells,
        n_incidents=len(inc),
        road_hotspots=hot_roads,
        crs=pyproj.CRS(inc.crs),
    )
