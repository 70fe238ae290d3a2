"""Province runs: the synthetic province, the border rule, and sweeps serial vs Dask.

The province here is small (4 districts of one sample tile each, 2 x 2), so every test
runs in seconds; ``benchmarks/sweep.py`` runs the full-size one.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from geo.area import AreaSpec, load_area
from geo.coverage import CoverageParams, village_coverage
from geo.errors import PinganError
from geo.province import (
    BASE,
    ProvinceError,
    ProvinceSpec,
    SweepTask,
    border_exact,
    district_area,
    forget_districts,
    load_sweep,
    plan_sweep,
    run_task,
)
from geo.sample.province import ensure_province

THRESHOLDS = (10.0, 20.0, 30.0)


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    folder = tmp_path_factory.mktemp("province")
    files = ensure_province(
        folder,
        seed=7,
        districts=4,
        tiles=(1, 1),
        per_row=2,
        n_villages=24,
        n_incidents=50,
        buffer_km=6.0,
    )
    return files


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("netcache")


@pytest.fixture(scope="module")
def spec(province):
    return ProvinceSpec.from_file(province.province)


def test_the_province_is_deterministic_and_reused(province, tmp_path):
    again = ensure_province(
        tmp_path,
        seed=7,
        districts=4,
        tiles=(1, 1),
        per_row=2,
        n_villages=24,
        n_incidents=50,
        buffer_km=6.0,
    )
    for a, b in zip(province.paths, again.paths, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    stamp = again.roads.stat().st_mtime_ns
    ensure_province(
        tmp_path,
        seed=7,
        districts=4,
        tiles=(1, 1),
        per_row=2,
        n_villages=24,
        n_incidents=50,
        buffer_km=6.0,
    )
    assert again.roads.stat().st_mtime_ns == stamp  # reused, not written again
    v = pd.read_csv(province.villages, dtype={"code": str, "district_code": str})
    assert v["code"].is_unique and (v["code"].str.len() == 12).all()
    assert (v["code"].str[:6] == v["district_code"]).all()
    assert v["district_code"].nunique() == 4


def test_the_tiles_make_one_road_network(spec, cache):
    whole = load_area(spec.area, cache_dir=cache)
    # The routing core (largest strongly connected part) spans all four tiles.
    lon = whole.net.nodes["lon"].to_numpy()
    lat = whole.net.nodes["lat"].to_numpy()
    for d in spec.districts:
        w, s, e, n = d.bounds
        inside = (lon >= w) & (lon < e) & (lat >= s) & (lat < n)
        assert inside.sum() > 1000, d.code


def test_district_runs_equal_the_province_run_where_the_border_rule_says(spec, cache):
    """Every village certified by the border rule gets the province-wide time, and
    some village's nearest station lies in the next district."""
    whole = load_area(spec.area, cache_dir=cache)
    params = CoverageParams(thresholds_min=THRESHOLDS)
    ref = village_coverage(whole.engine(), whole.villages, whole.stations, params).villages
    ref = ref.set_index("code")
    across = 0
    certified = 0
    for d in spec.districts:
        area = district_area(spec, d.code, cache_dir=cache)
        got = village_coverage(area.engine(), area.villages, area.stations, params).villages
        ll = area.villages.geometry.to_crs("EPSG:4326")
        exact = border_exact(
            area,
            spec.window(d.code),
            ll.x.to_numpy(),
            ll.y.to_numpy(),
            got["minutes"].to_numpy(float) * 60,
        )
        assert exact.mean() > 0.5
        r = ref.loc[got["code"]]
        diff = np.abs(got["minutes"].to_numpy(float) - r["minutes"].to_numpy(float))
        assert np.nanmax(diff[exact]) < 1e-6, d.code
        # Never faster than the province: a district holds a part of its roads.
        assert (got["minutes"].to_numpy(float) >= r["minutes"].to_numpy(float) - 1e-6).all()
        certified += int(exact.sum())
        # Station ids of the synthetic province start with their district's code.
        fac_district = r["facility"].astype(str).str[:6].to_numpy()
        across += int(((fac_district != d.code) & exact).sum())
    assert across > 0, "no village is served across a border: the test proves nothing"
    assert certified > 0


