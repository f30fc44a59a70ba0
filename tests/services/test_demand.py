"""Demand history: shipments become daily demand, returns reduce it, stock-out days are flagged,
rebuilds are idempotent and keep imported days, imports are all or nothing (generic and M5)."""

import gzip
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cangliu.core.errors import ValidationFailed
from cangliu.core.ledger import StockStatus
from cangliu.db.models import Category, DemandDay, Location, Sku
from cangliu.services import demand, masterdata, sales, stock
from cangliu.services.postings import Meta
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.stock import Line

M5 = Path("/work/shared/data")


def on(meta: Meta, day: int, hour: int = 10) -> Meta:
    return Meta(meta.actor, reason="test", occurred_at=datetime(2026, 3, day, hour, tzinfo=UTC))


def days(db, source: str | None = None) -> list[tuple[str, str, date, Decimal, bool, Decimal | None]]:
    """(site, sku, day, qty, stockout, lost_qty) of every stored demand day."""
    with db.read() as s:
        query = (select(Location.code, Sku.code, DemandDay.day, DemandDay.qty, DemandDay.stockout,
                        DemandDay.lost_qty)
                 .join(Location, Location.id == DemandDay.site_id).join(Sku, Sku.id == DemandDay.sku_id)
                 .order_by(Location.code, Sku.code, DemandDay.day))
        if source:
            query = query.where(DemandDay.source == source)
        return [tuple(r) for r in s.execute(query)]


def d(day: int) -> date:
    return date(2026, 3, day)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_shipments_become_demand_per_site_and_day(db, meta):
    stock.receive(db.uow(), on(meta, 1), site="WH", lines=[Line("SKU-1", "10")])
    stock.receive(db.uow(), on(meta, 1), site="S1", lines=[Line("SKU-1", "5"), Line("SKU-KG", "8")])
    stock.issue(db.uow(), on(meta, 2, 9), site="WH", lines=[Line("SKU-1", "3")])
    stock.issue(db.uow(), on(meta, 2, 17), site="WH", lines=[Line("SKU-1", "2")])
    stock.issue(db.uow(), on(meta, 4), site="WH", lines=[Line("SKU-1", "1")])
    stock.issue(db.uow(), on(meta, 3), site="S1", lines=[Line("SKU-1", "2"), Line("SKU-KG", "1.25")])
    stock.move(db.uow(), on(meta, 3), from_site="WH", to_site="S2", lines=[Line("SKU-1", "1")])
    done = demand.rebuild_demand(db.uow(), until=d(5))
    assert days(db) == [
        ("S1", "SKU-1", d(3), Decimal(2), False, None),
        ("S1", "SKU-KG", d(3), Decimal("1.25"), False, None),
        ("WH", "SKU-1", d(2), Decimal(5), False, None),
        ("WH", "SKU-1", d(4), Decimal(1), False, None),
    ]
    assert (done["rows"], done["series"], done["demand_days"], done["stockout_days"]) == (4, 3, 4, 0)


def test_a_customer_return_reduces_that_days_demand_but_never_below_zero(db, meta):
    masterdata.create(db.uow(), meta.actor, "customer", {"code": "C1", "name": "客户一"})
    stock.receive(db.uow(), on(meta, 1), site="WH", lines=[Line("SKU-1", "9")])
    so = sales.create_sale(db.uow(), on(meta, 2), customer="C1", site="WH",
                           lines=[SalesLineIn("SKU-1", "4", "5")])
    sales.confirm_sale(db.uow(), on(meta, 2), number=so["number"])
    sales.ship_sale(db.uow(), on(meta, 2, 9), number=so["number"])
    sales.return_sale(db.uow(), on(meta, 2, 16), number=so["number"], lines=[LineQty(1, "1")])
    sales.return_sale(db.uow(), on(meta, 3), number=so["number"], lines=[LineQty(1, "2")])
    shipped = stock.issue(db.uow(), on(meta, 4), site="WH", lines=[Line("SKU-1", "2")])
    stock.reverse_posting(db.uow(), on(meta, 4, 12), ref=shipped["ref"])  # a mistaken shipment
    demand.rebuild_demand(db.uow(), until=d(5))
    # Day 3 took back more than it shipped (nothing): no demand, not a negative one.
    assert days(db) == [("WH", "SKU-1", d(2), Decimal(3), False, None)]


