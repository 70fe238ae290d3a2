"""Patrol routes for a shift: hot spots with revisits, dark roads to drive, village visits.

- :mod:`~geo.patrol.model` — units, shifts and the planner's parameters;
- :mod:`~geo.patrol.targets` — the target table, from the area's analyses or a file;
- :mod:`~geo.patrol.problem` — the routing instance in plain numbers, and the float
  check of every route;
- :mod:`~geo.patrol.solve` — the prize-collecting VRP search (PyVRP);
- :mod:`~geo.patrol.build` / :mod:`~geo.patrol.plan` — area to instance, solution to
  :class:`PatrolPlan` on the roads;
- :mod:`~geo.patrol.variants` — K diverse near-best plans.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo.errors import PatrolError
    from geo.patrol.model import MODES, PatrolParams, Shift, Units
    from geo.patrol.plan import plan_patrols, recent_edges
    from geo.patrol.problem import Problem, Solution, Vehicle
    from geo.patrol.results import PastShift, PatrolPlan, PatrolVariants, jaccard_distance
    from geo.patrol.targets import KINDS, TARGET_COLUMNS, TargetParams, patrol_targets, read_targets
    from geo.patrol.variants import plan_variants

# Names are imported on first use: a solver worker process imports geo.patrol.solve,
# and should not pay seconds for the area, hot-spot and lighting code it never runs.
_WHERE = {
    "PatrolError": "geo.errors",
    "MODES": "geo.patrol.model",
    "PatrolParams": "geo.patrol.model",
    "Shift": "geo.patrol.model",
    "Units": "geo.patrol.model",
    "plan_patrols": "geo.patrol.plan",
    "recent_edges": "geo.patrol.plan",
    "Problem": "geo.patrol.problem",
    "Solution": "geo.patrol.problem",
    "Vehicle": "geo.patrol.problem",
    "PastShift": "geo.patrol.results",
    "PatrolPlan": "geo.patrol.results",
    "PatrolVariants": "geo.patrol.results",
    "jaccard_distance": "geo.patrol.results",
    "KINDS": "geo.patrol.targets",
    "TARGET_COLUMNS": "geo.patrol.targets",
    "TargetParams": "geo.patrol.targets",
    "patrol_targets": "geo.patrol.targets",
    "read_targets": "geo.patrol.targets",
    "plan_variants": "geo.patrol.variants",
}

__all__ = [
    "KINDS",
    "MODES",
    "PastShift",
    "PatrolError",
    "PatrolParams",
    "PatrolPlan",
    "PatrolVariants",
    "Problem",
    "Shift",
    "Solution",
    "TARGET_COLUMNS",
    "TargetParams",
    "Units",
    "Vehicle",
    "jaccard_distance",
    "patrol_targets",
    "plan_patrols",
    "plan_variants",
    "read_targets",
    "recent_edges",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        msg = f"module 'geo.patrol' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
