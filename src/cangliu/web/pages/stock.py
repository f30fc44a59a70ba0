"""库存总览 / Stock overview and the SKU page with its move history."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from cangliu.core.levels import water_level
from cangliu.core.permissions import Actor
from cangliu.db import queries
from cangliu.services import masterdata, thresholds
from cangliu.web.api.stock import decode_cursor, encode_cursor
from cangliu.web.deps import DbDep, page_permit
from cangliu.web.export import check_export, collect, export, wants_export
from cangliu.web.export import sites as export_sites
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
CanViewStock = Annotated[Actor, page_permit("stock.view")]
PAGE = 50
COLUMNS = (("sku", "SKU"), ("name", "Name"), ("site", "Site"), ("region", "Region"),
           ("on_hand", "On hand"), ("reserved", "Reserved"), ("available", "Available"),
           ("in_transit_in", "In transit in"), ("in_transit_out", "In transit out"),
           ("on_order", "On order"), ("quality_hold", "Quality hold"), ("damaged", "Damaged"))


def _levels(session: Session, rows: list[dict[str, Any]],
            targets: list[dict[str, Any]] | None = None) -> None:
    """Colour each row's available stock by its thresholds (below the reorder point: low, above
    max: over), or by the fixed defaults where none are computed yet or they are all zero (no
    demand seen there, e.g. a warehouse that only supplies stores); the explanation goes in
    ``level_title``."""
    found = thresholds.by_code(session, datetime.now(UTC).date(),
                               [(r["sku"], r["site"]) for r in rows])
    for row, target in zip(rows, targets or rows, strict=True):
        levels = found.get((row["sku"], row["site"]))
        target["thresholds"] = levels
        if levels is None or (levels.max_stock == 0 and not levels.overridden):
            target["level"], target["level_title"] = water_level(row["available"]).value, ""
            continue
        target["level"] = water_level(row["available"], low=levels.reorder_point,
                                      high=levels.max_stock).value
        target["level_title"] = levels.explanation


def _export(request: Request, db: DbDep, actor: Actor, flt: queries.StockFilter,
            fmt: str) -> Response:
    """Every row the filters match, each SKU named in the user's language."""
    check_export(request, actor, "stock")
    locale = locale_of(request)
    with db.read() as session:
        rows = collect(lambda c: queries.network(session, flt, limit=1000, after=c))
    named = [{**r, "name": r.get("sku_name_en") if locale == "en" and r.get("sku_name_en")
              else r.get("sku_name")} for r in rows]
    return export(named, COLUMNS, fmt=fmt, filename="stock", actor=actor, locale=locale)


@router.get("/stock", response_class=HTMLResponse, response_model=None)
def overview(request: Request, db: DbDep, actor: CanViewStock, site: str | None = None,
             region: str | None = None, q: str | None = None, cursor: str | None = None
             ) -> Response:
    fmt = wants_export(request)
    flt = queries.StockFilter(site or None, region or None, None, q or None,
                              export_sites(actor, "stock") if fmt else actor.sites("stock.view"))
    if fmt:
        return _export(request, db, actor, flt, fmt)
    after = decode_cursor(cursor)
    with db.read() as session:
        rows, nxt = queries.network(session, flt, limit=PAGE,
                                    after=tuple(after) if isinstance(after, list) else None)
        sites, _ = masterdata.list_records(session, "site", limit=500,
                                           scope=actor.sites("site.view"))
        _levels(session, rows)
    regions = sorted({s["region"] for s in sites if s["region"]})
    template = "stock_rows.html" if request.headers.get("hx-request") else "overview.html"
    return render(request, template, actor, rows=rows, sites=sites, regions=regions,
                  filters={"site": site or "", "region": region or "", "q": q or ""},
                  next_cursor=encode_cursor(list(nxt) if nxt else None))


@router.get("/stock/{sku_code}", response_class=HTMLResponse)
def sku_page(sku_code: str, request: Request, db: DbDep, actor: CanViewStock,
             cursor: str | None = None) -> HTMLResponse:
    before = decode_cursor(cursor)
    with db.read() as session:
        scope = actor.sites("stock.view")
        view = queries.single_view(session, sku_code, scope)
        moves = queries.move_history(session, sku_code, limit=PAGE,
                                     before_id=before if isinstance(before, int) else None,
                                     scope=scope)
        sku = masterdata.to_dict(session, "sku", masterdata.get_row(session, "sku", sku_code))
        _levels(session, [{**r, "sku": sku_code} for r in view["sites"]], view["sites"])
    nxt = encode_cursor(moves[-1]["id"]) if len(moves) == PAGE else None
    chart = {"sites": [s["site"] for s in view["sites"]],
             "available": [float(s["available"]) for s in view["sites"]],
             "reserved": [float(s["reserved"]) for s in view["sites"]]}
    return render(request, "sku.html", actor, view=view, sku=sku, moves=moves, next_cursor=nxt,
                  chart=chart)
