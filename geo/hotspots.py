"""Where incidents concentrate: filters, kernel density, Gi* hot spots with FDR, trends.

Everything works in a metric CRS on plain arrays; no function loops over cells, points
or roads in Python.

* :func:`filter_incidents` selects incidents by date range, hour-of-day window (which
  may cross midnight), category and area.
* :func:`kde_grid` is a Gaussian kernel density on a regular grid: linear binning, then
  one FFT convolution. It matches :class:`scipy.stats.gaussian_kde` with the same
  isotropic bandwidth at the cell centres, at a fraction of the cost.
* :func:`grid_counts`, :func:`lattice_neighbours`, :func:`getis_ord_gi_star`,
  :func:`fdr_bh` and :func:`classify` are the pieces of a Getis-Ord Gi* hot spot
  analysis; :func:`gi_star_hotspots` chains them on square or hexagonal cells and
  :func:`network_hotspots` runs the same statistic over road segments.
* :func:`mann_kendall` and :func:`emerging_hotspots` follow hot spots through time,
  after ESRI's Emerging Hot Spot Analysis.
* :func:`analyse_hotspots` runs density, cell and (optionally) road hot spots in one go
  and returns a :class:`HotspotResult`.

Conventions shared by every output
----------------------------------
``z`` is the Gi* z-score, ``p`` its two-sided normal p-value, ``p_fdr`` the
Benjamini-Hochberg adjusted p-value over all cells (or roads) of the analysis, and
``class`` one of :data:`CLASSES`: ``"hot 99%"`` when ``z > 0`` and ``p_fdr <= 0.01``,
``"hot 95%"`` when ``p_fdr <= 0.05``, ``"hot 90%"`` when ``p_fdr <= 0.10``, the same
for ``"cold ..."`` with ``z < 0``, else ``"not significant"``. ``gi_bin`` codes the
class as an integer from -3 (cold 99%) to 3 (hot 99%), as ESRI's ``Gi_Bin`` does, and
``significant`` is ``p_fdr <= alpha``. Frames are in the incidents' (or the network's)
CRS; ``GeoDataFrame.attrs`` records how many incidents were left out and why.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple, TypeAlias, cast, get_args

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely
from scipy import ndimage, signal, sparse, special

from geo.errors import HotspotError
from geo.network import RoadNetwork, edge_twins, snap_points

__all__ = [
    "CLASSES",
    "CONFIDENCE_LEVELS",
    "PATTERNS",
    "CellShape",
    "DensityGrid",
    "FDRResult",
    "GiStar",
    "HotspotError",
    "HotspotParams",
    "HotspotResult",
    "TrendTest",
    "analyse_hotspots",
    "classify",
    "emerging_hotspots",
    "fdr_bh",
    "filter_incidents",
    "getis_ord_gi_star",
    "gi_star_hotspots",
    "grid_counts",
    "kde_grid",
    "lattice_neighbours",
    "mann_kendall",
    "network_hotspots",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
CellShape: TypeAlias = Literal["square", "hex"]
BandwidthRule: TypeAlias = Literal["scott", "silverman"]
Bounds: TypeAlias = tuple[float, float, float, float]
TimeLike: TypeAlias = str | dt.date | dt.datetime | pd.Timestamp | np.datetime64
ClockLike: TypeAlias = int | float | str
AreaLike: TypeAlias = shapely.Geometry | gpd.GeoSeries | gpd.GeoDataFrame

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

#: Every value of the ``pattern`` column of :func:`emerging_hotspots`.
PATTERNS: Final = ("new", "intensifying", "persistent", "diminishing", "sporadic", "no pattern")

#: Share of periods a cell must be hot in to count as persistently hot (ESRI's 90 %).
PERSISTENT_SHARE: Final = 0.9

# A grid larger than this is almost surely a unit mistake (cell size in km, bounds in
# degrees) and would exhaust memory long before it finished.
_MAX_CELLS: Final = 20_000_000
# The kernel is cut to a square of this many bandwidths either side; it holds the 4-sigma
# disc, outside which a 2-D Gaussian has exp(-8) = 0.03 % of its mass, far below the 1 %
# agreement promised with gaussian_kde.
_KERNEL_SIGMAS: Final = 4.0
# Linear binning spreads each point over a 2x2 block of nodes s apart, adding up to
# s^2/4 (s^2/6 on average) of variance per axis, which lowers a lone point's peak by the
# factor h^2 / (h^2 + s^2/4). A binning step of at most h/6 keeps that loss under 0.7 %
# (less where kernels overlap), so coarse output cells are binned on a finer grid.
_BIN_STEPS_PER_BANDWIDTH: Final = 6.0
# Gi* z-series are rounded before the Mann-Kendall test so that periods whose z differ
# only by floating-point noise count as ties rather than as a trend.
_MK_DECIMALS: Final = 9
_MIN_PERIODS: Final = 3
# Mann-Kendall compares every pair of periods of every cell; past this many comparisons
# (a minute or so of work) the period is surely too short for the span.
_MAX_MK_PAIRS: Final = 5e9
_SQRT3: Final = math.sqrt(3.0)


# ----------------------------------------------------------------------------- validation


def _positive(name: str, value: object) -> float:
    """Return ``value`` as a finite positive float, or raise naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        msg = f"{name} must be a positive number of metres, got {value!r}"
        raise HotspotError(msg)
    out = float(value)
    if not (math.isfinite(out) and out > 0):
        msg = f"{name} must be positive and finite, got {value!r}"
        raise HotspotError(msg)
    return out


def _check_alpha(alpha: object) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.floating):
        msg = f"alpha must be a number in (0, 1), got {alpha!r}"
        raise HotspotError(msg)
    if not 0.0 < float(alpha) < 1.0:
        msg = f"alpha must lie strictly between 0 and 1, got {alpha!r}"
        raise HotspotError(msg)
    return float(alpha)


def _check_metric(crs: object, what: str) -> pyproj.CRS:
    """Return ``crs`` as a projected CRS in metres, or raise: distances must be metric."""
    if crs is None:
        msg = f"{what} have no CRS; hot spot distances need a projected CRS in metres"
        raise HotspotError(msg)
    parsed = pyproj.CRS.from_user_input(crs)
    if parsed.is_geographic:
        msg = (
            f"{what} are in a geographic CRS ({parsed.name}, degrees); reproject them to a "
            "projected CRS in metres (e.g. their UTM zone) first"
        )
        raise HotspotError(msg)
    units = {(a.unit_name or "").lower() for a in parsed.axis_info}
    if not units or not units <= {"metre", "meter", "m"}:
        msg = f"{what} use a CRS in {', '.join(sorted(units)) or 'unknown units'}, not metres"
        raise HotspotError(msg)
    return parsed


def _check_incidents(incidents: object) -> gpd.GeoDataFrame:
    if not isinstance(incidents, gpd.GeoDataFrame):
        msg = f"incidents must be a GeoDataFrame, got {type(incidents).__name__}"
        raise HotspotError(msg)
    if len(incidents) == 0:
        msg = "no incidents to analyse (the incident set is empty)"
        raise HotspotError(msg)
    _check_metric(incidents.crs, "incidents")
    return incidents


