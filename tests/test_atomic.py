"""Atomic writes: a failed write leaves the old file whole and no temporary file."""

from __future__ import annotations

import pytest

from geo.atomic import atomic_write, write_text


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "report.md"
    write_text(path, "old\n")
    with pytest.raises(RuntimeError, match="disk full"), atomic_write(path) as fh:
        fh.write("half of the new")
        raise RuntimeError("disk full")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_write_creates_folders_and_readable_files(tmp_path):
    path = write_text(tmp_path / "a" / "b" / "x.json", "{}\n")
    assert path.read_text(encoding="utf-8") == "{}\n"
    assert path.stat().st_mode & 0o777 == 0o644
    with atomic_write(tmp_path / "bin.dat", binary=True) as fh:
        fh.write(b"\x00\x01")
    assert (tmp_path / "bin.dat").read_bytes() == b"\x00\x01"
