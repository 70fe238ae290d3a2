"""The HTML of the pages: one frame, tables, forms and error pages, escaped throughout.

Pages are server-rendered with no JavaScript, so they work in any browser a station
has and under a strict Content-Security-Policy; every value shown goes through
:func:`esc`. The map pages (folium, offline) are served as they were written.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from importlib.resources import files
from typing import Any, Final

from service.api.pages.text import Lang, Text, other

__all__ = [
    "CSP",
    "MAP_CSP",
    "STYLE",
    "esc",
    "form_token",
    "frame",
    "hidden",
    "options",
    "table",
]

#: Our pages load nothing but their own stylesheet and frames of our map pages.
CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
)
#: Map pages are self-contained (inline Leaflet, data: images): nothing may leave the page.
MAP_CSP: Final = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; frame-ancestors 'self'; base-uri 'none'"
)
#: The stylesheet, read once.
STYLE: Final = files("service.api.pages").joinpath("style.css").read_text(encoding="utf-8")


def esc(value: object) -> str:
    """Return ``value`` as HTML text (quotes escaped too: safe inside attributes)."""
    return escape("" if value is None else str(value), quote=True)


def form_token(session_token: str) -> str:
    """Return the CSRF token of a session's forms.

    Keyed by the session's bearer token, which only the HttpOnly cookie holds: another
    site can make the browser send the cookie but can neither read it nor this token.
    """
    return hmac.new(session_token.encode(), b"pingan-ui-form", hashlib.sha256).hexdigest()[:40]


def hidden(name: str, value: str) -> str:
    """Return a hidden form field."""
    return f'<input type="hidden" name="{esc(name)}" value="{esc(value)}">'


def options(pairs: Iterable[tuple[str, str]], selected: str | None = None) -> str:
    """Return the ``<option>`` list of (value, label) pairs."""
    return "".join(
        f'<option value="{esc(v)}"{" selected" if v == selected else ""}>{esc(label)}</option>'
        for v, label in pairs
    )


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Iterable[int] = (),
    classes: Mapping[int, Mapping[str, str]] | None = None,
) -> str:
    """Return an HTML table; ``numeric`` columns align right, ``classes`` style cell values."""
    num = set(numeric)
    cls = classes or {}
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            c = ["num"] if i in num else []
            if i in cls and str(v) in cls[i]:
                c.append(cls[i][str(v)])
            attr = f' class="{" ".join(c)}"' if c else ""
            cells.append(f"<td{attr}>{esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def frame(
    lang: Lang,
    title: str,
    body: str,
    *,
    switch_href: str,
    user: tuple[str, str] | None = None,
    csrf: str | None = None,
    refresh_s: int | None = None,
) -> str:
    """Return a whole page: the header (home, language switch, sign-out) and ``body``.

    ``user`` is the signed-in (name, role); ``refresh_s`` reloads the page (a job's status).
    """
    t = Text(lang)
    meta = f'<meta http-equiv="refresh" content="{refresh_s}">' if refresh_s else ""
    who = ""
    if user is not None and csrf is not None:
        name, role = user
        who = (
            f'<span class="who">{esc(t("signed_in_as", name=name, role=t.role(role)))}</span>'
            f'<form method="post" action="/ui/logout">{hidden("csrf", csrf)}'
            f'<button class="link" type="submit">{esc(t("sign_out"))}</button></form>'
        )
    home = "/ui" if user is not None else "/"
    switch = f'<a href="{esc(switch_href)}" hreflang="{other(lang)}">{esc(t("lang_switch"))}</a>'
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!DOCTYPE html><html lang="{html_lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{meta}<title>{esc(title)} · {esc(t('app'))}</title>"
        '<link rel="stylesheet" href="/ui/style.css"></head><body>'
        f'<header><a class="app" href="{home}">{esc(t("app"))}</a>{switch}{who}</header>'
        f"<main>{body}</main></body></html>"
    )
