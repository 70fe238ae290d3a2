"""The team leader's village briefing map and its A4 print view, on the sample district."""

from __future__ import annotations

import datetime as dt
import json
import re

import browser
import folium
import pandas as pd
import pytest
from browser import needs_browser, needs_pdf_tools, open_map, print_pdf
from jinja2.utils import htmlsafe_json_dumps

from geo.errors import MapError
from geo.teams.briefing import village_briefing
from maps.legend import drawn_legend
from maps.offline import save_offline
from maps.village import add_print_view, minutes_km, village_map

#: The briefing of tests/test_teams_briefing.py: a team sent far from its base to a
#: village with hot spots, dark roads, lamps, groups and an officer.
TEAM = "VT-01"
VILLAGE = "420199102237"
PRINTED = dt.date(2026, 12, 2)
#: Size budget of a briefing map (issue 13).
MAX_BYTES = 1_000_000
# Words of three or more Latin letters: ids such as "PS-03" have two.
_ENGLISH = re.compile(r"[A-Za-z]{3,}")
# Leaflet's name on its own attribution prefix is a product name, not a label.
_ALLOWED = {"Leaflet"}
# Properties that hold styling, not text.
_STYLE_KEYS = {"colour", "weight", "cell", "dash", "opacity"}


@pytest.fixture(scope="module")
def briefing(sample_full_area):
    from service.night import run_night_job

    night = run_night_job(sample_full_area)
    return village_briefing(
        sample_full_area,
        TEAM,
        VILLAGE,
        hotspots=night.hotspots,
        risk=night.risk,
        lamps=night.lamps,
    )


@pytest.fixture(scope="module")
def zh_map(briefing):
    return village_map(briefing, printed_on=PRINTED, attribution="合成示例数据")


@pytest.fixture(scope="module")
def page(zh_map, tmp_path_factory):
    return save_offline(zh_map, tmp_path_factory.mktemp("village") / "VT-01.html")


def _in_page(text: str, html: str) -> bool:
    """Whether ``text`` is in the page as HTML or inside a script's JSON string."""
    return text in html or htmlsafe_json_dumps(text)[1:-1] in html


def _route_label(html: str) -> str:
    """Return the HTML of the route's label icon, as the page's script holds it."""
    hit = re.search(
        r'"html": ("(?:[^"\\]|\\.)*"),\s*"iconSize": \[0, 0\],\s*'
        r'"className": "pingan-route-label"',
        html,
    )
    assert hit is not None, "the page has no route label"
    return str(json.loads(hit.group(1)))


def _groups(m: folium.Map) -> list[str]:
    return [c.layer_name for c in m._children.values() if isinstance(c, folium.FeatureGroup)]


def _geojsons(el) -> list[folium.GeoJson]:
    out = []
    for child in el._children.values():
        if isinstance(child, folium.GeoJson):
            out.append(child)
        out.extend(_geojsons(child))
    return out


def _texts(m: folium.Map) -> list[str]:
    """Every label the page shows: properties, popup and tooltip names, legend, head."""
    out = [row.label for row in drawn_legend(m)] + _groups(m)
    for gj in _geojsons(m):
        for f in gj.data["features"]:
            out += [str(v) for k, v in f["properties"].items() if k not in _STYLE_KEYS]
        for child in gj._children.values():
            if getattr(child, "labels", True):  # a tooltip without labels shows none
                out += [str(a) for a in (getattr(child, "aliases", None) or [])]
    return out


def test_the_layers_are_the_briefings_parts(zh_map) -> None:
    """One named layer per builder (three for the roads), in drawing order."""
    assert _groups(zh_map) == [
        "村界与村民小组",
        "亮灯道路",
        "无灯道路",
        "照明未知",
        "警情热点",
        "近90天警情",
        "建议路灯",
        "相邻村庄",
        "最近派出所与辅警",
        "驻地至村路线",
    ]


def test_the_legend_lists_what_is_drawn(briefing, zh_map) -> None:
    """A row per category of incident with its count, per hot-spot role drawn, per part."""
    labels = [row.label for row in drawn_legend(zh_map)]
    counts = briefing.incidents["category"].value_counts()
    names = {"dispute": "纠纷", "theft": "盗窃", "traffic": "交通事故", "burglary": "入室盗窃"}
    for code, zh in names.items():
        assert f"{zh}（{counts[code]} 起）" in labels
    shown = sum(int(m.group(1)) for s in labels if (m := re.search(r"（(\d+) 起）$", s)))
    assert shown == len(briefing.incidents)
    roles = set(briefing.hotspots["role"])
    assert ("热点核心路段" in labels) == ("hotspot core" in roles)
    assert {"村界", "村民小组", "派出所", "驻村辅警", "驻地至村路线", "先锋队驻地"} <= set(labels)
    assert "建议路灯" in labels and len(briefing.lamps) > 0
    assert "亮灯道路" in labels and "无灯道路" in labels and "照明未知" in labels
    assert len(labels) == len(set(labels))


