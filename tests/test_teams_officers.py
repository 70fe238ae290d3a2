"""Auxiliary officers (辅警): the officers layer, and "one village, one officer" gaps."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from geo.area import Area, AreaSpec, load_area, sample_area
from geo.errors import AreaError, LayerError, TeamError
from geo.layers import OFFICER_COLUMNS, read_officers, read_villages
from geo.network import build_network
from geo.teams.officers import OfficerCheck, check_officers

LAT = 30.9
LON0 = 114.30
#: Degrees of longitude per km on the test road (at 30.9 N).
DEG_PER_KM = 1 / (111.320 * np.cos(np.radians(LAT)))

#: One straight two-way road, 10 km east from (114.30, 30.9).
ROAD_OSM = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
    + "\n".join(
        f'<node id="{i + 1}" version="1" lat="{LAT}" lon="{LON0 + i * DEG_PER_KM:.7f}"/>'
        for i in range(11)
    )
    + '\n<way id="1" version="1">'
    + "".join(f'<nd ref="{i + 1}"/>' for i in range(11))
    + '<tag k="highway" v="tertiary"/></way>\n</osm>\n'
)

#: Seven villagers' committees V1..V7 at km 0..6 of the road, and one community at km 7.
VILLAGES = [(f"42019910020{k + 1}", f"V{k + 1}", float(k)) for k in range(7)]
VILLAGES.append(("420199100001", "C1", 7.0))


def code(name: str) -> str:
    """Return the code of a village of `VILLAGES` by its name."""
    return next(c for c, n, _ in VILLAGES if n == name)


def lon(km: float) -> float:
    return LON0 + km * DEG_PER_KM


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def villages_csv(rows: list[tuple[str, str, float]] = VILLAGES) -> str:
    body = "".join(f"{c},{n},{lon(km):.7f},{LAT}\n" for c, n, km in rows)
    return "code,name,lon,lat\n" + body


def officers_csv(rows: list[tuple[str, str, float]]) -> str:
    """Return an officers CSV of (id, village name or "" for unplaced, home km) rows."""
    body = "".join(f"{i},{i}姓名,{code(v) if v else ''},{lon(km):.7f},{LAT}\n" for i, v, km in rows)
    return "id,name,village_code,lon,lat\n" + body


@pytest.fixture(scope="module")
def road(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("road") / "road.osm", ROAD_OSM)


@pytest.fixture(scope="module")
def base(road: Path, tmp_path_factory: pytest.TempPathFactory) -> Area:
    """The road with its villages and no officers yet."""
    net = build_network(road)
    folder = tmp_path_factory.mktemp("villages")
    villages = read_villages(write(folder / "v.csv", villages_csv()), to_crs=net.crs)
    return Area.from_network(net, villages=villages)


def with_officers(area: Area, tmp_path: Path, rows: list[tuple[str, str, float]]) -> Area:
    path = write(tmp_path / "officers.csv", officers_csv(rows))
    return area.with_layers(officers=read_officers(path, to_crs=area.crs))


def proposed(result: OfficerCheck) -> dict[str, str]:
    """Return gap village name -> proposed officer id."""
    p = result.proposals
    return dict(zip(p["name"], p["officer_id"], strict=True))


#: V1 and V6 have spare officers, V3, V5 and V7 none, U1 is not yet placed.
KNOWN = [
    ("O1", "V1", 0.0),
    ("O2", "V1", 0.2),
    ("O3", "V2", 1.0),
    ("O4", "V4", 3.0),
    ("O5", "V6", 5.0),
    ("O6", "V6", 5.1),
    ("O7", "V6", 4.9),
    ("U1", "", 7.5),
]


# ----------------------------------------------------------------------------- the layer


def test_officers_with_chinese_headers_read(tmp_path: Path) -> None:
    """警号, 姓名, 驻村代码, 联系电话, 所属派出所 and 经度/纬度 read as the officers schema."""
    text = (
        "警号,姓名,驻村代码,联系电话,所属派出所,经度,纬度\n"
        f"FJ-1,张三,{code('V1')},139****0001,PS-01,{lon(0):.7f},{LAT}\n"
        f"FJ-2,李四,,,PS-02,{lon(1):.7f},{LAT}\n"
    )
    got = read_officers(write(tmp_path / "o.csv", text))
    assert list(got.columns) == [*OFFICER_COLUMNS, "lon", "lat", "geometry"]
    assert got["id"].tolist() == ["FJ-1", "FJ-2"]
    assert got["village_code"].tolist() == [code("V1"), ""]
    assert got["phone"].tolist() == ["139****0001", ""]
    assert got["unit"].tolist() == ["PS-01", "PS-02"]
    assert (got.geometry.geom_type == "Point").all()


def test_a_repeated_officer_id_names_its_row_and_column(tmp_path: Path) -> None:
    """Two officers with one 警号 are refused, naming the second row and the header."""
    text = f"警号,姓名,驻村代码,经度,纬度\nA,甲,,{lon(0)},{LAT}\nA,乙,,{lon(1)},{LAT}\n"
    with pytest.raises(LayerError, match=re.escape("row 2, column '警号': duplicate id 'A'")):
        read_officers(write(tmp_path / "o.csv", text))


def test_a_village_code_not_of_12_digits_names_its_row_and_column(tmp_path: Path) -> None:
    """A village code that is not 12 digits is refused, naming its row and header."""
    text = (
        f"id,name,村代码,lon,lat\nA,甲,{code('V1')},{lon(0)},{LAT}\nB,乙,4201991,{lon(1)},{LAT}\n"
    )
    with pytest.raises(
        LayerError, match=re.escape("row 2, column '村代码': village code '4201991' is not 12")
    ):
        read_officers(write(tmp_path / "o.csv", text))


def test_a_bad_coordinate_names_its_row_and_column(tmp_path: Path) -> None:
    """A latitude beyond 90 degrees is refused, naming its row and header."""
    text = f"id,name,village_code,lon,纬度\nA,甲,,{lon(0)},{LAT}\nB,乙,,{lon(1)},95.5\n"
    with pytest.raises(LayerError, match=re.escape("row 2, column '纬度': latitude 95.5")):
        read_officers(write(tmp_path / "o.csv", text))


def test_an_unknown_village_code_stops_the_area_naming_the_row(road: Path, tmp_path: Path) -> None:
    """Loading refuses officers serving a village the villages layer lacks, by row."""
    villages = write(tmp_path / "v.csv", villages_csv())
    text = officers_csv([("O1", "V1", 0.0)]) + f"O2,乙,420199100299,{lon(1)},{LAT}\n"
    spec = AreaSpec(
        osm=str(road), villages=str(villages), officers=str(write(tmp_path / "o.csv", text))
    )
    with pytest.raises(AreaError, match=re.escape("o.csv: column 'village_code' names")) as err:
        load_area(spec)
    assert "row 2 (420199100299)" in str(err.value)


def test_an_area_file_loads_its_officers(road: Path, tmp_path: Path) -> None:
    """The area file's ``officers`` key gives the area its officers layer."""
    write(tmp_path / "v.csv", villages_csv())
    write(tmp_path / "o.csv", officers_csv(KNOWN))
    area_file = write(
        tmp_path / "area.toml", f'osm = "{road}"\nvillages = "v.csv"\nofficers = "o.csv"\n'
    )
    area = load_area(area_file)
    assert area.officers is not None
    assert area.officers["id"].tolist() == [i for i, _, _ in KNOWN]


