"""Weighted max cover with conflicts: brute force, bounds, guarantees, tie-breaks, errors."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import linprog

from geo.errors import AllocationError
from geo.maxcover import MaxCoverResult, prune, solve_max_cover

# Small random instances, each solved exactly and by brute force: 15 seeds per case keep
# conflicts, ties and modular cases all represented without dominating the suite.
SEEDS = range(15)

# --------------------------------------------------------------------------- helpers


def random_instance(seed: int, *, conflicts: bool):
    """Return (cover, weight, pairs) with 5-9 candidates, 6-16 elements, integer weights."""
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(5, 10)), int(rng.integers(6, 17))
    dense = rng.random((m, n)) < 0.3
    weight = rng.integers(0, 10, n).astype(float)
    pairs = np.zeros((0, 2), dtype=np.int64)
    if conflicts:
        i, j = np.triu_indices(m, 1)
        keep = rng.random(len(i)) < 0.25
        pairs = np.column_stack([i[keep], j[keep]]).astype(np.int64)
    return sparse.csr_array(dense.astype(float)), weight, pairs


def value_of(cover, weight, rows) -> float:
    rows = list(rows)
    if not rows:
        return 0.0
    return float(weight[cover.toarray()[rows].any(axis=0)].sum())


def brute_force(cover, weight, k: int, pairs) -> float:
    """Best value over every conflict-free set of at most k candidates."""
    m = cover.shape[0]
    banned = {tuple(p) for p in np.asarray(pairs).tolist()}
    best = 0.0
    for size in range(1, min(k, m) + 1):
        for rows in itertools.combinations(range(m), size):
            if any(pair in banned for pair in itertools.combinations(rows, 2)):
                continue
            best = max(best, value_of(cover, weight, rows))
    return best


def conflict_free(chosen, pairs) -> bool:
    chosen = set(np.asarray(chosen).tolist())
    return not any(i in chosen and j in chosen for i, j in np.asarray(pairs).tolist())


def reference_greedy(cover, weight, k: int, pairs, priority) -> list[int]:
    """Plain (not lazy) greedy: recompute every gain each round, best key wins."""
    a = cover.toarray().astype(bool)
    m = a.shape[0]
    degree = np.zeros(m, dtype=int)
    np.add.at(degree, np.asarray(pairs, dtype=int).ravel(), 1)
    prio = np.zeros((m, 0)) if priority is None else np.asarray(priority, float).reshape(m, -1)
    covered = np.zeros(a.shape[1], dtype=bool)
    blocked = np.zeros(m, dtype=bool)
    picked: list[int] = []
    while len(picked) < k:
        gains = (a & ~covered) @ weight
        options = [j for j in range(m) if not blocked[j] and gains[j] > 0]
        if not options:
            break
        j = max(options, key=lambda j: (gains[j], *prio[j], -degree[j], -j))
        picked.append(j)
        covered |= a[j]
        blocked[j] = True
        for p, q in np.asarray(pairs).tolist():
            if j in (p, q):
                blocked[q if p == j else p] = True
    return picked


def lp_relaxation(cover, weight, k: int, pairs) -> float:
    """LP relaxation of the max-cover MILP, built independently with dense matrices."""
    a = cover.toarray()
    m, n = a.shape
    rows = [np.hstack([-a.T, np.eye(n)]), np.hstack([np.ones((1, m)), np.zeros((1, n))])]
    b = [np.zeros(n), [k]]
    for i, j in np.asarray(pairs).tolist():
        row = np.zeros((1, m + n))
        row[0, [i, j]] = 1.0
        rows.append(row)
        b.append([1.0])
    res = linprog(
        np.concatenate([np.zeros(m), -weight]),
        A_ub=np.vstack(rows),
        b_ub=np.concatenate(b),
        bounds=(0, 1),
        method="highs",
    )
    assert res.status == 0
    return -float(res.fun)


# --------------------------------------------------------------------------- brute force


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("with_conflicts", [False, True])
def test_exact_matches_brute_force(seed, with_conflicts):
    """Exact finds the best conflict-free set of at most k and says it is proven optimal."""
    cover, weight, pairs = random_instance(seed, conflicts=with_conflicts)
    for k in (1, 2, 3):
        res = solve_max_cover(cover, weight, k, conflicts=pairs, method="exact")
        assert res.value == pytest.approx(brute_force(cover, weight, k, pairs), abs=1e-6)
        assert res.method == "exact" and res.optimal
        assert res.guarantee.startswith("optimal (MILP") and res.ratio == 1.0
        assert res.gap == pytest.approx(0.0, abs=1e-6)
        assert res.n_chosen <= k and conflict_free(res.chosen, pairs)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("with_conflicts", [False, True])
def test_greedy_keeps_its_guarantee_and_bound(seed, with_conflicts):
    """Greedy (with or without swaps) reaches ratio x optimum; its bound bounds the optimum."""
    cover, weight, pairs = random_instance(seed, conflicts=with_conflicts)
    for k in (1, 2, 3, 4):
        opt = brute_force(cover, weight, k, pairs)
        plain = solve_max_cover(cover, weight, k, conflicts=pairs)
        swapped = solve_max_cover(cover, weight, k, conflicts=pairs, max_swaps=50)
        for res in (plain, swapped):
            assert res.method == "greedy"
            assert res.value >= res.ratio * opt - 1e-9
            assert res.value <= opt + 1e-9
            assert res.bound >= opt - 1e-9
            assert res.value == pytest.approx(value_of(cover, weight, res.chosen))
            assert res.n_chosen <= k and conflict_free(res.chosen, pairs)
            if res.optimal:
                assert res.value == pytest.approx(opt)
        assert swapped.value >= plain.value - 1e-9


@pytest.mark.parametrize("seed", range(15))
def test_bound_is_no_weaker_than_its_parts(seed):
    """The bound is at most the top-k singleton sum and, when computed, the LP relaxation."""
    cover, weight, pairs = random_instance(seed, conflicts=seed % 2 == 1)
    for k in (1, 3):
        res = solve_max_cover(cover, weight, k, conflicts=pairs)
        single = np.sort(cover.toarray() @ weight)[::-1]
        assert res.bound <= single[:k].sum() + 1e-9
        assert res.bound <= lp_relaxation(cover, weight, k, pairs) + 1e-6
        assert res.bound <= weight[cover.toarray().any(axis=0)].sum() + 1e-9
        expected = (res.bound - res.value) / res.bound if res.bound else 0.0
        assert res.gap == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(10))
def test_gains_are_marginal_in_pick_order(seed):
    """Each gain is what the pick adds to those before it; gains never increase."""
    cover, weight, pairs = random_instance(seed, conflicts=True)
    for method in ("greedy", "exact"):
        res = solve_max_cover(cover, weight, 4, conflicts=pairs, method=method, max_swaps=20)
        before = [value_of(cover, weight, res.chosen[:i]) for i in range(res.n_chosen + 1)]
        np.testing.assert_allclose(res.gains, np.diff(before), atol=1e-9)
        assert np.all(np.diff(res.gains) <= 1e-9)
        assert res.gains.sum() == pytest.approx(res.value)


@pytest.mark.parametrize("method", ["greedy", "exact"])
def test_same_input_same_answer(method):
    """Solving twice, on copies, gives identical picks, gains and bounds."""
    cover, weight, pairs = random_instance(3, conflicts=True)
    a = solve_max_cover(cover, weight, 3, conflicts=pairs, method=method, max_swaps=10)
    b = solve_max_cover(
        cover.copy(), weight.copy(), 3, conflicts=pairs.copy(), method=method, max_swaps=10
    )
    np.testing.assert_array_equal(a.chosen, b.chosen)
    np.testing.assert_array_equal(a.gains, b.gains)
    assert (a.value, a.bound, a.gap, a.guarantee) == (b.value, b.bound, b.gap, b.guarantee)


# --------------------------------------------------------------------------- guarantees


@pytest.mark.parametrize("seed", range(10))
def test_modular_coverage_makes_greedy_optimal(seed):
    """Each element covered by at most one candidate: greedy takes the top k, proven optimal."""
    rng = np.random.default_rng(seed)
    m, n = 8, 30
    owner = rng.integers(-1, m, n)  # -1: covered by nobody
    cols = np.flatnonzero(owner >= 0)
    cover = sparse.csr_array((np.ones(len(cols)), (owner[cols], cols)), shape=(m, n))
    weight = rng.uniform(0.5, 5.0, n)
    single = cover @ weight
    for k in (1, 3, 5):
        res = solve_max_cover(cover, weight, k)
        assert res.ratio == 1.0 and res.guarantee.startswith("optimal (modular")
        assert res.optimal and res.gap == pytest.approx(0.0, abs=1e-9)
        top = np.sort(single[single > 0])[::-1][:k]
        assert res.value == pytest.approx(top.sum())
        np.testing.assert_allclose(np.sort(res.gains)[::-1], top)


def test_guarantee_follows_the_instance():
    """1 - 1/e without conflicts; 1/(d+1) with d conflicts each; 1/d if modular; matroid."""
    overlap = sparse.csr_array(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 1]]))
    w = np.ones(4)
    res = solve_max_cover(overlap, w, 2)
    assert res.ratio == pytest.approx(1 - 1 / math.e) and "Nemhauser" in res.guarantee
    ring = np.array([[0, 1], [1, 2], [2, 3], [0, 3]])  # every candidate has 2 conflicts
    res = solve_max_cover(overlap, w, 2, conflicts=ring)
    assert res.ratio == pytest.approx(1 / 3) and "2-system" in res.guarantee
    modular = sparse.csr_array(np.eye(4))
    res = solve_max_cover(modular, w, 2, conflicts=ring)
    assert res.ratio == pytest.approx(1 / 2) and "Jenkyns" in res.guarantee
    res = solve_max_cover(modular, w, 2, conflicts=[[0, 1], [2, 3]])
    assert res.ratio == 1.0 and "matroid" in res.guarantee


def test_conflicts_of_worthless_candidates_do_not_weaken_the_guarantee():
    """Only candidates covering weight can be chosen, so only their conflicts count."""
    cover = sparse.csr_array(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]]))
    res = solve_max_cover(cover, np.ones(3), 2, conflicts=[[0, 3], [1, 3], [2, 3]])
    assert res.ratio == 1.0 and res.optimal


def test_nothing_to_choose_is_optimal():
    """k = 0, or no candidate covering any weight, gives an empty optimal answer."""
    cover = sparse.csr_array(np.array([[1.0, 0.0], [0.0, 1.0]]))
    for k, w in ((0, np.ones(2)), (2, np.zeros(2))):
        res = solve_max_cover(cover, w, k, method="exact")
        assert res.n_chosen == 0 and res.value == 0.0 and res.bound == 0.0
        assert res.optimal and res.ratio == 1.0 and res.guarantee.startswith("optimal (nothing")


def test_k_may_exceed_the_candidates():
    """k above n_candidates is allowed: everything useful is chosen, optimally."""
    cover = sparse.csr_array(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]))
    res = solve_max_cover(cover, [1.0, 2.0, 3.0], 10)
    assert sorted(res.chosen.tolist()) == [0, 1] and res.value == 6.0 and res.optimal


# --------------------------------------------------------------------------- tie-breaks


def test_ties_go_to_priority_then_fewer_conflicts_then_lowest_index():
    """Equal gains: higher priority first, then fewer conflicts, then the lowest index."""
    cover = sparse.csr_array(np.eye(4))
    w = np.ones(4)
    assert solve_max_cover(cover, w, 1).chosen.tolist() == [0]
    assert solve_max_cover(cover, w, 1, priority=[0, 0, 5, 1]).chosen.tolist() == [2]
    # Candidates 0 and 1 conflict with 3; 2 conflicts with nobody.
    res = solve_max_cover(cover, w, 4, conflicts=[[0, 3], [1, 3]])
    assert res.chosen.tolist() == [2, 0, 1]
    # Priority beats conflicts: 3 has the most conflicts but the highest priority.
    res = solve_max_cover(cover, w, 4, conflicts=[[0, 3], [1, 3]], priority=[0, 0, 0, 1])
    assert res.chosen.tolist() == [3, 2]
    # Priority columns compare in order; the second decides only where the first ties.
    prio = np.array([[1, 0], [1, 3], [0, 9], [1, 3]])
    assert solve_max_cover(cover, w, 4, priority=prio).chosen.tolist() == [1, 3, 0, 2]


def test_a_larger_gain_always_beats_priority():
    """The tie-break only separates equal gains."""
    cover = sparse.csr_array(np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    res = solve_max_cover(cover, np.ones(3), 1, priority=[0, 100])
    assert res.chosen.tolist() == [0]


@pytest.mark.parametrize("seed", range(15))
def test_lazy_greedy_picks_exactly_like_plain_greedy(seed):
    """On tie-heavy instances lazy greedy picks the same sequence as recomputing every gain."""
    rng = np.random.default_rng(100 + seed)
    m, n = int(rng.integers(6, 25)), int(rng.integers(6, 40))
    cover = sparse.csr_array((rng.random((m, n)) < 0.2).astype(float))
    weight = rng.integers(0, 3, n).astype(float)  # small integers: many exact ties
    i, j = np.triu_indices(m, 1)
    keep = rng.random(len(i)) < 0.1
    pairs = np.column_stack([i[keep], j[keep]])
    priority = rng.integers(0, 2, m)
    k = int(rng.integers(1, m + 1))
    res = solve_max_cover(cover, weight, k, conflicts=pairs, priority=priority, prune=False)
    assert res.chosen.tolist() == reference_greedy(cover, weight, k, pairs, priority)


# --------------------------------------------------------------------------- pruning, limits


def redundant_instance():
    """Greedy picks 0 first (gain 2), then 1 and 2 (0.9 each), which together cover 0's."""
    cover = sparse.csr_array(np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1]], dtype=float))
    return cover, np.array([1.0, 1.0, 0.9, 0.9])


