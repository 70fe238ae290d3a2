"""Tests for geo.layers: every reader, format, CRS case and error path."""

from __future__ import annotations

import gzip
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geo.coords import CRSLike, from_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from geo.errors import LayerError, Problem
from geo.layers import (
    INCIDENT_COLUMNS,
    MAX_PROBLEMS,
    STATION_COLUMNS,
    TEAM_COLUMNS,
    VILLAGE_COLUMNS,
    check_layer,
    read_incidents,
    read_layer,
    read_stations,
    read_teams,
    read_villages,
)

LAYERS = Path(__file__).parent / "data" / "layers"
# 木兰乡, 黄陂区 (Wuhan): well inside UTM zone 50N.
LON, LAT = 114.39, 31.05
TO_UTM50 = pyproj.Transformer.from_crs(4326, 32650, always_xy=True)

STATIONS_CSV = (
    "id,name,kind,lon,lat\n001,木兰派出所,派出所,114.39,31.05\n002,胜天警务室,,114.40,31.06\n"
)
VILLAGES_CSV = (
    "code,name,population,households,lon,lat\n"
    "420116201200,胜天村,1520,430,114.40,31.05\n"
    "420116201001,木兰乡社区,,,114.39,31.04\n"
)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def problem(row: int | None, column: str | None, message: str) -> str:
    """Return a regex matching a LayerError line for the given row, column and message."""
    where = ""
    if row is not None:
        where += f", row {row}"
    if column is not None:
        where += f", column {column!r}"
    return re.escape(where) + ": " + message


def distance_to_truth(gdf: gpd.GeoDataFrame, lon: float = LON, lat: float = LAT) -> float:
    x, y = TO_UTM50.transform(lon, lat)
    return float(gdf.to_crs(32650).geometry.iloc[0].distance(shapely.Point(x, y)))


# ----------------------------------------------------------------------------- real data


@pytest.mark.shared
def test_real_nbs_villages_counts(shared_data: Path) -> None:
    """The NBS 2023 Wuhan list reads attribute-only, with NBS-derived kinds and codes."""
    path = shared_data / "wuhan_villages_nbs2023.csv.gz"
    if not path.is_file():
        pytest.skip(f"real data file {path} is absent")
    villages = read_villages(path, require_geometry=False)
    assert len(villages) == 3495
    assert list(villages.columns) == [*VILLAGE_COLUMNS, "lon", "lat", "geometry"]
    villagers = villages["committee_kind"] == "villagers_committee"
    assert villagers.sum() == 1887
    assert (villagers & (villages["district"] == "黄陂区")).sum() == 587
    assert (villages["kind"] == "village").sum() == 1887 + 56  # + quasi-villagers
    assert set(villages.loc[villagers, "kind"]) == {"village"}
    assert (villages["township_code"] == villages["code"].str[:9]).all()
    assert (villages["district_code"] == villages["code"].str[:6]).all()
    assert villages["code"].str.fullmatch(r"\d{12}").all()
    assert villages.geometry.isna().all()
    assert villages["lon"].isna().all()
    assert villages.crs == pyproj.CRS.from_epsg(4326)
    assert "township_kind" not in villages.columns


# ----------------------------------------------------------------------------- schemas


def test_villages_csv_schema_and_types(tmp_path: Path) -> None:
    """Village columns come in schema order with codes as strings and counts as Int64."""
    villages = read_villages(write(tmp_path, "v.csv", VILLAGES_CSV))
    assert list(villages.columns) == [*VILLAGE_COLUMNS, "lon", "lat", "geometry"]
    assert villages["code"].tolist() == ["420116201200", "420116201001"]
    assert villages["kind"].tolist() == ["village", "community"]
    assert villages["committee_kind"].tolist() == ["villagers_committee", "residents_committee"]
    assert villages["township_code"].tolist() == ["420116201"] * 2
    assert villages["district_code"].tolist() == ["420116"] * 2
    assert villages["township"].tolist() == [None, None]
    assert str(villages["population"].dtype) == "Int64"
    assert villages["population"].tolist()[0] == 1520
    assert villages["households"].isna().tolist() == [False, True]
    assert villages["lon"].tolist() == [114.40, 114.39]
    assert villages.crs.to_epsg() == 32650


@pytest.mark.parametrize(
    ("code", "committee", "kind"),
    [
        ("420116201001", "residents_committee", "community"),
        ("420116201199", "residents_committee", "community"),
        ("420116201200", "villagers_committee", "village"),
        ("420116201399", "villagers_committee", "village"),
        ("420116201400", "quasi_residents_committee", "community"),
        ("420116201500", "quasi_villagers_committee", "village"),
        ("420116201599", "quasi_villagers_committee", "village"),
    ],
)
def test_village_kind_derived_from_code(
    tmp_path: Path, code: str, committee: str, kind: str
) -> None:
    """Without a kind column, code digits 10-12 give committee_kind and kind (NBS rule)."""
    path = write(tmp_path, "v.csv", f"code,name,lon,lat\n{code},X,114.4,31.0\n")
    villages = read_villages(path)
    assert villages["committee_kind"].iloc[0] == committee
    assert villages["kind"].iloc[0] == kind


def test_village_kind_aliases(tmp_path: Path) -> None:
    """A kind column overrides the code-derived kind; Chinese and NBS names are accepted."""
    rows = [
        ("420116201001", "村", "village"),
        ("420116201002", "村委会", "village"),
        ("420116201003", "villagers_committee", "village"),
        ("420116201004", "Quasi_Villagers_Committee", "village"),
        ("420116201201", "社区", "community"),
        ("420116201202", "居委会", "community"),
        ("420116201203", "residents_committee", "community"),
        ("420116201204", "quasi_residents_committee", "community"),
        ("420116201205", "", "village"),
    ]
    text = "code,name,kind,lon,lat\n" + "".join(f"{c},N,{k},114.4,31.0\n" for c, k, _ in rows)
    villages = read_villages(write(tmp_path, "v.csv", text))
    assert villages["kind"].tolist() == [want for _, _, want in rows]


def test_village_matching_code_columns_accepted(tmp_path: Path) -> None:
    """township_code, district_code and committee_kind inputs that agree with the code pass."""
    text = (
        "code,name,committee_kind,township_code,township,district_code,district,lon,lat\n"
        "420116201200,胜天村,villagers_committee,420116201,木兰乡,420116,黄陂区,114.4,31.0\n"
    )
    villages = read_villages(write(tmp_path, "v.csv", text))
    assert villages["township"].tolist() == ["木兰乡"]
    assert villages["district"].tolist() == ["黄陂区"]


