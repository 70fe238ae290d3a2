"""``index.html`` of a run: every map and report it wrote, each with what it is for.

A run writes dozens of files; a station officer opening the folder should not have to
guess which one to open. The page is plain HTML with inline CSS (it opens from disk
with no network), in the run's language, and lists only files the run wrote.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatch
from html import escape
from typing import Final

from maps.style import Lang, page_title

__all__ = ["DESCRIPTIONS", "index_html"]

#: File pattern -> (section, zh name, zh what-for, en name, en what-for). First match wins.
DESCRIPTIONS: Final[tuple[tuple[str, str, str, str, str, str], ...]] = (
    (
        "overview.html",
        "map",
        "概览图",
        "道路（有灯/无灯）、村庄、派出所和先锋队驻地：先看这张。",
        "Overview",
        "Roads lit and unlit, villages, stations and team bases: start here.",
    ),
    (
        "patrol_map.html",
        "map",
        "巡逻路线图（调度员）",
        "今晚各巡逻车的路线、编号停靠点和到达时间，可切换备选方案。",
        "Patrol routes (dispatchers)",
        "Tonight's route per unit, numbered stops with times; switch between the variants.",
    ),
    (
        "coverage.html",
        "map",
        "村庄覆盖图（规划）",
        "各村到最近派出所的车程，按时限着色；派出所等时圈。",
        "Village coverage (planners)",
        "Travel time from the nearest station to each village, by threshold; isochrones.",
    ),
    (
        "officers.html",
        "map",
        "一村一辅警图",
        "哪些村缺辅警，建议从哪里调派。",
        "One village, one auxiliary officer",
        "Which villages lack an officer, and who could move there.",
    ),
    (
        "hotspots.html",
        "map",
        "热点与道路照明图",
        "警情密度、Gi* 热点、热点路段、无灯道路风险和建议路灯。",
        "Hotspots and lighting",
        "Incident density, Gi* hot spots, hot stretches, dark roads by risk, proposed lamps.",
    ),
    (
        "posts.html",
        "map",
        "拟建警务室图（规划）",
        "建议新建的警务室及其新覆盖的村庄。",
        "Proposed posts (planners)",
        "Where new posts would go and the villages they newly cover.",
    ),
    (
        "scenario_compare.html",
        "map",
        "方案对比图（规划）",
        "新方案与现状相比，哪些村庄获得或失去覆盖；两方案的等时圈。",
        "Scenario comparison (planners)",
        "Which villages gain or lose coverage against the base; both scenarios' isochrones.",
    ),
    (
        "teams_map.html",
        "map",
        "先锋队派驻图",
        "各先锋队驻地、派驻村庄、需求得分与路线。",
        "Vanguard teams",
        "Team bases, the villages they are sent to, need scores and routes.",
    ),
    (
        "briefings/*.html",
        "briefing",
        "村庄简报图（队长）",
        "派驻村庄的边界、村民小组、道路照明、热点、警情和来路；可打印为 A4。",
        "Village briefing map (team leaders)",
        "Boundary, groups, lit roads, hot spots, incidents and the way in; prints on A4.",
    ),
    (
        "briefings/*.md",
        "briefing",
        "村庄简报",
        "派驻村庄的文字简报。",
        "Village briefing",
        "The village's briefing as text.",
    ),
    (
        "summary.md",
        "report",
        "运行摘要",
        "本次运行的主要数字与未做的分析。",
        "Summary",
        "The run's headline figures and what was skipped.",
    ),
    (
        "coverage.md",
        "report",
        "村庄覆盖",
        "各派出所到各村的行车时间与覆盖率。",
        "Coverage",
        "Travel time from the stations to each village; coverage shares.",
    ),
    (
        "hotspots.md",
        "report",
        "热点与照明报告",
        "热点、无灯道路风险排名与路灯方案。",
        "Hotspots and lighting",
        "Hot spots, dark roads ranked by risk, the lamp plan.",
    ),
    (
        "patrol.md",
        "report",
        "巡逻计划",
        "今晚班次的路线、时间和奖励。",
        "Patrol plan",
        "Tonight's shift: routes, times and prizes.",
    ),
    (
        "teams.md",
        "report",
        "先锋队派驻",
        "派驻方案及原因。",
        "Vanguard teams",
        "The assignment and why.",
    ),
    (
        "scenario_comparison.md",
        "report",
        "方案对比",
        "新方案对各村覆盖的影响。",
        "Scenario comparison",
        "What the proposal changes village by village.",
    ),
    ("*.md", "report", "报告", "", "Report", ""),
    (
        "patrol_shift_sheet.csv",
        "table",
        "巡逻班次表",
        "每车每站：到达时间、停留、检查内容。",
        "Shift sheet",
        "Per unit and stop: arrival, dwell, what to check.",
    ),
    ("*.csv", "table", "表格", "", "Table", ""),
    ("*.xlsx", "table", "表格 (Excel)", "", "Table (Excel)", ""),
    (
        "*.gpx",
        "data",
        "GPX 轨迹",
        "导入手持或车载导航。",
        "GPX track",
        "For handheld and vehicle navigation.",
    ),
    ("*.geojson", "data", "GeoJSON 图层", "可在 GIS 中打开。", "GeoJSON layer", "Opens in a GIS."),
    ("*.json", "data", "JSON 数据", "", "JSON data", ""),
)

_SECTIONS: Final = {
    "map": ("地图", "Maps"),
    "briefing": ("村庄简报", "Village briefings"),
    "report": ("报告", "Reports"),
    "table": ("表格", "Tables"),
    "data": ("数据文件", "Data files"),
}

_CSS: Final = """
body { font: 15px/1.55 system-ui, "Noto Sans CJK SC", "WenQuanYi Zen Hei", "Microsoft YaHei",
       sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; }
td { border-top: 1px solid #ddd; padding: 0.35em 0.6em; vertical-align: top; }
td.file { white-space: nowrap; } .note { color: #555; }
"""


def _describe(name: str, lang: Lang) -> tuple[str, str, str]:
    for pattern, section, zh, zh_for, en, en_for in DESCRIPTIONS:
        if fnmatch(name, pattern):
            return (section, zh, zh_for) if lang == "zh" else (section, en, en_for)
    return ("data", name, "")


def index_html(place: str, files: Iterable[str], *, lang: Lang = "zh", note: str = "") -> str:
    """Return the run's index page: its files by section, maps first, each with its use.

    Parameters
    ----------
    place
        The area's name, for the title.
    files
        The files the run wrote, relative to its folder (``/`` separated).
    lang
        Page language.
    note
        A line under the title (the run's date, say), plain text.
    """
    rows: dict[str, list[str]] = {k: [] for k in _SECTIONS}
    for name in sorted(set(files)):
        if name == "index.html":
            continue
        section, label, what = _describe(name, lang)
        href = escape(name, quote=True)
        rows[section].append(
            f'<tr><td class="file"><a href="{href}">{escape(name)}</a></td>'
            f"<td>{escape(label)}</td><td>{escape(what)}</td></tr>"
        )
    title = page_title("index", place, lang)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
    ]
    if note:
        parts.append(f'<p class="note">{escape(note)}</p>')
    for key, (zh, en) in _SECTIONS.items():
        if rows[key]:
            parts.append(f"<h2>{escape(zh if lang == 'zh' else en)}</h2><table>")
            parts.extend(rows[key])
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
