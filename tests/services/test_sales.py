"""Sales orders: reservation on confirm, shortage naming other sites, partial shipping, returns,
editing a draft with its version, and picking by bin (FEFO for lots)."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from cangliu.core.documents import IllegalTransition
from cangliu.core.errors import Conflict, InsufficientStock, StaleVersion, ValidationFailed
from cangliu.core.ledger import Free
from cangliu.db.models import Location, Sku, StockBalance, StockMove
from cangliu.db.queries import single_view
from cangliu.services import accounts, masterdata, sales, stock
from cangliu.services.reservations import hold_at_site
from cangliu.services.sales import LineQty, SalesLineIn, ShipLine
from cangliu.services.stock import Line
from cangliu.services.verify import verify


@pytest.fixture
def customer(db, network):
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    sales.set_customer_price(db.uow(), network, customer="C1", sku="SKU-1", price="5")
    return "C1"


def _site(db, site, sku="SKU-1"):
    with db.read() as s:
        return {r["site"]: r for r in single_view(s, sku)["sites"]}[site]


def test_confirm_reserves_then_partial_shipments_leave_a_backorder(db, meta, customer):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "10")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "6")], channel="online")
    assert (so["state"], so["total"], so["channel"]) == ("draft", "30.00", "online")
    confirmed = sales.confirm_sale(db.uow(), meta, number=so["number"])
    assert confirmed["lines"][0]["backorder_qty"] == "6"
    assert (_site(db, "WH")["reserved"], _site(db, "WH")["available"]) == (Decimal(6), Decimal(4))
    part = sales.ship_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, "4")])
    assert part["state"] == "partially_shipped" and part["lines"][0]["backorder_qty"] == "2"
    wh = _site(db, "WH")
    assert (wh["on_hand"], wh["reserved"], wh["available"]) == (Decimal(6), Decimal(2), Decimal(4))
    rest = sales.ship_sale(db.uow(), meta, number=so["number"])
    assert rest["state"] == "shipped" and _site(db, "WH")["on_hand"] == Decimal(4)
    assert verify(db.uow()).consistent


def test_a_shortage_lists_what_other_sites_have(db, meta, customer):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "40")])
    stock.receive(db.uow(), meta, site="S1", lines=[Line("SKU-1", "2")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="S1",
                           lines=[SalesLineIn("SKU-1", "5")])
    with pytest.raises(InsufficientStock) as err:
        sales.confirm_sale(db.uow(), meta, number=so["number"])
    assert str(err.value) == ("Insufficient stock of SKU-1 at S1: requested 5, available 2; "
                              "available elsewhere: WH 40")
    assert sales.get_sale(db.uow(), so["number"])["state"] == "draft"
    assert _site(db, "S1")["reserved"] == Decimal(0)


def test_shipping_more_than_ordered_is_refused(db, meta, customer):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "10")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "3")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    with pytest.raises(ValidationFailed) as err:
        sales.ship_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, "4")])
    assert err.value.errors[0].field == "lines[0].qty"
    assert _site(db, "WH")["on_hand"] == Decimal(10)


def test_cancel_and_close_release_reservations(db, meta, customer):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "10")])
    first = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                              lines=[SalesLineIn("SKU-1", "3")])
    sales.confirm_sale(db.uow(), meta, number=first["number"])
    sales.cancel_sale(db.uow(), meta, number=first["number"])
    assert _site(db, "WH")["reserved"] == Decimal(0)
    second = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                               lines=[SalesLineIn("SKU-1", "5")])
    sales.confirm_sale(db.uow(), meta, number=second["number"])
    sales.ship_sale(db.uow(), meta, number=second["number"], lines=[LineQty(1, "2")])
    closed = sales.close_sale(db.uow(), meta, number=second["number"])
    assert closed["state"] == "closed" and closed["lines"][0]["backorder_qty"] == "0"
    assert (_site(db, "WH")["reserved"], _site(db, "WH")["available"]) == (Decimal(0), Decimal(8))
    with pytest.raises(IllegalTransition):
        sales.ship_sale(db.uow(), meta, number=second["number"])
    assert verify(db.uow()).consistent


def test_returns_come_back_on_quality_hold_and_never_exceed_what_shipped(db, meta, customer):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "3")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    sales.ship_sale(db.uow(), meta, number=so["number"])
    returned = sales.return_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, "1")])
    assert returned["lines"][0]["returned_qty"] == "1"
    assert _site(db, "WH")["quality_hold"] == Decimal(1)
    with pytest.raises(ValidationFailed):
        sales.return_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, "3")])
    assert verify(db.uow()).consistent


# --- Editing a draft with its version -------------------------------------------------------


def test_a_draft_is_edited_as_a_whole_and_a_stale_version_changes_nothing(db, meta, customer):
    masterdata.create(db.uow(), meta.actor, "customer", {"code": "C2", "name": "客户二"})
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "3")])
    edited = sales.update_sale(db.uow(), meta, number=so["number"], version=1, customer="C2",
                               site="S1", channel="wholesale", currency="USD", rate="7.1",
                               lines=[SalesLineIn("SKU-KG", "1.5", "8"),
                                      SalesLineIn("SKU-1", "2", "4")])
    assert (edited["version"], edited["customer"], edited["site"], edited["channel"]) == (
        2, "C2", "S1", "wholesale")
    assert (edited["currency"], edited["rate"], edited["total"]) == ("USD", "7.1", "20.00")
    assert [(ln["line_no"], ln["sku"], ln["qty"]) for ln in edited["lines"]] == [
        (1, "SKU-KG", "1.5"), (2, "SKU-1", "2")]
    with pytest.raises(StaleVersion) as stale:
        sales.update_sale(db.uow(), meta, number=so["number"], version=1, channel="store")
    assert stale.value.current_version == 2 and stale.value.changed["channel"] == "wholesale"
    back = sales.update_sale(db.uow(), meta, number=so["number"], version=2, currency="CNY")
    assert (back["currency"], back["rate"], back["version"]) == ("CNY", "1", 3)
    assert sales.get_sale(db.uow(), so["number"])["channel"] == "wholesale"


def test_bad_edits_name_the_field_and_change_nothing(db, meta, customer):
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "3")])
    bad = [({"currency": "USD"}, "rate"), ({"channel": "teleport"}, "channel"),
           ({"rate": "0"}, "rate"), ({"lines": []}, "lines"),
           ({"lines": [SalesLineIn("SKU-KG", "2")]}, "lines[0].price"),
           ({"customer": "NOPE"}, "customer"), ({"site": "NOPE"}, "site"),
           ({"currency": "usd", "rate": "7"}, "currency")]
    for change, field in bad:
        with pytest.raises(ValidationFailed) as err:
            sales.update_sale(db.uow(), meta, number=so["number"], version=1, **change)
        assert err.value.errors[0].field == field, change
    unchanged = sales.get_sale(db.uow(), so["number"])
    assert unchanged["version"] == 1 and unchanged["lines"][0]["qty"] == "3"


def test_a_confirmed_order_cannot_be_edited(db, meta, customer):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "3")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    with pytest.raises(IllegalTransition) as err:
        sales.update_sale(db.uow(), meta, number=so["number"], version=2,
                          lines=[SalesLineIn("SKU-1", "1")])
    assert str(err.value) == f"Document {so['number']} is confirmed: cannot edit"
    assert sales.get_sale(db.uow(), so["number"])["lines"][0]["qty"] == "3"


# --- Pick by bin ----------------------------------------------------------------------------


@pytest.fixture
def bins(db, network):
    for code in ("WH-B1", "WH-C1"):
        masterdata.create(db.uow(), network, "location",
                          {"code": code, "name": code, "kind": "bin", "parent": "WH"})


def _held(db, sku):
    """(bin, lot) → (on hand, reserved) for a SKU's available stock."""
    with db.read() as s:
        rows = s.execute(select(Location.code, StockBalance.lot, StockBalance.qty,
                                StockBalance.reserved)
                         .join(Location, Location.id == StockBalance.location_id)
                         .join(Sku, Sku.id == StockBalance.sku_id)
                         .where(Sku.code == sku, StockBalance.status == "available"))
        return {(code, lot): (qty, reserved) for code, lot, qty, reserved in rows
                if qty or reserved}


