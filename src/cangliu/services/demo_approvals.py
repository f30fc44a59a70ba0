"""The demo's approvals, walked by the demo's people: a routine store replenishment approved by
its policy at once, a large cross-region transfer signed at all three levels, and one whose first
step timed out and escalated to the regional manager."""

from datetime import datetime, timedelta

from sqlalchemy import select

from cangliu.core.permissions import Actor
from cangliu.db.models import ApprovalInstance, AppUser
from cangliu.db.uow import Database
from cangliu.services import approvals, roles, transfers
from cangliu.services.postings import Meta
from cangliu.services.transfers import TransferLineIn


def running(db: Database, document_type: str, number: str) -> int | None:
    """The id of the document's approval in progress, if any."""
    with db.read() as s:
        return s.scalar(select(ApprovalInstance.id).where(
            ApprovalInstance.document_type == document_type,
            ApprovalInstance.document_number == number, ApprovalInstance.state == "pending"))


def sign_off(db: Database, actor: Actor, document_type: str, number: str) -> None:
    """Approve every step still open as ``actor``, an administrator: before the demo's people
    exist, the administrators are who every step falls to."""
    while (instance := running(db, document_type, number)) is not None:
        approvals.decide(db.uow(), actor, instance, "approve", comment="演示 / demo")


def _actor(db: Database, username: str) -> Actor:
    with db.read() as s:
        return roles.actor_of(s, s.scalars(select(AppUser).where(AppUser.username == username)).one())


def _transfer(db: Database, who: Actor, source: str, dest: str, qty: str, reason: str,
              at: datetime) -> str:
    meta = Meta(who, reason=reason)
    number = str(transfers.create_transfer(db.uow(clock=lambda: at), meta, source=source, dest=dest,
                                           lines=[TransferLineIn("SKU-0001", qty)])["number"])
    transfers.submit_transfer(db.uow(clock=lambda: at), meta, number=number)
    return number


def load(db: Database, admin: Actor, now: datetime) -> dict[str, str]:
    """Needs the demo network and ``demo_users``; answers the three transfers' numbers."""
    clerk, store, regional, director = (_actor(db, u) for u in ("clerk", "store", "regional",
                                                                 "director"))
    routine = _transfer(db, clerk, "WH-EAST", "ST-SH01", "5", "门店补货 / store replenishment", now)
    # 华南 → 华东: the store manager at the destination, the source region's manager, the director.
    walked = _transfer(db, admin, "WH-SOUTH", "ST-SH01", "40", "跨区调拨 / cross-region", now)
    for who, comment in ((store, "门店需要 / the store needs it"),
                         (regional, "华南有余量 / the south has spare stock"),
                         (director, "同意 / agreed")):
        instance = running(db, "transfer", walked)
        assert instance is not None
        approvals.decide(db.uow(clock=lambda: now), who, instance, "approve", comment=comment)
    # Submitted 30 hours ago and not decided: the store manager's day is up, the sweep escalates.
    late = _transfer(db, admin, "WH-SOUTH", "ST-SH01", "30", "跨区调拨 / cross-region",
                     now - timedelta(hours=30))
    approvals.sweep_timeouts(db.uow(clock=lambda: now), now)
    return {"routine": routine, "walked": walked, "escalated": late}
