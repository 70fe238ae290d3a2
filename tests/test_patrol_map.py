"""The dispatcher's patrol map on the sample district: layers, legend, stops, arrows, size."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from browser import needs_browser, open_map
from map_text import english_words, visible_strings

from geo.errors import CoordinateError, LayerError, MapError
from geo.patrol import PatrolParams, Shift, Units
from maps.offline import new_map, render_offline
from maps.patrol import (
    ARROW_SPACING_M,
    add_patrol_routes,
    add_unlit_roads,
    arrow_points,
    fan_offsets,
    patrol_map,
    place_name,
    unit_rows,
    variant_name,
)
from service.output import Output

# Iterations bind before the seconds do, so the plans are the same on any machine.
FAST = PatrolParams(seconds=30, iterations=800, seed=3)
SHIFT = Shift.parse("20:00-02:00", date=pd.Timestamp("2026-12-02").date())
MAX_BYTES = 5 * 1024 * 1024
# Words a Chinese page may show in Latin letters: the map library's credit, OSM's.
LATIN_ALLOWED = {"Leaflet", "OpenStreetMap", "contributors"}


@pytest.fixture(scope="module")
def report(sample_full_area):
    from service.patrol import run_patrol_job

    units = [
        Units(station="PS-01", count=2, shift=SHIFT),
        Units(station="PS-03", count=1, shift=SHIFT),
    ]
    return run_patrol_job(sample_full_area, units, params=FAST, variants=3)


@pytest.fixture(scope="module")
def pages(report, sample_full_area, tmp_path_factory):
    """The map in both languages, built once, and the paths of their pages."""
    area = sample_full_area
    folder = tmp_path_factory.mktemp("patrol-map")
    out = {}
    for lang in ("zh", "en"):
        m = patrol_map(
            report.variants,
            roads=area.roads.frame(),
            stations=area.stations,
            targets=report.targets,
            lang=lang,
            attribution=None,
        )
        path = folder / f"patrol_{lang}.html"
        path.write_text(render_offline(m), encoding="utf-8")
        out[lang] = (m, path)
    return out


def _groups(m: folium.Map) -> dict[str, folium.FeatureGroup]:
    return {g.layer_name: g for g in m._children.values() if isinstance(g, folium.FeatureGroup)}


def _stop_data(group: folium.FeatureGroup) -> list[dict]:
    stops = [c for c in group._children.values() if type(c).__name__ == "_Stops"]
    return [f["properties"] for s in stops for f in s.data["features"]]


def _geojson_features(group: folium.FeatureGroup) -> list[dict]:
    return [
        f
        for c in group._children.values()
        if isinstance(c, folium.GeoJson)
        for f in c.data["features"]
    ]


def _arrow_data(group: folium.FeatureGroup) -> list[dict]:
    arrows = [c for c in group._children.values() if type(c).__name__ == "_Arrows"]
    return [f for a in arrows for f in a.data["features"]]


def test_one_layer_per_variant_best_shown(report, pages):
    """Each variant is a named layer; only the best is on when the page opens."""
    m, path = pages["zh"]
    v = report.variants
    names = [variant_name(k, s, "zh") for k, s in enumerate(v.relative, start=1)]
    assert names[0] == "方案1（最佳）"
    assert re.fullmatch(r"方案2（最佳奖励的\d+%）", names[1])
    groups = _groups(m)
    for k, name in enumerate(names):
        assert name in groups
        assert groups[name].show is (k == 0)
    assert {"道路", "无灯道路", "警情热点", "派出所与警务室"} <= set(groups)
    en = _groups(pages["en"][0])
    assert "Plan 1 (best)" in en and "Unlit roads" in en and "Hot spots" in en


def test_each_variant_draws_every_stop_of_its_plan(report, pages):
    """Stop markers = the plan's stops (the station excluded), with their own numbers."""
    m, _ = pages["zh"]
    groups = _groups(m)
    for k, plan in enumerate(report.variants.plans, start=1):
        name = variant_name(k, report.variants.relative[k - 1], "zh")
        data = _stop_data(groups[name])
        visits = plan.stops[plan.stops["kind"] != "station"].sort_values(["unit", "seq"])
        assert len(data) == len(visits) == plan.summary()["stops"]
        assert [d["n"] for d in data] == visits["seq"].tolist()


