"""The pages in a real browser against a real server: sign in, do each role's task, see the map.

``pingan serve`` runs in a subprocess on 127.0.0.1 (a free port, a fresh data folder:
the sample district and its first users), and headless Chromium (tests/browser.py's
session browser) drives it with every request off the loopback server blocked. Each
role signs in through the form, does its main task, and the result page's map must
render (Leaflet's container with vector features) with no script error; a screenshot
of each page is saved in the test's temporary folder.
"""

from __future__ import annotations

import csv
import json
import math
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

# The same module object as the map tests import: one Playwright per session.
import browser
import pytest
from browser import needs_browser

pytest.importorskip("fastapi")

pytestmark = [needs_browser, pytest.mark.slow]

#: Long enough for the first start (sample, network) and a 10 s patrol plan on 2 cores.
PLAN_TIMEOUT_MS = 150_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A running ``pingan serve`` on the sample, and a stored scenario for the planner."""
    from benchmarks.service_load import serve_local, sign_in

    data = tmp_path_factory.mktemp("served")
    with serve_local(data) as srv:
        users = srv.users()
        token = sign_in(srv.url, *users["planner"])
        body = json.dumps({"name": "far post", "edits": [_far_post(data / "sample")]}).encode()
        req = urllib.request.Request(
            f"{srv.url}/scenarios",
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status == 201
        yield srv


def _far_post(sample: Path) -> dict[str, Any]:
    """An add_station edit at the village farthest from every station (it gains cover)."""
    with (sample / "villages.csv").open(encoding="utf-8") as fh:
        villages = [(float(r["lon"]), float(r["lat"])) for r in csv.DictReader(fh)]
    stations = [
        tuple(f["geometry"]["coordinates"][:2])
        for f in json.loads((sample / "stations.geojson").read_text(encoding="utf-8"))["features"]
    ]
    k = math.cos(math.radians(villages[0][1]))

    def gap(v: tuple[float, float]) -> float:
        return min(math.hypot((v[0] - s[0]) * k, v[1] - s[1]) for s in stations)

    lon, lat = max(villages, key=gap)
    return {"op": "add_station", "id": "P-FAR", "name": "远村警务室", "kind": "post",
            "lon": lon, "lat": lat}  # fmt: skip


@pytest.fixture(scope="module")
def chromium():
    """tests/browser.py's Chromium, launched again with the loopback address resolvable.

    The session browser maps every host to "not found", IP literals included; this one
    excepts 127.0.0.1 alone. It reuses the session's Playwright (one per thread).
    """

    browser._browser()  # starts the session's Playwright (or skips, saying why)
    args = [a for a in browser._LAUNCH_ARGS if not a.startswith("--host-resolver-rules")]
    args.append("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    launched = browser._session["playwright"].chromium.launch(
        executable_path=str(browser.CHROMIUM), args=args
    )
    yield launched
    launched.close()


@pytest.fixture
def page(server, chromium):
    """A fresh browser page that may reach only the server (everything else is blocked)."""
    context = chromium.new_context(
        viewport={"width": 1300, "height": 1000}, locale="zh-CN", service_workers="block"
    )
    blocked: list[str] = []
    errors: list[str] = []
    origin = server.url + "/"

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith((origin, "data:", "blob:", "about:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort("blockedbyclient")

    context.route("**/*", route)
    p = context.new_page()
    p.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    p.blocked = blocked  # type: ignore[attr-defined]
    p.errors = errors  # type: ignore[attr-defined]
    yield p
    context.close()


def _sign_in(page: Any, server: Any, role: str, *, lang: str | None = None) -> None:
    name, password = server.users()[role]
    page.goto(server.url + ("/?lang=" + lang if lang else "/"))
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/ui", timeout=60_000)


def _map_in_frame(page: Any, part: str) -> dict[str, int]:
    """Wait for the Leaflet map of the iframe whose URL has ``part``; count what it drew."""
    page.wait_for_selector("iframe.map")
    frame = next(f for f in page.frames if part in f.url)
    frame.wait_for_selector(".leaflet-container", timeout=120_000)
    frame.wait_for_function(
        "document.querySelectorAll('.leaflet-map-pane svg path').length > 0", timeout=60_000
    )
    counts: dict[str, int] = frame.evaluate(
        """() => ({
            paths: document.querySelectorAll('.leaflet-map-pane svg path').length,
            markers: document.querySelectorAll('.leaflet-marker-icon').length,
            tiles: document.querySelectorAll('.leaflet-tile').length,
        })"""
    )
    return counts


def _clean(page: Any, *, answered_401: bool = False) -> None:
    """No request left the server, no script failed (a 401 page may be logged, if meant)."""
    assert page.blocked == [], page.blocked
    errors = [e for e in page.errors if not (answered_401 and "status of 401" in e)]
    assert errors == [], errors


def _shot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def test_dispatcher_plans_a_shift_and_sees_map_sheet_and_downloads(page, server, tmp_path):
    """Post the patrol form, wait for the plan: map drawn, shift sheet, a GPX that parses."""
    from lxml import etree

    _sign_in(page, server, "dispatcher")
    assert page.locator("select[name=station] option").count() >= 1
    page.fill("input[name=units]", "2")
    page.select_option("select[name=shift]", "night")
    page.click("form[action='/ui/patrol'] button[type=submit]")
    page.wait_for_url("**/ui/plans/*", timeout=PLAN_TIMEOUT_MS)
    counts = _map_in_frame(page, "patrol_map")
    assert counts["paths"] > 0 and counts["markers"] > 0
    assert counts["tiles"] == 0  # the area's own vector base: no tile server
    assert page.locator("table tbody tr").count() >= 2  # a unit leaves and comes back
    _shot(page, tmp_path, "dispatcher-plan")
    with page.expect_download() as dl:
        page.click("a[href$='/patrol.gpx']")
    gpx = tmp_path / "patrol.gpx"
    dl.value.save_as(gpx)
    root = etree.parse(str(gpx)).getroot()
    assert root.tag.endswith("}gpx") and root.findall("{*}trk")
    href = page.locator("a[href$='/patrol.gpx']").get_attribute("href")
    with pytest.raises(urllib.error.HTTPError) as no_cookie:
        urllib.request.urlopen(server.url + href, timeout=30)
    no_cookie.value.close()  # the error holds the open response
    assert no_cookie.value.code == 401  # the file is not public
    _clean(page)


def test_team_leader_sees_their_briefing_map(page, server, tmp_path):
    """The leader's page embeds their village's briefing map, drawn; the print link is it."""
    _sign_in(page, server, "team_leader")
    counts = _map_in_frame(page, "/ui/team/briefing")
    assert counts["paths"] > 0
    text = page.inner_text("main")
    assert "驻村：" in text and "队伍：" in text
    src = page.get_attribute("iframe.map", "src")
    assert page.get_attribute("a[target=_blank]", "href") == src
    _shot(page, tmp_path, "team-leader")
    _clean(page)


def test_planner_compares_in_english_and_sees_gains(page, server, tmp_path):
    """In English: pick base and the stored scenario; the table lists gains, the map draws."""
    _sign_in(page, server, "planner", lang="en")
    assert page.locator("html").get_attribute("lang") == "en"
    page.select_option("select[name=a]", "base")
    page.click("form[action='/ui/compare'] button[type=submit]")
    page.wait_for_url("**/ui/compare?*", timeout=120_000)
    assert "far post" in page.inner_text("select[name=b]")
    counts = _map_in_frame(page, "/ui/compare/map")
    assert counts["paths"] > 0
    assert page.locator("td.gained").count() >= 1
    assert "Villages whose cover changes" in page.inner_text("main")
    _shot(page, tmp_path, "planner-compare")
    _clean(page)


def test_admin_sees_users_and_signs_out(page, server, tmp_path):
    """The admin's page lists the first users; signing out ends the session."""
    _sign_in(page, server, "admin")
    cells = page.locator("table td").all_inner_texts()
    for name, _ in server.users().values():
        assert name in cells
    _shot(page, tmp_path, "admin")
    page.click("form[action='/ui/logout'] button")
    page.wait_for_url(server.url + "/?out=1")
    assert page.locator("p.note").count() == 1
    response = page.goto(server.url + "/ui")
    assert response is not None and response.status == 401
    _clean(page, answered_401=True)


def test_wrong_password_shows_the_message(page, server, tmp_path):
    """A wrong password shows the form again with the message (zh)."""
    page.goto(server.url + "/")
    page.fill("input[name=name]", "dispatcher")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    page.wait_for_selector("p.message")
    assert "用户名或密码错误" in page.inner_text("p.message")
    _shot(page, tmp_path, "sign-in-wrong")
    _clean(page, answered_401=True)
