"""The service's settings: from ``pingan serve``'s flags, else the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ApiConfig"]

_MB = 1024 * 1024


@dataclass(frozen=True)
class ApiConfig:
    """Where the area and the data are, and the limits of a request.

    Parameters
    ----------
    area
        An area file (TOML/JSON); None serves the built-in sample district.
    data_dir
        Holds the embedded store (``pingan.gpkg``), the sample, the network cache and
        uploaded OSM files.
    database_url
        A SQLAlchemy URL (``postgresql+psycopg://...``) for PostgreSQL + PostGIS; None
        keeps everything in the embedded GeoPackage under ``data_dir``.
    max_upload_mb
        Larger uploads are refused with 413 before they are read to the end.
    job_workers
        Background jobs run at once (the machine's cores; a job is CPU-bound).
    first_users
        On an empty store, create one user per role and write their passwords to
        ``data_dir/first-users.txt`` (mode 600), so a new install can sign in at once.
    """

    area: Path | None = None
    data_dir: Path = Path("data")
    database_url: str | None = None
    max_upload_mb: float = 200.0
    job_workers: int = 1
    first_users: bool = True
    cache_dir: Path | None = None

    @property
    def max_upload_bytes(self) -> int:
        """The upload limit in bytes."""
        return int(self.max_upload_mb * _MB)

    @property
    def network_cache(self) -> Path:
        """Where built networks are cached."""
        return self.cache_dir or self.data_dir / "cache"

    @classmethod
    def from_env(cls, **overrides: object) -> ApiConfig:
        """Read the settings from the environment; keyword arguments that are not None win.

        The variables: ``PINGAN_AREA``, ``PINGAN_DATA``, ``DATABASE_URL``,
        ``PINGAN_MAX_UPLOAD_MB`` and ``PINGAN_JOB_WORKERS``.
        """
        env = os.environ
        values: dict[str, object] = {
            "area": Path(env["PINGAN_AREA"]) if env.get("PINGAN_AREA") else None,
            "data_dir": Path(env.get("PINGAN_DATA", "data")),
            "database_url": env.get("DATABASE_URL") or None,
            "max_upload_mb": float(env.get("PINGAN_MAX_UPLOAD_MB", "200")),
            "job_workers": int(env.get("PINGAN_JOB_WORKERS", "1")),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
