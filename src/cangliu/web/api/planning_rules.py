"""Transfer rules as data (/api/v1/planning/rules): list and read them, save one from YAML (or
the same fields as JSON), enable, disable, restore or delete it, and preview what a rule would
propose now without saving it. Reading needs planning.view; writing settings.edit, as a rule
applies to the whole network."""

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from cangliu.core.errors import ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.services import planning_rules
from cangliu.web.api.schemas import MAX_ID, PathId, Strict, jsonable
from cangliu.web.deps import DbDep, permit

router = APIRouter(prefix="/api/v1/planning/rules", tags=["planning"])
Viewer = Annotated[Actor, permit("planning.view")]
Editor = Annotated[Actor, permit("settings.edit")]
Version = Annotated[int | None, Query(ge=1, le=MAX_ID, description="the version the change is based on")]
MAX_BODY = 256 * 1024  # a rule is a dozen lines
YAML = "application/yaml"
BODY = {"requestBody": {"required": True, "content": {
    YAML: {"schema": {"type": "string"}},
    "application/json": {"schema": {"type": "object", "description":
                                    "the rule's fields, or {\"yaml\": text}; \"version\" to update"}}}}}


class RestoreIn(Strict):
    version: Annotated[int, Field(ge=1, le=MAX_ID, description="the earlier version to save again")]
    base_version: Annotated[int | None, Field(ge=1, le=MAX_ID)] = None


async def _body(request: Request) -> tuple[str, int | None]:
    """The rule's YAML and the version an update is based on: a YAML (or plain text) body with
    ``?version=``, or a JSON object of the rule's fields (or ``yaml``) with ``version``."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ValidationFailed.single("body", "is larger than {size} KB", size=MAX_BODY // 1024)
    query = request.query_params.get("version")
    if query is not None and not (query.isdigit() and int(query) >= 1):
        raise ValidationFailed.single("version", "must be a whole number of at least {n}", n=1)
    version = int(query) if query is not None else None
    if "json" not in request.headers.get("content-type", ""):
        return raw.decode("utf-8", errors="replace"), version
    try:
        data = json.loads(raw or b"null")
    except ValueError:
        raise ValidationFailed.single("body", "is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValidationFailed.single("body", "must be an object")
    version = data.pop("version", version)
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        raise ValidationFailed.single("version", "must be a whole number of at least {n}", n=1)
    if "yaml" in data:
        if not isinstance(data["yaml"], str) or len(data) > 1:
            raise ValidationFailed.single("yaml", "must be the rule's YAML text, alone")
        return data["yaml"], version
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False), version


def _today() -> date:
    return datetime.now(UTC).date()


@router.get("")
def list_rules(db: DbDep, actor: Viewer) -> Any:
    """Every rule by priority, with its YAML and parsed fields (the built-ins while none is saved)."""
    with db.read() as session:
        return jsonable({"items": planning_rules.list_rules(session)})


@router.post("/preview", openapi_extra=BODY)
async def preview_rule(request: Request, db: DbDep, actor: Viewer) -> Any:
    """What the rule in the body would propose now, alone and as if enabled; nothing is saved.
    A rule that would be refused at save is refused here with the same reasons."""
    text, _version = await _body(request)
    rule = planning_rules.check_rule(text)
    with db.read() as session:
        return jsonable(planning_rules.preview(session, rule, _today()))


@router.get("/{name}")
def get_rule(name: str, db: DbDep, actor: Viewer) -> Any:
    """One rule: its YAML, its parsed fields and its versions (newest first)."""
    with db.read() as session:
        return jsonable(planning_rules.get_rule(session, name))


@router.get("/{name}/versions/{version}")
def get_version(name: str, version: PathId, db: DbDep, actor: Viewer) -> Any:
    with db.read() as session:
        return {"name": name, "version": version,
                "yaml": planning_rules.version_text(session, name, version)}


@router.post("", status_code=201, openapi_extra=BODY)
async def create_rule(request: Request, db: DbDep, actor: Editor) -> Any:
    """Save a new rule; refused with every reason by field (422), or if it closes a cycle of
    sources with the enabled rules on today's state."""
    text, _version = await _body(request)
    return jsonable(planning_rules.create_rule(db.uow(), actor, text))


@router.put("/{name}", openapi_extra=BODY)
async def update_rule(name: str, request: Request, db: DbDep, actor: Editor) -> Any:
    """Save the next version of a rule, based on ``version`` (409 if someone saved since)."""
    text, version = await _body(request)
    if version is None:
        raise ValidationFailed.single("version", "is required")
    return jsonable(planning_rules.update_rule(db.uow(), actor, name, text, version=version))


@router.post("/{name}/enable")
def enable_rule(name: str, db: DbDep, actor: Editor, version: Version = None) -> Any:
    return jsonable(planning_rules.set_enabled(db.uow(), actor, name, True, version=version))


@router.post("/{name}/disable")
def disable_rule(name: str, db: DbDep, actor: Editor, version: Version = None) -> Any:
    return jsonable(planning_rules.set_enabled(db.uow(), actor, name, False, version=version))


@router.post("/{name}/restore")
def restore_rule(name: str, body: RestoreIn, db: DbDep, actor: Editor) -> Any:
    """Save an earlier version again as the newest one."""
    return jsonable(planning_rules.restore_rule(db.uow(), actor, name, body.version,
                                                version=body.base_version))


@router.post("/{name}/reset")
def reset_rule(name: str, db: DbDep, actor: Editor, version: Version = None) -> Any:
    """A built-in rule back to the text shipped with Cangliu."""
    return jsonable(planning_rules.reset_builtin(db.uow(), actor, name, version=version))


@router.delete("/{name}", status_code=204)
def delete_rule(name: str, db: DbDep, actor: Editor, version: Version = None) -> Response:
    """Delete a rule of one's own (409 for a built-in one: disable it instead)."""
    planning_rules.delete_rule(db.uow(), actor, name, version=version)
    return Response(status_code=204)
