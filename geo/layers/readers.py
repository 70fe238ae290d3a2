"""The load pipeline and the public readers built on it.

One pass per file: read it (:mod:`~geo.layers.sources`), find its columns
(:mod:`~geo.layers.columns`), place its geometry (:mod:`~geo.layers.placement`) and
check its attributes (:mod:`~geo.layers.kinds`), collecting every problem on the way
(:mod:`~geo.layers.report`) before anything is returned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from os import fspath
from typing import Any, Final, TypeAlias, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.coords import CRSLike
from geo.errors import LayerError, Problem
from geo.layers.columns import missing_column, nul_characters, resolve_columns, unique
from geo.layers.kinds import (
    ALIASES,
    GEOMETRY_TYPES,
    REQUIRED,
    UNIQUE_KEYS,
    LayerKind,
    attributes,
)
from geo.layers.placement import COORD_ALIASES, place
from geo.layers.report import Report
from geo.layers.sources import CHUNK_ROWS, PathArg, Source, read_chunks, read_source
from geo.results import Result

#: Selects the rows of a chunk of a valid layer to keep (a boolean mask over it).
Keep: TypeAlias = Callable[[gpd.GeoDataFrame], "npt.NDArray[np.bool_] | pd.Series[bool]"]

__all__ = [
    "Keep",
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


def _load(
    path: PathArg,
    kind: LayerKind,
    *,
    crs: CRSLike | None,
    to_crs: CRSLike | None,
    encoding: str | None,
    layer: str | None,
    columns: Mapping[str, str] | None = None,
    shared_columns: Mapping[str, str] | None = None,
    require_geometry: bool = True,
    tz: str = "Asia/Shanghai",
    keep: Keep | None = None,
) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    """Read and validate one layer; return it (or None) and all problems found.

    A large CSV is checked and converted a chunk of rows at a time (one working CRS for
    all of them, so a layer with no ``to_crs`` is read whole: its UTM zone depends on
    every point); only the typed columns of all chunks are held together, and of those
    only the rows ``keep`` selects.
    """
    report = Report(file=fspath(path))
    if kind == "incidents":
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            report.add(f"unknown time zone {tz!r} (expected an IANA name like 'Asia/Shanghai')")
            return None, report.finish()
    chunks = read_chunks(
        path, encoding, layer, report, chunk_rows=CHUNK_ROWS if to_crs is not None else None
    )
    if chunks is None:
        return None, report.finish()
    parts: list[gpd.GeoDataFrame] = []
    rows: list[np.ndarray] = []
    keys: list[pd.Series[str]] = []  # the identifying column of every chunk, valid or not
    cols: dict[str, str] = {}
    key = UNIQUE_KEYS[kind]
    n = 0
    for source in chunks:
        if not rows:
            cols = _layer_columns(source, kind, columns, shared_columns, report)
            missing = [c for c in REQUIRED[kind] if c not in cols]
        report.rows = source.rows
        part = _chunk(source, kind, cols, missing, crs, to_crs, require_geometry, tz, n, report)
        n += len(source.table)
        rows.append(source.rows)
        if key in cols:
            keys.append(source.table[cols[key]])
        if part is not None and not report.total:
            if keep is not None:
                part = part[np.asarray(keep(part), dtype=bool)].reset_index(drop=True)
            parts.append(part)
        if missing:
            break  # the same columns are missing from every chunk
    if rows and n == 0:
        report.add("layer has no rows")
    if keys:
        # Across chunks: a repeat may be a million rows after its first.
        report.rows = np.concatenate(rows)
        unique(pd.concat(keys, ignore_index=True), key, cols[key], report)
    if report.total or not parts:
        return None, report.finish()
    gdf = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    gdf.attrs["columns"] = dict(cols)
    return gdf, []


def _layer_columns(
    source: Source,
    kind: LayerKind,
    columns: Mapping[str, str] | None,
    shared_columns: Mapping[str, str] | None,
    report: Report,
) -> dict[str, str]:
    """Resolve the layer's columns from its headers, reporting the required ones missing."""
    aliases = ALIASES[kind]
    # Vector files carry their coordinates in the geometry; lon/x columns are attributes.
    known = aliases if source.vector else aliases | COORD_ALIASES
    headers = list(source.table.columns)
    # Area-wide mappings apply where this file has the header; the layer's own must hold.
    shared = {c: h for c, h in (shared_columns or {}).items() if c in known and h in headers}
    cols = _columns(headers, known, {**shared, **(columns or {})}, report)
    for canon in REQUIRED[kind]:
        if canon not in cols:
            report.add(missing_column(canon, aliases[canon], headers), column=canon)
    return cols


