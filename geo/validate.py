"""The checks every public entry shares: numbers, CRSs and point layers.

Each check names the parameter or layer in its message and raises the caller's own
error class (``error=``), so a bad ``spacing_m`` is a :class:`~geo.errors.LightingError`
and a bad ``cell_size`` a :class:`~geo.errors.HotspotError`, with the same wording.

One CRS rule holds across the engine: a layer handed to an analysis must already be in
the CRS of the area or network it is measured on (:func:`same_crs`); only area loading
(:mod:`geo.area`) and the map builders (:mod:`maps`) reproject, on purpose. Silent
reprojection would hide a layer read with the wrong CRS until its numbers looked odd.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import shapely

from geo.errors import PinganError

__all__ = [
    "choice",
    "count",
    "fraction",
    "metric_crs",
    "non_negative",
    "point_xy",
    "positive",
    "same_crs",
    "weights",
]

ErrorType = type[PinganError]


def _number(name: str, value: object, error: ErrorType, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        what = f"a number of {unit}" if unit else "a number"
        msg = f"{name} must be {what}, got {value!r}"
        raise error(msg)
    return float(value)


def positive(name: str, value: object, error: ErrorType = PinganError, *, unit: str = "") -> float:
    """Return ``value`` as a finite float > 0, or raise naming ``name``."""
    v = _number(name, value, error, unit)
    if not (math.isfinite(v) and v > 0):
        what = f"a positive number of {unit}" if unit else "positive and finite"
        msg = f"{name} must be {what}, got {value!r}"
        raise error(msg)
    return v


def non_negative(
    name: str, value: object, error: ErrorType = PinganError, *, unit: str = ""
) -> float:
    """Return ``value`` as a finite float >= 0, or raise naming ``name``."""
    v = _number(name, value, error, unit)
    if not (math.isfinite(v) and v >= 0):
        msg = f"{name} must be a non-negative number, got {value!r}"
        raise error(msg)
    return v


def fraction(
    name: str,
    value: object,
    error: ErrorType = PinganError,
    *,
    open_low: bool = True,
    open_high: bool = False,
) -> float:
    """Return ``value`` as a float in (0, 1] (bounds configurable), or raise."""
    v = _number(name, value, error, "")
    low_ok = v > 0 if open_low else v >= 0
    high_ok = v < 1 if open_high else v <= 1
    if not (math.isfinite(v) and low_ok and high_ok):
        lo = "(0" if open_low else "[0"
        hi = "1)" if open_high else "1]"
        msg = f"{name} must lie in {lo}, {hi}, got {value!r}"
        raise error(msg)
    return v


def count(
    name: str,
    value: object,
    error: ErrorType = PinganError,
    *,
    low: int = 0,
    high: int | None = None,
) -> int:
    """Return ``value`` as an int in ``[low, high]``, or raise (a bool is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        msg = f"{name} must be a whole number, got {value!r}"
        raise error(msg)
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        msg = f"{name} must be {bounds}, got {value}"
        raise error(msg)
    return int(value)


def choice(
    name: str, value: object, allowed: tuple[str, ...], error: ErrorType = PinganError
) -> str:
    """Return ``value`` if it is one of ``allowed``, or raise listing them."""
    if not isinstance(value, str) or value not in allowed:
        msg = f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}"
        raise error(msg)
    return value


def weights(
    name: str, value: npt.ArrayLike, n: int, error: ErrorType = PinganError, *, against: str = ""
) -> npt.NDArray[np.float64]:
    """Return ``value`` as a float vector of length ``n``, finite and >= 0, or raise.

    ``against`` says what the length must match ("times", "the columns of cover").
    """
    try:
        w = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be a numeric array of shape ({n},): {exc}"
        raise error(msg) from exc
    if w.shape != (n,):
        to = f" to match {against}" if against else ""
        msg = f"{name} must have shape ({n},){to}, got {w.shape}"
        raise error(msg)
    if not np.all(np.isfinite(w)):
        msg = f"{name} must be finite (no NaN or inf)"
        raise error(msg)
    if np.any(w < 0):
        msg = f"{name} must be >= 0, got min {np.min(w):g} at index {int(np.argmin(w))}"
        raise error(msg)
    return w


def metric_crs(crs: object, what: str, error: ErrorType = PinganError) -> pyproj.CRS:
    """Return ``crs`` as a projected CRS in metres, or raise: distances must be metric."""
    if crs is None:
        msg = f"{what} have no CRS; distances need a projected CRS in metres"
        raise error(msg)
    parsed = pyproj.CRS.from_user_input(crs)
    if parsed.is_geographic:
        msg = (
            f"{what} are in a geographic CRS ({parsed.name}, degrees); reproject them to a "
            "projected CRS in metres (e.g. their UTM zone) first"
        )
        raise error(msg)
    units = {(a.unit_name or "").lower() for a in parsed.axis_info}
    if not units or not units <= {"metre", "meter", "m"}:
        msg = f"{what} use a CRS in {', '.join(sorted(units)) or 'unknown units'}, not metres"
        raise error(msg)
    return parsed


def same_crs(
    layer: gpd.GeoDataFrame | gpd.GeoSeries,
    crs: pyproj.CRS,
    what: str,
    error: ErrorType = PinganError,
) -> None:
    """Raise unless ``layer`` is a GeoDataFrame/GeoSeries in exactly ``crs``.

    The message says how to fix it: read the layer through the area, or reproject it.
    """
    if not isinstance(layer, gpd.GeoDataFrame | gpd.GeoSeries):
        msg = f"{what} must be a GeoDataFrame or GeoSeries, got {type(layer).__name__}"
        raise error(msg)
    if layer.crs is None:
        msg = f"{what} layer has no CRS; read it through the area (or with to_crs=the area's CRS)"
        raise error(msg)
    if not pyproj.CRS.from_user_input(layer.crs).equals(crs):
        msg = (
            f"{what} layer is in {layer.crs.to_string()}, the area in {crs.to_string()}; "
            "reproject it (to_crs=the area's CRS) or read it through the area"
        )
        raise error(msg)


def point_xy(
    geometry: gpd.GeoSeries | npt.ArrayLike, what: str, error: ErrorType = PinganError
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Return x, y of a point layer; polygons are represented by a point inside them.

    Raises naming the first row with no geometry or a line.
    """
    geom: Any = np.asarray(
        geometry.array if isinstance(geometry, gpd.GeoSeries) else geometry, dtype=object
    )
    kinds = shapely.get_type_id(geom)
    missing = (kinds < 0) | shapely.is_empty(geom)
    if missing.any():
        rows = np.flatnonzero(missing)[:5].tolist()
        msg = f"{what} have rows without geometry (rows {rows}); every row needs a point"
        raise error(msg)
    lines = np.isin(kinds, (1, 2, 5))
    if lines.any():
        first = int(np.flatnonzero(lines)[0])
        msg = f"{what} must be points or areas; row {first} holds a line"
        raise error(msg)
    pts = geom
    areas = kinds != 0
    if areas.any():
        # Only areas need a point inside them; most layers are points, and this is costly.
        pts = geom.copy()
        pts[areas] = shapely.point_on_surface(geom[areas])
    x = np.asarray(shapely.get_x(pts), dtype=np.float64)
    y = np.asarray(shapely.get_y(pts), dtype=np.float64)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        msg = f"{what} include non-finite coordinates"
        raise error(msg)
    return x, y