def test_village_polygons_keep_area_and_point_on_surface(tmp_path: Path) -> None:
    """Polygon villages stay polygons; lon/lat is a WGS84 point inside the polygon."""
    ring = shapely.Polygon([(114.40, 31.00), (114.44, 31.00), (114.44, 31.04), (114.40, 31.00)])
    source = gpd.GeoDataFrame(
        {"code": ["420116201200", "420116201201"], "name": ["A", "B"]},
        geometry=[ring, shapely.MultiPolygon([ring])],
        crs=4326,
    )
    source.to_file(tmp_path / "v.geojson")
    villages = read_villages(tmp_path / "v.geojson")
    assert villages.geom_type.tolist() == ["Polygon", "MultiPolygon"]
    anchors = shapely.points(villages["lon"], villages["lat"])
    assert shapely.contains(ring, anchors).all()
    area_km2 = villages.geometry.area.iloc[0] / 1e6
    assert 8.0 < area_km2 < 9.0  # half of a 0.04 x 0.04 degree cell at 31 N


def test_villages_without_geometry(tmp_path: Path) -> None:
    """require_geometry=False accepts a table without coordinates; CRS is to_crs or WGS84."""
    path = write(tmp_path, "v.csv", "code,name\n420116201200,A\n")
    villages = read_villages(path, require_geometry=False)
    assert villages.geometry.isna().all()
    assert villages["lon"].isna().all() and villages["lat"].isna().all()
    assert villages.crs == pyproj.CRS.from_epsg(4326)
    assert read_villages(path, require_geometry=False, to_crs=32650).crs.to_epsg() == 32650


def test_villages_without_geometry_allow_rows_without_coordinates(tmp_path: Path) -> None:
    """With require_geometry=False a row may lack both coordinates but not just one."""
    text = "code,name,lon,lat\n420116201200,A,114.4,31.0\n420116201201,B,,\n"
    villages = read_villages(write(tmp_path, "v.csv", text), require_geometry=False)
    assert villages.geometry.isna().tolist() == [False, True]
    assert villages.crs.to_epsg() == 32650
    half = write(tmp_path, "h.csv", "code,name,lon,lat\n420116201200,A,114.4,\n")
    with pytest.raises(LayerError, match=problem(1, "lat", "coordinate is missing")):
        read_villages(half, require_geometry=False)


def test_incidents_schema_and_times(tmp_path: Path) -> None:
    """Times of every accepted form become tz-aware Asia/Shanghai; categories lower-cased."""
    text = (
        "id,time,category,severity,description,lon,lat\n"
        "a,2025-03-02 21:15,Theft ,2,wallet,114.39,31.05\n"
        "b,2025/03/02 21:15,FIGHT,,,114.39,31.05\n"
        "c,2025-03-02T13:15:00Z,x,,,114.39,31.05\n"
        "d,2025年3月2日 21:15,x,,,114.39,31.05\n"
        "e,2025-03-02T21:15:00+08:00,x,,,114.39,31.05\n"
        "f,2025-03-02T08:15:00-05:00,x,,,114.39,31.05\n"
        "g,20250302211500,x,,,114.39,31.05\n"
        "h,2025/3/2 21:15:00,x,,,114.39,31.05\n"
    )
    incidents = read_incidents(write(tmp_path, "i.csv", text))
    assert list(incidents.columns) == [*INCIDENT_COLUMNS, "lon", "lat", "geometry"]
    assert str(incidents["time"].dt.tz) == "Asia/Shanghai"
    expected = pd.Timestamp("2025-03-02 21:15", tz="Asia/Shanghai")
    assert (incidents["time"] == expected).all()
    assert incidents["category"].tolist()[:2] == ["theft", "fight"]
    assert str(incidents["severity"].dtype) == "Int64"
    assert incidents["severity"].tolist()[0] == 2
    assert incidents["description"].tolist()[:2] == ["wallet", None]


def test_incidents_other_time_zone(tmp_path: Path) -> None:
    """Naive times are localised to tz; offset times are converted to it."""
    text = (
        "id,time,category,lon,lat\na,2025-03-02 21:15,x,114.39,31.05\nb,2025-03-02T21:15Z,x,1,1\n"
    )
    incidents = read_incidents(write(tmp_path, "i.csv", text), tz="UTC")
    assert incidents["time"].tolist() == [pd.Timestamp("2025-03-02 21:15", tz="UTC")] * 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025年3月2日 21时15分", "2025-03-02 21:15"),
        ("2025年3月2日 21时15分30秒", "2025-03-02 21:15:30"),
        ("2025年3月2日21时15分30秒", "2025-03-02 21:15:30"),
        ("2025年3月2日", "2025-03-02 00:00"),
        ("2025年03月02日 21:15", "2025-03-02 21:15"),
        ("2025年3月2日 21时", "2025-03-02 21:00"),
        ("2025年3月2日 21点15分", "2025-03-02 21:15"),
        ("2025 年 3 月 2 日 9 时 5 分", "2025-03-02 09:05"),
        ("2025/3/2 21:15", "2025-03-02 21:15"),
        ("2025/3/2 21:15:30", "2025-03-02 21:15:30"),
        ("2025-3-2 21:15", "2025-03-02 21:15"),
        # Excel serials: days since 1899-12-30, the fraction the time of day, to the second.
        ("45718.885416667", "2025-03-02 21:15"),
        ("45718.8854166667", "2025-03-02 21:15"),
        ("45718.88542", "2025-03-02 21:15"),
        ("45718.885763889", "2025-03-02 21:15:30"),
        ("45718", "2025-03-02 00:00"),
        ("45718.0", "2025-03-02 00:00"),
        ("45716.5", "2025-02-28 12:00"),
        ("32874", "1990-01-01 00:00"),
    ],
)
def test_incident_time_forms(tmp_path: Path, value: str, expected: str) -> None:
    """Chinese, slash, non-padded and Excel serial forms give the right local time."""
    path = write(tmp_path, "i.csv", f"id,time,category,lon,lat\n1,{value},x,114.39,31.05\n")
    incidents = read_incidents(path)
    assert incidents["time"].tolist() == [pd.Timestamp(expected, tz="Asia/Shanghai")]
    assert str(incidents["time"].dtype) == "datetime64[us, Asia/Shanghai]"


def test_incident_time_forms_mixed_in_one_column(tmp_path: Path) -> None:
    """Every form can appear in the same column; naive ones, serials too, are local to tz."""
    forms = [
        "2025-03-02 21:15",
        "45718.885416667",
        "2025年3月2日 21时15分",
        "2025年03月02日 21:15",
        "2025/3/2 21:15",
        "2025-3-2 21:15:00",
        "2025-03-02T13:15:00Z",
        "2025-03-02T21:15:00+08:00",
        "20250302211500",
        "2025年3月2日 21时15分00秒",
        "45718.885416667",
    ]
    rows = "".join(f"{i},{v},x,114.39,31.05\n" for i, v in enumerate(forms))
    path = write(tmp_path, "i.csv", "id,报警时间,category,lon,lat\n" + rows)
    incidents = read_incidents(path)
    assert incidents["time"].tolist() == [pd.Timestamp("2025-03-02 21:15", tz="Asia/Shanghai")] * 11
    in_utc = read_incidents(path, tz="UTC")["time"].tolist()
    # Naive forms are 21:15 UTC now; the two with an offset stay the same instant.
    expected = [pd.Timestamp("2025-03-02 21:15", tz="UTC")] * 11
    expected[6] = expected[7] = pd.Timestamp("2025-03-02 13:15", tz="UTC")
    assert in_utc == expected


