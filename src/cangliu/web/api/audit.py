"""The audit log over the API: administrators read it with the page's filters, newest first."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from cangliu.core.permissions import Actor
from cangliu.services import audit
from cangliu.web.api.schemas import MAX_ID, jsonable
from cangliu.web.deps import DbDep, permit

router = APIRouter(prefix="/api/v1", tags=["audit"])
CanViewAudit = Annotated[Actor, permit("audit.view")]


@router.get("/audit")
def list_audit(db: DbDep, actor: CanViewAudit, entity: str | None = None,
               user: str | None = None, since: date | None = None, until: date | None = None,
               q: Annotated[str | None, Query(max_length=120)] = None,
               cursor: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Any:
    """Who changed what, when and from where; ``q`` searches the record's code or number."""
    filters = audit.Filters(entity=entity or None, user=user or None, since=since, until=until,
                            key=q or None)
    with db.read() as session:
        items, nxt = audit.list_events(session, filters, before=cursor, limit=limit)
    for item in items:
        item.pop("diff")
    return jsonable({"items": items, "next_cursor": nxt})
