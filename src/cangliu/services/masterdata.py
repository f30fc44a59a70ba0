"""Master data: create, edit (optimistic locking) and look up SKUs, categories, sites, bins and partners.

Inputs arrive validated for shape by the web or CLI layer; this module enforces what needs the
database: unique codes, references by code, immutable codes, stale versions.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from cangliu.core.locations import CHILD_KIND, LocationKind
from cangliu.core.permissions import Actor
from cangliu.db.base import Base
from cangliu.db.models import Barcode, Category, Customer, Location, Sku, StockBalance, Supplier
from cangliu.db.models.history import keep as keep_version
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import custom_fields
from cangliu.services.conflicts import stale_version
from cangliu.services.locks import check_not_locked
from cangliu.services.valuation import check_method_change


@dataclass(frozen=True)
class Kind:
    model: type[Base]
    label: str
    # reference fields given by code → (column, model the code points to)
    refs: dict[str, tuple[str, type[Base]]]


KINDS: dict[str, Kind] = {
    "category": Kind(Category, "category", {"parent": ("parent_id", Category)}),
    "sku": Kind(Sku, "SKU", {"category": ("category_id", Category)}),
    "site": Kind(Location, "site", {}),
    "location": Kind(Location, "location", {"parent": ("parent_id", Location)}),
    "supplier": Kind(Supplier, "supplier", {}),
    "customer": Kind(Customer, "customer", {}),
}


def _by_code(session: Session, model: type[Base], code: str) -> Any:
    return session.scalar(select(model).where(model.code == code))  # type: ignore[attr-defined]


def to_dict(session: Session, kind: str, row: Any) -> dict[str, Any]:
    """The public shape of a record: codes instead of internal ids."""
    spec = KINDS[kind]
    data = {c.name: getattr(row, c.name) for c in row.__table__.columns
            if c.name != "id" and not c.name.endswith("_id") and c.name != "site_id"}
    for name, (column, model) in spec.refs.items():
        ref_id = getattr(row, column)
        data[name] = session.get(model, ref_id).code if ref_id else None  # type: ignore[union-attr]
    if kind == "sku":
        data["barcodes"] = list(session.scalars(select(Barcode.code).where(Barcode.sku_id == row.id)
                                                .order_by(Barcode.id)))
    if kind == "location":
        data["site"] = session.get_one(Location, row.site_id).code if row.site_id else None
    if "custom" in data:
        data["custom"] = data["custom"] or {}
    return data


def _check_custom(session: Session, kind: str, values: dict[str, Any], row: Any = None) -> None:
    """Custom field values checked against the kind's definitions: on create (``row`` None)
    with defaults, on update merged into the record's current values."""
    if kind not in custom_fields.MODELS:
        if values.pop("custom", None):
            raise ValidationFailed.single("custom", "this record has no custom fields")
    elif row is None or "custom" in values:
        values["custom"] = custom_fields.validate(
            session, kind, values.get("custom"), current=row.custom if row else None,
            partial=row is not None) or None


def _resolve_refs(session: Session, spec: Kind, fields: dict[str, Any]) -> dict[str, Any]:
    values = dict(fields)
    for name, (column, model) in spec.refs.items():
        if name in values:
            code = values.pop(name)
            target = _by_code(session, model, code) if code else None
            if code and target is None:
                raise ValidationFailed.single(name, "unknown {label} {code}", label=name, code=code)
            values[column] = target.id if target else None
    return values


def _set_barcodes(session: Session, sku: Sku, codes: list[str]) -> None:
    taken = session.scalar(select(Barcode.code).where(Barcode.code.in_(codes),
                                                      Barcode.sku_id != sku.id))
    if taken:
        raise ValidationFailed.single("barcodes", "barcode {code} belongs to another SKU", code=taken)
    session.execute(delete(Barcode).where(Barcode.sku_id == sku.id))
    session.add_all(Barcode(sku_id=sku.id, code=c) for c in dict.fromkeys(codes))


def _place_in_tree(session: Session, row: Location, kind: str) -> None:
    """Sites are their own site; a zone or bin hangs under a site or zone and inherits its site."""
    if kind == "site":
        row.site_id = row.id
        return
    parent = session.get(Location, row.parent_id) if row.parent_id else None
    if parent is None or parent.kind not in CHILD_KIND:
        raise ValidationFailed.single("parent", "must be a site or a zone")
    if row.kind not in (LocationKind.ZONE, LocationKind.BIN):
        raise ValidationFailed.single("kind", "must be zone or bin")
    if parent.kind == LocationKind.SITE and row.kind == LocationKind.BIN:
        pass  # bins directly under a site are allowed for small stores without zones
    elif parent.kind == LocationKind.ZONE and row.kind != LocationKind.BIN:
        raise ValidationFailed.single("kind", "only bins can sit inside a zone")
    row.site_id = parent.site_id


