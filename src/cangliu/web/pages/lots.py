"""临期批次 / Lots near expiry: filters, colour by days left, pages of rows, CSV export."""

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cangliu.core.permissions import Actor
from cangliu.services import lots, masterdata
from cangliu.web.deps import DbDep, in_scope, page_permit
from cangliu.web.i18n import translate
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
CanViewStock = Annotated[Actor, page_permit("stock.view")]
BASE = "/lots/near-expiry"
PAGE = 50
EXPORT_LIMIT = 10_000
# Urgency → the stock-level colour classes of app.css.
COLOURS = {"expired": "out", "critical": "low", "soon": "high", "later": "ok"}


def _filters(request: Request) -> dict[str, str]:
    params = request.query_params
    days = params.get("days", "30")
    return {"days": days if days in {str(d) for d in lots.WINDOWS} else "30",
            "site": params.get("site", "").strip(), "sku": params.get("sku", "").strip(),
            "expired": "no" if params.get("expired") == "no" else "yes"}


def _find(request: Request, db: DbDep, actor: Actor, filters: dict[str, str], *, limit: int,
          offset: int) -> lots.Page:
    in_scope(db, request, actor, "stock.view", filters["site"] or None)
    with db.read() as session:
        return lots.near_expiry(session, today=datetime.now(UTC).date(), days=int(filters["days"]),
                                site=filters["site"] or None, sku=filters["sku"] or None,
                                scope=actor.sites("stock.view"),
                                include_expired=filters["expired"] == "yes", limit=limit,
                                offset=offset)


@router.get(BASE, response_class=HTMLResponse)
def near_expiry_page(request: Request, db: DbDep, actor: CanViewStock) -> HTMLResponse:
    filters = _filters(request)
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


@router.get(BASE + ".csv")
def near_expiry_csv(request: Request, db: DbDep, actor: CanViewStock) -> Response:
    """The whole filtered list (up to 10,000 rows) as CSV, without the columns the user's role
    may not see."""
    filters = _filters(request)
    found = _find(request, db, actor, filters, limit=EXPORT_LIMIT, offset=0)
    locale = locale_of(request)
    columns = _columns(actor)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([translate(locale, title) for _key, title in columns])
    for r in found.rows:
        writer.writerow([_cell(r[key]) for key, _title in columns])
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="near-expiry.csv"'})


def _columns(actor: Actor) -> list[tuple[str, str]]:
    columns = [("sku", "SKU"), ("name", "Name"), ("site", "Site"), ("lot", "Lot"),
               ("production_date", "Production date"), ("expiry_date", "Expiry date"),
               ("days_left", "Days left"), ("qty", "Quantity"), ("uom", "Unit")]
    if actor.shows("cost"):
        columns.append(("avg_cost", "Average cost"))
    if actor.shows("valuation"):
        columns.append(("value", "Value"))
    return columns


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
