"""Read and validate the four input layers: villages, incidents, stations and teams.

Every reader returns a :class:`geopandas.GeoDataFrame` in a *working* metric CRS with a
fixed column schema, plus WGS84 ``lon``/``lat`` columns for output. Nothing is returned
half-loaded: all problems in a file are collected first and raised together as one
:class:`~geo.errors.LayerError` (or returned as a list by :func:`check_layer`).

Formats
-------
CSV (``.csv``, ``.csv.gz``; UTF-8, UTF-8 with BOM or GBK/GB18030, auto-detected) with
coordinate columns ``lon``/``lat`` (also ``longitude``/``latitude``, ``lng``, ``经度``/``纬度``)
or ``x``/``y``; GeoJSON (``.geojson``, ``.json``), GeoPackage (``.gpkg``) and Shapefile
(``.shp``, a zipped shapefile ``.zip`` or ``zip://archive.zip!inner.shp``).

Rows
----
Problems name a 1-based data row. In a CSV, row 1 is the first record after the header
line (blank lines count, so for files without multi-line quoted cells row N is line
N + 1); in a vector file, row N is the N-th feature.

Coordinates
-----------
``crs`` is the CRS the input coordinates are declared in; ``to_crs`` the working CRS
(projected; default the UTM zone of the layer's points). GCJ-02 and BD-09 input goes
through :func:`geo.coords.to_wgs84`; every layer passes through WGS84 (``lon``/``lat``)
on its way to the working CRS. In a CSV, a declared projected CRS reads the ``x``/``y``
columns; otherwise ``lon``/``lat`` are used when present, else ``x``/``y``.

Types
-----
IDs and codes are always text, never numbers. Required text columns have pandas' ``str``
dtype; optional ones (``township``, ``district``, station ``township_code``,
``description``) are ``object`` holding ``str`` or ``None``. Optional integers are
nullable ``Int64``.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import io
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike, fspath
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import pyogrio.errors
import pyproj
import shapely

from geo.coords import WGS84, CRSLike, from_wgs84, parse_crs, to_wgs84, utm_crs_for
from geo.errors import CoordinateError, LayerError, Problem

__all__ = [
    "INCIDENT_COLUMNS",
    "MAX_PROBLEMS",
    "STATION_COLUMNS",
    "TEAM_COLUMNS",
    "VILLAGE_COLUMNS",
    "LayerKind",
    "check_layer",
    "read_incidents",
    "read_layer",
    "read_stations",
    "read_teams",
    "read_villages",
]

LayerKind: TypeAlias = Literal["villages", "incidents", "stations", "teams"]
PathArg: TypeAlias = str | PathLike[str]
FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
IntArray: TypeAlias = npt.NDArray[np.int64]
GeomArray: TypeAlias = npt.NDArray[np.object_]
_SourceCRS: TypeAlias = Literal["gcj02", "bd09"] | pyproj.CRS

#: At most this many problems are listed; one extra problem then counts the rest.
MAX_PROBLEMS: Final = 50

#: Attribute columns of each layer, in output order; ``lon``, ``lat``, ``geometry`` follow.
VILLAGE_COLUMNS: Final = (
    "code",
    "name",
    "kind",
    "committee_kind",
    "township_code",
    "township",
    "district_code",
    "district",
    "population",
    "households",
)
INCIDENT_COLUMNS: Final = ("id", "time", "category", "severity", "description")
STATION_COLUMNS: Final = ("id", "name", "kind", "township_code")
TEAM_COLUMNS: Final = ("id", "name", "home_unit", "members", "skills")

# ----------------------------------------------------------------------------- vocabulary

_COORD_ALIASES: Final = {
    "lon": ("lon", "longitude", "lng", "long", "经度"),
    "lat": ("lat", "latitude", "纬度"),
    "x": ("x", "easting"),
    "y": ("y", "northing"),
}

# Header aliases per layer, canonical name first. Headers are matched after stripping,
# lower-casing and turning spaces/hyphens into underscores.
_ALIASES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "villages": {
        "code": ("code", "代码", "统计用区划代码", "区划代码"),
        "name": ("name", "名称"),
        "kind": ("kind", "type", "类型"),
        "committee_kind": ("committee_kind",),
        "township_code": ("township_code", "乡镇代码", "街道代码"),
        "township": ("township", "乡镇", "街道", "乡镇街道"),
        "district_code": ("district_code", "区县代码", "区代码"),
        "district": ("district", "区县", "区"),
        "population": ("population", "人口"),
        "households": ("households", "户数"),
    },
    "incidents": {
        "id": ("id", "incident_id", "编号", "警情编号", "事件编号"),
        "time": ("time", "datetime", "timestamp", "occurred_at", "时间", "发生时间", "报警时间"),
        "category": ("category", "type", "类别", "类型", "警情类别"),
        "severity": ("severity", "level", "等级", "严重程度"),
        "description": ("description", "desc", "描述", "简要案情", "警情描述"),
    },
    "stations": {
        "id": ("id", "station_id", "编号"),
        "name": ("name", "名称"),
        "kind": ("kind", "type", "类型"),
        "township_code": ("township_code", "乡镇代码"),
    },
    "teams": {
        "id": ("id", "team_id", "编号"),
        "name": ("name", "名称", "队名"),
        "home_unit": ("home_unit", "unit", "所属单位", "单位"),
        "members": ("members", "size", "人数"),
        "skills": ("skills", "技能", "专长"),
    },
}

_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "villages": ("code", "name"),
    "incidents": ("id", "time", "category"),
    "stations": ("id", "name"),
    "teams": ("id", "name", "home_unit", "members"),
}

_POINT: Final = frozenset({0})
_POINT_OR_AREA: Final = frozenset({0, 3, 6})
_GEOM_NAMES: Final = (
    "Point",
    "LineString",
    "LinearRing",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
)

# NBS committee class from code digits 10-12 (统计用区划代码 rule).
_COMMITTEE_BINS: Final = (
    (1, 199, "residents_committee"),
    (200, 399, "villagers_committee"),
    (400, 499, "quasi_residents_committee"),
    (500, 599, "quasi_villagers_committee"),
)
_COMMITTEE_TO_KIND: Final = {
    "residents_committee": "community",
    "villagers_committee": "village",
    "quasi_residents_committee": "community",
    "quasi_villagers_committee": "village",
}
_VILLAGE_KINDS: Final = {
    "village": "village",
    "村": "village",
    "村委会": "village",
    "村民委员会": "village",
    "villagers_committee": "village",
    "quasi_villagers_committee": "village",
    "community": "community",
    "社区": "community",
    "居委会": "community",
    "居民委员会": "community",
    "residents_committee": "community",
    "quasi_residents_committee": "community",
}
_STATION_KINDS: Final = {
    "station": "station",
    "police_station": "station",
    "派出所": "station",
    "post": "post",
    "police_post": "post",
    "警务室": "post",
    "警务站": "post",
}

_CSV_SUFFIXES: Final = (".csv", ".csv.gz")
_VECTOR_SUFFIXES: Final = (".geojson", ".json", ".gpkg", ".shp", ".zip")
# Only shapefiles carry a legacy code page; GeoJSON and GeoPackage are always UTF-8.
_ENCODING_AWARE: Final = (".shp", ".zip")
_AUTO_ENCODINGS: Final = ("utf-8-sig", "gb18030")

# The box geo.coords applies GCJ-02/BD-09 offsets in; outside it those CRSs are undefined.
_CHINA_LON: Final = (72.004, 137.8347)
_CHINA_LAT: Final = (0.8293, 55.8271)
# A projected point whose WGS84 image does not map back within this many metres lies
# outside the projection's domain (PROJ silently wraps such points).
_ROUND_TRIP_M: Final = 1.0

_OFFSET_RE: Final = r"(?i)\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:z|[+-]\d{2}(?::?\d{2})?)$"
_NAIVE_FORMATS: Final = (
    "ISO8601",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y%m%d%H%M%S",
)
_AWARE_FORMATS: Final = ("ISO8601", "%Y/%m/%d %H:%M:%S%z", "%Y/%m/%d %H:%M%z")


# ----------------------------------------------------------------------------- problems


@dataclass
class _Report:
    """Collect problems for one file, keeping the first few per check and a total count."""

    file: str
    rows: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    problems: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        self.total += 1
        self.problems.append(Problem(self.file, message, row=row, column=column))

    def flag(
        self,
        mask: BoolArray | pd.Series[bool],
        column: str | None,
        message: str | Callable[[int], str],
    ) -> None:
        """Record one problem per true entry of ``mask`` (positions into the table).

        ``message`` is a fixed text or a function of the position, called only for the
        problems that are kept, so a million bad rows cost one vectorised mask.
        """
        positions = np.flatnonzero(np.asarray(mask, dtype=bool))
        self.total += positions.size
        for pos in positions[:MAX_PROBLEMS].tolist():
            text = message if isinstance(message, str) else message(pos)
            self.problems.append(Problem(self.file, text, row=int(self.rows[pos]), column=column))

    def flag_values(
        self,
        mask: BoolArray | pd.Series[bool],
        column: str | None,
        template: str,
        values: Sequence[object],
    ) -> None:
        """Like `flag`, with ``template`` formatted with ``value=values[position]``."""
        self.flag(mask, column, lambda i: template.format(value=values[i]))

    def finish(self) -> list[Problem]:
        """Return the problems sorted by row (file-level first), capped at `MAX_PROBLEMS`."""
        ordered = sorted(self.problems, key=lambda p: (p.row is not None, p.row or 0))
        shown = ordered[:MAX_PROBLEMS]
        rest = self.total - len(shown)
        if rest > 0:
            shown.append(Problem(self.file, f"... and {rest} more problem(s) not listed"))
        return shown


# ----------------------------------------------------------------------------- reading


@dataclass
class _Source:
    """A file's attribute table as text, plus its geometry and CRS for vector formats."""

    table: pd.DataFrame
    rows: IntArray
    vector: bool
    geometry: GeomArray | None = None
    stored_crs: pyproj.CRS | None = None


