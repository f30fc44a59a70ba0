"""Domain errors: what went wrong, in terms a user of the product understands.

Messages are English msgids; the web layer translates them into the caller's language and
fills in ``params``.
"""

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    params: dict[str, str] = dc_field(default_factory=dict)


class DomainError(Exception):
    """Base of every error a user action can raise; ``status`` is the HTTP status it maps to."""

    status = 400
    title = "Request failed"

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = {k: str(v) for k, v in params.items()}
        super().__init__(message.format(**self.params) if self.params else message)


class ValidationFailed(DomainError):
    status = 422
    title = "Invalid input"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("Invalid input")
        self.errors = errors

    @classmethod
    def single(cls, field_name: str, message: str, **params: object) -> "ValidationFailed":
        return cls([FieldError(field_name, message, {k: str(v) for k, v in params.items()})])


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


@dataclass(frozen=True)
class FieldChange:
    """One field another user changed since the version an edit was based on."""

    field: str
    before: object  # the value at the edit's version (None when it cannot be told)
    after: object  # the value now


class StaleVersion(Conflict):
    """An edit based on an old version: nothing is overwritten; the caller sees what changed,
    who saved the current version and when. ``changed`` is the current record."""

    def __init__(self, current_version: int, changed: dict[str, object], *,
                 saved_by: str = "", saved_at: datetime | None = None,
                 changes: tuple[FieldChange, ...] = ()) -> None:
        if saved_by:
            super().__init__("This record was changed by {user} (now version {version})",
                             user=saved_by, version=current_version)
        else:
            super().__init__("This record was changed by someone else (now version {version})",
                             version=current_version)
        self.current_version = current_version
        self.changed = changed
        self.saved_by = saved_by
        self.saved_at = saved_at
        self.changes = changes


class Locked(DomainError):
    """Someone else holds a live edit lock on the record: their editing session wins."""

    status = 423
    title = "Locked"

    def __init__(self, holder: str, expires_at: datetime) -> None:
        super().__init__("Being edited by {user}", user=holder)
        self.holder = holder
        self.expires_at = expires_at


class IdempotencyMismatch(DomainError):
    status = 422
    title = "Idempotency key reused"

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was already used with a different request")


class InsufficientStock(DomainError):
    status = 409
    title = "Insufficient stock"

    def __init__(self, sku: str, location: str, requested: Decimal, available: Decimal,
                 elsewhere: str = "") -> None:
        message = ("Insufficient stock of {sku} at {location}: requested {requested}, "
                   "available {available}")
        if elsewhere:
            message += "; available elsewhere: {elsewhere}"
        super().__init__(message, sku=sku, location=location, requested=requested,
                         available=available, **({"elsewhere": elsewhere} if elsewhere else {}))
        self.sku = sku
        self.location = location
        self.requested = requested
        self.available = available


class AuthenticationFailed(DomainError):
    status = 401
    title = "Not authenticated"
