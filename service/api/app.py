"""The FastAPI application: its lifespan loads the Area, opens the store, starts jobs."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI

from geo.area import Area, load_area, sample_area
from service.api.config import ApiConfig
from service.api.deps import AppState
from service.api.errors import install_handlers
from service.api.jobs import JobRunner
from service.api.limits import BodyLimit
from service.api.routers import (
    auth,
    coverage,
    health,
    hotspots,
    jobs,
    layers,
    lighting,
    maps,
    networks,
    pages,
    patrol,
    scenarios,
    teams,
    users,
)
from service.store.base import ROLES, Store

__all__ = ["create_app", "load_service_area"]

log = logging.getLogger("pingan.api")

TAGS = [
    {"name": "health", "description": "Is the service up, and on which area."},
    {"name": "auth", "description": "Sign in for a bearer token; the signed-in user."},
    {"name": "users", "description": "Admins: users and the audit log."},
    {"name": "layers", "description": "Upload, list, get and delete layers."},
    {"name": "networks", "description": "Road networks built from uploaded OSM files."},
    {"name": "jobs", "description": "Background jobs: progress, result, cancel."},
    {"name": "hotspots", "description": "Incident hot spots."},
    {"name": "lighting", "description": "Unlit roads and lamp placement."},
    {"name": "coverage", "description": "Travel time from stations to villages; new posts."},
    {"name": "scenarios", "description": "Planners' scenarios: create, edit, evaluate, compare."},
    {"name": "patrol", "description": "Dispatchers' patrol plans and their GPX, GeoJSON, CSV."},
    {"name": "teams", "description": "Vanguard team assignment and village briefings."},
    {"name": "maps", "description": "Offline HTML maps from the map builders."},
]


def load_service_area(config: ApiConfig) -> Area:
    """Load the area to serve: the area file given, else the sample district."""
    if config.area is not None:
        return load_area(config.area, cache_dir=config.network_cache)
    return sample_area(config.data_dir / "sample", cache_dir=config.network_cache)


def open_store(config: ApiConfig) -> Store:
    """Open the embedded GeoPackage under ``data_dir``, or the database of ``database_url``."""
    from service.store import open_store as _open

    return _open(config.database_url or config.data_dir / "pingan.gpkg")


def first_users(store: Store, area: Area, folder: Path) -> Path | None:
    """On an empty store, create one user per role; write their passwords to a 600 file."""
    if store.list_users():
        return None
    teams = area.teams
    team = str(teams["id"].iloc[0]) if teams is not None and len(teams) else None
    lines = ["# pingan's first users: sign in with these, then change them (admin)."]
    for role in ROLES:
        name = "leader" if role == "team_leader" else role
        password = secrets.token_urlsafe(9)
        store.create_user(name, role, password, team=team if role == "team_leader" else None)
        extra = f" team={team}" if role == "team_leader" and team else ""
        lines.append(f"{name}\t{password}\t{role}{extra}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "first-users.txt"
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def create_app(config: ApiConfig | None = None, *, area: Area | None = None) -> FastAPI:
    """Build the app; ``area`` (already loaded) skips loading one in the lifespan."""
    cfg = config or ApiConfig.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from service.memory import return_large_blocks

        return_large_blocks()
        store = open_store(cfg)
        interrupted = store.fail_interrupted()
        if interrupted:
            log.warning("%d job(s) the last run did not finish are now marked failed", interrupted)
        try:
            served = area if area is not None else load_service_area(cfg)
            if cfg.first_users:
                path = first_users(store, served, cfg.data_dir)
                if path is not None:
                    log.warning("created the first users; their passwords are in %s", path)
            jobs = JobRunner(store, workers=cfg.job_workers)
            app.state.pingan = AppState(cfg, served, store, jobs)
            yield
            jobs.shutdown()
        finally:
            store.close()

    app = FastAPI(
        title="pingan planning service",
        version="0.1.0",
        description=(
            "Patrol routes, coverage, hot spots, dark roads, lamps, posts and vanguard "
            "teams for rural police work, on one area loaded at start-up."
        ),
        lifespan=lifespan,
        openapi_tags=TAGS,
    )
    install_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=cfg.max_upload_bytes)
    for router in _routers():
        app.include_router(router)
    _declare_body_errors(app)
    return app


def _declare_body_errors(app: FastAPI) -> None:
    """Declare 400 (a body that does not parse) and 413 (too large) on every route with a body.

    Both are answered before any route runs (by FastAPI's parser and the body limit),
    so no route can list them itself; the schema must still say they can happen.
    """
    make = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = make()
            problem = {"application/json": {"schema": {"$ref": "#/components/schemas/ProblemBody"}}}
            for ops in spec.get("paths", {}).values():
                for op in ops.values():
                    _errors_are_json(op)
                    if "requestBody" not in op:
                        continue
                    answers = op.setdefault("responses", {})
                    answers.setdefault(
                        "400", {"description": "The body does not parse", "content": problem}
                    )
                    answers.setdefault(
                        "413",
                        {"description": "The body is over the upload limit", "content": problem},
                    )
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _errors_are_json(op: dict[str, Any]) -> None:
    # FastAPI documents a route's extra responses in the route's own media type, so an
    # HTML map's 401 would claim text/html; the handlers answer every error in JSON.
    for code, answer in op.get("responses", {}).items():
        content = answer.get("content", {})
        if code[0] in "45" and "text/html" in content:
            html = content.pop("text/html")
            if "schema" in html:
                content.setdefault("application/json", {"schema": html["schema"]})


def _routers() -> list[APIRouter]:
    # The pages for people come last: their HTML routes are not part of the API.
    return [
        health.router,
        auth.router,
        users.router,
        layers.router,
        networks.router,
        jobs.router,
        hotspots.router,
        lighting.router,
        coverage.router,
        scenarios.router,
        patrol.router,
        teams.router,
        maps.router,
        pages.router,
    ]
