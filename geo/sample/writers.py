"""Serialise the district (OSM XML, CSV, GeoJSON, GeoPackage, README) and write it."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import textwrap
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from numpy.typing import NDArray

from geo.sample.frame import (
    SAMPLE_BOUNDS,
    SAMPLE_DISTRICT_CODE,
    SAMPLE_DISTRICT_NAME,
    SAMPLE_YEAR,
    SYNTHETIC_LABEL,
)
from geo.sample.geometry import FloatArray, to_lonlat
from geo.sample.groups import Groups
from geo.sample.incidents import CATEGORIES, Hotspot, Incidents
from geo.sample.landcover import Landcover
from geo.sample.pinyin import english_name
from geo.sample.places import Places
from geo.sample.roads import Net
from geo.sample.tags import Numbering
from geo.sample.town import numeral
from geo.sample.units import Officers, Stations, Team

__all__ = [
    "FILE_NAMES",
    "SampleContents",
    "boundaries_geojson",
    "committee_codes",
    "groups_csv",
    "SampleFiles",
    "hotspots_geojson",
    "officers_csv",
    "osm_xml",
    "readme_text",
    "stations_geojson",
    "teams_csv",
    "villages_csv",
    "write_atomically",
    "write_incidents",
]

FILE_NAMES = {
    "roads": "roads.osm",
    "villages": "villages.csv",
    "groups": "village_groups.csv",
    "boundaries": "village_boundaries.geojson",
    "stations": "stations.geojson",
    "teams": "teams.csv",
    "officers": "officers.csv",
    "incidents": "incidents.gpkg",
    "hotspots_truth": "hotspots_truth.geojson",
    "readme": "README.txt",
}

# Written into gpkg_contents.last_change instead of the time of the write.
_GPKG_DATE = f"{SAMPLE_YEAR}-12-31T00:00:00.000Z"


@dataclass(frozen=True)
class SampleFiles:
    """Paths of the files written by :func:`geo.sample.generate_sample`, and the seed used.

    Attributes
    ----------
    roads
        OSM XML 0.6 road network (``roads.osm``).
    villages
        Villages and communities with population (``villages.csv``).
    groups
        Village groups (村民小组) with households (``village_groups.csv``).
    boundaries
        Village and community boundary polygons (``village_boundaries.geojson``).
    stations
        Police stations and posts (``stations.geojson``).
    teams
        Vanguard teams (``teams.csv``).
    officers
        Auxiliary officers (辅警) and the villages they serve (``officers.csv``).
    incidents
        One year of incidents (``incidents.gpkg``, layer ``incidents``).
    hotspots_truth
        Ground truth of the planted hotspot clusters (``hotspots_truth.geojson``).
    readme
        Plain-text description of the sample (``README.txt``).
    seed
        Seed the files were generated from.
    """

    roads: Path
    villages: Path
    groups: Path
    boundaries: Path
    stations: Path
    teams: Path
    officers: Path
    incidents: Path
    hotspots_truth: Path
    readme: Path
    seed: int

    @property
    def paths(self) -> tuple[Path, ...]:
        """Return every written path, in a fixed order."""
        return (
            self.roads,
            self.villages,
            self.groups,
            self.boundaries,
            self.stations,
            self.teams,
            self.officers,
            self.incidents,
            self.hotspots_truth,
            self.readme,
        )


@dataclass(frozen=True)
class SampleContents:
    """The text of every sample file and the incidents table, ready to write."""

    seed: int
    osm: str
    villages_csv: str
    groups_csv: str
    boundaries_geojson: str
    stations_geojson: str
    teams_csv: str
    officers_csv: str
    hotspots_geojson: str
    readme: str
    incidents: Incidents


def osm_xml(
    net: Net,
    numbering: Numbering,
    seed: int,
    *,
    places: Places | None = None,
    cover: Landcover | None = None,
) -> str:
    """Serialise the live ways as OSM XML 0.6, with the base map's places and land cover.

    The roads come first, numbered as always; the place nodes (villages, township
    seats, communities with ``name``, ``name:zh`` and ``name:en``) and the land cover
    (woods, built-up land, ponds) follow with ids past the roads', so the road network
    read from the file is the same with or without them.
    """
    lonlat = to_lonlat(numbering.node_xy)
    west, south, east, north = SAMPLE_BOUNDS
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="pingan-sample (synthetic)">',
        f"  <!-- {SYNTHETIC_LABEL}; seed {seed} -->",
        f'  <bounds minlat="{south:.7f}" minlon="{west:.7f}" '
        f'maxlat="{north:.7f}" maxlon="{east:.7f}"/>',
    ]
    out += [
        f'  <node id="{k + 1}" lat="{lat:.7f}" lon="{lon:.7f}" version="1"/>'
        for k, (lon, lat) in enumerate(lonlat)
    ]
    base = _BaseElements(len(lonlat) + 1, max(numbering.way_ids.values(), default=0) + 1)
    if places is not None:
        base.add_places(places)
    if cover is not None:
        base.add_cover(cover)
    out += base.nodes
    for wi, refs in zip(numbering.order, numbering.refs, strict=True):
        out.append(f'  <way id="{numbering.way_ids[wi]}" version="1">')
        out += [f'    <nd ref="{r}"/>' for r in refs]
        tags = net.ways[wi].tags
        out += _tag_lines(tags)
        out.append("  </way>")
    out += base.ways
    out += base.relations
    out.append("</osm>")
    return "\n".join(out) + "\n"


def _tag_lines(tags: dict[str, str]) -> list[str]:
    return [f"    <tag k={quoteattr(key)} v={quoteattr(tags[key])}/>" for key in sorted(tags)]


class _BaseElements:
    """The OSM nodes, ways and relations of the base map, numbered past the roads."""

    def __init__(self, first_node: int, first_way: int) -> None:
        self.next_node = first_node
        self.next_way = first_way
        self.next_relation = 1
        self.nodes: list[str] = []
        self.ways: list[str] = []
        self.relations: list[str] = []

    def add_places(self, places: Places) -> None:
        names = (
            [(f"{s}镇", "town") for s in places.town_stems]
            + [(f"{s}村", "village") for s in places.stems]
            + [(n, "neighbourhood") for n in places.community_names]
        )
        xy = np.vstack([places.seat_xy, places.village_xy, places.community_xy])
        for (lon, lat), (name, kind) in zip(to_lonlat(xy), names, strict=True):
            tags = {"name": name, "name:zh": name, "name:en": english_name(name), "place": kind}
            self.nodes.append(
                f'  <node id="{self.next_node}" lat="{lat:.7f}" lon="{lon:.7f}" version="1">'
            )
            self.nodes += _tag_lines(tags)
            self.nodes.append("  </node>")
            self.next_node += 1

    def add_cover(self, cover: Landcover) -> None:
        for poly in cover.forest:
            self._area(poly, {"landuse": "forest"})
        for poly in cover.residential:
            self._area(poly, {"landuse": "residential"})
        for name, poly in cover.ponds:
            self._area(poly, {"name": name, "natural": "water", "water": "pond"})

    def _area(self, poly: shapely.Polygon, tags: dict[str, str]) -> None:
        """Write a polygon as a closed way, or as a multipolygon when it has holes."""
        if not poly.interiors:
            self._ring(np.asarray(poly.exterior.coords), tags)
            return
        members = [("outer", self._ring(np.asarray(poly.exterior.coords), {}))]
        members += [("inner", self._ring(np.asarray(r.coords), {})) for r in poly.interiors]
        self.relations.append(f'  <relation id="{self.next_relation}" version="1">')
        self.relations += [
            f'    <member type="way" ref="{ref}" role="{role}"/>' for role, ref in members
        ]
        self.relations += _tag_lines({**tags, "type": "multipolygon"})
        self.relations.append("  </relation>")
        self.next_relation += 1

    def _ring(self, xy: FloatArray, tags: dict[str, str]) -> int:
        lonlat = to_lonlat(xy[:-1])  # a ring repeats its first vertex; OSM its first node
        ids = list(range(self.next_node, self.next_node + len(lonlat)))
        self.nodes += [
            f'  <node id="{k}" lat="{lat:.7f}" lon="{lon:.7f}" version="1"/>'
            for k, (lon, lat) in zip(ids, lonlat, strict=True)
        ]
        self.next_node += len(ids)
        way = self.next_way
        self.ways.append(f'  <way id="{way}" version="1">')
        self.ways += [f'    <nd ref="{r}"/>' for r in [*ids, ids[0]]]
        self.ways += _tag_lines(tags)
        self.ways.append("  </way>")
        self.next_way += 1
        return way


def committee_codes(places: Places) -> tuple[list[str], list[str]]:
    """Return the 12-digit codes of the villages and of the communities, in their order."""
    v_codes = [""] * len(places.village_xy)
    c_codes = [""] * len(places.community_xy)
    for s in range(len(places.seat_xy)):
        t_code = f"{SAMPLE_DISTRICT_CODE}{100 + s}"
        members = np.flatnonzero(places.township == s)
        d = np.hypot(*(places.village_xy[members] - places.seat_xy[s]).T)
        members = members[np.argsort(d, kind="stable")]
        # NBS codes skip numbers where committees were merged; ours do too, in 201..399.
        codes = 200 + np.cumsum(np.where(places.code_gap[members], 2, 1))
        if codes.size and codes[-1] > 399:
            codes = 200 + np.arange(1, len(members) + 1)
        for v, code in zip(members, codes, strict=True):
            v_codes[v] = f"{t_code}{code:03d}"
        for k, c in enumerate(np.flatnonzero(places.community_seat == s)):
            c_codes[c] = f"{t_code}{k + 1:03d}"
    return v_codes, c_codes


def villages_csv(places: Places) -> str:
    """Return villages.csv: villagers' committees and seat communities, sorted by code."""
    v_codes, c_codes = committee_codes(places)
    hh = places.households()
    rows: list[tuple[str, str, str, int, int, int, FloatArray]] = []
    for v, code in enumerate(v_codes):
        rows.append((code, f"{places.stems[v]}村", "village", int(places.township[v]),
                     int(places.village_pop[v]), int(hh[v]), places.village_xy[v]))  # fmt: skip
    for c, code in enumerate(c_codes):
        pop = int(places.community_pop[c])
        rows.append((code, places.community_names[c], "community",
                     int(places.community_seat[c]), pop,
                     round(pop / float(places.community_hh[c])),
                     places.community_xy[c]))  # fmt: skip
    rows.sort(key=lambda r: r[0])
    lonlat = to_lonlat(np.array([r[6] for r in rows]))
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["code", "name", "kind", "township_code", "township", "district_code",
                 "district", "population", "households", "lon", "lat"])  # fmt: skip
    for (code, name, kind, s, pop, n_hh, _), (lon, lat) in zip(rows, lonlat, strict=True):
        wr.writerow([code, name, kind, f"{SAMPLE_DISTRICT_CODE}{100 + s}",
                     f"{places.town_stems[s]}镇", SAMPLE_DISTRICT_CODE, SAMPLE_DISTRICT_NAME,
                     pop, n_hh, f"{lon:.7f}", f"{lat:.7f}"])  # fmt: skip
    return buf.getvalue()


