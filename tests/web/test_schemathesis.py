"""Schemathesis against /openapi.json: generated requests to every operation, as a logged-in
administrator on a seeded database, must never answer 5xx and must answer what the schema says
(documented status, content type and body schema). Each operation gets its documented examples
and a bounded number of generated cases, derandomized, so the run is repeatable (~1 min)."""

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis.errors import FlakyFailure
from schemathesis.specs.openapi import checks as openapi_checks

from cangliu.config import Settings
from cangliu.db.uow import Database
from cangliu.services import auth
from cangliu.web import openapi
from cangliu.web.app import create_app
from tests.conftest import PASSWORD, seed_network

# Excluded on purpose: /events is a Server-Sent Events stream that never ends.
EXCLUDED_PATHS = ("/events",)
EXAMPLES = 8
CHECKS = [schemathesis.checks.not_a_server_error, openapi_checks.response_schema_conformance,
          openapi_checks.status_code_conformance, openapi_checks.content_type_conformance]


@pytest.fixture(scope="module")
def seeded(sqlite_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    path = Path(tmp_path_factory.mktemp("schemathesis")) / "cangliu.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    admin = auth.create_user(db.uow(), username="admin", password=PASSWORD, is_admin=True)
    seed_network(db, admin)
    app = create_app(Settings(database_url=db.url, secret_key="test-secret"), db=db)
    openapi.install(app)
    yield app
    db.dispose()


@pytest.fixture(scope="module")
def bearer(seeded: FastAPI) -> dict[str, str]:
    with TestClient(seeded) as client:
        token = client.post("/api/v1/auth/login",
                            json={"username": "admin", "password": PASSWORD}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def api_schema(seeded: FastAPI, bearer: dict[str, str]) -> schemathesis.schemas.BaseSchema:
    loaded = schemathesis.openapi.from_asgi("/openapi.json", seeded, headers=bearer)
    return loaded.exclude(path=list(EXCLUDED_PATHS))


def check(case: schemathesis.Case, bearer: dict[str, str]) -> None:
    case.call_and_validate(headers=dict(bearer), checks=CHECKS)


def failures_of(operation: Any, bearer: dict[str, str]) -> str | None:
    """Run a bounded, deterministic set of generated requests; the first failure, as text."""
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
              verbosity=Verbosity.quiet)
    def run(case: schemathesis.Case) -> None:
        check(case, bearer)

    try:
        run()
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        causes = "; ".join(repr(e) for e in getattr(exc, "exceptions", ()))
        if isinstance(exc, FlakyFailure) and _passes_again(run):
            # Seen once in CI on a read-only GET and not reproduced: say what it was and go on;
            # a failure that repeats still fails the test.
            warnings.warn(f"{operation.label} failed once and then passed: {exc} {causes}",
                          stacklevel=1)
            return None
        return f"{operation.label}: {exc} {causes}"
    return None


def _passes_again(run: Any) -> bool:
    try:
        run()
    except Exception:
        return False
    return True


def test_every_operation_answers_as_documented_and_never_fails(
        seeded: FastAPI, api_schema: Any, bearer: dict[str, str]) -> None:
    found = [failures_of(result.ok(), bearer) for result in api_schema.get_all_operations()]
    failures = [f for f in found if f]
    assert not failures, "\n\n".join(failures)
    # Nothing generated logged the administrator out, so every operation ran logged in.
    with TestClient(seeded) as client:
        assert client.get("/api/v1/auth/me", headers=bearer).status_code == 200
