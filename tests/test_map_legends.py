"""Map legends list what is on the map, and only that.

Each test builds a map with and without a layer and reads the legend's own element:
the HTML the legend control puts into its ``div.pingan-legend``, decoded from the page
and parsed into rows, never a substring of the whole page (a layer name also appears
in the layer control and the data).
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString, Point, Polygon

from geo.hotspots import kde_grid
from maps.hotspots import GI_COLOURS, KDE_BANDS, LAMP_COLOUR, ROLE_STYLES, hotspots_map
from maps.legend import add_legend, drawn_legend, note_legend
from maps.offline import new_map, render_offline, save_offline
from maps.overview import add_stations, district_map, overview_map
from maps.posts import posts_map
from maps.style import (
    LIT_COLOURS,
    PROPOSED_COLOUR,
    STATION_COLOURS,
    TEAM_COLOUR,
    VILLAGE_COLOURS,
    LegendEntry,
    layer_label,
)

LON, LAT = 114.30, 30.60
UTM = "EPSG:32650"
CHROMIUM = Path("/usr/bin/chromium")


class Row(NamedTuple):
    label: str
    shape: str  # svg element of the swatch: line, circle, rect or path
    colour: str


class _LegendParser(HTMLParser):
    """Read a legend: its heading and one (label, swatch shape, colour) per row.

    With ``root_class`` only what lies inside the element of that class is read (a
    whole page, as the browser built it); without, the HTML is the legend's inside.
    """

    def __init__(self, root_class: str | None = None) -> None:
        super().__init__()
        self.title: str | None = None
        self.rows: list[Row] = []
        self.roots = 0
        self._root_class = root_class
        self._depth = 0 if root_class else 1  # divs open inside the legend element
        self._in: str | None = None
        self._shape: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if self._depth == 0:
            if tag == "div" and self._root_class in (a.get("class") or "").split():
                self.roots += 1
                self._depth = 1
            return
        if tag == "div":
            self._depth += 1
            self._shape = None
        elif tag in ("h4", "span"):
            self._in = tag
        elif tag in ("line", "circle", "rect", "path") and self._shape is None:
            self._shape = (tag, a.get("fill") or a.get("stroke") or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "div" and self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth and self._in == "h4":
            self.title = data
        elif self._depth and self._in == "span":
            assert self._shape is not None, f"legend row {data!r} has no swatch"
            self.rows.append(Row(data, *self._shape))

    def handle_endtag(self, tag: str) -> None:
        self._in = None
        if tag == "div" and self._depth and self._root_class:
            self._depth -= 1


def legend_of(m: folium.Map) -> _LegendParser | None:
    """Return the parsed legend element of ``m``'s page, or None when it has none."""
    page = render_offline(m)
    anchor = 'L.DomUtil.create("div", "pingan-legend");'
    at = [x.end() for x in re.finditer(re.escape(anchor), page)]
    assert len(at) <= 1, "a map has one legend"
    if not at:
        return None
    start = page.index("div.innerHTML = ", at[0]) + len("div.innerHTML = ")
    html, _ = json.JSONDecoder().raw_decode(page, start)
    parser = _LegendParser()
    parser.feed(html)
    return parser


def labels(m: folium.Map) -> list[str]:
    legend = legend_of(m)
    return [] if legend is None else [r.label for r in legend.rows]


def _utm(data: dict, geometry: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(data, geometry=geometry, crs=4326).to_crs(UTM)


def _ll(dx: float, dy: float) -> tuple[float, float]:
    return (LON + dx, LAT + dy)


# --------------------------------------------------------------------------- layers


@pytest.fixture(scope="module")
def roads() -> gpd.GeoDataFrame:
    return _utm(
        {
            "lit": ["yes", "no", "no"],
            "highway": ["primary", "track", "residential"],
            "name": ["解放大道", "田间路", None],
            "length_m": [1200.0, 300.0, 250.0],
        },
        [
            LineString([_ll(-0.02, 0.0), _ll(0.02, 0.0)]),
            LineString([_ll(0.0, -0.01), _ll(0.0, 0.01)]),
            LineString([_ll(-0.01, -0.01), _ll(0.01, -0.01)]),
        ],
    )


@pytest.fixture(scope="module")
def density(roads):
    """A kernel density grid around the district's centre: every band has cells."""
    x0, y0 = roads.geometry.union_all().centroid.coords[0]
    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.normal(x0, 300, 200), rng.normal(y0, 300, 200)])
    return dataclasses.replace(kde_grid(pts, cell_size=100.0, bandwidth=200.0), crs=UTM)