def sweep_file(tmp_path, spec, n=6):
    """Posts at villages near borders and a speed change, across the districts."""
    v = pd.read_csv(spec.area.resolve(str(spec.area.villages.path)), dtype={"code": str})
    v = v[v["kind"] == "village"].reset_index(drop=True)
    rng = np.random.default_rng(3)
    pick = rng.choice(len(v), n, replace=False)
    scenarios = [
        {
            "name": f"post-{k}",
            "edits": [
                {
                    "op": "add_station",
                    "id": f"P{k}",
                    "kind": "post",
                    "lon": float(v.loc[i, "lon"]),
                    "lat": float(v.loc[i, "lat"]),
                }
            ],
        }
        for k, i in enumerate(pick)
    ]
    scenarios.append(
        {
            "name": "remove-a-station",
            "edits": [{"op": "remove_station", "id": _a_station(spec)}],
            "districts": [spec.districts[0].code],
        }
    )
    p = tmp_path / "sweep.json"
    p.write_text(json.dumps({"thresholds_min": list(THRESHOLDS), "scenarios": scenarios}))
    return p


def _a_station(spec):
    st = json.loads(spec.area.resolve(str(spec.area.stations.path)).read_text())["features"]
    first = spec.districts[0].code
    return next(f["properties"]["id"] for f in st if f["properties"]["district_code"] == first)


def test_the_sweep_plan_names_every_district_a_post_concerns(spec, tmp_path, cache):
    thresholds, scenarios = load_sweep(sweep_file(tmp_path, spec))
    tasks = plan_sweep(spec, scenarios, thresholds, cache_dir=cache)
    assert [t.scenario for t in tasks[:4]] == [BASE] * 4
    for sc in scenarios[:-1]:
        lon, lat = sc.edits[0].fields["lon"], sc.edits[0].fields["lat"]
        want = {d.code for d in spec.districts if _inside(spec.window(d.code), lon, lat)}
        assert {t.district for t in tasks if t.scenario == sc.name} == want
    import pickle

    assert all(len(pickle.dumps(t)) < 2000 for t in tasks)


def _inside(w, lon, lat):
    return w[0] <= lon <= w[2] and w[1] <= lat <= w[3]


def test_bad_sweeps_and_provinces_are_named(spec, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"scenarios": [{"name": "x", "edits": [{"op": "fly"}]}]}))
    with pytest.raises(ProvinceError, match=r"bad.json: scenario 0 \('x'\): edit 0"):
        load_sweep(bad)
    bad.write_text(
        json.dumps({"scenarios": [{"name": "x", "edits": [{"op": "close_road", "osm_ways": [1]}]}]})
    )
    th, sc = load_sweep(bad)
    with pytest.raises(ProvinceError, match="list the 'districts'"):
        plan_sweep(spec, sc, th)
    bad.write_text(json.dumps({"scenarios": [{"name": "x", "districts": ["000000"]}]}))
    th, sc = load_sweep(bad)
    with pytest.raises(ProvinceError, match="no district '000000'"):
        plan_sweep(spec, sc, th)
    toml = tmp_path / "p.toml"
    toml.write_text('osm = "x.osm"\nvillages = "v.csv"\nstations = "s.geojson"\n')
    with pytest.raises(ProvinceError, match="'districts' must be the path"):
        ProvinceSpec.from_file(toml)


@pytest.fixture(scope="module")
def serial_rows(spec, cache, tmp_path_factory):
    from service.batch import run_sweep

    th, sc = load_sweep(sweep_file(tmp_path_factory.mktemp("sw"), spec))
    tasks = plan_sweep(spec, sc, th, cache_dir=cache)
    out = run_sweep(tasks, serial=True)
    assert not out.failures
    return tasks, out


def test_a_sweep_task_agrees_with_evaluating_the_scenario_directly(spec, cache, serial_rows):
    from geo.scenarios import Edit, Scenario, compare, evaluate

    tasks, out = serial_rows
    t = next(t for t in tasks if t.scenario == "post-0")
    area = district_area(spec, t.district, cache_dir=cache)
    edits = tuple(
        Edit(e["op"], {k: v for k, v in e.items() if k != "op"}) for e in json.loads(t.edits)
    )
    a = evaluate(Scenario("base", area.spec, thresholds_min=THRESHOLDS), area=area)
    b = evaluate(Scenario("post-0", area.spec, edits, thresholds_min=THRESHOLDS), area=area)
    cmp = compare(a, b).summary
    s = out.rows[t.key].summary
    for row in cmp.itertuples():
        assert s[f"gained_{row.threshold_min:g}"] == row.gained
        assert s[f"covered_{row.threshold_min:g}"] == row.covered_b
    # A post never makes a village's nearest station farther.
    assert s["worsened"] == 0 and s["improved"] >= 1


