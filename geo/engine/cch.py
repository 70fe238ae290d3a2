"""Customizable contraction hierarchies (RoutingKit, through ``routingkit_cch``).

On a city-sized graph a matrix of a few hundred rows costs one full Dijkstra per row;
a CCH answers the same pairs from two small upward searches each. The work splits in
two, and that split is what makes it fit a planning tool:

- the **order** (nested dissection, RoutingKit's inertial flow) depends only on the
  graph's shape — nodes, arcs and coordinates — and takes about half a minute on 250k
  nodes. It is keyed by a hash of exactly that shape, kept in memory for every engine
  of the same graph (a scenario's edited network shares it) and saved in the network
  cache folder, so it runs once per OSM file, not per run, request or scenario;
- the **customisation** puts one metric (a mode's times, a closed road, a lit road's
  walking penalty) on the order in under a second.

A located point starts one search from both its anchors at once, each with its partial
edge as a head start (``distances_from_multi``), so a matrix of 200 points costs 200
rows, not the 400 of its anchor nodes.

RoutingKit weighs arcs in unsigned 32-bit integers, so costs are rounded to
:data:`SCALE` units per second (per metre on a length engine): each arc is off by at
most half a unit, a path of k arcs by at most k/2 units — under 0.1 s for a 200-arc
trip at millisecond units. Closed arcs get RoutingKit's infinity, so they stay in the
order and a scenario reopens them by customising again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geo.errors import EngineError
from geo.network.build import file_sha256

__all__ = ["CCH_MIN_NODES", "SCALE", "default_threads", "CCHMetric", "available", "order_for"]

#: Integer units per second (or per metre) of the arc weights: milliseconds.
SCALE = 1000.0
#: From this many nodes up, ``backend="auto"`` answers matrices through a CCH
#: (benchmarks/engine_cch.py measures where the two backends cross).
CCH_MIN_NODES = 20_000
#: RoutingKit's infinite weight (INT_MAX): at or above it an arc is closed. Sums are
#: saturated there, so a route through a closed arc is never mistaken for a short one.
INF_WEIGHT = 2**31 - 1


def default_threads() -> int:
    """Return the threads a large matrix is answered on: one per core, at most 4."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


#: Below this many pairs a block is answered on the caller's thread alone.
_PARALLEL_PAIRS = 4_096
_MIN_CHUNK = 4
#: Orders kept in memory at once (one per distinct graph shape: routing, all roads...).
_MEMO_SIZE = 4
_FORMAT = 2

ProgressFn = Callable[[str], None]
_log = logging.getLogger(__name__)


def _rk() -> Any:
    # Typed loosely: its stubs ask for lists, and it takes numpy arrays as well (faster).
    import routingkit_cch

    return routingkit_cch


def available() -> bool:
    """Return whether the RoutingKit bindings are installed."""
    try:
        import routingkit_cch  # noqa: F401
    except ImportError:
        return False
    return True


