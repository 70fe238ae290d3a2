"""Road network builds from uploaded OSM files, as background jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from geo.network import BuildOptions, load_network
from geo.network.tags import Mode
from service.api.jobs import JobContext, JobFn

__all__ = ["KIND", "build_job"]

#: The kind of a network build's job.
KIND = "network"


def build_job(
    path: Path,
    shown: str,
    *,
    mode: Mode,
    bbox: tuple[float, float, float, float] | None,
    cache_dir: Path,
) -> JobFn:
    """Return the job building (or loading from the cache) the network of one OSM file.

    Its result is the network's summary (as ``pingan network build --json``) with the
    lon/lat extent of its nodes; the file is named as uploaded, never by its path on
    the server.
    """

    def run(ctx: JobContext) -> dict[str, Any]:
        opts = BuildOptions(mode=mode, bbox=bbox)
        net = load_network(path, opts, cache_dir=cache_dir, progress=ctx.stage(2, 95))
        ctx.progress(97, "summarising")
        summary = net.summary().to_dict()
        summary["source"] = {**summary.get("source", {}), "path": shown}
        lon, lat = net.nodes["lon"], net.nodes["lat"]
        summary["extent"] = [
            float(lon.min()),
            float(lat.min()),
            float(lon.max()),
            float(lat.max()),
        ]
        return summary

    return run
