"""CANGLIU_DEFAULT_LOCALE: the language of a visitor whose cookie and browser name neither."""

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from cangliu.config import Settings
from cangliu.web.app import create_app


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
