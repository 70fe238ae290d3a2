"""Read the highway ways of an OSM file (XML, bz2/gz, PBF) into flat arrays.

pyosmium's one C++ reader handles every format; node locations come with the ways, and
nodes missing from an extract (a way cut at its edge) are marked invalid, not dropped,
so the build can trim the way there. A file that cannot mean one road network is an
error naming what is wrong: a road node outside the globe or at (0, 0), or a node or
way id defined twice (two extracts concatenated, or a hand edit gone wrong).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import NetworkError
from geo.network.tags import NOT_ROADS, SPEEDS_KMH, Mode

__all__ = ["TAG_KEYS", "Ways", "access_mask", "read_osm_ways"]


@dataclass
class Ways:
    """Raw highway ways as flat arrays: one row per way node, in way order."""

    way_id: np.ndarray  # per way
    tags: pd.DataFrame  # per way: highway, name, lit, surface, maxspeed, oneway, junction, access
    node_way: np.ndarray  # per way-node: index into way_id
    node_ref: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    node_valid: np.ndarray


TAG_KEYS = ("highway", "name", "lit", "surface", "maxspeed", "oneway", "junction", "access")


#: libosmium's coordinate of a node absent from the file (a way cut at the extract edge).
_UNDEFINED = 2147483647
#: libosmium stores degrees as integers of 1e-7 degrees.
_SCALE = 1e7
#: Ids and problems listed in one error message.
_SHOWN = 5


def read_osm_ways(path: Path) -> Ways:
    """Read every highway way of an OSM file, with node locations (missing -> invalid).

    Raises
    ------
    NetworkError
        If the file cannot be read, a road node lies outside [-180, 180] x [-90, 90] or
        at exactly (0, 0), or a node or highway way id occurs more than once.
    """
    import osmium
    import osmium.index

    way_ids: list[int] = []
    tag_rows: list[tuple[str | None, ...]] = []
    refs: list[int] = []
    xs: list[int] = []
    ys: list[int] = []
    counts: list[int] = []
    # Two node indexes, filled in C++ (no Python call per node): the array keeps every
    # node record, repeats included, the map one entry per id; they differ in size
    # exactly when some node id occurs twice.
    distinct = osmium.index.create_map("sparse_mem_map")
    counter = osmium.NodeLocationsForWays(distinct)
    counter.apply_nodes_to_ways = False
    counter.ignore_errors()
    try:
        fp = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations("sparse_mem_array")
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        fp.handler_for_filtered(counter)
        for obj in fp:
            if not isinstance(obj, osmium.osm.Way):  # the filters pass ways only
                continue
            tags = obj.tags
            way_ids.append(obj.id)
            tag_rows.append(tuple(tags.get(k) for k in TAG_KEYS))
            n = 0
            for nd in obj.nodes:
                refs.append(nd.ref)
                xs.append(nd.x)
                ys.append(nd.y)
                n += 1
            counts.append(n)
    except RuntimeError as exc:  # libosmium reports format errors as RuntimeError
        msg = f"{path}: not a readable OSM file ({exc})"
        raise NetworkError(msg) from exc
    records = fp.node_location_storage
    if _entries(records, "sparse_mem_array") > _entries(distinct, "sparse_mem_map"):
        _raise_duplicate_nodes(path)
    ids = np.asarray(way_ids, dtype=np.int64)
    _check_unique_ways(path, ids)
    node_way = np.repeat(np.arange(len(way_ids), dtype=np.int64), counts)
    node_ref = np.asarray(refs, dtype=np.int64)
    x = np.asarray(xs, dtype=np.int64)
    y = np.asarray(ys, dtype=np.int64)
    present = (x != _UNDEFINED) & (y != _UNDEFINED)
    lon, lat = x / _SCALE, y / _SCALE
    _check_locations(path, ids, node_way, node_ref, lon, lat, present)
    return Ways(
        way_id=ids,
        tags=pd.DataFrame(tag_rows, columns=list(TAG_KEYS), dtype=object),
        node_way=node_way,
        node_ref=node_ref,
        node_lon=np.where(present, lon, np.nan),
        node_lat=np.where(present, lat, np.nan),
        node_valid=present,
    )


def _entries(index: Any, kind: str) -> int:
    """Return how many entries a libosmium node index holds.

    The indexes tell their memory, not their size; both kinds used here take a fixed
    number of bytes per entry, measured on a fresh index of the same kind.
    """
    import osmium
    import osmium.index

    probe = osmium.index.create_map(kind)
    empty = probe.used_memory()
    probe.set(1, osmium.osm.Location(0.0, 0.0))
    per_entry = probe.used_memory() - empty
    return int((index.used_memory() - empty) // per_entry)


def _raise_duplicate_nodes(path: Path) -> None:
    """Name the node ids defined more than once (read again: only on this error path)."""
    import osmium

    ids = np.fromiter(
        (obj.id for obj in osmium.FileProcessor(str(path), osmium.osm.NODE)), dtype=np.int64
    )
    uniq, times = np.unique(ids, return_counts=True)
    _raise_repeats(path, "node", uniq[times > 1], times[times > 1])


def _check_unique_ways(path: Path, way_ids: np.ndarray) -> None:
    uniq, times = np.unique(way_ids, return_counts=True)
    if (times > 1).any():
        _raise_repeats(path, "highway way", uniq[times > 1], times[times > 1])


def _raise_repeats(path: Path, what: str, ids: np.ndarray, times: np.ndarray) -> None:
    shown = ", ".join(f"{i} ({t} times)" for i, t in zip(ids[:_SHOWN], times[:_SHOWN], strict=True))
    more = f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else ""
    msg = (
        f"{path}: {len(ids)} {what} id(s) occur more than once: {shown}{more}; an OSM id "
        "names one object (two extracts concatenated? merge them with `osmium merge`)"
    )
    raise NetworkError(msg)


def _check_locations(
    path: Path,
    way_ids: np.ndarray,
    node_way: np.ndarray,
    node_ref: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    present: np.ndarray,
) -> None:
    """Raise naming the road nodes outside the globe or at (0, 0), if there are any."""
    outside = present & ((np.abs(lon) > 180.0) | (np.abs(lat) > 90.0))
    zero = present & (lon == 0.0) & (lat == 0.0)
    bad = np.flatnonzero(outside | zero)
    if not len(bad):
        return
    _, first = np.unique(node_ref[bad], return_index=True)
    bad = bad[np.sort(first)]
    shown = []
    for k in bad[:_SHOWN].tolist():
        where = (
            f"node {node_ref[k]} (of way {way_ids[node_way[k]]}) at lon {lon[k]:g}, lat {lat[k]:g}"
        )
        if zero[k]:
            why = "(0, 0) is a placeholder for an unknown location"
        elif abs(lat[k]) > 90.0:
            why = "latitude outside [-90, 90]"
        else:
            why = "longitude outside [-180, 180]"
        shown.append(f"{where}: {why}")
    more = f"; and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
    msg = f"{path}: {len(bad)} road node(s) with an impossible location: {'; '.join(shown)}{more}"
    raise NetworkError(msg)


def access_mask(tags: pd.DataFrame, mode: Mode) -> np.ndarray:
    """Return which ways ``mode`` may use: a known road class, not ``access=no``."""
    hw = tags["highway"].astype("string").fillna("")
    ok = hw.isin(SPEEDS_KMH[mode]).to_numpy() & ~hw.isin(NOT_ROADS).to_numpy()
    ok &= (tags["access"].astype("string").fillna("") != "no").to_numpy()
    return ok