def _point_xy(points: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> tuple[FloatArray, FloatArray]:
    geom = np.asarray(points.geometry.array if isinstance(points, gpd.GeoDataFrame) else points)
    kinds = shapely.get_type_id(geom)
    bad = kinds != 0  # -1 (missing) or anything but a Point
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        msg = f"{what} must all be points; row {first} holds {geom[first]!r:.60}"
        raise HotspotError(msg)
    x = shapely.get_x(geom).astype(np.float64)
    y = shapely.get_y(geom).astype(np.float64)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        msg = f"{what} include empty points or non-finite coordinates"
        raise HotspotError(msg)
    return x, y


def _check_bounds(bounds: Sequence[float]) -> Bounds:
    try:
        b = tuple(float(v) for v in bounds)
    except (TypeError, ValueError):
        msg = f"bounds must be (xmin, ymin, xmax, ymax) in metres, got {bounds!r}"
        raise HotspotError(msg) from None
    if len(b) != 4 or not all(math.isfinite(v) for v in b):
        msg = f"bounds must be four finite numbers (xmin, ymin, xmax, ymax), got {bounds!r}"
        raise HotspotError(msg)
    if b[2] < b[0] or b[3] < b[1]:
        msg = f"bounds {bounds!r} have xmax < xmin or ymax < ymin"
        raise HotspotError(msg)
    return (b[0], b[1], b[2], b[3])


def _area_geometry(area: AreaLike, crs: pyproj.CRS | None) -> shapely.Geometry:
    """Return ``area`` as one polygonal shapely geometry in ``crs``; a CRS mismatch raises."""
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is not None and crs is not None and not pyproj.CRS(area.crs).equals(crs):
            msg = f"area is in {area.crs.name}, the incidents in {crs.name}; reproject the area"
            raise HotspotError(msg)
        geom = area.geometry.union_all() if len(area) else shapely.Polygon()
    elif isinstance(area, shapely.Geometry):
        geom = area
    else:
        msg = f"area must be a shapely polygon or a GeoSeries/GeoDataFrame, got {type(area)!r}"
        raise HotspotError(msg)
    if geom is None or geom.is_empty or shapely.get_type_id(geom) not in (3, 6, 7):
        msg = f"area must be a non-empty polygon or multipolygon, got {geom!r:.60}"
        raise HotspotError(msg)
    if shapely.get_type_id(geom) == 7:
        geom = shapely.union_all(shapely.get_parts(geom)[shapely.get_dimensions(geom) == 2])
    if geom.area <= 0:
        msg = "area has no extent (zero area)"
        raise HotspotError(msg)
    return geom


# ----------------------------------------------------------------------------- filters


def _as_timestamp(value: TimeLike, tz: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        msg = f"{name} {value!r} is not a date or time: {exc}"
        raise HotspotError(msg) from None
    if ts is pd.NaT:
        msg = f"{name} must be a date or time, got {value!r}"
        raise HotspotError(msg)
    if tz is None:
        if ts.tzinfo is not None:
            msg = f"{name} {value!r} has a time zone but the incident times have none"
            raise HotspotError(msg)
        return ts
    if ts.tzinfo is None:
        try:
            return ts.tz_localize(tz)
        except (ValueError, OverflowError) as exc:  # a wall time DST skips or repeats
            msg = f"{name} {value!r} does not exist or is ambiguous in {tz}: {exc}"
            raise HotspotError(msg) from None
    return ts.tz_convert(tz)


_CLOCK_RE: Final = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*$")


def _clock_minutes(value: object, name: str, *, end: bool) -> float:
    """Return a clock time (hour number or "HH:MM") as minutes after midnight."""
    if isinstance(value, str):
        m = _CLOCK_RE.match(value)
        if m is None:
            msg = f"{name} {value!r} is not an hour or an 'HH:MM' time"
            raise HotspotError(msg)
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if minute >= 60:
            msg = f"{name} {value!r} has {minute} minutes; expected 00-59"
            raise HotspotError(msg)
        minutes = float(hour * 60 + minute)
    elif isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        minutes = float(value) * 60.0
    else:
        msg = f"{name} must be an hour (0-24) or an 'HH:MM' string, got {value!r}"
        raise HotspotError(msg)
    high = 24 * 60 if end else 24 * 60 - 1e-9
    if not (math.isfinite(minutes) and 0.0 <= minutes <= high):
        limit = "0-24" if end else "0-23:59"
        msg = f"{name} {value!r} is outside {limit}"
        raise HotspotError(msg)
    return minutes


def in_hour_window(times: pd.Series[Any], hours: object) -> BoolArray:
    """Return whether each local clock time falls in ``hours`` = (start, end).

    Hours are numbers (fractional allowed, end may be 24) or ``"HH:MM"`` strings; a
    window whose start is after its end wraps past midnight, so (19, 6) keeps 19:00 to
    05:59:59. The one place the product decides what "at night" means.
    """
    if isinstance(hours, str) or not isinstance(hours, Sequence) or len(hours) != 2:
        msg = f"hours must be a (start, end) pair such as (19, 6) or ('19:30', '06'), got {hours!r}"
        raise HotspotError(msg)
    start = _clock_minutes(hours[0], "hours start", end=False)
    stop = _clock_minutes(hours[1], "hours end", end=True)
    if start == stop or (start == 0 and stop == 24 * 60):
        msg = f"hours {hours!r} give an empty or whole-day window; pass hours=None for all day"
        raise HotspotError(msg)
    seconds = (
        times.dt.hour.to_numpy() * 3600
        + times.dt.minute.to_numpy() * 60
        + times.dt.second.to_numpy()
    ).astype(np.float64)
    lo, hi = start * 60.0, stop * 60.0
    if lo < hi:
        return np.asarray((seconds >= lo) & (seconds < hi))
    # The window wraps past midnight, e.g. 19:00-06:00 keeps 23:30 and 02:00.
    return np.asarray((seconds >= lo) | (seconds < hi))


def filter_incidents(
    incidents: gpd.GeoDataFrame,
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    hours: tuple[ClockLike, ClockLike] | None = None,
    categories: str | Iterable[str] | None = None,
    area: AreaLike | None = None,
) -> gpd.GeoDataFrame:
    """Select incidents by date range, hour of day, category and area.

    Parameters
    ----------
    incidents
        Incident layer as read by :func:`geo.layers.read_incidents` (``time``,
        ``category`` and point ``geometry`` columns).
    start, end
        Keep ``start <= time < end``. Dates mean midnight; naive values are local times
        in the incidents' time zone, aware ones are converted to it.
    hours
        ``(start_hour, end_hour)`` window of the local time of day, start inclusive, end
        exclusive. Hours may be numbers (``19``, ``19.5``) or ``"HH:MM"`` strings; the
        end may be ``24``. A window whose start is after its end crosses midnight:
        ``(19, 6)`` keeps 19:00:00 to 05:59:59.
    categories
        Category names to keep, case-insensitive (a single string is one category).
    area
        Polygon in the incidents' CRS (a shapely geometry, or a GeoSeries/GeoDataFrame
        whose CRS must equal the incidents'); points on its boundary are kept.

    Returns
    -------
    geopandas.GeoDataFrame
        The matching rows, in input order with their original index; may be empty.

    Raises
    ------
    HotspotError
        If ``incidents`` is empty or lacks a needed column, ``end <= start``, the hour
        window is malformed, empty or whole-day, a category is unknown (the message lists
        the known ones) or ``area`` is not a polygon or is in another CRS.
    """
    if not isinstance(incidents, gpd.GeoDataFrame):
        msg = f"incidents must be a GeoDataFrame, got {type(incidents).__name__}"
        raise HotspotError(msg)
    if len(incidents) == 0:
        msg = "no incidents to filter (the incident set is empty)"
        raise HotspotError(msg)
    keep = np.ones(len(incidents), dtype=bool)
    if start is not None or end is not None or hours is not None:
        if "time" not in incidents.columns:
            msg = "incidents lack a 'time' column, needed to filter by date or hour"
            raise HotspotError(msg)
        times = incidents["time"]
        if not pd.api.types.is_datetime64_any_dtype(times.dtype):
            msg = f"incident 'time' column must hold datetimes, not {times.dtype}"
            raise HotspotError(msg)
        tz = getattr(times.dtype, "tz", None)
        lo = _as_timestamp(start, tz, "start") if start is not None else None
        hi = _as_timestamp(end, tz, "end") if end is not None else None
        if lo is not None and hi is not None and hi <= lo:
            msg = f"end {end!r} must be after start {start!r}"
            raise HotspotError(msg)
        if lo is not None:
            keep &= (times >= lo).to_numpy(dtype=bool, na_value=False)
        if hi is not None:
            keep &= (times < hi).to_numpy(dtype=bool, na_value=False)
        if hours is not None:
            keep &= in_hour_window(times, hours)
    if categories is not None:
        if "category" not in incidents.columns:
            msg = "incidents lack a 'category' column, needed to filter by category"
            raise HotspotError(msg)
        wanted = [categories] if isinstance(categories, str) else list(categories)
        if not wanted or not all(isinstance(c, str) for c in wanted):
            msg = f"categories must be a non-empty list of names, got {categories!r}"
            raise HotspotError(msg)
        have = incidents["category"].astype("str").str.strip().str.lower()
        known = sorted(set(have.tolist()))
        wanted_l = {c.strip().lower() for c in wanted}
        unknown = sorted(wanted_l - set(known))
        if unknown:
            word = "category" if len(unknown) == 1 else "categories"
            msg = f"unknown {word} {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
            raise HotspotError(msg)
        keep &= have.isin(wanted_l).to_numpy()
    if area is not None:
        crs = pyproj.CRS(incidents.crs) if incidents.crs is not None else None
        poly = _area_geometry(area, crs)
        x, y = _point_xy(incidents, "incidents")
        shapely.prepare(poly)
        keep &= shapely.intersects_xy(poly, x, y)
    return incidents.iloc[np.flatnonzero(keep)]


# ----------------------------------------------------------------------------- density


@dataclass(frozen=True, eq=False)
class DensityGrid:
    """A kernel density surface on a regular grid of cell centres.

    ``density[i, j]`` is the kernel estimate at the point ``(x[j], y[i])`` (a value at
    the cell centre, not an average over the cell) in **weighted points per km²**: the
    expected number of incidents per square kilometre there. :attr:`pdf` gives the same
    surface as a probability density per m², which is what
    :class:`scipy.stats.gaussian_kde` evaluates. Rows run south to north (``y``
    increasing), so flip them for an image whose first row is the north.
    """

    x: FloatArray
    y: FloatArray
    density: FloatArray
    cell_size: float
    bandwidth: float
    bandwidth_rule: str
    n_points: int
    total_weight: float
    crs: pyproj.CRS | None = None

    def __post_init__(self) -> None:
        ny, nx = len(self.y), len(self.x)
        if self.density.shape != (ny, nx):
            msg = f"density has shape {self.density.shape}, expected {(ny, nx)}"
            raise HotspotError(msg)
        if not (self.bandwidth > 0 and self.cell_size > 0 and self.total_weight > 0):
            msg = "DensityGrid needs a positive bandwidth, cell size and total weight"
            raise HotspotError(msg)
        if self.bandwidth_rule not in ("scott", "silverman", "user"):
            msg = f"unknown bandwidth rule {self.bandwidth_rule!r}"
            raise HotspotError(msg)
        if not np.all(np.isfinite(self.density)) or (self.density < 0).any():
            msg = "density must be finite and non-negative"
            raise HotspotError(msg)

    @property
    def pdf(self) -> FloatArray:
        """Probability density per m² (integrates to 1 over the plane)."""
        return self.density / (self.total_weight * 1e6)

    @property
    def bounds(self) -> Bounds:
        """Outer edges ``(xmin, ymin, xmax, ymax)`` of the grid cells, for image overlays."""
        h = self.cell_size / 2
        return (
            float(self.x[0] - h),
            float(self.y[0] - h),
            float(self.x[-1] + h),
            float(self.y[-1] + h),
        )

    def peaks(self, k: int = 10, *, min_separation: float | None = None) -> pd.DataFrame:
        """Return up to ``k`` local maxima of the density, highest first.

        Parameters
        ----------
        k
            Largest number of peaks to return.
        min_separation
            Peaks must be the highest value within this distance (metres, a square
            window); default the bandwidth.

        Returns
        -------
        pandas.DataFrame
            Columns ``x``, ``y`` (the peak cell's centre; the middle of a plateau of equal
            cells) and ``density`` (per km²).
        """
        sep = (
            self.bandwidth
            if min_separation is None
            else _positive("min_separation", min_separation)
        )
        size = 2 * max(1, round(sep / self.cell_size)) + 1
        local = ndimage.maximum_filter(self.density, size=size, mode="constant", cval=0.0)
        # Relative tolerance: FFT round-off must not split a plateau of equal values.
        is_max = (self.density >= local * (1 - 1e-9)) & (self.density > 0)
        # Equal neighbouring maxima (a point midway between cell centres) form one plateau:
        # report it once, at its centre.
        labels, n = ndimage.label(is_max, structure=np.ones((3, 3)))
        if n == 0:
            return pd.DataFrame({"x": [], "y": [], "density": []})
        ids = np.arange(1, n + 1)
        centre = np.asarray(ndimage.center_of_mass(is_max, labels, ids), dtype=np.float64)
        value = np.asarray(ndimage.maximum(self.density, labels, ids), dtype=np.float64)
        order = np.argsort(-value, kind="stable")[: max(0, int(k))]
        return pd.DataFrame(
            {
                "x": self.x[0] + centre[order, 1] * self.cell_size,
                "y": self.y[0] + centre[order, 0] * self.cell_size,
                "density": value[order],
            }
        )


def _points_array(
    points_xy: npt.ArrayLike | gpd.GeoSeries | gpd.GeoDataFrame,
) -> tuple[FloatArray, pyproj.CRS | None]:
    if isinstance(points_xy, gpd.GeoDataFrame | gpd.GeoSeries):
        crs = _check_metric(points_xy.crs, "points")
        x, y = _point_xy(points_xy, "points")
        return np.column_stack([x, y]), crs
    xy = np.asarray(points_xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        msg = f"points_xy must be an (n, 2) array of x, y in metres, got shape {xy.shape}"
        raise HotspotError(msg)
    if not np.isfinite(xy).all():
        msg = "points_xy holds missing or non-finite coordinates"
        raise HotspotError(msg)
    return xy, None


def _rule_bandwidth(xy: FloatArray, w: FloatArray, rule: str) -> float:
    """Isotropic bandwidth from Scott's/Silverman's factor times the data's spread."""
    if len(xy) < 2:
        msg = f"the {rule} bandwidth rule needs at least 2 points, got {len(xy)}; pass bandwidth="
        raise HotspotError(msg)
    # gaussian_kde's effective sample size and covariance (np.cov with aweights, unbiased).
    n_eff = w.sum() ** 2 / (w**2).sum()
    d = 2
    factor = (
        n_eff ** (-1.0 / (d + 4))
        if rule == "scott"
        else (n_eff * (d + 2) / 4.0) ** (-1.0 / (d + 4))
    )
    cov = np.cov(xy, rowvar=False, aweights=w)
    sigma = math.sqrt(float(np.trace(cov)) / 2.0)
    if not sigma > 0:
        msg = "all points coincide, so the bandwidth rule gives 0; pass bandwidth= in metres"
        raise HotspotError(msg)
    return factor * sigma


def _grid_size_guard(n_cells: float, what: str) -> None:
    if n_cells > _MAX_CELLS:
        msg = (
            f"{what} would need {n_cells:,.0f} cells (limit {_MAX_CELLS:,}); "
            "use a larger cell size or smaller bounds"
        )
        raise HotspotError(msg)


def kde_grid(
    points_xy: npt.ArrayLike | gpd.GeoSeries | gpd.GeoDataFrame,
    *,
    cell_size: float,
    bandwidth: float | BandwidthRule | None = None,
    bounds: Sequence[float] | None = None,
    weights: npt.ArrayLike | None = None,
) -> DensityGrid:
    """Estimate a Gaussian kernel density of points on a regular grid.

    Parameters
    ----------
    points_xy
        ``(n, 2)`` array of x, y in metres, or a GeoSeries/GeoDataFrame of points in a
        projected metric CRS.
    cell_size
        Grid spacing in metres.
    bandwidth
        Standard deviation of the isotropic Gaussian kernel in metres, or the name of a
        rule: ``"scott"`` (the default, when None) or ``"silverman"``. See Notes.
    bounds
        ``(xmin, ymin, xmax, ymax)`` the grid must cover; default the points' bounding
        box grown by three bandwidths on every side, where a lone point's kernel has
        fallen to 1 % of its peak. Points outside the bounds still add their kernel's
        tail to cells inside.
    weights
        Non-negative weight per point (e.g. severity); default 1.

    Returns
    -------
    DensityGrid
        Cell-centre coordinates, density per km² (``pdf`` per m²), the bandwidth used and
        the rule that chose it.

    Raises
    ------
    HotspotError
        If there are no points, the cell size or bandwidth is not positive, the weights
        are malformed, the rule cannot be applied (fewer than 2 distinct points) or the
        grid would be unreasonably large.

    Notes
    -----
    *Bandwidth rules.* As in :class:`scipy.stats.gaussian_kde`, Scott's factor is
    ``n_eff ** (-1 / 6)`` and Silverman's ``(n_eff * (d + 2) / 4) ** (-1 / 6)`` for
    ``d = 2`` dimensions, which is the same number: the two rules coincide in 2-D.
    ``n_eff = (sum w)² / sum w²`` is the effective sample size (``n`` when unweighted).
    gaussian_kde multiplies the factor into the full data covariance, giving an
    elliptical kernel; here the kernel is isotropic, so the factor multiplies the root
    mean of the two coordinate variances, ``bandwidth = factor * sqrt((s_x² + s_y²) / 2)``
    with ``s²`` the weighted unbiased variances of ``np.cov(..., aweights=w)``.

    *Method.* Points are linearly binned: each one's weight is shared between the four
    surrounding grid nodes in proportion to its distance from them (bilinear weights),
    which keeps every point's centre of mass where it was and is far more accurate than
    dropping the whole point into the nearest cell (Wand & Jones 1995, *Kernel
    Smoothing*, App. D). The binned grid is convolved with the Gaussian, truncated at 4
    bandwidths, by ``scipy.signal.fftconvolve``, which zero-pads to the full linear
    convolution, so mass never wraps round to the opposite edge. Binning is done on a
    grid finer than ``cell_size`` when needed to keep the binning step at most a sixth of
    the bandwidth; the density is then read at the output cell centres. The result agrees
    with gaussian_kde at the cell centres within well under 1 % of the peak.
    """
    xy, crs = _points_array(points_xy)
    n = len(xy)
    if n == 0:
        msg = "no points to estimate a density from"
        raise HotspotError(msg)
    cell = _positive("cell_size", cell_size)
    if weights is None:
        w = np.ones(n)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,):
            msg = f"weights must have one value per point ({n}), got shape {w.shape}"
            raise HotspotError(msg)
        if not np.isfinite(w).all() or (w < 0).any() or not w.sum() > 0:
            msg = "weights must be finite, non-negative and not all zero"
            raise HotspotError(msg)
    rule: str
    if bandwidth is None or isinstance(bandwidth, str):
        rule = "scott" if bandwidth is None else bandwidth
        if rule not in get_args(BandwidthRule):
            msg = f"unknown bandwidth rule {rule!r}; expected 'scott', 'silverman' or metres"
            raise HotspotError(msg)
        h = _rule_bandwidth(xy, w, rule)
    else:
        rule = "user"
        h = _positive("bandwidth", bandwidth)

    if bounds is None:
        pad = 3.0 * h
        lo = xy.min(axis=0) - pad
        hi = xy.max(axis=0) + pad
        xmin, ymin, xmax, ymax = float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])
    else:
        xmin, ymin, xmax, ymax = _check_bounds(bounds)
    nx = max(1, math.ceil((xmax - xmin) / cell - 1e-9))
    ny = max(1, math.ceil((ymax - ymin) / cell - 1e-9))
    _grid_size_guard(float(nx) * ny, "the density grid")

    # m fine bins per output cell (odd, so a fine node sits on every output centre).
    m = max(1, math.ceil(_BIN_STEPS_PER_BANDWIDTH * cell / h))
    m += 1 - m % 2
    step = cell / m
    radius = math.ceil(_KERNEL_SIGMAS * h / step)
    fnx, fny = nx * m + 2 * radius, ny * m + 2 * radius
    _grid_size_guard(float(fnx) * fny, f"binning at {step:.3g} m for bandwidth {h:.3g} m")

    # Fine node k (array index) sits at xmin + (k - radius + 0.5) * step.
    u = (xy[:, 0] - xmin) / step - 0.5 + radius
    v = (xy[:, 1] - ymin) / step - 0.5 + radius
    i0 = np.floor(u)
    j0 = np.floor(v)
    inside = (i0 >= 0) & (i0 + 1 < fnx) & (j0 >= 0) & (j0 + 1 < fny)
    tu, tv = u[inside] - i0[inside], v[inside] - j0[inside]
    i, j = i0[inside].astype(np.int64), j0[inside].astype(np.int64)
    wi = w[inside]
    base = j * fnx + i
    binned = np.bincount(
        np.concatenate([base, base + 1, base + fnx, base + fnx + 1]),
        weights=np.concatenate(
            [wi * (1 - tu) * (1 - tv), wi * tu * (1 - tv), wi * (1 - tu) * tv, wi * tu * tv]
        ),
        minlength=fnx * fny,
    ).reshape(fny, fnx)

    offs = np.arange(-radius, radius + 1) * step
    k1 = np.exp(-0.5 * (offs / h) ** 2)
    kernel = np.outer(k1, k1) / (2.0 * math.pi * h * h)
    fine = signal.fftconvolve(binned, kernel, mode="valid")  # (ny * m, nx * m)
    mid = (m - 1) // 2
    per_m2 = np.clip(fine[mid::m, mid::m], 0.0, None)  # FFT round-off can dip below 0
    return DensityGrid(
        x=np.asarray(xmin + (np.arange(nx) + 0.5) * cell, dtype=np.float64),
        y=np.asarray(ymin + (np.arange(ny) + 0.5) * cell, dtype=np.float64),
        density=per_m2 * 1e6,
        cell_size=cell,
        bandwidth=h,
        bandwidth_rule=rule,
        n_points=n,
        total_weight=float(w.sum()),
        crs=crs,
    )


