"""Files the existing writers put in a folder, read back as stored artifacts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["MEDIA_TYPES", "frame_records", "media_type", "read_folder"]

#: Media types of the files the writers produce, by suffix.
MEDIA_TYPES: dict[str, str] = {
    ".gpx": "application/gpx+xml",
    ".geojson": "application/geo+json",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def media_type(name: str) -> str:
    """Return the media type of a file name (``application/octet-stream`` if unknown)."""
    return MEDIA_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


def read_folder(
    folder: Path, rename: Callable[[str], str] | None = None
) -> dict[str, tuple[str, bytes]]:
    """Return every file under ``folder`` as ``{relative name: (media type, bytes)}``."""
    out: dict[str, tuple[str, bytes]] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            name = p.relative_to(folder).as_posix()
            if rename is not None:
                name = rename(name)
            out[name] = (media_type(name), p.read_bytes())
    return out


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return a table as JSON-ready rows (no geometry; NaN as null; times as ISO text)."""
    plain = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    rows: list[dict[str, Any]] = json.loads(
        plain.to_json(orient="records", date_format="iso", force_ascii=False)
    )
    return rows
