"""``pingan patrol`` as a dispatcher runs it: on the sample, on a real OSM file, and wrong."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from service.cli import main

FAST = ["--seconds", "20", "--iterations", "800"]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("patrol")
    args = ["-q", "patrol", "--sample-dir", str(out / "sample"), "--cache-dir", str(out / "c")]
    args += ["--station", "PS-01", "--units", "2", "--shift", "20:00-02:00", "--mode", "car"]
    args += ["--variants", "2", "--date", "2026-12-02", "--out", str(out / "o"), *FAST]
    return out, args, main(args)


def test_patrol_writes_every_file(sample_run, capsys):
    """The command exits 0 and writes the report, GPX, GeoJSON, shift sheet and plan."""
    out, _, rc = sample_run
    assert rc == 0
    o = out / "o"
    for name in (
        "patrol.md",
        "patrol.gpx",
        "patrol_shift_sheet.csv",
        "patrol_routes.geojson",
        "patrol_plan.json",
        "patrol_targets.csv",
        "patrol_variants.csv",
        "patrol_variant_2.gpx",
        "patrol_variant_2_sheet.csv",
    ):
        assert (o / name).is_file(), name
    sheet = pd.read_csv(o / "patrol_shift_sheet.csv")
    assert set(sheet["unit"]) == {"PS-01-1", "PS-01-2"}
    assert sheet["lat"].notna().all() and sheet["lon"].notna().all()
    md = (o / "patrol.md").read_text(encoding="utf-8")
    assert "2026-12-02 20:00-02:00" in md
    # Every target row says where it is.
    targets = pd.read_csv(o / "patrol_targets.csv")
    assert targets[["lat", "lon"]].notna().all().all()


def test_recent_plan_is_read_back(sample_run, tmp_path):
    """Tomorrow's run reads tonight's patrol_plan.json and plans around it."""
    out, args, _ = sample_run
    plan = out / "o" / "patrol_plan.json"
    past = json.loads(plan.read_text(encoding="utf-8"))["past"]
    assert past["roads"] and past["network"].startswith("car:")
    tomorrow = [a if a != str(out / "o") else str(tmp_path) for a in args]
    assert main([*tomorrow, "--recent", str(plan)]) == 0
    assert "earlier shift" in (tmp_path / "patrol.md").read_text(encoding="utf-8")


def test_bad_recent_file_is_named(sample_run, tmp_path, capsys):
    """A file that is not a saved plan is refused, naming it; nothing is written."""
    _, args, _ = sample_run
    bad = tmp_path / "x.json"
    bad.write_text('{"summary": {}}', encoding="utf-8")
    o = tmp_path / "o"
    run = [a if not a.endswith("/o") else str(o) for a in args]
    assert main([*run, "--recent", str(bad)]) == 2
    assert f"{bad} is not a saved patrol plan" in capsys.readouterr().err
    assert not o.exists()


def test_bad_shift_exits_2(sample_run, capsys):
    """A malformed shift is a one-line error, exit 2, no traceback."""
    _, args, _ = sample_run
    i = args.index("--shift")
    run = [*args[: i + 1], "20-02", *args[i + 2 :]]
    assert main(run) == 2
    err = capsys.readouterr().err
    assert "shift must be a 24-hour clock time HH:MM" in err and "Traceback" not in err


def test_own_targets_file(sample_run, tmp_path, capsys):
    """A dispatcher's own CSV of targets is planned; a bad row is named by row and column."""
    _, args, _ = sample_run
    good = tmp_path / "t.csv"
    good.write_text(
        "id,name,prize,lon,lat,window,revisit_min\n"
        "A,桥头,10,114.3860,30.9975,,\n"
        "B,学校门口,20,114.3505,31.0350,22:00-01:00,\n"
        "C,市场,15,114.4330,31.0165,,120\n",
        encoding="utf-8",
    )
    o = tmp_path / "o"
    run = [a if not a.endswith("/o") else str(o) for a in args]
    assert main([*run, "--targets", str(good)]) == 0
    sheet = pd.read_csv(o / "patrol_shift_sheet.csv")
    assert {"桥头", "学校门口", "市场"} <= set(sheet["name"])
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,prize,lon,lat\nA,x,10,114.38,30.99\nB,y,-3,114.35,31.03\n")
    assert main([*run, "--targets", str(bad)]) == 2
    assert "bad.csv, row 3, column 'prize'" in capsys.readouterr().err


def test_patrol_on_a_real_osm_file(shared_path, tmp_path):
    """On the real Guixi extract with our own station and targets, the plan is written."""
    osm = shared_path("nonwuhan_guixi_jiangxi_cn.osm.bz2")
    st = tmp_path / "stations.csv"
    st.write_text("id,name,kind,lon,lat\nS1,城关派出所,station,117.250434,28.308123\n")
    tg = tmp_path / "t.csv"
    tg.write_text(
        "id,name,prize,lon,lat,revisit_min\n"
        "A,建设路口,30,117.2460,28.2945,120\n"
        "B,冶金大道,12,117.2408,28.2854,\n"
        "C,园西路,6,117.2128,28.2923,\n"
    )
    o = tmp_path / "o"
    rc = main(
        ["-q", "patrol", "--osm", str(osm), "--stations", str(st), "--targets", str(tg)]
        + ["--cache-dir", str(tmp_path / "c"), "--units", "1", "--shift", "21:00-23:00"]
        + ["--variants", "1", "--out", str(o), *FAST]
    )
    assert rc == 0
    sheet = pd.read_csv(o / "patrol_shift_sheet.csv")
    assert {"建设路口", "冶金大道", "园西路"} <= set(sheet["name"])
    assert sheet["lat"].between(28.2, 28.4).all()
