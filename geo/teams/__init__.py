"""Vanguard teams (先锋队): which villages need help, which team goes where, briefings.

:mod:`~geo.teams.measures` measures every village on the area (road minutes from
stations and the township seat, dark roads, incidents per resident, an auxiliary
officer or not); :mod:`~geo.teams.score` weighs those into one score with its parts and
a sentence; :mod:`~geo.teams.select` chooses villages; :mod:`~geo.teams.assign` matches
teams to them (Hungarian, bottleneck, the blocking set when no match exists) and
:mod:`~geo.teams.plan` does so on the area's roads and limits;
:mod:`~geo.teams.officers` checks "one village, one auxiliary officer";
:mod:`~geo.teams.briefing` gathers a team's village data.
"""

from geo.teams.assign import AssignParams, Matching, assign, blocking_set
from geo.teams.briefing import BriefingParams, VillageBriefing, village_briefing
from geo.teams.measures import MeasureParams, measure_villages
from geo.teams.officers import OfficerCheck, check_officers
from geo.teams.plan import TeamAssignment, TeamParams, assign_teams
from geo.teams.score import NeedScores, NeedWeights, score_needs
from geo.teams.select import Selection, SelectParams, select_villages

__all__ = [
    "AssignParams",
    "BriefingParams",
    "Matching",
    "MeasureParams",
    "NeedScores",
    "NeedWeights",
    "OfficerCheck",
    "SelectParams",
    "Selection",
    "TeamAssignment",
    "TeamParams",
    "VillageBriefing",
    "assign",
    "assign_teams",
    "blocking_set",
    "check_officers",
    "measure_villages",
    "score_needs",
    "select_villages",
    "village_briefing",
]