def test_stop_popup_says_what_when_and_how_long(report, pages):
    """A hot-spot stop's popup names the unit and stop, its kind, ETA and dwell."""
    m, _ = pages["zh"]
    plan = report.variants.plans[0]
    data = _stop_data(_groups(m)["方案1（最佳）"])
    visits = plan.stops[plan.stops["kind"] != "station"].sort_values(["unit", "seq"])
    first = visits.iloc[0]
    popup = data[0]["popup"]
    assert popup.startswith(f"<b>1号巡逻车（槐荫派出所） · 第{int(first['seq'])}站</b>")
    assert f"到达：{pd.Timestamp(first['arrive']):%H:%M}" in popup
    kind = {"hotspot": "警情热点", "road": "无灯路段巡查", "village": "村庄走访"}[first["kind"]]
    assert f"类型：{kind}" in popup
    assert f"{first['dwell_min']:.0f} 分钟" in popup
    # A stop after midnight says so.
    late = [d for d, a in zip(data, visits["arrive"], strict=True) if a[:10] > "2026-12-02"]
    assert late and all("次日" in d["popup"] for d in late)


def test_unit_legend_lists_each_units_km_minutes_prize(report, pages):
    """The legend rows are the plan's own figures, unit by unit, in both languages."""
    plan = report.variants.plans[0]
    names = {"PS-01": "槐荫派出所", "PS-03": "栗园派出所"}
    rows = unit_rows(plan, "zh", station_names=names)
    rows_en = unit_rows(plan, "en", station_names=names)
    u = plan.units
    assert len(rows) == len(u) == 3
    for n, r in enumerate(u.itertuples(), start=1):
        prize = f"{r.prize:.0f}" if abs(r.prize - round(r.prize)) < 0.05 else f"{r.prize:.1f}"
        where = names[r.station]
        assert rows[n - 1] == (
            f"{n}号巡逻车（{where}） · {r.km:.1f} 公里 · {r.minutes:.0f} 分钟 · 奖励 {prize}"
        )
        assert rows_en[n - 1] == (
            f"Unit {n} ({where}) · {r.km:.1f} km · {r.minutes:.0f} min · prize {prize}"
        )
    # The page holds one legend section per variant, each with its plan's rows.
    html = pages["zh"][1].read_text(encoding="utf-8")
    found = re.findall(r'\[feature_group_\w+, ("(?:[^"\\]|\\.)*")\]', html)
    sections = [json.loads(x) for x in found]
    assert len(sections) == len(report.variants.plans)
    for section, p in zip(sections, report.variants.plans, strict=True):
        for row in unit_rows(p, "zh", station_names=names):
            assert f"<span>{row}</span>" in section


def test_map_is_fitted_to_routes_stops_targets_and_stations(report, pages, sample_full_area):
    html = pages["zh"][1].read_text(encoding="utf-8")
    got = re.search(
        r"fitBounds\(\s*\[\[([-\d.]+), ([-\d.]+)\], \[([-\d.]+), ([-\d.]+)\]\]", html
    ).groups()
    frames = [sample_full_area.stations, report.targets]
    for p in report.variants.plans:
        frames += [p.routes, p.stops]
    b = np.vstack([f.to_crs(4326).total_bounds for f in frames])
    want = (b[:, 1].min(), b[:, 0].min(), b[:, 3].max(), b[:, 2].max())
    assert [float(x) for x in got] == pytest.approx(want, abs=1e-7)


def test_arrows_follow_every_route(report, pages):
    """Each unit's arrows lie on its route, about ARROW_SPACING_M apart."""
    m, _ = pages["zh"]
    plan = report.variants.plans[0]
    arrows = _arrow_data(_groups(m)["方案1（最佳）"])
    routes = plan.routes.to_crs(4326)
    order = plan.units["unit"].astype(str).tolist()
    stations = plan.stops[plan.stops["kind"] == "station"].groupby("unit").geometry.first()
    for unit, geom, road in zip(routes["unit"], routes.geometry, plan.routes.geometry, strict=True):
        # The road route, and the two short joins from and to the station's own point.
        ends = shapely.get_coordinates(road)[[0, -1]]
        st = stations[unit]
        metres = road.length + st.distance(shapely.points(ends)).sum()
        own = [a for a in arrows if a["properties"]["u"] == order.index(unit)]
        assert len(own) == min(math.floor(metres / ARROW_SPACING_M), 150), unit
        pts = shapely.points([a["geometry"]["coordinates"] for a in own])
        # Within a few metres (about 5e-5 degrees) of the route.
        assert shapely.distance(pts, geom).max() < 5e-5, unit


