"""Location-allocation: MCLP and LSCP against brute force, bounds, infeasibility, validation."""

from __future__ import annotations

import dataclasses
import itertools
import math
import time

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import linprog

from geo.allocation import (
    AllocationError,
    InfeasibleCoverError,
    LscpResult,
    MclpResult,
    solve_lscp,
    solve_mclp,
)
from geo.errors import PinganError

T = 10.0  # threshold of the small random instances
SEEDS = range(30)
GREEDY_RATIO = 1 - 1 / math.e

# --------------------------------------------------------------------------- helpers


def small_instance(seed: int, *, with_existing: bool | None = None):
    """Return (times, demand, existing) with 8-10 candidates, 15-30 villages, ~25% NaN."""
    rng = np.random.default_rng(seed)
    n_cand, n_dem = int(rng.integers(8, 11)), int(rng.integers(15, 31))
    times = rng.uniform(0.0, 30.0, (n_cand, n_dem))
    times[rng.random(times.shape) < 0.25] = np.nan
    demand = rng.integers(0, 20, n_dem).astype(float)
    if with_existing is None:
        with_existing = seed % 2 == 1
    n_exist = int(rng.integers(1, 3)) if with_existing else 0
    existing = rng.uniform(0.0, 40.0, (n_exist, n_dem))
    existing[rng.random(existing.shape) < 0.25] = np.nan
    return times, demand, existing


def covers_of(times: np.ndarray, combos: np.ndarray) -> np.ndarray:
    """Return (n_combos, n_demand): which points each subset of candidates covers within T."""
    reach = times <= T
    if combos.shape[1] == 0:
        return np.zeros((len(combos), times.shape[1]), dtype=bool)
    return reach[combos].any(axis=1)


def brute_mclp_gain(times, demand, existing, k: int) -> float:
    """Best demand newly covered by any k candidates, by enumerating every subset."""
    base = (existing <= T).any(axis=0)
    combos = np.array(list(itertools.combinations(range(len(times)), k)), dtype=int)
    combos = combos.reshape(-1, k)
    covered = covers_of(times, combos) | base
    return float(((covered & ~base) @ demand).max())


def brute_lscp(times, existing):
    """Return (minimum number of sites, least total time among minimum covers, uncoverable)."""
    base = (existing <= T).any(axis=0)
    coverable = (times <= T).any(axis=0) | base
    t_cand = np.where(times <= T, times, np.inf)
    t_exist = np.where(existing <= T, existing, np.inf).min(axis=0, initial=np.inf)
    for p in range(len(times) + 1):
        combos = np.array(list(itertools.combinations(range(len(times)), p)), dtype=int)
        combos = combos.reshape(-1, p) if p else np.zeros((1, 0), dtype=int)
        ok = (covers_of(times, combos) | base)[:, coverable].all(axis=1)
        if ok.any():
            if p == 0:
                nearest = np.broadcast_to(t_exist, (1, len(t_exist)))
            else:
                nearest = np.minimum(t_cand[combos[ok]].min(axis=1), t_exist)
            total = nearest[:, coverable].sum(axis=1).min()
            return p, float(total), np.flatnonzero(~coverable)
    raise AssertionError("unreachable: all candidates together cover every coverable point")


def mclp_lp_bound(times, demand, existing, k: int) -> float:
    """LP relaxation of the MCLP gain on the unreduced instance, solved independently."""
    base = (existing <= T).any(axis=0)
    pts = np.flatnonzero(~base & (times <= T).any(axis=0))
    n_cand, n_pts = len(times), len(pts)
    if n_pts == 0 or k == 0:
        return 0.0
    reach = (times[:, pts] <= T).astype(float)
    # [x | y]: y_i <= sum_j a_ji x_j, sum x <= k, all in [0, 1].
    a_ub = np.block([[-reach.T, np.eye(n_pts)], [np.ones((1, n_cand)), np.zeros((1, n_pts))]])
    b_ub = np.concatenate([np.zeros(n_pts), [k]])
    c = np.concatenate([np.zeros(n_cand), -demand[pts]])
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
    assert res.status == 0
    return -float(res.fun)


