"""Time and memory bounds of whole commands on a large area (issue 9 §3).

Writes a synthetic 2M-node road-like OSM file (about 180k nodes after the build) and a
table of incidents spread over its roads, then runs ``pingan hotspots`` (more cases to
come: unlit, lamps, posts) in a fresh process each and reports wall time and peak RSS
against the bounds. The baseline of each row is its bound, measured in the same run.

    .venv/bin/python benchmarks/bounds.py [--nodes 2000000] [--incidents 100000]

It takes a few minutes (most of it writing and building the network once); the
network cache is kept in the work folder between the build and the runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

# (command, extra arguments, bound seconds, bound GB[, exit code wanted]), from issue 9
# §3; a case that must be refused wants 2, the exit code of a validation error.
CASES = [
    ("hotspots", ["--trend-period", "none"], 60.0, 3.0),
    ("hotspots", ["--trend-period", "none", "--cell", "0.3"], 10.0, 0.5, 2),
    # Dark roads and lamps on 2M incidents (the later --incidents wins); no time bound in
    # the issue, so the bound is the time before the fix. Posts: 400 villages, 6 stations.
    ("unlit", ["--villages", "{work}/villages.csv", "--incidents", "{work}/inc2m.csv"], 288.0, 2.0),
    ("lamps", ["--villages", "{work}/villages.csv", "--incidents", "{work}/inc2m.csv"], 171.0, 2.0),
    (
        "posts",
        ["--villages", "{work}/villages.csv", "--stations", "{work}/stations.csv", "--k", "10"],
        60.0,
        3.0,
    ),
]


def _places(net_nodes: pd.DataFrame, work: Path) -> None:
    """Write 400 villages and 6 stations at road nodes, and 2M incidents, into ``work``."""
    rng = np.random.default_rng(1)
    k = rng.choice(len(net_nodes), 406, replace=False)
    lon, lat = net_nodes["lon"].to_numpy()[k].round(6), net_nodes["lat"].to_numpy()[k].round(6)
    codes = [f"42019910{i // 200}{i % 200 + 1:03d}" for i in range(400)]  # NBS-shaped
    names = [f"村{i}" for i in range(400)]
    households = rng.integers(50, 800, 400)
    pd.DataFrame(
        {"code": codes, "name": names, "households": households, "lon": lon[:400], "lat": lat[:400]}
    ).to_csv(work / "villages.csv", index=False)
    ids = [f"PS-{i}" for i in range(6)]
    pd.DataFrame({"id": ids, "name": ids, "lon": lon[400:], "lat": lat[400:]}).to_csv(
        work / "stations.csv", index=False
    )
    if not (work / "inc2m.csv").exists():
        _incidents(net_nodes, 2_000_000, work / "inc2m.csv")


def _incidents(net_nodes: pd.DataFrame, n: int, path: Path) -> None:
    rng = np.random.default_rng(0)
    k = rng.integers(0, len(net_nodes), n)
    lon = net_nodes["lon"].to_numpy()[k] + rng.normal(0, 0.001, n)
    lat = net_nodes["lat"].to_numpy()[k] + rng.normal(0, 0.001, n)
    t = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365 * 86400, n), unit="s")
    pd.DataFrame(
        {
            "id": [f"I{i}" for i in range(n)],
            "time": t.strftime("%Y-%m-%d %H:%M:%S"),
            "category": rng.choice(["theft", "dispute", "traffic"], n),
            "lon": lon.round(6),
            "lat": lat.round(6),
        }
    ).to_csv(path, index=False)


# A wrapper process per case, so the peak RSS read is that case's alone (a process's
# RUSAGE_CHILDREN is the largest of all the children it ever waited for).
_WRAP = (
    "import resource, subprocess, sys; "
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
    "stderr=subprocess.DEVNULL).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)"
)


def _run(cmd: list[str]) -> tuple[float, float, int]:
    """Run ``cmd`` in a fresh process; return wall seconds, peak RSS in GB, exit code.

    GB are 10⁹ bytes: Linux reports ru_maxrss in KiB.
    """
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _WRAP, *cmd], capture_output=True, text=True, check=True
    ).stdout.split()
    wall = time.perf_counter() - t0
    return wall, int(out[0]) * 1024 / 1e9, int(out[1])


def _label(name: str, extra: list[str]) -> str:
    """Name a case by its options, the work-folder files it reads said in words."""
    words = [name]
    for i, a in enumerate(extra):
        given = extra[i + 1] if i + 1 < len(extra) else ""
        if "{work}" in a or "{work}" in given or a in ("--trend-period", "none"):
            continue
        words.append(a)
    if any("inc2m" in a for a in extra):
        words.append("(2M incidents)")
    return " ".join(words)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=2_000_000)
    ap.add_argument("--incidents", type=int, default=100_000)
    ap.add_argument("--work", type=Path, default=None, help="work folder (default: a temp)")
    ap.add_argument(
        "--only", nargs="+", metavar="COMMAND", help="run only these commands (e.g. unlit lamps)"
    )
    args = ap.parse_args()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if args.work is None:
        # A throw-away folder (300 MB of OSM and incidents) goes when the run ends.
        with tempfile.TemporaryDirectory(prefix="pingan-bounds-") as tmp:
            return _measure(args, Path(tmp))
    args.work.mkdir(parents=True, exist_ok=True)
    return _measure(args, args.work)


def _measure(args: argparse.Namespace, work: Path) -> int:
    from benchmarks.roadlike import write_roadlike_osm

    osm, inc, cache = work / "big.osm", work / "incidents.csv", work / "cache"
    t0 = time.perf_counter()
    if not osm.exists():
        write_roadlike_osm(osm, n_nodes=args.nodes, seed=1)
    from geo.network import load_network

    net = load_network(osm, cache_dir=cache)
    if not inc.exists():
        _incidents(net.nodes, args.incidents, inc)
    _places(net.nodes, work)
    print(
        f"inputs: {args.nodes:,} OSM nodes -> {len(net.nodes):,} nodes, {len(net.edges):,} "
        f"edges; {args.incidents:,} incidents ({time.perf_counter() - t0:.0f} s to prepare)"
    )
    print(f"{'command':<22}{'wall s':>9}{'bound s':>9}{'peak GB':>9}{'bound GB':>10}  verdict")
    ok = True
    for name, extra, bound_s, bound_gb, *want in CASES:
        if args.only and name not in args.only:
            continue
        cmd = [sys.executable, "-m", "service.cli", "-q", name, "--osm", str(osm)]
        cmd += ["--incidents", str(inc), "--cache-dir", str(cache), "--out", str(work / name)]
        wall, gb, rc = _run(cmd + [a.format(work=work) for a in extra])
        want_rc = want[0] if want else 0
        met = rc == want_rc and wall <= bound_s and gb <= bound_gb
        ok &= met
        verdict = "MET" if met else (f"FAILED (exit {rc})" if rc != want_rc else "NOT MET")
        if want_rc:
            verdict += f" (refusal, exit {want_rc} wanted)"
        label = _label(name, extra)
        print(f"{label:<22}{wall:>9.1f}{bound_s:>9.0f}{gb:>9.2f}{bound_gb:>10.1f}  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
