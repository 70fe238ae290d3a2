"""The province's vanguard-team assignment: villages measured by district, one match.

Three steps, of which the first is the work that grows with the province:

1. **Measures, district by district** (``team_measures`` tasks, in parallel): each
   district's own villages are measured (:func:`geo.teams.measures.measure_villages`)
   on its window. The window's villages and incidents come too, though only the
   district's rows are kept: a village's road km and incidents are those nearest to
   it, and a border village's neighbours across the border claim their share. Each
   row says ``border_exact``: its trips from the nearest station and from its
   township seat fit inside the window (:func:`geo.province.border_exact`), so they
   equal the province-wide ones.
2. **Scores and the choice, centrally**: a score is a share of the province's
   longest trip and of its 95th percentile of incidents per resident, so it is
   computed once on the merged table (:func:`geo.teams.score.score_needs`); the
   villages are chosen on it (:func:`geo.teams.select.select_villages`), one per team.
3. **The match, in one task** (``team_assign``): on the whole province's roads. A
   city's teams go to villages far outside it, on trips no district's window holds;
   the matrix is teams x chosen villages, small even for Hubei, and the Hungarian
   match needs all of it at once (:func:`geo.teams.plan.assign_teams`).

Every step's input is a few picklable fields (:class:`geo.province.SweepTask`): the
task names the province file and carries its options as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from geo.area import LAYERS, Area, load_area
from geo.errors import TeamError
from geo.province import (
    ProvinceError,
    ProvinceSpec,
    SweepTask,
    TaskRows,
    border_exact,
    district_area,
    district_of,
    province_layer,
)
from geo.teams.measures import MeasureParams, measure_villages
from geo.teams.plan import TeamAssignment, TeamParams, assign_teams
from geo.teams.score import NeedScores, NeedWeights, score_needs
from geo.teams.select import Selection, SelectParams, select_villages

__all__ = [
    "TEAM_ASSIGN",
    "TEAM_MEASURES",
    "assign_rows",
    "assignment_from",
    "choose_villages",
    "measure_rows",
    "plan_team_assign",
    "plan_team_measures",
]

TEAM_MEASURES = "team_measures"
TEAM_ASSIGN = "team_assign"
#: The district field of the one assignment task: it is the whole province's.
PROVINCE = "province"
#: What the assignment task needs of a chosen village (and its JSON types).
_CHOSEN = {
    "code": str,
    "name": str,
    "township": str,
    "district": str,
    "district_code": str,
    "disputes": float,
    "score": float,
    "reason": str,
}

ProgressFn = Callable[[str], None]


# --------------------------------------------------------------------------- measures


def plan_team_measures(
    spec: ProvinceSpec, measure: MeasureParams, *, cache_dir: str | None = None
) -> list[SweepTask]:
    """Return one measuring task per district.

    The incident period ends at the province's latest incident unless ``measure``
    says when: districts measured on their own latest would count different periods.
    """
    for layer in ("teams",):
        if spec.area.source(layer) is None:  # type: ignore[arg-type]
            msg = f"{spec.path}: a team assignment needs '{layer}' in the province file"
            raise ProvinceError(msg)
    as_of = measure.as_of
    if as_of is None and spec.area.incidents is not None:
        times = pd.to_datetime(province_layer(spec, "incidents")[0]["time"])
        as_of = times.max() if len(times) else None
    payload = json.dumps(
        {
            "days": measure.days,
            "as_of": None if as_of is None else pd.Timestamp(as_of).isoformat(),
            "persons_per_household": measure.persons_per_household,
            "dispute_categories": list(measure.dispute_categories),
            "mode": measure.mode,
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    return [
        SweepTask(spec.path, d.code, "", "[]", (), cache_dir, kind=TEAM_MEASURES, payload=payload)
        for d in spec.districts
    ]


def _measure_params(payload: str) -> MeasureParams:
    p = json.loads(payload)
    return MeasureParams(
        days=int(p["days"]),
        as_of=None if p["as_of"] is None else pd.Timestamp(p["as_of"]),
        persons_per_household=float(p["persons_per_household"]),
        dispute_categories=tuple(p["dispute_categories"]),
        mode=p["mode"],
    )


def measure_rows(
    spec: ProvinceSpec, task: SweepTask, progress: ProgressFn | None = None
) -> TaskRows:
    """Measure district ``task.district``'s own villages on its window (see the module)."""
    code = task.district
    d = spec.district(code)
    area = district_area(spec, code, cache_dir=task.cache_dir, progress=progress)
    window = spec.window(code)
    w, s, e, n = window
    vil, vx, vy = province_layer(spec, "villages")
    own = (district_of(spec, vil) == code).to_numpy()
    keep = own | ((vx >= w) & (vx <= e) & (vy >= s) & (vy <= n))
    wide_vil = vil[keep].reset_index(drop=True).to_crs(area.crs)
    layers: dict[str, Any] = {"villages": wide_vil}
    if spec.area.incidents is not None:
        inc, ix, iy = province_layer(spec, "incidents")
        inside = (ix >= w) & (ix <= e) & (iy >= s) & (iy <= n)
        layers["incidents"] = inc[inside].reset_index(drop=True).to_crs(area.crs)
    if spec.area.officers is not None:
        off = province_layer(spec, "officers")[0]
        mine = off["village_code"].astype(str).isin(set(wide_vil["code"].astype(str)))
        layers["officers"] = off[mine.to_numpy()].reset_index(drop=True).to_crs(area.crs)
    wide = area.with_layers(**layers)
    try:
        m = measure_villages(wide, _measure_params(task.payload))
    except TeamError as exc:
        msg = f"district {code} ({d.name}): {exc}"
        raise ProvinceError(msg) from exc
    mine_rows = own[keep]
    m = m.loc[mine_rows].reset_index(drop=True)
    station = m["station_min"].to_numpy(float)
    seat = m["seat_min"].to_numpy(float)
    # The longer of its two trips decides; no station within the window is not exact
    # (one beyond it may reach the village), a township without a seat has no trip.
    longest = np.where(np.isnan(station), np.nan, np.fmax(station, np.nan_to_num(seat)))
    m["border_exact"] = border_exact(
        area, window, m["lon"].to_numpy(float), m["lat"].to_numpy(float), longest * 60
    )
    summary = {
        "district": code,
        "district_name": d.name,
        "villages": len(m),
        "border_inexact": int((~m["border_exact"]).sum()),
    }
    return TaskRows(key=task.key, summary=summary, villages=m)