# ----------------------------------------------------------------------------- lattices


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

    def centres(self) -> tuple[FloatArray, FloatArray]:
        s = self.cell_size
        if self.shape == "square":
            cx = self.x0 + (self.col + 0.5) * s
            cy = self.y0 + (self.row + 0.5) * s
        else:
            cx = self.x0 + (self.col + 0.5 * (self.row & 1)) * s
            cy = self.y0 + self.row * (s * _SQRT3 / 2)
        return cx.astype(np.float64), cy.astype(np.float64)

    def polygons(self) -> npt.NDArray[np.object_]:
        cx, cy = self.centres()
        s = self.cell_size
        if self.shape == "square":
            return np.asarray(shapely.box(cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2))
        return _hexagons(cx, cy, s)

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
            _check_bounds(bounds)
            if bounds is not None
            else (float(x.min()), float(y.min()), float(x.max()), float(y.max()))
        )
        return box, shapely.box(*box)
    region = (
        area if bounds is None else shapely.intersection(area, shapely.box(*_check_bounds(bounds)))
    )
    if shapely.is_empty(region) or shapely.area(region) <= 0:
        msg = "area and bounds do not overlap"
        raise HotspotError(msg)
    b = shapely.bounds(region)
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3])), region


def _check_shape(shape: object) -> CellShape:
    if shape not in get_args(CellShape):
        msg = f"unknown cell shape {shape!r}; expected 'square' or 'hex'"
        raise HotspotError(msg)
    return cast(CellShape, shape)


