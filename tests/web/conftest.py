import pytest
from fastapi.testclient import TestClient

from cangliu.config import Settings
from cangliu.web.app import create_app
from tests.conftest import PASSWORD


@pytest.fixture
def app(db, network):
    return create_app(Settings(database_url=db.url, secret_key="test-secret"), db=db)


@pytest.fixture
def anon(app):
    with TestClient(app) as client:
        yield client


@pytest.fixture
def api(app):
    """A client holding an admin bearer token."""
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/login",
                            json={"username": "admin", "password": PASSWORD}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def csrf_of(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def login(app, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    """A client logged in as ``username`` through the login form, like a person; ``client.csrf``
    is the token of its new session."""
    client = TestClient(app)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": csrf_of(client.get("/login").text),
                                           "next": "/stock"}, follow_redirects=False)
    assert response.status_code == 303
    # A new session starts at login, with a new CSRF token.
    client.csrf = csrf_of(client.get("/account").text)  # type: ignore[attr-defined]
    return client


@pytest.fixture
def browser(app):
    """A client logged in as the administrator through the login form."""
    with login(app, "admin") as client:
        yield client
