"""Select incidents by date range, hour of day, category and area.

The hour window may cross midnight. :func:`in_hour_window` is the one place the product
decides what "at night" means; :mod:`geo.lighting` uses it too.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.errors import HotspotError
from geo.hotspots._checks import AreaLike, BoolArray, area_geometry, incident_xy

__all__ = ["ClockLike", "TimeLike", "filter_incidents", "in_hour_window"]

TimeLike: TypeAlias = str | dt.date | dt.datetime | pd.Timestamp | np.datetime64
ClockLike: TypeAlias = int | float | str


def _as_timestamp(value: TimeLike, tz: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        msg = f"{name} {value!r} is not a date or time: {exc}"
        raise HotspotError(msg) from None
    if ts is pd.NaT:
        msg = f"{name} must be a date or time, got {value!r}"
        raise HotspotError(msg)
    if tz is None:
        if ts.tzinfo is not None:
            msg = f"{name} {value!r} has a time zone but the incident times have none"
            raise HotspotError(msg)
        return ts
    if ts.tzinfo is None:
        try:
            return ts.tz_localize(tz)
        except (ValueError, OverflowError) as exc:  # a wall time DST skips or repeats
            msg = f"{name} {value!r} does not exist or is ambiguous in {tz}: {exc}"
            raise HotspotError(msg) from None
    return ts.tz_convert(tz)


_CLOCK_RE: Final = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*$")


def _clock_minutes(value: object, name: str, *, end: bool) -> float:
    """Return a clock time (hour number or "HH:MM") as minutes after midnight."""
    if isinstance(value, str):
        m = _CLOCK_RE.match(value)
        if m is None:
            msg = f"{name} {value!r} is not an hour or an 'HH:MM' time"
            raise HotspotError(msg)
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if minute >= 60:
            msg = f"{name} {value!r} has {minute} minutes; expected 00-59"
            raise HotspotError(msg)
        minutes = float(hour * 60 + minute)
    elif isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        minutes = float(value) * 60.0
    else:
        msg = f"{name} must be an hour (0-24) or an 'HH:MM' string, got {value!r}"
        raise HotspotError(msg)
    high = 24 * 60 if end else 24 * 60 - 1e-9
    if not (math.isfinite(minutes) and 0.0 <= minutes <= high):
        limit = "0-24" if end else "0-23:59"
        msg = f"{name} {value!r} is outside {limit}"
        raise HotspotError(msg)
    return minutes


def in_hour_window(times: pd.Series[Any], hours: object) -> BoolArray:
    """Return whether each local clock time falls in ``hours`` = (start, end).

    Hours are numbers (fractional allowed, end may be 24) or ``"HH:MM"`` strings; a
    window whose start is after its end wraps past midnight, so (19, 6) keeps 19:00 to
    05:59:59. The one place the product decides what "at night" means.
    """
    if isinstance(hours, str) or not isinstance(hours, Sequence) or len(hours) != 2:
        msg = f"hours must be a (start, end) pair such as (19, 6) or ('19:30', '06'), got {hours!r}"
        raise HotspotError(msg)
    start = _clock_minutes(hours[0], "hours start", end=False)
    stop = _clock_minutes(hours[1], "hours end", end=True)
    if start == stop or (start == 0 and stop == 24 * 60):
        msg = f"hours {hours!r} give an empty or whole-day window; pass hours=None for all day"
        raise HotspotError(msg)
    seconds = (
        times.dt.hour.to_numpy() * 3600
        + times.dt.minute.to_numpy() * 60
        + times.dt.second.to_numpy()
    ).astype(np.float64)
    lo, hi = start * 60.0, stop * 60.0
    if lo < hi:
        return np.asarray((seconds >= lo) & (seconds < hi))
    # The window wraps past midnight, e.g. 19:00-06:00 keeps 23:30 and 02:00.
    return np.asarray((seconds >= lo) | (seconds < hi))


def filter_incidents(
    incidents: gpd.GeoDataFrame,
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    hours: tuple[ClockLike, ClockLike] | None = None,
    categories: str | Iterable[str] | None = None,
    area: AreaLike | None = None,
) -> gpd.GeoDataFrame:
    """Select incidents by date range, hour of day, category and area.

    Parameters
    ----------
    incidents
        Incident layer as read by :func:`geo.layers.read_incidents` (``time``,
        ``category`` and point ``geometry`` columns).
    start, end
        Keep ``start <= time < end``. Dates mean midnight; naive values are local times
        in the incidents' time zone, aware ones are converted to it.
    hours
        ``(start_hour, end_hour)`` window of the local time of day, start inclusive, end
        exclusive. Hours may be numbers (``19``, ``19.5``) or ``"HH:MM"`` strings; the
        end may be ``24``. A window whose start is after its end crosses midnight:
        ``(19, 6)`` keeps 19:00:00 to 05:59:59.
    categories
        Category names to keep, case-insensitive (a single string is one category).
    area
        Polygon in the incidents' CRS (a shapely geometry, or a GeoSeries/GeoDataFrame
        whose CRS must equal the incidents'); points on its boundary are kept.

    Returns
    -------
    geopandas.GeoDataFrame
        The matching rows, in input order with their original index; may be empty.

    Raises
    ------
    HotspotError
        If ``incidents`` is empty or lacks a needed column, ``end <= start``, the hour
        window is malformed, empty or whole-day, a category is unknown (the message lists
        the known ones) or ``area`` is not a polygon or is in another CRS.
    """
    if not isinstance(incidents, gpd.GeoDataFrame):
        msg = f"incidents must be a GeoDataFrame, got {type(incidents).__name__}"
        raise HotspotError(msg)
    if len(incidents) == 0:
        msg = "no incidents to filter (the incident set is empty)"
        raise HotspotError(msg)
    keep = np.ones(len(incidents), dtype=bool)
    if start is not None or end is not None or hours is not None:
        if "time" not in incidents.columns:
            msg = "incidents lack a 'time' column, needed to filter by date or hour"
            raise HotspotError(msg)
        times = incidents["time"]
        if not pd.api.types.is_datetime64_any_dtype(times.dtype):
            msg = f"incident 'time' column must hold datetimes, not {times.dtype}"
            raise HotspotError(msg)
        tz = getattr(times.dtype, "tz", None)
        lo = _as_timestamp(start, tz, "start") if start is not None else None
        hi = _as_timestamp(end, tz, "end") if end is not None else None
        if lo is not None and hi is not None and hi <= lo:
            msg = f"end {end!r} must be after start {start!r}"
            raise HotspotError(msg)
        if lo is not None:
            keep &= (times >= lo).to_numpy(dtype=bool, na_value=False)
        if hi is not None:
            keep &= (times < hi).to_numpy(dtype=bool, na_value=False)
        if hours is not None:
            keep &= in_hour_window(times, hours)
    if categories is not None:
        if "category" not in incidents.columns:
            msg = "incidents lack a 'category' column, needed to filter by category"
            raise HotspotError(msg)
        wanted = [categories] if isinstance(categories, str) else list(categories)
        if not wanted or not all(isinstance(c, str) for c in wanted):
            msg = f"categories must be a non-empty list of names, got {categories!r}"
            raise HotspotError(msg)
        have = incidents["category"].astype("str").str.strip().str.lower()
        known = sorted(set(have.tolist()))
        wanted_l = {c.strip().lower() for c in wanted}
        unknown = sorted(wanted_l - set(known))
        if unknown:
            word = "category" if len(unknown) == 1 else "categories"
            msg = f"unknown {word} {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
            raise HotspotError(msg)
        keep &= have.isin(wanted_l).to_numpy()
    if area is not None:
        crs = pyproj.CRS(incidents.crs) if incidents.crs is not None else None
        poly = area_geometry(area, crs)
        x, y = incident_xy(incidents, "incidents")
        shapely.prepare(poly)
        keep &= shapely.intersects_xy(poly, x, y)
    return incidents.iloc[np.flatnonzero(keep)]
