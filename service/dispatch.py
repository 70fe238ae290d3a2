"""Which run of a sweep's tasks each worker takes next: pure, no Dask.

A sweep is cut into runs: a few tasks of one district, in task order
(:func:`district_runs`). Districts differ: a city's road graph loads in 2 s where a
rural one takes 0.3 s, and its tasks cost twice as much, and nothing the planner's
process holds says which is which before they are loaded. So the runs are not
assigned up front: :class:`Dispatch` hands a worker its next run when it has room
(:mod:`service.batch` keeps two in flight on each), preferring

1. a district the worker already holds, so it stays warm;
2. else a district no worker has started, in task order;
3. else the last run of the district with the most runs left, when it has at
   least :data:`STEAL_FROM` of them: the thief loads that district too, which pays
   only when its owner still has that much ahead of it.

Dask still places, moves and retries each run; this only decides what to submit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from geo.errors import PinganError
from geo.province import SweepTask

__all__ = ["STEAL_FROM", "Dispatch", "Run", "district_runs"]

#: A run: the index of its first task in the sweep, and its tasks.
Run = tuple[int, list[SweepTask]]

#: A district is shared with an idle worker only with this many runs still queued.
STEAL_FROM = 2


def district_runs(tasks: Sequence[SweepTask], chunk: int) -> list[Run]:
    """Split each district's tasks, in task order, into balanced runs of <= ``chunk``.

    Returned by the index of each run's first task. One Dask task per sweep task
    costs the scheduler, which a local cluster runs in the planner's process, about
    a tenth of the workers' CPU (measured); runs of 8 take that off the two cores
    the workers share, yet leave enough pieces for the workers to finish together.
    """
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        msg = f"chunk must be a whole number of at least 1, got {chunk!r}"
        raise PinganError(msg)
    by: dict[str, list[int]] = {}
    for i, t in enumerate(tasks):
        by.setdefault(t.district, []).append(i)
    runs = []
    for idx in by.values():
        pieces = -(-len(idx) // chunk)
        size, extra = divmod(len(idx), pieces)
        at = 0
        for p in range(pieces):
            step = size + (p < extra)
            runs.append((idx[at], [tasks[i] for i in idx[at : at + step]]))
            at += step
    return sorted(runs, key=lambda r: r[0])


class Dispatch:
    """The runs not yet handed out, and the districts each worker holds."""

    def __init__(self, runs: Sequence[Run]) -> None:
        self.left: dict[str, deque[Run]] = {}
        for run in runs:
            self.left.setdefault(run[1][0].district, deque()).append(run)
        self.held: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return sum(len(q) for q in self.left.values())

    def forget(self, worker: str) -> None:
        """Drop a worker that left: its districts are nobody's, and any worker's to start."""
        self.held.pop(worker, None)

    def next_for(self, worker: str) -> Run | None:
        """Return ``worker``'s next run, or None when none is worth giving it."""
        held = self.held.setdefault(worker, [])
        for d in held:
            if self.left[d]:
                return self.left[d].popleft()
        started = {d for h in self.held.values() for d in h}
        for d, q in self.left.items():
            if q and d not in started:
                held.append(d)
                return q.popleft()
        d = max(self.left, key=lambda c: len(self.left[c]), default="")
        if d and len(self.left[d]) >= STEAL_FROM:
            held.append(d)
            return self.left[d].pop()
        return None
