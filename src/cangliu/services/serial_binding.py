"""Serials moving with the documents (一物一码随单流转): the shared logic the purchase receipt,
the sales shipment and return and the transfer ship/receive call.

A line of a serial-tracked SKU may carry the serials of its units (codes or GS1 content). They
are checked here — one per unit, each of that SKU, at that site and in the state the document
expects — then bound and moved through their lifecycle inside the document's own transaction,
so a refused serial leaves nothing written. Setting ``serial_capture`` = 'required' makes them
mandatory for serial-tracked SKUs ('optional', the default, lets a line go without)."""

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cangliu.core.errors import FieldError, ValidationFailed
from cangliu.core.ledger import Move
from cangliu.db.models import Location, Serial, SerialEvent, Setting, Sku
from cangliu.db.uow import UnitOfWork
from cangliu.services.postings import Meta
from cangliu.services.serials import check_scan, record_event
from cangliu.services.serials.generation import SerialExists, unique_key, uniqueness

CAPTURE = "serial_capture"  # 'optional' (default) or 'required'
REGISTER = "serial_register_unknown"  # 'yes': a receipt registers a supplier's unknown serials


@dataclass(frozen=True)
class Scanned:
    """The serials one line carries, checked: their rows (in the order given) and codes."""

    field: str  # e.g. "lines[0].serials"
    ids: list[int]
    codes: list[str]


def _setting(session: Session, key: str) -> str:
    return session.scalar(select(Setting.value).where(Setting.key == key)) or ""


def required(session: Session) -> bool:
    return _setting(session, CAPTURE) == "required"


def _error(field: str, message: str, **params: object) -> ValidationFailed:
    return ValidationFailed.single(field, message, **params)


def _count(sku: Sku, given: Sequence[str], qty: Decimal, field: str) -> None:
    if qty != qty.to_integral_value():
        raise _error(field, "serials need whole units: {qty} is not a whole number", qty=qty)
    if len(given) != int(qty):
        raise _error(field, "give one serial per unit: {expected} expected, {count} given",
                     expected=int(qty), count=len(given))


def scan_line(uow: UnitOfWork, sku: Sku, given: Sequence[str] | None, qty: Decimal, *,
              field: str, site: Location | None, statuses: Collection[str],
              register: bool = False) -> Scanned | None:
    """Check the serials of one line (``field`` names the line, e.g. ``lines[0]``): None when
    the line carries none and may go without. Every refused serial is named at once, as
    ``lines[0].serials[2]`` with its code and the reason."""
    here = f"{field}.serials"
    if sku.tracking != "serial":
        if given:
            raise _error(here, "SKU {sku} is not serial-tracked", sku=sku.code)
        return None
    if not given:
        if required(uow.session) and qty > 0:
            raise _error(here, "SKU {sku} is serial-tracked: scan the serial of every unit",
                         sku=sku.code)
        return None
    _count(sku, given, qty, here)
    allow_new = register and _setting(uow.session, REGISTER) == "yes"
    problems: list[FieldError] = []
    rows: list[Serial] = []
    seen: set[str] = set()
    today = uow.now().date()
    for j, raw in enumerate(given):
        at = f"{here}[{j}]"
        answer = check_scan(uow.session, raw, sku=sku.code, site=site.code if site else None,
                            statuses=statuses, today=today)
        code = answer.get("code") or (raw or "").strip()
        if code in seen:
            problems.append(FieldError(at, "serial {code} is given twice", {"code": code}))
            continue
        seen.add(code)
        row = _row(uow.session, sku, code)
        if row is None and allow_new and code and not _hard(answer):
            rows.append(_register(uow, sku, code, at))
            continue
        if not answer["valid"]:
            problems += [FieldError(at, p.message, {"code": code, **p.params})
                         for p in answer["problems"]]
            continue
        if row is not None:
            rows.append(row)
    if problems:
        raise ValidationFailed(problems)
    return Scanned(here, [r.id for r in rows], [r.code for r in rows])


def _hard(answer: dict[str, Any]) -> bool:
    """A scan whose content cannot be read at all (GS1 content without a serial, a GTIN of
    another SKU): not something to register."""
    return answer.get("code") is None or any(p.field == "sku" for p in answer["problems"])


