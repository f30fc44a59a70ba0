"""Lot codes on receipt: a lot-tracked SKU received without a lot gets one from its lot rule
(the SKU's or its category's), registered with its expiry; without a rule the lot stays required."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from cangliu.core.errors import ValidationFailed
from cangliu.db.models import Lot, SerialCounter, StockBalance
from cangliu.services import masterdata, purchasing, serials, stock
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn

DAY = date(2026, 11, 23)


def at(day: date = DAY):  # type: ignore[no-untyped-def]
    return lambda: datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


@pytest.fixture
def yogurt(db, network):
    """SKU-LOT has a lot rule of its own; YOGURT (category FOOD) follows its category's rule."""
    serials.create(db.uow(), network, code="MILK-LOT", name="牛奶批次", kind="lot",
                   template="M{date:YYMMDD}{site}{seq:3:daily}", sku="SKU-LOT")
    serials.create(db.uow(), network, code="FOOD-LOT", name="食品批次", kind="lot",
                   template="{cat}-{sku}-{seq:4}", category="FOOD")
    masterdata.create(db.uow(), network, "sku", {"code": "YOGURT", "name": "酸奶", "tracking": "lot",
                                                 "category": "FOOD", "shelf_life_days": 21})
    return network


def lots(db, sku_code: str) -> dict[str, tuple[date | None, date | None]]:
    with db.read() as s:
        sku = serials.rules.sku_named(s, sku_code)
        rows = s.execute(select(Lot.code, Lot.production_date, Lot.expiry_date)
                         .where(Lot.sku_id == sku.id)).all()
    return {code: (made, expiry) for code, made, expiry in rows}


def test_a_receipt_without_a_lot_gets_one_from_the_skus_lot_rule(db, yogurt):
    meta = Meta(yogurt, reason="test")
    first = stock.receive(db.uow(clock=at()), meta, site="WH",
                          lines=[stock.Line("SKU-LOT", "5", unit_cost="3")])
    second = stock.receive(db.uow(clock=at()), Meta(yogurt, reason="again"), site="WH",
                           lines=[stock.Line("SKU-LOT", "2", unit_cost="3")])
    codes = [first["moves"][0]["lot"], second["moves"][0]["lot"]]
    assert codes == ["M261123WH001", "M261123WH002"]  # the counter advanced once per receipt
    assert lots(db, "SKU-LOT") == {c: (DAY, DAY + timedelta(days=14)) for c in codes}
    with db.read() as s:
        assert s.scalar(select(StockBalance.qty).where(StockBalance.lot == codes[0])) == 5
        assert s.scalar(select(SerialCounter.last).where(SerialCounter.period == DAY.isoformat())) == 2


def test_a_purchase_receipt_names_the_lot_its_category_rule_made(db, yogurt):
    meta = Meta(yogurt, reason="test")
    masterdata.create(db.uow(), yogurt, "supplier", {"code": "SUP-1", "name": "供应商一"})
    po = purchasing.create_purchase(db.uow(), meta, supplier="SUP-1", site="WH",
                                    lines=[PurchaseLineIn("YOGURT", "6", "2")])
    purchasing.submit_purchase(db.uow(), meta, number=po["number"])
    got = purchasing.receive_purchase(db.uow(clock=at()), meta, number=po["number"],
                                      lines=[ReceiptIn(1, "4")])
    assert got["generated_lots"] == [{"line_no": 1, "sku": "YOGURT", "lot": "FOOD-YOGURT-0001"}]
    again = purchasing.receive_purchase(db.uow(clock=at()), meta, number=po["number"],
                                        lines=[ReceiptIn(1, "2", expiry_date=date(2027, 1, 1))])
    assert again["generated_lots"][0]["lot"] == "FOOD-YOGURT-0002"
    assert lots(db, "YOGURT") == {"FOOD-YOGURT-0001": (DAY, DAY + timedelta(days=21)),
                                  "FOOD-YOGURT-0002": (DAY, date(2027, 1, 1))}
    typed = purchasing.create_purchase(db.uow(), meta, supplier="SUP-1", site="WH",
                                       lines=[PurchaseLineIn("YOGURT", "1", "2")])
    purchasing.submit_purchase(db.uow(), meta, number=typed["number"])
    kept = purchasing.receive_purchase(db.uow(clock=at()), meta, number=typed["number"],
                                       lines=[ReceiptIn(1, "1", lot="L-OWN")])
    assert kept["generated_lots"] == [] and "L-OWN" in lots(db, "YOGURT")


def test_without_a_lot_rule_of_its_own_a_lot_tracked_receipt_still_needs_its_lot(db, network):
    # A default lot rule (no SKU, no category) does not make receipts generate lots.
    serials.create(db.uow(), network, code="ANY-LOT", name="默认批次", kind="lot",
                   template="{sku}-{seq:5}")
    with pytest.raises(ValidationFailed) as refused:
        stock.receive(db.uow(), Meta(network, reason="test"), site="WH",
                      lines=[stock.Line("SKU-LOT", "1")])
    assert refused.value.errors[0].field == "lot"
    assert lots(db, "SKU-LOT") == {}
