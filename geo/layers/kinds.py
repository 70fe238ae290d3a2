"""What each layer is: its headers, required columns, output schema and attribute rules.

Villages are checked against the NBS 统计用区划代码 (12 digits: township = the first 9,
district = the first 6, committee class = digits 10-12); stations, incidents, teams and
auxiliary officers against their own vocabularies. Every rule reports to the
:class:`Report`; nothing raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.layers.columns import (
    categorical,
    integers,
    localize,
    parse_times,
    text_optional,
    text_required,
)
from geo.layers.report import Report

__all__ = [
    "ALIASES",
    "GEOMETRY_TYPES",
    "BOUNDARY_COLUMNS",
    "GROUP_COLUMNS",
    "INCIDENT_COLUMNS",
    "OFFICER_COLUMNS",
    "REQUIRED",
    "STATION_COLUMNS",
    "TEAM_COLUMNS",
    "UNIQUE_KEYS",
    "VILLAGE_COLUMNS",
    "LayerKind",
    "attributes",
]

LayerKind: TypeAlias = Literal[
    "villages", "incidents", "stations", "teams", "groups", "boundaries", "officers"
]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

#: The column that identifies each row of a layer: no two rows may share a value.
UNIQUE_KEYS: Final[dict[str, str]] = {
    "villages": "code",
    "incidents": "id",
    "stations": "id",
    "teams": "id",
    "groups": "code",
    "boundaries": "code",
    "officers": "id",
}

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
TEAM_COLUMNS: Final = ("id", "name", "home_unit", "members", "skills", "leader")
GROUP_COLUMNS: Final = ("code", "name", "village_code", "households")
BOUNDARY_COLUMNS: Final = ("code", "name")
OFFICER_COLUMNS: Final = ("id", "name", "village_code", "phone", "unit")

# Header aliases per layer, canonical name first. Headers are matched after stripping,
# lower-casing and turning spaces/hyphens into underscores.
ALIASES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
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
        "hour": ("hour", "occurrence_hour", "occurrencehour", "小时", "发生小时"),
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
    "groups": {
        "code": ("code", "group_code", "编码", "代码", "小组编码"),
        "name": ("name", "名称", "小组", "村民小组"),
        "village_code": ("village_code", "村代码", "村编码", "所属村代码", "统计用区划代码"),
        "households": ("households", "户数"),
    },
    "boundaries": {
        "code": ("code", "代码", "统计用区划代码", "区划代码"),
        "name": ("name", "名称"),
    },
    "teams": {
        "id": ("id", "team_id", "编号"),
        "name": ("name", "名称", "队名"),
        "home_unit": ("home_unit", "unit", "所属单位", "单位"),
        "members": ("members", "size", "人数"),
        "skills": ("skills", "技能", "专长"),
        "leader": ("leader", "队长", "负责人", "带队"),
    },
    # Auxiliary officers (辅警): "one village, one auxiliary officer" (一村一辅警).
    "officers": {
        "id": ("id", "officer_id", "编号", "警号"),
        "name": ("name", "姓名"),
        "village_code": ("village_code", "所属村代码", "村代码", "驻村代码"),
        "phone": ("phone", "电话", "联系电话"),
        "unit": ("unit", "所属派出所"),
    },
}

#: Columns each layer cannot do without (canonical names).
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "villages": ("code", "name"),
    # Many exports carry no incident number; rows then get one from their position.
    "incidents": ("time", "category"),
    "stations": ("id", "name"),
    "teams": ("id", "name", "home_unit", "members"),
    "groups": ("code", "village_code", "households"),
    "boundaries": ("code",),
    # An officer not yet placed has an empty village code; the column itself is needed.
    "officers": ("id", "name", "village_code"),
}

_POINT: Final = frozenset({0})
#: Shapely type ids each layer's vector file may hold: villages may also be (Multi)Polygons.
GEOMETRY_TYPES: Final[dict[str, frozenset[int]]] = {
    "villages": frozenset({0, 3, 6}),
    "incidents": _POINT,
    "stations": _POINT,
    "teams": _POINT,
    "groups": _POINT,
    "boundaries": frozenset({3, 6}),
    "officers": _POINT,
}


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
# ----------------------------------------------------------------------------- attributes


def _committee_kinds(code: pd.Series[str], valid: BoolArray) -> pd.Series[Any]:
    digits = np.zeros(len(code), dtype=np.int64)
    digits[valid] = code[valid].str[9:12].astype("int64").to_numpy()
    conditions = [(digits >= lo) & (digits <= hi) & valid for lo, hi, _ in _COMMITTEE_BINS]
    names = [name for _, _, name in _COMMITTEE_BINS]
    picked = np.select(conditions, names, default="")
    return pd.Series(picked, dtype="str").replace("", np.nan)


def _village_attributes(
    table: pd.DataFrame, cols: Mapping[str, str], report: Report
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
        given = categorical(table, cols["kind"], _VILLAGE_KINDS, report)
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
        "name": text_required(table, cols["name"], report),
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
        out[name_col] = text_optional(table, cols, name_col)
    for canon in ("population", "households"):
        if canon in cols:
            out[canon] = integers(table, cols[canon], report, minimum=0)
        else:
            out[canon] = pd.Series(pd.array([pd.NA] * len(table), dtype="Int64"))
    return {c: out[c] for c in VILLAGE_COLUMNS}


def _incident_attributes(
    table: pd.DataFrame, cols: Mapping[str, str], tz: str, first: int, report: Report
) -> dict[str, pd.Series[Any]]:
    if "id" in cols:
        ident = text_required(table, cols["id"], report)
    else:
        ident = pd.Series([f"R{i}" for i in range(first + 1, first + len(table) + 1)], dtype="str")
    # A few categories over millions of rows: lower-case each name once and share it.
    codes, names = pd.factorize(table[cols["category"]])
    lowered = np.asarray(names.str.lower(), dtype=object)
    category = pd.Series(lowered[codes] if len(codes) else [], dtype="str", index=table.index)
    report.flag(category == "", cols["category"], "value is empty")
    # Times are local to tz; a day of slack covers clocks and zones set a little wrong.
    latest = pd.Timestamp.now(tz=tz) + pd.Timedelta(days=1)
    times = parse_times(table[cols["time"]], cols["time"], tz, report, latest=latest)
    if "hour" in cols:
        times = _with_hour(times, table, cols["hour"], tz, report)
    return {
        "id": ident,
        "time": times,
        "category": category,
        "severity": (
            integers(table, cols["severity"], report)
            if "severity" in cols
            else pd.Series(pd.array([pd.NA] * len(table), dtype="Int64"))
        ),
        "description": text_optional(table, cols, "description"),
    }


def _with_hour(
    times: pd.Series[Any], table: pd.DataFrame, header: str, tz: str, report: Report
) -> pd.Series[Any]:
    """Set each time's clock to the hour column's (exports that give a date and an hour).

    Toronto's open data, for one, stores the day as local midnight and the hour apart;
    night windows need the hour, read on the local calendar day.
    """
    hour = integers(table, header, report, minimum=0, required=True)
    late = (hour > 23).fillna(False).to_numpy(dtype=bool)
    text = table[header].tolist()
    report.flag(late, header, lambda i: f"hour {text[i]!r} is not 0-23")
    ok = hour.notna().to_numpy() & ~late
    day = times.dt.tz_localize(None).dt.normalize()
    wall = day + pd.to_timedelta(np.where(ok, hour.fillna(0).to_numpy(dtype=np.int64), 0), "h")
    return localize(wall, tz).where(ok)


def _station_attributes(
    table: pd.DataFrame, cols: Mapping[str, str], report: Report
) -> dict[str, pd.Series[Any]]:
    ident = text_required(table, cols["id"], report)
    if "kind" in cols:
        kind = categorical(table, cols["kind"], _STATION_KINDS, report).fillna("station")
    else:
        kind = pd.Series(["station"] * len(table), dtype="str")
    township = text_optional(table, cols, "township_code")
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
        "name": text_required(table, cols["name"], report),
        "kind": kind.astype("str"),
        "township_code": township,
    }


def _team_attributes(
    table: pd.DataFrame, cols: Mapping[str, str], report: Report
) -> dict[str, pd.Series[Any]]:
    ident = text_required(table, cols["id"], report)
    members = integers(table, cols["members"], report, minimum=1, required=True)
    if "skills" in cols:
        raw = table[cols["skills"]].str.lower()
        # Offices separate skills with ; or Chinese punctuation; store one canonical form.
        skills = raw.str.replace(r"\s*[;；,，、]\s*", ";", regex=True)
        skills = skills.str.replace(r";{2,}", ";", regex=True).str.strip("; ")
    else:
        skills = pd.Series([""] * len(table), dtype="str")
    return {
        "id": ident,
        "name": text_required(table, cols["name"], report),
        "home_unit": text_required(table, cols["home_unit"], report),
        "members": members.fillna(0).astype("int64"),
        "skills": skills.astype("str"),
        "leader": _text_or_empty(table, cols, "leader"),
    }


def _text_or_empty(table: pd.DataFrame, cols: Mapping[str, str], canon: str) -> pd.Series[Any]:
    """Return an optional text column as ``str``, "" where empty or when it is absent."""
    if canon not in cols:
        return pd.Series([""] * len(table), dtype="str")
    return table[cols[canon]].astype("str")


def _officer_attributes(
    table: pd.DataFrame, cols: Mapping[str, str], report: Report
) -> dict[str, pd.Series[Any]]:
    header = cols["village_code"]
    code = table[header]
    text = code.tolist()
    # Empty is allowed: an officer not yet placed in a village.
    report.flag(
        (code != "").to_numpy() & ~code.str.fullmatch(r"\d{12}").to_numpy(),
        header,
        lambda i: (
            f"village code {text[i]!r} is not 12 digits (leave it empty for an officer "
            "not yet placed)"
        ),
    )
    return {
        "id": text_required(table, cols["id"], report),
        "name": text_required(table, cols["name"], report),
        "village_code": code.astype("str"),
        "phone": _text_or_empty(table, cols, "phone"),
        "unit": _text_or_empty(table, cols, "unit"),
    }


def attributes(
    kind: LayerKind,
    table: pd.DataFrame,
    cols: Mapping[str, str],
    report: Report,
    *,
    tz: str,
    first: int = 0,
) -> dict[str, pd.Series[Any]]:
    """Check and convert a layer's attribute columns, reporting every bad cell.

    Parameters
    ----------
    kind
        The layer kind; its `REQUIRED` columns must all be in ``cols``.
    table
        The layer's text table.
    cols
        Canonical column names to the file's headers.
    report
        Collects every problem found.
    tz
        IANA time zone of incident times (unused by the other kinds).
    first
        Position of the table's first row among all the layer's rows (a file read in
        chunks): incidents without ids are numbered from it.

    Returns
    -------
    dict of str to pandas.Series
        The layer's output columns (e.g. `VILLAGE_COLUMNS`), in order. Their uniqueness
        (`UNIQUE_KEYS`) is checked by the caller, over all the chunks of a file.
    """
    if kind == "villages":
        return _village_attributes(table, cols, report)
    if kind == "incidents":
        return _incident_attributes(table, cols, tz, first, report)
    if kind == "stations":
        return _station_attributes(table, cols, report)
    if kind == "groups":
        return _group_attributes(table, cols, report)
    if kind == "boundaries":
        return _boundary_attributes(table, cols, report)
    if kind == "officers":
        return _officer_attributes(table, cols, report)
    return _team_attributes(table, cols, report)


def _village_code(table: pd.DataFrame, col: str, report: Report) -> pd.Series[Any]:
    code = table[col]
    text = code.tolist()
    report.flag(
        (code != "").to_numpy() & ~code.str.fullmatch(r"\d{12}").to_numpy(),
        col,
        lambda i: f"village code {text[i]!r} is not 12 digits",
    )
    report.flag(code == "", col, "value is empty")
    return code.astype("str")


def _group_attributes(
    table: pd.DataFrame, cols: Mapping[str, str], report: Report
) -> dict[str, pd.Series[Any]]:
    ident = text_required(table, cols["code"], report)
    name = text_optional(table, cols, "name")
    return {
        "code": ident,
        "name": name.fillna(ident) if name.isna().any() else name,
        "village_code": _village_code(table, cols["village_code"], report),
        "households": integers(table, cols["households"], report, minimum=0, required=True)
        .fillna(0)
        .astype("int64"),
    }


def _boundary_attributes(
    table: pd.DataFrame, cols: Mapping[str, str], report: Report
) -> dict[str, pd.Series[Any]]:
    code = _village_code(table, cols["code"], report)
    return {"code": code, "name": text_optional(table, cols, "name")}
