"""What a patrol plan looks like as files: GeoJSON for maps, GPX for phones, a shift sheet.

Pure functions from a :class:`~geo.patrol.PatrolPlan` to the content of a file (a dict, a
text, a table); :class:`~service.output.Output` writes them. All three show the same
stops, numbered ``seq`` per unit from 0 (leaving the station) to n + 1 (back at it).

The map files (GeoJSON and GPX) hold only the units that go out: a unit that stays in has
no road to draw and would put two points on its station. The shift sheet lists every
unit, so the dispatcher sees who stays in.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as etree
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import PatrolError
from geo.patrol import PatrolPlan
from geo.results import jsonable

__all__ = ["GPX_NS", "SHEET_COLUMNS", "plan_geojson", "plan_gpx", "shift_sheet"]

#: The GPX 1.1 namespace (http://www.topografix.com/GPX/1/1/gpx.xsd).
GPX_NS = "http://www.topografix.com/GPX/1/1"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"

#: The shift sheet's columns, in the order a dispatcher reads them.
SHEET_COLUMNS = (
    "unit",
    "stop",
    "eta",
    "day",
    "depart",
    "dwell_min",
    "wait_min",
    "break_min",
    "kind",
    "name",
    "village",
    "lat",
    "lon",
    "check",
)

# 7 decimals of a degree is about a centimetre: below any GPS, above float noise.
_DEGREE_DECIMALS = 7


def _label(unit: str, seq: int) -> str:
    return f"{unit} #{seq}"


def _units_out(plan: PatrolPlan) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return the routes in WGS84 and the stops of the units that go out, in route order."""
    routes = plan.routes
    routes = routes.to_crs(4326) if routes.crs is not None else routes
    stops = plan.stops
    stops = stops[stops["unit"].isin(routes["unit"])]
    return routes, stops.sort_values(["unit", "seq"], kind="stable")


def _line_lonlat(geom: shapely.Geometry | None, stops: pd.DataFrame) -> np.ndarray:
    """Return a route's (n, 2) lon/lat vertices, consecutive repeats dropped.

    A route without geometry (every leg of zero length) falls back to its stops, so the
    track still joins them in order.
    """
    if geom is None or shapely.is_empty(geom):
        xy = stops[["lon", "lat"]].to_numpy(dtype=float)
    else:
        xy = shapely.get_coordinates(geom)
    xy = np.round(xy, _DEGREE_DECIMALS)
    if len(xy) > 1:
        keep = np.concatenate([[True], (np.diff(xy, axis=0) != 0).any(axis=1)])
        xy = xy[keep]
    return xy


