"""KPIs (issue 8): each formula on a small hand-computed story, snapshots that are idempotent
and equal to the live computation, drill-down rows that add up to their parent, and site scope.

The story (UTC): D1 a purchase order receives SKU-1 10 @5 exactly and SKU-KG 3 of 4 @2 at WH;
D2 three sales orders at WH ship 4 of 4, 1 of 3 SKU-1 (then closed short) and reserve 1, and
a transfer of 2 SKU-1 leaves for S1 after an approval of 3 hours; D3 it arrives 18 hours after
shipping. End values: D1 56,
D2 21 (SKU-1 15, SKU-KG 6; 10 in transit), D3 31 (S1 10)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select

from cangliu.db.models import ApprovalInstance, Location, StockThreshold
from cangliu.db.models.kpis import KpiSiteSnapshot, KpiSnapshot
from cangliu.jobs import kpis as kpis_job
from cangliu.services import kpis, masterdata, purchasing, sales, stock, transfers
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.stock import Line
from cangliu.services.transfers import ReceiptLineIn, TransferLineIn

D1, D2, D3 = date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _uow(db, when):  # type: ignore[no-untyped-def]
    return db.uow(clock=lambda: when)


@pytest.fixture
def story(db, network):
    meta = Meta(network, reason="test")
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    sales.set_customer_price(db.uow(), network, customer="C1", sku="SKU-1", price="9")
    po = purchasing.create_purchase(_uow(db, at(D1, 8)), meta, supplier="SUP-1", site="WH", lines=[
        PurchaseLineIn("SKU-1", "10", "5"), PurchaseLineIn("SKU-KG", "4", "2")])
    purchasing.submit_purchase(_uow(db, at(D1, 8)), meta, number=po["number"])
    purchasing.receive_purchase(_uow(db, at(D1, 9)), meta, number=po["number"],
                                lines=[ReceiptIn(1, "10"), ReceiptIn(2, "3")])
    for qty, ship in (("4", "4"), ("3", "1")):
        so = sales.create_sale(_uow(db, at(D2, 10)), meta, customer="C1", site="WH",
                               lines=[SalesLineIn("SKU-1", qty)])
        sales.confirm_sale(_uow(db, at(D2, 10)), meta, number=so["number"])
        sales.ship_sale(_uow(db, at(D2, 11)), meta, number=so["number"], lines=[LineQty(1, ship)])
    sales.close_sale(_uow(db, at(D2, 11)), meta, number=so["number"])  # the 2 short are dropped
    waiting = sales.create_sale(_uow(db, at(D2, 10)), meta, customer="C1", site="WH",
                                lines=[SalesLineIn("SKU-1", "1")])  # reserved: served from stock
    sales.confirm_sale(_uow(db, at(D2, 10)), meta, number=waiting["number"])
    t = transfers.create_transfer(_uow(db, at(D2, 9)), meta, source="WH", dest="S1",
                                  lines=[TransferLineIn("SKU-1", "2")])
    transfers.submit_transfer(_uow(db, at(D2, 9)), meta, number=t["number"])
    transfers.ship_transfer(_uow(db, at(D2, 12)), meta, number=t["number"])
    transfers.receive_transfer(_uow(db, at(D3, 6)), meta, number=t["number"],
                               lines=[ReceiptLineIn(1, "2")])
    with db.uow() as uow:  # the transfer's approval: submitted 9:00, decided 12:00
        uow.session.execute(delete(ApprovalInstance))
        uow.session.add(ApprovalInstance(
            document_type="transfer", document_number=t["number"], document_version=1,
            policy_version=1, branch="default", state="approved", submitter_id=network.user_id,
            started_at=at(D2, 9), step_started_at=at(D2, 9), finished_at=at(D2, 12)))
        uow.commit()
    kpis.backfill(db.uow(), D1, D3)
    return network


def _site_id(db, code):  # type: ignore[no-untyped-def]
    with db.read() as s:
        return s.scalar(select(Location.id).where(Location.code == code))


def test_each_kpi_follows_its_formula_on_the_story(db, story):
    with db.read() as s:
        got = kpis.summary(s, D1, D3)
    assert got["inventory_value"] == Decimal("31.00") and got["cogs"] == Decimal("25.00")
    # Average inventory (56 + 21 + 31) / 3 = 36: turnover 25 / 36, days 3 × 36 / 25.
    assert got["turnover"] == Decimal("0.6944") and got["days_of_inventory"] == Decimal("4.3")
    assert got["stockout_rate"] == Decimal("0.3333") and got["fill_rate"] == Decimal("0.6667")
    assert (got["transfer_count"], got["transfer_value"]) == (Decimal(1), Decimal("10.00"))
    assert got["approval_hours"] == Decimal("3.0") and got["transit_hours"] == Decimal("18.0")
    assert got["receipt_accuracy"] == Decimal("0.5000")


def test_a_period_without_sales_or_receipts_has_no_rates(db, story):
    with db.read() as s:
        got = kpis.summary(s, D1, D1)
    assert got["inventory_value"] == Decimal("56.00") and got["cogs"] == 0
    assert got["turnover"] == 0 and got["days_of_inventory"] is None
    assert got["stockout_rate"] is None and got["transit_hours"] is None


def test_snapshots_are_idempotent_and_equal_to_a_full_replay(db, story):
    def stored():  # type: ignore[no-untyped-def]
        with db.read() as s:
            return (sorted((r.day, r.site_id, r.category_id, r.stock_value, r.cogs, r.lines)
                           for r in s.scalars(select(KpiSnapshot))),
                    sorted((r.day, r.site_id, r.orders, r.transit_hours_sum)
                           for r in s.scalars(select(KpiSiteSnapshot))))
    first = stored()
    kpis.backfill(db.uow(), D1, D3)
    kpis.snapshot(db.uow(), D3)
    assert stored() == first
    with db.uow() as uow:  # without the day before, D3 replays the whole ledger
        uow.session.execute(delete(KpiSnapshot).where(KpiSnapshot.day == D2))
        uow.commit()
    kpis.snapshot(db.uow(), D3)
    kpis.snapshot(db.uow(), D2)
    assert stored() == first


def test_today_is_read_live_and_agrees_with_its_snapshot(db, story):
    with db.read() as s:
        stored = kpis.summary(s, D2, D3)
    with db.uow() as uow:
        uow.session.execute(delete(KpiSnapshot).where(KpiSnapshot.day == D3))
        uow.session.execute(delete(KpiSiteSnapshot).where(KpiSiteSnapshot.day == D3))
        uow.commit()
    with db.read() as s:
        assert kpis.summary(s, D2, D3, today=D3) == stored
        assert kpis.summary(s, D2, D3)["inventory_value"] == Decimal("21.00")


def test_drill_rows_add_up_to_their_parent(db, story):
    with db.read() as s:
        regions = kpis.drill(s, D1, D3, "region")
        sites = kpis.drill(s, D1, D3, "site", region="华东")
        categories = kpis.drill(s, D1, D3, "category", site="WH")
        skus = kpis.drill(s, D1, D3, "sku", site="WH", category="FOOD")
    assert [(r["key"], r["inventory_value"]) for r in regions] == [("华东", Decimal("31.00"))]
    assert [(r["key"], r["inventory_value"]) for r in sites] == [
        ("WH", Decimal("21.00")), ("S1", Decimal("10.00"))]
    assert [(r["key"], r["inventory_value"], r["cogs"]) for r in categories] == [
        ("FOOD", Decimal("15.00"), Decimal("25.00")), ("-", Decimal("6.00"), Decimal(0))]
    assert sum(r["inventory_value"] for r in categories) == sites[0]["inventory_value"]
    food = categories[0]
    assert [(r["key"], r["inventory_value"], r["cogs"], r["turnover"]) for r in skus] == [
        ("SKU-1", food["inventory_value"], food["cogs"], food["turnover"])]


def test_scope_leaves_out_other_sites(db, story):
    s1 = _site_id(db, "S1")
    with db.read() as s:
        got = kpis.summary(s, D1, D3, scope=frozenset({s1}))
        sites = kpis.drill(s, D1, D3, "site", scope=frozenset({s1}))
        none = kpis.summary(s, D1, D3, scope=frozenset({s1}), site="WH")
    assert got["inventory_value"] == Decimal("10.00") and got["stockout_rate"] is None
    assert got["transit_hours"] == Decimal("18.0") and got["transfer_count"] == 0
    assert [r["key"] for r in sites] == ["S1"]
    assert none["inventory_value"] == 0


def test_trend_and_comparison_split_the_period(db, story):
    with db.read() as s:
        daily = kpis.trend(s, "inventory_value", D1, D3)
        weekly = kpis.trend(s, "cogs", D1, D3, "week")
        change = kpis.compare(s, D2, 1)
    assert [p["value"] for p in daily] == [Decimal("56.00"), Decimal("21.00"), Decimal("31.00")]
    assert [(p["period"], p["value"]) for p in weekly] == [(D1, Decimal("25.00"))]
    assert change["before"]["kpis"]["cogs"] == 0 and change["after"]["kpis"]["cogs"] == 25
    assert change["change"]["inventory_value"] == Decimal("-35.00")


def test_water_levels_and_risks_read_levels_against_available_stock(db, story):
    """WH has 2 SKU-1 available (3, 1 reserved; max 0); S1 sells 1 of its 2 (safety stock 3)."""
    wh, s1 = _site_id(db, "WH"), _site_id(db, "S1")
    stock.issue(_uow(db, at(D3, 14)), Meta(story), site="S1", lines=[Line("SKU-1", "1")])
    with db.uow() as uow:
        for site_id, ss, rop, top in ((wh, 0, 0, 0), (s1, 3, 5, 9)):
            uow.session.add(StockThreshold(
                sku_id=1, site_id=site_id, computed_on=D3, demand=1.0, demand_sd=0.0,
                lead_time=1.0, lead_time_sd=0.0, lead_time_source="default", z=1.0,
                safety_stock=Decimal(ss), reorder_point=Decimal(rop), max_stock=Decimal(top),
                explanation=""))
        uow.commit()
    with db.read() as s:
        levels = kpis.water_levels(s, D3)
        soon = kpis.risks(s, D3 + timedelta(days=1), days=7)
        risks = kpis.risks(s, D3 + timedelta(days=1), days=30)
        scoped = kpis.water_levels(s, D3, scope=frozenset({s1}))
        assert s.scalar(select(func.count()).select_from(StockThreshold)) == 2
    assert levels["counts"] == {"red": 1, "yellow": 0, "green": 0, "over": 1}
    assert [(r["site"], r["level"]) for r in levels["items"]] == [("S1", "red"), ("WH", "over")]
    assert [(r["site"], r["excess"], r["excess_value"]) for r in risks["overstock"]] == [
        ("WH", Decimal(2), Decimal("10.00"))]
    # 1 sold in the last 28 days: 1 / 28 a day, so the 1 left lasts 28 days.
    assert [(r["site"], r["days_left"]) for r in risks["runout"]] == [("S1", Decimal("28.0"))]
    assert soon["runout"] == []
    assert scoped["counts"]["over"] == 0


def test_a_snapshot_taken_before_its_day_ended_is_not_built_on(db, story):
    kpis.snapshot(_uow(db, at(D2, 13)), D2)  # taken during D2, then a late D2 receipt
    stock.receive(db.uow(), Meta(story, occurred_at=at(D2, 14)), site="S2",
                  lines=[Line("SKU-1", "1", unit_cost="5")])
    with db.read() as s:
        assert kpis.summary(s, D3, D3, today=D3)["inventory_value"] == Decimal("36.00")


def test_the_job_snapshots_yesterday_and_today(db, story):
    written = kpis_job.run(db, clock=lambda: at(D3, 23))
    assert written == {"yesterday": 3, "today": 4}  # D2: WH × 2 categories + WH's documents
    with db.read() as s:
        assert set(s.scalars(select(KpiSnapshot.taken_at).where(KpiSnapshot.day >= D2))) == {
            at(D3, 23)}