def _chunk(
    source: Source,
    kind: LayerKind,
    cols: Mapping[str, str],
    missing: list[str],
    crs: CRSLike | None,
    to_crs: CRSLike | None,
    require_geometry: bool,
    tz: str,
    first: int,
    report: Report,
) -> gpd.GeoDataFrame | None:
    """Check and convert one chunk of rows (``first``: the position of its first row)."""
    table = source.table
    nul_characters(table, report)
    if len(table) == 0:
        return None
    placed = place(
        source,
        cols,
        kind=kind,
        crs=crs,
        to_crs=to_crs,
        allowed=GEOMETRY_TYPES[kind],
        require_geometry=require_geometry,
        report=report,
    )
    if missing:
        return None
    values = attributes(kind, table, cols, report, tz=tz, first=first)
    if report.total or placed is None:
        return None
    frame = pd.DataFrame({name: s.reset_index(drop=True) for name, s in values.items()})
    frame["lon"] = placed.lon
    frame["lat"] = placed.lat
    return gpd.GeoDataFrame(frame, geometry=placed.geometry, crs=placed.geometry.crs)


def column_names(kind: LayerKind) -> frozenset[str]:
    """Return the column names a mapping may give for one layer kind (``time``, ``lon``...).

    Coordinates count for every kind: a CSV gives them as columns, a vector file as its
    geometry (where a mapped ``lon`` is then reported as found nowhere).
    """
    return frozenset(ALIASES[kind]) | frozenset(COORD_ALIASES)


def _columns(
    headers: list[str],
    known: Mapping[str, tuple[str, ...]],
    given: Mapping[str, str],
    report: Report,
) -> dict[str, str]:
    """Resolve the file's columns, the user's mapping (``time=occurrencedate``) first.

    A mapped column wins over a header that merely looks like the same name, so a table
    with both ``time`` and ``occurrencedate`` reads the one the user chose.
    """
    mapped: dict[str, str] = {}
    for canon, header in given.items():
        if canon not in known:
            report.add(
                f"column mapping {canon}={header}: {canon!r} is no column of this layer; "
                f"expected one of {', '.join(sorted(known))}"
            )
        elif header not in headers:
            shown = ", ".join(repr(h) for h in headers) or "none"
            report.add(
                f"column mapping {canon}={header}: the file has no column {header!r}; "
                f"found columns: {shown}"
            )
        else:
            mapped[canon] = header
    rest = {c: names for c, names in known.items() if c not in given}
    auto = resolve_columns([h for h in headers if h not in given.values()], rest, report)
    return {**auto, **mapped}


def _raise_or_return(result: tuple[gpd.GeoDataFrame | None, list[Problem]]) -> gpd.GeoDataFrame:
    gdf, problems = result
    if gdf is None:
        raise LayerError(problems)
    return gdf


# ----------------------------------------------------------------------------- public API


