"""Read models for lists and dashboards, SQL-first: the single view is answered from balances."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    Subquery,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from cangliu.core.documents import OPEN_PURCHASE_STATES
from cangliu.core.errors import NotFound, ValidationFailed
from cangliu.db.models import (
    Category,
    Customer,
    HeldDocument,
    Location,
    PurchaseLine,
    PurchaseOrder,
    Reservation,
    SalesOrder,
    Sku,
    StockBalance,
    StockCount,
    StockMove,
    Supplier,
    TransferOrder,
)
from cangliu.db.types import Exact, from_units

ZERO = Decimal(0)
# A user's site scope for a read: None is every site.
Scope = frozenset[int] | None
FIGURES = ("on_hand", "reserved", "available", "in_transit_in", "in_transit_out", "on_order",
           "quality_hold", "damaged")


_SUMMED = ("on_hand", "reserved", "available_qty", "quality_hold", "damaged", "in_transit_in",
           "in_transit_out", "on_order")


def _figures(sku_filter: Callable[[Any], Any]) -> Subquery:
    """Every figure per SKU × site for the SKUs ``sku_filter(sku_id column)`` admits: the site's
    own balances, transit routes into and out of it, and open purchase lines, added up."""
    zero = literal(0, Exact())
    route = aliased(Location)
    b = StockBalance

    def status(name: str) -> Any:
        return case((b.status == name, b.qty), else_=zero)

    own = (select(b.sku_id.label("sku_id"), b.site_id.label("site_id"), *[
                      value.label(name) for value, name in zip(
                          (b.qty, b.reserved, status("available"), status("quality_hold"),
                           status("damaged"), zero, zero, zero), _SUMMED, strict=True)])
           .where(sku_filter(b.sku_id), b.site_id.is_not(None)))
    transit = [
        select(b.sku_id, end, zero, zero, zero, zero, zero, *(
            b.qty if inbound == column_is_in else zero for column_is_in in (True, False)), zero)
        .join(route, route.id == b.location_id)
        .where(route.kind == "transit", sku_filter(b.sku_id))
        for end, inbound in ((route.route_to_id, True), (route.route_from_id, False))]
    ordered = (select(PurchaseLine.sku_id, PurchaseOrder.site_id, *[zero] * 7,
                      PurchaseLine.qty - PurchaseLine.received_qty)
               .join(PurchaseOrder, PurchaseOrder.id == PurchaseLine.purchase_id)
               .where(PurchaseOrder.state.in_(OPEN_PURCHASE_STATES), sku_filter(PurchaseLine.sku_id),
                      PurchaseLine.qty > PurchaseLine.received_qty))
    # The union's columns take the names of the first select's labels.
    parts = union_all(own, *transit, ordered).subquery()
    # Raw stored units (PostgreSQL sums BIGINTs as NUMERIC; cast back so the driver hands over
    # plain ints), turned into Decimals by _figures_of: a long list converts far fewer values.
    return (select(parts.c.sku_id, parts.c.site_id, *[
                cast(func.sum(parts.c[name]), BigInteger).label(name) for name in _SUMMED])
            .group_by(parts.c.sku_id, parts.c.site_id).subquery())


_decimal = lru_cache(maxsize=1 << 16)(from_units)


def _figures_of(units: Sequence[int]) -> dict[str, Decimal]:
    """The figures by name from the summed units, in _SUMMED order."""
    on_hand, reserved, available_qty, quality_hold, damaged, t_in, t_out, on_order = units
    return {"on_hand": _decimal(on_hand), "reserved": _decimal(reserved),
            "available": _decimal(available_qty - reserved), "in_transit_in": _decimal(t_in),
            "in_transit_out": _decimal(t_out), "on_order": _decimal(on_order),
            "quality_hold": _decimal(quality_hold), "damaged": _decimal(damaged)}


def _single_view_statement() -> Select[Any]:
    figures = _figures(lambda sku_id: sku_id == bindparam("sku_id"))
    return (select(Location.id, Location.code, Location.name, Location.region,
                   *[figures.c[name] for name in _SUMMED])
            .join(Location, Location.id == figures.c.site_id).order_by(Location.code))


_SINGLE_VIEW = _single_view_statement()
_SKU_BY_CODE = select(Sku.id, Sku.code, Sku.name, Sku.name_en, Sku.uom).where(
    Sku.code == bindparam("code"))


def single_view(session: Session, sku_code: str, scope: Scope = None) -> dict[str, Any]:
    """One SKU across the network: a row per site that holds it, has it in transit or on order
    (within ``scope``; the totals add up the rows shown)."""
    sku = session.execute(_SKU_BY_CODE, {"code": sku_code}).first()
    if sku is None:
        raise NotFound("No SKU {code}", code=sku_code)
    sites = [{"site": r[1], "site_name": r[2], "region": r[3], **_figures_of(r[4:])}
             for r in session.connection().execute(_SINGLE_VIEW, {"sku_id": sku.id})
             if scope is None or r[0] in scope]
    totals = {f: sum((s[f] for s in sites), ZERO) for f in FIGURES}
    return {"sku": sku.code, "name": sku.name, "name_en": sku.name_en, "uom": sku.uom,
            "sites": sites, "total": totals}


@dataclass(frozen=True)
class StockFilter:
    site: str | None = None
    region: str | None = None
    category: str | None = None
    q: str | None = None
    scope: Scope = None  # the sites the reader may see


_PAST_ALL_SITES = "\U0010ffff"  # a cursor after every site of its SKU


def _sku_window(flt: StockFilter, after: tuple[str, str] | None, size: int) -> Select[Any]:
    """The next ``size`` SKUs by code that pass the filter and may still have rows after the
    cursor: the only SKUs a page of the network list can show."""
    query = select(Sku.id, Sku.code)
    if flt.category:
        query = query.where(Sku.category_id.in_(select(Category.id).where(Category.code == flt.category)))
    if flt.q:
        like = f"%{flt.q.strip()}%"
        query = query.where(or_(Sku.code.ilike(like), Sku.name.ilike(like), Sku.name_en.ilike(like)))
    if after is not None:
        sku_code, site_code = after
        query = query.where(Sku.code > sku_code if site_code == _PAST_ALL_SITES else Sku.code >= sku_code)
    return query.order_by(Sku.code).limit(size)


_WINDOW_IDS: Any = bindparam("window_ids", expanding=True)
_LISTED_IDS = 1_000  # a larger window is passed as its query, not as a list of ids


def _member_of(ids: Any) -> Callable[[Any], Any]:
    return lambda sku_id: sku_id.in_(ids)


def network(session: Session, flt: StockFilter, *, limit: int = 50,
            after: tuple[str, str] | None = None) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """The network stock list, one row per SKU × site, keyset-paginated on (sku code, site code).

    A page aggregates only a window of SKUs, as many as the page has rows (each SKU with stock
    has at least one row), so reading page after page costs about the same as reading the list
    once; when a window yields too few rows (SKUs without stock, a site filter) the next one
    follows.
    """
    items: list[dict[str, Any]] = []
    while True:
        wanted = limit + 1 - len(items)
        window = _sku_window(flt, after, wanted)
        window_rows = session.execute(window).all()
        ids: Any = _WINDOW_IDS if wanted <= _LISTED_IDS else window.with_only_columns(Sku.id)
        figures = _figures(_member_of(ids))
        site = aliased(Location)
        query = (select(Sku.code, Sku.name, Sku.name_en, Sku.uom, site.code, site.region,
                        *[figures.c[name] for name in _SUMMED])
                 .join(Sku, Sku.id == figures.c.sku_id).join(site, site.id == figures.c.site_id))
        if flt.site:
            query = query.where(site.code == flt.site)
        if flt.region:
            query = query.where(site.region == flt.region)
        if flt.scope is not None:
            query = query.where(site.id.in_(flt.scope))
        if after:
            query = query.where(tuple_(Sku.code, site.code) > tuple_(literal(after[0]), literal(after[1])))
        params = {"window_ids": [sku_id for sku_id, _ in window_rows]} if ids is _WINDOW_IDS else {}
        rows = session.connection().execute(query.order_by(Sku.code, site.code).limit(wanted), params)
        items += [{"sku": r[0], "sku_name": r[1], "sku_name_en": r[2], "uom": r[3], "site": r[4],
                   "region": r[5], **_figures_of(r[6:])} for r in rows]
        if len(items) > limit:
            last = items[limit - 1]
            return items[:limit], (last["sku"], last["site"])
        if len(window_rows) < wanted:
            return items, None
        after = (window_rows[-1].code, _PAST_ALL_SITES)


def move_history(session: Session, sku_code: str, *, limit: int = 50, before_id: int | None = None,
                 scope: Scope = None) -> list[dict[str, Any]]:
    """A SKU's moves, newest first: who, when, what, why, which document (touching ``scope``)."""
    if session.scalar(select(Sku.id).where(Sku.code == sku_code)) is None:
        raise NotFound("No SKU {code}", code=sku_code)
    src, dst = aliased(Location), aliased(Location)
    query = (select(StockMove, src.code.label("src"), dst.code.label("dst"))
             .join(Sku, Sku.id == StockMove.sku_id).join(src, src.id == StockMove.from_location_id)
             .join(dst, dst.id == StockMove.to_location_id)
             .where(Sku.code == sku_code).order_by(StockMove.id.desc()).limit(limit))
    if before_id:
        query = query.where(StockMove.id < before_id)
    if scope is not None:
        query = query.where(or_(src.site_id.in_(scope), dst.site_id.in_(scope)))
    return [{"id": m.id, "ref": m.ref, "operation": m.operation, "qty": m.qty, "uom": m.uom,
             "from": s, "to": d, "from_status": m.from_status, "to_status": m.to_status,
             "lot": m.lot, "reason": m.reason, "operator": m.operator, "device": m.device,
             "document_type": m.document_type, "document_number": m.document_number,
             "occurred_at": m.occurred_at, "recorded_at": m.recorded_at}
            for m, s, d in session.execute(query)]




