"""Small vector helpers in the local metric frame, and the conversion to WGS84."""

from __future__ import annotations

import math

import numpy as np
import shapely
from numpy.typing import NDArray

from geo.sample.frame import LAT0, LON0, X_HALF, Y_HALF

__all__ = [
    "FloatArray",
    "IntArray",
    "along_polyline",
    "bend",
    "curve",
    "direction",
    "gaps",
    "polyline_length",
    "ray_to_box",
    "rotate",
    "segment_lines",
    "to_lonlat",
    "unit",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_WGS84_A = 6378137.0
_WGS84_E2 = 6.69437999014e-3


def to_lonlat(xy: FloatArray) -> FloatArray:
    """Convert local metric coordinates to WGS84 lon/lat, rounded to 7 decimals."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    s0 = math.sin(math.radians(LAT0))
    m0 = _WGS84_A * (1 - _WGS84_E2) / (1 - _WGS84_E2 * s0 * s0) ** 1.5
    lat = LAT0 + np.degrees(xy[:, 1] / m0)
    lat_r = np.radians(lat)
    # Each point uses the prime-vertical radius at its own latitude, so east-west
    # distances stay true across the 16 km of the box.
    n = _WGS84_A / np.sqrt(1 - _WGS84_E2 * np.sin(lat_r) ** 2)
    lon = LON0 + np.degrees(xy[:, 0] / (n * np.cos(lat_r)))
    return np.round(np.column_stack([lon, lat]), 7)


def unit(v: FloatArray) -> FloatArray:
    """Return ``v`` scaled to length 1."""
    return np.asarray(v / np.linalg.norm(v), dtype=np.float64)


def rotate(v: FloatArray, angle: float) -> FloatArray:
    """Return ``v`` rotated anticlockwise by ``angle`` radians."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def direction(angle: float) -> FloatArray:
    """Return the unit vector at ``angle`` radians from the x axis."""
    return np.array([math.cos(angle), math.sin(angle)])


def ray_to_box(p: FloatArray, d: FloatArray, margin: float = 15.0) -> FloatArray:
    """Return where the ray from ``p`` along ``d`` leaves the (inset) district box."""
    lim = np.array([X_HALF - margin, Y_HALF - margin])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(d > 0, (lim - p) / d, np.where(d < 0, (-lim - p) / d, np.inf))
    return np.asarray(p + d * float(t.min()), dtype=np.float64)


def gaps(angles: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return start angles and widths of the angular gaps between directions, widest first."""
    a = np.sort(np.mod(angles, 2 * np.pi))
    if a.size == 0:
        return np.zeros(1), np.full(1, 2 * np.pi)
    widths = np.diff(np.append(a, a[0] + 2 * np.pi))
    order = np.argsort(-widths, kind="stable")
    return a[order], widths[order]


def curve(p: FloatArray, q: FloatArray, coef: FloatArray, spacing: float) -> FloatArray:
    """Return the interior shape points of a gently bent road from ``p`` to ``q``.

    The lateral offset is a short sine series that vanishes at both ends, so the road
    leaves each junction close to its chord direction.
    """
    d = q - p
    length = float(np.hypot(d[0], d[1]))
    n = max(1, math.ceil(length / spacing))
    t = np.arange(1, n) / n
    harmonics = np.array([1.0, 2.0, 3.0, 5.0])
    lateral = length * (np.sin(np.pi * np.outer(t, harmonics)) @ coef)
    normal = np.array([-d[1], d[0]]) / length
    return np.asarray(p + np.outer(t, d) + np.outer(lateral, normal), dtype=np.float64)


# The sine series of :func:`bend` at 41 points along a road, computed once: thousands of
# lanes are bent, and the table is the same for all.
_BEND_TABLE = np.sin(np.pi * np.outer(np.linspace(0.0, 1.0, 41), [1.0, 2.0, 3.0, 5.0]))


def bend(rng: np.random.Generator, length: float, wiggle: float) -> FloatArray:
    """Draw sine-series coefficients of a gentle bend, capped at 12 % of the chord."""
    coef = rng.normal(0.0, [0.05, 0.025, 0.012, 0.004]) * wiggle
    peak = float(np.abs(_BEND_TABLE @ coef).max())
    cap = min(0.12, 250.0 / max(length, 1.0))
    if peak > cap:
        coef *= cap / peak
    return np.asarray(coef, dtype=np.float64)


def segment_lines(segs: FloatArray) -> NDArray[np.object_]:
    """Return one shapely LineString per ``(2, 2)`` segment of ``segs``."""
    return np.asarray(shapely.linestrings(segs), dtype=object)


def polyline_length(c: FloatArray) -> float:
    """Return the length of polyline ``c``."""
    return float(np.hypot(*np.diff(c, axis=0).T).sum())


def along_polyline(c: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return points at arc lengths ``s`` along polyline ``c`` and the unit tangents there."""
    seg = np.diff(c, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    pts = np.column_stack([np.interp(s, cum, c[:, 0]), np.interp(s, cum, c[:, 1])])
    k = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(seg_len) - 1)
    return pts, seg[k] / seg_len[k, None]
