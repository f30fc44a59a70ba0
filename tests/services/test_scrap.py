"""Scrap: a numbered write-off with a reason code, from damaged stock by default."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from cangliu.core.errors import InsufficientStock, ValidationFailed
from cangliu.core.ledger import StockStatus
from cangliu.db.queries import move_history, single_view
from cangliu.services import stock
from cangliu.services.scrap import scrap
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
