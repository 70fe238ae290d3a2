"""Column mapping, per-layer options and time zones (issue 9 §2).

A table with other headers loads through ``--columns`` without editing; every pipeline
command takes each layer's ``--LAYER-layer/-encoding/-columns/-crs``; incident times are
judged on the area's clock (``--tz``), offsets converted before any hour window.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo import layers
from geo.area import AreaSpec, LayerSource, load_area, parse_columns
from geo.errors import AreaError, LayerError
from geo.hotspots import in_hour_window
from service.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _table(tmp_path: Path, frame: pd.DataFrame, name: str = "inc.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _incidents(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "occurrencedate": [f"2025-03-0{1 + i % 5} 2{i % 4}:15:00" for i in range(n)],
            "MCI": ["Theft"] * n,
            "Long": np.linspace(114.30, 114.31, n),
            "Lat": np.linspace(30.50, 30.51, n),
        }
    )


# ----------------------------------------------------------------------------- mapping


def test_mapping_reads_other_headers(tmp_path):
    path = _table(tmp_path, _incidents())
    with pytest.raises(LayerError, match=r"--columns time=HEADER"):
        layers.read_incidents(path)
    gdf = layers.read_incidents(path, columns={"time": "occurrencedate", "category": "MCI"})
    assert len(gdf) == 6
    assert gdf["category"].tolist() == ["theft"] * 6
    assert gdf["time"].iloc[0] == pd.Timestamp("2025-03-01 20:15", tz="Asia/Shanghai")
    # Lon/lat came from the alias "Long"/"Lat"; no id column: ids by data row.
    assert gdf["id"].tolist() == [f"R{i}" for i in range(1, 7)]
    assert gdf["lon"].iloc[-1] == pytest.approx(114.31)


def test_mapped_header_wins_over_an_alias_header(tmp_path):
    frame = _incidents().assign(time="2020-01-01 03:00", category="x")
    path = _table(tmp_path, frame)
    gdf = layers.read_incidents(path, columns={"time": "occurrencedate"})
    assert gdf["time"].dt.year.unique().tolist() == [2025]
    assert gdf["category"].unique().tolist() == ["x"]


def test_mapping_errors_name_the_column_and_what_exists(tmp_path):
    path = _table(tmp_path, _incidents())
    with pytest.raises(LayerError) as err:
        layers.read_incidents(path, columns={"time": "when", "categry": "MCI"})
    text = str(err.value)
    assert "the file has no column 'when'" in text and "'occurrencedate'" in text
    assert "'categry' is no column of this layer" in text and "category" in text


def test_hour_column_sets_the_local_hour(tmp_path):
    frame = pd.DataFrame(
        {
            "occurrencedate": ["2025/06/09 04:00:00+00", "2025/01/01 05:00:00+00"],
            "occurrencehour": [23, 9],
            "MCI": ["Assault", "Theft"],
            "Lat": [43.64, 43.68],
            "Long": [-79.53, -79.44],
        }
    )
    path = _table(tmp_path, frame)
    gdf = layers.read_incidents(
        path, columns={"time": "occurrencedate", "category": "MCI"}, tz="America/Toronto"
    )
    # The stored UTC instant is local midnight; the hour column gives the clock.
    assert gdf["time"].tolist() == [
        pd.Timestamp("2025-06-09 23:00", tz="America/Toronto"),
        pd.Timestamp("2025-01-01 09:00", tz="America/Toronto"),
    ]
    bad = _table(tmp_path, frame.assign(occurrencehour=[24, -1]), "bad.csv")
    with pytest.raises(LayerError) as err:
        layers.read_incidents(
            bad, columns={"time": "occurrencedate", "category": "MCI"}, tz="America/Toronto"
        )
    assert "row 1" in str(err.value) and "hour '24' is not 0-23" in str(err.value)
    assert "row 2" in str(err.value)


def test_an_area_wide_mapping_reaches_every_reader(tmp_path):
    """Each reader takes the area-wide mapping: coordinates under other headers load."""
    from geo.layers.readers import _READERS

    path = _table(
        tmp_path,
        pd.DataFrame({"code": ["420199100201"], "name": ["甲村"], "JD": [114.3], "WD": [30.9]}),
        "any.csv",
    )
    for kind, reader in _READERS.items():
        try:
            reader(path, shared_columns={"lon": "JD", "lat": "WD"})
        except LayerError as err:  # other columns missing: fine, but not the coordinates
            assert "no coordinate columns" not in str(err), kind
    gdf = layers.read_villages(path, shared_columns={"lon": "JD", "lat": "WD", "time": "T"})
    assert gdf["lon"].tolist() == [114.3]


def test_parse_columns():
    assert parse_columns("time=occurrencedate, category = MCI") == {
        "time": "occurrencedate",
        "category": "MCI",
    }
    for bad in ("time", "time=", "=x", "time=a,time=b"):
        with pytest.raises(AreaError, match="--columns"):
            parse_columns(bad)


# ----------------------------------------------------------------------------- time zones


def _helsinki(tmp_path: Path) -> tuple[Path, int]:
    """Incidents a year round in Helsinki, half naive local, half in UTC with an offset."""
    rng = np.random.default_rng(9)
    n = 2000
    instants = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 365 * 86400, n), unit="s"
    )
    local = instants.tz_convert("Europe/Helsinki")
    text = np.where(
        np.arange(n) % 2 == 0,
        local.strftime("%Y-%m-%d %H:%M:%S"),
        instants.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
    )
    hour = local.hour
    truth = int(((hour >= 19) | (hour < 6)).sum())
    frame = pd.DataFrame(
        {"id": range(n), "time": text, "category": "theft", "lon": 24.94, "lat": 60.17}
    )
    return _table(tmp_path, frame, "helsinki.csv"), truth


def test_times_are_judged_on_the_area_clock(tmp_path):
    path, truth = _helsinki(tmp_path)
    gdf = layers.read_incidents(path, tz="Europe/Helsinki")
    assert int(in_hour_window(gdf["time"], (19, 6)).sum()) == truth
    # On the Shanghai clock the same window picks other incidents.
    shanghai = layers.read_incidents(path)
    assert int(in_hour_window(shanghai["time"], (19, 6)).sum()) != truth


def test_daylight_saving_hours_are_kept(tmp_path):
    frame = pd.DataFrame(
        {
            "id": ["skipped", "repeated"],
            "time": ["2025-03-30 03:30", "2025-10-26 03:30"],
            "category": "theft",
            "lon": 24.94,
            "lat": 60.17,
        }
    )
    gdf = layers.read_incidents(_table(tmp_path, frame), tz="Europe/Helsinki")
    assert gdf["time"].notna().all()
    assert gdf["time"].iloc[0] == pd.Timestamp("2025-03-30 04:30", tz="Europe/Helsinki")
    assert gdf["time"].iloc[1].utcoffset() == pd.Timedelta(hours=3)  # summer time


def test_toronto_night_matches_its_hour_column(shared_path):
    path = shared_path("toronto_mci_2014_2021.csv.gz")
    gdf = layers.read_incidents(
        path, columns={"time": "occurrencedate", "category": "MCI"}, tz="America/Toronto"
    )
    hour = pd.read_csv(path, usecols=["occurrencehour"])["occurrencehour"]
    assert len(gdf) == len(hour)
    assert int(in_hour_window(gdf["time"], (19, 6)).sum()) == int(((hour >= 19) | (hour < 6)).sum())


# ----------------------------------------------------------------------------- area specs


def test_area_file_time_zone_and_columns(tmp_path):
    spec = AreaSpec.from_dict(
        {
            "osm": "roads.osm",
            "tz": "Europe/Helsinki",
            "columns": {"time": "occurrencedate", "name": "NAME_CN"},
            "incidents": {"path": "inc.csv", "columns": {"category": "MCI"}},
            "villages": "v.csv",
        },
        folder=tmp_path,
    )
    assert spec.tz == "Europe/Helsinki"
    assert dict(spec.columns) == {"time": "occurrencedate", "name": "NAME_CN"}
    assert dict(spec.source("incidents").columns) == {"category": "MCI"}  # type: ignore[union-attr]
    again = AreaSpec.from_dict(spec.to_dict(), folder=tmp_path)
    assert again == spec and hash(again) == hash(spec)
    with pytest.raises(AreaError, match="unknown time zone 'Mars/Olympus'"):
        AreaSpec.from_dict({"osm": "r.osm", "tz": "Mars/Olympus"})
    with pytest.raises(AreaError, match="'households2' is no column of any layer"):
        AreaSpec.from_dict({"osm": "r.osm", "villages": "v.csv", "columns": "households2=H"})
    with pytest.raises(AreaError, match="incidents columns: 'households'"):
        AreaSpec(osm="r.osm", incidents=LayerSource("i.csv", columns={"households": "H"}))


# ----------------------------------------------------------------------------- commands


@pytest.fixture(scope="module")
def renamed(sample_files, tmp_path_factory):
    """The sample's layers as an office might hold them: one GeoPackage, other headers."""
    d = tmp_path_factory.mktemp("renamed")
    f = sample_files
    gpkg = d / "county.gpkg"
    villages = pd.read_csv(f.villages, dtype=str)
    gpd.GeoDataFrame(
        villages.rename(columns={"name": "CUN_MC", "code": "CUN_DM"}),
        geometry=gpd.points_from_xy(villages["lon"].astype(float), villages["lat"].astype(float)),
        crs=4326,
    ).drop(columns=["lon", "lat"]).to_file(gpkg, layer="cun")
    stations = gpd.read_file(f.stations)
    stations.rename(columns={"name": "MC"}).to_file(gpkg, layer="paichusuo")
    inc = gpd.read_file(f.incidents, layer="incidents")
    table = pd.DataFrame(
        {
            "BH": inc["id"],
            "FSSJ": inc["time"].astype(str),
            "LB": inc["category"],
            "JD": inc.geometry.x,
            "WD": inc.geometry.y,
        }
    )
    table.to_csv(d / "jingqing.csv", index=False, encoding="gbk")
    return d, f