def _picks(db, number):
    return [(ln["line_no"], [(p["bin"], p["lot"], p["qty"]) for p in ln["picks"]])
            for ln in sales.get_pick_list(db.uow(), number)["lines"]]


def _receive_lots(db, meta):
    """Milk in three bins; the lot received first expires last."""
    for lot, bin_code, qty, expiry in (("L-LATE", "WH-A1", "10", date(2030, 6, 1)),
                                       ("L-SOON", "WH-B1", "4", date(2030, 2, 1)),
                                       ("L-MID", "WH-C1", "5", date(2030, 4, 1))):
        stock.receive(db.uow(), meta, site="WH", expiry_date=expiry,
                      lines=[Line("SKU-LOT", qty, bin=bin_code, lot=lot)])


def test_lot_tracked_stock_is_picked_and_shipped_first_expiry_first_out(db, meta, customer, bins):
    sales.set_customer_price(db.uow(), meta.actor, customer=customer, sku="SKU-LOT", price="6")
    _receive_lots(db, meta)
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-LOT", "7")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    pick = sales.get_pick_list(db.uow(), so["number"])
    assert pick["lines"][0]["picks"][0]["expires_on"] == "2030-02-01"
    assert _picks(db, so["number"]) == [(1, [("WH-B1", "L-SOON", "4"), ("WH-C1", "L-MID", "3")])]
    assert _held(db, "SKU-LOT")[("WH-A1", "L-LATE")] == (Decimal(10), Decimal(0))
    sales.ship_sale(db.uow(), meta, number=so["number"])
    assert _held(db, "SKU-LOT") == {("WH-A1", "L-LATE"): (Decimal(10), Decimal(0)),
                                    ("WH-C1", "L-MID"): (Decimal(2), Decimal(0))}
    with db.read() as s:
        left = s.execute(select(StockMove.lot, StockMove.qty).where(
            StockMove.document_number == so["number"]).order_by(StockMove.id)).all()
    assert [(lot, qty) for lot, qty in left] == [("L-SOON", Decimal(4)), ("L-MID", Decimal(3))]
    assert verify(db.uow()).consistent


