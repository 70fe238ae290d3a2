"""One vocabulary for what the analyses return: frozen, self-checking results.

Every public analysis returns a subclass of :class:`Result`, a frozen dataclass that

- checks itself in ``__post_init__`` (subclasses add their own invariants in
  :meth:`Result._check`), so an inconsistent result cannot exist;
- makes every numpy array it holds read-only, and hands out *copies* of its
  DataFrames, so a caller cannot corrupt a result that a cache or a server holds;
- gives :meth:`tables` (named DataFrames/GeoDataFrames), :meth:`to_dict` (JSON-ready
  metadata: numbers, text, parameters, nested results) and, where it has geometry,
  :meth:`to_geojson` (a WGS84 FeatureCollection).

This is what the HTTP layer serialises and the report writers render. Metadata lives in
fields, never in ``DataFrame.attrs``, which pandas drops on many operations.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

__all__ = ["Result", "jsonable"]


def jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON data (dicts, lists, str, int, float, bool, None).

    NaN and infinities become None (JSON has no such numbers); CRSs become their
    authority string; dataclasses (parameters) become dicts; nested results their
    :meth:`Result.to_dict`.
    """
    if isinstance(value, Result):
        return value.to_dict()
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, pyproj.CRS):
        epsg = value.to_epsg()
        return f"EPSG:{epsg}" if epsg else value.to_string()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        # tolist() of a 0-d array is a plain scalar, not a list.
        return jsonable(value.item()) if value.ndim == 0 else [jsonable(v) for v in value.tolist()]
    if isinstance(value, Mapping | MappingProxyType):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value)


@dataclasses.dataclass(frozen=True, eq=False)
class Result:
    """Base of every analysis result (see the module notes).

    Subclasses are ``@dataclass(frozen=True, eq=False)``. Fields holding DataFrames are
    tables, fields holding arrays are made read-only, everything else is metadata.
    ``_geometry_table`` names the table :meth:`to_geojson` exports by default.
    """

    _geometry_table: ClassVar[str | None] = None

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = object.__getattribute__(self, f.name)
            if isinstance(value, np.ndarray) and value.flags.writeable:
                frozen = value.view()
                frozen.setflags(write=False)
                object.__setattr__(self, f.name, frozen)
        self._check()

    def _check(self) -> None:
        """Raise if the result is inconsistent (subclasses override)."""

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        # Frames are mutable whatever we do, so callers get a copy and the result stays
        # as it was computed. Methods of the result read the stored frame via _frame().
        if isinstance(value, pd.DataFrame) and not name.startswith("_"):
            return value.copy()
        return value

    def _frame(self, name: str) -> pd.DataFrame:
        """Return a stored frame without copying it (for the result's own methods)."""
        out = object.__getattribute__(self, name)
        assert isinstance(out, pd.DataFrame)
        return out

    # ------------------------------------------------------------------ views

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return every table of the result by name (copies)."""
        out: dict[str, pd.DataFrame] = {}
        for f in dataclasses.fields(self):
            value = object.__getattribute__(self, f.name)
            if isinstance(value, pd.DataFrame):
                out[f.name] = value.copy()
        out.update(self._extra_tables())
        return out

    def _extra_tables(self) -> dict[str, pd.DataFrame]:
        """Return derived tables a subclass adds to :meth:`tables`."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """Return the result's metadata as JSON-ready data (no tables)."""
        out: dict[str, Any] = {"kind": type(self).__name__}
        for f in dataclasses.fields(self):
            value = object.__getattribute__(self, f.name)
            if isinstance(value, pd.DataFrame):
                continue
            out[f.name] = jsonable(value)
        out.update({k: jsonable(v) for k, v in self._extra_meta().items()})
        return out

    def _extra_meta(self) -> dict[str, Any]:
        """Return derived metadata a subclass adds to :meth:`to_dict`."""
        return {}

    def to_json(self) -> str:
        """Return :meth:`to_dict` as JSON text (UTF-8, Chinese names kept as they are)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def to_geojson(self, table: str | None = None) -> dict[str, Any]:
        """Return a geometric table as a GeoJSON FeatureCollection in WGS84.

        Parameters
        ----------
        table
            Name of a table from :meth:`tables` that has geometry; default the result's
            main geometric table.

        Raises
        ------
        TypeError
            If the result has no geometric table (or ``table`` has no geometry).
        """
        name = table or self._geometry_table
        tables = self.tables()
        if name is None or name not in tables:
            msg = f"{type(self).__name__} has no geometric table {name!r}"
            raise TypeError(msg)
        gdf = tables[name]
        if not isinstance(gdf, gpd.GeoDataFrame):
            msg = f"{type(self).__name__}.{name} has no geometry"
            raise TypeError(msg)
        out = gdf.to_crs(4326) if gdf.crs is not None else gdf
        text = out.to_json(drop_id=True, na="null")
        data: dict[str, Any] = json.loads(text)
        return data
