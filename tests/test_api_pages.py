"""The pages for people: sign-in, each role's form, the CSRF defence, zh/en.

Each test signs in through the sign-in form with its own TestClient on the session's
app, so the page cookies never reach the shared ``api`` client other tests use.
"""

from __future__ import annotations

import csv
import io
import re
import string
import time
import uuid
from typing import Any

import pytest

pytest.importorskip("fastapi")

from service.api.deps import TOKEN_COOKIE  # noqa: E402
from service.api.pages.text import LANGS, TEXT, Text  # noqa: E402

# Starlette 1.x warns that its TestClient wants httpx2; the tests do not depend on it.
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
GPX_NS = "{http://www.topografix.com/GPX/1/1}"


def _client(api):
    from fastapi.testclient import TestClient

    # The app's lifespan ran already (the api fixture's client): no `with` here.
    return TestClient(api.client.app, follow_redirects=False)


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form token"
    return found.group(1)


def sign_in(api, role: str, *, lang: str | None = None) -> Any:
    """Return a client signed in as ``role``'s test user through the sign-in form."""
    c = _client(api)
    r = c.get("/", params={"lang": lang} if lang else None)
    assert r.status_code == 200, r.text
    r = c.post(
        "/ui/login", data={"name": f"test-{role}", "password": f"pw-{role}", "csrf": _csrf(r.text)}
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/ui"
    return c


@pytest.fixture(scope="module")
def pages(api):
    """One signed-in client per role."""
    return {role: sign_in(api, role) for role in api.ROLES}


# --------------------------------------------------------------------------- the text table


def test_every_string_has_both_languages_with_the_same_fields():
    """No page mixes languages: each key has zh and en, non-empty, with the same {fields}."""
    fields = string.Formatter()
    for key, by_lang in TEXT.items():
        assert set(by_lang) == set(LANGS), key
        assert all(v.strip() for v in by_lang.values()), key
        names = {lang: {f for _, f, _, _ in fields.parse(by_lang[lang]) if f} for lang in LANGS}
        assert names["zh"] == names["en"], key


# --------------------------------------------------------------------------- sign in


def test_sign_in_sets_an_http_only_strict_cookie_holding_a_working_token(api):
    """The form's cookie is HttpOnly and SameSite=Strict and its token is the user's."""
    c = _client(api)
    r = c.get("/")
    r = c.post(
        "/ui/login", data={"name": "test-planner", "password": "pw-planner", "csrf": _csrf(r.text)}
    )
    assert r.status_code == 303 and r.headers["location"] == "/ui"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(TOKEN_COOKIE))
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    token = c.cookies[TOKEN_COOKIE]
    user = api.state.store.user_for_token(token)
    assert user is not None and user.name == "test-planner"
    assert c.get("/").headers["location"] == "/ui"  # signed in: / leads to the page


def test_wrong_password_shows_the_form_again_with_401(api):
    """A wrong password answers 401 with the form and the message, in zh then in en."""
    c = _client(api)
    r = c.get("/")
    r = c.post(
        "/ui/login", data={"name": "test-planner", "password": "nope", "csrf": _csrf(r.text)}
    )
    assert r.status_code == 401
    assert TEXT["wrong_password"]["zh"] in r.text
    assert 'action="/ui/login"' in r.text
    assert TOKEN_COOKIE not in c.cookies
    c.get("/", params={"lang": "en"})
    r = c.post(
        "/ui/login",
        data={"name": "test-planner", "password": "nope", "csrf": _csrf(c.get("/").text)},
    )
    assert r.status_code == 401
    assert TEXT["wrong_password"]["en"] in r.text


def test_sign_in_without_its_form_token_is_refused(api):
    """A sign-in posted without the double-submit token (another site's form) is 403."""
    c = _client(api)
    c.get("/")
    r = c.post("/ui/login", data={"name": "test-planner", "password": "pw-planner", "csrf": "x"})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert TOKEN_COOKIE not in c.cookies


def test_signed_out_pages_answer_the_sign_in_page_with_401(api):
    """/ui without a session is the sign-in form (401, HTML), not JSON."""
    r = _client(api).get("/ui")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("text/html")
    assert TEXT["please_sign_in"]["zh"] in r.text
    bad = _client(api)
    bad.cookies.set(TOKEN_COOKIE, "not-a-token")
    assert bad.get("/ui/patrol").status_code == 401


