"""The network cache can be trusted: checked on load, locked while built, swept of orphans.

Each test damages the cache the way a user's machine did (flipped bytes, a truncated
file, ``kill -9`` during a write, a file where the folder should be, two builds at once,
a renamed copy) and checks that the load still returns exactly the network a fresh
build gives, and says what it did about the cache.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.network import BuildOptions, RoadNetwork, build_network, file_sha256, load_network
from geo.network import cache as netcache

ROOT = Path(__file__).resolve().parents[1]
LON0, LAT0 = 114.30, 30.90  # rural Wuhan, UTM 50N
DEG = 0.002  # ~190 m east-west, ~220 m north-south here


def grid_osm(path: Path, n: int = 6, *, lon0: float = LON0) -> Path:
    """Write an ``n`` x ``n`` grid of named two-way roads, every other one lit."""
    ids = np.arange(n * n).reshape(n, n) + 1
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for (r, c), nid in np.ndenumerate(ids):
        lines.append(
            f'<node id="{nid}" version="1" lat="{LAT0 + r * DEG:.7f}" lon="{lon0 + c * DEG:.7f}"/>'
        )
    lines_of_nodes = [*ids, *ids.T]
    for wid, refs in enumerate(lines_of_nodes, start=1):
        lines.append(f'<way id="{wid}" version="1">')
        lines += [f'<nd ref="{r}"/>' for r in refs]
        cls = "tertiary" if wid % 3 == 0 else "residential"
        lit = "yes" if wid % 2 else "no"
        lines += [f'<tag k="highway" v="{cls}"/>', f'<tag k="name" v="村道{wid}"/>']
        lines.append(f'<tag k="lit" v="{lit}"/></way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def osm(tmp_path) -> Path:
    """A small grid district."""
    return grid_osm(tmp_path / "district.osm")


def assert_same_network(got: RoadNetwork, want: RoadNetwork) -> None:
    """Assert two networks are equal in every array and table (source aside)."""
    pd.testing.assert_frame_equal(got.nodes, want.nodes)
    pd.testing.assert_frame_equal(got.edges, want.edges)
    np.testing.assert_array_equal(got.coords, want.coords)
    np.testing.assert_array_equal(got.offsets, want.offsets)
    np.testing.assert_array_equal(got.twin, want.twin)
    assert got.crs == want.crs
    assert got.dropped == want.dropped
    assert got.mode == want.mode


def array_region(data: bytes) -> tuple[int, int]:
    """Return where the arrays of a cache file start and end (after the JSON header)."""
    at = len(netcache._MAGIC) + netcache._DIGEST
    n = int.from_bytes(data[at : at + 8], "little")
    base = -(-(at + 8 + n) // netcache._ALIGN) * netcache._ALIGN
    return base, len(data)


def cached_file(cache: Path) -> Path:
    (f,) = cache.glob("*.net")
    return f


# --------------------------------------------------------------------------- checksum


@pytest.mark.parametrize("where", ["header", "first array byte", "middle of arrays", "last byte"])
def test_a_flipped_byte_is_detected_rebuilt_and_rewritten(osm, tmp_path, where):
    """A corrupt cache file yields the built network, says so, and is replaced by a good one."""
    cache = tmp_path / "cache"
    built = load_network(osm, cache_dir=cache)
    f = cached_file(cache)
    good = f.read_bytes()
    start, end = array_region(good)
    pos = {
        "header": len(netcache._MAGIC) + netcache._DIGEST + 20,
        "first array byte": start,
        "middle of arrays": (start + end) // 2,
        "last byte": end - 1,
    }[where]
    bad = bytearray(good)
    bad[pos] ^= 0x5A
    f.write_bytes(bytes(bad))

    said: list[str] = []
    again = load_network(osm, cache_dir=cache, progress=said.append)

    assert not again.source.from_cache
    assert_same_network(again, built)
    assert any("checksum mismatch" in m and "rebuilding" in m for m in said), said
    assert f.read_bytes() == good  # rewritten, and the rebuild writes the same bytes
    assert load_network(osm, cache_dir=cache).source.from_cache


def test_corrupt_lengths_never_reach_the_user(osm, tmp_path):
    """The issue's case: negated edge lengths in a structurally valid file are refused.

    Before checksums, such a file loaded as is and reported negative road km.
    """
    cache = tmp_path / "cache"
    built = load_network(osm, cache_dir=cache)
    f = cached_file(cache)
    data = bytearray(f.read_bytes())
    at = len(netcache._MAGIC) + netcache._DIGEST
    head = json.loads(data[at + 8 : at + 8 + int.from_bytes(data[at : at + 8], "little")])
    spec = head["arrays"]["edge_f"]
    rows, cols = spec["shape"]
    j = head["meta"]["edge_float"].index("length_m")
    start = array_region(bytes(data))[0] + spec["offset"]
    edge_f = np.frombuffer(data, dtype=spec["dtype"], count=rows * cols, offset=start)
    edge_f = edge_f.reshape(rows, cols).copy()
    edge_f[:, j] *= -1
    data[start : start + edge_f.nbytes] = edge_f.tobytes()
    f.write_bytes(bytes(data))

    again = load_network(osm, cache_dir=cache)
    assert not again.source.from_cache
    assert (again.edges["length_m"] > 0).all()
    assert_same_network(again, built)


@pytest.mark.parametrize("keep", [0, 10, 40, 200, "half", "all but one"])
def test_a_truncated_file_is_rebuilt(osm, tmp_path, keep):
    """A cache file cut short at any point is rebuilt, never raised or half-read."""
    cache = tmp_path / "cache"
    built = load_network(osm, cache_dir=cache)
    f = cached_file(cache)
    good = f.read_bytes()
    n = {"half": len(good) // 2, "all but one": len(good) - 1}.get(keep, keep)
    f.write_bytes(good[: int(n)])

    said: list[str] = []
    again = load_network(osm, cache_dir=cache, progress=said.append)
    assert not again.source.from_cache
    assert_same_network(again, built)
    assert any("unusable" in m for m in said), said
    assert f.read_bytes() == good


def test_a_file_of_the_old_format_is_rebuilt_in_place(osm, tmp_path):
    """A checksum-less file of the earlier layout, at the same name, is replaced."""
    cache = tmp_path / "cache"
    built = load_network(osm, cache_dir=cache)
    f = cached_file(cache)
    f.write_bytes(b"PINGAN-NETWORK\n" + f.read_bytes()[len(netcache._MAGIC) :])
    said: list[str] = []
    again = load_network(osm, cache_dir=cache, progress=said.append)
    assert not again.source.from_cache
    assert_same_network(again, built)
    assert any("not a network cache file of this format" in m for m in said), said
    assert [p.name for p in cache.glob("*.net")] == [f.name]


def test_a_consistent_checksum_over_nonsense_is_still_not_raised(osm, tmp_path):
    """A file whose checksum matches but whose codes are out of range is rebuilt.

    Only a writer bug can make one, but the cache is an optimisation and must never be
    the reason a load fails (this used to surface as an IndexError).
    """
    cache = tmp_path / "cache"
    built = load_network(osm, cache_dir=cache)
    f = cached_file(cache)
    meta, arrays = netcache._read_arrays(f)
    arrays = {k: np.array(v) for k, v in arrays.items()}
    arrays["edge_i"][:, -1] = 6510615553911030013  # a text-column code far out of range
    with f.open("wb") as fh:
        netcache._write_arrays(fh, meta, arrays)

    again = load_network(osm, cache_dir=cache)
    assert not again.source.from_cache
    assert_same_network(again, built)


# --------------------------------------------------------------------------- orphans


def tmp_name(sha24: str) -> str:
    """The name atomic_write gives the temporary file of a cache entry of ``sha24``."""
    return f".network-{sha24}-{'0' * 16}.net.k3x_9qz1.tmp"


def test_old_orphans_are_removed_and_fresh_ones_kept(osm, tmp_path):
    """Temporary files older than the threshold with no live writer go; others stay."""
    cache = tmp_path / "cache"
    cache.mkdir()
    old = cache / tmp_name("a" * 24)
    fresh = cache / tmp_name("b" * 24)
    foreign = cache / ".notes.txt.k3x_9qz1.tmp"  # not ours: never touched
    for f in (old, fresh, foreign):
        f.write_bytes(b"\0" * 4096)
    past = time.time() - 2 * netcache.STALE_TMP_S
    os.utime(old, (past, past))
    os.utime(foreign, (past, past))

    said: list[str] = []
    load_network(osm, cache_dir=cache, progress=said.append)
    assert not old.exists()
    assert fresh.exists()
    assert foreign.exists()
    assert any("removed 1 orphaned temporary cache file" in m for m in said), said


def test_an_old_temp_file_of_a_live_writer_is_kept(osm, tmp_path):
    """However old, a temporary file whose writer holds its build lock is not removed."""
    import fcntl

    cache = tmp_path / "cache"
    cache.mkdir()
    sha24 = "c" * 24
    busy = cache / tmp_name(sha24)
    busy.write_bytes(b"\0" * 4096)
    past = time.time() - 2 * netcache.STALE_TMP_S
    os.utime(busy, (past, past))
    # flock belongs to an open file description, so this descriptor stands in for
    # another process even within this one.
    with (cache / f"network-{sha24}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        load_network(osm, cache_dir=cache)
        assert busy.exists()
    load_network(osm, cache_dir=cache)
    assert not busy.exists()


CHILD_STUCK_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import geo.network.cache as cache
    from geo.network import load_network

    osm, folder, sync = sys.argv[1:]

    def stuck(f, meta, arrays):
        f.write(b"half a network")
        f.flush()
        (Path(sync) / "writing").touch()
        time.sleep(600)

    cache._write_arrays = stuck
    load_network(osm, cache_dir=folder)
    """
)


