"""The offline batch: a scanning device's queued operations replayed exactly once, in order per
device, with refused ones in the review queue and every answer back to the device."""

import uuid
from decimal import Decimal

from sqlalchemy import func, select

from cangliu.db import queries
from cangliu.db.models import StockMove
from cangliu.services import auth, roles
from tests.conftest import PASSWORD
from tests.web.conftest import login


def op(seq, kind, payload, op_id=None):
    return {"id": op_id or uuid.uuid4().hex, "seq": seq, "kind": kind, "payload": payload,
            "at": "2026-11-24T08:00:00Z"}


def receive(qty, site="WH", sku="SKU-1"):
    return {"sku": sku, "site": site, "qty": str(qty), "reason": "scan"}


def issue(qty, site="S1", sku="SKU-1"):
    return {"sku": sku, "site": site, "qty": str(qty), "reason": "scan"}


def available(db, sku, site):
    with db.read() as session:
        rows = queries.single_view(session, sku)["sites"]
    return sum((Decimal(r["available"]) for r in rows if r["site"] == site), Decimal(0))


def moves(db):
    with db.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(StockMove))


def test_a_batch_applies_each_operation_once_and_a_resend_gets_the_same_answers(api, db):
    body = {"device": "PDA-1", "operations": [op(1, "stock.receive", receive(5)),
                                              op(2, "stock.receive", receive(7))]}
    first = api.post("/api/v1/offline/batch", json=body)
    assert first.status_code == 200, first.text
    assert [r["status"] for r in first.json()["results"]] == ["applied", "applied"]
    assert first.json()["next_seq"] == 3
    before = moves(db)
    again = api.post("/api/v1/offline/batch", json=body)
    assert again.json()["results"] == first.json()["results"]
    assert moves(db) == before
    assert available(db, "SKU-1", "WH") == 12


def test_an_operation_ahead_of_a_missing_one_waits_and_then_applies_in_order(api, db):
    late = op(2, "stock.issue", issue(3, site="WH"))
    answer = api.post("/api/v1/offline/batch", json={"device": "PDA-2", "operations": [late]})
    assert answer.json()["results"][0]["status"] == "waiting"
    assert answer.json()["next_seq"] == 1
    # Had the issue gone first it would have been refused: nothing was there yet.
    answer = api.post("/api/v1/offline/batch", json={
        "device": "PDA-2", "operations": [op(1, "stock.receive", receive(3))]})
    assert answer.json()["results"][0]["status"] == "applied"
    resent = api.post("/api/v1/offline/batch", json={"device": "PDA-2", "operations": [late]})
    assert resent.json()["results"][0]["status"] == "applied"
    assert available(db, "SKU-1", "WH") == 0


def test_a_refused_operation_goes_to_review_and_can_be_retried_or_dismissed(api, db):
    ops = [op(1, "stock.issue", issue(4, site="WH")), op(2, "stock.issue", issue(1, site="WH"))]
    answer = api.post("/api/v1/offline/batch", json={"device": "PDA-3", "operations": ops})
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["failed", "failed"]
    assert results[0]["error"]["status"] == 409
    queue = api.get("/api/v1/offline/review").json()["items"]
    assert [q["seq"] for q in queue] == [1, 2]
    refused = api.post(f"/api/v1/offline/review/{queue[1]['id']}/dismiss", json={"note": " "})
    assert refused.status_code == 422
    assert api.post(f"/api/v1/offline/review/{queue[1]['id']}/dismiss",
                    json={"note": "counted again, nothing left"}).json()["status"] == "dismissed"
    api.post("/api/v1/stock/receive", json=receive(4))
    retried = api.post(f"/api/v1/offline/review/{queue[0]['id']}/retry")
    assert retried.json()["status"] == "applied"
    assert available(db, "SKU-1", "WH") == 0
    assert api.get("/api/v1/offline/review").json()["items"] == []
    history = api.get("/api/v1/offline/devices/PDA-3/operations").json()["items"]
    assert [(h["status"], h["review"] is not None) for h in history] == [
        ("applied", True), ("failed", True)]
    again = api.post(f"/api/v1/offline/review/{queue[0]['id']}/retry")
    assert again.status_code == 409


