"""Layers over HTTP: upload (GeoJSON, CSV in three encodings, GeoPackage), list, get, delete.

An upload is read by the same readers as ``pingan layers check``; what they refuse is a
422 naming the uploaded file's row and column, what is no layer file at all a 400.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from geo.layers import read_villages
from service.api.uploads import safe_name, sniff_layer

# TODO(lead): move to pyproject's filterwarnings; starlette warns on its own TestClient.
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

_names = itertools.count(1)


def _name(stem: str) -> str:
    return f"{stem}-{next(_names)}"


def _upload(api, role, data: bytes, filename: str, kind: str, name: str | None = None, **form):
    return api.post(
        "/layers",
        role,
        files={"file": (filename, data)},
        data={"name": name or _name(kind), "kind": kind, **form},
    )


@pytest.fixture(scope="module")
def villages_csv(sample_files) -> bytes:
    return Path(sample_files.villages).read_bytes()


def test_upload_csv_matches_the_reader(api, sample_files, villages_csv):
    """A villages CSV is stored with the reader's rows and WGS84 extent."""
    r = _upload(api, "admin", villages_csv, "villages.csv", "villages")
    assert r.status_code == 201, r.text
    body = r.json()
    ref = read_villages(sample_files.villages)
    assert body["features"] == len(ref)
    assert body["kind"] == "villages" and body["source"] == "villages.csv"
    want = [ref["lon"].min(), ref["lat"].min(), ref["lon"].max(), ref["lat"].max()]
    assert np.allclose(body["bbox"], want, atol=1e-6)
    got = api.get(f"/layers/{body['id']}", "planner")
    assert got.status_code == 200 and got.json() == body


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_upload_csv_encodings(api, villages_csv, encoding):
    """UTF-8 with a BOM and GBK/GB18030 text read the same Chinese names as UTF-8."""
    data = villages_csv.decode("utf-8").encode(encoding)
    r = _upload(api, "admin", data, "villages.csv", "villages")
    assert r.status_code == 201, r.text
    feats = api.get(f"/layers/{r.json()['id']}/geojson", "admin").json()["features"]
    assert feats[0]["properties"]["name"] == "槐荫社区"


def test_upload_geojson_and_geopackage(api, sample_files):
    """Stations (GeoJSON) and incidents (GeoPackage) keep their features and attributes."""
    st = _upload(api, "admin", Path(sample_files.stations).read_bytes(), "s.geojson", "stations")
    assert st.status_code == 201, st.text
    fc = api.get(f"/layers/{st.json()['id']}/geojson", "dispatcher").json()
    assert fc["type"] == "FeatureCollection"
    src = json.loads(Path(sample_files.stations).read_text(encoding="utf-8"))
    assert sorted(f["properties"]["id"] for f in fc["features"]) == sorted(
        f["properties"]["id"] for f in src["features"]
    )
    inc = _upload(api, "admin", Path(sample_files.incidents).read_bytes(), "i.gpkg", "incidents")
    assert inc.status_code == 201, inc.text
    assert inc.json()["features"] == len(api.state.area.incidents)
    assert "time" in inc.json()["columns"]


def test_type_is_told_by_content_not_extension(api, sample_files, villages_csv):
    """A CSV named .geojson is read as CSV; a PNG named .csv is refused with 400."""
    r = _upload(api, "admin", villages_csv, "villages.geojson", "villages")
    assert r.status_code == 201, r.text
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
    bad = _upload(api, "admin", png, "photo.csv", "villages")
    assert bad.status_code == 400
    assert "photo.csv" in bad.json()["detail"]
    assert "not a GeoJSON/CSV/GeoPackage file" in bad.json()["detail"]
    assert sniff_layer(Path(sample_files.incidents).read_bytes(), "x") == "gpkg"


def test_text_in_another_encoding_is_400_naming_the_file(api):
    """Bytes that are neither UTF-8 nor GBK/GB18030 are refused before any reading."""
    r = _upload(api, "admin", b"code,name,lon,lat\n1,\x80\xff,114.3,31.0\n", "v.csv", "villages")
    assert r.status_code == 400
    assert "v.csv" in r.json()["detail"] and "GB18030" in r.json()["detail"]


def test_json_that_is_not_geojson_is_400(api):
    r = _upload(api, "admin", b'{"hello": 1}', "x.geojson", "stations")
    assert r.status_code == 400 and "not GeoJSON" in r.json()["detail"]


def test_path_traversal_name_is_never_a_path(api, villages_csv, tmp_path):
    """``../../etc/passwd`` is stored as a plain name and nothing is written outside."""
    r = _upload(api, "admin", villages_csv, "../../etc/passwd", "villages")
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "etc_passwd"
    assert safe_name("..\\..\\windows\\win.ini") == "windows_win.ini"
    assert safe_name("/") == "upload"
    assert safe_name("村庄 名单.csv") == "村庄_名单.csv"
    assert "/" not in safe_name("a/../../b")


