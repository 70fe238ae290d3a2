"""The ways to a briefing's village by road: the team's from its base, the nearest station's.

Times and routes are the area's engine's. A base or village off the roads, or no road
between them, is not an error: the leg is empty, its status says why and a note says so
in words.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import shapely

from geo.area import Area
from geo.engine import OK, STATUS, Engine
from geo.teams._tables import as_text


class Leg(NamedTuple):
    """A route found (or not) by the engine."""

    geometry: shapely.Geometry | None
    minutes: float
    km: float
    status: str


class Station(NamedTuple):
    """The station that reaches the village fastest, and its way there."""

    id: str
    name: str
    kind: str
    point: shapely.Point | None
    leg: Leg


NO_LEG = Leg(None, math.nan, math.nan, "no_route")


def _snap_note(who: str, distance: float, limit: float) -> str:
    return f"{who} is {distance:.0f} m from the nearest road, beyond the {limit:.0f} m snap limit"


def _leg(
    eng: Engine, origin: shapely.Point, destination: shapely.Point
) -> tuple[Leg, float, float]:
    """Return the fastest route and how far origin and destination are from a road."""
    o = eng.locate(np.array([origin.x]), np.array([origin.y]))
    d = eng.locate(np.array([destination.x]), np.array([destination.y]))
    gap_o = float(o.snap.distance_m[0]) if o.snap is not None else math.nan
    gap_d = float(d.snap.distance_m[0]) if d.snap is not None else math.nan
    r = eng.path(o, d)
    if not r.found or r.geometry is None:
        return NO_LEG._replace(status=r.status), gap_o, gap_d
    return Leg(r.geometry, r.seconds / 60.0, r.length_m / 1000.0, "ok"), gap_o, gap_d


def route(
    eng: Engine,
    base: shapely.Point | None,
    point: shapely.Point,
    team: str,
    code: str,
    notes: list[str],
) -> Leg:
    """Return the fastest route from the team's ``base`` to the village ``point``."""
    if base is None:
        notes.append(f"team {team} has no base location: no route to the village")
        return NO_LEG._replace(status="no_base")
    leg, gap_o, gap_d = _leg(eng, shapely.point_on_surface(base), point)
    limit = eng.params.max_snap_m
    if leg.status == "origin_off_network":
        notes.append(_snap_note(f"the base of team {team}", gap_o, limit) + ": no route")
    elif leg.status == "destination_off_network":
        notes.append(_snap_note(f"village {code}", gap_d, limit) + ": no route from the base")
    elif leg.status != "ok":
        notes.append(
            f"no road route from the base of team {team} to village {code} by "
            f"{eng.net.mode}: the roads between them do not connect"
        )
    return leg


def station(area: Area, eng: Engine, point: shapely.Point, code: str, notes: list[str]) -> Station:
    """Return the station that reaches the village ``point`` fastest, and its route."""
    none = Station("", "", "", None, NO_LEG)
    st = area.stations
    if st is None or not len(st):
        notes.append("the area has no stations: give --stations FILE for the nearest one")
        return none
    geom = st.geometry.to_numpy()
    has = ~np.asarray(shapely.is_missing(geom) | shapely.is_empty(geom))
    rows = np.flatnonzero(has)
    pts = shapely.point_on_surface(geom[rows])
    sx, sy = shapely.get_x(pts), shapely.get_y(pts)
    fac = eng.locate(sx, sy)
    here = eng.locate(np.array([point.x]), np.array([point.y]))
    near = eng.nearest_facility(here, fac)
    if near.status[0] != OK:
        why = STATUS[int(near.status[0])]
        notes.append(f"no station reaches village {code} by road ({why.replace('_', ' ')})")
        return none
    f = int(near.facility[0])
    row = st.iloc[int(rows[f])]
    leg, _, _ = _leg(eng, pts[f], point)
    # The time is the one search's; the path gives the km and the road geometry.
    leg = leg._replace(minutes=float(near.seconds[0]) / 60.0)
    return Station(
        str(row["id"]), as_text(row.get("name", "")), as_text(row.get("kind", "")), pts[f], leg
    )
