"""Custom fields: administrators define them per entity (key immutable, a field with values is
deactivated rather than removed); services check a record's values against them, lists filter
by them. Definitions are audited like any other settings row."""

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, cast, exists, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from cangliu.core import custom_fields as core
from cangliu.core.custom_fields import Definition, FieldType
from cangliu.core.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import (
    Customer,
    Location,
    PurchaseOrder,
    SalesOrder,
    Serial,
    Sku,
    Supplier,
    TransferOrder,
)
from cangliu.db.models.custom_fields import CustomField
from cangliu.db.uow import UnitOfWork, retrying

ENTITIES = core.ENTITIES
MODELS: dict[str, Any] = {"sku": Sku, "site": Location, "supplier": Supplier,
                          "customer": Customer, "serial": Serial, "purchase_order": PurchaseOrder,
                          "sales_order": SalesOrder, "transfer_order": TransferOrder}
# What the admin page calls each entity (msgids).
ENTITY_LABELS = {"sku": "SKUs", "site": "Sites", "supplier": "Suppliers",
                 "customer": "Customers", "serial": "Serials", "purchase_order": "Purchase orders",
                 "sales_order": "Sales orders", "transfer_order": "Transfer orders"}
EDITABLE = ("label_zh", "label_en", "required", "default", "rules", "position", "active")
CACHE = "custom_field_definitions"


def _definition(row: CustomField) -> Definition:
    return core.definition(key=row.key, label_zh=row.label_zh, label_en=row.label_en,
                           type=row.type, required=row.required,
                           default=json.loads(row.default) if row.default else None,
                           rules=json.loads(row.rules or "{}"), position=row.position,
                           active=row.active)


def definitions(session: Session, entity: str) -> list[Definition]:
    """The entity's fields (deactivated ones too), in their order; read once per session."""
    cache: dict[str, list[Definition]] = session.info.setdefault(CACHE, {})
    if entity not in cache:
        rows = session.scalars(select(CustomField).where(CustomField.entity == entity)
                               .order_by(CustomField.position, CustomField.id))
        cache[entity] = [_definition(r) for r in rows]
    return cache[entity]


def active(session: Session, entity: str) -> list[Definition]:
    return [d for d in definitions(session, entity) if d.active]


def validate(session: Session, entity: str, values: Mapping[str, Any] | None, *,
             current: Mapping[str, Any] | None = None, partial: bool = False) -> dict[str, Any]:
    """A record's custom values after ``values`` (create: ``partial`` false, defaults applied;
    update: merged into ``current``), or ValidationFailed naming ``custom.<key>``. Values None
    on create means the system makes the record (a planning suggestion, the demo, an import
    without custom columns): defaults apply, required fields are not asked for."""
    return core.check(definitions(session, entity), values, partial=partial, current=current,
                      required=partial or values is not None)


def stored(session: Session, entity: str, values: Mapping[str, Any] | None, *,
           current: Mapping[str, Any] | None = None, partial: bool = False
           ) -> dict[str, Any] | None:
    """``validate`` as the column keeps it: None when there are no values."""
    return validate(session, entity, values, current=current, partial=partial) or None


def field_out(row: CustomField) -> dict[str, Any]:
    return {"entity": row.entity, "key": row.key, "label_zh": row.label_zh,
            "label_en": row.label_en, "type": row.type, "required": row.required,
            "default": json.loads(row.default) if row.default else None,
            "rules": json.loads(row.rules or "{}"), "position": row.position,
            "active": row.active, "version": row.version, "created_at": row.created_at,
            "created_by": row.created_by, "updated_at": row.updated_at,
            "updated_by": row.updated_by}


def list_fields(session: Session, entity: str | None = None) -> list[dict[str, Any]]:
    query = select(CustomField).order_by(CustomField.entity, CustomField.position, CustomField.id)
    if entity:
        query = query.where(CustomField.entity == entity)
    return [field_out(r) for r in session.scalars(query)]


def _row(session: Session, entity: str, key: str) -> CustomField:
    row = session.scalar(select(CustomField).where(CustomField.entity == entity,
                                                   CustomField.key == key))
    if row is None:
        raise NotFound("No custom field {key}", key=f"{entity}.{key}")
    return row


def get_field(session: Session, entity: str, key: str) -> dict[str, Any]:
    return field_out(_row(session, entity, key))


def _checked(entity: str, key: str, fields: Mapping[str, Any]) -> Definition:
    """The definition the submitted parts make, or the reason it cannot be one."""
    if entity not in ENTITIES:
        raise ValidationFailed.single("entity", "must be one of: {expected}",
                                      expected=", ".join(ENTITIES))
    if not fields.get("label_zh"):
        raise ValidationFailed.single("label_zh", "is required")
    return core.definition(key=key, label_zh=fields["label_zh"],
                           label_en=fields.get("label_en") or "", type=fields["type"],
                           required=bool(fields.get("required")), default=fields.get("default"),
                           rules=fields.get("rules") or {})


def _store(session: Session, row: CustomField, d: Definition) -> None:
    row.label_zh, row.label_en, row.required = d.label_zh, d.label_en, d.required
    row.default = None if d.default is None else json.dumps(d.default, ensure_ascii=False)
    row.rules = json.dumps(core.rules_of(d), ensure_ascii=False, sort_keys=True)
    session.info.pop(CACHE, None)