def test_a_distributed_sweep_equals_the_serial_one_row_for_row(serial_rows):
    pytest.importorskip("distributed")
    from service.batch import run_sweep

    tasks, serial = serial_rows
    dist = run_sweep(tasks, workers=2)
    assert not dist.failures
    pd.testing.assert_frame_equal(serial.summary(), dist.summary())
    pd.testing.assert_frame_equal(serial.villages(base=True), dist.villages(base=True))
    pd.testing.assert_frame_equal(serial.villages(base=False), dist.villages(base=False))
    assert len(dist.worker_memory_mb) == 2


def test_killing_a_worker_mid_sweep_still_completes_it(serial_rows, monkeypatch):
    """A worker killed (SIGKILL) while tasks run: the scheduler moves its runs of
    tasks, and the sweep's rows equal the serial run's."""
    pytest.importorskip("distributed")
    from distributed import Client

    from service.batch import local_cluster, run_sweep
    from service.dispatch import district_runs

    tasks, serial = serial_rows
    chunk = 2  # runs of 2 tasks: enough Dask tasks to kill one mid-sweep
    runs = len(district_runs(tasks, chunk))
    assert runs >= 4
    cluster = local_cluster(2)  # as `pingan sweep --workers 2` starts it
    killed = {}

    def states(dask_scheduler):
        return [ts.state for k, ts in dask_scheduler.tasks.items() if str(k).startswith("sweep-")]

    def kill_one():
        with Client(cluster) as c:
            # Once some runs have finished and others have not: mid-sweep.
            deadline = time.time() + 120
            while time.time() < deadline:
                st = c.run_on_scheduler(states)
                done = sum(s == "memory" for s in st)
                if done >= 1 and done < runs:
                    break
                time.sleep(0.02)
            pids = c.run(os.getpid)
            victim = sorted(pids)[0]
            killed["left"] = runs - done
            os.kill(pids[victim], signal.SIGKILL)

    try:
        killer = threading.Thread(target=kill_one)
        killer.start()
        out = run_sweep(tasks, scheduler=cluster.scheduler_address, chunk=chunk)
        killer.join()
    finally:
        cluster.close()
    assert killed and killed["left"] > 0, f"no worker was killed mid-sweep: {killed}"
    assert not out.failures
    assert set(out.rows) == {t.key for t in tasks}
    pd.testing.assert_frame_equal(serial.summary(), out.summary())
    pd.testing.assert_frame_equal(serial.villages(base=False), out.villages(base=False))


def test_district_runs_keep_each_districts_tasks_in_order():
    from service.dispatch import district_runs

    tasks = [SweepTask("p.toml", d, f"s{i}", "[]", (10.0,)) for i, d in enumerate("AABAAAAB")]
    runs = district_runs(tasks, 2)
    assert [(first, [t.scenario for t in part]) for first, part in runs] == [
        (0, ["s0", "s1"]), (2, ["s2", "s7"]), (3, ["s3", "s4"]), (5, ["s5", "s6"])]  # fmt: skip
    # Balanced: 5 tasks in runs of at most 4 are 3 + 2, not 4 + 1.
    five = [SweepTask("p.toml", "A", f"s{i}", "[]", (10.0,)) for i in range(5)]
    assert [len(p) for _, p in district_runs(five, 4)] == [3, 2]
    assert sum(len(p) for _, p in district_runs(tasks, 1)) == len(tasks)
    with pytest.raises(PinganError, match="chunk"):
        district_runs(tasks, 0)


def test_the_sweep_command_writes_tables_and_a_manifest(spec, province, tmp_path, cache):
    from service.cli import main

    sweep = sweep_file(tmp_path, spec, n=2)
    out = tmp_path / "out"
    rc = main(["sweep", str(sweep), "--area", str(province.province), "--serial", "-q",
               "--out", str(out), "--cache-dir", str(cache)])  # fmt: skip
    assert rc == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["finished"] == m["tasks"] and not m["failed"] and not m["not_finished"]
    cov = pd.read_csv(out / "coverage.csv", dtype={"code": str})
    v = pd.read_csv(province.villages, dtype={"code": str})
    assert sorted(cov["code"]) == sorted(v["code"])  # each village once, by its district
    summary = pd.read_csv(out / "summary.csv", dtype={"district": str})
    assert {"scenario", "district", "gained_30", "border_inexact"} <= set(summary.columns)


