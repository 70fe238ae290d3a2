"""Networks over HTTP: an uploaded OSM file is built by a job, as ``pingan network build``."""

from __future__ import annotations

import bz2
import uuid
from pathlib import Path

import pytest

from service.api.errors import ApiError
from service.api.uploads import sniff_osm

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture(scope="module")
def osm_bytes(sample_files) -> bytes:
    return Path(sample_files.roads).read_bytes()


def _post(api, role, data: bytes, filename="roads.osm", headers=None, **form):
    return api.post(
        "/networks",
        role,
        files={"file": (filename, data)},
        data=form,
        headers=headers or {},
    )


@pytest.fixture(scope="module")
def built(api, osm_bytes):
    r = _post(api, "admin", osm_bytes, "../../secret/roads.osm", mode="car")
    assert r.status_code == 202, r.text
    return r.json(), api.wait(r.json()["id"], "admin")


def test_build_matches_the_engine(built, sample_net, api):
    """The job's summary is the network builder's summary of the same file."""
    _, job = built
    assert job["status"] == "done", job
    s, ref = job["result"], sample_net.summary().to_dict()
    for key in ("mode", "nodes", "edges", "road_km", "lit_km", "crs"):
        assert s[key] == ref[key], key
    w, so, e, n = s["extent"]
    assert w < e and so < n
    assert s["source"]["path"] == "secret_roads.osm"  # never the server's path


def test_upload_is_saved_under_a_generated_name(built, api):
    first, _ = built
    folder = api.state.config.data_dir / "uploads"
    files = [p.name for p in folder.iterdir()]
    assert files and all(len(p.split(".")[0]) == 32 for p in files)
    assert not any("secret" in p or p.endswith(".part") for p in files)
    assert first["kind"] == "network"


def test_get_and_list_networks(built, api):
    first, job = built
    one = api.get(f"/networks/{first['id']}", "planner")
    assert one.status_code == 200
    body = one.json()
    assert body["status"] == "done" and body["file"] == "secret_roads.osm"
    assert body["summary"]["nodes"] == job["result"]["nodes"]
    assert first["id"] in [n["id"] for n in api.get("/networks", "dispatcher").json()]


def test_idempotency_key_builds_once(api, osm_bytes):
    key = {"Idempotency-Key": uuid.uuid4().hex}
    folder = api.state.config.data_dir / "uploads"
    a = _post(api, "admin", osm_bytes, headers=key)
    before = len(list(folder.iterdir()))
    b = _post(api, "admin", osm_bytes, headers=key)
    assert a.status_code == b.status_code == 202
    assert a.json()["id"] == b.json()["id"]
    assert len(list(folder.iterdir())) == before  # the repeated upload is not kept
    assert api.wait(a.json()["id"], "admin")["status"] == "done"


def test_compressed_osm_builds(api, osm_bytes):
    r = _post(api, "admin", bz2.compress(osm_bytes), "roads.osm.bz2", mode="car")
    assert r.status_code == 202, r.text
    assert api.wait(r.json()["id"], "admin")["status"] == "done"


def test_magic_bytes():
    assert sniff_osm(b"BZh91AY", "a") == "bz2"
    assert sniff_osm(b"\x1f\x8b\x08", "a") == "gz"
    assert sniff_osm(b"\x00\x00\x00\x0d\x0a\x09OSMHeader\x18", "a") == "pbf"
    assert sniff_osm(b"<?xml version='1.0'?>\n<osm version='0.6'>", "a") == "osm"
    with pytest.raises(ApiError, match="not an OSM file"):
        sniff_osm(b"<html><body>", "a")


def test_not_an_osm_file_is_400(api):
    r = _post(api, "admin", b"PK\x03\x04 a zip, not osm", "roads.osm.pbf")
    assert r.status_code == 400
    assert "roads.osm.pbf" in r.json()["detail"]


def test_bad_values_are_422(api, osm_bytes):
    assert _post(api, "admin", osm_bytes, mode="plane").status_code == 422
    r = _post(api, "admin", osm_bytes, bbox="1,2,3")
    assert r.status_code == 422 and "bbox" in r.json()["detail"]
    assert _post(api, "admin", osm_bytes, bbox="114.4,30,114.3,31").status_code == 422


@pytest.mark.parametrize("role", ["dispatcher", "team_leader", "planner"])
def test_only_admins_build(api, role):
    assert _post(api, role, b"<osm></osm>").status_code == 403


def test_signed_out_is_401(api):
    assert _post(api, None, b"<osm></osm>").status_code == 401
    assert api.get("/networks").status_code == 401
    assert api.get("/networks/J1").status_code == 401


def test_unknown_network_is_404(api):
    assert api.get("/networks/J999999", "admin").status_code == 404
    other, _ = api.state.jobs.submit("test-other", {}, lambda ctx: {}, user=api.users["admin"])
    assert api.get(f"/networks/{other.id}", "admin").status_code == 404