@pytest.mark.parametrize(
    ("dx", "dy", "bearing"),
    [(0, 1000, 0.0), (1000, 0, 90.0), (0, -1000, 180.0), (-1000, -1000, 225.0)],
)
def test_arrow_points_along_a_straight_road(dx, dy, bearing):
    """On a straight road the arrows point the way it is driven, as drawn on the map."""
    x0, y0 = 247_000.0, 3_436_000.0
    line = gpd.GeoSeries([shapely.LineString([(x0, y0), (x0 + dx, y0 + dy)])], crs=32650)
    got = arrow_points(line, 200.0)
    length = math.hypot(dx, dy)
    assert len(got) == math.floor(length / 200.0)
    # The segment's direction as the page draws it: in Web Mercator, the map's CRS (UTM
    # grid north is not the map's north).
    x, y = pyproj.Transformer.from_crs(32650, 3857, always_xy=True).transform(
        [x0, x0 + dx], [y0, y0 + dy]
    )
    drawn = math.degrees(math.atan2(x[1] - x[0], y[1] - y[0])) % 360
    assert abs((drawn - bearing + 180) % 360 - 180) < 2.0  # the road is what it says
    diff = (got["bearing"].to_numpy() - drawn + 180) % 360 - 180
    assert np.abs(diff).max() < 0.01
    # Evenly spaced, none at the ends.
    along = shapely.line_locate_point(line.iloc[0], got.geometry.to_numpy())
    step = length / len(got)
    assert along == pytest.approx(step * (np.arange(len(got)) + 0.5))


def test_arrow_points_reject_bad_spacing_and_degrees():
    line = gpd.GeoSeries([shapely.LineString([(0, 0), (1000, 0)])], crs=32650)
    with pytest.raises(MapError, match="spacing_m must be a positive number of metres, got 0"):
        arrow_points(line, 0)
    with pytest.raises(MapError, match="max_per_line must be at least 1, got 0"):
        arrow_points(line, 100, max_per_line=0)
    with pytest.raises(CoordinateError, match="needs lines in a projected CRS"):
        arrow_points(line.to_crs(4326))


def test_fan_offsets_keep_shared_places_apart():
    """Markers at one place fan out at least a marker's width apart; the first stays put."""
    off = fan_offsets(["a", "b", "a", "a", "a", "a", "a"], radius_px=20, ring_px=16)
    assert off[0].tolist() == [0.0, 0.0] and off[1].tolist() == [0.0, 0.0]
    same = off[[0, 2, 3, 4, 5, 6]]
    d = np.hypot(*(same[:, None, :] - same[None, :, :]).transpose(2, 0, 1))
    assert d[np.triu_indices(len(same), 1)].min() >= 20
    taken = fan_offsets(["s"], [True])
    assert np.hypot(*taken[0]) == pytest.approx(20.0)


def test_place_names_speak_one_language():
    assert place_name("area by 新街", "zh") == "新街附近"
    assert place_name("area by residential road", "zh") == "无名道路附近"
    assert place_name("unnamed residential road", "zh") == "无名道路"
    assert place_name("宋家岗通组路", "zh") == "宋家岗通组路"
    assert place_name("area by 新街", "en") == "area by 新街"
    assert place_name(None, "en") == "unnamed road"


def test_bad_arguments_are_named(report, sample_full_area):
    area = sample_full_area
    with pytest.raises(MapError, match="needs a PatrolVariants or PatrolPlan, got dict"):
        patrol_map({}, roads=area.roads.frame(), stations=area.stations)
    with pytest.raises(MapError, match="unsupported map language lang='fr'"):
        patrol_map(report.variants, roads=area.roads.frame(), stations=area.stations, lang="fr")
    m = new_map((114.2, 30.9, 114.5, 31.1), title="t")
    with pytest.raises(MapError, match="colours is empty"):
        add_patrol_routes(m, report.variants.plans[0], name="x", colours=())
    with pytest.raises(LayerError, match="roads, column 'lit': column is missing"):
        add_unlit_roads(m, area.roads.frame().drop(columns="lit"))


def test_zh_page_has_no_english_in_its_text(pages):
    """Layer names, legend and every popup of the Chinese page are Chinese only."""
    html = pages["zh"][1].read_text(encoding="utf-8")
    assert "<title>巡逻方案 2026-12-02 20:00-02:00</title>" in html
    m = pages["zh"][0]
    words: set[str] = set(re.findall(r"[A-Za-z]{3,}", " ".join(_groups(m))))
    for g in _groups(m).values():
        for d in _stop_data(g):
            words |= set(re.findall(r"[A-Za-z]{3,}", re.sub(r"<[^>]+>", " ", d["popup"])))
    assert not words - LATIN_ALLOWED


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


