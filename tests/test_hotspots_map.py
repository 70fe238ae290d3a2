"""The hotspots map: density bands follow the grid, the page is offline."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from geo import layers
from geo.errors import CoordinateError, LayerError, MapError
from geo.hotspots import HotspotParams, analyse_hotspots, kde_grid
from maps.hotspots import KDE_BANDS, add_road_risk, density_bands, hotspots_map
from maps.offline import new_map, render_offline


def test_density_bands_are_exact_unions_of_grid_cells(sample_net):
    rng = np.random.default_rng(0)
    x0, y0 = sample_net.nodes[["x", "y"]].mean()
    pts = np.column_stack([rng.normal(x0, 800, 3000), rng.normal(y0, 800, 3000)])
    grid = kde_grid(pts, cell_size=100.0, bandwidth=300.0)
    grid = type(grid)(**{**grid.__dict__, "crs": sample_net.crs})
    bands = density_bands(grid)
    peak = grid.density.max()
    for share, geom in zip(bands["share"], bands.geometry, strict=True):
        n_cells = int((grid.density >= share * peak).sum())
        assert geom.area == pytest.approx(n_cells * 100.0**2, rel=1e-9)
    areas = bands.geometry.area.to_numpy()
    assert (np.diff(areas) < 0).all()  # higher bands are smaller and nested
    assert list(bands["share"]) == list(KDE_BANDS)


def test_hotspots_map_renders_offline(sample_files, sample_net):
    inc = layers.read_incidents(sample_files.incidents, to_crs=sample_net.crs)
    res = analyse_hotspots(inc, params=HotspotParams(bandwidth=200.0), roads=sample_net)
    m = hotspots_map(
        roads=sample_net.edges_gdf(),
        density=res.density,
        cells=res.cells,
        hot_roads=res.edges,
        lang="en",
    )
    html = render_offline(m)
    assert not re.search(r"<(script|img)[^>]*\ssrc\s*=", html)
    for name in ("Incident density", "cold spots (Gi*)", "Hot road stretches"):
        assert name in html


def test_density_bands_need_a_crs_and_shares_of_the_peak():
    grid = kde_grid(np.array([[0.0, 0.0], [50.0, 80.0]]), cell_size=100.0, bandwidth=300.0)
    with pytest.raises(CoordinateError, match="density grid has no CRS"):
        density_bands(dataclasses.replace(grid, crs=None))
    grid = dataclasses.replace(grid, crs="EPSG:32650")
    with pytest.raises(
        MapError, match=r"bands must be shares of the peak in \(0, 1\], got \[0, 1.5\]"
    ):
        density_bands(grid, bands=(0, 0.5, 1.5))


def test_bad_hotspots_options_are_errors(sample_net):
    roads = sample_net.edges_gdf()
    with pytest.raises(MapError, match="unsupported map language lang='fr'"):
        hotspots_map(roads=roads, lang="fr")  # type: ignore[arg-type]
    with pytest.raises(LayerError, match="^roads: empty, nothing to map"):
        hotspots_map(roads=roads.iloc[:0])
    m = new_map((114.2, 30.5, 114.4, 30.7), title="x")
    with pytest.raises(MapError, match="top must be at least 1.*got 0"):
        add_road_risk(m, roads, top=0)
