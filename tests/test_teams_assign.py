"""geo.teams.assign: one-to-one team-village matching, bottleneck, Hall-violating sets."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest

from geo.errors import TeamError
from geo.teams.assign import AssignParams, Matching, assign, blocking_set

SEEDS = range(300)


def _random_case(seed: int, *, max_n: int = 5) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Return (minutes, allowed, cap) of a small random instance, often with ties."""
    rng = np.random.default_rng(seed)
    n_teams, n_villages = rng.integers(1, max_n + 1, size=2)
    if rng.random() < 0.5:
        # Whole minutes make equal trips common, which is where min-max ties matter.
        minutes = rng.integers(0, 30, size=(n_teams, n_villages)).astype(float)
    else:
        minutes = rng.uniform(0, 60, size=(n_teams, n_villages))
    minutes[rng.random(minutes.shape) < 0.15] = np.nan
    minutes[rng.random(minutes.shape) < 0.05] = np.inf
    allowed = rng.random(minutes.shape) < 0.85
    cap = float(rng.choice([20.0, 40.0])) if rng.random() < 0.5 else None
    return minutes, allowed, cap


def _usable(minutes: np.ndarray, allowed: np.ndarray, cap: float | None) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        within = minutes <= cap if cap is not None else np.ones(minutes.shape, dtype=bool)
    return np.isfinite(minutes) & allowed & within


def _all_assignments(usable: np.ndarray) -> list[list[tuple[int, int]]]:
    """Every full one-to-one assignment of the smaller side over usable pairs."""
    n_rows, n_cols = usable.shape
    out = []
    if n_rows <= n_cols:
        for perm in itertools.permutations(range(n_cols), n_rows):
            pairs = list(enumerate(perm))
            if all(usable[i, j] for i, j in pairs):
                out.append(pairs)
    else:
        for perm in itertools.permutations(range(n_rows), n_cols):
            pairs = sorted((i, j) for j, i in enumerate(perm))
            if all(usable[i, j] for i, j in pairs):
                out.append(pairs)
    return out


def _check_pairs(m: Matching, minutes: np.ndarray, usable: np.ndarray) -> None:
    assert len(m.team) == min(minutes.shape)
    assert len(set(m.team.tolist())) == len(m.team)
    assert len(set(m.village.tolist())) == len(m.village)
    assert np.all(usable[m.team, m.village])
    np.testing.assert_array_equal(m.minutes, minutes[m.team, m.village])


def test_total_matches_brute_force() -> None:
    """The total is the least over every full assignment of usable pairs (brute force)."""
    solved = 0
    for seed in SEEDS:
        minutes, allowed, cap = _random_case(seed)
        usable = _usable(minutes, allowed, cap)
        options = _all_assignments(usable)
        if not options:
            with pytest.raises(TeamError, match="no assignment"):
                assign(minutes, allowed, params=AssignParams(cap_min=cap))
            continue
        best = min(sum(minutes[i, j] for i, j in pairs) for pairs in options)
        m = assign(minutes, allowed, params=AssignParams(cap_min=cap))
        _check_pairs(m, minutes, usable)
        assert m.total_min == pytest.approx(best, abs=1e-9), seed
        assert not m.min_max
        solved += 1
    # Both branches must have been exercised for the test to mean anything.
    assert 50 < solved < len(SEEDS)


def test_min_max_matches_brute_force_bottleneck_then_total() -> None:
    """With min_max the longest trip is the brute-force bottleneck, and the total is the
    least among the assignments achieving it."""
    solved = 0
    for seed in SEEDS:
        minutes, allowed, cap = _random_case(seed)
        usable = _usable(minutes, allowed, cap)
        options = _all_assignments(usable)
        if not options:
            continue
        bottleneck = min(max(minutes[i, j] for i, j in pairs) for pairs in options)
        best_total = min(
            sum(minutes[i, j] for i, j in pairs)
            for pairs in options
            if max(minutes[i, j] for i, j in pairs) == bottleneck
        )
        m = assign(minutes, allowed, params=AssignParams(cap_min=cap, min_max=True))
        _check_pairs(m, minutes, usable)
        assert m.longest_min == bottleneck, seed
        assert m.total_min == pytest.approx(best_total, abs=1e-9), seed
        assert m.min_max
        solved += 1
    assert solved > 50