# ----------------------------------------------------------------------------- the check


def test_gaps_and_proposals_of_a_known_case(base: Area, tmp_path: Path) -> None:
    """V3, V5, V7 lack an officer: the nearest spare officers fill them, V1 and V6 keep one.

    From V1 (2 officers) O2 at km 0.2 goes to V3 at km 2; from V6 (3) O7 at km 4.9 goes
    to V5 at km 4 and O6 at km 5.1 to V7 at km 6, and O5 stays: 3.6 km in all, where
    the unplaced U1 (km 7.5) for V7 would make 4.2 km. The community C1 is no gap.
    """
    result = check_officers(with_officers(base, tmp_path, KNOWN))
    assert result.gaps["name"].tolist() == ["V3", "V5", "V7"]
    assert proposed(result) == {"V3": "O2", "V5": "O7", "V7": "O6"}
    assert result.proposals["km"].to_numpy() == pytest.approx([1.8, 0.9, 0.9], abs=0.01)
    assert result.proposals["from_name"].tolist() == ["V1", "V6", "V6"]
    assert dict(result.counts) == {
        "villages": 7,
        "with_officer": 4,
        "gaps": 3,
        "filled": 3,
        "unfilled": 0,
        "officers": 8,
        "unplaced": 1,
        "movable": 6,
    }


def test_a_village_s_only_officer_is_never_proposed(base: Area, tmp_path: Path) -> None:
    """V4's and V6's only officers, 1 km from the gap V5, stay; the unplaced one 4 km off goes."""
    rows = [(f"O{k}", f"V{k}", k - 1.0) for k in (1, 2, 3, 4, 6, 7)] + [("U1", "", 9.0)]
    result = check_officers(with_officers(base, tmp_path, rows))
    assert result.gaps["name"].tolist() == ["V5"]
    assert proposed(result) == {"V5": "U1"}


def test_a_village_with_k_officers_gives_at_most_k_minus_1(base: Area, tmp_path: Path) -> None:
    """V6's three officers are the only ones to move: two leave, one stays, a gap stays open."""
    rows = [("O5", "V6", 5.0), ("O6", "V6", 5.1), ("O7", "V6", 4.9)]
    result = check_officers(with_officers(base, tmp_path, rows))
    assert len(result.proposals) == 2
    assert set(result.proposals["from_name"]) == {"V6"}
    assert len(result.unfilled) == result.counts["gaps"] - 2
    assert result.unfilled["reason"].str.contains("must stay").all()


