"""What the engine answers: located points, travel-time tables, reach, routes.

Every answer is a frozen, self-checking :class:`~geo.results.Result` with read-only
arrays, so a table cached by a server cannot be changed by one of its callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import shapely

from geo.errors import EngineError
from geo.network import SnapResult
from geo.results import Result

__all__ = [
    "BEYOND",
    "DEST_OFF",
    "NO_ROUTE",
    "OK",
    "ORIGIN_OFF",
    "STATUS",
    "EngineParams",
    "Located",
    "NearestFacility",
    "Nearby",
    "Reach",
    "Route",
    "TravelTimes",
]

#: Status codes of every travel-time answer.
STATUS: tuple[str, ...] = (
    "ok",
    "origin_off_network",
    "destination_off_network",
    "no_route",
    "beyond_limit",
)
OK, ORIGIN_OFF, DEST_OFF, NO_ROUTE, BEYOND = range(5)


@dataclass(frozen=True)
class EngineParams:
    """Tunables of the engine.

    ``offroad_kmh`` is the speed of the access leg between a point and its snapped road
    point, counted once at each end of a trip: ``"mode"`` (the default) takes the mode's
    access speed from :data:`geo.network.ACCESS_KMH` (a car creeping up an unmapped
    drive or yard at 15 km/h, a motorbike at 12, a walker at 4.5), a number fixes it for
    every mode, ``None`` leaves the leg out. ``max_snap_m`` is the snapping threshold
    beyond which a point is off-network. ``cch_threads`` is how many threads answer one
    large CCH matrix together (``None``: one per core, at most 4; see
    :class:`geo.engine.cch.CCHMetric`).
    """

    max_snap_m: float = 500.0
    offroad_kmh: float | str | None = "mode"
    cch_threads: int | None = None

    def __post_init__(self) -> None:
        if not (np.isfinite(self.max_snap_m) and self.max_snap_m > 0):
            msg = f"max_snap_m must be a positive number, got {self.max_snap_m}"
            raise EngineError(msg)
        kmh = self.offroad_kmh
        if isinstance(kmh, str):
            if kmh != "mode":
                msg = f"offroad_kmh must be a positive number, 'mode' or None, got {kmh!r}"
                raise EngineError(msg)
        elif kmh is not None and (isinstance(kmh, bool) or not (np.isfinite(kmh) and kmh > 0)):
            msg = f"offroad_kmh must be a positive number, 'mode' or None, got {kmh}"
            raise EngineError(msg)
        c = self.cch_threads
        if c is not None and (isinstance(c, bool) or not isinstance(c, int) or c < 1):
            msg = f"cch_threads must be a whole number of at least 1 or None, got {c!r}"
            raise EngineError(msg)


@dataclass(frozen=True, eq=False)
class Located(Result):
    """Points placed on the network: up to two anchor nodes each, with access costs.

    ``out_node``/``out_cost`` (n, 2): nodes a trip *leaving* the point can reach first
    and the seconds to get there; ``in_node``/``in_cost``: nodes from which a trip
    *arriving* at the point enters its edge, and the seconds from there. Missing anchors
    have node -1 and cost inf. ``edge``/``along_m`` locate the point on its edge, for
    trips between two points on the same road. ``snap`` is the snapping record.
    """

    out_node: np.ndarray
    out_cost: np.ndarray
    in_node: np.ndarray
    in_cost: np.ndarray
    edge: np.ndarray
    along_frac: np.ndarray
    off_network: np.ndarray
    snap: SnapResult | None = None

    def __len__(self) -> int:
        return len(self.edge)


@dataclass(frozen=True, eq=False)
class TravelTimes(Result):
    """An origins x destinations travel-time table.

    ``seconds`` is NaN wherever ``status`` is not ``"ok"``; ``status`` holds codes into
    :data:`STATUS`. ``backend`` says what answered: ``"dijkstra"`` (exact float times) or
    ``"cch"`` (integer milliseconds, see :meth:`Engine.rounding_s`).
    """

    seconds: np.ndarray
    status: np.ndarray
    backend: str = "dijkstra"
    STATUS: ClassVar[tuple[str, ...]] = STATUS

    def _check(self) -> None:
        if self.seconds.shape != self.status.shape:
            msg = "seconds and status must have the same shape"
            raise EngineError(msg)
        bad = np.isfinite(self.seconds) != (self.status == OK)
        if bad.any():
            msg = "every finite time must be 'ok' and every 'ok' time finite"
            raise EngineError(msg)

    @property
    def minutes(self) -> np.ndarray:
        """Travel times in minutes (NaN where unreachable)."""
        return self.seconds / 60.0

    @property
    def reachable(self) -> np.ndarray:
        """Boolean mask of pairs with a route."""
        return self.status == OK

    def status_names(self) -> np.ndarray:
        """Return the status of each pair as text."""
        return np.asarray(STATUS, dtype=object)[self.status]


@dataclass(frozen=True, eq=False)
class NearestFacility(Result):
    """Each point's nearest facility and the travel time from it.

    ``facility`` is the facility's row (-1 when unreachable); ``seconds`` NaN then, with
    the reason in ``status``.
    """

    facility: np.ndarray
    seconds: np.ndarray
    status: np.ndarray

    def _check(self) -> None:
        ok = self.status == OK
        if (np.isfinite(self.seconds) != ok).any() or ((self.facility >= 0) != ok).any():
            msg = "facility, seconds and status disagree"
            raise EngineError(msg)

    @property
    def minutes(self) -> np.ndarray:
        """Travel times in minutes (NaN where unreachable)."""
        return self.seconds / 60.0

    def status_names(self) -> np.ndarray:
        """Return the status of each point as text."""
        return np.asarray(STATUS, dtype=object)[self.status]


@dataclass(frozen=True, eq=False)
class Reach(Result):
    """What is reachable within ``limit_s`` from a set of sources.

    ``node_seconds`` per node (NaN beyond the limit); ``edge_fraction`` per edge: the
    share of the edge, from its start, that can be reached (0 to 1).
    """

    limit_s: float
    node_seconds: np.ndarray
    edge_fraction: np.ndarray


@dataclass(frozen=True, eq=False)
class Route(Result):
    """A fastest route: node rows, edge rows, time, length and road geometry."""

    nodes: np.ndarray
    edges: np.ndarray
    seconds: float
    length_m: float
    geometry: shapely.LineString | None
    status: str

    @property
    def found(self) -> bool:
        """Whether a route exists."""
        return self.status == "ok"


@dataclass(frozen=True, eq=False)
class Nearby(Result):
    """Every node within a limit of each source, searched one source at a time.

    Row ``k`` says node ``node[k]`` is ``cost[k]`` (seconds, or metres on a length
    engine) from source ``source[k]``; rows are sorted by source, then node, and each
    (source, node) pair appears once, at its least cost.
    """

    limit: float
    source: np.ndarray
    node: np.ndarray
    cost: np.ndarray

    def _check(self) -> None:
        if not (len(self.source) == len(self.node) == len(self.cost)):
            msg = "Nearby arrays must have the same length"
            raise EngineError(msg)
