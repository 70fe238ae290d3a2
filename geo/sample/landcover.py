"""What the sample's base map shows besides roads: woods, built-up land, village ponds.

Drawn from what the district already is, with no random draw, so adding it changed no
other file: woods where the terrain's hills rise (:mod:`geo.sample.terrain`), built-up
land around every village centre and township seat, and a pond beside each village
named after one (…塘, …湖), set back from the road and kept clear of every road.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from geo.sample.frame import X_HALF, Y_HALF
from geo.sample.geometry import FloatArray, segment_lines, unit
from geo.sample.places import Places
from geo.sample.roads import Net
from geo.sample.terrain import Terrain

__all__ = ["Landcover", "make_landcover"]

#: Hilliness above which the hills are wooded.
_WOODED: float = 0.55
#: Metres from a village centre to its pond, and the pond's half-axes.
_POND_SETBACK: float = 170.0
_POND_AXES: tuple[float, float] = (55.0, 32.0)
#: Least clearance between a pond and any road.
_POND_CLEARANCE: float = 25.0


@dataclass(frozen=True)
class Landcover:
    """Polygons in the local metric frame, each list in a fixed order."""

    forest: list[shapely.Polygon]
    residential: list[shapely.Polygon]
    ponds: list[tuple[str, shapely.Polygon]]  # (name, outline)


def make_landcover(terrain: Terrain, places: Places, net: Net, gate_r: FloatArray) -> Landcover:
    """Return the woods, built-up land and ponds of the finished district."""
    villages = shapely.buffer(
        shapely.points(places.village_xy),
        np.clip(70.0 + places.village_pop / 25.0, 80.0, 200.0),
        quad_segs=4,
    )
    seats = shapely.buffer(shapely.points(places.seat_xy), 0.5 * gate_r, quad_segs=6)
    built = shapely.union_all(np.concatenate([villages, seats]))
    residential = _polygons(built)

    # A hill's own bump exceeds the threshold inside this radius; the union of the discs
    # traces the wooded hills closely enough for a base map.
    keep = terrain.heights > _WOODED
    radius = terrain.sigmas[keep] * np.sqrt(2.0 * np.log(terrain.heights[keep] / _WOODED))
    hills = shapely.buffer(shapely.points(terrain.centres[keep]), radius, quad_segs=8)
    frame = shapely.box(-X_HALF, -Y_HALF, X_HALF, Y_HALF)
    woods = shapely.difference(
        shapely.intersection(shapely.union_all(hills), frame), shapely.buffer(built, 40.0)
    )
    forest = _polygons(shapely.simplify(woods, 5.0))

    segs, *_ = net.segments(net.alive())
    tree = shapely.STRtree(segment_lines(segs))
    ponds: list[tuple[str, shapely.Polygon]] = []
    for v, stem in enumerate(places.stems):
        if stem[-1] not in "塘湖":
            continue
        away = places.village_xy[v] - places.anchor_xy[v]
        if not np.any(away):
            continue
        d = unit(away)
        centre = places.village_xy[v] + _POND_SETBACK * d
        pond = _ellipse(centre, d)
        _, dist = tree.query_nearest(pond, return_distance=True)
        if float(dist.min()) >= _POND_CLEARANCE:
            ponds.append((stem, pond))
    return Landcover(forest=forest, residential=residential, ponds=ponds)


def _polygons(geom: shapely.Geometry) -> list[shapely.Polygon]:
    parts = shapely.get_parts(geom)
    return [p for p in parts if isinstance(p, shapely.Polygon) and p.area > 0]


def _ellipse(centre: FloatArray, axis: FloatArray) -> shapely.Polygon:
    t = np.linspace(0.0, 2.0 * math.pi, 17)[:-1]
    a, b = _POND_AXES
    u = a * np.cos(t)
    w = b * np.sin(t)
    xy = centre + np.outer(u, axis) + np.outer(w, [-axis[1], axis[0]])
    return shapely.Polygon(xy)
