"""The dashboard (/dashboard): KPI cards with their definitions, a trend chart, the drill-down
region → site → category → SKU (the URL query keeps where you are), water levels, risk lists
and a before/after comparison; /dashboard/heatmap: one site's bin occupancy. report.view, within
its site scope. Tables work without JavaScript; ECharts draws from the JSON embedded beside them."""

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import DomainError, FieldError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import Category, Location
from cangliu.services import kpis
from cangliu.web.api.dashboard import DEFAULT_DAYS, out, period, today
from cangliu.web.deps import DbDep, page_permit
from cangliu.web.pages.masterdata import _errors
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, page_permit("report.view")]
FILTERS = ("start", "end", "region", "site", "category", "kpi", "grain", "day", "window", "days")
LEVEL_TITLES = {"region": "Region", "site": "Site", "category": "Category", "sku": "SKU"}
ROWS = 50


def _date(raw: str, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed.single(name, "must be a date (YYYY-MM-DD)") from None


def _int(raw: str, name: str, default: int, lo: int, hi: int) -> int:
    if not raw:
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise ValidationFailed.single(name, "must be between {low} and {high}", low=lo, high=hi)
    return int(raw)


def _level(q: dict[str, str]) -> str:
    if q["category"]:
        return "sku"
    if q["site"]:
        return "category"
    return "site" if q["region"] else "region"


def _crumbs(q: dict[str, str]) -> list[tuple[str, str]]:
    """(label, link) from the network down to where the query is."""
    keep = {k: q[k] for k in ("start", "end", "kpi", "grain") if q[k]}
    out_ = [("Network", "/dashboard?" + urlencode(keep))]
    for key in ("region", "site", "category"):
        if q[key]:
            keep[key] = q[key]
            out_.append((q[key], "/dashboard?" + urlencode(keep)))
    return out_


def _choices(session: Session, scope: frozenset[int] | None) -> dict[str, list[Any]]:
    sites = session.execute(select(Location.code, Location.name, Location.region, Location.id)
                            .where(Location.kind == "site", Location.deleted_at.is_(None))
                            .order_by(Location.code)).all()
    sites = [s for s in sites if scope is None or s.id in scope]
    return {"sites": [(s.code, s.name) for s in sites],
            "regions": sorted({s.region for s in sites if s.region}),
            "categories": [(c, n) for c, n in session.execute(
                select(Category.code, Category.name).where(Category.deleted_at.is_(None))
                .order_by(Category.code))]}


def _sections(session: Session, q: dict[str, str], scope: frozenset[int] | None
              ) -> dict[str, Any]:
    start, end = period(_date(q["start"], "start"), _date(q["end"], "end"))
    now = today()
    where: dict[str, Any] = {"scope": scope, "region": q["region"] or None,
                             "site": q["site"] or None, "category": q["category"] or None}
    kpi = q["kpi"] if q["kpi"] in kpis.BY_CODE else "inventory_value"
    grain = q["grain"] if q["grain"] in kpis.GRAINS else "day"
    level = _level(q)
    day = _date(q["day"], "day") or end - timedelta(days=_int(q["window"], "window", 14, 1, 366) - 1)
    window = _int(q["window"], "window", 14, 1, 366)
    days = _int(q["days"], "days", 7, 1, 365)
    return {
        "start": start, "end": end, "kpi": kpi, "grain": grain, "level": level,
        "summary": kpis.summary(session, start, end, today=now, **where),
        "trend": kpis.trend(session, kpi, start, end, grain, today=now, **where),
        "drill": kpis.drill(session, start, end, level, today=now, **where)[:ROWS],
        "water": kpis.water_levels(session, now, limit=ROWS, **where),
        "risks": kpis.risks(session, now, days, 10, **where),
        "compare": kpis.compare(session, day, window, today=now, **where),
        "day": day, "window": window, "days": days,
    }


def _drill_link(q: dict[str, str], level: str, key: str) -> str:
    """The link one level down from a drill row."""
    field = {"region": "region", "site": "site", "category": "category"}.get(level)
    keep = {k: v for k, v in q.items() if v and k in ("start", "end", "kpi", "grain", "region",
                                                      "site", "category")}
    return "/dashboard?" + urlencode({**keep, field: key}) if field else ""


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, db: DbDep, actor: Viewer) -> HTMLResponse:
    q = {k: request.query_params.get(k, "").strip()[:40] for k in FILTERS}
    scope = actor.sites("report.view")
    errors: list[FieldError] = []
    data: dict[str, Any] = {}
    with db.read() as session:
        choices = _choices(session, scope)
        try:
            data = _sections(session, q, scope)
        except DomainError as exc:
            errors = _errors(locale_of(request), exc)
    return render(request, "dashboard.html", actor, q=q, errors=errors, choices=choices,
                  definitions=kpis.KPIS, crumbs=_crumbs(q), level_titles=LEVEL_TITLES,
                  drill_link=lambda key: _drill_link(q, data.get("level", ""), key),
                  trend_link=lambda **ch: "/dashboard?" + urlencode(
                      {**{k: v for k, v in q.items() if v}, **ch}),
                  chart=out({"trend": data.get("trend", []), "drill": [
                      {"key": r["key"], "name": r["name"], "value": r["inventory_value"]}
                      for r in data.get("drill", [])]}),
                  default_days=DEFAULT_DAYS, **data)


@router.get("/dashboard/heatmap", response_class=HTMLResponse)
def heatmap(request: Request, db: DbDep, actor: Viewer, site: str = "") -> HTMLResponse:
    scope = actor.sites("report.view")
    errors: list[FieldError] = []
    rows: list[dict[str, Any]] = []
    with db.read() as session:
        choices = _choices(session, scope)
        site = site.strip()[:40] or (choices["sites"][0][0] if choices["sites"] else "")
        try:
            rows = kpis.bin_heatmap(session, site, scope=scope) if site else []
        except DomainError as exc:
            errors = _errors(locale_of(request), exc)
    return render(request, "dashboard_heatmap.html", actor, site=site, rows=rows, errors=errors,
                  choices=choices, chart=out(rows))
