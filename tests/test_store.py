"""The storage contract, one suite for both backends: the embedded GeoPackage and PostGIS.

PostGIS runs when PINGAN_TEST_DATABASE_URL names a database (``make test`` starts one
with ``.ci/postgis``); each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from service.store import StoreError, open_store
from service.store.base import Conflict, NotFound, Store

PG_URL = os.environ.get("PINGAN_TEST_DATABASE_URL")
NO_PG = (
    "PINGAN_TEST_DATABASE_URL is not set: PostGIS tests need a database "
    "(`make test` starts one with .ci/postgis where PostgreSQL + PostGIS can be installed)"
)
BACKENDS = [
    "embedded",
    pytest.param("postgis", marks=pytest.mark.skipif(not PG_URL, reason=NO_PG)),
]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path) -> Store:
    if request.param == "embedded":
        s = open_store(tmp_path / "pingan.gpkg")
        yield s
        s.close()
        return
    assert PG_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as c:
        c.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    s = open_store(f"{PG_URL}{sep}options=-csearch_path%3D{schema},public")
    yield s
    s.close()
    with admin.begin() as c:
        c.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


def _count(store: Store, table: str) -> int:
    with store._engine.connect() as c:  # type: ignore[attr-defined]
        return int(c.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar())


def _villages(n: int = 5) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [f"V{i}" for i in range(n)],
            "name": [f"平安村{i}" for i in range(n)],
            "population": np.arange(100, 100 + n, dtype="int64"),
            "risk": [0.5 + i for i in range(n)],
        },
        geometry=[Point(110 + i * 0.01, 30 + i * 0.02) for i in range(n)],
        crs=4326,
    )


# ----------------------------------------------------------------------------- users


def test_users_are_created_listed_and_got(store):
    """Users come back as created, oldest first, with distinct ids."""
    a = store.create_user("张三", "dispatcher", "pw1")
    b = store.create_user("leader", "team_leader", "pw2", team="T1")
    assert [u.name for u in store.list_users()] == ["张三", "leader"]
    assert store.get_user(b.id) == b
    assert b.team == "T1" and b.role == "team_leader" and a.id != b.id


def test_taken_user_name_conflicts_and_bad_role_is_refused(store):
    store.create_user("x", "admin", "pw")
    with pytest.raises(Conflict, match="user name 'x' is taken"):
        store.create_user("x", "planner", "other")
    with pytest.raises(StoreError, match="unknown role 'chief'"):
        store.create_user("y", "chief", "pw")  # type: ignore[arg-type]


def test_passwords_check_right_wrong_and_unknown(store):
    """Only the right password signs in; the hash, not the password, is stored."""
    u = store.create_user("planner1", "planner", "correct horse")
    assert store.check_password("planner1", "correct horse") == u
    assert store.check_password("planner1", "correct hors") is None
    assert store.check_password("nobody", "correct horse") is None
    with store._engine.connect() as c:  # type: ignore[attr-defined]
        stored = c.exec_driver_sql("SELECT password FROM users").scalar()
    assert "correct horse" not in stored and stored.startswith("scrypt$")
    v = store.create_user("planner2", "planner", "correct horse")
    with store._engine.connect() as c:  # type: ignore[attr-defined]
        hashes = c.exec_driver_sql("SELECT password FROM users").scalars().all()
    assert len(set(hashes)) == 2, "salted: the same password hashes differently"
    assert store.check_password("planner2", "correct horse") == v


def test_tokens_issue_resolve_and_revoke(store):
    u = store.create_user("d", "dispatcher", "pw")
    token = store.issue_token(u.id, label="laptop")
    other = store.issue_token(u.id)
    assert token != other and len(token) >= 40
    assert store.user_for_token(token) == u
    store.revoke_token(token)
    assert store.user_for_token(token) is None, "a revoked token signs nobody in"
    assert store.user_for_token(other) == u, "revoking one token leaves the others"
    assert store.user_for_token("not-a-token") is None
    assert store.user_for_token("") is None
    store.revoke_token("unknown")  # ignored
    with store._engine.connect() as c:  # type: ignore[attr-defined]
        hashes = c.exec_driver_sql("SELECT hash FROM tokens").scalars().all()
    assert hashlib.sha256(other.encode()).hexdigest() in hashes
    assert other not in hashes, "only the SHA-256 of a token is stored"


def test_deleting_a_user_ends_their_tokens(store):
    u = store.create_user("gone", "planner", "pw")
    token = store.issue_token(u.id)
    store.delete_user(u.id)
    assert store.user_for_token(token) is None
    assert store.list_users() == []
    with pytest.raises(NotFound, match="no user"):
        store.get_user(u.id)
    with pytest.raises(NotFound):
        store.delete_user(u.id)
    with pytest.raises(NotFound):
        store.issue_token(u.id)
    again = store.create_user("gone", "planner", "pw")
    assert again.id != u.id, "a deleted user's id is not reused"


@pytest.mark.parametrize("bad", ["U999", "u1", "L1", "", "U1; DROP TABLE users", "U-1"])
def test_unknown_user_ids_are_not_found(store, bad):
    store.create_user("someone", "admin", "pw")
    with pytest.raises(NotFound):
        store.get_user(bad)


# ----------------------------------------------------------------------------- layers


def test_points_round_trip_with_their_types(store):
    """Ints stay ints, strings stay strings (Chinese too), None and NaN stay missing."""
    frame = _villages(6)
    frame["households"] = pd.array([3, None, 5, 6, None, 8], dtype="Int64")
    frame["note"] = pd.Series(["路口", None, "学校", "", "x", None], dtype=object)
    frame["lit"] = [True, False, True, True, False, False]
    frame["score"] = [1.5, np.nan, 2.5, np.nan, 0.0, -1.0]
    frame["local"] = pd.to_datetime(
        ["2024-05-01T07:30", None, None, "2024-05-02T00:00", None, None]
    )
    frame["seen"] = pd.to_datetime(
        [
            "2024-01-01T08:00",
            None,
            "2024-03-01T20:30",
            "2024-03-02T00:00",
            None,
            "2025-01-01T00:00",
        ],
        utc=True,
    )
    u = store.create_user("admin", "admin", "pw")
    rec = store.put_layer("村庄", "villages", frame, source="villages.csv", user_id=u.id)
    assert rec.features == 6 and rec.name == "村庄" and rec.kind == "villages"
    assert rec.source == "villages.csv" and rec.created_by == u.id
    assert rec.columns == tuple(frame.columns.drop("geometry"))
    assert rec.bbox == pytest.approx((110.0, 30.0, 110.05, 30.1))
    back = store.read_layer(rec.id)
    assert back.crs.to_epsg() == 4326
    assert list(back.columns) == list(frame.columns)
    assert dict(back.dtypes.astype(str)) == dict(frame.dtypes.astype(str))
    pd.testing.assert_frame_equal(
        pd.DataFrame(back.drop(columns="geometry")), pd.DataFrame(frame.drop(columns="geometry"))
    )
    assert back.geometry.geom_equals_exact(frame.geometry, 0).all()
    assert back["note"].iloc[1] is None and back["note"].iloc[3] == ""


def test_lines_polygons_and_missing_geometries_round_trip(store):
    ring = Polygon(
        [(110, 30), (110.1, 30), (110.1, 30.1), (110, 30.1)],
        [[(110.02, 30.02), (110.05, 30.02), (110.05, 30.05)]],
    )
    geoms = [
        LineString([(110, 30), (110.5, 30.25), (111, 30.5)]),
        ring,
        MultiPolygon([ring, Polygon([(112, 31), (112.1, 31), (112.1, 31.1)])]),
        None,
        Point(),
    ]
    frame = gpd.GeoDataFrame({"k": [1, 2, 3, 4, 5]}, geometry=geoms, crs=4326)
    u = store.create_user("admin", "admin", "pw")
    rec = store.put_layer("mixed", "other", frame, source="m.gpkg", user_id=u.id)
    back = store.read_layer(rec.id)
    assert back.geometry.iloc[3] is None
    assert back.geometry.iloc[4].is_empty
    for a, b in zip(back.geometry.iloc[:3], geoms[:3], strict=True):
        assert a.equals_exact(b, 0)
    assert rec.bbox == pytest.approx((110.0, 30.0, 112.1, 31.1))


def test_heights_and_a_renamed_geometry_column_round_trip(store):
    """Z coordinates are kept; a geometry column called ``shape`` keeps its name."""
    frame = gpd.GeoDataFrame(
        {"n": [1, 2]},
        geometry=gpd.GeoSeries([Point(110, 30, 812.5), LineString([(110, 30, 1), (111, 31, 2)])]),
        crs=4326,
    ).rename_geometry("shape")
    rec = store.put_layer("z", "other", frame, source="track.gpx", user_id="U1")
    back = store.read_layer(rec.id)
    assert back.geometry.name == "shape" and list(back.columns) == ["n", "shape"]
    assert back.geometry.has_z.all()
    assert back.geometry.iloc[0].z == 812.5
    assert back.geometry.geom_equals_exact(frame.geometry, 0).all()


def test_repeated_or_non_text_column_names_are_refused(store):
    frame = _villages(2)
    twice = pd.concat([frame.drop(columns="geometry"), frame[["name"]]], axis=1)
    twice = gpd.GeoDataFrame(twice, geometry=frame.geometry, crs=4326)
    with pytest.raises(StoreError, match="column\\(s\\) name more than once"):
        store.put_layer("twice", "villages", twice, source="t.csv", user_id="U1")
    numbered = frame.rename(columns={"risk": 7})
    with pytest.raises(StoreError, match="not text: \\[7\\]"):
        store.put_layer("numbered", "villages", numbered, source="n.csv", user_id="U1")
    assert store.list_layers() == []


def test_other_crs_is_stored_in_wgs84(store):
    """A layer in UTM 49N comes back in EPSG:4326 at the same places (to 1e-9 degrees)."""
    frame = _villages(4)
    utm = frame.to_crs(32649)
    u = store.create_user("admin", "admin", "pw")
    rec = store.put_layer("utm", "villages", utm, source="utm.gpkg", user_id=u.id)
    back = store.read_layer(rec.id)
    assert back.crs.to_epsg() == 4326
    d = shapely.distance(back.geometry.to_numpy(), frame.geometry.to_numpy())
    assert float(np.max(d)) < 1e-9


def test_layer_without_crs_is_refused(store):
    frame = _villages(2).set_crs(None, allow_override=True)
    with pytest.raises(StoreError, match="layer 'nocrs' has no CRS"):
        store.put_layer("nocrs", "villages", frame, source="x.csv", user_id="U1")
    assert store.list_layers() == []


def test_empty_layer_round_trips(store):
    frame = _villages(0)
    rec = store.put_layer("empty", "villages", frame, source="e.csv", user_id="U1")
    assert rec.features == 0 and rec.bbox is None
    back = store.read_layer(rec.id)
    assert len(back) == 0 and list(back.columns) == list(frame.columns)


def test_layer_names_conflict_and_ids_are_not_found(store):
    a = store.put_layer("v", "villages", _villages(), source="a.csv", user_id="U1")
    with pytest.raises(Conflict, match="layer name 'v' is taken"):
        store.put_layer("v", "villages", _villages(), source="b.csv", user_id="U1")
    assert [r.id for r in store.list_layers()] == [a.id]
    b = store.put_layer("w", "stations", _villages(2), source="b.csv", user_id="U1")
    assert [r.name for r in store.list_layers()] == ["v", "w"]
    assert store.get_layer(b.id) == b
    store.delete_layer(a.id)
    for call in (store.get_layer, store.read_layer, store.delete_layer):
        with pytest.raises(NotFound, match=f"no layer '{a.id}'"):
            call(a.id)
    with pytest.raises(NotFound):
        store.read_layer("Lx")
    assert _count(store, "layer_features") == 2, "deleting a layer deletes its features"
    c = store.put_layer("v", "villages", _villages(), source="c.csv", user_id="U1")
    assert c.id not in (a.id, b.id), "a deleted layer's id is not reused"


def test_large_layer_is_fast(store):
    """100k points are stored and read back in seconds, not minutes."""
    import time

    n = 100_000
    rng = np.random.default_rng(1)
    frame = gpd.GeoDataFrame(
        {"name": [f"点{i}" for i in range(n)], "n": np.arange(n), "v": rng.random(n)},
        geometry=gpd.points_from_xy(110 + rng.random(n), 30 + rng.random(n)),
        crs=4326,
    )
    t0 = time.perf_counter()
    rec = store.put_layer("big", "incidents", frame, source="big.csv", user_id="U1")
    t1 = time.perf_counter()
    back = store.read_layer(rec.id)
    t2 = time.perf_counter()
    assert rec.features == n and len(back) == n
    assert back["n"].tolist() == list(range(n))
    assert t1 - t0 < 20 and t2 - t1 < 20, f"put {t1 - t0:.1f} s, read {t2 - t1:.1f} s"


def test_failed_put_layer_leaves_nothing(store, monkeypatch):
    """A value that cannot be stored at row 500 rolls back the rows before it and the record."""
    monkeypatch.setattr(type(store), "BATCH", 100)
    frame = _villages(1000)
    frame["extra"] = pd.Series([1] * 1000, dtype=object)
    frame.loc[500, "extra"] = object()  # not JSON: the batch of rows 500-599 fails
    store.put_layer("before", "villages", _villages(3), source="a.csv", user_id="U1")
    with pytest.raises(StoreError, match="layer 'half': features 500-599 cannot be stored"):
        store.put_layer("half", "villages", frame, source="h.csv", user_id="U1")
    assert [r.name for r in store.list_layers()] == ["before"]
    assert _count(store, "layer_features") == 3
    ok = store.put_layer("half", "villages", _villages(1000), source="h.csv", user_id="U1")
    assert ok.features == 1000, "the name is free again"


def test_two_threads_writing_at_once_both_land(store):
    """Writers from several threads queue on the lock; none fails, nothing is lost."""
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            frame = _villages(3000)
            store.put_layer(f"t{k}", "villages", frame, source="t.csv", user_id="U1")
            for i in range(20):
                store.audit(None, "thread.write", f"t{k}/{i}")
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.name for r in store.list_layers()) == ["t0", "t1"]
    assert _count(store, "layer_features") == 6000
    assert len(store.audit_log(limit=1000)) == 40


# ----------------------------------------------------------------------------- scenarios


def test_scenarios_edit_with_versions(store):
    data = {"name": "新岗", "edits": [{"op": "add_station", "lon": 110.1, "lat": 30.2}]}
    s = store.put_scenario("plan A", data, user_id="U1")
    assert s.version == 1 and s.data == data and s.id.startswith("S")
    s2 = store.update_scenario(s.id, {"edits": []}, version=1)
    assert s2.version == 2 and s2.data == {"edits": []} and s2.created == s.created
    with pytest.raises(Conflict, match=f"scenario {s.id} is at version 2, not 1"):
        store.update_scenario(s.id, {"edits": [1]}, version=1)
    assert store.get_scenario(s.id).data == {"edits": []}, "a stale edit changes nothing"
    s3 = store.update_scenario(s.id, {"edits": [2]}, version=2, name="plan B")
    assert (s3.name, s3.version) == ("plan B", 3)


def test_scenario_names_conflict_and_ids_are_not_found(store):
    a = store.put_scenario("a", {}, user_id="U1")
    b = store.put_scenario("b", {"x": 1}, user_id="U1")
    with pytest.raises(Conflict, match="scenario name 'a' is taken"):
        store.put_scenario("a", {}, user_id="U1")
    with pytest.raises(Conflict, match="scenario name 'a' is taken"):
        store.update_scenario(b.id, {}, version=1, name="a")
    assert store.get_scenario(b.id).version == 1
    assert [s.name for s in store.list_scenarios()] == ["a", "b"]
    store.delete_scenario(a.id)
    with pytest.raises(NotFound, match="no scenario"):
        store.get_scenario(a.id)
    with pytest.raises(NotFound):
        store.update_scenario(a.id, {}, version=1)
    with pytest.raises(NotFound):
        store.delete_scenario(a.id)


# ----------------------------------------------------------------------------- plans, files


def test_plans_and_their_files(store):
    files = {
        "patrol.gpx": ("application/gpx+xml", b"<gpx/>"),
        "patrol.csv": ("text/csv", "路线,村\n1,平安\n".encode("utf-8-sig")),
    }
    p1 = store.put_plan("patrol", {"routes": 2, "名": "早班"}, files, user_id="U1", job_id="J4")
    p2 = store.put_plan("patrol", {"routes": 1}, {}, user_id="U2")
    p3 = store.put_plan(
        "teams", {}, {"a.xlsx": ("application/octet-stream", b"\x00PK")}, user_id="U2"
    )
    assert p1.artifacts == ("patrol.csv", "patrol.gpx") and p1.job_id == "J4"
    assert p1.summary == {"routes": 2, "名": "早班"}
    assert store.get_plan(p1.id) == p1
    assert [p.id for p in store.list_plans()] == [p3.id, p2.id, p1.id], "newest first"
    assert [p.id for p in store.list_plans("patrol")] == [p2.id, p1.id]
    art = store.artifact(f"plan:{p1.id}", "patrol.csv")
    assert art.data == files["patrol.csv"][1] and art.media_type == "text/csv"
    with pytest.raises(NotFound, match="has no file 'x.gpx'"):
        store.artifact(f"plan:{p1.id}", "x.gpx")
    with pytest.raises(NotFound, match="no plan"):
        store.get_plan("P999")


def test_artifacts_replace_same_named_files(store):
    store.put_artifacts(
        "job:J1", {"b.html": ("text/html", b"1"), "a.json": ("application/json", b"{}")}
    )
    store.put_artifacts("job:J1", {"b.html": ("text/html", b"2")})
    assert store.artifact_names("job:J1") == ["a.json", "b.html"]
    assert store.artifact("job:J1", "b.html").data == b"2"
    assert store.artifact_names("job:J2") == []
    big = bytes(range(256)) * 40_000  # 10 MB of every byte value
    store.put_artifacts("job:J2", {"big.bin": ("application/octet-stream", big)})
    assert store.artifact("job:J2", "big.bin").data == big


def test_failed_plan_leaves_no_files(store):
    files = {"ok.csv": ("text/csv", b"a"), "bad.csv": ("text/csv", "not bytes")}
    with pytest.raises(StoreError, match="file 'bad.csv' of plan:P1: data must be bytes"):
        store.put_plan("patrol", {}, files, user_id="U1")  # type: ignore[dict-item]
    assert store.list_plans() == []
    assert _count(store, "artifacts") == 0


# ----------------------------------------------------------------------------- jobs


def test_jobs_idempotency(store):
    """The same key from the same user for the same kind is one job; anything else is new."""
    j1, new1 = store.create_job("network", {"file": "a.osm"}, user_id="U1", idempotency_key="k1")
    j2, new2 = store.create_job("network", {"file": "a.osm"}, user_id="U1", idempotency_key="k1")
    assert (new1, new2) == (True, False) and j2 == j1
    j3, new3 = store.create_job("network", {}, user_id="U2", idempotency_key="k1")
    j4, new4 = store.create_job("scenarios", {}, user_id="U1", idempotency_key="k1")
    j5, _ = store.create_job("network", {}, user_id="U1")
    j6, new6 = store.create_job("network", {}, user_id="U1")
    assert new3 and new4 and new6 and len({j1.id, j3.id, j4.id, j5.id, j6.id}) == 5
    assert j1.status == "queued" and j1.progress == 0 and j1.params == {"file": "a.osm"}


def test_concurrent_requests_with_one_key_make_one_job(store):
    results: list[tuple[str, bool]] = []
    lock = threading.Lock()

    def submit() -> None:
        job, created = store.create_job("plan", {}, user_id="U1", idempotency_key="same")
        with lock:
            results.append((job.id, created))

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r[0] for r in results}) == 1
    assert sum(r[1] for r in results) == 1


def test_jobs_update_list_and_not_found(store):
    j, _ = store.create_job("plan", {"n": 1}, user_id="U1")
    k, _ = store.create_job("plan", {}, user_id="U2")
    run = store.update_job(
        j.id, status="running", started="2026-01-01T00:00:00+00:00", progress=40.5
    )
    assert (run.status, run.progress, run.started) == ("running", 40.5, "2026-01-01T00:00:00+00:00")
    done = store.update_job(
        j.id, status="done", result={"plan": "P1", "路线": [1, 2]}, progress=100
    )
    assert done.result == {"plan": "P1", "路线": [1, 2]} and done.error is None
    assert store.update_job(k.id, cancel_requested=True).cancel_requested is True
    assert store.get_job(j.id) == done
    assert [x.id for x in store.list_jobs()] == [k.id, j.id]
    assert [x.id for x in store.list_jobs(user_id="U1")] == [j.id]
    with pytest.raises(StoreError, match="no field.*colour"):
        store.update_job(j.id, colour="red")
    with pytest.raises(StoreError, match="unknown job status 'lost'"):
        store.update_job(j.id, status="lost")
    for bad in ("J999", "P1", "x"):
        with pytest.raises(NotFound, match="no job"):
            store.get_job(bad)
        with pytest.raises(NotFound, match="no job"):
            store.update_job(bad, progress=1)


def test_fail_interrupted_marks_only_unfinished_jobs(store):
    q, _ = store.create_job("a", {}, user_id="U1")
    r, _ = store.create_job("a", {}, user_id="U1")
    d, _ = store.create_job("a", {}, user_id="U1")
    store.update_job(r.id, status="running")
    store.update_job(d.id, status="done", result={"ok": True})
    assert store.fail_interrupted() == 2
    for job in (q, r):
        got = store.get_job(job.id)
        assert got.status == "failed" and "interrupted" in (got.error or "") and got.finished
    assert store.get_job(d.id).status == "done" and store.get_job(d.id).result == {"ok": True}
    assert store.fail_interrupted() == 0


# ----------------------------------------------------------------------------- audit


def test_audit_log_newest_first_with_who(store):
    u = store.create_user("张警官", "dispatcher", "pw")
    store.audit(u, "plan.create", "plan:P1", {"routes": 3})
    store.audit(u, "plan.export", "plan:P1/patrol.gpx")
    store.audit(None, "system.start", "service")
    log = store.audit_log()
    assert [e.action for e in log] == ["system.start", "plan.export", "plan.create"]
    assert log[0].user_id is None and log[0].user_name is None
    assert (log[2].user_id, log[2].user_name, log[2].detail) == (u.id, "张警官", {"routes": 3})
    assert log[1].detail == {} and log[0].id > log[1].id > log[2].id
    assert [e.action for e in store.audit_log(limit=1)] == ["system.start"]


# ----------------------------------------------------------------------------- opening


def test_bad_urls_are_named_with_the_password_masked(tmp_path):
    with pytest.raises(StoreError, match=r"unsupported store URL 'mysql://me:\*\*\*@db/x'"):
        open_store("mysql://me:secret@db/x")
    with pytest.raises(StoreError, match="names no file"):
        open_store("sqlite://")
    with pytest.raises(StoreError, match=r"'postgresql://u:\*\*\*@h:port/db' is malformed"):
        open_store("postgresql://u:secret@h:port/db")
    with pytest.raises(StoreError, match="is a folder"):
        open_store(tmp_path)
    try:
        open_store("mysql://me:secret@db/x")
    except StoreError as exc:
        assert "secret" not in str(exc)


def test_a_sqlite_file_that_is_not_a_geopackage_is_refused(tmp_path):
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as c:
        c.execute("PRAGMA application_id = 42")
        c.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not a GeoPackage"):
        open_store(path)
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        open_store(junk)


def test_embedded_store_persists_across_opens(tmp_path):
    path = tmp_path / "sub" / "pingan.gpkg"
    s = open_store(f"sqlite:///{path}")
    u = s.create_user("a", "admin", "pw")
    rec = s.put_layer("v", "villages", _villages(), source="v.csv", user_id=u.id)
    s.close()
    again = open_store(path)
    assert again.get_user(u.id) == u and again.get_layer(rec.id) == rec
    assert len(again.read_layer(rec.id)) == 5
    again.close()


def test_embedded_store_is_a_geopackage_gdal_reads(tmp_path):
    """GDAL (what QGIS uses) reads layer_features with its geometries, in EPSG:4326."""
    import sqlite3

    pyogrio = pytest.importorskip("pyogrio")
    path = tmp_path / "pingan.gpkg"
    s = open_store(path)
    frame = _villages(4)
    frame.loc[3, "geometry"] = Polygon([(110, 30), (110.1, 30), (110.1, 30.1)])
    rec = s.put_layer("v", "villages", frame, source="v.csv", user_id="U1")
    s.close()
    with sqlite3.connect(path) as c:
        assert c.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        assert c.execute("PRAGMA user_version").fetchone()[0] >= 10300
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        srs = {r[0] for r in c.execute("SELECT srs_id FROM gpkg_spatial_ref_sys")}
        assert {-1, 0, 4326} <= srs
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kinds = dict(c.execute("SELECT table_name, data_type FROM gpkg_contents"))
    assert kinds["layer_features"] == "features" and kinds["jobs"] == "attributes"
    layers = dict(pyogrio.list_layers(path))
    assert "layer_features" in layers
    read = pyogrio.read_dataframe(path, layer="layer_features")
    assert read.crs.to_epsg() == 4326 and len(read) == 4
    assert (read["layer_id"] == int(rec.id[1:])).all()
    assert read.geometry.geom_equals_exact(frame.geometry, 0).all()
    info = pyogrio.read_info(path, layer="layer_features")
    assert info["features"] == 4
    with sqlite3.connect(path) as c:
        extent = c.execute(
            "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents"
            " WHERE table_name = 'layer_features'"
        ).fetchone()
    assert extent == pytest.approx(rec.bbox), "QGIS zooms to the stored extent"
    jobs = pyogrio.read_dataframe(path, layer="layers", read_geometry=False)
    assert jobs["name"].tolist() == ["v"]


def test_an_unreachable_database_is_named_with_the_password_masked():
    with pytest.raises(
        StoreError, match=r"cannot open the store postgresql\+psycopg://u:\*\*\*@"
    ) as e:
        open_store("postgresql://u:hunter2@127.0.0.1:1/x?connect_timeout=2")
    assert "hunter2" not in str(e.value)


@pytest.mark.skipif(not PG_URL, reason=NO_PG)
@pytest.mark.parametrize("store", ["postgis"], indirect=True)
def test_postgis_uses_postgis_types(store):
    """Geometries are PostGIS geometry(4326), properties JSONB (queryable in SQL)."""
    rec = store.put_layer("v", "villages", _villages(), source="v.csv", user_id="U1")
    with store._engine.connect() as c:  # type: ignore[attr-defined]
        srid = c.exec_driver_sql("SELECT DISTINCT ST_SRID(geom) FROM layer_features").scalar()
        kind = c.exec_driver_sql(
            "SELECT data_type FROM information_schema.columns"
            " WHERE table_name = 'layer_features' AND column_name = 'props'"
            " AND table_schema = current_schema()"
        ).scalar()
        name = c.exec_driver_sql("SELECT props->>'name' FROM layer_features ORDER BY idx").scalar()
    assert (srid, kind, name) == (4326, "jsonb", "平安村0")
    assert rec.features == 5


def test_path_objects_and_strings_open_the_same_file(tmp_path):
    a = open_store(str(tmp_path / "x.gpkg"))
    a.create_user("one", "admin", "pw")
    a.close()
    b = open_store(Path(tmp_path / "x.gpkg"))
    assert [u.name for u in b.list_users()] == ["one"]
    b.close()


def test_values_json_cannot_hold_are_refused_by_name(store):
    """NaN, infinity and objects are refused with a StoreError naming the record; nothing lands."""
    with pytest.raises(StoreError, match="scenario 'nan' cannot be stored"):
        store.put_scenario("nan", {"w": float("nan")}, user_id="U1")
    assert store.list_scenarios() == []
    j, _ = store.create_job("a", {}, user_id="U1")
    with pytest.raises(StoreError, match=f"job {j.id} cannot be stored"):
        store.update_job(j.id, status="done", result={"x": float("inf")})
    assert store.get_job(j.id).status == "queued", "the failed update changed nothing"
    with pytest.raises(StoreError, match="audit entry x.y t cannot be stored"):
        store.audit(None, "x.y", "t", {"o": object()})
    assert store.audit_log() == []


def test_a_second_geometry_column_round_trips(store):
    """A second geometry column (say, each village's centre) is kept, as geometries."""
    frame = _villages(2)
    frame["centre"] = gpd.GeoSeries([Point(1, 2), None])
    rec = store.put_layer("centres", "villages", frame, source="c.gpkg", user_id="U1")
    back = store.read_layer(rec.id)
    assert back.geometry.name == "geometry" and str(back["centre"].dtype) == "geometry"
    assert back["centre"].iloc[0].equals(Point(1, 2)) and back["centre"].iloc[1] is None


def test_concurrent_edits_of_one_version_have_one_winner(store):
    """Eight editors of version 1 at once: one gets version 2, seven get Conflict."""
    s = store.put_scenario("race", {"n": 0}, user_id="U1")
    won: list[int] = []
    lost: list[str] = []
    lock = threading.Lock()

    def edit(k: int) -> None:
        try:
            store.update_scenario(s.id, {"n": k}, version=1)
            with lock:
                won.append(k)
        except Conflict as exc:
            with lock:
                lost.append(str(exc))

    threads = [threading.Thread(target=edit, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == 7
    final = store.get_scenario(s.id)
    assert final.version == 2 and final.data == {"n": won[0]}


def test_a_store_from_a_newer_pingan_is_refused(tmp_path):
    """Tables of a later version are not misread: opening says to upgrade."""
    import sqlite3

    path = tmp_path / "pingan.gpkg"
    open_store(path).close()
    with sqlite3.connect(path) as c:
        assert c.execute("SELECT value FROM pingan_meta WHERE key = 'schema'").fetchone() == ("1",)
        c.execute("UPDATE pingan_meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(StoreError, match="written by a newer pingan.*version 99.*knows 1"):
        open_store(path)