def _document_page(session: Session, query: Select[Any], model: Any, *, state: str | None,
                   q: str | None, limit: int, after: str | None,
                   to_item: Callable[..., dict[str, Any]], created: Any = None,
                   created_from: date | None = None, created_to: date | None = None
                   ) -> tuple[list[dict[str, Any]], str | None]:
    """What every document list shares: state filter, number search, creation dates (inclusive
    UTC days on ``created``, the creation time column), newest number first, keyset cursor on the
    number."""
    if created_from and created_to and created_from > created_to:
        raise ValidationFailed.single("created_to", "must not be before {start}", start=created_from)
    if state:
        query = query.where(model.state == state)
    if q:
        query = query.where(model.number.ilike(f"%{q.strip()}%"))
    column = model.created_at if created is None else created
    if created_from:
        query = query.where(column >= _day_start(created_from))
    if created_to:
        query = query.where(column < _day_start(created_to + timedelta(days=1)))
    if after:
        query = query.where(model.number < after)
    rows = session.execute(query.order_by(model.number.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    return [to_item(*r) for r in page], (page[-1][0].number if len(rows) > limit else None)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def transfers(session: Session, *, state: str | None = None, site: str | None = None,
              q: str | None = None, limit: int = 50, after: str | None = None,
              created_from: date | None = None, created_to: date | None = None,
              scope: Scope = None) -> tuple[list[dict[str, Any]], str | None]:
    """Transfer orders; ``site`` matches either end, and so does ``scope``."""
    src, dst = aliased(Location), aliased(Location)
    query = (select(TransferOrder, src.code, dst.code)
             .join(src, src.id == TransferOrder.source_site_id)
             .join(dst, dst.id == TransferOrder.dest_site_id))
    if site:
        query = query.where(or_(src.code == site, dst.code == site))
    if scope is not None:
        query = query.where(or_(TransferOrder.source_site_id.in_(scope),
                                TransferOrder.dest_site_id.in_(scope)))
    return _document_page(session, query, TransferOrder, state=state, q=q, limit=limit, after=after,
                          created_from=created_from, created_to=created_to,
                          to_item=lambda t, s, d: {
                              "number": t.number, "state": t.state, "source": s, "dest": d,
                              "version": t.version, "expected_arrival": t.expected_arrival,
                              "created_at": t.created_at, "shipped_at": t.shipped_at,
                              "received_at": t.received_at})


def purchases(session: Session, *, state: str | None = None, site: str | None = None,
              supplier: str | None = None, q: str | None = None, limit: int = 50,
              after: str | None = None, created_from: date | None = None,
              created_to: date | None = None,
        scope: Scope = None) -> tuple[list[dict[str, Any]], str | None]:
    query = (select(PurchaseOrder, Location.code, Supplier.code)
             .join(Location, Location.id == PurchaseOrder.site_id)
             .join(Supplier, Supplier.id == PurchaseOrder.supplier_id))
    if site:
        query = query.where(Location.code == site)
    if supplier:
        query = query.where(Supplier.code == supplier)
    if scope is not None:
        query = query.where(PurchaseOrder.site_id.in_(scope))
    return _document_page(session, query, PurchaseOrder, state=state, q=q, limit=limit, after=after,
                          created_from=created_from, created_to=created_to,
                          to_item=lambda p, site_code, sup: {
                              "number": p.number, "state": p.state, "supplier": sup,
                              "site": site_code, "currency": p.currency,
                              "expected_date": p.expected_date, "version": p.version,
                              "created_at": p.created_at})


def sales_orders(session: Session, *, state: str | None = None, site: str | None = None,
                 customer: str | None = None, q: str | None = None, limit: int = 50,
                 after: str | None = None, created_from: date | None = None,
                 created_to: date | None = None,
        scope: Scope = None) -> tuple[list[dict[str, Any]], str | None]:
    query = (select(SalesOrder, Location.code, Customer.code)
             .join(Location, Location.id == SalesOrder.site_id)
             .join(Customer, Customer.id == SalesOrder.customer_id))
    if site:
        query = query.where(Location.code == site)
    if customer:
        query = query.where(Customer.code == customer)
    if scope is not None:
        query = query.where(SalesOrder.site_id.in_(scope))
    return _document_page(session, query, SalesOrder, state=state, q=q, limit=limit, after=after,
                          created_from=created_from, created_to=created_to,
                          to_item=lambda o, site_code, cust: {
                              "number": o.number, "state": o.state, "customer": cust,
                              "site": site_code, "channel": o.channel, "currency": o.currency,
                              "version": o.version, "created_at": o.created_at})


def stock_counts(session: Session, *, state: str | None = None, site: str | None = None,
                 q: str | None = None, limit: int = 50, after: str | None = None,
                 created_from: date | None = None, created_to: date | None = None
                 ,
        scope: Scope = None) -> tuple[list[dict[str, Any]], str | None]:
    """Stock counts; a count is created when its snapshot is taken."""
    query = select(StockCount, Location.code).join(Location, Location.id == StockCount.site_id)
    if site:
        query = query.where(Location.code == site)
    if scope is not None:
        query = query.where(StockCount.site_id.in_(scope))
    return _document_page(session, query, StockCount, state=state, q=q, limit=limit, after=after,
                          created=StockCount.snapshot_at, created_from=created_from,
                          created_to=created_to,
                          to_item=lambda c, site: {
                              "number": c.number, "state": c.state, "site": site,
                              "blind": c.blind, "snapshot_at": c.snapshot_at,
                              "posted_at": c.posted_at})


# Document resources and where their sites are: a document is seen at any of its sites.
DOCUMENT_SITES: dict[str, tuple[Any, ...]] = {
    "transfer": (TransferOrder, TransferOrder.source_site_id, TransferOrder.dest_site_id),
    "purchase": (PurchaseOrder, PurchaseOrder.site_id),
    "sales": (SalesOrder, SalesOrder.site_id),
    "count": (StockCount, StockCount.site_id),
    "scrap": (),
}


def scrap_sites(session: Session, number: str) -> list[int] | None:
    """A scrap's site, from its moves or, while held for approval, its request."""
    sites = session.scalars(
        select(Location.site_id).join(StockMove, StockMove.from_location_id == Location.id)
        .where(StockMove.document_type == "scrap", StockMove.document_number == number)
        .distinct()).all()
    held = session.scalar(select(HeldDocument.site_id).where(
        HeldDocument.document_type == "scrap", HeldDocument.number == number))
    return [s for s in sites if s is not None] or ([held] if held else None)


def document_sites(uow: Any, resource: str, number: str) -> list[int] | None:
    """The sites of a document (None: no such document)."""
    with uow:
        if resource == "scrap":
            return scrap_sites(uow.session, number)
        model, *columns = DOCUMENT_SITES[resource]
        row = uow.session.execute(select(*columns).where(model.number == number)).first()
        return None if row is None else list(row)


def site_of(uow: Any, code: str) -> int | None:
    """The site a location code belongs to (None: unknown or virtual)."""
    with uow:
        site: int | None = uow.session.scalar(select(Location.site_id).where(Location.code == code))
        return site


def ref_sites(uow: Any, kind: str, ref: str) -> list[int]:
    """The sites a posting (``kind`` "posting") or a reservation ("reservation") touches."""
    with uow:
        if kind == "posting":
            ends = [select(Location.site_id).join(StockMove, column == Location.id)
                    .where(StockMove.ref == ref)
                    for column in (StockMove.from_location_id, StockMove.to_location_id)]
            query: Any = union_all(*ends)
        else:
            query = (select(Location.site_id).join(Reservation, Reservation.location_id == Location.id)
                     .where(Reservation.ref == ref))
        return sorted({s for s in uow.session.scalars(query) if s is not None})


def all_figures(session: Session) -> list[tuple[int, int, dict[str, Decimal]]]:
    """Every figure of every SKU × site holding, expecting or owing stock: (sku_id, site_id,
    figures), for the planning run."""
    figures = _figures(lambda _sku_id: literal(True))
    return [(sku_id, site_id, _figures_of(units)) for sku_id, site_id, *units in session.execute(
        select(figures.c.sku_id, figures.c.site_id, *[figures.c[n] for n in _SUMMED]))]
