"""Benchmark the travel-time engine against networkx and osmnx, the named baselines.

Usage::

    .venv/bin/python benchmarks/engine.py [--side 514] [--mem-side 182] [--seed 0] [--serial]

The input is a road-like OSM file on a ``--side`` x ``--side`` grid of junctions with one
shape node per link on average (``benchmarks/roadlike.py``), built through the real
pipeline, ``build_network(path, BuildOptions(mode="car"))``: about 250k nodes and 860k
directed edges once simplified. Each ratio has a baseline measured in the same run:

1. one-to-all: ``Engine.one_to_all`` vs networkx ``single_source_dijkstra_path_length``
   on the osmnx-style MultiDiGraph of ``net.to_networkx()``; target >= 20x faster.
2. nearest station of 2,000 villages from 200 stations (random points, placed with
   ``Engine.locate``, timed apart): ``Engine.nearest_facility`` vs ONE ``one_to_all``,
   the two timed in turn; target <= 2x.
3. a 200 x 200 ``Engine.matrix`` on node rows vs a networkx loop of one search per
   origin; networkx is timed on ``--nx-origins`` origins and scaled to 200; target >= 10x.
4. memory of the engine's routing core — what ``Engine(net, snap_index=snap)`` allocates on
   top of the network and its snap index: the CSR graph and its per-edge arrays — vs the
   MultiDiGraph of ``osmnx.graph_from_xml(path, simplify=True, retain_all=True)``;
   target <= 1/20. The RoadNetwork data layer (tags, geometry), the snap index and the
   graph of ``net.to_networkx()`` are reported too, for reference.

Every figure here is the Dijkstra backend's (``Engine(net, backend="dijkstra")``): on
this graph ``auto`` answers matrices through the CCH, whose integer-millisecond weights
are not held to 1e-6; ``benchmarks/engine_cch.py`` times that backend against scipy's
Dijkstra, with the targets of issue 15 (200 x 200 located points, 1000 x 1000, a scenario
edit, the snap index) and the cost curve from 10k to 1M nodes.

Correctness is checked on the way: one_to_all against networkx (1e-6 relative) on every
timed source, the matrix rows against networkx on the timed origins, and
nearest_facility against the minimum over a stations x villages matrix column on a
sample of villages. A correctness failure or a crashed measurement exits with status 1;
a missed target does not.

How memory is measured, and why that is fair
--------------------------------------------
Every figure is resident memory (``VmRSS`` in ``/proc/self/status``) of a fresh Python
process that only builds, or only loads, the structure measured: its growth over the
same process once its imports are done and a warm-up on a tiny grid has run, so that
lazy imports, pyproj's CRS database and other one-time state count for neither side.
Each reading comes after ``gc.collect()`` and glibc's ``malloc_trim(0)``, which hand the
memory a build freed back to the system, so what remains is what the structure keeps.

* RSS counts every allocator alike: Python objects, numpy buffers, and the coordinates
  GEOS holds for the shapely geometries on osmnx's edges, which tracemalloc (used here
  before) cannot see; it also counts what a structure really occupies beyond its bytes
  of data (malloc headers, pymalloc pools, spare dict slots). One process per
  measurement keeps one heap from polluting another.
* osmnx: the process that runs ``graph_from_xml`` cannot tell the graph's size. Its
  parse leaves freed memory resident that no trim gives back (3.4 GB resident after the
  build at the default 514 grid, for a 1.17 GB graph), and its peak (4.6 GB) is the
  parse's working set, not the graph. So the graph is pickled and loaded into another
  fresh process, and the growth across that load is the baseline. The copy holds the
  same objects, shared the same way, but its dicts lack the spare slots that
  simplification's deletions leave (tracemalloc saw 772 MiB for a copy against 841 MiB
  for the original), so it reads a little low: the baseline only looks smaller, which
  makes the ratio conservative. The build's resident and peak figures are printed for
  reference, never used in a ratio.
* ours: the engine points into its network and cannot be loaded apart from it, so its
  figure is the growth across ``Engine(net, snap_index=snap)`` in the process that has just
  built ``net`` and ``snap``, each read after gc and trim too. What it keeps is a few
  large numpy buffers, every page of them written, so RSS grows by what it keeps: the
  trim beforehand has returned the heap pages the network's build freed, so the engine
  cannot reuse them unseen (only small objects could reuse pymalloc's leftover pools,
  and it holds almost none). ``engine.memory_bytes()`` (the nbytes of its arrays) is
  printed beside it as a check: at 514, 18.2 MB resident, 21.5 MB by its own count and
  18.0 MB by tracemalloc.
* the networkx reference graph is pickled and loaded in a fresh process, like osmnx's:
  on its own it holds its edge geometries, which ``to_networkx()`` shares with the net.

Size: memory is compared on a ``--mem-side`` grid, by default 182 x 182 (31k nodes,
1/8 of the timing grid): ``graph_from_xml`` alone takes about 250 s at 514 on the 2-core
development machine, which the benchmark's budget of a few minutes cannot hold. Both
structures grow linearly with the graph and the imports are subtracted, so the ratio
does not depend on the size: by this method, 1/64.0 at 182, 1/64.4 at 257 and 1/64.4 at
514 (2.3, 4.6 and 18.2 MB against 147, 294 and 1,175 MB; 2026-12-01, dev machine).
``--mem-side 514`` measures at the full size (about five minutes more); the output says
when the size was reduced.

Schedule: the timings run in one fresh process and the memory figures in four others
(ours with networkx's graph, osmnx's build, and a load for each of the two copies).
Memory children are not timed, so by default they run during the timing process's
untimed setup (building the network and networkx's graph), and that process waits for
the last of them before its first timing: nothing else of ours ever runs beside a
timing. The setup times it prints are then only indicative. ``--serial`` runs every
child alone, one after another (about a minute longer).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import gc
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# Targets, each a ratio against a baseline measured in the same run.
TARGET_ONE_TO_ALL = 20.0  # networkx time / ours, at least
TARGET_NEAREST = 2.0  # nearest_facility time / one_to_all time, at most
TARGET_MATRIX = 10.0  # networkx loop time / ours, at least
TARGET_MEMORY = 1 / 20  # ours / osmnx resident bytes, at most

# What a build of the grid should give; outside it the ratios describe another graph.
NODE_RANGE = (230_000, 270_000)
EDGE_RANGE = (800_000, 1_000_000)

N_VILLAGES = 2_000
N_STATIONS = 200
N_MATRIX = 200
#: Villages whose nearest station is checked against a full stations x villages matrix.
N_CHECK_VILLAGES = 100
#: Relative tolerance of every correctness check.
RTOL = 1e-6
#: Times below this many seconds are compared absolutely: the source itself is 0 s in
#: networkx and 0 s here, but zero-cost edges are nudged to 1e-9 s in a sparse matrix.
FLOOR_S = 1e-3

#: Junctions per side of the tiny grid every memory child warms up on.
WARM_SIDE = 8
#: Junctions per side of the timing grid, and of the grid memory is compared on.
DEFAULT_SIDE = 514
DEFAULT_MEM_SIDE = 182

WEIGHT = "travel_time_s"
MEMORY_KINDS = ("mem-engine", "copy-networkx", "mem-osmnx", "copy-osmnx")
MB = 2**20


# --------------------------------------------------------------------------- child side


class _Progress:
    """Progress lines on stderr, which the parent passes through as they come."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.t0 = time.perf_counter()

    def __call__(self, msg: str) -> None:
        took = time.perf_counter() - self.t0
        print(f"    [{self.kind} {took:6.1f} s] {msg}", file=sys.stderr, flush=True)


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def _max_rel_err(ours: np.ndarray, ref: np.ndarray) -> float:
    """Return the largest relative difference; inf if the two disagree on reachability."""
    ours = np.where(np.isnan(ours), np.inf, ours)
    ref = np.where(np.isnan(ref), np.inf, ref)
    both = np.isfinite(ours) & np.isfinite(ref)
    if (np.isfinite(ours) != np.isfinite(ref)).any():
        return float("inf")
    if not both.any():
        return 0.0
    diff = np.abs(ours[both] - ref[both]) / np.maximum(ref[both], FLOOR_S)
    return float(diff.max())