def test_invalid_layer_is_422_naming_row_and_column(api, villages_csv):
    """A population that is no number is reported at its row and column of the upload."""
    lines = villages_csv.decode("utf-8").splitlines()
    cells = lines[3].split(",")
    cells[7] = "many"  # population of data row 3
    lines[3] = ",".join(cells)
    r = _upload(api, "admin", ("\n".join(lines) + "\n").encode(), "bad.csv", "villages")
    assert r.status_code == 422, r.text
    body = r.json()
    assert "bad.csv" in body["detail"] and "row 3" in body["detail"]
    assert "pingan-upload" not in body["detail"]  # never the server's temp path
    assert ["file", "bad.csv", "row", 3, "column", "population"] in [
        e["loc"] for e in body["errors"]
    ]


def test_other_kind_csv_needs_coordinates(api):
    ok = _upload(api, "admin", b"id,lon,lat\na,114.3,31.0\nb,114.31,31.01\n", "p.csv", "other")
    assert ok.status_code == 201, ok.text
    assert ok.json()["features"] == 2
    bad = _upload(api, "admin", b"id,name\na,b\n", "p.csv", "other")
    assert bad.status_code == 422 and "lon/lat" in bad.json()["detail"]
    empty = _upload(api, "admin", b'{"type":"FeatureCollection","features":[]}', "e.json", "other")
    assert empty.status_code == 422 and "no features" in empty.json()["detail"]


def test_taken_name_is_409(api, villages_csv):
    name = _name("twice")
    assert _upload(api, "admin", villages_csv, "v.csv", "villages", name).status_code == 201
    r = _upload(api, "admin", villages_csv, "v.csv", "villages", name)
    assert r.status_code == 409


def test_bad_form_values_are_422(api, villages_csv):
    assert _upload(api, "admin", villages_csv, "v.csv", "roads").status_code == 422
    r = api.post("/layers", "admin", data={"name": "x", "kind": "villages"})
    assert r.status_code == 422  # no file


@pytest.mark.parametrize("role", ["dispatcher", "team_leader", "planner"])
def test_only_admins_upload_or_delete(api, villages_csv, role):
    assert _upload(api, role, villages_csv, "v.csv", "villages").status_code == 403
    lid = api.get("/layers", "admin").json()[0]["id"]
    assert api.delete(f"/layers/{lid}", role).status_code == 403


def test_signed_out_is_401(api, villages_csv):
    assert _upload(api, None, villages_csv, "v.csv", "villages").status_code == 401
    for url in ("/layers", "/layers/L1", "/layers/L1/geojson"):
        assert api.get(url).status_code == 401
    assert api.delete("/layers/L1").status_code == 401


def test_unknown_layer_is_404(api):
    for url in ("/layers/L999999", "/layers/L999999/geojson"):
        assert api.get(url, "admin").status_code == 404
    assert api.delete("/layers/L999999", "admin").status_code == 404


def test_upload_over_the_limit_is_413(api):
    """The test app accepts 5 MB; a 6 MB upload is refused before it is parsed."""
    big = b"id,lon,lat\n" + b"x" * (6 * 1024 * 1024)
    r = _upload(api, "admin", big, "big.csv", "other")
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"


def test_list_and_delete_are_audited(api, villages_csv):
    name = _name("gone")
    lid = _upload(api, "admin", villages_csv, "v.csv", "villages", name).json()["id"]
    assert lid in [x["id"] for x in api.get("/layers", "team_leader").json()]
    assert api.delete(f"/layers/{lid}", "admin").status_code == 204
    assert api.get(f"/layers/{lid}", "admin").status_code == 404
    assert lid not in [x["id"] for x in api.get("/layers", "admin").json()]
    log = api.state.store.audit_log(limit=50)
    actions = {(e.action, e.target) for e in log}
    assert ("layer.upload", f"layer:{lid}") in actions
    assert ("layer.delete", f"layer:{lid}") in actions
    who = next(e for e in log if e.action == "layer.delete" and e.target == f"layer:{lid}")
    assert who.user_id == api.users["admin"].id


def test_times_come_back_as_iso_text(api, sample_files):
    """Incident times survive the store and GeoJSON with their UTC offset."""
    r = _upload(api, "admin", Path(sample_files.incidents).read_bytes(), "i.gpkg", "incidents")
    assert r.status_code == 201, r.text
    feats = api.get(f"/layers/{r.json()['id']}/geojson", "admin").json()["features"]
    ref = api.state.area.incidents.set_index("id")["time"]
    first = feats[0]["properties"]
    assert first["time"] == ref[first["id"]].isoformat()


def test_unreadable_csv_of_other_kind_is_422(api):
    r = _upload(api, "admin", b'id,lon\n"a,1\n', "broken.csv", "other")
    assert r.status_code == 422 and "broken.csv" in r.json()["detail"]
