"""Police units of the sample district: stations, posts, vanguard teams, auxiliary officers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.sample.geometry import FloatArray, IntArray, direction
from geo.sample.groups import Groups
from geo.sample.places import SURNAMES, Places

__all__ = [
    "Officers",
    "Stations",
    "Team",
    "city_team_rows",
    "make_officers",
    "make_stations",
    "make_teams",
]

_OFFICER_GIVEN = (
    "卫国", "建华", "志刚", "红梅", "海燕", "国庆", "建军", "秀英",
    "振华", "立新", "春生", "德明", "桂兰", "永强", "玉兰", "光明",
)  # fmt: skip
_SKILLS = ("patrol", "mediation", "first_aid", "fire", "traffic")
_AUX_GIVEN = (
    "志强", "丽娟", "小军", "文斌", "海涛", "晓燕", "俊杰", "春燕",
    "建平", "红霞", "伟东", "静", "勇", "磊", "明辉", "丹丹",
    "国华", "爱民", "新民", "小红", "志勇", "美玲", "长江", "汉生",
)  # fmt: skip
_PHONE_PREFIXES = ("135", "137", "139", "150", "158", "186", "189")


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
    leader: str
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
    """Return 6-10 vanguard teams, each based at (or beside) a police station or post.

    A team is named after its leader, as many are (王卫国先锋队 is led by 王卫国), so the
    leader costs no draw and the teams of a seed are those drawn before leaders existed.
    """
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
        leader = f"{SURNAMES[surnames[k]]}{_OFFICER_GIVEN[given[k]]}"
        teams.append(
            Team(
                id=f"VT-{k + 1:02d}",
                name=f"{leader}先锋队",
                home_unit=stations.ids[h],
                members=int(rng.integers(8, 13)),
                skills=";".join([_SKILLS[0], *extra]),
                leader=leader,
                xy=stations.xy[h] + offset,
            )
        )
    return teams


def city_team_rows(
    rng: np.random.Generator, units: list[tuple[str, float, float]], prefix: str
) -> list[list[str]]:
    """Return teams.csv rows of one team per city unit (id, lon, lat), as :func:`make_teams`'.

    A city's police send vanguard teams to villages far outside it: these are the
    teams whose trips cross district borders.
    """
    surnames = rng.choice(len(SURNAMES), len(units), replace=False)
    given = rng.choice(len(_OFFICER_GIVEN), len(units), replace=False)
    rows = []
    for k, (unit, lon, lat) in enumerate(units):
        extra = [s for s in _SKILLS[1:] if rng.random() < 0.45] or [_SKILLS[1]]
        leader = f"{SURNAMES[surnames[k]]}{_OFFICER_GIVEN[given[k]]}"
        rows.append(
            [f"{prefix}VT-{k + 1:02d}", f"{leader}先锋队", unit, str(int(rng.integers(8, 13))),
             ";".join([_SKILLS[0], *extra]), leader, f"{lon:.7f}", f"{lat:.7f}"]
        )  # fmt: skip
    return rows


@dataclass(frozen=True)
class Officers:
    """Auxiliary officers (辅警), one entry each: the village served and the home.

    ``village`` is the village index (0-based, villages only), -1 for an officer not
    yet placed; ``unit`` the id of the station they report to.
    """

    ids: list[str]
    names: list[str]
    village: IntArray
    phones: list[str]
    units: list[str]
    xy: FloatArray


def make_officers(
    rng: np.random.Generator, places: Places, groups: Groups, stations: Stations
) -> Officers:
    """Return the auxiliary officers: about one per village, with gaps to fill.

    Most villages have one officer, three to five of the larger ones two, two or three
    villages none (the gaps "one village, one auxiliary officer" must fill), and one or
    two officers are not yet placed. A placed officer lives at one of their village's
    groups (two officers of one village at two groups); an unplaced one near a police
    station. Communities get none: the policy is for villagers' committees.

    ``rng`` must be a generator of its own: drawing officers from the district's one
    stream would change every layer drawn after them.
    """
    n_v = len(places.village_xy)
    n_gaps = int(rng.integers(2, 4))
    n_twos = int(rng.integers(3, 6))
    n_free = int(rng.integers(1, 3))
    gaps = rng.choice(n_v, n_gaps, replace=False)
    count = np.ones(n_v, dtype=np.int64)
    count[gaps] = 0
    # Larger villages are the ones given a second officer.
    weight = places.village_pop.astype(float) * (count > 0)
    count[rng.choice(n_v, n_twos, replace=False, p=weight / weight.sum())] = 2
    seat_station = {
        t: sid
        for sid, kind, t in zip(stations.ids, stations.kinds, stations.township, strict=True)
        if kind == "station"
    }
    village = np.repeat(np.arange(n_v), count)
    xy: list[FloatArray] = []
    units: list[str] = []
    for v, k in zip(np.flatnonzero(count), count[count > 0], strict=True):
        own = np.flatnonzero(groups.village == v)
        for g in rng.choice(own, int(k), replace=False):
            jitter = rng.uniform(10.0, 40.0) * direction(float(rng.uniform(0.0, 2 * np.pi)))
            xy.append(groups.xy[g] + jitter)
            units.append(seat_station[int(places.township[v])])
    at = [k for k, kind in enumerate(stations.kinds) if kind == "station"]
    for s in rng.choice(at, n_free, replace=False):
        away = rng.uniform(150.0, 500.0) * direction(float(rng.uniform(0.0, 2 * np.pi)))
        xy.append(stations.xy[s] + away)
        units.append(stations.ids[s])
    village = np.concatenate([village, np.full(n_free, -1, dtype=np.int64)])
    n = len(village)
    # Distinct full names: pairs drawn without replacement from surname x given name.
    pairs = rng.choice(len(SURNAMES) * len(_AUX_GIVEN), n, replace=False)
    names = [f"{SURNAMES[i // len(_AUX_GIVEN)]}{_AUX_GIVEN[i % len(_AUX_GIVEN)]}" for i in pairs]
    # Masked as offices export them (138****1234): no number here can be dialled.
    phones = [
        f"{_PHONE_PREFIXES[int(rng.integers(len(_PHONE_PREFIXES)))]}****"
        f"{int(rng.integers(10_000)):04d}"
        for _ in range(n)
    ]
    return Officers(
        ids=[f"FJ-{k + 1:03d}" for k in range(n)],
        names=names,
        village=village,
        phones=phones,
        units=units,
        xy=np.array(xy),
    )
