"""Download a named place's roads from OpenStreetMap (the one online feature).

It lives in the service, not in :mod:`geo`, because the engine does no HTTP. The file it
writes is then built like any other extract, so online and offline users share one path.
"""

from __future__ import annotations

from pathlib import Path

import shapely

from geo.atomic import atomic_write
from geo.errors import NetworkError

__all__ = ["download_osm_by_place", "overpass_query"]


def overpass_query(polygon: shapely.Polygon | shapely.MultiPolygon, *, timeout_s: int = 180) -> str:
    """Return an Overpass QL query for every highway way (with its nodes) in a polygon."""
    if polygon.is_empty or polygon.geom_type not in ("Polygon", "MultiPolygon"):
        msg = "the area to download must be a non-empty (Multi)Polygon in WGS84"
        raise NetworkError(msg)
    polys = list(polygon.geoms) if isinstance(polygon, shapely.MultiPolygon) else [polygon]
    parts = []
    for p in polys:
        ring = " ".join(f"{lat:.7f} {lon:.7f}" for lon, lat in p.exterior.coords)
        parts.append(f'way["highway"](poly:"{ring}");')
    return f"[out:xml][timeout:{timeout_s}];({''.join(parts)});(._;>;);out body;"


def download_osm_by_place(place: str, path: str | Path, *, timeout_s: int = 180) -> Path:
    """Download the highway ways of a named place as an OSM XML file (needs internet).

    The place is geocoded with osmnx (Nominatim), then the ways are fetched from the
    Overpass server osmnx is configured with. The file is then built like any other
    extract, so offline users and online users share one code path.
    """
    import osmnx as ox
    import requests

    if not place.strip():
        msg = "place name is empty"
        raise NetworkError(msg)
    try:
        area = ox.geocode_to_gdf(place).to_crs(4326).geometry.union_all()
    except (OSError, requests.RequestException) as exc:
        msg = f"could not geocode {place!r} (is this machine online?): {exc}"
        raise NetworkError(msg) from exc
    except ValueError as exc:  # osmnx: nothing found for the query
        msg = f"no place called {place!r} was found: {exc}"
        raise NetworkError(msg) from exc
    query = overpass_query(area, timeout_s=timeout_s)
    url = ox.settings.overpass_url.rstrip("/") + "/interpreter"
    try:
        resp = requests.post(url, data={"data": query}, timeout=timeout_s + 30)
        resp.raise_for_status()
    except requests.RequestException as exc:
        # requests' errors are not the product's: say what failed in the product's terms.
        msg = f"could not download the roads of {place!r} (is this machine online?): {exc}"
        raise NetworkError(msg) from exc
    with atomic_write(path, binary=True) as f:
        f.write(resp.content)
    return Path(path)
