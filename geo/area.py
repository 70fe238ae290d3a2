"""The area: the unit every analysis, job, server and worker runs on.

An :class:`Area` holds what one county, district or township is made of, loaded once:
the routing network and its engine per travel mode, every road of the primary mode
(:class:`~geo.network.Roads`, connected to the routing core or not) with a length engine
for distances along roads, the layers (villages, stations, teams, incidents, village
groups and boundaries, auxiliary officers) in one working CRS, and the description of
where it all came from (:class:`AreaSpec`).

:func:`load_area` is the one way to build it, from a user's files, from an area file
(TOML or JSON listing those files with their options, paths relative to the file) or
from the embedded sample district. Nothing else in the product reads layer files or
builds networks for an analysis: the CLI, the main job, scenarios, the HTTP service
(in its lifespan) and Dask tasks all take an Area.

An Area is frozen and built when :func:`load_area` returns (road views, engines and the
road snap index included), so the threads of a server can share one and a worker can
receive one. The one thing filled in later is each travel mode's snap index, built on
first use under the engine's lock (hot spots and dark roads never snap to the routing
core, and on a large area it costs seconds and hundreds of megabytes).
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import layers
from geo.engine import Engine, EngineParams
from geo.errors import AreaError, PinganError
from geo.hotspots.filters import in_hour_window
from geo.network import (
    MODES,
    BuildOptions,
    LineLayer,
    Mode,
    ProgressFn,
    RoadNetwork,
    Roads,
    SnapIndex,
    check_mode,
    is_line_layer,
    load_networks,
)
from geo.validate import same_crs

__all__ = [
    "LAYERS",
    "Area",
    "AreaSpec",
    "LayerName",
    "LayerSource",
    "load_area",
    "sample_area",
]

#: A window of local clock hours, (start, end), wrapping past midnight if start > end.
HourWindow = tuple[float | str, float | str]
LayerName = Literal[
    "villages", "stations", "teams", "incidents", "groups", "boundaries", "officers"
]
#: The layers an area may hold, in the order reports list them. ``groups`` are the
#: village groups (村民小组: where each village's households live), ``boundaries`` the
#: village polygons (村界) keyed by village code, ``officers`` the auxiliary officers
#: (辅警) and the village each serves.
LAYERS: tuple[LayerName, ...] = (
    "villages",
    "stations",
    "teams",
    "incidents",
    "groups",
    "boundaries",
    "officers",
)

_READERS = {
    "villages": layers.read_villages,
    "groups": layers.read_groups,
    "boundaries": layers.read_boundaries,
    "stations": layers.read_stations,
    "teams": layers.read_teams,
    "incidents": layers.read_incidents,
    "officers": layers.read_officers,
}
_AREA_SUFFIXES = (".toml", ".json")

#: A layer feature counts as inside the roads' extent (their nodes' lon/lat bounds) when it
#: lies within this margin of it: the larger of ``EXTENT_MARGIN_M`` and
#: ``EXTENT_MARGIN_SHARE`` of the extent's longer side, since villages and their fields
#: sit beyond the last mapped road. A layer with most features outside is refused.
EXTENT_MARGIN_M = 2_000.0
EXTENT_MARGIN_SHARE = 0.05
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON = 111_320.0  # at the equator; times cos(latitude) elsewhere

Extent = tuple[float, float, float, float]

#: The time zone of naive incident times when an area names none (the product's home).
DEFAULT_TZ = "Asia/Shanghai"


def _check_tz(tz: object) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        msg = (
            f"unknown time zone {tz!r}: give an IANA name such as Asia/Shanghai, "
            "Europe/Helsinki or America/Toronto"
        )
        raise AreaError(msg) from exc


@dataclass(frozen=True)
class LayerSource:
    """One layer file and how to read it.

    ``crs`` is the CRS its coordinates are in (``wgs84``, ``cgcs2000``, ``gcj02``,
    ``bd09`` or an EPSG code; default: the file's own, else WGS84), ``encoding`` the CSV
    text encoding (default: detect), ``layer`` the layer inside a GeoPackage, ``columns``
    the file's own headers by column name (``{"time": "occurrencedate"}``), for a table
    whose headers are not among the names the readers know.
    """

    path: str
    crs: str | None = None
    encoding: str | None = None
    layer: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Frozen and hashable: a dict that hashes by its sorted items (see _Columns).
        object.__setattr__(self, "columns", _Columns(self.columns))

    def to_dict(self) -> dict[str, Any] | str:
        """Return the source as an area file writes it: a path, or a table of options."""
        extra: dict[str, Any] = {
            k: v for k in ("crs", "encoding", "layer") if (v := getattr(self, k))
        }
        if self.columns:
            extra["columns"] = dict(self.columns)
        return {"path": self.path, **extra} if extra else self.path


def _line_options(lines: LineLayer) -> dict[str, Any]:
    """Return the options of a road line layer that differ from the defaults."""
    default = LineLayer()
    out: dict[str, Any] = {}
    for f in fields(LineLayer):
        value = getattr(lines, f.name)
        if value != getattr(default, f.name):
            out[f.name] = dict(value) if isinstance(value, Mapping) else value
    return out


#: Examples of a road line layer's NAME=VALUE options, for the messages about them.
ROAD_EXAMPLES = {
    "classes": "县道=secondary,乡道=tertiary",
    "columns": "name=ROAD_NAME,lit=LIGHTING",
}


def _roads_source(value: object, where: str) -> tuple[str, LineLayer]:
    """Read the area file's 'roads': a line layer's path, or a table of its options."""
    if isinstance(value, str):
        return value, LineLayer()
    if not isinstance(value, Mapping) or not isinstance(value.get("path"), str):
        msg = f"{where}'roads' must be a line layer's path or a table with 'path' and options"
        raise AreaError(msg)
    names = {f.name for f in fields(LineLayer)}
    unknown = sorted(set(value) - names - {"path"})
    if unknown:
        msg = (
            f"{where}roads: unknown key(s) {', '.join(unknown)}; expected path, "
            f"{', '.join(sorted(names))}"
        )
        raise AreaError(msg)
    options = {k: v for k, v in value.items() if k != "path"}
    for key in ("classes", "columns"):
        if isinstance(options.get(key), str):
            options[key] = parse_columns(
                options[key], flag=f"{where}roads.{key}", example=ROAD_EXAMPLES[key]
            )
    try:
        return value["path"], LineLayer(**options)
    except PinganError as exc:
        raise AreaError(f"{where}roads: {exc}") from exc
    except TypeError as exc:  # a value of the wrong type for a field
        raise AreaError(f"{where}roads: {exc}") from exc


class _Columns(dict[str, str]):
    """A column mapping that hashes and compares by its content (for frozen specs)."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))


def parse_columns(
    text: str, *, flag: str = "--columns", example: str = "time=occurrencedate,category=MCI"
) -> dict[str, str]:
    """Parse ``time=occurrencedate,category=MCI`` into a mapping (errors name ``flag``)."""
    out: dict[str, str] = {}
    for part in text.split(","):
        name, eq, header = part.partition("=")
        name, header = name.strip(), header.strip()
        if not eq or not name or not header:
            msg = (
                f"{flag} {text!r}: expected NAME=VALUE pairs separated by commas, "
                f"e.g. {example} (got {part.strip()!r})"
            )
            raise AreaError(msg)
        if name in out:
            msg = f"{flag} {text!r}: {name!r} is given twice"
            raise AreaError(msg)
        out[name] = header
    return out


def _column_map(value: object, where: str) -> dict[str, str]:
    if isinstance(value, str):
        return parse_columns(value, flag=where)
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
    ):
        msg = f"{where} must be a table of column names to the file's headers, got {value!r}"
        raise AreaError(msg)
    return dict(value)


