"""Work orders: completing one consumes the components into production and makes the finished
goods, valued at what went in, with each finished unit linked to its components; a refused
request writes nothing."""

from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select

from cangliu.core.errors import Conflict, ValidationFailed
from cangliu.db.models import AssemblyLink, Location, Serial, Sku, StockMove, WorkOrderComponent
from cangliu.db.repositories import masterdata as md
from cangliu.services import masterdata, serials, stock
from cangliu.services import work_orders as wo
from cangliu.services.stock import Line
from cangliu.services.verify import verify
from cangliu.services.work_orders import Component


@pytest.fixture
def parts(db, network, meta):
    """Four boards in stock at WH (10 each), milk lot L1 (1 each), and an empty PC SKU."""
    for code, name in (("BOARD", "主板"), ("PC", "整机")):
        masterdata.create(db.uow(), network, "sku", {"code": code, "name": name,
                                                      "tracking": "serial"})
    boards = serials.generate(db.uow(), network, sku="BOARD", count=4)["codes"]
    stock.receive(db.uow(), meta, site="WH", lines=[Line("BOARD", "4", unit_cost="10"),
                                                    Line("SKU-LOT", "10", lot="L1",
                                                         unit_cost="1")])
    with db.uow() as uow:  # bind the boards to the shelf as a receipt with serials would
        ids = uow.session.scalars(select(Serial.id).where(Serial.code.in_(boards))).all()
        serials.record_event(uow.session, ids, "received", at=uow.now(), operator="t",
                             site_id=md.site_by_code(uow.session, "WH").id)
        uow.commit()
    return boards


def _refused(match: str):  # type: ignore[no-untyped-def]
    return pytest.raises(ValidationFailed, check=lambda e: any(
        match in err.field or match in err.message.format(**err.params) for err in e.errors))


def test_completing_makes_serials_from_components_with_their_genealogy(db, meta, parts):
    order = wo.create(db.uow(), meta, sku="PC", site="WH", qty=2, components=[
        Component("BOARD", serials=parts[:2]), Component("SKU-LOT", qty="6", lot="L1")])
    assert order["status"] == "draft" and order["components"][0]["serials"] == parts[:2]
    done = wo.complete(db.uow(), meta, number=order["number"])
    assert done["status"] == "completed" and len(done["serials"]) == 2
    assert done["unit_cost"] == Decimal("13")  # (2 × 10 + 6 × 1) / 2
    with db.read() as s:
        net: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for sku, qty, src, dst in s.execute(
                select(Sku.code, StockMove.qty, StockMove.from_location_id,
                       StockMove.to_location_id).join(Sku, Sku.id == StockMove.sku_id)
                .where(StockMove.document_number == order["number"])):
            net[(sku, s.get_one(Location, src).kind)] -= qty
            net[(sku, s.get_one(Location, dst).kind)] += qty
        finished = [serials.get_serial(s, c) for c in done["serials"]]
        links = s.scalars(select(AssemblyLink).order_by(AssemblyLink.id)).all()
        used = s.scalars(select(WorkOrderComponent)).all()
        board = serials.get_serial(s, parts[0])
    assert {k: v for k, v in net.items() if k[1] == "production"} == {
        ("BOARD", "production"): 2, ("SKU-LOT", "production"): 6, ("PC", "production"): -2}
    for sku in ("BOARD", "SKU-LOT", "PC"):  # double entry: each SKU's moves sum to zero
        assert sum(v for k, v in net.items() if k[0] == sku) == 0
    assert all(f["status"] == "in_stock" and f["site"] == "WH" for f in finished)
    assert board["status"] == "installed" and board["parent"] == done["serials"][0]
    assert [(link.child_lot, link.qty) for link in links if link.child_serial_id is None] \
        == [("L1", Decimal(3)), ("L1", Decimal(3))]
    assert len([link for link in links if link.child_serial_id]) == 2
    assert sorted(u.qty for u in used) == [1, 1, 6]
    assert verify(db.uow()).consistent
    with pytest.raises(Conflict):
        wo.complete(db.uow(), meta, number=order["number"])


def test_a_lot_tracked_product_gets_a_lot_and_components_may_change_while_a_draft(db, meta,
                                                                                  parts):
    masterdata.create(db.uow(), meta.actor, "sku", {"code": "JAM", "name": "果酱",
                                                    "tracking": "lot"})
    order = wo.create(db.uow(), meta, sku="JAM", site="WH", qty="5")
    changed = wo.set_components(db.uow(), meta, number=order["number"], version=1,
                                components=[Component("SKU-LOT", qty="5"),
                                            Component("BOARD", serials=[parts[3]])])
    assert changed["version"] == 2
    done = wo.complete(db.uow(), meta, number=order["number"], lot="J-1")
    assert done["lot"] == "J-1" and done["unit_cost"] == Decimal("3")  # (5 + 10) / 5
    with db.read() as s:
        assert serials.get_serial(s, parts[3])["status"] == "installed"
    assert verify(db.uow()).consistent


def test_bad_components_are_refused_naming_the_field(db, meta, parts):
    with _refused("components[1].serials[0]"):  # a board is not a PC
        wo.create(db.uow(), meta, sku="BOARD", site="WH", qty=1,
                  components=[Component("SKU-LOT", qty=1), Component("PC", serials=parts[:1])])
    with _refused("is at WH, not at S1"):
        wo.create(db.uow(), meta, sku="PC", site="S1", qty=1,
                  components=[Component("BOARD", serials=parts[:1])])
    order = wo.create(db.uow(), meta, sku="PC", site="WH", qty=2,
                      components=[Component("BOARD", serials=parts[:3])])
    with _refused("give 2 per unit (4 in all)"):
        wo.complete(db.uow(), meta, number=order["number"])
    wo.complete(db.uow(), meta, number=wo.create(db.uow(), meta, sku="PC", site="WH", qty=1,
                components=[Component("BOARD", serials=parts[:1])])["number"])
    with _refused("is installed"):  # no longer in stock: the draft cannot be completed
        wo.complete(db.uow(), meta, number=order["number"])
    with db.read() as s:
        assert serials.get_serial(s, parts[1])["status"] == "in_stock"
    assert wo.cancel(db.uow(), meta, number=order["number"])["status"] == "cancelled"
    with db.read() as s:
        items, total = wo.list_work_orders(s, q="PC")
    assert total == 2 and [i["status"] for i in items] == ["completed", "cancelled"]
    assert verify(db.uow()).consistent
