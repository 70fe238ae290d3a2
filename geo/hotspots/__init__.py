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
* :mod:`~geo.hotspots.network`: :func:`network_hotspots` runs the same statistic over
  road segments.
* :mod:`~geo.hotspots.trends`: :func:`mann_kendall` and :func:`emerging_hotspots` follow
  hot spots through time, after ESRI's Emerging Hot Spot Analysis.
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
``significant`` is ``p_fdr <= alpha``. Every analysis returns a frozen
:class:`~geo.results.Result` whose tables are in the incidents' (or the network's) CRS
and whose fields record how many incidents were left out and why; a layer in another
CRS than the network raises rather than being reprojected.
"""

from __future__ import annotations

from geo.errors import HotspotError
from geo.hotspots.density import DensityGrid, kde_grid
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
    PATTERNS,
    EmergingHotspots,
    TrendTest,
    emerging_hotspots,
    mann_kendall,
)

__all__ = [
    "CLASSES",
    "CONFIDENCE_LEVELS",
    "PATTERNS",
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
    "RoadHotspots",
    "TrendTest",
    "analyse_hotspots",
    "classify",
    "emerging_hotspots",
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
]
