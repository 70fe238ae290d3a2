"""Lamp slots: where lamps may stand along dark roads, and what each would light.

Slots are ``spacing`` apart along each road, centred on it, so a run of lamps in
consecutive slots lights one continuous stretch and lamps on two roads meeting at a
junction are at least ``spacing`` apart. Only a road shorter than the spacing (one slot,
at its middle) can come closer than that to another road's slot; the distance engine
finds those, and such a slot is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geo.engine import Engine
from geo.network import Roads

__all__ = ["Slots", "build_slots", "slot_geometries"]

#: Distances within this of a limit count as equal to it (metres).
_TOL_M = 1e-6
#: Nodes reached from slots near road ends joined with the slots ending there at a time.
_PAIRS = 200_000
#: Row of the dark-road table per slot: 4 bytes, not 8, for millions of slots.
_ROW = np.int32


@dataclass(frozen=True, eq=False)
class Slots:
    """Lamp slots in road order (the order of ``rows``), then from the road's ``u`` end.

    Per slot: ``row`` (row of the dark-road table) and ``pos`` (metres from ``u``). Per
    road: ``first`` slot, ``count``, ``length`` (metres) and ``short`` (shorter than the
    ``spacing``: one slot, at its middle); ``cover_m`` is the length lit on each side of
    a lamp. ``n_conflicts`` pairs of slots were closer than the spacing, and
    ``n_dropped`` short roads lost their slot to them.

    The metres a lamp lights (:meth:`metres`) and where it stands on the map
    (:func:`slot_geometries`) follow from these, and are computed for the slots that need
    them: on millions of slots each is an array the size of the slots to keep.
    """

    row: np.ndarray
    pos: np.ndarray
    first: np.ndarray
    count: np.ndarray
    length: np.ndarray
    short: np.ndarray
    spacing: float
    cover_m: float
    n_conflicts: int
    n_dropped: int

    def __len__(self) -> int:
        return len(self.row)

    def metres(
        self, part: slice | np.ndarray = slice(None)
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return what a lamp in each slot of ``part`` lights: ``mid_m``, ``head_m``, ``tail_m``.

        ``mid_m`` lies between the midpoints to its neighbouring slots (the whole road
        for a short road), ``head_m`` before it when it starts a run and ``tail_m`` after
        it when it ends one (both 0 when ``cover_m`` is half the spacing, up to the
        road's ends).
        """
        row, pos = self.row[part], self.pos[part]
        short, length = self.short[row], self.length[row]
        half = 0.5 * self.spacing
        mid = np.where(short, length, self.spacing)
        head = np.where(short, 0.0, np.maximum(np.minimum(self.cover_m, pos) - half, 0.0))
        to_v = np.minimum(self.cover_m, length - pos)
        tail = np.where(short, 0.0, np.maximum(to_v - half, 0.0))
        return mid, head, tail


def build_slots(
    roads: Roads,
    engine: Engine,
    rows: pd.DataFrame,
    *,
    spacing: float,
    cover_m: float,
) -> Slots:
    """Lay lamp slots every ``spacing`` along each road of ``rows``.

    ``rows`` are the dark roads that may take a lamp (rows of the risk table, with
    ``road`` and ``length_m``); ``cover_m`` is the length lit on each side of a lamp,
    at least ``spacing / 2``.
    """
    length = rows["length_m"].to_numpy(dtype=float)
    # floor(L / spacing) slots spacing apart with the leftover split between both ends:
    # every slot is at least spacing/2 from its road's ends, so two slots on roads that
    # meet are at least spacing apart along the network. A road shorter than the
    # spacing gets one slot at its middle, the only kind that can come closer.
    n_per = np.floor(length / spacing + 1e-9).astype(np.int64)
    short = n_per == 0
    counts = np.where(short, 1, n_per)
    # Millions of slots: the position is made once and worked on in place, so the
    # peak is a few arrays the size of the slots rather than one per term.
    row = np.repeat(np.arange(len(rows), dtype=_ROW), counts)
    k = np.arange(counts.sum(), dtype=np.int64)
    k -= np.repeat(np.cumsum(counts) - counts, counts)  # the slot's place on its road
    pos = k.astype(float)
    del k
    pos += 0.5
    pos *= spacing
    pos += (0.5 * (length - n_per * spacing))[row]  # the margin
    sh = short[row]
    pos[sh] = 0.5 * length[row[sh]]

    ci, cj = _conflicts(roads, engine, rows, row, pos, spacing)
    pair = np.concatenate([ci, cj])
    drop = np.zeros(len(pos), dtype=bool)
    drop[pair[sh[pair]]] = True
    del sh
    n_dropped = int(drop.sum())
    if n_dropped:
        keep = ~drop
        row, pos = row[keep], pos[keep]
    count = np.bincount(row, minlength=len(rows))
    first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    return Slots(
        row=row,
        pos=pos,
        first=first,
        count=count,
        length=length,
        short=short,
        spacing=float(spacing),
        cover_m=float(cover_m),
        n_conflicts=len(ci),
        n_dropped=n_dropped,
    )