def _speed(path: str, args: argparse.Namespace) -> dict[str, Any]:
    """Time ours against networkx on one network and check that the answers agree."""
    import networkx as nx
    import pandas as pd

    from geo.engine import Engine
    from geo.network import BuildOptions, build_network

    say = _Progress("speed")
    out: dict[str, Any] = {}
    say("build_network(car) ...")
    net, out["build_s"] = _timed(build_network, path, BuildOptions(mode="car"))
    n = len(net.nodes)
    out["nodes"], out["edges"] = n, len(net.edges)
    say(f"  {n:,} nodes, {len(net.edges):,} edges in {out['build_s']:.1f} s; Engine(net) ...")
    # The Dijkstra backend, whatever the graph's size: networkx is its baseline, held to
    # 1e-6; the CCH that `auto` picks on this graph is timed by benchmarks/engine_cch.py.
    eng, out["compile_s"] = _timed(Engine, net, backend="dijkstra")
    say(f"  compiled (CSR and snap index) in {out['compile_s']:.2f} s; net.to_networkx() ...")
    G, out["to_networkx_s"] = _timed(net.to_networkx)
    out["nx_nodes"], out["nx_edges"] = G.number_of_nodes(), G.number_of_edges()
    say(f"  {out['nx_nodes']:,} nodes, {out['nx_edges']:,} edges in {out['to_networkx_s']:.1f} s")
    if args.wait_go:
        # The memory children may run beside the setup above, never beside a timing: the
        # parent writes a line on our stdin once the last of them has finished.
        say("setup done; waiting for the memory children to finish ...")
        sys.stdin.readline()
        say("timing, with nothing else of ours running")

    rng = np.random.default_rng(args.seed)
    osmid = net.nodes["osmid"].to_numpy()
    index = pd.Index(osmid)

    def networkx_all(row: int) -> tuple[np.ndarray, float]:
        found, took = _timed(
            nx.single_source_dijkstra_path_length, G, int(osmid[row]), weight=WEIGHT
        )
        # Converting the dict to node rows is checking, not searching: it is not timed.
        dist = np.full(n, np.inf)
        dist[index.get_indexer(list(found))] = list(found.values())
        return dist, took

    # 1. One-to-all: each source timed by both sides in turn, so drift hits both.
    sources = rng.choice(n, args.sources, replace=False)
    ours_runs: list[float] = []
    nx_runs: list[float] = []
    errs: list[float] = []
    for i, s in enumerate(sources):
        reps = []
        for _ in range(args.repeats):
            ours, took = _timed(eng.one_to_all, int(s))
            reps.append(took)
        ref, nx_took = networkx_all(int(s))
        errs.append(_max_rel_err(ours, ref))
        ours_runs += reps
        nx_runs.append(nx_took)
        say(
            f"one_to_all source {i + 1}/{len(sources)}: ours {statistics.median(reps):.3f} s, "
            f"networkx {nx_took:.2f} s, max rel err {errs[-1]:.1e}"
        )
    out["one_to_all"] = {"ours_s": ours_runs, "networkx_s": nx_runs, "max_rel_err": errs}

    # 2. Nearest station: random points over the network's extent, in its CRS.
    x, y = net.nodes["x"].to_numpy(), net.nodes["y"].to_numpy()

    def points(k: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.uniform(x.min(), x.max(), k), rng.uniform(y.min(), y.max(), k)

    vx, vy = points(N_VILLAGES)
    sx, sy = points(N_STATIONS)
    with warnings.catch_warnings(record=True) as caught:
        # Every warning the engine raises is reported, not only the first of each place.
        warnings.simplefilter("always")
        say(f"locate {N_VILLAGES:,} villages (the engine built its snap index up front) ...")
        villages, out["locate_villages_cold_s"] = _timed(eng.locate, vx, vy)
        stations, out["locate_stations_s"] = _timed(eng.locate, sx, sy)
        _, out["locate_villages_warm_s"] = _timed(eng.locate, vx, vy)
        say(
            f"  villages {out['locate_villages_cold_s']:.2f} s cold, "
            f"{out['locate_villages_warm_s']:.2f} s warm; stations {out['locate_stations_s']:.2f} s"
        )
        out["off_network"] = [int(villages.off_network.sum()), int(stations.off_network.sum())]
        nf_runs: list[float] = []
        base_runs: list[float] = []
        for r in range(args.repeats_nearest):
            _, took = _timed(eng.one_to_all, int(sources[r % len(sources)]))
            base_runs.append(took)
            nearest, took = _timed(eng.nearest_facility, villages, stations)
            nf_runs.append(took)
        say(
            f"nearest_facility {statistics.median(nf_runs):.3f} s, "
            f"one_to_all {statistics.median(base_runs):.3f} s (medians of {len(nf_runs)})"
        )
        say(f"checking {N_CHECK_VILLAGES} villages against a stations x villages matrix ...")
        sample = rng.choice(N_VILLAGES, N_CHECK_VILLAGES, replace=False)
        check, out["check_matrix_s"] = _timed(
            eng.matrix, stations, eng.locate(vx[sample], vy[sample])
        )
    out["warnings"] = [
        [count, f"{cat.__name__} at {Path(file).name}:{line}: {msg}"]
        for (cat, file, line, msg), count in Counter(
            (w.category, w.filename, w.lineno, str(w.message)) for w in caught
        ).items()
    ]
    secs = np.where(np.isnan(check.seconds), np.inf, check.seconds)
    col_min = secs.min(axis=0)
    got = nearest.seconds[sample]
    fac = nearest.facility[sample]
    # The facility named must be one that reaches the village in the minimum time; with
    # ties any of them will do, so its time is compared, not its row.
    fac_time = np.where(fac >= 0, secs[np.maximum(fac, 0), np.arange(len(sample))], np.inf)
    out["nearest"] = {
        "ours_s": nf_runs,
        "one_to_all_s": base_runs,
        "max_rel_err": _max_rel_err(got, col_min),
        "facility_rel_err": _max_rel_err(fac_time, col_min),
        "unreached": int((~np.isfinite(col_min)).sum()),
        "off_network": int(villages.off_network[sample].sum()),
    }
    say(
        f"  in {out['check_matrix_s']:.1f} s: max rel err {out['nearest']['max_rel_err']:.1e}, "
        f"named facility {out['nearest']['facility_rel_err']:.1e}"
    )

    # 3. Matrix on node rows; networkx runs one search per origin and reads 200 cells.
    origins = rng.choice(n, N_MATRIX, replace=False)
    dests = rng.choice(n, N_MATRIX, replace=False)
    say(f"Engine.matrix {N_MATRIX} x {N_MATRIX} ...")
    table, out["matrix_s"] = _timed(eng.matrix, origins, dests)
    say(f"  {out['matrix_s']:.1f} s; networkx loop on {args.nx_origins} origins ...")
    dest_ids = [int(osmid[j]) for j in dests]
    loop_runs: list[float] = []
    loop_errs: list[float] = []
    for i, o in enumerate(origins[: args.nx_origins]):
        t0 = time.perf_counter()
        found = nx.single_source_dijkstra_path_length(G, int(osmid[o]), weight=WEIGHT)
        row = np.array([found.get(j, np.inf) for j in dest_ids])
        loop_runs.append(time.perf_counter() - t0)
        loop_errs.append(_max_rel_err(table.seconds[i], row))
    say(f"  {statistics.mean(loop_runs):.2f} s per origin, max rel err {max(loop_errs):.1e}")
    out["matrix"] = {"networkx_s": loop_runs, "max_rel_err": loop_errs}
    out["peak_mb"] = _peak_rss_mb()
    return out


# --------------------------------------------------------------------------- memory side


def _proc_status() -> dict[str, int]:
    """Return this process's resident (VmRSS) and peak resident (VmHWM) bytes.

    ``resource.getrusage`` is not used: on Linux its ``ru_maxrss`` survives ``execve``, so
    a child would report at least the size of the process that forked it.
    """
    status = Path("/proc/self/status")
    found: dict[str, int] = {}
    if status.is_file():
        for line in status.read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(rest.split()[0]) * 1024  # reported in kB
    if len(found) != 2:
        msg = "memory is read from VmRSS and VmHWM in /proc/self/status (Linux only)"
        raise RuntimeError(msg)
    return found


@functools.cache
def _malloc_trim() -> Any:
    """Return glibc's ``malloc_trim``, or None where the C library has none."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


def _settle() -> int:
    """Collect garbage, give freed heap back to the system; return the resident bytes."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    return _proc_status()["VmRSS"]


def _baseline() -> int:
    """Return the resident bytes before a measurement, and restart the peak from there."""
    base = _settle()
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0 and later), so
    # the peak read later is this measurement's own, not the warm-up's or the imports'.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return base


