"""Purchase orders: price list defaults, on order, partial and repeated receipts, tolerance, QC hold,
editing a draft with its version, put-away suggestions and supplier returns."""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from cangliu.core.documents import IllegalTransition
from cangliu.core.errors import StaleVersion, ValidationFailed
from cangliu.core.ledger import Operation
from cangliu.db.models import (
    Location,
    OpenItem,
    PurchaseLine,
    Setting,
    Sku,
    StockBalance,
    StockMove,
)
from cangliu.db.queries import single_view
from cangliu.services import accounts, masterdata, purchasing, stock
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn, ReturnIn
from cangliu.services.putaway import suggest_putaway
from cangliu.services.valuation import inventory_value
from cangliu.services.verify import verify


@pytest.fixture
def supplier(db, network):
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    purchasing.set_supplier_price(db.uow(), network, supplier="SUP-1", sku="SKU-1", price="2.50")
    return "SUP-1"


def _wh(db, sku="SKU-1"):
    with db.read() as s:
        return {r["site"]: r for r in single_view(s, sku)["sites"]}.get("WH")


def _approved(db, meta, supplier, qty="10", **kw):
    po = purchasing.create_purchase(db.uow(), meta, supplier=supplier, site="WH",
                                    lines=[PurchaseLineIn("SKU-1", qty)], **kw)
    return purchasing.submit_purchase(db.uow(), meta, number=po["number"])


def test_open_purchase_quantities_show_as_on_order_until_received(db, meta, supplier):
    draft = purchasing.create_purchase(db.uow(), meta, supplier=supplier, site="WH",
                                       lines=[PurchaseLineIn("SKU-1", "10")])
    assert draft["lines"][0]["price"] == "2.5" and draft["total"] == "25.00"
    assert _wh(db) is None  # a draft is not on order yet
    po = purchasing.submit_purchase(db.uow(), meta, number=draft["number"])
    assert po["state"] == "approved" and _wh(db)["on_order"] == Decimal(10)
    part = purchasing.receive_purchase(db.uow(), meta, number=po["number"],
                                       lines=[ReceiptIn(1, "4")])
    assert part["state"] == "partially_received"
    wh = _wh(db)
    assert (wh["available"], wh["on_order"]) == (Decimal(4), Decimal(6))
    done = purchasing.receive_purchase(db.uow(), meta, number=po["number"],
                                       lines=[ReceiptIn(1, "6")])
    assert done["state"] == "received" and _wh(db)["on_order"] == Decimal(0)
    assert purchasing.close_purchase(db.uow(), meta, number=po["number"])["state"] == "closed"
    assert verify(db.uow()).consistent


def test_receiving_beyond_the_tolerance_is_refused_and_writes_nothing(db, meta, supplier):
    po = _approved(db, meta, supplier, "10")
    with pytest.raises(ValidationFailed) as err:
        purchasing.receive_purchase(db.uow(), meta, number=po["number"], lines=[ReceiptIn(1, "11")])
    assert err.value.errors[0].field == "lines[0].qty"
    assert _wh(db)["on_hand"] == Decimal(0)
    with db.uow() as uow:
        uow.session.add(Setting(key=purchasing.TOLERANCE_SETTING, value="10"))
        uow.commit()
    ok = purchasing.receive_purchase(db.uow(), meta, number=po["number"], lines=[ReceiptIn(1, "11")])
    assert ok["state"] == "received" and ok["lines"][0]["received_qty"] == "11"


def test_skus_needing_inspection_arrive_on_quality_hold(db, meta, supplier, network):
    masterdata.update_record(db.uow(), network, "sku", "SKU-1", 1, {"inspection": True})
    po = _approved(db, meta, supplier, "5")
    purchasing.receive_purchase(db.uow(), meta, number=po["number"], lines=[ReceiptIn(1, "5")])
    wh = _wh(db)
    assert (wh["available"], wh["quality_hold"]) == (Decimal(0), Decimal(5))


