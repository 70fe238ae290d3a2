"""The patrol planner on the sample district: the invariants every plan must keep."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import PatrolError
from geo.patrol import (
    PatrolParams,
    Shift,
    TargetParams,
    Units,
    patrol_targets,
    plan_patrols,
    plan_variants,
)

# Iterations bind before the seconds do, so plans are the same on any machine.
FAST = PatrolParams(seconds=30, iterations=1500, seed=3)
SHIFT = Shift.parse("20:00-02:00")


@pytest.fixture(scope="module")
def area(sample_full_area):
    return sample_full_area


@pytest.fixture(scope="module")
def targets(area):
    from service.night import dark_road_risk
    from service.patrol import _night_hotspots

    hot = _night_hotspots(area)
    risk = dark_road_risk(area)
    code = str(area.villages["code"].iloc[7])
    return patrol_targets(
        area, hotspots=hot, risk=risk, villages=[code], params=TargetParams(hotspots=25)
    )


@pytest.fixture(scope="module")
def units():
    return [
        Units(station="PS-01", count=2, shift=SHIFT),
        Units(station="PS-03", count=1, shift=SHIFT),
    ]


@pytest.fixture(scope="module")
def plan(area, units, targets):
    return plan_patrols(area, units, targets, FAST)


def _stops(plan):
    return plan.stops.sort_values(["unit", "seq"], kind="stable")


def test_targets_have_every_kind(targets):
    """The sample's analyses give hot spots with revisits, dark roads and the village asked for."""
    kinds = set(targets["kind"])
    assert kinds == {"hotspot", "road", "village"}
    assert targets.loc[targets["kind"] == "road", "required"].all()
    assert (targets["revisit_min"] > 0).sum() == 5


def test_routes_start_and_end_at_their_depot(plan, area):
    """Every unit leaves its own station and comes back to it; its track does too."""
    st = area.stations.set_index("id")
    for unit, g in _stops(plan).groupby("unit"):
        station = g["station"].iloc[0]
        assert unit.startswith(station)
        assert g["kind"].iloc[0] == g["kind"].iloc[-1] == "station"
        assert g["target"].iloc[0] == g["target"].iloc[-1] == station
        route = plan.routes.set_index("unit").geometry.get(unit)
        if route is not None:
            where = st.geometry[station]
            ends = shapely.points(np.asarray(route.coords)[[0, -1]])
            # The track starts on the road nearest the station.
            assert (shapely.distance(ends, where) < 500).all()


def test_no_unit_exceeds_its_shift(plan):
    """Every unit is back by the end of the shift and out no longer than it."""
    assert (plan.units["back_s"] <= SHIFT.seconds + 1e-6).all()
    assert (plan.units["minutes"] <= SHIFT.seconds / 60 + 1e-6).all()
    assert (plan.stops["depart_s"] <= SHIFT.seconds + 1e-6).all()


def test_every_required_road_is_driven(plan, targets, area):
    """Every required dark road is driven end to end, by exactly one unit, once."""
    roads = targets[targets["kind"] == "road"]
    s = plan.stops
    twin = np.asarray(area.engine().twin)
    driven = set(np.concatenate(plan.edges).tolist())
    for _, r in roads.iterrows():
        assert (s["target"] == r["id"]).sum() == 1, r["id"]
        e = int(r["edge"])
        key = min(e, twin[e]) if twin[e] >= 0 else e
        assert key in driven


def test_required_villages_are_visited(plan, targets):
    """A village that asked for a visit gets one."""
    for vid in targets.loc[targets["kind"] == "village", "id"]:
        assert (plan.stops["target"] == vid).sum() == 1


def test_times_are_engine_times_plus_dwell(plan, area):
    """Each arrival is the last departure plus the engine's time of the leg; each departure
    the start plus the dwell (and the break); no dwell starts before its arrival."""
    eng = area.engine()
    for _, g in _stops(plan).groupby("unit"):
        a, b, d = (g[c].to_numpy() for c in ("arrive_s", "start_s", "depart_s"))
        travel = g["travel_s"].to_numpy()
        np.testing.assert_allclose(a[1:], d[:-1] + travel[1:], atol=1e-6)
        np.testing.assert_allclose(
            d, b + 60 * (g["dwell_min"] + g["break_min"]).to_numpy(), atol=1e-6
        )
        assert (b >= a - 1e-9).all()
    # Legs between two point stops match a fresh engine query between the same points.
    s = _stops(plan)
    pts = s[s["kind"].isin(["hotspot", "village"])]
    for unit, g in pts.groupby("unit"):
        seq = g["seq"].to_numpy()
        for i in range(1, len(g)):
            if seq[i] != seq[i - 1] + 1:
                continue
            snap = eng.snap.snap_geometries(g.geometry.iloc[i - 1 : i + 1])
            loc = eng.at_edges(snap.edge, snap.along_m, snap.distance_m)
            tt = eng.matrix(loc, loc).seconds[0, 1]
            assert g["travel_s"].iloc[i] == pytest.approx(tt, rel=1e-9, abs=1e-6), unit