def test_min_max_can_trade_total_for_longest() -> None:
    """The bottleneck objective gives up total minutes to shorten the longest trip."""
    minutes = np.array([[0.0, 6.0], [6.0, 10.0]])
    plain = assign(minutes)
    fair = assign(minutes, params=AssignParams(min_max=True))
    assert (plain.total_min, plain.longest_min) == (10.0, 10.0)
    assert (fair.total_min, fair.longest_min) == (12.0, 6.0)


def test_caps_and_mask_hold_in_every_result() -> None:
    """No chosen pair is forbidden, lacks a route or exceeds the cap, on both objectives
    and both orientations of larger random matrices."""
    checked = 0
    for seed in range(40):
        rng = np.random.default_rng(1000 + seed)
        shape = (8, 30) if seed % 2 else (30, 8)
        minutes = rng.uniform(0, 100, size=shape)
        minutes[rng.random(shape) < 0.2] = np.nan
        allowed = rng.random(shape) < 0.7
        cap = 60.0
        for min_max in (False, True):
            try:
                m = assign(minutes, allowed, params=AssignParams(cap_min=cap, min_max=min_max))
            except TeamError:
                continue
            assert np.all(allowed[m.team, m.village])
            assert np.all(np.isfinite(m.minutes))
            assert np.all(m.minutes <= cap)
            _check_pairs(m, minutes, _usable(minutes, allowed, cap))
            checked += 1
    assert checked > 40


def test_result_sorted_by_team_and_read_only() -> None:
    """Pairs come sorted by team, and the result's arrays cannot be changed."""
    rng = np.random.default_rng(7)
    minutes = rng.uniform(1, 50, size=(6, 4))
    m = assign(minutes)
    assert np.all(np.diff(m.team) > 0)
    assert m.team.dtype == np.int64 and m.village.dtype == np.int64
    with pytest.raises(ValueError, match="read-only"):
        m.minutes[0] = 0.0


def test_matching_rejects_inconsistent_result() -> None:
    """A Matching whose village repeats or whose totals disagree cannot be built."""
    team = np.array([0, 1], dtype=np.int64)
    with pytest.raises(TeamError, match="repeats"):
        Matching(team, np.array([3, 3], dtype=np.int64), np.array([1.0, 2.0]), 3.0, 2.0, False)
    with pytest.raises(TeamError, match="total_min"):
        Matching(team, np.array([3, 4], dtype=np.int64), np.array([1.0, 2.0]), 4.0, 2.0, False)
    with pytest.raises(TeamError, match="longest_min"):
        Matching(team, np.array([3, 4], dtype=np.int64), np.array([1.0, 2.0]), 3.0, 1.0, False)


# --------------------------------------------------------------------------- infeasible

TEAMS = ["T01 张三先锋队", "T02 李四先锋队", "T03 王五先锋队", "T04 赵六先锋队"]
VILLAGES = ["A村", "B村", "C村", "D村", "E村"]


def _three_teams_two_villages() -> np.ndarray:
    """Teams T01, T03, T04 reach only A村 and B村 within 90 min; T02 reaches all."""
    minutes = np.full((4, 5), 120.0)
    minutes[[0, 2, 3], :2] = [[30.0, 40.0], [50.0, 60.0], [70.0, 80.0]]
    minutes[1] = [10.0, 20.0, 30.0, 40.0, 50.0]
    minutes[2, 4] = np.nan
    return minutes


