"""Place a layer: its geometry from coordinate columns or the file, checked and projected.

Every layer passes through WGS84 (its ``lon``/``lat`` output columns) on its way to the
working metric CRS. GCJ-02 and BD-09 input goes through :func:`geo.coords.to_wgs84`; a
vector file's stored CRS must agree with a declared one. Each point that cannot be
placed is reported by row and column; a layer with any such point is not placed at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import shapely

from geo.coords import WGS84, CRSLike, from_wgs84, parse_crs, to_wgs84, utm_crs_for
from geo.errors import CoordinateError
from geo.layers.columns import numbers
from geo.layers.report import Report
from geo.layers.sources import Source

__all__ = ["COORD_ALIASES", "Placed", "place"]

FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
IntArray: TypeAlias = npt.NDArray[np.int64]
GeomArray: TypeAlias = npt.NDArray[np.object_]
_SourceCRS: TypeAlias = Literal["gcj02", "bd09"] | pyproj.CRS

#: Headers of CSV coordinate columns, canonical name first (matched like other headers).
COORD_ALIASES: Final = {
    "lon": ("lon", "longitude", "lng", "long", "经度"),
    "lat": ("lat", "latitude", "纬度"),
    "x": ("x", "easting"),
    "y": ("y", "northing"),
}

_GEOM_NAMES: Final = (
    "Point",
    "LineString",
    "LinearRing",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
)

# The box geo.coords applies GCJ-02/BD-09 offsets in; outside it those CRSs are undefined.
_CHINA_LON: Final = (72.004, 137.8347)
_CHINA_LAT: Final = (0.8293, 55.8271)
# A projected point whose WGS84 image does not map back within this many metres lies
# outside the projection's domain (PROJ silently wraps such points).
_ROUND_TRIP_M: Final = 1.0


@dataclass
class _Geo:
    """A layer's source vertices, with where they came from for precise problem messages.

    Coordinates travel as vertex arrays and geometries are built once, at the end: making
    a shapely object costs more than transforming its coordinates.
    """

    n: int
    coords: FloatArray  # (m, 2) vertices in the source CRS
    index: IntArray  # (m,) ascending row of each vertex
    template: GeomArray | None  # per-row geometries to refill; None: one point per row
    crs: _SourceCRS | None
    x_column: str = "geometry"
    y_column: str = "geometry"

    @classmethod
    def empty(cls, n: int, crs: _SourceCRS) -> _Geo:
        return cls(n, np.zeros((0, 2)), np.zeros(0, dtype=np.int64), None, crs)


def _crs_label(crs: _SourceCRS) -> str:
    if isinstance(crs, str):
        return crs.upper().replace("GCJ02", "GCJ-02").replace("BD09", "BD-09")
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else crs.name


def _points_from_columns(
    source: Source,
    cols: Mapping[str, str],
    declared: _SourceCRS | None,
    require_geometry: bool,
    report: Report,
) -> _Geo | None:
    """Read points from CSV coordinate columns, reporting each bad cell by its column.

    A declared projected CRS reads ``x``/``y``; otherwise ``lon``/``lat`` are preferred
    and ``x``/``y`` (which then need a declared CRS) are the fallback.
    """
    table = source.table
    n = len(table)
    projected = isinstance(declared, pyproj.CRS) and bool(declared.is_projected)
    has_lonlat = "lon" in cols or "lat" in cols
    has_xy = "x" in cols or "y" in cols
    if isinstance(declared, pyproj.CRS) and projected and not has_xy and has_lonlat:
        report.add(
            f"crs {declared.name!r} is projected but the file has lon/lat columns, "
            "not x/y; declare the CRS the lon/lat values are in",
            column=cols.get("lon", cols.get("lat")),
        )
        return None
    pair = ("x", "y") if projected or not has_lonlat else ("lon", "lat")
    present = [c for c in pair if c in cols]
    if not present:
        if require_geometry:
            shown = ", ".join(repr(h) for h in table.columns) or "none"
            report.add(
                "no coordinate columns: expected lon/lat (or longitude/latitude, lng, "
                f"经度/纬度) or x/y with --crs; found columns: {shown}"
            )
            return None
        return _Geo.empty(n, declared or WGS84)
    if len(present) == 1:
        lacking = pair[1] if present[0] == pair[0] else pair[0]
        report.add(f"column {cols[present[0]]!r} has no partner column {lacking!r}", column=lacking)
        return None
    x_col, y_col = cols[pair[0]], cols[pair[1]]
    crs: _SourceCRS | None = declared
    if declared is None:
        if pair[0] == "lon":
            crs = WGS84
        else:
            report.add(
                f"columns {x_col!r}/{y_col!r} hold coordinates in an undeclared CRS; "
                "pass --crs (e.g. --crs EPSG:4547 or --crs cgcs2000)",
                column=x_col,
            )
    xs, x_missing, x_bad = numbers(table[x_col])
    ys, y_missing, y_bad = numbers(table[y_col])
    for col, arr, missing, bad, values in (
        (x_col, xs, x_missing, x_bad, table[x_col].tolist()),
        (y_col, ys, y_missing, y_bad, table[y_col].tolist()),
    ):
        if require_geometry:
            report.flag(missing, col, "coordinate is missing")
        else:
            # Without required geometry a row may lack both coordinates, not just one.
            report.flag(missing & ~(x_missing & y_missing), col, "coordinate is missing")
        report.flag_values(bad, col, "cannot parse {value!r} as a number", values)
        report.flag_values(
            ~missing & ~bad & ~np.isfinite(arr), col, "coordinate {value!r} is not finite", values
        )
    rows = np.flatnonzero(np.isfinite(xs) & np.isfinite(ys))
    return _Geo(n, np.column_stack([xs[rows], ys[rows]]), rows, None, crs, x_col, y_col)


def _same_crs(a: pyproj.CRS, b: pyproj.CRS) -> bool:
    return bool(a.equals(b, ignore_axis_order=True))


def _file_crs(
    stored: pyproj.CRS | None, declared: _SourceCRS | None, report: Report
) -> _SourceCRS | None:
    """Reconcile a vector file's stored CRS with the declared one; None if they clash."""
    if declared is None:
        if stored is None:
            report.add("file has no CRS (a shapefile without .prj?); pass crs= (--crs)")
        return stored
    if isinstance(declared, str):
        # GIS tools store GCJ-02/BD-09 data as plain EPSG:4326; nothing else can hold it.
        if stored is not None and not _same_crs(stored, WGS84):
            report.add(
                f"file CRS {_crs_label(stored)} disagrees with declared crs "
                f"{_crs_label(declared)} (GCJ-02/BD-09 data must be stored as EPSG:4326)"
            )
            return None
        return declared
    if stored is not None and not _same_crs(stored, declared):
        report.add(
            f"file CRS {_crs_label(stored)} disagrees with declared crs {_crs_label(declared)}"
        )
        return None
    return declared