@needs_browser
def test_browser_draws_the_best_plan_and_its_legend(report, pages, tmp_path):
    """In Chromium: no error; markers and paths are the data's; popups open; legend true."""
    m, path = pages["zh"]
    plan = report.variants.plans[0]
    groups = _groups(m)
    check = open_map(
        path,
        screenshot=tmp_path / "patrol.png",
        popups=3,
        js="() => ({stops: document.querySelectorAll('.pingan-stop').length,"
        " arrows: document.querySelectorAll('.pingan-arrow').length})",
    )
    assert check.errors == [] and check.requests == []
    assert check.nonblank and check.popups_opened == 3
    arrows = len(_arrow_data(groups["方案1（最佳）"]))
    assert check.extra == {"stops": plan.summary()["stops"], "arrows": arrows}
    assert check.markers == plan.summary()["stops"] + arrows + 4  # and the 4 stations
    # Roads, unlit roads, hot-spot discs and one line per unit out: SVG paths.
    drawn = {k: len(_geojson_features(groups[k])) for k in ("道路", "无灯道路", "警情热点")}
    assert drawn["警情热点"] == int((report.targets["kind"] == "hotspot").sum())
    assert check.paths == sum(drawn.values()) + len(plan.routes)
    variants = [variant_name(k, s, "zh") for k, s in enumerate(report.variants.relative, 1)]
    assert check.layer_names == ["道路", "无灯道路", "警情热点", *variants, "派出所与警务室"]
    names = {"PS-01": "槐荫派出所", "PS-03": "栗园派出所"}
    for row in unit_rows(plan, "zh", station_names=names):
        assert row in check.legend_text
    assert "方案2" not in check.legend_text  # a variant switched off is not in the legend
    for row in ("道路", "无灯道路", "警情热点", "派出所", "警务室"):
        assert row in check.legend_text.splitlines()


@needs_browser
def test_browser_switching_a_variant_on_shows_its_units(report, pages, tmp_path):
    got = _evaluate(
        pages["en"][1],
        "var boxes = document.querySelectorAll('.leaflet-control-layers-overlays input');"
        "var labels = document.querySelectorAll('.leaflet-control-layers-overlays label');"
        "for (var i = 0; i < labels.length; i++) {"
        "  if (labels[i].innerText.trim().indexOf('Plan 2') === 0) boxes[i].click(); }"
        "return document.querySelector('.pingan-units').innerText;",
    )
    names = {"PS-01": "槐荫派出所", "PS-03": "栗园派出所"}
    for row in unit_rows(report.variants.plans[1], "en", station_names=names):
        assert row in got
    assert "Plan 1 (best)" in got and "Plan 2" in got


@needs_browser
def test_browser_zh_text_and_every_popup_are_chinese(report, pages, tmp_path):
    """The rendered text, every popup and tooltip opened, has no English words."""
    got = _evaluate(pages["zh"][1], _ALL_TEXT_JS)
    assert got["title"] == "巡逻方案 2026-12-02 20:00-02:00"
    stops = sum(p.summary()["stops"] for p in report.variants.plans)
    hot = int((report.targets["kind"] == "hotspot").sum())
    assert got["popups"] == stops + hot + 4  # every stop, hot spot and station
    words = set(re.findall(r"[A-Za-z]{3,}", got["text"]))
    assert not words - LATIN_ALLOWED


# --------------------------------------------------------------------------- the file


def test_written_map_is_within_the_size_budget(report, sample_full_area, tmp_path):
    """``write_patrol_map`` writes patrol_map.html, under 5 MB for the sample district."""
    from maps.basemap import Basemap
    from service.map_options import MapSettings
    from service.patrol import write_patrol_map

    path = write_patrol_map(
        Output(tmp_path), report, sample_full_area, MapSettings(True, Basemap(), "zh")
    )
    assert path == tmp_path / "patrol_map.html"
    assert path.stat().st_size < MAX_BYTES
    html = path.read_text(encoding="utf-8")
    # The sample's credit, in Chinese only (JSON-escaped in the page's script).
    assert json.dumps("合成示例数据") in html and "synthetic" not in html


def test_cli_map_flag_writes_the_map(tmp_path, capsys):
    from service.cli import main

    args = ["-q", "patrol", "--sample-dir", str(tmp_path / "s"), "--cache-dir", str(tmp_path / "c")]
    args += ["--station", "PS-01", "--units", "2", "--date", "2026-12-02", "--variants", "2"]
    args += ["--seconds", "20", "--iterations", "400", "--out", str(tmp_path / "o"), "--map"]
    assert main(args) == 0
    page = tmp_path / "o" / "patrol_map.html"
    assert page.is_file() and page.stat().st_size < MAX_BYTES
    assert f"wrote {page}" in capsys.readouterr().out
    assert main([*args[:-1], "--out", str(tmp_path / "p")]) == 0
    assert not (tmp_path / "p" / "patrol_map.html").exists()


def test_zh_page_reads_chinese_without_a_browser(pages):
    """The layer names, legend and field names of the Chinese page hold no English word."""
    html = pages["zh"][1].read_text(encoding="utf-8")
    # "name": the stations layer's hidden tooltip alias (maps.legend.point_symbols).
    assert not english_words(visible_strings(html), allowed={"name"})
