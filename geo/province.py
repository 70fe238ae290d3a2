"""A province: districts, each loaded as an :class:`~geo.area.Area` with a border buffer.

A province outgrows one area: its graph has a million nodes, its sweeps hundreds of
scenarios. It is therefore worked district by district. Each district's area holds
the province's roads inside a **window**, the district's box grown by ``buffer_km`` on
every side, with the stations inside that window (its own and its neighbours'), and
its own villages only. So a village near the border still reaches the nearest station
across it, and each village is reported once, by its own district.

The border rule, and how each row states it
    A district run can only miss a shorter route (or a nearer station) that leaves its
    window. Nothing moves faster than the network's top speed ``v``, so a route of
    ``t`` seconds never goes more than ``v * t`` metres from its start: when that disk
    lies inside the window, the district's time is the province-wide time. Every
    village row carries ``border_exact``: true when its disk fits, measured to the
    window sides that have roads beyond them (a side past the last road of the file
    is no border). A village that is not exact has a time that may be longer than the
    province-wide one; a larger ``buffer_km`` makes it exact.

A task names its work (province file, district, scenario edits) in a few picklable
fields; it never carries an area. :func:`district_area` loads one from the shared
network cache and keeps it warm in the process, so a worker that runs many tasks of a
district loads it once. ``geo`` stays free of any scheduler: ``service/batch.py`` runs
these tasks serially or on Dask.
"""

from __future__ import annotations

import json
import threading
import tomllib
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.area import LAYERS, Area, AreaSpec, load_area
from geo.errors import AreaError, PinganError, ScenarioError
from geo.hotspots.evidence import ROLES
from geo.network import ACCESS_KMH
from geo.scenarios import Edit, Scenario, compare, evaluate, parse_edits

__all__ = [
    "District",
    "ProvinceError",
    "ProvinceSpec",
    "SweepScenario",
    "SweepTask",
    "TaskRows",
    "border_exact",
    "district_area",
    "district_of",
    "hotspot_rows",
    "load_sweep",
    "plan_sweep",
    "province_layer",
    "run_task",
]

ProgressFn = Callable[[str], None]
#: The role of a hot spot that is hot on its own incidents (geo.hotspots' ranking).
CORE = ROLES[0]
#: The scenario name of a district's own coverage (no edits): the province's report.
BASE = "base"
_M_PER_DEG = 111_320.0
#: A window side whose nearest road lies this far inside it has no road crossing it.
_OPEN_SIDE_M = 500.0
#: Districts kept loaded in one process (a worker's warm set).
WARM_DISTRICTS = 12


class ProvinceError(PinganError):
    """A province file, a sweep file or a task that cannot be run, and why."""


@dataclass(frozen=True)
class District:
    """One district of a province: its code, name and the box of its border."""

    code: str
    name: str
    bounds: tuple[float, float, float, float]


