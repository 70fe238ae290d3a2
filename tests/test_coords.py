"""Tests for geo.coords: GCJ-02 / BD-09 transforms, declared CRSs and the UTM working zone.

Reference values come from widely used implementations of the same published formulas
(Krasovsky a = 6378245.0, ee = 0.00669342162296594323):

- wandergis/coordtransform, README.md example for (116.404, 39.915);
- googollee/eviltransform, python/test.py ``TESTS`` (Shanghai, Shenzhen, Beijing);
- Glatzel/pyxis, crates/pyxis/src/crypto.rs constants WGS84/GCJ02/BD09 for (121.0917077,
  30.6107779).

Their inverse directions are approximations (one step, or a bisection to 1e-6 deg), so
our inverses are checked by inverting their *forward* pairs instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyproj
import pytest

from geo import coords
from geo.coords import (
    WGS84,
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    parse_crs,
    to_wgs84,
    utm_crs_for,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from geo.errors import CoordinateError

GEOD = pyproj.Geod(ellps="WGS84")

# Forward pairs (lon, lat) -> (lon, lat) from the implementations cited above.
WGS_TO_GCJ = [
    # wandergis/coordtransform README
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    # googollee/eviltransform python/test.py: Shanghai, Shenzhen, Beijing
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
    # Glatzel/pyxis crypto.rs
    ((121.0917077, 30.6107779), (121.09626927850977, 30.608604368560773)),
]
GCJ_TO_BD = [
    # wandergis/coordtransform README
    ((116.404, 39.915), (116.41036949371029, 39.92133699351021)),
]
WGS_TO_BD = [
    # Glatzel/pyxis crypto.rs
    ((121.0917077, 30.6107779), (121.10271724622564, 30.61484575976839)),
]
# 1e-9 degrees is ~0.1 mm: the published values agree with ours to the last few ulps.
TOL_DEG = 1e-9

Transform = Callable[[npt.ArrayLike, npt.ArrayLike], tuple[np.ndarray, np.ndarray]]


def metres(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> np.ndarray:
    """Return geodesic distances on WGS84 between point arrays, in metres."""
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.fixture(scope="module")
def china_points() -> tuple[np.ndarray, np.ndarray]:
    """Return 4000 random points covering China, from Xinjiang to Zengmu Reef to Mohe.

    The box stays a few tenths of a degree inside the GCJ-02 box, where the offset is
    switched off and the round trip cannot be exact by construction.
    """
    rng = np.random.default_rng(20240611)
    n = 4000
    return rng.uniform(73.0, 135.5, n), rng.uniform(3.5, 54.0, n)


# --------------------------------------------------------------------------- known answers


@pytest.mark.parametrize(("wgs", "gcj"), WGS_TO_GCJ)
def test_wgs84_to_gcj02_matches_published_values(
    wgs: tuple[float, float], gcj: tuple[float, float]
) -> None:
    """WGS84 -> GCJ-02 reproduces the published reference implementations."""
    lon, lat = wgs84_to_gcj02(*wgs)
    assert lon == pytest.approx(gcj[0], abs=TOL_DEG)
    assert lat == pytest.approx(gcj[1], abs=TOL_DEG)


@pytest.mark.parametrize(("wgs", "gcj"), WGS_TO_GCJ)
def test_gcj02_to_wgs84_inverts_published_values(
    wgs: tuple[float, float], gcj: tuple[float, float]
) -> None:
    """GCJ-02 -> WGS84 recovers the WGS84 side of each published pair to ~0.1 mm."""
    lon, lat = gcj02_to_wgs84(*gcj)
    assert lon == pytest.approx(wgs[0], abs=TOL_DEG)
    assert lat == pytest.approx(wgs[1], abs=TOL_DEG)


@pytest.mark.parametrize(("gcj", "bd"), GCJ_TO_BD)
def test_gcj02_to_bd09_matches_published_value(
    gcj: tuple[float, float], bd: tuple[float, float]
) -> None:
    """GCJ-02 -> BD-09 reproduces wandergis/coordtransform."""
    lon, lat = gcj02_to_bd09(*gcj)
    assert lon == pytest.approx(bd[0], abs=TOL_DEG)
    assert lat == pytest.approx(bd[1], abs=TOL_DEG)


@pytest.mark.parametrize(("gcj", "bd"), GCJ_TO_BD)
def test_bd09_to_gcj02_inverts_published_value(
    gcj: tuple[float, float], bd: tuple[float, float]
) -> None:
    """BD-09 -> GCJ-02 recovers the GCJ-02 side of the published pair to ~0.1 mm."""
    lon, lat = bd09_to_gcj02(*bd)
    assert lon == pytest.approx(gcj[0], abs=TOL_DEG)
    assert lat == pytest.approx(gcj[1], abs=TOL_DEG)


def test_bd09_to_gcj02_improves_on_the_published_closed_form() -> None:
    """The iterated inverse is within 0.1 m of the closed form and undoes BD-09 exactly.

    wandergis/coordtransform's closed-form bd09togcj02(116.404, 39.915) is
    (116.39762729119315, 39.90865673957631); it is a few centimetres off because the
    closed form only approximately inverts the twist.
    """
    closed = (116.39762729119315, 39.90865673957631)
    lon, lat = bd09_to_gcj02(116.404, 39.915)
    assert metres(lon, lat, *closed) < 0.1
    back = gcj02_to_bd09(lon, lat)
    closed_back = gcj02_to_bd09(*closed)
    assert metres(*back, 116.404, 39.915) < 1e-4
    assert metres(*closed_back, 116.404, 39.915) > 1e-3


@pytest.mark.parametrize(("wgs", "bd"), WGS_TO_BD)
def test_wgs84_to_bd09_matches_published_value(
    wgs: tuple[float, float], bd: tuple[float, float]
) -> None:
    """WGS84 -> BD-09 reproduces Glatzel/pyxis."""
    lon, lat = wgs84_to_bd09(*wgs)
    assert lon == pytest.approx(bd[0], abs=TOL_DEG)
    assert lat == pytest.approx(bd[1], abs=TOL_DEG)


@pytest.mark.parametrize(("wgs", "bd"), WGS_TO_BD)
def test_bd09_to_wgs84_inverts_published_value(
    wgs: tuple[float, float], bd: tuple[float, float]
) -> None:
    """BD-09 -> WGS84 recovers the WGS84 side of the published pair to ~0.1 mm."""
    lon, lat = bd09_to_wgs84(*bd)
    assert lon == pytest.approx(wgs[0], abs=TOL_DEG)
    assert lat == pytest.approx(wgs[1], abs=TOL_DEG)


def test_gcj02_offset_near_wuhan_is_a_few_hundred_metres() -> None:
    """Around Wuhan GCJ-02 shifts points by the well-known few hundred metres (~590 m)."""
    lon = np.array([114.30, 113.95, 114.65, 114.30])
    lat = np.array([30.60, 30.40, 30.90, 31.20])
    d = metres(lon, lat, *wgs84_to_gcj02(lon, lat))
    assert np.all((d > 400.0) & (d < 800.0))


def test_bd09_adds_a_further_offset_of_hundreds_of_metres() -> None:
    """BD-09 sits a further ~0.5-1 km from GCJ-02 (its 0.0065/0.006 degree shift)."""
    gcj = wgs84_to_gcj02(114.3, 30.6)
    d = metres(*gcj, *gcj02_to_bd09(*gcj))
    assert 500.0 < d < 1200.0


# --------------------------------------------------------------------------- round trips

PAIRS: list[tuple[str, Transform, Transform]] = [
    ("gcj02", wgs84_to_gcj02, gcj02_to_wgs84),
    ("bd09-from-gcj02", gcj02_to_bd09, bd09_to_gcj02),
    ("bd09-from-wgs84", wgs84_to_bd09, bd09_to_wgs84),
]


@pytest.mark.parametrize(("name", "forward", "inverse"), PAIRS, ids=[p[0] for p in PAIRS])
def test_inverse_then_forward_round_trip_is_sub_millimetre(
    china_points: tuple[np.ndarray, np.ndarray],
    name: str,
    forward: Transform,
    inverse: Transform,
) -> None:
    """forward(inverse(p)) == p to under 1 mm everywhere in China (required: 0.5 m)."""
    lon, lat = china_points
    err = metres(lon, lat, *forward(*inverse(lon, lat)))
    assert err.max() < 1e-3, f"{name}: max round-trip error {err.max():.3g} m"


@pytest.mark.parametrize(("name", "forward", "inverse"), PAIRS, ids=[p[0] for p in PAIRS])
def test_forward_then_inverse_round_trip_is_sub_millimetre(
    china_points: tuple[np.ndarray, np.ndarray],
    name: str,
    forward: Transform,
    inverse: Transform,
) -> None:
    """inverse(forward(p)) == p to under 1 mm everywhere in China (required: 0.5 m)."""
    lon, lat = china_points
    err = metres(lon, lat, *inverse(*forward(lon, lat)))
    assert err.max() < 1e-3, f"{name}: max round-trip error {err.max():.3g} m"


def test_one_step_gcj02_inverse_would_fail_the_round_trip(
    china_points: tuple[np.ndarray, np.ndarray],
) -> None:
    """The common one-step inverse is metres off, so the round-trip tests can fail."""
    lon, lat = china_points
    dlon, dlat = coords._gcj_offset(lon, lat)
    err = metres(lon, lat, *wgs84_to_gcj02(lon - dlon, lat - dlat))
    assert err.max() > 0.5


# --------------------------------------------------------------------------- outside China

ABROAD = (
    np.array([-0.1276, 139.6917, 151.2093, -74.006, 100.5018, 37.6173, 0.0]),
    np.array([51.5072, 35.6895, -33.8688, 40.7128, -60.0, 55.7558, 0.0]),
)
ALL_SIX = [
    wgs84_to_gcj02,
    gcj02_to_wgs84,
    gcj02_to_bd09,
    bd09_to_gcj02,
    wgs84_to_bd09,
    bd09_to_wgs84,
]


@pytest.mark.parametrize("transform", ALL_SIX, ids=lambda f: f.__name__)
def test_no_offset_outside_china(transform: Transform) -> None:
    """Points outside the mainland-China box (London, Tokyo, Sydney, ...) are unchanged."""
    lon, lat = transform(*ABROAD)
    np.testing.assert_array_equal(lon, ABROAD[0])
    np.testing.assert_array_equal(lat, ABROAD[1])


def test_mixed_arrays_offset_only_points_inside_china() -> None:
    """In one array, only the points inside China move; NaN stays NaN."""
    lon = np.array([114.3, 139.69, np.nan])
    lat = np.array([30.6, 35.69, 30.0])
    out_lon, out_lat = wgs84_to_gcj02(lon, lat)
    assert out_lon[0] != lon[0] and out_lat[0] != lat[0]
    assert (out_lon[1], out_lat[1]) == (lon[1], lat[1])
    assert np.isnan(out_lon[2]) and out_lat[2] == 30.0


# --------------------------------------------------------------------------- array handling


def test_scalars_give_zero_dimensional_float64_arrays() -> None:
    """Scalars in give 0-d float64 arrays out, for every transform."""
    for transform in ALL_SIX:
        lon, lat = transform(114, 30)
        assert lon.shape == () and lat.shape == ()
        assert lon.dtype == np.float64 and lat.dtype == np.float64


def test_inputs_are_not_modified_and_outputs_are_new_arrays() -> None:
    """Outputs never alias the caller's arrays, even where nothing is offset."""
    lon = np.array([114.3, 0.0])
    lat = np.array([30.6, 0.0])
    keep = (lon.copy(), lat.copy())
    for transform in ALL_SIX:
        out_lon, out_lat = transform(lon, lat)
        assert not np.shares_memory(out_lon, lon) and not np.shares_memory(out_lat, lat)
    out_lon, _ = to_wgs84(lon, lat, "wgs84")
    assert not np.shares_memory(out_lon, lon)
    np.testing.assert_array_equal(lon, keep[0])
    np.testing.assert_array_equal(lat, keep[1])