def _row(session: Session, sku: Sku, code: str) -> Serial | None:
    return session.scalar(select(Serial).where(Serial.sku_id == sku.id, Serial.code == code))


def _register(uow: UnitOfWork, sku: Sku, code: str, field: str) -> Serial:
    """A supplier's serial we never generated: a new row (status generated) for ``sku``; a code
    the unique index already holds is refused naming it."""
    if len(code) > 64:
        raise _error(field, "serial {code} is longer than {n} characters", code=code, n=64)
    key = unique_key(uniqueness(uow), sku.id, code)
    if uow.session.scalar(select(Serial.id).where(Serial.unique_key == key)) is not None:
        raise SerialExists(code)
    row = Serial(sku_id=sku.id, code=code, unique_key=key, status="generated", lot="",
                 created_at=uow.now())
    uow.session.add(row)
    uow.session.flush()
    return row


def move(uow: UnitOfWork, doc: Meta, scanned: Scanned | None, kind: str, *, line_no: int,
         site: Location | None, values: dict[str, Any] | None = None,
         detail: dict[str, Any] | None = None) -> None:
    """Record ``kind`` for the scanned serials of one document line (time, operator, device,
    document) — moving them through the lifecycle — and bind ``values`` (columns of serial)."""
    if scanned is None or not scanned.ids:
        return
    record_event(uow.session, scanned.ids, kind, at=doc.occurred_at or uow.now(),
                 operator=doc.actor.username, device=doc.actor.device,
                 document_type=doc.document_type, document_number=doc.document_number,
                 site_id=site.id if site else None,
                 detail={"line_no": line_no, **(detail or {})})
    if values:
        uow.session.execute(update(Serial).where(Serial.id.in_(scanned.ids)).values(**values),
                            execution_options={"synchronize_session": False})
    _forget(uow.session, scanned.ids)


def _forget(session: Session, ids: Collection[int]) -> None:
    """Serial rows this session holds are stale once moved by core updates: reload them."""
    wanted = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Serial) and obj.id in wanted:
            session.expire(obj)


def with_serials(moves: list[Move], scanned: Scanned | None) -> list[Move]:
    """The moves of one line split into one move per unit, each naming its serial (the ledger's
    ``serial`` column); unchanged when the line carries none."""
    return name_units(moves, scanned.codes if scanned else [])


def name_units(moves: list[Move], codes: Sequence[str]) -> list[Move]:
    """The first ``len(codes)`` units of ``moves`` as one move per unit naming its serial, in
    order; the units left over stay in one move each."""
    todo = list(codes)
    out: list[Move] = []
    for m in moves:
        whole = int(m.qty) if m.qty == m.qty.to_integral_value() else 0
        named = min(len(todo), whole)
        out += [replace(m, qty=Decimal(1), serial=todo.pop(0)) for _ in range(named)]
        if m.qty > named:
            out.append(replace(m, qty=m.qty - named))
    return out


def line_serials(session: Session, document_type: str, number: str, kinds: Collection[str]
                 ) -> dict[int, list[str]]:
    """Per line number, the serials events of ``kinds`` bound on this document, in scan order."""
    rows = session.execute(
        select(SerialEvent.detail, Serial.code).join(Serial, Serial.id == SerialEvent.serial_id)
        .where(SerialEvent.document_type == document_type,
               SerialEvent.document_number == number, SerialEvent.kind.in_(list(kinds)))
        .order_by(SerialEvent.id))
    found: dict[int, list[str]] = {}
    for detail, code in rows:
        line_no = json.loads(detail or "{}").get("line_no")
        if isinstance(line_no, int) and code not in found.setdefault(line_no, []):
            found[line_no].append(code)
    return found



def still_in(session: Session, codes: Sequence[str], sku_id: int, status: str) -> list[str]:
    """Those of ``codes`` (of one SKU) that are still in ``status``."""
    if not codes:
        return []
    now = set(session.scalars(select(Serial.code).where(
        Serial.sku_id == sku_id, Serial.code.in_(list(codes)), Serial.status == status)))
    return [c for c in codes if c in now]


