"""The audit page: administrators filter the log by record type, user, dates and code."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from cangliu.core.permissions import Actor
from cangliu.services import audit
from cangliu.web.deps import DbDep, page_permit
from cangliu.web.pages.render import render

router = APIRouter(include_in_schema=False)
CanViewAudit = Annotated[Actor, page_permit("audit.view")]


def _day(value: str | None) -> date | None:
    """A date typed into the filter form; anything else is ignored rather than refused."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/audit", response_class=HTMLResponse)
def audit_log(request: Request, db: DbDep, actor: CanViewAudit, entity: str = "",
              user: str = "", since: str = "", until: str = "",
              q: Annotated[str, Query(max_length=120)] = "",
              before: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    """Every change, newest first; each row opens to its before/after diff."""
    filters = audit.Filters(entity=entity or None, user=user or None, since=_day(since),
                            until=_day(until), key=q or None)
    with db.read() as session:
        events, next_cursor = audit.list_events(session, filters, before=before)
    return render(request, "audit.html", actor, events=events, next_cursor=next_cursor,
                  entities=audit.entities(), entity=entity, user=user, since=since, until=until,
                  q=q)
