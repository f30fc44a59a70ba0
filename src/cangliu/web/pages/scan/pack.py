"""The scan pack: everything a phone needs to keep scanning at one site while offline — its
bins and stock, the open documents of the six scanning tasks and the SKUs they name."""

from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import NotFound
from cangliu.core.locations import LocationKind
from cangliu.core.permissions import Actor
from cangliu.db.models import (
    Barcode,
    Location,
    PurchaseOrder,
    SalesOrder,
    Sku,
    StockBalance,
    StockCount,
    TransferOrder,
)
from cangliu.db.uow import Database
from cangliu.services import counts, purchasing, sales, transfers
from cangliu.web.api.schemas import jsonable

LIMIT: Final = 200  # documents of one kind in a pack, oldest first
RECEIVABLE: Final = ("approved", "partially_received")
PICKABLE: Final = ("confirmed", "partially_shipped")
OUTBOUND: Final = ("approved",)
INBOUND: Final = ("shipped", "partially_received")
COUNTING: Final = ("counting",)

# Task → the permission that posts its operation at the site.
TASK_PERMISSIONS: Final = {"receive": "purchase.post", "putaway": "stock.create",
                           "pick": "sales.post", "ship": "transfer.post",
                           "transfer-receive": "transfer.post", "count": "count.edit"}


def site_row(session: Session, actor: Actor, code: str) -> Location:
    """The site, if it exists and the user sees stock there; otherwise 404 as if unknown."""
    site = session.scalar(select(Location).where(
        Location.code == code, Location.kind == LocationKind.SITE, Location.deleted_at.is_(None)))
    if site is None or not actor.can("stock.view", site.id):
        raise NotFound("No site {code}", code=code)
    return site


def _numbers(session: Session, model: Any, column: Any, site_id: int,
             states: tuple[str, ...]) -> list[str]:
    return list(session.scalars(select(model.number).where(column == site_id,
                                                           model.state.in_(states))
                                .order_by(model.number).limit(LIMIT)))


def _document_numbers(session: Session, actor: Actor, site_id: int) -> dict[str, list[str]]:
    """The open documents per task, only where the user may see that kind of document here."""
    def visible(permission: str, *query: Any) -> list[str]:
        return _numbers(session, *query) if actor.can(permission, site_id) else []

    return {
        "purchases": visible("purchase.view", PurchaseOrder, PurchaseOrder.site_id, site_id,
                             RECEIVABLE),
        "sales": visible("sales.view", SalesOrder, SalesOrder.site_id, site_id, PICKABLE),
        "outbound": visible("transfer.view", TransferOrder, TransferOrder.source_site_id,
                            site_id, OUTBOUND),
        "inbound": visible("transfer.view", TransferOrder, TransferOrder.dest_site_id, site_id,
                           INBOUND),
        "counts": visible("count.view", StockCount, StockCount.site_id, site_id, COUNTING),
    }


def _bins(session: Session, site_id: int) -> list[dict[str, str]]:
    rows = session.execute(select(Location.code, Location.name, Location.kind).where(
        Location.site_id == site_id, Location.kind.in_((LocationKind.BIN, LocationKind.ZONE)),
        Location.deleted_at.is_(None), Location.active.is_(True)).order_by(Location.code))
    return [{"code": c, "name": n, "kind": k} for c, n, k in rows]


def _stock(session: Session, site_id: int) -> list[dict[str, Any]]:
    """Available stock per bin and lot (reserved stock included: a picker takes it)."""
    rows = session.execute(
        select(Location.code, Sku.code, StockBalance.lot, StockBalance.qty)
        .join(Location, Location.id == StockBalance.location_id)
        .join(Sku, Sku.id == StockBalance.sku_id)
        .where(StockBalance.site_id == site_id, StockBalance.status == "available",
               StockBalance.qty > 0).order_by(Location.code, Sku.code, StockBalance.lot))
    return [{"bin": b, "sku": s, "lot": lot, "qty": q} for b, s, lot, q in rows]


def _skus(session: Session, codes: set[str]) -> list[dict[str, Any]]:
    skus = list(session.scalars(select(Sku).where(Sku.code.in_(sorted(codes)))))
    barcodes: dict[int, list[str]] = {}
    for sku_id, code in session.execute(select(Barcode.sku_id, Barcode.code).where(
            Barcode.sku_id.in_([s.id for s in skus]))):
        barcodes.setdefault(sku_id, []).append(code)
    return [{"code": s.code, "name": s.name, "name_en": s.name_en, "uom": s.uom,
             "decimals": s.decimals, "tracking": s.tracking,
             "barcodes": sorted(barcodes.get(s.id, []))} for s in skus]


def _documents(db: Database, numbers: dict[str, list[str]]) -> dict[str, list[dict[str, Any]]]:
    """Each open document as its REST answer (a blind count keeps its expected quantities)."""
    return {
        "purchases": [purchasing.get_purchase(db.uow(), n) for n in numbers["purchases"]],
        "sales": [sales.get_pick_list(db.uow(), n) for n in numbers["sales"]],
        "outbound": [transfers.get_transfer(db.uow(), n) for n in numbers["outbound"]],
        "inbound": [transfers.get_transfer(db.uow(), n) for n in numbers["inbound"]],
        "counts": [counts.get_count(db.uow(), n) for n in numbers["counts"]],
    }


def build(db: Database, actor: Actor, code: str, generated_at: str) -> dict[str, Any]:
    """The pack of site ``code`` as this user may see it (hidden fields taken out)."""
    with db.read() as session:
        site = site_row(session, actor, code)
        numbers = _document_numbers(session, actor, site.id)
        bins, stock = _bins(session, site.id), _stock(session, site.id)
    docs = _documents(db, numbers)
    codes = {row["sku"] for row in stock}
    codes |= {ln["sku"] for group in docs.values() for doc in group for ln in doc["lines"]}
    with db.read() as session:
        skus = _skus(session, codes)
    can = {task: actor.can(permission, site.id) for task, permission in TASK_PERMISSIONS.items()}
    answer: dict[str, Any] = actor.redact(jsonable({
        "site": {"code": site.code, "name": site.name, "name_en": site.name_en},
        "generated_at": generated_at, "can": can, "bins": bins, "stock": stock, "skus": skus,
        **docs}))
    return answer