def _brute_force(minutes: np.ndarray, home: list[str]) -> tuple[int, float]:
    """Return (gaps filled, total minutes) of the best assignment, by enumeration.

    ``minutes`` is gaps x movable officers (NaN: no route); ``home[c]`` officer c's
    village ("" unplaced), of which at most all but one may leave.
    """
    n_g, n_c = minutes.shape
    k = {v: home.count(v) for v in set(home) - {""}}
    best = (0, 0.0)
    for pick in itertools.product([None, *range(n_c)], repeat=n_g):
        used = [c for c in pick if c is not None]
        if len(set(used)) < len(used):
            continue
        if any(sum(home[c] == v for c in used) > k[v] - 1 for v in k):
            continue
        times = [minutes[g, c] for g, c in enumerate(pick) if c is not None]
        if not np.isfinite(times).all():
            continue
        cand = (len(used), float(np.sum(times)))
        if cand[0] > best[0] or (cand[0] == best[0] and cand[1] < best[1] - 1e-9):
            best = cand
    return best


@pytest.mark.parametrize("seed", range(12))
def test_proposals_minimise_total_minutes(base: Area, tmp_path: Path, seed: int) -> None:
    """As many gaps are filled as any assignment can, at the least total minutes."""
    rng = np.random.default_rng(seed)
    names = [n for _, n, _ in VILLAGES if n.startswith("V")]
    with_staff = rng.choice(names, int(rng.integers(3, 6)), replace=False)
    rows = []
    for v in with_staff:
        at = float(names.index(v))
        for j in range(int(rng.integers(1, 4))):
            rows.append((f"{v}-{j}", str(v), at + float(rng.uniform(-0.4, 0.4))))
    for j in range(int(rng.integers(0, 3))):
        rows.append((f"U-{j}", "", float(rng.uniform(0.0, 10.0))))
    area = with_officers(base, tmp_path, rows)
    result = check_officers(area)
    officers = area.officers
    assert officers is not None
    spare = officers["village_code"].map(officers["village_code"].value_counts()) >= 2
    movable = officers[(officers["village_code"] == "") | spare]
    gaps = area.villages.set_index("code").loc[result.gaps["code"]]  # type: ignore[union-attr]
    eng = area.engine()
    minutes = (
        eng.matrix(
            eng.locate_geometries(movable.geometry), eng.locate_geometries(gaps.geometry)
        ).seconds.T
        / 60.0
    )
    filled, total = _brute_force(minutes, movable["village_code"].tolist())
    assert len(result.proposals) == filled
    assert result.total_minutes == pytest.approx(total, abs=1e-6)


def test_a_cap_leaves_far_gaps_open_saying_why(base: Area, tmp_path: Path) -> None:
    """With cap_min below every move, no gap is filled and each names the nearest time."""
    result = check_officers(with_officers(base, tmp_path, KNOWN), cap_min=0.01)
    assert result.proposals.empty
    assert result.unfilled["reason"].str.contains(r"no movable officer within 0.01 min").all()


def test_an_area_without_officers_is_refused(base: Area) -> None:
    """Without an officers layer the check says which option gives one."""
    with pytest.raises(TeamError, match="this needs an officers layer: give --officers FILE"):
        check_officers(base)


def test_a_gap_village_without_coordinates_is_refused(base: Area, tmp_path: Path) -> None:
    """A village lacking an officer and a location cannot be planned for: the error names it."""
    area = with_officers(base, tmp_path, KNOWN)
    villages = area.villages.copy()  # type: ignore[union-attr]
    villages.loc[villages["name"] == "V5", "geometry"] = None
    with pytest.raises(TeamError, match=rf"have no coordinates \({code('V5')}\)"):
        check_officers(area.with_layers(villages=villages))


# ----------------------------------------------------------------------------- the sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Area:
    folder = tmp_path_factory.mktemp("officers_sample")
    return sample_area(folder / "sample", cache_dir=folder / "cache")


def test_the_sample_has_officers_and_gaps_that_get_proposals(sample: Area) -> None:
    """The sample's officers leave some villages without one, and the check fills them."""
    assert sample.officers is not None and len(sample.officers) > 80
    result = check_officers(sample)
    assert result.counts["gaps"] >= 1 and result.counts["unplaced"] >= 1
    assert len(result.proposals) >= 1
    assert (result.proposals["minutes"] > 0).all() and (result.proposals["km"] > 0).all()


def test_the_sample_teams_have_leaders(sample: Area) -> None:
    """Every sample team has a leader, the person the team is named after."""
    teams = sample.require("teams")
    assert (teams["leader"] != "").all()
    assert (teams["leader"] + "先锋队" == teams["name"]).all()
