"""Sales: customer prices and /api/v1/sales-orders."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from cangliu.core.documents import BASE_CURRENCY
from cangliu.core.permissions import Actor
from cangliu.db import queries
from cangliu.services import sales
from cangliu.services.postings import Meta
from cangliu.services.sales import LineQty, SalesLineIn, ShipLine
from cangliu.web.api.custom_fields import Custom
from cangliu.web.api.purchasing import ActionIn, Currency, Serials
from cangliu.web.api.schemas import MAX_ID, Code, Quantity, Reason, Strict, jsonable
from cangliu.web.deps import DbDep, IdempotencyKey, in_scope, permit

router = APIRouter(prefix="/api/v1", tags=["sales"])
CanActSales = Annotated[Actor, permit(
    "sales.{action}", actions={"confirm": "edit", "cancel": "cancel", "close": "edit"})]
CanCreateSales = Annotated[Actor, permit("sales.create")]
CanEditCustomer = Annotated[Actor, permit("customer.edit")]
CanEditSales = Annotated[Actor, permit("sales.edit")]
CanPostSales = Annotated[Actor, permit("sales.post")]
CanViewSales = Annotated[Actor, permit("sales.view")]
State = Literal["draft", "confirmed", "partially_shipped", "shipped", "closed", "cancelled"]
Channel = Literal["store", "online", "wholesale"]
LotCode = Annotated[str, Field(min_length=1, max_length=64)]


class PriceIn(Strict):
    price: Quantity


class LineIn(Strict):
    sku: Code
    qty: Quantity
    price: Quantity | None = None


class SaleIn(Strict):
    customer: Code
    site: Code
    channel: Channel = "store"
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=5000)]
    currency: Currency = BASE_CURRENCY
    rate: Quantity | None = None
    reason: Reason = ""
    custom: Custom = None


class SaleEdit(Strict):
    """A draft's new values; what is left out stays. ``version`` is the one the edit is based on."""

    version: Annotated[int, Field(ge=1, le=MAX_ID)]
    customer: Code | None = None
    site: Code | None = None
    channel: Channel | None = None
    currency: Currency | None = None
    rate: Quantity | None = None
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=5000)] | None = None
    custom: Custom = None


class LineQtyIn(Strict):
    line_no: Annotated[int, Field(ge=1, le=MAX_ID)]
    qty: Quantity
    serials: Serials = None


class ShipLineIn(LineQtyIn):
    bin: Code | None = Field(None, description="ship from this bin instead of the pick list")
    lot: LotCode | None = Field(None, description="ship this lot instead of the pick list's")


class ShipIn(Strict):
    lines: list[ShipLineIn] | None = None
    reason: Reason = ""


class ReturnIn(Strict):
    lines: Annotated[list[LineQtyIn], Field(min_length=1)]
    reason: Reason = ""


def _meta(actor: Any, reason: str, key: str | None) -> Meta:
    return Meta(actor, reason=reason, idempotency_key=key)


@router.put("/customers/{customer}/prices/{sku}")
def set_price(customer: str, sku: str, body: PriceIn, db: DbDep, actor: CanEditCustomer) -> Any:
    return sales.set_customer_price(db.uow(), actor, customer=customer, sku=sku, price=body.price)


@router.post("/sales-orders", status_code=201)
def create(body: SaleIn, request: Request, db: DbDep, actor: CanCreateSales,
           key: IdempotencyKey = None) -> Any:
    in_scope(db, request, actor, "sales.create", body.site)
    lines = [SalesLineIn(x.sku, x.qty, x.price) for x in body.lines]
    result = sales.create_sale(db.uow(), _meta(actor, body.reason, key), customer=body.customer,
                               site=body.site, lines=lines, channel=body.channel,
                               currency=body.currency, rate=body.rate,
                               custom=body.custom or {})
    return JSONResponse(jsonable(result), status_code=201)


@router.get("/sales-orders")
def list_orders(db: DbDep, actor: CanViewSales, state: State | None = None, site: str | None = None,
                customer: str | None = None, q: str | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50, cursor: str | None = None,
                created_from: date | None = None, created_to: date | None = None) -> Any:
    with db.read() as session:
        items, nxt = queries.sales_orders(session, state=state, site=site, customer=customer, q=q,
                                          limit=limit, after=cursor, created_from=created_from,
                                          created_to=created_to,
                                       scope=actor.sites("sales.view"))
    return jsonable({"items": items, "next_cursor": nxt})


@router.get("/sales-orders/{number}")
def get(number: str, db: DbDep, actor: CanViewSales) -> Any:
    return sales.get_sale(db.uow(), number)


@router.patch("/sales-orders/{number}")
def edit(number: str, body: SaleEdit, request: Request, db: DbDep, actor: CanEditSales,
         key: IdempotencyKey = None
         ) -> Any:
    """Edit a draft order; a stale ``version`` answers 409 with the current version."""
    in_scope(db, request, actor, "sales.edit", body.site)
    lines = ([SalesLineIn(x.sku, x.qty, x.price) for x in body.lines]
             if body.lines is not None else None)
    return jsonable(sales.update_sale(db.uow(), _meta(actor, "", key), number=number,
                                      version=body.version, customer=body.customer,
                                      site=body.site, channel=body.channel,
                                      currency=body.currency, rate=body.rate, lines=lines,
                                      custom=body.custom))


@router.get("/sales-orders/{number}/pick-list")
def pick_list(number: str, db: DbDep, actor: CanViewSales) -> Any:
    """The bins and lots each open line is picked from, in pick order (FEFO for lots)."""
    return jsonable(sales.get_pick_list(db.uow(), number))


@router.post("/sales-orders/{number}/ship")
def ship(number: str, body: ShipIn, db: DbDep, actor: CanPostSales,
         key: IdempotencyKey = None) -> Any:
    """Ship from the pick list; a line naming a bin and/or lot ships from there instead."""
    lines = ([ShipLine(x.line_no, x.qty, x.bin, x.lot, serials=x.serials) for x in body.lines]
             if body.lines is not None else None)
    return sales.ship_sale(db.uow(), _meta(actor, body.reason, key), number=number, lines=lines)


@router.post("/sales-orders/{number}/return")
def take_back(number: str, body: ReturnIn, db: DbDep, actor: CanPostSales,
              key: IdempotencyKey = None) -> Any:
    lines = [LineQty(x.line_no, x.qty, serials=x.serials) for x in body.lines]
    return sales.return_sale(db.uow(), _meta(actor, body.reason, key), number=number, lines=lines)


ACTIONS = {"confirm": sales.confirm_sale, "cancel": sales.cancel_sale, "close": sales.close_sale}


@router.post("/sales-orders/{number}/{action}")
def act(number: str, action: Literal["confirm", "cancel", "close"], body: ActionIn, db: DbDep,
        actor: CanActSales, key: IdempotencyKey = None) -> Any:
    return ACTIONS[action](db.uow(), _meta(actor, body.reason, key), number=number)