def test_kill_9_during_a_write_leaves_an_orphan_that_a_later_load_removes(osm, tmp_path):
    """A writer killed with SIGKILL mid-write: its file is kept while it lives, then removed."""
    cache, sync = tmp_path / "cache", tmp_path / "sync"
    sync.mkdir()
    other = grid_osm(tmp_path / "other.osm", lon0=LON0 + 0.1)  # another file, another lock
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_STUCK_WRITER, str(osm), str(cache), str(sync)], cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 120
        while not (sync / "writing").exists():
            assert child.poll() is None, "the writer exited before writing"
            assert time.monotonic() < deadline, "the writer never started writing"
            time.sleep(0.05)
        (tmp,) = cache.glob(".network-*.tmp")
        past = time.time() - 2 * netcache.STALE_TMP_S
        os.utime(tmp, (past, past))  # old, but its writer is alive
        load_network(other, cache_dir=cache)
        assert tmp.exists()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    said: list[str] = []
    load_network(other, cache_dir=cache, progress=said.append)
    assert not tmp.exists()
    assert any("removed 1 orphaned" in m for m in said), said
    # The killed writer's source builds and caches normally afterwards.
    assert not load_network(osm, cache_dir=cache).source.from_cache
    assert load_network(osm, cache_dir=cache).source.from_cache


