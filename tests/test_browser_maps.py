"""The overview, hotspots and posts maps of the sample district, opened in Chromium.

Each page is written by the same builders the commands use, opened offline from
``file://`` (tests/browser.py) and checked against the data it was drawn from: what the
browser rendered, not what the HTML happens to contain.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import pytest
import shapely
from browser import PageCheck, needs_browser, needs_pdf_tools, open_map, print_pdf

from maps.hotspots import GI_COLOURS, ROLE_STYLES, density_bands
from maps.legend import drawn_legend
from maps.offline import save_offline
from maps.style import layer_label

pytestmark = needs_browser

#: A4 in PostScript points; Chromium rounds the paper to whole CSS pixels (< 1 pt off).
A4_PT = (595.28, 841.89)


@dataclass(frozen=True)
class Drawn:
    """A map page and what its data says the browser must show."""

    map: folium.Map
    path: Path
    title: str
    markers: int  # DivIcon points: stations, posts, team bases
    paths: int  # one SVG path per line, polygon and CircleMarker point
    popup_features: int


def _points(gdf: gpd.GeoDataFrame | None) -> int:
    """Points of a layer, counting each part of a MultiPoint (each gets a marker)."""
    if gdf is None:
        return 0
    geom = gdf.geometry[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    return int(shapely.get_num_geometries(geom.to_numpy()).sum())


def _shapes(gdf: gpd.GeoDataFrame) -> int:
    """Lines and polygons of a layer: one SVG path per feature, multi-part or not."""
    return int((gdf.geometry.notna() & ~gdf.geometry.is_empty).sum())


def _group_names(m: folium.Map) -> list[str]:
    """Names of the map's FeatureGroups listed in the layer control, in drawing order."""
    return [
        child.layer_name
        for child in m._children.values()
        if isinstance(child, folium.FeatureGroup) and child.control
    ]


@pytest.fixture(scope="module")
def pages(sample_full_area, tmp_path_factory) -> dict[str, Drawn]:
    """Write the three maps of the sample district as the commands draw them."""
    from geo.coverage import candidate_sites, plan_new_posts
    from maps.hotspots import hotspots_map
    from maps.overview import overview_map
    from maps.posts import posts_map
    from service.night import run_night_job
    from service.reports import named_roads, newly_covered, post_table

    area = sample_full_area
    out = tmp_path_factory.mktemp("browser-maps")
    roads = area.roads.frame()
    villages, stations, teams = area.villages, area.stations, area.teams
    drawn: dict[str, Drawn] = {}

    title = "样例区 概览图"
    m = overview_map(roads, villages, stations, teams, title=title, attribution=None)
    drawn["overview"] = Drawn(
        m,
        save_offline(m, out / "overview.html"),
        title,
        markers=_points(stations) + _points(teams),
        paths=_shapes(roads) + _points(villages),
        popup_features=_points(villages) + _points(stations) + _points(teams),
    )

    night = run_night_job(area, trend_period=None)
    h = night.hotspots
    assert h is not None and h.edges is not None  # the sample has incidents enough
    risk = named_roads(night.dark_roads, villages)
    lamps = night.lamps.lamps
    title = "样例区 热点图"
    m = hotspots_map(
        roads=roads,
        density=h.density,
        cells=h.cells,
        hot_roads=h.edges,
        risk=risk,
        lamps=lamps,
        stations=stations,
        title=title,
    )
    top = risk[risk["rank"] <= 25]  # add_road_risk draws the top 25
    drawn["hotspots"] = Drawn(
        m,
        save_offline(m, out / "hotspots.html"),
        title,
        markers=_points(stations),
        paths=_shapes(roads)
        + len(density_bands(h.density))
        + _shapes(h.cells[h.cells["class"].isin(list(GI_COLOURS))])
        + _shapes(h.edges[h.edges["role"].isin(list(ROLE_STYLES))])
        + _shapes(top)
        + _points(lamps),
        popup_features=_shapes(top) + _points(stations),
    )

    engine = area.engine()
    cands = candidate_sites(engine, "villages", villages)
    res = plan_new_posts(engine, villages, stations, cands, k=2, threshold_min=15.0)
    posts = post_table(area, res, cands)
    covered = newly_covered(area, res, posts)
    title = "样例区 拟建警务室"
    m = posts_map(roads, villages, stations, posts, covered=covered, title=title, attribution=None)
    drawn["posts"] = Drawn(
        m,
        save_offline(m, out / "posts.html"),
        title,
        markers=_points(stations) + _points(posts),
        # Newly covered villages are ringed at one point each, over their dots.
        paths=_shapes(roads) + _points(villages) + len(covered),
        popup_features=_points(villages) + _points(stations) + _points(posts) + len(covered),
    )
    return drawn


