"""库存总览 / Stock overview and the SKU page with its move history."""

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cangliu.core.levels import water_level
from cangliu.core.permissions import Actor
from cangliu.db import queries
from cangliu.services import masterdata
from cangliu.web.api.stock import decode_cursor, encode_cursor
from cangliu.web.deps import DbDep, page_permit
from cangliu.web.pages.render import render

router = APIRouter(include_in_schema=False)
CanViewStock = Annotated[Actor, page_permit("stock.view")]
PAGE = 50


@router.get("/stock", response_class=HTMLResponse)
def overview(request: Request, db: DbDep, actor: CanViewStock, site: str | None = None,
             region: str | None = None, q: str | None = None, cursor: str | None = None
             ) -> HTMLResponse:
    after = decode_cursor(cursor)
    flt = queries.StockFilter(site or None, region or None, None, q or None,
                              actor.sites("stock.view"))
    with db.read() as session:
        rows, nxt = queries.network(session, flt, limit=PAGE,
                                    after=tuple(after) if isinstance(after, list) else None)
        sites, _ = masterdata.list_records(session, "site", limit=500,
                                           scope=actor.sites("site.view"))
    for row in rows:
        row["level"] = water_level(row["available"]).value
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
    for row in view["sites"]:
        row["level"] = water_level(row["available"]).value
    nxt = encode_cursor(moves[-1]["id"]) if len(moves) == PAGE else None
    chart = {"sites": [s["site"] for s in view["sites"]],
             "available": [float(s["available"]) for s in view["sites"]],
             "reserved": [float(s["reserved"]) for s in view["sites"]]}
    return render(request, "sku.html", actor, view=view, sku=sku, moves=moves, next_cursor=nxt,
                  chart=chart)
