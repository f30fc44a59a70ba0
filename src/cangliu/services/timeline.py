"""A document's story for the people working on it: which document a reference names, what has
happened to it so far (from the audit log, its stock moves and its money) and what comes next in
the standard chain 采购 → 入库 → 销售 → 出库 → 结算 (purchase, receipt, sale, shipment, settlement).
"""

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cangliu.core.errors import NotFound
from cangliu.db.models import AuditEvent, HeldDocument, OpenItem, StockMove
from cangliu.db.queries import DOCUMENT_SITES, scrap_sites
from cangliu.db.uow import UnitOfWork


@dataclass(frozen=True)
class Kind:
    """A kind of document that can be discussed: its permission resource, its audited header
    table ("" when it has none), the ``document_type`` on its moves, and its page."""

    resource: str
    entity: str
    doc_type: str
    page: str


KINDS: dict[str, Kind] = {
    "purchase": Kind("purchase", "purchase_order", "purchase_order", "/docs/purchase-orders"),
    "sales": Kind("sales", "sales_order", "sales_order", "/docs/sales-orders"),
    "transfer": Kind("transfer", "transfer_order", "transfer", "/transfers"),
    "count": Kind("count", "stock_count", "stock_count", "/docs/counts"),
    "scrap": Kind("scrap", "", "scrap", "/docs/scrap"),
    "sales_return": Kind("sales", "", "sales_order", "/docs/returns"),
}


def document_sites(session: Session, kind: str, number: str) -> list[int] | None:
    """The sites of a document (None: no such document), to check who may see it."""
    if kind == "scrap":
        return scrap_sites(session, number)
    if kind == "sales_return":
        site = session.scalar(select(HeldDocument.site_id).where(
            HeldDocument.document_type == kind, HeldDocument.number == number))
        return [site] if site else None
    model, *columns = DOCUMENT_SITES[KINDS[kind].resource]
    row = session.execute(select(*columns).where(model.number == number)).first()
    return None if row is None else list(row)


def link(kind: str, number: str) -> str:
    return f"{KINDS[kind].page}/{number}"


def timeline(uow: UnitOfWork, kind: str, number: str) -> list[dict[str, Any]]:
    """The document's events, oldest first. Each has ``at``, ``user`` and an ``event`` —
    created, state (with ``state``), edited, receivable/payable (``amount``, ``currency``),
    settled (``amount``, what is settled in all so far) or stock (``lines``, ``operation``)."""
    spec = KINDS[kind]
    with uow:
        session = uow.session
        if document_sites(session, kind, number) is None:
            raise NotFound("Document {number} not found", number=number)
        events = _audited(session, spec, number) + _stock(session, spec, number)
    return sorted(events, key=lambda e: (e["at"], e["order"]))


def _audited(session: Session, spec: Kind, number: str) -> list[dict[str, Any]]:
    entities = [e for e in (spec.entity, "open_item") if e]
    rows = session.scalars(select(AuditEvent).where(
        AuditEvent.entity.in_(entities), AuditEvent.entity_key == number).order_by(AuditEvent.id))
    out = []
    for row in rows:
        event = _describe(row.entity, row.action, json.loads(row.after) if row.after else {},
                          json.loads(row.before) if row.before else {})
        if event is not None:
            out.append({"at": row.at, "user": row.username, "order": row.id, **event})
    return out


def _describe(entity: str, action: str, after: dict[str, Any], before: dict[str, Any]
              ) -> dict[str, Any] | None:
    if entity == "open_item":
        if action == "create":
            return {"event": after.get("kind", "receivable"), "amount": after.get("amount"),
                    "currency": after.get("currency", "")}
        if "settled_base" in after and Decimal(str(after["settled_base"])) > Decimal(
                str(before.get("settled_base") or 0)):
            return {"event": "settled", "amount": after["settled_base"]}
        return None
    if action == "create":
        return {"event": "created"}
    if "state" in after:
        return {"event": "state", "state": after["state"]}
    fields = sorted(set(after) - {"version"})
    return {"event": "edited", "fields": fields} if fields else None


def _stock(session: Session, spec: Kind, number: str) -> list[dict[str, Any]]:
    """Each posting of the document (one ``ref``) as one event."""
    rows = session.execute(
        select(StockMove.ref, func.min(StockMove.recorded_at), func.min(StockMove.operator),
               func.min(StockMove.operation), func.count())
        .where(StockMove.document_type == spec.doc_type, StockMove.document_number == number)
        .group_by(StockMove.ref)).all()
    return [{"at": at, "user": operator, "order": 0, "event": "stock", "operation": operation,
             "lines": count} for _ref, at, operator, operation, count in rows]


def open_amount(uow: UnitOfWork, kind: str, number: str) -> Decimal:
    """What is still to be paid for the document, in the base currency (0 when nothing is)."""
    with uow:
        value = uow.session.scalar(select(
            func.coalesce(func.sum(OpenItem.amount_base - OpenItem.settled_base), 0))
            .where(OpenItem.document_type == KINDS[kind].doc_type,
                   OpenItem.document_number == number))
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


# (kind, state) → the next steps of the chain, in the order they are offered.
STEPS: dict[tuple[str, str], tuple[str, ...]] = {
    ("purchase", "approved"): ("receive",),
    ("purchase", "partially_received"): ("receive", "sell", "pay"),
    ("purchase", "received"): ("sell", "pay"),
    ("purchase", "closed"): ("sell", "pay"),
    ("sales", "confirmed"): ("pick", "ship"),
    ("sales", "partially_shipped"): ("pick", "ship", "collect"),
    ("sales", "shipped"): ("collect",),
    ("sales", "closed"): ("collect",),
    ("transfer", "shipped"): ("receive",),
    ("transfer", "partially_received"): ("receive",),
}


def next_steps(kind: str, state: str | None, open_money: Decimal) -> list[str]:
    """The chain's next steps for a document in ``state``; paying or collecting is offered only
    while money is open."""
    return [s for s in STEPS.get((kind, state or ""), ())
            if s not in ("pay", "collect") or open_money > 0]