# --------------------------------------------------------------------------- bad folders


def test_a_file_as_cache_dir_builds_without_the_cache(osm, tmp_path):
    """A cache folder that is a file: the load says caching is off and returns the build."""
    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("a file", encoding="utf-8")
    said: list[str] = []
    net = load_network(osm, cache_dir=not_a_dir, progress=said.append)
    assert_same_network(net, build_network(osm))
    assert not net.source.from_cache
    assert any("is a file, not a folder" in m and "without the cache" in m for m in said), said
    assert not_a_dir.read_text(encoding="utf-8") == "a file"


def test_a_cache_dir_below_a_file_builds_without_the_cache(osm, tmp_path):
    """A cache folder whose parent is a file cannot be created; the load goes on."""
    parent = tmp_path / "plain"
    parent.write_text("x", encoding="utf-8")
    said: list[str] = []
    net = load_network(osm, cache_dir=parent / "cache", progress=said.append)
    assert_same_network(net, build_network(osm))
    assert any("without the cache" in m for m in said), said


def test_a_folder_at_the_entry_path_builds_without_caching_it(osm, tmp_path):
    """A folder where the cache file should be is left alone, with no temporary file."""
    cache = tmp_path / "cache"
    cache.mkdir()
    entry = netcache._cache_path(cache, file_sha256(osm), BuildOptions())
    entry.mkdir()
    said: list[str] = []
    net = load_network(osm, cache_dir=cache, progress=said.append)
    assert_same_network(net, build_network(osm))
    assert entry.is_dir()
    assert not list(cache.glob(".*.tmp"))
    assert any("is not a file" in m for m in said), said


def test_a_failed_cache_write_does_not_fail_the_load(osm, tmp_path, monkeypatch):
    """A write error after a full build (a full disk, say) is reported, not raised."""

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    cache = tmp_path / "cache"
    monkeypatch.setattr(netcache, "_write_arrays", full_disk)
    said: list[str] = []
    net = load_network(osm, cache_dir=cache, progress=said.append)
    assert_same_network(net, build_network(osm))
    assert any("No space left on device" in m for m in said), said
    assert not list(cache.glob("*.net")) and not list(cache.glob(".*.tmp"))


def test_cli_network_build_with_a_file_as_cache_dir(osm, tmp_path, capsys):
    """``pingan network build --cache-dir FILE`` succeeds and prints why it did not cache."""
    from service.cli import main

    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("a file", encoding="utf-8")
    rc = main(["network", "build", "--osm", str(osm), "--cache-dir", str(not_a_dir)])
    assert rc == 0
    assert "continuing without the cache" in capsys.readouterr().err


# --------------------------------------------------------------------------- lock

