"""The service's persistence: an embedded GeoPackage, or PostgreSQL + PostGIS.

``open_store(path)`` opens (creating if needed) one GeoPackage file QGIS opens;
``open_store("postgresql+psycopg://...")`` a PostGIS database. Both are the same
:class:`~service.store.sql.SqlStore` and pass the same test suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url

from service.store.base import Store, StoreError
from service.store.sql import SqlStore, dumps

__all__ = ["Store", "StoreError", "open_store"]

#: How long a writer waits for another's transaction before giving up (SQLite).
BUSY_TIMEOUT_S = 30.0
_PG_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg"}
_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}


def open_store(target: str | Path) -> Store:
    """Open the store at ``target``, creating its tables on first use.

    A file path or ``sqlite:///path`` opens the embedded GeoPackage; a
    ``postgresql://`` (or ``postgres://``, ``postgresql+psycopg://``) URL opens PostGIS
    through psycopg 3.

    Raises
    ------
    StoreError
        An unsupported or malformed URL (named, password masked), or a file that is
        not a GeoPackage, or a database that cannot be reached.
    """
    if isinstance(target, Path) or "://" not in str(target):
        return _embedded(Path(target))
    text = str(target)
    try:
        url = make_url(text)
    except (sa.exc.ArgumentError, ValueError) as exc:  # ValueError: a port that is no number
        msg = f"the store URL {_mask(text)!r} is malformed"
        raise StoreError(msg) from exc
    if url.drivername in _SQLITE_DRIVERS:
        if not url.database or url.database == ":memory:":
            msg = f"the store URL {_mask(text)!r} names no file (an in-memory store is not kept)"
            raise StoreError(msg)
        return _embedded(Path(url.database))
    if url.drivername in _PG_DRIVERS:
        return _postgis(url.set(drivername="postgresql+psycopg"))
    msg = (
        f"unsupported store URL {url.render_as_string(hide_password=True)!r}: give a file"
        " path, sqlite:///path/pingan.gpkg or postgresql+psycopg://user@host/db"
    )
    raise StoreError(msg)


def _mask(text: str) -> str:
    # A URL that does not parse may still hold a password: hide what follows "user:".
    head, sep, rest = text.partition("://")
    if sep and "@" in rest:
        cred, _, host = rest.rpartition("@")
        user = cred.split(":", 1)[0]
        return f"{head}://{user}:***@{host}" if ":" in cred else text
    return text


def _embedded(path: Path) -> Store:
    if path.is_dir():
        msg = f"the store {path} is a folder: give a file such as {path / 'pingan.gpkg'}"
        raise StoreError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        URL.create("sqlite+pysqlite", database=str(path)),
        # Used from FastAPI's thread pool and job threads: one pooled connection each.
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S},
        pool_size=8,
        max_overflow=16,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Transactions are begun below, not by the driver's implicit BEGIN.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # WAL: readers never block the writer; FULL: a commit survives a power cut.
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        # A writer takes the lock at BEGIN, where the busy timeout applies; a deferred
        # BEGIN that later writes can fail at once with "database is locked".
        write = conn.get_execution_options().get("pingan_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return SqlStore(engine, url=str(path))


def _postgis(url: URL) -> Store:
    engine = sa.create_engine(
        url,
        json_serializer=dumps,
        pool_size=8,
        max_overflow=16,
        pool_pre_ping=True,
    )
    return SqlStore(engine, url=url.render_as_string(hide_password=True))