def test_shapes_broadcast_and_are_kept() -> None:
    """A 2-D array and a scalar broadcast; the output keeps the 2-D shape."""
    lon = np.full((2, 3), 114.3)
    out_lon, out_lat = wgs84_to_gcj02(lon, 30.6)
    assert out_lon.shape == (2, 3) and out_lat.shape == (2, 3)
    assert np.all(out_lon == out_lon[0, 0])


# --------------------------------------------------------------------------- declared CRSs


@pytest.mark.parametrize(
    ("crs", "expected"),
    [
        ("wgs84", WGS84),
        ("WGS-84", WGS84),
        ("EPSG:4326", WGS84),
        (4326, WGS84),
        (WGS84, WGS84),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("CGCS2000", pyproj.CRS.from_epsg(4490)),
        ("epsg:4547", pyproj.CRS.from_epsg(4547)),
        (32650, pyproj.CRS.from_epsg(32650)),
    ],
)
def test_parse_crs_accepts_names_codes_and_crs_objects(
    crs: str | int | pyproj.CRS, expected: str | pyproj.CRS
) -> None:
    """Names (any case, with or without hyphens), EPSG codes and CRS objects resolve."""
    assert parse_crs(crs) == expected


@pytest.mark.parametrize("crs", ["GCJ-02", "gcj02"])
def test_to_wgs84_from_gcj02_matches_the_inverse(crs: str) -> None:
    """to_wgs84 with a GCJ-02 name is gcj02_to_wgs84."""
    lon, lat = to_wgs84(116.41024449916938, 39.91640428150164, crs)
    assert (lon, lat) == pytest.approx((116.404, 39.915), abs=TOL_DEG)


