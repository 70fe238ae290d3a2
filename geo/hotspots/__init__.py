"""Where incidents concentrate: filters, kernel density, Gi* hot spots with FDR, trends.

Everything works in a metric CRS on plain arrays; no function loops over cells, points
or roads in Python. One module per concern:

* :mod:`~geo.hotspots.filters`: :func:`filter_incidents` selects incidents by date
  range, hour-of-day window (which may cross midnight, :func:`in_hour_window`),
  category and area.
* :mod:`~geo.hotspots.density`: :func:`kde_grid` is a Gaussian kernel density on a
  regular grid: linear binning, then one FFT convolution. It matches
  :class:`scipy.stats.gaussian_kde` with the same isotropic bandwidth at the cell
  centres, at a fraction of the cost.
* :mod:`~geo.hotspots.lattice`: :func:`grid_counts` and :func:`lattice_neighbours`, the
  square or hexagonal cells and their contiguity.
* :mod:`~geo.hotspots.gistar`: :func:`getis_ord_gi_star`, :func:`fdr_bh` and
  :func:`classify` are the pieces of a Getis-Ord Gi* hot spot analysis;
  :func:`gi_star_hotspots` chains them on square or hexagonal cells.
* :mod:`~geo.hotspots.evidence`: :func:`own_count_test`, the exact Poisson test of each
  unit's own count that decides which cells and road stretches are hot spot *cores*.
* :mod:`~geo.hotspots.network`: :func:`network_hotspots` runs the same statistic over
  road segments.
* :mod:`~geo.hotspots.trends`: :func:`mann_kendall` and :func:`emerging_hotspots` follow
  hot spots through time, after ESRI's Emerging Hot Spot Analysis;
  :func:`emerging_hotspots_auto` picks the period (:func:`choose_trend_period`) and
  returns :class:`TrendsSkipped` when the span is too short for any.
* :mod:`~geo.hotspots.pipeline`: :func:`analyse_hotspots` runs density, cell and
  (optionally) road hot spots in one go and returns a :class:`HotspotResult`.

Conventions shared by every output
----------------------------------
``z`` is the Gi* z-score, ``p`` its two-sided normal p-value, ``p_fdr`` the
Benjamini-Hochberg adjusted p-value over all cells (or roads) of the analysis, and
``class`` one of :data:`CLASSES`: ``"hot 99%"`` when ``z > 0`` and ``p_fdr <= 0.01``,
``"hot 95%"`` when ``p_fdr <= 0.05``, ``"hot 90%"`` when ``p_fdr <= 0.10``, the same
for ``"cold ..."`` with ``z < 0``, else ``"not significant"``. ``gi_bin`` codes the
class as an integer from -3 (cold 99%) to 3 (hot 99%), as ESRI's ``Gi_Bin`` does, and
``significant`` is ``p_fdr <= alpha``.

Gi* looks at a unit together with its neighbours: it describes hot *areas*, and with
sparse counts a cell or stretch with no incident of its own, next to a busy one, can be
"hot 99%". Cell and road tables therefore also test each unit's own count
(:func:`own_count_test`): ``expected`` is the count it would have at the study area's
rate (incidents counted x its share of the cells, or of the road length), ``rate_ratio``
is ``count / expected``, ``p_own`` the exact one-sided Poisson p-value of at least its
count, ``p_own_fdr`` that adjusted by Benjamini-Hochberg over the units, and ``core`` is
``count >= min_count`` (default 2) and ``p_own_fdr <= alpha``. ``role`` is one of
:data:`ROLES`: ``"hotspot core"`` (core, and Gi* hot: ``z > 0`` and ``p_fdr <=
alpha``), ``"part of a hot area"`` (Gi* hot, too few incidents of its own),
``"elevated"`` (core, Gi* not hot) or ``""``. The hotspot cores are the places to act
on; ``ranked()`` lists units with a role, cores first, then by own count, rate per km
(roads) and z, so a unit with no incident never ranks among the cores.

Every analysis returns a frozen
:class:`~geo.results.Result` whose tables are in the incidents' (or the network's) CRS
and whose fields record how many incidents were left out and why; a layer in another
CRS than the network raises rather than being reprojected.
"""

from __future__ import annotations

from geo.errors import HotspotError
from geo.hotspots.density import DensityGrid, kde_grid
from geo.hotspots.evidence import ROLES, OwnCountTest, own_count_test
from geo.hotspots.filters import filter_incidents, in_hour_window
from geo.hotspots.gistar import (
    CLASSES,
    CONFIDENCE_LEVELS,
    FDRResult,
    GiStar,
    GiStarCells,
    classify,
    fdr_bh,
    getis_ord_gi_star,
    gi_star_hotspots,
)
from geo.hotspots.lattice import CellCounts, CellShape, grid_counts, lattice_neighbours
from geo.hotspots.network import RoadHotspots, network_hotspots
from geo.hotspots.pipeline import HotspotParams, HotspotResult, analyse_hotspots
from geo.hotspots.trends import (
    AUTO_PERIODS,
    PATTERNS,
    EmergingHotspots,
    PeriodChoice,
    TrendsSkipped,
    TrendTest,
    choose_trend_period,
    emerging_hotspots,
    emerging_hotspots_auto,
    mann_kendall,
)

__all__ = [
    "AUTO_PERIODS",
    "CLASSES",
    "CONFIDENCE_LEVELS",
    "PATTERNS",
    "ROLES",
    "CellCounts",
    "CellShape",
    "DensityGrid",
    "EmergingHotspots",
    "FDRResult",
    "GiStar",
    "GiStarCells",
    "HotspotError",
    "HotspotParams",
    "HotspotResult",
    "OwnCountTest",
    "PeriodChoice",
    "RoadHotspots",
    "TrendTest",
    "TrendsSkipped",
    "analyse_hotspots",
    "choose_trend_period",
    "classify",
    "emerging_hotspots",
    "emerging_hotspots_auto",
    "fdr_bh",
    "filter_incidents",
    "getis_ord_gi_star",
    "gi_star_hotspots",
    "grid_counts",
    "in_hour_window",
    "kde_grid",
    "lattice_neighbours",
    "mann_kendall",
    "network_hotspots",
    "own_count_test",
]
