"""Benchmark the travel-time engine against networkx and osmnx, the named baselines.

Usage::

    .venv/bin/python benchmarks/engine.py [--side 514] [--seed 0] [--serial]

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
4. memory retained (tracemalloc) by the Engine — what ``Engine(net)`` allocates on top of
   the network: the CSR graph and its per-edge arrays — vs the MultiDiGraph of
   ``osmnx.graph_from_xml(path, simplify=True, retain_all=True)``; target <= 1/20. The
   RoadNetwork data layer (tags, geometry) plus the Engine, and the graph of
   ``net.to_networkx()``, are reported too, for reference.

Correctness is checked on the way: one_to_all against networkx (1e-6 relative) on every
timed source, the matrix rows against networkx on the timed origins, and
nearest_facility against the minimum over a stations x villages matrix column on a
sample of villages. A correctness failure or a crashed measurement exits with status 1;
a missed target does not.

Every measurement runs in a fresh Python process: the timings in one, each memory figure
in its own, so that no heap pollutes another. Memory children are not timed, so by
default two run at once to keep the whole run near ten minutes; ``--serial`` runs them
one by one. tracemalloc sees Python objects and numpy buffers but not what GEOS
allocates for shapely geometries, which both networkx graphs hold on their edges; those
coordinates are estimated (16 bytes each) and printed apart, never added, so the
baselines can only look smaller than they are.
"""

from __future__ import annotations

import argparse
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
import tracemalloc
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
TARGET_MEMORY = 1 / 20  # ours / osmnx retained bytes, at most

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

WEIGHT = "travel_time_s"
MEMORY_KINDS = ("mem-engine", "mem-networkx", "mem-osmnx")
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
    eng, out["compile_s"] = _timed(Engine, net)
    say(f"  compiled (CSR and snap index) in {out['compile_s']:.2f} s; net.to_networkx() ...")
    G, out["to_networkx_s"] = _timed(net.to_networkx)
    out["nx_nodes"], out["nx_edges"] = G.number_of_nodes(), G.number_of_edges()
    say(f"  {out['nx_nodes']:,} nodes, {out['nx_edges']:,} edges in {out['to_networkx_s']:.1f} s")

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


def _retained() -> int:
    """Return the bytes tracemalloc still sees allocated, once garbage is collected."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def _geometry_coord_bytes(G: Any) -> int:
    """Estimate what GEOS holds for a graph's edge geometries: 16 bytes a coordinate."""
    import shapely

    geoms = [g for *_, g in G.edges(data="geometry") if g is not None]
    return int(shapely.get_num_coordinates(np.asarray(geoms, dtype=object)).sum()) * 16


