"""Master data endpoints: categories, SKUs, sites, zones and bins, suppliers, customers."""

from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BeforeValidator, Field, create_model, field_validator
from pydantic_core import PydanticCustomError

from cangliu.core.errors import NotFound
from cangliu.core.locations import Channel, SiteKind
from cangliu.core.permissions import Actor
from cangliu.db import queries
from cangliu.db.uow import Database
from cangliu.services import masterdata
from cangliu.web.api.custom_fields import Custom
from cangliu.web.api.schemas import MAX_ID, Code, Strict, jsonable
from cangliu.web.deps import DbDep, in_scope, permit, sites_in_scope

Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=200)]
Measure = Annotated[Decimal, Field(ge=0, le=10**9, decimal_places=6)]


EMAIL = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"  # empty, or one @ and a dot after it


class CategoryIn(Strict):
    name: Name
    name_en: Text = ""
    parent: Code | None = None
    # How this category's own SKUs are valued (not inherited by subcategories).
    valuation: Literal["moving_average", "fifo"] = "moving_average"


class SkuIn(Strict):
    name: Name
    name_en: Text = ""
    category: Code | None = None
    uom: Annotated[str, Field(min_length=1, max_length=20)] = "pcs"
    decimals: Annotated[int, Field(ge=0, le=6)] = 0
    tracking: Literal["none", "lot", "serial"] = "none"
    shelf_life_days: Annotated[int, Field(ge=1, le=36500)] | None = None
    warranty_days: Annotated[int, Field(ge=0, le=3650)] = 365  # 0: no warranty
    weight_kg: Measure | None = None
    volume_l: Measure | None = None
    # Units per pack: planned transfers move whole packs; empty means one.
    pack_size: Annotated[Decimal, BeforeValidator(lambda v: 1 if v in (None, "") else v),
                         Field(gt=0, le=10**6, decimal_places=6)] = Decimal(1)
    fragile: bool = False
    high_value: bool = False
    bonded: bool = False
    perishable: bool = False
    active: bool = True
    custom: Custom = None
    barcodes: list[Annotated[str, Field(min_length=1, max_length=64)]] = []


class SiteIn(Strict):
    name: Name
    name_en: Text = ""
    site_kind: SiteKind
    region: Annotated[str, Field(max_length=40)] = ""
    channel: Channel = Channel.WAREHOUSE
    address: Text = ""
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    allow_negative: bool = False
    active: bool = True
    custom: Custom = None


class LocationIn(Strict):
    name: Name
    name_en: Text = ""
    kind: Literal["zone", "bin"]
    parent: Code
    capacity_volume_l: Measure | None = None
    capacity_weight_kg: Measure | None = None
    active: bool = True


class PartnerIn(Strict):
    name: Name
    contact: Text = ""
    phone: Annotated[str, Field(max_length=40)] = ""
    email: Annotated[str, Field(max_length=200, pattern=EMAIL)] = ""
    address: Text = ""
    active: bool = True
    custom: Custom = None


class SupplierIn(PartnerIn):
    lead_time_days: Annotated[int, Field(ge=0, le=365)] = 7


class CustomerIn(PartnerIn):
    channel: Literal["store", "online", "wholesale"] = "store"


class VersionIn(Strict):
    version: Annotated[int, Field(ge=1, le=MAX_ID)]


def with_code(model: type[Strict]) -> type[Strict]:
    return type(f"{model.__name__[:-2]}Create", (model,), {"__annotations__": {"code": Code}})


