"""Serial and lot generation rules (编码规则): a template per SKU, per category or by default,
checked when saved and previewed while edited."""

import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.core.serials import templates
from cangliu.db.models import Category, Location, SerialRule, Sku
from cangliu.db.uow import UnitOfWork
from cangliu.services.conflicts import stale_version

KINDS = ("serial", "lot")
# Used when no rule covers a SKU: unique per SKU and day, six digits a day.
DEFAULT_TEMPLATES = {"serial": "{sku}-{date:YYMMDD}-{seq:6:daily}",
                     "lot": "{sku}-{date:YYMMDD}-{seq:3:daily}"}
DEFAULT_CODES = {"serial": "DEFAULT", "lot": "DEFAULT-LOT"}
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
FIELDS = ("name", "template", "sku", "category", "line", "active")
MAX_PREVIEW = 20


def sku_named(session: Session, code: str, field: str = "sku") -> Sku:
    row = session.scalar(select(Sku).where(Sku.code == code, Sku.deleted_at.is_(None)))
    if row is None:
        raise ValidationFailed.single(field, "unknown SKU {code}", code=code)
    return row


def _category(session: Session, code: str) -> Category:
    row = session.scalar(select(Category).where(Category.code == code))
    if row is None:
        raise ValidationFailed.single("category", "unknown category {code}", code=code)
    return row


def site_of(session: Session, code: str | None) -> Location | None:
    """The site named ``code`` (None when not given); an unknown one is refused naming ``site``."""
    if not code:
        return None
    row = session.scalar(select(Location).where(Location.code == code, Location.kind == "site"))
    if row is None:
        raise ValidationFailed.single("site", "unknown site {code}", code=code)
    return row


def category_code(session: Session, sku: Sku) -> str:
    if sku.category_id is None:
        return ""
    return session.scalar(select(Category.code).where(Category.id == sku.category_id)) or ""


def to_dict(session: Session, row: SerialRule) -> dict[str, Any]:
    sku = session.get(Sku, row.sku_id) if row.sku_id else None
    category = session.get(Category, row.category_id) if row.category_id else None
    return {"code": row.code, "name": row.name, "kind": row.kind, "template": row.template,
            "sku": sku.code if sku else None, "category": category.code if category else None,
            "line": row.line, "active": row.active, "version": row.version,
            "updated_by": row.updated_by, "updated_at": row.updated_at}


def _row(session: Session, code: str) -> SerialRule:
    row = session.scalar(select(SerialRule).where(SerialRule.code == code))
    if row is None:
        raise NotFound("No serial rule {code}", code=code)
    return row


def get_rule(session: Session, code: str) -> dict[str, Any]:
    return to_dict(session, _row(session, code))


def list_rules(session: Session, *, kind: str | None = None, sku: str | None = None,
               active: bool | None = None) -> list[dict[str, Any]]:
    """Every rule by code (there are few), optionally of one kind, SKU or activity."""
    query = select(SerialRule).order_by(SerialRule.code)
    if kind:
        query = query.where(SerialRule.kind == _kind(kind))
    if sku:
        query = query.where(SerialRule.sku_id == sku_named(session, sku).id)
    if active is not None:
        query = query.where(SerialRule.active.is_(active))
    return [to_dict(session, r) for r in session.scalars(query)]


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationFailed.single("kind", "must be one of: {expected}", expected=", ".join(KINDS))
    return kind


def _apply(session: Session, row: SerialRule, fields: dict[str, Any]) -> None:
    """Set the given fields on ``row``, checking each; the template is parsed as saved."""
    if "name" in fields:
        name = (fields["name"] or "").strip()
        if not name:
            raise ValidationFailed.single("name", "must not be empty")
        row.name = name
    if "template" in fields:
        templates.parse_template(fields["template"] or "")
        row.template = fields["template"]
    if "sku" in fields:
        row.sku_id = sku_named(session, fields["sku"]).id if fields["sku"] else None
    if "category" in fields:
        row.category_id = _category(session, fields["category"]).id if fields["category"] else None
    if row.sku_id is not None and row.category_id is not None:
        raise ValidationFailed.single("category", "a rule is for one SKU or one category, not both")
    if "line" in fields:
        line = fields["line"] or ""
        if line and not CODE.match(line):
            raise ValidationFailed.single("line", "contains characters that are not allowed")
        row.line = line
    if "active" in fields:
        row.active = bool(fields["active"])