@pytest.fixture(scope="module")
def cells(roads) -> gpd.GeoDataFrame:
    """Gi* cells: one hot at 99 %, one cold at 95 %, one not significant."""
    x0, y0 = roads.geometry.union_all().centroid.coords[0]
    boxes = [Polygon.from_bounds(x0 + i * 200, y0, x0 + i * 200 + 200, y0 + 200) for i in range(3)]
    return gpd.GeoDataFrame(
        {
            "count": [9, 0, 2],
            "z": [3.4, -2.1, 0.3],
            "p_fdr": [0.001, 0.04, 0.8],
            "class": ["hot 99%", "cold 95%", "not significant"],
        },
        geometry=boxes,
        crs=UTM,
    )


@pytest.fixture(scope="module")
def hot_roads(roads) -> gpd.GeoDataFrame:
    """Road stretches: a hotspot core and an elevated one, no 'part of a hot area'."""
    return (
        roads.iloc[:2]
        .assign(count=[5, 2], per_km=[4.2, 1.1], z=[3.0, 1.8], **{"class": ["hot 99%", "hot 90%"]})
        .assign(role=["hotspot core", "elevated"])
    )


@pytest.fixture(scope="module")
def risk(roads) -> gpd.GeoDataFrame:
    return roads.assign(
        score=[0.6, 0.4, 0.2], rank=[1, 2, 3], explanation=["why 1", "why 2", "why 3"]
    )


@pytest.fixture(scope="module")
def lamps(roads) -> gpd.GeoDataFrame:
    pts = roads.geometry.interpolate(0.5, normalized=True)
    return gpd.GeoDataFrame({"lamp": [1, 2, 3]}, geometry=pts.to_numpy(), crs=UTM)


@pytest.fixture(scope="module")
def stations() -> gpd.GeoDataFrame:
    """One police station and no post."""
    return _utm(
        {"id": ["S1"], "name": ["五里界派出所"], "kind": ["station"]}, [Point(_ll(0.003, 0))]
    )


@pytest.fixture(scope="module")
def villages() -> gpd.GeoDataFrame:
    """Two village points, no community and no village area."""
    return _utm(
        {
            "code": ["420115001001", "420115001002"],
            "name": ["张家湾村", "李家湾村"],
            "kind": ["village", "village"],
            "households": [410, 95],
        },
        [Point(_ll(0.005, 0.005)), Point(_ll(-0.005, 0.004))],
    )


@pytest.fixture(scope="module")
def teams() -> gpd.GeoDataFrame:
    return _utm(
        {"id": ["T1"], "name": ["先锋一队"], "home_unit": ["S1"], "members": [6], "skills": [""]},
        [Point(_ll(0.009, -0.006))],
    )


@pytest.fixture(scope="module")
def layers(density, cells, hot_roads, risk, lamps, stations) -> dict:
    return {
        "density": density,
        "cells": cells,
        "hot_roads": hot_roads,
        "risk": risk,
        "lamps": lamps,
        "stations": stations,
    }


def _density_labels() -> list[str]:
    return [f"density ≥ {int(b * 100)}% of peak" for b in KDE_BANDS]


#: Legend rows each hotspots layer brings, for the layers built above (lang="en").
ROWS_OF = {
    "density": _density_labels(),
    "cells": ["Gi* Hot spot, 99% confidence", "Gi* Cold spot, 95% confidence"],
    "hot_roads": ["Hotspot core", "Elevated"],
    "risk": ["Dark roads by risk (top 25)"],
    "lamps": ["Proposed lamps"],
    "stations": ["police station"],
}


