"""Collaboration over the API: /api/v1/notifications (the caller's inbox), /api/v1/tasks, and
/api/v1/documents/{kind}/{number}/comments and …/timeline on the documents the caller may see."""

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import Field

from cangliu.core.permissions import Actor
from cangliu.i18n import translate
from cangliu.services import comments, notifications, tasks, timeline
from cangliu.web.api.schemas import MAX_ID, PathId, Strict, jsonable
from cangliu.web.deps import DbDep, permit
from cangliu.web.problems import locale_of

router = APIRouter(prefix="/api/v1", tags=["collaboration"])
Me = Annotated[Actor, permit(None)]
# ``kind`` names the document's permission resource; an unknown kind, or a document outside the
# caller's sites, answers 404.
DocViewer = Annotated[Actor, permit("{kind}.view", resources={k: v.resource
                                                              for k, v in timeline.KINDS.items()})]
Status = Literal["open", "done", "cancelled"]


def _message(locale: str, item: dict[str, Any]) -> dict[str, Any]:
    """A notification with its title in the caller's language."""
    return {**item, "title": translate(locale, item["title"], **item.pop("params"))}


@router.get("/notifications")
def list_notifications(request: Request, db: DbDep, actor: Me, unread: bool = False,
                       cursor: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                       limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Any:
    """The caller's inbox, newest first, with the unread count."""
    items, nxt = notifications.list_notifications(db.uow(), actor, unread_only=unread,
                                                  before=cursor, limit=limit)
    locale = locale_of(request)
    return jsonable({"items": [_message(locale, i) for i in items], "next_cursor": nxt,
                     "unread": notifications.unread_count(db.uow(), actor)})


@router.get("/notifications/unread-count")
def unread_count(db: DbDep, actor: Me) -> dict[str, int]:
    return {"unread": notifications.unread_count(db.uow(), actor)}


@router.post("/notifications/read-all")
def mark_all_read(db: DbDep, actor: Me) -> dict[str, int]:
    return {"marked": notifications.mark_all_read(db.uow(), actor)}


@router.post("/notifications/{notification_id}/read")
def mark_read(notification_id: PathId, request: Request, db: DbDep, actor: Me) -> Any:
    """Mark one of the caller's messages read; anyone else's answers 404."""
    item = notifications.mark_read(db.uow(), actor, notification_id)
    return jsonable(_message(locale_of(request), item))


class TaskIn(Strict):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    note: Annotated[str, Field(max_length=4000)] = ""
    assignee: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    role: Annotated[str | None, Field(min_length=1, max_length=40)] = None
    due_date: date | None = None
    document_kind: Literal["purchase", "sales", "transfer", "count", "scrap"] | None = None
    document_number: Annotated[str | None, Field(min_length=1, max_length=40)] = None


class TaskEdit(Strict):
    version: Annotated[int, Field(ge=1, le=MAX_ID)]
    status: Status | None = None
    title: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    note: Annotated[str | None, Field(max_length=4000)] = None
    due_date: date | None = None


@router.get("/tasks")
def list_tasks(db: DbDep, actor: Me, scope: tasks.Scope = "mine", status: Status | None = None,
               overdue: bool = False, page: Annotated[int, Query(ge=1, le=MAX_ID)] = 1,
               limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Any:
    """Tasks for the caller (``mine``: to them or a role they hold; ``user``; ``role``;
    ``created``: by them), open first and soonest due first."""
    items, nxt = tasks.list_tasks(db.uow(), actor, scope=scope, status=status,
                                  overdue_on=datetime.now(UTC).date() if overdue else None, page=page,
                                  limit=limit)
    return jsonable({"items": items, "page": page, "next_page": nxt})


@router.post("/tasks", status_code=201)
def create_task(body: TaskIn, db: DbDep, actor: Me) -> Any:
    """Assign a task to a user (``assignee``) or a role (``role``); they are notified."""
    return jsonable(tasks.create_task(db.uow(), actor, tasks.TaskIn(**body.model_dump())))


@router.get("/tasks/{task_id}")
def get_task(task_id: PathId, db: DbDep, actor: Me) -> Any:
    return jsonable(tasks.get_task(db.uow(), actor, task_id))


@router.patch("/tasks/{task_id}")
def edit_task(task_id: PathId, body: TaskEdit, db: DbDep, actor: Me) -> Any:
    """Change status or text; a stale ``version`` answers 409 and changes nothing. ``due_date``
    sent as null clears it."""
    given = body.model_fields_set
    return jsonable(tasks.update_task(
        db.uow(), actor, task_id, version=body.version, status=body.status, title=body.title,
        note=body.note, due_date=body.due_date,
        clear_due_date="due_date" in given and body.due_date is None))


class CommentIn(Strict):
    body: Annotated[str, Field(min_length=1, max_length=comments.MAX_BODY)]


@router.get("/documents/{kind}/{number}/comments")
def list_comments(kind: str, number: str, db: DbDep, actor: DocViewer,
                  cursor: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    """A document's comments, oldest first."""
    items, nxt = comments.list_comments(db.uow(), kind, number, after=cursor, limit=limit)
    return jsonable({"items": items, "next_cursor": nxt})


@router.post("/documents/{kind}/{number}/comments", status_code=201)
def add_comment(kind: str, number: str, body: CommentIn, db: DbDep, actor: DocViewer) -> Any:
    """Comment on a document; ``@username`` notifies that user (an unknown name: 422)."""
    return jsonable(comments.add_comment(db.uow(), actor, kind=kind, number=number,
                                         body=body.body))


@router.get("/documents/{kind}/{number}/timeline")
def document_timeline(kind: str, number: str, db: DbDep, actor: DocViewer) -> Any:
    """What happened to the document, oldest first."""
    events = timeline.timeline(db.uow(), kind, number)
    return jsonable({"items": [{k: v for k, v in e.items() if k != "order"} for e in events]})
