"""The audit log: every service write leaves a row with who, where and the diff; rows cannot be
changed or removed; the hash chain shows tampering and stays linear under concurrent writers."""

import json
import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from cangliu.cli import app as cli
from cangliu.config import get_settings
from cangliu.core.ledger import StockStatus
from cangliu.db import audit as capture
from cangliu.db.engine import normalize_url
from cangliu.db.models import AuditEvent
from cangliu.services import (
    accounts,
    auth,
    comments,
    counts,
    history,
    locks,
    masterdata,
    periods,
    purchasing,
    roles,
    sales,
    scrap,
    stock,
    tasks,
    transfers,
)
from cangliu.services.audit import Filters, list_events, verify_chain
from cangliu.services.counts import CountIn
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn, ReturnIn
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.stock import Line
from cangliu.services.tasks import TaskIn
from cangliu.services.transfers import DestinationIn, ReceiptLineIn, TransferLineIn
from tests.conftest import PASSWORD

CLIENT = auth.Client(address="10.0.0.9", user_agent="pytest")


def events(db, after: int = 0) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)))


def last_id(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def one(rows, entity, action=None):
    found = [r for r in rows if r.entity == entity and (action is None or r.action == action)]
    assert len(found) == 1, [(r.entity, r.action, r.entity_key) for r in rows]
    return found[0]


def diff(row):
    return (json.loads(row.before) if row.before else None,
            json.loads(row.after) if row.after else None)


# ---- each kind of write records who and what changed ----------------------------------------


def test_master_data_create_and_update_record_the_actor_and_the_changed_fields(db, network):
    with capture.acting(network, address="192.0.2.7", request_id="req-1"):
        masterdata.create(db.uow(), network, "supplier", {"code": "SUP-9", "name": "甲"})
        mark = last_id(db)
        masterdata.update_record(db.uow(), network, "supplier", "SUP-9", 1,
                                 {"name": "乙", "lead_time_days": 3})
    created = one(events(db), "supplier", "create")
    assert created.entity_key == "SUP-9" and diff(created)[0] is None
    assert diff(created)[1]["name"] == "甲"
    updated = one(events(db, mark), "supplier")
    assert updated.action == "update" and updated.entity_key == "SUP-9"
    assert diff(updated) == ({"name": "甲", "lead_time_days": 7, "version": 1},
                             {"name": "乙", "lead_time_days": 3, "version": 2})
    assert (updated.username, updated.user_id, updated.address, updated.request_id) == (
        "admin", network.user_id, "192.0.2.7", "req-1")
    assert updated.at.tzinfo is not None


def test_a_write_outside_any_request_is_recorded_as_the_system(db, network):
    mark = last_id(db)
    masterdata.create(db.uow(), network, "customer", {"code": "C-9", "name": "客户"})
    row = one(events(db, mark), "customer")
    assert (row.username, row.user_id) == ("system", None)


def _supplier(db, actor):
    masterdata.create(db.uow(), actor, "supplier", {"code": "SUP-1", "name": "供应商"})
    purchasing.set_supplier_price(db.uow(), actor, supplier="SUP-1", sku="SKU-1", price="2.50")


def test_a_document_create_edit_and_action_each_leave_their_diff(db, meta, network):
    _supplier(db, network)
    with capture.acting(network):
        po = purchasing.create_purchase(db.uow(), meta, supplier="SUP-1", site="WH",
                                        lines=[PurchaseLineIn("SKU-1", "10")])
        rows = events(db, last_id(db) - 2)
        order = one(rows, "purchase_order", "create")
        assert order.entity_key == po["number"] and diff(order)[1]["state"] == "draft"
        line = one(rows, "purchase_line", "create")
        assert line.entity_key == f"{po['number']}#1" and diff(line)[1]["qty"] == "10"

        mark = last_id(db)
        purchasing.update_purchase(db.uow(), meta, number=po["number"], version=1,
                                   lines=[PurchaseLineIn("SKU-1", "12")])
        rows = events(db, mark)
        assert one(rows, "purchase_order").action == "update"
        # the draft's lines are replaced as a whole: the old quantity before, the new one after
        # (one update where the database reuses the row id, else a delete and a create)
        lines = [r for r in rows if r.entity == "purchase_line"]
        assert {r.entity_key for r in lines} == {f"{po['number']}#1"}
        assert "10" in {(diff(r)[0] or {}).get("qty") for r in lines}
        assert "12" in {(diff(r)[1] or {}).get("qty") for r in lines}

        mark = last_id(db)
        purchasing.submit_purchase(db.uow(), meta, number=po["number"])
        submitted = one(events(db, mark), "purchase_order")
        assert diff(submitted) == ({"state": "draft", "version": 2}, {"state": "approved", "version": 3})
        assert submitted.username == "admin"


def test_closing_a_period_records_the_setting_before_and_after(db, network):
    with capture.acting(network):
        periods.close_period(db.uow(), network, through=date(2026, 1, 31))
        mark = last_id(db)
        periods.close_period(db.uow(), network, through=date(2026, 2, 28))
    first = one(events(db), "setting", "create")
    assert first.entity_key == periods.CLOSE_SETTING and diff(first)[1]["value"] == "2026-01-31"
    second = one(events(db, mark), "setting")
    assert diff(second) == ({"value": "2026-01-31"}, {"value": "2026-02-28"})


def test_secrets_never_reach_the_audit_log(db, network):
    key = auth.secret_key(db.uow())
    auth.create_token(db.uow(), network, name="erp", days=5, client=CLIENT)
    with db.read() as s:
        text_of_log = " ".join(f"{r.before} {r.after}" for r in s.scalars(select(AuditEvent)))
    assert key not in text_of_log
    assert '"password_hash": "***"' in text_of_log and '"token_hash": "***"' in text_of_log


# ---- walk every service write -----------------------------------------------------------------
# One case per write path; a new service write gets a new line here. Ledger-only postings (stock
# receive/issue/move/adjust/status, reversals, scrap) are recorded in the immutable stock_move
# ledger itself and are listed in LEDGER_ONLY below, which checks that they write moves instead.


@pytest.fixture
def world(db, network):
    """Partners, prices, stock at WH and S1, and one document of each kind in a useful state."""
    actor = network
    m = Meta(actor=actor, reason="setup")
    _supplier(db, actor)
    masterdata.create(db.uow(), actor, "customer", {"code": "CUS-1", "name": "客户"})
    sales.set_customer_price(db.uow(), actor, customer="CUS-1", sku="SKU-1", price="5")
    stock.receive(db.uow(), m, site="WH", lines=[Line("SKU-1", "100", unit_cost="2")])
    stock.receive(db.uow(), m, site="S1", lines=[Line("SKU-1", "50", unit_cost="2")])
    stock.change_status(db.uow(), m, site="WH", from_status=StockStatus.AVAILABLE,
                        to_status=StockStatus.DAMAGED, lines=[Line("SKU-1", "5")])
    w = {"meta": m}

    def po(state):
        doc = purchasing.create_purchase(db.uow(), m, supplier="SUP-1", site="WH",
                                         lines=[PurchaseLineIn("SKU-1", "10")])
        if state != "draft":
            doc = purchasing.submit_purchase(db.uow(), m, number=doc["number"])
        if state == "received":
            doc = purchasing.receive_purchase(db.uow(), m, number=doc["number"],
                                              lines=[ReceiptIn(1, "10")])
        return doc["number"]

    def so(state):
        doc = sales.create_sale(db.uow(), m, customer="CUS-1", site="WH",
                                lines=[SalesLineIn("SKU-1", "3")])
        if state != "draft":
            doc = sales.confirm_sale(db.uow(), m, number=doc["number"])
        if state == "shipped":
            doc = sales.ship_sale(db.uow(), m, number=doc["number"])
        return doc["number"]

    def to(state):
        # A store replenishment within one region: its policy approves it as it is submitted.
        doc = transfers.create_transfer(db.uow(), m, source="WH", dest="S1",
                                        lines=[TransferLineIn("SKU-1", "4")])
        if state != "draft":
            doc = transfers.submit_transfer(db.uow(), m, number=doc["number"])
        if state == "shipped":
            doc = transfers.ship_transfer(db.uow(), m, number=doc["number"])
        return doc["number"]

    def count(state):
        doc = counts.start_count(db.uow(), m, site="S1")
        if state in ("recorded", "submitted"):
            doc = counts.record_counts(db.uow(), m, number=doc["number"],
                                       entries=[CountIn("SKU-1", "49")])
        if state == "submitted":
            doc = counts.submit_count(db.uow(), m, number=doc["number"])
        return doc["number"]

    w.update(po=po, so=so, to=to, count=count)
    return w


WRITES = {
    "masterdata.create category": lambda db, a, m, w: masterdata.create(
        db.uow(), a, "category", {"code": "DRINK", "name": "饮料"}),
    "masterdata.create sku": lambda db, a, m, w: masterdata.create(
        db.uow(), a, "sku", {"code": "SKU-9", "name": "茶", "barcodes": ["6900000000093"]}),
    "masterdata.create site": lambda db, a, m, w: masterdata.create(
        db.uow(), a, "site", {"code": "S9", "name": "门店九", "site_kind": "store"}),
    "masterdata.create location": lambda db, a, m, w: masterdata.create(
        db.uow(), a, "location", {"code": "WH-A2", "name": "A2", "kind": "bin", "parent": "WH"}),
    "masterdata.create supplier": lambda db, a, m, w: masterdata.create(
        db.uow(), a, "supplier", {"code": "SUP-9", "name": "供应商九"}),
    "masterdata.create customer": lambda db, a, m, w: masterdata.create(
        db.uow(), a, "customer", {"code": "CUS-9", "name": "客户九"}),
    "masterdata.update_record": lambda db, a, m, w: masterdata.update_record(
        db.uow(), a, "sku", "SKU-1", 1, {"name": "矿泉水 550ml", "barcodes": ["6900000000024"]}),
    "purchasing.set_supplier_price": lambda db, a, m, w: purchasing.set_supplier_price(
        db.uow(), a, supplier="SUP-1", sku="SKU-1", price="2.75"),
    "sales.set_customer_price": lambda db, a, m, w: sales.set_customer_price(
        db.uow(), a, customer="CUS-1", sku="SKU-1", price="6"),
    "purchasing.create_purchase": lambda db, a, m, w: w["po"]("draft"),
    "purchasing.update_purchase": lambda db, a, m, w: purchasing.update_purchase(
        db.uow(), m, number=w["num"], version=1, lines=[PurchaseLineIn("SKU-1", "11")]),
    "purchasing.submit_purchase": lambda db, a, m, w: purchasing.submit_purchase(
        db.uow(), m, number=w["num"]),
    "purchasing.receive_purchase": lambda db, a, m, w: purchasing.receive_purchase(
        db.uow(), m, number=w["num"], lines=[ReceiptIn(1, "4")]),
    "purchasing.return_purchase": lambda db, a, m, w: purchasing.return_purchase(
        db.uow(), m, number=w["num"], lines=[ReturnIn(1, "2")]),
    "purchasing.cancel_purchase": lambda db, a, m, w: purchasing.cancel_purchase(
        db.uow(), m, number=w["num"]),
    "purchasing.close_purchase": lambda db, a, m, w: purchasing.close_purchase(
        db.uow(), m, number=w["num"]),
    "sales.create_sale": lambda db, a, m, w: w["so"]("draft"),
    "sales.update_sale": lambda db, a, m, w: sales.update_sale(
        db.uow(), m, number=w["num"], version=1, lines=[SalesLineIn("SKU-1", "2")]),
    "sales.confirm_sale": lambda db, a, m, w: sales.confirm_sale(db.uow(), m, number=w["num"]),
    "sales.ship_sale": lambda db, a, m, w: sales.ship_sale(db.uow(), m, number=w["num"]),
    "sales.return_sale": lambda db, a, m, w: sales.return_sale(
        db.uow(), m, number=w["num"], lines=[LineQty(1, "1")]),
    "sales.cancel_sale": lambda db, a, m, w: sales.cancel_sale(db.uow(), m, number=w["num"]),
    "sales.close_sale": lambda db, a, m, w: sales.close_sale(db.uow(), m, number=w["num"]),
    "transfers.create_transfer": lambda db, a, m, w: w["to"]("draft"),
    "transfers.create_transfers": lambda db, a, m, w: transfers.create_transfers(
        db.uow(), m, source="WH", destinations=[DestinationIn("S1", [TransferLineIn("SKU-1", "1")]),
                                                DestinationIn("S2", [TransferLineIn("SKU-1", "1")])]),
    "transfers.update_transfer": lambda db, a, m, w: transfers.update_transfer(
        db.uow(), m, number=w["num"], version=1, lines=[TransferLineIn("SKU-1", "3")]),
    "transfers.submit_transfer": lambda db, a, m, w: transfers.submit_transfer(
        db.uow(), m, number=w["num"]),
    "transfers.ship_transfer": lambda db, a, m, w: transfers.ship_transfer(
        db.uow(), m, number=w["num"]),
    "transfers.receive_transfer": lambda db, a, m, w: transfers.receive_transfer(
        db.uow(), m, number=w["num"], lines=[ReceiptLineIn(1, received="4")]),
    "transfers.cancel_transfer": lambda db, a, m, w: transfers.cancel_transfer(
        db.uow(), m, number=w["num"]),
    "counts.start_count": lambda db, a, m, w: w["count"]("counting"),
    "counts.record_counts": lambda db, a, m, w: counts.record_counts(
        db.uow(), m, number=w["num"], entries=[CountIn("SKU-1", "48")]),
    "counts.submit_count": lambda db, a, m, w: counts.submit_count(db.uow(), m, number=w["num"]),
    "counts.post_count": lambda db, a, m, w: counts.post_count(db.uow(), m, number=w["num"]),
    "counts.reopen_count": lambda db, a, m, w: counts.reopen_count(db.uow(), m, number=w["num"]),
    "counts.cancel_count": lambda db, a, m, w: counts.cancel_count(db.uow(), m, number=w["num"]),
    "accounts.record_payment": lambda db, a, m, w: accounts.record_payment(
        db.uow(), m, kind="payable", partner="SUP-1", amount="10", paid_on=date(2026, 11, 23)),
    "periods.close_period": lambda db, a, m, w: periods.close_period(
        db.uow(), a, through=date(2020, 1, 31)),
    "auth.create_user": lambda db, a, m, w: auth.create_user(
        db.uow(), username="clerk", password=PASSWORD),
    "auth.change_password": lambda db, a, m, w: auth.change_password(
        db.uow(), a, current_password=PASSWORD, new_password="another-long-password",
        keep_session=None, client=CLIENT),
    "auth.create_token": lambda db, a, m, w: auth.create_token(
        db.uow(), a, name="erp", days=5, client=CLIENT),
    "auth.revoke_token": lambda db, a, m, w: auth.revoke_token(db.uow(), a, ref=w["num"], client=CLIENT),
    "roles.save_role": lambda db, a, m, w: roles.save_role(
        db.uow(), a, "auditor", name="审计员", permissions=["audit.view"]),
    "roles.set_assignments": lambda db, a, m, w: roles.set_assignments(
        db.uow(), a, "admin", [{"role": "admin"}, {"role": "finance", "scope": "region",
                                                    "region": "华东"}]),
    "masterdata.delete_record": lambda db, a, m, w: masterdata.delete_record(
        db.uow(), a, "customer", "CUS-1", 1),
    "history.restore": lambda db, a, m, w: history.restore(
        db.uow(), a, "sku", "SKU-1", 1, w["num"]),
    "locks.acquire": lambda db, a, m, w: locks.acquire(db.uow(), a, "sku", "SKU-1"),
    "tasks.create_task": lambda db, a, m, w: tasks.create_task(
        db.uow(), a, TaskIn("盘点 A 区", assignee="admin")),
    "comments.add_comment": lambda db, a, m, w: comments.add_comment(
        db.uow(), a, kind="purchase", number=w["num"], body="请尽快收货 @admin"),
}
# What each case needs first: a document (or token) in the right state, named by w["num"].
PREPARE = {
    "purchasing.update_purchase": ("po", "draft"), "purchasing.submit_purchase": ("po", "draft"),
    "purchasing.receive_purchase": ("po", "approved"), "purchasing.cancel_purchase": ("po", "approved"),
    "purchasing.return_purchase": ("po", "received"), "purchasing.close_purchase": ("po", "received"),
    "sales.update_sale": ("so", "draft"), "sales.confirm_sale": ("so", "draft"),
    "sales.ship_sale": ("so", "confirmed"), "sales.cancel_sale": ("so", "confirmed"),
    "sales.return_sale": ("so", "shipped"), "sales.close_sale": ("so", "shipped"),
    "transfers.update_transfer": ("to", "draft"), "transfers.submit_transfer": ("to", "draft"),
    "transfers.ship_transfer": ("to", "approved"), "transfers.cancel_transfer": ("to", "approved"),
    "transfers.receive_transfer": ("to", "shipped"),
    "counts.record_counts": ("count", "counting"), "counts.submit_count": ("count", "recorded"),
    "counts.post_count": ("count", "submitted"), "counts.reopen_count": ("count", "submitted"),
    "counts.cancel_count": ("count", "counting"),
    "comments.add_comment": ("po", "draft"),
}


@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_service_write_leaves_an_audit_row_naming_its_actor(db, world, network, name):
    if name in PREPARE:
        kind, state = PREPARE[name]
        world["num"] = world[kind](state)
    if name == "history.restore":  # a second version of SKU-1 to go back from
        world["num"] = masterdata.update_record(db.uow(), network, "sku", "SKU-1", 1,
                                                {"name": "矿泉水 1L"})["version"]
    if name == "auth.revoke_token":
        world["num"] = auth.create_token(db.uow(), network, name="old", days=1, client=CLIENT)["id"]
    mark = last_id(db)
    with capture.acting(network, address="198.51.100.4"):
        WRITES[name](db, network, world["meta"], world)
    rows = events(db, mark)
    assert rows, f"{name} wrote nothing to the audit log"
    assert {(r.username, r.address) for r in rows} == {("admin", "198.51.100.4")}
    assert verify_chain(db.uow()).intact


LEDGER_ONLY = {
    "stock.receive": lambda db, m: stock.receive(db.uow(), m, site="WH", lines=[Line("SKU-1", "1")]),
    "stock.issue": lambda db, m: stock.issue(db.uow(), m, site="WH", lines=[Line("SKU-1", "1")]),
    "stock.move": lambda db, m: stock.move(db.uow(), m, from_site="WH", to_site="S1",
                                           lines=[Line("SKU-1", "1")]),
    "stock.adjust": lambda db, m: stock.adjust(db.uow(), m, site="WH", gain=True,
                                               lines=[Line("SKU-1", "1")]),
    "stock.change_status": lambda db, m: stock.change_status(
        db.uow(), m, site="WH", from_status=StockStatus.AVAILABLE, to_status=StockStatus.QUALITY_HOLD,
        lines=[Line("SKU-1", "1")]),
    "scrap.scrap": lambda db, m: scrap.scrap(db.uow(), m, site="WH", reason_code="damaged",
                                             lines=[Line("SKU-1", "1")]),
}


@pytest.mark.parametrize("name", sorted(LEDGER_ONLY))
def test_ledger_only_postings_are_kept_in_the_ledger_not_duplicated_into_the_audit_log(
        db, world, name):
    from cangliu.db.models import StockMove
    with db.read() as s:
        moves = s.scalar(select(func.count()).select_from(StockMove))
    mark = last_id(db)
    LEDGER_ONLY[name](db, world["meta"])
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(StockMove)) > moves
    assert all(r.entity not in ("stock_move", "stock_balance") for r in events(db, mark))


