"""Need scores, the choice of villages and the team assignment on the area."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from geo.errors import TeamError
from geo.teams.measures import MeasureParams, measure_villages
from geo.teams.plan import TeamParams, assign_teams
from geo.teams.score import NeedWeights, score_needs
from geo.teams.select import Selection, SelectParams, select_villages


def measures(n: int = 6, seed: int = 0) -> pd.DataFrame:
    """A hand-made measures table: n villages in two townships of two districts."""
    rng = np.random.default_rng(seed)
    town = [f"42019910{k % 2}" if k < n // 2 else f"42019810{k % 2}" for k in range(n)]
    return pd.DataFrame(
        {
            "code": [f"{t}{200 + k:03d}" for k, t in enumerate(town)],
            "name": [f"V{k}" for k in range(n)],
            "kind": "village",
            "township_code": town,
            "township": [f"T{t[-4:]}" for t in town],
            "district_code": [t[:6] for t in town],
            "district": [f"D{t[:6]}" for t in town],
            "station_min": rng.uniform(2, 40, n),
            "station": "PS-01",
            "station_name": "甲派出所",
            "seat_min": rng.uniform(2, 40, n),
            "seat": "甲派出所",
            "road_km": rng.uniform(1, 10, n),
            "dark_km": rng.uniform(0, 1, n),
            "unlit_km": 0.0,
            "incidents": rng.integers(0, 50, n).astype(float),
            "disputes": rng.integers(0, 10, n).astype(float),
            "residents": rng.integers(200, 3000, n).astype(float),
            "has_officer": rng.integers(0, 2, n).astype(float),
        }
    )


def test_parts_have_the_documented_scales() -> None:
    """Station and seat parts are shares of the longest trip; dark the dark share of road."""
    m = measures()
    t = score_needs(m).table
    np.testing.assert_allclose(t["p_station"], m["station_min"] / m["station_min"].max())
    np.testing.assert_allclose(t["p_seat"], m["seat_min"] / m["seat_min"].max())
    np.testing.assert_allclose(t["p_dark"], m["dark_km"] / m["road_km"])
    np.testing.assert_allclose(t["p_officer"], 1 - m["has_officer"])
    rate = 1000 * m["incidents"] / m["residents"]
    np.testing.assert_allclose(t["p_incidents"], np.clip(rate / np.percentile(rate, 95), 0, 1))


def test_score_is_the_weighted_mean_of_the_parts() -> None:
    """score = 100 * sum(w * part) / sum(w), by hand for one village."""
    w = NeedWeights(station=1, seat=0, dark=1, incidents=0, officer=2)
    t = score_needs(measures(), w).table
    want = 100 * (t["p_station"] + t["p_dark"] + 2 * t["p_officer"]) / 4
    np.testing.assert_allclose(t["score"], want.round(3), atol=1e-9)


def test_farther_from_every_station_never_scores_less() -> None:
    """Two villages equal but for station minutes: the farther one scores at least as high."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        m = measures(8, seed=int(rng.integers(1_000)))
        i, j = rng.choice(len(m), 2, replace=False)
        for col in m.columns:
            if col not in ("code", "name"):
                m.at[j, col] = m.at[i, col]
        m.at[j, "station_min"] = m.at[i, "station_min"] + rng.uniform(0.1, 30)
        t = score_needs(m).table
        assert t.at[j, "score"] >= t.at[i, "score"]
        # The same village moved farther out never loses either.
        m2 = m.copy()
        m2.at[i, "station_min"] += 10
        assert score_needs(m2).table.at[i, "score"] >= t.at[i, "score"] - 1e-9


def test_unreachable_villages_are_most_remote_and_say_so() -> None:
    """No road from any station gives the station part 1, named in the sentence."""
    m = measures()
    m.loc[2, "station_min"] = np.nan
    t = score_needs(m).table
    assert t.at[2, "p_station"] == 1.0
    assert "no road from any station" in t.at[2, "why"]
    # ... but no team could drive there: the selection passes it over, saying why.
    sel = select_villages(score_needs(m), SelectParams(), 3)
    assert str(m.at[2, "code"]) not in sel.codes
    assert "no road route" in sel.passed.loc[sel.passed["code"] == m.at[2, "code"], "reason"].item()
    pinned = select_villages(score_needs(m), SelectParams(pins=(str(m.at[2, "code"]),)), 3)
    assert str(m.at[2, "code"]) in pinned.codes


