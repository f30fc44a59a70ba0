"""Two-step login in the browser and over the API: set up from the account page with a QR code,
then a login asks for the code after the password."""

import re
import time

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from cangliu.config import Settings
from cangliu.db.models import AppUser
from cangliu.services import auth
from cangliu.web.app import create_app
from tests.conftest import PASSWORD
from tests.web.conftest import csrf_of, login


def _turn_on(app) -> tuple[str, list[str], float]:  # type: ignore[no-untyped-def]
    """Amy turns two-step login on from her account page: the app's key, her recovery codes,
    and when the code that turned it on was made."""
    with login(app, "amy") as amy:
        page = amy.post("/account/two-step/begin", data={"csrf_token": amy.csrf})
        assert page.status_code == 200 and '<svg class="qr"' in page.text
        key = re.search(r"<code>([A-Z2-7]{32})</code>", page.text).group(1)
        wrong = amy.post("/account/two-step/confirm", data={"csrf_token": amy.csrf, "code": "12"})
        assert wrong.status_code == 422 and "不是验证器应用当前的验证码" in wrong.text
        assert key in wrong.text  # the same key again, to try the next code
        made = time.time()
        on = amy.post("/account/two-step/confirm",
                      data={"csrf_token": amy.csrf, "code": pyotp.TOTP(key).at(made)})
        assert on.status_code == 200 and "两步登录已开启" in on.text
        codes = re.search(r'<code class="recovery-codes">([^<]+)</code>', on.text).group(1).split()
        assert len(codes) == 10
        assert "两步登录已开启" in amy.get("/account").text and "剩余恢复码：10" in amy.get("/account").text
    return key, codes, made