def _peak_since(base: int) -> int:
    return _proc_status()["VmHWM"] - base


def _dump(obj: Any, path: str) -> float:
    t0 = time.perf_counter()
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    return time.perf_counter() - t0


def _mem_engine(args: argparse.Namespace, say: _Progress) -> dict[str, Any]:
    """Ours: RSS growth across build_network, SnapIndex.of and Engine, step by step.

    Then writes the networkx graph of the same network to ``args.out`` (and the warm-up
    grid's to ``args.out + ".warm"``) for the ``copy-networkx`` child to load.
    """
    import networkx  # noqa: F401  (what to_networkx needs, imported before the baseline)

    from geo.engine import Engine
    from geo.network import BuildOptions, SnapIndex, build_network

    def build(path: str) -> tuple[Any, Any, Any]:
        net = build_network(path, BuildOptions(mode="car"))
        snap = SnapIndex.of(net)
        return net, snap, Engine(net, snap_index=snap)

    say("warm-up on the tiny grid ...")
    net, snap, eng = build(args.warm)
    eng.locate(net.nodes["x"].to_numpy()[:1], net.nodes["y"].to_numpy()[:1])
    _dump(net.to_networkx(), args.out + ".warm")
    del net, snap, eng

    out: dict[str, Any] = {}
    base = _baseline()
    say("build_network(car), then SnapIndex.of(net), then Engine(net, snap_index=snap) ...")
    t0 = time.perf_counter()
    net = build_network(args.path, BuildOptions(mode="car"))
    after_net = _settle()
    # The snap index (road view geometry, KD-tree, STR-tree) is built explicitly, once,
    # and handed to the engine, so the routing core is measured on its own.
    snap = SnapIndex.of(net)
    after_snap = _settle()
    eng = Engine(net, snap_index=snap)
    after_engine = _settle()
    out["build_s"] = time.perf_counter() - t0
    out["peak_bytes"] = _peak_since(base)
    out["network_bytes"] = after_net - base
    out["snap_index_bytes"] = after_snap - after_net
    out["engine_bytes"] = after_engine - after_snap
    out["memory_bytes"] = eng.memory_bytes()
    out["network_memory_bytes"] = net.memory_bytes()
    eng.locate(net.nodes["x"].to_numpy()[:1], net.nodes["y"].to_numpy()[:1])
    out["locate_bytes"] = _settle() - after_engine
    out["nodes"], out["edges"] = len(net.nodes), len(net.edges)
    say(
        f"  {out['nodes']:,} nodes, {out['edges']:,} edges; engine "
        f"{out['engine_bytes'] / MB:,.1f} MB resident, {out['memory_bytes'] / MB:,.1f} MB "
        "by its own count; writing net.to_networkx() for a fresh process ..."
    )
    G = net.to_networkx()
    out["nx_nodes"], out["nx_edges"] = G.number_of_nodes(), G.number_of_edges()
    out["pickle_s"] = _dump(G, args.out)
    return out