def test_revisits_keep_their_gap(plan, targets):
    """Two visits to a hot spot are at least its revisit gap apart, whichever unit makes them."""
    gap = targets.set_index("id")["revisit_min"]
    s = plan.stops[plan.stops["kind"] == "hotspot"]
    revisited = 0
    for tid, g in s.groupby("target"):
        starts = np.sort(g["start_s"].to_numpy())
        if len(starts) > 1:
            revisited += 1
            assert np.diff(starts).min() >= gap[tid] * 60 - 1e-6
        assert len(starts) == 1 or np.isfinite(gap[tid])
    assert revisited >= 1  # the 6-hour shift comes back to the hottest places


def test_time_windows_are_respected(area, units, targets):
    """A hot spot open only 23:00-01:00 is visited inside that window or left out saying so."""
    t = targets.copy()
    hot = t.index[t["kind"] == "hotspot"][:6]
    t.loc[hot, "window"] = "23:00-01:00"
    t.loc[hot[-1], "window"] = "10:00-12:00"  # never during a night shift
    plan = plan_patrols(area, units, t, FAST)
    lo, hi = SHIFT.window("23:00-01:00", "w")
    s = plan.stops
    windowed = s[s["target"].isin(t.loc[hot[:-1], "id"])]
    assert len(windowed)
    assert ((windowed["start_s"] >= lo - 1e-6) & (windowed["start_s"] <= hi + 1e-6)).all()
    left = plan.left_out.set_index("target")
    assert left.loc[t.loc[hot[-1], "id"], "reason"].startswith("outside its window")


def test_same_seed_same_plan(area, units, targets, plan):
    """Planning twice with the same seed and iteration budget gives the same plan."""
    again = plan_patrols(area, units, targets, FAST)
    cols = ["unit", "seq", "target", "arrive_s", "depart_s"]
    pd.testing.assert_frame_equal(pd.DataFrame(again.stops[cols]), pd.DataFrame(plan.stops[cols]))


def test_left_out_says_why(area, targets):
    """Every target is either visited or listed as left out, with a reason."""
    short = [Units(station="PS-01", count=1, shift=Shift.parse("20:00-21:30"))]
    plan = plan_patrols(area, short, targets[targets["kind"] == "hotspot"], FAST)
    assert len(plan.left_out)
    visited = set(plan.stops["target"])
    left = set(plan.left_out["target"])
    assert visited | left >= set(targets.loc[targets["kind"] == "hotspot", "id"])
    assert not (visited & left)
    assert plan.left_out["reason"].str.startswith(("no time", "unreachable", "outside")).all()


def test_balance_shortens_the_longest_route(area, targets):
    """Balancing keeps the same visits and makes the longest route no longer."""
    u = [Units(station="PS-01", count=3, shift=SHIFT)]
    t = targets[targets["kind"] == "hotspot"].head(12)
    plain = plan_patrols(area, u, t, FAST)
    bal = plan_patrols(area, u, t, PatrolParams(seconds=30, iterations=1500, seed=3, balance=True))
    assert bal.prize == pytest.approx(plain.prize)
    assert bal.units["minutes"].max() <= plain.units["minutes"].max() + 1e-6


@pytest.fixture(scope="module")
def choice(area):
    """Two units, three hours, 40 hot spots: more places than time, so plans can differ."""
    from service.patrol import _night_hotspots

    t = patrol_targets(area, hotspots=_night_hotspots(area), params=TargetParams(40, revisit=0))
    return [Units(station="PS-01", count=2, shift=Shift.parse("20:00-23:00"))], t


def test_variants_differ_and_stay_near_the_best(area, choice):
    """K=3 variants each keep 97 % of the best prize and differ in the hot spots visited."""
    units, targets = choice
    v = plan_variants(area, units, targets, FAST, variants=3, min_share=0.97, min_distance=0.25)
    assert v.distance_met
    assert len(v.plans) == 3
    assert (v.relative >= 0.97 - 1e-9).all()
    iu = np.triu_indices(3, 1)
    assert (v.hotspot_jaccard[iu] >= 0.25 - 1e-9).all()
    assert v.mean_jaccard[0] > 0


