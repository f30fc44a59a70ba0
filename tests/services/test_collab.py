"""Collaboration: mentions notify, inboxes are private, tasks reach users and roles, a document's
timeline tells its story and the chain offers its next steps."""

from datetime import date
from decimal import Decimal

import pytest

from cangliu.core.errors import NotFound, StaleVersion, ValidationFailed
from cangliu.db import audit
from cangliu.services import (
    auth,
    comments,
    masterdata,
    notifications,
    purchasing,
    roles,
    tasks,
    timeline,
)
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn
from tests.conftest import PASSWORD


@pytest.fixture
def people(db, network):
    """alice: a warehouse clerk everywhere; bob: a salesperson at store S2 only."""
    alice = auth.create_user(db.uow(), username="alice", password=PASSWORD)
    bob = auth.create_user(db.uow(), username="bob", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "alice", [{"role": "clerk", "scope": "all"}])
    roles.set_assignments(db.uow(), network, "bob",
                          [{"role": "sales", "scope": "sites", "sites": ["S2"]}])
    return {"admin": network, "alice": auth.actor_for_user(db.uow(), alice.user_id),
            "bob": auth.actor_for_user(db.uow(), bob.user_id)}


@pytest.fixture
def order(db, network):
    """A purchase order for the central warehouse, approved on submit."""
    masterdata.create(db.uow(), network, "supplier", {"code": "V1", "name": "供应商一"})
    with audit.acting(network):
        po = purchasing.create_purchase(db.uow(), Meta(network), supplier="V1", site="WH",
                                        lines=[PurchaseLineIn("SKU-1", "10", "2")])
        purchasing.submit_purchase(db.uow(), Meta(network), number=po["number"])
    return po["number"]


def _inbox(db, actor):
    return notifications.list_notifications(db.uow(), actor)[0]


def test_a_mention_notifies_the_mentioned_user_only(db, people, order):
    admin, alice, bob = people["admin"], people["alice"], people["bob"]
    saved = comments.add_comment(db.uow(), admin, kind="purchase", number=order,
                                 body="@alice please receive this today, thanks.")
    assert saved["mentions"] == ["alice"]
    [message] = _inbox(db, alice)
    assert message["kind"] == "mention" and message["params"] == {"user": "admin", "number": order}
    assert message["link"] == f"/docs/purchase-orders/{order}#comment-{saved['id']}"
    assert notifications.unread_count(db.uow(), alice) == 1
    assert _inbox(db, bob) == [] and _inbox(db, admin) == []
    listed, _ = comments.list_comments(db.uow(), "purchase", order)
    assert [c["body"] for c in listed] == ["@alice please receive this today, thanks."]


def test_mentions_end_before_punctuation_and_skip_email_addresses():
    assert comments.mentions("cc @li.wei, @bob. and mail x@corp.cn; @li.wei again") == ["li.wei", "bob"]


def test_an_unknown_mention_is_refused_naming_the_field_and_nothing_is_saved(db, people, order):
    with pytest.raises(ValidationFailed) as refused:
        comments.add_comment(db.uow(), people["admin"], kind="purchase", number=order,
                             body="@alice and @nobody look")
    assert refused.value.errors[0].field == "body"
    assert refused.value.errors[0].params == {"name": "nobody"}
    assert comments.list_comments(db.uow(), "purchase", order)[0] == []
    assert notifications.unread_count(db.uow(), people["alice"]) == 0


def test_a_user_who_may_not_see_the_document_cannot_be_mentioned(db, people, order):
    # bob sells at S2 and has no purchase permission at all
    with pytest.raises(ValidationFailed) as refused:
        comments.add_comment(db.uow(), people["admin"], kind="purchase", number=order,
                             body="@bob FYI")
    assert refused.value.errors[0].message == "@{name} may not see this document"
    assert _inbox(db, people["bob"]) == []


def test_a_comment_on_a_missing_document_is_not_found(db, people):
    with pytest.raises(NotFound):
        comments.add_comment(db.uow(), people["admin"], kind="purchase", number="PO-NOPE",
                             body="hello")


def test_marking_read_counts_down_and_touches_only_ones_own_messages(db, people):
    alice, bob = people["alice"], people["bob"]
    notifications.send(db.uow(), [alice.user_id, alice.user_id], kind="note", title="Hello")
    notifications.send(db.uow(), [alice.user_id, bob.user_id], kind="note", title="Again")
    assert notifications.unread_count(db.uow(), alice) == 2
    first = _inbox(db, alice)[-1]
    bobs = _inbox(db, bob)[0]
    with pytest.raises(NotFound):
        notifications.mark_read(db.uow(), alice, bobs["id"])
    assert notifications.unread_count(db.uow(), bob) == 1
    assert notifications.mark_read(db.uow(), alice, first["id"])["read"] is True
    assert notifications.unread_count(db.uow(), alice) == 1
    assert notifications.mark_all_read(db.uow(), alice) == 1
    assert notifications.unread_count(db.uow(), alice) == 0
    assert notifications.unread_count(db.uow(), bob) == 1
    unread, _ = notifications.list_notifications(db.uow(), alice, unread_only=True)
    assert unread == []