def medium_instance(seed: int = 7, n_cand: int = 300, n_dem: int = 2000):
    """Clustered villages, scattered candidate sites, 5 stations; times from distance."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 40, (40, 2))  # km
    villages = centres[rng.integers(0, 40, n_dem)] + rng.normal(0, 2.0, (n_dem, 2))
    sites = rng.uniform(0, 40, (n_cand, 2))
    stations = rng.uniform(0, 40, (5, 2))

    def minutes(a, b):
        km = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
        return km * 1.3 / 40 * 60 * rng.uniform(1.0, 1.3, km.shape)  # detour, 40 km/h

    times = minutes(sites, villages)
    times[rng.random(times.shape) < 0.02] = np.nan
    demand = rng.integers(50, 3000, n_dem).astype(float)
    return times, demand, minutes(stations, villages)


# --------------------------------------------------------------------------- MCLP


@pytest.mark.parametrize("seed", SEEDS)
def test_exact_mclp_matches_brute_force(seed):
    """Exact MCLP gain equals the best over all k-subsets, and is reported proven optimal."""
    times, demand, existing = small_instance(seed)
    for k in (1, 3):
        res = solve_mclp(times, demand, k, T, existing=existing, method="exact")
        assert res.gain == pytest.approx(brute_mclp_gain(times, demand, existing, k), abs=1e-6)
        assert res.method == "exact"
        assert res.optimal
        assert res.gap == pytest.approx(0.0, abs=1e-6)
        assert res.n_sites <= k


@pytest.mark.parametrize("seed", SEEDS)
def test_greedy_mclp_within_guarantee_and_lp_bound(seed):
    """Greedy gets >= (1 - 1/e) of the optimum, <= the LP bound, and its bound is valid."""
    times, demand, existing = small_instance(seed)
    for k in (1, 2, 4):
        opt = brute_mclp_gain(times, demand, existing, k)
        lp = mclp_lp_bound(times, demand, existing, k)
        res = solve_mclp(times, demand, k, T, existing=existing, method="greedy")
        assert res.method == "greedy"
        assert res.gain >= GREEDY_RATIO * opt - 1e-9
        assert res.gain <= lp + 1e-6
        assert opt <= res.bound + 1e-6  # the reported bound really bounds the optimum
        assert res.bound <= lp + 1e-6  # and is no weaker than the LP relaxation
        assert res.gap == pytest.approx((res.bound - res.gain) / res.bound if res.bound else 0)
        if res.optimal:
            assert res.gain == pytest.approx(opt)


def test_mclp_result_fields_are_consistent():
    """Coverage flags, nearest sites and demand totals agree with the chosen sites."""
    times, demand, existing = small_instance(3, with_existing=True)
    res = solve_mclp(times, demand, 3, T, existing=existing)
    reach_new = (times[res.chosen] <= T).any(axis=0)
    reach_old = (existing <= T).any(axis=0)
    np.testing.assert_array_equal(res.covered, reach_new | reach_old)
    np.testing.assert_array_equal(res.newly_covered, np.flatnonzero(reach_new & ~reach_old))
    assert res.total_demand == pytest.approx(demand.sum())
    assert res.existing_demand == pytest.approx(demand[reach_old].sum())
    assert res.covered_demand == pytest.approx(demand[res.covered].sum())
    assert res.covered_share == pytest.approx(res.covered_demand / res.total_demand)
    for i in np.flatnonzero(res.covered):
        rows = existing if res.site_is_existing[i] else times
        assert rows[res.site[i], i] == res.site_time_min[i] <= T
        nearest = np.nanmin(np.concatenate([existing[:, i], times[res.chosen, i]]))
        assert res.site_time_min[i] == nearest
    assert np.all(res.site[~res.covered] == -1)
    assert np.all(np.isnan(res.site_time_min[~res.covered]))


def test_k_zero_keeps_existing_coverage_only():
    """With k=0 nothing is opened and coverage is exactly the existing stations'."""
    times, demand, existing = small_instance(5, with_existing=True)
    for method in ("exact", "greedy"):
        res = solve_mclp(times, demand, 0, T, existing=existing, method=method)
        assert res.n_sites == 0
        assert res.gain == 0.0
        assert res.optimal
        np.testing.assert_array_equal(res.covered, (existing <= T).any(axis=0))
        assert np.all(res.site_is_existing == res.covered)


