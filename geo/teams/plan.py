"""Send the vanguard teams to the chosen villages: road minutes, limits, the match.

The travel times are the engine's, from each team's base to each chosen village; the
limits (a cap, a team's own district, forbidden pairs, skills a village needs) become
the mask of allowed pairs; :func:`geo.teams.assign.assign` does the matching.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo.area import Area
from geo.errors import TeamError
from geo.results import Result
from geo.teams.assign import AssignParams, Matching, assign
from geo.teams.select import Selection
from geo.validate import count

__all__ = ["TeamAssignment", "TeamParams", "assign_teams", "team_districts", "village_needs"]


@dataclass(frozen=True)
class TeamParams:
    """Limits on which team may go where.

    Attributes
    ----------
    cap_min
        No team travels more than this many road minutes to its village.
    min_max
        Minimise the longest trip first (bottleneck), then the total.
    same_district
        Keep each team inside its own district (its home unit's, else its base's).
    forbidden
        (team id, village code) pairs never to make.
    needs
        Skills a village needs (village code -> skills); only a team having all of them
        may go there.
    mediation_at
        A village with at least this many disputes in the scoring period needs
        ``mediation`` too (None: only the ``needs`` given).
    mode
        Travel mode (default the area's primary mode).
    """

    cap_min: float | None = None
    min_max: bool = False
    same_district: bool = False
    forbidden: tuple[tuple[str, str], ...] = ()
    needs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    mediation_at: int | None = None
    mode: str | None = None

    def __post_init__(self) -> None:
        if self.mediation_at is not None:
            count("mediation_at", self.mediation_at, TeamError, low=1)
        clean = {
            str(k): tuple(s.strip().lower() for s in v if s.strip()) for k, v in self.needs.items()
        }
        object.__setattr__(self, "needs", MappingProxyType(clean))


@dataclass(frozen=True, eq=False)
class TeamAssignment(Result):
    """Which team goes to which village, how far, and what was not matched.

    Attributes
    ----------
    table
        One row per pair, by team id: ``team``, ``team_name``, ``leader``,
        ``home_unit``, ``village_code``, ``village``, ``township``, ``district``,
        ``minutes``, ``km`` (of the fastest route), ``score`` (need), ``reason`` (why
        the village was chosen), ``needs`` and the route's road ``geometry``.
    unmatched
        Teams without a village (more teams than villages) or villages without a
        team, with ``kind`` (``team``/``village``), ``id``, ``name``.
    total_min, longest_min
        Sum and maximum of the trips' minutes.
    params
        The limits used.
    """

    table: gpd.GeoDataFrame
    unmatched: pd.DataFrame
    total_min: float
    longest_min: float
    params: TeamParams

    _geometry_table = "table"

    def _check(self) -> None:
        t = self._frame("table")
        if t["team"].duplicated().any() or t["village_code"].duplicated().any():
            msg = "a team or a village appears twice in the assignment"
            raise TeamError(msg)
        cap = self.params.cap_min
        if cap is not None and (t["minutes"] > cap + 1e-9).any():
            msg = f"an assigned trip exceeds the cap of {cap} min"
            raise TeamError(msg)
        if len(t) and abs(float(t["minutes"].sum()) - self.total_min) > 1e-6 * max(
            1, self.total_min
        ):
            msg = "total minutes disagree with the table"
            raise TeamError(msg)


def team_districts(area: Area) -> np.ndarray:
    """Return each team's district code: its home unit's, else its base's nearest village's."""
    teams = area.require("teams")
    vil = area.require("villages")
    inside = vil.geometry.representative_point()
    xy = np.column_stack([inside.x, inside.y])
    base = np.column_stack([teams.geometry.x, teams.geometry.y])
    near = vil["district_code"].astype(str).to_numpy()[cKDTree(xy).query(base)[1]]
    out = near.copy()
    st = area.stations
    if st is not None and "township_code" in st.columns:
        by_id = dict(zip(st["id"].astype(str), st["township_code"], strict=True))
        home = [by_id.get(str(h)) for h in teams["home_unit"]]
        for i, code in enumerate(home):
            if isinstance(code, str) and len(code) >= 6:
                out[i] = code[:6]
    return out


def village_needs(chosen: pd.DataFrame, params: TeamParams) -> list[tuple[str, ...]]:
    """Return the skills each chosen village needs: those given, plus mediation by disputes."""
    out = []
    for code, disputes in zip(
        chosen["code"].astype(str),
        chosen.get("disputes", pd.Series(np.nan, index=chosen.index)),
        strict=True,
    ):
        need = set(params.needs.get(code, ()))
        if (
            params.mediation_at is not None
            and np.isfinite(disputes)
            and disputes >= params.mediation_at
        ):
            need.add("mediation")
        out.append(tuple(sorted(need)))
    return out


def assign_teams(
    area: Area,
    selection: Selection,
    params: TeamParams | None = None,
    *,
    minutes: np.ndarray | None = None,
) -> TeamAssignment:
    """Match the area's teams to the selected villages (see :class:`TeamParams`).

    ``minutes`` (teams x chosen villages) may be given precomputed; otherwise the
    engine measures them from each team's base.

    Raises
    ------
    TeamError
        If the area has no teams, or no assignment obeys the limits: the message names
        the teams (or villages) that make it impossible and what they could reach.
    """
    p = params or TeamParams()
    teams = area.require("teams").reset_index(drop=True)
    chosen = selection.chosen
    vil = area.require("villages")
    rows = pd.Index(vil["code"].astype(str)).get_indexer(chosen["code"].astype(str))
    engine = area.engine(p.mode)
    if minutes is None:
        origin = engine.locate_geometries(teams.geometry)
        target = engine.locate_geometries(vil.geometry.iloc[rows])
        minutes = engine.matrix(origin, target).minutes
    if minutes.shape != (len(teams), len(chosen)):
        msg = f"minutes must be teams x villages {len(teams), len(chosen)}, not {minutes.shape}"
        raise TeamError(msg)
    allowed = np.ones(minutes.shape, bool)
    team_id = teams["id"].astype(str).to_numpy()
    codes = chosen["code"].astype(str).to_numpy()
    if p.same_district:
        allowed &= (
            team_districts(area)[:, None] == chosen["district_code"].astype(str).to_numpy()[None, :]
        )
    for t_id, v_code in p.forbidden:
        if t_id not in team_id:
            msg = f"forbidden pair ({t_id}, {v_code}): no team {t_id!r}"
            raise TeamError(msg)
        allowed[team_id == t_id, :] &= codes != v_code
    needs = village_needs(chosen, p)
    skills = [
        set(str(s).split(";")) - {""} for s in teams.get("skills", pd.Series("", index=teams.index))
    ]
    for j, need in enumerate(needs):
        if need:
            allowed[:, j] &= np.array([set(need) <= s for s in skills])
    t_names = [f"{i} {n}" for i, n in zip(team_id, teams["name"].astype(str), strict=True)]
    v_names = [f"{n} ({c})" for n, c in zip(chosen["name"].astype(str), codes, strict=True)]
    match: Matching = assign(
        minutes,
        allowed,
        params=AssignParams(cap_min=p.cap_min, min_max=p.min_max),
        team_names=t_names,
        village_names=v_names,
    )
    return _assignment(area, teams, chosen, rows, match, needs, p)


def _assignment(
    area: Area,
    teams: gpd.GeoDataFrame,
    chosen: pd.DataFrame,
    rows: np.ndarray,
    match: Matching,
    needs: list[tuple[str, ...]],
    p: TeamParams,
) -> TeamAssignment:
    engine = area.engine(p.mode)
    vil = area.require("villages")
    ti, vj = np.asarray(match.team), np.asarray(match.village)
    km, geom = [], []
    for i, j in zip(ti, vj, strict=True):
        route = engine.path(
            engine.locate_geometries(teams.geometry.iloc[[i]]),
            engine.locate_geometries(vil.geometry.iloc[[rows[j]]]),
        )
        km.append(route.length_m / 1000.0 if route.found else np.nan)
        geom.append(route.geometry if route.found else None)
    c = chosen.iloc[vj].reset_index(drop=True)
    leader = teams.get("leader", pd.Series("", index=teams.index)).fillna("").astype(str)
    table = gpd.GeoDataFrame(
        {
            "team": teams["id"].astype(str).to_numpy()[ti],
            "team_name": teams["name"].astype(str).to_numpy()[ti],
            "leader": leader.to_numpy()[ti],
            "home_unit": teams["home_unit"].astype(str).to_numpy()[ti],
            "village_code": c["code"].astype(str),
            "village": c["name"].astype(str),
            "township": c.get("township", pd.Series("", index=c.index)).fillna("").astype(str),
            "district": c.get("district", pd.Series("", index=c.index)).fillna("").astype(str),
            "minutes": np.asarray(match.minutes, float),
            "km": np.array(km, float),
            "score": c["score"].to_numpy(float),
            "reason": c["reason"].astype(str),
            "needs": [";".join(needs[j]) for j in vj],
        },
        geometry=gpd.GeoSeries(geom, crs=area.crs),
    ).sort_values("team", kind="stable", ignore_index=True)
    free_t = sorted(set(range(len(teams))) - set(ti.tolist()))
    free_v = sorted(set(range(len(chosen))) - set(vj.tolist()))
    unmatched = pd.DataFrame(
        {
            "kind": ["team"] * len(free_t) + ["village"] * len(free_v),
            "id": [str(teams["id"].iat[i]) for i in free_t]
            + [str(chosen["code"].iat[j]) for j in free_v],
            "name": [str(teams["name"].iat[i]) for i in free_t]
            + [str(chosen["name"].iat[j]) for j in free_v],
        }
    )
    return TeamAssignment(
        table=table,
        unmatched=unmatched,
        total_min=float(match.total_min),
        longest_min=float(match.longest_min),
        params=p,
    )
