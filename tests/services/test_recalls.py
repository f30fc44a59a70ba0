"""Recalls: from a component lot, through the boards it went into, to the phones holding those
boards — not their siblings, not a phone whose board came out before — with customers for sold
phones and locations for those in stock; holding puts the phones in stock on quality hold once."""

from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from cangliu.core.errors import ValidationFailed
from cangliu.db.models import Customer, Notification, Serial, Sku, StockBalance
from cangliu.db.repositories import masterdata as md
from cangliu.services import assemblies, auth, masterdata, recalls, roles, serials, stock
from cangliu.services.stock import Line
from cangliu.services.verify import verify
from tests.conftest import PASSWORD


@pytest.fixture
def tree(db, network, meta):
    """Cell lot L1 in boards b0, b1, b3 (lot L2 in b2); board bi in phone pi; b3 taken out of
    p3 before the recall. p0, p2, p3 on the shelf at WH, p1 sold to customer C1."""
    for code, tracking in (("CELL", "lot"), ("BOARD", "serial"), ("PHONE", "serial")):
        masterdata.create(db.uow(), network, "sku", {"code": code, "name": code,
                                                      "tracking": tracking})
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    boards = serials.generate(db.uow(), network, sku="BOARD", count=4)["codes"]
    phones = serials.generate(db.uow(), network, sku="PHONE", count=4)["codes"]
    stock.receive(db.uow(), meta, site="WH", lines=[Line("PHONE", "4", unit_cost="100")])
    with db.uow() as uow:
        session = uow.session
        ids = session.scalars(select(Serial.id).where(Serial.code.in_(phones))).all()
        serials.record_event(session, ids, "received", at=uow.now(), operator="t",
                             site_id=md.site_by_code(session, "WH").id)
        cell = session.scalar(select(Sku).where(Sku.code == "CELL"))
        for board, lot in zip(boards, ("L1", "L1", "L2", "L1"), strict=True):
            parent = session.scalar(select(Serial).where(Serial.code == board))
            assemblies.install_lot(uow, meta, parent=parent, sku=cell, lot=lot, qty=Decimal(2))
        uow.commit()
    for board, phone in zip(boards, phones, strict=True):
        assemblies.install(db.uow(), meta, parent=phone, child=board)
    assemblies.remove(db.uow(), meta, child=boards[3], fate="scrapped", reason="cracked")
    stock.issue(db.uow(), meta, site="WH", lines=[Line("PHONE", "1")])
    with db.uow() as uow:  # p1 shipped to C1, as a sales order's shipment binds it
        p1 = uow.session.scalar(select(Serial.id).where(Serial.code == phones[1]))
        serials.record_event(uow.session, [p1], "shipped", at=uow.now(), operator="t")
        customer = uow.session.scalar(select(Customer.id).where(Customer.code == "C1"))
        uow.session.execute(update(Serial).where(Serial.id == p1).values(
            customer_id=customer, sales_order="SO-1", site_id=None, location_id=None))
        uow.commit()
    return boards, phones


def _held(db, sku):  # type: ignore[no-untyped-def]
    with db.read() as s:
        return {b.status: b.qty for b in s.scalars(select(StockBalance).join(
            Sku, Sku.id == StockBalance.sku_id).where(Sku.code == sku, StockBalance.qty != 0))}


def test_a_lot_recall_finds_exactly_the_units_holding_it(db, tree):
    boards, phones = tree
    with db.read() as s:
        rows = recalls.trace(s, "CELL", lot="L1")
    found = {r["serial"]: r for r in rows}
    assert set(found) == {boards[0], boards[1], boards[3], phones[0], phones[1]}
    top = {r["serial"] for r in rows if r["top"]}
    assert top == {phones[0], phones[1], boards[3]}  # b3 came out of p3: it is its own unit now
    assert found[phones[0]]["depth"] == 2 and found[boards[0]]["depth"] == 1
    assert found[phones[0]]["site"] == "WH" and found[phones[0]]["customer"] is None
    assert found[phones[1]]["customer"] == "C1" and found[phones[1]]["sales_order"] == "SO-1"
    assert found[phones[1]]["shipped_at"] is not None and found[phones[1]]["site"] is None
    with db.read() as s:
        by_serial = recalls.trace(s, "BOARD", serial=boards[2])
    assert [(r["serial"], r["depth"], r["top"]) for r in by_serial] == [
        (phones[2], 1, True), (boards[2], 0, False)]