def test_sign_out_revokes_the_token_and_needs_the_form_token(api):
    """Sign-out without the form token is refused; with it, the token stops working."""
    c = sign_in(api, "planner")
    token = c.cookies[TOKEN_COOKIE]
    assert c.post("/ui/logout", data={"csrf": "wrong"}).status_code == 403
    assert api.state.store.user_for_token(token) is not None
    r = c.post("/ui/logout", data={"csrf": _csrf(c.get("/ui").text)})
    assert r.status_code == 303 and r.headers["location"].startswith("/")
    assert api.state.store.user_for_token(token) is None
    assert TEXT["signed_out"]["zh"] in _client(api).get("/?out=1").text


# --------------------------------------------------------------------------- languages


def test_chinese_by_default_english_on_request_and_remembered(api):
    """/ is zh; ?lang=en switches and the cookie keeps English; the switch link goes back."""
    c = _client(api)
    zh = c.get("/")
    assert '<html lang="zh-CN">' in zh.text
    assert TEXT["sign_in"]["zh"] in zh.text and 'href="/?lang=en"' in zh.text
    en = c.get("/", params={"lang": "en"})
    assert '<html lang="en">' in en.text and ">Sign in<" in en.text
    assert "pingan_lang=en" in en.headers["set-cookie"]
    again = c.get("/")
    assert '<html lang="en">' in again.text and 'href="/?lang=zh"' in again.text
    assert TEXT["sign_in"]["zh"] not in again.text.replace(TEXT["lang_switch"]["en"], "")


def test_a_signed_in_page_switches_language(api):
    """The dispatcher's page in English has English labels and no Chinese form labels."""
    c = sign_in(api, "dispatcher", lang="en")
    r = c.get("/ui")
    assert TEXT["patrol_title"]["en"] in r.text
    assert TEXT["patrol_title"]["zh"] not in r.text
    r = c.get("/ui", params={"lang": "zh"})
    assert TEXT["patrol_title"]["zh"] in r.text


# --------------------------------------------------------------------------- each role


FORMS = {
    "dispatcher": 'action="/ui/patrol"',
    "planner": 'action="/ui/compare"',
    "team_leader": 'src="/ui/team/briefing?',
    "admin": TEXT["admin_title"]["zh"],
}


@pytest.mark.parametrize("role", list(FORMS))
def test_each_role_sees_its_own_task_and_no_other(pages, role):
    """/ui shows the role's main task and none of the others'."""
    r = pages[role].get("/ui")
    assert r.status_code == 200, r.text
    assert FORMS[role] in r.text
    for other, marker in FORMS.items():
        if other != role:
            assert marker not in r.text, other
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert 'action="/ui/logout"' in r.text


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("dispatcher", "/ui/compare"),
        ("dispatcher", "/ui/team"),
        ("planner", "/ui/patrol"),
        ("planner", "/ui/plans/P1"),
        ("team_leader", "/ui/patrol"),
        ("team_leader", "/ui/compare/map?a=base&b=base"),
    ],
)
def test_another_roles_page_is_a_403_page_in_the_users_language(pages, role, url):
    """A page of another role answers 403 as HTML naming the user's role and the need."""
    r = pages[role].get(url)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert TEXT["forbidden_title"]["zh"] in r.text
    assert Text("zh").role(role) in r.text


def test_admin_reaches_every_task_and_lists_users(pages, api):
    """An admin's page lists the users; the other roles' pages open for them."""
    r = pages["admin"].get("/ui")
    for role in api.ROLES:
        assert f"<td>test-{role}</td>" in r.text
    for url in ("/ui/patrol", "/ui/compare", "/ui/team"):
        assert pages["admin"].get(url).status_code == 200, url


def test_pages_are_not_in_the_openapi_schema(api):
    """/ and /ui/... are for people: the API schema does not list them."""
    paths = api.client.get("/openapi.json").json()["paths"]
    assert "/" not in paths
    assert not [p for p in paths if p.startswith("/ui")]


# --------------------------------------------------------------------------- dispatcher


def _wait_for_plan(c: Any, job_url: str, timeout_s: float = 180) -> str:
    t0 = time.monotonic()
    while True:
        r = c.get(job_url)
        if r.status_code == 303:
            return r.headers["location"]
        assert r.status_code == 200, r.text
        assert '<meta http-equiv="refresh"' in r.text, r.text  # not failed
        assert time.monotonic() - t0 < timeout_s
        time.sleep(0.3)


