"""The planner's scenario comparison map, on the sample district."""

from __future__ import annotations

import re
from html import unescape

import folium
import geopandas as gpd
import pytest
import shapely
from browser import needs_browser, open_map
from jinja2.utils import htmlsafe_json_dumps

from geo.errors import LayerError, MapError
from geo.scenarios import BaseData, Edit, Scenario, compare, evaluate, load_inputs
from maps.compare import (
    CHANGE_COLOURS,
    add_isochrones,
    compare_map,
    station_changes,
    village_changes,
)
from maps.legend import drawn_legend
from maps.offline import save_offline
from service.compare_map import default_threshold, scenario_facilities

THRESHOLD = 15.0
# Words of three or more Latin letters: ids such as "PS-03" have two.
_ENGLISH = re.compile(r"[A-Za-z]{3,}")
_STYLE_KEYS = {"colour", "weight", "dash", "opacity"}


@pytest.fixture(scope="module")
def scenarios(sample_files):
    """A: the sample as it is. B: a new post, one post closed and one station moved."""
    f = sample_files
    base = BaseData(
        osm=str(f.roads), villages=str(f.villages), stations=str(f.stations), teams=str(f.teams)
    )
    a = Scenario(name="现状", base=base)
    area = load_inputs(a)
    st = area.stations.to_crs(4326)
    moved = st[st["id"] == "PS-02"].geometry.iloc[0]
    b = Scenario(
        name="新建警务室<试点>",
        base=base,
        edits=(
            Edit("add_station", {"id": "PX-9", "name": "试点警务室", "kind": "post",
                                 "lon": 114.43, "lat": 31.01}),
            Edit("remove_station", {"id": "PS-04"}),
            Edit("move_station", {"id": "PS-02", "lon": moved.x + 0.01, "lat": moved.y}),
        ),
    )  # fmt: skip
    return a, b, area


@pytest.fixture(scope="module")
def comparison(scenarios):
    a, b, area = scenarios
    return compare(evaluate(a, area=area), evaluate(b, area=area))


@pytest.fixture(scope="module")
def layers(scenarios):
    a, b, area = scenarios
    return scenario_facilities(a, area), scenario_facilities(b, area)


def _map(comparison, scenarios, layers, **kw):
    _, _, area = scenarios
    (sa, ia), (sb, ib) = layers
    args = {
        "villages": area.villages,
        "a_stations": sa,
        "b_stations": sb,
        "a_iso": ia,
        "b_iso": ib,
        "threshold_min": THRESHOLD,
        "roads": area.roads.frame(),
        "title": "方案对比图",
        "attribution": None,
    }
    args.update(kw)
    return compare_map(comparison, **args)


@pytest.fixture(scope="module")
def zh_map(comparison, scenarios, layers):
    return _map(comparison, scenarios, layers)


@pytest.fixture(scope="module")
def page(zh_map, tmp_path_factory):
    return save_offline(zh_map, tmp_path_factory.mktemp("compare") / "scenario_compare.html")


def _groups(m: folium.Map) -> list[str]:
    return [c.layer_name for c in m._children.values() if isinstance(c, folium.FeatureGroup)]


def _control(m: folium.Map, css: str) -> str:
    (c,) = [c for c in m._children.values() if css in str(getattr(c, "css_class", "")).split()]
    return str(c.html)


def _table(m: folium.Map) -> list[list[str]]:
    html = _control(m, "pingan-compare-table")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html)
    return [[unescape(c) for c in re.findall(r"<t[dh]>(.*?)</t[dh]>", r)] for r in rows]


def test_village_changes_split_same_into_both_and_neither(comparison) -> None:
    """Gained and lost are the comparison's; "same" is covered in both or in neither."""
    for row in comparison.summary.itertuples():
        ch = village_changes(comparison, row.threshold_min)
        assert (ch == "gained").sum() == row.gained
        assert (ch == "lost").sum() == row.lost
        assert (ch == "both").sum() + (ch == "lost").sum() == row.covered_a
        assert (ch == "both").sum() + (ch == "gained").sum() == row.covered_b
        assert len(ch) == len(comparison.villages)


