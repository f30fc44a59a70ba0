"""Master data endpoints: categories, SKUs, sites, zones and bins, suppliers, customers."""

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import Field, create_model

from cangliu.core.locations import Channel, SiteKind
from cangliu.services import masterdata
from cangliu.web.api.schemas import Code, Strict, jsonable
from cangliu.web.deps import ActorDep, DbDep

Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=200)]
Measure = Annotated[Decimal, Field(ge=0, le=10**9, decimal_places=6)]


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
    weight_kg: Measure | None = None
    volume_l: Measure | None = None
    fragile: bool = False
    high_value: bool = False
    bonded: bool = False
    perishable: bool = False
    active: bool = True
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
    email: Annotated[str, Field(max_length=200, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")] = ""
    address: Text = ""
    active: bool = True


class SupplierIn(PartnerIn):
    lead_time_days: Annotated[int, Field(ge=0, le=365)] = 7


class CustomerIn(PartnerIn):
    channel: Literal["store", "online", "wholesale"] = "store"


def with_code(model: type[Strict]) -> type[Strict]:
    return type(f"{model.__name__[:-2]}Create", (model,), {"__annotations__": {"code": Code}})


def _partial(model: type[Strict]) -> type[Strict]:
    """The update body: every field optional, plus the version the edit is based on."""
    fields = {name: (f.annotation | None, None)  # type: ignore[operator]
              for name, f in model.model_fields.items()}
    return create_model(f"{model.__name__[:-2]}Update", __base__=Strict,  # type: ignore[call-overload,no-any-return]
                        version=(Annotated[int, Field(ge=1)], ...), **fields)


RESOURCES: dict[str, tuple[str, type[Strict]]] = {
    "categories": ("category", CategoryIn), "skus": ("sku", SkuIn), "sites": ("site", SiteIn),
    "locations": ("location", LocationIn), "suppliers": ("supplier", SupplierIn),
    "customers": ("customer", CustomerIn),
}
FILTERS = {"sku": ("category",), "location": ("site", "kind"), "site": ("region", "site_kind")}

router = APIRouter(prefix="/api/v1", tags=["master data"])


def _register(path: str, kind: str, base: type[Strict]) -> None:
    create_model_ = with_code(base)
    update_model = _partial(base)

    def list_(db: DbDep, actor: ActorDep, q: str | None = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 50, cursor: str | None = None,
              category: str | None = None, site: str | None = None, kind_: Annotated[
                  str | None, Query(alias="kind")] = None, region: str | None = None,
              site_kind: str | None = None) -> Any:
        given = {"category": category, "site": site, "kind": kind_, "region": region,
                 "site_kind": site_kind}
        filters = {k: given[k] for k in FILTERS.get(kind, ())}
        with db.read() as session:
            items, nxt = masterdata.list_records(session, kind, q=q, after=cursor, limit=limit,
                                                 filters=filters)
        return jsonable({"items": items, "next_cursor": nxt})

    def get(code: str, db: DbDep, actor: ActorDep) -> Any:
        return jsonable(masterdata.get(db.uow(), kind, code))

    def create(body: create_model_, db: DbDep, actor: ActorDep) -> Any:  # type: ignore[valid-type]
        record = masterdata.create(db.uow(), actor, kind, body.model_dump(exclude_unset=False))  # type: ignore[attr-defined]
        return JSONResponse(jsonable(record), status_code=201)

    def update(code: str, body: update_model, db: DbDep, actor: ActorDep) -> Any:  # type: ignore[valid-type]
        fields = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        version = fields.pop("version")
        return jsonable(masterdata.update_record(db.uow(), actor, kind, code, version, fields))

    router.add_api_route(f"/{path}", list_, methods=["GET"], name=f"list_{path}")
    router.add_api_route(f"/{path}/{{code}}", get, methods=["GET"], name=f"get_{kind}")
    router.add_api_route(f"/{path}", create, methods=["POST"], status_code=201,
                         name=f"create_{kind}")
    router.add_api_route(f"/{path}/{{code}}", update, methods=["PATCH"], name=f"update_{kind}")


for _path, (_kind, _model) in RESOURCES.items():
    _register(_path, _kind, _model)
