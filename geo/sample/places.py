"""Settlements: township seats, villages, their names, and the sites beside the roads.

Seats, village junctions and gateways are placed before any road exists; the road
network is then built between them (:mod:`geo.sample.roads`), and only afterwards are
village centres, town communities, the police-station sites and the market set beside
the finished roads (:func:`place_points`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from geo.sample.frame import X_HALF, Y_HALF
from geo.sample.geometry import (
    FloatArray,
    IntArray,
    direction,
    gaps,
    ray_to_box,
    rotate,
    segment_lines,
    unit,
)
from geo.sample.roads import Net
from geo.sample.skeleton import Skeleton
from geo.sample.terrain import Terrain

__all__ = [
    "SURNAMES",
    "Places",
    "gateways",
    "place_points",
    "place_seats",
    "place_villages",
    "town_names",
    "village_names",
]


SURNAMES = (
    "张王李刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯董程曹袁邓许沈曾彭吕"
    "蔡丁魏叶余潘杜戴夏汪田任姜范方石姚谭廖邹熊金陆郝孔白毛邱江万段雷钱汤易龚涂柯喻"
)
_TERRAIN = "湾冲岗畈河咀店岭垸塘桥寨集庙港坡山墩园湖"
_PREFIXES = "大小上下新老"
# Invented seat names, checked against the NBS list of Wuhan's township-level units.
_TOWN_STEMS = (
    "松岭", "青石", "桃源", "柳塘", "梅店", "杉林", "云岭",
    "竹溪", "兰溪", "枫林", "金桥", "槐荫", "芦塘", "栗园",
)  # fmt: skip
_COMMUNITY_NAMES = ("新华社区", "建设社区", "向阳社区", "和平社区", "胜利社区", "红星社区")


def place_seats(rng: np.random.Generator) -> FloatArray:
    """Place three township seats roughly in a line: middle seat first, then both ends."""
    inner = np.array([X_HALF - 2300.0, Y_HALF - 2300.0])
    for _ in range(200):
        phi = rng.uniform(0.0, np.pi)
        mid = rng.uniform(-1200.0, 1200.0, 2)
        dist = rng.uniform(5200.0, 6600.0, 2)
        ang = np.array([phi, phi + np.pi]) + rng.normal(0.0, 0.18, 2)
        ends = mid + dist[:, None] * np.column_stack([np.cos(ang), np.sin(ang)])
        seats = np.vstack([mid, ends])
        if np.all(np.abs(seats) <= inner):
            return np.asarray(seats, dtype=np.float64)
    return np.array([[0.0, 0.0], [-6000.0, -500.0], [6000.0, 500.0]])


def place_villages(
    rng: np.random.Generator, n: int, seats: FloatArray, terrain: Terrain
) -> FloatArray:
    """Scatter village road junctions with a minimum spacing, sparser in the hills."""
    lo = np.array([-X_HALF + 700.0, -Y_HALF + 700.0])
    hi = -lo
    area = float(np.prod(hi - lo))
    d_min = 0.62 * math.sqrt(area / n)
    accepted = np.empty((n, 2))
    count = 0
    for _ in range(30):
        cand = rng.uniform(lo, hi, size=(40 * n, 2))
        keep = rng.random(len(cand)) < 1.0 - 0.6 * terrain.hill(cand)
        d_seat = np.hypot(*(cand[:, None, :] - seats[None, :, :]).transpose(2, 0, 1)).min(axis=1)
        cand = cand[keep & (d_seat >= 1300.0)]
        # Dart throwing is sequential by nature: each acceptance changes the next test.
        for p in cand:
            if count == 0 or np.hypot(*(accepted[:count] - p).T).min() >= d_min:
                accepted[count] = p
                count += 1
                if count == n:
                    return accepted
        d_min *= 0.93
    msg = f"could not place {n} villages"  # unreachable for the validated range
    raise RuntimeError(msg)


def gateways(rng: np.random.Generator, seats: FloatArray) -> FloatArray:
    """Return where roads leave the district: two county-road ends, two side roads."""
    mid, a, c = seats
    out_a = rotate(unit(a - mid), rng.normal(0.0, 0.2))
    out_c = rotate(unit(c - mid), rng.normal(0.0, 0.2))
    side = 1.0 if rng.random() < 0.5 else -1.0
    perp = rotate(unit(a - mid), side * np.pi / 2)
    g = [
        ray_to_box(a, out_a),
        ray_to_box(c, out_c),
        ray_to_box(mid, rotate(perp, rng.normal(0.0, 0.25))),
        ray_to_box(a, rotate(-perp, rng.normal(0.0, 0.25))),
    ]
    return np.asarray(np.vstack(g), dtype=np.float64)


def village_names(rng: np.random.Generator, n: int) -> list[str]:
    """Return ``n`` distinct village stems like 张家湾, 李畈, 夏王, 大简湾."""
    names: list[str] = []
    seen: set[str] = set()  # membership only, never iterated
    while len(names) < n:
        m = 4 * n
        pattern = rng.choice(4, size=m, p=[0.55, 0.25, 0.10, 0.10])
        s1 = rng.integers(0, len(SURNAMES), m)
        s2 = rng.integers(0, len(SURNAMES), m)
        t = rng.integers(0, len(_TERRAIN), m)
        pre = rng.integers(0, len(_PREFIXES), m)
        for k in range(m):
            sur, ter = SURNAMES[s1[k]], _TERRAIN[t[k]]
            if pattern[k] == 0:
                stem = f"{sur}家{ter}"
            elif pattern[k] == 1:
                stem = f"{sur}{ter}"
            elif pattern[k] == 2:
                if s1[k] == s2[k]:
                    continue
                stem = f"{sur}{SURNAMES[s2[k]]}"
            else:
                stem = f"{_PREFIXES[pre[k]]}{sur}{ter}"
            if stem not in seen:
                seen.add(stem)
                names.append(stem)
                if len(names) == n:
                    break
    return names


def town_names(rng: np.random.Generator, n: int) -> list[str]:
    """Return ``n`` distinct township-seat stems like 松岭, drawn without replacement."""
    return [_TOWN_STEMS[i] for i in rng.permutation(len(_TOWN_STEMS))[:n]]


@dataclass(frozen=True)
class Places:
    """Settlement points: village centres, seat communities, station and market sites."""

    stems: list[str]  # village name stems (张家湾), in village order
    town_stems: list[str]  # seat name stems (松岭), in seat order
    township: IntArray  # seat index of each village
    anchor_xy: FloatArray  # road junction of each village
    village_xy: FloatArray  # village centre, beside its road
    village_pop: IntArray
    village_hh: FloatArray  # persons per household
    code_gap: NDArray[np.bool_]  # whether the village's code skips a number
    seat_xy: FloatArray
    community_xy: FloatArray
    community_seat: IntArray
    community_names: list[str]
    community_pop: IntArray
    community_hh: FloatArray
    station_xy: FloatArray  # the police station site in each seat
    market_xy: FloatArray  # the market in the central seat

    def households(self) -> IntArray:
        """Return each village's households, as villages.csv states them."""
        return np.array(
            [
                round(int(p) / float(h))
                for p, h in zip(self.village_pop, self.village_hh, strict=True)
            ],
            dtype=np.int64,
        )


