"""The network cache: one flat, aligned binary file per (file content, build options).

A cached load skips the build entirely. The key is the SHA-256 of the source's bytes (an
OSM file, or a road line layer with a shapefile's sidecar files) plus the build options
(and a line layer's reading options), so an edited extract (even under the same name)
is rebuilt and a renamed copy is not. Nothing in the cache is trusted blindly:

- each file carries a SHA-256 of everything after it, checked on every load, so a
  corrupt, truncated or stale file is rebuilt and rewritten, never used or raised;
- a build holds an exclusive lock (``fcntl.flock``) on the source file's lock file, so
  a second process loading the same file waits and then reads the cache;
- temporary files left by a killed writer are removed when the folder is next opened;
- a cache folder that cannot be used is reported and the network built without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyproj

from geo.atomic import atomic_write
from geo.errors import NetworkError
from geo.network.build import (
    CACHE_VERSION,
    BuildOptions,
    ProgressFn,
    build_networks,
    check_source,
    is_line_layer,
    source_sha256,
)
from geo.network.lines import LineLayer
from geo.network.model import DroppedComponent, DroppedReport, RoadNetwork, SourceInfo

if sys.platform != "win32":
    import fcntl

__all__ = ["load_network", "load_networks"]

#: A temporary file untouched for this long, whose writer holds no lock, is an orphan.
#: The lock alone tells a live writer of this version from a dead one; the age guards a
#: writer that takes no lock (an older version sharing the folder), whose file grows
#: with every write and so never looks old while it is being written.
STALE_TMP_S = 600.0

# What a cache read can raise on a damaged or foreign file. NetworkError is a ValueError.
_UNREADABLE = (OSError, ValueError, KeyError, TypeError, IndexError)


def _cache_path(
    cache_dir: Path, sha: str, opts: BuildOptions, lines: LineLayer | None = None
) -> Path:
    # An OSM file's key is the build options alone, as it always was, so existing
    # entries stay valid; a line layer's adds how it was read (a new class mapping
    # is a new network).
    text = opts.key() if lines is None else f"{opts.key()}|lines:{lines.key()}"
    okey = hashlib.sha256(text.encode()).hexdigest()[:16]
    return cache_dir / f"network-{sha[:24]}-{okey}.net"


def _lock_path(cache_dir: Path, sha: str) -> Path:
    # One lock per source file, not per entry: one build makes every entry it was asked
    # for from a single reading of the file, so that is the unit two processes share.
    return cache_dir / f"network-{sha[:24]}.lock"


# atomic_write names its temporary file ".<target name>.<random>.tmp".
_TMP_NAME = re.compile(r"^\.network-(?P<sha>[0-9a-f]{24})-[0-9a-f]{16}\.net\..+\.tmp$")


def _save_cache(net: RoadNetwork, path: Path) -> None:
    """Write the network as a handful of packed arrays plus JSON metadata.

    Few large arrays load much faster than many small ones, which is what makes a cache
    hit cheap even for a small district. Text columns are stored as integer codes with
    their categories in the metadata, so no pickle is ever needed.
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


# The format is named by the magic line, not by CACHE_VERSION (which is part of the key):
# files of the earlier checksum-less layout keep their names, fail the magic test and
# are rebuilt in place rather than left behind under a stale name.
_MAGIC = b"PINGAN-NETWORK/2\n"
_DIGEST = 32  # SHA-256
_ALIGN = 64


