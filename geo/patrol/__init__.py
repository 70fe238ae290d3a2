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

from geo.errors import PatrolError
from geo.patrol.model import MODES, PatrolParams, Shift, Units
from geo.patrol.plan import plan_patrols, recent_edges
from geo.patrol.problem import Problem, Solution, Vehicle
from geo.patrol.results import PastShift, PatrolPlan, PatrolVariants, jaccard_distance
from geo.patrol.targets import KINDS, TARGET_COLUMNS, TargetParams, patrol_targets, read_targets
from geo.patrol.variants import plan_variants

__all__ = [
    "KINDS",
    "MODES",
    "TARGET_COLUMNS",
    "PastShift",
    "PatrolError",
    "PatrolParams",
    "PatrolPlan",
    "PatrolVariants",
    "Problem",
    "Shift",
    "Solution",
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
