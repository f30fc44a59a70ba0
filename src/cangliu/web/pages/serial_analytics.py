"""故障分析 / Failure analysis page (/serials/analytics): failure rates per dimension with an
inline bar, totals, repair turnaround, the tickets still open, the definitions and CSV links.
Figures keep to the user's sites as the API's do (web/api/serial_analytics.py)."""

from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cangliu.core.errors import FieldError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.i18n import translate
from cangliu.services import serial_analytics
from cangliu.web.api.serial_analytics import DIMENSION_TITLES, NOT_RECORDED, TURNAROUND_TITLES
from cangliu.web.deps import DbDep, page_permit
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, page_permit("serial.view")]
BASE = "/serials/analytics"
SHOWN = 200  # rows shown per table; the CSV has them all
TABS = (("sku", "SKU"), ("lot", "Lot"), ("line", "Production line"),
        ("month", "Production month"), ("region", "Sales region"))
STATUS_LABELS = {"open": "Open", "in_progress": "In progress"}


def _filters(request: Request, locale: str) -> tuple[dict[str, Any], list[FieldError]]:
    """The filters asked for, unknown ones replaced by their defaults, and what was wrong."""
    params, errors = request.query_params, []
    first, last = serial_analytics.default_period(datetime.now(UTC).date())
    found: dict[str, Any] = {"sku": params.get("sku", "").strip()}
    for name, default in (("since", first), ("until", last)):
        text = params.get(name, "").strip()
        try:
            found[name] = date.fromisoformat(text) if text else default
        except ValueError:
            found[name] = default
            errors.append(FieldError(name, translate(locale, "must be a date (YYYY-MM-DD)")))
    for name, allowed in (("by", serial_analytics.DIMENSIONS),
                          ("tby", serial_analytics.TURNAROUND_BY)):
        found[name] = params.get(name) or "sku"
        if found[name] not in allowed:
            errors.append(FieldError(name, translate(locale, "must be one of: {expected}",
                                                     expected=", ".join(allowed))))
            found[name] = "sku"
    return found, errors


@router.get(BASE, response_class=HTMLResponse)
def analytics_page(request: Request, db: DbDep, actor: Viewer) -> HTMLResponse:
    locale = locale_of(request)
    filters, errors = _filters(request, locale)
    scope = actor.sites("serial.view")
    rates: dict[str, Any] | None = None
    times: dict[str, Any] | None = None
    try:
        with db.read() as session:
            rates = serial_analytics.failure_rates(
                session, filters["by"], filters["since"], filters["until"],
                sku=filters["sku"] or None, scope=scope)
            times = serial_analytics.turnaround(
                session, filters["since"], filters["until"], filters["tby"], scope,
                sku=filters["sku"] or None, now=datetime.now(UTC))
    except ValidationFailed as failed:
        errors += [FieldError(e.field, translate(locale, e.message, **e.params))
                   for e in failed.errors]
    top = max((r["rate"] for r in rates["rows"]), default=0.0) if rates else 0.0
    query = {"since": filters["since"].isoformat(), "until": filters["until"].isoformat(),
             "sku": filters["sku"]}
    return render(request, "serial_analytics.html", actor, filters=filters, errors=errors,
                  rates=rates, times=times, top=top or 1.0, shown=SHOWN, tabs=TABS, base=BASE,
                  titles=DIMENSION_TITLES[filters["by"]],
                  time_titles=TURNAROUND_TITLES[filters["tby"]], not_recorded=NOT_RECORDED,
                  status_labels=STATUS_LABELS,
                  link=lambda **changes: f"{BASE}?{urlencode({**query, **_keep(filters), **changes})}",
                  csv_rates=_csv("failure-rates", query, by=filters["by"]),
                  csv_times=_csv("turnaround", query, by=filters["tby"]),
                  can_export=actor.can("serial.export"))


def _keep(filters: dict[str, Any]) -> dict[str, str]:
    return {"by": filters["by"], "tby": filters["tby"]}


def _csv(kind: str, query: dict[str, str], *, by: str) -> str:
    return f"/api/v1/serial-analytics/{kind}?{urlencode({**query, 'by': by, 'format': 'csv'})}"
