"""Read and validate the input layers: villages, incidents, stations, teams and the rest.

Villages, incidents, stations, teams, village groups, village boundaries and auxiliary
officers each have a reader. Every reader returns a :class:`geopandas.GeoDataFrame` in
a *working* metric CRS with a fixed column schema, plus WGS84 ``lon``/``lat`` columns
for output. Nothing is returned half-loaded: all problems in a file are collected first
and raised together as one :class:`~geo.errors.LayerError` (or returned as a list by
:func:`check_layer`).

Formats
-------
CSV (``.csv``, ``.csv.gz``; UTF-8, UTF-8 with BOM or GBK/GB18030, auto-detected) with
coordinate columns ``lon``/``lat`` (also ``longitude``/``latitude``, ``lng``, ``经度``/``纬度``)
or ``x``/``y``; GeoJSON (``.geojson``, ``.json``), GeoPackage (``.gpkg``) and Shapefile
(``.shp``, a zipped shapefile ``.zip`` or ``zip://archive.zip!inner.shp``).

Rows
----
Problems name a 1-based data row. In a CSV, row 1 is the first record after the header
line (blank lines count, so for files without multi-line quoted cells row N is line
N + 1); in a vector file, row N is the N-th feature.

Besides each layer's own rules (see :mod:`~geo.layers.kinds`), every file is refused,
row by row, for a CSV record with more fields than its header, a NUL character in any
cell, a position at exactly (0, 0), a stored geometry GEOS cannot build (a ring that
does not close), an invalid (e.g. self-intersecting) polygon, and an incident time
more than a day in the future. A UTF-8 byte-order mark in front of GBK text is skipped.

Coordinates
-----------
``crs`` is the CRS the input coordinates are declared in; ``to_crs`` the working CRS
(projected; default the UTM zone of the layer's points). GCJ-02 and BD-09 input goes
through :func:`geo.coords.to_wgs84`; every layer passes through WGS84 (``lon``/``lat``)
on its way to the working CRS. In a CSV, a declared projected CRS reads the ``x``/``y``
columns; otherwise ``lon``/``lat`` are used when present, else ``x``/``y``.

Types
-----
IDs and codes are always text, never numbers. Required text columns have pandas' ``str``
dtype; optional ones (``township``, ``district``, station ``township_code``,
``description``) are ``object`` holding ``str`` or ``None``; a team's ``leader`` and an
officer's ``village_code``, ``phone`` and ``unit`` are ``str``, "" when empty. Optional
integers are nullable ``Int64``.

Modules
-------
``report``: the problem collector; ``sources``: files to raw text tables (CSV encodings,
vector formats); ``columns``: header resolution and typed parsing (text, numbers,
integers, categories, times); ``placement``: geometry from coordinate columns or the
file, CRS checks, conversion to WGS84 and the working CRS; ``kinds``: each layer's
headers, required columns, output schema and attribute rules; ``readers``: the load
pipeline and the public functions re-exported here.
"""

from __future__ import annotations

from geo.layers.kinds import (
    INCIDENT_COLUMNS,
    OFFICER_COLUMNS,
    STATION_COLUMNS,
    TEAM_COLUMNS,
    VILLAGE_COLUMNS,
    LayerKind,
)
from geo.layers.readers import (
    LayerSummary,
    check_layer,
    column_names,
    describe_layer,
    read_boundaries,
    read_groups,
    read_incidents,
    read_layer,
    read_officers,
    read_stations,
    read_teams,
    read_villages,
)
from geo.layers.report import MAX_PROBLEMS

__all__ = [
    "INCIDENT_COLUMNS",
    "MAX_PROBLEMS",
    "OFFICER_COLUMNS",
    "STATION_COLUMNS",
    "TEAM_COLUMNS",
    "VILLAGE_COLUMNS",
    "LayerKind",
    "LayerSummary",
    "check_layer",
    "column_names",
    "describe_layer",
    "read_boundaries",
    "read_groups",
    "read_incidents",
    "read_layer",
    "read_officers",
    "read_stations",
    "read_teams",
    "read_villages",
]
