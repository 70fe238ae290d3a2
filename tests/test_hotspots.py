"""Tests of geo.hotspots: filters, KDE, Gi*, FDR, network and emerging hot spots."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from scipy import sparse, stats
from scipy.spatial import cKDTree

from geo import layers
from geo.errors import PinganError
from geo.hotspots import (
    CLASSES,
    PATTERNS,
    ROLES,
    DensityGrid,
    EmergingHotspots,
    GiStar,
    HotspotError,
    HotspotParams,
    HotspotResult,
    TrendsSkipped,
    analyse_hotspots,
    choose_trend_period,
    classify,
    emerging_hotspots,
    emerging_hotspots_auto,
    fdr_bh,
    filter_incidents,
    getis_ord_gi_star,
    gi_star_hotspots,
    grid_counts,
    kde_grid,
    lattice_neighbours,
    mann_kendall,
    network_hotspots,
    own_count_test,
)
from geo.hotspots.evidence import evidence_order
from geo.results import Result

UTM50 = "EPSG:32650"
TZ = "Asia/Shanghai"


# ----------------------------------------------------------------------------- helpers


def _incidents(
    xy: np.ndarray,
    times: list[str] | pd.Series | None = None,
    categories: list[str] | None = None,
    crs: str | None = UTM50,
) -> gpd.GeoDataFrame:
    n = len(xy)
    if times is None:
        t = pd.Series(pd.date_range("2025-01-01", periods=n, freq="h", tz=TZ))
    else:
        t = pd.Series(pd.to_datetime(pd.Series(times), format="ISO8601")).dt.tz_localize(TZ)
    return gpd.GeoDataFrame(
        {
            "id": [f"I{i}" for i in range(n)],
            "time": t.to_numpy(),
            "category": categories or ["theft"] * n,
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=crs,
    )


def _isotropic_kde(xy: np.ndarray, h: float, weights: np.ndarray | None = None):
    """gaussian_kde with its kernel covariance replaced by h² I (an isotropic kernel)."""
    kde = stats.gaussian_kde(xy.T, weights=weights)
    kde.covariance = np.eye(2) * h * h
    kde.cho_cov = np.eye(2) * h
    kde.log_det = 2 * np.log(h * np.sqrt(2 * np.pi)) * 2
    return kde


def _esda_zs(values: np.ndarray, neighbours) -> tuple[np.ndarray, np.ndarray]:
    import esda
    from libpysal.weights import WSP

    w = WSP(sparse.csr_matrix(neighbours)).to_W(silence_warnings=True)
    g = esda.G_Local(values.astype(float), w, star=True, transform="B", permutations=0)
    return np.asarray(g.Zs), np.asarray(g.p_norm)


@pytest.fixture(scope="module")
def sample_incidents(sample_files, sample_net) -> gpd.GeoDataFrame:
    return layers.read_incidents(sample_files.incidents, to_crs=sample_net.crs)


@pytest.fixture(scope="module")
def truth(sample_files, sample_net) -> gpd.GeoDataFrame:
    return gpd.read_file(sample_files.hotspots_truth).to_crs(sample_net.crs)


# ----------------------------------------------------------------------------- filters


def test_hour_window_crossing_midnight_keeps_night_and_drops_day() -> None:
    """(19, 6) keeps 19:00:00 to 05:59:59 local time: 23:30 and 02:00, not 12:00."""
    times = [
        "2025-03-01 23:30",
        "2025-03-02 02:00",
        "2025-03-02 12:00",
        "2025-03-02 19:00:00",
        "2025-03-02 18:59:59",
        "2025-03-03 05:59:59",
        "2025-03-03 06:00:00",
        "2025-03-03 00:00:00",
    ]
    inc = _incidents(np.zeros((len(times), 2)) + [500_000, 3_400_000], times)
    kept = filter_incidents(inc, hours=(19, 6))
    assert kept["id"].tolist() == ["I0", "I1", "I3", "I5", "I7"]
    assert filter_incidents(inc, hours=("19:00", "06:00"))["id"].tolist() == kept["id"].tolist()


def test_hour_window_minutes_and_day_windows() -> None:
    """Minutes count ('19:30' excludes 19:29), a daytime window does not wrap, 24 ends a day."""
    times = ["2025-03-01 19:29", "2025-03-01 19:30", "2025-03-01 23:59", "2025-03-01 08:00"]
    inc = _incidents(np.zeros((4, 2)) + [500_000, 3_400_000], times)
    assert filter_incidents(inc, hours=("19:30", "6"))["id"].tolist() == ["I1", "I2"]
    assert filter_incidents(inc, hours=(8, 20))["id"].tolist() == ["I0", "I1", "I3"]
    assert filter_incidents(inc, hours=(19.5, 24))["id"].tolist() == ["I1", "I2"]


def test_date_range_is_start_inclusive_end_exclusive_in_local_time() -> None:
    """Dates mean local midnight; an aware bound is converted to the incidents' zone."""
    times = ["2025-03-01 00:00", "2025-03-01 07:59", "2025-03-01 08:00", "2025-03-02 00:00"]
    inc = _incidents(np.zeros((4, 2)) + [500_000, 3_400_000], times)
    ids = filter_incidents(inc, start=dt.date(2025, 3, 1), end="2025-03-02")["id"].tolist()
    assert ids == ["I0", "I1", "I2"]
    # 00:00 UTC is 08:00 in Shanghai.
    aware = filter_incidents(inc, start=pd.Timestamp("2025-03-01T00:00:00Z"))
    assert aware["id"].tolist() == ["I2", "I3"]
    assert filter_incidents(inc, end=dt.datetime(2025, 3, 1, 8))["id"].tolist() == ["I0", "I1"]


def test_category_filter_is_case_insensitive_and_area_keeps_boundary() -> None:
    """Categories match in any case; points inside or on the area polygon are kept."""
    xy = np.array([[0.0, 0.0], [50.0, 50.0], [100.0, 50.0], [300.0, 300.0]]) + [5e5, 3.4e6]
    inc = _incidents(xy, categories=["theft", "Fraud".lower(), "dispute", "theft"])
    assert filter_incidents(inc, categories=["THEFT", " Dispute"])["id"].tolist() == [
        "I0",
        "I2",
        "I3",
    ]
    assert filter_incidents(inc, categories="fraud")["id"].tolist() == ["I1"]
    square = shapely.box(5e5, 3.4e6, 5e5 + 100, 3.4e6 + 100)
    assert filter_incidents(inc, area=square)["id"].tolist() == ["I0", "I1", "I2"]
    series = gpd.GeoSeries([square], crs=UTM50)
    assert len(filter_incidents(inc, area=series, categories=["theft"])) == 1


def test_filter_errors() -> None:
    """Every bad filter argument raises HotspotError naming the problem."""
    inc = _incidents(np.zeros((3, 2)) + [500_000, 3_400_000])
    with pytest.raises(HotspotError, match="empty"):
        filter_incidents(inc.iloc[:0])
    with pytest.raises(HotspotError, match="must be after start"):
        filter_incidents(inc, start="2025-02-01", end="2025-01-01")
    with pytest.raises(HotspotError, match="must be after start"):
        filter_incidents(inc, start="2025-02-01", end="2025-02-01")
    with pytest.raises(HotspotError, match="not a date"):
        filter_incidents(inc, start="yesterday-ish")
    with pytest.raises(HotspotError, match=r"hours end 25 is outside 0-24"):
        filter_incidents(inc, hours=(19, 25))
    with pytest.raises(HotspotError, match=r"hours start 24 is outside"):
        filter_incidents(inc, hours=(24, 6))
    with pytest.raises(HotspotError, match="empty or whole-day"):
        filter_incidents(inc, hours=(6, 6))
    with pytest.raises(HotspotError, match="empty or whole-day"):
        filter_incidents(inc, hours=(0, 24))
    with pytest.raises(HotspotError, match="not an hour"):
        filter_incidents(inc, hours=("7pm", "6"))
    with pytest.raises(HotspotError, match="has 75 minutes"):
        filter_incidents(inc, hours=("19:75", "6"))
    with pytest.raises(HotspotError, match=r"\(start, end\) pair"):
        filter_incidents(inc, hours=(19,))  # type: ignore[arg-type]
    with pytest.raises(HotspotError, match=r"unknown category 'arson'; known: theft"):
        filter_incidents(inc, categories=["arson"])
    with pytest.raises(HotspotError, match="non-empty list"):
        filter_incidents(inc, categories=[])
    with pytest.raises(HotspotError, match="polygon"):
        filter_incidents(inc, area=shapely.Point(0, 0))
    with pytest.raises(HotspotError, match="reproject the area"):
        filter_incidents(inc, area=gpd.GeoSeries([shapely.box(0, 0, 1, 1)], crs=4326))
    with pytest.raises(HotspotError, match="lack a 'category' column"):
        filter_incidents(inc.drop(columns="category"), categories=["theft"])
    with pytest.raises(HotspotError, match="has a time zone but the incident times"):
        naive = inc.assign(time=inc["time"].dt.tz_localize(None))
        filter_incidents(naive, start="2025-01-01T00:00+08:00")


