"""Read a layer file into a raw table: every attribute as stripped text, plus geometry.

CSV files are decoded here (UTF-8, UTF-8 with BOM or GB18030, strictly) and vector files
(GeoJSON, GeoPackage, Shapefile, zipped or not) read through pyogrio. Nothing is
interpreted yet: :mod:`geo.layers.columns` and :mod:`geo.layers.placement` do that.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from os import PathLike, fspath
from pathlib import Path
from typing import Any, Final, TypeAlias

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import pyogrio.errors
import pyogrio.raw
import pyproj
import shapely

from geo.layers.report import MAX_PROBLEMS, Report

__all__ = ["CHUNK_ROWS", "PathArg", "Source", "read_chunks", "read_source"]

PathArg: TypeAlias = str | PathLike[str]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
GeomArray: TypeAlias = npt.NDArray[np.object_]

_CSV_SUFFIXES: Final = (".csv", ".csv.gz")
_VECTOR_SUFFIXES: Final = (".geojson", ".json", ".gpkg", ".shp", ".zip")
# Only shapefiles carry a legacy code page; GeoJSON and GeoPackage are always UTF-8.
_ENCODING_AWARE: Final = (".shp", ".zip")
_AUTO_ENCODINGS: Final = ("utf-8-sig", "gb18030")
_UTF8_BOM: Final = codecs.BOM_UTF8
# More NULs than this share of its characters (or one in the header): the "CSV" is
# UTF-16 or binary; fewer are damaged cells, reported one by one.
_MAX_NUL_SHARE: Final = 0.1
#: CSV records parsed and checked at a time by :func:`read_chunks`: a table of text
#: holds a Python string per cell, so millions of rows are read a block at a time.
CHUNK_ROWS: Final = 200_000


@dataclass
class Source:
    """A file's attribute table as text, plus its geometry and CRS for vector formats."""

    table: pd.DataFrame
    rows: IntArray
    vector: bool
    geometry: GeomArray | None = None
    stored_crs: pyproj.CRS | None = None
    encoding: str | None = None  # the text encoding that read the file (None: binary format)
    broken: BoolArray | None = None  # features whose stored geometry could not be built


def _suffix(name: str) -> str:
    lower = name.lower()
    for suffix in _CSV_SUFFIXES + _VECTOR_SUFFIXES:
        if lower.endswith(suffix):
            return suffix
    return Path(lower).suffix


def _check_encoding(encoding: str | None, report: Report) -> bool:
    if encoding is None:
        return True
    try:
        codecs.lookup(encoding)
    except LookupError:
        report.add(
            f"unknown encoding {encoding!r}; --encoding takes a codec name such as "
            "utf-8, gbk, gb18030 or big5"
        )
        return False
    return True


def _is_utf8(name: str) -> bool:
    return codecs.lookup(name).name in ("utf-8", "utf-8-sig")


def _decode(data: bytes, encoding: str | None, report: Report) -> tuple[str, str] | None:
    """Decode strictly with the given encoding, or each automatic one in turn.

    A UTF-8 byte-order mark is dropped before any other codec: some editors put one in
    front of GBK text, which would otherwise read as mojibake ("锘縞ode") or not at all.
    """
    tried = (encoding,) if encoding is not None else _AUTO_ENCODINGS
    bom = data.startswith(_UTF8_BOM)
    for name in tried:
        body = data[len(_UTF8_BOM) :] if bom and not _is_utf8(name) else data
        try:
            # Strict decoding: a wrong guess must fail loudly, not produce mojibake.
            return body.decode(name, errors="strict"), name
        except UnicodeDecodeError:
            continue
    why = "it starts with a UTF-8 byte-order mark, but the rest is no text in " if bom else "tried "
    report.add(
        f"cannot decode the file as text ({why}{', '.join(tried)}); give its encoding "
        "with --encoding, e.g. --encoding gbk"
    )
    return None


