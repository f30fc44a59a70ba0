"""The documents approvals are about: their pending state, the fields policy conditions read,
and the sites role scopes are judged at."""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.documents import PURCHASE_ORDER, TRANSFER, StateTable
from cangliu.core.errors import DomainError, NotFound
from cangliu.db.models import (
    Category,
    Location,
    PurchaseLine,
    PurchaseOrder,
    Sku,
    SkuCost,
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
}


def doc_type(document_type: str) -> DocType:
    if document_type not in DOCUMENTS:
        raise NotFound("No approvals for {name}", name=document_type)
    return DOCUMENTS[document_type]


def _unit_costs(session: Session, sku_ids: Iterable[int]) -> dict[int, Decimal]:
    rows = session.execute(select(SkuCost.sku_id, SkuCost.qty, SkuCost.value)
                           .where(SkuCost.sku_id.in_(list(sku_ids))))
    return {sid: value / qty for sid, qty, value in rows if qty > 0}


def fields_of(uow: UnitOfWork, document_type: str, number: str) -> dict[str, Any]:
    """The values a policy's conditions read; amounts in the base currency (a transfer at the
    moving-average cost, a purchase at its prices × rate)."""
    s = uow.session
    row = s.scalar(select(doc_type(document_type).model).where(
        doc_type(document_type).model.number == number))
    if row is None:
        raise NotFound("Document {number} not found", number=number)
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
    costs = _unit_costs(s, (ln.sku_id for ln in tlines))
    amount = sum((ln.qty * costs.get(ln.sku_id, Decimal(0)) for ln in tlines), Decimal(0))
    category = s.scalar(select(Category.code).join(Sku, Sku.category_id == Category.id)
                        .where(Sku.id == tlines[0].sku_id)) if tlines else None
    # Until the planning rules exist every transfer is entered by hand and none is an exception.
    return {"amount": float(amount), "lines": len(tlines), "source_site": src.code,
            "dest_site": dst.code, "source_region": src.region, "dest_region": dst.region,
            "cross_region": src.region != dst.region, "source_kind": src.site_kind or "",
            "dest_kind": dst.site_kind or "", "generated_by_rule": "", "exception": False,
            "category": category or ""}


def scope_site(session: Session, document_type: str, number: str, scope: str) -> Location | None:
    """The site a role's scope is judged at: a transfer's destination (its source for
    source_region), a purchase's receiving site; None for every site."""
    if scope == "all":
        return None
    row: Any = session.scalar(select(doc_type(document_type).model).where(
        doc_type(document_type).model.number == number))
    if document_type == "purchase":
        return session.get_one(Location, row.site_id)
    return session.get_one(Location, row.source_site_id if scope == "source_region"
                           else row.dest_site_id)


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
