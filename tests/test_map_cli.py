"""``pingan map KIND``, the ``--map`` flags and the index page of a run, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main
from service.map_cli import KINDS

GUIXI = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / ("nonwuhan_guixi_jiangxi_cn.osm.bz2")
)


def test_map_overview_on_the_sample(tmp_path, capsys):
    """`pingan map overview` on the sample writes one page, Chinese by default."""
    out = tmp_path / "ov"
    assert main(["-q", "map", "overview", "--out", str(out)]) == 0
    page = out / "overview.html"
    html = page.read_text()
    assert "概览图" in html and "overview" not in html.split("<title>")[1].split("</title>")[0]
    assert str(page) in capsys.readouterr().out


def test_map_overview_in_english(tmp_path):
    out = tmp_path / "ov"
    assert main(["-q", "map", "overview", "--out", str(out), "--lang", "en"]) == 0
    assert ": overview</title>" in (out / "overview.html").read_text()


def test_every_kind_is_a_command_and_names_its_options(capsys):
    """Each kind's help is the help of the command that makes it, with the map flags."""
    for kind in KINDS:
        with pytest.raises(SystemExit) as exc:
            main(["map", kind, "--help"])
        assert exc.value.code == 0
        text = capsys.readouterr().out
        assert "--tiles" in text and "--lang" in text, kind


def test_bad_tiles_is_a_clear_error(tmp_path, capsys):
    """An unknown --tiles value names itself and the choices; nothing is written."""
    out = tmp_path / "ov"
    code = main(["-q", "map", "overview", "--out", str(out), "--tiles", "nosuchthing"])
    err = capsys.readouterr().err
    assert code == 2 and "nosuchthing" in err and "osm" in err
    assert not (out / "overview.html").exists()


def test_hotspots_map_flag_can_be_turned_off(tmp_path):
    out = tmp_path / "h"
    assert main(["-q", "hotspots", "--out", str(out), "--no-map"]) == 0
    assert not (out / "hotspots.html").exists() and any(out.glob("*.csv"))
    assert main(["-q", "map", "hotspots", "--out", str(out), "--lang", "en"]) == 0
    assert "hotspots</title>" in (out / "hotspots.html").read_text()


def test_posts_map_rings_the_newly_covered_villages(tmp_path):
    out = tmp_path / "p"
    assert main(["-q", "posts", "--k", "2", "--out", str(out)]) == 0
    html = (out / "posts.html").read_text()
    gained = sum(
        int(f["properties"]["villages_gained"])
        for f in json.loads((out / "posts.geojson").read_text())["features"]
    )
    assert json.dumps("新覆盖的村庄") in html  # the layer's name, as the page's JS holds it
    assert gained >= 1 and html.count('"post": ') == gained


@pytest.mark.skipif(not GUIXI.exists(), reason=f"{GUIXI} absent (../shared not laid out)")
def test_map_overview_on_a_real_osm_file_draws_each_road_once(tmp_path):
    """On the Guixi extract no road line is drawn twice (once per direction)."""
    import re
    from collections import Counter

    out = tmp_path / "gx"
    assert main(["-q", "map", "overview", "--osm", str(GUIXI), "--out", str(out)]) == 0
    html = (out / "overview.html").read_text()
    dec = json.JSONDecoder()
    lines = []
    for m in re.finditer(r"geo_json_[0-9a-f]+_add\(", html):
        obj, _ = dec.raw_decode(html, m.end())
        for f in obj.get("features", []):
            if f["geometry"]["type"] == "LineString":
                c = tuple(map(tuple, f["geometry"]["coordinates"]))
                lines.append(min(c, c[::-1]))
    assert len(lines) > 100
    twice = [k for k, n in Counter(lines).items() if n > 1]
    assert not twice, f"{len(twice)} of {len(lines)} road lines drawn twice"


def test_coverage_map_colours_each_village_by_its_travel_time(tmp_path):
    """`pingan coverage --map`: one dot per village, in the band its minutes fall in."""
    import csv

    out = tmp_path / "c"
    assert main(["-q", "coverage", "--out", str(out), "--map"]) == 0
    html = (out / "coverage.html").read_text()
    with (out / "coverage_villages.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    dec = json.JSONDecoder()
    import re

    bands = {}
    for m in re.finditer(r"geo_json_[0-9a-f]+_add\(", html):
        obj, _ = dec.raw_decode(html, m.end())
        for f in obj.get("features", []):
            if "band" in f["properties"]:
                bands[f["properties"]["code"]] = (f["properties"]["band"], f["properties"])
    assert len(bands) == len(rows)
    for r in rows:
        band = bands[r["code"]][0]
        if not r["minutes"]:
            assert band == "无路可达"
        else:
            t = next((t for t in (5, 10, 15, 30) if float(r["minutes"]) <= t), None)
            assert band == (f"{t} 分钟内" if t else "超过 30 分钟"), r


def test_officers_map_shows_every_gap_and_move(tmp_path):
    """`pingan teams officers --map`: one dot per committee, gaps by whether they are filled."""
    import csv
    import re

    out = tmp_path / "o"
    assert main(["-q", "teams", "officers", "--out", str(out), "--map"]) == 0
    html = (out / "officers.html").read_text()
    with (out / "officers_gaps.csv").open(encoding="utf-8-sig") as fh:
        gaps = list(csv.DictReader(fh))
    with (out / "officers_proposals.csv").open(encoding="utf-8-sig") as fh:
        moves = list(csv.DictReader(fh))
    status = []
    dec = json.JSONDecoder()
    for m in re.finditer(r"geo_json_[0-9a-f]+_add\(", html):
        obj, _ = dec.raw_decode(html, m.end())
        status += [
            f["properties"]["status"] for f in obj["features"] if "status" in f["properties"]
        ]
    assert status.count("缺辅警，建议调派") == len(moves)
    assert status.count("缺辅警，建议调派") + status.count("缺辅警，无人可派") == len(gaps)
    assert json.dumps("建议调派路线") in html
