"""Offline rendering and the overview map, checked on small synthetic layers."""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely import LineString, Point, Polygon

from geo.errors import CoordinateError, LayerError, MapError, OfflineAssetError
from maps.features import combined_bounds, to_wgs84
from maps.legend import add_layer_control, add_legend, point_symbols
from maps.offline import (
    VENDORED_ASSETS,
    new_map,
    render_offline,
    save_offline,
)
from maps.overview import (
    add_roads_by_lit,
    add_stations,
    add_team_bases,
    add_villages,
    overview_map,
)
from maps.style import LIT_COLOURS, MISSING, LegendEntry, layer_label, symbol_svg

# Jiangxia district, Wuhan; the project works in UTM zone 50N.
LON, LAT = 114.30, 30.60
UTM = "EPSG:32650"
CHROMIUM = Path("/usr/bin/chromium")
XSS_NAME = "<script>alert(1)</script>"


def _ll(dx: float, dy: float) -> tuple[float, float]:
    return (LON + dx, LAT + dy)


def _utm(data: dict[str, Any], geometry: list[Any]) -> gpd.GeoDataFrame:
    """Build a layer from WGS84 coordinates and hand it over in the working CRS."""
    return gpd.GeoDataFrame(data, geometry=geometry, crs=4326).to_crs(UTM)


@pytest.fixture(scope="module")
def roads() -> gpd.GeoDataFrame:
    return _utm(
        {
            "edge_id": [1, 2, 3, 4, 5, 6],
            "lit": ["yes", "yes", "no", "no", "unknown", "unknown"],
            "highway": ["primary", "residential", "track", "secondary", "tertiary_link", "service"],
            "name": ["解放大道", None, "<b>田间路</b>", "环湖路", "纸坊大街", ""],
            "length_m": [1234.5, 300.0, 88.0, 900.0, 1500.0, None],
        },
        [
            LineString([_ll(-0.02, 0.0), _ll(0.02, 0.001)]),
            LineString([_ll(0.0, -0.01), _ll(0.001, 0.01)]),
            LineString([_ll(-0.01, -0.01), _ll(0.01, -0.012)]),
            LineString([_ll(-0.02, 0.01), _ll(0.02, 0.012)]),
            LineString([_ll(0.01, -0.02), _ll(0.012, 0.02)]),
            LineString([_ll(-0.015, -0.02), _ll(-0.012, 0.02)]),
        ],
    )


@pytest.fixture(scope="module")
def villages() -> gpd.GeoDataFrame:
    return _utm(
        {
            "code": ["420115001001", "420115001002", "420115001003"],
            "name": ["张家湾村", XSS_NAME, "无坐标村"],
            "kind": ["village", "community", "village"],
            "township": ["五里界街道", "五里界街道", None],
            "township_code": ["420115001"] * 3,
            "district": ["江夏区"] * 3,
            "district_code": ["420115"] * 3,
            "population": pd.array([1200, None, 300], dtype="Int64"),
            "households": pd.array([410, 95, None], dtype="Int64"),
        },
        [
            Point(_ll(0.005, 0.005)),
            Polygon([_ll(-0.01, 0.003), _ll(-0.004, 0.003), _ll(-0.004, 0.008), _ll(-0.01, 0.008)]),
            None,
        ],
    )


@pytest.fixture(scope="module")
def stations() -> gpd.GeoDataFrame:
    return _utm(
        {"id": ["S1", "P1"], "name": ["五里界派出所", "张家湾警务室"], "kind": ["station", "post"]},
        [Point(_ll(0.003, -0.004)), Point(_ll(-0.008, 0.0))],
    )


@pytest.fixture(scope="module")
def teams() -> gpd.GeoDataFrame:
    return _utm(
        {
            "id": ["T1", "T2"],
            "name": ["先锋一队", "先锋二队"],
            "home_unit": ["S1", "P9"],
            "members": [6, 4],
            "skills": ["急救; 水上救援", ""],
        },
        [Point(_ll(0.009, -0.006)), Point(_ll(-0.012, 0.004))],
    )


@pytest.fixture(scope="module")
def overview(roads, villages, stations, teams) -> folium.Map:
    return overview_map(roads, villages, stations, teams)