def test_prune_drops_a_candidate_that_adds_nothing_alone():
    """prune=True drops the redundant pick without losing weight; False keeps greedy's."""
    cover, weight = redundant_instance()
    kept = solve_max_cover(cover, weight, 3, prune=False)
    pruned = solve_max_cover(cover, weight, 3)
    assert kept.chosen.tolist() == [0, 1, 2]
    np.testing.assert_allclose(kept.gains, [2.0, 0.9, 0.9])
    assert sorted(pruned.chosen.tolist()) == [1, 2]
    assert pruned.value == pytest.approx(kept.value) == pytest.approx(3.8)
    np.testing.assert_array_equal(prune(cover, weight, [0, 1, 2]), [1, 2])
    np.testing.assert_array_equal(prune(cover, weight, [1, 2, 0]), [1, 2])


def test_swaps_respect_conflicts():
    """A swap that would improve the value but create a conflict is not made."""
    # Greedy takes 0 (gain 4), then 1 (1.5, against 1.4 for 2). Swapping 2 in for 0 gives
    # 6.9 > 5.5, unless 2 conflicts with 1, which stays.
    cover = sparse.csr_array(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 0, 1]], dtype=float))
    weight = np.array([2.0, 2.0, 1.5, 1.4])
    free = solve_max_cover(cover, weight, 2, max_swaps=10)
    assert sorted(free.chosen.tolist()) == [1, 2] and free.value == pytest.approx(6.9)
    res = solve_max_cover(cover, weight, 2, conflicts=[[1, 2]], max_swaps=10)
    assert sorted(res.chosen.tolist()) == [0, 1] and res.value == pytest.approx(5.5)


