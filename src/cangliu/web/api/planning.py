"""Planning: stock thresholds per SKU × site with their explanation and history, overrides by
hand, and a planning run on demand (/api/v1/thresholds, /api/v1/planning/run)."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field

from cangliu.core.permissions import Actor
from cangliu.services import planning, thresholds
from cangliu.web.api.schemas import Strict, jsonable
from cangliu.web.deps import DbDep, in_scope, permit

router = APIRouter(prefix="/api/v1", tags=["planning"])
Viewer = Annotated[Actor, permit("planning.view")]
Editor = Annotated[Actor, permit("planning.edit")]
Level = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^\d+(\.\d+)?$")]


class OverrideIn(Strict):
    safety_stock: Level
    reorder_point: Level
    max_stock: Level
    reason: Annotated[str, Field(min_length=1, max_length=200)]
    expires_on: date


@router.get("/thresholds")
def list_thresholds(db: DbDep, actor: Viewer, sku: str | None = None, site: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50,
                    offset: Annotated[int, Query(ge=0)] = 0) -> Any:
    """Safety stock, reorder point and max in force per SKU × site, with the inputs (lead time
    with its route and source, ABC / XYZ class, demand pattern, model, lifecycle stage), the
    forecast's backtest accuracy (MASE, bias; null for a series too short, said in the note),
    the explanation of the newest computation and the override in force, if any."""
    with db.read() as session:
        items = thresholds.list_current(session, datetime.now(UTC).date(), sku=sku, site=site,
                                        scope=actor.sites("planning.view"), limit=limit,
                                        offset=offset)
    return jsonable({"items": items})


@router.get("/thresholds/{sku}/{site}")
def threshold_history(sku: str, site: str, request: Request, db: DbDep, actor: Viewer) -> Any:
    """Every day's computed thresholds of one SKU at one site, and its overrides."""
    in_scope(db, request, actor, "planning.view", site)
    with db.read() as session:
        return jsonable(thresholds.history(session, sku, site))


@router.post("/thresholds/{sku}/{site}/override", status_code=201)
def override(sku: str, site: str, body: OverrideIn, request: Request, db: DbDep,
             actor: Editor) -> Any:
    """Set the levels by hand, with the reason, until ``expires_on`` (inclusive)."""
    in_scope(db, request, actor, "planning.edit", site)
    return jsonable(thresholds.override(db.uow(), actor, sku=sku, site=site,
                                        safety_stock=body.safety_stock,
                                        reorder_point=body.reorder_point,
                                        max_stock=body.max_stock, reason=body.reason,
                                        expires_on=body.expires_on))


@router.post("/planning/run")
def run_planning(db: DbDep, actor: Editor) -> Any:
    """The daily planning step now (the scheduler runs it daily): rebuild the demand history,
    recompute today's thresholds, run the transfer rules into suggestions. Running it twice on
    one day gives the same rows."""
    return jsonable(planning.refresh(db.uow, today=datetime.now(UTC).date()))