def _write_arrays(f: IO[bytes], meta: dict[str, object], arrays: dict[str, np.ndarray]) -> None:
    """Write the magic, a checksum, a JSON header and raw little-endian arrays.

    Layout: magic, the SHA-256 of every byte after it, the header length (8 bytes), the
    header, then each array 64-byte aligned. A flat file read in one call and viewed with
    ``np.frombuffer`` loads several times faster than an ``.npz`` (a zip archive parsed
    member by member), and it needs no pickle, so a tampered cache file cannot run code.
    The checksum covers the header too: a flipped digit in a shape or an offset is as
    wrong as a flipped byte of coordinates.
    """
    specs = {}
    offset = 0
    blobs = []
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        specs[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset}
        blobs.append(a.reshape(-1).view(np.uint8).data)  # a view, not a copy
        offset += -(-a.nbytes // _ALIGN) * _ALIGN
    header = json.dumps({"meta": meta, "arrays": specs}, ensure_ascii=False).encode()
    lead = len(_MAGIC) + _DIGEST + 8 + len(header)
    parts: list[bytes | memoryview] = [len(header).to_bytes(8, "little"), header]
    parts.append(b"\0" * (-lead % _ALIGN))
    for blob in blobs:
        parts += [blob, b"\0" * (-blob.nbytes % _ALIGN)]
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    f.write(_MAGIC + digest.digest())
    for part in parts:
        f.write(part)


def _read_arrays(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a cache file, checking its checksum before anything in it is believed.

    Raises
    ------
    NetworkError
        If the file is not a cache file of this format, or its bytes do not match the
        checksum (corrupt or truncated).
    """
    data = path.read_bytes()
    head_at = len(_MAGIC) + _DIGEST
    if not data.startswith(_MAGIC) or len(data) < head_at + 8:
        msg = "not a network cache file of this format"
        raise NetworkError(msg)
    # sha256 rather than blake2b: with the SHA extensions of current x86 and ARM CPUs it
    # hashes about 1.4 GB/s here, blake2b 0.5 GB/s; a hit stays well within 10x a build.
    if hashlib.sha256(memoryview(data)[head_at:]).digest() != data[len(_MAGIC) : head_at]:
        msg = "checksum mismatch: the file is corrupt or truncated"
        raise NetworkError(msg)
    n = int.from_bytes(data[head_at : head_at + 8], "little")
    head = json.loads(data[head_at + 8 : head_at + 8 + n])
    base = -(-(head_at + 8 + n) // _ALIGN) * _ALIGN
    arrays = {}
    for name, spec in head["arrays"].items():
        dtype = np.dtype(spec["dtype"])
        count = int(np.prod(spec["shape"], dtype=np.int64))
        start = base + spec["offset"]
        if start + count * dtype.itemsize > len(data):
            msg = f"cache file is truncated (array {name!r})"
            raise NetworkError(msg)
        arr = np.frombuffer(data, dtype=dtype, count=count, offset=start)
        arrays[name] = arr.reshape(spec["shape"])
    return head["meta"], arrays


def _load_cache(path: Path, src: Path) -> RoadNetwork:
    """Read one cache file as the network of ``src``.

    The source path reported is ``src``, not the one stored: a renamed copy has the same
    bytes, hence the same entry, and a user asking about the copy must be told the copy.
    """
    meta, z = _read_arrays(path)
    if meta.get("version") != CACHE_VERSION:
        msg = f"cache version {meta.get('version')} is not {CACHE_VERSION}"
        raise NetworkError(msg)
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
    # Copies, not views: a view would keep the whole file's buffer alive beside the
    # tables built from it (hundreds of megabytes twice over on a large area).
    coords, offsets = z["coords"].copy(), z["offsets"].copy()
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
        source=SourceInfo(**{**meta["source"], "path": str(src)}, from_cache=True),
        twin=z["twin"].copy(),
    )


def load_network(
    path: str | Path,
    options: BuildOptions | None = None,
    *,
    cache_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
    lines: LineLayer | None = None,
) -> RoadNetwork:
    """Load a network from the cache, or build it and cache it.

    See :func:`load_networks`, of which this is the one-network case.
    """
    nets = load_networks(
        path, [options or BuildOptions()], cache_dir=cache_dir, progress=progress, lines=lines
    )
    return nets[0]


def load_networks(
    path: str | Path,
    options: Sequence[BuildOptions],
    *,
    cache_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
    lines: LineLayer | None = None,
) -> list[RoadNetwork]:
    """Load several networks of one file: cached ones from the cache, the rest in one build.

    The cache key is the SHA-256 of the file's bytes plus the build options (and, for a
    road line layer, its reading options and a shapefile's sidecar files), so an edited
    extract (even under the same name) is rebuilt, and a renamed copy is not (and is
    reported under its own path). The networks not cached are built from a single
    reading of the file and then cached. The cache never makes a load fail: a corrupt
    entry is rebuilt and rewritten, an unusable folder or a failed write is reported
    through ``progress`` and the networks are returned uncached.

    Parameters
    ----------
    path
        The OSM file, or a road line layer (``.shp``, zipped shapefile, ``.gpkg``,
        ``.geojson``; see :data:`geo.network.build.LINE_SUFFIXES`).
    options
        One set of build options per network wanted.
    lines
        How to read a line layer (default :class:`~geo.network.lines.LineLayer`); only
        for line layers.
    cache_dir
        Cache folder, created if needed (None: always build).
    progress
        Called with a short message as each step starts, and with each cache problem.

    Raises
    ------
    NetworkError
        If the file is missing, of an unsupported type, cannot be read as a road layer,
        or yields no network.
    """
    src = check_source(path, lines=lines)
    if is_line_layer(src):
        lines = lines or LineLayer()
    say = progress or (lambda _msg: None)
    folder = None if cache_dir is None else _open_cache_dir(Path(cache_dir), say)
    if folder is None:
        return build_networks(src, options, progress=progress, lines=lines)
    sha = source_sha256(src)
    paths = {i: _cache_path(folder, sha, opts, lines) for i, opts in enumerate(options)}
    found = _read_cached(paths, src, say)
    if len(found) == len(options):
        return [found[i] for i in range(len(options))]
    # Hits above took no lock (a file is replaced atomically, so a reader sees the whole
    # old one or the whole new one); a build takes it, so that a second process asking
    # for the same file waits for the first build instead of repeating it.
    with _build_lock(_lock_path(folder, sha), src, say):
        rest = {i: p for i, p in paths.items() if i not in found}
        found.update(_read_cached(rest, src, say, recheck=True))
        missing = [i for i in range(len(options)) if i not in found]
        if missing:
            built = build_networks(
                src, [options[i] for i in missing], progress=progress, sha256=sha, lines=lines
            )
            for i, net in zip(missing, built, strict=True):
                _store(net, paths[i], say)
                found[i] = net
    return [found[i] for i in range(len(options))]


def _read_cached(
    paths: dict[int, Path], src: Path, say: ProgressFn, *, recheck: bool = False
) -> dict[int, RoadNetwork]:
    """Load the entries of ``paths`` that exist and pass their checks.

    ``recheck`` marks the second look, under the lock: an entry found now was written by
    the process this one waited for; one still unusable was reported the first time.
    """
    found = {}
    for i, cpath in paths.items():
        if not cpath.is_file():
            continue
        try:
            found[i] = _load_cache(cpath, src)
        except _UNREADABLE as exc:
            if not recheck:
                say(f"warning: cache file {cpath.name} is unusable ({exc}); rebuilding it")
        else:
            by = " (built by another process)" if recheck else ""
            say(f"loaded cached network {cpath.name}{by}")
    return found


def _store(net: RoadNetwork, cpath: Path, say: ProgressFn) -> None:
    """Cache one built network, or say why it cannot be, without failing the load."""
    if cpath.exists() and not cpath.is_file():
        say(f"warning: cache entry {cpath} is not a file; continuing without caching this network")
        return
    say(f"caching network as {cpath}")
    try:
        _save_cache(net, cpath)
    except OSError as exc:
        # The build is done and good; a full disk or a read-only folder costs only the
        # next load's speed, which is no reason to throw the network away.
        say(f"warning: cannot write cache file {cpath} ({exc}); continuing without the cache")


def _open_cache_dir(folder: Path, say: ProgressFn) -> Path | None:
    """Return the cache folder, created if needed and swept of orphans, or None if unusable."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "it is a file, not a folder" if folder.is_file() else str(exc)
        say(f"warning: cache folder {folder} is unusable ({why}); continuing without the cache")
        return None
    _remove_orphans(folder, say)
    return folder


def _remove_orphans(folder: Path, say: ProgressFn) -> None:
    """Delete temporary files that a killed writer left behind.

    A temporary file is an orphan when no process holds its source's build lock (the
    kernel releases a dead process's ``flock``, even after ``kill -9``) and it has not
    changed for :data:`STALE_TMP_S`. A file another process is writing is never touched.
    """
    now = time.time()
    removed, freed = 0, 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        m = _TMP_NAME.match(entry.name)
        if m is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # gone already: its writer finished, or another sweep got there
        if now - st.st_mtime < STALE_TMP_S or _writer_alive(_lock_path(folder, m["sha"])):
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            continue
        removed, freed = removed + 1, freed + st.st_size
    if removed:
        say(f"removed {removed} orphaned temporary cache file(s), {freed / 2**20:.1f} MiB")


def _writer_alive(lock: Path) -> bool:
    """Whether some process holds ``lock`` (False if that cannot be told)."""
    if sys.platform == "win32":
        return False
    try:
        # No O_CREAT: a lock file that does not exist is held by nobody.
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing also releases the lock if it was taken
    return False


@contextmanager
def _build_lock(lock: Path, src: Path, say: ProgressFn) -> Iterator[None]:
    """Hold an exclusive lock on ``lock`` for the duration, waiting for it if need be.

    The lock is ``flock`` on a file beside the entries: the kernel drops it when its
    holder exits, however it exits, so a crash never leaves the cache locked. Where no
    lock can be had (a read-only folder, a file system without locks, Windows) the load
    goes on unlocked: at worst two processes both build, as before there was a lock.
    """
    if sys.platform == "win32":
        yield
        return
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another process building the network of {src.name}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass  # no locking on this file system; see above
        yield
    finally:
        os.close(fd)
