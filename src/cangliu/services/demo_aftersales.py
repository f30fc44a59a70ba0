"""The demo's after-sales: a three-level product (battery cells in lots → battery packs → e-bikes)
made on work orders, two e-bikes sold, one repaired with its pack replaced, a recall from one
cell lot that finds and holds the right e-bikes, and a repair of the serial journey's unit."""

from datetime import datetime
from typing import Any, Final

from sqlalchemy import select

from cangliu.core.permissions import Actor
from cangliu.db.models import Customer, Serial, Sku
from cangliu.db.uow import Database
from cangliu.services import masterdata, recalls, repairs, sales, stock, work_orders
from cangliu.services.demo_serials import WAREHOUSE
from cangliu.services.postings import Meta
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.stock import Line
from cangliu.services.work_orders import Component

CELL, PACK, BIKE = "CELL-21700", "PACK-48V", "EBIKE-S1"
LOTS: Final = ("CL-2611A", "CL-2611B")
CELLS_PER_PACK: Final = 13
PRODUCTS: Final = (
    (CELL, "锂电芯 21700", "Li-ion cell 21700", "lot"),
    (PACK, "48V 电池组", "48V battery pack", "serial"),
    (BIKE, "电动自行车 S1", "E-bike S1", "serial"),
)


def load(db: Database, admin: Actor, now: datetime, journey: str | None) -> dict[str, Any]:
    """Needs the demo network; answers the documents made and what the recall found."""
    def uow() -> Any:
        return db.uow(clock=lambda: now)

    meta = Meta(admin, reason="演示：生产、维修与召回 / demo: production, repair and recall")
    for code, name, name_en, tracking in PRODUCTS:
        masterdata.create(uow(), admin, "sku", {"code": code, "name": name, "name_en": name_en,
                                                 "category": "DIGI", "tracking": tracking,
                                                 "warranty_days": 730})
    stock.receive(uow(), meta, site=WAREHOUSE, lines=[
        Line(CELL, "60", lot=lot, unit_cost="18") for lot in LOTS])
    # Packs: three from each cell lot, plus a spare from the second one.
    packs = [_make(uow, meta, PACK, 3, [Component(CELL, 3 * CELLS_PER_PACK, lot=LOTS[0])]),
             _make(uow, meta, PACK, 4, [Component(CELL, 4 * CELLS_PER_PACK, lot=LOTS[1])])]
    pack_codes = [c for made in packs for c in made["serials"]]
    spare = pack_codes.pop()
    bikes = _make(uow, meta, BIKE, len(pack_codes), [Component(PACK, serials=pack_codes)])
    with db.read() as s:
        customer = s.scalars(select(Customer.code).order_by(Customer.code).limit(1)).one()
    bike_codes = bikes["serials"]
    sold = [bike_codes[0], bike_codes[-1]]  # one with a pack of each cell lot
    sales.set_customer_price(uow(), admin, customer=customer, sku=BIKE, price="3299")
    so = sales.create_sale(uow(), meta, customer=customer, site=WAREHOUSE,
                           lines=[SalesLineIn(BIKE, "2", "3299")])["number"]
    sales.confirm_sale(uow(), meta, number=so)
    sales.ship_sale(uow(), meta, number=so, lines=[LineQty(1, "2", serials=sold)])

    # The customer's e-bike with a second-lot pack loses range: its pack is swapped.
    old_pack = _pack_of(db, sold[1])
    ticket = repairs.open_ticket(uow(), meta, serial=sold[1], fault="续航明显下降 / range drops",
                                 fault_code="BATTERY", site=WAREHOUSE)
    ticket = repairs.add_action(uow(), meta, number=ticket["number"],
                                version=ticket["version"], kind="replace_part",
                                note="更换电池组 / pack replaced", old_serial=old_pack,
                                new_serial=spare, old_part_fate="returned")
    ticket = repairs.close_ticket(uow(), meta, number=ticket["number"], version=ticket["version"],
                                  outcome="repaired", resolution="电池组已更换 / pack replaced")
    tickets = [ticket["number"]]
    if journey:
        opened = repairs.open_ticket(uow(), meta, serial=journey, fault="无法开机 / won't power on",
                                     fault_code="POWER", site=WAREHOUSE)
        fixed = repairs.add_action(uow(), meta, number=opened["number"],
                                   version=opened["version"], kind="repair",
                                   note="更换电源开关 / power switch fixed")
        tickets.append(repairs.close_ticket(uow(), meta, number=opened["number"],
                                            version=fixed["version"], outcome="repaired",
                                            resolution="已修复 / fixed")["number"])

    recall = recalls.create(uow(), meta, sku=CELL, lot=LOTS[0],
                            reason="电芯批次 CL-2611A 内阻异常 / cell lot CL-2611A out of spec")
    held = recalls.hold(uow(), meta, recall["number"])
    return {"work_orders": [p["number"] for p in packs] + [bikes["number"]], "sales_order": so,
            "repairs": tickets, "recall": recall["number"], "recalled": recall["unit_count"],
            "held": held["held_count"], "sold": sold}


def _make(uow: Any, meta: Meta, sku: str, qty: int, components: list[Component]
          ) -> dict[str, Any]:
    """A work order at the central warehouse, completed: its number and finished serials."""
    order = work_orders.create(uow(), meta, sku=sku, site=WAREHOUSE, qty=qty, line="L1",
                               components=components)
    done = work_orders.complete(uow(), meta, number=order["number"])
    return {"number": done["number"], "serials": done["serials"]}


def _pack_of(db: Database, bike: str) -> str:
    with db.read() as s:
        parent = select(Serial.id).where(Serial.code == bike).scalar_subquery()
        return s.scalars(select(Serial.code).join(Sku, Sku.id == Serial.sku_id).where(
            Serial.parent_id == parent, Sku.code == PACK)).one()

