"""What the service stores, and the one interface both backends implement.

The records are frozen dataclasses the routers turn into response schemas; the
:class:`Store` is the contract of the embedded GeoPackage (``./data/pingan.gpkg``, a
file QGIS opens) and of PostgreSQL + PostGIS (``DATABASE_URL``). Both pass the same
storage test suite (tests/test_store.py).

Every write is one transaction: a failed import or evaluation writes nothing, and a
crash in the middle of a write leaves the last committed state readable.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd

from geo.errors import PinganError

__all__ = [
    "ROLES",
    "Artifact",
    "AuditEntry",
    "Conflict",
    "JobRecord",
    "JobStatus",
    "LayerRecord",
    "NotFound",
    "PlanRecord",
    "Role",
    "ScenarioRecord",
    "Store",
    "StoreError",
    "User",
]

Role = Literal["admin", "dispatcher", "team_leader", "planner"]
ROLES: tuple[Role, ...] = ("admin", "dispatcher", "team_leader", "planner")
JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
#: Statuses a job never leaves.
FINISHED: frozenset[str] = frozenset({"done", "failed", "cancelled"})


class StoreError(PinganError):
    """A storage request that cannot be met (the HTTP layer answers 400/422)."""


class NotFound(StoreError):
    """No record with that id (404)."""


class Conflict(StoreError):
    """The request clashes with what is stored: a taken name, a stale version (409)."""


@dataclass(frozen=True)
class User:
    """A person who signs in; a team leader's ``team`` is the id of their vanguard team."""

    id: str
    name: str
    role: Role
    team: str | None
    created: str  # ISO 8601, UTC


@dataclass(frozen=True)
class LayerRecord:
    """An uploaded layer: its features are stored in WGS84 (EPSG:4326)."""

    id: str
    name: str
    kind: str  # villages, stations, teams, incidents, groups, boundaries, officers, other
    source: str  # the uploaded file's (sanitised) name
    features: int
    columns: tuple[str, ...]
    bbox: tuple[float, float, float, float] | None  # lon/lat min x, min y, max x, max y
    created: str
    created_by: str  # user id


@dataclass(frozen=True)
class ScenarioRecord:
    """A planner's scenario: ``data`` is what :func:`geo.scenarios.scenario_from_dict` reads."""

    id: str
    name: str
    data: Mapping[str, Any]
    version: int  # 1 on creation, +1 on each edit; an edit names the version it edits
    created: str
    updated: str
    created_by: str


@dataclass(frozen=True)
class PlanRecord:
    """A patrol plan (or another planned product) and the names of its stored files."""

    id: str
    kind: str  # "patrol"
    summary: Mapping[str, Any]
    artifacts: tuple[str, ...]
    job_id: str | None
    created: str
    created_by: str


@dataclass(frozen=True)
class JobRecord:
    """A background job; ``result`` is set when done, ``error`` when failed."""

    id: str
    kind: str
    status: JobStatus
    progress: float  # percent, 0-100
    message: str
    params: Mapping[str, Any]
    result: Mapping[str, Any] | None
    error: str | None
    idempotency_key: str | None
    created_by: str
    created: str
    started: str | None
    finished: str | None
    cancel_requested: bool = False


@dataclass(frozen=True)
class AuditEntry:
    """Who changed or exported what, and when."""

    id: int
    at: str
    user_id: str | None
    user_name: str | None
    action: str  # e.g. "layer.upload", "scenario.edit", "plan.export"
    target: str  # e.g. "layer:L3", "plan:P2/patrol.gpx"
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Artifact:
    """A stored file of a plan or a job (GPX, CSV, GeoJSON, XLSX, HTML)."""

    owner: str  # "plan:P1", "job:J3"
    name: str
    media_type: str
    data: bytes


