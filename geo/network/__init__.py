"""Road networks from OpenStreetMap files or GIS road layers: the only place one is built.

Rooms: :mod:`~geo.network.tags` (modes, speeds, lighting), :mod:`~geo.network.osm`
(reading OSM ways), :mod:`~geo.network.lines` (reading a road line layer as the same
ways), :mod:`~geo.network.build` (the vectorised build), :mod:`~geo.network.cache`
(the on-disk cache and :func:`load_network`), :mod:`~geo.network.model` (the
:class:`RoadNetwork` arrays), :mod:`~geo.network.roads` (every road once) and
:mod:`~geo.network.snap` (the one snapper).
"""

from __future__ import annotations

from geo.network.build import (
    CACHE_VERSION,
    LINE_SUFFIXES,
    OSM_SUFFIXES,
    BuildOptions,
    Component,
    ProgressFn,
    build_network,
    build_networks,
    check_source,
    file_sha256,
    is_line_layer,
    source_sha256,
)
from geo.network.cache import load_network, load_networks
from geo.network.lines import DEFAULT_SNAP_M, OSM_CLASSES, LineLayer, read_line_ways
from geo.network.model import (
    DroppedComponent,
    DroppedReport,
    NetworkSummary,
    RoadNetwork,
    SourceInfo,
    edge_twins,
    road_edges,
)
from geo.network.roads import Roads
from geo.network.snap import SnapIndex, SnapResult, snap_geometries, snap_points
from geo.network.tags import (
    ACCESS_KMH,
    DARK_CLASSES,
    LIT_CLASSES,
    MODES,
    SIMPLIFY_ATTRS_DIFFER,
    SPEEDS_KMH,
    LitClass,
    Mode,
    check_mode,
    mode_speeds_kmh,
    normalise_lit,
    parse_maxspeed,
)

__all__ = [
    "CACHE_VERSION",
    "DARK_CLASSES",
    "DEFAULT_SNAP_M",
    "LINE_SUFFIXES",
    "OSM_CLASSES",
    "OSM_SUFFIXES",
    "LIT_CLASSES",
    "MODES",
    "SIMPLIFY_ATTRS_DIFFER",
    "ACCESS_KMH",
    "SPEEDS_KMH",
    "BuildOptions",
    "Component",
    "DroppedComponent",
    "DroppedReport",
    "LineLayer",
    "LitClass",
    "Mode",
    "NetworkSummary",
    "ProgressFn",
    "RoadNetwork",
    "Roads",
    "SnapIndex",
    "SnapResult",
    "SourceInfo",
    "build_network",
    "build_networks",
    "check_mode",
    "check_source",
    "edge_twins",
    "file_sha256",
    "is_line_layer",
    "load_network",
    "load_networks",
    "mode_speeds_kmh",
    "normalise_lit",
    "parse_maxspeed",
    "read_line_ways",
    "road_edges",
    "snap_geometries",
    "snap_points",
    "source_sha256",
]