def _partial(model: type[Strict]) -> type[Strict]:
    """The update body: every field optional (keeping its constraints), plus the version the
    edit is based on. A field that cannot be empty may be left out but not sent as null."""
    fields = {name: ((Annotated[(f.annotation, *f.metadata)] if f.metadata  # type: ignore[operator]
                      else f.annotation) | None,
                     Field(None, description=f.description, examples=f.examples))
              for name, f in model.model_fields.items()}
    required = [name for name, f in model.model_fields.items()
                if f.annotation is not None and type(None) not in get_args(f.annotation)]

    def not_null(cls: type[Strict], value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("not_null", "must not be empty")
        return value

    return create_model(  # type: ignore[call-overload,no-any-return]
        f"{model.__name__[:-2]}Update", __base__=Strict,
        __validators__={"not_null": field_validator(*required, mode="before")(not_null)},
        version=(Annotated[int, Field(ge=1, le=MAX_ID)], ...),
        **fields)


RESOURCES: dict[str, tuple[str, type[Strict]]] = {
    "categories": ("category", CategoryIn), "skus": ("sku", SkuIn), "sites": ("site", SiteIn),
    "locations": ("location", LocationIn), "suppliers": ("supplier", SupplierIn),
    "customers": ("customer", CustomerIn),
}
FILTERS = {"sku": ("category",), "location": ("site", "kind"), "site": ("region", "site_kind")}

router = APIRouter(prefix="/api/v1", tags=["master data"])


# The permission resource of each kind: categories go with SKUs, locations with sites.
RESOURCE_OF = {"category": "sku", "sku": "sku", "site": "site", "location": "site",
               "supplier": "supplier", "customer": "customer"}
PATH_RESOURCES = {path: RESOURCE_OF[kind] for path, (kind, _) in RESOURCES.items()}


def visible(request: Request, db: Database, actor: Actor, kind: str, code: str) -> None:
    """Sites and locations outside the reader's scope answer 404 as if they did not exist."""
    if RESOURCE_OF[kind] == "site":
        site = queries.site_of(db.uow(), code)
        sites_in_scope(request, actor, "site.view", [site] if site else [],
                       NotFound("No {label} {code}", label=masterdata.KINDS[kind].label, code=code))


CUSTOM_KINDS = ("sku", "site", "supplier", "customer")
CUSTOM_FILTER = ("One page of records. Filter by a custom field with `custom.<key>=<value>` "
                 "(exact match; a multi-choice field matches when it contains the value).")


def custom_filters(request: Request) -> dict[str, str]:
    """The list filters ``custom.<key>=<value>`` of a request (exact match; a multi-choice
    matches when it contains the value)."""
    return {name[7:]: value for name, value in request.query_params.items()
            if name.startswith("custom.") and name[7:] and value != ""}


def _register(path: str, kind: str, base: type[Strict]) -> None:
    create_model_ = with_code(base)
    update_model = _partial(base)
    resource = RESOURCE_OF[kind]
    viewer = Annotated[Actor, permit(f"{resource}.view")]
    creator = Annotated[Actor, permit(f"{resource}.create")]
    editor = Annotated[Actor, permit(f"{resource}.edit")]

    def list_(request: Request, db: DbDep, actor: viewer, q: str | None = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 50, cursor: str | None = None,
              category: str | None = None, site: str | None = None, kind_: Annotated[
                  str | None, Query(alias="kind")] = None, region: str | None = None,
              site_kind: str | None = None) -> Any:
        given = {"category": category, "site": site, "kind": kind_, "region": region,
                 "site_kind": site_kind}
        filters = {k: given[k] for k in FILTERS.get(kind, ())}
        with db.read() as session:
            items, nxt = masterdata.list_records(session, kind, q=q, after=cursor, limit=limit,
                                                 filters=filters, scope=actor.sites("site.view"),
                                                 custom=custom_filters(request))
        return jsonable({"items": items, "next_cursor": nxt})

    def get(code: str, request: Request, db: DbDep, actor: viewer) -> Any:
        visible(request, db, actor, kind, code)
        return jsonable(masterdata.get(db.uow(), kind, code))

    def create(body: create_model_, request: Request,  # type: ignore[valid-type]
               db: DbDep, actor: creator) -> Any:
        if kind == "location":
            in_scope(db, request, actor, "site.create", body.parent)  # type: ignore[attr-defined]
        fields = body.model_dump(exclude_unset=False)  # type: ignore[attr-defined]
        if kind in CUSTOM_KINDS and fields.get("custom") is None:
            fields["custom"] = {}  # a person's record: required custom fields are asked for
        record = masterdata.create(db.uow(), actor, kind, fields)
        return JSONResponse(jsonable(record), status_code=201)

    def update(code: str, body: update_model, request: Request,  # type: ignore[valid-type]
               db: DbDep, actor: editor) -> Any:
        visible(request, db, actor, kind, code)
        fields = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        version = fields.pop("version")
        return jsonable(masterdata.update_record(db.uow(), actor, kind, code, version, fields))

    def delete(code: str, version: Annotated[int, Query(ge=1, le=MAX_ID)], request: Request, db: DbDep,
               actor: Annotated[Actor, permit(f"{resource}.cancel")]) -> Any:
        """Soft delete at ``version``: gone from lists and pickers, code kept, restorable."""
        visible(request, db, actor, kind, code)
        return jsonable(masterdata.delete_record(db.uow(), actor, kind, code, version))

    def restore(code: str, body: VersionIn, request: Request, db: DbDep, actor: editor) -> Any:
        """Bring a deleted record back as it was when deleted."""
        visible(request, db, actor, kind, code)
        return jsonable(masterdata.restore_record(db.uow(), actor, kind, code, body.version))

    router.add_api_route(f"/{path}", list_, methods=["GET"], name=f"list_{path}",
                         description=CUSTOM_FILTER if kind in CUSTOM_KINDS else None)
    router.add_api_route(f"/{path}/{{code}}", get, methods=["GET"], name=f"get_{kind}")
    router.add_api_route(f"/{path}", create, methods=["POST"], status_code=201,
                         name=f"create_{kind}")
    router.add_api_route(f"/{path}/{{code}}", update, methods=["PATCH"], name=f"update_{kind}")
    router.add_api_route(f"/{path}/{{code}}", delete, methods=["DELETE"], name=f"delete_{kind}")
    router.add_api_route(f"/{path}/{{code}}/restore", restore, methods=["POST"],
                         name=f"restore_{kind}")


for _path, (_kind, _model) in RESOURCES.items():
    _register(_path, _kind, _model)