def test_foreign_currency_needs_a_rate_and_costs_in_base_currency(db, meta, supplier):
    with pytest.raises(ValidationFailed) as err:
        purchasing.create_purchase(db.uow(), meta, supplier=supplier, site="WH", currency="USD",
                                   lines=[PurchaseLineIn("SKU-1", "1", "3")])
    assert err.value.errors[0].field == "rate"
    po = purchasing.create_purchase(db.uow(), meta, supplier=supplier, site="WH", currency="USD",
                                    rate="7.1", lines=[PurchaseLineIn("SKU-1", "2", "3")])
    assert (po["total"], po["total_base"]) == ("6.00", "42.60")


def test_a_line_without_a_listed_price_needs_one(db, meta, supplier):
    with pytest.raises(ValidationFailed) as err:
        purchasing.create_purchase(db.uow(), meta, supplier=supplier, site="WH",
                                   lines=[PurchaseLineIn("SKU-KG", "1")])
    assert err.value.errors[0].field == "lines[0].price"


def test_cancelled_orders_take_no_receipts(db, meta, supplier):
    po = _approved(db, meta, supplier)
    purchasing.cancel_purchase(db.uow(), meta, number=po["number"])
    with pytest.raises(IllegalTransition):
        purchasing.receive_purchase(db.uow(), meta, number=po["number"], lines=[ReceiptIn(1, "1")])
    assert _wh(db) is None


# --- editing a draft ---------------------------------------------------------------------------

def test_a_draft_is_edited_with_its_version_and_lines_are_replaced_whole(db, meta, supplier, network):
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-2", "name": "供应商二"})
    draft = purchasing.create_purchase(db.uow(), meta, supplier=supplier, site="WH",
                                       lines=[PurchaseLineIn("SKU-1", "10")])
    edited = purchasing.update_purchase(
        db.uow(), meta, number=draft["number"], version=draft["version"], supplier="SUP-2",
        site="S1", currency="USD", rate="7.2", expected_date=datetime(2026, 12, 1).date(),
        lines=[PurchaseLineIn("SKU-KG", "2.5", "4"), PurchaseLineIn("SKU-1", "3", "1")])
    assert (edited["supplier"], edited["site"], edited["currency"], edited["rate"]) == (
        "SUP-2", "S1", "USD", "7.2")
    assert edited["expected_date"] == "2026-12-01" and edited["version"] == draft["version"] + 1
    assert [(ln["line_no"], ln["sku"], ln["qty"]) for ln in edited["lines"]] == [
        (1, "SKU-KG", "2.5"), (2, "SKU-1", "3")]
    assert (edited["total"], edited["total_base"]) == ("13.00", "93.60")
    back = purchasing.update_purchase(db.uow(), meta, number=draft["number"],
                                      version=edited["version"], currency="CNY")
    assert (back["currency"], back["rate"], back["supplier"]) == ("CNY", "1", "SUP-2")


def test_a_stale_or_invalid_edit_changes_nothing(db, meta, supplier):
    draft = purchasing.create_purchase(db.uow(), meta, supplier=supplier, site="WH",
                                       lines=[PurchaseLineIn("SKU-1", "10")])
    purchasing.update_purchase(db.uow(), meta, number=draft["number"], version=1,
                               lines=[PurchaseLineIn("SKU-1", "12")])
    with pytest.raises(StaleVersion) as stale:
        purchasing.update_purchase(db.uow(), meta, number=draft["number"], version=1,
                                   lines=[PurchaseLineIn("SKU-1", "99")])
    assert stale.value.current_version == 2 and stale.value.changed["lines"][0]["qty"] == "12"
    with pytest.raises(ValidationFailed) as err:
        purchasing.update_purchase(db.uow(), meta, number=draft["number"], version=2,
                                   currency="USD", lines=[PurchaseLineIn("SKU-1", "1")])
    assert err.value.errors[0].field == "rate"
    with pytest.raises(ValidationFailed) as err:
        purchasing.update_purchase(db.uow(), meta, number=draft["number"], version=2,
                                   lines=[PurchaseLineIn("SKU-1", "1"), PurchaseLineIn("NOPE", "1")])
    assert err.value.errors[0].field == "lines[1].sku"
    now = purchasing.get_purchase(db.uow(), draft["number"])
    assert now["version"] == 2 and [ln["qty"] for ln in now["lines"]] == ["12"]