def test_the_route_label_gives_the_briefings_minutes_and_km(briefing, page) -> None:
    """The label on the route and the sheet's head say the briefing's trip."""
    label = f"{briefing.route_minutes:.0f} 分钟 · {briefing.route_km:.1f} 公里"
    assert minutes_km(briefing.route_minutes, briefing.route_km) == label
    html = page.read_text(encoding="utf-8")
    assert _route_label(html) == f"<span>{label}</span>"
    assert f"驻地至村：{label}" in html
    station = f"{briefing.station_minutes:.0f} 分钟 · {briefing.station_km:.1f} 公里"
    assert f"最近派出所：{briefing.station_name} {station}" in html
    assert minutes_km(32.4, 18.44, "en") == "32 min · 18.4 km"
    assert minutes_km(float("nan"), 1.0) == "—"


def test_the_sheet_has_a_title_date_and_print_rules(page) -> None:
    """Title, date, A4 @page, zoom and layers hidden on paper, north arrow, Chinese scale."""
    html = page.read_text(encoding="utf-8")
    assert "<title>宋家岗村 · 姜卫国先锋队驻村简报图</title>" in html
    assert "<h1>宋家岗村 · 姜卫国先锋队驻村简报图</h1>" in html
    assert "制图日期：2026-12-02" in html
    assert "@page { size: A4; margin: 10mm; }" in html
    assert re.search(
        r"\.leaflet-control-zoom, \.leaflet-control-layers \{ display: none !important; \}", html
    )
    assert '"beforeprint"' in html and "invalidateSize" in html
    assert "pingan-north" in html and _in_page(" 公里", html)


def test_a_briefing_map_is_under_a_megabyte(page) -> None:
    """Issue 13's size budget."""
    assert page.stat().st_size < MAX_BYTES


def test_the_chinese_page_has_no_english_words(zh_map) -> None:
    """Labels, popups, tooltips and the legend are Chinese only (ids aside)."""
    words = {w for s in _texts(zh_map) for w in _ENGLISH.findall(s)} - _ALLOWED
    assert not words, sorted(words)[:20]


def test_the_english_page_has_english_labels(briefing) -> None:
    """Layer names and legend rows of lang="en" hold no Chinese (place names aside)."""
    m = village_map(briefing, lang="en", printed_on=PRINTED)
    cjk = re.compile(r"[\u3400-\u9fff]")
    labels = [row.label for row in drawn_legend(m)] + _groups(m)
    assert not [s for s in labels if cjk.search(s)]
    assert "Dispute (" in " ".join(labels)


def test_the_print_view_is_fitted_to_the_radius(briefing, zh_map) -> None:
    """The paper bounds are the briefing's radius disc, not the route from the base."""
    disc = briefing.map_layers()["ground"]
    disc = disc[disc["part"] == "radius"].to_crs(4326).total_bounds
    (view,) = [c for c in zh_map._children.values() if type(c).__name__ == "_PrintView"]
    (s, w), (n, e) = view.paper
    assert [w, s, e, n] == pytest.approx(list(disc))


def test_bad_arguments_are_named(briefing) -> None:
    with pytest.raises(MapError, match="briefing must be a VillageBriefing, got dict"):
        village_map({})  # type: ignore[arg-type]
    with pytest.raises(MapError, match="printed_on must be a datetime.date, got str"):
        village_map(briefing, printed_on="2026-12-02")  # type: ignore[arg-type]
    with pytest.raises(MapError, match="title must be non-empty text"):
        village_map(briefing, title=" ")
    with pytest.raises(MapError, match="unsupported map language lang='fr'"):
        village_map(briefing, lang="fr")  # type: ignore[arg-type]
    with pytest.raises(MapError, match="print bounds must be finite"):
        add_print_view(folium.Map(), title="x", bounds=(0, 0, float("nan"), 1))


# ---------------------------------------------------------------------- in the browser


def _expected(b) -> tuple[int, int]:
    """Return the marker icons and SVG paths the briefing's map must render."""
    layers = b.map_layers()
    icons = 1 + len(b.officers) + ("station" in layers) + ("base" in layers) + b.found_route
    ground = layers["ground"]
    paths = (
        int((ground["part"] != "point").sum())
        + len(b.groups)
        + int((~b.roads.geometry.is_empty & b.roads.geometry.notna()).sum())
        + len(b.hotspots)
        + len(b.incidents)
        + len(b.lamps)
        + len(b.neighbours)
        + len(layers["route"])
    )
    return icons, paths


@needs_browser
def test_the_page_renders_every_feature_offline(briefing, zh_map, page, tmp_path) -> None:
    """No errors or requests; markers and paths equal the data; popups open; drawn."""
    shot = tmp_path / "briefing.png"
    check = open_map(
        page,
        screenshot=shot,
        popups=4,
        js="() => document.querySelector('.pingan-route-label').innerText",
    )
    assert check.errors == [] and check.requests == []
    icons, paths = _expected(briefing)
    assert (check.markers, check.paths) == (icons, paths)
    assert check.popups_opened == 4
    assert check.nonblank
    assert check.layer_names == _groups(zh_map)
    for row in drawn_legend(zh_map):
        assert row.label in check.legend_text
    assert check.title == "宋家岗村 · 姜卫国先锋队驻村简报图"
    assert check.extra == minutes_km(briefing.route_minutes, briefing.route_km)


