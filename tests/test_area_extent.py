"""Layers that do not belong with the roads: refused when most lie beyond, noted when some do.

Real data: Toronto incidents (MCI 2014-2021) and the Wuhan Optics Valley OSM extract from
../shared, with the small Optics Valley tables of tests/data. The swapped-columns case
needs roads where a latitude could pass for a longitude, so it uses a hand-made grid of
downtown Toronto streets under the real Toronto incidents.
"""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from geo import layers
from geo.area import EXTENT_MARGIN_M, Area, AreaSpec, load_area
from geo.errors import AreaError, LayerError

pytestmark = pytest.mark.shared

OPTICS_VALLEY = Path(__file__).parent / "data" / "optics_valley"
#: Downtown Toronto: the box of the street grid below (W, S, E, N).
DOWNTOWN = (-79.42, 43.64, -79.36, 43.68)


def _grid_osm(box: tuple[float, float, float, float], n: int = 4) -> str:
    """Return OSM XML of an n x n grid of two-way residential streets spanning ``box``."""
    w, s, e, north = box
    lons = [w + (e - w) * i / (n - 1) for i in range(n)]
    lats = [s + (north - s) * j / (n - 1) for j in range(n)]
    nodes = [
        f'<node id="{j * n + i + 1}" version="1" lat="{la:.7f}" lon="{lo:.7f}"/>'
        for j, la in enumerate(lats)
        for i, lo in enumerate(lons)
    ]
    lines = [[j * n + i + 1 for i in range(n)] for j in range(n)]
    lines += [[j * n + i + 1 for j in range(n)] for i in range(n)]
    ways = [
        f'<way id="{k + 1}" version="1">'
        + "".join(f'<nd ref="{r}"/>' for r in refs)
        + '<tag k="highway" v="residential"/></way>'
        for k, refs in enumerate(lines)
    ]
    body = "\n".join(nodes + ways)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n{body}\n</osm>\n'


def _extent(df: pd.DataFrame) -> str:
    """Return a table's lon/lat extent as the error message writes it."""
    box = (df["lon"].min(), df["lat"].min(), df["lon"].max(), df["lat"].max())
    return ",".join(f"{v:.4f}" for v in box)


