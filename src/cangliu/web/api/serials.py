"""Serial numbers (/api/v1/serial-rules, /api/v1/serials): generation rules with a live preview,
batch generation, scanning validation, the serial list and one serial's timeline. Users limited
to some sites see the serials at those sites (and those at no site yet)."""

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from cangliu.core.errors import FieldError
from cangliu.core.permissions import Actor
from cangliu.i18n import translate
from cangliu.services import serials
from cangliu.web.api.custom_fields import Custom
from cangliu.web.api.masterdata import CUSTOM_FILTER, custom_filters
from cangliu.web.api.schemas import MAX_ID, Code, Strict, jsonable
from cangliu.web.deps import DbDep, IdempotencyKey, LocaleDep, in_scope, permit

router = APIRouter(prefix="/api/v1", tags=["serials"])
Viewer = Annotated[Actor, permit("serial.view")]
Creator = Annotated[Actor, permit("serial.create")]
Editor = Annotated[Actor, permit("serial.edit")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
TemplateText = Annotated[str, Field(min_length=1, max_length=200)]
Kind = Literal["serial", "lot"]
ScannedCode = Annotated[str, Field(min_length=1, max_length=200)]


class RuleIn(Strict):
    code: Code
    name: Name
    kind: Kind = "serial"
    template: TemplateText
    sku: Code | None = None  # neither SKU nor category: the default rule
    category: Code | None = None
    line: Annotated[str, Field(max_length=40)] = ""
    active: bool = True


class RulePatch(Strict):
    version: Annotated[int, Field(ge=1, le=MAX_ID)]
    name: Name | None = None
    template: TemplateText | None = None
    sku: Code | None = None
    category: Code | None = None
    line: Annotated[str | None, Field(max_length=40)] = None
    active: bool | None = None


class PreviewIn(Strict):
    template: TemplateText
    sku: Code | None = None
    site: Code | None = None
    line: Code | None = None
    count: Annotated[int, Field(ge=1, le=20)] = 5


class GenerateIn(Strict):
    sku: Code
    count: Annotated[int, Field(ge=1, le=serials.MAX_BATCH)]
    site: Code | None = None
    line: Code | None = None
    rule: Code | None = None


class CheckIn(Strict):
    code: ScannedCode  # a serial, or GS1 content from a QR, DataMatrix or GS1-128 symbol
    sku: Code | None = None
    site: Code | None = None


def _today() -> date:
    return datetime.now(UTC).date()


@router.get("/serial-rules")
def list_rules(db: DbDep, actor: Viewer, kind: Kind | None = None, sku: str | None = None,
               active: bool | None = None) -> Any:
    with db.read() as session:
        return jsonable({"items": serials.list_rules(session, kind=kind, sku=sku, active=active)})


@router.get("/serial-rules/{code}")
def get_rule(code: str, db: DbDep, actor: Viewer) -> Any:
    with db.read() as session:
        return jsonable(serials.get_rule(session, code))


@router.post("/serial-rules", status_code=201)
def create_rule(body: RuleIn, db: DbDep, actor: Editor) -> Any:
    return JSONResponse(jsonable(serials.create(db.uow(), actor, **body.model_dump())),
                        status_code=201)


@router.patch("/serial-rules/{code}")
def update_rule(code: str, body: RulePatch, db: DbDep, actor: Editor) -> Any:
    """Change the fields given, based on ``version``: a stale one answers 409 with what changed."""
    fields = body.model_dump(exclude_unset=True)
    version = fields.pop("version")
    return jsonable(serials.update(db.uow(), actor, code, version, fields))


@router.post("/serial-rules/preview")
def preview_rule(body: PreviewIn, db: DbDep, actor: Viewer) -> Any:
    """The first codes a template would give, as the rule editor shows them while typing."""
    with db.read() as session:
        codes = serials.preview(session, body.template, sku=body.sku, site=body.site,
                                line=body.line, count=body.count, today=_today())
    return {"codes": codes}


@router.post("/serials/generate", status_code=201)
def generate(body: GenerateIn, request: Request, db: DbDep, actor: Creator,
             key: IdempotencyKey = None) -> Any:
    """A batch of new serials (status generated / 待使用) in one transaction."""
    in_scope(db, request, actor, "serial.create", body.site)
    made = serials.generate(db.uow(), actor, sku=body.sku, count=body.count, site=body.site,
                            line=body.line, rule=body.rule, idempotency_key=key)
    return JSONResponse(jsonable(made), status_code=201)


def _problem(locale: str, problem: FieldError) -> dict[str, Any]:
    return {"field": problem.field, "message": translate(locale, problem.message, **problem.params),
            "msgid": problem.message, "params": problem.params}


@router.post("/serials/check")
def check(body: CheckIn, request: Request, db: DbDep, actor: Viewer, locale: LocaleDep) -> Any:
    """Whether a scanned code is a usable serial; every problem named, in the caller's language."""
    in_scope(db, request, actor, "serial.view", body.site)
    with db.read() as session:
        answer = serials.check_scan(session, body.code, sku=body.sku, site=body.site,
                                    today=_today())
    answer["problems"] = [_problem(locale, p) for p in answer["problems"]]
    return jsonable(answer)


@router.get("/serials", description=CUSTOM_FILTER)
def list_serials(request: Request, db: DbDep, actor: Viewer, sku: str | None = None,
                 status: str | None = None, batch: str | None = None, q: str | None = None,
                 cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50
                 ) -> Any:
    with db.read() as session:
        items, nxt = serials.list_serials(session, sku=sku, status=status, batch=batch, q=q,
                                          after=cursor, limit=limit,
                                          scope=actor.sites("serial.view"),
                                          custom=custom_filters(request))
    return jsonable({"items": items, "next_cursor": nxt})


@router.get("/serials/{code}")
def get_serial(code: str, db: DbDep, actor: Viewer, sku: str | None = None) -> Any:
    """One serial and its timeline, oldest event first (一物一码 lookup)."""
    with db.read() as session:
        return jsonable(serials.get_serial(session, code, sku=sku,
                                           scope=actor.sites("serial.view")))


class SerialEdit(Strict):
    custom: Custom = None


@router.patch("/serials/{code}")
def edit_serial(code: str, body: SerialEdit, db: DbDep, actor: Editor,
                sku: str | None = None) -> Any:
    """Change a serial's custom field values: the keys given change, null clears one."""
    return jsonable(serials.set_custom(db.uow(), code, body.custom or {}, sku=sku,
                                       scope=actor.sites("serial.edit")))
