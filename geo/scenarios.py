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
        {"op": "move_team", "id": "T-03", "lon": 114.35, "lat": 31.0}
      ]
    }

Edits never touch the stored base files: :func:`apply_edits` returns new objects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo import layers
from geo.atomic import write_text
from geo.coverage import CoverageParams, CoverageResult, covered_column, village_coverage
from geo.engine import Engine, EngineParams
from geo.errors import PinganError, ScenarioError
from geo.network import MODES, BuildOptions, RoadNetwork, edge_twins, load_network

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


@dataclass(frozen=True)
class Edit:
    """One named change to the base data."""

    op: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.op not in OPS:
            msg = f"unknown edit op {self.op!r}; expected one of {', '.join(OPS)}"
            raise ScenarioError(msg)
        missing = [f for f in OPS[self.op] if f not in self.fields]
        if missing:
            msg = f"edit {self.op!r} lacks field(s) {', '.join(missing)}"
            raise ScenarioError(msg)
        if self.op in _ROAD_OPS:
            has = [k for k in ("edges", "osm_ways") if k in self.fields]
            if len(has) != 1:
                msg = f"edit {self.op!r} needs exactly one of 'edges' or 'osm_ways'"
                raise ScenarioError(msg)
            ids = self.fields[has[0]]
            if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
                msg = f"edit {self.op!r}: {has[0]!r} must be a non-empty list of integers"
                raise ScenarioError(msg)
        if self.op == "set_speed":
            has = [k for k in ("kmh", "factor") if k in self.fields]
            if len(has) != 1:
                msg = "edit 'set_speed' needs exactly one of 'kmh' or 'factor'"
                raise ScenarioError(msg)
            value = self.fields[has[0]]
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                msg = f"edit 'set_speed': {has[0]!r} must be a positive number, got {value!r}"
                raise ScenarioError(msg)
        for key in ("lon", "lat"):
            if key in self.fields:
                value = self.fields[key]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    msg = f"edit {self.op!r}: {key!r} must be a number, got {value!r}"
                    raise ScenarioError(msg)
        if "lon" in self.fields and not (
            -180 <= self.fields["lon"] <= 180 and -90 <= self.fields["lat"] <= 90
        ):
            msg = f"edit {self.op!r}: lon/lat out of range"
            raise ScenarioError(msg)

    def to_dict(self) -> dict[str, Any]:
        """Return the edit as it appears in scenario JSON."""
        return {"op": self.op, **self.fields}


@dataclass(frozen=True)
class BaseData:
    """Paths of the base layers (absolute, or relative to the scenario file)."""

    osm: str
    villages: str
    stations: str
    teams: str | None = None
    mode: str = "car"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            msg = f"base mode {self.mode!r} is not one of {', '.join(MODES)}"
            raise ScenarioError(msg)


