"""The outbox: events written with the change that caused them, dispatched at least once,
tailed by id without missing a late commit."""

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import func, insert, select, text

from cangliu.core.errors import InsufficientStock
from cangliu.db.models import OutboxEvent
from cangliu.db.outbox import TABLE
from cangliu.db.uow import Database
from cangliu.services import events, masterdata, purchasing, reservations, stock
from cangliu.services.purchasing import PurchaseLineIn
from cangliu.services.stock import Line


def _events(db: Database, kind: str | None = None) -> list[events.Event]:
    with db.read() as session:
        return [e for e in events.after(session, 0) if kind is None or e.kind == kind]


def test_a_receipt_leaves_one_stock_event_naming_its_sku_and_site(db, meta):
    before = len(_events(db))
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", 5), Line("SKU-KG", 2)])
    fresh = _events(db)[before:]
    assert [e.kind for e in fresh] == ["stock.changed"]
    payload = fresh[0].payload
    assert [(x["sku"], x["site"]) for x in payload["lines"]] == [("SKU-1", "WH"), ("SKU-KG", "WH")]
    assert [p["operation"] for p in payload["postings"]] == ["receive"]
    assert payload["postings"][0]["user"] == "admin"


def test_a_refused_posting_leaves_no_event(db, meta):
    before = len(_events(db))
    with pytest.raises(InsufficientStock):
        stock.issue(db.uow(), meta, site="WH", lines=[Line("SKU-1", 1)])
    assert len(_events(db)) == before


def test_a_reservation_changes_stock_and_says_so(db, meta):
    stock.receive(db.uow(), meta, site="S1", lines=[Line("SKU-1", 5)])
    before = len(_events(db))
    reservations.reserve(db.uow(), meta, sku="SKU-1", site="S1", qty="2")
    fresh = _events(db)[before:]
    assert [(e.kind, [x["site"] for x in e.payload["lines"]]) for e in fresh] == [
        ("stock.changed", ["S1"])]


def test_a_document_line_change_is_its_documents_change(db, meta):
    masterdata.create(db.uow(), meta.actor, "supplier", {"code": "SUP-1", "name": "供应商一"})
    draft = purchasing.create_purchase(db.uow(), meta, supplier="SUP-1", site="WH",
                                       lines=[PurchaseLineIn("SKU-1", "10", "2.50")])
    before = len(_events(db))
    purchasing.submit_purchase(db.uow(), meta, number=draft["number"])
    changed = [e.payload for e in _events(db)[before:] if e.kind == "record.changed"]
    assert {"entity": "purchase_order", "key": draft["number"], "action": "update",
            "state": "approved"} in changed
    assert not any(c["entity"].endswith("_line") for c in changed)


def test_dispatch_hands_every_event_to_every_consumer_once_and_survives_a_restart(db, meta):
    for qty in (1, 2, 3):
        stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", qty)])
    seen: list[tuple[str, int]] = []
    consumers = [("a", lambda s, e, now: seen.append(("a", e.id))),
                 ("b", lambda s, e, now: seen.append(("b", e.id)))]
    restarted = Database(db.url)  # a new process: nothing in memory, the outbox says what is left
    try:
        while events.dispatch(restarted.uow(), batch=2, to=consumers):
            pass
        with restarted.read() as session:
            assert events.pending(session) == 0
    finally:
        restarted.dispose()
    ids = [e.id for e in _events(db)]
    assert sorted(i for c, i in seen if c == "a") == ids
    assert sorted(i for c, i in seen if c == "b") == ids
    assert events.dispatch(db.uow(), to=consumers) == 0  # nothing twice


def test_a_failing_consumer_leaves_the_event_for_later_without_stopping_the_others(db, meta):
    while events.dispatch(db.uow(), to=[]):  # the seeding's events are out of the way
        pass
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", 1)])
    calls: list[str] = []

    def broken(session, event, now):
        calls.append("broken")
        session.execute(insert(TABLE).values(at=now, kind="half.written", payload="{}",
                                             attempts=0, error=""))
        raise RuntimeError("endpoint down")

    consumers = [("broken", broken), ("fine", lambda s, e, now: calls.append("fine"))]
    for attempt in range(1, events.MAX_ATTEMPTS + 1):
        events.dispatch(db.uow(), to=consumers)
        with db.read() as session:
            row = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
            assert row.attempts == attempt and "endpoint down" in row.error
            assert (row.dispatched_at is not None) == (attempt == events.MAX_ATTEMPTS)
            # the failed consumer's own writes were rolled back with its savepoint
            assert session.scalar(select(OutboxEvent.id).where(
                OutboxEvent.kind == "half.written")) is None
    # at least once: the consumer that succeeded sees the event again on each retry
    assert calls.count("fine") == events.MAX_ATTEMPTS


