"""Labels (标签): templates stored as data (the two built-ins apply until one is saved and are
seeded on the first write), and what the labels for a SKU, a lot or listed serials say."""

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cangliu.core.errors import NotFound, StaleVersion, ValidationFailed
from cangliu.core.labels import BUILTINS, MAX_LABELS, LabelItem, LabelSpec, check_spec, gtin_of
from cangliu.core.permissions import Actor
from cangliu.db.models import Barcode, LabelTemplate, Location, Lot, Sku
from cangliu.db.uow import UnitOfWork

SPEC_FIELDS = ("name", "width_mm", "height_mm", "sheet", "columns", "rows", "margin_mm",
               "gap_mm", "fields", "font_size")


# --- templates ----------------------------------------------------------------------------------

def _spec(row: LabelTemplate) -> LabelSpec:
    return LabelSpec(row.code, row.name, float(row.width_mm), float(row.height_mm), row.sheet,
                     row.columns, row.rows, float(row.margin_mm), float(row.gap_mm),
                     tuple(json.loads(row.fields)), float(row.font_size))


def _out(spec: LabelSpec, *, builtin: bool, version: int = 1, updated_by: str | None = None,
         updated_at: datetime | None = None) -> dict[str, Any]:
    return asdict(spec) | {"fields": list(spec.fields), "per_page": spec.per_page,
                           "builtin": builtin, "version": version, "updated_by": updated_by,
                           "updated_at": updated_at}


def _row_out(row: LabelTemplate) -> dict[str, Any]:
    return _out(_spec(row), builtin=row.builtin, version=row.version, updated_by=row.updated_by,
                updated_at=row.updated_at)


def list_templates(session: Session) -> list[dict[str, Any]]:
    """Every template by code; the built-ins (version 1, saved by nobody) while none is stored."""
    rows = list(session.scalars(select(LabelTemplate).order_by(LabelTemplate.code)))
    if not rows:
        return [_out(spec, builtin=True) for spec in BUILTINS]
    return [_row_out(row) for row in rows]


def get_template(session: Session, code: str) -> dict[str, Any]:
    found = next((t for t in list_templates(session) if t["code"] == code), None)
    if found is None:
        raise NotFound("No label template {code}", code=code)
    return found


def spec_of(session: Session, code: str) -> LabelSpec:
    """The template to print with; an unknown code is refused naming the field ``template``."""
    row = session.scalar(select(LabelTemplate).where(LabelTemplate.code == code))
    if row is not None:
        return _spec(row)
    stored = session.scalar(select(LabelTemplate.id).limit(1)) is not None
    builtin = None if stored else next((s for s in BUILTINS if s.code == code), None)
    if builtin is None:
        raise ValidationFailed.single("template", "no label template {code}", code=code)
    return builtin


def _values(spec: LabelSpec) -> dict[str, Any]:
    return {k: v for k, v in asdict(spec).items() if k in SPEC_FIELDS} | {
        "fields": json.dumps(list(spec.fields))}


def _seed(session: Session, now: datetime) -> None:
    have = set(session.scalars(select(LabelTemplate.code)))
    for spec in BUILTINS:
        if spec.code not in have:
            session.add(LabelTemplate(code=spec.code, builtin=True, version=1, updated_by="system",
                                      updated_at=now, **_values(spec)))
    session.flush()


