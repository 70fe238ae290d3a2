"""What the patrol planner returns: a plan per shift, and diverse variants of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import PatrolError
from geo.patrol.model import PatrolParams, Shift
from geo.results import Result

__all__ = ["PastShift", "PatrolPlan", "PatrolVariants", "jaccard_distance"]

# Slack of the plan's own time checks (seconds).
_TOL = 1e-6


def jaccard_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Return 1 - |a ∩ b| / |a ∪ b| of two sets given as arrays (0 when both are empty)."""
    sa, sb = set(np.asarray(a).tolist()), set(np.asarray(b).tolist())
    union = len(sa | sb)
    return 0.0 if union == 0 else 1.0 - len(sa & sb) / union


@dataclass(frozen=True, eq=False)
class PastShift:
    """What an earlier shift drove and visited, as saved with its plan.

    ``roads`` are road keys of the routing network named by ``network`` (see
    :attr:`PatrolPlan.edges`), ``hotspots`` the hot-spot target ids visited.
    """

    roads: np.ndarray
    hotspots: tuple[str, ...]
    network: str
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the record as JSON-ready data."""
        return {
            "network": self.network,
            "label": self.label,
            "roads": [int(x) for x in np.asarray(self.roads).tolist()],
            "hotspots": list(self.hotspots),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "a saved plan") -> PastShift:
        """Read the record back, or raise naming ``where``."""
        try:
            roads = np.asarray([int(x) for x in data["roads"]], dtype=np.int64)
            return cls(
                roads,
                tuple(str(h) for h in data["hotspots"]),
                str(data["network"]),
                str(data.get("label", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"{where} is not a saved patrol plan (needs network, roads, hotspots)"
            raise PatrolError(msg) from exc


@dataclass(frozen=True, eq=False)
class PatrolPlan(Result):
    """The routes of one shift.

    Attributes
    ----------
    shift, mode, params
        The shift planned, the units' travel mode and the planner's parameters.
    units
        One row per unit: ``unit``, ``station``, ``leave``, ``back`` (clock times),
        ``minutes`` (out), ``km``, ``prize``, ``stops`` (targets called at), ``break_at``
        (the stop after which the break is taken, "" without a break).
    stops
        One row per stop in route order, the station first and last: ``unit``, ``seq``
        (0 = leaving the station), ``target``, ``kind`` (station, hotspot, road, village),
        ``name``, ``village``, ``visit`` (1 = first visit, 2 = the first revisit...),
        ``arrive``, ``start``, ``depart`` (clock), ``arrive_s``, ``start_s``, ``depart_s``
        (seconds from the shift's start), ``travel_s`` (from the previous stop, the
        engine's time), ``wait_min``, ``dwell_min``, ``break_min``, ``km`` (from the
        previous stop), ``prize``, ``check`` (what to do there), ``lon``, ``lat`` and
        point ``geometry`` (a road's start as driven).
    routes
        One row per unit that goes out: ``unit``, ``km``, ``minutes`` and the full road
        ``geometry`` it drives, stop to stop.
    left_out
        The targets not visited: ``target``, ``kind``, ``name``, ``village``, ``prize``,
        ``reason`` (no time, unreachable, outside its window).
    edges
        Per unit, the roads it drives in order, each road as its lower routing edge row
        (a road's two directions are one road), for overlaps and recent-shift penalties.
    prize, prize_available
        Prize collected (at the targets' own prizes) and the prize of every visit the
        units could have made (revisits included).
    seed, iterations, solve_seconds
        What the search started from and spent.
    """

    shift: Shift
    mode: str
    params: PatrolParams
    units: pd.DataFrame
    stops: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    left_out: pd.DataFrame
    edges: tuple[np.ndarray, ...]
    prize: float
    prize_available: float
    seed: int
    iterations: int
    solve_seconds: float
    network: str = ""
    _geometry_table: ClassVar[str | None] = "routes"

    def _check(self) -> None:
        s = self._frame("stops")
        u = self._frame("units")
        for name, g in s.groupby("unit", sort=False):
            a, b, d = (g[c].to_numpy(float) for c in ("arrive_s", "start_s", "depart_s"))
            if (b < a - _TOL).any() or (d < b - _TOL).any() or (a[1:] < d[:-1] - _TOL).any():
                msg = f"unit {name}: its stop times run backwards"
                raise PatrolError(msg)
            if g["kind"].iloc[0] != "station" or g["kind"].iloc[-1] != "station":
                msg = f"unit {name}: a route must start and end at its station"
                raise PatrolError(msg)
            if g["target"].iloc[0] != g["target"].iloc[-1]:
                msg = f"unit {name}: a route must come back to the station it left"
                raise PatrolError(msg)
            if d[-1] > self.shift.seconds + _TOL:
                msg = f"unit {name}: back after the shift ends"
                raise PatrolError(msg)
        if len(self.edges) != len(u):
            msg = "PatrolPlan.edges needs one array per unit"
            raise PatrolError(msg)
        if abs(float(s["prize"].sum()) - self.prize) > 1e-6 * max(1.0, self.prize):
            msg = "PatrolPlan.prize is not the sum of its stops' prizes"
            raise PatrolError(msg)

    @property
    def hotspots_visited(self) -> np.ndarray:
        """The hot-spot targets visited at least once (sorted ids)."""
        s = self._frame("stops")
        return np.unique(s.loc[s["kind"] == "hotspot", "target"].astype(str).to_numpy())

    @property
    def roads_driven(self) -> np.ndarray:
        """Every road driven, once per road (a road's two directions are one)."""
        return np.unique(np.concatenate([np.zeros(0, np.int64), *self.edges]))

    def as_past(self) -> PastShift:
        """Return what this shift drove and visited, for tomorrow's planning."""
        label = f"{self.shift.date.isoformat()} {self.shift.label}"
        return PastShift(self.roads_driven, tuple(self.hotspots_visited), self.network, label)

    def summary(self) -> dict[str, Any]:
        """Return the plan's totals."""
        u = self._frame("units")
        s = self._frame("stops")
        out = u[u["stops"] > 0]
        return {
            "shift": self.shift.label,
            "date": self.shift.date.isoformat(),
            "mode": self.mode,
            "units": len(u),
            "units_out": len(out),
            "stops": int((s["kind"] != "station").sum()),
            "hotspots": len(self.hotspots_visited),
            "revisits": int((s["visit"] > 1).sum()),
            "roads_driven": int((s["kind"] == "road").sum()),
            "villages": int((s["kind"] == "village").sum()),
            "km": float(u["km"].sum()),
            "longest_min": float(u["minutes"].max()) if len(u) else 0.0,
            "prize": self.prize,
            "prize_available": self.prize_available,
            "left_out": len(self._frame("left_out")),
            "seed": self.seed,
        }

    def _extra_meta(self) -> dict[str, Any]:
        return {"summary": self.summary(), "past": self.as_past().to_dict()}


@dataclass(frozen=True, eq=False)
class PatrolVariants(Result):
    """K diverse near-best plans of one shift, with how much they overlap.

    ``plans[0]`` is the best; ``relative`` is each plan's prize over the best's; the
    plans were asked to keep ``min_share`` of the best prize and to differ from each other
    by at least ``min_distance`` in hot spots visited (:attr:`distance_met` says if they do);
    ``edge_jaccard`` and ``hotspot_jaccard`` are (K, K) Jaccard *distances* between the
    plans' roads driven and hot spots visited (0: the same, 1: nothing shared).
    """

    plans: tuple[PatrolPlan, ...]
    relative: np.ndarray
    edge_jaccard: np.ndarray
    hotspot_jaccard: np.ndarray
    min_share: float
    min_distance: float = 0.0

    def _check(self) -> None:
        k = len(self.plans)
        if self.relative.shape != (k,) or self.edge_jaccard.shape != (k, k):
            msg = "PatrolVariants needs one ratio per plan and K x K overlaps"
            raise PatrolError(msg)

    @property
    def distance_met(self) -> bool:
        """Whether every pair of plans differs by at least ``min_distance`` in hot spots."""
        k = len(self.plans)
        iu = np.triu_indices(k, 1)
        return bool((self.hotspot_jaccard[iu] >= self.min_distance - 1e-9).all())

    @property
    def mean_jaccard(self) -> tuple[float, float]:
        """Mean pairwise Jaccard distance: (roads driven, hot spots visited)."""
        k = len(self.plans)
        if k < 2:
            return 0.0, 0.0
        iu = np.triu_indices(k, 1)
        return float(self.edge_jaccard[iu].mean()), float(self.hotspot_jaccard[iu].mean())

    def table(self) -> pd.DataFrame:
        """Return one row per variant: prize, share of the best, overlap with the others."""
        k = len(self.plans)
        others = ~np.eye(k, dtype=bool)
        return pd.DataFrame(
            {
                "variant": np.arange(1, k + 1),
                "prize": [p.prize for p in self.plans],
                "share_of_best": self.relative,
                "km": [float(p.units["km"].sum()) for p in self.plans],
                "hotspots": [len(p.hotspots_visited) for p in self.plans],
                "mean_road_jaccard": [
                    float(self.edge_jaccard[i][others[i]].mean()) if k > 1 else 0.0
                    for i in range(k)
                ],
                "mean_hotspot_jaccard": [
                    float(self.hotspot_jaccard[i][others[i]].mean()) if k > 1 else 0.0
                    for i in range(k)
                ],
            }
        )

    def _extra_meta(self) -> dict[str, Any]:
        e, h = self.mean_jaccard
        return {
            "mean_road_jaccard": e,
            "mean_hotspot_jaccard": h,
            "distance_met": self.distance_met,
        }