def test_existing_covering_everything_gives_zero_gain():
    """When existing stations already cover every point, new sites gain nothing."""
    times, demand, _ = small_instance(6)
    existing = np.full((1, times.shape[1]), 2.0)
    for method in ("exact", "greedy"):
        res = solve_mclp(times, demand, 3, T, existing=existing, method=method)
        assert res.gain == 0.0
        assert res.covered_share == 1.0
        assert res.n_sites == 0  # opening a site that adds nothing is pointless
        assert len(res.newly_covered) == 0
        assert res.optimal and res.gap == 0.0


def test_fewer_sites_than_k_when_all_coverable_demand_is_covered():
    """k above what full coverage needs opens only the useful sites; k = n_candidates is valid."""
    times = np.array([[1.0, 2.0, np.nan], [np.nan, np.nan, 3.0], [1.0, np.nan, np.nan]])
    for method in ("exact", "greedy"):
        res = solve_mclp(times, None, 3, T, method=method)
        np.testing.assert_array_equal(res.chosen, [0, 1])
        assert res.covered_share == 1.0
        assert res.optimal


def test_ties_go_to_the_lowest_index():
    """Identical candidates: the lowest index is opened, whichever method."""
    times = np.array([[5.0, 50.0, 50.0], [5.0, 5.0, 50.0], [5.0, 5.0, 50.0], [50.0, 5.0, 5.0]])
    for method in ("exact", "greedy"):
        res = solve_mclp(times, None, 1, T, method=method)
        np.testing.assert_array_equal(res.chosen, [1])


def test_zero_demand_points_do_not_attract_sites():
    """A site reaching only zero-weight villages is never worth opening."""
    times = np.array([[1.0, 1.0, np.nan], [np.nan, np.nan, 1.0]])
    demand = np.array([0.0, 0.0, 4.0])
    for method in ("exact", "greedy"):
        res = solve_mclp(times, demand, 2, T, method=method)
        np.testing.assert_array_equal(res.chosen, [1])
        assert res.gain == 4.0


def test_threshold_is_inclusive_and_nan_or_inf_is_unreachable():
    """A time equal to the threshold covers; NaN and +inf never do."""
    times = np.array([[T, np.nan, np.inf]])
    res = solve_mclp(times, None, 1, T)
    np.testing.assert_array_equal(res.covered, [True, False, False])


@pytest.mark.parametrize("method", ["exact", "greedy"])
def test_same_input_same_result(method):
    """Solving MCLP or LSCP twice gives identical sites, coverage and bounds."""
    times, demand, existing = small_instance(11, with_existing=True)
    a = solve_mclp(times, demand, 3, T, existing=existing, method=method)
    b = solve_mclp(times.copy(), demand.copy(), 3, T, existing=existing.copy(), method=method)
    np.testing.assert_array_equal(a.chosen, b.chosen)
    np.testing.assert_array_equal(a.site, b.site)
    assert (a.gain, a.bound, a.gap) == (b.gain, b.bound, b.gap)
    c = solve_lscp(times, T, existing=existing, method=method)
    d = solve_lscp(times.copy(), T, existing=existing.copy(), method=method)
    np.testing.assert_array_equal(c.chosen, d.chosen)
    assert (c.total_time_min, c.bound) == (d.total_time_min, d.bound)


def test_auto_picks_exact_when_small_and_greedy_when_large():
    """method='auto' switches on the size of the coverage matrix."""
    times, demand, existing = small_instance(2)
    assert solve_mclp(times, demand, 2, T, existing=existing).method == "exact"
    big = solve_mclp(times, demand, 2, T, existing=existing, exact_max_nonzeros=0)
    assert big.method == "greedy"
    assert solve_lscp(times, T, exact_max_nonzeros=0).method == "greedy"


