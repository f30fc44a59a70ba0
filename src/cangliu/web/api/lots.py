"""Lots in stock near or past their expiry date: /api/v1/lots/near-expiry."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from cangliu.core.permissions import Actor
from cangliu.services import lots
from cangliu.web.api.schemas import jsonable
from cangliu.web.deps import DbDep, in_scope, permit

router = APIRouter(prefix="/api/v1/lots", tags=["stock"])
CanViewStock = Annotated[Actor, permit("stock.view")]


@router.get("/near-expiry")
def near_expiry(request: Request, db: DbDep, actor: CanViewStock,
                days: Annotated[int, Query(ge=0, le=3650)] = 30, site: str | None = None,
                sku: str | None = None, include_expired: bool = True,
                limit: Annotated[int, Query(ge=1, le=500)] = 50,
                offset: Annotated[int, Query(ge=0)] = 0) -> Any:
    """Lots with available stock expiring within ``days`` (and those already expired, unless
    ``include_expired`` is false), soonest first: SKU, site, lot, production and expiry dates,
    days left (negative once expired), quantity, moving-average cost and value (hidden from
    roles without the cost / valuation fields)."""
    in_scope(db, request, actor, "stock.view", site or None)
    with db.read() as session:
        page = lots.near_expiry(session, today=datetime.now(UTC).date(), days=days,
                                site=site or None, sku=sku or None,
                                scope=actor.sites("stock.view"), include_expired=include_expired,
                                limit=limit, offset=offset)
    items = [{**r, "production_date": r["production_date"] and r["production_date"].isoformat(),
              "expiry_date": r["expiry_date"].isoformat()} for r in page.rows]
    return jsonable({"items": items, "total": page.total})
