"""Every string the pages show, in Chinese (the default) and English, from one table.

A page asks ``Text(lang)("key", name=...)`` for its words; a key missing from either
language is a test failure (tests/test_api_pages.py), so no page mixes languages.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["LANGS", "TEXT", "Lang", "Text", "other"]

Lang = Literal["zh", "en"]
LANGS: Final[tuple[Lang, ...]] = ("zh", "en")

TEXT: Final[dict[str, dict[Lang, str]]] = {
    "app": {"zh": "平安 · 警务规划", "en": "pingan · police planning"},
    "lang_switch": {"zh": "English", "en": "中文"},
    "sign_in": {"zh": "登录", "en": "Sign in"},
    "name": {"zh": "用户名", "en": "Name"},
    "password": {"zh": "密码", "en": "Password"},
    "wrong_password": {
        "zh": "用户名或密码错误，请重新输入。",
        "en": "Wrong name or password: please try again.",
    },
    "please_sign_in": {"zh": "请先登录。", "en": "Please sign in first."},
    "signed_out": {"zh": "已退出登录。", "en": "You are signed out."},
    "sign_out": {"zh": "退出登录", "en": "Sign out"},
    "signed_in_as": {"zh": "{name}（{role}）", "en": "{name} ({role})"},
    "role_admin": {"zh": "管理员", "en": "admin"},
    "role_dispatcher": {"zh": "调度员", "en": "dispatcher"},
    "role_team_leader": {"zh": "先锋队队长", "en": "team leader"},
    "role_planner": {"zh": "规划员", "en": "planner"},
    "home": {"zh": "首页", "en": "Home"},
    "back": {"zh": "返回", "en": "Back"},
    # dispatcher
    "patrol_title": {"zh": "巡逻排班", "en": "Plan a patrol shift"},
    "patrol_intro": {
        "zh": "选择出发的派出所、警组数和班次，生成巡逻路线、地图和排班表。",
        "en": "Pick the station, the units and the shift: the routes, map and shift sheet follow.",
    },
    "station": {"zh": "出发派出所", "en": "Station"},
    "units": {"zh": "警组数", "en": "Units"},
    "shift": {"zh": "班次", "en": "Shift"},
    "shift_night": {"zh": "夜班 20:00–02:00", "en": "Night 20:00–02:00"},
    "shift_evening": {"zh": "晚班 17:00–22:00", "en": "Evening 17:00–22:00"},
    "shift_day": {"zh": "白班 08:00–17:00", "en": "Day 08:00–17:00"},
    "date": {"zh": "日期", "en": "Date"},
    "plan_button": {"zh": "生成巡逻方案", "en": "Plan the patrol"},
    "recent_plans": {"zh": "最近的巡逻方案", "en": "Recent patrol plans"},
    "no_plans": {"zh": "还没有巡逻方案。", "en": "No patrol plans yet."},
    "job_title": {"zh": "正在生成巡逻方案", "en": "Planning the patrol"},
    "job_progress": {
        "zh": "已完成 {pct}%：{message}。页面每两秒自动刷新。",
        "en": "{pct}% done: {message}. This page refreshes every two seconds.",
    },
    "job_failed": {"zh": "方案生成失败：{error}", "en": "The plan failed: {error}"},
    "job_cancelled": {"zh": "已取消。", "en": "Cancelled."},
    "cancel": {"zh": "取消", "en": "Cancel"},
    "plan_title": {"zh": "巡逻方案 {id}", "en": "Patrol plan {id}"},
    "plan_facts": {
        "zh": "{date} {shift}，{stations} 出发，{units} 个警组，{targets} 个巡逻目标。",
        "en": "{date} {shift}, from {stations}, {units} unit(s), {targets} patrol target(s).",
    },
    "patrol_map": {"zh": "巡逻地图", "en": "Patrol map"},
    "open_map": {"zh": "在新窗口打开地图", "en": "Open the map in a new window"},
    "shift_sheet": {"zh": "排班表", "en": "Shift sheet"},
    "download_csv": {"zh": "下载排班表（CSV）", "en": "Download the shift sheet (CSV)"},
    "download_gpx": {"zh": "下载 GPX 航迹", "en": "Download the GPX tracks"},
    "col_unit": {"zh": "警组", "en": "Unit"},
    "col_stop": {"zh": "序号", "en": "Stop"},
    "col_eta": {"zh": "到达", "en": "Arrive"},
    "col_day": {"zh": "日", "en": "Day"},
    "col_depart": {"zh": "离开", "en": "Leave"},
    "col_dwell_min": {"zh": "停留（分）", "en": "Stay (min)"},
    "col_wait_min": {"zh": "等候（分）", "en": "Wait (min)"},
    "col_break_min": {"zh": "用餐（分）", "en": "Meal (min)"},
    "col_kind": {"zh": "类型", "en": "Kind"},
    "col_name": {"zh": "名称", "en": "Name"},
    "col_village": {"zh": "村", "en": "Village"},
    "col_lat": {"zh": "纬度", "en": "Latitude"},
    "col_lon": {"zh": "经度", "en": "Longitude"},
    "col_check": {"zh": "任务", "en": "What to do"},
    "kind_station": {"zh": "派出所", "en": "station"},
    "kind_hotspot": {"zh": "警情热点", "en": "hot spot"},
    "kind_road": {"zh": "无灯道路", "en": "dark road"},
    "kind_village": {"zh": "村", "en": "village"},
    # team leader
    "briefing_title": {"zh": "驻村简报", "en": "Village briefing"},
    "your_team": {"zh": "队伍：{team}", "en": "Team: {team}"},
    "your_village": {
        "zh": "驻村：{village}（{code}），{township}",
        "en": "Village: {village} ({code}), {township}",
    },
    "printable": {"zh": "打印版（A4）", "en": "Printable version (A4)"},
    "no_team": {
        "zh": "你的账号没有所属队伍，请联系管理员。",
        "en": "Your account has no team: ask an admin.",
    },
    "pick_team": {"zh": "队伍", "en": "Team"},
    "show": {"zh": "查看", "en": "Show"},
    # planner
    "compare_title": {"zh": "方案比较", "en": "Compare scenarios"},
    "compare_intro": {
        "zh": "选择两个方案，查看哪些村获得或失去警力覆盖。",
        "en": "Pick two scenarios to see which villages gain or lose cover.",
    },
    "scenario_a": {"zh": "方案 A（对照）", "en": "Scenario A (reference)"},
    "scenario_b": {"zh": "方案 B", "en": "Scenario B"},
    "base": {"zh": "现状", "en": "As it is"},
    "by": {"zh": "按", "en": "By"},
    "by_stations": {"zh": "派出所和警务室", "en": "stations and posts"},
    "by_teams": {"zh": "先锋队", "en": "vanguard teams"},
    "compare_button": {"zh": "比较", "en": "Compare"},
    "compare_map": {"zh": "比较地图", "en": "Comparison map"},
    "compare_summary": {"zh": "覆盖汇总", "en": "Cover in short"},
    "within": {"zh": "{t} 分钟内", "en": "within {t} min"},
    "covered_a": {"zh": "A 覆盖村数", "en": "Covered in A"},
    "covered_b": {"zh": "B 覆盖村数", "en": "Covered in B"},
    "gained": {"zh": "新覆盖", "en": "gained"},
    "lost": {"zh": "失去覆盖", "en": "lost"},
    "same": {"zh": "—", "en": "—"},
    "changed_villages": {
        "zh": "覆盖有变化的村（{n} 个）",
        "en": "Villages whose cover changes ({n})",
    },
    "no_change": {
        "zh": "两个方案下各村的覆盖相同。",
        "en": "Every village has the same cover in both scenarios.",
    },
    "col_code": {"zh": "代码", "en": "Code"},
    "col_township": {"zh": "乡镇", "en": "Township"},
    "col_where": {"zh": "位置（纬度, 经度）", "en": "Where (lat, lon)"},
    "col_minutes_a": {"zh": "A 用时（分）", "en": "A (min)"},
    "col_minutes_b": {"zh": "B 用时（分）", "en": "B (min)"},
    "col_delta": {"zh": "变化（分）", "en": "Change (min)"},
    "no_scenarios": {
        "zh": "还没有保存的方案：可通过 /scenarios 接口创建。",
        "en": "No stored scenarios yet: create them through /scenarios.",
    },
    # admin
    "admin_title": {"zh": "系统管理", "en": "Administration"},
    "users": {"zh": "用户", "en": "Users"},
    "layers": {"zh": "图层", "en": "Layers"},
    "col_role": {"zh": "角色", "en": "Role"},
    "col_team": {"zh": "队伍", "en": "Team"},
    "col_created": {"zh": "创建时间", "en": "Created"},
    "col_features": {"zh": "要素数", "en": "Features"},
    "col_source": {"zh": "来源文件", "en": "Source file"},
    "no_layers": {"zh": "还没有上传的图层。", "en": "No layers uploaded yet."},
    "admin_tasks": {"zh": "其他页面", "en": "Other pages"},
    "api_docs": {"zh": "接口文档（OpenAPI）", "en": "API documentation (OpenAPI)"},
    # errors
    "error_title": {"zh": "出错了", "en": "Something is wrong"},
    "forbidden_title": {"zh": "无权访问", "en": "Not allowed"},
    "forbidden": {
        "zh": "{name} 的角色是{role}，此页面需要{need}。",
        "en": "{name} is a {role}; this page needs a {need}.",
    },
    "or": {"zh": "或", "en": " or "},
    "not_found": {"zh": "没有找到：{what}", "en": "Not found: {what}"},
    "invalid": {"zh": "输入有误：{what}", "en": "Something entered is wrong: {what}"},
    "conflict": {
        "zh": "与已保存的内容冲突：{what}",
        "en": "It clashes with what is stored: {what}",
    },
    "csrf": {
        "zh": "表单已过期或来源不明，请返回页面重新提交。",
        "en": "The form is stale or came from elsewhere: go back and send it again.",
    },
}


def other(lang: Lang) -> Lang:
    """Return the language a page's switch link offers."""
    return "en" if lang == "zh" else "zh"


class Text:
    """The strings of one language: ``Text("en")("plan_title", id="P1")``."""

    def __init__(self, lang: Lang) -> None:
        self.lang: Lang = lang

    def __call__(self, key: str, **values: object) -> str:
        """Return the string ``key``, its ``{fields}`` filled with ``values``."""
        s = TEXT[key][self.lang]
        return s.format(**values) if values else s

    def role(self, role: str) -> str:
        """Return the name of a role."""
        return self(f"role_{role}")
