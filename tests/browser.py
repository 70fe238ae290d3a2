"""Open map pages in a real headless Chromium, offline, and report what it shows.

The map tests use this instead of matching strings in the HTML: a page can hold the
right GeoJSON and still show nothing (a script error, a CDN asset that does not load,
a layer drawn off screen). :func:`open_map` loads a page from ``file://`` in Debian's
``chromium``, driven by Playwright, with every request other than ``file:`` and
``data:`` blocked and recorded, and returns a :class:`PageCheck` of what rendered;
:func:`print_pdf` prints a page as Chromium does and reads the PDF back with poppler.

The browser is launched once per test session (on first use) and closed at exit; each
page gets a fresh context, so pages never share state.

Popups are opened through Leaflet, not with mouse clicks at pixel positions: for each
chosen marker or path the script fires Leaflet's own ``click`` event on the layer,
propagated to its parents, which is what a real click does once it has hit the layer
(folium binds a ``GeoJsonPopup`` to the GeoJSON group, which opens it for the child
clicked). A mouse click could land on a legend, a tooltip or a neighbouring feature
and test the layout rather than the popup. The features are taken one from each popup
layer in turn, so three popups cover three layers rather than three roads of one.

Run as a script (``python tests/browser.py``, as ``make browser`` does) it says whether
the browser tests can run here, and why not.
"""

from __future__ import annotations

import atexit
import io
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

__all__ = [
    "CHROMIUM",
    "PageCheck",
    "browser_problem",
    "needs_browser",
    "needs_pdf_tools",
    "open_map",
    "print_pdf",
]

#: Debian's Chromium; ``PINGAN_CHROMIUM`` points elsewhere (another distribution's build).
CHROMIUM: Final = Path(os.environ.get("PINGAN_CHROMIUM", "/usr/bin/chromium"))

#: After ``load``, time for Leaflet's deferred work (fitBounds, control layout) to land.
#: Leaflet renders the layers synchronously on load; this is a margin, not a wait.
SETTLE_MS: Final = 300

# Host lookups fail inside Chromium too: a request that slipped past the route handler
# (a service worker, a prefetch) still cannot reach a network.
_LAUNCH_ARGS: Final = (
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--disable-background-networking",
    "--no-first-run",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
)


def browser_problem() -> str | None:
    """Return why the browser tests cannot run here, or ``None`` when they can."""
    if not CHROMIUM.is_file():
        return (
            f"Chromium is not installed at {CHROMIUM}: `make browser` installs Debian's "
            "chromium (as root); set PINGAN_CHROMIUM to use another build"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: install the dev set (`make lint`)"
    return None


def _pdf_problem() -> str | None:
    missing = [t for t in ("pdfinfo", "pdftotext", "pdftoppm") if shutil.which(t) is None]
    if missing:
        return f"{' and '.join(missing)} not found: `make browser` installs poppler-utils"
    return None


_PROBLEM: Final = browser_problem()

#: Skip mark for tests that open pages in Chromium, with the reason it cannot run.
needs_browser: Final = pytest.mark.skipif(_PROBLEM is not None, reason=_PROBLEM or "")
#: Skip mark for tests that read printed PDFs with poppler (pdfinfo, pdftotext, pdftoppm).
needs_pdf_tools: Final = pytest.mark.skipif(
    _PROBLEM is not None or _pdf_problem() is not None,
    reason=_PROBLEM or _pdf_problem() or "",
)


@dataclass(frozen=True)
class PageCheck:
    """What a page showed in Chromium.

    Attributes
    ----------
    errors
        Uncaught JavaScript errors and ``console.error`` messages, in order.
    markers
        Rendered ``.leaflet-marker-icon`` elements (icons of the layers shown).
    paths
        Rendered vector features: SVG ``<path>`` elements in the map's panes (overlay
        pane and custom panes), not counting the inline SVG of marker icons, popups,
        tooltips or the legend.
    popups_opened
        How many of the first ``popups`` features with a popup opened one with text.
    nonblank
        Whether the middle of the screenshot shows a drawing, not one flat colour.
    layer_names
        Labels of the layer control's overlay entries, in order.
    legend_text
        Text of every ``.pingan-legend``, joined by newlines.
    title
        ``document.title``.
    requests
        Every URL the page tried to fetch that is not ``file:`` or ``data:`` (blocked).
    popup_features
        How many features have a popup bound (the most ``popups_opened`` could be).
    extra
        Value of the ``js`` expression given to :func:`open_map`, or ``None``.
    """

    errors: list[str]
    markers: int
    paths: int
    popups_opened: int
    nonblank: bool
    layer_names: list[str]
    legend_text: str
    title: str
    requests: list[str]
    popup_features: int = 0
    extra: Any = None


# --------------------------------------------------------------------------- the browser

_session: dict[str, Any] = {}


def _browser() -> Any:
    """Return the session's Chromium, launching it on first use."""
    if "browser" not in _session:
        if _PROBLEM is not None:
            pytest.skip(_PROBLEM)
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        _session["playwright"] = pw
        _session["browser"] = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=list(_LAUNCH_ARGS)
        )
        atexit.register(_close)
    return _session["browser"]


