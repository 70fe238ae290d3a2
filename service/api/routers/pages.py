"""Pages for people: sign in at ``/``, then each role's main task as a form under ``/ui``.

Chinese by default, English with ``?lang=en`` (kept in a cookie). The pages call the
same operations as the JSON API (:mod:`service.api.ops`), so a patrol planned from the
dispatcher's form is the plan ``POST /patrol/plans`` makes; they only parse forms and
render HTML. Nothing here is in the OpenAPI schema, and errors answer as pages in the
user's language, not JSON.

The session is the bearer token in an HttpOnly, SameSite=Strict cookie; every form
that changes something also carries a token derived from the session (and the sign-in
form a double-submit token), so another site cannot post on a signed-in user's behalf.
"""

from __future__ import annotations

import csv
import datetime as dt
import hmac
import io
import math
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlencode, urlsplit

import pydantic
from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from geo.errors import PinganError
from service.api.deps import TOKEN_COOKIE, AppState, StateDep
from service.api.errors import ApiError
from service.api.pages.render import (
    CSP,
    MAP_CSP,
    STYLE,
    esc,
    form_token,
    frame,
    hidden,
    options,
    table,
)
from service.api.pages.text import LANGS, Lang, Text, other
from service.patrol_files import SHEET_COLUMNS
from service.store.base import Conflict, NotFound, PlanRecord, User

__all__ = ["PATROL_SECONDS", "router"]

#: The solver budget of a plan made from the dispatcher's form: the page waits for it.
PATROL_SECONDS: float = 10.0
#: The language a visitor chose with ``?lang=``.
LANG_COOKIE: Final = "pingan_lang"
#: The sign-in form's double-submit token (there is no session to derive one from yet).
LOGIN_COOKIE: Final = "pingan_login"
_FILE_NAME: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
_ID: Final = r"^[A-Za-z0-9_-]{1,40}$"


# --------------------------------------------------------------------------- errors as pages


class PageError(Exception):
    """A page's 4xx answer: the status and the text key (with its values) to show."""

    def __init__(self, status: int, key: str, **values: object) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.values = values


def _lang(request: Request) -> Lang:
    q = request.query_params.get("lang")
    for lang in LANGS:
        if q == lang:
            return lang
    c = request.cookies.get(LANG_COOKIE)
    for lang in LANGS:
        if c == lang:
            return lang
    return "zh"


def _switch_href(request: Request, lang: Lang) -> str:
    # A POST's page (a wrong password) switches to the page the form was on.
    path = request.url.path if request.method == "GET" else "/"
    query = dict(request.query_params) if request.method == "GET" else {}
    query["lang"] = other(lang)
    return f"{path}?{urlencode(query)}"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _html(request: Request, html: str, status: int = 200, *, csp: str = CSP) -> HTMLResponse:
    """Return a page with the headers every page has, remembering a ``?lang=`` choice."""
    r = HTMLResponse(html, status_code=status)
    r.headers["Content-Security-Policy"] = csp
    r.headers["Cache-Control"] = "no-store"
    r.headers["Referrer-Policy"] = "same-origin"
    r.headers["X-Content-Type-Options"] = "nosniff"
    q = request.query_params.get("lang")
    if q in LANGS:
        r.set_cookie(
            LANG_COOKIE, q, max_age=365 * 86400, samesite="strict", secure=_secure(request)
        )
    return r


def _current(request: Request) -> tuple[User, str] | None:
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        return None
    state: AppState = request.app.state.pingan
    user = state.store.user_for_token(token)
    return None if user is None else (user, token)


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    lang = _lang(request)
    if status == 401:
        return _sign_in_page(request, lang, message=message, status=401)
    t = Text(lang)
    signed = _current(request)
    title = t("forbidden_title") if status == 403 else t("error_title")
    home = "/ui" if signed else "/"
    body = (
        f'<section><h1>{esc(title)}</h1><p class="message">{esc(message)}</p>'
        f'<p><a href="{home}">{esc(t("back"))}</a></p></section>'
    )
    user = (signed[0].name, signed[0].role) if signed else None
    csrf = form_token(signed[1]) if signed else None
    page = frame(lang, title, body, switch_href=_switch_href(request, lang), user=user, csrf=csrf)
    return _html(request, page, status)


