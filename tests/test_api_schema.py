"""Schemathesis against the service's own OpenAPI schema: no 5xx, every response conforms.

The run uses its own app and data folder (not the shared ``api`` fixture): generated
requests delete and edit things, and an admin may reach every route. Each case gets
a fresh admin token, so a generated ``POST /auth/logout`` cannot sign the rest out.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
fastapi_testclient = pytest.importorskip("fastapi.testclient")

import requests  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.api.app import create_app  # noqa: E402
from service.api.config import ApiConfig  # noqa: E402

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


class Fuzzed:
    """The app under fuzzing, an admin, and a way to send a case through its TestClient."""

    def __init__(self, client, state) -> None:
        self.client = client
        self.state = state
        self.admin = state.store.create_user("fuzz-admin", "admin", "pw-fuzz-admin")

    def send(self, case):
        token = self.state.store.issue_token(self.admin.id)
        kw = case.as_transport_kwargs(
            base_url="http://testserver", headers={"Authorization": f"Bearer {token}"}
        )
        # Schemathesis speaks requests: let requests encode the body (JSON, form,
        # multipart) exactly as it would on the wire, then send those bytes.
        for unused in ("verify", "timeout", "allow_redirects", "stream"):
            kw.pop(unused, None)
        prepared = requests.Request(**kw).prepare()
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        response = self.client.request(
            prepared.method or "GET",
            prepared.url or "",
            headers=dict(prepared.headers),
            content=body,
        )
        response.request.read()
        return response


@pytest.fixture(scope="module")
def fuzzed(sample_full_area, tmp_path_factory):
    data = tmp_path_factory.mktemp("fuzz-data")
    app = create_app(ApiConfig(data_dir=data, first_users=False), area=sample_full_area)
    with fastapi_testclient.TestClient(app, raise_server_exceptions=False) as client:
        yield Fuzzed(client, app.state.pingan)


# Built at import: the routes (and so the schema) exist before any lifespan runs.
# (schemathesis.pytest.from_fixture breaks on pytest 9's nodes.)
schema = schemathesis.openapi.from_dict(create_app(ApiConfig(first_users=False)).openapi())


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_route_answers_within_its_schema(case, fuzzed):
    response = fuzzed.send(case)
    case.validate_response(response, checks=CHECKS)


def test_the_schema_declares_every_error_a_route_can_answer(fuzzed):
    # The issue: every response model and every error (400-422) is in the schema.
    spec = fuzzed.client.app.openapi()
    public = {"/health", "/auth/token"}
    # Open to every signed-in user: no role can be refused there.
    anyone = {"/maps/overview"}
    missing = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            codes = set(op.get("responses", {}))
            assert any(c.startswith("2") for c in codes), f"{method} {path} has no 2xx"
            need = set()
            if path not in public:
                need.add("401")
                if not path.startswith("/auth/") and path not in anyone:
                    need.add("403")
            if any(p["in"] == "path" for p in op.get("parameters", [])):
                need.add("404")
            if op.get("requestBody") or op.get("parameters"):
                need.add("422")
            if not need <= codes:
                missing.append(f"{method.upper()} {path}: {sorted(need - codes)}")
    assert not missing, "routes missing error responses:\n" + "\n".join(missing)
