"""Purchasing: supplier prices and /api/v1/purchase-orders."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from cangliu.core.documents import BASE_CURRENCY
from cangliu.core.permissions import Actor
from cangliu.db import queries
from cangliu.services import purchasing
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn, ReturnIn
from cangliu.web.api.custom_fields import Custom
from cangliu.web.api.schemas import MAX_ID, Code, Quantity, Reason, Strict, jsonable
from cangliu.web.deps import DbDep, IdempotencyKey, in_scope, permit

router = APIRouter(prefix="/api/v1", tags=["purchasing"])
CanActPurchase = Annotated[Actor, permit(
    "purchase.{action}", actions={"submit": "edit", "cancel": "cancel", "close": "edit"})]
CanCreatePurchase = Annotated[Actor, permit("purchase.create")]
CanEditPurchase = Annotated[Actor, permit("purchase.edit")]
CanEditSupplier = Annotated[Actor, permit("supplier.edit")]
CanPostPurchase = Annotated[Actor, permit("purchase.post")]
CanViewPurchase = Annotated[Actor, permit("purchase.view")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
# The serials of a serial-tracked line's units: codes or scanned GS1 content, one per unit.
Serials = Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]],
                    Field(max_length=10_000,
                          description="one serial (code or GS1 content) per unit")] | None
State = Literal["draft", "submitted", "approved", "partially_received", "received", "closed",
                "cancelled"]


class PriceIn(Strict):
    price: Quantity
    currency: Currency = BASE_CURRENCY
    min_order_qty: Quantity = "0"
    lead_time_days: Annotated[int, Field(ge=0, le=365)] | None = None


class LineIn(Strict):
    sku: Code
    qty: Quantity
    price: Quantity | None = None


class PurchaseIn(Strict):
    supplier: Code
    site: Code
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=5000)]
    currency: Currency = BASE_CURRENCY
    rate: Quantity | None = None
    expected_date: date | None = None
    reason: Reason = ""
    custom: Custom = None


class PurchaseEdit(Strict):
    """A draft's new values; what is left out stays, lines are replaced as a whole."""

    version: Annotated[int, Field(ge=1, le=MAX_ID)]
    supplier: Code | None = None
    site: Code | None = None
    currency: Currency | None = None
    rate: Quantity | None = None
    expected_date: date | None = None
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=5000)] | None = None
    custom: Custom = None


class ReceiptLine(Strict):
    line_no: Annotated[int, Field(ge=1, le=MAX_ID)]
    qty: Quantity
    bin: Code | None = None
    lot: str | None = None
    expiry_date: date | None = None
    serials: Serials = None


class ReceiptBody(Strict):
    lines: Annotated[list[ReceiptLine], Field(min_length=1)]
    reason: Reason = ""


class ReturnLine(Strict):
    line_no: Annotated[int, Field(ge=1, le=MAX_ID)]
    qty: Quantity
    reason: Reason = ""
    from_status: Literal["quality_hold", "available"] | None = None
    bin: Code | None = None
    lot: str | None = None


class ReturnBody(Strict):
    lines: Annotated[list[ReturnLine], Field(min_length=1, max_length=5000)]
    reason: Reason = ""


class ActionIn(Strict):
    reason: Reason = ""
    version: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None


@router.put("/suppliers/{supplier}/prices/{sku}")
def set_price(supplier: str, sku: str, body: PriceIn, db: DbDep, actor: CanEditSupplier) -> Any:
    return purchasing.set_supplier_price(db.uow(), actor, supplier=supplier, sku=sku,
                                         price=body.price, currency=body.currency,
                                         min_order_qty=body.min_order_qty,
                                         lead_time_days=body.lead_time_days)


@router.post("/purchase-orders", status_code=201)
def create(body: PurchaseIn, request: Request, db: DbDep, actor: CanCreatePurchase,
           key: IdempotencyKey = None) -> Any:
    in_scope(db, request, actor, "purchase.create", body.site)
    lines = [PurchaseLineIn(x.sku, x.qty, x.price) for x in body.lines]
    result = purchasing.create_purchase(
        db.uow(), Meta(actor, reason=body.reason, idempotency_key=key), supplier=body.supplier,
        site=body.site, lines=lines, currency=body.currency, rate=body.rate,
        expected_date=body.expected_date, custom=body.custom or {})
    return JSONResponse(jsonable(result), status_code=201)


@router.get("/purchase-orders")
def list_orders(db: DbDep, actor: CanViewPurchase, state: State | None = None,
                site: str | None = None,
                supplier: str | None = None, q: str | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50, cursor: str | None = None,
                created_from: date | None = None, created_to: date | None = None) -> Any:
    with db.read() as session:
        items, nxt = queries.purchases(session, state=state, site=site, supplier=supplier, q=q,
                                       limit=limit, after=cursor, created_from=created_from,
                                       created_to=created_to,
                                       scope=actor.sites("purchase.view"))
    return jsonable({"items": items, "next_cursor": nxt})


@router.get("/purchase-orders/{number}")
def get(number: str, db: DbDep, actor: CanViewPurchase) -> Any:
    return purchasing.get_purchase(db.uow(), number)


@router.patch("/purchase-orders/{number}")
def edit(number: str, body: PurchaseEdit, request: Request, db: DbDep, actor: CanEditPurchase,
         key: IdempotencyKey = None) -> Any:
    in_scope(db, request, actor, "purchase.edit", body.site)
    lines = [PurchaseLineIn(x.sku, x.qty, x.price) for x in body.lines] if body.lines else None
    return jsonable(purchasing.update_purchase(
        db.uow(), Meta(actor, idempotency_key=key), number=number, version=body.version,
        supplier=body.supplier, site=body.site, currency=body.currency, rate=body.rate,
        expected_date=body.expected_date, lines=lines, custom=body.custom))


@router.get("/purchase-orders/{number}/putaway")
def putaway(number: str, db: DbDep, actor: CanViewPurchase) -> Any:
    """Suggested bins (by free capacity, bins holding the SKU first) for each open line."""
    return purchasing.putaway_purchase(db.uow(), number)


@router.post("/purchase-orders/{number}/return")
def return_goods(number: str, body: ReturnBody, db: DbDep, actor: CanPostPurchase,
                 key: IdempotencyKey = None) -> Any:
    lines = [ReturnIn(x.line_no, x.qty, x.reason, x.from_status, x.bin, x.lot) for x in body.lines]
    return purchasing.return_purchase(db.uow(), Meta(actor, reason=body.reason, idempotency_key=key),
                                      number=number, lines=lines)


@router.post("/purchase-orders/{number}/receive")
def receive(number: str, body: ReceiptBody, db: DbDep, actor: CanPostPurchase,
            key: IdempotencyKey = None) -> Any:
    lines = [ReceiptIn(x.line_no, x.qty, x.bin, x.lot, x.expiry_date, x.serials)
             for x in body.lines]
    return purchasing.receive_purchase(db.uow(), Meta(actor, reason=body.reason, idempotency_key=key),
                                       number=number, lines=lines)


ACTIONS = {"submit": purchasing.submit_purchase, "cancel": purchasing.cancel_purchase,
           "close": purchasing.close_purchase}


@router.post("/purchase-orders/{number}/{action}")
def act(number: str, action: Literal["submit", "cancel", "close"], body: ActionIn, db: DbDep,
        actor: CanActPurchase, key: IdempotencyKey = None) -> Any:
    return ACTIONS[action](db.uow(), Meta(actor, reason=body.reason, idempotency_key=key),
                           number=number)