def _message(request: Request, exc: Exception) -> tuple[int, str]:
    t = Text(_lang(request))
    if isinstance(exc, PageError):
        return exc.status, t(exc.key, **exc.values)
    if isinstance(exc, NotFound):
        return 404, t("not_found", what=str(exc))
    if isinstance(exc, Conflict):
        return 409, t("conflict", what=str(exc))
    if isinstance(exc, RequestValidationError | pydantic.ValidationError):
        where = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg', '')}"
            for e in exc.errors()[:5]
        )
        return 422, t("invalid", what=where)
    if isinstance(exc, ApiError):
        return exc.status, exc.detail
    return 422, t("invalid", what=str(exc))


class PageRoute(APIRoute):
    """A route whose errors answer as pages for people, in their language."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except (
                PageError,
                ApiError,
                RequestValidationError,
                pydantic.ValidationError,
                PinganError,  # NotFound and Conflict too: StoreError is one
            ) as exc:
                status, message = _message(request, exc)
                return _error_page(request, status, message)

        return run


router = APIRouter(include_in_schema=False, route_class=PageRoute)


# --------------------------------------------------------------------------- the session


@dataclass(frozen=True)
class Session:
    """The signed-in user of a page, their language and their forms' CSRF token."""

    user: User
    token: str
    lang: Lang
    csrf: str
    state: AppState

    @property
    def t(self) -> Text:
        """The strings of the user's language."""
        return Text(self.lang)

    def allow(self, *roles: str) -> None:
        """Raise a 403 page unless the user has one of ``roles`` (admins have them all)."""
        if self.user.role == "admin" or self.user.role in roles:
            return
        t = self.t
        need = t("or").join(t.role(r) for r in roles)
        raise PageError(
            403, "forbidden", name=self.user.name, role=t.role(self.user.role), need=need
        )

    def check_form(self, request: Request, csrf: str) -> None:
        """Refuse a form without this session's token, or posted from another origin."""
        if not hmac.compare_digest(csrf.encode(), self.csrf.encode()):
            raise PageError(403, "csrf")
        _same_origin(request)


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise PageError(403, "csrf")


def _session(request: Request, state: StateDep) -> Session:
    signed = _current(request)
    if signed is None:
        raise PageError(401, "please_sign_in")
    user, token = signed
    return Session(user, token, _lang(request), form_token(token), state)


SessionDep = Annotated[Session, Depends(_session)]
CsrfField = Annotated[str, Form(max_length=100)]


def _page(request: Request, s: Session, title: str, body: str, **kw: Any) -> HTMLResponse:
    html = frame(
        s.lang,
        title,
        body,
        switch_href=_switch_href(request, s.lang),
        user=(s.user.name, s.user.role),
        csrf=s.csrf,
        **kw,
    )
    return _html(request, html)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --------------------------------------------------------------------------- sign in and out


def _sign_in_page(
    request: Request,
    lang: Lang,
    *,
    message: str | None = None,
    note: str | None = None,
    status: int = 200,
    name: str = "",
) -> HTMLResponse:
    t = Text(lang)
    login = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    alert = f'<p class="message" role="alert">{esc(message)}</p>' if message else ""
    alert += f'<p class="note">{esc(note)}</p>' if note else ""
    body = (
        f'<section class="signin"><h1>{esc(t("sign_in"))}</h1>{alert}'
        '<form method="post" action="/ui/login">'
        f'<label>{esc(t("name"))}<input name="name" autocomplete="username" required '
        f'maxlength="100" value="{esc(name)}" autofocus></label>'
        f'<label>{esc(t("password"))}<input name="password" type="password" required '
        'maxlength="200" autocomplete="current-password"></label>'
        f'{hidden("csrf", login)}<button type="submit">{esc(t("sign_in"))}</button>'
        "</form></section>"
    )
    page = frame(lang, t("sign_in"), body, switch_href=_switch_href(request, lang))
    r = _html(request, page, status)
    r.set_cookie(LOGIN_COOKIE, login, httponly=True, samesite="strict", secure=_secure(request))
    return r


