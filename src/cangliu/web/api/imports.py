"""Spreadsheet imports over the API: upload a file of one entity (validated, and applied with
``?apply=true``), follow its job, page through its errors, download the error report and the
templates.

Small files are worked on before the answer; larger ones in a background thread, the answer
(202) naming the job to poll. Importing needs the entity's create permission (edit too for
``mode=upsert``; ``supplier.edit`` / ``customer.edit`` for prices, ``stock.create`` for opening
stock, ``planning.edit`` for demand history); rows at sites outside the importer's scope fail.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from cangliu.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.uow import Database
from cangliu.i18n import translate
from cangliu.services import imports
from cangliu.services.imports import files, jobs
from cangliu.services.imports.reader import sniff
from cangliu.web.api.schemas import jsonable
from cangliu.web.deps import DbDep, Forbidden, deny, permit
from cangliu.web.export import disposition
from cangliu.web.problems import locale_of

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])
AnyUser = Annotated[Actor, permit(None)]
MAX_BYTES = 20 * 1024 * 1024  # app.state.import_max_bytes overrides it
INLINE_BYTES = 256 * 1024  # files up to this size are worked on before the answer
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JOB = {"description": "The import job: status, progress, counts, preview, a page of errors"}
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "An XLSX (first sheet) or CSV file"}}}}}}}


class TooLarge(DomainError):
    status = 413
    title = "Payload too large"


def max_bytes(request: Request) -> int:
    return int(getattr(request.app.state, "import_max_bytes", MAX_BYTES))


def check_allowed(request: Request, actor: Actor, entity: str, mode: str = "create") -> None:
    """403 unless ``actor`` holds what importing ``entity`` in ``mode`` needs (somewhere)."""
    needed = imports.permissions(entity, mode)
    if not all(actor.can(p) for p in needed):
        raise deny(request, Forbidden("Your role may not do this"), actor)


async def receive(request: Request, upload: Any) -> tuple[str, bytes]:
    """The uploaded file's name and bytes: 413 above the size limit, 422 if not a spreadsheet."""
    limit = max_bytes(request)
    if int(request.headers.get("content-length") or 0) > limit + 64 * 1024:
        raise TooLarge("The file is larger than {size} MB", size=limit // 2**20)
    if not isinstance(upload, UploadFile):
        raise ValidationFailed.single("file", "is required")
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise TooLarge("The file is larger than {size} MB", size=limit // 2**20)
    name = upload.filename or "upload"
    sniff(content, name)
    return name, content


async def launch(request: Request, db: Database, actor: Actor, ref: str, *, apply: bool,
                 size: int) -> dict[str, Any]:
    """Work on the job now (small file) or in the background (large file)."""
    inline = int(getattr(request.app.state, "import_inline_bytes", INLINE_BYTES))
    if size <= inline:
        done: dict[str, Any] = await run_in_threadpool(jobs.run, db, actor, ref, apply=apply)
        return done
    jobs.start(db, actor, ref, apply=apply)
    return jobs.get(db, ref)


def job_for(request: Request, db: Database, actor: Actor, ref: str) -> dict[str, Any]:
    """The job, if the reader may import its entity (else 404, as if it did not exist)."""
    job = jobs.get(db, ref)
    if not all(actor.can(p) for p in imports.permissions(job["entity"], job["mode"])):
        raise deny(request, NotFound("No import {ref}", ref=ref), actor)
    return job


def answer(job: dict[str, Any], request: Request, db: Database, *, offset: int = 0,
           limit: int = 100) -> dict[str, Any]:
    locale = locale_of(request)
    found = jobs.errors(db, job["id"])
    page = found[offset:offset + limit]
    message = job.pop("message")
    body: dict[str, Any] = jsonable({
        **{k: v for k, v in job.items() if k != "user_id"},
        "message": translate(locale, message["message"], **message["params"]) if message else None,
        "errors": {"items": [{"row": r, "column": c, "message": m}
                             for r, c, m in files.report_rows(page, locale)],
                   "total": len(found), "offset": offset,
                   "next_offset": offset + limit if offset + limit < len(found) else None}})
    return body


@router.get("/templates/{entity}.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The XLSX template"}})
def template(entity: str, request: Request, actor: AnyUser) -> Response:
    """The entity's XLSX template: bilingual headers, an example sheet, a notes sheet."""
    spec = imports.entity_of(entity)
    check_allowed(request, actor, entity)
    body = files.template(spec, locale_of(request))
    return Response(body, media_type=XLSX,
                    headers={"Content-Disposition": disposition(f"import-{entity}.xlsx")})


@router.post("/{entity}", status_code=202, openapi_extra=UPLOAD_BODY,
             responses={200: JOB, 202: JOB, 413: {"description": "The file is over the size limit"}})
async def upload(entity: str, request: Request, db: DbDep, actor: AnyUser,
                 apply: bool = False, mode: Annotated[str, Query(pattern="^(create|upsert)$")]
                 = "create") -> Any:
    """Upload ``file`` (multipart); answers the job (finished when the file is small)."""
    imports.entity_of(entity)
    check_allowed(request, actor, entity, mode)
    form = await request.form()
    name, content = await receive(request, form.get("file"))
    ref = jobs.create(db, actor, entity, name, content, mode)
    job = await launch(request, db, actor, ref, apply=apply, size=len(content))
    status = 202 if job["status"] not in jobs.FINAL else 200
    return JSONResponse(answer(job, request, db), status_code=status,
                        headers={"Location": f"/api/v1/imports/{ref}"})


@router.post("/{ref}/apply", responses={200: JOB, 202: JOB})
async def apply_job(ref: str, request: Request, db: DbDep, actor: AnyUser) -> Any:
    """Apply a validated job: checked again, then written all or nothing."""
    job = job_for(request, db, actor, ref)
    if job["status"] != "validated":
        raise Conflict("Only a validated import without errors can be applied (this one is "
                       "{status})", status=job["status"])
    done = await launch(request, db, actor, ref, apply=True, size=job["counts"]["rows"] * 100)
    return JSONResponse(answer(done, request, db),
                        status_code=202 if done["status"] not in jobs.FINAL else 200)


@router.get("/{ref}", responses={200: JOB})
def get_job(ref: str, request: Request, db: DbDep, actor: AnyUser,
            offset: Annotated[int, Query(ge=0)] = 0,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Any:
    """Status, progress, counts, preview and one page of errors in the caller's language."""
    return answer(job_for(request, db, actor, ref), request, db, offset=offset, limit=limit)


@router.get("/{ref}/errors.{fmt}", response_class=Response, responses={200: {
    "description": "The error report", "content": {XLSX: {}, "text/csv": {}}}})
def error_report(ref: str, fmt: str, request: Request, db: DbDep, actor: AnyUser) -> Response:
    """The error report (row, column, reason) as XLSX or CSV."""
    if fmt not in ("xlsx", "csv"):
        raise NotFound("No import {ref}", ref=ref)
    job_for(request, db, actor, ref)
    found = jobs.errors(db, ref)
    locale = locale_of(request)
    body = files.errors_xlsx(found, locale) if fmt == "xlsx" else files.errors_csv(found, locale)
    media = XLSX if fmt == "xlsx" else "text/csv; charset=utf-8"
    return Response(body, media_type=media,
                    headers={"Content-Disposition": disposition(f"import-errors-{ref}.{fmt}")})
