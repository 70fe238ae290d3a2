"""The demo job end to end: the newcomer's `make demo` output."""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest

from geo.sample import SYNTHETIC_LABEL
from service.cli import main


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One demo run (the expensive part), shared by the tests of its output."""
    root = tmp_path_factory.mktemp("demo")
    args = ["demo", "--out", str(root / "out"), "--cache-dir", str(root / "cache")]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["-q", *args]) == 0
    return root, args, buf.getvalue()


def test_demo_writes_summary_and_offline_overview(demo_run):
    root, _, printed = demo_run
    out = root / "out"
    assert "overview.html" in printed
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["synthetic"] == SYNTHETIC_LABEL
    net = summary["network"]
    assert net["nodes"] > 50 and net["edges"] > 2 * 50
    # The sample plants exactly two disconnected pieces; the SCC pass drops them.
    assert net["dropped"]["components"] >= 2
    lit = net["lit_km"]
    assert lit["yes"] > 0 and lit["no"] > lit["yes"] and lit["unknown"] > lit["no"]
    assert summary["layers"]["villages"] >= 60
    assert summary["layers"]["incidents"] > 4000
    snaps = {s["layer"]: s for s in summary["snapping"]}
    assert snaps["villages"]["flagged"] == 0  # every sample village sits beside a road
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in md and "lit:" in md
    html = (out / "overview.html").read_text(encoding="utf-8")
    # No page asset is loaded from the network (leaflet.js's own credit link is text).
    assert not re.search(r"<(script|img)[^>]*\ssrc\s*=\s*[\"']?(https?:)?//", html)
    assert not re.search(r"<link[^>]*\shref\s*=\s*[\"']?(https?:)?//", html)
    assert "<script src=" not in html
    assert "L.map" in html
    # Coverage and a sample scenario comparison.
    cov = summary["coverage"]
    assert [r["threshold_min"] for r in cov] == [5, 10, 15, 30]
    assert (out / "coverage_villages.csv").is_file() and (out / "isochrones.geojson").is_file()
    assert "| foot |" in (out / "coverage_by_mode.md").read_text(encoding="utf-8")
    comp = summary["scenario_comparison"]
    assert all(r["lost"] == 0 for r in comp)  # adding a post and lamps never loses coverage
    assert sum(r["gained"] for r in comp) > 0
    assert {p.name for p in (out / "scenarios").iterdir()} == {
        "base.json",
        "post_and_lamps.json",
        "lamps.json",
    }
    # Night safety: hot cells, ranked dark roads, 30 lamps, and their scenario.
    night = summary["night"]
    assert night["hot_cells"] > 0 and night["lamps"]["lamps"] == 30
    # The night-safety map and report use the night incidents only (19:00-06:00).
    assert 0 < night["incidents"] < summary["layers"]["incidents"]
    assert "night incidents (19:00–06:00)" in (out / "hotspots.md").read_text(encoding="utf-8")
    assert (out / "hotspots.html").is_file() and (out / "lamps.geojson").is_file()
    lit = {r["lit"]: r for r in summary["lamps_comparison"]["lit_km"]}
    assert lit["yes"]["delta"] > 0 and lit["yes"]["delta"] == pytest.approx(
        -lit["no"]["delta"] - lit["unknown"]["delta"], abs=2e-3
    )
    assert summary["lamps_comparison"]["villages_changed"] == 0  # lamps change no travel time
    # The sample's own files sit beside the outputs, labelled as synthetic.
    assert "SYNTHETIC" in (out / "sample" / "README.txt").read_text(encoding="utf-8")


def test_demo_second_run_uses_the_cache(demo_run, capsys):
    _, args, _ = demo_run
    assert main(args) == 0
    assert "loaded cached network" in capsys.readouterr().err


def test_demo_and_pingan_lamps_give_one_plan(demo_run, tmp_path):
    """Same sample, same defaults: the demo's lamps and `pingan lamps` are the same plan.

    Same lamp points, the same scenario edit (the same lit stretches) and the same
    households served, counted from the village groups in both.
    """
    root, _, _ = demo_run
    out = root / "out"
    cli_out = tmp_path / "lamps"
    common = ["--sample-dir", str(out / "sample"), "--cache-dir", str(root / "cache")]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["-q", "lamps", "--out", str(cli_out), *common]) == 0
    printed = buf.getvalue()

    def points(path):
        feats = json.loads(path.read_text(encoding="utf-8"))["features"]
        return sorted(tuple(round(c, 6) for c in f["geometry"]["coordinates"]) for f in feats)

    assert points(out / "lamps.geojson") == points(cli_out / "lamps.geojson")
    demo_edit = json.loads((out / "scenarios" / "lamps.json").read_text(encoding="utf-8"))
    cli_edit = json.loads((cli_out / "scenarios" / "lamps.json").read_text(encoding="utf-8"))
    assert demo_edit["edits"] == cli_edit["edits"] and demo_edit["edits"]
    assert "stretches" in demo_edit["edits"][0]
    night = json.loads((out / "summary.json").read_text(encoding="utf-8"))["night"]
    served = night["lamps"]["households_served"]
    assert f"serve {served:,} households" in printed
    assert "village groups" in night["lamps"]["household_basis"]


def test_demo_assigns_every_team_and_briefs_it(demo_run):
    """The demo sends each sample team to its own village and writes its briefing."""
    root, _, _ = demo_run
    out = root / "out"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    teams = summary["teams"]
    assert teams["teams"] == summary["layers"]["teams"] == teams["briefings"]
    assert teams["unmatched"] == 0 and 0 < teams["longest_min"] <= teams["total_min"]
    for name in ("teams.md", "teams_assignment.csv", "teams_assignment.xlsx"):
        assert (out / name).is_file(), name
    briefs = sorted(p.name for p in (out / "briefings").glob("*.geojson"))
    assert len(briefs) == teams["teams"]
    assert "teams_assignment.xlsx" in summary["files"]
    assert "- auxiliary officers (辅警):" in (out / "summary.md").read_text(encoding="utf-8")
