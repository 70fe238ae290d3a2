"""A synthetic province: sample districts tiled side by side and joined by roads.

A province run (``pingan sweep``) needs what one district cannot give: a road graph of
a few hundred thousand nodes, districts that border each other, villages whose nearest
station lies across a district border. This module makes one from the sample
generator itself: each tile is :func:`geo.sample.district.build_district` drawn with
its own seed, moved to its place on a grid of tiles (the sample's box, 0.2 x 0.15
degrees, side by side), and joined to its neighbours by connecting roads between the
road ends that face each other across the shared edge. ``tiles`` x ``tiles`` blocks of
tiles make one district; ``districts`` districts, laid out in rows, make the province.

Everything is drawn from seeds derived from ``seed``, so one seed always gives the same
files, byte for byte; a province already written for the same key is reused.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geo.atomic import write_text
from geo.errors import SampleError
from geo.sample.district import build_district
from geo.sample.frame import SAMPLE_BOUNDS, SYNTHETIC_LABEL
from geo.sample.units import city_team_rows
from geo.sample.writers import SampleContents

__all__ = ["ProvinceFiles", "ensure_province", "generate_province", "PROVINCE_CODE"]

#: Fictional two-digit province code, and the first digits of its district codes
#: (no Chinese province uses 99).
PROVINCE_CODE = "99"
#: Lower-left corner of the province (degrees): one UTM zone (50N) holds it all.
_ORIGIN = (114.05, 30.2)
_TILE_W = SAMPLE_BOUNDS[2] - SAMPLE_BOUNDS[0]
_TILE_H = SAMPLE_BOUNDS[3] - SAMPLE_BOUNDS[1]
#: Road ends this close to a shared tile edge are joined across it.
_EDGE_M = 400.0
#: Longest connecting road drawn across an edge.
_JOIN_M = 3000.0
#: Element ids of each tile are offset by this much times its index (ids stay unique).
_ID_STRIDE = 10_000_000
_MANIFEST = ".pingan-province.json"
_M_PER_DEG = 111_320.0

ProgressFn = Callable[[str], None]


@dataclass(frozen=True)
class ProvinceFiles:
    """The written province: its area file and the files it names."""

    folder: Path
    province: Path
    roads: Path
    villages: Path
    stations: Path
    incidents: Path
    districts: Path
    teams: Path
    officers: Path

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file of the province, its area file first."""
        return (
            self.province,
            self.roads,
            self.villages,
            self.stations,
            self.incidents,
            self.districts,
            self.teams,
            self.officers,
        )


def _files(out: Path) -> ProvinceFiles:
    return ProvinceFiles(
        folder=out,
        province=out / "province.toml",
        roads=out / "roads.osm",
        villages=out / "villages.csv",
        stations=out / "stations.geojson",
        incidents=out / "incidents.csv",
        districts=out / "districts.geojson",
        teams=out / "teams.csv",
        officers=out / "officers.csv",
    )