def _mem_osmnx(args: argparse.Namespace, say: _Progress) -> dict[str, Any]:
    """osmnx: build the graph, note its process's figures, write it to ``args.out``."""
    import osmnx as ox

    def build(path: str) -> Any:
        return ox.graph_from_xml(path, simplify=True, retain_all=True)

    say("warm-up on the tiny grid ...")
    _dump(build(args.warm), args.out + ".warm")

    out: dict[str, Any] = {}
    base = _baseline()
    say("osmnx.graph_from_xml(simplify=True, retain_all=True) ...")
    G, out["build_s"] = _timed(build, args.path)
    out["peak_bytes"] = _peak_since(base)
    # Resident after the build, garbage collected and trimmed: the graph plus whatever
    # the parse freed but could not give back. For reference only; the copy is the
    # baseline.
    out["resident_bytes"] = _settle() - base
    out["nodes"], out["edges"] = G.number_of_nodes(), G.number_of_edges()
    say(f"  {out['nodes']:,} nodes, {out['edges']:,} edges in {out['build_s']:.1f} s; pickling ...")
    out["pickle_s"] = _dump(G, args.out)
    return out


def _mem_copy(args: argparse.Namespace, say: _Progress) -> dict[str, Any]:
    """A baseline graph: RSS growth across loading its pickled copy, in a fresh process."""
    import osmnx  # noqa: F401  (networkx, shapely and the rest either graph needs)

    say("warm-up: loading the tiny grid's graph ...")
    with open(args.path + ".warm", "rb") as f:
        pickle.load(f)
    out: dict[str, Any] = {}
    base = _baseline()
    say("loading the copy ...")
    with open(args.path, "rb") as f:
        G, out["load_s"] = _timed(pickle.load, f)
    out["resident_bytes"] = _settle() - base
    out["peak_bytes"] = _peak_since(base)
    out["nodes"], out["edges"] = G.number_of_nodes(), G.number_of_edges()
    return out


