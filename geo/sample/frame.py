"""Fixed facts of the sample district and the local metric frame it is drawn in.

The public constants say what the district is (code, name, bounds, year) and how it is
labelled; the frame constants place the metric coordinates every generator step works
in. :func:`geo.sample.geometry.to_lonlat` turns them into WGS84.
"""

from __future__ import annotations

__all__ = [
    "LAT0",
    "LON0",
    "N_VILLAGES_RANGE",
    "SAMPLE_BOUNDS",
    "SAMPLE_DISTRICT_CODE",
    "SAMPLE_DISTRICT_NAME",
    "SAMPLE_YEAR",
    "SYNTHETIC_LABEL",
    "X_HALF",
    "Y_HALF",
]


SAMPLE_DISTRICT_CODE = "420199"
"""Fictional six-digit district code of the sample (no Wuhan district uses it)."""

SAMPLE_DISTRICT_NAME = "示范区（合成）"
"""Name of the sample district."""

SYNTHETIC_LABEL = "合成示例数据 / SYNTHETIC SAMPLE DATA — not real places or incidents"
"""Label written into every sample file that can carry one."""

SAMPLE_BOUNDS = (114.25, 30.95, 114.45, 31.10)
"""West, south, east, north bounds (WGS84 degrees) of the sample district."""

SAMPLE_YEAR = 2025
"""Calendar year the sample incidents fall in."""

N_VILLAGES_RANGE = (60, 120)
"""Allowed range (inclusive) of the ``n_villages`` parameter."""

# Local metric frame centred on the district; the half-extents keep every node inside
# SAMPLE_BOUNDS at any latitude of the box (0.1 deg of longitude is 9.53 km at 31.1 N).
LON0, LAT0 = 114.35, 31.025
X_HALF, Y_HALF = 9450.0, 8290.0