@pytest.mark.parametrize("crs", ["BD-09", "bd09"])
def test_to_wgs84_from_bd09_matches_the_inverse(crs: str) -> None:
    """to_wgs84 with a BD-09 name is bd09_to_wgs84."""
    lon, lat = to_wgs84(121.10271724622564, 30.61484575976839, crs)
    assert (lon, lat) == pytest.approx((121.0917077, 30.6107779), abs=TOL_DEG)


@pytest.mark.parametrize("crs", ["wgs84", "WGS-84", 4326, "EPSG:4326", WGS84])
def test_to_wgs84_from_wgs84_is_identity(crs: str | int | pyproj.CRS) -> None:
    """Declaring WGS84 returns the coordinates unchanged."""
    lon, lat = to_wgs84([114.3, 0.0], [30.6, 0.0], crs)
    np.testing.assert_array_equal(lon, [114.3, 0.0])
    np.testing.assert_array_equal(lat, [30.6, 0.0])


@pytest.mark.parametrize("crs", [4490, "EPSG:4490", "cgcs2000", "CGCS2000"])
def test_to_wgs84_from_cgcs2000_is_within_centimetres(crs: str | int) -> None:
    """CGCS2000 and WGS84 lon/lat agree to centimetres; pyproj treats them as equal."""
    lon, lat = to_wgs84([114.3, 121.5], [30.6, 31.2], crs)
    assert metres(lon, lat, [114.3, 121.5], [30.6, 31.2]).max() < 0.05