def test_parts_no_village_has_drop_out_with_their_weight() -> None:
    """Without officer data the officer weight leaves every score, and that is said."""
    m = measures()
    m["has_officer"] = np.nan
    s = score_needs(m)
    assert "officer" in s.missing
    t = s.table
    w = NeedWeights()
    parts = ["station", "seat", "dark", "incidents"]
    want = 100 * sum(getattr(w, k) * t[f"p_{k}"] for k in parts) / sum(getattr(w, k) for k in parts)
    np.testing.assert_allclose(t["score"], want.round(3), atol=1e-9)


def test_weights_parse_and_refuse_bad_text() -> None:
    """'station=0.5' keeps the other defaults; unknown parts and negatives are named."""
    assert NeedWeights.parse("station=0.5").station == 0.5
    assert NeedWeights.parse("station=0.5").dark == NeedWeights().dark
    with pytest.raises(TeamError, match="'lamps=1'"):
        NeedWeights.parse("lamps=1")
    with pytest.raises(TeamError, match="'station'"):
        NeedWeights(station=-1)


def _brute_best(scores: np.ndarray, town: np.ndarray, n: int, cap: int) -> float:
    best = -1.0
    for combo in itertools.combinations(range(len(scores)), n):
        _, counts = np.unique(town[list(combo)], return_counts=True)
        if counts.max() <= cap:
            best = max(best, float(scores[list(combo)].sum()))
    return best


def test_selection_with_township_caps_is_optimal() -> None:
    """Greedy under township caps reaches the brute-force best total need."""
    rng = np.random.default_rng(5)
    for _ in range(30):
        m = measures(9, seed=int(rng.integers(1_000)))
        m["township_code"] = rng.choice(["420199100", "420199101", "420199102"], len(m))
        s = score_needs(m)
        sel = select_villages(s, SelectParams(per_township=2), 4)
        got = sel.chosen
        assert got["township_code"].value_counts().max() <= 2
        want = _brute_best(s.table["score"].to_numpy(), m["township_code"].to_numpy(), 4, 2)
        assert got["score"].sum() == pytest.approx(want)


def test_pins_and_excludes_hold() -> None:
    """A pinned village is chosen whatever its need; an excluded one never is."""
    s = score_needs(measures(8))
    t = s.table.sort_values("score")
    low, top = str(t["code"].iloc[0]), str(t["code"].iloc[-1])
    sel = select_villages(s, SelectParams(pins=(low,), excludes=(top,)), 3)
    assert low in sel.codes and top not in sel.codes
    assert sel.chosen.loc[sel.chosen["code"] == low, "reason"].item() == "pinned"
    assert top in set(sel.passed["code"])
    with pytest.raises(TeamError, match="no village with code 999"):
        select_villages(s, SelectParams(pins=("999",)), 3)
    with pytest.raises(TeamError, match="only 2 villages can be chosen"):
        select_villages(s, SelectParams(per_district=1), 3)


def test_listed_villages_are_taken_in_order() -> None:
    """An explicit list is the selection, in the order given."""
    s = score_needs(measures())
    codes = tuple(str(c) for c in s.table["code"].iloc[[4, 1]])
    assert select_villages(s, SelectParams(villages=codes), 9).codes == codes


# --------------------------------------------------------------- on the sample area


@pytest.fixture(scope="module")
def sample_scores(sample_full_area):
    return score_needs(measure_villages(sample_full_area))


def test_sample_measures_agree_with_the_engine(sample_full_area, sample_scores) -> None:
    """station_min is the least engine minutes from any station (brute force matrix)."""
    a = sample_full_area
    e = a.engine()
    full = e.matrix(
        e.locate_geometries(a.stations.geometry), e.locate_geometries(a.villages.geometry)
    )
    np.testing.assert_allclose(
        sample_scores.table["station_min"], np.nanmin(full.minutes, axis=0), rtol=1e-9
    )
    assert sample_scores.table["why"].str.len().min() > 40


def test_incidents_are_counted_once_in_the_period(sample_full_area) -> None:
    """Every incident of the period goes to exactly one village."""
    m = measure_villages(sample_full_area, MeasureParams(days=90))
    t = pd.to_datetime(sample_full_area.incidents["time"])
    want = int((t > t.max() - pd.Timedelta(days=90)).sum())
    assert int(m["incidents"].sum()) == want


def _selection(sample_scores, n: int) -> Selection:
    return select_villages(sample_scores, SelectParams(), n)


