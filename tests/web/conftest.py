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


@pytest.fixture
def browser(app):
    """A client logged in through the login form, like a person."""
    with TestClient(app) as client:
        page = client.get("/login")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                               "csrf_token": csrf, "next": "/stock"},
                               follow_redirects=False)
        assert response.status_code == 303
        # A new session starts at login, with a new CSRF token.
        page = client.get("/stock").text
        client.csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        yield client
