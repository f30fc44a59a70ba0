"""Record history over the API: the versions of a record, a diff of two, restoring one; and the
deleted master data. Generic over the kind of record: ``Permit`` checks the permission of the
kind named in the path, ``authorize`` the record's sites."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field

from cangliu.core.errors import NotFound
from cangliu.core.permissions import Actor
from cangliu.db import queries
from cangliu.db.uow import Database
from cangliu.services import history
from cangliu.web.api.schemas import MAX_ID, Strict, jsonable
from cangliu.web.deps import DbDep, Forbidden, deny, permit, sites_in_scope

router = APIRouter(prefix="/api/v1", tags=["history"])
_RESOURCES = {name: e.resource for name, e in history.ENTITIES.items()}
_MASTER = {name: e.resource for name, e in history.ENTITIES.items() if not e.document}
# The kind of record is in the path: its permission is checked here, its sites by ``authorize``.
Reader = Annotated[Actor, permit("{entity}.view", resources=_RESOURCES)]
Restorer = Annotated[Actor, permit("{entity}.edit", resources=_RESOURCES)]
DeletedReader = Annotated[Actor, permit("{kind}.view", resources=_MASTER)]
Version = Annotated[int, Field(ge=1, le=MAX_ID)]


class RestoreIn(Strict):
    version: Version  # the version to bring back
    current_version: Version  # the version the user saw: a stale one changes nothing


def authorize(request: Request, db: Database, actor: Actor, entity: str, key: str,
              action: str) -> None:
    """``actor`` may ``action`` (view, edit) this record: documents and sites by their sites."""
    spec = history.entity_of(entity)
    needed = f"{spec.resource}.{action}"
    missing = NotFound("No {label} {code}", label=spec.label, code=key)
    if spec.document:
        sites = queries.document_sites(db.uow(), spec.resource, key)
        if sites is None or not actor.sees(f"{spec.resource}.view", sites):
            raise deny(request, missing, actor)
        allowed = any(actor.can(needed, s) for s in sites)
    else:
        if spec.resource == "site":
            site = queries.site_of(db.uow(), key)
            sites_in_scope(request, actor, f"{spec.resource}.view", [site] if site else [], missing)
        allowed = actor.can(needed)
    if not allowed:
        raise deny(request, Forbidden("Your role may not do this"), actor)


@router.get("/deleted/{kind}")
def list_deleted(kind: str, db: DbDep, actor: DeletedReader,
                 cursor: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Any:
    """The deleted records of one kind of master data (category, sku, site, location, …)."""
    history.master_entity(kind)
    with db.read() as session:
        items, nxt = history.deleted(session, kind, after=cursor, limit=limit)
    return jsonable({"items": items, "next_cursor": nxt})


@router.get("/history/{entity}/{key}")
def list_versions(entity: str, key: str, request: Request, db: DbDep, actor: Reader) -> Any:
    """Every kept version of the record, newest first."""
    authorize(request, db, actor, entity, key, "view")
    return jsonable(history.versions(db.uow(), entity, key))


@router.get("/history/{entity}/{key}/diff")
def diff_versions(entity: str, key: str, request: Request, db: DbDep, actor: Reader,
                  from_: Annotated[int, Query(alias="from", ge=1)],
                  to: Annotated[int, Query(ge=1, le=MAX_ID)]) -> Any:
    """Two versions side by side, field by field (lines as ``lines[n].field``)."""
    authorize(request, db, actor, entity, key, "view")
    return jsonable(history.diff(db.uow(), entity, key, from_, to, hidden=actor.hidden_keys))


@router.post("/history/{entity}/{key}/restore")
def restore_version(entity: str, key: str, body: RestoreIn, request: Request, db: DbDep,
                    actor: Restorer) -> Any:
    """Bring ``version`` back as a new version; drafts only for documents."""
    authorize(request, db, actor, entity, key, "edit")
    return jsonable(history.restore(db.uow(), actor, entity, key, body.version,
                                    body.current_version))
