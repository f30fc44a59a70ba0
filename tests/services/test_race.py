"""Many clerks at once: concurrent reservations, shipments and retried requests never oversell.

Each thread works through its own unit of work, as separate web requests would. The numbers are
the acceptance criterion for concurrent posting (DESIGN §3: row locks or conditional updates,
never read-then-write), so they are not scaled down.
"""

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cangliu.core.errors import Conflict, InsufficientStock
from cangliu.db.models import Reservation, StockMove
from cangliu.db.queries import single_view
from cangliu.services import reservations, stock
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from cangliu.services.verify import verify

THREADS = 16


def run_together(work: Callable[[int], Counter]) -> Counter:
    """Start ``work`` on every thread at the same moment; add up what they counted."""
    start = threading.Barrier(THREADS)

    def thread(i: int) -> Counter:
        start.wait()
        return work(i)

    with ThreadPoolExecutor(THREADS) as pool:
        return sum((f.result() for f in [pool.submit(thread, i) for i in range(THREADS)]),
                   Counter())


def site_figures(db, sku: str, site: str) -> dict:
    with db.read() as s:
        return next(r for r in single_view(s, sku)["sites"] if r["site"] == site)


def moves_of(db, operation: str) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(StockMove)
                        .where(StockMove.operation == operation))


@pytest.mark.slow
def test_thirty_two_thousand_attempts_reserve_and_ship_exactly_the_thousand_on_hand(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "1000")])

    def clerk(_: int) -> Counter:
        uow, seen = db.uow(), Counter()
        for _ in range(2_000):
            try:
                held = reservations.reserve(uow, meta, sku="SKU-1", site="WH", qty="1")
            except InsufficientStock:
                seen["refused"] += 1
                continue
            seen["reserved"] += 1
            stock.issue(uow, meta, site="WH", lines=[Line("SKU-1", "1")], reservation=held["ref"])
            seen["issued"] += 1
        return seen

    assert run_together(clerk) == Counter(reserved=1_000, issued=1_000, refused=31_000)
    row = site_figures(db, "SKU-1", "WH")
    assert (row["on_hand"], row["reserved"], row["available"]) == (0, 0, 0)
    assert moves_of(db, "issue") == 1_000
    with db.read() as s:
        states = dict(s.execute(select(Reservation.state, func.count())
                                .group_by(Reservation.state)).all())
    assert states == {"consumed": 1_000}
    assert verify(db.uow()).consistent


def test_concurrent_shipments_from_free_stock_never_oversell(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-KG", "125.5")])

    def clerk(_: int) -> Counter:
        uow, seen = db.uow(), Counter()
        for _ in range(50):
            try:
                stock.issue(uow, meta, site="WH", lines=[Line("SKU-KG", "0.5")])
                seen["issued"] += 1
            except InsufficientStock:
                seen["refused"] += 1
        return seen

    assert run_together(clerk) == Counter(issued=251, refused=800 - 251)
    assert site_figures(db, "SKU-KG", "WH")["available"] == Decimal(0)
    assert verify(db.uow()).consistent


def test_sixteen_clerks_cancelling_one_posting_reverse_it_once(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "100")])
    ref = stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "10")])["ref"]

    def clerk(_: int) -> Counter:
        try:
            stock.reverse_posting(db.uow(), meta, ref=ref)
        except Conflict:
            return Counter(told_already_reversed=1)
        return Counter(reversed=1)

    assert run_together(clerk) == Counter(reversed=1, told_already_reversed=THREADS - 1)
    assert site_figures(db, "SKU-1", "WH")["on_hand"] == 100
    assert verify(db.uow()).consistent


def test_sixteen_retries_of_one_request_with_one_key_post_once(db, network):
    meta = Meta(actor=network, reason="PO-1", idempotency_key="po-1-receipt")
    answers: list[dict] = [{}] * THREADS

    def clerk(i: int) -> Counter:
        answers[i] = stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "10")])
        return Counter(answered=1)

    assert run_together(clerk) == Counter(answered=THREADS)
    assert all(a == answers[0] for a in answers)
    assert moves_of(db, "receive") == 1
    assert site_figures(db, "SKU-1", "WH")["on_hand"] == 10
    assert verify(db.uow()).consistent


def test_sixteen_retries_of_one_reservation_with_one_key_hold_once(db, network):
    stock.receive(db.uow(), Meta(actor=network), site="WH", lines=[Line("SKU-1", "100")])
    meta = Meta(actor=network, idempotency_key="so-7-hold")
    answers: list[dict] = [{}] * THREADS

    def clerk(i: int) -> Counter:
        answers[i] = reservations.reserve(db.uow(), meta, sku="SKU-1", site="WH", qty="30")
        return Counter(answered=1)

    run_together(clerk)
    assert all(a == answers[0] for a in answers)
    assert site_figures(db, "SKU-1", "WH")["reserved"] == 30
    assert verify(db.uow()).consistent