def test_a_reused_id_or_number_with_other_content_is_rejected_and_changes_nothing(api, db):
    first = op(1, "stock.receive", receive(5), op_id="same")
    api.post("/api/v1/offline/batch", json={"device": "PDA-4", "operations": [first]})
    before = moves(db)
    changed = op(1, "stock.receive", receive(50), op_id="same")
    other = op(1, "stock.receive", receive(5), op_id="other")
    answer = api.post("/api/v1/offline/batch", json={"device": "PDA-4",
                                                     "operations": [changed, other]})
    assert [r["status"] for r in answer.json()["results"]] == ["rejected", "rejected"]
    assert "same" in answer.json()["results"][0]["error"]["detail"]
    assert moves(db) == before
    assert available(db, "SKU-1", "WH") == 5


def test_document_operations_post_through_their_document(api, db):
    po = api.post("/api/v1/purchase-orders", json={
        "supplier": "SUP", "site": "WH", "lines": [{"sku": "SKU-1", "qty": "10", "price": "2"}]})
    if po.status_code == 422:  # the seed network has no supplier: add one
        api.post("/api/v1/suppliers", json={"code": "SUP", "name": "供应商"})
        po = api.post("/api/v1/purchase-orders", json={
            "supplier": "SUP", "site": "WH", "lines": [{"sku": "SKU-1", "qty": "10", "price": "2"}]})
    number = po.json()["number"]
    api.post(f"/api/v1/purchase-orders/{number}/submit", json={})
    receipt = {"number": number, "lines": [{"line_no": 1, "qty": "4"}]}
    answer = api.post("/api/v1/offline/batch", json={
        "device": "PDA-5", "operations": [op(1, "purchase.receive", receipt),
                                          op(2, "purchase.receive", {"lines": []})]})
    results = answer.json()["results"]
    assert results[0]["status"] == "applied", results[0]
    assert results[0]["result"]["lines"][0]["received_qty"] == "4"
    assert results[1]["status"] == "failed"
    assert results[1]["error"]["errors"][0]["field"] == "payload.number"
    assert available(db, "SKU-1", "WH") == 4


def test_a_malformed_batch_is_refused_naming_the_field(api):
    bad = api.post("/api/v1/offline/batch", json={"device": "PDA 6!", "operations": [
        op(0, "stock.melt", {})]})
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"device", "operations[0].seq", "operations[0].kind"} <= fields


def test_the_browser_session_needs_its_csrf_token_and_the_sender_needs_the_permission(app, admin, db):
    auth.create_user(db.uow(), username="sales1", password=PASSWORD)
    roles.set_assignments(db.uow(), admin, "sales1", [{"role": "sales", "scope": "all"}])
    body = {"device": "PDA-7", "operations": [op(1, "stock.receive", receive(1))]}
    with login(app, "admin") as browser:
        assert browser.post("/api/v1/offline/batch", json=body).status_code == 403
        answer = browser.post("/api/v1/offline/batch", json=body,
                              headers={"X-CSRF-Token": browser.csrf})
        assert answer.json()["results"][0]["status"] == "applied"
    with login(app, "sales1") as seller:
        answer = seller.post("/api/v1/offline/batch", headers={"X-CSRF-Token": seller.csrf},
                             json={"device": "PDA-8", "operations": [op(1, "stock.receive", receive(1))]})
        assert answer.json()["results"][0]["status"] == "failed"
        assert answer.json()["results"][0]["error"]["status"] == 403
        assert seller.get("/api/v1/offline/review").status_code == 403


def test_the_review_page_lists_refused_operations_and_applies_or_closes_them(api, browser, db):
    api.post("/api/v1/offline/batch", json={"device": "PDA-9", "operations": [
        op(1, "stock.issue", issue(2, site="WH")), op(2, "stock.issue", issue(1, site="WH"))]})
    page = browser.get("/scan/review")
    assert page.status_code == 200
    queue = api.get("/api/v1/offline/review").json()["items"]
    assert all(f'id="op-{q["id"]}"' in page.text for q in queue)
    assert "PDA-9 #1" in page.text
    closed = browser.post(f"/scan/review/{queue[1]['id']}/dismiss", follow_redirects=False,
                          data={"note": "miscounted", "csrf_token": browser.csrf})
    assert closed.status_code == 303
    refused = browser.post(f"/scan/review/{queue[0]['id']}/retry",
                           data={"csrf_token": browser.csrf})
    assert "was refused again" in refused.text or "再次被拒" in refused.text
    api.post("/api/v1/stock/receive", json=receive(2))
    applied = browser.post(f"/scan/review/{queue[0]['id']}/retry",
                           data={"csrf_token": browser.csrf})
    assert f'id="op-{queue[0]["id"]}"' not in applied.text
    assert available(db, "SKU-1", "WH") == 0
    done = browser.get("/scan/review?status=dismissed").text
    assert "miscounted" in done