@pytest.mark.parametrize(("args", "field"), [
    ({"sku": "NOPE", "lot": "L1"}, "sku"), ({"sku": "CELL", "lot": "L9"}, "lot"),
    ({"sku": "CELL"}, "lot"), ({"sku": "BOARD", "serial": "X"}, "serial")])
def test_a_trace_of_nothing_names_the_field(db, tree, args, field):
    with db.read() as s, pytest.raises(ValidationFailed) as failed:
        recalls.trace(s, **args)
    assert failed.value.errors[0].field == field


def test_holding_puts_stock_on_quality_hold_once_and_tells_the_owners(db, network, meta, tree):
    _boards, phones = tree
    ids = {}
    for name, role in (("alice", "clerk"), ("bob", "sales")):
        ids[name] = auth.create_user(db.uow(), username=name, password=PASSWORD).user_id
        roles.set_assignments(db.uow(), network, name, [{"role": role, "scope": "all"}])
    with pytest.raises(ValidationFailed) as failed:
        recalls.create(db.uow(), meta, sku="CELL", lot="L1", reason=" ")
    assert failed.value.errors[0].field == "reason"
    made = recalls.create(db.uow(), meta, sku="CELL", lot="L1", reason="cells swell")
    assert made["unit_count"] == 3
    assert _held(db, "PHONE") == {"available": 3}
    first = recalls.hold(db.uow(), meta, made["number"])
    assert first["held"] == 1 and first["posting"]
    assert first["not_held"] == {"sold": 1, "scrapped": 1}
    assert _held(db, "PHONE") == {"available": 2, "quality_hold": 1}
    again = recalls.hold(db.uow(), meta, made["number"])
    assert again["held"] == 0 and again["posting"] is None and again["held_count"] == 1
    assert verify(db.uow()).consistent
    with db.read() as s:
        notes = {(n.user_id, n.title) for n in s.scalars(select(Notification))}
        got = recalls.get_recall(s, made["number"])
        events = serials.get_serial(s, phones[0])["events"]
    on_hold = "Recall {number}: {count} units put on quality hold at {site}"
    sold = "Recall {number}: units sold to {customers} are affected"
    # The clerk posts stock at WH and sees sales; the salesperson sees sales only.
    assert notes == {(ids["alice"], on_hold), (ids["alice"], sold), (ids["bob"], sold)}
    assert events[-1]["kind"] == "status_changed" and events[-1]["detail"] == {
        "recall": made["number"]}
    held = {u["serial"]: u["held"] for u in got["units"]}
    assert held == {phones[0]: True, phones[1]: False, _boards[3]: False}
    recalls.close(db.uow(), meta, made["number"])
    with pytest.raises(Exception, match="closed"):
        recalls.hold(db.uow(), meta, made["number"])


def test_the_export_opens_with_a_row_per_unit(db, meta, tree):
    _boards, phones = tree
    made = recalls.create(db.uow(), meta, sku="CELL", lot="L1", reason="cells swell")
    with db.read() as s:
        data = recalls.export_xlsx(s, made["number"], lambda m: m)
    sheet = load_workbook(BytesIO(data)).active
    rows = [r for r in sheet.iter_rows(values_only=True)]
    header = rows.index(tuple(label for _k, label in recalls.EXPORT_COLUMNS))
    units = {r[0]: r for r in rows[header + 1:]}
    assert len(units) == 3 and units[phones[1]][6] == "C1" and units[phones[0]][4] == "WH"
