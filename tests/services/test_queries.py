"""Read models: the network list pages exactly like one unpaginated read, whatever the filter."""

from decimal import Decimal

import pytest

from cangliu.db.queries import StockFilter, network, single_view
from cangliu.services import masterdata, purchasing, stock, transfers
from cangliu.services.purchasing import PurchaseLineIn
from cangliu.services.stock import Line
from cangliu.services.transfers import TransferLineIn


@pytest.fixture
def stocked(db, network, meta):
    """Ten more SKUs, every other one without any stock; stock spread over the three sites,
    one SKU only in transit to S1, one only on order at S2."""
    for i in range(10):
        masterdata.create(db.uow(), network, "sku", {"code": f"N-{i:02d}", "name": f"商品{i}",
                                                     "category": "FOOD" if i % 3 else None})
    for i in range(0, 10, 2):
        stock.receive(db.uow(), meta, site="WH", lines=[Line(f"N-{i:02d}", 10 + i)])
        if i % 4 == 0:
            stock.receive(db.uow(), meta, site="S1", lines=[Line(f"N-{i:02d}", 3)])
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", 7)])
    order = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                      lines=[TransferLineIn("SKU-1", "7")])
    transfers.submit_transfer(db.uow(), meta, number=order["number"])
    transfers.ship_transfer(db.uow(), meta, number=order["number"])
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    po = purchasing.create_purchase(db.uow(), meta, supplier="SUP-1", site="S2",
                                    lines=[PurchaseLineIn("N-01", "4", "1")])
    purchasing.submit_purchase(db.uow(), meta, number=po["number"])
    return db


def _all_pages(db, flt, limit):
    rows, after = [], None
    while True:
        with db.read() as session:
            page, after = network(session, flt, limit=limit, after=after)
        assert len(page) <= limit
        rows += page
        if after is None:
            return rows


@pytest.mark.parametrize("flt", [StockFilter(), StockFilter(site="S1"), StockFilter(region="华南"),
                                 StockFilter(category="FOOD"), StockFilter(q="N-0")],
                         ids=["all", "site", "region", "category", "search"])
@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_pages_add_up_to_the_whole_list(stocked, flt, limit):
    with stocked.read() as session:
        whole, after = network(session, flt, limit=10_000)
    assert after is None
    assert _all_pages(stocked, flt, limit) == whole
    keys = [(r["sku"], r["site"]) for r in whole]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_rows_carry_transit_and_on_order_and_skip_skus_without_stock(stocked):
    with stocked.read() as session:
        rows, _ = network(session, StockFilter(), limit=10_000)
    by_key = {(r["sku"], r["site"]): r for r in rows}
    assert not {sku for sku, _ in by_key} & {"N-03", "N-05", "N-07", "N-09", "SKU-KG"}
    assert by_key[("SKU-1", "S1")]["in_transit_in"] == Decimal(7)
    assert by_key[("SKU-1", "WH")]["in_transit_out"] == Decimal(7)
    assert by_key[("N-01", "S2")]["on_order"] == Decimal(4)
    assert by_key[("N-04", "S1")]["available"] == Decimal(3)
    assert by_key[("N-04", "WH")]["on_hand"] == Decimal(14)


def test_network_rows_agree_with_the_single_view(stocked):
    with stocked.read() as session:
        rows, _ = network(session, StockFilter(), limit=10_000)
        for sku in {r["sku"] for r in rows}:
            view = {s["site"]: s for s in single_view(session, sku)["sites"]}
            listed = {r["site"]: {k: v for k, v in r.items() if k in view[r["site"]]
                                  and k not in ("site", "region")}
                      for r in rows if r["sku"] == sku}
            assert listed == {site: {k: v for k, v in figures.items() if k in listed[site]}
                              for site, figures in view.items()}
