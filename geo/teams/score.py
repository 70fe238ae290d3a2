"""One need score per village from its measured parts, with the parts and a sentence.

Each part is put on 0-1 so the weights mean what they say:

- ``station``: minutes from the nearest station over the area's longest such trip (a
  village no station reaches scores 1);
- ``seat``: the same for the township seat;
- ``dark``: the share of its road km not known to be lit;
- ``incidents``: incidents per 1,000 residents over the area's 95th percentile of that
  rate, capped at 1 (a village of 300 people with a few incidents would otherwise
  squash every other village's part toward 0);
- ``officer``: 1 when no auxiliary officer serves the village.

The score is 100 times the weighted mean of the parts a village has; a part no village
has (no officers layer, no incidents) drops out with its weight, and one a single
village lacks (population unknown) drops out for that village only, both named. Every
part grows with its measure, so a village farther from every station never scores
lower, all else equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType

import numpy as np
import pandas as pd

from geo.errors import TeamError
from geo.results import Result
from geo.validate import non_negative

__all__ = ["PARTS", "NeedScores", "NeedWeights", "score_needs"]

PARTS = ("station", "seat", "dark", "incidents", "officer")


@dataclass(frozen=True)
class NeedWeights:
    """How much each part counts (any non-negative numbers; they are normalised)."""

    station: float = 0.30
    seat: float = 0.15
    dark: float = 0.20
    incidents: float = 0.25
    officer: float = 0.10

    def __post_init__(self) -> None:
        for f in fields(self):
            non_negative(f"weight {f.name!r}", getattr(self, f.name), TeamError)
        if sum(getattr(self, f.name) for f in fields(self)) <= 0:
            msg = "at least one need weight must be > 0"
            raise TeamError(msg)

    @classmethod
    def parse(cls, text: str) -> NeedWeights:
        """Read ``"station=0.4,dark=0.3"`` (unnamed parts keep their defaults)."""
        given: dict[str, float] = {}
        for item in filter(None, (s.strip() for s in text.split(","))):
            name, sep, value = item.partition("=")
            name = name.strip()
            if not sep or name not in PARTS:
                msg = f"need weight {item!r}: write part=number, parts {', '.join(PARTS)}"
                raise TeamError(msg)
            try:
                given[name] = float(value)
            except ValueError:
                msg = f"need weight {item!r}: {value.strip()!r} is not a number"
                raise TeamError(msg) from None
        return cls(**given)


@dataclass(frozen=True, eq=False)
class NeedScores(Result):
    """Every village's need score, its parts and why.

    Attributes
    ----------
    table
        One row per village in the layer's order: the measures
        (:func:`geo.teams.measures.measure_villages`), ``rate`` (incidents per 1,000
        residents), ``p_station`` ... ``p_officer`` (each part on 0-1, NaN where it does
        not apply), ``score`` (0-100), ``rank`` (1 = neediest; ties share the better
        rank), ``why`` and ``why_zh``: a sentence a planner can read out, in English
        and in Chinese.
    weights
        The weights as given.
    missing
        Parts no village has, and why; their weight is left out of every score.
    scale
        The divisors behind the parts: ``station_min`` and ``seat_min`` (the longest
        trips) and ``rate`` (the 95th percentile).
    """

    table: pd.DataFrame
    weights: NeedWeights
    missing: Mapping[str, str]
    scale: Mapping[str, float]

    def _check(self) -> None:
        t = self._frame("table")
        s = t["score"].to_numpy(float)
        if np.any((s < -1e-9) | (s > 100 + 1e-9)):
            msg = "need scores must lie in 0-100"
            raise TeamError(msg)
        object.__setattr__(self, "missing", MappingProxyType(dict(self.missing)))
        object.__setattr__(self, "scale", MappingProxyType(dict(self.scale)))


def _share_of(values: np.ndarray, top: float) -> np.ndarray:
    if not np.isfinite(top) or top <= 0:
        return np.where(np.isnan(values), np.nan, 0.0)
    return np.clip(values / top, 0.0, 1.0)


def score_needs(measures: pd.DataFrame, weights: NeedWeights | None = None) -> NeedScores:
    """Score every village of a measures table (:func:`~geo.teams.measures.measure_villages`).

    Pure and vectorised: re-weighting needs no routing. See the module notes for how
    each part is scaled.
    """
    w = weights or NeedWeights()
    need = {"code", "name", "station_min", "seat_min", "road_km", "dark_km", "incidents"}
    lack = sorted(need - set(measures.columns))
    if lack:
        msg = f"the measures table lacks column(s) {', '.join(lack)}"
        raise TeamError(msg)
    t = measures.reset_index(drop=True).copy()
    station = t["station_min"].to_numpy(float)
    seat = t["seat_min"].to_numpy(float)
    top_station = float(np.nanmax(station)) if np.isfinite(station).any() else np.nan
    top_seat = float(np.nanmax(seat)) if np.isfinite(seat).any() else np.nan
    # No road from any station is as remote as it gets, not unknown.
    p_station = np.where(np.isnan(station), 1.0, _share_of(station, top_station))
    p_seat = _share_of(seat, top_seat)
    road = t["road_km"].to_numpy(float)
    p_dark = np.where(road > 0, t["dark_km"].to_numpy(float) / np.where(road > 0, road, 1), np.nan)
    residents = t.get("residents", pd.Series(np.nan, index=t.index)).to_numpy(float)
    count = t["incidents"].to_numpy(float)
    rate = np.where(residents > 0, 1000.0 * count / np.where(residents > 0, residents, 1), np.nan)
    top_rate = float(np.nanpercentile(rate, 95)) if np.isfinite(rate).any() else np.nan
    p_inc = _share_of(rate, top_rate)
    has = t.get("has_officer", pd.Series(np.nan, index=t.index)).to_numpy(float)
    p_off = np.where(np.isnan(has), np.nan, 1.0 - has)
    parts = {"station": p_station, "seat": p_seat, "dark": p_dark, "incidents": p_inc}
    parts["officer"] = p_off
    missing = _missing(parts, t)
    weight = np.array([getattr(w, k) for k in PARTS])
    stack = np.column_stack([parts[k] for k in PARTS])
    usable = ~np.isnan(stack) & (weight[None, :] > 0)
    wsum = (usable * weight[None, :]).sum(axis=1)
    score = 100.0 * np.where(usable, stack, 0.0) @ weight / np.where(wsum > 0, wsum, 1.0)
    t["rate"] = rate
    for k in PARTS:
        t[f"p_{k}"] = parts[k]
    t["score"] = np.round(score, 3)
    t["rank"] = t["score"].rank(ascending=False, method="min").astype(np.int64)
    t["why"], t["why_zh"] = _sentences(t, w, top_station)
    return NeedScores(
        table=t,
        weights=w,
        missing=missing,
        scale={"station_min": top_station, "seat_min": top_seat, "rate": top_rate},
    )


def _missing(parts: Mapping[str, np.ndarray], t: pd.DataFrame) -> dict[str, str]:
    why = {
        "seat": "no township seat is known (no 派出所 or community committee per township)",
        "dark": "no village has a mapped road in its ground",
        "incidents": "no incidents, or no population or households, in the villages layer",
        "officer": "the area has no auxiliary officers layer (--officers)",
    }
    return {k: why[k] for k in why if np.isnan(parts[k]).all()}


def _sentences(t: pd.DataFrame, w: NeedWeights, top_station: float) -> tuple[list[str], list[str]]:
    """Say, per village, what its score is made of, the heaviest part first (en, zh)."""
    en: list[str] = []
    zh: list[str] = []
    cols = {k: t[f"p_{k}"].to_numpy(float) for k in PARTS}
    for i, r in enumerate(t.to_dict("records")):
        said: list[tuple[float, str, str]] = []
        name, sid = r.get("station_name", ""), r.get("station", "")
        # The seat is often the station itself (the township's 派出所): one phrase, not two.
        same = not np.isnan(cols["seat"][i]) and r.get("seat", "") == name
        seat_w = w.seat * cols["seat"][i] if same else 0.0
        if np.isnan(r["station_min"]):
            said.append(
                (w.station, "no road from any station or post", "没有道路通往任何派出所或警务室")
            )
        else:
            at_seat = ", at its township seat" if same else ""
            said.append(
                (
                    w.station * cols["station"][i] + seat_w,
                    f"{r['station_min']:.0f} min from the nearest station {name} ({sid}){at_seat}"
                    f" (the farthest village: {top_station:.0f} min)",
                    f"距最近派出所{name}（{sid}{'，乡镇驻地' if same else ''}）车程"
                    f"{r['station_min']:.0f}分钟（全区最远{top_station:.0f}分钟）",
                )
            )
        if not np.isnan(cols["seat"][i]) and not same:
            said.append(
                (
                    w.seat * cols["seat"][i],
                    f"{r['seat_min']:.0f} min from its township seat {r.get('seat', '')}",
                    f"距乡镇驻地{r.get('seat', '')}车程{r['seat_min']:.0f}分钟",
                )
            )
        if not np.isnan(cols["dark"][i]):
            unlit = r.get("unlit_km", np.nan)
            said.append(
                (
                    w.dark * cols["dark"][i],
                    f"{100 * cols['dark'][i]:.0f}% of its {r['road_km']:.1f} km of road not "
                    f"known to be lit" + (f" ({unlit:.1f} km tagged unlit)" if unlit > 0 else ""),
                    f"{r['road_km']:.1f}公里道路中{100 * cols['dark'][i]:.0f}%未确认有路灯"
                    + (f"（其中{unlit:.1f}公里确认无路灯）" if unlit > 0 else ""),
                )
            )
        if not np.isnan(cols["incidents"][i]):
            d = r.get("disputes", np.nan)
            extra = f", {d:.0f} of them disputes" if np.isfinite(d) else ""
            extra_zh = f"，其中纠纷{d:.0f}起" if np.isfinite(d) else ""
            said.append(
                (
                    w.incidents * cols["incidents"][i],
                    f"{r['rate']:.0f} incidents per 1,000 residents ({r['incidents']:.0f}"
                    f"{extra}, {r['residents']:,.0f} residents)",
                    f"每千人警情{r['rate']:.0f}起（共{r['incidents']:.0f}起{extra_zh}；"
                    f"人口{r['residents']:,.0f}）",
                )
            )
        if not np.isnan(cols["officer"][i]):
            lacks = cols["officer"][i] > 0
            said.append(
                (
                    w.officer * cols["officer"][i],
                    "no auxiliary officer" if lacks else "has an auxiliary officer",
                    "没有辅警" if lacks else "有辅警",
                )
            )
        said.sort(key=lambda p: -p[0])
        en.append(f"{r['name']} scores {r['score']:.0f}: " + "; ".join(p[1] for p in said) + ".")
        zh.append(f"{r['name']}需求分{r['score']:.0f}：" + "；".join(p[2] for p in said) + "。")
    return en, zh