@pytest.fixture(scope="module")
def html(overview: folium.Map) -> str:
    return render_offline(overview)


class _Loads(HTMLParser):
    """Collect every URL-valued attribute of every tag (script bodies are not tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in {"src", "href", "data", "srcset", "poster"} and value is not None:
                self.urls.append((tag, key, value))

    handle_startendtag = handle_starttag


def _urls(page: str) -> list[tuple[str, str, str]]:
    parser = _Loads()
    parser.feed(page)
    return parser.urls


def _js(text: str) -> str:
    """Return ``text`` as folium's ``tojson`` writes it into the page."""
    out = json.dumps(text)
    for ch in "<>&'":
        out = out.replace(ch, f"\\u{ord(ch):04x}")
    return out


def _collections(page: str) -> list[dict[str, Any]]:
    """Return the GeoJSON FeatureCollections embedded in the page, in order."""
    blobs = re.findall(r'_add\((\{"features": .*?"type": "FeatureCollection"\})\);', page)
    return [json.loads(b) for b in blobs]


def _features_with(page: str, prop: str) -> list[dict[str, Any]]:
    return [
        f for fc in _collections(page) for f in fc["features"] if prop in f.get("properties", {})
    ]


def test_page_loads_nothing_from_the_network(html: str) -> None:
    """No tag of the rendered page has a remote (or any non-data) src/href."""
    urls = _urls(html)
    assert [u for u in urls if not u[2].startswith("data:")] == []
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html.split("<body>")[1])


def test_leaflet_is_inlined_from_the_vendored_copy(html: str) -> None:
    """Leaflet's JS and CSS are inlined, CSS images as data URIs."""
    vendored = VENDORED_ASSETS["leaflet.js"].read_text(encoding="utf-8")
    version = re.search(r"Leaflet (\d+\.\d+\.\d+)", vendored)
    assert version is not None
    assert f'version="{version.group(1)}"' in html
    assert "L.map(" in html
    assert ".leaflet-pane" in html  # from leaflet.css
    assert 'url("data:image/png;base64,' in html
    assert "url(images/" not in html


def test_unneeded_folium_defaults_are_dropped(html: str) -> None:
    """jQuery, Bootstrap, font-awesome and awesome-markers are not on the page."""
    lower = html.lower()
    for word in ("jquery", "bootstrap", "awesome-markers", "fontawesome", "glyphicons"):
        assert word not in lower


def test_stock_folium_map_renders_offline() -> None:
    """Every asset a plain folium.Map asks for is either vendored or listed as not needed."""
    page = render_offline(folium.Map(tiles=None))
    assert [u for u in _urls(page) if not u[2].startswith("data:")] == []


def test_layer_names_and_legend_follow_lang(roads, villages, stations, teams) -> None:
    """Layer control and legend speak one language each: Chinese only, or English only."""
    zh = render_offline(overview_map(roads, villages, stations, teams, lang="zh"))
    en = render_offline(overview_map(roads, villages, stations, teams, lang="en"))
    for key in ("lit_roads", "unlit_roads", "unknown_roads", "villages", "stations", "teams"):
        assert _js(layer_label(key, "zh")) in zh
        assert _js(layer_label(key, "en")) in en
    assert _js("亮灯道路") in zh and "Lit roads" not in zh
    assert _js("亮灯道路") not in en and _js("Lit roads") in en
    assert "L.control.layers(" in zh
    assert "pingan-legend" in zh


def test_title_is_set_and_escaped(roads, villages, stations, teams) -> None:
    page = render_offline(overview_map(roads, villages, stations, teams, title="江夏 <区>"))
    assert "<title>江夏 &lt;区&gt;</title>" in page


def test_village_popup_fields_and_missing_values(html: str) -> None:
    """Villages popups show name, code, households (+ optional fields); gaps show '—'."""
    fields = re.findall(r"let fields = (\[.*?\]);", html)
    assert any(
        {"name", "code", "households", "population", "kind", "township"} <= set(json.loads(f))
        for f in fields
    )
    feats = {f["properties"]["code"]: f for f in _features_with(html, "code")}
    # The village without geometry is skipped, not drawn at (0, 0).
    assert set(feats) == {"420115001001", "420115001002"}
    point = feats["420115001001"]["properties"]
    assert point["name"] == "张家湾村"
    assert point["households"] == "410"
    assert point["population"] == "1200"
    assert point["township"] == "五里界街道"
    assert point["kind"] == "村"
    assert feats["420115001002"]["properties"]["population"] == MISSING
    assert feats["420115001002"]["geometry"]["type"] == "Polygon"