def test_a_task_for_a_role_reaches_every_holder_of_the_role(db, people, order):
    admin, alice, bob = people["admin"], people["alice"], people["bob"]
    task = tasks.create_task(db.uow(), admin, tasks.TaskIn(
        "Receive PO", role="clerk", due_date=date(2026, 11, 20), document_kind="purchase",
        document_number=order))
    assert task["role"] == "clerk" and task["assignee"] is None
    assert task["document_link"] == f"/docs/purchase-orders/{order}"
    assert [t["id"] for t in tasks.list_tasks(db.uow(), alice, scope="role")[0]] == [task["id"]]
    assert [t["id"] for t in tasks.list_tasks(db.uow(), alice, scope="mine")[0]] == [task["id"]]
    assert tasks.list_tasks(db.uow(), alice, scope="user")[0] == []
    assert tasks.list_tasks(db.uow(), bob, scope="mine")[0] == []
    with pytest.raises(NotFound):
        tasks.get_task(db.uow(), bob, task["id"])
    assert [n["kind"] for n in _inbox(db, alice)] == ["task"] and _inbox(db, bob) == []
    overdue, _ = tasks.list_tasks(db.uow(), alice, overdue_on=date(2026, 11, 23))
    assert [t["id"] for t in overdue] == [task["id"]]
    assert tasks.document_tasks(db.uow(), "purchase", order)[0]["title"] == "Receive PO"


def test_a_task_for_a_user_notifies_them_and_finishing_it_notifies_the_creator(db, people):
    admin, alice = people["admin"], people["alice"]
    task = tasks.create_task(db.uow(), admin, tasks.TaskIn("Count bin A1", assignee="alice"))
    [message] = _inbox(db, alice)
    assert message["params"] == {"user": "admin", "title": "Count bin A1"}
    done = tasks.update_task(db.uow(), alice, task["id"], version=1, status="done")
    assert done["status"] == "done" and done["version"] == 2
    assert [n["kind"] for n in _inbox(db, admin)] == ["task_done"]


def test_a_stale_task_update_changes_nothing(db, people):
    admin, alice = people["admin"], people["alice"]
    task = tasks.create_task(db.uow(), admin, tasks.TaskIn("Call supplier", assignee="alice"))
    tasks.update_task(db.uow(), alice, task["id"], version=1, status="done")
    with pytest.raises(StaleVersion) as stale:
        tasks.update_task(db.uow(), admin, task["id"], version=1, status="cancelled")
    assert stale.value.current_version == 2
    assert tasks.get_task(db.uow(), admin, task["id"])["status"] == "done"


@pytest.mark.parametrize(("given", "field"), [
    ({"assignee": "alice", "role": "clerk"}, "assignee"),
    ({}, "assignee"),
    ({"assignee": "nobody"}, "assignee"),
    ({"role": "astronaut"}, "role"),
    ({"assignee": "alice", "document_kind": "purchase", "document_number": "PO-NOPE"},
     "document_number"),
])
def test_a_task_with_bad_input_names_the_field_and_is_not_saved(db, people, given, field):
    with pytest.raises(ValidationFailed) as refused:
        tasks.create_task(db.uow(), people["admin"], tasks.TaskIn("Something", **given))
    assert refused.value.errors[0].field == field
    assert tasks.list_tasks(db.uow(), people["admin"], scope="created")[0] == []
    assert _inbox(db, people["alice"]) == []


def test_the_timeline_tells_a_purchase_order_story_in_order(db, people, order):
    admin = people["admin"]
    with audit.acting(admin):
        purchasing.receive_purchase(db.uow(), Meta(admin), number=order,
                                    lines=[ReceiptIn(1, "10", None, None)])
    events = timeline.timeline(db.uow(), "purchase", order)
    assert [(e["event"], e.get("state")) for e in events] == [
        ("created", None), ("state", "approved"), ("stock", None), ("payable", None),
        ("state", "received")]
    assert events[0]["user"] == "admin" and events[3]["amount"] == "20.00"
    assert timeline.open_amount(db.uow(), "purchase", order) == Decimal("20.00")
    assert timeline.next_steps("purchase", "received", Decimal("20")) == ["sell", "pay"]
    assert timeline.next_steps("purchase", "received", Decimal(0)) == ["sell"]
    assert timeline.next_steps("sales", "confirmed", Decimal(0)) == ["pick", "ship"]