def test_hotspot_error_is_a_pingan_value_error() -> None:
    """Callers catching PinganError or ValueError also catch hot spot errors."""
    assert issubclass(HotspotError, PinganError)
    assert issubclass(HotspotError, ValueError)


# ----------------------------------------------------------------------------- KDE


def test_kde_matches_gaussian_kde_within_one_percent_of_peak() -> None:
    """FFT KDE equals scipy's gaussian_kde (same isotropic bandwidth) to < 1 % of the peak."""
    rng = np.random.default_rng(7)
    xy = np.vstack([rng.normal([0, 0], 900, (900, 2)), rng.normal([2500, 800], 150, (300, 2))])
    for cell, h in [(50.0, 300.0), (250.0, 300.0), (40.0, 120.0)]:
        grid = kde_grid(xy, cell_size=cell, bandwidth=h)
        kde = _isotropic_kde(xy, h)
        gx, gy = np.meshgrid(grid.x, grid.y)
        ref = kde(np.vstack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
        assert np.abs(grid.pdf - ref).max() / ref.max() < 0.01, (cell, h)
        assert grid.bandwidth == h and grid.bandwidth_rule == "user"
    # The patched gaussian_kde really is the isotropic kernel: check one value by hand.
    p0 = np.array([100.0, -50.0])
    hand = np.exp(-((xy - p0) ** 2).sum(axis=1) / (2 * 300.0**2)).sum() / (
        2 * np.pi * 300.0**2 * len(xy)
    )
    assert _isotropic_kde(xy, 300.0)(p0[:, None])[0] == pytest.approx(hand, rel=1e-12)


def test_kde_scott_rule_and_units() -> None:
    """Scott's rule: n^(-1/6) * sqrt((s_x² + s_y²) / 2); density integrates to the count."""
    rng = np.random.default_rng(3)
    xy = rng.normal(0, [800, 400], (3000, 2))
    grid = kde_grid(xy, cell_size=40.0)
    cov = np.cov(xy, rowvar=False)
    expected = len(xy) ** (-1 / 6) * math.sqrt((cov[0, 0] + cov[1, 1]) / 2)
    assert grid.bandwidth == pytest.approx(expected, rel=1e-12)
    assert grid.bandwidth_rule == "scott"
    assert kde_grid(xy, cell_size=40.0, bandwidth="silverman").bandwidth == pytest.approx(
        expected, rel=1e-12
    )
    # density is per km²: summed over cells of 0.0016 km² it gives back the 3,000 points.
    assert grid.density.sum() * (40.0 / 1000) ** 2 == pytest.approx(3000, rel=1e-3)
    gx, gy = np.meshgrid(grid.x, grid.y)
    ref = _isotropic_kde(xy, grid.bandwidth)(np.vstack([gx.ravel(), gy.ravel()]))
    assert np.abs(grid.pdf.ravel() - ref).max() / ref.max() < 0.01


def test_kde_weights_match_weighted_gaussian_kde() -> None:
    """Weighted density equals gaussian_kde with the same weights; density sums weights."""
    rng = np.random.default_rng(11)
    xy = rng.normal(0, 500, (800, 2))
    w = rng.integers(1, 4, 800).astype(float)
    grid = kde_grid(xy, cell_size=30.0, bandwidth=200.0, weights=w)
    gx, gy = np.meshgrid(grid.x, grid.y)
    ref = _isotropic_kde(xy, 200.0, weights=w)(np.vstack([gx.ravel(), gy.ravel()]))
    assert np.abs(grid.pdf.ravel() - ref).max() / ref.max() < 0.01
    assert grid.total_weight == w.sum()
    assert grid.density.sum() * 0.03**2 == pytest.approx(w.sum(), rel=1e-3)


def test_kde_bounds_and_peaks() -> None:
    """Given bounds fix the grid; points outside still add their tails; peaks are ordered."""
    xy = np.array([[0.0, 0.0]] * 30 + [[1000.0, 0.0]] * 10)
    grid = kde_grid(xy, cell_size=20.0, bandwidth=100.0, bounds=(-200, -200, 600, 200))
    assert grid.bounds == (-200.0, -200.0, 600.0, 200.0)
    assert grid.density.shape == (20, 40)
    full = kde_grid(xy, cell_size=20.0, bandwidth=100.0)
    peaks = full.peaks(5)
    assert len(peaks) == 2
    # Each cluster sits on a cell corner: its peak is the 2x2 plateau's centre.
    assert peaks["x"].tolist() == pytest.approx([0.0, 1000.0], abs=1e-6)
    assert peaks["y"].tolist() == pytest.approx([0.0, 0.0], abs=1e-6)
    assert peaks["density"].iloc[0] > peaks["density"].iloc[1]


def test_kde_errors() -> None:
    """Bad points, cell sizes, bandwidths, weights and huge grids raise HotspotError."""
    xy = np.array([[0.0, 0.0], [100.0, 50.0], [30.0, 70.0]])
    with pytest.raises(HotspotError, match="no points"):
        kde_grid(np.zeros((0, 2)), cell_size=10)
    with pytest.raises(HotspotError, match=r"\(n, 2\) array"):
        kde_grid(np.zeros(5), cell_size=10)
    with pytest.raises(HotspotError, match="cell_size must be positive"):
        kde_grid(xy, cell_size=0)
    with pytest.raises(HotspotError, match="cell_size must be positive"):
        kde_grid(xy, cell_size=float("nan"))
    with pytest.raises(HotspotError, match="bandwidth must be positive"):
        kde_grid(xy, cell_size=10, bandwidth=-5.0)
    with pytest.raises(HotspotError, match="unknown bandwidth rule 'wide'"):
        kde_grid(xy, cell_size=10, bandwidth="wide")  # type: ignore[arg-type]
    with pytest.raises(HotspotError, match="all points coincide"):
        kde_grid(np.zeros((5, 2)), cell_size=10)
    with pytest.raises(HotspotError, match="at least 2 incidents"):
        kde_grid(np.zeros((1, 2)), cell_size=10)
    with pytest.raises(HotspotError, match="one value per point"):
        kde_grid(xy, cell_size=10, bandwidth=50, weights=[1, 2])
    with pytest.raises(HotspotError, match="non-negative and not all zero"):
        kde_grid(xy, cell_size=10, bandwidth=50, weights=[1, -2, 1])
    # Binning steps follow the bandwidth: no cell size helps, so none is suggested.
    with pytest.raises(HotspotError, match=r"for the density grid; the limit is 8 GB: a smaller"):
        kde_grid(xy, cell_size=0.01, bandwidth=50, bounds=(0, 0, 1e5, 1e5))
    with pytest.raises(HotspotError, match="geographic CRS"):
        kde_grid(gpd.GeoSeries(gpd.points_from_xy([114.3], [30.6]), crs=4326), cell_size=10)


# ----------------------------------------------------------------------------- Gi*, FDR


def test_gi_star_hand_computed_on_3x3_grid() -> None:
    """Gi* on a 3x3 queen grid equals the hand arithmetic of Ord & Getis (1995).

    Values (row 0 at the top)::

        4 1 0
        3 6 0
        2 1 1

    n = 9, sum = 18, mean = 2, sum of squares = 68, so the population variance is
    68/9 - 4 = 32/9 and S = sqrt(32)/3 = 4*sqrt(2)/3.
    z_i = (sum_j w_ij x_j - mean * W_i) / (S * sqrt((n W_i - W_i²) / (n - 1))).
    """
    values = np.array([4, 1, 0, 3, 6, 0, 2, 1, 1], dtype=float)
    row, col = np.divmod(np.arange(9), 3)
    w = lattice_neighbours(row, col, "square")
    gi = getis_ord_gi_star(values, w)
    z, p = gi.z, gi.p
    s = 4 * math.sqrt(2) / 3
    # Corner (0,0) with itself and its 3 neighbours, W = 4: 4 + 1 + 3 + 6 = 14;
    # numerator 14 - 2*4 = 6; denominator S * sqrt((36 - 16) / 8) = (4/3) sqrt(5).
    assert z[0] == pytest.approx(6 / (s * math.sqrt(20 / 8)))
    assert z[0] == pytest.approx(9 / (2 * math.sqrt(5)))
    # Top edge (0,1) with 5 neighbours, W = 6: 4 + 1 + 0 + 3 + 6 + 0 = 14; numerator 2;
    # denominator S * sqrt((54 - 36) / 8) = (4 sqrt(2) / 3) * (3 / 2) = 2 sqrt(2).
    assert z[1] == pytest.approx(1 / math.sqrt(2))
    # Corner (0,2): 1 + 0 + 6 + 0 = 7; numerator -1, same denominator as corner (0,0).
    assert z[2] == pytest.approx(-3 / (4 * math.sqrt(5)))
    # Corner (2,2): 6 + 0 + 1 + 1 = 8 = 2 * 4, exactly the mean: z = 0.
    assert z[8] == pytest.approx(0.0)
    # Centre (1,1): its 8 neighbours and itself are all 9 cells (W = n), so numerator
    # 18 - 2*9 = 0 and the variance n W - W² = 0: undefined, reported as z 0, p 1.
    assert z[4] == 0.0 and p[4] == 1.0
    # p is two-sided: 2 * (1 - Phi(|z|)).
    assert p[0] == pytest.approx(2 * stats.norm.sf(9 / (2 * math.sqrt(5))))
    assert p[2] == pytest.approx(2 * stats.norm.sf(3 / (4 * math.sqrt(5))))


def test_gi_star_matches_esda_on_sample_cells(sample_incidents) -> None:
    """z equals esda.G_Local(star=True, transform='B').Zs to 1e-6; p is 2 * esda p_norm."""
    for shape in ("square", "hex"):
        cells = gi_star_hotspots(sample_incidents, cell_size=250, shape=shape).cells
        w = lattice_neighbours(cells["row"], cells["col"], shape)
        zs, p_norm = _esda_zs(cells["count"].to_numpy(), w)
        assert np.abs(cells["z"].to_numpy() - zs).max() < 1e-6
        assert np.abs(cells["p"].to_numpy() - 2 * p_norm).max() < 1e-12


def test_gi_star_columns_are_independent_analyses() -> None:
    """2-D values run one Gi* per column; diagonal and weights are made binary."""
    rng = np.random.default_rng(5)
    row, col = np.divmod(np.arange(36), 6)
    w = lattice_neighbours(row, col, "hex")
    values = rng.poisson(3, (36, 4)).astype(float)
    both = getis_ord_gi_star(values, w)
    for k in range(4):
        single = getis_ord_gi_star(values[:, k], w * 2.5)  # non-binary weights count 1
        assert np.allclose(both.z[:, k], single.z)
    constant = getis_ord_gi_star(np.ones(36), w)
    assert (constant.z == 0).all() and (constant.p == 1).all()


def test_lattice_neighbours_queen_and_hex() -> None:
    """Interior squares have 8 neighbours, interior hexagons 6; the matrix is symmetric."""
    row, col = np.divmod(np.arange(100), 10)
    for shape, interior in (("square", 8), ("hex", 6)):
        w = lattice_neighbours(row, col, shape)
        assert (w != w.T).nnz == 0 and w.diagonal().sum() == 0
        deg = np.asarray(w.sum(axis=1)).ravel().reshape(10, 10)
        assert (deg[2:-2, 2:-2] == interior).all()
    with pytest.raises(HotspotError, match="repeat a cell"):
        lattice_neighbours([0, 0], [1, 1])
    with pytest.raises(HotspotError, match="unknown cell shape 'tri'"):
        lattice_neighbours([0], [0], "tri")  # type: ignore[arg-type]


def test_hex_neighbours_are_the_touching_hexagons(sample_incidents) -> None:
    """Hex neighbours are exactly the cells whose polygons share an edge."""
    cells = grid_counts(sample_incidents, cell_size=1000, shape="hex").cells
    w = sparse.coo_array(lattice_neighbours(cells["row"], cells["col"], "hex"))
    geoms = cells.geometry.to_numpy()
    d = shapely.distance(geoms[w.row], geoms[w.col])
    assert d.max() < 1e-6
    centre = np.hypot(
        cells["x"].to_numpy()[w.row] - cells["x"].to_numpy()[w.col],
        cells["y"].to_numpy()[w.row] - cells["y"].to_numpy()[w.col],
    )
    assert centre == pytest.approx(np.full(len(centre), 1000.0))
    # Conversely every pair of hexagons 1000 m apart (sharing an edge) is a neighbour pair.
    centres = cells[["x", "y"]].to_numpy()
    pairs = cKDTree(centres).query_pairs(1000 * 1.01, output_type="ndarray")
    assert 2 * len(pairs) == w.nnz


def test_grid_counts_assigns_each_point_to_its_cell(sample_incidents) -> None:
    """Every incident lies in the cell it is counted in, square or hex; counts sum to n."""
    x = sample_incidents.geometry.x.to_numpy()
    y = sample_incidents.geometry.y.to_numpy()
    for shape in ("square", "hex"):
        counts = grid_counts(sample_incidents, cell_size=300, shape=shape)
        cells = counts.cells
        assert cells["count"].sum() == len(sample_incidents)
        assert counts.n_outside == 0
        pts = sample_incidents[["geometry"]]
        inner = gpd.sjoin(pts, cells, predicate="within")
        touching = gpd.sjoin(pts, cells, predicate="intersects")
        # A point on a cell edge is within neither cell but touches both; either may count it.
        assert touching.index.nunique() == len(pts)
        low = np.bincount(inner["cell"], minlength=len(cells))
        high = np.bincount(touching["cell"], minlength=len(cells))
        assert (low <= cells["count"].to_numpy()).all()
        assert (cells["count"].to_numpy() <= high).all()
    cells = grid_counts(sample_incidents, cell_size=300).cells
    assert cells.total_bounds[0] == pytest.approx(x.min())
    assert cells.total_bounds[1] == pytest.approx(y.min())
    assert cells.total_bounds[2] >= x.max() and cells.total_bounds[2] - x.max() < 300


def test_grid_counts_area_and_bounds(sample_incidents) -> None:
    """Cells are kept only where they overlap the area; points outside are reported."""
    x0, y0, x1, y1 = sample_incidents.total_bounds
    disc = shapely.Point((x0 + x1) / 2, (y0 + y1) / 2).buffer(4000)
    counts = grid_counts(sample_incidents, cell_size=500, area=disc)
    cells = counts.cells
    assert shapely.intersects(disc, cells.geometry.to_numpy()).all()
    assert len(cells) < 0.5 * math.ceil((x1 - x0) / 500) * math.ceil((y1 - y0) / 500)
    inside = shapely.intersects_xy(
        shapely.union_all(cells.geometry.to_numpy()),
        sample_incidents.geometry.x.to_numpy(),
        sample_incidents.geometry.y.to_numpy(),
    )
    assert cells["count"].sum() + counts.n_outside == len(sample_incidents)
    assert abs(cells["count"].sum() - inside.sum()) <= 2  # only edge ties may differ
    boxed = grid_counts(
        sample_incidents, cell_size=500, bounds=(x0, y0, x0 + 5000, y0 + 4000)
    ).cells
    assert len(boxed) == 10 * 8


def test_fdr_bh_matches_benjamini_hochberg_example() -> None:
    """Benjamini & Hochberg (1995, section 4): of 15 p-values, BH at q=0.05 rejects 4.

    Adjusted p-values equal scipy.stats.false_discovery_control (R's p.adjust "BH").
    """
    p = np.array(
        [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459,
         0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000]
    )  # fmt: skip
    res = fdr_bh(p[::-1], alpha=0.05)  # order must not matter
    assert res.reject[::-1].tolist() == [True] * 4 + [False] * 11
    assert np.allclose(res.p_adj[::-1], stats.false_discovery_control(p, method="bh"))
    # Hand computation: rank 4 -> 0.0095 * 15 / 4; rank 5 -> min over ranks >= 5 of
    # p * 15 / rank = 0.0201 * 3 = 0.0603 (ranks 6..9 give 0.0695, 0.0639, 0.0645, 0.0765).
    assert res.p_adj[::-1][3] == pytest.approx(0.0095 * 15 / 4)
    assert res.p_adj[::-1][4] == pytest.approx(0.0603)
    # A second hand example: sorted 0.005, 0.01, 0.03, 0.04 scale by 4/rank to
    # 0.02, 0.02, 0.04, 0.04 (already monotone).
    assert fdr_bh([0.01, 0.04, 0.03, 0.005]).p_adj == pytest.approx([0.02, 0.04, 0.04, 0.02])
    two = fdr_bh(np.column_stack([p, p[::-1]]))
    assert np.allclose(two.p_adj[:, 1], res.p_adj)


def test_fdr_and_classify_errors_and_labels() -> None:
    """classify maps z and adjusted p to the documented labels; bad input raises."""
    z = np.array([3.0, 2.0, 1.7, 1.0, -1.7, -2.0, -3.0, 0.0, 5.0])
    p = np.array([0.001, 0.03, 0.08, 0.5, 0.10, 0.05, 0.01, 0.0, float("nan")])
    assert classify(z, p).tolist() == [
        "hot 99%",
        "hot 95%",
        "hot 90%",
        "not significant",
        "cold 90%",
        "cold 95%",
        "cold 99%",
        "not significant",
        "not significant",
    ]
    assert set(classify(z, p)) <= set(CLASSES)
    with pytest.raises(HotspotError, match="same shape"):
        classify([1.0, 2.0], [0.1])
    with pytest.raises(HotspotError, match=r"lie in \[0, 1\]"):
        fdr_bh([0.1, 1.2])
    with pytest.raises(HotspotError, match=r"lie in \[0, 1\]"):
        fdr_bh([0.1, float("nan")])
    with pytest.raises(HotspotError, match="non-empty"):
        fdr_bh([])
    with pytest.raises(HotspotError, match=r"alpha must lie in \(0, 1\), got 1.5"):
        fdr_bh([0.1], alpha=1.5)
    with pytest.raises(HotspotError, match="at least 3 cells"):
        getis_ord_gi_star([1.0, 2.0], np.eye(2))
    with pytest.raises(HotspotError, match="must be 3 x 3"):
        getis_ord_gi_star([1.0, 2.0, 3.0], np.eye(4))
    with pytest.raises(HotspotError, match="finite"):
        getis_ord_gi_star([1.0, 2.0, float("inf")], np.eye(3))


# ----------------------------------------------------------------------------- sample district


def test_planted_hotspots_are_hot_cells_after_fdr(sample_incidents, truth) -> None:
    """Each planted cluster centre lies in or next to a cell classed hot >= 95 % after FDR."""
    assert len(truth) == 4
    for shape in ("square", "hex"):
        cells = gi_star_hotspots(sample_incidents, cell_size=250, shape=shape).cells
        hot = cells[cells["class"].isin(["hot 99%", "hot 95%"])]
        for _, t in truth.iterrows():
            # "In or next to": within one cell (queen step) of a hot cell.
            d = shapely.distance(hot.geometry.to_numpy(), t.geometry)
            assert d.min() == 0.0 or d.min() < 250 * math.sqrt(2), (shape, t["id"])
        assert set(cells["class"]) <= set(CLASSES)
        assert (cells["gi_bin"] > 0).sum() == cells["class"].str.startswith("hot").sum()


def test_kde_peaks_are_the_planted_hotspots(sample_incidents, truth) -> None:
    """With a 150 m bandwidth the four highest density peaks are the four planted clusters."""
    grid = kde_grid(sample_incidents, cell_size=25, bandwidth=150)
    peaks = grid.peaks(4)
    tx, ty = truth.geometry.x.to_numpy(), truth.geometry.y.to_numpy()
    d = np.hypot(peaks["x"].to_numpy()[:, None] - tx, peaks["y"].to_numpy()[:, None] - ty)
    assert sorted(d.argmin(axis=0).tolist()) == [0, 1, 2, 3]
    assert d.min(axis=0).max() < 100


def test_network_hotspots_find_the_dark_road(sample_net, sample_incidents, truth) -> None:
    """The planted unlit-road cluster is among the 5 hottest stretches of road, hot 99 %."""
    hot = network_hotspots(sample_net, sample_incidents)
    edges = hot.roads
    assert hot.n_snapped + hot.n_unsnapped == len(sample_incidents)
    assert edges["count"].sum() == hot.n_snapped
    dark = truth[truth["kind"] == "dark_road"].iloc[0]
    way = int(dark["osm_ref"].split("/")[1])
    ways = sample_net.edges["osm_ways"].astype(str).str.split(";")
    dark_edges = np.flatnonzero(ways.apply(lambda w: str(way) in w).to_numpy())
    top = edges.sort_values("z", ascending=False).head(5)
    on_dark = top[top["edge"].isin(dark_edges)]
    assert len(on_dark) >= 1
    assert (on_dark["class"] == "hot 99%").all()
    assert on_dark.distance(dark.geometry).min() < 50
    # Pieces tile their roads exactly.
    assert shapely.length(edges.geometry.to_numpy()) == pytest.approx(
        edges["length_m"].to_numpy(), abs=1e-6
    )
    per_road = edges.groupby("edge")["length_m"].sum()
    assert per_road.to_numpy() == pytest.approx(
        sample_net.edges["length_m"].to_numpy()[per_road.index], rel=1e-9
    )
    assert edges["length_m"].max() <= 200 + 1e-9


def test_network_hotspots_whole_roads_match_esda(sample_net, sample_incidents) -> None:
    """segment_m=None gives one row per road (twins counted once); z matches esda."""
    hot = network_hotspots(sample_net, sample_incidents, segment_m=None, max_snap_m=50)
    roads = hot.roads
    e = sample_net.edges
    # Every edge with a twin pairs up; the sample has two one-way edges of its own.
    assert len(roads) == (len(e) + e["oneway"].sum()) // 2
    assert roads["edge"].is_unique
    assert hot.n_unsnapped > 0 and hot.max_snap_m == 50
    # Roads sharing a node are neighbours, built here independently with a dense matrix.
    u, v = roads["u"].to_numpy(), roads["v"].to_numpy()
    share = (u[:, None] == u[None]) | (u[:, None] == v[None])
    share |= (v[:, None] == u[None]) | (v[:, None] == v[None])
    np.fill_diagonal(share, False)
    zs, _ = _esda_zs(roads["per_km"].to_numpy(), share.astype(float))
    assert np.abs(roads["z"].to_numpy() - zs).max() < 1e-6


def test_network_hotspot_errors(sample_net, sample_incidents) -> None:
    """Non-positive snap distance or segment length and geographic incidents raise."""
    with pytest.raises(HotspotError, match="max_snap_m must be positive"):
        network_hotspots(sample_net, sample_incidents, max_snap_m=0)
    with pytest.raises(HotspotError, match="segment_m must be positive"):
        network_hotspots(sample_net, sample_incidents, segment_m=-1)
    with pytest.raises(HotspotError, match="value must be 'per_km' or 'count'"):
        network_hotspots(sample_net, sample_incidents, value="rate")  # type: ignore[arg-type]
    with pytest.raises(HotspotError, match="geographic CRS"):
        network_hotspots(sample_net, sample_incidents.to_crs(4326))


def test_network_hotspots_refuse_incidents_in_another_crs(sample_net, sample_incidents) -> None:
    """Incidents in another metric CRS than the network raise, naming both; none is guessed."""
    other = sample_incidents.to_crs(3857)
    net_crs = sample_net.crs.to_string()
    with pytest.raises(HotspotError, match=rf"incidents layer is in EPSG:3857, .* in {net_crs}"):
        network_hotspots(sample_net, other)
    with pytest.raises(HotspotError, match="EPSG:3857"):
        analyse_hotspots(other, roads=sample_net)
    # Reprojected by the caller, on purpose, they give the same road counts.
    back = network_hotspots(sample_net, other.to_crs(sample_net.crs))
    ref = network_hotspots(sample_net, sample_incidents)
    assert (back.roads["count"].to_numpy() == ref.roads["count"].to_numpy()).all()


def test_emerging_hotspots_on_sample_district(sample_incidents, truth) -> None:
    """Year-round clusters are persistent; the Sept-Dec burglary spree trends up."""
    res = emerging_hotspots(sample_incidents, cell_size=250, period="M")
    em = res.cells
    assert len(res.periods) == 12 and (em["n_periods"] == 12).all()
    assert set(em["pattern"]) <= set(PATTERNS)
    at = {
        t["id"]: em[shapely.intersects(em.geometry.to_numpy(), t.geometry)].iloc[0]
        for _, t in truth.iterrows()
    }
    for hid in ("HS-1", "HS-2", "HS-3"):
        assert at[hid]["pattern"] == "persistent", hid
    spree = at["HS-4"]
    assert spree["pattern"] == "sporadic"
    assert spree["trend"] == "up" and spree["hot_final"]


def _cube_incidents(rng: np.random.Generator, plan: dict[tuple[float, float], list[int]]):
    """Background noise each month plus, at each planted point, the given monthly counts."""
    xy, times = [], []
    for month in range(12):
        start = pd.Timestamp(2025, month + 1, 1)
        n_bg = 150
        xy.append(rng.uniform(0, 6000, (n_bg, 2)))
        times += [start + pd.Timedelta(days=int(d)) for d in rng.integers(0, 28, n_bg)]
        for (px, py), counts in plan.items():
            k = counts[month]
            # A cluster spreads over about 3 x 3 cells, as real hot spots do.
            xy.append(np.array([[px, py]]) + rng.uniform(-300, 300, (k, 2)))
            times += [start + pd.Timedelta(hours=int(h)) for h in rng.integers(0, 600, k)]
    pts = np.vstack(xy) + [500_000, 3_400_000]
    return _incidents(pts, [str(t) for t in times])


def test_emerging_hotspot_patterns_follow_esri_rules() -> None:
    """Planted monthly series give the ESRI patterns: new, intensifying, diminishing, ..."""
    rng = np.random.default_rng(2024)
    plan = {
        (1125.0, 1125.0): [60] * 12,  # persistent
        (3125.0, 1125.0): [30 + 8 * m for m in range(12)],  # intensifying
        (5125.0, 1125.0): [120 - 8 * m for m in range(12)],  # diminishing
        (1125.0, 4125.0): [0] * 11 + [60],  # new
        (3125.0, 4125.0): [60 if m in (1, 4, 8) else 0 for m in range(12)],  # sporadic
    }
    inc = _cube_incidents(rng, plan)
    em = emerging_hotspots(
        inc, cell_size=250, period="M", bounds=(5e5, 3.4e6, 5e5 + 6000, 3.4e6 + 6000)
    ).cells
    expected = ["persistent", "intensifying", "diminishing", "new", "sporadic"]
    for (px, py), label in zip(plan, expected, strict=True):
        cell = em[shapely.intersects_xy(em.geometry.to_numpy(), px + 5e5, py + 3.4e6)].iloc[0]
        assert cell["pattern"] == label, (label, cell[["n_hot", "trend", "trend_p"]].to_dict())
    assert (em["pattern"] == "no pattern").mean() > 0.8
    q = emerging_hotspots(inc, cell_size=250, period="Q")
    assert q.periods == ("2025Q1", "2025Q2", "2025Q3", "2025Q4")


def test_emerging_hotspot_errors(sample_incidents) -> None:
    """Too few periods, bad period aliases and missing times raise HotspotError."""
    with pytest.raises(HotspotError, match="at least 3 periods of 'Y'"):
        emerging_hotspots(sample_incidents, cell_size=250, period="Y")
    with pytest.raises(HotspotError, match="unknown period 'fortnight'"):
        emerging_hotspots(sample_incidents, cell_size=250, period="fortnight")
    with pytest.raises(HotspotError, match="lack a 'time' column"):
        emerging_hotspots(sample_incidents.drop(columns="time"), cell_size=250)
    with pytest.raises(HotspotError, match="for the Gi\\* cells and their 365 periods; the limit"):
        emerging_hotspots(sample_incidents, cell_size=25, period="D")
    with pytest.raises(HotspotError, match="too many for the trend test"):
        emerging_hotspots(sample_incidents, cell_size=1500, period="h")


def test_mann_kendall_matches_kendalltau() -> None:
    """S/sqrt(var S) is scipy's asymptotic Kendall z vs time; tau is kendalltau's tau-b."""
    rng = np.random.default_rng(0)
    t = np.arange(20)
    no_ties = 0.08 * t + rng.normal(0, 1, 20)
    ties = np.round(0.1 * t + rng.normal(0, 0.6, 20))
    assert len(np.unique(no_ties)) == 20 and len(np.unique(ties)) < 20
    res = mann_kendall(np.vstack([no_ties, ties]))
    for k, series in enumerate((no_ties, ties)):
        ref = stats.kendalltau(t, series, method="asymptotic")
        assert res.tau[k] == pytest.approx(ref.statistic, abs=1e-12)
        # Without the continuity correction our z is scipy's; its p is 2 sf(|S| / sd).
        z_plain = res.s[k] / math.sqrt(res.var_s[k])
        assert 2 * stats.norm.sf(abs(z_plain)) == pytest.approx(ref.pvalue, rel=1e-9)
        assert res.z[k] == pytest.approx((res.s[k] - np.sign(res.s[k])) / math.sqrt(res.var_s[k]))
        assert res.p[k] == pytest.approx(2 * stats.norm.sf(abs(res.z[k])))
    # Hand example: 1, 2, 3, 4 has S = 6, var = 4*3*13/18, z = 5 / sqrt(26/3).
    hand = mann_kendall([1.0, 2.0, 3.0, 4.0])
    assert float(hand.s) == 6 and float(hand.tau) == 1.0
    assert float(hand.z) == pytest.approx(5 / math.sqrt(26 / 3))
    flat = mann_kendall([2.0, 2.0, 2.0])
    assert float(flat.z) == 0.0 and float(flat.p) == 1.0
    with pytest.raises(HotspotError, match="at least 3 time steps"):
        mann_kendall([1.0, 2.0])


# ----------------------------------------------------------------------------- errors


def test_gi_star_errors(sample_incidents) -> None:
    """Empty input, bad cell sizes, cells larger than the area and non-metric CRSs raise."""
    with pytest.raises(HotspotError, match="empty"):
        gi_star_hotspots(sample_incidents.iloc[:0])
    with pytest.raises(HotspotError, match="cell_size must be positive"):
        gi_star_hotspots(sample_incidents, cell_size=0)
    with pytest.raises(HotspotError, match="cell_size must be positive"):
        gi_star_hotspots(sample_incidents, cell_size=-250)
    with pytest.raises(HotspotError, match="cell_size must be a number, got '250'"):
        gi_star_hotspots(sample_incidents, cell_size="250")  # type: ignore[arg-type]
    with pytest.raises(
        HotspotError, match=r"cell_size 50000 m is larger than the study extent \(\d+ m x \d+ m\)"
    ):
        gi_star_hotspots(sample_incidents, cell_size=50_000)
    with pytest.raises(HotspotError, match="geographic CRS"):
        gi_star_hotspots(sample_incidents.to_crs(4326))
    with pytest.raises(HotspotError, match="have no CRS"):
        gi_star_hotspots(sample_incidents.set_crs(None, allow_override=True))
    with pytest.raises(HotspotError, match="not metres"):
        gi_star_hotspots(sample_incidents.to_crs(2249))  # Massachusetts, US survey feet
    with pytest.raises(HotspotError, match="unknown cell shape 'tri'"):
        gi_star_hotspots(sample_incidents, shape="tri")  # type: ignore[arg-type]
    with pytest.raises(HotspotError, match=r"alpha must lie in \(0, 1\)"):
        gi_star_hotspots(sample_incidents, alpha=0)
    with pytest.raises(HotspotError, match="xmax < xmin"):
        gi_star_hotspots(sample_incidents, bounds=(10, 0, 0, 10))
    with pytest.raises(HotspotError, match="must all be points"):
        gi_star_hotspots(sample_incidents.set_geometry(sample_incidents.buffer(5)))
    with pytest.raises(HotspotError, match="must be a GeoDataFrame"):
        gi_star_hotspots(pd.DataFrame({"x": [1]}))  # type: ignore[arg-type]
    with pytest.raises(HotspotError, match=r"needs .* million cells .* use cells of \d+ m or"):
        grid_counts(sample_incidents, cell_size=1.0)


def test_params_and_result_validate_themselves(sample_incidents) -> None:
    """HotspotParams rejects bad tunables; HotspotResult checks its counts add up."""
    with pytest.raises(HotspotError, match="kde_cell_size must be positive"):
        HotspotParams(kde_cell_size=0)
    with pytest.raises(HotspotError, match="unknown bandwidth rule"):
        HotspotParams(bandwidth="wide")  # type: ignore[arg-type]
    with pytest.raises(HotspotError, match="unknown cell shape"):
        HotspotParams(shape="round")  # type: ignore[arg-type]
    res = analyse_hotspots(sample_incidents, params=HotspotParams(cell_size=500))
    assert res.n_in_cells == res.n_incidents == len(sample_incidents)
    assert res.edges is None and res.n_snapped is None
    assert isinstance(res.density, DensityGrid)
    assert (res.hot_cells["gi_bin"] > 0).all()
    with pytest.raises(HotspotError, match="counts disagree"):
        HotspotResult(
            params=res.params,
            density=res.density,
            cell_hotspots=res.cell_hotspots,
            n_incidents=res.n_incidents - 1,
        )
    with pytest.raises(HotspotError, match="counts disagree"):
        # One incident claimed outside every cell, yet all of them are counted in one.
        dataclasses.replace(res.cell_hotspots, n_outside=1)
    with pytest.raises(HotspotError, match="lacks columns"):
        dataclasses.replace(res.cell_hotspots, cells=res.cells.drop(columns="z"))


def test_analyse_hotspots_with_network_counts_everything(sample_net, sample_incidents) -> None:
    """The bundled result counts incidents used and dropped for cells and roads."""
    night = filter_incidents(sample_incidents, hours=(20, 4))
    res = analyse_hotspots(night, roads=sample_net)
    assert res.n_incidents == len(night)
    assert res.edges is not None and res.n_snapped is not None
    assert res.n_snapped + (res.n_unsnapped or 0) == len(night)
    assert res.edges["count"].sum() == res.n_snapped


# ----------------------------------------------------------------------------- Toronto


def _read_toronto(path) -> gpd.GeoDataFrame:
    """Toronto MCI incidents with local times, projected to UTM 17N."""
    df = pd.read_csv(path, usecols=["occurrencedate", "occurrencehour", "MCI", "Lat", "Long"])
    # occurrencedate is local midnight stored in UTC; the local hour is a separate column.
    day = pd.to_datetime(df["occurrencedate"], format="%Y/%m/%d %H:%M:%S%z", utc=True)
    day = day.dt.tz_convert("America/Toronto").dt.tz_localize(None).dt.normalize()
    local = (day + pd.to_timedelta(df["occurrencehour"], unit="h")).dt.tz_localize(
        "America/Toronto",
        ambiguous=np.zeros(len(df), dtype=bool),
        nonexistent="shift_forward",
    )
    to_utm = pyproj.Transformer.from_crs(4326, 32617, always_xy=True)
    x, y = to_utm.transform(df["Long"].to_numpy(), df["Lat"].to_numpy())
    return gpd.GeoDataFrame(
        {
            "id": np.arange(len(df)).astype(str),
            "time": local,
            "hour": df["occurrencehour"].to_numpy(),
            "category": df["MCI"].str.lower(),
        },
        geometry=gpd.points_from_xy(x, y),
        crs=32617,
    )


@pytest.mark.shared
def test_toronto_pipeline_on_real_data(shared_path) -> None:
    """Filter, KDE, Gi* at 250 m and FDR on 241k real incidents: downtown is hot 99 %."""
    inc = _read_toronto(shared_path("toronto_mci_2014_2021.csv.gz"))
    assert len(inc) == 240_992
    t0 = time.perf_counter()
    night = filter_incidents(
        inc, start="2014-01-01", end="2022-01-01", hours=(19, 6), categories=["Assault", "Robbery"]
    )
    res = analyse_hotspots(night, params=HotspotParams(cell_size=250))
    elapsed = time.perf_counter() - t0
    print(
        f"\nToronto pipeline: {len(night):,} incidents, {len(res.cells):,} cells, {elapsed:.2f} s"
    )
    hours = night["hour"].to_numpy()
    assert ((hours >= 19) | (hours < 6)).all()
    assert set(night["category"]) == {"assault", "robbery"}
    assert night["time"].min() >= pd.Timestamp("2014-01-01", tz="America/Toronto")
    assert res.n_in_cells == len(night)
    # Yonge-Dundas Square, the busiest downtown corner, is hot at 99 % after FDR.
    to_utm = pyproj.Transformer.from_crs(4326, 32617, always_xy=True)
    dx, dy = to_utm.transform(-79.3802, 43.6561)
    cell = res.cells[shapely.intersects_xy(res.cells.geometry.to_numpy(), dx, dy)].iloc[0]
    assert cell["class"] == "hot 99%"
    top = res.density.peaks(1).iloc[0]
    assert math.hypot(top["x"] - dx, top["y"] - dy) < 3 * res.density.bandwidth
    # FDR makes fewer cells significant than raw p-values would.
    assert (res.cells["p_fdr"] <= 0.05).sum() < (res.cells["p"] <= 0.05).sum()
    assert set(res.cells["class"]) <= set(CLASSES)


# ----------------------------------------------------------------------------- results


@pytest.fixture(scope="module")
def results(sample_net, sample_incidents) -> dict[str, Result]:
    """One of each result the hot spot analyses return, on the sample district."""
    night = filter_incidents(sample_incidents, hours=(20, 4))
    values = np.array([4, 1, 0, 3, 6, 0, 2, 1, 1], dtype=float)
    gi = getis_ord_gi_star(values, lattice_neighbours(*np.divmod(np.arange(9), 3)))
    return {
        "CellCounts": grid_counts(sample_incidents, cell_size=500, shape="hex"),
        "GiStarCells": gi_star_hotspots(sample_incidents, cell_size=500),
        "RoadHotspots": network_hotspots(sample_net, sample_incidents),
        "EmergingHotspots": emerging_hotspots(sample_incidents, cell_size=500, period="Q"),
        "DensityGrid": kde_grid(sample_incidents, cell_size=200, bandwidth=300),
        "TrendTest": mann_kendall(np.arange(12.0).reshape(3, 4)),
        "GiStar": gi,
        "FDRResult": fdr_bh(gi.p),
        "HotspotResult": analyse_hotspots(night, roads=sample_net),
    }


def test_every_result_is_a_frozen_result_with_json_metadata(results) -> None:
    """Each result's to_dict() survives json.dumps and names its kind; fields are frozen."""
    for kind, res in results.items():
        assert isinstance(res, Result) and type(res).__name__ == kind
        data = json.loads(json.dumps(res.to_dict(), allow_nan=False))
        assert data["kind"] == kind
        with pytest.raises(dataclasses.FrozenInstanceError):
            res.alpha = 0.5  # type: ignore[misc]
    # A single series gives 0-d arrays; their metadata are plain numbers.
    one = mann_kendall([1.0, 2.0, 3.0, 4.0]).to_dict()
    assert json.loads(json.dumps(one))["s"] == 6.0
    assert results["CellCounts"].to_dict()["n_outside"] == results["CellCounts"].n_outside
    hot = results["HotspotResult"].to_dict()
    assert hot["n_snapped"] + hot["n_unsnapped"] == hot["n_incidents"]
    assert hot["cell_hotspots"]["kind"] == "GiStarCells" and hot["params"]["alpha"] == 0.05
    assert set(results["DensityGrid"].to_dict()) >= {"nx", "ny", "bandwidth", "bounds", "crs"}


def test_geometric_results_export_geojson(results) -> None:
    """to_geojson() gives one WGS84 feature per row of the main table."""
    for kind, table in [
        ("CellCounts", "cells"),
        ("GiStarCells", "cells"),
        ("RoadHotspots", "roads"),
        ("EmergingHotspots", "cells"),
        ("HotspotResult", "cells"),
    ]:
        res = results[kind]
        frame = res.tables()[table]
        gj = res.to_geojson()
        assert gj["type"] == "FeatureCollection"
        assert len(gj["features"]) == len(frame), kind
        exported = shapely.bounds(shapely.from_geojson(json.dumps(gj)))
        assert exported == pytest.approx(frame.to_crs(4326).total_bounds, abs=1e-9), kind
    with pytest.raises(TypeError, match="no geometric table"):
        results["TrendTest"].to_geojson()


def test_result_tables_are_copies(results) -> None:
    """Mutating a table from tables() or a frame attribute leaves the result unchanged."""
    for kind, names in [
        ("CellCounts", ["cells"]),
        ("GiStarCells", ["cells"]),
        ("RoadHotspots", ["roads"]),
        ("EmergingHotspots", ["cells"]),
        ("HotspotResult", ["cells", "roads"]),
        ("DensityGrid", ["grid"]),
    ]:
        res = results[kind]
        before = res.tables()
        assert set(before) == set(names), kind
        for name in names:
            table = res.tables()[name]
            table.iloc[:, 0] = -1
            table["added"] = 1
            if hasattr(res, name):
                attr = getattr(res, name)
                attr.iloc[:, 0] = -1
                del attr[attr.columns[1]]
        for name, table in res.tables().items():
            pd.testing.assert_frame_equal(table, before[name], obj=f"{kind}.{name}")
    hot = results["HotspotResult"]
    assert hot.edges is not None
    del hot.edges["z"]
    assert "z" in hot.edges.columns and "z" in hot.road_hotspots.roads.columns
    hot.hot_cells["z"] = 0.0
    assert (hot.hot_cells["z"] > 0).all()


def test_result_arrays_are_read_only(results) -> None:
    """Arrays a result holds cannot be written, so a cached result cannot be corrupted."""
    grid = results["DensityGrid"]
    trend = results["TrendTest"]
    arrays = [grid.x, grid.y, grid.density, trend.s, trend.tau, trend.var_s, trend.z, trend.p]
    arrays += [results["GiStar"].z, results["GiStar"].p]
    arrays += [results["FDRResult"].p_adj, results["FDRResult"].reject]
    for a in arrays:
        assert not a.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            a.flat[0] = 1
    # The caller's own array stays writable: the result froze a view of it.
    z = np.array([1.0, 2.0, 3.0])
    mine = GiStar(z=z, p=np.ones(3))
    assert z.flags.writeable and not mine.z.flags.writeable


def test_inconsistent_results_raise(results, sample_net, sample_incidents) -> None:
    """A result whose parts disagree cannot be built: each _check names what is wrong."""
    counts = results["CellCounts"]
    with pytest.raises(HotspotError, match="CellCounts counts disagree"):
        dataclasses.replace(counts, n_points=counts.n_points + 1)
    with pytest.raises(HotspotError, match="unknown cell shape 'tri'"):
        dataclasses.replace(counts, shape="tri")
    with pytest.raises(HotspotError, match=r"CellCounts.cells lacks columns \['count'\]"):
        dataclasses.replace(counts, cells=counts.cells.drop(columns="count"))
    cells = results["GiStarCells"]
    flipped = cells.cells.assign(significant=~cells.cells["significant"])
    with pytest.raises(HotspotError, match="'significant' is not p_fdr <= alpha"):
        dataclasses.replace(cells, cells=flipped)
    with pytest.raises(HotspotError, match="'significant' is not p_fdr <= alpha"):
        dataclasses.replace(cells, alpha=0.5)
    with pytest.raises(HotspotError, match="'class' does not follow"):
        dataclasses.replace(cells, cells=cells.cells.assign(**{"class": "hot 99%"}))
    roads = results["RoadHotspots"]
    with pytest.raises(HotspotError, match="RoadHotspots counts disagree"):
        dataclasses.replace(roads, n_unsnapped=roads.n_unsnapped + 1)
    with pytest.raises(HotspotError, match="RoadHotspots counts disagree"):
        dataclasses.replace(roads, n_snapped=roads.n_snapped - 1, n_unsnapped=roads.n_unsnapped + 1)
    em = results["EmergingHotspots"]
    with pytest.raises(HotspotError, match="n_periods disagrees with the 3 periods"):
        dataclasses.replace(em, periods=em.periods[:3])
    with pytest.raises(HotspotError, match="unknown patterns"):
        dataclasses.replace(em, cells=em.cells.assign(pattern="oscillating"))
    grid = results["DensityGrid"]
    with pytest.raises(HotspotError, match="density has shape"):
        dataclasses.replace(grid, x=grid.x[:-1])
    with pytest.raises(HotspotError, match="disagree in shape"):
        dataclasses.replace(results["TrendTest"], p=np.ones(7))
    with pytest.raises(HotspotError, match="disagree in shape"):
        GiStar(z=np.zeros(3), p=np.ones(4))
    fdr = results["FDRResult"]
    with pytest.raises(HotspotError, match="reject is not p_adj <= alpha"):
        dataclasses.replace(fdr, reject=~fdr.reject)
    hot = results["HotspotResult"]
    night = filter_incidents(sample_incidents, hours=(20, 4))
    other = network_hotspots(sample_net, night, max_snap_m=50)
    with pytest.raises(HotspotError, match="roads used other max_snap_m"):
        dataclasses.replace(hot, road_hotspots=other)
    with pytest.raises(HotspotError, match="HotspotResult counts disagree"):
        dataclasses.replace(hot, density=grid)


# ----------------------------------------------------------------------------- evidence


def _assert_evidence_ranking(table: pd.DataFrame, ranked: pd.DataFrame, min_count: int) -> None:
    """No unit short of min_count incidents is a core, and ranked() puts cores first."""
    k = table["count"].to_numpy()
    assert not (table["core"].to_numpy() & (k < min_count)).any()
    zero = table[table["count"] == 0]
    assert (zero["p_own"] == 1.0).all() and not zero["core"].any()
    assert set(zero["role"]) <= {"part of a hot area", ""}
    assert set(table["role"]) <= set(ROLES)
    hot = table["significant"] & (table["z"] > 0)
    assert (table["role"] == "hotspot core").sum() == (table["core"] & hot).sum()
    # ranked(): exactly the units with a role, numbered 1..n, cores in one block on top.
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    assert sorted(ranked.index) == sorted(table.index[table["role"] != ""])
    core = ranked["core"].to_numpy()
    assert not (np.diff(core.astype(int)) > 0).any()  # never a core after a non-core
    assert (ranked.loc[ranked["core"], "count"] >= max(min_count, 1)).all()


def test_own_count_test_is_scipy_poisson_with_bh() -> None:
    """Expected is N x share; p_own is poisson.sf(k - 1, mu); FDR is BH; cores need 2 incidents.

    Counts 30, 0, 0, 1 on exposures 1000, 1000, 1000, 0.01: N = 31, so the expected
    counts are 31 x 1000 / 3000.01 (three times) and 31 x 0.01 / 3000.01.
    """
    counts = np.array([30, 0, 0, 1])
    exposure = np.array([1000.0, 1000.0, 1000.0, 0.01])
    res = own_count_test(counts, exposure)
    mu = 31 * exposure / 3000.01
    assert res.expected == pytest.approx(mu, rel=1e-12)
    assert res.rate_ratio == pytest.approx(counts / mu, rel=1e-12)
    assert res.p == pytest.approx(stats.poisson.sf(counts - 1, mu), rel=1e-12)
    # By hand: P(X >= 0) = 1 and P(X >= 1) = 1 - exp(-mu).
    assert res.p[1] == res.p[2] == 1.0
    assert res.p[3] == pytest.approx(-math.expm1(-mu[3]), rel=1e-12)
    assert res.p_fdr == pytest.approx(stats.false_discovery_control(res.p, method="bh"))
    # The one-incident unit is far beyond its share (p ~ 1e-4) but is no core: min_count 2.
    assert res.p_fdr[3] < 0.001
    assert res.core.tolist() == [True, False, False, False]
    assert own_count_test(counts, exposure, min_count=1).core.tolist() == [True, False, False, True]
    # Equal cells: expected is the mean count.
    equal = own_count_test([4, 0, 1, 3])
    assert equal.expected.tolist() == [2.0] * 4
    assert equal.p == pytest.approx(stats.poisson.sf(np.array([3, -1, 0, 2]), 2.0), rel=1e-12)
    with pytest.raises(HotspotError, match="min_count must be >= 1"):
        own_count_test(counts, min_count=0)
    with pytest.raises(HotspotError, match="whole non-negative"):
        own_count_test([1.5, 2.0, 0.0])
    with pytest.raises(HotspotError, match="exposure must be positive"):
        own_count_test(counts, [1.0, 0.0, 1.0, 1.0])
    with pytest.raises(HotspotError, match="one value per unit"):
        own_count_test(counts, [1.0, 1.0])


def test_evidence_order_is_core_then_count_then_rate_then_z() -> None:
    """Cores first, then own count, then incidents per km, then Gi* z, all descending."""
    frame = pd.DataFrame(
        {
            "core": [True, False, True, True, True, False],
            "count": [5, 9, 2, 5, 5, 0],
            "per_km": [20.0, 90.0, 5.0, 10.0, 20.0, 0.0],
            "z": [0.5, 30.0, 1.0, 2.0, 3.0, 40.0],
        },
        index=list("abcdef"),
    )
    assert evidence_order(frame, "per_km").index.tolist() == list("eadcbf")
    # Without a rate (equal cells) z breaks the tie between a, d and e.
    assert evidence_order(frame).index.tolist() == list("edacbf")


def test_no_zero_incident_unit_is_a_core_on_the_sample(results, sample_net, sample_incidents):
    """Gi* calls 1-incident stretches hot 99% on the sample; none is a core or ranked as one."""
    roads = results["RoadHotspots"]
    table = roads.roads
    _assert_evidence_ranking(table, roads.ranked(), roads.min_count)
    # The sample's own example: a stretch with one incident beside the busiest is hot 99%.
    lone = table[(table["count"] == 1) & (table["class"] == "hot 99%")]
    assert len(lone) >= 1 and (lone["role"] == "part of a hot area").all()
    # expected = snapped incidents x the piece's share of the road length.
    share = np.maximum(table["length_m"], 1.0) / np.maximum(table["length_m"], 1.0).sum()
    assert table["expected"].to_numpy() == pytest.approx(roads.n_snapped * share, rel=1e-9)
    k, mu = table["count"].to_numpy(), table["expected"].to_numpy()
    assert table["p_own"].to_numpy() == pytest.approx(stats.poisson.sf(k - 1, mu), rel=1e-9)
    top = roads.ranked().iloc[0]
    assert top["role"] == "hotspot core" and top["count"] == table["count"].max()
    cells = results["GiStarCells"]
    _assert_evidence_ranking(cells.cells, cells.ranked(), cells.min_count)
    assert cells.cells["expected"].to_numpy() == pytest.approx(
        np.full(len(cells.cells), cells.n_in_cells / len(cells.cells))
    )
    # A sparse selection: 60 incidents, where Gi* lends heat to many empty cells and roads.
    few = sample_incidents.sample(60, random_state=1)
    res = analyse_hotspots(few, roads=sample_net, params=HotspotParams(min_count=3))
    for table, ranked in ((res.cells, res.ranked_cells()), (res.edges, res.ranked_roads())):
        assert table is not None and ranked is not None
        assert ((table["count"] == 0) & (table["class"] == "hot 99%")).any()
        _assert_evidence_ranking(table, ranked, 3)
    meta = res.to_dict()
    assert meta["cell_hotspots"]["min_count"] == 3 and meta["road_hotspots"]["min_count"] == 3
    assert meta["road_hotspots"]["n_cores"] == int(res.edges["core"].sum())
    # hot keeps every Gi* hot unit, now in evidence order.
    assert (res.hot_cells["gi_bin"] > 0).all()
    assert len(res.hot_cells) == (res.cells["gi_bin"] > 0).sum()
    assert res.hot_cells.index.tolist() == evidence_order(res.hot_cells).index.tolist()


def test_sparse_road_stretch_next_to_a_cluster_is_part_of_a_hot_area(sample_net, results):
    """Six incidents on one stretch make its empty neighbours hot 99%; only it is a core."""
    pieces = results["RoadHotspots"].roads
    target = pieces[(pieces["n_pieces"] >= 5) & (pieces["piece"] == 2)].iloc[0]
    others = pieces.drop(index=target.name).sample(15, random_state=3)
    pts = [shapely.line_interpolate_point(target.geometry, 0.5, normalized=True)] * 6
    pts += [shapely.line_interpolate_point(g, 0.5, normalized=True) for g in others.geometry]
    inc = gpd.GeoDataFrame({"id": range(len(pts))}, geometry=pts, crs=sample_net.crs)
    res = network_hotspots(sample_net, inc)
    roads = res.roads
    assert res.n_snapped == 21
    same_road = roads[roads["edge"] == target["edge"]].set_index("piece")
    assert same_road.loc[2, "count"] == 6 and same_road.loc[2, "role"] == "hotspot core"
    for piece in (1, 3):  # the empty neighbours along the same road
        assert same_road.loc[piece, "count"] == 0
        assert same_road.loc[piece, "class"] == "hot 99%"
        assert same_road.loc[piece, "role"] == "part of a hot area"
        assert not same_road.loc[piece, "core"]
    # By Gi* z alone an empty stretch would rank first (ties with the cluster, or above).
    by_z = roads.sort_values("z", ascending=False, kind="stable")
    assert (by_z.head(3)["count"] == 0).sum() == 2
    ranked = res.ranked()
    assert ranked.iloc[0]["edge"] == target["edge"] and ranked.iloc[0]["piece"] == 2
    assert ranked["core"].sum() == 1 and roads["core"].sum() == 1
    _assert_evidence_ranking(roads, ranked, 2)
    assert res.to_dict()["roles"]["hotspot core"] == 1


def test_evidence_columns_are_checked(results, sample_incidents) -> None:
    """A result whose core or role disagrees with the counts cannot be built."""
    roads = results["RoadHotspots"]
    table = roads.roads
    empty = table.index[table["count"] == 0][0]
    forged = table.copy()
    forged.loc[empty, "core"] = True
    with pytest.raises(HotspotError, match="a core has fewer than min_count"):
        dataclasses.replace(roads, roads=forged)
    forged = table.copy()
    forged.loc[empty, "p_own"] = 0.001
    with pytest.raises(HotspotError, match="no incident has an own-count p-value below 1"):
        dataclasses.replace(roads, roads=forged)
    with pytest.raises(HotspotError, match="'role' does not follow"):
        dataclasses.replace(roads, roads=table.assign(role="hotspot core"))
    with pytest.raises(HotspotError, match="'expected' sums to"):
        dataclasses.replace(roads, roads=table.assign(expected=table["expected"] * 2))
    with pytest.raises(HotspotError, match="a core has fewer than min_count"):
        dataclasses.replace(roads, min_count=1000)
    forged = table.copy()
    forged.loc[table.index[table["core"]][0], "core"] = False
    with pytest.raises(HotspotError, match="'core' is not count >= min_count"):
        dataclasses.replace(roads, roads=forged)
    with pytest.raises(HotspotError, match="min_count must be >= 1"):
        dataclasses.replace(roads, min_count=0)
    cells = results["GiStarCells"]
    with pytest.raises(HotspotError, match=r"GiStarCells.cells lacks columns \['role'\]"):
        dataclasses.replace(cells, cells=cells.cells.drop(columns="role"))
    hot = results["HotspotResult"]
    other = gi_star_hotspots(filter_incidents(sample_incidents, hours=(20, 4)), min_count=5)
    with pytest.raises(HotspotError, match=r"\(cell_size, shape, alpha, min_count\)"):
        dataclasses.replace(hot, cell_hotspots=other)
    with pytest.raises(HotspotError, match="min_count must be >= 1"):
        HotspotParams(min_count=0)


# ----------------------------------------------------------------------------- trend periods


def _span_incidents(start: str, end: str, n: int = 400, seed: int = 0) -> gpd.GeoDataFrame:
    """n incidents spread over 3 km x 3 km and over the days from start to end, both kept."""
    rng = np.random.default_rng(seed)
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(hours=23)
    secs = rng.uniform(0, (t1 - t0).total_seconds(), n)
    secs[:2] = [0, (t1 - t0).total_seconds()]
    times = [str(t0 + pd.Timedelta(seconds=float(s))) for s in secs]
    xy = rng.uniform(0, 3000, (n, 2)) + [500_000, 3_400_000]
    return _incidents(xy, times)


def test_trend_period_falls_back_from_quarters_to_months_to_weeks() -> None:
    """Four months give months, three weeks give weeks, ten days give a reasoned skip."""
    four_months = _span_incidents("2025-09-01", "2025-12-31")
    with pytest.raises(HotspotError, match="at least 3 periods of 'Q', the incidents span 2"):
        emerging_hotspots(four_months, cell_size=500, period="Q")
    res = emerging_hotspots_auto(four_months, cell_size=500)
    assert isinstance(res, EmergingHotspots)
    assert res.period == "M" and res.periods == ("2025-09", "2025-10", "2025-11", "2025-12")
    choice = choose_trend_period(four_months)
    assert dict(choice.n_periods) == {"Q": 2, "M": 4, "W": 18}
    assert choice.reason == "4 months (quarters give 2; at least 3 needed)"

    three_weeks = _span_incidents("2025-01-06", "2025-01-26")  # Monday to Sunday
    with pytest.raises(HotspotError, match="at least 3 periods of 'M', the incidents span 1"):
        emerging_hotspots(three_weeks, cell_size=500, period="M")
    res = emerging_hotspots_auto(three_weeks, cell_size=500)
    assert isinstance(res, EmergingHotspots) and res.period == "W" and len(res.periods) == 3

    ten_days = _span_incidents("2025-01-06", "2025-01-15")  # two calendar weeks
    with pytest.raises(HotspotError, match="at least 3 periods of 'W', the incidents span 2"):
        emerging_hotspots(ten_days, cell_size=500, period="W")
    skipped = emerging_hotspots_auto(ten_days, cell_size=500)
    assert isinstance(skipped, TrendsSkipped)
    assert skipped.reason == (
        "the incidents span 10 days (2025-01-06 to 2025-01-15): 1 quarter, 1 month, "
        "2 weeks; emerging hot spots need at least 3 periods"
    )
    assert dict(skipped.n_periods) == {"Q": 1, "M": 1, "W": 2}
    assert skipped.n_incidents == len(ten_days)
    data = json.loads(json.dumps(skipped.to_dict(), allow_nan=False))
    assert data["kind"] == "TrendsSkipped" and data["n_periods"]["W"] == 2
    with pytest.raises(HotspotError, match="yet a period gives 3 or more"):
        dataclasses.replace(skipped, n_periods={"W": 3})


def test_trend_period_prefers_ten_periods_before_the_fallback(sample_incidents) -> None:
    """A year gives months (12) over quarters (4); three years give quarters (12)."""
    choice = choose_trend_period(sample_incidents)
    assert choice.period == "M" and choice.n_periods["Q"] == 4
    assert choice.reason == "12 months (quarters give 4; 10 or more preferred)"
    res = emerging_hotspots_auto(sample_incidents, cell_size=500)
    assert isinstance(res, EmergingHotspots) and len(res.periods) == 12
    long = _span_incidents("2023-01-01", "2025-12-31")
    assert choose_trend_period(long).period == "Q"
    # The last period tried is only a fallback: it is not chosen merely to reach 10.
    assert choose_trend_period(long["time"], periods=("Y", "Q", "M")).period == "Q"
    assert choose_trend_period(long["time"], periods=("Y", "Q")).period == "Y"
    assert choose_trend_period(long, target_periods=30).period == "M"
    with pytest.raises(HotspotError, match="min_periods must be >= 3"):
        choose_trend_period(long, min_periods=2)
    with pytest.raises(HotspotError, match="non-empty sequence of period aliases"):
        choose_trend_period(long, periods="QMW")
    with pytest.raises(HotspotError, match="unknown period 'fortnight'"):
        choose_trend_period(long, periods=("fortnight",))
    with pytest.raises(HotspotError, match="lack a 'time' column"):
        emerging_hotspots_auto(long.drop(columns="time"), cell_size=500)


def test_fft_convolution_matches_scipy_signal() -> None:
    """The KDE's own FFT convolution equals scipy.signal.fftconvolve(mode="valid")."""
    from scipy import signal

    from geo.hotspots.density import _convolve_valid

    rng = np.random.default_rng(7)
    for shape, k in (((203, 157), 31), ((64, 64), 1), ((40, 90), 17)):
        a, kernel = rng.random(shape), rng.random((k, k))
        want = signal.fftconvolve(a, kernel, mode="valid")
        got = _convolve_valid(a, kernel)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-9 * np.abs(want).max())


@pytest.mark.parametrize("n", [1, 2])
def test_too_few_incidents_say_so_not_cell_sizes(sample_incidents, n) -> None:
    """One or two incidents: the error says there are too few, not that cells are too big."""
    from geo.errors import HotspotError
    from geo.hotspots import analyse_hotspots

    with pytest.raises(HotspotError, match=rf"too few incidents for hot spots: {n} ") as err:
        analyse_hotspots(sample_incidents.iloc[:n])
    assert "cell" not in str(err.value)