def _names_in(text: str, names: list[str]) -> set[str]:
    return {n for n in names if re.search(re.escape(n) + r"(?=[,)])", text)}


def test_hall_violation_named_in_error() -> None:
    """Three teams that together reach two villages are named, with exactly those two."""
    with pytest.raises(TeamError) as info:
        assign(
            _three_teams_two_villages(),
            params=AssignParams(cap_min=90),
            team_names=TEAMS,
            village_names=VILLAGES,
        )
    text = str(info.value)
    assert text.startswith("no assignment: these 3 teams (")
    assert "can reach only 2 villages (" in text
    assert "within the cap of 90 min" in text
    assert "at most 3 of the 4 teams can each get a village" in text
    assert "--cap-min" in text
    assert _names_in(text, TEAMS) == {TEAMS[0], TEAMS[2], TEAMS[3]}
    assert _names_in(text, VILLAGES) == {"A村", "B村"}


def test_blocking_set_of_hand_made_case() -> None:
    """blocking_set returns those three teams and two villages, and Hall fails for them."""
    usable = _three_teams_two_villages() <= 90
    found = blocking_set(usable)
    assert found is not None
    rows, cols = found
    assert rows.tolist() == [0, 2, 3]
    assert cols.tolist() == [0, 1]
    assert len(cols) < len(rows)
    np.testing.assert_array_equal(np.flatnonzero(usable[rows].any(axis=0)), cols)


def test_village_side_violation_worded_for_villages() -> None:
    """With fewer villages than teams, villages reachable by too few teams are named."""
    # The hand-made case transposed: its teams become the 4 villages that must all be
    # served, its villages the 5 teams, so T01, T03, T04 are now villages.
    minutes = _three_teams_two_villages().T
    with pytest.raises(TeamError) as info:
        assign(minutes, params=AssignParams(cap_min=90), team_names=VILLAGES, village_names=TEAMS)
    text = str(info.value)
    assert text.startswith("no assignment: these 3 villages (")
    assert "can be reached by only 2 teams (" in text
    assert "at most 3 of the 4 villages can each get a team" in text
    assert _names_in(text, TEAMS) == {TEAMS[0], TEAMS[2], TEAMS[3]}
    assert _names_in(text, VILLAGES) == {"A村", "B村"}


def test_error_counts_the_whole_shortfall() -> None:
    """When many teams crowd few villages, the message says how many can be placed at
    most, even though the named set is the smallest one found."""
    minutes = np.full((6, 8), np.nan)
    minutes[:5, :2] = 10.0
    minutes[5] = 20.0
    with pytest.raises(TeamError, match=r"at most 3 of the 6 teams can each get a village"):
        assign(minutes)


def test_team_with_no_village_named() -> None:
    """A team with no usable village is named on its own, without any village."""
    minutes = np.array([[10.0, 20.0, 30.0], [np.nan, 95.0, np.inf], [5.0, 5.0, 5.0]])
    allowed = np.array([[True, True, True], [True, True, True], [True, True, False]])
    with pytest.raises(TeamError, match=r"^no assignment: team T02 李四先锋队 can reach no "):
        assign(minutes, allowed, params=AssignParams(cap_min=90), team_names=TEAMS[:3])
    found = blocking_set(_usable(minutes, allowed, 90.0))
    assert found is not None
    assert found[0].tolist() == [1] and found[1].size == 0


def test_village_no_team_reaches_named() -> None:
    """With fewer villages than teams, a village no team reaches is named on its own."""
    minutes = np.array([[10.0, np.nan], [20.0, np.nan], [30.0, np.nan]])
    with pytest.raises(TeamError, match=r"village B村 can be reached by no team with the routes"):
        assign(minutes, village_names=VILLAGES[:2])


