"""Custom field definitions through the API (/api/v1/custom-fields): list, add, read, change
and remove (a field with values is deactivated). Values themselves travel in each record's
``custom`` object."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import Field

from cangliu.core.custom_fields import KEY_PATTERN
from cangliu.core.permissions import Actor
from cangliu.services import custom_fields
from cangliu.web.api.schemas import MAX_ID, Strict, jsonable
from cangliu.web.deps import DbDep, permit

router = APIRouter(prefix="/api/v1/custom-fields", tags=["custom fields"])
Viewer = Annotated[Actor, permit("settings.view")]
Editor = Annotated[Actor, permit("settings.edit")]
Entity = Literal["sku", "site", "supplier", "customer", "serial", "purchase_order",
                 "sales_order", "transfer_order"]
Label = Annotated[str, Field(max_length=100)]
EXAMPLE = {"color": "red", "net_weight": "1.25", "launch": "2026-12-01"}
# The ``custom`` object of every record that carries custom fields, in and out.
Custom = Annotated[dict[str, Any] | None, Field(
    description="Values of the custom fields an administrator defined for this kind of record "
                "(GET /api/v1/custom-fields), by key: text, a decimal string, a date "
                "(YYYY-MM-DD), true/false, an option's value or a list of them. On create, "
                "missing fields take their default; on update, only the keys given change and "
                "null clears one. Records always answer with a `custom` object ({} when none).",
    examples=[EXAMPLE])]


class OptionIn(Strict):
    value: Annotated[str, Field(min_length=1, max_length=60)]
    label_zh: Label = ""
    label_en: Label = ""


class RulesIn(Strict):
    """What a value must satisfy, by type: options (choice, multi_choice); min/max (number:
    decimal strings, date: YYYY-MM-DD); decimals (number); max_length and pattern (text)."""

    options: list[OptionIn] | None = None
    min: Annotated[str, Field(max_length=40)] | None = None
    max: Annotated[str, Field(max_length=40)] | None = None
    decimals: Annotated[int, Field(ge=0, le=6)] | None = None
    max_length: Annotated[int, Field(ge=1, le=2000)] | None = None
    pattern: Annotated[str, Field(max_length=200)] | None = None


class FieldChange(Strict):
    label_zh: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    label_en: Label | None = None
    required: bool | None = None
    default: Any = Field(None, description="a value the field accepts; applied on create")
    rules: RulesIn | None = None
    position: Annotated[int, Field(ge=0, le=10_000)] | None = None
    active: bool | None = None


class FieldIn(Strict):
    entity: Entity
    key: Annotated[str, Field(pattern=KEY_PATTERN, description="permanent; lower-case")]
    label_zh: Annotated[str, Field(min_length=1, max_length=100)]
    label_en: Label = ""
    type: Literal["text", "number", "date", "choice", "multi_choice", "bool"]
    required: bool = False
    default: Any = Field(None, description="a value the field accepts; applied on create")
    rules: RulesIn = RulesIn()
    position: Annotated[int, Field(ge=0, le=10_000)] | None = None


class FieldUpdate(FieldChange):
    """Fields left out keep their value; ``version`` is the one the edit is based on. The key,
    the entity and the type cannot change."""

    version: Annotated[int, Field(ge=1, le=MAX_ID)]


def _rules(rules: RulesIn | None) -> dict[str, Any]:
    return rules.model_dump(exclude_none=True) if rules else {}


@router.get("")
def list_fields(db: DbDep, actor: Viewer, entity: Entity | None = None) -> Any:
    """Every custom field, by entity and position (deactivated ones included)."""
    with db.read() as session:
        return jsonable({"items": custom_fields.list_fields(session, entity),
                         "next_cursor": None})


@router.post("", status_code=201)
def create_field(body: FieldIn, db: DbDep, actor: Editor) -> Any:
    fields = body.model_dump(exclude_none=True)
    fields["rules"], fields["default"] = _rules(body.rules), body.default
    return JSONResponse(jsonable(custom_fields.create_field(db.uow(), actor, fields)),
                        status_code=201)


@router.get("/{entity}/{key}")
def get_field(entity: Entity, key: str, db: DbDep, actor: Viewer) -> Any:
    with db.read() as session:
        return jsonable(custom_fields.get_field(session, entity, key))


@router.put("/{entity}/{key}")
def update_field(entity: Entity, key: str, body: FieldUpdate, db: DbDep, actor: Editor) -> Any:
    """Change a field at ``version``; a stale version answers 409 and changes nothing."""
    fields = body.model_dump(exclude_unset=True)
    version = fields.pop("version")
    if "rules" in fields:
        fields["rules"] = _rules(body.rules)
    return jsonable(custom_fields.update_field(db.uow(), actor, entity, key, version, fields))


@router.delete("/{entity}/{key}")
def delete_field(entity: Entity, key: str, version: Annotated[int, Query(ge=1, le=MAX_ID)], db: DbDep,
                 actor: Editor) -> Any:
    """Remove the field; when records hold values it is deactivated instead (``removed``
    false, ``in_use`` the number of records), the values kept."""
    return jsonable(custom_fields.remove_field(db.uow(), actor, entity, key, version))
