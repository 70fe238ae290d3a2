"""``pingan teams ...`` as a planner runs it: on the sample, on a real OSM file, and wrong."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

from service.cli import main
from service.teams import ASSIGNMENT_HEADERS, SCORE_HEADERS


@pytest.fixture(scope="module")
def sample_args(tmp_path_factory):
    out = tmp_path_factory.mktemp("teams")
    return out, ["--sample-dir", str(out / "sample"), "--cache-dir", str(out / "c")]


@pytest.fixture(scope="module")
def assigned(sample_args):
    out, area = sample_args
    rc = main(["-q", "teams", "assign", *area, "--per-township", "3", "--out", str(out / "a")])
    return out / "a", rc


def test_assign_writes_the_office_tables(assigned, capsys) -> None:
    """Exit 0; CSV (with a BOM for Excel), XLSX, need table, routes and report written."""
    o, rc = assigned
    assert rc == 0
    for name in (
        "teams_assignment.csv",
        "teams_assignment.xlsx",
        "teams_villages.csv",
        "teams_routes.geojson",
        "teams.md",
    ):
        assert (o / name).is_file(), name
    raw = (o / "teams_assignment.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(o / "teams_assignment.csv", encoding="utf-8-sig", dtype=str)
    assert list(table.columns) == list(ASSIGNMENT_HEADERS.values())
    assert table["队编号"].is_unique and table["派驻村"].is_unique
    # Every village's need row says where it is and why.
    need = pd.read_csv(o / "teams_villages.csv", encoding="utf-8-sig", dtype=str)
    assert need["评分说明"].str.contains("需求分").all()
    assert need["统计用区划代码"].str.fullmatch(r"\d{12}").all()
    # --per-township 3 holds.
    assert table["乡镇街道"].value_counts().max() <= 3


def test_the_xlsx_round_trips_with_its_headers(assigned) -> None:
    """The workbook holds the CSV's rows and headers exactly, codes kept as text."""
    o, _ = assigned
    book = openpyxl.load_workbook(o / "teams_assignment.xlsx")
    assert book.sheetnames == ["派驻表", "村需求评分"]
    rows = list(book["派驻表"].iter_rows(values_only=True))
    assert list(rows[0]) == list(ASSIGNMENT_HEADERS.values())
    csv = pd.read_csv(o / "teams_assignment.csv", encoding="utf-8-sig", dtype=str)
    sheet = pd.DataFrame(rows[1:], columns=rows[0])
    assert sheet["统计用区划代码"].map(type).eq(str).all()  # not numbers: 12 digits stay exact
    for col in csv.columns:
        want = csv[col].fillna("").tolist()
        got = ["" if v is None else str(v) for v in sheet[col]]
        if col in ("车程（分钟）", "里程（公里）", "需求分"):
            assert [float(g) for g in got] == pytest.approx([float(w) for w in want])
        else:
            assert got == want, col
    need = list(book["村需求评分"].iter_rows(values_only=True))
    # Every column but the border check, which only a province's districts have.
    assert list(need[0]) == [h for c, h in SCORE_HEADERS.items() if c != "border_exact"]
    assert len(need) - 1 == 95  # every village of the sample


def test_routes_geojson_has_one_road_route_per_team(assigned) -> None:
    """Each team's route is a line in WGS84 from its base to its village."""
    o, _ = assigned
    data = json.loads((o / "teams_routes.geojson").read_text(encoding="utf-8"))
    assert len(data["features"]) == 8
    for f in data["features"]:
        assert f["geometry"]["type"] in ("LineString", "MultiLineString")
        lon, lat = f["geometry"]["coordinates"][0][:2]
        assert 113 < lon < 116 and 29 < lat < 32


def test_english_headers_on_request(sample_args) -> None:
    """--lang en heads the tables with the column names."""
    out, area = sample_args
    assert main(["-q", "teams", "assign", *area, "--lang", "en", "--out", str(out / "en")]) == 0
    table = pd.read_csv(out / "en" / "teams_assignment.csv", encoding="utf-8-sig")
    assert list(table.columns) == list(ASSIGNMENT_HEADERS)


def test_infeasible_limits_exit_2_naming_the_teams(sample_args, capsys) -> None:
    """A cap no team can meet is one clear error naming teams, not a traceback."""
    out, area = sample_args
    rc = main(["-q", "teams", "assign", *area, "--cap-min", "2", "--out", str(out / "x")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "no assignment" in err and "VT-0" in err and "Traceback" not in err
    assert not (out / "x" / "teams_assignment.csv").exists()


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--forbid", "VT-01"], "write TEAM:VILLAGE_CODE"),
        (["--need", "420199100252"], "write VILLAGE_CODE:skill"),
        (["--weights", "lamps=2"], "lamps=2"),
        (["--pin", "123"], "no village with code 123"),
        (["--per-township", "0"], "per_township"),
    ],
)
def test_bad_options_are_named(sample_args, capsys, extra, match) -> None:
    """Each bad option gives status 2 and a message naming it."""
    out, area = sample_args
    assert main(["-q", "teams", "assign", *area, *extra, "--out", str(out / "bad")]) == 2
    assert match in capsys.readouterr().err