@retrying
def create(uow: UnitOfWork, actor: Actor, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    spec = KINDS[kind]
    with uow:
        session = uow.session
        existing = _by_code(session, spec.model, fields["code"])
        if existing is not None and existing.deleted_at is not None:
            raise Conflict("A deleted {label} keeps the code {code}: restore it instead",
                           label=spec.label, code=fields["code"])
        if existing is not None:
            raise Conflict("A {label} with code {code} already exists", label=spec.label,
                           code=fields["code"])
        values = _resolve_refs(session, spec, fields)
        _check_custom(session, kind, values)
        barcodes = values.pop("barcodes", None)
        if kind == "site":
            values["kind"] = LocationKind.SITE.value
        row = spec.model(**values, version=1)
        session.add(row)
        session.flush()
        if kind in ("site", "location"):
            _place_in_tree(session, row, kind)  # type: ignore[arg-type]
        if barcodes is not None:
            _set_barcodes(session, row, barcodes)  # type: ignore[arg-type]
        session.flush()
        keep_version(session, spec.model, row.id, "create")  # type: ignore[attr-defined]
        result = to_dict(session, kind, row)
        uow.commit()
    return result


@retrying
def update_record(uow: UnitOfWork, actor: Actor, kind: str, code: str, version: int,
                  fields: dict[str, Any]) -> dict[str, Any]:
    """Edit with optimistic locking: a stale ``version`` changes nothing and says what changed."""
    spec = KINDS[kind]
    with uow:
        session = uow.session
        row = get_row(session, kind, code)
        check_not_locked(session, actor, kind, code, uow.now())
        if row.version != version:
            raise _stale(session, kind, row, version)
        if row.deleted_at is not None:
            raise Conflict("{label} {code} is deleted: restore it first", label=spec.label,
                           code=code)
        if "code" in fields:
            raise ValidationFailed.single("code", "cannot be changed: codes are permanent")
        values = _resolve_refs(session, spec, fields)
        _check_custom(session, kind, values, row)
        barcodes = values.pop("barcodes", None)
        if kind == "site" and "allow_negative" in values:
            _set_negative_stock(session, row, values["allow_negative"])
        if kind == "location" and ({"parent_id", "kind"} & set(values)):
            _move_in_tree(session, row, values)
        if kind in ("category", "sku"):
            check_method_change(session, kind, row, values)
        bumped = session.execute(
            update(spec.model).where(spec.model.id == row.id,  # type: ignore[attr-defined]
                                     spec.model.version == version)  # type: ignore[attr-defined]
            .values(**values, version=version + 1).execution_options(synchronize_session=False))
        if bumped.rowcount != 1:  # type: ignore[attr-defined]
            session.refresh(row)
            raise _stale(session, kind, row, version)
        session.refresh(row)
        if barcodes is not None:
            _set_barcodes(session, row, barcodes)
            session.flush()
        keep_version(session, spec.model, row.id)
        result = to_dict(session, kind, row)
        uow.commit()
    return result


@retrying
def delete_record(uow: UnitOfWork, actor: Actor, kind: str, code: str, version: int
                  ) -> dict[str, Any]:
    """Soft delete: the record leaves lists and pickers, keeps its code and can be restored."""
    with uow:
        row = get_row(uow.session, kind, code)
        if row.deleted_at is not None:
            raise Conflict("{label} {code} is already deleted", label=KINDS[kind].label, code=code)
        result = _mark_deleted(uow, actor, kind, row, version, uow.now())
        uow.commit()
    return result


@retrying
def restore_record(uow: UnitOfWork, actor: Actor, kind: str, code: str, version: int
                   ) -> dict[str, Any]:
    """Bring a deleted record back as it was when it was deleted."""
    with uow:
        row = get_row(uow.session, kind, code)
        if row.deleted_at is None:
            raise Conflict("{label} {code} is not deleted", label=KINDS[kind].label, code=code)
        result = _mark_deleted(uow, actor, kind, row, version, None)
        uow.commit()
    return result


def _mark_deleted(uow: UnitOfWork, actor: Actor, kind: str, row: Any, version: int,
                  at: datetime | None) -> dict[str, Any]:
    session = uow.session
    check_not_locked(session, actor, kind, row.code, uow.now())
    if row.version != version:
        raise _stale(session, kind, row, version)
    if at is not None:
        _check_deletable(session, kind, row)
    model: Any = KINDS[kind].model
    bumped = session.execute(update(model).where(model.id == row.id, model.version == version)
                             .values(deleted_at=at, version=version + 1)
                             .execution_options(synchronize_session=False))
    session.refresh(row)
    if bumped.rowcount != 1:  # type: ignore[attr-defined]
        raise _stale(session, kind, row, version)
    keep_version(session, KINDS[kind].model, row.id, "delete" if at else "restore")
    return to_dict(session, kind, row)


def _check_deletable(session: Session, kind: str, row: Any) -> None:
    """Stock still held, or live records hanging below, keep a record from being deleted."""
    if kind in ("sku", "site", "location"):
        column = {"sku": StockBalance.sku_id, "site": StockBalance.site_id,
                  "location": StockBalance.location_id}[kind]
        held = session.scalar(select(func.count()).select_from(StockBalance).where(
            column == row.id, StockBalance.qty != 0))
        if held:
            raise Conflict("{code} still holds stock: move it out before deleting it",
                           code=row.code)
    if kind in ("category", "site", "location"):
        model: Any = KINDS[kind].model
        child = session.scalar(select(model.code).where(
            model.parent_id == row.id, model.id != row.id, model.deleted_at.is_(None)).limit(1))
        if child is None and kind == "category":
            child = session.scalar(select(Sku.code).where(
                Sku.category_id == row.id, Sku.deleted_at.is_(None)).limit(1))
        if child is not None:
            raise Conflict("{code} still has {child} under it: delete or move that first",
                           code=row.code, child=child)


def _stale(session: Session, kind: str, row: Any, version: int) -> StaleVersion:
    return stale_version(session, table=row.__tablename__, key=row.code, version=version,
                         current_version=row.version, current=to_dict(session, kind, row))


def _move_in_tree(session: Session, row: Location, values: dict[str, Any]) -> None:
    """Re-hang a zone or bin: the tree rules apply again, and it may change site only empty."""
    probe = Location(id=row.id, kind=values.get("kind", row.kind),
                     parent_id=values.get("parent_id", row.parent_id))
    _place_in_tree(session, probe, "location")
    has_children = session.scalar(select(Location.id).where(Location.parent_id == row.id).limit(1))
    if probe.kind == LocationKind.BIN and has_children:
        raise ValidationFailed.single("kind", "a zone with bins cannot become a bin")
    if probe.site_id == row.site_id:
        return
    places = [row.id, *session.scalars(select(Location.id).where(Location.parent_id == row.id))]
    held = session.scalar(select(func.count()).select_from(StockBalance).where(
        StockBalance.location_id.in_(places), StockBalance.qty != 0))
    if held:
        raise Conflict("{code} still holds stock: move it out before changing its site",
                       code=row.code)
    session.execute(update(Location).where(Location.id.in_(places))
                    .values(site_id=probe.site_id).execution_options(synchronize_session=False))
    session.execute(update(StockBalance).where(StockBalance.location_id.in_(places))
                    .values(site_id=probe.site_id).execution_options(synchronize_session=False))


def _set_negative_stock(session: Session, site: Location, allowed: bool) -> None:
    """Switching negative stock off is refused while any balance at the site is below zero."""
    if not allowed:
        negative = session.scalar(select(func.count()).select_from(StockBalance).where(
            StockBalance.site_id == site.id, StockBalance.qty < StockBalance.reserved))
        if negative:
            raise Conflict("{n} balances at this site are negative: correct them first", n=negative)
    session.execute(update(StockBalance).where(StockBalance.site_id == site.id)
                    .values(allow_negative=allowed).execution_options(synchronize_session=False))


def get_row(session: Session, kind: str, code: str) -> Any:
    spec = KINDS[kind]
    row = _by_code(session, spec.model, code)
    if row is None or (kind == "site" and row.kind != LocationKind.SITE) or (
            kind == "location" and row.kind not in CHILD_KIND.values()):
        raise NotFound("No {label} {code}", label=spec.label, code=code)
    return row


def get(uow: UnitOfWork, kind: str, code: str) -> dict[str, Any]:
    with uow:
        return to_dict(uow.session, kind, get_row(uow.session, kind, code))


SEARCH = {"category": ("code", "name", "name_en"), "sku": ("code", "name", "name_en"),
          "site": ("code", "name", "region"), "location": ("code", "name"),
          "supplier": ("code", "name", "contact"), "customer": ("code", "name", "contact")}


def list_records(session: Session, kind: str, *, q: str | None = None, after: str | None = None,
                 limit: int = 50, filters: dict[str, Any] | None = None,
                 scope: frozenset[int] | None = None, deleted: bool = False,
                 custom: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of records ordered by code, searched by code and name; cursor = last code.
    ``scope`` limits sites and locations to those sites. Deleted records are left out, or with
    ``deleted`` are the only ones listed. ``custom`` filters by custom field values."""
    spec = KINDS[kind]
    model: Any = spec.model
    query = select(model).where(model.deleted_at.is_not(None) if deleted
                                else model.deleted_at.is_(None))
    if kind == "site":
        query = query.where(model.kind == LocationKind.SITE)
    elif kind == "location":
        query = query.where(model.kind.in_([k.value for k in CHILD_KIND.values()]))
    if scope is not None and kind in ("site", "location"):
        query = query.where(model.site_id.in_(scope))
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(*(getattr(model, c).ilike(like) for c in SEARCH[kind])))
    for name, value in (filters or {}).items():
        if value is None:
            continue
        if name in spec.refs or name == "site":
            column, target = spec.refs.get(name, ("site_id", Location))
            ref = _by_code(session, target, value)
            query = query.where(getattr(model, column) == (ref.id if ref else -1))
        else:
            query = query.where(getattr(model, name) == value)
    if custom:
        query = query.where(*custom_fields.where(session, kind, model.custom, custom))
    if after:
        query = query.where(model.code > after)
    rows = list(session.scalars(query.order_by(model.code).limit(limit + 1)))
    page = rows[:limit]
    return [to_dict(session, kind, r) for r in page], (page[-1].code if len(rows) > limit else None)
