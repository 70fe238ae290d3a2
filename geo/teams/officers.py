"""Gaps in "one village, one auxiliary officer" (一村一辅警), and who could fill them.

Wuhan places an auxiliary officer (辅警) in every villagers' committee. With the area's
``officers`` layer (each officer's home and the village served), :func:`check_officers`
lists the villages that have none and proposes who could move there: an officer not yet
placed, or one of the officers of a village that has two or more. A village keeps at
least one officer: its only officer is never proposed, and of a village's ``k``
officers at most ``k - 1`` leave.

The proposal fills as many gaps as can be filled and, among the ways of filling that
many, takes the least total road travel time from the officers' homes to the villages
they would serve. It is one rectangular assignment (scipy's ``linear_sum_assignment``),
exact: rows are the gaps and one "stays" row per village with two or more officers,
which only that village's own officers can take, so one of them always stays; columns
are the movable officers and one "left open" column per gap. Every row is assigned,
each officer to at most one row, so no officer fills two gaps and no village is left
without its last officer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment

from geo.area import Area
from geo.engine import Engine
from geo.errors import TeamError
from geo.results import Result
from geo.validate import positive

__all__ = [
    "COUNT_KEYS",
    "GAP_COLUMNS",
    "PROPOSAL_COLUMNS",
    "UNFILLED_COLUMNS",
    "OfficerCheck",
    "check_officers",
]

GAP_COLUMNS: Final = ("code", "name", "township", "district", "lon", "lat")
PROPOSAL_COLUMNS: Final = (
    "code",
    "name",
    "officer_id",
    "officer_name",
    "from_code",
    "from_name",
    "minutes",
    "km",
    "reason",
)
UNFILLED_COLUMNS: Final = ("code", "name", "township", "district", "reason")
#: The keys of :attr:`OfficerCheck.counts`.
COUNT_KEYS: Final = (
    "villages",
    "with_officer",
    "gaps",
    "filled",
    "unfilled",
    "officers",
    "unplaced",
    "movable",
)


@dataclass(frozen=True, eq=False)
class OfficerCheck(Result):
    """Which villages lack an auxiliary officer, and who could move there.

    Attributes
    ----------
    gaps
        One row per villagers' committee (``kind == "village"``) that no officer serves,
        by code: ``code``, ``name``, ``township``, ``district``, ``lon``, ``lat``.
    proposals
        One row per gap filled: the village's ``code`` and ``name``, the officer
        proposed (``officer_id``, ``officer_name``), the village they leave
        (``from_code``, ``from_name``; "" for an officer not yet placed), ``minutes``
        by road from the officer's home to the village, ``km`` along the roads of that
        route, and ``reason`` (why this officer may move).
    unfilled
        The gaps no movable officer can fill: ``code``, ``name``, ``township``,
        ``district`` and ``reason``.
    counts
        ``villages`` (villagers' committees), ``with_officer``, ``gaps``, ``filled``,
        ``unfilled``, ``officers`` (in the layer), ``unplaced`` (no village yet) and
        ``movable`` (unplaced, or one of two or more officers of a committee).
    mode
        The travel mode of the times.
    cap_min
        The longest travel time a proposal may take (None: any time by road).
    """

    gaps: pd.DataFrame
    proposals: pd.DataFrame
    unfilled: pd.DataFrame
    counts: Mapping[str, int]
    mode: str = "car"
    cap_min: float | None = None

    def _check(self) -> None:
        c = self.counts
        missing = [k for k in COUNT_KEYS if k not in c]
        if missing:
            msg = f"OfficerCheck.counts lacks {', '.join(missing)}"
            raise TeamError(msg)
        gaps, props, left = (self._frame(n) for n in ("gaps", "proposals", "unfilled"))
        if not (len(gaps) == c["gaps"] == c["filled"] + c["unfilled"]):
            msg = "OfficerCheck: gaps must number filled + unfilled"
            raise TeamError(msg)
        if len(props) != c["filled"] or len(left) != c["unfilled"]:
            msg = "OfficerCheck: one proposal per filled gap, one row per unfilled gap"
            raise TeamError(msg)
        if c["villages"] != c["with_officer"] + c["gaps"]:
            msg = "OfficerCheck: every village has an officer or is a gap"
            raise TeamError(msg)
        gap_codes = set(gaps["code"])
        filled = props["code"].tolist()
        if len(set(filled)) != len(filled) or not set(filled) <= gap_codes:
            msg = "OfficerCheck: each proposal fills a different gap"
            raise TeamError(msg)
        if set(left["code"]) != gap_codes - set(filled):
            msg = "OfficerCheck: the unfilled gaps are the gaps without a proposal"
            raise TeamError(msg)
        if props["officer_id"].duplicated().any():
            msg = "OfficerCheck: an officer is proposed for two villages"
            raise TeamError(msg)
        minutes = props["minutes"].to_numpy(dtype=float)
        if not (np.isfinite(minutes) & (minutes >= 0)).all():
            msg = "OfficerCheck: every proposal needs a finite travel time"
            raise TeamError(msg)
        if self.cap_min is not None and (minutes > self.cap_min + 1e-9).any():
            msg = f"OfficerCheck: a proposal takes longer than cap_min={self.cap_min:g} min"
            raise TeamError(msg)

    @property
    def total_minutes(self) -> float:
        """The travel minutes of all proposals together (what the assignment minimises)."""
        return float(self._frame("proposals")["minutes"].sum())

    def _extra_meta(self) -> dict[str, Any]:
        return {"total_minutes": self.total_minutes}


def check_officers(
    area: Area, *, mode: str | None = None, cap_min: float | None = None
) -> OfficerCheck:
    """Find the villages without an auxiliary officer and propose who fills each.

    Villagers' committees (``kind == "village"``) need an officer; communities
    (``kind == "community"``, residents' committees) are not required to have one and
    are never gaps, though their officers count as serving them. The movable officers
    are those not yet placed (empty ``village_code``) and those of a committee, village
    or community, with two or more, of whom at most all but one leave. Each fills at
    most one gap. The proposals fill as many gaps as can be, at the least total travel
    time from the officers' homes to the villages (exact, see the module notes).

    Parameters
    ----------
    area
        The area, with its ``villages`` and ``officers`` layers.
    mode
        Travel mode of the times (default the area's primary mode).
    cap_min
        Propose no move longer than this many minutes by road (default: no limit).

    Returns
    -------
    OfficerCheck
        The gaps, the proposals, the gaps left open (with the reason) and the counts.

    Raises
    ------
    TeamError
        If the area has no officers layer, an officer names a village the villages
        layer lacks, a village without an officer has no coordinates, a movable officer
        has no home location, or ``cap_min`` is not a positive number.
    AreaError
        If the area has no villages layer, or ``mode`` was not loaded.
    """
    officers = area.officers
    if officers is None:
        msg = (
            "this needs an officers layer: give --officers FILE (or 'officers' in the "
            f"area file); the area {area.name!r} has none"
        )
        raise TeamError(msg)
    villages = area.require("villages")
    cap = None if cap_min is None else positive("cap_min", cap_min, TeamError, unit="minutes")
    engine = area.engine(mode)
    used_mode = mode or area.mode
    v_code = villages["code"].astype(str).to_numpy()
    o_code = officers["village_code"].astype(str).to_numpy()
    o_id = officers["id"].astype(str).to_numpy()
    placed = o_code != ""
    unknown = placed & ~np.isin(o_code, v_code)
    if unknown.any():
        shown = ", ".join(f"{o_id[i]} ({o_code[i]})" for i in np.flatnonzero(unknown)[:5])
        more = f" and {int(unknown.sum()) - 5} more" if unknown.sum() > 5 else ""
        msg = (
            f"{int(unknown.sum())} officers name a village_code that is not in the villages "
            f"layer: {shown}{more}"
        )
        raise TeamError(msg)
    per_code = pd.Series(o_code[placed]).value_counts()
    served = per_code.reindex(v_code, fill_value=0).to_numpy()
    is_village = villages["kind"].astype(str).to_numpy() == "village"
    gap_rows = np.flatnonzero(is_village & (served == 0))
    gap_rows = gap_rows[np.argsort(v_code[gap_rows], kind="stable")]
    _require_located(villages, gap_rows)
    k_of = per_code.reindex(o_code, fill_value=0).to_numpy()
    movable = np.flatnonzero(~placed | (k_of >= 2))
    _require_homes(officers, movable)

    minutes = np.full((len(gap_rows), len(movable)), np.nan)
    gap_off = np.zeros(len(gap_rows), dtype=bool)
    if len(gap_rows) and len(movable):
        to = engine.locate_geometries(villages.geometry.iloc[gap_rows])
        home = engine.locate_geometries(officers.geometry.iloc[movable])
        minutes = engine.matrix(home, to).seconds.T / 60.0
        gap_off = np.asarray(to.off_network, dtype=bool)
    allowed = np.isfinite(minutes)
    if cap is not None:
        allowed &= np.nan_to_num(minutes, nan=np.inf) <= cap
    stay_of = np.where(placed[movable], o_code[movable], "")
    chosen = _assign(np.where(allowed, minutes, np.inf), stay_of)

    moves = {g: int(movable[c]) for g, c in chosen.items()}
    taken = minutes[list(chosen), list(chosen.values())] if chosen else np.zeros(0)
    props = _proposals(engine, villages, officers, gap_rows, moves, taken)
    far = f"more than {engine.params.max_snap_m:g} m from any {used_mode} road"
    reasons = _unfilled_reasons(minutes, allowed, gap_off, cap, far)
    open_gaps = [g for g in range(len(gap_rows)) if g not in chosen]
    gaps = _village_table(villages, gap_rows, GAP_COLUMNS)
    unfilled = _village_table(villages, gap_rows[open_gaps], UNFILLED_COLUMNS[:-1])
    unfilled["reason"] = pd.Series([reasons[g] for g in open_gaps], dtype="str")
    n_villages = int(is_village.sum())
    counts: dict[str, int] = {
        "villages": n_villages,
        "with_officer": n_villages - len(gap_rows),
        "gaps": len(gap_rows),
        "filled": len(chosen),
        "unfilled": len(open_gaps),
        "officers": len(officers),
        "unplaced": int((~placed).sum()),
        "movable": len(movable),
    }
    return OfficerCheck(
        gaps=gaps,
        proposals=props,
        unfilled=unfilled,
        counts=counts,
        mode=used_mode,
        cap_min=cap,
    )


def _proposals(
    engine: Engine,
    villages: gpd.GeoDataFrame,
    officers: gpd.GeoDataFrame,
    gap_rows: np.ndarray,
    moves: Mapping[int, int],
    minutes: np.ndarray,
) -> pd.DataFrame:
    """Return the proposals table: gap ``g`` gets officer row ``moves[g]``, in minutes.

    ``minutes`` holds the matrix time of each move, in the order of ``moves``; the km
    come from the fastest route of each (a path per move, only for the moves made).
    """
    v_code = villages["code"].astype(str).to_numpy()
    name_of = dict(zip(v_code, villages["name"].astype(str), strict=True))
    o_code = officers["village_code"].astype(str).to_numpy()
    per_code = pd.Series(o_code[o_code != ""]).value_counts()
    leaves = pd.Series(o_code[list(moves.values())]).value_counts()
    rows: list[dict[str, Any]] = []
    for (g, o), t in zip(moves.items(), minutes.tolist(), strict=True):
        src = o_code[o]
        if src:
            stay = int(per_code[src]) - int(leaves[src])
            why = f"{name_of[src]} has {int(per_code[src])} officers; {stay} stay"
            why += "s" if stay == 1 else ""
        else:
            unit = str(officers["unit"].iloc[o]) if "unit" in officers.columns else ""
            why = f"not yet placed (unit {unit})" if unit else "not yet placed"
        code = v_code[gap_rows[g]]
        route = engine.path(
            engine.locate_geometries(officers.geometry.iloc[[o]]),
            engine.locate_geometries(villages.geometry.iloc[[gap_rows[g]]]),
        )
        rows.append(
            {
                "code": code,
                "name": name_of[code],
                "officer_id": str(officers["id"].iloc[o]),
                "officer_name": str(officers["name"].iloc[o]),
                "from_code": src,
                "from_name": name_of.get(src, ""),
                "minutes": float(t),
                "km": float(route.length_m) / 1000.0 if route.found else math.nan,
                "reason": why,
            }
        )
    return pd.DataFrame(rows, columns=list(PROPOSAL_COLUMNS))


def _assign(minutes: np.ndarray, stay_of: np.ndarray) -> dict[int, int]:
    """Return gap -> officer column: most gaps filled, then least total minutes.

    ``minutes`` is gaps x movable officers (inf where a move is not allowed);
    ``stay_of[c]`` the committee officer ``c`` may leave ("" for one not yet placed),
    of which one officer must stay. Rows: the gaps, then one "stays" row per committee;
    columns: the officers, then one "left open" column per gap. Leaving a gap open
    costs more than all moves together could, so no gap is left open to save minutes.
    """
    n_g, n_c = minutes.shape
    if n_g == 0 or n_c == 0:
        return {}
    committees = sorted(set(stay_of.tolist()) - {""})
    finite = minutes[np.isfinite(minutes)]
    open_cost = 1.0 + n_g * (float(finite.max()) if finite.size else 0.0)
    cost = np.full((n_g + len(committees), n_c + n_g), np.inf)
    cost[:n_g, :n_c] = minutes
    cost[np.arange(n_g), n_c + np.arange(n_g)] = open_cost
    for s, code in enumerate(committees):
        cost[n_g + s, np.flatnonzero(stay_of == code)] = 0.0
    # Always feasible: each gap can stay open, each committee keeps one of its own.
    rows, cols = linear_sum_assignment(cost)
    return {int(r): int(c) for r, c in zip(rows, cols, strict=True) if r < n_g and c < n_c}


def _unfilled_reasons(
    minutes: np.ndarray,
    allowed: np.ndarray,
    gap_off: np.ndarray,
    cap: float | None,
    far: str,
) -> list[str]:
    """Return, per gap, why no officer would fill it (used for the gaps left open)."""
    out: list[str] = []
    n_c = minutes.shape[1]
    for g in range(minutes.shape[0]):
        reach = np.isfinite(minutes[g])
        if n_c == 0:
            out.append("no officer can move: none is unplaced and no village has two or more")
        elif gap_off[g]:
            out.append(f"the village lies {far}: no route reaches it")
        elif not reach.any():
            out.append("no movable officer's home reaches it by road")
        elif not allowed[g].any():
            nearest = float(np.nanmin(minutes[g]))
            out.append(f"no movable officer within {cap:g} min (nearest {nearest:.1f} min)")
        else:
            n = int(allowed[g].sum())
            out.append(
                f"the {n} movable officer(s) within reach fill other gaps or must stay in "
                "their village"
            )
    return out


def _village_table(
    villages: gpd.GeoDataFrame, rows: np.ndarray, columns: tuple[str, ...]
) -> pd.DataFrame:
    """Return the villages ``rows`` as a plain table of ``columns`` (None where absent)."""
    out = pd.DataFrame(index=range(len(rows)))
    for col in columns:
        if col in villages.columns:
            out[col] = villages[col].iloc[rows].to_numpy()
        else:
            out[col] = None
    return out


def _missing(geometry: gpd.GeoSeries) -> np.ndarray:
    geom = geometry.to_numpy()
    return np.asarray(shapely.is_missing(geom) | shapely.is_empty(geom), dtype=bool)


def _require_located(villages: gpd.GeoDataFrame, rows: np.ndarray) -> None:
    """Refuse gap villages without coordinates: no officer can be routed to them."""
    lost = rows[_missing(villages.geometry.iloc[rows])]
    if len(lost):
        codes = villages["code"].astype(str).to_numpy()[lost]
        shown = ", ".join(codes[:5]) + (f" and {len(codes) - 5} more" if len(codes) > 5 else "")
        msg = (
            f"{len(codes)} villages without an auxiliary officer have no coordinates "
            f"({shown}): give the villages layer lon/lat (or a geometry) to propose who "
            "fills them"
        )
        raise TeamError(msg)


def _require_homes(officers: gpd.GeoDataFrame, rows: np.ndarray) -> None:
    """Refuse movable officers without a home location: their moves cannot be timed."""
    lost = rows[_missing(officers.geometry.iloc[rows])]
    if len(lost):
        ids = officers["id"].astype(str).to_numpy()[lost]
        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        msg = f"{len(ids)} movable officers have no home location ({shown})"
        raise TeamError(msg)
