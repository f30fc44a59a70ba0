"""Edit locks: /api/v1/locks/{entity}/{number} — take or renew, give back, see, and (administrators)
break the lock on a document (by number) or master-data record (by code)."""

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from cangliu.core.permissions import Actor
from cangliu.db.uow import Database
from cangliu.services import locks
from cangliu.web.api.masterdata import visible
from cangliu.web.deps import DbDep, permit

router = APIRouter(prefix="/api/v1/locks", tags=["locks"])
Viewer = Annotated[Actor, permit("{entity}.view", resources=locks.ENTITIES)]
Editor = Annotated[Actor, permit("{entity}.edit", resources=locks.ENTITIES)]
# Breaking someone else's lock is administration.
Administrator = Annotated[Actor, permit("settings.edit")]


def _in_scope(request: Request, db: Database, actor: Actor, entity: str, key: str) -> None:
    """Sites and locations outside the user's scope answer 404, like their own pages do
    (documents are checked by ``Permit`` already)."""
    if locks.ENTITIES[entity] == "site":
        visible(request, db, actor, entity, key)


def _answer(lock: locks.Lock | None, actor: Actor) -> dict[str, Any]:
    if lock is None:
        return {"locked": False}
    return {"locked": True, **lock.as_dict(), "mine": lock.holder_id == actor.user_id}


@router.get("/{entity}/{number}")
def who(entity: str, number: str, request: Request, db: DbDep, actor: Viewer) -> dict[str, Any]:
    """Who is editing the record now."""
    _in_scope(request, db, actor, entity, number)
    return _answer(locks.holder(db.uow(), entity, number), actor)


@router.post("/{entity}/{number}")
def acquire(entity: str, number: str, request: Request, db: DbDep, actor: Editor) -> dict[str, Any]:
    """Take the edit lock, or renew it; 423 names the user editing it now."""
    _in_scope(request, db, actor, entity, number)
    return _answer(locks.acquire(db.uow(), actor, entity, number), actor)


@router.post("/{entity}/{number}/renew")
def renew(entity: str, number: str, request: Request, db: DbDep, actor: Editor) -> dict[str, Any]:
    """Extend the lock this user holds; 409 when it was broken or taken over meanwhile."""
    _in_scope(request, db, actor, entity, number)
    return _answer(locks.renew(db.uow(), actor, entity, number), actor)


@router.delete("/{entity}/{number}", status_code=204)
def release(entity: str, number: str, request: Request, db: DbDep, actor: Editor) -> Response:
    """Give the lock back (the edit page was left); a lock not held is no error."""
    _in_scope(request, db, actor, entity, number)
    locks.release(db.uow(), actor, entity, number)
    return Response(status_code=204)


@router.post("/{entity}/{number}/break")
def break_lock(entity: str, number: str, db: DbDep, actor: Administrator) -> dict[str, Any]:
    """An administrator removes someone else's lock; answers the lock that was broken."""
    broken = locks.break_lock(db.uow(), actor, entity, number)
    return {"broken": _answer(broken, actor)}