@pytest.fixture(scope="module")
def checks(pages, tmp_path_factory) -> dict[str, PageCheck]:
    """Open each page once; the screenshots stay beside the pages for a look."""
    shots = tmp_path_factory.mktemp("browser-shots")
    return {k: open_map(d.path, screenshot=shots / f"{k}.png") for k, d in pages.items()}


MAPS = ["overview", "hotspots", "posts"]


@pytest.mark.parametrize("kind", MAPS)
def test_page_runs_without_errors_and_fetches_nothing(checks, kind):
    """No script error, no console error, no request beyond the file itself."""
    assert checks[kind].errors == []
    assert checks[kind].requests == []


@pytest.mark.parametrize("kind", MAPS)
def test_every_feature_of_the_data_is_rendered(pages, checks, kind):
    """Marker icons equal the icon points of the data; SVG paths its lines, polygons and
    CircleMarker points (villages, lamps, rings), one each."""
    assert checks[kind].markers == pages[kind].markers
    assert checks[kind].paths == pages[kind].paths


def test_the_sample_draws_every_road(pages, sample_full_area):
    """The sample is small enough that no road is thinned out: the counts above are
    the whole road network, not a share of it."""
    roads = sample_full_area.roads.frame()
    assert len(roads) > 1000
    overview = pages["overview"]
    assert overview.paths == len(roads) + len(sample_full_area.villages)


@pytest.mark.parametrize("kind", MAPS)
def test_popups_open_with_text(pages, checks, kind):
    """Every feature with a popup is found, and the first three (of different layers) open."""
    assert checks[kind].popup_features == pages[kind].popup_features
    assert checks[kind].popups_opened == min(3, pages[kind].popup_features) == 3


@pytest.mark.parametrize("kind", MAPS)
def test_screenshot_is_not_blank(checks, kind):
    assert checks[kind].nonblank


@pytest.mark.parametrize("kind", MAPS)
def test_layer_control_lists_the_feature_groups(pages, checks, kind):
    assert checks[kind].layer_names == _group_names(pages[kind].map)


def test_overview_layers_are_named_in_chinese(checks):
    keys = ("lit_roads", "unlit_roads", "unknown_roads", "villages", "stations", "teams")
    assert checks["overview"].layer_names == [layer_label(k, "zh") for k in keys]


@pytest.mark.parametrize("kind", MAPS)
def test_legend_shows_exactly_the_drawn_rows(pages, checks, kind):
    """The legend element holds its title, then each drawn layer's rows, in order."""
    rows = [e.label for e in drawn_legend(pages[kind].map)]
    assert rows
    assert checks[kind].legend_text.splitlines() == [layer_label("legend", "zh"), *rows]


@pytest.mark.parametrize("kind", MAPS)
def test_title(pages, checks, kind):
    assert checks[kind].title == pages[kind].title


# --------------------------------------------------------------------------- print


@needs_pdf_tools
def test_overview_prints_on_one_a4_page_with_its_legend(pages, tmp_path):
    """Printed by Chromium, the overview is one A4 page: the map and the legend's rows."""
    pdf = print_pdf(pages["overview"].path, tmp_path / "overview.pdf")
    assert pdf["errors"] == [] and pdf["requests"] == []
    assert pdf["pages"] == 1
    assert pdf["nonblank"]  # the map is on the paper, not only the controls
    assert (pdf["width_pt"], pdf["height_pt"]) == pytest.approx(A4_PT, abs=1.5)
    for row in drawn_legend(pages["overview"].map):
        assert row.label in pdf["text"]