def _memory(kind: str, path: str, osmnx_direct: bool) -> dict[str, Any]:
    """Measure the bytes one structure retains, in this fresh process."""
    say = _Progress(kind)
    out: dict[str, Any] = {}
    if kind == "mem-engine":
        from geo.engine import Engine
        from geo.network import BuildOptions, SnapIndex, build_network

        say("build_network + SnapIndex + Engine under tracemalloc ...")
        # Imports come first, so module-level state is not counted as the network's.
        tracemalloc.start()
        net = build_network(path, BuildOptions(mode="car"))
        out["network_bytes"] = _retained()
        # The snap index (road view geometry, KD-tree, STR-tree) is built explicitly, once,
        # and handed to the engine, so the routing core is measured on its own.
        snap = SnapIndex.of(net)
        out["snap_index_bytes"] = _retained() - out["network_bytes"]
        eng = Engine(net, snap=snap)
        out["retained_bytes"] = _retained()
        out["memory_bytes"] = eng.memory_bytes()
        eng.locate(net.nodes["x"].to_numpy()[:1], net.nodes["y"].to_numpy()[:1])
        out["with_snap_index_bytes"] = _retained()
        out["nodes"], out["edges"] = len(net.nodes), len(net.edges)
        out["untraced_bytes"] = 0  # coordinates are a numpy array, which tracemalloc sees
    elif kind == "mem-networkx":
        from geo.network import BuildOptions, build_network

        say("build_network, then net.to_networkx() under tracemalloc ...")
        net = build_network(path, BuildOptions(mode="car"))
        gc.collect()
        tracemalloc.start()
        G = net.to_networkx()
        out["retained_bytes"] = _retained()
        out["nodes"], out["edges"] = G.number_of_nodes(), G.number_of_edges()
        out["untraced_bytes"] = _geometry_coord_bytes(G)
    elif osmnx_direct:
        import osmnx as ox

        say("osmnx.graph_from_xml(simplify=True, retain_all=True) under tracemalloc ...")
        tracemalloc.start()
        G = ox.graph_from_xml(path, simplify=True, retain_all=True)
        out["retained_bytes"] = _retained()
        out["nodes"], out["edges"] = G.number_of_nodes(), G.number_of_edges()
        out["untraced_bytes"] = _geometry_coord_bytes(G)
    else:
        import osmnx as ox

        # Tracing graph_from_xml itself records every allocation of its parse and
        # simplification and takes over ten minutes at the default size, so the graph is
        # built untraced and a pickled copy of it is traced while it is rebuilt. The copy
        # holds the same objects, shared the same way, but its dicts lack the spare slots
        # that simplification's deletions leave, so it reads a little low (772 against
        # 841 MiB traced directly at the default size): osmnx only looks smaller.
        say("osmnx.graph_from_xml(simplify=True, retain_all=True) ...")
        G = ox.graph_from_xml(path, simplify=True, retain_all=True)
        out["peak_mb"] = _peak_rss_mb()  # before the copy, so the peak is osmnx's own
        say("  done; tracing a pickled copy of its result as it loads ...")
        blob = pickle.dumps(G, protocol=pickle.HIGHEST_PROTOCOL)
        del G
        gc.collect()
        tracemalloc.start()
        G = pickle.loads(blob)
        out["retained_bytes"] = _retained()
        out["nodes"], out["edges"] = G.number_of_nodes(), G.number_of_edges()
        out["untraced_bytes"] = _geometry_coord_bytes(G)
        out["traced_peak_bytes"] = None  # the peak of unpickling says nothing about osmnx
    out.setdefault("traced_peak_bytes", tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    out.setdefault("peak_mb", _peak_rss_mb())
    say(f"  retained {out['retained_bytes'] / MB:,.0f} MB")
    return out


def _peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB (VmHWM, Linux only)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # reported in kB
    return float("nan")


# --------------------------------------------------------------------------- parent side


def _start(kind: str, path: Path, args: argparse.Namespace) -> subprocess.Popen[str]:
    """Start a fresh interpreter for one measurement; its progress goes to our stderr."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--path", str(path)]
    cmd += ["--seed", str(args.seed), "--sources", str(args.sources)]
    cmd += ["--repeats", str(args.repeats), "--repeats-nearest", str(args.repeats_nearest)]
    cmd += ["--nx-origins", str(args.nx_origins)]
    if args.osmnx_direct:
        cmd.append("--osmnx-direct")
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def _finish(kind: str, proc: subprocess.Popen[str], timeout_s: float) -> dict[str, Any]:
    """Wait for a child and return its JSON report, or ``{"error": ...}``."""
    try:
        stdout, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"error": f"{kind}: timed out after {timeout_s:.0f} s"}
    if proc.returncode != 0:
        return {"error": f"{kind}: exit status {proc.returncode} (traceback above)"}
    return json.loads(stdout.strip().splitlines()[-1])


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
    return f"  {num:<2} {name:<56} {value:>9}  {target:<9} {verdict}"


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
    failures: list[str] = []
    if "error" in speed:
        failures.append(speed["error"])
        lines.append(f"  speed measurements FAILED: {speed['error']}")
    else:
        lines += [
            f"  build_network(car) in {speed['build_s']:.1f} s: "
            f"nodes {_in_range(speed['nodes'], NODE_RANGE)}, "
            f"edges {_in_range(speed['edges'], EDGE_RANGE)}",
            f"  Engine(net) compiled in {speed['compile_s']:.2f} s; net.to_networkx() in "
            f"{speed['to_networkx_s']:.1f} s ({speed['nx_nodes']:,} nodes, "
            f"{speed['nx_edges']:,} edges)",
        ]
    base = mem.get("mem-osmnx", {})
    if "nodes" in base:
        lines.append(
            f"  osmnx.graph_from_xml: {base['nodes']:,} nodes, {base['edges']:,} edges "
            "(it keeps every component; ours keeps the largest strongly connected one)"
        )

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

    lines += [
        "",
        "memory, MB (each row a fresh process; retained = tracemalloc after gc)",
        f"  {'measurement':<44} {'retained':>9} {'traced peak':>12} {'peak RSS':>9} "
        f"{'GEOS coords*':>13}",
    ]
    labels = {
        "mem-engine": "ours: build_network + Engine",
        "mem-networkx": "networkx: net.to_networkx()",
        "mem-osmnx": "osmnx: graph_from_xml (baseline)" + ("" if args.osmnx_direct else ", copy*"),
    }
    for kind in MEMORY_KINDS:
        m = mem.get(kind, {"error": "not run"})
        if "error" in m:
            failures.append(m["error"])
            lines.append(f"  {labels[kind]:<44} FAILED: {m['error']}")
            continue
        peak = m["traced_peak_bytes"]
        lines.append(
            f"  {labels[kind]:<44} {m['retained_bytes'] / MB:>9,.1f} "
            f"{'-' if peak is None else f'{peak / MB:,.1f}':>12} {m['peak_mb']:>9,.0f} "
            f"{m['untraced_bytes'] / MB:>13,.1f}"
        )
        if kind == "mem-engine":
            lines += [
                f"  {'  of which the RoadNetwork alone':<44} {m['network_bytes'] / MB:>9,.1f}",
                f"  {'  the snap index (roads, KD- and STR-tree)':<44}"
                f" {m['snap_index_bytes'] / MB:>9,.1f}",
                f"  {'  engine.memory_bytes(), its own count':<44} {m['memory_bytes'] / MB:>9,.1f}",
                f"  {'  after a first locate':<44} {m['with_snap_index_bytes'] / MB:>9,.1f}",
            ]
    lines.append("  * GEOS coordinates tracemalloc cannot see, 16 bytes each; not in the ratio.")
    if not args.osmnx_direct:
        lines.append(
            "  * osmnx row: a pickled copy of graph_from_xml's result, traced as it loads"
            " (--osmnx-direct traces the build itself); peak RSS is the build's."
        )

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
    eng, nxg, osm_g = (mem.get(k, {}) for k in ("mem-engine", "mem-networkx", "mem-osmnx"))
    if "retained_bytes" in eng and "retained_bytes" in osm_g:
        # The engine is what Engine(net) allocates on top of the network and its snap
        # index: the CSR graph and its per-edge arrays. The network (tags, geometry) is
        # the data layer, the counterpart of osmnx's graph, and is reported beside it.
        engine_only = eng["retained_bytes"] - eng["network_bytes"] - eng["snap_index_bytes"]
        r4 = engine_only / osm_g["retained_bytes"]
        lines.append(
            _ratio_row(
                "4",
                "Engine (CSR + per-edge arrays) / osmnx graph_from_xml retained",
                f"1/{1 / r4:.1f}",
                f"<= 1/{1 / TARGET_MEMORY:.0f}",
                r4 <= TARGET_MEMORY,
            )
        )
        r4n = eng["retained_bytes"] / osm_g["retained_bytes"]
        lines.append(
            _ratio_row(
                "",
                "(reference) RoadNetwork + snap index + Engine / osmnx retained",
                f"1/{1 / r4n:.1f}",
                "-",
                None,
            )
        )
    if "retained_bytes" in eng and "retained_bytes" in nxg:
        r4b = eng["retained_bytes"] / nxg["retained_bytes"]
        lines.append(
            _ratio_row(
                "",
                "(reference) ours retained / net.to_networkx() retained",
                f"1/{1 / r4b:.1f}",
                "-",
                None,
            )
        )

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
    parser.add_argument("--side", type=int, default=514, help="junctions per grid side")
    parser.add_argument("--seed", type=int, default=0, help="seed of the file and the points")
    parser.add_argument("--sources", type=int, default=5, help="one-to-all sources")
    parser.add_argument("--repeats", type=int, default=3, help="runs of ours per source")
    parser.add_argument("--repeats-nearest", type=int, default=7, help="nearest_facility runs")
    parser.add_argument("--nx-origins", type=int, default=10, help="networkx matrix origins")
    parser.add_argument("--serial", action="store_true", help="one memory child at a time")
    parser.add_argument(
        "--osmnx-direct",
        action="store_true",
        help="trace graph_from_xml itself (exact, but over ten minutes) instead of a copy",
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per child")
    parser.add_argument("--child", choices=["speed", *MEMORY_KINDS], help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    # Run from a checkout without installing: both geo/ and benchmarks/ live under ROOT.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    if args.child:
        out = (
            _speed(args.path, args)
            if args.child == "speed"
            else _memory(args.child, args.path, args.osmnx_direct)
        )
        print(json.dumps(out))
        return 0

    from benchmarks.roadlike import osm_counts, write_roadlike_grid_osm

    t_start = time.perf_counter()
    print(_machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="pingan-bench-engine-") as tmp:
        print(f"writing a {args.side} x {args.side} road-like grid ...", flush=True)
        path = write_roadlike_grid_osm(Path(tmp) / "grid.osm", side=args.side, seed=args.seed)
        nodes, ways = osm_counts(path)
        osm = {"nodes": nodes, "ways": ways, "mb": path.stat().st_size / 1e6}
        print(f"  {nodes:,} OSM nodes, {ways:,} ways, {osm['mb']:.1f} MB", flush=True)

        # Nothing else of ours runs beside the timings.
        print("speed (one fresh process)", flush=True)
        speed = _finish("speed", _start("speed", path, args), args.timeout)

        print("memory (a fresh process each)", flush=True)
        mem: dict[str, dict[str, Any]] = {}
        if args.serial:
            for kind in MEMORY_KINDS:
                mem[kind] = _finish(kind, _start(kind, path, args), args.timeout)
        else:
            # osmnx takes longest, so it runs beside the two others in turn.
            slow = _start("mem-osmnx", path, args)
            for kind in MEMORY_KINDS[:2]:
                mem[kind] = _finish(kind, _start(kind, path, args), args.timeout)
            mem["mem-osmnx"] = _finish("mem-osmnx", slow, args.timeout)

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