def _layer_source(value: object, name: str, where: str) -> LayerSource | None:
    if value is None or isinstance(value, LayerSource):
        return value
    if isinstance(value, str | Path):
        return LayerSource(str(value))
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"path", "crs", "encoding", "layer", "columns"})
        if unknown:
            msg = f"{where}{name}: unknown key(s) {', '.join(unknown)}"
            raise AreaError(msg)
        if not isinstance(value.get("path"), str):
            msg = f"{where}{name}: 'path' must be the layer file's path"
            raise AreaError(msg)
        for key in ("crs", "encoding", "layer"):
            if value.get(key) is not None and not isinstance(value[key], str):
                msg = f"{where}{name}.{key} must be text, got {value[key]!r}"
                raise AreaError(msg)
        columns = value.get("columns")
        return LayerSource(
            value["path"],
            crs=value.get("crs"),
            encoding=value.get("encoding"),
            layer=value.get("layer"),
            columns={} if columns is None else _column_map(columns, f"{where}{name}.columns"),
        )
    msg = f"{where}{name} must be a path or a table with 'path', got {value!r}"
    raise AreaError(msg)


@dataclass(frozen=True)
class AreaSpec:
    """What an area is made of: its files and options (the content of an area file).

    Paths are as given: absolute, or relative to ``folder`` (the area or scenario file's
    folder). ``mode`` is the primary travel mode (coverage, posts, the road inventory);
    ``modes`` lists further modes to load (coverage by mode). ``bbox`` clips the roads
    (west, south, east, north in degrees). ``synthetic`` marks the generated sample, whose
    roads are not OpenStreetMap's and carry no OSM credit. ``tz`` is the area's time zone
    (IANA name): naive incident times are its local time, and times with an offset are
    converted to it before any hour window applies. ``columns`` maps column names to the
    files' own headers for every layer that has such a column (``time=occurrencedate``
    reaches the incidents); a layer's own ``columns`` add to it.
    """

    osm: str
    lines: LineLayer | None = None
    villages: LayerSource | str | None = None
    stations: LayerSource | str | None = None
    teams: LayerSource | str | None = None
    incidents: LayerSource | str | None = None
    groups: LayerSource | str | None = None
    boundaries: LayerSource | str | None = None
    officers: LayerSource | str | None = None
    mode: str = "car"
    modes: tuple[str, ...] = ()
    bbox: tuple[float, float, float, float] | None = None
    name: str = ""
    folder: str = "."
    synthetic: bool = False
    tz: str = DEFAULT_TZ
    columns: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.osm, str | Path) or not str(self.osm):
            msg = (
                "an area needs its roads: 'osm' (an OpenStreetMap file) or 'roads' "
                "(a GIS line layer: Shapefile, GeoPackage or GeoJSON)"
            )
            raise AreaError(msg)
        object.__setattr__(self, "osm", str(self.osm))
        if self.lines is None and is_line_layer(self.osm):
            object.__setattr__(self, "lines", LineLayer())
        elif self.lines is not None and not is_line_layer(self.osm):
            msg = f"road layer options are given, but {Path(self.osm).name} is an OSM file"
            raise AreaError(msg)
        for name in LAYERS:
            object.__setattr__(self, name, _layer_source(getattr(self, name), name, ""))
        try:
            check_mode(self.mode)
            for m in self.modes:
                check_mode(m)
            if self.bbox is not None:
                BuildOptions(bbox=tuple(self.bbox))  # type: ignore[arg-type]
        except PinganError as exc:
            raise AreaError(str(exc)) from exc
        object.__setattr__(self, "modes", tuple(self.modes))
        if self.bbox is not None:
            object.__setattr__(self, "bbox", tuple(float(v) for v in self.bbox))
        _check_tz(self.tz)
        object.__setattr__(self, "columns", _Columns(self.columns))
        self._check_columns()

    def _check_columns(self) -> None:
        """Refuse column names no layer of the area has (a typo would be silently ignored)."""
        present = [n for n in LAYERS if self.source(n) is not None]
        for name in present:
            src = self.source(name)
            assert src is not None
            known = layers.column_names(name)
            bad = sorted(set(src.columns) - known)
            if bad:
                msg = (
                    f"{name} columns: {', '.join(repr(b) for b in bad)} is no column of the "
                    f"{name} layer; expected one of {', '.join(sorted(known))}"
                )
                raise AreaError(msg)
        for col in self.columns:
            if not any(col in layers.column_names(n) for n in present):
                every = sorted(set().union(*(layers.column_names(n) for n in present)))
                msg = (
                    f"columns: {col!r} is no column of any layer given "
                    f"({', '.join(present) or 'none'}); expected one of {', '.join(every)}"
                )
                raise AreaError(msg)

    # ------------------------------------------------------------ paths

    def resolve(self, path: str) -> Path:
        """Return ``path`` resolved against the spec's folder."""
        p = Path(path)
        return p if p.is_absolute() else Path(self.folder) / p

    def source(self, name: LayerName) -> LayerSource | None:
        """Return the source of one layer (None when the area has no such layer)."""
        value = getattr(self, name)
        assert value is None or isinstance(value, LayerSource)
        return value

    def read_layer(self, name: LayerName, crs: Any = None) -> gpd.GeoDataFrame:
        """Read one layer of the spec with its options, as :func:`load_area` would.

        Into ``crs``, or by default the UTM zone of the layer itself: enough to check a
        layer (its extent, the memory a run on it needs) before the roads are loaded.
        """
        if self.source(name) is None:
            msg = f"the area has no {name} layer"
            raise AreaError(msg)
        return _read(self, name, crs)

    @property
    def all_modes(self) -> tuple[Mode, ...]:
        """The primary mode first, then the other modes to load, each once."""
        out: list[Mode] = []
        for m in (self.mode, *self.modes):
            if m not in out:
                out.append(m)  # type: ignore[arg-type]
        return tuple(out)

    # ------------------------------------------------------------ files

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as an area file writes it (paths as given)."""
        out: dict[str, Any] = {"osm": self.osm}
        if self.lines is not None:
            out = {"roads": {"path": self.osm, **_line_options(self.lines)}}
        if self.name:
            out["name"] = self.name
        for name in LAYERS:
            src = self.source(name)
            if src is not None:
                out[name] = src.to_dict()
        out["mode"] = self.mode
        if self.modes:
            out["modes"] = list(self.modes)
        if self.bbox is not None:
            out["bbox"] = list(self.bbox)
        if self.synthetic:
            out["synthetic"] = True
        if self.tz != DEFAULT_TZ:
            out["tz"] = self.tz
        if self.columns:
            out["columns"] = dict(self.columns)
        return out

    def absolute(self) -> AreaSpec:
        """Return the spec with every path absolute (two specs of one area then compare equal)."""
        changes: dict[str, Any] = {"osm": str(self.resolve(self.osm).resolve()), "folder": "/"}
        for name in LAYERS:
            src = self.source(name)
            if src is not None:
                changes[name] = replace(src, path=str(self.resolve(src.path).resolve()))
        return replace(self, **changes)

    def relative_to(self, folder: str | Path) -> AreaSpec:
        """Return the spec as seen from ``folder`` (where a scenario file will sit).

        Every path becomes relative to ``folder``, so a scenario written next to its data
        keeps working when the whole tree is copied to a colleague's machine.
        """
        here = Path(folder).resolve()

        def rel(path: str) -> str:
            return os.path.relpath(self.resolve(path).resolve(), here)

        changes: dict[str, Any] = {"osm": rel(self.osm), "folder": str(folder)}
        for name in LAYERS:
            src = self.source(name)
            if src is not None:
                changes[name] = replace(src, path=rel(src.path))
        return replace(self, **changes)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, folder: str | Path = ".", source: str = ""
    ) -> AreaSpec:
        """Build a spec from a parsed area file (errors name the file and the key)."""
        where = f"{source}: " if source else ""
        if not isinstance(data, Mapping):
            msg = f"{where}an area must be a table of keys (osm, villages, stations, ...)"
            raise AreaError(msg)
        known = ({f.name for f in fields(cls)} - {"folder", "lines"}) | {"roads"}
        unknown = sorted(set(data) - known)
        if unknown:
            msg = f"{where}unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}"
            raise AreaError(msg)
        if "roads" in data:
            if "osm" in data:
                msg = f"{where}give the roads once: 'osm' (an OSM file) or 'roads' (a line layer)"
                raise AreaError(msg)
            path, lines = _roads_source(data["roads"], where)
            kw: dict[str, Any] = {"osm": path, "lines": lines, "folder": str(folder)}
        elif not isinstance(data.get("osm"), str):
            msg = (
                f"{where}the area needs its roads: 'osm' (the path of an OpenStreetMap file) "
                "or 'roads' (a GIS line layer, a path or a table with 'path' and options)"
            )
            raise AreaError(msg)
        else:
            kw = {"osm": data["osm"], "folder": str(folder)}
        for name in LAYERS:
            kw[name] = _layer_source(data.get(name), name, where)
        if "columns" in data:
            kw["columns"] = _column_map(data["columns"], f"{where}'columns'")
        for key, kind in (("mode", str), ("name", str), ("synthetic", bool), ("tz", str)):
            if key in data:
                if not isinstance(data[key], kind):
                    msg = f"{where}'{key}' must be {kind.__name__}, got {data[key]!r}"
                    raise AreaError(msg)
                kw[key] = data[key]
        if "modes" in data:
            if not isinstance(data["modes"], list) or not all(
                isinstance(m, str) for m in data["modes"]
            ):
                msg = f"{where}'modes' must be a list of travel modes ({', '.join(MODES)})"
                raise AreaError(msg)
            kw["modes"] = tuple(data["modes"])
        if "bbox" in data:
            box = data["bbox"]
            if not isinstance(box, list) or len(box) != 4:
                msg = f"{where}'bbox' must be [west, south, east, north] in degrees"
                raise AreaError(msg)
            kw["bbox"] = tuple(box)
        try:
            return cls(**kw)
        except AreaError as exc:
            raise AreaError(f"{where}{exc}") from exc

    @classmethod
    def from_file(cls, path: str | Path) -> AreaSpec:
        """Read an area file (``.toml`` or ``.json``); its paths are relative to it."""
        p = Path(path)
        if not p.is_file():
            msg = f"area file {p} does not exist"
            raise AreaError(msg)
        if not p.name.lower().endswith(_AREA_SUFFIXES):
            msg = f"{p}: an area file must be .toml or .json"
            raise AreaError(msg)
        text = p.read_text(encoding="utf-8-sig")
        try:
            data = tomllib.loads(text) if p.suffix.lower() == ".toml" else json.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg = f"{p}: not valid TOML ({exc})"
            raise AreaError(msg) from exc
        except json.JSONDecodeError as exc:
            msg = f"{p}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            raise AreaError(msg) from exc
        return cls.from_dict(data, folder=p.parent, source=str(p))


@dataclass(frozen=True, eq=False)
class Area:
    """One area, loaded: networks and engines per mode, every road, layers, one CRS.

    Attributes
    ----------
    spec
        Where the area came from.
    crs
        The working CRS (metric; the UTM zone of the roads unless the spec says).
    networks, engines
        The routing network (largest strongly connected component) and its engine, per
        loaded travel mode; the primary mode is ``spec.mode``.
    roads
        Every road of the primary mode once, connected to the routing core or not, each
        knowing its routing edges (:class:`~geo.network.Roads`). Counting and drawing use
        it: a dark road is dark whether or not a car can drive a loop around it.
    distances
        An engine measuring metres along ``roads`` in both directions (risk within
        300 m, lamp spacing), with the snap index of ``roads``.
    villages, stations, teams, incidents, groups, boundaries, officers
        The layers, in ``crs``; None where the area has none.
    layer_notes
        What loading found worth saying about a layer that was kept, by layer name: the
        features lying beyond the roads' extent (a layer where most do is refused). The
        reports print them as :attr:`notes`.
    """

    spec: AreaSpec
    crs: Any
    networks: Mapping[str, RoadNetwork]
    engines: Mapping[str, Engine]
    roads: Roads
    distances: Engine
    villages: gpd.GeoDataFrame | None = None
    stations: gpd.GeoDataFrame | None = None
    teams: gpd.GeoDataFrame | None = None
    incidents: gpd.GeoDataFrame | None = None
    groups: gpd.GeoDataFrame | None = None
    boundaries: gpd.GeoDataFrame | None = None
    officers: gpd.GeoDataFrame | None = None
    layer_notes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.spec.mode not in self.networks or self.spec.mode not in self.engines:
            msg = f"the area has no network for its primary mode {self.spec.mode!r}"
            raise AreaError(msg)
        for name in LAYERS:
            gdf = getattr(self, name)
            if gdf is not None:
                same_crs(gdf, self.crs, name, AreaError)
        object.__setattr__(self, "layer_notes", dict(self.layer_notes))

    @property
    def notes(self) -> tuple[str, ...]:
        """The load notes of the layers, one line each, in the order reports list layers."""
        return tuple(self.layer_notes[n] for n in LAYERS if n in self.layer_notes)

    @property
    def extent(self) -> Extent | None:
        """The lon/lat bounds (W, S, E, N, degrees) of every loaded road (None: no roads)."""
        return _road_extent([self.roads.net, *self.networks.values()])

    @property
    def mode(self) -> Mode:
        """The primary travel mode."""
        return self.spec.mode  # type: ignore[return-value]

    @property
    def name(self) -> str:
        """The area's name (the OSM file's stem when the spec gives none)."""
        return self.spec.name or Path(self.spec.osm).name.split(".")[0]

    @property
    def modes(self) -> tuple[str, ...]:
        """The loaded travel modes, primary first."""
        return tuple(self.networks)

    @property
    def net(self) -> RoadNetwork:
        """The routing network of the primary mode."""
        return self.networks[self.spec.mode]

    def network(self, mode: str | None = None) -> RoadNetwork:
        """Return the routing network of ``mode`` (default the primary mode)."""
        m = mode or self.spec.mode
        if m not in self.networks:
            msg = (
                f"mode {m!r} was not loaded for this area (loaded: {', '.join(self.networks)}); "
                "list it in the area's 'modes'"
            )
            raise AreaError(msg)
        return self.networks[m]

    def engine(self, mode: str | None = None) -> Engine:
        """Return the travel-time engine of ``mode`` (default the primary mode)."""
        self.network(mode)
        return self.engines[mode or self.spec.mode]

    def require(self, name: LayerName) -> gpd.GeoDataFrame:
        """Return a layer, or raise naming the option that would provide it."""
        gdf = getattr(self, name)
        if gdf is None:
            msg = (
                f"this needs a {name} layer, and the area {self.name!r} has none: give "
                f"--{name} FILE (or '{name}' in the area file)"
            )
            raise AreaError(msg)
        assert isinstance(gdf, gpd.GeoDataFrame)
        return gdf

    def read_layer(self, name: LayerName, source: LayerSource | str) -> gpd.GeoDataFrame:
        """Read one more layer file into the area's CRS (candidate sites, a new survey).

        The same readers and checks as :func:`load_area`; the area itself is unchanged.
        """
        src = _layer_source(source, name, "")
        assert src is not None
        changes: dict[str, Any] = {name: src}
        return _read(replace(self.spec, **changes), name, self.crs)

    def village_area(self, code: str) -> shapely.Geometry:
        """Return the ground of one village: its polygon, or else its Voronoi cell.

        With point villages the cell holds every place nearer to this village's point
        than to any other's (clipped 1 km beyond the roads), the same rule that splits
        road kilometres between villages (:meth:`village_cells`).
        """
        v = self.require("villages")
        hit = v["code"].astype(str) == str(code)
        if not hit.any():
            known = ", ".join(v["code"].astype(str).head(5))
            msg = f"no village with code {code!r} in the area (e.g. {known})"
            raise AreaError(msg)
        return self.village_cells().iloc[int(np.flatnonzero(hit.to_numpy())[0])]

    def village_cells(self) -> gpd.GeoSeries:
        """Return the ground of every village, in one pass: as :meth:`village_area` gives it.

        A village's polygon in the boundaries layer (the first of its code), else its own
        polygon, else the Voronoi cell of its point among every village's points, clipped
        1 km beyond the roads and the points (a point in no cell: 500 m around it). The
        index is the villages layer's; None where a village has no location at all.
        """
        v = self.require("villages")
        geom = np.asarray(v.geometry.to_numpy(), dtype=object)
        cells = np.full(len(geom), None, dtype=object)
        done = np.isin(shapely.get_type_id(geom), (3, 6))
        cells[done] = geom[done]
        if self.boundaries is not None:
            codes = self.boundaries["code"].astype(str)
            first = ~codes.duplicated().to_numpy()
            by_code = pd.Series(self.boundaries.geometry.to_numpy()[first], index=codes[first])
            own = v["code"].astype(str).isin(by_code.index).to_numpy()
            cells[own] = by_code.reindex(v["code"].astype(str)[own]).to_numpy()
            done |= own
        todo = np.flatnonzero(~done)
        if len(todo):
            cells[todo] = self._voronoi_cells(geom, todo)
        return gpd.GeoSeries(cells, index=v.index, crs=v.crs)

    def _voronoi_cells(self, geom: np.ndarray, todo: np.ndarray) -> np.ndarray:
        """Return the Voronoi cells of the points of villages ``todo`` (positions)."""
        pts = np.asarray(shapely.point_on_surface(geom), dtype=object)
        roads = shapely.total_bounds(self.roads.geometry)
        lo = np.minimum(roads[:2], shapely.total_bounds(pts)[:2])
        hi = np.maximum(roads[2:], shapely.total_bounds(pts)[2:])
        frame = shapely.box(*(lo - 1000.0), *(hi + 1000.0))
        vor = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=frame))
        own = pts[todo]
        pi, ci = shapely.STRtree(vor).query(own, predicate="within")
        # The first cell holding the point: with duplicate points more than one may.
        order = np.lexsort((ci, pi))
        hit, at = np.unique(pi[order], return_index=True)
        out = np.empty(len(todo), dtype=object)
        out[hit] = shapely.intersection(vor[ci[order][at]], frame)
        lost = np.setdiff1d(np.arange(len(todo)), hit)
        out[lost] = shapely.buffer(own[lost], 500.0)
        return out

    def village_shapes(self) -> gpd.GeoDataFrame:
        """Return the villages with their boundary polygon as geometry where one is known.

        Villages drawn as polygons in their own layer keep them; a ``boundaries`` layer
        gives the others theirs by code; the rest stay points. Analyses that ask "is
        this village near that road" then use the village's ground, not one point.
        """
        v = self.require("villages")
        if self.boundaries is None:
            return v
        by_code = pd.Series(
            self.boundaries.geometry.to_numpy(), index=self.boundaries["code"].astype(str)
        )
        poly = by_code.reindex(v["code"].astype(str)).to_numpy()
        is_point = np.asarray(shapely.get_type_id(v.geometry.to_numpy()) == 0)
        take = is_point & pd.notna(poly)
        if not take.any():
            return v
        geom = v.geometry.to_numpy().copy()
        geom[take] = poly[take]
        return v.set_geometry(gpd.GeoSeries(geom, crs=v.crs, index=v.index))

    def read_polygon(self, path: str | Path) -> shapely.Geometry:
        """Read a polygon file (GeoJSON, GeoPackage, Shapefile) into the area's CRS.

        Area loading reprojects on purpose; a file without a CRS or without any polygon,
        or with an invalid (e.g. self-intersecting) polygon, is an error naming it and the
        feature: an invalid ring selects an arbitrary part of the plane.
        """
        p = Path(path)
        try:
            gdf = gpd.read_file(p)
        except Exception as exc:  # pyogrio raises its own error types for bad files
            msg = f"{p}: cannot read a polygon file ({exc})"
            raise AreaError(msg) from exc
        if gdf.crs is None:
            msg = f"{p}: the polygon file has no CRS"
            raise AreaError(msg)
        polygons = gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        if not polygons.any():
            msg = f"{p}: no polygon in the file"
            raise AreaError(msg)
        raw = gdf.geometry.to_numpy()
        bad = np.flatnonzero(polygons & ~shapely.is_valid(raw))
        if len(bad):
            i = int(bad[0])
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            msg = (
                f"{p}: feature {i + 1}: polygon is not valid "
                f"({shapely.is_valid_reason(raw[i])}){more}; repair it, e.g. with QGIS "
                "'Fix geometries' or shapely.make_valid"
            )
            raise AreaError(msg)
        geom = gdf.to_crs(self.crs).geometry[polygons]
        return shapely.union_all(geom.to_numpy())

    def with_layers(self, **layers_: gpd.GeoDataFrame | None) -> Area:
        """Return the area with some layers replaced.

        Each must be in the area's CRS and, as in :func:`load_area`, mostly within the
        roads' extent; the notes of the replaced layers are rewritten.
        """
        unknown = sorted(set(layers_) - set(LAYERS))
        if unknown:
            msg = f"unknown layer(s) {', '.join(unknown)}"
            raise AreaError(msg)
        area = replace(self, **layers_)  # type: ignore[arg-type]
        notes = {k: v for k, v in self.layer_notes.items() if k not in layers_}
        notes |= _extent_notes(layers_, area.extent)
        return replace(area, layer_notes=notes)

    @classmethod
    def from_network(
        cls,
        net: RoadNetwork,
        *,
        all_roads: RoadNetwork | None = None,
        villages: gpd.GeoDataFrame | None = None,
        stations: gpd.GeoDataFrame | None = None,
        teams: gpd.GeoDataFrame | None = None,
        incidents: gpd.GeoDataFrame | None = None,
        officers: gpd.GeoDataFrame | None = None,
        engine_params: EngineParams | None = None,
        spec: AreaSpec | None = None,
    ) -> Area:
        """Assemble an area from a network already built and layers already read.

        For tests and workers that hold the pieces; ``all_roads`` defaults to ``net``
        itself (then the road inventory is the routing core's). The layers are checked
        against the roads' extent as in :func:`load_area`.
        """
        full = all_roads or net
        given = {"villages": villages, "stations": stations, "teams": teams}
        given |= {"incidents": incidents, "officers": officers}
        notes = _extent_notes(given, _road_extent([full, net]))
        roads = Roads.of(full, routing=net if all_roads is not None else None)
        engine = Engine(net, engine_params or EngineParams())
        return cls(
            spec=spec or AreaSpec(osm=net.source.path, mode=net.mode),
            crs=net.crs,
            networks={net.mode: net},
            engines={net.mode: engine},
            roads=roads,
            distances=_distance_engine(roads),
            villages=villages,
            stations=stations,
            teams=teams,
            incidents=incidents,
            officers=officers,
            layer_notes=notes,
        )


def _read(
    spec: AreaSpec, name: LayerName, crs: Any, incident_hours: HourWindow | None = None
) -> gpd.GeoDataFrame:
    """Read one layer of ``spec`` with its reader and options, into ``crs``."""
    src = spec.source(name)
    assert src is not None
    kw: dict[str, Any] = {"to_crs": crs, "crs": src.crs, "encoding": src.encoding}
    if src.layer:
        kw["layer"] = src.layer
    if src.columns:
        kw["columns"] = dict(src.columns)
    if spec.columns:
        kw["shared_columns"] = dict(spec.columns)
    if name == "incidents":
        kw["tz"] = spec.tz
        if incident_hours is not None:
            window = incident_hours
            kw["keep"] = lambda chunk: in_hour_window(chunk["time"], window)
    return _READERS[name](spec.resolve(src.path), **kw)


def _distance_engine(roads: Roads) -> Engine:
    # Walkers and lamps ignore one-way rules; the off-road leg counts as metres.
    return Engine(roads.net, weight="length_m", undirected=True, snap_index=SnapIndex.of(roads))


def load_area(
    source: AreaSpec | str | Path,
    *,
    cache_dir: str | Path | None = None,
    modes: Sequence[str] | None = None,
    engine_params: EngineParams | None = None,
    progress: ProgressFn | None = None,
    read_layers: Mapping[LayerName, gpd.GeoDataFrame] | None = None,
    incident_hours: HourWindow | None = None,
) -> Area:
    """Load an area: its networks (cached), road views, engines and layers.

    Parameters
    ----------
    source
        An :class:`AreaSpec`, or the path of an area file (``.toml``/``.json``).
    cache_dir
        Network cache folder (None: always build).
    modes
        Travel modes to load, overriding the spec's (the primary mode is always loaded).
    engine_params
        Snap limit and off-road speed of the travel-time engines.
    progress
        Called with a short message as each step starts.
    read_layers
        Layers of this spec already read with :meth:`AreaSpec.read_layer` (a command
        that checked its incidents before loading the roads, a province's district
        that keeps its own villages): used as they are, reprojected to the roads' CRS
        when in another, so a large table is not read twice. (Incidents to be held
        to ``incident_hours`` are read again in another CRS: the read filters them.)
    incident_hours
        Hold only the incidents at these local hours, e.g. ``(19, 6)`` (every row is
        still read and checked): for a command that uses the night ones alone, as
        millions of incidents cost some 400 bytes each to hold. None keeps them all.

    Raises
    ------
    AreaError
        On a bad area file or spec, or a layer most of whose features lie beyond the
        roads' extent (another place, or swapped lon/lat columns), naming the layer, its
        file and both extents. A layer with some features beyond is kept, and
        :attr:`Area.notes` counts them.
    NetworkError, LayerError
        On a bad OSM or layer file, naming the file (and the row and column).
    """
    spec = source if isinstance(source, AreaSpec) else AreaSpec.from_file(source)
    if modes is not None:
        spec = replace(spec, modes=tuple(m for m in modes if m != spec.mode))
    say = progress or (lambda _msg: None)
    wanted = spec.all_modes
    options = [BuildOptions(mode=m, bbox=spec.bbox) for m in wanted]
    options.append(BuildOptions(mode=spec.all_modes[0], bbox=spec.bbox, component="all"))
    nets = load_networks(
        spec.resolve(spec.osm), options, cache_dir=cache_dir, progress=say, lines=spec.lines
    )
    networks: dict[str, RoadNetwork] = dict(zip(wanted, nets[:-1], strict=True))
    primary = networks[spec.mode]
    # Layers first: one from another place stops the load before the engines are built.
    extent = _road_extent(nets)
    read: dict[str, gpd.GeoDataFrame | None] = {}
    notes: dict[str, str] = {}
    for name in LAYERS:
        src = spec.source(name)
        if src is None:
            read[name] = None
            continue
        gdf = (read_layers or {}).get(name)
        # A layer read (and perhaps filtered: a province's district) in another CRS is
        # reprojected; incidents held to an hour window are read again, filtered.
        refilter = name == "incidents" and incident_hours is not None
        if gdf is not None and gdf.crs is not None and gdf.crs != primary.crs and not refilter:
            gdf = gdf.to_crs(primary.crs)
        if gdf is None or gdf.crs != primary.crs:
            say(f"reading {name} from {Path(src.path).name}")
            gdf = _read(spec, name, primary.crs, incident_hours)
        where = Path(src.path).name
        note = _check_extent(name, gdf, extent, where=where, osm=Path(spec.osm).name)
        if note:
            notes[name] = note
        read[name] = gdf
    _check_shared_columns(spec, read)
    _check_village_codes(spec, read)
    if read.get("villages") is not None:
        read["villages"], hh_note = _fill_households(read["villages"])  # type: ignore[arg-type]
        _add_note(notes, "villages", hh_note)
    stations = read.get("stations")
    _add_note(notes, "teams", _check_units(read.get("teams"), "home_unit", stations))
    _add_note(notes, "officers", _check_units(read.get("officers"), "unit", stations))
    say("indexing roads for snapping")
    params = engine_params or EngineParams()
    # The CCH's graph order (large areas) is saved beside the networks it was made for.
    order_dir = None if cache_dir is None else Path(cache_dir)
    engines: dict[str, Engine] = {
        m: Engine(net, params, order_dir=order_dir) for m, net in networks.items()
    }
    roads = Roads.of(nets[-1], routing=primary)
    return Area(
        spec=spec,
        crs=primary.crs,
        networks=networks,
        engines=engines,
        roads=roads,
        distances=_distance_engine(roads),
        layer_notes=notes,
        **read,
    )


def _add_note(notes: dict[str, str], name: str, note: str | None) -> None:
    """Add a note to a layer's, after the one it already has."""
    if note:
        notes[name] = f"{notes[name]}; {note}" if name in notes else note


#: Persons per household where a village gives its population but not its households:
#: the national average of China's 2020 census (2.62), good enough to rank dark roads.
PERSONS_PER_HOUSEHOLD = 2.62


def _fill_households(villages: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, str | None]:
    """Estimate missing household counts from population; return the layer and a note.

    Dark-road risk and lamp benefit weigh the households near a road. Many village lists
    give a population and no households; refusing them would stop the night analysis
    over a column a planner can approximate, so the estimate is made and said.
    """
    hh = pd.to_numeric(villages["households"], errors="coerce")
    missing = hh.isna().to_numpy()
    if not missing.any():
        return villages, None
    pop = pd.to_numeric(villages["population"], errors="coerce").to_numpy(dtype=float)
    from_pop = missing & np.isfinite(pop)
    neither = missing & ~np.isfinite(pop)
    filled = hh.to_numpy(dtype=float, na_value=np.nan)
    filled[from_pop] = np.round(pop[from_pop] / PERSONS_PER_HOUSEHOLD)
    filled[neither] = 0.0
    out = villages.copy()
    out["households"] = pd.array(filled.astype(np.int64), dtype="Int64")
    parts = []
    if from_pop.any():
        parts.append(
            f"{int(from_pop.sum())} of {len(villages)} villages give no households: estimated "
            f"from their population at {PERSONS_PER_HOUSEHOLD} persons per household"
        )
    if neither.any():
        codes = villages["code"].astype(str).to_numpy()[neither]
        shown = ", ".join(codes[:5]) + (f" and {len(codes) - 5} more" if len(codes) > 5 else "")
        parts.append(
            f"{int(neither.sum())} villages give neither households nor population ({shown}): "
            "they count no households in dark-road risk and lamp benefit"
        )
    return out, "; ".join(parts)


def _check_units(
    gdf: gpd.GeoDataFrame | None, column: str, stations: gpd.GeoDataFrame | None
) -> str | None:
    """Return a note naming the teams (or officers) whose unit is no station, if any.

    A team still has its own base and an officer their village, so they stay; but a
    unit nobody can find is a typing error a planner wants to hear about before
    assigning them. An officer's empty ``unit`` (not given) is no error.
    """
    if gdf is None or stations is None or not len(gdf):
        return None
    known = set(stations["id"].astype(str))
    units = gdf[column].astype(str).to_numpy()
    bad = [i for i, u in enumerate(units) if u not in known and (u or column == "home_unit")]
    if not bad:
        return None
    what = "teams" if column == "home_unit" else "officers"
    shown = ", ".join(f"{gdf['id'].iloc[i]} ({units[i]!r})" for i in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    return (
        f"{len(bad)} of {len(gdf)} {what} name a {column} that is no station id of the "
        f"stations layer: {shown}{more}"
    )


def _check_shared_columns(spec: AreaSpec, read: Mapping[str, gpd.GeoDataFrame | None]) -> None:
    """Refuse an area-wide column mapping that no layer file used (a typo in a header)."""
    used = [g.attrs.get("columns", {}) for g in read.values() if g is not None]
    unused = [f"{c}={h}" for c, h in spec.columns.items() if all(u.get(c) != h for u in used)]
    if unused:
        files = ", ".join(Path(s.path).name for n in LAYERS if (s := spec.source(n)) is not None)
        msg = (
            f"columns {', '.join(unused)}: no layer file has such a header "
            f"(files: {files}); check the spelling, or give it for one layer"
        )
        raise AreaError(msg)


def _check_village_codes(spec: AreaSpec, read: Mapping[str, gpd.GeoDataFrame | None]) -> None:
    """Refuse groups, boundaries or officers naming villages the villages layer lacks.

    An officer's empty village code (not yet placed) names no village and passes. The
    message names the file's own header of the column.
    """
    villages = read.get("villages")
    if villages is None:
        return
    known = set(villages["code"].astype(str))
    checks: tuple[tuple[LayerName, str], ...] = (
        ("groups", "village_code"),
        ("boundaries", "code"),
        ("officers", "village_code"),
    )
    for name, column in checks:
        gdf = read.get(name)
        if gdf is None:
            continue
        codes = gdf[column].astype(str).to_numpy()
        named = codes != "" if name == "officers" else np.ones(len(codes), dtype=bool)
        bad = np.flatnonzero(named & ~np.isin(codes, list(known)))
        if len(bad):
            src = spec.source(name)
            where = Path(src.path).name if src else name
            header = gdf.attrs.get("columns", {}).get(column, column)
            rows = ", ".join(f"row {int(i) + 1} ({codes[i]})" for i in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            msg = (
                f"{where}: column {header!r} names villages that are not in the villages "
                f"layer: {rows}{more}"
            )
            raise AreaError(msg)


# ----------------------------------------------------------------- layers vs the roads


def _road_extent(nets: Iterable[RoadNetwork]) -> Extent | None:
    """Return the lon/lat bounds (W, S, E, N) of the nodes of ``nets`` (None: no nodes)."""
    nodes = [net.nodes for net in nets]
    lon = np.concatenate([n["lon"].to_numpy(dtype=np.float64) for n in nodes])
    lat = np.concatenate([n["lat"].to_numpy(dtype=np.float64) for n in nodes])
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return None
    lon, lat = lon[ok], lat[ok]
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


def _with_margin(extent: Extent) -> tuple[Extent, float]:
    """Return ``extent`` grown by the margin, and the margin in metres.

    The margin is set in metres and turned into degrees at the extent's latitude, the
    cosine taken nearest the pole so the margin is never short in longitude.
    """
    w, s, e, n = extent
    mid = math.cos(math.radians((s + n) / 2))
    side_m = max((e - w) * _M_PER_DEG_LON * mid, (n - s) * _M_PER_DEG_LAT)
    margin_m = max(EXTENT_MARGIN_M, EXTENT_MARGIN_SHARE * side_m)
    polar = max(math.cos(math.radians(min(max(abs(s), abs(n)), 89.0))), 1e-3)
    d_lon, d_lat = margin_m / (_M_PER_DEG_LON * polar), margin_m / _M_PER_DEG_LAT
    return (w - d_lon, s - d_lat, e + d_lon, n + d_lat), margin_m


def _layer_lonlat(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return the WGS84 lon, lat of each located feature (an area by a point inside it).

    The readers keep ``lon``/``lat`` columns: taken as they are, since a point from the
    far side of the Earth does not survive the trip through a UTM zone and back.
    """
    if "lon" in gdf.columns and "lat" in gdf.columns:
        lon = pd.to_numeric(gdf["lon"], errors="coerce").to_numpy(dtype=np.float64)
        lat = pd.to_numeric(gdf["lat"], errors="coerce").to_numpy(dtype=np.float64)
    elif gdf.crs is None:  # refused by the CRS check; nothing to place here
        return np.empty(0), np.empty(0)
    else:
        geom = gdf.geometry
        pts = geom[~(geom.isna() | geom.is_empty)].representative_point().to_crs(4326)
        lon, lat = pts.x.to_numpy(dtype=np.float64), pts.y.to_numpy(dtype=np.float64)
    ok = np.isfinite(lon) & np.isfinite(lat)
    return lon[ok], lat[ok]


def _inside(lon: np.ndarray, lat: np.ndarray, box: Extent) -> np.ndarray:
    w, s, e, n = box
    return (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)


def _degrees(extent: Extent) -> str:
    return ",".join(f"{v:.4f}" for v in extent)


def _check_extent(
    name: str,
    gdf: gpd.GeoDataFrame,
    roads: Extent | None,
    *,
    where: str = "",
    osm: str = "",
) -> str | None:
    """Refuse a layer most of whose features lie beyond the roads' extent.

    Returns a note counting the features beyond it when some, but not most, do (None
    when none do). ``where`` names the layer's file and ``osm`` the roads' file.

    Raises
    ------
    AreaError
        Naming the layer, its file, how many of how many features lie beyond, the
        layer's and the roads' extents (W,S,E,N in degrees), and whether swapping the
        lon and lat columns would put the layer inside.
    """
    if roads is None:
        return None
    lon, lat = _layer_lonlat(gdf)
    n = len(lon)
    box, margin_m = _with_margin(roads)
    out = n - int(np.count_nonzero(_inside(lon, lat, box)))
    if out == 0:
        return None
    what = f"{name} layer ({where})" if where else f"{name} layer"
    of_roads = f"the roads of {osm}" if osm else "the roads"
    margin = f"{margin_m / 1000:.1f} km"
    if 2 * out <= n:
        return (
            f"{what}: {out} of {n} {name} lie beyond the extent of {of_roads} "
            f"(W,S,E,N {_degrees(roads)} degrees, plus {margin}); kept, but check them"
        )
    layer_extent = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    swapped = int(np.count_nonzero(_inside(lat, lon, box)))
    if 2 * swapped > n:
        hint = (
            f"the columns look swapped: lon and lat exchanged, {swapped} of {n} would fall "
            "inside; check which column is longitude"
        )
    else:
        hint = "the layer and the roads are of different places: check the files (and the CRS)"
    msg = (
        f"{what}: {out} of {n} {name} lie beyond the extent of {of_roads}: the layer "
        f"spans W,S,E,N {_degrees(layer_extent)}, the roads {_degrees(roads)} (degrees, "
        f"plus {margin}); {hint}"
    )
    raise AreaError(msg)


def _extent_notes(
    layers_: Mapping[str, gpd.GeoDataFrame | None], roads: Extent | None
) -> dict[str, str]:
    """Check layers handed in rather than read (no file to name); return their notes."""
    notes: dict[str, str] = {}
    for name, gdf in layers_.items():
        if gdf is not None and (note := _check_extent(name, gdf, roads)):
            notes[name] = note
    return notes


def sample_area(
    folder: str | Path,
    *,
    seed: int = 2023,
    modes: Sequence[str] = ("car",),
    cache_dir: str | Path | None = None,
    engine_params: EngineParams | None = None,
    progress: ProgressFn | None = None,
) -> Area:
    """Write the synthetic sample district into ``folder`` and load it like any area.

    The sample goes through the same readers and the same network build as a user's
    files, so the demo exercises exactly the user's path. A sample already written there
    for the same seed (and the same generator) is reused rather than written again.
    """
    from geo.sample import ensure_sample

    say = progress or (lambda _msg: None)
    say(f"the synthetic sample district (seed {seed}) in {folder}")
    files = ensure_sample(folder, seed=seed)
    spec = AreaSpec(
        osm=str(files.roads),
        villages=str(files.villages),
        stations=str(files.stations),
        teams=str(files.teams),
        incidents=LayerSource(str(files.incidents), layer="incidents"),
        groups=str(files.groups),
        boundaries=str(files.boundaries),
        officers=str(files.officers),
        mode=modes[0] if modes else "car",
        modes=tuple(modes[1:]),
        name="sample district (synthetic)",
        synthetic=True,
    )
    return load_area(spec, cache_dir=cache_dir, engine_params=engine_params, progress=progress)