def test_every_layer_option_reaches_the_area(renamed, tmp_path):
    d, f = renamed
    area = load_area(
        AreaSpec(
            osm=str(f.roads),
            villages=LayerSource(
                str(d / "county.gpkg"), layer="cun", columns={"code": "CUN_DM", "name": "CUN_MC"}
            ),
            stations=LayerSource(str(d / "county.gpkg"), layer="paichusuo", columns={"name": "MC"}),
            incidents=LayerSource(str(d / "jingqing.csv"), encoding="gbk"),
            columns={"id": "BH", "time": "FSSJ", "category": "LB", "lon": "JD", "lat": "WD"},
            synthetic=True,
        ),
        cache_dir=tmp_path / "cache",
    )
    reference = layers.read_villages(f.villages)
    assert sorted(area.villages["code"]) == sorted(reference["code"])
    assert len(area.stations) == len(gpd.read_file(f.stations))
    assert len(area.incidents) == len(gpd.read_file(f.incidents, layer="incidents"))
    # The run manifest records how each file was read, beside its hash.
    from service.run import run_info

    info = run_info(area, lang="en")
    assert info["options"]["tz"] == "Asia/Shanghai"
    assert info["options"]["columns"]["time"] == "FSSJ"
    assert info["inputs"]["villages"]["layer"] == "cun"
    assert info["inputs"]["villages"]["columns"] == {"code": "CUN_DM", "name": "CUN_MC"}
    assert info["inputs"]["incidents"]["encoding"] == "gbk"