def create_template(uow: UnitOfWork, actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    """A new template, checked (sizes, grid, fit on A4); refused with every reason by field."""
    spec = check_spec(values)
    with uow:
        s = uow.session
        _seed(s, uow.now())
        if s.scalar(select(LabelTemplate.id).where(LabelTemplate.code == spec.code)) is not None:
            raise ValidationFailed.single("code", "a label template {code} exists already",
                                          code=spec.code)
        row = LabelTemplate(code=spec.code, builtin=False, version=1, updated_by=actor.username,
                            updated_at=uow.now(), **_values(spec))
        s.add(row)
        s.flush()
        uow.commit()
    return _row_out(row)


def update_template(uow: UnitOfWork, actor: Actor, code: str, changes: dict[str, Any], *,
                    version: int) -> dict[str, Any]:
    """The template with ``changes`` applied, if ``version`` is still the one in force (409
    otherwise); its code stays."""
    if "code" in changes and changes["code"] != code:
        raise ValidationFailed.single("code", "must stay {code}: create a new template to rename "
                                      "it", code=code)
    with uow:
        s, now = uow.session, uow.now()
        _seed(s, now)
        row = s.scalar(select(LabelTemplate).where(LabelTemplate.code == code))
        if row is None:
            raise NotFound("No label template {code}", code=code)
        if row.version != version:
            raise _stale(row)
        current = asdict(_spec(row)) | {"fields": list(json.loads(row.fields))}
        spec = check_spec(current | {k: v for k, v in changes.items() if k in SPEC_FIELDS}
                          | {"code": code})
        # Conditional on the version read, so of two concurrent saves only one wins.
        done = s.execute(update(LabelTemplate).where(
            LabelTemplate.id == row.id, LabelTemplate.version == version).values(
            version=version + 1, updated_by=actor.username, updated_at=now, **_values(spec))
            .execution_options(synchronize_session=False))
        if getattr(done, "rowcount", 1) != 1:
            s.refresh(row)
            raise _stale(row)
        s.refresh(row)
        uow.commit()
    return _row_out(row)


def _stale(row: LabelTemplate) -> StaleVersion:
    return StaleVersion(row.version, _row_out(row), saved_by=row.updated_by,
                        saved_at=row.updated_at)


# --- what the labels say --------------------------------------------------------------------------

def _gtins(session: Session, sku_ids: set[int]) -> dict[int, str | None]:
    codes: dict[int, list[str]] = {i: [] for i in sku_ids}
    for sku_id, code in session.execute(select(Barcode.sku_id, Barcode.code).where(
            Barcode.sku_id.in_(sku_ids)).order_by(Barcode.id)):
        codes[sku_id].append(code)
    return {i: gtin_of(c) for i, c in codes.items()}


def sku_label_info(session: Session, sku: str) -> dict[str, Any] | None:
    """What the print page says about a SKU before printing: its name, tracking and GTIN (None
    when it has no valid GTIN barcode, so its labels carry a QR of the plain code)."""
    row = session.scalar(select(Sku).where(Sku.code == sku, Sku.deleted_at.is_(None)))
    if row is None:
        return None
    return {"code": row.code, "name": row.name, "tracking": row.tracking,
            "gtin": _gtins(session, {row.id})[row.id]}


def items_for_sku(session: Session, sku: str, *, count: int, lot: str | None = None,
                  expiry: date | None = None) -> list[LabelItem]:
    """``count`` labels for a SKU: by lot (with its expiry, given or as recorded for the lot)
    for a lot-tracked SKU, plain SKU labels otherwise."""
    row = session.scalar(select(Sku).where(Sku.code == sku, Sku.deleted_at.is_(None)))
    if row is None:
        raise ValidationFailed.single("sku", "unknown SKU {code}", code=sku)
    if not 1 <= count <= MAX_LABELS:
        raise ValidationFailed.single("count", "must be a whole number from {low} to {high}",
                                      low=1, high=MAX_LABELS)
    lot = (lot or "").strip() or None
    if row.tracking == "lot" and lot is None:
        raise ValidationFailed.single("lot", "is required for a lot-tracked SKU")
    if row.tracking != "lot" and (lot is not None or expiry is not None):
        raise ValidationFailed.single("lot" if lot else "expiry",
                                      "only a lot-tracked SKU is labelled by lot")
    if lot is not None and expiry is None:
        expiry = session.scalar(select(Lot.expiry_date).where(Lot.sku_id == row.id,
                                                              Lot.code == lot))
    item = LabelItem(title=row.name, sku=row.code, gtin=_gtins(session, {row.id})[row.id],
                     lot=lot, expiry=expiry)
    return [item] * count


def _unique(codes: list[str]) -> list[str]:
    wanted = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if not wanted:
        raise ValidationFailed.single("serials", "list at least one serial")
    if len(wanted) > MAX_LABELS:
        raise ValidationFailed.single("serials", "at most {max} labels at a time", max=MAX_LABELS)
    return wanted


def items_for_serials(session: Session, codes: list[str], *,
                      sites: frozenset[int] | None = None) -> list[LabelItem]:
    """A label per listed serial, in the order given; a code that is unknown, or held at a site
    outside ``sites`` (None: every site), is refused by name."""
    from cangliu.db.models.serials import Serial

    wanted = _unique(codes)
    found: dict[str, list[Any]] = {}
    for start in range(0, len(wanted), 500):
        for serial, sku in session.execute(select(Serial, Sku).join(Sku, Sku.id == Serial.sku_id)
                                           .where(Serial.code.in_(wanted[start:start + 500]))):
            if sites is None or serial.site_id is None or serial.site_id in sites:
                found.setdefault(serial.code, []).append((serial, sku))
    missing = [c for c in wanted if c not in found]
    if missing:
        raise ValidationFailed.single("serials", "unknown serial {code}", code=missing[0])
    pairs = [pair for code in wanted for pair in found[code]]
    gtins = _gtins(session, {sku.id for _, sku in pairs})
    site_ids = {s.site_id for s, _ in pairs if s.site_id is not None}
    site_codes = {i: c for i, c in session.execute(select(Location.id, Location.code).where(
        Location.id.in_(site_ids)))} if site_ids else {}
    return [LabelItem(title=sku.name, sku=sku.code, gtin=gtins[sku.id], serial=serial.code,
                      lot=serial.lot or None,
                      site=site_codes.get(serial.site_id) if serial.site_id else None)
            for serial, sku in pairs]
