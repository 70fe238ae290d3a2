"""The vanguard-teams overview map on the sample district: what is drawn, popups, stations."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path
from typing import Any

import folium
import numpy as np
import pytest
import shapely
from browser import needs_browser, open_map
from map_text import english_words, visible_strings

from geo.errors import LayerError, MapError
from maps.legend import drawn_legend
from maps.offline import render_offline
from maps.teams import SCORE_BINS, SCORE_COLOURS, STATION_SNAP_M, score_bin, teams_map
from service.output import Output

MAX_BYTES = 5 * 1024 * 1024
LATIN_ALLOWED = {"Leaflet", "OpenStreetMap", "contributors"}


@pytest.fixture(scope="module")
def report(sample_full_area):
    from service.teams import run_teams_job

    return run_teams_job(sample_full_area)


def _build(report, area, lang="zh"):
    return teams_map(
        report.assignment,
        report.scores,
        teams=area.teams,
        villages=area.villages,
        stations=area.stations,
        roads=area.roads.frame(),
        lang=lang,
        attribution=None,
    )


@pytest.fixture(scope="module")
def pages(report, sample_full_area, tmp_path_factory):
    folder = tmp_path_factory.mktemp("teams-map")
    out = {}
    for lang in ("zh", "en"):
        m = _build(report, sample_full_area, lang)
        path = folder / f"teams_{lang}.html"
        path.write_text(render_offline(m), encoding="utf-8")
        out[lang] = (m, path)
    return out


def _groups(m: folium.Map) -> dict[str, folium.FeatureGroup]:
    return {g.layer_name: g for g in m._children.values() if isinstance(g, folium.FeatureGroup)}


def _features(group: folium.FeatureGroup) -> list[dict]:
    out = []
    for c in group._children.values():
        data = getattr(c, "data", None)
        if isinstance(data, dict) and "features" in data:
            out += data["features"]
    return out


def test_layers_are_named_in_one_language(pages):
    zh = list(_groups(pages["zh"][0]))
    assert zh == [
        "道路",
        "村庄需求评分",
        "先锋队派驻路线",
        "派驻村（数字为需求排名）",
        "派出所与警务室",
        "先锋队驻地",
    ]
    en = list(_groups(pages["en"][0]))
    assert en[1:4] == [
        "Village need scores",
        "Team routes to their villages",
        "Assigned villages (need rank)",
    ]


def test_counts_equal_the_data(report, pages, sample_full_area):
    """A star per team, a route and a ranked village per pair, a dot per scored village."""
    groups = _groups(pages["zh"][0])
    table = report.assignment.table
    assert len(_features(groups["先锋队驻地"])) == len(sample_full_area.teams) == 8
    assert len(_features(groups["先锋队派驻路线"])) == len(table)
    assert len(_features(groups["派驻村（数字为需求排名）"])) == len(table)
    assert len(_features(groups["村庄需求评分"])) == len(report.scores.table) == 95


def test_routes_run_from_base_to_village(report, pages, sample_full_area):
    """Each line is the assignment's road route, from the base itself to the village."""
    lines = _features(_groups(pages["zh"][0])["先锋队派驻路线"])
    table = report.assignment.table
    road = table.to_crs(4326)
    teams = sample_full_area.teams.to_crs(4326).set_index("id")
    villages = sample_full_area.villages.to_crs(4326).set_index("code")
    for f, r, geom in zip(lines, table.itertuples(), road.geometry, strict=True):
        xy = np.asarray(f["geometry"]["coordinates"])
        base = teams.geometry[r.team]
        village = villages.geometry[r.village_code]
        assert xy[0] == pytest.approx([base.x, base.y], abs=2e-6)
        assert xy[-1] == pytest.approx([village.x, village.y], abs=2e-6)
        want = shapely.get_coordinates(geom)
        assert xy[1] == pytest.approx(want[0], abs=2e-6)
        assert xy[-2] == pytest.approx(want[-1], abs=2e-6)
    assert not any(f["properties"]["s"] for f in lines)  # every trip has a road route


def test_assigned_villages_show_their_rank_in_the_need_colour(report, pages):
    marks = _features(_groups(pages["zh"][0])["派驻村（数字为需求排名）"])
    t = report.scores.table.set_index("code")

    codes = [re.search(r"区划代码：(\d{12})", f["properties"]["popup"]).group(1) for f in marks]
    assert sorted(codes) == sorted(report.assignment.table["village_code"])
    for f, code in zip(marks, codes, strict=True):
        rank, score = int(t.loc[code, "rank"]), float(t.loc[code, "score"])
        colour = SCORE_COLOURS[int(score_bin([score])[0])]
        assert f">{rank}</span>" in f["properties"]["html"]
        assert f"background:{colour}" in f["properties"]["html"]


