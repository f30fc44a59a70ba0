"""Valuation through real postings: moving average and FIFO, COGS, returns at their cost,
reversals, value by site and date."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from cangliu.core.errors import Conflict
from cangliu.core.ledger import Move
from cangliu.core.locations import LocationKind
from cangliu.db.models import Category, SkuCost, StockBalance, StockMove
from cangliu.db.models.ledger import CostLayer
from cangliu.db.repositories import masterdata as md
from cangliu.services import masterdata, sales, stock, transfers
from cangliu.services.postings import Book, Meta, post, transact
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.stock import Line
from cangliu.services.transfers import ReceiptLineIn, TransferLineIn
from cangliu.services.valuation import cost_differences, inventory_value
from cangliu.services.verify import verify

D = Decimal


def _position(db, sku_id=1):
    with db.read() as s:
        row = s.get(SkuCost, sku_id)
        return row.qty, row.value


def test_cogs_at_moving_average_and_returns_at_the_cost_they_left_with(db, meta, network):
    day1 = Meta(meta.actor, occurred_at=datetime(2026, 11, 1, tzinfo=UTC))
    stock.receive(db.uow(), day1, site="WH", lines=[Line("SKU-1", "10", unit_cost="2")])
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "10", unit_cost="4")])
    assert _position(db) == (Decimal(20), Decimal(60))
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户"})
    so = sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                           lines=[SalesLineIn("SKU-1", "5", "9")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    sales.ship_sale(db.uow(), meta, number=so["number"])
    with db.read() as s:
        issued = s.scalars(select(StockMove).where(StockMove.document_number == so["number"])).one()
    assert (issued.unit_cost, issued.value) == (Decimal(3), Decimal(15))  # COGS 15
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5", unit_cost="9")])
    sales.return_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, "1")])
    qty, value = _position(db)
    assert (qty, value) == (Decimal(21), Decimal(45 + 45 + 3))
    with db.read() as s:
        assert inventory_value(s) == [{"site": "WH", "category": "FOOD", "value": Decimal("93.00")}]
        assert inventory_value(s, at=datetime(2026, 11, 2, tzinfo=UTC)) == [
            {"site": "WH", "category": "FOOD", "value": Decimal("20.00")}]


def test_transfers_move_value_between_sites_and_an_empty_sku_is_worth_exactly_zero(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "3", unit_cost="1")])
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "3", unit_cost="2")])
    t = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                  lines=[TransferLineIn("SKU-1", "2")])
    transfers.submit_transfer(db.uow(), meta, number=t["number"])
    transfers.ship_transfer(db.uow(), meta, number=t["number"])
    transfers.receive_transfer(db.uow(), meta, number=t["number"], lines=[ReceiptLineIn(1, "2")])
    with db.read() as s:
        by_site = {r["site"]: r["value"] for r in inventory_value(s)}
    assert by_site == {"S1": Decimal("3.00"), "WH": Decimal("6.00")}
    stock.issue(db.uow(), meta, site="WH", lines=[Line("SKU-1", "4")])
    stock.issue(db.uow(), meta, site="S1", lines=[Line("SKU-1", "2")])
    assert _position(db) == (Decimal(0), Decimal(0))
    with db.read() as s:
        assert inventory_value(s) == []



# --- FIFO ----------------------------------------------------------------------------------------


@pytest.fixture
def fifo(db, network):
    """BOOK is valued first in, first out; BK-1 is its SKU (SKU-1 stays moving average)."""
    masterdata.create(db.uow(), network, "category", {"code": "BOOK", "name": "图书",
                                                      "valuation": "fifo"})
    masterdata.create(db.uow(), network, "sku", {"code": "BK-1", "name": "书", "category": "BOOK"})
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户"})
    with db.read() as s:
        return md.sku_by_code(s, "BK-1").id


def _on(meta, day):
    return Meta(meta.actor, occurred_at=datetime(2026, 11, day, tzinfo=UTC))


def _layers(db, sku_id):
    with db.read() as s:
        return [(r.qty, r.remaining, r.unit_cost, r.value) for r in s.scalars(
            select(CostLayer).where(CostLayer.sku_id == sku_id).order_by(CostLayer.id))]


def _posted(db, ref):
    with db.read() as s:
        return [(m.qty, m.unit_cost, m.value) for m in s.scalars(
            select(StockMove).where(StockMove.ref == ref).order_by(StockMove.id))]


def _sound(db):
    """The ledger replays to the balances, and every SKU's cost position matches its moves and,
    under FIFO, its layers."""
    assert verify(db.uow()).consistent
    with db.read() as s:
        assert cost_differences(s) == []


def test_fifo_shipment_takes_the_oldest_layers_and_a_customer_return_comes_back_at_its_cost(
        db, meta, fifo):
    stock.receive(db.uow(), _on(meta, 1), site="WH", lines=[Line("BK-1", "10", unit_cost="2")])
    stock.receive(db.uow(), _on(meta, 2), site="WH", lines=[Line("BK-1", "10", unit_cost="4")])
    assert _position(db, fifo) == (D(20), D(60))
    so = sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                           lines=[SalesLineIn("BK-1", "15", "9")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    sales.ship_sale(db.uow(), meta, number=so["number"])
    with db.read() as s:
        issued = s.scalars(select(StockMove).where(StockMove.document_number == so["number"])).one()
    # COGS: all 10 of the first receipt at 2 and 5 of the second at 4 — not 15 × average 3
    assert (issued.unit_cost, issued.value) == (D("2.666667"), D(40))
    assert _layers(db, fifo) == [(10, 0, 2, 0), (10, 5, 4, 20)]
    assert _position(db, fifo) == (D(5), D(20))

    sales.return_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, "3")])
    with db.read() as s:
        back = s.scalars(select(StockMove).where(StockMove.document_number == so["number"],
                                                 StockMove.id != issued.id)).one()
        layer = s.scalars(select(CostLayer).where(CostLayer.ref == back.ref)).one()
    assert back.unit_cost == D("2.666667") and layer.unit_cost == D("2.666667")
    assert (layer.remaining, layer.value) == (3, back.value) and back.value == D("8.000001")
    # the returned units are the newest layer: the next shipment still takes the 4s first
    stock.issue(db.uow(), meta, site="WH", lines=[Line("BK-1", "5")])
    assert _position(db, fifo) == (D(3), D("8.000001"))
    _sound(db)


def _return_to_supplier(db, meta, qty, receipt_ref):
    """A supplier-return-style posting: stock leaves to the supplier, naming the receipt it gives
    back (what ``services.purchasing`` does for a purchase order's return)."""
    uow = db.uow()

    def work():
        session = uow.session
        sku = md.sku_by_code(session, "BK-1")
        site = md.site_by_code(session, "WH")
        supplier = md.virtual(session, LocationKind.SUPPLIER)
        book = Book()
        book.sku(sku)
        return post(uow, meta, "supplier_return",
                    [Move(sku.id, D(qty), book.loc(site, site), book.loc(supplier, None),
                          unit_cost=D(99), cost_source=receipt_ref)], book)

    return transact(uow, meta, "supplier_return", {"ref": receipt_ref, "qty": qty}, work)


def test_a_return_to_the_supplier_leaves_from_its_receipts_own_layer(db, meta, fifo):
    stock.receive(db.uow(), _on(meta, 1), site="WH", lines=[Line("BK-1", "10", unit_cost="2")])
    second = stock.receive(db.uow(), _on(meta, 2), site="WH",
                           lines=[Line("BK-1", "10", unit_cost="5")])
    gone = _return_to_supplier(db, meta, "4", second["ref"])
    assert _posted(db, gone["ref"]) == [(4, 5, 20)]  # from the 5s, not the older 2s
    gone = _return_to_supplier(db, meta, "8", second["ref"])  # 6 left there, then oldest first
    assert _posted(db, gone["ref"]) == [(8, D("4.25"), D(34))]
    assert _layers(db, fifo) == [(10, 8, 2, 16), (10, 0, 5, 0)]
    _sound(db)


def test_reversing_a_receipt_removes_its_layer_and_reversing_a_shipment_puts_back_its_value(
        db, meta, fifo):
    stock.receive(db.uow(), _on(meta, 1), site="WH", lines=[Line("BK-1", "1", unit_cost="1")])
    stock.receive(db.uow(), _on(meta, 2), site="WH", lines=[Line("BK-1", "2", unit_cost="1.5")])
    extra = stock.receive(db.uow(), _on(meta, 3), site="WH", lines=[Line("BK-1", "4", unit_cost="7")])
    undone = stock.reverse_posting(db.uow(), meta, ref=extra["ref"])
    assert _posted(db, undone["ref"]) == [(4, 7, 28)]  # its own layer, though the oldest is at 1
    assert _position(db, fifo) == (D(3), D(4))
    shipped = stock.issue(db.uow(), meta, site="WH", lines=[Line("BK-1", "3")])
    assert _posted(db, shipped["ref"]) == [(3, D("1.333333"), D(4))]  # 1 + 2 × 1.5
    assert _position(db, fifo) == (D(0), D(0))
    back = stock.reverse_posting(db.uow(), meta, ref=shipped["ref"])
    assert _posted(db, back["ref"]) == [(3, D("1.333333"), D(4))]  # exactly 4, not 3.999999
    assert _position(db, fifo) == (D(3), D(4))
    assert _layers(db, fifo)[-1] == (3, 3, D("1.333333"), 4)
    _sound(db)


def test_inventory_value_by_site_and_category_at_a_past_date_with_fifo_and_moving_average(
        db, meta, fifo):
    stock.receive(db.uow(), _on(meta, 1), site="WH",
                  lines=[Line("BK-1", "10", unit_cost="2"), Line("SKU-1", "10", unit_cost="3")])
    stock.receive(db.uow(), _on(meta, 2), site="WH", lines=[Line("BK-1", "10", unit_cost="4")])
    moved = stock.move(db.uow(), _on(meta, 3), from_site="WH", to_site="S1",
                       lines=[Line("BK-1", "5")])
    assert _posted(db, moved["ref"]) == [(5, 2, 10)]  # the oldest cost travels, nothing consumed
    stock.issue(db.uow(), _on(meta, 4), site="S1", lines=[Line("BK-1", "5")])
    stock.issue(db.uow(), _on(meta, 4), site="WH", lines=[Line("SKU-1", "4")])

    def value(day):
        with db.read() as s:
            return {(r["site"], r["category"]): r["value"]
                    for r in inventory_value(s, at=datetime(2026, 11, day, 23, tzinfo=UTC))}

    assert value(1) == {("WH", "BOOK"): D(20), ("WH", "FOOD"): D(30)}
    assert value(2) == {("WH", "BOOK"): D(60), ("WH", "FOOD"): D(30)}
    assert value(3) == {("WH", "BOOK"): D(50), ("S1", "BOOK"): D(10), ("WH", "FOOD"): D(30)}
    # S1's sale takes the company's oldest layer (5 of the 10 at 2): S1 is back to zero
    assert value(4) == {("WH", "BOOK"): D(50), ("WH", "FOOD"): D(18)}
    assert _position(db, fifo) == (D(15), D(50))
    assert _layers(db, fifo) == [(10, 5, 2, 10), (10, 10, 4, 40)]
    with db.read() as s:
        sku_1 = md.sku_by_code(s, "SKU-1").id
        assert s.scalar(select(CostLayer.id).where(CostLayer.sku_id == sku_1)) is None
    assert _position(db, sku_1) == (D(6), D(18))
    _sound(db)


def test_fifo_refuses_to_ship_stock_the_company_never_received_and_writes_nothing(db, meta, fifo):
    stock.receive(db.uow(), meta, site="S2", lines=[Line("BK-1", "2", unit_cost="3")])
    with pytest.raises(Conflict) as refused:
        stock.issue(db.uow(), meta, site="S2", lines=[Line("BK-1", "3")])  # S2 may go negative
    assert "BK-1" in str(refused.value) and "2" in refused.value.params["held"]
    with db.read() as s:
        assert s.scalar(select(StockBalance.qty).where(StockBalance.sku_id == fifo)) == 2
    assert _position(db, fifo) == (D(2), D(6))
    _sound(db)


def test_a_sku_whose_method_changed_under_it_starts_fifo_from_one_opening_layer(db, meta, fifo):
    with db.uow() as uow:  # as if a posting raced the switch: stock valued by moving average
        uow.session.execute(update(Category).where(Category.code == "BOOK")
                            .values(valuation="moving_average"))
        uow.commit()
    stock.receive(db.uow(), meta, site="WH", lines=[Line("BK-1", "4", unit_cost="2"),
                                                    Line("BK-1", "2", unit_cost="5")])
    with db.uow() as uow:
        uow.session.execute(update(Category).where(Category.code == "BOOK").values(valuation="fifo"))
        uow.commit()
    stock.receive(db.uow(), meta, site="WH", lines=[Line("BK-1", "1", unit_cost="10")])
    assert _layers(db, fifo) == [(6, 6, 3, 18), (1, 1, 10, 10)]  # the average of 4 × 2 + 2 × 5
    shipped = stock.issue(db.uow(), meta, site="WH", lines=[Line("BK-1", "7")])
    assert _posted(db, shipped["ref"]) == [(7, 4, 28)]
    _sound(db)


def test_concurrent_shipments_of_a_fifo_sku_consume_each_layer_slice_once(db, meta, fifo):
    # Two sites, so the balances do not queue the clerks: only the SKU's cost lock does.
    stock.receive(db.uow(), _on(meta, 1), site="WH", lines=[Line("BK-1", "10", unit_cost="1")])
    stock.receive(db.uow(), _on(meta, 2), site="S1", lines=[Line("BK-1", "10", unit_cost="3")])
    start = threading.Barrier(8)

    def clerk(i):
        start.wait()
        return stock.issue(db.uow(), meta, site=("WH", "S1")[i % 2],
                           lines=[Line("BK-1", "2")])["ref"]

    with ThreadPoolExecutor(8) as pool:
        refs = list(pool.map(clerk, range(8)))
    cogs = sum(value for ref in refs for _qty, _cost, value in _posted(db, ref))
    assert cogs == 10 * 1 + 6 * 3  # the 1s once, then the 3s
    assert _position(db, fifo) == (D(4), D(12))
    assert _layers(db, fifo) == [(10, 0, 1, 0), (10, 4, 3, 12)]
    _sound(db)