def test_after_the_password_the_login_page_asks_for_the_code(app, db):
    auth.create_user(db.uow(), username="amy", password=PASSWORD)
    _key, codes, _made = _turn_on(app)
    with TestClient(app) as client:
        asked = client.post("/login", data={"username": "amy", "password": PASSWORD, "next": "/account",
                                            "csrf_token": csrf_of(client.get("/login").text)})
        assert asked.status_code == 200 and 'action="/login/code"' in asked.text
        assert client.get("/account", follow_redirects=False).status_code in (302, 303, 401)
        wrong = client.post("/login/code", data={"code": "000000", "csrf_token": csrf_of(asked.text)})
        assert wrong.status_code == 401 and "验证码错误" in wrong.text
        done = client.post("/login/code", data={"code": codes[0], "csrf_token": csrf_of(wrong.text)},
                           follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/account"
        assert client.get("/account").status_code == 200


def test_the_code_step_without_a_right_password_first_logs_nobody_in(app, db):
    auth.create_user(db.uow(), username="amy", password=PASSWORD)
    key, _codes, _made = _turn_on(app)
    with TestClient(app) as client:
        token = csrf_of(client.get("/login").text)
        alone = client.post("/login/code", data={"code": pyotp.TOTP(key).now(), "csrf_token": token})
        assert alone.status_code == 401 and "请重新登录" in alone.text
        assert client.get("/account", follow_redirects=False).status_code != 200


def test_the_api_login_asks_for_the_code_and_takes_it(app, db, anon):
    auth.create_user(db.uow(), username="amy", password=PASSWORD)
    key, _codes, made = _turn_on(app)
    asked = anon.post("/api/v1/auth/login", json={"username": "amy", "password": PASSWORD})
    assert asked.status_code == 401 and "验证器应用" in asked.json()["detail"]
    used = anon.post("/api/v1/auth/login", json={"username": "amy", "password": PASSWORD,
                                                 "code": pyotp.TOTP(key).at(made)})
    assert used.status_code == 401  # the code that turned it on, used up
    # The app's next code: the current one, or the next (a phone clock a little ahead passes).
    given = anon.post("/api/v1/auth/login", json={"username": "amy", "password": PASSWORD,
                                                  "code": pyotp.TOTP(key).at(made + 30)})
    assert given.status_code == 200 and given.json()["access_token"]


def _log_in_with(amy: TestClient, code: str) -> str:
    """Amy logs in with her password and ``code``; answers her account page's CSRF token."""
    asked = amy.post("/login", data={"username": "amy", "password": PASSWORD, "next": "/stock",
                                     "csrf_token": csrf_of(amy.get("/login").text)})
    amy.post("/login/code", data={"code": code, "csrf_token": csrf_of(asked.text)})
    return csrf_of(amy.get("/account").text)


def test_turning_it_off_on_the_account_page_needs_the_password_and_a_code(app, db):
    auth.create_user(db.uow(), username="amy", password=PASSWORD)
    _key, codes, _made = _turn_on(app)
    with TestClient(app) as amy:
        csrf = _log_in_with(amy, codes[0])
        refused = amy.post("/account/two-step/off", data={"csrf_token": csrf, "password": PASSWORD,
                                                          "code": codes[0]})  # used already
        assert refused.status_code == 422 and "两步登录已开启" in refused.text
        off = amy.post("/account/two-step/off", data={"csrf_token": csrf, "password": PASSWORD,
                                                      "code": codes[1]}, follow_redirects=False)
        assert off.status_code == 303
        assert "两步登录已关闭" in amy.get(off.headers["location"]).text
    login(app, "amy").close()  # the password alone logs in again


def test_too_many_wrong_answers_on_the_account_page_are_told_next_to_the_form(app, db):
    auth.create_user(db.uow(), username="amy", password=PASSWORD)
    _key, codes, _made = _turn_on(app)
    with TestClient(app) as amy:
        csrf = _log_in_with(amy, codes[0])
        for _ in range(5):
            wrong = amy.post("/account/two-step/recovery-codes",
                             data={"csrf_token": csrf, "password": "wrong-password-1",
                                   "code": codes[1]})
            assert wrong.status_code == 422
        held = amy.post("/account/two-step/off", data={"csrf_token": csrf, "password": PASSWORD,
                                                       "code": codes[1]})
        assert held.status_code == 429 and held.headers["Retry-After"]
        assert '<p class="field-error">登录失败次数过多' in held.text and "两步登录已开启" in held.text


def test_an_administrator_turns_it_off_for_a_user_who_lost_the_phone(app, db, api):
    auth.create_user(db.uow(), username="amy", password=PASSWORD)
    _turn_on(app)
    with login(app, "admin") as admin:
        page = admin.get("/admin/users/amy").text
        assert 'value="已开启"' in page and "/admin/users/amy/two-step/off" in page
        assert "/admin/users/admin/two-step/off" not in admin.get("/admin/users/admin").text
        done = admin.post("/admin/users/amy/two-step/off", data={"csrf_token": admin.csrf},
                          follow_redirects=False)
        assert done.headers["location"] == "/admin/users/amy?two_step_off=1"
        page = admin.get(done.headers["location"]).text
        assert "已关闭该用户的两步登录" in page and 'value="未开启"' in page
        again = admin.post("/admin/users/amy/two-step/off", data={"csrf_token": admin.csrf})
        assert again.status_code == 409 and "两步登录未开启" in again.text
        log = admin.get("/security?kind=two_step_off").text
        assert log.count('<tr class="event two_step_off">') == 1 and "关闭两步登录" in log
        assert "by admin" in log and "开启两步登录" in admin.get("/security").text
    with login(app, "amy") as amy:  # the password alone logs in again
        assert "您的两步登录已被 admin 关闭" in amy.get("/inbox").text
    _turn_on(app)
    assert api.delete("/api/v1/users/amy/two-step").status_code == 204
    assert api.delete("/api/v1/users/amy/two-step").status_code == 409
    assert api.delete("/api/v1/users/admin/two-step").status_code == 409  # one's own: not here
    assert api.delete("/api/v1/users/nobody/two-step").status_code == 404
    with db.read() as s:
        assert s.scalar(select(AppUser.totp_secret).where(AppUser.username == "amy")) is None


def test_administrators_can_be_required_to_use_it(db, network):
    app = create_app(Settings(database_url=db.url, secret_key="test-secret",
                              two_step_for_admins=True), db=db)
    auth.create_user(db.uow(), username="amy", password=PASSWORD)
    with login(app, "amy") as amy:  # not an administrator: not held
        assert amy.get("/approvals").status_code == 200
        assert amy.get("/api/v1/auth/me").status_code == 200
    with login(app, "admin") as admin:
        sent = admin.get("/stock", follow_redirects=False)
        assert sent.status_code == 303
        assert sent.headers["location"] == "/account?done=two_step_required#two-step"
        assert "管理员必须使用两步登录" in admin.get(sent.headers["location"]).text
        refused = admin.get("/api/v1/stock")
        assert refused.status_code == 403 and "两步登录" in refused.json()["detail"]
        no_token = admin.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        assert no_token.status_code == 403 and "两步登录" in no_token.json()["detail"]
        made_before = auth.issue_token(db.uow(), auth.actor_for_user(db.uow(), admin_id(db)),
                                       hours=1)
        bearer = {"Authorization": f"Bearer {made_before}"}
        assert admin.get("/api/v1/auth/me", headers=bearer).status_code == 403
        page = admin.post("/account/two-step/begin", data={"csrf_token": admin.csrf})
        key = re.search(r"<code>([A-Z2-7]{32})</code>", page.text).group(1)
        admin.post("/account/two-step/confirm",
                   data={"csrf_token": admin.csrf, "code": pyotp.TOTP(key).now()})
        assert admin.get("/stock").status_code == 200
        assert admin.get("/api/v1/auth/me", headers=bearer).status_code == 200
        code = pyotp.TOTP(key).at(time.time() + 30)
        assert admin.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD,
                                                      "code": code}).status_code == 200


def admin_id(db) -> int:  # type: ignore[no-untyped-def]
    with db.read() as session:
        return int(session.scalar(select(AppUser.id).where(AppUser.username == "admin")))
