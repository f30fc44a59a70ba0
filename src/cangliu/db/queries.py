"""Read models for lists and dashboards, SQL-first: the single view is answered from balances."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from cangliu.core.documents import OPEN_PURCHASE_STATES
from cangliu.core.errors import NotFound
from cangliu.db.models import (
    Category,
    Customer,
    Location,
    PurchaseLine,
    PurchaseOrder,
    SalesOrder,
    Sku,
    StockBalance,
    StockCount,
    StockMove,
    Supplier,
    TransferOrder,
)

ZERO = Decimal(0)
FIGURES = ("on_hand", "reserved", "available", "in_transit_in", "in_transit_out", "on_order",
           "quality_hold", "damaged")


def _by_status(status: str) -> Any:
    return func.sum(case((StockBalance.status == status, StockBalance.qty), else_=0))


def _site_figures() -> Select[Any]:
    """Per SKU × site: physical figures from the balances of the site's own locations."""
    return (select(StockBalance.sku_id.label("sku_id"), StockBalance.site_id.label("site_id"),
                   func.sum(StockBalance.qty).label("on_hand"),
                   func.sum(StockBalance.reserved).label("reserved"),
                   _by_status("available").label("available_qty"),
                   _by_status("quality_hold").label("quality_hold"),
                   _by_status("damaged").label("damaged"))
            .where(StockBalance.site_id.is_not(None))
            .group_by(StockBalance.sku_id, StockBalance.site_id))


def _transit(session: Session, sku_ids: list[int]) -> dict[tuple[int, int, str], Decimal]:
    """In-transit quantities keyed (sku, site, 'in'|'out') from transit-route balances."""
    route = aliased(Location)
    rows = session.execute(
        select(StockBalance.sku_id, route.route_from_id, route.route_to_id,
               func.sum(StockBalance.qty))
        .join(route, route.id == StockBalance.location_id)
        .where(route.kind == "transit", StockBalance.sku_id.in_(sku_ids))
        .group_by(StockBalance.sku_id, route.route_from_id, route.route_to_id))
    out: dict[tuple[int, int, str], Decimal] = {}
    for sku_id, src, dst, qty in rows:
        out[(sku_id, src, "out")] = out.get((sku_id, src, "out"), ZERO) + qty
        out[(sku_id, dst, "in")] = out.get((sku_id, dst, "in"), ZERO) + qty
    return out


def _on_order(session: Session, sku_ids: list[int]) -> dict[tuple[int, int, str], Decimal]:
    """Unreceived quantities of open purchase orders, keyed like transit: (sku, site, 'order')."""
    rows = session.execute(
        select(PurchaseLine.sku_id, PurchaseOrder.site_id,
               func.sum(PurchaseLine.qty - PurchaseLine.received_qty))
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseLine.purchase_id)
        .where(PurchaseOrder.state.in_(OPEN_PURCHASE_STATES), PurchaseLine.sku_id.in_(sku_ids),
               PurchaseLine.qty > PurchaseLine.received_qty)
        .group_by(PurchaseLine.sku_id, PurchaseOrder.site_id))
    return {(sku_id, site_id, "order"): qty for sku_id, site_id, qty in rows}


def _expected(session: Session, sku_ids: list[int]) -> dict[tuple[int, int, str], Decimal]:
    return {**_transit(session, sku_ids), **_on_order(session, sku_ids)}


def _row(r: Any, transit: dict[tuple[int, int, str], Decimal]) -> dict[str, Any]:
    available_qty = r.available_qty or ZERO
    reserved = r.reserved or ZERO
    return {
        "on_hand": r.on_hand or ZERO, "reserved": reserved, "available": available_qty - reserved,
        "in_transit_in": transit.get((r.sku_id, r.site_id, "in"), ZERO),
        "in_transit_out": transit.get((r.sku_id, r.site_id, "out"), ZERO),
        "on_order": transit.get((r.sku_id, r.site_id, "order"), ZERO),
        "quality_hold": r.quality_hold or ZERO, "damaged": r.damaged or ZERO,
    }


@dataclass(frozen=True)
class _EmptyFigures:
    sku_id: int
    site_id: int
    on_hand: Decimal = ZERO
    reserved: Decimal = ZERO
    available_qty: Decimal = ZERO
    quality_hold: Decimal = ZERO
    damaged: Decimal = ZERO


