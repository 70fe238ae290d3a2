"""Find a layer's columns by their accepted headers and parse their text into typed values.

The parsers are vectorised over whole columns and report each bad cell (by row and
the file's own header) to a :class:`~geo.layers.report.Report` instead of raising, so
one pass finds every problem. Which headers each layer accepts is in
:mod:`geo.layers.kinds`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.layers.report import MAX_PROBLEMS, Report

__all__ = [
    "categorical",
    "integers",
    "missing_column",
    "nul_characters",
    "numbers",
    "parse_times",
    "resolve_columns",
    "text_optional",
    "text_required",
    "unique",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
IntArray: TypeAlias = npt.NDArray[np.intp]

_OFFSET_RE: Final = r"(?i)\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:z|[+-]\d{2}(?::?\d{2})?)$"
_NAIVE_FORMATS: Final = (
    "ISO8601",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y%m%d%H%M%S",
)
_AWARE_FORMATS: Final = ("ISO8601", "%Y/%m/%d %H:%M:%S%z", "%Y/%m/%d %H:%M%z")
# 21时15分30秒, 21时15分, 21时 (点 for 时 too) ending a cell become 21:15:30, 21:15, 21:00.
_CN_HMS_RE: Final = r"(\d{1,2})\s*[时点]\s*(\d{1,2})\s*分\s*(\d{1,2})\s*秒$"
_CN_HM_RE: Final = r"(\d{1,2})\s*[时点]\s*(\d{1,2})\s*分$"
_CN_H_RE: Final = r"(\d{1,2})\s*[时点]$"
# A plain number is an Excel serial date (days since 1899-12-30 in the 1900 date system,
# the fraction the time of day); 8 or more digits are left to 20250302[211500].
_SERIAL_RE: Final = r"\d{1,6}(?:\.\d+)?"
_EXCEL_EPOCH: Final = pd.Timestamp("1899-12-30")
_SERIAL_MIN: Final = (pd.Timestamp("1990-01-01") - _EXCEL_EPOCH).days
_SERIAL_MAX: Final = (pd.Timestamp("2101-01-01") - _EXCEL_EPOCH).days
_CN_RE: Final = r"[年月日时点分秒]"
# Three numbers, the first not a four-digit year: 03/02/2025, 3/2/25, 02.03.2025, 25-3-2.
_DAY_MONTH_RE: Final = r"\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{1,4}(?!\d)"
_MAX_EXACT: Final = 2**53
_ACCEPTED: Final = (
    "accepted forms, year first: 2025-03-02 21:15 or other ISO 8601, 2025/3/2 21:15, "
    "2025年3月2日 21时15分, 20250302211500 or an Excel serial date such as 45718.885416667"
)


# ----------------------------------------------------------------------------- headers


def _norm_header(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


def resolve_columns(
    headers: Sequence[str], aliases: Mapping[str, tuple[str, ...]], report: Report
) -> dict[str, str]:
    """Map canonical names to the file's own headers (which problems then quote).

    Headers match an alias after stripping, lower-casing and turning spaces and hyphens
    into underscores; two headers meaning the same column are a problem.
    """
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


def missing_column(canon: str, aliases: tuple[str, ...], headers: Sequence[str]) -> str:
    """Return the message for a missing required column, listing what would do instead."""
    others = [a for a in aliases if a != canon]
    also = f" (also accepted: {', '.join(others)})" if others else ""
    shown = ", ".join(repr(h) for h in headers) or "none"
    return (
        f"missing required column {canon!r}{also}; found columns: {shown} "
        f"(name yours with --columns {canon}=HEADER)"
    )


# ----------------------------------------------------------------------------- values


def nul_characters(table: pd.DataFrame, report: Report) -> None:
    """Report every header and cell holding a NUL character.

    No name or code contains one: it is a damaged cell (a C string cut short, a binary
    field pasted in), and text after it would be lost by the next tool that reads it.
    """
    for header in table.columns:
        if "\0" in header:
            report.add(f"header {header!r} contains a NUL character (\\0)", column=header)
    for header in table.columns:
        values = table[header]
        has = values.str.contains("\0", regex=False).to_numpy(dtype=bool)
        if has.any():
            report.flag_values(
                has, header, "{value!r} contains a NUL character (\\0); remove it", values.tolist()
            )


def text_required(table: pd.DataFrame, header: str, report: Report) -> pd.Series[str]:
    """Return a text column, reporting its empty cells."""
    values = table[header]
    report.flag(values == "", header, "value is empty")
    return values.astype("str")


def text_optional(table: pd.DataFrame, cols: Mapping[str, str], canon: str) -> pd.Series[Any]:
    """Return an optional text column as ``str`` or None, all None when it is absent."""
    # Optional text is str or None (not NaN) so callers can test "is None".
    if canon not in cols:
        return pd.Series([None] * len(table), dtype=object)
    values = table[cols[canon]].astype(object)
    return values.where(values != "", None)


def numbers(values: pd.Series[str]) -> tuple[FloatArray, BoolArray, BoolArray]:
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


def integers(
    table: pd.DataFrame,
    header: str,
    report: Report,
    *,
    minimum: int | None = None,
    required: bool = False,
) -> pd.Series[Any]:
    """Parse a column of whole numbers to nullable ``Int64``, reporting every bad cell.

    Parameters
    ----------
    table
        The layer's text table.
    header
        The file's header of the column.
    report
        Collects the problems.
    minimum
        Smallest allowed value, if any.
    required
        Whether an empty cell is a problem (it is ``<NA>`` either way).

    Returns
    -------
    pandas.Series
        ``Int64`` values, ``<NA>`` where empty or invalid.
    """
    values = table[header]
    arr, missing, unparseable = numbers(values)
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
    # Past 2**53 a float no longer holds every whole number: the count is not the text's.
    huge = ok & (np.abs(arr) > _MAX_EXACT)
    report.flag(huge, header, lambda i: f"{text[i]!r} is too large (at most {_MAX_EXACT:,})")
    ok &= ~huge
    result = pd.array(np.where(ok, arr, 0).astype(np.int64), dtype="Int64")
    result[~ok] = pd.NA
    return pd.Series(result)


def unique(values: pd.Series[str], label: str, header: str, report: Report) -> None:
    """Report each repeat of a non-empty value, naming the row that has it first.

    One hashing pass finds the repeats; the rows that hold a value first are looked up
    only for the repeats that get listed, as millions of ids mostly have none.
    """
    dup = values.duplicated().to_numpy() & (values != "").to_numpy()
    if not dup.any():
        return
    listed = values.iloc[np.flatnonzero(dup)[:MAX_PROBLEMS]].tolist()
    holders = np.flatnonzero(values.isin(listed).to_numpy())
    first: dict[str, int] = {}
    for pos, value in zip(holders.tolist(), values.iloc[holders].tolist(), strict=True):
        first.setdefault(value, int(report.rows[pos]))
    report.flag(
        dup,
        header,
        lambda i: f"duplicate {label} {values.iat[i]!r} (also in row {first[str(values.iat[i])]})",
    )


def categorical(
    table: pd.DataFrame,
    header: str,
    mapping: Mapping[str, str],
    report: Report,
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


def _chinese_to_slashes(text: pd.Series[str]) -> pd.Series[str]:
    """Rewrite 2025年3月2日 21时15分30秒 as 2025/3/2 21:15:30, a form the formats cover.

    Only a whole trailing time is rewritten (时 alone is on the hour), so a stray 分 or
    秒 is left in place and the cell stays unparseable rather than misread.
    """
    # Literal replacements (lookarounds, no groups) skip re's template expansion per match.
    text = text.str.replace(r"(?<=\d)\s*[年月]\s*(?=\d)", "/", regex=True)
    text = text.str.replace(r"(?<=\d)\s*日\s*", " ", regex=True)
    hours = text.str.contains(r"\d\s*[时点]", regex=True).to_numpy(dtype=bool)
    if hours.any():
        clock = text[hours].str.replace(_CN_HMS_RE, r"\1:\2:\3", regex=True)
        clock = clock.str.replace(_CN_HM_RE, r"\1:\2", regex=True)
        text[hours] = clock.str.replace(_CN_H_RE, r"\1:00", regex=True)
    return text.str.strip()


def _fill(
    local: pd.Series[Any], pos: IntArray, text: pd.Series[str], formats: Iterable[str]
) -> IntArray:
    """Parse ``text`` (the cells at positions ``pos``) into ``local``; return those left."""
    parsed = _parse_formats(text, formats, utc=False)
    ok = parsed.notna().to_numpy()
    local.iloc[pos[ok]] = parsed[ok].array
    return pos[~ok]


def _excel_serials(local: pd.Series[Any], pos: IntArray, text: pd.Series[str]) -> IntArray:
    """Read Excel serial days (cells at ``pos``) into ``local``; return those out of range.

    Accepted are `_SERIAL_MIN` .. `_SERIAL_MAX` (years 1990-2100), rounded to the second:
    a serial exported with 9 decimals is 21:15:00.00003.
    """
    days = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    ok = (days >= _SERIAL_MIN) & (days < _SERIAL_MAX)
    seconds = np.round(days[ok] * 86400.0).astype(np.int64)
    local.iloc[pos[ok]] = (_EXCEL_EPOCH + pd.to_timedelta(seconds, unit="s")).as_unit("us")
    return pos[~ok]


def _excel_date(text: str) -> str:
    """Return the date an out-of-range serial would be, for its problem message."""
    # _SERIAL_RE allows at most 999999.99... days, year 4637: within what datetime shows.
    return f"{_EXCEL_EPOCH.to_pydatetime() + dt.timedelta(days=float(text)):%Y-%m-%d}"


def localize(wall: pd.Series[Any], tz: str) -> pd.Series[Any]:
    """Localise naive wall times to ``tz`` without losing any to daylight saving.

    A record typed at 02:30 on the night the clocks change is still an incident: the
    repeated hour is read as its first (summer-time) pass, the skipped one moved on.
    """
    first = np.ones(len(wall), dtype=bool)
    return wall.dt.tz_localize(tz, ambiguous=first, nonexistent=pd.Timedelta(hours=1))


def parse_times(
    values: pd.Series[str],
    header: str,
    tz: str,
    report: Report,
    *,
    latest: pd.Timestamp | None = None,
) -> pd.Series[Any]:
    """Parse a time column to ``datetime64[us, tz]``, reporting empty and unparseable cells.

    Naive times are local time in ``tz`` (a wall time repeated when the clocks go back is
    taken as the first, summer-time one; one skipped when they go forward is moved on an
    hour, as a clock not yet put forward shows it); times with an offset are converted
    to ``tz``. Accepted forms, the date always year first: ISO 8601
    (``2025-03-02T21:15:00+08:00``, ``2025-3-2 21:15``),
    ``2025/3/2 21:15[:30]``, ``2025年3月2日 21时15分[30秒]`` (or ``21:15``, or the date
    alone), ``20250302[211500]`` and Excel serial dates (``45718.885416667``, days since
    1899-12-30, years 1990-2100). Day/month-first dates (``03/02/2025``, ``3/2/25``) are
    reported as ambiguous, not guessed. A time after ``latest`` (when given) is reported
    as in the future: a wrong year, or a clock or time zone set wrong.
    """
    missing = (values == "").to_numpy()
    # ISO 8601 reads "2025" as 1 January and "2025-03" as 1 March: an incident needs a
    # full date, and the shortest full date ("2025-3-2", "20250302") has 8 characters.
    partial = ~missing & (values.str.len() < 8).to_numpy()
    aware = values.str.contains(_OFFSET_RE, regex=True).to_numpy() & ~missing & ~partial
    out = pd.Series(pd.NaT, index=values.index, dtype=f"datetime64[us, {tz}]")
    if aware.any():
        parsed = _parse_formats(values[aware], _AWARE_FORMATS, utc=True)
        out[aware] = parsed.dt.tz_convert(tz)
    local = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    pos = np.flatnonzero(~aware & ~missing & ~partial)
    pos = _fill(local, pos, values.iloc[pos], _NAIVE_FORMATS[:1])
    # ISO 8601 takes the bulk fast; each later step sees only what the steps before it
    # left (short cells included, for 45718), as regexes over every row are slow.
    left = partial.copy()
    left[pos] = True
    pos = np.flatnonzero(left)
    serial = values.iloc[pos].str.fullmatch(_SERIAL_RE).to_numpy(dtype=bool)
    beyond = _excel_serials(local, pos[serial], values.iloc[pos[serial]])
    pos = pos[~serial & ~partial[pos]]
    pos = _fill(local, pos, values.iloc[pos], _NAIVE_FORMATS[1:])
    chinese = pos[values.iloc[pos].str.contains(_CN_RE, regex=True).to_numpy(dtype=bool)]
    _fill(local, chinese, _chinese_to_slashes(values.iloc[chinese]), _NAIVE_FORMATS)
    found = local.notna().to_numpy()
    out[found] = localize(local[found], tz)
    out_of_range = np.zeros(len(values), dtype=bool)
    out_of_range[beyond] = True
    failed = out.isna().to_numpy() & ~missing & ~out_of_range
    ambiguous = np.zeros(len(values), dtype=bool)
    ambiguous[failed] = values[failed].str.match(_DAY_MONTH_RE).to_numpy(dtype=bool)
    raw = values.tolist()
    report.flag(missing, header, "value is empty")
    report.flag(
        ambiguous,
        header,
        lambda i: (
            f"cannot parse time {raw[i]!r}: ambiguous date, day-first or month-first "
            f"cannot be told ({_ACCEPTED})"
        ),
    )
    report.flag(
        out_of_range,
        header,
        lambda i: (
            f"cannot parse time {raw[i]!r}: as an Excel serial date it is "
            f"{_excel_date(raw[i])}, outside 1990-2100 ({_ACCEPTED})"
        ),
    )
    report.flag(
        failed & ~ambiguous, header, lambda i: f"cannot parse time {raw[i]!r} ({_ACCEPTED})"
    )
    if latest is not None:
        future = (out > latest).to_numpy(dtype=bool)
        report.flag(
            future,
            header,
            lambda i: (
                f"time {raw[i]!r} is in the future (later than {latest:%Y-%m-%d %H:%M} "
                f"{tz}, a day from now): a wrong year, or a clock or time zone set wrong?"
            ),
        )
    return out
