"""Scenarios: the base layers plus named edits, evaluated and compared.

A scenario is plain JSON that refers to the base data by path (relative to the JSON
file), so it is small, reviewable and diffable::

    {
      "name": "new post at 李家冲",
      "base": {"osm": "../sample/roads.osm", "villages": "../sample/villages.csv",
               "stations": "../sample/stations.geojson", "teams": "../sample/teams.csv",
               "mode": "car"},
      "thresholds_min": [5, 10, 15, 30],
      "edits": [
        {"op": "add_station", "id": "P-NEW", "name": "李家冲警务室", "kind": "post",
         "lon": 114.31, "lat": 31.02},
        {"op": "close_road", "osm_ways": [1042]},
        {"op": "set_speed", "edges": [17, 18], "kmh": 20},
        {"op": "mark_lit", "osm_ways": [1107]},
        {"op": "mark_lit", "stretches": [{"road": 412, "from_m": 17.5, "to_m": 227.5}]},
        {"op": "move_team", "id": "T-03", "lon": 114.35, "lat": 31.0}
      ]
    }

The ``base`` is an area (the same keys as an area file, :class:`geo.area.AreaSpec`:
``osm``, ``villages``, ``stations``, ``teams``, ``incidents``, ``mode``, each layer a path
or a table with ``path``, ``crs``, ``encoding``). Road edits select roads by ``edges`` (edge
ids of the routing network of the base mode), ``osm_ways`` (OSM way ids) or ``roads``
(rows of the area's road view, every road of the file: what a lamp plan names).
``mark_lit`` may instead name ``stretches``: parts of roads of the road view, each
``{"road": r, "from_m": a, "to_m": b}`` in metres from the road's ``u`` end, which is
what :func:`lamp_edit` writes for a lamp plan (ends to the centimetre; an end within
1 cm of the road's end is its end); lit km then count those metres only.

Edits never touch the stored base files: :func:`apply_edits` returns a new area.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.area import Area, AreaSpec, load_area
from geo.atomic import write_text
from geo.coverage import CoverageParams, CoverageResult, covered_column, village_coverage
from geo.engine import EngineParams
from geo.errors import AreaError, PinganError, ScenarioError
from geo.network import LIT_CLASSES, RoadNetwork, Roads, edge_twins
from geo.results import Result

if TYPE_CHECKING:
    from geo.lighting import LampPlan

__all__ = [
    "OPS",
    "STATION_KINDS",
    "BaseData",
    "Comparison",
    "Edit",
    "Proposal",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "apply_edits",
    "compare",
    "evaluate",
    "lamp_edit",
    "lit_km",
    "load_inputs",
    "load_scenario",
    "parse_edits",
    "propose_post_and_lamps",
    "save_scenario",
    "scenario_from_dict",
]

#: Each edit operation and the fields it needs (besides "op").
OPS: dict[str, tuple[str, ...]] = {
    "add_station": ("id", "lon", "lat"),
    "move_station": ("id", "lon", "lat"),
    "remove_station": ("id",),
    "close_road": (),
    "set_speed": (),
    "mark_lit": (),
    "add_team": ("id", "lon", "lat"),
    "move_team": ("id", "lon", "lat"),
    "remove_team": ("id",),
}
_ROAD_OPS = ("close_road", "set_speed", "mark_lit")
#: How a road edit names its roads.
_SELECTORS = ("edges", "osm_ways", "roads")
#: Column of a scenario's edge table holding the lit parts of a road that is not lit
#: whole: per directed edge, a tuple of (from_m, to_m) in its own direction, or None.
LIT_STRETCHES = "lit_stretches"
#: A stretch end this close to its road's end is at the end (lamp_edit writes cm).
_END_TOL_M = 0.01
#: The kinds a station edit may give, as the stations layer stores them.
STATION_KINDS = ("station", "post")
#: Ids are stored as 64-bit integers.
_MAX_ID = 2**63


@dataclass(frozen=True)
class Edit:
    """One named change to the base data."""

    op: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.op, str) or self.op not in OPS:
            msg = f"unknown edit op {self.op!r}; expected one of {', '.join(OPS)}"
            raise ScenarioError(msg)
        if not isinstance(self.fields, Mapping):
            msg = f"edit {self.op!r}: its fields must be a mapping, got {self.fields!r}"
            raise ScenarioError(msg)
        missing = [f for f in OPS[self.op] if f not in self.fields]
        if missing:
            msg = f"edit {self.op!r} lacks field(s) {', '.join(missing)}"
            raise ScenarioError(msg)
        if self.op in _ROAD_OPS:
            _check_road_edit(self.op, self.fields)
        else:
            _check_point_edit(self.op, self.fields)

    def to_dict(self) -> dict[str, Any]:
        """Return the edit as it appears in scenario JSON."""
        return {"op": self.op, **self.fields}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_text(where: str, key: str, value: object) -> None:
    """Check a text field: a string without NUL characters (ids may also be integers)."""
    if key == "id" and isinstance(value, int) and not isinstance(value, bool):
        return
    if not isinstance(value, str):
        msg = f"{where}: {key!r} must be text, got {value!r}"
        raise ScenarioError(msg)
    if "\0" in value:
        msg = f"{where}: {key!r} {value!r} contains a NUL character (\\0); remove it"
        raise ScenarioError(msg)
    if key == "id" and not value.strip():
        msg = f"{where}: 'id' must not be empty"
        raise ScenarioError(msg)


def _check_road_edit(op: str, fields: Mapping[str, Any]) -> None:
    """Check what a close_road, set_speed or mark_lit edit names and sets."""
    if "stretches" in fields and op != "mark_lit":
        msg = f"edit {op!r}: 'stretches' (parts of roads) only apply to mark_lit"
        raise ScenarioError(msg)
    has = [k for k in (*_SELECTORS, "stretches") if k in fields]
    if len(has) != 1:
        msg = (
            "edit 'mark_lit' needs exactly one of 'edges', 'osm_ways', 'roads' or 'stretches'"
            if op == "mark_lit"
            else f"edit {op!r} needs exactly one of 'edges', 'osm_ways' or 'roads'"
        )
        raise ScenarioError(msg)
    if has[0] == "stretches":
        _check_stretches(fields["stretches"])
    else:
        ids = fields[has[0]]
        if (
            not isinstance(ids, list)
            or not ids
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        ):
            msg = f"edit {op!r}: {has[0]!r} must be a non-empty list of integers"
            raise ScenarioError(msg)
        if not all(0 <= i < _MAX_ID for i in ids):
            bad = next(i for i in ids if not 0 <= i < _MAX_ID)
            msg = f"edit {op!r}: {has[0]!r} holds {bad}, which is no id (0 up to 2**63 - 1)"
            raise ScenarioError(msg)
    if "both_directions" in fields and not isinstance(fields["both_directions"], bool):
        got = fields["both_directions"]
        msg = f"edit {op!r}: 'both_directions' must be true or false, got {got!r}"
        raise ScenarioError(msg)
    if op == "set_speed":
        given = [k for k in ("kmh", "factor") if k in fields]
        if len(given) != 1:
            msg = "edit 'set_speed' needs exactly one of 'kmh' or 'factor'"
            raise ScenarioError(msg)
        value = fields[given[0]]
        if not _is_number(value) or not (0 < value < math.inf):
            msg = f"edit 'set_speed': {given[0]!r} must be a positive number, got {value!r}"
            raise ScenarioError(msg)


def _check_point_edit(op: str, fields: Mapping[str, Any]) -> None:
    """Check a station or team edit: its id, position, kind, members and names."""
    where = f"edit {op!r}"
    _check_text(where, "id", fields["id"])
    for key in ("name", "skills", "kind"):
        if fields.get(key) is not None:
            _check_text(where, key, fields[key])
    if "lon" in fields or "lat" in fields:
        for key in ("lon", "lat"):
            value = fields.get(key)
            if not _is_number(value):
                msg = f"{where}: {key!r} must be a number, got {value!r}"
                raise ScenarioError(msg)
        lon, lat = fields["lon"], fields["lat"]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            msg = f"{where}: lon/lat ({lon}, {lat}) out of range [-180, 180] x [-90, 90]"
            raise ScenarioError(msg)
        if lon == 0 and lat == 0:
            msg = f"{where}: (0, 0) is a placeholder for an unknown location; give the real one"
            raise ScenarioError(msg)
    if op.endswith("_station") and fields.get("kind") not in (None, *STATION_KINDS):
        expected = " or ".join(repr(k) for k in STATION_KINDS)
        msg = f"{where}: unknown station kind {fields['kind']!r}; expected {expected}"
        raise ScenarioError(msg)
    if op.endswith("_team") and fields.get("members") is not None:
        members = fields["members"]
        if isinstance(members, bool) or not isinstance(members, int) or members < 1:
            msg = f"{where}: 'members' must be a whole number of at least 1, got {members!r}"
            raise ScenarioError(msg)


def _check_stretches(stretches: object) -> None:
    """Check the form of a ``mark_lit`` edit's stretches (the roads are checked on apply)."""
    where = "edit 'mark_lit'"
    if not isinstance(stretches, list) or not stretches:
        msg = f"{where}: 'stretches' must be a non-empty list of {{road, from_m, to_m}}"
        raise ScenarioError(msg)
    for i, st in enumerate(stretches):
        if not isinstance(st, Mapping) or set(st) != {"road", "from_m", "to_m"}:
            got = sorted(st) if isinstance(st, Mapping) else type(st).__name__
            msg = f"{where}: stretch {i} must have exactly 'road', 'from_m' and 'to_m', got {got}"
            raise ScenarioError(msg)
        road = st["road"]
        if isinstance(road, bool) or not isinstance(road, int) or road < 0:
            msg = f"{where}: stretch {i}: 'road' must be a road number (0 or more), got {road!r}"
            raise ScenarioError(msg)
        for key in ("from_m", "to_m"):
            v = st[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
                msg = f"{where}: stretch {i}: {key!r} must be a number of metres, got {v!r}"
                raise ScenarioError(msg)
        if st["from_m"] < 0:
            msg = f"{where}: stretch {i}: from_m {st['from_m']} is before the road's start (0)"
            raise ScenarioError(msg)
        if st["from_m"] >= st["to_m"]:
            msg = f"{where}: stretch {i}: from_m {st['from_m']} must be less than to_m {st['to_m']}"
            raise ScenarioError(msg)


#: A scenario's base is an area; the old name stays for scenario code written against it.
BaseData = AreaSpec


@dataclass(frozen=True)
class Scenario:
    """Base data plus edits, as saved in a scenario JSON file."""

    name: str
    base: AreaSpec
    edits: tuple[Edit, ...] = ()
    thresholds_min: tuple[float, ...] = CoverageParams().thresholds_min
    description: str = ""
    folder: str = "."

    def resolve(self, path: str) -> Path:
        """Return a base path resolved against the scenario's folder."""
        return self.base.resolve(path)

    def to_dict(self) -> dict[str, Any]:
        """Return the scenario as JSON-ready data (paths as written)."""
        base = self.base.to_dict()
        return {
            "name": self.name,
            "description": self.description,
            "base": base,
            "thresholds_min": list(self.thresholds_min),
            "edits": [e.to_dict() for e in self.edits],
        }


def scenario_from_dict(data: Mapping[str, Any], *, folder: str = ".", source: str = "") -> Scenario:
    """Build a :class:`Scenario` from parsed JSON, with errors naming the field."""
    where = f"{source}: " if source else ""
    if not isinstance(data, Mapping):
        msg = f"{where}a scenario must be a JSON object"
        raise ScenarioError(msg)
    try:
        base = data["base"]
        name = data["name"]
    except KeyError as exc:
        msg = f"{where}scenario lacks field {exc.args[0]!r}"
        raise ScenarioError(msg) from exc
    if not isinstance(base, Mapping):
        msg = f"{where}'base' must be an object"
        raise ScenarioError(msg)
    for key in ("name", "description"):
        value = data.get(key, "")
        if not isinstance(value, str):
            msg = f"{where}'{key}' must be text, got {value!r}"
            raise ScenarioError(msg)
        if "\0" in value:
            msg = f"{where}'{key}' {value!r} contains a NUL character (\\0); remove it"
            raise ScenarioError(msg)
    for key in ("osm", "villages", "stations"):
        value = base.get(key)
        if not isinstance(value, str) and not (
            key != "osm" and isinstance(value, Mapping) and isinstance(value.get("path"), str)
        ):
            msg = f"{where}'base.{key}' must be a path"
            raise ScenarioError(msg)
    raw_edits = data.get("edits", [])
    if not isinstance(raw_edits, list):
        msg = f"{where}'edits' must be a list of edits, got {type(raw_edits).__name__}"
        raise ScenarioError(msg)
    edits = parse_edits(raw_edits, where)
    given = data.get("thresholds_min", list(CoverageParams().thresholds_min))
    if not isinstance(given, list) or not all(_is_number(t) for t in given):
        msg = f"{where}'thresholds_min' must be a list of minutes, got {given!r}"
        raise ScenarioError(msg)
    try:
        thresholds = CoverageParams(thresholds_min=tuple(given)).thresholds_min
    except (PinganError, TypeError, ValueError) as exc:
        msg = f"{where}'thresholds_min': {exc}"
        raise ScenarioError(msg) from exc
    try:
        spec = AreaSpec.from_dict(base, folder=folder)
    except AreaError as exc:
        msg = f"{where}'base': {exc}"
        raise ScenarioError(msg) from exc
    return Scenario(
        name=name,
        base=spec,
        edits=tuple(edits),
        thresholds_min=thresholds,
        description=data.get("description", ""),
        folder=folder,
    )


def parse_edits(raw_edits: Sequence[Any], where: str = "") -> tuple[Edit, ...]:
    """Return the edits of a parsed JSON list; errors start with ``where`` and the edit."""
    edits = []
    for i, raw in enumerate(raw_edits):
        if not isinstance(raw, Mapping) or "op" not in raw:
            msg = f"{where}edit {i} must be an object with an 'op'"
            raise ScenarioError(msg)
        try:
            edits.append(Edit(raw["op"], {k: v for k, v in raw.items() if k != "op"}))
        except ScenarioError as exc:
            msg = f"{where}edit {i}: {exc}"
            raise ScenarioError(msg) from exc
    return tuple(edits)


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario JSON file (UTF-8, with or without a byte-order mark).

    Raises
    ------
    ScenarioError
        If the file is missing, unreadable, not UTF-8 text, not JSON or not a valid
        scenario, the message naming the file and what is wrong.
    """
    p = Path(path)
    if p.is_dir():
        msg = f"{p} is a folder, not a scenario JSON file"
        raise ScenarioError(msg)
    try:
        data = p.read_bytes()
    except FileNotFoundError as exc:
        msg = f"scenario file {p} does not exist"
        raise ScenarioError(msg) from exc
    except OSError as exc:
        msg = f"{p}: cannot read the scenario file ({exc.strerror or exc})"
        raise ScenarioError(msg) from exc
    try:
        return scenario_from_dict(
            json.loads(_scenario_text(p, data)), folder=str(p.parent), source=str(p)
        )
    except json.JSONDecodeError as exc:
        msg = f"{p}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        raise ScenarioError(msg) from exc
    except RecursionError as exc:
        msg = f"{p}: JSON nested too deeply to be a scenario"
        raise ScenarioError(msg) from exc


def _scenario_text(p: Path, data: bytes) -> str:
    """Decode a scenario file as UTF-8, saying what it is when it is not."""
    if b"\0" in data[:8192]:
        msg = f"{p}: holds NUL bytes, so it is a binary or UTF-16 file, not UTF-8 JSON"
        raise ScenarioError(msg)
    try:
        # utf-8-sig: editors on Windows save UTF-8 with a byte-order mark; the CSV
        # readers accept one too.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = (
            f"{p}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}); a "
            "scenario file is UTF-8 JSON: save it as UTF-8 (it may be GBK)"
        )
        raise ScenarioError(msg) from exc


def save_scenario(scenario: Scenario, path: str | Path) -> Path:
    """Write a scenario as JSON, atomically."""
    text = json.dumps(scenario.to_dict(), ensure_ascii=False, indent=2) + "\n"
    return write_text(path, text)


# --------------------------------------------------------------------------- inputs


def load_inputs(scenario: Scenario, *, cache_dir: str | Path | None = None) -> Area:
    """Load the scenario's base area (its routing network, road view and layers)."""
    return load_area(scenario.base, cache_dir=cache_dir, modes=[scenario.base.mode])


def lamp_edit(plan: LampPlan) -> Edit:
    """Return the ``mark_lit`` edit of the stretches a lamp plan lights.

    One stretch per run of lamps, ``{"road", "from_m", "to_m"}``, its ends rounded to
    the centimetre for a readable file. The plan names rows of the road view it was
    placed on (every road of the file), so the edit applies to the area the plan was
    made for; evaluated, it lights exactly those metres (a road lit end to end turns
    ``lit = yes`` whole, a part of a road counts by its length).

    Raises
    ------
    ScenarioError
        If the plan has no lamp (there is nothing to mark).
    """
    st = plan.stretches
    if not len(st):
        msg = "the plan places no lamp, so there is nothing to mark lit"
        raise ScenarioError(msg)
    return Edit(
        "mark_lit",
        {
            "stretches": [
                {"road": int(r), "from_m": round(float(a), 2), "to_m": round(float(b), 2)}
                for r, a, b in zip(st["road"], st["from_m"], st["to_m"], strict=True)
            ]
        },
    )


def _way_selection(net: RoadNetwork, ways: list[int]) -> np.ndarray:
    """Return a mask of the edges running along any of ``ways``."""
    wanted = {str(w) for w in ways}
    exploded = net.edges["osm_ways"].astype(str).str.split(";").explode()
    hit = exploded[exploded.isin(wanted)]
    sel = np.zeros(len(net.edges), dtype=bool)
    sel[hit.index.to_numpy()] = True
    return sel


def _selection(area: Area, edit: Edit, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the edges an edit names: (routing network rows, all-roads network rows).

    Both directions of each road are selected unless ``both_directions`` is false.
    """
    net, roads = area.net, area.roads
    full = roads.net
    both = edit.fields.get("both_directions", True)
    where = f"edit {index} ({edit.op})"
    if "edges" in edit.fields:
        ids = np.asarray(edit.fields["edges"], dtype=np.int64)
        n = len(net.edges)
        bad = ids[(ids < 0) | (ids >= n)]
        if len(bad):
            msg = (
                f"{where}: edge id(s) {bad[:5].tolist()} not in the graph "
                f"(edge ids run 0..{n - 1} for mode {net.mode!r})"
            )
            raise ScenarioError(msg)
        sel = np.zeros(n, dtype=bool)
        sel[ids] = True
        full_sel = _routing_to_full(roads, sel)
    elif "osm_ways" in edit.fields:
        ways = edit.fields["osm_ways"]
        sel = _way_selection(net, ways)
        full_sel = _way_selection(full, ways)
        found = set(full.edges["osm_ways"].astype(str).to_numpy()[full_sel])
        have = {w for joined in found for w in joined.split(";")}
        missing = sorted({str(w) for w in ways} - have)
        if missing:
            msg = f"{where}: OSM way(s) {', '.join(missing[:5])} not in the {net.mode} network"
            raise ScenarioError(msg)
    else:
        ids = np.asarray(edit.fields["roads"], dtype=np.int64)
        bad = ids[(ids < 0) | (ids >= len(roads))]
        if len(bad):
            msg = (
                f"{where}: road(s) {bad[:5].tolist()} not in the area's road view "
                f"(roads run 0..{len(roads) - 1})"
            )
            raise ScenarioError(msg)
        full_sel = np.zeros(len(full.edges), dtype=bool)
        full_sel[roads.edge[ids]] = True
        sel = np.zeros(len(net.edges), dtype=bool)
        sel[roads.routing_edges(ids)] = True
        if not both:
            sel[:] = False
            r = roads.routing_edge[ids]
            sel[r[r >= 0]] = True
    if both:
        for s_, n_ in ((sel, net), (full_sel, full)):
            twin = edge_twins(n_)[s_]
            s_[twin[twin >= 0]] = True
    return np.flatnonzero(sel), np.flatnonzero(full_sel)


def _mark_stretches(
    area: Area, edges: pd.DataFrame, full_edges: pd.DataFrame, edit: Edit, index: int
) -> None:
    """Light the stretches of a ``mark_lit`` edit in both edge tables (copies owned here).

    Stretches join those lit by earlier edits; a road lit end to end becomes ``lit =
    yes`` in both directions, like a ``roads`` edit, and any other keeps its class and
    records its lit parts in :data:`LIT_STRETCHES`.
    """
    roads = area.roads
    where = f"edit {index} (mark_lit)"
    st = pd.DataFrame(list(edit.fields["stretches"]))
    road = st["road"].to_numpy(dtype=np.int64)
    bad = np.flatnonzero(road >= len(roads))
    if len(bad):
        i = int(bad[0])
        msg = (
            f"{where}: stretch {i}: road {road[i]} not in the area's road view "
            f"(roads run 0..{len(roads) - 1})"
        )
        raise ScenarioError(msg)
    length = roads.length_m[road]
    lo = st["from_m"].to_numpy(dtype=float)
    hi = st["to_m"].to_numpy(dtype=float)
    over = np.flatnonzero(hi > length + _END_TOL_M)
    if len(over):
        i = int(over[0])
        msg = (
            f"{where}: stretch {i}: to_m {hi[i]:g} is beyond the end of road {road[i]} "
            f"({length[i]:.2f} m long)"
        )
        raise ScenarioError(msg)
    # Ends are written to the centimetre: within that of a road's end is its end.
    hi = np.where(hi >= length - _END_TOL_M, length, hi)
    lo = np.where(lo <= _END_TOL_M, 0.0, lo)
    # A road lit already stays lit; a stretch on it changes nothing.
    dark = full_edges["lit"].to_numpy(dtype=object)[roads.edge[road]] != "yes"
    road, lo, hi = road[dark], lo[dark], hi[dark]
    if not len(road):
        return
    if LIT_STRETCHES in full_edges.columns:
        # Stretches lit by earlier edits on the same roads join the union.
        touched = np.unique(road)
        held = full_edges[LIT_STRETCHES].to_numpy(dtype=object)[roads.edge[touched]]
        earlier = [
            (r, a, b) for r, parts in zip(touched, held, strict=True) for a, b in parts or ()
        ]
        if earlier:
            er, ea, eb = (np.asarray(c) for c in zip(*earlier, strict=True))
            road = np.concatenate([road, er]).astype(np.int64)
            lo, hi = np.concatenate([lo, ea]), np.concatenate([hi, eb])
    union = _union(road, lo, hi)
    lit_m = union.groupby("road")["length_m"].sum()
    r_all = lit_m.index.to_numpy(dtype=np.int64)
    whole = lit_m.to_numpy() >= roads.length_m[r_all] - 1e-9
    if whole.any():
        _edit_roads(edges, roads.routing_edges(r_all[whole]), edit, area.net.mode)
        _edit_roads(full_edges, roads.directed_edges(r_all[whole]), edit, roads.net.mode)
    for table, is_full in ((full_edges, True), (edges, False)):
        col = (
            table[LIT_STRETCHES].to_numpy(dtype=object).copy()
            if LIT_STRETCHES in table.columns
            else np.full(len(table), None, dtype=object)
        )
        for r, is_whole in zip(r_all, whole, strict=True):
            forward: tuple[tuple[float, float], ...] | None = None
            backward: tuple[tuple[float, float], ...] | None = None
            if not is_whole:
                parts = union.loc[union["road"] == r, ["from_m", "to_m"]].to_numpy(dtype=float)
                end = float(roads.length_m[r])
                forward = tuple((float(a), float(b)) for a, b in parts)
                # The other direction runs from the road's v end.
                backward = tuple((end - float(b), end - float(a)) for a, b in parts[::-1])
            ids = (
                (roads.edge[r], roads.twin[r])
                if is_full
                else (roads.routing_edge[r], roads.routing_twin[r])
            )
            for e, value in zip(ids, (forward, backward), strict=True):
                if e >= 0:
                    col[e] = value
        table[LIT_STRETCHES] = col


def _union(road: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> pd.DataFrame:
    """Merge overlapping or touching intervals per road: ``road``, ``from_m``, ``to_m``."""
    order = np.lexsort((lo, road))
    r, a, b = road[order], lo[order], hi[order]
    reach = pd.Series(b).groupby(r).cummax().to_numpy()
    new = np.ones(len(r), dtype=bool)
    new[1:] = (r[1:] != r[:-1]) | (a[1:] > reach[:-1])
    grp = np.cumsum(new) - 1
    out = (
        pd.DataFrame({"road": r, "from_m": a, "to_m": b, "grp": grp})
        .groupby("grp")
        .agg(road=("road", "first"), from_m=("from_m", "min"), to_m=("to_m", "max"))
    )
    out["length_m"] = out["to_m"] - out["from_m"]
    return out.reset_index(drop=True)


def lit_km(roads: Roads) -> dict[str, float]:
    """Return km of road per lighting class, counting lit stretches of a scenario.

    A road lit over part of its length (a ``mark_lit`` edit with ``stretches``) counts
    those metres as ``yes`` and the rest in its own class; without stretches this is
    :meth:`geo.network.Roads.lit_km`.
    """
    km = roads.lit_km()
    e = roads.net.edges
    if LIT_STRETCHES not in e.columns:
        return km
    parts = e[LIT_STRETCHES].to_numpy(dtype=object)[roads.edge]
    lit = roads.lit
    for r in np.flatnonzero(pd.notna(parts)):
        if lit[r] == "yes":
            continue
        metres = sum(b - a for a, b in parts[r])
        km[str(lit[r])] -= metres / 1000.0
        km["yes"] += metres / 1000.0
    return km


def _routing_to_full(roads: Roads, sel: np.ndarray) -> np.ndarray:
    """Map a mask over routing edges to the all-roads network's edges."""
    full = np.zeros(len(roads.net.edges), dtype=bool)
    both_r = np.concatenate([roads.routing_edge, roads.routing_twin])
    both_f = np.concatenate([roads.edge, np.where(roads.twin >= 0, roads.twin, roads.edge)])
    hit = (both_r >= 0) & sel[np.maximum(both_r, 0)]
    full[both_f[hit]] = True
    return full


def _point(lon: float, lat: float, crs: pyproj.CRS) -> shapely.Point:
    return gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(crs).iloc[0]


def _edit_points(
    gdf: gpd.GeoDataFrame | None, edit: Edit, index: int, kind: str, crs: pyproj.CRS
) -> gpd.GeoDataFrame:
    if gdf is None:
        msg = f"edit {index} ({edit.op}): the scenario has no {kind} layer"
        raise ScenarioError(msg)
    ident = str(edit.fields["id"])
    exists = gdf["id"].astype(str) == ident
    verb = edit.op.split("_")[0]
    if verb == "add":
        if exists.any():
            msg = f"edit {index} ({edit.op}): {kind} id {ident!r} already exists"
            raise ScenarioError(msg)
        row: dict[str, Any] = {c: None for c in gdf.columns if c != "geometry"}
        row.update({k: v for k, v in edit.fields.items() if k in gdf.columns and k != "geometry"})
        row["id"] = ident
        if not row.get("name"):
            row["name"] = ident
        if "kind" in gdf.columns and not row.get("kind"):
            row["kind"] = "post"
        if "members" in gdf.columns and not row.get("members"):
            row["members"] = 10
        if "skills" in gdf.columns and row.get("skills") is None:
            row["skills"] = ""
        add = gpd.GeoDataFrame(
            [row], geometry=[_point(edit.fields["lon"], edit.fields["lat"], crs)], crs=crs
        )
        return gpd.GeoDataFrame(pd.concat([gdf, add], ignore_index=True), crs=crs)
    if not exists.any():
        known = ", ".join(gdf["id"].astype(str).head(10))
        msg = f"edit {index} ({edit.op}): unknown {kind} id {ident!r} (known: {known})"
        raise ScenarioError(msg)
    if verb == "remove":
        return gdf.loc[~exists].reset_index(drop=True)
    out = gdf.copy()
    out.loc[exists, "geometry"] = _point(edit.fields["lon"], edit.fields["lat"], crs)
    out.loc[exists, "lon"] = float(edit.fields["lon"])
    out.loc[exists, "lat"] = float(edit.fields["lat"])
    return out


def _edit_roads(edges: pd.DataFrame, rows: np.ndarray, edit: Edit, mode: str) -> None:
    """Apply one road edit to the rows of an edge table (a copy the caller owns)."""
    time_cols = [c for c in edges.columns if c.startswith("time_") or c == "travel_time_s"]
    if edit.op == "close_road":
        edges.loc[rows, time_cols] = np.nan
    elif edit.op == "mark_lit":
        # Lamps change what a night patrol sees, not how fast it drives.
        edges.loc[rows, "lit"] = "yes"
        edges.loc[rows, "lit_raw"] = "yes (scenario)"
    else:
        length = edges.loc[rows, "length_m"].to_numpy()
        if "kmh" in edit.fields:
            new_t = length / (float(edit.fields["kmh"]) / 3.6)
        else:
            new_t = edges.loc[rows, "travel_time_s"].to_numpy() / float(edit.fields["factor"])
        closed = edges.loc[rows, "travel_time_s"].isna().to_numpy()
        edges.loc[rows, "travel_time_s"] = np.where(closed, np.nan, new_t)
        edges.loc[rows, f"time_{mode}_s"] = edges.loc[rows, "travel_time_s"]


def apply_edits(area: Area, edits: Sequence[Edit]) -> Area:
    """Return a new area with every edit applied in order (``area`` is not changed).

    Road edits change the routing network of the primary mode and the road view (every
    road of the file) alike; the edited area holds the primary mode only. Geometry never
    changes, so the snap indexes and road views of the base are shared.
    """
    if not edits:
        return area
    net, full = area.net, area.roads.net
    roads_edited = any(e.op in _ROAD_OPS for e in edits)
    # Stations and teams alone leave the roads, their engines and snap indexes as they are.
    if roads_edited:
        edges, full_edges = net.edges.copy(), full.edges.copy()
    stations, teams = area.stations, area.teams
    for i, edit in enumerate(edits):
        if edit.op == "mark_lit" and "stretches" in edit.fields:
            _mark_stretches(area, edges, full_edges, edit, i)
        elif edit.op in _ROAD_OPS:
            rows, full_rows = _selection(area, edit, i)
            _edit_roads(edges, rows, edit, net.mode)
            _edit_roads(full_edges, full_rows, edit, full.mode)
        elif edit.op.endswith("_station"):
            stations = _edit_points(stations, edit, i, "station", area.crs)
        else:
            teams = _edit_points(teams, edit, i, "team", area.crs)
    if not roads_edited:
        return replace(
            area,
            networks={net.mode: net},
            engines={net.mode: area.engine()},
            stations=stations,
            teams=teams,
        )
    new_net = replace(net, edges=edges)
    new_full = replace(full, edges=full_edges) if full is not net else new_net
    engine = area.engine()
    new_engine = engine.edited(new_net)
    roads = area.roads.with_network(new_full)
    dist = area.distances
    new_dist = dist.edited(new_full)
    return replace(
        area,
        networks={net.mode: new_net},
        engines={net.mode: new_engine},
        roads=roads,
        distances=new_dist,
        stations=stations,
        teams=teams,
    )


# --------------------------------------------------------------------------- evaluate


@dataclass(frozen=True, eq=False)
class ScenarioResult(Result):
    """Coverage of a scenario by stations and posts and by team bases, and road lighting.

    ``lit_km`` counts every road of the file (the area's road view), a road lit over
    part of its length by its lit metres (:func:`lit_km`); ``closed_km`` the roads whose
    every direction the scenario closed.
    """

    name: str
    stations: CoverageResult
    teams: CoverageResult | None
    lit_km: Mapping[str, float]
    closed_km: float
    n_stations: int
    n_teams: int

    def _check(self) -> None:
        if set(self.lit_km) != set(LIT_CLASSES):
            msg = f"lit_km must have the classes {LIT_CLASSES}"
            raise ScenarioError(msg)

    def _extra_tables(self) -> dict[str, pd.DataFrame]:
        out = {"stations": self.stations.villages}
        if self.teams is not None:
            out["teams"] = self.teams.villages
        return out


def evaluate(
    scenario: Scenario,
    *,
    area: Area | None = None,
    inputs: Area | None = None,
    cache_dir: str | Path | None = None,
    engine_params: EngineParams | None = None,
) -> ScenarioResult:
    """Apply a scenario's edits to its base area and measure coverage and lighting.

    Pass ``area`` (from :func:`load_inputs` or :func:`geo.area.load_area`; ``inputs`` is
    the same, under its older name) to evaluate several scenarios on one loaded base
    without reading files again.
    """
    base = area or inputs or load_inputs(scenario, cache_dir=cache_dir)
    edited = apply_edits(base, scenario.edits)
    engine = edited.engine()
    if engine_params is not None:
        engine = engine.edited(edited.net, params=engine_params)
    params = CoverageParams(thresholds_min=scenario.thresholds_min)
    stations = edited.require("stations")
    villages = edited.require("villages")
    if len(stations) == 0:
        msg = f"scenario {scenario.name!r} leaves no station or post"
        raise ScenarioError(msg)
    by_station = village_coverage(engine, villages, stations, params)
    by_team = (
        village_coverage(engine, villages, edited.teams, params)
        if edited.teams is not None and len(edited.teams)
        else None
    )
    roads = edited.roads
    lit = {c: round(v, 3) for c, v in lit_km(roads).items()}
    e = roads.net.edges
    t = e["travel_time_s"].to_numpy()
    tw = roads.twin
    closed = ~np.isfinite(t[roads.edge]) & ((tw < 0) | ~np.isfinite(t[np.maximum(tw, 0)]))
    return ScenarioResult(
        name=scenario.name,
        stations=by_station,
        teams=by_team,
        lit_km=lit,
        closed_km=round(float(roads.length_m[closed].sum() / 1000), 3),
        n_stations=len(stations),
        n_teams=0 if edited.teams is None else len(edited.teams),
    )


# --------------------------------------------------------------------------- compare


@dataclass(frozen=True, eq=False)
class Comparison(Result):
    """Per-village differences between two scenario results (B minus A).

    ``villages``: per village, facility and minutes in A and B, ``delta_min`` and
    ``change_<T>`` (``gained`` / ``lost`` / ``same``) per threshold; ``summary``: per
    threshold, villages and weight gained and lost; ``lit_km``: km per lighting class
    in A and B.
    """

    a: str
    b: str
    villages: pd.DataFrame
    summary: pd.DataFrame
    lit_km: pd.DataFrame

    def _check(self) -> None:
        s = self._frame("summary")
        if len(s) and ((s["gained"] < 0).any() or (s["lost"] < 0).any()):
            msg = "a comparison cannot gain or lose a negative number of villages"
            raise ScenarioError(msg)

    def gained(self, threshold_min: float) -> pd.DataFrame:
        """Villages covered within the threshold in B but not in A."""
        v = self.villages
        return v[v[f"change_{threshold_min:g}"] == "gained"]

    def lost(self, threshold_min: float) -> pd.DataFrame:
        """Villages covered within the threshold in A but not in B."""
        v = self.villages
        return v[v[f"change_{threshold_min:g}"] == "lost"]


def compare(a: ScenarioResult, b: ScenarioResult, *, by: str = "stations") -> Comparison:
    """Compare two evaluated scenarios village by village.

    ``by`` chooses the facility set: ``"stations"`` (stations and posts) or ``"teams"``.
    """
    ra, rb = _pick(a, by), _pick(b, by)
    if ra.thresholds_min != rb.thresholds_min:
        msg = "scenarios use different thresholds and cannot be compared"
        raise ScenarioError(msg)
    va, vb = ra.villages, rb.villages
    if not va["code"].equals(vb["code"]):
        msg = "scenarios have different village lists and cannot be compared"
        raise ScenarioError(msg)
    out = pd.DataFrame(
        {
            "code": va["code"],
            "name": va["name"],
            "weight": va["weight"],
            "facility_a": va["facility"],
            "facility_b": vb["facility"],
            "minutes_a": va["minutes"],
            "minutes_b": vb["minutes"],
            "delta_min": (vb["minutes"] - va["minutes"]).round(3),
            "status_a": va["status"],
            "status_b": vb["status"],
        }
    )
    rows = []
    for t in ra.thresholds_min:
        col = covered_column(t)
        ca, cb = va[col].to_numpy(), vb[col].to_numpy()
        change = np.where(ca == cb, "same", np.where(cb, "gained", "lost"))
        out[f"change_{t:g}"] = change
        w = va["weight"].to_numpy(dtype=float)
        rows.append(
            {
                "threshold_min": t,
                "covered_a": int(ca.sum()),
                "covered_b": int(cb.sum()),
                "gained": int((change == "gained").sum()),
                "lost": int((change == "lost").sum()),
                "weight_gained": float(w[change == "gained"].sum()),
                "weight_lost": float(w[change == "lost"].sum()),
                "weight_share_a": ra.summary.loc[
                    ra.summary["threshold_min"] == t, "weight_share"
                ].item(),
                "weight_share_b": rb.summary.loc[
                    rb.summary["threshold_min"] == t, "weight_share"
                ].item(),
            }
        )
    lit = pd.DataFrame({"a": dict(a.lit_km), "b": dict(b.lit_km)})
    lit["delta"] = (lit["b"] - lit["a"]).round(3)
    return Comparison(a=a.name, b=b.name, villages=out, summary=pd.DataFrame(rows), lit_km=lit)


def _pick(r: ScenarioResult, by: str) -> CoverageResult:
    if by == "stations":
        return r.stations
    if by == "teams":
        if r.teams is None:
            msg = f"scenario {r.name!r} has no teams layer"
            raise ScenarioError(msg)
        return r.teams
    msg = f"compare by 'stations' or 'teams', not {by!r}"
    raise ScenarioError(msg)


# --------------------------------------------------------------------------- proposals


@dataclass(frozen=True)
class Proposal:
    """A change to test: its name, what it does in words, and its edits."""

    name: str
    description: str
    edits: tuple[Edit, ...]


def propose_post_and_lamps(area: Area, coverage: CoverageResult) -> Proposal | None:
    """Propose the change a planner tests first: a post and lamps where they matter most.

    A post at the slowest village (the reachable one with the longest travel time from
    its nearest station) and lamps on the longest road surveyed as unlit (``lit=no``).
    None when the area has neither (every village unreachable and no unlit road).
    """
    edits: list[Edit] = []
    parts: list[str] = []
    names: list[str] = []
    v = coverage.villages
    ok = v[v["status"] == "ok"]
    villages = area.require("villages")
    if len(ok):
        worst = ok.iloc[int(np.argmax(ok["minutes"].to_numpy()))]
        row = villages.loc[villages["code"].astype(str) == str(worst["code"])]
        # On the road nearest the village: a post is built where a car can stop.
        snap = area.engine().locate_geometries(row.geometry).snap
        assert snap is not None
        point = gpd.GeoSeries(shapely.points(snap.snapped_x, snap.snapped_y), crs=area.crs).to_crs(
            4326
        )
        edits.append(
            Edit(
                "add_station",
                {
                    "id": "POST-NEW",
                    "name": f"{worst['name']}警务室",
                    "kind": "post",
                    "lon": round(float(point.x.iloc[0]), 6),
                    "lat": round(float(point.y.iloc[0]), 6),
                },
            )
        )
        names.append(f"post at {worst['name']}")
        parts.append(
            f"a new post on the road nearest {worst['name']} ({worst['code']}), the slowest "
            f"village to reach ({worst['minutes']:.1f} min)"
        )
    roads = area.roads
    unlit = np.flatnonzero(roads.lit == "no")
    if len(unlit):
        r = int(unlit[np.argmax(roads.length_m[unlit])])
        e = roads.net.edges.iloc[int(roads.edge[r])]
        label = e["name"] if isinstance(e["name"], str) and e["name"] else f"OSM way {e['osmid']}"
        edits.append(Edit("mark_lit", {"roads": [r]}))
        names.append("lamps")
        parts.append(f"lamps along {label}, the longest unlit road ({e['length_m']:.0f} m)")
    if not edits:
        return None
    return Proposal(
        name=" + ".join(names),
        description="; ".join(parts)[:1].upper() + "; ".join(parts)[1:] + ".",
        edits=tuple(edits),
    )
