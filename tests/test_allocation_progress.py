"""Posts report what they are doing and how long each part took (issue 9 §3).

``pingan posts`` on a county printed "solved ... in 0.39 s" after minutes of silence:
the solve was timed, the travel times before it were not. The solvers now tell a
progress callback when the instance is built and when it is solved, and the command
reports both times, which together never exceed the time it ran.
"""

from __future__ import annotations

import re
import time

import numpy as np

from geo.allocation import solve_lscp, solve_mclp
from service.cli import main


def _instance(seed=0, n_cand=40, n_dem=120):
    rng = np.random.default_rng(seed)
    times = rng.uniform(2, 40, (n_cand, n_dem))
    times[rng.random(times.shape) < 0.1] = np.nan
    existing = rng.uniform(5, 60, (2, n_dem))
    return times, existing, rng.integers(1, 500, n_dem).astype(float)


def test_mclp_reports_the_instance_then_the_solve_within_the_wall_time():
    """Progress hears of the reduced instance, then of the solve; the time is true."""
    times, existing, demand = _instance()
    heard: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    res = solve_mclp(
        times,
        demand,
        5,
        15.0,
        existing=existing,
        progress=lambda m: heard.append((time.perf_counter(), m)),
    )
    wall = time.perf_counter() - t0
    messages = [m for _, m in heard]
    assert len(messages) == 2
    assert messages[0].startswith("MCLP instance: 40 candidates x 120 demand points")
    assert messages[1].startswith(f"MCLP solved by {res.method} in ")
    assert 0 < res.solve_time_s <= wall
    # Called as the work goes, not all at the end.
    assert heard[0][0] <= heard[1][0]


def test_a_progress_callback_does_not_change_the_answer():
    """The same picks, coverage and bound with and without someone listening."""
    times, existing, demand = _instance(seed=3)
    quiet = solve_mclp(times, demand, 4, 12.0, existing=existing)
    heard = solve_mclp(times, demand, 4, 12.0, existing=existing, progress=lambda _m: None)
    np.testing.assert_array_equal(quiet.chosen, heard.chosen)
    assert quiet.covered_demand == heard.covered_demand and quiet.bound == heard.bound
    a = solve_lscp(times, 30.0, existing=existing)
    b = solve_lscp(times, 30.0, existing=existing, progress=lambda _m: None)
    np.testing.assert_array_equal(a.chosen, b.chosen)


def test_lscp_reports_the_instance_the_cover_and_the_tiebreak():
    """Three steps, in order, and a solve time within the wall time."""
    times, existing, _ = _instance(seed=1)
    heard: list[str] = []
    t0 = time.perf_counter()
    res = solve_lscp(times, 30.0, existing=existing, progress=heard.append)
    wall = time.perf_counter() - t0
    assert [m.split(" ")[1] for m in heard] == ["instance:", "cover", "travel-time"]
    assert 0 < res.solve_time_s <= wall


def test_posts_prints_travel_and_solve_times_that_fit_in_its_run(tmp_path, capsys):
    """The last line splits the run into travel times and the solve; both fit the wall."""
    args = ["posts", "--k", "2", "--threshold", "10", "--sample-dir", str(tmp_path / "s")]
    args += ["--cache-dir", str(tmp_path / "c")]
    t0 = time.perf_counter()
    assert main(args) == 0
    wall = time.perf_counter() - t0
    captured = capsys.readouterr()
    found = re.search(
        r"travel times in ([0-9.]+) s, then solved by (exact|greedy) in ([0-9.]+) s", captured.out
    )
    assert found, captured.out
    assert float(found[1]) + float(found[3]) <= wall
    assert "candidate sites; travel times, then the solve" in captured.err
