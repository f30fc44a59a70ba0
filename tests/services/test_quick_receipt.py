"""The two-statement receipt path on PostgreSQL against the general posting path.

Random receipts (good and bad, keyed and not, into sites and bins, dated inside and outside a
closed period), with issues between them so the moving averages have something to round, run
through ``stock.receive`` on two databases set up alike: one as it is, one with the quick path
turned off. Every answer and every row the two write to the ledger, the balances, the cost
positions, the idempotency records and the outbox must be the same.
"""

import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from cangliu.core.errors import DomainError
from cangliu.core.permissions import Actor
from cangliu.db import uow as uow_module
from cangliu.db.engine import normalize_url
from cangliu.db.migrate import upgrade
from cangliu.db.types import to_units
from cangliu.db.uow import Database
from cangliu.services import auth, masterdata, periods, quick_receipt, reservations, stock
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from cangliu.services.verify import verify
from tests.conftest import PASSWORD, PG_URL, _empty_pg, seed_network
from tests.races import race, workers

pytestmark = pytest.mark.skipif(PG_URL is None, reason="the quick path is PostgreSQL's")

TODAY = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
SKUS = ["SKU-1", "SKU-KG", "SKU-LOT", "SKU-FIFO", "6900000000017", "NOPE"]
PLACES = [("WH", None), ("WH", "WH-A1"), ("S1", None), ("S2", None), ("S1", "WH-A1"),
          ("GONE", None)]
# Ids differ between the twins (the session's database has served other tests), so rows name
# SKUs and locations by code.
TABLES = {
    "stock_move": "SELECT m.ref, m.operation, sku.code, m.qty, m.uom, src.code, dst.code,"
                  " m.from_status, m.to_status, m.lot, m.serial, m.unit_cost, m.value,"
                  " m.document_type, m.document_number, m.document_line, m.reason, m.operator,"
                  " m.device, m.occurred_at, m.recorded_at, m.idempotency_key, m.reversal_of_id"
                  " FROM stock_move AS m JOIN sku ON sku.id = m.sku_id"
                  " JOIN location AS src ON src.id = m.from_location_id"
                  " JOIN location AS dst ON dst.id = m.to_location_id ORDER BY m.id",
    "stock_balance": "SELECT sku.code, place.code, site.code, b.lot, b.status, b.qty, b.reserved,"
                     " b.allow_negative, b.version FROM stock_balance AS b"
                     " JOIN sku ON sku.id = b.sku_id JOIN location AS place ON place.id = b.location_id"
                     " JOIN location AS site ON site.id = b.site_id"
                     " ORDER BY sku.code, place.code, b.lot, b.status",
    "sku_cost": "SELECT sku.code, c.qty, c.value FROM sku_cost AS c JOIN sku ON sku.id = c.sku_id"
                " ORDER BY sku.code",
    "idempotency_record": "SELECT key, request_hash, status_code, response, created_at"
                          " FROM idempotency_record ORDER BY key",
    "outbox_event": "SELECT at, kind, payload FROM outbox_event WHERE kind = 'stock.changed'"
                    " ORDER BY id",
    "lot": "SELECT sku.code, lot.code, lot.expiry_date FROM lot JOIN sku ON sku.id = lot.sku_id"
           " ORDER BY sku.code, lot.code",
}


def _without_ids(payload: str) -> dict[str, Any]:
    event = json.loads(payload)
    for line in event["lines"]:
        line.pop("site_id")
    return dict(event)


@pytest.fixture(scope="module")
def twin_urls(pg_url: str) -> Iterator[tuple[str, str]]:
    """The session's test database and a second one like it."""
    name = f"cangliu_twin_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    twin = pg_url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(twin)
    yield pg_url, twin
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class World:
    """One database, with its own clock and posting references, set up like its twin."""

    def __init__(self, url: str, quick: bool) -> None:
        _empty_pg(url)
        self.db = Database(url)
        self.quick = quick
        self.refs = itertools.count(1)
        self.now = TODAY
        self.admin: Actor = auth.create_user(self.db.uow(), username="admin", password=PASSWORD,
                                             is_admin=True)
        seed_network(self.db, self.admin)
        masterdata.create(self.db.uow(), self.admin, "category",
                          {"code": "FIFO", "name": "先进先出", "valuation": "fifo"})
        masterdata.create(self.db.uow(), self.admin, "sku",
                          {"code": "SKU-FIFO", "name": "电池", "category": "FIFO"})

    def uow(self) -> Any:
        return self.db.uow(clock=lambda: self.now, ids=lambda: f"ref-{next(self.refs):06d}")

    def run(self, act: Callable[[Any], Any]) -> Any:
        """What ``act`` answers, or the error it raises (as its class and text)."""
        off = patch.object(quick_receipt, "receive", return_value=None)
        try:
            if self.quick:
                return act(self.uow())
            with off:
                return act(self.uow())
        except DomainError as error:
            return type(error).__name__, str(error), getattr(error, "errors", None)

    def rows(self) -> dict[str, list[Any]]:
        with self.db.writer.connect() as conn:
            found = {table: [tuple(r) for r in conn.execute(text(sql))]
                     for table, sql in TABLES.items()}
        found["outbox_event"] = [(at, kind, _without_ids(payload))
                                 for at, kind, payload in found["outbox_event"]]
        return found


quantities = st.sampled_from(["1", "3", "12", "0.5", "2.125", "0.0001", "0", "-2", "x", 7])
costs = st.sampled_from([None, None, "", "3.5", "0.333333", "12", "0", "-1", "1.1234567"])


