"""KPIs (/api/v1/kpis): the network KPIs of a period with filters (region, site, category), their
trend, the drill-down region → site → category → SKU, water levels, the bin heatmap, risk lists
and a before/after comparison. All need report.view and see only the sites it covers; decimals
are strings; "today" is computed live, earlier days read from the daily snapshots."""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from cangliu.core.errors import ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.services import kpis
from cangliu.web.api.schemas import jsonable
from cangliu.web.deps import DbDep, permit

router = APIRouter(prefix="/api/v1/kpis", tags=["kpis"])
Viewer = Annotated[Actor, permit("report.view")]
DEFAULT_DAYS = 30
MAX_DAYS = 731
Code = Annotated[str | None, Query(max_length=40)]


def today() -> date:
    return datetime.now(UTC).date()


def period(start: date | None, end: date | None) -> tuple[date, date]:
    """The period asked for: by default the last 30 days up to today."""
    end = end or today()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise ValidationFailed.single("end", "must not be before the start date")
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed.single("start", "must be at most {n} days", n=MAX_DAYS)
    return start, end


def out(value: Any) -> Any:
    """``jsonable`` with dates as ISO 8601 too."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: out(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [out(v) for v in value]
    return jsonable(value)


def definitions() -> list[dict[str, str]]:
    return [{"code": k.code, "name": k.name, "formula": k.formula, "source": k.source,
             "unit": k.unit} for k in kpis.KPIS]


@router.get("/summary")
def summary(db: DbDep, actor: Viewer, start: date | None = None, end: date | None = None,
            region: Code = None, site: Code = None, category: Code = None) -> Any:
    """KPI code → value over [start, end], with the definitions."""
    lo, hi = period(start, end)
    with db.read() as session:
        found = kpis.summary(session, lo, hi, scope=actor.sites("report.view"), region=region,
                             site=site, category=category, today=today())
    return out({"start": lo, "end": hi, "kpis": found, "definitions": definitions()})


@router.get("/trend")
def trend(db: DbDep, actor: Viewer, kpi: str = "inventory_value", start: date | None = None,
          end: date | None = None, grain: str = "day", region: Code = None, site: Code = None,
          category: Code = None) -> Any:
    lo, hi = period(start, end)
    with db.read() as session:
        points = kpis.trend(session, kpi, lo, hi, grain, scope=actor.sites("report.view"),
                            region=region, site=site, category=category, today=today())
    return out({"kpi": kpi, "grain": grain, "items": points, "next_cursor": None})


@router.get("/drill")
def drill(db: DbDep, actor: Viewer, level: str = "region", start: date | None = None,
          end: date | None = None, region: Code = None, site: Code = None,
          category: Code = None) -> Any:
    """One row per region, site, category or SKU within the filters; ``next_level`` names the
    level below (the filter to add is the row's ``key``)."""
    lo, hi = period(start, end)
    with db.read() as session:
        rows = kpis.drill(session, lo, hi, level, scope=actor.sites("report.view"), region=region,
                          site=site, category=category, today=today())
    return out({"level": level, "next_level": kpis.NEXT.get(level), "items": rows,
                "next_cursor": None})


@router.get("/water-levels")
def water_levels(db: DbDep, actor: Viewer, region: Code = None, site: Code = None,
                 category: Code = None, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> Any:
    with db.read() as session:
        found = kpis.water_levels(session, today(), scope=actor.sites("report.view"),
                                  region=region, site=site, category=category, limit=limit)
    return out({**found, "next_cursor": None})


@router.get("/heatmap")
def heatmap(db: DbDep, actor: Viewer, site: Annotated[str, Query(min_length=1, max_length=40)]
            ) -> Any:
    with db.read() as session:
        rows = kpis.bin_heatmap(session, site, scope=actor.sites("report.view"))
    return out({"site": site, "items": rows, "next_cursor": None})


@router.get("/risks")
def risks(db: DbDep, actor: Viewer, days: Annotated[int, Query(ge=1, le=365)] = 7,
          limit: Annotated[int, Query(ge=1, le=200)] = 20, region: Code = None,
          site: Code = None, category: Code = None) -> Any:
    with db.read() as session:
        found = kpis.risks(session, today(), days, limit, scope=actor.sites("report.view"),
                           region=region, site=site, category=category)
    return out(found)


@router.get("/compare")
def compare(db: DbDep, actor: Viewer, day: date, window_days: Annotated[int, Query(ge=1, le=366)] = 30,
            region: Code = None, site: Code = None, category: Code = None) -> Any:
    """The KPIs over ``window_days`` before ``day`` and from ``day`` on, and their change."""
    with db.read() as session:
        found = kpis.compare(session, day, window_days, scope=actor.sites("report.view"),
                             region=region, site=site, category=category, today=today())
    return out(found)
