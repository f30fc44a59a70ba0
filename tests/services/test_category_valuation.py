"""The valuation method per category: set through master data, and changed only while the company
holds none of the category's stock (the other method would read a position it never built)."""

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cangliu.config import Settings
from cangliu.core.errors import Conflict
from cangliu.db.models.ledger import CostLayer
from cangliu.services import masterdata, stock
from cangliu.services.stock import Line
from cangliu.web.app import create_app
from tests.conftest import PASSWORD

create, update, get = masterdata.create, masterdata.update_record, masterdata.get


def test_a_category_is_valued_by_moving_average_unless_it_asks_for_fifo(db, network):
    assert get(db.uow(), "category", "FOOD")["valuation"] == "moving_average"
    book = create(db.uow(), network, "category", {"code": "BOOK", "name": "图书",
                                                  "valuation": "fifo"})
    assert book["valuation"] == "fifo"


def test_a_category_changes_method_only_while_the_company_holds_none_of_its_stock(db, network, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "3", unit_cost="2")])
    with pytest.raises(Conflict) as refused:
        update(db.uow(), network, "category", "FOOD", 1, {"valuation": "fifo"})
    assert "SKU-1" in refused.value.params["skus"]
    assert get(db.uow(), "category", "FOOD")["valuation"] == "moving_average"
    update(db.uow(), network, "category", "FOOD", 1, {"name": "食品饮料"})  # other edits still pass

    stock.issue(db.uow(), meta, site="WH", lines=[Line("SKU-1", "3")])
    changed = update(db.uow(), network, "category", "FOOD", 2, {"valuation": "fifo"})
    assert changed["valuation"] == "fifo" and changed["version"] == 3
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "2", unit_cost="5")])
    with db.read() as s:  # from now on its receipts become cost layers
        assert s.scalars(select(CostLayer.remaining)).all() == [Decimal(2)]


def test_a_sku_holding_stock_cannot_move_to_a_category_with_another_method(db, network, meta):
    create(db.uow(), network, "category", {"code": "BOOK", "name": "图书", "valuation": "fifo"})
    create(db.uow(), network, "category", {"code": "DRINK", "name": "饮料"})
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "1", unit_cost="2")])
    with pytest.raises(Conflict):
        update(db.uow(), network, "sku", "SKU-1", 1, {"category": "BOOK"})
    moved = update(db.uow(), network, "sku", "SKU-1", 1, {"category": "DRINK"})  # same method
    assert moved["category"] == "DRINK"
    emptied = update(db.uow(), network, "sku", "SKU-KG", 1, {"category": "BOOK"})  # holds none
    assert emptied["category"] == "BOOK"


@pytest.fixture
def api(db, network):
    app = create_app(Settings(database_url=db.url, secret_key="test-secret"), db=db)
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/login",
                            json={"username": "admin", "password": PASSWORD}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def test_the_method_is_set_and_guarded_over_the_api(api):
    made = api.post("/api/v1/categories", json={"code": "BOOK", "name": "图书", "valuation": "fifo"})
    assert made.status_code == 201 and made.json()["valuation"] == "fifo"
    wrong = api.post("/api/v1/categories", json={"code": "X", "name": "x", "valuation": "lifo"})
    assert wrong.status_code == 422
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "1",
                                             "unit_cost": "2"})
    refused = api.patch("/api/v1/categories/FOOD", json={"version": 1, "valuation": "fifo"},
                        headers={"Accept-Language": "en"})
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "SKU-1" in refused.json()["detail"]


def test_the_category_form_offers_the_method_and_shows_the_refusal(api):
    page = api.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    api.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf,
                             "next": "/md/categories"})
    api.cookies.set("lang", "en")
    form = api.get("/md/categories/FOOD")
    assert '<select name="valuation">' in form.text and 'value="fifo"' in form.text
    csrf = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    saved = api.post("/md/categories/FOOD", data={"csrf_token": csrf, "version": "1",
                                                  "name": "食品", "valuation": "fifo"},
                     follow_redirects=False)
    assert saved.status_code == 303
    assert api.get("/api/v1/categories/FOOD").json()["valuation"] == "fifo"
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "1",
                                             "unit_cost": "2"}, headers={"X-CSRF-Token": csrf})
    refused = api.post("/md/categories/FOOD", data={"csrf_token": csrf, "version": "2",
                                                    "name": "食品", "valuation": "moving_average"})
    assert refused.status_code == 422 and "SKU-1" in refused.text  # the form, with the reason
