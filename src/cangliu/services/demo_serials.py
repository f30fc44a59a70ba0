"""The demo's serials: a batch of serials (with printable labels) for every serial-tracked SKU at
the central warehouse, and one unit's journey — received on a purchase order, transferred to a
store, sold — so its timeline (/serials/{code}) shows every step."""

from datetime import datetime
from typing import Any, Final

from sqlalchemy import select

from cangliu.core.permissions import Actor
from cangliu.db.models import Customer, Sku, Supplier
from cangliu.db.uow import Database
from cangliu.services import purchasing, sales, serials, transfers
from cangliu.services.demo_approvals import sign_off
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.transfers import ReceiptLineIn, ShipSerialsIn, TransferLineIn

WAREHOUSE: Final = "WH-CENTRAL"
STORE: Final = "ST-SH01"
PER_SKU: Final = 20


def load(db: Database, admin: Actor, now: datetime) -> dict[str, Any]:
    """Needs the demo network; answers the batch count and the journey's serial."""
    def uow() -> Any:
        return db.uow(clock=lambda: now)

    with db.read() as s:
        skus = list(s.scalars(select(Sku.code).where(Sku.tracking == "serial", Sku.active)
                              .order_by(Sku.code)))
        supplier = s.scalars(select(Supplier.code).order_by(Supplier.code)).first()
        customer = s.scalars(select(Customer.code).order_by(Customer.code)).first()
    batches = [serials.generate(uow(), admin, sku=code, count=PER_SKU, site=WAREHOUSE)
               for code in skus]
    if not batches or supplier is None or customer is None:
        return {"batches": len(batches), "journey": None}
    sku, codes = skus[0], batches[0]["codes"][:2]
    meta = Meta(admin, reason="演示：一物一码 / demo: one code per unit")
    po = purchasing.create_purchase(uow(), meta, supplier=supplier, site=WAREHOUSE,
                                    lines=[PurchaseLineIn(sku, "2", "800")])["number"]
    purchasing.submit_purchase(uow(), meta, number=po)
    sign_off(db, admin, "purchase", po)
    purchasing.receive_purchase(uow(), meta, number=po, lines=[ReceiptIn(1, "2", serials=codes)])
    order = transfers.create_transfer(uow(), meta, source=WAREHOUSE, dest=STORE,
                                      lines=[TransferLineIn(sku, "2")])["number"]
    transfers.submit_transfer(uow(), meta, number=order)
    sign_off(db, admin, "transfer", order)
    transfers.ship_transfer(uow(), meta, number=order, lines=[ShipSerialsIn(1, codes)])
    transfers.receive_transfer(uow(), meta, number=order,
                               lines=[ReceiptLineIn(1, received="2", serials=codes)])
    so = sales.create_sale(uow(), meta, customer=customer, site=STORE,
                           lines=[SalesLineIn(sku, "1", "1299")])["number"]
    sales.confirm_sale(uow(), meta, number=so)
    sales.ship_sale(uow(), meta, number=so, lines=[LineQty(1, "1", serials=codes[:1])])
    return {"batches": len(batches), "journey": codes[0], "documents": [po, order, so]}