def test_one_popup_per_team_with_the_why(report, pages, sample_full_area):
    """Each star's popup: name, leader, members, village, minutes, score and the sentence."""
    stars = _features(_groups(pages["zh"][0])["先锋队驻地"])
    teams = sample_full_area.teams
    why = dict(zip(report.scores.table["code"], report.scores.table["why_zh"], strict=True))
    by_team = {r.team: r for r in report.assignment.table.itertuples()}
    for f, t in zip(stars, teams.itertuples(), strict=True):
        popup = f["properties"]["popup"]
        a = by_team[t.id]
        assert popup.startswith(f"<b>{t.name}（{t.id}）</b>")
        assert f"队长：{t.leader}" in popup and f"队员：{t.members} 人" in popup
        assert f"派驻村：{a.village}（{a.township}）" in popup
        assert f"车程：{a.minutes:.0f} 分钟 · {a.km:.1f} 公里" in popup
        assert f"需求分：{a.score:.0f}（排名第" in popup
        assert html_lib.escape(why[a.village_code]) in popup
    en = _features(_groups(pages["en"][0])["Vanguard team bases"])
    assert "Leader: " in en[0]["properties"]["popup"]
    assert " scores " in en[0]["properties"]["popup"]  # the English sentence


def test_stars_at_a_station_are_drawn_beside_it(pages, sample_full_area):
    """Bases within STATION_SNAP_M of a station get pixel offsets that clear its icon."""
    stars = _features(_groups(pages["zh"][0])["先锋队驻地"])
    teams = sample_full_area.teams
    st = sample_full_area.stations
    d = np.array([st.distance(g).min() for g in teams.geometry])
    assert (d <= STATION_SNAP_M).all()  # the sample's bases all sit at stations
    off = np.array([[f["properties"]["dx"], f["properties"]["dy"]] for f in stars])
    # Star (20 px) and station (18 px) icons overlap unless centres are >= 19 px apart.
    assert (np.hypot(off[:, 0], off[:, 1]) >= 19).all()
    # Stars of one station are apart from each other too.
    for station in st.geometry:
        near = np.flatnonzero(teams.distance(station).to_numpy() <= STATION_SNAP_M)
        o = off[near]
        gaps = np.hypot(*(o[:, None, :] - o[None, :, :]).transpose(2, 0, 1))
        assert len(near) < 2 or gaps[np.triu_indices(len(near), 1)].min() >= 20


def test_legend_lists_exactly_the_bins_drawn(report, pages):
    m = pages["zh"][0]
    labels = [e.label for e in drawn_legend(m)]
    present = sorted(set(score_bin(report.scores.table["score"]).tolist()), reverse=True)
    bins = [f"需求分 {SCORE_BINS[k]:.0f}–{SCORE_BINS[k + 1]:.0f}" for k in present]
    assert [x for x in labels if x.startswith("需求分")] == bins
    assert {"先锋队派驻路线", "派驻村（数字为需求排名）", "派出所", "先锋队驻地"} <= set(labels)


def test_score_bins_cover_0_to_100():
    assert score_bin([0, 19.9, 20, 59.99, 80, 100, 120, -3]).tolist() == [0, 0, 1, 2, 4, 4, 4, 0]
    assert score_bin([np.nan]).tolist() == [-1]


def test_bad_arguments_are_named(report, sample_full_area):
    area = sample_full_area
    kw = {"teams": area.teams, "villages": area.villages, "stations": area.stations}
    with pytest.raises(MapError, match="assignment must be a TeamAssignment, got dict"):
        teams_map({}, report.scores, **kw)
    with pytest.raises(MapError, match="scores must be NeedScores, got DataFrame"):
        teams_map(report.assignment, report.scores.table, **kw)
    with pytest.raises(MapError, match="unsupported map language lang='de'"):
        teams_map(report.assignment, report.scores, lang="de", **kw)
    with pytest.raises(LayerError, match="villages, column 'code': column is missing"):
        teams_map(
            report.assignment,
            report.scores,
            teams=area.teams,
            villages=area.villages.drop(columns="code"),
            stations=area.stations,
        )


# --------------------------------------------------------------------------- browser


def _evaluate(path: Path, body: str) -> Any:
    """Return what the JavaScript function ``body`` returns in the loaded page."""
    check = open_map(path, popups=0, js="() => {" + body + "}")
    assert check.errors == [] and check.requests == []
    return check.extra


