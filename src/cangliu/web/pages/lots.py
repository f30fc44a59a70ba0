"""临期批次 / Lots near expiry: filters, colour by days left, pages of rows, CSV / XLSX export."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cangliu.core.permissions import Actor
from cangliu.services import lots, masterdata
from cangliu.web.deps import DbDep, in_scope, page_permit
from cangliu.web.export import MAX_ROWS, answer, wants_export
from cangliu.web.export import sites as export_sites
from cangliu.web.pages.render import render

router = APIRouter(include_in_schema=False)
CanViewStock = Annotated[Actor, page_permit("stock.view")]
BASE = "/lots/near-expiry"
PAGE = 50
COLUMNS = (("sku", "SKU"), ("name", "Name"), ("site", "Site"), ("lot", "Lot"),
           ("production_date", "Production date"), ("expiry_date", "Expiry date"),
           ("days_left", "Days left"), ("qty", "Quantity"), ("uom", "Unit"),
           ("avg_cost", "Average cost"), ("value", "Value"))
# Urgency → the stock-level colour classes of app.css.
COLOURS = {"expired": "out", "critical": "low", "soon": "high", "later": "ok"}


def _filters(request: Request) -> dict[str, str]:
    params = request.query_params
    days = params.get("days", "30")
    return {"days": days if days in {str(d) for d in lots.WINDOWS} else "30",
            "site": params.get("site", "").strip(), "sku": params.get("sku", "").strip(),
            "expired": "no" if params.get("expired") == "no" else "yes"}


def _find(request: Request, db: DbDep, actor: Actor, filters: dict[str, str], *, limit: int,
          offset: int, exporting: bool = False) -> lots.Page:
    """The page's rows; an export keeps to the sites where the user also exports stock."""
    in_scope(db, request, actor, "stock.view", filters["site"] or None)
    with db.read() as session:
        return lots.near_expiry(session, today=datetime.now(UTC).date(), days=int(filters["days"]),
                                site=filters["site"] or None, sku=filters["sku"] or None,
                                scope=export_sites(actor, "stock") if exporting
                                else actor.sites("stock.view"),
                                include_expired=filters["expired"] == "yes", limit=limit,
                                offset=offset)


@router.get(BASE, response_class=HTMLResponse, response_model=None)
def near_expiry_page(request: Request, db: DbDep, actor: CanViewStock) -> Response:
    filters = _filters(request)
    fmt = wants_export(request)
    if fmt:
        return answer(request, actor, "stock", lambda _after: (_find(
            request, db, actor, filters, limit=MAX_ROWS + 1, offset=0, exporting=True).rows, None),
            COLUMNS,
            fmt=fmt, filename="near-expiry")
    raw = request.query_params.get("page", "1")
    page = max(int(raw), 1) if raw.isdigit() else 1
    found = _find(request, db, actor, filters, limit=PAGE, offset=(page - 1) * PAGE)
    rows = [{**r, "colour": COLOURS[lots.urgency(r["days_left"])]} for r in found.rows]
    with db.read() as session:
        sites, _ = masterdata.list_records(session, "site", limit=500,
                                           scope=actor.sites("stock.view"))
    return render(request, "lots_near_expiry.html", actor, rows=rows, total=found.total,
                  filters=filters, page=page, pages=max(1, -(-found.total // PAGE)),
                  windows=lots.WINDOWS, sites=sites, base=BASE,
                  show_cost=actor.shows("cost"), show_value=actor.shows("valuation"))

