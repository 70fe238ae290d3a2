"""What a route depends on: the app's state, the signed-in user and their role.

Routes take these as ``Annotated`` parameters, e.g. ``area: AreaDep`` or
``user: Planner``; the role types answer 401 without a valid token and 403 for
another role. An admin may do everything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from geo.area import Area
from service.api.config import ApiConfig
from service.api.errors import ApiError
from service.api.jobs import JobRunner
from service.store.base import Role, Store, User

__all__ = [
    "Admin",
    "AppState",
    "AreaDep",
    "Dispatcher",
    "JobsDep",
    "Planner",
    "SignedIn",
    "StateDep",
    "StoreDep",
    "TeamLeader",
    "TOKEN_COOKIE",
    "requires",
]

T = TypeVar("T")
#: The pages for people keep the bearer token in this cookie (HttpOnly, SameSite=Strict).
TOKEN_COOKIE = "pingan_token"


@dataclass
class AppState:
    """What the lifespan loads once and every request shares."""

    config: ApiConfig
    area: Area
    store: Store
    jobs: JobRunner
    _memo: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _key_locks: dict[str, threading.Lock] = field(default_factory=dict)

    def memo(self, key: str, make: Callable[[], T]) -> T:
        """Compute a shared result of the area once (the night report, the assignment).

        Results of the Area are read-only (:mod:`geo.results`), so threads share them.
        One lock per key: a slow result keeps only its own askers waiting, and a
        ``make`` may itself ask for another key.
        """
        with self._lock:
            if key in self._memo:
                return self._memo[key]  # type: ignore[no-any-return]
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._memo:
                    return self._memo[key]  # type: ignore[no-any-return]
            value = make()
            with self._lock:
                self._memo[key] = value
            return value

    def forget(self, prefix: str = "") -> None:
        """Drop memoised results whose key starts with ``prefix`` (all by default)."""
        with self._lock:
            for k in [k for k in self._memo if k.startswith(prefix)]:
                del self._memo[k]


def _state(request: Request) -> AppState:
    return request.app.state.pingan  # type: ignore[no-any-return]


StateDep = Annotated[AppState, Depends(_state)]


def _area(state: StateDep) -> Area:
    return state.area


def _store(state: StateDep) -> Store:
    return state.store


def _jobs(state: StateDep) -> JobRunner:
    return state.jobs


AreaDep = Annotated[Area, Depends(_area)]
StoreDep = Annotated[Store, Depends(_store)]
JobsDep = Annotated[JobRunner, Depends(_jobs)]

_bearer = HTTPBearer(auto_error=False, description="A token from POST /auth/token.")


def _user(
    request: Request,
    store: StoreDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    token = creds.credentials if creds is not None else request.cookies.get(TOKEN_COOKIE)
    if not token:
        raise ApiError(
            401,
            "sign in first: send Authorization: Bearer TOKEN (POST /auth/token gives one)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = store.user_for_token(token)
    if user is None:
        raise ApiError(
            401,
            "this token is wrong, expired or revoked: sign in again",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


SignedIn = Annotated[User, Depends(_user)]

_ROLE_NAMES = {
    "admin": "an admin",
    "dispatcher": "a dispatcher",
    "team_leader": "a team leader",
    "planner": "a planner",
}


def requires(*roles: Role) -> Callable[[User], User]:
    """Return a dependency letting ``roles`` (and admins) through, 403 for anyone else."""

    def check(user: SignedIn) -> User:
        if user.role == "admin" or user.role in roles:
            return user
        who = " or ".join(_ROLE_NAMES[r] for r in roles)
        raise ApiError(403, f"{user.name} is {_ROLE_NAMES[user.role]}; this needs {who}")

    return check


Admin = Annotated[User, Depends(requires("admin"))]
Dispatcher = Annotated[User, Depends(requires("dispatcher"))]
TeamLeader = Annotated[User, Depends(requires("team_leader"))]
Planner = Annotated[User, Depends(requires("planner"))]
