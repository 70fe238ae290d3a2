"""Memory of the dark-road risk: it follows the incidents, not their (incident, road) pairs.

Issue 9 §3: with 2M incidents the risk step held every (incident, road) pair at once
(about 2.8 KB per incident). The pairs are now summed per road a block at a time; these
tests measure Python's traced allocations (numpy's included) on the sample district.
"""

from __future__ import annotations

import tracemalloc

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.lighting import risk as risk_module
from geo.lighting.inputs import as_roads, distance_engine, night_incidents

#: A wide reach, so each incident meets many roads and the pairs outweigh the incidents.
LIMIT_M = 1000.0


@pytest.fixture(scope="module")
def sample_roads(sample_net):
    view = as_roads(sample_net)
    return view, distance_engine(view)


def _night(view, engine, n, seed=0):
    """``n`` night incidents scattered around the sample's nodes, snapped to roads."""
    net = view.net
    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(net.nodes), n)
    x = net.nodes["x"].to_numpy()[k] + rng.normal(0, 30, n)
    y = net.nodes["y"].to_numpy()[k] + rng.normal(0, 30, n)
    t = pd.Timestamp("2025-01-01 22:00", tz="Asia/Shanghai")
    incidents = gpd.GeoDataFrame(
        {"id": [f"I{i}" for i in range(n)], "time": [t] * n, "category": "theft"},
        geometry=shapely.points(x, y),
        crs=net.crs,
    )
    return night_incidents(
        incidents, view, engine, hours=(19.0, 6.0), categories=None, max_snap_m=LIMIT_M
    )


def _traced(view, engine, night, budget):
    tracemalloc.start()
    try:
        count, close = risk_module._incidents_near_roads(
            view, engine, night, LIMIT_M, pair_budget=budget
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, count, close


def test_incident_memory_follows_the_incidents_not_their_pairs(sample_roads):
    """Ten times the incidents cost only their own arrays, far less than their pairs.

    From 20k to 200k night incidents (about 25 roads each within 1 km) the traced peak
    grows by less than 100 bytes per added incident, and by less than a quarter of what
    holding the added pairs as just two 8-byte columns would take. The old code grew by
    about 170 bytes per pair (786 MB here).
    """
    view, engine = sample_roads
    small = _night(view, engine, 20_000)
    big = _night(view, engine, 200_000)
    budget = 100_000
    peak_small, count_small, _ = _traced(view, engine, small, budget)
    peak_big, count_big, _ = _traced(view, engine, big, budget)
    added_incidents = len(big.table) - len(small.table)
    added_pairs = int(count_big.sum() - count_small.sum())
    assert added_pairs > 10 * added_incidents  # the case is one where pairs dominate
    grown = peak_big - peak_small
    assert grown < 100 * added_incidents
    assert grown < 16 * added_pairs / 4


def test_blocks_of_any_size_give_the_same_sums(sample_roads):
    """The per-road count and closeness do not depend on the block size, to the bit."""
    view, engine = sample_roads
    night = _night(view, engine, 5_000, seed=3)
    _, count, close = _traced(view, engine, night, 10**9)
    for budget in (1, 977, 20_000):
        _, c, w = _traced(view, engine, night, budget)
        np.testing.assert_array_equal(c, count)
        np.testing.assert_array_equal(w, close)
