"""The promotion calendar (/api/v1/promotions): list, read, plan, edit (optimistic locking) and
cancel promotions. Planners limited to some sites see and plan promotions at those sites (and
see the network-wide ones)."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import Field

from cangliu.core.permissions import Actor
from cangliu.services import promotions
from cangliu.web.api.schemas import MAX_ID, Code, Strict, jsonable
from cangliu.web.deps import DbDep, permit

router = APIRouter(prefix="/api/v1", tags=["planning"])
Viewer = Annotated[Actor, permit("planning.view")]
Editor = Annotated[Actor, permit("planning.edit")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Note = Annotated[str, Field(max_length=200)]
Uplift = Annotated[Decimal, Field(gt=-100, le=1000, decimal_places=6,
                                  description="expected demand uplift in %, e.g. \"30\"")]
Codes = Annotated[list[Code], Field(max_length=1000)]
State = Literal["upcoming", "running", "past", "cancelled", "all"]


class PromotionIn(Strict):
    code: Code | None = None  # blank: PR-YYYYMMDD-NNNN
    name: Name
    starts_on: date
    ends_on: date  # inclusive
    uplift_pct: Uplift
    note: Note = ""
    skus: Codes = []  # none: every SKU
    sites: Codes = []  # none: every site


class PromotionPatch(Strict):
    version: Annotated[int, Field(ge=1, le=MAX_ID)]
    name: Name | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    uplift_pct: Uplift | None = None
    note: Note | None = None
    skus: Codes | None = None
    sites: Codes | None = None


def _today() -> date:
    return datetime.now(UTC).date()


@router.get("/promotions")
def list_promotions(db: DbDep, actor: Viewer, q: str | None = None, state: State = "all",
                    site: str | None = None, sku: str | None = None, cursor: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Any:
    """Promotions by start date, searched by code or name, filtered by state and by the site or
    SKU they cover (network-wide ones cover every site and SKU)."""
    with db.read() as session:
        items, nxt = promotions.list_promotions(
            session, today=_today(), q=q, state=state, site=site, sku=sku, after=cursor,
            limit=limit, scope=actor.sites("planning.view"))
    return jsonable({"items": items, "next_cursor": nxt})


@router.get("/promotions/{code}")
def get_promotion(code: str, db: DbDep, actor: Viewer) -> Any:
    with db.read() as session:
        return jsonable(promotions.get(session, code, today=_today(),
                                       scope=actor.sites("planning.view")))


@router.post("/promotions", status_code=201)
def create_promotion(body: PromotionIn, db: DbDep, actor: Editor) -> Any:
    made = promotions.create(db.uow(), actor, **{**body.model_dump(), "code": body.code or ""})
    return JSONResponse(jsonable(made), status_code=201)


@router.patch("/promotions/{code}")
def update_promotion(code: str, body: PromotionPatch, db: DbDep, actor: Editor) -> Any:
    """Change the fields given, based on ``version``: a stale one answers 409 with what changed."""
    fields = body.model_dump(exclude_unset=True)
    version = fields.pop("version")
    return jsonable(promotions.update(db.uow(), actor, code, version, fields))


@router.delete("/promotions/{code}")
def cancel_promotion(code: str, version: Annotated[int, Query(ge=1, le=MAX_ID)], db: DbDep,
                     actor: Editor) -> Any:
    """Cancel at ``version``: the promotion stays listed as cancelled and adjusts nothing."""
    return jsonable(promotions.cancel(db.uow(), actor, code, version))