def single_view(session: Session, sku_code: str) -> dict[str, Any]:
    """One SKU across the network: a row per site that holds or expects it."""
    sku = session.scalar(select(Sku).where(Sku.code == sku_code))
    if sku is None:
        raise NotFound("No SKU {code}", code=sku_code)
    figures = _site_figures().where(StockBalance.sku_id == sku.id).subquery()
    rows = session.execute(
        select(figures, Location.code.label("site"), Location.name, Location.region)
        .join(Location, Location.id == figures.c.site_id).order_by(Location.code)).all()
    transit = _expected(session, [sku.id])
    sites = [{"site": r.site, "site_name": r.name, "region": r.region, **_row(r, transit)}
             for r in rows]
    # A site that holds none yet but has stock on its way or on order still gets a row.
    expecting = {site_id for (_sku, site_id, _dir) in transit} - {r.site_id for r in rows}
    for loc in session.scalars(select(Location).where(Location.id.in_(expecting))):
        empty = _EmptyFigures(sku.id, loc.id)
        sites.append({"site": loc.code, "site_name": loc.name, "region": loc.region,
                      **_row(empty, transit)})
    sites.sort(key=lambda row: row["site"])
    totals = {f: sum((s[f] for s in sites), ZERO) for f in FIGURES}
    return {"sku": sku.code, "name": sku.name, "name_en": sku.name_en, "uom": sku.uom,
            "sites": sites, "total": totals}


@dataclass(frozen=True)
class StockFilter:
    site: str | None = None
    region: str | None = None
    category: str | None = None
    q: str | None = None


def network(session: Session, flt: StockFilter, *, limit: int = 50,
            after: tuple[str, str] | None = None) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """The network stock list, one row per SKU × site, keyset-paginated on (sku code, site code)."""
    figures = _site_figures().subquery()
    site = aliased(Location)
    query = (select(figures, Sku.code.label("sku"), Sku.name.label("sku_name"),
                    Sku.name_en.label("sku_name_en"), Sku.uom, site.code.label("site"),
                    site.region)
             .join(Sku, Sku.id == figures.c.sku_id).join(site, site.id == figures.c.site_id))
    if flt.site:
        query = query.where(site.code == flt.site)
    if flt.region:
        query = query.where(site.region == flt.region)
    if flt.category:
        query = query.join(Category, Category.id == Sku.category_id).where(
            Category.code == flt.category)
    if flt.q:
        like = f"%{flt.q.strip()}%"
        query = query.where(or_(Sku.code.ilike(like), Sku.name.ilike(like), Sku.name_en.ilike(like)))
    if after:
        query = query.where(tuple_(Sku.code, site.code) > tuple_(literal(after[0]), literal(after[1])))
    rows = session.execute(query.order_by(Sku.code, site.code).limit(limit + 1)).all()
    page = rows[:limit]
    transit = _expected(session, list({r.sku_id for r in page}))
    items = [{"sku": r.sku, "sku_name": r.sku_name, "sku_name_en": r.sku_name_en, "uom": r.uom,
              "site": r.site, "region": r.region, **_row(r, transit)} for r in page]
    cursor = (page[-1].sku, page[-1].site) if len(rows) > limit else None
    return items, cursor


def move_history(session: Session, sku_code: str, *, limit: int = 50, before_id: int | None = None
                 ) -> list[dict[str, Any]]:
    """A SKU's moves, newest first: who, when, what, why, which document."""
    if session.scalar(select(Sku.id).where(Sku.code == sku_code)) is None:
        raise NotFound("No SKU {code}", code=sku_code)
    src, dst = aliased(Location), aliased(Location)
    query = (select(StockMove, src.code.label("src"), dst.code.label("dst"))
             .join(Sku, Sku.id == StockMove.sku_id).join(src, src.id == StockMove.from_location_id)
             .join(dst, dst.id == StockMove.to_location_id)
             .where(Sku.code == sku_code).order_by(StockMove.id.desc()).limit(limit))
    if before_id:
        query = query.where(StockMove.id < before_id)
    return [{"id": m.id, "ref": m.ref, "operation": m.operation, "qty": m.qty, "uom": m.uom,
             "from": s, "to": d, "from_status": m.from_status, "to_status": m.to_status,
             "lot": m.lot, "reason": m.reason, "operator": m.operator, "device": m.device,
             "document_type": m.document_type, "document_number": m.document_number,
             "occurred_at": m.occurred_at, "recorded_at": m.recorded_at}
            for m, s, d in session.execute(query)]




