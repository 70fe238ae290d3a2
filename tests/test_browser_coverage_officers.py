"""The coverage and auxiliary-officer maps, opened in Chromium as their users would.

Each page is written by its command on the sample district and checked against the
tables the same command wrote: one rendered dot per village, popups that open, no
JavaScript error and no request leaving the machine.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from browser import needs_browser, open_map

from service.cli import main

pytestmark = needs_browser

#: Count of the Leaflet layers of a kind that the page holds (hidden ones included).
_COUNT_JS = """
(() => {
  const map = Object.values(window).find((v) => v instanceof L.Map);
  let circles = 0;
  map.eachLayer((l) => { if (l instanceof L.CircleMarker) circles += 1; });
  return circles;
})()
"""


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("cov_off")
    sample = ["--sample-dir", str(out / "sample")]
    assert main(["-q", "coverage", "--out", str(out), "--map", *sample]) == 0
    assert main(["-q", "teams", "officers", "--out", str(out), "--map", *sample]) == 0
    return out


def test_coverage_map_renders_a_dot_per_village(written, tmp_path):
    villages = _rows(written / "coverage_villages.csv")
    page = open_map(written / "coverage.html", screenshot=tmp_path / "c.png", js=_COUNT_JS)
    assert page.errors == [] and page.requests == []
    assert page.extra == len(villages)  # villages by travel time; no other circles
    assert page.popups_opened >= 1 and page.nonblank
    assert any("分钟内" in row for row in page.legend_text.splitlines())


def test_officers_map_renders_a_dot_per_committee(written, tmp_path):
    gaps = _rows(written / "officers_gaps.csv")
    page = open_map(written / "officers.html", screenshot=tmp_path / "o.png", js=_COUNT_JS)
    assert page.errors == [] and page.requests == []
    with (written / "sample" / "villages.csv").open(encoding="utf-8-sig") as fh:
        committees = [r for r in csv.DictReader(fh) if r.get("kind", "village") == "village"]
    assert page.extra == len(committees)
    assert len(gaps) >= 1 and "缺辅警" in page.legend_text
    assert page.popups_opened >= 1 and page.nonblank