def test_old_dispatched_events_are_purged_and_waiting_ones_kept(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", 1)])
    assert events.skip_pending(db.uow(), "test") > 0
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", 2)])  # not dispatched yet
    later = datetime.now(UTC) + timedelta(days=8)
    assert events.purge(db.uow(), before=later) > 0
    left = _events(db)
    assert [e.payload["postings"][0]["operation"] for e in left] == ["receive"]
    with db.read() as session:
        assert events.pending(session) == 1


def test_the_tail_returns_a_late_commit_with_a_lower_id(db, meta):
    if db.dialect != "postgresql":
        pytest.skip("SQLite writers commit in id order")
    with db.read() as session:
        tail = events.Tail(events.last_id(session))
    now = datetime.now(UTC)
    with db.writer.connect() as slow:
        slow_tx = slow.begin()
        slow.execute(insert(TABLE).values(at=now, kind="slow", payload="{}", attempts=0, error=""))
        with db.writer.begin() as fast:
            fast.execute(insert(TABLE).values(at=now, kind="fast", payload="{}", attempts=0,
                                              error=""))
        with db.read() as session:
            assert [e.kind for e in tail.read(session)] == ["fast"]
        slow_tx.commit()
    with db.read() as session:
        assert [e.kind for e in tail.read(session)] == ["slow"]
        assert tail.read(session) == []


def test_a_commit_wakes_the_waiting_threads(db, meta):
    waker = events.Waker(db, listen=False)
    try:
        seen = waker.seq()
        woke = threading.Event()

        def wait() -> None:
            if waker.wait(seen, timeout=10) != seen:
                woke.set()

        thread = threading.Thread(target=wait)
        thread.start()
        stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", 1)])
        thread.join(10)
        assert woke.is_set()
    finally:
        waker.close()


def test_other_processes_commits_wake_through_listen(db, meta):
    if db.dialect != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    waker = events.Waker(db)
    try:
        seen = waker.seq()
        deadline = datetime.now(UTC).timestamp() + 10
        # Another process's commit: only NOTIFY reaches us (sent again until the LISTEN
        # connection, opened in the background, is there to hear it).
        while waker.seq() == seen and datetime.now(UTC).timestamp() < deadline:
            with db.writer.begin() as conn:
                conn.execute(text("SELECT pg_notify('cangliu_outbox', '1')"))
            waker.wait(seen, timeout=0.5)
        assert waker.seq() != seen
    finally:
        waker.close()


@pytest.mark.parametrize("notify", [True, False])
def test_a_commit_with_events_notifies_its_last_event_id_once(db, meta, notify):
    """The events and the NOTIFY go in one statement; the payload is the transaction's last id,
    and a Database built with notify_events=False stays silent."""
    if db.dialect != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    poster = Database(db.url, notify_events=notify)
    listener = psycopg.connect(db.url.replace("postgresql+psycopg://", "postgresql://"),
                               autocommit=True)
    try:
        listener.execute("LISTEN cangliu_outbox")
        masterdata.create(poster.uow(), meta.actor, "sku", {"code": "SKU-N", "name": "N"})
        stock.receive(poster.uow(), meta, site="WH", lines=[Line("SKU-1", 2), Line("SKU-N", 1)])
        heard = [n.payload for n in listener.notifies(timeout=1.0) if n.channel == "cangliu_outbox"]
        with db.read() as session:
            last = session.scalar(select(func.max(TABLE.c.id)))
        # two transactions (the SKU, the receipt), each one NOTIFY with its own last id
        assert heard == ([str(last - 1), str(last)] if notify else [])
        assert [e.kind for e in _events(db)[-2:]] == ["record.changed", "stock.changed"]
    finally:
        listener.close()
        poster.dispose()
