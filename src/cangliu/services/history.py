"""Record history: the versions of a master record or a document, the diff between two of them,
and restoring an earlier version as a new one (through the ordinary, audited edit path)."""

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.base import Base
from cangliu.db.models import (
    Category,
    Customer,
    Location,
    PurchaseOrder,
    RecordVersion,
    SalesOrder,
    Sku,
    Supplier,
    TransferOrder,
)
from cangliu.db.models.history import labelled, snapshot
from cangliu.db.uow import UnitOfWork
from cangliu.services import masterdata, purchasing, sales, transfers
from cangliu.services.conflicts import stale_version
from cangliu.services.postings import Meta


@dataclass(frozen=True)
class Entity:
    model: type[Base]
    resource: str  # the permission resource: "<resource>.view" to read, ".edit" to restore
    label: str
    document: bool = False


ENTITIES: dict[str, Entity] = {
    "category": Entity(Category, "sku", "category"),
    "sku": Entity(Sku, "sku", "SKU"),
    "site": Entity(Location, "site", "site"),
    "location": Entity(Location, "site", "location"),
    "supplier": Entity(Supplier, "supplier", "supplier"),
    "customer": Entity(Customer, "customer", "customer"),
    "transfer": Entity(TransferOrder, "transfer", "transfer", document=True),
    "purchase": Entity(PurchaseOrder, "purchase", "purchase order", document=True),
    "sales": Entity(SalesOrder, "sales", "sales order", document=True),
}
# Columns that are bookkeeping, not content: never shown in a diff nor restored.
HIDDEN = frozenset({"id", "version"})
# Master data columns a restore never writes: identity, tree placement derived from the parent.
FIXED = frozenset({"id", "code", "version", "deleted_at", "site_id", "route_from_id",
                   "route_to_id"})


def entity_of(name: str) -> Entity:
    if name not in ENTITIES:
        raise ValidationFailed.single("entity", "must be one of: {expected}",
                                      expected=", ".join(ENTITIES))
    return ENTITIES[name]


def master_entity(kind: str) -> Entity:
    if kind not in masterdata.KINDS:
        raise ValidationFailed.single("kind", "must be one of: {expected}",
                                      expected=", ".join(masterdata.KINDS))
    return ENTITIES[kind]


def _row(session: Session, entity: str, key: str) -> Any:
    spec = entity_of(entity)
    model: Any = spec.model
    row = session.scalar(select(model).where(
        (model.number if spec.document else model.code) == key))
    if row is None:
        raise NotFound("No {label} {code}", label=spec.label, code=key)
    return row


def _kept(session: Session, row: Any) -> dict[int, RecordVersion]:
    key = getattr(row, "number", None) or row.code
    found = session.scalars(select(RecordVersion).where(
        RecordVersion.entity == row.__tablename__, RecordVersion.entity_key == key))
    return {v.version: v for v in found}


def versions(uow: UnitOfWork, entity: str, key: str) -> dict[str, Any]:
    """The versions of one record, newest first, with who saved each and when."""
    with uow:
        row = _row(uow.session, entity, key)
        kept = uow.session.execute(
            select(RecordVersion.version, RecordVersion.action, RecordVersion.at,
                   RecordVersion.username)
            .where(RecordVersion.entity == row.__tablename__, RecordVersion.entity_key == key))
        items = [dict(v._mapping) for v in kept]
        # Saved before history was kept: the current version is still shown, read from the row.
        if row.version not in {i["version"] for i in items}:
            items.append({"version": row.version, "action": "current", "at": None,
                          "username": ""})
        return {"entity": entity, "key": key, "label": ENTITIES[entity].label,
                "current_version": row.version, "state": getattr(row, "state", None),
                "deleted": getattr(row, "deleted_at", None) is not None,
                "restorable": _restorable(entity, row),
                "items": sorted(items, key=lambda i: -int(i["version"]))}


def _restorable(entity: str, row: Any) -> bool:
    if ENTITIES[entity].document:
        return bool(row.state == "draft")
    return row.deleted_at is None


