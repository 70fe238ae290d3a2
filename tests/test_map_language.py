"""One language per page: a Chinese map carries no English prose, an English map no Chinese.

Checked from the HTML (title, layer names, legend, field names, what popups and
tooltips show) on the maps of the sample district's main job and of the real Guixi
extract, so a new layer that forgets to translate one string fails here.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from geo.lighting import explanation_zh
from geo.lighting.risk import ROAD_CLASS_LABELS
from geo.network.tags import HIGHWAY_NAMES
from maps.style import highway_label, layer_label, page_title

sys.path.insert(0, str(Path(__file__).parent))
from map_text import chinese_strings, english_words, visible_strings  # noqa: E402

SENTENCES = [
    "11 night incidents within 300 m (weighted by closeness: 8.5) (1.00×0.40=0.40) + service"
    " road (0.60×0.20=0.12) + 721 households within 200 m (0.65×0.25=0.16) + not the only"
    " link (0.00×0.15=0.00) = 0.68",
    "1 night incident within 250 m (weighted by closeness: 0.9) (0.10×0.40=0.04) + farm track"
    " (0.90×0.20=0.18) + 0 households within 200 m (0.00×0.25=0.00) + only link to 1000"
    " households (1.00×0.15=0.15) = 0.37",
    "0 night incidents within 300 m (weighted by closeness: 0.0) (0.00×0.40=0.00) + footway"
    " (0.50×0.20=0.10) + 3 households within 200 m (0.01×0.25=0.00) + only link, no"
    " households beyond (1.00×0.15=0.15) = 0.25",
]


def test_risk_explanations_translate_with_every_figure_kept():
    """Each form of the risk sentence comes out Chinese with the same numbers (Chinese
    puts a distance before its count, so only the multiset is compared)."""
    zh = explanation_zh(SENTENCES)
    for en, cn in zip(SENTENCES, zh, strict=True):
        assert not english_words([cn]), cn
        nums = re.compile(r"\d+(?:\.\d+)?")
        assert sorted(nums.findall(en)) == sorted(nums.findall(cn))
    assert "辅路" in zh[0] and "不是唯一通道" in zh[0]
    assert "机耕路" in zh[1] and "通往 1000 户的唯一道路" in zh[1]
    assert "人行道" in zh[2] and "唯一通道，其后无住户" in zh[2]


def test_a_sentence_of_another_form_is_left_as_it_is():
    assert explanation_zh(["no such sentence"]) == ["no such sentence"]


def test_every_road_class_has_a_chinese_name():
    """The classes the risk score names, and OSM's usual ones, read as people say them."""
    for hw in [*ROAD_CLASS_LABELS, *HIGHWAY_NAMES]:
        assert not english_words([highway_label(hw, "zh")])
    assert highway_label("secondary", "zh") == "县道"
    assert highway_label("primary_link", "zh") == "省道匝道"
    assert highway_label("primary_link", "en") == "provincial road ramp"
    assert highway_label("raceway", "zh") == "道路"  # unknown class: never the raw tag
    assert highway_label("raceway", "en") == "raceway"


def test_labels_and_titles_speak_one_language():
    assert layer_label("lit_roads", "zh") == "亮灯道路"
    assert page_title("overview", "贵溪", "zh") == "贵溪 概览图"
    assert page_title("overview", "Guixi", "en") == "Guixi: overview"


def _pages(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.html")) + sorted(folder.glob("briefings/*.html"))


# User data shown as is (names, skills, the area's own name) is not the page's language.
_USER_PROPS = (
    "name", "skills", "village", "team", "home_unit", "leader", "Leader", "road", "where",
    "description", "township", "district", "category", "officer", "station", "from",
)  # fmt: skip


def _check_zh(folder: Path, allowed: set[str]) -> None:
    for page in _pages(folder):
        if page.name == "index.html":
            continue
        words = english_words(visible_strings(page.read_text(), skip_props=_USER_PROPS), allowed)
        assert not words, f"{page.name}: English on a Chinese page: {sorted(words)[:20]}"


def test_sample_run_maps_are_chinese_only(sample_run):
    """Every map the main job writes for the sample speaks Chinese only."""
    # The area's own name ("sample district (synthetic)"), the scenarios' names ("base",
    # "post at 范家冲村 + lamps") and the new post's id (POST-NEW) are identifiers the
    # files carry, shown as given.
    _check_zh(
        sample_run,
        allowed={"sample", "district", "synthetic", "base", "post", "lamps", "new"},
    )


def test_english_pages_carry_no_chinese_words(sample_run_en):
    """On --lang en the field names, legends and classes are English (names stay as given)."""
    for page in _pages(sample_run_en):
        strings = visible_strings(page.read_text(), skip_props=_USER_PROPS)
        # Place names are the user's own and stay Chinese; the words around them do not.
        shown = [s for s in strings if not _is_place(s, sample_run_en)]
        assert not chinese_strings(shown), f"{page.name}: {chinese_strings(shown)[:10]}"


def _is_place(s: str, folder: Path) -> bool:
    names = _names(folder)
    return any(n and n in s for n in names)


_NAME_CACHE: dict[Path, set[str]] = {}


def _names(folder: Path) -> set[str]:
    if folder not in _NAME_CACHE:
        names: set[str] = set()
        for f in (folder / "sample").glob("*.csv"):
            df = pd.read_csv(f, dtype=str)
            for c in df.columns:
                if "name" in c or c in ("township", "district", "leader", "skills"):
                    names |= set(df[c].dropna())
        _NAME_CACHE[folder] = names
    return _NAME_CACHE[folder]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    from service.cli import main

    out = tmp_path_factory.mktemp("run_zh")
    assert main(["-q", "demo", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def sample_run_en(tmp_path_factory):
    from service.cli import main

    out = tmp_path_factory.mktemp("run_en")
    assert main(["-q", "demo", "--out", str(out), "--lang", "en"]) == 0
    return out
