"""Postings held for approval: a scrap or a customer return is a single posting with no draft, so
when its policy wants sign-off the request is kept as submitted (``held_document``) and posted
under its number once approved. Every request is recorded, including those the policy approves
at once (then ``posted`` straight away)."""

import json
from typing import Any

from sqlalchemy import select

from cangliu.db.models import HeldDocument, Location
from cangliu.db.uow import UnitOfWork
from cangliu.services import approvals
from cangliu.services.idempotency import Result
from cangliu.services.postings import Meta


def hold(uow: UnitOfWork, meta: Meta, document_type: str, number: str, site: Location,
         request: dict[str, Any], fields: dict[str, Any], parent: str | None = None) -> Result | None:
    """Record the request and start its approval: None when the policy approves it at once (the
    caller posts now), else what the caller answers: the number, state and approval."""
    row = HeldDocument(document_type=document_type, number=number, state="pending_approval",
                       site_id=site.id, parent=parent, request=json.dumps(request, default=str),
                       fields=json.dumps(fields), created_by=meta.actor.username,
                       created_at=uow.now(), version=1)
    uow.session.add(row)
    uow.session.flush()
    started = approvals.start(uow, meta.actor, document_type, number, row.version)
    if started["state"] == "approved":
        row.state = "posted"
        return None
    return {"number": number, "state": row.state, "approval": started["instance"],
            "branch": started["branch"]}


def request_of(row: HeldDocument) -> dict[str, Any]:
    return dict(json.loads(row.request))


def held(uow: UnitOfWork, document_type: str, *, number: str | None = None,
         parent: str | None = None) -> list[Result]:
    """Held postings by number (in any state) or by parent document (those not posted: still
    waiting or rejected); within the caller's unit of work."""
    query = select(HeldDocument, Location.code).join(Location, Location.id == HeldDocument.site_id
                                                     ).where(HeldDocument.document_type == document_type)
    if number is not None:
        query = query.where(HeldDocument.number == number)
    if parent is not None:
        query = query.where(HeldDocument.parent == parent, HeldDocument.state != "posted")
    rows = uow.session.execute(query.order_by(HeldDocument.id)).all()
    return [{"number": row.number, "state": row.state, "site": site, "parent": row.parent,
             "created_by": row.created_by, "created_at": row.created_at.isoformat(),
             "fields": json.loads(row.fields), "request": request_of(row)} for row, site in rows]