def test_partial_shipments_continue_down_the_pick_list(db, meta, customer, bins):
    sales.set_customer_price(db.uow(), meta.actor, customer=customer, sku="SKU-LOT", price="6")
    _receive_lots(db, meta)
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-LOT", "7")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    sales.ship_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, "3")])
    assert _picks(db, so["number"]) == [(1, [("WH-B1", "L-SOON", "1"), ("WH-C1", "L-MID", "3")])]
    sales.ship_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, "2")])
    assert _picks(db, so["number"]) == [(1, [("WH-C1", "L-MID", "2")])]
    assert _held(db, "SKU-LOT")[("WH-C1", "L-MID")] == (Decimal(4), Decimal(2))
    done = sales.ship_sale(db.uow(), meta, number=so["number"])
    assert done["state"] == "shipped"
    with pytest.raises(Conflict, match="only a confirmed order has a pick list"):
        sales.get_pick_list(db.uow(), so["number"])
    assert _held(db, "SKU-LOT") == {("WH-A1", "L-LATE"): (Decimal(10), Decimal(0)),
                                    ("WH-C1", "L-MID"): (Decimal(2), Decimal(0))}


def test_a_lot_without_expiry_is_picked_after_every_expiring_lot(db, meta, customer, bins):
    masterdata.create(db.uow(), meta.actor, "sku", {"code": "SKU-BOLT", "name": "螺栓",
                                                     "tracking": "lot"})
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-BOLT", "5", bin="WH-A1", lot="B-0")])
    stock.receive(db.uow(), meta, site="WH", expiry_date=date(2040, 1, 1),
                  lines=[Line("SKU-BOLT", "2", bin="WH-C1", lot="B-9")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-BOLT", "3", "1")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    assert _picks(db, so["number"]) == [(1, [("WH-C1", "B-9", "2"), ("WH-A1", "B-0", "1")])]


def test_stock_without_lots_is_picked_from_the_fewest_bins_in_walking_order(db, meta, customer,
                                                                             bins):
    stock.receive(db.uow(), meta, site="WH", lines=[
        Line("SKU-1", "3"), Line("SKU-1", "4", bin="WH-C1"), Line("SKU-1", "9", bin="WH-B1"),
        Line("SKU-1", "1", bin="WH-A1")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "4"), SalesLineIn("SKU-1", "11")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    # Line 1: WH-B1 and WH-C1 both cover 4; WH-B1 comes first on the walk. Line 2 then needs
    # three places: the two largest left (WH-B1's 5, WH-C1's 4) and the first on the walk
    # that covers the last 2 (the site's unbinned stock, WH) — never the 1 in WH-A1.
    assert _picks(db, so["number"]) == [
        (1, [("WH-B1", "", "4")]), (2, [("WH", "", "2"), ("WH-B1", "", "5"), ("WH-C1", "", "4")])]
    sales.ship_sale(db.uow(), meta, number=so["number"])
    assert _held(db, "SKU-1") == {("WH", ""): (Decimal(1), Decimal(0)),
                                  ("WH-A1", ""): (Decimal(1), Decimal(0))}


def test_picked_stock_cannot_be_taken_by_someone_else_before_it_ships(db, meta, customer, bins):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5", bin="WH-A1"),
                                                    Line("SKU-1", "5", bin="WH-B1")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "5")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    assert _picks(db, so["number"]) == [(1, [("WH-A1", "", "5")])]
    with pytest.raises(InsufficientStock, match="at WH-A1"):
        stock.issue(db.uow(), meta, site="WH", lines=[Line("SKU-1", "1", bin="WH-A1")])
    with pytest.raises(InsufficientStock, match="at WH-A1"):
        stock.move(db.uow(), meta, from_site="WH", to_site="WH",
                   lines=[Line("SKU-1", "5", bin="WH-A1", to_bin="WH-C1")])
    sales.ship_sale(db.uow(), meta, number=so["number"])
    assert _held(db, "SKU-1") == {("WH-B1", ""): (Decimal(5), Decimal(0))}


def test_a_picker_may_ship_from_another_bin_which_must_hold_the_stock(db, meta, customer, bins):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5", bin="WH-A1"),
                                                    Line("SKU-1", "5", bin="WH-B1")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "5")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    # WH-A1 turned out empty on the shelf; the picker takes 2 from WH-B1 instead.
    sales.ship_sale(db.uow(), meta, number=so["number"], lines=[ShipLine(1, "2", bin="WH-B1")])
    assert _picks(db, so["number"]) == [(1, [("WH-A1", "", "3")])]
    assert _held(db, "SKU-1") == {("WH-A1", ""): (Decimal(5), Decimal(3)),
                                  ("WH-B1", ""): (Decimal(3), Decimal(0))}
    # Meanwhile someone else empties WH-B1: the next override is refused, nothing is written.
    stock.issue(db.uow(), meta, site="WH", lines=[Line("SKU-1", "3", bin="WH-B1")])
    with pytest.raises(ValidationFailed) as err:
        sales.ship_sale(db.uow(), meta, number=so["number"], lines=[ShipLine(1, "3", bin="WH-B1")])
    assert err.value.errors[0].field == "lines[0].bin"
    assert str(err.value.errors[0].message.format(**err.value.errors[0].params)) == (
        "only 0 of SKU-1 is free at WH-B1")
    assert _picks(db, so["number"]) == [(1, [("WH-A1", "", "3")])]
    rest = sales.ship_sale(db.uow(), meta, number=so["number"])
    assert rest["state"] == "shipped" and _held(db, "SKU-1") == {("WH-A1", ""): (Decimal(2),
                                                                                Decimal(0))}
    assert verify(db.uow()).consistent


def test_a_picker_may_ship_another_lot_and_the_earliest_reservation_is_given_back(
        db, meta, customer, bins):
    sales.set_customer_price(db.uow(), meta.actor, customer=customer, sku="SKU-LOT", price="6")
    _receive_lots(db, meta)
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-LOT", "7")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    sales.ship_sale(db.uow(), meta, number=so["number"],
                    lines=[ShipLine(1, "3", lot="L-MID")])
    # The shipped lot's own reservation shrinks first; the rest of the pick list stands.
    assert _picks(db, so["number"]) == [(1, [("WH-B1", "L-SOON", "4")])]
    assert _held(db, "SKU-LOT")[("WH-C1", "L-MID")] == (Decimal(2), Decimal(0))
    sales.ship_sale(db.uow(), meta, number=so["number"],
                    lines=[ShipLine(1, "2", bin="WH-A1", lot="L-LATE")])
    assert _picks(db, so["number"]) == [(1, [("WH-B1", "L-SOON", "2")])]
    assert _held(db, "SKU-LOT")[("WH-A1", "L-LATE")] == (Decimal(8), Decimal(0))
    assert verify(db.uow()).consistent