def test_recent_shifts_change_tonight(area, choice):
    """Penalising last night's roads and hot spots gives a plan that overlaps it less than
    the same search without the penalty (a new seed alone)."""
    from dataclasses import replace

    from geo.patrol import jaccard_distance

    units, targets = choice
    last = plan_patrols(area, units, targets, FAST)
    other_seed = plan_patrols(area, units, targets, replace(FAST, seed=99))
    tonight = plan_patrols(area, units, targets, replace(FAST, seed=99), recent=[last.as_past()])
    d_seed = jaccard_distance(last.hotspots_visited, other_seed.hotspots_visited)
    d_recent = jaccard_distance(last.hotspots_visited, tonight.hotspots_visited)
    assert d_recent > d_seed
    assert jaccard_distance(last.roads_driven, tonight.roads_driven) > 0.2


def test_a_recent_plan_of_another_network_is_refused(area, units, targets, plan):
    """Road keys from another network mean nothing here: refused, not silently used."""
    from dataclasses import replace

    other = replace(plan.as_past(), network="car:0000:1:1")
    with pytest.raises(PatrolError, match="another road network"):
        plan_patrols(area, units, targets, FAST, recent=[other])


def test_shift_shorter_than_nearest_trip_is_an_error(area, targets):
    """A 5-minute shift reaches no target: the error says so and how long the trip is."""
    u = [Units(station="PS-01", count=1, shift=Shift.parse("20:00-20:05"))]
    t = targets[targets["kind"] == "hotspot"]
    with pytest.raises(PatrolError, match=r"no target can be served.*nearest target and back"):
        plan_patrols(area, u, t, FAST)


def test_required_target_out_of_reach_is_named(area, targets):
    """A required road that cannot be driven within the shift is named in the error."""
    u = [Units(station="PS-01", count=1, shift=Shift.parse("20:00-20:20"))]
    with pytest.raises(PatrolError, match=r"required target D-\d+"):
        plan_patrols(area, u, targets, FAST)


def test_depot_off_the_network_is_an_error(area, targets):
    """A station 20 km from any road is off the network: the error names it and the distance."""
    st = area.stations.copy()
    far = shapely.affinity.translate(st.geometry.iloc[0], 20_000, 20_000)
    st = pd.concat(
        [
            st,
            gpd.GeoDataFrame(
                {"id": ["FAR"], "name": ["远"], "kind": ["post"]}, geometry=[far], crs=st.crs
            ),
        ],
        ignore_index=True,
    )
    moved = area.with_layers(stations=gpd.GeoDataFrame(st, geometry="geometry", crs=area.crs))
    with pytest.raises(PatrolError, match=r"station 'FAR' is [\d,]+ m from the nearest car road"):
        plan_patrols(moved, [Units(station="FAR", shift=SHIFT)], targets, FAST)


def test_unknown_station_is_named(area, targets):
    """A station id the layer does not have is an error listing the ids it does have."""
    with pytest.raises(PatrolError, match=r"station 'S9' is not in the stations layer.*PS-01"):
        plan_patrols(area, [Units(station="S9", shift=SHIFT)], targets, FAST)


@pytest.mark.parametrize(
    ("text", "match"),
    [("20:00", "HH:MM-HH:MM"), ("25:00-02:00", "24-hour"), ("20:00-20:00", "no length")],
)
def test_bad_shift_is_named(text, match):
    """A malformed or empty shift is refused with what is wrong."""
    with pytest.raises(PatrolError, match=match):
        Shift.parse(text)


def test_night_shift_crosses_midnight():
    """20:00-02:00 lasts six hours and a 23:00-01:00 window falls 3 h to 5 h into it."""
    s = Shift.parse("20:00-02:00")
    assert s.seconds == 6 * 3600
    assert s.window("23:00-01:00", "w") == (3 * 3600, 5 * 3600)
    assert s.window("19:00-06:00", "w") == (0, 6 * 3600)
    lo, hi = s.window("10:00-12:00", "w")
    assert lo > hi


def test_break_is_taken_in_its_window_and_the_unit_is_back_in_time(area, targets):
    """A 30-minute break starts inside its window at a stop, and the unit is still back by
    the end of the shift with every window kept."""
    u = [
        Units(
            station="PS-01",
            count=2,
            shift=SHIFT,
            break_min=30,
            break_window="23:00-00:30",
        )
    ]
    plan = plan_patrols(area, u, targets[targets["kind"] == "hotspot"], FAST)
    lo, hi = SHIFT.window("23:00-00:30", "w")
    s = plan.stops
    taken = s[s["break_min"] > 0]
    assert set(taken["unit"]) == {"PS-01-1", "PS-01-2"}
    assert (taken["break_min"] == 30).all()
    # The break follows the stop's dwell: it starts at depart - 30 min.
    starts = taken["depart_s"] - 30 * 60
    inside = (starts >= lo - 1e-6) & (starts <= hi + 1e-6)
    last = taken["kind"] == "station"
    assert (inside | last).all()
    assert (plan.units["back_s"] <= SHIFT.seconds + 1e-6).all()
    assert plan.units["break_at"].str.len().gt(0).all()
