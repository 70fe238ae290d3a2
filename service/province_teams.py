"""The province's vanguard teams on a sweep's workers: measures, then the one match.

:mod:`geo.province_teams` says what each step computes; here the steps are run on the
sweep's :func:`service.batch.sweep_session` (the districts' measures with the sweep's
own tasks, the match after them) and the report is the one ``pingan teams assign``
writes for an area.
"""

from __future__ import annotations

from geo.errors import PinganError
from geo.province import ProvinceSpec
from geo.province_teams import (
    TEAM_MEASURES,
    assignment_from,
    choose_villages,
    plan_team_assign,
)
from service.batch import Runner, SweepOutcome
from service.teams import TeamOptions, TeamsReport

__all__ = ["province_teams"]


def province_teams(
    spec: ProvinceSpec,
    outcome: SweepOutcome,
    run: Runner,
    options: TeamOptions,
    *,
    cache_dir: str | None = None,
) -> TeamsReport:
    """Choose the villages on ``outcome``'s measures and match the teams to them.

    ``outcome`` holds the sweep's finished ``team_measures`` tasks; the match runs
    through ``run`` and its task joins ``outcome`` (so the manifest lists it).

    Raises
    ------
    PinganError
        If a district's measures did not finish (the choice is the province's, so it
        needs every district), or the match failed; the message says which and why.
    """
    steps = [t for t in outcome.tasks if t.kind == TEAM_MEASURES]
    missing = [t.district for t in steps if t.key not in outcome.rows]
    if missing:
        msg = (
            f"no team assignment: the measures of district(s) {', '.join(missing)} did not "
            "finish, and the villages are chosen across the whole province"
        )
        raise PinganError(msg)
    parts = [outcome.rows[t.key].villages for t in steps]
    scores, selection = choose_villages(spec, parts, options.select, options.weights)
    task = plan_team_assign(spec, selection, options.team, cache_dir=cache_dir)
    step = run([task])
    outcome.merge(step)
    if task.key not in step.rows:
        why = "; ".join(f.error for f in step.failures) or "it did not finish"
        msg = f"no team assignment: the match failed: {why}"
        raise PinganError(msg)
    assignment = assignment_from(step.rows[task.key], options.team)
    return TeamsReport(spec.name, scores, selection, assignment, options.measure.days)
