"""Folium maps that open with no network: builders, shared legend and style, offline pages.

The package itself exports nothing; import from its modules: :mod:`maps.overview` and
:mod:`maps.hotspots` (the maps), :mod:`maps.legend` (legend, layer control, point
symbols), :mod:`maps.style` (colours and labels), :mod:`maps.features` (GeoJSON
plumbing) and :mod:`maps.offline` (offline pages).
"""

from __future__ import annotations

__all__: list[str] = []