def _nul_problem(text: str, report: Report) -> bool:
    """Report a file that is mostly NULs (UTF-16 or binary); True if it is one."""
    nuls = text.count("\0")
    if not nuls:
        return False
    header = text.split("\n", 1)[0]
    if "\0" in header or nuls > _MAX_NUL_SHARE * len(text):
        report.add(
            f"the file holds {nuls:,} NUL characters: it is binary or UTF-16 text, not a "
            "CSV; save it as UTF-8 CSV, or give --encoding utf-16 if it is UTF-16"
        )
        return True
    return False


def _field_counts(text: str) -> list[int]:
    """Return the number of fields of each record (the header first), as csv reads them."""
    return [len(record) for record in csv.reader(io.StringIO(text, newline=""))]


def _ragged_rows(text: str, report: Report) -> bool:
    """Report every record with more fields than the header; True if there is one.

    pandas either stops at the first such record or, when it is the first data row,
    silently takes the first column as an index and shifts every name one column to the
    left, so the records are counted here instead (only when something is off).
    """
    try:
        counts = _field_counts(text)
    except csv.Error:
        return False
    if not counts:
        return False
    width = counts[0]
    extra = [(row, n) for row, n in enumerate(counts[1:], start=1) if n > width]
    for row, n in extra[:MAX_PROBLEMS]:
        report.add(
            f"malformed CSV: the record has {n} fields but the header has {width}; an "
            "unquoted delimiter (a comma inside a name or a trailing comma) shifts the "
            "columns of this row",
            row=row,
        )
    report.total += max(0, len(extra) - MAX_PROBLEMS)
    return bool(extra)


def _read_csv(
    local: Path, encoding: str | None, report: Report, chunk_rows: int | None
) -> Iterator[Source] | None:
    """Check a CSV file's text, then parse it ``chunk_rows`` records at a time.

    The whole text is decoded (strictly) and checked first, so a wrong encoding fails
    before any row is read; parsing then goes from UTF-8 bytes in chunks, as a table of
    text costs about 60 bytes a cell and an in-memory text stream four bytes a character:
    for millions of rows that, not the file, is what fills the memory.
    """
    try:
        data = local.read_bytes()
    except OSError as exc:
        report.add(f"cannot read the file: {exc.strerror or exc}")
        return None
    if local.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            report.add(f"not a valid gzip file: {exc}")
            return None
    decoded = _decode(data, encoding, report)
    if decoded is None:
        return None
    text, used = decoded
    if _nul_problem(text, report):
        return None
    if _is_utf8(used):
        body = data[len(_UTF8_BOM) :] if data.startswith(_UTF8_BOM) else data
    else:
        body = text.encode("utf-8")
    del text, data
    try:
        # dtype=str keeps codes such as "420114200201" and leading zeros intact;
        # keep_default_na=False keeps a village called "NA" a name, not a gap.
        parsed = pd.read_csv(
            io.BytesIO(body),
            dtype=str,
            encoding="utf-8",
            keep_default_na=False,
            skip_blank_lines=False,
            chunksize=chunk_rows,
        )
    except pd.errors.EmptyDataError:
        report.add("file is empty (no header line)")
        return None
    except pd.errors.ParserError as exc:
        _parser_problem(body, exc, report)
        return None
    reader = iter([parsed]) if isinstance(parsed, pd.DataFrame) else iter(parsed)
    return _csv_chunks(reader, body, used, report)


def _csv_chunks(
    reader: Iterator[pd.DataFrame], body: bytes, used: str, report: Report
) -> Iterator[Source]:
    """Yield the chunks of a CSV as stripped text; report and stop at a malformed record."""
    while True:
        try:
            table = next(reader)
        except StopIteration:
            return
        except pd.errors.ParserError as exc:
            _parser_problem(body, exc, report)
            return
        if not isinstance(table.index, pd.RangeIndex):
            # More fields in the first record than in the header: pandas made the extra
            # leading column(s) the index. Name the rows rather than read shifted columns.
            if not _ragged_rows(body.decode("utf-8"), report):
                report.add("malformed CSV: the first record has more fields than the header", row=1)
            return
        rows = table.index.to_numpy(dtype=np.int64) + 1
        table = table.reset_index(drop=True)
        table.columns = pd.Index([str(c).lstrip("\ufeff").strip() for c in table.columns])
        table = pd.DataFrame(
            {c: table[c].fillna("").astype("str").str.strip() for c in table.columns},
            index=pd.RangeIndex(len(table)),
        )
        # Spreadsheet exports often end with ",,,," lines; skip them but keep row numbers.
        keep = (table != "").any(axis=1).to_numpy() if len(table.columns) else rows > 0
        yield Source(
            table=table[keep].reset_index(drop=True), rows=rows[keep], vector=False, encoding=used
        )