def _close() -> None:
    browser = _session.pop("browser", None)
    pw = _session.pop("playwright", None)
    if browser is not None:
        browser.close()
    if pw is not None:
        pw.stop()


def _new_page(width: int, height: int) -> tuple[Any, list[str], list[str]]:
    """Open a fresh offline page; return it with its error and blocked-request lists."""
    context = _browser().new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=1,
        service_workers="block",
        locale="zh-CN",
    )
    errors: list[str] = []
    requests: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("file:", "data:")):
            r.continue_()
        else:
            requests.append(url)
            r.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page, errors, requests


def _existing(path: Path) -> Path:
    target = Path(path).resolve()
    if not target.is_file():
        msg = f"map page {target} does not exist"
        raise FileNotFoundError(msg)
    return target


def _load(page: Any, target: Path) -> None:
    page.goto(target.as_uri(), wait_until="load")
    # Two frames: layout and paint of what load's handlers did, then the margin.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_timeout(SETTLE_MS)


# --------------------------------------------------------------------------- page scripts

# The Leaflet map of a folium page: folium declares it as a global `map_<hex>`.
_FIND_MAP: Final = """
const findMap = () => {
    if (typeof L === "undefined") return null;
    const names = Object.keys(window).filter(k => /^map_[0-9a-f]+$/.test(k));
    for (const k of names.concat(Object.keys(window))) {
        try { if (window[k] instanceof L.Map) return window[k]; } catch (e) {}
    }
    return null;
};
"""

_COUNT: Final = """
() => {
    const inIcon = el => el.closest(
        ".leaflet-marker-icon, .leaflet-popup, .leaflet-tooltip, .leaflet-control");
    const paths = [...document.querySelectorAll(".leaflet-map-pane svg path")]
        .filter(p => !inIcon(p));
    return {
        markers: document.querySelectorAll(".leaflet-marker-icon").length,
        paths: paths.length,
        layers: [...document.querySelectorAll(".leaflet-control-layers-overlays label")]
            .map(l => l.innerText.trim()),
        legend: [...document.querySelectorAll(".pingan-legend")]
            .map(e => e.innerText.trim()).join("\\n"),
    };
}
"""

_POPUPS: Final = (
    "async (n) => {"
    + _FIND_MAP
    + """
    const map = findMap();
    if (map === null) return {opened: 0, available: 0};
    // The layer whose popup a click on `l` opens: its own, or a parent group's.
    const owner = l => {
        const queue = [l];
        while (queue.length) {
            const x = queue.shift();
            if (x.getPopup && x.getPopup()) return x;
            queue.push(...Object.values(x._eventParents || {}));
        }
        return null;
    };
    const byOwner = new Map();
    map.eachLayer(l => {
        if (!(l instanceof L.Marker || l instanceof L.Path)) return;
        const o = owner(l);
        if (o === null) return;
        if (!byOwner.has(o)) byOwner.set(o, []);
        byOwner.get(o).push(l);
    });
    // One feature of each popup layer in turn.
    const lists = [...byOwner.values()];
    const chosen = [];
    for (let i = 0; chosen.length < n && lists.some(ls => i < ls.length); i++) {
        for (const ls of lists) if (i < ls.length && chosen.length < n) chosen.push(ls[i]);
    }
    let opened = 0;
    for (const l of chosen) {
        const latlng = l.getLatLng ? l.getLatLng() : l.getCenter();
        l.fire("click", {
            latlng,
            layerPoint: map.latLngToLayerPoint(latlng),
            containerPoint: map.latLngToContainerPoint(latlng),
        }, true);
        await new Promise(r => requestAnimationFrame(r));
        const shown = [...document.querySelectorAll(".leaflet-popup-content")];
        if (shown.some(c => c.innerText.trim().length > 0)) opened++;
        map.closePopup();
    }
    return {opened, available: lists.reduce((s, ls) => s + ls.length, 0)};
}
"""
)


def _nonblank(png: bytes) -> bool:
    """Whether the middle of a screenshot holds a drawing rather than a flat colour.

    The corners hold the controls (scale bar, legend, layer switcher), which would make
    an empty map look drawn, so only the middle 60 % in each direction is looked at:
    after fitBounds the district fills it.
    """
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        rgb = img.convert("RGB")
        w, h = rgb.size
        middle = rgb.crop((int(w * 0.2), int(h * 0.2), int(w * 0.8), int(h * 0.8)))
        colours = middle.getcolors(maxcolors=middle.width * middle.height) or []
    if not colours:
        return False
    top = max(n for n, _ in colours)
    # Antialiased drawing gives dozens of colours; a flat page one or two.
    return len(colours) > 8 and top < 0.99 * middle.width * middle.height


