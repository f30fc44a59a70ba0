"""Scrap: a numbered write-off with a reason code, from damaged stock by default."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from cangliu.core.errors import InsufficientStock, NotFound, ValidationFailed
from cangliu.core.ledger import StockStatus
from cangliu.db.queries import move_history, single_view
from cangliu.services import masterdata, sales, stock
from cangliu.services.postings import Meta
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.scrap import get_scrap, list_scraps, scrap
from cangliu.services.stock import Line
from cangliu.services.verify import verify


def test_damaged_stock_is_scrapped_under_a_numbered_document(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5")])
    stock.change_status(db.uow(), meta, site="WH", from_status=StockStatus.AVAILABLE,
                        to_status=StockStatus.DAMAGED, lines=[Line("SKU-1", "2")])
    result = scrap(db.uow(), meta, site="WH", reason_code="damaged", lines=[Line("SKU-1", "2")])
    assert result["number"] == f"SP-{datetime.now(UTC):%Y%m%d}-0001"
    assert result["moves"][0]["to"] == "@scrap"
    with db.read() as s:
        row = single_view(s, "SKU-1")["sites"][0]
        last = move_history(s, "SKU-1", limit=1)[0]
    assert (row["damaged"], row["available"]) == (Decimal(0), Decimal(3))
    assert (last["document_number"], last["reason"]) == (result["number"], "damaged: test")
    assert verify(db.uow()).consistent


def test_scrap_needs_a_known_reason_code_and_enough_stock(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5")])
    with pytest.raises(ValidationFailed) as err:
        scrap(db.uow(), meta, site="WH", reason_code="bored", lines=[Line("SKU-1", "1")])
    assert err.value.errors[0].field == "reason_code"
    with pytest.raises(InsufficientStock):  # nothing is damaged yet
        scrap(db.uow(), meta, site="WH", reason_code="damaged", lines=[Line("SKU-1", "1")])
    expired = scrap(db.uow(), meta, site="WH", reason_code="expired",
                    lines=[Line("SKU-1", "1")], from_status=StockStatus.AVAILABLE)
    assert expired["moves"][0]["from"] == "WH"


def _returned_to_quality_hold(db, meta, qty="3"):
    """A customer takes 5 and brings ``qty`` back: the returned units wait on quality hold."""
    masterdata.create(db.uow(), meta.actor, "customer", {"code": "C1", "name": "客户一"})
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5", unit_cost="2")])
    so = sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                           lines=[SalesLineIn("SKU-1", "5", "9")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    sales.ship_sale(db.uow(), meta, number=so["number"])
    sales.return_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, qty)])


def test_a_customer_return_on_quality_hold_is_scrapped_and_reads_back_as_a_document(db, meta):
    _returned_to_quality_hold(db, meta)
    posted = scrap(db.uow(), Meta(meta.actor, reason="broken seal"), site="WH", reason_code="quality",
                   lines=[Line("SKU-1", "2")], from_status=StockStatus.QUALITY_HOLD)
    with db.read() as s:
        row = single_view(s, "SKU-1")["sites"][0]
    assert (row["quality_hold"], row["available"], row["on_hand"]) == (Decimal(1), 0, Decimal(1))
    doc = get_scrap(db.uow(), posted["number"])
    assert {k: doc[k] for k in ("number", "site", "reason_code", "note", "from_status", "operator",
                                "reversed")} == {
        "number": posted["number"], "site": "WH", "reason_code": "quality", "note": "broken seal",
        "from_status": "quality_hold", "operator": "admin", "reversed": False}
    assert [(ln["sku"], ln["qty"], ln["location"]) for ln in doc["lines"]] == [("SKU-1", "2", "WH")]
    stock.reverse_posting(db.uow(), Meta(meta.actor, reason="mistake"), ref=posted["ref"])
    assert get_scrap(db.uow(), posted["number"])["reversed"] is True
    with pytest.raises(NotFound):
        get_scrap(db.uow(), "SP-19990101-0001")
    assert verify(db.uow()).consistent


def test_scrap_documents_are_listed_by_site_number_and_day(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "9")])
    stock.receive(db.uow(), meta, site="S1", lines=[Line("SKU-1", "9")])
    days = [datetime(2026, 3, d, 23, 30, tzinfo=UTC) for d in (1, 2, 3)]
    numbers = [scrap(db.uow(clock=lambda at=at: at), meta, site=site, reason_code="expired",
                     lines=[Line("SKU-1", "1")], from_status=StockStatus.AVAILABLE)["number"]
               for at, site in zip(days, ("WH", "S1", "WH"), strict=True)]
    assert numbers == ["SP-20260301-0001", "SP-20260302-0001", "SP-20260303-0001"]

    def listed(**kw):
        return [i["number"] for i in list_scraps(db.uow(), **kw)[0]]

    assert listed() == numbers[::-1]
    assert listed(site="WH") == [numbers[2], numbers[0]]
    assert listed(q="0302") == [numbers[1]]
    assert listed(created_from=date(2026, 3, 2), created_to=date(2026, 3, 2)) == [numbers[1]]
    assert listed(created_from=date(2026, 3, 2)) == [numbers[2], numbers[1]]
    page, cursor = list_scraps(db.uow(), limit=2)
    assert [i["number"] for i in page] == [numbers[2], numbers[1]] and cursor == numbers[1]
    assert listed(after=cursor) == [numbers[0]]
    assert page[0] | {"occurred_at": None} == {
        "number": numbers[2], "state": "posted", "site": "WH", "reason_code": "expired", "note": "test",
        "from_status": "available", "occurred_at": None, "operator": "admin"}
    with pytest.raises(ValidationFailed) as err:
        list_scraps(db.uow(), created_from=date(2026, 3, 3), created_to=date(2026, 3, 1))
    assert err.value.errors[0].field == "created_to"
