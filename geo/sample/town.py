"""The lit street web of each township seat.

A market town's core (:func:`geo.sample.roads.build_network`) is a star of straight
spokes from the centre crossroads to the gates, closed by block streets. Here each
sector between two neighbouring spokes gets cross lanes (巷) at fixed fractions of the
spokes, joined at their middles by a short street: a web of small lit blocks. A cross
lane at the same fraction of both spokes is a scaled copy of the chord between the
gates, so it stays inside the sector and never meets another cross lane; anything that
would come too close to another road (a block street bending inward) is left out.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from geo.sample.geometry import FloatArray, segment_lines
from geo.sample.roads import Net, Way

__all__ = ["add_town_streets", "numeral"]

_CLEAR_M = 16.0
_NUMERALS = "一二三四五六七八九十"


def add_town_streets(rng: np.random.Generator, net: Net, n_seats: int) -> None:
    """Add the cross lanes and joining streets of every seat's core, all lit."""
    for s in range(n_seats):
        _seat(rng, net, s)


def numeral(n: int) -> str:
    """Return ``n`` (1-99) in Chinese numerals: 一, 十, 十二, 二十三."""
    if n <= 10:
        return _NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _NUMERALS[tens - 1]) + "十" + (_NUMERALS[ones - 1] if ones else "")


def _seat(rng: np.random.Generator, net: Net, s: int) -> None:
    centre = net.jxy[s]
    spokes = [
        wi
        for wi, w in enumerate(net.ways)
        if w.alive and w.role == "town" and w.seat == s and s in (w.a, w.b)
    ]
    far = {wi: net.ways[wi].b if net.ways[wi].a == s else net.ways[wi].a for wi in spokes}
    head = {wi: _heading(centre, net.jxy[far[wi]]) for wi in spokes}
    spokes.sort(key=lambda wi: head[wi] % (2 * math.pi))
    service = next(w for w in net.ways if w.alive and w.role == "service" and w.seat == s)
    lane_h = _heading(centre, net.jxy[service.b]) % (2 * math.pi)
    fractions = np.array([0.26, 0.44, 0.62, 0.8]) + rng.uniform(-0.03, 0.03)

    segs, _, _, owner = net.segments(net.alive())
    tree = shapely.STRtree(segment_lines(segs))
    # Points at each fraction of each spoke, shared by the two sectors either side.
    at = {wi: centre + fractions[:, None] * (net.jxy[far[wi]] - centre) for wi in spokes}
    lanes: list[tuple[int, int, int, FloatArray, FloatArray]] = []  # spoke0, spoke1, k, p, q
    n = len(spokes)
    for i in range(n):
        w0, w1 = spokes[i], spokes[(i + 1) % n]
        width = (head[w1] - head[w0]) % (2 * math.pi)
        if not np.radians(35.0) <= width <= np.radians(135.0):
            continue
        if (lane_h - head[w0]) % (2 * math.pi) < width:
            continue  # the sector of the station's service lane stays open
        for k in range(len(fractions)):
            p, q = at[w0][k], at[w1][k]
            line = shapely.linestrings(np.vstack([p, q]))
            hit = tree.query(line, predicate="dwithin", distance=_CLEAR_M)
            if np.isin(owner[hit], [w0, w1], invert=True).any():
                continue
            lanes.append((w0, w1, k, p, q))
    if not lanes:
        return

    used = {(w, k) for w0, w1, k, _, _ in lanes for w in (w0, w1)}
    junction: dict[tuple[int, int], int] = {}
    for wi in spokes:
        ks = sorted(k for (w, k) in used if w == wi)
        if ks:
            _split_spoke(net, wi, s, [(k, at[wi][k]) for k in ks], junction)
    count = 0
    by_sector: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for w0, w1, k, p, q in lanes:
        count += 1
        mid = net.junction(0.5 * (p + q))
        by_sector.setdefault((w0, w1), []).append((k, mid))
        name = f"{numeral(count)}巷"
        a, b = junction[(w0, k)], junction[(w1, k)]
        net.add(Way(a, mid, "residential", "grid", seat=s, shape=np.empty((0, 2)), name=name))
        net.add(Way(mid, b, "residential", "grid", seat=s, shape=np.empty((0, 2)), name=name))
    for _, mids in sorted(by_sector.items()):
        mids.sort()
        if len(mids) < 2:
            continue
        ks = [k for k, _ in mids]
        if ks != list(range(ks[0], ks[0] + len(ks))):
            continue  # a skipped lane in between would leave the street crossing nothing
        count += 1
        name = f"{numeral(count)}巷"
        for (_, m0), (_, m1) in zip(mids[:-1], mids[1:], strict=True):
            net.add(Way(m0, m1, "residential", "grid", seat=s, shape=np.empty((0, 2)), name=name))


def _split_spoke(
    net: Net, wi: int, s: int, cuts: list[tuple[int, FloatArray]], junction: dict
) -> None:
    """Replace spoke ``wi`` by pieces between its cut points, keeping its direction."""
    w = net.ways[wi]
    outward = w.a == s
    js = []
    for k, p in cuts:
        j = net.junction(p)
        junction[(wi, k)] = j
        js.append(j)
    chain = [s, *js, w.b if outward else w.a]
    if not outward:
        chain = chain[::-1]
    w.alive = False
    for a, b in zip(chain[:-1], chain[1:], strict=True):
        net.add(
            Way(
                a, b, w.highway, w.role, seat=w.seat, road=w.road, village=w.village,
                shape=np.empty((0, 2)), name=w.name,
            )
        )  # fmt: skip


def _heading(a: FloatArray, b: FloatArray) -> float:
    return math.atan2(float(b[1] - a[1]), float(b[0] - a[0]))
