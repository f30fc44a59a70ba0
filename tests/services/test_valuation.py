"""Valuation through real postings: moving average, COGS, returns at their cost, value by site and date."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from cangliu.db.models import SkuCost, StockMove
from cangliu.services import masterdata, sales, stock, transfers
from cangliu.services.postings import Meta
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.stock import Line
from cangliu.services.transfers import ReceiptLineIn, TransferLineIn
from cangliu.services.valuation import inventory_value


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
