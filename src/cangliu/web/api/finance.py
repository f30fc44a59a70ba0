"""Money: payments, aging, statements, inventory value and period close under /api/v1."""

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, Field

from cangliu.core.documents import BASE_CURRENCY
from cangliu.core.permissions import Actor
from cangliu.services import accounts, periods
from cangliu.services.accounts import AllocationIn
from cangliu.services.postings import Meta
from cangliu.services.valuation import inventory_value
from cangliu.web.api.purchasing import Currency
from cangliu.web.api.schemas import Code, Quantity, Strict, jsonable
from cangliu.web.deps import DbDep, IdempotencyKey, permit

router = APIRouter(prefix="/api/v1", tags=["finance"])
CanCreateFinance = Annotated[Actor, permit("finance.create")]
CanPostFinance = Annotated[Actor, permit("finance.post")]
CanViewFinance = Annotated[Actor, permit("finance.view")]
CanViewReport = Annotated[Actor, permit("report.view")]
Kind = Literal["receivable", "payable"]


class AllocationBody(Strict):
    document_number: Annotated[str, Field(min_length=1, max_length=40)]
    amount: Quantity


class PaymentIn(Strict):
    kind: Kind
    partner: Code
    amount: Quantity
    paid_on: date
    currency: Currency = BASE_CURRENCY
    rate: Quantity | None = None
    reference: Annotated[str, Field(max_length=100)] = ""
    allocations: list[AllocationBody] | None = None


class CloseIn(Strict):
    through: date


@router.post("/payments", status_code=201)
def pay(body: PaymentIn, db: DbDep, actor: CanCreateFinance, key: IdempotencyKey = None) -> Any:
    allocations = ([AllocationIn(a.document_number, a.amount) for a in body.allocations]
                   if body.allocations is not None else None)
    result = accounts.record_payment(
        db.uow(), Meta(actor, idempotency_key=key), kind=body.kind, partner=body.partner,
        amount=body.amount, paid_on=body.paid_on, currency=body.currency, rate=body.rate,
        reference=body.reference, allocations=allocations)
    return JSONResponse(jsonable(result), status_code=201)


@router.get("/aging")
def aging(db: DbDep, actor: CanViewFinance, kind: Kind = "receivable",
          as_of: date | None = None) -> Any:
    with db.read() as session:
        items = accounts.aging(session, kind=kind, as_of=as_of or datetime.now(UTC).date())
    return {"items": items, "next_cursor": None}


@router.get("/statements/{kind}/{partner}")
def statement(kind: Kind, partner: str, db: DbDep, actor: CanViewFinance,
              start: Annotated[date, Query(alias="from")], end: Annotated[date, Query(alias="to")]
              ) -> Any:
    with db.read() as session:
        return accounts.statement(session, kind=kind, partner=partner, start=start, end=end)


@router.get("/inventory-value")
def value(db: DbDep, actor: CanViewReport, at: AwareDatetime | None = None) -> Any:
    """Value per site and category, of the sites where the caller may view reports."""
    with db.read() as session:
        items = inventory_value(session, at=at, sites=actor.sites("report.view"))
    return jsonable({"items": items, "next_cursor": None})


@router.post("/periods/close")
def close(body: CloseIn, db: DbDep, actor: CanPostFinance) -> Any:
    return periods.close_period(db.uow(), actor, through=body.through)
