"""Dark roads: lit km by area, a transparent risk score per dark road, lamp placement.

Three questions a lighting programme asks, one room each:

- :mod:`~geo.lighting.inventory` — how many km of road are lit, unlit or unsurveyed in
  each village, township and district (:func:`lit_km_by_area`);
- :mod:`~geo.lighting.risk` — which dark roads matter most (:func:`road_risk`);
- :mod:`~geo.lighting.lamps` — where ``budget`` lamps should go, in continuous runs
  near the houses (:func:`place_lamps`; worth in :mod:`~geo.lighting.benefit`).

They read the area's road view (:class:`geo.network.Roads`, every road of the file, not
only the routing core) and measure distances along roads with its distance engine. A lamp
plan names the stretches it lights; :func:`geo.scenarios.lamp_edit` turns them into a
scenario edit, so this package does not depend on scenarios.
"""

from __future__ import annotations

from geo.errors import LightingError
from geo.lighting.inventory import AREA_COLUMNS, LitKmByArea, lit_km_by_area
from geo.lighting.lamps import LampParams, LampPlan, place_lamps
from geo.lighting.risk import (
    COMPONENTS,
    ROAD_CLASS_EXPOSURE,
    ROAD_CLASS_LABELS,
    RiskParams,
    RoadRisk,
    explanation_zh,
    road_risk,
)
from geo.network import DARK_CLASSES, LIT_CLASSES

__all__ = [
    "AREA_COLUMNS",
    "COMPONENTS",
    "DARK_CLASSES",
    "LIT_CLASSES",
    "ROAD_CLASS_EXPOSURE",
    "ROAD_CLASS_LABELS",
    "LampParams",
    "LampPlan",
    "LightingError",
    "LitKmByArea",
    "explanation_zh",
    "RiskParams",
    "RoadRisk",
    "lit_km_by_area",
    "place_lamps",
    "road_risk",
]
