"""CANGLIU_DEFAULT_LOCALE: the language of a visitor whose cookie and browser name neither."""

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from cangliu.config import Settings
from cangliu.db.models import AppUser
from cangliu.web.app import create_app
from tests.conftest import PASSWORD
from tests.web.conftest import csrf_of


def _client(db, **settings) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(create_app(Settings(database_url=db.url, secret_key="t", **settings), db=db))


def _lang(client: TestClient, **headers: str) -> str:
    html = client.get("/login", headers=headers).text
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def test_without_a_cookie_or_browser_language_the_setting_decides(db, network):
    with _client(db) as zh, _client(db, default_locale="en") as en:
        assert _lang(zh) == "zh-CN" and "登录" in zh.get("/login").text
        assert _lang(en) == "en" and "Log in" in en.get("/login").text
        # API errors follow it too
        refused = en.post("/api/v1/auth/login", json={"username": "admin"})
        assert refused.status_code == 422 and refused.json()["title"] == "Invalid input"
        assert zh.post("/api/v1/auth/login", json={"username": "admin"}).json()["title"] != \
            "Invalid input"


def test_the_browser_and_the_cookie_still_come_first(db, network):
    with _client(db, default_locale="en") as client:
        assert _lang(client, **{"Accept-Language": "zh-CN,zh;q=0.9"}) == "zh-CN"
        client.cookies.set("lang", "zh_CN")
        assert _lang(client, **{"Accept-Language": "en-US"}) == "zh-CN"


def test_an_unknown_default_locale_is_refused_naming_the_setting():
    with pytest.raises(ValidationError) as refused:
        Settings(default_locale="fr")  # type: ignore[arg-type]
    assert "default_locale" in str(refused.value)


def test_the_language_a_user_logs_in_with_and_switches_to_is_remembered_as_theirs(db, network):
    """Report e-mails are written in it."""
    def remembered() -> str | None:
        with db.read() as s:
            return s.scalar(select(AppUser.locale).where(AppUser.username == "admin"))

    with _client(db) as client:
        english = {"Accept-Language": "en-US,en;q=0.9"}
        client.post("/login", headers=english, data={
            "username": "admin", "password": PASSWORD,
            "csrf_token": csrf_of(client.get("/login", headers=english).text)})
        assert remembered() == "en"
        assert client.get("/lang/zh_CN", follow_redirects=False).status_code == 303
        assert remembered() == "zh_CN"
        client.get("/lang/fr", follow_redirects=False)
        assert remembered() == "zh_CN"
