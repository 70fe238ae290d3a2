"""Customizable contraction hierarchies (RoutingKit, through ``pyroutingkit``).

On a city-sized graph a matrix of a few hundred rows costs one full Dijkstra per row;
a CCH answers the same pairs from two small upward searches each. The work splits in
two, and that split is what makes it fit a planning tool:

- the **order** (nested dissection, RoutingKit's inertial flow) depends only on the
  graph's shape — nodes, arcs and coordinates — and takes about a minute on 250k nodes.
  It is keyed by a hash of exactly that shape, kept in memory for every engine of the
  same graph (a scenario's edited network shares it) and saved in the network cache
  folder, so it runs once per OSM file, not per run, request or scenario;
- the **customisation** puts one metric (a mode's times, a closed road, a lit road's
  walking penalty) on the order in a second or two.

RoutingKit weighs arcs in unsigned 32-bit integers, so costs are rounded to
:data:`SCALE` units per second (per metre on a length engine): each arc is off by at
most half a unit, a path of k arcs by at most k/2 units — under 0.1 s for a 200-arc
trip at millisecond units. Closed arcs get RoutingKit's infinity, so they stay in the
order and a scenario reopens them by customising again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import queue
import shutil
import tempfile
import threading
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


def default_threads() -> int:
    """Return the customised copies a metric keeps: one per core, at most 4."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


#: Below this many pairs a block is answered by one copy: threads would cost more.
_PARALLEL_PAIRS = 4_096
_MIN_CHUNK = 4
_POLL_S = 0.02
#: Orders kept in memory at once (one per distinct graph shape: routing, all roads...).
_MEMO_SIZE = 4
_FORMAT = 1

ProgressFn = Callable[[str], None]
_log = logging.getLogger(__name__)


def available() -> bool:
    """Return whether the RoutingKit bindings are installed."""
    try:
        import pyroutingkit  # noqa: F401
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
    topology: Any
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
    from pyroutingkit import CCHTopology

    say = progress or (lambda _m: None)
    key = shape_key(tail, head, lat, lon)
    with _memo_lock:
        hit = _memo.get(key)
        if hit is not None:
            _memo.move_to_end(key)
            return hit
        n, m = len(lat), len(tail)
        topo = None
        where = None if folder is None else Path(folder) / f"cch-{key}"
        if where is not None and where.is_dir():
            topo = _load(where, key, n, m, say)
        if topo is None:
            say(f"ordering the road graph for fast matrices ({n:,} nodes, once per network)")
            topo = CCHTopology()
            topo.build(
                np.ascontiguousarray(tail, dtype=np.uint32),
                np.ascontiguousarray(head, dtype=np.uint32),
                np.ascontiguousarray(lat, dtype=np.float32),
                np.ascontiguousarray(lon, dtype=np.float32),
                n,
            )
            if where is not None:
                _save(topo, where, key, n, m, say)
        order = _Order(key=key, topology=topo, n_nodes=n, n_arcs=m)
        _memo[key] = order
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
        return order


def forget_orders() -> None:
    """Drop the in-memory orders (tests use it to force a load from disk)."""
    with _memo_lock:
        _memo.clear()


def _save(topo: Any, where: Path, key: str, n: int, m: int, say: ProgressFn) -> None:
    # Saved beside, then renamed into place: a reader sees a whole order or none.
    tmp: Path | None = None
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{where.name}.", dir=where.parent))
        body = tmp / "topology"
        body.mkdir()
        topo.save(str(body))
        files = {
            str(p.relative_to(tmp)): file_sha256(p) for p in sorted(body.rglob("*")) if p.is_file()
        }
        manifest = {"format": _FORMAT, "key": key, "nodes": n, "arcs": m, "files": files}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        if where.exists():
            shutil.rmtree(where, ignore_errors=True)
        os.replace(tmp, where)
    except (OSError, RuntimeError) as exc:
        say(f"could not save the graph order in {where.parent}: {exc}")
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _load(where: Path, key: str, n: int, m: int, say: ProgressFn) -> Any | None:
    from pyroutingkit import CCHTopology

    try:
        manifest = json.loads((where / "manifest.json").read_text())
        same = (manifest.get("format"), manifest.get("key")) == (_FORMAT, key)
        same = same and (manifest.get("nodes"), manifest.get("arcs")) == (n, m)
        files = manifest.get("files") or {}
        intact = bool(files) and all(file_sha256(where / name) == d for name, d in files.items())
        if same and intact:
            topo = CCHTopology()
            topo.load(str(where / "topology"))
            if (topo.node_count, topo.arc_count) == (n, m):
                return topo
    except (OSError, ValueError, RuntimeError) as exc:
        say(f"saved graph order {where.name} unreadable ({exc}); ordering again")
    else:
        say(f"saved graph order {where.name} is damaged or stale; ordering again")
    shutil.rmtree(where, ignore_errors=True)
    return None


