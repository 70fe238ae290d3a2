"""What makes the embedded store a GeoPackage: the required tables and geometry blobs.

GeoPackage (OGC 12-128r18) is SQLite with three metadata tables, an application id
and geometries stored as a small header ("GP", version, flags, SRS id, envelope)
followed by ISO WKB. With those, QGIS and GDAL open ``pingan.gpkg`` and show
``layer_features`` as a layer and the other tables as attribute tables.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import shapely

__all__ = [
    "APPLICATION_ID",
    "BOOTSTRAP_SQL",
    "USER_VERSION",
    "decode",
    "encode",
    "register_sql",
]

#: "GPKG" in ASCII, the GeoPackage application id (PRAGMA application_id).
APPLICATION_ID = 0x47504B47
#: GeoPackage 1.4.0.
USER_VERSION = 10400
SRS_ID = 4326

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AUTHORITY["EPSG","4326"]]'
)

#: The tables every GeoPackage has, with the three spatial reference rows it must hold.
BOOTSTRAP_SQL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
        organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
        definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
        identifier TEXT UNIQUE, description TEXT DEFAULT '',
        last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL,
        geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL,
        z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT uk_gc_table_name UNIQUE (table_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
    "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES ('Undefined cartesian SRS', -1, 'NONE',"
    " -1, 'undefined', 'undefined cartesian coordinate reference system')",
    "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic SRS', 0, 'NONE',"
    " 0, 'undefined', 'undefined geographic coordinate reference system')",
    f"INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG',"
    f" 4326, '{_WGS84_WKT}', 'longitude/latitude coordinates in decimal degrees on WGS 84')",
)


def register_sql(
    features: str, geometry_column: str, attributes: Sequence[str]
) -> list[tuple[str, dict[str, object]]]:
    """Return the statements that list the tables in gpkg_contents (idempotent)."""
    # z = 2: heights are optional (kept when a layer has them); m = 0: no measures.
    out: list[tuple[str, dict[str, object]]] = [
        (
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier,"
            " description, srs_id) VALUES (:t, 'features', :t, :d, :s)",
            {"t": features, "d": "the features of every stored layer", "s": SRS_ID},
        ),
        (
            "INSERT OR IGNORE INTO gpkg_geometry_columns VALUES (:t, :c, 'GEOMETRY', :s, 2, 0)",
            {"t": features, "c": geometry_column, "s": SRS_ID},
        ),
    ]
    for name in attributes:
        out.append(
            (
                "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier)"
                " VALUES (:t, 'attributes', :t)",
                {"t": name},
            )
        )
    return out


# flags: bit 0 little-endian, bits 1-3 the envelope kind (1 = xy), bit 4 empty geometry.
_HEAD_XY = struct.Struct("<2sBBi4d")
_HEAD_EMPTY = struct.Struct("<2sBBi")
_FLAGS_XY = 0b0000_0011
_FLAGS_EMPTY = 0b0001_0001
#: Envelope bytes by the envelope kind of the flags (0 none, 1 xy, 2 xyz, 3 xym, 4 xyzm).
_ENVELOPE = (0, 32, 48, 48, 64)


def encode(geoms: np.ndarray) -> list[bytes | None]:
    """Return GeoPackage blobs of ``geoms`` (a shapely array; None stays None).

    The envelope (min x, max x, min y, max y) is written, so readers can skip a
    geometry without parsing it.
    """
    wkb = shapely.to_wkb(geoms, byte_order=1, flavor="iso")
    bounds = shapely.bounds(geoms)
    empty = shapely.is_empty(geoms)
    out: list[bytes | None] = []
    for w, (x0, y0, x1, y1), e in zip(wkb, bounds.tolist(), empty.tolist(), strict=True):
        if w is None:
            out.append(None)
        elif e:
            out.append(_HEAD_EMPTY.pack(b"GP", 0, _FLAGS_EMPTY, SRS_ID) + w)
        else:
            out.append(_HEAD_XY.pack(b"GP", 0, _FLAGS_XY, SRS_ID, x0, x1, y0, y1) + w)
    return out


def decode(blobs: Sequence[bytes | None]) -> np.ndarray:
    """Return the shapely geometries of GeoPackage blobs (None for NULL)."""
    wkb: list[bytes | None] = []
    for b in blobs:
        if b is None:
            wkb.append(None)
            continue
        b = bytes(b)
        if b[:2] != b"GP":
            msg = f"a stored geometry is not a GeoPackage blob (starts {b[:2]!r})"
            raise ValueError(msg)
        wkb.append(b[8 + _ENVELOPE[(b[3] >> 1) & 0b111] :])
    return shapely.from_wkb(np.array(wkb, dtype=object))