def test_auto_switches_on_size():
    """method='auto' is exact while the matrix is small, greedy beyond exact_max_nonzeros."""
    cover, weight, pairs = random_instance(1, conflicts=True)
    assert solve_max_cover(cover, weight, 2, method="auto").method == "exact"
    assert solve_max_cover(cover, weight, 2, method="auto", exact_max_nonzeros=0).method == "greedy"


def test_exact_stopped_by_the_time_limit_is_no_worse_than_greedy():
    """A time limit too short for HiGHS still returns a valid answer >= greedy's."""
    rng = np.random.default_rng(5)
    cover = sparse.csr_array((rng.random((300, 2000)) < 0.03).astype(float))
    weight = rng.integers(1, 100, 2000).astype(float)
    greedy = solve_max_cover(cover, weight, 20, max_swaps=50)
    res = solve_max_cover(cover, weight, 20, method="exact", max_swaps=50, time_limit_s=0.05)
    assert res.value >= greedy.value - 1e-9
    assert res.value <= res.bound
    if not res.optimal:
        assert "stopped" in res.guarantee and res.ratio == greedy.ratio
        assert res.solve_time_s < 10.0


def test_inputs_in_any_matrix_form_agree():
    """Dense arrays, csr_matrix and csr_array give the same answer."""
    cover, weight, pairs = random_instance(7, conflicts=True)
    results = [
        solve_max_cover(c, weight, 3, conflicts=pairs)
        for c in (cover, cover.toarray(), sparse.csr_matrix(cover), cover.tocoo())
    ]
    for res in results[1:]:
        np.testing.assert_array_equal(res.chosen, results[0].chosen)