# ---- append-only and tamper-evident -----------------------------------------------------------


def _raw(db, sql: str) -> None:
    engine = create_engine(normalize_url(db.url))
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


@pytest.mark.parametrize("sql", ["UPDATE audit_event SET username = 'mallory' WHERE id = 2",
                                 "DELETE FROM audit_event WHERE id = 2"])
def test_the_database_refuses_to_change_or_delete_an_audit_row(db, network, sql):
    assert len(events(db)) >= 3
    with pytest.raises(DBAPIError, match="append-only"):
        _raw(db, sql)
    assert events(db)[1].username != "mallory" and verify_chain(db.uow()).intact


def test_truncating_the_audit_log_is_refused_on_postgresql(db, network):
    if db.dialect != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    with pytest.raises(DBAPIError, match="append-only"):
        _raw(db, "TRUNCATE audit_event")


def _drop_triggers(db) -> None:
    if db.dialect == "postgresql":
        _raw(db, "ALTER TABLE audit_event DISABLE TRIGGER USER")
    else:
        _raw(db, "DROP TRIGGER audit_event_no_update")
        _raw(db, "DROP TRIGGER audit_event_no_delete")


def test_an_altered_row_breaks_the_chain_at_that_row(db, network):
    chain = verify_chain(db.uow())
    assert chain.intact and chain.events == len(events(db)) >= 3
    _drop_triggers(db)
    _raw(db, "UPDATE audit_event SET after = replace(after, 'SKU-KG', 'SKU-XX') "
             "WHERE entity_key = 'SKU-KG'")
    altered = next(r.id for r in events(db) if r.entity_key == "SKU-XX" or "SKU-XX" in (r.after or ""))
    report = verify_chain(db.uow())
    assert not report.intact and report.broken_id == altered and "hash" in report.problem