def test_user_text_is_escaped(html: str) -> None:
    """Names from user files cannot inject markup into popups or the page."""
    assert XSS_NAME not in html
    names = {f["properties"]["name"] for f in _features_with(html, "name")}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in names
    assert "&lt;b&gt;田间路&lt;/b&gt;" in names


def test_coordinates_are_wgs84_and_in_leaflet_order(html: str, stations) -> None:
    """fitBounds gets [lat, lon]; GeoJSON keeps [lon, lat]; both match the input place."""
    fit = re.search(r"fitBounds\(\s*\[\[([\d.-]+), ([\d.-]+)\], \[([\d.-]+), ([\d.-]+)\]\]", html)
    assert fit is not None
    south, west, north, east = map(float, fit.groups())
    assert LAT - 0.05 < south < LAT < north < LAT + 0.05
    assert LON - 0.05 < west < LON < east < LON + 0.05
    by_id = {f["properties"]["id"]: f for f in _features_with(html, "id")}
    lon, lat = by_id["S1"]["geometry"]["coordinates"]
    expected = stations.to_crs(4326).set_index("id").geometry["S1"]
    assert lon == pytest.approx(expected.x, abs=2e-6)
    assert lat == pytest.approx(expected.y, abs=2e-6)


def test_coordinates_are_rounded(html: str) -> None:
    """Coordinates carry at most 6 decimals (~0.1 m) to keep pages small."""
    for fc in _collections(html):
        for f in fc["features"]:
            text = json.dumps(f["geometry"]["coordinates"])
            assert not re.search(r"\.\d{7,}", text), text


def test_roads_are_one_geojson_per_lit_class(roads) -> None:
    """Roads are styled per class through GeoJson, not one Leaflet object per road."""
    m = add_roads_by_lit(new_map((114.2, 30.5, 114.4, 30.7), title="roads"), roads)
    page = render_offline(m)
    assert page.count("L.polyline(") == 0
    assert page.count("L.geoJson(") == 3
    for colour in LIT_COLOURS.values():
        assert colour in page
    lit = _features_with(page, "lit")
    assert len(lit) == len(roads)
    weights = re.findall(r'"color": "#e69500".*?"weight": ([\d.]+)', page)
    assert sorted(map(float, weights)) == [2.5, 5.0]  # residential, primary
    by_name = {f["properties"]["name"]: f["properties"] for f in lit}
    assert by_name["解放大道"]["length"] == "1.23 km"
    assert by_name["解放大道"]["lit"] == "有路灯"


def test_many_roads_stay_compact(roads) -> None:
    """Thousands of roads add little per road: shared styles, rounded coordinates."""
    n = 3000
    x0, y0 = roads.geometry.iloc[0].coords[0]
    many = gpd.GeoDataFrame(
        roads.iloc[[0] * n].drop(columns="geometry").reset_index(drop=True),
        geometry=[LineString([(x0 + 3 * i, y0), (x0 + 3 * i + 400, y0 + 50)]) for i in range(n)],
        crs=UTM,
    )
    base = len(render_offline(new_map((114.2, 30.5, 114.4, 30.7), title="r")))
    page = render_offline(add_roads_by_lit(new_map((114.2, 30.5, 114.4, 30.7), title="r"), many))
    assert (len(page) - base) / n < 300


def test_team_popup_names_home_unit_and_lists_skills(html: str) -> None:
    teams = {f["properties"]["name"]: f["properties"] for f in _features_with(html, "skills")}
    assert teams["先锋一队"]["home_unit"] == "五里界派出所 (S1)"
    assert teams["先锋一队"]["skills"] == "急救、水上救援"
    assert teams["先锋一队"]["members"] == "6"
    assert teams["先锋二队"]["home_unit"] == "P9"  # unknown station: id only
    assert teams["先锋二队"]["skills"] == MISSING