def test_incident_excel_serial_from_vector_number_field(tmp_path: Path) -> None:
    """A numeric field holding Excel serials (a sheet saved as a GeoPackage) is read too."""
    frame = gpd.GeoDataFrame(
        {
            "id": ["a", "b"],
            "time": [45718.885416667, 45718.0],
            "category": ["x", "x"],
        },
        geometry=[shapely.Point(LON, LAT)] * 2,
        crs=4326,
    )
    path = tmp_path / "i.gpkg"
    frame.to_file(path)
    assert read_incidents(path)["time"].tolist() == [
        pd.Timestamp("2025-03-02 21:15", tz="Asia/Shanghai"),
        pd.Timestamp("2025-03-02", tz="Asia/Shanghai"),
    ]


def test_stations_schema_and_kinds(tmp_path: Path) -> None:
    """Station kinds map 派出所 -> station, 警务室/警务站/post -> post, empty -> station."""
    text = (
        "id,name,kind,township_code,lon,lat\n"
        "001,A,派出所,420116201,114.39,31.05\n"
        "002,B,警务室,,114.39,31.05\n"
        "003,C,警务站,,114.39,31.05\n"
        "004,D,Post,,114.39,31.05\n"
        "005,E,,,114.39,31.05\n"
    )
    stations = read_stations(write(tmp_path, "s.csv", text))
    assert list(stations.columns) == [*STATION_COLUMNS, "lon", "lat", "geometry"]
    assert stations["id"].tolist() == ["001", "002", "003", "004", "005"]
    assert stations["kind"].tolist() == ["station", "post", "post", "post", "station"]
    assert stations["township_code"].tolist() == ["420116201", None, None, None, None]


def test_stations_kind_defaults_without_column(tmp_path: Path) -> None:
    """Without a kind column every station is a "station" and township_code is None."""
    stations = read_stations(write(tmp_path, "s.csv", "id,name,lon,lat\n1,A,114.39,31.05\n"))
    assert stations["kind"].tolist() == ["station"]
    assert stations["township_code"].tolist() == [None]


def test_teams_schema_and_skills(tmp_path: Path) -> None:
    """Skills are split on ; (and Chinese separators), stripped, lower-cased; members int."""
    text = (
        "id,name,home_unit,members,skills,lon,lat\n"
        "t1,先锋队,001,5, First Aid；Drone、SWAT ;,114.39,31.05\n"
        "t2,B,001,3,,114.39,31.05\n"
    )
    teams = read_teams(write(tmp_path, "t.csv", text))
    assert list(teams.columns) == [*TEAM_COLUMNS, "lon", "lat", "geometry"]
    assert teams["skills"].tolist() == ["first aid;drone;swat", ""]
    assert teams["members"].tolist() == [5, 3]
    assert teams["members"].dtype == np.int64
    assert teams["home_unit"].tolist() == ["001", "001"]


def test_teams_from_projected_xy(tmp_path: Path) -> None:
    """A team base can be given as x/y in a declared projected CRS."""
    x, y = from_wgs84(LON, LAT, 4547)
    text = f"id,name,home_unit,members,x,y\nt1,A,001,4,{float(x)!r},{float(y)!r}\n"
    teams = read_teams(write(tmp_path, "t.csv", text), crs="EPSG:4547")
    assert distance_to_truth(teams) < 0.5


# ----------------------------------------------------------------------------- formats


def test_csv_utf8_bom(tmp_path: Path) -> None:
    """A UTF-8 file with a byte-order mark (Excel's "CSV UTF-8") keeps its first header."""
    villages = read_villages(write(tmp_path, "v.csv", VILLAGES_CSV, "utf-8-sig"))
    assert villages["code"].tolist()[0] == "420116201200"


def test_csv_gbk_with_chinese_headers() -> None:
    """A GBK export with Chinese headers is auto-detected and mapped to the schema."""
    villages = read_villages(LAYERS / "villages_gbk.csv")
    assert villages["name"].tolist() == ["胜天村", "木兰乡社区", "邓南村"]
    assert villages["kind"].tolist() == ["village", "community", "village"]
    assert villages["township"].tolist() == ["木兰乡", "木兰乡", "消泗乡"]
    assert villages["district"].tolist() == ["黄陂区", "黄陂区", "蔡甸区"]
    assert villages["population"].tolist()[:2] == [1520, 3200]
    assert villages["lat"].tolist()[0] == 31.0515


def test_csv_explicit_encoding() -> None:
    """An explicit encoding is used as given."""
    villages = read_villages(LAYERS / "villages_gbk.csv", encoding="gbk")
    assert villages["name"].iloc[0] == "胜天村"


def test_csv_gz(tmp_path: Path) -> None:
    """A gzipped CSV reads like the plain one."""
    path = tmp_path / "s.csv.gz"
    path.write_bytes(gzip.compress(STATIONS_CSV.encode("gb18030")))
    stations = read_stations(path)
    assert stations["name"].tolist() == ["木兰派出所", "胜天警务室"]


def test_csv_codes_and_ids_stay_strings(tmp_path: Path) -> None:
    """IDs keep leading zeros and 12-digit codes never become floats."""
    stations = read_stations(write(tmp_path, "s.csv", STATIONS_CSV))
    assert stations["id"].tolist() == ["001", "002"]


def test_csv_trailing_empty_rows_ignored(tmp_path: Path) -> None:
    """Spreadsheet ",,,," lines are skipped but later rows keep their numbers."""
    text = "id,name,lon,lat\n1,A,114.39,31.05\n,,,\n\n3,C,114.39,x\n"
    with pytest.raises(LayerError, match=problem(4, "lat", "cannot parse 'x'")):
        read_stations(write(tmp_path, "s.csv", text))
    stations = read_stations(write(tmp_path, "ok.csv", "id,name,lon,lat\n1,A,114.39,31.05\n,,,\n"))
    assert len(stations) == 1


def test_geojson() -> None:
    """A GeoJSON file is read with its properties as strings."""
    stations = read_stations(LAYERS / "stations.geojson")
    assert stations["id"].tolist() == ["007", "008"]
    assert stations["kind"].tolist() == ["station", "post"]
    assert stations["township_code"].tolist() == ["420116201", None]
    assert stations.crs.to_epsg() == 32650
    assert stations["lon"].tolist() == [114.3935, 114.4009]