def _geometry_from_file(
    source: Source,
    declared: _SourceCRS | None,
    allowed: frozenset[int],
    kind: str,
    require_geometry: bool,
    report: Report,
) -> _Geo | None:
    n = len(source.table)
    if source.geometry is None:
        if require_geometry:
            report.add("file has no geometry")
            return None
        return _Geo.empty(n, declared or WGS84)
    geoms = shapely.force_2d(source.geometry)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    broken = source.broken if source.broken is not None else np.zeros(n, dtype=bool)
    if require_geometry:
        # A broken geometry was reported when the file was read; do not call it missing.
        report.flag(missing & ~broken, "geometry", "geometry is missing or empty")
    type_ids = shapely.get_type_id(geoms)
    wrong = ~missing & ~np.isin(type_ids, list(allowed))
    expected = " or ".join(_GEOM_NAMES[t] for t in sorted(allowed))
    report.flag(
        wrong,
        "geometry",
        lambda i: f"geometry is a {_GEOM_NAMES[type_ids[i]]}; {kind} need {expected}",
    )
    polygonal = ~missing & ~wrong & np.isin(type_ids, (3, 6))
    invalid = np.zeros(n, dtype=bool)
    invalid[polygonal] = ~shapely.is_valid(geoms[polygonal])
    report.flag(
        invalid,
        "geometry",
        lambda i: (
            f"polygon is not valid ({shapely.is_valid_reason(geoms[i])}); repair it, e.g. "
            "with shapely.make_valid or QGIS's Fix geometries, so that its area and the "
            "points inside it mean something"
        ),
    )
    usable = geoms.copy()
    usable[missing | wrong | invalid] = None
    coords, index = shapely.get_coordinates(usable, return_index=True)
    crs = _file_crs(source.stored_crs, declared, report)
    return _Geo(n, coords, index.astype(np.int64), usable, crs)


