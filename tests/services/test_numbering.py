"""Document numbers: on PostgreSQL a document's number is taken outside the creating transaction,
so a second creator never waits for the first to commit (a failed creation leaves a gap);
receipts and payments of money stay gapless, as does everything on SQLite (one writer)."""

import threading
from datetime import date

import pytest

from cangliu.db.uow import Database
from cangliu.services.numbering import next_number

DAY = date(2026, 11, 24)


def _in_thread(db: Database, doc_type: str) -> tuple[threading.Thread, list[str]]:
    got: list[str] = []

    def take() -> None:
        with db.uow() as uow:
            got.append(next_number(uow, doc_type, DAY))
            uow.commit()
    thread = threading.Thread(target=take)
    thread.start()
    return thread, got


def test_a_second_creator_does_not_wait_for_the_first_to_commit_on_postgresql(db):
    if db.dialect != "postgresql":
        pytest.skip("SQLite: a second writer waits for the first by design (BEGIN IMMEDIATE)")
    with db.uow() as first:
        assert next_number(first, "purchase_order", DAY) == "PO-20261124-0001"
        thread, got = _in_thread(db, "purchase_order")
        thread.join(timeout=10)
        assert not thread.is_alive() and got == ["PO-20261124-0002"]
    # the first creation rolled back: its number is not handed out again (a gap)
    with db.uow() as third:
        assert next_number(third, "purchase_order", DAY) == "PO-20261124-0003"


def test_money_documents_stay_gapless(db):
    with db.uow() as first:
        assert next_number(first, "payment", DAY) == "PM-20261124-0001"
        thread, got = _in_thread(db, "payment")
        thread.join(timeout=1)
        assert thread.is_alive()  # waits for the first transaction's counter row
    thread.join(timeout=10)  # the first rolled back: the number is free again
    assert got == ["PM-20261124-0001"]


def test_on_sqlite_a_rolled_back_number_is_reused(db):
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL takes such numbers outside the transaction")
    with db.uow() as first:
        assert next_number(first, "sales_order", DAY) == "SO-20261124-0001"
    with db.uow() as second:
        assert next_number(second, "sales_order", DAY) == "SO-20261124-0001"