def choose_villages(
    spec: ProvinceSpec,
    parts: Sequence[pd.DataFrame],
    select: SelectParams,
    weights: NeedWeights | None = None,
) -> tuple[NeedScores, Selection]:
    """Score the merged measures of every district and choose one village per team.

    The rows are put back in the villages file's order, as a province-wide run has
    them, so ties are broken the same way.
    """
    merged = pd.concat([p for p in parts if len(p)], ignore_index=True)
    order = pd.Index(province_layer(spec, "villages")[0]["code"].astype(str))
    at = order.get_indexer(merged["code"].astype(str))
    merged = merged.iloc[np.argsort(at, kind="stable")].reset_index(drop=True)
    scores = score_needs(merged, weights)
    n_teams = len(province_layer(spec, "teams")[0])
    return scores, select_villages(scores, select, n_teams)


# --------------------------------------------------------------------------- the match


def plan_team_assign(
    spec: ProvinceSpec,
    selection: Selection,
    params: TeamParams,
    *,
    cache_dir: str | None = None,
) -> SweepTask:
    """Return the one task that matches the teams to the chosen villages."""
    chosen = selection.chosen
    rows = []
    for rec in chosen.to_dict("records"):
        row: dict[str, Any] = {}
        for col, kind in _CHOSEN.items():
            value = rec.get(col)
            if kind is float:
                row[col] = None if value is None or pd.isna(value) else float(value)
            else:
                row[col] = (
                    ""
                    if value is None or (not isinstance(value, str) and pd.isna(value))
                    else str(value)
                )
        rows.append(row)
    payload = {
        "chosen": rows,
        "params": {
            "cap_min": params.cap_min,
            "min_max": params.min_max,
            "same_district": params.same_district,
            "forbidden": [list(p) for p in params.forbidden],
            "needs": {k: list(v) for k, v in params.needs.items()},
            "mediation_at": params.mediation_at,
            "mode": params.mode,
        },
    }
    return SweepTask(
        spec.path,
        PROVINCE,
        "",
        "[]",
        (),
        cache_dir,
        kind=TEAM_ASSIGN,
        payload=json.dumps(payload, ensure_ascii=False, sort_keys=True),
    )


def _team_params(p: dict[str, Any]) -> TeamParams:
    return TeamParams(
        cap_min=p["cap_min"],
        min_max=bool(p["min_max"]),
        same_district=bool(p["same_district"]),
        forbidden=tuple((str(a), str(b)) for a, b in p["forbidden"]),
        needs={str(k): tuple(v) for k, v in p["needs"].items()},
        mediation_at=p["mediation_at"],
        mode=p["mode"],
    )


def province_area(spec: ProvinceSpec, cache_dir: str | None) -> Area:
    """Return the whole province's roads with its villages, stations and teams.

    Not kept warm: the match is one task, and the province's graph is the largest
    thing a worker ever holds.
    """
    keep = ("villages", "stations", "teams")
    read = {name: province_layer(spec, name)[0] for name in keep}
    gone: dict[str, Any] = {k: None for k in LAYERS if k not in keep}
    area_spec = replace(spec.area, **gone)
    return load_area(area_spec, cache_dir=cache_dir, read_layers=read)  # type: ignore[arg-type]


def assign_rows(
    spec: ProvinceSpec, task: SweepTask, progress: ProgressFn | None = None
) -> TaskRows:
    """Match the province's teams to the chosen villages on the province's roads."""
    data = json.loads(task.payload)
    chosen = pd.DataFrame(data["chosen"], columns=list(_CHOSEN))
    for col, kind in _CHOSEN.items():
        chosen[col] = chosen[col].astype(float if kind is float else str)
    params = _team_params(data["params"])
    if progress is not None:
        progress("loading the whole province's roads for the match")
    area = province_area(spec, task.cache_dir)
    selection = Selection(chosen=chosen, passed=chosen.iloc[:0])
    try:
        a = assign_teams(area, selection, params)
    except TeamError as exc:
        msg = f"the province's team assignment: {exc}"
        raise ProvinceError(msg) from exc
    summary = {
        "total_min": a.total_min,
        "longest_min": a.longest_min,
        "unmatched": a.unmatched.to_dict("records"),
    }
    return TaskRows(key=task.key, summary=summary, villages=a.table)


def assignment_from(rows: TaskRows, params: TeamParams) -> TeamAssignment:
    """Return the :class:`~geo.teams.plan.TeamAssignment` an assignment task gave back."""
    s = rows.summary
    return TeamAssignment(
        table=rows.villages,  # type: ignore[arg-type]
        unmatched=pd.DataFrame(s["unmatched"], columns=["kind", "id", "name"]),
        total_min=float(s["total_min"]),
        longest_min=float(s["longest_min"]),
        params=params,
    )
