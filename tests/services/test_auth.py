"""Accounts: password policy, throttled logins, server-side sessions, API tokens, the security log."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cangliu.core.errors import AuthenticationFailed, ValidationFailed
from cangliu.db.models import AppUser, Delivery, Notification, SecurityEvent, UserSession
from cangliu.services import auth, notifications, users
from cangliu.services.alerts import subscriptions
from cangliu.services.auth import Client, LoginThrottled
from tests.conftest import PASSWORD

HOME = Client("10.0.0.1", "Firefox")
ELSEWHERE = Client("10.0.0.2", "curl")
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class Clock:
    """A settable clock for units of work, so a 15-minute window passes without sleeping."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def uow(db, clock):
    return lambda: db.uow(clock=clock)


def _fail(uow, username="admin", client=HOME):
    with pytest.raises(AuthenticationFailed):
        auth.authenticate(uow(), username=username, password="wrong-password-1", client=client)


def _ok(uow, clock, client):
    clock.advance(seconds=1)
    return auth.authenticate(uow(), username="admin", password=PASSWORD, client=client)


def _kinds(db, **match):
    with db.read() as s:
        query = select(SecurityEvent.kind).order_by(SecurityEvent.id)
        for column, value in match.items():
            query = query.where(getattr(SecurityEvent, column) == value)
        return list(s.scalars(query))


def test_a_password_shorter_than_12_characters_is_refused(db, admin):
    with pytest.raises(ValidationFailed) as err:
        auth.create_user(db.uow(), username="clerk", password="short-pw-11")
    assert (err.value.errors[0].field, err.value.errors[0].params) == ("password", {"n": "12"})
    with pytest.raises(ValidationFailed) as err:
        auth.change_password(db.uow(), admin, current_password=PASSWORD, new_password="x" * 11,
                             keep_session=None, client=HOME)
    assert err.value.errors[0].field == "new_password"
    assert auth.authenticate(db.uow(), username="admin", password=PASSWORD) == admin


GUESSABLE = "is too easy to guess (a common password, a pattern or your name): choose another"


@pytest.mark.parametrize("password", ["password1234", "1qaz2wsx3edc", "woaini520520",
                                      "Password@123", "aaaaaaaaaaaa", "cangliu123456"])
def test_a_common_or_patterned_password_is_refused_whatever_its_length(db, admin, password):
    with pytest.raises(ValidationFailed) as err:
        auth.create_user(db.uow(), username="clerk", password=password)
    assert (err.value.errors[0].field, err.value.errors[0].message) == ("password", GUESSABLE)
    with pytest.raises(ValidationFailed) as err:
        auth.change_password(db.uow(), admin, current_password=PASSWORD, new_password=password,
                             keep_session=None, client=HOME)
    assert (err.value.errors[0].field, err.value.errors[0].message) == ("new_password", GUESSABLE)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AppUser)) == 1  # nothing was written
    assert auth.authenticate(db.uow(), username="admin", password=PASSWORD) == admin


def test_a_password_made_of_the_users_own_name_is_refused(db, admin):
    with pytest.raises(ValidationFailed) as err:
        auth.create_user(db.uow(), username="wangxiaoming", password="wangxiaoming88")
    assert err.value.errors[0].message == GUESSABLE
    auth.create_user(db.uow(), username="li", password="wangxiaoming88")  # someone else's: fine
    long = "The quick brown fox jumps over the lazy dog near warehouse 7 on Wensan Road, Hangzhou"
    auth.create_user(db.uow(), username="long", password=long)  # its first 72 are judged


def test_every_login_attempt_is_logged_with_its_address(db, admin):
    _fail(db.uow, client=ELSEWHERE)
    _fail(db.uow, username="nobody")
    auth.authenticate(db.uow(), username="admin", password=PASSWORD, client=HOME)
    with db.read() as s:
        rows = s.scalars(select(SecurityEvent).order_by(SecurityEvent.id)).all()
    assert [(r.kind, r.username, r.user_id, r.address) for r in rows] == [
        ("login_failed", "admin", admin.user_id, "10.0.0.2"),
        ("login_failed", "nobody", None, "10.0.0.1"),
        ("login_ok", "admin", admin.user_id, "10.0.0.1")]
    assert rows[0].user_agent == "curl"


def test_five_failures_for_one_username_throttle_it_until_the_window_passes(uow, clock, admin, db):
    for _ in range(5):
        _fail(uow)
        clock.advance(minutes=1)
    # Even the right password is not checked while the account is throttled.
    with pytest.raises(LoginThrottled) as err:
        auth.authenticate(uow(), username="admin", password=PASSWORD, client=ELSEWHERE)
    assert err.value.status == 429 and err.value.retry_after == 10 * 60  # first failure + 15 min
    clock.advance(minutes=10)
    assert auth.authenticate(uow(), username="admin", password=PASSWORD, client=HOME) == admin
    assert _kinds(db) == ["login_failed"] * 5 + ["login_throttled", "login_ok"]