# --------------------------------------------------------------------------- hotspots map


def test_hotspots_legend_lists_every_drawn_layer_in_drawing_order(roads, layers):
    """With every layer given, the legend lists each one's rows, in the order drawn."""
    m = hotspots_map(roads=roads, lang="en", **layers)
    legend = legend_of(m)
    assert legend is not None and legend.title == "Legend"
    assert [r.label for r in legend.rows] == [row for rows in ROWS_OF.values() for row in rows]
    colours = {r.label: r.colour for r in legend.rows}
    assert colours["Gi* Hot spot, 99% confidence"] == GI_COLOURS["hot 99%"]
    assert colours["Hotspot core"] == ROLE_STYLES["hotspot core"][0]
    assert colours["Proposed lamps"] == LAMP_COLOUR
    assert colours["police station"] == STATION_COLOURS["station"]


@pytest.mark.parametrize("absent", list(ROWS_OF))
def test_a_layer_left_out_leaves_its_legend_rows_out(roads, layers, absent):
    """Without one layer the legend drops exactly that layer's rows."""
    given = {k: v for k, v in layers.items() if k != absent}
    expected = [row for k, rows in ROWS_OF.items() if k != absent for row in rows]
    assert labels(hotspots_map(roads=roads, lang="en", **given)) == expected


def test_unlit_and_lamps_maps_show_no_density_or_gi_rows(roads, risk, lamps):
    """The map `pingan unlit` and `pingan lamps` write (dark roads, lamps) lists just those."""
    unlit = hotspots_map(roads=roads, risk=risk, lang="en")
    assert labels(unlit) == ["Dark roads by risk (top 25)"]
    with_lamps = hotspots_map(roads=roads, risk=risk, lamps=lamps, lang="zh")
    assert labels(with_lamps) == [
        "无灯道路风险 (前 25 条)",
        "建议路灯",
    ]


def test_empty_or_insignificant_layers_add_no_rows(roads, density, cells, hot_roads, risk, lamps):
    """A layer given but drawing nothing (no significant cell, no incident, no lamp, no
    hot stretch) adds no row; with nothing but the grey roads there is no legend."""
    flat = dataclasses.replace(density, density=np.zeros_like(density.density))
    m = hotspots_map(
        roads=roads,
        density=flat,
        cells=cells.assign(**{"class": "not significant"}),
        hot_roads=hot_roads.assign(role="plain"),
        risk=risk.iloc[:0],
        lamps=lamps.iloc[:0],
        lang="en",
    )
    assert legend_of(m) is None
    assert "pingan-legend" not in render_offline(m).split("<body>")[1]


def test_only_the_gi_classes_and_roles_present_are_listed(roads, cells, hot_roads):
    only_hot = cells[cells["class"] == "hot 99%"]
    cores = hot_roads[hot_roads["role"] == "hotspot core"]
    m = hotspots_map(roads=roads, cells=only_hot, hot_roads=cores, lang="en")
    assert labels(m) == ["Gi* Hot spot, 99% confidence", "Hotspot core"]


def test_risk_row_names_how_many_roads_are_drawn(roads, risk):
    from maps.hotspots import add_road_risk

    m = new_map((114.2, 30.5, 114.4, 30.7), title="x")
    add_road_risk(m, risk, lang="en", top=2)
    assert [e.label for e in drawn_legend(m)] == ["Dark roads by risk (top 2)"]
    m = add_road_risk(new_map((114.2, 30.5, 114.4, 30.7), title="x"), risk, lang="en", top=None)
    assert [e.label for e in drawn_legend(m)] == ["Dark roads by risk"]


# --------------------------------------------------------------------------- overview and posts


def test_overview_legend_lists_the_lit_classes_kinds_and_units_present(
    roads, villages, stations, teams
):
    """No unknown-lighting road, community, village area or police post: none is listed."""
    legend = legend_of(overview_map(roads, villages, stations, teams, lang="en"))
    assert legend is not None
    assert legend.rows == [
        Row("Lit roads", "line", LIT_COLOURS["yes"]),
        Row("Unlit roads", "line", LIT_COLOURS["no"]),
        Row("village", "circle", VILLAGE_COLOURS["village"]),
        Row("police station", "rect", STATION_COLOURS["station"]),
        Row("Vanguard team bases", "path", TEAM_COLOUR),
    ]