@dataclass(frozen=True)
class Scenario:
    """Base data plus edits, as saved in a scenario JSON file."""

    name: str
    base: BaseData
    edits: tuple[Edit, ...] = ()
    thresholds_min: tuple[float, ...] = CoverageParams().thresholds_min
    description: str = ""
    folder: str = "."

    def resolve(self, path: str) -> Path:
        """Return a base path resolved against the scenario's folder."""
        p = Path(path)
        return p if p.is_absolute() else Path(self.folder) / p

    def to_dict(self) -> dict[str, Any]:
        """Return the scenario as JSON-ready data (paths as written)."""
        base = {
            "osm": self.base.osm,
            "villages": self.base.villages,
            "stations": self.base.stations,
            "mode": self.base.mode,
        }
        if self.base.teams:
            base["teams"] = self.base.teams
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
    for key in ("osm", "villages", "stations"):
        if not isinstance(base.get(key), str):
            msg = f"{where}'base.{key}' must be a path"
            raise ScenarioError(msg)
    edits = []
    for i, raw in enumerate(data.get("edits", [])):
        if not isinstance(raw, Mapping) or "op" not in raw:
            msg = f"{where}edit {i} must be an object with an 'op'"
            raise ScenarioError(msg)
        try:
            edits.append(Edit(raw["op"], {k: v for k, v in raw.items() if k != "op"}))
        except ScenarioError as exc:
            msg = f"{where}edit {i}: {exc}"
            raise ScenarioError(msg) from exc
    try:
        thresholds = CoverageParams(
            thresholds_min=tuple(data.get("thresholds_min", CoverageParams().thresholds_min))
        ).thresholds_min
    except (PinganError, TypeError, ValueError) as exc:
        msg = f"{where}'thresholds_min': {exc}"
        raise ScenarioError(msg) from exc
    return Scenario(
        name=str(name),
        base=BaseData(
            osm=base["osm"],
            villages=base["villages"],
            stations=base["stations"],
            teams=base.get("teams"),
            mode=base.get("mode", "car"),
        ),
        edits=tuple(edits),
        thresholds_min=thresholds,
        description=str(data.get("description", "")),
        folder=folder,
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario JSON file."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        msg = f"scenario file {p} does not exist"
        raise ScenarioError(msg) from exc
    except json.JSONDecodeError as exc:
        msg = f"{p}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        raise ScenarioError(msg) from exc
    return scenario_from_dict(data, folder=str(p.parent), source=str(p))


def save_scenario(scenario: Scenario, path: str | Path) -> Path:
    """Write a scenario as JSON, atomically."""
    text = json.dumps(scenario.to_dict(), ensure_ascii=False, indent=2) + "\n"
    return write_text(path, text)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, eq=False)
class Inputs:
    """Loaded base data (or base data with edits applied)."""

    net: RoadNetwork
    villages: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    teams: gpd.GeoDataFrame | None


def load_inputs(scenario: Scenario, *, cache_dir: str | Path | None = None) -> Inputs:
    """Read the scenario's base network and layers (layers in the network's CRS)."""
    b = scenario.base
    net = load_network(scenario.resolve(b.osm), BuildOptions(mode=b.mode), cache_dir=cache_dir)  # type: ignore[arg-type]
    crs = net.crs
    return Inputs(
        net=net,
        villages=layers.read_villages(scenario.resolve(b.villages), to_crs=crs),
        stations=layers.read_stations(scenario.resolve(b.stations), to_crs=crs),
        teams=layers.read_teams(scenario.resolve(b.teams), to_crs=crs) if b.teams else None,
    )


def _edge_selection(net: RoadNetwork, edit: Edit, index: int) -> np.ndarray:
    """Return the edge rows an edit names (plus their opposite directions)."""
    e = net.edges
    n = len(e)
    if "edges" in edit.fields:
        ids = np.asarray(edit.fields["edges"], dtype=np.int64)
        bad = ids[(ids < 0) | (ids >= n)]
        if len(bad):
            msg = (
                f"edit {index} ({edit.op}): edge id(s) {bad[:5].tolist()} not in the graph "
                f"(edge ids run 0..{n - 1} for mode {net.mode!r})"
            )
            raise ScenarioError(msg)
        sel = np.zeros(n, dtype=bool)
        sel[ids] = True
    else:
        wanted = {str(w) for w in edit.fields["osm_ways"]}
        ways = e["osm_ways"].astype(str).str.split(";")
        exploded = ways.explode()
        hit = exploded[exploded.isin(wanted)]
        sel = np.zeros(n, dtype=bool)
        sel[hit.index.to_numpy()] = True
        found = set(hit.to_numpy())
        missing = sorted(wanted - found)
        if missing:
            msg = (
                f"edit {index} ({edit.op}): OSM way(s) {', '.join(missing[:5])} not in the "
                f"{net.mode} network"
            )
            raise ScenarioError(msg)
    if edit.fields.get("both_directions", True):
        twin = edge_twins(net)[sel]
        sel[twin[twin >= 0]] = True
    return np.flatnonzero(sel)


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