def test_stock_out_days_are_flagged_until_stock_is_available_again(db, meta):
    stock.receive(db.uow(), on(meta, 1), site="S1", lines=[Line("SKU-1", "2")])
    stock.issue(db.uow(), on(meta, 2), site="S1", lines=[Line("SKU-1", "2")])
    stock.receive(db.uow(), on(meta, 5), site="S1", lines=[Line("SKU-1", "3")])
    stock.change_status(db.uow(), on(meta, 7), site="S1", from_status=StockStatus.AVAILABLE,
                        to_status=StockStatus.QUALITY_HOLD, lines=[Line("SKU-1", "3")])
    done = demand.rebuild_demand(db.uow(), until=d(8))
    # Sold out on day 2, restocked on day 5; stock on quality hold on day 7 is not available.
    assert days(db) == [
        ("S1", "SKU-1", d(2), Decimal(2), True, None),
        ("S1", "SKU-1", d(3), Decimal(0), True, None),
        ("S1", "SKU-1", d(4), Decimal(0), True, None),
        ("S1", "SKU-1", d(7), Decimal(0), True, None),
        ("S1", "SKU-1", d(8), Decimal(0), True, None),
    ]
    assert (done["demand_days"], done["stockout_days"]) == (1, 5)


def test_rebuilding_twice_gives_the_same_rows_and_keeps_imported_days(db, meta, tmp_path):
    stock.receive(db.uow(), on(meta, 1), site="S1", lines=[Line("SKU-1", "4")])
    stock.issue(db.uow(), on(meta, 2), site="S1", lines=[Line("SKU-1", "1")])
    stock.issue(db.uow(), on(meta, 3), site="S1", lines=[Line("SKU-1", "3")])
    demand.rebuild_demand(db.uow(), until=d(4))
    first = days(db)
    demand.rebuild_demand(db.uow(), until=d(4))
    assert days(db) == first and len(first) == 3
    demand.import_demand(db.uow(), write(tmp_path / "d.csv", "date,site,sku,qty,lost_qty\n"
                                         "2026-03-03,S1,SKU-1,5,2\n"), fmt="generic")
    again = demand.rebuild_demand(db.uow(), until=d(4))
    assert again["kept_imported"] == 1
    assert days(db) == [("S1", "SKU-1", d(2), Decimal(1), False, None),
                        ("S1", "SKU-1", d(3), Decimal(5), True, Decimal(2)),
                        ("S1", "SKU-1", d(4), Decimal(0), True, None)]
    # A window leaves the days before it alone, and the stock level still counts them.
    windowed = demand.rebuild_demand(db.uow(), since=d(4), until=d(5))
    assert windowed["rows"] == 2 and days(db)[-1] == ("S1", "SKU-1", d(5), Decimal(0), True, None)
    with pytest.raises(ValidationFailed):
        demand.rebuild_demand(db.uow(), since=d(6), until=d(5))


def test_an_import_with_a_bad_row_writes_nothing_and_names_row_column_and_reason(db, network, tmp_path):
    bad = write(tmp_path / "bad.csv", "date,site,sku,qty,stockout,lost_qty\n"
                "2026-03-01,S1,SKU-1,3,,\n"
                "2026-03-32,S1,SKU-1,3,,\n"
                "2026-03-02,NOPE,SKU-1,3,0,\n"
                "2026-03-02,S1,NOPE,-1,1,\n"
                "2026-03-03,S1,SKU-1,abc,2,x\n"
                "2026-03-01,S1,6900000000017,1,,\n"
                "2026-03-04,WH,SKU-1,1.5,,\n"
                "2026-03-04,WH,SKU-KG,,,\n")
    with pytest.raises(ValidationFailed) as err:
        demand.import_demand(db.uow(), bad, fmt="generic")
    assert [(e.field, e.message, e.params) for e in err.value.errors] == [
        ("rows[3].date", "must be a date (YYYY-MM-DD)", {}),
        ("rows[4].site", "unknown site {code}", {"code": "NOPE"}),
        ("rows[5].sku", "unknown SKU {code}", {"code": "NOPE"}),
        ("rows[5].qty", "must be 0 or more", {}),
        ("rows[6].qty", "must be a number", {}),
        ("rows[6].stockout", "must be 0 or 1", {}),
        ("rows[6].lost_qty", "must be a number", {}),
        ("rows[7].date", "repeats row {row} (same date, site and SKU)", {"row": "2"}),
        ("rows[8].qty", "allows at most {decimals} decimal places", {"decimals": "0"}),
        ("rows[9].qty", "is required", {}),
    ]
    with pytest.raises(ValidationFailed) as err:
        demand.import_demand(db.uow(), write(tmp_path / "cols.csv", "day,site,sku\n"), fmt="generic")
    assert [(e.field, e.message, e.params) for e in err.value.errors] == [
        ("rows[1]", "missing column {column}", {"column": "date"}),
        ("rows[1]", "missing column {column}", {"column": "qty"})]
    assert days(db) == []


