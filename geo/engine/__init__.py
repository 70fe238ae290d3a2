"""The travel-time engine: one compiled graph per road network, every search on it.

:mod:`~geo.engine.core` holds :class:`Engine`, :mod:`~geo.engine.results` what it
answers and :mod:`~geo.engine.graph` the array graph algorithms behind it (Dijkstra
through a super-source, bounded searches, bridges).
"""

from __future__ import annotations

from geo.engine.core import Engine
from geo.engine.graph import bridge_cut, bridges
from geo.engine.results import (
    BEYOND,
    DEST_OFF,
    NO_ROUTE,
    OK,
    ORIGIN_OFF,
    STATUS,
    EngineParams,
    Located,
    Nearby,
    NearestFacility,
    Reach,
    Route,
    TravelTimes,
)
from geo.errors import EngineError

__all__ = [
    "BEYOND",
    "DEST_OFF",
    "NO_ROUTE",
    "OK",
    "ORIGIN_OFF",
    "STATUS",
    "Engine",
    "EngineError",
    "EngineParams",
    "Located",
    "NearestFacility",
    "Nearby",
    "Reach",
    "Route",
    "TravelTimes",
    "bridge_cut",
    "bridges",
]
