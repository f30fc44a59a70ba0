"""Import jobs: an uploaded file kept with its status (uploaded → validating → validated →
applying → applied, or failed), progress, counts and error report, worked on synchronously or
in a background thread of the web process.

Status changes are written on their own connection as plain updates (an upload or a failed
check changes nothing worth auditing); the one audited change is the job turning ``applied``,
inside the transaction that writes the rows. Progress while a job runs is kept in memory (the
applying transaction holds SQLite's write lock, so it could not be written), and in the row
between phases; a process that did not run the job sees the row's figures.
"""

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, insert, select, update

from cangliu.core.errors import DomainError, NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.audit import acting
from cangliu.db.models.imports import ImportFile, ImportJob
from cangliu.db.uow import Database
from cangliu.services import imports
from cangliu.services.imports.cells import RowError

log = logging.getLogger(__name__)
JOBS: Table = ImportJob.__table__  # type: ignore[assignment]
FILES: Table = ImportFile.__table__  # type: ignore[assignment]
MAX_KEPT_ERRORS = 100_000
FINAL = ("validated", "applied", "failed")


@dataclass
class Live:
    done: int = 0
    total: int = 0
    phase: str = ""


_live: dict[str, Live] = {}
# The parsed rows of the last validated jobs, so applying one does not read its file again.
_parsed: dict[str, Any] = {}
KEEP_PARSED = 2
_threads: dict[str, threading.Thread] = {}
_lock = threading.Lock()


def create(db: Database, actor: Actor, entity: str, filename: str, content: bytes,
           mode: str = "create") -> str:
    """Keep an uploaded file as a new job; answers its ref."""
    imports.entity_of(entity)
    uow = db.uow()
    with uow:
        ref = uow.new_ref()
        conn = uow.session.connection()
        job_id = conn.execute(insert(JOBS).values(
            ref=ref, entity=entity, filename=filename[:200], mode=mode, status="uploaded",
            total_rows=0, done_rows=0, create_count=0, update_count=0, error_count=0,
            user_id=actor.user_id or None, created_by=actor.username[:64],
            created_at=uow.now())).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(insert(FILES).values(job_id=job_id, content=content))
        uow.commit()
    return ref


def _set(db: Database, ref: str, **values: Any) -> None:
    with db.writer.begin() as conn:
        conn.execute(update(JOBS).where(JOBS.c.ref == ref).values(**values))


def _progress(ref: str) -> imports.Progress:
    def note(done: int, total: int, phase: str) -> None:
        _live[ref] = Live(done, total, phase)
    return note


def _errors_json(errors: list[RowError]) -> str:
    return json.dumps([[e.row, e.column, e.message, e.params] for e in errors[:MAX_KEPT_ERRORS]],
                      ensure_ascii=False)


def run(db: Database, actor: Actor, ref: str, *, apply: bool = False,
        progress: imports.Progress | None = None) -> dict[str, Any]:
    """Validate the job's file and, with ``apply`` and no errors, apply it; answers the job."""
    with db.read() as session:
        job = session.execute(select(JOBS).where(JOBS.c.ref == ref)).mappings().first()
        if job is None:
            raise NotFound("No import {ref}", ref=ref)
        content = session.scalar(select(FILES.c.content).where(FILES.c.job_id == job["id"]))
    note = _progress(ref)

    def both(done: int, total: int, phase: str) -> None:
        note(done, total, phase)
        if progress:
            progress(done, total, phase)

    try:
        with acting(actor):
            _work(db, actor, dict(job), content or b"", apply, both)
    except Exception as exc:  # a job never dies silently: the reason is kept on the job
        _fail(db, ref, exc)
    finally:
        _live.pop(ref, None)
    return get(db, ref)


