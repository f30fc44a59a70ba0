"""Roles and their assignments: built-in and custom roles, site scopes, and the actor they make.

Built-in roles are kept in step with ``core.permissions.BUILTIN_ROLES`` by ``ensure_builtin``
(their permissions are fixed; their field rules may be edited). Custom roles are built from
permission checkboxes. An assignment gives a user one role within all sites, one region, or a
list of site codes; the actor of a request carries one grant per assignment.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict, NotFound, ValidationFailed
from cangliu.core.locations import LocationKind
from cangliu.core.permissions import (
    ALL_PERMISSIONS,
    BUILTIN,
    BUILTIN_ROLES,
    FIELD_GROUPS,
    Actor,
    Grant,
)
from cangliu.db.models import AppUser, Location, Role, RoleAssignment
from cangliu.db.uow import UnitOfWork

SCOPES = ("all", "region", "sites")


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _join(names: Iterable[str]) -> str:
    return " ".join(sorted(names))


def ensure_builtin(uow: UnitOfWork) -> None:
    """Create the built-in roles that are missing and reset built-in permissions to the code's."""
    with uow:
        rows = {r.code: r for r in uow.session.scalars(select(Role).where(Role.code.in_(BUILTIN)))}
        changed = False
        for spec in BUILTIN_ROLES:
            row = rows.get(spec.code)
            if row is None:
                uow.session.add(Role(
                    code=spec.code, name=spec.name, name_en=spec.name_en, built_in=True,
                    permissions=_join(spec.permissions), hidden_fields=_join(spec.hidden),
                    readonly_fields=_join(spec.readonly), version=1))
                changed = True
            elif row.permissions != _join(spec.permissions) or not row.built_in:
                row.permissions, row.built_in = _join(spec.permissions), True
                changed = True
        if changed:
            uow.commit()


# --- the actor of a request ---------------------------------------------------------------------

def actor_of(session: Session, user: AppUser, *, limit_to: frozenset[str] | None = None) -> Actor:
    """The acting user with one grant per role assignment (``limit_to``: a token's permissions)."""
    rows: list[tuple[Role, str, str, str]] = [tuple(r) for r in session.execute(
        select(Role, RoleAssignment.scope, RoleAssignment.region, RoleAssignment.sites)
        .join(RoleAssignment, RoleAssignment.role_id == Role.id)
        .where(RoleAssignment.user_id == user.id))]
    is_admin = user.is_admin or any(role.code == "admin" for role, *_ in rows)
    two_step = user.totp_secret is not None
    if is_admin and limit_to is None:
        return Actor(user.id, user.username, True, two_step=two_step)
    if is_admin:
        rows = [(_admin_role(), "all", "", "")]
    grants, hidden, readonly = [], set(FIELD_GROUPS), set(FIELD_GROUPS)
    for role, scope, region, site_codes in rows:
        permissions = words(role.permissions)
        if limit_to is not None:
            permissions &= limit_to
        grants.append(Grant(permissions, _scope_sites(session, scope, region, site_codes)))
        hidden &= words(role.hidden_fields)
        readonly &= words(role.readonly_fields) | words(role.hidden_fields)
    if not rows:
        hidden = readonly = set()
    return Actor(user.id, user.username, False, grants=tuple(grants),
                 hidden=frozenset(hidden), readonly=frozenset(readonly - hidden),
                 two_step=two_step)


def _admin_role() -> Role:
    return Role(code="admin", permissions=_join(ALL_PERMISSIONS), hidden_fields="",
                readonly_fields="")


def _scope_sites(session: Session, scope: str, region: str, codes: str) -> frozenset[int] | None:
    if scope == "all":
        return None
    query = select(Location.id).where(Location.kind == LocationKind.SITE.value)
    if scope == "region":
        query = query.where(Location.region == region)
    else:
        query = query.where(Location.code.in_(codes.split()))
    return frozenset(session.scalars(query))


# --- roles ---------------------------------------------------------------------------------------

def _role_out(row: Role) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "name_en": row.name_en, "built_in": row.built_in,
            "permissions": sorted(words(row.permissions)),
            "hidden_fields": sorted(words(row.hidden_fields)),
            "readonly_fields": sorted(words(row.readonly_fields)), "version": row.version}


def list_roles(uow: UnitOfWork) -> list[dict[str, Any]]:
    ensure_builtin(uow)
    with uow:
        rows = uow.session.scalars(select(Role).order_by(Role.built_in.desc(), Role.id))
        return [_role_out(r) for r in rows]