def test_only_a_draft_can_be_edited(db, meta, supplier):
    po = _approved(db, meta, supplier)
    with pytest.raises(IllegalTransition) as err:
        purchasing.update_purchase(db.uow(), meta, number=po["number"], version=po["version"],
                                   lines=[PurchaseLineIn("SKU-1", "1")])
    assert err.value.params == {"number": po["number"], "state": "approved", "action": "edit"}
    assert purchasing.get_purchase(db.uow(), po["number"])["lines"][0]["qty"] == "10"


# --- put-away by free capacity -----------------------------------------------------------------

@pytest.fixture
def bins(db, network):
    """WH gets three more bins with a volume capacity; SKU-1 is a 2-litre box."""
    for code, litres in (("WH-A1", None), ("WH-B1", "40"), ("WH-B2", "100"), ("WH-B3", "30")):
        if litres:
            masterdata.create(db.uow(), network, "location", {
                "code": code, "name": code, "kind": "bin", "parent": "WH",
                "capacity_volume_l": Decimal(litres)})
    masterdata.update_record(db.uow(), network, "sku", "SKU-1", 1, {"volume_l": Decimal("2")})
    masterdata.update_record(db.uow(), network, "sku", "SKU-KG", 1, {"volume_l": Decimal("1")})
    return ["WH-B1", "WH-B2", "WH-B3"]


def test_putaway_prefers_bins_holding_the_sku_then_the_most_free_room(db, meta, bins):
    stock.receive(db.uow(), meta, site="WH", lines=[stock.Line("SKU-1", "5", bin="WH-B3"),
                                                     stock.Line("SKU-KG", "70", bin="WH-B2")])
    # B3 holds SKU-1 with 20 l free (10 boxes); then B1 (40 l, 20 boxes) beats B2 (30 l left).
    plan = suggest_putaway(db.uow(), site="WH", sku="SKU-1", qty="35")
    assert plan["placements"] == [{"bin": "WH-B3", "qty": "10"}, {"bin": "WH-B1", "qty": "20"},
                                  {"bin": "WH-B2", "qty": "5"}]
    assert plan["unplaced"] == "0"
    too_much = suggest_putaway(db.uow(), site="WH", sku="SKU-1", qty="50")
    assert too_much["unplaced"] == "5"  # WH-A1 has no capacity recorded: not proposed
    with pytest.raises(ValidationFailed) as err:
        suggest_putaway(db.uow(), site="WH", sku="SKU-1", qty="-1")
    assert err.value.errors[0].field == "qty"


def test_a_site_without_any_capacity_data_treats_its_bins_as_unlimited(db, meta):
    plan = suggest_putaway(db.uow(), site="WH", sku="SKU-1", qty="1000")
    assert plan["placements"] == [{"bin": "WH-A1", "qty": "1000"}]
    assert suggest_putaway(db.uow(), site="S1", sku="SKU-1", qty="3")["unplaced"] == "3"  # no bins


