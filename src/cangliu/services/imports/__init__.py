"""Spreadsheet imports (导入): master data, opening stock, price lists and demand history from an
XLSX or CSV file, every row checked, all or nothing.

``validate`` reads and checks a file without writing; ``apply`` checks it again inside the one
transaction that writes it, so a row failing then writes nothing either. Errors are
``RowError(row as numbered in the sheet, the column's header as the file writes it, msgid,
params)``; readers translate them. ``mode`` "create" refuses codes that exist; "upsert" updates
them (empty cells keep the stored value).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update

from cangliu.core.errors import ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models.imports import ImportJob
from cangliu.db.uow import UnitOfWork
from cangliu.services.imports import demand, master_apply, master_checks, opening, prices
from cangliu.services.imports.cells import Parsed, RowError, parse
from cangliu.services.imports.plan import Context, Plan, bad_rows
from cangliu.services.imports.reader import read
from cangliu.services.imports.spec import ENTITIES, MASTER_DATA, Entity

__all__ = ["ENTITIES", "MASTER_DATA", "Outcome", "RowError", "apply", "entity_of", "permissions",
           "validate"]

Progress = Callable[[int, int, str], None]  # rows done, rows in all, phase
MODES = ("create", "upsert")
CHECKS: dict[str, Callable[[Context, Parsed, str], Plan]] = {
    **{k: master_checks.check for k in MASTER_DATA}, "opening_stock": opening.check,
    "supplier_price": prices.check, "customer_price": prices.check, "demand": demand.check}


@dataclass
class Outcome:
    entity: str
    total: int = 0
    creates: int = 0
    updates: int = 0
    errors: list[RowError] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    applied: bool = False
    posting: str | None = None  # opening stock: the ref of its posting
    parsed: Parsed | None = field(default=None, repr=False)  # to apply without reading again


def entity_of(key: str) -> Entity:
    if key not in ENTITIES:
        raise ValidationFailed.single("entity", "must be one of: {expected}",
                                      expected=", ".join(ENTITIES))
    return ENTITIES[key]


def permissions(entity: str, mode: str) -> list[str]:
    """What importing needs: the entity's create (or edit) permission, and edit for updates."""
    spec = entity_of(entity)
    extra = [spec.edit_permission] if mode == "upsert" and spec.edit_permission else []
    return [spec.permission, *extra]


def _check_mode(entity: Entity, mode: str) -> None:
    if mode not in MODES:
        raise ValidationFailed.single("mode", "must be one of: {expected}", expected=", ".join(MODES))
    if mode == "upsert" and entity.key not in MASTER_DATA:
        raise ValidationFailed.single("mode", "only master data can be updated by an import")


def _parse(entity: Entity, content: bytes, filename: str, progress: Progress | None) -> Parsed:
    sheet = read(content, filename)
    total = len(sheet.rows)
    if progress:
        progress(0, total, "reading")
    return parse(entity, sheet, (lambda n: progress(n, total, "validating")) if progress else None)


def _plan(uow: UnitOfWork, actor: Actor, parsed: Parsed, mode: str) -> Plan:
    ctx = Context(uow.session, actor, uow.now())
    plan = CHECKS[parsed.entity.key](ctx, parsed, mode)
    bad = bad_rows(parsed) | {e.row for e in plan.errors}
    plan.creates = [r for r in plan.creates if r[0] not in bad]
    plan.updates = [r for r in plan.updates if r[0] not in bad]
    return plan


def _outcome(plan: Plan) -> Outcome:
    parsed = plan.parsed
    status = {n: "create" for n, _ in plan.creates} | {n: "update" for n, _ in plan.updates}
    errors = plan.all_errors
    bad = {e.row for e in errors}
    preview = [{"row": n, "status": "error" if n in bad else status.get(n, ""), "values": raw}
               for (n, _), raw in zip(parsed.rows, parsed.raw, strict=False)]
    return Outcome(parsed.entity.key, len(parsed.rows), len(plan.creates), len(plan.updates),
                   errors, preview)


def validate(uow: UnitOfWork, actor: Actor, entity: str, content: bytes, *, filename: str = "",
             mode: str = "create", progress: Progress | None = None) -> Outcome:
    """Read and check a file; nothing is written. A file that cannot be read or lacks columns
    raises ValidationFailed (field ``file`` or ``columns``)."""
    spec = entity_of(entity)
    _check_mode(spec, mode)
    parsed = _parse(spec, content, filename, progress)
    with uow:
        outcome = _outcome(_plan(uow, actor, parsed, mode))
    outcome.parsed = parsed
    return outcome


def apply(uow: UnitOfWork, actor: Actor, entity: str, content: bytes, *, filename: str = "",
          mode: str = "create", job: str | None = None, progress: Progress | None = None,
          parsed: Parsed | None = None) -> Outcome:
    """Check the file again and, if no row fails, write every row in one transaction (marking
    ``job`` applied in it, which is what the audit log records); else write nothing.
    ``parsed``: the file as ``validate`` parsed it (its cells are not read again; every check
    against the database is made again)."""
    spec = entity_of(entity)
    _check_mode(spec, mode)
    if parsed is None or parsed.entity is not spec:
        parsed = _parse(spec, content, filename, progress)
    with uow:
        plan = _plan(uow, actor, parsed, mode)
        outcome = _outcome(plan)
        if outcome.errors:
            return outcome
        if progress:
            progress(outcome.total, outcome.total, "applying")
        outcome.posting = _write(uow, actor, plan, job or "")
        if job:
            uow.session.execute(update(ImportJob).where(ImportJob.ref == job).values(
                status="applied", applied_at=uow.now(), finished_at=uow.now(),
                create_count=outcome.creates, update_count=outcome.updates,
                done_rows=outcome.total, total_rows=outcome.total)
                .execution_options(synchronize_session=False))
        uow.commit()
    outcome.applied = True
    return outcome


def _write(uow: UnitOfWork, actor: Actor, plan: Plan, job: str) -> str | None:
    ctx = Context(uow.session, actor, uow.now())
    kind = plan.parsed.entity.key
    if kind in MASTER_DATA:
        master_apply.write(ctx, plan, plan.refs)
    elif kind == "opening_stock":
        return opening.write(uow, ctx, plan, job).get("ref")
    elif kind == "demand":
        demand.write(ctx, plan)
    else:
        prices.write(ctx, plan)
    return None
