"""The scenario comparison's map job: both scenarios' facilities and isochrones, drawn.

``pingan scenario compare --map`` evaluates the two scenarios and compares them
(:mod:`geo.scenarios`); the map also needs where each scenario's facilities are after its
edits and what they reach within each threshold, which this module works out from the
loaded base areas, then hands to :func:`maps.compare.compare_map`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd

from geo.coverage import Isochrones, isochrones
from geo.errors import MapError
from geo.scenarios import Comparison, Scenario, apply_edits

if TYPE_CHECKING:
    from geo.area import Area
    from service.map_options import MapSettings
    from service.output import Output

__all__ = ["MAP_NAME", "default_threshold", "scenario_facilities", "write_compare_map"]

#: File name of the comparison map in the command's output folder.
MAP_NAME = "scenario_compare.html"
#: The threshold the villages are coloured at when none is asked for, if the scenarios
#: have it: the quarter hour planners quote.
_PREFERRED_MIN = 15.0


def default_threshold(thresholds: tuple[float, ...] | list[float]) -> float:
    """Return the threshold to colour villages at: 15 minutes if there, else the middle."""
    ths = sorted(float(t) for t in thresholds)
    if not ths:
        msg = "the comparison has no thresholds"
        raise MapError(msg)
    return _PREFERRED_MIN if _PREFERRED_MIN in ths else ths[(len(ths) - 1) // 2]


def scenario_facilities(
    scenario: Scenario, area: Area, *, by: str = "stations"
) -> tuple[gpd.GeoDataFrame, Isochrones]:
    """Return a scenario's facilities after its edits, and their isochrones.

    Parameters
    ----------
    scenario
        The scenario.
    area
        Its loaded base area (:func:`geo.scenarios.load_inputs`); not changed.
    by
        ``"stations"`` (stations and posts) or ``"teams"`` (team bases), as compared.

    Returns
    -------
    tuple[geopandas.GeoDataFrame, Isochrones]
        The facilities and the areas they reach within each of the scenario's thresholds.
    """
    edited = apply_edits(area, scenario.edits)
    facilities = edited.require("teams" if by == "teams" else "stations")
    return facilities, isochrones(edited.engine(), facilities, scenario.thresholds_min)


def write_compare_map(
    out: Output,
    comparison: Comparison,
    scenarios: tuple[Scenario, Scenario],
    areas: tuple[Area, Area],
    settings: MapSettings,
    *,
    by: str = "stations",
    threshold_min: float | None = None,
) -> Path:
    """Write ``scenario_compare.html``: villages gained and lost, both isochrones, table.

    Parameters
    ----------
    out
        The command's output.
    comparison
        B compared with A (:func:`geo.scenarios.compare`).
    scenarios, areas
        Scenarios A and B and their loaded base areas.
    settings
        The map flags (base, language).
    by
        The facilities compared: ``"stations"`` or ``"teams"``.
    threshold_min
        The threshold villages are coloured at; default :func:`default_threshold`.

    Returns
    -------
    Path
        The written page.

    Raises
    ------
    MapError
        If ``threshold_min`` is not one of the scenarios' thresholds.
    """
    from maps.compare import compare_map
    from service.map_options import credit

    (a, b), (area_a, area_b) = scenarios, areas
    thresholds = [float(t) for t in comparison.summary["threshold_min"]]
    t = default_threshold(thresholds) if threshold_min is None else float(threshold_min)
    if t not in thresholds:
        msg = f"--map-threshold {t:g} is not one of the scenarios' thresholds {thresholds}"
        raise MapError(msg)
    stations_a, iso_a = scenario_facilities(a, area_a, by=by)
    stations_b, iso_b = scenario_facilities(b, area_b, by=by)
    lang = settings.lang
    title = (
        f"方案对比图：{comparison.a} → {comparison.b}"
        if lang == "zh"
        else f"Scenario comparison: {comparison.a} → {comparison.b}"
    )
    m = compare_map(
        comparison,
        villages=area_b.require("villages"),
        a_stations=stations_a,
        b_stations=stations_b,
        a_iso=iso_a,
        b_iso=iso_b,
        threshold_min=t,
        roads=area_b.roads.frame(),
        title=title,
        base=settings.base,
        lang=lang,
        attribution=credit(area_b, lang),
    )
    return out.map(MAP_NAME, m)
