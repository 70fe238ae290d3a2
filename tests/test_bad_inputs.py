"""The corpus of bad and odd inputs: each file gives one clear line, never a traceback.

Every file in tests/data/bad/ holds one thing wrong (or one odd thing that must work)
and is read by the ``pingan`` command a user would run on it. For each the test asserts
the exit status, that the message names the file and the problem on one line, and that
nothing was written. Property tests then throw random tables at the layer readers and
random JSON at the scenario parser: they may refuse it, but only with the project's own
errors.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from geo.errors import LayerError, PinganError, ScenarioError
from geo.layers import check_layer, read_layer, read_villages
from geo.layers.columns import parse_times
from geo.layers.kinds import ALIASES, REQUIRED
from geo.layers.placement import COORD_ALIASES
from geo.layers.report import Report
from geo.scenarios import OPS, Edit, load_scenario, scenario_from_dict
from service.cli import main

BAD = Path(__file__).parent / "data" / "bad"
BASE = BAD / "base"


@dataclass(frozen=True)
class Case:
    """One corpus file, the command that reads it, and what the user must see."""

    file: str
    command: str  # "layers:KIND", "osm", "scenario", "coverage" or "within" (hotspots)
    message: str  # a substring of the one line naming the problem
    status: int


CASES = [
    # §6: a ring that does not close, read by layers check and by coverage.
    Case("villages_open_ring.geojson", "layers:villages", "do not form a closed linestring", 1),
    Case("villages_open_ring.geojson", "coverage", "do not form a closed linestring", 2),
    # §7: self-intersecting village polygons, NUL bytes, (0, 0), ragged CSV rows.
    Case("villages_self_intersecting.geojson", "layers:villages", "Self-intersection", 1),
    Case("villages_self_intersecting.geojson", "coverage", "make_valid", 2),
    Case("within_self_intersecting.geojson", "within", "feature 1: polygon is not valid", 2),
    Case("villages_nul_name.csv", "layers:villages", "contains a NUL character", 1),
    Case("villages_zero_point.csv", "layers:villages", "position (0, 0) is a placeholder", 1),
    Case("villages_extra_field_first_row.csv", "layers:villages", "has 5 fields but the header", 1),
    Case("villages_extra_field_later_row.csv", "layers:villages", "has 5 fields but the header", 1),
    Case("villages_utf16_no_bom.csv", "layers:villages", "binary or UTF-16", 1),
    Case("villages_undecodable.csv", "layers:villages", "--encoding", 1),
    Case("incidents_future_time.csv", "layers:incidents", "'2099-03-02 21:15' is in the future", 1),
    # OSM: impossible node locations and ids defined twice.
    Case("roads_latitude_95.osm", "osm", "node 3 (of way 1) at lon 114.31, lat 95: latitude", 2),
    Case("roads_node_at_zero.osm", "osm", "node 3 (of way 1) at lon 0, lat 0: (0, 0)", 2),
    Case("roads_duplicate_node.osm", "osm", "1 node id(s) occur more than once: 2 (2 times)", 2),
    Case("roads_duplicate_way.osm", "osm", "highway way id(s) occur more than once: 1", 2),
    # Scenarios: not UTF-8, binary, and edits that cannot be right.
    Case("scenario_gbk.json", "scenario", "not UTF-8 text", 2),
    Case("scenario_binary.json", "scenario", "a binary or UTF-16 file", 2),
    Case(
        "scenario_unknown_station_kind.json", "scenario", "unknown station kind 'headquarters'", 2
    ),
    Case("scenario_negative_members.json", "scenario", "'members' must be a whole number", 2),
    Case("scenario_point_at_zero.json", "scenario", "(0, 0) is a placeholder", 2),
    Case("scenario_nul_in_name.json", "scenario", "contains a NUL character", 2),
]


def run(case: Case, path: Path, out: Path) -> list[str]:
    """Return the ``pingan`` command line that reads ``path`` as the case says."""
    if case.command.startswith("layers:"):
        return ["layers", "check", str(path), "--kind", case.command.split(":")[1]]
    if case.command == "osm":
        return ["-q", "network", "build", "--osm", str(path), "--cache-dir", str(out)]
    if case.command == "scenario":
        good = BASE / "scenario.json"
        return ["-q", "scenario", "compare", str(path), str(good), "--out", str(out / "d.csv")]
    if case.command == "within":
        return [
            *("-q", "hotspots", "--osm", str(BASE / "roads.osm")),
            *("--incidents", str(BASE / "incidents.csv"), "--within", str(path)),
            *("--out", str(out), "--no-cache"),
        ]
    assert case.command == "coverage"
    return [
        *("-q", "coverage", "--osm", str(BASE / "roads.osm"), "--villages", str(path)),
        *("--stations", str(BASE / "stations.csv"), "--out", str(out), "--no-cache"),
    ]


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.command}-{c.file}")
def test_each_bad_file_gives_one_line_and_writes_nothing(case: Case, tmp_path: Path, capsys):
    """Each bad file exits with its status, one line naming file and problem, no output."""
    path = BAD / case.file
    out = tmp_path / "out"
    assert main(run(case, path, out)) == case.status
    captured = capsys.readouterr()
    err = lines(captured.err)
    assert len(err) == 1, captured.err
    if case.command.startswith("layers:"):
        # layers check lists the problems on stdout and counts them on stderr.
        (problem,) = lines(captured.out)
        assert err[0].endswith("1 problem(s) found")
    else:
        problem = err[0]
        assert problem.startswith("pingan: error: ")
        assert "Traceback" not in captured.err
    assert str(path) in problem
    assert case.message in problem
    # A failed build caches nothing (the cache's lock file may stay: it holds no data).
    written = [f for f in out.rglob("*") if f.is_file() and f.suffix != ".lock"]
    assert written == []


def test_every_corpus_file_is_read_by_a_test():
    """No file sits in the corpus untested: each is a case here or has a test of its own."""
    own = {
        "villages_gbk_with_utf8_bom.csv",  # test_gbk_file_with_a_utf8_bom_loads
        "scenario_utf8_bom.json",  # test_scenario_with_a_utf8_bom_is_read
        "clip_self_intersecting.wkt",  # test_a_self_intersecting_clip_polygon_is_refused
        "README.md",
    }
    files = {p.name for p in BAD.iterdir() if p.is_file()}
    assert files == {c.file for c in CASES} | own


def test_layers_check_error_line_has_the_prefix(capsys):
    """The one stderr line of a failed layers check starts "pingan: error:" like the rest."""
    assert main(["layers", "check", str(BAD / "villages_zero_point.csv"), "--kind", "villages"])
    assert capsys.readouterr().err.startswith("pingan: error: ")


def test_a_folder_given_as_osm_is_called_a_folder(tmp_path: Path, capsys):
    """A folder passed as --osm is named as a folder, not as a missing file."""
    assert main(["-q", "network", "build", "--osm", str(BAD), "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "does not exist" not in err and "folder" in err


def test_a_self_intersecting_clip_polygon_is_refused(tmp_path: Path, capsys):
    """A bow-tie clip polygon is an error with a hint, not a silently odd clip."""
    polygon = str(BAD / "clip_self_intersecting.wkt")
    args = ["-q", "network", "build", "--osm", str(BASE / "roads.osm"), "--polygon", polygon]
    assert main([*args, "--cache-dir", str(tmp_path)]) == 2
    assert "make_valid" in capsys.readouterr().err


def test_a_scenario_bbox_of_text_is_a_scenario_error():
    """A scenario whose base bbox holds text is refused as a scenario error."""
    base = {"osm": "a.osm", "villages": "v.csv", "stations": "s.csv", "bbox": ["w", 1, 2, 3]}
    with pytest.raises(ScenarioError, match="bbox"):
        scenario_from_dict({"name": "x", "base": base})


# ----------------------------------------------------------------------------- odd but fine


def test_gbk_file_with_a_utf8_bom_loads(capsys):
    """A GBK file that an editor prefixed with a UTF-8 BOM reads, detected or declared."""
    path = BAD / "villages_gbk_with_utf8_bom.csv"
    for extra in ([], ["--encoding", "gbk"]):
        assert main(["layers", "check", str(path), "--kind", "villages", *extra]) == 0
        assert "OK, a valid villages layer" in capsys.readouterr().out
    assert read_villages(path)["name"].tolist() == ["甲村"]


def test_scenario_with_a_utf8_bom_is_read(tmp_path: Path, capsys):
    """A scenario saved as UTF-8 with a BOM loads and compares, as the CSV readers accept one."""
    path = BAD / "scenario_utf8_bom.json"
    assert load_scenario(path).name == "带BOM的方案"
    out = tmp_path / "d.csv"
    assert main(["-q", "scenario", "compare", str(path), str(path), "--out", str(out)]) == 0
    assert "带BOM的方案" in capsys.readouterr().out
    assert out.read_text(encoding="utf-8").startswith("code,name")


def test_last_excel_serial_date_parses():
    """The last Excel serial accepted is 2100-12-31 23:59:59 (parsing alone: it is future)."""
    report = Report(file="i.csv", rows=np.array([1]))
    out = parse_times(pd.Series(["73415.999988426"]), "time", "Asia/Shanghai", report)
    assert out.tolist() == [pd.Timestamp("2100-12-31 23:59:59", tz="Asia/Shanghai")]
    assert report.total == 0


def test_a_time_within_a_day_of_now_is_not_future(tmp_path: Path):
    """Clocks run a little ahead: up to a day after now is accepted, later is refused."""
    now = pd.Timestamp.now(tz="Asia/Shanghai")
    soon, later = now + pd.Timedelta(hours=12), now + pd.Timedelta(days=2)
    path = tmp_path / "i.csv"
    path.write_text(
        f"id,time,category,lon,lat\n1,{soon:%Y-%m-%d %H:%M},x,114.3,30.9\n"
        f"2,{later:%Y-%m-%d %H:%M},x,114.3,30.9\n",
        encoding="utf-8",
    )
    assert [(p.row, "in the future" in p.message) for p in check_layer(path, "incidents")] == [
        (2, True)
    ]


def test_ragged_rows_are_all_named(tmp_path: Path):
    """Every row with a stray delimiter is named, not only the first pandas trips on."""
    path = tmp_path / "v.csv"
    path.write_text(
        "code,name,lon,lat\n420199100201,甲村,114.3,30.9\n420199100202,乙,村,114.3,30.9\n"
        "420199100203,丙村,114.3,30.9\n420199100204,丁,村,114.3,30.9\n",
        encoding="utf-8",
    )
    assert [p.row for p in check_layer(path, "villages")] == [2, 4]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"op": "add_station", "id": "P", "kind": "hq", "lon": 114.3, "lat": 30.9}, "kind 'hq'"),
        ({"op": "add_team", "id": "T", "members": -3, "lon": 114.3, "lat": 30.9}, "members"),
        ({"op": "add_team", "id": "T", "members": 2.5, "lon": 114.3, "lat": 30.9}, "members"),
        ({"op": "move_team", "id": "T", "lon": 0, "lat": 0}, r"\(0, 0\)"),
        ({"op": "add_station", "id": "P\x00", "lon": 114.3, "lat": 30.9}, "NUL"),
        ({"op": "add_station", "id": "P", "name": "a\x00b", "lon": 114.3, "lat": 30.9}, "NUL"),
        ({"op": "remove_station", "id": "P", "lon": 114.3}, "'lat' must be a number"),
        ({"op": "set_speed", "edges": [1], "kmh": float("inf")}, "positive number"),
        ({"op": "close_road", "edges": [-1]}, "no id"),
        ({"op": "close_road", "edges": [1], "both_directions": "no"}, "true or false"),
        ({"op": ["add_station"]}, "unknown edit op"),
    ],
)
def test_edit_validation(edit: dict[str, object], message: str):
    """Edits that cannot be right are refused when the scenario is read."""
    base = {"osm": "a.osm", "villages": "v.csv", "stations": "s.csv"}
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict({"name": "x", "base": base, "edits": [edit]})


# ----------------------------------------------------------------------------- properties

# Deterministic examples keep the suite stable; the strategies still reach every branch.
PROPERTY = settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "NA",
            "nan",
            "inf",
            "-inf",
            "1e400",
            "9" * 400,
            "-" + "9" * 30,
            "0",
            "0.0",
            "114.3",
            "30.9",
            "420199100201",
            "2025-03-02 21:15",
            "2099-01-01",
            "45718.885416667",
            "03/02/2025",
            "派出所",
            "警务室",
            "村",
            '"',
            ",",
            "\n",
            "\r\n",
            "\ufeff",
            "a;b；c",
        ]
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


def headers_for(kind: str) -> list[str]:
    names = [a for aliases in ALIASES[kind].values() for a in aliases]
    names += [a for aliases in COORD_ALIASES.values() for a in aliases]
    return names + ["other", ""]


def _good_and_odd(good: st.SearchStrategy[str], *odd: str) -> st.SearchStrategy[str]:
    """Mostly ``good`` values, sometimes one of the ``odd`` ones."""
    return st.one_of(good, good, good, st.sampled_from(odd)) if odd else good


_CODE = st.integers(200, 399).map(lambda n: f"420199100{n}")
_ID = st.integers(0, 10**6).map(str)
#: Plausible cells per canonical column, so random tables also reach (and pass) the checks.
PLAUSIBLE: dict[str, st.SearchStrategy[str]] = {
    "code": _good_and_odd(_CODE, "420199100401", "4201991002", "420199100201"),
    "village_code": _good_and_odd(_CODE, "42019910020"),
    "id": _good_and_odd(_ID, "1", ""),
    "name": _good_and_odd(st.sampled_from(["甲村", "乙派出所", "T-1"]), ""),
    "kind": st.sampled_from(["村", "社区", "派出所", "警务室", "post", "", "hq"]),
    "time": _good_and_odd(
        st.sampled_from(["2025-03-02 21:15", "2025/3/2 21:15", "2025年3月2日 21时15分"]),
        "2099-01-01",
        "03/02/2025",
    ),
    "category": _good_and_odd(st.sampled_from(["theft", "fight"]), ""),
    "members": _good_and_odd(st.integers(1, 40).map(str), "-3", "2.5", "0"),
    "home_unit": _good_and_odd(st.just("PS-01"), ""),
    "households": _good_and_odd(st.integers(0, 500).map(str), "-1"),
    "lon": _good_and_odd(st.floats(114.2, 114.4).map(str), "0", "200"),
    "lat": _good_and_odd(st.floats(30.8, 31.0).map(str), "0", "95"),
    "x": _good_and_odd(st.floats(400_000, 600_000).map(str), "0", "1e9"),
    "y": _good_and_odd(st.floats(3_400_000, 3_450_000).map(str), "0"),
}


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, bytes, str | None]:
    """A layer kind, a CSV file for it and a declared CRS: headers from its aliases.

    Half the tables have the kind's required columns and coordinates, under any of
    their aliases, with plausible cells mixed with any text; the rest any headers.
    """
    kind = draw(st.sampled_from(sorted(ALIASES)))
    aliases = {**ALIASES[kind], **COORD_ALIASES}
    if draw(st.booleans()):
        canon = [*REQUIRED[kind], *draw(st.sampled_from([("lon", "lat"), ("x", "y")]))]
        canon += draw(st.lists(st.sampled_from(sorted(aliases)), max_size=2, unique=True))
        canon = list(dict.fromkeys(canon))
        header = [draw(st.sampled_from(aliases[c])) for c in canon]
        cell = [st.one_of(PLAUSIBLE.get(c, CELL), CELL) for c in canon]
        row = st.tuples(*cell).map(list)
    else:
        header = draw(st.lists(st.sampled_from(headers_for(kind)), min_size=1, max_size=8))
        row = st.lists(CELL, min_size=len(header), max_size=len(header))
    ragged = st.lists(CELL, max_size=len(header) + 1)
    rows = draw(st.lists(st.one_of(row, row, row, ragged), min_size=1, max_size=6))
    buffer = io.StringIO()
    if draw(st.booleans()):
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    else:  # hand-made: no quoting at all, so delimiters and quotes inside cells break rows
        buffer.write("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "gb18030", "utf-16"]))
    lonlat = "lon" in header or not {"x", "y"} & set(header)
    crs = draw(
        st.sampled_from([None, "wgs84", "gcj02", "bd09"] if lonlat else ["EPSG:32650", None])
        | st.sampled_from([None, "wgs84", "EPSG:4547", "nonsense"])
    )
    return kind, text.encode(encoding, errors="replace"), crs


@PROPERTY
@given(tables())
@example(("incidents", b"id,category,severity,time\n,,\n,,9223372036854775296\n", None))
@example(("villages", b"code,name,lon,lat\n420199100201,a,114.3,30.9,\n", None))
@example(("teams", b"id,name,unit,members,x,y\n1,a,b,2,0,0\n", "EPSG:4547"))
def test_layer_readers_raise_only_layer_errors(tmp_path_factory, table):
    """Whatever a CSV holds, a reader returns a layer or raises LayerError, nothing else."""
    kind, data, crs = table
    path = tmp_path_factory.getbasetemp() / "property.csv"
    path.write_bytes(data)
    try:
        gdf = read_layer(path, kind, crs=crs)  # type: ignore[arg-type]
    except LayerError as exc:
        assert exc.problems and all(p.file == str(path) for p in exc.problems)
    else:
        assert len(gdf) > 0


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def mostly(likely: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """Three times in four ``likely``, else any JSON value."""
    # one_of() would merge repeated branches, so the weight is drawn explicitly.
    return st.integers(0, 3).flatmap(lambda k: likely if k else JSON)


_IDS = st.lists(st.integers(min_value=-5, max_value=2**64), max_size=3)
_STRETCH = st.fixed_dictionaries(
    {"road": mostly(st.integers(-1, 9)), "from_m": mostly(st.floats()), "to_m": JSON}
)
#: Each edit field with values of about its type (and any JSON now and then).
FIELDS: dict[str, st.SearchStrategy[object]] = {
    "id": mostly(st.sampled_from(["P-1", "T-1", "", "\x00", "PS-01"]) | st.integers()),
    "lon": mostly(st.floats(min_value=-200, max_value=200) | st.just(0)),
    "lat": mostly(st.floats(min_value=-100, max_value=100) | st.just(0)),
    "name": mostly(st.text(max_size=6)),
    "kind": mostly(st.sampled_from(["station", "post", "hq", ""])),
    "members": mostly(st.integers(-5, 50)),
    "skills": mostly(st.text(max_size=6)),
    "edges": mostly(_IDS),
    "osm_ways": mostly(_IDS),
    "roads": mostly(_IDS),
    "stretches": mostly(st.lists(_STRETCH, max_size=2)),
    "kmh": mostly(st.floats()),
    "factor": mostly(st.floats()),
    "both_directions": mostly(st.booleans()),
}
FIELD_NAMES = sorted(FIELDS)
VALUE = st.one_of(*FIELDS.values())
EDIT = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"op": st.sampled_from([*OPS, "fly"])},
        optional=FIELDS,  # type: ignore[arg-type]
    ),
)
# The base is an area file's table; its bbox is left out while area.py lets a bbox of
# text through (test_a_scenario_bbox_of_text_is_a_scenario_error).
BASE_KEYS = ["osm", "villages", "stations", "teams", "incidents", "mode", "modes", "name", "x"]
_BASE = st.fixed_dictionaries(
    {
        "osm": st.text(min_size=1, max_size=4),
        "villages": st.text(min_size=1, max_size=4),
        "stations": st.text(min_size=1, max_size=4),
    },
    optional={"teams": mostly(st.text(max_size=4)), "mode": st.sampled_from(["car", "boat", 1])},
)
SCENARIO = mostly(
    st.fixed_dictionaries(
        {
            "name": mostly(st.text(max_size=6)),
            "base": mostly(_BASE | st.dictionaries(st.sampled_from(BASE_KEYS), JSON)),
        },
        optional={
            "edits": mostly(st.lists(EDIT, max_size=3)),
            "thresholds_min": mostly(st.lists(st.floats(), max_size=3)),
            "description": mostly(st.text(max_size=6)),
        },
    ),
)


@PROPERTY
@given(SCENARIO)
def test_scenario_parser_raises_only_scenario_errors(data):
    """Whatever JSON a scenario holds, parsing it succeeds or raises ScenarioError."""
    with contextlib.suppress(ScenarioError):
        scenario_from_dict(data)  # type: ignore[arg-type]


@PROPERTY
@given(st.one_of(SCENARIO.map(lambda d: json.dumps(d).encode()), st.binary(max_size=64)))
def test_scenario_files_raise_only_scenario_errors(tmp_path_factory, data):
    """Whatever bytes a scenario file holds, loading it succeeds or raises ScenarioError."""
    path = tmp_path_factory.getbasetemp() / "property.json"
    path.write_bytes(data)
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert str(path) in str(exc)


@PROPERTY
@given(st.sampled_from(sorted(OPS)), st.dictionaries(st.sampled_from(FIELD_NAMES), VALUE))
def test_edits_raise_only_scenario_errors(op, fields):
    """An edit built from any fields is valid or raises ScenarioError."""
    try:
        Edit(op, fields)
    except PinganError as exc:
        assert isinstance(exc, ScenarioError)