def test_overview_legend_gains_rows_as_their_layers_appear(roads, villages, stations, teams):
    """A community drawn as an area, a road of unknown lighting and a post add their rows;
    an empty team layer takes its row away."""
    area = Polygon([_ll(-0.01, 0.003), _ll(-0.004, 0.003), _ll(-0.004, 0.008), _ll(-0.01, 0.008)])
    more_villages = gpd.GeoDataFrame(
        villages.drop(columns="geometry").iloc[:1].assign(kind="community", code="420115001003"),
        geometry=gpd.GeoSeries([area], crs=4326).to_crs(UTM).to_numpy(),
        crs=UTM,
    )
    both = gpd.GeoDataFrame(pd.concat([villages, more_villages], ignore_index=True), crs=UTM)
    post = _utm({"id": ["P1"], "name": ["张家湾警务室"], "kind": ["post"]}, [Point(_ll(-0.008, 0))])
    units = gpd.GeoDataFrame(pd.concat([stations, post], ignore_index=True), crs=UTM)
    unknown = roads.assign(lit=["yes", "no", "unknown"])
    rows = legend_of(overview_map(unknown, both, units, teams.iloc[:0], lang="en"))
    assert rows is not None
    assert [r.label for r in rows.rows] == [
        "Lit roads",
        "Unlit roads",
        "Lighting unknown",
        "village",
        "village boundary",
        "police station",
        "police post",
    ]
    # The only area is a community's: its row has the community colour it is drawn in.
    assert rows.rows[4].colour == VILLAGE_COLOURS["community"]


def test_posts_map_is_the_district_map_plus_proposed_posts(roads, villages, stations):
    """posts_map and overview_map share district_map; the posts map lists no team bases."""
    proposed = _utm(
        {
            "id": ["N1"],
            "name": ["拟建一"],
            "nearest_village": ["张家湾村"],
            "road": ["解放大道"],
            "villages_gained": ["2"],
        },
        [Point(_ll(0.01, 0.002))],
    )
    m = posts_map(roads, villages, stations, proposed, lang="en")
    base = district_map(roads, villages, stations, title="x", lang="en")
    assert labels(m) == [e.label for e in drawn_legend(base)] + ["Proposed posts"]
    legend = legend_of(m)
    assert legend is not None and legend.rows[-1] == Row("Proposed posts", "path", PROPOSED_COLOUR)
    assert layer_label("teams", "en") not in labels(m)


def test_explicit_legend_rows_and_notes_listed_once(stations):
    """Explicit rows still work; a layer drawn twice lists its rows once."""
    m = new_map((114.2, 30.5, 114.4, 30.7), title="x")
    add_stations(m, stations, lang="en")
    add_stations(m, stations, lang="en")
    note_legend(m, [LegendEntry("police station", STATION_COLOURS["station"], "square")])
    assert [e.label for e in drawn_legend(m)] == ["police station"]
    explicit = add_legend(
        new_map((114.2, 30.5, 114.4, 30.7), title="y"), [LegendEntry("a", "#000", "circle")]
    )
    assert labels(explicit) == ["a"]


# --------------------------------------------------------------------------- in a browser


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed")
def test_unlit_map_legend_in_a_real_browser(tmp_path, roads, risk, lamps, stations):
    """Headless Chromium, offline, shows a legend element holding only the drawn rows."""
    m = hotspots_map(roads=roads, risk=risk, lamps=lamps, stations=stations, lang="en")
    page = save_offline(m, tmp_path / "unlit.html")
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom",
        page.as_uri(),
    ]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    legend = _LegendParser(root_class="pingan-legend")
    legend.feed(dom)
    assert legend.roots == 1
    assert legend.title == "Legend"
    assert [r.label for r in legend.rows] == [
        "Dark roads by risk (top 25)",
        "Proposed lamps",
        "police station",
    ]