def _build_lattice(
    shape: CellShape, cell: float, box: Bounds, region: shapely.Geometry
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
    _grid_size_guard(
        float(nrows) * ncols, f"a {cell:g} m {shape} grid over {width:.0f} x {height:.0f} m"
    )
    rr, cc = np.divmod(np.arange(nrows * ncols, dtype=np.int64), ncols)
    full = _Lattice(shape, cell, xmin, ymin, nrows, ncols, rr, cc, np.zeros((0, 0), np.int64))
    is_box = shapely.equals(region, shapely.box(*box)) and shape == "square"
    if is_box:
        keep = np.ones(len(rr), dtype=bool)
    else:
        polys = full.polygons()
        shapely.prepare(region)
        # Positive-area overlap: cells that merely touch the region hold none of it.
        keep = shapely.intersects(region, polys) & ~shapely.touches(region, polys)
    lookup = np.full((nrows, ncols), -1, dtype=np.int64)
    lookup[rr[keep], cc[keep]] = np.arange(int(keep.sum()))
    return _Lattice(shape, cell, xmin, ymin, nrows, ncols, rr[keep], cc[keep], lookup)


_SQUARE_OFFSETS: Final = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]
# Axial neighbour offsets (dq, dr) of a hexagon.
_HEX_AXIAL: Final = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)]


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
    _check_shape(shape)
    n = len(r)
    if n == 0:
        return sparse.csr_array((0, 0), dtype=np.float64)
    if np.unique(np.column_stack([r, c]), axis=0).shape[0] < n:
        msg = "row/col repeat a cell"
        raise HotspotError(msg)
    # Pad the lookup by two rows and one column so every neighbour index stays in range.
    r0, c0 = int(r.min()) - 2, int(c.min()) - 1
    rr, cc = r - r0, c - c0
    lookup = np.full((int(rr.max()) + 3, int(cc.max()) + 2), -1, dtype=np.int64)
    lookup[rr, cc] = np.arange(n)
    src: list[IntArray] = []
    dst: list[IntArray] = []
    if shape == "square":
        offsets = [(np.full(n, dr), np.full(n, dc)) for dr, dc in _SQUARE_OFFSETS]
    else:
        # Offset -> axial, step, -> offset; keeps parity handling in one formula.
        q = c - (r - (r & 1)) // 2
        offsets = []
        for dq, dr in _HEX_AXIAL:
            nr = r + dr
            nc = (q + dq) + (nr - (nr & 1)) // 2
            offsets.append((nr - r, nc - c))
    for dr_a, dc_a in offsets:
        nb = lookup[rr + dr_a, cc + dc_a]
        ok = nb >= 0
        src.append(np.flatnonzero(ok))
        dst.append(nb[ok])
    i = np.concatenate(src)
    j = np.concatenate(dst)
    return sparse.csr_array((np.ones(len(i)), (i, j)), shape=(n, n))


