"""Two-step login: a user turns it on with a code from the app; then logging in takes the
password and a code, each code is good once, a recovery code once, wrong codes are throttled
like wrong passwords, and turning it off takes the password and a code."""

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from cangliu.core.errors import AuthenticationFailed, Conflict, ValidationFailed
from cangliu.db.models import AuditEvent, SecurityEvent
from cangliu.services import auth, two_step, users
from cangliu.services.auth import LoginThrottled
from cangliu.services.two_step import SecondStepNeeded
from tests.conftest import PASSWORD
from tests.services.test_auth import HOME, Clock, clock, uow  # noqa: F401


def code_at(secret: str, clock: Clock, steps: int = 0) -> str:  # noqa: F811
    return pyotp.TOTP(secret).at(clock.now + timedelta(seconds=30 * steps))


@pytest.fixture
def amy(uow):  # noqa: F811
    return auth.create_user(uow(), username="amy", password=PASSWORD)


@pytest.fixture
def secret(uow, amy, clock):  # noqa: F811
    """Amy's two-step login, turned on: the app's secret."""
    offered = two_step.begin(uow(), amy)
    assert offered["uri"].startswith("otpauth://totp/Cangliu:amy?secret=" + offered["secret"])
    with pytest.raises(ValidationFailed) as refused:
        two_step.confirm(uow(), amy, client=HOME,
                         code="000000" if code_at(offered["secret"], clock) != "000000" else "111111")
    assert refused.value.errors[0].field == "code"
    assert two_step.status(uow(), amy)["enabled"] is False
    codes = two_step.confirm(uow(), amy, client=HOME, code=code_at(offered["secret"], clock))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert two_step.status(uow(), amy) == {"enabled": True, "recovery_codes_left": 10}
    clock.advance(seconds=30)  # the code that turned it on is used up
    return offered["secret"], codes


def login(uow, code=None):  # noqa: F811
    return auth.authenticate(uow(), username="amy", password=PASSWORD, code=code, client=HOME)


def test_the_password_alone_no_longer_logs_in_and_a_code_is_good_once(uow, amy, secret, clock):  # noqa: F811
    key, _codes = secret
    with pytest.raises(SecondStepNeeded) as asked:
        login(uow)
    assert asked.value.status == 401 and asked.value.user_id == amy.user_id
    with pytest.raises(AuthenticationFailed, match="Wrong username or password"):
        auth.authenticate(uow(), username="amy", password="wrong-password-1", code=code_at(key, clock))
    assert login(uow, code_at(key, clock)).username == "amy"
    with pytest.raises(AuthenticationFailed, match="Wrong code"):
        login(uow, code_at(key, clock))  # the same code again: a replay
    # A phone clock 30 s ahead still works; two steps away does not.
    assert auth.finish_login(uow(), user_id=amy.user_id, code=code_at(key, clock, 1),
                             client=HOME).username == "amy"
    clock.advance(seconds=90)
    with pytest.raises(AuthenticationFailed):
        login(uow, code_at(key, clock, -2))
    with uow() as u:
        kinds = u.session.scalars(select(SecurityEvent.kind).where(SecurityEvent.username == "amy")
                                  .order_by(SecurityEvent.id)).all()
    assert kinds == ["two_step_on", "login_failed", "login_ok", "login_failed", "login_ok",
                     "login_failed"]


def test_a_recovery_code_logs_in_once(uow, amy, secret):  # noqa: F811
    _key, codes = secret
    assert login(uow, codes[3].upper()).username == "amy"  # as typed from paper
    with pytest.raises(AuthenticationFailed):
        login(uow, codes[3])
    assert two_step.status(uow(), amy)["recovery_codes_left"] == 9


def test_wrong_codes_are_throttled_like_wrong_passwords(uow, amy, secret, clock):  # noqa: F811
    key, _codes = secret
    for _ in range(auth.USER_LIMIT):
        with pytest.raises(AuthenticationFailed):
            auth.finish_login(uow(), user_id=amy.user_id, code="123", client=HOME)
    with pytest.raises(LoginThrottled):
        auth.finish_login(uow(), user_id=amy.user_id, code=code_at(key, clock), client=HOME)
    with pytest.raises(LoginThrottled):
        login(uow, code_at(key, clock))


def test_turning_it_off_takes_the_password_and_a_code(uow, amy, secret, clock):  # noqa: F811
    key, codes = secret
    with pytest.raises(ValidationFailed) as refused:
        two_step.disable(uow(), amy, password="wrong-password-1", code=code_at(key, clock),
                         client=HOME)
    assert refused.value.errors[0].field == "password"
    with pytest.raises(ValidationFailed) as refused:
        two_step.disable(uow(), amy, password=PASSWORD, code="000", client=HOME)
    assert refused.value.errors[0].field == "code"
    fresh = two_step.renew_recovery_codes(uow(), amy, password=PASSWORD, code=codes[0],
                                          client=HOME)
    with pytest.raises(ValidationFailed):  # the old codes are gone with the renewal
        two_step.disable(uow(), amy, password=PASSWORD, code=codes[1], client=HOME)
    two_step.disable(uow(), amy, password=PASSWORD, code=fresh[0], client=HOME)
    assert two_step.status(uow(), amy) == {"enabled": False, "recovery_codes_left": 0}
    assert login(uow).username == "amy"
    with pytest.raises(Conflict):
        two_step.disable(uow(), amy, password=PASSWORD, code=fresh[1], client=HOME)


def test_an_administrators_password_reset_turns_it_off_and_secrets_stay_out_of_the_audit_log(
        uow, amy, secret, admin):  # noqa: F811
    key, _codes = secret
    users.reset_password(uow(), admin, "amy", new_password="a-new-password-9", client=HOME)
    assert auth.authenticate(uow(), username="amy", password="a-new-password-9",
                             client=HOME).username == "amy"
    with uow() as u:
        logged = " ".join(str(r.before) + str(r.after) for r in u.session.scalars(
            select(AuditEvent).where(AuditEvent.entity == "app_user")))
    assert key not in logged and "totp_secret" in logged and "***" in logged


def test_guessing_codes_to_turn_it_off_is_throttled_like_a_login(uow, amy, secret, clock):  # noqa: F811
    """A stolen session with the password still cannot try codes faster than a login could."""
    key, _codes = secret
    for _ in range(auth.USER_LIMIT):
        with pytest.raises(ValidationFailed):
            two_step.disable(uow(), amy, password=PASSWORD, code="999999" if code_at(key, clock) != "999999"
                             else "888888", client=HOME)
    with pytest.raises(LoginThrottled):
        two_step.disable(uow(), amy, password=PASSWORD, code=code_at(key, clock), client=HOME)
    assert two_step.status(uow(), amy)["enabled"] is True
    with uow() as u:
        details = u.session.scalars(select(SecurityEvent.detail).where(
            SecurityEvent.kind == "login_failed")).all()
    assert details == ["two-step login settings"] * auth.USER_LIMIT