def check_sold_on(session: Session, scanned: Scanned | None, number: str) -> None:
    """Refuse serials a customer returns that were not sold on sales order ``number``."""
    if scanned is None:
        return
    sold = dict(session.execute(select(Serial.id, Serial.sales_order)
                                .where(Serial.id.in_(scanned.ids))).tuples().all())
    wrong = [FieldError(f"{scanned.field}[{j}]", "serial {code} was not sold on {number}",
                        {"code": code, "number": number})
             for j, (i, code) in enumerate(zip(scanned.ids, scanned.codes, strict=True))
             if sold.get(i) != number]
    if wrong:
        raise ValidationFailed(wrong)


def expected(uow: UnitOfWork, doc: Meta, *, sku_id: int, line_no: int) -> list[str]:
    """The serials a transfer line shipped that are still on the road."""
    shipped = line_serials(uow.session, doc.document_type or "", doc.document_number or "",
                           ("transfer_out",))
    return still_in(uow.session, shipped.get(line_no, []), sku_id, "in_transit")


def arrive(uow: UnitOfWork, doc: Meta, scanned: Scanned | None, *, sku_id: int, line_no: int,
           dest: Location, settled: bool) -> tuple[list[str], list[str]]:
    """A transfer line's scanned units checked against its shipped list: the shipped ones
    still on the road move in stock at ``dest``. Returns (missing, extra): shipped but not
    scanned (once the line is settled), scanned but not shipped. With serials required, an
    extra unit refuses the receipt naming both lists."""
    number = doc.document_number or ""
    waiting = expected(uow, doc, sku_id=sku_id, line_no=line_no)
    codes = scanned.codes if scanned else []
    extra = [c for c in codes if c not in waiting]
    missing = [c for c in waiting if c not in codes] if settled else []
    if scanned is None:
        return missing, extra
    if extra and required(uow.session):
        raise _error(scanned.field, "serials {extra} were not shipped on {number}; missing: "
                     "{missing}", extra=", ".join(extra), number=number,
                     missing=", ".join(missing) or "-")
    pairs = [(i, c) for i, c in zip(scanned.ids, codes, strict=True) if c in waiting]
    move(uow, doc, Scanned(scanned.field, [i for i, _ in pairs], [c for _, c in pairs]),
         "transfer_in", line_no=line_no, site=dest, values={"location_id": dest.id})
    return missing, extra


def back_home(uow: UnitOfWork, doc: Meta, site: Location) -> None:
    """A shipped transfer is cancelled: its serials still on the road are back in stock at
    ``site`` (the source)."""
    number = doc.document_number or ""
    for line_no, codes in line_serials(uow.session, doc.document_type or "", number,
                                       ("transfer_out",)).items():
        ids = list(uow.session.scalars(select(Serial.id).where(
            Serial.code.in_(codes), Serial.status == "in_transit", Serial.site_id == site.id)))
        move(uow, doc, Scanned("", ids, []), "transfer_in", line_no=line_no, site=site,
             values={"location_id": site.id}, detail={"cancelled": True})


def answer_serials(session: Session, document_type: str, number: str,
                   lines: Iterable[tuple[int, int]], shown: dict[str, tuple[str, ...]]
                   ) -> dict[int, dict[str, list[str]]]:
    """For a document answer: per line (line_no, sku_id) of a serial-tracked SKU, under each
    key of ``shown`` the serials its event kinds bound on the line, e.g. ``{"serials":
    ("shipped",)}``. Lines of other SKUs get nothing (their answers stay as they were)."""
    pairs = list(lines)
    skus = {sku_id for _n, sku_id in pairs}
    serial_skus = set(session.scalars(select(Sku.id).where(
        Sku.id.in_(list(skus)), Sku.tracking == "serial"))) if skus else set()
    tracked = [n for n, sku_id in pairs if sku_id in serial_skus]
    if not tracked:
        return {}
    found = {key: line_serials(session, document_type, number, kinds)
             for key, kinds in shown.items()}
    return {n: {key: found[key].get(n, []) for key in shown} for n in tracked}