def test_an_override_must_name_a_bin_of_the_site_and_a_lot_only_for_lot_tracked_skus(
        db, meta, customer, bins):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5", bin="WH-A1")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "5")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    for line, field in ((ShipLine(1, "1", bin="S1"), "lines[0].bin"),
                        (ShipLine(1, "1", bin="WH-NOPE"), "lines[0].bin"),
                        (ShipLine(1, "1", lot="L-1"), "lines[0].lot")):
        with pytest.raises(ValidationFailed) as err:
            sales.ship_sale(db.uow(), meta, number=so["number"], lines=[line])
        assert err.value.errors[0].field == field
    assert _held(db, "SKU-1") == {("WH-A1", ""): (Decimal(5), Decimal(5))}
    assert sales.get_sale(db.uow(), so["number"])["state"] == "confirmed"


def test_a_draft_has_no_pick_list(db, meta, customer):
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "5")])
    with pytest.raises(Conflict) as err:
        sales.get_pick_list(db.uow(), so["number"])
    assert str(err.value) == (f"Sales order {so['number']} is draft: only a confirmed order "
                              "has a pick list")


def test_a_stale_pick_plan_still_reserves_from_what_is_free(db, meta, bins):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "2", bin="WH-A1"),
                                                    Line("SKU-1", "6", bin="WH-B1")])
    uow = db.uow()
    with uow:
        sku = uow.session.scalars(select(Sku).where(Sku.code == "SKU-1")).one()
        site = uow.session.scalars(select(Location).where(Location.code == "WH")).one()
        a1 = uow.session.scalars(select(Location).where(Location.code == "WH-A1")).one()
        # The plan thought WH-A1 held 5; only 2 are there, the rest comes from WH-B1.
        _ref, parts = hold_at_site(uow, meta, sku, site, Decimal(5), None,
                                   plan=[Free(a1.id, "", Decimal(5))])
        uow.commit()
    assert [p.qty for p in parts] == [Decimal(2), Decimal(3)]
    assert _held(db, "SKU-1") == {("WH-A1", ""): (Decimal(2), Decimal(2)),
                                  ("WH-B1", ""): (Decimal(6), Decimal(3))}


def test_a_customer_return_credits_the_receivable(db, meta, customer):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "3")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    sales.ship_sale(db.uow(), meta, number=so["number"])
    sales.return_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, "1")])
    today = date.today()
    with db.read() as s:
        owed = accounts.aging(s, kind="receivable", as_of=today)
        sheet = accounts.statement(s, kind="receivable", partner=customer,
                                   start=today.replace(day=1), end=today)
    assert [row["total"] for row in owed if row["partner"] == customer] == ["10.00"]
    assert sheet["closing"] == "10.00"