def test_print_pdf_refuses_unknown_media(tmp_path):
    with pytest.raises(ValueError, match="media must be 'print' or 'screen', got 'paper'"):
        print_pdf(tmp_path / "map.html", tmp_path / "map.pdf", media="paper")


# --------------------------------------------------------------------------- the harness itself


def test_remote_requests_are_blocked_and_recorded(tmp_path):
    """A page that loads from the network records each URL, and none of them loads."""
    page = tmp_path / "remote.html"
    page.write_text(
        "<!doctype html><title>remote</title>"
        '<script src="https://cdn.example.com/leaflet.js"></script>'
        '<img src="http://tiles.example.com/1/2/3.png">'
        '<script>window.loaded = typeof L !== "undefined";'
        'fetch("https://api.example.com/x").catch(() => {});</script>',
        encoding="utf-8",
    )
    check = open_map(page, popups=0, js="window.loaded")
    assert sorted(check.requests) == [
        "http://tiles.example.com/1/2/3.png",
        "https://api.example.com/x",
        "https://cdn.example.com/leaflet.js",
    ]
    assert check.extra is False  # the CDN script never ran
    assert check.errors  # the browser reports each failed load


def test_script_errors_and_blank_pages_are_reported(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        "<!doctype html><title>broken</title><body style='background:#fff'>"
        '<script>console.error("bad thing"); throw new Error("boom");</script>',
        encoding="utf-8",
    )
    check = open_map(page)
    assert check.errors[0] == "bad thing"
    assert "boom" in check.errors[1]
    assert (check.markers, check.paths, check.popups_opened) == (0, 0, 0)
    assert not check.nonblank
    assert check.layer_names == [] and check.legend_text == ""


def test_missing_page_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"map page .*nope\.html does not exist"):
        open_map(tmp_path / "nope.html")


# --------------------------------------------------------------------------- Chinese text

# Draw each character alone on a canvas in the legend's own font stack: a CJK font gives
# each its own glyph, a missing one the same empty box ("tofu") for all of them.
_GLYPHS = """
(() => {
    const el = document.querySelector(".pingan-legend");
    const family = getComputedStyle(el).fontFamily;
    const chars = [...new Set(el.innerText.replace(/[\\s\\x00-\\x7f≥%]/g, ""))].slice(0, 6);
    const c = document.createElement("canvas");
    c.width = c.height = 40;
    const g = c.getContext("2d");
    const blank = c.toDataURL();
    g.font = `32px ${family}`;
    const sig = ch => { g.clearRect(0, 0, 40, 40); g.fillText(ch, 2, 34); return c.toDataURL(); };
    return {chars, blank, glyphs: chars.map(sig), width: g.measureText("派出所").width};
})()
"""


def _cjk_fonts() -> list[str]:
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=30
        ).stdout
    except FileNotFoundError:
        return []
    return [line for line in out.splitlines() if line.strip()]


def test_chinese_labels_render_as_real_glyphs(pages):
    """The legend's Chinese is drawn with a CJK font: distinct glyphs, full-width."""
    if not _cjk_fonts():
        pytest.skip(
            "no font with Chinese glyphs (fc-list :lang=zh is empty): `make browser` "
            "installs fonts-wqy-zenhei or fonts-noto-cjk"
        )
    check = open_map(pages["overview"].path, popups=0, js=_GLYPHS)
    found = check.extra
    assert len(found["chars"]) == 6
    assert found["blank"] not in found["glyphs"]
    assert len(set(found["glyphs"])) == len(found["chars"])
    # CJK ideographs are square: three of them are about three ems wide.
    assert found["width"] == pytest.approx(3 * 32, rel=0.1)
