"""The near-expiry list on the API and as a page: filters, colours, paging, CSV, site scope and
the cost / valuation field rules."""

from datetime import UTC, datetime, timedelta

import pytest

from cangliu.services import auth, roles
from cangliu.services.postings import Meta
from cangliu.services.stock import Line, receive
from tests.conftest import PASSWORD
from tests.web.conftest import login

TODAY = datetime.now(UTC).date()


@pytest.fixture
def milk(db, network):
    for site, lot, qty, days in (("WH", "L-OLD", "3", -2), ("WH", "L-3", "4", 3),
                                 ("S1", "L-20", "5", 20), ("WH", "L-80", "6", 80)):
        receive(db.uow(), Meta(network), site=site, expiry_date=TODAY + timedelta(days=days),
                lines=[Line("SKU-LOT", qty, lot=lot, unit_cost="1.5")])


def _user(app, db, network, name, role, *, sites=None, hidden=()):
    roles.save_role(db.uow(), network, role, name=role, permissions=["stock.view", "stock.export"],
                    hidden_fields=list(hidden))
    auth.create_user(db.uow(), username=name, password=PASSWORD)
    scope = {"scope": "sites", "sites": sites} if sites else {"scope": "all"}
    roles.set_assignments(db.uow(), network, name, [{"role": role, **scope}])
    return login(app, name)


def test_api_lists_soonest_first_with_days_left_and_value(api, milk):
    got = api.get("/api/v1/lots/near-expiry", params={"days": 30})
    assert got.status_code == 200
    body = got.json()
    assert [(i["lot"], i["days_left"]) for i in body["items"]] == [
        ("L-OLD", -2), ("L-3", 3), ("L-20", 20)]
    assert body["total"] == 3
    first = body["items"][0]
    assert (first["qty"], first["avg_cost"], first["value"]) == ("3", "1.5000", "4.50")
    assert first["expiry_date"] == (TODAY - timedelta(days=2)).isoformat()
    only = api.get("/api/v1/lots/near-expiry",
                   params={"days": 90, "site": "S1", "include_expired": "false"}).json()
    assert [i["lot"] for i in only["items"]] == ["L-20"]
    assert api.get("/api/v1/lots/near-expiry", params={"days": -1}).status_code == 422


def test_api_hides_cost_and_value_and_keeps_to_the_sites_in_scope(app, db, network, milk):
    with _user(app, db, network, "s1clerk", "s1_nocost", sites=["S1"],
               hidden=["cost", "valuation"]) as client:
        body = client.get("/api/v1/lots/near-expiry", params={"days": 90}).json()
        assert [i["lot"] for i in body["items"]] == ["L-20"]
        assert "avg_cost" not in body["items"][0] and "value" not in body["items"][0]
        assert client.get("/api/v1/lots/near-expiry", params={"site": "WH"}).status_code == 404
        page = client.get("/lots/near-expiry", params={"days": "90"},
                          headers={"Accept-Language": "en"}).text
        assert "L-20" in page and "L-3" not in page and "Average cost" not in page
        exported = client.get("/lots/near-expiry", params={"days": "90", "format": "csv"}).text
        assert "L-20" in exported and "L-80" not in exported and "Value" not in exported


def test_page_filters_colours_and_exports(browser, milk):
    page = browser.get("/lots/near-expiry", params={"days": "7"},
                       headers={"Accept-Language": "en"})
    assert page.status_code == 200
    text = page.text
    assert '<span class="lvl out">-2</span>' in text and '<span class="lvl low">3</span>' in text
    assert "L-20" not in text and '<option value="7" selected' in text
    assert 'href="/lots/near-expiry"' in text  # the nav link
    later = browser.get("/lots/near-expiry", params={"days": "90", "expired": "no"}).text
    assert "L-OLD" not in later and '<span class="lvl ok">80</span>' in later
    csv = browser.get("/lots/near-expiry", params={"days": "30", "format": "csv"},
                      headers={"Accept-Language": "en"})
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("SKU,Name,Site,Lot") and lines[0].endswith("Average cost,Value")
    assert [ln.split(",")[3] for ln in lines[1:]] == ["L-OLD", "L-3", "L-20"]


def test_page_pages_through_many_lots(browser, db, network):
    for n in range(52):
        receive(db.uow(), Meta(network), site="WH", expiry_date=TODAY + timedelta(days=1 + n % 5),
                lines=[Line("SKU-LOT", "1", lot=f"P-{n:02d}")])
    first = browser.get("/lots/near-expiry", headers={"Accept-Language": "en"}).text
    assert "52 lots" in first
    assert 'page=2">2</a>' in first
    second = browser.get("/lots/near-expiry", params={"page": "2"}).text
    assert second.count('<tr class="lot-') == 2


def test_page_needs_stock_view(app, db, network):
    roles.save_role(db.uow(), network, "nothing", name="nothing", permissions=["sku.view"])
    auth.create_user(db.uow(), username="nobody", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "nobody", [{"role": "nothing", "scope": "all"}])
    with login(app, "nobody") as client:
        assert client.get("/lots/near-expiry").status_code == 403
        assert client.get("/api/v1/lots/near-expiry").status_code == 403