def test_a_deleted_row_breaks_the_chain_after_the_gap(db, network):
    _drop_triggers(db)
    _raw(db, "DELETE FROM audit_event WHERE id = 2")
    report = verify_chain(db.uow())
    assert not report.intact and report.broken_id == 3 and report.events == 1


def test_removing_the_newest_rows_shows_at_the_chain_head(db, network):
    total = len(events(db))
    _drop_triggers(db)
    _raw(db, f"DELETE FROM audit_event WHERE id = {total}")
    report = verify_chain(db.uow())
    assert not report.intact and report.broken_id == total


def test_cli_verify_audit_says_intact_or_names_the_broken_row(db, network, monkeypatch):
    monkeypatch.setenv("CANGLIU_DATABASE_URL", db.url)
    get_settings.cache_clear()
    try:
        ok = CliRunner().invoke(cli, ["verify", "--audit"])
        assert ok.exit_code == 0 and f"audit chain intact: {len(events(db))} events" in ok.output
        _drop_triggers(db)
        _raw(db, "UPDATE audit_event SET username = 'mallory' WHERE id = 4")
        broken = CliRunner().invoke(cli, ["verify", "--audit"])
        assert broken.exit_code == 1 and "event 4" in broken.output
    finally:
        get_settings.cache_clear()


