"""Scenarios: edits, evaluation, comparison, JSON round trip, bad edits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from geo.scenarios import (
    BaseData,
    Edit,
    Scenario,
    ScenarioError,
    apply_edits,
    compare,
    evaluate,
    lit_km,
    load_inputs,
    load_scenario,
    save_scenario,
)


@pytest.fixture(scope="module")
def base(sample_files):
    return Scenario(
        name="base",
        base=BaseData(
            osm=str(sample_files.roads),
            villages=str(sample_files.villages),
            stations=str(sample_files.stations),
            teams=str(sample_files.teams),
        ),
    )


@pytest.fixture(scope="module")
def inputs(base):
    return load_inputs(base)


@pytest.fixture(scope="module")
def base_result(base, inputs):
    return evaluate(base, inputs=inputs)


def with_edits(base, *edits, name="edited"):
    return Scenario(name=name, base=base.base, edits=tuple(edits))


def test_closing_a_station_never_makes_a_village_better_off(base, inputs, base_result):
    for sid in inputs.stations["id"]:
        res = evaluate(with_edits(base, Edit("remove_station", {"id": sid})), inputs=inputs)
        cmp = compare(base_result, res)
        v = cmp.villages
        worse_or_same = (v["minutes_b"] >= v["minutes_a"] - 1e-9) | v["minutes_b"].isna()
        assert worse_or_same.all(), sid
        assert (cmp.summary["gained"] == 0).all()
        # The station's own catchment is what loses.
        assert set(v.loc[v["facility_a"] == sid, "facility_b"]).isdisjoint({sid})


def test_closing_roads_or_slowing_them_never_helps(base, inputs, base_result):
    e = inputs.net.edges
    busiest = e.loc[e["highway"] == "primary", "osmid"].unique()[:3].tolist()
    for edit in (
        Edit("close_road", {"osm_ways": busiest}),
        Edit("set_speed", {"osm_ways": busiest, "kmh": 10}),
        Edit("set_speed", {"edges": [0, 1, 2], "factor": 0.5}),
    ):
        res = evaluate(with_edits(base, edit), inputs=inputs)
        v = compare(base_result, res).villages
        assert ((v["minutes_b"] >= v["minutes_a"] - 1e-9) | v["minutes_b"].isna()).all()
    closed = evaluate(with_edits(base, Edit("close_road", {"osm_ways": busiest})), inputs=inputs)
    assert closed.closed_km > 0


def test_a_new_post_never_makes_anything_worse_and_helps_its_village(base, inputs, base_result):
    v = base_result.stations.villages
    worst = v.sort_values("minutes", ascending=False).iloc[0]
    row = inputs.villages[inputs.villages["code"] == worst["code"]].iloc[0]
    edit = Edit(
        "add_station",
        {"id": "P-NEW", "name": "新警务室", "kind": "post", "lon": row["lon"], "lat": row["lat"]},
    )
    res = evaluate(with_edits(base, edit), inputs=inputs)
    cmp = compare(base_result, res)
    assert (cmp.villages["minutes_b"] <= cmp.villages["minutes_a"] + 1e-9).all()
    mine = cmp.villages.set_index("code").loc[worst["code"]]
    assert mine["facility_b"] == "P-NEW"
    assert mine["minutes_b"] < mine["minutes_a"]
    assert res.n_stations == base_result.n_stations + 1


def test_lamps_change_lit_status_but_no_travel_time(base, inputs, base_result):
    e = inputs.net.edges
    dark = e.loc[e["lit"] == "no", "osmid"].unique()[:4].tolist()
    res = evaluate(with_edits(base, Edit("mark_lit", {"osm_ways": dark})), inputs=inputs)
    cmp = compare(base_result, res)
    np.testing.assert_array_equal(cmp.villages["minutes_a"], cmp.villages["minutes_b"])
    assert (cmp.summary["gained"] == 0).all() and (cmp.summary["lost"] == 0).all()
    gain = cmp.lit_km.loc["yes", "delta"]
    assert gain > 0
    assert cmp.lit_km.loc["no", "delta"] == pytest.approx(-gain, abs=2e-3)  # each rounded
    edited = apply_edits(inputs, [Edit("mark_lit", {"osm_ways": dark})])
    cols = ["travel_time_s", "time_car_s", "time_foot_s", "length_m"]
    assert edited.net.edges[cols].equals(inputs.net.edges[cols])
    assert (inputs.net.edges["lit"] == e["lit"]).all()  # the base is untouched


def test_team_edits_and_team_coverage(base, inputs, base_result):
    assert base_result.teams is not None
    tid = inputs.teams["id"].iloc[0]
    moved = evaluate(
        with_edits(base, Edit("move_team", {"id": tid, "lon": 114.35, "lat": 31.02})),
        inputs=inputs,
    )
    removed = evaluate(with_edits(base, Edit("remove_team", {"id": tid})), inputs=inputs)
    assert removed.n_teams == base_result.n_teams - 1
    c = compare(base_result, removed, by="teams")
    assert (c.summary["gained"] == 0).all()
    assert compare(base_result, moved, by="teams").villages["delta_min"].abs().sum() > 0


def test_scenario_json_round_trip(tmp_path, sample_files):
    sc = Scenario(
        name="灯",
        base=BaseData(
            osm="../sample/roads.osm",
            villages="../sample/villages.csv",
            stations="../sample/stations.geojson",
        ),
        edits=(
            Edit("mark_lit", {"edges": [1, 2]}),
            Edit("mark_lit", {"stretches": [{"road": 7, "from_m": 17.5, "to_m": 122.5}]}),
            Edit("remove_station", {"id": "PS-01"}),
        ),
        thresholds_min=(10, 20),
    )
    path = save_scenario(sc, tmp_path / "scenarios" / "lamps.json")
    back = load_scenario(path)
    assert back.to_dict() == sc.to_dict()
    assert back.edits == sc.edits
    assert '"from_m": 17.5' in path.read_text(encoding="utf-8")
    assert back.resolve(back.base.osm) == tmp_path / "scenarios" / ".." / "sample" / "roads.osm"


def test_bad_edits_give_clear_errors(base, inputs, tmp_path):
    n = len(inputs.net.edges)
    cases = [
        (Edit("remove_station", {"id": "PS-99"}), "unknown station id 'PS-99'"),
        (Edit("move_team", {"id": "nope", "lon": 114.3, "lat": 31.0}), "unknown team id"),
        (Edit("close_road", {"edges": [n + 5]}), f"edge id\\(s\\) \\[{n + 5}\\] not in the graph"),
        (Edit("mark_lit", {"osm_ways": [999999999]}), "OSM way\\(s\\) 999999999 not in"),
        (
            Edit("add_station", {"id": inputs.stations["id"].iloc[0], "lon": 114.3, "lat": 31}),
            "already exists",
        ),
    ]
    for edit, pattern in cases:
        with pytest.raises(ScenarioError, match=pattern):
            apply_edits(inputs, [edit])
    with pytest.raises(ScenarioError, match="unknown edit op 'demolish'"):
        Edit("demolish", {})
    with pytest.raises(ScenarioError, match="exactly one of 'edges', 'osm_ways' or 'roads'"):
        Edit("close_road", {})
    with pytest.raises(ScenarioError, match="'kmh' must be a positive number"):
        Edit("set_speed", {"edges": [1], "kmh": -3})
    with pytest.raises(ScenarioError, match="lacks field\\(s\\) lon, lat"):
        Edit("add_station", {"id": "X"})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "base": {"osm": "a.osm"}}), encoding="utf-8")
    with pytest.raises(ScenarioError, match="'base.villages' must be a path"):
        load_scenario(bad)
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid JSON \\(line 1"):
        load_scenario(bad)
    edits = {
        "name": "x",
        "base": {"osm": "a", "villages": "b", "stations": "c"},
        "edits": [{"op": "close_road", "edges": [1]}, {"op": "fly"}],
    }
    bad.write_text(json.dumps(edits), encoding="utf-8")
    with pytest.raises(ScenarioError, match="edit 1: unknown edit op 'fly'"):
        load_scenario(bad)


def dark_roads(inputs, n=2, min_m=200.0):
    """The first n roads of the road view surveyed unlit and longer than min_m."""
    roads = inputs.roads
    return [int(r) for r in np.flatnonzero((roads.lit == "no") & (roads.length_m > min_m))[:n]]


def test_a_lit_stretch_counts_by_its_length_not_the_whole_road(base, inputs, base_result):
    """Marking part of a road lit moves exactly that many metres to lit, in the scenario
    result too; the road keeps its class and no travel time changes."""
    r, _ = dark_roads(inputs)
    edit = Edit("mark_lit", {"stretches": [{"road": r, "from_m": 20.0, "to_m": 145.5}]})
    edited = apply_edits(inputs, [edit])
    before, after = lit_km(inputs.roads), lit_km(edited.roads)
    assert after["yes"] - before["yes"] == pytest.approx(0.1255, abs=1e-12)
    assert after["no"] - before["no"] == pytest.approx(-0.1255, abs=1e-12)
    assert after["unknown"] == pytest.approx(before["unknown"], abs=1e-12)
    assert edited.roads.lit[r] == "no"  # lit in part, not as a whole
    cols = ["travel_time_s", "time_car_s", "time_foot_s", "length_m"]
    assert edited.net.edges[cols].equals(inputs.net.edges[cols])
    res = evaluate(with_edits(base, edit), inputs=inputs)
    assert res.lit_km["yes"] - base_result.lit_km["yes"] == pytest.approx(0.1255, abs=1.5e-3)
    cmp = compare(base_result, res)
    np.testing.assert_array_equal(cmp.villages["minutes_a"], cmp.villages["minutes_b"])
    # The other direction holds the same stretch, measured from its own start.
    e = edited.roads.net.edges
    length = inputs.roads.length_m[r]
    assert e.at[int(inputs.roads.edge[r]), "lit_stretches"] == ((20.0, 145.5),)
    twin = int(inputs.roads.twin[r])
    if twin >= 0:
        (back,) = e.at[twin, "lit_stretches"]
        assert back == pytest.approx((length - 145.5, length - 20.0))


def test_stretches_join_and_a_road_lit_end_to_end_is_lit(inputs):
    """Overlapping stretches, within one edit or across edits, count once; stretches
    covering a whole road make it lit = yes, like naming the road."""
    r, s = dark_roads(inputs)
    length = float(inputs.roads.length_m[s])
    edits = [
        Edit(
            "mark_lit",
            {
                "stretches": [
                    {"road": r, "from_m": 0, "to_m": 50},
                    {"road": r, "from_m": 40, "to_m": 90},
                    {"road": s, "from_m": 0, "to_m": length / 2},
                ]
            },
        ),
        Edit(
            "mark_lit",
            {
                "stretches": [
                    {"road": r, "from_m": 85, "to_m": 100},
                    {"road": s, "from_m": length / 3, "to_m": round(length, 2)},
                ]
            },
        ),
    ]
    edited = apply_edits(inputs, edits)
    gain = lit_km(edited.roads)["yes"] - lit_km(inputs.roads)["yes"]
    # Road r: [0, 100] once; road s: all of it (its end is written to the centimetre).
    assert gain == pytest.approx((100 + length) / 1000, abs=1e-9)
    assert edited.roads.lit[s] == "yes" and edited.roads.lit[r] == "no"
    by_name = apply_edits(inputs, [Edit("mark_lit", {"roads": [s]})])
    by_stretch = apply_edits(
        inputs, [Edit("mark_lit", {"stretches": [{"road": s, "from_m": 0, "to_m": length}]})]
    )
    assert lit_km(by_stretch.roads) == lit_km(by_name.roads)
    assert (by_stretch.net.edges["lit"] == by_name.net.edges["lit"]).all()
    routing = inputs.roads.routing_edges([s])
    assert (edited.net.edges.loc[routing, "lit"] == "yes").all()


def test_bad_stretch_edits_give_clear_errors(inputs):
    """Each malformed stretch is refused, and the message names what is wrong."""
    n = len(inputs.roads)
    r, _ = dark_roads(inputs)
    length = float(inputs.roads.length_m[r])

    def lit(**st):
        return {"stretches": [{"road": r, "from_m": 0.0, "to_m": 10.0, **st}]}

    for fields, pattern in [
        (lit(from_m=30.0, to_m=20.0), "stretch 0: from_m 30.0 must be less than to_m 20.0"),
        (lit(from_m=20.0, to_m=20.0), "must be less than to_m"),
        (lit(from_m=-1.0), "from_m -1.0 is before the road's start"),
        (lit(to_m="far"), "'to_m' must be a number of metres, got 'far'"),
        (lit(to_m=float("nan")), "'to_m' must be a number of metres"),
        (lit(road=True), "'road' must be a road number"),
        (lit(road=-3), "'road' must be a road number"),
        ({"stretches": [{"road": r, "from_m": 0}]}, "must have exactly 'road', 'from_m'"),
        ({"stretches": []}, "'stretches' must be a non-empty list"),
        ({"stretches": [], "roads": [r]}, "exactly one of 'edges', 'osm_ways', 'roads' or"),
    ]:
        with pytest.raises(ScenarioError, match=pattern):
            Edit("mark_lit", fields)
    with pytest.raises(ScenarioError, match="'stretches' \\(parts of roads\\) only apply"):
        Edit("close_road", lit())
    for fields, pattern in [
        (lit(road=n + 4), f"stretch 0: road {n + 4} not in the area's road view"),
        (lit(to_m=length + 5), f"to_m {length + 5:g} is beyond the end of road {r}"),
    ]:
        with pytest.raises(ScenarioError, match=pattern):
            apply_edits(inputs, [Edit("mark_lit", fields)])