def _parser_problem(body: bytes, exc: pd.errors.ParserError, report: Report) -> None:
    if not _ragged_rows(body.decode("utf-8"), report):
        line = re.search(r"line (\d+)", str(exc))
        row = int(line.group(1)) - 1 if line else None
        report.add(f"malformed CSV: {exc}".strip(), row=row)


def _as_text(values: pd.Series[Any]) -> pd.Series[str]:
    """Return ``values`` as stripped strings, "" for missing; whole floats lose ".0"."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_integer_dtype(values):
        text = values.astype("str")
    elif pd.api.types.is_float_dtype(values):
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        # Vector formats may store codes as numbers; 420114200201.0 must read "420114200201".
        whole = np.isfinite(arr) & (np.abs(arr) < 2.0**53)
        whole[whole] = arr[whole] == np.round(arr[whole])
        text = values.astype("str")
        text[whole] = pd.Series(arr[whole].astype(np.int64), dtype="int64").astype("str").to_numpy()
    else:
        text = values.astype("str").where(values.notna())
    return text.fillna("").str.strip().astype("str")


def _read_vector(
    path: str, suffix: str, encoding: str | None, layer: str | None, report: Report
) -> Source | None:
    try:
        if layer is None:
            layers = pyogrio.list_layers(path)
            if len(layers) > 1:
                names = ", ".join(str(n) for n in layers[:, 0])
                report.add(
                    f"file has {len(layers)} layers ({names}); pass layer= (--layer in "
                    "pingan layers check, layer in an area file)"
                )
                return None
        with warnings.catch_warnings():
            # GDAL notes GeoPackage times with a "+08:00" offset (which geopandas itself
            # writes) as "non-conformant ... successfully parsed": nothing is lost.
            warnings.filterwarnings("ignore", "Non-conformant content", RuntimeWarning)
            # An unclosed ring is reported per feature below, from the geometry itself.
            warnings.filterwarnings("ignore", "Non closed ring", RuntimeWarning)
            frame = pyogrio.read_dataframe(
                path,
                layer=layer,
                encoding=encoding if suffix in _ENCODING_AWARE else None,
                # Strings keep offsets such as "+08:00" for the incident time parser.
                datetime_as_string=True,
                # A feature GEOS cannot build (a ring that does not close) becomes None
                # here and a problem of its row below, not an exception for the file.
                on_invalid="ignore",
            )
    except pyogrio.errors.DataLayerError as exc:
        message = f"cannot read layer {layer!r}: {exc}"
        if layer is not None:
            with contextlib.suppress(pyogrio.errors.DataSourceError):
                names = ", ".join(str(n) for n in pyogrio.list_layers(path)[:, 0])
                message = f"file has no layer {layer!r}; its layers are: {names}"
        report.add(message)
        return None
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError,
    ) as exc:
        report.add(f"cannot read the file: {exc}")
        return None
    geometry: GeomArray | None = None
    stored: pyproj.CRS | None = None
    broken: BoolArray | None = None
    if isinstance(frame, gpd.GeoDataFrame):
        geometry = np.asarray(frame.geometry.array, dtype=object)
        stored = None if frame.crs is None else pyproj.CRS(frame.crs)
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        broken = _broken_geometries(path, layer, geometry, report)
    frame = frame.reset_index(drop=True)
    table = pd.DataFrame({str(c).strip(): _as_text(frame[c]) for c in frame.columns})
    table.index = pd.RangeIndex(len(frame))
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    return Source(
        table=table, rows=rows, vector=True, geometry=geometry, stored_crs=stored, broken=broken
    )


def _broken_geometries(
    path: str, layer: str | None, geometry: GeomArray, report: Report
) -> BoolArray:
    """Report the features whose stored geometry GEOS refused; return their mask.

    They were read as None, like features without a geometry; only the raw WKB tells the
    two apart, so it is read again (geometry only) when there is any None at all.
    """
    broken = np.zeros(len(geometry), dtype=bool)
    missing = shapely.is_missing(geometry)
    if not missing.any():
        return broken
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Non closed ring", RuntimeWarning)
        wkb = pyogrio.raw.read(path, layer=layer, columns=[])[2]
    if wkb is None or len(wkb) != len(geometry):
        return broken
    broken = missing & np.fromiter((w is not None for w in wkb), dtype=bool, count=len(wkb))
    positions = np.flatnonzero(broken)
    for pos in positions[:MAX_PROBLEMS].tolist():
        report.add(_broken_message(wkb[pos]), row=pos + 1, column="geometry")
    report.total += max(0, positions.size - MAX_PROBLEMS)
    return broken


def _broken_message(wkb: bytes) -> str:
    """Say why GEOS cannot build one stored geometry, and how to repair it."""
    try:
        shapely.from_wkb(wkb)
    except shapely.errors.GEOSException as exc:
        reason = str(exc).split(": ", 1)[-1]
    else:  # pragma: no cover - GEOS refused it a moment ago
        reason = "GEOS cannot build it"
    if "closed" in reason:
        hint = "a polygon's ring must end at the point where it starts"
    else:
        hint = "repair it in a GIS (e.g. QGIS: Fix geometries)"
    return f"geometry cannot be read ({reason}); {hint}"


def read_source(
    path: PathArg, encoding: str | None, layer: str | None, report: Report
) -> Source | None:
    """Read a local CSV or vector file whole, as text; None (problems reported) if it fails.

    As :func:`read_chunks`, with the file as one chunk.
    """
    chunks = read_chunks(path, encoding, layer, report, chunk_rows=None)
    if chunks is None:
        return None
    parts = list(chunks)
    return parts[0] if len(parts) == 1 and not report.total else None


def read_chunks(
    path: PathArg,
    encoding: str | None,
    layer: str | None,
    report: Report,
    *,
    chunk_rows: int | None = CHUNK_ROWS,
) -> Iterator[Source] | None:
    """Read a local CSV or vector file as text, a block of rows at a time.

    Parameters
    ----------
    path
        A local file, or ``zip://archive.zip!inner.shp``; URLs are refused.
    encoding
        Text encoding of a CSV or a shapefile's DBF; None tries UTF-8, then GB18030.
    layer
        Layer name inside a multi-layer file; None requires a single-layer file.
    report
        Collects every problem found.
    chunk_rows
        CSV records per chunk (None: the whole file as one); a vector file is always
        one chunk.

    Returns
    -------
    iterator of Source, or None
        None when the file cannot be read at all. Otherwise the chunks in file order,
        with blank CSV rows dropped and ``rows`` the others' 1-based row numbers in the
        file; a malformed record met on the way is reported and ends the iteration.
    """
    name = fspath(path)
    local_name = name
    if name.startswith("zip://"):
        # zip://archive.zip!inner/file.shp: the archive must exist locally.
        local_name = name.removeprefix("zip://").split("!", 1)[0]
        suffix = ".zip"
    elif re.match(r"^[a-z][a-z0-9+.-]*://", name, flags=re.IGNORECASE):
        report.add("only local files (or zip://) can be read; geo/ does no network access")
        return None
    else:
        suffix = _suffix(name)
    supported = _CSV_SUFFIXES + _VECTOR_SUFFIXES
    if suffix not in supported:
        shown = suffix or "(none)"
        report.add(
            f"unsupported file type {shown!r}; expected one of {', '.join(supported)} "
            "or zip://archive.zip!file.shp"
        )
        return None
    local = Path(local_name)
    if not local.is_file():
        report.add("file does not exist" if not local.exists() else "path is not a file")
        return None
    if not _check_encoding(encoding, report):
        return None
    if suffix in _CSV_SUFFIXES:
        return _read_csv(local, encoding, report, chunk_rows)
    source = _read_vector(name, suffix, encoding, layer, report)
    return None if source is None else iter([source])
