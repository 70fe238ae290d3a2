"""The run's index page: every file it wrote, maps first, each saying what it is for."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from service.index_page import index_html

FILES = [
    "summary.md",
    "overview.html",
    "patrol_map.html",
    "briefings/T01.html",
    "briefings/T01.md",
    "coverage_villages.csv",
    "patrol.gpx",
    "posts.geojson",
    "odd.bin",
]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.h2: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])
        self._in_h2 = tag == "h2"

    def handle_data(self, data):
        if self._in_h2:
            self.h2.append(data)
            self._in_h2 = False


def _parse(html: str) -> _Links:
    p = _Links()
    p.feed(html)
    return p


def test_every_file_is_linked_once_and_the_index_not_at_all():
    html = index_html("贵溪", [*FILES, "index.html", "overview.html"], lang="zh")
    links = _parse(html).hrefs
    assert sorted(links) == sorted(FILES)


def test_sections_in_order_maps_first_and_only_those_with_files():
    zh = _parse(index_html("贵溪", FILES, lang="zh")).h2
    assert zh == ["地图", "村庄简报", "报告", "表格", "数据文件"]
    en = _parse(index_html("Guixi", ["overview.html", "summary.md"], lang="en")).h2
    assert en == ["Maps", "Reports"]


def test_each_map_says_what_it_is_for_in_the_page_language():
    zh = index_html("贵溪", FILES, lang="zh")
    assert "<title>贵溪 平安地图与报告</title>" in zh
    assert "巡逻路线图（调度员）" in zh and "村庄简报图（队长）" in zh
    en = index_html("Guixi", FILES, lang="en")
    assert "Patrol routes (dispatchers)" in en and "prints on A4" in en
    assert not re.search(r"[\u4e00-\u9fff]", en.replace("贵溪", ""))


def test_names_are_escaped():
    html = index_html("<b>x</b>", ['a"b<c>.csv'], lang="en")
    assert "<b>x</b>" not in html and 'href="a&quot;b&lt;c&gt;.csv"' in html