def test_the_table_in_the_page_equals_the_summary(comparison, zh_map) -> None:
    """Per threshold: covered in A and B, gained and lost as Comparison.summary has them."""
    head, *rows = _table(zh_map)
    assert head[:5] == ["时限", "A覆盖村数", "B覆盖村数", "新增", "失去"]
    s = comparison.summary
    assert len(rows) == len(s)
    for cells, r in zip(rows, s.itertuples(), strict=True):
        assert cells[0] == f"{r.threshold_min:g} 分钟"
        assert [int(c) for c in cells[1:5]] == [r.covered_a, r.covered_b, r.gained, r.lost]
    assert s["gained"].sum() > 0 and s["lost"].sum() > 0
    html = _control(zh_map, "pingan-compare-table")
    # The scenario's name is escaped, and the threshold coloured is marked.
    assert "新建警务室&lt;试点&gt;" in html and "<试点>" not in html
    assert '<tr class="shown"><td>15 分钟</td>' in html


def test_the_layers_and_legend_are_what_is_drawn(comparison, zh_map) -> None:
    """Roads, both isochrones, the village change at 15 min, the stations compared."""
    assert _groups(zh_map) == [
        "道路",
        "方案A等时圈",
        "方案B等时圈",
        "覆盖变化（15 分钟）",
        "派出所与警务室（方案对比）",
    ]
    labels = [r.label for r in drawn_legend(zh_map)]
    changes = set(village_changes(comparison, THRESHOLD))
    names = {"gained": "新增覆盖", "lost": "失去覆盖", "both": "两方案均覆盖"}
    names["neither"] = "两方案均未覆盖"
    assert [names[c] for c in CHANGE_COLOURS if c in changes] == [
        s for s in labels if s in names.values()
    ]
    for row in ("方案B新增：警务室", "方案B撤销：警务室", "方案B迁址（新址）：派出所"):
        assert row in labels
    assert "方案B迁址（原址）：派出所" in labels
    assert "方案A等时圈" in labels and "方案B等时圈" in labels
    key = _control(zh_map, "pingan-iso-key")
    for t in comparison.summary["threshold_min"]:
        assert f"<td>{t:g} 分钟</td>" in key


def test_station_changes_mark_added_removed_and_moved(layers) -> None:
    (sa, _), (sb, _) = layers
    st = station_changes(sa, sb)
    status = dict(zip(st["id"] + ":" + st["status"], st["status"], strict=True))
    assert set(status) == {
        "PX-9:added",
        "PS-04:removed",
        "PS-02:moved",
        "PS-02:moved_from",
        "PS-01:same_place",
        "PS-03:same_place",
    }


def test_the_chinese_page_has_no_english_words(zh_map) -> None:
    """Labels, popups, tooltips, table and legend speak Chinese only (ids aside)."""
    texts = [r.label for r in drawn_legend(zh_map)] + _groups(zh_map)
    texts += [re.sub(r"<[^>]+>", " ", _control(zh_map, c)) for c in ("pingan-compare-table",)]
    texts.append(re.sub(r"<[^>]+>", " ", _control(zh_map, "pingan-iso-key")))

    def walk(el):
        for child in el._children.values():
            if isinstance(child, folium.GeoJson):
                for f in child.data["features"]:
                    texts.extend(str(v) for k, v in f["properties"].items() if k not in _STYLE_KEYS)
            if getattr(child, "labels", True):
                texts.extend(str(a) for a in (getattr(child, "aliases", None) or []))
            walk(child)

    walk(zh_map)
    words = {w for s in texts for w in _ENGLISH.findall(s)}
    assert not words, sorted(words)[:20]


def test_default_threshold_is_the_quarter_hour_or_the_middle() -> None:
    assert default_threshold([5, 10, 15, 30]) == 15
    assert default_threshold([5, 10, 20]) == 10
    assert default_threshold([30, 10]) == 10
    with pytest.raises(MapError, match="no thresholds"):
        default_threshold([])


