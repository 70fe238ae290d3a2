"""Tests of the hot-spot memory bounds: the guard, quiet cells, the density cell (issue 9 §3)."""

from __future__ import annotations

import time
import tracemalloc

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo import layers
from geo.hotspots import (
    HotspotError,
    HotspotParams,
    emerging_hotspots,
    getis_ord_gi_star,
    gi_star_hotspots,
    kde_grid,
    lattice_neighbours,
    network_hotspots,
)
from geo.hotspots.budget import density_memory, lattice_memory
from geo.hotspots.lattice import neighbourhood_sums
from service.cli import main


@pytest.fixture(scope="module")
def net(sample_files):
    from geo.network import build_network

    return build_network(sample_files.roads)


@pytest.fixture(scope="module")
def incidents(sample_files, net) -> gpd.GeoDataFrame:
    return layers.read_incidents(sample_files.incidents, to_crs=net.crs)


def _files(sample_files) -> list[str]:
    return ["--osm", str(sample_files.roads), "--incidents", str(sample_files.incidents)]


def test_guard_refuses_a_tiny_cell_fast_naming_the_option_and_the_need(
    sample_files, tmp_path, capsys
) -> None:
    """--cell 0.01 is refused in one line naming --cell, the cells, the GB and a size that fits."""
    t0 = time.perf_counter()
    rc = main(
        ["hotspots", *_files(sample_files), "--cache-dir", str(tmp_path), "--cell", "0.01"]
        + ["--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert time.perf_counter() - t0 < 10
    assert len(err.splitlines()) == 1
    assert "--cell 0.01 m over" in err and "trillion cells" in err and "GB" in err
    assert "--max-memory-gb" in err and "use --cell" in err
    assert not (tmp_path / "o").exists()
    assert not list(tmp_path.glob("*.net")), "the roads were loaded before the refusal"


def test_guard_refuses_before_allocating(incidents) -> None:
    """The lattice and density guards raise with well under 50 MB allocated."""
    tracemalloc.start()
    try:
        with pytest.raises(HotspotError, match=r"a cell size of 0.01 m over .* trillion cells"):
            gi_star_hotspots(incidents, cell_size=0.01)
        with pytest.raises(HotspotError, match=r"for the density grid; the limit is 8 GB"):
            kde_grid(incidents, cell_size=0.05, bandwidth=200.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6


def test_memory_limit_is_checked_and_adjustable(incidents) -> None:
    """A limit below the need refuses what the default accepts; a bad limit is an error."""
    gi_star_hotspots(incidents, cell_size=250)
    with pytest.raises(HotspotError, match="limit is 0.001 GB: use cells of 1000 m or larger"):
        gi_star_hotspots(incidents, cell_size=250, max_memory_gb=0.001)
    with pytest.raises(HotspotError, match="max_memory_gb must be positive"):
        HotspotParams(max_memory_gb=0)


@pytest.mark.parametrize("limit_gb", [0.01, 0.1, 1.0])
def test_suggested_cell_sizes_really_fit(limit_gb) -> None:
    """The size a refusal suggests fits the limit; none is suggested when none fits."""
    need = lattice_memory(80_000, 60_000, 1.0, n_points=10_000, limit_gb=limit_gb)
    assert not need.fits and need.fits_from is not None
    assert lattice_memory(80_000, 60_000, need.fits_from, n_points=10_000, limit_gb=limit_gb).fits
    # Binning steps follow the bandwidth, not the cell: a larger cell barely helps here.
    dens = density_memory(400_000, 400_000, 50.0, 30.0, limit_gb=limit_gb)
    if dens.fits_from is None:
        assert "or larger" not in dens.message("--density-cell")
    else:
        assert density_memory(400_000, 400_000, dens.fits_from, 30.0, limit_gb=limit_gb).fits


def test_density_cell_follows_cell_unless_given(sample_files, tmp_path, monkeypatch) -> None:
    """The CLI's density grid takes --cell, or --density-cell when given."""
    import geo.hotspots

    seen: list[HotspotParams] = []
    real = geo.hotspots.analyse_hotspots

    def spy(*args, **kwargs):
        seen.append(kwargs["params"])
        return real(*args, **kwargs)

    monkeypatch.setattr(geo.hotspots, "analyse_hotspots", spy)
    common = [*_files(sample_files), "--cache-dir", str(tmp_path), "--trend-period", "none"]
    assert main(["-q", "hotspots", *common, "--cell", "400"]) == 0
    assert main(["-q", "hotspots", *common, "--cell", "400", "--density-cell", "150"]) == 0
    assert [(p.cell_size, p.kde_cell_size) for p in seen] == [(400, 400), (400, 150)]


def test_density_grid_has_the_cell_size_asked(incidents) -> None:
    """Known answer: cell centres are cell_size apart and cover the padded extent."""
    for cell in (100.0, 250.0, 400.0):
        d = kde_grid(incidents, cell_size=cell, bandwidth=300.0)
        assert np.allclose(np.diff(d.x), cell) and np.allclose(np.diff(d.y), cell)
        x0, y0, x1, y1 = incidents.total_bounds
        assert d.x[0] - cell / 2 == pytest.approx(x0 - 900.0)
        assert len(d.x) == int(np.ceil((x1 - x0 + 1800.0) / cell - 1e-9))


def test_many_incidents_on_a_small_area_run_without_cell_size_advice(
    sample_files, incidents, tmp_path, capsys
) -> None:
    """40,000 incidents on the sample district (a wide Scott bandwidth) run by default."""
    rng = np.random.default_rng(3)
    k = rng.integers(0, len(incidents), 40_000)
    table = pd.DataFrame(
        {
            "id": [f"M{i}" for i in range(len(k))],
            "time": incidents["time"].to_numpy()[k],
            "category": incidents["category"].to_numpy()[k],
            "lon": incidents["lon"].to_numpy()[k] + rng.normal(0, 0.003, len(k)),
            "lat": incidents["lat"].to_numpy()[k] + rng.normal(0, 0.003, len(k)),
        }
    )
    table["time"] = pd.to_datetime(table["time"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    path = tmp_path / "many.csv"
    table.to_csv(path, index=False)
    args = ["--osm", str(sample_files.roads), "--incidents", str(path)]
    assert main(["-q", "hotspots", *args, "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert "40,000 incidents selected" in out.out
    assert "cell size" not in out.err


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_neighbourhood_sums_are_the_contiguity_matrix_products(shape) -> None:
    """Sums over a lattice with holes equal (W + I) @ x, for 1-D and 2-D values."""
    rng = np.random.default_rng(7)
    row, col = np.divmod(np.arange(400), 20)
    keep = rng.random(400) > 0.3
    row, col = row[keep], col[keep]
    x = rng.integers(0, 5, (len(row), 3)).astype(float)
    w = lattice_neighbours(row, col, shape)
    w_self = w + np.eye(len(row))
    total, count = neighbourhood_sums(row, col, shape, x)
    assert np.array_equal(total, w_self @ x)
    assert np.array_equal(count, w_self.sum(axis=1))
    assert np.array_equal(neighbourhood_sums(row, col, shape, x[:, 0])[0], w_self @ x[:, 0])
    gi = getis_ord_gi_star(x, w)
    from geo.hotspots.gistar import lattice_gi_star

    fast = lattice_gi_star(row, col, shape, x)
    assert np.array_equal(fast.z, gi.z) and np.array_equal(fast.p, gi.p)


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_quiet_cells_left_out_change_no_other_row(incidents, shape) -> None:
    """keep_quiet=False drops only quiet cells; every other row is the full table's, exactly."""
    full = gi_star_hotspots(incidents, cell_size=250, shape=shape)
    lean = gi_star_hotspots(incidents, cell_size=250, shape=shape, keep_quiet=False)
    table = full.cells
    quiet = (table["count"] == 0) & ~table["significant"] & (table["gi_bin"] == 0)
    assert lean.n_quiet == int(quiet.sum()) > 0 and lean.n_cells == len(table)
    pd.testing.assert_frame_equal(
        lean.cells.reset_index(drop=True), table[~quiet].reset_index(drop=True), check_exact=True
    )
    assert lean.class_counts().to_dict() == table["class"].value_counts().to_dict()
    assert lean.to_dict()["n_cells"] == full.to_dict()["n_cells"]


def test_quiet_road_pieces_and_trend_cells_left_out_change_no_other_row(net, incidents) -> None:
    """The same for road pieces and emerging hot spots."""
    full = network_hotspots(net, incidents).roads
    lean = network_hotspots(net, incidents, keep_quiet=False)
    quiet = (full["count"] == 0) & ~full["significant"] & (full["gi_bin"] == 0)
    assert lean.n_quiet == int(quiet.sum()) > 0
    pd.testing.assert_frame_equal(
        lean.roads.reset_index(drop=True), full[~quiet].reset_index(drop=True), check_exact=True
    )
    em_full = emerging_hotspots(incidents, cell_size=500, period="M").cells
    em = emerging_hotspots(incidents, cell_size=500, period="M", keep_quiet=False)
    kept = em_full[em_full["cell"].isin(em.cells["cell"])]
    assert em.n_quiet == len(em_full) - len(kept)
    pd.testing.assert_frame_equal(
        em.cells.reset_index(drop=True), kept.reset_index(drop=True), check_exact=True
    )
    dropped = em_full[~em_full["cell"].isin(em.cells["cell"])]
    assert (dropped["count"] == 0).all() and (dropped["pattern"] == "no pattern").all()