def _run(args: list[str], capsys) -> tuple[int, str]:
    rc = main(args)
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_commands_take_per_layer_flags(renamed, tmp_path, capsys):
    d, f = renamed
    common = [
        "--osm", str(f.roads),
        "--villages", str(d / "county.gpkg"), "--villages-layer", "cun",
        "--villages-columns", "code=CUN_DM,name=CUN_MC",
        "--stations", str(d / "county.gpkg"), "--stations-layer", "paichusuo",
        "--stations-columns", "name=MC",
        "--cache-dir", str(tmp_path / "cache"),
    ]  # fmt: skip
    rc, text = _run(["coverage", *common, "--out", str(tmp_path / "cov")], capsys)
    assert rc == 0, text
    assert (tmp_path / "cov" / "coverage_villages.csv").exists()
    incidents = [
        "--incidents", str(d / "jingqing.csv"), "--incidents-encoding", "gbk",
        "--columns", "id=BH,time=FSSJ,category=LB,lon=JD,lat=WD",
    ]  # fmt: skip
    rc, text = _run(
        ["hotspots", *common, *incidents, "--out", str(tmp_path / "hot"), "--trend-period", "none"],
        capsys,
    )
    assert rc == 0, text
    rc, text = _run(["unlit", *common, *incidents, "--out", str(tmp_path / "unlit")], capsys)
    assert rc == 0, text
    # A per-layer flag without its layer, or a wrong layer name, is one clear line.
    rc, text = _run(["coverage", *common, "--teams-layer", "x"], capsys)
    assert rc == 2 and "--teams-layer is given without --teams FILE" in text
    rc, text = _run(
        [
            "coverage",
            *[a if a != "cun" else "nosuch" for a in common],
            "--out",
            str(tmp_path / "x"),
        ],
        capsys,
    )
    assert rc == 2 and "nosuch" in text and "cun" in text


def test_tz_flag_and_area_file_agree(sample_files, tmp_path, capsys):
    path, truth = _helsinki(tmp_path)
    rc, text = _run(["layers", "check", str(path), "--kind", "incidents", "--tz", "Mars"], capsys)
    assert rc == 1 and "unknown time zone 'Mars'" in text
    area_file = tmp_path / "area.toml"
    area_file.write_text(
        f'osm = "{sample_files.roads}"\ntz = "Europe/Helsinki"\nincidents = "{path}"\n',
        encoding="utf-8",
    )
    spec = AreaSpec.from_file(area_file)
    assert spec.tz == "Europe/Helsinki"
    # The command line overrides the area file's zone.
    from service.cli import build_parser
    from service.options import area_spec_from_args

    args = build_parser().parse_args(["hotspots", "--area", str(area_file), "--tz", "UTC"])
    assert area_spec_from_args(args).tz == "UTC"  # type: ignore[union-attr]
    assert truth > 0


def test_cli_help_names_the_per_layer_flags():
    out = subprocess.run(
        [sys.executable, "-m", "service.cli", "hotspots", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    assert "--LAYER-columns" in out and "--tz" in out and "--columns" in out
    json.dumps(out)


def test_hotspots_need_only_roads_and_incidents(renamed, tmp_path, capsys):
    """Hot spots run on roads and incidents alone: no villages, stations or teams."""
    d, f = renamed
    rc, text = _run(
        [
            *("-q", "hotspots", "--osm", str(f.roads), "--incidents", str(d / "jingqing.csv")),
            *("--columns", "id=BH,time=FSSJ,category=LB,lon=JD,lat=WD"),
            *("--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "hot")),
            *("--trend-period", "none"),
        ],
        capsys,
    )
    assert rc == 0, text
    assert (tmp_path / "hot" / "hotspots.html").exists()
