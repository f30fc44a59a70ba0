"""The audit page: administrators filter the log by record type, user, dates and code."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from cangliu.core.permissions import Actor
from cangliu.services import audit
from cangliu.web.deps import DbDep, page_permit
from cangliu.web.export import answer, wants_export
from cangliu.web.pages.render import render

router = APIRouter(include_in_schema=False)
CanViewAudit = Annotated[Actor, page_permit("audit.view")]


def _day(value: str | None) -> date | None:
    """A date typed into the filter form; anything else is ignored rather than refused."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


EXPORT_COLUMNS = (("at", "Time (UTC)"), ("username", "Username"), ("action", "Action"),
                  ("entity", "Record"), ("entity_key", "Code or number"), ("changes", "Changes"),
                  ("address", "Address"), ("device", "Device"), ("request_id", "Request"))


def _changes(diff: list[dict[str, Any]], hidden: frozenset[str]) -> str:
    """The before/after diff in one cell, ``field: before → after`` per changed field, without
    the fields the user's field rules hide."""
    def shown(value: Any) -> str:
        return "" if value is None else str(value)
    return "; ".join(f"{d['field']}: {shown(d['before'])} → {shown(d['after'])}" for d in diff
                     if d["field"] not in hidden)


@router.get("/audit", response_class=HTMLResponse, response_model=None)
def audit_log(request: Request, db: DbDep, actor: CanViewAudit, entity: str = "",
              user: str = "", since: str = "", until: str = "",
              q: Annotated[str, Query(max_length=120)] = "",
              before: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """Every change, newest first; each row opens to its before/after diff."""
    filters = audit.Filters(entity=entity or None, user=user or None, since=_day(since),
                            until=_day(until), key=q or None)
    fmt = wants_export(request)
    with db.read() as session:
        if fmt:
            def fetch(after: int | None) -> Any:
                events, nxt = audit.list_events(session, filters, before=after, limit=1000)
                return [{**e, "changes": _changes(e["diff"], actor.hidden_keys)} for e in events], nxt
            return answer(request, actor, "audit", fetch, EXPORT_COLUMNS, fmt=fmt,
                          filename="audit")
        events, next_cursor = audit.list_events(session, filters, before=before)
    return render(request, "audit.html", actor, events=events, next_cursor=next_cursor,
                  entities=audit.entities(), entity=entity, user=user, since=since, until=until,
                  q=q)