def test_geopackage_layer_and_numeric_codes(tmp_path: Path) -> None:
    """A GeoPackage layer is chosen by name; numeric code fields read as digit strings."""
    villages = gpd.GeoDataFrame(
        {"code": [420116201200.0], "name": ["A"], "population": [12]},
        geometry=[shapely.Point(LON, LAT)],
        crs=4326,
    )
    path = tmp_path / "v.gpkg"
    villages.to_file(path, layer="villages")
    villages.assign(code=np.int64(420116201201)).to_file(path, layer="more")
    assert read_villages(path, layer="villages")["code"].tolist() == ["420116201200"]
    assert read_villages(path, layer="more")["code"].tolist() == ["420116201201"]
    assert read_villages(path, layer="more")["population"].tolist() == [12]


def test_geopackage_projected_storage(tmp_path: Path) -> None:
    """A GeoPackage stored in EPSG:4547 is read in its own CRS without a declaration."""
    x, y = from_wgs84(LON, LAT, 4547)
    gpd.GeoDataFrame(
        {"id": ["1"], "name": ["A"]},
        geometry=[shapely.Point(float(x), float(y))],
        crs=4547,
    ).to_file(tmp_path / "s.gpkg")
    stations = read_stations(tmp_path / "s.gpkg")
    assert distance_to_truth(stations) < 0.5
    assert read_stations(tmp_path / "s.gpkg", crs="EPSG:4547").crs.to_epsg() == 32650


def test_geopackage_incident_times(tmp_path: Path) -> None:
    """Datetime fields of a vector file keep their offset and are converted to tz."""
    gpd.GeoDataFrame(
        {
            "id": ["1"],
            "time": pd.to_datetime(["2025-03-02 13:15"]).tz_localize("UTC"),
            "category": ["Theft"],
        },
        geometry=[shapely.Point(LON, LAT)],
        crs=4326,
    ).to_file(tmp_path / "i.gpkg")
    incidents = read_incidents(tmp_path / "i.gpkg")
    assert incidents["time"].tolist() == [pd.Timestamp("2025-03-02 21:15", tz="Asia/Shanghai")]


def _write_shapefile(tmp_path: Path) -> Path:
    gpd.GeoDataFrame(
        {"id": ["1", "2"], "name": ["木兰派出所", "B"], "members": [3, 4], "home_unit": ["u", "u"]},
        geometry=[shapely.Point(LON, LAT), shapely.Point(114.4, 31.06)],
        crs=4326,
    ).to_file(tmp_path / "t.shp", encoding="utf-8")
    return tmp_path / "t.shp"


def test_shapefile(tmp_path: Path) -> None:
    """A Shapefile (with .prj and .cpg) reads with its CRS and UTF-8 names."""
    teams = read_teams(_write_shapefile(tmp_path))
    assert teams["name"].tolist() == ["木兰派出所", "B"]
    assert teams["members"].tolist() == [3, 4]
    assert distance_to_truth(teams) < 1e-6


def test_zipped_shapefile(tmp_path: Path) -> None:
    """A zipped shapefile reads from x.zip and from zip://x.zip!t.shp."""
    shp = _write_shapefile(tmp_path)
    archive = tmp_path / "t.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in shp.parent.glob("t.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    assert len(read_teams(archive)) == 2
    assert len(read_teams(f"zip://{archive}!t.shp")) == 2


# ----------------------------------------------------------------------------- CRSs


def test_default_working_crs_is_utm50n(tmp_path: Path) -> None:
    """Wuhan points get UTM zone 50N (EPSG:32650) as working CRS."""
    stations = read_stations(write(tmp_path, "s.csv", STATIONS_CSV))
    assert stations.crs.to_epsg() == 32650
    x, y = TO_UTM50.transform(114.39, 31.05)
    assert stations.geometry.iloc[0].x == pytest.approx(x)
    assert stations.geometry.iloc[0].y == pytest.approx(y)


@pytest.mark.parametrize("to_crs", [4547, "EPSG:32649", pyproj.CRS.from_epsg(3857)])
def test_to_crs_honoured(tmp_path: Path, to_crs: CRSLike) -> None:
    """An explicit working CRS (e.g. the road network's) is used as given."""
    stations = read_stations(write(tmp_path, "s.csv", STATIONS_CSV), to_crs=to_crs)
    want = pyproj.CRS.from_user_input(to_crs)
    assert stations.crs == want
    x, y = pyproj.Transformer.from_crs(4326, want, always_xy=True).transform(114.39, 31.05)
    assert stations.geometry.iloc[0].x == pytest.approx(x)
    assert stations.geometry.iloc[0].y == pytest.approx(y)
    assert stations["lon"].iloc[0] == 114.39


@pytest.mark.parametrize(
    ("crs", "header", "make"),
    [
        ("wgs84", "lon,lat", lambda lon, lat: (lon, lat)),
        ("EPSG:4490", "lon,lat", lambda lon, lat: (lon, lat)),
        ("cgcs2000", "经度,纬度", lambda lon, lat: (lon, lat)),
        ("EPSG:4547", "x,y", lambda lon, lat: from_wgs84(lon, lat, 4547)),
        ("gcj02", "lng,lat", wgs84_to_gcj02),
        ("GCJ-02", "x,y", wgs84_to_gcj02),
        ("bd09", "longitude,latitude", wgs84_to_bd09),
    ],
)
def test_declared_crs_lands_on_true_point(
    tmp_path: Path, crs: str, header: str, make: Callable[[float, float], tuple[Any, Any]]
) -> None:
    """Input declared in any supported CRS lands within 0.5 m of the true WGS84 point."""
    x, y = make(LON, LAT)
    text = f"id,name,{header}\n1,A,{float(x)!r},{float(y)!r}\n"
    stations = read_stations(write(tmp_path, "s.csv", text), crs=crs)
    assert distance_to_truth(stations) < 0.5
    assert stations["lon"].iloc[0] == pytest.approx(LON, abs=1e-8)
    assert stations["lat"].iloc[0] == pytest.approx(LAT, abs=1e-8)
    assert stations.crs.to_epsg() == 32650


def test_offset_declared_over_stored_wgs84(tmp_path: Path) -> None:
    """A file stored as EPSG:4326 may be declared GCJ-02 (how GIS tools save Amap data)."""
    glon, glat = wgs84_to_gcj02(LON, LAT)
    gpd.GeoDataFrame(
        {"id": ["1"], "name": ["A"]},
        geometry=[shapely.Point(float(glon), float(glat))],
        crs=4326,
    ).to_file(tmp_path / "s.geojson")
    stations = read_stations(tmp_path / "s.geojson", crs="gcj02")
    assert distance_to_truth(stations) < 0.5
    # Undeclared, the same file is taken at face value: several hundred metres off.
    assert distance_to_truth(read_stations(tmp_path / "s.geojson")) > 100