@pytest.fixture(scope="module")
def patrol_plan(pages, api):
    """A plan made from the dispatcher's form (1 s budget): its page's URL and the form."""
    import service.api.routers.pages as mod

    c = pages["dispatcher"]
    form = c.get("/ui").text
    station = re.search(r'<option value="([^"]+)" selected>', form).group(1)
    once = re.search(r'name="once" value="([^"]+)"', form).group(1)
    data = {
        "station": station,
        "units": "2",
        "shift": "night",
        "date": "2024-05-01",
        "csrf": _csrf(form),
        "once": once,
    }
    saved = mod.PATROL_SECONDS
    mod.PATROL_SECONDS = 1.0
    try:
        r = c.post("/ui/patrol", data=data)
        assert r.status_code == 303, r.text
        job_url = r.headers["location"]
        # The same form sent again (a reload) is the same job.
        assert c.post("/ui/patrol", data=data).headers["location"] == job_url
        plan_url = _wait_for_plan(c, job_url)
    finally:
        mod.PATROL_SECONDS = saved
    return plan_url, station


def test_dispatcher_form_plans_and_links_a_gpx_that_parses(pages, patrol_plan, api):
    """The result page links the map, CSV and GPX; the GPX parses with one track per unit."""
    from lxml import etree

    c = pages["dispatcher"]
    plan_url, station = patrol_plan
    page = c.get(plan_url)
    assert page.status_code == 200, page.text
    plan_id = plan_url.rsplit("/", 1)[1]
    files = f"/ui/plans/{plan_id}/files"
    assert f'src="{files}/patrol_map.html"' in page.text
    assert f'href="{files}/patrol.gpx"' in page.text
    gpx = c.get(f"{files}/patrol.gpx")
    assert gpx.status_code == 200
    assert "attachment" in gpx.headers["content-disposition"]
    root = etree.fromstring(gpx.content)
    assert root.tag == f"{GPX_NS}gpx"
    plan = api.state.store.get_plan(plan_id)
    assert plan.summary["stations"] == [station]
    assert plan.summary["request"]["units"] == 2
    tracks = root.findall(f"{GPX_NS}trk")
    assert 1 <= len(tracks) <= 2
    assert all(t.findall(f".//{GPX_NS}trkpt") for t in tracks)
    audit = api.state.store.audit_log(limit=20)
    assert any(
        e.action == "plan.export" and e.target == f"plan:{plan_id}/patrol.gpx" for e in audit
    )


def test_shift_sheet_table_is_the_stored_csv(pages, patrol_plan, api):
    """The page's shift sheet has the CSV download's rows, in order."""
    c = pages["dispatcher"]
    plan_url, _ = patrol_plan
    plan_id = plan_url.rsplit("/", 1)[1]
    rows = list(
        csv.DictReader(io.StringIO(c.get(f"/ui/plans/{plan_id}/files/patrol_shift_sheet.csv").text))
    )
    assert rows
    html = c.get(plan_url).text
    sheet = html.split(TEXT["shift_sheet"]["zh"] + "</h2>", 1)[1]
    body_rows = re.findall(r"<tr><td>(.*?)</td><td class=\"num\">(\d+)</td>", sheet)
    assert body_rows == [(r["unit"], r["stop"]) for r in rows]