def create(uow: UnitOfWork, actor: Actor, *, code: str, name: str, template: str,
           kind: str = "serial", sku: str | None = None, category: str | None = None,
           line: str = "", active: bool = True) -> dict[str, Any]:
    """A new rule; its template is refused (field ``template``, naming the token and its
    position) when it cannot give unique codes."""
    with uow:
        session = uow.session
        if not CODE.match(code or ""):
            raise ValidationFailed.single("code", "contains characters that are not allowed")
        if session.scalar(select(SerialRule.id).where(SerialRule.code == code)) is not None:
            raise ValidationFailed.single("code", "{code} is already used", code=code)
        row = SerialRule(code=code, kind=_kind(kind), name="", template="", line="",
                         updated_by=actor.username, updated_at=uow.now(), version=1)
        _apply(session, row, {"name": name, "template": template, "sku": sku,
                              "category": category, "line": line, "active": active})
        session.add(row)
        session.flush()
        out = to_dict(session, row)
        uow.commit()
    return out


def update(uow: UnitOfWork, actor: Actor, code: str, version: int,
           fields: dict[str, Any]) -> dict[str, Any]:
    """Change the given fields of a rule at ``version``; a stale version changes nothing."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ValidationFailed.single(unknown[0], "is not allowed here")
    with uow:
        session = uow.session
        row = _row(session, code)
        if row.version != version:
            raise stale_version(session, table="serial_rule", key=row.code, version=version,
                                current_version=row.version, current=to_dict(session, row))
        _apply(session, row, fields)
        row.version += 1
        row.updated_by, row.updated_at = actor.username, uow.now()
        session.flush()
        out = to_dict(session, row)
        uow.commit()
    return out


def rule_for(session: Session, sku: Sku, kind: str = "serial") -> SerialRule:
    """The active rule for ``sku``: its own, else its category's, else the default rule, else
    a built-in default (not yet saved: generation saves it on first use)."""
    active = select(SerialRule).where(SerialRule.active.is_(True), SerialRule.kind == kind)
    for condition in (SerialRule.sku_id == sku.id,
                      SerialRule.category_id == sku.category_id if sku.category_id else None,
                      (SerialRule.sku_id.is_(None)) & (SerialRule.category_id.is_(None))):
        if condition is None:
            continue
        row = session.scalar(active.where(condition).order_by(SerialRule.id).limit(1))
        if row is not None:
            return row
    saved = session.scalar(select(SerialRule).where(SerialRule.code == DEFAULT_CODES[kind]))
    if saved is not None:
        return saved
    return SerialRule(code=DEFAULT_CODES[kind], name="Built-in default", kind=kind,
                      template=DEFAULT_TEMPLATES[kind], line="", active=True, version=1)


def preview(session: Session, template: str, *, sku: str | None = None, site: str | None = None,
            line: str | None = None, count: int = 5, today: date) -> list[str]:
    """The first ``count`` codes ``template`` would give for the SKU (its category included),
    site and line on ``today``, as the rule editor shows them."""
    if not 1 <= count <= MAX_PREVIEW:
        raise ValidationFailed.single("count", "must be between {low} and {high}", low=1,
                                      high=MAX_PREVIEW)
    row = sku_named(session, sku) if sku else None
    place = site_of(session, site)
    context = templates.Context(cat=category_code(session, row) if row else "",
                                sku=row.code if row else "", site=place.code if place else "",
                                line=line or "", day=today)
    return templates.preview(template, context, count)
