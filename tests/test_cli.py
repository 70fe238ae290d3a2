"""The pingan command line, end to end in-process."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from service.cli import main

OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
<node id="1" version="1" lat="30.9000000" lon="114.3000000"/>
<node id="2" version="1" lat="30.9000000" lon="114.3100000"/>
<node id="3" version="1" lat="30.9100000" lon="114.3100000"/>
<node id="4" version="1" lat="30.9100000" lon="114.3000000"/>
<node id="5" version="1" lat="30.9200000" lon="114.3000000"/>
<node id="6" version="1" lat="30.9000000" lon="114.3200000"/>
<way id="1" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
<tag k="highway" v="tertiary"/><tag k="lit" v="yes"/></way>
<way id="2" version="1"><nd ref="4"/><nd ref="5"/><tag k="highway" v="track"/><tag k="lit" v="no"/>
</way>
<way id="3" version="1"><nd ref="2"/><nd ref="6"/><tag k="highway" v="service"/>
<tag k="oneway" v="yes"/></way>
</osm>
"""


@pytest.fixture
def osm_file(tmp_path):
    path = tmp_path / "area.osm"
    path.write_text(OSM, encoding="utf-8")
    return path


def test_network_build_prints_counts_and_lit_km(osm_file, tmp_path, capsys):
    rc = main(["-q", "network", "build", "--osm", str(osm_file), "--cache-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "nodes         3" in out
    assert "edges         6 (directed)" in out
    # Ring of ~4.1 km lit, 1.1 km unlit track; the one-way spur 2->6 is dropped.
    assert "lit km        yes 4.1" in out
    assert "| no 1.11 | unknown 0.00" in out
    assert "dropped       1 component(s)" in out


def test_network_build_json_and_cache(osm_file, tmp_path, capsys):
    args = [
        "-q",
        "network",
        "build",
        "--osm",
        str(osm_file),
        "--cache-dir",
        str(tmp_path),
        "--json",
    ]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)
    assert not first["source"]["from_cache"]
    assert second["source"]["from_cache"]
    assert first["lit_km"] == second["lit_km"]


def test_network_build_bbox_clips(osm_file, capsys):
    rc = main(
        [
            "-q",
            "network",
            "build",
            "--osm",
            str(osm_file),
            "--no-cache",
            "--json",
            "--bbox",
            "114.295,30.895,114.315,30.925",
        ]
    )
    assert rc == 0
    s = json.loads(capsys.readouterr().out)
    assert s["dropped"]["components"] == 0  # the one-way spur east of 114.315 is clipped away
    assert s["source"]["ways_trimmed"] == 1


def test_errors_exit_2_with_a_message(tmp_path, capsys):
    assert main(["network", "build", "--osm", str(tmp_path / "none.osm")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["network", "build", "--osm", "x.osm", "--bbox", "1,2,3"])
    assert "--bbox must be WEST,SOUTH,EAST,NORTH" in capsys.readouterr().err


def test_layers_check_lists_every_problem(tmp_path, capsys):
    bad = tmp_path / "villages.csv"
    bad.write_text(
        "code,name,lon,lat\n"
        "420199100201,甲村,114.3,30.9\n"
        "42019910020,乙村,114.3,30.9\n"
        "420199100203,丙村,abc,30.9\n"
        "420199100201,丁村,114.3,95\n",
        encoding="utf-8",
    )
    assert main(["layers", "check", str(bad), "--kind", "villages"]) == 1
    out = capsys.readouterr().out
    assert "row 2, column 'code'" in out  # 11 digits
    assert "row 3, column 'lon'" in out  # not a number
    assert "row 4, column 'lat'" in out  # out of range
    assert "row 4, column 'code'" in out  # duplicate of row 1


def test_layers_check_ok_and_attribute_only(tmp_path, capsys):
    good = tmp_path / "list.csv"
    good.write_text("code,name\n420199100201,甲村\n", encoding="utf-8")
    assert main(["layers", "check", str(good), "--kind", "villages"]) == 1
    capsys.readouterr()
    assert main(["layers", "check", str(good), "--kind", "villages", "--attributes-only"]) == 0
    assert "OK" in capsys.readouterr().out


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    """One network cache for the analysis commands: they test the analyses, not builds."""
    return str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def shared_sample(tmp_path_factory):
    """One sample folder, written once and reused by every command (as a user's is)."""
    return str(tmp_path_factory.mktemp("sample"))


def test_coverage_on_the_sample(tmp_path, capsys, shared_cache, shared_sample):
    rc = main(
        [
            "-q",
            "coverage",
            "--mode",
            "car",
            "--threshold",
            "15",
            "--sample-dir",
            shared_sample,
            "--out",
            str(tmp_path / "out"),
            "--cache-dir",
            shared_cache,
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "| within (min) |" in out and "## Catchments" in out
    # The same file name as pingan run and the demo write (one output writer).
    csv = (tmp_path / "out" / "coverage_villages.csv").read_text(encoding="utf-8")
    assert csv.splitlines()[0].startswith("code,name,township_code,weight,facility,minutes")
    assert "covered_15" in csv.splitlines()[0]


def test_coverage_needs_all_or_none_of_the_files(tmp_path, capsys):
    assert main(["coverage", "--osm", "x.osm"]) == 2
    assert "give all of --osm (or --roads), --villages and --stations" in capsys.readouterr().err


def test_scenario_compare(tmp_path, capsys):
    from geo.sample import generate_sample
    from geo.scenarios import BaseData, Edit, Scenario, save_scenario

    files = generate_sample(tmp_path / "sample")
    base = BaseData(
        osm="../sample/roads.osm",
        villages="../sample/villages.csv",
        stations="../sample/stations.geojson",
    )
    a = save_scenario(Scenario("base", base), tmp_path / "sc" / "a.json")
    b = save_scenario(
        Scenario("no PS-01", base, edits=(Edit("remove_station", {"id": "PS-01"}),)),
        tmp_path / "sc" / "b.json",
    )
    assert files.roads.exists()
    rc = main(
        [
            "-q",
            "scenario",
            "compare",
            str(a),
            str(b),
            "--out",
            str(tmp_path / "d.csv"),
            "--no-cache",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "# Scenario comparison: base → no PS-01" in out
    assert "| lost |" in out.replace("gained | lost", "| lost |")
    assert (tmp_path / "d.csv").read_text(encoding="utf-8").startswith("code,name,weight")
    assert main(["scenario", "compare", str(a), str(tmp_path / "missing.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_posts_mclp_and_lscp_on_the_sample(tmp_path, capsys, shared_cache, shared_sample):
    common = ["--threshold", "10", "--sample-dir", shared_sample, "--cache-dir", shared_cache]
    assert main(["-q", "posts", "--k", "2", *common]) == 0
    out = capsys.readouterr().out
    assert out.startswith("MCLP, car, within 10 min: 2 new post(s)")
    assert "proven optimal" in out
    assert main(["-q", "posts", "--cover-all", "--candidates", "junctions", *common]) == 0
    out = capsys.readouterr().out
    assert "LSCP, car, within 10 min:" in out and "node-" in out


def test_hotspots_unlit_and_lamps_commands(tmp_path, capsys, shared_cache, shared_sample):
    common = ["--sample-dir", shared_sample, "--cache-dir", shared_cache]
    out = tmp_path / "out"
    assert (
        main(
            [
                "-q",
                "hotspots",
                "--hours",
                "19",
                "6",
                "--bandwidth",
                "200",
                "--out",
                str(out),
                *common,
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "incidents selected of 5,000" in text and "hot 99%" in text
    assert "Emerging hot spots" in text
    html = (out / "hotspots.html").read_text(encoding="utf-8")
    assert "<script src=" not in html and "L.control.layers" in html and "Gi*" in html
    assert main(["-q", "unlit", "--top", "3", *common]) == 0
    text = capsys.readouterr().out
    assert "By township (km):" in text and "night incidents within 300 m" in text
    assert main(["-q", "lamps", "--budget", "10", "--out", str(out), *common]) == 0
    text = capsys.readouterr().out
    assert text.startswith("10 lamps every 35 m light 0.35 km of dark road")
    assert (out / "lamps.geojson").is_file()
    # The runs table says which road each run lights: the planted 通组路 comes first,
    # and no row is left without a name or a place.
    runs = pd.read_csv(out / "lamp_runs.csv", dtype=str)
    assert runs.iloc[0]["road"].endswith("通组路")
    assert runs["road"].str.len().gt(0).all() and runs["where"].str.contains(", ").all()
    assert int(runs["lamps"].astype(int).sum()) == 10
    assert "| 1 | " in text and "通组路" in text
    lamps_html = (out / "lamps.html").read_text(encoding="utf-8")
    # The ranked roads are drawn whole, with their names (folium escapes non-ASCII).
    assert "通组路" in lamps_html or json.dumps("通组路")[1:-1] in lamps_html
    assert main(["lamps", "--budget", "-1", *common]) == 2
    assert "budget" in capsys.readouterr().err
    assert main(["hotspots", "--hours", "25", "6", *common]) == 2


def test_network_fetch_rejects_an_empty_place_without_going_online(tmp_path, capsys):
    assert main(["network", "fetch", "--place", "  ", "--out", str(tmp_path / "x.osm")]) == 2
    assert "place name is empty" in capsys.readouterr().err
    assert not (tmp_path / "x.osm").exists()


def test_posts_over_a_candidate_layer_file(tmp_path, capsys, shared_cache, shared_sample):
    from geo.sample import ensure_sample

    files = ensure_sample(shared_sample)
    stations = json.loads(files.stations.read_text(encoding="utf-8"))
    for k, f in enumerate(stations["features"]):
        f["properties"] |= {"id": f"C-{k}", "name": f"候选点{k}"}
    cands = tmp_path / "candidates.geojson"
    cands.write_text(json.dumps(stations, ensure_ascii=False), encoding="utf-8")
    args = ["--sample-dir", shared_sample, "--cache-dir", shared_cache]
    rc = main(["-q", "posts", "--k", "1", "--candidates", str(cands), *args])
    assert rc == 0
    out = capsys.readouterr().out
    # Candidates at the existing stations add nothing: the best is named with where it is.
    assert "MCLP, car, within 15 min:" in out
    assert main(["posts", "--k", "1", "--candidates", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_run_on_roads_alone_says_what_it_could_not_compute(
    tmp_path, capsys, shared_cache, shared_sample
):
    from geo.sample import ensure_sample

    files = ensure_sample(shared_sample)
    out = tmp_path / "out"
    args = ["-q", "run", "--osm", str(files.roads), "--out", str(out), "--cache-dir", shared_cache]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "not computed: coverage and scenarios need villages and stations" in printed
    assert (out / "overview.html").is_file() and (out / "summary.md").is_file()
    assert "## Not computed" in (out / "summary.md").read_text(encoding="utf-8")
    assert not (out / "coverage.md").exists()
    assert main(["run", "--villages", str(files.villages)]) == 2
    assert "give all of --osm" in capsys.readouterr().err


class _ClosedPipe(io.StringIO):
    """A stdout whose reader has gone away (`pingan ... | head -1`)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_stops_quietly_after_the_files_are_written(
    tmp_path, capsys, monkeypatch, shared_cache, shared_sample
):
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    args = ["--sample-dir", shared_sample, "--cache-dir", shared_cache, "--out", str(out)]
    rc = main(["-q", "coverage", *args])
    monkeypatch.undo()
    assert rc == 141  # 128 + SIGPIPE, as a Unix tool ends in a pipe
    assert (out / "coverage.md").is_file() and (out / "coverage_villages.csv").is_file()
    assert "Broken pipe" not in capsys.readouterr().err


def test_every_mode_keeps_status_snap_and_station_names(tmp_path, shared_cache, shared_sample):
    out = tmp_path / "out"
    args = ["--sample-dir", shared_sample, "--cache-dir", shared_cache, "--out", str(out)]
    assert main(["-q", "coverage", "--mode", "all", *args]) == 0
    header = (out / "coverage_by_mode.csv").read_text(encoding="utf-8").splitlines()[0]
    for mode in ("car", "motorbike", "foot"):
        for col in ("minutes", "facility", "facility_name", "status", "snap_m"):
            assert f"{col}_{mode}" in header.split(","), (col, mode)


def test_layer_files_can_each_have_their_own_crs(tmp_path, capsys, shared_cache):
    """GCJ-02 stations with WGS84 villages: --stations-crs converts only the stations."""
    from geo.coords import wgs84_to_gcj02
    from geo.sample import ensure_sample

    files = ensure_sample(tmp_path / "s")
    data = json.loads(files.stations.read_text(encoding="utf-8"))
    for f in data["features"]:
        lon, lat = f["geometry"]["coordinates"]
        g = wgs84_to_gcj02([lon], [lat])
        f["geometry"]["coordinates"] = [float(g[0][0]), float(g[1][0])]
    gcj = tmp_path / "stations_gcj02.geojson"
    gcj.write_text(json.dumps(data), encoding="utf-8")
    common = ["--osm", str(files.roads), "--villages", str(files.villages)]
    common += ["--cache-dir", shared_cache, "--threshold", "15"]
    assert main(["-q", "coverage", *common, "--stations", str(files.stations)]) == 0
    plain = capsys.readouterr().out
    assert main(["-q", "coverage", *common, "--stations", str(gcj), "--stations-crs", "gcj02"]) == 0
    assert capsys.readouterr().out == plain  # converted back onto the same points
    # Without the flag the ~500 m GCJ-02 offset moves the stations and changes minutes.
    assert main(["-q", "coverage", *common, "--stations", str(gcj)]) == 0
    assert capsys.readouterr().out != plain


def test_outputs_are_csv_rows_that_say_where_they_are(tmp_path, shared_cache, shared_sample):
    out = tmp_path / "out"
    args = ["--sample-dir", shared_sample, "--cache-dir", shared_cache, "--out", str(out)]
    assert main(["-q", "hotspots", "--trend-period", "", *args]) == 0
    assert main(["-q", "unlit", *args]) == 0
    assert main(["-q", "lamps", "--budget", "5", *args]) == 0
    for page in ("unlit.html", "lamps.html"):
        html = (out / page).read_text(encoding="utf-8")
        assert "<script src=" not in html and "L.map" in html, page
    for name in ("hotspot_roads.csv", "unlit_roads_risk.csv"):
        with (out / name).open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert rows and all(29 < float(r["lat"]) < 32 and 113 < float(r["lon"]) < 116 for r in rows)


def test_posts_say_where_they_go_and_write_a_table_and_a_map(
    tmp_path, capsys, shared_cache, shared_sample
):
    out = tmp_path / "out"
    args = ["--sample-dir", shared_sample, "--cache-dir", shared_cache, "--out", str(out)]
    assert main(["-q", "posts", "--cover-all", "--candidates", "junctions", *args]) == 0
    printed = capsys.readouterr().out
    assert "junction near" in printed and " m from " in printed
    with (out / "posts.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for r in rows:
        assert 29 < float(r["lat"]) < 32 and 113 < float(r["lon"]) < 116
        assert r["road"] and r["nearest_village"] and int(r["villages_gained"]) >= 0
    feats = json.loads((out / "posts.geojson").read_text(encoding="utf-8"))["features"]
    assert len(feats) == len(rows)
    html = (out / "posts.html").read_text(encoding="utf-8")
    assert "<script src=" not in html and json.dumps("拟建警务室") in html


def test_layers_check_describes_a_valid_layer(capsys):
    gbk = Path(__file__).parent / "data" / "layers" / "villages_gbk.csv"
    assert main(["layers", "check", str(gbk), "--kind", "villages"]) == 0
    out = capsys.readouterr().out
    assert "OK, a valid villages layer" in out
    assert "rows      3 (3 with a location)" in out
    assert "encoding  gb18030 (detected)" in out and "CRS       WGS84" in out
    assert "kinds     village 2, community 1" in out and " E, " in out and " N (WGS84)" in out


def test_hotspots_on_short_ranges_finish_and_say_what_trends_did(
    tmp_path, capsys, shared_cache, shared_sample
):
    """The README example: four months pick monthly trends; four days skip them, politely."""
    common = ["--sample-dir", shared_sample, "--cache-dir", shared_cache, "--top", "5"]
    readme = ["--start", "2025-09-01", "--end", "2026-01-01", "--category", "burglary", "theft"]
    assert main(["-q", "hotspots", *readme, *common]) == 0
    out = capsys.readouterr().out
    assert "Emerging hot spots (4 periods of 'M')" in out
    rows = [r for r in out.splitlines() if r.startswith("| ") and "hotspot core" in r]
    assert rows and all(int(r.split("|")[5]) >= 2 for r in rows)  # own incidents, never 0
    args = ["--start", "2025-03-04", "--end", "2025-03-08", "--out", str(tmp_path / "o")]
    assert main(["-q", "hotspots", *args, *common]) == 0
    out = capsys.readouterr().out
    assert "trends skipped: the incidents span" in out
    assert (tmp_path / "o" / "hotspots.html").is_file()


def test_hotspots_filter_by_village_or_polygon_file(tmp_path, capsys, shared_cache, shared_sample):
    import geopandas as gpd
    import shapely

    common = ["--sample-dir", shared_sample, "--cache-dir", shared_cache, "--trend-period", ""]
    assert main(["-q", "hotspots", "--village", "420199100226", *common]) == 0
    one = int(capsys.readouterr().out.split(" incidents selected")[0].replace(",", ""))
    assert 0 < one < 5000
    box = gpd.GeoDataFrame(geometry=[shapely.box(114.30, 31.00, 114.36, 31.05)], crs=4326)
    box.to_file(tmp_path / "box.geojson", driver="GeoJSON")
    assert main(["-q", "hotspots", "--within", str(tmp_path / "box.geojson"), *common]) == 0
    inside = int(capsys.readouterr().out.split(" incidents selected")[0].replace(",", ""))
    assert 0 < inside < 5000
    assert main(["hotspots", "--village", "999", *common]) == 2
    assert "no village with code '999'" in capsys.readouterr().err


def test_an_internal_error_is_one_line_and_a_crash_file(monkeypatch, capsys):
    """A bug of ours ends in one line naming a crash file, never a traceback, status 70."""
    import service.cli as cli

    def broken(_args):
        raise ZeroDivisionError("boom")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser.set_defaults(func=broken)
    for action in parser._subparsers._group_actions:  # every subcommand runs `broken`
        for sub in action.choices.values():
            sub.set_defaults(func=broken)
    assert main(["coverage"]) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (ZeroDivisionError: boom)" in err
    log = err.split("the details are in ")[1].split(". Please")[0]
    text = Path(log).read_text(encoding="utf-8")
    assert text.startswith("pingan coverage") and "Traceback" in text
    Path(log).unlink()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("POLYGON ((1 1, 2 1, 2 2, 1 1))".encode("utf-16"), "UTF-16 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text"),
        (b"POLYGON ((1 1,\x00 2 1, 2 2, 1 1))", "NUL bytes"),
    ],
)
def test_a_polygon_file_that_is_not_wkt_text_is_one_line(tmp_path, capsys, content, why):
    """--polygon with UTF-16 or binary content: one line naming the file, status 2."""
    poly = tmp_path / "clip.txt"
    poly.write_bytes(content)
    osm = tmp_path / "none.osm"
    osm.write_text("<osm/>")
    assert main(["network", "build", "--osm", str(osm), "--polygon", str(poly)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(poly) in err and why in err
