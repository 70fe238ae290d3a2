"""Generate the embedded synthetic sample district, deterministically.

The sample is an invented rural district on the northern edge of Wuhan (think north
Huangpi: paddy plain in the south, low hills in the north, a village every one to two
kilometres, a county road strung through three township seats). It is the default input
of ``make demo``, of the docs and of the tests, so it carries everything the later
analyses need: a routable OSM road network with lit/unlit tags, villages with
population, police stations, vanguard teams, a year of incidents and the ground truth of
four planted hotspots.

Everything is drawn from one ``numpy.random.default_rng(seed)`` stream in a fixed order
and written with fixed float formatting, so one seed always gives byte-identical files.

How the road network is built
-----------------------------
Settlements (seats, villages and the points where roads leave the district) are joined
by a Delaunay triangulation, which is planar. County roads are shortest paths through
it, township roads join seats to their larger villages, the minimum spanning tree
reaches every village, and a thinned share of the remaining edges become extra village
roads and tracks. Every edge is then bent into a gently curving polyline; wherever the
bending brings two roads closer than :data:`_CLEARANCE_M` without a shared node, the
bend is relaxed (straight Delaunay edges cannot cross) or an optional road is dropped,
so roads only ever meet at junction nodes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree
from scipy.spatial import Delaunay

from geo.errors import PinganError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

SAMPLE_DISTRICT_CODE = "420199"
"""Fictional six-digit district code of the sample (no Wuhan district uses it)."""

SAMPLE_DISTRICT_NAME = "示范区（合成）"
"""Name of the sample district."""

SYNTHETIC_LABEL = "合成示例数据 / SYNTHETIC SAMPLE DATA — not real places or incidents"
"""Label written into every sample file that can carry one."""

SAMPLE_BOUNDS = (114.25, 30.95, 114.45, 31.10)
"""West, south, east, north bounds (WGS84 degrees) of the sample district."""

SAMPLE_YEAR = 2025
"""Calendar year the sample incidents fall in."""

N_VILLAGES_RANGE = (60, 120)
"""Allowed range (inclusive) of the ``n_villages`` parameter."""

# Local metric frame centred on the district; the half-extents keep every node inside
# SAMPLE_BOUNDS at any latitude of the box (0.1 deg of longitude is 9.53 km at 31.1 N).
_LON0, _LAT0 = 114.35, 31.025
_X_HALF, _Y_HALF = 9450.0, 8290.0
_WGS84_A = 6378137.0
_WGS84_E2 = 6.69437999014e-3

# Two roads without a shared node are kept at least this far apart, which also keeps the
# rounding of coordinates to 7 decimals (about 1 cm) from ever creating a crossing.
_CLEARANCE_M = 15.0
_MUST_KEEP = 9  # way priority that conflict resolution never drops

_SEAT_GATE_M = (300.0, 360.0)  # radius of a seat's town core, where county roads turn into streets

_FILE_NAMES = {
    "roads": "roads.osm",
    "villages": "villages.csv",
    "stations": "stations.geojson",
    "teams": "teams.csv",
    "incidents": "incidents.gpkg",
    "hotspots_truth": "hotspots_truth.geojson",
    "readme": "README.txt",
}

# -- names ------------------------------------------------------------------------------

_SURNAMES = (
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
_STREET_NAMES = (
    "建设路", "人民路", "解放街", "新街", "文化路", "幸福路", "和平街", "商贸街",
    "中心街", "兴业路", "育才路", "老街", "正街", "友谊路", "民主街", "团结路",
)  # fmt: skip
_COMMUNITY_NAMES = ("新华社区", "建设社区", "向阳社区", "和平社区", "胜利社区", "红星社区")
_ROAD_CHARS = "河湖港山桥畈冲店"
_OFFICER_GIVEN = (
    "卫国", "建华", "志刚", "红梅", "海燕", "国庆", "建军", "秀英",
    "振华", "立新", "春生", "德明", "桂兰", "永强", "玉兰", "光明",
)  # fmt: skip
_SKILLS = ("patrol", "mediation", "first_aid", "fire", "traffic")

# -- incidents --------------------------------------------------------------------------

_CATEGORIES = ("theft", "burglary", "fraud", "dispute", "traffic", "lost_property")
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


# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleFiles:
    """Paths of the files written by :func:`generate_sample`, and the seed used.

    Attributes
    ----------
    roads
        OSM XML 0.6 road network (``roads.osm``).
    villages
        Villages and communities with population (``villages.csv``).
    stations
        Police stations and posts (``stations.geojson``).
    teams
        Vanguard teams (``teams.csv``).
    incidents
        One year of incidents (``incidents.gpkg``, layer ``incidents``).
    hotspots_truth
        Ground truth of the planted hotspot clusters (``hotspots_truth.geojson``).
    readme
        Plain-text description of the sample (``README.txt``).
    seed
        Seed the files were generated from.
    """

    roads: Path
    villages: Path
    stations: Path
    teams: Path
    incidents: Path
    hotspots_truth: Path
    readme: Path
    seed: int

    @property
    def paths(self) -> tuple[Path, ...]:
        """Return every written path, in a fixed order."""
        return (
            self.roads,
            self.villages,
            self.stations,
            self.teams,
            self.incidents,
            self.hotspots_truth,
            self.readme,
        )


def generate_sample(
    out_dir: str | Path,
    *,
    seed: int = 2023,
    n_villages: int = 90,
    n_incidents: int = 5000,
) -> SampleFiles:
    """Write the synthetic sample district into ``out_dir``.

    The same arguments always produce byte-identical files; different seeds give
    different districts. The roads, villages, stations and teams depend only on ``seed``
    and ``n_villages``, so ``n_incidents`` can be lowered for quick runs without changing
    the map. Files are first written under temporary names and only moved into place
    once all of them are complete, so a failed run leaves no partial file.

    Parameters
    ----------
    out_dir
        Folder to write into; created if missing. Existing sample files are replaced.
    seed
        Seed of the random generator (a non-negative integer).
    n_villages
        Number of villagers' committees, within :data:`N_VILLAGES_RANGE`.
    n_incidents
        Number of incidents over the sample year (a positive integer).

    Returns
    -------
    SampleFiles
        The written paths and the seed.

    Raises
    ------
    PinganError
        If a parameter is out of range or ``out_dir`` is not a folder.
    """
    _check_int("seed", seed, low=0)
    _check_int("n_villages", n_villages, low=N_VILLAGES_RANGE[0], high=N_VILLAGES_RANGE[1])
    _check_int("n_incidents", n_incidents, low=1)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        msg = f"out_dir {str(out)!r} exists and is not a directory"
        raise PinganError(msg)

    district = _build_district(int(seed), int(n_villages), int(n_incidents))

    out.mkdir(parents=True, exist_ok=True)
    files = SampleFiles(
        roads=out / _FILE_NAMES["roads"],
        villages=out / _FILE_NAMES["villages"],
        stations=out / _FILE_NAMES["stations"],
        teams=out / _FILE_NAMES["teams"],
        incidents=out / _FILE_NAMES["incidents"],
        hotspots_truth=out / _FILE_NAMES["hotspots_truth"],
        readme=out / _FILE_NAMES["readme"],
        seed=int(seed),
    )
    _write_atomically(district, files)
    return files


def _check_int(name: str, value: object, *, low: int, high: int | None = None) -> None:
    # bool is an int subclass, but True villages is a bug, not a count.
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        msg = f"{name} must be an integer, got {value!r}"
        raise PinganError(msg)
    if high is None and value < low:
        msg = f"{name} must be an integer >= {low}, got {value}"
        raise PinganError(msg)
    if high is not None and not low <= value <= high:
        msg = f"{name} must be an integer in {low}..{high}, got {value}"
        raise PinganError(msg)


# ---------------------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------------------


def _to_lonlat(xy: FloatArray) -> FloatArray:
    """Convert local metric coordinates to WGS84 lon/lat, rounded to 7 decimals."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    s0 = math.sin(math.radians(_LAT0))
    m0 = _WGS84_A * (1 - _WGS84_E2) / (1 - _WGS84_E2 * s0 * s0) ** 1.5
    lat = _LAT0 + np.degrees(xy[:, 1] / m0)
    lat_r = np.radians(lat)
    # Each point uses the prime-vertical radius at its own latitude, so east-west
    # distances stay true across the 16 km of the box.
    n = _WGS84_A / np.sqrt(1 - _WGS84_E2 * np.sin(lat_r) ** 2)
    lon = _LON0 + np.degrees(xy[:, 0] / (n * np.cos(lat_r)))
    return np.round(np.column_stack([lon, lat]), 7)