def test_random_blocking_sets_satisfy_hall() -> None:
    """On random matrices blocking_set is None exactly when a full matching exists, and
    otherwise returns S with |N(S)| < |S| where N(S) is every usable partner of S."""
    infeasible = 0
    for seed in SEEDS:
        rng = np.random.default_rng(5000 + seed)
        n_rows, n_cols = rng.integers(1, 6, size=2)
        usable = rng.random((n_rows, n_cols)) < rng.uniform(0.1, 0.6)
        found = blocking_set(usable)
        assert (found is None) == bool(_all_assignments(usable)), seed
        if found is None:
            continue
        infeasible += 1
        rows, cols = found
        if n_rows <= n_cols:
            s, n, partners = rows, cols, usable[rows].any(axis=0)
        else:
            s, n, partners = cols, rows, usable[:, cols].any(axis=1)
        assert len(n) < len(s), seed
        assert len(set(s.tolist())) == len(s)
        np.testing.assert_array_equal(np.flatnonzero(partners), n)
    assert infeasible > 50


def test_large_infeasible_case_names_the_crowd() -> None:
    """At full size, five teams sharing four villages are found among 40 x 1900."""
    rng = np.random.default_rng(3)
    minutes = rng.uniform(1, 80, size=(40, 1900))
    crowd = [3, 11, 17, 29, 38]
    minutes[crowd] = np.nan
    minutes[np.ix_(crowd, [100, 200, 300, 400])] = 15.0
    found = blocking_set(np.isfinite(minutes))
    assert found is not None
    assert found[0].tolist() == crowd and found[1].tolist() == [100, 200, 300, 400]
    with pytest.raises(TeamError, match=r"these 5 teams \(team 3, team 11, team 17, team 29, "):
        assign(minutes, params=AssignParams(min_max=True))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"minutes": np.ones(3)}, "minutes must be a 2-D"),
        ({"minutes": np.ones((0, 3))}, "minutes is empty"),
        ({"minutes": np.array([[1.0, -2.0]])}, "minutes must be >= 0"),
        ({"minutes": np.array([[1.0, -np.inf]])}, "minutes must be >= 0"),
        ({"minutes": np.array([["a", "b"]])}, "minutes must be a numeric"),
        ({"minutes": np.ones((2, 2), dtype=bool)}, "minutes must be a numeric"),
        ({"allowed": np.ones((2, 2), dtype=bool)}, "allowed has shape"),
        ({"allowed": np.ones((2, 3))}, "allowed must be a boolean"),
        ({"team_names": ["a"]}, "team_names has 1 names"),
        ({"team_names": "ab"}, "team_names must be a sequence"),
        ({"village_names": ["a", "b"]}, "village_names has 2 names"),
    ],
)
def test_bad_inputs_raise_team_error(kwargs: dict[str, object], match: str) -> None:
    """Each malformed input raises TeamError naming the parameter."""
    args: dict[str, object] = {"minutes": np.ones((2, 3))} | kwargs
    with pytest.raises(TeamError, match=match):
        assign(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cap_min": 0}, "cap_min"),
        ({"cap_min": -5.0}, "cap_min"),
        ({"cap_min": math.nan}, "cap_min"),
        ({"cap_min": math.inf}, "cap_min"),
        ({"cap_min": "90"}, "cap_min"),
        ({"cap_min": True}, "cap_min"),
        ({"min_max": 1}, "min_max"),
    ],
)
def test_bad_params_raise_team_error(kwargs: dict[str, object], match: str) -> None:
    """Each invalid option raises TeamError naming it, when the options are made."""
    with pytest.raises(TeamError, match=match):
        AssignParams(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("usable", "match"),
    [
        (np.ones((2, 2)), "usable must be a boolean"),
        (np.ones(3, dtype=bool), "usable must be a 2-D"),
    ],
)
def test_bad_usable_raises_team_error(usable: np.ndarray, match: str) -> None:
    """blocking_set rejects anything but a 2-D boolean matrix, naming usable."""
    with pytest.raises(TeamError, match=match):
        blocking_set(usable)
