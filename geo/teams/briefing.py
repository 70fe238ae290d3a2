"""The village briefing of a vanguard team (先锋队): one village's data on one page.

A team leader sent to a remote village needs, before leaving and often on a laptop with
no internet: the village's ground and its village groups, the roads around it lit and
unlit, the hot spots and recent incidents there, the nearest police station, the
village's auxiliary officers, the way from the team's base, the neighbouring villages,
and, when the night-safety analyses have been run, the riskiest dark roads and the lamps
proposed near it. :func:`village_briefing` gathers them from an
:class:`~geo.area.Area` (and the analyses' results, when given) into one frozen
:class:`VillageBriefing`; its :meth:`~VillageBriefing.to_geojson` holds every layer of
the briefing map in one FeatureCollection.

Nothing is computed anew here that an analysis owns: travel times and routes are the
area's engine's, hot spots the :class:`~geo.hotspots.HotspotResult`'s, dark-road risk
the :class:`~geo.lighting.RoadRisk`'s and lamps the :class:`~geo.lighting.LampPlan`'s;
the briefing selects what lies within ``radius_m`` of the village.

The gathering lives in private modules, one concern each: :mod:`geo.teams._gather`
(what lies within the radius), :mod:`geo.teams._trips` (the ways by road),
:mod:`geo.teams._village` (the village, its groups, officers and neighbours),
:mod:`geo.teams._views` (the text and the map) and :mod:`geo.teams._tables` (the tables'
columns).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import geopandas as gpd
import pandas as pd
import pyproj
import shapely

from geo.area import Area
from geo.errors import TeamError
from geo.hotspots import HotspotResult
from geo.lighting import LampPlan, RoadRisk
from geo.results import Result
from geo.teams import _gather, _trips, _views, _village
from geo.teams._tables import (
    BRIEFING_LAYERS,
    DARK_ROAD_COLUMNS,
    GROUP_COLUMNS,
    HOTSPOT_COLUMNS,
    INCIDENT_COLUMNS,
    LAMP_COLUMNS,
    NEIGHBOUR_COLUMNS,
    OFFICER_COLUMNS,
    QUAD_SEGS,
    ROAD_COLUMNS,
    ROAD_LIT_CLASSES,
    as_text,
    missing,
)
from geo.validate import count, positive

__all__ = [
    "BRIEFING_LAYERS",
    "ROAD_LIT_CLASSES",
    "BriefingParams",
    "VillageBriefing",
    "village_briefing",
]


@dataclass(frozen=True)
class BriefingParams:
    """What a briefing gathers around its village.

    ``radius_m``: roads, hot spots, incidents, dark roads and lamps within this distance
    of the village's ground (its polygon, or its point); ``incident_days``: the incidents
    of the last N days, counted back from the briefing's ``as_of``; ``dark_roads``: how
    many of the riskiest dark roads within the radius to list; ``neighbours_k``: the
    nearest villages listed when none touches the village; ``touch_m``: two village
    grounds this close touch (boundary files seldom share their edges to the millimetre).
    """

    radius_m: float = 2000.0
    incident_days: int = 90
    dark_roads: int = 10
    neighbours_k: int = 5
    touch_m: float = 1.0

    def __post_init__(self) -> None:
        positive("radius_m", self.radius_m, TeamError, unit="metres")
        count("incident_days", self.incident_days, TeamError, low=1)
        count("dark_roads", self.dark_roads, TeamError, low=0)
        count("neighbours_k", self.neighbours_k, TeamError, low=1)
        positive("touch_m", self.touch_m, TeamError, unit="metres")


@dataclass(frozen=True, eq=False)
class VillageBriefing(Result):
    """One village's data for the vanguard team sent there (see :func:`village_briefing`).

    Geometries and tables are in the area's working CRS (``crs``); :meth:`to_geojson`
    and :meth:`to_dict` give WGS84.

    Attributes
    ----------
    team_id, team_name, leader, home_unit, members
        The team (``leader`` is "" when the teams layer has no ``leader`` column).
    village_code, village_name, township, district, households
        The village (``households`` None when the layer gives none).
    ground, ground_kind
        The village's ground, from which every distance of the briefing is measured:
        its boundary polygon (``ground_kind`` "boundary", from its own layer or the
        boundaries layer), else its point ("point").
    cell
        The village's area as :meth:`geo.area.Area.village_area` gives it: the boundary
        polygon, or the Voronoi cell of its point.
    village_point
        The village's point (a point inside a polygon village): where the route and the
        station's time end.
    base
        The team's base (the teams layer's point; None without one).
    groups
        Its village groups (村民小组): ``code``, ``name``, ``households``, ``lon``,
        ``lat`` and point ``geometry``; empty (with the columns) without a groups layer.
    roads
        Every road of the area's road view with some of it within ``radius_m`` of the
        ground, clipped to that distance: ``road`` (row of the road view), ``name``,
        ``highway``, ``lit`` (yes / no / unknown, as the inventory), ``lit_class`` (lit /
        unlit / unknown), ``length_m`` (of the part within the radius), ``road_length_m``
        (the whole road), ``routable`` and the clipped ``geometry``.
    road_km
        Km of ``roads`` (their ``length_m``) by ``lit_class``: ``lit``, ``unlit``,
        ``unknown``.
    hotspots
        Hot road stretches, then Gi* cells, with a role in the hot-spot analysis given
        (core, part of a hot area, elevated) and some of them within the radius:
        ``kind`` (road / cell), ``rank`` (the analysis' rank within its kind), ``role``,
        ``class``, ``count`` (its own incidents), ``per_km`` (roads), ``z``, ``p_fdr``,
        ``core``, ``name``, ``highway``, ``lit`` (roads), ``distance_m`` (from the
        ground) and ``geometry``; empty without a hot-spot analysis.
    incidents
        Incidents within the radius and in the window ``(since, as_of]``, newest first:
        ``id``, ``time``, ``category``, ``severity``, ``description``, ``distance_m``,
        ``lon``, ``lat``, ``geometry``.
    as_of, since
        The window's end (default: the latest incident of the area) and its start,
        ``incident_days`` before; None without incidents.
    station_id, station_name, station_kind, station_minutes, station_km, station_point
        The station or post that reaches the village fastest by road (travel from the
        station to the village, the area's primary mode), its minutes, the km of that
        route and its point; "" / NaN / None when no station reaches it (``notes`` says
        why).
    station_route
        The road geometry of that route (None without one).
    officers
        The village's auxiliary officers (the area's ``officers`` layer, ``village_code``
        equal to this village's): ``id``, ``name``, ``phone``, ``unit``, ``located``
        ("own": the officer layer's point; "village": drawn at the village point, the
        layer giving none) and ``geometry``; empty without an officers layer.
    route_geometry, route_minutes, route_km, route_status
        The fastest route from the team's base to the village point by road: its road
        geometry, minutes and km, and the engine's status (``ok``,
        ``origin_off_network``, ``destination_off_network``, ``no_route``, or
        ``no_base``). Without a route the geometry is None and the numbers NaN, and
        ``notes`` says why: an unreachable village is not an error.
    neighbours
        The neighbouring villages: those whose area (polygon or Voronoi cell) touches
        this one's ``cell`` (``touches`` True), or when none does the ``neighbours_k``
        nearest; ``code``, ``name``, ``township``, ``km`` (straight line between the
        village points) and the neighbour's point ``geometry``, nearest first.
    dark_roads
        The ``params.dark_roads`` riskiest dark road pieces of the dark-road risk given
        with some of them within the radius, by rank: ``rank`` (in the whole area),
        ``road``, ``name``, ``highway``, ``lit``, ``length_m`` (the whole piece),
        ``score``, ``incidents_n``, ``households_raw``, ``is_bridge``,
        ``village_code``, ``village_name``, ``explanation``, ``distance_m``,
        ``geometry``; empty without a risk.
    lamps
        The lamps of the plan given within the radius: ``lamp``, ``run``, ``road``,
        ``name``, ``highway``, ``position_m``, ``lit_m``, ``households_near``,
        ``night_incidents_near``, ``lon``, ``lat`` and point ``geometry``; empty without
        a plan.
    mode, params, crs
        The travel mode of the times, the parameters, the working CRS.
    notes
        What the briefing could not show and why (no stations, base off the roads...).
    """

    team_id: str
    team_name: str
    leader: str
    home_unit: str
    members: int
    village_code: str
    village_name: str
    township: str
    district: str
    households: int | None
    ground: shapely.Geometry
    ground_kind: str
    cell: shapely.Geometry
    village_point: shapely.Point
    base: shapely.Point | None
    groups: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    road_km: Mapping[str, float]
    hotspots: gpd.GeoDataFrame
    incidents: gpd.GeoDataFrame
    as_of: pd.Timestamp | None
    since: pd.Timestamp | None
    station_id: str
    station_name: str
    station_kind: str
    station_minutes: float
    station_km: float
    station_point: shapely.Point | None
    station_route: shapely.Geometry | None
    officers: gpd.GeoDataFrame
    route_geometry: shapely.Geometry | None
    route_minutes: float
    route_km: float
    route_status: str
    neighbours: gpd.GeoDataFrame
    dark_roads: gpd.GeoDataFrame
    lamps: gpd.GeoDataFrame
    mode: str
    params: BriefingParams
    crs: pyproj.CRS
    notes: tuple[str, ...] = ()

    _geometry_table: ClassVar[str | None] = "roads"
    _geometries: ClassVar[tuple[str, ...]] = (
        "ground",
        "cell",
        "village_point",
        "base",
        "station_point",
        "station_route",
        "route_geometry",
    )

    def _check(self) -> None:
        columns = {
            "groups": GROUP_COLUMNS,
            "roads": ROAD_COLUMNS,
            "hotspots": HOTSPOT_COLUMNS,
            "incidents": INCIDENT_COLUMNS,
            "officers": OFFICER_COLUMNS,
            "neighbours": NEIGHBOUR_COLUMNS,
            "dark_roads": DARK_ROAD_COLUMNS,
            "lamps": LAMP_COLUMNS,
        }
        for name, cols in columns.items():
            frame = self._frame(name)
            lacking = [c for c in (*cols, "geometry") if c not in frame.columns]
            if lacking:
                msg = f"VillageBriefing.{name} lacks column(s) {lacking}"
                raise TeamError(msg)
        roads = self._frame("roads")
        bad = sorted(set(roads["lit_class"]) - set(ROAD_LIT_CLASSES.values()))
        if bad:
            msg = f"VillageBriefing.roads has unknown lit classes {bad}"
            raise TeamError(msg)
        total = float(roads["length_m"].sum()) / 1000.0
        km = float(sum(self.road_km.values()))
        if abs(km - total) > 1e-9 * max(1.0, total):
            msg = f"road km by lit class sum to {km:.6f}, the roads listed to {total:.6f}"
            raise TeamError(msg)
        times = self._frame("incidents")["time"]
        if len(times) > 1 and not times.is_monotonic_decreasing:
            msg = "VillageBriefing.incidents must be newest first"
            raise TeamError(msg)
        for what, geom, minutes in (
            ("route", self.route_geometry, self.route_minutes),
            ("station route", self.station_route, self.station_minutes),
        ):
            if (geom is None) != (not math.isfinite(minutes)):
                msg = f"the {what} must have minutes exactly when it has a geometry"
                raise TeamError(msg)
        if (self.route_status == "ok") != (self.route_geometry is not None):
            msg = f"route status {self.route_status!r} disagrees with its geometry"
            raise TeamError(msg)

    # ------------------------------------------------------------------ views

    @property
    def found_route(self) -> bool:
        """Whether the team's base reaches the village by road."""
        return self.route_geometry is not None

    def summary(self) -> dict[str, Any]:
        """Return the headline numbers of the briefing, and its text (:meth:`text`)."""
        return _views.summary(self)

    def text(self) -> str:
        """Return the briefing's headline in a few lines (English; names as they are)."""
        return _views.text(self)

    def map_layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Return every layer of the briefing map, keyed by its ``layer`` name.

        Each is a new GeoDataFrame in the working CRS whose columns are the properties
        of its features in :meth:`to_geojson` (``layer`` first); layers with nothing to
        draw are left out. ``group``, ``road``, ``hotspot``, ``incident``, ``officer``,
        ``neighbour``, ``dark_road`` and ``lamp`` are the tables ``groups``, ``roads``,
        ``hotspots``, ``incidents``, ``officers``, ``neighbours``, ``dark_roads`` and
        ``lamps`` (columns as the class documents them). The others:

        - ``ground``: ``code``, ``name`` and ``part``: ``boundary`` (the village's
          polygon) or ``cell`` (the Voronoi cell of a point village), ``point`` (the
          village point) and ``radius`` (the area within ``radius_m`` of the ground);
        - ``station``: ``id``, ``name``, ``kind``, ``minutes``, ``km`` at its point;
        - ``route``: ``leg`` (``base``: the team's way to the village; ``station``: the
          nearest station's), ``minutes``, ``km``, along the roads;
        - ``base``: the team's ``id``, ``name``, ``leader``, ``members`` at its base.
        """
        return _views.map_layers(self)

    def to_geojson(self, table: str | None = None) -> dict[str, Any]:
        """Return the briefing map as one GeoJSON FeatureCollection in WGS84.

        Every feature carries a ``layer`` property, one of :data:`BRIEFING_LAYERS`,
        beside the columns of its layer (:meth:`map_layers`); times are ISO 8601 text.

        Parameters
        ----------
        table
            Name of one table of :meth:`tables` to export alone instead (as
            :meth:`geo.results.Result.to_geojson`, without the ``layer`` property).
        """
        if table is not None:
            return super().to_geojson(table)
        return {"type": "FeatureCollection", "features": _views.geojson_features(self.map_layers())}

    def to_dict(self) -> dict[str, Any]:
        """Return the briefing's metadata as JSON-ready data, geometries as WGS84 GeoJSON."""
        out = super().to_dict()
        for name in self._geometries:
            out[name] = _views.wgs84_geometry(getattr(self, name), self.crs)
        return out

    def _extra_meta(self) -> dict[str, Any]:
        return {"summary": self.summary()}


# ---------------------------------------------------------------------- builder


def village_briefing(
    area: Area,
    team_id: str,
    village_code: str,
    *,
    hotspots: HotspotResult | None = None,
    risk: RoadRisk | None = None,
    lamps: LampPlan | None = None,
    params: BriefingParams | None = None,
    as_of: pd.Timestamp | str | None = None,
) -> VillageBriefing:
    """Gather one village's data for the vanguard team sent there.

    Parameters
    ----------
    area
        The area, with its teams and villages layers (stations, incidents, groups,
        boundaries and officers are used when it has them).
    team_id
        The team's ``id`` in the teams layer.
    village_code
        The village's 12-digit code in the villages layer.
    hotspots
        A hot-spot analysis of the area (:func:`geo.hotspots.analyse_hotspots`): its hot
        road stretches and cells near the village are listed.
    risk
        The area's dark-road risk (:func:`geo.lighting.road_risk`): its riskiest dark
        roads near the village are listed.
    lamps
        A lamp plan of the area (:func:`geo.lighting.place_lamps`): its lamps near the
        village are listed.
    params
        Radius, incident window and list lengths; default :class:`BriefingParams()`.
    as_of
        The end of the incident window. Default: the latest incident time of the area,
        not the wall clock, so the same data gives the same briefing whenever it is run.
        A time without a time zone is the area's local time.

    Returns
    -------
    VillageBriefing
        The briefing. A base or village off the roads, or no road between them, is not
        an error: the route is empty and ``notes`` says why.

    Raises
    ------
    TeamError
        If the area has no teams or villages layer, the team id or village code is not
        in it, the village has no location, or an analysis given is of another CRS or
        road network.
    """
    p = BriefingParams() if params is None else params
    if not isinstance(p, BriefingParams):
        msg = f"params must be BriefingParams, got {type(p).__name__}"
        raise TeamError(msg)
    found = _village.locate(area, team_id, village_code)
    team, vil, v, code = found.team, found.village, found.row, found.code
    ground, point = found.ground, found.point
    cells = area.village_cells()
    radius = float(p.radius_m)
    disc = shapely.buffer(ground, radius, quad_segs=QUAD_SEGS)
    notes: list[str] = []
    eng = area.engine()

    roads = _gather.roads(area, ground, disc, radius)
    incidents, end, start = _gather.incidents(area, ground, radius, p.incident_days, as_of, notes)
    base = team.geometry if not missing(team.geometry) else None
    route = _trips.route(eng, base, point, str(team["id"]), code, notes)
    station = _trips.station(area, eng, point, code, notes)
    hh = pd.to_numeric(pd.Series([vil.get("households")]), errors="coerce").iloc[0]
    return VillageBriefing(
        team_id=str(team["id"]),
        team_name=as_text(team.get("name", "")),
        leader=as_text(team.get("leader", "")),
        home_unit=as_text(team.get("home_unit", "")),
        members=int(team["members"]) if pd.notna(team.get("members")) else 0,
        village_code=code,
        village_name=as_text(vil.get("name", "")),
        township=as_text(vil.get("township", "")),
        district=as_text(vil.get("district", "")),
        households=None if pd.isna(hh) else int(hh),
        ground=ground,
        ground_kind=found.kind,
        cell=cells.iloc[v],
        village_point=point,
        base=base,
        groups=_village.groups(area, code),
        roads=roads,
        road_km=_gather.road_km(roads),
        hotspots=_gather.hotspots(hotspots, area, ground, radius),
        incidents=incidents,
        as_of=end,
        since=start,
        station_id=station.id,
        station_name=station.name,
        station_kind=station.kind,
        station_minutes=station.leg.minutes,
        station_km=station.leg.km,
        station_point=station.point,
        station_route=station.leg.geometry,
        officers=_village.officers(area, code, point, notes),
        route_geometry=route.geometry,
        route_minutes=route.minutes,
        route_km=route.km,
        route_status=route.status,
        neighbours=_village.neighbours(
            area, found.shapes, cells, v, point, p.touch_m, p.neighbours_k
        ),
        dark_roads=_gather.dark_roads(risk, area, ground, radius, p.dark_roads),
        lamps=_gather.lamps(lamps, area, ground, radius),
        mode=area.mode,
        params=p,
        crs=pyproj.CRS.from_user_input(area.crs),
        notes=tuple(notes),
    )
