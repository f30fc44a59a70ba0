"""User administration: listing users, renaming, deactivating, and handing out roles safely.

Passwords and sessions stay in ``services.auth``, roles and assignments in ``services.roles``;
this module adds what an administrator needs around them. Someone holding ``user.edit`` without
being an administrator cannot grant (or give a role) more than they hold themselves, else the
permission to edit users would be the permission to do everything.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import ApiToken, AppUser, Role, RoleAssignment, UserSession
from cangliu.db.uow import UnitOfWork
from cangliu.services import auth, roles
from cangliu.services.approvals import policies as approval_policies


class NotAllowed(DomainError):
    status = 403
    title = "Forbidden"


def _user_out(user: AppUser, role_codes: Sequence[str]) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "active": user.active,
            "is_admin": user.is_admin, "two_step": user.totp_secret is not None,
            "created_at": user.created_at, "roles": list(role_codes)}


def _role_codes(session: Session, user_ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in user_ids}
    rows = session.execute(
        select(RoleAssignment.user_id, Role.code).join(Role, Role.id == RoleAssignment.role_id)
        .where(RoleAssignment.user_id.in_(user_ids)).order_by(RoleAssignment.id))
    for user_id, code in rows:
        if code not in out[user_id]:
            out[user_id].append(code)
    return out


def list_users(session: Session, *, q: str | None = None, after: str | None = None,
               limit: int = 50) -> tuple[list[dict[str, Any]], str | None]:
    """One page of users ordered by username, searched by username and display name;
    the cursor is the last username."""
    query = select(AppUser)
    if q and q.strip():
        like = f"%{q.strip()}%"
        query = query.where(or_(AppUser.username.ilike(like), AppUser.display_name.ilike(like)))
    if after:
        query = query.where(AppUser.username > after)
    rows = list(session.scalars(query.order_by(AppUser.username).limit(limit + 1)))
    page = rows[:limit]
    codes = _role_codes(session, [u.id for u in page])
    items = [_user_out(u, codes[u.id]) for u in page]
    return items, (page[-1].username if len(rows) > limit else None)


def _user(session: Session, username: str) -> AppUser:
    user = session.scalar(select(AppUser).where(AppUser.username == username))
    if user is None:
        raise NotFound("User {username} not found", username=username)
    return user


def get_user(uow: UnitOfWork, username: str) -> dict[str, Any]:
    """The user with their assignments; an administrator by flag shows an "admin" assignment,
    so that saving the assignments as shown keeps them an administrator."""
    with uow:
        user = _user(uow.session, username)
        out = _user_out(user, _role_codes(uow.session, [user.id])[user.id])
    out["assignments"] = _shown_assignments(uow, username, is_admin=out["is_admin"])
    return out


def _shown_assignments(uow: UnitOfWork, username: str, *, is_admin: bool) -> list[dict[str, Any]]:
    items = roles.assignments(uow, username)
    if is_admin and not any(a["role"] == "admin" for a in items):
        items.insert(0, {"role": "admin", "scope": "all", "region": "", "sites": []})
    return items


def update_user(uow: UnitOfWork, actor: Actor, username: str, *,
                display_name: str | None = None, active: bool | None = None) -> dict[str, Any]:
    """Rename a user or (de)activate them. Deactivating ends their sessions and API tokens at
    once, so that reactivating them later does not bring old logins back."""
    if display_name is not None and not display_name.strip():
        raise ValidationFailed.single("display_name", "must not be empty")
    with uow:
        user = _user(uow.session, username)
        _may_change(actor, user)
        if active is False and user.id == actor.user_id:
            raise ValidationFailed.single("active", "you cannot deactivate yourself")
        if display_name is not None:
            user.display_name = display_name.strip()
        if active is not None and active != user.active:
            user.active = active
            if not active:
                _end_logins(uow, user.id)
        uow.commit()
    return get_user(uow, username)


def reset_password(uow: UnitOfWork, actor: Actor, username: str, *, new_password: str,
                   client: auth.Client) -> None:
    """Set another user's password; they are logged out everywhere. Your own password is
    changed on your account page, where the current one is asked for."""
    with uow:
        user = _user(uow.session, username)
        _may_change(actor, user)
        if user.id == actor.user_id:
            raise ValidationFailed.single("new_password", "change your own password on your "
                                          "account page")
        auth.reset_password(uow, actor, user=user, new_password=new_password, client=client)
        uow.commit()


def turn_off_two_step(uow: UnitOfWork, actor: Actor, username: str, *,
                      client: auth.Client) -> None:
    """For a user who lost the phone with their authenticator app: their password alone logs
    them in again, and they can set two-step login up anew. Your own is turned off on your
    account page, with your password and a code."""
    with uow:
        user = _user(uow.session, username)
        _may_change(actor, user)
        if user.id == actor.user_id:
            raise Conflict("Turn your own two-step login off on your account page")
        if user.totp_secret is None:
            raise Conflict("Two-step login is not on")
        auth.turn_off_two_step(uow, actor, user=user, client=client)
        uow.commit()


def _end_logins(uow: UnitOfWork, user_id: int) -> None:
    now = uow.now()
    uow.session.execute(update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)).values(revoked_at=now))
    uow.session.execute(update(ApiToken).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)).values(revoked_at=now))


def _may_change(actor: Actor, user: AppUser) -> None:
    if user.is_admin and not actor.is_admin:
        raise NotAllowed("Only an administrator may change an administrator")


def _beyond(actor: Actor, permissions: Sequence[str]) -> str | None:
    """The first of ``permissions`` that ``actor`` does not hold everywhere, if any."""
    return next((p for p in sorted(permissions) if actor.sites(p) is not None), None)


def save_role(uow: UnitOfWork, actor: Actor, code: str, **fields: Any) -> dict[str, Any]:
    """``roles.save_role``, refusing to put into a role a permission the editor lacks."""
    lacking = _beyond(actor, fields.get("permissions") or ())
    if lacking:
        raise ValidationFailed.single("permissions", "you do not hold {name}", name=lacking)
    return roles.save_role(uow, actor, code, **fields)


def delete_role(uow: UnitOfWork, actor: Actor, code: str) -> None:
    """Delete a custom role nobody holds and no approval policy names; built-in roles stay."""
    with uow:
        row = uow.session.scalar(select(Role).where(Role.code == code))
        if row is None:
            raise NotFound("Role {code} not found", code=code)
        if row.built_in:
            raise Conflict("Role {code} is built in and cannot be deleted", code=code)
        lacking = _beyond(actor, sorted(roles.words(row.permissions)))
        if lacking:
            raise NotAllowed("You do not hold {name}", name=lacking)
        holders = uow.session.scalar(select(func.count()).select_from(RoleAssignment).where(
            RoleAssignment.role_id == row.id)) or 0
        if holders:
            raise Conflict("Role {code} is held by {n} users: take it from them first",
                           code=code, n=holders)
        policies = approval_policies.policies_naming_role(uow.session, code)
        if policies:
            raise Conflict("Role {code} is named in the approval policy of {types}",
                           code=code, types=", ".join(policies))
        uow.session.delete(row)
        uow.commit()


def assign(uow: UnitOfWork, actor: Actor, username: str,
           items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace a user's assignments: no one removes their own administrator role, and a
    non-administrator grants only roles whose permissions they hold everywhere."""
    with uow:
        user = _user(uow.session, username)
        _may_change(actor, user)
        user_id = user.id
        held = {r.code: r.permissions.split() for r in uow.session.scalars(select(Role))}
    for i, item in enumerate(items):
        lacking = _beyond(actor, held.get(item["role"], ()))
        if lacking:
            raise ValidationFailed.single(f"assignments[{i}].role", "you do not hold {name}",
                                          name=lacking)
    if user_id == actor.user_id and actor.is_admin and not any(
            item["role"] == "admin" for item in items):
        raise ValidationFailed.single("assignments", "you cannot remove your own administrator role")
    return roles.set_assignments(uow, actor, username, items)
