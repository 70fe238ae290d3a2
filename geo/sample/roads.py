"""Road network: curved ways between junctions, kept free of crossings.

How the road network is built
-----------------------------
Settlements (seats, villages and the points where roads leave the district) are joined
by a Delaunay triangulation, which is planar. County roads are shortest paths through
it, township roads join seats to their larger villages, the minimum spanning tree
reaches every village, and a thinned share of the remaining edges become extra village
roads and tracks (:mod:`geo.sample.skeleton`). Every edge is then bent into a gently
curving polyline; wherever the bending brings two roads closer than :data:`_CLEARANCE_M`
without a shared node, the bend is relaxed (straight Delaunay edges cannot cross) or an
optional road is dropped, so roads only ever meet at junction nodes. Two deliberately
disconnected pieces are planted last (:func:`plant_disconnected`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

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
    gaps,
    rotate,
    segment_lines,
    to_lonlat,
    unit,
)
from geo.sample.skeleton import Skeleton
from geo.sample.terrain import Terrain

__all__ = ["Net", "Way", "build_network", "check_no_crossings", "plant_disconnected"]


# Two roads without a shared node are kept at least this far apart, which also keeps the
# rounding of coordinates to 7 decimals (about 1 cm) from ever creating a crossing.
_CLEARANCE_M = 15.0
_MUST_KEEP = 9  # way priority that conflict resolution never drops

_SEAT_GATE_M = (300.0, 360.0)  # radius of a seat's town core, where county roads turn into streets

_KIND_HIGHWAY = {1: "track", 2: "unclassified", 3: "tertiary", 4: "secondary", 5: "primary"}


@dataclass
class Way:
    """One OSM way between two junctions, with the bend or shape of its interior."""

    a: int  # junction index of the first node
    b: int  # junction index of the last node
    highway: str
    role: str  # rural town street service field planted grid link through lane track
    seat: int = -1  # seat whose town core holds the way (town, street, service)
    road: int = -1  # index into Skeleton.roads for named county/township roads
    village: int = -1  # village a village road or track is named after
    priority: int = _MUST_KEEP  # lower is dropped first when roads get too close
    coef: FloatArray = field(default_factory=lambda: np.zeros(4))
    spacing: float = 150.0
    shape: FloatArray | None = None  # explicit interior points; overrides the bend
    alive: bool = True
    name: str = ""  # a name fixed when the way is built (town lanes, the planted road)
    tags: dict[str, str] = field(default_factory=dict)


class Net:
    """Junction coordinates plus ways whose interior shape nodes each way owns."""

    def __init__(self, junctions: FloatArray) -> None:
        self.jxy: list[FloatArray] = [np.asarray(p, dtype=np.float64) for p in junctions]
        self.ways: list[Way] = []

    def junction(self, p: FloatArray) -> int:
        """Add a junction at ``p`` and return its index."""
        self.jxy.append(np.asarray(p, dtype=np.float64))
        return len(self.jxy) - 1

    def add(self, way: Way) -> int:
        """Add ``way`` and return its index."""
        self.ways.append(way)
        return len(self.ways) - 1

    def coords(self, w: Way) -> FloatArray:
        """Return every point of ``w``, from its first junction to its last."""
        p, q = self.jxy[w.a], self.jxy[w.b]
        inner = w.shape if w.shape is not None else curve(p, q, w.coef, w.spacing)
        return np.asarray(np.vstack([p, inner, q]), dtype=np.float64)

    def alive(self) -> list[int]:
        """Return the indices of the ways not dropped."""
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
            lines = segment_lines(segs)
            i, j = shapely.STRtree(lines).query(lines, predicate="dwithin", distance=_CLEARANCE_M)
            keep = i < j
            i, j = i[keep], j[keep]
            share = (ka[i] == ka[j]) | (ka[i] == kb[j]) | (kb[i] == ka[j]) | (kb[i] == kb[j])
            i, j = i[~share], j[~share]
            outside = (np.abs(segs[:, :, 0]) > X_HALF) | (np.abs(segs[:, :, 1]) > Y_HALF)
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
                w.shape = curve(self.jxy[w.a], self.jxy[w.b], w.coef, w.spacing)


def build_network(
    rng: np.random.Generator,
    sk: Skeleton,
    n_seats: int,
    n_settle: int,
    terrain: Terrain,
) -> tuple[Net, FloatArray]:
    """Turn the skeleton into curved ways, town cores and field tracks.

    Returns the network and each seat's town-core radius.
    """
    net = Net(sk.pts)
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
        town: list[Way] = []
        for pos, s in ((0, a), (1, b)):
            if s >= n_seats:
                continue
            other = b if pos == 0 else a
            u = unit(sk.pts[other] - sk.pts[s])
            g = net.junction(sk.pts[s] + gate_r[s] * rng.uniform(0.85, 1.1) * u)
            ends[pos] = g
            seat_dirs[s].append((math.atan2(u[1], u[0]), g))
            town_hw = hw if k >= 3 else "residential"
            first, last = (s, g) if pos == 0 else (g, s)
            town.append(Way(first, last, town_hw, "town", seat=s, road=road if k >= 3 else -1))
        p, q = net.jxy[ends[0]], net.jxy[ends[1]]
        length = float(np.hypot(*(q - p)))
        wiggle = (1.0 + float(terrain.hill(0.5 * (p + q))[0])) * (1.3 if k == 1 else 1.0)
        village = max(a, b) if max(a, b) < n_settle else min(a, b)
        rural = Way(
            ends[0],
            ends[1],
            hw,
            "rural",
            road=road,
            village=village if village >= n_seats else -1,
            priority=priority,
            coef=bend(rng, length, wiggle),
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
            starts, widths = gaps(np.array([t for t, _ in spokes]))
            if widths[0] <= np.radians(130.0):
                break
            heading = float(starts[0] + widths[0] / 2) % full
            g = net.junction(centre + r * rng.uniform(0.8, 1.0) * direction(heading))
            net.add(Way(s, g, "residential", "town", seat=s))
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
                Way(
                    g0, g1, "residential", "street", seat=s,
                    coef=bend(rng, length, 0.4), spacing=float(rng.uniform(110.0, 150.0)),
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
        end = net.junction(centre + reach * direction(float(heading)))
        net.add(Way(s, end, "service", "service", seat=s, shape=np.empty((0, 2))))

    # Field tracks: dead ends from villages out into the fields.
    chords = net.headings(first_segment=False)
    for v in range(n_seats, n_settle):
        if rng.random() >= 0.35:
            continue
        starts, widths = gaps(chords.get(v, np.empty(0)))
        if widths.size > 1 and widths[1] >= np.radians(90.0):
            heading = float(starts[1] + widths[1] / 2)
        elif widths[0] >= np.radians(160.0):
            heading = float(starts[0] + widths[0] * (0.25 if rng.random() < 0.5 else 0.75))
        else:
            continue
        length = float(rng.uniform(350.0, 800.0))
        end_pt = net.jxy[v] + length * direction(heading)
        if np.any(np.abs(end_pt) > [X_HALF - 100.0, Y_HALF - 100.0]):
            continue
        end = net.junction(end_pt)
        net.add(
            Way(
                v,
                end,
                "track",
                "field",
                village=v,
                priority=1,
                coef=bend(rng, length, 1.4),
                spacing=float(rng.uniform(110.0, 190.0)),
            )
        )

    net.resolve()
    net.freeze()
    return net, gate_r


def check_no_crossings(net: Net) -> None:
    """Raise if any two ways cross without a shared node, judged on written coordinates."""
    segs, ka, kb, _ = net.segments(net.alive())
    lines = segment_lines(to_lonlat(segs.reshape(-1, 2)).reshape(-1, 2, 2))
    i, j = shapely.STRtree(lines).query(lines, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    share = (ka[i] == ka[j]) | (ka[i] == kb[j]) | (kb[i] == ka[j]) | (kb[i] == kb[j])
    touching = shapely.intersection(lines[i[share]], lines[j[share]])
    if (~share).any() or (shapely.get_type_id(touching) != 0).any():
        msg = "internal: generated roads cross without a junction"
        raise RuntimeError(msg)


def plant_disconnected(rng: np.random.Generator, net: Net, village_xy: FloatArray) -> None:
    """Plant the two pieces a strongly-connected-component pass must drop.

    One is a track lying alone in the fields; the other a one-way lane that can be
    entered from a village road but never left.
    """
    segs, _, _, owner = net.segments(net.alive())
    tree = shapely.STRtree(segment_lines(segs))
    gx, gy = np.meshgrid(
        np.arange(-X_HALF + 900.0, X_HALF - 900.0, 250.0),
        np.arange(-Y_HALF + 900.0, Y_HALF - 900.0, 250.0),
    )
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    _, d_road = tree.query_nearest(shapely.points(grid), return_distance=True, all_matches=False)
    d_vill = np.hypot(*(grid[:, None, :] - village_xy[None, :, :]).transpose(2, 0, 1)).min(axis=1)
    best = np.argsort(-np.minimum(d_road, d_vill), kind="stable")[:10]
    centre = grid[best[int(rng.integers(0, len(best)))]]
    half = 160.0 * direction(float(rng.uniform(0.0, np.pi)))
    net.add(
        Way(
            net.junction(centre - half),
            net.junction(centre + half),
            "track",
            "planted",
            priority=0,
            shape=curve(centre - half, centre + half, np.array([0.04, 0.0, 0.0, 0.0]), 110.0),
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
        tangent = unit(c[m + 1] - c[m - 1])
        for side in (1.0, -1.0):
            normal = rotate(tangent, side * np.pi / 2)
            lane = c[m] + np.outer([90.0, 180.0], normal)
            probe = shapely.linestrings(np.vstack([c[m] + 30.0 * normal, lane]))
            near = tree.query(probe, predicate="dwithin", distance=60.0)
            if (owner[near] != host).any() or np.hypot(*(village_xy - lane[-1]).T).min() < 60.0:
                continue
            _split_way(net, host, m)
            net.add(
                Way(
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


def _split_way(net: Net, wi: int, m: int) -> None:
    """Split way ``wi`` at its ``m``-th node, which becomes a junction."""
    w = net.ways[wi]
    c = net.coords(w)
    j = net.junction(c[m])
    second = replace(w, a=j, shape=c[m + 1 : -1], tags=dict(w.tags))
    w.b, w.shape = j, c[1:m]
    net.ways.insert(wi + 1, second)