def _document_page(session: Session, query: Select[Any], model: Any, *, state: str | None,
                   q: str | None, limit: int, after: str | None,
                   to_item: Callable[..., dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """What every document list shares: state filter, number search, newest number first,
    keyset cursor on the number."""
    if state:
        query = query.where(model.state == state)
    if q:
        query = query.where(model.number.ilike(f"%{q.strip()}%"))
    if after:
        query = query.where(model.number < after)
    rows = session.execute(query.order_by(model.number.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    return [to_item(*r) for r in page], (page[-1][0].number if len(rows) > limit else None)


def transfers(session: Session, *, state: str | None = None, site: str | None = None,
              q: str | None = None, limit: int = 50, after: str | None = None
              ) -> tuple[list[dict[str, Any]], str | None]:
    """Transfer orders; ``site`` matches either end."""
    src, dst = aliased(Location), aliased(Location)
    query = (select(TransferOrder, src.code, dst.code)
             .join(src, src.id == TransferOrder.source_site_id)
             .join(dst, dst.id == TransferOrder.dest_site_id))
    if site:
        query = query.where(or_(src.code == site, dst.code == site))
    return _document_page(session, query, TransferOrder, state=state, q=q, limit=limit, after=after,
                          to_item=lambda t, s, d: {
                              "number": t.number, "state": t.state, "source": s, "dest": d,
                              "version": t.version, "expected_arrival": t.expected_arrival,
                              "created_at": t.created_at, "shipped_at": t.shipped_at,
                              "received_at": t.received_at})


def purchases(session: Session, *, state: str | None = None, site: str | None = None,
              supplier: str | None = None, q: str | None = None, limit: int = 50,
              after: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    query = (select(PurchaseOrder, Location.code, Supplier.code)
             .join(Location, Location.id == PurchaseOrder.site_id)
             .join(Supplier, Supplier.id == PurchaseOrder.supplier_id))
    if site:
        query = query.where(Location.code == site)
    if supplier:
        query = query.where(Supplier.code == supplier)
    return _document_page(session, query, PurchaseOrder, state=state, q=q, limit=limit, after=after,
                          to_item=lambda p, site_code, sup: {
                              "number": p.number, "state": p.state, "supplier": sup,
                              "site": site_code, "currency": p.currency,
                              "expected_date": p.expected_date, "version": p.version,
                              "created_at": p.created_at})


def sales_orders(session: Session, *, state: str | None = None, site: str | None = None,
                 customer: str | None = None, q: str | None = None, limit: int = 50,
                 after: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    query = (select(SalesOrder, Location.code, Customer.code)
             .join(Location, Location.id == SalesOrder.site_id)
             .join(Customer, Customer.id == SalesOrder.customer_id))
    if site:
        query = query.where(Location.code == site)
    if customer:
        query = query.where(Customer.code == customer)
    return _document_page(session, query, SalesOrder, state=state, q=q, limit=limit, after=after,
                          to_item=lambda o, site_code, cust: {
                              "number": o.number, "state": o.state, "customer": cust,
                              "site": site_code, "channel": o.channel, "currency": o.currency,
                              "version": o.version, "created_at": o.created_at})


def stock_counts(session: Session, *, state: str | None = None, q: str | None = None,
                 limit: int = 50, after: str | None = None
                 ) -> tuple[list[dict[str, Any]], str | None]:
    query = select(StockCount, Location.code).join(Location, Location.id == StockCount.site_id)
    return _document_page(session, query, StockCount, state=state, q=q, limit=limit, after=after,
                          to_item=lambda c, site: {
                              "number": c.number, "state": c.state, "site": site,
                              "blind": c.blind, "snapshot_at": c.snapshot_at,
                              "posted_at": c.posted_at})
