"""Which villages get a team: the neediest N, with pins, exclusions and spread caps.

Taking villages by score while a township or district cap allows is exact, not only a
heuristic: the sets obeying caps on townships nested in districts form a (laminar)
matroid, on which the greedy choice gives the largest total score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.errors import TeamError
from geo.results import Result
from geo.teams.score import NeedScores
from geo.validate import count

__all__ = ["Selection", "SelectParams", "select_villages"]


@dataclass(frozen=True)
class SelectParams:
    """How to choose the villages.

    Attributes
    ----------
    n
        How many villages (default: the caller's number of teams).
    villages
        An explicit list of village codes: exactly these, in this order (pins,
        exclusions and caps do not apply; ``n`` must match if given).
    pins, excludes
        Codes always taken, or never. Villages no station reaches by road are not taken
        by need (no team could drive there); pin one to send a team anyway.
    per_township, per_district
        At most this many selected villages per township (or district), pins included.
    kinds
        Village kinds eligible by score (``village`` = villagers' committees; add
        ``community`` to consider residents' committees too). Pins may be any kind.
    """

    n: int | None = None
    villages: tuple[str, ...] = ()
    pins: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    per_township: int | None = None
    per_district: int | None = None
    kinds: tuple[str, ...] = ("village",)

    def __post_init__(self) -> None:
        for name in ("n", "per_township", "per_district"):
            if getattr(self, name) is not None:
                count(name, getattr(self, name), TeamError, low=1)
        both = sorted(set(self.pins) & set(self.excludes))
        if both:
            msg = f"village(s) {', '.join(both)} are both pinned and excluded"
            raise TeamError(msg)
        for name in ("villages", "pins"):
            seen = list(getattr(self, name))
            dup = sorted({c for c in seen if seen.count(c) > 1})
            if dup:
                msg = f"{name} lists {', '.join(dup)} more than once"
                raise TeamError(msg)


@dataclass(frozen=True, eq=False)
class Selection(Result):
    """The chosen villages and the needier ones passed over.

    Attributes
    ----------
    chosen
        One row per chosen village, in choosing order: the score table's columns and
        ``reason`` (``pinned``, ``listed``, ``need rank 3``).
    passed
        Villages that scored higher than the last one chosen by need but were not
        taken, with ``reason`` (excluded, township or district full, not eligible kind).
    """

    chosen: pd.DataFrame
    passed: pd.DataFrame

    def _check(self) -> None:
        codes = self._frame("chosen")["code"].astype(str)
        if codes.duplicated().any():
            msg = "a village is chosen twice"
            raise TeamError(msg)

    @property
    def codes(self) -> tuple[str, ...]:
        """The chosen village codes, in order."""
        return tuple(self._frame("chosen")["code"].astype(str))


def select_villages(scores: NeedScores, params: SelectParams, n_default: int) -> Selection:
    """Choose villages for the teams: see :class:`SelectParams`.

    ``n_default`` is used when ``params.n`` is None (the number of teams).

    Raises
    ------
    TeamError
        If a listed, pinned or excluded code is not a village of the area, pins break a
        cap, or fewer than ``n`` villages can be chosen (saying what limits it).
    """
    t = scores.table
    code = t["code"].astype(str)
    known = set(code)
    for name in ("villages", "pins", "excludes"):
        bad = [c for c in getattr(params, name) if c not in known]
        if bad:
            msg = f"{name}: no village with code {', '.join(bad[:5])} in the area"
            raise TeamError(msg)
    n = params.n if params.n is not None else n_default
    if params.villages:
        if params.n is not None and params.n != len(params.villages):
            msg = f"n is {params.n} but {len(params.villages)} villages are listed"
            raise TeamError(msg)
        rows = [int(np.flatnonzero(code == c)[0]) for c in params.villages]
        chosen = t.iloc[rows].assign(reason="listed")
        return Selection(chosen=chosen.reset_index(drop=True), passed=t.iloc[:0].assign(reason=""))
    town = t["township_code"].astype(str).to_numpy()
    dist = t["district_code"].astype(str).to_numpy()
    town_name = t["township"].astype(str).to_numpy()
    dist_name = t["district"].astype(str).to_numpy()
    names = t["name"].astype(str).to_numpy()
    kinds = t["kind"].astype(str).to_numpy()
    ranks = t["rank"].to_numpy(np.int64)
    station_min = t["station_min"].to_numpy(float)
    used_town: dict[str, int] = {}
    used_dist: dict[str, int] = {}
    picked: list[int] = []
    reasons: list[str] = []

    def room(i: int) -> str:
        if params.per_township and used_town.get(town[i], 0) >= params.per_township:
            return f"township {town_name[i]} already has {params.per_township}"
        if params.per_district and used_dist.get(dist[i], 0) >= params.per_district:
            return f"district {dist_name[i]} already has {params.per_district}"
        return ""

    def take(i: int, reason: str) -> None:
        picked.append(i)
        reasons.append(reason)
        used_town[town[i]] = used_town.get(town[i], 0) + 1
        used_dist[dist[i]] = used_dist.get(dist[i], 0) + 1

    for c in params.pins:
        i = int(np.flatnonzero(code == c)[0])
        full = room(i)
        if full:
            msg = f"pinned village {c} ({names[i]}) breaks a cap: {full}"
            raise TeamError(msg)
        take(i, "pinned")
    if len(picked) > n:
        msg = f"{len(picked)} villages are pinned but only {n} are to be chosen"
        raise TeamError(msg)
    order = np.lexsort((code.to_numpy(), -t["score"].to_numpy(float)))
    excluded = set(params.excludes)
    passed: list[tuple[int, str]] = []
    for i in order:
        if len(picked) >= n:
            break
        i = int(i)
        if i in picked:
            continue
        why = ""
        if code.iat[i] in excluded:
            why = "excluded"
        elif np.isnan(station_min[i]):
            # Scored most remote, yet no team could drive there: say so, do not pick it.
            why = "no road route from any station or post (check its point or the roads)"
        elif kinds[i] not in params.kinds:
            why = f"a {kinds[i]}, not an eligible kind ({', '.join(params.kinds)})"
        else:
            why = room(i)
        if why:
            passed.append((i, why))
        else:
            take(i, f"need rank {int(ranks[i])}")
    if len(picked) < n:
        limits = sorted(
            {w.split(" already")[0] + " is full" if "already" in w else w for _, w in passed}
        )
        msg = f"only {len(picked)} villages can be chosen, not {n}: " + "; ".join(limits[:4])
        raise TeamError(msg)
    chosen = t.iloc[picked].assign(reason=reasons).reset_index(drop=True)
    # Communities are out by rule, not by choice: only exclusions and caps are news.
    kept = [(i, w) for i, w in passed if not w.startswith("a ")]
    out = t.iloc[[i for i, _ in kept]].assign(reason=[w for _, w in kept])
    return Selection(chosen=chosen, passed=out.reset_index(drop=True))
