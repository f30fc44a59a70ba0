"""History pages: a record's versions with a side-by-side diff and a confirmed restore, deleting
master data (confirmed), and the deleted records with their restore."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from cangliu.core.errors import DomainError, FieldError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.uow import Database
from cangliu.i18n import translate
from cangliu.services import history, masterdata
from cangliu.web.api.history import authorize
from cangliu.web.deps import AnyPageUser, DbDep, check_csrf
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
MD_PATHS = {"category": "categories", "sku": "skus", "site": "sites", "location": "locations",
            "supplier": "suppliers", "customer": "customers"}
DOC_PAGES = {"transfer": "/transfers/", "purchase": "/docs/purchase-orders/",
             "sales": "/docs/sales-orders/"}


def record_url(entity: str, key: str) -> str:
    """The record's own page, where its history is linked from."""
    if entity in MD_PATHS:
        return f"/md/{MD_PATHS[entity]}/{key}"
    return f"{DOC_PAGES[entity]}{key}"


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _errors(request: Request, exc: DomainError) -> list[FieldError]:
    locale = locale_of(request)
    if isinstance(exc, ValidationFailed):
        return [FieldError(e.field, translate(locale, e.message, **e.params)) for e in exc.errors]
    return [FieldError("", translate(locale, exc.message, **exc.params))]


def _page(request: Request, db: Database, actor: Actor, entity: str, key: str, *,
          from_: int | None = None, to: int | None = None, confirm: str = "",
          errors: list[FieldError] | None = None, status_code: int = 200) -> HTMLResponse:
    record = history.versions(db.uow(), entity, key)
    numbers = [v["version"] for v in record["items"]]
    to = to or record["current_version"]
    if from_ is None:
        from_ = next((n for n in numbers if n < to), to)
    errors = list(errors or [])
    diff = None
    try:
        diff = history.diff(db.uow(), entity, key, from_, to, hidden=actor.hidden_keys)
    except ValidationFailed as exc:
        errors += _errors(request, exc)
        status_code = max(status_code, 422)
    return render(request, "history.html", actor, status_code=status_code, h=record, diff=diff,
                  from_=from_, to=to, confirm=confirm, errors=errors,
                  back=record_url(entity, key), master=entity in MD_PATHS,
                  may_edit=actor.can(f"{history.ENTITIES[entity].resource}.edit"),
                  may_delete=actor.can(f"{history.ENTITIES[entity].resource}.cancel"))


@router.get("/history/deleted", response_class=HTMLResponse)
def deleted_page(request: Request, db: DbDep, actor: AnyPageUser, kind: str = "sku",
                 cursor: str | None = None) -> HTMLResponse:
    """The deleted records of one kind, each with a restore button."""
    spec = history.master_entity(kind if kind in MD_PATHS else "sku")
    kinds = [k for k in MD_PATHS if actor.can(f"{history.ENTITIES[k].resource}.view")]
    items: list[dict[str, Any]] = []
    nxt = None
    if actor.can(f"{spec.resource}.view"):
        with db.read() as session:
            items, nxt = history.deleted(session, kind if kind in MD_PATHS else "sku",
                                         after=cursor)
    return render(request, "history.html", actor, h=None, kinds=kinds, kind=kind, items=items,
                  next_cursor=nxt, errors=[],
                  may_edit=actor.can(f"{spec.resource}.edit"))


@router.post("/history/deleted/{kind}/{code}/restore", response_model=None)
async def restore_deleted(kind: str, code: str, request: Request, db: DbDep,
                          actor: AnyPageUser) -> RedirectResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    history.master_entity(kind)
    authorize(request, db, actor, kind, code, "edit")
    masterdata.restore_record(db.uow(), actor, kind, code, _int(form.get("version")) or 0)
    return RedirectResponse(f"{record_url(kind, code)}?saved=1", status_code=303)


@router.get("/history/{entity}/{key}", response_class=HTMLResponse)
def history_page(entity: str, key: str, request: Request, db: DbDep, actor: AnyPageUser,
                 confirm: str = "") -> HTMLResponse:
    """Versions newest first, two of them side by side (``from`` / ``to``), and a restore or
    delete waiting for confirmation (``confirm=restore&version=N`` / ``confirm=delete``)."""
    authorize(request, db, actor, entity, key, "view")
    params = request.query_params
    if confirm == "restore":  # what the restore would change: now beside the version
        current = history.versions(db.uow(), entity, key)["current_version"]
        return _page(request, db, actor, entity, key, from_=current,
                     to=_int(params.get("version")), confirm=confirm)
    return _page(request, db, actor, entity, key, from_=_int(params.get("from")),
                 to=_int(params.get("to")), confirm="delete" if confirm == "delete" else "")


@router.post("/history/{entity}/{key}/restore", response_model=None)
async def restore(entity: str, key: str, request: Request, db: DbDep, actor: AnyPageUser
                  ) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    authorize(request, db, actor, entity, key, "edit")
    version = _int(form.get("version"))
    try:
        if version is None:
            raise ValidationFailed.single("version", "must be a version number")
        history.restore(db.uow(), actor, entity, key, version,
                        _int(form.get("current_version")) or 0)
    except DomainError as exc:
        return _page(request, db, actor, entity, key, to=version, errors=_errors(request, exc),
                     status_code=exc.status)
    return RedirectResponse(f"/history/{entity}/{key}?restored={version}", status_code=303)


@router.post("/history/{entity}/{key}/delete", response_model=None)
async def delete(entity: str, key: str, request: Request, db: DbDep, actor: AnyPageUser
                 ) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    history.master_entity(entity)
    authorize(request, db, actor, entity, key, "cancel")
    try:
        masterdata.delete_record(db.uow(), actor, entity, key, _int(form.get("version")) or 0)
    except DomainError as exc:
        return _page(request, db, actor, entity, key, confirm="delete",
                     errors=_errors(request, exc), status_code=exc.status)
    return RedirectResponse(f"/history/deleted?kind={entity}&deleted={key}", status_code=303)