def test_officers_command_lists_gaps_and_proposals(sample_args, capsys) -> None:
    """The sample's two villages without an auxiliary officer get one proposed each."""
    out, area = sample_args
    assert main(["-q", "teams", "officers", *area, "--out", str(out / "o")]) == 0
    gaps = pd.read_csv(out / "o" / "officers_gaps.csv", encoding="utf-8-sig", dtype=str)
    props = pd.read_csv(out / "o" / "officers_proposals.csv", encoding="utf-8-sig", dtype=str)
    assert len(gaps) == 2 and set(props["统计用区划代码"]) == set(gaps["统计用区划代码"])
    assert "2 have none" in capsys.readouterr().out
    assert openpyxl.load_workbook(out / "o" / "officers.xlsx").sheetnames[0] == "缺辅警的村"


def test_briefing_goes_to_the_assigned_village(sample_args, assigned) -> None:
    """Without --village, a team's briefing is of the village the assignment gives it."""
    out, area = sample_args
    args = ["-q", "teams", "briefing", *area, "--team", "VT-02", "--per-township", "3"]
    assert main([*args, "--out", str(out / "b")]) == 0
    o, _ = assigned
    table = pd.read_csv(o / "teams_assignment.csv", encoding="utf-8-sig", dtype=str)
    village = table.loc[table["队编号"] == "VT-02", "统计用区划代码"].item()
    summary = json.loads((out / "b" / "briefings" / "VT-02.json").read_text(encoding="utf-8"))
    assert summary["village"] == village and summary["team"] == "VT-02"
    geo = json.loads((out / "b" / "briefings" / "VT-02.geojson").read_text(encoding="utf-8"))
    layers = {f["properties"]["layer"] for f in geo["features"]}
    assert {"ground", "road", "route", "station", "base"} <= layers
    assert "VT-02" in (out / "b" / "briefings" / "VT-02.md").read_text(encoding="utf-8")


def test_briefing_of_an_unknown_team_is_named(sample_args, capsys) -> None:
    """An unknown team id exits 2 listing the teams there are."""
    out, area = sample_args
    assert main(["-q", "teams", "briefing", *area, "--team", "VT-99", "--out", str(out)]) == 2
    assert "VT-99" in capsys.readouterr().err


def test_teams_on_a_real_osm_file(shared_path, tmp_path) -> None:
    """On Guixi's real roads with small tables of one's own: same files, same checks."""
    osm = shared_path("nonwuhan_guixi_jiangxi_cn.osm.bz2")
    (tmp_path / "villages.csv").write_text(
        "代码,名称,乡镇,经度,纬度,人口\n"
        "360681100201,花园村,贵溪镇,117.2010,28.2950,800\n"
        "360681100202,黄坑村,贵溪镇,117.2300,28.3150,400\n"
        "360681100203,柏里村,贵溪镇,117.2450,28.2900,1200\n"
        "360681101204,塘湾村,雄石镇,117.2100,28.3180,900\n",
        encoding="utf-8",
    )
    (tmp_path / "stations.csv").write_text(
        "id,name,kind,township_code,lon,lat\nS1,贵溪派出所,station,360681100,117.2150,28.3000\n",
        encoding="utf-8",
    )
    (tmp_path / "teams.csv").write_text(
        "编号,队名,队长,所属单位,人数,lon,lat\n"
        "T01,雷锋先锋队,王强,S1,10,117.2150,28.3000\nT02,徐虎先锋队,李明,S1,9,117.2152,28.3002\n",
        encoding="utf-8",
    )
    args = ["-q", "teams", "assign", "--osm", str(osm), "--cache-dir", str(tmp_path / "c")]
    args += ["--villages", str(tmp_path / "villages.csv")]
    args += ["--stations", str(tmp_path / "stations.csv"), "--teams", str(tmp_path / "teams.csv")]
    assert main([*args, "--min-max", "--out", str(tmp_path / "o")]) == 0
    table = pd.read_csv(tmp_path / "o" / "teams_assignment.csv", encoding="utf-8-sig", dtype=str)
    assert len(table) == 2 and set(table["队长"]) == {"王强", "李明"}
    assert (table["车程（分钟）"].astype(float) > 0).all()
