"""CANGLIU_EVENTS_LISTEN=false: the background dispatcher polls and holds no LISTEN connection."""

import time

import pytest
from sqlalchemy import text

from cangliu.cli import Background
from cangliu.config import Settings
from cangliu.jobs.dispatcher import Dispatcher

LISTENING = text("SELECT count(*) FROM pg_stat_activity"
                 " WHERE datname = current_database() AND query LIKE 'LISTEN cangliu_outbox%'")


def _listening(db) -> int:  # type: ignore[no-untyped-def]
    with db.writer.connect() as conn:
        return int(conn.scalar(LISTENING) or 0)


def _count_after(db, before: int, seconds: float) -> int:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while (now := _listening(db)) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    return now


@pytest.mark.parametrize("listen", [True, False])
def test_the_dispatcher_listens_only_when_the_setting_says(db, listen):
    if db.dialect != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    before = _listening(db)
    dispatcher = Dispatcher(db, listen=listen, poll=0.2)
    dispatcher.start()
    try:
        assert _count_after(db, before, 5.0 if listen else 1.5) == before + (1 if listen else 0)
    finally:
        dispatcher.stop()


@pytest.mark.parametrize("listen", [True, False])
def test_the_worker_passes_the_setting_to_its_dispatcher(db, listen):
    background = Background(db, Settings(database_url=db.url, events_listen=listen))
    assert [p.listen for p in background.parts if isinstance(p, Dispatcher)] == [listen]