def test_station_kinds_get_distinct_symbols(html: str) -> None:
    kinds = {f["properties"]["id"]: f["properties"]["kind"] for f in _features_with(html, "id")}
    assert kinds == {"S1": "派出所", "P1": "警务室"}
    assert html.count('\\u003crect x=\\"2\\" y=\\"2\\"') >= 1  # station square
    assert html.count("M8 1.5 L15 14 L1 14 Z") >= 2  # post triangle: marker + legend


def test_empty_layers_add_empty_groups(roads, villages, stations, teams) -> None:
    """Builders accept empty layers (any CRS) and still add their named group."""
    m = new_map((114.2, 30.5, 114.4, 30.7), title="empty")
    add_roads_by_lit(m, roads.iloc[:0])
    add_villages(m, villages.iloc[:0])
    add_stations(m, stations.iloc[:0].to_crs(4326))
    add_team_bases(m, teams.iloc[:0])
    page = render_offline(add_layer_control(m))
    assert page.count("L.featureGroup(") == 6
    assert "L.geoJson(" not in page
    # An overview with some empty layers still renders around the others.
    page = render_offline(overview_map(roads.iloc[:0], villages, stations.iloc[:0], teams))
    assert _js(layer_label("stations", "zh")) in page


def test_all_layers_empty_is_an_error(roads, villages, stations, teams) -> None:
    with pytest.raises(LayerError, match="all empty"):
        overview_map(roads.iloc[:0], villages.iloc[:0], stations.iloc[:0], teams.iloc[:0])


def test_layer_without_crs_is_an_error(roads) -> None:
    m = new_map((114.2, 30.5, 114.4, 30.7), title="x")
    with pytest.raises(CoordinateError, match="no CRS"):
        add_roads_by_lit(m, roads.set_crs(None, allow_override=True))


def test_missing_column_is_an_error(villages) -> None:
    m = new_map((114.2, 30.5, 114.4, 30.7), title="x")
    with pytest.raises(LayerError, match="'households'"):
        add_villages(m, villages.drop(columns="households"))


def test_unknown_station_kind_is_an_error(stations) -> None:
    bad = stations.assign(kind=["station", "checkpoint"])
    with pytest.raises(LayerError, match="checkpoint"):
        add_stations(new_map((114.2, 30.5, 114.4, 30.7), title="x"), bad)


def test_bad_bounds_are_an_error() -> None:
    with pytest.raises(CoordinateError, match="WGS84"):
        new_map((30.5, 114.2, 30.7, 114.4), title="lat/lon swapped")
    with pytest.raises(CoordinateError, match="finite"):
        new_map((float("nan"), 30.5, 114.4, 30.7), title="nan")


def test_bad_lang_is_an_error(roads, villages, stations, teams) -> None:
    with pytest.raises(MapError, match="unsupported map language lang='fr'"):
        overview_map(roads, villages, stations, teams, lang="fr")  # type: ignore[arg-type]


def test_bad_legend_position_is_an_error() -> None:
    """The legend names the bad position and the corners it could take."""
    m = new_map((114.2, 30.5, 114.4, 30.7), title="x")
    with pytest.raises(MapError, match="legend position 'middle'.*bottomright"):
        add_legend(m, [LegendEntry("a", "#000", "circle")], position="middle")


def test_bad_legend_entry_is_an_error() -> None:
    with pytest.raises(MapError, match="legend entry label is empty"):
        LegendEntry("", "#000", "circle")
    with pytest.raises(MapError, match="legend entry symbol 'hexagon'"):
        LegendEntry("a", "#000", "hexagon")  # type: ignore[arg-type]


def test_bad_symbol_is_an_error() -> None:
    with pytest.raises(MapError, match="symbol 'hexagon' is unknown"):
        symbol_svg("hexagon", "#000")  # type: ignore[arg-type]
    with pytest.raises(MapError, match="point symbol size .* got 0"):
        point_symbols(
            {"type": "FeatureCollection", "features": []}, "star", "#000", (), "en", size=0
        )


