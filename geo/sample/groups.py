"""Village groups (村民小组) with their own lanes, and the planted road through four.

A villagers' committee in rural Wuhan is several hamlets (湾), each a village group of
20-80 households, strung along village roads that link the groups to the committee's
junction. Each group gets a hub on such a road, two to four dead-end lanes among its
houses (some with a side lane), and often a track out to its fields or a pond.

Every new way must stay inside its village's cell (so villages never interfere) and keep
:data:`~geo.sample.roads` clearance from every other road, judged against the finished
network plus what this village has added so far; a piece that does not fit is left out.

One village gets the planted case the lamp planner must find: a single unlit village
road (通组路) through four groups totalling about 90 households.
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
    bend,
    curve,
    direction,
    polyline_length,
    segment_lines,
)
from geo.sample.places import Places
from geo.sample.roads import Net, Way

__all__ = ["DarkRoad", "Groups", "add_groups", "settlement_cells"]

_CLEAR_M = 16.0  # a little above roads._CLEARANCE_M: new pieces never sit on the limit
_TRIM_M = 28.0  # a piece is tested beyond this distance from the junction it leaves
_CELL_INSET_M = 45.0
_NUMERALS = "一二三四五六七八九十"


@dataclass(frozen=True)
class Groups:
    """The village groups, one array entry each, in village order."""

    village: IntArray  # village index (0-based, villages only)
    number: IntArray  # 1-based number within its village (一组, 二组, ...)
    xy: FloatArray  # centre of the group's houses
    households: IntArray


@dataclass(frozen=True)
class DarkRoad:
    """The planted unlit road through four village groups."""

    village: int  # village index
    ways: tuple[int, ...]  # way indices in order from the village junction
    groups: tuple[int, ...]  # indices into Groups, in order along the road
    households: int


def settlement_cells(settle_xy: FloatArray) -> NDArray[np.object_]:
    """Return the Voronoi cell of each settlement junction, clipped to the district."""
    box = shapely.box(-X_HALF, -Y_HALF, X_HALF, Y_HALF)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(settle_xy), extend_to=box)
    )
    pts = shapely.points(settle_xy)
    # voronoi_polygons does not keep the input order; match each cell to its point.
    own = shapely.STRtree(cells).query(pts, predicate="within")
    out = np.empty(len(settle_xy), dtype=object)
    out[own[0]] = shapely.intersection(cells[own[1]], box)
    return out


class _Room:
    """Where a new piece of road may go: clear of the roads, inside the village."""

    def __init__(self, net: Net, avoid: FloatArray) -> None:
        segs, *_ = net.segments(net.alive())
        self.roads = shapely.STRtree(segment_lines(segs))
        self.avoid = shapely.STRtree(np.asarray(shapely.points(avoid), dtype=object))
        self.cell: shapely.Geometry = shapely.Polygon()
        self.local: list[shapely.Geometry] = []

    def enter(self, cell: shapely.Geometry) -> None:
        self.cell = shapely.buffer(cell, -_CELL_INSET_M)
        shapely.prepare(self.cell)  # tested against thousands of points and lines
        self.local = []

    def road_gap(self, p: FloatArray) -> float:
        _, d = self.roads.query_nearest(shapely.points(p), return_distance=True)
        return float(d[0])

    def fits(self, c: FloatArray) -> bool:
        """Whether polyline ``c`` (leaving an existing junction at ``c[0]``) fits."""
        line = shapely.linestrings(c)
        if not shapely.contains(self.cell, line):
            return False
        if polyline_length(c) <= _TRIM_M + 1.0:
            return False
        tested = shapely.linestrings(_beyond(c, _TRIM_M))
        if len(self.roads.query(tested, predicate="dwithin", distance=_CLEAR_M)):
            return False
        if len(self.avoid.query(tested, predicate="dwithin", distance=25.0)):
            return False
        return not (self.local and shapely.dwithin(np.array(self.local), tested, _CLEAR_M).any())

    def take(self, c: FloatArray) -> None:
        self.local.append(shapely.LineString(c))


def _beyond(c: FloatArray, s0: float) -> FloatArray:
    """Return the part of polyline ``c`` beyond arc length ``s0``."""
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(c, axis=0).T))])
    k = int(np.searchsorted(cum, s0, side="right"))
    t = (s0 - cum[k - 1]) / (cum[k] - cum[k - 1])
    start = c[k - 1] + t * (c[k] - c[k - 1])
    return np.asarray(np.vstack([start, c[k:]]), dtype=np.float64)


def add_groups(
    rng: np.random.Generator,
    net: Net,
    places: Places,
    cells: NDArray[np.object_],
    n_seats: int,
) -> tuple[Groups, DarkRoad]:
    """Split each village's households into groups and build the groups' lanes.

    ``cells`` are the settlement cells of :func:`settlement_cells` (seats first). Every
    village's households (as written to villages.csv) are shared out over its groups
    exactly, so the group layer adds up to the village layer.
    """
    n_v = len(places.village_xy)
    total = places.households()
    avoid = np.vstack([places.village_xy, places.community_xy, places.station_xy])
    room = _Room(net, avoid)
    built: list[_Built] = []

    planted = _plant_dark_road(rng, net, places, cells, n_seats, total, room)
    for v in range(n_v):
        room.enter(cells[n_seats + v])
        if v == planted.village:
            room.local = list(planted.lines)
            rest = int(total[v]) - planted.households
            n_g = int(np.clip(round(rest / rng.uniform(45.0, 75.0)), 1, 6))
            hh = _split(rng, rest, n_g)
            groups = _grow(rng, net, room, n_seats + v, hh)
            built.append(_Built(v, [*planted.built, *groups]))
        else:
            n_g = int(np.clip(round(int(total[v]) / rng.uniform(40.0, 65.0)), 3, 10))
            hh = _split(rng, int(total[v]), n_g)
            built.append(_Built(v, _grow(rng, net, room, n_seats + v, hh)))

    village: list[int] = []
    number: list[int] = []
    xy: list[FloatArray] = []
    households: list[int] = []
    first_of: dict[int, int] = {}
    for b in built:
        first_of[b.village] = len(village)
        # Groups a village could not fit leave their households to the ones it did, in
        # proportion, so no group swells to a village's size. The planted road's four
        # groups keep theirs: the case is "about 90 households along one road".
        fixed = len(planted.hubs) if b.village == planted.village else 0
        own = np.array([g.households for g in b.groups], dtype=np.float64)
        spare = int(total[b.village]) - int(own.sum())
        share = np.zeros(len(own))
        if spare and len(own) > fixed:
            w = own[fixed:] / own[fixed:].sum()
            share[fixed:] = _largest_remainder(w * spare, spare)
        for k, g in enumerate(b.groups):
            village.append(b.village)
            number.append(k + 1)
            xy.append(g.xy)
            households.append(g.households + int(share[k]))
    layer = Groups(
        village=np.array(village, dtype=np.int64),
        number=np.array(number, dtype=np.int64),
        xy=np.array(xy, dtype=np.float64),
        households=np.array(households, dtype=np.int64),
    )
    start = first_of[planted.village]
    dark = DarkRoad(
        village=planted.village,
        ways=planted.ways,
        groups=tuple(range(start, start + len(planted.hubs))),
        households=planted.households,
    )
    return layer, dark


@dataclass
class _Group:
    xy: FloatArray
    households: int


@dataclass
class _Built:
    village: int
    groups: list[_Group]


@dataclass
class _Planted:
    village: int
    ways: tuple[int, ...]
    hubs: list[int]
    lines: list[shapely.Geometry]
    built: list[_Group]
    households: int


def _split(rng: np.random.Generator, total: int, n: int) -> list[int]:
    """Share ``total`` households over ``n`` groups, none tiny, summing exactly."""
    share = rng.dirichlet(np.full(n, 5.0))
    return [int(x) for x in _largest_remainder(share * total, total)]


def _largest_remainder(raw: FloatArray, total: int) -> IntArray:
    """Round ``raw`` to integers summing to ``total`` (largest remainders, lowest first)."""
    out = np.floor(raw).astype(np.int64)
    left = total - int(out.sum())
    out[np.argsort(-(raw - out), kind="stable")[:left]] += 1
    return out


def _piece(
    rng: np.random.Generator, p: FloatArray, q: FloatArray, wiggle: float, spacing: float
) -> FloatArray:
    """Return the full polyline of a gently bent piece of road from ``p`` to ``q``."""
    length = float(np.hypot(*(q - p)))
    inner = curve(p, q, bend(rng, length, wiggle), spacing)
    return np.asarray(np.vstack([p, inner, q]), dtype=np.float64)


def _add(net: Net, room: _Room, c: FloatArray, a: int, highway: str, role: str, v: int) -> int:
    """Add the piece ``c`` from junction ``a`` to a new junction; return the new junction."""
    b = net.junction(c[-1])
    net.add(Way(a, b, highway, role, village=v, shape=c[1:-1].copy()))
    room.take(c)
    return b


def _lanes(
    rng: np.random.Generator,
    net: Net,
    room: _Room,
    hub: int,
    blocked: list[float],
    v: int,
) -> FloatArray:
    """Build a group's lanes (and maybe a field track) from ``hub``; return lane ends.

    ``blocked`` are the headings of the village roads at the hub, which lanes keep
    clear of.
    """
    p = net.jxy[hub]
    k = int(rng.integers(3, 6))
    heading = float(rng.uniform(0.0, 2 * np.pi)) + np.arange(8) * (np.pi / 4)
    heading = heading + rng.normal(0.0, np.radians(8.0), 8)
    off = np.abs((heading[:, None] - np.array(blocked)[None, :] + np.pi) % (2 * np.pi) - np.pi)
    heading = heading[off.min(axis=1) >= np.radians(50.0)][::2][:k]
    length = rng.uniform(60.0, 160.0, len(heading))
    branch = rng.random(len(heading)) < 0.5
    ends: list[tuple[FloatArray, int, float]] = []
    for h, ell, br in zip(heading, length, branch, strict=True):
        c = _piece(rng, p, p + ell * direction(float(h)), 0.4, 30.0)
        side = 1.0 if rng.random() < 0.5 else -1.0
        b_len = float(rng.uniform(40.0, 90.0))
        b_turn = side * float(rng.uniform(np.radians(75.0), np.radians(100.0)))
        if not room.fits(c):
            continue
        m = len(c) // 2
        if br and 0 < m < len(c) - 1:
            mid = c[m]
            bc = _piece(rng, mid, mid + b_len * direction(float(h) + b_turn), 0.3, 30.0)
            room.take(c)
            fits = room.fits(bc)
            room.local.pop()
            if fits:
                j = _add(net, room, c[: m + 1], hub, "residential", "lane", v)
                e = _add(net, room, c[m:], j, "residential", "lane", v)
                f = _add(net, room, bc, j, "residential", "lane", v)
                ends += [(c[-1], e, float(h)), (bc[-1], f, float(h) + b_turn)]
                continue
        e = _add(net, room, c, hub, "residential", "lane", v)
        ends.append((c[-1], e, float(h)))
    if not ends:
        # No lane fits among the roads around: one short lane, wherever there is room.
        for h in float(rng.uniform(0.0, 2 * np.pi)) + np.arange(12) * (np.pi / 6):
            c = _piece(rng, p, p + 45.0 * direction(float(h)), 0.0, 30.0)
            if room.fits(c):
                ends.append((c[-1], _add(net, room, c, hub, "residential", "lane", v), float(h)))
                break
    if ends and rng.random() < 0.45:
        # A track out to the group's fields or fish ponds, from its farthest lane end.
        far, j, h = max(ends, key=lambda t: float(np.hypot(*(t[0] - p))))
        out = h + float(rng.normal(0.0, 0.3))
        c = _piece(rng, far, far + rng.uniform(180.0, 420.0) * direction(out), 1.2, 60.0)
        if room.fits(c):
            _add(net, room, c, j, "track", "track", v)
    return np.array([e[0] for e in ends]) if ends else p[None, :].copy()


def _heading(a: FloatArray, b: FloatArray) -> float:
    """Return the heading from ``a`` to ``b``."""
    return math.atan2(float(b[1] - a[1]), float(b[0] - a[0]))


def _group_xy(hub: FloatArray, ends: FloatArray) -> FloatArray:
    # Houses stand along the lanes, so their centre sits between the hub and the ends.
    return np.asarray(hub + 0.35 * (ends.mean(axis=0) - hub), dtype=np.float64)


def _grow(
    rng: np.random.Generator,
    net: Net,
    room: _Room,
    anchor: int,
    households: list[int],
) -> list[_Group]:
    """Place groups around ``anchor`` by dart throwing, linking each to the nearest node."""
    centre = net.jxy[anchor]
    nodes = [anchor]
    out: list[_Group] = []
    hubs: list[FloatArray] = []
    wanted = list(households)
    tries = 40 * len(wanted)
    for attempt in range(2 * tries):
        if not wanted:
            break
        # A crowded cell (roads through it, a small village) relaxes the spacing.
        tight = attempt >= tries
        d = float(rng.uniform(150.0 if tight else 200.0, 950.0))
        p = centre + d * direction(float(rng.uniform(0.0, 2 * np.pi)))
        wiggle = float(rng.uniform(0.5, 1.2))
        gap = 45.0 if tight else 70.0
        if not shapely.contains(room.cell, shapely.points(p)) or room.road_gap(p) < gap:
            continue
        spacing = 150.0 if tight else 200.0
        if hubs and float(np.hypot(*(np.asarray(hubs) - p).T).min()) < spacing:
            continue
        near = min(nodes, key=lambda j: float(np.hypot(*(net.jxy[j] - p))))
        c = _piece(rng, net.jxy[near], p, wiggle, 80.0)
        if not room.fits(c):
            continue
        hub = _add(net, room, c, near, "unclassified", "link", anchor)
        ends = _lanes(rng, net, room, hub, [_heading(c[-1], c[-2])], anchor)
        nodes.append(hub)
        hubs.append(p)
        out.append(_Group(_group_xy(p, ends), wanted.pop(0)))
    return out


def _plant_dark_road(
    rng: np.random.Generator,
    net: Net,
    places: Places,
    cells: NDArray[np.object_],
    n_seats: int,
    total: IntArray,
    room: _Room,
) -> _Planted:
    """Build one unlit village road through four groups of about 90 households in all."""
    d_seat = np.hypot(
        *(places.anchor_xy[:, None, :] - places.seat_xy[None, :, :]).transpose(2, 0, 1)
    ).min(axis=1)
    ok = np.flatnonzero((d_seat >= 2000.0) & (total >= 200))
    hh4 = [int(x) for x in rng.multinomial(90 - 4 * 15, [0.25] * 4) + 15]
    for v in ok[rng.permutation(len(ok))]:
        anchor = n_seats + int(v)
        a_xy = net.jxy[anchor]
        for h0 in rng.uniform(0.0, 2 * np.pi) + np.arange(16) * (2 * np.pi / 16):
            room.enter(cells[anchor])
            steps = rng.uniform(190.0, 240.0, 4)
            drift = np.cumsum(rng.normal(0.0, np.radians(12.0), 4))
            pts = [a_xy]
            for s, dh in zip(steps, drift, strict=True):
                pts.append(pts[-1] + s * direction(float(h0 + dh)))
            if min(room.road_gap(p) for p in pts[1:]) < 80.0:
                continue
            pieces = [_piece(rng, pts[k], pts[k + 1], 0.6, 70.0) for k in range(4)]
            fit = True
            for c in pieces:
                if not room.fits(c):
                    fit = False
                    break
                room.take(c)
            if not fit:
                continue
            room.local = []
            ways: list[int] = []
            hubs: list[int] = []
            at = anchor
            for c in pieces:
                at = _add(net, room, c, at, "unclassified", "through", anchor)
                ways.append(len(net.ways) - 1)
                hubs.append(at)
            built = []
            for k, hub in enumerate(hubs):
                c = pieces[k]
                blocked = [_heading(c[-1], c[-2])]
                if k + 1 < len(pieces):
                    blocked.append(_heading(pieces[k + 1][0], pieces[k + 1][1]))
                ends = _lanes(rng, net, room, hub, blocked, anchor)
                built.append(_Group(_group_xy(net.jxy[hub], ends), hh4[k]))
            return _Planted(
                village=int(v),
                ways=tuple(ways),
                hubs=hubs,
                lines=list(room.local),
                built=built,
                households=sum(hh4),
            )
    msg = "internal: no room for the planted dark road through four groups"
    raise RuntimeError(msg)