def grid_counts(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    cell_size: float,
    shape: CellShape = "square",
    bounds: Sequence[float] | None = None,
    area: AreaLike | None = None,
) -> gpd.GeoDataFrame:
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
    geopandas.GeoDataFrame
        One row per cell, empty cells included, in the points' CRS: ``cell`` (0..n-1),
        ``row``, ``col`` (lattice coordinates for :func:`lattice_neighbours`), ``x``,
        ``y`` (centre), ``count`` and the cell polygon. ``attrs`` holds ``shape``,
        ``cell_size``, ``n_points`` and ``n_outside`` (points in no kept cell).

    Raises
    ------
    HotspotError
        If there are no points, the CRS is missing or not metric, ``cell_size`` is not
        positive or exceeds both extents of the region, or the grid would be huge.
    """
    if not isinstance(points, gpd.GeoDataFrame | gpd.GeoSeries):
        msg = f"points must be a GeoDataFrame or GeoSeries, got {type(points).__name__}"
        raise HotspotError(msg)
    if len(points) == 0:
        msg = "no incidents to analyse (the incident set is empty)"
        raise HotspotError(msg)
    crs = _check_metric(points.crs, "incidents")
    cell = _positive("cell_size", cell_size)
    x, y = _point_xy(points, "incidents")
    poly = _area_geometry(area, crs) if area is not None else None
    lat, idx = _lattice_and_index(x, y, cell, shape, bounds, poly)
    counts = np.bincount(idx[idx >= 0], minlength=len(lat.row))
    gdf = _cells_frame(lat, crs)
    gdf["count"] = counts.astype(np.int64)
    gdf.attrs.update(shape=shape, cell_size=cell, n_points=len(x), n_outside=int((idx < 0).sum()))
    return gdf


def _lattice_and_index(
    x: FloatArray,
    y: FloatArray,
    cell: float,
    shape: str,
    bounds: Sequence[float] | None,
    area: shapely.Geometry | None,
) -> tuple[_Lattice, IntArray]:
    box, region = _region(x, y, bounds, area)
    lat = _build_lattice(_check_shape(shape), cell, box, region)
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


def _cells_frame(lat: _Lattice, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    cx, cy = lat.centres()
    return gpd.GeoDataFrame(
        {
            "cell": np.arange(len(lat.row), dtype=np.int64),
            "row": lat.row,
            "col": lat.col,
            "x": cx,
            "y": cy,
        },
        geometry=lat.polygons(),
        crs=crs,
    )


# ----------------------------------------------------------------------------- Gi*, FDR


class GiStar(NamedTuple):
    """Gi* z-scores and their two-sided normal p-values."""

    z: FloatArray
    p: FloatArray


class FDRResult(NamedTuple):
    """Benjamini-Hochberg adjusted p-values and the rejections at the chosen level."""

    p_adj: FloatArray
    reject: BoolArray


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
    w = _binary_with_self(neighbours, n)
    wi = np.asarray(w.sum(axis=1)).ravel()
    if x.ndim == 2:
        wi = wi[:, None]
    mean = x.mean(axis=0)
    std = np.sqrt(np.maximum((x**2).mean(axis=0) - mean**2, 0.0))
    num = w @ x - mean * wi
    den = std * np.sqrt((n * wi - wi**2) / (n - 1))
    ok = den > 1e-12 * np.maximum(np.abs(mean), 1.0) * np.sqrt(np.maximum(wi, 1.0))
    z = np.divide(num, den, out=np.zeros(np.broadcast_shapes(num.shape, den.shape)), where=ok)
    p = special.erfc(np.abs(z) / math.sqrt(2.0))
    return GiStar(z=z, p=p)


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
    a = _check_alpha(alpha)
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
    return FDRResult(p_adj=adj, reject=adj <= a)


# (gi_bin code, largest p_fdr) of each level of CONFIDENCE_LEVELS.
_BIN_LEVELS: Final = ((3, 0.01), (2, 0.05), (1, 0.10))


def _gi_bin(z: FloatArray, p_adj: FloatArray) -> npt.NDArray[np.int8]:
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
    bins = _gi_bin(np.nan_to_num(zz), np.where(np.isnan(pp), 1.0, pp))
    labels = np.array(
        ["cold 99%", "cold 95%", "cold 90%", "not significant", "hot 90%", "hot 95%", "hot 99%"],
        dtype=object,
    )
    return np.asarray(labels[bins.astype(np.int64) + 3], dtype=object)


def _add_gi_columns(frame: gpd.GeoDataFrame, values: FloatArray, w: Any, alpha: float) -> None:
    gi = getis_ord_gi_star(values, w)
    fdr = fdr_bh(gi.p, alpha)
    frame["z"] = gi.z
    frame["p"] = gi.p
    frame["p_fdr"] = fdr.p_adj
    frame["significant"] = fdr.reject
    frame["class"] = pd.array(classify(gi.z, fdr.p_adj), dtype="str")
    frame["gi_bin"] = _gi_bin(gi.z, fdr.p_adj)


def gi_star_hotspots(
    incidents: gpd.GeoDataFrame,
    *,
    cell_size: float = 250.0,
    shape: CellShape = "square",
    alpha: float = 0.05,
    bounds: Sequence[float] | None = None,
    area: AreaLike | None = None,
) -> gpd.GeoDataFrame:
    """Find statistically significant hot and cold cells with Gi* and FDR control.

    Parameters
    ----------
    incidents
        Incident points in a projected metric CRS (filter them first with
        :func:`filter_incidents`).
    cell_size
        Cell size in metres (see :func:`grid_counts`).
    shape
        ``"square"`` (8 queen neighbours) or ``"hex"`` (6 neighbours).
    alpha
        FDR level of the ``significant`` column; the ``class`` column always reports the
        99/95/90 % levels.
    bounds, area
        Study region, as for :func:`grid_counts`. Gi* compares every cell with the mean
        over all cells, so the region decides what "unusually many" means: the default,
        the incidents' bounding box, keeps empty cells inside the data extent and none
        far outside it.

    Returns
    -------
    geopandas.GeoDataFrame
        The :func:`grid_counts` columns plus ``z``, ``p``, ``p_fdr``, ``significant``
        (``p_fdr <= alpha``), ``class`` and ``gi_bin`` (see the module notes).
        ``attrs["n_outside"]`` counts incidents in no cell (outside ``bounds``/``area``).

    Raises
    ------
    HotspotError
        As :func:`grid_counts`, or for an ``alpha`` outside (0, 1) or fewer than 3 cells.
    """
    a = _check_alpha(alpha)
    cells = grid_counts(
        _check_incidents(incidents), cell_size=cell_size, shape=shape, bounds=bounds, area=area
    )
    w = lattice_neighbours(cells["row"].to_numpy(), cells["col"].to_numpy(), shape)
    _add_gi_columns(cells, cells["count"].to_numpy(dtype=np.float64), w, a)
    return cells


# ----------------------------------------------------------------------------- network


def _road_index(net: RoadNetwork) -> tuple[IntArray, IntArray, BoolArray]:
    """Return the edge rows that are roads, each edge's road position, and twin flags.

    A two-way road is two directed edges, twins (:func:`geo.network.edge_twins`). The
    pair is one road, represented by its edge with ``reversed`` False. The returned flag
    marks edges running against their road's representative.
    """
    e = net.edges
    twin = edge_twins(net).astype(np.int64)
    i = np.flatnonzero(twin >= 0)
    j = twin[i]
    # Prefer the forward edge, then the lower row, so both twins elect the same one.
    score = e["reversed"].to_numpy(dtype=np.int64) * (len(e) + 1) + np.arange(len(e))
    owner = np.arange(len(e), dtype=np.int64)
    owner[i] = np.where(score[i] <= score[j], i, j)
    roads = np.unique(owner)
    return roads, np.searchsorted(roads, owner), owner != np.arange(len(e))


def _piece_geometry(
    geoms: npt.NDArray[np.object_], n_pieces: IntArray, from_m: FloatArray, to_m: FloatArray
) -> npt.NDArray[np.object_]:
    """Cut each road into its pieces: LineStrings from ``from_m`` to ``to_m`` along it."""
    n_roads = len(geoms)
    piece_road = np.repeat(np.arange(n_roads), n_pieces)
    first = np.concatenate([[0], np.cumsum(n_pieces)[:-1]])
    coords = shapely.get_coordinates(geoms)
    counts = shapely.get_num_coordinates(geoms)
    v_road = np.repeat(np.arange(n_roads), counts)
    step = np.zeros(len(coords))
    step[1:] = np.hypot(*np.diff(coords, axis=0).T)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    step[starts] = 0.0  # distance restarts on every road
    cum = np.cumsum(step)
    along = cum - cum[starts][v_road]
    length = shapely.length(geoms)
    piece_len = np.where(n_pieces > 0, length / n_pieces, 0.0)
    k = np.minimum(
        np.floor(along / np.maximum(piece_len[v_road], 1e-12)), n_pieces[v_road] - 1
    ).astype(np.int64)
    # Vertices on a cut or at a road end are replaced by the interpolated cut points.
    inner = (along - k * piece_len[v_road] > 1e-9) & (along < length[v_road] - 1e-9)
    start_pt = shapely.get_coordinates(shapely.line_interpolate_point(geoms[piece_road], from_m))
    end_pt = shapely.get_coordinates(shapely.line_interpolate_point(geoms[piece_road], to_m))
    n_total = len(piece_road)
    pid = np.concatenate([np.arange(n_total), first[v_road[inner]] + k[inner], np.arange(n_total)])
    order_key = np.concatenate([np.full(n_total, -1.0), along[inner], np.full(n_total, np.inf)])
    xy = np.concatenate([start_pt, coords[inner], end_pt])
    order = np.lexsort((order_key, pid))
    return np.asarray(shapely.linestrings(xy[order], indices=pid[order]))


def _piece_adjacency(
    u: IntArray, v: IntArray, n_pieces: IntArray, n_nodes: int
) -> sparse.csr_array:
    """Return the contiguity of road pieces: those sharing an end point are neighbours.

    That is consecutive pieces of one road, and the end pieces of roads meeting at a
    node (through a piece x node incidence matrix).
    """
    n_total = int(n_pieces.sum())
    first = np.concatenate([[0], np.cumsum(n_pieces)[:-1]])
    last = first + n_pieces - 1
    n_roads = len(u)
    inc = sparse.csr_array(
        (
            np.ones(2 * n_roads),
            (np.concatenate([first, last]), np.concatenate([u, v])),
        ),
        shape=(n_total, n_nodes),
    )
    at_node = sparse.csr_array(inc @ inc.T)
    piece = np.arange(n_total)
    chained = np.flatnonzero(~np.isin(piece, last))  # every piece but a road's last
    chain = sparse.csr_array(
        (np.ones(len(chained)), (chained, chained + 1)), shape=(n_total, n_total)
    )
    adj = sparse.csr_array(at_node + chain + chain.T)
    adj.data[:] = 1.0
    return adj


def network_hotspots(
    net: RoadNetwork,
    incidents: gpd.GeoDataFrame,
    *,
    max_snap_m: float = 100.0,
    alpha: float = 0.05,
    segment_m: float | None = 200.0,
    value: Literal["per_km", "count"] = "per_km",
) -> gpd.GeoDataFrame:
    """Find hot and cold stretches of road with Gi* over the road network.

    Parameters
    ----------
    net
        Road network. A road is a forward edge and its backward twin, counted once.
    incidents
        Incident points; reprojected to the network's CRS when it differs.
    max_snap_m
        Incidents farther than this from every road are not counted.
    alpha
        FDR level of the ``significant`` column.
    segment_m
        Cut every road into equal pieces of at most this length (metres) and analyse
        the pieces; None analyses whole roads, one row per road. See Notes.
    value
        What Gi* compares: ``"per_km"`` (the default), incidents per km of road, so a
        long piece does not look hot merely for being long; or ``"count"``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per piece (per road when ``segment_m`` is None), in road order, in the
        network's CRS: ``edge`` (row of the road's forward edge in ``net.edges``),
        ``piece`` (0-based along the edge from ``u``), ``n_pieces``, ``u``, ``v``,
        ``osmid``, ``name``, ``highway``, ``lit``, ``from_m``, ``to_m`` (along the
        edge), ``length_m``, ``count``, ``per_km``, then ``z``, ``p``, ``p_fdr``,
        ``significant``, ``class``, ``gi_bin`` and the piece geometry. ``attrs`` holds
        ``n_incidents``, ``n_snapped``, ``n_unsnapped`` (farther than ``max_snap_m``
        from a road: not counted), ``max_snap_m``, ``segment_m`` and ``value``.

    Raises
    ------
    HotspotError
        If there are no incidents, a CRS is missing or not metric, ``max_snap_m``,
        ``segment_m`` or ``alpha`` is out of range, or there are fewer than 3 pieces.

    Notes
    -----
    Neighbours are pieces sharing an end point (a node, or a cut between two pieces of
    one road), plus the piece itself: with ``segment_m=None``, roads sharing a node.
    Whole roads of a simplified network run from a hundred metres to several kilometres,
    so a cluster a few hundred metres long is diluted into a long road, and its Gi*
    neighbourhood (every road at either end) mixes in kilometres of quiet road; equal
    short pieces (the "lixels" of network density analysis, Okabe & Sugihara 2012,
    *Spatial Analysis Along Networks*) keep neighbourhoods comparable and locate the
    hot stretch itself.
    """
    inc = _check_incidents(incidents)
    snap_limit = _positive("max_snap_m", max_snap_m)
    piece_max = None if segment_m is None else _positive("segment_m", segment_m)
    a = _check_alpha(alpha)
    if value not in ("per_km", "count"):
        msg = f"value must be 'per_km' or 'count', got {value!r}"
        raise HotspotError(msg)
    crs = _check_metric(net.crs, "road network")
    if not pyproj.CRS(inc.crs).equals(crs):
        inc = inc.to_crs(crs)
    x, y = _point_xy(inc, "incidents")
    roads, road_of, against = _road_index(net)
    e = net.edges.iloc[roads]
    geoms = net.edge_geometry[roads]
    length = shapely.length(geoms)
    if piece_max is None:
        n_pieces = np.ones(len(roads), dtype=np.int64)
    else:
        n_pieces = np.maximum(1, np.ceil(length / piece_max - 1e-9)).astype(np.int64)
    n_total = int(n_pieces.sum())
    if n_total < 3:
        msg = f"network hot spots need at least 3 road pieces, the network has {n_total}"
        raise HotspotError(msg)
    first = np.concatenate([[0], np.cumsum(n_pieces)[:-1]])
    piece_len = length / n_pieces
    piece_road = np.repeat(np.arange(len(roads)), n_pieces)
    k = np.arange(n_total) - first[piece_road]
    from_m = k * piece_len[piece_road]
    to_m = np.where(
        k == n_pieces[piece_road] - 1, length[piece_road], from_m + piece_len[piece_road]
    )

    snap = snap_points(net, x, y, max_distance_m=snap_limit)
    ok = ~snap.flagged
    road = road_of[snap.edge[ok]]
    along = np.where(against[snap.edge[ok]], length[road] - snap.along_m[ok], snap.along_m[ok])
    k_inc = np.clip(
        np.floor(along / np.maximum(piece_len[road], 1e-12)), 0, n_pieces[road] - 1
    ).astype(np.int64)
    counts = np.bincount(first[road] + k_inc, minlength=n_total).astype(np.int64)
    seg_len = to_m - from_m
    per_km = counts / np.maximum(seg_len, 1.0) * 1000.0  # a 0 m edge must not divide by 0

    geometry = (
        geoms[piece_road] if piece_max is None else _piece_geometry(geoms, n_pieces, from_m, to_m)
    )
    out = gpd.GeoDataFrame(
        {
            "edge": roads[piece_road],
            "piece": k,
            "n_pieces": n_pieces[piece_road],
            "u": e["u"].to_numpy()[piece_road],
            "v": e["v"].to_numpy()[piece_road],
            "osmid": e["osmid"].to_numpy()[piece_road],
            "name": e["name"].to_numpy()[piece_road] if "name" in e.columns else None,
            "highway": e["highway"].to_numpy()[piece_road],
            "lit": e["lit"].to_numpy()[piece_road],
            "from_m": from_m,
            "to_m": to_m,
            "length_m": seg_len,
            "count": counts,
            "per_km": per_km,
        },
        geometry=geometry,
        crs=crs,
    )
    w = _piece_adjacency(
        e["u"].to_numpy(np.int64), e["v"].to_numpy(np.int64), n_pieces, len(net.nodes)
    )
    _add_gi_columns(out, per_km if value == "per_km" else counts.astype(np.float64), w, a)
    out.attrs.update(
        n_incidents=len(x),
        n_snapped=int(ok.sum()),
        n_unsnapped=int((~ok).sum()),
        max_snap_m=snap_limit,
        segment_m=piece_max,
        value=value,
    )
    return out


# ----------------------------------------------------------------------------- trends


@dataclass(frozen=True, eq=False)
class TrendTest:
    """Mann-Kendall trend test of series along their last axis.

    ``s`` is Kendall's S (concordant minus discordant pairs against time), ``tau`` the
    rank correlation with time (tau-b: equal to tau-a without ties and to
    ``scipy.stats.kendalltau(t, x)``'s statistic with them), ``var_s`` the tie-corrected
    variance of S, ``z = (S - sign(S)) / sqrt(var_s)`` (with continuity correction) and
    ``p`` its two-sided normal p-value.
    """

    s: FloatArray
    tau: FloatArray
    var_s: FloatArray
    z: FloatArray
    p: FloatArray

    def __post_init__(self) -> None:
        shapes = {a.shape for a in (self.s, self.tau, self.var_s, self.z, self.p)}
        if len(shapes) != 1:
            msg = f"TrendTest arrays disagree in shape: {sorted(shapes)}"
            raise HotspotError(msg)


def mann_kendall(series: npt.ArrayLike) -> TrendTest:
    """Test series for a monotonic trend over time (Mann 1945; Kendall 1975).

    Parameters
    ----------
    series
        Values in time order along the last axis: ``(T,)`` or ``(n, T)`` for ``n``
        series at once.

    Returns
    -------
    TrendTest
        Arrays of shape ``series.shape[:-1]``.

    Raises
    ------
    HotspotError
        If there are fewer than 3 time steps or values are not finite.

    Notes
    -----
    ``var_s = (T(T-1)(2T+5) - sum_g t_g(t_g-1)(2t_g+5)) / 18`` where ``t_g`` are the sizes
    of groups of tied values. A series that is constant has ``var_s = 0``, z 0 and p 1.
    Computed for all series at once with one pass per time lag, so ``T`` (periods), not
    the number of series, sets the loop length.
    """
    x = np.asarray(series, dtype=np.float64)
    if x.ndim == 0 or x.shape[-1] < _MIN_PERIODS:
        msg = f"the Mann-Kendall test needs at least {_MIN_PERIODS} time steps, got shape {x.shape}"
        raise HotspotError(msg)
    if not np.isfinite(x).all():
        msg = "Mann-Kendall series must be finite"
        raise HotspotError(msg)
    t = x.shape[-1]
    flat = x.reshape(-1, t)
    s = np.zeros(len(flat))
    for lag in range(1, t):
        s += np.sign(flat[:, lag:] - flat[:, :-lag]).sum(axis=1)
    # Tie groups per series: runs of equal values in each sorted row.
    srt = np.sort(flat, axis=1)
    new_run = np.ones_like(srt, dtype=bool)
    new_run[:, 1:] = srt[:, 1:] != srt[:, :-1]
    run_id = np.cumsum(new_run.ravel()) - 1
    run_len = np.bincount(run_id).astype(np.float64)
    run_row = np.repeat(np.arange(len(flat)), new_run.sum(axis=1))
    ties = np.bincount(
        run_row, weights=run_len * (run_len - 1) * (2 * run_len + 5), minlength=len(flat)
    )
    ties_pairs = np.bincount(run_row, weights=run_len * (run_len - 1) / 2, minlength=len(flat))
    var_s = (t * (t - 1) * (2 * t + 5) - ties) / 18.0
    pairs = t * (t - 1) / 2.0
    denom = np.sqrt((pairs - ties_pairs) * pairs)
    tau = np.divide(s, denom, out=np.zeros_like(s), where=denom > 0)
    z = np.divide(s - np.sign(s), np.sqrt(var_s), out=np.zeros_like(s), where=var_s > 0)
    p = special.erfc(np.abs(z) / math.sqrt(2.0))
    shape = x.shape[:-1]
    return TrendTest(
        s=s.reshape(shape),
        tau=tau.reshape(shape),
        var_s=var_s.reshape(shape),
        z=z.reshape(shape),
        p=p.reshape(shape),
    )


def _period_ordinals(times: pd.Series[Any], period: str) -> tuple[IntArray, pd.PeriodIndex]:
    if not pd.api.types.is_datetime64_any_dtype(times.dtype):
        msg = f"incident 'time' column must hold datetimes, not {times.dtype}"
        raise HotspotError(msg)
    if times.isna().any():
        msg = "incident times include missing values"
        raise HotspotError(msg)
    # Periods follow local calendar time; dropping the zone first avoids pandas' warning
    # and keeps a month boundary at local midnight.
    local = times.dt.tz_localize(None) if getattr(times.dtype, "tz", None) is not None else times
    try:
        per = pd.PeriodIndex(local, freq=period)
    except (ValueError, TypeError) as exc:
        msg = (
            f"unknown period {period!r} (use a pandas period alias: 'D', 'W', 'M', 'Q', 'Y'): {exc}"
        )
        raise HotspotError(msg) from None
    ords = per.asi8
    first = int(ords.min())
    index = pd.period_range(start=per.min(), end=per.max(), freq=per.freq)
    return (ords - first).astype(np.int64), index


def emerging_hotspots(
    incidents: gpd.GeoDataFrame,
    *,
    cell_size: float,
    period: str = "M",
    alpha: float = 0.05,
    shape: CellShape = "square",
    bounds: Sequence[float] | None = None,
    area: AreaLike | None = None,
) -> gpd.GeoDataFrame:
    """Classify cells by how their hot-spot status evolved, after ESRI's Emerging Hot Spots.

    Incidents are counted per cell and per calendar period (a space-time cube; the cells
    are fixed over the whole span, every period from the first incident's to the last's
    is kept, empty ones too). Gi* runs on each period's counts with the cell's queen
    neighbours, and its p-values are FDR-adjusted within the period. A Mann-Kendall
    test on each cell's Gi* z-series, as ESRI does, measures whether clustering is
    intensifying or fading.

    Parameters
    ----------
    incidents
        Incidents with a ``time`` column, in a projected metric CRS.
    cell_size, shape, bounds, area
        As for :func:`grid_counts`.
    period
        pandas period alias of a time step: ``"W"``, ``"M"``, ``"Q"``, ``"Y"``...; at
        least 3 periods are needed, and ESRI recommends 10 or more.
    alpha
        Significance level of the per-period hot/cold test (after FDR) and of the trend.

    Returns
    -------
    geopandas.GeoDataFrame
        The :func:`grid_counts` columns (``count`` over all periods), then ``z``, ``p``,
        ``p_fdr``, ``class``, ``gi_bin`` of the **final** period; ``n_periods``,
        ``n_hot``/``n_cold`` (periods significantly hot/cold), ``hot_final``,
        ``trend_tau``, ``trend_z``, ``trend_p``, ``trend`` (``"up"``, ``"down"`` or
        ``"none"`` at ``alpha``) and ``pattern``, one of :data:`PATTERNS`.
        ``attrs["periods"]`` lists the periods as strings.

    Raises
    ------
    HotspotError
        As :func:`grid_counts`, or for an unknown period alias, fewer than 3 periods or a
        missing ``time`` column.

    Notes
    -----
    ``pattern`` follows the definitions of ESRI's "How Emerging Hot Spot Analysis
    works" (ArcGIS Pro documentation), evaluated in this order, with "hot" meaning
    ``z > 0`` and ``p_fdr <= alpha`` in a period and ``T`` the number of periods:

    1. ``"new"``: hot in the final period and in no earlier one.
    2. ``"intensifying"``: hot in at least 90 % of periods, including the final one,
       with a significant upward trend (Mann-Kendall ``p <= alpha``, ``z > 0``).
    3. ``"diminishing"``: the same with a significant downward trend.
    4. ``"persistent"``: hot in at least 90 % of periods with no significant trend.
    5. ``"sporadic"``: hot in some periods but fewer than 90 %, and never cold.
    6. ``"no pattern"``: everything else.

    Unlike ESRI, the Gi* neighbourhood is spatial only (ESRI's default also adds the
    previous time step), and ESRI's consecutive, oscillating and historical hot spots
    and the cold-spot patterns are not separated out: a consecutive run at the end is
    "sporadic", oscillating cells (ever cold) and a >= 90 % hot cell that is not hot in
    the final period but has a significant trend are "no pattern".
    """
    inc = _check_incidents(incidents)
    a = _check_alpha(alpha)
    if "time" not in inc.columns:
        msg = "incidents lack a 'time' column, needed for emerging hot spots"
        raise HotspotError(msg)
    cell = _positive("cell_size", cell_size)
    crs = _check_metric(inc.crs, "incidents")
    x, y = _point_xy(inc, "incidents")
    t_idx, periods = _period_ordinals(inc["time"], period)
    n_t = len(periods)
    if n_t < _MIN_PERIODS:
        msg = (
            f"emerging hot spots need at least {_MIN_PERIODS} periods of {period!r}, "
            f"the incidents span {n_t}"
        )
        raise HotspotError(msg)
    poly = _area_geometry(area, crs) if area is not None else None
    lat, idx = _lattice_and_index(x, y, cell, shape, bounds, poly)
    n_cells = len(lat.row)
    _grid_size_guard(float(n_cells) * n_t, f"a space-time cube of {n_t} periods of {period!r}")
    if n_cells * n_t * (n_t - 1) / 2 > _MAX_MK_PAIRS:
        msg = (
            f"{n_t} periods of {period!r} over {n_cells:,} cells is too many for the trend "
            "test; use a longer period or larger cells"
        )
        raise HotspotError(msg)
    inside = idx >= 0
    cube = np.bincount(idx[inside] * n_t + t_idx[inside], minlength=n_cells * n_t)
    cube = cube.reshape(n_cells, n_t).astype(np.float64)

    w = lattice_neighbours(lat.row, lat.col, lat.shape)
    gi = getis_ord_gi_star(cube, w)
    p_fdr = fdr_bh(gi.p, a).p_adj
    hot = (gi.z > 0) & (p_fdr <= a)
    cold = (gi.z < 0) & (p_fdr <= a)
    n_hot = hot.sum(axis=1)
    n_cold = cold.sum(axis=1)
    hot_final = hot[:, -1]
    trend = mann_kendall(np.round(gi.z, _MK_DECIMALS))
    up = (trend.p <= a) & (trend.z > 0)
    down = (trend.p <= a) & (trend.z < 0)
    mostly_hot = n_hot >= PERSISTENT_SHARE * n_t - 1e-9

    pattern = np.select(
        [
            hot_final & (n_hot == 1),
            mostly_hot & hot_final & up,
            mostly_hot & hot_final & down,
            mostly_hot & ~up & ~down,
            (n_hot > 0) & ~mostly_hot & (n_cold == 0),
        ],
        ["new", "intensifying", "diminishing", "persistent", "sporadic"],
        default="no pattern",
    )
    out = _cells_frame(lat, crs)
    out["count"] = cube.sum(axis=1).astype(np.int64)
    out["z"] = gi.z[:, -1]
    out["p"] = gi.p[:, -1]
    out["p_fdr"] = p_fdr[:, -1]
    out["class"] = pd.array(classify(gi.z[:, -1], p_fdr[:, -1]), dtype="str")
    out["gi_bin"] = _gi_bin(gi.z[:, -1], p_fdr[:, -1])
    out["n_periods"] = n_t
    out["n_hot"] = n_hot.astype(np.int64)
    out["n_cold"] = n_cold.astype(np.int64)
    out["hot_final"] = hot_final
    out["trend_tau"] = trend.tau
    out["trend_z"] = trend.z
    out["trend_p"] = trend.p
    out["trend"] = pd.array(np.select([up, down], ["up", "down"], default="none"), dtype="str")
    out["pattern"] = pd.array(pattern, dtype="str")
    out.attrs.update(
        periods=[str(p) for p in periods],
        period=period,
        n_outside=int((~inside).sum()),
        shape=shape,
        cell_size=cell,
    )
    return out


# ----------------------------------------------------------------------------- pipeline


@dataclass(frozen=True)
class HotspotParams:
    """Tunables of :func:`analyse_hotspots`.

    ``cell_size``/``shape``: Gi* cells; ``alpha``: FDR level of ``significant``;
    ``kde_cell_size``/``bandwidth``: the density grid (``bandwidth`` in metres, or
    ``"scott"``/``"silverman"``); ``max_snap_m``, ``segment_m``, ``network_value``: road
    hot spots (see :func:`network_hotspots`).
    """

    cell_size: float = 250.0
    shape: CellShape = "square"
    alpha: float = 0.05
    kde_cell_size: float = 100.0
    bandwidth: float | BandwidthRule = "scott"
    max_snap_m: float = 100.0
    segment_m: float | None = 200.0
    network_value: Literal["per_km", "count"] = "per_km"

    def __post_init__(self) -> None:
        if self.segment_m is not None:
            _positive("segment_m", self.segment_m)
        _positive("cell_size", self.cell_size)
        _positive("kde_cell_size", self.kde_cell_size)
        _check_alpha(self.alpha)
        _positive("max_snap_m", self.max_snap_m)
        _check_shape(self.shape)
        if isinstance(self.bandwidth, str):
            if self.bandwidth not in get_args(BandwidthRule):
                msg = f"unknown bandwidth rule {self.bandwidth!r}; expected 'scott' or 'silverman'"
                raise HotspotError(msg)
        else:
            _positive("bandwidth", self.bandwidth)
        if self.network_value not in ("per_km", "count"):
            msg = f"network_value must be 'per_km' or 'count', got {self.network_value!r}"
            raise HotspotError(msg)


@dataclass(frozen=True, eq=False)
class HotspotResult:
    """Density, hot cells and (optionally) hot roads of one incident selection.

    ``n_incidents`` were analysed; ``n_in_cells`` fell in a Gi* cell (the rest lay
    outside the given bounds/area); ``n_snapped``/``n_unsnapped`` count incidents within
    / beyond ``params.max_snap_m`` of a road (None without a network).
    """

    params: HotspotParams
    density: DensityGrid
    cells: gpd.GeoDataFrame
    n_incidents: int
    n_in_cells: int
    edges: gpd.GeoDataFrame | None = None
    n_snapped: int | None = None
    n_unsnapped: int | None = None
    crs: pyproj.CRS | None = field(default=None)

    def __post_init__(self) -> None:
        need = {"count", "z", "p", "p_fdr", "class", "geometry"}
        for name, frame in (("cells", self.cells), ("edges", self.edges)):
            if frame is not None and not need <= set(frame.columns):
                msg = f"HotspotResult.{name} lacks columns {sorted(need - set(frame.columns))}"
                raise HotspotError(msg)
        if int(self.cells["count"].sum()) != self.n_in_cells or self.n_in_cells > self.n_incidents:
            msg = (
                f"HotspotResult counts disagree: {self.n_in_cells} in cells, "
                f"{int(self.cells['count'].sum())} counted, {self.n_incidents} incidents"
            )
            raise HotspotError(msg)
        if (self.edges is None) != (self.n_snapped is None) or (
            self.n_snapped is not None
            and self.n_snapped + (self.n_unsnapped or 0) != self.n_incidents
        ):
            msg = "HotspotResult snapped/unsnapped counts do not add up to n_incidents"
            raise HotspotError(msg)

    @property
    def hot_cells(self) -> gpd.GeoDataFrame:
        """Cells classed hot at any confidence level, hottest first."""
        c = self.cells
        return c[c["gi_bin"] > 0].sort_values("z", ascending=False)


def analyse_hotspots(
    incidents: gpd.GeoDataFrame,
    *,
    params: HotspotParams | None = None,
    net: RoadNetwork | None = None,
    bounds: Sequence[float] | None = None,
    area: AreaLike | None = None,
) -> HotspotResult:
    """Run density, Gi* cell hot spots and (with a network) road hot spots together.

    Parameters
    ----------
    incidents
        Incidents in a projected metric CRS, already filtered.
    params
        Tunables; default :class:`HotspotParams()`.
    net
        Road network for road hot spots; None skips them.
    bounds, area
        Study region of the Gi* cells (see :func:`grid_counts`); the density grid covers
        the same bounds when given.

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
    inc = _check_incidents(incidents)
    cells = gi_star_hotspots(
        inc, cell_size=p.cell_size, shape=p.shape, alpha=p.alpha, bounds=bounds, area=area
    )
    kde_bounds = bounds
    if kde_bounds is None and area is not None:
        kde_bounds = tuple(shapely.bounds(_area_geometry(area, pyproj.CRS(inc.crs))).tolist())
    density = kde_grid(inc, cell_size=p.kde_cell_size, bandwidth=p.bandwidth, bounds=kde_bounds)
    edges = None
    snapped = unsnapped = None
    if net is not None:
        edges = network_hotspots(
            net,
            inc,
            max_snap_m=p.max_snap_m,
            alpha=p.alpha,
            segment_m=p.segment_m,
            value=p.network_value,
        )
        snapped, unsnapped = int(edges.attrs["n_snapped"]), int(edges.attrs["n_unsnapped"])
    return HotspotResult(
        params=p,
        density=density,
        cells=cells,
        n_incidents=len(inc),
        n_in_cells=int(cells["count"].sum()),
        edges=edges,
        n_snapped=snapped,
        n_unsnapped=unsnapped,
        crs=pyproj.CRS(inc.crs),
    )