def test_open_lines_get_suggestions_that_share_the_room_and_receipts_go_to_the_chosen_bin(
        db, meta, supplier, bins, network):
    purchasing.set_supplier_price(db.uow(), network, supplier=supplier, sku="SKU-KG", price="1")
    po = purchasing.create_purchase(db.uow(), meta, supplier=supplier, site="WH",
                                    lines=[PurchaseLineIn("SKU-1", "30"),
                                           PurchaseLineIn("SKU-KG", "80")])
    assert purchasing.putaway_purchase(db.uow(), po["number"])["lines"] == []  # a draft
    purchasing.submit_purchase(db.uow(), meta, number=po["number"])
    lines = purchasing.putaway_purchase(db.uow(), po["number"])["lines"]
    # SKU-1 takes 60 of B2's 100 l, so SKU-KG (1 l) is offered B2's remaining 40 l, then B1.
    assert lines[0]["placements"] == [{"bin": "WH-B2", "qty": "30"}]
    assert lines[1]["placements"] == [{"bin": "WH-B1", "qty": "40"}, {"bin": "WH-B2", "qty": "40"}]
    purchasing.receive_purchase(db.uow(), meta, number=po["number"],
                                lines=[ReceiptIn(1, "30", bin="WH-B2")])
    assert _balances(db, "SKU-1") == {("WH-B2", "available"): Decimal(30)}
    rest = purchasing.putaway_purchase(db.uow(), po["number"])["lines"]
    assert [ln["line_no"] for ln in rest] == [2] and rest[0]["open_qty"] == "80"
    assert rest[0]["placements"][0] == {"bin": "WH-B1", "qty": "40"}
    with pytest.raises(ValidationFailed) as err:
        purchasing.receive_purchase(db.uow(), meta, number=po["number"],
                                    lines=[ReceiptIn(2, "1", bin="S2")])
    assert err.value.errors[0].field == "lines[0].bin"


def test_inspected_goods_wait_on_quality_hold_in_the_chosen_bin(db, meta, supplier, bins, network):
    masterdata.update_record(db.uow(), network, "sku", "SKU-1", 2, {"inspection": True})
    po = _approved(db, meta, supplier, "6")
    purchasing.receive_purchase(db.uow(), meta, number=po["number"],
                                lines=[ReceiptIn(1, "6", bin="WH-B1")])
    assert _balances(db, "SKU-1") == {("WH-B1", "quality_hold"): Decimal(6)}


def _balances(db, sku):
    with db.read() as s:
        rows = s.execute(select(Location.code, StockBalance.status, StockBalance.qty)
                         .join(Location, Location.id == StockBalance.location_id)
                         .join(Sku, Sku.id == StockBalance.sku_id)
                         .where(Sku.code == sku, StockBalance.qty != 0))
        return {(code, status): qty for code, status, qty in rows}


# --- supplier returns --------------------------------------------------------------------------

def _received(db, meta, supplier, *receipts, qty="10"):
    po = _approved(db, meta, supplier, qty)
    for r in receipts:
        purchasing.receive_purchase(db.uow(), meta, number=po["number"], lines=[ReceiptIn(1, r)])
    return po["number"]


def _payable(db):
    with db.read() as s:
        aged = accounts.aging(s, kind="payable", as_of=datetime.now(UTC).date())
    return aged[0]["total"] if aged else "0.00"


def test_a_supplier_return_gives_goods_back_and_reduces_the_payable(db, meta, supplier):
    number = _received(db, meta, supplier, "4", "6")
    assert _payable(db) == "25.00"
    done = purchasing.return_purchase(db.uow(), meta, number=number,
                                      lines=[ReturnIn(1, "5", reason="broken seals")])
    assert done["state"] == "received" and done["lines"][0]["returned_qty"] == "5"
    assert done["lines"][0]["open_qty"] == "0"  # a return does not reopen the order
    assert _wh(db)["available"] == Decimal(5) and _payable(db) == "12.50"
    with db.read() as s:
        moves = s.execute(select(StockMove.ref, StockMove.qty, StockMove.operation,
                                 StockMove.reason, StockMove.unit_cost)
                          .where(StockMove.document_number == number)
                          .order_by(StockMove.id)).all()
        sheet = accounts.statement(s, kind="payable", partner=supplier,
                                   start=datetime(2000, 1, 1).date(), end=datetime.now(UTC).date())
    receipts = [m for m in moves if m.operation == Operation.RECEIVE]
    returns = [m for m in moves if m.operation == Operation.SUPPLIER_RETURN]
    assert sum(m.qty for m in returns) == Decimal(5) and "broken seals" in returns[0].reason
    assert {m.unit_cost for m in returns} == {Decimal("2.5")}  # the average, here the one price
    assert receipts[0].ref != receipts[1].ref
    assert sorted(ln["amount"] for ln in sheet["lines"]) == ["-12.50", "10.00", "15.00"]
    assert sheet["closing"] == "12.50"
    assert verify(db.uow()).consistent


