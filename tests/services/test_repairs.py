"""Repair tickets: a sold unit comes in under warranty, a part is replaced by serial (the old one
scrapped, the new one taken from stock and bound as a child) and the unit goes back to its
customer; a unit from the shelf is held while in repair; bad requests are named and change
nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cangliu.core.errors import Conflict, StaleVersion, ValidationFailed
from cangliu.db.models import Serial, Sku, StockBalance
from cangliu.db.repositories import masterdata as md
from cangliu.services import assemblies, masterdata, repairs, sales, serials, stock
from cangliu.services.sales import SalesLineIn, ShipLine
from cangliu.services.stock import Line
from cangliu.services.verify import verify


@pytest.fixture
def shop(db, network, meta):
    """Two routers and three boards on the shelf at WH (a fourth board never received); board 0
    sits in router 0, which was sold to C1."""
    for code, name in (("ROUTER", "路由器"), ("BOARD", "主板")):
        masterdata.create(db.uow(), network, "sku", {"code": code, "name": name,
                                                      "tracking": "serial"})
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    sales.set_customer_price(db.uow(), network, customer="C1", sku="ROUTER", price="300")
    routers = serials.generate(db.uow(), network, sku="ROUTER", count=2)["codes"]
    boards = serials.generate(db.uow(), network, sku="BOARD", count=4)["codes"]
    stock.receive(db.uow(), meta, site="WH", lines=[Line("ROUTER", "2", unit_cost="100"),
                                                    Line("BOARD", "3", unit_cost="20")])
    with db.uow() as uow:  # bound to the shelf as a receipt with serials would
        ids = uow.session.scalars(select(Serial.id).where(
            Serial.code.in_(routers + boards[:3]))).all()
        serials.record_event(uow.session, ids, "received", at=uow.now(), operator="t",
                             site_id=md.site_by_code(uow.session, "WH").id)
        uow.commit()
    assemblies.install(db.uow(), meta, parent=routers[0], child=boards[0])
    so = sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                           lines=[SalesLineIn("ROUTER", "1")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    sales.ship_sale(db.uow(), meta, number=so["number"],
                    lines=[ShipLine(1, "1", serials=[routers[0]])])
    return routers, boards


def _qty(db, sku: str, status: str = "available"):  # type: ignore[no-untyped-def]
    with db.read() as s:
        return sum(b.qty for b in s.scalars(select(StockBalance).join(
            Sku, Sku.id == StockBalance.sku_id).where(Sku.code == sku,
                                                      StockBalance.status == status)))


def _unit(db, code: str) -> dict:  # type: ignore[type-arg, no-untyped-def]
    with db.read() as s:
        return serials.get_serial(s, code)


def _refused(field: str, text: str):  # type: ignore[no-untyped-def]
    return pytest.raises(ValidationFailed, check=lambda e: any(
        x.field == field and text in x.message.format(**x.params) for x in e.errors))


def test_a_sold_unit_is_repaired_under_warranty_with_a_part_replaced(db, meta, shop):
    routers, boards = shop
    ticket = repairs.open_ticket(db.uow(), meta, serial=routers[0], fault="no power", site="WH")
    today = datetime.now(UTC).date()
    assert (ticket["warranty"], ticket["warranty_until"], ticket["customer"], ticket["status"]
            ) == ("in_warranty", today + timedelta(days=365), "C1", "open")
    assert _unit(db, routers[0])["status"] == "in_repair"
    number = ticket["number"]
    assert number.startswith("RP")
    step = repairs.add_action(db.uow(), meta, number=number, version=1, kind="diagnose",
                              note="power board dead")
    assert (step["status"], step["version"]) == ("in_progress", 2)
    assert _qty(db, "BOARD") == 2
    done = repairs.add_action(db.uow(), meta, number=number, version=2, kind="replace_part",
                              old_serial=boards[0], old_part_fate="scrapped",
                              new_serial=boards[1])
    assert _qty(db, "BOARD") == 1  # the new part left the shelf into the unit
    assert [c["serial"] for c in done["components"]] == [boards[1]]
    assert done["actions"][-1] | {"at": None} == {
        "at": None, "operator": "admin", "kind": "replace_part", "note": "",
        "old_serial": boards[0], "new_serial": boards[1], "old_part_fate": "scrapped"}
    assert _unit(db, boards[0])["status"] == "scrapped"
    assert (_unit(db, boards[1])["status"], _unit(db, boards[1])["parent"]) == (
        "installed", routers[0])
    closed = repairs.close_ticket(db.uow(), meta, number=number, version=3,
                                  outcome="repaired", resolution="board replaced")
    assert (closed["status"], closed["serial_status"]) == ("closed", "sold")
    assert closed["turnaround_seconds"] is not None and closed["closed_by"] == "admin"
    with pytest.raises(Conflict, match="is closed"):
        repairs.close_ticket(db.uow(), meta, number=number, version=4, outcome="repaired",
                             resolution="again")
    events = _unit(db, routers[0])["events"]
    assert [(e["kind"], e["document_number"]) for e in events][-4:] == [
        ("repair_opened", number), ("part_removed", number), ("part_installed", number),
        ("repair_closed", number)]
    assert verify(db.uow()).consistent


def test_warranty_runs_from_the_ship_date_for_the_skus_period(db, network, meta, shop):
    routers, _boards = shop
    later = datetime.now(UTC) + timedelta(days=400)
    late = repairs.open_ticket(db.uow(clock=lambda: later), meta, serial=routers[0],
                               fault="fan noise", site="WH")
    assert late["warranty"] == "out_of_warranty"
    repairs.cancel_ticket(db.uow(), meta, number=late["number"], version=1)
    assert _unit(db, routers[0])["status"] == "sold"
    sku = masterdata.get(db.uow(), "sku", "ROUTER")
    masterdata.update_record(db.uow(), network, "sku", "ROUTER", sku["version"],
                             {"warranty_days": 0})
    none = repairs.open_ticket(db.uow(), meta, serial=routers[0], fault="fan", site="WH")
    assert (none["warranty"], none["warranty_until"]) == ("unknown", None)
    with db.read() as s:
        assert repairs.check_unit(s, routers[1], today=later.date())["warranty"] == "unknown"
        listed, _ = repairs.list_tickets(s, repairs.Filters(warranty="out_of_warranty"))
    assert [t["number"] for t in listed] == [late["number"]]


def test_a_unit_from_the_shelf_is_held_while_in_repair(db, meta, shop):
    routers, _boards = shop
    assert (_qty(db, "ROUTER"), _qty(db, "ROUTER", "quality_hold")) == (1, 0)
    first = repairs.open_ticket(db.uow(), meta, serial=routers[1], fault="dented")
    assert (first["site"], first["warranty"]) == ("WH", "unknown")
    assert (_qty(db, "ROUTER"), _qty(db, "ROUTER", "quality_hold")) == (0, 1)
    repairs.cancel_ticket(db.uow(), meta, number=first["number"], version=1)
    assert (_qty(db, "ROUTER"), _qty(db, "ROUTER", "quality_hold")) == (1, 0)
    assert _unit(db, routers[1])["status"] == "in_stock"
    second = repairs.open_ticket(db.uow(), meta, serial=routers[1], fault="dead")
    scrapped = repairs.close_ticket(db.uow(), meta, number=second["number"], version=1,
                                    outcome="scrapped", resolution="beyond repair")
    assert scrapped["serial_status"] == "scrapped"
    assert (_qty(db, "ROUTER"), _qty(db, "ROUTER", "quality_hold")) == (0, 0)
    assert verify(db.uow()).consistent


def test_bad_requests_are_refused_naming_why_and_change_nothing(db, meta, shop):
    routers, boards = shop
    with _refused("site", "name the service site"):
        repairs.open_ticket(db.uow(), meta, serial=routers[0], fault="x")
    assemblies.install(db.uow(), meta, parent=routers[1], child=boards[2])
    with db.uow() as uow:
        unit = uow.session.scalar(select(Serial).where(Serial.code == routers[1]))
        serials.record_event(uow.session, [unit.id], "transfer_out", at=uow.now(), operator="t")
        uow.commit()
    with _refused("serial", "only units sold, returned or in stock"):
        repairs.open_ticket(db.uow(), meta, serial=routers[1], fault="x", site="WH")
    number = repairs.open_ticket(db.uow(), meta, serial=routers[0], fault="x",
                                 site="WH")["number"]
    replace = {"number": number, "version": 1, "kind": "replace_part"}
    with _refused("new_serial", "is generated"):  # never received: not in stock
        repairs.add_action(db.uow(), meta, **replace, old_serial=boards[0],
                           old_part_fate="returned", new_serial=boards[3])
    with _refused("old_serial", "is not a part of"):
        repairs.add_action(db.uow(), meta, **replace, old_serial=boards[2],
                           old_part_fate="returned", new_serial=boards[1])
    with _refused("old_serial", "name the part that comes out"):
        repairs.add_action(db.uow(), meta, **replace, new_serial=boards[1])
    with pytest.raises(StaleVersion):
        repairs.add_action(db.uow(), meta, number=number, version=7, kind="note", note="hi")
    with db.read() as s:
        ticket = repairs.get_ticket(s, number)
    assert (ticket["version"], ticket["actions"], _qty(db, "BOARD")) == (1, [], 1)
    assert _unit(db, boards[0])["parent"] == routers[0]