def groups_csv(places: Places, groups: Groups) -> str:
    """Return village_groups.csv: every village group with its households and centre."""
    v_codes, _ = committee_codes(places)
    lonlat = to_lonlat(groups.xy)
    rows = sorted(
        (v_codes[int(v)], int(n), int(hh), float(lon), float(lat), int(v))
        for v, n, hh, (lon, lat) in zip(
            groups.village, groups.number, groups.households, lonlat, strict=True
        )
    )
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["code", "name", "village_code", "households", "lon", "lat"])
    for vc, n, hh, lon, lat, v in rows:
        wr.writerow([f"{vc}{n:02d}", f"{places.stems[v]}村{numeral(n)}组", vc, hh,
                     f"{lon:.7f}", f"{lat:.7f}"])  # fmt: skip
    return buf.getvalue()


def boundaries_geojson(places: Places, cells: NDArray[np.object_], n_seats: int) -> str:
    """Return village_boundaries.geojson: one polygon per village and community.

    A village's ground is its junction's settlement cell (where its groups were built);
    a seat's cell is shared among its communities by nearness.
    """
    v_codes, c_codes = committee_codes(places)
    items: list[tuple[str, str, shapely.Geometry]] = []
    for v, code in enumerate(v_codes):
        items.append((code, f"{places.stems[v]}村", cells[n_seats + v]))
    for s in range(n_seats):
        members = np.flatnonzero(places.community_seat == s)
        if len(members) == 1:
            parts = [cells[s]]
        else:
            vor = shapely.get_parts(
                shapely.voronoi_polygons(
                    shapely.multipoints(places.community_xy[members]), extend_to=cells[s]
                )
            )
            own = shapely.STRtree(vor).query(
                shapely.points(places.community_xy[members]), predicate="within"
            )
            parts = [None] * len(members)
            for i, j in zip(own[0], own[1], strict=True):
                parts[int(i)] = shapely.intersection(vor[j], cells[s])
        for c, part in zip(members, parts, strict=True):
            items.append((c_codes[c], places.community_names[c], part))
    items.sort(key=lambda t: t[0])
    features = []
    for code, name, geom in items:
        ring = shapely.get_coordinates(shapely.get_exterior_ring(shapely.normalize(geom)))
        lonlat = to_lonlat(ring)
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": name},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[float(x), float(y)] for x, y in lonlat]],
                },
            }
        )
    return _feature_collection("village_boundaries", features)


