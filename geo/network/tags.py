"""OSM tag vocabulary: travel modes, speeds, lighting and one-way rules.

The one place the product says what a ``lit`` value means, which roads a mode may use
and how fast a patrol drives on them. Every other module imports these names.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import pandas as pd

from geo.errors import NetworkError

__all__ = [
    "DARK_CLASSES",
    "HIGHWAY_NAMES",
    "LIT_CLASSES",
    "MODES",
    "NOT_ROADS",
    "ONEWAY_VALUES",
    "REVERSED_VALUES",
    "SIMPLIFY_ATTRS_DIFFER",
    "SPEEDS_KMH",
    "LitClass",
    "Mode",
    "check_mode",
    "mode_speeds_kmh",
    "normalise_lit",
    "parse_maxspeed",
]


Mode = Literal["car", "motorbike", "foot"]
MODES: tuple[Mode, ...] = ("car", "motorbike", "foot")
LitClass = Literal["yes", "no", "unknown"]
#: ``lit`` classes of every road, in report order.
LIT_CLASSES: Final[tuple[LitClass, ...]] = ("yes", "no", "unknown")
#: Classes that are dark for planning: surveyed as unlit, or never surveyed.
DARK_CLASSES: Final[tuple[LitClass, ...]] = ("no", "unknown")

#: Highway classes that are never routable, whatever the mode.
NOT_ROADS = frozenset(
    {
        "construction",
        "proposed",
        "planned",
        "abandoned",
        "razed",
        "disused",
        "platform",
        "raceway",
        "bus_guideway",
        "elevator",
        "escalator",
        "corridor",
        "rest_area",
        "services",
        "bus_stop",
        "no",
    }
)

# Typical free-flow speeds (km/h) of a patrol on Chinese rural roads. They sit below the
# statutory limits (Road Traffic Safety Law art. 45: 40 km/h on roads without a centre
# line, 70 km/h with one lane each way) because village roads are narrow, shared with
# tractors, pedestrians and livestock, and a patrol drives attentively. Motorbikes and
# e-bikes are one mode: e-bikes are capped at 25 km/h by GB 17761-2018, motorbikes ride
# faster, so the table is a middle ground; neither may use expressways.
SPEEDS_KMH: dict[Mode, dict[str, float]] = {
    "car": {
        "motorway": 90.0,
        "motorway_link": 50.0,
        "trunk": 60.0,
        "trunk_link": 40.0,
        "primary": 50.0,
        "primary_link": 35.0,
        "secondary": 45.0,
        "secondary_link": 30.0,
        "tertiary": 40.0,
        "tertiary_link": 30.0,
        "unclassified": 30.0,
        "residential": 25.0,
        "road": 25.0,
        "living_street": 10.0,
        "service": 15.0,
        "track": 15.0,
    },
    "motorbike": {
        "trunk": 40.0,
        "trunk_link": 30.0,
        "primary": 40.0,
        "primary_link": 30.0,
        "secondary": 35.0,
        "secondary_link": 30.0,
        "tertiary": 35.0,
        "tertiary_link": 30.0,
        "unclassified": 30.0,
        "residential": 25.0,
        "road": 25.0,
        "living_street": 10.0,
        "service": 15.0,
        "track": 20.0,
        "cycleway": 20.0,
        "path": 12.0,
    },
    "foot": {
        # Walking pace is the same on any surface worth routing; steps and rough paths slow it.
        "trunk": 4.5,
        "trunk_link": 4.5,
        "primary": 4.5,
        "primary_link": 4.5,
        "secondary": 4.5,
        "secondary_link": 4.5,
        "tertiary": 4.5,
        "tertiary_link": 4.5,
        "unclassified": 4.5,
        "residential": 4.5,
        "road": 4.5,
        "living_street": 4.5,
        "service": 4.5,
        "track": 4.0,
        "cycleway": 4.5,
        "path": 4.0,
        "footway": 4.5,
        "pedestrian": 4.5,
        "bridleway": 4.0,
        "steps": 2.0,
    },
}

#: Speed (km/h) of the access leg between a place and the road it is snapped to, per
#: mode: the unmapped drive, yard or lane from a village committee, a post or an
#: incident to the mapped road. A car creeps along it, a motorbike a little slower (a
#: rough path), a walker walks it. See :class:`geo.engine.EngineParams`.
ACCESS_KMH: dict[Mode, float] = {"car": 15.0, "motorbike": 12.0, "foot": 4.5}

#: Fastest speed a tagged maxspeed may set, per mode (a posted 120 does not make a
#: motorbike patrol faster than its cap).
_MODE_CAP_KMH: dict[Mode, float] = {"car": 100.0, "motorbike": 45.0, "foot": 5.0}

# osmnx's oneway vocabulary (graph._add_paths), mirrored so our graph matches osmnx's.
#: OSM ``highway`` class -> (Chinese, English) name for people. OSM China maps the
#: administrative classes so: trunk = national road (国道), primary = provincial (省道),
#: secondary = county (县道), tertiary = township (乡道), unclassified = village (村道).
HIGHWAY_NAMES: Final[dict[str, tuple[str, str]]] = {
    "motorway": ("高速公路", "motorway"),
    "trunk": ("国道", "national road"),
    "primary": ("省道", "provincial road"),
    "secondary": ("县道", "county road"),
    "tertiary": ("乡道", "township road"),
    "unclassified": ("村道", "village road"),
    "residential": ("居民区道路", "residential street"),
    "living_street": ("生活街道", "living street"),
    "service": ("辅路", "service road"),
    "track": ("机耕路", "farm track"),
    "road": ("道路", "road"),
    "pedestrian": ("步行街", "pedestrian street"),
    "footway": ("人行道", "footway"),
    "path": ("小路", "path"),
    "cycleway": ("自行车道", "cycleway"),
    "bridleway": ("马道", "bridleway"),
    "steps": ("台阶", "steps"),
    "busway": ("公交专用道", "busway"),
}

ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
REVERSED_VALUES = frozenset({"-1", "reverse", "T"})

# lit=* values meaning "there is street lighting", per the OSM wiki (Key:lit); the rest of
# the positive values are time-restricted lighting, which still lights a night patrol.
_LIT_YES = frozenset({"yes", "24/7", "automatic", "limited", "interval", "sunset-sunrise"})
_LIT_NO = frozenset({"no", "disused"})

#: Edge attributes whose change along a road keeps a node during simplification.
SIMPLIFY_ATTRS_DIFFER: tuple[str, ...] = ("highway", "lit")


def normalise_lit(values: np.ndarray | pd.Series | list[object]) -> np.ndarray:
    """Map raw ``lit=*`` tag values to ``"yes"``, ``"no"`` or ``"unknown"``.

    Untagged (None/NaN/empty) and unrecognised values stay ``"unknown"``: most real roads
    carry no lit tag, and guessing would invent darkness or light that nobody surveyed.
    Times such as ``"Mo-Su 18:00-24:00"`` (lighting on a schedule) count as ``"yes"``.
    """
    raw = pd.Series(values, dtype=object).astype("string").str.strip().str.lower()
    out = np.full(len(raw), "unknown", dtype=object)
    filled = raw.fillna("")
    out[filled.isin(_LIT_YES).to_numpy()] = "yes"
    out[filled.isin(_LIT_NO).to_numpy()] = "no"
    scheduled = filled.str.contains(r"\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}", regex=True)
    out[scheduled.to_numpy() & (out == "unknown")] = "yes"
    return out


def parse_maxspeed(values: np.ndarray | pd.Series | list[object]) -> np.ndarray:
    """Parse ``maxspeed=*`` values to km/h; NaN where untagged or not a number.

    Accepts ``"60"``, ``"60 km/h"``, ``"30 mph"`` and lists such as ``"40;60"`` (the lower
    limit is taken, since a patrol must respect it). Symbolic values (``"none"``,
    ``"signals"``, ``"CN:rural"``) give NaN so the class table applies.
    """
    raw = pd.Series(values, dtype=object).astype("string").str.lower()
    parts = raw.str.extractall(r"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>mph|km/h|kmh|kph)?")
    if parts.empty:
        return np.full(len(raw), np.nan)
    num = parts["num"].astype(float)
    num = num.where(parts["unit"].fillna("") != "mph", num * 1.609344)
    per_row = num.groupby(level=0).min()
    out = np.full(len(raw), np.nan)
    out[per_row.index.to_numpy()] = per_row.to_numpy()
    out[(out <= 0) | (out > 200)] = np.nan
    return out


def mode_speeds_kmh(mode: Mode, highway: np.ndarray, maxspeed_kmh: np.ndarray) -> np.ndarray:
    """Return the speed of ``mode`` on each edge, NaN where the mode may not go.

    A tagged ``maxspeed`` replaces the class speed, clipped to the mode's cap; foot
    ignores it.
    """
    check_mode(mode)
    table = SPEEDS_KMH[mode]
    hw = pd.Series(highway, dtype=object)
    speed = hw.map(table).to_numpy(dtype=float, copy=True)
    if mode != "foot":
        tagged = np.isfinite(maxspeed_kmh) & np.isfinite(speed)
        speed[tagged] = np.minimum(maxspeed_kmh[tagged], _MODE_CAP_KMH[mode])
    return speed


def check_mode(mode: str) -> None:
    """Raise :class:`NetworkError` unless ``mode`` is one of :data:`MODES`."""
    if mode not in MODES:
        msg = f"unknown travel mode {mode!r}; expected one of {', '.join(MODES)}"
        raise NetworkError(msg)
