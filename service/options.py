"""The area options every command takes, parsed in one place.

A command runs on the built-in sample district when given no files, on the files listed
in an area file (``--area my_county.toml``), or on files named one by one (``--osm`` plus
``--villages``, ``--stations``, ``--teams``, ``--incidents``). Whichever way, the result
is one :class:`geo.area.Area`, loaded by :func:`geo.area.load_area` and nothing else.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo.area import (
    LAYERS,
    ROAD_EXAMPLES,
    Area,
    AreaSpec,
    HourWindow,
    LayerName,
    LayerSource,
    load_area,
    parse_columns,
    sample_area,
)
from geo.engine import EngineParams
from geo.errors import AreaError, PinganError
from geo.network import LINE_SUFFIXES, MODES, LineLayer, is_line_layer

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["add_area_options", "area_from_args", "area_spec_from_args", "default_cache_dir"]

_LAYER_FLAGS: dict[str, str] = {name: f"--{name}" for name in LAYERS}


def _flags(names: Sequence[str]) -> str:
    """Return "--osm, --villages and --stations" for the layers ``names``."""
    flags = ["--osm (or --roads)", *(_LAYER_FLAGS[n] for n in names)]
    return flags[0] if len(flags) == 1 else ", ".join(flags[:-1]) + " and " + flags[-1]


def default_cache_dir() -> Path:
    """Return ``$PINGAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/pingan``, else ``~/.cache/pingan``."""
    if env := os.environ.get("PINGAN_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pingan"


def _layer_overrides(args: argparse.Namespace, name: str) -> dict[str, Any]:
    """Return the per-layer options given on the command line for one layer."""
    out: dict[str, Any] = {}
    for opt in ("crs", "encoding", "layer"):
        if value := getattr(args, f"{name}_{opt}", None):
            out[opt] = value
    if columns := getattr(args, f"{name}_columns", None):
        out["columns"] = parse_columns(columns, flag=f"--{name}-columns")
    return out


def add_road_options(g: argparse._ActionsContainer) -> None:
    """Add ``--roads`` (a GIS line layer instead of OSM) and how to read it."""
    g.add_argument(
        "--roads",
        metavar="FILE",
        help="roads as a GIS line layer instead of OSM: Shapefile (.shp, .shp.zip), "
        "GeoPackage or GeoJSON with a road class column",
    )
    g.add_argument(
        "--road-classes",
        metavar="CLASS=OSM,...",
        help="your road classes as OSM ones, e.g. 国道=trunk,县道=secondary,乡道=tertiary,"
        "村道=unclassified,机耕路=track (=no leaves a class out; OSM classes need no entry)",
    )
    g.add_argument("--road-layer", metavar="NAME", help="layer of the roads in a GeoPackage")
    g.add_argument(
        "--road-class-column",
        metavar="COLUMN",
        help="column of the road class (default: highway, fclass, class, type, road_class, kind)",
    )
    g.add_argument(
        "--road-columns",
        metavar="NAME=COLUMN,...",
        help="columns of the road attributes (id, name, lit, maxspeed, oneway, surface, "
        "access, junction) under other names, e.g. name=ROAD_NAME,lit=LIGHTING",
    )
    g.add_argument("--road-encoding", metavar="ENC", help="text encoding of a shapefile's DBF")
    g.add_argument("--road-crs", metavar="CRS", help="CRS of the road layer when it has none")
    g.add_argument(
        "--road-snap-m",
        type=float,
        metavar="M",
        help="join a line's end to another line's vertex this near (default 0.5 m)",
    )
    g.add_argument(
        "--road-directed",
        action="store_true",
        help="each feature is one direction of travel as drawn (a directed-graph export)",
    )


#: Each --road-* option's LineLayer field; the mappings are parsed from NAME=VALUE text.
_ROAD_FIELDS = {
    "road_classes": "classes",
    "road_layer": "layer",
    "road_class_column": "class_column",
    "road_columns": "columns",
    "road_encoding": "encoding",
    "road_crs": "crs",
    "road_snap_m": "snap_m",
    "road_directed": "directed",
}


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def roads_from_args(args: argparse.Namespace) -> tuple[str | None, LineLayer | None]:
    """Return the roads file the options name and, for a line layer, how to read it.

    Raises
    ------
    AreaError
        If both ``--osm`` and ``--roads`` are given, or road layer options go with an OSM
        file.
    """
    osm, roads = getattr(args, "osm", None), getattr(args, "roads", None)
    if osm and roads:
        msg = "give the roads once: --osm FILE (OpenStreetMap) or --roads FILE (a line layer)"
        raise AreaError(msg)
    path = roads or osm
    # "is not": --road-snap-m 0 is given (0 == False), an unset store_true is not.
    given = {
        f: v for f in _ROAD_FIELDS if (v := getattr(args, f, None)) is not None and v is not False
    }
    if path is None:
        if given:
            flag = _flag(next(iter(given)))
            msg = f"{flag} describes a road line layer: give it with --roads FILE"
            raise AreaError(msg)
        return None, None
    if not is_line_layer(path):
        if roads:
            msg = (
                f"--roads {roads}: not a line layer file (expected "
                f"{', '.join(LINE_SUFFIXES)}); an OpenStreetMap file goes with --osm"
            )
            raise AreaError(msg)
        if given:
            flag = _flag(next(iter(given)))
            msg = f"{flag} describes a road line layer, but {Path(path).name} is an OSM file"
            raise AreaError(msg)
        return str(path), None
    kw: dict[str, Any] = {}
    for flag, value in given.items():
        name = _ROAD_FIELDS[flag]
        if name in ROAD_EXAMPLES:
            value = parse_columns(value, flag=_flag(flag), example=ROAD_EXAMPLES[name])
        kw[name] = value
    try:
        return str(path), LineLayer(**kw)
    except PinganError as exc:
        raise AreaError(str(exc)) from exc


def add_area_options(p: argparse.ArgumentParser, *, mode: bool = True) -> None:
    """Add the area options (and ``--mode`` unless the command has its own)."""
    g = p.add_argument_group(
        "area", "your own area (an area file, or files one by one); none: the sample district"
    )
    g.add_argument("--area", help="area file (.toml or .json) listing the files and options")
    g.add_argument("--osm", help="OpenStreetMap file: .osm, .osm.bz2, .osm.gz or .osm.pbf")
    add_road_options(g)
    for name in LAYERS:
        g.add_argument(_LAYER_FLAGS[name], dest=name, help=f"{name} layer file (CSV, GeoJSON, ...)")
    g.add_argument(
        "--crs", help="CRS of every layer's coordinates: wgs84, cgcs2000, gcj02, bd09 or EPSG"
    )
    for name in LAYERS:
        g.add_argument(f"--{name}-crs", dest=f"{name}_crs", metavar="CRS", help=argparse.SUPPRESS)
    g.add_argument("--encoding", help="CSV text encoding of the layers (default: detect)")
    g.add_argument(
        "--columns",
        metavar="NAME=HEADER,...",
        help="your files' headers for the columns the layers need, e.g. "
        "time=occurrencedate,category=MCI (each reaches the layers that have that column)",
    )
    g.add_argument(
        "--tz",
        metavar="ZONE",
        help="time zone of the incident times (IANA name, e.g. Europe/Helsinki; "
        "default Asia/Shanghai): naive times are taken as its local time, times with "
        "an offset are converted to it before hour windows apply",
    )
    # Four flags per layer would bury the help; the group's text names them all once.
    p.add_argument_group(
        "one layer's options",
        "--LAYER-crs CRS, --LAYER-encoding ENC, --LAYER-layer NAME (inside a GeoPackage) "
        "and --LAYER-columns NAME=HEADER,... set one layer's options, over --crs, "
        f"--encoding and --columns; LAYER is one of {', '.join(LAYERS)}, e.g. "
        "--stations-layer posts --incidents-columns time=occurrencedate",
    )
    for name in LAYERS:
        for opt, meta in (("layer", "NAME"), ("encoding", "ENC"), ("columns", "MAP")):
            g.add_argument(
                f"--{name}-{opt}", dest=f"{name}_{opt}", metavar=meta, help=argparse.SUPPRESS
            )
    if mode:
        g.add_argument("--mode", choices=MODES, default=None, help="travel mode (default car)")
    g.add_argument("--max-snap-m", type=float, default=500.0, help="snap limit in metres (500)")
    g.add_argument("--sample-dir", default="out/sample", help="where the sample is written")
    g.add_argument("--seed", type=int, default=2023, help="sample district seed")
    g.add_argument("--cache-dir", type=Path, help="network cache folder")
    g.add_argument("--no-cache", action="store_true", help="always rebuild the network")


def area_spec_from_args(
    args: argparse.Namespace, *, needs: Sequence[str] = (), command: str = "this command"
) -> AreaSpec | None:
    """Return the spec the options describe, or None for the sample district.

    Raises
    ------
    AreaError
        If layer files are given without roads, both ``--area`` and ``--osm`` are given,
        or a layer the command needs is missing.
    """
    given = {name: getattr(args, name, None) for name in LAYERS}
    roads_path, lines = roads_from_args(args)
    if args.area and roads_path:
        msg = "give either --area FILE or --osm/--roads FILE with the layers, not both"
        raise AreaError(msg)
    if not args.area and not roads_path:
        if any(given.values()):
            msg = (
                f"{command} runs on your files when you give all of {_flags(needs)} "
                "(or an --area file listing them), or on the sample district with none"
            )
            raise AreaError(msg)
        return None
    if args.area:
        spec = AreaSpec.from_file(args.area)
        if args.crs or args.encoding:
            msg = "--crs and --encoding go with --osm; with --area, give them per layer"
            raise AreaError(msg)
    else:
        sources = {
            name: LayerSource(str(Path(path).resolve()), crs=args.crs, encoding=args.encoding)
            for name, path in given.items()
            if path
        }
        spec = AreaSpec(
            osm=str(Path(roads_path).resolve()),  # type: ignore[arg-type]
            lines=lines,
            **sources,  # type: ignore[arg-type]
        )
    # One layer's flags win over the area file's options and over --crs/--encoding.
    changes: dict[str, Any] = {}
    for name in LAYERS:
        over = _layer_overrides(args, name)
        if not over:
            continue
        src = spec.source(name)
        if src is None:
            flag = next(f"--{name}-{k}" for k in over)
            msg = (
                f"{flag} is given, but the area file {args.area} has no {name} layer"
                if args.area
                else f"{flag} is given without --{name} FILE"
            )
            raise AreaError(msg)
        over["columns"] = {**src.columns, **over.get("columns", {})}
        changes[name] = replace(src, **over)
    if getattr(args, "tz", None):
        changes["tz"] = args.tz
    if getattr(args, "columns", None):
        changes["columns"] = {**spec.columns, **parse_columns(args.columns)}
    if changes:
        spec = replace(spec, **changes)
    missing = [n for n in needs if spec.source(n) is None]  # type: ignore[arg-type]
    if missing:
        msg = (
            f"{command} needs the {' and '.join(missing)} layer(s): give all of "
            f"{_flags(needs)} (or list them in the area file), or none for the sample district"
        )
        raise AreaError(msg)
    return spec


def area_from_args(
    args: argparse.Namespace,
    *,
    needs: Sequence[str] = (),
    modes: Sequence[str] | None = None,
    command: str = "this command",
    progress: Callable[[str], None] | None = None,
    read_layers: Mapping[LayerName, gpd.GeoDataFrame] | None = None,
    incident_hours: HourWindow | None = None,
) -> Area:
    """Load the area the options describe (the sample district when they name no files).

    ``modes`` overrides the travel modes to load; ``args.mode``, when given, is the
    primary mode; ``read_layers`` are layers the command already read and
    ``incident_hours`` the hours of the incidents to hold (see
    :func:`geo.area.load_area`; the sample's incidents are all held).
    """
    spec = area_spec_from_args(args, needs=needs, command=command)
    cache = None if args.no_cache else (args.cache_dir or default_cache_dir())
    params = EngineParams(max_snap_m=args.max_snap_m)
    primary = getattr(args, "mode", None)
    wanted = list(modes) if modes is not None else None
    if spec is None:
        # The sample is written to real files and read back like anyone's.
        chosen = wanted or [primary or "car"]
        if primary and primary in chosen:
            chosen = [primary, *[m for m in chosen if m != primary]]
        return sample_area(
            args.sample_dir,
            seed=args.seed,
            modes=chosen,
            cache_dir=cache,
            engine_params=params,
            progress=progress,
        )
    if primary:
        from dataclasses import replace

        spec = replace(spec, mode=primary)
    area = load_area(
        spec,
        cache_dir=cache,
        modes=wanted,
        engine_params=params,
        progress=progress,
        read_layers=read_layers,
        incident_hours=incident_hours,
    )
    if progress is not None:
        for note in area.notes:  # some features beyond the roads: kept, but say so
            progress(f"warning: {note}")
    return area