def _feature_collection(name: str, features: list[dict[str, Any]]) -> str:
    """Return a GeoJSON FeatureCollection with one feature per line."""
    head = json.dumps(
        {"type": "FeatureCollection", "name": name, "description": SYNTHETIC_LABEL},
        ensure_ascii=False,
    )[:-1]
    body = ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
    return f'{head}, "features": [\n{body}\n]}}\n'


def _point(xy: FloatArray) -> dict[str, Any]:
    lon, lat = to_lonlat(xy)[0]
    return {"type": "Point", "coordinates": [float(lon), float(lat)]}


def stations_geojson(st: Stations) -> str:
    """Return stations.geojson: one point per station and post."""
    features = [
        {
            "type": "Feature",
            "properties": {
                "id": st.ids[k],
                "name": st.names[k],
                "kind": st.kinds[k],
                "township_code": f"{SAMPLE_DISTRICT_CODE}{100 + st.township[k]}",
            },
            "geometry": _point(st.xy[k]),
        }
        for k in range(len(st.ids))
    ]
    return _feature_collection("stations", features)


def teams_csv(teams: list[Team]) -> str:
    """Return teams.csv: one row per vanguard team."""
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["id", "name", "home_unit", "members", "skills", "leader", "lon", "lat"])
    for t in teams:
        lon, lat = to_lonlat(t.xy)[0]
        wr.writerow([t.id, t.name, t.home_unit, t.members, t.skills, t.leader,
                     f"{lon:.7f}", f"{lat:.7f}"])  # fmt: skip
    return buf.getvalue()