def test_cgcs2000_gauss_kruger_known_point() -> None:
    """On CM 114E, EPSG:4547 easting is the 500 km false easting, northing the meridian arc.

    Gauss-Krüger has scale 1 on the central meridian, so the northing at 30.6 N equals the
    GRS80 meridian arc from the equator (computed independently with pyproj.Geod).
    """
    x, y = from_wgs84(114.0, 30.6, 4547)
    arc = pyproj.Geod(ellps="GRS80").inv(114.0, 0.0, 114.0, 30.6)[2]
    assert float(x) == pytest.approx(500_000.0, abs=1e-3)
    assert float(y) == pytest.approx(arc, abs=1e-3)


@pytest.mark.parametrize("crs", [4547, "EPSG:4547", pyproj.CRS.from_epsg(4547), 32650])
def test_to_wgs84_from_projected_crs_round_trips(crs: str | int | pyproj.CRS) -> None:
    """Projecting Wuhan-area WGS84 points with pyproj and back through to_wgs84 is exact."""
    lon = np.array([114.3, 113.9, 114.8])
    lat = np.array([30.6, 30.3, 31.0])
    target = pyproj.CRS.from_user_input(crs)
    x, y = pyproj.Transformer.from_crs(WGS84, target, always_xy=True).transform(lon, lat)
    back_lon, back_lat = to_wgs84(x, y, crs)
    assert metres(lon, lat, back_lon, back_lat).max() < 1e-6