def test_a_failing_task_is_reported_by_district_and_scenario(spec, province, tmp_path, cache):
    from service.cli import main

    p = tmp_path / "sweep.json"
    p.write_text(json.dumps({"scenarios": [
        {"name": "gone", "edits": [{"op": "remove_station", "id": "no-such-station"}],
         "districts": [spec.districts[1].code]}]}))  # fmt: skip
    out = tmp_path / "out"
    rc = main(["sweep", str(p), "--area", str(province.province), "--serial", "-q",
               "--out", str(out), "--cache-dir", str(cache)])  # fmt: skip
    assert rc == 1
    m = json.loads((out / "manifest.json").read_text())
    assert m["not_finished"] == [f"{spec.districts[1].code}/gone"]
    (fail,) = m["failed"]
    assert fail["district"] == spec.districts[1].code and fail["scenario"] == "gone"
    assert "no-such-station" in fail["error"]
    assert m["finished"] == len(spec.districts)  # the districts' own coverage still ran


def test_run_task_is_deterministic(serial_rows):
    tasks, out = serial_rows
    forget_districts()
    t = tasks[-1]
    again = run_task(t)
    assert again.summary == out.rows[t.key].summary
    pd.testing.assert_frame_equal(again.villages, out.rows[t.key].villages)


def test_the_area_spec_of_a_district_is_the_window(spec):
    d = spec.districts[0]
    w = spec.window(d.code)
    assert w[0] < d.bounds[0] and w[2] > d.bounds[2] and w[1] < d.bounds[1] and w[3] > d.bounds[3]
    assert isinstance(spec.area, AreaSpec)


def test_the_hotspot_report_is_every_district_on_its_own_incidents(spec, province, tmp_path, cache):
    """`pingan sweep --hotspots` with no sweep file: the coverage report and each
    district's hot spots, each row inside its own district, each incident counted once."""
    from service.cli import main

    out = tmp_path / "report"
    rc = main(["sweep", "--area", str(province.province), "--serial", "--hotspots", "-q",
               "--out", str(out), "--cache-dir", str(cache)])  # fmt: skip
    assert rc == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["tasks"] == 2 * len(spec.districts) and m["finished"] == m["tasks"]
    per = pd.read_csv(out / "hotspots_summary.csv", dtype={"district": str}).set_index("district")
    inc = pd.read_csv(province.incidents, dtype={"district_code": str})
    assert per["incidents"].to_dict() == inc["district_code"].value_counts().to_dict()
    hot = pd.read_csv(out / "hotspots.csv", dtype={"district": str})
    assert len(hot) and set(hot["kind"]) <= {"cell", "road"}
    for d in spec.districts:
        mine = hot[hot["district"] == d.code]
        w, s, e, n = d.bounds
        assert ((mine["lon"] >= w - 0.01) & (mine["lon"] <= e + 0.01)).all()
        assert ((mine["lat"] >= s - 0.01) & (mine["lat"] <= n + 0.01)).all()
        assert (mine["incidents"] <= per.loc[d.code, "incidents"]).all()
    cov = pd.read_csv(out / "coverage.csv", dtype={"code": str})
    assert len(cov) == len(pd.read_csv(province.villages))


def test_a_worker_lets_go_of_the_districts_it_no_longer_keeps_warm(spec, cache, monkeypatch):
    """Only the last WARM_DISTRICTS areas (and their base coverage) stay in memory, so a
    worker's memory is bounded however many districts pass through it."""
    import gc
    import weakref

    import geo.province as gp

    forget_districts()
    monkeypatch.setattr(gp, "WARM_DISTRICTS", 1)
    first, second = (d.code for d in spec.districts[:2])
    task = next(t for t in plan_sweep(spec, (), THRESHOLDS, cache_dir=cache) if t.district == first)
    run_task(task)
    gone = weakref.ref(district_area(spec, first, cache_dir=cache))
    assert len(gp._bases) == 1
    district_area(spec, second, cache_dir=cache)
    gc.collect()
    assert gone() is None and len(gp._bases) == 0


def test_dispatch_keeps_districts_warm_then_starts_new_ones_then_shares():
    from service.dispatch import Dispatch, district_runs

    tasks = [SweepTask("p.toml", d, f"s{i}", "[]", (10.0,)) for i, d in enumerate("AAAAAAB")]
    plan = Dispatch(district_runs(tasks, 2))  # A: 3 runs (3 of 2, 2, 2), B: 1
    assert plan.next_for("w1")[1][0].district == "A"  # nobody's: the first district
    assert plan.next_for("w2")[1][0].district == "B"  # A is w1's: w2 starts B
    assert plan.next_for("w2")[1][-1].scenario == "s5"  # B is done: w2 takes A's last run
    assert plan.next_for("w1")[1][0].scenario == "s2"  # w1 goes on with A, in order
    assert plan.next_for("w2") is None and len(plan) == 0