def test_bad_arguments_are_named(comparison, scenarios, layers) -> None:
    _, _, area = scenarios
    (sa, _), (sb, _) = layers
    with pytest.raises(MapError, match=r"threshold_min=12 is not a threshold"):
        _map(comparison, scenarios, layers, threshold_min=12)
    with pytest.raises(MapError, match="comparison must be a Comparison, got dict"):
        compare_map(
            {},  # type: ignore[arg-type]
            villages=area.villages,
            a_stations=sa,
            b_stations=sb,
            a_iso=layers[0][1],
            b_iso=layers[1][1],
            threshold_min=15,
            title="x",
        )
    with pytest.raises(MapError, match="title must be non-empty"):
        _map(comparison, scenarios, layers, title="")
    with pytest.raises(MapError, match="must share one CRS"):
        station_changes(sa, sb.to_crs(4326))
    with pytest.raises(LayerError, match="not in the layer"):
        _map(comparison, scenarios, layers, villages=area.villages.iloc[3:])
    with pytest.raises(LayerError, match="threshold_min"):
        _map(comparison, scenarios, layers, a_iso=sa)
    with pytest.raises(MapError, match="side must be 'a' or 'b'"):
        add_isochrones(folium.Map(), layers[0][1], side="c")  # type: ignore[arg-type]


@needs_browser
def test_the_page_renders_every_feature_offline(zh_map, page, scenarios, layers, tmp_path):
    """No errors or requests; markers and paths equal the data; popups open; drawn."""
    _, _, area = scenarios
    (sa, ia), (sb, ib) = layers
    check = open_map(page, screenshot=tmp_path / "compare.png", popups=3)
    assert check.errors == [] and check.requests == []
    assert check.markers == len(station_changes(sa, sb))
    roads = area.roads.frame()
    iso = sum(int((~g.areas.geometry.is_empty).sum()) for g in (ia, ib))
    villages = area.villages.geometry
    assert check.paths == len(roads) + iso + int(villages.notna().sum())
    assert check.popups_opened == 3
    assert check.nonblank
    assert check.layer_names == _groups(zh_map)
    for row in drawn_legend(zh_map):
        assert row.label in check.legend_text
    assert "等时圈" in check.legend_text and "30 分钟" in check.legend_text
    assert check.title == "方案对比图"


def test_scenario_compare_map_flag_writes_the_page(tmp_path, capsys) -> None:
    """``pingan scenario compare --map`` writes scenario_compare.html beside the CSV."""
    from geo.sample import generate_sample
    from geo.scenarios import save_scenario
    from service.cli import main

    generate_sample(tmp_path / "sample")
    base = BaseData(
        osm="../sample/roads.osm",
        villages="../sample/villages.csv",
        stations="../sample/stations.geojson",
    )
    a = save_scenario(Scenario("现状", base), tmp_path / "sc" / "a.json")
    b = save_scenario(
        Scenario("撤销槐荫派出所", base, edits=(Edit("remove_station", {"id": "PS-01"}),)),
        tmp_path / "sc" / "b.json",
    )
    csv = tmp_path / "o" / "cmp.csv"
    argv = ["-q", "scenario", "compare", str(a), str(b), "--no-cache", "--out", str(csv)]
    assert main([*argv, "--map", "--map-threshold", "10"]) == 0
    html = (tmp_path / "o" / "scenario_compare.html").read_text(encoding="utf-8")
    assert "<title>方案对比图：现状 → 撤销槐荫派出所</title>" in html
    assert htmlsafe_json_dumps('<tr class="shown"><td>10 分钟</td>')[1:-1] in html
    assert "scenario_compare.html" in capsys.readouterr().out
    assert main([*argv, "--map", "--map-threshold", "12"]) == 2
    assert "--map-threshold 12 is not one of" in capsys.readouterr().err
    # Without --map no page.
    (tmp_path / "o" / "scenario_compare.html").unlink()
    assert main(argv) == 0
    assert not (tmp_path / "o" / "scenario_compare.html").exists()


def test_isochrones_accept_their_areas_table(layers) -> None:
    """A GeoDataFrame of areas (threshold_min, polygon) draws like Isochrones."""
    (_, ia), _ = layers
    m = folium.Map()
    add_isochrones(m, ia.areas, side="a")
    gdf = gpd.GeoDataFrame({"threshold_min": [5.0]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    add_isochrones(m, gdf, side="b", lang="en")
    assert [r.label for r in drawn_legend(m)] == ["方案A等时圈", "Scenario B isochrones"]