def test_offset_crs_polygons(tmp_path: Path) -> None:
    """Every vertex of a GCJ-02 polygon is converted, not just a representative point."""
    truth = shapely.box(114.40, 31.00, 114.44, 31.04)
    ring = np.asarray(truth.exterior.coords)
    glon, glat = wgs84_to_gcj02(ring[:, 0], ring[:, 1])
    gpd.GeoDataFrame(
        {"code": ["420116201200"], "name": ["A"]},
        geometry=[shapely.Polygon(np.column_stack([glon, glat]))],
        crs=4326,
    ).to_file(tmp_path / "v.geojson")
    villages = read_villages(tmp_path / "v.geojson", crs="gcj02")
    expected = shapely.transform(truth, lambda xy: np.column_stack(TO_UTM50.transform(*xy.T)))
    assert villages.geometry.iloc[0].hausdorff_distance(expected) < 0.5


# ----------------------------------------------------------------------------- dispatch


def test_read_layer_dispatches(tmp_path: Path) -> None:
    """read_layer(kind=...) gives the same frame as the specific reader."""
    path = write(tmp_path, "s.csv", STATIONS_CSV)
    pd.testing.assert_frame_equal(read_layer(path, "stations"), read_stations(path))
    assert len(read_layer(path, "stations", to_crs=4547)) == 2


def test_read_layer_unknown_kind(tmp_path: Path) -> None:
    """An unknown kind is a LayerError naming the accepted kinds."""
    with pytest.raises(LayerError, match="unknown layer kind 'roads'; expected one of villages"):
        read_layer(write(tmp_path, "s.csv", STATIONS_CSV), "roads")  # type: ignore[arg-type]
    problems = check_layer(tmp_path / "s.csv", "roads")  # type: ignore[arg-type]
    assert [p.message for p in problems][0].startswith("unknown layer kind")


def test_check_layer_returns_problems(tmp_path: Path) -> None:
    """check_layer returns [] for a clean file and every Problem for a bad one."""
    good = write(tmp_path, "good.csv", STATIONS_CSV)
    assert check_layer(good, "stations") == []
    bad = write(tmp_path, "bad.csv", "id,name,lon,lat\n1,,200,31\n1,B,114,95\n")
    problems = check_layer(bad, "stations")
    assert all(isinstance(p, Problem) for p in problems)
    assert {(p.row, p.column) for p in problems} == {
        (1, "name"),
        (1, "lon"),
        (2, "lat"),
        (2, "id"),
    }
    assert problems == sorted(problems, key=lambda p: p.row or 0)


def test_check_layer_rejects_unknown_option(tmp_path: Path) -> None:
    """An option the reader does not take is a programming error (TypeError)."""
    with pytest.raises(TypeError):
        check_layer(write(tmp_path, "s.csv", STATIONS_CSV), "stations", tz="UTC")


# ----------------------------------------------------------------------------- error paths


def test_error_file_missing(tmp_path: Path) -> None:
    """A file that does not exist is reported, not a FileNotFoundError."""
    with pytest.raises(LayerError, match="nope.csv: file does not exist"):
        read_villages(tmp_path / "nope.csv")


def test_error_unsupported_extension(tmp_path: Path) -> None:
    """Unsupported extensions are named together with the supported ones."""
    with pytest.raises(LayerError, match=r"unsupported file type '\.xlsx'; expected one of \.csv"):
        read_villages(write(tmp_path, "v.xlsx", "x"))


def test_error_path_is_directory(tmp_path: Path) -> None:
    """A directory is not a layer file."""
    (tmp_path / "v.csv").mkdir()
    with pytest.raises(LayerError, match="v.csv: path is not a file"):
        read_villages(tmp_path / "v.csv")


def test_error_corrupt_vector_file(tmp_path: Path) -> None:
    """A vector file GDAL cannot open is reported with GDAL's reason."""
    with pytest.raises(LayerError, match="s.geojson: cannot read the file: "):
        read_stations(write(tmp_path, "s.geojson", "{ not json"))


def test_error_remote_path() -> None:
    """URLs are refused: geo/ does no network access."""
    with pytest.raises(LayerError, match="only local files"):
        read_stations("https://example.org/s.geojson")


def test_error_unknown_encoding(tmp_path: Path) -> None:
    """An encoding Python does not know is named."""
    with pytest.raises(LayerError, match="unknown encoding 'klingon'"):
        read_villages(write(tmp_path, "v.csv", VILLAGES_CSV), encoding="klingon")


def test_error_undecodable_bytes(tmp_path: Path) -> None:
    """Bytes that decode in no tried encoding are reported with the encodings tried."""
    path = write(tmp_path, "v.csv", VILLAGES_CSV, "utf-16")
    with pytest.raises(LayerError, match=r"cannot decode .* \(tried utf-8-sig, gb18030\)"):
        read_villages(path)
    with pytest.raises(LayerError, match=r"cannot decode .* \(tried utf-8\)"):
        read_villages(LAYERS / "villages_gbk.csv", encoding="utf-8")


def test_error_bad_gzip(tmp_path: Path) -> None:
    """A .csv.gz that is not gzip data is reported."""
    with pytest.raises(LayerError, match="not a valid gzip file"):
        read_villages(write(tmp_path, "v.csv.gz", VILLAGES_CSV))


def test_error_empty_file(tmp_path: Path) -> None:
    """A file with no header at all is reported."""
    with pytest.raises(LayerError, match="file is empty"):
        read_villages(write(tmp_path, "v.csv", ""))


def test_error_empty_layer(tmp_path: Path) -> None:
    """A header without data rows is an empty layer."""
    with pytest.raises(LayerError, match="layer has no rows"):
        read_villages(write(tmp_path, "v.csv", "code,name,lon,lat\n"))


def test_error_malformed_csv(tmp_path: Path) -> None:
    """A record with too many fields is reported at its row."""
    path = write(tmp_path, "s.csv", "id,name,lon,lat\n1,A,114,31\n2,B,114,31,extra\n")
    with pytest.raises(LayerError, match=problem(2, None, "malformed CSV")):
        read_stations(path)


def test_error_missing_required_columns(tmp_path: Path) -> None:
    """Each missing column is named, with its aliases and the columns found."""
    path = write(tmp_path, "v.csv", "名字,lon,lat\nA,114.4,31.0\n")
    with pytest.raises(LayerError) as info:
        read_villages(path)
    text = str(info.value)
    assert re.search(problem(None, "code", "missing required column 'code'"), text)
    assert re.search(problem(None, "name", "missing required column 'name'"), text)
    assert "found columns: '名字', 'lon', 'lat'" in text


def test_error_missing_team_members_column(tmp_path: Path) -> None:
    """Teams need a members column."""
    path = write(tmp_path, "t.csv", "id,name,home_unit,lon,lat\n1,A,u,114,31\n")
    with pytest.raises(LayerError, match=problem(None, "members", "missing required column")):
        read_teams(path)


