"""Benchmark geo.hotspots: FFT KDE against scipy's gaussian_kde, and the Toronto pipeline.

Usage::

    .venv/bin/python benchmarks/hotspots.py [--points 100000] [--sample-cells 400] [--seed 0]

1. ``kde_grid`` against ``scipy.stats.gaussian_kde`` on ``--points`` clustered points
   over 20 x 20 km at 40 m cells, with the same isotropic bandwidth (Scott's rule, then
   a planner's fixed 250 m). gaussian_kde costs points x cells, far too long for the
   whole grid, so it is evaluated on ``--sample-cells`` random cells and its time scaled
   to the full grid (its cost is linear in the number of cells evaluated); the output
   says so. Target: ours >= 100x faster. The sampled cells also check correctness:
   ``max |ours - gaussian_kde| / peak < 0.01``.
2. The full pipeline on the real Toronto data (``../shared/data/toronto_mci_2014_2021.csv.gz``,
   240,992 incidents; skipped when absent): read and project (reported apart), then
   filter (2014-2021, 19:00-06:00), KDE at 100 m, Gi* at 250 m and FDR
   (``analyse_hotspots``); also every incident unfiltered, and monthly emerging hot spots.
   Target: the pipeline "well within a minute", i.e. under 10 s here.

Timings are the best of ``--repeat`` runs. A failed correctness check exits with status
1; a missed target does not.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_KDE = 100.0  # gaussian_kde time / ours, at least
TARGET_PIPELINE_S = 10.0  # "well within a minute"
KDE_TOLERANCE = 0.01  # of the peak density
EXTENT_M = 20_000.0
KDE_CELL_M = 40.0
TORONTO = "toronto_mci_2014_2021.csv.gz"


def _machine() -> str:
    import pandas as pd
    import scipy

    return (
        f"{platform.node()}: {os.cpu_count()} cpu, Python {platform.python_version()}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}, pandas {pd.__version__}"
    )


def _best(fn: Any, repeat: int) -> tuple[Any, float]:
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def _verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def _points(n: int, seed: int) -> np.ndarray:
    """Clustered incidents: 40 hot spots of varied size on a uniform background."""
    rng = np.random.default_rng(seed)
    n_bg = n // 4
    centres = rng.uniform(0.1 * EXTENT_M, 0.9 * EXTENT_M, (40, 2))
    spread = rng.uniform(50.0, 800.0, 40)
    which = rng.integers(0, 40, n - n_bg)
    clustered = centres[which] + rng.normal(0.0, 1.0, (n - n_bg, 2)) * spread[which, None]
    return np.vstack([rng.uniform(0.0, EXTENT_M, (n_bg, 2)), clustered])


def bench_kde(args: argparse.Namespace, failures: list[str]) -> list[str]:
    from scipy.stats import gaussian_kde

    from geo.hotspots import kde_grid

    xy = _points(args.points, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    lines = []
    for bandwidth in ("scott", 250.0):
        grid, ours_s = _best(
            lambda b=bandwidth: kde_grid(xy, cell_size=KDE_CELL_M, bandwidth=b), args.repeat
        )
        h = grid.bandwidth
        ny, nx = grid.density.shape
        n_cells = nx * ny
        k = min(args.sample_cells, n_cells)
        flat = rng.choice(n_cells, k, replace=False)
        iy, ix = np.divmod(flat, nx)
        kde = gaussian_kde(xy.T)
        # An isotropic kernel with standard deviation h, not gaussian_kde's ellipse.
        kde.covariance = np.eye(2) * h * h
        kde.cho_cov = np.eye(2) * h
        kde.log_det = 4 * np.log(h * np.sqrt(2 * np.pi))
        at = np.vstack([grid.x[ix], grid.y[iy]])
        ref, sample_s = _best(lambda f=kde, a=at: f(a), 2)
        ref_s = sample_s * n_cells / k
        # The peak itself, so the error is relative to the grid's highest density.
        py, px = np.unravel_index(np.argmax(grid.pdf), grid.pdf.shape)
        peak_ref = float(kde(np.array([[grid.x[px]], [grid.y[py]]]))[0])
        err = float(np.abs(grid.pdf[iy, ix] - ref).max() / peak_ref)
        peak_err = abs(float(grid.pdf[py, px]) - peak_ref) / peak_ref
        ratio = ref_s / ours_s
        label = f"{h:.0f} m ({grid.bandwidth_rule})"
        lines += [
            f"KDE, {args.points:,} points, {nx} x {ny} = {n_cells:,} cells of {KDE_CELL_M:g} m, "
            f"bandwidth {label}",
            f"  kde_grid (linear binning + FFT)   {ours_s:8.3f} s",
            f"  gaussian_kde                      {ref_s:8.1f} s  (evaluated on {k} random "
            f"cells in {ref_s * k / n_cells:.2f} s, scaled x{n_cells / k:,.0f} to the grid)",
            f"  speed-up                          {ratio:8.0f}x   target >= {TARGET_KDE:.0f}x  "
            f"{_verdict(ratio >= TARGET_KDE)}",
            f"  max |diff| / peak on those cells  {err:8.5f}   at the peak {peak_err:.5f}   "
            f"(must be < {KDE_TOLERANCE})",
        ]
        if not (err < KDE_TOLERANCE and peak_err < KDE_TOLERANCE):
            failures.append(f"KDE with bandwidth {label}: error {max(err, peak_err):.4f}")
    return lines


def _read_toronto(path: Path):
    import geopandas as gpd
    import pandas as pd
    import pyproj

    df = pd.read_csv(path, usecols=["occurrencedate", "occurrencehour", "MCI", "Lat", "Long"])
    # occurrencedate is local midnight stored in UTC; the local hour is its own column.
    day = pd.to_datetime(df["occurrencedate"], format="%Y/%m/%d %H:%M:%S%z", utc=True)
    day = day.dt.tz_convert("America/Toronto").dt.tz_localize(None).dt.normalize()
    local = (day + pd.to_timedelta(df["occurrencehour"], unit="h")).dt.tz_localize(
        "America/Toronto",
        ambiguous=np.zeros(len(df), dtype=bool),
        nonexistent="shift_forward",
    )
    to_utm = pyproj.Transformer.from_crs(4326, 32617, always_xy=True)
    x, y = to_utm.transform(df["Long"].to_numpy(), df["Lat"].to_numpy())
    return gpd.GeoDataFrame(
        {"id": np.arange(len(df)).astype(str), "time": local, "category": df["MCI"].str.lower()},
        geometry=gpd.points_from_xy(x, y),
        crs=32617,
    )


def bench_toronto(args: argparse.Namespace, failures: list[str]) -> list[str]:
    from geo.hotspots import HotspotParams, analyse_hotspots, emerging_hotspots, filter_incidents

    shared = Path(os.environ.get("PINGAN_SHARED", ROOT.parent / "shared")) / "data" / TORONTO
    if not shared.is_file():
        return [f"Toronto pipeline: skipped, {shared} is absent"]
    inc, read_s = _best(lambda: _read_toronto(shared), 1)
    params = HotspotParams(cell_size=250.0, kde_cell_size=100.0)

    def pipeline():
        night = filter_incidents(inc, start="2014-01-01", end="2022-01-01", hours=(19, 6))
        return night, analyse_hotspots(night, params=params)

    (night, res), pipe_s = _best(pipeline, args.repeat)
    everything, all_s = _best(lambda: analyse_hotspots(inc, params=params), args.repeat)
    em, em_s = _best(
        lambda: emerging_hotspots(
            filter_incidents(inc, start="2014-01-01", end="2022-01-01"),
            cell_size=250.0,
            period="M",
        ),
        args.repeat,
    )
    hot = (res.cells["gi_bin"] > 0).sum()
    lines = [
        f"Toronto MCI, {len(inc):,} incidents (read + project to UTM 17N: {read_s:.2f} s, "
        "not counted below)",
        f"  filter 2014-2021, 19:00-06:00 -> {len(night):,}; KDE {params.kde_cell_size:g} m "
        f"({res.density.density.size:,} cells, bandwidth {res.density.bandwidth:.0f} m); "
        f"Gi* {params.cell_size:g} m ({len(res.cells):,} cells, {hot:,} hot); FDR",
        f"  pipeline                          {pipe_s:8.3f} s   target < {TARGET_PIPELINE_S:g} s  "
        f"{_verdict(pipe_s < TARGET_PIPELINE_S)}",
        f"  same on all {len(inc):,} incidents    {all_s:8.3f} s",
        f"  emerging hot spots, monthly ({len(em.periods)} periods x {len(em.cells):,} "
        f"cells)  {em_s:.3f} s",
    ]
    if res.n_in_cells != len(night) or int(everything.cells["count"].sum()) != len(inc):
        failures.append("Toronto: cell counts do not add up to the incidents")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--sample-cells", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    failures: list[str] = []
    print(_machine(), flush=True)
    lines = bench_kde(args, failures) + [""] + bench_toronto(args, failures)
    print("\n".join(lines))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if failures:
        print(f"\n{len(failures)} failure(s):", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