# --------------------------------------------------------------------------- result


def test_result_is_frozen_read_only_and_tabular():
    """Fields cannot change, arrays are read-only, and picks come out as a table."""
    cover, weight = redundant_instance()
    res = solve_max_cover(cover, weight, 3, prune=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.value = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        res.chosen[0] = 2
    frame = res.tables()["picks"]
    assert frame["candidate"].tolist() == [0, 1, 2]
    assert frame["cumulative"].iloc[-1] == pytest.approx(res.value)
    assert res.to_dict()["bound_source"] == res.bound_source


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"bound": 1.0, "gap": 0.0}, r"value <= bound"),
        ({"gains": np.array([2.0, 0.9, 0.5])}, r"sum to"),
        ({"gains": np.array([0.9, 2.0, 0.9])}, r"non-increasing"),
        ({"k": 2}, r"chooses 3 candidates but k is 2"),
        ({"chosen": np.array([0, 0, 1])}, r"repeats a candidate"),
        ({"chosen": np.array([0, 1, 3])}, r"outside the 3 candidates"),
        ({"gap": 0.5}, r"gap"),
        ({"method": "magic"}, r"method must be"),
        ({"ratio": 0.0}, r"ratio in \(0, 1\]"),
    ],
)
def test_result_rejects_inconsistent_fields(change, match):
    cover, weight = redundant_instance()
    res = solve_max_cover(cover, weight, 3, prune=False)
    fields = {f.name: getattr(res, f.name) for f in dataclasses.fields(res)}
    with pytest.raises(AllocationError, match=match):
        MaxCoverResult(**(fields | change))


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cover": np.ones(3)}, r"cover must be a 2-D matrix"),
        ({"cover": [[1, "x", 0], [0, 1, 0]]}, r"cover must be a numeric 0/1 matrix"),
        ({"cover": np.array([[1.0, 2.0, 0.0], [0, 1, 0]])}, r"cover must hold only 0 and 1"),
        ({"weight": np.ones(4)}, r"weight must have shape \(3,\)"),
        ({"weight": np.array([1.0, -1.0, 1.0])}, r"weight must be >= 0"),
        ({"weight": np.array([1.0, np.nan, 1.0])}, r"weight must be finite"),
        ({"k": -1}, r"k must be >= 0"),
        ({"k": True}, r"k must be a whole number"),
        ({"conflicts": [[0, 2]]}, r"conflicts must hold candidate indices in \[0, 2\)"),
        ({"conflicts": [[1, 1]]}, r"conflicts pairs candidate 1 with itself"),
        ({"conflicts": [0, 1, 1]}, r"conflicts must be an integer array of shape"),
        ({"conflicts": [[0.0, 1.0]]}, r"conflicts must be an integer array of shape"),
        ({"priority": [1, 2, 3]}, r"priority must have shape \(2,\)"),
        ({"priority": [1, np.nan]}, r"priority must be finite"),
        ({"method": "fast"}, r"method must be one of 'auto', 'exact', 'greedy'"),
        ({"max_swaps": -1}, r"max_swaps must be >= 0"),
        ({"prune": "yes"}, r"prune must be True or False"),
        ({"time_limit_s": 0}, r"time_limit_s must be a positive number"),
        ({"exact_max_nonzeros": -5}, r"exact_max_nonzeros must be >= 0"),
        ({"lp_max_nonzeros": 1.5}, r"lp_max_nonzeros must be a whole number"),
    ],
)
def test_validation_names_the_parameter(kwargs, match):
    args = {"cover": np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]), "weight": np.ones(3), "k": 1}
    args |= kwargs
    with pytest.raises(AllocationError, match=match):
        solve_max_cover(args.pop("cover"), args.pop("weight"), args.pop("k"), **args)


@pytest.mark.parametrize(
    ("chosen", "match"),
    [
        ([0, 0], r"chosen must hold distinct candidate indices"),
        ([0, 5], r"chosen must hold distinct candidate indices in \[0, 3\)"),
        ([[0, 1]], r"chosen must be a 1-D array"),
        ([0.5], r"chosen must be a 1-D array of candidate indices"),
    ],
)
def test_prune_validates_chosen(chosen, match):
    cover, weight = redundant_instance()
    with pytest.raises(AllocationError, match=match):
        prune(cover, weight, chosen)