def test_error_no_coordinate_columns(tmp_path: Path) -> None:
    """A CSV without coordinate columns is refused when geometry is required."""
    with pytest.raises(LayerError, match="no coordinate columns: expected lon/lat"):
        read_villages(write(tmp_path, "v.csv", "code,name\n420116201200,A\n"))


def test_error_lonely_coordinate_column(tmp_path: Path) -> None:
    """A lon column without lat is reported."""
    path = write(tmp_path, "s.csv", "id,name,lon\n1,A,114\n")
    with pytest.raises(LayerError, match=problem(None, "lat", "column 'lon' has no partner")):
        read_stations(path)


def test_error_duplicate_column_aliases(tmp_path: Path) -> None:
    """Two headers meaning the same column are ambiguous."""
    path = write(tmp_path, "s.csv", "id,name,名称,lon,lat\n1,A,B,114,31\n")
    with pytest.raises(LayerError, match="columns 'name' and '名称' both mean 'name'"):
        read_stations(path)


def test_error_xy_without_crs(tmp_path: Path) -> None:
    """x/y columns require a declared CRS."""
    path = write(tmp_path, "s.csv", "id,name,x,y\n1,A,500000,3400000\n")
    with pytest.raises(LayerError, match=problem(None, "x", "columns 'x'/'y' hold coordinates")):
        read_stations(path)


def test_error_lonlat_with_projected_crs(tmp_path: Path) -> None:
    """Declaring a projected CRS for lon/lat columns is a contradiction."""
    path = write(tmp_path, "s.csv", STATIONS_CSV)
    with pytest.raises(LayerError, match="is projected but the file has lon/lat columns"):
        read_stations(path, crs=4547)


def test_error_unparseable_coordinate(tmp_path: Path) -> None:
    """Text in a coordinate column is reported at its row and column."""
    path = write(tmp_path, "s.csv", "id,name,经度,纬度\n1,A,114.39,31.05\n2,B,114°23′,31.05\n")
    with pytest.raises(LayerError, match=problem(2, "经度", "cannot parse '114°23′' as a number")):
        read_stations(path)


def test_error_missing_coordinate(tmp_path: Path) -> None:
    """An empty coordinate cell is reported."""
    path = write(tmp_path, "s.csv", "id,name,lon,lat\n1,A,114.39,\n")
    with pytest.raises(LayerError, match=problem(1, "lat", "coordinate is missing")):
        read_stations(path)


def test_error_non_finite_coordinate(tmp_path: Path) -> None:
    """inf and nan are not coordinates."""
    path = write(tmp_path, "s.csv", "id,name,lon,lat\n1,A,inf,31\n2,B,114,NaN\n")
    with pytest.raises(LayerError) as info:
        read_stations(path)
    text = str(info.value)
    assert re.search(problem(1, "lon", "coordinate 'inf' is not finite"), text)
    assert re.search(problem(2, "lat", "coordinate 'NaN' is not finite"), text)


def test_error_out_of_range_coordinates(tmp_path: Path) -> None:
    """Longitudes beyond +-180 and latitudes beyond +-90 are reported by column."""
    path = write(tmp_path, "s.csv", "id,name,lon,lat\n1,A,181,31\n2,B,114,-90.5\n")
    with pytest.raises(LayerError) as info:
        read_stations(path)
    text = str(info.value)
    assert re.search(problem(1, "lon", r"longitude 181\.0 is outside \[-180, 180\]"), text)
    assert re.search(problem(2, "lat", r"latitude -90\.5 is outside \[-90, 90\]"), text)


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_error_offset_crs_outside_china(tmp_path: Path, crs: str) -> None:
    """GCJ-02 / BD-09 coordinates outside China are reported (the offset is undefined)."""
    path = write(tmp_path, "s.csv", "id,name,lon,lat\n1,A,114.39,31.05\n2,B,-79.4,43.7\n")
    with pytest.raises(
        LayerError, match=problem(2, "lon", r"position \(-79\.4, 43\.7\) is outside")
    ):
        read_stations(path, crs=crs)


def test_error_projected_point_outside_domain(tmp_path: Path) -> None:
    """x/y that a projection cannot map (e.g. with a zone prefix) are reported."""
    text = "id,name,x,y\n1,A,38500000,3380000\n2,B,500000,1e9\n"
    with pytest.raises(LayerError) as info:
        read_stations(write(tmp_path, "s.csv", text), crs="EPSG:4547")
    text = str(info.value)
    assert re.search(problem(1, "x", r"position \(38500000\.0, 3380000\.0\) cannot be"), text)
    assert re.search(problem(2, "x", "position .* cannot be transformed from EPSG:4547"), text)


def test_error_invalid_crs_arguments(tmp_path: Path) -> None:
    """Bad crs / to_crs values are reported; a geographic working CRS is refused."""
    path = write(tmp_path, "s.csv", STATIONS_CSV)
    with pytest.raises(LayerError, match="invalid crs: unknown CRS 'EPSG:999999'"):
        read_stations(path, crs="EPSG:999999")
    with pytest.raises(LayerError, match="to_crs 'wgs84' is not a projected"):
        read_stations(path, to_crs="wgs84")
    with pytest.raises(LayerError, match="to_crs 'gcj02' is not a projected"):
        read_stations(path, to_crs="gcj02")
    with pytest.raises(LayerError, match="invalid to_crs"):
        read_stations(path, to_crs="nonsense")


def test_error_vector_crs_disagrees_with_declared(tmp_path: Path) -> None:
    """A stored CRS that differs from the declared one is an error, not a warning."""
    with pytest.raises(
        LayerError, match="file CRS EPSG:4326 disagrees with declared crs EPSG:4490"
    ):
        read_stations(LAYERS / "stations.geojson", crs="cgcs2000")
    x, y = from_wgs84(LON, LAT, 4547)
    gpd.GeoDataFrame(
        {"id": ["1"], "name": ["A"]}, geometry=[shapely.Point(float(x), float(y))], crs=4547
    ).to_file(tmp_path / "s.gpkg")
    with pytest.raises(LayerError, match="disagrees with declared crs GCJ-02"):
        read_stations(tmp_path / "s.gpkg", crs="gcj02")


def test_error_shapefile_without_prj(tmp_path: Path) -> None:
    """A shapefile without .prj needs a declared crs."""
    shp = _write_shapefile(tmp_path)
    shp.with_suffix(".prj").unlink()
    with pytest.raises(LayerError, match=r"file has no CRS .*; pass crs="):
        read_teams(shp)
    assert len(read_teams(shp, crs="wgs84")) == 2