def test_ids_are_carried_into_results():
    """Candidate and demand ids label the chosen sites and the per-village frame."""
    times = np.array([[1.0, 20.0], [20.0, 2.0]])
    res = solve_mclp(
        times,
        [1.0, 5.0],
        1,
        T,
        existing=np.array([[3.0, np.nan]]),
        candidate_ids=["c0", "c1"],
        demand_ids=["v0", "v1"],
    )
    assert res.chosen_ids == ("c1",)
    frame = res.to_frame()
    assert frame["demand_id"].tolist() == ["v0", "v1"]
    assert frame["site_kind"].tolist() == ["existing", "new"]
    assert frame["site_id"].tolist() == [None, "c1"]
    assert frame["time_min"].tolist() == [3.0, 2.0]


def test_results_are_frozen_and_read_only():
    """Results cannot be modified after the fact, fields nor arrays."""
    times, demand, existing = small_instance(4)
    res = solve_mclp(times, demand, 2, T, existing=existing)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.gain = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        res.covered[0] = not res.covered[0]


def test_result_rejects_inconsistent_fields():
    """A hand-built result whose gain exceeds its bound fails its own validation."""
    times, demand, existing = small_instance(4)
    res = solve_mclp(times, demand, 2, T, existing=existing)
    fields = {f.name: getattr(res, f.name) for f in dataclasses.fields(res)}
    with pytest.raises(AllocationError, match="exceeds its upper bound"):
        MclpResult(**(fields | {"bound": res.gain / 2, "gap": 0.0}))
    with pytest.raises(AllocationError, match="ascending"):
        MclpResult(**(fields | {"chosen": res.chosen[::-1]}))


def test_medium_instance_greedy_is_fast_with_small_gap():
    """300 candidates x 2000 villages: greedy well under a second, gap to the LP bound < 3%."""
    times, demand, existing = medium_instance()
    for k in (10, 25):
        start = time.perf_counter()
        res = solve_mclp(times, demand, k, 12.0, existing=existing, method="greedy")
        elapsed = time.perf_counter() - start
        assert elapsed < 2.0
        assert res.n_sites == k
        assert res.gap < 0.03
        # Bound and gap checked against an independently built LP on the unreduced instance.
        base = (existing <= 12.0).any(axis=0)
        pts = np.flatnonzero(~base & (times <= 12.0).any(axis=0))
        reach = (times[:, pts] <= 12.0).astype(float)
        n_cand, n_pts = reach.shape
        a_ub = sparse.vstack(
            [
                sparse.hstack([-sparse.csr_array(reach.T), sparse.eye_array(n_pts)]),
                sparse.hstack(
                    [sparse.csr_array(np.ones((1, n_cand))), sparse.csr_array((1, n_pts))]
                ),
            ]
        ).tocsr()
        c = np.concatenate([np.zeros(n_cand), -demand[pts]])
        b_ub = np.concatenate([np.zeros(n_pts), [k]])
        lp = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
        lp_bound = -lp.fun
        assert res.gain <= res.bound <= lp_bound * (1 + 1e-7)
        assert (lp_bound - res.gain) / lp_bound < 0.03


def test_exact_stopped_by_time_limit_still_returns_a_valid_solution():
    """A time limit too short to prove optimality keeps a solution at least as good as greedy."""
    times, demand, existing = medium_instance()
    greedy = solve_mclp(times, demand, 20, 12.0, existing=existing, method="greedy")
    res = solve_mclp(times, demand, 20, 12.0, existing=existing, method="exact", time_limit_s=0.1)
    assert res.gain >= greedy.gain - 1e-6
    assert res.gain <= res.bound
    assert res.gap == pytest.approx((res.bound - res.gain) / res.bound)
    if not res.optimal:
        assert res.solve_time_s < 5.0  # the limit was honoured, give or take the fallback


# --------------------------------------------------------------------------- LSCP


