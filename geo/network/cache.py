"""The network cache: one flat, aligned binary file per (file content, build options).

A cached load skips the build entirely. The key is the SHA-256 of the OSM file's bytes
plus the build options, so an edited extract (even under the same name) is rebuilt and a
renamed copy is not; a corrupt or stale cache file is rebuilt rather than trusted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyproj

from geo.atomic import atomic_write
from geo.network.build import (
    CACHE_VERSION,
    BuildOptions,
    ProgressFn,
    build_networks,
    check_source,
    file_sha256,
)
from geo.network.model import DroppedComponent, DroppedReport, RoadNetwork, SourceInfo

__all__ = ["load_network", "load_networks"]


def _cache_path(cache_dir: Path, sha: str, opts: BuildOptions) -> Path:
    okey = hashlib.sha256(opts.key().encode()).hexdigest()[:16]
    return cache_dir / f"network-{sha[:24]}-{okey}.net"


def _save_cache(net: RoadNetwork, path: Path) -> None:
    """Write the network as a handful of packed arrays plus JSON metadata.

    Few large arrays load much faster from an ``.npz`` than many small ones, which is
    what makes a cache hit cheap even for a small district. Text columns are stored as
    integer codes with their categories in the metadata, so no pickle is ever needed.
    """
    e = net.edges
    float_cols = [c for c in e.columns if e[c].dtype.kind == "f"]
    int_cols = [c for c in e.columns if e[c].dtype.kind in "iub"]
    str_cols = [c for c in e.columns if c not in float_cols and c not in int_cols]
    categories: dict[str, list[str]] = {}
    codes = []
    for col in str_cols:
        code, cats = pd.factorize(e[col], use_na_sentinel=True)
        categories[col] = [str(c) for c in cats]
        codes.append(code.astype(np.int64))
    edge_i = np.column_stack([e[c].to_numpy(dtype=np.int64) for c in int_cols] + codes)
    crs = net.crs.to_epsg()
    meta: dict[str, object] = {
        "version": CACHE_VERSION,
        "mode": net.mode,
        "crs": f"EPSG:{crs}" if crs else net.crs.to_wkt(),
        "dropped": asdict(net.dropped),
        "source": {k: v for k, v in asdict(net.source).items() if k != "from_cache"},
        "edge_float": float_cols,
        "edge_int": int_cols,
        "edge_bool": [c for c in int_cols if e[c].dtype.kind == "b"],
        "edge_str": categories,
        "edge_order": list(e.columns),
    }
    arrays = {
        "coords": net.coords,
        "offsets": net.offsets,
        "node_f": net.nodes[["x", "y", "lon", "lat"]].to_numpy(dtype=float),
        "node_osmid": net.nodes["osmid"].to_numpy(dtype=np.int64),
        "edge_f": e[float_cols].to_numpy(dtype=float),
        "edge_i": edge_i,
        "twin": net.twin if net.twin is not None else np.full(len(e), -1, np.int32),
    }
    with atomic_write(path, binary=True) as f:
        _write_arrays(f, meta, arrays)


_MAGIC = b"PINGAN-NETWORK\n"
_ALIGN = 64


def _write_arrays(f: IO[bytes], meta: dict[str, object], arrays: dict[str, np.ndarray]) -> None:
    """Write a JSON header and raw little-endian arrays, each 64-byte aligned.

    A flat file read in one call and viewed with ``np.frombuffer`` loads several times
    faster than an ``.npz`` (a zip archive parsed member by member), and it needs no
    pickle, so a tampered cache file cannot run code.
    """
    specs = {}
    offset = 0
    blobs = []
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        specs[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset}
        blobs.append(a.tobytes())
        offset += -(-a.nbytes // _ALIGN) * _ALIGN
    header = json.dumps({"meta": meta, "arrays": specs}, ensure_ascii=False).encode()
    start = -(-(len(_MAGIC) + 8 + len(header)) // _ALIGN) * _ALIGN
    f.write(_MAGIC + len(header).to_bytes(8, "little") + header)
    f.write(b"\0" * (start - len(_MAGIC) - 8 - len(header)))
    for blob in blobs:
        f.write(blob)
        f.write(b"\0" * (-len(blob) % _ALIGN))


def _read_arrays(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    data = path.read_bytes()
    if not data.startswith(_MAGIC):
        msg = "not a pingan network cache file"
        raise ValueError(msg)
    n = int.from_bytes(data[len(_MAGIC) : len(_MAGIC) + 8], "little")
    head = json.loads(data[len(_MAGIC) + 8 : len(_MAGIC) + 8 + n])
    base = -(-(len(_MAGIC) + 8 + n) // _ALIGN) * _ALIGN
    arrays = {}
    for name, spec in head["arrays"].items():
        dtype = np.dtype(spec["dtype"])
        count = int(np.prod(spec["shape"], dtype=np.int64))
        start = base + spec["offset"]
        if start + count * dtype.itemsize > len(data):
            msg = f"cache file is truncated (array {name!r})"
            raise ValueError(msg)
        arr = np.frombuffer(data, dtype=dtype, count=count, offset=start)
        arrays[name] = arr.reshape(spec["shape"])
    return head["meta"], arrays


def _load_cache(path: Path) -> RoadNetwork:
    meta, z = _read_arrays(path)
    if meta.get("version") != CACHE_VERSION:
        msg = f"cache version {meta.get('version')} is not {CACHE_VERSION}"
        raise ValueError(msg)
    node_f = z["node_f"]
    nodes = pd.DataFrame(
        {
            "osmid": z["node_osmid"],
            "x": node_f[:, 0],
            "y": node_f[:, 1],
            "lon": node_f[:, 2],
            "lat": node_f[:, 3],
        }
    )
    edge_f, edge_i = z["edge_f"], z["edge_i"]
    coords, offsets = z["coords"], z["offsets"]
    cols: dict[str, np.ndarray] = {}
    for j, col in enumerate(meta["edge_float"]):
        cols[col] = edge_f[:, j]
    bools = set(meta["edge_bool"])
    for j, col in enumerate(meta["edge_int"]):
        cols[col] = edge_i[:, j].astype(bool) if col in bools else edge_i[:, j]
    base = len(meta["edge_int"])
    for j, (col, cats) in enumerate(meta["edge_str"].items()):
        code = edge_i[:, base + j]
        values = np.array([*cats, None], dtype=object)  # code -1 picks the trailing None
        cols[col] = values[code]
    edges = pd.DataFrame({c: cols[c] for c in meta["edge_order"]})
    d = meta["dropped"]
    dropped = DroppedReport(
        components=d["components"],
        nodes=d["nodes"],
        edges=d["edges"],
        road_km=d["road_km"],
        largest=tuple(DroppedComponent(**c) for c in d["largest"]),
    )
    return RoadNetwork(
        mode=meta["mode"],
        crs=pyproj.CRS.from_user_input(meta["crs"]),
        nodes=nodes,
        edges=edges,
        coords=coords,
        offsets=offsets,
        dropped=dropped,
        source=SourceInfo(**meta["source"], from_cache=True),
        twin=z["twin"],
    )


def load_network(
    path: str | Path,
    options: BuildOptions | None = None,
    *,
    cache_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> RoadNetwork:
    """Load a network from the cache, or build it and cache it.

    The cache key is the SHA-256 of the file's bytes plus the build options, so an edited
    extract (even under the same name) is rebuilt, and a renamed copy is not.
    A corrupt cache file is rebuilt rather than trusted.
    """
    return load_networks(path, [options or BuildOptions()], cache_dir=cache_dir, progress=progress)[
        0
    ]


def load_networks(
    path: str | Path,
    options: Sequence[BuildOptions],
    *,
    cache_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> list[RoadNetwork]:
    """Load several networks of one file: cached ones from the cache, the rest in one build.

    Those not cached are built from a single reading of the file and then cached.
    """
    src = check_source(path)
    if cache_dir is None:
        return build_networks(src, options, progress=progress)
    say = progress or (lambda _msg: None)
    sha = file_sha256(src)
    found: dict[int, RoadNetwork] = {}
    for i, opts in enumerate(options):
        cpath = _cache_path(Path(cache_dir), sha, opts)
        if not cpath.is_file():
            continue
        try:
            found[i] = _load_cache(cpath)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            say(f"ignoring unreadable cache {cpath.name} ({exc}); rebuilding")
        else:
            say(f"loaded cached network {cpath.name}")
    missing = [i for i in range(len(options)) if i not in found]
    if missing:
        built = build_networks(src, [options[i] for i in missing], progress=progress, sha256=sha)
        for i, net in zip(missing, built, strict=True):
            cpath = _cache_path(Path(cache_dir), sha, options[i])
            say(f"caching network as {cpath}")
            _save_cache(net, cpath)
            found[i] = net
    return [found[i] for i in range(len(options))]