def _write(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def toronto(shared_path) -> pd.DataFrame:
    """Real Toronto incidents as an incidents table (id, time, category, lon, lat)."""
    src = shared_path("toronto_mci_2014_2021.csv.gz")
    cols = ["occurrencedate", "occurrencehour", "MCI", "Lat", "Long"]
    df = pd.read_csv(src, usecols=cols, nrows=5000)
    day = pd.to_datetime(df["occurrencedate"].str[:10], format="%Y/%m/%d")
    time = day + pd.to_timedelta(df["occurrencehour"], unit="h")
    return pd.DataFrame(
        {
            "id": [f"TO{i:05d}" for i in range(len(df))],
            "time": time.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "category": df["MCI"].str.lower(),
            "lon": df["Long"],
            "lat": df["Lat"],
        }
    )


@pytest.fixture(scope="module")
def downtown(toronto) -> pd.DataFrame:
    """Twenty real Toronto incidents inside the downtown street grid."""
    w, s, e, n = DOWNTOWN
    inside = toronto["lon"].between(w, e) & toronto["lat"].between(s, n)
    return toronto[inside].head(20).reset_index(drop=True)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("extent-cache")


@pytest.fixture(scope="module")
def optics_spec(shared_path) -> AreaSpec:
    """The Optics Valley test tables on the real extract (as the test finds ../shared)."""
    osm = shared_path("wuhan_optics_valley_gaoxin_cn.osm.bz2")
    return dataclasses.replace(AreaSpec.from_file(OPTICS_VALLEY / "area.toml"), osm=str(osm))


@pytest.fixture(scope="module")
def optics_area(optics_spec, cache) -> Area:
    return load_area(optics_spec, cache_dir=cache)


@pytest.fixture(scope="module")
def toronto_csv(toronto, tmp_path_factory) -> Path:
    """The first 20 Toronto incidents, as a user would pass them with --incidents."""
    return _write(toronto.head(20), tmp_path_factory.mktemp("toronto") / "toronto.csv")


def test_the_optics_valley_tables_load_without_a_note(optics_area):
    """Layers that belong with their roads load with no note."""
    assert optics_area.notes == ()
    assert len(optics_area.incidents) == 134


def test_incidents_from_another_continent_are_refused_naming_both_extents(
    optics_spec, optics_area, toronto, toronto_csv, cache
):
    """Toronto incidents on Wuhan roads stop the load: layer, file, count and both extents."""
    spec = dataclasses.replace(optics_spec, incidents=str(toronto_csv))
    with pytest.raises(AreaError) as err:
        load_area(spec, cache_dir=cache)
    msg = str(err.value)
    assert msg.startswith(
        "incidents layer (toronto.csv): 20 of 20 incidents lie beyond the extent of the "
        "roads of wuhan_optics_valley_gaoxin_cn.osm.bz2"
    )
    roads = ",".join(f"{v:.4f}" for v in optics_area.extent)
    assert f"the layer spans W,S,E,N {_extent(toronto.head(20))}, the roads {roads}" in msg
    assert "different places" in msg and "swapped" not in msg
    assert "\n" not in msg


def test_a_few_incidents_beyond_the_roads_load_and_a_note_counts_them(
    optics_spec, toronto, cache, tmp_path
):
    """2 of 20 incidents in Toronto: the layer loads whole and one note counts the 2."""
    local = pd.read_csv(OPTICS_VALLEY / "incidents.csv").head(18)
    mixed = _write(pd.concat([local, toronto.head(2)]), tmp_path / "mixed.csv")
    area = load_area(dataclasses.replace(optics_spec, incidents=str(mixed)), cache_dir=cache)
    assert len(area.incidents) == 20
    assert set(area.layer_notes) == {"incidents"}
    (note,) = area.notes
    assert note.startswith("incidents layer (mixed.csv): 2 of 20 incidents lie beyond")
    assert "kept" in note


@pytest.mark.parametrize(
    ("beyond_m", "noted"),
    [(0.75 * EXTENT_MARGIN_M, False), (1.25 * EXTENT_MARGIN_M, True)],
    ids=["within-margin", "past-margin"],
)
def test_a_layer_just_beyond_the_roads_is_accepted_within_the_margin(
    optics_spec, optics_area, cache, tmp_path, beyond_m, noted
):
    """Within the 2 km margin a team counts as inside; past it, as beyond (and noted).

    One team sits 1.5 km south of the roads' extent, the other 1.5 or 2.5 km east of it;
    1 of 2 beyond is not most of the layer, so it loads with a note.
    """
    w, s, e, n = optics_area.extent
    m_per_deg_lon = 111_320.0 * math.cos(math.radians(n))
    teams = pd.read_csv(OPTICS_VALLEY / "teams.csv")
    teams.loc[0, ["lon", "lat"]] = [e + beyond_m / m_per_deg_lon, (s + n) / 2]
    teams.loc[1, ["lon", "lat"]] = [(w + e) / 2, s - 0.75 * EXTENT_MARGIN_M / 110_574.0]
    spec = dataclasses.replace(optics_spec, teams=str(_write(teams, tmp_path / "teams.csv")))
    area = load_area(spec, cache_dir=cache)
    assert len(area.teams) == 2
    if noted:
        (note,) = area.notes
        assert note.startswith("teams layer (teams.csv): 1 of 2 teams lie beyond")
    else:
        assert area.notes == ()


def test_real_toronto_incidents_on_a_grid_of_toronto_streets_load(downtown, tmp_path):
    """The control for the swap case: the same rows, columns right, load with no note."""
    osm = tmp_path / "downtown.osm"
    osm.write_text(_grid_osm(DOWNTOWN), encoding="utf-8")
    inc = _write(downtown, tmp_path / "incidents.csv")
    area = load_area(AreaSpec(osm=str(osm), incidents=str(inc)))
    assert len(area.incidents) == 20 and area.notes == ()


def test_swapped_lon_lat_columns_are_refused_with_the_swap_hint(downtown, tmp_path):
    """Lon and lat exchanged (in range, but in the Indian Ocean): refused, saying so."""
    osm = tmp_path / "downtown.osm"
    osm.write_text(_grid_osm(DOWNTOWN), encoding="utf-8")
    swapped = downtown.rename(columns={"lon": "lat", "lat": "lon"})
    inc = _write(swapped[["id", "time", "category", "lon", "lat"]], tmp_path / "swapped.csv")
    hint = (
        "the columns look swapped: lon and lat exchanged, 20 of 20 would fall inside; "
        "check which column is longitude"
    )
    with pytest.raises(AreaError, match=re.escape(hint)) as err:
        load_area(AreaSpec(osm=str(osm), incidents=str(inc)))
    assert str(err.value).startswith("incidents layer (swapped.csv): 20 of 20 incidents")
    assert f"the layer spans W,S,E,N {_extent(swapped)}" in str(err.value)


def test_swapped_columns_of_a_chinese_area_are_refused_by_the_reader(optics_spec, cache, tmp_path):
    """Swapped in China, a latitude of 114 degrees is out of range: the reader refuses it."""
    local = pd.read_csv(OPTICS_VALLEY / "incidents.csv")
    swapped = local.rename(columns={"lon": "lat", "lat": "lon"})
    spec = dataclasses.replace(
        optics_spec, incidents=str(_write(swapped, tmp_path / "swapped.csv"))
    )
    with pytest.raises(LayerError, match=r"latitude 114\.\d+ is outside \[-90, 90\]"):
        load_area(spec, cache_dir=cache)


def test_with_layers_refuses_a_layer_from_another_place(optics_area, toronto_csv):
    """A layer handed in (a test, a worker) is checked as one read from a file."""
    far = layers.read_incidents(toronto_csv, to_crs=optics_area.crs)
    with pytest.raises(AreaError, match="^incidents layer: 20 of 20 incidents lie beyond"):
        optics_area.with_layers(incidents=far)


def test_with_layers_rewrites_the_note_of_a_replaced_layer(optics_area, toronto_csv, tmp_path):
    """Replacing a noted layer drops its note; a layer with some beyond gains one."""
    local = pd.read_csv(OPTICS_VALLEY / "incidents.csv").head(9)
    few = pd.concat([local, pd.read_csv(toronto_csv).head(1)])
    mixed = layers.read_incidents(_write(few, tmp_path / "mixed.csv"), to_crs=optics_area.crs)
    noted = optics_area.with_layers(incidents=mixed)
    (note,) = noted.notes
    assert note.startswith("incidents layer: 1 of 10 incidents lie beyond")
    assert noted.with_layers(incidents=optics_area.incidents).notes == ()
    assert noted.with_layers(incidents=None).notes == ()


def test_polygons_without_lon_lat_are_placed_by_a_point_inside(optics_area):
    """Village polygons 50 km off, with no lon/lat columns, are refused by their geometry."""
    plain = optics_area.villages.drop(columns=["lon", "lat"])
    areas = plain.set_geometry(plain.buffer(300.0))
    assert optics_area.with_layers(villages=areas).notes == ()
    moved = areas.set_geometry(areas.translate(xoff=50_000.0))
    with pytest.raises(AreaError, match="^villages layer: 8 of 8 villages lie beyond"):
        optics_area.with_layers(villages=moved)


def test_from_network_checks_its_layers(optics_area, toronto_csv):
    """Assembling an area from pieces refuses a layer from another place too."""
    far = layers.read_incidents(toronto_csv, to_crs=optics_area.crs)
    with pytest.raises(AreaError, match="^incidents layer: 20 of 20 incidents lie beyond"):
        Area.from_network(optics_area.net, incidents=far)


def test_the_cli_exits_2_with_one_line_on_incidents_from_another_continent(
    shared_path, toronto_csv, cache, tmp_path
):
    """`pingan hotspots` with Toronto incidents on Wuhan roads: status 2, one line, no files."""
    pingan = Path(sys.executable).with_name("pingan")
    if not pingan.is_file():
        pytest.skip(f"the pingan command is not installed next to {sys.executable}")
    osm = shared_path("wuhan_optics_valley_gaoxin_cn.osm.bz2")
    out = tmp_path / "out"
    args = ["-q", "hotspots", "--osm", str(osm), "--incidents", str(toronto_csv)]
    args += ["--cache-dir", str(cache), "--out", str(out)]
    done = subprocess.run(
        [str(pingan), *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        "pingan: error: incidents layer (toronto.csv): 20 of 20 incidents lie beyond"
    )
    assert not (out / "hotspots.html").exists()


def test_a_team_whose_home_unit_is_no_station_is_noted(tmp_path) -> None:
    """Teams naming an unknown home unit load, and a note names them and the unit."""
    from geo.area import AreaSpec, load_area
    from geo.sample import ensure_sample

    files = ensure_sample(tmp_path / "sample")
    teams = files.teams.read_text(encoding="utf-8").splitlines()
    header, first, *rest = teams
    cols = header.split(",")
    cells = first.split(",")
    cells[cols.index("home_unit")] = "PS-99"
    bad = tmp_path / "teams.csv"
    bad.write_text("\n".join([header, ",".join(cells), *rest]) + "\n", encoding="utf-8")
    spec = AreaSpec(osm=str(files.roads), stations=str(files.stations), teams=str(bad))
    area = load_area(spec, cache_dir=tmp_path / "cache")
    assert len(area.teams) == len(teams) - 1
    (note,) = [n for n in area.notes if "home_unit" in n]
    assert note.startswith("1 of ") and "'PS-99'" in note and cells[cols.index("id")] in note
    good = load_area(
        AreaSpec(osm=str(files.roads), stations=str(files.stations), teams=str(files.teams)),
        cache_dir=tmp_path / "cache",
    )
    assert not any("home_unit" in n for n in good.notes)