@router.get("/ui/style.css")
def style() -> Response:
    """Return the pages' stylesheet."""
    return Response(STYLE, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/", response_class=HTMLResponse)
def sign_in(request: Request, out: Annotated[int, Query(ge=0, le=1)] = 0) -> Response:
    """Show the sign-in form (signed in already: go to the user's page)."""
    if _current(request) is not None:
        return _see_other("/ui")
    lang = _lang(request)
    return _sign_in_page(request, lang, note=Text(lang)("signed_out") if out else None)


@router.post("/ui/login", response_class=HTMLResponse)
def login(
    request: Request,
    state: StateDep,
    csrf: CsrfField,
    name: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the name and password; set the session cookie and go to the user's page."""
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
        raise PageError(403, "csrf")
    _same_origin(request)
    lang = _lang(request)
    user = state.store.check_password(name, password) if name and password else None
    if user is None:
        return _sign_in_page(
            request, lang, message=Text(lang)("wrong_password"), status=401, name=name
        )
    token = state.store.issue_token(user.id, label="pages")
    state.store.audit(user, "auth.sign_in", f"user:{user.id}", {"via": "pages"})
    r = _see_other("/ui")
    r.set_cookie(
        TOKEN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/"
    )
    r.delete_cookie(LOGIN_COOKIE)
    return r


@router.post("/ui/logout", response_class=HTMLResponse)
def logout(request: Request, s: SessionDep, csrf: CsrfField) -> Response:
    """Revoke the session's token and forget the cookie."""
    s.check_form(request, csrf)
    s.state.store.revoke_token(s.token)
    s.state.store.audit(s.user, "auth.sign_out", f"user:{s.user.id}", {"via": "pages"})
    r = _see_other("/?out=1")
    r.delete_cookie(TOKEN_COOKIE, path="/")
    return r


# --------------------------------------------------------------------------- each role's page


@router.get("/ui", response_class=HTMLResponse)
def home(request: Request, s: SessionDep) -> Response:
    """Show the signed-in user's main task."""
    t = s.t
    role = s.user.role
    if role == "dispatcher":
        return _page(request, s, t("patrol_title"), _patrol_section(s))
    if role == "team_leader":
        return _page(request, s, t("briefing_title"), _team_section(s, s.user.team))
    if role == "planner":
        return _page(request, s, t("compare_title"), _compare_form(s, "base", None, "stations"))
    return _page(request, s, t("admin_title"), _admin_section(s))


# ----------------------------------------------------------------- dispatcher: patrol plans


def _station_choices(state: AppState) -> list[tuple[str, str]]:
    st = state.area.require("stations")
    names = st["name"].astype(str) if "name" in st.columns else st["id"].astype(str)
    return [(str(i), f"{n} ({i})") for i, n in zip(st["id"].astype(str), names, strict=True)]


def _patrol_section(s: Session) -> str:
    from service.patrol import default_station

    t, state = s.t, s.state
    shifts = [(k, t(f"shift_{k}")) for k in ("night", "evening", "day")]
    today = dt.date.today().isoformat()
    form = (
        f'<form class="task" method="post" action="/ui/patrol">'
        f'<label>{esc(t("station"))}<select name="station">'
        f"{options(_station_choices(state), default_station(state.area))}</select></label>"
        f'<label>{esc(t("units"))}<input name="units" type="number" min="1" max="20" '
        'value="3" required></label>'
        f'<label>{esc(t("shift"))}<select name="shift">{options(shifts, "night")}</select></label>'
        f'<label>{esc(t("date"))}<input name="date" type="date" value="{today}" required></label>'
        f"{hidden('csrf', s.csrf)}{hidden('once', secrets.token_urlsafe(12))}"
        f'<button type="submit">{esc(t("plan_button"))}</button></form>'
    )
    plans = state.store.list_plans("patrol")[:10]
    if plans:
        items = "".join(
            f'<li><a href="/ui/plans/{esc(p.id)}">{esc(_plan_line(s, p))}</a></li>' for p in plans
        )
        recent = f"<ul>{items}</ul>"
    else:
        recent = f'<p class="muted">{esc(t("no_plans"))}</p>'
    return (
        f'<section><h1>{esc(t("patrol_title"))}</h1><p class="muted">{esc(t("patrol_intro"))}'
        f"</p>{form}</section>"
        f"<section><h2>{esc(t('recent_plans'))}</h2>{recent}</section>"
    )


def _plan_facts(s: Session, p: PlanRecord) -> dict[str, Any]:
    req = p.summary.get("request", {})
    shift = str(req.get("shift", "night"))
    label = s.t(f"shift_{shift}") if shift in ("night", "evening", "day") else shift
    return {
        "date": req.get("date") or p.created[:10],
        "shift": label,
        "stations": ", ".join(map(str, p.summary.get("stations", []))),
        "units": req.get("units", ""),
        "targets": p.summary.get("targets", ""),
    }


def _plan_line(s: Session, p: PlanRecord) -> str:
    return f"{p.id} · " + s.t("plan_facts", **_plan_facts(s, p))


@router.get("/ui/patrol", response_class=HTMLResponse)
def patrol_form(request: Request, s: SessionDep) -> Response:
    """Show the dispatcher's form (an admin reaches it from their page)."""
    s.allow("dispatcher")
    return _page(request, s, s.t("patrol_title"), _patrol_section(s))


@router.post("/ui/patrol", response_class=HTMLResponse)
def patrol_submit(
    request: Request,
    s: SessionDep,
    csrf: CsrfField,
    station: Annotated[str, Form(min_length=1, max_length=100)],
    units: Annotated[int, Form()],
    shift: Annotated[str, Form(max_length=20)],
    date: Annotated[str, Form(max_length=10)] = "",
    once: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Start planning the shift as a job; its page refreshes until the plan is there."""
    from service.api.ops.patrol import PatrolRequest, check_request, plan_patrol

    s.allow("dispatcher")
    s.check_form(request, csrf)
    req = PatrolRequest(
        stations=[station], units=units, shift=shift, date=date or None, seconds=PATROL_SECONDS
    )
    state, user = s.state, s.user
    check_request(state, req)  # a wrong station is this page's 422, not a failed job

    def run(ctx: Any) -> dict[str, Any]:
        plan = plan_patrol(state, user, req, ctx)
        return {"plan_id": plan.id, "href": f"/patrol/plans/{plan.id}"}

    # The form's one-time key: sending it twice (a reload, a double click) plans once.
    # The job is the API's kind, so GET /jobs and POST /patrol/plans see the same jobs.
    job, _ = state.jobs.submit(
        "patrol.plan",
        req.model_dump(),
        run,
        user=user,
        idempotency_key=f"ui:{once}" if once else None,
    )
    return _see_other(f"/ui/jobs/{job.id}")


JobId = Annotated[str, Path(pattern=_ID)]
PlanId = Annotated[str, Path(pattern=_ID)]


def _own_job(s: Session, job_id: str) -> Any:
    job = s.state.store.get_job(job_id)
    # Only patrol jobs have a page; others are polled through GET /jobs/{id}.
    if job.kind != "patrol.plan" or (job.created_by != s.user.id and s.user.role != "admin"):
        # Another user's job is not theirs to see: it does not exist for them.
        raise PageError(404, "not_found", what=f"job {job_id}")
    return job


@router.get("/ui/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, s: SessionDep, job_id: JobId) -> Response:
    """Show a patrol job's progress (refreshing), then go to its plan."""
    s.allow("dispatcher")
    job = _own_job(s, job_id)
    t = s.t
    if job.status == "done" and job.result:
        plan = job.result.get("plan_id")
        if plan:
            return _see_other(f"/ui/plans/{plan}")
    if job.status in ("queued", "running"):
        pct = round(float(job.progress))
        body = (
            f"<section><h1>{esc(t('job_title'))}</h1>"
            f'<progress max="100" value="{pct}">{pct}%</progress>'
            f"<p>{esc(t('job_progress', pct=pct, message=job.message or job.status))}</p>"
            f'<form method="post" action="/ui/jobs/{esc(job.id)}/cancel">'
            f'{hidden("csrf", s.csrf)}<button type="submit">{esc(t("cancel"))}</button>'
            "</form></section>"
        )
        return _page(request, s, t("job_title"), body, refresh_s=2)
    text = t("job_cancelled") if job.status == "cancelled" else t("job_failed", error=job.error)
    body = (
        f'<section><h1>{esc(t("job_title"))}</h1><p class="message">{esc(text)}</p>'
        f'<p><a href="/ui">{esc(t("back"))}</a></p></section>'
    )
    return _page(request, s, t("job_title"), body)


@router.post("/ui/jobs/{job_id}/cancel", response_class=HTMLResponse)
def job_cancel(request: Request, s: SessionDep, job_id: JobId, csrf: CsrfField) -> Response:
    """Stop a patrol job."""
    s.allow("dispatcher")
    s.check_form(request, csrf)
    _own_job(s, job_id)
    s.state.jobs.cancel(job_id)
    s.state.store.audit(s.user, "job.cancel", f"job:{job_id}", {"via": "pages"})
    return _see_other(f"/ui/jobs/{job_id}")


def _patrol_plan(s: Session, plan_id: str) -> PlanRecord:
    plan = s.state.store.get_plan(plan_id)
    if plan.kind != "patrol":
        raise PageError(404, "not_found", what=f"patrol plan {plan_id}")
    return plan


def _sheet_table(s: Session, data: bytes) -> str:
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    cols = [c for c in SHEET_COLUMNS if not rows or c in rows[0]]
    numeric = [
        i for i, c in enumerate(cols) if c in ("stop", "dwell_min", "wait_min", "lat", "lon")
    ]
    return table(
        [s.t(f"col_{c}") for c in cols],
        ([r.get(c, "") for c in cols] for r in rows),
        numeric=numeric,
    )


@router.get("/ui/plans/{plan_id}", response_class=HTMLResponse)
def plan_page(request: Request, s: SessionDep, plan_id: PlanId) -> Response:
    """Show a patrol plan: its map, its shift sheet, and the CSV and GPX to download."""
    s.allow("dispatcher")
    plan = _patrol_plan(s, plan_id)
    t = s.t
    files = f"/ui/plans/{esc(plan.id)}/files"
    map_name = "patrol_map.en.html" if s.lang == "en" else "patrol_map.html"
    if map_name not in plan.artifacts:
        map_name = "patrol_map.html"
    sheet = s.state.store.artifact(f"plan:{plan.id}", "patrol_shift_sheet.csv")
    body = (
        f"<section><h1>{esc(t('plan_title', id=plan.id))}</h1>"
        f'<p>{esc(t("plan_facts", **_plan_facts(s, plan)))}</p><ul class="links">'
        f'<li><a href="{files}/patrol_shift_sheet.csv" download>{esc(t("download_csv"))}</a></li>'
        f'<li><a href="{files}/patrol.gpx" download>{esc(t("download_gpx"))}</a></li>'
        f'<li><a href="{files}/{map_name}" target="_blank" rel="noopener">'
        f"{esc(t('open_map'))}</a></li></ul></section>"
        f"<section><h2>{esc(t('patrol_map'))}</h2>"
        f'<iframe class="map" title="{esc(t("patrol_map"))}" src="{files}/{map_name}"></iframe>'
        f"</section><section><h2>{esc(t('shift_sheet'))}</h2>{_sheet_table(s, sheet.data)}"
        "</section>"
    )
    return _page(request, s, t("plan_title", id=plan.id), body)


@router.get("/ui/plans/{plan_id}/files/{name}")
def plan_file(
    request: Request,
    s: SessionDep,
    plan_id: PlanId,
    name: Annotated[str, Path(pattern=_FILE_NAME)],
) -> Response:
    """Serve a stored file of a patrol plan: a map opens in the page, the rest download."""
    s.allow("dispatcher")
    _patrol_plan(s, plan_id)
    art = s.state.store.artifact(f"plan:{plan_id}", name)
    s.state.store.audit(s.user, "plan.export", f"plan:{plan_id}/{name}", {"via": "pages"})
    if name.endswith(".html"):
        return _html(request, art.data.decode("utf-8"), csp=MAP_CSP)
    return Response(
        art.data,
        media_type=art.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{plan_id}_{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# ----------------------------------------------------------------- team leader: briefing

TeamQuery = Annotated[str | None, Query(max_length=40, pattern=_ID)]


def _team_of(s: Session, team: str | None) -> str | None:
    """Return the team a page shows: a team leader's own (no other), an admin's choice."""
    s.allow("team_leader")
    if s.user.role == "team_leader":
        if team is not None and team != s.user.team:
            t = s.t
            raise PageError(
                403,
                "forbidden",
                name=s.user.name,
                role=t.role("team_leader") + f" ({s.user.team})",
                need=t.role("team_leader") + f" ({team})",
            )
        return s.user.team
    if team is not None:
        return team
    teams = s.state.area.teams
    return str(teams["id"].iloc[0]) if teams is not None and len(teams) else None


def _village_where(state: AppState, code: str) -> tuple[str, str]:
    v = state.area.require("villages")
    row = v[v["code"].astype(str) == code]
    if not len(row):
        return code, ""
    township = str(row["township"].iloc[0]) if "township" in row.columns else ""
    return str(row["name"].iloc[0]), township


def _team_section(s: Session, team: str | None) -> str:
    from service.api.ops.teams import team_ids, team_village

    t, state = s.t, s.state
    if team is None:
        return f'<section><p class="message">{esc(t("no_team"))}</p></section>'
    village = team_village(state, team)
    name, township = _village_where(state, village)
    teams = state.area.require("teams")
    row = teams[teams["id"].astype(str) == team]
    team_name = f"{row['name'].iloc[0]} ({team})" if len(row) and "name" in row.columns else team
    pick = ""
    if s.user.role == "admin":
        pick = (
            f'<form class="task" method="get" action="/ui/team"><label>{esc(t("pick_team"))}'
            f'<select name="team">{options(((i, i) for i in team_ids(state)), team)}</select>'
            f'</label><button type="submit">{esc(t("show"))}</button></form>'
        )
    src = f"/ui/team/briefing?{urlencode({'team': team, 'lang': s.lang})}"
    return (
        f"<section><h1>{esc(t('briefing_title'))}</h1>{pick}"
        f"<p>{esc(t('your_team', team=team_name))}<br>"
        f"{esc(t('your_village', village=name, code=village, township=township))}</p>"
        f'<ul class="links"><li><a href="{esc(src)}" target="_blank" rel="noopener">'
        f"{esc(t('printable'))}</a></li></ul>"
        f'<iframe class="map" title="{esc(t("briefing_title"))}" src="{esc(src)}"></iframe>'
        "</section>"
    )


@router.get("/ui/team", response_class=HTMLResponse)
def team_page(request: Request, s: SessionDep, team: TeamQuery = None) -> Response:
    """Show a team's village and its briefing map (a team leader's own team only)."""
    chosen = _team_of(s, team)
    return _page(request, s, s.t("briefing_title"), _team_section(s, chosen))


@router.get("/ui/team/briefing", response_class=HTMLResponse)
def team_briefing(request: Request, s: SessionDep, team: TeamQuery = None) -> Response:
    """Serve the briefing's map page: it prints on one A4 sheet."""
    from service.api.ops.teams import briefing_html

    chosen = _team_of(s, team)
    if chosen is None:
        raise PageError(404, "no_team")
    html = briefing_html(s.state, chosen, s.lang)
    s.state.store.audit(s.user, "briefing.export", f"team:{chosen}", {"lang": s.lang})
    return _html(request, html, csp=MAP_CSP)


# ----------------------------------------------------------------- planner: comparison

ScenarioQuery = Annotated[str, Query(max_length=40, pattern=_ID)]
ByQuery = Annotated[str, Query(pattern="^(stations|teams)$")]


def _scenario_choices(s: Session) -> list[tuple[str, str]]:
    return [("base", s.t("base"))] + [
        (r.id, f"{r.name} ({r.id})") for r in s.state.store.list_scenarios()
    ]


def _compare_form(s: Session, a: str, b: str | None, by: str) -> str:
    t = s.t
    choices = _scenario_choices(s)
    none = "" if len(choices) > 1 else f'<p class="muted">{esc(t("no_scenarios"))}</p>'
    bys = [("stations", t("by_stations")), ("teams", t("by_teams"))]
    default_b = b or (choices[-1][0] if len(choices) > 1 else "base")
    return (
        f"<section><h1>{esc(t('compare_title'))}</h1>"
        f'<p class="muted">{esc(t("compare_intro"))}</p>{none}'
        '<form class="task" method="get" action="/ui/compare">'
        f'<label>{esc(t("scenario_a"))}<select name="a">{options(choices, a)}</select></label>'
        f'<label>{esc(t("scenario_b"))}<select name="b">{options(choices, default_b)}'
        "</select></label>"
        f'<label>{esc(t("by"))}<select name="by">{options(bys, by)}</select></label>'
        f'<button type="submit">{esc(t("compare_button"))}</button></form></section>'
    )


def _minutes(x: object) -> str:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    return f"{v:.1f}" if math.isfinite(v) else "—"


def _compare_result(s: Session, a: str, b: str, by: str) -> str:
    from service.api.ops.scenarios import compare_records, compare_table

    t, state = s.t, s.state
    cmp = compare_records(state, a, b, by)
    thresholds = [float(x) for x in cmp.summary["threshold_min"]]
    cols = [f"change_{x:g}" for x in thresholds]
    summary = table(
        ["", t("covered_a"), t("covered_b"), t("gained"), t("lost")],
        (
            [t("within", t=f"{r['threshold_min']:g}"), r["covered_a"], r["covered_b"]]
            + [r["gained"], r["lost"]]
            for r in cmp.summary.to_dict("records")
        ),
        numeric=(1, 2, 3, 4),
    )
    villages = compare_table(state, cmp)
    changed = villages[(villages[cols] != "same").any(axis=1)] if cols else villages.iloc[:0]
    changed = changed.sort_values("delta_min", kind="stable")
    words = {"gained": t("gained"), "lost": t("lost"), "same": t("same")}
    headers = [t("col_code"), t("col_village"), t("col_township"), t("col_where")]
    headers += [t("col_minutes_a"), t("col_minutes_b"), t("col_delta")]
    headers += [t("within", t=f"{x:g}") for x in thresholds]
    rows = (
        [r["code"], r["name"], r["township"], f"{r['lat']:.5f}, {r['lon']:.5f}"]
        + [_minutes(r["minutes_a"]), _minutes(r["minutes_b"]), _minutes(r["delta_min"])]
        + [words.get(str(r[c]), str(r[c])) for c in cols]
        for r in changed.to_dict("records")
    )
    styles = {7 + i: {t("gained"): "gained", t("lost"): "lost"} for i in range(len(cols))}
    if len(changed):
        listing = table(headers, rows, numeric=(4, 5, 6), classes=styles)
    else:
        listing = f'<p class="note">{esc(t("no_change"))}</p>'
    src = f"/ui/compare/map?{urlencode({'a': a, 'b': b, 'by': by, 'lang': s.lang})}"
    return (
        f"<section><h2>{esc(t('compare_summary'))}</h2>{summary}</section>"
        f"<section><h2>{esc(t('compare_map'))}</h2>"
        f'<ul class="links"><li><a href="{esc(src)}" target="_blank" rel="noopener">'
        f"{esc(t('open_map'))}</a></li></ul>"
        f'<iframe class="map" title="{esc(t("compare_map"))}" src="{esc(src)}"></iframe></section>'
        f"<section><h2>{esc(t('changed_villages', n=len(changed)))}</h2>{listing}</section>"
    )


@router.get("/ui/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    s: SessionDep,
    a: ScenarioQuery = "base",
    b: Annotated[str | None, Query(max_length=40, pattern=_ID)] = None,
    by: ByQuery = "stations",
) -> Response:
    """Show the planner's form; with ``b``, the comparison: its table and its map."""
    s.allow("planner")
    body = _compare_form(s, a, b, by)
    if b is not None:
        body += _compare_result(s, a, b, by)
    return _page(request, s, s.t("compare_title"), body)


@router.get("/ui/compare/map", response_class=HTMLResponse)
def compare_map(
    request: Request, s: SessionDep, a: ScenarioQuery, b: ScenarioQuery, by: ByQuery = "stations"
) -> Response:
    """Serve the comparison map page of ``b`` against ``a``."""
    from service.api.ops.scenarios import compare_map_html

    s.allow("planner")
    html = compare_map_html(s.state, a, b, by, s.lang)
    return _html(request, html, csp=MAP_CSP)


# ----------------------------------------------------------------- admin


def _admin_section(s: Session) -> str:
    t, store = s.t, s.state.store
    users = table(
        [t("name"), t("col_role"), t("col_team"), t("col_created")],
        (
            [u.name, t.role(u.role), u.team or "", u.created[:19].replace("T", " ")]
            for u in store.list_users()
        ),
    )
    layers = store.list_layers()
    if layers:
        listing = table(
            [t("name"), t("col_kind"), t("col_features"), t("col_source"), t("col_created")],
            ([x.name, x.kind, x.features, x.source, x.created[:19]] for x in layers),
            numeric=(2,),
        )
    else:
        listing = f'<p class="muted">{esc(t("no_layers"))}</p>'
    links = (
        f'<li><a href="/ui/patrol">{esc(t("patrol_title"))}</a></li>'
        f'<li><a href="/ui/team">{esc(t("briefing_title"))}</a></li>'
        f'<li><a href="/ui/compare">{esc(t("compare_title"))}</a></li>'
        f'<li><a href="/docs">{esc(t("api_docs"))}</a></li>'
    )
    return (
        f"<section><h1>{esc(t('admin_title'))}</h1><h2>{esc(t('users'))}</h2>{users}</section>"
        f"<section><h2>{esc(t('layers'))}</h2>{listing}</section>"
        f'<section><h2>{esc(t("admin_tasks"))}</h2><ul class="links">{links}</ul></section>'
    )