def test_from_wgs84_inverts_to_wgs84_for_every_kind_of_crs() -> None:
    """from_wgs84 then to_wgs84 returns the original points for names and EPSG codes."""
    lon = np.array([114.3, 113.9])
    lat = np.array([30.6, 31.0])
    kinds: list[str | int] = ["gcj02", "bd09", "wgs84", 4490, 4547, 32650]
    for crs in kinds:
        back = to_wgs84(*from_wgs84(lon, lat, crs), crs)
        assert metres(lon, lat, *back).max() < 1e-3, crs


def test_from_wgs84_to_gcj02_is_the_forward_transform() -> None:
    """Exporting to GCJ-02 is wgs84_to_gcj02 (the published coordtransform value)."""
    lon, lat = from_wgs84(116.404, 39.915, "GCJ-02")
    assert (lon, lat) == pytest.approx((116.41024449916938, 39.91640428150164), abs=TOL_DEG)


def test_to_wgs84_keeps_nan_points_as_nan() -> None:
    """A missing coordinate stays missing through pyproj instead of becoming inf."""
    lon, lat = to_wgs84([np.nan, 500_000.0], [3.4e6, 3.4e6], 4547)
    assert np.isnan(lon[0]) and np.isnan(lat[0])
    assert lon[1] == pytest.approx(114.0, abs=1e-9)


# --------------------------------------------------------------------------- UTM zone


def test_utm_crs_for_wuhan_is_zone_50n() -> None:
    """Wuhan (114.3 E, 30.6 N) is in UTM zone 50 N, EPSG:32650."""
    lon = np.array([114.1, 114.3, 114.5])
    lat = np.array([30.4, 30.6, 30.8])
    assert utm_crs_for(lon, lat).to_epsg() == 32650


def test_utm_crs_for_southern_hemisphere_is_327xx() -> None:
    """Sydney (151.2 E, 33.9 S) is in UTM zone 56 S, EPSG:32756."""
    assert utm_crs_for([151.2], [-33.9]).to_epsg() == 32756


def test_utm_crs_for_uses_the_median_not_the_mean() -> None:
    """One far-away stray point does not move the zone."""
    lon = np.array([114.2, 114.3, 114.4, -70.0])
    lat = np.array([30.5, 30.6, 30.7, -30.0])
    assert utm_crs_for(lon, lat).to_epsg() == 32650


@pytest.mark.parametrize(("lon", "epsg"), [(-180.0, 32601), (180.0, 32660), (0.0, 32631)])
def test_utm_crs_for_zone_edges(lon: float, epsg: int) -> None:
    """The antimeridian maps to zones 1 and 60, Greenwich to zone 31."""
    assert utm_crs_for(lon, 10.0).to_epsg() == epsg


# --------------------------------------------------------------------------- error paths