def test_each_returned_unit_names_the_receipt_it_gives_back_oldest_first(db, meta, supplier,
                                                                        monkeypatch):
    number = _received(db, meta, supplier, "4", "6")
    seen = []
    real = purchasing.post

    def spy(uow, doc, operation, moves, book, **kw):
        seen.extend((m.qty, m.cost_source) for m in moves)
        return real(uow, doc, operation, moves, book, **kw)

    monkeypatch.setattr(purchasing, "post", spy)
    with db.read() as s:
        first, second = s.scalars(select(StockMove.ref).where(StockMove.document_number == number)
                                  .order_by(StockMove.id)).all()
    purchasing.return_purchase(db.uow(), meta, number=number, lines=[ReturnIn(1, "3")])
    purchasing.return_purchase(db.uow(), meta, number=number, lines=[ReturnIn(1, "2")])
    # 4 came in first, 6 second: 3 + 1 give back the first receipt, the last unit the second.
    assert seen == [(Decimal(3), first), (Decimal(1), first), (Decimal(1), second)]


def test_returning_more_than_received_minus_returned_is_refused_and_writes_nothing(db, meta,
                                                                                   supplier):
    number = _received(db, meta, supplier, "4")
    purchasing.return_purchase(db.uow(), meta, number=number, lines=[ReturnIn(1, "3")])
    with pytest.raises(ValidationFailed) as err:
        purchasing.return_purchase(db.uow(), meta, number=number, lines=[ReturnIn(1, "2")])
    assert err.value.errors[0].field == "lines[0].qty"
    assert err.value.errors[0].params == {"number": number, "line": "1", "n": "1",
                                          "received": "4", "returned": "3"}
    with pytest.raises(ValidationFailed) as err:
        purchasing.return_purchase(db.uow(), meta, number=number, lines=[ReturnIn(7, "1")])
    assert err.value.errors[0].field == "lines[0].line_no"
    assert _wh(db)["available"] == Decimal(1) and _payable(db) == "2.50"
    assert purchasing.get_purchase(db.uow(), number)["lines"][0]["returned_qty"] == "3"


def test_goods_no_longer_in_stock_cannot_go_back(db, meta, supplier):
    number = _received(db, meta, supplier, "4")
    stock.issue(db.uow(), meta, site="WH", lines=[stock.Line("SKU-1", "3")])
    with pytest.raises(ValidationFailed) as err:
        purchasing.return_purchase(db.uow(), meta, number=number, lines=[ReturnIn(1, "2")])
    assert err.value.errors[0].field == "lines[0].qty"
    assert err.value.errors[0].params == {"number": number, "line": "1", "available": "1",
                                          "sku": "SKU-1", "state": "available", "location": "WH"}
    assert purchasing.get_purchase(db.uow(), number)["lines"][0]["returned_qty"] == "0"
    assert _payable(db) == "10.00"