def test_a_success_forgives_only_the_failures_from_its_own_address(uow, clock, admin):
    for _ in range(4):
        _fail(uow, client=HOME)
    _ok(uow, clock, HOME)
    for _ in range(4):
        _fail(uow, client=HOME)
    assert _ok(uow, clock, HOME) == admin  # eight typos, but never five since a success
    # Someone guessing from elsewhere is not forgiven by the owner's success.
    for _ in range(4):
        _fail(uow, client=ELSEWHERE)
    _ok(uow, clock, HOME)
    _fail(uow, client=ELSEWHERE)
    for client in (ELSEWHERE, HOME):
        with pytest.raises(LoginThrottled):
            _ok(uow, clock, client)


def test_twenty_failures_from_one_address_throttle_that_address(uow, clock, admin):
    for i in range(20):
        _fail(uow, username=f"guess{i % 4}", client=ELSEWHERE)
    with pytest.raises(LoginThrottled):
        auth.authenticate(uow(), username="admin", password=PASSWORD, client=ELSEWHERE)
    assert auth.authenticate(uow(), username="admin", password=PASSWORD, client=HOME) == admin
    clock.advance(minutes=15)
    assert auth.authenticate(uow(), username="admin", password=PASSWORD, client=ELSEWHERE) == admin


def test_a_session_works_until_it_is_revoked_or_idle_too_long(uow, clock, db, admin):
    first = auth.start_session(uow(), admin, client=HOME)
    assert auth.actor_for_session(uow(), first) == admin
    second = auth.start_session(uow(), admin, client=HOME, replaces=first)
    assert second != first
    with pytest.raises(AuthenticationFailed):
        auth.actor_for_session(uow(), first)  # a new login ends the browser's previous session
    clock.advance(hours=13)
    with pytest.raises(AuthenticationFailed):
        auth.actor_for_session(uow(), second)
    with db.read() as s:
        stored = s.scalars(select(UserSession.session_hash)).all()
    assert first not in stored and second not in stored  # only hashes are kept


def test_a_session_in_constant_use_still_ends_twelve_hours_after_the_login(uow, clock, admin):
    sid = auth.start_session(uow(), admin, client=HOME)
    for _ in range(11):
        clock.advance(hours=1)
        assert auth.actor_for_session(uow(), sid) == admin  # never idle
    clock.advance(minutes=59)
    assert len(auth.list_sessions(uow(), admin, current=sid)) == 1
    clock.advance(minutes=1)
    with pytest.raises(AuthenticationFailed, match="log in again"):
        auth.actor_for_session(uow(), sid)
    assert auth.list_sessions(uow(), admin, current=sid) == []


def test_last_seen_is_refreshed_at_most_once_a_minute(uow, clock, db, admin):
    sid = auth.start_session(uow(), admin, client=HOME)

    def last_seen():
        with db.read() as s:
            return s.scalar(select(UserSession.last_seen_at))

    clock.advance(seconds=30)
    auth.actor_for_session(uow(), sid)
    assert last_seen() == START
    clock.advance(seconds=31)
    auth.actor_for_session(uow(), sid)
    assert last_seen() == START + timedelta(seconds=61)


def test_sessions_are_listed_and_revoked_only_by_their_owner(uow, db, admin):
    clerk = auth.create_user(db.uow(), username="clerk", password="another-long-password")
    mine = auth.start_session(uow(), admin, client=HOME)
    auth.start_session(uow(), admin, client=ELSEWHERE)
    theirs = auth.start_session(uow(), clerk, client=HOME)
    listed = auth.list_sessions(uow(), admin, current=mine)
    assert [(s["address"], s["current"]) for s in listed] == [("10.0.0.2", False),
                                                              ("10.0.0.1", True)]
    clerk_ref = auth.list_sessions(uow(), clerk, current=None)[0]["id"]
    with pytest.raises(Exception) as err:
        auth.revoke_session(uow(), admin, ref=clerk_ref, client=HOME)
    assert err.value.status == 404
    assert auth.actor_for_session(uow(), theirs) == clerk
    assert auth.revoke_other_sessions(uow(), admin, current=mine, client=HOME) == 1
    assert [s["current"] for s in auth.list_sessions(uow(), admin, current=mine)] == [True]