def _optional(value: object) -> str:
    """Return text for a table cell that may be missing ("" for NaN / None)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return str(value)


# --------------------------------------------------------------------------- GeoJSON


def plan_geojson(plan: PatrolPlan) -> dict[str, Any]:
    """Return the plan as one WGS84 GeoJSON FeatureCollection: routes, then numbered stops.

    Each unit that goes out gives a LineString (``kind`` "route"; ``unit``, ``station``,
    ``km``, ``minutes``) and a Point per stop, the station first and last (``unit``,
    ``seq``, ``label`` such as "PS-01-1 #3", ``target``, ``kind``, ``name``, ``village``,
    ``visit``, ``arrive``, ``depart`` (local ISO 8601 times), ``dwell_min``,
    ``break_min``, ``check``). Coordinates are [lon, lat]; missing values are null, so the
    result passes ``json.dumps(..., allow_nan=False)``.

    Parameters
    ----------
    plan
        The plan to draw.
    """
    routes, stops = _units_out(plan)
    features: list[dict[str, Any]] = []
    for unit, station, km, minutes, geom in zip(
        routes["unit"],
        routes["station"],
        routes["km"],
        routes["minutes"],
        routes.geometry,
        strict=True,
    ):
        xy = _line_lonlat(geom, stops[stops["unit"] == unit])
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": xy.tolist()},
                "properties": jsonable(
                    {
                        "kind": "route",
                        "unit": unit,
                        "station": station,
                        "km": round(float(km), 3),
                        "minutes": round(float(minutes), 1),
                    }
                ),
            }
        )
    lon = np.round(stops["lon"].to_numpy(dtype=float), _DEGREE_DECIMALS)
    lat = np.round(stops["lat"].to_numpy(dtype=float), _DEGREE_DECIMALS)
    cols = ("target", "kind", "name", "village", "visit", "arrive", "depart", "check")
    table = stops[["unit", "seq", *cols, "dwell_min", "break_min"]]
    for i, row in enumerate(table.to_dict("records")):
        props = {
            "unit": row["unit"],
            "seq": row["seq"],
            "label": _label(str(row["unit"]), int(row["seq"])),
            **{c: row[c] for c in cols},
            "dwell_min": round(float(row["dwell_min"]), 1),
            "break_min": round(float(row["break_min"]), 1),
        }
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [float(lon[i]), float(lat[i])]},
                "properties": jsonable(props),
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --------------------------------------------------------------------------- GPX


def _utc(iso: str) -> str:
    """Return a local ISO 8601 time with offset as UTC with ``Z`` (what GPX asks for)."""
    t = dt.datetime.fromisoformat(iso).astimezone(dt.UTC)
    return t.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: etree.Element, tag: str, text: str | None = None) -> etree.Element:
    el = etree.SubElement(parent, f"{{{GPX_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _wpt_desc(row: dict[str, Any]) -> str:
    """Return what a waypoint tells the crew: what to check, how long, when."""
    parts = [str(row["check"])]
    arrive, depart = str(row["arrive"])[11:16], str(row["depart"])[11:16]
    if row["kind"] == "station":
        parts.append(arrive)
    elif row["kind"] == "road":
        # A road's dwell is the time to drive it, often under a minute.
        parts.append(f"drive it {arrive}-{depart}")
    else:
        parts.append(f"stay {float(row['dwell_min']):.0f} min, {arrive}-{depart}")
    if float(row["break_min"]) > 0:
        parts.append(f"break {float(row['break_min']):.0f} min here")
    return "; ".join(parts)


def _fmt(x: float) -> str:
    return f"{x:.{_DEGREE_DECIMALS}f}"


def plan_gpx(plan: PatrolPlan, *, creator: str = "pingan", time: dt.datetime | None = None) -> str:
    """Return the plan as a GPX 1.1 document: stops as waypoints, one track per unit.

    Follows the schema's order: ``<metadata>`` (name, description, time, bounds), then
    every stop of the units that go out as a ``<wpt>`` (name "unit #seq name", time of
    arrival in UTC, what to check and the dwell as description, the stop's kind as type),
    then one ``<trk>`` per unit with one ``<trkseg>`` of the roads it drives. The document
    is UTF-8 and validates against http://www.topografix.com/GPX/1/1/gpx.xsd.

    Parameters
    ----------
    plan
        The plan to export.
    creator
        The ``creator`` attribute (the program that wrote the file).
    time
        The file's ``<metadata><time>`` (time-zone aware); default the shift's start, so
        that the same plan always gives the same file.

    Raises
    ------
    PatrolError
        If ``time`` is naive.
    """
    routes, stops = _units_out(plan)
    shift = plan.shift
    # The standard library writes the namespaces as registered: GPX's as the default.
    etree.register_namespace("", GPX_NS)
    etree.register_namespace("xsi", _XSI)
    root = etree.Element(
        f"{{{GPX_NS}}}gpx",
        attrib={
            "version": "1.1",
            "creator": creator,
            f"{{{_XSI}}}schemaLocation": f"{GPX_NS} {GPX_NS}/gpx.xsd",
        },
    )
    meta = _sub(root, "metadata")
    _sub(meta, "name", f"patrol {shift.date.isoformat()} {shift.label}")
    _sub(
        meta,
        "desc",
        f"{len(routes)} unit(s) out by {plan.mode}, {int((stops['kind'] != 'station').sum())} "
        f"stop(s); times in UTC, local time zone {shift.tz}",
    )
    moment = time if time is not None else shift.begins
    if moment.tzinfo is None:
        msg = "plan_gpx: time must be time-zone aware (GPX times are UTC)"
        raise PatrolError(msg)
    _sub(meta, "time", _utc(moment.isoformat()))
    lines = {
        u: _line_lonlat(g, stops[stops["unit"] == u])
        for u, g in zip(routes["unit"], routes.geometry, strict=True)
    }
    every = np.vstack([stops[["lon", "lat"]].to_numpy(dtype=float), *lines.values()])
    if len(every):
        (w, s), (e, n) = every.min(axis=0), every.max(axis=0)
        etree.SubElement(
            meta,
            f"{{{GPX_NS}}}bounds",
            minlat=_fmt(s),
            minlon=_fmt(w),
            maxlat=_fmt(n),
            maxlon=_fmt(e),
        )

    cols = ["unit", "seq", "kind", "name", "arrive", "depart", "dwell_min", "break_min"]
    table = stops[[*cols, "check", "lon", "lat"]]
    for row in table.to_dict("records"):
        wpt = _sub(root, "wpt")
        wpt.set("lat", _fmt(float(row["lat"])))
        wpt.set("lon", _fmt(float(row["lon"])))
        # wptType is a sequence: time, then name, desc, then type, in that order.
        _sub(wpt, "time", _utc(str(row["arrive"])))
        _sub(wpt, "name", f"{_label(str(row['unit']), int(row['seq']))} {row['name']}")
        _sub(wpt, "desc", _wpt_desc(row))
        _sub(wpt, "type", str(row["kind"]))

    for unit, station, km, minutes in zip(
        routes["unit"], routes["station"], routes["km"], routes["minutes"], strict=True
    ):
        trk = _sub(root, "trk")
        _sub(trk, "name", str(unit))
        _sub(trk, "desc", f"from {station}: {float(km):.1f} km, {float(minutes):.0f} min out")
        _sub(trk, "type", "patrol")
        seg = _sub(trk, "trkseg")
        for x, y in lines[unit]:
            etree.SubElement(seg, f"{{{GPX_NS}}}trkpt", lat=_fmt(y), lon=_fmt(x))

    etree.indent(root)
    body = etree.tostring(root, encoding="unicode")
    return "<?xml version='1.0' encoding='UTF-8'?>\n" + body + "\n"


# --------------------------------------------------------------------------- shift sheet


def shift_sheet(plan: PatrolPlan) -> pd.DataFrame:
    """Return the printed shift sheet: one row per stop, leaving and back at the station.

    Columns (:data:`SHEET_COLUMNS`): ``unit``, ``stop`` (its ``seq``), ``eta`` and
    ``depart`` (local ``HH:MM``), ``day`` ("+1" when the arrival falls after midnight of
    the shift's start date, else ""), ``dwell_min`` and ``wait_min`` (whole minutes),
    ``break_min`` (whole minutes where the meal break is taken, else empty), ``kind``,
    ``name``, ``village``, ``lat`` and ``lon`` (WGS84, 5 decimals: about a metre) and
    ``check`` (what to do there). Sorted by unit, then stop. Every unit is listed, one
    that stays in as its two station rows.

    Parameters
    ----------
    plan
        The plan to print.
    """
    s = plan.stops.sort_values(["unit", "seq"], kind="stable")
    arrive = [dt.datetime.fromisoformat(t) for t in s["arrive"]]
    depart = [dt.datetime.fromisoformat(t) for t in s["depart"]]
    start = plan.shift.date
    days = [(t.date() - start).days for t in arrive]
    brk = np.round(s["break_min"].to_numpy(dtype=float))
    sheet = pd.DataFrame(
        {
            "unit": s["unit"].astype(str).to_numpy(),
            "stop": s["seq"].astype(int).to_numpy(),
            # Floored to the minute, like a clock: an arrival at 20:16:44 shows 20:16.
            "eta": [f"{t:%H:%M}" for t in arrive],
            "day": [f"+{d}" if d > 0 else "" for d in days],
            "depart": [f"{t:%H:%M}" for t in depart],
            "dwell_min": np.round(s["dwell_min"].to_numpy(dtype=float)).astype(int),
            "wait_min": np.round(s["wait_min"].to_numpy(dtype=float)).astype(int),
            "break_min": pd.array(
                [int(b) if b > 0 else pd.NA for b in brk.tolist()], dtype="Int64"
            ),
            "kind": s["kind"].astype(str).to_numpy(),
            "name": [_optional(v) for v in s["name"]],
            "village": [_optional(v) for v in s["village"]],
            "lat": np.round(s["lat"].to_numpy(dtype=float), 5),
            "lon": np.round(s["lon"].to_numpy(dtype=float), 5),
            "check": [_optional(v) for v in s["check"]],
        },
        columns=list(SHEET_COLUMNS),
    )
    return sheet.reset_index(drop=True)
