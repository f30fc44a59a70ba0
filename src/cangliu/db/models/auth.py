"""Users, their browser sessions and API tokens, and the security log."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId


class AppUser(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    email: Mapped[str] = mapped_column(String(200), default="", server_default="")  # for alerts
    created_at: Mapped[datetime]
    # Two-step login (TOTP, RFC 6238): the secret once confirmed, a secret offered but not yet
    # confirmed, the last time step accepted (a code is good once), and the SHA-256 of each
    # unused recovery code, space-separated.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending: Mapped[str | None] = mapped_column(String(64))
    totp_step: Mapped[int | None] = mapped_column(BigInteger)
    recovery_codes: Mapped[str] = mapped_column(Text, default="", server_default="")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored. ``ref`` names it in lists and URLs."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # Space-separated permissions the token is limited to (within its user's); NULL: all of them.
    permissions: Mapped[str | None] = mapped_column(Text)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class UserSession(Base):
    """A browser session: the signed cookie carries the random id, the table only its SHA-256."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    address: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None]


class SecurityEvent(Base):
    """One login attempt, logout, credential change or denied access; append-only."""

    __tablename__ = "security_event"
    __table_args__ = (
        # Login throttling counts recent failures per username and per address.
        Index("ix_security_event_username_kind_at", "username", "kind", "at"),
        Index("ix_security_event_address_kind_at", "address", "kind", "at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))
    username: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    address: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(String(200))


class Role(Base):
    """A built-in or custom role: permissions and field rules, as space-separated names."""

    __tablename__ = "role"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    built_in: Mapped[bool] = mapped_column(Boolean, default=False)
    permissions: Mapped[str] = mapped_column(Text, default="")
    hidden_fields: Mapped[str] = mapped_column(String(200), default="")
    readonly_fields: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)


class RoleAssignment(Base):
    """A user holds a role within a site scope: all sites, one region, or listed site codes."""

    __tablename__ = "role_assignment"
    __table_args__ = (CheckConstraint("scope IN ('all', 'region', 'sites')", name="scope"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"), index=True)
    scope: Mapped[str] = mapped_column(String(10), default="all")
    region: Mapped[str] = mapped_column(String(40), default="")
    sites: Mapped[str] = mapped_column(Text, default="")