@retrying
def create_field(uow: UnitOfWork, actor: Actor, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Add a field to an entity, last in its order unless a position is given."""
    entity, key = fields.get("entity", ""), fields.get("key", "")
    d = _checked(entity, key, fields)
    with uow:
        session = uow.session
        if session.scalar(select(CustomField.id).where(CustomField.entity == entity,
                                                       CustomField.key == key)):
            raise Conflict("A custom field {key} already exists", key=f"{entity}.{key}")
        last = session.scalar(select(func.max(CustomField.position))
                              .where(CustomField.entity == entity))
        now = uow.now()
        row = CustomField(entity=entity, key=key, type=d.type.value, active=True, version=1,
                          position=fields.get("position", (last or 0) + 1), created_at=now,
                          created_by=actor.username, updated_at=now, updated_by=actor.username)
        session.add(row)
        _store(session, row, d)
        session.flush()
        result = field_out(row)
        uow.commit()
    return result


@retrying
def update_field(uow: UnitOfWork, actor: Actor, entity: str, key: str, version: int,
                 fields: Mapping[str, Any]) -> dict[str, Any]:
    """Change labels, rules, default, required, order or active at ``version``. The key and the
    type stay: values already saved were checked against them."""
    for fixed in ("key", "entity", "type"):
        if fixed in fields:
            raise ValidationFailed.single(fixed, "cannot be changed once the field exists")
    with uow:
        session = uow.session
        row = _stale_checked(session, entity, key, version)
        merged = {**field_out(row), **{k: v for k, v in fields.items() if k in EDITABLE}}
        _store(session, row, _checked(entity, key, merged))
        row.position, row.active = int(merged["position"]), bool(merged["active"])
        row.version += 1
        row.updated_at, row.updated_by = uow.now(), actor.username
        session.flush()
        result = field_out(row)
        uow.commit()
    return result


def _stale_checked(session: Session, entity: str, key: str, version: int) -> CustomField:
    row = _row(session, entity, key)
    if row.version != version:
        raise StaleVersion(row.version, field_out(row))
    return row


def in_use(session: Session, entity: str, key: str) -> int:
    """How many records hold a value for the field."""
    model = MODELS[entity]
    return int(session.scalar(select(func.count()).select_from(model)
                              .where(model.custom[key].as_string().is_not(None))) or 0)


@retrying
def remove_field(uow: UnitOfWork, actor: Actor, entity: str, key: str, version: int
                 ) -> dict[str, Any]:
    """Remove a field no record uses; one with values is deactivated instead (hidden from forms,
    the values kept). Answers what happened: ``{"removed": bool, "in_use": n}``."""
    with uow:
        session = uow.session
        row = _stale_checked(session, entity, key, version)
        used = in_use(session, entity, key)
        if used:
            row.active, row.version = False, row.version + 1
            row.updated_at, row.updated_by = uow.now(), actor.username
        else:
            session.delete(row)
        session.info.pop(CACHE, None)
        uow.commit()
    return {"entity": entity, "key": key, "removed": not used, "in_use": used}


@retrying
def reorder(uow: UnitOfWork, actor: Actor, entity: str, keys: list[str]) -> list[dict[str, Any]]:
    """Put the entity's fields in the order of ``keys`` (fields not named follow, as they were)."""
    with uow:
        session = uow.session
        rows = list(session.scalars(select(CustomField).where(CustomField.entity == entity)
                                    .order_by(CustomField.position, CustomField.id)))
        unknown = set(keys) - {r.key for r in rows}
        if unknown:
            raise ValidationFailed.single("keys", "unknown field {key}", key=sorted(unknown)[0])
        ranked = sorted(rows, key=lambda r: (keys.index(r.key) if r.key in keys else len(keys)))
        for position, row in enumerate(ranked, start=1):
            if row.position != position:
                row.position, row.version = position, row.version + 1
                row.updated_at, row.updated_by = uow.now(), actor.username
        session.flush()
        result = [field_out(r) for r in ranked]
        uow.commit()
    return result


def where(session: Session, entity: str, column: Any, wanted: Mapping[str, str]
          ) -> list[ColumnElement[bool]]:
    """Clauses for list filters ``custom.<key>=<value>``: equal, or for a multi-choice containing
    the option. An unknown key or a value the field could never hold is a 422."""
    by_key = {d.key: d for d in definitions(session, entity)}
    clauses = []
    for key, raw in wanted.items():
        d = by_key.get(key)
        if d is None:
            raise ValidationFailed.single(f"custom.{key}", "unknown field")
        try:
            value = core.check_value(d, raw)
        except core.Invalid as exc:
            raise ValidationFailed.single(f"custom.{key}", exc.message, **exc.params) from None
        clauses.append(_clause(session, d, column, value))
    return clauses


def _clause(session: Session, d: Definition, column: Any, value: Any) -> ColumnElement[bool]:
    postgres = session.get_bind().dialect.name == "postgresql"
    if value is None:
        return column[d.key].as_string().is_(None)  # type: ignore[no-any-return]
    if d.type == FieldType.BOOL:
        return column[d.key].as_boolean() == value  # type: ignore[no-any-return]
    if d.type != FieldType.MULTI:
        return column[d.key].as_string() == value  # type: ignore[no-any-return]
    if postgres:
        return column[d.key].op("@>")(cast(literal(json.dumps(value)), JSONB))  # type: ignore[no-any-return]
    items = func.json_each(column, f"$.{d.key}").table_valued("value")
    return exists(select(1).select_from(items).where(items.c.value.in_(value)))
