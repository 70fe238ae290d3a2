"""Police units of the sample district: stations, posts and vanguard teams."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.sample.geometry import FloatArray, direction
from geo.sample.places import SURNAMES, Places

__all__ = ["Stations", "Team", "make_stations", "make_teams"]

_OFFICER_GIVEN = (
    "卫国", "建华", "志刚", "红梅", "海燕", "国庆", "建军", "秀英",
    "振华", "立新", "春生", "德明", "桂兰", "永强", "玉兰", "光明",
)  # fmt: skip
_SKILLS = ("patrol", "mediation", "first_aid", "fire", "traffic")


@dataclass(frozen=True)
class Stations:
    """Police stations (one per seat) and posts, with the villages the posts stand in."""

    ids: list[str]
    names: list[str]
    kinds: list[str]
    township: list[int]
    xy: FloatArray
    post_villages: list[int]


@dataclass(frozen=True)
class Team:
    """One vanguard team and the unit it is based at."""

    id: str
    name: str
    home_unit: str
    members: int
    skills: str
    xy: FloatArray


def make_stations(rng: np.random.Generator, places: Places) -> Stations:
    """Return one 派出所 per seat and one or two 警务室 posts at remote villages."""
    n_seats = len(places.seat_xy)
    vxy, axy = places.village_xy, places.anchor_xy
    d_seat = np.hypot(*(axy[:, None, :] - places.seat_xy[None]).transpose(2, 0, 1)).min(axis=1)
    order = np.argsort(-d_seat, kind="stable")
    posts = [int(order[0])]
    if rng.random() < 0.6:
        far = order[np.hypot(*(axy[order] - axy[order[0]]).T) >= 4000.0]
        if far.size:
            posts.append(int(far[0]))
    # A post stands between the road junction and the village centre.
    xy = [*places.station_xy, *(axy[v] + 0.5 * (vxy[v] - axy[v]) for v in posts)]
    return Stations(
        ids=[f"PS-{k + 1:02d}" for k in range(len(xy))],
        names=[f"{s}派出所" for s in places.town_stems]
        + [f"{places.stems[v]}警务室" for v in posts],
        kinds=["station"] * n_seats + ["post"] * len(posts),
        township=list(range(n_seats)) + [int(places.township[v]) for v in posts],
        xy=np.array(xy),
        post_villages=posts,
    )


def make_teams(rng: np.random.Generator, stations: Stations) -> list[Team]:
    """Return 6-10 vanguard teams, each based at (or beside) a police station or post."""
    n_st = len(stations.ids)
    n = int(rng.integers(6, 11))
    weight = np.array([2.0 if k == "station" else 1.0 for k in stations.kinds])
    home = np.concatenate([np.arange(n_st), rng.choice(n_st, n - n_st, p=weight / weight.sum())])
    home = np.sort(home, kind="stable")
    surnames = rng.choice(len(SURNAMES), n, replace=False)
    given = rng.choice(len(_OFFICER_GIVEN), n, replace=False)
    teams = []
    for k in range(n):
        h = int(home[k])
        offset = np.zeros(2)
        if k > 0 and home[k - 1] == h:
            # A second team at the same unit is based next door, not on the same spot.
            offset = rng.uniform(25.0, 60.0) * direction(float(rng.uniform(0.0, 2 * np.pi)))
        extra = [s for s in _SKILLS[1:] if rng.random() < 0.45] or [_SKILLS[1]]
        teams.append(
            Team(
                id=f"VT-{k + 1:02d}",
                name=f"{SURNAMES[surnames[k]]}{_OFFICER_GIVEN[given[k]]}先锋队",
                home_unit=stations.ids[h],
                members=int(rng.integers(8, 13)),
                skills=";".join([_SKILLS[0], *extra]),
                xy=stations.xy[h] + offset,
            )
        )
    return teams