def _convert(
    x: FloatArray, y: FloatArray, crs: _SourceCRS, *, inverse: bool = False
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Convert ``crs`` -> WGS84 (``inverse``: WGS84 -> ``crs``), tolerating bad points.

    Returns the converted coordinates (NaN where refused) and the refused mask. The
    geo.coords functions raise on the first point they cannot map; the culprits are then
    found in one vectorised PROJ pass (which marks them with inf), or for GCJ-02/BD-09
    by bisection.
    """
    src: CRSLike = crs

    def convert(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
        return from_wgs84(a, b, src) if inverse else to_wgs84(a, b, src)

    refused = np.zeros(x.size, dtype=bool)
    out_x = np.full(x.size, np.nan)
    out_y = np.full(x.size, np.nan)
    try:
        out_x[:], out_y[:] = convert(x, y)
        return out_x, out_y, refused
    except CoordinateError:
        pass
    stack = [(0, x.size)]
    if isinstance(crs, pyproj.CRS):
        pair = (WGS84, crs) if inverse else (crs, WGS84)
        transformer = pyproj.Transformer.from_crs(*pair, always_xy=True)
        tx, ty = transformer.transform(x, y, errcheck=False)
        refused = ~(np.isfinite(tx) & np.isfinite(ty)) & np.isfinite(x) & np.isfinite(y)
        ok = ~refused
        try:
            out_x[ok], out_y[ok] = convert(x[ok], y[ok])
            return out_x, out_y, refused
        except CoordinateError:
            refused[:] = False
    while stack:
        lo, hi = stack.pop()
        try:
            out_x[lo:hi], out_y[lo:hi] = convert(x[lo:hi], y[lo:hi])
        except CoordinateError:
            if hi - lo == 1:
                refused[lo] = True
            else:
                mid = (lo + hi) // 2
                stack.extend([(lo, mid), (mid, hi)])
    return out_x, out_y, refused


def _rows_with(flags: BoolArray, index: IntArray, n: int) -> tuple[BoolArray, IntArray]:
    """Return which rows have a flagged vertex, and each such row's first flagged vertex."""
    vertices = np.flatnonzero(flags)
    rows, first = np.unique(index[vertices], return_index=True)
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    where = np.full(n, -1, dtype=np.int64)
    where[rows] = vertices[first]
    return mask, where


def _check_to_wgs84(geo: _Geo, crs: _SourceCRS, report: Report) -> tuple[FloatArray, BoolArray]:
    """Check the source vertices and convert them to WGS84.

    Returns the (m, 2) WGS84 vertices (NaN in bad rows) and the mask of bad rows.
    """
    n, index = geo.n, geo.index
    x, y = geo.coords[:, 0], geo.coords[:, 1]
    finite = np.isfinite(x) & np.isfinite(y)
    bad, _ = _rows_with(~finite, index, n)
    report.flag(bad, geo.x_column, "geometry has a non-finite coordinate")
    # (0, 0) is what a blank location becomes in many exports, not a place in the area.
    zero, _ = _rows_with(finite & (x == 0.0) & (y == 0.0), index, n)
    zero &= ~bad
    report.flag(
        zero,
        geo.x_column,
        "position (0, 0) is a placeholder for an unknown location, not a place; leave "
        "both coordinates empty or give the real ones",
    )
    bad |= zero
    label = _crs_label(crs)
    geographic = isinstance(crs, str) or bool(crs.is_geographic)
    if geographic:
        bad_lon, at_lon = _rows_with(finite & (np.abs(x) > 180.0), index, n)
        bad_lat, at_lat = _rows_with(finite & (np.abs(y) > 90.0), index, n)
        report.flag(
            bad_lon & ~bad,
            geo.x_column,
            lambda i: f"longitude {float(x[at_lon[i]])!r} is outside [-180, 180]",
        )
        report.flag(
            bad_lat & ~bad,
            geo.y_column,
            lambda i: f"latitude {float(y[at_lat[i]])!r} is outside [-90, 90]",
        )
        bad |= bad_lon | bad_lat
    if isinstance(crs, str):
        in_box = (
            (x >= _CHINA_LON[0])
            & (x <= _CHINA_LON[1])
            & (y >= _CHINA_LAT[0])
            & (y <= _CHINA_LAT[1])
        )
        outside, at_out = _rows_with(finite & ~in_box, index, n)
        outside &= ~bad
        report.flag(
            outside,
            geo.x_column,
            lambda i: (
                f"position ({float(x[at_out[i]])!r}, {float(y[at_out[i]])!r}) is outside "
                f"China, where {label} is undefined"
            ),
        )
        bad |= outside
    ok = ~bad[index]
    wgs = np.full((x.size, 2), np.nan)
    lon, lat, refused = _convert(x[ok], y[ok], crs)
    wgs[ok, 0], wgs[ok, 1] = lon, lat
    failed = np.zeros(x.size, dtype=bool)
    failed[np.flatnonzero(ok)[refused]] = True
    if not geographic:
        # Far outside its domain a projection wraps instead of failing: check the way back.
        back_x, back_y, back_refused = _convert(lon, lat, crs, inverse=True)
        drift = np.hypot(back_x - x[ok], back_y - y[ok])
        failed[np.flatnonzero(ok)[back_refused | ~(drift <= _ROUND_TRIP_M)]] = True
    not_mapped, at_nm = _rows_with(failed, index, n)
    not_mapped &= ~bad
    report.flag(
        not_mapped,
        geo.x_column,
        lambda i: (
            f"position ({float(x[at_nm[i]])!r}, {float(y[at_nm[i]])!r}) cannot be transformed "
            f"from {label} to WGS84 (outside the CRS's area?)"
        ),
    )
    bad |= not_mapped
    wgs[bad[index]] = np.nan
    return wgs, bad


def _working_crs(to_crs: CRSLike | None, report: Report) -> pyproj.CRS | None | bool:
    """Parse ``to_crs``; ``None`` means "choose a UTM zone", ``False`` an invalid value."""
    if to_crs is None:
        return None
    try:
        parsed = parse_crs(to_crs)
    except CoordinateError as exc:
        report.add(f"invalid to_crs: {exc}")
        return False
    if isinstance(parsed, str) or not parsed.is_projected:
        report.add(
            f"to_crs {to_crs!r} is not a projected (metric) CRS; distances in degrees "
            "are meaningless (use e.g. EPSG:32650 or leave to_crs unset)"
        )
        return False
    return parsed


def _declared_crs(crs: CRSLike | None, report: Report) -> _SourceCRS | None | bool:
    if crs is None:
        return None
    try:
        return parse_crs(crs)
    except CoordinateError as exc:
        report.add(f"invalid crs: {exc}")
        return False


def _refill(geo: _Geo, rows: BoolArray, coords: FloatArray) -> GeomArray:
    """Return geometries for ``rows`` with the (row-ordered) vertices ``coords``."""
    if geo.template is None:
        return np.asarray(shapely.points(coords), dtype=object)
    geoms = geo.template[rows]  # fancy indexing copies, so the template stays intact
    shapely.set_coordinates(geoms, coords)
    return geoms


@dataclass
class Placed:
    """A placed layer: WGS84 ``lon``/``lat`` per row, geometries in the working CRS."""

    lon: FloatArray
    lat: FloatArray
    geometry: gpd.GeoSeries


def place(
    source: Source,
    cols: Mapping[str, str],
    *,
    kind: str,
    crs: CRSLike | None,
    to_crs: CRSLike | None,
    allowed: frozenset[int],
    require_geometry: bool,
    report: Report,
) -> Placed | None:
    """Locate, check and project the layer's geometries; None if anything is wrong.

    Parameters
    ----------
    source
        The file as read.
    cols
        Canonical names (``lon``, ``lat``, ``x``, ``y``) to the CSV's headers.
    kind
        The layer's name for messages ("villages", ...).
    crs
        CRS the coordinates are declared in; None: the file's own, or WGS84 for CSV
        ``lon``/``lat``.
    to_crs
        Working (projected) CRS; None: the UTM zone of the layer's points.
    allowed
        Shapely type ids of the geometries a vector file may hold.
    require_geometry
        Whether every row needs a geometry.
    report
        Collects every problem found.

    Returns
    -------
    Placed or None
        None when the CRSs are invalid or any row cannot be placed.
    """
    declared = _declared_crs(crs, report)
    working = _working_crs(to_crs, report)
    if declared is False or working is False:
        return None
    assert not isinstance(declared, bool) and not isinstance(working, bool)
    if source.vector:
        geo = _geometry_from_file(source, declared, allowed, kind, require_geometry, report)
    else:
        geo = _points_from_columns(source, cols, declared, require_geometry, report)
    if geo is None or geo.crs is None:
        return None
    wgs, bad = _check_to_wgs84(geo, geo.crs, report)
    n, index = geo.n, geo.index
    keep = ~bad[index]
    rows = (np.bincount(index, minlength=n) > 0) & ~bad
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if geo.template is None:
        lon[index[keep]], lat[index[keep]] = wgs[keep, 0], wgs[keep, 1]
    else:
        # Polygons are represented by a point guaranteed inside them, for snapping and labels.
        anchors = shapely.point_on_surface(_refill(geo, rows, wgs[keep]))
        lon[rows], lat[rows] = shapely.get_x(anchors), shapely.get_y(anchors)
    if working is None:
        if not rows.any():
            working = WGS84
        else:
            try:
                working = utm_crs_for(lon[rows], lat[rows])
            except CoordinateError as exc:
                report.add(f"cannot choose a working CRS: {exc}")
                return None
    wx, wy, refused = _convert(wgs[keep, 0], wgs[keep, 1], working, inverse=True)
    lost, _ = _rows_with(refused | ~(np.isfinite(wx) & np.isfinite(wy)), index[keep], n)
    label = _crs_label(working)
    report.flag(
        lost,
        geo.x_column,
        lambda i: f"position ({float(lon[i])!r}, {float(lat[i])!r}) cannot be projected to {label}",
    )
    if bad.any() or lost.any():
        return None
    geoms = np.full(n, None, dtype=object)
    geoms[rows] = _refill(geo, rows, np.column_stack([wx, wy]))
    return Placed(lon=lon, lat=lat, geometry=gpd.GeoSeries(geoms, crs=working))