def test_a_good_generic_file_imports_skus_by_code_or_barcode_with_stockouts(db, network, tmp_path):
    good = write(tmp_path / "good.csv", "date,site,sku,qty,stockout,lost_qty\n"
                 "2026-03-01,S1,SKU-1,3,,\n"
                 "2026-03-02,S1,6900000000017,0,1,\n"
                 "2026-03-02, WH ,SKU-KG,1.250,0,0.5\n")
    done = demand.import_demand(db.uow(), good, fmt="generic")
    assert (done["rows"], done["series"], done["first_day"], done["last_day"], done["qty"]) == (
        3, 2, d(1), d(2), Decimal("4.25"))
    assert days(db, "import") == [("S1", "SKU-1", d(1), Decimal(3), False, None),
                                  ("S1", "SKU-1", d(2), Decimal(0), True, None),
                                  ("WH", "SKU-KG", d(2), Decimal("1.25"), True, Decimal("0.5"))]
    demand.import_demand(db.uow(), write(tmp_path / "fix.csv", "date,site,sku,qty\n"
                                         "2026-03-01,S1,SKU-1,4\n"), fmt="generic")
    assert days(db)[0] == ("S1", "SKU-1", d(1), Decimal(4), False, None)  # imported again: replaced


def m5_files(folder: Path) -> Path:
    """A tiny file in the M5 layout (gzip-compressed, as published) with its side files."""
    folder.mkdir()
    sales_rows = ["date,store_id,item_id,units"]
    for store in ("CA_1", "TX_9"):
        for item in ("FOODS_1_001", "HOBBIES_1_002"):
            sales_rows += [f"2015-01-0{day},{store},{item},{(day * len(item)) % 3}" for day in (1, 2, 3)]
    (folder / "m5_tiny_stores.csv").write_text("store_id,state_id\nCA_1,CA\nTX_9,TX\n")
    (folder / "m5_tiny_items.csv").write_text(
        "item_id,dept_id,cat_id,demand_class_in_source\n"
        "FOODS_1_001,FOODS_1,FOODS,smooth\nHOBBIES_1_002,HOBBIES_1,HOBBIES,lumpy\n")
    path = folder / "m5_tiny_sales_daily.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(sales_rows) + "\n").encode()))
    return path


def test_m5_maps_stores_and_items_and_creates_the_missing_ones(db, network, tmp_path):
    path = m5_files(tmp_path / "m5")
    with pytest.raises(ValidationFailed) as err:  # without create_missing: unknown codes
        demand.import_demand(db.uow(), path, fmt="m5", site_map={"CA_1": "S1"})
    assert {(e.field, e.params["code"]) for e in err.value.errors} >= {
        ("rows[8].store_id", "TX_9"), ("rows[2].item_id", "FOODS_1_001")}
    done = demand.import_demand(db.uow(), path, fmt="m5", actor=network, create_missing=True,
                                site_map={"CA_1": "S1"}, sku_map={"HOBBIES_1_002": "SKU-1"})
    assert (done["rows"], done["series"], done["created_sites"], done["created_skus"]) == (
        12, 4, ["TX_9"], ["FOODS_1_001"])
    with db.read() as s:
        site = s.scalars(select(Location).where(Location.code == "TX_9")).one()
        assert (site.kind, site.site_kind, site.region) == ("site", "store", "TX")
        sku = s.scalars(select(Sku).where(Sku.code == "FOODS_1_001")).one()
        assert s.get_one(Category, sku.category_id).code == "FOODS"
        assert s.scalar(select(func.count()).select_from(DemandDay)) == 12
    assert ("S1", "SKU-1", date(2015, 1, 2), Decimal(2), False, None) in days(db)
    again = demand.import_demand(db.uow(), path, fmt="m5", actor=network, create_missing=True,
                                 site_map={"CA_1": "S1"}, sku_map={"HOBBIES_1_002": "SKU-1"})
    assert (again["rows"], again["created_sites"], again["created_skus"]) == (12, [], [])
    assert len(days(db)) == 12


def test_the_published_m5_subset_imports_whole(db, network, tmp_path):
    if not (M5 / "m5_tiny_sales_daily.csv.gz").exists():
        pytest.skip("the M5 subset is not on this machine")
    if db.dialect != "sqlite":
        pytest.skip("one backend is enough for 433,160 rows")
    done = demand.import_demand(db.uow(), M5 / "m5_tiny_sales_daily.csv.gz", fmt="m5",
                                actor=network, create_missing=True)
    assert (done["rows"], done["series"], len(done["created_sites"]), len(done["created_skus"])) == (
        433_160, 280, 10, 28)
    assert (done["first_day"], done["last_day"]) == (date(2011, 1, 29), date(2015, 4, 24))