def test_error_geopackage_layers(tmp_path: Path) -> None:
    """A multi-layer file needs layer=, and an unknown layer lists the real ones."""
    frame = gpd.GeoDataFrame(
        {"id": ["1"], "name": ["A"]}, geometry=[shapely.Point(LON, LAT)], crs=4326
    )
    frame.to_file(tmp_path / "s.gpkg", layer="stations")
    frame.to_file(tmp_path / "s.gpkg", layer="posts")
    with pytest.raises(LayerError, match=r"file has 2 layers \(stations, posts\); pass layer="):
        read_stations(tmp_path / "s.gpkg")
    with pytest.raises(
        LayerError, match="file has no layer 'roads'; its layers are: stations, posts"
    ):
        read_stations(tmp_path / "s.gpkg", layer="roads")


def test_error_wrong_geometry_type(tmp_path: Path) -> None:
    """A LineString in a villages layer (or a Polygon among stations) is reported."""
    gpd.GeoDataFrame(
        {"code": ["420116201200", "420116201201"], "name": ["A", "B"]},
        geometry=[shapely.Point(LON, LAT), shapely.LineString([(LON, LAT), (114.4, 31.1)])],
        crs=4326,
    ).to_file(tmp_path / "v.geojson")
    with pytest.raises(
        LayerError,
        match=problem(2, "geometry", "geometry is a LineString; villages need Point or Polygon"),
    ):
        read_villages(tmp_path / "v.geojson")
    gpd.GeoDataFrame(
        {"id": ["1"], "name": ["A"]}, geometry=[shapely.box(114, 31, 114.1, 31.1)], crs=4326
    ).to_file(tmp_path / "s.geojson")
    with pytest.raises(
        LayerError, match=problem(1, "geometry", "geometry is a Polygon; stations need Point")
    ):
        read_stations(tmp_path / "s.geojson")


def test_error_missing_geometry(tmp_path: Path) -> None:
    """A feature without geometry is reported unless geometry is optional (villages)."""
    gpd.GeoDataFrame(
        {"code": ["420116201200", "420116201201"], "name": ["A", "B"]},
        geometry=[shapely.Point(LON, LAT), None],
        crs=4326,
    ).to_file(tmp_path / "v.geojson")
    with pytest.raises(LayerError, match=problem(2, "geometry", "geometry is missing or empty")):
        read_villages(tmp_path / "v.geojson")
    villages = read_villages(tmp_path / "v.geojson", require_geometry=False)
    assert villages.geometry.isna().tolist() == [False, True]


def test_error_out_of_range_vector_coordinates(tmp_path: Path) -> None:
    """Vector geometries outside the geographic range are reported at the geometry column."""
    gpd.GeoDataFrame(
        {"id": ["1"], "name": ["A"]}, geometry=[shapely.Point(190, 31)], crs=4326
    ).to_file(tmp_path / "s.geojson")
    with pytest.raises(LayerError, match=problem(1, "geometry", r"longitude 190\.0 is outside")):
        read_stations(tmp_path / "s.geojson")


def test_error_duplicate_ids(tmp_path: Path) -> None:
    """A duplicate id names both rows."""
    path = write(tmp_path, "s.csv", "id,name,lon,lat\n7,A,114,31\n8,B,114,31\n7,C,114,31\n")
    with pytest.raises(LayerError, match=problem(3, "id", r"duplicate id '7' \(also in row 1\)")):
        read_stations(path)


def test_error_duplicate_codes(tmp_path: Path) -> None:
    """A duplicate village code names both rows, in the file's own header."""
    text = "代码,名称,lon,lat\n420116201200,A,114,31\n420116201200,B,114,31\n"
    with pytest.raises(
        LayerError, match=problem(2, "代码", r"duplicate code '420116201200' \(also in row 1\)")
    ):
        read_villages(write(tmp_path, "v.csv", text))


@pytest.mark.parametrize("code", ["4201162012", "42011620120X", "4.20116E+11"])
def test_error_bad_code_format(tmp_path: Path, code: str) -> None:
    """Village codes must be exactly 12 digits."""
    path = write(tmp_path, "v.csv", f"code,name,lon,lat\n{code},A,114,31\n")
    with pytest.raises(
        LayerError, match=problem(1, "code", re.escape(f"code '{code}' is not 12 digits"))
    ):
        read_villages(path)


def test_error_code_outside_nbs_classes(tmp_path: Path) -> None:
    """Code digits 10-12 outside 001-599 are not an NBS committee class."""
    path = write(tmp_path, "v.csv", "code,name,lon,lat\n420116201700,A,114,31\n")
    with pytest.raises(LayerError, match=problem(1, "code", r".*digits 10-12 \(700\)")):
        read_villages(path)


def test_error_code_prefix_disagreement(tmp_path: Path) -> None:
    """township_code / district_code / committee_kind inputs must agree with the code."""
    text = (
        "code,name,township_code,district_code,committee_kind,lon,lat\n"
        "420116201200,A,420116202,420117,residents_committee,114,31\n"
    )
    with pytest.raises(LayerError) as info:
        read_villages(write(tmp_path, "v.csv", text))
    text = str(info.value)
    assert re.search(problem(1, "township_code", "township_code '420116202' does not match"), text)
    assert re.search(problem(1, "district_code", "district_code '420117' does not match"), text)
    assert re.search(problem(1, "committee_kind", "'residents_committee' disagrees"), text)


def test_error_unknown_kind_values(tmp_path: Path) -> None:
    """Village and station kinds outside the vocabulary are reported."""
    villages = write(tmp_path, "v.csv", "code,name,kind,lon,lat\n420116201200,A,城镇,114,31\n")
    with pytest.raises(
        LayerError, match=problem(1, "kind", "unknown value '城镇'; expected community, village")
    ):
        read_villages(villages)
    stations = write(tmp_path, "s.csv", "id,name,kind,lon,lat\n1,A,hq,114,31\n")
    with pytest.raises(
        LayerError, match=problem(1, "kind", "unknown value 'hq'; expected post, station")
    ):
        read_stations(stations)


def test_error_station_township_code(tmp_path: Path) -> None:
    """A station township_code must be 9 digits."""
    path = write(tmp_path, "s.csv", "id,name,township_code,lon,lat\n1,A,4201,114,31\n")
    with pytest.raises(
        LayerError, match=problem(1, "township_code", "township_code '4201' is not 9 digits")
    ):
        read_stations(path)


def test_error_negative_population(tmp_path: Path) -> None:
    """Population and households must be whole numbers >= 0."""
    text = "code,name,人口,户数,lon,lat\n420116201200,A,-5,2.5,114,31\n"
    with pytest.raises(LayerError) as info:
        read_villages(write(tmp_path, "v.csv", text))
    text = str(info.value)
    assert re.search(problem(1, "人口", "'-5' must be >= 0"), text)
    assert re.search(problem(1, "户数", "'2.5' is not a whole number"), text)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ("0", "'0' must be positive"),
        ("-2", "'-2' must be positive"),
        ("two", "'two' is not a whole number"),
        ("", "value is empty"),
    ],
)
def test_error_team_members(tmp_path: Path, members: str, message: str) -> None:
    """Team members must be a whole number > 0."""
    path = write(tmp_path, "t.csv", f"id,name,home_unit,members,lon,lat\n1,A,u,{members},114,31\n")
    with pytest.raises(LayerError, match=problem(1, "members", message)):
        read_teams(path)