@pytest.mark.parametrize("seed", SEEDS)
def test_exact_lscp_matches_brute_force(seed):
    """Exact LSCP opens the minimum number of sites, covers every coverable point, and
    among minimum covers has the least total travel time."""
    times, _, existing = small_instance(seed)
    p, total, uncoverable = brute_lscp(times, existing)
    res = solve_lscp(times, T, existing=existing, method="exact")
    assert res.n_sites == p
    assert res.optimal and res.bound == p and res.gap == 0.0
    np.testing.assert_array_equal(res.uncoverable, uncoverable)
    coverable = np.ones(times.shape[1], dtype=bool)
    coverable[uncoverable] = False
    covered = (times[res.chosen] <= T).any(axis=0) | (existing <= T).any(axis=0)
    assert np.all(covered[coverable])
    assert res.tiebreak_proven
    assert res.total_time_min == pytest.approx(total)


@pytest.mark.parametrize("seed", SEEDS)
def test_greedy_lscp_covers_within_bounds(seed):
    """Greedy cover is complete, no smaller than the optimum, and its lower bound is valid."""
    times, _, existing = small_instance(seed)
    p, _, uncoverable = brute_lscp(times, existing)
    res = solve_lscp(times, T, existing=existing, method="greedy")
    np.testing.assert_array_equal(res.uncoverable, uncoverable)
    assert res.bound <= p <= res.n_sites
    max_cover = max(int((times <= T).sum(axis=1).max()), 1)
    harmonic = sum(1 / i for i in range(1, max_cover + 1))
    assert res.n_sites <= harmonic * max(p, 1)  # Johnson/Chvátal ln-n guarantee


def test_lscp_tiebreak_never_changes_the_count():
    """The total-time tiebreak keeps the minimum count and never lengthens travel."""
    for seed in range(8):
        times, _, existing = small_instance(seed)
        plain = solve_lscp(times, T, existing=existing, method="exact", tiebreak="none")
        timed = solve_lscp(times, T, existing=existing, method="exact")
        assert timed.n_sites == plain.n_sites
        assert timed.total_time_min <= plain.total_time_min + 1e-9
        assert not plain.tiebreak_proven


def test_infeasible_lscp_reports_exactly_the_uncoverable_points():
    """Points nobody reaches are reported, not dropped; the rest is still covered."""
    times = np.array(
        [
            [1.0, 2.0, np.nan, 30.0, np.nan],
            [np.nan, 3.0, 4.0, np.nan, np.nan],
        ]
    )
    existing = np.array([[np.nan, np.nan, np.nan, 50.0, 9.0]])
    ids = ["v0", "v1", "v2", "v3", "v4"]
    for method in ("exact", "greedy"):
        res = solve_lscp(times, T, existing=existing, demand_ids=ids, method=method)
        assert isinstance(res, LscpResult)
        assert not res.feasible
        np.testing.assert_array_equal(res.uncoverable, [3])
        assert res.uncoverable_ids == ("v3",)
        np.testing.assert_array_equal(res.covered, [True, True, True, False, True])
        np.testing.assert_array_equal(res.chosen, [0, 1])
        with pytest.raises(InfeasibleCoverError, match=r"1 demand point\(s\).*: v3$") as info:
            res.raise_if_infeasible()
        assert info.value.uncoverable_ids == ("v3",)
        assert isinstance(info.value, PinganError | ValueError)


def test_feasible_lscp_does_not_raise():
    """A full cover is feasible and raise_if_infeasible is a no-op."""
    times, _, _ = small_instance(1)
    times[0] = 1.0  # candidate 0 reaches everyone
    res = solve_lscp(times, T)
    assert res.feasible
    np.testing.assert_array_equal(res.chosen, [0])
    res.raise_if_infeasible()


def test_lscp_with_existing_covering_everything_opens_nothing():
    """Existing stations covering all points leave nothing to open."""
    times, _, _ = small_instance(2)
    res = solve_lscp(times, T, existing=np.full((2, times.shape[1]), 1.0))
    assert res.n_sites == 0 and res.feasible and res.optimal
    assert res.max_time_min == 1.0