@dataclass(frozen=True)
class ProvinceSpec:
    """A province file: the province's files, its districts and the border buffer.

    ``villages`` must say each village's district: the column ``district_column``
    (default ``district_code``) or, where the table has none, the first six digits of
    the 12-digit village code (the county's code, as the NBS list has it).
    """

    path: str
    name: str
    area: AreaSpec
    districts: tuple[District, ...]
    buffer_km: float = 12.0
    district_column: str = "district_code"

    def district(self, code: str) -> District:
        """Return the district of ``code``, or raise naming the known ones."""
        for d in self.districts:
            if d.code == code:
                return d
        known = ", ".join(d.code for d in self.districts[:12])
        more = ", ..." if len(self.districts) > 12 else ""
        msg = f"{self.path}: no district {code!r} (districts: {known}{more})"
        raise ProvinceError(msg)

    def window(self, code: str) -> tuple[float, float, float, float]:
        """Return the district's box grown by ``buffer_km`` on every side (degrees)."""
        w, s, e, n = self.district(code).bounds
        lat = np.radians((s + n) / 2)
        dy = self.buffer_km * 1000 / _M_PER_DEG
        dx = self.buffer_km * 1000 / (_M_PER_DEG * max(np.cos(lat), 0.1))
        return (w - dx, s - dy, e + dx, n + dy)

    @classmethod
    def from_file(cls, path: str | Path) -> ProvinceSpec:
        """Read a province file (TOML); errors name the file and the key."""
        p = Path(path).resolve()
        if not p.is_file():
            msg = f"province file {path} does not exist"
            raise ProvinceError(msg)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8-sig"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            msg = f"{p}: not a valid TOML province file ({exc})"
            raise ProvinceError(msg) from exc
        own = {"districts", "buffer_km", "district_column"}
        if not isinstance(data.get("districts"), str):
            msg = (
                f"{p}: 'districts' must be the path of the districts' polygons "
                "(GeoJSON, with code and name)"
            )
            raise ProvinceError(msg)
        buffer_km = data.get("buffer_km", 12.0)
        if (
            isinstance(buffer_km, bool)
            or not isinstance(buffer_km, int | float)
            or not 0 <= buffer_km <= 200
        ):
            msg = f"{p}: 'buffer_km' must be a number of km in 0..200, got {buffer_km!r}"
            raise ProvinceError(msg)
        column = data.get("district_column", "district_code")
        if not isinstance(column, str) or not column:
            msg = f"{p}: 'district_column' must be a column name, got {column!r}"
            raise ProvinceError(msg)
        try:
            area = AreaSpec.from_dict(
                {k: v for k, v in data.items() if k not in own}, folder=p.parent, source=str(p)
            )
        except AreaError as exc:
            raise ProvinceError(str(exc)) from exc
        if area.villages is None or area.stations is None:
            msg = f"{p}: a province needs 'villages' and 'stations'"
            raise ProvinceError(msg)
        districts = _read_districts(area.resolve(data["districts"]))
        return cls(
            path=str(p),
            name=area.name or p.stem,
            area=area,
            districts=districts,
            buffer_km=float(buffer_km),
            district_column=column,
        )


def _read_districts(path: Path) -> tuple[District, ...]:
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's fault
        msg = f"districts file {path}: cannot be read ({exc})"
        raise ProvinceError(msg) from exc
    for col in ("code", "name"):
        if col not in gdf.columns:
            has = ", ".join(map(str, gdf.columns))
            msg = f"districts file {path}: lacks the column {col!r} (has {has})"
            raise ProvinceError(msg)
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    out = []
    seen: set[str] = set()
    for i, row in enumerate(gdf.itertuples(index=False), start=1):
        code = str(row.code).strip()
        if not code or row.geometry is None or row.geometry.is_empty:
            msg = f"districts file {path}: feature {i} has no code or no geometry"
            raise ProvinceError(msg)
        if code in seen:
            msg = f"districts file {path}: feature {i}: district code {code!r} appears twice"
            raise ProvinceError(msg)
        seen.add(code)
        w, s, e, n = (float(v) for v in row.geometry.bounds)
        out.append(District(code=code, name=str(row.name), bounds=(w, s, e, n)))
    if not out:
        msg = f"districts file {path}: holds no district"
        raise ProvinceError(msg)
    return tuple(out)


# --------------------------------------------------------------------------- areas


_layers: dict[tuple[str, str], tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]] = {}
_warm: OrderedDict[tuple[str, str, str | None], Area] = OrderedDict()
_warm_lock = threading.Lock()