# Opens every popup and tooltip of the page, a layer at a time, and collects their text
# with the page's own; popups bound to a whole GeoJSON layer open from a feature's click.
_ALL_TEXT_JS = (
    "var map = null; for (var k in window) { if (k.indexOf('map_') === 0) map = window[k]; }"
    "document.querySelectorAll('.leaflet-control-layers-overlays input')"
    ".forEach(function (b) { if (!b.checked) b.click(); });"
    "var texts = [document.body.innerText], popups = 0, tips = 0, leaves = [], opened;"
    "map.on('popupopen', function (e) { opened = e.popup; });"
    "map.eachLayer(function (l) {"
    "  if (!l.eachLayer && (l.getLatLng || l.getBounds)) leaves.push(l); });"
    "leaves.forEach(function (l) {"
    "  var at = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();"
    "  opened = null; l.fire('click', {latlng: at}, true);"
    "  if (opened) { popups += 1; texts.push(opened.getElement().innerText);"
    "    map.closePopup(opened); }"
    "  l.fire('mouseover', {latlng: at}, true);"
    "  document.querySelectorAll('.leaflet-tooltip').forEach(function (t) {"
    "    tips += 1; texts.push(t.innerText); });"
    "  l.fire('mouseout', {latlng: at}, true);"
    "});"
    "return {text: texts.join(' '), popups: popups, tips: tips, title: document.title};"
)


_MAP_JS = "var map = null; for (var k in window) { if (k.indexOf('map_') === 0) map = window[k]; }"


@needs_browser
def test_browser_station_icons_are_on_top_at_every_zoom(pages, sample_full_area, tmp_path):
    """document.elementFromPoint at each station's pixel is that station's icon."""
    got = _evaluate(
        pages["zh"][1],
        _MAP_JS + "var stations = [], out = [];"
        "map.eachLayer(function (l) { if (l._icon && l._icon.innerHTML.indexOf('#0d47a1') >= 0"
        " || l._icon && l._icon.innerHTML.indexOf('#1e88e5') >= 0) stations.push(l); });"
        "function probe(zoom) { stations.forEach(function (l) {"
        "  if (zoom) map.setView(l.getLatLng(), zoom, {animate: false});"
        "  var p = map.latLngToContainerPoint(l.getLatLng());"
        "  var r = map.getContainer().getBoundingClientRect();"
        "  var el = document.elementFromPoint(r.left + p.x, r.top + p.y);"
        "  out.push(!!el && el.closest('.leaflet-marker-icon') === l._icon); }); }"
        "probe(null); probe(14); probe(18);"
        "return {n: stations.length, top: out};",
    )
    assert got["n"] == len(sample_full_area.stations) == 4
    assert got["top"] == [True] * 12


@needs_browser
def test_browser_draws_what_the_data_holds(report, pages, tmp_path):
    """In Chromium: no error; markers and paths are the data's; popups open; legend true."""
    m, path = pages["zh"]
    check = open_map(path, screenshot=tmp_path / "teams.png", popups=4)
    assert check.errors == [] and check.requests == []
    assert check.nonblank and check.popups_opened == 4
    n = len(report.assignment.table)
    assert check.markers == 8 + n + 4  # stars, ranked villages, stations
    # Roads, need dots (SVG circles are paths too) and the routes.
    roads = len(_features(_groups(m)["道路"]))
    assert check.paths == roads + len(report.scores.table) + n
    assert check.layer_names == list(_groups(m))
    assert check.legend_text.splitlines()[1:] == [e.label for e in drawn_legend(m)]


@needs_browser
def test_browser_zh_text_and_every_popup_are_chinese(pages, tmp_path):
    """The rendered text, every popup and tooltip opened, has no English words."""
    got = _evaluate(pages["zh"][1], _ALL_TEXT_JS)
    assert got["title"] == "先锋队派驻图"
    assert got["popups"] == 8 + 8 + 95 + 4  # stars, ranked villages, need dots, stations
    words = set(re.findall(r"[A-Za-z]{3,}", got["text"]))
    assert not words - LATIN_ALLOWED


# --------------------------------------------------------------------------- the file


def test_written_map_is_small_and_offline(report, sample_full_area, tmp_path):
    from maps.basemap import Basemap
    from service.map_options import MapSettings
    from service.teams import write_teams_map

    path = write_teams_map(
        Output(tmp_path), report, sample_full_area, MapSettings(True, Basemap(), "en")
    )
    assert path == tmp_path / "teams_map.html"
    assert path.stat().st_size < MAX_BYTES
    html = path.read_text(encoding="utf-8")
    assert f"<title>Vanguard teams — {report.area}</title>" in html
    assert json.dumps("synthetic sample data") in html


def test_cli_map_flag_writes_the_map(tmp_path, capsys):
    from service.cli import main

    args = ["-q", "teams", "assign", "--sample-dir", str(tmp_path / "s")]
    args += ["--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "o")]
    assert main([*args, "--map"]) == 0
    page = tmp_path / "o" / "teams_map.html"
    assert page.is_file()
    assert f"wrote {page}" in capsys.readouterr().out
    assert "<title>先锋队派驻图</title>" in page.read_text(encoding="utf-8")


def test_zh_page_reads_chinese_without_a_browser(pages):
    """The layer names, legend, field names and GeoJSON values hold no English word."""
    html = pages["zh"][1].read_text(encoding="utf-8")
    # "name": the stations layer's hidden tooltip alias (maps.legend.point_symbols).
    assert not english_words(visible_strings(html), allowed={"name"})