def test_bad_feature_options_are_errors(roads) -> None:
    with pytest.raises(MapError, match="simplify_m must be >= 0"):
        to_wgs84(roads, "roads", (), simplify_m=-1.0)
    with pytest.raises(MapError, match="layers is empty"):
        combined_bounds({})
    with pytest.raises(LayerError, match="^roads: empty, nothing to map"):
        combined_bounds({"roads": roads.iloc[:0]})


def test_map_modules_declare_exports_and_keep_privates_private() -> None:
    """Every maps module lists its public names, and none imports another's private names."""
    folder = Path(__file__).resolve().parents[1] / "maps"
    for path in sorted(folder.glob("*.py")):
        name = "maps" if path.stem == "__init__" else f"maps.{path.stem}"
        module = importlib.import_module(name)
        assert isinstance(getattr(module, "__all__", None), list), name
        assert all(hasattr(module, n) for n in module.__all__), name
        assert not [n for n in module.__all__ if n.startswith("_")], name
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("maps"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{name} imports {private} from {node.module}"


def test_unknown_external_asset_is_an_error() -> None:
    """A plugin asset that is not vendored fails the render and says how to fix it."""
    m = new_map((114.2, 30.5, 114.4, 30.7), title="x")
    m.get_root().header.add_child(
        folium.JavascriptLink("https://cdn.example.org/leaflet.heat/0.2.0/leaflet-heat.js")
    )
    with pytest.raises(OfflineAssetError, match=r"leaflet-heat\.js.*vendor"):
        render_offline(m)


def test_other_remote_loads_are_an_error() -> None:
    """Remote images or favicons added as raw HTML are caught too."""
    m = new_map((114.2, 30.5, 114.4, 30.7), title="x")
    m.get_root().html.add_child(folium.Element('<img src="https://example.org/logo.png">'))
    with pytest.raises(OfflineAssetError, match="remote resource"):
        render_offline(m)
    m = new_map((114.2, 30.5, 114.4, 30.7), title="x")
    m.get_root().header.add_child(
        folium.Element('<link rel="icon" href="https://example.org/favicon.ico"/>')
    )
    with pytest.raises(OfflineAssetError, match="favicon.ico"):
        render_offline(m)


def test_code_needing_a_dropped_asset_is_an_error() -> None:
    """folium.Icon needs awesome-markers, which is dropped: refuse rather than break."""
    m = new_map((114.2, 30.5, 114.4, 30.7), title="x")
    folium.Marker([LAT, LON], icon=folium.Icon(color="red")).add_to(m)
    with pytest.raises(OfflineAssetError, match="folium.Icon"):
        render_offline(m)


def test_default_marker_icon_is_inlined() -> None:
    """A plain folium.Marker gets Leaflet's default icon from data URIs, not a path."""
    m = new_map((114.2, 30.5, 114.4, 30.7), title="x")
    folium.Marker([LAT, LON]).add_to(m)
    page = render_offline(m)
    assert "iconUrl: 'data:image/png;base64," in page


def test_vendored_files_exist() -> None:
    for name, path in VENDORED_ASSETS.items():
        assert path.is_file(), name
        assert path.name == name


def test_save_offline_writes_utf8_atomically(tmp_path: Path, overview: folium.Map) -> None:
    """The page lands whole (same as render_offline), replaces old files, leaves no temp."""
    target = tmp_path / "overview.html"
    target.write_text("old", encoding="utf-8")
    assert save_offline(overview, target) == target
    assert target.read_text(encoding="utf-8") == render_offline(overview)
    assert [p.name for p in tmp_path.iterdir()] == ["overview.html"]


def test_save_offline_failure_keeps_old_file(
    tmp_path: Path, overview: folium.Map, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "overview.html"
    target.write_text("old", encoding="utf-8")

    def broken_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("maps.offline.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_offline(overview, target)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["overview.html"]


def _dump_dom(page: Path, profile: Path) -> str:
    """Load ``page`` in headless Chromium (network features off) and return its DOM."""
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1200,800",
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium)"
)


@needs_chromium
def test_page_renders_in_a_real_browser(
    tmp_path: Path, overview: folium.Map, roads, villages, stations, teams
) -> None:
    """Headless Chromium, offline, builds the map: controls, legend, paths and markers."""
    dom = _dump_dom(save_offline(overview, tmp_path / "overview.html"), tmp_path / "profile")
    assert "leaflet-container" in dom
    assert "leaflet-control-layers" in dom
    assert "pingan-legend" in dom
    assert "leaflet-control-scale" in dom
    assert "© OpenStreetMap contributors" in dom
    drawn = re.findall(r'<path class="leaflet-interactive" stroke="([^"]+)"', dom)
    polygons_and_points = villages.geometry.notna().sum()
    assert len(drawn) == len(roads) + polygons_and_points
    assert set(LIT_COLOURS.values()) <= set(drawn)
    markers = re.findall(r'class="leaflet-marker-icon pingan-icon', dom)
    assert len(markers) == len(stations) + len(teams)


@needs_chromium
def test_village_popup_opens_with_escaped_fields(tmp_path: Path, html: str) -> None:
    """Clicking a village opens a popup listing its fields, user text shown as text."""
    map_var = re.search(r"var (map_[0-9a-f]+) = L\.map", html)
    assert map_var is not None
    click = (
        f"<script>{map_var.group(1)}.eachLayer(function (l) {{"
        ' if (l.feature && l.feature.properties.code === "420115001002")'
        " l.fire('click', {latlng: l.getCenter()}, true); });</script></html>"
    )
    page = tmp_path / "click.html"
    page.write_text(html.replace("</html>", click), encoding="utf-8")
    dom = _dump_dom(page, tmp_path / "profile")
    popup = re.search(r'class="leaflet-popup-content"[^>]*>(.*?)</table>', dom, re.DOTALL)
    assert popup is not None
    text = popup.group(1)
    for label in ("名称", "区划代码", "户数", "420115001002", ">95<", MISSING):
        assert label in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert" not in dom


def test_thin_roads_keeps_whole_classes_most_important_first():
    """A large area's map draws at most the limit: main classes whole, then the longest."""
    import geopandas as gpd

    from maps.features import thin_roads

    hw = ["primary"] * 3 + ["tertiary"] * 4 + ["residential"] * 10
    geoms = [shapely.LineString([(0, 0), (k + 1, 0)]) for k in range(len(hw))]
    roads = gpd.GeoDataFrame({"highway": hw}, geometry=geoms, crs=32650)
    same, note = thin_roads(roads, max_roads=100)
    assert len(same) == len(roads) and note is None
    kept, note = thin_roads(roads, max_roads=9)
    assert len(kept) == 9
    assert (kept["highway"] != "residential").sum() == 7  # primary and tertiary whole
    # The two residential roads kept are the longest of their class.
    res = kept[kept["highway"] == "residential"]
    assert sorted(shapely.length(res.geometry.to_numpy())) == [16.0, 17.0]
    assert note is not None and "9 of 17 roads drawn" in note and "every road" in note


def test_density_bands_of_a_huge_grid_are_drawn_on_blocks_keeping_the_peak():
    """A grid beyond max_cells is drawn on block maxima: the peak's band keeps its place."""
    import numpy as np
    import pyproj

    from geo.hotspots.density import DensityGrid
    from maps.hotspots import density_bands

    ny, nx, cell = 300, 400, 100.0
    dens = np.zeros((ny, nx))
    dens[123, 217] = 10.0  # one peak cell
    grid = DensityGrid(
        x=np.arange(nx) * cell + cell / 2,
        y=np.arange(ny) * cell + cell / 2,
        density=dens,
        cell_size=cell,
        bandwidth=200.0,
        bandwidth_rule="user",
        n_points=1,
        total_weight=1.0,
        crs=pyproj.CRS("EPSG:32650"),
    )
    fine = density_bands(grid, (0.5,), max_cells=10**9)
    coarse = density_bands(grid, (0.5,), max_cells=10_000)
    peak = shapely.Point(217 * cell + cell / 2, 123 * cell + cell / 2)
    assert fine.geometry.iloc[0].contains(peak) and coarse.geometry.iloc[0].contains(peak)
    assert fine.geometry.iloc[0].area == pytest.approx(cell * cell)
    assert coarse.geometry.iloc[0].area > fine.geometry.iloc[0].area  # one 4 x 4 block
    assert coarse.geometry.iloc[0].area == pytest.approx((4 * cell) ** 2)