def test_error_empty_required_text(tmp_path: Path) -> None:
    """Required text (name, home_unit, category) must not be empty."""
    path = write(tmp_path, "t.csv", "id,name,home_unit,members,lon,lat\n1,,,2,114,31\n")
    with pytest.raises(LayerError) as info:
        read_teams(path)
    assert re.search(problem(1, "name", "value is empty"), str(info.value))
    assert re.search(problem(1, "home_unit", "value is empty"), str(info.value))
    path = write(tmp_path, "i.csv", "id,time,category,lon,lat\n1,2025-03-02 21:15, ,114,31\n")
    with pytest.raises(LayerError, match=problem(1, "category", "value is empty")):
        read_incidents(path)


@pytest.mark.parametrize(
    "value", ["yesterday", "12", "2025", "2025-03", "2025-02-30 10:00", "2025-03-02 25:00"]
)
def test_error_unparseable_time(tmp_path: Path, value: str) -> None:
    """Times that are not a full date (or do not exist) are reported, not guessed."""
    path = write(tmp_path, "i.csv", f"id,time,category,lon,lat\n1,{value},x,114,31\n")
    with pytest.raises(
        LayerError, match=problem(1, "time", re.escape(f"cannot parse time '{value}'"))
    ):
        read_incidents(path)


@pytest.mark.parametrize(
    "value",
    ["03/02/2025", "3/2/25", "3/2/2025 21:15", "02.03.2025", "03-02-2025 21:15:30", "25/3/2"],
)
def test_error_ambiguous_day_month_time(tmp_path: Path, value: str) -> None:
    """Day- or month-first dates are reported (file, row, column), never guessed."""
    text = (
        "id,time,category,lon,lat\n"
        "1,2025-03-02 21:15,x,114,31\n"
        "2,2025年3月2日 21时15分,x,114,31\n"
        f"3,{value},x,114,31\n"
    )
    path = write(tmp_path, "i.csv", text)
    problems = check_layer(path, "incidents")
    assert len(problems) == 1
    found = problems[0]
    assert (found.file, found.row, found.column) == (str(path), 3, "time")
    assert found.message.startswith(
        f"cannot parse time {value!r}: ambiguous date, day-first or month-first cannot be told"
    )
    # The message says which forms would do.
    for form in ("year first", "2025-03-02 21:15", "2025年3月2日 21时15分", "45718.885416667"):
        assert form in found.message
    with pytest.raises(
        LayerError, match=problem(3, "time", re.escape(f"cannot parse time {value!r}: ambiguous"))
    ):
        read_incidents(path)


@pytest.mark.parametrize(
    ("value", "date"),
    [
        ("12345.5", "1933-10-18"),
        ("32873.99", "1989-12-31"),
        ("73416", "2101-01-01"),
        ("80000", "2119-01-11"),
        ("999999", "4637-11-25"),
    ],
)
def test_error_excel_serial_out_of_range(tmp_path: Path, value: str, date: str) -> None:
    """Numbers outside Excel serials of the years 1990-2100 are reported with their date."""
    path = write(
        tmp_path, "i.csv", f"id,发生时间,category,lon,lat\n1,45718,x,114,31\n2,{value},x,114,31\n"
    )
    problems = check_layer(path, "incidents")
    assert [(p.file, p.row, p.column) for p in problems] == [(str(path), 2, "发生时间")]
    assert problems[0].message.startswith(
        f"cannot parse time {value!r}: as an Excel serial date it is {date}, outside 1990-2100"
    )


def test_error_time_problems_collected_together(tmp_path: Path) -> None:
    """Ambiguous, out-of-range and unparseable times are all reported, with other problems."""
    text = (
        "id,time,category,lon,lat\n"
        "1,03/02/2025,x,114,31\n"
        "2,99999,x,114,31\n"
        "3,2025年3月2日 21时30秒,x,114,31\n"
        "4,2025年3月2日 21时15分,,114,31\n"
        "5,45718.885416667,x,114,31\n"
    )
    problems = check_layer(write(tmp_path, "i.csv", text), "incidents")
    assert [(p.row, p.column) for p in problems] == [
        (1, "time"),
        (2, "time"),
        (3, "time"),
        (4, "category"),
    ]
    assert "ambiguous date" in problems[0].message
    assert "Excel serial date it is 2173-10-13" in problems[1].message
    # Hour then seconds with no minutes is not read as 21:30.
    assert problems[2].message.startswith("cannot parse time '2025年3月2日 21时30秒' (accepted")


def test_error_incident_severity_and_duplicates(tmp_path: Path) -> None:
    """Severity must be a whole number; incident ids must be unique."""
    text = (
        "id,time,category,severity,lon,lat\n1,2025-03-02,x,high,114,31\n1,2025-03-02,x,1,114,31\n"
    )
    with pytest.raises(LayerError) as info:
        read_incidents(write(tmp_path, "i.csv", text))
    assert re.search(problem(1, "severity", "'high' is not a whole number"), str(info.value))
    assert re.search(problem(2, "id", r"duplicate id '1' \(also in row 1\)"), str(info.value))


def test_error_unknown_time_zone(tmp_path: Path) -> None:
    """An unknown tz is named."""
    path = write(tmp_path, "i.csv", "id,time,category,lon,lat\n1,2025-03-02,x,114,31\n")
    with pytest.raises(LayerError, match="unknown time zone 'Mars/Olympus'"):
        read_incidents(path, tz="Mars/Olympus")


def test_error_list_is_capped(tmp_path: Path) -> None:
    """At most MAX_PROBLEMS problems are listed, then one counting the rest."""
    rows = "".join(f"{i},N{i},x{i},31\n" for i in range(MAX_PROBLEMS + 10))
    problems = check_layer(write(tmp_path, "s.csv", "id,name,lon,lat\n" + rows), "stations")
    assert len(problems) == MAX_PROBLEMS + 1
    assert [p.row for p in problems[:3]] == [1, 2, 3]
    assert problems[-1].message == "... and 10 more problem(s) not listed"


def test_all_problems_collected_before_raising(tmp_path: Path) -> None:
    """Problems of different kinds in different rows are all reported in one error."""
    text = "code,name,population,lon,lat\n123,A,-1,114,31\n420116201200,,5,abc,31\n"
    with pytest.raises(LayerError) as info:
        read_villages(write(tmp_path, "v.csv", text))
    assert {(p.row, p.column) for p in info.value.problems} == {
        (1, "code"),
        (1, "population"),
        (2, "name"),
        (2, "lon"),
    }
