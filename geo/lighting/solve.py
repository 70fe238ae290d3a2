"""Choosing the lamps: runs of consecutive slots, exactly or greedily.

A plan is a set of runs: consecutive slots on one road, at least ``min_run`` lamps long
(all the road's slots when it has fewer) and at least ``min_gap`` empty slots apart on
one road. A lamp's worth is its metres lit times the worth of a metre where it stands
(:mod:`~geo.lighting.benefit`); the first and last lamp of a run add what they light
beyond their neighbours' midpoints. Roads are independent (their slots are spacing
apart across junctions), so the exact plan is a dynamic programme over the slots of each
road, for every number of lamps, then a knapsack over roads.

Values are compared as integers: each lamp's worth in units of ``1 / P`` of the most a
single lamp can be worth, times ``M``, plus its nearness to the houses (0..1023). Sums are
exact, so two plans tie only when they are worth the same to that unit; then the one
nearer the houses wins, and a remaining tie goes to the plan lighting lower road ids
first and, on a road, the slots nearest its ``u`` end (greedy: the earlier slot).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from geo.lighting.candidates import Slots

if TYPE_CHECKING:
    from geo.lighting.lamps import LampParams

__all__ = ["NEAR_LEVELS", "Outcome", "solve"]

#: Nearness to the houses is compared in this many steps (0 = none near at all).
NEAR_LEVELS = 1023
#: Roads whose dynamic programmes run together (memory: roads x states x budget floats,
#: and a pick per slot and budget): a few thousand keep it to tens of megabytes.
_DP_ROADS = 2_000
#: Slots whose worths and keys are computed at a time.
_SLOTS = 200_000
_NEG = -np.inf


@dataclass(frozen=True, eq=False)
class Outcome:
    """The lit slots (in slot order), their runs, and what is proven about the plan."""

    lit: np.ndarray  # slot indices
    run: np.ndarray  # per lit slot: run number (0-based, in slot order)
    value: np.ndarray  # per lit slot: the worth it adds (true, not rounded)
    upper: float
    guarantee: str
    ratio: float
    method: str
    reason: str

    @staticmethod
    def nothing(reason: str, method: str) -> Outcome:
        """Return the outcome of placing nothing, with the reason."""
        none = np.zeros(0, np.int64)
        return Outcome(
            lit=none,
            run=none,
            value=np.zeros(0),
            upper=0.0,
            guarantee="optimal (nothing to place)",
            ratio=1.0,
            method=method,
            reason=reason,
        )


@dataclass(frozen=True, eq=False)
class _Keys:
    """Per slot of a set, the integer keys the solver compares (as exact floats).

    The ``unit_*`` worths are for the greedy method only (empty for the exact one).
    """

    mid: np.ndarray  # worth of the lamp's own metres, times M, plus its nearness
    head: np.ndarray  # worth of what a run's first lamp lights before it, times M
    tail: np.ndarray  # worth of what a run's last lamp lights after it, times M
    unit_mid: np.ndarray  # the same worths in units, without the nearness
    unit_head: np.ndarray
    unit_tail: np.ndarray


@dataclass(frozen=True, eq=False)
class _Worth:
    """How slots are worth: their metres times the worth of a metre there, in units.

    Keys are made for the slots that need them (:meth:`keys`): the exact method keeps
    those of one block of roads at a time, never three arrays the size of the slots.
    """

    slots: Slots
    per_m: np.ndarray  # worth of a lit metre, per slot
    near: np.ndarray  # nearness to the houses, per slot
    unit: float  # the worth of one unit
    scale: float  # M: more than k lamps' nearness, so worth always decides

    @staticmethod
    def of(slots: Slots, per_m: np.ndarray, near: np.ndarray, k: int, best: float) -> _Worth:
        """Units of the most a lamp is worth, ``best``, fine enough for ``k`` lamps."""
        scale = float(k * NEAR_LEVELS + 1)
        # Units fine enough to tell plans apart, coarse enough for exact sums below 2**52.
        n_units = min(2.0**32, 2.0 ** np.floor(np.log2(2.0**50 / (k * scale))))
        return _Worth(slots, per_m, near, best / n_units, scale)

    def keys(self, part: slice | np.ndarray, *, units: bool = False) -> _Keys:
        """Return the keys of slots ``part`` (and their worths in units, with ``units``)."""
        # A block at a time: the worths behind the keys never exist for all slots at once.
        if isinstance(part, slice):
            start, stop, _ = part.indices(len(self.slots))
            n = max(stop - start, 0)
            blocks: list[slice | np.ndarray] = [
                slice(lo, min(lo + _SLOTS, stop)) for lo in range(start, stop, _SLOTS)
            ]
        else:
            n = len(part)
            blocks = [part[lo : lo + _SLOTS] for lo in range(0, n, _SLOTS)]
        key_mid, key_head, key_tail = np.empty(n), np.empty(n), np.empty(n)
        u_mid, u_head, u_tail = (np.empty(n if units else 0) for _ in range(3))
        for i, at in enumerate(blocks):
            block = slice(i * _SLOTS, (i + 1) * _SLOTS)
            mid, head, tail = _worths(self.slots, self.per_m, at)[:3]
            q_mid, q_head, q_tail = (np.rint(v / self.unit) for v in (mid, head, tail))
            if units:
                u_mid[block], u_head[block], u_tail[block] = q_mid, q_head, q_tail
            # A lamp worth nothing adds no nearness either, so it is never placed for it.
            key_mid[block] = q_mid * self.scale + np.where(q_mid > 0, self.near[at], 0)
            key_head[block] = q_head * self.scale
            key_tail[block] = q_tail * self.scale
        return _Keys(key_mid, key_head, key_tail, u_mid, u_head, u_tail)


def _worths(slots: Slots, per_m: np.ndarray, part: slice | np.ndarray) -> tuple[np.ndarray, ...]:
    """Return the worths of slots ``part``: own metres, head, tail, and all three."""
    w = per_m[part]
    mid_m, head_m, tail_m = slots.metres(part)
    mid, head, tail = mid_m * w, head_m * w, tail_m * w
    return mid, head, tail, mid + head + tail


def _best(slots: Slots, per_m: np.ndarray, k: int) -> tuple[float, float]:
    """Return the most a single lamp is worth, and the worth of the ``k`` best alone."""
    n = len(slots)
    bests, tops = [], []
    for lo in range(0, n, _SLOTS):
        single = _worths(slots, per_m, slice(lo, lo + _SLOTS))[3]
        bests.append(single.max())
        tops.append(single if len(single) <= k else np.partition(single, len(single) - k)[-k:])
    best = float(np.max(bests)) if bests else 0.0
    top = np.concatenate(tops) if tops else np.zeros(0)
    # The k largest, summed largest first as a full sort would.
    top = np.sort(np.partition(top, len(top) - k)[len(top) - k :])[::-1] if len(top) else top
    return best, float(top.sum())


def solve(slots: Slots, per_m: np.ndarray, near: np.ndarray, budget: int, p: LampParams) -> Outcome:
    """Choose the runs of lamps within ``budget``.

    A slot's worth is its metres (``mid_m``, and ``head_m`` or ``tail_m`` when it starts
    or ends a run) times ``per_m``, the worth of a metre there; ``near`` its nearness to
    the houses (0..:data:`NEAR_LEVELS`).
    """
    k = min(budget, len(slots))
    best, top = _best(slots, per_m, k) if k else (0.0, 0.0)
    if k == 0 or best <= 0:
        return Outcome.nothing("no lamp slot is worth anything (every road scores 0)", p.method)
    worth = _Worth.of(slots, per_m, near, k, best)
    if p.method == "exact":
        lit = _exact(slots, worth, k, p.min_run, p.min_gap)
    else:
        keys = worth.keys(slice(None), units=True)
        lit = _greedy(slots, keys, k, p.min_run, p.min_gap)
    idx = np.flatnonzero(lit)
    run = _runs(slots, idx)
    starts = np.ones(len(idx), dtype=bool)
    starts[1:] = run[1:] != run[:-1]
    ends = np.ones(len(idx), dtype=bool)
    ends[:-1] = run[1:] != run[:-1]
    mid, head, tail = _worths(slots, per_m, idx)[:3]
    value = mid + np.where(starts, head, 0.0) + np.where(ends, tail, 0.0)
    covered = float(value.sum())
    if p.method == "exact":
        # Optimal to the unit: each of at most 3 rounded terms per lamp is off by half
        # a unit, for this plan and for the best one.
        upper = min(top, covered + 3.0 * k * worth.unit)
        guarantee = "optimal (dynamic programme over each road's slots, knapsack over roads)"
        ratio = 1.0
    else:
        upper = top
        guarantee = "none a priori (greedy growth of runs); the bound is proven on this instance"
        ratio = covered / upper if upper > 0 else 1.0
    reason = ""
    if len(idx) < budget:
        reason = (
            f"only {len(idx)} of {budget} lamps are worth placing: every other slot is worth "
            f"nothing, or runs of at least {p.min_run} lamps {p.min_gap}+ slots apart do "
            "not fit the rest of the budget"
        )
    return Outcome(
        lit=idx,
        run=run,
        value=value,
        upper=float(max(upper, covered)),
        guarantee=guarantee,
        ratio=min(ratio, 1.0),
        method=p.method,
        reason=reason,
    )


def _runs(slots: Slots, idx: np.ndarray) -> np.ndarray:
    """Return the run of each lit slot: runs are consecutive slots of one road."""
    if not len(idx):
        return np.zeros(0, np.int64)
    new = np.ones(len(idx), dtype=bool)
    new[1:] = (slots.row[idx[1:]] != slots.row[idx[:-1]]) | (idx[1:] != idx[:-1] + 1)
    return np.cumsum(new) - 1


# --------------------------------------------------------------------------- exact


def _exact(slots: Slots, worth: _Worth, k: int, min_run: int, min_gap: int) -> np.ndarray:
    """Return the lit mask of the best plan: per-road curves, knapsack, trace back.

    Among plans of equal key the one chosen lights lower road ids first and, on a road,
    the slots nearest its ``u`` end first (the lexicographically first plan).
    """
    count, first = slots.count, slots.first
    n_roads = len(count)
    # A road with fewer slots than min_run is lit whole or not at all.
    few = np.flatnonzero((count > 0) & (count < min_run) & (count <= k))
    whole = _whole(slots, worth, few)
    dp = np.flatnonzero(count >= min_run)

    # Knapsack over roads from the highest id; on a tie a road takes the most lamps, and
    # tracing from road 0 then gives lower road ids their lamps first. ``pad`` is the
    # total after k -inf; ``window[w][b, j]`` indexes it at total[b - K + j] (K = w - 1),
    # one gather per road instead of building views.
    pad = np.full(2 * k + 1, _NEG)
    pad[k] = 0.0
    total = pad[k:]
    at_b = np.arange(k + 1)
    widths = np.unique(np.concatenate([count[few] + 1, [k + 1]]))
    window = {int(w): (k - w + 1) + at_b[:, None] + np.arange(w)[None, :] for w in widths}
    choice = np.zeros((n_roads, k + 1), dtype=np.min_scalar_type(k))
    # Roads are independent, so their programmes run a block of roads at a time (the
    # states of every road at once would be slots x budget x states floats), from the
    # highest ids, and each block's curves go into the knapsack before the next block
    # (curves of every road at once would be roads x budget floats). A block of roads
    # spans the ids from its first road to the next block's.
    starts = [0, *(int(dp[lo]) for lo in range(_DP_ROADS, len(dp), _DP_ROADS))]
    ends = [*starts[1:], n_roads]
    for j in range(len(starts) - 1, -1, -1):
        lo_r, hi_r = starts[j], ends[j]
        curves = np.full((hi_r - lo_r, k + 1), _NEG)
        curves[:, 0] = 0.0
        width = np.ones(hi_r - lo_r, dtype=np.int64)
        block = dp[j * _DP_ROADS : (j + 1) * _DP_ROADS]
        if len(block):
            s0, s1 = int(first[block[0]]), int(first[block[-1]] + count[block[-1]])
            keys = worth.keys(slice(s0, s1))
            part = _RoadDP(slots, keys, first[block] - s0, k, min_run, min_gap, block)
            curves[block - lo_r] = part.curve
            width[block - lo_r] = k + 1
        inside = (few >= lo_r) & (few < hi_r)
        f = few[inside]
        curves[f - lo_r, count[f]] = whole[inside]
        width[f - lo_r] = count[f] + 1
        for r in np.flatnonzero(width > 1)[::-1].tolist():
            w = int(width[r])
            cand = pad[window[w]]  # cand[b, j] = total[b - K + j] + c[K - j]
            cand += curves[r, w - 1 :: -1]
            pick = w - 1 - np.argmax(cand, axis=1)  # the first maximum: the most lamps
            choice[lo_r + r] = pick
            total[:] = cand[at_b, w - 1 - pick]
    b = int(np.argmax(total))  # the fewest lamps reaching the best key
    take = np.zeros(n_roads, dtype=np.int64)
    for r in range(n_roads):
        take[r] = choice[r, b]
        b -= take[r]

    lit = np.zeros(len(slots), dtype=bool)
    for f in few[take[few] > 0]:
        lit[first[f] : first[f] + count[f]] = True
    lamps_on = dp[take[dp] > 0]
    if len(lamps_on):
        n_on = count[lamps_on]
        base = np.cumsum(n_on) - n_on
        at = np.repeat(first[lamps_on] - base, n_on) + np.arange(n_on.sum())
        traced = _RoadDP(slots, worth.keys(at), base, k, min_run, min_gap, lamps_on)
        lit |= traced.trace(take[lamps_on])
    return lit


def _whole(slots: Slots, worth: _Worth, roads: np.ndarray) -> np.ndarray:
    """Return the key of lighting each of ``roads`` whole.

    Its slots' ``mid`` keys as differences of their running sum over all slots in slot
    order (which, above 2**53, rounds: the sum is carried from block to block exactly
    as one running sum would be), plus the first one's head and the last one's tail.
    """
    if not len(roads):
        return np.zeros(0)
    a = slots.first[roads]
    b = a + slots.count[roads]
    cs_a, cs_b, head, tail = (np.empty(len(roads)) for _ in range(4))
    carry = 0.0
    n = len(slots)
    for lo in range(0, n, _SLOTS):
        hi = min(lo + _SLOTS, n)
        keys = worth.keys(slice(lo, hi))
        cs = np.cumsum(np.concatenate([[carry], keys.mid]))  # cs[i]: the sum before lo + i
        for want, out in ((a, cs_a), (b, cs_b)):
            here = (want >= lo) & (want <= hi)
            out[here] = cs[want[here] - lo]
        here = (a >= lo) & (a < hi)
        head[here] = keys.head[a[here] - lo]
        here = (b - 1 >= lo) & (b - 1 < hi)
        tail[here] = keys.tail[b[here] - 1 - lo]
        carry = float(cs[-1])
    return cs_b - cs_a + head + tail


class _RoadDP:
    """Best key per road for every number of lamps, over the roads with ``min_run`` slots.

    Scanning each road's slots from its ``v`` end (so that tracing back walks from the
    ``u`` end and can take the slot nearest it whenever that costs nothing; a run's first
    lamp in the scan is its last on the road, so head and tail trade places), the state
    after a slot is: free (no run yet, or ``min_gap`` empty slots since the last), in a
    gap of ``1..min_gap-1`` empty slots, or in a run of ``1..min_run-1`` lamps or of
    ``min_run`` or more. All roads advance together, the longest first, vectorised over
    roads and lamp counts. Where two ways into a state are worth the same, the one whose
    previous slot (or, for two lit ones, the slot before the run) is lit is kept, so
    tracing back from the last slot lights the slots it meets first whenever that costs
    nothing. ``keys`` are those of the roads' slots only, road ``roads[i]``'s from
    ``base[i]`` on.
    """

    def __init__(
        self,
        slots: Slots,
        keys: _Keys,
        base: np.ndarray,
        k: int,
        min_run: int,
        min_gap: int,
        roads: np.ndarray,
    ) -> None:
        g, m = min_gap, min_run
        self.g, self.m = g, m
        by_length = np.argsort(-slots.count[roads], kind="stable")
        self.order = roads[by_length]
        n = slots.count[self.order]
        self.n = n
        first = base[by_length]
        # The scan's slot t of a road is its slot n - 1 - t: read the keys from the v end
        # in place (a reversed copy of each key would be as big as the keys).
        last = first + n - 1
        self.free, self.full = 0, g + m - 1  # state numbers: gaps 1..g-1, runs g..g+m-1
        n_states = g + m
        value = np.full((n_states, len(n), k + 1), _NEG)
        value[self.free, :, 0] = 0.0
        self.from_free: list[np.ndarray] = []
        self.from_full: list[np.ndarray] = []
        self.end = np.zeros((len(n), k + 1), dtype=np.int64)
        curve = np.empty((len(n), k + 1))
        run1 = g  # state of a run with one lamp

        def shift(x: np.ndarray) -> np.ndarray:
            out = np.full_like(x, _NEG)
            out[..., 1:] = x[..., :-1]
            return out

        def best(options: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            # The argmax of two options, the first of equal ones (NaN counting as the
            # largest, as for argmax), without stacking them: the scan calls this
            # thousands of times on tables of roads x lamp counts.
            a, b = options
            pick = (b > a) | (np.isnan(b) & ~np.isnan(a))
            return np.where(pick, b, a), pick.astype(np.int8)

        for t in range(int(n[0])):
            a = int((n > t).sum())
            at = last[:a] - t
            mid = keys.mid[at][:, None]
            head = keys.tail[at][:, None]
            tail_prev = keys.head[at + 1][:, None] if t else np.zeros((a, 1))
            old = value[:, :a]
            new = np.full_like(old, _NEG)
            closing = old[self.full] + tail_prev
            # Empty slot: free stays free; a gap grows; a run of min_run or more ends.
            # Preferred: a lit slot before (g == 1), else a run nearer (the last gap).
            if g == 1:
                new[self.free], pick = best([closing, old[self.free]])
            else:
                new[self.free], pick = best([old[g - 1], old[self.free]])
                new[1] = closing
                new[2:g] = old[1 : g - 1]
            self.from_free.append(pick)
            # Lit slot: a run starts (from free) or grows; preferred: the longer run.
            start = shift(old[self.free]) + mid + head
            grow_short = start if m == 1 else shift(old[self.full - 1]) + mid
            if m > 1:
                new[run1] = start
                new[run1 + 1 : self.full] = shift(old[run1 : self.full - 1]) + mid
            new[self.full], pick = best([shift(old[self.full]) + mid, grow_short])
            self.from_full.append(pick)
            value[:, :a] = new
            # Roads ending here: after a run long enough, in a gap, or free (preferred in
            # that order: the nearer the last slot is to a lamp, the better).
            d = np.flatnonzero(n[:a] == t + 1)
            if len(d):
                tail = keys.head[first[d]][:, None]
                ends = np.concatenate(
                    [(value[self.full, d] + tail)[None], value[1:g, d], value[self.free, d][None]]
                )
                pick_end = np.argmax(ends, axis=0)
                self.end[d] = pick_end
                curve[d] = np.take_along_axis(ends, pick_end[None], axis=0)[0]
        self.last = slots.first[self.order] + n - 1  # in all slots, for the lit mask
        self.n_slots = len(slots)
        # Back in the caller's road order.
        back = np.empty(len(roads), dtype=np.int64)
        back[np.searchsorted(roads, self.order)] = np.arange(len(roads))
        self.back = back
        self.curve = curve[back]

    def trace(self, take: np.ndarray) -> np.ndarray:
        """Return the lit mask of the plans with ``take`` lamps per road (caller's order)."""
        g, m = self.g, self.m
        lit = np.zeros(self.n_slots, dtype=bool)
        lamps = np.zeros(len(self.order), dtype=np.int64)
        lamps[self.back] = take
        chosen = np.flatnonzero(lamps > 0)
        if not len(chosen):
            return lit
        k = lamps[chosen]
        pick = self.end[chosen, k]
        # End choices: 0 a run of min_run or more, 1..g-1 the gap states, g free.
        state = np.where(pick == 0, self.full, np.where(pick == g, self.free, pick))
        for t in range(int(self.n[chosen].max()) - 1, -1, -1):
            on = self.n[chosen] > t
            d, s, kk = chosen[on], state[on], k[on]
            is_lit = s >= g
            lit[self.last[d[is_lit]] - t] = True
            prev = s.copy()
            # Free came from the last gap state (a run when min_gap is 1), or from free.
            f = s == self.free
            src = self.from_free[t][d[f], kk[f]]
            prev[f] = np.where(src == 1, self.free, self.full if g == 1 else g - 1)
            gap = (s >= 1) & (s < g)
            prev[gap] = np.where(s[gap] == 1, self.full, s[gap] - 1)
            run = (s > g) & (s < self.full)
            prev[run] = s[run] - 1
            if m > 1:
                prev[s == g] = self.free
            full = s == self.full
            src = self.from_full[t][d[full], kk[full]]
            prev[full] = np.where(src == 0, self.full, self.full - 1 if m > 1 else self.free)
            state[on] = prev
            k[on] = kk - is_lit
        return lit


# --------------------------------------------------------------------------- greedy


def _greedy(slots: Slots, keys: _Keys, k: int, min_run: int, min_gap: int) -> np.ndarray:
    """Grow runs by the best worth per lamp until the budget or the worth runs out.

    A step opens a new run (``min_run`` lamps, or a short road whole), extends a run by
    one lamp at either end, or fills the gap between two runs of one road, whichever
    keeps the plan valid and adds the most per lamp; ties go to the earlier slot.
    """
    n = len(slots)
    row = slots.row
    local = np.arange(n) - slots.first[row]
    size = slots.count[row]
    need = np.minimum(min_run, size)
    g = min_gap
    none = n + g + 10  # "no lit slot this way": farther than any slot
    # Offsets keep roads apart in running maxima and minima over the whole slot array.
    offset = row.astype(np.int64) * (4 * none)
    cs_key = np.concatenate([[0.0], np.cumsum(keys.mid)])
    cs_unit = np.concatenate([[0.0], np.cumsum(keys.unit_mid)])
    idx = np.arange(n)
    lit = np.zeros(n, dtype=bool)
    left = k
    while left > 0:
        # Local index of the nearest lit slot of the same road at or before / after each.
        at_or_before = np.maximum.accumulate(np.where(lit, offset + local, offset - none)) - offset
        at_or_after = (
            np.minimum.accumulate(np.where(lit, offset + local, offset + none)[::-1])[::-1] - offset
        )
        before = np.concatenate([[-none], at_or_before[:-1]])
        before[local == 0] = -none
        after = np.concatenate([at_or_after[1:], [none]])
        after[local == size - 1] = none
        # Moves as (first slot, last slot, key gained, units gained).
        moves: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

        # A new run of `need` lamps from each free slot, min_gap clear of other runs.
        end = idx + need - 1
        ok = (local + need <= size) & (need <= left) & (before <= local - g - 1)
        ok &= at_or_after >= local + need + g
        s = np.flatnonzero(ok)
        e = end[s]
        moves.append(
            (
                s,
                e,
                cs_key[e + 1] - cs_key[s] + keys.head[s] + keys.tail[e],
                cs_unit[e + 1] - cs_unit[s] + keys.unit_head[s] + keys.unit_tail[e],
            )
        )
        run_end = np.flatnonzero(lit & (local + 1 < size))
        run_end = run_end[~lit[run_end + 1]]
        run_start = np.flatnonzero(lit & (local > 0))
        run_start = run_start[~lit[run_start - 1]]
        # One more lamp after a run's end, or before its start.
        e = run_end[after[run_end + 1] >= local[run_end] + 2 + g]
        moves.append(
            (
                e + 1,
                e + 1,
                keys.mid[e + 1] + keys.tail[e + 1] - keys.tail[e],
                keys.unit_mid[e + 1] + keys.unit_tail[e + 1] - keys.unit_tail[e],
            )
        )
        b = run_start[before[run_start - 1] <= local[run_start] - 2 - g]
        moves.append(
            (
                b - 1,
                b - 1,
                keys.mid[b - 1] + keys.head[b - 1] - keys.head[b],
                keys.unit_mid[b - 1] + keys.unit_head[b - 1] - keys.unit_head[b],
            )
        )
        # The whole gap between a run and the next one on its road.
        nxt = after[run_end]
        j = run_end[(nxt < none) & (nxt - local[run_end] - 1 <= left)]
        s = j + (after[j] - local[j])  # the next run's first slot
        moves.append(
            (
                j + 1,
                s - 1,
                cs_key[s] - cs_key[j + 1] - keys.tail[j] - keys.head[s],
                cs_unit[s] - cs_unit[j + 1] - keys.unit_tail[j] - keys.unit_head[s],
            )
        )
        first, last, key, unit = (np.concatenate(c) for c in zip(*moves, strict=True))
        span = last - first + 1
        live = unit > 0
        if not live.any():
            break
        first, span, key = first[live], span[live], key[live]
        best = np.lexsort((first, -(key / span)))[0]
        lit[first[best] : first[best] + span[best]] = True
        left -= int(span[best])
    return lit
