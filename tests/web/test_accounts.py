"""Accounts in the browser and over the API: sessions, password change, tokens, throttling, log."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cangliu.db.models import SecurityEvent, UserSession
from cangliu.services import auth
from tests.conftest import PASSWORD

NEW_PASSWORD = "a-brand-new-password"


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def _log_in(client, username="admin", password=PASSWORD):
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": _csrf(client.get("/login").text)},
                           follow_redirects=False)
    return response


def _plant(client, cookie):
    """Make this browser send ``cookie`` as its session cookie."""
    client.cookies.clear()
    client.cookies.set("cangliu_session", cookie, domain="testserver.local")


@pytest.fixture
def browsers(app):
    """Two browsers of the same administrator, each logged in through the form."""
    with TestClient(app) as one, TestClient(app, client=("10.1.1.2", 5000)) as two:
        for client in (one, two):
            assert _log_in(client).status_code == 303
        yield one, two


def _events(db, kind=None):
    with db.read() as s:
        query = select(SecurityEvent).order_by(SecurityEvent.id)
        return s.scalars(query.where(SecurityEvent.kind == kind) if kind else query).all()


def test_login_starts_a_new_session_and_never_keeps_the_one_the_browser_brought(app, db):
    with TestClient(app) as browser, TestClient(app) as attacker:
        attacker.get("/login")
        planted = attacker.cookies.get("cangliu_session")
        _plant(browser, planted)  # a session cookie fixed by someone else
        assert _log_in(browser).status_code == 303
        assert browser.cookies.get("cangliu_session") != planted
        assert attacker.get("/stock", follow_redirects=False).status_code == 303
        first = browser.cookies.get("cangliu_session")
        assert _log_in(browser).status_code == 303  # logging in again: yet another session
        _plant(attacker, first)
        assert attacker.get("/stock", follow_redirects=False).status_code == 303
    with db.read() as s:
        sessions = s.scalars(select(UserSession).order_by(UserSession.id)).all()
    assert [r.revoked_at is None for r in sessions] == [False, True]
    assert sessions[1].address == "testclient" and sessions[1].user_agent


def test_logout_ends_the_session_even_for_a_copy_of_the_cookie(browser, app):
    cookie = browser.cookies.get("cangliu_session")
    page = browser.get("/stock")
    assert browser.post("/logout", data={"csrf_token": _csrf(page.text)},
                        follow_redirects=False).status_code == 303
    with TestClient(app) as copy:
        _plant(copy, cookie)
        assert copy.get("/stock", follow_redirects=False).status_code == 303
        assert copy.get("/api/v1/auth/me").status_code == 401


def test_ending_a_session_from_another_browser_logs_that_browser_out(browsers, db):
    one, two = browsers
    page = one.get("/account")
    assert page.status_code == 200 and "10.1.1.2" in page.text
    listed = one.get("/api/v1/auth/sessions").json()["items"]
    assert [s["current"] for s in listed].count(True) == 1
    other = next(s["id"] for s in listed if not s["current"])
    ended = one.post(f"/account/sessions/{other}/revoke", data={"csrf_token": _csrf(page.text)},
                     follow_redirects=False)
    assert ended.status_code == 303 and ended.headers["location"] == "/account?done=revoked"
    assert two.get("/stock", follow_redirects=False).headers["location"].startswith("/login")
    assert two.get("/api/v1/auth/me").status_code == 401
    assert one.get("/stock").status_code == 200
    assert _events(db, "session_revoked")[0].detail == other


def test_log_out_everywhere_else_keeps_only_this_browser(browsers):
    one, two = browsers
    revoked = one.delete("/api/v1/auth/sessions", headers={"X-CSRF-Token": _csrf(one.get("/account").text)})
    assert revoked.json() == {"revoked": 1}
    assert two.get("/api/v1/auth/me").status_code == 401
    assert one.get("/api/v1/auth/me").json()["username"] == "admin"


def test_a_password_change_logs_out_everywhere_else_and_kills_the_tokens(browsers, api, db):
    one, two = browsers
    page = one.get("/account").text
    short = one.post("/account/password", data={
        "csrf_token": _csrf(page), "current_password": PASSWORD, "new_password": "too-short",
        "new_password_repeat": "too-short"}, headers={"Accept-Language": "en"})
    assert short.status_code == 422
    assert '<span class="field-error">must be at least 12 characters</span>' in short.text
    mismatch = one.post("/account/password", data={
        "csrf_token": _csrf(page), "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "new_password_repeat": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 422
    assert api.get("/api/v1/auth/me").status_code == 200  # nothing changed so far
    changed = one.post("/account/password", data={
        "csrf_token": _csrf(page), "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "new_password_repeat": NEW_PASSWORD}, follow_redirects=False)
    assert changed.status_code == 303
    assert one.get("/stock").status_code == 200
    assert two.get("/api/v1/auth/me").status_code == 401
    refused = api.get("/api/v1/auth/me", headers={"Accept-Language": "en"})
    assert refused.json()["detail"] == "This token was revoked"
    with TestClient(one.app) as fresh:
        assert _log_in(fresh).status_code == 401
        assert _log_in(fresh, password=NEW_PASSWORD).status_code == 303
    assert len(_events(db, "password_changed")) == 1


def test_guessing_the_current_password_to_change_it_is_throttled_like_a_login(browser, api, db):
    csrf = _csrf(browser.get("/account").text)
    for _ in range(5):
        wrong = browser.post("/account/password", headers={"Accept-Language": "en"}, data={
            "csrf_token": csrf, "current_password": "wrong-password-1",
            "new_password": NEW_PASSWORD, "new_password_repeat": NEW_PASSWORD})
        assert wrong.status_code == 422
        assert '<span class="field-error">is not your current password</span>' in wrong.text
    held = browser.post("/account/password", headers={"Accept-Language": "en"}, data={
        "csrf_token": csrf, "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "new_password_repeat": NEW_PASSWORD})
    assert held.status_code == 429 and 800 < int(held.headers["Retry-After"]) <= 900
    assert ('<span class="field-error">Too many failed logins: try again in 15 minutes</span>'
            in held.text)
    over_api = api.post("/api/v1/auth/password", json={"current_password": PASSWORD,
                                                       "new_password": NEW_PASSWORD})
    assert over_api.status_code == 429 and over_api.headers["Retry-After"]
    assert [e.kind for e in _events(db) if e.kind.startswith("login_f")] == ["login_failed"] * 5
    assert [e.detail for e in _events(db, "login_failed")] == ["password change"] * 5
    assert _events(db, "password_changed") == []
    with TestClient(browser.app) as fresh:
        assert _log_in(fresh).status_code == 429  # the password, unchanged, is held too


def test_password_change_over_the_api_refuses_a_short_password(api):
    short = api.post("/api/v1/auth/password", json={"current_password": PASSWORD,
                                                    "new_password": "short"},
                     headers={"Accept-Language": "en"})
    assert short.status_code == 422
    assert short.json()["errors"] == [{"field": "new_password",
                                       "message": "must be at least 12 characters"}]
    done = api.post("/api/v1/auth/password", json={"current_password": PASSWORD,
                                                   "new_password": NEW_PASSWORD})
    assert done.status_code == 204
    assert api.get("/api/v1/auth/me").status_code == 401  # the calling token is revoked too


def test_api_tokens_are_created_shown_once_used_and_revoked(api, app):
    made = api.post("/api/v1/auth/tokens", json={"name": "ERP", "days": 30})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert api.post("/api/v1/auth/tokens", json={"name": "ERP", "days": 400}).status_code == 422
    with TestClient(app) as erp:
        erp.headers["Authorization"] = f"Bearer {token}"
        assert erp.get("/api/v1/auth/me").json()["username"] == "admin"
        listed = api.get("/api/v1/auth/tokens").json()["items"]
        assert {t["name"] for t in listed} == {"login", "ERP"}
        assert all("token" not in t for t in listed)
        assert api.delete(f"/api/v1/auth/tokens/{made.json()['id']}").status_code == 204
        refused = erp.get("/api/v1/auth/me", headers={"Accept-Language": "en"})
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["detail"] == "This token was revoked"
    assert api.delete(f"/api/v1/auth/tokens/{made.json()['id']}").status_code == 404


def test_an_expired_token_is_refused_with_a_clear_problem(app, db, admin):
    past = datetime.now(UTC) - timedelta(days=2)
    token = auth.issue_token(db.uow(clock=lambda: past), admin, hours=24)
    with TestClient(app) as client:
        refused = client.get("/api/v1/stock", headers={"Authorization": f"Bearer {token}",
                                                       "Accept-Language": "en"})
    assert refused.status_code == 401
    assert refused.json()["detail"] == "This token has expired"
    denied = _events(db, "access_denied")
    assert denied[-1].detail == "GET /api/v1/stock: This token has expired"


def test_the_account_page_creates_and_revokes_a_token(browser):
    page = browser.get("/account")
    made = browser.post("/account/tokens", data={"csrf_token": _csrf(page.text), "name": "POS",
                                                 "days": "7"})
    assert made.status_code == 200
    token = made.text.split("<code>")[1].split("</code>")[0]
    assert browser.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in browser.get("/account").text  # shown once only
    bad = browser.post("/account/tokens", data={"csrf_token": _csrf(page.text), "name": "POS",
                                                "days": "0"})
    assert bad.status_code == 422
    ref = browser.get("/api/v1/auth/tokens").json()["items"][0]["id"]
    browser.post(f"/account/tokens/{ref}/revoke", data={"csrf_token": _csrf(page.text)})
    assert browser.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_five_failed_logins_throttle_the_username_over_api_and_form(anon, db):
    for _ in range(5):
        assert anon.post("/api/v1/auth/login", json={"username": "admin",
                                                     "password": "wrong-password-1"}).status_code == 401
    throttled = anon.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD},
                          headers={"Accept-Language": "en"})
    assert throttled.status_code == 429
    assert throttled.headers["content-type"].startswith("application/problem+json")
    assert 800 < int(throttled.headers["Retry-After"]) <= 900
    assert throttled.json()["detail"] == "Too many failed logins: try again in 15 minutes"
    form = _log_in(anon)
    assert form.status_code == 429 and 'role="alert"' in form.text
    assert [e.kind for e in _events(db)] == ["login_failed"] * 5 + ["login_throttled"] * 2


def test_twenty_failed_logins_throttle_the_address(app, db):
    with TestClient(app, client=("203.0.113.7", 4000)) as bot, TestClient(app) as person:
        for i in range(20):
            bot.post("/api/v1/auth/login", json={"username": f"user{i}", "password": "guess-guess-1"})
        assert bot.post("/api/v1/auth/login", json={"username": "admin",
                                                    "password": PASSWORD}).status_code == 429
        assert _log_in(person).status_code == 303  # other addresses are not affected
    assert len(_events(db, "login_failed")) == 20


def test_every_denied_request_leaves_a_security_event(anon, browser, db):
    anon.get("/api/v1/stock")
    anon.get("/api/v1/stock", headers={"Authorization": "Bearer forged"})
    anon.get("/stock", follow_redirects=False)
    browser.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "1"})
    anon.post("/login", data={"username": "admin", "password": PASSWORD})  # no CSRF token
    denied = _events(db, "access_denied")
    assert [(e.username, e.detail) for e in denied] == [
        ("", "GET /api/v1/stock: Please log in"),
        ("", "GET /api/v1/stock: Invalid token"),
        ("", "GET /stock: Please log in"),
        ("admin", "POST /api/v1/stock/receive: The form expired or did not come from this site: "
                  "reload and try again"),
        ("", "POST /login: The form expired or did not come from this site: reload and try again"),
    ]


def test_account_forms_still_need_the_csrf_token(browser):
    refused = browser.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "new_password_repeat": NEW_PASSWORD})
    assert refused.status_code == 403
    assert browser.delete("/api/v1/auth/sessions").status_code == 403
    assert browser.get("/stock").status_code == 200  # still logged in, password unchanged


def test_the_security_log_is_for_administrators_only(browser, app, db):
    auth.create_user(db.uow(), username="clerk", password="another-long-password")
    browser.post("/api/v1/auth/login", json={"username": "clerk", "password": "nope-nope-nope"})
    page = browser.get("/security", params={"kind": "login_failed"})
    assert page.status_code == 200 and "clerk" in page.text
    assert browser.get("/security", params={"username": "nobody"}).text.count('class="event') == 0
    with TestClient(app) as clerk:
        assert _log_in(clerk, "clerk", "another-long-password").status_code == 303
        assert clerk.get("/account").status_code == 200
        assert clerk.get("/security").status_code == 403
    assert _events(db, "access_denied")[-1].username == "clerk"


def test_the_security_log_pages_through_older_events(browser, db):
    for i in range(55):
        auth.record_event(db.uow(), "access_denied", auth.Client("10.9.9.9"), detail=f"#{i}")
    first = browser.get("/security", params={"kind": "access_denied"})
    assert first.text.count('class="event') == 50 and "#54<" in first.text
    older = first.text.split('&amp;before=')[1].split('"')[0]
    second = browser.get("/security", params={"kind": "access_denied", "before": older})
    assert "#0<" in second.text and "#54<" not in second.text
