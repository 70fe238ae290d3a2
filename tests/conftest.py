"""Shared fixtures: locating ../shared data, tmp output folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"


def _shared_dir() -> Path:
    override = os.environ.get("PINGAN_SHARED")
    return Path(override) if override else ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Return ``../shared/data``, or skip the test when the folder is absent."""
    path = _shared_dir() / "data"
    if not path.is_dir():
        pytest.skip(f"real data folder {path} is absent (set PINGAN_SHARED to its parent)")
    return path


@pytest.fixture(scope="session")
def shared_path(shared_data: Path):
    """Return a function giving ``../shared/data/NAME``, skipping when the file is absent."""

    def get(name: str) -> Path:
        path = shared_data / name
        if not path.is_file():
            pytest.skip(f"real data file {path} is absent")
        return path

    return get


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory):
    """The default synthetic sample district, written once per test session."""
    from geo.sample import generate_sample

    return generate_sample(tmp_path_factory.mktemp("sample"), seed=2023)


@pytest.fixture(scope="session")
def sample_net(sample_files):
    """The sample district's car network."""
    from geo.network import build_network

    return build_network(sample_files.roads)


@pytest.fixture(scope="session")
def sample_layers(sample_files, sample_net):
    """The sample's villages, stations and teams, in the network's CRS."""
    from geo import layers

    return (
        layers.read_villages(sample_files.villages, to_crs=sample_net.crs),
        layers.read_stations(sample_files.stations, to_crs=sample_net.crs),
        layers.read_teams(sample_files.teams, to_crs=sample_net.crs),
    )


@pytest.fixture(scope="session")
def sample_full_area(sample_files, tmp_path_factory):
    """The sample district loaded as an Area, with every layer (groups, boundaries, officers)."""
    from geo.area import AreaSpec, LayerSource, load_area

    f = sample_files
    spec = AreaSpec(
        osm=str(f.roads),
        villages=str(f.villages),
        stations=str(f.stations),
        teams=str(f.teams),
        incidents=LayerSource(str(f.incidents), layer="incidents"),
        groups=str(f.groups),
        boundaries=str(f.boundaries),
        officers=str(f.officers),
        synthetic=True,
    )
    return load_area(spec, cache_dir=tmp_path_factory.mktemp("area-cache"))


# --------------------------------------------------------------------------- the service


class Api:
    """A running app (lifespan done) on the full sample, with one signed-in user per role."""

    ROLES = ("admin", "dispatcher", "team_leader", "planner")

    def __init__(self, client, state) -> None:
        self.client = client
        self.state = state
        self.tokens: dict[str, str] = {}
        self.users: dict[str, object] = {}
        store = state.store
        team = str(state.area.teams["id"].iloc[0])
        for role in self.ROLES:
            name = f"test-{role}"
            user = store.create_user(
                name, role, f"pw-{role}", team=team if role == "team_leader" else None
            )
            self.users[role] = user
            self.tokens[role] = store.issue_token(user.id)

    def headers(self, role: str | None) -> dict[str, str]:
        """The Authorization header of ``role``'s user (none for None)."""
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, url: str, role: str | None = None, **kw):
        return self.client.get(url, headers={**self.headers(role), **kw.pop("headers", {})}, **kw)

    def post(self, url: str, role: str | None = None, **kw):
        return self.client.post(url, headers={**self.headers(role), **kw.pop("headers", {})}, **kw)

    def put(self, url: str, role: str | None = None, **kw):
        return self.client.put(url, headers={**self.headers(role), **kw.pop("headers", {})}, **kw)

    def patch(self, url: str, role: str | None = None, **kw):
        return self.client.patch(url, headers={**self.headers(role), **kw.pop("headers", {})}, **kw)

    def delete(self, url: str, role: str | None = None, **kw):
        return self.client.delete(
            url, headers={**self.headers(role), **kw.pop("headers", {})}, **kw
        )

    def wait(self, job_id: str, role: str, timeout_s: float = 300.0) -> dict:
        """Poll a job until it finishes; return its last state."""
        import time

        t0 = time.monotonic()
        while True:
            r = self.get(f"/jobs/{job_id}", role)
            assert r.status_code == 200, r.text
            body = r.json()
            if body["status"] in ("done", "failed", "cancelled"):
                return body
            assert time.monotonic() - t0 < timeout_s, f"job {job_id} still {body}"
            time.sleep(0.1)


@pytest.fixture(scope="session")
def api(sample_full_area, tmp_path_factory):
    """The service on the full sample district with an embedded store in a temp folder."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from service.api import ApiConfig, create_app

    data = tmp_path_factory.mktemp("service-data")
    config = ApiConfig(data_dir=data, first_users=False, max_upload_mb=5, job_workers=1)
    app = create_app(config, area=sample_full_area)
    with TestClient(app) as client:
        yield Api(client, app.state.pingan)