@st.composite
def receipts(draw: st.DrawFn) -> dict[str, Any]:
    site, _ = draw(st.sampled_from(PLACES))
    lines = [Line(draw(st.sampled_from(SKUS)), draw(quantities), bin=draw(st.sampled_from(PLACES))[1],
                  lot=draw(st.sampled_from([None, None, None, "L1"])), unit_cost=draw(costs))
             for _ in range(draw(st.integers(1, 3)))]
    return {"kind": "receive", "site": site, "lines": lines,
            "key": draw(st.sampled_from([None, None, "k1", "k2", "k3"])),
            "days_ago": draw(st.sampled_from([0, 0, 0, 5])),
            "expiry": draw(st.sampled_from([None, None, date(2026, 6, 1)]))}


issues = st.builds(lambda site, sku, qty: {"kind": "issue", "site": site, "sku": sku, "qty": qty},
                   st.sampled_from(["WH", "S1", "S2"]), st.sampled_from(["SKU-1", "SKU-KG"]),
                   st.sampled_from(["1", "2", "0.7", "5"]))
closes = st.just({"kind": "close"})


def act(step: dict[str, Any], world: World) -> Callable[[Any], Any]:
    meta = Meta(actor=world.admin, reason="差分", idempotency_key=step.get("key"),
                occurred_at=world.now - timedelta(days=step.get("days_ago", 0)))
    if step["kind"] == "receive":
        return lambda uow: stock.receive(uow, meta, site=step["site"], lines=step["lines"],
                                         expiry_date=step["expiry"])
    if step["kind"] == "issue":
        return lambda uow: stock.issue(uow, meta, site=step["site"],
                                       lines=[Line(step["sku"], step["qty"])])
    return lambda uow: periods.close_period(uow, world.admin, through=(world.now - timedelta(days=3)).date())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(receipts(), receipts(), receipts(), issues, closes),
                      min_size=1, max_size=12))
def test_a_quick_receipt_writes_what_the_general_path_writes(
        twin_urls: tuple[str, str], steps: list[dict[str, Any]]) -> None:
    quick, general = World(twin_urls[0], quick=True), World(twin_urls[1], quick=False)
    taken = []
    real = quick_receipt.receive

    def spy(*args: Any, **kwargs: Any) -> Any:
        taken.append(answer := real(*args, **kwargs))
        return answer
    try:
        for n, step in enumerate(steps):
            for world in (quick, general):
                world.now = TODAY + timedelta(minutes=n)
            with patch.object(quick_receipt, "receive", spy):
                got = quick.run(act(step, quick))
            assert got == general.run(act(step, general)), step
        assert quick.rows() == general.rows()
    finally:
        quick.db.dispose()
        general.db.dispose()
    # the quick path wrote whatever it answered; what it declined went the general way
    assert all(a is None or a["operation"] == "receive" for a in taken)


def test_the_quick_path_takes_plain_receipts_and_leaves_the_rest(db: Database, meta: Meta) -> None:
    answers = []
    real = quick_receipt.receive

    def spy(*args: Any, **kwargs: Any) -> Any:
        answers.append(answer := real(*args, **kwargs))
        return answer
    with patch.object(quick_receipt, "receive", spy):
        stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", 5, unit_cost="2")])
        stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", 5, bin="WH-A1"),
                                                         Line("SKU-KG", "1.5")])
        stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-LOT", 5, lot="L1")])
        stock.receive(db.uow(), meta, site="WH", lines=[Line("6900000000017", 1)])  # a barcode
        with pytest.raises(DomainError):
            stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "1.5")])
    taken = [a is not None for a in answers]
    assert taken == ([True, True, False, False, False] if db.dialect == "postgresql"
                     else [False] * 5)


def test_quick_receipts_and_general_postings_of_one_sku_run_together(db: Database,
                                                                      meta: Meta) -> None:
    """Receipts (quick on PostgreSQL) beside reserved and free issues (general) of one SKU at
    one site: the locks come in one order, so nobody deadlocks or waits for a deadlock timeout,
    and the ledger, balances and cost position agree at the end."""
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", 1000, unit_cost="2")])

    def clerk(i: int) -> int:
        for _ in range(30):
            if i % 3 == 0:
                stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", 3, unit_cost="2.5")])
            elif i % 3 == 1:
                held = reservations.reserve(db.uow(), meta, sku="SKU-1", site="WH", qty="2")
                stock.issue(db.uow(), meta, site="WH", lines=[Line("SKU-1", "2")],
                            reservation=held["ref"])
            else:
                stock.issue(db.uow(), meta, site="WH", lines=[Line("SKU-1", "1")])
        return i

    failures: list[str | None] = []
    real = uow_module.is_retryable

    def noted(exc: BaseException) -> bool:  # every failure ``retrying`` looks at
        failures.append(getattr(getattr(exc, "orig", None), "sqlstate", None))
        return real(exc)
    with patch.object(uow_module, "is_retryable", noted):
        assert race(db, clerk) == list(range(workers(db)))
    assert "40P01" not in failures  # no deadlock (each costs a second before it is broken)
    assert verify(db.uow()).consistent
    with db.read() as session:
        on_hand = session.scalar(text(
            "SELECT sum(qty) FROM stock_balance JOIN sku ON sku.id = stock_balance.sku_id"
            " WHERE sku.code = 'SKU-1'"))
        position = session.execute(text(
            "SELECT sku_cost.qty, sku_cost.value FROM sku_cost JOIN sku ON sku.id = sku_cost.sku_id"
            " WHERE sku.code = 'SKU-1'")).one()
    n = workers(db)
    receipts, reserved, free = (len(range(k, n, 3)) for k in range(3))
    assert on_hand == position.qty == to_units(Decimal(1000 + 90 * receipts - 60 * reserved
                                                       - 30 * free))
    assert position.value > 0