def _suffix(name: str) -> str:
    lower = name.lower()
    for suffix in _CSV_SUFFIXES + _VECTOR_SUFFIXES:
        if lower.endswith(suffix):
            return suffix
    return Path(lower).suffix


def _check_encoding(encoding: str | None, report: _Report) -> bool:
    if encoding is None:
        return True
    try:
        codecs.lookup(encoding)
    except LookupError:
        report.add(f"unknown encoding {encoding!r}")
        return False
    return True


def _decode(data: bytes, encoding: str | None, report: _Report) -> str | None:
    tried = (encoding,) if encoding is not None else _AUTO_ENCODINGS
    for name in tried:
        try:
            # Strict decoding: a wrong guess must fail loudly, not produce mojibake.
            return data.decode(name, errors="strict")
        except UnicodeDecodeError:
            continue
    report.add(f"cannot decode the file as text (tried {', '.join(tried)}); pass encoding=")
    return None


def _read_csv(local: Path, encoding: str | None, report: _Report) -> _Source | None:
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
    text = _decode(data, encoding, report)
    if text is None:
        return None
    try:
        # dtype=str keeps codes such as "420114200201" and leading zeros intact;
        # keep_default_na=False keeps a village called "NA" a name, not a gap.
        table = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except pd.errors.EmptyDataError:
        report.add("file is empty (no header line)")
        return None
    except pd.errors.ParserError as exc:
        line = re.search(r"line (\d+)", str(exc))
        row = int(line.group(1)) - 1 if line else None
        report.add(f"malformed CSV: {exc}".strip(), row=row)
        return None
    table.columns = pd.Index([str(c).lstrip("\ufeff").strip() for c in table.columns])
    table = pd.DataFrame(
        {c: table[c].fillna("").astype("str").str.strip() for c in table.columns},
        index=table.index,
    )
    rows = np.arange(1, len(table) + 1, dtype=np.int64)
    # Spreadsheet exports often end with ",,,," lines; skip them but keep row numbers.
    keep = (table != "").any(axis=1).to_numpy() if len(table.columns) else rows > 0
    return _Source(table=table[keep].reset_index(drop=True), rows=rows[keep], vector=False)


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
    path: str, suffix: str, encoding: str | None, layer: str | None, report: _Report
) -> _Source | None:
    try:
        if layer is None:
            layers = pyogrio.list_layers(path)
            if len(layers) > 1:
                names = ", ".join(str(n) for n in layers[:, 0])
                report.add(f"file has {len(layers)} layers ({names}); pass layer=")
                return None
        with warnings.catch_warnings():
            # GDAL notes GeoPackage times with a "+08:00" offset (which geopandas itself
            # writes) as "non-conformant ... successfully parsed": nothing is lost.
            warnings.filterwarnings("ignore", "Non-conformant content", RuntimeWarning)
            frame = pyogrio.read_dataframe(
                path,
                layer=layer,
                encoding=encoding if suffix in _ENCODING_AWARE else None,
                # Strings keep offsets such as "+08:00" for the incident time parser.
                datetime_as_string=True,
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
    if isinstance(frame, gpd.GeoDataFrame):
        geometry = np.asarray(frame.geometry.array, dtype=object)
        stored = None if frame.crs is None else pyproj.CRS(frame.crs)
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    frame = frame.reset_index(drop=True)
    table = pd.DataFrame({str(c).strip(): _as_text(frame[c]) for c in frame.columns})
    table.index = pd.RangeIndex(len(frame))
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    return _Source(table=table, rows=rows, vector=True, geometry=geometry, stored_crs=stored)


def _read_source(
    path: PathArg, encoding: str | None, layer: str | None, report: _Report
) -> _Source | None:
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
        return _read_csv(local, encoding, report)
    return _read_vector(name, suffix, encoding, layer, report)


# ----------------------------------------------------------------------------- columns


def _norm_header(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


def _resolve_columns(
    headers: Sequence[str], aliases: Mapping[str, tuple[str, ...]], report: _Report
) -> dict[str, str]:
    """Map canonical names to the file's own headers (which problems then quote)."""
    lookup = {_norm_header(a): canon for canon, names in aliases.items() for a in names}
    found: dict[str, str] = {}
    for header in headers:
        canon = lookup.get(_norm_header(header))
        if canon is None:
            continue
        if canon in found:
            report.add(
                f"columns {found[canon]!r} and {header!r} both mean {canon!r}; keep one",
                column=header,
            )
            continue
        found[canon] = header
    return found


def _missing_column(canon: str, aliases: tuple[str, ...], headers: Sequence[str]) -> str:
    others = [a for a in aliases if a != canon]
    also = f" (also accepted: {', '.join(others)})" if others else ""
    shown = ", ".join(repr(h) for h in headers) or "none"
    return f"missing required column {canon!r}{also}; found columns: {shown}"


# ----------------------------------------------------------------------------- values


def _text_required(table: pd.DataFrame, header: str, report: _Report) -> pd.Series[str]:
    values = table[header]
    report.flag(values == "", header, "value is empty")
    return values.astype("str")


def _text_optional(table: pd.DataFrame, cols: Mapping[str, str], canon: str) -> pd.Series[Any]:
    # Optional text is str or None (not NaN) so callers can test "is None".
    if canon not in cols:
        return pd.Series([None] * len(table), dtype=object)
    values = table[cols[canon]].astype(object)
    return values.where(values != "", None)


def _numbers(values: pd.Series[str]) -> tuple[FloatArray, BoolArray, BoolArray]:
    """Parse text to floats; return (values, missing, unparseable), NaN where not finite."""
    missing = (values == "").to_numpy()
    parsed = pd.to_numeric(values.where(~missing), errors="coerce")
    arr = np.asarray(parsed, dtype=np.float64)
    unparseable = ~missing & np.isnan(arr)
    if unparseable.any():
        # "nan" parses as a number, but it is a non-finite one, not an unparseable one.
        named_nan = values[unparseable].str.lower().str.lstrip("+-").isin(["nan"])
        unparseable[np.flatnonzero(unparseable)[named_nan.to_numpy()]] = False
    return arr, missing, unparseable


def _integers(
    table: pd.DataFrame,
    header: str,
    report: _Report,
    *,
    minimum: int | None = None,
    required: bool = False,
) -> pd.Series[Any]:
    values = table[header]
    arr, missing, unparseable = _numbers(values)
    nonfinite = ~missing & ~unparseable & ~np.isfinite(arr)
    finite = np.isfinite(arr)
    fractional = np.zeros_like(finite)
    fractional[finite] = arr[finite] != np.round(arr[finite])
    text = values.tolist()
    if required:
        report.flag(missing, header, "value is empty")
    report.flag(
        unparseable | nonfinite | fractional,
        header,
        lambda i: f"{text[i]!r} is not a whole number",
    )
    ok = finite & ~fractional
    if minimum is not None:
        below = ok & (arr < minimum)
        what = "positive" if minimum == 1 else f">= {minimum}"
        report.flag(below, header, lambda i: f"{text[i]!r} must be {what}")
        ok &= ~below
    result = pd.array(np.where(ok, arr, 0).astype(np.int64), dtype="Int64")
    result[~ok] = pd.NA
    return pd.Series(result)


def _unique(values: pd.Series[str], label: str, header: str, report: _Report) -> None:
    present = values[values != ""]
    firsts = present[~present.duplicated()]
    first_row = pd.Series(report.rows[firsts.index.to_numpy()], index=firsts.to_numpy())
    dup_mask = np.zeros(len(values), dtype=bool)
    dup_mask[present.index[present.duplicated()].to_numpy()] = True
    text = values.tolist()
    report.flag(
        dup_mask,
        header,
        lambda i: f"duplicate {label} {text[i]!r} (also in row {int(first_row[text[i]])})",
    )


def _categorical(
    table: pd.DataFrame,
    header: str,
    mapping: Mapping[str, str],
    report: _Report,
) -> pd.Series[Any]:
    """Map aliases to canonical values; "" stays missing (NaN) for the caller to default."""
    values = table[header]
    key = values.str.lower().str.replace(r"[\s\-]+", "_", regex=True)
    mapped = key.map(dict(mapping))
    bad = (values != "") & mapped.isna()
    allowed = ", ".join(sorted(set(mapping.values())))
    text = values.tolist()
    report.flag(bad, header, lambda i: f"unknown value {text[i]!r}; expected {allowed}")
    return mapped


# ----------------------------------------------------------------------------- time


def _parse_formats(text: pd.Series[str], formats: Iterable[str], *, utc: bool) -> pd.Series[Any]:
    """Try each format on the still-unparsed entries; the fast explicit ones go first."""
    out = pd.Series(
        pd.NaT, index=text.index, dtype="datetime64[us, UTC]" if utc else "datetime64[us]"
    )
    todo = text.index
    for fmt in formats:
        if len(todo) == 0:
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce", utc=utc)
        done = parsed.notna()
        out[todo[done.to_numpy()]] = parsed[done].dt.as_unit("us")
        todo = todo[~done.to_numpy()]
    return out


def _parse_times(values: pd.Series[str], header: str, tz: str, report: _Report) -> pd.Series[Any]:
    missing = values == ""
    # ISO 8601 reads "2025" as 1 January and "2025-03" as 1 March: an incident needs a
    # full date, and the shortest full date ("2025-3-2", "20250302") has 8 characters.
    partial = ~missing & (values.str.len() < 8)
    aware = values.str.contains(_OFFSET_RE, regex=True) & ~missing & ~partial
    naive = ~aware & ~missing & ~partial
    out = pd.Series(pd.NaT, index=values.index, dtype=f"datetime64[us, {tz}]")
    if aware.any():
        parsed = _parse_formats(values[aware], _AWARE_FORMATS, utc=True)
        out[aware] = parsed.dt.tz_convert(tz)
    if naive.any():
        parsed = _parse_formats(values[naive], _NAIVE_FORMATS, utc=False)
        retry = parsed.isna()
        if retry.any():
            # 2025年3月2日 21:15 -> 2025/3/2 21:15, a form the formats cover; rewritten
            # only where they failed, as regexes over every row are slow.
            text = values[naive][retry].str.replace(r"(\d)\s*[年月]\s*(?=\d)", r"\1/", regex=True)
            text = text.str.replace(r"(\d)\s*日\s*", r"\1 ", regex=True).str.strip()
            parsed[retry] = _parse_formats(text, _NAIVE_FORMATS, utc=False)
        out[naive] = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    raw = values.tolist()
    report.flag(missing, header, "value is empty")
    report.flag(
        out.isna() & ~missing,
        header,
        lambda i: f"cannot parse time {raw[i]!r} (expected e.g. 2025-03-02 21:15 or ISO 8601)",
    )
    return out


# ----------------------------------------------------------------------------- coordinates


@dataclass
class _Geo:
    """A layer's source vertices, with where they came from for precise problem messages.

    Coordinates travel as vertex arrays and geometries are built once, at the end: making
    a shapely object costs more than transforming its coordinates.
    """

    n: int
    coords: FloatArray  # (m, 2) vertices in the source CRS
    index: IntArray  # (m,) ascending row of each vertex
    template: GeomArray | None  # per-row geometries to refill; None: one point per row
    crs: _SourceCRS | None
    x_column: str = "geometry"
    y_column: str = "geometry"

    @classmethod
    def empty(cls, n: int, crs: _SourceCRS) -> _Geo:
        return cls(n, np.zeros((0, 2)), np.zeros(0, dtype=np.int64), None, crs)


def _crs_label(crs: _SourceCRS) -> str:
    if isinstance(crs, str):
        return crs.upper().replace("GCJ02", "GCJ-02").replace("BD09", "BD-09")
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else crs.name


def _points_from_columns(
    source: _Source,
    cols: Mapping[str, str],
    declared: _SourceCRS | None,
    require_geometry: bool,
    report: _Report,
) -> _Geo | None:
    """Read points from CSV coordinate columns, reporting each bad cell by its column.

    A declared projected CRS reads ``x``/``y``; otherwise ``lon``/``lat`` are preferred
    and ``x``/``y`` (which then need a declared CRS) are the fallback.
    """
    table = source.table
    n = len(table)
    projected = isinstance(declared, pyproj.CRS) and bool(declared.is_projected)
    has_lonlat = "lon" in cols or "lat" in cols
    has_xy = "x" in cols or "y" in cols
    if isinstance(declared, pyproj.CRS) and projected and not has_xy and has_lonlat:
        report.add(
            f"crs {declared.name!r} is projected but the file has lon/lat columns, "
            "not x/y; declare the CRS the lon/lat values are in",
            column=cols.get("lon", cols.get("lat")),
        )
        return None
    pair = ("x", "y") if projected or not has_lonlat else ("lon", "lat")
    present = [c for c in pair if c in cols]
    if not present:
        if require_geometry:
            shown = ", ".join(repr(h) for h in table.columns) or "none"
            report.add(
                "no coordinate columns: expected lon/lat (or longitude/latitude, lng, "
                f"经度/纬度) or x/y with crs=; found columns: {shown}"
            )
            return None
        return _Geo.empty(n, declared or WGS84)
    if len(present) == 1:
        lacking = pair[1] if present[0] == pair[0] else pair[0]
        report.add(f"column {cols[present[0]]!r} has no partner column {lacking!r}", column=lacking)
        return None
    x_col, y_col = cols[pair[0]], cols[pair[1]]
    crs: _SourceCRS | None = declared
    if declared is None:
        if pair[0] == "lon":
            crs = WGS84
        else:
            report.add(
                f"columns {x_col!r}/{y_col!r} hold coordinates in an undeclared CRS; "
                "pass crs= (e.g. 'EPSG:4547' or 'cgcs2000')",
                column=x_col,
            )
    xs, x_missing, x_bad = _numbers(table[x_col])
    ys, y_missing, y_bad = _numbers(table[y_col])
    for col, arr, missing, bad, values in (
        (x_col, xs, x_missing, x_bad, table[x_col].tolist()),
        (y_col, ys, y_missing, y_bad, table[y_col].tolist()),
    ):
        if require_geometry:
            report.flag(missing, col, "coordinate is missing")
        else:
            # Without required geometry a row may lack both coordinates, not just one.
            report.flag(missing & ~(x_missing & y_missing), col, "coordinate is missing")
        report.flag_values(bad, col, "cannot parse {value!r} as a number", values)
        report.flag_values(
            ~missing & ~bad & ~np.isfinite(arr), col, "coordinate {value!r} is not finite", values
        )
    rows = np.flatnonzero(np.isfinite(xs) & np.isfinite(ys))
    return _Geo(n, np.column_stack([xs[rows], ys[rows]]), rows, None, crs, x_col, y_col)


def _same_crs(a: pyproj.CRS, b: pyproj.CRS) -> bool:
    return bool(a.equals(b, ignore_axis_order=True))


def _file_crs(
    stored: pyproj.CRS | None, declared: _SourceCRS | None, report: _Report
) -> _SourceCRS | None:
    """Reconcile a vector file's stored CRS with the declared one; None if they clash."""
    if declared is None:
        if stored is None:
            report.add("file has no CRS (a shapefile without .prj?); pass crs=")
        return stored
    if isinstance(declared, str):
        # GIS tools store GCJ-02/BD-09 data as plain EPSG:4326; nothing else can hold it.
        if stored is not None and not _same_crs(stored, WGS84):
            report.add(
                f"file CRS {_crs_label(stored)} disagrees with declared crs "
                f"{_crs_label(declared)} (GCJ-02/BD-09 data must be stored as EPSG:4326)"
            )
            return None
        return declared
    if stored is not None and not _same_crs(stored, declared):
        report.add(
            f"file CRS {_crs_label(stored)} disagrees with declared crs {_crs_label(declared)}"
        )
        return None
    return declared


def _geometry_from_file(
    source: _Source,
    declared: _SourceCRS | None,
    allowed: frozenset[int],
    kind: str,
    require_geometry: bool,
    report: _Report,
) -> _Geo | None:
    n = len(source.table)
    if source.geometry is None:
        if require_geometry:
            report.add("file has no geometry")
            return None
        return _Geo.empty(n, declared or WGS84)
    geoms = shapely.force_2d(source.geometry)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if require_geometry:
        report.flag(missing, "geometry", "geometry is missing or empty")
    type_ids = shapely.get_type_id(geoms)
    wrong = ~missing & ~np.isin(type_ids, list(allowed))
    expected = " or ".join(_GEOM_NAMES[t] for t in sorted(allowed))
    report.flag(
        wrong,
        "geometry",
        lambda i: f"geometry is a {_GEOM_NAMES[type_ids[i]]}; {kind} need {expected}",
    )
    usable = geoms.copy()
    usable[missing | wrong] = None
    coords, index = shapely.get_coordinates(usable, return_index=True)
    crs = _file_crs(source.stored_crs, declared, report)
    return _Geo(n, coords, index.astype(np.int64), usable, crs)


def _convert(
    x: FloatArray, y: FloatArray, crs: _SourceCRS, *, inverse: bool = False
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Convert ``crs`` -> WGS84 (``inverse``: WGS84 -> ``crs``), tolerating bad points.

    Returns the converted coordinates (NaN where refused) and the refused mask. The
    geo.coords functions raise on the first point they cannot map; the culprits are then
    found in one vectorised PROJ pass (which marks them with inf), or for GCJ-02/BD-09
    by bisection.
    """
    src: CRSLike = crs

    def convert(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
        return from_wgs84(a, b, src) if inverse else to_wgs84(a, b, src)

    refused = np.zeros(x.size, dtype=bool)
    out_x = np.full(x.size, np.nan)
    out_y = np.full(x.size, np.nan)
    try:
        out_x[:], out_y[:] = convert(x, y)
        return out_x, out_y, refused
    except CoordinateError:
        pass
    stack = [(0, x.size)]
    if isinstance(crs, pyproj.CRS):
        pair = (WGS84, crs) if inverse else (crs, WGS84)
        transformer = pyproj.Transformer.from_crs(*pair, always_xy=True)
        tx, ty = transformer.transform(x, y, errcheck=False)
        refused = ~(np.isfinite(tx) & np.isfinite(ty)) & np.isfinite(x) & np.isfinite(y)
        ok = ~refused
        try:
            out_x[ok], out_y[ok] = convert(x[ok], y[ok])
            return out_x, out_y, refused
        except CoordinateError:
            refused[:] = False
    while stack:
        lo, hi = stack.pop()
        try:
            out_x[lo:hi], out_y[lo:hi] = convert(x[lo:hi], y[lo:hi])
        except CoordinateError:
            if hi - lo == 1:
                refused[lo] = True
            else:
                mid = (lo + hi) // 2
                stack.extend([(lo, mid), (mid, hi)])
    return out_x, out_y, refused


def _rows_with(flags: BoolArray, index: IntArray, n: int) -> tuple[BoolArray, IntArray]:
    """Return which rows have a flagged vertex, and each such row's first flagged vertex."""
    vertices = np.flatnonzero(flags)
    rows, first = np.unique(index[vertices], return_index=True)
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    where = np.full(n, -1, dtype=np.int64)
    where[rows] = vertices[first]
    return mask, where


def _check_to_wgs84(geo: _Geo, crs: _SourceCRS, report: _Report) -> tuple[FloatArray, BoolArray]:
    """Check the source vertices and convert them to WGS84.

    Returns the (m, 2) WGS84 vertices (NaN in bad rows) and the mask of bad rows.
    """
    n, index = geo.n, geo.index
    x, y = geo.coords[:, 0], geo.coords[:, 1]
    finite = np.isfinite(x) & np.isfinite(y)
    bad, _ = _rows_with(~finite, index, n)
    report.flag(bad, geo.x_column, "geometry has a non-finite coordinate")
    label = _crs_label(crs)
    geographic = isinstance(crs, str) or bool(crs.is_geographic)
    if geographic:
        bad_lon, at_lon = _rows_with(finite & (np.abs(x) > 180.0), index, n)
        bad_lat, at_lat = _rows_with(finite & (np.abs(y) > 90.0), index, n)
        report.flag(
            bad_lon & ~bad,
            geo.x_column,
            lambda i: f"longitude {float(x[at_lon[i]])!r} is outside [-180, 180]",
        )
        report.flag(
            bad_lat & ~bad,
            geo.y_column,
            lambda i: f"latitude {float(y[at_lat[i]])!r} is outside [-90, 90]",
        )
        bad |= bad_lon | bad_lat
    if isinstance(crs, str):
        in_box = (
            (x >= _CHINA_LON[0])
            & (x <= _CHINA_LON[1])
            & (y >= _CHINA_LAT[0])
            & (y <= _CHINA_LAT[1])
        )
        outside, at_out = _rows_with(finite & ~in_box, index, n)
        outside &= ~bad
        report.flag(
            outside,
            geo.x_column,
            lambda i: (
                f"position ({float(x[at_out[i]])!r}, {float(y[at_out[i]])!r}) is outside "
                f"China, where {label} is undefined"
            ),
        )
        bad |= outside
    ok = ~bad[index]
    wgs = np.full((x.size, 2), np.nan)
    lon, lat, refused = _convert(x[ok], y[ok], crs)
    wgs[ok, 0], wgs[ok, 1] = lon, lat
    failed = np.zeros(x.size, dtype=bool)
    failed[np.flatnonzero(ok)[refused]] = True
    if not geographic:
        # Far outside its domain a projection wraps instead of failing: check the way back.
        back_x, back_y, back_refused = _convert(lon, lat, crs, inverse=True)
        drift = np.hypot(back_x - x[ok], back_y - y[ok])
        failed[np.flatnonzero(ok)[back_refused | ~(drift <= _ROUND_TRIP_M)]] = True
    not_mapped, at_nm = _rows_with(failed, index, n)
    not_mapped &= ~bad
    report.flag(
        not_mapped,
        geo.x_column,
        lambda i: (
            f"position ({float(x[at_nm[i]])!r}, {float(y[at_nm[i]])!r}) cannot be transformed "
            f"from {label} to WGS84 (outside the CRS's area?)"
        ),
    )
    bad |= not_mapped
    wgs[bad[index]] = np.nan
    return wgs, bad


def _working_crs(to_crs: CRSLike | None, report: _Report) -> pyproj.CRS | None | bool:
    """Parse ``to_crs``; ``None`` means "choose a UTM zone", ``False`` an invalid value."""
    if to_crs is None:
        return None
    try:
        parsed = parse_crs(to_crs)
    except CoordinateError as exc:
        report.add(f"invalid to_crs: {exc}")
        return False
    if isinstance(parsed, str) or not parsed.is_projected:
        report.add(
            f"to_crs {to_crs!r} is not a projected (metric) CRS; distances in degrees "
            "are meaningless (use e.g. EPSG:32650 or leave to_crs unset)"
        )
        return False
    return parsed


def _declared_crs(crs: CRSLike | None, report: _Report) -> _SourceCRS | None | bool:
    if crs is None:
        return None
    try:
        return parse_crs(crs)
    except CoordinateError as exc:
        report.add(f"invalid crs: {exc}")
        return False


def _refill(geo: _Geo, rows: BoolArray, coords: FloatArray) -> GeomArray:
    """Return geometries for ``rows`` with the (row-ordered) vertices ``coords``."""
    if geo.template is None:
        return np.asarray(shapely.points(coords), dtype=object)
    geoms = geo.template[rows]  # fancy indexing copies, so the template stays intact
    shapely.set_coordinates(geoms, coords)
    return geoms


@dataclass
class _Placed:
    lon: FloatArray
    lat: FloatArray
    geometry: gpd.GeoSeries


def _place(
    source: _Source,
    cols: Mapping[str, str],
    *,
    kind: str,
    crs: CRSLike | None,
    to_crs: CRSLike | None,
    allowed: frozenset[int],
    require_geometry: bool,
    report: _Report,
) -> _Placed | None:
    """Locate, check and project the layer's geometries; None if anything is wrong."""
    declared = _declared_crs(crs, report)
    working = _working_crs(to_crs, report)
    if declared is False or working is False:
        return None
    assert not isinstance(declared, bool) and not isinstance(working, bool)
    if source.vector:
        geo = _geometry_from_file(source, declared, allowed, kind, require_geometry, report)
    else:
        geo = _points_from_columns(source, cols, declared, require_geometry, report)
    if geo is None or geo.crs is None:
        return None
    wgs, bad = _check_to_wgs84(geo, geo.crs, report)
    n, index = geo.n, geo.index
    keep = ~bad[index]
    rows = (np.bincount(index, minlength=n) > 0) & ~bad
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if geo.template is None:
        lon[index[keep]], lat[index[keep]] = wgs[keep, 0], wgs[keep, 1]
    else:
        # Polygons are represented by a point guaranteed inside them, for snapping and labels.
        anchors = shapely.point_on_surface(_refill(geo, rows, wgs[keep]))
        lon[rows], lat[rows] = shapely.get_x(anchors), shapely.get_y(anchors)
    if working is None:
        if not rows.any():
            working = WGS84
        else:
            try:
                working = utm_crs_for(lon[rows], lat[rows])
            except CoordinateError as exc:
                report.add(f"cannot choose a working CRS: {exc}; pass to_crs=")
                return None
    wx, wy, refused = _convert(wgs[keep, 0], wgs[keep, 1], working, inverse=True)
    lost, _ = _rows_with(refused | ~(np.isfinite(wx) & np.isfinite(wy)), index[keep], n)
    label = _crs_label(working)
    report.flag(
        lost,
        geo.x_column,
        lambda i: f"position ({float(lon[i])!r}, {float(lat[i])!r}) cannot be projected to {label}",
    )
    if bad.any() or lost.any():
        return None
    geoms = np.full(n, None, dtype=object)
    geoms[rows] = _refill(geo, rows, np.column_stack([wx, wy]))
    return _Placed(lon=lon, lat=lat, geometry=gpd.GeoSeries(geoms, crs=working))


# ----------------------------------------------------------------------------- layers


def _committee_kinds(code: pd.Series[str], valid: BoolArray) -> pd.Series[Any]:
    digits = np.zeros(len(code), dtype=np.int64)
    digits[valid] = code[valid].str[9:12].astype("int64").to_numpy()
    conditions = [(digits >= lo) & (digits <= hi) & valid for lo, hi, _ in _COMMITTEE_BINS]
    names = [name for _, _, name in _COMMITTEE_BINS]
    picked = np.select(conditions, names, default="")
    return pd.Series(picked, dtype="str").replace("", np.nan)


def _village_attributes(
    table: pd.DataFrame, cols: Mapping[str, str], report: _Report
) -> dict[str, pd.Series[Any]]:
    header = cols["code"]
    code = table[header]
    text = code.tolist()
    valid = code.str.fullmatch(r"\d{12}").to_numpy()
    report.flag(
        (code != "").to_numpy() & ~valid,
        header,
        lambda i: f"code {text[i]!r} is not 12 digits",
    )
    report.flag(code == "", header, "value is empty")
    _unique(code, "code", header, report)
    committee = _committee_kinds(code, valid)
    unclassified = valid & committee.isna().to_numpy()
    report.flag(
        unclassified,
        header,
        lambda i: (
            f"code {text[i]!r}: digits 10-12 ({text[i][9:12]}) are not an NBS "
            "committee class (001-599)"
        ),
    )
    derived_kind = committee.map(_COMMITTEE_TO_KIND)
    if "kind" in cols:
        given = _categorical(table, cols["kind"], _VILLAGE_KINDS, report)
        kind = given.fillna(derived_kind)
    else:
        kind = derived_kind
    if "committee_kind" in cols:
        col = cols["committee_kind"]
        given_ck = table[col].str.lower()
        known = given_ck.isin([name for _, _, name in _COMMITTEE_BINS])
        ck_text = table[col].tolist()
        derived = committee.fillna("").tolist()
        report.flag(
            (given_ck != "") & ~known,
            col,
            lambda i: f"unknown committee_kind {ck_text[i]!r}",
        )
        report.flag(
            known & committee.notna() & (given_ck != committee.fillna("")),
            col,
            lambda i: (
                f"{ck_text[i]!r} disagrees with code {text[i]!r} (digits 10-12 give {derived[i]})"
            ),
        )
    out: dict[str, pd.Series[Any]] = {
        "code": code.astype("str"),
        "name": _text_required(table, cols["name"], report),
        "kind": kind.astype("str"),
        "committee_kind": committee,
    }
    for canon, width in (("township_code", 9), ("district_code", 6)):
        prefix = code.str[:width].where(pd.Series(valid, index=code.index))
        if canon in cols:
            given = table[cols[canon]]
            report.flag_values(
                (given != "").to_numpy() & valid & (given != prefix).to_numpy(),
                cols[canon],
                f"{canon} {{value[0]!r}} does not match code {{value[1]!r}} "
                f"(its first {width} digits)",
                list(zip(given.tolist(), text, strict=True)),
            )
        out[canon] = prefix.astype("str")
        name_col = canon.removesuffix("_code")
        out[name_col] = _text_optional(table, cols, name_col)
    for canon in ("population", "households"):
        if canon in cols:
            out[canon] = _integers(table, cols[canon], report, minimum=0)
        else:
            out[canon] = pd.Series(pd.array([pd.NA] * len(table), dtype="Int64"))
    return {c: out[c] for c in VILLAGE_COLUMNS}


def _incident_attributes(
    table: pd.DataFrame, cols: Mapping[str, str], tz: str, report: _Report
) -> dict[str, pd.Series[Any]]:
    ident = _text_required(table, cols["id"], report)
    _unique(ident, "id", cols["id"], report)
    category = table[cols["category"]].str.lower()
    report.flag(category == "", cols["category"], "value is empty")
    return {
        "id": ident,
        "time": _parse_times(table[cols["time"]], cols["time"], tz, report),
        "category": category.astype("str"),
        "severity": (
            _integers(table, cols["severity"], report)
            if "severity" in cols
            else pd.Series(pd.array([pd.NA] * len(table), dtype="Int64"))
        ),
        "description": _text_optional(table, cols, "description"),
    }


def _station_attributes(
    table: pd.DataFrame, cols: Mapping[str, str], report: _Report
) -> dict[str, pd.Series[Any]]:
    ident = _text_required(table, cols["id"], report)
    _unique(ident, "id", cols["id"], report)
    if "kind" in cols:
        kind = _categorical(table, cols["kind"], _STATION_KINDS, report).fillna("station")
    else:
        kind = pd.Series(["station"] * len(table), dtype="str")
    township = _text_optional(table, cols, "township_code")
    if "township_code" in cols:
        col = cols["township_code"]
        given = table[col]
        given_text = given.tolist()
        report.flag(
            (given != "") & ~given.str.fullmatch(r"\d{9}"),
            col,
            lambda i: f"township_code {given_text[i]!r} is not 9 digits",
        )
    return {
        "id": ident,
        "name": _text_required(table, cols["name"], report),
        "kind": kind.astype("str"),
        "township_code": township,
    }


def _team_attributes(
    table: pd.DataFrame, cols: Mapping[str, str], report: _Report
) -> dict[str, pd.Series[Any]]:
    ident = _text_required(table, cols["id"], report)
    _unique(ident, "id", cols["id"], report)
    members = _integers(table, cols["members"], report, minimum=1, required=True)
    if "skills" in cols:
        raw = table[cols["skills"]].str.lower()
        # Offices separate skills with ; or Chinese punctuation; store one canonical form.
        skills = raw.str.replace(r"\s*[;；,，、]\s*", ";", regex=True)
        skills = skills.str.replace(r";{2,}", ";", regex=True).str.strip("; ")
    else:
        skills = pd.Series([""] * len(table), dtype="str")
    return {
        "id": ident,
        "name": _text_required(table, cols["name"], report),
        "home_unit": _text_required(table, cols["home_unit"], report),
        "members": members.fillna(0).astype("int64"),
        "skills": skills.astype("str"),
    }


def _load(
    path: PathArg,
    kind: LayerKind,
    *,
    crs: CRSLike | None,
    to_crs: CRSLike | None,
    encoding: str | None,
    layer: str | None,
    require_geometry: bool = True,
    tz: str = "Asia/Shanghai",
) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    """Read and validate one layer; return it (or None) and all problems found."""
    report = _Report(file=fspath(path))
    if kind == "incidents":
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            report.add(f"unknown time zone {tz!r} (expected an IANA name like 'Asia/Shanghai')")
            return None, report.finish()
    source = _read_source(path, encoding, layer, report)
    if source is None:
        return None, report.finish()
    report.rows = source.rows
    table = source.table
    aliases = _ALIASES[kind]
    # Vector files carry their coordinates in the geometry; lon/x columns are attributes.
    known = aliases if source.vector else aliases | _COORD_ALIASES
    cols = _resolve_columns(list(table.columns), known, report)
    missing = [c for c in _REQUIRED[kind] if c not in cols]
    for canon in missing:
        report.add(_missing_column(canon, aliases[canon], list(table.columns)), column=canon)
    if len(table) == 0:
        report.add("layer has no rows")
        return None, report.finish()
    allowed = _POINT_OR_AREA if kind == "villages" else _POINT
    placed = _place(
        source,
        cols,
        kind=kind,
        crs=crs,
        to_crs=to_crs,
        allowed=allowed,
        require_geometry=require_geometry,
        report=report,
    )
    if missing:
        return None, report.finish()
    attributes: dict[str, pd.Series[Any]]
    if kind == "villages":
        attributes = _village_attributes(table, cols, report)
    elif kind == "incidents":
        attributes = _incident_attributes(table, cols, tz, report)
    elif kind == "stations":
        attributes = _station_attributes(table, cols, report)
    else:
        attributes = _team_attributes(table, cols, report)
    if report.total or placed is None:
        return None, report.finish()
    frame = pd.DataFrame({name: s.reset_index(drop=True) for name, s in attributes.items()})
    frame["lon"] = placed.lon
    frame["lat"] = placed.lat
    gdf = gpd.GeoDataFrame(frame, geometry=placed.geometry, crs=placed.geometry.crs)
    return gdf, []


def _raise_or_return(result: tuple[gpd.GeoDataFrame | None, list[Problem]]) -> gpd.GeoDataFrame:
    gdf, problems = result
    if gdf is None:
        raise LayerError(problems)
    return gdf


# ----------------------------------------------------------------------------- public API


def read_villages(
    path: PathArg,
    *,
    crs: CRSLike | None = None,
    to_crs: CRSLike | None = None,
    encoding: str | None = None,
    require_geometry: bool = True,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a village / community committee layer.

    Parameters
    ----------
    path
        CSV (``.csv``, ``.csv.gz``), GeoJSON, GeoPackage or Shapefile (also zipped).
    crs
        CRS the input coordinates are declared in: ``"wgs84"``, ``"gcj02"``, ``"bd09"``,
        ``"cgcs2000"``, an EPSG code or a :class:`pyproj.CRS`. Default: the file's own
        CRS for vector formats, WGS84 for CSV ``lon``/``lat`` columns; CSV ``x``/``y``
        columns require it. A vector file whose stored CRS differs is an error (except
        a stored EPSG:4326 declared as ``"gcj02"``/``"bd09"``).
    to_crs
        Working (projected, metric) CRS of the result, e.g. the road network's; default
        the UTM zone of the layer's own points.
    encoding
        Text encoding of a CSV (or a shapefile's DBF); default: try UTF-8 (with or
        without BOM), then GB18030 (a superset of GBK), both strictly.
    require_geometry
        If False, a table without coordinates is accepted (an attribute-only village
        list): its geometry is all None, ``lon``/``lat`` NaN, and its CRS ``to_crs`` or
        WGS84. Rows lacking both coordinates are then also accepted in a table that has
        coordinate columns.
    layer
        Layer name inside a multi-layer file such as a GeoPackage.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns `VILLAGE_COLUMNS` (``code`` 12 digits, ``name``, ``kind``
        "village"/"community", ``committee_kind``, ``township_code`` = code[:9],
        ``township``, ``district_code`` = code[:6], ``district``, ``population`` and
        ``households`` as nullable Int64), then ``lon``, ``lat`` (WGS84; for polygons
        a point on the surface) and a Point/Polygon/MultiPolygon ``geometry`` in the
        working CRS. Other input columns (e.g. ``township_kind``) are dropped.

    Raises
    ------
    LayerError
        Listing every problem, each naming the file, the 1-based data row (row 1 is the
        first line after a CSV's header; the N-th feature of a vector file) and column.

    Notes
    -----
    ``kind`` comes from a ``kind`` column when present (村/村委会/villagers_committee/...
    -> village, 社区/居委会/residents_committee/... -> community), otherwise from code
    digits 10-12: 001-199 residents (community), 200-399 villagers (village), 400-499
    quasi-residents (community), 500-599 quasi-villagers (village). ``township_code``,
    ``district_code`` and ``committee_kind`` input columns must agree with the code.
    """
    return _raise_or_return(
        _load(
            path,
            "villages",
            crs=crs,
            to_crs=to_crs,
            encoding=encoding,
            layer=layer,
            require_geometry=require_geometry,
        )
    )


def read_incidents(
    path: PathArg,
    *,
    crs: CRSLike | None = None,
    to_crs: CRSLike | None = None,
    encoding: str | None = None,
    tz: str = "Asia/Shanghai",
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read an incident (警情) point layer.

    Parameters
    ----------
    path, crs, to_crs, encoding, layer
        As for :func:`read_villages`.
    tz
        IANA time zone: naive times are taken as local time there, times with an offset
        (``+08:00``, ``Z``) are converted to it.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns `INCIDENT_COLUMNS`: ``id`` (unique str), ``time``
        (``datetime64[us, tz]``), ``category`` (stripped, lower-case), ``severity``
        (nullable Int64), ``description`` (str or None), then ``lon``, ``lat`` and Point
        ``geometry`` in the working CRS.

    Raises
    ------
    LayerError
        Listing every problem with file, 1-based data row and column.

    Notes
    -----
    Accepted time forms: ISO 8601 (``2025-03-02T21:15:00+08:00``, ``2025-03-02 21:15``),
    ``2025/03/02 21:15[:00]``, ``2025/3/2``, ``2025年3月2日 21:15`` and ``20250302211500``.
    """
    return _raise_or_return(
        _load(path, "incidents", crs=crs, to_crs=to_crs, encoding=encoding, layer=layer, tz=tz)
    )


def read_stations(
    path: PathArg,
    *,
    crs: CRSLike | None = None,
    to_crs: CRSLike | None = None,
    encoding: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a police station / post point layer.

    Parameters
    ----------
    path, crs, to_crs, encoding, layer
        As for :func:`read_villages`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns `STATION_COLUMNS`: ``id`` (unique str), ``name``, ``kind`` ("station"
        or "post"; 派出所 -> station, 警务室/警务站 -> post; empty or absent -> station),
        ``township_code`` (9 digits, str or None), then ``lon``, ``lat`` and Point
        ``geometry`` in the working CRS.

    Raises
    ------
    LayerError
        Listing every problem with file, 1-based data row and column.
    """
    return _raise_or_return(
        _load(path, "stations", crs=crs, to_crs=to_crs, encoding=encoding, layer=layer)
    )


def read_teams(
    path: PathArg,
    *,
    crs: CRSLike | None = None,
    to_crs: CRSLike | None = None,
    encoding: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a team layer; each team's geometry is its base location.

    Parameters
    ----------
    path, crs, to_crs, encoding, layer
        As for :func:`read_villages`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns `TEAM_COLUMNS`: ``id`` (unique str), ``name``, ``home_unit``,
        ``members`` (int64 > 0), ``skills`` (";"-joined, stripped, lower-case; input
        may also use ；，,、 as separators; "" when none), then ``lon``, ``lat`` and Point
        ``geometry`` in the working CRS.

    Raises
    ------
    LayerError
        Listing every problem with file, 1-based data row and column.
    """
    return _raise_or_return(
        _load(path, "teams", crs=crs, to_crs=to_crs, encoding=encoding, layer=layer)
    )


_READERS: Final[dict[str, Callable[..., gpd.GeoDataFrame]]] = {
    "villages": read_villages,
    "incidents": read_incidents,
    "stations": read_stations,
    "teams": read_teams,
}


def _unknown_kind(path: PathArg, kind: str) -> Problem:
    expected = ", ".join(get_args(LayerKind))
    return Problem(fspath(path), f"unknown layer kind {kind!r}; expected one of {expected}")


def read_layer(path: PathArg, kind: LayerKind, **kw: Any) -> gpd.GeoDataFrame:
    """Read a layer of the given kind with the matching ``read_*`` function.

    Parameters
    ----------
    path
        The layer file.
    kind
        "villages", "incidents", "stations" or "teams".
    **kw
        Keyword options of that reader (``crs``, ``to_crs``, ``encoding``, ``layer``,
        ``require_geometry`` for villages, ``tz`` for incidents).

    Returns
    -------
    geopandas.GeoDataFrame
        As returned by the reader.

    Raises
    ------
    LayerError
        If ``kind`` is unknown or the file does not pass validation.
    TypeError
        If ``kw`` holds an option the reader does not take.
    """
    reader = _READERS.get(kind)
    if reader is None:
        raise LayerError(_unknown_kind(path, kind))
    return reader(path, **kw)


def check_layer(path: PathArg, kind: LayerKind, **kw: Any) -> list[Problem]:
    """Validate a layer file and return all its problems instead of raising.

    Parameters
    ----------
    path
        The layer file.
    kind
        "villages", "incidents", "stations" or "teams".
    **kw
        Keyword options of the matching reader, as for :func:`read_layer`.

    Returns
    -------
    list of Problem
        Empty if the layer reads cleanly. Sorted by row (file-level problems first) and
        capped at `MAX_PROBLEMS`, with one final problem counting any not listed.

    Raises
    ------
    TypeError
        If ``kw`` holds an option the reader does not take.
    """
    reader = _READERS.get(kind)
    if reader is None:
        return [_unknown_kind(path, kind)]
    try:
        reader(path, **kw)
    except LayerError as exc:
        return exc.problems
    return []
