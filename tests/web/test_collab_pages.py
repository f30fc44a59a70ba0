"""Collaboration in the browser and over the API: the bell and the inbox, tasks for users and
roles, comments with @mentions and the timeline and next steps on document pages."""

import pytest
from fastapi.testclient import TestClient

from cangliu.core.ledger import StockStatus
from cangliu.db import audit
from cangliu.services import auth, masterdata, purchasing, roles, sales, stock, transfers
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn
from cangliu.services.sales import SalesLineIn
from cangliu.services.scrap import scrap
from cangliu.services.stock import Line
from cangliu.services.transfers import TransferLineIn
from tests.conftest import PASSWORD
from tests.web.conftest import login


def _token_client(app, username):
    client = TestClient(app)
    token = client.post("/api/v1/auth/login",
                        json={"username": username, "password": PASSWORD}).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    client.headers["Accept-Language"] = "en"
    return client


@pytest.fixture
def people(db, network):
    """alice: a warehouse clerk everywhere; bob: a salesperson at store S2 only."""
    for name, role in (("alice", {"role": "clerk", "scope": "all"}),
                       ("bob", {"role": "sales", "scope": "sites", "sites": ["S2"]})):
        auth.create_user(db.uow(), username=name, password=PASSWORD)
        roles.set_assignments(db.uow(), network, name, [role])


@pytest.fixture
def alice(app, people):
    with _token_client(app, "alice") as client:
        yield client


@pytest.fixture
def bob(app, people):
    with _token_client(app, "bob") as client:
        yield client


@pytest.fixture
def order(db, network):
    """A purchase order for WH, approved, with 10 units received."""
    masterdata.create(db.uow(), network, "supplier", {"code": "V1", "name": "供应商一"})
    with audit.acting(network):
        po = purchasing.create_purchase(db.uow(), Meta(network), supplier="V1", site="WH",
                                        lines=[PurchaseLineIn("SKU-1", "10", "2")])
        purchasing.submit_purchase(db.uow(), Meta(network), number=po["number"])
        purchasing.receive_purchase(db.uow(), Meta(network), number=po["number"],
                                    lines=[ReceiptIn(1, "10", None, None)])
    return po["number"]


def test_a_mention_lights_the_bell_and_reading_it_puts_it_out(app, api, alice, bob, order):
    url = f"/api/v1/documents/purchase/{order}/comments"
    posted = api.post(url, json={"body": "@alice please put SKU-1 away"})
    assert posted.status_code == 201 and posted.json()["mentions"] == ["alice"]
    inbox = alice.get("/api/v1/notifications").json()
    assert inbox["unread"] == 1
    [message] = inbox["items"]
    assert message["title"] == f"admin mentioned you on {order}"
    assert message["link"].startswith(f"/docs/purchase-orders/{order}#comment-")
    assert bob.get("/api/v1/notifications/unread-count").json() == {"unread": 0}
    assert bob.post(f"/api/v1/notifications/{message['id']}/read").status_code == 404
    assert alice.get("/api/v1/notifications/unread-count").json() == {"unread": 1}
    read = alice.post(f"/api/v1/notifications/{message['id']}/read")
    assert read.status_code == 200 and read.json()["read"] is True
    assert alice.get("/api/v1/notifications?unread=true").json()["items"] == []
    assert [c["body"] for c in api.get(url).json()["items"]] == ["@alice please put SKU-1 away"]


