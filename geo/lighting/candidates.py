"""Lamp candidates: points along dark roads, what each lights, and which conflict.

A candidate lights a stretch of its own road; stretches are cut into elementary pieces
(the elements of a max-cover problem) weighted by length x risk per metre. Two candidates
conflict when their distance along the roads is below the lamp spacing: on one road, or
through a junction, measured by the area's distance engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse

from geo.engine import Engine
from geo.lighting.risk import RoadRisk
from geo.network import Roads

if TYPE_CHECKING:
    from geo.lighting.lamps import LampParams

__all__ = ["Instance", "build_instance"]

#: Distances within this of a limit count as equal to it (metres).
_TOL_M = 1e-6


@dataclass(frozen=True, eq=False)
class Instance:
    """Candidates, the road elements they light, and the spacing conflicts."""

    road: np.ndarray  # per candidate: row of the risk table
    pos: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    cover: sparse.csr_array  # candidate x element
    weight: np.ndarray  # per element: metres x score
    conflict_i: np.ndarray
    conflict_j: np.ndarray
    tiebreak: np.ndarray


def build_instance(
    roads: Roads,
    engine: Engine,
    rows: pd.DataFrame,
    risk: RoadRisk,
    *,
    step: float,
    spacing: float,
    cover_m: float,
    p: LampParams,
) -> Instance:
    """Build candidates, their coverage of road elements, conflicts and tie-breaks.

    ``rows`` are the dark roads that may take a lamp (rows of the risk table, with
    ``road``, ``length_m`` and ``score``); a candidate's ``road`` indexes ``rows``.
    """
    length = rows["length_m"].to_numpy(dtype=float)
    score = rows["score"].to_numpy(dtype=float)
    # A centred grid: floor(L / step) candidates step apart, the leftover split between
    # both ends, so every candidate is at least step/2 from its road's ends and two
    # candidates across a junction are at least step apart. A road shorter than step
    # gets one candidate at its middle (the only source of conflicts when step >= spacing).
    n_per = np.floor(length / step).astype(np.int64)
    short = n_per == 0
    counts = np.where(short, 1, n_per)
    road = np.repeat(np.arange(len(rows)), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    margin = 0.5 * (length - n_per * step)
    pos = np.where(short[road], 0.5 * length[road], margin[road] + (k + 0.5) * step)
    pos = np.clip(pos, 0.0, length[road])
    lo = np.maximum(pos - cover_m, 0.0)
    hi = np.minimum(pos + cover_m, length[road])

    # Lay the roads end to end on one axis (with gaps) so a sorted search finds the
    # elementary pieces between consecutive stretch ends on every road at once.
    gap = 2 * (cover_m + p.reach_m) + 1.0
    base = np.concatenate([[0.0], np.cumsum(length + gap)[:-1]])
    g_lo = np.round(base[road] + lo, 6)
    g_hi = np.round(base[road] + hi, 6)
    bp = np.unique(np.concatenate([g_lo, g_hi]))
    first = np.searchsorted(bp, g_lo)
    last = np.searchsorted(bp, g_hi)
    n_el = last - first
    cand = np.repeat(np.arange(len(pos)), n_el)
    el = np.repeat(first, n_el) + (np.arange(n_el.sum()) - np.repeat(np.cumsum(n_el) - n_el, n_el))
    used, el = np.unique(el, return_inverse=True)
    el_road = np.searchsorted(base, bp[used], side="right") - 1
    weight = (bp[used + 1] - bp[used]) * score[el_road]
    cover = sparse.csr_array((np.ones(len(cand)), (cand, el.ravel())), shape=(len(pos), len(used)))

    ci, cj = _conflicts(roads, engine, rows, road, pos, spacing)

    # Night incidents on the candidate's road, within reach of its stretch.
    night = risk.night_incidents
    edge_to_row = pd.Series(np.arange(len(rows)), index=rows["edge"].to_numpy())
    inc_edge = night["edge"].to_numpy(dtype=np.int64) if len(night) else np.zeros(0, np.int64)
    inc_row = edge_to_row.reindex(inc_edge).to_numpy()
    ok = ~np.isnan(inc_row)
    if len(night):
        ok &= night["offroad_m"].to_numpy(dtype=float) <= p.reach_m
    inc_g = np.sort(base[inc_row[ok].astype(np.int64)] + night["along_m"].to_numpy()[ok])
    tiebreak = np.searchsorted(inc_g, base[road] + hi + p.reach_m, side="right") - np.searchsorted(
        inc_g, base[road] + lo - p.reach_m, side="left"
    )
    return Instance(
        road=road,
        pos=pos,
        lo=lo,
        hi=hi,
        cover=cover,
        weight=weight,
        conflict_i=ci,
        conflict_j=cj,
        tiebreak=tiebreak.astype(np.int64),
    )


def _conflicts(
    roads: Roads,
    engine: Engine,
    rows: pd.DataFrame,
    road: np.ndarray,
    pos: np.ndarray,
    spacing: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Return candidate pairs (i < j) closer than ``spacing`` along the network."""
    limit = spacing - _TOL_M
    length = rows["length_m"].to_numpy(dtype=float)
    grow = rows["road"].to_numpy(dtype=np.int64)[road]
    to_u, to_v = pos, length[road] - pos
    parts_i, parts_j = [], []
    # Same road, straight along it: candidates are sorted by road, then position.
    order = np.lexsort((pos, road))
    r_s, p_s = road[order], pos[order]
    for lag in range(1, len(pos)):
        near = (r_s[lag:] == r_s[:-lag]) & (p_s[lag:] - p_s[:-lag] < limit)
        if not near.any():
            break
        parts_i.append(order[:-lag][near])
        parts_j.append(order[lag:][near])
    # Through the network: only candidates within spacing of a road end take part.
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
