"""Tasks: work assigned to a user or to a role (whoever holds it), with a due date and a status,
optionally about one document. Assigning notifies the assignee; finishing notifies the creator.
Edits carry the version they were based on: a stale one changes nothing (409)."""

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import Select, and_, case, false, or_, select
from sqlalchemy.orm import Session, aliased

from cangliu.core.errors import NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import AppUser, Role, RoleAssignment, Task
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services.conflicts import stale_version
from cangliu.services.notifications import notify
from cangliu.services.timeline import KINDS, document_sites, link

Result = dict[str, Any]
STATUSES = ("open", "done", "cancelled")
Scope = Literal["mine", "user", "role", "created"]
MAX_ROLE_RECIPIENTS = 200  # a task for a role notifies its holders, within reason


@dataclass(frozen=True)
class TaskIn:
    title: str
    note: str = ""
    assignee: str | None = None  # a username …
    role: str | None = None  # … or a role code
    due_date: date | None = None
    document_kind: str | None = None
    document_number: str | None = None


def role_codes(session: Session, actor: Actor) -> set[str]:
    """The roles the actor holds (an administrator holds ``admin`` in any case)."""
    codes = set(session.scalars(select(Role.code).join(RoleAssignment, RoleAssignment.role_id == Role.id)
                                .where(RoleAssignment.user_id == actor.user_id)))
    return codes | {"admin"} if actor.is_admin else codes


def _holders(session: Session, code: str) -> list[int]:
    users = session.scalars(
        select(RoleAssignment.user_id).join(Role, Role.id == RoleAssignment.role_id)
        .join(AppUser, AppUser.id == RoleAssignment.user_id)
        .where(Role.code == code, AppUser.active.is_(True)).distinct().limit(MAX_ROLE_RECIPIENTS))
    return list(users)


def _assignee(session: Session, data: TaskIn) -> tuple[int | None, str | None]:
    if bool(data.assignee) == bool(data.role):
        raise ValidationFailed.single("assignee", "give either a user or a role")
    if data.assignee:
        user = session.scalar(select(AppUser.id).where(AppUser.username == data.assignee,
                                                       AppUser.active.is_(True)))
        if user is None:
            raise ValidationFailed.single("assignee", "unknown user {name}", name=data.assignee)
        return user, None
    if session.scalar(select(Role.id).where(Role.code == data.role)) is None:
        raise ValidationFailed.single("role", "unknown role {code}", code=data.role)
    return None, data.role


def _document(session: Session, actor: Actor, data: TaskIn) -> tuple[str | None, str | None]:
    """A task about a document the creator can see, or about none."""
    if not data.document_kind and not data.document_number:
        return None, None
    if data.document_kind not in KINDS:
        raise ValidationFailed.single("document_kind", "must be one of: {expected}",
                                      expected=", ".join(KINDS))
    number = (data.document_number or "").strip()
    sites = document_sites(session, data.document_kind, number) if number else None
    if sites is None or not actor.sees(f"{KINDS[data.document_kind].resource}.view", sites):
        raise ValidationFailed.single("document_number", "unknown document {number}",
                                      number=number)
    return data.document_kind, number


def _check_text(data: TaskIn) -> None:
    if not data.title.strip():
        raise ValidationFailed.single("title", "must not be empty")


@retrying
def create_task(uow: UnitOfWork, actor: Actor, data: TaskIn) -> Result:
    _check_text(data)
    with uow:
        session = uow.session
        user_id, role = _assignee(session, data)
        kind, number = _document(session, actor, data)
        now = uow.now()
        task = Task(title=data.title.strip(), note=data.note, assignee_id=user_id,
                    assignee_role=role, due_date=data.due_date, status="open", document_kind=kind,
                    document_number=number, created_by_id=actor.user_id, created_at=now,
                    updated_at=now, version=1)
        session.add(task)
        session.flush()
        recipients = [user_id] if user_id is not None else _holders(session, role or "")
        notify(session, now, (u for u in recipients if u != actor.user_id), kind="task",
               title="{user} assigned you a task: {title}",
               params={"user": actor.username, "title": task.title}, body=data.note,
               link=f"/tasks?scope=mine&focus={task.id}")
        out = _out(session, task)
        uow.commit()
    return out


def _visible(session: Session, actor: Actor) -> Any:
    """Tasks the actor may see and change: assigned to them or a role of theirs, or created by
    them; an administrator sees every task."""
    if actor.is_admin:
        return and_(Task.id.is_not(None))
    roles = role_codes(session, actor)
    return or_(Task.assignee_id == actor.user_id, Task.created_by_id == actor.user_id,
               Task.assignee_role.in_(roles) if roles else false())


