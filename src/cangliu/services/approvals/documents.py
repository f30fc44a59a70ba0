"""The documents approvals are about: their pending state, the fields policy conditions read,
and the sites role scopes are judged at."""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.documents import HELD, PURCHASE_ORDER, STOCK_COUNT, TRANSFER, StateTable
from cangliu.core.errors import DomainError, NotFound
from cangliu.core.permissions import Actor
from cangliu.db.models import (
    Category,
    HeldDocument,
    Location,
    PurchaseLine,
    PurchaseOrder,
    Sku,
    SkuCost,
    StockCount,
    Supplier,
    TransferLine,
    TransferOrder,
)
from cangliu.db.uow import UnitOfWork
from cangliu.services.documents import DocumentKind

Result = dict[str, Any]
DecisionIn = Literal["approve", "reject", "return", "delegate", "add"]

MANAGER_ROLE = "inventory_director"  # stands in for "the submitter's manager"
ADMIN_ROLE = "admin"


class ApprovalRefused(DomainError):
    """Not this user's decision to make (not an approver, not their turn, already decided)."""

    status = 403
    title = "Forbidden"


@dataclass(frozen=True)
class DocType:
    model: Any
    table: StateTable
    pending: str  # the document's state while its approval runs


DOCUMENTS: dict[str, DocType] = {
    "transfer": DocType(TransferOrder, TRANSFER, "pending_approval"),
    "purchase": DocType(PurchaseOrder, PURCHASE_ORDER, "submitted"),
    "count": DocType(StockCount, STOCK_COUNT, "pending_approval"),
    "scrap": DocType(HeldDocument, HELD, "pending_approval"),
    "sales_return": DocType(HeldDocument, HELD, "pending_approval"),
}
HELD_TYPES = ("scrap", "sales_return")  # postings held until approved


def document_row(session: Session, document_type: str, number: str, *, lock: bool = False) -> Any:
    """The document's row (a held posting's for scrap and returns), None if there is none."""
    model = doc_type(document_type).model
    query = select(model).where(model.number == number)
    if model is HeldDocument:
        query = query.where(HeldDocument.document_type == document_type)
    return session.scalar(query.with_for_update() if lock else query)


def on_approved(uow: UnitOfWork, document_type: str, row: Any, submitter: Actor) -> None:
    """What approval does besides moving the state: a count posts its variances, a held scrap or
    return posts its moves, in the deciding transaction. (Imported here, not above: those services
    submit into approval, so they import this package.)"""
    from cangliu.services import counts, sales, scrap

    posts: dict[str, Callable[[UnitOfWork, Any, Actor], None]] = {
        "count": counts.post_approved, "scrap": scrap.post_approved,
        "sales_return": sales.post_approved_return}
    post = posts.get(document_type)
    if post is not None:
        post(uow, row, submitter)


def doc_type(document_type: str) -> DocType:
    if document_type not in DOCUMENTS:
        raise NotFound("No approvals for {name}", name=document_type)
    return DOCUMENTS[document_type]


def unit_costs(session: Session, sku_ids: Iterable[int]) -> dict[int, Decimal]:
    rows = session.execute(select(SkuCost.sku_id, SkuCost.qty, SkuCost.value)
                           .where(SkuCost.sku_id.in_(list(sku_ids))))
    return {sid: value / qty for sid, qty, value in rows if qty > 0}


def fields_of(uow: UnitOfWork, document_type: str, number: str) -> dict[str, Any]:
    """The values a policy's conditions read; amounts in the base currency (a transfer at the
    moving-average cost, a purchase at its prices × rate)."""
    s = uow.session
    row = document_row(s, document_type, number)
    if row is None:
        raise NotFound("Document {number} not found", number=number)
    if document_type in HELD_TYPES:
        return dict(json.loads(row.fields))
    if document_type == "count":
        from cangliu.services import counts  # see on_approved

        return counts.variance_fields(uow, row)
    if document_type == "purchase":
        site = s.get_one(Location, row.site_id)
        plines = list(s.scalars(select(PurchaseLine).where(PurchaseLine.purchase_id == row.id)))
        amount = sum((ln.qty * ln.price for ln in plines), Decimal(0)) * row.rate
        return {"amount": float(amount), "lines": len(plines),
                "supplier": s.get_one(Supplier, row.supplier_id).code, "site": site.code,
                "region": site.region, "currency": row.currency}
    src, dst = s.get_one(Location, row.source_site_id), s.get_one(Location, row.dest_site_id)
    tlines = list(s.scalars(select(TransferLine).where(TransferLine.transfer_id == row.id)
                            .order_by(TransferLine.line_no)))
    costs = unit_costs(s, (ln.sku_id for ln in tlines))
    amount = sum((ln.qty * costs.get(ln.sku_id, Decimal(0)) for ln in tlines), Decimal(0))
    category = s.scalar(select(Category.code).join(Sku, Sku.category_id == Category.id)
                        .where(Sku.id == tlines[0].sku_id)) if tlines else None
    return {"amount": float(amount), "lines": len(tlines), "source_site": src.code,
            "dest_site": dst.code, "source_region": src.region, "dest_region": dst.region,
            "cross_region": src.region != dst.region, "source_kind": src.site_kind or "",
            "dest_kind": dst.site_kind or "", "generated_by_rule": row.generated_by_rule,
            "exception": row.exception,
            "category": category or ""}


def scope_sites(session: Session, document_type: str, number: str, scope: str) -> list[Location]:
    """The sites a role's scope is judged at: every site of the document for ``all`` (a
    transfer's two ends), a transfer's destination for ``site`` and ``dest_region`` and its
    source for ``source_region``; any other document's site."""
    row: Any = document_row(session, document_type, number)
    if document_type != "transfer":
        return [session.get_one(Location, row.site_id)]
    ends = {"source_region": [row.source_site_id], "all": [row.source_site_id, row.dest_site_id]}
    return [session.get_one(Location, i) for i in ends.get(scope, [row.dest_site_id])]


def editable(kind: DocumentKind, document_type: str) -> DocumentKind:
    """``kind`` whose edits are also allowed while its approval runs (they restart it)."""
    pending = DOCUMENTS[document_type].pending
    transitions = {**kind.table.transitions,
                   pending: {**kind.table.transitions[pending], "edit": pending}}
    return replace(kind, table=StateTable(kind.table.name, transitions))


def settle(uow: UnitOfWork, document_type: str, number: str, started: Result) -> str:
    """The state a document under approval moves to once ``start`` or ``restart`` answered."""
    kind = DOCUMENTS[document_type]
    if started["state"] == "approved":
        return kind.table.next(number, kind.pending, "approve")
    return kind.pending