def _unit(v: FloatArray) -> FloatArray:
    return np.asarray(v / np.linalg.norm(v), dtype=np.float64)


def _rot(v: FloatArray, angle: float) -> FloatArray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def _dir(angle: float) -> FloatArray:
    return np.array([math.cos(angle), math.sin(angle)])


def _ray_to_box(p: FloatArray, d: FloatArray, margin: float = 15.0) -> FloatArray:
    """Return where the ray from ``p`` along ``d`` leaves the (inset) district box."""
    lim = np.array([_X_HALF - margin, _Y_HALF - margin])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(d > 0, (lim - p) / d, np.where(d < 0, (-lim - p) / d, np.inf))
    return np.asarray(p + d * float(t.min()), dtype=np.float64)


def _gaps(angles: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return start angles and widths of the angular gaps between directions, widest first."""
    a = np.sort(np.mod(angles, 2 * np.pi))
    if a.size == 0:
        return np.zeros(1), np.full(1, 2 * np.pi)
    widths = np.diff(np.append(a, a[0] + 2 * np.pi))
    order = np.argsort(-widths, kind="stable")
    return a[order], widths[order]


def _curve(p: FloatArray, q: FloatArray, coef: FloatArray, spacing: float) -> FloatArray:
    """Return the interior shape points of a gently bent road from ``p`` to ``q``.

    The lateral offset is a short sine series that vanishes at both ends, so the road
    leaves each junction close to its chord direction.
    """
    d = q - p
    length = float(np.hypot(d[0], d[1]))
    n = max(1, math.ceil(length / spacing))
    t = np.arange(1, n) / n
    harmonics = np.array([1.0, 2.0, 3.0, 5.0])
    lateral = length * (np.sin(np.pi * np.outer(t, harmonics)) @ coef)
    normal = np.array([-d[1], d[0]]) / length
    return np.asarray(p + np.outer(t, d) + np.outer(lateral, normal), dtype=np.float64)


def _bend(rng: np.random.Generator, length: float, wiggle: float) -> FloatArray:
    """Draw sine-series coefficients of a gentle bend, capped at 12 % of the chord."""
    coef = rng.normal(0.0, [0.05, 0.025, 0.012, 0.004]) * wiggle
    t = np.linspace(0.0, 1.0, 41)
    peak = float(np.abs(np.sin(np.pi * np.outer(t, [1.0, 2.0, 3.0, 5.0])) @ coef).max())
    cap = min(0.12, 250.0 / max(length, 1.0))
    if peak > cap:
        coef *= cap / peak
    return np.asarray(coef, dtype=np.float64)


def _lines(segs: FloatArray) -> NDArray[np.object_]:
    """Return one shapely LineString per ``(2, 2)`` segment of ``segs``."""
    return np.asarray(shapely.linestrings(segs), dtype=object)


def _polyline_length(c: FloatArray) -> float:
    return float(np.hypot(*np.diff(c, axis=0).T).sum())


def _along(c: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return points at arc lengths ``s`` along polyline ``c`` and the unit tangents there."""
    seg = np.diff(c, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    pts = np.column_stack([np.interp(s, cum, c[:, 0]), np.interp(s, cum, c[:, 1])])
    k = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(seg_len) - 1)
    return pts, seg[k] / seg_len[k, None]


# ---------------------------------------------------------------------------------------
# Terrain and settlements
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Terrain:
    """Hilliness in 0..1 from a few Gaussian hills, concentrated in the north."""

    centres: FloatArray
    sigmas: FloatArray
    heights: FloatArray

    def hill(self, xy: FloatArray) -> FloatArray:
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        d2 = ((xy[:, None, :] - self.centres[None, :, :]) ** 2).sum(axis=2)
        bumps = self.heights * np.exp(-d2 / (2 * self.sigmas**2))
        return np.asarray(np.clip(bumps.sum(axis=1), 0.0, 1.0), dtype=np.float64)


def _make_terrain(rng: np.random.Generator) -> _Terrain:
    k = int(rng.integers(2, 5))
    # North Huangpi rises towards the Dabie foothills; the south is paddy plain.
    cx = rng.uniform(-_X_HALF, _X_HALF, k)
    cy = rng.uniform(0.2 * _Y_HALF, 1.15 * _Y_HALF, k)
    return _Terrain(
        centres=np.column_stack([cx, cy]),
        sigmas=rng.uniform(2000.0, 3800.0, k),
        heights=rng.uniform(0.6, 1.0, k),
    )


def _place_seats(rng: np.random.Generator) -> FloatArray:
    """Place three township seats roughly in a line: middle seat first, then both ends."""
    inner = np.array([_X_HALF - 2300.0, _Y_HALF - 2300.0])
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


def _place_villages(
    rng: np.random.Generator, n: int, seats: FloatArray, terrain: _Terrain
) -> FloatArray:
    """Scatter village road junctions with a minimum spacing, sparser in the hills."""
    lo = np.array([-_X_HALF + 700.0, -_Y_HALF + 700.0])
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


def _gateways(rng: np.random.Generator, seats: FloatArray) -> FloatArray:
    """Return where roads leave the district: two county-road ends, two side roads."""
    mid, a, c = seats
    out_a = _rot(_unit(a - mid), rng.normal(0.0, 0.2))
    out_c = _rot(_unit(c - mid), rng.normal(0.0, 0.2))
    side = 1.0 if rng.random() < 0.5 else -1.0
    perp = _rot(_unit(a - mid), side * np.pi / 2)
    g = [
        _ray_to_box(a, out_a),
        _ray_to_box(c, out_c),
        _ray_to_box(mid, _rot(perp, rng.normal(0.0, 0.25))),
        _ray_to_box(a, _rot(-perp, rng.normal(0.0, 0.25))),
    ]
    return np.asarray(np.vstack(g), dtype=np.float64)


def _village_names(rng: np.random.Generator, n: int) -> list[str]:
    """Return ``n`` distinct village stems like 张家湾, 李畈, 夏王, 大简湾."""
    names: list[str] = []
    seen: set[str] = set()  # membership only, never iterated
    while len(names) < n:
        m = 4 * n
        pattern = rng.choice(4, size=m, p=[0.55, 0.25, 0.10, 0.10])
        s1 = rng.integers(0, len(_SURNAMES), m)
        s2 = rng.integers(0, len(_SURNAMES), m)
        t = rng.integers(0, len(_TERRAIN), m)
        pre = rng.integers(0, len(_PREFIXES), m)
        for k in range(m):
            sur, ter = _SURNAMES[s1[k]], _TERRAIN[t[k]]
            if pattern[k] == 0:
                stem = f"{sur}家{ter}"
            elif pattern[k] == 1:
                stem = f"{sur}{ter}"
            elif pattern[k] == 2:
                if s1[k] == s2[k]:
                    continue
                stem = f"{sur}{_SURNAMES[s2[k]]}"
            else:
                stem = f"{_PREFIXES[pre[k]]}{sur}{ter}"
            if stem not in seen:
                seen.add(stem)
                names.append(stem)
                if len(names) == n:
                    break
    return names


# ---------------------------------------------------------------------------------------
# Road skeleton: which settlements are joined, and by what class of road
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Road:
    """A named road spanning several ways (county road, township road)."""

    name: str
    ref: str


@dataclass
class _Skeleton:
    """Planar graph of settlements; ``kind`` 0 none, 1 track .. 5 primary."""

    pts: FloatArray
    edges: IntArray
    kind: IntArray
    road: IntArray
    extra: NDArray[np.bool_]
    head: IntArray  # way direction: from head to tail
    tail: IntArray
    roads: list[_Road]


_KIND_HIGHWAY = {1: "track", 2: "unclassified", 3: "tertiary", 4: "secondary", 5: "primary"}


def _build_skeleton(
    rng: np.random.Generator,
    pts: FloatArray,
    n_seats: int,
    n_settle: int,
    township: IntArray,
    population: IntArray,
    stems: list[str],
    town_stems: list[str],
    terrain: _Terrain,
) -> _Skeleton:
    """Decide which settlements a road joins directly, and the class of each road.

    Points are seats first, then villages, then the four gateways on the district edge.
    """
    tri = Delaunay(pts)
    s = tri.simplices
    e = np.concatenate([s[:, [0, 1]], s[:, [1, 2]], s[:, [2, 0]]])
    e.sort(axis=1)
    edges = np.unique(e, axis=0).astype(np.int64)
    n_pts = len(pts)
    vec = pts[edges[:, 1]] - pts[edges[:, 0]]
    length = np.hypot(vec[:, 0], vec[:, 1])
    hill_mid = terrain.hill(0.5 * (pts[edges[:, 0]] + pts[edges[:, 1]]))
    weight = length * (1.0 + 0.8 * hill_mid)
    is_gate = edges >= n_settle
    settle_edge: NDArray[np.bool_] = np.asarray(~is_gate.any(axis=1), dtype=bool)
    gate_pair = is_gate.all(axis=1)
    edge_index = {(int(a), int(b)): k for k, (a, b) in enumerate(edges)}

    kind = np.zeros(len(edges), dtype=np.int64)
    road = np.full(len(edges), -1, dtype=np.int64)
    head, tail = edges[:, 0].copy(), edges[:, 1].copy()
    roads: list[_Road] = []

    def graph(mask: NDArray[np.bool_], w: FloatArray) -> csr_matrix:
        i, j = edges[mask, 0], edges[mask, 1]
        return csr_matrix((w[mask], (i, j)), shape=(n_pts, n_pts))

    def path(g: csr_matrix, src: int, dst: int) -> list[int]:
        _, pred = dijkstra(g, directed=False, indices=src, return_predecessors=True)
        out = [dst]
        while out[-1] != src:
            prev = int(pred[out[-1]])
            if prev < 0:
                msg = f"internal: settlement {dst} unreachable from {src}"
                raise RuntimeError(msg)
            out.append(prev)
        return out[::-1]

    def assign(nodes: list[int], k: int, road_id: int) -> None:
        for u, v in zip(nodes[:-1], nodes[1:], strict=True):
            idx = edge_index[(min(u, v), max(u, v))]
            if k > kind[idx]:
                kind[idx], road[idx], head[idx], tail[idx] = k, road_id, u, v

    base = settle_edge & (length <= 4500.0)
    g_settle = graph(base, weight)

    def gate_graph(gate: int) -> csr_matrix:
        touches = (edges == gate).any(axis=1) & ~gate_pair
        return graph(base | touches, weight)

    # County road (primary) through the three seats, out to both district edges.
    ref_no = int(rng.integers(10, 100))
    roads.append(_Road(f"{town_stems[0]}大道", f"X{ref_no:03d}"))
    g_a, g_c = n_settle, n_settle + 1
    assign(path(gate_graph(g_a), g_a, 1), 5, 0)
    assign(path(g_settle, 1, 0), 5, 0)
    assign(path(g_settle, 0, 2), 5, 0)
    assign(path(gate_graph(g_c), 2, g_c), 5, 0)

    # Two more county roads (secondary) from seats towards neighbouring townships.
    for seat, gate in ((0, n_settle + 2), (1, n_settle + 3)):
        ref_no += int(rng.integers(3, 40))
        char = _ROAD_CHARS[int(rng.integers(0, len(_ROAD_CHARS)))]
        roads.append(_Road(f"{town_stems[seat][0]}{char}公路", f"X{ref_no:03d}"))
        assign(path(gate_graph(gate), seat, gate), 4, len(roads) - 1)

    # Township roads (tertiary) from each seat to its larger villages. Edges already on
    # a township road are cheaper, so the roads share trunks like real ones do.
    y_no = int(rng.integers(1, 30))
    for seat in range(n_seats):
        members = np.flatnonzero(township[n_seats:n_settle] == seat) + n_seats
        on_county = np.zeros(n_pts, dtype=bool)
        on_county[edges[kind >= 4].ravel()] = True
        members = members[~on_county[members]]
        members = members[np.argsort(-population[members - n_seats], kind="stable")]
        for v in members[: max(1, round(0.12 * len(members)))]:
            w = weight * np.where(kind >= 3, 0.6, 1.0)
            y_no += int(rng.integers(1, 6))
            roads.append(_Road(f"{stems[v - n_seats]}路", f"Y{y_no:03d}"))
            assign(path(graph(base, w), seat, int(v)), 3, len(roads) - 1)

    # Minimum spanning tree: an unclassified village road reaches every village.
    mst = minimum_spanning_tree(graph(settle_edge, length)).tocoo()
    pairs = np.sort(np.column_stack([mst.row, mst.col]), axis=1)
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    for u, v in pairs:
        idx = edge_index[(int(u), int(v))]
        kind[idx] = max(int(kind[idx]), 2)

    # Thinned extras: a few more village roads and field tracks between neighbours,
    # skipping edges that would leave a settlement at a sharp angle to a kept road.
    extra = np.zeros(len(edges), dtype=bool)
    want_unc, want_trk = round(0.12 * (n_settle - n_seats)), round(0.35 * (n_settle - n_seats))
    cand = np.flatnonzero(settle_edge & (kind == 0) & (length <= 2300.0))
    cand = cand[np.argsort(length[cand] * rng.uniform(0.85, 1.15, len(cand)), kind="stable")]
    ang = np.arctan2(vec[:, 1], vec[:, 0])
    draws = rng.random((len(cand), 2))
    for k, e_idx in enumerate(cand):
        idx = int(e_idx)
        if want_unc <= 0 and want_trk <= 0:
            break
        if draws[k, 0] > 0.55:
            continue
        ok = True
        for end, a in ((edges[idx, 0], ang[idx]), (edges[idx, 1], ang[idx] + np.pi)):
            at = np.flatnonzero((kind > 0) & (edges == end).any(axis=1))
            other = np.where(edges[at, 0] == end, ang[at], ang[at] + np.pi)
            diff = np.abs((other - a + np.pi) % (2 * np.pi) - np.pi)
            if diff.size and diff.min() < np.radians(35.0):
                ok = False
        if not ok:
            continue
        as_unc = (draws[k, 1] < 0.3 and want_unc > 0) or want_trk <= 0
        kind[idx] = 2 if as_unc else 1
        extra[idx] = True
        want_unc, want_trk = (want_unc - 1, want_trk) if as_unc else (want_unc, want_trk - 1)

    return _Skeleton(pts, edges, kind, road, extra, head, tail, roads)


# ---------------------------------------------------------------------------------------
# Road network: curved ways between junctions, kept free of crossings
# ---------------------------------------------------------------------------------------


@dataclass
class _Way:
    a: int  # junction index of the first node
    b: int  # junction index of the last node
    highway: str
    role: str  # rural | town | street | service | field | planted
    seat: int = -1  # seat whose town core holds the way (town, street, service)
    road: int = -1  # index into _Skeleton.roads for named county/township roads
    village: int = -1  # village a village road or track is named after
    priority: int = _MUST_KEEP  # lower is dropped first when roads get too close
    coef: FloatArray = field(default_factory=lambda: np.zeros(4))
    spacing: float = 150.0
    shape: FloatArray | None = None  # explicit interior points; overrides the bend
    alive: bool = True
    tags: dict[str, str] = field(default_factory=dict)


class _Net:
    """Junction coordinates plus ways whose interior shape nodes each way owns."""

    def __init__(self, junctions: FloatArray) -> None:
        self.jxy: list[FloatArray] = [np.asarray(p, dtype=np.float64) for p in junctions]
        self.ways: list[_Way] = []

    def junction(self, p: FloatArray) -> int:
        self.jxy.append(np.asarray(p, dtype=np.float64))
        return len(self.jxy) - 1

    def add(self, way: _Way) -> int:
        self.ways.append(way)
        return len(self.ways) - 1

    def coords(self, w: _Way) -> FloatArray:
        p, q = self.jxy[w.a], self.jxy[w.b]
        inner = w.shape if w.shape is not None else _curve(p, q, w.coef, w.spacing)
        return np.asarray(np.vstack([p, inner, q]), dtype=np.float64)

    def alive(self) -> list[int]:
        return [i for i, w in enumerate(self.ways) if w.alive]

    def segments(self, idx: list[int]) -> tuple[FloatArray, IntArray, IntArray, IntArray]:
        """Return segments (m, 2, 2), their end node keys and owning way indices.

        Junctions keep their index as key; interior nodes get fresh keys past them, so
        two segments share a node exactly when they share a key.
        """
        nxt = len(self.jxy)
        segs, keys_a, keys_b, owner = [], [], [], []
        for wi in idx:
            w = self.ways[wi]
            c = self.coords(w)
            keys = np.empty(len(c), dtype=np.int64)
            keys[0], keys[-1] = w.a, w.b
            keys[1:-1] = np.arange(nxt, nxt + len(c) - 2)
            nxt += len(c) - 2
            segs.append(np.stack([c[:-1], c[1:]], axis=1))
            keys_a.append(keys[:-1])
            keys_b.append(keys[1:])
            owner.append(np.full(len(c) - 1, wi, dtype=np.int64))
        return (
            np.concatenate(segs),
            np.concatenate(keys_a),
            np.concatenate(keys_b),
            np.concatenate(owner),
        )

    def resolve(self) -> None:
        """Relax bends and drop optional ways until no two roads come too close."""
        for _ in range(24):
            idx = self.alive()
            segs, ka, kb, owner = self.segments(idx)
            lines = _lines(segs)
            i, j = shapely.STRtree(lines).query(lines, predicate="dwithin", distance=_CLEARANCE_M)
            keep = i < j
            i, j = i[keep], j[keep]
            share = (ka[i] == ka[j]) | (ka[i] == kb[j]) | (kb[i] == ka[j]) | (kb[i] == kb[j])
            i, j = i[~share], j[~share]
            outside = (np.abs(segs[:, :, 0]) > _X_HALF) | (np.abs(segs[:, :, 1]) > _Y_HALF)
            out_ways = np.unique(owner[outside.any(axis=1)])
            pairs = np.unique(np.column_stack([owner[i], owner[j]]), axis=0)
            pairs = np.vstack([pairs, np.column_stack([out_ways, out_ways])])
            relax: dict[int, None] = {}  # insertion-ordered set
            drop: dict[int, None] = {}
            tolerated = []
            for k, (u, v) in enumerate(pairs):
                bendy = [int(x) for x in (u, v) if self.ways[x].coef.any()]
                optional = [int(x) for x in (u, v) if self.ways[x].priority < _MUST_KEEP]
                if bendy:
                    relax[min(bendy, key=lambda x: (self.ways[x].priority, -x))] = None
                elif optional:
                    drop[min(optional, key=lambda x: (self.ways[x].priority, -x))] = None
                else:
                    tolerated.append(k)
            if not relax and not drop:
                if tolerated:
                    self._check_tolerated(lines, i, j, owner, pairs[tolerated])
                return
            for x in relax:
                w = self.ways[x]
                w.coef = w.coef * 0.5 if np.abs(w.coef).max() > 0.01 else np.zeros(4)
            for x in drop:
                self.ways[x].alive = False
        msg = "internal: road conflicts did not resolve"
        raise RuntimeError(msg)

    @staticmethod
    def _check_tolerated(
        lines: NDArray[np.object_], i: IntArray, j: IntArray, owner: IntArray, pairs: IntArray
    ) -> None:
        # Two straight must-keep ways may pass close by (a near-degenerate Delaunay
        # triangle) but, being Delaunay edges, they never cross.
        wanted = {(int(u), int(v)) for u, v in pairs}
        sel = np.array(
            [(int(a), int(b)) in wanted for a, b in zip(owner[i], owner[j], strict=True)]
        )
        if sel.size and shapely.intersects(lines[i[sel]], lines[j[sel]]).any():
            msg = "internal: two straight roads cross"
            raise RuntimeError(msg)

    def headings(self, *, first_segment: bool = True) -> dict[int, FloatArray]:
        """Return, per junction, the headings in which live ways leave it.

        With ``first_segment`` the heading of each way's first segment is used (what a
        walker sees at the junction), otherwise the chord to the way's far end.
        """
        found: dict[int, list[float]] = {}
        for w in self.ways:
            if not w.alive:
                continue
            if first_segment:
                c = self.coords(w)
                out_a, out_b = c[1] - c[0], c[-2] - c[-1]
            else:
                out_a = self.jxy[w.b] - self.jxy[w.a]
                out_b = -out_a
            found.setdefault(w.a, []).append(math.atan2(out_a[1], out_a[0]))
            found.setdefault(w.b, []).append(math.atan2(out_b[1], out_b[0]))
        return {j: np.array(h) for j, h in found.items()}

    def freeze(self) -> None:
        """Store every way's final interior points so later splits keep the geometry."""
        for w in self.ways:
            if w.shape is None:
                w.shape = _curve(self.jxy[w.a], self.jxy[w.b], w.coef, w.spacing)


def _build_network(
    rng: np.random.Generator,
    sk: _Skeleton,
    n_seats: int,
    n_settle: int,
    terrain: _Terrain,
) -> tuple[_Net, FloatArray]:
    """Turn the skeleton into curved ways, town cores and field tracks.

    Returns the network and each seat's town-core radius.
    """
    net = _Net(sk.pts)
    gate_r = rng.uniform(*_SEAT_GATE_M, n_seats)
    # Edge order: highest class first, so way ids read like a road atlas.
    order = np.lexsort((np.arange(len(sk.kind)), -sk.kind))
    order = order[sk.kind[order] > 0]
    seat_dirs: list[list[tuple[float, int]]] = [[] for _ in range(n_seats)]

    for idx in order:
        k = int(sk.kind[idx])
        hw = _KIND_HIGHWAY[k]
        a, b = int(sk.head[idx]), int(sk.tail[idx])
        road = int(sk.road[idx])
        priority = (3 if k == 2 else 2) if sk.extra[idx] else _MUST_KEEP
        ends = [a, b]
        town: list[_Way] = []
        for pos, s in ((0, a), (1, b)):
            if s >= n_seats:
                continue
            other = b if pos == 0 else a
            u = _unit(sk.pts[other] - sk.pts[s])
            g = net.junction(sk.pts[s] + gate_r[s] * rng.uniform(0.85, 1.1) * u)
            ends[pos] = g
            seat_dirs[s].append((math.atan2(u[1], u[0]), g))
            town_hw = hw if k >= 3 else "residential"
            first, last = (s, g) if pos == 0 else (g, s)
            town.append(_Way(first, last, town_hw, "town", seat=s, road=road if k >= 3 else -1))
        p, q = net.jxy[ends[0]], net.jxy[ends[1]]
        length = float(np.hypot(*(q - p)))
        wiggle = (1.0 + float(terrain.hill(0.5 * (p + q))[0])) * (1.3 if k == 1 else 1.0)
        village = max(a, b) if max(a, b) < n_settle else min(a, b)
        rural = _Way(
            ends[0],
            ends[1],
            hw,
            "rural",
            road=road,
            village=village if village >= n_seats else -1,
            priority=priority,
            coef=_bend(rng, length, wiggle),
            spacing=float(rng.uniform(110.0, 190.0)),
        )
        for w in town:
            if w.a < n_seats:
                net.add(w)
        net.add(rural)
        for w in town:
            if w.a >= n_seats:
                net.add(w)

    # Town cores: straight streets between neighbouring spokes make the blocks of a
    # market town, and a service lane runs from the centre crossroads to the police
    # station. A street between two spokes less than 130 degrees apart stays inside
    # their sector, so it cannot cross another spoke; wider gaps get an extra spoke.
    full = 2 * np.pi
    for s in range(n_seats):
        centre = sk.pts[s]
        r = float(gate_r[s])
        spokes = sorted((t % full, g) for t, g in seat_dirs[s])
        while True:
            starts, widths = _gaps(np.array([t for t, _ in spokes]))
            if widths[0] <= np.radians(130.0):
                break
            heading = float(starts[0] + widths[0] / 2) % full
            g = net.junction(centre + r * rng.uniform(0.8, 1.0) * _dir(heading))
            net.add(_Way(s, g, "residential", "town", seat=s))
            spokes = sorted([*spokes, (heading, g)])
        n_sp = len(spokes)
        width = np.array([(spokes[(k + 1) % n_sp][0] - spokes[k][0]) % full for k in range(n_sp)])
        eligible = np.flatnonzero((width >= np.radians(40.0)) & (width <= np.radians(130.0)))
        pick = rng.random(len(eligible)) < 0.75
        pick[: max(0, 2 - int(pick.sum()))] = True
        streets = {int(k): (spokes[k][1], spokes[(k + 1) % n_sp][1]) for k in eligible[pick]}
        for g0, g1 in streets.values():
            length = float(np.hypot(*(net.jxy[g1] - net.jxy[g0])))
            net.add(
                _Way(
                    g0, g1, "residential", "street", seat=s,
                    coef=_bend(rng, length, 0.4), spacing=float(rng.uniform(110.0, 150.0)),
                )
            )  # fmt: skip
        widest = int(np.argmax(width))
        reach = 0.5 * r
        if widest in streets:
            p0, p1 = (net.jxy[g] - centre for g in streets[widest])
            # Stop well short of the street that closes this block.
            cross = float(p0[0] * p1[1] - p0[1] * p1[0])
            reach = min(reach, 0.6 * abs(cross) / float(np.hypot(*(p1 - p0))))
        heading = spokes[widest][0] + width[widest] / 2
        end = net.junction(centre + reach * _dir(float(heading)))
        net.add(_Way(s, end, "service", "service", seat=s, shape=np.empty((0, 2))))

    # Field tracks: dead ends from villages out into the fields.
    chords = net.headings(first_segment=False)
    for v in range(n_seats, n_settle):
        if rng.random() >= 0.35:
            continue
        starts, widths = _gaps(chords.get(v, np.empty(0)))
        if widths.size > 1 and widths[1] >= np.radians(90.0):
            heading = float(starts[1] + widths[1] / 2)
        elif widths[0] >= np.radians(160.0):
            heading = float(starts[0] + widths[0] * (0.25 if rng.random() < 0.5 else 0.75))
        else:
            continue
        length = float(rng.uniform(350.0, 800.0))
        end_pt = net.jxy[v] + length * _dir(heading)
        if np.any(np.abs(end_pt) > [_X_HALF - 100.0, _Y_HALF - 100.0]):
            continue
        end = net.junction(end_pt)
        net.add(
            _Way(
                v,
                end,
                "track",
                "field",
                village=v,
                priority=1,
                coef=_bend(rng, length, 1.4),
                spacing=float(rng.uniform(110.0, 190.0)),
            )
        )

    net.resolve()
    net.freeze()
    return net, gate_r


# ---------------------------------------------------------------------------------------
# The district
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Places:
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


@dataclass(frozen=True)
class _Stations:
    ids: list[str]
    names: list[str]
    kinds: list[str]
    township: list[int]
    xy: FloatArray
    post_villages: list[int]


@dataclass(frozen=True)
class _Team:
    id: str
    name: str
    home_unit: str
    members: int
    skills: str
    xy: FloatArray


@dataclass(frozen=True)
class _Incidents:
    id: NDArray[np.object_]
    time: NDArray[np.object_]
    category: NDArray[np.object_]
    severity: NDArray[np.int32]
    description: NDArray[np.object_]
    lon: FloatArray
    lat: FloatArray
    cluster: IntArray  # index of the planted hotspot, -1 for background


@dataclass(frozen=True)
class _District:
    seed: int
    osm: str
    villages_csv: str
    stations_geojson: str
    teams_csv: str
    hotspots_geojson: str
    readme: str
    incidents: _Incidents


def _build_district(seed: int, n_villages: int, n_incidents: int) -> _District:
    rng = np.random.default_rng(seed)
    n_seats = 3
    terrain = _make_terrain(rng)
    seats = _place_seats(rng)
    villages = _place_villages(rng, n_villages, seats, terrain)
    gates = _gateways(rng, seats)
    pts = np.vstack([seats, villages, gates])
    n_settle = n_seats + n_villages

    d_seat = np.hypot(*(villages[:, None, :] - seats[None, :, :]).transpose(2, 0, 1))
    township = np.concatenate([np.arange(n_seats), d_seat.argmin(axis=1)]).astype(np.int64)
    log_pop = rng.normal(math.log(1150.0), 0.55, n_villages)
    # Hill villages are smaller than those on the plain.
    pop_f = np.clip(np.exp(log_pop) * (1.0 - 0.35 * terrain.hill(villages)), 300, 3500)
    population: IntArray = pop_f.round().astype(np.int64)
    stems = _village_names(rng, n_villages)
    town_stems = [_TOWN_STEMS[i] for i in rng.permutation(len(_TOWN_STEMS))[:n_seats]]

    sk = _build_skeleton(
        rng, pts, n_seats, n_settle, township, population, stems, town_stems, terrain
    )
    net, gate_r = _build_network(rng, sk, n_seats, n_settle, terrain)
    _check_no_crossings(net)
    places = _place_points(
        rng, net, sk, n_seats, n_settle, gate_r, township[n_seats:], population, stems, town_stems
    )
    _plant_disconnected(rng, net, places.village_xy)
    _check_no_crossings(net)
    _tag_ways(rng, net, sk, n_seats, stems)
    numbering = _number(net)
    stations = _stations(rng, places)
    teams = _teams(rng, stations)
    hotspots = _hotspots(rng, net, sk, places, stations, n_settle, numbering, n_incidents)
    incidents = _incidents(rng, net, places, hotspots, n_incidents)

    counts = {
        "ways": len(numbering.order),
        "villages": n_villages,
        "communities": len(places.community_names),
        "stations": len(stations.ids),
        "teams": len(teams),
        "incidents": n_incidents,
        "hotspots": len(hotspots),
    }
    return _District(
        seed=seed,
        osm=_osm_xml(net, numbering, seed),
        villages_csv=_villages_csv(places),
        stations_geojson=_stations_geojson(stations),
        teams_csv=_teams_csv(teams),
        hotspots_geojson=_hotspots_geojson(hotspots, incidents),
        readme=_readme(seed, counts, town_stems),
        incidents=incidents,
    )


def _check_no_crossings(net: _Net) -> None:
    """Raise if any two ways cross without a shared node, judged on written coordinates."""
    segs, ka, kb, _ = net.segments(net.alive())
    lines = _lines(_to_lonlat(segs.reshape(-1, 2)).reshape(-1, 2, 2))
    i, j = shapely.STRtree(lines).query(lines, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    share = (ka[i] == ka[j]) | (ka[i] == kb[j]) | (kb[i] == ka[j]) | (kb[i] == kb[j])
    touching = shapely.intersection(lines[i[share]], lines[j[share]])
    if (~share).any() or (shapely.get_type_id(touching) != 0).any():
        msg = "internal: generated roads cross without a junction"
        raise RuntimeError(msg)


def _place_points(
    rng: np.random.Generator,
    net: _Net,
    sk: _Skeleton,
    n_seats: int,
    n_settle: int,
    gate_r: FloatArray,
    township: IntArray,
    population: IntArray,
    stems: list[str],
    town_stems: list[str],
) -> _Places:
    """Place village centres beside their roads, town communities, station sites."""
    segs, *_ = net.segments(net.alive())
    tree = shapely.STRtree(_lines(segs))
    heads = net.headings()
    n_villages = n_settle - n_seats
    village_xy = np.empty((n_villages, 2))
    dist = rng.uniform(70.0, 130.0, n_villages)
    for v in range(n_seats, n_settle):
        starts, widths = _gaps(heads[v])
        # Prefer the widest gap between roads; fall back if another road passes close.
        for g in range(min(3, len(widths))):
            p = net.jxy[v] + dist[v - n_seats] * _dir(float(starts[g] + widths[g] / 2))
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
        station_xy[s] = tip + 18.0 * _unit(tip - net.jxy[s])
        starts, widths = _gaps(heads[s])
        for k in range(1 + int(rng.random() < 0.6)):
            g = min(k, len(widths) - 1)
            # The widest gap holds the service lane on its bisector; stay off it.
            shift = (0.25 if rng.random() < 0.5 else -0.25) if g == 0 else 0.0
            heading = float(starts[g] + widths[g] * (0.5 + shift))
            community_xy.append(net.jxy[s] + 0.45 * r * _dir(heading))
            community_seat.append(s)
            community_names.append(f"{town_stems[s]}社区" if k == 0 else extra_names[s])
        if s == 0:
            # The market sits beside the county road's main street in the central seat.
            main = next(
                w for w in net.ways if w.role == "town" and w.seat == 0 and w.highway == "primary"
            )
            axis = _unit(net.jxy[main.b if main.a == 0 else main.a] - net.jxy[0])
            market = net.jxy[0] + 0.55 * r * axis + 35.0 * _rot(axis, np.pi / 2)

    n_comm = len(community_xy)
    return _Places(
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


def _plant_disconnected(rng: np.random.Generator, net: _Net, village_xy: FloatArray) -> None:
    """Plant the two pieces a strongly-connected-component pass must drop.

    One is a track lying alone in the fields; the other a one-way lane that can be
    entered from a village road but never left.
    """
    segs, _, _, owner = net.segments(net.alive())
    tree = shapely.STRtree(_lines(segs))
    gx, gy = np.meshgrid(
        np.arange(-_X_HALF + 900.0, _X_HALF - 900.0, 250.0),
        np.arange(-_Y_HALF + 900.0, _Y_HALF - 900.0, 250.0),
    )
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    _, d_road = tree.query_nearest(shapely.points(grid), return_distance=True, all_matches=False)
    d_vill = np.hypot(*(grid[:, None, :] - village_xy[None, :, :]).transpose(2, 0, 1)).min(axis=1)
    best = np.argsort(-np.minimum(d_road, d_vill), kind="stable")[:10]
    centre = grid[best[int(rng.integers(0, len(best)))]]
    half = 160.0 * _dir(float(rng.uniform(0.0, np.pi)))
    net.add(
        _Way(
            net.junction(centre - half),
            net.junction(centre + half),
            "track",
            "planted",
            priority=0,
            shape=_curve(centre - half, centre + half, np.array([0.04, 0.0, 0.0, 0.0]), 110.0),
            tags={"note": "synthetic sample: planted isolated track (not connected)"},
        )
    )

    # The one-way lane leaves the middle of a long village road or track.
    hosts = [
        i
        for i, w in enumerate(net.ways)
        if w.alive and w.role == "rural" and w.highway in ("unclassified", "track")
    ]
    for hi in rng.permutation(len(hosts)):
        host = hosts[hi]
        c = net.coords(net.ways[host])
        if len(c) < 6:
            continue
        m = len(c) // 2
        tangent = _unit(c[m + 1] - c[m - 1])
        for side in (1.0, -1.0):
            normal = _rot(tangent, side * np.pi / 2)
            lane = c[m] + np.outer([90.0, 180.0], normal)
            probe = shapely.linestrings(np.vstack([c[m] + 30.0 * normal, lane]))
            near = tree.query(probe, predicate="dwithin", distance=60.0)
            if (owner[near] != host).any() or np.hypot(*(village_xy - lane[-1]).T).min() < 60.0:
                continue
            _split_way(net, host, m)
            net.add(
                _Way(
                    net.ways[host].b,
                    net.junction(lane[-1]),
                    "service",
                    "planted",
                    priority=0,
                    shape=lane[:1],
                    tags={"note": "synthetic sample: planted one-way dead end"},
                )
            )
            return
    msg = "internal: no room for the planted one-way lane"
    raise RuntimeError(msg)


def _split_way(net: _Net, wi: int, m: int) -> None:
    """Split way ``wi`` at its ``m``-th node, which becomes a junction."""
    w = net.ways[wi]
    c = net.coords(w)
    j = net.junction(c[m])
    second = replace(w, a=j, shape=c[m + 1 : -1], tags=dict(w.tags))
    w.b, w.shape = j, c[1:m]
    net.ways.insert(wi + 1, second)


def _tag_ways(
    rng: np.random.Generator, net: _Net, sk: _Skeleton, n_seats: int, stems: list[str]
) -> None:
    """Give every way its OSM tags: names, refs, surfaces, speeds, one-ways, lighting."""
    ways = [w for w in net.ways if w.alive]
    street_names = [
        [_STREET_NAMES[i] for i in rng.permutation(len(_STREET_NAMES))] for _ in range(n_seats)
    ]
    used = [0] * n_seats
    # Block streets of a market town are often one-way; routing must honour that. Two
    # of them, in the central seat when it has enough.
    streets_in_town = [k for k, w in enumerate(ways) if w.role == "street"]
    one_way = sorted(streets_in_town, key=lambda k: (ways[k].seat != 0, k))[:2]
    for k, w in enumerate(ways):
        tags: dict[str, str] = {"highway": w.highway}
        if w.road >= 0:
            tags["name"] = sk.roads[w.road].name
            tags["ref"] = sk.roads[w.road].ref
        if w.highway in ("primary", "secondary"):
            tags["surface"] = "asphalt"
            if w.highway == "primary":
                tags["lanes"] = "2"
            if w.role == "town":
                tags["maxspeed"] = "40"
            elif rng.random() < (0.7 if w.highway == "primary" else 0.5):
                tags["maxspeed"] = "60"
        elif w.highway == "tertiary":
            tags["surface"] = "asphalt" if rng.random() < 0.8 else "concrete"
            if rng.random() < 0.25:
                tags["maxspeed"] = "40"
        elif w.highway == "unclassified":
            tags["surface"] = "concrete" if rng.random() < 0.85 else "asphalt"
            if w.village >= 0 and rng.random() < 0.4:
                tags["name"] = f"{stems[w.village - n_seats]}路"
        elif w.highway == "residential":
            tags["name"] = street_names[w.seat][used[w.seat] % len(_STREET_NAMES)]
            used[w.seat] += 1
            tags["surface"] = "asphalt" if rng.random() < 0.5 else "concrete"
            if k in one_way:
                tags["oneway"] = "yes"
        elif w.highway == "service":
            tags["surface"] = "concrete"
        elif w.highway == "track":
            surface = int(rng.choice(4, p=[0.35, 0.25, 0.25, 0.15]))
            tags["surface"] = ("gravel", "unpaved", "dirt", "ground")[surface]
            tags["tracktype"] = f"grade{int(rng.integers(2, 5))}"
        if w.role == "planted":
            tags["note"] = w.tags["note"]
            if w.highway == "service":
                tags["oneway"] = "yes"
        w.tags = tags

    # Lighting, by way count: about 5 % lit (town streets, the county road through the
    # seats), about 25 % explicitly unlit (mostly village roads and tracks), rest unknown.
    n_yes, n_no = round(0.05 * len(ways)), round(0.25 * len(ways))
    gates = {w.b if w.a < n_seats else w.a for w in ways if w.role == "town"}  # lookups only
    rank_of = {
        ("town", "primary"): 0, ("street", "residential"): 1, ("town", "secondary"): 2,
        ("town", "tertiary"): 2, ("town", "residential"): 3, ("service", "service"): 4,
    }  # fmt: skip
    ranks = np.array(
        [
            rank_of.get(
                (w.role, w.highway),
                5 if w.highway == "primary" and (w.a in gates or w.b in gates) else 99,
            )
            for w in ways
        ]
    )
    # Main-street and town-street segments take turns, so even a small district lights
    # both; the other town ways follow by rank.
    pos = np.zeros(len(ranks), dtype=np.int64)
    for r in np.unique(ranks):
        pos[ranks == r] = np.arange(int((ranks == r).sum()))
    tier = (ranks > 1).astype(np.int64)
    key = np.lexsort((np.arange(len(ranks)), ranks, np.where(tier == 0, pos, 0), tier))
    lit = key[ranks[key] < 99][:n_yes]
    for wi in lit:
        ways[wi].tags["lit"] = "yes"
    main = [wi for wi in lit if ranks[wi] == 0]
    ring = [wi for wi in lit if ranks[wi] == 1]
    if main:
        ways[main[-1]].tags["lit"] = "24/7"  # a main street lit all night
    if ring:
        ways[ring[-1]].tags["lit"] = "automatic"  # motion-sensor lamps on a town street
    weight = np.array(
        [
            {"unclassified": 1.0, "track": 0.9, "tertiary": 0.25}.get(w.highway, 0.0)
            if w.role in ("rural", "field")
            else 0.0
            for w in ways
        ]
    )
    pool = np.flatnonzero(weight > 0)
    p = weight[pool] / weight[pool].sum()
    for wi in np.sort(rng.choice(pool, size=min(n_no, len(pool)), replace=False, p=p)):
        ways[wi].tags["lit"] = "no"


@dataclass(frozen=True)
class _Numbering:
    """OSM ids of the live ways and their nodes, fixed once for every writer."""

    order: list[int]  # live way indices in writing order
    way_ids: dict[int, int]  # way index -> OSM way id
    junction_ids: dict[int, int]  # junction index -> OSM node id
    node_xy: FloatArray  # node coordinates, row k holds node id k + 1
    refs: list[list[int]]  # node ids of each way, in writing order


def _number(net: _Net) -> _Numbering:
    """Give ways ids by class, like a road atlas, and node ids in order of first use."""
    rank = {"primary": 0, "secondary": 1, "tertiary": 2, "unclassified": 3,
            "residential": 4, "service": 5, "track": 6}  # fmt: skip
    order = net.alive()
    order.sort(key=lambda i: (net.ways[i].role == "planted", rank[net.ways[i].highway], i))
    junction_ids: dict[int, int] = {}
    xy: list[FloatArray] = []
    refs: list[list[int]] = []

    def junction(j: int) -> int:
        if j not in junction_ids:
            xy.append(net.jxy[j])
            junction_ids[j] = len(xy)
        return junction_ids[j]

    for wi in order:
        w = net.ways[wi]
        inner = w.shape if w.shape is not None else np.empty((0, 2))
        first = junction(w.a)
        xy.extend(inner)
        inner_ids = list(range(len(xy) - len(inner) + 1, len(xy) + 1))
        refs.append([first, *inner_ids, junction(w.b)])
    return _Numbering(
        order=order,
        way_ids={wi: k + 1 for k, wi in enumerate(order)},
        junction_ids=junction_ids,
        node_xy=np.array(xy),
        refs=refs,
    )


def _stations(rng: np.random.Generator, places: _Places) -> _Stations:
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
    return _Stations(
        ids=[f"PS-{k + 1:02d}" for k in range(len(xy))],
        names=[f"{s}派出所" for s in places.town_stems]
        + [f"{places.stems[v]}警务室" for v in posts],
        kinds=["station"] * n_seats + ["post"] * len(posts),
        township=list(range(n_seats)) + [int(places.township[v]) for v in posts],
        xy=np.array(xy),
        post_villages=posts,
    )


def _teams(rng: np.random.Generator, stations: _Stations) -> list[_Team]:
    """Return 6-10 vanguard teams, each based at (or beside) a police station or post."""
    n_st = len(stations.ids)
    n = int(rng.integers(6, 11))
    weight = np.array([2.0 if k == "station" else 1.0 for k in stations.kinds])
    home = np.concatenate([np.arange(n_st), rng.choice(n_st, n - n_st, p=weight / weight.sum())])
    home = np.sort(home, kind="stable")
    surnames = rng.choice(len(_SURNAMES), n, replace=False)
    given = rng.choice(len(_OFFICER_GIVEN), n, replace=False)
    teams = []
    for k in range(n):
        h = int(home[k])
        offset = np.zeros(2)
        if k > 0 and home[k - 1] == h:
            # A second team at the same unit is based next door, not on the same spot.
            offset = rng.uniform(25.0, 60.0) * _dir(float(rng.uniform(0.0, 2 * np.pi)))
        extra = [s for s in _SKILLS[1:] if rng.random() < 0.45] or [_SKILLS[1]]
        teams.append(
            _Team(
                id=f"VT-{k + 1:02d}",
                name=f"{_SURNAMES[surnames[k]]}{_OFFICER_GIVEN[given[k]]}先锋队",
                home_unit=stations.ids[h],
                members=int(rng.integers(8, 13)),
                skills=";".join([_SKILLS[0], *extra]),
                xy=stations.xy[h] + offset,
            )
        )
    return teams


# ---------------------------------------------------------------------------------------
# Incidents and planted hotspots
# ---------------------------------------------------------------------------------------

_Sampler = Callable[[np.random.Generator, int], FloatArray]


@dataclass(frozen=True)
class _Hotspot:
    id: str
    kind: str
    name: str
    centre: FloatArray
    radius_m: float
    n: int
    categories: tuple[float, ...]  # probability of each _CATEGORIES entry
    hours: tuple[int, int]  # [start, end) local hour, may wrap past midnight
    days: tuple[int, int]  # first and last day of the year, 0-based
    sample: _Sampler
    osm_ref: str | None = None


def _mix(**share: float) -> tuple[float, ...]:
    """Return category probabilities in :data:`_CATEGORIES` order."""
    return tuple(share.get(c, 0.0) for c in _CATEGORIES)


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
        p, t = _along(c, g.uniform(s_lo, s_hi, n))
        side = np.clip(g.normal(0.0, spread, n), -2 * spread, 2 * spread)
        return np.asarray(p + side[:, None] * np.column_stack([-t[:, 1], t[:, 0]]))

    return draw


def _hotspots(
    rng: np.random.Generator,
    net: _Net,
    sk: _Skeleton,
    places: _Places,
    stations: _Stations,
    n_settle: int,
    numbering: _Numbering,
    n_incidents: int,
) -> list[_Hotspot]:
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
        _Hotspot(
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

    # 2. An unlit village road: night-time theft and crashes along a dark stretch.
    dark = [
        wi
        for wi in numbering.order
        if net.ways[wi].tags.get("lit") == "no" and net.ways[wi].role in ("rural", "field")
    ]
    length = {wi: _polyline_length(net.coords(net.ways[wi])) for wi in dark}
    good = [
        wi
        for wi in dark
        if net.ways[wi].highway == "unclassified"
        and length[wi] >= 800.0
        and far_from_seats(_along(net.coords(net.ways[wi]), np.array([0.5 * length[wi]]))[0][0])
    ]
    road_wi = good[int(rng.integers(0, len(good)))] if good else max(dark, key=length.__getitem__)
    rc = net.coords(net.ways[road_wi])
    s0 = 0.5 * length[road_wi]
    dark_centre = _along(rc, np.array([s0]))[0][0]
    dark_way = net.ways[road_wi]
    fallback = (
        f"{places.stems[dark_way.village - n_seats]}村道" if dark_way.village >= 0 else "村道"
    )
    road_name = dark_way.tags.get("name", fallback)
    hotspots.append(
        _Hotspot(
            id="HS-2",
            kind="dark_road",
            name=f"{road_name}无路灯路段 / unlit village road",
            centre=dark_centre,
            radius_m=200.0,
            n=count(0.025),
            categories=_mix(theft=0.45, dispute=0.20, traffic=0.35),
            hours=(20, 4),
            days=(0, 364),
            sample=_on_polyline(rc, s0 - 180.0, s0 + 180.0, 6.0),
            osm_ref=f"way/{numbering.way_ids[road_wi]}",
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
        _Hotspot(
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
        _Hotspot(
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


def _incidents(
    rng: np.random.Generator,
    net: _Net,
    places: _Places,
    hotspots: list[_Hotspot],
    n_incidents: int,
) -> _Incidents:
    """Draw background incidents plus the planted clusters, numbered in time order."""
    n_bg = max(0, n_incidents - sum(h.n for h in hotspots))
    n_cat = len(_CATEGORIES)

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

    place_xy = np.vstack([places.village_xy, places.community_xy])
    place_pop = np.concatenate([places.village_pop, places.community_pop]).astype(np.float64)
    # Towns sprawl wider than hamlets.
    place_sd = np.repeat([110.0, 200.0], [len(places.village_xy), len(places.community_xy)])
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
    is_traffic = cat == _CATEGORIES.index("traffic")
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
    lonlat = _to_lonlat(xy[order])
    width = max(6, len(str(len(cat))))
    return _Incidents(
        id=np.array([f"INC-{k + 1:0{width}d}" for k in range(len(cat))], dtype=object),
        time=np.array([f"{s}+08:00" for s in stamps], dtype=object),
        category=np.array(_CATEGORIES, dtype=object)[cat[order]],
        severity=severity[order].astype(np.int32),
        description=desc[order],
        lon=lonlat[:, 0],
        lat=lonlat[:, 1],
        cluster=np.concatenate(clusters)[order],
    )


# ---------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------


def _osm_xml(net: _Net, numbering: _Numbering, seed: int) -> str:
    """Serialise the live ways as OSM XML 0.6."""
    lonlat = _to_lonlat(numbering.node_xy)
    west, south, east, north = SAMPLE_BOUNDS
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="pingan-sample (synthetic)">',
        f"  <!-- {SYNTHETIC_LABEL}; seed {seed} -->",
        f'  <bounds minlat="{south:.7f}" minlon="{west:.7f}" '
        f'maxlat="{north:.7f}" maxlon="{east:.7f}"/>',
    ]
    out += [
        f'  <node id="{k + 1}" lat="{lat:.7f}" lon="{lon:.7f}" version="1"/>'
        for k, (lon, lat) in enumerate(lonlat)
    ]
    for wi, refs in zip(numbering.order, numbering.refs, strict=True):
        out.append(f'  <way id="{numbering.way_ids[wi]}" version="1">')
        out += [f'    <nd ref="{r}"/>' for r in refs]
        tags = net.ways[wi].tags
        out += [f"    <tag k={quoteattr(key)} v={quoteattr(tags[key])}/>" for key in sorted(tags)]
        out.append("  </way>")
    out.append("</osm>")
    return "\n".join(out) + "\n"


def _villages_csv(places: _Places) -> str:
    """Return villages.csv: villagers' committees and seat communities, sorted by code."""
    rows: list[tuple[str, str, str, int, int, float, FloatArray]] = []
    for s in range(len(places.seat_xy)):
        t_code = f"{SAMPLE_DISTRICT_CODE}{100 + s}"
        members = np.flatnonzero(places.township == s)
        d = np.hypot(*(places.village_xy[members] - places.seat_xy[s]).T)
        members = members[np.argsort(d, kind="stable")]
        # NBS codes skip numbers where committees were merged; ours do too, in 201..399.
        codes = 200 + np.cumsum(np.where(places.code_gap[members], 2, 1))
        if codes.size and codes[-1] > 399:
            codes = 200 + np.arange(1, len(members) + 1)
        for v, code in zip(members, codes, strict=True):
            rows.append((f"{t_code}{code:03d}", f"{places.stems[v]}村", "village", s,
                         int(places.village_pop[v]), float(places.village_hh[v]),
                         places.village_xy[v]))  # fmt: skip
        for k, c in enumerate(np.flatnonzero(places.community_seat == s)):
            rows.append((f"{t_code}{k + 1:03d}", places.community_names[c], "community", s,
                         int(places.community_pop[c]), float(places.community_hh[c]),
                         places.community_xy[c]))  # fmt: skip
    rows.sort(key=lambda r: r[0])
    lonlat = _to_lonlat(np.array([r[6] for r in rows]))
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["code", "name", "kind", "township_code", "township", "district_code",
                 "district", "population", "households", "lon", "lat"])  # fmt: skip
    for (code, name, kind, s, pop, hh, _), (lon, lat) in zip(rows, lonlat, strict=True):
        wr.writerow([code, name, kind, f"{SAMPLE_DISTRICT_CODE}{100 + s}",
                     f"{places.town_stems[s]}镇", SAMPLE_DISTRICT_CODE, SAMPLE_DISTRICT_NAME,
                     pop, round(pop / hh), f"{lon:.7f}", f"{lat:.7f}"])  # fmt: skip
    return buf.getvalue()


def _feature_collection(name: str, features: list[dict[str, Any]]) -> str:
    """Return a GeoJSON FeatureCollection with one feature per line."""
    head = json.dumps(
        {"type": "FeatureCollection", "name": name, "description": SYNTHETIC_LABEL},
        ensure_ascii=False,
    )[:-1]
    body = ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
    return f'{head}, "features": [\n{body}\n]}}\n'


def _point(xy: FloatArray) -> dict[str, Any]:
    lon, lat = _to_lonlat(xy)[0]
    return {"type": "Point", "coordinates": [float(lon), float(lat)]}


def _stations_geojson(st: _Stations) -> str:
    features = [
        {
            "type": "Feature",
            "properties": {
                "id": st.ids[k],
                "name": st.names[k],
                "kind": st.kinds[k],
                "township_code": f"{SAMPLE_DISTRICT_CODE}{100 + st.township[k]}",
            },
            "geometry": _point(st.xy[k]),
        }
        for k in range(len(st.ids))
    ]
    return _feature_collection("stations", features)


def _teams_csv(teams: list[_Team]) -> str:
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["id", "name", "home_unit", "members", "skills", "lon", "lat"])
    for t in teams:
        lon, lat = _to_lonlat(t.xy)[0]
        wr.writerow([t.id, t.name, t.home_unit, t.members, t.skills, f"{lon:.7f}", f"{lat:.7f}"])
    return buf.getvalue()


def _hotspots_geojson(hotspots: list[_Hotspot], inc: _Incidents) -> str:
    features = []
    for k, h in enumerate(hotspots):
        sel = inc.cluster == k
        counts = [int((inc.category[sel] == c).sum()) for c in _CATEGORIES]
        first, last = np.datetime64(f"{SAMPLE_YEAR}-01-01") + np.array(h.days)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "id": h.id,
                    "name": h.name,
                    "kind": h.kind,
                    "radius_m": h.radius_m,
                    "n_incidents": int(sel.sum()),
                    "categories": {c: n for c, n in zip(_CATEGORIES, counts, strict=True) if n},
                    "hour_start": h.hours[0],
                    "hour_end": h.hours[1],
                    "hours": f"{h.hours[0]:02d}:00-{h.hours[1]:02d}:00",
                    "date_start": str(first),
                    "date_end": str(last),
                    "osm_ref": h.osm_ref,
                    "incident_ids": [str(x) for x in inc.id[sel]],
                },
                "geometry": _point(h.centre),
            }
        )
    return _feature_collection("hotspots_truth", features)


def _readme(seed: int, counts: dict[str, int], town_stems: list[str]) -> str:
    west, south, east, north = SAMPLE_BOUNDS
    n = counts
    files = [
        (
            "roads.osm",
            f"OSM XML 0.6 road network, {n['ways']} ways: a county road through the three "
            "township seats, township roads, village roads, field tracks and town streets; "
            "lit=yes/no on some ways. Two pieces are deliberately disconnected (tagged "
            "note=synthetic sample: planted ...).",
        ),
        (
            "villages.csv",
            f"{n['villages']} villagers' committees and {n['communities']} communities: "
            "12-digit codes, population, households, lon/lat of the centre beside its road.",
        ),
        ("stations.geojson", f"{n['stations']} police stations (派出所) and posts (警务室)."),
        ("teams.csv", f"{n['teams']} vanguard teams (先锋队): home unit, members, skills (';')."),
        (
            "incidents.gpkg",
            f'layer "incidents": {n["incidents"]} incidents in {SAMPLE_YEAR}; time is ISO-8601 '
            "with +08:00; category, severity 1-3, description.",
        ),
        (
            "hotspots_truth.geojson",
            f"{n['hotspots']} planted hotspot clusters: centre, radius_m, incident ids, "
            "category counts, hour and date windows (ground truth for tests).",
        ),
        ("README.txt", "this file."),
    ]
    listing = []
    for name, text in files:
        wrapped = textwrap.wrap(text, 64)
        listing.append(f"  {name:<24}{wrapped[0]}")
        listing += [" " * 26 + line for line in wrapped[1:]]
    towns = "、".join(f"{s}镇" for s in town_stems)
    return "\n".join(
        [
            SYNTHETIC_LABEL,
            "",
            f"pingan sample district {SAMPLE_DISTRICT_CODE} {SAMPLE_DISTRICT_NAME}",
            f"Generated by geo.sample.generate_sample(seed={seed}); the same seed gives "
            "identical files.",
            "Every place, name, person and incident in these files is invented; the district",
            "code is fictional.",
            "",
            f"Area: {west:.2f}-{east:.2f} E, {south:.2f}-{north:.2f} N (WGS84), a rural edge of "
            "Wuhan with",
            f"plain in the south and low hills in the north. Townships: {towns}.",
            "",
            "Files",
            *listing,
            "",
        ]
    )


def _write_atomically(d: _District, files: SampleFiles) -> None:
    """Write every file under a temporary name, then move all of them into place."""
    tag = f".{os.getpid()}.partial"
    texts = {
        files.roads: d.osm,
        files.villages: d.villages_csv,
        files.stations: d.stations_geojson,
        files.teams: d.teams_csv,
        files.hotspots_truth: d.hotspots_geojson,
        files.readme: d.readme,
    }
    temps = {path: path.with_name(f".{path.name}{tag}") for path in texts}
    # GDAL picks the GeoPackage driver by extension, so this temporary name keeps .gpkg.
    temps[files.incidents] = files.incidents.with_name(f".{files.incidents.stem}{tag}.gpkg")
    try:
        for path, text in texts.items():
            temps[path].write_bytes(text.encode("utf-8"))
        _write_incidents(d.incidents, temps[files.incidents])
        for path in files.paths:
            os.replace(temps[path], path)
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + "-journal").unlink(missing_ok=True)


def _write_incidents(inc: _Incidents, path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {
            "id": inc.id,
            "time": inc.time,
            "category": inc.category,
            "severity": inc.severity,
            "description": inc.description,
        },
        geometry=gpd.points_from_xy(inc.lon, inc.lat),
        crs="EPSG:4326",
    )
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    # GeoPackage stamps the write time into gpkg_contents; pin it so the bytes repeat.
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": f"{SAMPLE_YEAR}-12-31T00:00:00.000Z"})
    try:
        pyogrio.write_dataframe(
            gdf,
            path,
            layer="incidents",
            driver="GPKG",
            layer_options={"DESCRIPTION": SYNTHETIC_LABEL},
        )
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