def _memory(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Measure one structure in this fresh process."""
    say = _Progress(kind)
    measure = {"mem-engine": _mem_engine, "mem-osmnx": _mem_osmnx}.get(kind, _mem_copy)
    out = measure(args, say)
    figure = out.get("engine_bytes", out.get("resident_bytes", 0))
    say(f"  done: {figure / MB:,.1f} MB resident")
    return out


def _peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB (VmHWM, Linux only)."""
    try:
        return _proc_status()["VmHWM"] / MB
    except RuntimeError:
        return float("nan")


# --------------------------------------------------------------------------- parent side


def _start(kind: str, args: argparse.Namespace, **paths: Path) -> subprocess.Popen[str]:
    """Start a fresh interpreter for one measurement; its progress goes to our stderr.

    The timing child reads a line on its stdin before its first timing; the others get
    none.
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind]
    for name, value in paths.items():
        cmd += [f"--{name}", str(value)]
    cmd += ["--seed", str(args.seed), "--sources", str(args.sources)]
    cmd += ["--repeats", str(args.repeats), "--repeats-nearest", str(args.repeats_nearest)]
    cmd += ["--nx-origins", str(args.nx_origins)]
    speed = kind == "speed"
    if speed:
        cmd.append("--wait-go")
    stdin = subprocess.PIPE if speed else subprocess.DEVNULL
    return subprocess.Popen(cmd, cwd=ROOT, stdin=stdin, stdout=subprocess.PIPE, text=True)


def _finish(kind: str, proc: subprocess.Popen[str], timeout_s: float) -> dict[str, Any]:
    """Wait for a child and return its JSON report, or ``{"error": ...}``.

    A child started with a stdin pipe (the timing one) is told to go first.
    """
    go = "go\n" if proc.stdin is not None else None
    try:
        stdout, _ = proc.communicate(input=go, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"error": f"{kind}: timed out after {timeout_s:.0f} s"}
    if proc.returncode != 0:
        return {"error": f"{kind}: exit status {proc.returncode} (traceback above)"}
    return json.loads(stdout.strip().splitlines()[-1])


def _memory_runs(osm: Path, warm: Path, tmp: Path, args: Any) -> dict[str, dict[str, Any]]:
    """Run the memory children: osmnx's build beside ours, then a load for each copy."""
    mem: dict[str, dict[str, Any]] = {}

    def then_copy(kind: str, proc: subprocess.Popen[str], copy: str, pickled: Path) -> None:
        mem[kind] = _finish(kind, proc, args.timeout)
        mem[copy] = (
            {"error": f"{copy}: not run, {kind} failed"}
            if "error" in mem[kind]
            else _finish(copy, _start(copy, args, path=pickled), args.timeout)
        )

    nx_copy, osmnx_copy = tmp / "networkx.pickle", tmp / "osmnx.pickle"
    osmnx_paths = {"path": osm, "warm": warm, "out": osmnx_copy}
    # osmnx's build takes longest, so unless --serial it starts first, beside the rest.
    slow = None if args.serial else _start("mem-osmnx", args, **osmnx_paths)
    ours = _start("mem-engine", args, path=osm, warm=warm, out=nx_copy)
    then_copy("mem-engine", ours, "copy-networkx", nx_copy)
    then_copy(
        "mem-osmnx", slow or _start("mem-osmnx", args, **osmnx_paths), "copy-osmnx", osmnx_copy
    )
    return mem


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _machine() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    names = ("numpy", "scipy", "pandas", "shapely", "networkx", "osmnx", "osmium")
    versions = ", ".join(f"{d} {_version(d)}" for d in names)
    return (
        f"machine: {os.cpu_count()} CPUs ({usable} usable), {platform.platform()}\n"
        f"versions: Python {platform.python_version()}, {versions}"
    )


def _in_range(value: int, bounds: tuple[int, int]) -> str:
    lo, hi = bounds
    verdict = "ok" if lo <= value <= hi else "OUT OF RANGE"
    return f"{value:,} (aim {lo // 1000}k-{hi // 1000}k: {verdict})"


def _ratio_row(num: str, name: str, value: str, target: str, met: bool | str | None) -> str:
    verdict = met if isinstance(met, str) else "-" if met is None else "MET" if met else "NOT MET"
    return f"  {num:<2} {name:<62} {value:>9}  {target:<9} {verdict}"


def _fraction(num: float, den: float) -> str:
    """Write a small ratio as 1/x (``num`` and ``den`` both positive)."""
    return f"1/{den / num:.1f}" if num > 0 and den > 0 else "n/a"


def _memory_lines(mem: dict[str, dict[str, Any]], args: Any) -> tuple[list[str], list[str]]:
    """Return the memory table and the failures of the memory children."""
    failures = [m["error"] for kind in MEMORY_KINDS if "error" in (m := mem[kind])]
    eng, nxc, osb, osc = (mem[kind] for kind in MEMORY_KINDS)

    def row(name: str, m: dict[str, Any], key: str, peak: str | None = None) -> str:
        if "error" in m:
            return f"  {name:<58} FAILED: {m['error']}"
        counts = f"{m['nodes']:>9,} {m['edges']:>9,}" if "nodes" in m else f"{'':>19}"
        top = f"{m[peak] / MB:>8,.1f}" if peak else f"{'-':>8}"
        return f"  {name:<58} {counts} {m[key] / MB:>9,.1f} {top}"

    side = args.mem_side
    both = ("resident_bytes", "peak_bytes")  # the resident and peak columns
    lines = [
        "",
        f"memory on the {side} x {side} grid, MB: RSS growth of a fresh process over its "
        "imports and a warm-up,",
        "read after gc.collect() and malloc_trim(0); peak = VmHWM growth while it builds or loads",
        f"  {'measurement':<58} {'nodes':>9} {'edges':>9} {'resident':>9} {'peak':>8}",
    ]
    if "error" in eng:
        lines.append(row("ours: build_network + SnapIndex.of + Engine", eng, ""))
    else:
        whole = dict(eng, total=eng["network_bytes"] + eng["snap_index_bytes"])
        whole["total"] += eng["engine_bytes"]
        lines += [
            row("ours: build_network(car), the RoadNetwork data layer", eng, "network_bytes"),
            f"  {'    its own count, RoadNetwork.memory_bytes()':<78} "
            f"{eng['network_memory_bytes'] / MB:>9,.1f}",
            f"  {'ours: SnapIndex.of(net): roads, KD- and STR-tree':<78} "
            f"{eng['snap_index_bytes'] / MB:>9,.1f}",
            f"  {'ours: Engine(net, snap_index=snap): CSR + per-edge arrays [4]':<78} "
            f"{eng['engine_bytes'] / MB:>9,.1f}",
            f"  {'    its own count, engine.memory_bytes()':<78} {eng['memory_bytes'] / MB:>9,.1f}",
            f"  {'    growth at a first locate':<78} {eng['locate_bytes'] / MB:>9,.1f}",
            row("ours: the three together", whole, "total", "peak_bytes"),
        ]
    lines += [
        row("networkx: net.to_networkx(), copy loaded in a fresh process", nxc, *both),
        row("osmnx: graph_from_xml, copy loaded in a fresh process [4]", osc, *both),
        row("osmnx: graph_from_xml, in the process that built it *", osb, *both),
        "  [4] the two sides of ratio 4. A copy's peak is its load's.",
        "  * the graph plus what the parse freed but could not give back: for reference only.",
    ]
    if "build_s" in osb and "build_s" in eng:
        lines.append(
            f"  graph_from_xml took {osb['build_s']:.1f} s here, ours all three "
            f"{eng['build_s']:.1f} s; osmnx keeps every component,"
        )
        lines.append("  ours the largest strongly connected one.")
    return lines, failures


def _report(
    osm: dict[str, Any], speed: dict[str, Any], mem: dict[str, dict[str, Any]], args: Any
) -> tuple[list[str], list[str]]:
    """Return the report lines and the correctness failures."""
    med = statistics.median
    lines = [
        "",
        "input",
        f"  OSM file: {osm['nodes']:,} nodes, {osm['ways']:,} ways, {osm['mb']:.1f} MB "
        f"({args.side} x {args.side} junction grid, ~1 shape node per link)",
    ]
    if "mem" in osm:
        m = osm["mem"]
        lines.append(
            f"  memory grid: {m['nodes']:,} nodes, {m['ways']:,} ways, {m['mb']:.1f} MB "
            f"({args.mem_side} x {args.mem_side})"
        )
    failures: list[str] = []
    if "error" in speed:
        failures.append(speed["error"])
        lines.append(f"  speed measurements FAILED: {speed['error']}")
    else:
        shared = "" if args.serial else " (setup beside the memory children: indicative)"
        lines += [
            f"  build_network(car) in {speed['build_s']:.1f} s{shared}: "
            f"nodes {_in_range(speed['nodes'], NODE_RANGE)}, "
            f"edges {_in_range(speed['edges'], EDGE_RANGE)}",
            f"  Engine(net) compiled in {speed['compile_s']:.2f} s; net.to_networkx() in "
            f"{speed['to_networkx_s']:.1f} s ({speed['nx_nodes']:,} nodes, "
            f"{speed['nx_edges']:,} edges)",
        ]
    if args.mem_side < args.side:
        share = (args.mem_side / args.side) ** 2
        lines += [
            "",
            "reduced to fit the time budget",
            f"  memory is compared on the {args.mem_side} x {args.mem_side} grid ({share:.0%} of "
            f"the junctions), not on {args.side} x {args.side}:",
            "  osmnx.graph_from_xml alone takes ~250 s at 514 x 514. Both sides grow linearly,",
            "  so the ratio holds (by this method, once: 1/64.0 at 182, 1/64.4 at 257 and 514).",
        ]

    if "error" not in speed:
        o2a, nf, mx = speed["one_to_all"], speed["nearest"], speed["matrix"]
        k = len(mx["networkx_s"])
        loop_total = statistics.mean(mx["networkx_s"]) * N_MATRIX
        off_v, off_s = speed["off_network"]
        lines += [
            "",
            f"timings, seconds (speed child peak RSS {speed['peak_mb']:,.0f} MB)",
            f"  {'measurement':<66} {'runs':>4} {'median':>8}",
        ]
        single = [speed[key] for key in ("locate_villages_cold_s", "locate_villages_warm_s")]
        rows: list[tuple[str, list[float]]] = [
            ("ours: Engine.one_to_all", o2a["ours_s"]),
            ("networkx: single_source_dijkstra_path_length", o2a["networkx_s"]),
            (f"ours: Engine.nearest_facility, {N_VILLAGES:,} x {N_STATIONS}", nf["ours_s"]),
            ("ours: Engine.one_to_all, timed in turn with nearest_facility", nf["one_to_all_s"]),
            (f"ours: Engine.locate {N_VILLAGES:,} villages, first call", single[:1]),
            (f"ours: Engine.locate {N_VILLAGES:,} villages again (index built)", single[1:]),
            (
                f"ours: Engine.locate {N_STATIONS} stations (index built)",
                [speed["locate_stations_s"]],
            ),
            (f"ours: Engine.matrix {N_MATRIX} x {N_MATRIX} node rows", [speed["matrix_s"]]),
            ("networkx: one search per origin, reading 200 destinations", mx["networkx_s"]),
            (f"networkx: that loop over {N_MATRIX} origins, scaled from {k}", [loop_total]),
            (
                f"ours: Engine.matrix {N_STATIONS} stations x {N_CHECK_VILLAGES} villages (check)",
                [speed["check_matrix_s"]],
            ),
        ]
        lines += [f"  {name:<66} {len(runs):>4} {med(runs):>8.3f}" for name, runs in rows]
        lines.append(
            f"  off network (> max_snap_m from any road): {off_v} of {N_VILLAGES:,} villages, "
            f"{off_s} of {N_STATIONS} stations"
        )
        if speed["warnings"]:
            lines.append("  warnings raised while locating and searching:")
            lines += [f"    {count} x {text}" for count, text in speed["warnings"]]

    mem_lines, mem_failures = _memory_lines(mem, args)
    lines += mem_lines
    failures += mem_failures

    lines += [
        "",
        "ratios",
        _ratio_row("#", "ours against the named baseline", "value", "target", "verdict"),
    ]
    if "error" not in speed:
        r1 = med(o2a["networkx_s"]) / med(o2a["ours_s"])
        r2 = med(nf["ours_s"]) / med(nf["one_to_all_s"])
        r3 = loop_total / speed["matrix_s"]
        lines += [
            _ratio_row(
                "1",
                "networkx one-to-all / Engine.one_to_all (medians)",
                f"{r1:.1f}x",
                f">= {TARGET_ONE_TO_ALL:.0f}x",
                r1 >= TARGET_ONE_TO_ALL,
            ),
            _ratio_row(
                "2",
                "nearest_facility / one_to_all (medians, timed in turn)",
                f"{r2:.2f}x",
                f"<= {TARGET_NEAREST:.0f}x",
                r2 <= TARGET_NEAREST,
            ),
            _ratio_row(
                "3",
                f"networkx loop (scaled from {k} origins) / Engine.matrix",
                f"{r3:.1f}x",
                f">= {TARGET_MATRIX:.0f}x",
                r3 >= TARGET_MATRIX,
            ),
        ]
    else:
        lines.append("  1-3 not measured: the speed child failed")
    eng, nxc, osc = mem["mem-engine"], mem["copy-networkx"], mem["copy-osmnx"]
    if "error" not in eng and "error" not in osc:
        # The engine is what Engine(net, snap_index=snap) adds on top of the network and its
        # snap index: the CSR graph and its per-edge arrays. The network (tags, geometry)
        # is the data layer, the counterpart of osmnx's graph, and is reported beside it.
        ours, theirs = eng["engine_bytes"], osc["resident_bytes"]
        whole = eng["network_bytes"] + eng["snap_index_bytes"] + ours
        if ours <= 0 or theirs <= 0:
            failures.append(f"memory: implausible figures, ours {ours} B, osmnx {theirs} B")
        lines += [
            _ratio_row(
                "4",
                "Engine (CSR + per-edge arrays) / osmnx MultiDiGraph, RSS",
                _fraction(ours, theirs),
                f"<= 1/{1 / TARGET_MEMORY:.0f}",
                0 < ours <= TARGET_MEMORY * theirs,
            ),
            _ratio_row(
                "",
                "(reference) engine.memory_bytes() / osmnx MultiDiGraph, RSS",
                _fraction(eng["memory_bytes"], theirs),
                "-",
                None,
            ),
            _ratio_row(
                "",
                "(reference) RoadNetwork + snap index + Engine / osmnx",
                _fraction(whole, theirs),
                "-",
                None,
            ),
        ]
        if "error" not in nxc:
            lines.append(
                _ratio_row(
                    "",
                    "(reference) the same three / net.to_networkx() copy",
                    _fraction(whole, nxc["resident_bytes"]),
                    "-",
                    None,
                )
            )
    else:
        lines.append("  4  not measured: a memory child failed")

    if "error" not in speed:
        checks = [
            (f"one_to_all vs networkx, {len(o2a['max_rel_err'])} sources", max(o2a["max_rel_err"])),
            (
                f"matrix rows vs networkx, {len(mx['max_rel_err'])} origins x {N_MATRIX}",
                max(mx["max_rel_err"]),
            ),
            (
                f"nearest_facility vs min over matrix column, {N_CHECK_VILLAGES} villages",
                nf["max_rel_err"],
            ),
            ("  the facility it names reaches the village in that minimum", nf["facility_rel_err"]),
        ]
        lines += ["", f"correctness (max relative error; tolerance {RTOL:g})"]
        for name, err in checks:
            ok = err <= RTOL
            lines.append(f"  {name:<66} {err:>9.1e}  {'PASS' if ok else 'FAIL'}")
            if not ok:
                failures.append(f"correctness: {name.strip()}: {err:.1e}")
        lines.append(
            f"  ({nf['unreached']} of {N_CHECK_VILLAGES} villages reached by no station,"
            f" {nf['off_network']} off network; both sides must say so)"
        )
    return lines, failures


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 1 on a correctness failure or a crashed measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=DEFAULT_SIDE, help="junctions per side")
    parser.add_argument(
        "--mem-side",
        type=int,
        default=DEFAULT_MEM_SIDE,
        help="junctions per side of the grid memory is compared on (at most --side)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the file and the points")
    parser.add_argument("--sources", type=int, default=5, help="one-to-all sources")
    parser.add_argument("--repeats", type=int, default=3, help="runs of ours per source")
    parser.add_argument("--repeats-nearest", type=int, default=7, help="nearest_facility runs")
    parser.add_argument("--nx-origins", type=int, default=10, help="networkx matrix origins")
    parser.add_argument("--serial", action="store_true", help="run every child alone, in turn")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per child")
    parser.add_argument("--child", choices=["speed", *MEMORY_KINDS], help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--warm", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--wait-go", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.mem_side = min(args.mem_side, args.side)

    # Run from a checkout without installing: both geo/ and benchmarks/ live under ROOT.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    if args.child:
        out = _speed(args.path, args) if args.child == "speed" else _memory(args.child, args)
        print(json.dumps(out))
        return 0

    from benchmarks.roadlike import osm_counts, write_roadlike_grid_osm

    def write(path: Path, side: int) -> tuple[Path, dict[str, Any]]:
        path = write_roadlike_grid_osm(path, side=side, seed=args.seed)
        nodes, ways = osm_counts(path)
        return path, {"nodes": nodes, "ways": ways, "mb": path.stat().st_size / 1e6}

    t_start = time.perf_counter()
    print(_machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="pingan-bench-engine-") as tmp_name:
        tmp = Path(tmp_name)
        print(f"writing a {args.side} x {args.side} road-like grid ...", flush=True)
        path, osm = write(tmp / "grid.osm", args.side)
        print(f"  {osm['nodes']:,} OSM nodes, {osm['ways']:,} ways, {osm['mb']:.1f} MB", flush=True)
        mem_path = path
        if args.mem_side < args.side:
            mem_path, osm["mem"] = write(tmp / "mem.osm", args.mem_side)
        warm, _ = write(tmp / "warm.osm", WARM_SIDE)

        if args.serial:
            print("memory (a fresh process each, one at a time)", flush=True)
            mem = _memory_runs(mem_path, warm, tmp, args)
            print("speed (one fresh process, alone)", flush=True)
            speed = _finish("speed", _start("speed", args, path=path), args.timeout)
        else:
            # The timing child builds its network and networkx's graph while the memory
            # children run, and times nothing until it is told they have all finished.
            print("speed (one fresh process) and memory (a fresh process each)", flush=True)
            timing = _start("speed", args, path=path)
            mem = _memory_runs(mem_path, warm, tmp, args)
            print("memory done; the timings now run alone", flush=True)
            speed = _finish("speed", timing, args.timeout)

    lines, failures = _report(osm, speed, mem, args)
    print("\n".join(lines))
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    if failures:
        print(f"\n{len(failures)} failure(s):", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