def apply_edits(inputs: Inputs, edits: Sequence[Edit]) -> Inputs:
    """Return new inputs with every edit applied in order (the inputs are not changed)."""
    net = inputs.net
    edges = net.edges.copy()
    stations, teams = inputs.stations, inputs.teams
    time_cols = [c for c in edges.columns if c.startswith("time_") or c == "travel_time_s"]
    for i, edit in enumerate(edits):
        if edit.op in _ROAD_OPS:
            rows = _edge_selection(net, edit, i)
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
                    new_t = edges.loc[rows, "travel_time_s"].to_numpy() / float(
                        edit.fields["factor"]
                    )
                closed = edges.loc[rows, "travel_time_s"].isna().to_numpy()
                edges.loc[rows, "travel_time_s"] = np.where(closed, np.nan, new_t)
                edges.loc[rows, f"time_{net.mode}_s"] = edges.loc[rows, "travel_time_s"]
        elif edit.op.endswith("_station"):
            stations = _edit_points(stations, edit, i, "station", net.crs)
        else:
            teams = _edit_points(teams, edit, i, "team", net.crs)
    # Geometry is unchanged, so the snapping index can be shared.
    new_net = replace(net, edges=edges) if edits else net
    return Inputs(net=new_net, villages=inputs.villages, stations=stations, teams=teams)


# --------------------------------------------------------------------------- evaluate


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """Coverage of a scenario: by stations and posts, and by vanguard-team bases."""

    name: str
    stations: CoverageResult
    teams: CoverageResult | None
    lit_km: dict[str, float]
    closed_km: float
    n_stations: int
    n_teams: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return {
            "name": self.name,
            "stations": self.stations.to_dict(),
            "teams": self.teams.to_dict() if self.teams else None,
            "lit_km": self.lit_km,
            "closed_km": self.closed_km,
            "n_stations": self.n_stations,
            "n_teams": self.n_teams,
        }


def evaluate(
    scenario: Scenario,
    *,
    inputs: Inputs | None = None,
    cache_dir: str | Path | None = None,
    engine_params: EngineParams | None = None,
) -> ScenarioResult:
    """Apply a scenario's edits to its base data and measure coverage.

    Pass ``inputs`` (from :func:`load_inputs`) to evaluate several scenarios on one
    loaded base without reading files again.
    """
    base = inputs or load_inputs(scenario, cache_dir=cache_dir)
    edited = apply_edits(base, scenario.edits)
    engine = Engine(edited.net, engine_params or EngineParams())
    params = CoverageParams(thresholds_min=scenario.thresholds_min)
    if len(edited.stations) == 0:
        msg = f"scenario {scenario.name!r} leaves no station or post"
        raise ScenarioError(msg)
    by_station = village_coverage(engine, edited.villages, edited.stations, params)
    by_team = (
        village_coverage(engine, edited.villages, edited.teams, params)
        if edited.teams is not None and len(edited.teams)
        else None
    )
    e = edited.net.edges
    road = ~e["reversed"].to_numpy()
    km = e["length_m"].to_numpy() / 1000
    lit_km = {
        c: round(float(km[road & (e["lit"] == c).to_numpy()].sum()), 3)
        for c in ("yes", "no", "unknown")
    }
    closed = road & ~np.isfinite(e["travel_time_s"].to_numpy())
    return ScenarioResult(
        name=scenario.name,
        stations=by_station,
        teams=by_team,
        lit_km=lit_km,
        closed_km=round(float(km[closed].sum()), 3),
        n_stations=len(edited.stations),
        n_teams=0 if edited.teams is None else len(edited.teams),
    )


# --------------------------------------------------------------------------- compare


@dataclass(frozen=True, eq=False)
class Comparison:
    """Per-village differences between two scenario results (B minus A)."""

    a: str
    b: str
    villages: pd.DataFrame
    summary: pd.DataFrame
    lit_km: pd.DataFrame

    def gained(self, threshold_min: float) -> pd.DataFrame:
        """Villages covered within the threshold in B but not in A."""
        return self.villages[self.villages[f"change_{threshold_min:g}"] == "gained"]

    def lost(self, threshold_min: float) -> pd.DataFrame:
        """Villages covered within the threshold in A but not in B."""
        return self.villages[self.villages[f"change_{threshold_min:g}"] == "lost"]


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
    lit = pd.DataFrame({"a": a.lit_km, "b": b.lit_km})
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