def test_orders_without_receipts_or_cancelled_take_no_returns(db, meta, supplier):
    po = _approved(db, meta, supplier)
    assert "return" not in po["allowed_actions"]
    with pytest.raises(IllegalTransition) as err:
        purchasing.return_purchase(db.uow(), meta, number=po["number"], lines=[ReturnIn(1, "1")])
    assert err.value.params["action"] == "return" and err.value.params["state"] == "approved"
    purchasing.cancel_purchase(db.uow(), meta, number=po["number"])
    with pytest.raises(IllegalTransition) as err:
        purchasing.return_purchase(db.uow(), meta, number=po["number"], lines=[ReturnIn(1, "1")])
    assert err.value.params["state"] == "cancelled"


def test_rejected_goods_go_back_from_quality_hold_by_default(db, meta, supplier, network):
    masterdata.update_record(db.uow(), network, "sku", "SKU-1", 1, {"inspection": True})
    number = _received(db, meta, supplier, "5")
    stock.change_status(db.uow(), meta, site="WH", from_status=stock.StockStatus.QUALITY_HOLD,
                        to_status=stock.StockStatus.AVAILABLE, lines=[stock.Line("SKU-1", "2")])
    po = purchasing.return_purchase(db.uow(), meta, number=number, lines=[ReturnIn(1, "3")])
    assert "return" in po["allowed_actions"]
    wh = _wh(db)
    assert (wh["available"], wh["quality_hold"]) == (Decimal(2), Decimal(0))
    with pytest.raises(ValidationFailed) as err:
        purchasing.return_purchase(db.uow(), meta, number=number, lines=[ReturnIn(1, "1")])
    assert err.value.errors[0].params["state"] == "quality_hold"
    purchasing.return_purchase(db.uow(), meta, number=number,
                               lines=[ReturnIn(1, "1", from_status="available")])
    assert _wh(db)["available"] == Decimal(1)
    with pytest.raises(ValidationFailed) as err:
        purchasing.return_purchase(db.uow(), meta, number=number,
                                   lines=[ReturnIn(1, "1", from_status="damaged")])
    assert err.value.errors[0].field == "lines[0].from_status"


def test_a_return_from_a_named_bin_and_after_closing(db, meta, supplier, bins):
    po = _approved(db, meta, supplier, "10")
    purchasing.receive_purchase(db.uow(), meta, number=po["number"],
                                lines=[ReceiptIn(1, "6", bin="WH-B1"), ReceiptIn(1, "4", bin="WH-B2")])
    purchasing.close_purchase(db.uow(), meta, number=po["number"])
    purchasing.return_purchase(db.uow(), meta, number=po["number"],
                               lines=[ReturnIn(1, "4", bin="WH-B1")])
    assert _balances(db, "SKU-1") == {("WH-B1", "available"): Decimal(2),
                                      ("WH-B2", "available"): Decimal(4)}
    with pytest.raises(ValidationFailed) as err:
        purchasing.return_purchase(db.uow(), meta, number=po["number"],
                                   lines=[ReturnIn(1, "3", bin="WH-B1")])
    assert err.value.errors[0].params["location"] == "WH-B1"


def test_a_supplier_return_leaves_at_the_moving_average_and_is_not_a_sale(db, meta, supplier):
    stock.receive(db.uow(), meta, site="WH", lines=[stock.Line("SKU-1", "10", unit_cost="4")])
    number = _received(db, meta, supplier, "10")  # at 2.50: average (40 + 25) / 20 = 3.25
    purchasing.return_purchase(db.uow(), meta, number=number, lines=[ReturnIn(1, "4")])
    with db.read() as s:
        value = inventory_value(s)
        cost = s.scalar(select(StockMove.unit_cost).where(
            StockMove.operation == Operation.SUPPLIER_RETURN.value))
    assert cost == Decimal("3.25") and value == [{"site": "WH", "category": "FOOD",
                                                  "value": Decimal("52.00")}]
    assert _payable(db) == "15.00"  # the debit note is at the order's price: 4 × 2.50


