"""The import page (导入): choose what to import, download its template, upload a file, follow
the check (a progress bar polled every second while a large file is worked on), read the
preview and the errors (downloadable), then apply — confirmed in the browser — all or nothing.
Permissions as in the API (web/api/imports.py)."""

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cangliu.core.errors import Conflict, DomainError, FieldError
from cangliu.core.permissions import Actor
from cangliu.db.uow import Database
from cangliu.services import imports
from cangliu.services.imports import files, jobs
from cangliu.services.imports.spec import ENTITIES
from cangliu.web.api.imports import check_allowed, job_for, launch, max_bytes, receive
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.pages.masterdata import _errors
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
PageUser = Annotated[Actor, page_permit(None)]
ERRORS_SHOWN = 200
MODES = {"create": "Create only (existing codes are errors)",
         "upsert": "Create or update (existing codes are updated)"}


def allowed_entities(actor: Actor) -> list[tuple[str, str]]:
    return [(key, spec.label) for key, spec in ENTITIES.items()
            if all(actor.can(p) for p in imports.permissions(key, "create"))]


def _page(request: Request, db: Database, actor: Actor, *, entity: str = "",
          errors: list[FieldError] | None = None, status_code: int = 200) -> HTMLResponse:
    choices = allowed_entities(actor)
    mine = {key for key, _ in choices}
    recent = [j for j in jobs.recent(db, limit=50) if j["entity"] in mine][:15]
    return render(request, "imports.html", actor, status_code=status_code, entities=choices,
                  entity=entity if entity in mine else (choices[0][0] if choices else ""),
                  errors=errors or [], recent=recent, modes=MODES, master=imports.MASTER_DATA,
                  limit_mb=max_bytes(request) // 2**20, labels=dict(choices))


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, db: DbDep, actor: PageUser, entity: str = "") -> HTMLResponse:
    return _page(request, db, actor, entity=entity)


@router.post("/import", response_model=None)
async def upload(request: Request, db: DbDep, actor: PageUser) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    entity = str(form.get("entity") or "")
    # Only master data has the create-or-update choice (the field is hidden for the rest).
    mode = "upsert" if form.get("mode") == "upsert" and entity in imports.MASTER_DATA else "create"
    try:
        imports.entity_of(entity)
        check_allowed(request, actor, entity, mode)
        name, content = await receive(request, form.get("file"))
        ref = jobs.create(db, actor, entity, name, content, mode)
        await launch(request, db, actor, ref, apply=False, size=len(content))
    except DomainError as exc:
        return _page(request, db, actor, entity=entity, errors=_errors(locale_of(request), exc),
                     status_code=exc.status)
    return RedirectResponse(f"/import/{ref}", status_code=303)


def _job_page(request: Request, db: Database, actor: Actor, ref: str,
              errors: list[FieldError] | None = None, status_code: int = 200) -> HTMLResponse:
    job = job_for(request, db, actor, ref)
    locale = locale_of(request)
    found = jobs.errors(db, ref)
    spec = ENTITIES[job["entity"]]
    message = job["message"]
    return render(request, "imports_job.html", actor, status_code=status_code, job=job,
                  label=spec.label, columns=[(c.key, c.header) for c in spec.columns],
                  rows=files.report_rows(found[:ERRORS_SHOWN], locale), error_total=len(found),
                  busy=job["status"] not in jobs.FINAL, errors=errors or [], modes=MODES,
                  failure=(message and _errors(locale, Conflict(message["message"],
                                                                **message["params"]))))


@router.get("/import/{ref}", response_class=HTMLResponse)
def job_page(ref: str, request: Request, db: DbDep, actor: PageUser) -> HTMLResponse:
    return _job_page(request, db, actor, ref)


@router.get("/import/{ref}/progress", response_class=HTMLResponse)
def progress(ref: str, request: Request, db: DbDep, actor: PageUser) -> Response:
    """The progress bar, polled every second; a finished job reloads the page."""
    job = job_for(request, db, actor, ref)
    if job["status"] in jobs.FINAL:
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    return render(request, "imports_progress.html", actor, job=job)


@router.post("/import/{ref}/apply", response_model=None)
async def apply(ref: str, request: Request, db: DbDep, actor: PageUser) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    job: dict[str, Any] = job_for(request, db, actor, ref)
    if job["status"] != "validated":
        return _job_page(request, db, actor, ref, status_code=409, errors=_errors(
            locale_of(request), Conflict("Only a validated import without errors can be "
                                         "applied (this one is {status})", status=job["status"])))
    await launch(request, db, actor, ref, apply=True, size=job["counts"]["rows"] * 100)
    return RedirectResponse(f"/import/{ref}", status_code=303)