_PRINT_STATE = (
    "() => {"
    + browser._FIND_MAP
    + """
    const map = findMap();
    const el = map.getContainer();
    const shown = sel => {
        const e = document.querySelector(sel);
        return e === null ? null : getComputedStyle(e).display;
    };
    const svg = el.querySelector(".leaflet-overlay-pane svg");
    return {
        zoom: shown(".leaflet-control-zoom"),
        layers: shown(".leaflet-control-layers"),
        legend: shown(".pingan-legend"),
        scale: shown(".leaflet-control-scale"),
        north: shown(".pingan-north"),
        size: [map.getSize().x, map.getSize().y],
        box: [el.clientWidth, el.clientHeight],
        fitted: map.getBounds().contains(map.pinganPaperBounds),
        svg: svg === null ? 0 : svg.getBoundingClientRect().width,
        text: document.body.innerText,
    };
}
"""
)


def _state(path, media: str) -> dict:
    page, errors, _ = browser._new_page(794, 1123)
    try:
        page.emulate_media(media=media)
        browser._load(page, path.resolve())
        state = page.evaluate(_PRINT_STATE)
    finally:
        page.context.close()
    assert errors == []
    return state


@needs_browser
def test_on_paper_the_map_is_refitted_and_the_buttons_hidden(page) -> None:
    """Under print media: no zoom or layer control, Leaflet resized to the box and fitted."""
    paper = _state(page, "print")
    assert paper["zoom"] == "none" and paper["layers"] == "none"
    assert paper["legend"] != "none" and paper["scale"] != "none" and paper["north"] != "none"
    assert paper["size"] == paper["box"]
    assert paper["fitted"]
    # The vector layer covers the map, not the size it had before printing.
    assert paper["svg"] >= paper["box"][0]
    screen = _state(page, "screen")
    assert screen["zoom"] != "none" and screen["layers"] != "none"
    words = set(_ENGLISH.findall(paper["text"])) - _ALLOWED
    assert not words, sorted(words)


@needs_pdf_tools
def test_the_printed_pdf_is_one_a4_page_with_title_date_and_legend(zh_map, page, tmp_path):
    """Chromium prints one A4 page holding the title, the date, the legend and the map."""
    pdf = print_pdf(page, tmp_path / "briefing.pdf")
    assert pdf["errors"] == [] and pdf["requests"] == []
    assert pdf["pages"] == 1
    assert pdf["width_pt"] == pytest.approx(595, abs=2)
    assert pdf["height_pt"] == pytest.approx(842, abs=2)
    flat = re.sub(r"\s+", "", pdf["text"])
    assert "宋家岗村·姜卫国先锋队驻村简报图" in flat
    assert "制图日期：2026-12-02" in flat
    for row in drawn_legend(zh_map):
        assert re.sub(r"\s+", "", row.label) in flat, row.label
    assert pdf["nonblank"]


# ---------------------------------------------------------------------- the command


def test_write_briefing_map_writes_beside_the_briefing(sample_full_area, briefing, tmp_path):
    """``briefings/<TEAM>.html`` next to the .md/.json/.geojson, the page self-contained."""
    from maps.basemap import Basemap
    from service.map_options import MapSettings
    from service.output import Output
    from service.teams import write_briefing_map

    out = Output(tmp_path)
    path = write_briefing_map(
        out, sample_full_area, briefing, MapSettings(True, Basemap(), "zh"), printed_on=PRINTED
    )
    assert path == tmp_path / "briefings" / f"{TEAM}.html"
    html = path.read_text(encoding="utf-8")
    assert _in_page("合成示例数据", html) and "制图日期：2026-12-02" in html
    assert path in out.written


def test_teams_briefing_map_flag_writes_the_page(tmp_path) -> None:
    """``pingan teams briefing --map`` writes the map beside the briefing's files."""
    from service.cli import main

    area = ["--sample-dir", str(tmp_path / "sample"), "--cache-dir", str(tmp_path / "c")]
    args = ["-q", "teams", "briefing", *area, "--team", TEAM, "--village", VILLAGE]
    assert main([*args, "--out", str(tmp_path / "o"), "--map"]) == 0
    folder = tmp_path / "o" / "briefings"
    html = (folder / f"{TEAM}.html").read_text(encoding="utf-8")
    assert _in_page("驻地至村路线", html)
    summary = json.loads((folder / f"{TEAM}.json").read_text(encoding="utf-8"))
    label = minutes_km(summary["route_minutes"], summary["route_km"])
    assert _route_label(html) == f"<span>{label}</span>"
    assert main([*args, "--out", str(tmp_path / "n")]) == 0
    assert not (tmp_path / "n" / "briefings" / f"{TEAM}.html").exists()
    assert pd.notna(summary["route_minutes"])