def test_a_bad_comment_is_refused_naming_the_field_and_nothing_changes(api, alice, order):
    url = f"/api/v1/documents/purchase/{order}/comments"
    unknown = api.post(url, json={"body": "@alice and @ghost"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body" and "ghost" in unknown.json()["detail"]
    extra = api.post(url, json={"body": "hi", "author": "someone-else"})
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "author"
    assert api.post(url, json={"body": ""}).status_code == 422
    assert api.get(url).json()["items"] == []
    assert alice.get("/api/v1/notifications/unread-count").json() == {"unread": 0}


def test_comments_follow_the_documents_permissions_and_scope(db, network, alice, bob, order):
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    sale = sales.create_sale(db.uow(), Meta(network), customer="C1", site="WH",
                             lines=[SalesLineIn("SKU-1", "1", "5")])["number"]
    # bob sells at S2: a WH order is out of his scope, a purchase order beyond his role
    assert bob.get(f"/api/v1/documents/sales/{sale}/comments").status_code == 404
    assert bob.get(f"/api/v1/documents/purchase/{order}/comments").status_code == 403
    assert alice.get(f"/api/v1/documents/purchase/{order}/comments").status_code == 200
    assert alice.get("/api/v1/documents/purchase/PO-NOPE/comments").status_code == 404
    assert alice.get(f"/api/v1/documents/invoice/{order}/comments").status_code == 422
    story = alice.get(f"/api/v1/documents/purchase/{order}/timeline").json()["items"]
    assert [e["event"] for e in story][:2] == ["created", "state"]


def test_a_task_for_a_role_reaches_its_holders_and_a_stale_edit_changes_nothing(api, alice, bob,
                                                                                order):
    created = api.post("/api/v1/tasks", json={
        "title": "Put away PO", "role": "clerk", "due_date": "2026-01-05",
        "document_kind": "purchase", "document_number": order})
    assert created.status_code == 201
    task = created.json()
    mine = alice.get("/api/v1/tasks?scope=role").json()["items"]
    assert [t["id"] for t in mine] == [task["id"]]
    assert alice.get("/api/v1/tasks?overdue=true").json()["items"][0]["id"] == task["id"]
    assert alice.get("/api/v1/notifications").json()["items"][0]["title"] == \
        "admin assigned you a task: Put away PO"
    assert bob.get("/api/v1/tasks").json()["items"] == []
    assert bob.get(f"/api/v1/tasks/{task['id']}").status_code == 404
    done = alice.patch(f"/api/v1/tasks/{task['id']}", json={"version": 1, "status": "done"})
    assert done.status_code == 200 and done.json()["version"] == 2
    stale = api.patch(f"/api/v1/tasks/{task['id']}", json={"version": 1, "status": "cancelled"})
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert api.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "done"


@pytest.mark.parametrize(("body", "field"), [
    ({"title": "x", "assignee": "nobody"}, "assignee"),
    ({"title": "x", "role": "astronaut"}, "role"),
    ({"title": "x", "assignee": "alice", "role": "clerk"}, "assignee"),
    ({"title": "x", "assignee": "alice", "priority": "high"}, "priority"),
    ({"title": "", "assignee": "alice"}, "title"),
    ({"title": "x", "assignee": "alice", "due_date": "soon"}, "due_date"),
    ({"title": "x", "assignee": "alice", "document_kind": "invoice"}, "document_kind"),
])
def test_a_bad_task_is_refused_naming_the_field(api, alice, body, field):
    refused = api.post("/api/v1/tasks", json=body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == field
    assert api.get("/api/v1/tasks?scope=created").json()["items"] == []
    assert alice.get("/api/v1/notifications/unread-count").json() == {"unread": 0}


def test_a_received_purchase_order_page_shows_timeline_next_steps_and_takes_comments(
        app, browser, people, order):
    page = browser.get(f"/docs/purchase-orders/{order}").text
    assert 'id="collab"' in page and page.count("<li><time") == 5  # created … received
    assert "/docs/sales-orders/new?site=WH&amp;lines=SKU-1+10" in page  # the chain's next step
    assert f'action="/collab/purchase/{order}/payment"' in page  # settle with the supplier
    new_sale = browser.get("/docs/sales-orders/new?site=WH&lines=SKU-1+10").text
    assert "SKU-1 10</textarea>" in new_sale
    posted = browser.post(f"/collab/purchase/{order}/comments",
                          data={"csrf_token": browser.csrf, "body": "@alice done?"},
                          follow_redirects=False)
    assert posted.status_code == 303
    assert posted.headers["location"] == f"/docs/purchase-orders/{order}#collab"
    assert "@alice done?" in browser.get(f"/docs/purchase-orders/{order}").text
    refused = browser.post(f"/collab/purchase/{order}/comments",
                           data={"csrf_token": browser.csrf, "body": "@ghost hi"},
                           headers={"HX-Request": "true"})
    assert refused.status_code == 200 and refused.text.startswith('<section id="collab"')
    assert "ghost" in refused.text and 'class="error"' in refused.text
    with login(app, "alice") as alice:
        stock_page = alice.get("/stock").text
        assert 'class="badge"' in stock_page and ">1</span>" in stock_page
        inbox = alice.get("/inbox").text
        assert "admin" in inbox and order in inbox
        note_id = inbox.split('id="notification-')[1].split('"')[0]
        opened = alice.post(f"/inbox/{note_id}/read", data={"csrf_token": alice.csrf, "open": "1"},
                            follow_redirects=False)
        assert opened.headers["location"].startswith(f"/docs/purchase-orders/{order}#comment-")
        assert 'class="badge"' not in alice.get("/inbox/badge").text


def test_settling_a_purchase_order_from_its_page(browser, order):
    page = browser.get(f"/docs/purchase-orders/{order}").text
    assert 'name="amount" value="20.00"' in page
    paid = browser.post(f"/collab/purchase/{order}/payment", data={
        "csrf_token": browser.csrf, "key": "pay-1", "amount": "20.00", "paid_on": "2026-11-23"},
        follow_redirects=False)
    assert paid.status_code == 303
    after = browser.get(f"/docs/purchase-orders/{order}").text
    assert f'action="/collab/purchase/{order}/payment"' not in after  # nothing left to pay
    bad = browser.post(f"/collab/purchase/{order}/payment", data={
        "csrf_token": browser.csrf, "key": "pay-2", "amount": "", "paid_on": ""})
    assert bad.status_code == 422


def test_the_tasks_page_filters_and_highlights_overdue_tasks(app, browser, people, order):
    form = browser.get(f"/tasks?document_kind=purchase&document_number={order}").text
    assert f'name="document_number" value="{order}"' in form
    bad = browser.post("/tasks/new", data={"csrf_token": browser.csrf, "title": "Put away",
                                           "assignee": "ghost"})
    assert bad.status_code == 422 and "ghost" in bad.text
    made = browser.post("/tasks/new", data={
        "csrf_token": browser.csrf, "title": "Put away", "role": "clerk", "due_date": "2026-01-02",
        "document_kind": "purchase", "document_number": order}, follow_redirects=False)
    assert made.status_code == 303
    with login(app, "alice") as alice:
        page = alice.get("/tasks?scope=role").text
        assert 'class="overdue"' in page and "Put away" in page
        assert f'href="/docs/purchase-orders/{order}"' in page
        task_id = page.split('id="task-')[1].split('"')[0]
        done = alice.post(f"/tasks/{task_id}/status", data={
            "csrf_token": alice.csrf, "version": "1", "status": "done", "scope": "role"},
            follow_redirects=False)
        assert done.status_code == 303
        stale = alice.post(f"/tasks/{task_id}/status", data={
            "csrf_token": alice.csrf, "version": "1", "status": "cancelled", "scope": "role"})
        assert stale.status_code == 409
        assert "Put away" not in alice.get("/tasks?scope=role&status=open").text
    assert "Put away" in browser.get(f"/docs/purchase-orders/{order}").text  # on the document


def test_transfer_and_scrap_pages_carry_the_panel(browser, db, network):
    meta = Meta(network)
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5")])
    t = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                  lines=[TransferLineIn("SKU-1", "1")])["number"]
    sp = scrap(db.uow(), meta, site="WH", reason_code="damaged", lines=[Line("SKU-1", "1")],
               from_status=StockStatus.AVAILABLE)["number"]
    for url, kind, number in ((f"/transfers/{t}", "transfer", t), (f"/docs/scrap/{sp}", "scrap", sp)):
        page = browser.get(url).text
        assert f'action="/collab/{kind}/{number}/comments"' in page
    fragment = browser.get(f"/collab/scrap/{sp}", headers={"HX-Request": "true"}).text
    assert fragment.startswith('<section id="collab"') and 'class="card timeline"' in fragment
    assert fragment.count("<li><time") == 1  # the one posting of the write-off
    whole = browser.get(f"/collab/transfer/{t}").text  # without JavaScript: a page of its own
    assert f'<h1><a href="/transfers/{t}">' in whole and "<!doctype html>" in whole


def test_a_sales_order_offers_pick_and_ship_then_collecting_the_money(browser, db, network):
    meta = Meta(network)
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5")])
    so = sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                           lines=[SalesLineIn("SKU-1", "2", "9")])["number"]
    sales.confirm_sale(db.uow(), meta, number=so)
    page = browser.get(f"/docs/sales-orders/{so}").text
    assert f'class="button" href="/docs/sales-orders/{so}/pick-list"' in page
    assert f'href="/docs/sales-orders/{so}#entry-ship"' in page and 'id="entry-ship"' in page
    assert f"/collab/sales/{so}/payment" not in page  # nothing is owed before shipping
    sales.ship_sale(db.uow(), meta, number=so)
    shipped = browser.get(f"/docs/sales-orders/{so}").text
    assert f'action="/collab/sales/{so}/payment"' in shipped and 'value="18.00"' in shipped
    paid = browser.post(f"/collab/sales/{so}/payment", data={
        "csrf_token": browser.csrf, "key": "rc-1", "amount": "18.00", "paid_on": "2026-11-23"},
        follow_redirects=False)
    assert paid.status_code == 303
    story = browser.get(f"/api/v1/documents/sales/{so}/timeline").json()["items"]
    assert [e["event"] for e in story][-1] == "settled"