def _load(session: Session, actor: Actor, task_id: int, *, lock: bool = False) -> Task:
    query = select(Task).where(Task.id == task_id, _visible(session, actor))
    task = session.scalar(query.with_for_update() if lock else query)
    if task is None:
        raise NotFound("Task {id} not found", id=task_id)
    return task


def get_task(uow: UnitOfWork, actor: Actor, task_id: int) -> Result:
    with uow:
        return _out(uow.session, _load(uow.session, actor, task_id))


@retrying
def update_task(uow: UnitOfWork, actor: Actor, task_id: int, *, version: int,
                status: str | None = None, title: str | None = None, note: str | None = None,
                due_date: date | None = None, clear_due_date: bool = False) -> Result:
    """Change a task's status (open, done, cancelled) or text; ``version`` must be current."""
    if status is not None and status not in STATUSES:
        raise ValidationFailed.single("status", "must be one of: {expected}",
                                      expected=", ".join(STATUSES))
    if title is not None and not title.strip():
        raise ValidationFailed.single("title", "must not be empty")
    with uow:
        session = uow.session
        task = _load(session, actor, task_id, lock=True)
        if task.version != version:
            raise stale_version(session, table="task", key=str(task.id), version=version,
                                current_version=task.version, current=_out(session, task))
        finished = status == "done" and task.status != "done"
        task.status = status or task.status
        task.title = title.strip() if title is not None else task.title
        task.note = note if note is not None else task.note
        task.due_date = None if clear_due_date else (due_date or task.due_date)
        task.version += 1
        task.updated_at = uow.now()
        if finished and task.created_by_id != actor.user_id:
            notify(session, task.updated_at, [task.created_by_id], kind="task_done",
                   title="{user} finished the task: {title}",
                   params={"user": actor.username, "title": task.title},
                   link=f"/tasks?scope=created&focus={task.id}")
        session.flush()
        out = _out(session, task)
        uow.commit()
    return out


def _filtered(session: Session, actor: Actor, scope: Scope, status: str | None,
              overdue_on: date | None) -> Select[Any]:
    roles = role_codes(session, actor)
    mine_by_role = Task.assignee_role.in_(roles) if roles else false()
    where = {"mine": or_(Task.assignee_id == actor.user_id, mine_by_role),
             "user": Task.assignee_id == actor.user_id,
             "role": mine_by_role,
             "created": Task.created_by_id == actor.user_id}[scope]
    query = select(Task).where(where)
    if status:
        query = query.where(Task.status == status)
    if overdue_on is not None:
        query = query.where(Task.status == "open", Task.due_date < overdue_on)
    return query


def list_tasks(uow: UnitOfWork, actor: Actor, *, scope: Scope = "mine", status: str | None = None,
               overdue_on: date | None = None, page: int = 1, limit: int = 50
               ) -> tuple[list[Result], int | None]:
    """A page of tasks: open ones first, soonest due first; answers the next page number."""
    if status is not None and status not in STATUSES:
        raise ValidationFailed.single("status", "must be one of: {expected}",
                                      expected=", ".join(STATUSES))
    with uow:
        session = uow.session
        query = _filtered(session, actor, scope, status, overdue_on).order_by(
            case((Task.status == "open", 0), else_=1), Task.due_date.is_(None), Task.due_date,
            Task.id.desc()).offset((page - 1) * limit).limit(limit + 1)
        rows = list(session.scalars(query))
        items = [_out(session, t) for t in rows[:limit]]
    return items, (page + 1 if len(rows) > limit else None)


def document_tasks(uow: UnitOfWork, kind: str, number: str) -> list[Result]:
    """Every task about one document, for its page."""
    with uow:
        rows = uow.session.scalars(select(Task).where(
            Task.document_kind == kind, Task.document_number == number).order_by(Task.id))
        return [_out(uow.session, t) for t in rows]


def _out(session: Session, task: Task) -> Result:
    creator, assignee = aliased(AppUser), aliased(AppUser)
    names = session.execute(select(creator.username, assignee.username)
                            .select_from(creator).outerjoin(assignee, assignee.id == task.assignee_id)
                            .where(creator.id == task.created_by_id)).one()
    return {"id": task.id, "title": task.title, "note": task.note, "assignee": names[1],
            "role": task.assignee_role, "due_date": task.due_date, "status": task.status,
            "document_kind": task.document_kind, "document_number": task.document_number,
            "document_link": link(task.document_kind, task.document_number)
            if task.document_kind and task.document_number else None,
            "created_by": names[0], "created_at": task.created_at, "updated_at": task.updated_at,
            "version": task.version}