def slot_geometries(
    roads: Roads, rows: pd.DataFrame, row: np.ndarray, pos: np.ndarray
) -> np.ndarray:
    """Return the point objects of the slots at ``pos`` metres along rows ``row``.

    Ask for a block at a time: millions of slots need a few of their points at once.
    """
    grow = rows["road"].to_numpy(dtype=np.int64)
    return np.asarray(shapely.line_interpolate_point(roads.geometry[grow[row]], pos), dtype=object)


def _conflicts(
    roads: Roads,
    engine: Engine,
    rows: pd.DataFrame,
    road: np.ndarray,
    pos: np.ndarray,
    spacing: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Return slot pairs (i < j) closer than ``spacing`` along the network."""
    limit = spacing - _TOL_M
    length = rows["length_m"].to_numpy(dtype=float)
    n = len(pos)
    parts_i, parts_j = [], []
    # Same road, straight along it, on the slots sorted by road, then position: as
    # build_slots lays them, so only slots in another order are sorted (a stable sort
    # of sorted slots is the identity), not three more arrays the size of the slots.
    order: np.ndarray | None = None
    if n > 1 and not _sorted(road, pos):
        order = np.lexsort((pos, road))
    r_s, p_s = (road, pos) if order is None else (road[order], pos[order])
    for lag in range(1, n):
        near = (r_s[lag:] == r_s[:-lag]) & (p_s[lag:] - p_s[:-lag] < limit)
        if not near.any():
            break
        at = np.flatnonzero(near)
        parts_i.append(at if order is None else order[at])
        parts_j.append(at + lag if order is None else order[at + lag])
    del r_s, p_s, order
    # Through the network: only slots within spacing of a road end take part.
    to_end = length[road]
    np.subtract(to_end, pos, out=to_end)
    np.minimum(pos, to_end, out=to_end)
    near_end = np.flatnonzero(to_end < limit)
    del to_end
    if len(near_end):
        grow = rows["road"].to_numpy(dtype=np.int64)[road[near_end]]
        at_u = pos[near_end]
        at_v = length[road[near_end]] - at_u
        # Metres along any road, lit or not, both ways: the distance engine's search.
        located = engine.at_edges(roads.edge[grow], at_u)
        near = engine.near(located, limit)
        del located
        # Each slot within spacing of a road end, by that end's node.
        j = np.concatenate([near_end, near_end])
        node = np.concatenate([roads.u[grow], roads.v[grow]])
        cj = np.concatenate([at_u, at_v])
        ok = cj < limit
        j, node, cj = j[ok], node[ok], cj[ok]
        by_node = np.argsort(node, kind="stable")
        j, node, cj = j[by_node], node[by_node], cj[by_node]
        # Join each node the search reached from slot i with the slots ending there,
        # a block of reached nodes at a time, kept only as the close pairs.
        for lo in range(0, len(near.source), _PAIRS):
            part = slice(lo, lo + _PAIRS)
            i, d, at_node = near_end[near.source[part]], near.cost[part], near.node[part]
            a = np.searchsorted(node, at_node, side="left")
            b = np.searchsorted(node, at_node, side="right")
            many = b - a
            hit = np.repeat(np.arange(len(i)), many)
            k = np.repeat(a - np.cumsum(many) + many, many) + np.arange(len(hit))
            close = (d[hit] + cj[k] < limit) & (i[hit] != j[k])
            parts_i.append(i[hit[close]])
            parts_j.append(j[k[close]])
    if not parts_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a = np.concatenate(parts_i).astype(np.int64)
    b = np.concatenate(parts_j).astype(np.int64)
    lo_, hi_ = np.minimum(a, b), np.maximum(a, b)
    key = np.unique(lo_ * n + hi_)
    return key // n, key % n


def _sorted(road: np.ndarray, pos: np.ndarray) -> bool:
    """Whether slots are sorted by road, then position."""
    step = road[1:] > road[:-1]
    step |= (road[1:] == road[:-1]) & (pos[1:] >= pos[:-1])
    return bool(step.all())
