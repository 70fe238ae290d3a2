"""The embedded store survives a killed writer: the file stays whole, the half-write vanishes.

A subprocess writes a large layer and is SIGKILLed in the middle of the transaction
(after some batches of features are inserted, and SQLite may have spilled them into
the WAL); the next open must pass ``PRAGMA integrity_check`` and hold exactly the
state before that write.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from service.store import open_store
from service.store.sql import SqlStore

ROOT = Path(__file__).resolve().parents[1]

WRITER = textwrap.dedent(
    """
    import sys
    import geopandas as gpd
    import numpy as np
    from service.store import open_store
    from service.store.sql import SqlStore

    SqlStore.BATCH = 1000
    encode = SqlStore._encode_geometries
    batches = [0]

    def counting(self, geoms):
        batches[0] += 1
        print(f"batch {batches[0]}", flush=True)
        return encode(self, geoms)

    SqlStore._encode_geometries = counting
    store = open_store(sys.argv[1])
    n = 200_000
    rng = np.random.default_rng(7)
    frame = gpd.GeoDataFrame(
        {"name": [f"事件{i}" for i in range(n)], "n": np.arange(n), "pad": ["x" * 200] * n},
        geometry=gpd.points_from_xy(110 + rng.random(n), 30 + rng.random(n)),
        crs=4326,
    )
    store.put_layer("big", "incidents", frame, source="big.csv", user_id="U1")
    print("committed", flush=True)
    """
)

AUDITOR = textwrap.dedent(
    """
    import sys
    from service.store import open_store

    store = open_store(sys.argv[1])
    for i in range(1_000_000):
        store.audit(None, "crash.test", f"entry {i}")
        print(i + 1, flush=True)
    """
)


def _before() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["甲村", "乙村", "丙村"], "population": [120, 80, 45]},
        geometry=[Point(110.1, 30.1), Point(110.2, 30.3), Point(110.4, 30.2)],
        crs=4326,
    )


def _spawn(script: str, path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def _kill_after(proc: subprocess.Popen[str], line: str) -> list[str]:
    """Read the child's lines until ``line``, SIGKILL it; return all it printed before dying."""
    seen: list[str] = []
    assert proc.stdout is not None and proc.stderr is not None
    with proc:
        for got in proc.stdout:
            seen.append(got.strip())
            if got.strip() == line:
                proc.send_signal(signal.SIGKILL)
                break
        # What it printed between our read and the kill is still in the pipe.
        seen.extend(rest.strip() for rest in proc.stdout)
        err = proc.stderr.read()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, (
        f"the writer was not killed mid-write (exit {proc.returncode}); it printed"
        f" {seen[-3:]}; stderr: {err[-2000:]}"
    )
    return seen


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as c:
        return str(c.execute("PRAGMA integrity_check").fetchone()[0])


def test_killed_layer_write_leaves_the_state_before_it(tmp_path):
    """SIGKILL in the middle of put_layer: integrity ok, the earlier layer whole, no new one."""
    path = tmp_path / "pingan.gpkg"
    store = open_store(path)
    before = store.put_layer("before", "villages", _before(), source="v.csv", user_id="U1")
    store.close()
    wal_before = path.with_name(path.name + "-wal")

    seen = _kill_after(_spawn(WRITER, path), "batch 60")
    assert "committed" not in seen
    assert wal_before.exists(), "the killed writer left its WAL behind (the case to recover)"

    store = open_store(path)
    try:
        assert _integrity(path) == "ok"
        assert store.list_layers() == [before]
        back = store.read_layer(before.id)
        assert back["name"].tolist() == ["甲村", "乙村", "丙村"]
        assert back["population"].tolist() == [120, 80, 45]
        assert back.geometry.geom_equals_exact(_before().geometry, 0).all()
        with sqlite3.connect(path) as c:
            assert c.execute("SELECT count(*) FROM layer_features").fetchone()[0] == 3
        again = store.put_layer("big", "incidents", _before(), source="b.csv", user_id="U1")
        assert again.features == 3, "the killed write holds no name"
    finally:
        store.close()


def test_killed_writer_keeps_every_committed_write(tmp_path):
    """Every audit entry the child saw committed is there after the kill (synchronous FULL)."""
    path = tmp_path / "pingan.gpkg"
    open_store(path).close()
    seen = _kill_after(_spawn(AUDITOR, path), "200")
    committed = int(seen[-1])  # the last commit it reported
    store = open_store(path)
    try:
        assert _integrity(path) == "ok"
        stored = len(store.audit_log(limit=10_000))
        # The kill may land after a commit and before its print: at most one more.
        assert committed <= stored <= committed + 1
    finally:
        store.close()


def test_write_that_raises_leaves_nothing(tmp_path, monkeypatch):
    """An exception in the middle of put_layer (batch 3 of 5) rolls everything back."""
    path = tmp_path / "pingan.gpkg"
    store = open_store(path)
    before = store.put_layer("before", "villages", _before(), source="v.csv", user_id="U1")
    monkeypatch.setattr(SqlStore, "BATCH", 100)
    encode = SqlStore._encode_geometries
    calls = [0]

    def failing(self: SqlStore, geoms: np.ndarray) -> list[object]:
        calls[0] += 1
        if calls[0] == 3:
            raise RuntimeError("disk on fire")
        return encode(self, geoms)

    monkeypatch.setattr(SqlStore, "_encode_geometries", failing)
    n = 500
    frame = gpd.GeoDataFrame(
        {"n": np.arange(n)},
        geometry=gpd.points_from_xy(np.full(n, 110.0), np.full(n, 30.0)),
        crs=4326,
    )
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.put_layer("half", "incidents", frame, source="h.csv", user_id="U1")
    try:
        assert calls[0] == 3
        assert store.list_layers() == [before]
        assert _integrity(path) == "ok"
        with sqlite3.connect(path) as c:
            assert c.execute("SELECT count(*) FROM layer_features").fetchone()[0] == 3
            assert c.execute("SELECT count(*) FROM layers").fetchone()[0] == 1
    finally:
        store.close()
