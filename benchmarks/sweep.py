"""Benchmark a province sweep: 2 Dask workers against the same sweep run serially.

Usage::

    .venv/bin/python -m benchmarks.sweep [--scenarios 100] [--workers 2] [--small]

The synthetic province (``geo.sample.province``: 10 districts of 3 x 2 sample tiles,
about 2,000 villages and 200k+ road nodes; ``--small`` for 4 one-tile districts) is
written once into ``out/bench/province`` and its district networks cached once
(timed, reported, not part of either run). Then, in the same run:

- baseline: ``run_sweep(serial=True)``, every task in this process, one by one;
- ``run_sweep(client=...)`` on a local cluster of 2 single-threaded worker processes,
  started (and the engine imported on them) before the clock starts, as a planner's
  running cluster is; the start-up is timed and printed apart;
- then the whole commands, ``pingan sweep --serial`` and ``pingan sweep --workers 2``,
  each a fresh process: start-up, imports and the cluster's start included.

Both runs start from the network cache on disk (no district warm in memory). The rows of the
two runs must be identical (else exit status 1); the speed-up is serial time /
distributed time (target >= 1.7x). Memory per worker is each worker's resident set at
the end. The Hubei projection is on paper: tasks per sweep scaled to Hubei's ~25,000
villages in ~100 county-level districts, at this run's seconds per task.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from geo.network import BuildOptions, load_network
from geo.province import ProvinceSpec, district_area, forget_districts, load_sweep, plan_sweep
from geo.sample.province import ensure_province
from service.batch import local_cluster, prepare_worker, run_sweep
from service.memory import return_large_blocks

HUBEI_VILLAGES = 25_000
HUBEI_DISTRICTS = 103


def scenarios(spec: ProvinceSpec, n: int, seed: int, path: Path) -> Path:
    """Write ``n`` scenarios: a new post at a random village, each."""
    v = pd.read_csv(spec.area.resolve(str(spec.area.villages.path)), dtype={"code": str})  # type: ignore[union-attr]
    v = v[v["kind"] == "village"].reset_index(drop=True)
    pick = np.random.default_rng(seed).choice(len(v), n, replace=False)
    data = {
        "thresholds_min": [10, 20, 30],
        "scenarios": [
            {
                "name": f"post-at-{v.loc[i, 'code']}",
                "edits": [
                    {
                        "op": "add_station",
                        "id": f"P{k:03d}",
                        "kind": "post",
                        "lon": float(v.loc[i, "lon"]),
                        "lat": float(v.loc[i, "lat"]),
                    }
                ],
            }
            for k, i in enumerate(pick)
        ],
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    return path


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--small", action="store_true", help="4 one-tile districts (a quick check)")
    ap.add_argument("--folder", default="out/bench")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-commands", action="store_true", help="skip the whole-command runs")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each (medians)")
    args = ap.parse_args()
    # As the pingan command does: the serial baseline runs as `pingan sweep --serial`.
    return_large_blocks()
    root = Path(args.folder).resolve()
    kw = (
        {"districts": 4, "tiles": (1, 1), "per_row": 2, "n_villages": 24, "buffer_km": 6.0}
        if args.small
        else {}
    )
    t0 = time.perf_counter()
    files = ensure_province(root / ("province-small" if args.small else "province"), **kw)  # type: ignore[arg-type]
    t_gen = time.perf_counter() - t0
    spec = ProvinceSpec.from_file(files.province)
    cache = root / ("netcache-small" if args.small else "netcache")
    t0 = time.perf_counter()
    whole = load_network(files.roads, BuildOptions(mode=spec.area.mode), cache_dir=cache)
    print(
        f"province road graph: {len(whole.nodes):,} nodes, {len(whole.edges):,} edges "
        f"(routing core; built or loaded in {time.perf_counter() - t0:.1f} s)",
        flush=True,
    )
    del whole
    t0 = time.perf_counter()
    nodes = 0
    rss0 = _rss_mb()
    for d in spec.districts:
        nodes += len(district_area(spec, d.code, cache_dir=cache).net.nodes)
    t_cache = time.perf_counter() - t0
    per_district = (_rss_mb() - rss0) / len(spec.districts)
    villages = pd.read_csv(files.villages, dtype={"code": str})
    n_vil = int((villages["kind"] == "village").sum())
    print(
        f"province: {len(spec.districts)} districts, {n_vil:,} villages and "
        f"{len(villages) - n_vil:,} communities; district graphs {nodes:,} nodes in all "
        f"(with their buffers); generated/checked in {t_gen:.1f} s, networks "
        f"cached/loaded in {t_cache:.1f} s; a loaded district holds {per_district:.0f} MB "
        f"({per_district / (nodes / len(spec.districts)) * 1e5:.0f} MB per 100k nodes)",
        flush=True,
    )
    th, sc = load_sweep(scenarios(spec, args.scenarios, args.seed, root / "sweep.json"))
    tasks = plan_sweep(spec, sc, th, cache_dir=cache)
    print(f"sweep: {len(sc)} scenarios -> {len(tasks)} tasks", flush=True)

    from distributed import Client

    t0 = time.perf_counter()
    cluster = local_cluster(args.workers)
    client = Client(cluster)
    client.run(prepare_worker)
    t_start = time.perf_counter() - t0
    # Alternating runs, each from the cache on disk with nothing warm (this machine's
    # timings vary by some 20 % from run to run, hence medians).
    t_serials, t_dists = [], []
    try:
        for _ in range(args.repeat):
            forget_districts()
            t0 = time.perf_counter()
            serial = run_sweep(tasks, serial=True)
            t_serials.append(time.perf_counter() - t0)
            forget_districts()
            client.run(forget_districts)
            t0 = time.perf_counter()
            dist = run_sweep(tasks, client=client)
            t_dists.append(time.perf_counter() - t0)
            print(f"  serial {t_serials[-1]:.1f} s, {args.workers} workers {t_dists[-1]:.1f} s")
    finally:
        client.close()
        cluster.close()
    t_serial, t_dist = float(np.median(t_serials)), float(np.median(t_dists))
    rss_serial = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"serial: median {t_serial:.1f} s, peak {rss_serial:.0f} MB; {args.workers} workers "
        f"(cluster started in {t_start:.1f} s, not counted): median {t_dist:.1f} s; memory "
        f"per worker {sorted(dist.worker_memory_mb.values())} MB",
        flush=True,
    )
    if not args.no_commands:
        cli = {}
        for name, flags in (
            ("serial", ["--serial"]),
            ("workers", ["--workers", str(args.workers)]),
        ):
            t0 = time.perf_counter()
            rc = subprocess.run(
                [sys.executable, "-m", "service.cli", "sweep", str(root / "sweep.json"),
                 "--area", str(files.province), "--out", str(root / f"cli-{name}"),
                 "--cache-dir", str(cache), "-q", *flags],
                check=False,
            ).returncode  # fmt: skip
            cli[name] = time.perf_counter() - t0
            if rc != 0:
                print(f"pingan sweep {' '.join(flags)} exited with {rc}")
        same_cli = (root / "cli-serial" / "summary.csv").read_bytes() == (
            root / "cli-workers" / "summary.csv"
        ).read_bytes()
        print(
            f"whole commands (process start, imports, cluster start included): "
            f"pingan sweep --serial {cli['serial']:.1f} s, --workers {args.workers} "
            f"{cli['workers']:.1f} s ({cli['serial'] / cli['workers']:.2f}x); "
            f"summary.csv identical: {'yes' if same_cli else 'NO'}",
            flush=True,
        )

    same = not serial.failures and not dist.failures
    for name, a, b in (
        ("summary", serial.summary(), dist.summary()),
        ("coverage", serial.villages(base=True), dist.villages(base=True)),
        ("changes", serial.villages(base=False), dist.villages(base=False)),
    ):
        try:
            pd.testing.assert_frame_equal(a, b)
        except AssertionError as exc:
            print(f"MISMATCH in {name}: {exc}")
            same = False
    speed = t_serial / t_dist
    per_task = t_serial / len(tasks)
    tasks_per_scenario = (len(tasks) - len(spec.districts)) / len(sc)
    print()
    print(f"speed-up, {args.workers} workers vs serial: {speed:.2f}x (target >= 1.7x): "
          f"{'met' if speed >= 1.7 else 'MISSED'}")  # fmt: skip
    print(f"rows identical to the serial run: {'yes' if same else 'NO'}")
    # On paper: Hubei's districts are of about this size (25,000 villages / 103 = 243),
    # and its sweep as dense: as many scenarios per district as this one.
    per_district = len(sc) / len(spec.districts)
    hubei_scenarios = per_district * HUBEI_DISTRICTS
    hubei_tasks = HUBEI_DISTRICTS + hubei_scenarios * tasks_per_scenario
    eff = speed / args.workers
    w = 16
    hours = hubei_tasks * per_task / (w * eff) / 3600
    print(
        f"Hubei on paper: {per_district:.0f} scenarios per district over {HUBEI_DISTRICTS} "
        f"districts ({hubei_scenarios:,.0f} scenarios, {tasks_per_scenario:.2f} districts "
        f"each, plus each district's base) -> {hubei_tasks:,.0f} tasks x {per_task:.2f} s "
        f"/ ({w} workers x {eff:.2f} efficiency) = {hours * 60:.1f} min"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