def _check(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        msg = f"{name} must be a whole number in {low}..{high}, got {value!r}"
        raise SampleError(msg)
    return value


def district_code(k: int) -> str:
    """Return the six-digit code of the province's district ``k`` (0-based)."""
    return f"{PROVINCE_CODE}{k + 1:04d}"


def district_name(k: int) -> str:
    """Return the name of the province's district ``k`` (0-based)."""
    return f"合成{k + 1}区"


def generate_province(
    out_dir: str | Path,
    *,
    seed: int = 2024,
    districts: int = 10,
    tiles: tuple[int, int] = (3, 2),
    per_row: int = 5,
    n_villages: int = 36,
    n_incidents: int = 300,
    buffer_km: float = 12.0,
    urban: tuple[int, ...] | None = None,
    progress: ProgressFn | None = None,
) -> ProvinceFiles:
    """Write a synthetic province into ``out_dir`` (see the module's docstring).

    Parameters
    ----------
    seed
        Seed every tile's own seed is derived from.
    districts
        Number of districts, laid out ``per_row`` to a row.
    tiles
        Columns and rows of sample tiles that make one district.
    n_villages, n_incidents
        Villagers' committees and incidents drawn in each tile.
    buffer_km
        The border buffer the province file asks district runs to load.
    urban
        The districts (0-based) that are cities (:mod:`geo.sample.city`) instead of
        sample tiles; None: the 3rd and 8th of 8 or more, else none.
    """
    _check("seed", seed, 0, 2**31)
    _check("districts", districts, 1, 99)
    _check("per_row", per_row, 1, 99)
    cols, rows = (_check("tiles", t, 1, 9) for t in tiles)
    _check("n_villages", n_villages, 20, 120)
    _check("n_incidents", n_incidents, 1, 100_000)
    urban_set = _urban(urban, districts)
    say = progress or (lambda _m: None)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        msg = f"out_dir {str(out)!r} exists and is not a folder"
        raise SampleError(msg)
    files = _files(out)
    n_tiles = districts * cols * rows
    tiles_xy: list[tuple[int, int, int, int]] = []  # (district, tile in district, gx, gy)
    for d in range(districts):
        dx, dy = d % per_row, d // per_row
        for j in range(rows):
            for i in range(cols):
                tiles_xy.append((d, j * cols + i, dx * cols + i, dy * rows + j))
    osm_parts: list[str] = []
    ends: dict[tuple[int, int], np.ndarray] = {}
    end_ids: dict[tuple[int, int], np.ndarray] = {}
    villages: list[list[str]] = []
    stations: list[dict[str, object]] = []
    incidents: list[list[str]] = []
    teams: list[list[str]] = []
    officers: list[list[str]] = []
    cell_of: dict[tuple[int, int], int] = {}
    for k, (d, t, gx, gy) in enumerate(tiles_xy):
        cell_of[(gx, gy)] = d
        if d in urban_set:
            if t == 0:
                say(f"drawing the city of district {district_code(d)}")
                _add_city(
                    seed, d, cols, rows, per_row, n_incidents, osm_parts, ends, end_ids,
                    villages, stations, incidents, teams,
                )  # fmt: skip
            continue
        say(f"drawing tile {k + 1} of {n_tiles} (district {district_code(d)})")
        c = _draw_tile(seed, k, n_villages, n_incidents)
        dlon = _ORIGIN[0] + gx * _TILE_W - SAMPLE_BOUNDS[0]
        dlat = _ORIGIN[1] + gy * _TILE_H - SAMPLE_BOUNDS[1]
        body, road_nodes = _move_osm(c.osm, dlon, dlat, (k + 1) * _ID_STRIDE)
        osm_parts.append(body)
        ends[(gx, gy)], end_ids[(gx, gy)] = road_nodes
        code = district_code(d)
        villages += _move_villages(c.villages_csv, code, t, d, dlon, dlat)
        stations += _move_stations(c.stations_geojson, code, t, dlon, dlat)
        # One team per tile (the sample's first, at its first station): about one team
        # per 36 villages, Wuhan's 40 teams to 1,900 villages.
        teams += _move_rows(c.teams_csv, code, t, dlon, dlat)[:1]
        officers += _move_rows(c.officers_csv, code, t, dlon, dlat)
        inc = c.incidents
        for i in range(len(inc.id)):
            incidents.append(
                [
                    f"{code}-{t}-{inc.id[i]}",
                    str(inc.time[i]),
                    str(inc.category[i]),
                    str(int(inc.severity[i])),
                    f"{inc.lon[i] + dlon:.7f}",
                    f"{inc.lat[i] + dlat:.7f}",
                    code,
                ]
            )
    say("joining the tiles by roads across their edges")
    joins = _joins(ends, end_ids, cell_of, urban_set)
    out.mkdir(parents=True, exist_ok=True)
    width = (per_row if districts >= per_row else districts) * cols
    height = -(-districts // per_row) * rows
    bounds = (
        _ORIGIN[0],
        _ORIGIN[1],
        _ORIGIN[0] + width * _TILE_W,
        _ORIGIN[1] + height * _TILE_H,
    )
    texts = {
        files.roads: _osm_text(osm_parts, joins, bounds, seed),
        files.villages: _csv_text(
            [
                "code",
                "name",
                "kind",
                "township_code",
                "township",
                "district_code",
                "district",
                "population",
                "households",
                "lon",
                "lat",
            ],
            villages,
        ),
        files.stations: json.dumps(
            {"type": "FeatureCollection", "name": "stations", "features": stations},
            ensure_ascii=False,
            indent=0,
        )
        + "\n",
        files.incidents: _csv_text(
            ["id", "time", "category", "severity", "lon", "lat", "district_code"], incidents
        ),
        files.districts: _districts_geojson(districts, per_row, cols, rows),
        files.teams: _csv_text(
            ["id", "name", "home_unit", "members", "skills", "leader", "lon", "lat"], teams
        ),
        files.officers: _csv_text(
            ["id", "name", "village_code", "phone", "unit", "lon", "lat"], officers
        ),
        files.province: _province_toml(seed, districts, buffer_km),
    }
    for path, text in texts.items():
        write_text(path, text)
    key = _key_of(
        seed, districts, (cols, rows), per_row, n_villages, n_incidents, buffer_km, urban_set
    )
    write_text(out / _MANIFEST, json.dumps(_manifest(files, key), indent=1))
    return files


def _urban(urban: tuple[int, ...] | None, districts: int) -> tuple[int, ...]:
    if urban is None:
        return tuple(d for d in (2, 7) if districts >= 8 and d < districts)
    if not all(isinstance(d, int) and 0 <= d < districts for d in urban):
        msg = f"urban must list district numbers in 0..{districts - 1}, got {urban!r}"
        raise SampleError(msg)
    return tuple(sorted(set(urban)))


#: Junction spacing of a city's street lattice.
CITY_SPACING_M = 160.0


def _add_city(
    seed: int,
    d: int,
    cols: int,
    rows: int,
    per_row: int,
    n_incidents: int,
    osm_parts: list[str],
    ends: dict[tuple[int, int], np.ndarray],
    end_ids: dict[tuple[int, int], np.ndarray],
    villages: list[list[str]],
    stations: list[dict[str, object]],
    incidents: list[list[str]],
    teams: list[list[str]],
) -> None:
    """Draw district ``d`` as a city over its whole box and add its parts."""
    from geo.sample.city import draw_city

    code = district_code(d)
    dx, dy = d % per_row, d // per_row
    w = _ORIGIN[0] + dx * cols * _TILE_W
    s = _ORIGIN[1] + dy * rows * _TILE_H
    bounds = (w, s, w + cols * _TILE_W, s + rows * _TILE_H)
    offset = (1000 + d) * _ID_STRIDE
    city = draw_city(
        np.random.default_rng([seed, 1000 + d]),
        bounds,
        spacing_m=CITY_SPACING_M,
        first_node=offset,
        first_way=offset,
        n_incidents=n_incidents * cols * rows,
        name=district_name(d),
    )
    osm_parts.append("\n".join(city.node_lines + city.way_lines))
    # The lattice's nodes, by the tile cell they lie in, are what the joins reach.
    cx = ((city.node_lonlat[:, 0] - _ORIGIN[0]) // _TILE_W).astype(int)
    cy = ((city.node_lonlat[:, 1] - _ORIGIN[1]) // _TILE_H).astype(int)
    for gx, gy in set(zip(cx.tolist(), cy.tolist(), strict=True)):
        m = (cx == gx) & (cy == gy)
        ends[(gx, gy)], end_ids[(gx, gy)] = city.node_lonlat[m], city.node_ids[m]
    for k, (name, lon, lat, pop) in enumerate(city.communities):
        t_code = f"{code}{100 + k // 99:03d}"
        villages.append(
            [f"{t_code}{1 + k % 99:03d}", name, "community", t_code,
             f"{district_name(d)}第{1 + k // 99}街道", code, district_name(d), str(pop),
             str(round(pop / 2.7)), f"{lon:.7f}", f"{lat:.7f}"]
        )  # fmt: skip
    for k, (name, lon, lat) in enumerate(city.stations):
        stations.append(
            {
                "type": "Feature",
                "properties": {
                    "id": f"{code}-C-PS-{k + 1:02d}",
                    "name": name,
                    "kind": "station",
                    "district_code": code,
                    "township_code": f"{code}100",
                },
                "geometry": {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]},
            }
        )
    units = [
        (f"{code}-C-PS-{k + 1:02d}", lon, lat) for k, (_, lon, lat) in enumerate(city.stations[:2])
    ]
    teams += city_team_rows(np.random.default_rng([seed, 3000 + d]), units, f"{code}-C-")
    rng = np.random.default_rng([seed, 2000 + d])
    cats = ("theft", "fraud", "dispute", "traffic")
    start = np.datetime64("2025-01-01T00:00:00")
    secs = np.sort(rng.integers(0, 365 * 86400, len(city.incidents)))
    for k, ((lon, lat), sec) in enumerate(zip(city.incidents, secs, strict=True)):
        when = str(start + np.timedelta64(int(sec), "s"))
        incidents.append(
            [f"{code}-C-INC-{k + 1:06d}", f"{when}+08:00", cats[int(rng.integers(0, 4))],
             str(int(rng.integers(1, 4))), f"{lon:.7f}", f"{lat:.7f}", code]
        )  # fmt: skip


def _draw_tile(seed: int, k: int, n_villages: int, n_incidents: int) -> SampleContents:
    """Draw tile ``k``; a draw the district generator cannot finish is drawn again.

    The sample generator is tuned for 60-120 villages; with fewer, a rare draw leaves a
    layer it cannot fill (a village with no group for its officer). The next seed of
    the same sequence is taken then, so the province stays deterministic.
    """
    last: Exception | None = None
    for attempt in range(8):
        tile_seed = int(np.random.default_rng([seed, k, attempt]).integers(0, 2**31))
        try:
            return build_district(tile_seed, n_villages, n_incidents)
        except (ValueError, IndexError, RuntimeError, SampleError) as exc:
            last = exc
    msg = f"tile {k} of the province could not be drawn in 8 attempts: {last}"
    raise SampleError(msg)


def _key_of(
    seed: int,
    districts: int,
    tiles: tuple[int, int],
    per_row: int,
    n_villages: int,
    n_incidents: int,
    buffer_km: float,
    urban: tuple[int, ...],
) -> dict[str, object]:
    """Return what a province's files depend on: its parameters and the generator."""
    h = hashlib.sha256()
    for src in sorted(Path(__file__).parent.glob("*.py")):
        h.update(src.read_bytes())
    return {
        "seed": seed,
        "districts": districts,
        "tiles": list(tiles),
        "per_row": per_row,
        "n_villages": n_villages,
        "n_incidents": n_incidents,
        "buffer_km": buffer_km,
        "urban": list(urban),
        "generator": h.hexdigest()[:16],
    }


def _manifest(files: ProvinceFiles, key: dict[str, object]) -> dict[str, object]:
    return {
        "key": key,
        "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files.paths},
    }


def ensure_province(
    out_dir: str | Path,
    *,
    seed: int = 2024,
    districts: int = 10,
    tiles: tuple[int, int] = (3, 2),
    per_row: int = 5,
    n_villages: int = 36,
    n_incidents: int = 300,
    buffer_km: float = 12.0,
    urban: tuple[int, ...] | None = None,
    progress: ProgressFn | None = None,
) -> ProvinceFiles:
    """Return the province in ``out_dir``, writing it only when missing or stale."""
    out = Path(out_dir)
    files = _files(out)
    key = _key_of(
        seed, districts, (tiles[0], tiles[1]), per_row, n_villages, n_incidents, buffer_km,
        _urban(urban, districts),
    )  # fmt: skip
    try:
        recorded = json.loads((out / _MANIFEST).read_text(encoding="utf-8"))
        fresh = (
            recorded.get("key") == key and recorded.get("files") == _manifest(files, key)["files"]
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        fresh = False
    if fresh:
        return files
    return generate_province(
        out,
        seed=seed,
        districts=districts,
        tiles=tuple(tiles),  # type: ignore[arg-type]
        per_row=per_row,
        n_villages=n_villages,
        n_incidents=n_incidents,
        buffer_km=buffer_km,
        urban=urban,
        progress=progress,
    )


_NODE = re.compile(r'<node id="(\d+)" lat="([-\d.]+)" lon="([-\d.]+)"')
_ID = re.compile(r'(id|ref)="(\d+)"')


def _move_osm(
    text: str, dlon: float, dlat: float, offset: int
) -> tuple[str, tuple[np.ndarray, np.ndarray]]:
    """Return a tile's OSM elements moved and renumbered, and its road nodes.

    The elements are moved by (dlon, dlat) with every id offset by ``offset``; the
    road nodes' positions and ids are what the joins are drawn between.
    """
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("<node"))
    end = next(i for i in range(len(lines) - 1, -1, -1) if lines[i].strip() == "</osm>")
    body = lines[start:end]
    road_refs: set[int] = set()
    in_way: list[int] | None = None
    highway = False
    for ln in body:
        s = ln.strip()
        if s.startswith("<way"):
            in_way, highway = [], False
        elif in_way is not None and s.startswith("<nd "):
            in_way.append(int(s.split('"')[1]))
        elif in_way is not None and s.startswith('<tag k="highway"'):
            highway = True
        elif s == "</way>" and in_way is not None:
            if highway:
                road_refs.update(in_way)
            in_way = None
    ids: list[int] = []
    xy: list[tuple[float, float]] = []
    moved: list[str] = []
    for ln in body:
        m = _NODE.search(ln)
        if m is not None:
            nid = int(m.group(1))
            lat, lon = float(m.group(2)) + dlat, float(m.group(3)) + dlon
            if nid in road_refs:
                ids.append(nid + offset)
                xy.append((lon, lat))
            ln = (
                ln[: m.start()]
                + f'<node id="{nid + offset}" lat="{lat:.7f}" lon="{lon:.7f}"'
                + ln[m.end() :]
            )
        else:
            ln = _ID.sub(lambda g: f'{g.group(1)}="{int(g.group(2)) + offset}"', ln)
        moved.append(ln)
    return "\n".join(moved), (np.array(xy, dtype=float).reshape(-1, 2), np.array(ids, np.int64))


def _joins(
    ends: dict[tuple[int, int], np.ndarray],
    ids: dict[tuple[int, int], np.ndarray],
    cell_of: dict[tuple[int, int], int],
    urban: tuple[int, ...],
) -> list[tuple[int, int, float]]:
    """Return the roads (node a, node b, length m) joining each pair of touching tiles.

    Every road node of a tile within :data:`_EDGE_M` of the shared edge is joined to
    the nearest such node across it, if one lies within :data:`_JOIN_M`; a pair of
    tiles with none gets its closest pair joined, so the province is one network.
    The joins are drawn from the side with fewer such nodes (a rural tile's few road
    ends, not a city's whole edge of streets); two cells of one city are one lattice.
    """
    out: list[tuple[int, int, float]] = []
    for (gx, gy), xy_a in sorted(ends.items()):
        for nb, axis in (((gx + 1, gy), 0), ((gx, gy + 1), 1)):
            if nb not in ends:
                continue
            if cell_of.get((gx, gy)) == cell_of.get(nb) and cell_of.get(nb) in urban:
                continue
            xy_b = ends[nb]
            edge = _ORIGIN[0] + (gx + 1) * _TILE_W if axis == 0 else _ORIGIN[1] + (gy + 1) * _TILE_H
            lat0 = float(np.mean(xy_a[:, 1]))
            scale = np.array([_M_PER_DEG * np.cos(np.radians(lat0)), _M_PER_DEG])
            pa, pb = xy_a * scale, xy_b * scale
            e_m = edge * scale[axis]
            near_a = np.flatnonzero(np.abs(pa[:, axis] - e_m) < _EDGE_M)
            near_b = np.flatnonzero(np.abs(pb[:, axis] - e_m) < _EDGE_M)
            pairs: dict[tuple[int, int], float] = {}
            if len(near_a) and len(near_b):
                d = np.hypot(*(pa[near_a][:, None, :] - pb[near_b][None, :, :]).transpose(2, 0, 1))
                # Each node of the sparser side joins its nearest across.
                if len(near_a) <= len(near_b):
                    best = [(r, int(np.argmin(d[r]))) for r in range(len(near_a))]
                else:
                    best = [(int(np.argmin(d[:, c])), c) for c in range(len(near_b))]
                for r, c in best:
                    if d[r, c] <= _JOIN_M:
                        a_id, b_id = int(ids[(gx, gy)][near_a[r]]), int(ids[nb][near_b[c]])
                        pairs[(a_id, b_id)] = float(d[r, c])
            if not pairs:
                # Nearest pair across the edge, whatever its length.
                side_a = np.argsort(np.abs(pa[:, axis] - e_m))[:200]
                side_b = np.argsort(np.abs(pb[:, axis] - e_m))[:200]
                d = np.hypot(*(pa[side_a][:, None, :] - pb[side_b][None, :, :]).transpose(2, 0, 1))
                ra, cb = (int(k) for k in np.unravel_index(int(np.argmin(d)), d.shape))
                pairs[(int(ids[(gx, gy)][side_a[ra]]), int(ids[nb][side_b[cb]]))] = float(d[ra, cb])
            out += [(a, b, m) for (a, b), m in sorted(pairs.items())]
    return out


def _osm_text(
    parts: list[str],
    joins: list[tuple[int, int, float]],
    bounds: tuple[float, float, float, float],
    seed: int,
) -> str:
    west, south, east, north = bounds
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="pingan-province (synthetic)">',
        f"  <!-- {SYNTHETIC_LABEL}; province seed {seed} -->",
        f'  <bounds minlat="{south:.7f}" minlon="{west:.7f}" '
        f'maxlat="{north:.7f}" maxlon="{east:.7f}"/>',
    ]
    # Nodes first, then ways, then relations, as OSM files order them.
    nodes: list[str] = []
    ways: list[str] = []
    rels: list[str] = []
    for p in parts:
        block: list[str] | None = None
        for ln in p.splitlines():
            s = ln.lstrip()
            if s.startswith("<node"):
                block = nodes
            elif s.startswith("<way"):
                block = ways
            elif s.startswith("<relation"):
                block = rels
            assert block is not None
            block.append(ln)
    join_lines = []
    for k, (a, b, _m) in enumerate(joins):
        join_lines += [
            f'  <way id="{k + 1}" version="1">',
            f'    <nd ref="{a}"/>',
            f'    <nd ref="{b}"/>',
            '    <tag k="highway" v="tertiary"/>',
            '    <tag k="lit" v="no"/>',
            '    <tag k="name" v="跨区连接路 (synthetic)"/>',
            "  </way>",
        ]
    return "\n".join([*head, *nodes, *ways, *join_lines, *rels, "</osm>"]) + "\n"


def _move_villages(
    text: str, code: str, tile: int, district: int, dlon: float, dlat: float
) -> list[list[str]]:
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        town = int(row["township_code"][-3:]) - 100
        t_code = f"{code}{100 + 10 * tile + town:03d}"
        out.append(
            [
                f"{t_code}{row['code'][-3:]}",
                row["name"],
                row["kind"],
                t_code,
                row["township"],
                code,
                district_name(district),
                row["population"],
                row["households"],
                f"{float(row['lon']) + dlon:.7f}",
                f"{float(row['lat']) + dlat:.7f}",
            ]
        )
    return out


def _moved_code(code: str, tile: int, old: str) -> str:
    """Return a tile's 12-digit village (or 9-digit township) code in the province."""
    if not old:
        return ""
    town = int(old[6:9]) - 100
    return f"{code}{100 + 10 * tile + town:03d}{old[9:]}"


def _move_rows(text: str, code: str, tile: int, dlon: float, dlat: float) -> list[list[str]]:
    """Return a tile's teams.csv or officers.csv rows, moved and given province ids.

    Ids and the units they name get the tile's prefix (as its stations' ids do), a
    village code its province code.
    """
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        for key in ("id", "home_unit", "unit"):
            if key in row:
                row[key] = f"{code}-{tile}-{row[key]}"
        if "village_code" in row:
            row["village_code"] = _moved_code(code, tile, row["village_code"])
        row["lon"] = f"{float(row['lon']) + dlon:.7f}"
        row["lat"] = f"{float(row['lat']) + dlat:.7f}"
        out.append(list(row.values()))
    return out


def _move_stations(
    text: str, code: str, tile: int, dlon: float, dlat: float
) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for f in json.loads(text)["features"]:
        p = f["properties"]
        lon, lat = f["geometry"]["coordinates"]
        town = int(str(p["township_code"])[-3:]) - 100
        out.append(
            {
                "type": "Feature",
                "properties": {
                    "id": f"{code}-{tile}-{p['id']}",
                    "name": p["name"],
                    "kind": p["kind"],
                    "district_code": code,
                    "township_code": f"{code}{100 + 10 * tile + town:03d}",
                },
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(lon + dlon, 7), round(lat + dlat, 7)],
                },
            }
        )
    return out


