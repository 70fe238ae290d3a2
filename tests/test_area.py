"""The Area: one loading path, area files, the road view of every road, thread and pickle safety."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.area import Area, AreaSpec, LayerSource, load_area
from geo.coverage import village_coverage
from geo.errors import AreaError, LayerError, NetworkError
from geo.lighting import lit_km_by_area
from service.cli import main

OPTICS_VALLEY = Path(__file__).parent / "data" / "optics_valley"


@pytest.fixture(scope="module")
def sample_spec(sample_files):
    return AreaSpec(
        osm=str(sample_files.roads),
        villages=str(sample_files.villages),
        stations=str(sample_files.stations),
        teams=str(sample_files.teams),
        incidents=LayerSource(str(sample_files.incidents), layer="incidents"),
    )


@pytest.fixture(scope="module")
def area(sample_spec):
    return load_area(sample_spec)


def test_an_area_file_with_relative_paths_loads_the_same_area(sample_files, area, tmp_path):
    """TOML and JSON area files, paths relative to the file, give the same area."""
    folder = tmp_path / "county"
    folder.mkdir()
    rel = {
        "osm": os.path.relpath(sample_files.roads, folder),
        "villages": os.path.relpath(sample_files.villages, folder),
        "stations": os.path.relpath(sample_files.stations, folder),
    }
    assert all(v.startswith("..") for v in rel.values())
    toml = folder / "area.toml"
    toml.write_text(
        "\n".join(f'{k} = "{v}"' for k, v in rel.items()) + '\nmode = "car"\n', encoding="utf-8"
    )
    (folder / "area.json").write_text(json.dumps(rel), encoding="utf-8")
    for path in (toml, folder / "area.json"):
        got = load_area(path)
        assert got.crs.equals(area.crs)
        assert len(got.villages) == len(area.villages) and got.teams is None
        assert np.allclose(got.villages.geometry.x, area.villages.geometry.x)
        assert len(got.roads) == len(area.roads)


def test_every_road_of_the_file_is_in_the_road_view(area):
    """The road view counts the routing core and the pieces cut off from it."""
    roads, core = area.roads, area.net
    core_km = core.summary().road_km
    dropped = core.summary().dropped.road_km
    # Summaries round to metres.
    assert roads.length_m.sum() / 1000 == pytest.approx(core_km + dropped, abs=2e-3)
    assert (~roads.routable).any() and roads.routable.any()
    # Each routable road maps to the same road of the routing network.
    r = np.flatnonzero(roads.routable)
    e_core = core.edges.iloc[roads.routing_edge[r]]
    e_full = roads.net.edges.iloc[roads.edge[r]]
    np.testing.assert_allclose(e_core["length_m"].to_numpy(), e_full["length_m"].to_numpy())
    osm = core.nodes["osmid"].to_numpy()
    full_osm = roads.net.nodes["osmid"].to_numpy()
    assert (osm[e_core["u"].to_numpy()] == full_osm[e_full["u"].to_numpy()]).all()
    # Every directed edge belongs to exactly one road; a road's edges are itself and its twin.
    owner = roads.road_of_edge
    assert (owner >= 0).all()
    counts = np.bincount(owner, minlength=len(roads))
    assert (counts == np.where(roads.twin >= 0, 2, 1)).all()


def test_lighting_inventory_counts_roads_cut_off_from_the_routing_core(area):
    lit = lit_km_by_area(area.roads, area.villages)
    assert sum(lit.total.values()) == pytest.approx(area.roads.length_m.sum() / 1000)
    core_only = lit_km_by_area(area.net, area.villages)
    assert sum(lit.total.values()) > sum(core_only.total.values())


def test_require_names_the_option_that_would_provide_a_layer(sample_files):
    bare = load_area(AreaSpec(osm=str(sample_files.roads)))
    assert bare.villages is None
    with pytest.raises(AreaError, match="--stations FILE"):
        bare.require("stations")
    with pytest.raises(AreaError, match="mode 'foot' was not loaded"):
        bare.engine("foot")


def test_bad_area_files_name_the_file_and_the_key(tmp_path):
    bad = tmp_path / "a.toml"
    bad.write_text('osm = "x.osm"\nvilages = "v.csv"\n', encoding="utf-8")
    with pytest.raises(AreaError, match=r"a\.toml: unknown key\(s\) vilages"):
        AreaSpec.from_file(bad)
    bad.write_text('villages = "v.csv"\n', encoding="utf-8")
    with pytest.raises(AreaError, match="the area needs its roads: 'osm'"):
        AreaSpec.from_file(bad)
    bad.write_text('osm = "x.osm"\nmode = "tank"\n', encoding="utf-8")
    with pytest.raises(AreaError, match="unknown travel mode 'tank'"):
        AreaSpec.from_file(bad)
    bad.write_text('osm = "x.osm"\n[villages]\npath = "v.csv"\nsrid = 4326\n', encoding="utf-8")
    with pytest.raises(AreaError, match=r"villages: unknown key\(s\) srid"):
        AreaSpec.from_file(bad)
    bad.write_text("osm = ", encoding="utf-8")
    with pytest.raises(AreaError, match="not valid TOML"):
        AreaSpec.from_file(bad)
    with pytest.raises(AreaError, match="does not exist"):
        AreaSpec.from_file(tmp_path / "missing.toml")
    other = tmp_path / "area.yaml"
    other.write_text("osm: x.osm\n", encoding="utf-8")
    with pytest.raises(AreaError, match="must be .toml or .json"):
        AreaSpec.from_file(other)


def test_missing_or_broken_files_are_named(sample_files, tmp_path):
    with pytest.raises(NetworkError, match="does not exist"):
        load_area(AreaSpec(osm=str(tmp_path / "nope.osm")))
    broken = tmp_path / "v.csv"
    broken.write_text("code,name,lon,lat\n420199001201,甲村,abc,31\n", encoding="utf-8")
    with pytest.raises(LayerError, match=r"v\.csv, row 1"):
        load_area(AreaSpec(osm=str(sample_files.roads), villages=str(broken)))


def test_an_area_is_shared_safely_by_threads_and_crosses_to_workers(area):
    """Nothing is filled in lazily: threads agree, and a pickled copy answers the same."""
    engine = area.engine()
    snap_arrays = (engine.snap.roads.edge, area.roads.geometry)
    assert not any(a.flags.writeable for a in snap_arrays)

    def run(_):
        return village_coverage(engine, area.villages, area.stations).villages

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(8)))
    assert all(r.equals(results[0]) for r in results)
    copy = pickle.loads(pickle.dumps(area))
    again = village_coverage(copy.engine(), copy.villages, copy.stations).villages
    assert again.equals(results[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        area.villages = None  # type: ignore[misc]


def test_layers_in_another_crs_are_refused(area):
    with pytest.raises(AreaError, match="villages layer is in EPSG:4326"):
        area.with_layers(villages=area.villages.to_crs(4326))
    assert isinstance(area.with_layers(teams=None), Area)


@pytest.mark.shared
def test_run_on_the_real_optics_valley_extract_writes_the_full_report(shared_path, tmp_path):
    """The main job on a real OSM file and small tables of our own: every file, true km."""
    osm = shared_path("wuhan_optics_valley_gaoxin_cn.osm.bz2")
    spec = AreaSpec.from_file(OPTICS_VALLEY / "area.toml")
    # The area file points at ../shared as it lies in the repository; follow the test's.
    area_file = tmp_path / "area.json"
    data = spec.to_dict() | {"osm": str(osm)}
    for name in ("villages", "teams", "incidents", "stations"):
        src = getattr(spec, name)
        data[name] = dataclasses.replace(src, path=str(spec.resolve(src.path))).to_dict()
    area_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["-q", "run", "--area", str(area_file), "--out", str(out), "--no-cache"]) == 0
    for name in (
        "summary.md",
        "summary.json",
        "overview.html",
        "hotspots.html",
        "coverage.md",
        "coverage_villages.csv",
        "coverage_by_mode.md",
        "isochrones.geojson",
        "scenario_comparison.md",
        "hotspots.md",
        "lit_km_by_village.csv",
        "unlit_roads_risk.csv",
        "lamps.geojson",
    ):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    # All 116 km of the extract's roads are counted, not the car core's 78.5 km.
    assert summary["roads"]["all_km"] == pytest.approx(115.92, abs=0.05)
    assert summary["roads"]["routable_km"] == pytest.approx(78.54, abs=0.05)
    assert summary["layers"] == {"villages": 8, "stations": 2, "teams": 2, "incidents": 134}
    # The GCJ-02 stations were converted: they sit on the roads they were taken from.
    snaps = {s["layer"]: s for s in summary["snapping"]}
    assert snaps["stations"]["max_m"] < 1.0
    area = load_area(area_file.with_name("area.json"))
    trunk = area.roads.length_m[area.roads.highway == "trunk"].sum() / 1000
    assert trunk == pytest.approx(12.7, abs=0.05)
    risk_csv = (out / "unlit_roads_risk.csv").read_text(encoding="utf-8").splitlines()
    assert "routable" in risk_csv[0] and any(",False," in row for row in risk_csv[1:])


def test_missing_households_are_estimated_from_population_and_said(sample_files, tmp_path):
    """Village lists with a population and no households still weigh dark roads."""
    from geo.area import PERSONS_PER_HOUSEHOLD, AreaSpec, load_area

    v = pd.read_csv(sample_files.villages, dtype=str)
    v["households"] = ""
    v.loc[v.index[:3], "population"] = ""
    path = tmp_path / "villages.csv"
    v.to_csv(path, index=False)
    area = load_area(AreaSpec(osm=str(sample_files.roads), villages=str(path)))
    hh = area.villages["households"].to_numpy(dtype=float)
    pop = pd.to_numeric(v["population"]).to_numpy(dtype=float)
    np.testing.assert_array_equal(hh[3:], np.round(pop[3:] / PERSONS_PER_HOUSEHOLD))
    assert (hh[:3] == 0).all()
    note = area.layer_notes["villages"]
    assert f"{len(v) - 3} of {len(v)} villages give no households" in note
    assert "3 villages give neither households nor population" in note
    assert v["code"].iloc[0] in note


def test_a_layer_already_read_is_used_not_read_again(sample_files):
    """load_area takes a layer a command read first: as it is in the roads' CRS,
    reprojected from another (a province's district hands over its own villages); one
    to be held to an hour window is read again, as the read filters it."""
    spec = AreaSpec(osm=str(sample_files.roads), incidents=str(sample_files.incidents))
    first = spec.read_layer("incidents")
    area = load_area(spec, read_layers={"incidents": first})
    assert area.incidents is first
    other = first.to_crs(4326).iloc[::2]
    again = load_area(spec, read_layers={"incidents": other})
    assert again.incidents.crs == again.crs
    assert len(again.incidents) == len(other)  # the frame given, not the file
    pd.testing.assert_frame_equal(
        again.incidents.drop(columns="geometry"), first.iloc[::2].drop(columns="geometry")
    )
    assert again.incidents.geometry.distance(first.geometry.iloc[::2]).max() < 1e-6
    night = load_area(spec, read_layers={"incidents": other}, incident_hours=(19, 6))
    assert len(night.incidents) < len(first) and len(night.incidents) != len(other)


def test_village_cells_hold_every_village_area_at_once(area, sample_full_area):
    """village_cells() holds at each village's index what village_area(code) returns: the
    boundaries layer's polygon where there is one, else the village's own polygon, else
    the Voronoi cell of its point (the places nearer to it than to any other village)."""
    v = area.villages
    codes = v["code"].astype(str).to_numpy()
    bounds = sample_full_area.boundaries
    by_code = dict(zip(bounds["code"].astype(str), bounds.geometry, strict=True))
    geom = v.geometry.to_numpy().copy()
    own = np.arange(len(v)) % 4 == 0
    geom[own] = [by_code[c] for c in codes[own]]
    mixed = area.with_layers(villages=v.set_geometry(gpd.GeoSeries(geom, crs=v.crs, index=v.index)))
    sample = [0, 1, 2, 4, 5, len(v) - 1]
    for a in (area, mixed, sample_full_area):
        cells = a.village_cells()
        assert cells.index.equals(a.villages.index)
        assert cells.crs == a.crs
        for i in sample:
            assert cells.iloc[i].equals(a.village_area(codes[i])), (a.name, codes[i])
    full = sample_full_area.village_cells()
    assert all(full.iloc[i].equals(by_code[c]) for i, c in enumerate(codes))
    polys = mixed.village_cells()
    assert all(polys.iloc[i].equals(geom[i]) for i in np.flatnonzero(own))
    cells = area.village_cells()
    pts = v.geometry.to_numpy()
    xy = shapely.get_coordinates(pts)
    rng = np.random.default_rng(7)
    for i in sample:
        cell = cells.iloc[i]
        assert cell.contains(pts[i])
        x0, y0, x1, y1 = cell.bounds
        probe = shapely.points(rng.uniform(x0, x1, 200), rng.uniform(y0, y1, 200))
        inside = shapely.get_coordinates(probe[shapely.contains(cell, probe)])
        assert len(inside)
        d = np.hypot(inside[:, None, 0] - xy[None, :, 0], inside[:, None, 1] - xy[None, :, 1])
        assert (d.argmin(axis=1) == i).all()
