"""Every error answer has one shape (:class:`ProblemBody`), declared in the OpenAPI schema.

The handlers turn what the engine and the store raise into 4xx answers with a sentence
a person can act on; nothing else reaches the client. A bug of ours answers 500 with
an id to report, and its trace goes to the server's log only.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo.errors import PinganError
from service.store.base import Conflict, NotFound

__all__ = ["ApiError", "ProblemBody", "install_handlers", "responses"]

log = logging.getLogger("pingan.api")

_TITLES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    500: "internal_error",
}
_DESCRIPTIONS = {
    400: "The request is malformed: a bad file, encoding or parameter.",
    401: "No token, or a wrong or revoked one.",
    403: "Signed in, but this role may not do that.",
    404: "No such record.",
    409: "It clashes with what is stored: a taken name, a stale version, a running job.",
    413: "The upload is larger than the service accepts.",
    422: "The request is well-formed but its values are wrong; `errors` says where.",
}


class FieldProblem(BaseModel):
    """One wrong value: where it is (``["body", "lon"]``, a file's row and column) and why."""

    loc: list[str | int]
    msg: str


class ProblemBody(BaseModel):
    """The body of every error answer."""

    status: int = Field(description="The HTTP status, repeated.")
    error: str = Field(description="A short code: not_found, forbidden, invalid, ...")
    detail: str = Field(description="What is wrong, in a sentence a person can act on.")
    errors: list[FieldProblem] = Field(default_factory=list)


class ApiError(Exception):
    """Raised by routers and dependencies for a specific 4xx answer."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.headers = headers


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Return the ``responses=`` of a route: each code with the problem schema."""
    return {c: {"model": ProblemBody, "description": _DESCRIPTIONS[c]} for c in codes}


def problem(
    status: int,
    detail: str,
    *,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Return the JSON answer of one problem."""
    body = ProblemBody(
        status=status, error=_TITLES.get(status, "error"), detail=detail, errors=errors or []
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _loc(parts: Any) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in parts]


def install_handlers(app: FastAPI) -> None:
    """Map the product's errors to their answers."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return problem(exc.status, exc.detail, errors=exc.errors, headers=exc.headers)

    @app.exception_handler(NotFound)
    async def _missing(_: Request, exc: NotFound) -> JSONResponse:
        return problem(404, str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return problem(409, str(exc))

    @app.exception_handler(PinganError)
    async def _input(_: Request, exc: PinganError) -> JSONResponse:
        return problem(422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errs = [
            FieldProblem(loc=_loc(e.get("loc", ())), msg=str(e.get("msg", "")))
            for e in exc.errors()
        ]
        where = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errs[:5])
        return problem(422, f"the request has wrong values: {where}", errors=errs)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        ref = uuid.uuid4().hex[:12]
        log.exception("internal error %s on %s %s", ref, request.method, request.url.path)
        return problem(500, f"internal error {ref}: a bug in pingan, not in your request")
