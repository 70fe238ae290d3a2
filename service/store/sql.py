"""One SQLAlchemy implementation of :class:`~service.store.base.Store` for both backends.

The embedded backend is a single GeoPackage file (SQLite, WAL, synchronous FULL);
the other is PostgreSQL + PostGIS. The tables and queries are the same; only three
things differ by dialect: the geometry column (GeoPackage blobs vs a PostGIS
``geometry`` held to SRID 4326), JSON (TEXT vs JSONB) and how a write transaction begins (SQLite
takes the write lock at BEGIN IMMEDIATE, so two writers queue on the busy timeout
instead of one failing half-way with "database is locked").

Public ids are a letter and the row's integer key ("U1", "L3", "S2", "P4", "J7");
keys come from AUTOINCREMENT / identity sequences, so a deleted id is never reused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine

from service.store import gpkg
from service.store.base import (
    Artifact,
    AuditEntry,
    Conflict,
    JobRecord,
    JobStatus,
    LayerRecord,
    NotFound,
    PlanRecord,
    Role,
    ScenarioRecord,
    Store,
    StoreError,
    User,
)

__all__ = ["SqlStore", "dumps", "now"]

FEATURES = "layer_features"
GEOMETRY = "geom"
META = "pingan_meta"
#: The version of these tables; a store written by a newer one is refused, not misread.
SCHEMA = 1
_ROLES = frozenset(get_args(Role))
_STATUSES = frozenset(get_args(JobStatus))
_JOB_FIELDS = frozenset(
    {"status", "progress", "message", "result", "error", "started", "finished", "cancel_requested"}
)
# scrypt at n=2**14, r=8: about 16 MiB and 50 ms per check, OWASP's minimum.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def now() -> str:
    """Return the time as stored: ISO 8601 in UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _default(value: object) -> object:
    # numpy scalars arrive from object columns; everything else is refused by name.
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    msg = f"a value of type {type(value).__name__} cannot be stored as JSON"
    raise TypeError(msg)