def officers_csv(officers: Officers, places: Places) -> str:
    """Return officers.csv: one row per auxiliary officer, by village code (unplaced last)."""
    v_codes, _ = committee_codes(places)
    codes = [v_codes[v] if v >= 0 else "" for v in officers.village.tolist()]
    lonlat = to_lonlat(officers.xy)
    order = sorted(range(len(codes)), key=lambda k: (codes[k] == "", codes[k], officers.ids[k]))
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["id", "name", "village_code", "phone", "unit", "lon", "lat"])
    for k in order:
        lon, lat = lonlat[k]
        wr.writerow([officers.ids[k], officers.names[k], codes[k], officers.phones[k],
                     officers.units[k], f"{lon:.7f}", f"{lat:.7f}"])  # fmt: skip
    return buf.getvalue()


def hotspots_geojson(hotspots: list[Hotspot], inc: Incidents) -> str:
    """Return hotspots_truth.geojson: each planted cluster and the incidents drawn in it."""
    features = []
    for k, h in enumerate(hotspots):
        sel = inc.cluster == k
        counts = [int((inc.category[sel] == c).sum()) for c in CATEGORIES]
        first, last = np.datetime64(f"{SAMPLE_YEAR}-01-01") + np.array(h.days)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "id": h.id,
                    "name": h.name,
                    "kind": h.kind,
                    "radius_m": h.radius_m,
                    "n_incidents": int(sel.sum()),
                    "categories": {c: n for c, n in zip(CATEGORIES, counts, strict=True) if n},
                    "hour_start": h.hours[0],
                    "hour_end": h.hours[1],
                    "hours": f"{h.hours[0]:02d}:00-{h.hours[1]:02d}:00",
                    "date_start": str(first),
                    "date_end": str(last),
                    "osm_ref": h.osm_ref,
                    "incident_ids": [str(x) for x in inc.id[sel]],
                },
                "geometry": _point(h.centre),
            }
        )
    return _feature_collection("hotspots_truth", features)


