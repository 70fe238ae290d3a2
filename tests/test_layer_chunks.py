"""Large CSV layers are read a block of rows at a time: the same layer, the same problems.

Every test reads one file twice, whole and in chunks of a few rows (``CHUNK_ROWS``
patched small), and demands identical frames or identical problem lists; plus the
``keep`` selection and the area's ``incident_hours``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import geo.layers.readers as readers
from geo.area import load_area
from geo.hotspots import in_hour_window
from geo.layers import check_layer, read_incidents, read_villages

HEADER = "id,time,category,severity,lon,lat"


def _rows(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(1, n + 1):
        hour, minute = rng.integers(0, 24), rng.integers(0, 60)
        cat = rng.choice(["Theft", "dispute", " TRAFFIC "])
        lon, lat = 114.39 + rng.normal(0, 0.01), 31.05 + rng.normal(0, 0.01)
        when = f"2025-03-{1 + i % 28:02d} {hour:02d}:{minute:02d}"
        out.append(f"I{i},{when},{cat},{i % 5},{lon:.6f},{lat:.6f}")
    return out


def _write(tmp_path: Path, lines: list[str], name: str = "inc.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _both(monkeypatch: pytest.MonkeyPatch, read: Any, *args: Any, **kw: Any) -> tuple[Any, Any]:
    """Return ``read(*args, **kw)`` whole, then in chunks of 7 rows."""
    monkeypatch.setattr(readers, "CHUNK_ROWS", 10**9)
    whole = read(*args, **kw)
    monkeypatch.setattr(readers, "CHUNK_ROWS", 7)
    return whole, read(*args, **kw)


def _same(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    assert a.crs == b.crs
    assert np.array_equal(a.geometry.x, b.geometry.x) and np.array_equal(a.geometry.y, b.geometry.y)
    assert a.attrs == b.attrs


def test_chunked_incidents_equal_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [HEADER, *_rows(50)]
    lines.insert(20, ",,,,,")  # a blank spreadsheet row inside the third chunk
    lines.insert(31, "")
    path = _write(tmp_path, lines)
    whole, chunked = _both(monkeypatch, read_incidents, path, to_crs=32650)
    assert len(whole) == 50
    _same(whole, chunked)
    # Categories are lower-cased and stripped as before, whatever chunk they fall in.
    assert set(chunked["category"]) == {"theft", "dispute", "traffic"}


def test_chunked_numbering_without_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same rows without their id and severity columns.
    rows = [r.split(",") for r in _rows(30)]
    lines = ["time,category,lon,lat"] + [",".join([t, c, x, y]) for _, t, c, _, x, y in rows]
    path = _write(tmp_path, lines)
    whole, chunked = _both(monkeypatch, read_incidents, path, to_crs=32650)
    assert chunked["id"].tolist() == [f"R{i}" for i in range(1, 31)]
    _same(whole, chunked)


def test_chunked_problems_equal_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [HEADER, *_rows(40)]
    lines[3] = "I3,2025-13-01 21:00,theft,1,114.39,31.05"  # bad month, first chunk
    lines[12] = "I12,2025-03-01 21:00,,1,114.39,31.05"  # empty category, second chunk
    lines[33] = "I5,2025-03-01 21:00,theft,x,114.39,31.05"  # repeats row 5's id, bad severity
    lines[38] = "I38,2025-03-01 21:00,theft,1,214.39,31.05"  # longitude out of range
    path = _write(tmp_path, lines)
    whole, chunked = _both(monkeypatch, check_layer, path, "incidents", to_crs=32650)
    assert whole == chunked
    assert [(p.row, p.column) for p in chunked] == [
        (3, "time"),
        (12, "category"),
        (33, "severity"),
        (33, "id"),
        (38, "lon"),
    ]
    dup = next(p for p in chunked if p.column == "id")
    assert "duplicate id 'I5' (also in row 5)" in dup.message


def test_chunked_malformed_record_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [HEADER, *_rows(30)]
    lines[26] += ",extra"  # in the fourth chunk
    path = _write(tmp_path, lines)
    whole, chunked = _both(monkeypatch, check_layer, path, "incidents", to_crs=32650)
    assert whole == chunked
    assert [p.row for p in chunked] == [26]
    assert "6 fields but the header has 5" not in chunked[0].message  # the header has 6
    assert "7 fields but the header has 6" in chunked[0].message


def test_chunked_villages_and_header_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [
        f"42011620{1 + i // 100}{200 + i % 100:03d},村{i},{100 + i},114.{39 + i % 9},31.05"
        for i in range(25)
    ]
    path = _write(tmp_path, ["code,name,households,lon,lat", *rows], "villages.csv")
    whole, chunked = _both(monkeypatch, read_villages, path, to_crs=32650)
    _same(whole, chunked)
    empty = _write(tmp_path, ["code,name,households,lon,lat"], "empty.csv")
    a, b = _both(monkeypatch, check_layer, empty, "villages", to_crs=32650)
    assert a == b and [p.message for p in b] == ["layer has no rows"]


def test_keep_selects_rows_but_checks_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [HEADER, *_rows(60, seed=3)]
    path = _write(tmp_path, lines)
    monkeypatch.setattr(readers, "CHUNK_ROWS", 9)
    full = read_incidents(path, to_crs=32650)

    def night(chunk: gpd.GeoDataFrame) -> np.ndarray:
        return in_hour_window(chunk["time"], (19, 6))

    kept = read_incidents(path, to_crs=32650, keep=night)
    expected = full[night(full)].reset_index(drop=True)
    assert 0 < len(kept) < len(full)
    _same(expected, kept)
    # A repeated id between two rows not kept, chunks apart, is still a problem of the file.
    day = np.flatnonzero(~night(full))
    first, again = int(day[0]) + 1, int(day[-1]) + 1  # data rows (line 0 is the header)
    assert again - first > 9
    lines[again] = lines[first]
    bad = _write(tmp_path, lines, "dup.csv")
    problems = check_layer(bad, "incidents", to_crs=32650, keep=night)
    ident = lines[first].split(",")[0]
    assert [(p.row, p.message) for p in problems] == [
        (again, f"duplicate id {ident!r} (also in row {first})")
    ]


def test_area_incident_hours(sample_full_area: Any, tmp_path: Path) -> None:
    from dataclasses import replace

    full = sample_full_area.incidents
    night = load_area(
        replace(sample_full_area.spec, modes=()), cache_dir=tmp_path, incident_hours=(19, 6)
    ).incidents
    assert full is not None and night is not None
    want = full[in_hour_window(full["time"], (19, 6))]
    assert night["id"].tolist() == want["id"].tolist()
    assert 0 < len(night) < len(full)


def test_cli_night_window_is_the_risk_default() -> None:
    from geo.lighting import RiskParams
    from service.night import NIGHT_HOURS

    p = RiskParams()
    assert (p.night_start_hour, p.night_end_hour) == NIGHT_HOURS