def test_patrol_map_page_is_served_self_contained(pages, patrol_plan):
    """The map in the result page is the stored offline page, with a no-network CSP."""
    c = pages["dispatcher"]
    plan_id = patrol_plan[0].rsplit("/", 1)[1]
    r = c.get(f"/ui/plans/{plan_id}/files/patrol_map.html")
    assert r.status_code == 200 and "L.map(" in r.text
    assert "connect-src" not in r.headers["content-security-policy"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert c.get(f"/ui/plans/{plan_id}/files/..%2Fsecret").status_code in (403, 404, 422)
    assert c.get(f"/ui/plans/{plan_id}/files/nope.gpx").status_code == 404


def test_patrol_post_without_the_form_token_is_refused(pages, api):
    """A patrol form without this session's token (CSRF) is 403 and starts no job."""
    c = pages["dispatcher"]
    before = len(api.state.store.list_jobs())
    data = {"station": "PS-01", "units": "1", "shift": "night", "date": "2024-05-01"}
    assert c.post("/ui/patrol", data={**data, "csrf": "forged"}).status_code == 403
    assert c.post("/ui/patrol", data=data).status_code == 422  # no token at all
    other = pages["planner"]  # another session's token is not this one's
    assert (
        c.post("/ui/patrol", data={**data, "csrf": _csrf(other.get("/ui").text)}).status_code == 403
    )
    assert len(api.state.store.list_jobs()) == before


def test_patrol_form_errors_are_pages_naming_the_field(pages):
    """A wrong shift or date answers a 422 page saying which field is wrong."""
    c = pages["dispatcher"]
    token = _csrf(c.get("/ui").text)
    data = {"station": "PS-01", "units": "1", "shift": "lunch", "date": "2024-05-01", "csrf": token}
    r = c.post("/ui/patrol", data=data)
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "shift" in r.text
    r = c.post("/ui/patrol", data={**data, "shift": "night", "date": "2024-13-40"})
    assert r.status_code == 422 and "date" in r.text


def test_a_job_of_another_user_is_not_shown(pages, patrol_plan, api):
    """The admin sees the dispatcher's job; nobody else's page shows it."""
    jobs = [j for j in api.state.store.list_jobs() if j.created_by == api.users["dispatcher"].id]
    assert jobs
    url = f"/ui/jobs/{jobs[0].id}"
    assert pages["admin"].get(url).status_code == 303
    second = api.state.store.create_user(f"disp-{uuid.uuid4().hex[:6]}", "dispatcher", "pw-other1")
    c = _client(api)
    c.cookies.set(TOKEN_COOKIE, api.state.store.issue_token(second.id))
    assert c.get(url).status_code == 404


# --------------------------------------------------------------------------- team leader


def test_team_leader_sees_only_their_village(pages, api):
    """The leader's page names their team's village; another team's page is 403."""
    from service.api.ops.teams import team_ids, team_village

    state = api.state
    team = api.users["team_leader"].team
    code = team_village(state, team)
    v = state.area.villages
    name = str(v.loc[v["code"].astype(str) == code, "name"].iloc[0])
    c = pages["team_leader"]
    page = c.get("/ui").text
    assert f"{name}（{code}）" in page
    others = [t for t in team_ids(state) if t != team]
    for t in others:
        assert team_village(state, t) == code or f"（{team_village(state, t)}）" not in page
    assert c.get("/ui/team", params={"team": others[0]}).status_code == 403
    assert c.get("/ui/team/briefing", params={"team": others[0]}).status_code == 403
    briefing = c.get("/ui/team/briefing")
    assert briefing.status_code == 200 and "L.map(" in briefing.text
    assert name in briefing.text
    assert any(e.action == "briefing.export" for e in state.store.audit_log(limit=10))


# --------------------------------------------------------------------------- planner


@pytest.fixture(scope="module")
def far_post_scenario(api):
    """A stored scenario adding a post at the village farthest from every station."""
    import numpy as np

    area = api.state.area
    v, st = area.villages, area.stations
    vx, vy = v.geometry.x.to_numpy(), v.geometry.y.to_numpy()
    d = np.hypot(vx[:, None] - st.geometry.x.to_numpy(), vy[:, None] - st.geometry.y.to_numpy())
    far = int(d.min(axis=1).argmax())
    row = v.iloc[far]
    data = {
        "name": "far post",
        "edits": [
            {
                "op": "add_station",
                "id": "P-FAR",
                "name": "远村警务室",
                "kind": "post",
                "lon": float(row["lon"]),
                "lat": float(row["lat"]),
            }
        ],
    }
    rec = api.state.store.put_scenario(
        f"far-post-{uuid.uuid4().hex[:6]}", data, user_id=api.users["planner"].id
    )
    return rec, str(row["code"]), str(row["name"])


def test_planner_comparison_shows_the_changed_villages_table(pages, api, far_post_scenario):
    """The table lists exactly the villages whose cover changes, the far one gained."""
    from service.api.ops.scenarios import compare_records

    rec, code, name = far_post_scenario
    c = pages["planner"]
    form = c.get("/ui").text
    assert f'<option value="{rec.id}"' in form and '<option value="base"' in form
    r = c.get("/ui/compare", params={"a": "base", "b": rec.id})
    assert r.status_code == 200, r.text
    cmp = compare_records(api.state, "base", rec.id)
    cols = [c_ for c_ in cmp.villages.columns if c_.startswith("change_")]
    changed = cmp.villages[(cmp.villages[cols] != "same").any(axis=1)]
    assert len(changed) > 0
    assert TEXT["changed_villages"]["zh"].format(n=len(changed)) in r.text
    listing = r.text.split(TEXT["changed_villages"]["zh"].format(n=len(changed)), 1)[1]
    assert listing.count("<tr><td>") == len(changed)
    assert f"<tr><td>{code}</td><td>{name}</td>" in listing
    assert 'class="gained"' in listing and 'class="lost"' not in listing
    src = re.search(r'<iframe class="map" title="[^"]+" src="([^"]+)"', r.text).group(1)
    m = c.get(src.replace("&amp;", "&"))
    assert m.status_code == 200 and "L.map(" in m.text


def test_planner_comparison_of_an_unknown_scenario_is_a_404_page(pages):
    """A scenario id that does not exist answers 404 as a page."""
    r = pages["planner"].get("/ui/compare", params={"a": "base", "b": "S999999"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert TEXT["error_title"]["zh"] in r.text