def readme_text(seed: int, counts: dict[str, int], town_stems: list[str]) -> str:
    """Return README.txt: what the sample is and what each file holds."""
    west, south, east, north = SAMPLE_BOUNDS
    n = counts
    files = [
        (
            "roads.osm",
            f"OSM XML 0.6 road network, {n['ways']} ways: a county road through the three "
            "township seats, township roads, village roads, field tracks and town streets; "
            "lit=yes/no on some ways. Two pieces are deliberately disconnected (tagged "
            "note=synthetic sample: planted ...).",
        ),
        (
            "villages.csv",
            f"{n['villages']} villagers' committees and {n['communities']} communities: "
            "12-digit codes, population, households, lon/lat of the centre beside its road.",
        ),
        (
            "village_groups.csv",
            f"{n['groups']} village groups (村民小组): code, name, village_code, households, "
            "lon/lat of the group's houses; each village's groups add up to its households.",
        ),
        (
            "village_boundaries.geojson",
            "one boundary polygon per village and community (code, name).",
        ),
        ("stations.geojson", f"{n['stations']} police stations (派出所) and posts (警务室)."),
        (
            "teams.csv",
            f"{n['teams']} vanguard teams (先锋队): home unit, members, skills (';'), "
            "leader (each team is named after its leader).",
        ),
        (
            "officers.csv",
            f"{n['officers']} auxiliary officers (辅警): village_code of the village served, "
            f"phone (masked), unit, lon/lat of the home. {n['officer_gaps']} villages have "
            f"no officer, {n['officer_pairs']} have two and {n['officers_unplaced']} "
            "officers are not yet placed (village_code empty).",
        ),
        (
            "incidents.gpkg",
            f'layer "incidents": {n["incidents"]} incidents in {SAMPLE_YEAR}; time is ISO-8601 '
            "with +08:00; category, severity 1-3, description.",
        ),
        (
            "hotspots_truth.geojson",
            f"{n['hotspots']} planted hotspot clusters: centre, radius_m, incident ids, "
            "category counts, hour and date windows (ground truth for tests).",
        ),
        ("README.txt", "this file."),
    ]
    listing = []
    for name, text in files:
        wrapped = textwrap.wrap(text, 64)
        listing.append(f"  {name:<24}{wrapped[0]}")
        listing += [" " * 26 + line for line in wrapped[1:]]
    towns = "、".join(f"{s}镇" for s in town_stems)
    return "\n".join(
        [
            SYNTHETIC_LABEL,
            "",
            f"pingan sample district {SAMPLE_DISTRICT_CODE} {SAMPLE_DISTRICT_NAME}",
            f"Generated by geo.sample.generate_sample(seed={seed}); the same seed gives "
            "identical files.",
            "Every place, name, person and incident in these files is invented; the district",
            "code is fictional.",
            "",
            f"Area: {west:.2f}-{east:.2f} E, {south:.2f}-{north:.2f} N (WGS84), a rural edge of "
            "Wuhan with",
            f"plain in the south and low hills in the north. Townships: {towns}.",
            "",
            "Files",
            *listing,
            "",
        ]
    )