def test_assignment_is_one_to_one_and_matches_brute_force(sample_full_area, sample_scores) -> None:
    """The total equals the brute-force best over every team order (8 teams: 40,320)."""
    a = sample_full_area
    sel = _selection(sample_scores, len(a.teams))
    res = assign_teams(a, sel)
    t = res.table
    assert t["team"].is_unique and t["village_code"].is_unique and len(t) == len(a.teams)
    e = a.engine()
    vil = a.villages.set_index(a.villages["code"].astype(str)).loc[list(sel.codes)]
    m = e.matrix(e.locate_geometries(a.teams.geometry), e.locate_geometries(vil.geometry)).minutes
    best = min(m[np.arange(len(m)), list(p)].sum() for p in itertools.permutations(range(len(m))))
    assert res.total_min == pytest.approx(best)
    # Each row's minutes are the engine's for that pair; km follow the road.
    for r in t.itertuples():
        i = int(np.flatnonzero(a.teams["id"] == r.team)[0])
        j = list(sel.codes).index(r.village_code)
        assert r.minutes == pytest.approx(m[i, j])
        assert r.km > 0


def test_min_max_reaches_the_brute_force_bottleneck(sample_full_area, sample_scores) -> None:
    """With min_max the longest trip is the least possible longest trip."""
    a = sample_full_area
    sel = _selection(sample_scores, len(a.teams))
    res = assign_teams(a, sel, TeamParams(min_max=True))
    e = a.engine()
    vil = a.villages.set_index(a.villages["code"].astype(str)).loc[list(sel.codes)]
    m = e.matrix(e.locate_geometries(a.teams.geometry), e.locate_geometries(vil.geometry)).minutes
    best = min(m[np.arange(len(m)), list(p)].max() for p in itertools.permutations(range(len(m))))
    assert res.longest_min == pytest.approx(best)


def test_caps_skills_districts_and_forbidden_pairs_hold(sample_full_area, sample_scores) -> None:
    """Every limit given is obeyed by every pair of the assignment."""
    a = sample_full_area
    sel = _selection(sample_scores, len(a.teams))
    free = assign_teams(a, sel)
    cap = float(np.sort(free.table["minutes"])[-1]) + 1.0
    codes = list(sel.codes)
    skilled = a.teams.loc[a.teams["skills"].str.contains("mediation"), "id"].tolist()
    forbid = (str(free.table["team"].iloc[0]), str(free.table["village_code"].iloc[0]))
    res = assign_teams(
        a,
        sel,
        TeamParams(cap_min=cap, needs={codes[0]: ("mediation",)}, forbidden=(forbid,)),
    )
    t = res.table
    assert (t["minutes"] <= cap).all()
    assert t.loc[t["village_code"] == codes[0], "team"].item() in skilled
    assert not ((t["team"] == forbid[0]) & (t["village_code"] == forbid[1])).any()
    # Districts: move half the chosen villages into another district on paper.
    chosen = sel.chosen
    chosen.loc[chosen.index[::2], "district_code"] = "420198"
    moved = Selection(chosen=chosen, passed=sel.passed)
    with pytest.raises(TeamError, match="no assignment"):
        assign_teams(a, moved, TeamParams(same_district=True))


def test_a_tight_cap_names_the_teams_that_cannot_go(sample_full_area, sample_scores) -> None:
    """Infeasible limits raise, naming the teams with too few villages in reach."""
    sel = _selection(sample_scores, len(sample_full_area.teams))
    with pytest.raises(TeamError, match=r"no assignment: .*VT-0\d"):
        assign_teams(sample_full_area, sel, TeamParams(cap_min=3.0))


def test_teams_stay_in_their_district(sample_full_area, sample_scores) -> None:
    """With same_district, the villages of a district go to that district's teams."""
    a = sample_full_area
    st = a.stations.copy()
    st.loc[st["id"] == "PS-02", "township_code"] = "420198101"  # its teams: VT-05, VT-06
    area = a.with_layers(stations=st)
    sel = _selection(sample_scores, len(a.teams))
    chosen = sel.chosen
    chosen.loc[chosen.index[[1, 4]], "district_code"] = "420198"
    res = assign_teams(
        area, Selection(chosen=chosen, passed=sel.passed), TeamParams(same_district=True)
    )
    t = res.table
    moved = set(chosen.loc[chosen.index[[1, 4]], "code"].astype(str))
    assert set(t.loc[t["village_code"].isin(moved), "team"]) == {"VT-05", "VT-06"}
