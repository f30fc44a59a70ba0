"""Lots: the near-expiry list (order, days left, value, scope) and expired lots kept from sale —
out of pick plans, refused when a picker names one, allowed by the setting."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from cangliu.core.errors import InsufficientStock, ValidationFailed
from cangliu.db.models import Location, Reservation, Setting, StockMove
from cangliu.services import lots, masterdata, sales, stock
from cangliu.services.sales import SalesLineIn, ShipLine
from cangliu.services.stock import Line
from cangliu.services.verify import verify

TODAY = datetime.now(UTC).date()


@pytest.fixture
def customer(db, network):
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    sales.set_customer_price(db.uow(), network, customer="C1", sku="SKU-LOT", price="6")
    return "C1"


def _receive(db, meta, site, lot, qty, expiry, cost="2", bin_code=None):
    stock.receive(db.uow(), meta, site=site, expiry_date=expiry,
                  lines=[Line("SKU-LOT", qty, bin=bin_code, lot=lot, unit_cost=cost)])


def _site_id(db, code):
    with db.read() as s:
        return s.scalar(select(Location.id).where(Location.code == code))


def _near(db, **kw):
    with db.read() as s:
        return lots.near_expiry(s, today=date(2030, 3, 1), **kw)


@pytest.fixture
def spread(db, meta):
    """Lots at WH and S1 expiring from two days ago to in 100 days."""
    _receive(db, meta, "WH", "L-40", "4", date(2030, 4, 10))
    _receive(db, meta, "WH", "L-GONE", "3", date(2030, 2, 27), bin_code="WH-A1")
    _receive(db, meta, "WH", "L-GONE", "2", date(2030, 2, 27))
    _receive(db, meta, "S1", "L-5", "6", date(2030, 3, 6))
    _receive(db, meta, "WH", "L-100", "9", date(2030, 6, 9))


def test_near_expiry_lists_lots_in_stock_soonest_first_with_days_left_and_value(db, spread):
    page = _near(db, days=60)
    got = [(r["lot"], r["site"], r["days_left"], r["qty"]) for r in page.rows]
    # L-GONE sums its two balances at WH; L-100 is beyond the window.
    assert got == [("L-GONE", "WH", -2, Decimal(5)), ("L-5", "S1", 5, Decimal(6)),
                   ("L-40", "WH", 40, Decimal(4))]
    assert page.total == 3
    assert (page.rows[0]["avg_cost"], page.rows[0]["value"]) == (Decimal("2.0000"), Decimal("10.00"))
    assert [r["lot"] for r in _near(db, days=7).rows] == ["L-GONE", "L-5"]
    assert [r["lot"] for r in _near(db, days=60, include_expired=False).rows] == ["L-5", "L-40"]


def test_expired_lists_only_lots_past_their_date(db, spread):
    with db.read() as s:
        page = lots.expired(s, today=date(2030, 3, 1))
    assert [(r["lot"], r["days_left"]) for r in page.rows] == [("L-GONE", -2)]


def test_near_expiry_filters_by_site_sku_and_scope_and_pages(db, spread):
    assert [r["lot"] for r in _near(db, days=90, site="S1").rows] == ["L-5"]
    assert _near(db, days=90, sku="SKU-1").rows == []
    scoped = _near(db, days=90, scope=frozenset({_site_id(db, "S1")}))
    assert [r["lot"] for r in scoped.rows] == ["L-5"] and scoped.total == 1
    assert _near(db, days=90, scope=frozenset()).total == 0
    second = _near(db, days=90, limit=2, offset=2)
    assert [r["lot"] for r in second.rows] == ["L-40"] and second.total == 3


def test_a_lot_shipped_out_leaves_the_list(db, meta, spread):
    stock.issue(db.uow(), meta, site="S1", lines=[Line("SKU-LOT", "6", lot="L-5")])
    assert [r["lot"] for r in _near(db, days=7).rows] == ["L-GONE"]


def test_urgency_by_days_left():
    assert [lots.urgency(d) for d in (-1, 0, 7, 8, 30, 31)] == [
        "expired", "critical", "critical", "soon", "soon", "later"]


# --- Expired lots are not sold -------------------------------------------------------------


@pytest.fixture
def milk(db, meta, customer):
    """An expired lot in the bin, a good one at the site."""
    _receive(db, meta, "WH", "OLD", "5", TODAY - timedelta(days=3), bin_code="WH-A1")
    _receive(db, meta, "WH", "NEW", "5", TODAY + timedelta(days=20))


def _order(db, meta, qty):
    so = sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                           lines=[SalesLineIn("SKU-LOT", qty)])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    return so["number"]


def _shipped_lots(db, number):
    with db.read() as s:
        return sorted(s.execute(select(StockMove.lot, StockMove.qty)
                                .where(StockMove.document_number == number)).all())


def test_a_sales_order_is_never_planned_from_an_expired_lot(db, meta, milk):
    number = _order(db, meta, "4")
    picks = sales.get_pick_list(db.uow(), number)["lines"][0]["picks"]
    assert [(p["lot"], p["qty"]) for p in picks] == [("NEW", "4")]
    sales.ship_sale(db.uow(), meta, number=number)
    assert _shipped_lots(db, number) == [("NEW", Decimal(4))]


def test_only_expired_stock_left_is_a_shortage(db, meta, milk):
    so = sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                           lines=[SalesLineIn("SKU-LOT", "7")])
    with pytest.raises(InsufficientStock) as err:
        sales.confirm_sale(db.uow(), meta, number=so["number"])
    assert (err.value.requested, err.value.available) == (Decimal(7), Decimal(5))
    assert sales.get_sale(db.uow(), so["number"])["state"] == "draft"


def test_a_site_allowing_negative_stock_promises_beyond_rather_than_an_expired_lot(db, meta,
                                                                                    customer):
    _receive(db, meta, "S2", "OLD", "5", TODAY - timedelta(days=3))
    so = sales.create_sale(db.uow(), meta, customer="C1", site="S2",
                           lines=[SalesLineIn("SKU-LOT", "3")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    with db.read() as s:
        held = s.execute(select(Reservation.lot, Reservation.qty).where(
            Reservation.document_number == so["number"])).all()
    assert held == [("", Decimal(3))]


def test_naming_an_expired_lot_is_refused_with_its_expiry_date(db, meta, milk):
    number = _order(db, meta, "2")
    with pytest.raises(ValidationFailed) as err:
        sales.ship_sale(db.uow(), meta, number=number, lines=[ShipLine(1, "2", lot="OLD")])
    error = err.value.errors[0]
    assert error.field == "lines[0].lot"
    assert error.params == {"lot": "OLD", "sku": "SKU-LOT",
                            "expiry": (TODAY - timedelta(days=3)).isoformat()}
    assert _shipped_lots(db, number) == []
    assert sales.get_sale(db.uow(), number)["state"] == "confirmed"


def test_a_bin_override_skips_the_expired_lot_in_that_bin(db, meta, milk):
    number = _order(db, meta, "2")
    with pytest.raises(ValidationFailed) as err:
        sales.ship_sale(db.uow(), meta, number=number, lines=[ShipLine(1, "2", bin="WH-A1")])
    assert err.value.errors[0].field == "lines[0].bin"


def test_the_setting_lets_a_picker_ship_an_expired_lot_by_name(db, meta, milk):
    with db.uow() as uow:
        uow.session.add(Setting(key="sell_expired_lots", value="true"))
        uow.commit()
    number = _order(db, meta, "2")
    assert [p["lot"] for p in sales.get_pick_list(db.uow(), number)["lines"][0]["picks"]] == ["NEW"]
    sales.ship_sale(db.uow(), meta, number=number, lines=[ShipLine(1, "2", lot="OLD")])
    assert _shipped_lots(db, number) == [("OLD", Decimal(2))]
    assert verify(db.uow()).consistent


def test_a_reserved_lot_that_expires_before_shipping_is_refused(db, meta, milk):
    number = _order(db, meta, "2")
    later = datetime.now(UTC) + timedelta(days=25)
    with pytest.raises(ValidationFailed) as err:
        sales.ship_sale(db.uow(clock=lambda: later), meta, number=number)
    assert (err.value.errors[0].field, err.value.errors[0].params["lot"]) == ("lines[0].lot", "NEW")
    assert _shipped_lots(db, number) == []