def dumps(value: object) -> str:
    """Serialise to JSON as stored: UTF-8 text (Chinese stays readable), no NaN."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, default=_default)


class _Json(sa.types.TypeDecorator[Any]):
    """JSON as TEXT in the GeoPackage (a type QGIS knows), JSONB in PostgreSQL."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value  # psycopg serialises JSONB with the engine's json_serializer
        return dumps(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if isinstance(value, str) and dialect.name != "postgresql":
            return json.loads(value)
        return value


class _GpkgGeometry(sa.types.UserDefinedType[bytes]):
    """A GeoPackage geometry blob, declared GEOMETRY as the GeoPackage spec asks."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "GEOMETRY"


def _tables(postgres: bool) -> sa.MetaData:
    if postgres:
        from geoalchemy2 import Geometry

        # Untyped `geometry` plus a CHECK on the SRID: the typmod geometry(GEOMETRY, 4326)
        # refuses Z coordinates (GPS tracks, GeoJSON with heights), which the GeoPackage keeps.
        geom: sa.types.TypeEngine[Any] = Geometry(None, srid=-1, spatial_index=True)
        srid: list[sa.CheckConstraint] = [sa.CheckConstraint(f"ST_SRID({GEOMETRY}) = 4326")]
    else:
        geom, srid = _GpkgGeometry(), []
    # sqlite_autoincrement: never reuse a deleted row's key, so an id names one record.
    md = sa.MetaData()
    text, integer = sa.Text, sa.Integer

    def key() -> sa.Column[int]:
        return sa.Column("id", integer, primary_key=True, autoincrement=True)

    sa.Table(
        "users",
        md,
        key(),
        sa.Column("name", text, nullable=False, unique=True),
        sa.Column("role", text, nullable=False),
        sa.Column("team", text),
        sa.Column("password", text, nullable=False),
        sa.Column("created", text, nullable=False),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "tokens",
        md,
        key(),
        sa.Column("hash", text, nullable=False, unique=True),
        sa.Column(
            "user_id", integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("label", text, nullable=False),
        sa.Column("created", text, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "layers",
        md,
        key(),
        sa.Column("name", text, nullable=False, unique=True),
        sa.Column("kind", text, nullable=False),
        sa.Column("source", text, nullable=False),
        sa.Column("features", integer, nullable=False),
        sa.Column("columns", _Json, nullable=False),
        sa.Column("meta", _Json, nullable=False),
        sa.Column("min_x", sa.Float),
        sa.Column("min_y", sa.Float),
        sa.Column("max_x", sa.Float),
        sa.Column("max_y", sa.Float),
        sa.Column("created", text, nullable=False),
        sa.Column("created_by", text, nullable=False),
        sqlite_autoincrement=True,
    )
    sa.Table(
        FEATURES,
        md,
        sa.Column("fid", integer, primary_key=True, autoincrement=True),
        sa.Column(
            "layer_id",
            integer,
            sa.ForeignKey("layers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("idx", integer, nullable=False),
        sa.Column("props", _Json, nullable=False),
        sa.Column(GEOMETRY, geom),
        # A layer is read in its row order and deleted whole: both by this index.
        sa.Index("ix_layer_features_layer", "layer_id", "idx", unique=True),
        *srid,
        sqlite_autoincrement=True,
    )
    sa.Table(
        "scenarios",
        md,
        key(),
        sa.Column("name", text, nullable=False, unique=True),
        sa.Column("data", _Json, nullable=False),
        sa.Column("version", integer, nullable=False),
        sa.Column("created", text, nullable=False),
        sa.Column("updated", text, nullable=False),
        sa.Column("created_by", text, nullable=False),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "plans",
        md,
        key(),
        sa.Column("kind", text, nullable=False),
        sa.Column("summary", _Json, nullable=False),
        sa.Column("job_id", text),
        sa.Column("created", text, nullable=False),
        sa.Column("created_by", text, nullable=False),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "artifacts",
        md,
        key(),
        sa.Column("owner", text, nullable=False),
        sa.Column("name", text, nullable=False),
        sa.Column("media_type", text, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created", text, nullable=False),
        sa.UniqueConstraint("owner", "name"),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "jobs",
        md,
        key(),
        sa.Column("kind", text, nullable=False),
        sa.Column("status", text, nullable=False, index=True),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("message", text, nullable=False),
        sa.Column("params", _Json, nullable=False),
        sa.Column("result", _Json),
        sa.Column("error", text),
        sa.Column("idempotency_key", text),
        sa.Column("created_by", text, nullable=False),
        sa.Column("created", text, nullable=False),
        sa.Column("started", text),
        sa.Column("finished", text),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        # NULL keys are distinct in both SQLite and PostgreSQL: keyless jobs never clash.
        sa.UniqueConstraint("created_by", "kind", "idempotency_key"),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "audit",
        md,
        key(),
        sa.Column("at", text, nullable=False),
        sa.Column("user_id", text),
        sa.Column("user_name", text),
        sa.Column("action", text, nullable=False),
        sa.Column("target", text, nullable=False),
        sa.Column("detail", _Json, nullable=False),
        sqlite_autoincrement=True,
    )
    # Not listed in gpkg_contents: QGIS need not show it.
    sa.Table(
        META,
        md,
        sa.Column("key", text, primary_key=True),
        sa.Column("value", text, nullable=False),
    )
    return md


def _number(record_id: str, prefix: str, what: str) -> int:
    m = re.fullmatch(rf"{prefix}(\d{{1,18}})", record_id) if isinstance(record_id, str) else None
    if m is None:
        msg = f"no {what} {record_id!r}"
        raise NotFound(msg)
    return int(m.group(1))


def _hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT, dklen=32)
    p = _SCRYPT
    return f"scrypt${p['n']}${p['r']}${p['p']}${salt.hex()}${digest.hex()}"


def _check_password(password: str, stored: str) -> bool:
    _, n, r, p, salt, digest = stored.split("$")
    got = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(got, bytes.fromhex(digest))


# A hash to check against when the name is unknown, so both answers take as long.
_DUMMY = _hash_password(secrets.token_urlsafe(16))


def _token_hash(token: str) -> str:
    # Tokens are 256 random bits: a fast hash cannot be brute-forced, and lookup is by hash.
    return hashlib.sha256(token.encode()).hexdigest()


# ----------------------------------------------------------------------------- layers


def _column_values(series: pd.Series) -> list[Any]:
    """Return a column's values as JSON-ready Python values (missing -> None)."""
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series):
        return [None if pd.isna(v) else v.isoformat() for v in series]
    if isinstance(series.dtype, gpd.array.GeometryDtype):  # a second geometry column: WKT
        return list(shapely.to_wkt(series.to_numpy()))
    values = series.astype(object).tolist()
    missing = series.isna().to_numpy()
    if missing.any():
        for i in np.flatnonzero(missing).tolist():
            values[i] = None
    return values