CHILD_LOADER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import geo.network.cache as cache
    from geo.network import load_network

    osm, folder, sync, me, other = sys.argv[1:]
    sync = Path(sync)
    real = cache.build_networks

    def counted(*args, **kwargs):
        with (sync / "builds").open("a") as f:
            f.write(me + "\\n")
        # Build only once the other process is inside its load too, and give it time
        # to reach the lock: without one, it would build as well.
        while not (sync / f"loading-{other}").exists():
            time.sleep(0.01)
        time.sleep(1.0)
        return real(*args, **kwargs)

    cache.build_networks = counted
    (sync / f"ready-{me}").touch()
    while not (sync / "go").exists():
        time.sleep(0.005)
    said = []
    (sync / f"loading-{me}").touch()
    net = load_network(osm, cache_dir=folder, progress=said.append)
    print(json.dumps({
        "said": said,
        "from_cache": net.source.from_cache,
        "edges": len(net.edges),
        "km": float(net.edges["length_m"].sum()) / 1000,
    }))
    """
)


def test_two_concurrent_loads_build_once(osm, tmp_path):
    """Two processes loading one file at once: one builds, the other waits and reads it."""
    cache, sync = tmp_path / "cache", tmp_path / "sync"
    sync.mkdir()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD_LOADER, str(osm), str(cache), str(sync), me, other],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for me, other in (("a", "b"), ("b", "a"))
    ]
    try:
        deadline = time.monotonic() + 120
        while not all((sync / f"ready-{me}").exists() for me in "ab"):
            assert all(c.poll() is None for c in children), "a loader exited early"
            assert time.monotonic() < deadline, "the loaders never got ready"
            time.sleep(0.05)
        (sync / "go").touch()
        outs = [c.communicate(timeout=120)[0] for c in children]
    finally:
        for c in children:
            if c.poll() is None:
                c.kill()
                c.wait()
    assert [c.returncode for c in children] == [0, 0]
    results = [json.loads(out) for out in outs]
    builders = (sync / "builds").read_text().split()
    assert len(builders) == 1, builders
    waiter = results["ab".index("b" if builders == ["a"] else "a")]
    assert waiter["from_cache"]
    assert any("waiting for another process" in m for m in waiter["said"]), waiter["said"]
    assert any("built by another process" in m for m in waiter["said"]), waiter["said"]
    assert results[0]["edges"] == results[1]["edges"]
    assert results[0]["km"] == pytest.approx(results[1]["km"], rel=1e-12)
    assert_same_network(load_network(osm, cache_dir=cache), build_network(osm))


# --------------------------------------------------------------------------- source path


def test_a_renamed_copy_reports_its_own_path(osm, tmp_path):
    """A cache hit through a renamed copy names the copy, not the file first cached."""
    cache = tmp_path / "cache"
    first = load_network(osm, cache_dir=cache)
    copy = tmp_path / "elsewhere" / "copy.osm"
    copy.parent.mkdir()
    shutil.copyfile(osm, copy)
    hit = load_network(copy, cache_dir=cache)
    assert hit.source.from_cache
    assert hit.source.path == str(copy)
    assert hit.source.sha256 == first.source.sha256
    assert load_network(osm, cache_dir=cache).source.path == str(osm)
    assert_same_network(hit, first)


CHILD_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import geo.network.cache as cache
    from geo.network import load_network

    osm, folder, sync = sys.argv[1:]
    real = cache._write_arrays

    class Slow:
        # Writes in 1 KB pieces with a pause, so a kill lands mid-file, not only between.
        def __init__(self, f):
            self.f = f

        def write(self, data):
            view = memoryview(data).cast("B")
            for at in range(0, len(view), 1024):
                self.f.write(view[at : at + 1024])
                time.sleep(0.0005)
            return len(view)

        def __getattr__(self, name):
            return getattr(self.f, name)

    cache._write_arrays = lambda f, meta, arrays: real(Slow(f), meta, arrays)
    (Path(sync) / "started").touch()
    load_network(osm, cache_dir=folder)
    """
)


def test_a_build_killed_at_random_points_never_leaves_a_cache_that_loads_wrong(tmp_path):
    """kill -9 anywhere in a build and cache write: the next load is a fresh build's equal."""
    osm = grid_osm(tmp_path / "big.osm", n=40)
    want = build_network(osm)
    cache, sync = tmp_path / "cache", tmp_path / "sync"
    sync.mkdir()
    rng = np.random.default_rng(20261201)
    outcomes = []
    for delay in rng.uniform(0.0, 2.5, 6):
        (sync / "started").unlink(missing_ok=True)
        for entry in cache.glob("*.net"):
            entry.unlink()  # each trial kills a writer, not a reader of a finished cache
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD_SLOW_WRITER, str(osm), str(cache), str(sync)], cwd=ROOT
        )
        deadline = time.monotonic() + 120
        while not (sync / "started").exists():
            assert child.poll() is None, "the child exited before building"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(float(delay))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        partial = bool(list(cache.glob(".network-*.tmp")))
        outcomes.append("complete" if list(cache.glob("*.net")) else "partial" * partial)
        got = load_network(osm, cache_dir=cache)
        assert_same_network(got, want)
        assert load_network(osm, cache_dir=cache).source.from_cache
    # The random points did not all fall after the cache file was complete.
    assert outcomes.count("complete") < len(outcomes), outcomes