def province_layer(
    spec: ProvinceSpec, name: str
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """Return a province layer (in its own UTM zone) and its lon/lat, read once per process."""
    key = (spec.path, name)
    if key not in _layers:
        gdf = spec.area.read_layer(name)  # type: ignore[arg-type]
        ll = gdf.geometry.to_crs("EPSG:4326")
        _layers[key] = (gdf, ll.x.to_numpy(), ll.y.to_numpy())
    return _layers[key]


def district_of(spec: ProvinceSpec, villages: gpd.GeoDataFrame) -> pd.Series:
    """Return each village's district code (see :class:`ProvinceSpec`)."""
    if spec.district_column in villages.columns:
        return villages[spec.district_column].astype(str).str.strip()
    return villages["code"].astype(str).str[:6]


def district_area(
    spec: ProvinceSpec,
    code: str,
    *,
    cache_dir: str | Path | None = None,
    layers: Sequence[str] = ("villages", "stations"),
    progress: ProgressFn | None = None,
) -> Area:
    """Return district ``code`` as an area, loaded once per process.

    The area holds the window's roads, the district's own villages and the window's
    stations (and, when asked for, the incidents inside its own border).

    Kept warm in the process (the last :data:`WARM_DISTRICTS` loaded).
    """
    key = (spec.path, code, None if cache_dir is None else str(cache_dir))
    with _warm_lock:
        hit = _warm.get(key)
        if hit is not None and all(getattr(hit, n) is not None for n in layers):
            _warm.move_to_end(key)
            return hit
    d = spec.district(code)
    w, s, e, n = spec.window(code)
    read: dict[str, gpd.GeoDataFrame] = {}
    for name in layers:
        gdf, x, y = province_layer(spec, name)
        if name == "villages":
            keep = (district_of(spec, gdf) == code).to_numpy()
            if not keep.any():
                msg = f"{spec.path}: district {code} ({d.name}) has no village in its table"
                raise ProvinceError(msg)
        elif name == "incidents":
            bw, bs, be, bn = d.bounds
            keep = (x >= bw) & (x < be) & (y >= bs) & (y < bn)
        else:
            keep = (x >= w) & (x <= e) & (y >= s) & (y <= n)
        read[name] = gdf[keep].reset_index(drop=True)
    changes: dict[str, Any] = {k: None for k in LAYERS if k not in layers}
    area_spec = replace(spec.area, bbox=(w, s, e, n), name=f"{d.name} ({code})", **changes)
    area = load_area(area_spec, cache_dir=cache_dir, read_layers=read, progress=progress)  # type: ignore[arg-type]
    with _warm_lock:
        _warm[key] = area
        while len(_warm) > WARM_DISTRICTS:
            _warm.popitem(last=False)
    return area


def forget_districts() -> None:
    """Drop the warm districts and layers of this process (tests use it)."""
    with _warm_lock:
        _warm.clear()
        _layers.clear()


def border_exact(
    area: Area,
    window: tuple[float, float, float, float],
    lon: np.ndarray,
    lat: np.ndarray,
    seconds: np.ndarray,
) -> np.ndarray:
    """Return, per point, whether a trip of ``seconds`` from it stays inside ``window``.

    See the module's docstring: the disk of radius top speed x seconds must fit inside
    the window sides that have roads beyond them. Points with no time are not exact.
    """
    net = area.net
    e = net.edges
    t = e["travel_time_s"].to_numpy(dtype=float)
    ok = np.isfinite(t) & (t > 0)
    v = float(np.max(e["length_m"].to_numpy(dtype=float)[ok] / t[ok])) if ok.any() else 0.0
    v = max(v, max(ACCESS_KMH.values()) / 3.6)
    w, s, east, n = window
    nodes = net.nodes
    rl, rr = float(nodes["lon"].min()), float(nodes["lon"].max())
    rs, rn = float(nodes["lat"].min()), float(nodes["lat"].max())
    lat = np.asarray(lat, float)
    lon = np.asarray(lon, float)
    if len(lon) == 0:
        return np.zeros(0, bool)
    mx = _M_PER_DEG * np.cos(np.radians(lat))
    room = np.full(len(lon), np.inf)
    # A side is a border only where the roads reach it: past the last road there is
    # nothing a route could use.
    if (rl - w) * mx.mean() < _OPEN_SIDE_M:
        room = np.minimum(room, (lon - w) * mx)
    if (east - rr) * mx.mean() < _OPEN_SIDE_M:
        room = np.minimum(room, (east - lon) * mx)
    if (rs - s) * _M_PER_DEG < _OPEN_SIDE_M:
        room = np.minimum(room, (lat - s) * _M_PER_DEG)
    if (n - rn) * _M_PER_DEG < _OPEN_SIDE_M:
        room = np.minimum(room, (n - lat) * _M_PER_DEG)
    sec = np.asarray(seconds, float)
    return np.isfinite(sec) & (v * sec <= room)


# --------------------------------------------------------------------------- sweeps


@dataclass(frozen=True)
class SweepScenario:
    """One scenario of a sweep: its edits and the districts it is run in."""

    name: str
    edits: tuple[Edit, ...]
    districts: tuple[str, ...] = ()


@dataclass(frozen=True)
class SweepTask:
    """One unit of distributed work: a scenario in one district. Picklable and small."""

    province: str
    district: str
    scenario: str
    edits: str  # the edits as JSON, so a task pickles to a few hundred bytes
    thresholds_min: tuple[float, ...]
    cache_dir: str | None = None
    #: ``"scenario"`` (a scenario, or :data:`BASE`: the district's own coverage),
    #: ``"hotspots"`` (the district's hot spots, for the province's report), or a
    #: step of the province's team assignment (:mod:`geo.province_teams`).
    kind: str = "scenario"
    #: A team step's options, as JSON.
    payload: str = ""

    @property
    def key(self) -> str:
        """The task's name in progress lines and in the manifest."""
        return f"{self.district}/{self.scenario if self.kind == 'scenario' else self.kind}"


def load_sweep(path: str | Path) -> tuple[tuple[float, ...], tuple[SweepScenario, ...]]:
    """Read a sweep file; errors name the file and the scenario.

    The file is ``{"thresholds_min": [...], "scenarios": [{"name", "edits",
    "districts"?}, ...]}``.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        msg = f"sweep file {p} does not exist"
        raise ProvinceError(msg) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{p}: not a readable JSON sweep file ({exc})"
        raise ProvinceError(msg) from exc
    if (
        not isinstance(data, Mapping)
        or not isinstance(data.get("scenarios"), list)
        or not data["scenarios"]
    ):
        msg = f"{p}: a sweep is a JSON object with a non-empty list 'scenarios'"
        raise ProvinceError(msg)
    from geo.coverage import CoverageParams

    raw_t = data.get("thresholds_min", list(CoverageParams().thresholds_min))
    try:
        thresholds = CoverageParams(thresholds_min=tuple(raw_t)).thresholds_min
    except (PinganError, TypeError, ValueError) as exc:
        msg = f"{p}: 'thresholds_min': {exc}"
        raise ProvinceError(msg) from exc
    out = []
    names: set[str] = set()
    for i, sc in enumerate(data["scenarios"]):
        where = f"{p}: scenario {i}"
        if (
            not isinstance(sc, Mapping)
            or not isinstance(sc.get("name"), str)
            or not sc["name"].strip()
        ):
            msg = f"{where}: must be an object with a 'name'"
            raise ProvinceError(msg)
        name = sc["name"]
        where = f"{p}: scenario {i} ({name!r})"
        if name in names or name == "base" or "/" in name:
            msg = f"{where}: names must be unique, not 'base', and without '/'"
            raise ProvinceError(msg)
        names.add(name)
        edits = sc.get("edits", [])
        if not isinstance(edits, list):
            msg = f"{where}: 'edits' must be a list"
            raise ProvinceError(msg)
        try:
            parsed = parse_edits(edits, f"{where}: ")
        except ScenarioError as exc:
            raise ProvinceError(str(exc)) from exc
        districts = sc.get("districts", [])
        if not isinstance(districts, list) or not all(isinstance(c, str) for c in districts):
            msg = f"{where}: 'districts' must be a list of district codes"
            raise ProvinceError(msg)
        out.append(SweepScenario(name=name, edits=tuple(parsed), districts=tuple(districts)))
    return thresholds, tuple(out)


def _edit_points(edits: Sequence[Edit]) -> list[tuple[float, float]]:
    return [(float(e.fields["lon"]), float(e.fields["lat"])) for e in edits if "lon" in e.fields]


def plan_sweep(
    spec: ProvinceSpec,
    scenarios: Sequence[SweepScenario],
    thresholds_min: Sequence[float],
    *,
    cache_dir: str | Path | None = None,
    hotspots: bool = False,
) -> list[SweepTask]:
    """Return the tasks of a sweep: each scenario in each district it concerns.

    The first tasks are one per district without edits (:data:`BASE`): the
    province's coverage report, district by district; with ``hotspots``, one more per
    district for its hot spots (:func:`hotspot_rows`). A scenario runs in the
    districts it lists; else in every district whose window
    holds one of its stations or teams (a post near a border changes both sides). A
    road edit names OSM ways, which the planner cannot place without the roads, so a
    scenario of road edits alone must list its districts.
    """
    cache = None if cache_dir is None else str(cache_dir)
    thresholds = tuple(thresholds_min)
    # Every district's own coverage first: together they are the province's report,
    # and each is the base its district's scenarios are compared with.
    tasks = [SweepTask(spec.path, d.code, BASE, "[]", thresholds, cache) for d in spec.districts]
    if hotspots:
        if spec.area.incidents is None:
            msg = f"{spec.path}: a hot spot report needs 'incidents' in the province file"
            raise ProvinceError(msg)
        tasks += [
            SweepTask(spec.path, d.code, "", "[]", thresholds, cache, kind="hotspots")
            for d in spec.districts
        ]
    for sc in scenarios:
        if sc.districts:
            for c in sc.districts:
                spec.district(c)
            codes = list(sc.districts)
        else:
            pts = _edit_points(sc.edits)
            if not pts:
                msg = (
                    f"scenario {sc.name!r}: its edits have no position; "
                    "list the 'districts' it is for"
                )
                raise ProvinceError(msg)
            codes = []
            for d in spec.districts:
                w, s, e, n = spec.window(d.code)
                if any(w <= x <= e and s <= y <= n for x, y in pts):
                    codes.append(d.code)
            if not codes:
                msg = f"scenario {sc.name!r}: no district's window holds its edits"
                raise ProvinceError(msg)
        edits = json.dumps([e.to_dict() for e in sc.edits], ensure_ascii=False, sort_keys=True)
        for c in codes:
            tasks.append(
                SweepTask(
                    province=spec.path,
                    district=c,
                    scenario=sc.name,
                    edits=edits,
                    thresholds_min=tuple(thresholds_min),
                    cache_dir=None if cache_dir is None else str(cache_dir),
                )
            )
    return tasks


@dataclass(frozen=True)
class TaskRows:
    """What one task gives back: one summary row and its changed villages."""

    key: str
    summary: dict[str, Any]
    villages: pd.DataFrame = field(default_factory=pd.DataFrame)


_specs: dict[str, ProvinceSpec] = {}
#: Each warm district's base coverage, by thresholds; it goes when its area is evicted.
_bases: weakref.WeakKeyDictionary[Area, dict[tuple[float, ...], Any]] = weakref.WeakKeyDictionary()


def _spec(path: str) -> ProvinceSpec:
    if path not in _specs:
        _specs[path] = ProvinceSpec.from_file(path)
    return _specs[path]


def run_task(task: SweepTask, progress: ProgressFn | None = None) -> TaskRows:
    """Run one sweep task: the scenario in its district, against the district's base.

    The base coverage of a district is computed once per process and kept with its
    warm area.
    """
    spec = _spec(task.province)
    if task.kind == "hotspots":
        return hotspot_rows(spec, task, progress)
    if task.kind in ("team_measures", "team_assign"):
        from geo import province_teams

        step = (
            province_teams.measure_rows
            if task.kind == province_teams.TEAM_MEASURES
            else province_teams.assign_rows
        )
        return step(spec, task, progress)
    if task.kind != "scenario":
        msg = f"task {task.key}: unknown kind {task.kind!r} (scenario, hotspots or a team step)"
        raise ProvinceError(msg)
    area = district_area(spec, task.district, cache_dir=task.cache_dir, progress=progress)
    d = spec.district(task.district)
    window = spec.window(task.district)
    per_area = _bases.setdefault(area, {})
    base_res = per_area.get(task.thresholds_min)
    if base_res is None:
        base_res = evaluate(
            Scenario(name="base", base=area.spec, thresholds_min=task.thresholds_min), area=area
        )
        per_area[task.thresholds_min] = base_res
    villages = area.villages
    assert villages is not None
    ll = villages.geometry.to_crs("EPSG:4326")
    lon, lat = ll.x.to_numpy(), ll.y.to_numpy()
    if task.scenario == BASE:
        return _base_rows(task, d, area, window, base_res, lon, lat)
    edits = parse_edits(json.loads(task.edits))
    try:
        res = evaluate(
            Scenario(
                name=task.scenario, base=area.spec, edits=edits, thresholds_min=task.thresholds_min
            ),
            area=area,
        )
    except ScenarioError as exc:
        msg = f"scenario {task.scenario!r} in district {task.district}: {exc}"
        raise ProvinceError(msg) from exc
    cmp = compare(base_res, res)
    v = cmp.villages
    # Exact before and after: the longer trip decides (a missing one is not exact).
    longer = np.maximum(v["minutes_a"].to_numpy(float), v["minutes_b"].to_numpy(float))
    exact = border_exact(area, window, lon, lat, longer * 60)
    summary: dict[str, Any] = {
        "scenario": task.scenario,
        "district": task.district,
        "district_name": d.name,
        "villages": len(v),
        "weight": float(v["weight"].sum()),
        "mean_min_base": _finite(v["minutes_a"], np.mean),
        "mean_min": _finite(v["minutes_b"], np.mean),
        "max_min_base": _finite(v["minutes_a"], np.max),
        "max_min": _finite(v["minutes_b"], np.max),
        "improved": int((v["delta_min"] < 0).sum()),
        "worsened": int((v["delta_min"] > 0).sum()),
    }
    for row in cmp.summary.to_dict("records"):
        t = f"{row['threshold_min']:g}"
        summary[f"covered_{t}_base"] = int(row["covered_a"])
        summary[f"covered_{t}"] = int(row["covered_b"])
        summary[f"gained_{t}"] = int(row["gained"])
        summary[f"lost_{t}"] = int(row["lost"])
        summary[f"weight_gained_{t}"] = round(float(row["weight_gained"]), 3)
        summary[f"weight_lost_{t}"] = round(float(row["weight_lost"]), 3)
    summary["lit_km_delta"] = round(float(cmp.lit_km["delta"].sum()), 3)
    summary["closed_km"] = res.closed_km
    summary["border_inexact"] = int((~exact).sum())
    changed = (v["delta_min"].fillna(0) != 0) | (
        v["facility_a"].astype(str) != v["facility_b"].astype(str)
    )
    rows = v.loc[
        changed, ["code", "name", "facility_a", "facility_b", "minutes_a", "minutes_b", "delta_min"]
    ].copy()
    rows.insert(0, "district", task.district)
    rows.insert(0, "scenario", task.scenario)
    rows["lon"] = np.round(lon[changed.to_numpy()], 6)
    rows["lat"] = np.round(lat[changed.to_numpy()], 6)
    rows["border_exact"] = exact[changed.to_numpy()]
    return TaskRows(key=task.key, summary=summary, villages=rows.reset_index(drop=True))


def _base_rows(
    task: SweepTask,
    d: District,
    area: Area,
    window: tuple[float, float, float, float],
    base: Any,
    lon: np.ndarray,
    lat: np.ndarray,
) -> TaskRows:
    """Return the district's own coverage, one row per village (the province's part)."""
    v = base.stations.villages
    sec = v["minutes"].to_numpy(dtype=float) * 60
    exact = border_exact(area, window, lon, lat, sec)
    cols = [
        "code",
        "name",
        "township_code",
        "weight",
        "facility",
        "facility_name",
        "minutes",
        "status",
    ]
    cols += [c for c in v.columns if c.startswith("covered_")]
    rows = v[[c for c in cols if c in v.columns]].copy()
    rows.insert(0, "district", task.district)
    rows["lon"] = np.round(lon, 6)
    rows["lat"] = np.round(lat, 6)
    rows["border_exact"] = exact
    summary: dict[str, Any] = {
        "scenario": BASE,
        "district": task.district,
        "district_name": d.name,
        "villages": len(v),
        "weight": float(v["weight"].sum()),
        "mean_min_base": _finite(v["minutes"], np.mean),
        "max_min_base": _finite(v["minutes"], np.max),
        "border_inexact": int((~exact).sum()),
    }
    for row in base.stations.summary.to_dict("records"):
        summary[f"covered_{row['threshold_min']:g}_base"] = int(row["villages_covered"])
    return TaskRows(key=task.key, summary=summary, villages=rows.reset_index(drop=True))


def hotspot_rows(
    spec: ProvinceSpec, task: SweepTask, progress: ProgressFn | None = None
) -> TaskRows:
    """Return the district's hot spot cores, cells and road pieces, one row each.

    The district's own incidents (inside its border) are analysed on the roads of its
    window, with the Gi* cells laid over the district's box: each district's hot spots
    are measured against its own incidents, as a district's police read them, and the
    province's report is their union, each row saying its district and place.
    """
    from geo.errors import HotspotError
    from geo.hotspots.pipeline import analyse_hotspots

    d = spec.district(task.district)
    area = district_area(
        spec,
        task.district,
        cache_dir=task.cache_dir,
        layers=("villages", "stations", "incidents"),
        progress=progress,
    )
    inc = area.incidents
    assert inc is not None
    box = gpd.GeoSeries([shapely.box(*d.bounds)], crs="EPSG:4326").to_crs(area.crs).total_bounds
    summary: dict[str, Any] = {
        "district": task.district,
        "district_name": d.name,
        "incidents": len(inc),
    }
    try:
        res = analyse_hotspots(inc, roads=area.roads, bounds=tuple(box.tolist()))
    except HotspotError as exc:
        summary["note"] = str(exc)
        return TaskRows(key=task.key, summary=summary)
    # The rows to act on are the cores, each hot on its own incidents; the cells and
    # road pieces around them that are hot only as part of the area are counted.
    parts = []
    cells = res.ranked_cells()
    roads = res.ranked_roads()
    for kind, t in (("cell", cells), ("road", roads)):
        if t is None:
            continue
        core = t[t["role"] == CORE]
        summary[f"hot_{kind}s"] = len(core)
        summary[f"{kind}s_in_hot_areas"] = int((t["role"] == ROLES[1]).sum())
        if len(core):
            at = (
                core.geometry.centroid
                if kind == "cell"
                else core.geometry.interpolate(0.5, normalized=True)
            )
            parts.append(_hot_table(task.district, kind, core, at, area.crs))
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return TaskRows(key=task.key, summary=summary, villages=rows)


def _hot_table(district: str, kind: str, t: pd.DataFrame, at: Any, crs: Any) -> pd.DataFrame:
    ll = gpd.GeoSeries(at, crs=crs).to_crs("EPSG:4326")
    names = t["name"].fillna("").astype(str) if "name" in t.columns else ""
    return pd.DataFrame(
        {
            "district": district,
            "kind": kind,
            "rank": t["rank"].to_numpy(),
            "name": names,
            "incidents": t["count"].to_numpy(),
            "z": t["z"].round(3).to_numpy(),
            "p_fdr": t["p_fdr"].to_numpy(),
            "class": t["class"].to_numpy(),
            "role": t["role"].to_numpy(),
            "lon": ll.x.round(6).to_numpy(),
            "lat": ll.y.round(6).to_numpy(),
        }
    )


def _finite(s: pd.Series, stat: Callable[[np.ndarray], Any]) -> float | None:
    """Return ``stat`` of the finite values (minutes of the villages reached), rounded."""
    x = s.to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    return round(float(stat(x)), 3) if len(x) else None
