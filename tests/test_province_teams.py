"""The province's vanguard teams: districts measured apart, one match on the whole province.

The province here has 4 districts of one sample tile each, one of them a city, whose
teams are sent to villages in the other districts: the trips that no district's window
holds. Everything is compared with one province-wide run of ``pingan teams assign``'s
job on the same files.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from geo.area import load_area
from geo.errors import PinganError
from geo.province import ProvinceError, ProvinceSpec
from geo.province_teams import choose_villages, plan_team_measures
from geo.sample.province import ensure_province
from geo.teams.measures import MEASURE_COLUMNS, MeasureParams
from geo.teams.plan import TeamParams
from geo.teams.select import SelectParams
from service.batch import SweepOutcome, sweep_session
from service.province_teams import province_teams
from service.teams import TeamOptions, run_teams_job


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    return ensure_province(
        tmp_path_factory.mktemp("province"),
        seed=11,
        districts=4,
        tiles=(1, 1),
        per_row=2,
        n_villages=24,
        n_incidents=60,
        buffer_km=6.0,
        urban=(1,),
    )


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("netcache")


@pytest.fixture(scope="module")
def spec(province):
    return ProvinceSpec.from_file(province.province)


@pytest.fixture(scope="module")
def whole(spec, cache):
    """The reference: the whole province as one area, every team job as for an area."""
    area = load_area(spec.area, cache_dir=cache)
    return area, run_teams_job(area)


def _serial(spec, cache, options):
    steps = plan_team_measures(spec, options.measure, cache_dir=str(cache))
    with sweep_session(serial=True) as run:
        outcome = run(steps)
        report = province_teams(spec, outcome, run, options, cache_dir=str(cache))
    assert not outcome.failures
    return outcome, report


@pytest.fixture(scope="module")
def serial(spec, cache):
    return _serial(spec, cache, TeamOptions(SelectParams(), TeamParams(), MeasureParams()))


def test_the_province_has_teams_and_officers_and_a_city_team_sent_far(province, spec):
    teams = pd.read_csv(province.teams, dtype=str)
    stations = json.loads(province.stations.read_text())["features"]
    ids = {f["properties"]["id"] for f in stations}
    assert teams["id"].is_unique and teams["home_unit"].isin(ids).all()
    # One team per rural tile, two at the city's stations.
    city = spec.districts[1].code
    assert (teams["id"].str.startswith(f"{city}-C-")).sum() == 2
    assert len(teams) == 3 + 2
    off = pd.read_csv(province.officers, dtype=str, keep_default_na=False)
    codes = set(pd.read_csv(province.villages, dtype=str)["code"])
    placed = off["village_code"] != ""
    assert placed.mean() > 0.8 and off.loc[placed, "village_code"].isin(codes).all()


def test_district_measures_equal_the_province_wide_ones(serial, whole):
    outcome, report = serial
    _, ref = whole
    got = report.scores.table.set_index("code")
    want = ref.scores.table.set_index("code")
    assert sorted(got.index) == sorted(want.index)  # each village once, by its district
    want = want.loc[got.index]
    exact = got["border_exact"].to_numpy(bool)
    assert exact.mean() > 0.5
    for col in MEASURE_COLUMNS:
        a, b = got[col], want[col]
        if not pd.api.types.is_numeric_dtype(a):
            assert (a[exact].astype(str) == b[exact].astype(str)).all(), col
            continue
        a, b = a.to_numpy(float), b.to_numpy(float)
        same = np.isclose(a, b, rtol=0, atol=1e-6) | (np.isnan(a) & np.isnan(b))
        assert same[exact].all(), col
        if col in ("road_km", "dark_km", "unlit_km", "incidents", "disputes", "residents"):
            # Ground, not trips: the window's neighbours claim their share everywhere.
            assert same.all(), col
    # A district never finds a station faster than the province does.
    assert (got["station_min"] >= want["station_min"] - 1e-6).all()
    # The scores are the province's: shares of its own longest trips.
    np.testing.assert_allclose(got["score"], want["score"], atol=1e-9)


def test_the_one_match_equals_the_province_wide_one(serial, whole):
    _, report = serial
    _, ref = whole
    assert report.selection.codes == ref.selection.codes
    a = report.assignment.table.set_index("team")
    b = ref.assignment.table.set_index("team").loc[a.index]
    assert list(a["village_code"]) == list(b["village_code"])
    np.testing.assert_allclose(a["minutes"], b["minutes"], atol=1e-9)
    np.testing.assert_allclose(a["km"], b["km"], atol=1e-9)
    assert report.assignment.total_min == pytest.approx(ref.assignment.total_min)
    # Some team crosses into another district: a trip no district's window holds.
    district = a["village_code"].str[:6]
    team_district = a.index.str[:6]
    assert (district != team_district).any()


def test_a_district_whose_measures_failed_stops_the_match_with_its_name(spec, cache):
    options = TeamOptions(SelectParams(), TeamParams(), MeasureParams())
    steps = plan_team_measures(spec, options.measure, cache_dir=str(cache))
    with sweep_session(serial=True) as run:
        outcome = run(steps[1:])
        half = SweepOutcome(tasks=steps, rows=outcome.rows)
        with pytest.raises(PinganError, match=rf"district\(s\) {steps[0].district} did not"):
            province_teams(spec, half, run, options)


def test_a_province_without_teams_is_refused_before_any_work(province):
    no_teams = province.folder / "no_teams.toml"
    text = province.province.read_text(encoding="utf-8")
    no_teams.write_text(
        "\n".join(ln for ln in text.splitlines() if not ln.startswith("teams")), encoding="utf-8"
    )
    with pytest.raises(ProvinceError, match=r"no_teams.toml: a team assignment needs 'teams'"):
        plan_team_measures(ProvinceSpec.from_file(no_teams), MeasureParams())


def test_a_district_cap_holds_across_the_province(spec, serial):
    outcome, report = serial
    parts = [r.villages for r in outcome.rows.values() if "station_min" in r.villages]
    assert len(parts) == len(spec.districts)
    _, sel = choose_villages(spec, parts, SelectParams(n=3, per_district=1))
    chosen = sel.chosen
    assert chosen["district_code"].astype(str).is_unique
    # One per district by need (the city's communities are not eligible): each the
    # neediest village of its district.
    t = report.scores.table
    t = t[t["kind"] == "village"]
    best = t.groupby(t["district_code"].astype(str))["score"].max()
    for row in chosen.itertuples():
        assert row.score == best[str(row.district_code)]


def test_the_sweep_command_on_dask_writes_the_serial_teams_tables(province, tmp_path, cache):
    pytest.importorskip("distributed")
    from service.cli import main

    outs = {}
    for how in (["--serial"], ["--workers", "2"]):
        out = tmp_path / how[0].strip("-")
        rc = main(["sweep", "--area", str(province.province), "--teams", *how, "-q",
                   "--out", str(out), "--cache-dir", str(cache), "--lang", "en"])  # fmt: skip
        assert rc == 0
        outs[how[0]] = out
    a, b = (pd.read_csv(o / "teams_assignment.csv", dtype=str) for o in outs.values())
    pd.testing.assert_frame_equal(a, b)
    va, vb = (pd.read_csv(o / "teams_villages.csv", dtype=str) for o in outs.values())
    pd.testing.assert_frame_equal(va, vb)
    assert {"lon", "lat", "border_exact", "district"} <= set(va.columns)
    m = json.loads((outs["--workers"] / "manifest.json").read_text())
    assert {"teams_assignment.csv", "teams_routes.geojson", "teams.md"} <= set(m["files"])
    assert m["teams"]["teams"] == 5 and not m["failed"]
    assert m["tasks"] == 4 + 4 + 1  # coverage, measures, the match
    routes = json.loads((outs["--workers"] / "teams_routes.geojson").read_text())
    assert len(routes["features"]) == 5
    assert all(f["geometry"]["type"] == "LineString" for f in routes["features"])
