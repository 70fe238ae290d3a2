"""Stored scenarios on the service's area: checked, evaluated, compared, drawn.

A stored scenario is ``{"name", "description", "edits": [...], "thresholds_min"?}``:
the edits are what :func:`geo.scenarios.scenario_from_dict` reads, and the base is
always the service's loaded Area, so nothing is read from files again. ``"base"``
names the area as it is. Evaluations are memoised per scenario id and version.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from geo.errors import ScenarioError
from geo.scenarios import (
    Comparison,
    Scenario,
    ScenarioResult,
    apply_edits,
    compare,
    evaluate,
    scenario_from_dict,
)
from service.store.base import ScenarioRecord

if TYPE_CHECKING:
    from service.api.deps import AppState

__all__ = [
    "BASE",
    "check_data",
    "compare_map_html",
    "compare_records",
    "compare_table",
    "with_places",
    "evaluate_scenario",
    "scenario_of",
]

#: The name that stands for the area as it is, in a comparison.
BASE = "base"
#: The keys a stored scenario may have (the base is the service's area, never given).
KEYS = ("name", "description", "edits", "thresholds_min")
# scenario_from_dict requires a base; the service's area replaces it right after, so
# these paths are never opened.
_PLACEHOLDER_BASE = {"osm": "area.osm", "villages": "villages.csv", "stations": "stations.csv"}


def scenario_of(state: AppState, data: Mapping[str, Any]) -> Scenario:
    """Return a stored scenario's data as a :class:`Scenario` on the service's area.

    Raises
    ------
    ScenarioError
        A key the service does not take (``base``), or an edit that is wrong, the message
        naming the edit's index and field.
    """
    extra = sorted(set(data) - set(KEYS))
    if extra:
        msg = (
            f"unknown scenario key(s) {', '.join(extra)}; a scenario here has "
            f"{', '.join(KEYS)} (its base is always the service's area)"
        )
        raise ScenarioError(msg)
    parsed = scenario_from_dict({**data, "base": _PLACEHOLDER_BASE})
    return replace(parsed, base=state.area.spec, folder=state.area.spec.folder)


def check_data(state: AppState, data: Mapping[str, Any]) -> Scenario:
    """Check a scenario fully: its fields, then its edits applied to the area.

    Applying finds what reading cannot: a station to move that the area lacks, a road
    id out of range; the error names the edit.
    """
    scen = scenario_of(state, data)
    apply_edits(state.area, scen.edits)
    return scen


def _base(state: AppState) -> Scenario:
    return Scenario(
        name=BASE,
        base=state.area.spec,
        description=f"{state.area.name} as it is",
        folder=state.area.spec.folder,
    )


def evaluate_scenario(state: AppState, rec: ScenarioRecord | None) -> ScenarioResult:
    """Evaluate a stored scenario (None: the base) on the area, once per version."""
    if rec is None:
        return state.memo("ops.scenario:base", lambda: evaluate(_base(state), area=state.area))
    scen = replace(scenario_of(state, rec.data), name=rec.name)
    return state.memo(
        f"ops.scenario:{rec.id}:v{rec.version}", lambda: evaluate(scen, area=state.area)
    )


def _record(state: AppState, ref: str) -> ScenarioRecord | None:
    return None if ref == BASE else state.store.get_scenario(ref)


def _scenario(state: AppState, rec: ScenarioRecord | None) -> Scenario:
    return _base(state) if rec is None else replace(scenario_of(state, rec.data), name=rec.name)


def compare_records(state: AppState, a: str, b: str, by: str = "stations") -> Comparison:
    """Compare scenario ``b`` with ``a`` (ids, or ``"base"``) village by village.

    Raises
    ------
    NotFound
        No scenario with that id.
    ScenarioError
        ``by`` is neither stations nor teams, or the scenarios use different thresholds.
    """
    ra = evaluate_scenario(state, _record(state, a))
    rb = evaluate_scenario(state, _record(state, b))
    return compare(ra, rb, by=by)


def with_places(state: AppState, table: pd.DataFrame) -> pd.DataFrame:
    """Return a village table (with ``code``) with where each village is.

    Adds ``township`` (empty when the layer has none) and ``lat`` / ``lon`` (WGS84) from
    the area's villages, matched by code, right after ``code`` and ``name``.
    """

    def make() -> pd.DataFrame:
        v = state.area.require("villages")
        pts = v.geometry.representative_point().to_crs(4326)
        return pd.DataFrame(
            {
                "code": v["code"].astype(str).to_numpy(),
                "township": (
                    v["township"].fillna("").astype(str).to_numpy()
                    if "township" in v.columns
                    else ""
                ),
                "lat": pts.y.round(6).to_numpy(),
                "lon": pts.x.round(6).to_numpy(),
            }
        ).drop_duplicates("code")

    where = state.memo("ops.village_places", make)
    out = table.assign(code=table["code"].astype(str)).merge(
        where, on="code", how="left", validate="many_to_one"
    )
    cols = ["code", "name", "township", "lat", "lon"]
    return out[cols + [c for c in out.columns if c not in cols]]


def compare_table(state: AppState, cmp: Comparison) -> pd.DataFrame:
    """Return the comparison's village table with where each village is (:func:`with_places`)."""
    return with_places(state, cmp.villages)


def compare_map_html(
    state: AppState, a: str, b: str, by: str = "stations", lang: str = "zh"
) -> str:
    """Return the comparison map page of ``b`` against ``a`` in ``lang`` (opens offline)."""
    from service.api.ops.patrol import map_settings
    from service.compare_map import write_compare_map
    from service.output import Output

    ra, rb = _record(state, a), _record(state, b)
    key = f"ops.compare_map:{a}:{ra.version if ra else 0}:{b}:{rb.version if rb else 0}:{by}:{lang}"

    # AppState.memo holds one lock while it computes: the memoised inputs come first.
    res_a, res_b = evaluate_scenario(state, ra), evaluate_scenario(state, rb)
    scenarios = (_scenario(state, ra), _scenario(state, rb))
    settings = map_settings(state, lang)

    def make() -> str:
        cmp = compare(res_a, res_b, by=by)
        with tempfile.TemporaryDirectory(prefix="pingan-compare-") as tmp:
            path = write_compare_map(
                Output(tmp),
                cmp,
                scenarios,
                (state.area, state.area),
                settings,
                by=by,
            )
            return path.read_text(encoding="utf-8")

    return state.memo(key, make)