def _raw(session: Session, row: Any, version: int, field: str = "version") -> dict[str, Any]:
    """Version ``version`` of ``row`` as kept (the current one may be read from the row itself)."""
    kept = _kept(session, row).get(version)
    if kept is not None:
        data: dict[str, Any] = json.loads(kept.data)
        return data
    if version == row.version:
        now = snapshot(session.connection(), type(row), row.id)
        assert now is not None
        return now
    raise ValidationFailed.single(field, "version {version} of {key} is not kept",
                                  version=version, key=getattr(row, "number", None) or row.code)


def _code(session: Session, table: str, column: str, ref_id: Any, cache: dict[Any, Any]) -> Any:
    """A reference column's id as the code (or number) users know it by."""
    keys = Base.metadata.tables[table].c[column].foreign_keys if column in \
        Base.metadata.tables[table].c else set()
    if ref_id is None or not keys:
        return ref_id
    target = next(iter(keys)).column.table
    if (target.name, ref_id) not in cache:
        label = target.c["code"] if "code" in target.c else target.c["number"]
        cache[(target.name, ref_id)] = session.scalar(select(label).where(target.c.id == ref_id))
    return cache[(target.name, ref_id)]


def public(session: Session, table: str, raw: dict[str, Any]) -> dict[str, Any]:
    """A kept version in the shape users know: codes instead of ids, flat ``lines[n].field`` keys."""
    cache: dict[Any, Any] = {}
    out: dict[str, Any] = {}
    lines_table = _lines_table(table)
    for name, value in raw.items():
        if name in HIDDEN:
            continue
        if name == "lines" and lines_table:
            for line in value:
                for column, v in line.items():
                    if column != "line_no":
                        out[f"lines[{line['line_no']}].{column.removesuffix('_id')}"] = _code(
                            session, lines_table, column, v, cache)
        elif name == "barcodes":
            out[name] = ", ".join(value)
        else:
            out[name.removesuffix("_id")] = _code(session, table, name, value, cache)
    return out


def _lines_table(table: str) -> str | None:
    return {"transfer_order": "transfer_line", "purchase_order": "purchase_line",
            "sales_order": "sales_line"}.get(table)


def _leaf(name: str) -> str:
    """``lines[2].price`` → ``price``: the name field rules know a field by."""
    return name.rsplit(".", 1)[-1]


