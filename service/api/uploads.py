"""Uploaded files: a safe name, the type from the content, the layer through the product's readers.

A client names its file; that name is only ever shown back, never used as a path
(``../../etc/passwd`` becomes ``etc_passwd``). The bytes are written under a fresh
temporary folder with a generated name, and the type is told by the content (the
GeoPackage's SQLite header, GeoJSON's object, text that decodes as UTF-8 or
GBK/GB18030), not by the extension a client chose. Layers of a known kind go through
the same readers as ``pingan layers check``, so an upload is refused for exactly what
the command line refuses, naming the row and column.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import tempfile
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal, get_args

import geopandas as gpd
import pandas as pd

from geo.errors import LayerError, Problem
from geo.layers import read_layer
from geo.layers.kinds import LayerKind
from service.api.errors import ApiError, FieldProblem

__all__ = [
    "LAYER_KINDS",
    "FileType",
    "OsmType",
    "UploadKind",
    "read_upload_layer",
    "safe_name",
    "save_upload",
    "sniff_layer",
    "sniff_osm",
]

FileType = Literal["geojson", "csv", "gpkg"]
OsmType = Literal["osm", "pbf", "bz2", "gz"]
UploadKind = Literal[
    "villages", "stations", "teams", "incidents", "groups", "boundaries", "officers", "other"
]
LAYER_KINDS: Final[tuple[str, ...]] = get_args(UploadKind)

_SQLITE: Final = b"SQLite format 3\x00"
_GEOJSON_TYPES: Final = frozenset(
    {
        "FeatureCollection",
        "Feature",
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    }
)
_SUFFIX: Final[dict[str, str]] = {"geojson": ".geojson", "csv": ".csv", "gpkg": ".gpkg"}
_OSM_SUFFIX: Final[dict[str, str]] = {
    "osm": ".osm",
    "pbf": ".osm.pbf",
    "bz2": ".osm.bz2",
    "gz": ".osm.gz",
}
_CHUNK: Final = 1 << 20
_UNSAFE = re.compile(r"[^\w.\-]+")


def safe_name(filename: str | None, default: str = "upload") -> str:
    r"""Return a file name fit to show and store: its last part, word characters only.

    Directory parts (``/`` and ``\``), control characters, leading dots and anything
    but letters, digits, ``.``, ``-`` and ``_`` are dropped or replaced, so the name
    can never point elsewhere; Chinese names are kept.
    """
    text = unicodedata.normalize("NFC", filename or "")
    parts = [p for p in re.split(r"[/\\]+", text) if p not in ("", ".", "..")]
    # The parts joined: "../../etc/passwd" reads "etc_passwd", which says what was sent.
    name = _UNSAFE.sub("_", "_".join(parts)).strip("._")
    return name[:120] or default


def _decodes(data: bytes) -> str | None:
    """Return the codec that decodes ``data`` strictly (UTF-8 first, then GB18030)."""
    for codec in ("utf-8-sig", "gb18030"):
        try:
            data.decode(codec)
        except UnicodeDecodeError:
            continue
        return codec
    return None


def sniff_layer(data: bytes, name: str) -> FileType:
    """Tell a GeoPackage, GeoJSON or CSV file by its content; 400 naming the file otherwise."""
    if data.startswith(_SQLITE):
        return "gpkg"
    codec = _decodes(data)
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        if codec is None:
            raise ApiError(400, f"{name}: a GeoJSON file must be UTF-8 text")
        try:
            obj = json.loads(data.decode(codec))
        except ValueError as exc:
            raise ApiError(400, f"{name}: not valid GeoJSON ({exc})") from None
        if not isinstance(obj, dict) or obj.get("type") not in _GEOJSON_TYPES:
            raise ApiError(400, f"{name}: JSON, but not GeoJSON (no FeatureCollection type)")
        return "geojson"
    if b"\x00" in data[:65536] or not data.strip():
        raise ApiError(400, f"{name}: not a GeoJSON/CSV/GeoPackage file")
    if codec is None:
        raise ApiError(
            400,
            f"{name}: the text is neither UTF-8 (with or without BOM) nor GBK/GB18030; "
            "save it in one of those encodings",
        )
    first = data.decode(codec).splitlines()[0]
    if not any(sep in first for sep in (",", "\t", ";")):
        raise ApiError(400, f"{name}: not a GeoJSON/CSV/GeoPackage file (no CSV header line)")
    return "csv"


def sniff_osm(head: bytes, name: str) -> OsmType:
    """Tell an OSM XML, PBF, bzip2 or gzip file by its first bytes; 400 naming the file."""
    if head.startswith(b"BZh"):
        return "bz2"
    if head.startswith(b"\x1f\x8b"):
        return "gz"
    # A PBF starts with a 4-byte header length, then a BlobHeader of type "OSMHeader".
    if b"OSMHeader" in head[:32]:
        return "pbf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<?xml") and b"<osm" in head or text.startswith(b"<osm"):
        return "osm"
    raise ApiError(400, f"{name}: not an OSM file (.osm XML, .osm.pbf, .osm.bz2 or .osm.gz)")


def save_upload(source: BinaryIO, folder: Path, name: str) -> tuple[Path, OsmType]:
    """Copy an uploaded OSM file into ``folder`` under a generated name; return it and its type.

    The file is written beside its final name and renamed when complete, so a broken
    upload leaves nothing a build could pick up.
    """
    head = source.read(4096)
    kind = sniff_osm(head, name)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{uuid.uuid4().hex}{_OSM_SUFFIX[kind]}"
    part = final.with_name(final.name + ".part")
    try:
        with part.open("wb") as out:
            out.write(head)
            shutil.copyfileobj(source, out, _CHUNK)
        part.replace(final)
    finally:
        part.unlink(missing_ok=True)
    return final, kind


@contextmanager
def _temp_file(data: bytes, suffix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pingan-upload-") as tmp:
        path = Path(tmp) / f"{uuid.uuid4().hex}{suffix}"
        path.write_bytes(data)
        yield path


def _problems(exc: LayerError, shown: str, hidden: str) -> ApiError:
    """Return the 422 of a layer's problems, naming the uploaded file, not the temp path."""
    fixed = [
        dataclasses.replace(p, file=shown) if isinstance(p, Problem) else p for p in exc.problems
    ]
    errors = []
    for p in fixed:
        loc: list[str | int] = ["file", shown]
        if p.row is not None:
            loc += ["row", p.row]
        if p.column is not None:
            loc += ["column", p.column]
        errors.append(FieldProblem(loc=loc, msg=p.message.replace(hidden, shown)))
    lines = [str(p).replace(hidden, shown) for p in fixed[:10]]
    if len(fixed) > 10:
        lines.append(f"... and {len(fixed) - 10} more problem(s)")
    return ApiError(422, "\n".join(lines) or f"{shown}: not a valid layer", errors=errors)