def shape_key(tail: np.ndarray, head: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> str:
    """Return the content hash of a graph's shape: what its order depends on."""
    h = hashlib.sha256(f"cch/{_FORMAT}/{len(lat)}/{len(tail)}".encode())
    for a in (tail, head):
        h.update(np.ascontiguousarray(a, dtype=np.uint32).tobytes())
    for a in (lat, lon):
        h.update(np.ascontiguousarray(a, dtype=np.float32).tobytes())
    return h.hexdigest()[:32]


@dataclass(eq=False)
class _Order:
    key: str
    #: The contracted graph built on the node order from the arcs; metrics customise it.
    cch: Any
    n_nodes: int
    n_arcs: int


_memo: OrderedDict[str, _Order] = OrderedDict()
_memo_lock = threading.Lock()


def order_for(
    tail: np.ndarray,
    head: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    *,
    folder: Path | None = None,
    progress: ProgressFn | None = None,
) -> _Order:
    """Return the order of this graph shape: from memory, from ``folder``, or built.

    A saved order whose files fail their checksums, or that was saved for another
    shape, is removed and built again (and saved again when ``folder`` is writable).
    """
    rk = _rk()

    say = progress or (lambda _m: None)
    key = shape_key(tail, head, lat, lon)
    with _memo_lock:
        hit = _memo.get(key)
        if hit is not None:
            _memo.move_to_end(key)
            return hit
        n, m = len(lat), len(tail)
        t = np.ascontiguousarray(tail, dtype=np.uint32)
        h = np.ascontiguousarray(head, dtype=np.uint32)
        rank = None
        where = None if folder is None else Path(folder) / f"cch-{key}"
        if where is not None and where.is_dir():
            rank = _load(where, key, n, m, say)
        if rank is None:
            say(f"ordering the road graph for fast matrices ({n:,} nodes, once per network)")
            rank = np.asarray(
                rk.compute_order_inertial(
                    n,
                    t,
                    h,
                    np.ascontiguousarray(lat, dtype=np.float32),
                    np.ascontiguousarray(lon, dtype=np.float32),
                ),
                dtype=np.uint32,
            )
            if where is not None:
                _save(rank, where, key, n, m, say)
        # Closed arcs stay in (False): a later customisation may open them again.
        order = _Order(key=key, cch=rk.CCH(rank, t, h, False), n_nodes=n, n_arcs=m)
        _memo[key] = order
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
        return order


def forget_orders() -> None:
    """Drop the in-memory orders (tests use it to force a load from disk)."""
    with _memo_lock:
        _memo.clear()


def _save(rank: np.ndarray, where: Path, key: str, n: int, m: int, say: ProgressFn) -> None:
    # Saved beside, then renamed into place: a reader sees a whole order or none.
    tmp: Path | None = None
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{where.name}.", dir=where.parent))
        np.save(tmp / "order.npy", rank, allow_pickle=False)
        files = {"order.npy": file_sha256(tmp / "order.npy")}
        manifest = {"format": _FORMAT, "key": key, "nodes": n, "arcs": m, "files": files}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        if where.exists():
            shutil.rmtree(where, ignore_errors=True)
        os.replace(tmp, where)
    except OSError as exc:
        say(f"could not save the graph order in {where.parent}: {exc}")
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _load(where: Path, key: str, n: int, m: int, say: ProgressFn) -> np.ndarray | None:
    try:
        manifest = json.loads((where / "manifest.json").read_text())
        same = (manifest.get("format"), manifest.get("key")) == (_FORMAT, key)
        same = same and (manifest.get("nodes"), manifest.get("arcs")) == (n, m)
        files = manifest.get("files") or {}
        intact = bool(files) and all(file_sha256(where / name) == d for name, d in files.items())
        if same and intact:
            rank = np.load(where / "order.npy", allow_pickle=False)
            # A permutation of the nodes, or RoutingKit would read out of bounds.
            if rank.shape == (n,) and np.array_equal(np.sort(rank), np.arange(n)):
                return rank.astype(np.uint32, copy=False)
    except (OSError, ValueError) as exc:
        say(f"saved graph order {where.name} unreadable ({exc}); ordering again")
    else:
        say(f"saved graph order {where.name} is damaged or stale; ordering again")
    shutil.rmtree(where, ignore_errors=True)
    return None


@dataclass(eq=False)
class CCHMetric:
    """One metric (arc costs) customised on an order; answers many-to-many blocks.

    ``cost`` is per arc in seconds (or metres); inf or NaN closes the arc.

    The customised metric is read-only, so any number of queries share it. RoutingKit's
    query objects are bound to the thread that made them, so each call makes its own:
    concurrent callers (the service's requests) never wait for each other, and a large
    block is cut into row chunks that ``threads`` threads answer at once (the bindings
    release the GIL while they search).
    """

    order: _Order
    cost: np.ndarray
    threads: int = field(default_factory=default_threads)

    def __post_init__(self) -> None:
        rk = _rk()

        if len(self.cost) != self.order.n_arcs:
            msg = f"{len(self.cost)} arc costs for an order of {self.order.n_arcs} arcs"
            raise EngineError(msg)
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1:
            msg = f"threads must be a whole number of at least 1, got {self.threads!r}"
            raise EngineError(msg)
        c = np.asarray(self.cost, dtype=float)
        finite = np.isfinite(c)
        if finite.any() and c[finite].max() * SCALE >= INF_WEIGHT:
            msg = f"an arc cost of {c[finite].max():.0f} is beyond the CCH's integer range"
            raise EngineError(msg)
        units = np.where(finite, np.rint(c * SCALE), INF_WEIGHT).astype(np.uint32)
        self._metric = rk.CCHMetric(self.order.cch, units)

    def many_to_many(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Return costs (float, inf where no route) from each source to each target node."""
        src = np.asarray(sources, dtype=np.int64).reshape(-1, 1)
        return self.from_points(src, np.zeros(src.shape), targets)

    def from_points(
        self, nodes: np.ndarray, head_start: np.ndarray, targets: np.ndarray
    ) -> np.ndarray:
        """Return costs from each row's best start to each target node (inf: no route).

        Row ``i`` starts at every node ``nodes[i, k] >= 0`` at once, already
        ``head_start[i, k]`` in (a located point's partial edge to each anchor); a row
        with no start node is all inf.
        """
        nodes = np.asarray(nodes, dtype=np.int64)
        c = np.asarray(head_start, dtype=float)
        nodes = np.where(np.isfinite(c), nodes, -1)
        units = np.rint(np.where(nodes >= 0, c, 0.0) * SCALE).astype(np.int64)
        dst = np.asarray(targets, dtype=np.int64)
        out = np.full((len(nodes), len(dst)), np.inf)
        rows = np.flatnonzero((nodes >= 0).any(axis=1))
        if len(rows) == 0 or len(dst) == 0:
            return out
        starts = [
            [(int(v), int(u)) for v, u in zip(nodes[i], units[i], strict=True) if v >= 0]
            for i in rows
        ]
        k = 1 if len(rows) * len(dst) < _PARALLEL_PAIRS else min(self.threads, len(rows))
        step = max(_MIN_CHUNK, -(-len(rows) // (4 * k)))
        chunks = list(range(0, len(rows), step))
        lock = threading.Lock()
        errors: list[BaseException] = []
        raw = np.empty((len(rows), len(dst)))

        def work() -> None:
            rk = _rk()

            try:
                query = rk.CCHOneToMany(self._metric, dst)
                try:
                    while True:
                        with lock:
                            if not chunks or errors:
                                return
                            lo = chunks.pop(0)
                        for r in range(lo, min(lo + step, len(rows))):
                            # None (no route) becomes NaN here.
                            raw[r] = np.asarray(query.distances_from_multi(starts[r]), float)
                finally:
                    del query  # on the thread that made it, as RoutingKit requires
            except BaseException as exc:  # re-raised on the caller's thread
                # Its frames' locals go here: a query they hold must die on this thread.
                traceback.clear_frames(exc.__traceback__)
                with lock:
                    errors.append(exc)

        pool = [threading.Thread(target=work, daemon=True) for _ in range(k - 1)]
        for t in pool:
            t.start()
        work()
        for t in pool:
            t.join()
        if errors:
            raise errors[0]
        raw[~(raw < INF_WEIGHT)] = np.inf
        out[rows] = raw / SCALE
        return out

    def route(self, source: int, target: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the node rows and arc rows of the fastest route between two nodes."""
        rk = _rk()

        query = rk.CCHQuery(self._metric)
        found = query.run(int(source), int(target))
        nodes = np.asarray(found.node_path, dtype=np.int64)
        arcs = np.asarray(found.arc_path, dtype=np.int64)
        del found, query  # a query's result must go before the query does
        if len(nodes) == 0:
            nodes = np.array([source], dtype=np.int64)
        return nodes, arcs