def place_points(
    rng: np.random.Generator,
    net: Net,
    sk: Skeleton,
    n_seats: int,
    n_settle: int,
    gate_r: FloatArray,
    township: IntArray,
    population: IntArray,
    stems: list[str],
    town_stems: list[str],
) -> Places:
    """Place village centres beside their roads, town communities, station sites."""
    segs, *_ = net.segments(net.alive())
    tree = shapely.STRtree(segment_lines(segs))
    heads = net.headings()
    n_villages = n_settle - n_seats
    village_xy = np.empty((n_villages, 2))
    dist = rng.uniform(70.0, 130.0, n_villages)
    for v in range(n_seats, n_settle):
        starts, widths = gaps(heads[v])
        # Prefer the widest gap between roads; fall back if another road passes close.
        for g in range(min(3, len(widths))):
            p = net.jxy[v] + dist[v - n_seats] * direction(float(starts[g] + widths[g] / 2))
            _, d = tree.query_nearest(shapely.points(p), return_distance=True)
            if d[0] >= 30.0:
                break
        village_xy[v - n_seats] = p

    community_xy, community_seat, community_names = [], [], []
    station_xy = np.empty((n_seats, 2))
    extra_names = [_COMMUNITY_NAMES[i] for i in rng.permutation(len(_COMMUNITY_NAMES))]
    market = np.zeros(2)
    for s in range(n_seats):
        r = float(gate_r[s])
        lane = next(w for w in net.ways if w.role == "service" and w.seat == s and w.alive)
        tip = net.jxy[lane.b]
        station_xy[s] = tip + 18.0 * unit(tip - net.jxy[s])
        starts, widths = gaps(heads[s])
        for k in range(1 + int(rng.random() < 0.6)):
            g = min(k, len(widths) - 1)
            # The widest gap holds the service lane on its bisector; stay off it.
            shift = (0.25 if rng.random() < 0.5 else -0.25) if g == 0 else 0.0
            heading = float(starts[g] + widths[g] * (0.5 + shift))
            community_xy.append(net.jxy[s] + 0.45 * r * direction(heading))
            community_seat.append(s)
            community_names.append(f"{town_stems[s]}社区" if k == 0 else extra_names[s])
        if s == 0:
            # The market sits beside the county road's main street in the central seat.
            main = next(
                w for w in net.ways if w.role == "town" and w.seat == 0 and w.highway == "primary"
            )
            axis = unit(net.jxy[main.b if main.a == 0 else main.a] - net.jxy[0])
            market = net.jxy[0] + 0.55 * r * axis + 35.0 * rotate(axis, np.pi / 2)

    n_comm = len(community_xy)
    return Places(
        stems=stems,
        town_stems=town_stems,
        township=township,
        anchor_xy=sk.pts[n_seats:n_settle].copy(),
        village_xy=village_xy,
        village_pop=population,
        village_hh=rng.uniform(2.95, 3.45, n_villages),
        code_gap=rng.random(n_villages) < 0.3,
        seat_xy=sk.pts[:n_seats].copy(),
        community_xy=np.array(community_xy),
        community_seat=np.array(community_seat, dtype=np.int64),
        community_names=community_names,
        community_pop=rng.integers(2500, 6001, n_comm).astype(np.int64),
        community_hh=rng.uniform(2.8, 3.2, n_comm),
        station_xy=station_xy,
        market_xy=market,
    )