@pytest.mark.parametrize(
    ("crs", "match"),
    [
        ("EPSG:99999", "unknown CRS 'EPSG:99999'"),
        ("mars", "unknown CRS 'mars'"),
        (999999, "unknown CRS 999999"),
        ("", "empty CRS"),
        (4978, "CRS 4978 .* neither geographic nor projected"),
        (True, "unsupported CRS True of type bool"),
        (4326.0, "unsupported CRS 4326.0 of type float"),
        (None, "unsupported CRS None"),
    ],
)
def test_parse_crs_rejects_bad_input(crs: object, match: str) -> None:
    """Unknown, empty, geocentric and wrongly typed CRSs raise, naming the value."""
    with pytest.raises(CoordinateError, match=match):
        parse_crs(crs)  # type: ignore[arg-type]


@pytest.mark.parametrize("convert", [to_wgs84, from_wgs84], ids=["to", "from"])
def test_to_and_from_wgs84_reject_unknown_crs(convert: Callable[..., object]) -> None:
    """A bad CRS raises CoordinateError naming it, before any data is touched."""
    with pytest.raises(CoordinateError, match="unknown CRS 'GCJ-03'"):
        convert([114.3], [30.6], "GCJ-03")


def test_coordinate_error_is_a_value_error() -> None:
    """Callers that only care about bad input can catch ValueError."""
    with pytest.raises(ValueError, match="mars"):
        parse_crs("mars")


@pytest.mark.parametrize(
    ("lon", "lat", "match"),
    [
        (["a", "b"], [30.0, 31.0], "lon must be numeric, got dtype <U1"),
        ([114.0], [True], "lat must be numeric, got dtype bool"),
        ([114.0, "x", None], [30.0, 31.0, 32.0], "lon must be numeric: could not convert"),
        ([114.0, 115.0, 116.0], [30.0, 31.0], r"lon shape \(3,\) and lat shape \(2,\)"),
    ],
)
def test_transforms_reject_non_numeric_or_mismatched_input(
    lon: object, lat: object, match: str
) -> None:
    """Strings, booleans, mixed objects and unbroadcastable shapes raise CoordinateError."""
    with pytest.raises(CoordinateError, match=match):
        wgs84_to_gcj02(lon, lat)  # type: ignore[arg-type]


def test_to_wgs84_rejects_mismatched_projected_input() -> None:
    """The pyproj path checks shapes too, naming x and y."""
    with pytest.raises(CoordinateError, match=r"x shape \(2,\) and y shape \(3,\)"):
        to_wgs84([1.0, 2.0], [1.0, 2.0, 3.0], 4547)


def test_untransformable_point_raises() -> None:
    """A finite point PROJ cannot project (latitude 95) raises instead of becoming inf."""
    with pytest.raises(CoordinateError, match=r"1 point\(s\) cannot be transformed .* 95\.0"):
        from_wgs84([114.0, 114.0], [30.0, 95.0], 4547)


def test_non_convergence_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the inverse iteration hits its cap, it says so instead of returning a guess."""
    monkeypatch.setattr(coords, "_MAX_ITER", 1)
    with pytest.raises(CoordinateError, match=r"GCJ-02 -> WGS84 did not converge for 2 point"):
        gcj02_to_wgs84([114.3, 116.4], [30.6, 39.9])
    with pytest.raises(CoordinateError, match=r"BD-09 -> GCJ-02 did not converge"):
        bd09_to_gcj02(114.3, 30.6)


@pytest.mark.parametrize(
    ("lon", "lat", "match"),
    [
        ([], [], "zero points"),
        ([114.3, np.nan], [30.6, 30.7], "1 non-finite coordinate"),
        ([114.3], [np.inf], "1 non-finite coordinate"),
        ([214.3], [30.6], r"lon must be in \[-180, 180\]"),
        ([114.3], [-91.0], r"lat in \[-90, 90\]"),
        ([10.0], [86.0], "median latitude 86.0000 is outside UTM"),
    ],
)
def test_utm_crs_for_rejects_bad_input(lon: list[float], lat: list[float], match: str) -> None:
    """Empty, non-finite, out-of-range and polar inputs raise CoordinateError."""
    with pytest.raises(CoordinateError, match=match):
        utm_crs_for(lon, lat)