# --------------------------------------------------------------------------- public API


def open_map(
    path: Path,
    *,
    screenshot: Path | None = None,
    popups: int = 3,
    width: int = 1300,
    height: int = 900,
    js: str | None = None,
) -> PageCheck:
    """Open a map page in headless Chromium, offline, and report what it rendered.

    Parameters
    ----------
    path
        The ``.html`` page (as written by :func:`maps.offline.save_offline`).
    screenshot
        Where to save a PNG of the page as loaded (before any popup); ``None`` keeps
        it in memory only.
    popups
        How many features to open popups on (one from each popup layer in turn).
    width, height
        Viewport size, in CSS pixels.
    js
        A JavaScript expression (or function) evaluated after load and the popups;
        its value is :attr:`PageCheck.extra`.

    Returns
    -------
    PageCheck
        Errors, counts, texts and blocked requests of the page.
    """
    target = _existing(path)
    page, errors, requests = _new_page(width, height)
    try:
        _load(page, target)
        counts = page.evaluate(_COUNT)
        png = page.screenshot(type="png")
        if screenshot is not None:
            Path(screenshot).write_bytes(png)
        pop = page.evaluate(_POPUPS, popups) if popups > 0 else {"opened": 0, "available": 0}
        extra = page.evaluate(js) if js is not None else None
        title = page.title()
    finally:
        page.context.close()
    return PageCheck(
        errors=errors,
        markers=int(counts["markers"]),
        paths=int(counts["paths"]),
        popups_opened=int(pop["opened"]),
        nonblank=_nonblank(png),
        layer_names=list(counts["layers"]),
        legend_text=str(counts["legend"]),
        title=title,
        requests=requests,
        popup_features=int(pop["available"]),
        extra=extra,
    )


def print_pdf(path: Path, pdf: Path, *, media: str = "print") -> dict[str, Any]:
    """Print a page to an A4 PDF as Chromium does, and read the PDF back.

    The page is laid out at A4's size in CSS pixels (794 x 1123) before printing, so a
    Leaflet map sizes itself to the paper rather than to a screen. A page's own
    ``@page`` size wins over A4, as it does when a user prints it: a print view that
    asks for another paper size is caught.

    Parameters
    ----------
    path
        The ``.html`` page.
    pdf
        Where to write the PDF.
    media
        CSS media type emulated while printing: ``"print"`` (the print stylesheet) or
        ``"screen"``.

    Returns
    -------
    dict
        ``pages`` (int), ``width_pt`` and ``height_pt`` (floats, of the first page) and
        ``text`` (all pages' text, as pdftotext reads it), ``nonblank`` (the first
        page, rasterised beside ``pdf`` as ``<stem>-page1.png``, shows a drawing),
        plus ``errors`` and ``requests`` as in :class:`PageCheck`.
    """
    if media not in ("print", "screen"):
        msg = f"media must be 'print' or 'screen', got {media!r}"
        raise ValueError(msg)
    problem = _pdf_problem()
    if problem is not None:
        pytest.skip(problem)
    target = _existing(path)
    page, errors, requests = _new_page(794, 1123)
    try:
        page.emulate_media(media=media)
        _load(page, target)
        page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    finally:
        page.context.close()
    info = subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    pages = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info, re.MULTILINE)
    if pages is None or size is None:
        msg = f"pdfinfo did not report the pages and page size of {pdf}:\n{info}"
        raise RuntimeError(msg)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    # The first page as an image, to tell a printed map from an empty frame.
    first = pdf.with_name(pdf.stem + "-page1")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(first)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return {
        "pages": int(pages.group(1)),
        "width_pt": float(size.group(1)),
        "height_pt": float(size.group(2)),
        "text": text,
        "nonblank": _nonblank(first.with_suffix(".png").read_bytes()),
        "errors": errors,
        "requests": requests,
    }


def _report() -> int:
    """Print whether the browser tests can run here; 0 when they can."""
    problem = browser_problem()
    if problem is not None:
        print(f"browser tests will skip: {problem}")
        return 1
    import importlib.metadata

    try:
        version = _browser().version
    except Exception as exc:  # any launch failure is the report's answer
        print(f"browser tests will fail: Playwright cannot drive {CHROMIUM}: {exc}")
        return 1
    fonts = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    ).stdout.strip()
    families = sorted({line.split(",")[0] for line in fonts.splitlines()})
    cjk = ", ".join(families) if families else "none (Chinese shows as boxes)"
    pdf = _pdf_problem() or "poppler's pdfinfo, pdftotext and pdftoppm found"
    print(
        f"browser tests: Playwright {importlib.metadata.version('playwright')} drives "
        f"Chromium {version} at {CHROMIUM}; CJK font: {cjk}; PDF check: {pdf}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(_report())