@dataclass(eq=False)
class CCHMetric:
    """One metric (arc costs) customised on an order; answers many-to-many blocks.

    ``cost`` is per arc in seconds (or metres); inf or NaN closes the arc.

    A RoutingKit metric carries one query state, so it answers one call at a time. The
    metric is therefore held as a small pool of customised copies, ``threads`` of them:
    the first is customised before the constructor returns, the others in the
    background; a large block is cut into row chunks that every idle copy works on at
    once (the bindings release the GIL), and concurrent callers (the service's
    requests) each take an idle copy instead of queueing behind one.
    """

    order: _Order
    cost: np.ndarray
    threads: int = field(default_factory=default_threads)
    _idle: queue.SimpleQueue[Any] = field(default_factory=queue.SimpleQueue, init=False)

    def __post_init__(self) -> None:
        from pyroutingkit import INF_WEIGHT

        if len(self.cost) != self.order.n_arcs:
            msg = f"{len(self.cost)} arc costs for an order of {self.order.n_arcs} arcs"
            raise EngineError(msg)
        if self.threads < 1:
            msg = f"threads must be at least 1, got {self.threads}"
            raise EngineError(msg)
        c = np.asarray(self.cost, dtype=float)
        finite = np.isfinite(c)
        if finite.any() and c[finite].max() * SCALE >= INF_WEIGHT:
            msg = f"an arc cost of {c[finite].max():.0f} is beyond the CCH's integer range"
            raise EngineError(msg)
        units = np.where(finite, np.rint(c * SCALE), INF_WEIGHT).astype(np.uint32)
        self._inf = int(INF_WEIGHT)
        self._idle.put(self._customised(units))
        for _ in range(self.threads - 1):
            threading.Thread(target=self._grow, args=(units,), daemon=True).start()

    def _customised(self, units: np.ndarray) -> Any:
        from pyroutingkit import CCHMetric as _Metric

        metric = _Metric(self.order.topology)
        metric.customize(units)
        return metric

    def _grow(self, units: np.ndarray) -> None:
        # A copy that fails to customise (memory) only leaves the pool smaller.
        try:
            self._idle.put(self._customised(units))
        except (MemoryError, RuntimeError) as exc:
            _log.warning("a parallel copy of the CCH metric could not be made: %s", exc)

    def many_to_many(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Return costs (float, inf where no route) from each source to each target node."""
        src = np.ascontiguousarray(sources, dtype=np.uint32)
        dst = np.ascontiguousarray(targets, dtype=np.uint32)
        raw = np.empty((len(src), len(dst)), dtype=np.uint32)
        if len(src) and len(dst):
            helpers = 0 if len(src) * len(dst) < _PARALLEL_PAIRS else self.threads - 1
            step = max(_MIN_CHUNK, -(-len(src) // (4 * (helpers + 1))))
            self._share(raw, src, dst, step, helpers)
        out = raw.astype(float) / SCALE
        out[raw >= self._inf] = np.inf
        return out

    def _share(self, raw: np.ndarray, src: np.ndarray, dst: np.ndarray, step: int, k: int) -> None:
        """Fill ``raw`` chunk by chunk, on this thread and ``k`` helpers."""
        starts = list(range(0, len(src), step))
        lock = threading.Lock()
        errors: list[BaseException] = []

        def take() -> int | None:
            with lock:
                return starts.pop(0) if starts and not errors else None

        def left() -> bool:
            with lock:
                return bool(starts) and not errors

        def work(metric: Any) -> None:
            try:
                while metric is None and left():
                    # Helpers poll, so a copy still customising (or busy with another
                    # request) joins in when it can.
                    with contextlib.suppress(queue.Empty):
                        metric = self._idle.get(timeout=_POLL_S)
                if metric is None:
                    return
                try:
                    while (lo := take()) is not None:
                        block = metric.distances_many_to_many(src[lo : lo + step], dst)
                        raw[lo : lo + step] = np.asarray(block).reshape(-1, len(dst))
                finally:
                    self._idle.put(metric)
            except BaseException as exc:  # re-raised on the caller's thread
                with lock:
                    errors.append(exc)

        # The caller takes a copy before any helper can, so it never waits on one.
        mine = self._idle.get()
        pool = [threading.Thread(target=work, args=(None,), daemon=True) for _ in range(k)]
        for t in pool:
            t.start()
        work(mine)
        for t in pool:
            t.join()
        if errors:
            raise errors[0]

    def route(self, source: int, target: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the node rows and arc rows of the fastest route between two nodes."""
        metric = self._idle.get()
        try:
            _dist, nodes, arcs = metric.query(int(source), int(target))
        finally:
            self._idle.put(metric)
        nodes_a = np.asarray(nodes, dtype=np.int64)
        if len(nodes_a) == 0:
            nodes_a = np.array([source], dtype=np.int64)
        return nodes_a, np.asarray(arcs, dtype=np.int64)
