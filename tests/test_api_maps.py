"""The maps router: HTML pages by role and language, from the map builders."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def _page(r) -> str:
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    assert "<html" in r.text.lower() and "leaflet" in r.text.lower()
    return r.text


def test_overview_for_anyone_signed_in_in_both_languages(api):
    """Every role sees the overview; en and zh pages differ; no token is 401."""
    zh = _page(api.get("/maps/overview", "team_leader"))
    en = _page(api.get("/maps/overview?lang=en", "dispatcher"))
    assert zh != en
    assert api.get("/maps/overview").status_code == 401
    assert api.get("/maps/overview?lang=fr", "planner").status_code == 422


@pytest.mark.parametrize("kind", ["coverage", "hotspots", "posts"])
def test_planner_maps(api, kind):
    """Coverage, hot spots and posts: planners (and admins), not dispatchers or leaders."""
    _page(api.get(f"/maps/{kind}", "planner"))
    for role in ("dispatcher", "team_leader"):
        assert api.get(f"/maps/{kind}", role).status_code == 403


def test_patrol_map_is_the_stored_plans_page(api):
    """A plan's map is served from its stored file, in zh or en; dispatchers only."""
    from service.api.ops.patrol import PatrolRequest, plan_patrol

    plan = plan_patrol(
        api.state, api.users["dispatcher"], PatrolRequest(seconds=1.0, units=1, variants=1)
    )
    zh = _page(api.get(f"/maps/patrol/{plan.id}", "dispatcher"))
    assert zh.encode() == api.state.store.artifact(f"plan:{plan.id}", "patrol_map.html").data
    en = _page(api.get(f"/maps/patrol/{plan.id}?lang=en", "dispatcher"))
    assert "Patrol plan" in en
    assert api.get(f"/maps/patrol/{plan.id}", "planner").status_code == 403
    assert api.get("/maps/patrol/P999", "dispatcher").status_code == 404


def test_briefing_map_prints_on_a4_for_the_own_team_only(api):
    """The leader's page has the A4 print layout; another team's is 403."""
    own = api.users["team_leader"].team
    html = _page(api.get(f"/maps/briefing/{own}?print=1", "team_leader"))
    assert "size: A4" in html
    other = next(t for t in api.state.area.teams["id"].astype(str) if t != own)
    assert api.get(f"/maps/briefing/{other}", "team_leader").status_code == 403
    _page(api.get(f"/maps/briefing/{other}", "planner"))


def test_compare_map(api):
    """Base against base draws; an unknown scenario is 404; planners only."""
    _page(api.get("/maps/compare?a=base&b=base", "planner"))
    assert api.get("/maps/compare?a=base&b=S999", "planner").status_code == 404
    assert api.get("/maps/compare?a=base&b=base", "dispatcher").status_code == 403
    assert api.get("/maps/compare?a=base", "planner").status_code == 422