def _districts_geojson(n: int, per_row: int, cols: int, rows: int) -> str:
    feats = []
    for d in range(n):
        dx, dy = d % per_row, d // per_row
        w = _ORIGIN[0] + dx * cols * _TILE_W
        s = _ORIGIN[1] + dy * rows * _TILE_H
        e, nn = w + cols * _TILE_W, s + rows * _TILE_H
        ring = [[w, s], [e, s], [e, nn], [w, nn], [w, s]]
        feats.append(
            {
                "type": "Feature",
                "properties": {"code": district_code(d), "name": district_name(d)},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[round(x, 7), round(y, 7)] for x, y in ring]],
                },
            }
        )
    return (
        json.dumps(
            {"type": "FeatureCollection", "name": "districts", "features": feats},
            ensure_ascii=False,
        )
        + "\n"
    )


def _province_toml(seed: int, districts: int, buffer_km: float) -> str:
    return (
        f"# {SYNTHETIC_LABEL}\n"
        f"# A synthetic province of {districts} districts (seed {seed}), written by pingan.\n"
        'name = "synthetic province"\n'
        'osm = "roads.osm"\n'
        'villages = "villages.csv"\n'
        'stations = "stations.geojson"\n'
        'incidents = "incidents.csv"\n'
        'teams = "teams.csv"\n'
        'officers = "officers.csv"\n'
        'districts = "districts.geojson"\n'
        f"buffer_km = {buffer_km}\n"
        'mode = "car"\n'
        "synthetic = true\n"
    )


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()
