"""A year of incidents: background calls plus four planted hotspot clusters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geo.sample.frame import SAMPLE_YEAR
from geo.sample.geometry import (
    FloatArray,
    IntArray,
    along_polyline,
    polyline_length,
    to_lonlat,
)
from geo.sample.groups import DarkRoad, Groups
from geo.sample.places import Places
from geo.sample.roads import Net
from geo.sample.skeleton import Skeleton
from geo.sample.tags import Numbering
from geo.sample.units import Stations

__all__ = ["CATEGORIES", "Hotspot", "Incidents", "draw_incidents", "plant_hotspots"]


CATEGORIES = ("theft", "burglary", "fraud", "dispute", "traffic", "lost_property")
_CATEGORY_WEIGHTS = (0.22, 0.08, 0.12, 0.30, 0.18, 0.10)
# Relative frequency by hour of day (0..23). Rural calls peak in the late evening and
# property crime runs through the night, while traffic follows the commute.
_HOUR_PROFILES = (
    (7, 6, 5, 4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 4, 7, 9, 10, 10, 9),  # theft
    (9, 9, 9, 8, 7, 5, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 7, 8),  # burglary
    (2, 1, 1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 2, 3, 3, 3, 3, 3, 4, 6, 7, 7, 5, 3),  # fraud
    (3, 2, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 4, 8, 9, 10, 9, 6),  # dispute
    (2, 1, 1, 1, 1, 2, 4, 8, 8, 5, 4, 4, 4, 4, 4, 5, 6, 8, 8, 6, 4, 3, 3, 2),  # traffic
    (1, 1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 6, 6, 5, 4, 2),  # lost_property
)
_SEVERITY = (  # P(severity = 1, 2, 3) by category
    (0.60, 0.32, 0.08),
    (0.30, 0.50, 0.20),
    (0.40, 0.42, 0.18),
    (0.62, 0.30, 0.08),
    (0.45, 0.35, 0.20),
    (0.92, 0.08, 0.00),
)
_ON_ROAD_SHARE = (0.30, 0.05, 0.05, 0.15, 0.92, 0.35)  # share of each category placed on roads
_DESCRIPTIONS = (
    ("电动车被盗", "农用三轮车电瓶被盗", "鱼塘增氧泵被盗", "手机被盗", "家禽被盗", "电缆被盗"),
    ("入室盗窃，门锁被撬", "夜间翻窗入室盗窃", "空巢老人家中现金被盗", "农家乐仓库被撬"),
    ("冒充客服退款诈骗", "刷单返利诈骗", "冒充熟人借钱诈骗", "保健品推销诈骗"),
    ("邻里宅基地纠纷", "土地流转纠纷", "酒后口角纠纷", "家庭纠纷", "山林权属纠纷", "鸡犬扰邻纠纷"),
    ("两车刮擦", "电动车与小货车相撞", "农用车侧翻", "摩托车夜间撞上路边障碍", "行人被电动车撞伤"),
    ("遗失身份证", "遗失钱包", "遗失手机", "遗失车钥匙"),
)
_MONTH_WEIGHTS = (1.05, 1.10, 0.95, 0.95, 1.00, 1.05, 1.15, 1.15, 1.05, 1.00, 0.95, 0.95)


@dataclass(frozen=True)
class Incidents:
    """Every incident of the sample year, one array entry each, in time order."""

    id: NDArray[np.object_]
    time: NDArray[np.object_]
    category: NDArray[np.object_]
    severity: NDArray[np.int32]
    description: NDArray[np.object_]
    lon: FloatArray
    lat: FloatArray
    cluster: IntArray  # index of the planted hotspot, -1 for background


_Sampler = Callable[[np.random.Generator, int], FloatArray]


@dataclass(frozen=True)
class Hotspot:
    """A planted cluster: where, when and what, and how its incidents are drawn."""

    id: str
    kind: str
    name: str
    centre: FloatArray
    radius_m: float
    n: int
    categories: tuple[float, ...]  # probability of each CATEGORIES entry
    hours: tuple[int, int]  # [start, end) local hour, may wrap past midnight
    days: tuple[int, int]  # first and last day of the year, 0-based
    sample: _Sampler
    osm_ref: str | None = None


def _mix(**share: float) -> tuple[float, ...]:
    """Return category probabilities in :data:`CATEGORIES` order."""
    return tuple(share.get(c, 0.0) for c in CATEGORIES)


def _disc(centre: FloatArray, radius: float) -> _Sampler:
    """Return a sampler peaked at ``centre`` that never leaves 95 % of ``radius``."""

    def draw(g: np.random.Generator, n: int) -> FloatArray:
        r = np.minimum(np.abs(g.normal(0.0, 0.4 * radius, n)), 0.95 * radius)
        th = g.uniform(0.0, 2 * np.pi, n)
        return np.asarray(centre + r[:, None] * np.column_stack([np.cos(th), np.sin(th)]))

    return draw


def _on_polyline(c: FloatArray, s_lo: float, s_hi: float, spread: float) -> _Sampler:
    """Return a sampler of points along ``c`` between arc lengths, a little off the road.

    A point at arc length s lies within |s - s0| + |offset| of the point at s0, so the
    bounds on s and offset bound the distance to a cluster centre on the road.
    """

    def draw(g: np.random.Generator, n: int) -> FloatArray:
        p, t = along_polyline(c, g.uniform(s_lo, s_hi, n))
        side = np.clip(g.normal(0.0, spread, n), -2 * spread, 2 * spread)
        return np.asarray(p + side[:, None] * np.column_stack([-t[:, 1], t[:, 0]]))

    return draw


def plant_hotspots(
    rng: np.random.Generator,
    net: Net,
    sk: Skeleton,
    places: Places,
    stations: Stations,
    n_settle: int,
    numbering: Numbering,
    n_incidents: int,
    dark: DarkRoad,
) -> list[Hotspot]:
    """Choose the four planted clusters and how their incidents are drawn."""
    n_seats = len(places.seat_xy)
    ways = [w for w in net.ways if w.alive]

    def far_from_seats(p: FloatArray) -> bool:
        return bool(np.hypot(*(places.seat_xy - p).T).min() >= 1500.0)

    def count(share: float) -> int:
        return round(share * n_incidents)

    # 1. The market in the central seat: morning theft and lost property.
    market = places.market_xy
    hotspots = [
        Hotspot(
            id="HS-1",
            kind="market",
            name=f"{places.town_stems[0]}集贸市场 / township market",
            centre=market,
            radius_m=150.0,
            n=count(0.035),
            categories=_mix(theft=0.60, dispute=0.15, lost_property=0.25),
            hours=(6, 13),
            days=(0, 364),
            sample=_disc(market, 150.0),
        )
    ]

    # 2. The unlit village road through four groups: night-time theft and crashes
    # along its middle, between the second and third group.
    rc = np.vstack([net.coords(net.ways[wi])[(1 if k else 0) :] for k, wi in enumerate(dark.ways)])
    s0 = 0.5 * polyline_length(rc)
    dark_centre = along_polyline(rc, np.array([s0]))[0][0]
    road_name = net.ways[dark.ways[0]].tags["name"]
    middle = dark.ways[len(dark.ways) // 2]
    hotspots.append(
        Hotspot(
            id="HS-2",
            kind="dark_road",
            name=f"{road_name}无路灯路段 / unlit road through 4 village groups",
            centre=dark_centre,
            radius_m=200.0,
            n=count(0.025),
            categories=_mix(theft=0.45, dispute=0.20, traffic=0.35),
            hours=(20, 4),
            days=(0, 364),
            sample=_on_polyline(rc, s0 - 180.0, s0 + 180.0, 6.0),
            osm_ref=f"way/{numbering.way_ids[middle]}",
        )
    )

    # 3. A crossroads of the county road at a village: traffic through the day.
    degree = np.bincount([j for w in ways for j in (w.a, w.b)], minlength=len(net.jxy))
    primary_ends = sorted({j for w in ways if w.highway == "primary" for j in (w.a, w.b)})
    cand = [
        j
        for j in primary_ends
        if n_seats <= j < n_settle
        and degree[j] >= 3
        and far_from_seats(net.jxy[j])
        and np.hypot(*(net.jxy[j] - dark_centre)) >= 1000.0
    ] or [int(primary_ends[int(np.argmax(degree[primary_ends]))])]
    node = cand[int(rng.integers(0, len(cand)))]
    arms = [
        net.coords(w) if w.a == node else net.coords(w)[::-1] for w in ways if node in (w.a, w.b)
    ]
    arm_samplers = [_on_polyline(c, 0.0, 90.0, 4.0) for c in arms]

    def crossroads(g: np.random.Generator, n: int) -> FloatArray:
        arm = g.integers(0, len(arms), n)
        out = np.empty((n, 2))
        for k, draw in enumerate(arm_samplers):
            sel = arm == k
            out[sel] = draw(g, int(sel.sum()))
        return out

    village = places.stems[node - n_seats] if n_seats <= node < n_settle else "县道"
    hotspots.append(
        Hotspot(
            id="HS-3",
            kind="crossroads",
            name=f"{sk.roads[0].ref}{village}路口 / county-road crossroads",
            centre=net.jxy[node].copy(),
            radius_m=120.0,
            n=count(0.03),
            categories=_mix(theft=0.10, dispute=0.15, traffic=0.75),
            hours=(6, 22),
            days=(0, 364),
            sample=crossroads,
            osm_ref=f"node/{numbering.junction_ids[node]}",
        )
    )

    # 4. The village farthest from any police unit: a night burglary spree from September.
    vxy = places.village_xy
    d_unit = np.hypot(*(vxy[:, None, :] - stations.xy[None]).transpose(2, 0, 1)).min(axis=1)
    d_unit[stations.post_villages] = -1.0
    d_unit[np.hypot(*(vxy - dark_centre).T) < 1000.0] = -1.0
    d_unit[np.hypot(*(vxy - net.jxy[node]).T) < 1000.0] = -1.0
    v = int(np.argmax(d_unit))
    hotspots.append(
        Hotspot(
            id="HS-4",
            kind="remote_village",
            name=f"{places.stems[v]}村（偏远）/ remote village",
            centre=vxy[v].copy(),
            radius_m=250.0,
            n=count(0.02),
            categories=_mix(theft=0.30, burglary=0.60, fraud=0.10),
            hours=(22, 5),
            days=(243, 364),  # September to December: an emerging spree
            sample=_disc(vxy[v].copy(), 250.0),
        )
    )
    return hotspots


def _window_hours(window: tuple[int, int]) -> IntArray:
    start, end = window
    span = (end - start) % 24 or 24
    return np.asarray((start + np.arange(span)) % 24, dtype=np.int64)


def draw_incidents(
    rng: np.random.Generator,
    net: Net,
    places: Places,
    groups: Groups,
    hotspots: list[Hotspot],
    n_incidents: int,
) -> Incidents:
    """Draw background incidents plus the planted clusters, numbered in time order."""
    n_bg = max(0, n_incidents - sum(h.n for h in hotspots))
    n_cat = len(CATEGORIES)

    # Background: the category first, then when, then where (village, town or road).
    cat = rng.choice(n_cat, n_bg, p=np.array(_CATEGORY_WEIGHTS) / sum(_CATEGORY_WEIGHTS))
    hour = np.empty(n_bg, dtype=np.int64)
    for c in range(n_cat):
        sel = cat == c
        prof = np.array(_HOUR_PROFILES[c], dtype=np.float64)
        hour[sel] = rng.choice(24, int(sel.sum()), p=prof / prof.sum())
    month = (np.datetime64(f"{SAMPLE_YEAR}-01-01") + np.arange(365)).astype("datetime64[M]")
    day_w = np.array(_MONTH_WEIGHTS)[month.astype(np.int64) % 12]
    day = rng.choice(365, n_bg, p=day_w / day_w.sum())

    # Off the roads, calls come from where people live: the village groups' houses and
    # the town communities, in proportion to their households.
    comm_hh = places.community_pop / places.community_hh
    place_xy = np.vstack([groups.xy, places.community_xy])
    place_pop = np.concatenate([groups.households, comm_hh]).astype(np.float64)
    # Towns sprawl wider than hamlets.
    place_sd = np.repeat([60.0, 200.0], [len(groups.xy), len(places.community_xy)])
    live = [i for i, w in enumerate(net.ways) if w.alive and w.role != "planted"]
    segs, _, _, owner = net.segments(live)
    seg_hw = np.array([net.ways[wi].highway for wi in owner])
    seg_len = np.hypot(*(segs[:, 1] - segs[:, 0]).T)
    road_w = {  # (traffic, other) weight per metre of road
        "primary": (6.0, 2.0), "secondary": (4.0, 1.5), "tertiary": (3.0, 1.5),
        "unclassified": (1.5, 1.0), "residential": (2.0, 2.5), "service": (0.5, 1.0),
        "track": (0.3, 0.5),
    }  # fmt: skip
    xy = np.empty((n_bg, 2))
    on_road = rng.random(n_bg) < np.array(_ON_ROAD_SHARE)[cat]
    is_traffic = cat == CATEGORIES.index("traffic")
    for col, sel in ((0, on_road & is_traffic), (1, on_road & ~is_traffic)):
        w = seg_len * np.array([road_w[h][col] for h in seg_hw])
        k = rng.choice(len(segs), int(sel.sum()), p=w / w.sum())
        a, b = segs[k, 0], segs[k, 1]
        t = (b - a) / seg_len[k, None]
        along = rng.random(len(k))[:, None] * (b - a)
        side = rng.normal(0.0, 6.0, len(k))[:, None] * np.column_stack([-t[:, 1], t[:, 0]])
        xy[sel] = a + along + side
    k = rng.choice(len(place_xy), int((~on_road).sum()), p=place_pop / place_pop.sum())
    xy[~on_road] = place_xy[k] + rng.normal(0.0, 1.0, (len(k), 2)) * place_sd[k, None]

    cats, hours, days, pts = [cat], [hour], [day], [xy]
    clusters = [np.full(n_bg, -1, dtype=np.int64)]
    for hi, h in enumerate(hotspots):
        cats.append(rng.choice(n_cat, h.n, p=np.array(h.categories) / sum(h.categories)))
        window = _window_hours(h.hours)
        # Activity builds up and tails off within the window rather than being flat.
        hw = np.sin(np.pi * (np.arange(len(window)) + 0.5) / len(window)) + 0.3
        hours.append(window[rng.choice(len(window), h.n, p=hw / hw.sum())])
        days.append(rng.integers(h.days[0], h.days[1] + 1, h.n))
        pts.append(h.sample(rng, h.n))
        clusters.append(np.full(h.n, hi, dtype=np.int64))
    cat = np.concatenate(cats)
    xy = np.concatenate(pts)
    seconds = (
        np.concatenate(days) * 86400
        + np.concatenate(hours) * 3600
        + rng.integers(0, 3600, len(cat))
    )
    sev_p = np.cumsum(np.array(_SEVERITY)[cat], axis=1)
    severity = 1 + (rng.random(len(cat))[:, None] > sev_p[:, :2]).sum(axis=1)
    pick = rng.random(len(cat))
    desc = np.array(
        [_DESCRIPTIONS[c][int(p * len(_DESCRIPTIONS[c]))] for c, p in zip(cat, pick, strict=True)],
        dtype=object,
    )

    order = np.argsort(seconds, kind="stable")
    start = np.datetime64(f"{SAMPLE_YEAR}-01-01T00:00:00", "s")
    stamps = np.datetime_as_string(start + seconds[order].astype("timedelta64[s]"), unit="s")
    lonlat = to_lonlat(xy[order])
    width = max(6, len(str(len(cat))))
    return Incidents(
        id=np.array([f"INC-{k + 1:0{width}d}" for k in range(len(cat))], dtype=object),
        time=np.array([f"{s}+08:00" for s in stamps], dtype=object),
        category=np.array(CATEGORIES, dtype=object)[cat[order]],
        severity=severity[order].astype(np.int32),
        description=desc[order],
        lon=lonlat[:, 0],
        lat=lonlat[:, 1],
        cluster=np.concatenate(clusters)[order],
    )
