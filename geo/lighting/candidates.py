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

__all__ = ["Slots", "build_slots"]

#: Distances within this of a limit count as equal to it (metres).
_TOL_M = 1e-6
#: Slot points made at a time (each a geometry object of about 100 bytes).
_BLOCK = 200_000


@dataclass(frozen=True, eq=False)
class Slots:
    """Lamp slots in road order (the order of ``rows``), then from the road's ``u`` end.

    Per slot: ``row`` (row of the dark-road table), ``pos`` (metres from ``u``), ``x``,
    ``y``, and the metres a lamp there lights: ``mid_m`` between the midpoints to its
    neighbouring slots (the whole road for a road shorter than the spacing), plus
    ``head_m`` before it when it starts a run and ``tail_m`` after it when it ends one
    (both 0 when ``coverage_m`` is half the spacing, up to the road's ends). Per road:
    ``first`` slot and ``count``. ``n_conflicts`` pairs of slots were closer than the
    spacing, and ``n_dropped`` short roads lost their slot to them.
    """

    row: np.ndarray
    pos: np.ndarray
    x: np.ndarray
    y: np.ndarray
    mid_m: np.ndarray
    head_m: np.ndarray
    tail_m: np.ndarray
    first: np.ndarray
    count: np.ndarray
    n_conflicts: int
    n_dropped: int

    def __len__(self) -> int:
        return len(self.row)


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
    row = np.repeat(np.arange(len(rows)), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    margin = 0.5 * (length - n_per * spacing)
    pos = np.where(short[row], 0.5 * length[row], margin[row] + (k + 0.5) * spacing)
    half = 0.5 * spacing
    mid = np.where(short[row], length[row], spacing)
    head = np.where(short[row], 0.0, np.maximum(np.minimum(cover_m, pos) - half, 0.0))
    tail = np.where(short[row], 0.0, np.maximum(np.minimum(cover_m, length[row] - pos) - half, 0.0))

    ci, cj = _conflicts(roads, engine, rows, row, pos, spacing)
    pair = np.concatenate([ci, cj])
    drop = np.zeros(len(pos), dtype=bool)
    drop[pair[short[row[pair]]]] = True
    keep = ~drop
    row, pos, mid, head, tail = row[keep], pos[keep], mid[keep], head[keep], tail[keep]
    count = np.bincount(row, minlength=len(rows))
    first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)

    grow = rows["road"].to_numpy(dtype=np.int64)[row]
    x, y = np.empty(len(pos)), np.empty(len(pos))
    # A block of points at a time: millions of slots need their x, y, not point objects.
    for lo in range(0, len(pos), _BLOCK):
        part = slice(lo, lo + _BLOCK)
        pts = shapely.line_interpolate_point(roads.geometry[grow[part]], pos[part])
        x[part], y[part] = shapely.get_x(pts), shapely.get_y(pts)
    return Slots(
        row=row,
        pos=pos,
        x=x,
        y=y,
        mid_m=mid,
        head_m=head,
        tail_m=tail,
        first=first,
        count=count,
        n_conflicts=len(ci),
        n_dropped=int(drop.sum()),
    )


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
    grow = rows["road"].to_numpy(dtype=np.int64)[road]
    to_u, to_v = pos, length[road] - pos
    parts_i, parts_j = [], []
    # Same road, straight along it: slots are sorted by road, then position.
    order = np.lexsort((pos, road))
    r_s, p_s = road[order], pos[order]
    for lag in range(1, len(pos)):
        near = (r_s[lag:] == r_s[:-lag]) & (p_s[lag:] - p_s[:-lag] < limit)
        if not near.any():
            break
        parts_i.append(order[:-lag][near])
        parts_j.append(order[lag:][near])
    # Through the network: only slots within spacing of a road end take part.
    seeds = np.column_stack([roads.u[grow], roads.v[grow]])
    costs = np.column_stack([to_u, to_v])
    near_end = np.flatnonzero(np.minimum(to_u, to_v) < limit)
    if len(near_end):
        # Metres along any road, lit or not, both ways: the distance engine's search.
        located = engine.at_edges(roads.edge[grow[near_end]], pos[near_end])
        near = engine.near(located, limit)
        pt, node, d = near.source, near.node, near.cost
        ends = pd.DataFrame(
            {
                "j": np.concatenate([near_end, near_end]),
                "node": np.concatenate([seeds[near_end, 0], seeds[near_end, 1]]),
                "cj": np.concatenate([costs[near_end, 0], costs[near_end, 1]]),
            }
        )
        ends = ends[ends["cj"] < limit]
        hit = pd.DataFrame({"i": near_end[pt], "node": node, "d": d}).merge(ends, on="node")
        close = (hit["d"] + hit["cj"] < limit) & (hit["i"] != hit["j"])
        parts_i.append(hit.loc[close, "i"].to_numpy(dtype=np.int64))
        parts_j.append(hit.loc[close, "j"].to_numpy(dtype=np.int64))
    if not parts_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a = np.concatenate(parts_i)
    b = np.concatenate(parts_j)
    lo_, hi_ = np.minimum(a, b), np.maximum(a, b)
    key = np.unique(lo_ * len(pos) + hi_)
    return key // len(pos), key % len(pos)
