"""Edit locks on pages: the edit view takes the lock (renewed by ``static/locks.js``); others get
a read-only view with "being edited by X"; an administrator may break the lock from there."""

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from cangliu.core.errors import Locked, StaleVersion
from cangliu.core.permissions import Actor
from cangliu.db.uow import Database
from cangliu.services import locks
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.problems import stale_details

router = APIRouter(include_in_schema=False)
Administrator = Annotated[Actor, page_permit("settings.edit")]


def edit_lock(db: Database, actor: Actor, entity: str, key: str, *, take: bool) -> dict[str, Any]:
    """What ``_edit_lock.html`` needs. With ``take`` (the edit view is open) and the right to
    edit, the lock is taken or renewed; a live lock of someone else makes the view read-only."""
    lock = None
    if take and actor.can(f"{locks.ENTITIES[entity]}.edit"):
        try:
            lock = locks.acquire(db.uow(), actor, entity, key)
        except Locked:
            lock = None
    lock = lock or locks.holder(db.uow(), entity, key)
    mine = lock is not None and lock.holder_id == actor.user_id
    return {"lock": lock, "lock_mine": mine, "locked_by_other": lock is not None and not mine,
            "lock_url": f"/api/v1/locks/{entity}/{key}", "lock_break": f"/locks/{entity}/{key}/break"}


# Document pages with a draft edit form → the lock entity of their documents.
EDITABLE = {"purchase-orders": "purchase_order", "sales-orders": "sales_order",
            "transfers": "transfer"}


def document_lock(db: Database, actor: Actor, path: str, d: dict[str, Any], *, take: bool
                  ) -> dict[str, Any]:
    """``edit_lock`` for a document page; nothing to lock unless the document can be edited."""
    if path not in EDITABLE or "edit" not in d["allowed_actions"]:
        return {}
    return edit_lock(db, actor, EDITABLE[path], d["number"], take=take)


def conflict_of(exc: Exception) -> dict[str, Any] | None:
    """A stale save's details for ``_conflict.html`` (None for any other error)."""
    return stale_details(exc) if isinstance(exc, StaleVersion) else None


@router.post("/locks/{entity}/{number}/break", response_model=None)
async def break_lock(entity: str, number: str, request: Request, db: DbDep,
                     actor: Administrator) -> RedirectResponse:
    """The "break lock" button: an administrator frees the record and goes back to its page."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    locks.break_lock(db.uow(), actor, entity, number)
    return RedirectResponse(_local(str(form.get("next") or "/")), status_code=303)


def _local(url: str) -> str:
    """Only a path on this site is followed back (never another host)."""
    path = urlsplit(url).path
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"