def write_incidents(inc: Incidents, path: Path) -> None:
    """Write the incidents as a GeoPackage whose bytes depend only on its contents.

    GDAL stamps the wall-clock time of the write into ``gpkg_contents.last_change``.
    Pinning it with GDAL's ``OGR_CURRENT_DATE`` option would change process-global
    configuration, a race under a threaded server or Dask workers. So GDAL writes a
    scratch file, sqlite3 overwrites the stamp with :data:`_GPKG_DATE`, and
    ``VACUUM INTO`` copies the database to ``path``.

    Parameters
    ----------
    inc
        The incidents, written as layer ``incidents``.
    path
        GeoPackage to write; replaced if it exists.
    """
    gdf = gpd.GeoDataFrame(
        {
            "id": inc.id,
            "time": inc.time,
            "category": inc.category,
            "severity": inc.severity,
            "description": inc.description,
        },
        geometry=gpd.points_from_xy(inc.lon, inc.lat),
        crs="EPSG:4326",
    )
    scratch = path.with_suffix(".gdal.gpkg")
    for stale in (path, scratch):  # VACUUM INTO refuses to overwrite a database
        stale.unlink(missing_ok=True)
    try:
        pyogrio.write_dataframe(
            gdf,
            scratch,
            layer="incidents",
            driver="GPKG",
            layer_options={"DESCRIPTION": SYNTHETIC_LABEL},
        )
        # Autocommit, because VACUUM cannot run inside a transaction.
        with closing(sqlite3.connect(scratch, isolation_level=None)) as con:
            # The only timestamp GDAL writes here: the layer carries no metadata, so the
            # gpkg_metadata_reference table, which has one too, is never created.
            con.execute("UPDATE gpkg_contents SET last_change = ?", (_GPKG_DATE,))
            # A copy built afresh rather than the scratch file itself: the SQLite header
            # counts the transactions that changed the file, and GDAL's own closing
            # update of last_change changes it only when the clock has moved on.
            con.execute("VACUUM INTO ?", (str(path),))
    finally:
        scratch.unlink(missing_ok=True)
        scratch.with_name(scratch.name + "-journal").unlink(missing_ok=True)


def write_atomically(
    contents: SampleContents,
    files: SampleFiles,
    *,
    write_gpkg: Callable[[Incidents, Path], None] = write_incidents,
) -> None:
    """Write every file under a temporary name, then move all of them into place.

    Parameters
    ----------
    contents
        What to write.
    files
        Where to write it; the folder must exist.
    write_gpkg
        Writes the incidents GeoPackage to the path it is given.
    """
    tag = f".{os.getpid()}.partial"
    texts = {
        files.roads: contents.osm,
        files.villages: contents.villages_csv,
        files.groups: contents.groups_csv,
        files.boundaries: contents.boundaries_geojson,
        files.stations: contents.stations_geojson,
        files.teams: contents.teams_csv,
        files.officers: contents.officers_csv,
        files.hotspots_truth: contents.hotspots_geojson,
        files.readme: contents.readme,
    }
    temps = {path: path.with_name(f".{path.name}{tag}") for path in texts}
    # GDAL picks the GeoPackage driver by extension, so this temporary name (and the
    # scratch file write_incidents derives from it) keeps .gpkg.
    temps[files.incidents] = files.incidents.with_name(f".{files.incidents.stem}{tag}.gpkg")
    try:
        for path, text in texts.items():
            temps[path].write_bytes(text.encode("utf-8"))
        write_gpkg(contents.incidents, temps[files.incidents])
        for path in files.paths:
            os.replace(temps[path], path)
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + "-journal").unlink(missing_ok=True)