def _read_other(path: Path, ftype: FileType, shown: str, **kw: Any) -> gpd.GeoDataFrame:
    """Read a layer of no known kind: any vector file, or a CSV with lon/lat (or x/y)."""
    if ftype != "csv":
        try:
            return gpd.read_file(path, layer=kw.get("layer"))
        except Exception as exc:  # pyogrio's errors name no public type
            why = str(exc).replace(str(path), shown)
            raise ApiError(422, f"{shown}: cannot read the features ({why})") from None
    codec = _decodes(path.read_bytes()) or "utf-8"
    try:
        table = pd.read_csv(path, encoding=codec, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ApiError(422, f"{shown}: not a readable CSV table ({exc})") from None
    lower = {str(c).strip().lower(): c for c in table.columns}
    for x, y in (("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"), ("x", "y")):
        if x in lower and y in lower:
            lon = pd.to_numeric(table[lower[x]], errors="coerce")
            lat = pd.to_numeric(table[lower[y]], errors="coerce")
            bad = lon.isna() | lat.isna()
            if bad.any():
                row = int(bad.to_numpy().argmax()) + 1
                msg = f"{shown}, row {row}: {lower[x]}/{lower[y]} is not a number"
                raise ApiError(
                    422,
                    msg,
                    errors=[FieldProblem(loc=["file", shown, "row", row], msg=msg)],
                )
            return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    msg = f"{shown}: a CSV layer needs lon/lat (or x/y) columns; found {list(table.columns)}"
    raise ApiError(422, msg)


def read_upload_layer(
    data: bytes,
    filename: str | None,
    kind: str,
    *,
    crs: str | None = None,
    layer: str | None = None,
) -> tuple[gpd.GeoDataFrame, str, FileType]:
    """Check and read an uploaded layer; return the frame, the shown name and the file type.

    Raises
    ------
    ApiError
        400 for a file that is not GeoJSON, CSV or GeoPackage, or text in another
        encoding; 422 for a layer the readers refuse, each problem located by row and
        column of the uploaded file.
    """
    shown = safe_name(filename)
    ftype = sniff_layer(data, shown)
    with _temp_file(data, _SUFFIX[ftype]) as path:
        kw: dict[str, Any] = {}
        if crs:
            kw["crs"] = crs
        if layer:
            kw["layer"] = layer
        if kind == "other":
            frame = _read_other(path, ftype, shown, **kw)
        else:
            try:
                frame = read_layer(path, kind_of(kind), **kw)
            except LayerError as exc:
                raise _problems(exc, shown, str(path)) from None
    if not len(frame):
        raise ApiError(422, f"{shown}: the file holds no features")
    return frame, shown, ftype


def kind_of(kind: str) -> LayerKind:
    """Return ``kind`` as a reader's layer kind (the upload kinds but "other")."""
    if kind not in get_args(LayerKind):
        msg = f"no reader for layer kind {kind!r}"
        raise ApiError(422, msg)
    return kind  # type: ignore[return-value]
