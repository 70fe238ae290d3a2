"""The hotspots map: density bands follow the grid, the page is offline."""

from __future__ import annotations

import re

import numpy as np
import pytest

from geo import layers
from geo.hotspots import HotspotParams, analyse_hotspots, kde_grid
from maps.hotspots import KDE_BANDS, density_bands, hotspots_map
from maps.offline import render_offline


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
    res = analyse_hotspots(inc, params=HotspotParams(bandwidth=200.0), net=sample_net)
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