class Store(abc.ABC):
    """The service's persistence. Ids are short strings the store assigns."""

    url: str  # where it is, with any password masked

    # ------------------------------------------------------------------ users
    @abc.abstractmethod
    def create_user(self, name: str, role: Role, password: str, *, team: str | None = None) -> User:
        """Add a user (password stored as a salted scrypt hash); Conflict on a taken name."""

    @abc.abstractmethod
    def list_users(self) -> list[User]:
        """Return every user, oldest first."""

    @abc.abstractmethod
    def get_user(self, user_id: str) -> User:
        """Raise NotFound."""

    @abc.abstractmethod
    def delete_user(self, user_id: str) -> None:
        """Delete a user and revoke their tokens; NotFound."""

    @abc.abstractmethod
    def check_password(self, name: str, password: str) -> User | None:
        """Return the user when the password is right, else None (constant-time compare)."""

    @abc.abstractmethod
    def issue_token(self, user_id: str, *, label: str = "") -> str:
        """Return a new random bearer token; only its SHA-256 is stored."""

    @abc.abstractmethod
    def user_for_token(self, token: str) -> User | None:
        """Return the token's user, or None for an unknown or revoked token."""

    @abc.abstractmethod
    def revoke_token(self, token: str) -> None:
        """Make ``token`` unusable (an unknown one is ignored)."""

    # ------------------------------------------------------------------ layers
    @abc.abstractmethod
    def put_layer(
        self, name: str, kind: str, frame: gpd.GeoDataFrame, *, source: str, user_id: str
    ) -> LayerRecord:
        """Store a layer (any CRS; stored in WGS84) in one transaction; Conflict on a taken name."""

    @abc.abstractmethod
    def list_layers(self) -> list[LayerRecord]:
        """Return every layer, oldest first."""

    @abc.abstractmethod
    def get_layer(self, layer_id: str) -> LayerRecord:
        """Raise NotFound."""

    @abc.abstractmethod
    def read_layer(self, layer_id: str) -> gpd.GeoDataFrame:
        """Return the features in EPSG:4326 with their columns and types; NotFound."""

    @abc.abstractmethod
    def delete_layer(self, layer_id: str) -> None:
        """NotFound."""

    # ------------------------------------------------------------------ scenarios
    @abc.abstractmethod
    def put_scenario(self, name: str, data: Mapping[str, Any], *, user_id: str) -> ScenarioRecord:
        """Conflict on a taken name."""

    @abc.abstractmethod
    def update_scenario(
        self, scenario_id: str, data: Mapping[str, Any], *, version: int, name: str | None = None
    ) -> ScenarioRecord:
        """Replace the data of ``version``; Conflict when it is no longer the newest."""

    @abc.abstractmethod
    def list_scenarios(self) -> list[ScenarioRecord]:
        """Return every scenario, oldest first."""

    @abc.abstractmethod
    def get_scenario(self, scenario_id: str) -> ScenarioRecord:
        """Raise NotFound."""

    @abc.abstractmethod
    def delete_scenario(self, scenario_id: str) -> None:
        """NotFound."""

    # ------------------------------------------------------------------ plans and files
    @abc.abstractmethod
    def put_plan(
        self,
        kind: str,
        summary: Mapping[str, Any],
        artifacts: Mapping[str, tuple[str, bytes]],
        *,
        user_id: str,
        job_id: str | None = None,
    ) -> PlanRecord:
        """Store a plan and its files ({name: (media type, bytes)}) in one transaction."""

    @abc.abstractmethod
    def list_plans(self, kind: str | None = None) -> list[PlanRecord]:
        """Return the plans (of ``kind``), newest first."""

    @abc.abstractmethod
    def get_plan(self, plan_id: str) -> PlanRecord:
        """Raise NotFound."""

    @abc.abstractmethod
    def put_artifacts(self, owner: str, files: Mapping[str, tuple[str, bytes]]) -> None:
        """Store files of ``owner`` ("job:J1", "plan:P1"), replacing same-named ones."""

    @abc.abstractmethod
    def artifact(self, owner: str, name: str) -> Artifact:
        """Raise NotFound."""

    @abc.abstractmethod
    def artifact_names(self, owner: str) -> list[str]:
        """Return the names of ``owner``'s files, sorted."""

    # ------------------------------------------------------------------ jobs
    @abc.abstractmethod
    def create_job(
        self,
        kind: str,
        params: Mapping[str, Any],
        *,
        user_id: str,
        idempotency_key: str | None = None,
    ) -> tuple[JobRecord, bool]:
        """Add a queued job and return it with True.

        With a key this user already used for this kind, return that job and False
        instead: the same request submitted twice runs once.
        """

    @abc.abstractmethod
    def update_job(self, job_id: str, **changes: Any) -> JobRecord:
        """Set fields and return the job; NotFound.

        The fields: status, progress, message, result, error, started, finished and
        cancel_requested.
        """

    @abc.abstractmethod
    def get_job(self, job_id: str) -> JobRecord:
        """Raise NotFound."""

    @abc.abstractmethod
    def list_jobs(self, *, user_id: str | None = None) -> list[JobRecord]:
        """Return the jobs (of ``user_id``), newest first."""

    @abc.abstractmethod
    def fail_interrupted(self) -> int:
        """Mark every queued or running job failed and return how many.

        Called once at start-up, before any job runs: a job the last run did not finish
        is reported "interrupted by a restart", never lost.
        """

    # ------------------------------------------------------------------ audit
    @abc.abstractmethod
    def audit(
        self,
        user: User | None,
        action: str,
        target: str,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that ``user`` did ``action`` to ``target``, now."""

    @abc.abstractmethod
    def audit_log(self, *, limit: int = 100) -> list[AuditEntry]:
        """Newest first."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connections."""
