"""Closed periods: nothing can be posted on or before the close date."""

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from cangliu.core.errors import ValidationFailed
from cangliu.services import periods, stock
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from cangliu.services.verify import verify


def test_postings_into_a_closed_period_are_refused_and_write_nothing(db, meta, network):
    periods.close_period(db.uow(), network, through=date(2026, 10, 31))
    late = Meta(meta.actor, occurred_at=datetime(2026, 10, 31, 23, tzinfo=UTC))
    with pytest.raises(ValidationFailed) as err:
        stock.receive(db.uow(), late, site="WH", lines=[Line("SKU-1", "1")])
    assert err.value.errors[0].field == "occurred_at"
    assert verify(db.uow()).moves == 0
    ok = Meta(meta.actor, occurred_at=datetime(2026, 11, 1, tzinfo=UTC))
    stock.receive(db.uow(), ok, site="WH", lines=[Line("SKU-1", "1")])
    with pytest.raises(ValidationFailed):
        periods.close_period(db.uow(), network, through=date(2026, 9, 30))


def test_a_posting_racing_a_period_close_cannot_land_inside_the_closed_period(db, meta, network):
    """The close takes a SHARE lock on the ledger before it moves the date; a posting checks the
    date only after its insert, so it either finished before the close or sees the new date."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises every writer (BEGIN IMMEDIATE): no interleaving to test")
    closing = db.uow()
    with closing:  # a close caught between its lock and its commit
        closing.session.execute(text("LOCK TABLE stock_move IN SHARE MODE"))
        closing.session.execute(text("INSERT INTO setting (key, value) VALUES (:k, '2026-10-31')"),
                                {"k": periods.CLOSE_SETTING})
        outcome: list[BaseException | dict] = []
        late = Meta(meta.actor, occurred_at=datetime(2026, 10, 30, tzinfo=UTC))

        def post() -> None:
            try:
                outcome.append(stock.receive(db.uow(), late, site="WH", lines=[Line("SKU-1", "1")]))
            except BaseException as exc:
                outcome.append(exc)

        poster = threading.Thread(target=post)
        poster.start()
        poster.join(0.5)
        assert poster.is_alive(), "the posting must wait for the close to commit"
        closing.commit()
    poster.join(10)
    assert isinstance(outcome[0], ValidationFailed)
    assert outcome[0].errors[0].field == "occurred_at"
    assert verify(db.uow()).moves == 0


def test_a_close_waits_for_postings_in_flight(db, meta, network):
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises every writer (BEGIN IMMEDIATE): no interleaving to test")
    posting = db.uow()
    with posting:  # a posting that has written its moves but not committed yet
        posting.session.execute(text("LOCK TABLE stock_move IN ROW EXCLUSIVE MODE"))
        done = threading.Event()
        closer = threading.Thread(target=lambda: (
            periods.close_period(db.uow(), network, through=date(2026, 10, 31)), done.set()))
        closer.start()
        assert not done.wait(0.5), "the close must wait for the posting in flight"
        posting.commit()
    closer.join(10)
    assert done.is_set()
