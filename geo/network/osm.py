"""Read the highway ways of an OSM file (XML, bz2/gz, PBF) into flat arrays.

pyosmium's one C++ reader handles every format; node locations come with the ways, and
nodes missing from an extract (a way cut at its edge) are marked invalid, not dropped,
so the build can trim the way there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def read_osm_ways(path: Path) -> Ways:
    """Read every highway way of an OSM file, with node locations (missing -> invalid)."""
    import osmium

    way_ids: list[int] = []
    tag_rows: list[tuple[str | None, ...]] = []
    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    valid: list[bool] = []
    counts: list[int] = []
    try:
        fp = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for obj in fp:
            if not isinstance(obj, osmium.osm.Way):
                continue
            tags = obj.tags
            way_ids.append(obj.id)
            tag_rows.append(tuple(tags.get(k) for k in TAG_KEYS))
            n = 0
            for nd in obj.nodes:
                loc = nd.location
                ok = loc.valid()
                refs.append(nd.ref)
                valid.append(ok)
                lons.append(loc.lon if ok else np.nan)
                lats.append(loc.lat if ok else np.nan)
                n += 1
            counts.append(n)
    except RuntimeError as exc:  # libosmium reports format errors as RuntimeError
        msg = f"{path}: not a readable OSM file ({exc})"
        raise NetworkError(msg) from exc
    return Ways(
        way_id=np.asarray(way_ids, dtype=np.int64),
        tags=pd.DataFrame(tag_rows, columns=list(TAG_KEYS), dtype=object),
        node_way=np.repeat(np.arange(len(way_ids), dtype=np.int64), counts),
        node_ref=np.asarray(refs, dtype=np.int64),
        node_lon=np.asarray(lons, dtype=float),
        node_lat=np.asarray(lats, dtype=float),
        node_valid=np.asarray(valid, dtype=bool),
    )


def access_mask(tags: pd.DataFrame, mode: Mode) -> np.ndarray:
    """Return which ways ``mode`` may use: a known road class, not ``access=no``."""
    hw = tags["highway"].astype("string").fillna("")
    ok = hw.isin(SPEEDS_KMH[mode]).to_numpy() & ~hw.isin(NOT_ROADS).to_numpy()
    ok &= (tags["access"].astype("string").fillna("") != "no").to_numpy()
    return ok