# ---- concurrency --------------------------------------------------------------------------------


def test_concurrent_writers_keep_the_chain_linear(db, network):
    errors: list[BaseException] = []

    def create(worker: int) -> None:
        try:
            with capture.acting(network, request_id=f"w{worker}"):
                for i in range(5):
                    masterdata.create(db.uow(), network, "supplier",
                                      {"code": f"SUP-{worker}-{i}", "name": f"并发 {worker}"})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = verify_chain(db.uow())
    assert report.intact
    rows = events(db)
    assert [r.id for r in rows] == list(range(1, len(rows) + 1))
    assert sum(r.entity == "supplier" for r in rows) == 40


# ---- reading the log ----------------------------------------------------------------------------


def test_the_log_filters_by_record_user_dates_and_code_newest_first(db, network):
    clock = lambda: datetime(2026, 3, 5, 8, tzinfo=UTC)  # noqa: E731
    with capture.acting(network):
        masterdata.create(db.uow(clock=clock), network, "supplier", {"code": "SUP-MARCH", "name": "三月"})
    with db.read() as s:
        everything, _ = list_events(s, Filters())
        assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
        march, _ = list_events(s, Filters(since=date(2026, 3, 5), until=date(2026, 3, 5)))
        assert [e["entity_key"] for e in march] == ["SUP-MARCH"]
        assert list_events(s, Filters(key="march", user="admin"))[0][0]["entity"] == "supplier"
        assert list_events(s, Filters(key="march", user="system"))[0] == []
        skus, _ = list_events(s, Filters(entity="sku"))
        assert {e["entity_key"] for e in skus} == {"SKU-1", "SKU-KG", "SKU-LOT"}
        page, cursor = list_events(s, Filters(), limit=2)
        rest, _ = list_events(s, Filters(), before=cursor, limit=500)
        assert len(page) == 2 and rest[0]["id"] == page[-1]["id"] - 1
