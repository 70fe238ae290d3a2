"""Maps as HTML pages (zh by default, ``?lang=en``), drawn by the map builders.

Every page is the one the CLI writes (:mod:`service.map_options`, :mod:`service.run`,
:mod:`service.night`, :mod:`service.teams`), self-contained and offline. Pages of the
area as loaded are drawn once per language; a patrol plan's maps are its stored files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse

from service.api.deps import AppState, Dispatcher, Planner, SignedIn, StateDep
from service.api.errors import responses
from service.api.ops import scenarios as scen_ops
from service.api.ops import teams as team_ops
from service.api.ops.patrol import map_settings
from service.api.routers.teams import own_team
from service.map_options import MapSettings
from service.output import Output
from service.store.base import NotFound

router = APIRouter(prefix="/maps", tags=["maps"])

Lang = Annotated[Literal["zh", "en"], Query(description="the page's language")]
_HTML: dict[int | str, dict[str, Any]] = {
    200: {"description": "The map page (HTML, opens offline).", "content": {"text/html": {}}}
}


def _doc(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {**_HTML, **responses(*codes)}


def _drawn(
    state: AppState, kind: str, lang: str, draw: Callable[[Output, MapSettings], FsPath]
) -> str:
    """Draw a page of the area once per language (memoised) and return its HTML."""
    # AppState.memo holds one lock while it computes: the settings (memoised too) first.
    settings = map_settings(state, lang)

    def make() -> str:
        with tempfile.TemporaryDirectory(prefix=f"pingan-{kind}-") as tmp:
            return FsPath(draw(Output(tmp), settings)).read_text(encoding="utf-8")

    return state.memo(f"maps.{kind}:{lang}", make)


@router.get(
    "/overview",
    response_class=HTMLResponse,
    responses=_doc(401, 422),
    summary="The area: roads, villages, stations, team bases",
)
def overview(user: SignedIn, state: StateDep, lang: Lang = "zh") -> HTMLResponse:
    """Return the overview map any signed-in user may see."""
    from service.map_cli import write_overview_map

    html = _drawn(state, "overview", lang, lambda out, s: write_overview_map(out, state.area, s))
    return HTMLResponse(html)


@router.get(
    "/coverage",
    response_class=HTMLResponse,
    responses=_doc(401, 403, 422),
    summary="Villages by travel time from the stations, over their isochrones",
)
def coverage(user: Planner, state: StateDep, lang: Lang = "zh") -> HTMLResponse:
    """Return the coverage map, as ``pingan coverage --map`` draws it."""
    from geo.coverage import village_coverage
    from service.map_options import write_coverage_map

    area = state.area

    def draw(out: Output, s: MapSettings) -> FsPath:
        cov = village_coverage(area.engine(), area.require("villages"), area.require("stations"))
        return FsPath(write_coverage_map(out, area, cov, s))

    return HTMLResponse(_drawn(state, "coverage", lang, draw))


@router.get(
    "/hotspots",
    response_class=HTMLResponse,
    responses=_doc(401, 403, 422),
    summary="Night hot spots, dark-road risk and proposed lamps",
)
def hotspots(user: Planner, state: StateDep, lang: Lang = "zh") -> HTMLResponse:
    """Return the night-safety map, as ``pingan hotspots`` / the main job draw it."""
    from service.map_options import credit
    from service.night import write_night_outputs

    area = state.area
    night = team_ops.night_report(state)

    def draw(out: Output, s: MapSettings) -> FsPath:
        write_night_outputs(
            out, night, area, lang=s.lang, attribution=credit(area, s.lang), base=s.base
        )
        return out.path("hotspots.html")

    return HTMLResponse(_drawn(state, "hotspots", lang, draw))


@router.get(
    "/posts",
    response_class=HTMLResponse,
    responses=_doc(401, 403, 422),
    summary="Two proposed new posts and the villages they bring within 15 minutes",
)
def posts(user: Planner, state: StateDep, lang: Lang = "zh") -> HTMLResponse:
    """Return the posts map of the main job (two posts, 15 minutes)."""
    from service.run import write_posts

    def draw(out: Output, s: MapSettings) -> FsPath:
        write_posts(state.area, out, {}, s, lambda _msg: None)
        return out.path("posts.html")

    return HTMLResponse(_drawn(state, "posts", lang, draw))


@router.get(
    "/patrol/{plan_id}",
    response_class=HTMLResponse,
    responses=_doc(401, 403, 404, 422),
    summary="A stored patrol plan's map: every variant's routes and stops",
)
def patrol(
    plan_id: Annotated[str, Path(min_length=1, max_length=40)],
    user: Dispatcher,
    state: StateDep,
    lang: Lang = "zh",
) -> HTMLResponse:
    """Return the map stored with the plan in ``lang``."""
    plan = state.store.get_plan(plan_id)
    if plan.kind != "patrol":
        msg = f"no patrol plan {plan_id} (it is a {plan.kind} plan)"
        raise NotFound(msg)
    name = "patrol_map.html" if lang == "zh" else "patrol_map.en.html"
    art = state.store.artifact(f"plan:{plan.id}", name)
    return HTMLResponse(art.data.decode("utf-8"))


@router.get(
    "/briefing/{team}",
    response_class=HTMLResponse,
    responses=_doc(401, 403, 404, 422),
    summary="A team's village briefing map; it prints on one A4 page",
)
def briefing(
    team: Annotated[str, Depends(own_team)],
    state: StateDep,
    lang: Lang = "zh",
    print_: Annotated[
        bool,
        Query(
            alias="print",
            description="the printable page: the same page, which already prints on one "
            "A4 sheet (title, date, legend, scale, north arrow)",
        ),
    ] = False,
) -> HTMLResponse:
    """Return the briefing map of the team's village (its leader's, or any for a planner)."""
    return HTMLResponse(team_ops.briefing_html(state, team, lang))


@router.get(
    "/compare",
    response_class=HTMLResponse,
    responses=_doc(401, 403, 404, 422),
    summary="Two scenarios compared: villages gained and lost, both isochrones",
)
def compare(
    user: Planner,
    state: StateDep,
    a: Annotated[str, Query(min_length=1, max_length=40, description='an id or "base"')],
    b: Annotated[str, Query(min_length=1, max_length=40, description='an id or "base"')],
    by: Annotated[Literal["stations", "teams"], Query()] = "stations",
    lang: Lang = "zh",
) -> HTMLResponse:
    """Return the comparison map of scenario ``b`` against ``a``."""
    return HTMLResponse(scen_ops.compare_map_html(state, a, b, by, lang))