def _work(db: Database, actor: Actor, job: dict[str, Any], content: bytes, apply: bool,
          progress: imports.Progress) -> None:
    ref, args = job["ref"], {"filename": job["filename"], "mode": job["mode"]}
    _set(db, ref, status="applying" if apply else "validating", finished_at=None, message=None)
    if apply:
        outcome = imports.apply(db.uow(), actor, job["entity"], content, job=ref,
                                progress=progress, parsed=_parsed.pop(ref, None), **args)
    else:
        outcome = imports.validate(db.uow(), actor, job["entity"], content, progress=progress,
                                   **args)
        if not outcome.errors:
            with _lock:
                while len(_parsed) >= KEEP_PARSED:
                    _parsed.pop(next(iter(_parsed)))
                _parsed[ref] = outcome.parsed
    values = {"total_rows": outcome.total, "done_rows": outcome.total,
              "create_count": outcome.creates, "update_count": outcome.updates,
              "error_count": len(outcome.errors), "errors": _errors_json(outcome.errors),
              "preview": json.dumps(outcome.preview, ensure_ascii=False),
              "finished_at": db.uow().now()}
    if outcome.applied:
        _set(db, ref, errors=values["errors"], preview=values["preview"])
    else:
        _set(db, ref, status="failed" if outcome.errors else "validated", **values)


def _fail(db: Database, ref: str, exc: Exception) -> None:
    if isinstance(exc, ValidationFailed):
        errors = [RowError(1, e.field, e.message, e.params) for e in exc.errors]
        _set(db, ref, status="failed", errors=_errors_json(errors), error_count=len(errors),
             finished_at=db.uow().now())
        return
    if isinstance(exc, DomainError):
        message = {"message": exc.message, "params": exc.params}
    else:
        log.exception("import %s failed", ref)
        message = {"message": "The import failed unexpectedly: {error}",
                   "params": {"error": type(exc).__name__}}
    _set(db, ref, status="failed", message=json.dumps(message, ensure_ascii=False),
         finished_at=db.uow().now())


def start(db: Database, actor: Actor, ref: str, *, apply: bool = False) -> None:
    """Run the job in a background thread; the caller answers at once."""
    _live[ref] = Live(phase="queued")
    thread = threading.Thread(target=run, args=(db, actor, ref), kwargs={"apply": apply},
                              name=f"cangliu-import-{ref}", daemon=True)
    with _lock:
        _threads[ref] = thread
    thread.start()


def wait(ref: str, timeout: float | None = None) -> None:
    """Until the job's background thread ends (tests, shutdown)."""
    with _lock:
        thread = _threads.pop(ref, None)
    if thread is not None:
        thread.join(timeout)


def running(ref: str) -> bool:
    with _lock:
        thread = _threads.get(ref)
    return thread is not None and thread.is_alive()


def get(db: Database, ref: str) -> dict[str, Any]:
    """The job as the API shows it (without its errors; see ``errors``)."""
    with db.read() as session:
        job = session.execute(select(JOBS).where(JOBS.c.ref == ref)).mappings().first()
    if job is None:
        raise NotFound("No import {ref}", ref=ref)
    live = _live.get(ref)
    busy = job["status"] in ("validating", "applying", "uploaded")
    done, total = ((live.done, live.total) if live and busy else (job["done_rows"], job["total_rows"]))
    return {"id": ref, "entity": job["entity"], "filename": job["filename"], "mode": job["mode"],
            "status": job["status"], "phase": live.phase if live and busy else job["status"],
            "progress": {"done": done, "total": total},
            "counts": {"rows": job["total_rows"], "create": job["create_count"],
                       "update": job["update_count"], "errors": job["error_count"]},
            "message": json.loads(job["message"]) if job["message"] else None,
            "preview": json.loads(job["preview"]) if job["preview"] else [],
            "created_by": job["created_by"], "user_id": job["user_id"],
            "created_at": job["created_at"], "finished_at": job["finished_at"],
            "applied_at": job["applied_at"]}


def errors(db: Database, ref: str) -> list[RowError]:
    with db.read() as session:
        text = session.scalar(select(JOBS.c.errors).where(JOBS.c.ref == ref))
    return [RowError(r[0], r[1], r[2], r[3]) for r in json.loads(text or "[]")]


def recent(db: Database, *, limit: int = 20) -> list[dict[str, Any]]:
    with db.read() as session:
        refs = session.scalars(select(JOBS.c.ref).order_by(JOBS.c.id.desc()).limit(limit)).all()
    return [get(db, ref) for ref in refs]