def test_a_retried_return_posts_once(db, meta, supplier):
    number = _received(db, meta, supplier, "10")
    keyed = Meta(meta.actor, reason="qc", idempotency_key="ret-1")
    first = purchasing.return_purchase(db.uow(), keyed, number=number, lines=[ReturnIn(1, "4")])
    again = purchasing.return_purchase(db.uow(), keyed, number=number, lines=[ReturnIn(1, "4")])
    assert first == again and _wh(db)["available"] == Decimal(6)
    with db.read() as s:
        assert s.scalar(select(PurchaseLine.returned_qty)) == Decimal(4)
        notes = s.scalars(select(OpenItem.amount).where(OpenItem.amount < 0)).all()
    assert notes == [Decimal("-10.00")]


def test_two_clerks_returning_the_last_units_at_once_give_them_back_once(db, meta, supplier):
    number = _received(db, meta, supplier, "10")
    outcomes: list[str] = []
    barrier = threading.Barrier(3)

    def give_back():
        barrier.wait()
        try:
            purchasing.return_purchase(db.uow(), meta, number=number, lines=[ReturnIn(1, "6")])
            outcomes.append("returned")
        except ValidationFailed:
            outcomes.append("refused")

    threads = [threading.Thread(target=give_back) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "refused", "returned"]
    assert _wh(db)["available"] == Decimal(4) and _payable(db) == "10.00"
    assert verify(db.uow()).consistent


def test_a_return_after_paying_leaves_a_credit_on_the_statement(db, meta, supplier):
    number = _received(db, meta, supplier, "10")
    accounts.record_payment(db.uow(), meta, kind="payable", partner=supplier, amount="25",
                            paid_on=datetime.now(UTC).date())
    purchasing.return_purchase(db.uow(), meta, number=number, lines=[ReturnIn(1, "2")])
    with db.read() as s:
        sheet = accounts.statement(s, kind="payable", partner=supplier,
                                   start=datetime(2000, 1, 1).date(), end=datetime.now(UTC).date())
    assert sheet["closing"] == "-5.00"  # the supplier owes us for the goods sent back
    assert _payable(db) == "0.00"  # nothing left open to age


def test_under_fifo_a_supplier_return_leaves_from_its_own_receipt_layer(db, meta, supplier, network):
    masterdata.create(db.uow(), network, "category", {"code": "BULK", "name": "散货",
                                                       "valuation": "fifo"})
    masterdata.update_record(db.uow(), network, "sku", "SKU-1", 1, {"category": "BULK"})
    stock.receive(db.uow(), meta, site="WH", lines=[stock.Line("SKU-1", "10", unit_cost="4")])
    number = _received(db, meta, supplier, "10")  # the newer layer, at 2.50
    purchasing.return_purchase(db.uow(), meta, number=number, lines=[ReturnIn(1, "4")])
    with db.read() as s:
        cost = s.scalar(select(StockMove.unit_cost).where(
            StockMove.operation == Operation.SUPPLIER_RETURN.value))
        value = inventory_value(s)
    assert cost == Decimal("2.5")  # not the oldest layer's 4
    assert value == [{"site": "WH", "category": "BULK", "value": Decimal("55.00")}]


def test_a_foreign_price_times_its_rate_is_costed_to_the_millionth(db, meta, supplier):
    po = purchasing.create_purchase(db.uow(), meta, supplier=supplier, site="WH", currency="USD",
                                    rate="7.123457", lines=[PurchaseLineIn("SKU-1", "3", "1.234567")])
    purchasing.submit_purchase(db.uow(), meta, number=po["number"])
    purchasing.receive_purchase(db.uow(), meta, number=po["number"], lines=[ReceiptIn(1, "3")])
    with db.read() as s:
        cost = s.scalar(select(StockMove.unit_cost).where(StockMove.document_number == po["number"]))
    assert cost == Decimal("8.794385")  # 1.234567 × 7.123457 = 8.794384938…
    assert verify(db.uow()).consistent
