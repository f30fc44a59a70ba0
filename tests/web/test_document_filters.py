"""Every document list filters on the creation date (inclusive days), in the API and on the pages."""

from datetime import UTC, datetime

import pytest

from cangliu.services import counts, masterdata, purchasing, sales, transfers
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn
from cangliu.services.sales import SalesLineIn
from cangliu.services.transfers import TransferLineIn

DAYS = [datetime(2026, 5, d, h, tzinfo=UTC) for d, h in ((1, 0), (2, 12), (3, 23))]


def _on(db, at):
    return db.uow(clock=lambda: at)


@pytest.fixture
def documents(db, network):
    """One transfer, purchase order, sales order and count on each of May 1st, 2nd and 3rd."""
    meta = Meta(network)
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    made: dict[str, list[str]] = {"transfers": [], "purchase-orders": [], "sales-orders": [],
                                  "counts": []}
    for at in DAYS:
        made["transfers"].append(transfers.create_transfer(
            _on(db, at), meta, source="WH", dest="S1", lines=[TransferLineIn("SKU-1", "1")])["number"])
        made["purchase-orders"].append(purchasing.create_purchase(
            _on(db, at), meta, supplier="SUP-1", site="WH",
            lines=[PurchaseLineIn("SKU-1", "1", "2")])["number"])
        made["sales-orders"].append(sales.create_sale(
            _on(db, at), meta, customer="C1", site="WH",
            lines=[SalesLineIn("SKU-1", "1", "3")])["number"])
        made["counts"].append(counts.start_count(_on(db, at), meta, site="S1")["number"])
    return made


LISTS = {"transfers": "/api/v1/transfers", "purchase-orders": "/api/v1/purchase-orders",
         "sales-orders": "/api/v1/sales-orders", "counts": "/api/v1/counts"}


@pytest.mark.parametrize("kind", list(LISTS))
def test_api_lists_filter_on_inclusive_creation_days(api, documents, kind):
    first, second, third = documents[kind]

    def listed(**params):
        response = api.get(LISTS[kind], params=params)
        assert response.status_code == 200, response.text
        return [i["number"] for i in response.json()["items"]]

    assert listed() == [third, second, first]
    assert listed(created_from="2026-05-02", created_to="2026-05-02") == [second]
    assert listed(created_from="2026-05-02") == [third, second]
    assert listed(created_to="2026-05-01") == [first]  # midnight belongs to its own day
    assert listed(created_from="2026-05-03", created_to="2026-05-03") == [third]  # 23:00 too
    assert listed(created_from="2026-05-04") == []
    backwards = api.get(LISTS[kind], params={"created_from": "2026-05-03", "created_to": "2026-05-01"})
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "created_to"
    nonsense = api.get(LISTS[kind], params={"created_from": "May 2nd"})
    assert nonsense.status_code == 422 and nonsense.json()["errors"][0]["field"] == "created_from"


def test_the_date_filter_combines_with_state_and_paging(api, documents):
    transfers_url = LISTS["transfers"]
    page = api.get(transfers_url, params={"created_from": "2026-05-01", "created_to": "2026-05-03",
                                          "limit": 2}).json()
    assert [t["number"] for t in page["items"]] == documents["transfers"][:0:-1]
    rest = api.get(transfers_url, params={"created_from": "2026-05-01", "created_to": "2026-05-03",
                                          "limit": 2, "cursor": page["next_cursor"]}).json()
    assert [t["number"] for t in rest["items"]] == documents["transfers"][:1]
    assert api.get(transfers_url, params={"created_from": "2026-05-02",
                                          "state": "approved"}).json()["items"] == []


PAGES = {"transfers": "/transfers", "purchase-orders": "/docs/purchase-orders",
         "sales-orders": "/docs/sales-orders", "counts": "/docs/counts"}


@pytest.mark.parametrize("kind", list(PAGES))
def test_list_pages_have_date_inputs_kept_in_the_next_page_link(browser, documents, kind):
    first, second, third = documents[kind]
    html = browser.get(PAGES[kind], params={"created_from": "2026-05-02",
                                            "created_to": "2026-05-03"}).text
    assert 'name="created_from" type="date" value="2026-05-02"' in html
    assert 'name="created_to" type="date" value="2026-05-03"' in html
    assert third in html and second in html and first not in html
    backwards = browser.get(PAGES[kind], params={"created_from": "2026-05-03",
                                                 "created_to": "2026-05-01"})
    assert backwards.status_code == 422 and "created_to" in backwards.text
    bad = browser.get(PAGES[kind], params={"created_from": "yesterday"})
    assert bad.status_code == 422 and "created_from" in bad.text


def test_the_next_page_link_keeps_the_dates(browser, db, network):
    meta = Meta(network)
    numbers = [transfers.create_transfer(_on(db, DAYS[1]), meta, source="WH", dest="S1",
                                         lines=[TransferLineIn("SKU-1", "1")])["number"]
               for _ in range(51)]
    html = browser.get("/transfers", params={"created_from": "2026-05-02",
                                             "created_to": "2026-05-02"}).text
    assert numbers[0] not in html and numbers[-1] in html
    assert (f"/transfers?cursor={numbers[1]}&state=&site=&q="
            "&created_from=2026-05-02&created_to=2026-05-02") in html


def test_document_list_pages_filter_by_site_and_partner(browser, db, network):
    meta = Meta(network)
    for code in ("SUP-1", "SUP-2"):
        masterdata.create(db.uow(), network, "supplier", {"code": code, "name": code})
    made = {(sup, site): purchasing.create_purchase(
        db.uow(), meta, supplier=sup, site=site, lines=[PurchaseLineIn("SKU-1", "1", "2")])["number"]
        for sup, site in (("SUP-1", "WH"), ("SUP-2", "WH"), ("SUP-1", "S1"))}
    html = browser.get("/docs/purchase-orders", params={"site": "WH", "partner": "SUP-1"}).text
    assert [n for n in made.values() if n in html] == [made["SUP-1", "WH"]]
    assert '<option value="SUP-1" selected>' in html and '<option value="SUP-2" >' in html
    by_site = browser.get("/docs/purchase-orders", params={"site": "S1"}).text
    assert [n for n in made.values() if n in by_site] == [made["SUP-1", "S1"]]
    count = counts.start_count(db.uow(), meta, site="S1")["number"]
    at_wh = browser.get("/docs/counts", params={"site": "WH"}).text
    assert 'name="partner"' not in at_wh and count not in at_wh
    assert count in browser.get("/docs/counts", params={"site": "S1"}).text