def read_villages(
    path: PathArg,
    *,
    crs: CRSLike | None = None,
    to_crs: CRSLike | None = None,
    encoding: str | None = None,
    require_geometry: bool = True,
    layer: str | None = None,
    columns: Mapping[str, str] | None = None,
    shared_columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Read a village / community committee layer.

    Parameters
    ----------
    path
        CSV (``.csv``, ``.csv.gz``), GeoJSON, GeoPackage or Shapefile (also zipped).
    crs
        CRS the input coordinates are declared in: ``"wgs84"``, ``"gcj02"``, ``"bd09"``,
        ``"cgcs2000"``, an EPSG code or a :class:`pyproj.CRS`. Default: the file's own
        CRS for vector formats, WGS84 for CSV ``lon``/``lat`` columns; CSV ``x``/``y``
        columns require it. A vector file whose stored CRS differs is an error (except
        a stored EPSG:4326 declared as ``"gcj02"``/``"bd09"``).
    to_crs
        Working (projected, metric) CRS of the result, e.g. the road network's; default
        the UTM zone of the layer's own points.
    encoding
        Text encoding of a CSV (or a shapefile's DBF); default: try UTF-8 (with or
        without BOM), then GB18030 (a superset of GBK), both strictly.
    require_geometry
        If False, a table without coordinates is accepted (an attribute-only village
        list): its geometry is all None, ``lon``/``lat`` NaN, and its CRS ``to_crs`` or
        WGS84. Rows lacking both coordinates are then also accepted in a table that has
        coordinate columns.
    layer
        Layer name inside a multi-layer file such as a GeoPackage.
    columns
        The file's own header for a column, by the column's name here, e.g.
        ``{"name": "CUN_MC", "lon": "POINT_X"}``; a header in it is taken as given, the
        rest are found by their usual names.
    shared_columns
        Mappings given for a whole area (``--columns``): each applies where this file has
        that header, and is passed over where it has not.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns `VILLAGE_COLUMNS` (``code`` 12 digits, ``name``, ``kind``
        "village"/"community", ``committee_kind``, ``township_code`` = code[:9],
        ``township``, ``district_code`` = code[:6], ``district``, ``population`` and
        ``households`` as nullable Int64), then ``lon``, ``lat`` (WGS84; for polygons
        a point on the surface) and a Point/Polygon/MultiPolygon ``geometry`` in the
        working CRS. Other input columns (e.g. ``township_kind``) are dropped.

    Raises
    ------
    LayerError
        Listing every problem, each naming the file, the 1-based data row (row 1 is the
        first line after a CSV's header; the N-th feature of a vector file) and column.

    Notes
    -----
    ``kind`` comes from a ``kind`` column when present (村/村委会/villagers_committee/...
    -> village, 社区/居委会/residents_committee/... -> community), otherwise from code
    digits 10-12: 001-199 residents (community), 200-399 villagers (village), 400-499
    quasi-residents (community), 500-599 quasi-villagers (village). ``township_code``,
    ``district_code`` and ``committee_kind`` input columns must agree with the code.
    """
    return _raise_or_return(
        _load(
            path,
            "villages",
            crs=crs,
            to_crs=to_crs,
            encoding=encoding,
            layer=layer,
            columns=columns,
            shared_columns=shared_columns,
            require_geometry=require_geometry,
        )
    )


def read_incidents(
    path: PathArg,
    *,
    crs: CRSLike | None = None,
    to_crs: CRSLike | None = None,
    encoding: str | None = None,
    tz: str = "Asia/Shanghai",
    layer: str | None = None,
    columns: Mapping[str, str] | None = None,
    shared_columns: Mapping[str, str] | None = None,
    keep: Keep | None = None,
) -> gpd.GeoDataFrame:
    """Read an incident (警情) point layer.

    Parameters
    ----------
    path, crs, to_crs, encoding, layer, columns
        As for :func:`read_villages`.
    tz
        IANA time zone: naive times are taken as local time there, times with an offset
        (``+08:00``, ``Z``) are converted to it.
    keep
        Which incidents to hold, as a function of a block of them (read and checked,
        as every row is): say the night ones, for a command that uses no others, so
        millions of incidents need not all be held. Ids are unique over the whole file.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns `INCIDENT_COLUMNS`: ``id`` (unique str; ``R1``, ``R2``, ... by data row
        when the file has no id column), ``time`` (``datetime64[us, tz]``; an ``hour``
        column, where given, sets the hour on the time's local day), ``category``
        (stripped, lower-case), ``severity`` (nullable Int64), ``description`` (str or
        None), then ``lon``, ``lat`` and Point ``geometry`` in the working CRS.

    Raises
    ------
    LayerError
        Listing every problem with file, 1-based data row and column.

    Notes
    -----
    Accepted time forms, the date always year first: ISO 8601
    (``2025-03-02T21:15:00+08:00``, ``2025-03-02 21:15``, ``2025-3-2 21:15``),
    ``2025/3/2 21:15[:30]``, ``2025/3/2``, ``2025年3月2日 21时15分[30秒]`` (also
    ``2025年03月02日 21:15`` and the date alone), ``20250302[211500]``, and Excel serial
    dates (``45718.885416667`` is 2025-03-02 21:15: days since 1899-12-30, rounded to the
    second, years 1990-2100 only). Day- or month-first dates such as ``03/02/2025`` or
    ``3/2/25`` are reported as ambiguous rather than guessed.
    """
    return _raise_or_return(
        _load(
            path,
            "incidents",
            crs=crs,
            to_crs=to_crs,
            encoding=encoding,
            layer=layer,
            columns=columns,
            shared_columns=shared_columns,
            tz=tz,
            keep=keep,
        )
    )


def read_stations(
    path: PathArg,
    *,
    crs: CRSLike | None = None,
    to_crs: CRSLike | None = None,
    encoding: str | None = None,
    layer: str | None = None,
    columns: Mapping[str, str] | None = None,
    shared_columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Read a police station / post point layer.

    Parameters
    ----------
    path, crs, to_crs, encoding, layer, columns
        As for :func:`read_villages`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns `STATION_COLUMNS`: ``id`` (unique str), ``name``, ``kind`` ("station"
        or "post"; 派出所 -> station, 警务室/警务站 -> post; empty or absent -> station),
        ``township_code`` (9 digits, str or None), then ``lon``, ``lat`` and Point
        ``geometry`` in the working CRS.

    Raises
    ------
    LayerError
        Listing every problem with file, 1-based data row and column.
    """
    return _raise_or_return(
        _load(
            path,
            "stations",
            crs=crs,
            to_crs=to_crs,
            encoding=encoding,
            layer=layer,
            columns=columns,
            shared_columns=shared_columns,
        )
    )


def read_teams(
    path: PathArg,
    *,
    crs: CRSLike | None = None,
    to_crs: CRSLike | None = None,
    encoding: str | None = None,
    layer: str | None = None,
    columns: Mapping[str, str] | None = None,
    shared_columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Read a team layer; each team's geometry is its base location.

    Parameters
    ----------
    path, crs, to_crs, encoding, layer, columns
        As for :func:`read_villages`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns `TEAM_COLUMNS`: ``id`` (unique str), ``name``, ``home_unit``,
        ``members`` (int64 > 0), ``skills`` (";"-joined, stripped, lower-case; input
        may also use ；，,、 as separators; "" when none), ``leader`` (the team leader's
        name, 队长/负责人/带队; "" when not given), then ``lon``, ``lat`` and Point
        ``geometry`` in the working CRS.

    Raises
    ------
    LayerError
        Listing every problem with file, 1-based data row and column.
    """
    return _raise_or_return(
        _load(
            path,
            "teams",
            crs=crs,
            to_crs=to_crs,
            encoding=encoding,
            layer=layer,
            columns=columns,
            shared_columns=shared_columns,
        )
    )


def read_officers(
    path: PathArg,
    *,
    crs: CRSLike | None = None,
    to_crs: CRSLike | None = None,
    encoding: str | None = None,
    layer: str | None = None,
    columns: Mapping[str, str] | None = None,
    shared_columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Read an auxiliary-officer (辅警) layer; each officer's geometry is their home.

    Wuhan's "one village, one auxiliary officer" (一村一辅警) places an officer in every
    villagers' committee; :func:`geo.teams.officers.check_officers` finds the gaps.

    Parameters
    ----------
    path, crs, to_crs, encoding, layer, columns
        As for :func:`read_villages`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns `OFFICER_COLUMNS`: ``id`` (unique str; 编号/警号), ``name`` (姓名),
        ``village_code`` (the 12-digit code of the village served; "" for an officer
        not yet placed), ``phone`` and ``unit`` (a station id; both "" when not
        given), then ``lon``, ``lat`` and Point ``geometry`` (the home) in the working
        CRS. That a village code is in the villages layer is checked by
        :func:`geo.area.load_area`.

    Raises
    ------
    LayerError
        Listing every problem with file, 1-based data row and column.
    """
    return _raise_or_return(
        _load(
            path,
            "officers",
            crs=crs,
            to_crs=to_crs,
            encoding=encoding,
            layer=layer,
            columns=columns,
            shared_columns=shared_columns,
        )
    )


def read_groups(
    path: PathArg,
    *,
    crs: CRSLike | None = None,
    to_crs: CRSLike | None = None,
    encoding: str | None = None,
    layer: str | None = None,
    columns: Mapping[str, str] | None = None,
    shared_columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Read a village-group (村民小组) point layer: where each village's households live.

    Parameters
    ----------
    path, crs, to_crs, encoding, layer, columns
        As for :func:`read_villages`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns `GROUP_COLUMNS`: ``code`` (unique str), ``name`` (the code when
        empty), ``village_code`` (12 digits, the village the group belongs to),
        ``households`` (int64 >= 0), then ``lon``, ``lat`` and Point ``geometry`` (the
        centre of the group's houses) in the working CRS.

    Raises
    ------
    LayerError
        Listing every problem with file, 1-based data row and column.
    """
    return _raise_or_return(
        _load(
            path,
            "groups",
            crs=crs,
            to_crs=to_crs,
            encoding=encoding,
            layer=layer,
            columns=columns,
            shared_columns=shared_columns,
        )
    )


def read_boundaries(
    path: PathArg,
    *,
    crs: CRSLike | None = None,
    to_crs: CRSLike | None = None,
    encoding: str | None = None,
    layer: str | None = None,
    columns: Mapping[str, str] | None = None,
    shared_columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Read village boundary polygons (村界), keyed by the village's 12-digit code.

    Parameters
    ----------
    path, crs, to_crs, encoding, layer, columns
        As for :func:`read_villages`; the file must be a vector format (GeoJSON,
        GeoPackage, Shapefile) of Polygons or MultiPolygons.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns `BOUNDARY_COLUMNS`: ``code`` (unique, 12 digits), ``name`` (str or
        None), then ``lon``, ``lat`` (a point inside) and the polygon ``geometry`` in
        the working CRS.

    Raises
    ------
    LayerError
        Listing every problem with file, 1-based data row and column.
    """
    return _raise_or_return(
        _load(
            path,
            "boundaries",
            crs=crs,
            to_crs=to_crs,
            encoding=encoding,
            layer=layer,
            columns=columns,
            shared_columns=shared_columns,
        )
    )


_READERS: Final[dict[str, Callable[..., gpd.GeoDataFrame]]] = {
    "villages": read_villages,
    "incidents": read_incidents,
    "stations": read_stations,
    "teams": read_teams,
    "groups": read_groups,
    "boundaries": read_boundaries,
    "officers": read_officers,
}


def _unknown_kind(path: PathArg, kind: str) -> Problem:
    expected = ", ".join(get_args(LayerKind))
    return Problem(fspath(path), f"unknown layer kind {kind!r}; expected one of {expected}")


def read_layer(path: PathArg, kind: LayerKind, **kw: Any) -> gpd.GeoDataFrame:
    """Read a layer of the given kind with the matching ``read_*`` function.

    Parameters
    ----------
    path
        The layer file.
    kind
        "villages", "incidents", "stations", "teams", "groups", "boundaries" or
        "officers".
    **kw
        Keyword options of that reader (``crs``, ``to_crs``, ``encoding``, ``layer``,
        ``require_geometry`` for villages, ``tz`` for incidents).

    Returns
    -------
    geopandas.GeoDataFrame
        As returned by the reader.

    Raises
    ------
    LayerError
        If ``kind`` is unknown or the file does not pass validation.
    TypeError
        If ``kw`` holds an option the reader does not take.
    """
    reader = _READERS.get(kind)
    if reader is None:
        raise LayerError(_unknown_kind(path, kind))
    return reader(path, **kw)


def check_layer(path: PathArg, kind: LayerKind, **kw: Any) -> list[Problem]:
    """Validate a layer file and return all its problems instead of raising.

    Parameters
    ----------
    path
        The layer file.
    kind
        "villages", "incidents", "stations", "teams", "groups", "boundaries" or
        "officers".
    **kw
        Keyword options of the matching reader, as for :func:`read_layer`.

    Returns
    -------
    list of Problem
        Empty if the layer reads cleanly. Sorted by row (file-level problems first) and
        capped at `MAX_PROBLEMS`, with one final problem counting any not listed.

    Raises
    ------
    TypeError
        If ``kw`` holds an option the reader does not take.
    """
    reader = _READERS.get(kind)
    if reader is None:
        return [_unknown_kind(path, kind)]
    try:
        reader(path, **kw)
    except LayerError as exc:
        return exc.problems
    return []


@dataclass(frozen=True, eq=False)
class LayerSummary(Result):
    """What a valid layer holds, for ``pingan layers check``.

    ``extent`` is (west, south, east, north) in WGS84 degrees of the rows with a
    location; ``encoding`` the text encoding that read a CSV (None for GeoJSON,
    GeoPackage and shapefiles, which declare their own); ``crs`` the CRS the coordinates
    were read in; ``kinds`` the rows per village kind, station kind or incident category.
    """

    file: str
    kind: str
    rows: int
    located: int
    extent: tuple[float, float, float, float] | None
    encoding: str | None
    crs: str
    kinds: Mapping[str, int]


def describe_layer(path: PathArg, kind: LayerKind, **kw: Any) -> LayerSummary:
    """Read a layer and summarise it: rows, extent, encoding, CRS read in, kinds found.

    Raises
    ------
    LayerError
        As the matching ``read_*`` function, listing every problem.
    """
    gdf = read_layer(path, kind, **kw)
    report = Report(file=fspath(path))
    source = read_source(path, kw.get("encoding"), kw.get("layer"), report)
    lon = pd.to_numeric(gdf["lon"], errors="coerce") if "lon" in gdf.columns else pd.Series([])
    lat = pd.to_numeric(gdf["lat"], errors="coerce") if "lat" in gdf.columns else pd.Series([])
    ok = lon.notna() & lat.notna()
    extent = (
        (float(lon[ok].min()), float(lat[ok].min()), float(lon[ok].max()), float(lat[ok].max()))
        if ok.any()
        else None
    )
    if kw.get("crs"):
        crs = f"{kw['crs']} (declared), converted to WGS84"
    elif source is not None and source.stored_crs is not None:
        crs = f"{source.stored_crs.name} (from the file)"
    else:
        crs = "WGS84 (EPSG:4326, the default for lon/lat columns)"
    column = {"villages": "kind", "stations": "kind", "incidents": "category"}.get(kind)
    kinds: dict[str, int] = {}
    if column and column in gdf.columns:
        counts = gdf[column].astype("string").fillna("(none)").value_counts()
        kinds = {str(k): int(v) for k, v in counts.items()}
    return LayerSummary(
        file=fspath(path),
        kind=kind,
        rows=len(gdf),
        located=int(ok.sum()),
        extent=extent,
        encoding=source.encoding if source is not None else None,
        crs=crs,
        kinds=kinds,
    )
