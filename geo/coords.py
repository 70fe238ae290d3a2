"""Coordinate helpers: WGS84 <-> GCJ-02 <-> BD-09, declared CRS -> WGS84, working UTM zone.

Chinese web maps (Amap/Gaode, Tencent, Google .cn) publish coordinates in GCJ-02, Baidu in
BD-09; both are deliberately distorted WGS84 longitude/latitude. GPS devices and OSM use
WGS84, official surveys CGCS2000 (EPSG:4490) or its Gauss-Krüger projections
(EPSG:4491-4554). Layers are brought to WGS84 here, then to a metric UTM zone
(:func:`utm_crs_for`) before anything is measured.

The GCJ-02 and BD-09 formulas are the widely published reverse-engineered ones (as in
googollee/eviltransform and wandergis/coordtransform): GCJ-02 on the Krasovsky semi-major
axis ``a = 6378245.0`` with ``ee = 0.00669342162296594323``, BD-09 a small polar twist
and shift on top of GCJ-02. Points outside the rough mainland-China box
72.004-137.8347 E, 0.8293-55.8271 N get no offset, as in those implementations; the box
edges are well away from Chinese land, so the jump there never matters. The inverse
directions have no closed form; they are solved here by a vectorised fixed-point
iteration to about 1e-10 degrees (~0.01 mm).

All functions are pure and vectorised: array-likes in (scalars work too, giving 0-d
arrays), new float64 arrays out. NaN coordinates (and None in object arrays) pass
through as NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pyproj
from pyproj.exceptions import CRSError

from geo.errors import CoordinateError

__all__ = [
    "CGCS2000",
    "WGS84",
    "CRSLike",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "parse_crs",
    "to_wgs84",
    "utm_crs_for",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
LonLat: TypeAlias = tuple[FloatArray, FloatArray]
ChinaCRS: TypeAlias = Literal["gcj02", "bd09"]
CRSLike: TypeAlias = str | int | pyproj.CRS
_Forward: TypeAlias = Callable[[FloatArray, FloatArray], LonLat]

WGS84: Final = pyproj.CRS.from_epsg(4326)
CGCS2000: Final = pyproj.CRS.from_epsg(4490)

# GCJ-02 constants: Krasovsky 1940 semi-major axis and the (WGS84-like) eccentricity squared
# used by every published implementation.
_A: Final = 6378245.0
_EE: Final = 0.00669342162296594323
# BD-09 angular frequency of its twist (pi * 3000 / 180).
_X_PI: Final = np.pi * 3000.0 / 180.0

_CHINA_LON: Final = (72.004, 137.8347)
_CHINA_LAT: Final = (0.8293, 55.8271)

# 1e-10 degrees is ~0.01 mm; the iteration contracts by a factor of ~1e-3 (GCJ-02) or
# ~2e-2 (BD-09) per step, so 4 steps suffice over the whole box and the cap is a guard.
_TOL_DEG: Final = 1e-10
_MAX_ITER: Final = 50

# Names accepted by parse_crs, after lower-casing and dropping "-", "_" and spaces.
_NAMED: Final[dict[str, ChinaCRS | pyproj.CRS]] = {
    "wgs84": WGS84,
    "gcj02": "gcj02",
    "bd09": "bd09",
    "cgcs2000": CGCS2000,
}


# --------------------------------------------------------------------------- input checks


def _as_float(values: npt.ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(values)
    # numpy would quietly turn booleans into 0/1 and numeric strings into floats; neither
    # is a coordinate.
    if arr.dtype.kind not in "iufO":
        msg = f"{name} must be numeric, got dtype {arr.dtype}"
        raise CoordinateError(msg)
    try:
        return np.array(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be numeric: {exc}"
        raise CoordinateError(msg) from exc


def _as_pair(x: npt.ArrayLike, y: npt.ArrayLike, names: tuple[str, str]) -> LonLat:
    """Return copies of ``x`` and ``y`` as float64 arrays broadcast to a common shape."""
    xa = _as_float(x, names[0])
    ya = _as_float(y, names[1])
    if xa.shape != ya.shape:
        try:
            shape = np.broadcast_shapes(xa.shape, ya.shape)
        except ValueError as exc:
            msg = f"{names[0]} shape {xa.shape} and {names[1]} shape {ya.shape} do not match"
            raise CoordinateError(msg) from exc
        # Copy so callers get writable arrays, not read-only broadcast views.
        xa = np.broadcast_to(xa, shape).copy()
        ya = np.broadcast_to(ya, shape).copy()
    return xa, ya


def _in_china(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    return (
        (lon >= _CHINA_LON[0])
        & (lon <= _CHINA_LON[1])
        & (lat >= _CHINA_LAT[0])
        & (lat <= _CHINA_LAT[1])
    )


# --------------------------------------------------------------------------- GCJ-02 / BD-09


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> LonLat:
    """Return the GCJ-02 offset (dlon, dlat) in degrees at WGS84 ``(lon, lat)``, no box test."""
    x = lon - 105.0
    y = lat - 35.0
    xpi = x * np.pi
    ypi = y * np.pi
    common = 20.0 * np.sin(6.0 * xpi) + 20.0 * np.sin(2.0 * xpi)
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (
        common
        + 20.0 * np.sin(ypi)
        + 40.0 * np.sin(ypi / 3.0)
        + 160.0 * np.sin(ypi / 12.0)
        + 320.0 * np.sin(ypi / 30.0)
    ) * (2.0 / 3.0)
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (
        common
        + 20.0 * np.sin(xpi)
        + 40.0 * np.sin(xpi / 3.0)
        + 150.0 * np.sin(xpi / 12.0)
        + 300.0 * np.sin(xpi / 30.0)
    ) * (2.0 / 3.0)
    # The formula yields metres-like numbers; scale by the meridian and parallel radii.
    radlat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _gcj_forward(lon: FloatArray, lat: FloatArray) -> LonLat:
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def _bd_forward(lon: FloatArray, lat: FloatArray) -> LonLat:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_backward_approx(lon: FloatArray, lat: FloatArray) -> LonLat:
    # The usual published closed-form "inverse": good to ~1e-6 degrees, used as the start.
    x = lon - 0.0065
    y = lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: _Forward,
    lon: FloatArray,
    lat: FloatArray,
    start: LonLat,
    what: str,
) -> LonLat:
    """Solve ``forward(p) == (lon, lat)`` for ``p`` by fixed-point iteration from ``start``.

    ``p <- p - (forward(p) - target)`` converges because ``forward`` is the identity plus
    an offset whose derivative is far below 1, so each step shrinks the error by that
    derivative; the whole array is iterated until every point has converged.
    """
    plon, plat = start
    for _ in range(_MAX_ITER):
        flon, flat = forward(plon, plat)
        step_lon = flon - lon
        step_lat = flat - lat
        plon = plon - step_lon
        plat = plat - step_lat
        if np.all(np.maximum(np.abs(step_lon), np.abs(step_lat)) < _TOL_DEG):
            return plon, plat
    bad = int(np.count_nonzero(np.maximum(np.abs(step_lon), np.abs(step_lat)) >= _TOL_DEG))
    msg = f"{what} did not converge for {bad} point(s) within {_MAX_ITER} iterations"
    raise CoordinateError(msg)


def _apply_in_china(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    transform: _Forward,
) -> LonLat:
    """Apply ``transform`` to the points inside the China box; copy the rest unchanged."""
    lon_a, lat_a = _as_pair(lon, lat, ("lon", "lat"))
    mask = _in_china(lon_a, lat_a)
    if mask.any():
        out_lon, out_lat = transform(lon_a[mask], lat_a[mask])
        lon_a[mask] = out_lon
        lat_a[mask] = out_lat
    return lon_a, lat_a


def _gcj_backward(lon: FloatArray, lat: FloatArray) -> LonLat:
    # Start from the one-step approximation most libraries stop at (error up to ~2 m).
    dlon, dlat = _gcj_offset(lon, lat)
    return _invert(_gcj_forward, lon, lat, (lon - dlon, lat - dlat), "GCJ-02 -> WGS84")


def _bd_backward(lon: FloatArray, lat: FloatArray) -> LonLat:
    return _invert(_bd_forward, lon, lat, _bd_backward_approx(lon, lat), "BD-09 -> GCJ-02")


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> LonLat:
    """Convert WGS84 longitude/latitude to GCJ-02 (Amap, Tencent, Google China).

    Parameters
    ----------
    lon, lat
        WGS84 degrees; any broadcast-compatible array-likes or scalars.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 ``(lon, lat)`` as new float64 arrays. Points outside the mainland-China
        box (72.004-137.8347 E, 0.8293-55.8271 N) are returned unchanged.

    Raises
    ------
    CoordinateError
        If the inputs are not numeric or their shapes do not broadcast.
    """
    return _apply_in_china(lon, lat, _gcj_forward)


def gcj02_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> LonLat:
    """Convert GCJ-02 longitude/latitude to WGS84 by iterating the forward transform.

    The result ``w`` satisfies ``wgs84_to_gcj02(w) == (lon, lat)`` to about 1e-10
    degrees, unlike the common one-step approximation which is off by up to ~2 m.

    Parameters
    ----------
    lon, lat
        GCJ-02 degrees; any broadcast-compatible array-likes or scalars.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 ``(lon, lat)`` as new float64 arrays; points outside the mainland-China box
        are returned unchanged. Within one offset (< 1 km) of the box edges, far from
        Chinese land, the round trip is not exact because the offset jumps there.

    Raises
    ------
    CoordinateError
        If the inputs are not numeric, their shapes do not broadcast, or the iteration
        does not converge.
    """
    return _apply_in_china(lon, lat, _gcj_backward)


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> LonLat:
    """Convert GCJ-02 longitude/latitude to BD-09 (Baidu Maps).

    Parameters
    ----------
    lon, lat
        GCJ-02 degrees; any broadcast-compatible array-likes or scalars.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 ``(lon, lat)`` as new float64 arrays; points outside the mainland-China
        box are returned unchanged.

    Raises
    ------
    CoordinateError
        If the inputs are not numeric or their shapes do not broadcast.
    """
    return _apply_in_china(lon, lat, _bd_forward)


def bd09_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> LonLat:
    """Convert BD-09 longitude/latitude to GCJ-02 by iterating the forward transform.

    Parameters
    ----------
    lon, lat
        BD-09 degrees; any broadcast-compatible array-likes or scalars.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 ``(lon, lat)`` as new float64 arrays; points outside the mainland-China
        box are returned unchanged.

    Raises
    ------
    CoordinateError
        If the inputs are not numeric, their shapes do not broadcast, or the iteration
        does not converge.
    """
    return _apply_in_china(lon, lat, _bd_backward)


def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> LonLat:
    """Convert WGS84 longitude/latitude to BD-09 (via GCJ-02).

    Parameters
    ----------
    lon, lat
        WGS84 degrees; any broadcast-compatible array-likes or scalars.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 ``(lon, lat)`` as new float64 arrays; points outside the mainland-China
        box are returned unchanged.

    Raises
    ------
    CoordinateError
        If the inputs are not numeric or their shapes do not broadcast.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> LonLat:
    """Convert BD-09 longitude/latitude to WGS84 (via GCJ-02), both steps iterated.

    Parameters
    ----------
    lon, lat
        BD-09 degrees; any broadcast-compatible array-likes or scalars.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 ``(lon, lat)`` as new float64 arrays; points outside the mainland-China
        box are returned unchanged.

    Raises
    ------
    CoordinateError
        If the inputs are not numeric, their shapes do not broadcast, or an iteration
        does not converge.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


# --------------------------------------------------------------------------- declared CRSs


def _check_usable(crs: pyproj.CRS, given: object) -> pyproj.CRS:
    # Geocentric, vertical or engineering CRSs have no meaningful lon/lat for a 2-D layer.
    if not (crs.is_geographic or crs.is_projected):
        msg = f"CRS {given!r} ({crs.name}) is neither geographic nor projected"
        raise CoordinateError(msg)
    return crs


def parse_crs(crs: CRSLike) -> ChinaCRS | pyproj.CRS:
    """Resolve a declared CRS so it can be validated before any data is read.

    Parameters
    ----------
    crs
        ``"wgs84"``, ``"gcj02"``, ``"bd09"`` or ``"cgcs2000"`` (case-insensitive; hyphens,
        underscores and spaces ignored, so ``"GCJ-02"`` and ``"WGS-84"`` work); an EPSG
        code such as ``4326``, ``4490``, ``4547`` or ``32650``; a string pyproj
        understands such as ``"EPSG:4547"``; or a :class:`pyproj.CRS`.

    Returns
    -------
    str or pyproj.CRS
        ``"gcj02"`` or ``"bd09"`` for the two Chinese obfuscated systems (which pyproj
        does not know), otherwise a geographic or projected :class:`pyproj.CRS`.

    Raises
    ------
    CoordinateError
        If ``crs`` has an unsupported type, cannot be parsed, or is neither geographic
        nor projected. The message names the offending value.
    """
    if isinstance(crs, pyproj.CRS):
        return _check_usable(crs, crs)
    # bool is an int subclass, but True is not EPSG:1.
    if isinstance(crs, bool) or not isinstance(crs, int | str):
        msg = f"unsupported CRS {crs!r} of type {type(crs).__name__}; use a name, EPSG or CRS"
        raise CoordinateError(msg)
    if isinstance(crs, str):
        key = crs.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
        if key in _NAMED:
            return _NAMED[key]
        if not key:
            msg = f"empty CRS {crs!r}"
            raise CoordinateError(msg)
    try:
        parsed = pyproj.CRS.from_epsg(crs) if isinstance(crs, int) else pyproj.CRS(crs)
    except CRSError as exc:
        msg = f"unknown CRS {crs!r}: {exc}"
        raise CoordinateError(msg) from exc
    return _check_usable(parsed, crs)


@lru_cache(maxsize=64)
def _transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    # Building a Transformer queries PROJ's database (~ms); layers reuse a handful of CRSs.
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def _project(x: FloatArray, y: FloatArray, src: pyproj.CRS, dst: pyproj.CRS) -> LonLat:
    if src == dst:
        return x, y
    out_x, out_y = _transformer(src, dst).transform(x, y)
    out_x = np.asarray(out_x, dtype=np.float64)
    out_y = np.asarray(out_y, dtype=np.float64)
    # PROJ signals points it cannot transform with inf; a finite input must not vanish.
    finite_in = np.isfinite(x) & np.isfinite(y)
    lost = finite_in & ~(np.isfinite(out_x) & np.isfinite(out_y))
    if lost.any():
        first = int(np.flatnonzero(lost)[0])
        msg = (
            f"{int(lost.sum())} point(s) cannot be transformed from {src.name!r} to "
            f"{dst.name!r}, first ({float(x.flat[first])}, {float(y.flat[first])})"
        )
        raise CoordinateError(msg)
    out_x[~finite_in] = np.nan
    out_y[~finite_in] = np.nan
    return out_x.reshape(x.shape), out_y.reshape(y.shape)


def to_wgs84(x: npt.ArrayLike, y: npt.ArrayLike, crs: CRSLike) -> LonLat:
    """Convert coordinates declared in ``crs`` to WGS84 longitude/latitude.

    Parameters
    ----------
    x, y
        Easting/northing for projected CRSs, longitude/latitude (in that order, whatever
        the CRS's official axis order) for geographic ones.
    crs
        The declared CRS; see :func:`parse_crs` for the accepted forms. CGCS2000 and
        projected CRSs go through pyproj; GCJ-02 and BD-09 through the inverse
        transforms of this module.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 ``(lon, lat)`` as new float64 arrays; NaN inputs stay NaN.

    Raises
    ------
    CoordinateError
        If ``crs`` is invalid, the inputs are not numeric or do not broadcast, or PROJ
        cannot transform a finite point.
    """
    target = parse_crs(crs)
    if isinstance(target, str):
        return gcj02_to_wgs84(x, y) if target == "gcj02" else bd09_to_wgs84(x, y)
    xa, ya = _as_pair(x, y, ("x", "y"))
    return _project(xa, ya, target, WGS84)


def from_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: CRSLike) -> LonLat:
    """Convert WGS84 longitude/latitude to coordinates in ``crs`` (inverse of `to_wgs84`).

    Handy for exporting GCJ-02 for Chinese web maps or CGCS2000 Gauss-Krüger for
    official reports.

    Parameters
    ----------
    lon, lat
        WGS84 degrees.
    crs
        The output CRS; see :func:`parse_crs` for the accepted forms.

    Returns
    -------
    tuple of numpy.ndarray
        ``(x, y)`` in ``crs`` (longitude first for geographic CRSs) as new float64 arrays.

    Raises
    ------
    CoordinateError
        If ``crs`` is invalid, the inputs are not numeric or do not broadcast, or PROJ
        cannot transform a finite point.
    """
    target = parse_crs(crs)
    if isinstance(target, str):
        return wgs84_to_gcj02(lon, lat) if target == "gcj02" else wgs84_to_bd09(lon, lat)
    lon_a, lat_a = _as_pair(lon, lat, ("lon", "lat"))
    return _project(lon_a, lat_a, WGS84, target)


# --------------------------------------------------------------------------- working CRS


def utm_crs_for(lon: npt.ArrayLike, lat: npt.ArrayLike) -> pyproj.CRS:
    """Return the WGS84 UTM zone CRS containing the median of the given points.

    Uses the regular 6-degree grid (the Norway/Svalbard exceptions do not matter for a
    metric working CRS). Wuhan (114.3 E, 30.6 N) gives EPSG:32650.

    Parameters
    ----------
    lon, lat
        WGS84 degrees; the coordinate-wise median picks the zone, so a few stray points
        do not move it.

    Returns
    -------
    pyproj.CRS
        EPSG:326zz in the northern hemisphere (median latitude >= 0), EPSG:327zz south.

    Raises
    ------
    CoordinateError
        If there are no points, any value is not finite, a value is out of range, or the
        median latitude is beyond UTM's 80 S - 84 N.
    """
    lon_a, lat_a = _as_pair(lon, lat, ("lon", "lat"))
    if lon_a.size == 0:
        msg = "cannot choose a UTM zone for zero points"
        raise CoordinateError(msg)
    bad = ~(np.isfinite(lon_a) & np.isfinite(lat_a))
    if bad.any():
        msg = f"cannot choose a UTM zone: {int(bad.sum())} non-finite coordinate(s)"
        raise CoordinateError(msg)
    if np.any(np.abs(lon_a) > 180.0) or np.any(np.abs(lat_a) > 90.0):
        msg = "cannot choose a UTM zone: lon must be in [-180, 180] and lat in [-90, 90]"
        raise CoordinateError(msg)
    mlon = float(np.median(lon_a))
    mlat = float(np.median(lat_a))
    if not -80.0 <= mlat <= 84.0:
        msg = f"median latitude {mlat:.4f} is outside UTM's 80 S - 84 N"
        raise CoordinateError(msg)
    # lon = 180 falls in zone 60, not a non-existent zone 61.
    zone = min(int((mlon + 180.0) // 6.0) + 1, 60)
    base = 32600 if mlat >= 0.0 else 32700
    return pyproj.CRS.from_epsg(base + zone)
