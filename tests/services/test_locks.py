"""Working at once (issue 4, item 6): edit locks with expiry, and stale saves that say who
changed what. Races: of several users taking a lock at once exactly one wins; of several saves
based on the same version exactly one lands and the others are told what changed."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from cangliu.core.errors import Locked, StaleVersion
from cangliu.core.permissions import Actor
from cangliu.db import audit
from cangliu.db.models import AuditEvent
from cangliu.db.uow import Database
from cangliu.services import auth, locks, masterdata, sales, transfers
from cangliu.services.postings import Meta
from cangliu.services.sales import SalesLineIn
from cangliu.services.transfers import TransferLineIn
from tests.conftest import PASSWORD
from tests.races import race, workers


def _user(db: Database, name: str) -> Actor:
    return auth.create_user(db.uow(), username=name, password=PASSWORD)


@pytest.fixture
def li(db, network) -> Actor:
    return _user(db, "li")


@pytest.fixture
def wang(db, network) -> Actor:
    return _user(db, "wang")


def at(minutes: float) -> Callable[[], datetime]:
    start = datetime(2030, 1, 1, 8, tzinfo=UTC)
    return lambda: start + timedelta(minutes=minutes)


# --- edit locks --------------------------------------------------------------------------------


def test_opening_a_record_for_editing_takes_the_lock_and_others_are_told_who_holds_it(db, li, wang):
    lock = locks.acquire(db.uow(), li, "sku", "SKU-1")
    assert lock.holder == "li"
    with pytest.raises(Locked) as refused:
        locks.acquire(db.uow(), wang, "sku", "SKU-1")
    assert refused.value.holder == "li" and refused.value.status == 423
    assert "li" in str(refused.value)
    assert locks.holder(db.uow(), "sku", "SKU-1").holder == "li"
    assert locks.holder(db.uow(), "sku", "SKU-KG") is None


def test_the_holder_renews_the_lock_and_gives_it_back_on_leaving(db, li, wang):
    first = locks.acquire(db.uow(clock=at(0)), li, "sku", "SKU-1")
    renewed = locks.acquire(db.uow(clock=at(4)), li, "sku", "SKU-1")
    assert renewed.acquired_at == first.acquired_at and renewed.expires_at > first.expires_at
    with pytest.raises(Locked):  # still held at 8 minutes: the renewal counted
        locks.acquire(db.uow(clock=at(8)), wang, "sku", "SKU-1")
    assert locks.release(db.uow(), li, "sku", "SKU-1")
    assert locks.acquire(db.uow(clock=at(8)), wang, "sku", "SKU-1").holder == "wang"
    assert not locks.release(db.uow(), li, "sku", "SKU-1")  # not li's any more: nothing happens
    assert locks.holder(db.uow(clock=at(8)), "sku", "SKU-1").holder == "wang"


def test_a_lock_left_to_expire_is_taken_over(db, li, wang):
    locks.acquire(db.uow(clock=at(0)), li, "site", "WH")
    taken = locks.acquire(db.uow(clock=at(6)), wang, "site", "WH")
    assert taken.holder == "wang" and taken.acquired_at == at(6)()
    assert locks.holder(db.uow(clock=at(6)), "site", "WH").holder == "wang"


def test_someone_elses_save_is_refused_while_the_record_is_locked(db, meta, li, wang):
    locks.acquire(db.uow(), li, "sku", "SKU-1")
    with pytest.raises(Locked, match="li"):
        masterdata.update_record(db.uow(), wang, "sku", "SKU-1", 1, {"name": "红茶"})
    saved = masterdata.update_record(db.uow(), li, "sku", "SKU-1", 1, {"name": "红茶"})
    assert saved["version"] == 2
    draft = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                      lines=[TransferLineIn("SKU-1", "2")])
    locks.acquire(db.uow(), li, "transfer", draft["number"])
    with pytest.raises(Locked):
        transfers.update_transfer(db.uow(), Meta(wang), number=draft["number"], version=1,
                                  lines=[TransferLineIn("SKU-1", "3")])
    assert transfers.get_transfer(db.uow(), draft["number"])["lines"][0]["qty"] == "2"


def test_only_an_administrator_breaks_a_lock_and_the_break_is_audited(db, network, li, wang):
    locks.acquire(db.uow(), li, "customer", "C1")
    with pytest.raises(locks.NotAdministrator):
        locks.break_lock(db.uow(), wang, "customer", "C1")
    with audit.acting(network):
        broken = locks.break_lock(db.uow(), network, "customer", "C1")
    assert broken is not None and broken.holder == "li"
    assert locks.holder(db.uow(), "customer", "C1") is None
    with db.read() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.entity == "edit_lock")
                                .order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.username) == ("delete", "admin")
    assert json.loads(event.before)["holder"] == "li"
    assert locks.acquire(db.uow(), wang, "customer", "C1").holder == "wang"


def test_renewing_a_lock_does_not_fill_the_audit_log(db, li):
    def events() -> int:
        with db.read() as session:
            return len(session.scalars(select(AuditEvent.id)
                                       .where(AuditEvent.entity == "edit_lock")).all())

    locks.acquire(db.uow(clock=at(0)), li, "sku", "SKU-1")
    taken = events()
    for minute in (1, 2, 3):
        locks.acquire(db.uow(clock=at(minute)), li, "sku", "SKU-1")
    assert events() == taken == 1


# --- stale saves ---------------------------------------------------------------------------------


def test_a_stale_save_names_who_saved_the_current_version_and_what_changed(db, network, li, wang):
    with audit.acting(li):
        masterdata.update_record(db.uow(), li, "sku", "SKU-1", 1, {"name": "红茶", "uom": "box"})
        masterdata.update_record(db.uow(), li, "sku", "SKU-1", 2, {"uom": "pcs"})
    with audit.acting(wang), pytest.raises(StaleVersion) as stale:
        masterdata.update_record(db.uow(), wang, "sku", "SKU-1", 1, {"name": "绿茶"})
    conflict = stale.value
    assert conflict.current_version == 3 and conflict.saved_by == "li"
    assert conflict.saved_at is not None
    changes = {c.field: (c.before, c.after) for c in conflict.changes}
    assert changes == {"name": ("矿泉水", "红茶")}  # uom went back to what it was
    assert "li" in str(conflict)


def test_a_stale_draft_edit_says_the_lines_changed(db, meta, li, wang):
    customer = masterdata.create(db.uow(), meta.actor, "customer", {"code": "C1", "name": "客户"})
    draft = sales.create_sale(db.uow(), meta, customer=customer["code"], site="WH",
                              lines=[SalesLineIn("SKU-1", "2", "3")])
    number = draft["number"]
    with audit.acting(li):
        sales.update_sale(db.uow(), Meta(li), number=number, version=1, channel="online",
                          lines=[SalesLineIn("SKU-1", "5", "3")])
    with pytest.raises(StaleVersion) as stale:
        sales.update_sale(db.uow(), Meta(wang), number=number, version=1, channel="wholesale")
    changes = {c.field: c for c in stale.value.changes}
    assert stale.value.saved_by == "li"
    assert (changes["channel"].before, changes["channel"].after) == ("store", "online")
    assert changes["lines"].after[0]["qty"] == "5"


# --- races ---------------------------------------------------------------------------------------


def _unexpected(outcomes: list[Any], allowed: type[Exception]) -> list[Any]:
    return [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, allowed)]


def test_of_users_taking_a_lock_at_once_exactly_one_wins(db, network):
    users = [_user(db, f"user{i}") for i in range(workers(db))]
    outcomes = race(db, lambda i: locks.acquire(db.uow(), users[i], "sku", "SKU-1"))
    assert _unexpected(outcomes, Locked) == []
    winners = [o for o in outcomes if isinstance(o, locks.Lock)]
    assert len(winners) == 1
    losers = [o for o in outcomes if isinstance(o, Locked)]
    assert {o.holder for o in losers} == {winners[0].holder}
    assert locks.holder(db.uow(), "sku", "SKU-1").holder == winners[0].holder


def test_of_users_taking_over_an_expired_lock_at_once_exactly_one_wins(db, network, li):
    locks.acquire(db.uow(clock=at(0)), li, "site", "S1")
    users = [_user(db, f"user{i}") for i in range(workers(db))]
    outcomes = race(db, lambda i: locks.acquire(db.uow(clock=at(10)), users[i], "site", "S1"))
    assert _unexpected(outcomes, Locked) == []
    assert len([o for o in outcomes if isinstance(o, locks.Lock)]) == 1


def test_of_saves_based_on_the_same_version_exactly_one_lands(db, network):
    users = [_user(db, f"user{i}") for i in range(workers(db))]

    def save(i: int) -> Any:
        with audit.acting(users[i]):
            return masterdata.update_record(db.uow(), users[i], "sku", "SKU-1", 1,
                                            {"name": f"name {i}"})

    outcomes = race(db, save)
    assert _unexpected(outcomes, StaleVersion) == []
    saved = [o for o in outcomes if isinstance(o, dict)]
    assert len(saved) == 1
    winner = users[outcomes.index(saved[0])].username
    for stale in (o for o in outcomes if isinstance(o, StaleVersion)):
        assert stale.current_version == 2 and stale.saved_by == winner
        assert {c.field: c.after for c in stale.changes} == {"name": saved[0]["name"]}
    assert masterdata.get(db.uow(), "sku", "SKU-1")["name"] == saved[0]["name"]


def test_of_draft_edits_based_on_the_same_version_exactly_one_lands(db, meta):
    draft = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                      lines=[TransferLineIn("SKU-1", "1")])
    users = [_user(db, f"user{i}") for i in range(workers(db))]

    def edit(i: int) -> Any:
        with audit.acting(users[i]):
            return transfers.update_transfer(db.uow(), Meta(users[i]), number=draft["number"],
                                             version=1, lines=[TransferLineIn("SKU-1", str(i + 2))])

    outcomes = race(db, edit)
    assert _unexpected(outcomes, StaleVersion) == []
    saved = [o for o in outcomes if isinstance(o, dict)]
    assert len(saved) == 1 and saved[0]["version"] == 2
    winner = users[outcomes.index(saved[0])].username
    for stale in (o for o in outcomes if isinstance(o, StaleVersion)):
        assert stale.saved_by == winner and "lines" in {c.field for c in stale.changes}
    assert transfers.get_transfer(db.uow(), draft["number"])["lines"] == saved[0]["lines"]