def _restore(series: pd.Series, dtype: str) -> pd.Series:
    """Return a read-back column in its stored dtype (left as read when it cannot be)."""
    try:
        if dtype.startswith("datetime64"):
            aware = "," in dtype or "UTC" in dtype
            out = pd.to_datetime(series, format="ISO8601", utc=aware)
            return out.astype(pd.api.types.pandas_dtype(dtype))
        if dtype == "geometry":
            return gpd.GeoSeries.from_wkt(series.astype(object).where(series.notna(), None))
        if dtype == "object":
            return series.astype(object).where(series.notna(), None)
        return series.astype(pd.api.types.pandas_dtype(dtype))
    except (TypeError, ValueError):
        return series


class SqlStore(Store):
    """The store on a SQLAlchemy engine: SQLite (GeoPackage) or PostgreSQL + PostGIS."""

    #: Features per INSERT batch: bounds the memory of one statement, not the transaction.
    BATCH = 10_000

    def __init__(self, engine: Engine, *, url: str) -> None:
        self.url = url
        self._engine = engine
        self._pg = engine.dialect.name == "postgresql"
        self._md = _tables(self._pg)
        t = self._md.tables
        self._users, self._tokens = t["users"], t["tokens"]
        self._layers, self._features = t["layers"], t[FEATURES]
        self._scenarios, self._plans = t["scenarios"], t["plans"]
        self._artifacts, self._jobs, self._audit = t["artifacts"], t["jobs"], t["audit"]
        try:
            self._create()
        except StoreError:
            engine.dispose()
            raise
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            msg = f"cannot open the store {url}: {exc.__class__.__name__}: {_first_line(exc)}"
            raise StoreError(msg) from exc

    # ------------------------------------------------------------------ plumbing
    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite): all of it lands or none."""
        with self._engine.connect() as conn:
            conn.execution_options(pingan_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """One read transaction: a consistent snapshot."""
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def _create(self) -> None:
        with self._write() as c:
            if self._pg:
                try:
                    with c.begin_nested():
                        c.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
                except sa.exc.DBAPIError as exc:
                    msg = (
                        f"cannot open the store {self.url}: PostGIS is not installed in the"
                        " database and this user may not add it (an administrator runs"
                        f" CREATE EXTENSION postgis): {_first_line(exc.orig)}"
                    )
                    raise StoreError(msg) from exc
                self._md.create_all(c)
            else:
                self._create_geopackage(c)
            self._check_schema(c)

    def _create_geopackage(self, c: Connection) -> None:
        app_id = c.exec_driver_sql("PRAGMA application_id").scalar()
        fresh = not app_id
        if not fresh and app_id != gpkg.APPLICATION_ID:
            msg = f"{self.url} is a SQLite file but not a GeoPackage (application id {app_id})"
            raise StoreError(msg)
        for stmt in gpkg.BOOTSTRAP_SQL:
            c.exec_driver_sql(stmt)
        self._md.create_all(c)
        others = [n for n in self._md.tables if n not in (FEATURES, META)]
        for stmt, params in gpkg.register_sql(FEATURES, GEOMETRY, others):
            c.execute(sa.text(stmt), params)
        if fresh:
            c.exec_driver_sql(f"PRAGMA application_id = {gpkg.APPLICATION_ID}")
            c.exec_driver_sql(f"PRAGMA user_version = {gpkg.USER_VERSION}")

    def _check_schema(self, c: Connection) -> None:
        meta = self._md.tables[META]
        found = c.execute(sa.select(meta.c.value).where(meta.c.key == "schema")).scalar()
        if found is None:
            c.execute(meta.insert().values(key="schema", value=str(SCHEMA)))
        elif int(found) > SCHEMA:
            msg = (
                f"the store {self.url} was written by a newer pingan (tables version {found};"
                f" this one knows {SCHEMA}): upgrade pingan to open it"
            )
            raise StoreError(msg)

    def close(self) -> None:
        """Release the connections (a WAL file is checkpointed on the last close)."""
        self._engine.dispose()

    # ------------------------------------------------------------------ users
    def _user(self, row: sa.Row[Any]) -> User:
        return User(
            id=f"U{row.id}", name=row.name, role=row.role, team=row.team, created=row.created
        )

    def create_user(self, name: str, role: Role, password: str, *, team: str | None = None) -> User:
        """Add a user (password stored as a salted scrypt hash); Conflict on a taken name."""
        if role not in _ROLES:
            msg = f"unknown role {role!r}: one of {', '.join(sorted(_ROLES))}"
            raise StoreError(msg)
        if not name or not isinstance(name, str):
            msg = "a user needs a name"
            raise StoreError(msg)
        created = now()
        values = {
            "name": name,
            "role": role,
            "team": team,
            "password": _hash_password(password),
            "created": created,
        }
        try:
            with self._write() as c:
                key = _key(c.execute(self._users.insert().values(values)))
        except sa.exc.IntegrityError as exc:
            msg = f"the user name {name!r} is taken"
            raise Conflict(msg) from exc
        return User(id=f"U{key}", name=name, role=role, team=team, created=created)

    def list_users(self) -> list[User]:
        """Return every user, oldest first."""
        with self._read() as c:
            rows = c.execute(sa.select(self._users).order_by(self._users.c.id)).all()
        return [self._user(r) for r in rows]

    def get_user(self, user_id: str) -> User:
        """Raise NotFound."""
        key = _number(user_id, "U", "user")
        with self._read() as c:
            row = c.execute(sa.select(self._users).where(self._users.c.id == key)).first()
        if row is None:
            msg = f"no user {user_id!r}"
            raise NotFound(msg)
        return self._user(row)

    def delete_user(self, user_id: str) -> None:
        """Delete a user and their tokens; NotFound."""
        key = _number(user_id, "U", "user")
        with self._write() as c:
            c.execute(self._tokens.delete().where(self._tokens.c.user_id == key))
            gone = c.execute(self._users.delete().where(self._users.c.id == key)).rowcount
        if not gone:
            msg = f"no user {user_id!r}"
            raise NotFound(msg)

    def check_password(self, name: str, password: str) -> User | None:
        """Return the user when the password is right, else None (constant-time compare)."""
        with self._read() as c:
            row = c.execute(sa.select(self._users).where(self._users.c.name == name)).first()
        if row is None:
            _check_password(password, _DUMMY)  # as slow as a known name: names do not leak
            return None
        return self._user(row) if _check_password(password, row.password) else None

    def issue_token(self, user_id: str, *, label: str = "") -> str:
        """Return a new random bearer token; only its SHA-256 is stored."""
        key = _number(user_id, "U", "user")
        token = secrets.token_urlsafe(32)
        values = {
            "hash": _token_hash(token),
            "user_id": key,
            "label": label,
            "created": now(),
            "revoked": False,
        }
        with self._write() as c:
            if (
                c.execute(sa.select(self._users.c.id).where(self._users.c.id == key)).first()
                is None
            ):
                msg = f"no user {user_id!r}"
                raise NotFound(msg)
            c.execute(self._tokens.insert().values(values))
        return token

    def user_for_token(self, token: str) -> User | None:
        """Return the token's user, or None for an unknown or revoked token."""
        if not token or not isinstance(token, str):
            return None
        u, t = self._users, self._tokens
        query = (
            sa.select(u)
            .join(t, t.c.user_id == u.c.id)
            .where(t.c.hash == _token_hash(token), t.c.revoked.is_(False))
        )
        with self._read() as c:
            row = c.execute(query).first()
        return None if row is None else self._user(row)

    def revoke_token(self, token: str) -> None:
        """Make ``token`` unusable (an unknown one is ignored)."""
        if not token or not isinstance(token, str):
            return
        with self._write() as c:
            c.execute(
                self._tokens.update()
                .where(self._tokens.c.hash == _token_hash(token))
                .values(revoked=True)
            )

    # ------------------------------------------------------------------ layers
    def _layer(self, row: sa.Row[Any]) -> LayerRecord:
        bbox = None
        if row.min_x is not None:
            bbox = (row.min_x, row.min_y, row.max_x, row.max_y)
        return LayerRecord(
            id=f"L{row.id}",
            name=row.name,
            kind=row.kind,
            source=row.source,
            features=row.features,
            columns=tuple(row.columns),
            bbox=bbox,
            created=row.created,
            created_by=row.created_by,
        )

    def _encode_geometries(self, geoms: np.ndarray) -> list[Any]:
        if self._pg:
            # ST_GeomFromEWKT (GeoAlchemy2's bind) also reads hex EWKB: exact, no WKT round trip.
            return list(shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True))
        return gpkg.encode(geoms)

    def _decode_geometries(self, values: Sequence[Any]) -> np.ndarray:
        if self._pg:
            wkb = [None if v is None else bytes(v.data) for v in values]
            return shapely.from_wkb(np.array(wkb, dtype=object))
        return gpkg.decode(values)

    def put_layer(
        self, name: str, kind: str, frame: gpd.GeoDataFrame, *, source: str, user_id: str
    ) -> LayerRecord:
        """Store a layer (any CRS; stored in WGS84) in one transaction; Conflict on a taken name."""
        if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
            msg = f"layer {name!r} is not a GeoDataFrame with a geometry column"
            raise StoreError(msg)
        if frame.crs is None:
            msg = f"layer {name!r} has no CRS: set one (EPSG:4326 for longitude/latitude)"
            raise StoreError(msg)
        wgs = frame if frame.crs.to_epsg() == 4326 else frame.to_crs(4326)
        geom_name = wgs.geometry.name
        columns = [c for c in wgs.columns if c != geom_name]
        bad = [c for c in columns if not isinstance(c, str)]
        if bad:
            msg = f"layer {name!r} has column names that are not text: {bad!r}"
            raise StoreError(msg)
        twice = sorted({c for c in columns if columns.count(c) > 1})
        if twice:
            msg = f"layer {name!r} has the column(s) {', '.join(twice)} more than once"
            raise StoreError(msg)
        meta = {
            "order": [str(c) for c in wgs.columns],
            "geometry": geom_name,
            "dtypes": {c: str(wgs[c].dtype) for c in columns},
        }
        geoms = wgs.geometry.to_numpy()
        has = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        bbox = shapely.total_bounds(geoms[has]).tolist() if has.any() else [None] * 4
        values = {
            "name": name,
            "kind": kind,
            "source": source,
            "features": len(wgs),
            "columns": columns,
            "meta": meta,
            "min_x": bbox[0],
            "min_y": bbox[1],
            "max_x": bbox[2],
            "max_y": bbox[3],
            "created": now(),
            "created_by": user_id,
        }
        cols = {c: _column_values(wgs[c]) for c in columns}
        props = [dict(zip(columns, row, strict=True)) for row in zip(*cols.values(), strict=True)]
        if not columns:
            props = [{} for _ in range(len(wgs))]
        try:
            with self._write() as c:
                key = _key(c.execute(self._layers.insert().values(values)))
                for lo in range(0, len(wgs), self.BATCH):
                    hi = min(lo + self.BATCH, len(wgs))
                    blobs = self._encode_geometries(geoms[lo:hi])
                    rows = [
                        {"layer_id": key, "idx": i, "props": props[i], GEOMETRY: blobs[i - lo]}
                        for i in range(lo, hi)
                    ]
                    with _storing(f"layer {name!r}: features {lo}-{hi - 1}"):
                        c.execute(self._features.insert(), rows)
                self._extent(c)
        except sa.exc.IntegrityError as exc:
            msg = f"the layer name {name!r} is taken"
            raise Conflict(msg) from exc
        return self.get_layer(f"L{key}")

    def _extent(self, c: Connection) -> None:
        """Keep the GeoPackage's extent of layer_features (QGIS zooms to it) up to date."""
        if self._pg:
            return
        c.execute(
            sa.text(
                "UPDATE gpkg_contents SET (min_x, min_y, max_x, max_y, last_change) ="
                " (SELECT min(min_x), min(min_y), max(max_x), max(max_y),"
                " strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM layers)"
                " WHERE table_name = :t"
            ),
            {"t": FEATURES},
        )

    def list_layers(self) -> list[LayerRecord]:
        """Return every layer, oldest first."""
        with self._read() as c:
            rows = c.execute(sa.select(self._layers).order_by(self._layers.c.id)).all()
        return [self._layer(r) for r in rows]

    def get_layer(self, layer_id: str) -> LayerRecord:
        """Raise NotFound."""
        key = _number(layer_id, "L", "layer")
        with self._read() as c:
            row = c.execute(sa.select(self._layers).where(self._layers.c.id == key)).first()
        if row is None:
            msg = f"no layer {layer_id!r}"
            raise NotFound(msg)
        return self._layer(row)

    def read_layer(self, layer_id: str) -> gpd.GeoDataFrame:
        """Return the features in EPSG:4326 with their columns and types; NotFound."""
        key = _number(layer_id, "L", "layer")
        f = self._features
        with self._read() as c:
            row = c.execute(sa.select(self._layers).where(self._layers.c.id == key)).first()
            if row is None:
                msg = f"no layer {layer_id!r}"
                raise NotFound(msg)
            feats = c.execute(
                sa.select(f.c.props, f.c[GEOMETRY]).where(f.c.layer_id == key).order_by(f.c.idx)
            ).all()
        meta = row.meta
        columns = list(row.columns)
        props = [r[0] for r in feats]
        table = pd.DataFrame.from_records(props, columns=columns) if props else None
        data = {}
        for col in columns:
            series = table[col] if table is not None else pd.Series([], dtype=object)
            data[col] = _restore(series, meta["dtypes"][col])
        name = meta["geometry"]
        data[name] = gpd.GeoSeries(self._decode_geometries([r[1] for r in feats]), crs=4326)
        frame = gpd.GeoDataFrame(data, index=pd.RangeIndex(len(feats)), geometry=name, crs=4326)
        return frame[meta["order"]]

    def delete_layer(self, layer_id: str) -> None:
        """NotFound."""
        key = _number(layer_id, "L", "layer")
        with self._write() as c:
            c.execute(self._features.delete().where(self._features.c.layer_id == key))
            gone = c.execute(self._layers.delete().where(self._layers.c.id == key)).rowcount
            self._extent(c)
        if not gone:
            msg = f"no layer {layer_id!r}"
            raise NotFound(msg)

    # ------------------------------------------------------------------ scenarios
    def _scenario(self, row: sa.Row[Any]) -> ScenarioRecord:
        return ScenarioRecord(
            id=f"S{row.id}",
            name=row.name,
            data=row.data,
            version=row.version,
            created=row.created,
            updated=row.updated,
            created_by=row.created_by,
        )

    def put_scenario(self, name: str, data: Mapping[str, Any], *, user_id: str) -> ScenarioRecord:
        """Conflict on a taken name."""
        t = now()
        values = {
            "name": name,
            "data": dict(data),
            "version": 1,
            "created": t,
            "updated": t,
            "created_by": user_id,
        }
        try:
            with _storing(f"scenario {name!r}"), self._write() as c:
                key = _key(c.execute(self._scenarios.insert().values(values)))
        except sa.exc.IntegrityError as exc:
            msg = f"the scenario name {name!r} is taken"
            raise Conflict(msg) from exc
        return self.get_scenario(f"S{key}")

    def update_scenario(
        self, scenario_id: str, data: Mapping[str, Any], *, version: int, name: str | None = None
    ) -> ScenarioRecord:
        """Replace the data of ``version``; Conflict when it is no longer the newest."""
        key = _number(scenario_id, "S", "scenario")
        s = self._scenarios
        changes: dict[str, Any] = {"data": dict(data), "version": s.c.version + 1, "updated": now()}
        if name is not None:
            changes["name"] = name
        try:
            with _storing(f"scenario {scenario_id}"), self._write() as c:
                # The version in the WHERE makes check-and-set one statement: two editors
                # of version 3 cannot both win.
                done = c.execute(
                    s.update().where(s.c.id == key, s.c.version == version).values(changes)
                ).rowcount
                if not done:
                    current = c.execute(sa.select(s.c.version).where(s.c.id == key)).scalar()
                    if current is None:
                        msg = f"no scenario {scenario_id!r}"
                        raise NotFound(msg)
                    msg = (
                        f"scenario {scenario_id} is at version {current}, not {version}:"
                        " reload it and edit the newest"
                    )
                    raise Conflict(msg)
        except sa.exc.IntegrityError as exc:
            msg = f"the scenario name {name!r} is taken"
            raise Conflict(msg) from exc
        return self.get_scenario(scenario_id)

    def list_scenarios(self) -> list[ScenarioRecord]:
        """Return every scenario, oldest first."""
        with self._read() as c:
            rows = c.execute(sa.select(self._scenarios).order_by(self._scenarios.c.id)).all()
        return [self._scenario(r) for r in rows]

    def get_scenario(self, scenario_id: str) -> ScenarioRecord:
        """Raise NotFound."""
        key = _number(scenario_id, "S", "scenario")
        with self._read() as c:
            row = c.execute(sa.select(self._scenarios).where(self._scenarios.c.id == key)).first()
        if row is None:
            msg = f"no scenario {scenario_id!r}"
            raise NotFound(msg)
        return self._scenario(row)

    def delete_scenario(self, scenario_id: str) -> None:
        """NotFound."""
        key = _number(scenario_id, "S", "scenario")
        with self._write() as c:
            gone = c.execute(self._scenarios.delete().where(self._scenarios.c.id == key)).rowcount
        if not gone:
            msg = f"no scenario {scenario_id!r}"
            raise NotFound(msg)

    # ------------------------------------------------------------------ plans and files
    def _plan(self, row: sa.Row[Any], names: Sequence[str]) -> PlanRecord:
        return PlanRecord(
            id=f"P{row.id}",
            kind=row.kind,
            summary=row.summary,
            artifacts=tuple(sorted(names)),
            job_id=row.job_id,
            created=row.created,
            created_by=row.created_by,
        )

    def _insert_files(
        self, c: Connection, owner: str, files: Mapping[str, tuple[str, bytes]]
    ) -> None:
        a = self._artifacts
        if not files:
            return
        c.execute(a.delete().where(a.c.owner == owner, a.c.name.in_(list(files))))
        t = now()
        rows = []
        for name, (media_type, data) in files.items():
            if not isinstance(data, bytes | bytearray | memoryview):
                msg = f"file {name!r} of {owner}: data must be bytes, not {type(data).__name__}"
                raise StoreError(msg)
            rows.append(
                {
                    "owner": owner,
                    "name": name,
                    "media_type": media_type,
                    "data": bytes(data),
                    "created": t,
                }
            )
        c.execute(a.insert(), rows)

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
        values = {
            "kind": kind,
            "summary": dict(summary),
            "job_id": job_id,
            "created": now(),
            "created_by": user_id,
        }
        with _storing(f"a {kind} plan"), self._write() as c:
            key = _key(c.execute(self._plans.insert().values(values)))
            self._insert_files(c, f"plan:P{key}", artifacts)
        return self.get_plan(f"P{key}")

    def list_plans(self, kind: str | None = None) -> list[PlanRecord]:
        """Return the plans (of ``kind``), newest first."""
        p, a = self._plans, self._artifacts
        query = sa.select(p).order_by(p.c.id.desc())
        if kind is not None:
            query = query.where(p.c.kind == kind)
        with self._read() as c:
            rows = c.execute(query).all()
            names: dict[str, list[str]] = {}
            files = c.execute(sa.select(a.c.owner, a.c.name).where(a.c.owner.like("plan:P%"))).all()
        for owner, name in files:
            names.setdefault(owner, []).append(name)
        return [self._plan(r, names.get(f"plan:P{r.id}", [])) for r in rows]

    def get_plan(self, plan_id: str) -> PlanRecord:
        """Raise NotFound."""
        key = _number(plan_id, "P", "plan")
        with self._read() as c:
            row = c.execute(sa.select(self._plans).where(self._plans.c.id == key)).first()
            names = c.execute(
                sa.select(self._artifacts.c.name).where(self._artifacts.c.owner == f"plan:P{key}")
            ).scalars()
            found = list(names)
        if row is None:
            msg = f"no plan {plan_id!r}"
            raise NotFound(msg)
        return self._plan(row, found)

    def put_artifacts(self, owner: str, files: Mapping[str, tuple[str, bytes]]) -> None:
        """Store files of ``owner`` ("job:J1", "plan:P1"), replacing same-named ones."""
        with self._write() as c:
            self._insert_files(c, owner, files)

    def artifact(self, owner: str, name: str) -> Artifact:
        """Raise NotFound."""
        a = self._artifacts
        with self._read() as c:
            row = c.execute(sa.select(a).where(a.c.owner == owner, a.c.name == name)).first()
        if row is None:
            msg = f"{owner} has no file {name!r}"
            raise NotFound(msg)
        return Artifact(owner=owner, name=name, media_type=row.media_type, data=bytes(row.data))

    def artifact_names(self, owner: str) -> list[str]:
        """Return the names of ``owner``'s files, sorted."""
        a = self._artifacts
        with self._read() as c:
            names = c.execute(sa.select(a.c.name).where(a.c.owner == owner)).scalars().all()
        return sorted(names)

    # ------------------------------------------------------------------ jobs
    def _job(self, row: sa.Row[Any]) -> JobRecord:
        return JobRecord(
            id=f"J{row.id}",
            kind=row.kind,
            status=row.status,
            progress=row.progress,
            message=row.message,
            params=row.params,
            result=row.result,
            error=row.error,
            idempotency_key=row.idempotency_key,
            created_by=row.created_by,
            created=row.created,
            started=row.started,
            finished=row.finished,
            cancel_requested=bool(row.cancel_requested),
        )

    def _job_by_key(self, c: Connection, kind: str, user_id: str, key: str) -> sa.Row[Any] | None:
        j = self._jobs
        return c.execute(
            sa.select(j).where(
                j.c.kind == kind, j.c.created_by == user_id, j.c.idempotency_key == key
            )
        ).first()

    def create_job(
        self,
        kind: str,
        params: Mapping[str, Any],
        *,
        user_id: str,
        idempotency_key: str | None = None,
    ) -> tuple[JobRecord, bool]:
        """Add a queued job and return it with True; a key used before returns that job, False."""
        values = {
            "kind": kind,
            "status": "queued",
            "progress": 0.0,
            "message": "queued",
            "params": dict(params),
            "result": None,
            "error": None,
            "idempotency_key": idempotency_key,
            "created_by": user_id,
            "created": now(),
            "started": None,
            "finished": None,
            "cancel_requested": False,
        }
        try:
            with _storing(f"a {kind} job"), self._write() as c:
                if idempotency_key is not None:
                    row = self._job_by_key(c, kind, user_id, idempotency_key)
                    if row is not None:
                        return self._job(row), False
                key = _key(c.execute(self._jobs.insert().values(values)))
        except sa.exc.IntegrityError:
            # PostgreSQL: another request with the same key committed between our
            # look-up and insert; the unique constraint makes it the one job.
            if idempotency_key is None:
                raise
            with self._read() as c:
                row = self._job_by_key(c, kind, user_id, idempotency_key)
            if row is None:
                raise
            return self._job(row), False
        return self.get_job(f"J{key}"), True

    def update_job(self, job_id: str, **changes: Any) -> JobRecord:
        """Set fields and return the job; NotFound."""
        key = _number(job_id, "J", "job")
        unknown = sorted(set(changes) - _JOB_FIELDS)
        if unknown:
            msg = f"a job has no field(s) {', '.join(unknown)}"
            raise StoreError(msg)
        if "status" in changes and changes["status"] not in _STATUSES:
            msg = f"unknown job status {changes['status']!r}"
            raise StoreError(msg)
        if "result" in changes and changes["result"] is not None:
            changes["result"] = dict(changes["result"])
        j = self._jobs
        with _storing(f"job {job_id}"), self._write() as c:
            if changes:
                done = c.execute(j.update().where(j.c.id == key).values(changes)).rowcount
            else:
                done = c.execute(sa.select(j.c.id).where(j.c.id == key)).first() is not None
            if not done:
                msg = f"no job {job_id!r}"
                raise NotFound(msg)
            row = c.execute(sa.select(j).where(j.c.id == key)).one()
        return self._job(row)

    def get_job(self, job_id: str) -> JobRecord:
        """Raise NotFound."""
        key = _number(job_id, "J", "job")
        with self._read() as c:
            row = c.execute(sa.select(self._jobs).where(self._jobs.c.id == key)).first()
        if row is None:
            msg = f"no job {job_id!r}"
            raise NotFound(msg)
        return self._job(row)

    def list_jobs(self, *, user_id: str | None = None) -> list[JobRecord]:
        """Return the jobs (of ``user_id``), newest first."""
        j = self._jobs
        query = sa.select(j).order_by(j.c.id.desc())
        if user_id is not None:
            query = query.where(j.c.created_by == user_id)
        with self._read() as c:
            rows = c.execute(query).all()
        return [self._job(r) for r in rows]

    def fail_interrupted(self) -> int:
        """Mark every queued or running job failed and return how many."""
        j = self._jobs
        with self._write() as c:
            return c.execute(
                j.update()
                .where(j.c.status.in_(["queued", "running"]))
                .values(
                    status="failed",
                    error="interrupted by a restart",
                    message="interrupted by a restart",
                    finished=now(),
                )
            ).rowcount

    # ------------------------------------------------------------------ audit
    def audit(
        self,
        user: User | None,
        action: str,
        target: str,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that ``user`` did ``action`` to ``target``, now."""
        values = {
            "at": now(),
            "user_id": None if user is None else user.id,
            "user_name": None if user is None else user.name,
            "action": action,
            "target": target,
            "detail": dict(detail or {}),
        }
        with _storing(f"the audit entry {action} {target}"), self._write() as c:
            c.execute(self._audit.insert().values(values))

    def audit_log(self, *, limit: int = 100) -> list[AuditEntry]:
        """Newest first."""
        a = self._audit
        with self._read() as c:
            rows = c.execute(sa.select(a).order_by(a.c.id.desc()).limit(max(0, int(limit)))).all()
        return [
            AuditEntry(
                id=r.id,
                at=r.at,
                user_id=r.user_id,
                user_name=r.user_name,
                action=r.action,
                target=r.target,
                detail=r.detail,
            )
            for r in rows
        ]


def _key(result: sa.CursorResult[Any]) -> int:
    pk = result.inserted_primary_key
    assert pk is not None, "an INSERT without a primary key"
    return int(pk[0])


def _first_line(exc: BaseException | None) -> str:
    return str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else ""


def _unstorable(what: str, exc: Exception) -> StoreError:
    cause = exc.orig if isinstance(exc, sa.exc.StatementError) and exc.orig is not None else exc
    return StoreError(f"{what} cannot be stored: {_first_line(cause)}")


@contextmanager
def _storing(what: str) -> Iterator[None]:
    """Turn a value that cannot be stored into a StoreError naming ``what``."""
    try:
        yield
    except (StoreError, sa.exc.IntegrityError, sa.exc.OperationalError):
        raise
    except (sa.exc.StatementError, TypeError, ValueError) as exc:
        raise _unstorable(what, exc) from exc