def test_a_password_change_ends_other_sessions_and_revokes_every_token(uow, db, admin):
    here = auth.start_session(uow(), admin, client=HOME)
    there = auth.start_session(uow(), admin, client=ELSEWHERE)
    token = auth.create_token(uow(), admin, name="erp", days=30, client=HOME)["token"]
    login_token = auth.issue_token(uow(), admin, hours=12)
    with pytest.raises(ValidationFailed) as err:
        auth.change_password(uow(), admin, current_password="not-my-password",
                             new_password="a-new-long-password", keep_session=here, client=HOME)
    assert err.value.errors[0].field == "current_password"
    assert auth.actor_for_token(uow(), token) == admin  # a refused change changes nothing
    auth.change_password(uow(), admin, current_password=PASSWORD,
                         new_password="a-new-long-password", keep_session=here, client=HOME)
    assert auth.actor_for_session(uow(), here) == admin
    for check in (lambda: auth.actor_for_session(uow(), there),
                  lambda: auth.actor_for_token(uow(), token),
                  lambda: auth.actor_for_token(uow(), login_token)):
        with pytest.raises(AuthenticationFailed):
            check()
    with pytest.raises(AuthenticationFailed):
        auth.authenticate(uow(), username="admin", password=PASSWORD)
    assert auth.authenticate(uow(), username="admin", password="a-new-long-password") == admin
    assert "password_changed" in _kinds(db)
    # the user is told in the inbox, with where the change came from (a refused change: no)
    [told], _ = notifications.list_notifications(uow(), admin)
    assert told["kind"] == "security" and told["params"]["address"] == HOME.address
    assert told["title"].startswith("Your password was changed from {address}.")


def test_tokens_expire_can_be_revoked_and_are_listed_without_their_secret(uow, clock, admin):
    with pytest.raises(ValidationFailed) as err:
        auth.create_token(uow(), admin, name="erp", days=366, client=HOME)
    assert err.value.errors[0].field == "days"
    made = auth.create_token(uow(), admin, name="erp", days=2, client=HOME)
    other = auth.create_token(uow(), admin, name="shop", days=30, client=HOME)
    clock.advance(minutes=5)
    assert auth.actor_for_token(uow(), made["token"]) == admin
    listed = auth.list_tokens(uow(), admin)
    assert [t["name"] for t in listed] == ["shop", "erp"] and "token" not in listed[0]
    assert listed[1]["last_used_at"] == START + timedelta(minutes=5)
    auth.revoke_token(uow(), admin, ref=other["id"], client=HOME)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        auth.actor_for_token(uow(), other["token"])
    clock.advance(days=2)
    with pytest.raises(AuthenticationFailed, match="expired"):
        auth.actor_for_token(uow(), made["token"])
    assert auth.list_tokens(uow(), admin) == []


def test_the_security_log_pages_newest_first_with_filters(uow, clock, db, admin):
    for i in range(5):
        _fail(uow, username=f"user{i % 2}")
        clock.advance(seconds=1)
    with db.read() as s:
        page, cursor = auth.security_events(s, limit=2)
        rest, end = auth.security_events(s, before=cursor, limit=10)
        user1, _ = auth.security_events(s, username="user1", kind="login_failed")
        none, _ = auth.security_events(s, kind="logout")
    assert [e["username"] for e in page + rest] == ["user0", "user1", "user0", "user1", "user0"]
    assert end is None and len(user1) == 2 and none == []


def test_changes_to_how_one_logs_in_are_told_by_e_mail_too_in_ones_language(db, admin):
    def mails() -> list[tuple[list[str], str, str]]:
        with db.read() as s:
            sent = [json.loads(p) for p in s.scalars(select(Delivery.payload).where(
                Delivery.kind == "email").order_by(Delivery.id))]
        return [(m["to"], m["subject"], m["text"]) for m in sent]

    li = auth.create_user(db.uow(), username="li", password=PASSWORD)
    subscriptions.set_email(db.uow(), li, "li@example.com", client=HOME)
    users.reset_password(db.uow(), admin, "li", new_password="a-new-long-password", client=HOME)
    auth.set_locale(db.uow(), admin.user_id, "en")
    auth.change_password(db.uow(), admin, current_password=PASSWORD,  # no address yet: inbox only
                         new_password="a-new-long-password", keep_session=None, client=HOME)
    subscriptions.set_email(db.uow(), admin, "boss@example.com", client=HOME)
    subscriptions.set_email(db.uow(), admin, "boss@example.com", client=HOME)  # the same: nothing
    subscriptions.set_email(db.uow(), admin, "new-boss@example.com", client=ELSEWHERE)
    assert mails() == [
        (["li@example.com"], "仓流：您的登录方式有变更",
         "您的密码已被 admin 重置。如果您没有提出重置，请立即告知管理员。"),
        (["boss@example.com"], "Cangliu: a change to how you log in",  # the old address
         "The e-mail address of your Cangliu account was changed from 10.0.0.2. If this was not "
         "you, tell your administrator at once."),
    ]
    with db.read() as s:
        told = s.scalars(select(func.count()).select_from(Notification).where(
            Notification.user_id == admin.user_id,
            Notification.kind == "security")).one()
    assert told == 2  # the password change and the changed address
