"""Two-step login: after the password, a one-time code from an authenticator app (TOTP,
RFC 6238: six digits, a new one every 30 seconds), or one of ten single-use recovery codes for
when the phone is lost.

A user turns it on from the account page: ``begin`` offers a secret (shown as a QR code), and
``confirm`` switches it on once a code made from that secret is entered, answering the recovery
codes, shown once. A code is accepted from the step before to the step after the current one (a
clock 30 s off still works) and only once: the last step accepted is kept. Wrong codes count as
failed logins, so the usual throttling (5 per user in 15 minutes) applies to guessing them.
"""

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyotp

from cangliu.core.errors import AuthenticationFailed, Conflict, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import AppUser
from cangliu.db.uow import UnitOfWork

if TYPE_CHECKING:  # auth logs in through this module, so it is imported where it is used
    from cangliu.services.auth import Client

ISSUER = "Cangliu"
RECOVERY_CODES = 10


class SecondStepNeeded(AuthenticationFailed):
    """The password was right and the user has two-step login on: the code comes next."""

    def __init__(self, user_id: int) -> None:
        super().__init__("Enter the 6-digit code from your authenticator app")
        self.user_id = user_id


def _hash(code: str) -> str:
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def _normal(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _user(uow: UnitOfWork, actor: Actor) -> AppUser:
    return uow.session.get_one(AppUser, actor.user_id, with_for_update=True)


def status(uow: UnitOfWork, actor: Actor) -> dict[str, Any]:
    with uow:
        user = uow.session.get_one(AppUser, actor.user_id)
        return {"enabled": user.totp_secret is not None,
                "recovery_codes_left": len(user.recovery_codes.split())}


def begin(uow: UnitOfWork, actor: Actor) -> dict[str, str]:
    """A new secret to scan, kept as pending until a code made from it is confirmed."""
    with uow:
        user = _user(uow, actor)
        if user.totp_secret is not None:
            raise Conflict("Two-step login is already on: turn it off first to set up another app")
        user.totp_pending = pyotp.random_base32()
        offered = _offer(user, user.totp_pending)
        uow.commit()
        return offered


def pending(uow: UnitOfWork, actor: Actor) -> dict[str, str]:
    """The secret offered by ``begin`` and not yet confirmed (to show it again)."""
    with uow:
        user = uow.session.get_one(AppUser, actor.user_id)
        if user.totp_pending is None:
            raise Conflict("Start setting up two-step login first")
        return _offer(user, user.totp_pending)


def _offer(user: AppUser, secret: str) -> dict[str, str]:
    """The secret, and the otpauth:// address an authenticator app reads from the QR code."""
    return {"secret": secret, "uri": pyotp.TOTP(secret).provisioning_uri(
        name=user.username, issuer_name=ISSUER)}


def _step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step ``code`` belongs to (the current one or its neighbours), if it is later
    than ``after``."""
    totp, code = pyotp.TOTP(secret), _normal(code)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _new_recovery_codes(user: AppUser) -> list[str]:
    codes = [f"{c[:5]}-{c[5:]}" for c in (secrets.token_hex(5) for _ in range(RECOVERY_CODES))]
    user.recovery_codes = " ".join(_hash(c) for c in codes)
    return codes


def confirm(uow: UnitOfWork, actor: Actor, *, code: str, client: "Client") -> list[str]:
    """Turn two-step login on with a code made from the pending secret; answers the recovery
    codes (shown once: only their hashes are kept)."""
    from cangliu.services import auth

    with uow:
        user = _user(uow, actor)
        if user.totp_pending is None:
            raise Conflict("Start setting up two-step login first")
        step = _step(user.totp_pending, code, uow.now(), None)
        if step is None:
            raise ValidationFailed.single("code", "is not the current code of the app: check the "
                                          "phone's clock and try the next code")
        user.totp_secret, user.totp_pending, user.totp_step = user.totp_pending, None, step
        codes = _new_recovery_codes(user)
        auth.note(uow, "two_step_on", client, user)
        auth.tell(uow.session, uow.now(), user.id,
                  "Two-step login was turned on for your account from {address}. If this was not "
                  "you, tell your administrator at once.", client)
        uow.commit()
        return codes


def accept(user: AppUser, code: str, now: datetime) -> bool:
    """Whether ``code`` lets ``user`` in: a current app code not used before, or an unused
    recovery code (used up by this). The caller commits."""
    assert user.totp_secret is not None
    step = _step(user.totp_secret, code, now, user.totp_step)
    if step is not None:
        user.totp_step = step
        return True
    left = user.recovery_codes.split()
    if _hash(code) in left:
        left.remove(_hash(code))
        user.recovery_codes = " ".join(left)
        return True
    return False


def disable(uow: UnitOfWork, actor: Actor, *, password: str, code: str,
            client: "Client") -> None:
    """Turn two-step login off: needs the password and a code (or a recovery code)."""
    from cangliu.services import auth

    with uow:
        user = _user(uow, actor)
        if user.totp_secret is None:
            raise Conflict("Two-step login is not on")
        auth.confirm_identity(uow, user, password=password, code=code, client=client)
        remove(user)
        auth.note(uow, "two_step_off", client, user)
        auth.tell(uow.session, uow.now(), user.id,
                  "Two-step login was turned off for your account from {address}. If this was not "
                  "you, tell your administrator at once.", client)
        uow.commit()


def renew_recovery_codes(uow: UnitOfWork, actor: Actor, *, password: str, code: str,
                         client: "Client") -> list[str]:
    """Ten new recovery codes in place of the old ones (used or not)."""
    from cangliu.services import auth

    with uow:
        user = _user(uow, actor)
        if user.totp_secret is None:
            raise Conflict("Two-step login is not on")
        auth.confirm_identity(uow, user, password=password, code=code, client=client)
        codes = _new_recovery_codes(user)
        auth.note(uow, "two_step_codes", client, user)
        auth.tell(uow.session, uow.now(), user.id,
                  "New recovery codes were made for your account from {address}: the old ones no "
                  "longer work. If this was not you, tell your administrator at once.", client)
        uow.commit()
        return codes


def remove(user: AppUser) -> None:
    """Turn it off for ``user`` (an administrator's password reset, in its transaction)."""
    user.totp_secret = user.totp_pending = user.totp_step = None
    user.recovery_codes = ""