def test_infeasible_message_lists_ids_or_indices():
    """Without demand ids the error names the indices; long lists are shortened."""
    times = np.full((2, 30), np.nan)
    res = solve_lscp(times, T)
    assert len(res.uncoverable) == 30 and res.n_sites == 0
    with pytest.raises(InfeasibleCoverError, match=r"30 demand point\(s\).*0, 1, 2.*and 10 more"):
        res.raise_if_infeasible()


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"times": np.ones(3)}, r"times must be a 2-D array"),
        ({"times": np.ones((0, 3))}, r"times must have at least one candidate"),
        ({"times": np.ones((2, 0))}, r"times must have at least one candidate"),
        ({"times": np.array([[1.0, -2.0, 3.0], [1, 1, 1]])}, r"times has negative"),
        ({"times": [[1.0, "x", 3.0], [1, 1, 1]]}, r"times must be a numeric array"),
        ({"existing": np.ones((1, 4))}, r"existing has 4 demand columns but times has 3"),
        ({"existing": -np.ones((1, 3))}, r"existing has negative"),
        ({"demand": np.ones(4)}, r"demand must have shape \(3,\)"),
        ({"demand": np.array([1.0, -1.0, 2.0])}, r"demand must be >= 0"),
        ({"demand": np.array([1.0, np.nan, 2.0])}, r"demand must be finite"),
        ({"k": -1}, r"k must be between 0 and 2, got -1"),
        ({"k": 3}, r"k must be between 0 and 2, got 3"),
        ({"k": 1.5}, r"k must be a whole number"),
        ({"k": True}, r"k must be a whole number"),
        ({"threshold_min": 0.0}, r"threshold_min must be positive and finite"),
        ({"threshold_min": -5}, r"threshold_min must be positive and finite"),
        ({"threshold_min": math.inf}, r"threshold_min must be positive and finite"),
        ({"threshold_min": math.nan}, r"threshold_min must be positive and finite"),
        ({"method": "fast"}, r"method must be one of 'auto', 'exact', 'greedy'"),
        ({"time_limit_s": 0}, r"time_limit_s must be positive and finite"),
        ({"max_swaps": -1}, r"max_swaps must be >= 0"),
        ({"candidate_ids": ["a"]}, r"candidate_ids has 1 ids but there are 2"),
        ({"demand_ids": ["a", "b", "b"]}, r"demand_ids has duplicate ids"),
        ({"demand_ids": "abc"}, r"demand_ids must be a sequence of str"),
        ({"candidate_ids": [1, 2]}, r"candidate_ids must hold str ids"),
    ],
)
def test_mclp_validation_names_the_parameter(kwargs, match):
    args = {"times": np.ones((2, 3)), "demand": np.ones(3), "k": 1, "threshold_min": T}
    args |= kwargs
    with pytest.raises(AllocationError, match=match):
        solve_mclp(
            args.pop("times"), args.pop("demand"), args.pop("k"), args.pop("threshold_min"), **args
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"times": np.ones((2, 3, 1))}, r"times must be a 2-D array"),
        ({"threshold_min": 0}, r"threshold_min must be positive and finite"),
        ({"existing": np.ones(3)}, r"existing must be a 2-D array"),
        ({"tiebreak": "max"}, r"tiebreak must be one of 'total_time', 'none'"),
        ({"method": "ilp"}, r"method must be one of"),
        ({"exact_max_nonzeros": -1}, r"exact_max_nonzeros must be >= 0"),
    ],
)
def test_lscp_validation_names_the_parameter(kwargs, match):
    args = {"times": np.ones((2, 3)), "threshold_min": T} | kwargs
    with pytest.raises(AllocationError, match=match):
        solve_lscp(args.pop("times"), args.pop("threshold_min"), **args)


def test_errors_are_value_errors():
    """AllocationError is a PinganError, hence a ValueError the service maps to 4xx."""
    assert issubclass(AllocationError, PinganError)
    assert issubclass(InfeasibleCoverError, ValueError)


def test_zero_existing_rows_equal_no_existing():
    """existing with zero rows behaves exactly like existing=None."""
    times, demand, _ = small_instance(8, with_existing=False)
    a = solve_mclp(times, demand, 2, T, existing=np.empty((0, times.shape[1])))
    b = solve_mclp(times, demand, 2, T)
    np.testing.assert_array_equal(a.chosen, b.chosen)
    assert a.gain == b.gain