def get_role(uow: UnitOfWork, code: str) -> dict[str, Any]:
    with uow:
        return _role_out(_role(uow.session, code))


def _role(session: Session, code: str) -> Role:
    row = session.scalar(select(Role).where(Role.code == code))
    if row is None:
        raise NotFound("Role {code} not found", code=code)
    return row


def _check_names(field: str, names: Iterable[str], known: Iterable[str]) -> str:
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValidationFailed.single(field, "unknown name {name}", name=unknown[0])
    return _join(names)


def save_role(uow: UnitOfWork, actor: Actor, code: str, *, name: str, name_en: str = "",
              permissions: Sequence[str] | None = None, hidden_fields: Sequence[str] = (),
              readonly_fields: Sequence[str] = (), version: int | None = None) -> dict[str, Any]:
    """Create a custom role (no ``version``) or edit one; a built-in role's permissions are fixed."""
    hidden = _check_names("hidden_fields", hidden_fields, FIELD_GROUPS)
    readonly = _check_names("readonly_fields", readonly_fields, FIELD_GROUPS)
    with uow:
        row = uow.session.scalar(select(Role).where(Role.code == code))
        if version is None:
            if row is not None:
                raise Conflict("Role {code} already exists", code=code)
            row = Role(code=code, built_in=False, version=1, permissions="")
            uow.session.add(row)
        else:
            if row is None:
                raise NotFound("Role {code} not found", code=code)
            if row.version != version:
                raise Conflict("Role {code} was changed by someone else (now version {version})",
                               code=code, version=row.version)
            row.version += 1
        if permissions is not None:
            if row.built_in:
                raise ValidationFailed.single("permissions", "of a built-in role cannot be changed")
            row.permissions = _check_names("permissions", permissions, ALL_PERMISSIONS)
        row.name, row.name_en = name, name_en
        row.hidden_fields, row.readonly_fields = hidden, readonly
        uow.commit()
        return _role_out(row)


# --- assignments ---------------------------------------------------------------------------------

def assignments(uow: UnitOfWork, username: str) -> list[dict[str, Any]]:
    with uow:
        user = _user(uow.session, username)
        rows = uow.session.execute(
            select(RoleAssignment, Role.code).join(Role, Role.id == RoleAssignment.role_id)
            .where(RoleAssignment.user_id == user.id).order_by(RoleAssignment.id)).all()
        return [{"role": code, "scope": a.scope, "region": a.region, "sites": a.sites.split()}
                for a, code in rows]


def _user(session: Session, username: str) -> AppUser:
    user = session.scalar(select(AppUser).where(AppUser.username == username))
    if user is None:
        raise NotFound("User {username} not found", username=username)
    return user


def set_assignments(uow: UnitOfWork, actor: Actor, username: str,
                    items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace a user's role assignments: each ``{role, scope, region, sites}``."""
    ensure_builtin(uow)
    with uow:
        session = uow.session
        user = _user(session, username)
        roles = {r.code: r for r in session.scalars(select(Role))}
        site_codes = set(session.scalars(select(Location.code).where(
            Location.kind == LocationKind.SITE.value)))
        regions = set(session.scalars(select(Location.region).where(
            Location.kind == LocationKind.SITE.value)))
        new = []
        for i, item in enumerate(items):
            role = roles.get(item["role"])
            if role is None:
                raise ValidationFailed.single(f"assignments[{i}].role", "unknown role {code}",
                                              code=item["role"])
            scope, region = item.get("scope", "all"), item.get("region", "")
            sites = list(item.get("sites") or [])
            if scope not in SCOPES:
                raise ValidationFailed.single(f"assignments[{i}].scope", "must be one of {names}",
                                              names=", ".join(SCOPES))
            if scope == "region" and (not region or region not in regions):
                raise ValidationFailed.single(f"assignments[{i}].region", "unknown region {name}",
                                              name=region)
            if scope == "sites" and not sites:
                raise ValidationFailed.single(f"assignments[{i}].sites", "choose at least one site")
            bad = sorted(set(sites) - site_codes) if scope == "sites" else []
            if bad:
                raise ValidationFailed.single(f"assignments[{i}].sites", "unknown site {code}",
                                              code=bad[0])
            new.append(RoleAssignment(
                user_id=user.id, role_id=role.id, scope=scope,
                region=region if scope == "region" else "",
                sites=_join(sites) if scope == "sites" else ""))
        session.execute(delete(RoleAssignment).where(RoleAssignment.user_id == user.id))
        session.add_all(new)
        user.is_admin = any(roles[item["role"]].code == "admin" for item in items)
        uow.commit()
    return assignments(uow, username)