def diff(uow: UnitOfWork, entity: str, key: str, from_version: int, to_version: int, *,
         hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Two versions side by side: every field with its value in each and whether it changed;
    fields in ``hidden`` (the reader's field rules) are left out."""
    with uow:
        session = uow.session
        row = _row(session, entity, key)
        old = public(session, row.__tablename__, _raw(session, row, from_version, "from"))
        new = public(session, row.__tablename__, _raw(session, row, to_version, "to"))
        names = [n for n in dict.fromkeys([*old, *new]) if _leaf(n) not in hidden]
        fields = [{"field": n, "before": old.get(n), "after": new.get(n),
                   "changed": old.get(n) != new.get(n)} for n in names]
        return {"entity": entity, "key": key, "from": from_version, "to": to_version,
                "fields": fields}


def restore(uow: UnitOfWork, actor: Actor, entity: str, key: str, version: int,
            current_version: int) -> dict[str, Any]:
    """Restore version ``version`` as a new version, based on ``current_version`` (a stale one
    changes nothing). Documents only while still drafts; deleted master data is undeleted first."""
    spec = entity_of(entity)
    with uow:
        session = uow.session
        row = _row(session, entity, key)
        if row.version != current_version:
            raise _stale(uow, entity, row, current_version)
        if spec.document and row.state != "draft":
            raise Conflict("{label} {number} is {state}: only a draft can be restored",
                           label=spec.label, number=key, state=row.state)
        if not spec.document and row.deleted_at is not None:
            raise Conflict("{label} {code} is deleted: restore it first", label=spec.label,
                           code=key)
        raw = _raw(session, row, version)
        _check_may_set(session, actor, row, raw)
        kind = ("site" if row.kind == "site" else "location") if spec.model is Location else entity
        request = (_document_request(session, row, raw) if spec.document
                   else _master_fields(session, kind, row, raw))
    with labelled("restore"):
        if spec.document:
            meta = Meta(actor=actor, reason=f"restore version {version}")
            edit: Any = {"transfer": transfers.update_transfer,
                         "purchase": purchasing.update_purchase, "sales": sales.update_sale}[entity]
            result: dict[str, Any] = edit(uow, meta, number=key, version=current_version, **request)
            return result
        return masterdata.update_record(uow, actor, kind, key, current_version, request)


def _check_may_set(session: Session, actor: Actor, row: Any, raw: dict[str, Any]) -> None:
    """A restore sets every field that differs: none of them may be one the user may not set."""
    now = snapshot(session.connection(), type(row), row.id) or {}
    old, new = public(session, row.__tablename__, now), public(session, row.__tablename__, raw)
    for name in dict.fromkeys([*old, *new]):
        if old.get(name) != new.get(name) and _leaf(name) in actor.fixed_keys:
            raise ValidationFailed.single("version", "restoring it would change {field}, which "
                                          "your role may not set", field=_leaf(name))


def _stale(uow: UnitOfWork, entity: str, row: Any, version: int) -> StaleVersion:
    if ENTITIES[entity].document:
        answer: Any = {"transfer": transfers.answer, "purchase": purchasing.answer,
                       "sales": sales.answer}[entity]
        current = answer(uow, row)
    else:
        current = masterdata.to_dict(uow.session, "site" if entity == "location" and row.kind == "site"
                                     else entity, row)
    return stale_version(uow.session, table=row.__tablename__, key=current.get("number") or row.code,
                         version=version, current_version=row.version, current=current)


def _master_fields(session: Session, kind: str, row: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """The fields whose value in ``raw`` differs from now, as an edit gives them (refs by code)."""
    now = snapshot(session.connection(), type(row), row.id) or {}
    refs = {column: name for name, (column, _) in masterdata.KINDS[kind].refs.items()}
    columns = row.__table__.c
    fields: dict[str, Any] = {}
    for name, value in raw.items():
        if name in FIXED or value == now.get(name) or (name not in columns and name != "barcodes"):
            continue
        if name.endswith("_id"):
            if name in refs:
                fields[refs[name]] = _code(session, row.__tablename__, name, value, {})
            continue
        if name in columns and value is not None and columns[name].type.python_type is Decimal:
            value = Decimal(value)
        fields[name] = value
    return fields


def _document_request(session: Session, row: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """The arguments of the draft's ordinary edit that put ``raw`` back: header and all lines."""
    cache: dict[Any, Any] = {}
    table, lines_table = row.__tablename__, _lines_table(row.__tablename__)
    assert lines_table is not None
    skus = [_code(session, lines_table, "sku_id", ln["sku_id"], cache) for ln in raw["lines"]]
    if table == "transfer_order":
        return {"expected_arrival": _day(raw["expected_arrival"]), "lines": [
            transfers.TransferLineIn(sku, ln["qty"], ln["lot"] or None)
            for sku, ln in zip(skus, raw["lines"], strict=True)]}
    request = {"site": _code(session, table, "site_id", raw["site_id"], cache),
               "currency": raw["currency"], "rate": raw["rate"]}
    if table == "purchase_order":
        return {**request, "supplier": _code(session, table, "supplier_id", raw["supplier_id"], cache),
                "expected_date": _day(raw["expected_date"]), "lines": [
                    purchasing.PurchaseLineIn(sku, ln["qty"], ln["price"])
                    for sku, ln in zip(skus, raw["lines"], strict=True)]}
    return {**request, "customer": _code(session, table, "customer_id", raw["customer_id"], cache),
            "channel": raw["channel"], "lines": [
                sales.SalesLineIn(sku, ln["qty"], ln["price"])
                for sku, ln in zip(skus, raw["lines"], strict=True)]}


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def deleted(session: Session, kind: str, *, after: str | None = None, limit: int = 50
            ) -> tuple[list[dict[str, Any]], str | None]:
    """The deleted records of one kind of master data, by code."""
    master_entity(kind)
    return masterdata.list_records(session, kind, after=after, limit=limit, deleted=True)
